"""Parquet shards: `dsdoctor check DIR --jobs 2` vs `dsdoctor check DIR` on 8 Parquet files.

Issue 16's case: 8 shards of 256 MiB (2 GiB; ``--quick``: 128 MiB), 16 float32 columns of
standard normals, snappy, pyarrow's default row groups (1 Mi rows = 64 MiB), in one folder.
Parquet decoding is CPU work, so two processes should gain close to 2x; before the folder was
read as one dataset serially, and ``--jobs 2`` took 3.0 s against 1.9 s serial.

Every command runs as a subprocess of the console script, in turn, warm, best of ``REPEAT``;
the start-up (a folder of 8 tiny shards) is measured alongside, so the report also gives the
ratio with it subtracted and the most a perfect split of the scan could show (Amdahl).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from common import (
    DSDOCTOR,
    MiB,
    Target,
    best_of_cmds,
    fmt_bytes,
    fmt_time,
    sync,
    table,
    warm,
)

SHARDS = 8
SHARD_BYTES = 256 * MiB
NCOLS = 16
JOBS = 2
REPEAT = 5
STARTUP_RUNS = 3
MIN_SPEEDUP = 1.7
#: The disk the section needs (run.py checks it is free).
DISK_BYTES = SHARDS * SHARD_BYTES


def write_shards(directory: Path, rows: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    directory.mkdir()
    rng = np.random.default_rng(1)
    for i in range(SHARDS):
        data = rng.standard_normal((rows, NCOLS), dtype=np.float32)
        table_ = pa.table({f"f{j}": data[:, j] for j in range(NCOLS)})
        pq.write_table(table_, directory / f"part-{i:05d}.snappy.parquet", compression="snappy")
    (directory / "_SUCCESS").write_bytes(b"")
    sync()


def stats_of(run) -> dict:
    return next(iter(json.loads(run.last.stdout)["arrays"].values()))["stats"]


def bench(tmp: Path, scale: int) -> tuple[list[str], list[Target]]:
    shard_bytes = SHARD_BYTES // max(1, scale // 8)  # --quick: 128 MiB each, still worth 2 jobs
    rows = shard_bytes // (NCOLS * 4)
    directory, tiny = tmp / "parquet-shards", tmp / "parquet-tiny"
    print(f"parquet shards: writing {SHARDS} x {fmt_bytes(shard_bytes)} Parquet ...", flush=True)
    write_shards(directory, rows)
    write_shards(tiny, 16)
    warm([directory, tiny])
    check = [DSDOCTOR, "check", "--json"]
    one_thread = ["env", "OMP_NUM_THREADS=1", *check]  # Arrow's CPU pool: one thread
    cmds = [
        ("dsdoctor check DIR", [*check, directory]),
        (f"dsdoctor check DIR --jobs {JOBS}", [*check, directory, "--jobs", JOBS]),
        ("control: dsdoctor check DIR, pyarrow on one thread", [*one_thread, directory]),
    ]
    cmds += [(f"start-up: dsdoctor check TINY ({SHARDS} x 16 rows)", [*check, tiny])] * STARTUP_RUNS
    print(f"  {len(cmds)} commands in turn, best of {REPEAT} ...", flush=True)
    results = best_of_cmds(cmds, REPEAT, ok=(0, 1), rotate=True)
    startup = results[3]
    for b in results[4:]:
        startup.seconds, startup.rss = min(startup.seconds, b.seconds), max(startup.rss, b.rss)
    serial, parallel, single = results[:3]
    assert stats_of(serial) == stats_of(parallel) == stats_of(single), "--jobs changes the result"
    assert stats_of(serial)["rows"] == SHARDS * rows
    fixed = startup.seconds
    speedup = serial.seconds / parallel.seconds
    amdahl = serial.seconds / (fixed + (serial.seconds - fixed) / JOBS)
    net = (serial.seconds - fixed) / max(1e-9, parallel.seconds - fixed)
    versus_single = single.seconds / parallel.seconds
    busy = os.getloadavg()[0]
    print(f"  serial {fmt_time(serial.seconds)} / --jobs {JOBS} {fmt_time(parallel.seconds)} = "
          f"{speedup:.2f}x ({net:.2f}x without the {fmt_time(fixed)} start-up; a perfect split: "
          f"{amdahl:.2f}x); serial on one pyarrow thread / --jobs {JOBS}: {versus_single:.2f}x",
          flush=True)  # fmt: skip
    for folder in (directory, tiny):
        for p in folder.iterdir():
            p.unlink()
        folder.rmdir()
    total = SHARDS * shard_bytes
    rows_md = [(f"`{x.name}`" if x.name.startswith("dsdoctor") else x.name, fmt_time(x.seconds),
                fmt_bytes(x.rss)) for x in [serial, parallel, single, startup]]  # fmt: skip
    md = [
        f"## Parquet shards: {SHARDS} x {fmt_bytes(shard_bytes)} ({fmt_bytes(total)}), "
        f"`--jobs {JOBS}` vs serial (best of {REPEAT})",
        "",
        f"{SHARDS} Parquet files of {rows:,} rows x {NCOLS} float32 columns (standard normals, "
        "snappy, pyarrow's default row groups) and a `_SUCCESS` in one folder, checked by the "
        "console script with `--json`, in turn, warm. Each file is one part (a file above "
        "256 MiB would be cut at row groups), the parts shared by the processes; every process "
        "decodes with pyarrow's threads. Peak RSS is the largest single "
        "process's.",
        "",
        *table(rows_md, ("command", "time", "peak RSS")),
        "",
        f"- serial / `--jobs {JOBS}`: **{speedup:.2f}x** (target >= {MIN_SPEEDUP:g}x, on "
        f"{os.cpu_count()} cpus)",
        f"- the same with the start-up ({fmt_time(fixed)}) subtracted from both: **{net:.2f}x**; "
        f"the most any split could show with that start-up: {amdahl:.2f}x",
        f"- control, serial with pyarrow's CPU pool on one thread (`OMP_NUM_THREADS=1`) / "
        f"`--jobs {JOBS}`: **{versus_single:.2f}x**. A serial check decodes the 16 columns of "
        "a row group with pyarrow's threads; only the rest of the scan (stacking the columns, "
        "the statistics) is on one core, so on idle cores two processes gain only that share "
        "over it.",
        *(
            [
                f"- the machine was busy (load average {busy:.1f} on {os.cpu_count()} cpus): every "
                "command got a share of cores others were using, so these ratios say how much of a "
                "busy machine each command obtained, not what two idle cores give."
            ]
            if busy > (os.cpu_count() or 1)
            else []
        ),
        "",
    ]
    target = Target(f"check Parquet DIR serial / `--jobs {JOBS}` ({fmt_bytes(total)})",
                    f"{speedup:.2f}x", f">= {MIN_SPEEDUP:g}x", speedup >= MIN_SPEEDUP)  # fmt: skip
    return md, [target]
