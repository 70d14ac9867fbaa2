"""Write arrays to the format named by ``-o``: atomically, with siblings, with provenance.

Two entry points. :func:`write_arrays` writes arrays that are in memory, to any format.
:func:`stream_arrays` (and :func:`open_npy_writer` for one array) yields writable arrays to fill
chunk by chunk, for outputs larger than memory; only ``.npy`` (memory maps) and HDF5 (datasets)
can be filled that way — ``.npz`` and Parquet are built whole, so they are refused.

Where each format puts siblings and provenance:

- ``.npy``: files ``x.mask.npy``, ``x.lengths.npy``; no provenance (.npy has no metadata).
- ``.npz``: members ``data``, ``mask``, ``lengths``; member ``provenance``, JSON as a 0-d ``<U``
  array.
- HDF5: datasets ``NAME``, ``NAME_mask``, ``NAME_lengths``; attributes ``dsdoctor_version``,
  ``dsdoctor_operation``, ``dsdoctor_options`` (JSON), ``dsdoctor_source`` on ``NAME``.
- Parquet: columns ``data``, ``mask``, ``lengths``; schema metadata key ``dsdoctor`` (JSON).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib import import_module
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import OutputError
from .destination import Destination, parse_destination
from .provenance import provenance_record

COMPRESSIONS = (None, "gzip")
STREAMABLE = ("npy", "hdf5")
ROLE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def write_arrays(
    out: str | Path,
    arrays: Mapping[str, np.ndarray],
    *,
    main: str,
    force: bool,
    provenance: Mapping[str, Any],
    compression: str | None = None,
) -> list[Path]:
    """Write ``arrays`` (role → array; ``main`` names the data) to ``out``; return the paths.

    ``out`` is what the user passed to ``-o``: ``x.npy``, ``x.npz``, ``x.h5``, ``x.h5:/name``
    or ``x.parquet``. ``compression="gzip"`` deflates npz members, HDF5 datasets and Parquet
    pages (a ``.npy`` cannot be compressed). Raises :class:`OutputError` if ``out`` exists and
    not ``force``, its folder is missing or not writable, or the format cannot hold the arrays.
    """
    dest = parse_destination(out)
    ordered = _ordered({role: np.asanyarray(a) for role, a in arrays.items()}, main)
    _check(dest, {role: a.dtype for role, a in ordered.items()}, main, compression)
    with write_errors(dest):
        return _format(dest).write(
            dest,
            ordered,
            main,
            provenance_record(provenance),
            force=force,
            compression=compression,
        )


@contextmanager
def stream_arrays(
    out: str | Path,
    specs: Mapping[str, tuple[tuple[int, ...], Any]],
    *,
    main: str,
    force: bool,
    provenance: Mapping[str, Any],
    compression: str | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield role → writable array (shape and dtype from ``specs``) to fill by slices.

    ``.npy`` outputs yield ``np.memmap`` objects, HDF5 outputs ``h5py.Dataset`` objects. When
    the block ends normally the files are flushed, fsynced and renamed into place; on an
    exception nothing is left behind. ``.npz`` and Parquet raise :class:`OutputError`.
    """
    dest = parse_destination(out)
    if dest.format not in STREAMABLE:
        raise OutputError(
            f"{dest.text}: outputs larger than memory can be written only to .npy or .h5, "
            f"not .{dest.format}; choose -o with one of those extensions"
        )
    specs = _ordered(
        {
            role: (tuple(int(d) for d in shape), np.dtype(dtype))
            for role, (shape, dtype) in specs.items()
        },
        main,
    )
    _check(dest, {role: dtype for role, (_, dtype) in specs.items()}, main, compression)
    record = provenance_record(provenance)
    with (
        write_errors(dest),
        _format(dest).stream(
            dest, specs, main, record, force=force, compression=compression
        ) as arrays,
    ):
        yield arrays


@contextmanager
def open_npy_writer(
    out: str | Path, shape: tuple[int, ...], dtype: Any, *, force: bool
) -> Iterator[np.memmap]:
    """Yield a writable memory map of a temporary ``.npy``; it becomes ``out`` on success."""
    dest = parse_destination(out)
    if dest.format != "npy":
        raise OutputError(f"{dest.text}: open_npy_writer writes .npy files; name the output .npy")
    with stream_arrays(
        out, {"data": (shape, dtype)}, main="data", force=force, provenance={}
    ) as arrays:
        yield arrays["data"]


#: Errors of the destination, not of the data: a full disk, a file-size limit, a quota, a
#: read-only filesystem.
WRITE_ERRNOS = {"ENOSPC", "EFBIG", "EDQUOT", "EROFS", "EACCES", "EPERM", "EIO"}


@contextmanager
def write_errors(dest: Destination) -> Iterator[None]:
    """Turn the operating system's refusal to write into one clear :class:`OutputError`; the
    atomic writers have already removed their temporaries by the time it arrives here."""
    import errno

    try:
        yield
    except OSError as exc:
        name = errno.errorcode.get(exc.errno or 0, "")
        if name not in WRITE_ERRNOS:
            raise
        why = {"ENOSPC": "the disk is full", "EFBIG": "the file is larger than allowed (file-size limit)",
               "EDQUOT": "the disk quota is exhausted", "EROFS": "the filesystem is read-only"}.get(
            name, exc.strerror or name)  # fmt: skip
        raise OutputError(f"cannot write {dest.text}: {why}; nothing was written") from None


def _format(dest: Destination):
    return import_module(f".{dest.format}", __package__)


def _ordered(items: dict[str, Any], main: str) -> dict[str, Any]:
    """The main entry first, then the siblings in the caller's order."""
    if main not in items:
        raise OutputError(f"no array named {main!r} to write; got {', '.join(items) or 'none'}")
    return {main: items[main], **{role: v for role, v in items.items() if role != main}}


def _check(
    dest: Destination, dtypes: Mapping[str, np.dtype], main: str, compression: str | None
) -> None:
    if compression not in COMPRESSIONS:
        raise OutputError(f"unknown compression {compression!r}; use gzip or none")
    for role, dtype in dtypes.items():
        if not ROLE.fullmatch(role):
            raise OutputError(f"{role!r} cannot name an output array; use letters, digits, _ or -")
        if dtype.hasobject:
            raise OutputError(
                f"{dest.text}: {role} is an object array ({dtype}), which can only be written by "
                "pickling; convert it to a numeric dtype first"
            )
