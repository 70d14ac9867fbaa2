"""Width: time of `inspect` and `check` against the number of npz members and table columns.

Each input holds tiny arrays (3 rows), so the time is all per-member / per-column work. The
counts double from one size to the next: linear time doubles too (growth ratio about 2), a
quadratic one quadruples. Before the one-pass readers, 1,000/2,000/4,000 npz members took
2.3/7.9/33 s and 1,250…10,000 Parquet columns 2.2…110 s in `inspect`.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from common import DSDOCTOR, Target, best_of_cmds, fmt_time, table

#: The counts timed (full run): members or columns, doubling.
COUNTS = (5_000, 10_000, 20_000)
REPEAT = 2
#: The largest growth ratio (time at 2n / time at n) that still counts as linear: start-up is
#: a constant, so a linear reader stays under 2; a quadratic one approaches 4.
MAX_GROWTH = 2.5


def make(kind: str, n: int, tmp: Path) -> Path:
    columns = {f"c{i}": np.arange(3, dtype=np.float64) for i in range(n)}
    if kind == "npz":
        path = tmp / f"members{n}.npz"
        np.savez(path, **columns)
    elif kind == "parquet":
        path = tmp / f"columns{n}.parquet"
        pq.write_table(pa.table(columns), path)
    else:
        path = tmp / f"columns{n}.csv"
        pacsv.write_csv(pa.table(columns), path)
    return path


def bench(tmp: Path, scale: int) -> tuple[list[str], list[Target]]:
    counts = [max(100, c // scale) for c in COUNTS]
    rows, targets = [], []
    print(f"width: npz members, Parquet and CSV columns at {counts} ...", flush=True)
    for kind in ("npz", "parquet", "csv"):
        paths = [make(kind, n, tmp) for n in counts]
        for command in ("inspect", "check"):
            cmds = [(f"{command} {p.name}", [DSDOCTOR, command, p]) for p in paths]
            results = best_of_cmds(cmds, REPEAT, ok=(0, 1))
            times = [b.seconds for b in results]
            growth = [b / a for a, b in itertools.pairwise(times)]
            rows.append((f"`{command}` {kind}", *(fmt_time(t) for t in times),
                         " / ".join(f"{g:.2f}" for g in growth)))  # fmt: skip
            print(f"  {command} {kind}: {[fmt_time(t) for t in times]} growth {growth}", flush=True)
            worst = max(growth)
            targets.append(Target(f"`{command}` {kind}: time at 2n / time at n", f"{worst:.2f}",
                                  f"<= {MAX_GROWTH:g}", worst <= MAX_GROWTH))  # fmt: skip
    unit = {"npz": "members", "parquet": "columns", "csv": "columns"}
    md = [
        f"## Width: members and columns (best of {REPEAT})",
        "",
        "Arrays of 3 rows each, so the time is per member or column. Linear time doubles when "
        f"the count doubles (growth ratio ≈ 2 at most; quadratic → 4). Counts: "
        f"{', '.join(f'{c:,}' for c in counts)} ({', '.join(sorted(set(unit.values())))}).",
        "",
        *table(rows, ("command", *(f"{c:,}" for c in counts), "growth per doubling")),
        "",
        f"Target: growth per doubling <= {MAX_GROWTH:g}.",
        "",
    ]
    return md, targets
