"""Open ``PATH[:SELECTOR]`` sources of every format behind one function.

Each format lives in its own module and is imported only when a file of that format is opened,
so ``inspect x.npy`` never imports h5py or pyarrow. Which module reads which file is
:mod:`dsdoctor.formats`' table: the extension, else the first bytes, names the format, and the
format's row names its reader.
"""

from __future__ import annotations

import glob
import os
from collections import Counter
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import DsdoctorError, SourceError, UsageError
from ..formats import (
    BY_NAME,
    NAMES,
    SNIFF_BYTES,
    by_directory,
    by_magic,
    directory_formats,
    has_magic,
    marked_directory,
    read_by_name,
    read_extensions_text,
    unread_by_magic,
    unread_by_name,
    unread_message,
)
from ..locations import Location, is_url, open_binary
from ..locations import storage_options as using_storage
from .base import DEFAULT_CHUNK_BYTES, ArrayHandle, Entry, Source

__all__ = [
    "DEFAULT_CHUNK_BYTES",
    "ArrayHandle",
    "Entry",
    "Source",
    "SourceSpec",
    "detect_format",
    "open_array",
    "open_source",
    "parse_source",
]  # fmt: skip

#: The keywords that say how a CSV is written (``--delimiter``, ``--header/--no-header``,
#: ``--decimal``): every function that opens a source passes them on.
DIALECT = ("delimiter", "header", "decimal")

#: The format standard input and pipes are read as: it is read front to back, so a stream can
#: be spooled to a file as it arrives (:func:`.npy.spool_npy`); every other format seeks.
STREAM_FORMAT = "npy"


@dataclass(frozen=True)
class SourceSpec:
    """A parsed ``PATH[:SELECTOR]``: a local path, or the :class:`~dsdoctor.locations.Location`
    of a URL (``s3://bucket/train.h5:/x``)."""

    path: Path | Location
    selector: str | None
    text: str

    @property
    def display(self) -> str:
        if isinstance(self.path, Location):
            return self.path.display
        return str(self.path) if str(self.path) != "-" else "<stdin>"


def parse_source(text: str) -> SourceSpec:
    """Split ``train.h5:/x`` into path and selector; the path must exist. A URL's selector
    follows the first ``:`` after its host (``s3://b/train.h5:/x``); it is read with the
    storage options of the command (:func:`dsdoctor.locations.storage_options`)."""
    if text == "-" or text.startswith("-:"):
        return SourceSpec(Path("-"), text[2:] or None, text)
    if is_url(text):
        return _parse_url(text)
    from .shards import is_glob

    if os.path.exists(text) or (is_glob(text) and glob.glob(text)):
        return SourceSpec(Path(text), None, text)
    idx = text.find(":")
    while idx != -1:
        head, tail = text[:idx], text[idx + 1 :]
        if head and (os.path.exists(head) or (is_glob(head) and glob.glob(head))):
            return SourceSpec(Path(head), tail or None, text)
        idx = text.find(":", idx + 1)
    path = text.split(":", 1)[0] if ":" in text else text
    raise SourceError(f"{path}: no such file or directory")


def _parse_url(text: str) -> SourceSpec:
    """``s3://bucket/train.h5:/x`` → the object's location and ``/x``; the object must exist
    (one request: a missing bucket or key, no credentials, a 403 are one line naming the URL).
    A key with a ``:`` of its own is read whole when the part before it is not an object."""
    from ..locations import location

    host_end = text.find("/", text.index("://") + 3)
    colon = text.find(":", host_end) if host_end != -1 else -1
    url, selector = (text[:colon], text[colon + 1 :] or None) if colon != -1 else (text, None)
    loc = location(url)
    from .shards import is_glob

    if is_glob(urlsplit(url).path):  # s3://b/dir/*.parquet: its objects are listed on opening
        return SourceSpec(loc, selector, text)
    try:
        loc.info()
    except SourceError:
        if _store_by_metadata(loc):  # a Zarr store over HTTP: its folder is no object
            return SourceSpec(loc, selector, text)
        if colon == -1 and _http_folder(loc):  # ``…/spark``: the server has ``spark/``
            from .dataset import refuse_unlisted

            refuse_unlisted(loc)
        if colon == -1:
            raise
        whole = location(text)
        if not whole.exists():
            raise
        return SourceSpec(whole, None, text)
    return SourceSpec(loc, selector, text)


