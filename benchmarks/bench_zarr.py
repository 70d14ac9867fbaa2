"""`dsdoctor check` on a big Zarr v3 array vs a chunked zarr scan (issue 16).

One (N, 16) float32 array of standard normals (seed 0) with one NaN, one +Inf and one -Inf
planted, written with zarr (v3, chunks of 65,536 rows = 4 MiB, zarr's default zstd codec);
then ``python -m dsdoctor check STORE --json`` and ``python benchmarks/scan_baseline.py zarr
STORE`` (the array read chunk by chunk along axis 0 with zarr: per-column min/max and NaN/±Inf
counts) run as subprocesses, in turn, best of N, with the peak RSS of each. Both are measured
warm (the store's files are read once first).
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
from bench_check import NCOLS, PLANTED, _check_stats, _same
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
CHUNK_ROWS = 65_536  # 4 MiB chunks
REPEAT = 3
MAX_RATIO = 1.5
MAX_RSS = 256 * MiB


def write_store(tmp: Path, nbytes: int) -> tuple[Path, int]:
    import zarr

    rows = nbytes // (NCOLS * 4)
    rows -= rows % CHUNK_ROWS
    path = tmp / "big.zarr"
    arr = zarr.create_array(path, shape=(rows, NCOLS), chunks=(CHUNK_ROWS, NCOLS), dtype="<f4")
    rng = np.random.default_rng(0)
    block = CHUNK_ROWS * 16
    for start in range(0, rows, block):
        n = min(block, rows - start)
        data = rng.standard_normal((n, NCOLS), dtype=np.float32)
        for frac, col, value in PLANTED:
            row = int(rows * frac)
            if start <= row < start + n:
                data[row - start, col] = value
        arr[start : start + n] = data
    sync()
    return path, rows


def bench(tmp: Path, scale: int) -> tuple[list[str], list[Target]]:
    nbytes = SIZE // scale
    print(f"zarr: writing {fmt_bytes(nbytes)} of float32 as a Zarr v3 store ...", flush=True)
    path, rows = write_store(tmp, nbytes)
    stored = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    warm([path])
    cmds = [
        ("dsdoctor", [PYTHON, "-m", "dsdoctor", "check", path, "--json"]),
        ("scan", [PYTHON, HERE / "scan_baseline.py", "zarr", path]),
    ]
    ours, base = best_of_cmds(cmds, REPEAT, ok=(0, 1), rotate=True)  # 1: NaN/Inf are findings
    assert ours.last is not None and base.last is not None
    import json

    _same(_check_stats(ours.last.stdout), json.loads(base.last.stdout), rows, "zarr")
    ratio = ours.seconds / base.seconds
    print(f"  zarr: dsdoctor {fmt_time(ours.seconds)} / scan {fmt_time(base.seconds)} = "
          f"{ratio:.2f}x; peak RSS {fmt_bytes(ours.rss)} / {fmt_bytes(base.rss)}", flush=True)  # fmt: skip
    shutil.rmtree(path)
    md = [
        f"## `check` on a {fmt_bytes(nbytes)} Zarr array vs a chunked zarr scan (best of {REPEAT})",
        "",
        f"One ({rows:,}, {NCOLS}) float32 array (standard normals, seed 0, one NaN, one +Inf and "
        f"one -Inf planted) written with zarr as a v3 store, chunks of {CHUNK_ROWS:,} rows "
        f"({math.ceil(rows / CHUNK_ROWS):,} chunks of 4 MiB, zstd: {fmt_bytes(stored)} stored). "
        "`python -m dsdoctor check STORE --json` vs `python benchmarks/scan_baseline.py zarr "
        "STORE` (the array read with zarr one band of chunks at a time, per-column min/max and "
        "NaN/±Inf counts), both as subprocesses run in turn, checked to agree, warm page cache. "
        "Peak RSS is that of the subprocess.",
        "",
        *table(
            [
                (
                    "zarr",
                    fmt_bytes(stored),
                    fmt_time(ours.seconds),
                    fmt_time(base.seconds),
                    f"**{ratio:.2f}x**",
                    fmt_bytes(ours.rss),
                    fmt_bytes(base.rss),
                )
            ],
            (
                "format",
                "stored",
                "dsdoctor check",
                "chunked scan",
                "check / scan",
                "check peak RSS",
                "scan peak RSS",
            ),
        ),
        "",
        f"Targets: check / scan <= {MAX_RATIO:g}x; check peak RSS <= {fmt_bytes(MAX_RSS)}.",
        "",
    ]
    targets = [
        Target("check zarr / chunked zarr scan", f"{ratio:.2f}x", f"<= {MAX_RATIO:g}x",
               ratio <= MAX_RATIO),
        Target("check zarr peak RSS", fmt_bytes(ours.rss), f"<= {fmt_bytes(MAX_RSS)}",
               ours.rss <= MAX_RSS),
    ]  # fmt: skip
    return md, targets
