"""`dsdoctor check` on a big float32 file (.npy, chunked HDF5, Parquet) vs a chunked scan.

One (N, 16) float32 array of standard normals (seed 0) with one NaN, one +Inf and one -Inf
planted is written once to each format; then ``python -m dsdoctor check FILE --json`` and
``python benchmarks/scan_baseline.py FORMAT FILE`` run as subprocesses, in turn, and we keep
the best time and the peak RSS of each. Both are measured warm (the files are read once first).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from common import (
    HERE,
    PYTHON,
    GiB,
    MiB,
    Target,
    best_of_cmds,
    fmt_bytes,
    fmt_time,
    sync,
    table,
    warm,
)

SIZE = 3 * GiB
NCOLS = 16
H5_CHUNK_ROWS = 65_536  # 4 MiB HDF5 chunks
ROW_GROUPS = 12
REPEAT = 2
MAX_RATIO = 2.0
MAX_RSS = 1 * GiB
AIM_RSS = 256 * MiB
#: (fraction of the rows, column, value) of the planted non-finite values
PLANTED = [(1 / 3, 3, np.nan), (1 / 2, 7, np.inf), (2 / 3, 11, -np.inf)]
FORMATS = {"npy": "big.npy", "hdf5": "big.h5", "parquet": "big.parquet"}


def write_files(tmp: Path, nbytes: int) -> tuple[dict[str, Path], int]:
    """Write the same array to every format in one pass over generated blocks."""
    import h5py
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = nbytes // (NCOLS * 4)
    rows -= rows % H5_CHUNK_ROWS
    block = math.ceil(rows / ROW_GROUPS / H5_CHUNK_ROWS) * H5_CHUNK_ROWS
    paths = {fmt: tmp / name for fmt, name in FORMATS.items()}
    rng = np.random.default_rng(0)
    schema = pa.schema([(f"c{i}", pa.float32()) for i in range(NCOLS)])
    header = {"descr": "<f4", "fortran_order": False, "shape": (rows, NCOLS)}
    with (
        open(paths["npy"], "wb") as npy,
        h5py.File(paths["hdf5"], "w") as h5,
        pq.ParquetWriter(
            paths["parquet"], schema, compression="snappy", use_dictionary=False
        ) as pw,
    ):
        np.lib.format.write_array_header_1_0(npy, header)
        dset = h5.create_dataset(
            "x", shape=(rows, NCOLS), dtype="<f4", chunks=(H5_CHUNK_ROWS, NCOLS)
        )
        for start in range(0, rows, block):
            n = min(block, rows - start)
            data = rng.standard_normal((n, NCOLS), dtype=np.float32)
            for frac, col, value in PLANTED:
                row = int(rows * frac)
                if start <= row < start + n:
                    data[row - start, col] = value
            npy.write(data.data)
            dset[start : start + n] = data
            cols = np.ascontiguousarray(data.T)
            pw.write_table(pa.Table.from_arrays([pa.array(c) for c in cols], schema=schema),
                           row_group_size=n)  # fmt: skip
            del data, cols
    sync()
    return paths, rows


def _check_stats(out: bytes) -> dict:
    report = json.loads(out)
    (array,) = report["arrays"].values()
    return array["stats"]


def _same(ours: dict, base: dict, rows: int, name: str) -> None:
    def floats(values: list) -> np.ndarray:
        return np.array([float(v) for v in values])

    for key in ("nan", "posinf", "neginf"):
        assert ours[key] == base[key] == 1, f"{name}: {key} {ours[key]} vs {base[key]}"
    assert ours["rows"] == base["rows"] == rows, f"{name}: rows {ours['rows']} vs {base['rows']}"
    for key in ("feature_min", "feature_max"):
        assert np.array_equal(floats(ours[key]), floats(base[key])), f"{name}: {key} differs"


def bench(tmp: Path, scale: int) -> tuple[list[str], list[Target]]:
    nbytes = SIZE // scale
    print(
        f"check: writing {fmt_bytes(nbytes)} of float32 as .npy, HDF5 and Parquet ...", flush=True
    )
    paths, rows = write_files(tmp, nbytes)
    rows_out, targets = [], []
    for fmt, path in paths.items():
        warm([path])
        cmds = [
            ("dsdoctor", [PYTHON, "-m", "dsdoctor", "check", path, "--json"]),
            ("scan", [PYTHON, HERE / "scan_baseline.py", fmt, path]),
        ]
        ours, base = best_of_cmds(cmds, REPEAT, ok=(0, 1))  # 1: the planted NaN/Inf are findings
        assert ours.last is not None and base.last is not None
        _same(_check_stats(ours.last.stdout), json.loads(base.last.stdout), rows, fmt)
        ratio = ours.seconds / base.seconds
        size = path.stat().st_size
        print(f"  {fmt}: dsdoctor {fmt_time(ours.seconds)} / scan {fmt_time(base.seconds)} = "
              f"{ratio:.2f}x; peak RSS {fmt_bytes(ours.rss)} / {fmt_bytes(base.rss)}", flush=True)  # fmt: skip
        rows_out.append((fmt, fmt_bytes(size), fmt_time(ours.seconds), fmt_time(base.seconds),
                         f"**{ratio:.2f}x**", fmt_bytes(ours.rss), fmt_bytes(base.rss)))  # fmt: skip
        targets.append(Target(f"check {fmt} / chunked scan", f"{ratio:.2f}x", f"<= {MAX_RATIO:g}x",
                              ratio <= MAX_RATIO))  # fmt: skip
        aim = "" if ours.rss <= AIM_RSS else f" (above the {fmt_bytes(AIM_RSS)} aim)"
        targets.append(Target(f"check {fmt} peak RSS", fmt_bytes(ours.rss) + aim,
                              f"<= {fmt_bytes(MAX_RSS)} (aim {fmt_bytes(AIM_RSS)})",
                              ours.rss <= MAX_RSS))  # fmt: skip
        path.unlink()
    md = [
        f"## `check` on a {fmt_bytes(nbytes)} float32 file vs a chunked scan (best of {REPEAT})",
        "",
        f"One ({rows:,}, {NCOLS}) float32 array (standard normals, seed 0, one NaN, one +Inf and "
        "one -Inf planted) written as `.npy`, as a chunked uncompressed HDF5 dataset "
        f"(chunks of {H5_CHUNK_ROWS:,} rows = 4 MiB) and as Parquet ({NCOLS} float32 columns, "
        f"{ROW_GROUPS} row groups, snappy, no dictionary). "
        "`python -m dsdoctor check FILE --json` vs `python benchmarks/scan_baseline.py FORMAT FILE` "
        "(per-column min/max and NaN/±Inf counts in 64 MiB chunks: `readinto` a reused buffer for "
        "npy, h5py `read_direct` of chunk-aligned slices for HDF5, "
        "`ParquetFile(pre_buffer=False).iter_batches` for Parquet -- with pyarrow's default "
        "`pre_buffer=True` the scan's peak RSS is about the file's size), both as subprocesses run in turn, checked to agree. "
        "Each file is read once before timing, so both are measured with a warm page cache "
        "(dropping it needs root). Peak RSS is that of the subprocess (GNU `time -f %M`).",
        "",
        *table(
            rows_out,
            (
                "format",
                "file",
                "dsdoctor check",
                "chunked scan",
                "check / scan",
                "check peak RSS",
                "scan peak RSS",
            ),
        ),
        "",
        f"Targets: check / scan <= {MAX_RATIO:g}x; check peak RSS <= {fmt_bytes(MAX_RSS)} "
        f"(aim {fmt_bytes(AIM_RSS)}).",
        "",
    ]
    return md, targets