def _store_by_metadata(loc: Location) -> bool:
    """Whether the URL ``loc`` is a Zarr store whose folder is no object of its own (a static
    HTTP server serves the store's files, not its folder): one of its metadata keys is there."""
    named = read_by_name(loc.name)
    if named is None or not named.directory or not named.markers:
        return False
    return any((loc / marker).exists() for marker in named.markers)


def directory_format(path: Path) -> str:
    """The format the directory ``path`` is read as: the directory format its name says
    (``store.zarr``), else the one whose marker files it holds, else Parquet."""
    named = read_by_name(path.name)
    if named is not None and named.directory:
        return named.name
    return by_directory(os.listdir(path)).name


def sniff(path: Path | Location) -> str | None:
    """Guess a format from the first bytes (for unknown extensions and HDF5 user blocks)."""
    if isinstance(path, Path) and path.is_dir():
        return directory_format(path)
    fmt = by_magic(_head(path))
    return fmt.name if fmt else None


def _head(path: Path | Location) -> bytes:
    with open_binary(path) as fp:
        return fp.read(SNIFF_BYTES)


def detect_format(path: Path | Location, forced: str | None) -> str:
    """The format ``path`` is read as: ``forced`` (``--source-format``), else its extension
    (unless its first bytes are another format's magic number while the extension's own is
    missing: a classic netCDF ``.nc`` is not HDF5), else its magic number
    (:mod:`dsdoctor.formats`); a directory is a Parquet dataset. A format dsdoctor knows but
    does not read (:data:`~dsdoctor.formats.UNREAD`: TFRecord, a pickle, …) is refused in
    one line saying what it is."""
    if forced:
        if forced not in BY_NAME:
            raise UsageError(
                f"unknown --source-format {forced!r}; choose one of {', '.join(NAMES)}"
            )
        return forced
    ext = path.suffix.lower()
    if isinstance(path, Path) and path.is_dir():
        return directory_format(path)
    by_ext = read_by_name(path.name)
    # a URL named by its extension is not fetched twice: its reader checks the magic number
    # (but a .nc is netCDF-4, which is HDF5, or classic netCDF-3: its first bytes say which)
    remote_named = by_ext is not None and not isinstance(path, Path) and ext != ".nc"
    head = _head(path) if path.is_file() and not remote_named else b""
    if by_ext and (not by_ext.magic or has_magic(by_ext, head) or not head):
        return by_ext.name
    named = None if by_ext else unread_by_name(path.name)  # a .pt is a zip, but not an .npz
    if named is not None:
        raise SourceError(unread_message(str(path), named))
    guessed = by_magic(head)
    if guessed:
        return guessed.name
    unread = unread_by_magic(head)
    if unread is not None:
        raise SourceError(unread_message(str(path), unread))
    if by_ext:
        return by_ext.name  # its reader says what is wrong with it
    raise SourceError(
        f"{path}: unknown file type {ext or '(no extension)'}; dsdoctor reads "
        f"{read_extensions_text()} — name the format with --source-format"
    )


def refuse_unread_directory(path: Path, display: str) -> None:
    """A directory that is a dataset of a format dsdoctor does not read (a ``.lance`` folder), or
    that holds only files of such formats (TFRecord shards), in one line."""
    named = unread_by_name(path.name)
    if named is not None and named.directory:
        raise SourceError(unread_message(display, named))
    try:
        names = [n for n in os.listdir(path) if not n.startswith((".", "_"))]
    except OSError:
        return
    if BY_NAME[directory_format(path)].markers or any(read_by_name(n) for n in names):
        return
    kinds = {u.label: u for n in names if (u := unread_by_name(n)) is not None}
    if kinds:
        hint = next(iter(kinds.values())).hint if len(kinds) == 1 else ""
        raise SourceError(f"{display} holds only files dsdoctor does not read ({'; '.join(kinds)}); "
                          f"it reads {read_extensions_text()}" + (f" — {hint}" if hint else ""))  # fmt: skip


