"""NetCDF-3 classic files (``CDF\\x01``, and ``CDF\\x02`` with 64-bit offsets): each variable an
array, named by its dimensions.

The header is parsed by :class:`scipy.io.netcdf_file` opened with ``mmap=True``, which reads the
header only and maps the data: where a variable's bytes start is read off the map, and a header
declaring more data than the file holds fails there (a truncated file). The data itself is not
read through that map, whose pages would stay counted against memory as a scan touches them:
rows are read into one reused buffer, a read at a time, as for ``.npy``
(:class:`~dsdoctor.sources.npy.NpyArray`), and converted from the file's big-endian order.
At a URL, the header is fetched alone and parsed the same way from a sparse local copy holding
only it (:func:`_header_only`); rows are then fetched as they are read.
A record variable (one whose first dimension is the unlimited one) is stored one record at a
time, interleaved with the other record variables: a read takes whole records and keeps this
variable's slice of each.

A coordinate variable (one dimension, named like it: ``time(time)``) holds the coordinates of
that axis, not samples: it is listed and named as not analysed. ``char`` variables are text and
are listed, not read. Packing (``scale_factor``, ``add_offset``, ``_FillValue``,
``missing_value``) is decoded as xarray decodes it (:mod:`dsdoctor.sources.cf`): the values
checked are those the file stands for, and the layout says so. CDF-5 (``CDF\\x05``, 64-bit
data) is recognised and refused: scipy does not read it.
"""

from __future__ import annotations

import struct
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SourceError
from ..locations import Location, open_binary
from .base import ArrayHandle, Source, check_shape, is_numeric, mark_coordinate, selected
from .cf import ATTRIBUTES as CF_ATTRIBUTES
from .cf import unpack
from .npy import check_bool

#: What scipy raises on a damaged or truncated header.
HEADER_ERRORS = (ValueError, IndexError, TypeError, KeyError, OverflowError, MemoryError,
                 OSError, struct.error, UnicodeDecodeError)  # fmt: skip
#: Bytes of a URL's object fetched for its header at first (a header is its dimensions,
#: attributes and variables' names: a few KiB); more is fetched if the header is longer.
HEADER_FETCH = 32 * 1024
#: A header longer than this is not read from a URL (ERA5's classic files: under 10 KiB).
HEADER_MAX_BYTES = 16 * 1024 * 1024
#: Attributes shown in the layout: how stored values are to be read.
SHOWN_ATTRIBUTES = ("units", "_FillValue", "missing_value", "scale_factor", "add_offset")


