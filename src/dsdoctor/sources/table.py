"""Tables (Parquet, CSV/TSV) as arrays.

Scalar numeric columns stack into one ``(N, k)`` array (one column gives ``(N,)``); a
``list<…>`` column is ragged ``(N, Tᵢ)``, ``list<fixed_size_list<F>>`` is ``(N, Tᵢ, F)`` and
``fixed_size_list<F>`` is dense ``(N, F)``. The formats differ only in how record batches are
produced (:meth:`TableSource.batches`).

Every column also has a user-facing *kind* (:func:`user_kind`: numeric, boolean, categorical,
datetime, duration, nested, other) that ``inspect`` and ``check`` report; the internal
:func:`column_kind` decides which columns become arrays. A pandas index stored as a column
(:meth:`TableSource.index_columns`) is never stacked into the inputs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from ..arrays import Ragged
from ..errors import SourceError
from .base import ArrayHandle, Entry, Source
from .provenance import NOT_DATA, schema_record

STACKED = "columns"
#: The user-facing kinds of a table column (:func:`user_kind`).
KINDS = ("numeric", "boolean", "categorical", "datetime", "duration", "nested", "other")
#: The names pandas gives an unnamed first CSV column: ``to_csv()`` writes its index under an
#: empty header, and ``read_csv`` names that ``Unnamed: 0`` (a frame read so and saved again).
UNNAMED_INDEX = ("", "Unnamed: 0")


def user_kind(t: pa.DataType) -> str:
    """The kind of column a user sees: ``numeric`` (integers, floats), ``boolean``,
    ``categorical`` (strings, and pandas ``category``: dictionary-encoded strings), ``datetime``
    (timestamp, date, time), ``duration``, ``nested`` (lists, structs, maps) or ``other``
    (binary, decimal, null, …). A dictionary of numbers has its values' kind."""
    if isinstance(t, pa.FixedShapeTensorType):  # its storage: a fixed_size_list, nested
        return user_kind(t.storage_type)
    if pa.types.is_dictionary(t):
        inner = user_kind(t.value_type)
        return "categorical" if inner == "categorical" else inner
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        return "numeric"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or _is(t, "is_string_view"):
        return "categorical"
    if pa.types.is_timestamp(t) or pa.types.is_date(t) or pa.types.is_time(t):
        return "datetime"
    if pa.types.is_duration(t):
        return "duration"
    nested = ("is_list", "is_large_list", "is_fixed_size_list", "is_struct", "is_map",
              "is_list_view", "is_large_list_view")  # fmt: skip
    if any(_is(t, n) for n in nested):
        return "nested"
    return "other"


def _is(t: pa.DataType, predicate: str) -> bool:
    """``pa.types.<predicate>(t)``, False where this pyarrow lacks the predicate."""
    test = getattr(pa.types, predicate, None)
    return bool(test(t)) if test is not None else False


def column_kind(t: pa.DataType) -> tuple[str, np.dtype | None, tuple[int, ...]]:
    """("scalar" | "list" | "fixed" | "category" | "other", numpy dtype, inner shape) for an Arrow
    type. "category": text (string, large_string, dictionary<string> as pandas writes a
    ``category``), read as class labels (:func:`text_to_numpy`)."""
    if pa.types.is_dictionary(t):
        return column_kind(t.value_type)
    if isinstance(t, pa.FixedShapeTensorType):  # arrow.fixed_shape_tensor: (N, *logical shape)
        if _numeric(t.value_type):
            return "fixed", _np_dtype(t.value_type), tensor_shape(t)
        return "other", None, ()
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "category", np.dtype(object), ()
    if _numeric(t):
        return "scalar", _np_dtype(t), ()
    if pa.types.is_fixed_size_list(t):
        kind, dtype, inner = column_kind(t.value_type)
        if kind in ("scalar", "fixed"):  # fixed_size_list<…fixed_size_list<F>…> is dense (N, T, F)
            return "fixed", dtype, (t.list_size, *inner)
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        v = t.value_type
        if _numeric(v):
            return "list", _np_dtype(v), ()
        if pa.types.is_fixed_size_list(v) and _numeric(v.value_type):
            return "list", _np_dtype(v.value_type), (v.list_size,)
    return "other", None, ()


