"""Disk space, asked for up front, and the operating system's refusals in words.

Shared by the readers that spill to a temporary file and the writers: both would rather fail
before copying anything than halfway through."""

from __future__ import annotations

import errno
import os
from typing import BinaryIO

#: Why a write was refused, by errno name: what the destination lacks, not what the data is.
REASONS = {
    "ENOSPC": "the disk is full",
    "EFBIG": "the file is larger than allowed (file-size limit)",
    "EDQUOT": "the disk quota is exhausted",
    "EROFS": "the filesystem is read-only",
    "EMFILE": "more files are open at once than allowed (`ulimit -n`; bucket keeps up to "
    "4 per bucket open: use fewer buckets or raise the limit)",
}


def reason(exc: OSError) -> str:
    """A few words on why ``exc`` refused a write (its strerror when it is none of the above)."""
    name = errno.errorcode.get(exc.errno or 0, "")
    return REASONS.get(name) or exc.strerror or name or str(exc)


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
