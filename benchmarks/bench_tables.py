"""Tables as people save them (issue 13): `check big.csv --target label` with a string label.

The file: 16 float32 feature columns (standard normals, seed 0) and a ``label`` column of a few
class names, written by ``pyarrow.csv.CSVWriter`` in blocks until it reaches the size (100 MiB
and 1 GiB; the smaller file is the first rows of the bigger one). Each size is measured with
three commands as subprocesses, in turn (each round starting with the next command), warm,
best of ``REPEAT``:

- ``python -m dsdoctor check FILE --target label --json``;
- ``python benchmarks/read_baseline.py csv FILE``: a streaming ``pyarrow.csv.open_csv`` that reads
  every batch and nothing else -- the floor of any check of the file;
- ``python benchmarks/pandera_baseline.py FILE``: ``pd.read_csv``, ``pandera.infer_schema`` and
  ``schema.validate``.

Peak RSS is that of each command's own process (GNU ``time -f %M``, a fresh process per run);
"bounded" means the check's peak at 1 GiB is that at 100 MiB, within noise.

"Column kinds cost nothing on numeric files": the same features with an integer label, as CSV
and as Parquet (100 MiB of CSV), checked by this tree and by the tree of ``BASELINE_COMMIT``
(issue 13's starting point, extracted with ``git archive``) side by side in the same run; the
check / raw read ratio of the numeric CSV is shown beside the string-label one.

A check that refuses the string label (exit 2, as before string targets existed) is reported as
a "not supported" row, not a crash. ``DSDOCTOR_BENCH_LABELS=int`` writes integer labels in the
string-label file instead (to try the bench end to end on a tree without string targets; the
section then says so).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
from pathlib import Path

import numpy as np
from common import (
    HERE,
    PYTHON,
    GiB,
    MiB,
    Run,
    Target,
    best_of_cmds,
    fmt_bytes,
    fmt_time,
    run,
    sync,
    table,
    warm,
)

SIZES = (100 * MiB, 1 * GiB)
#: the most disk the section uses at once: the big CSV (written in blocks: up to one block more)
DISK_BYTES = SIZES[-1] + 16 * MiB
NCOLS = 16
CLASSES = ("cat", "dog", "bird", "fish", "horse")
BLOCK_ROWS = 16_384  # rows generated and written at a time (~3 MiB of CSV)
REPEAT = 3
#: the numeric files are small and the cost target tight: more runs against the noise
REPEAT_NUMERIC = 6  # a multiple of 3: each of the 3 commands goes first twice
#: issue 13's targets
MAX_SCAN_RATIO = 1.5  # check / open_csv scan
MAX_RSS_GROWTH = 1.2  # check peak RSS at the big size / at the small one ("the same within noise")
MAX_PANDERA_TIME = 1.0  # check time / pandera time
MAX_PANDERA_RSS = 0.5  # check peak RSS / pandera peak RSS
MAX_KINDS_COST = 1.1  # check now / check at BASELINE_COMMIT on a numeric file ("costs nothing")
#: issue 13's starting point: the tree before column kinds, string labels and every byte decoded.
BASELINE_COMMIT = "f017c64adaa1de819972c635173a456cce186b52"
REPO = HERE.parent
LABELS = "int" if os.environ.get("DSDOCTOR_BENCH_LABELS") == "int" else "string"
#: how the report names the label ("CSV with a string label")
A_LABEL = "a string label" if LABELS == "string" else "an integer label"
LABEL_HEADER = ("file", "rows", "dsdoctor check", "open_csv scan", "check / scan", "pandera",
                "check / pandera", "check peak RSS", "scan peak RSS", "pandera peak RSS",
                "check / pandera RSS")  # fmt: skip
NUMERIC_HEADER = ("file", "check", f"check at {BASELINE_COMMIT[:7]}", "now / baseline",
                  "check CPU", f"CPU at {BASELINE_COMMIT[:7]}", "now / baseline CPU", "raw read",
                  "check / read", "check peak RSS", "baseline peak RSS", "read peak RSS")  # fmt: skip


def write_tables(
    tmp: Path, name: str, nbytes: int, labels: str, parquet: bool = False
) -> tuple[Path, Path | None, int]:
    """A CSV of at least ``nbytes`` (and the same rows as Parquet): 16 float32 columns of
    standard normals and a ``label`` of CLASSES (``labels="string"``) or their codes ("int")."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    names = [f"f{i}" for i in range(NCOLS)]
    label_type = pa.string() if labels == "string" else pa.int64()
    schema = pa.schema([*((n, pa.float32()) for n in names), ("label", label_type)])
    classes = pa.array(CLASSES)
    csv_path, pq_path = tmp / f"{name}.csv", (tmp / f"{name}.parquet") if parquet else None
    rows, blocks = 0, []
    with open(csv_path, "wb") as fp:
        writer = pacsv.CSVWriter(fp, schema, write_options=pacsv.WriteOptions(quoting_style="none"))
        while fp.tell() < nbytes:
            feats = rng.standard_normal((NCOLS, BLOCK_ROWS), dtype=np.float32)
            codes = rng.integers(0, len(CLASSES), BLOCK_ROWS)
            label = classes.take(pa.array(codes)) if labels == "string" else pa.array(codes)
            block = pa.Table.from_arrays([*map(pa.array, feats), label], schema=schema)
            writer.write_table(block)
            if pq_path:  # kept (the binary rows are about 40% of the text's size): one write
                blocks.append(block)
            rows += BLOCK_ROWS
        writer.close()
    if pq_path:  # at once, so pyarrow cuts row groups as it does for a user (1Mi rows each)
        pq.write_table(pa.concat_tables(blocks), pq_path)
    sync()
    return csv_path, pq_path, rows


