"""Shards: `dsdoctor check DIR --jobs 2` vs `dsdoctor check DIR` on 8 float32 `.npy` shards.

Every command runs as a subprocess of the console script, in turn, warm (the shards are read once
first), so each time includes the fixed costs of a command (interpreter, imports, opening the
shards), measured alone on a directory of tiny shards: two processes cannot halve them, so they
cap the ratio (Amdahl: the report also gives the ratio with them subtracted, and the most a
perfect split of the scan could show). ``--jobs`` is for big data: the shards total 4 GiB
(``--quick``: 256 MiB).

Controls, measured in the same run on the same files:

- two ``dsdoctor check`` at once by hand, each over half the shards (two globs): the same work
  and the same fixed costs split in two, with nothing to coordinate or merge;
- the chunked numpy scan (``scan_baseline.py``) over all shards in one process vs two at once
  over half each. Its scan is several times slower per byte than dsdoctor's: mostly computing,
  where dsdoctor's scan is mostly moving memory over the one memory bus the two cores share, so
  a second process helps it more.

A second case checks the first 7 shards (a glob): with one task per shard, one worker would scan
the 7th alone while the other idles; ``--jobs`` cuts the data into equal-byte row ranges instead.
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

SHARDS = 8
#: 8 x 512 MiB = 4 GiB: --jobs is for data that takes seconds to scan.
SHARD_BYTES = 512 * MiB
#: The second case: the first 7 shards (one task per shard would leave 2 workers unbalanced).
ODD_SHARDS = 7
NCOLS = 16
JOBS = 2
REPEAT = 5
#: The start-up is timed this many times per round (best of REPEAT x this): it is subtracted.
STARTUP_RUNS = 3
MIN_SPEEDUP = 1.7


def write_shards(directory: Path, shard_bytes: int, rows_each: int | None = None) -> int:
    directory.mkdir()
    rows = rows_each or shard_bytes // (NCOLS * 4)
    rng = np.random.default_rng(1)
    for i in range(SHARDS):
        np.save(
            directory / f"part-{i:03d}.npy", rng.standard_normal((rows, NCOLS), dtype=np.float32)
        )
    sync()
    return rows


def stats_of(run) -> dict:
    return next(iter(json.loads(run.last.stdout)["arrays"].values()))["stats"]


def bench(tmp: Path, scale: int) -> tuple[list[str], list[Target]]:
    shard_bytes = SHARD_BYTES // scale
    directory = tmp / "shards"
    tiny = tmp / "tiny-shards"
    print(f"shards: writing {SHARDS} x {fmt_bytes(shard_bytes)} .npy ...", flush=True)
    rows = write_shards(directory, shard_bytes)
    write_shards(tiny, 0, rows_each=16)
    warm([directory, tiny])
    files = sorted(str(p) for p in directory.iterdir())
    assert SHARDS <= 10 and ODD_SHARDS <= SHARDS  # the globs below name part-000..part-009
    odd = str(directory / f"part-00[0-{ODD_SHARDS - 1}].npy")  # a glob dsdoctor expands
    check = [DSDOCTOR, "check", "--json"]
    # each half as one glob (part-00[0246].npy, part-00[1357].npy): one dataset per process
    halves = [
        shlex.join([*check, str(directory / f"part-00[{''.join(map(str, range(i, SHARDS, JOBS)))}].npy")])
        for i in range(JOBS)
    ]  # fmt: skip
    scan = [PYTHON, str(HERE / "scan_baseline.py"), "npy"]
    scan_halves = [shlex.join([*scan, *files[i::JOBS]]) for i in range(JOBS)]
    at_once = "; wait"
    cmds = [
        ("dsdoctor check DIR", [*check, directory]),
        (f"dsdoctor check DIR --jobs {JOBS}", [*check, directory, "--jobs", JOBS]),
        (f"control: {JOBS} x dsdoctor check HALF at once", ["sh", "-c", " & ".join(halves) + at_once]),
        (f"dsdoctor check DIR/part-00[0-{ODD_SHARDS - 1}].npy", [*check, odd]),
        (f"dsdoctor check DIR/part-00[0-{ODD_SHARDS - 1}].npy --jobs {JOBS}",
         [*check, odd, "--jobs", JOBS]),
        ("control: chunked scan, 1 process", [*scan, *files]),
        (f"control: chunked scan, {JOBS} processes at once",
         ["sh", "-c", " & ".join(scan_halves) + at_once]),
    ]  # fmt: skip
    # the short one runs more often per round: it is subtracted from the others
    cmds += [(f"start-up: dsdoctor check TINY ({SHARDS} x 16 rows)", [*check, tiny])] * STARTUP_RUNS
    print(f"  {len(cmds)} commands in turn, best of {REPEAT} ...", flush=True)
    results = best_of_cmds(cmds, REPEAT, ok=(0, 1))
    startup = results[7]
    for b in results[8:]:
        startup.seconds, startup.rss = min(startup.seconds, b.seconds), max(startup.rss, b.rss)
    results = results[:8]
    serial, parallel, halves_t, odd1, odd2, scan1, scan2, startup = results
    assert stats_of(serial) == stats_of(parallel), "--jobs changes the result"
    assert stats_of(odd1) == stats_of(odd2), "--jobs changes the result (7 shards)"
    assert stats_of(serial)["rows"] == SHARDS * rows and stats_of(odd1)["rows"] == ODD_SHARDS * rows
    fixed = startup.seconds
    speedup = serial.seconds / parallel.seconds
    by_hand = serial.seconds / halves_t.seconds
    odd_speedup = odd1.seconds / odd2.seconds
    capacity = scan1.seconds / scan2.seconds
    # Amdahl: the ratio if the scan (all but the start-up) halved perfectly
    amdahl = serial.seconds / (fixed + (serial.seconds - fixed) / JOBS)
    gib = SHARDS * shard_bytes / GiB

    def net(a: float, b: float) -> str:
        """a / b with the start-up subtracted from both (meaningless when it is most of b)."""
        if b - fixed < 0.2 * b:
            return "n/a (the start-up is most of the time at this size)"
        ratio = (a - fixed) / (b - fixed)
        return f"{ratio:.2f}x" + (f" (noise: more than {JOBS}x)" if ratio > JOBS else "")

    print(f"  serial {fmt_time(serial.seconds)} / --jobs {JOBS} {fmt_time(parallel.seconds)} = "
          f"{speedup:.2f}x ({net(serial.seconds, parallel.seconds)} without the "
          f"{fmt_time(fixed)} start-up; a perfect split of the scan: {amdahl:.2f}x); by hand, "
          f"{JOBS} halves at once: {by_hand:.2f}x; {ODD_SHARDS} shards {odd_speedup:.2f}x; "
          f"chunked scan 1 / {JOBS} processes = {capacity:.2f}x", flush=True)  # fmt: skip
    for p in [*directory.iterdir(), *tiny.iterdir()]:
        p.unlink()
    directory.rmdir()
    tiny.rmdir()
    rows_md = [
        (f"`{x.name}`" if x.name.startswith("dsdoctor") else x.name, fmt_time(x.seconds),
         fmt_bytes(x.rss))
        for x in results
    ]  # fmt: skip
    total = SHARDS * shard_bytes
    md = [
        f"## Shards: {SHARDS} x {fmt_bytes(shard_bytes)} `.npy` ({fmt_bytes(total)}), "
        f"`--jobs {JOBS}` vs serial (best of {REPEAT})",
        "",
        f"{SHARDS} float32 shards of ({rows:,}, {NCOLS}) standard normals in one directory "
        f"({fmt_bytes(total)} in all: `--jobs` is for big data), checked by the console script "
        "with `--json`, in turn, warm. Every time is a whole command, fixed costs included: "
        "interpreter, imports, opening the shards -- the start-up row (best of "
        f"{REPEAT * STARTUP_RUNS}), which {JOBS} processes cannot halve. Controls in the same "
        f"run on the same files: {JOBS} `dsdoctor check` at once by hand over half the shards "
        f"each (nothing to coordinate or merge), and a plain chunked numpy scan in 1 process vs "
        f"{JOBS} at once. Peak RSS is that of the largest single process (the main one or a "
        "helper), not their sum.",
        "",
        *table(rows_md, ("command", "time", "peak RSS")),
        "",
        f"- serial / `--jobs {JOBS}`: **{speedup:.2f}x** (target >= {MIN_SPEEDUP:g}x, "
        f"on {os.cpu_count()} cpus)",
        f"- the same with the start-up ({fmt_time(fixed)}) subtracted from both: "
        f"**{net(serial.seconds, parallel.seconds)}**; the most any split could show with that "
        f"start-up, were the scan exactly {JOBS}x faster: {amdahl:.2f}x",
        f"- control, serial / {JOBS} `dsdoctor check` over halves at once, by hand: "
        f"**{by_hand:.2f}x** (start-up subtracted: {net(serial.seconds, halves_t.seconds)})",
        f"- control, chunked scan in 1 process / in {JOBS} processes at once: **{capacity:.2f}x**. "
        f"It scans {gib / scan1.seconds:.1f} GiB/s in one process where dsdoctor scans "
        f"{gib / max(1e-9, serial.seconds - fixed):.1f} GiB/s (start-up subtracted): it is mostly "
        f"computing, where dsdoctor's scan is mostly moving memory, over the one memory bus the "
        f"{JOBS} cores share.",
        f"- {ODD_SHARDS} shards, serial / `--jobs {JOBS}`: **{odd_speedup:.2f}x** (start-up "
        f"subtracted: {net(odd1.seconds, odd2.seconds)}; whole-shard tasks would give one worker "
        f"{(ODD_SHARDS + 1) // 2} shards and the other {ODD_SHARDS // 2})",
        "",
    ]
    target = Target(f"check DIR serial / `--jobs {JOBS}` ({fmt_bytes(total)})", f"{speedup:.2f}x",
                    f">= {MIN_SPEEDUP:g}x", speedup >= MIN_SPEEDUP)  # fmt: skip
    return md, [target]
