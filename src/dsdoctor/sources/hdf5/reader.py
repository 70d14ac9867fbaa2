"""HDF5 files through h5py: datasets are read by row blocks aligned to their chunks; variable-
length datasets are ragged sequences.

Nothing outside the named file is read unless ``--follow-external`` is given:

- a selected path is resolved one link at a time by :meth:`H5Source.resolve` before anything is
  opened: soft links (chains, loops, dangling ones, soft-linked groups on the path) are followed
  inside the file, an external link anywhere on the way is refused, a user-defined link is not
  followed; the dataset is then opened by a path of hard links only, which HDF5 cannot turn into
  another file;
- the walk for ``inspect`` descends hard links only and lists every other link;
- a dataset stored in other files (a virtual dataset, external raw storage) is described but
  refused when read.

A dataset reachable by several hard links can be selected by any of its names; ``inspect`` lists
it under the first name the walk meets and the others as hard links to it.

What a file declares is not what it stores, and reading is bounded by what it stores:

- rows never written (no storage allocated, or chunks missing from the chunk index) are not
  read: :meth:`H5Dataset.runs` gives them as :class:`~.base.FillRows` of the fill value, which a
  scan folds in at once (``unwritten-data`` reports them);
- a compressed chunk is decompressed whole whatever part of it is read, so rows are read a band
  of chunks at a time, and a band larger than ``--chunk-size`` is refused rather than inflated
  once per read; a sample larger than every read may take is refused before allocating."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ...arrays import Ragged
from ...errors import SourceError, UnsafeInputError
from ...locations import Location, open_binary
from ...units import format_bytes
from ..base import (
    DEFAULT_CHUNK_BYTES,
    ArrayHandle,
    BandedHandle,
    Chunk,
    Entry,
    FillRows,
    Source,
    is_numeric,
    is_sparse,
    is_text,
    mark_coordinate,
    selected,
    sparse_rows,
    text_shape,
)
from ..cf import ATTRIBUTES as CF_ATTRIBUTES
from ..cf import unpack
from ..npz import BOMB_MIN_BYTES, BOMB_RATIO
from ..provenance import hdf5_record
from .guarded import call_with_deadline
from .limits import READ_BUDGET, address_space_budget
from .pandas_store import FRAME_TYPES, FrameSource, pandas_type

MAX_DEPTH = 64
MAX_OBJECTS = 100_000
#: Soft links followed while resolving one path, at most: HDF5's own limit (``H5L_NUM_LINKS``),
#: so a path dsdoctor resolves is one HDF5 itself would resolve.
MAX_LINK_HOPS = 16
#: Rows of a variable-length dataset read per chunk before the average length is known.
VLEN_FIRST_ROWS = 1024
#: Compressed chunks whose stored bytes repeat (a preallocated dataset of zeros, say) are
#: decompressed once: a chunk is compared by its stored bytes when it is at most DEDUPE_MAX_STORED
#: bytes, expands at least DEDUPE_RATIO times and holds at least DEDUPE_MIN_BYTES of data.
DEDUPE_MAX_STORED = 64 * 1024
DEDUPE_RATIO = 16
DEDUPE_MIN_BYTES = 256 * 1024
#: Well-known registered HDF5 filters, for a useful message when one is missing.
FILTER_NAMES = {
    1: "deflate (gzip)", 2: "shuffle", 3: "fletcher32", 4: "szip", 5: "nbit", 6: "scaleoffset",
    305: "LZO", 307: "bzip2", 32000: "LZF", 32001: "Blosc", 32004: "LZ4", 32008: "bitshuffle",
    32013: "zfp", 32015: "Zstandard", 32017: "SZ", 32026: "Blosc2",
}  # fmt: skip


def _h5_error(display: str, exc: BaseException) -> SourceError:
    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return SourceError(f"{display} cannot be read as HDF5 ({msg})")


#: A run of rows whose storage is allocated but lies in a hole of a sparse file: zeros.
HOLE = "hole"


class H5Dataset(BandedHandle):
    """One HDF5 dataset (dense or variable-length)."""

    file: h5py.File
    vlen_base: np.dtype | None = None
    #: For an HDF5 array type (each element a fixed block): the dataspace shape; the block's
    #: axes follow it in ``shape``. None for every other dataset.
    space_shape: tuple[int, ...] | None = None
    #: An HDF5 bitfield: read as stored (HDF5 converts no bitfield to an integer) into unsigned
    #: integers of its size and byte order.
    bitfield: bool = False
    #: Variable-length strings, one per sample: read as object arrays of ``bytes``.
    vlen_text: bool = False

    #: The path dsdoctor opens: hard links only (see :meth:`H5Source.resolve`), or the name
    #: itself when ``--follow-external`` lets HDF5 follow every link.
    h5path: str = ""

    @property
    def dset(self) -> h5py.Dataset:
        return self.file[self.h5path or self.name]

    def _read_provenance(self) -> dict[str, Any] | None:
        return hdf5_record(self.file, self.h5path or self.name)

    @property
    def band(self) -> int:
        """Rows of one HDF5 chunk along axis 0 (0: a contiguous dataset)."""
        chunks = self.layout.get("chunks")
        return int(chunks[0]) if chunks else 0

    def _parts(self, chunk_bytes: int) -> Iterator[Chunk | FillRows]:
        """The rows in order: stored ones read (see :meth:`_segments`), the others as
        :class:`FillRows` of the fill value."""
        try:
            if not self.shape:
                yield np.asarray(self.dset[()], dtype=self.dtype)
                return
            self._check_row_size(chunk_bytes)
            segments = self._segments()
            if any(stored is True for _, _, stored in segments):
                self._check_chunk_size(chunk_bytes)
            fill = None
            for lo, hi, stored in segments:
                if stored == HOLE:  # allocated, but a hole of a sparse file: zeros
                    zero = np.zeros((1, *self.dense_shape[1:]), dtype=self.dtype)
                    yield FillRows(zero, hi - lo, unwritten=False)
                elif not stored:
                    fill = self._fill_row() if fill is None else fill
                    yield FillRows(fill, hi - lo)
                elif self.ragged:
                    yield from self._vlen_chunks(chunk_bytes, lo, hi)
                elif self.vlen_text:
                    yield from self._text_chunks(chunk_bytes, lo, hi)
                elif self.space_shape is not None:
                    yield from self._array_type_chunks(chunk_bytes, lo, hi)
                else:
                    yield from self._dense_chunks(chunk_bytes, lo, hi)
        except (OSError, RuntimeError, ValueError, TypeError, KeyError, MemoryError) as exc:
            missing = self.missing_filters()
            if missing:
                raise SourceError(
                    f"{self.source} is compressed with {' and '.join(missing)}, which this HDF5 "
                    "installation cannot decode; install the filter plugin (many are in "
                    "`pip install hdf5plugin`; LZO comes with PyTables) or re-save the data "
                    "with gzip"
                ) from None
            raise SourceError(
                f"{self.source} cannot be read ({str(exc).splitlines()[0]})"
            ) from None

    # -- what is stored ----------------------------------------------------------------------
    def _segments(self) -> list[tuple[int, int, bool | str]]:
        """``(first row, end row, stored)`` runs covering the rows. HDF5 allocates storage when
        data is written: a dataset whose storage size is 0 was never written, and in a chunked
        one a band of ``chunks[0]`` rows without a stored chunk is all fill value. The chunk
        index is asked how many chunks it holds (``H5Dget_num_chunks``) and, only when some
        are missing, which (one callback per stored chunk): the cost follows what the file
        stores, not the shape it declares."""
        n, dset = self.shape[0], self.dset
        assert n is not None  # the first axis counts samples: only a ragged time axis is None
        if n == 0 or self.layout.get("external"):
            return [(0, n, True)]  # nothing to read, or other files (read only when followed)
        if self.disk_bytes == 0:
            return [(0, n, False)]
        chunks = self.layout.get("chunks")
        sparse = self._raw_on_disk() and is_sparse(self.path)
        if not chunks:
            return self._contiguous_holes(n) if sparse else [(0, n, True)]
        try:
            space = dset.id.get_space()
            stored = dset.id.get_num_chunks(space)
            total = 1
            for size, chunk in zip(dset.shape, chunks, strict=False):
                total *= -(-size // chunk)
            if stored >= total and not sparse:
                return [(0, n, True)]
            placed: list[tuple[int, int, int]] = []  # (first row, byte offset, bytes)

            def visit(info) -> None:  # returning anything else would stop the iteration
                placed.append((info.chunk_offset[0], info.byte_offset, info.size))

            dset.id.chunk_iter(visit)
            starts = [lo for lo, _, _ in placed]
        except (AttributeError, OSError, RuntimeError, ValueError):  # HDF5 < 1.14: no chunk_iter
            return [(0, n, True)]
        band = chunks[0]
        if sparse and tuple(chunks[1:]) == tuple(self.shape[1:]):
            parts = self._chunk_holes(placed, band, n)  # a chunk is rows in order: as contiguous
        else:
            holes = self._hole_bands(placed, total // -(-n // band)) if sparse else set()
            parts = [(lo, min(n, lo + band), HOLE if lo in holes else True)
                     for lo in np.unique(np.asarray(starts, dtype=np.int64)).tolist()]  # fmt: skip
        out: list[tuple[int, int, bool | str]] = []
        end = 0
        for lo, hi, kind in sorted(parts):
            if lo > end:
                out.append((end, lo, False))
            if out and out[-1][2] == kind and out[-1][1] == lo:
                out[-1] = (out[-1][0], hi, kind)
            else:
                out.append((lo, hi, kind))
            end = hi
        if end < n:
            out.append((end, n, False))
        return out

    def _chunk_holes(
        self, placed: list[tuple[int, int, int]], band: int, n: int
    ) -> list[tuple[int, int, bool | str]]:
        """The rows of full-width chunks, each chunk's runs lying in holes marked :data:`HOLE`."""
        row = self.dset.id.get_type().get_size() * int(
            np.prod(self.dense_shape[1:], dtype=np.int64)
        )
        least = self.rows_per_read(DEFAULT_CHUNK_BYTES)
        out: list[tuple[int, int, bool | str]] = []
        for lo, at, _ in sorted(placed):
            rows = min(band, n - lo)
            out.extend((lo + a, lo + b, True if stored else HOLE)
                       for a, b, stored in sparse_rows(self.path, at, rows, row, least))  # fmt: skip
        return out

    def _raw_on_disk(self) -> bool:
        """Whether stored rows are the dataset's bytes as they are (no filter, fixed size): then
        a hole of a sparse file under them reads as zeros."""
        try:
            plain = self.dset.id.get_create_plist().get_nfilters() == 0
        except (AttributeError, OSError, RuntimeError, ValueError):  # pragma: no cover
            return False
        return plain and not self.ragged and self.space_shape is None and self.dtype.kind in "biuf"

    def _contiguous_holes(self, n: int) -> list[tuple[int, int, bool | str]]:
        """A contiguous dataset's rows, with runs lying in holes of the file marked :data:`HOLE`
        (a 16 TiB dataset allocated early but never written holds no block on disk)."""
        offset = self.dset.id.get_offset()
        if offset is None:
            return [(0, n, True)]
        row = self.dset.id.get_type().get_size() * int(
            np.prod(self.dense_shape[1:], dtype=np.int64)
        )
        runs = sparse_rows(self.path, offset, n, row, self.rows_per_read(DEFAULT_CHUNK_BYTES))
        return [(lo, hi, True if stored else HOLE) for lo, hi, stored in runs]

    def _hole_bands(self, placed: list[tuple[int, int, int]], per_band: int) -> set[int]:
        """First rows of the bands of ``chunks[0]`` rows whose chunks are all stored and all lie
        in holes of the file (one ``SEEK_DATA`` per stored chunk)."""
        seek_data = getattr(os, "SEEK_DATA", None)
        if seek_data is None:
            return set()
        counts: dict[int, int] = {}
        with open(self.path, "rb") as fp:
            for lo, at, size in placed:
                try:
                    hole = size > 0 and os.lseek(fp.fileno(), at, seek_data) >= at + size
                except OSError as exc:  # ENXIO: only holes from ``at`` to the end of the file
                    hole = exc.errno == errno.ENXIO
                except Exception:  # pragma: no cover - a file system without SEEK_DATA
                    return set()
                if hole:
                    counts[lo] = counts.get(lo, 0) + 1
        return {lo for lo, c in counts.items() if c == per_band}

    def _fill_row(self) -> Chunk:
        """One row of the fill value (an empty sequence for a variable-length dataset)."""
        if self.ragged:
            values = np.empty((0, *self.inner_shape), dtype=self.dtype)
            return Ragged.from_lengths(values, np.zeros(1, dtype=np.int64))
        row = np.zeros((1, *self.inner_shape), dtype=self.dtype)
        try:
            fill = self.dset.fillvalue
            if self.bitfield:
                fill = np.asarray(fill).view(self.dtype)
            row[...] = fill
        except (OSError, RuntimeError, ValueError, TypeError):  # pragma: no cover - HDF5 default
            pass
        return row

    def _check_row_size(self, chunk_bytes: int) -> None:
        """Rows are read whole: one larger than both the chunk size and the address space a read
        may take (:data:`~.limits.READ_BUDGET`) cannot be, whatever the file stores (a
        never-written (2, 10¹²) dataset is 1.4 KB)."""
        one = self.row_bytes  # a ragged dataset's timestep: its rows are checked as read
        if self.shape[0] and one > max(chunk_bytes, READ_BUDGET):  # no rows: none is read
            raise SourceError(
                f"{self.source} has samples of {format_bytes(one)} each (shape "
                f"{_shape_text(self.shape)} {self.dtype}), more than --chunk-size "
                f"{format_bytes(chunk_bytes)}: dsdoctor reads whole samples; pass --chunk-size "
                f"{_size_option(one)} where that much memory is available"
            )

    def _check_chunk_size(self, chunk_bytes: int) -> None:
        """A compressed chunk is decompressed whole for any part of it that is read, so rows are
        read a whole band of chunks (``chunks[0]`` rows) at a time; a band larger than the
        chunk size would be decompressed again for every read (a 2 GiB chunk read 1 MiB at a
        time: 2048 times). Such a dataset is refused with the chunk size that reads it, and a
        chunk expanding more than ``BOMB_RATIO`` times to more than ``BOMB_MIN_BYTES`` is
        refused as a decompression bomb, as an npz member is."""
        chunks, dset = self.layout.get("chunks"), self.dset
        if not chunks or not dset.id.get_create_plist().get_nfilters():
            return
        itemsize = dset.dtype.itemsize
        chunk = itemsize * int(np.prod(chunks, dtype=object))
        band = itemsize * chunks[0] * int(np.prod(dset.shape[1:], dtype=object))
        if band > chunk_bytes:
            what = (f"chunks of {format_bytes(chunk)} uncompressed" if band == chunk else
                    f"chunks whose bands of {chunks[0]:,} rows take {format_bytes(band)}")  # fmt: skip
            raise SourceError(
                f"{self.source} is stored in compressed HDF5 {what} (chunk shape "
                f"{tuple(chunks)}), more than --chunk-size {format_bytes(chunk_bytes)}: reading "
                f"it needs --chunk-size {_size_option(band)} or more, or a copy re-chunked "
                f"smaller (h5repack -l {self.name}:CHUNK={'x'.join(map(str, _smaller(chunks)))})"
            )
        if chunk > BOMB_MIN_BYTES:
            sizes: list[int] = []
            try:
                dset.id.chunk_iter(lambda info: sizes.append(info.size))
            except (AttributeError, OSError, RuntimeError, ValueError):
                return
            smallest = min(sizes, default=chunk)
            if chunk > BOMB_RATIO * max(1, smallest):
                raise UnsafeInputError(
                    f"{self.source} has a compressed chunk expanding from {smallest:,} to "
                    f"{chunk:,} bytes (×{chunk // max(1, smallest):,}); refusing it as a "
                    "decompression bomb"
                )

    def missing_filters(self) -> list[str]:
        """The filters of the dataset's pipeline that HDF5 cannot load, named."""
        try:
            dcpl = self.dset.id.get_create_plist()
            out = []
            for i in range(dcpl.get_nfilters()):
                code, _flags, _values, name = dcpl.get_filter(i)
                if not h5py.h5z.filter_avail(code):
                    label = FILTER_NAMES.get(code) or name.decode(errors="replace") or "a filter"
                    out.append(f"the {label} filter (HDF5 filter id {code})")
            return out
        except (OSError, RuntimeError, ValueError, KeyError):
            return []

    def _dense_chunks(self, chunk_bytes: int, lo: int, n: int) -> Iterator[np.ndarray]:
        dset = self.dset
        rows = self._rows(chunk_bytes)
        buf = np.empty((min(rows, n - lo), *self.inner_shape), dtype=self.dtype)
        dedupe = None if self.bitfield else _ChunkDedupe.for_dataset(dset, self.dtype, chunk_bytes)
        for start in range(lo, n, rows):
            count = min(rows, n - start)
            view = buf[:count]
            if self.bitfield and count:
                _read_as_stored(dset, view, start)
            elif dedupe is not None:
                dedupe.read(view, start)
            elif count:
                dset.read_direct(view, np.s_[start : start + count], np.s_[0:count])
            yield view

    def _array_type_chunks(self, chunk_bytes: int, lo: int, n: int) -> Iterator[np.ndarray]:
        """An HDF5 array type: h5py reads it with the block's axes appended (no ``read_direct``:
        HDF5 has no conversion from an array type to its base type)."""
        dset, rows = self.dset, self._rows(chunk_bytes)
        if not self.space_shape:  # a scalar dataspace holding one block: its first axis is N
            total = self.shape[0]
            assert total is not None  # a dense dataset: every axis is known
            block = np.asarray(dset[()], dtype=self.dtype).reshape((total, *self.inner_shape))
            for start in range(lo, n, rows):
                yield block[start : start + rows]
            return
        for start in range(lo, n, rows):
            block = np.asarray(dset[start : min(n, start + rows)], dtype=self.dtype)
            yield block.reshape((len(block), *self.inner_shape))

    def _vlen_chunks(self, chunk_bytes: int, start: int, n: int) -> Iterator[Ragged]:
        """Variable-length rows in blocks. Each block is read in a child process with a deadline
        (a damaged global heap can make HDF5 loop forever) and under an address-space budget (a
        damaged length makes HDF5 allocate its declared size)."""
        rows = VLEN_FIRST_ROWS
        while start < n:
            rows = min(rows, n - start)
            values, lengths = call_with_deadline(
                partial(self._vlen_block, start, rows), self.source
            )
            total = len(values)
            yield Ragged.from_lengths(values, lengths)
            start += len(lengths)
            mean = max(1.0, total / max(1, len(lengths)))
            rows = max(1, int(chunk_bytes // (mean * self.row_bytes)))

    def _text_chunks(self, chunk_bytes: int, start: int, n: int) -> Iterator[np.ndarray]:
        """Variable-length strings as object arrays of ``bytes``, read like :meth:`_vlen_chunks`
        (in a child with a deadline): the bytes and lengths come back, and pyarrow rebuilds the
        strings without a Python loop."""
        import pyarrow as pa

        rows = VLEN_FIRST_ROWS
        while start < n:
            rows = min(rows, n - start)
            values, lengths = call_with_deadline(
                partial(self._text_block, start, rows), self.source
            )
            offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
            np.cumsum(lengths, out=offsets[1:])
            texts = pa.LargeBinaryArray.from_buffers(
                pa.large_binary(), len(lengths), [None, pa.py_buffer(offsets), pa.py_buffer(values)]
            )
            yield texts.to_numpy(zero_copy_only=False).reshape(len(lengths), *self.shape[1:])
            start += len(lengths)
            mean = 64 + len(values) / max(1, len(lengths))  # bytes of a row as a Python object
            rows = max(1, int(chunk_bytes // mean))

    def _text_block(self, start: int, rows: int) -> list[np.ndarray]:
        with address_space_budget():
            block = self.dset[start : start + rows].reshape(-1)
        lengths = np.fromiter(map(len, block), dtype=np.int64, count=len(block))
        return [np.frombuffer(b"".join(block), dtype=np.uint8), lengths]  # h5py gives bytes

    def _vlen_block(self, start: int, rows: int) -> list[np.ndarray]:
        with address_space_budget():
            block = self.dset[start : start + rows]
        lengths = np.fromiter(map(len, block), dtype=np.int64, count=len(block))
        total = int(lengths.sum())
        values = (np.concatenate(block.tolist()).astype(self.dtype, copy=False) if total
                  else np.empty((0, *self.inner_shape), dtype=self.dtype))  # fmt: skip
        return [values.reshape((total, *self.inner_shape)), lengths]


class _ChunkDedupe:
    """Reads a filtered dataset chunked along the first axis only, decompressing each distinct
    small stored chunk once (a 2 MB file can hold 2 GiB of compressed zeros)."""

    def __init__(self, dset: h5py.Dataset, chunk_rows: int, budget: int):
        self.dset, self.rows, self.n = dset, chunk_rows, dset.shape[0]
        self.budget = budget  # bytes of decoded chunks kept
        self.cache: dict[tuple[int, bytes], np.ndarray] = {}

    @classmethod
    def for_dataset(cls, dset: h5py.Dataset, dtype: np.dtype, chunk_bytes: int):
        chunks, shape = dset.chunks, dset.shape
        if not chunks or len(shape) < 1 or tuple(chunks[1:]) != tuple(shape[1:]):
            return None
        if chunks[0] * int(np.prod(chunks[1:], dtype=np.int64)) * dtype.itemsize < DEDUPE_MIN_BYTES:
            return None
        if dtype != dset.dtype:
            return None
        try:
            if dset.id.get_create_plist().get_nfilters() == 0:
                return None
            dset.id.get_chunk_info_by_coord((0,) * len(shape))
        except (AttributeError, OSError, RuntimeError, ValueError):  # old HDF5: no chunk queries
            return None
        return cls(dset, chunks[0], max(chunk_bytes, DEDUPE_MIN_BYTES))

    def read(self, view: np.ndarray, start: int) -> None:
        """Fill ``view`` with rows ``start:start + len(view)``."""
        end, pending = start + len(view), None  # pending: first row of a run read normally
        first = start - start % self.rows
        for c in range(first, end, self.rows):
            lo, hi = max(c, start), min(c + self.rows, end)
            decoded = self._decoded(c)
            if decoded is None:
                pending = lo if pending is None else pending
                continue
            if pending is not None:
                self._plain(view, start, pending, lo)
                pending = None
            view[lo - start : hi - start] = decoded[lo - c : hi - c]
        if pending is not None:
            self._plain(view, start, pending, end)

    def _plain(self, view: np.ndarray, start: int, lo: int, hi: int) -> None:
        self.dset.read_direct(view, np.s_[lo:hi], np.s_[lo - start : hi - start])

    def _decoded(self, c: int) -> np.ndarray | None:
        """The decoded chunk at row ``c`` when it is a small stored chunk worth remembering."""
        coord = (c,) + (0,) * (len(self.dset.shape) - 1)
        info = self.dset.id.get_chunk_info_by_coord(coord)
        rows = min(self.rows, self.n - c)
        if info.byte_offset is None or info.size > DEDUPE_MAX_STORED:
            return None  # not stored (fill value: cheap) or large: read it the normal way
        nbytes = rows * int(np.prod(self.dset.shape[1:], dtype=np.int64)) * self.dset.dtype.itemsize
        if info.size * DEDUPE_RATIO > nbytes:
            return None
        mask, raw = self.dset.id.read_direct_chunk(coord)
        key = (int(mask), bytes(raw))
        hit = self.cache.get(key)
        if hit is not None and len(hit) >= rows:
            return hit
        if nbytes > self.budget:
            return None
        decoded = np.empty((rows, *self.dset.shape[1:]), dtype=self.dset.dtype)
        self.dset.read_direct(decoded, np.s_[c : c + rows], np.s_[0:rows])
        self.cache[key] = decoded
        self.budget -= nbytes
        return decoded


def _h5_file(path: Path | Location) -> h5py.File:
    """The file opened read-only: a local path by name (no lock), a URL's object through a file
    whose cache of blocks is bounded (:data:`dsdoctor.locations.HDF5_BLOCKS`)."""
    if isinstance(path, Location):
        return h5py.File(open_binary(path, cache="blockcache"), "r")
    return h5py.File(path, "r", locking=False)


class H5Source(Source):
    format = "hdf5"

    def __init__(self, path: Path, display: str, *, follow_external: bool = False,
                 target: str | None = None, allow_pickle: bool = False):  # fmt: skip
        super().__init__(path, display)
        self.follow_external, self.target, self.allow_pickle = follow_external, target, allow_pickle
        try:
            self.file = _h5_file(path)
        except (OSError, ValueError, RuntimeError) as exc:
            raise _h5_error(display, exc) from None
        self._entries: list[Entry] = []
        self._listed = False  # entries() walks the file once
        #: pandas frames (``to_hdf``) met by the walk: key → the frame, or the error reading it
        self._frames: dict[str, FrameSource | SourceError] = {}
        self._frame_entries: set[int] = set()  # ids of the entries that are a frame's columns
        self._target_frame: FrameSource | None = None
        #: pandas writes through PyTables, which marks the root group: only then are groups
        #: asked for ``pandas_type`` (one attribute lookup per group of other files saved)
        self._pytables = _has_attr(self.file, "PYTABLES_FORMAT_VERSION")

    def close(self) -> None:
        try:
            self.file.close()
        except Exception:  # pragma: no cover - closing a broken file
            pass

    # -- the tree ---------------------------------------------------------------------------
    def entries(self) -> list[Entry]:
        if not self._listed:
            self._listed = True
            try:
                self._walk(self.file, "", {_object_key(self.file): "/"}, 0)
            except (OSError, RuntimeError, ValueError, KeyError) as exc:
                raise _h5_error(self.display, exc) from None
        return self._entries

    def _walk(self, group: h5py.Group, prefix: str, seen: dict, depth: int) -> None:
        if depth > MAX_DEPTH:
            self._entries.append(
                Entry(
                    prefix or "/",
                    "error",
                    note=f"nested deeper than {MAX_DEPTH} groups; not listed",
                )
            )
            return
        for name in group:
            if len(self._entries) >= MAX_OBJECTS:
                self._entries.append(
                    Entry(
                        prefix + "/…",
                        "error",
                        note=f"more than {MAX_OBJECTS:,} objects; listing stopped",
                    )
                )
                return
            path = f"{prefix}/{name}"
            try:
                link = group.get(name, getlink=True)
            except TypeError:  # h5py knows hard, soft and external links only
                self._entries.append(Entry(path, "link", note="user-defined link (not followed)"))
                continue
            except (OSError, RuntimeError, KeyError) as exc:
                self._entries.append(Entry(path, "error", note=str(exc).splitlines()[0]))
                continue
            if isinstance(link, h5py.ExternalLink):
                self._entries.append(
                    Entry(
                        path,
                        "link",
                        note=f"external link → {link.filename}:{link.path} (not followed)",
                    )
                )
                continue
            if isinstance(link, h5py.SoftLink):
                self._entries.append(Entry(path, "link", note=f"soft link → {link.path}"))
                continue
            try:
                obj = group[name]
            except (OSError, RuntimeError, KeyError, ValueError) as exc:
                self._entries.append(Entry(path, "error", note=str(exc).splitlines()[0]))
                continue
            key = _object_key(obj)
            if key in seen:
                self._entries.append(
                    Entry(path, "link", note=f"hard link to {seen[key]} (listed there)")
                )
                continue
            seen[key] = path
            if isinstance(obj, h5py.Group) and self._pytables and pandas_type(obj) in FRAME_TYPES:
                self._frame_walk(path)
            elif isinstance(obj, h5py.Group):
                self._entries.append(Entry(path, "group"))
                self._walk(obj, path, seen, depth + 1)
            elif isinstance(obj, h5py.Dataset):
                try:
                    handle = _unpacked(self._dataset(obj, path), obj)
                    self._entries.append(Entry(path, "array", handle))
                except (OSError, RuntimeError, ValueError, TypeError) as exc:
                    self._entries.append(Entry(path, "error", note=str(exc).splitlines()[0]))
            else:
                self._entries.append(Entry(path, "other", note=type(obj).__name__))

    # -- pandas frames (to_hdf) ---------------------------------------------------------------
    def _frame_walk(self, key: str) -> None:
        """A frame's entry and its columns' (its datasets are the frame's storage, not arrays)."""
        frame = self._frame(key)
        if isinstance(frame, SourceError):
            self._entries.append(Entry(key, "error", note=str(frame)))
            return
        self._entries.append(Entry(key, "frame", note=frame.describe_frame()))
        for e in frame.entries():
            self._frame_entries.add(id(e))
            self._entries.append(e)

    def _frame(self, key: str, target: str | None = None) -> FrameSource | SourceError:
        """The frame at ``key`` (read once; with ``target``, a frame of its own)."""
        if target is None and key in self._frames:
            return self._frames[key]
        try:
            frame: FrameSource | SourceError = FrameSource(
                self.file,
                key,
                f"{self.display}:{key}",
                self.path,
                target=target,
                allow_pickle=self.allow_pickle,
            )
        except SourceError as exc:
            if target is not None:
                raise
            frame = exc
        if target is None:
            self._frames[key] = frame
        return frame

    def frames(self) -> dict[str, FrameSource | SourceError]:
        """Every pandas frame of the file, by key (walks the file once)."""
        self.entries()
        return self._frames

    def _frame_for(self, key: str | None) -> FrameSource:
        """The frame ``--target`` applies to: ``key``, or the file's only one."""
        if self._target_frame is not None and key in (None, self._target_frame.key):
            return self._target_frame
        if key is None:
            keys = list(self.frames())
            if not keys:
                raise SourceError(
                    f"--target names a table column, but {self.display} holds no pandas "
                    "DataFrame (to_hdf); its datasets are arrays: give the target as "
                    f"--y {self.display}:/NAME"
                )
            if len(keys) > 1:
                raise SourceError(
                    f"{self.display} holds {len(keys)} pandas DataFrames ({', '.join(keys)}); "
                    f"choose one for --target as {self.display}:{keys[0]}"
                )
            key = keys[0]
        frame = self._frame(key, self.target)
        assert isinstance(frame, FrameSource)  # with a target, errors are raised
        self._target_frame = frame
        return frame

    def target_array(self) -> ArrayHandle:
        return self._frame_for(None).target_array()

    def _frame_key(self, selector: str) -> tuple[str, str | None] | None:
        """``(key, columns)`` when ``selector`` names a frame (``/df``) or columns of one
        (``/df:a,b``); None for a dataset path."""
        if not self._pytables:
            return None
        tries: list[tuple[str, str | None]] = [(selector, None)]
        if ":" in selector:
            key, cols = selector.rsplit(":", 1)
            tries.append((key, cols))
        for key, columns in tries:
            path = key if key.startswith("/") else "/" + key
            try:
                hard = self.resolve(path)
            except SourceError:
                continue
            obj = self.file.get(hard or path)
            if isinstance(obj, h5py.Group) and pandas_type(obj) in FRAME_TYPES:
                return path, columns
        return None

    def array(self, selector: str | None) -> ArrayHandle:
        if selector is None and self.target is not None:
            return self._frame_for(None).array(None)
        if selector is None:
            frames = self.frames()
            loose = [a for a in self.arrays() if not isinstance(getattr(a, "table", None), FrameSource)
                     and not (a.pickled and "frame" in a.layout)]  # fmt: skip
            if len(frames) == 1 and not loose:
                frame = next(iter(frames.values()))
                if isinstance(frame, SourceError):
                    raise frame
                return frame.array(None)
        return super().array(selector)

    def _dataset(self, dset: h5py.Dataset, path: str) -> H5Dataset:
        display = f"{self.display}:{path}"
        dtype = dset.dtype
        base = h5py.check_vlen_dtype(dtype)
        shape = dset.shape
        layout: dict = {}
        if dset.chunks:
            layout["chunks"] = list(dset.chunks)
        if dset.compression:
            layout["compression"] = dset.compression
            if dset.compression == "unknown":  # a plugin filter: name it from the pipeline
                layout["compression"] = _filter_label(dset) or "unknown"
        handle = H5Dataset(name=path, source=display, path=self.path, format="hdf5",
                           shape=tuple(shape) if shape is not None else (), dtype=dtype)  # fmt: skip
        handle.file = self.file
        try:
            handle.disk_bytes = int(dset.id.get_storage_size())
        except (OSError, RuntimeError):  # pragma: no cover
            handle.disk_bytes = None
        if shape is None:
            handle.skip = "an empty (null) dataspace holds no data"
        elif base in (str, bytes) and text_shape(shape):
            handle.categorical, handle.vlen_text = True, True  # class labels as text
        elif base is not None:
            if base in (str, bytes) or not is_numeric(np.dtype(base)):
                handle.skip = "variable-length text, not numbers; dsdoctor checks numeric arrays"
            elif len(shape) != 1:
                handle.skip = f"a {len(shape)}-D variable-length dataset; dsdoctor reads 1-D ones as sequences"
            else:
                handle.ragged, handle.dtype, handle.vlen_base = True, np.dtype(base), np.dtype(base)
                handle.shape = (shape[0], None)
        elif dtype.kind == "S" and is_text(dtype, shape):
            handle.categorical = True  # fixed-length strings: class labels as text
        elif dtype.kind == "O" or h5py.check_string_dtype(dtype) is not None:
            handle.skip = "text or references, not numbers; dsdoctor checks numeric arrays"
        elif dtype.subdtype is not None:  # an array type: each element is a fixed block
            base, block = dtype.subdtype
            handle.shape, handle.space_shape = (*shape, *block), tuple(shape)
            if not is_numeric(base):
                handle.skip = (
                    f"an array type of {base}, not numbers; dsdoctor checks numeric arrays"
                )
            elif not handle.shape:
                handle.skip = "an empty array type holds no data"
            else:
                handle.dtype = base
        elif _is_bitfield(dset) and dtype.kind == "u":
            handle.bitfield = True
            order = ">" if dset.id.get_type().get_order() == h5py.h5t.ORDER_BE else "<"
            handle.dtype = np.dtype(f"{order}u{dtype.itemsize}")
            layout["type"] = "bitfield"
        elif not is_numeric(dtype):
            handle.skip = f"dtype {dtype} is not numeric (compound, opaque or enum of text); dsdoctor checks numeric arrays"
        _storage_facts(dset, handle, layout)
        _netcdf_facts(dset, handle, layout)
        external = self._external(dset)
        if external:
            layout["external"] = external
            if not self.follow_external:
                real = dset.name if dset.name and dset.name != path else None
                handle.unsafe = (
                    f"{display}{f' (a link to {real})' if real else ''} is stored in {external}; "
                    "dsdoctor does not read other files unless you pass --follow-external"
                )
        handle.layout = layout
        return handle

    @staticmethod
    def _external(dset: h5py.Dataset) -> str | None:
        if dset.is_virtual:
            files = sorted({m.file_name for m in dset.virtual_sources()})
            return "a virtual dataset mapping " + ", ".join(files)
        dcpl = dset.id.get_create_plist()
        if dcpl.get_external_count() > 0:
            names = [
                dcpl.get_external(i)[0].decode(errors="replace")
                for i in range(dcpl.get_external_count())
            ]
            return "external raw files " + ", ".join(names)
        return None

    def arrays(self) -> list[ArrayHandle]:
        """The datasets outside pandas frames, then each frame's arrays (a frame that cannot be
        read safely is one handle not read, so ``check`` names it)."""
        out = [e.array for e in self.entries()
               if e.array is not None and id(e) not in self._frame_entries]  # fmt: skip
        for key, frame in self._frames.items():
            if isinstance(frame, FrameSource):
                out += frame.arrays()
            elif isinstance(frame, UnsafeInputError):
                h = ArrayHandle(name=key, source=f"{self.display}:{key}", path=self.path,
                                format="hdf5", shape=(), dtype=np.dtype(object), pickled=True)  # fmt: skip
                h.unsafe, h.layout = str(frame), {"frame": key}
                out.append(h)
            else:
                raise frame
        return out

    def select(self, selector: str) -> ArrayHandle:
        framed = self._frame_key(selector)
        if framed is not None:
            key, cols = framed
            frame = self._frame_for(key) if self.target is not None else self._frame(key)
            if isinstance(frame, SourceError):
                raise frame
            return frame.select(cols) if cols else frame.array(None)
        if self.target is not None:
            raise SourceError(
                f"--target names a table column, but {self.display}:{selector} is not a pandas "
                "DataFrame (to_hdf); give the target as --y FILE:/NAME"
            )
        path = selector if selector.startswith("/") else "/" + selector
        hard = self.resolve(path)
        try:
            obj = self.file[hard or path]
        except (OSError, KeyError, RuntimeError, ValueError) as exc:
            raise _h5_error(f"{self.display}:{path}", exc) from None
        if isinstance(obj, h5py.Group):
            inside = ", ".join(_join(path, n) for n in list(obj)[:20])
            raise SourceError(
                f"{self.display}:{path} is a group, not a dataset; choose a dataset inside it"
                + (f" ({inside})" if inside else "")
            )
        if not isinstance(obj, h5py.Dataset):
            raise SourceError(f"{self.display}:{path} is a {type(obj).__name__}, not a dataset")
        try:
            handle = self._dataset(obj, path)
        except (OSError, RuntimeError, ValueError, TypeError) as exc:
            raise _h5_error(f"{self.display}:{path}", exc) from None
        handle.h5path = hard or path
        if handle.unsafe:  # a dataset named explicitly is refused, not reported as unread
            raise UnsafeInputError(handle.unsafe)
        return _unpacked(selected(handle), obj)  # a coordinate named on purpose is decoded too

    def resolve(self, path: str) -> str | None:
        """The path of hard links that ``path`` names, following soft links one at a time.

        Raises :class:`UnsafeInputError` for an external link on the way (unless
        ``follow_external``, when None is returned and HDF5 resolves ``path`` itself), and
        :class:`SourceError` for a missing name, a dangling soft link, a soft-link loop or a
        user-defined link. Only hard-linked groups are opened on the way."""
        todo = [p for p in path.split("/") if p and p != "."]
        hard: list[str] = []
        taken: list[str] = []  # the links followed, for messages
        where = f"{self.display}:{path}"
        while todo:
            name = todo.pop(0)
            here = "/" + "/".join(hard)
            try:
                group = self.file[here]
                if not isinstance(group, h5py.Group):
                    raise SourceError(f"{where}: {here} is a dataset, not a group")
                link = group.get(name, getlink=True)
            except TypeError:  # h5py knows hard, soft and external links only
                raise SourceError(
                    f"{where}: {_join(here, name)} is a user-defined link, which dsdoctor does "
                    "not follow"
                ) from None
            except (OSError, RuntimeError, KeyError, ValueError) as exc:
                raise _h5_error(where, exc) from None
            at = _join(here, name)
            via = f" (reached through {', '.join(taken)})" if taken else ""
            if link is None:
                if taken:
                    raise SourceError(f"{where} is a dangling link: {at} does not exist{via}")
                names = ", ".join(a.name for a in self.arrays()[:20])
                raise SourceError(
                    f"{self.display} has no dataset {path}; it has: {names or 'no datasets'}"
                )
            if isinstance(link, h5py.HardLink):
                hard.append(name)
            elif isinstance(link, h5py.SoftLink):
                taken.append(f"soft link {at} → {link.path}")
                if len(taken) > MAX_LINK_HOPS:
                    raise SourceError(
                        f"{where} follows more than {MAX_LINK_HOPS} soft links (a loop?): "
                        + ", ".join(taken[:4])
                        + ", …"
                    )
                if link.path.startswith("/"):
                    hard = []
                todo = [p for p in link.path.split("/") if p and p != "."] + todo
            elif isinstance(link, h5py.ExternalLink):
                if self.follow_external:
                    return None
                raise UnsafeInputError(
                    f"{where} leads to the external link {at} → {link.filename}:{link.path}{via}; "
                    "dsdoctor does not read other files unless you pass --follow-external"
                )
            else:  # pragma: no cover - h5py returns the three kinds above or raises TypeError
                raise SourceError(f"{where}: {at} is a link dsdoctor does not follow")
        return "/" + "/".join(hard)


def _storage_facts(dset: h5py.Dataset, handle: H5Dataset, layout: dict) -> None:
    """What ``inspect`` says of storage never written: ``storage=never written`` when nothing is
    stored, ``storage=K of N chunks written`` when a chunked dataset is partly written, and then
    the fill value the unwritten rows read as. Counting stored chunks asks HDF5's chunk index
    (``H5Dget_num_chunks``): its cost follows the chunks stored, not the shape declared."""
    elements = int(np.prod(dset.shape, dtype=object)) if dset.shape is not None else 0
    if not elements or dset.is_virtual or dset.id.get_create_plist().get_external_count():
        return
    if handle.disk_bytes == 0:
        layout["storage"] = "never written (every value is the fill value)"
    elif dset.chunks:
        total = 1
        for size, chunk in zip(dset.shape, dset.chunks, strict=False):
            total *= -(-size // chunk)
        try:
            stored = dset.id.get_num_chunks(dset.id.get_space())
        except (AttributeError, OSError, RuntimeError, ValueError):  # pragma: no cover - old HDF5
            return
        if stored >= total:
            return
        layout["storage"] = (
            f"{stored:,} of {total:,} chunks written (the others are the fill value)"
        )
    else:
        return
    if handle.skip or handle.ragged:
        return
    try:
        fill = np.asarray(dset.fillvalue)
    except (OSError, RuntimeError, ValueError, TypeError):  # pragma: no cover
        return
    if fill.size == 1 and fill.dtype.kind in "biuf":
        value = fill.reshape(()).item()
        layout["fill_value"] = value if value == value else "nan"


#: The ``NAME`` netCDF-4 gives the dimension scale of a dimension that has no variable.
NETCDF_DIMENSION_ONLY = b"This is a netCDF dimension but not a netCDF variable"
#: netCDF-4 stores a variable named like a dimension it is not the coordinate of under this prefix.
NETCDF_NON_COORD = "_nc4_non_coord_"


def _netcdf_facts(dset: h5py.Dataset, handle: H5Dataset, layout: dict) -> None:
    """Dimension names (HDF5 dimension scales: netCDF-4, xarray, ``h5py`` ``dims``) as
    ``layout["dims"]``, and a dimension scale itself — a netCDF coordinate variable, or the
    empty stand-in netCDF-4 writes for a dimension without one — marked as a coordinate, not
    samples. Damaged dimension lists are left out, never an error: they describe the data."""
    try:
        if h5py.h5ds.is_scale(dset.id) and len(dset.shape or ()) <= 1:  # `x(x, y)`: data
            name = _scale_name(dset)
            size = dset.shape[0] if dset.shape else 0
            if _attr(dset, "NAME").startswith(NETCDF_DIMENSION_ONLY):
                handle.coordinate = True
                handle.skip = (f"netCDF bookkeeping: dimension `{name}` (size {size:,}) has no "
                               "variable; no data, not analysed")  # fmt: skip
            else:
                handle.layout = layout  # the dict the caller assigns too, with coordinate_of
                mark_coordinate(handle, name)
        dims = []
        for dim in dset.dims:
            label = dim.label
            if not label and len(dim):
                label = _scale_name(dim[0])
            dims.append(label or "")
        if any(dims):
            layout["dims"] = dims
        elif handle.coordinate and len(dset.shape or ()) == 1:
            layout["dims"] = [name]  # a scale is the axis it names
    except (OSError, RuntimeError, ValueError, KeyError, TypeError, IndexError):
        return
    base = dset.name.rpartition("/")[2] if dset.name else ""
    if base.startswith(NETCDF_NON_COORD):
        layout["variable"] = base[len(NETCDF_NON_COORD) :]


def _unpacked(handle: ArrayHandle, dset: h5py.Dataset) -> ArrayHandle:
    """``handle`` decoded when the dataset carries CF packing attributes (netCDF-4, xarray's
    ``to_netcdf``): see :mod:`dsdoctor.sources.cf`. Attributes that cannot be read are none."""
    attrs = {}
    for key in CF_ATTRIBUTES:
        try:
            if key in dset.attrs:
                attrs[key] = dset.attrs[key]
        except (OSError, RuntimeError, ValueError, TypeError, KeyError):
            continue
    return unpack(handle, attrs) if attrs else handle


def _scale_name(scale: h5py.Dataset) -> str:
    """A dimension scale's dimension: its ``NAME`` (unless netCDF's stand-in text), else the last
    part of its path."""
    name = _attr(scale, "NAME")
    if name and not name.startswith(NETCDF_DIMENSION_ONLY):
        return name.decode("utf-8", errors="replace")
    return (scale.name or "").rpartition("/")[2]


def _attr(obj, key: str) -> bytes:
    """A text attribute as bytes (b"" when missing or not text)."""
    try:
        value = obj.attrs.get(key)
    except (OSError, RuntimeError, ValueError, KeyError, TypeError):
        return b""
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(()).item()
    if isinstance(value, str):
        return value.encode()
    return value if isinstance(value, bytes) else b""


def _shape_text(shape: tuple) -> str:
    return "(" + ", ".join("None" if d is None else f"{d:,}" for d in shape) + ")"


def _size_option(nbytes: int) -> str:
    """A ``--chunk-size`` value of at least ``nbytes``: ``"2GiB"``, ``"96MiB"``."""
    for unit, size in (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2)):
        if nbytes >= size:
            return f"{-(-nbytes // size)}{unit}"
    return "1MiB"


def _smaller(chunks: list[int]) -> list[int]:
    """A chunk shape of about 1 MiB of float64 rows, for the h5repack hint."""
    inner = int(np.prod(chunks[1:], dtype=object)) if len(chunks) > 1 else 1
    return [max(1, min(chunks[0], (1 << 17) // max(1, inner))), *chunks[1:]]


def _join(group: str, name: str) -> str:
    return f"{group.rstrip('/')}/{name}"


def _has_attr(obj, name: str) -> bool:
    try:
        return name in obj.attrs
    except (OSError, RuntimeError, ValueError, KeyError):
        return False


def _is_bitfield(dset: h5py.Dataset) -> bool:
    try:
        return dset.id.get_type().get_class() == h5py.h5t.BITFIELD
    except (OSError, RuntimeError, ValueError):
        return False


def _read_as_stored(dset: h5py.Dataset, view: np.ndarray, start: int) -> None:
    """Rows ``start:start + len(view)`` with the file's own type as the memory type (no
    conversion); ``view`` has the same item size and byte order."""
    fspace = dset.id.get_space()
    fspace.select_hyperslab((start,) + (0,) * (view.ndim - 1), view.shape)
    mspace = h5py.h5s.create_simple(view.shape)
    dset.id.read(mspace, fspace, view, mtype=dset.id.get_type())


def _filter_label(dset: h5py.Dataset) -> str | None:
    """The name of the first filter h5py does not know (LZO, Blosc, bitshuffle, …)."""
    try:
        dcpl = dset.id.get_create_plist()
        for i in range(dcpl.get_nfilters()):
            code, _flags, _values, name = dcpl.get_filter(i)
            if code > 6:  # past the filters built into HDF5
                return FILTER_NAMES.get(code) or name.decode(errors="replace") or f"filter {code}"
    except (OSError, RuntimeError, ValueError, KeyError):
        pass
    return None


def _object_key(obj) -> tuple:
    info = h5py.h5o.get_info(obj.id)
    token = getattr(info, "token", None)
    return (obj.file.id.fileno, token if token is not None else info.addr)
