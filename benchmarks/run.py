"""dsdoctor benchmarks, all measured in one run, side by side; the ratios are what we quote.

- pad in memory (vs Keras and the memory floor) and end to end (CLI vs pyarrow + numpy);
- ``check`` on a 3 GiB float32 ``.npy``, HDF5 and Parquet file vs a chunked numpy/pyarrow scan,
  with peak RSS (``bench_check.py``);
- start-up: ``--version``, ``--help``, ``inspect small.npy`` vs ``import numpy`` (``bench_startup.py``);
- shards: ``check DIR --jobs 2`` vs serial (``bench_shards.py``), and on Parquet shards
  (``bench_parquet_shards.py``);
- crew: the start-up the fork crew saves per ``--jobs 2`` run over a process pool (fork and
  forkserver), and ``check DIR --jobs 2`` end to end both ways (``bench_crew.py``);
- width: ``inspect``/``check`` time against the number of npz members and table columns, and its
  growth per doubling (``bench_width.py``);
- tables: ``check --target label`` on a 100 MiB and a 1 GiB CSV with a string label vs a
  streaming ``pyarrow.csv.open_csv`` read and pandera, with peak RSS; a numeric CSV and Parquet
  checked by this tree and by issue 13's starting point (``bench_tables.py``);
- window: ``window`` of a (10M, 16) float32 series, L=64, vs sliding_window_view + np.save, with
  peak RSS at two lengths of the series (``bench_window.py``);
- hf: ``check FOLDER:train:input_ids`` of a Hugging Face ``save_to_disk`` folder vs
  ``datasets.load_from_disk`` and a pass over the column (``bench_hf.py``).
- zarr: ``check`` of a 3 GiB Zarr v3 array vs a chunked zarr scan, with peak RSS
  (``bench_zarr.py``).
- remote: bytes fetched by ``inspect`` of a 1 GiB ``.npy`` and ``check`` of a Parquet file on a
  local S3 server (moto), counted on the wire (``bench_remote.py``).
- splits: the overlap of a (10M, 16) float32 training split with a (1M, 16) one vs a chunked
  numpy row-hashing scan of both, with peak RSS (``bench_splits.py``).

Prints the report and writes it as Markdown to ``docs/benchmarks.md``. Big files go to a
temporary directory under /tmp and are deleted at the end.

Run: ``make bench`` (``KERAS_BACKEND=numpy python benchmarks/run.py``); ``--quick`` shrinks every
size 16x for a smoke run (and does not overwrite ``docs/benchmarks.md`` unless ``--write``);
``--only tables,startup`` runs only those sections (and never writes the document).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "numpy")

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_check
import bench_crew
import bench_hf
import bench_parquet_shards
import bench_remote
import bench_shards
import bench_splits
import bench_startup
import bench_tables
import bench_width
import bench_window
import bench_zarr
from bench_kernels import best_of, make_data
from common import Target, need_disk
from common import table as md_table

import dsdoctor

N_SEQ = 300_000
MAXLEN = 256
REPEAT_MEM = 5
REPEAT_E2E = 3
#: How much faster than Keras' pad_sequences + mask the in-memory pad must be (issue 14: "pad
#: stays <= 3x the memory floor and >= 3.5x faster than Keras"; keras / floor, about 4-5x here,
#: is the most any pad that allocates and writes its output can gain, so 10x was out of reach).
KERAS_TARGET = 3.5
DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
#: The sections, in the order they run (``--only`` names them).
MODULES = {
    "check": bench_check,
    "startup": bench_startup,
    "shards": bench_shards,
    "parquet-shards": bench_parquet_shards,
    "crew": bench_crew,
    "width": bench_width,
    "tables": bench_tables,
    "window": bench_window,
    "hf": bench_hf,
    "zarr": bench_zarr,
    "remote": bench_remote,
    "splits": bench_splits,
}


def machine() -> list[tuple[str, str]]:
    import h5py
    import keras

    ram = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 1024**2:.1f} GiB"
                break
    except OSError:
        pass
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return [
        ("processor", f"{platform.processor() or platform.machine()} ({model})"),
        ("cpus", str(os.cpu_count())),
        ("RAM", ram),
        ("python", platform.python_version()),
        ("numpy", np.__version__),
        ("pyarrow", pa.__version__),
        ("h5py", h5py.__version__),
        ("keras", f"{keras.__version__} (backend {keras.backend.backend()})"),
        ("dsdoctor", getattr(dsdoctor, "__version__", "?")),
    ]


def in_memory(values: np.ndarray, offsets: np.ndarray) -> list[tuple[str, float]]:
    import keras

    n = len(offsets) - 1
    lengths = np.diff(offsets)
    kept = int(np.minimum(lengths, MAXLEN).sum())
    sequences = np.split(values, offsets[1:-1])

    def floor() -> tuple[np.ndarray, np.ndarray]:
        data = np.full((n, MAXLEN), 0, dtype=np.int32)
        mask = np.zeros((n, MAXLEN), dtype=bool)
        data.reshape(-1)[:kept] = values[:kept]
        mask.reshape(-1)[:kept] = True
        return data, mask

    def ours() -> object:
        return dsdoctor.pad(values, lengths=lengths, maxlen=MAXLEN)

    def keras_pad() -> tuple[np.ndarray, np.ndarray]:
        data = keras.utils.pad_sequences(sequences, maxlen=MAXLEN, dtype="int32")
        return data, data != 0

    # sanity: same data and mask as Keras
    data, mask, _ = ours()
    kdata, kmask = keras_pad()
    assert np.array_equal(data, kdata) and np.array_equal(mask, kmask), "pad differs from Keras"
    del data, mask, kdata, kmask

    # What the floor is made of on this machine: writing fresh memory (first touch) vs writing
    # the same bytes again into buffers already touched.
    warm_data = np.full((n, MAXLEN), 1, dtype=np.int32)
    warm_mask = np.ones((n, MAXLEN), dtype=bool)

    def fresh_write() -> tuple[np.ndarray, np.ndarray]:
        return np.full((n, MAXLEN), 0, dtype=np.int32), np.full((n, MAXLEN), False)

    def warm_write() -> None:
        warm_data.fill(0)
        warm_mask.fill(False)

    names = ["memory floor", "dsdoctor.pad", "keras pad_sequences + mask",
             "write the output's bytes, fresh memory", "write the output's bytes, warm memory"]  # fmt: skip
    times = best_of([floor, ours, keras_pad, fresh_write, warm_write], REPEAT_MEM)
    return list(zip(names, times, strict=True))


def baseline_pad(src: Path, out: Path) -> None:
    """Plain pyarrow + numpy: read the column, pad pre/pre, save data and mask."""
    col = pq.read_table(src, columns=["tokens"]).column("tokens").combine_chunks()
    offsets = col.offsets.to_numpy().astype(np.int64)
    values = col.values.to_numpy()
    n = len(offsets) - 1
    keep = np.minimum(np.diff(offsets), MAXLEN)
    data = np.zeros((n, MAXLEN), dtype=np.int32)
    mask = np.zeros((n, MAXLEN), dtype=bool)
    rows = np.repeat(np.arange(n), keep)
    starts = np.cumsum(keep) - keep
    within = np.arange(len(rows)) - np.repeat(starts, keep)
    cols = MAXLEN - keep[rows] + within
    data[rows, cols] = values[offsets[rows + 1] - keep[rows] + within]
    mask[rows, cols] = True
    np.save(out / "base.npy", data)
    np.save(out / "base.mask.npy", mask)


def end_to_end(values: np.ndarray, offsets: np.ndarray, tmp: Path) -> list[tuple[str, float]]:
    src = tmp / "tokens.parquet"
    arr = pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), pa.array(values))
    pq.write_table(pa.table({"tokens": arr}), src)
    out = tmp / "out.npy"
    cli = [sys.executable, "-m", "dsdoctor"]

    def run_cli() -> None:
        cmd = [*cli, "pad", f"{src}:tokens", "--maxlen", str(MAXLEN), "-o", str(out), "--force"]
        # stderr captured: the CLI warns (rightly) that long sequences were truncated
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def startup() -> None:
        subprocess.run([*cli, "--version"], check=True, stdout=subprocess.DEVNULL)

    def baseline() -> None:
        baseline_pad(src, tmp)

    # sanity: the CLI and the baseline agree
    run_cli()
    baseline()
    assert np.array_equal(np.load(out), np.load(tmp / "base.npy")), (
        "CLI output differs from baseline"
    )

    names = [
        "dsdoctor pad (CLI subprocess)",
        "pyarrow + numpy baseline",
        "CLI start-up (--version)",
    ]
    times = best_of([run_cli, baseline, startup], REPEAT_E2E)
    return list(zip(names, times, strict=True))


def pad_sections(n_seq: int) -> tuple[list[str], list[Target]]:
    values, offsets = make_data(n_seq)
    n = len(offsets) - 1
    print(f"pad: {n} sequences, {len(values)} int32 timesteps (mean length {len(values) / n:.1f}, "
          f"max {int(np.diff(offsets).max())}), maxlen {MAXLEN}, pre/pre", flush=True)  # fmt: skip

    mem = in_memory(values, offsets)
    floor_t, ours_t, keras_t, fresh_t, warm_t = (t for _, t in mem)
    with tempfile.TemporaryDirectory() as tmp:
        e2e = end_to_end(values, offsets, Path(tmp))
    cli_t, base_t, start_t = (t for _, t in e2e)

    md = [
        f"## pad in memory (best of {REPEAT_MEM})",
        "",
        f"Data: {n} int32 sequences, lognormal lengths (mean {len(values) / n:.1f}, clipped to "
        f"1..2000, seed 0), values 1..999, padded pre/pre to {MAXLEN}.",
        "",
        *md_table([(name, f"{t * 1000:.1f} ms") for name, t in mem], ("", "time")),
        "",
        f"- keras / dsdoctor: **{keras_t / ours_t:.1f}x** (target >= {KERAS_TARGET}x)",
        f"- dsdoctor / floor: **{ours_t / floor_t:.2f}x** (target <= 3x)",
        f"- keras / floor: **{keras_t / floor_t:.1f}x** -- the most that any pad which allocates "
        "and writes its output can gain over Keras on this machine",
        f"- writing fresh / warm memory: **{fresh_t / warm_t:.1f}x** -- what the first touch of "
        "fresh memory costs here (most of the floor)",
        "",
        f"## pad end to end: Parquet `list<int32>` column -> .npy (best of {REPEAT_E2E})",
        "",
        "`dsdoctor pad FILE:tokens --maxlen 256 -o OUT.npy --force` as a subprocess (writes data, "
        "mask and lengths) vs a baseline reading the column with `pq.read_table`, padding with "
        "vectorised numpy and `np.save`-ing data and mask, in process.",
        "",
        *md_table([(name, f"{t * 1000:.1f} ms") for name, t in e2e], ("", "time")),
        "",
        f"- dsdoctor / baseline: **{cli_t / base_t:.2f}x** (target <= 2x)",
        f"- dsdoctor / baseline, start-up subtracted: **{(cli_t - start_t) / base_t:.2f}x**",
        "",
    ]
    targets = [
        Target("keras / dsdoctor.pad (in memory)", f"{keras_t / ours_t:.1f}x", f">= {KERAS_TARGET}x",
               keras_t / ours_t >= KERAS_TARGET),
        Target("dsdoctor.pad / memory floor (in memory)", f"{ours_t / floor_t:.2f}x", "<= 3x",
               ours_t / floor_t <= 3),
        Target("dsdoctor pad / baseline (end to end)", f"{cli_t / base_t:.2f}x", "<= 2x",
               cli_t / base_t <= 2),
    ]  # fmt: skip
    return md, targets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shrink every size 16x (smoke run)")
    parser.add_argument("--write", action="store_true",
                        help="with --quick, still overwrite docs/benchmarks.md")  # fmt: skip
    parser.add_argument("--only", metavar="SECTIONS",
                        help=f"comma-separated sections to run, of pad,{','.join(MODULES)} "
                             "(docs/benchmarks.md is then left as it was)")  # fmt: skip
    args = parser.parse_args()
    only = set(args.only.split(",")) if args.only else {"pad", *MODULES}
    if unknown := only - {"pad", *MODULES}:
        parser.error(f"unknown section(s) {', '.join(sorted(unknown))}")
    scale = 16 if args.quick else 1
    tmp_root = Path(tempfile.gettempdir())
    disk = {
        "check": 3 * bench_check.SIZE // scale,
        "shards": bench_shards.SHARDS * bench_shards.SHARD_BYTES // scale,
        "parquet-shards": bench_parquet_shards.DISK_BYTES // max(1, scale // 8),
        "crew": bench_crew.DISK_BYTES,
        "tables": bench_tables.DISK_BYTES // scale,
        "window": bench_window.DISK_BYTES // scale,
        "hf": 2 * bench_hf.IDS_BYTES // scale,
        "zarr": 2 * bench_zarr.SIZE // scale,  # the store (zstd barely shrinks normals) and slack
        "remote": bench_remote.NPY_BYTES // scale,
        "splits": bench_splits.DISK_BYTES // scale,
    }
    need_disk(tmp_root, sum(n for name, n in disk.items() if name in only))

    sections: list[list[str]] = []
    targets: list[Target] = []

    def record(section: list[str], section_targets: list[Target], load: float) -> None:
        sections.append(section)
        sections[-1].insert(1, f"\n_Load average (1 min) before / after: {load:.1f} / "
                               f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cpus._")  # fmt: skip
        targets.extend(section_targets)

    if "pad" in only:
        load = os.getloadavg()[0]
        record(*pad_sections(N_SEQ // scale), load)
    with tempfile.TemporaryDirectory(prefix="dsdoctor-bench-", dir=tmp_root) as tmp:
        for name, module in MODULES.items():
            if name not in only:
                continue
            load = os.getloadavg()[0]
            record(*module.bench(Path(tmp), scale), load)

    missed = [t for t in targets if not t.met]
    md = [
        "# Benchmarks",
        "",
        f"Date: {datetime.date.today().isoformat()}. Generated by `make bench` (`benchmarks/run.py`"
        + (", `--quick`: every size 16x smaller" if args.quick else "")
        + ").",
        "Timings are noisy on shared machines (2 cores, noisy neighbours; the first touch of fresh "
        "memory is slow): every figure is a best of N, and the ratios, measured side by side in "
        "the same run, are what we quote -- never a lone absolute time.",
        "",
        "## Machine",
        "",
        *md_table(machine(), ("", "")),
        "",
        f"## Targets ({len(targets) - len(missed)} of {len(targets)} met)",
        "",
        *md_table([t.row() for t in targets], ("", "measured", "target", "met")),
        "",
    ]
    for section in sections:
        md += section
    text = "\n".join(md)
    print()
    print(text)
    if args.only:
        print(f"(--only: {DOC} left as it was)")
        return
    if args.quick and not args.write:
        print(f"(--quick: {DOC} left as it was; add --write to overwrite it)")
        return
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text)
    print(f"(written to {DOC})")


if __name__ == "__main__":
    main()