def baseline_tree(tmp: Path) -> Path | None:
    """``src`` of BASELINE_COMMIT, extracted from the repository; None without git or history."""
    dest = tmp / "baseline-src"
    try:
        tar = subprocess.run(
            ["git", "-C", REPO, "archive", "--format=tar", BASELINE_COMMIT, "src/dsdoctor"],
            check=True,
            capture_output=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        archive.extractall(dest, filter="data")
    subprocess.run([PYTHON, "-m", "compileall", "-q", dest / "src"], check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    return dest / "src"


#: Every exit status: a check that fails is reported in the section, not raised (a crash here
#: would lose every section measured before this one).
ANY_EXIT = tuple(range(-64, 256))


def _stats(res: Run) -> dict[str, dict]:
    return {name: a.get("stats", {}) for name, a in json.loads(res.stdout)["arrays"].items()}


def _rows_problem(res: Run, rows: int) -> str | None:
    """Why a ``check --json`` run cannot be trusted to have read every row, or None."""
    try:
        got = {s["rows"] for s in _stats(res).values() if "rows" in s}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return f"its --json report could not be read ({exc!r})"
    return None if got == {rows} else f"it reported {sorted(got)} rows of {rows:,}"


def _stats_problem(ours: Run, base: Run) -> str | None:
    """How this tree's report and the baseline's differ on a numeric file (the keys both have),
    or None."""
    try:
        a, b = _stats(ours), _stats(base)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return f"a --json report could not be read ({exc!r})"
    if a.keys() != b.keys():
        return f"arrays {sorted(a)} vs {sorted(b)}"
    for name in a:
        for key in sorted(a[name].keys() & b[name].keys()):
            if a[name][key] != b[name][key]:
                return f"{name} {key}: {a[name][key]} vs {b[name][key]}"
    return None


def _first_line(res: Run) -> str:
    lines = res.stderr.decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else f"exit {res.returncode}"


def string_label(tmp: Path, scale: int) -> tuple[list[tuple], list[Target], list[str]]:
    """Both sizes of the string-label CSV: check, the open_csv scan and pandera side by side."""
    import importlib.util

    have_pandera = importlib.util.find_spec("pandera") is not None
    sizes = [s // scale for s in SIZES]
    out_rows, targets, notes = [], [], []
    rss: dict[int, int] = {}
    refused = ""
    names: dict[int, str] = {}  # the files' real sizes (the last block overshoots)
    for nbytes in sizes:
        print(f"tables: writing {fmt_bytes(nbytes)} of CSV with {A_LABEL} ...", flush=True)
        path, _, rows = write_tables(tmp, "labels", nbytes, LABELS)
        warm([path])
        size = names[nbytes] = fmt_bytes(path.stat().st_size)
        check = [PYTHON, "-m", "dsdoctor", "check", path, "--target", "label", "--json"]
        cmds = [("scan", [PYTHON, HERE / "read_baseline.py", "csv", path])]
        first = run(check, ok=ANY_EXIT)  # untimed: a refusal (exit 2) is reported below
        problem = None
        if first.returncode in (0, 1):
            problem = _rows_problem(first, rows)
            cmds.insert(0, ("check", check))
        else:
            na = "not supported" if first.returncode == 2 else "failed"
            notes.append(f"`check --target label` at {size}: {na} (exit {first.returncode}: "
                         f"{_first_line(first)})")  # fmt: skip
        if problem:
            notes.append(f"`check --target label` at {size}: {problem}; its targets are missed")
        if have_pandera:
            cmds.append(("pandera", [PYTHON, HERE / "pandera_baseline.py", path]))
        results = {b.name: b for b in best_of_cmds(cmds, REPEAT, ok=(0, 1), rotate=True)}
        scan, pandera = results["scan"], results.get("pandera")
        assert scan.last is not None and json.loads(scan.last.stdout)["rows"] == rows
        if pandera is not None:
            assert pandera.last is not None and json.loads(pandera.last.stdout)["rows"] == rows
        ours = results.get("check")
        na = "not supported" if first.returncode == 2 else f"failed (exit {first.returncode})"
        ok = ours is not None and problem is None
        t_ratio = ours.seconds / scan.seconds if ours else None
        p_time = ours.seconds / pandera.seconds if ours and pandera else None
        p_rss = ours.rss / pandera.rss if ours and pandera else None
        out_rows.append((
            size, f"{rows:,}",
            fmt_time(ours.seconds) if ours else na, fmt_time(scan.seconds),
            f"**{t_ratio:.2f}x**" if t_ratio else na,
            fmt_time(pandera.seconds) if pandera else "not installed",
            f"**{p_time:.2f}x**" if p_time else na,
            fmt_bytes(ours.rss) if ours else na, fmt_bytes(scan.rss),
            fmt_bytes(pandera.rss) if pandera else "not installed",
            f"**{p_rss:.2f}x**" if p_rss else na,
        ))  # fmt: skip
        print(f"  {size}: check {fmt_time(ours.seconds) if ours else na} / scan "
              f"{fmt_time(scan.seconds)} / pandera {fmt_time(pandera.seconds) if pandera else '-'};"
              f" peak RSS {fmt_bytes(ours.rss) if ours else na} / {fmt_bytes(scan.rss)} / "
              f"{fmt_bytes(pandera.rss) if pandera else '-'}", flush=True)  # fmt: skip
        what = f"check CSV with {A_LABEL} ({size})"
        if nbytes == sizes[-1]:  # the file; at 100 MiB start-up is a good part of it
            targets.append(Target(f"{what} / open_csv scan", f"{t_ratio:.2f}x" if t_ratio else na,
                                  f"<= {MAX_SCAN_RATIO:g}x",
                                  ok and t_ratio is not None and t_ratio <= MAX_SCAN_RATIO))  # fmt: skip
            why = na if not ours else "pandera not installed"
            targets.append(Target(f"{what} / pandera validate, time", f"{p_time:.2f}x" if p_time
                                  else why, f"<= {MAX_PANDERA_TIME:g}x",
                                  ok and p_time is not None and p_time <= MAX_PANDERA_TIME))  # fmt: skip
            targets.append(Target(f"{what} / pandera validate, peak RSS", f"{p_rss:.2f}x" if p_rss
                                  else why, f"<= {MAX_PANDERA_RSS:g}x",
                                  ok and p_rss is not None and p_rss <= MAX_PANDERA_RSS))  # fmt: skip
        if ours:
            rss[nbytes] = ours.rss
        else:
            refused = na
        path.unlink()
    small, big = (names[s] for s in sizes)
    growth = rss[sizes[-1]] / rss[sizes[0]] if len(rss) == 2 else None
    targets.append(Target(
        f"check CSV with {A_LABEL}: peak RSS at {big} / at {small}",
        f"{growth:.2f}x ({fmt_bytes(rss[sizes[-1]])} / {fmt_bytes(rss[sizes[0]])})" if growth
        else refused,
        f"<= {MAX_RSS_GROWTH:g}x", growth is not None and growth <= MAX_RSS_GROWTH,
    ))  # fmt: skip
    return out_rows, targets, notes


def numeric(tmp: Path, scale: int) -> tuple[list[tuple], list[Target], list[str], float | None]:
    """The numeric file as CSV and Parquet: check now, check at BASELINE_COMMIT, raw read."""
    nbytes = SIZES[0] // scale
    print(f"tables: writing {fmt_bytes(nbytes)} of numeric CSV (+ Parquet) ...", flush=True)
    csv_path, pq_path, rows = write_tables(tmp, "numeric", nbytes, "int", parquet=True)
    assert pq_path is not None
    base_src = baseline_tree(tmp)
    # Both trees compiled alike (`make bench` compiles src; a bare run.py may not have): where
    # PYTHONDONTWRITEBYTECODE is set, an uncompiled tree would pay ~90 ms a run to compile.
    import dsdoctor

    subprocess.run([PYTHON, "-m", "compileall", "-q", Path(dsdoctor.__file__).parent], check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    notes = [] if base_src else [f"the baseline tree ({BASELINE_COMMIT[:7]}) could not be "
                                 "extracted (no git or no history): now / baseline not measured"]  # fmt: skip
    out_rows, targets = [], []
    csv_ratio = None
    for fmt, path in (("csv", csv_path), ("parquet", pq_path)):
        warm([path])
        check = ["check", path, "--target", "label", "--json"]
        cmds = [
            ("check", [PYTHON, "-m", "dsdoctor", *check]),
            ("read", [PYTHON, HERE / "read_baseline.py", fmt, path]),
        ]
        if base_src:
            cmds.append(("baseline", ["env", f"PYTHONPATH={base_src}", PYTHON, "-m", "dsdoctor",
                                      *check]))  # fmt: skip
        first = {name: run(cmd, ok=(0, 1)) for name, cmd in cmds}  # untimed: sanity
        problem = _rows_problem(first["check"], rows)
        if base_src and not problem:
            differ = _stats_problem(first["check"], first["baseline"])
            problem = differ and f"this tree and the baseline report different numbers ({differ})"
        if problem:
            notes.append(f"numeric {fmt}: {problem}; its target is missed")
        res = {b.name: b for b in best_of_cmds(cmds, REPEAT_NUMERIC, ok=(0, 1), rotate=True)}
        ours, read, base = res["check"], res["read"], res.get("baseline")
        ratio = ours.seconds / read.seconds
        if fmt == "csv":
            csv_ratio = ratio
        wall = ours.seconds / base.seconds if base else None
        cost = ours.cpu / base.cpu if base and base.cpu else None
        size = fmt_bytes(path.stat().st_size)
        out_rows.append((
            f"{fmt} ({size})", fmt_time(ours.seconds), fmt_time(base.seconds) if base else "-",
            f"{wall:.2f}x" if wall else "-", fmt_time(ours.cpu), fmt_time(base.cpu) if base else "-",
            f"**{cost:.2f}x**" if cost else "-", fmt_time(read.seconds), f"**{ratio:.2f}x**",
            fmt_bytes(ours.rss), fmt_bytes(base.rss) if base else "-", fmt_bytes(read.rss),
        ))  # fmt: skip
        print(f"  numeric {fmt}: check {fmt_time(ours.seconds)} (CPU {fmt_time(ours.cpu)}) / "
              f"baseline {fmt_time(base.seconds) if base else '-'} (CPU "
              f"{fmt_time(base.cpu) if base else '-'}) / read {fmt_time(read.seconds)}; "
              f"peak RSS {fmt_bytes(ours.rss)}", flush=True)  # fmt: skip
        if cost is not None:
            targets.append(Target(f"check numeric {fmt}: CPU time now / at {BASELINE_COMMIT[:7]}",
                                  f"{cost:.2f}x (wall {wall:.2f}x)", f"<= {MAX_KINDS_COST:g}x",
                                  not problem and cost <= MAX_KINDS_COST))  # fmt: skip
        path.unlink()
    return out_rows, targets, notes, csv_ratio


def bench(tmp: Path, scale: int) -> tuple[list[str], list[Target]]:
    tmp = tmp / "tables"
    tmp.mkdir()
    label_rows, targets, notes = string_label(tmp, scale)
    num_rows, num_targets, num_notes, csv_ratio = numeric(tmp, scale)
    targets += num_targets
    string_ratios = " and ".join(r[4] for r in label_rows if "x" in r[4]) or "(not supported)"
    env = "" if LABELS == "string" else " (`DSDOCTOR_BENCH_LABELS=int`)"
    md = [
        f"## Tables: `check --target label` on a CSV with {A_LABEL}{env} (best of {REPEAT})",
        "",
        f"{NCOLS} float32 feature columns (standard normals, seed 0) and {A_LABEL}, `label`, "
        f"of {len(CLASSES)} classes, written with `pyarrow.csv.CSVWriter` in blocks of "
        f"{BLOCK_ROWS:,} rows (the smaller file is the first rows of the bigger one). "
        "`python -m dsdoctor check FILE --target label --json` vs "
        "`python benchmarks/read_baseline.py csv FILE` (a streaming `pyarrow.csv.open_csv` with "
        "default options reading every batch, nothing computed) vs "
        "`python benchmarks/pandera_baseline.py FILE` (`pd.read_csv`, `pandera.infer_schema`, "
        "`schema.validate`), as subprocesses run in turn (each round starting with the next), "
        "warm, each checked to count every row. Peak RSS is that of each command's process "
        "(GNU `time -f %M`, a fresh process per run).",
        "",
        *table(label_rows, LABEL_HEADER),
        "",
        *(f"- {n}" for n in notes),
        *([""] if notes else []),
        f"Targets: check / scan <= {MAX_SCAN_RATIO:g}x at the bigger size; check / pandera <= "
        f"{MAX_PANDERA_TIME:g}x in time and <= {MAX_PANDERA_RSS:g}x in peak RSS at the bigger size; "
        f"the check's peak RSS at the bigger size <= {MAX_RSS_GROWTH:g}x that at the smaller.",
        "",
        "The check parses the file once: its scan names every column's type (those pyarrow "
        "inferred from the first 4 MiB, checked on every value as it goes) and reads 1 MiB "
        "blocks. The `open_csv` floor infers each column's type as it reads, with pyarrow's "
        "defaults, which costs more CPU than converting to named types: check / scan can be "
        "under 1x on a machine with idle cores.",
        "",
        f"### Column kinds on a numeric file (best of {REPEAT_NUMERIC})",
        "",
        "The same features with an integer `label` (every column numeric), as CSV and as Parquet, "
        f"checked by this tree and by issue 13's starting point ({BASELINE_COMMIT[:7]}, its `src` "
        "extracted with `git archive` and run with `PYTHONPATH`) side by side, checked to report "
        "the same numbers; the raw read is `read_baseline.py` (`open_csv` / "
        "`ParquetFile(pre_buffer=False).iter_batches`, every batch).",
        "",
        *table(num_rows, NUMERIC_HEADER),
        "",
        *(f"- {n}" for n in num_notes),
        f"- check / raw read: numeric CSV **{csv_ratio:.2f}x** beside the CSV with {A_LABEL} "
        f"{string_ratios}",
        "",
        f"Target: CPU time (user + system, GNU `time`; best of {REPEAT_NUMERIC}) now / baseline "
        f"<= {MAX_KINDS_COST:g}x: the work done, which the load of a shared machine stretches far "
        "less than the wall time (the same tree against itself varied 0.86x-1.25x in wall time "
        "at a load of 10 on 2 cpus).",
        "",
    ]
    return md, targets
