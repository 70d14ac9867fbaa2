"""``mask``: the boolean mask of real timesteps of already padded (N, T[, F]) data, as Keras
``Masking`` decides (a timestep is padding when all its features equal the value).
:func:`validate` is the one validation of :func:`mask` (in memory) and :func:`mask_file`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .. import kernels
from ..checks import Context, Expectations, Subject
from ..checks.sequences import MaskValueCollision
from ..engine.stats import ArrayStats, ScanOptions
from ..errors import RepairError
from ..findings import Finding
from ..sources import DEFAULT_CHUNK_BYTES, ArrayHandle
from ..units import format_shape
from .base import dense, memory_handle, number, require_dense, result, source_handle
from .result import RepairResult
from .write import input_paths, provenance, write_blocks


def validate(h: ArrayHandle, value: Any) -> tuple[int, int, Any]:
    """``(N, T, value)`` of padded data, or the refusal."""
    require_dense(h, "mask")
    if h.ndim < 2:
        raise RepairError(
            f"{h.source} has shape {format_shape(h.shape)}; mask needs (N, T) or (N, T, F) padded sequences"
        )
    n, t = h.shape[:2]
    assert n is not None and t is not None  # a dense handle knows its shape
    return n, t, number(value)


def mask(data: Any, *, value: float = 0) -> np.ndarray:
    """The (N, T) boolean mask of real timesteps of padded data, as Keras ``Masking`` decides."""
    h = memory_handle(data)
    _, _, value = validate(h, value)
    return kernels.mask_padded(dense(h.read()), value)


def mask_file(src: Any, out: str, *, value: float = 0, force: bool = False,
              chunk_bytes: int = DEFAULT_CHUNK_BYTES, **source_options: Any) -> RepairResult:  # fmt: skip
    """The mask of ``src``'s padded data written to ``out`` (streamed)."""
    h = source_handle(src, **source_options)
    n, t, value = validate(h, value)
    real = {"count": 0}
    stats, scan = ArrayStats(), ScanOptions(mask_value=value, chunk_bytes=chunk_bytes)

    def blocks() -> Iterator[dict[str, np.ndarray]]:
        for chunk in h.chunks(chunk_bytes):
            m = kernels.mask_padded(dense(chunk), value)
            real["count"] += int(np.count_nonzero(m))
            stats.update(chunk, scan)  # what check measures of padded data, in the same pass
            yield {"mask": m}

    outputs = write_blocks(out, {"mask": ((n, t), np.dtype(bool))}, blocks(), main="mask", force=force, inputs=input_paths(h),
                           prov=provenance("mask", h.source, {"value": value}), chunk_bytes=chunk_bytes)  # fmt: skip
    done = result("mask", h, outputs, (n, t), bool, value=value, real_timesteps=real["count"],
                  padding_timesteps=n * t - real["count"])  # fmt: skip
    done.findings = collisions(h, stats, value)
    return done


def collisions(h: ArrayHandle, stats: ArrayStats, value: float) -> list[Finding]:
    """What ``check SRC --mask-value VALUE`` reports as mask-value-collision (DS302) on the
    padded data ``h`` scanned into ``stats``: the check itself runs, so both say the same."""
    ctx = Context([Subject(h.source, "array", h, stats)], Expectations(mask_value=value))
    return list(MaskValueCollision().run(ctx))
