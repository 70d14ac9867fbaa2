"""``.npz`` outputs: member ``data`` (the main array), one member per sibling role (``mask``,
``lengths``, …) and ``provenance``, a 0-d unicode array holding JSON — never an object array,
so the archive loads with ``allow_pickle=False``.

Written in bounded memory, whatever the size. A zip takes one member at a time while the rows of
every role arrive together, so the main array's rows go straight into its member — the ``.npy``
header numpy writes for the final shape, then the rows in order — and each sibling's rows go to
a spool: memory up to :data:`SPOOL_BYTES`, then an anonymous temporary file in the output's
folder, which is gone as soon as it is closed (even after SIGKILL). Once every row is in, the
spools are copied in as members, :data:`COPY_BYTES` at a time, then ``provenance``. Members are
zip64 (as ``np.savez`` makes them), so one may exceed 4 GiB; ``compression="gzip"`` deflates
them, as ``np.savez_compressed`` does.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..errors import OutputError
from .atomic import atomic_path
from .blocks import BlockWriter, Specs
from .destination import Destination
from .npy import NpyWriter
from .provenance import to_json

MAIN_MEMBER = "data"
PROVENANCE_MEMBER = "provenance"
#: A sibling's spool stays in memory up to this size, then moves to a temporary file.
SPOOL_BYTES = 1 << 20
#: Bytes per read when a spool is copied into the archive.
COPY_BYTES = 1 << 20


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
    """Yield a writer appending rows to the archive's members; the archive is completed and
    renamed into place on success, removed on any exception."""
    names = _member_names(dest, specs, main)
    method = zipfile.ZIP_DEFLATED if compression else zipfile.ZIP_STORED
    with (
        atomic_path(dest.path, force=force, inputs=inputs) as tmp,
        open(tmp, "wb") as fp,
        ExitStack() as spools,
    ):
        archive = _Archive(zipfile.ZipFile(fp, "w", compression=method, allowZip64=True))
        try:
            member = archive.open(names[main])
            siblings = {
                role: spools.enter_context(_spool(dest.path.parent))
                for role in specs
                if role != main
            }
            yield NpyWriter(dest, specs, [dest.path], {main: member, **siblings})
            archive.close_member()
            for role, spool in siblings.items():
                spool.seek(0)
                shutil.copyfileobj(spool, archive.open(names[role]), COPY_BYTES)
                archive.close_member()
            provenance = archive.open(f"{PROVENANCE_MEMBER}.npy")
            np.lib.format.write_array(provenance, np.array(to_json(record)), allow_pickle=False)
            archive.close()
        except BaseException:
            archive.abandon()
            raise


class _Archive:
    """A zip being written, with at most one member open (a zip cannot take two at once)."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive
        self.member: IO[bytes] | None = None

    def open(self, name: str) -> IO[bytes]:
        self.member = self.archive.open(name, "w", force_zip64=True)
        return self.member

    def close_member(self) -> None:
        if self.member is not None:
            self.member.close()
            self.member = None

    def close(self) -> None:
        self.close_member()
        self.archive.close()

    def abandon(self) -> None:
        """Let go of a half-written archive (its file is about to be removed). It is closed now,
        while its file is still open: left to the garbage collector, closing it would fail on
        the closed file and print "Exception ignored" on stderr."""
        for close in (self.close_member, self.archive.close):
            try:
                close()
            except (OSError, ValueError):  # e.g. the disk that failed is still full
                pass
        self.member = None


def _member_names(dest: Destination, specs: Specs, main: str) -> dict[str, str]:
    """Role → member file name: ``data.npy`` for the main role, ``<role>.npy`` for siblings."""
    names = {role: MAIN_MEMBER if role == main else role for role in specs}
    if len(set(names.values())) != len(names) or PROVENANCE_MEMBER in names.values():
        raise OutputError(
            f"{dest.text}: the member names {MAIN_MEMBER!r} and {PROVENANCE_MEMBER!r} are "
            f"reserved; rename the roles {', '.join(specs)}"
        )
    return {role: f"{name}.npy" for role, name in names.items()}


def _spool(folder: Path) -> IO[bytes]:
    return tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, mode="w+b", dir=str(folder))