def open_array(
    source,
    *,
    format: str | None = None,
    target: str | None = None,
    allow_pickle: bool = False,
    follow_external: bool = False,
    delimiter: str | None = None,
    header: bool | None = None,
    decimal: str | None = None,
    storage_options: Any = None,
) -> ArrayHandle:
    """A lazy handle on one array: ``PATH[:SELECTOR]`` (a path-like too), or an array already in
    memory (a numpy array, a list of sequences, a pyarrow array) wrapped as a handle. ``target``
    names a table column left out of the table's inputs (``--target``); ``delimiter``,
    ``header`` and ``decimal`` say how a CSV is written (see :func:`open_source`);
    ``storage_options`` those of a URL (see :func:`open_source`)."""
    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    if isinstance(source, Location):  # (its options, unless others are given)
        source, storage_options = source.url, storage_options or dict(source.options)
    if not isinstance(source, str):
        from .memory import as_handle

        return as_handle(source, "array")
    with using_storage(storage_options):
        spec = parse_source(source)
        src = open_source(spec, format=format, target=target, allow_pickle=allow_pickle,
                          follow_external=follow_external, delimiter=delimiter, header=header,
                          decimal=decimal)  # fmt: skip
    return src.array(spec.selector)


def open_source(
    text: str | SourceSpec,
    *,
    format: str | None = None,
    target: str | None = None,
    allow_pickle: bool = False,
    follow_external: bool = False,
    delimiter: str | None = None,
    header: bool | None = None,
    decimal: str | None = None,
    one_pass: bool = False,
    storage_options: Any = None,
) -> Source:
    """Open a file (or Parquet directory, or ``-`` for a .npy stream) as a :class:`Source`.
    ``delimiter``, ``header`` and ``decimal`` say how a CSV is written (None: sniffed from its
    head, :mod:`dsdoctor.sources.csv_dialect`); other formats take no notice of them.
    ``one_pass``: a CSV's types are those of its first block until the first read of every row
    checks them (:mod:`dsdoctor.sources.csv`; that read may raise
    :class:`~dsdoctor.sources.base.TypesChanged`); shards are opened the usual way.
    ``storage_options``: ``KEY=VALUE`` strings (or a mapping) for a URL's file system
    (``--storage-option``; :mod:`dsdoctor.locations`), with the credentials of the environment."""
    if storage_options:
        with using_storage(storage_options):
            return open_source(text, format=format, target=target, allow_pickle=allow_pickle,
                               follow_external=follow_external, delimiter=delimiter,
                               header=header, decimal=decimal, one_pass=one_pass)  # fmt: skip
    spec = parse_source(text) if isinstance(text, str) else text
    dialect: dict[str, Any] = {"delimiter": delimiter, "header": header, "decimal": decimal}
    path = spec.path
    if isinstance(path, Location):
        return _open_remote(path, spec, format, target, {"allow_pickle": allow_pickle,
                            "follow_external": follow_external, "one_pass": one_pass, **dialect})  # fmt: skip
    if path.is_dir() and format is None:
        refuse_unread_directory(path, spec.display)
    shards = _shards(path)
    if shards is not None:
        from .shards import ShardedSource, table_dataset

        table = table_dataset(str(path), shards, target=target)
        if table is not None:  # a glob of Parquet files: one table
            return table

        def opener(f: str) -> Source:
            return open_source(f, format=format, allow_pickle=allow_pickle,
                               follow_external=follow_external, **dialect)  # fmt: skip

        if target is not None:
            raise UsageError(
                "--target works on one table; for a sharded table point dsdoctor at the Parquet directory"
            )
        return ShardedSource(spec.display, shards, opener, spec.selector, origin=str(spec.path))
    if str(path) == "-":
        from .npy import spool_stdin

        path = spool_stdin()  # removed when the process leaves, however it leaves
        fmt = STREAM_FORMAT
    elif _is_stream(path):
        path = _spool_stream(path, spec.display, format)
        fmt = STREAM_FORMAT
    else:
        folders = directory_formats()
        if path.is_dir() and format is not None and format not in [f.name for f in folders]:
            labels = " or ".join(f.label for f in folders)
            raise SourceError(f"{path} is a directory; only {labels} datasets can be directories")
        _refuse_interrupted(path, spec.display)  # whatever its format: first
        fmt = detect_format(path, format)
    if target is not None and not BY_NAME[fmt].is_table:
        raise UsageError(f"--target names a table column, but {spec.display} is {fmt}, not a table")
    try:
        given = {"target": target, "allow_pickle": allow_pickle,
                 "follow_external": follow_external, "one_pass": one_pass, **dialect}  # fmt: skip
        return _open(fmt, path, spec.display, given)
    except PermissionError:
        raise SourceError(f"{spec.display}: permission denied") from None
    except IsADirectoryError:
        raise SourceError(f"{spec.display} is a directory; name a file") from None
    except FileNotFoundError:
        raise SourceError(f"{spec.display}: no such file or directory") from None


