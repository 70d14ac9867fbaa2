"""Lazy array handles and the container interface every format implements.

A handle knows its shape, dtype and layout without reading data, and yields the data as chunks
of whole samples (dense ``ndarray`` or :class:`~dsdoctor.arrays.Ragged`) whose size is bounded
by ``chunk_bytes``. Every check and repair is written against this interface only.

:meth:`ArrayHandle.runs` yields the same data for a one-pass reduction, where a run of rows a file
declares but never stored (an HDF5 dataset never written reads as its fill value) may come as one
:class:`FillRows` instead of chunks: a (10¹², 4) dataset of 1.4 KB is then scanned in constant
time instead of 10¹² rows.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from ..arrays import Ragged
from ..errors import SourceError
from .provenance import NOT_DATA

DEFAULT_CHUNK_BYTES = 64 * 1024**2
#: Contiguous data is read at most this much at a time, even with a bigger chunk size: a read
#: that fits the CPU's cache leaves the data there for the reductions that follow, where a 64 MiB
#: read sends it to memory and back once per reduction (``check`` of a 1 GiB .npy: about 1.5x
#: faster). The chunk size still bounds memory; reads are only ever smaller.
READ_BYTES = 4 * 1024**2

Chunk = np.ndarray | Ragged
_T = TypeVar("_T")


@dataclass(frozen=True)
class FillRows:
    """``count`` consecutive rows never written to the file, each equal to ``row`` (a chunk of one
    row: the fill value). ``unwritten`` is False for rows that are zeros in a hole of a sparse
    file: the same data as zeros written out (``cp --sparse`` makes such holes), not a finding."""

    row: Chunk
    count: int
    unwritten: bool = True

    def chunks(self, rows_per_chunk: int) -> Iterator[Chunk]:
        """The rows themselves, ``rows_per_chunk`` at a time (one buffer, reused)."""
        if isinstance(self.row, Ragged):
            block = Ragged.from_lengths(
                self.row.window()[:0], np.zeros(min(rows_per_chunk, self.count), dtype=np.int64)
            )  # an unwritten variable-length row is an empty sequence
            for start in range(0, self.count, rows_per_chunk):
                k = min(rows_per_chunk, self.count - start)
                yield (
                    block
                    if k == len(block.lengths)
                    else Ragged.from_lengths(block.values, block.lengths[:k])
                )
            return
        k = min(rows_per_chunk, self.count)
        buf = np.broadcast_to(self.row, (k, *self.row.shape[1:])).copy()
        for start in range(0, self.count, rows_per_chunk):
            yield buf[: min(rows_per_chunk, self.count - start)]


def is_sparse(path: Path) -> bool:
    """Whether ``path`` has fewer blocks on disk than its size needs (it has holes); a URL's
    object never has (it is read, not mapped)."""
    if not isinstance(path, str | os.PathLike):
        return False
    try:
        st = os.stat(path)
    except OSError:
        return False
    return st.st_blocks * 512 < st.st_size


def sparse_rows(
    path: Path, offset: int, rows: int, row_bytes: int, min_rows: int
) -> list[tuple[int, int, bool]]:
    """``[(lo, hi, stored), …]`` covering rows ``0..rows`` of fixed-size rows from byte ``offset``
    of ``path``: ``stored`` False for runs of at least ``min_rows`` whole rows lying in holes of a
    sparse file (``SEEK_HOLE``/``SEEK_DATA``), which read as zeros without touching the disk.

    A 16 TiB ``.npy`` with no block on disk is then one run of zero rows, scanned in constant time
    instead of reading 16 TiB of zeros; the number of runs is bounded by the blocks actually
    stored. Where the file system cannot tell holes (``EINVAL``), the whole range is stored."""
    out: list[tuple[int, int, bool]] = []
    end = offset + rows * row_bytes
    seek_hole, seek_data = getattr(os, "SEEK_HOLE", None), getattr(os, "SEEK_DATA", None)
    if seek_hole is None or seek_data is None or rows == 0 or row_bytes == 0:
        return [(0, rows, True)]
    start = 0  # first row not yet placed in a run
    with open(path, "rb") as fp:
        fd, pos = fp.fileno(), offset
        while pos < end:
            try:
                hole = os.lseek(fd, pos, seek_hole)
            except OSError:
                return [(0, rows, True)]
            if hole >= end:
                break
            try:
                data = min(os.lseek(fd, hole, seek_data), end)
            except OSError:  # ENXIO: no data after the hole, it runs to the end of the file
                data = end
            lo = -(-(hole - offset) // row_bytes)  # whole rows inside [hole, data)
            hi = (data - offset) // row_bytes
            if hi - lo >= min_rows:
                if lo > start:
                    out.append((start, lo, True))
                out.append((lo, hi, False))
                start = hi
            pos = data
    if start < rows:
        out.append((start, rows, True))
    return out


#: The most bytes numpy can address in one array (``np.intp``): an array whose non-zero axes
#: multiply past this cannot exist, even with no elements (numpy refuses ``np.empty``).
MAX_ARRAY_BYTES = np.iinfo(np.intp).max


def check_shape(shape: tuple[int, ...], dtype: np.dtype, display: str) -> None:
    """Refuse a declared shape no array can have, before anything is allocated or iterated:
    negative axes, or non-zero axes whose product (times the item size) overflows numpy's
    index type. A shape with a zero axis is otherwise fine: it holds no elements (and with no
    samples, ``(0, …)``, no row is ever made)."""
    if any(d < 0 for d in shape):
        raise SourceError(f"{display} declares a negative shape {shape}")
    if shape and shape[0] == 0:
        return
    n = max(1, dtype.itemsize)
    for d in shape:
        n *= d or 1
    if n > MAX_ARRAY_BYTES:
        raise SourceError(
            f"{display} declares shape {shape} {dtype}, more elements than an array can address "
            f"(2**{MAX_ARRAY_BYTES.bit_length()} bytes); the header is damaged"
        )


def coordinate_note(dim: str, size: int) -> str:
    """Why a coordinate variable (netCDF-3 or -4, an HDF5 dimension scale) is not analysed."""
    return (f"a coordinate variable: the {size:,} coordinates of dimension `{dim}`, not samples; "
            f"not analysed (select it by name to read it)")  # fmt: skip


def mark_coordinate(handle: ArrayHandle, dim: str) -> None:
    """Make ``handle`` the coordinates of dimension ``dim``: not analysed when a whole file is
    read (an array that cannot be read anyway keeps its own reason)."""
    handle.coordinate = True
    handle.layout["coordinate_of"] = dim
    if handle.skip is None:
        handle.skip = coordinate_note(dim, handle.n or 0)


def selected(handle: ArrayHandle) -> ArrayHandle:
    """``handle`` as a selector naming it gives it: a coordinate variable named on purpose is
    read like any array (it is listed, not read, only when a whole file is)."""
    dim = handle.layout.get("coordinate_of")
    if not handle.coordinate or dim is None or handle.skip != coordinate_note(dim, handle.n or 0):
        return handle
    import copy

    out = copy.copy(handle)
    out.skip = None
    return out


def is_numeric(dtype: np.dtype) -> bool:
    """Numbers a model can take: bool, integers, floats, complex."""
    return dtype.kind in "biufc" and dtype.fields is None and not dtype.hasobject


def is_text(dtype: np.dtype, shape: tuple[int | None, ...]) -> bool:
    """Fixed-width strings (numpy ``U``/``S``) of one value per sample, ``(N,)`` or ``(N, 1)``:
    read as categories (class labels). Object arrays are not text: reading them unpickles."""
    return dtype.kind in "US" and dtype.fields is None and text_shape(shape)


def text_shape(shape: tuple[int | None, ...]) -> bool:
    """One value per sample: ``(N,)`` or ``(N, 1)``."""
    return len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)


class TypesChanged(Exception):
    """A table opened with its types taken from its first block (a CSV opened ``one_pass``)
    holds a value past it that does not convert, so the arrays made from those types are wrong
    (or a row longer than the block its scan reads). ``check`` starts again with the file's
    types settled first; it never reaches a user."""


@dataclass
class ArrayHandle:
    """One array inside a source, read lazily.

    ``shape`` is the full shape; for ragged sequences the time axis is ``None``:
    ``(N, None)`` or ``(N, None, F)``. ``skip`` is set when the array exists but dsdoctor cannot
    check it (text, compound records, an object array); it says why.
    """

    name: str
    source: str
    path: Path  # or the Location of a URL (:mod:`dsdoctor.locations`), which answers alike
    format: str
    shape: tuple[int | None, ...]
    dtype: np.dtype
    ragged: bool = False
    layout: dict[str, Any] = field(default_factory=dict)
    disk_bytes: int | None = None
    skip: str | None = None
    unsafe: str | None = None
    pickled: bool = False  # an object array: reading it means unpickling
    #: Text values, one per sample (class labels): chunks are numpy ``U``/``S`` arrays, or object
    #: arrays of ``str``/``bytes`` with ``None`` for a missing value (never unpickled data).
    categorical: bool = False
    #: The names of the classes the file declares for these labels (a Hugging Face
    #: ``ClassLabel``): label ``i`` is ``class_names[i]``; None where the file says nothing.
    class_names: tuple[str, ...] | None = None
    #: The coordinates of an axis, not samples (a netCDF coordinate variable, an HDF5 dimension
    #: scale): listed with ``skip`` saying so, never checked nor counted as a dataset's samples.
    coordinate: bool = False
    #: The shape is the whole truth about a zero-size array (a .npy header, an HDF5 dataspace):
    #: its rows are known without reading. False where rows must be read to be counted (tables).
    shape_is_data = True

    # -- derived facts ---------------------------------------------------------------------
    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def n(self) -> int | None:
        """Number of samples (sequences), or None for a 0-d array."""
        return self.shape[0] if self.shape else None

    @property
    def dense_shape(self) -> tuple[int, ...]:
        """``shape`` with every axis known, as a dense array has it (a ragged one has none)."""
        dims = tuple(d for d in self.shape if d is not None)
        if len(dims) != len(self.shape):
            raise TypeError(f"{self.source} is ragged: its shape {self.shape} has no dense form")
        return dims

    @property
    def inner_shape(self) -> tuple[int, ...]:
        """Shape of one timestep of a ragged array, of one sample of a dense one."""
        return tuple(self.shape[2:] if self.ragged else self.shape[1:])  # type: ignore[arg-type]

    @property
    def memory_bytes(self) -> int | None:
        """Bytes the dense array takes in memory (None for ragged: see the length statistics)."""
        if self.ragged or any(d is None for d in self.shape):
            return None
        return math.prod(self.dense_shape) * self.dtype.itemsize

    def expected_bytes(self) -> int | None:
        """About how many bytes a scan reads, for a progress bar: :attr:`memory_bytes` where
        the shape says it, else the bytes on disk (a table whose rows are counted as they are
        read estimates them)."""
        return self.memory_bytes or self.disk_bytes

    @property
    def row_bytes(self) -> int:
        """Bytes of one sample (dense) or of one timestep (ragged)."""
        return max(1, math.prod(self.inner_shape) * max(1, self.dtype.itemsize))

    @property
    def provenance(self) -> dict[str, Any] | None:
        """The record dsdoctor stored in this array's file when it wrote it (``operation``,
        ``options``, ``source``, ``version``) with the array's ``role`` in that output
        (``data``, ``mask``, ``lengths``, …); None for an array dsdoctor did not write. Read
        lazily and once, cheaply, never unpickling (:mod:`dsdoctor.sources.provenance`)."""
        if "_provenance" not in self.__dict__:
            try:
                self.__dict__["_provenance"] = self._read_provenance()
            except (OSError, ValueError, KeyError, RuntimeError, TypeError):  # unreadable: none
                self.__dict__["_provenance"] = None
        return self.__dict__["_provenance"]

    def _read_provenance(self) -> dict[str, Any] | None:
        """Each format's reader of :attr:`provenance` (none by default)."""
        return None

    @property
    def not_data(self) -> str | None:
        """``"mask"`` or ``"lengths"`` when this array is a mask or lengths dsdoctor wrote beside
        padded data (its provenance says so), else None: value checks do not read it as data."""
        record = self.provenance
        role = record.get("role") if record else None
        return role if role in NOT_DATA else None

    def describe(self) -> dict[str, Any]:
        """The JSON description of the array (a public interface: add fields, never rename)."""
        return {
            "source": self.source,
            "format": self.format,
            "shape": list(self.shape),
            "dtype": str(self.dtype),
            "ragged": self.ragged,
            "bytes_in_memory": self.memory_bytes,
            "bytes_on_disk": self.disk_bytes,
            "layout": self.layout,
            **({"skipped": self.skip} if self.skip else {}),
            **({"categorical": True} if self.categorical else {}),
            **({"class_names": list(self.class_names)} if self.class_names is not None else {}),
            **({"coordinate": True} if self.coordinate else {}),
        }

    # -- data ------------------------------------------------------------------------------
    def rows_per_chunk(self, chunk_bytes: int) -> int:
        return max(1, chunk_bytes // self.row_bytes)

    def rows_per_read(self, chunk_bytes: int) -> int:
        """Rows per read of contiguous data: a chunk, or ``READ_BYTES`` if that is less."""
        return self.rows_per_chunk(min(chunk_bytes, READ_BYTES))

    def chunks(self, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Iterator[Chunk]:
        """Yield the data in order as chunks of whole samples, each about ``chunk_bytes``.

        A yielded buffer may be reused for the next chunk: copy what you keep.
        """
        from ..interrupts import check

        self.require_readable()
        if self.shape_is_data and not self.ragged and self.shape and 0 in self.shape[1:]:
            # (N, 0, …) holds no elements whatever N is: one chunk of N empty rows, never a
            # loop over N (a 128-byte .npy may declare N = 10**18)
            yield np.empty(self.dense_shape, dtype=self.dtype)
            return
        for chunk in self._chunks(chunk_bytes):
            check()  # a SIGINT/SIGTERM ends every scan and every write between two chunks
            yield chunk
        check()

    def _chunks(self, chunk_bytes: int) -> Iterator[Chunk]:  # pragma: no cover - abstract
        raise NotImplementedError

    def runs(self, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Iterator[Chunk | FillRows]:
        """The data in order, as :meth:`chunks` gives it, except that a format may give rows it
        never stored as one :class:`FillRows` (for reductions that fold them in at once)."""
        yield from self.chunks(chunk_bytes)

    def read(self) -> Chunk:
        """The whole array in memory."""
        if self.ragged:
            return concat_ragged(
                [chunk_of(Ragged, c) for c in self.chunks()], self.dtype, self.inner_shape
            )
        return self.read_dense()

    def read_dense(self) -> np.ndarray:
        """The whole of a dense array in memory (a ragged handle raises ``TypeError``)."""
        parts = [chunk_of(np.ndarray, c).copy() for c in self.chunks()]
        if not parts:
            return np.empty(self.dense_shape, dtype=self.dtype)
        return np.concatenate(parts, axis=0) if len(parts) > 1 else parts[0]

    def require_readable(self) -> None:
        if self.unsafe:
            from ..errors import UnsafeInputError

            raise UnsafeInputError(self.unsafe)
        if self.skip:
            raise SourceError(f"{self.source}: {self.skip}")


def chunk_of(kind: type[_T], chunk: object) -> _T:
    """``chunk``, known to be a ``kind``: a handle yields one kind of chunk, as ``ragged`` says."""
    if not isinstance(chunk, kind):
        raise TypeError(f"expected a {kind.__name__} chunk, got {type(chunk).__name__}")
    return chunk


class BandedHandle(ArrayHandle):
    """A handle on an array stored in bands of rows along axis 0 (HDF5 chunks, Zarr chunks or
    shards), some of which may never have been stored: a subclass says how many rows a band
    holds (:attr:`band`, 0 when the array is not banded) and yields the rows in order from
    ``_parts`` — bands read, unstored runs as :class:`FillRows`. Reads take whole bands, so
    each band is decoded once."""

    @property
    def band(self) -> int:
        raise NotImplementedError

    def _parts(self, chunk_bytes: int) -> Iterator[Chunk | FillRows]:
        raise NotImplementedError

    def _rows(self, chunk_bytes: int) -> int:
        """Rows per read: whole bands, as many as the read size takes (at least one, if it fits
        the chunk size), else the chunk size's rows."""
        rows = self.rows_per_read(chunk_bytes)
        band = self.band
        if band and rows < band <= self.rows_per_chunk(chunk_bytes):
            rows = band
        elif band and rows > band:
            rows -= rows % band
        return rows

    def runs(self, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Iterator[Chunk | FillRows]:
        self.require_readable()
        yield from self._parts(chunk_bytes)

    def _chunks(self, chunk_bytes: int) -> Iterator[Chunk]:
        rows = self.rows_per_chunk(chunk_bytes)
        for part in self._parts(chunk_bytes):
            if isinstance(part, FillRows):
                yield from part.chunks(rows)
            else:
                yield part


def concat_ragged(parts: list[Ragged], dtype: np.dtype, inner: tuple[int, ...]) -> Ragged:
    """Join ragged chunks into one :class:`Ragged` (offsets rebased)."""
    if not parts:
        return Ragged(np.empty((0, *inner), dtype=dtype), np.zeros(1, dtype=np.int64))
    values = np.concatenate([p.window() for p in parts], axis=0)
    lengths = np.concatenate([p.lengths for p in parts])
    return Ragged.from_lengths(values, lengths)


@dataclass
class Entry:
    """A node of a container's tree for ``inspect``: a group, a link, or an array."""

    path: str
    kind: str  # "group" | "array" | "link" | "error"
    array: ArrayHandle | None = None
    note: str = ""
    #: a table column's user-facing kind (numeric, categorical, datetime, …; sources/table.py)
    column_kind: str | None = None


class Source:
    """An opened file (or directory) holding one or more arrays."""

    format = "?"

    def __init__(self, path: Path, display: str):
        self.path = path
        self.display = display

    def entries(self) -> list[Entry]:
        """Everything inside, for ``inspect`` (arrays, groups, links, unreadable members)."""
        return [Entry(a.name, "array", a) for a in self.arrays()]

    def arrays(self) -> list[ArrayHandle]:  # pragma: no cover - abstract
        raise NotImplementedError

    def array(self, selector: str | None) -> ArrayHandle:
        """One array: the selected one, or the only one when there is no selector."""
        arrays = self.arrays()
        if selector is None:
            usable = [a for a in arrays if not a.skip]
            if len(arrays) == 1:
                return arrays[0]
            if len(usable) == 1:
                return usable[0]
            if not arrays:
                raise SourceError(f"{self.display} holds no arrays")
            names = ", ".join(a.name for a in arrays[:20]) + (" …" if len(arrays) > 20 else "")
            raise SourceError(
                f"{self.display} holds {len(arrays)} arrays ({names}); "
                f"choose one as {self.display}:NAME"
            )
        return self.select(selector)

    def narrow(self, selector: str | None) -> tuple[Source, str | None]:
        """The part of this source a selector names first, and the rest of the selector: a
        Hugging Face ``DatasetDict`` gives its split for ``train`` or ``train:COL``, which is then
        read as a source of its own (all its columns, ``--target``); every other source is
        itself, the whole selector left."""
        return self, selector

    def select(self, selector: str) -> ArrayHandle:
        for a in self.arrays():
            if a.name == selector:
                return a
        names = ", ".join(a.name for a in self.arrays()[:20])
        raise SourceError(f"{self.display} has no array {selector!r}; it has: {names or 'nothing'}")

    def reading(self) -> str:
        """How the file was read where that was decided, not given (a CSV's dialect), in one
        line for ``inspect``; empty for a format that says it all itself."""
        return ""

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
