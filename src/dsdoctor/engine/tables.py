"""Reading the table columns that are in no analysed array, in bounded memory and vectorised:
:class:`ColumnTally` folds one column in batch by batch, :func:`scan_table` reads a table's
analysed arrays and these columns in one pass, :func:`read_columns` reads the columns alone.
The result is one :class:`~dsdoctor.engine.columns.ColumnFacts` per column; a column the reader
cannot decode carries the reader's message (``unreadable-data``) instead of stopping the check.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..arrays import Ragged
from ..errors import SourceError
from ..sources.table import TableArray, TableSource, column_kind, values_of
from .columns import ColumnFacts
from .stats import ArrayStats, ScanOptions


def _is_list(t: pa.DataType) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)


# -- reading the columns --------------------------------------------------------------------------
#: Distinct values of one categorical column tracked at most: memory stays bounded for an id or
#: free-text column (10,000 short strings: well under 1 MiB); past it the count says "more than".
MAX_DISTINCT = 10_000
#: The most frequent values a categorical column's facts list.
TOP_VALUES = 5
#: Row numbers of the first nulls kept per column.
NULL_ROWS = 5
#: Characters of a value shown in the facts.
SHOW_CHARS = 40
#: A categorical column whose distinct values are more than this share of its rows (and more than
#: ``ID_MIN_DISTINCT``) reads as an id or free text, not as categories.
ID_SHARE = 0.5
ID_MIN_DISTINCT = 20


class ColumnTally:
    """A one-pass, bounded-memory reading of one table column, batch by batch (vectorised with
    ``pyarrow.compute``): nulls and their first rows for every kind; distinct values and the
    most frequent ones for a categorical column; the range of a numeric, date or duration
    column; and for a pandas index whether it counts 0..N-1."""

    def __init__(self, source: str, name: str, dtype: pa.DataType, kind: str, reason: str):
        self.facts = ColumnFacts(source, name, kind, str(dtype), reason=reason)
        self.type = dtype
        self._values: pa.Array | None = None  # categorical: the distinct values tracked …
        self._counts: pa.Array | None = None  # … and how often each occurs
        self._capped = False
        self._lo: Any = None
        self._hi: Any = None
        self._true = 0
        self._counts_rows = pa.types.is_integer(dtype) and reason == "index"
        #: why the column is not decoded at all (one row is larger than the memory allowed)
        self.undecoded: str | None = None

    def update(self, col: pa.Array, offset: int) -> None:
        """Fold in the rows ``offset .. offset + len(col)`` of the column."""
        f = self.facts
        f.rows += len(col)
        nulls = col.null_count
        if nulls:
            f.nulls += nulls
            if len(f.null_rows) < NULL_ROWS:
                where = pc.indices_nonzero(pc.is_null(col)).slice(0, NULL_ROWS - len(f.null_rows))
                f.null_rows += [offset + i for i in where.to_pylist()]
        kind = f.kind
        if f.error:
            return
        if kind == "categorical":
            try:  # text that is not UTF-8 (pandas and Python cannot decode it) is unreadable
                (col.dictionary if pa.types.is_dictionary(col.type) else col).validate(full=True)
            except pa.ArrowInvalid as exc:
                f.error = str(exc).splitlines()[0][:300] if str(exc) else "invalid text"
                return
            self._tally(col)
        elif kind in ("numeric", "datetime", "duration"):
            self._range(col)
            if self._counts_rows:
                self._counts_rows = not nulls and _counts_from(col, offset)
        elif kind == "boolean":
            self._true += int(pc.sum(col).as_py() or 0)
        elif kind == "nested" and _is_list(col.type):
            self._range(pc.list_value_length(col))

    def _range(self, col: pa.Array) -> None:
        if pa.types.is_dictionary(col.type):
            col = col.dictionary_decode()
        try:
            lo, hi = (s.as_py() for s in pc.min_max(col).values())
        except (pa.ArrowException, ValueError, OverflowError):  # a value Python cannot hold
            return
        if lo is not None:
            self._lo = lo if self._lo is None else min(self._lo, lo)
            self._hi = hi if self._hi is None else max(self._hi, hi)

    def _tally(self, col: pa.Array) -> None:
        col = pc.drop_null(col)
        if not len(col):
            return
        counted = pc.value_counts(col)
        values, counts = counted.field("values"), counted.field("counts")
        if pa.types.is_dictionary(values.type):
            values = values.dictionary_decode()
        values = values.cast(pa.large_string())
        if self._values is not None and self._counts is not None:
            if self._capped:  # only the values already tracked are counted on
                known = pc.is_in(values, value_set=self._values)
                values, counts = values.filter(known), counts.filter(known)
            values = pa.concat_arrays([self._values, values])
            counts = pa.concat_arrays([self._counts, counts])
            summed = pa.table({"v": values, "n": counts}).group_by("v").aggregate([("n", "sum")])
            values, counts = (
                summed.column("v").combine_chunks(),
                summed.column("n_sum").combine_chunks(),
            )
        if len(values) > MAX_DISTINCT:
            self._capped = True
            keep = pc.select_k_unstable(counts, MAX_DISTINCT, sort_keys=[("dummy", "descending")])
            values, counts = values.take(keep), counts.take(keep)
        self._values, self._counts = values, counts

    def result(self) -> ColumnFacts:
        f = self.facts
        if f.kind == "categorical":
            distinct = 0 if self._values is None else len(self._values)
            f.facts["distinct"] = distinct
            if self._capped:
                f.facts["distinct_capped"] = True  # more than MAX_DISTINCT: counting stopped
            if self._values is not None and self._counts is not None and distinct:
                top = pc.select_k_unstable(self._counts, min(TOP_VALUES, distinct),
                                           sort_keys=[("dummy", "descending")])  # fmt: skip
                f.facts["top"] = [[_shown(v), int(n)] for v, n in zip(
                    self._values.take(top).to_pylist(), self._counts.take(top).to_pylist(), strict=True)]  # fmt: skip
            valued = f.rows - f.nulls
            f.facts["looks_like_id"] = bool(
                self._capped or (distinct > ID_MIN_DISTINCT and distinct > ID_SHARE * valued)
            )
        elif f.kind in ("numeric", "datetime", "duration", "nested") and self._lo is not None:
            lo, hi = ("min_length", "max_length") if f.kind == "nested" else ("min", "max")
            f.facts[lo], f.facts[hi] = _plain(self._lo), _plain(self._hi)
        elif f.kind == "boolean":
            f.facts["true"] = self._true
            f.facts["false"] = f.rows - f.nulls - self._true
        if f.reason == "index" and pa.types.is_integer(self.type):
            f.facts["counts_rows"] = bool(self._counts_rows and f.rows > 0)
        return f


def _counts_from(col: pa.Array, offset: int) -> bool:
    """Whether an integer column's values are offset, offset + 1, … (a RangeIndex written out)."""
    values = values_of(col)
    return bool(np.array_equal(values, np.arange(offset, offset + len(values))))