def _open_remote(loc: Location, spec: SourceSpec, format: str | None, target: str | None,
                 given: dict[str, Any]) -> Source:  # fmt: skip
    """What a URL names: an object, read by its format's reader through
    :func:`~dsdoctor.locations.open_binary`; a store or folder of a directory format (a Zarr
    store, a Hugging Face ``save_to_disk`` folder), read by its reader; a folder (a prefix) or
    a glob of table files (Parquet, Arrow IPC), one table listed through fsspec, whose files are
    the tasks of ``--jobs`` and of Dask workers, which fetch them themselves."""
    from .shards import is_glob

    if is_glob(urlsplit(loc.url).path):
        from .shards import remote_glob

        return _remote_files(loc, spec, remote_glob(loc), format, target, given)
    folder = remote_directory_format(loc, format)
    if folder is None:
        fmt = detect_format(loc, format)
    elif folder == "":  # a folder of files, no dataset format of its own
        from .dataset import remote_dataset_files

        return _remote_files(loc, spec, remote_dataset_files(loc), format, target, given)
    else:
        fmt = folder
    if target is not None and not BY_NAME[fmt].is_table:
        raise UsageError(f"--target names a table column, but {spec.display} is {fmt}, not a table")
    return _open(fmt, loc, spec.display, {"target": target, **given})


def remote_directory_format(loc: Location, forced: str | None) -> str | None:
    """The directory format the URL ``loc`` is a store or folder of (the one its name says,
    ``x.zarr``, else the one whose marker files — :func:`~dsdoctor.formats.marked_directory`,
    as for a local folder — are at its top); ``""`` for a folder of files with no format of its
    own (a Parquet folder); None for an object."""
    named = read_by_name(loc.name)
    if named is not None and named.directory:
        return named.name
    if loc.protocol in ("http", "https"):  # a folder cannot be told from a file, or listed
        folder = loc.url.endswith("/")
        if not folder and loc.suffix:
            return None  # a file's name: read as one
        from ..formats import FORMATS

        for f in FORMATS:  # (a name with no extension, or a folder: its marker files)
            if f.directory and any((loc / m).exists() for m in f.markers):
                return f.name
        if not folder and _http_folder(loc):  # ``…/spark``: the server has ``spark/``
            from .dataset import refuse_unlisted

            refuse_unlisted(loc)
        return "" if folder else None  # (a folder is refused when its files are listed)
    if not loc.is_dir():
        return None
    if forced is not None and BY_NAME[forced].directory and BY_NAME[forced].markers:
        return forced  # (--source-format zarr on a prefix)
    from ..locations import failures

    with failures(loc):
        names = [str(n).rstrip("/").rsplit("/", 1)[-1] for n in loc.fs.ls(loc.url, detail=False)]
    marked = marked_directory(names)
    return marked.name if marked is not None else ""


def folder_not_read(text: str) -> list[dict[str, str]]:
    """The entries of the folder ``text`` (a local folder or a listable URL's prefix) that
    reading it leaves out, each ``{"entry", "why"}`` (``entry`` relative to the folder): a file
    of a format dsdoctor does not read (TFRecord, ``.pt``), a file of another format than the
    folder's, a store or folder that is a dataset of its own (``feat.zarr``: the command that
    reads it, never walked), and a subfolder of a folder read by its top files only (npy
    shards, ``X_train.npy``/``y_train.npy``; a Parquet or Arrow folder is walked, partitions
    and all). Empty for a file, a store, a dataset folder of markers, or what cannot be listed;
    the report names them (``not_read``), so nothing in a folder goes unread in silence."""
    if is_url(text):  # (a file's URL costs no request here)
        name = text.rstrip("/").rsplit("/", 1)[-1]
        if urlsplit(text).scheme in ("http", "https") or read_by_name(name.split(":")[0]):
            return []
    try:
        spec = parse_source(text)
    except DsdoctorError:
        return []
    if spec.selector is not None:
        return []
    path = spec.path
    if read_by_name(path.name) is not None:
        return []
    listdir: Any
    if isinstance(path, Location):
        try:
            if not path.is_dir():
                return []
            base = path.fs._strip_protocol(path.url).rstrip("/")
            rels = [k[len(base) :].lstrip("/") for k in path.fs.find(base, withdirs=False)]
        except (OSError, DsdoctorError, ValueError):
            return []
        from .dataset import folder_children

        children = folder_children(rels)
        children[""] = {r.split("/", 1)[0] for r in rels if r}

        def listdir(rel: str) -> dict[str, bool]:
            return {n: f"{rel}/{n}".lstrip("/") in children for n in children.get(rel, ())}
    else:
        if not path.is_dir():
            return []

        def listdir(rel: str) -> dict[str, bool]:
            try:
                return {n: (path / rel / n).is_dir() for n in os.listdir(path / rel)}
            except OSError:
                return {}

    return entries_not_read(listdir, spec.display.rstrip("/"))


