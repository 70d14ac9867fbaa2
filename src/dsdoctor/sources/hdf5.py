"""HDF5 files through h5py: datasets are read by row blocks aligned to their chunks; variable-
length datasets are ragged sequences. External links, external raw storage and virtual datasets
are reported and not followed unless ``--follow-external`` is given; soft links and cycles are
listed, never walked twice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np

from ..arrays import Ragged
from ..errors import SourceError, UnsafeInputError
from .base import ArrayHandle, Entry, Source, is_numeric

MAX_DEPTH = 64
MAX_OBJECTS = 100_000
#: Rows of a variable-length dataset read per chunk before the average length is known.
VLEN_FIRST_ROWS = 1024


def _h5_error(display: str, exc: BaseException) -> SourceError:
    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return SourceError(f"{display} cannot be read as HDF5 ({msg})")


class H5Dataset(ArrayHandle):
    """One HDF5 dataset (dense or variable-length)."""

    file: h5py.File
    vlen_base: np.dtype | None = None

    @property
    def dset(self) -> h5py.Dataset:
        return self.file[self.name]

    def _rows(self, chunk_bytes: int) -> int:
        rows = self.rows_per_chunk(chunk_bytes)
        chunks = self.layout.get("chunks")
        if chunks and rows > chunks[0]:
            rows -= rows % chunks[0]  # whole HDF5 chunks per read: each is decompressed once
        return rows

    def _chunks(self, chunk_bytes: int) -> Iterator[np.ndarray | Ragged]:
        try:
            if self.ragged:
                yield from self._vlen_chunks(chunk_bytes)
            elif not self.shape:
                yield np.asarray(self.dset[()], dtype=self.dtype)
            else:
                yield from self._dense_chunks(chunk_bytes)
        except (OSError, RuntimeError, ValueError, TypeError, KeyError) as exc:
            raise SourceError(
                f"{self.source} cannot be read ({str(exc).splitlines()[0]})"
            ) from None

    def _dense_chunks(self, chunk_bytes: int) -> Iterator[np.ndarray]:
        dset, n = self.dset, self.shape[0]
        rows = self._rows(chunk_bytes)
        buf = np.empty((min(rows, n), *self.shape[1:]), dtype=self.dtype)
        for start in range(0, n, rows):
            count = min(rows, n - start)
            view = buf[:count]
            if count:
                dset.read_direct(view, np.s_[start : start + count], np.s_[0:count])
            yield view

    def _vlen_chunks(self, chunk_bytes: int) -> Iterator[Ragged]:
        dset, n = self.dset, self.shape[0]
        rows, start = VLEN_FIRST_ROWS, 0
        while start < n:
            block = dset[start : start + rows]
            lengths = np.fromiter(map(len, block), dtype=np.int64, count=len(block))
            total = int(lengths.sum())
            values = (np.concatenate(block.tolist()).astype(self.dtype, copy=False) if total
                      else np.empty((0, *self.inner_shape), dtype=self.dtype))  # fmt: skip
            yield Ragged.from_lengths(values.reshape((total, *self.inner_shape)), lengths)
            start += len(block)
            mean = max(1.0, total / max(1, len(block)))
            rows = max(1, int(chunk_bytes // (mean * self.row_bytes)))


class H5Source(Source):
    format = "hdf5"

    def __init__(self, path: Path, display: str, *, follow_external: bool = False):
        super().__init__(path, display)
        self.follow_external = follow_external
        try:
            self.file = h5py.File(path, "r", locking=False)
        except (OSError, ValueError, RuntimeError) as exc:
            raise _h5_error(display, exc) from None
        self._entries: list[Entry] | None = None

    def close(self) -> None:
        try:
            self.file.close()
        except Exception:  # pragma: no cover - closing a broken file
            pass

    # -- the tree ---------------------------------------------------------------------------
    def entries(self) -> list[Entry]:
        if self._entries is None:
            self._entries = []
            try:
                self._walk(self.file, "", set(), 0)
            except (OSError, RuntimeError, ValueError, KeyError) as exc:
                raise _h5_error(self.display, exc) from None
        return self._entries

    def _walk(self, group: h5py.Group, prefix: str, seen: set, depth: int) -> None:
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
                    Entry(path, "link", note="hard link to an object listed already")
                )
                continue
            seen.add(key)
            if isinstance(obj, h5py.Group):
                self._entries.append(Entry(path, "group"))
                self._walk(obj, path, seen, depth + 1)
            elif isinstance(obj, h5py.Dataset):
                try:
                    self._entries.append(Entry(path, "array", self._dataset(obj, path)))
                except (OSError, RuntimeError, ValueError, TypeError) as exc:
                    self._entries.append(Entry(path, "error", note=str(exc).splitlines()[0]))
            else:
                self._entries.append(Entry(path, "other", note=type(obj).__name__))

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
        handle = H5Dataset(name=path, source=display, path=self.path, format="hdf5",
                           shape=tuple(shape) if shape is not None else (), dtype=dtype)  # fmt: skip
        handle.file = self.file
        try:
            handle.disk_bytes = int(dset.id.get_storage_size())
        except (OSError, RuntimeError):  # pragma: no cover
            handle.disk_bytes = None
        if shape is None:
            handle.skip = "an empty (null) dataspace holds no data"
        elif base is not None:
            if base in (str, bytes) or not is_numeric(np.dtype(base)):
                handle.skip = "variable-length text, not numbers; dsdoctor checks numeric arrays"
            elif len(shape) != 1:
                handle.skip = f"a {len(shape)}-D variable-length dataset; dsdoctor reads 1-D ones as sequences"
            else:
                handle.ragged, handle.dtype, handle.vlen_base = True, np.dtype(base), np.dtype(base)
                handle.shape = (shape[0], None)
        elif dtype.kind == "O" or h5py.check_string_dtype(dtype) is not None:
            handle.skip = "text or references, not numbers; dsdoctor checks numeric arrays"
        elif dtype.subdtype is not None:
            handle.dtype = dtype.subdtype[0]  # an array type: each element is a fixed block
            handle.shape = (*shape, *dtype.subdtype[1])
        elif not is_numeric(dtype):
            handle.skip = f"dtype {dtype} is not numeric (compound, opaque or enum of text); dsdoctor checks numeric arrays"
        external = self._external(dset)
        if external:
            layout["external"] = external
            if not self.follow_external:
                handle.unsafe = (
                    f"{display} is stored in {external}; dsdoctor does not read other files "
                    "unless you pass --follow-external"
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
        return [e.array for e in self.entries() if e.array is not None]

    def select(self, selector: str) -> ArrayHandle:
        path = selector if selector.startswith("/") else "/" + selector
        for e in self.entries():
            if e.path == path:
                if e.array is not None:
                    return e.array
                if e.kind == "link" and "external" in e.note and not self.follow_external:
                    raise UnsafeInputError(
                        f"{self.display}:{path} is an {e.note.replace(' (not followed)', '')}; "
                        "dsdoctor does not read other files unless you pass --follow-external"
                    )
                if e.kind == "link" and (self.follow_external or "soft" in e.note):
                    return self._follow(path)
                raise SourceError(
                    f"{self.display}:{path} is a {e.kind}, not a dataset ({e.note or 'choose a dataset inside it'})"
                )
        names = ", ".join(a.name for a in self.arrays()[:20])
        raise SourceError(f"{self.display} has no dataset {path}; it has: {names or 'no datasets'}")

    def _follow(self, path: str) -> ArrayHandle:
        try:
            obj = self.file[path]
        except (OSError, KeyError, RuntimeError) as exc:
            raise SourceError(
                f"{self.display}:{path} is a dangling link ({str(exc).splitlines()[0]})"
            ) from None
        if not isinstance(obj, h5py.Dataset):
            raise SourceError(f"{self.display}:{path} is not a dataset")
        return self._dataset(obj, path)


def _object_key(obj) -> tuple:
    info = h5py.h5o.get_info(obj.id)
    token = getattr(info, "token", None)
    return (obj.file.id.fileno, token if token is not None else info.addr)
