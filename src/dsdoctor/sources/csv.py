"""CSV/TSV through pyarrow's streaming reader, block by block."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from ..errors import SourceError
from .parquet import ARROW_ERRORS, arrow_error
from .table import TableSource

BLOCK_BYTES = 4 * 1024**2


class CsvSource(TableSource):
    format = "csv"

    def __init__(
        self, path: Path, display: str, *, target: str | None = None, delimiter: str | None = None
    ):
        self.delimiter = delimiter or ("\t" if path.suffix.lower() == ".tsv" else ",")
        self._path = path
        self._display = display
        self._rows: int | None = None
        try:
            with self._reader(None) as reader:
                self.schema = reader.schema
        except ARROW_ERRORS as exc:
            raise self._error(exc) from None
        super().__init__(path, display, target=target)

    def _reader(self, columns: list[str] | None, block: int = BLOCK_BYTES, *, threads=True,
                invalid_row_handler=None):  # fmt: skip
        return pacsv.open_csv(
            self._path,
            read_options=pacsv.ReadOptions(block_size=block, use_threads=threads),
            parse_options=pacsv.ParseOptions(
                delimiter=self.delimiter, invalid_row_handler=invalid_row_handler
            ),
            convert_options=pacsv.ConvertOptions(
                include_columns=columns,
                column_types=None
                if columns is None
                else {c: self.schema.field(c).type for c in columns},
            ),
        )

    @property
    def num_rows(self) -> int:
        if self._rows is None:
            first = [self.schema.names[0]] if self.schema.names else None
            self._rows = sum(b.num_rows for b in self.batches(first, 1 << 30)) if first else 0
        return self._rows

    def layout(self) -> dict:
        return {"delimiter": self.delimiter}

    def batches(self, columns: list[str] | None, rows: int) -> Iterator[pa.RecordBatch]:
        try:
            with self._reader(columns) as reader:
                for batch in reader:
                    for start in range(0, batch.num_rows, rows):
                        yield batch.slice(start, rows)
        except ARROW_ERRORS as exc:
            raise self._error(exc) from None

    def _error(self, exc: BaseException):
        """A clean error; a row with the wrong number of fields is located and named (the
        threaded reader does not know row numbers, so the file is read again without threads,
        only on this error path)."""
        if "Expected" in str(exc) and "columns" in str(exc):
            # pyarrow names the row only when it knows it (not always when reading with threads)
            said = re.search(r"Row #(\d+): Expected (\d+) columns, got (\d+): (.*)", str(exc))
            bad = (
                (int(said[1]), int(said[2]), int(said[3]), said[4])
                if said
                else self._first_bad_row()
            )
            if bad is not None:
                number, expected, actual, text = bad
                where = f"row {number}" if number is not None else "a row"
                kind = "TSV" if self.delimiter == "\t" else "CSV"
                return SourceError(
                    f"{self._display} is not valid {kind}: {where} has {actual} fields where "
                    f"the header has {expected} ({text[:80]!r}); fix that row or the delimiter"
                )
        return arrow_error(self._display, exc, "CSV")

    def _first_bad_row(self) -> tuple | None:
        found: list[tuple] = []

        def handler(row) -> str:
            try:
                found.append((row.number, row.expected_columns, row.actual_columns, row.text))
            except (UnicodeDecodeError, ValueError, AttributeError):  # a damaged row's text
                found.append((row.number, row.expected_columns, row.actual_columns, ""))
            return "error"

        try:
            with self._reader(None, threads=False, invalid_row_handler=handler) as reader:
                for _ in reader:
                    pass
        except ARROW_ERRORS:
            pass
        return found[0] if found else None
