"""One pass over an array's chunks computing every fact the checks need.

:class:`ArrayStats` is a mergeable partial result: ``update`` folds in one chunk, ``merge``
folds in the stats of another part of the same array (another shard, another worker), and the
result equals a single pass over the whole. Memory is bounded by the chunk, never the array.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from .. import kernels
from ..arrays import Ragged
from ..categories import FIRST_MISSING, CategoryCounts
from ..sources.base import DEFAULT_CHUNK_BYTES, ArrayHandle, FillRows


@dataclass(frozen=True)
class ScanOptions:
    """What to look for while scanning.

    ``mask_value``: the padding value. For ragged arrays it is the value ``pad`` would use
    (0 by default), and real timesteps equal to it are counted; for dense arrays it is only set
    when the user says the data is padded (``--mask-value``), and padding is measured.
    ``classes``: count labels outside ``[0, classes)`` (targets only).
    ``vocab_size``: count integer values outside ``[0, vocab_size)`` (token ids of inputs).
    ``sequences``: axis 1 of a dense array is time (padded sequences, ``(N, T[, F…])``), as it is
    whenever ``mask_value`` is set. The per-feature facts (``fmin``, ``fmax``, ``fmissing``) are
    then over the last axis only from rank 3: an ``(N, T)`` array has one feature (each timestep
    is a scalar), never T. Ragged arrays are sequences whatever this says.

    With ``mask_value`` set, the extremes of a padded array are those of its real timesteps: the
    leading and trailing timesteps whose every feature equals the value (Keras ``Masking``) are
    left out, so padding never makes a feature look varying (5 at every real step, 0 in the
    padding) nor constant. A real timestep equal to the value inside a sequence stays in.
    """

    mask_value: float | None = None
    classes: int | None = None
    vocab_size: int | None = None
    labels: bool = False
    chunk_bytes: int = DEFAULT_CHUNK_BYTES
    sequences: bool = False


#: How many row numbers holding a missing value are kept: enough to find them in the file.
MISSING_ROWS = FIRST_MISSING  # the same number for NaN and for null text (categories.py)


@dataclass
class ArrayStats:
    """Mergeable facts about one array (or a part of it)."""

    rows: int = 0
    values: int = 0
    nan: int = 0
    posinf: int = 0
    neginf: int = 0
    #: per feature (the last axis; one feature for (N,) and for (N, T) sequences, see
    #: ScanOptions), NaN-ignoring; of the real timesteps when padding is known
    fmin: np.ndarray | None = None
    fmax: np.ndarray | None = None
    # targets
    non_integer: int = 0
    below_zero: int = 0
    above_classes: int = 0
    # token ids (integer inputs, with ScanOptions.vocab_size): values < 0, values >= vocab_size
    ids_negative: int = 0
    ids_above_vocab: int = 0
    # sequences: length histogram (ragged lengths, or the real extent of padded rows)
    length_hist: kernels.LengthHistogram = field(default_factory=kernels.LengthHistogram.empty)
    value_timesteps: int = 0  # real timesteps equal to the mask value
    value_rows: int = 0  # sequences holding at least one of them
    pad_timesteps: int = 0  # dense + mask value: padding timesteps (leading or trailing)
    timesteps: int = 0  # dense + mask value: all timesteps
    empty_rows: int = 0  # sequences of length 0 (ragged) or all padding (dense), not null
    null_rows: int = 0  # null sequences (a table's list column): missing, read as empty
    #: the first MISSING_ROWS row numbers (0-based, from the start of this part) of them
    null_row_numbers: list[int] = field(default_factory=list)
    unwritten_rows: int = 0  # rows the file declares but never stored (read as its fill value)
    # missing values: NaN in floats (a null read from a table), nulls in categorical columns
    fmissing: np.ndarray | None = None  # count per feature (last axis); None: none seen
    #: the first MISSING_ROWS row numbers (0-based, from the start of this part) holding one
    missing_rows: list[int] = field(default_factory=list)
    #: text values (categorical arrays): the count of each distinct value
    categories: CategoryCounts | None = None

    # -- folding in data ---------------------------------------------------------------------
    def update(self, chunk: np.ndarray | Ragged, opts: ScanOptions) -> None:
        start = self.rows  # this chunk's first row number within the part
        real: np.ndarray | None = None  # (N, T): the real extent of each padded row
        if isinstance(chunk, Ragged):
            self._update_ragged(chunk, opts)
            data = chunk.window()
            wide = data.ndim > 1  # (timesteps, F…): features on the last axis
        else:
            data = chunk if chunk.ndim else chunk.reshape(1)
            self.rows += len(data)
            if opts.mask_value is not None and data.ndim >= 2:
                real = self._update_padded(data, opts.mask_value)
            sequences = opts.sequences or opts.mask_value is not None
            wide = data.ndim > (2 if sequences else 1)
        if self._update_values(data, wide, real):
            self._update_missing(chunk, data, start, wide)
        if data.dtype.kind in "OUS":
            self._update_categories(data)
        if opts.labels:
            self._update_labels(data, opts.classes)
        if opts.vocab_size is not None and data.dtype.kind in "iuf" and data.size:
            self._update_ids(data, opts.vocab_size)

    def update_fill(self, fill: FillRows, opts: ScanOptions) -> None:
        """Fold in ``fill.count`` copies of one row in constant time: every field but the
        per-feature extremes is a sum over rows, so ``count`` rows add ``count`` times one row's."""
        one = ArrayStats()
        one.update(fill.row, opts)
        for f in fields(one):
            if f.name == "categories" and one.categories is not None:
                one.categories = one.categories.scaled(fill.count)
            elif f.name not in ("fmin", "fmax", "fmissing", "missing_rows", "categories",
                                "null_row_numbers"):  # fmt: skip
                setattr(one, f.name, getattr(one, f.name) * fill.count)
        if one.fmissing is not None:  # every one of the rows holds the row's missing values
            one.fmissing = one.fmissing * fill.count
            one.missing_rows = list(range(min(fill.count, MISSING_ROWS)))
        empty = not isinstance(fill.row, Ragged) and fill.row.size == 0  # (N, 0): nothing to write
        one.unwritten_rows = 0 if empty or not fill.unwritten else fill.count
        merged = self.merge(one)
        for f in fields(self):
            setattr(self, f.name, getattr(merged, f.name))

    def _update_values(self, data: np.ndarray, wide: bool, real: np.ndarray | None = None) -> bool:
        """Fold in the values; True when the chunk holds a NaN (then missing values are counted).
        ``wide``: the last axis holds the features (else one feature); ``real``: the (N, T)
        timesteps whose values count for the extremes (None: all)."""
        self.values += data.size
        nan = self.nan
        if data.size == 0 or data.dtype.kind not in "biuf":
            if data.size and data.dtype.kind == "c":
                self._count_nonfinite(data)
            return self.nan > nan
        table = data.reshape(-1, data.shape[-1]) if wide else data.reshape(-1, 1)
        if real is not None and not real.all():  # padding known: the real timesteps' extremes
            pad = data[np.unravel_index(np.argmin(real), real.shape)]  # every one is the value
            if data.dtype.kind == "f" and pad.size and not np.isfinite(pad.flat[0]):
                self._count_nonfinite(data[~real])  # non-finite padding is counted, as before
            table = data[real].reshape(-1, table.shape[1])
            if not table.size:  # every timestep of the chunk is padding: no real extremes
                return self.nan > nan
        lo, hi = (
            column_reduce(np.minimum, table),
            column_reduce(np.maximum, table),
        )  # NaN propagates
        if data.dtype.kind == "f" and not (np.isfinite(lo).all() and np.isfinite(hi).all()):
            self._count_nonfinite(table if real is not None else data)
            lo, hi = column_reduce(np.fmin, table), column_reduce(np.fmax, table)
        self._fold_extremes(lo, hi, data.ndim == 1)
        return self.nan > nan

    def _fold_extremes(self, lo: np.ndarray, hi: np.ndarray, scalar: bool) -> None:
        if scalar:  # an (N,) array: one value per sample, its extremes are scalars
            lo, hi = lo[0], hi[0]
        lo, hi = np.asarray(lo), np.asarray(hi)
        self.fmin = lo if self.fmin is None else np.fmin(self.fmin, lo)
        self.fmax = hi if self.fmax is None else np.fmax(self.fmax, hi)

    def _update_missing(
        self, chunk: np.ndarray | Ragged, data: np.ndarray, start: int, wide: bool
    ) -> None:
        """Count the NaN of a chunk that holds some per feature (``wide``: the last axis, else
        one feature), and note the first rows holding one (``start``: the chunk's first row
        number within this part). Runs only on chunks with a NaN, so clean data pays nothing."""
        missing = np.isnan(data)
        width = data.shape[-1] if wide else 1
        per_feature = missing.reshape(-1, width).sum(axis=0, dtype=np.int64)
        self.add_missing(per_feature, self._missing_rows(chunk, missing, start))

    def add_missing(self, per_feature: np.ndarray, rows: np.ndarray | list[int]) -> None:
        """Fold in missing values found by a reader: ``per_feature`` counts per feature (last
        axis), ``rows`` the row numbers within this part that hold one (sorted; only the first
        :data:`MISSING_ROWS` are kept). For readers of kinds this scan does not decode
        (categorical targets), as for NaN."""
        per_feature = np.asarray(per_feature, dtype=np.int64)
        if self.fmissing is None:
            self.fmissing = per_feature.copy()
        elif self.fmissing.shape == per_feature.shape:
            self.fmissing = self.fmissing + per_feature
        if len(self.missing_rows) < MISSING_ROWS:
            more = [int(r) for r in rows[: MISSING_ROWS - len(self.missing_rows)]]
            self.missing_rows = self.missing_rows + more

    def _missing_rows(
        self, chunk: np.ndarray | Ragged, missing: np.ndarray, start: int
    ) -> np.ndarray:
        """The first row numbers of the chunk holding a missing value (rows: samples, or
        sequences of a ragged chunk)."""
        if isinstance(chunk, Ragged):
            flat = missing.reshape(len(missing), -1).any(axis=1) if missing.ndim > 1 else missing
            where = np.flatnonzero(flat)[:MISSING_ROWS]
            offsets = chunk.offsets - chunk.offsets[0]
            return start + np.searchsorted(offsets, where, side="right") - 1
        rows = missing.reshape(len(missing), -1).any(axis=1) if missing.ndim > 1 else missing
        return start + np.flatnonzero(rows)[:MISSING_ROWS]

    def _update_categories(self, data: np.ndarray) -> None:
        """Text values (one per row, as categorical handles give them): distinct counts, and
        missing values (``None``) as ``fmissing``/``missing_rows``."""
        if self.categories is None:
            self.categories = CategoryCounts()
        nulls, rows = self.categories.add(data)
        if nulls:
            first = self.rows - len(data)  # this chunk's first row
            self.add_missing(np.array([nulls], dtype=np.int64), first + rows)

    def _count_nonfinite(self, data: np.ndarray) -> None:
        flat = data.reshape(-1)
        if flat.dtype.kind == "c":
            self.nan += int(np.count_nonzero(np.isnan(flat)))
            self.posinf += int(np.count_nonzero(np.isinf(flat)))
            return
        self.nan += int(np.count_nonzero(np.isnan(flat)))
        self.posinf += int(np.count_nonzero(np.isposinf(flat)))
        self.neginf += int(np.count_nonzero(np.isneginf(flat)))

    def _update_labels(self, data: np.ndarray, classes: int | None) -> None:
        if data.dtype.kind not in "biuf" or (data.ndim > 1 and data.shape[-1] != 1):
            return
        flat = data.reshape(-1)
        if flat.dtype.kind == "f":
            finite = np.isfinite(flat)
            self.non_integer += int(np.count_nonzero(finite & (flat != np.floor(flat))))
        if classes is not None:
            self.below_zero += int(np.count_nonzero(flat < 0))
            self.above_classes += int(np.count_nonzero(flat >= classes))

    def _update_ids(self, data: np.ndarray, vocab_size: int) -> None:
        """Token ids an ``Embedding(input_dim=vocab_size)`` cannot look up; counted only when
        the chunk's extremes say some exist (a clean chunk costs two reductions). Floats are
        integer ids read with nulls (a Parquet list holding one): NaN is neither."""
        if data.dtype.kind == "f":
            self.ids_negative += int(np.count_nonzero(data < 0))
            self.ids_above_vocab += int(np.count_nonzero(data >= vocab_size))
            return
        if data.dtype.kind == "i" and data.min() < 0:
            self.ids_negative += int(np.count_nonzero(data < 0))
        if data.max() >= vocab_size:
            self.ids_above_vocab += int(np.count_nonzero(data >= vocab_size))

    def _update_ragged(self, chunk: Ragged, opts: ScanOptions) -> None:
        lengths = chunk.lengths
        start = self.rows
        self.rows += len(lengths)
        self._add_lengths(lengths)
        nulls = 0 if chunk.nulls is None else len(chunk.nulls)
        self.empty_rows += int(np.count_nonzero(lengths == 0)) - nulls
        if nulls:
            assert chunk.nulls is not None
            self.null_rows += nulls
            room = MISSING_ROWS - len(self.null_row_numbers)
            if room > 0:
                more = [start + int(r) for r in chunk.nulls[:room]]
                self.null_row_numbers = self.null_row_numbers + more
        value = 0 if opts.mask_value is None else opts.mask_value
        rebased = Ragged(chunk.window(), chunk.offsets - chunk.offsets[0])
        self.value_timesteps += kernels.count_value_timesteps(rebased.values, value)
        self.value_rows += kernels.rows_with_value_timesteps(rebased.values, rebased.offsets, value)

    def _update_padded(self, data: np.ndarray, value: float) -> np.ndarray | None:
        """Dense sequences (N, T[, F…]) padded with ``value`` at either end; the (N, T) real
        extent of each row (from its first to its last real timestep), None when there is none
        to tell (no elements)."""
        if data.size == 0:  # no timesteps, or timesteps of no features: every row is padding
            n = len(data)
            self.timesteps += n * data.shape[1]
            self.pad_timesteps += n * data.shape[1]
            self.empty_rows += n
            self._add_lengths(np.zeros(min(n, 1), dtype=np.int64), weight=n)
            return None
        real = kernels.mask_padded(data, value)
        n, t = real.shape
        if t == 0:  # (N, 0): every row is empty, and there is no first or last timestep to find
            self.empty_rows += n
            self._add_lengths(np.zeros(n, dtype=np.int64))
            return None
        any_real: np.ndarray = np.asarray(real.any(axis=1))
        first = real.argmax(axis=1)
        last = t - 1 - real[:, ::-1].argmax(axis=1)
        idx = np.arange(t)
        inner = ~real & (idx > first[:, None]) & (idx < last[:, None])  # padding between real data
        inner_count = np.count_nonzero(inner)
        self.timesteps += n * t
        self.pad_timesteps += int(np.count_nonzero(~real)) - int(inner_count)
        self.value_timesteps += int(inner_count)
        self.value_rows += int(np.count_nonzero(inner.any(axis=1)))
        self.empty_rows += int(np.count_nonzero(~any_real))
        self._add_lengths(np.where(any_real, last - first + 1, 0))
        extent: np.ndarray = any_real[:, None] & (idx >= first[:, None]) & (idx <= last[:, None])
        return extent

    def _add_lengths(self, lengths: np.ndarray, weight: int = 1) -> None:
        """Count ``lengths``, each ``weight`` times."""
        if len(lengths):
            hist = kernels.LengthHistogram.of(lengths)
            if weight != 1:
                hist = kernels.LengthHistogram(hist.lengths, hist.counts * weight)
            self.length_hist = self.length_hist + hist

    # -- combining partial results ---------------------------------------------------------------
    def merge(self, other: ArrayStats) -> ArrayStats:
        out = ArrayStats()
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if f.name == "fmin":
                val = b if a is None else a if b is None else np.fmin(a, b)
            elif f.name == "fmax":
                val = b if a is None else a if b is None else np.fmax(a, b)
            elif f.name == "fmissing":
                val = b if a is None else a if b is None or a.shape != b.shape else a + b
            elif f.name in ("missing_rows", "null_row_numbers"):  # ``other``'s rows come after
                val = (a + [self.rows + r for r in b])[:MISSING_ROWS]
            elif f.name == "categories":
                val = b if a is None else a if b is None else a.merge(b)
            else:
                val = a + b
            setattr(out, f.name, val)
        return out

    # -- derived facts -------------------------------------------------------------------------
    @property
    def nonfinite(self) -> int:
        return self.nan + self.posinf + self.neginf

    @property
    def missing(self) -> int:
        """Missing values (NaN, nulls) in all features."""
        return 0 if self.fmissing is None else int(self.fmissing.sum())

    @property
    def lengths_count(self) -> int:
        return self.length_hist.total

    def length_quantile(self, q: float) -> int:
        """The shortest length covering fraction ``q`` of the sequences."""
        return kernels.resolve_maxlen_from_hist(self.length_hist, f"p{q * 100:g}")

    def length_summary(self) -> dict[str, Any] | None:
        hist = self.length_hist
        total = hist.total
        if total == 0:
            return None
        return {
            "count": total,
            "min": int(hist.lengths[0]),
            "max": hist.longest,
            "mean": round(hist.timesteps / total, 3),
            "p50": self.length_quantile(0.5),
            "p95": self.length_quantile(0.95),
            "p99": self.length_quantile(0.99),
            "zero": hist.count(0),
        }

    def constant_features(self) -> dict[int, Any]:
        """Features (last-axis index → the value) whose every value is the same."""
        if self.fmin is None or self.fmax is None or self.rows < 2:
            return {}
        lo, hi = np.atleast_1d(self.fmin), np.atleast_1d(self.fmax)
        with np.errstate(invalid="ignore"):
            same = (lo == hi) & ~np.isnan(lo)
        return {int(i): lo[i].item() for i in np.flatnonzero(same)}

    def to_dict(self) -> dict[str, Any]:
        lo = None if self.fmin is None else np.atleast_1d(self.fmin)
        hi = None if self.fmax is None else np.atleast_1d(self.fmax)
        out: dict[str, Any] = {
            "rows": self.rows,
            "nan": self.nan,
            "posinf": self.posinf,
            "neginf": self.neginf,
            "min": None
            if lo is None or lo.size == 0
            else _py(
                np.nanmin(lo) if lo.dtype.kind == "f" and not np.isnan(lo).all() else lo.min()
            ),
            "max": None
            if hi is None or hi.size == 0
            else _py(
                np.nanmax(hi) if hi.dtype.kind == "f" and not np.isnan(hi).all() else hi.max()
            ),
        }
        if lo is not None and hi is not None and lo.size > 1:
            out["feature_min"] = [_py(v) for v in lo[:256]]
            out["feature_max"] = [_py(v) for v in hi[:256]]
        if self.unwritten_rows:
            out["unwritten_rows"] = self.unwritten_rows
        if self.fmissing is not None and self.missing:
            out["missing"] = self.missing
            out["feature_missing"] = [int(v) for v in self.fmissing[:256]]
            out["missing_rows"] = list(self.missing_rows)
        if self.null_rows:
            out["null_sequences"] = self.null_rows
            out["null_sequence_rows"] = list(self.null_row_numbers)
        if self.categories is not None:
            out.update(self.categories.to_dict())
        lengths = self.length_summary()
        if lengths:
            out["lengths"] = lengths
            out["length_histogram"] = self.length_bins()
        return out

    def length_bins(self, bins: int = 32) -> list[list[int]]:
        """The length histogram in at most ``bins`` bins: ``[[lo, hi_inclusive, count], …]``."""
        return self.length_hist.bins(bins)


