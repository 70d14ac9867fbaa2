"""safetensors: the 8-byte little-endian header length, then that many bytes of JSON naming each
tensor's dtype, shape and ``data_offsets`` — parsed by :mod:`dsdoctor.sources.safetensors` (the
reader of the tensors as data), no tensor data read, no library needed. The header is checked
against the file before it is believed: a length longer than the file or than the safetensors
library's 100 MB, JSON that is not an object of tensors, a dtype and shape whose bytes differ
from the offsets, offsets past the end of the file (a "1 TB tensor"), overlapping tensors. The
facts come from a sibling ``config.json`` or the weight names (:mod:`.weights`);
``__metadata__`` is kept in the notes.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..sources.safetensors import DTYPES, read_header
from ..sources.safetensors import check_tensors as _check
from .base import ModelFacts
from .weights import Weight, facts_from_weights

SHARD = re.compile(r"-(\d+)-of-(\d+)\.safetensors$")


def check_tensors(path: Path, header: dict, data_size: int) -> tuple[list[Weight], list[str]]:
    """The tensors of ``header`` as weights, each checked against the data section
    (:func:`dsdoctor.sources.safetensors.check_tensors`)."""
    tensors, notes = _check(str(path), header, data_size)
    weights = [Weight(t.name, t.shape, t.numpy_name or (t.dtype if t.dtype in DTYPES else None))
               for t in tensors]  # fmt: skip
    return weights, notes


def read_safetensors(path: Path) -> ModelFacts:
    """The facts of a ``.safetensors`` file (see the module's docstring)."""
    header, data_size = read_header(path)
    weights, notes = check_tensors(path, header, data_size)
    meta = header.get("__metadata__")
    if isinstance(meta, dict) and meta:
        items = [f"{k}={str(v)[:80]}" for k, v in list(meta.items())[:10]]
        more = f" and {len(meta) - 10} more" if len(meta) > 10 else ""
        notes.insert(0, "__metadata__: " + ", ".join(items) + more)
    shard = SHARD.search(path.name)
    if shard:
        notes.append(f"one shard ({int(shard[1])} of {int(shard[2])}): the weights of the other "
                     "shards were not read")  # fmt: skip
    if not weights:
        notes.append("the file holds no tensors")
    return facts_from_weights(path, "safetensors", weights, ordered=False, notes=notes)