def tensor_shape(t: pa.FixedShapeTensorType) -> tuple[int, ...]:
    """The shape of one tensor as numpy sees it (``to_numpy_ndarray``): ``shape`` is the
    physical layout of the values, ``permutation`` (if any) orders its axes."""
    shape, perm = [int(d) for d in t.shape], t.permutation
    return tuple(shape[int(p)] for p in perm) if perm else tuple(shape)


def _numeric(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)


def _np_dtype(t: pa.DataType) -> np.dtype:
    return np.dtype(np.bool_) if pa.types.is_boolean(t) else np.dtype(t.to_pandas_dtype())


def raw_values(col: pa.Array) -> tuple[np.ndarray, np.ndarray | None]:
    """A numeric or boolean Arrow array's values as numpy (a view of its buffer where the
    layouts agree; a null's slot holds whatever the writer left there), and which are valid
    (None: all). Read from the buffers because pyarrow's own conversion (``to_numpy``) imports
    pandas on its first call: 0.2-1 s of every table ``check``."""
    n, off, t = len(col), col.offset, col.type
    if pa.types.is_boolean(t):
        values = _bits(col.buffers()[1], off, n)
    elif pa.types.is_integer(t) or pa.types.is_floating(t):
        dtype = np.dtype(t.to_pandas_dtype())
        buf = col.buffers()[1]
        values = (np.frombuffer(buf, dtype, count=n, offset=off * dtype.itemsize) if n
                  else np.empty(0, dtype))  # fmt: skip
    else:
        raise TypeError(f"not numbers or booleans: {t}")
    return values, (_bits(col.buffers()[0], off, n) if col.null_count else None)


def _bits(buf: pa.Buffer, offset: int, n: int) -> np.ndarray:
    """Bits ``offset .. offset + n`` of an Arrow bitmap (least significant bit first) as bools."""
    if not n:
        return np.empty(0, dtype=np.bool_)
    packed = np.frombuffer(buf, dtype=np.uint8)
    return np.unpackbits(packed, bitorder="little", count=offset + n)[offset:].view(np.bool_)


def values_of(col: pa.Array) -> np.ndarray:
    """A numeric or boolean Arrow array as numpy, as ``col.to_numpy(zero_copy_only=False)``
    gives it (nulls as NaN: integers with nulls become float64, and booleans with nulls too,
    where pyarrow gives objects) but without importing pandas (:func:`raw_values`); any other
    type through pyarrow."""
    t = col.type
    if not (pa.types.is_boolean(t) or pa.types.is_integer(t) or pa.types.is_floating(t)):
        return col.to_numpy(zero_copy_only=False)
    values, valid = raw_values(col)
    return values if valid is None else np.where(valid, values, np.nan)


def texts_of(col: pa.Array) -> np.ndarray:
    """A text Arrow array as an object array of ``str``, ``None`` where missing (as
    ``to_numpy(zero_copy_only=False)`` gives it, without importing pandas)."""
    out = np.empty(len(col), dtype=object)
    out[:] = col.to_pylist()
    return out


def to_numpy(col: pa.Array | pa.ChunkedArray, dtype: np.dtype) -> np.ndarray:
    """A scalar numeric column as numpy; nulls become NaN (the column is then float)."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if pa.types.is_dictionary(col.type):
        col = col.dictionary_decode()
    if col.null_count:
        target = np.result_type(dtype, np.float32) if dtype.kind == "f" else np.float64
        return values_of(col).astype(target, copy=False)
    return values_of(col).astype(dtype, copy=False)


def text_to_numpy(col: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A text column as an object array of ``str``, ``None`` where a value is missing, that
    keeps the Arrow array (:class:`~dsdoctor.categories.TextArray`: counting reads it, not the
    Python strings). A dictionary column (pandas ``category``) makes one Python string per
    distinct value, taken by index."""
    from ..categories import TextArray

    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if not pa.types.is_dictionary(col.type):
        return TextArray.of(texts_of(col), col)
    words = np.append(texts_of(col.dictionary), np.array([None], dtype=object))
    codes, valid = raw_values(col.indices)
    if valid is not None:
        codes = np.where(valid, codes, len(words) - 1)  # the None after the words
    return TextArray.of(words[codes], col)


