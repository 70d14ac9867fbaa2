"""CF packing: a variable stored with ``scale_factor``, ``add_offset``, ``_FillValue`` or
``missing_value`` attributes (the netCDF / CF conventions xarray writes to netCDF and Zarr) is
read as the values it stands for, as xarray reads it: a stored fill or missing value becomes
NaN, then ``stored × scale_factor + add_offset``, as floats.

The float type is xarray's: float64 when ``scale_factor`` or ``add_offset`` is a float64 (a
JSON number in Zarr, a double attribute in netCDF), or when the stored integers are wider than
16 bits (float32 would round them); float32 otherwise (a float32 or 16-bit packing). A float
variable with only a fill value keeps its float type.

:func:`unpack` wraps a reader's handle in a :class:`Decoded` handle when its attributes ask for
it: the same rows, decoded a chunk at a time (vectorised, bounded memory), with
``layout["decoded"]`` saying what was applied and ``layout["stored_dtype"]`` the type on disk.
Rows a format never stored (:class:`~dsdoctor.sources.base.FillRows`) are decoded once, as one
row. The checks, and every repair's output, see the decoded values.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .base import DEFAULT_CHUNK_BYTES, ArrayHandle, Chunk, FillRows

#: The attributes that change what a stored value means.
ATTRIBUTES = ("scale_factor", "add_offset", "_FillValue", "missing_value")


@dataclass(frozen=True)
class Packing:
    """How stored values become the values they stand for."""

    dtype: np.dtype  # the decoded type
    scale: Any = None
    offset: Any = None
    missing: tuple[Any, ...] = ()  # stored values that mean "no value" (become NaN)

    def describe(self) -> str:
        parts = []
        if self.missing:
            shown = ", ".join(_show(v) for v in self.missing)
            parts.append(f"{shown} → NaN")
        if self.scale is not None:
            parts.append(f"× {_show(self.scale)}")
        if self.offset is not None:
            parts.append(f"+ {_show(self.offset)}")
        return "CF packing decoded as xarray does: " + ", ".join(parts) + f" (as {self.dtype})"

    def decode(self, block: np.ndarray) -> np.ndarray:
        """``block`` decoded: a new array of :attr:`dtype` (vectorised over the whole block)."""
        raw = np.asarray(block)
        out = raw.astype(self.dtype, copy=True)
        if self.missing:
            hit = np.zeros(raw.shape, dtype=bool)
            for value in self.missing:
                if isinstance(value, float) and value != value:
                    continue  # NaN already reads as missing
                hit |= raw == value
            out[hit] = np.nan
        if self.scale is not None:
            out *= self.dtype.type(self.scale)
        if self.offset is not None:
            out += self.dtype.type(self.offset)
        return out


def _show(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _scalar(value: Any) -> Any:
    """An attribute as one number (netCDF attributes are arrays of one), or None."""
    if value is None or isinstance(value, str | bytes):
        return None
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf" or arr.size == 0:
        return None
    return arr.reshape(-1)[0]


def _is_double(value: Any) -> bool:
    """A float64 attribute: a Python float (a JSON number) or a numpy/netCDF double."""
    if isinstance(value, float) and not isinstance(value, np.floating):
        return True
    return isinstance(value, np.generic) and value.dtype == np.float64


def packing(attrs: Mapping[str, Any], stored: np.dtype, fill: Any = None) -> Packing | None:
    """The packing ``attrs`` declare for values stored as ``stored``, or None when there is
    none. ``fill`` is a fill value the format keeps outside the attributes and that means
    missing (a Zarr v2 array written by xarray keeps ``_FillValue`` as its ``fill_value``)."""
    if stored.kind not in "iuf":
        return None
    scale = _scalar(attrs.get("scale_factor"))
    offset = _scalar(attrs.get("add_offset"))
    missing: list[Any] = []
    for key in ("_FillValue", "missing_value"):
        value = attrs.get(key)
        if value is None:
            continue
        arr = np.asarray(value)
        if arr.dtype.kind in "biuf":
            missing += [v for v in arr.reshape(-1)[:16].tolist() if v not in missing]
    if not missing and fill is not None and _scalar(fill) is not None:
        value = _scalar(fill).item()
        if not (isinstance(value, float) and value != value):
            missing.append(value)
    if scale is None and offset is None and not missing:
        return None
    if scale is None and offset is None and stored.kind == "f":
        if all(isinstance(v, float) and v != v for v in missing):
            return None  # NaN is already missing in a float array
        dtype = stored
    elif _is_double(scale) or _is_double(offset):
        dtype = np.dtype(np.float64)
    elif stored.kind == "f":
        dtype = np.dtype(np.float64 if stored.itemsize > 4 else np.float32)
    else:
        dtype = np.dtype(np.float32 if stored.itemsize <= 2 else np.float64)
    return Packing(
        dtype=dtype,
        scale=None if scale is None else scale.item() if hasattr(scale, "item") else scale,
        offset=None if offset is None else offset.item() if hasattr(offset, "item") else offset,
        missing=tuple(missing),
    )


class Decoded(ArrayHandle):
    """A handle whose values are decoded from its reader's (``inner``) as :class:`Packing` says."""

    inner: ArrayHandle
    packing: Packing

    def _read_provenance(self) -> dict[str, Any] | None:
        return self.inner.provenance

    def _decode(self, part: Chunk) -> Chunk:
        return self.packing.decode(part) if isinstance(part, np.ndarray) else part

    def _chunks(self, chunk_bytes: int) -> Iterator[Chunk]:
        for part in self.inner.chunks(self._inner_bytes(chunk_bytes)):
            yield self._decode(part)

    def runs(self, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Iterator[Chunk | FillRows]:
        self.require_readable()
        for part in self.inner.runs(self._inner_bytes(chunk_bytes)):
            if isinstance(part, FillRows):
                yield FillRows(self._decode(part.row), part.count, unwritten=part.unwritten)
            else:
                yield self._decode(part)

    def _inner_bytes(self, chunk_bytes: int) -> int:
        """The read size that keeps a decoded chunk within ``chunk_bytes`` (floats may be wider
        than what is stored)."""
        ratio = max(1, self.dtype.itemsize // max(1, self.inner.dtype.itemsize))
        return max(1, chunk_bytes // ratio)


def unpack(handle: ArrayHandle, attrs: Mapping[str, Any], fill: Any = None) -> ArrayHandle:
    """``handle``, decoded when ``attrs`` declare a CF packing (see the module docstring); the
    handle itself otherwise, or when it is not read anyway (text, ragged, unsafe, skipped)."""
    if handle.skip or handle.unsafe or handle.pickled:
        return handle
    found = None if handle.ragged or handle.categorical else packing(attrs, handle.dtype, fill)
    if found is None:
        scaled = [k for k in ("scale_factor", "add_offset") if attrs.get(k) is not None]
        if scaled:  # named, never silently checked as if it were the values it stands for
            handle.layout["packing_not_applied"] = (
                f"{' and '.join(scaled)} present but not applied (not a number, or a "
                f"{'ragged' if handle.ragged else str(handle.dtype)} array): values are checked "
                "as stored"
            )
        return handle
    layout = handle.layout
    layout["stored_dtype"] = str(handle.dtype)
    layout["decoded"] = found.describe()
    out = Decoded(
        name=handle.name, source=handle.source, path=handle.path, format=handle.format,
        shape=handle.shape, dtype=found.dtype, layout=layout, disk_bytes=handle.disk_bytes,
        coordinate=handle.coordinate, class_names=handle.class_names,
    )  # fmt: skip
    out.inner, out.packing = handle, found
    out.shape_is_data = handle.shape_is_data
    return out
