"""Parquet files and directories of them, read by record batch through pyarrow.

Page checksums are verified where the file has them. Encrypted files (Parquet Modular
Encryption) are refused before pyarrow sees them when the footer is encrypted; with a plaintext
footer, column metadata is never touched (pyarrow aborts the process when it cannot decrypt
it), so only the columns that are read fail, with a clean error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import SourceError
from .table import TableSource

ARROW_ERRORS = (pa.ArrowException, OSError, ValueError, TypeError, IndexError, KeyError,
                NotImplementedError, MemoryError)  # fmt: skip


#: Bytes read at a time from a column chunk. Without it (pyarrow's default 0) a whole column
#: chunk is read into memory before its first page is decoded.
READ_BUFFER = 1 << 20

ENCRYPTED = (
    "is encrypted (Parquet Modular Encryption) and dsdoctor has no keys; "
    "decrypt it with the tool that wrote it, then check the plain copy"
)


def arrow_error(display: str, exc: BaseException, what: str = "Parquet") -> SourceError:
    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, MemoryError) or "alloc" in msg.lower():
        msg = f"it asks for more memory than it can hold: {msg}"
    elif "decrypt" in msg.lower():
        return SourceError(f"{display} {ENCRYPTED} ({msg[:200]})")
    elif "checksum" in msg.lower() or "crc" in msg.lower():
        return SourceError(f"{display} is corrupt: a page checksum does not match ({msg[:200]})")
    return SourceError(f"{display} cannot be read as {what} ({msg[:300]})")


def check_magic(path: Path, display: str) -> None:
    """Refuse what is not a Parquet file, or is one with an encrypted footer ("PARE"), before
    pyarrow parses anything."""
    size = path.stat().st_size
    if size < 12:
        raise SourceError(f"{display} is not a Parquet file: {size} bytes is too short")
    with open(path, "rb") as fp:
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


class ParquetSource(TableSource):
    format = "parquet"

    def __init__(self, path: Path, display: str, *, target: str | None = None):
        try:
            if path.is_dir():
                import pyarrow.dataset as ds  # imports pandas: only for directories

                self._dataset = ds.dataset(path, format="parquet")
                self._files = sorted(self._dataset.files)
                if not self._files:
                    raise SourceError(f"{display} is a directory with no Parquet files")
                self.schema = self._dataset.schema
                self._meta = None
            else:
                self._dataset = None
                check_magic(path, display)
                # pre_buffer=False and a read buffer: pages are read as batches need them, not
                # whole column chunks (a 256 MiB row group would otherwise be held at once)
                self._pf = pq.ParquetFile(path, page_checksum_verification=True, pre_buffer=False,
                                          buffer_size=READ_BUFFER)  # fmt: skip
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