def stack_columns(cols: list[np.ndarray], rows: int, dtype: np.dtype) -> np.ndarray:
    """Columns side by side as (rows, k), in Fortran order: each column is one contiguous copy,
    and reductions per feature run over contiguous memory (``np.column_stack`` interleaves)."""
    out = np.empty((rows, len(cols)), dtype=np.result_type(dtype, *[c.dtype for c in cols]) if cols else dtype,
                   order="F")  # fmt: skip
    for j, c in enumerate(cols):
        out[:, j] = c
    return out


#: Columns of dsdoctor's own table outputs that are not inputs: targets and row numbers.
OWN_COLUMNS = ("y", *NOT_DATA)

#: How many times a record batch pyarrow's Parquet/CSV readers hold at their peak (measured
#: with pyarrow 26: 1 MiB read buffer, batches of 16-64 MiB).
ARROW_OVERHEAD = 4


class TableArray(ArrayHandle):
    """Columns of a table as one array. Its row count is the table's, asked when it is needed
    (a CSV counts its rows while it is read: see :meth:`TableSource.known_rows`)."""

    table: TableSource
    columns: list[str]
    kind: str  # "scalar" | "list" | "fixed" | "category"
    shape_is_data = False  # the row count comes from metadata: rows are read to be counted

    def _read_provenance(self) -> dict[str, Any] | None:
        if len(self.columns) != 1:  # dsdoctor writes each role as one column
            return None
        return schema_record(self.table.schema.metadata, self.columns[0])

    @property  # a field of ArrayHandle, computed here
    def shape(self) -> tuple[int | None, ...]:
        return (self.table.num_rows, *self._inner)

    @shape.setter
    def shape(self, value: tuple[int | None, ...]) -> None:
        self._inner = tuple(value[1:])  # the first axis is always the table's row count

    @property
    def ndim(self) -> int:
        return 1 + len(self._inner)

    @property
    def inner_shape(self) -> tuple[int, ...]:
        return tuple(self._inner[1:] if self.ragged else self._inner)  # type: ignore[arg-type]

    def expected_bytes(self) -> int | None:
        if self.table.known_rows() is not None or self.ragged:
            return super().expected_bytes()
        return self.table.rows_estimate() * self.row_bytes or None  # not counted before the scan

    def _chunks(self, chunk_bytes: int) -> Iterator[np.ndarray | Ragged]:
        for (chunk,) in self.table.chunks_together([self], chunk_bytes):
            yield chunk

    def per_row(self) -> int:
        """Bytes of one row of this array in memory (estimated from metadata for lists)."""
        if self.kind in ("list", "category"):  # variable-size values: from the metadata
            return self.table.row_estimate(self.columns)
        return self.row_bytes

    def convert(self, batch: pa.RecordBatch, index: dict[str, int]) -> np.ndarray | Ragged:
        """This array's chunk of a record batch that holds (at least) its columns, at the
        positions ``index`` gives (``batch.column(name)`` searches the names: quadratic)."""
        if self.kind == "scalar":
            cols = [to_numpy(batch.column(index[c]), self.dtype) for c in self.columns]
            if len(cols) == 1 and self.ndim == 1:
                return cols[0]
            return stack_columns(cols, batch.num_rows, self.dtype)
        if self.kind == "fixed":
            return self._fixed(batch.column(index[self.columns[0]]))
        if self.kind == "category":
            try:
                return text_to_numpy(batch.column(index[self.columns[0]]))
            except (pa.ArrowException, UnicodeDecodeError) as exc:  # e.g. bytes not UTF-8
                raise SourceError(
                    f"{self.source} cannot be read as text ({str(exc).splitlines()[0]!r}); the "
                    "file is damaged or the column is not UTF-8"
                ) from None
        return self._ragged(batch.column(index[self.columns[0]]))

    def _fixed(self, col: pa.Array) -> np.ndarray:
        return fixed_to_numpy(col, self.dtype)

    def _ragged(self, col: pa.Array) -> Ragged:
        return list_to_ragged(col, self.dtype)


