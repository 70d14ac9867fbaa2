"""CSV/TSV through pyarrow's streaming reader, block by block."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from ..errors import SourceError
from ..interrupts import check
from .parquet import ARROW_ERRORS, arrow_error
from .table import UNNAMED_INDEX, TableSource

BLOCK_BYTES = 4 * 1024**2
#: pyarrow's error for a row with the wrong number of fields, when it knows the row's number.
BAD_ROW = re.compile(r"Row #(\d+): Expected (\d+) columns, got (\d+): (.*)")


class CsvSource(TableSource):
    format = "csv"

    def __init__(
        self, path: Path, display: str, *, target: str | None = None, delimiter: str | None = None
    ):
        self.delimiter = delimiter or ("\t" if path.suffix.lower() == ".tsv" else ",")
        self._path = path
        self._display = display
        self._rows: int | None = None
        self._pending = None
        try:
            reader = self._reader(None)
        except ARROW_ERRORS as exc:
            raise self._error(exc) from None
        self.schema, self._pending = reader.schema, reader
        super().__init__(path, display, target=target)

    def _reader(self, columns: list[str] | None, block: int = BLOCK_BYTES, *, threads=True):
        """A streaming reader of ``columns`` (None: all of them).

        Opening a reader infers every column's type from the first block: with 100,000 columns
        that alone takes about 5 s. So the reader that gave the schema is kept and read by the
        first pass over all columns, and a pass over all columns names none (the same options
        infer the same types) instead of listing them for pyarrow to look up."""
        whole = columns is None or columns == self.schema.names
        if whole and self._pending is not None and block == BLOCK_BYTES and threads:
            reader, self._pending = self._pending, None
            return reader
        return pacsv.open_csv(
            self._path,
            read_options=pacsv.ReadOptions(block_size=block, use_threads=threads),
            parse_options=pacsv.ParseOptions(delimiter=self.delimiter),
            convert_options=pacsv.ConvertOptions(
                # an empty cell of a text column is a null, as pandas reads it (not a category "")
                strings_can_be_null=True,
                include_columns=None if whole else columns,
                column_types=None
                if columns is None or whole
                else {c: self.schema.field(c).type for c in columns},
            ),
        )

    def close(self) -> None:
        if self._pending is not None:
            self._pending.close()
            self._pending = None

    @property
    def num_rows(self) -> int:
        if self._rows is None:
            first = [self.schema.names[0]] if self.schema.names else None
            self._rows = sum(b.num_rows for b in self.batches(first, 1 << 30)) if first else 0
        return self._rows

    def layout(self) -> dict:
        return {"delimiter": self.delimiter}

    def index_columns(self) -> list[str]:
        """An unnamed first column (an empty header, or ``Unnamed: 0``): the index a default
        ``DataFrame.to_csv()`` writes. ``check`` verifies on the values that it counts 0..N-1."""
        names = self.schema.names
        return names[:1] if len(names) > 1 and names[0] in UNNAMED_INDEX else []

    def batches(self, columns: list[str] | None, rows: int) -> Iterator[pa.RecordBatch]:
        try:
            with self._reader(columns) as reader:
                for batch in reader:
                    check()  # pyarrow's reader threads never return to a signal handler
                    for start in range(0, batch.num_rows, rows):
                        yield batch.slice(start, rows)
        except ARROW_ERRORS as exc:
            raise self._error(exc) from None

    def _error(self, exc: BaseException):
        """A clean error; a row with the wrong number of fields is located and named."""
        if "Expected" in str(exc) and "columns" in str(exc):
            said = BAD_ROW.search(str(exc)) or self._numbered_error()
            if said is not None:
                number, expected, actual, text = said.groups()
                kind = "TSV" if self.delimiter == "\t" else "CSV"
                return SourceError(
                    f"{self._display} is not valid {kind}: row {number} has {actual} fields where "
                    f"the header has {expected} ({text[:80]!r}); fix that row or the delimiter"
                )
        return arrow_error(self._display, exc, "CSV")

    def _numbered_error(self) -> re.Match | None:
        """pyarrow's threaded reader does not know row numbers; its serial one puts the row in
        its error. Only on this error path is the file read again, serially. (Not through an
        ``invalid_row_handler``: pyarrow decodes the row's text as UTF-8 before calling it and
        prints a traceback when that fails.)"""
        try:
            with self._reader(None, threads=False) as reader:
                for _ in reader:
                    pass
        except ARROW_ERRORS as exc:
            return BAD_ROW.search(str(exc))
        return None
