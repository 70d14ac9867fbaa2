"""window: ``dsdoctor window`` on a (10M, 16) float32 series with L=64 against writing the same
output once with numpy (``sliding_window_view`` + ``np.save``), with peak RSS at two lengths of
the series.

The output of every window (stride 1) would be 10M × 64 × 16 × 4 bytes ≈ 41 GB, twice over with
the baseline's, more than a shared machine's disk should take for a benchmark: the windows
step by ``STRIDE`` = 8 rows instead, so each row is still written 64 / 8 = 8 times, every row
of the series is read, and the output is 5.1 GB. Peak RSS is measured at T and at T / 4: it
must not grow with T (the windows are streamed in 64 MiB blocks), where holding the windows
would take the whole output.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from common import (
    DSDOCTOR,
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

ROWS = 10_000_000
FEATURES = 16
LENGTH = 64
STRIDE = 8
REPEAT = 3
#: Disk the section needs at full size: the series, our output and the two baselines' (kept for
#: the check that they are equal), and the output at T / 4.
DISK_BYTES = int(1.25 * (ROWS * FEATURES * 4 + 3.25 * (ROWS // STRIDE) * LENGTH * FEATURES * 4))
#: Within this factor of the numpy baseline (the issue's target).
MAX_RATIO = 2.0
#: Peak RSS at T may exceed the one at T / 4 by this much at most: bounded, not growing with T.
RSS_SLACK = 64 * MiB

#: The two ways numpy writes the windows once: ``np.save`` of the strided view (numpy writes a
#: non-contiguous array through its buffered iterator), and one assignment of the view into a
#: ``.npy`` memory map (``np.lib.format.open_memmap``). The faster is the baseline.
BASELINES = {
    "np.save": """
import sys, numpy as np
x = np.load(sys.argv[1], mmap_mode="r")
length, stride = int(sys.argv[3]), int(sys.argv[4])
view = np.lib.stride_tricks.sliding_window_view(x, length, axis=0)[::stride]  # (N, F, L): a view
np.save(sys.argv[2], np.moveaxis(view, -1, 1))  # (N, L, F)
""",
    "open_memmap": """
