"""Shards: `dsdoctor check DIR --jobs 2` vs `dsdoctor check DIR` on 8 float32 `.npy` shards.

Both run as subprocesses of the console script, in turn, warm (the shards are read once first).
A control measures what two processes can gain on this machine right now: the chunked scan
(``scan_baseline.py``) over all shards in one process vs two at once over half the shards each
-- with busy neighbours on a 2-core machine, no ``--jobs`` can beat that.
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import numpy as np
from common import (
    DSDOCTOR,
    HERE,
    PYTHON,
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
SHARD_BYTES = 128 * MiB
NCOLS = 16
JOBS = 2
REPEAT = 3
MIN_SPEEDUP = 1.7


def write_shards(directory: Path, shard_bytes: int) -> int:
    directory.mkdir()
    rows = shard_bytes // (NCOLS * 4)
    rng = np.random.default_rng(1)
    for i in range(SHARDS):
        np.save(
            directory / f"part-{i:03d}.npy", rng.standard_normal((rows, NCOLS), dtype=np.float32)
        )
    sync()
    return rows


def bench(tmp: Path, scale: int) -> tuple[list[str], list[Target]]:
    shard_bytes = SHARD_BYTES // scale
    directory = tmp / "shards"
    print(f"shards: writing {SHARDS} x {fmt_bytes(shard_bytes)} .npy ...", flush=True)
    rows = write_shards(directory, shard_bytes)
    warm([directory])
    cmds = [
        ("dsdoctor check DIR", [DSDOCTOR, "check", directory, "--json"]),
        (
            f"dsdoctor check DIR --jobs {JOBS}",
            [DSDOCTOR, "check", directory, "--jobs", JOBS, "--json"],
        ),
    ]
    files = sorted(str(p) for p in directory.iterdir())
    scan = [PYTHON, str(HERE / "scan_baseline.py"), "npy"]
    halves = [shlex.join([*scan, *files[i::JOBS]]) for i in range(JOBS)]
    cmds += [
        ("chunked scan, 1 process", [*scan, *files]),
        (f"chunked scan, {JOBS} processes at once", ["sh", "-c", " & ".join(halves) + "; wait"]),
    ]
    serial, parallel, scan1, scan2 = best_of_cmds(cmds, REPEAT, ok=(0, 1))
    assert serial.last is not None and parallel.last is not None
    a, b = (json.loads(x.last.stdout)["arrays"] for x in (serial, parallel))
    stats = [next(iter(r.values()))["stats"] for r in (a, b)]
    assert stats[0] == stats[1], "--jobs changes the result"
    assert stats[0]["rows"] == SHARDS * rows
    speedup = serial.seconds / parallel.seconds
    capacity = scan1.seconds / scan2.seconds
    print(f"  serial {fmt_time(serial.seconds)} / --jobs {JOBS} {fmt_time(parallel.seconds)} = "
          f"{speedup:.2f}x; control: chunked scan 1 / {JOBS} processes = {capacity:.2f}x",
          flush=True)  # fmt: skip
    for p in directory.iterdir():
        p.unlink()
    directory.rmdir()
    rows_md = [
        (f"`{x.name}`" if x.name.startswith("dsdoctor") else x.name, fmt_time(x.seconds),
         fmt_bytes(x.rss))
        for x in (serial, parallel, scan1, scan2)
    ]  # fmt: skip
    md = [
        f"## Shards: {SHARDS} x {fmt_bytes(shard_bytes)} `.npy`, `--jobs {JOBS}` vs serial "
        f"(best of {REPEAT})",
        "",
        f"{SHARDS} float32 shards of ({rows:,}, {NCOLS}) standard normals in one directory, "
        f"checked by the console script with `--json`, in turn, warm. Peak RSS is that of the "
        "largest single process (the main one or one worker), not their sum.",
        "",
        *table(rows_md, ("command", "time", "peak RSS")),
        "",
        f"- serial / `--jobs {JOBS}`: **{speedup:.2f}x** (target >= {MIN_SPEEDUP:g}x, "
        f"on {os.cpu_count()} cpus)",
        f"- control, chunked scan in 1 process / in {JOBS} processes at once: **{capacity:.2f}x** "
        f"(what {JOBS} processes could gain on this machine during this run)",
        "",
    ]
    target = Target(f"check DIR serial / `--jobs {JOBS}`", f"{speedup:.2f}x",
                    f">= {MIN_SPEEDUP:g}x", speedup >= MIN_SPEEDUP)  # fmt: skip
    return md, [target]
