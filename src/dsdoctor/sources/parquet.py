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


def _readable(path: Path | Location) -> Any:
    """What pyarrow opens: a local path, or a URL's object as a file that fetches exactly the
    ranges pyarrow asks for (the footer, then the column chunks read; no read-ahead)."""
    return open_binary(path, cache="none") if isinstance(path, Location) else path


def check_magic(path: Path, display: str) -> None:
    """Refuse what is not a Parquet file, or is one with an encrypted footer ("PARE"), before
    pyarrow parses anything."""
    size = path.stat().st_size
    if size < 12:
        raise SourceError(f"{display} is not a Parquet file: {size} bytes is too short")
    with open_binary(path, cache="none") as fp:
        head = fp.read(4)
        fp.seek(size - 4)
        tail = fp.read(4)
    if tail == b"PARE" or head == b"PARE":
        raise SourceError(f"{display} {ENCRYPTED} (its footer is encrypted)")
    if head != b"PAR1" or tail != b"PAR1":
        raise SourceError(
            f"{display} cannot be read as Parquet: a Parquet file starts and ends with PAR1, "
            f"this one with {head!r} … {tail!r}; it is damaged, truncated or another format"
        )


def agreed_schema(files: list[str], display: str) -> pa.Schema:
    """The schema every file of a Parquet directory has; SourceError naming the files and the
    columns when they disagree (as ``.npy`` shards that disagree are refused). pyarrow would
    take the first file's schema and read a column another file lacks as nulls: a missing
    column reported as NaN data, or, missing from the first file, not checked at all."""
    first, schema = files[0], None
    for f in files:
        check_magic(Path(f), f)
        try:
            theirs = pq.read_schema(f)
        except ARROW_ERRORS as exc:
            raise arrow_error(f, exc) from None
        if schema is None:
            schema = theirs
            continue
        problem = schema_difference(first, schema, f, theirs)
        if problem:
            raise SourceError(
                f"{display}: its Parquet files disagree: {problem}; the files of one dataset must "
                "have the same columns and types (check the files one by one, or fix the writer)"
            )
    assert schema is not None
    return schema


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


def _names(names: list[str]) -> str:
    shown = ", ".join(map(repr, names[:10]))
    return shown + (f" and {len(names) - 10} more" if len(names) > 10 else "")


class ParquetSource(TableSource):
    format = "parquet"

    def __init__(self, path: Path, display: str, *, target: str | None = None):
        try:
            if not isinstance(path, Location) and path.is_dir():
                import pyarrow.dataset as ds  # imports pandas: only for directories

                self._dataset = ds.dataset(path, format="parquet")
                self._files = sorted(self._dataset.files)
                if not self._files:
                    raise SourceError(f"{display} is a directory with no Parquet files")
                self.schema = agreed_schema(self._files, display)
                self._meta = None
            else:
                self._dataset = None
                check_magic(path, display)
                # pre_buffer=False and a read buffer: pages are read as batches need them, not
                # whole column chunks (a 256 MiB row group would otherwise be held at once)
                self._pf = pq.ParquetFile(_readable(path), page_checksum_verification=True, pre_buffer=False,
                                          buffer_size=REMOTE_READ_BUFFER if isinstance(path, Location)
                                          else READ_BUFFER)  # fmt: skip
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
            try:
                if self._meta is not None:  # the row groups' counts are what readers read
                    # (some writers leave the file-level num_rows at 0)
                    groups = range(self._meta.num_row_groups)
                    self._rows = sum(self._meta.row_group(i).num_rows for i in groups)
                else:
                    self._rows = self._dataset.count_rows()
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
        if self._meta is None:
            return {"files": len(self._files)}
        return {"row_groups": self._meta.num_row_groups}

    def row_estimate(self, columns: list[str]) -> int:
        """Bytes per row, from the row groups' uncompressed sizes: all columns, so it never
        underestimates the selected ones. (Column chunk metadata is not used: pyarrow aborts
        the process on an encrypted column's.)"""
        if self._meta is None or self.num_rows == 0:
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
            if self._dataset is not None:
                import pyarrow.dataset as ds

                verify = ds.ParquetFragmentScanOptions(
                    page_checksum_verification=True,
                    pre_buffer=False,
                    use_buffered_stream=True,
                    buffer_size=READ_BUFFER,
                )
                it = self._dataset.to_batches(columns=columns, batch_size=rows,
                                              fragment_scan_options=verify)  # fmt: skip
            else:
                it = self._pf.iter_batches(batch_size=rows, columns=columns, use_threads=True)
            yield from it
        except ARROW_ERRORS as exc:
            raise arrow_error(f"{self.display}:{','.join(columns)}", exc) from None
