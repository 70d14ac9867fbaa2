"""``reshape``: an element-preserving reshape of every sample, e.g. (100, 784) → (100, 28, 28),
or a length-1 axis added (``add_axis``). :func:`validate` is the one validation of
:func:`reshape` (in memory) and :func:`reshape_file`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import ShapeError, UsageError
from ..sources import DEFAULT_CHUNK_BYTES, ArrayHandle
from ..units import format_shape, parse_shape
from .base import dense, memory_handle, require_dense, result, source_handle
from .result import RepairResult
from .write import input_paths, provenance, write_blocks


def validate(
    h: ArrayHandle, shape: str | Sequence[int | None] | None = None, add_axis: str | None = None
) -> tuple[int, ...]:
    """The new shape of one sample, or the refusal."""
    require_dense(h, "reshape")
    have = tuple(int(d) for d in h.shape[1:] if d is not None)
    if (shape is None) == (add_axis is None):
        raise UsageError("give exactly one of --shape SHAPE or --add-axis time|features")
    if add_axis is not None:
        if add_axis == "time":
            return (1, *have)
        if add_axis == "features":
            return (*have, 1)
        raise UsageError(f"--add-axis must be time or features, got {add_axis!r}")
    assert shape is not None
    dims = parse_shape(shape, batch="keep") if isinstance(shape, str) else tuple(shape)
    if not dims or dims[0] not in (None, -1, h.shape[0]):
        raise ShapeError(f"{format_shape(dims)} must start with the sample axis (None or {h.shape[0]}); "
                         f'write it like "(None, 28, 28)"')  # fmt: skip
    want = [None if d in (None, -1) else d for d in dims[1:]]
    total = math.prod(have)
    if want.count(None) > 1:
        raise ShapeError(
            f"{format_shape(dims)} leaves {want.count(None)} sizes open; at most one can be None"
        )
    known = math.prod(d for d in want if d is not None)
    if None in want:
        if known == 0 or total % known:
            raise ShapeError(f"cannot reshape samples of {format_shape(have)} ({total} elements) into "
                             f"{format_shape(tuple(want))}: {total} is not a multiple of {known}")  # fmt: skip
        want[want.index(None)] = total // known
    elif known != total:
        raise ShapeError(f"cannot reshape samples of {format_shape(have)} ({total} elements) into "
                         f"{format_shape(tuple(want))} ({known} elements)")  # fmt: skip
    return tuple(int(d) for d in want if d is not None)


def reshape(data: Any, *, shape: str | Sequence[int | None] | None = None,
            add_axis: str | None = None) -> np.ndarray:  # fmt: skip
    """Element-preserving reshape of every sample (``shape`` starts with the sample axis)."""
    h = memory_handle(data)
    new = validate(h, shape, add_axis)
    arr = dense(h.read())
    return arr.reshape((len(arr), *new))


def reshape_file(src: Any, out: str, *, shape: str | Sequence[int | None] | None = None,
                 add_axis: str | None = None, force: bool = False,
                 chunk_bytes: int = DEFAULT_CHUNK_BYTES, **source_options: Any) -> RepairResult:  # fmt: skip
    """Reshape every sample of ``src`` into ``out`` (streamed)."""
    h = source_handle(src, **source_options)
    new = validate(h, shape, add_axis)
    n = h.shape[0]
    assert n is not None
    blocks = ({"data": dense(c).reshape((len(c), *new))} for c in h.chunks(chunk_bytes))
    outputs = write_blocks(out, {"data": ((n, *new), h.dtype)}, blocks, main="data", force=force, inputs=input_paths(h),
                           prov=provenance("reshape", h.source, {"shape": shape, "add_axis": add_axis}),
                           chunk_bytes=chunk_bytes)  # fmt: skip
    return result("reshape", h, outputs, (n, *new), h.dtype, before=list(h.shape))
