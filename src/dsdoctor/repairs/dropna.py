"""``dropna``: drop the rows holding a missing value, from the inputs and the targets together,
and write the row numbers kept.

- A whole table (``penguins.csv``, with or without ``--target``: the target is a column of it)
  becomes a table (``-o OUT.parquet`` or ``OUT.csv``) with every column, and ``OUT.rows.npy``.
  A row is dropped when any column holds a null (or NaN).
- An array (``x.npy``) with ``--y y.npy``: a sample is dropped when x or y holds a NaN in it;
  the output holds x as ``data``, y as ``y`` and the kept row numbers as ``rows`` (``.npy``:
  ``OUT.npy``, ``OUT.y.npy``, ``OUT.rows.npy``; ``.npz`` members; HDF5 datasets ``NAME``,
  ``NAME_y``, ``NAME_rows``; Parquet columns).

Row numbers are 0-based rows of the source, int64. Two passes, each in bounded memory: the
first counts the rows kept (an output declares its length up front), the second writes them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import RepairError
from ..sources import DEFAULT_CHUNK_BYTES, ArrayHandle
from .base import dense, memory_handle, require_dense, result, source_handle
from .frames import aligned, batch_missing, open_table, rows_missing, same_samples, table_batches
from .result import RepairResult
from .write import input_paths, provenance, write_blocks


def validate(x: ArrayHandle, y: ArrayHandle | None) -> None:
    require_dense(x, "dropna")
    if y is not None:
        require_dense(y, "dropna")
        same_samples(x, y)


def dropna(data: Any, *, y: Any = None) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """The samples of ``data`` (and of ``y``) with no NaN in either, and the row numbers kept."""
    x = memory_handle(data)
    yh = memory_handle(y) if y is not None else None
    validate(x, yh)
    xs = dense(x.read())
    ys = dense(yh.read()) if yh is not None else None
    drop = rows_missing(xs) | (rows_missing(ys) if ys is not None else False)
    keep = np.flatnonzero(~drop)
    return xs[keep], (ys[keep] if ys is not None else None), keep


def dropna_file(src: Any, out: str, *, y: str | None = None, force: bool = False,
                chunk_bytes: int = DEFAULT_CHUNK_BYTES, **source_options: Any) -> RepairResult:  # fmt: skip
    """Drop the rows of ``src`` (and ``y``) holding a missing value into ``out`` (streamed)."""
    table = open_table(src, **source_options)
    if table is not None:
        if y is not None:
            raise RepairError(
                f"{src} is a table: its target is a column (--target COL), not a --y file"
            )
        return _table(table, src, out, force=force, chunk_bytes=chunk_bytes)
    x = source_handle(src, **source_options)
    options = {k: v for k, v in source_options.items() if k != "target"}
    yh = source_handle(y, **options) if y is not None else None
    table_of_x = getattr(x, "table", None)
    if yh is None and table_of_x is not None and table_of_x.target is not None:
        yh = table_of_x.target_array()  # columns of a table with --target: y is its target column
        yh.require_readable()
    validate(x, yh)
    handles = [x] if yh is None else [x, yh]
    kept = 0
    for blocks in aligned(handles, chunk_bytes):
        kept += int(np.count_nonzero(~_drop(blocks)))
    specs: dict[str, tuple[tuple[int, ...], np.dtype]] = {"data": ((kept, *_inner(x)), x.dtype)}
    if yh is not None:
        specs["y"] = ((kept, *_inner(yh)), yh.dtype)
    specs["rows"] = ((kept,), np.dtype(np.int64))

    def blocks_out():
        start = 0
        for blocks in aligned(handles, chunk_bytes):
            keep = np.flatnonzero(~_drop(blocks))
            part = {"data": blocks[0][keep], "rows": keep + start}
            if yh is not None:
                part["y"] = blocks[1][keep]
            start += len(blocks[0])
            yield part

    n = x.shape[0] or 0
    inputs = [*input_paths(x), *(input_paths(yh) if yh is not None else [])]
    prov = provenance("dropna", x.source, {"y": yh.source if yh is not None else None})
    outputs = write_blocks(out, specs, blocks_out(), main="data", force=force, inputs=inputs,
                           prov=prov, chunk_bytes=chunk_bytes)  # fmt: skip
    shape = (kept, *_inner(x))
    return result("dropna", x, outputs, shape, x.dtype, rows=n, kept=kept, dropped=n - kept)


def _inner(h: ArrayHandle) -> tuple[int, ...]:
    return tuple(int(d) for d in h.shape[1:] if d is not None)  # a dense handle knows them


def _drop(blocks: list[np.ndarray]) -> np.ndarray:
    drop = rows_missing(blocks[0])
    for b in blocks[1:]:
        drop = drop | rows_missing(b)
    return drop


def _table(table, src: str, out: str, *, force: bool, chunk_bytes: int) -> RepairResult:
    import pyarrow as pa

    from ..sinks.table import pandas_metadata_without_range_index, stream_table

    rows = kept = 0
    for batch in table_batches(table, chunk_bytes):
        rows += batch.num_rows
        kept += int(np.count_nonzero(~batch_missing(batch)))
    prov = provenance("dropna", table.display, {"target": table.target})
    with stream_table(
        out,
        pandas_metadata_without_range_index(table.schema),
        prov,
        force=force,
        inputs=[table.path],
        rows=kept,
    ) as w:
        start = 0
        for batch in table_batches(table, chunk_bytes):
            keep = np.flatnonzero(~batch_missing(batch))
            w.write(batch.take(pa.array(keep)), keep + start)
            start += batch.num_rows
    return RepairResult("dropna", table.display, w.paths, [kept, len(table.schema.names)], "table",
                        {"rows": rows, "kept": kept, "dropped": rows - kept})  # fmt: skip