def entries_not_read(listdir, where: str) -> list[dict[str, str]]:
    """:func:`folder_not_read` of the folder whose ``listdir(REL)`` says, for each name in its
    subfolder ``REL`` (``""``: the folder), whether it is a folder; ``where`` names it."""
    from .dataset import folder_format, is_ignored, not_read_why, reads_subfolders

    top = listdir("")
    if marked_directory(top) is not None:
        return []  # one dataset (a Hugging Face folder), read whole
    keep = folder_format([n for n, d in top.items() if not d])
    deep = reads_subfolders(keep)
    out: list[dict[str, str]] = []

    def visit(rel: str, entries: dict[str, bool]) -> None:
        for name in sorted(entries):
            if is_ignored(name):
                continue
            entry = f"{rel}/{name}" if rel else name
            sub = listdir(entry) if entries[name] else {}
            why = not_read_why(name, entries[name], sub, keep, f"{where}/{rel}".rstrip("/"))
            if why is None and entries[name] and not deep:
                why = (f"a subfolder: {where} is read by the files at its top; check "
                       f"{where}/{entry} on its own")  # fmt: skip
            if why is not None:
                out.append({"entry": entry, "why": why})
            elif entries[name]:
                visit(entry, sub)

    visit("", top)
    return out


def _http_folder(loc: Location) -> bool:
    """Whether the http(s) URL ``loc``, named with no extension, is no object but a folder: the
    server has nothing at the name (or only a redirect) but answers at ``name/`` (an index)."""
    if loc.protocol not in ("http", "https") or loc.suffix or loc.url.endswith("/"):
        return False
    try:
        try:
            info = loc.info()
        except SourceError as exc:
            if not (isinstance(exc.__cause__, FileNotFoundError) or "no such" in str(exc)):
                return False
            return Location(loc.url + "/", loc.options).exists()
        return str(info.get("url", "")).endswith("/")  # redirected to ``name/``
    except (OSError, DsdoctorError, ValueError):
        return False


def remote_folder_files(text: str) -> list[str] | None:
    """The URLs of the objects directly in the folder (prefix) ``text`` names, in key order
    (hidden and ``_``-prefixed names skipped), for reading them one by one as a local folder's
    files are; None when ``text`` names no listable folder."""
    from .dataset import is_ignored

    loc = Location(text)
    if loc.protocol in ("http", "https") or read_by_name(loc.name) is not None:
        return None
    from ..locations import failures

    if not loc.is_dir():
        return None
    with failures(loc):
        found = loc.fs.ls(loc.url, detail=True)
    head = loc.url[: loc.url.index("://") + 3]
    keys = sorted(str(i["name"]) for i in found if i.get("type") == "file")
    return [head + k.lstrip("/") for k in keys if not is_ignored(k.rsplit("/", 1)[-1])]