def fixed_to_numpy(col: pa.Array | pa.ChunkedArray, dtype: np.dtype) -> np.ndarray:
    """A (nested) ``fixed_size_list`` column as a dense (N, F[, …]) array; null rows are NaN.
    An ``arrow.fixed_shape_tensor`` column is (N, *shape), in its logical order of axes."""
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if isinstance(col.type, pa.FixedShapeTensorType):
        physical = fixed_to_numpy(col.storage, dtype).reshape(len(col), *col.type.shape)
        perm = col.type.permutation
        return physical.transpose(0, *(1 + int(p) for p in perm)) if perm else physical
    n, inner = len(col), []
    while pa.types.is_fixed_size_list(col.type):  # flatten level by level
        inner.append(col.type.list_size)
        col = (
            col.flatten()
            if not col.null_count
            else col.fill_null([None] * col.type.list_size).flatten()
        )
    return to_numpy(col, dtype).reshape(n, *inner)


def list_to_ragged(col: pa.Array | pa.ChunkedArray, dtype: np.dtype) -> Ragged:
    """A ``list<…>`` column (of numbers or of ``fixed_size_list<F>``) as values + offsets; a null
    list is an empty sequence, whose position is kept (:attr:`Ragged.nulls`: missing data)."""
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    offsets = values_of(col.offsets).astype(np.int64)
    nulls = None
    if col.null_count:
        valid = values_of(col.is_valid())
        nulls = np.flatnonzero(~valid)
        lengths = np.where(valid, np.diff(offsets), 0)
        col = col.filter(col.is_valid())
        offsets = values_of(col.offsets).astype(np.int64)
        values = col.values.slice(offsets[0], offsets[-1] - offsets[0])
        offsets = np.concatenate([[0], np.cumsum(lengths)])
    else:
        values = col.values.slice(offsets[0], offsets[-1] - offsets[0])
        offsets = offsets - offsets[0]
    if pa.types.is_fixed_size_list(values.type):
        return Ragged(fixed_to_numpy(values, dtype), offsets, nulls)
    return Ragged(to_numpy(values, dtype), offsets, nulls)