#: Elements per row when reducing columns: long contiguous inner loops are what make it fast.
REDUCE_ROW = 4096


def column_reduce(ufunc: np.ufunc, table: np.ndarray) -> np.ndarray:
    """``ufunc.reduce(table, axis=0)`` for a (rows, F) table, fast for small F.

    Reducing over axis 0 of a narrow table runs an inner loop of length F per row; viewing k
    rows at a time as one row of k·F elements and reducing twice gives the same result with
    long contiguous loops (about 8× faster for F = 16)."""
    rows, width = table.shape
    k = max(1, REDUCE_ROW // max(1, width))
    if k == 1 or rows < 2 * k or not table.flags.c_contiguous:
        return ufunc.reduce(table, axis=0)
    full = rows - rows % k
    out = ufunc.reduce(
        ufunc.reduce(table[:full].reshape(full // k, k * width), axis=0).reshape(k, width), axis=0
    )
    if full < rows:
        out = ufunc(out, ufunc.reduce(table[full:], axis=0))
    return out


def _py(v) -> Any:
    if isinstance(v, np.floating):  # float128's .item() is still a float128
        v = float(v)
    elif isinstance(v, np.integer | np.bool_):
        v = v.item()
    elif isinstance(v, np.complexfloating):
        v = str(complex(v))
    if isinstance(v, float) and not np.isfinite(v):
        return str(v)
    return v


def scan(handle: ArrayHandle, opts: ScanOptions, advance=None) -> ArrayStats:
    """One pass over ``handle`` in chunks of ``opts.chunk_bytes``; ``advance(nbytes)`` reports progress."""
    stats = ArrayStats()
    for chunk in handle.runs(opts.chunk_bytes):
        if isinstance(chunk, FillRows):
            stats.update_fill(chunk, opts)
            continue
        stats.update(chunk, opts)
        if advance is not None:
            data = chunk.values if isinstance(chunk, Ragged) else chunk
            advance(data.nbytes)
    return stats


def scan_together(
    handles: list[ArrayHandle], opts: ScanOptions | list[ScanOptions]
) -> list[ArrayStats] | None:
    """Each handle's stats from one pass, when they are arrays of one source that can read them
    together (a table's columns: :meth:`~dsdoctor.sources.table.TableSource.chunks_together`);
    None otherwise. A wide table's columns scanned one by one would read it once per column.
    ``opts``: one for all, or one per handle."""
    source = getattr(handles[0], "table", None) if handles else None
    together = getattr(source, "chunks_together", None)
    if together is None or any(getattr(h, "table", None) is not source for h in handles):
        return None
    for h in handles:
        h.require_readable()
    each = opts if isinstance(opts, list) else [opts] * len(handles)
    stats = [ArrayStats() for _ in handles]
    for chunks in together(handles, each[0].chunk_bytes):
        for st, chunk, o in zip(stats, chunks, each, strict=True):
            st.update(chunk, o)
    return stats