def _remote_files(loc: Location, spec: SourceSpec, files: list[Location], format: str | None,
                  target: str | None, given: dict[str, Any]) -> Source:  # fmt: skip
    """Objects at URLs as one dataset: a table of Parquet or Arrow files, else shards of one
    format (``.npy`` files), each opened by its reader."""
    from .shards import ShardedSource, table_dataset

    if not files:
        skipped = folder_not_read(loc.url)
        if skipped:
            listed = "; ".join(f"{e['entry']}: {e['why']}" for e in skipped[:5])
            raise SourceError(
                f"{spec.display} holds nothing dsdoctor reads as one dataset ({listed})"
            )
        raise SourceError(f"{spec.display} holds no objects")
    table = table_dataset(loc.url, files, target=target, display=spec.display)
    if table is not None:
        return table
    kinds = {f.name: read_by_name(f.name) for f in files}
    found = {k.name for k in kinds.values() if k is not None}
    if len(found) != 1 or None in kinds.values():
        odd = next((n for n, k in kinds.items() if k is None), None)
        counts = Counter(k.name for k in kinds.values() if k is not None)
        most = BY_NAME[counts.most_common(1)[0][0]] if counts else None
        example = (
            f"{loc.display.rstrip('/')}/*{most.extensions[0]}" if most and most.extensions else None
        )
        raise SourceError(
            f"{spec.display} mixes formats ({', '.join(sorted(found)) or 'none dsdoctor reads'}"
            + (f"; {odd} is none it reads" if odd else "")
            + "); point dsdoctor at one kind"
            + (f", e.g. a glob such as {example}" if example else "")
        )
    if target is not None:
        raise UsageError(
            "--target works on one table; for a sharded table point dsdoctor at the Parquet folder"
        )

    def opener(url: str) -> Source:
        one = Location(url, loc.options)
        return _open(detect_format(one, format), one, one.display, {"target": None, **given})

    return ShardedSource(spec.display, [f.url for f in files], opener, spec.selector,
                         origin=loc.url)  # fmt: skip


def _is_stream(path: Path) -> bool:
    """A pipe, a device, a socket (``<(producer)`` is ``/dev/fd/N``): not a regular file or
    directory, so it cannot be seeked, and may never end."""
    import stat

    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False  # opening it reports the error
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _spool_stream(path: Path, display: str, forced: str | None) -> Path:
    """A ``.npy`` stream copied to a temporary file (removed at exit); every other format needs
    to seek (a zip's directory and a Parquet footer are at the end; HDF5 jumps around; CSV is
    read in several passes), so it is refused before anything is read."""
    by_ext = read_by_name(path.name)
    fmt = forced or (by_ext.name if by_ext else None)
    if fmt not in (None, STREAM_FORMAT):
        raise SourceError(
            f"{display} is not a regular file (a pipe or device); reading {fmt} needs a seekable "
            f"file: save it to a file first (e.g. cat {display} > data{path.suffix or '.' + fmt})"
        )
    from .npy import spool_npy

    try:
        with open(path, "rb") as stream:
            return spool_npy(stream.fileno(), display)  # removed when the process leaves
    except PermissionError:
        raise SourceError(f"{display}: permission denied") from None
    except OSError as exc:
        raise SourceError(f"{display} cannot be read ({exc.strerror or exc})") from None


def _refuse_interrupted(path: Path, display: str) -> None:
    """A file of a multi-file output whose commit was interrupted may mix two runs: refused
    (see :mod:`dsdoctor.markers`), by its name and by the name a symlink leads to (a link to
    ``z.npy`` read the mixed group)."""
    from ..markers import interrupted_marker

    marker = None
    for name in dict.fromkeys([path, Path(os.path.realpath(path))]):
        if not name.name:  # `.`: its real path names it
            continue
        marker = interrupted_marker(name)
        if marker is not None:
            break
    if marker is not None:
        raise SourceError(
            f"{display} belongs to an output that is being written or whose writing was "
            f"interrupted ({marker} is there), so its files may come from two different runs; "
            "rerun the command that wrote it with --force, or delete "
            f"{marker.name} if you know the files belong together"
        )


def _shards(path: Path) -> list[str] | None:
    from .shards import directory_shards, expand, is_glob

    text = str(path)
    if is_glob(text):
        return expand(text)
    if path.is_dir():
        if BY_NAME[directory_format(path)].markers:
            return None  # a store that is one dataset (Zarr), whatever files it holds
        return directory_shards(path)
    return None


def _open(fmt: str, path: Path | Location, display: str, given: dict[str, Any]) -> Source:
    """The format's reader (its row in :mod:`dsdoctor.formats`), given the options it takes."""
    row = BY_NAME[fmt]
    module, name = row.reader.split(":")
    reader = getattr(import_module(f".{module}", __package__), name)
    source: Source = reader(path, display, **{option: given[option] for option in row.options})
    return source
