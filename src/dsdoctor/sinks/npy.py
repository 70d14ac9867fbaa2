"""``.npy`` outputs: the main array in ``OUT``, each sibling in ``OUT`` with ``.npy`` replaced by
``.<role>.npy``. A ``.npy`` file has no room for metadata, so no provenance is recorded."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import OutputError
from .atomic import atomic_group
from .destination import Destination


def write(
    dest: Destination,
    arrays: Mapping[str, np.ndarray],
    main: str,
    record: Mapping[str, Any],
    *,
    force: bool,
    compression: str | None,
) -> list[Path]:
    _refuse_compression(dest, compression)
    paths = _paths(dest, arrays, main)
    with atomic_group(paths, force=force) as temps:
        for array, tmp in zip(arrays.values(), temps, strict=True):
            with open(tmp, "wb") as fp:
                np.lib.format.write_array(fp, np.asanyarray(array), allow_pickle=False)
    return paths


@contextmanager
def stream(
    dest: Destination,
    specs: Mapping[str, tuple[tuple[int, ...], np.dtype]],
    main: str,
    record: Mapping[str, Any],
    *,
    force: bool,
    compression: str | None,
) -> Iterator[dict[str, np.memmap]]:
    """Yield writable memory maps of the temporaries; flushed and renamed on success."""
    _refuse_compression(dest, compression)
    with atomic_group(_paths(dest, specs, main), force=force) as temps:
        arrays = {
            role: np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=shape)
            for (role, (shape, dtype)), tmp in zip(specs.items(), temps, strict=True)
        }
        for tmp in temps:
            reserve(tmp)
        yield arrays
        for array in arrays.values():
            array.flush()


def reserve(path: Path) -> None:
    """Allocate the file's blocks now, so a full disk is an error here (ENOSPC) rather than a
    SIGBUS when a page of the memory map is first written."""
    import errno
    import os

    with open(path, "r+b") as fp:
        try:
            os.posix_fallocate(fp.fileno(), 0, os.fstat(fp.fileno()).st_size)
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
                raise


def _paths(dest: Destination, roles: Mapping[str, object], main: str) -> list[Path]:
    return [dest.npy_path(role, main=role == main) for role in roles]


def _refuse_compression(dest: Destination, compression: str | None) -> None:
    if compression is not None:
        raise OutputError(f"{dest.text}: .npy files cannot be compressed; write .npz or .h5")
