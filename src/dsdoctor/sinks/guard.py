"""The output guard: no file a command writes may be one of its inputs, or another of its outputs.

Every writer calls :func:`guard_outputs` with the complete list of files it will write — the
``-o`` file and every sibling (``OUT.mask.npy``, ``OUT.lengths.npy``), a report, a spec, the
folder ``bucket`` fills — and the command's inputs, before it creates anything. Paths are
compared by what they are, not how they are spelled: an existing file by device and inode (so a
symlink, a hard link, ``./x`` and ``x``, a symlinked folder all match), a file that does not
exist yet by its resolved folder's device and inode plus its name. An output inside an input
folder (a shard folder, a Parquet dataset) would change that input, so it is refused too; so is
an output a shard glob would match once written (``-o sh/new.npy`` with ``'sh/*.npy'``: the
next run would read it as a shard), and an input inside an output folder that is replaced as a
whole.
"""

from __future__ import annotations

import fnmatch
import glob
import os
from collections.abc import Iterable
from pathlib import Path

from ..errors import OutputError

#: What a path is: ``("inode", dev, ino)`` for an existing file or folder, ``("entry", dev, ino,
#: name)`` for a name in a folder (dev, ino: the folder's).
Identity = tuple


def guard_outputs(
    outputs: Iterable[str | Path],
    inputs: Iterable[str | Path] = (),
    *,
    folder: str | Path | None = None,
) -> None:
    """Raise :class:`OutputError` if an output is an input, lies in an input folder, or is
    another output; with ``folder`` (an output folder replaced as a whole), if an input lies in
    it. Inputs may be files, folders or glob patterns; inputs that do not exist are ignored."""
    outs = [Path(p) for p in outputs]
    input_paths = _expand(inputs)
    taken: dict[Identity, int] = {}
    for i, out in enumerate(outs):
        for ident in _identities(out):
            if taken.setdefault(ident, i) != i:
                raise OutputError(
                    f"{outs[taken[ident]]} and {out} are the same file; each output needs "
                    "its own name"
                )
    for pattern in _globs(inputs):
        for out in outs:  # (``outputs`` may be an iterator, already used up above)
            if _matches(out, pattern):
                raise OutputError(
                    f"{out} would become one of the input shards {pattern}; inputs are never "
                    "modified — choose an output the pattern does not match"
                )
    for src in input_paths:
        src_ids = _identities(src)
        for out in outs:
            if src_ids & _identities(out):
                raise OutputError(_is_input(out, src))
            if src.is_dir() and _inside(out, src):
                raise OutputError(
                    f"{out} would be written into the input folder {src}; inputs are never "
                    "modified — choose an output outside it"
                )
        if folder is not None and (src_ids & _identities(Path(folder)) or _inside(src, folder)):
            raise OutputError(
                f"{src} is an input inside the output folder {folder}, which is replaced as a "
                "whole; inputs are never modified — choose another output folder"
            )


def source_paths(texts: Iterable[str | None]) -> list[Path]:
    """The paths that the sources ``PATH[:SELECTOR]`` read (``-`` and ``None`` read none)."""
    from ..errors import DsdoctorError
    from ..sources import parse_source

    paths = []
    for text in texts:
        if text is None:
            continue
        try:
            spec = parse_source(str(text))
        except DsdoctorError:
            continue  # not a source that exists: nothing of it can be overwritten
        if str(spec.path) != "-" and isinstance(
            spec.path, Path
        ):  # (a URL cannot be a local output)
            paths.append(spec.path)
    return paths


def _is_input(out: Path, src: Path) -> str:
    if os.path.abspath(out) == os.path.abspath(src):
        return f"{out} is the input; inputs are never modified — write to another file"
    return (
        f"{out} is the same file as the input {src}; inputs are never modified — write to "
        "another file"
    )


def _expand(inputs: Iterable[str | Path]) -> list[Path]:
    paths: list[Path] = []
    for p in inputs:
        text = str(p)
        if os.path.lexists(text):
            paths.append(Path(text))
        elif any(c in text for c in "*?["):
            paths += [Path(q) for q in sorted(glob.glob(text))]
    return paths


def _globs(inputs: Iterable[str | Path]) -> list[str]:
    from ..sources.shards import GLOB_CHARS

    return [
        str(p)
        for p in inputs
        if any(c in str(p) for c in GLOB_CHARS) and not os.path.lexists(str(p))
    ]


def _matches(out: Path, pattern: str) -> bool:
    """Whether ``glob.glob(pattern, recursive=True)`` would list ``out`` once it exists: its
    folder (by identity) is one the folder part matches and its name matches the last part
    (a hidden name only by a pattern that starts with a dot, as glob does)."""
    head, tail = os.path.split(pattern)
    if tail == "**":  # everything below the folders ``head`` matches
        return any(_inside(out, d) for d in glob.glob(head or ".", recursive=True))
    if out.name.startswith(".") and not tail.startswith("."):
        return False
    if not fnmatch.fnmatchcase(out.name, tail):
        return False
    try:
        parent = os.stat(os.path.realpath(out.parent))
    except OSError:
        return False
    for folder in glob.glob(head or ".", recursive=True):
        try:
            st = os.stat(folder)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (parent.st_dev, parent.st_ino):
            return True
    return False


def _identities(path: Path) -> set[Identity]:
    """The inode the name leads to (through every link) and the directory entry it names."""
    ids: set[Identity] = set()
    try:
        st = os.stat(path)
        ids.add(("inode", st.st_dev, st.st_ino))
    except OSError:
        pass
    for candidate in {path, Path(os.path.realpath(path))}:
        try:
            parent = os.stat(os.path.realpath(candidate.parent))
        except OSError:
            continue
        ids.add(("entry", parent.st_dev, parent.st_ino, candidate.name))
    return ids


def _inside(path: str | Path, folder: str | Path) -> bool:
    """Whether ``path`` (resolved through every link) lies somewhere below ``folder``."""
    try:
        st = os.stat(folder)
    except OSError:
        return False
    target = (st.st_dev, st.st_ino)
    here = Path(os.path.realpath(path)).parent
    while True:
        try:
            s = os.stat(here)
        except OSError:
            s = None
        if s is not None and (s.st_dev, s.st_ino) == target:
            return True
        if here.parent == here:
            return False
        here = here.parent


def replaced_whole(path: Path | str, kind: str, held: list[str]) -> str:
    """The refusal for an output onto an existing store or file: it is replaced whole, with
    every array it holds (dsdoctor never adds an array to an existing one: that would modify it
    in place, and could not be atomic)."""
    shown = ", ".join(held[:8]) + (" …" if len(held) > 8 else "")
    what = f" and holds {len(held)} array(s) ({shown})" if held else ""
    return (
        f"{path} exists{what}; dsdoctor writes a whole new {kind} in its place (it never adds "
        f"an array to an existing one): pass --force to replace it and everything in it, or "
        f"write to a new {kind}"
    )
