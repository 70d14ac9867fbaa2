"""splits: the overlap of a (10M, 16) float32 training split with a (1M, 16) validation split
(issue 17) against a plain chunked numpy hashing scan of both, with peak RSS.

Ours (``OURS``, a subprocess): the split pass of ``check --split`` as ``splitcheck.scan_splits`` runs
it: :func:`dsdoctor.engine.splits.scan_split` of the validation split keeping its 128-bit keys
(the smaller side's table, a :class:`~dsdoctor.engine.splits.KeyIndex`), then of the training
split looking each chunk's keys up in it (keeping none), printing the overlap. The baseline
(``BASELINE``): each file read in 64 MiB chunks of a memory map and one 64-bit hash per row (the
same multiply / xor-shift per 8-byte word and MurmurHash3's finaliser: the least a row hash needs
so that rows differing only in two sign bits do not collide), nothing kept. 1,000 rows of the
validation split are copies of training rows; both must find... ours counts them, the baseline
only hashes. ``check --split … --select DS803`` end to end is timed too (it also runs every
check on each split: one more pass over each), without a target.
"""

from __future__ import annotations

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

TRAIN_ROWS = 10_000_000
VAL_ROWS = 1_000_000
FEATURES = 16
PLANTED = 1_000
REPEAT = 3
MAX_RATIO = 2.0
DISK_BYTES = (TRAIN_ROWS + VAL_ROWS) * FEATURES * 4

OURS = """
import sys
from dsdoctor.engine.splits import KeyIndex, SplitOptions, scan_split
from dsdoctor.sources import open_array
val = scan_split(open_array(sys.argv[2]), SplitOptions())  # the smaller side keeps its keys
index = KeyIndex.of(val.x_keys)
train = scan_split(open_array(sys.argv[1]), SplitOptions(keep_keys=False, indexes={("x", "val"): index}))
found, first, distinct, in_val, val_first = train.probes[("x", "val")].overlap(index)
val.close()
print(in_val)
"""

BASELINE = """
import sys, numpy as np
M, M1, M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53)
s29, s33 = np.uint64(29), np.uint64(33)
for path in sys.argv[1:]:
    x = np.load(path, mmap_mode="r")
    step = (64 << 20) // x[:1].nbytes
    for i in range(0, len(x), step):
        w = np.ascontiguousarray(x[i : i + step]).view(np.uint64)
        h = np.full(len(w), 0x9E3779B97F4A7C15, np.uint64)
        for j in range(w.shape[1]):
            h ^= w[:, j]; h *= M; h ^= h >> s29
        h ^= h >> s33; h *= M1; h ^= h >> s33; h *= M2; h ^= h >> s33
"""


def make(tmp: Path, scale: int) -> tuple[Path, Path]:
    n, m = TRAIN_ROWS // scale, VAL_ROWS // scale
    rng = np.random.default_rng(0)
    train = tmp / "split_train.npy"
    out = np.lib.format.open_memmap(train, mode="w+", dtype=np.float32, shape=(n, FEATURES))
    step = 1 << 20
    for i in range(0, n, step):
        out[i : i + step] = rng.standard_normal((min(step, n - i), FEATURES), dtype=np.float32)
    val = rng.standard_normal((m, FEATURES), dtype=np.float32)
    rows = rng.choice(n, PLANTED, replace=False)
    val[rng.choice(m, PLANTED, replace=False)] = out[np.sort(rows)]
    out.flush()
    del out
    np.save(tmp / "split_val.npy", val)
    return train, tmp / "split_val.npy"


def bench(tmp: Path, scale: int) -> tuple[list[str], list[Target]]:
    train, val = make(tmp, scale)
    n, m = TRAIN_ROWS // scale, VAL_ROWS // scale
    print(f"splits: ({n:,}, {FEATURES}) vs ({m:,}, {FEATURES}) float32 ...", flush=True)
    sync()
    warm([train, val])
    cmds = [
        ("split pass + overlap (engine.splits)", [PYTHON, "-c", OURS, train, val]),
        ("numpy: chunked 64-bit row hashing of both", [PYTHON, "-c", BASELINE, train, val]),
        ("dsdoctor check --split … --select DS803", [DSDOCTOR, "check", "--split", f"train={train}",
         "--split", f"val={val}", "--select", "DS803", "--json"]),
    ]  # fmt: skip
    best = best_of_cmds(cmds, REPEAT, ok=(0, 1), rotate=True)
    ours, base, _ = best
    found = int(ours.last.stdout.decode().strip()) if ours.last else -1
    ratio = ours.seconds / base.seconds
    for p in (train, val):
        p.unlink()
    print(f"  ours {fmt_time(ours.seconds)} vs numpy {fmt_time(base.seconds)}: {ratio:.2f}x; "
          f"peak RSS {fmt_bytes(ours.rss)}; found {found:,} of {PLANTED:,}", flush=True)  # fmt: skip
    keys = 24 * (n + m)
    md = [
        f"## splits: overlap of a ({n:,}, 16) float32 training split with a ({m:,}, 16) one "
        f"(best of {REPEAT})",
        "",
        "The split pass of `check --split` (`engine.splits.scan_split` of the validation split "
        "keeping its 128-bit keys as an index, then of the training split looking its keys up in "
        "it chunk by chunk) against a numpy "
        "script reading both files in 64 MiB chunks and hashing each row to 64 bits (multiply / "
        "xor-shift per 8-byte word, MurmurHash3's finaliser) and keeping nothing. "
        f"{PLANTED:,} validation rows are planted copies of training rows. `check --split` end "
        "to end also runs every check on each split (one more pass over each).",
        "",
        *table(
            [(b.name, fmt_time(b.seconds), fmt_bytes(b.rss)) for b in best],
            ("", "time", "peak RSS"),
        ),
        "",
        f"- ours / numpy: **{ratio:.2f}x** (target <= {MAX_RATIO:g}x); found {found:,} of "
        f"{PLANTED:,} planted duplicates",
        f"- only the smaller split's keys are held: 24 bytes a sample ({fmt_bytes(24 * m)} here; "
        f"{fmt_bytes(keys)} for both)",
        "",
    ]
    targets = [
        Target("split overlap / numpy chunked row hashing", f"{ratio:.2f}x", f"<= {MAX_RATIO:g}x",
               ratio <= MAX_RATIO),
        Target("split overlap finds the planted duplicates", f"{found:,}", f"{PLANTED:,}",
               found == PLANTED),
        Target("split overlap peak RSS", fmt_bytes(ours.rss), f"<= {fmt_bytes(768 * MiB)}",
               ours.rss <= 768 * MiB),
    ]  # fmt: skip
    return md, targets
