"""Atomic writes: a temporary file beside the destination, fsynced, then renamed over it.

A reader, or a process killed at any moment, sees either no output (or the old one, with
``--force``) or the complete new output — never a partial file. The temporary lives in the
destination's own folder so the final :func:`os.replace` is a rename within one filesystem.

Temporary paths that are open are kept in a module-level set, so a SIGTERM/SIGINT handler can
remove them with :func:`cleanup_temporaries` before the process exits. After SIGKILL nothing
can run: a ``.NAME.dsdoctor-tmp-…`` file may stay behind, but the destination is never partial.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ..errors import OutputError

TEMP_MARKER = ".dsdoctor-tmp-"

#: Temporary files currently being written; see :func:`cleanup_temporaries`.
_TEMPORARIES: set[Path] = set()


def check_destination(dest: Path, *, force: bool) -> None:
    """Raise :class:`OutputError` unless ``dest`` can be (re)placed by an atomic write."""
    if dest.is_dir():
        raise OutputError(f"{dest} is a directory; name a file to write")
    if (dest.exists() or dest.is_symlink()) and not force:
        raise OutputError(f"{dest} exists; pass --force to replace it")
    folder = dest.parent
    if not folder.is_dir():
        raise OutputError(f"{folder} does not exist; create the folder or choose another output")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{folder} is not writable; choose another output folder")


def temporary_for(dest: Path) -> Path:
    """A fresh temporary name in ``dest``'s folder, e.g. ``.x.npy.dsdoctor-tmp-3f9a1c2e``."""
    return dest.with_name(f".{dest.name}{TEMP_MARKER}{secrets.token_hex(4)}")


@contextmanager
def atomic_group(dests: Sequence[Path], *, force: bool) -> Iterator[list[Path]]:
    """Write several files that belong together; yield one temporary path per destination.

    ``dests[0]`` is the main (data) file and is renamed last, so a reader that sees the new data
    file also sees its new siblings (``.mask.npy``, ``.lengths.npy``). Every destination is
    checked before anything is created: none may exist without ``force``. On any exception —
    KeyboardInterrupt included — every temporary is removed and the exception propagates.
    """
    dests = [Path(d) for d in dests]
    if len(set(dests)) != len(dests):
        raise OutputError(f"two outputs share one path: {', '.join(map(str, dests))}")
    for dest in dests:
        check_destination(dest, force=force)
    temps: list[Path] = []
    try:
        for dest in dests:
            tmp = temporary_for(dest)
            _TEMPORARIES.add(tmp)  # registered before it exists, so a signal cannot orphan it
            temps.append(tmp)
            _reserve(tmp)
        yield list(temps)
        for tmp in temps:
            _fsync_file(tmp)
        for tmp, dest in reversed(list(zip(temps, dests, strict=True))):
            os.replace(tmp, dest)
            _TEMPORARIES.discard(tmp)
        for folder in dict.fromkeys(dest.parent for dest in dests):
            _fsync_dir(folder)
    except BaseException:
        for tmp in temps:
            _remove(tmp)
        raise
    finally:
        _TEMPORARIES.difference_update(temps)


@contextmanager
def atomic_path(dest: Path, *, force: bool) -> Iterator[Path]:
    """Yield a temporary path to write; on success it atomically becomes ``dest``.

    ``OutputError`` if ``dest`` exists and not ``force``, or its folder is missing or not
    writable. The temporary already exists (empty); writers may truncate or replace it.
    """
    with atomic_group([Path(dest)], force=force) as (tmp,):
        yield tmp


def cleanup_temporaries() -> list[Path]:
    """Remove every temporary file still being written; return the paths that were removed.

    Meant for a SIGTERM/SIGINT handler just before the process exits: a write in progress is
    abandoned and leaves nothing behind.
    """
    removed = []
    for tmp in tuple(_TEMPORARIES):
        if _remove(tmp):
            removed.append(tmp)
        _TEMPORARIES.discard(tmp)
    return removed


def open_temporaries() -> frozenset[Path]:
    """The temporary files currently being written (for tests and diagnostics)."""
    return frozenset(_TEMPORARIES)


def _reserve(tmp: Path) -> None:
    """Create ``tmp`` exclusively, with the permissions an ordinary new file gets (umask)."""
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except PermissionError:
        raise OutputError(f"{tmp.parent} is not writable; choose another output folder") from None
    except OSError as exc:
        raise OutputError(f"cannot create a file in {tmp.parent}: {exc.strerror}") from None
    os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable. Not every platform/filesystem can fsync a directory."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove(path: Path) -> bool:
    try:
        path.unlink()
    except OSError:  # already gone, or not ours to remove
        return False
    return True
