"""Write arrays to the format named by ``-o``: atomically, with siblings, with provenance.

:func:`stream_arrays` is the one way in: it yields a writer that appends blocks of rows, so an
output of any format can be larger than memory — ``.npy`` files and ``.npz`` members are written
as ``.npy`` streams (the header, then the rows in order), HDF5 datasets by slices, Parquet one
row group per block (see each format's module). :func:`write_arrays` writes arrays that are in
memory as one block of it, so each format has a single writer. :func:`open_npy_writer` yields a
memory map of one ``.npy`` to fill in any order.

Where each format puts siblings and provenance:

- ``.npy``: files ``x.mask.npy``, ``x.lengths.npy``; no provenance (.npy has no metadata).
- ``.npz``: members ``data``, ``mask``, ``lengths``; member ``provenance``, JSON as a 0-d ``<U``
  array.
- HDF5: datasets ``NAME``, ``NAME_mask``, ``NAME_lengths``; attributes ``dsdoctor_version``,
  ``dsdoctor_operation``, ``dsdoctor_options`` (JSON), ``dsdoctor_source`` on ``NAME``.
- Parquet: columns ``data``, ``mask``, ``lengths``; schema metadata key ``dsdoctor`` (JSON).
- Zarr (a store, a folder): arrays ``NAME``, ``NAME_mask``, ``NAME_lengths``; the HDF5
  attributes on ``NAME`` (see :mod:`.zarr`, which also gives the ragged layout).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from importlib import import_module
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

from ..diskspace import write_errors
from ..errors import OutputError
from ..formats import BY_NAME
from ..locations import Location
from .blocks import BlockWriter, Specs
from .destination import Destination, parse_destination
from .provenance import provenance_record

COMPRESSIONS = (None, "gzip")
ROLE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def write_arrays(
    out: str | Path,
    arrays: Mapping[str, npt.ArrayLike],
    *,
    main: str,
    force: bool,
    provenance: Mapping[str, Any],
    compression: str | None = None,
    inputs: Iterable[str | Path] = (),
) -> list[Path]:
    """Write ``arrays`` (role → array; ``main`` names the data) to ``out``; return the paths.

    ``out`` is what the user passed to ``-o``: ``x.npy``, ``x.npz``, ``x.h5``, ``x.h5:/name``
    or ``x.parquet``. ``compression="gzip"`` deflates npz members, HDF5 datasets and Parquet
    pages (a ``.npy`` cannot be compressed). Raises :class:`OutputError` if ``out`` exists and
    not ``force``, its folder is missing or not writable, it or a sibling is one of ``inputs``
    (files, folders or glob patterns the command reads), or the format cannot hold the arrays.
    The arrays are one block of :func:`stream_arrays`: each format has one writer.
    """
    held = {role: np.asanyarray(a) for role, a in arrays.items()}
    specs = {role: (a.shape, a.dtype) for role, a in held.items()}
    with stream_arrays(
        out,
        specs,
        main=main,
        force=force,
        provenance=provenance,
        compression=compression,
        inputs=inputs,
    ) as writer:
        writer.write(held)
    return writer.paths


@contextmanager
def stream_arrays(
    out: str | Path,
    specs: Mapping[str, tuple[tuple[int, ...], npt.DTypeLike]],
    *,
    main: str,
    force: bool,
    provenance: Mapping[str, Any],
    compression: str | None = None,
    inputs: Iterable[str | Path] = (),
) -> Iterator[BlockWriter]:
    """Yield a writer of ``out`` whose ``write({role: rows})`` appends blocks of rows.

    ``specs`` gives each role's final shape and dtype; every role's rows are appended in order
    and must add up to its shape (a 0-d role is written whole, in one block). Memory is bounded
    by the blocks, whatever the output's size, for every format. When the block ends normally
    the output is completed, fsynced and renamed into place (``writer.paths``: the files it
    consists of); on any exception — fewer rows than declared included — nothing is left behind.
    Every file of the output (siblings included) is compared with ``inputs`` and the others
    before anything is created (:mod:`.guard`).
    """
    dest, specs = _prepare(out, specs, main, compression)
    record = provenance_record(provenance)
    if isinstance(dest.path, Location):  # written here, then uploaded whole (:mod:`.remote`)
        from .remote import remote_output, upload

        with remote_output(dest, force=force, inputs=inputs) as local:
            with (
                write_errors(dest.text),
                _format(local).stream(
                    local, specs, main, record, force=True, compression=compression, inputs=()
                ) as writer,
            ):
                yield writer
                writer.finish()
            writer.paths = upload(writer.paths, dest, force=force)
        return
    with (
        write_errors(dest.text),
        _format(dest).stream(
            dest, specs, main, record, force=force, compression=compression, inputs=inputs
        ) as writer,
    ):
        yield writer
        writer.finish()


@contextmanager
def stream_ragged(
    out: str | Path,
    n: int,
    dtype: npt.DTypeLike,
    *,
    force: bool,
    provenance: Mapping[str, Any],
    inputs: Iterable[str | Path] = (),
) -> Iterator[Any]:
    """Yield a writer of ``n`` variable-length 1-D sequences whose ``write(values, lengths)``
    appends blocks of them, to an HDF5 ``out`` (``x.h5`` or ``x.h5:/name``): one
    variable-length dataset, read back as ragged sequences. Atomic and guarded as
    :func:`stream_arrays`; other formats hold sequences as values + lengths (npz) or a list
    column (Parquet), written by their callers."""
    dest = parse_destination(out)
    if dest.format != "hdf5":
        raise OutputError(f"{dest.text}: stream_ragged writes HDF5; name the output .h5")
    from .hdf5 import stream_ragged as hdf5_ragged

    record = provenance_record(provenance)
    with (
        write_errors(dest.text),
        hdf5_ragged(dest, n, np.dtype(dtype), record, force=force, inputs=inputs) as writer,
    ):
        yield writer


@contextmanager
def open_npy_writer(
    out: str | Path,
    shape: tuple[int, ...],
    dtype: npt.DTypeLike,
    *,
    force: bool,
    inputs: Iterable[str | Path] = (),
) -> Iterator[np.memmap]:
    """Yield a writable memory map of a temporary ``.npy`` to fill in any order; it becomes
    ``out`` on success."""
    from .npy import memmaps

    dest, specs = _prepare(out, {"data": (shape, dtype)}, "data", None)
    if dest.format != "npy":
        raise OutputError(f"{dest.text}: open_npy_writer writes .npy files; name the output .npy")
    if isinstance(dest.path, Location):  # written here, then uploaded whole (:mod:`.remote`)
        from .remote import remote_output, upload

        with remote_output(dest, force=force, inputs=inputs) as local:
            with write_errors(dest.text), memmaps(local, specs, "data", force=True) as arrays:
                yield arrays["data"]
            upload([Path(local.path)], dest, force=force)
        return
    with (
        write_errors(dest.text),
        memmaps(dest, specs, "data", force=force, inputs=inputs) as arrays,
    ):
        yield arrays["data"]


def _format(dest: Destination) -> ModuleType:
    """The writer module of ``dest``'s format (its row in :mod:`dsdoctor.formats`)."""
    writer = BY_NAME[dest.format].writer
    assert writer is not None  # parse_destination accepts only the outputs of formats with one
    return import_module(f".{writer}", __package__)


def _prepare(
    out: str | Path,
    specs: Mapping[str, tuple[tuple[int, ...], npt.DTypeLike]],
    main: str,
    compression: str | None,
) -> tuple[Destination, Specs]:
    """The destination, and the specs with the main role first, plain int sizes, numpy dtypes;
    :class:`OutputError` for what no format can write."""
    dest = parse_destination(out)
    if compression not in COMPRESSIONS:
        raise OutputError(f"unknown compression {compression!r}; use gzip or none")
    if main not in specs:
        raise OutputError(f"no array named {main!r} to write; got {', '.join(specs) or 'none'}")
    ordered = {role: specs[role] for role in (main, *(r for r in specs if r != main))}
    plain: Specs = {
        role: (tuple(int(d) for d in shape), np.dtype(dtype))
        for role, (shape, dtype) in ordered.items()
    }
    for role, (_, dtype) in plain.items():
        if not ROLE.fullmatch(role):
            raise OutputError(f"{role!r} cannot name an output array; use letters, digits, _ or -")
        if dtype.hasobject:
            raise OutputError(
                f"{dest.text}: {role} is an object array ({dtype}), which can only be written by "
                "pickling; convert it to a numeric dtype first"
            )
    return dest, plain
