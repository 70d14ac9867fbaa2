"""Hugging Face folders: ``dsdoctor check FOLDER:train:input_ids`` vs ``datasets.load_from_disk``
and a pass over the column (``hf_baseline.py``).

The folder is written by ``datasets`` itself (``DatasetDict.save_to_disk``, 4 shards): a
``train`` split of token ids (``Sequence(Value("int32"))``, lengths uniform in 16-512, ids in
1-30,000) and a ``ClassLabel`` label, 1 GiB of ids (``--quick``: 64 MiB). Both commands run as
subprocesses in turn, warm, best of ``REPEAT``; both are checked to see every row. The check
does everything a ``check`` does on the column (lengths, extremes, padding collisions, the
findings); the baseline only reads it.
"""

from __future__ import annotations

import json
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

IDS_BYTES = 1024 * MiB
REPEAT = 5
MAX_RATIO = 1.5
SHARDS = 4


def write_folder(folder: Path, ids_bytes: int) -> int:
    """A DatasetDict folder of about ``ids_bytes`` of int32 token ids, written by ``datasets``."""
    import datasets
    import pyarrow as pa
    from datasets.table import InMemoryTable

    rng = np.random.default_rng(0)
    mean = (16 + 512) // 2
    rows = max(1, ids_bytes // (4 * mean))
    lengths = rng.integers(16, 513, size=rows)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    values = rng.integers(1, 30_000, size=int(offsets[-1]), dtype=np.int32)
    ids = pa.ListArray.from_arrays(pa.array(offsets), pa.array(values))
    labels = pa.array(rng.integers(0, 3, size=rows), pa.int64())
    features = datasets.Features({"input_ids": datasets.Sequence(datasets.Value("int32")),
                                  "label": datasets.ClassLabel(names=["neg", "pos", "neutral"])})  # fmt: skip
    table_ = InMemoryTable(pa.table({"input_ids": ids, "label": labels}))
    ds = datasets.Dataset(table_, info=datasets.DatasetInfo(features=features))
    datasets.DatasetDict({"train": ds}).save_to_disk(str(folder), num_shards={"train": SHARDS})
    sync()
    return rows


def bench(tmp: Path, scale: int) -> tuple[list[str], list[Target]]:
    ids_bytes = IDS_BYTES // scale
    folder = tmp / "hf"
    print(f"hf: writing a datasets folder of {fmt_bytes(ids_bytes)} token ids ...", flush=True)
    rows = write_folder(folder, ids_bytes)
    warm([folder])
    ours, base = best_of_cmds([
        ("dsdoctor check FOLDER:train:input_ids --json",
         [DSDOCTOR, "check", f"{folder}:train:input_ids", "--json"]),
        ("load_from_disk + the column (hf_baseline.py)",
         [PYTHON, str(HERE / "hf_baseline.py"), str(folder), "train", "input_ids"]),
    ], REPEAT, ok=(0, 1), rotate=True)  # fmt: skip
    report = json.loads(ours.last.stdout)
    seen = next(iter(report["arrays"].values()))["shape"][0]
    floor = json.loads(base.last.stdout)
    assert seen == rows == floor["rows"], (seen, rows, floor)
    ratio = ours.seconds / base.seconds
    rows_md = [(b.name, fmt_time(b.seconds), fmt_bytes(b.rss)) for b in (ours, base)]
    md = [
        f"## Hugging Face folder: the token column (best of {REPEAT})",
        "",
        f"{rows:,} rows, {fmt_bytes(ids_bytes)} of int32 ids in {SHARDS} shards, written by "
        "`datasets` (`save_to_disk`); the check vs `datasets.load_from_disk` + every batch of the "
        "column in Arrow form with its values read once (`hf_baseline.py`), warm, in turn.",
        "",
        *table(rows_md, ("command", "time", "peak RSS")),
        "",
        f"- check / load_from_disk + column: **{ratio:.2f}x** (target <= {MAX_RATIO:g}x)",
        "",
    ]
    return md, [Target("check of an HF folder's input_ids / load_from_disk + column",
                       f"{ratio:.2f}x", f"<= {MAX_RATIO:g}x", ratio <= MAX_RATIO)]  # fmt: skip
