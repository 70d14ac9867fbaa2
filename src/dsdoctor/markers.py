"""The marker that a multi-file output is being committed, shared by the writers and readers.

A ``.npy`` output with siblings (``OUT.npy``, ``OUT.mask.npy``, ``OUT.lengths.npy``) keeps the
names the SPEC gives it, so its files cannot be renamed into place as one unit. The writer
creates ``OUT.npy.dsdoctor-incomplete`` (listing the group's file names) before it renames the
first file and removes it after the last, holding an exclusive lock on it meanwhile, so two
commits never interleave. If the writer is killed in between, the marker stays, and every
reader refuses each file of the group until a new write (``--force``) completes it: the group
is either consistent or refused, never silently mixed.
"""

from __future__ import annotations

import glob
import json
import os
import stat
from pathlib import Path

SUFFIX = ".dsdoctor-incomplete"
#: The provenance record beside an output (``sources/provenance.py``'s ``SIDECAR_SUFFIX``): a
#: member of the group of the output it describes.
RECORD_SUFFIX = ".dsdoctor.json"


def marker_for(main: Path) -> Path:
    """The marker of the group whose main file is ``main``."""
    return main.with_name(main.name + SUFFIX)


def interrupted_marker(path: Path) -> Path | None:
    """The marker of an interrupted group ``path`` belongs to, or ``None``.

    ``path`` is the main file or a sibling ``STEM.ROLE.EXT`` of the main file ``STEM.EXT`` (a
    role has no dot), so two names are looked up."""
    name = path.name
    candidates = [name]
    stem, dot, ext = name.rpartition(".")
    if dot and "." in stem:
        candidates.append(f"{stem.rpartition('.')[0]}.{ext}")
    if name.endswith(RECORD_SUFFIX):  # OUT.dsdoctor.json, the record of OUT.EXT (any EXT)
        pattern = glob.escape(name[: -len(RECORD_SUFFIX)]) + ".*" + SUFFIX
        candidates += sorted(m.name[: -len(SUFFIX)] for m in path.parent.glob(pattern))
    for main in candidates:
        marker = path.with_name(main + SUFFIX)
        try:
            members = json.loads(_read(marker)).get("files", [])
        except FileNotFoundError:
            continue
        except (OSError, ValueError, AttributeError):
            members = [name]  # unreadable: being written, or damaged — assume it is ours
        if name in members:
            return marker
    return None


#: A marker lists three names; anything much larger is not one of ours.
_MAX_MARKER_BYTES = 1 << 16


def _read(marker: Path) -> str:
    """A marker's text; never through a symlink and never blocking on a pipe planted at its
    name (:class:`OSError` for anything but a regular file: the caller refuses the group)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    if not os.path.lexists(marker):
        raise FileNotFoundError(marker)
    fd = os.open(marker, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{marker} is not a regular file")
        return os.read(fd, _MAX_MARKER_BYTES).decode("utf-8")
    finally:
        os.close(fd)