def _shown(v: Any) -> Any:
    if isinstance(v, str) and len(v) > SHOW_CHARS:
        return v[: SHOW_CHARS - 1] + "…"
    return v


def _plain(v: Any) -> Any:
    """A JSON-ready value: numbers stay numbers, dates and durations become ISO text."""
    if isinstance(v, bool | int | str) or v is None:
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else str(v)
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return str(v)


# -- passes over a table ----------------------------------------------------------------------------
def left_out(
    table: TableSource, covered: set[str], chunk_bytes: int | None = None
) -> list[ColumnTally]:
    """A tally for every column of ``table`` that is in none of the ``covered`` (analysed)
    columns, with why it is left out: ``index`` (a pandas index), ``not selected`` (a column
    that could be an input but the arrays checked do not hold it), or its kind (categorical,
    datetime, duration, nested, other).

    Memory stays bounded: when one row of the table is larger than ``chunk_bytes`` (a 4 KB
    Parquet file can hold two 1 GiB strings), its left-out columns are not decoded — pyarrow
    holds a whole row, several times, to decode it — and their facts say so (``not_decoded``),
    with the ``--chunk-size`` that would decode them."""
    index, kinds = set(table.index_columns()), table.column_kinds()
    row = table.row_estimate([f.name for f in table.schema if f.name not in covered])
    too_large = chunk_bytes is not None and row > chunk_bytes
    out = []
    for f in table.schema:
        if f.name in covered:
            continue
        if f.name in index:
            reason = "index"
        elif column_kind(f.type)[0] in ("scalar", "list", "fixed"):
            reason = "not selected"
        else:
            reason = kinds[f.name]
        tally = ColumnTally(table.display, f.name, f.type, kinds[f.name], reason)
        if too_large:
            from ..units import format_bytes

            tally.undecoded = tally.facts.facts["not_decoded"] = (
                f"a row holds about {format_bytes(row)} uncompressed, more than --chunk-size "
                f"allows; --chunk-size {format_bytes(4 * row).replace(' ', '')} decodes it"
            )
        out.append(tally)
    return out


