"""What ``dropna`` and ``impute`` share: a whole table read batch by batch (every column, the
string, category and date columns included), arrays read side by side in equal blocks, and where
the missing values are.

A source is a *whole table* when it is a CSV or Parquet table named without a selector
(``penguins.csv``): the repair then writes a table (``.parquet`` or ``.csv``) with every
column. Missing values there are nulls (an empty CSV field too, as pandas reads it) and NaN in
float columns. Any other source (``x.npy``, ``data.h5:/x``, ``penguins.csv:bill_length_mm,body_mass_g``)
is an array, and the output is an array of any format ``-o`` takes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import RepairError
from ..sources import ArrayHandle
from .base import dense


def open_table(src: Any, **source_options: Any):
    """The table ``src`` names when it names a whole table (no selector), else None."""
    if not isinstance(src, str):
        return None
    from ..sources import open_source, parse_source
    from ..sources.table import TableSource

    spec = parse_source(src)
    if spec.selector:
        return None
    options = {k: source_options[k] for k in ("format", "target", "allow_pickle", "follow_external",
                                              "delimiter", "header", "decimal")
               if k in source_options}  # fmt: skip
    source = open_source(src, **options)
    return source if isinstance(source, TableSource) else None


def table_batches(table, chunk_bytes: int) -> Iterator[Any]:
    """Every column of ``table``, a record batch of about ``chunk_bytes`` in memory at a time."""
    from ..sources.table import ARROW_OVERHEAD

    names = list(table.schema.names)
    per_row = max(1, table.row_estimate(names))
    rows = max(1, chunk_bytes // (ARROW_OVERHEAD * per_row))
    csv = table.format == "csv"
    for batch in table.batches(names, rows):
        if batch.schema.names != names:  # a reader may give the columns in its own order
            batch = batch.select(names)
        yield _empty_as_null(batch) if csv else batch


def _empty_as_null(batch: Any) -> Any:
    """An empty CSV field of a string column is a missing value, as pandas reads it (and writes
    it: ``to_csv`` writes ``None`` and ``NaN`` as empty fields); pyarrow reads it as ``""``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = list(batch.columns)
    changed = False
    for i, col in enumerate(columns):
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            empty = pc.equal(col, "")
            if pc.any(empty).as_py():
                columns[i] = pc.if_else(empty, pa.scalar(None, col.type), col)
                changed = True
    return pa.RecordBatch.from_arrays(columns, schema=batch.schema) if changed else batch


def is_numeric_type(t: Any) -> bool:
    """Integer and floating columns: the ones mean and median apply to."""
    import pyarrow as pa

    return bool(pa.types.is_integer(t) or pa.types.is_floating(t))


def is_category_type(t: Any) -> bool:
    """String, dictionary (pandas ``category``) and boolean columns: filled by most-frequent or a
    constant."""
    import pyarrow as pa

    if pa.types.is_dictionary(t):
        return True
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_boolean(t))


def column_missing(col: Any) -> np.ndarray:
    """Where a column of a record batch is missing: null, or NaN in a float column."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_floating(col.type):
        return np.asarray(pc.is_null(col, nan_is_null=True).to_numpy(zero_copy_only=False), bool)
    if not col.null_count:
        return np.zeros(len(col), dtype=bool)
    return np.asarray(col.is_null().to_numpy(zero_copy_only=False), dtype=bool)


def batch_missing(batch: Any) -> np.ndarray:
    """Rows of a record batch holding a missing value in any column."""
    out = np.zeros(batch.num_rows, dtype=bool)
    for col in batch.columns:
        out |= column_missing(col)
    return out


def rows_missing(chunk: np.ndarray) -> np.ndarray:
    """Samples of a dense chunk holding a NaN (integers and bools hold none)."""
    if chunk.dtype.kind not in "fc" or not len(chunk):
        return np.zeros(len(chunk), dtype=bool)
    nan = np.isnan(chunk)
    return nan.reshape(len(chunk), -1).any(axis=1) if nan.ndim > 1 else nan


def aligned(handles: list[ArrayHandle], chunk_bytes: int) -> Iterator[list[np.ndarray]]:
    """Blocks of the same rows of every handle (their chunks cut to equal lengths), so x and y
    are read once each, side by side, in bounded memory."""
    share = max(1, chunk_bytes // len(handles))
    streams = [iter(h.chunks(share)) for h in handles]
    pending: list[np.ndarray | None] = [None] * len(handles)
    while True:
        for i, s in enumerate(streams):
            while pending[i] is None or not len(pending[i]):  # type: ignore[arg-type]
                nxt = next(s, None)
                if nxt is None:
                    if any(p is not None and len(p) for p in pending):
                        raise RepairError(
                            f"{handles[i].source} ended before the others: the arrays must have "
                            "the same number of samples"
                        )
                    return
                pending[i] = dense(nxt)
        k = min(len(p) for p in pending if p is not None)
        yield [p[:k] for p in pending if p is not None]
        pending = [p[k:] if p is not None else None for p in pending]


def same_samples(x: ArrayHandle, y: ArrayHandle) -> None:
    if x.shape[0] != y.shape[0]:
        raise RepairError(
            f"{x.source} has {x.shape[0]:,} samples but {y.source} has {y.shape[0]:,}; rows can "
            "only be dropped from both when they match"
        )
