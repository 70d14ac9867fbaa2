"""Shards: `dsdoctor check DIR --jobs 2` vs `dsdoctor check DIR` on 8 float32 `.npy` shards.

Both run as subprocesses of the console script, in turn, warm (the shards are read once first).
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
    serial, parallel = best_of_cmds(cmds, REPEAT, ok=(0, 1))
    assert serial.last is not None and parallel.last is not None
    a, b = (json.loads(x.last.stdout)["arrays"] for x in (serial, parallel))
    stats = [next(iter(r.values()))["stats"] for r in (a, b)]
    assert stats[0] == stats[1], "--jobs changes the result"
    assert stats[0]["rows"] == SHARDS * rows
    speedup = serial.seconds / parallel.seconds
    print(f"  serial {fmt_time(serial.seconds)} / --jobs {JOBS} {fmt_time(parallel.seconds)} = "
          f"{speedup:.2f}x", flush=True)  # fmt: skip
    for p in directory.iterdir():
        p.unlink()
    directory.rmdir()
    rows_md = [(f"`{x.name}`", fmt_time(x.seconds), fmt_bytes(x.rss)) for x in (serial, parallel)]
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
        "",
    ]
    target = Target(f"check DIR serial / `--jobs {JOBS}`", f"{speedup:.2f}x",
                    f">= {MIN_SPEEDUP:g}x", speedup >= MIN_SPEEDUP)  # fmt: skip
    return md, [target]
