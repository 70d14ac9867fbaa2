"""CSV/TSV through pyarrow's streaming reader, block by block."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

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
            raise arrow_error(display, exc, "CSV") from None
        super().__init__(path, display, target=target)

    def _reader(self, columns: list[str] | None, block: int = BLOCK_BYTES):
        return pacsv.open_csv(
            self._path,
            read_options=pacsv.ReadOptions(block_size=block, use_threads=True),
            parse_options=pacsv.ParseOptions(delimiter=self.delimiter),
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
            raise arrow_error(self._display, exc, "CSV") from None
