"""Parquet files and directories of them, read by record batch through pyarrow."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from ..errors import SourceError
from .table import TableSource

ARROW_ERRORS = (pa.ArrowException, OSError, ValueError, TypeError, IndexError, KeyError,
                NotImplementedError, MemoryError)  # fmt: skip


def arrow_error(display: str, exc: BaseException, what: str = "Parquet") -> SourceError:
    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, MemoryError) or "alloc" in msg.lower():
        msg = f"it asks for more memory than it can hold: {msg}"
    return SourceError(f"{display} cannot be read as {what} ({msg[:300]})")


class ParquetSource(TableSource):
    format = "parquet"

    def __init__(self, path: Path, display: str, *, target: str | None = None):
        try:
            if path.is_dir():
                self._dataset = ds.dataset(path, format="parquet")
                self._files = sorted(self._dataset.files)
                if not self._files:
                    raise SourceError(f"{display} is a directory with no Parquet files")
                self.schema = self._dataset.schema
                self._meta = None
            else:
                self._dataset = None
                self._pf = pq.ParquetFile(path)
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
                self._rows = (self._meta.num_rows if self._meta is not None
                              else self._dataset.count_rows())  # fmt: skip
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
        if self._meta is None or self._meta.num_rows == 0:
            return super().row_estimate(columns)
        names = set(columns)
        total = 0
        for i in range(self._meta.num_row_groups):
            rg = self._meta.row_group(i)
            for j in range(rg.num_columns):
                c = rg.column(j)
                if c.path_in_schema.split(".")[0] in names:
                    total += max(0, c.total_uncompressed_size)
        return max(1, total // self._meta.num_rows)

    def batches(self, columns: list[str], rows: int) -> Iterator[pa.RecordBatch]:
        try:
            if self._dataset is not None:
                it = self._dataset.to_batches(columns=columns, batch_size=rows)
            else:
                it = self._pf.iter_batches(batch_size=rows, columns=columns, use_threads=True)
            yield from it
        except ARROW_ERRORS as exc:
            raise arrow_error(self.display, exc) from None