import sys, numpy as np
x = np.load(sys.argv[1], mmap_mode="r")
length, stride = int(sys.argv[3]), int(sys.argv[4])
view = np.moveaxis(np.lib.stride_tricks.sliding_window_view(x, length, axis=0)[::stride], -1, 1)
out = np.lib.format.open_memmap(sys.argv[2], mode="w+", dtype=x.dtype, shape=view.shape)
out[:] = view
out.flush()
""",
}


def make(tmp: Path, rows: int) -> Path:
    path = tmp / f"series{rows}.npy"
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, FEATURES))
    rng = np.random.default_rng(0)
    step = 1 << 20
    for i in range(0, rows, step):
        out[i : i + step] = rng.standard_normal((min(step, rows - i), FEATURES), dtype=np.float32)
    out.flush()
    del out
    return path


def bench(tmp: Path, scale: int) -> tuple[list[str], list[Target]]:
    big, small = ROWS // scale, ROWS // scale // 4
    print(f"window: ({big:,}, {FEATURES}) float32, L={LENGTH}, stride {STRIDE} ...", flush=True)
    series = {n: make(tmp, n) for n in (big, small)}
    sync()
    warm(list(series.values()))
    cmds = []
    for n, src in series.items():
        cmds.append((f"dsdoctor window, T={n:,}", [DSDOCTOR, "window", src, "--length", LENGTH,
                     "--stride", STRIDE, "-o", tmp / f"w{n}.npy", "--force"]))  # fmt: skip
    for way, script in BASELINES.items():  # the baselines at T only: the ratio is taken there
        cmds.append((f"numpy sliding_window_view + {way}, T={big:,}",
                     [PYTHON, "-c", script, series[big], tmp / f"{way}.npy", LENGTH, STRIDE]))  # fmt: skip
    results = []
    for _ in range(REPEAT):  # in turn, and each output flushed before the next command starts
        for name, cmd in cmds:
            results.append((name, best_of_cmds([(name, cmd)], 1)[0]))
            sync()
    best: dict[str, tuple[float, int]] = {}
    for name, b in results:
        t, rss = best.get(name, (float("inf"), 0))
        best[name] = (min(t, b.seconds), max(rss, b.rss))
    ours = np.load(tmp / f"w{big}.npy", mmap_mode="r")
    big_bytes = ours.nbytes
    for way in BASELINES:  # the same windows
        base = np.load(tmp / f"{way}.npy", mmap_mode="r")
        assert ours.shape == base.shape, (ours.shape, base.shape)
        for i in (0, len(ours) // 2, len(ours) - 1):
            assert np.array_equal(ours[i], base[i])
        del base
        (tmp / f"{way}.npy").unlink()
    del ours
    for n in series:
        for p in (tmp / f"w{n}.npy", tmp / f"w{n}.starts.npy", series[n]):
            p.unlink(missing_ok=True)
    ours_t, ours_rss = best[f"dsdoctor window, T={big:,}"]
    small_rss = best[f"dsdoctor window, T={small:,}"][1]
    way = min(BASELINES, key=lambda w: best[f"numpy sliding_window_view + {w}, T={big:,}"][0])
    base_t, base_rss = best[f"numpy sliding_window_view + {way}, T={big:,}"]
    ratio = ours_t / base_t
    rows = [(n, fmt_time(t), fmt_bytes(rss)) for n, (t, rss) in best.items()]
    print(f"  dsdoctor {fmt_time(ours_t)} vs numpy ({way}) {fmt_time(base_t)}: {ratio:.2f}x; peak RSS "
          f"{fmt_bytes(ours_rss)} at T={big:,}, {fmt_bytes(small_rss)} at T={small:,}", flush=True)  # fmt: skip
    md = [
        f"## window: a (10M, 16) float32 series in windows of 64 (best of {REPEAT})",
        "",
        f"`dsdoctor window series.npy --length {LENGTH} --stride {STRIDE} -o w.npy` (a subprocess; "
        "it also writes w.starts.npy) against numpy scripts writing the same windows once, "
        "`sliding_window_view(np.load(series, mmap_mode='r'), 64, axis=0)[::8]` moved to "
        "(N, L, F), either by `np.save` or assigned whole to an `open_memmap`; the faster is "
        f"the baseline. Series: ({big:,}, {FEATURES}) and ({small:,}, {FEATURES}) float32; "
        f"output at T={big:,}: {fmt_bytes(big_bytes)}. Every window at stride 1 would be "
        f"{fmt_bytes(big * LENGTH * FEATURES * 4)} (twice with the baseline's), more disk than "
        f"this shared machine has to spare ({fmt_bytes(_free(tmp))} free): stride {STRIDE} still "
        f"writes every row {LENGTH // STRIDE} times. Peak RSS of the command (GNU time).",
        "",
        *table(rows, ("", "time", "peak RSS")),
        "",
        f"- dsdoctor / numpy ({way}, the faster): **{ratio:.2f}x** (target <= {MAX_RATIO:g}x)",
        f"- peak RSS at T={big:,} vs T={small:,}: {fmt_bytes(ours_rss)} vs {fmt_bytes(small_rss)} "
        f"(the baseline maps the series and, with open_memmap, the output: {fmt_bytes(base_rss)})",
        "",
    ]
    targets = [
        Target(f"dsdoctor window / numpy sliding_window_view + {way}", f"{ratio:.2f}x",
               f"<= {MAX_RATIO:g}x", ratio <= MAX_RATIO),
        Target(f"window peak RSS at T={big:,} vs T={small:,}",
               f"{fmt_bytes(ours_rss)} vs {fmt_bytes(small_rss)}",
               f"<= T/4's + {fmt_bytes(RSS_SLACK)}", ours_rss <= small_rss + RSS_SLACK),
    ]  # fmt: skip
    return md, targets


def _free(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize
