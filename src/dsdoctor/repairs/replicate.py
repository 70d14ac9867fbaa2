"""``replicate``: broadcast a single sample to N samples (``to``, or as many as ``like`` has), or
repeat each sample K times (``each``); any other case is refused with the reason.
:func:`validate` is the one validation of :func:`replicate` (in memory) and
:func:`replicate_file`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import RepairError
from ..sources import DEFAULT_CHUNK_BYTES, ArrayHandle
from ..units import parse_count
from .base import dense, exactly_one, memory_handle, option, require_dense, result, source_handle
from .result import RepairResult
from .write import input_paths, provenance, write_blocks

ONE_OF = "give exactly one of --to N, --like SRC or --each K"


def validate(
    h: ArrayHandle, *, to: Any, each: Any, like: ArrayHandle | None
) -> tuple[int, int | None, int | None]:
    """``(samples before, to, each)`` with exactly one of ``to``/``each`` set, or the refusal;
    ``like`` (a handle) gives ``to`` its number of samples."""
    require_dense(h, "replicate")
    m = h.shape[0]
    assert m is not None  # a dense handle knows its shape
    if each is not None:
        return m, None, option(parse_count, "--each", each, low=1)
    if like is not None:
        to = like.n
        if to is None:
            raise RepairError("--like names a 0-d array; it has no samples to match")
    n = option(parse_count, "--to", to, low=1)
    if m == n:
        raise RepairError(f"{h.source} already has {m} samples; nothing to replicate")
    if m != 1:
        why = (f"{n} = {n // m} × {m}: if each sample stands for {n // m}, use --each {n // m}"
               if m and n % m == 0 else f"{n} is not a multiple of {m}, so no replication fits")  # fmt: skip
        raise RepairError(f"{h.source} has {m} samples; --to broadcasts a single sample ({why})")
    return m, n, None


def replicate(data: Any, *, to: int | None = None, like: Any = None, each: int | None = None) -> np.ndarray:  # fmt: skip
    """``replicate`` in memory: a single sample broadcast to ``to`` (or ``len(like)``) samples, or
    each sample repeated ``each`` times; refused exactly as :func:`replicate_file` refuses."""
    exactly_one(ONE_OF, to, like, each)
    h = memory_handle(data)
    _, n, k = validate(h, to=to, each=each, like=None if like is None else memory_handle(like))
    count = k if n is None else n
    assert count is not None  # validate sets exactly one of them
    return np.repeat(dense(h.read()), count, axis=0)


def replicate_file(src: Any, out: str, *, to: int | None = None, like: Any = None, each: int | None = None,
                   force: bool = False, chunk_bytes: int = DEFAULT_CHUNK_BYTES, **source_options: Any) -> RepairResult:  # fmt: skip
    """Replicate ``src`` into ``out`` (streamed)."""
    exactly_one(ONE_OF, to, like, each)
    h = source_handle(src, **source_options)
    inputs = input_paths(h)
    like_h = None
    if like is not None:
        like_h = source_handle(like, **source_options)
        inputs = [*inputs, *input_paths(like_h)]
    m, n, k = validate(h, to=to, each=each, like=like_h)
    rest = tuple(int(d) for d in h.shape[1:] if d is not None)
    blocks: Iterator[dict[str, np.ndarray]]
    if k is not None:
        total = m * k
        blocks = (
            {"data": np.repeat(dense(c), k, axis=0)} for c in h.chunks(max(1, chunk_bytes // k))
        )
    else:
        assert n is not None
        total = n
        row = dense(h.read())
        rows = h.rows_per_chunk(chunk_bytes)
        blocks = (
            {"data": np.broadcast_to(row, (min(rows, n - s), *rest))} for s in range(0, n, rows)
        )
    outputs = write_blocks(out, {"data": ((total, *rest), h.dtype)}, blocks, main="data", force=force, inputs=inputs,
                           prov=provenance("replicate", h.source, {"to": n, "each": k}), chunk_bytes=chunk_bytes)  # fmt: skip
    return result(
        "replicate", h, outputs, (total, *rest), h.dtype, samples_before=m, samples_after=total
    )
