"""Disk space, asked for up front, and the operating system's refusals in words.

Shared by the readers that spill to a temporary file and the writers: both would rather fail
before copying anything than halfway through."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

#: Why a write was refused, by errno name: what the destination lacks, not what the data is.
REASONS = {
    "ENOSPC": "the disk is full",
    "EFBIG": "the file is larger than allowed (file-size limit)",
    "EDQUOT": "the disk quota is exhausted",
    "EROFS": "the filesystem is read-only",
    "EMFILE": "more files are open at once than allowed (`ulimit -n`; bucket keeps up to "
    "4 per bucket open: use fewer buckets or raise the limit)",
    "EACCES": "permission denied",
    "EPERM": "permission denied",
    "ENOTDIR": "a part of the path is a file, not a folder",
    "ENOENT": "a folder on the path does not exist (or a symlink on it leads nowhere)",
    "ELOOP": "too many levels of symbolic links",
    "ENAMETOOLONG": "the name is too long",
    "EISDIR": "it is a folder",
    "EEXIST": "it exists",
    "EXDEV": "it is on another filesystem than its temporary",
}
#: Errors of the destination, not of the data, whatever a writer was doing: a full disk, a
#: file-size limit, a quota, a read-only filesystem, no permission, an I/O error, the
#: open-file limit. The errors of a path (ENOTDIR, ENOENT, …) count only where the writer is
#: handling its destination's name (``path_errors=True``), not while it reads its input.
WRITE_ERRNOS = frozenset({"ENOSPC", "EFBIG", "EDQUOT", "EROFS", "EACCES", "EPERM", "EIO", "EMFILE"})
PATH_ERRNOS = frozenset({"ENOTDIR", "ENOENT", "ELOOP", "ENAMETOOLONG", "EISDIR", "EEXIST", "EXDEV"})


def reason(exc: OSError) -> str:
    """A few words on why ``exc`` refused a write (its strerror when it is none of the above)."""
    name = errno.errorcode.get(exc.errno or 0, "")
    return REASONS.get(name) or exc.strerror or name or str(exc)


@contextmanager
def write_errors(what: str, *, path_errors: bool = False) -> Iterator[None]:
    """The one translation of the operating system's refusal to write: an :class:`OSError` of
    the destination becomes ``OutputError("cannot write WHAT: REASON; nothing was written")``.
    Every writer — data, reports, specs, output folders — goes through it; the atomic writers
    have already removed their temporaries by the time it arrives here."""
    from .errors import OutputError

    try:
        yield
    except OSError as exc:
        name = errno.errorcode.get(exc.errno or 0, "")
        if name not in WRITE_ERRNOS and not (path_errors and name in PATH_ERRNOS):
            raise
        raise OutputError(f"cannot write {what}: {reason(exc)}; nothing was written") from None


def preallocate(fp: BinaryIO, size: int) -> None:
    """Allocate ``size`` bytes of ``fp``'s file now, so that a full disk fails here (ENOSPC)
    rather than part-way through a copy or as a SIGBUS on a memory map's first write. A
    filesystem that cannot preallocate is left to allocate as it writes."""
    if not size or not hasattr(os, "posix_fallocate"):
        return
    try:
        os.posix_fallocate(fp.fileno(), 0, size)
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
            raise