class Netcdf3Array(ArrayHandle):
    """One variable of a classic file: ``offset`` is where its first row starts, ``stride`` the
    bytes from one row to the next (a row's own size, or the record size of a record
    variable), ``stored`` its dtype in the file (big-endian)."""

    offset: int = 0
    stride: int = 0
    stored: np.dtype

    def _chunks(self, chunk_bytes: int) -> Iterator[np.ndarray]:
        shape = self.dense_shape
        if not shape:
            shape, scalar = (1,), True
        else:
            scalar = False
        n, inner = shape[0], shape[1:]
        row = int(np.prod(inner, dtype=np.int64)) * self.stored.itemsize
        stride = self.stride or row
        rows = max(1, min(self.rows_per_read(chunk_bytes), chunk_bytes // max(1, stride)))
        raw = np.empty(min(rows, n) * stride, dtype=np.uint8)
        out = np.empty((min(rows, n), *inner), dtype=self.dtype)
        with open_binary(self.path) as fp:
            for start in range(0, n, rows):
                count = min(rows, n - start)
                want = (count - 1) * stride + row  # the last record's tail is not this variable's
                fp.seek(self.offset + start * stride)
                if fp.readinto(raw[:want].data) != want:
                    raise SourceError(f"{self.source} ended early: the file is truncated")
                view = np.ndarray((count, *inner), dtype=self.stored, buffer=raw,
                                  strides=(stride, *_strides(inner, self.stored.itemsize)))  # fmt: skip
                block = out[:count]
                block[...] = view  # big-endian to native, records to rows
                yield check_bool(block.reshape(()) if scalar else block, self.source)


def _strides(inner: tuple[int, ...], itemsize: int) -> tuple[int, ...]:
    out, step = [], itemsize
    for d in reversed(inner):
        out.append(step)
        step *= d
    return tuple(reversed(out))


class Netcdf3Source(Source):
    """A classic netCDF file: its variables, in the order of its header."""

    format = "netcdf3"

    def __init__(self, path: Path, display: str):
        super().__init__(path, display)
        with open_binary(path) as fp:
            head = fp.read(4)
        if head == b"CDF\x05":
            raise SourceError(
                f"{display} is a CDF-5 (64-bit data) netCDF file, which dsdoctor does not read; "
                f"convert it to netCDF-4 (nccopy -k nc4 {display} out.nc), which it reads"
            )
        try:
            from scipy.io import netcdf_file  # a few hundred ms: only when a classic file is opened
        except ImportError:
            raise SourceError(
                f"{display} is a NetCDF-3 classic file, whose header dsdoctor reads with scipy, "
                "which is not installed: pip install 'dsdoctor[netcdf]' (or scipy)"
            ) from None

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                nc = (_header_only(path, display, netcdf_file) if isinstance(path, Location)
                      else netcdf_file(path, "r", mmap=True))  # fmt: skip
        except HEADER_ERRORS as exc:
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise SourceError(
                f"{display} cannot be read as NetCDF-3 ({msg}): the file is truncated or damaged"
            ) from None
        try:
            mapped = getattr(nc, "_mm_buf", None)  # scipy's map of the file (private, stable
            if not isinstance(mapped, np.ndarray):  # since scipy 0.x): offsets are read off it
                raise SourceError(f"{display}: this scipy does not map netCDF files as dsdoctor "
                                  "expects (netcdf_file._mm_buf); install scipy >= 1.8")  # fmt: skip
            base = mapped.ctypes.data
            del mapped
            record_dims = {name for name, size in nc.dimensions.items() if size is None}
            self._arrays = [self._handle(name, var, base, record_dims)
                            for name, var in nc.variables.items()]  # fmt: skip
            attrs = getattr(nc, "_attributes", {})
            self.attributes = {k: _text(v) for k, v in list(attrs.items())[:10]}
        finally:
            for var in nc.variables.values():  # drop the views, so that close() unmaps
                var.__dict__["data"] = None
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                nc.close()

    def _handle(self, name: str, var: Any, base: int, record_dims: set[str]) -> ArrayHandle:
        data = var.data
        stored = np.dtype(data.dtype)
        shape = tuple(int(d) for d in data.shape)
        dims = [str(d) for d in var.dimensions]
        display = f"{self.display}:{name}"
        handle = Netcdf3Array(name=name, source=display, path=self.path, format="netcdf3",
                              shape=shape, dtype=stored.newbyteorder("=") if stored.kind in "biufc" else stored)  # fmt: skip
        handle.stored = stored
        handle.offset = data.ctypes.data - base if data.size else 0
        record = bool(dims) and dims[0] in record_dims
        handle.stride = int(data.strides[0]) if record and len(shape) and shape[0] > 1 else 0
        if record:
            handle.stride = handle.stride or _record_size(var, stored, shape)
        handle.disk_bytes = int(np.prod(shape, dtype=np.int64)) * stored.itemsize
        layout: dict[str, Any] = {"dims": dims}
        if record:
            layout["record_dimension"] = dims[0]
        attrs = getattr(var, "_attributes", {})
        for key in SHOWN_ATTRIBUTES:
            if key in attrs:
                layout[key] = _text(attrs[key])
        handle.layout = layout
        if stored.kind == "S":
            handle.skip = "a netCDF char variable (text); dsdoctor checks numeric arrays"
        elif not is_numeric(stored):
            handle.skip = f"dtype {stored} is not numeric; dsdoctor checks numeric arrays"
        else:
            check_shape(shape, handle.dtype, display)
        out = unpack(handle, {k: attrs[k] for k in CF_ATTRIBUTES if k in attrs})
        if len(dims) == 1 and dims[0] == name:
            mark_coordinate(out, name)
        return out

    def arrays(self) -> list[ArrayHandle]:
        return list(self._arrays)

    def select(self, selector: str) -> ArrayHandle:
        return selected(super().select(selector))

    def reading(self) -> str:
        return ("attributes: " + ", ".join(f"{k}={v}" for k, v in self.attributes.items())
                if self.attributes else "")  # fmt: skip


def _header_only(loc: Location, display: str, netcdf_file: Any) -> Any:
    """scipy's ``netcdf_file`` of the object at ``loc``, having fetched its header only.

    scipy parses a header from a file and maps the data; here the file is a sparse temporary
    file of the object's size holding the object's first :data:`HEADER_FETCH` bytes (the rest
    holes: no disk used), so the map's offsets are the object's and no data byte is fetched.
    The header ends where scipy stopped reading; past the fetched bytes the file reads as
    zeros, so a parse that went past them (or failed there) is redone with four times as many
    bytes, up to :data:`HEADER_MAX_BYTES`."""
    size = loc.stat().st_size
    want = HEADER_FETCH
    with open_binary(loc, cache="none") as fp:
        while True:
            want = min(want, size)
            fp.seek(0)
            head = fp.read(want)
            tmp = tempfile.TemporaryFile(prefix="dsdoctor-nc3-")  # noqa: SIM115 - nc closes it
            try:
                tmp.truncate(size)
                tmp.write(head)
                tmp.flush()
                tmp.seek(0)
                nc = netcdf_file(tmp, "r", mmap=True)
            except HEADER_ERRORS:
                tmp.close()
                if want >= min(size, HEADER_MAX_BYTES):
                    raise
            else:
                if nc.fp.tell() <= want:
                    return nc  # closing it closes (and so deletes) the temporary file
                for var in nc.variables.values():
                    var.__dict__["data"] = None
                nc.close()
            if want >= min(size, HEADER_MAX_BYTES):
                raise SourceError(f"{display}: a NetCDF-3 header longer than "
                                  f"{HEADER_MAX_BYTES:,} bytes; dsdoctor reads shorter ones")  # fmt: skip
            want *= 4


def _record_size(var: Any, stored: np.dtype, shape: tuple[int, ...]) -> int:
    """A record variable with fewer than two records has no stride to read: its own row size."""
    return max(1, int(np.prod(shape[1:], dtype=np.int64)) * stored.itemsize)


def _text(value: Any) -> Any:
    """An attribute as JSON takes it: text decoded, one number as a number, arrays shortened."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")[:200]
    arr = np.asarray(value)
    if arr.size == 1:
        item = arr.reshape(()).item()
        return "nan" if isinstance(item, float) and item != item else item
    return [x for x in arr.reshape(-1)[:10].tolist()]
