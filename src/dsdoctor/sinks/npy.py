"""``.npy`` outputs: the main array in ``OUT``, each sibling in ``OUT`` with ``.npy`` replaced by
``.<role>.npy``. A ``.npy`` file has no room for metadata: an output holding a mask or lengths
(``pad``, ``mask``) records its provenance in ``OUT.dsdoctor.json`` beside it, with the file of
each role (``"files": {"data": "x.npy", "mask": "x.mask.npy", …}``), so that ``check`` knows its
own mask and lengths from data (``sources/provenance.py``); a lone data array records none.

A ``.npy`` stream is the header numpy writes for the final shape and dtype, then the rows in
order: :class:`NpyWriter` appends them to one binary stream per role — the files here, the
members and spools of :mod:`.npz` — so memory holds one block at most. :func:`memmaps` instead
yields memory maps to fill in any order (:func:`~dsdoctor.sinks.writers.open_npy_writer`).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import IO, Any

import numpy as np

from ..diskspace import preallocate
from ..errors import OutputError
from ..sources.provenance import NOT_DATA
from .atomic import atomic_group, beside
from .blocks import BlockWriter, Index, Specs
from .destination import Destination
from .provenance import sidecar, to_json


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
    """Yield a writer appending rows to the temporary files; renamed on success."""
    _refuse_compression(dest, compression)
    paths = [dest.npy_path(role, main=role == main) for role in specs]
    extra = _sidecar(paths, specs, record)
    with (
        beside(paths[0], extra),
        atomic_group(paths, force=force, inputs=inputs) as temps,
        ExitStack() as files,
    ):
        targets = {
            role: files.enter_context(open(tmp, "wb"))
            for role, tmp in zip(specs, temps, strict=True)
        }
        yield NpyWriter(dest, specs, [*paths, *extra], targets)


def _sidecar(paths: list, specs: Specs, record: Mapping[str, Any]) -> dict:
    """``{OUT.dsdoctor.json: JSON}`` for an output holding a mask, lengths or row numbers, else
    ``{}``."""
    # roles check reads as not data (a mask, lengths, row numbers) are told apart by the record
    if not any(role in NOT_DATA for role in specs):
        return {}
    files = {role: path.name for role, path in zip(specs, paths, strict=True)}
    return {sidecar(paths[0]): (to_json({**record, "files": files}) + "\n").encode()}


class NpyWriter(BlockWriter):
    """Writes each role's ``.npy`` header to its stream at once, then appends its rows' bytes."""

    def __init__(
        self, dest: Destination, specs: Specs, paths: list, targets: Mapping[str, IO[bytes]]
    ) -> None:
        super().__init__(dest, specs, paths)
        self.targets = targets
        for role, (shape, dtype) in specs.items():
            targets[role].write(npy_header(dest, role, shape, dtype))

    def _append(self, parts: Mapping[str, tuple[Index, np.ndarray]]) -> None:
        for role, (_, array) in parts.items():
            if array.nbytes:
                self.targets[role].write(array.reshape(-1).view(np.uint8).data)


def npy_header(dest: Destination, role: str, shape: tuple[int, ...], dtype: np.dtype) -> bytes:
    """The header ``np.save`` writes for a C-ordered array of this shape and dtype: format 1.0,
    or 2.0 when the header does not fit in 1.0 — numpy's own choice."""
    fields = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": shape}
    for write in (np.lib.format.write_array_header_1_0, np.lib.format.write_array_header_2_0):
        header = io.BytesIO()
        try:
            write(header, fields)
        except ValueError:  # too long for 1.0; or field names beyond Latin-1 (UnicodeEncodeError)
            continue
        return header.getvalue()
    raise OutputError(
        f"{dest.text}: {role} has dtype {dtype}, whose field names are not Latin-1, which a "
        ".npy stream cannot hold; rename the fields or write .h5 instead"
    )


@contextmanager
def memmaps(
    dest: Destination, specs: Specs, main: str, *, force: bool, inputs: Iterable = ()
) -> Iterator[dict[str, np.memmap]]:
    """Yield writable memory maps of the temporaries, to fill in any order; flushed, fsynced and
    renamed on success, removed on any exception."""
    paths = [dest.npy_path(role, main=role == main) for role in specs]
    with atomic_group(paths, force=force, inputs=inputs) as temps:
        arrays = {
            role: np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=shape)
            for (role, (shape, dtype)), tmp in zip(specs.items(), temps, strict=True)
        }
        for tmp in temps:
            reserve(tmp)
        yield arrays
        for array in arrays.values():
            array.flush()


def reserve(path) -> None:
    """Allocate the file's blocks now: a full disk is then an error here, not a SIGBUS when a
    page of the memory map is first written."""
    with open(path, "r+b") as fp:
        preallocate(fp, os.fstat(fp.fileno()).st_size)


def _refuse_compression(dest: Destination, compression: str | None) -> None:
    if compression is not None:
        raise OutputError(f"{dest.text}: .npy files cannot be compressed; write .npz or .h5")
