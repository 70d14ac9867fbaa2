"""Many files of one table format as one table: a folder of Parquet files (walked recursively, as
Spark, Hive, ``pandas.to_parquet(partition_cols=…)`` and ``pyarrow.parquet.write_to_dataset``
write them) or a glob of them.

- **Which files**: every regular file under the folder except hidden and ``_``-prefixed names
  (files and folders: Spark's ``_SUCCESS``, ``_committed_*``, ``_started_*``, ``_temporary/``;
  Parquet's ``_metadata``) and Hadoop's ``.crc`` checksums (``.part-0000….parquet.crc``), the
  names ``pyarrow.dataset`` skips too. A file that is not of the format is an error naming it:
  it would be data left out in silence.
- **Hive partitions**: ``key=value`` folders between the dataset's root and a file are columns
  of that file's rows, typed as ``pyarrow.dataset``'s hive discovery types them
  (:func:`partition_types`: ``int32`` when every value is a 32-bit integer, else ``string``;
  ``__HIVE_DEFAULT_PARTITION__`` is null; values are URL-decoded).
- **One schema**: each file's footer is read once. The columns and types most files share (the
  first file's on a tie) are the dataset's; a file with other columns or types is not read
  and is named in :attr:`FileDataset.mismatched` (``check``'s ``shard-schema-mismatch``, DS704)
  rather than refused (one odd file stopped the whole check) or read as nulls (pyarrow takes
  the first file's schema: a column another file lacks reads as NaN data or is never checked).
- **Pieces**: each file is a piece the engine can hand a worker (:class:`Piece`), and a file of
  more than :data:`PIECE_BYTES` is cut into runs of whole row groups, so that a few large files
  still spread over ``--jobs`` workers. A worker opens its piece with the dataset's schema and
  the piece's partition values (:meth:`Piece.open`), and its rows are the same rows, in the
  same order, that a serial read gives.

A format joins by providing :class:`FileFormat`'s three functions (Parquet:
:data:`dsdoctor.sources.parquet.PARQUET_FILES`; an Arrow IPC file's record batches are its
"row groups").
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import numpy as np
import pyarrow as pa

from ..errors import SourceError
from ..locations import Location
from .table import TableArray, TableSource

#: A file bigger than this is cut into pieces of whole row groups (a 1 GiB file written with
#: pyarrow's default row groups of 1 Mi rows is 4 pieces). Every piece opens its file again and
#: warms a fresh reader: with 64 MiB pieces, ``check --jobs 2`` of 8 x 256 MiB files took
#: 1.3-2.1 s of system time (page faults: 97,000-150,000) against 0.7-1.0 s (58,000-68,000)
#: with whole files, and 0.8 s serial (2026-11-29, 2 cpus, load average ~10).
PIECE_BYTES = 256 * 1024**2

#: The value Hive writes for a null partition key.
HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"
_INT = re.compile(r"-?[0-9]+")
_INT32 = (-(2**31), 2**31 - 1)


@dataclass(frozen=True)
class FileFacts:
    """What a file's footer says: its schema, and each row group's rows and uncompressed bytes."""

    schema: pa.Schema
    group_rows: tuple[int, ...]
    group_bytes: tuple[int, ...]


@dataclass(frozen=True)
class FileFormat:
    """How a table format's files are read as parts of a dataset.

    - ``facts(path, display)``: the footer (:class:`FileFacts`), with ``SourceError`` naming a
      file that is not of the format or cannot be read;
    - ``batches(path, display, columns, rows, groups, threads)``: record batches of about
      ``rows`` rows of row groups ``[first, stop)`` of the file, holding ``columns``;
    - ``label``: how messages name the format."""

    label: str
    facts: Callable[[str, str], FileFacts]
    batches: Callable[..., Iterator[pa.RecordBatch]]


@dataclass(frozen=True)
class Part:
    """Row groups ``[groups[0], groups[1])`` of one file, with its partition values."""

    path: str | Location  # a local file, or an object at a URL (read with its storage options)
    groups: tuple[int, int]
    values: tuple[Any, ...]
    rows: int
    nbytes: int


def is_ignored(name: str) -> bool:
    """Names that are not data in a dataset folder (as pyarrow.dataset skips them)."""
    return name.startswith((".", "_")) or name.lower().endswith(".crc")


def not_read_why(name: str, is_dir: bool, children: Iterable[str], keep: str | None,
                 where: str) -> str | None:  # fmt: skip
    """Why the entry ``name`` of a folder read as files of the format ``keep`` (None: files of
    whichever format their names say) is not one of them, in words; None when it is read (or is
    a subfolder walked for more files, or a name skipped as no data, :func:`is_ignored`). A
    store or folder that is a dataset of its own (``x.zarr``, a Hugging Face folder: by its
    name or its marker files ``children``) is one entry, never walked; ``where`` is the folder
    as the user named it, for the command that reads the entry."""
    from ..formats import BY_NAME, marked_directory, read_by_name, unread_by_name

    if is_ignored(name):
        return None
    unread = unread_by_name(name)
    if is_dir:
        named = read_by_name(name)
        own = named if named is not None and named.directory else marked_directory(children)
        if own is not None:
            return f"a {own.label} dataset of its own: check {where.rstrip('/')}/{name}"
        return (
            f"{unread.label}, which dsdoctor does not read" if unread and unread.directory else None
        )
    if unread is not None:
        return f"{unread.label}, which dsdoctor does not read"
    fmt = read_by_name(name)
    if fmt is None:  # (a Parquet folder's files need no extension: Spark's part-00000)
        return None if keep is not None and BY_NAME[keep].directory else (
            "of no format dsdoctor reads (by its name)")  # fmt: skip
    if keep is not None and fmt.name != keep:
        return (f"a {fmt.label} file among {BY_NAME[keep].label} files: check "
                f"{where.rstrip('/')}/{name} on its own")  # fmt: skip
    return None


def shown(path: str | Location) -> str:
    """How messages name a file of a dataset (a URL without its credentials)."""
    return path.display if isinstance(path, Location) else str(path)


def remote_dataset_files(root: Location, keep: str | None = None) -> list[Location]:
    """The data objects under the prefix ``root``, recursively, in key order, skipping what
    :func:`dataset_files` skips (hidden and ``_``-prefixed names, files and folders, ``.crc``
    checksums, and the entries :func:`not_read_why` names: a Zarr store inside is one entry,
    never walked): listed through fsspec (an ``http(s)://`` folder cannot be listed)."""
    from ..locations import failures
    from .shards import MAX_SHARDS

    refuse_unlisted(root)
    fs = root.fs
    with failures(root):
        base = fs._strip_protocol(root.url).rstrip("/")
        keys = sorted(fs.find(base, withdirs=False))
    rels = [key[len(base) :].lstrip("/") for key in keys]
    children = folder_children(rels)
    if keep is None:
        keep = folder_format([r.rsplit("/", 1)[-1] for r in rels if not any(
            not_read_why(p, True, children.get("/".join(r.split("/")[: i + 1]), ()), None, "")
            for i, p in enumerate(r.split("/")[:-1]))])  # fmt: skip
    out = []
    for rel in rels:
        parts = rel.split("/") if rel else []
        if not parts or any(is_ignored(part) for part in parts):
            continue
        if any(not_read_why(part, True, children.get("/".join(parts[: i + 1]), ()), keep, "")
               for i, part in enumerate(parts[:-1])):  # fmt: skip
            continue  # inside a store that is a dataset of its own (named by the report)
        if not_read_why(parts[-1], False, (), keep, "") or (
            len(parts) > 1 and not reads_subfolders(keep)
        ):
            continue  # (npy shards are the files at the folder's top, as locally)
        out.append(Location(f"{root.url.rstrip('/')}/{rel}", root.options))
    if len(out) > MAX_SHARDS:
        raise SourceError(f"{root.display} holds more than {MAX_SHARDS:,} objects; dsdoctor reads "
                          "at most that many shards (name some of them with a glob)")  # fmt: skip
    return out


def folder_format(names: Iterable[str]) -> str | None:
    """The one format the files ``names`` of a folder are read as (by their names), Parquet for
    a folder of none (a Parquet folder of files with no extension), None for several."""
    from ..formats import read_by_name, unread_by_name

    found = {f.name for n in names if not is_ignored(n) and not unread_by_name(n)
             and (f := read_by_name(n)) is not None}  # fmt: skip
    return found.pop() if len(found) == 1 else "parquet" if not found else None


def reads_subfolders(keep: str | None) -> bool:
    """Whether a folder of ``keep`` files is read with its subfolders (a Parquet or Arrow
    folder, Hive partitions and all), or by the files at its top only (npy shards)."""
    from .shards import TABLE_DATASETS

    return keep in TABLE_DATASETS


def folder_children(rels: list[str]) -> dict[str, set[str]]:
    """Each folder of the relative keys ``rels`` (``a/b``) → the names directly in it."""
    out: dict[str, set[str]] = {}
    for rel in rels:
        parts = rel.split("/")
        for i in range(1, len(parts)):
            out.setdefault("/".join(parts[:i]), set()).add(parts[i])
    return out


#: Protocols whose servers cannot list a folder: a dataset of many files is refused there.
UNLISTED = ("http", "https")


def refuse_unlisted(root: Location) -> None:
    if root.protocol in UNLISTED:
        raise SourceError(
            f"{root.display} is a folder or a glob, and {root.protocol}:// cannot list one; name "
            "its files one at a time, or read the dataset from s3://, gs:// or a local copy "
            "(a Zarr store over HTTP is read by its metadata: name the store itself)"
        )


def dataset_files(root: Path, keep: str | None = None) -> list[str]:
    """The data files under ``root``, recursively, in path order (see the module's docstring),
    without the entries :func:`not_read_why` names for a folder of ``keep`` files (a TFRecord
    file, a Zarr store: the report names them)."""
    from .shards import MAX_SHARDS

    out: list[str] = []
    for here, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not is_ignored(d) and not not_read_why(
            d, True, _listing(os.path.join(here, d)), keep, ""))  # fmt: skip
        out += [os.path.join(here, f) for f in sorted(files)
                if not is_ignored(f) and not not_read_why(f, False, (), keep, "")]  # fmt: skip
        if len(out) > MAX_SHARDS:
            raise SourceError(f"{root} holds more than {MAX_SHARDS:,} files; dsdoctor reads at "
                              "most that many shards (name some of them with a glob)")  # fmt: skip
    return [f for f in out if os.path.isfile(f)]