class TableSource(Source):
    """A table whose columns become arrays; subclasses provide schema, rows and batches."""

    schema: pa.Schema

    def __init__(self, path: Path, display: str, *, target: str | None = None):
        super().__init__(path, display)
        self.target = target
        try:
            self.schema.names  # noqa: B018 - decodes every column name once
        except UnicodeDecodeError:
            raise SourceError(
                f"{display} has column names that are not valid UTF-8; the file is damaged"
            ) from None
        if target is not None and target not in self.schema.names:
            raise SourceError(
                f"{display} has no column {target!r} for --target; it has: {', '.join(self.schema.names)}"
            )

    # provided by the format -------------------------------------------------------------
    @property
    def num_rows(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def batches(
        self, columns: list[str], rows: int
    ) -> Iterator[pa.RecordBatch]:  # pragma: no cover
        raise NotImplementedError

    def known_rows(self) -> int | None:
        """The row count if it is known without reading the rows (a Parquet footer's), which a
        pass over them is checked against; None where the pass itself counts them (a CSV)."""
        return self.num_rows

    def rows_estimate(self) -> int:
        """The row count, or an estimate where it is not known before the rows are read (for a
        progress bar's total)."""
        return self.num_rows

    def row_estimate(self, columns: list[str]) -> int:
        """Bytes per row of these columns in memory, estimated from the metadata."""
        return 8 * 64 * len(columns)

    def layout(self) -> dict:
        return {}

    def chunks_together(
        self, arrays: list[TableArray], chunk_bytes: int
    ) -> Iterator[list[np.ndarray | Ragged]]:
        """One pass over the table for several of its arrays: per record batch, each array's
        chunk. Scanning the columns of a wide table one by one would read (CSV: parse) the
        file once per column; this reads it once (100,000 CSV columns: > 120 s before)."""
        for chunks, _ in self.batches_together(arrays, chunk_bytes):
            yield chunks

    def batches_together(
        self, arrays: list[TableArray], chunk_bytes: int, extra: list[str] | None = None
    ) -> Iterator[tuple[list[np.ndarray | Ragged], pa.RecordBatch]]:
        """:meth:`chunks_together`, with the record batch itself, which also holds the
        ``extra`` columns (read, and so decoded, in the same pass: the columns that are in no
        array, whose kinds and nulls ``check`` reports).

        pyarrow holds several times a batch while it decodes one (its builders grow by
        doubling): a quarter of the chunk is asked for at a time, so a chunk's worth is the
        peak."""
        extra = list(extra or [])
        columns = list(dict.fromkeys([*(c for a in arrays for c in a.columns), *extra]))
        per_row = sum(a.per_row() for a in arrays) + (self.row_estimate(extra) if extra else 0)
        rows = max(1, chunk_bytes // (ARROW_OVERHEAD * max(1, per_row)))
        declared, seen = self.known_rows(), 0
        index: dict[str, int] = {}
        for batch in self.batches(columns, rows):
            seen += batch.num_rows
            if declared is not None and seen > declared:
                raise self._count_error(declared, seen, "more")
            if len(index) != batch.num_columns:
                index = {name: i for i, name in enumerate(batch.schema.names)}
            yield [a.convert(batch, index) for a in arrays], batch
        if declared is not None and seen != declared:
            raise self._count_error(declared, seen, "fewer")

    def _count_error(self, declared: int, seen: int, what: str) -> SourceError:
        return SourceError(
            f"{self.display} is corrupt: the file declares {declared:,} rows but the column data "
            f"holds {what} ({seen:,}{'+' if what == 'more' else ''})"
        )

    def index_columns(self) -> list[str]:
        """The columns that hold a pandas index, not data (the format says which)."""
        return []

    def column_kinds(self) -> dict[str, str]:
        """Each column's user-facing kind (:func:`user_kind`)."""
        return {f.name: user_kind(f.type) for f in self.schema}

    # arrays -----------------------------------------------------------------------------
    def _kinds(self) -> dict[str, tuple[str, np.dtype | None, tuple[int, ...]]]:
        """Each column's kind, computed once (every array of a wide table asks)."""
        kinds = self.__dict__.get("_kinds_cache")
        if kinds is None:
            kinds = self.__dict__["_kinds_cache"] = {
                f.name: column_kind(f.type) for f in self.schema
            }
        return kinds

    def entries(self) -> list[Entry]:
        """Every column: the numeric ones as arrays, the others (and a pandas index) as columns
        with their kind (``inspect`` reads their facts)."""
        out = []
        index, kinds = set(self.index_columns()), self.column_kinds()
        for name, (kind, _, _) in self._kinds().items():
            t = self.schema.field(name).type
            if name in index:
                out.append(Entry(name, "column", note=f"{t}: the pandas index, not a feature",
                                 column_kind=kinds[name]))  # fmt: skip
            elif kind in ("scalar", "list", "fixed"):
                out.append(
                    Entry(name, "array", self.columns_array([name]), column_kind=kinds[name])
                )
            else:
                out.append(Entry(name, "column", note=f"{t}: {kinds[name]}, not a model input as it stands",
                                 column_kind=kinds[name]))  # fmt: skip
        return out

    def arrays(self) -> list[ArrayHandle]:
        """The stacked numeric scalar columns (minus ``--target`` and a pandas index), then each
        list column."""
        kinds = self._kinds()
        left_out = {self.target, *self.index_columns()}
        scalars = [n for n, (k, _, _) in kinds.items() if k == "scalar" and n not in left_out]
        out: list[ArrayHandle] = []
        # a table dsdoctor wrote: its targets and row numbers (window's y, starts, target_rows;
        # pad's lengths) are arrays of their own, never stacked into the inputs
        own = [n for n in scalars if n in OWN_COLUMNS] if self._has_record() else []
        scalars = [n for n in scalars if n not in own]
        if scalars:
            out.append(self.columns_array(scalars, name=STACKED if len(scalars) > 1 else None))
        out += [self.columns_array([n]) for n in own]
        out += [self.columns_array([n]) for n, (k, _, _) in kinds.items()
                if k in ("list", "fixed") and n not in left_out]  # fmt: skip
        return out

    def _has_record(self) -> bool:
        return schema_record(self.schema.metadata, "") is not None

    def array(self, selector: str | None) -> ArrayHandle:
        if selector:
            return self.select(selector)
        arrays = self.arrays()
        if len(arrays) == 1:
            return arrays[0]
        if not arrays:
            raise SourceError(
                f"{self.display} has no numeric columns; it has: {', '.join(self.schema.names)}"
            )
        index = self.index_columns()
        names = ", ".join(n for n, (k, _, _) in self._kinds().items()
                          if k in ("scalar", "list", "fixed") and n not in index)  # fmt: skip
        raise SourceError(
            f"{self.display} holds scalar and sequence columns ({names}); "
            f"choose columns as {self.display}:COL[,COL…]"
        )

    def target_array(self) -> ArrayHandle:
        assert self.target is not None
        return self.columns_array([self.target])

    def select(self, selector: str) -> ArrayHandle:
        return self.columns_array([c.strip() for c in selector.split(",") if c.strip()])

    def columns_array(self, columns: list[str], name: str | None = None) -> TableArray:
        kinds = self._kinds()
        missing = [c for c in columns if c not in kinds]
        if missing:
            raise SourceError(
                f"{self.display} has no column {missing[0]!r}; it has: {', '.join(self.schema.names)}"
            )
        found = {kinds[c][0] for c in columns}
        if "other" in found:
            bad = next(c for c in columns if kinds[c][0] == "other")
            raise SourceError(
                f"{self.display}:{bad} is {self.schema.field(bad).type}, not numbers; "
                "dsdoctor checks numeric columns"
            )
        if len(columns) > 1 and "category" in found:
            raise SourceError(
                f"{self.display}: {next(c for c in columns if kinds[c][0] == 'category')!r} "
                "holds text (class labels); select it on its own"
            )
        if len(columns) > 1 and found != {"scalar"}:
            raise SourceError(
                f"{self.display}: only scalar columns stack into one array; select the sequence "
                f"column {next(c for c in columns if kinds[c][0] != 'scalar')!r} on its own"
            )
        kind, dtype, inner = kinds[columns[0]]
        n = 0  # not read here: TableArray.shape asks the table for its rows when asked
        if kind == "scalar":
            dtype = np.result_type(*[kinds[c][1] for c in columns])
            shape: tuple = (n,) if len(columns) == 1 else (n, len(columns))
        elif kind == "category":
            shape = (n,)
        elif kind == "fixed":
            shape = (n, *inner)
        else:
            shape = (n, None, *inner)
        label = name or ",".join(columns)
        # the stacked columns are the whole table unless a target (or index) column was split off
        whole = name == STACKED and self.target is None and not self.index_columns()
        source = self.display if whole else f"{self.display}:{','.join(columns)}"
        a = TableArray(name=label, source=source, path=self.path, format=self.format,
                       shape=shape, dtype=np.dtype(dtype), ragged=kind == "list")  # fmt: skip
        a.table, a.columns, a.kind = self, list(columns), kind
        a.categorical = kind == "category"
        a.layout = {"columns": list(columns), **self.layout()}
        return a
