"""Parquet files and directories of them, read by record batch through pyarrow.

Page checksums are verified where the file has them. Encrypted files (Parquet Modular
Encryption) are refused before pyarrow sees them when the footer is encrypted; with a plaintext
footer, column metadata is never touched (pyarrow aborts the process when it cannot decrypt
it), so only the columns that are read fail, with a clean error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import SourceError
from ..locations import Location, open_binary
from .dataset import FileDataset, FileFacts, FileFormat, dataset_files
from .table import TableSource

ARROW_ERRORS = (pa.ArrowException, OSError, ValueError, TypeError, IndexError, KeyError,
                NotImplementedError, MemoryError)  # fmt: skip


#: Bytes read at a time from a column chunk. Without it (pyarrow's default 0) a whole column
#: chunk is read into memory before its first page is decoded.
READ_BUFFER = 1 << 20
#: The same for a URL's object: each read is a request, whose latency (tens of ms on an object
#: store) 1 MiB reads would pay 1,000 times a GiB; still bounded, and never past the chunk.
REMOTE_READ_BUFFER = 8 << 20

ENCRYPTED = (
    "is encrypted (Parquet Modular Encryption) and dsdoctor has no keys; "
    "decrypt it with the tool that wrote it, then check the plain copy"
)


def arrow_error(display: str, exc: BaseException, what: str = "Parquet") -> SourceError:
    err = _arrow_error(display, exc, what)
    err.reason = (str(exc).splitlines()[0] if str(exc) else type(exc).__name__)[:300]
    return err


def _arrow_error(display: str, exc: BaseException, what: str) -> SourceError:
    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, MemoryError) or "alloc" in msg.lower():
        msg = f"it asks for more memory than it can hold: {msg}"
    elif "decrypt" in msg.lower():
        return SourceError(f"{display} {ENCRYPTED} ({msg[:200]})")
    elif "checksum" in msg.lower() or "crc" in msg.lower():
        return SourceError(f"{display} is corrupt: a page checksum does not match ({msg[:200]})")
    return SourceError(f"{display} cannot be read as {what} ({msg[:300]})")


def _readable(path: str | Path | Location) -> Any:
    """What pyarrow opens: a local path, or a URL's object as a file that fetches exactly the
    ranges pyarrow asks for (the footer, then the column chunks read; no read-ahead)."""
    return open_binary(path, cache="none") if isinstance(path, Location) else path


def check_magic(path: Path | Location, display: str) -> None:
    """Refuse what is not a Parquet file, or is one with an encrypted footer ("PARE"), before
    pyarrow parses anything."""
    size = path.stat().st_size
    if size < 12:
        raise SourceError(f"{display} is not a Parquet file: {size} bytes is too short")
    from ..formats import SNIFF_BYTES, by_magic, unread_by_magic, unread_by_name

    with open_binary(path, cache="none") as fp:
        sniffed = fp.read(min(size, SNIFF_BYTES))
        fp.seek(size - 4)
        tail = fp.read(4)
    head = sniffed[:4]
    if tail == b"PARE" or head == b"PARE":
        raise SourceError(f"{display} {ENCRYPTED} (its footer is encrypted)")
    if head != b"PAR1" or tail != b"PAR1":
        other = unread_by_name(path.name) or unread_by_magic(sniffed)
        if other is not None:  # a TFRecord among Parquet files: what it is, not "damaged"
            raise SourceError(f"{display} is {other.label}, not a Parquet file; dsdoctor does not "
                              "read it — move it out of the folder, or name the Parquet files with a glob")  # fmt: skip
        known = by_magic(sniffed)
        if known is not None and known.name != "parquet":
            raise SourceError(f"{display} is {known.label} (by its first bytes), not a Parquet "
                              "file — check it on its own, or name the Parquet files with a glob")  # fmt: skip
        raise SourceError(
            f"{display} cannot be read as Parquet: a Parquet file starts and ends with PAR1, "
            f"this one with {head!r} … {tail!r}; it is damaged, truncated or another format"
        )


def file_facts(path: str | Location, display: str) -> FileFacts:
    """A Parquet file's footer as a part of a dataset: its schema and row groups (an object at
    a URL: the footer fetched, nothing else)."""
    check_magic(path if isinstance(path, Location) else Path(path), display)
    try:
        meta = pq.read_metadata(_readable(path))
        groups = [meta.row_group(i) for i in range(meta.num_row_groups)]
        facts = FileFacts(meta.schema.to_arrow_schema(), tuple(g.num_rows for g in groups),
                          tuple(g.total_byte_size for g in groups))  # fmt: skip
        facts.schema.names  # noqa: B018 - decodes every column name once
    except UnicodeDecodeError:
        raise SourceError(
            f"{display} has column names that are not valid UTF-8; the file is damaged"
        ) from None
    except ARROW_ERRORS as exc:
        raise arrow_error(display, exc) from None
    if any(n < 0 for n in facts.group_rows):
        raise SourceError(f"{display} declares a negative row count")
    return facts


def file_batches(path: str | Location, display: str, columns: list[str], rows: int,
                 groups: tuple[int, int], threads: bool) -> Iterator[pa.RecordBatch]:  # fmt: skip
    """Record batches of row groups ``[first, stop)`` of a Parquet file, page checksums
    verified, pages read as the batches need them (see :class:`ParquetSource`)."""
    remote = isinstance(path, Location)
    try:
        pf = pq.ParquetFile(_readable(path), page_checksum_verification=True, pre_buffer=False,
                            buffer_size=REMOTE_READ_BUFFER if remote else READ_BUFFER)  # fmt: skip
        yield from pf.iter_batches(batch_size=rows, row_groups=range(*groups), columns=columns,
                                   use_threads=threads)  # fmt: skip
    except ARROW_ERRORS as exc:
        raise arrow_error(f"{display}:{','.join(columns)}", exc) from None


#: How a folder or glob of Parquet files is read as one dataset (:mod:`dsdoctor.sources.dataset`).
PARQUET_FILES = FileFormat("Parquet", file_facts, file_batches)


class ParquetDataset(FileDataset):
    """A folder of Parquet files (recursively, Hive partitions as columns) or a glob of them."""

    def __init__(self, path: Path, display: str, *, files: list[str] | None = None,
                 root: str | None = None, target: str | None = None):  # fmt: skip
        if files is None:
            files = dataset_files(path, "parquet")
            if not files:
                raise SourceError(f"{display} is a directory with no Parquet files")
        super().__init__(path, display, files, PARQUET_FILES, "parquet",
                         root=root if root is not None else str(path), target=target)  # fmt: skip


def pandas_index_columns(schema: pa.Schema) -> list[str]:
    """The names of the index columns recorded in a schema's ``pandas`` metadata (those the
    schema has); [] when there is none or it is not valid JSON (it is only read, never run)."""
    raw = (schema.metadata or {}).get(b"pandas")
    if not raw:
        return []
    try:
        meta = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return []
    listed = meta.get("index_columns") if isinstance(meta, dict) else None
    if not isinstance(listed, list):
        return []
    return [c for c in listed if isinstance(c, str) and c in schema.names]


class ParquetSource(TableSource):
    """One Parquet file; a directory is a :class:`ParquetDataset` (what this class makes of it,
    as the format table names one reader per format)."""

    format = "parquet"

    def __new__(cls, path: Path, display: str, *, target: str | None = None):
        if path.is_dir():
            return ParquetDataset(path, display, target=target)
        return super().__new__(cls)

    def __init__(self, path: Path, display: str, *, target: str | None = None):
        try:
            check_magic(path, display)
            # pre_buffer=False and a read buffer: pages are read as batches need them, not
            # whole column chunks (a 256 MiB row group would otherwise be held at once)
            self._pf = pq.ParquetFile(_readable(path), page_checksum_verification=True,
                                      pre_buffer=False, buffer_size=REMOTE_READ_BUFFER
                                      if isinstance(path, Location) else READ_BUFFER)  # fmt: skip
            self._meta = self._pf.metadata
            self.schema = self._pf.schema_arrow
        except SourceError:
            raise
        except ARROW_ERRORS as exc:
            raise arrow_error(display, exc) from None
        self._rows: int | None = None
        super().__init__(path, display, target=target)

    @property
    def num_rows(self) -> int:
        if self._rows is None:
            try:  # the row groups' counts are what readers read
                # (some writers leave the file-level num_rows at 0)
                groups = range(self._meta.num_row_groups)
                self._rows = sum(self._meta.row_group(i).num_rows for i in groups)
            except ARROW_ERRORS as exc:
                raise arrow_error(self.display, exc) from None
            if self._rows < 0:
                raise SourceError(f"{self.display} declares a negative row count")
        return self._rows

    def index_columns(self) -> list[str]:
        """The columns pandas' ``to_parquet`` wrote from the frame's index (its ``pandas`` schema
        metadata's ``index_columns``): ``__index_level_0__`` for the index of a filtered frame
        (after ``dropna()``), or the index's own name. A ``RangeIndex`` is stored as metadata,
        not as a column, and is not one of them."""
        found = self.__dict__.get("_index_cache")
        if found is None:
            found = self.__dict__["_index_cache"] = pandas_index_columns(self.schema)
        return found

    def layout(self) -> dict:
        return {"row_groups": self._meta.num_row_groups}

    def row_estimate(self, columns: list[str]) -> int:
        """Bytes per row, from the row groups' uncompressed sizes: all columns, so it never
        underestimates the selected ones. (Column chunk metadata is not used: pyarrow aborts
        the process on an encrypted column's.)"""
        if self.num_rows == 0:
            return super().row_estimate(columns)
        try:
            per_row = [
                rg.total_byte_size / rg.num_rows
                for rg in map(self._meta.row_group, range(self._meta.num_row_groups))
                if rg.num_rows > 0
            ]
        except ARROW_ERRORS as exc:
            raise arrow_error(self.display, exc) from None
        return max(1, int(max(per_row, default=0)))

    def batches(self, columns: list[str], rows: int) -> Iterator[pa.RecordBatch]:
        try:
            yield from self._pf.iter_batches(batch_size=rows, columns=columns, use_threads=True)
        except ARROW_ERRORS as exc:
            raise arrow_error(f"{self.display}:{','.join(columns)}", exc) from None
