"""Arrow IPC files (the *file* format, which Feather v2 is) and Arrow IPC *streams*, read by
record batch through pyarrow, memory-mapped: a batch's buffers are views of the file until a
chunk converts them, so memory holds about one chunk whatever the file's size. At a URL the
object is read through fsspec (:func:`open_mapped`): a file's footer, then only the batches'
buffers pyarrow asks for; a stream front to back; rows are counted from the messages' headers
(:meth:`IpcFile._rows_from_headers`), not by reading the batches.

Both formats use ``.arrow``; the first bytes tell them apart: ``ARROW1`` opens the file format
(a footer at the end lists the batches), the continuation marker ``0xFFFFFFFF`` a stream (a
schema message, then batches, then an end-of-stream marker). A table's columns become arrays as
Parquet's do (:mod:`dsdoctor.sources.table`). Several files with one schema (the shards of a
Hugging Face split, :mod:`dsdoctor.sources.hf`) are one table, their rows in the order given.

A file-format file whose footer is missing, and a stream cut inside a batch or before its
end-of-stream marker, are refused with the file named: a stream holds no count of its rows, so
a stream cut between two batches would otherwise read as a shorter, healthy table.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..errors import SourceError
from ..locations import Location, open_binary
from .base import ArrayHandle
from .dataset import schema_difference
from .parquet import ARROW_ERRORS, pandas_index_columns
from .table import STACKED, TableArray, TableSource

FILE_MAGIC = b"ARROW1"
#: The continuation marker that starts every message of a stream (since Arrow 0.15).
STREAM_MAGIC = b"\xff\xff\xff\xff"
#: How a stream ends: the continuation marker and a zero length (every writer since Arrow 0.15,
#: 2019; a stream in the older format has no continuation markers and is not read).
STREAM_END = STREAM_MAGIC + b"\x00\x00\x00\x00"
FEATHER_V1 = b"FEA1"


def open_mapped(path: Path | Location, whole: bool = False) -> pa.NativeFile:
    """The file memory-mapped for reading: every reader of this module opens files here. An
    object at a URL is read through :func:`~dsdoctor.locations.open_binary`: a file-format
    object where pyarrow asks (the footer, then each batch it reads: the read-ahead block
    past a read is all it fetches beyond); ``whole``: a stream read front to back, in big
    blocks, one held."""
    if isinstance(path, Location):
        cache = "stream" if whole else "readahead"
        return pa.PythonFile(open_binary(path, cache=cache), mode="r")
    return pa.memory_map(str(path), "r")


def ipc_kind(path: Path | Location, display: str) -> str:
    """``"file"`` or ``"stream"``, from the first and last bytes; SourceError for a file that is
    neither, a truncated one, or a Feather v1 file."""
    size = path.stat().st_size
    with open_binary(path) as fp:
        head = fp.read(8)
        fp.seek(max(0, size - 8))
        tail = fp.read(8)
    if head.startswith(FILE_MAGIC):
        if size < 2 * len(FILE_MAGIC) + 8 or not tail.endswith(FILE_MAGIC):
            raise SourceError(
                f"{display} is truncated: an Arrow IPC file starts and ends with ARROW1, this one "
                f"ends with {tail[-6:]!r} ({size:,} bytes); its footer is missing — write it again"
            )
        return "file"
    if head.startswith(STREAM_MAGIC):
        if tail != STREAM_END:
            raise SourceError(
                f"{display} is truncated: an Arrow IPC stream ends with an end-of-stream marker "
                f"and this one ({size:,} bytes) does not, so it was cut or is still being "
                "written (its writer was never closed); write it again"
            )
        return "stream"
    if head.startswith(FEATHER_V1):
        raise SourceError(
            f"{display} is a Feather v1 file, which dsdoctor does not read; convert it with "
            "pyarrow.feather.write_feather(pyarrow.feather.read_table(PATH), NEW, version=2)"
        )
    raise SourceError(
        f"{display} cannot be read as Arrow IPC: it starts with {head!r}, where an Arrow file "
        "starts with ARROW1 and a stream with 0xFFFFFFFF; it is damaged or another format"
    )


def ipc_error(display: str, exc: BaseException) -> SourceError:
    msg = (str(exc).splitlines()[0] if str(exc) else type(exc).__name__)[:300]
    if isinstance(exc, MemoryError) or "alloc" in msg.lower():
        return SourceError(f"{display} asks for more memory than it can hold ({msg})")
    return SourceError(f"{display} cannot be read as Arrow IPC ({msg}); it is truncated or damaged")


class IpcFile:
    """One IPC file or stream: its kind, schema and (counted when asked) rows."""

    def __init__(self, path: Path, display: str):
        self.path, self.display = path, display
        self.kind = ipc_kind(path, display)
        self.size = path.stat().st_size
        try:
            with self._reader(whole=False) as reader:
                self.schema: pa.Schema = reader.schema
        except ARROW_ERRORS as exc:
            raise ipc_error(display, exc) from None
        self._rows: int | None = None

    @contextmanager
    def _reader(self, fields: list[int] | None = None, *, whole: bool = True) -> Iterator:
        """A reader of the mapped file decoding only the top-level ``fields`` (None: all)."""
        options = pa.ipc.IpcReadOptions(included_fields=fields) if fields is not None else None
        with open_mapped(self.path, whole and self.kind == "stream") as source:
            if self.kind == "file":
                yield pa.ipc.open_file(source, options=options)
            else:
                yield pa.ipc.open_stream(source, options=options)

    @property
    def num_rows(self) -> int:
        """From the file format's batch headers; a stream's batches are read to be counted (from
        the mapped file: its buffers are not touched unless they are compressed)."""
        if self._rows is None and isinstance(self.path, Location):
            self._rows = self._rows_from_headers()
        if self._rows is None:
            try:
                with self._reader([0] if len(self.schema) else None) as reader:
                    if self.kind == "file":
                        self._rows = int(reader.count_rows())
                    else:
                        self._rows = sum(b.num_rows for b in reader)
            except ARROW_ERRORS as exc:
                raise ipc_error(self.display, exc) from None
        return self._rows

    def _rows_from_headers(self) -> int | None:
        """The rows of an object at a URL, from its messages' headers alone: each message's
        metadata is fetched (a read of :data:`MESSAGE_READ` bytes, rarely two) and its body
        skipped, so counting the rows of a 1 GiB file or stream fetches a few hundred bytes per
        batch, where pyarrow's count reads every batch whole. None when a header is not as
        expected (pyarrow then counts, and names what is wrong)."""
        limit = self.size
        rows = 0
        with open_binary(self.path, cache="none") as fp:
            if self.kind == "file":  # the stream between the leading magic and the footer
                fp.seek(self.size - 10)
                limit = self.size - 10 - struct.unpack("<i", fp.read(4))[0]
            pos = 8 if self.kind == "file" else 0
            while pos + 8 <= limit:
                fp.seek(pos)
                head = fp.read(MESSAGE_READ)
                if head[:4] != STREAM_MAGIC or len(head) < 8:
                    return None
                (length,) = struct.unpack("<i", head[4:8])
                if length == 0:  # the end-of-stream marker
                    return rows
                if length < 0 or pos + 8 + length > limit:
                    return None
                meta = head[8 : 8 + length]
                if len(meta) < length:
                    meta += fp.read(length - len(meta))
                message = _message(meta)
                if message is None:
                    return None
                kind, batch_rows, body = message
                rows += batch_rows if kind == RECORD_BATCH else 0
                pos += 8 + length + body
        return rows if self.kind == "file" and pos == limit else None

    def batches(self, columns: list[str]) -> Iterator[pa.RecordBatch]:
        """The record batches holding only ``columns``, in order (only those are decoded)."""
        fields = sorted({self.schema.get_field_index(c) for c in columns})
        try:
            with self._reader(fields) as reader:
                if self.kind == "file":
                    it: Iterator[pa.RecordBatch] = (
                        reader.get_batch(i) for i in range(reader.num_record_batches)
                    )
                else:
                    it = iter(reader)
                for batch in it:  # included_fields keeps the file's order of the columns
                    yield batch.select(columns)
        except ARROW_ERRORS as exc:
            raise ipc_error(self.display, exc) from None


#: Bytes read at each message's start when rows are counted from headers: the continuation
#: marker, the length and a record batch's metadata (~100 bytes, plus 16 per column buffer).
MESSAGE_READ = 1024
#: ``MessageHeader.RecordBatch`` in Arrow's Message.fbs.
RECORD_BATCH = 3


def _message(meta: bytes) -> tuple[int, int, int] | None:
    """``(header type, rows, body length)`` of an IPC message's flatbuffer (Message.fbs:
    ``Message { version, header_type, header, bodyLength }``, ``RecordBatch { length, … }``);
    None for bytes that are not one."""
    try:
        root = _u32(meta, 0)
        kind = _field(meta, root, 1, "<B") or 0
        body = _field(meta, root, 3, "<q") or 0
        rows = 0
        if kind == RECORD_BATCH:
            at = _field_pos(meta, root, 2)
            if at is None:
                return None
            rows = _field(meta, at + _u32(meta, at), 0, "<q") or 0
    except (struct.error, IndexError):
        return None
    if body < 0 or rows < 0:
        return None
    return int(kind), int(rows), int(body)


def _u32(buf: bytes, at: int) -> int:
    return int(struct.unpack_from("<I", buf, at)[0])


def _field_pos(buf: bytes, table: int, index: int) -> int | None:
    """Where field ``index`` of the flatbuffer table at ``table`` lies (None: absent)."""
    vtable = table - struct.unpack_from("<i", buf, table)[0]
    size = struct.unpack_from("<H", buf, vtable)[0]
    if 4 + 2 * index >= size:
        return None
    offset = struct.unpack_from("<H", buf, vtable + 4 + 2 * index)[0]
    return table + offset if offset else None


def _field(buf: bytes, table: int, index: int, fmt: str) -> int | None:
    at = _field_pos(buf, table, index)
    return None if at is None else int(struct.unpack_from(fmt, buf, at)[0])


def class_labels(schema_meta: dict | None, info: Any) -> dict[str, tuple[str, ...]]:
    """``{column: names}`` of the top-level ``ClassLabel`` features, from the schema's
    ``huggingface`` metadata (``{"info": {"features": …}}``), else from ``dataset_info.json``."""
    features = None
    raw = (schema_meta or {}).get(b"huggingface")
    if raw:
        try:
            meta = json.loads(raw)
            features = meta.get("info", {}).get("features")
        except (ValueError, UnicodeDecodeError, AttributeError):
            features = None
    if not isinstance(features, dict) and isinstance(info, dict):
        features = info.get("features")
    if not isinstance(features, dict):
        return {}
    out = {}
    for name, feature in features.items():
        if isinstance(feature, dict) and feature.get("_type") == "ClassLabel":
            names = feature.get("names")
            if isinstance(names, list) and all(isinstance(n, str) for n in names):
                out[name] = tuple(names)
    return out


#: The name pandas gives an unnamed index level when it stores it as a column.
PANDAS_LEVEL = re.compile(r"__index_level_\d+__")


class ArrowSource(TableSource):
    """An Arrow IPC file or stream as a table; with ``files``, those files (in that order, one
    schema) as one table. A file ``datasets`` wrote (a shard of a Hugging Face split, opened
    by itself) keeps its features in its schema's ``huggingface`` metadata: its ``ClassLabel``
    columns are labels with their classes, as in the folder (:mod:`dsdoctor.sources.hf`)."""

    format = "arrow"

    def __init__(self, path: Path, display: str, *, target: str | None = None,
                 files: list[tuple[Path, str]] | None = None):  # fmt: skip
        shown = files or [(path, display)]
        self._parts = [IpcFile(p, d) for p, d in shown]
        if not self._parts:
            raise SourceError(f"{display} holds no Arrow files")
        first = self._parts[0]
        for part in self._parts[1:]:
            problem = schema_difference(first.display, first.schema, part.display, part.schema)
            if problem:
                raise SourceError(
                    f"{display}: its Arrow files disagree: {problem}; the files of one dataset "
                    "must have the same columns and types"
                )
        self.schema = first.schema
        #: ``{column: class names}`` of the ClassLabel columns (Hugging Face features)
        self.class_labels: dict[str, tuple[str, ...]] = class_labels(self.schema.metadata, None)
        super().__init__(path, display, target=target)

    @property
    def num_rows(self) -> int:
        return sum(p.num_rows for p in self._parts)

    def arrays(self) -> list[ArrayHandle]:
        """As a table's, but each ClassLabel column is an array of its own, never stacked."""
        labelled = [n for n in self.class_labels if n in self._kinds() and n != self.target]
        if not labelled:
            return super().arrays()
        out: list[ArrayHandle] = []
        for a in super().arrays():
            columns = a.layout["columns"]
            if not set(columns) & set(labelled):
                out.append(a)
                continue
            others = [c for c in columns if c not in labelled]  # stacked with a label: split
            if others:
                out.append(self.columns_array(others, STACKED if len(others) > 1 else None))
        return out + [self.columns_array([n]) for n in labelled]

    def columns_array(self, columns: list[str], name: str | None = None) -> TableArray:
        a = super().columns_array(columns, name)
        if len(columns) == 1 and columns[0] in self.class_labels:
            a.class_names = self.class_labels[columns[0]]
        return a

    def index_columns(self) -> list[str]:
        """The columns that hold a pandas index: those the schema's ``pandas`` metadata lists
        (``pa.Table.from_pandas``), and any named ``__index_level_N__`` — the name pandas gives
        an unnamed index level, which ``datasets.Dataset.from_pandas`` keeps as a column of a
        frame out of ``train_test_split`` while it drops the ``pandas`` metadata."""
        found = self.__dict__.get("_index_cache")
        if found is None:
            listed = pandas_index_columns(self.schema)
            found = listed + [n for n in self.schema.names
                              if PANDAS_LEVEL.fullmatch(n) and n not in listed]  # fmt: skip
            self.__dict__["_index_cache"] = found
        return found

    @property
    def files(self) -> list[Path]:
        """The files read, in order."""
        return [p.path for p in self._parts]

    def layout(self) -> dict:
        kinds = sorted({p.kind for p in self._parts})
        return {
            "ipc": "/".join(kinds),
            **({"files": len(self._parts)} if len(self._parts) > 1 else {}),
        }

    def row_estimate(self, columns: list[str]) -> int:
        """Bytes per row from the files' sizes: all columns, so never less than the selected
        ones (less only for compressed files)."""
        rows = self.num_rows
        if not rows:
            return super().row_estimate(columns)
        return max(1, sum(p.size for p in self._parts) // rows)

    def batches(self, columns: list[str], rows: int) -> Iterator[pa.RecordBatch]:
        """Batches of at most ``rows`` rows (a file's batches are sliced, never copied)."""
        for part in self._parts:
            for batch in part.batches(columns):
                if batch.num_rows <= rows:
                    yield batch
                    continue
                for start in range(0, batch.num_rows, rows):
                    yield batch.slice(start, rows)
