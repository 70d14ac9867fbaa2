"""``impute``: fill missing values (NaN, nulls) per column with a statistic of that column, and
record the fill values in the output, so that ``--from OUTPUT`` fills the validation and test
splits with the training split's values.

Strategies, per column (a table's column, an array's feature on the last axis):

- ``mean``: the mean of the values present (float64 sum and count: one pass).
- ``median``: the exact median of the values present, as pandas' ``median()`` gives it (the
  mean of the two middle values for an even count), in bounded memory: a radix selection on
  the 64-bit pattern of each value as float64 (ordered like the numbers), one pass per 16 bits
  (4 passes; 8 passes of 8 bits for more than :data:`WIDE` columns, so the histograms stay
  under 64 MiB), each finding the bucket of both middle ranks. Exact for every float64 value;
  integers beyond 2⁵³ are first rounded to float64.
- ``most-frequent``: the most frequent value present (the smallest one on a tie, as pandas'
  ``mode()[0]`` and scikit-learn's ``SimpleImputer``). Counted exactly, distinct values merged
  chunk by chunk (``np.unique``), up to :data:`MAX_DISTINCT` distinct values over all columns:
  a column with more (a continuous measurement) is refused with the advice to use the median.
- ``constant``: ``--fill-value`` (a number for numeric columns, the text for string columns).

For a whole table (``train.csv``, ``train.parquet``), numeric columns take the strategy and
string, category and boolean columns take their most frequent value (or the constant); date,
list and other columns are left as they are (a warning names those holding nulls), and the
``--target`` column is never filled (drop those rows with ``dropna``). The output is a table with
every column (``.parquet``: the fill values in its ``dsdoctor`` schema metadata; ``.csv``: in
``OUT.dsdoctor.json`` beside it). An array (``x.npy``, ``data.h5:/x``) is filled feature by
feature; its output records them in its provenance (``.npy``: ``OUT.dsdoctor.json``).

The record is ``{"operation": "impute", "statistics": {"strategy": …, "columns": {name: value}}
}`` (tables) or ``{… "statistics": {"strategy": …, "features": [value, …]}}`` (arrays).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import RepairError, UsageError
from ..sources import DEFAULT_CHUNK_BYTES, ArrayHandle
from .base import dense, memory_handle, require_dense, result, source_handle
from .frames import column_missing, is_category_type, is_numeric_type, open_table, table_batches
from .result import RepairResult
from .write import input_paths, provenance, write_blocks

STRATEGIES = ("mean", "median", "most-frequent", "constant")
#: Distinct values ``most-frequent`` counts exactly, over all columns (16 bytes each: 64 MiB).
MAX_DISTINCT = 1 << 22
#: Above this many columns the median's radix passes use 8-bit digits (histograms of 2·256
#: counts per column) instead of 16-bit ones (2·65,536 counts: 1 MiB per column).
WIDE = 64
SIGN = np.uint64(1 << 63)


# -- options ------------------------------------------------------------------------------------
def validate(strategy: str | None, fill_value: Any, from_: str | None) -> str:
    """The strategy to use, or the refusal of the options as given."""
    if from_ is not None:
        if strategy is not None or fill_value is not None:
            raise UsageError(
                "--from reuses the recorded fill values; drop --strategy and --fill-value"
            )
        return "from"
    strategy = strategy or "mean"
    if strategy not in STRATEGIES:
        raise UsageError(f"--strategy must be one of {', '.join(STRATEGIES)}; got {strategy!r}")
    if strategy == "constant" and fill_value is None:
        raise UsageError("--strategy constant needs --fill-value V")
    if strategy != "constant" and fill_value is not None:
        raise UsageError("--fill-value is for --strategy constant")
    return strategy


def recorded(from_: str) -> dict[str, Any]:
    """The statistics an earlier ``impute`` output recorded; a clean refusal for anything else."""
    from ..sinks.provenance import read_provenance

    try:
        record = read_provenance(from_)
    except (OSError, ValueError) as exc:
        raise UsageError(f"--from {from_}: cannot read it ({exc})") from None
    except Exception as exc:  # a damaged Parquet/HDF5/npz file: its reader's own error
        raise UsageError(f"--from {from_}: cannot read it ({type(exc).__name__}: {exc})") from None
    stats = record.get("statistics") if record else None
    if not record or record.get("operation") != "impute" or not isinstance(stats, dict):
        raise UsageError(
            f"--from {from_} records no imputation statistics; give an output of "
            "`dsdoctor impute` run on the training split"
        )
    return stats


def constant(fill_value: Any, name: str) -> float:
    try:
        value = float(fill_value)
    except (TypeError, ValueError):
        raise RepairError(
            f"--fill-value {fill_value!r} is not a number, but {name} holds numbers"
        ) from None
    return value


# -- statistics of numbers ----------------------------------------------------------------------
class Numbers:
    """Per-column count, sum and (for most-frequent) distinct values with counts of a stream of
    (rows, F) float64 tables; NaN is missing."""

    def __init__(self, names: list[str], strategy: str, fill_value: Any = None):
        width = len(names)
        self.names, self.strategy, self.fill_value = names, strategy, fill_value
        self.count = np.zeros(width, dtype=np.int64)
        self.total = np.zeros(width, dtype=np.float64)
        self.missing = np.zeros(width, dtype=np.int64)
        self.values: list[np.ndarray] = [np.empty(0)] * width
        self.counts: list[np.ndarray] = [np.empty(0, dtype=np.int64)] * width

    def update(self, table: np.ndarray) -> None:
        ok = ~np.isnan(table)
        present = ok.sum(axis=0, dtype=np.int64)
        self.count += present
        self.missing += len(table) - present
        if self.strategy == "mean":
            self.total += np.where(ok, table, 0.0).sum(axis=0)
        elif self.strategy == "most-frequent":
            for j in range(table.shape[1]):  # a loop per column and chunk, vectorised inside
                u, c = np.unique(table[ok[:, j], j], return_counts=True)
                self._merge(j, u, c)

    def _merge(self, j: int, u: np.ndarray, c: np.ndarray) -> None:
        values, inverse = np.unique(np.concatenate([self.values[j], u]), return_inverse=True)
        counts = np.zeros(len(values), dtype=np.int64)
        np.add.at(counts, inverse, np.concatenate([self.counts[j], c]))
        self.values[j], self.counts[j] = values, counts
        if sum(len(v) for v in self.values) > MAX_DISTINCT:
            raise RepairError(
                f"--strategy most-frequent counts distinct values exactly, up to {MAX_DISTINCT:,} "
                f"over all columns, and {self.names[j]} takes more (a measurement, not a category); "
                "use --strategy median"
            )

    def fills(self, medians: Callable[[], list[float | None]] | None = None) -> list[Any]:
        """The fill value of each column (None: no value present to take a statistic of)."""
        if self.strategy == "constant":
            return [constant(self.fill_value, n) for n in self.names]
        if self.strategy == "mean":
            with np.errstate(invalid="ignore", divide="ignore"):
                means = self.total / self.count
            return [float(m) if c else None for m, c in zip(means, self.count, strict=True)]
        if self.strategy == "median":
            assert medians is not None
            return medians()
        out: list[Any] = []
        for values, counts in zip(self.values, self.counts, strict=True):
            out.append(_plain(values[int(np.argmax(counts))]) if len(values) else None)
        return out


def _plain(v: Any) -> Any:
    f = float(v)
    return int(f) if f.is_integer() and abs(f) < 2**53 else f


def _keys(table: np.ndarray) -> np.ndarray:
    """float64 → uint64 keys in the same order as the numbers (NaN excluded by the caller)."""
    bits = np.ascontiguousarray(table, dtype=np.float64).view(np.uint64)
    return np.where(bits & SIGN, ~bits, bits | SIGN)


def _floats(keys: np.ndarray) -> np.ndarray:
    bits = np.where(keys & SIGN, keys ^ SIGN, ~keys)
    return bits.astype(np.uint64).view(np.float64)


def exact_medians(
    tables: Callable[[], Iterator[np.ndarray]], counts: np.ndarray
) -> list[float | None]:
    """The exact median of each column of the (rows, F) float64 tables ``tables()`` yields (a
    fresh pass each call), given each column's count of values present. See the module
    docstring: a radix selection of both middle ranks, ``64 / bits`` passes."""
    width = len(counts)
    bits = 16 if width <= WIDE else 8
    size, digit_mask = 1 << bits, np.uint64((1 << bits) - 1)
    ranks = np.stack([(counts - 1) // 2, counts // 2], axis=1).astype(np.int64)
    prefix = np.zeros((width, 2), dtype=np.uint64)
    live = np.flatnonzero(counts > 0)
    for p in range(64 // bits):
        shift = np.uint64(64 - bits * (p + 1))
        hist = np.zeros((width, 2, size), dtype=np.int64)
        for table in tables():
            for j in live:
                col = table[:, j]
                keys = _keys(col[~np.isnan(col)])
                digits = ((keys >> shift) & digit_mask).astype(np.intp)
                if p == 0:
                    h = np.bincount(digits, minlength=size)
                    hist[j, 0] += h
                    hist[j, 1] += h
                    continue
                high = keys >> np.uint64(64 - bits * p)
                h = np.bincount(digits[high == prefix[j, 0]], minlength=size)
                hist[j, 0] += h
                if prefix[j, 1] == prefix[j, 0]:  # both middle ranks still in one bucket
                    hist[j, 1] += h
                else:
                    hist[j, 1] += np.bincount(digits[high == prefix[j, 1]], minlength=size)
        for j in live:
            for t in (0, 1):
                cum = np.cumsum(hist[j, t])
                d = int(np.searchsorted(cum, ranks[j, t], side="right"))
                ranks[j, t] -= int(cum[d - 1]) if d else 0
                prefix[j, t] = (prefix[j, t] << np.uint64(bits)) | np.uint64(d)
    low, high = _floats(prefix[:, 0]), _floats(prefix[:, 1])
    # the middle value itself when there is one (an odd count, or equal middles): (x + x) / 2
    # overflows to inf for x past half the float range; two different middles average as numpy's
    return [
        (float(lo) if lo == hi else float((lo + hi) / 2)) + 0.0 if c else None
        for lo, hi, c in zip(low, high, counts, strict=True)
    ]


# -- arrays -------------------------------------------------------------------------------------
def _table_of(chunk: np.ndarray) -> np.ndarray:
    """A dense chunk as (values, F) float64: features on the last axis."""
    width = chunk.shape[-1] if chunk.ndim > 1 else 1
    return np.asarray(chunk, dtype=np.float64).reshape(-1, width)


def _array_names(h: ArrayHandle) -> list[str]:
    width = h.shape[-1] if h.ndim > 1 else 1
    cols = h.layout.get("columns")
    if cols and len(cols) == width:
        return [str(c) for c in cols]
    return [h.source] if h.ndim == 1 else [f"feature {i}" for i in range(int(width or 0))]


def _fill_chunk(chunk: np.ndarray, fills: list[Any]) -> np.ndarray:
    if chunk.dtype.kind not in "fc" or not chunk.size:
        return chunk
    nan = np.isnan(chunk)
    if not nan.any():
        return chunk
    width = chunk.shape[-1] if chunk.ndim > 1 else 1
    values = np.array([np.nan if v is None else v for v in fills], dtype=np.float64)
    out = chunk.copy()
    flat, where = out.reshape(-1, width), nan.reshape(-1, width)
    np.copyto(flat, np.broadcast_to(values.astype(chunk.dtype), flat.shape), where=where)
    return out


def array_fills(h: ArrayHandle, strategy: str, fill_value: Any, chunk_bytes: int) -> list[Any]:
    names = _array_names(h)
    stats = Numbers(names, strategy, fill_value)
    if strategy != "constant":
        for chunk in h.chunks(chunk_bytes):
            stats.update(_table_of(dense(chunk)))

    def passes() -> Iterator[np.ndarray]:
        return (_table_of(dense(c)) for c in h.chunks(chunk_bytes))

    return stats.fills(lambda: exact_medians(passes, stats.count))


def _array_recorded(h: ArrayHandle, stats: dict[str, Any], from_: str) -> list[Any]:
    fills = stats.get("features")
    width = h.shape[-1] if h.ndim > 1 else 1
    if not isinstance(fills, list):
        raise RepairError(
            f"--from {from_} records the fill values of table columns; {h.source} is an array "
            "(impute the whole table, or give an output of impute on an array)"
        )
    if len(fills) != width:
        raise RepairError(
            f"--from {from_} records {len(fills)} fill values but {h.source} has {width} features"
        )
    return fills


def impute(data: Any, *, strategy: str | None = None, fill_value: Any = None,
           statistics: dict[str, Any] | None = None) -> np.ndarray:  # fmt: skip
    """``data`` with its NaN filled per feature (last axis); ``statistics``: a record's
    ``{"features": [...]}`` to reuse instead of computing them."""
    h = memory_handle(data)
    require_dense(h, "impute")
    if statistics is not None:
        fills = _array_recorded(h, statistics, "statistics")
    else:
        fills = array_fills(
            h, validate(strategy, fill_value, None), fill_value, DEFAULT_CHUNK_BYTES
        )
    return _fill_chunk(dense(h.read()), fills)


def impute_file(src: Any, out: str, *, strategy: str | None = None, fill_value: Any = None,
                from_: str | None = None, force: bool = False, chunk_bytes: int = DEFAULT_CHUNK_BYTES,
                **source_options: Any) -> RepairResult:  # fmt: skip
    """Fill the missing values of ``src`` into ``out`` (streamed; ``from_``: reuse the fill
    values an earlier output of ``impute`` recorded)."""
    how = validate(strategy, fill_value, from_)
    stats = recorded(from_) if from_ is not None else None
    table = open_table(src, **source_options)
    if table is not None:
        return _table(
            table, out, how, fill_value, stats, from_, force=force, chunk_bytes=chunk_bytes
        )
    h = source_handle(src, **source_options)
    require_dense(h, "impute")
    if h.dtype.kind not in "biufc":
        raise RepairError(f"{h.source} holds {h.dtype}, not numbers; impute fills numeric arrays")
    if stats is not None:
        fills = _array_recorded(h, stats, str(from_))
        how = str(stats.get("strategy", "from"))
    else:
        fills = array_fills(h, how, fill_value, chunk_bytes)
    record = {"strategy": how, "features": fills}
    prov = provenance(
        "impute", h.source, {"strategy": how, "fill_value": fill_value, "from": from_}
    )
    prov["statistics"] = record
    shape = tuple(int(d) for d in h.shape if d is not None)
    inputs: list[str | Path] = [*input_paths(h), *([from_] if from_ else [])]
    missing = {"n": 0}

    def blocks() -> Iterator[dict[str, np.ndarray]]:
        for chunk in h.chunks(chunk_bytes):
            c = dense(chunk)
            if c.dtype.kind in "fc":
                missing["n"] += int(np.count_nonzero(np.isnan(c)))
            yield {"data": _fill_chunk(c, fills)}

    side = _sidecar_for(out)
    if side is not None:
        from ..sinks.atomic import check_destination

        check_destination(side, force=force)
    outputs = write_blocks(out, {"data": (shape, h.dtype)}, blocks(), main="data", force=force,
                           inputs=inputs, prov=prov, chunk_bytes=chunk_bytes)  # fmt: skip
    if side is not None:
        from ..sinks import write_text
        from ..sinks.provenance import provenance_record, to_json

        outputs.append(str(write_text(side, to_json(provenance_record(prov)) + "\n", force=force,
                                      inputs=inputs)))  # fmt: skip
    left = [n for n, v in zip(_array_names(h), fills, strict=True) if v is None]
    res = result(
        "impute", h, outputs, shape, h.dtype, strategy=how, fill=fills, filled=missing["n"]
    )
    if left:
        res.warnings.append(
            f"{', '.join(left[:10])}: no value present to take a statistic of; left missing"
        )
    return res


def _sidecar_for(out: str):
    """The JSON file beside an output that has no room for provenance (``.npy``), or None."""
    from ..sinks import parse_destination
    from ..sinks.provenance import sidecar

    dest = parse_destination(out)
    return sidecar(dest.path) if dest.format == "npy" else None


# -- tables -------------------------------------------------------------------------------------
def _table(table, out: str, how: str, fill_value: Any, stats: dict[str, Any] | None,
           from_: str | None, *, force: bool, chunk_bytes: int) -> RepairResult:  # fmt: skip
    import pyarrow as pa

    from ..sinks.table import stream_table
    from ..sources.table import to_numpy

    schema = table.schema
    target = table.target
    numeric = [f.name for f in schema if is_numeric_type(f.type) and f.name != target]
    category = [f.name for f in schema if is_category_type(f.type) and f.name != target]
    fills: dict[str, Any] = {}
    if stats is not None:
        found = stats.get("columns")
        if not isinstance(found, dict):
            raise RepairError(
                f"--from {from_} records the fill values of an array's features; "
                f"{table.display} is a table (give an output of impute on a table)"
            )
        fills = {k: v for k, v in found.items() if k in schema.names and k != target}
        how = str(stats.get("strategy", "from"))
    else:
        numbers = Numbers(numeric, "most-frequent" if how == "most-frequent" else how, fill_value)
        counters: dict[str, dict[Any, int]] = {c: {} for c in category}
        f64 = np.dtype(np.float64)

        def tables() -> Iterator[np.ndarray]:
            for batch in table_batches(table, chunk_bytes):
                yield _numbers(batch, numeric, f64, to_numpy)

        if how != "constant":
            for batch in table_batches(table, chunk_bytes):
                if numeric:
                    numbers.update(_numbers(batch, numeric, f64, to_numpy))
                for name in category:
                    _count(counters[name], batch.column(name), name)
        values = numbers.fills(lambda: exact_medians(tables, numbers.count)) if numeric else []
        fills.update(zip(numeric, values, strict=True))
        for name in category:
            if how == "constant":
                fills[name] = _category_constant(fill_value, schema.field(name).type, name)
            else:
                fills[name] = _mode(counters[name])
    types = {f.name: _out_type(f.type, fills.get(f.name)) for f in schema}
    out_schema = pa.schema([pa.field(f.name, types[f.name]) for f in schema])  # no pandas metadata:
    # it may describe types the fill changed (a category decoded, integers made float)
    record = {"strategy": how, "columns": fills}
    prov = provenance("impute", table.display, {"strategy": how, "fill_value": fill_value,
                                                 "from": from_, "target": target})  # fmt: skip
    prov["statistics"] = record
    filled: dict[str, int] = {}
    left: dict[str, int] = {}
    inputs = [table.path, *([from_] if from_ else [])]
    rows = 0
    with stream_table(out, out_schema, prov, force=force, inputs=inputs) as w:
        for batch in table_batches(table, chunk_bytes):
            columns = []
            for f, col in zip(schema, batch.columns, strict=True):
                col, n, kept = _fill_column(col, fills.get(f.name), types[f.name])
                if n:
                    filled[f.name] = filled.get(f.name, 0) + n
                if kept:
                    left[f.name] = left.get(f.name, 0) + kept
                columns.append(col)
            w.write(pa.RecordBatch.from_arrays(columns, schema=out_schema))
            rows += batch.num_rows
    res = RepairResult("impute", table.display, w.paths, [rows, len(schema.names)], "table",
                       {"strategy": how, "fill": fills, "filled": filled})  # fmt: skip
    if target in left:
        res.warnings.append(f"the target {target} keeps its {left.pop(target):,} missing values "
                            "(labels are never invented): `dsdoctor dropna` drops those rows")  # fmt: skip
    if left:
        listing = ", ".join(f"{k} {v:,}" for k, v in list(left.items())[:10])
        res.warnings.append(f"missing values left in {listing}: no fill value for them (not "
                            "numbers or categories, or no value present to take a statistic of)")  # fmt: skip
    return res


def _numbers(
    batch: Any, names: list[str], dtype: np.dtype, to_numpy: Callable[..., np.ndarray]
) -> np.ndarray:
    out = np.empty((batch.num_rows, len(names)), dtype=np.float64, order="F")
    for j, name in enumerate(names):
        out[:, j] = to_numpy(batch.column(name), dtype)
    return out


def _count(counter: dict[Any, int], col: Any, name: str) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(col.type):
        col = col.dictionary_decode()
    counts = pc.value_counts(col.drop_null())
    for value, n in zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(),
                        strict=True):  # fmt: skip
        counter[value] = counter.get(value, 0) + n
    if len(counter) > MAX_DISTINCT:
        raise RepairError(
            f"{name} has more than {MAX_DISTINCT:,} distinct values: not a category to take the "
            "most frequent of; encode or drop it"
        )


def _mode(counter: dict[Any, int]) -> Any:
    if not counter:
        return None
    top = max(counter.values())
    return min(v for v, n in counter.items() if n == top)


def _category_constant(fill_value: Any, t: Any, name: str) -> Any:
    import pyarrow as pa

    if pa.types.is_boolean(t):
        text = str(fill_value).strip().lower()
        if text not in ("true", "false", "1", "0"):
            raise RepairError(
                f"--fill-value {fill_value!r} is not true or false, but {name} is boolean"
            )
        return text in ("true", "1")
    return str(fill_value)


def _out_type(t: Any, fill: Any) -> Any:
    """A column's type after filling: a dictionary column is decoded to its values; an integer
    column filled with a fraction (a mean, a median between two values) becomes float64."""
    import pyarrow as pa

    if fill is None:
        return t
    if pa.types.is_dictionary(t):
        return t.value_type
    if pa.types.is_integer(t) and not (isinstance(fill, int | float) and float(fill).is_integer()
                                       and _fits(fill, t)):  # fmt: skip
        return pa.float64()
    return t


def _fits(value: Any, t: Any) -> bool:
    info = np.iinfo(t.to_pandas_dtype())
    return bool(info.min <= value <= info.max) and not math.isinf(float(value))


def _fill_column(col: Any, fill: Any, out_type: Any) -> tuple[Any, int, int]:
    """The column filled (cast to ``out_type``), the values filled and the missing ones left."""
    import pyarrow as pa
    import pyarrow.compute as pc

    missing = column_missing(col)
    n = int(np.count_nonzero(missing))
    if pa.types.is_dictionary(col.type) and not pa.types.is_dictionary(out_type):
        col = col.dictionary_decode()
    if col.type != out_type:
        col = pc.cast(col, out_type)
    if not n:
        return col, 0, 0
    if fill is None:
        return col, 0, n
    if pa.types.is_integer(out_type):
        fill = int(fill)
    filled = pc.if_else(pa.array(missing), pa.scalar(fill, type=out_type), col)
    return filled, n, 0