def scan_table(table: TableSource, handles: list[TableArray], options: list[ScanOptions],
               tallies: list[ColumnTally], chunk_bytes: int,
               advance: Callable[[int], None] | None = None) -> list[ArrayStats]:  # fmt: skip
    """One pass over ``table``: each handle's stats (with its own options) and every tally's
    column, from the same record batches (a CSV is parsed once, not once per array)."""
    for h in handles:
        h.require_readable()
    stats = [ArrayStats() for _ in handles]
    offset = 0
    tallies = [t for t in tallies if t.undecoded is None]
    names = [t.facts.name for t in tallies]
    if not handles and not tallies:
        return stats
    for chunks, batch in table.batches_together(handles, chunk_bytes, names):
        for st, chunk, opts in zip(stats, chunks, options, strict=True):
            st.update(chunk, opts)
        _fold(tallies, batch, offset)
        offset += batch.num_rows
        if advance is not None:
            advance(sum((c.values if isinstance(c, Ragged) else c).nbytes for c in chunks))
    return stats


def read_columns(
    table: TableSource, tallies: list[ColumnTally], chunk_bytes: int
) -> list[ColumnFacts]:
    """Decode the tallies' columns of ``table`` in one pass. When the reader refuses, each
    column is read again on its own, so the one it cannot decode is named with the reader's
    message (``ColumnFacts.error``) and the others still have their facts."""
    if not tallies:
        return []
    try:
        scan_table(table, [], [], tallies, chunk_bytes)
        return [t.result() for t in tallies]
    except SourceError:
        pass
    out = []
    for old in tallies:
        if old.undecoded is not None:
            out.append(old.result())
            continue
        t = ColumnTally(
            old.facts.source, old.facts.name, old.type, old.facts.kind, old.facts.reason
        )
        try:
            scan_table(table, [], [], [t], chunk_bytes)
        except SourceError as exc:
            t = ColumnTally(
                old.facts.source, old.facts.name, old.type, old.facts.kind, old.facts.reason
            )
            t.facts.error = exc.reason or str(exc)
        out.append(t.result())
    return out


def _fold(tallies: list[ColumnTally], batch: pa.RecordBatch, offset: int) -> None:
    if not tallies:
        return
    index = {name: i for i, name in enumerate(batch.schema.names)}
    for t in tallies:
        if t.facts.name in index:
            t.update(batch.column(index[t.facts.name]), offset)
        else:  # a column with no leaves (``struct<>``): the reader gives no data for it
            t.facts.rows += batch.num_rows
