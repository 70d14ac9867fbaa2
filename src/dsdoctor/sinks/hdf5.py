"""HDF5 outputs: dataset ``NAME`` (default ``/data``) and siblings ``NAME_mask``,
``NAME_lengths``, … , chunked along axis 0 (about 1 MiB per chunk), optionally gzip-compressed.
Provenance is stored as ``dsdoctor_*`` attributes on the main dataset. Variable-length
sequences (:func:`stream_ragged`) are one 1-D variable-length dataset ``NAME`` of N rows, what
the HDF5 reader reads back as ragged sequences.

The whole file is written afresh: a dataset is never added to an existing file, because that
would modify a file in place (it may be an input) and could not be atomic.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np

from ..errors import OutputError
from .atomic import atomic_path
from .blocks import BlockWriter, Index, Specs
from .destination import Destination
from .provenance import hdf5_attributes

CHUNK_BYTES = 1 << 20
#: h5py objects of a file whose writes failed (a full disk, a size limit) — while rows were
#: written, or when the file was flushed and closed. HDF5 crashes the process (SIGSEGV) when
#: such objects are freed, so they are kept alive here and the CLI leaves with ``os._exit``
#: once it has reported the error (the temporary file is already removed).
BROKEN: list = []


@contextmanager
def stream(
    dest: Destination,
    specs: Specs,
    main: str,
    record: Mapping[str, Any],
    *,
    force: bool,
    compression: str | None,
    inputs: Iterable = (),
) -> Iterator[BlockWriter]:
    """Yield a writer appending rows to the datasets of a temporary file; renamed on success."""
    with _temporary_file(dest, force, inputs) as (f, held):
        datasets: dict[str, Any] = {}
        held.append(datasets)
        for role, (shape, dtype) in specs.items():
            datasets[role] = _create(f, dest, role, main, shape, dtype, compression)
        with _hdf5_errors():
            datasets[main].attrs.update(hdf5_attributes(record))
        yield _DatasetWriter(dest, specs, datasets)


@contextmanager
def _temporary_file(dest: Destination, force: bool, inputs: Iterable) -> Iterator[tuple[Any, list]]:
    """Yield an HDF5 file open for writing at a temporary path, and a list for the objects made
    in it; closed (which flushes the chunk cache: a full disk is often found only there) and
    renamed into place as ``dest`` when the block ends. On a failed write the file and those
    objects are kept in :data:`BROKEN`, never freed."""
    import h5py

    _refuse_existing(dest, force, inputs)
    with atomic_path(dest.path, force=force, inputs=inputs) as tmp:
        f = h5py.File(tmp, "w")
        held: list = []
        try:
            yield f, held
            with _hdf5_errors():
                f.close()
        except OSError:
            BROKEN.append((f, held))
            raise
        except BaseException:
            try:
                with _hdf5_errors():
                    f.close()
            except OSError:
                BROKEN.append((f, held))
            raise


def _refuse_existing(dest: Destination, force: bool, inputs: Iterable) -> None:
    """Without ``force``, an existing HDF5 file is refused with the datasets it holds: the
    output replaces the whole file, not only the dataset it names."""
    if force or not os.path.isfile(dest.path):
        return
    import h5py

    from .guard import guard_outputs, replaced_whole

    guard_outputs([dest.path], inputs)  # an input is named as such first
    held: list[str] = []
    try:
        with h5py.File(dest.path, "r") as f:

            def visit(name: str, obj: Any) -> None:
                if isinstance(obj, h5py.Dataset) and len(held) < 100:
                    held.append("/" + name)

            f.visititems(visit)
    except (OSError, RuntimeError, ValueError, KeyError, TypeError):
        return  # not an HDF5 file: the plain "exists" refusal follows
    raise OutputError(replaced_whole(dest.path, "file", held))


@contextmanager
def _hdf5_errors() -> Iterator[None]:
    """HDF5 reports a failed write as ``RuntimeError("… errno = 28, error message = 'No space
    left on device' …")`` when it meets it while flushing or closing: the :class:`OSError` it
    stands for (EIO when it names none), so that the file is kept out of the garbage collector
    (:data:`BROKEN`) and the error is translated like every other write error."""
    try:
        yield
    except RuntimeError as exc:
        found = re.search(r"errno = (\d+)", str(exc))
        code = int(found.group(1)) if found else errno.EIO
        raise OSError(code, os.strerror(code)) from None


@contextmanager
def stream_ragged(
    dest: Destination, n: int, dtype: np.dtype, record: Mapping[str, Any], *, force: bool,
    inputs: Iterable = (),
) -> Iterator[RaggedWriter]:  # fmt: skip
    """Yield a writer appending sequences (1-D, of ``dtype``) to one variable-length dataset of
    ``n`` rows in a temporary file; renamed on success, when exactly ``n`` were written."""
    import h5py

    name = dest.hdf5_name("data", main=True)
    with _temporary_file(dest, force, inputs) as (f, held):
        with _hdf5_errors():
            dset = f.create_dataset(name, shape=(n,), dtype=h5py.vlen_dtype(dtype),
                                    chunks=(max(1, min(n, RAGGED_CHUNK_ROWS)),) if n else None)  # fmt: skip
            held.append(dset)
            dset.attrs.update(hdf5_attributes(record))
        writer = RaggedWriter(dest, dset, n, np.dtype(dtype))
        yield writer
        writer.finish()


#: Rows per chunk of a variable-length dataset (each row is a 16-byte reference to the heap).
RAGGED_CHUNK_ROWS = 1 << 16


class RaggedWriter:
    """Appends blocks of sequences (flat ``values`` and their ``lengths``) to a variable-length
    dataset, in order."""

    def __init__(self, dest: Destination, dset: Any, n: int, dtype: np.dtype) -> None:
        self.dest, self.dset, self.n, self.dtype = dest, dset, n, dtype
        self.paths = [dest.path]
        self.written = 0

    def write(self, values: np.ndarray, lengths: np.ndarray) -> None:
        lengths = np.asarray(lengths, dtype=np.int64)
        k = len(lengths)
        if self.written + k > self.n:
            raise OutputError(f"{self.dest.text}: {self.n:,} sequences declared, "
                              f"{self.written + k:,} given")  # fmt: skip
        if not k:
            return
        flat = np.ascontiguousarray(values, dtype=self.dtype).reshape(-1)
        # one array per row, what an HDF5 variable-length write takes (fromiter: never a 2-D
        # array when the rows have equal lengths)
        rows = np.fromiter(np.split(flat, np.cumsum(lengths[:-1])), dtype=object, count=k)
        with _hdf5_errors():
            self.dset[self.written : self.written + k] = rows
        self.written += k

    def finish(self) -> None:
        if self.written != self.n:
            raise OutputError(f"{self.dest.text}: {self.written:,} of the {self.n:,} sequences "
                              "were given; nothing was written")  # fmt: skip


class _DatasetWriter(BlockWriter):
    """Each part is assigned to its slice of its dataset."""

    def __init__(self, dest: Destination, specs: Specs, datasets: Mapping[str, Any]) -> None:
        super().__init__(dest, specs, [dest.path])
        self.datasets = datasets

    def _append(self, parts: Mapping[str, tuple[Index, np.ndarray]]) -> None:
        for role, (where, array) in parts.items():
            if array.size:
                with _hdf5_errors():
                    self.datasets[role][where] = array


def chunk_shape(shape: tuple[int, ...], itemsize: int) -> tuple[int, ...] | None:
    """Whole rows along axis 0 adding up to about :data:`CHUNK_BYTES`; a row bigger than that
    is cut along the next axes. ``None`` (contiguous) for scalars and empty arrays."""
    if not shape or 0 in shape:
        return None
    budget = max(1, CHUNK_BYTES // max(1, itemsize))  # elements per chunk
    chunk: list[int] = []
    for axis, n in enumerate(shape):
        inner = int(np.prod(shape[axis + 1 :], dtype=np.int64))
        if inner <= budget:
            chunk.append(max(1, min(n, budget // inner)))
            chunk.extend(shape[axis + 1 :])
            break
        chunk.append(1)
    return tuple(chunk)


def _create(f, dest, role, main, shape, dtype, compression):
    name = dest.hdf5_name(role, main=role == main)
    chunks = chunk_shape(tuple(shape), np.dtype(dtype).itemsize)
    try:
        with _hdf5_errors():
            return f.create_dataset(
                name,
                shape=tuple(shape),
                dtype=dtype,
                chunks=chunks,
                compression=compression if chunks else None,
            )
    except TypeError as exc:
        raise OutputError(
            f"{dest.text}: HDF5 cannot store {role} of dtype {np.dtype(dtype)} ({exc}); "
            "write .npy or .npz instead"
        ) from None
    except ValueError as exc:
        raise OutputError(f"{dest.path}: cannot create dataset {name}: {exc}") from None