def _listing(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def partition_of(path: str | Location, root: str) -> dict[str, str | None]:
    """The ``key=value`` folders between ``root`` and the file ``path``, values URL-decoded."""
    rel = os.path.relpath(os.path.dirname(str(path)), str(root))
    out: dict[str, str | None] = {}
    for segment in Path(rel).parts:
        key, eq, value = segment.partition("=")
        if eq and key:
            value = unquote(value)
            out[unquote(key)] = None if value == HIVE_NULL else value
    return out


def partition_types(found: list[dict[str, str | None]]) -> dict[str, pa.DataType]:
    """Each partition key's type as pyarrow.dataset's hive discovery infers it: ``int32`` when
    every value is a 32-bit integer, else ``string``."""
    keys = list(dict.fromkeys(k for p in found for k in p))
    out = {}
    for key in keys:
        values = [p[key] for p in found if p.get(key) is not None]
        ints = bool(values) and all(_INT.fullmatch(v or "") for v in values)
        ints = ints and all(_INT32[0] <= int(v or 0) <= _INT32[1] for v in values)
        out[key] = pa.int32() if ints else pa.string()
    return out


def glob_root(pattern: str) -> str:
    """The folder a glob's files are found under (its leading part without glob characters)."""
    from .shards import GLOB_CHARS

    head = pattern
    for i, c in enumerate(pattern):
        if c in GLOB_CHARS:
            head = pattern[:i]
            break
    return os.path.dirname(head) if not head.endswith(os.sep) else head


class FileDataset(TableSource):
    """Files of one table format as one table (see the module's docstring)."""

    def __init__(self, path: Path, display: str, files: list[Any], reader: FileFormat,
                 fmt: str, *, root: str, target: str | None = None):  # fmt: skip
        if not files:
            raise SourceError(f"{display} holds no {reader.label} files")
        self.reader, self.format = reader, fmt
        facts = _all_facts(reader, files)
        found = [partition_of(f, root) for f in files]
        types = partition_types(found)
        first = _shared_schema(files, facts)
        self.mismatched: list[tuple[str, str]] = []
        parts = []
        for f, fact, where in zip(files, facts, found, strict=True):
            problem = schema_difference(shown(files[first]), facts[first].schema, shown(f),
                                        fact.schema)  # fmt: skip
            if problem:
                self.mismatched.append((shown(f), problem))
                continue
            values = tuple(where.get(k) for k in types)
            parts.append(Part(f, (0, len(fact.group_rows)), values, sum(fact.group_rows),
                              sum(fact.group_bytes)))  # fmt: skip
        base = facts[first].schema
        self.partitions = [k for k in types if k not in base.names]  # a file's own column wins
        fields = [pa.field(k, types[k]) for k in self.partitions]
        self.files = files
        by_file = dict(zip(files, facts, strict=True))
        self._init(path, display, _with(base, fields), parts,
                   {p.path: by_file[p.path] for p in parts}, types, target)  # fmt: skip

    def _init(self, path: Any, display: str, schema: pa.Schema, parts: list[Part],
              facts: dict[Any, FileFacts], types: dict[str, pa.DataType],
              target: str | None) -> None:  # fmt: skip
        self.schema = schema
        self.parts = parts
        self._facts = facts
        self._types = types
        #: pyarrow's threads decode the columns of a row group at once, in a worker too: while
        #: one process stacks and reduces a batch on one core, the other's decoding takes both
        #: (on the 2-cpu bench machine under load, workers without threads made ``--jobs 2``
        #: 0.72x a serial run that has them: a busy machine shares its cores out by thread)
        self.threads = True
        self.cut = True  # the arrays carry pieces for the engine (not in a worker)
        super().__init__(path, display, target=target)

    @classmethod
    def piece(cls, piece: Piece) -> FileDataset:
        """The dataset a worker reads: one piece, with the dataset's schema."""
        self = cls.__new__(cls)
        self.reader, self.format = piece.reader, piece.format
        self.mismatched, self.files = [], [piece.part.path]
        own = piece.facts.schema.names  # a file's own column wins over a partition key
        self.partitions = [n for n, _ in piece.partitions if n not in own]
        types = dict(piece.partitions)
        where = piece.part.path
        self._init(where if isinstance(where, Location) else Path(where), piece.display, piece.schema, [piece.part],
                   {piece.part.path: piece.facts}, types, None)  # fmt: skip
        self.cut = False
        return self

    # -- TableSource ------------------------------------------------------------------------
    @property
    def num_rows(self) -> int:
        return sum(p.rows for p in self.parts)

    def layout(self) -> dict:
        out: dict[str, Any] = {"files": len(self.parts)}
        if self.partitions:
            out["partitions"] = list(self.partitions)
        if self.mismatched:
            out["files_not_read"] = [f for f, _ in self.mismatched]
        return out

    def index_columns(self) -> list[str]:
        from .parquet import pandas_index_columns

        return pandas_index_columns(self.schema)

    def row_estimate(self, columns: list[str]) -> int:
        """Bytes per row, the most of any row group's (all columns: never an underestimate)."""
        per_row = [b / r for f in self._facts.values()
                   for r, b in zip(f.group_rows, f.group_bytes, strict=True) if r > 0]  # fmt: skip
        if not per_row:
            return super().row_estimate(columns)
        return max(1, int(max(per_row)))

    def batches(self, columns: list[str], rows: int) -> Iterator[pa.RecordBatch]:
        names = set(self.partitions)
        own = [c for c in columns if c not in names]
        fields = {f.name: f for f in self.schema}
        for part in self.parts:
            values = dict(zip(self._types, part.values, strict=True))
            for batch in self.reader.batches(part.path, f"{self.display}: {shown(part.path)}", own,
                                             rows, part.groups, self.threads):  # fmt: skip
                if len(own) == len(columns):
                    yield batch
                    continue
                n = batch.num_rows
                arrays = [
                    batch.column(c) if c not in names else _constant(values[c], fields[c].type, n)
                    for c in columns
                ]
                yield pa.RecordBatch.from_arrays(
                    arrays, schema=pa.schema([fields[c] for c in columns])
                )

    # -- pieces for the engine -------------------------------------------------------------
    def pieces(self) -> list[Part]:
        """The parts cut where a file holds more than :data:`PIECE_BYTES`, at row groups."""
        out = []
        for part in self.parts:
            facts = self._facts.get(part.path)
            if facts is None or part.nbytes <= PIECE_BYTES:
                out.append(part)
                continue
            start, rows, size = part.groups[0], 0, 0
            for g in range(*part.groups):
                rows, size = rows + facts.group_rows[g], size + facts.group_bytes[g]
                if size >= PIECE_BYTES or g == part.groups[1] - 1:
                    out.append(Part(part.path, (start, g + 1), part.values, rows, size))
                    start, rows, size = g + 1, 0, 0
        return out

    def columns_array(self, columns: list[str], name: str | None = None) -> TableArray:
        a = super().columns_array(columns, name)
        cuts = self.pieces() if self.cut else []
        if len(cuts) > 1:
            partitions = tuple((k, self._types[k]) for k in self._types)
            pieces = [Piece(_absolute(p.path), p, tuple(columns), name, self.schema,
                            partitions, self._facts[p.path], self.reader, self.format,
                            self.display) for p in cuts]  # fmt: skip
            a.shards = a.shard_sources = pieces  # type: ignore[attr-defined]  # the engine's tasks
        return a


@dataclass(frozen=True)
class Piece:
    """Rows of a dataset that a worker reads on its own (``--jobs``, ``--engine dask``): a part
    of one file, the array's columns, and what the worker needs to read them as the dataset
    does (its schema, its partitions' types). Sized like a shard for
    :func:`~dsdoctor.engine.tasks.cut_tasks`."""

    path: str | Location  # absolute: a Dask worker's working directory is not this one's
    part: Part
    columns: tuple[str, ...]
    name: str | None
    schema: pa.Schema = field(compare=False)
    partitions: tuple[tuple[str, pa.DataType], ...] = field(compare=False)
    facts: FileFacts = field(compare=False)  # its file's row groups: the same batch sizes
    reader: FileFormat = field(compare=False)
    format: str = field(compare=False)
    display: str = field(compare=False)

    @property
    def shape(self) -> tuple[int]:
        return (self.part.rows,)

    @property
    def memory_bytes(self) -> int:
        return self.part.nbytes

    disk_bytes = memory_bytes

    def __str__(self) -> str:
        first, stop = self.part.groups
        return f"{shown(self.path)} (row groups {first} to {stop - 1})"

    def open(self) -> TableArray:
        """The piece as an array, read by this process (a worker)."""
        table = FileDataset.piece(self)
        return table.columns_array(list(self.columns), self.name)


#: Footers fetched at once from an object store (each is a few requests of tens of ms).
REMOTE_FOOTERS = 16


def _all_facts(reader: FileFormat, files: list[Any]) -> list[FileFacts]:
    """Each file's footer, in order; at URLs several at once (a folder of 1,000 objects would
    otherwise wait for 4,000 round trips one after the other)."""
    if not any(isinstance(f, Location) for f in files) or len(files) == 1:
        return [reader.facts(f, shown(f)) for f in files]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(min(REMOTE_FOOTERS, len(files))) as pool:
        return list(pool.map(lambda f: reader.facts(f, shown(f)), files))


def _absolute(path: str | Location) -> str | Location:
    return path if isinstance(path, Location) else os.path.abspath(path)


def _shared_schema(files: list[Any], facts: list[FileFacts]) -> int:
    """The index of a file whose schema most files share (the first such file; on a tie, the
    schema of the file that comes first)."""
    groups: list[tuple[int, int]] = []  # (first file, count)
    for i, fact in enumerate(facts):
        for k, (j, count) in enumerate(groups):
            if schema_difference(shown(files[j]), facts[j].schema, shown(files[i]),
                                 fact.schema) is None:  # fmt: skip
                groups[k] = (j, count + 1)
                break
        else:
            groups.append((i, 1))
    return max(groups, key=lambda g: (g[1], -g[0]))[0]


def schema_difference(name_a: str, a: pa.Schema, name_b: str, b: pa.Schema) -> str | None:
    """How file ``name_b``'s schema differs from ``name_a``'s in columns and types (None: it
    does not; the order of the columns does not matter)."""
    missing = [n for n in a.names if n not in b.names]
    extra = [n for n in b.names if n not in a.names]
    parts = []
    if missing:
        parts.append(f"{name_b} lacks column(s) {_names(missing)} that {name_a} has")
    if extra:
        parts.append(f"{name_b} has column(s) {_names(extra)} that {name_a} lacks")
    for name in a.names:
        if name in b.names and a.field(name).type != b.field(name).type:
            parts.append(f"column {name!r} is {a.field(name).type} in {name_a} but "
                         f"{b.field(name).type} in {name_b}")  # fmt: skip
            break
    return "; ".join(parts) or None


def _names(names: list[str]) -> str:
    shown = ", ".join(map(repr, names[:10]))
    return shown + (f" and {len(names) - 10} more" if len(names) > 10 else "")


def _with(schema: pa.Schema, fields: list[pa.Field]) -> pa.Schema:
    for f in fields:
        schema = schema.append(f)
    return schema


def _constant(value: Any, dtype: pa.DataType, n: int) -> pa.Array:
    """``n`` rows of one partition value (null when the file is in no such partition)."""
    if value is None:
        return pa.nulls(n, dtype)
    one = pa.array([int(value) if pa.types.is_integer(dtype) else value], dtype)
    return one.take(np.zeros(n, dtype=np.int32))


# -- Arrow IPC files as a dataset --------------------------------------------------------------
def _ipc(path: Any, display: str) -> Any:
    from .arrow import IpcFile

    return IpcFile(path if isinstance(path, Location) else Path(path), display)  # type: ignore[arg-type]


def arrow_facts(path: Any, display: str) -> FileFacts:
    """An Arrow IPC file (or stream) as a part of a dataset: its schema, and the whole file as
    one "row group" (its record batches are read in order, never cut apart)."""
    ipc = _ipc(path, display)
    return FileFacts(ipc.schema, (ipc.num_rows,), (ipc.size,))


def arrow_batches(path: Any, display: str, columns: list[str], rows: int,
                  groups: tuple[int, int], threads: bool) -> Iterator[pa.RecordBatch]:  # fmt: skip
    """The file's record batches holding ``columns``, at most ``rows`` rows each."""
    if groups[0] >= groups[1]:
        return
    for batch in _ipc(path, display).batches(columns):
        for start in range(0, batch.num_rows, max(1, rows)):
            yield batch.slice(start, rows)


#: How a folder or glob of Arrow IPC files (``.arrow``, ``.feather``) is read as one dataset.
ARROW_FILES = FileFormat("Arrow IPC", arrow_facts, arrow_batches)


class ArrowDataset(FileDataset):
    """A folder of Arrow IPC files that is not a Hugging Face folder (recursively, Hive
    partitions as columns), or a glob of them: one table, as a Parquet folder is (a file whose
    columns differ is named by ``shard-schema-mismatch``, DS704, and not read)."""

    def __init__(self, path: Path, display: str, *, files: list[Any] | None = None,
                 root: str | None = None, target: str | None = None):  # fmt: skip
        if files is None:
            files = list(dataset_files(path, "arrow"))
            if not files:
                raise SourceError(f"{display} is a directory with no Arrow files")
        super().__init__(path, display, files, ARROW_FILES, "arrow",
                         root=root if root is not None else str(path), target=target)  # fmt: skip
