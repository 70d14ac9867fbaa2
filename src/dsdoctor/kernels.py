"""Pure numpy kernels: padding, masking, length histograms, maxlen and bucket boundaries.

No I/O, no printing, numpy only. Ragged sequences are *values + offsets*: ``values`` has shape
``(total_timesteps, *inner)`` (``inner`` is ``()`` for scalar timesteps, ``(F,)`` for feature
vectors) and ``offsets`` is int64 of shape ``(N + 1,)``; sequence ``i`` is
``values[offsets[i]:offsets[i + 1]]``. ``offsets[0]`` need not be 0, so a caller can pass a window
of a bigger array without copying.

Length histograms are :class:`LengthHistogram`: the distinct lengths and how many sequences have
each (the kernels also take a dense ``hist[L]``, ``np.bincount(lengths)``); the streaming checks
keep only this histogram, so the maxlen and bucketing kernels work on it. Its size is the number
of distinct lengths, never the longest length.

Every kernel is vectorised: loops run over chunks of rows, buckets or distinct lengths, never
over sequences.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

__all__ = [
    "LengthHistogram",
    "assign_buckets",
    "count_value_timesteps",
    "lengths_from_offsets",
    "lossless_cast",
    "mask_padded",
    "offsets_from_lengths",
    "optimal_boundaries",
    "pad_values",
    "padding_cost",
    "resolve_maxlen",
    "resolve_maxlen_from_hist",
    "rows_with_value_timesteps",
]

Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
MaxLen = int | np.integer | str | None

# Rows are processed in chunks of about this many output bytes: big enough that the Python
# overhead per chunk vanishes, small enough that the chunk's temporaries stay in cache.
_CHUNK_BYTES = 1 << 20

# The bucketing dynamic programme works on blocks of about this many candidate cells.
_DP_BLOCK_CELLS = 1 << 18

_PERCENTILE = re.compile(r"p(\d+(?:\.\d+)?)")
_SIDES = ("pre", "post")
_UINTS = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


# --------------------------------------------------------------------------------------------
# offsets and lengths


def lengths_from_offsets(offsets: npt.ArrayLike) -> Int64Array:
    """Sequence lengths ``offsets[i + 1] - offsets[i]`` as int64, validating the offsets.

    Raises ValueError unless ``offsets`` is a non-empty, non-decreasing 1-D integer array.
    """
    off = _as_offsets(offsets)
    return np.diff(off)


def offsets_from_lengths(lengths: npt.ArrayLike, start: int = 0) -> Int64Array:
    """Offsets (int64, shape ``(N + 1,)``, first element ``start``) for the given lengths."""
    lens = np.asarray(lengths)
    if lens.ndim != 1 or (lens.size and (lens.dtype.kind not in "iu" or lens.min() < 0)):
        raise ValueError("lengths must be a 1-D array of non-negative integers")
    off = np.empty(lens.size + 1, dtype=np.int64)
    off[0] = start
    np.cumsum(lens, out=off[1:])
    off[1:] += start
    return off


def _as_offsets(offsets: npt.ArrayLike) -> Int64Array:
    off = np.asarray(offsets)
    if off.ndim != 1 or off.size == 0:
        raise ValueError(f"offsets must be a non-empty 1-D array; got shape {off.shape}")
    if off.dtype.kind not in "iu":
        raise ValueError(f"offsets must be integers; got dtype {off.dtype}")
    off = off.astype(np.int64, copy=False)
    if off[0] < 0 or (off.size > 1 and np.any(off[1:] < off[:-1])):
        raise ValueError("offsets must be non-negative and non-decreasing")
    return off


# --------------------------------------------------------------------------------------------
# length histograms


#: A chunk's lengths are counted with ``np.bincount`` (one pass, no sort) when the longest is at
#: most this many times the number of lengths plus BINCOUNT_SLACK; otherwise with a sort, so the
#: memory is proportional to the number of sequences, never to the longest length (one
#: sequence of 2**40 timesteps would otherwise need an 8 TiB table).
BINCOUNT_SPAN = 4
BINCOUNT_SLACK = 1 << 16


@dataclass(frozen=True)
class LengthHistogram:
    """How many sequences have each length, kept sparsely: ``lengths`` are the distinct lengths
    (int64, increasing) and ``counts[i]`` (int64, > 0) how many sequences have ``lengths[i]``.

    Its size is the number of *distinct* lengths, whatever the lengths are. The kernels that
    take a histogram also accept a dense ``hist[L]`` (``np.bincount(lengths)``).
    """

    lengths: Int64Array
    counts: Int64Array

    @classmethod
    def empty(cls) -> LengthHistogram:
        return cls(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))

    @classmethod
    def of(cls, lengths: npt.ArrayLike) -> LengthHistogram:
        """The histogram of a 1-D array of non-negative integer lengths."""
        lens = np.asarray(lengths)
        if lens.ndim != 1 or (lens.size and (lens.dtype.kind not in "iu" or lens.min() < 0)):
            raise ValueError("lengths must be a 1-D array of non-negative integers")
        if lens.size == 0:
            return cls.empty()
        if lens.dtype.kind == "u" and lens.max() > np.iinfo(np.int64).max:
            raise ValueError("lengths must fit in int64")
        lens = lens.astype(np.int64, copy=False)
        if int(lens.max()) <= BINCOUNT_SPAN * lens.size + BINCOUNT_SLACK:
            return cls.from_dense(np.bincount(lens))
        distinct, counts = np.unique(lens, return_counts=True)
        return cls(distinct.astype(np.int64), counts.astype(np.int64))

    @classmethod
    def from_dense(cls, hist: npt.ArrayLike) -> LengthHistogram:
        """From ``hist[L]`` = number of sequences of length L."""
        counts = np.asarray(hist)
        if counts.ndim != 1:
            raise ValueError(f"a length histogram must be 1-D; got shape {counts.shape}")
        if counts.size and (counts.dtype.kind not in "iub" or counts.min() < 0):
            raise ValueError("a length histogram must hold non-negative integer counts")
        distinct = np.flatnonzero(counts).astype(np.int64)
        return cls(distinct, counts[distinct].astype(np.int64))

    def __add__(self, other: LengthHistogram) -> LengthHistogram:
        if not len(other.lengths):
            return self
        if not len(self.lengths):
            return other
        distinct, where = np.unique(np.concatenate([self.lengths, other.lengths]),
                                    return_inverse=True)  # fmt: skip
        counts = np.zeros(len(distinct), dtype=np.int64)
        np.add.at(counts, where, np.concatenate([self.counts, other.counts]))
        return LengthHistogram(distinct.astype(np.int64), counts)

    def __mul__(self, times: int) -> LengthHistogram:
        """The histogram of ``times`` copies of these sequences (``times`` >= 0)."""
        if times <= 0:
            return LengthHistogram.empty()
        return LengthHistogram(self.lengths, self.counts * np.int64(times))

    @property
    def total(self) -> int:
        """The number of sequences."""
        return int(self.counts.sum())

    @property
    def longest(self) -> int:
        """The longest length (0 without sequences)."""
        return int(self.lengths[-1]) if len(self.lengths) else 0

    @property
    def timesteps(self) -> int:
        """The number of timesteps of all sequences (an exact Python int)."""
        if self.longest * self.total < 1 << 62:  # int64 cannot overflow
            return int(np.dot(self.lengths, self.counts))
        return sum(
            int(n) * int(length) for length, n in zip(self.lengths, self.counts, strict=True)
        )

    def count(self, length: int) -> int:
        """How many sequences have exactly ``length`` timesteps."""
        i = int(np.searchsorted(self.lengths, length))
        return int(self.counts[i]) if i < len(self.lengths) and self.lengths[i] == length else 0

    def clip(self, maxlen: int) -> LengthHistogram:
        """The histogram after truncating every sequence to ``maxlen`` timesteps."""
        if not len(self.lengths) or self.longest <= maxlen:
            return self
        keep = self.lengths < maxlen
        over = int(self.counts[~keep].sum())
        return LengthHistogram(np.append(self.lengths[keep], np.int64(maxlen)),
                               np.append(self.counts[keep], np.int64(over)))  # fmt: skip

    def bins(self, bins: int) -> list[list[int]]:
        """At most ``bins`` equal-width bins over ``[0, longest]``: ``[[lo, hi_inclusive, count],
        …]`` (every bin, also empty ones)."""
        top = self.longest + 1 if len(self.lengths) else 0
        if top == 0:
            return []
        parts = min(bins, top)  # exact integer edges, also past 2**53
        edges = np.unique(np.array([top * i // parts for i in range(parts + 1)], dtype=np.int64))
        which = np.searchsorted(edges, self.lengths, side="right") - 1
        counts = np.zeros(len(edges) - 1, dtype=np.int64)
        np.add.at(counts, which, self.counts)
        return [[int(lo), int(hi) - 1, int(c)]
                for lo, hi, c in zip(edges[:-1], edges[1:], counts, strict=True)]  # fmt: skip


def _as_hist(hist: LengthHistogram | npt.ArrayLike) -> LengthHistogram:
    return hist if isinstance(hist, LengthHistogram) else LengthHistogram.from_dense(hist)


# --------------------------------------------------------------------------------------------
# maxlen


def resolve_maxlen(lengths: npt.ArrayLike, maxlen: MaxLen) -> int:
    """The padded length for ``maxlen`` given the sequence lengths.

    ``maxlen`` is None (the longest length, 0 without sequences), an int >= 0 (returned as is,
    also as a digit string such as ``"256"``) or a percentile ``"pNN"`` / ``"pNN.N"`` with
    ``0 < NN <= 100``: the shortest length L such that at least NN% of the sequences have
    length <= L (``"p100"`` is the longest length). Anything else raises ValueError.
    """
    return resolve_maxlen_from_hist(LengthHistogram.of(lengths), maxlen)


def resolve_maxlen_from_hist(hist: LengthHistogram | npt.ArrayLike, maxlen: MaxLen) -> int:
    """:func:`resolve_maxlen` from a length histogram (a :class:`LengthHistogram`, or dense:
    ``hist[L]`` sequences have length L)."""
    counts = _as_hist(hist)
    if maxlen is None:
        return counts.longest
    if isinstance(maxlen, bool):
        raise ValueError(_maxlen_message(maxlen))
    if isinstance(maxlen, int | np.integer):
        if maxlen < 0:
            raise ValueError(_maxlen_message(maxlen))
        return int(maxlen)
    if isinstance(maxlen, str):
        text = maxlen.strip()
        if text.isdecimal() and text.isascii():
            return int(text)
        match = _PERCENTILE.fullmatch(text)
        if match:
            pct = Fraction(match.group(1))
            if 0 < pct <= 100:
                return _percentile_length(counts, pct)
    raise ValueError(_maxlen_message(maxlen))


def _maxlen_message(maxlen: object) -> str:
    return (
        "maxlen must be None, an integer >= 0 or a percentile 'pNN' with 0 < NN <= 100 "
        f"(e.g. 'p95'); got {maxlen!r}"
    )


def _percentile_length(hist: LengthHistogram, pct: Fraction) -> int:
    total = hist.total
    if total == 0:
        return 0
    # Exact integer arithmetic: the number of sequences that must fit is ceil(pct% of total).
    needed = -((-pct * total) // 100)
    return int(hist.lengths[np.searchsorted(np.cumsum(hist.counts), int(needed), side="left")])


# --------------------------------------------------------------------------------------------
# pad


def pad_values(
    values: npt.ArrayLike,
    offsets: npt.ArrayLike,
    *,
    maxlen: MaxLen,
    padding: str = "pre",
    truncating: str = "pre",
    value: Any = 0,
    dtype: npt.DTypeLike | None = None,
    out: np.ndarray | None = None,
    mask_out: np.ndarray | None = None,
) -> tuple[np.ndarray, BoolArray, Int64Array]:
    """Pad ragged sequences to a dense ``(N, maxlen, *inner)`` array.

    The data equals ``keras.utils.pad_sequences(sequences, maxlen=maxlen, dtype=dtype,
    padding=padding, truncating=truncating, value=value)``: ``truncating="pre"`` keeps the last
    ``maxlen`` timesteps, ``"post"`` the first; ``padding="pre"`` puts the padding at the start
    of a row, ``"post"`` at the end (what ``torch.nn.utils.rnn.pad_sequence`` does). ``maxlen``
    accepts whatever :func:`resolve_maxlen` accepts. Unlike Keras, ``dtype`` defaults to
    ``values.dtype``, an empty batch or ``maxlen=0`` give empty arrays, and the padding and
    truncating strings are checked even when no sequence needs them. Casting follows numpy's
    unsafe casting, like Keras; use :func:`lossless_cast` first to refuse a lossy one.

    Returns ``(data, mask, lengths)``: ``mask`` is bool ``(N, maxlen)``, True on real timesteps;
    ``lengths`` is int64 ``min(length, maxlen)``, what ``pack_padded_sequence`` takes. With
    ``out`` / ``mask_out`` (e.g. slices of a memmap) the result is written there and those
    arrays are returned.
    """
    vals = np.asarray(values)
    if vals.ndim < 1:
        raise ValueError("values must have at least one axis (timesteps)")
    _check_side("padding", padding)
    _check_side("truncating", truncating)
    off = _as_offsets(offsets)
    if off[-1] > len(vals):
        raise ValueError(f"offsets end at {off[-1]} but values has only {len(vals)} timesteps")
    lengths = np.diff(off)
    width = resolve_maxlen(lengths, maxlen)
    kept = np.minimum(lengths, width)
    n, inner = len(lengths), vals.shape[1:]

    if out is not None:
        if dtype is not None and np.dtype(dtype) != out.dtype:
            raise ValueError(f"dtype {np.dtype(dtype)} differs from out.dtype {out.dtype}")
        out_dtype = out.dtype
    else:
        out_dtype = np.dtype(dtype) if dtype is not None else vals.dtype
    fill = np.full((), value, dtype=out_dtype)  # the same conversion as Keras' np.full
    # A fresh output padded with zero bytes is allocated zeroed (calloc: the kernel hands out
    # zeroed pages on first touch, a cost any fresh output pays), so that only the real
    # timesteps are written, by a masked copy; a given `out` (a reused buffer, a memmap) is
    # written whole by a blend.
    zeroed = out is None and not fill.tobytes().strip(b"\0")
    data = (
        np.zeros((n, width, *inner), out_dtype)
        if zeroed
        else _output(out, (n, width, *inner), out_dtype, "out")
    )
    mask = _output(mask_out, (n, width), np.dtype(bool), "mask_out")
    if data.size == 0 and mask.size == 0:
        return data, mask, kept

    # Row i of the output is the window of `width` timesteps of `values` that starts at
    # starts[i], with the padding cells then set to `value`.
    first = off[:-1] if truncating == "post" else off[1:] - kept  # first kept timestep
    starts = first if padding == "post" else first - (width - kept)
    windows, starts = _row_windows(vals, width, starts, first, kept)

    # real_rows[pattern_index[i]] is the mask of row i: a view of a (2 * width,) pattern.
    pattern = np.zeros(2 * width, dtype=bool)
    pattern[width:] = padding == "pre"
    pattern[:width] = padding == "post"
    real_rows = sliding_window_view(pattern, width)
    pattern_index = kept if padding == "pre" else width - kept

    # Same dtype of 1, 2, 4 or 8 bytes: blend on the bits as unsigned integers, exact and much
    # faster than a masked copy over every cell: data = fill + (window - fill) * mask, modulo
    # 2**bits.
    bits, fill_bits, cell_rows = None, fill, real_rows
    cells = math.prod(inner)
    if (
        not zeroed
        and out_dtype == vals.dtype
        and out_dtype.kind in "biufcmM"
        and out_dtype.itemsize in _UINTS
        and cells > 0
    ):
        bits = _UINTS[out_dtype.itemsize]
        fill_bits = fill.view(bits)
    flat = (bits is not None or zeroed) and cells > 1
    if flat:
        # The same pattern per cell, rows of width * cells stepping by cells: a mask that
        # broadcast (rows, width, 1) would spend its time in inner loops of length F.
        cell_rows = sliding_window_view(np.repeat(pattern, cells), width * cells)[::cells]
    row_bytes = max(1, width * max(1, cells) * out_dtype.itemsize)
    for rows in _row_chunks(n, row_bytes):
        chunk_mask = mask[rows]
        chunk_data = data[rows]
        chunk_mask[...] = real_rows[pattern_index[rows]]
        source = windows.gather(starts[rows], rows)
        if bits is not None:
            flat_mask = chunk_mask if cells == 1 else cell_rows[pattern_index[rows]]
            _blend_bits(chunk_data, source, flat_mask, fill_bits, bits)
            continue
        if not zeroed:
            chunk_data[...] = fill
        # Cast only real timesteps, so that data outside the sequences (NaN next to an int
        # target, say) cannot raise a spurious cast warning.
        if flat:
            k = len(chunk_data)
            np.copyto(chunk_data.reshape(k, -1), source.reshape(k, -1),
                      where=cell_rows[pattern_index[rows]], casting="unsafe")  # fmt: skip
        else:
            cell_mask = chunk_mask.reshape(chunk_mask.shape + (1,) * len(inner))
            np.copyto(chunk_data, source, where=cell_mask, casting="unsafe")
    return data, mask, kept


def _blend_bits(
    data: np.ndarray, source: np.ndarray, flat_mask: BoolArray, fill_bits: np.ndarray, bits: type
) -> None:
    """``data = where(mask, source, fill)`` as ``fill + (source - fill) * mask`` on the bits.

    ``flat_mask`` is the mask per cell, ``(rows, width * F)``: a blend that broadcast a
    ``(rows, width, 1)`` mask would spend its time in inner loops of length F.
    """
    rows = len(source)
    flat_source: np.ndarray = source.reshape(rows, -1).view(bits)
    contiguous = data.flags.c_contiguous
    target = data.reshape(rows, -1).view(bits) if contiguous else flat_source
    if fill_bits == 0:
        np.multiply(flat_source, flat_mask, out=target)
    else:
        np.subtract(flat_source, fill_bits, out=flat_source)
        np.multiply(flat_source, flat_mask, out=flat_source)
        np.add(flat_source, fill_bits, out=target)
    if not contiguous:
        data[...] = source


def _check_side(name: str, side: object) -> None:
    if side not in _SIDES:
        raise ValueError(f"{name} must be 'pre' or 'post'; got {side!r}")


def _output(
    given: np.ndarray | None, shape: tuple[int, ...], dtype: np.dtype, name: str
) -> np.ndarray:
    if given is None:
        return np.empty(shape, dtype=dtype)
    if tuple(given.shape) != shape:
        raise ValueError(f"{name} has shape {tuple(given.shape)}; expected {shape}")
    if given.dtype != dtype:
        raise ValueError(f"{name} has dtype {given.dtype}; expected {dtype}")
    return given


class _Windows:
    """Gathers rows of ``width`` consecutive timesteps; a few rows come from an edge buffer."""

    def __init__(
        self,
        main: np.ndarray | None,
        edge_rows: Int64Array,
        edge_windows: np.ndarray | None,
        edge_starts: Int64Array | None,
    ) -> None:
        self.main = main
        self.edge_rows = edge_rows
        self.edge_windows = edge_windows
        self.edge_starts = edge_starts

    def gather(self, starts: Int64Array, rows: slice) -> np.ndarray:
        if self.main is None:
            assert self.edge_windows is not None  # no main part: every row is an edge row
            return self.edge_windows[starts]
        source = self.main[starts]
        lo, hi = np.searchsorted(self.edge_rows, [rows.start, rows.stop])
        if hi > lo:
            assert self.edge_windows is not None and self.edge_starts is not None
            local = self.edge_rows[lo:hi] - rows.start
            source[local] = self.edge_windows[self.edge_starts[lo:hi]]
        return source


def _row_windows(
    vals: np.ndarray, width: int, starts: Int64Array, first: Int64Array, kept: Int64Array
) -> tuple[_Windows, Int64Array]:
    """Window views of ``vals`` and in-bounds window starts for every row.

    A row whose window would stick out of ``vals`` (only near its start or end, or everywhere
    when ``vals`` is shorter than ``width``) reads from a small zero-bordered copy instead.
    """
    total = len(vals)
    if total >= width:
        main = np.moveaxis(sliding_window_view(vals, width, axis=0), -1, 1)
        edge = (starts < 0) | (starts > total - width)
        edge_rows = np.flatnonzero(edge)
        clipped = np.clip(starts, 0, total - width)
    else:
        main, edge_rows, clipped = None, np.arange(len(starts)), starts
    if edge_rows.size == 0:
        return _Windows(main, edge_rows, None, None), clipped
    # The real timesteps of the edge rows lie in vals[lo:hi]; each window then fits in the
    # copy with `width` cells on either side (a window starts at most `width` before its first
    # real timestep and never after it).
    lo = int(first[edge_rows].min())
    hi = int((first[edge_rows] + kept[edge_rows]).max())
    buffer = np.zeros((hi - lo + 2 * width, *vals.shape[1:]), dtype=vals.dtype)
    buffer[width : width + hi - lo] = vals[lo:hi]
    edge_windows = np.moveaxis(sliding_window_view(buffer, width, axis=0), -1, 1)
    edge_starts = starts[edge_rows] - lo + width
    if main is None:
        return _Windows(None, edge_rows, edge_windows, None), edge_starts
    return _Windows(main, edge_rows, edge_windows, edge_starts), clipped


def _row_chunks(n: int, row_bytes: int) -> Iterator[slice]:
    step = max(1, _CHUNK_BYTES // max(1, row_bytes))
    for start in range(0, n, step):
        yield slice(start, min(n, start + step))


# --------------------------------------------------------------------------------------------
# mask


def mask_padded(data: npt.ArrayLike, value: Any) -> BoolArray:
    """Keras ``Masking`` for padded data: bool ``(N, T)``, True on real timesteps.

    ``data`` is ``(N, T)`` (a timestep is a scalar) or ``(N, T, *F)``; a timestep is padding iff
    all its features equal ``value``. Unlike Keras (where ``NaN != NaN``, so a NaN mask value
    never masks anything) a NaN ``value`` matches NaN entries.
    """
    arr = np.asarray(data)
    if arr.ndim < 2:
        raise ValueError(f"padded data needs axes (samples, timesteps, ...); got shape {arr.shape}")
    n, steps = arr.shape[:2]
    mask = np.empty((n, steps), dtype=bool)
    row_bytes = max(1, arr[:1].nbytes)
    for rows in _row_chunks(n, row_bytes):
        np.logical_not(_timestep_equals(arr[rows], value, axis_from=2), out=mask[rows])
    return mask


def count_value_timesteps(values: npt.ArrayLike, value: Any) -> int:
    """How many timesteps of ragged ``values`` ``(total, *inner)`` equal ``value``.

    A timestep counts when all its features equal ``value`` (NaN matches NaN), the rule
    :func:`mask_padded` uses: these real timesteps would be hidden by a mask computed from
    the value.
    """
    vals = _as_timesteps(values)
    if vals.size == 0:  # no timesteps, or timesteps of no features: each one equals anything
        return len(vals)
    return sum(
        int(np.count_nonzero(_timestep_equals(vals[rows], value, axis_from=1)))
        for rows in _row_chunks(len(vals), max(1, vals[:1].nbytes))
    )


def rows_with_value_timesteps(values: npt.ArrayLike, offsets: npt.ArrayLike, value: Any) -> int:
    """How many sequences have at least one timestep equal to ``value`` (as counted by
    :func:`count_value_timesteps`)."""
    vals = _as_timesteps(values)
    off = _as_offsets(offsets)
    if off[-1] > len(vals):
        raise ValueError(f"offsets end at {off[-1]} but values has only {len(vals)} timesteps")
    lo, hi = int(off[0]), int(off[-1])
    if vals.size == 0:  # as count_value_timesteps: every timestep of no features matches
        return int(np.count_nonzero(np.diff(off)))
    window = vals[lo:hi]
    hit_rows = np.zeros(len(off) - 1, dtype=bool)
    for rows in _row_chunks(len(window), max(1, window[:1].nbytes)):
        positions = np.flatnonzero(_timestep_equals(window[rows], value, axis_from=1))
        if positions.size:
            positions += lo + rows.start
            hit_rows[np.searchsorted(off, positions, side="right") - 1] = True
    return int(np.count_nonzero(hit_rows))


def _as_timesteps(values: npt.ArrayLike) -> np.ndarray:
    vals = np.asarray(values)
    if vals.ndim < 1:
        raise ValueError("values must have at least one axis (timesteps)")
    return vals


def _is_nan(value: Any) -> bool:
    try:
        return bool(np.isnan(value))
    except (TypeError, ValueError):
        return False


def _timestep_equals(block: np.ndarray, value: Any, axis_from: int) -> BoolArray:
    """True where every feature (axes ``axis_from`` on) of a timestep equals ``value``."""
    if _is_nan(value):
        equal = np.isnan(block) if block.dtype.kind in "fc" else np.zeros(block.shape, bool)
    else:
        equal = np.asarray(block == value)
    if equal.ndim > axis_from:
        features = math.prod(equal.shape[axis_from:])
        equal = equal.reshape((*equal.shape[:axis_from], features)).all(axis=-1)
    return equal


# --------------------------------------------------------------------------------------------
# buckets


def assign_buckets(lengths: npt.ArrayLike, boundaries: Sequence[int] | npt.ArrayLike) -> Int64Array:
    """Bucket index of every length: bucket j holds ``boundaries[j-1] <= length < boundaries[j]``
    (tf.data ``bucket_by_sequence_length``; the last bucket is unbounded)."""
    bounds = _as_boundaries(boundaries)
    return np.searchsorted(bounds, np.asarray(lengths), side="right").astype(np.int64)


def padding_cost(
    hist: LengthHistogram | npt.ArrayLike,
    boundaries: Sequence[int] | npt.ArrayLike,
    pad_to_boundary: bool = False,
) -> int:
    """Padded cells when the sequences of ``hist`` are bucketed at ``boundaries``.

    Each bucket is padded to the longest length in it, or with ``pad_to_boundary`` (tf.data's
    ``pad_to_bucket_boundary``) a bounded bucket to its upper boundary - 1 (the last bucket still
    to its longest length). ``padding_cost(hist, [])`` is the cost of one global maxlen.
    """
    counts = _as_hist(hist)
    bounds = _as_boundaries(boundaries)
    if not len(counts.lengths):
        return 0
    which = np.searchsorted(bounds, counts.lengths, side="right")  # each distinct length's bucket
    k = len(bounds) + 1
    # exact Python integers when cells could pass int64 (hostile lengths), int64 otherwise
    top = max(counts.longest, int(bounds[-1]) if len(bounds) else 0)
    kind = object if top * counts.total >= 1 << 62 else np.int64
    lengths, seqs = counts.lengths.astype(kind), counts.counts.astype(kind)
    in_bucket, cells, widths = (np.zeros(k, dtype=np.int64).astype(kind) for _ in range(3))
    np.add.at(in_bucket, which, seqs)
    np.add.at(cells, which, seqs * lengths)
    np.maximum.at(widths, which, lengths)  # the longest length in each bucket
    if pad_to_boundary:
        widths[:-1] = (bounds - 1).astype(kind)
    used = in_bucket > 0
    cost = in_bucket[used] * widths[used] - cells[used]
    return int(sum(int(c) for c in cost))


def optimal_boundaries(hist: LengthHistogram | npt.ArrayLike, k: int) -> list[int]:
    """The at most ``k - 1`` boundaries that minimise :func:`padding_cost` exactly.

    A dynamic programme over the sorted distinct lengths (O(k * D^2) for D distinct lengths,
    vectorised over the split point). Each boundary is the longest length of its bucket + 1.
    With at most ``k`` distinct lengths every length gets its own bucket (no padding at all).
    """
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"the number of buckets must be an integer >= 1; got {k!r}")
    counts = _as_hist(hist)
    distinct = counts.lengths
    n_distinct = distinct.size
    groups = min(int(k), n_distinct)
    if groups <= 1:
        return []
    if groups == n_distinct:
        return [int(length) + 1 for length in distinct[:-1]]
    # prefix[j] = sequences with one of the j shortest distinct lengths. A bucket of distinct
    # lengths a..b costs (prefix[b+1] - prefix[a]) * distinct[b] cells minus its (constant)
    # real timesteps, so minimising the cells minimises the padding.
    prefix = np.concatenate(([0], np.cumsum(counts.counts)))
    if int(prefix[-1]) * int(distinct[-1]) >= 1 << 61:
        # cells past int64 (only hostile lengths reach it): the same programme on exact
        # Python integers, slower but never wrong
        prefix, distinct = prefix.astype(object), distinct.astype(object)
        kind, big = object, 1 << 200
    else:
        kind, big = np.int64, 1 << 62
    best = prefix[1:] * distinct  # best[b]: lengths 0..b in one bucket
    splits: list[Int64Array] = []
    for group in range(2, groups + 1):
        # best[b] = min over a in [group-1, b] of old[a-1] + (prefix[b+1] - prefix[a]) * d[b]:
        # the last bucket holds distinct lengths a..b. The cost is Monge, so the best a never
        # decreases with b: each block of b only searches from the previous block's best a.
        # Only b = n_distinct - 1 matters for the last group.
        old = best
        best = np.full(n_distinct, big, dtype=kind)
        split = np.zeros(n_distinct, dtype=np.int64)
        first_b = group - 1 if group < groups else n_distinct - 1
        low = group - 1
        step = max(1, _DP_BLOCK_CELLS // max(1, n_distinct - low))
        for b0 in range(first_b, n_distinct, step):
            b = np.arange(b0, min(n_distinct, b0 + step))
            a = np.arange(low, b[-1] + 1)
            cand = old[a - 1, None] - prefix[a, None] * distinct[b]
            cand[a[:, None] > b] = big
            arg = np.argmin(cand, axis=0)
            best[b] = cand[arg, np.arange(b.size)] + prefix[b + 1] * distinct[b]
            split[b] = a[arg]
            low = int(split[b[-1]])
        splits.append(split)
    boundaries = []
    end = n_distinct - 1
    for split in reversed(splits):
        start = int(split[end])
        boundaries.append(int(distinct[start - 1]) + 1)
        end = start - 1
    return boundaries[::-1]


def _as_boundaries(boundaries: Sequence[int] | npt.ArrayLike) -> Int64Array:
    bounds = np.asarray(boundaries)
    if bounds.size == 0:
        return np.zeros(0, dtype=np.int64)
    if bounds.ndim != 1 or bounds.dtype.kind not in "iu":
        raise ValueError(f"boundaries must be a 1-D list of integers; got {boundaries!r}")
    bounds = bounds.astype(np.int64)
    if bounds[0] < 1 or np.any(bounds[1:] <= bounds[:-1]):
        raise ValueError(
            f"boundaries must be strictly increasing integers >= 1; got {boundaries!r}"
        )
    return bounds


# --------------------------------------------------------------------------------------------
# casts


def lossless_cast(values: npt.ArrayLike, dtype: npt.DTypeLike) -> bool:
    """True if casting ``values`` to ``dtype`` changes no value.

    Always True for a safe cast (``np.can_cast(..., "safe")``, except that numpy calls int64 ->
    float64 safe although float64 holds integers exactly only up to 2**53) or no values;
    otherwise every value must be representable: float64 ``3.0`` -> int32 is fine; ``1.5``,
    NaN or inf -> int32 is not, nor ``300`` -> int8, ``-1`` -> uint32 or ``2**53 + 1`` ->
    float64. NaN -> float stays NaN.
    """
    arr = np.asarray(values)
    target = np.dtype(dtype)
    if arr.size == 0 or (np.can_cast(arr.dtype, target, "safe") and _exact_safe(arr.dtype, target)):
        return True
    flat = arr.reshape(-1)
    return all(
        _lossless_block(flat[rows], target)
        for rows in _row_chunks(flat.size, max(1, arr.dtype.itemsize))
    )


def _exact_safe(source: np.dtype, target: np.dtype) -> bool:
    """False for the integer -> float casts numpy calls safe that can round (int64 -> float64)."""
    if source.kind not in "iu" or target.kind not in "fc":
        return True
    digits = np.finfo(target).nmant + 1
    return 8 * source.itemsize - (source.kind == "i") <= digits


def _lossless_block(block: np.ndarray, target: np.dtype) -> bool:
    source = block.dtype
    if target.kind in "iub" and source.kind in "iubfc":
        # Compare the extremes as Python numbers, where int/float comparisons are exact; once
        # the values are integral and in range the cast is exact (and defined).
        if source.kind == "c":
            if np.any(block.imag != 0):
                return False
            block = block.real
        if source.kind in "fc" and (
            not np.all(np.isfinite(block)) or np.any(block != np.trunc(block))
        ):
            return False
        low, high = (0, 1) if target.kind == "b" else (np.iinfo(target).min, np.iinfo(target).max)
        return block.min().item() >= low and block.max().item() <= high
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
            image = block.astype(target)
            if source.kind in "iu" and target.kind in "fc":
                # An image outside the integer range (±inf included: -2**63 as float16 is -inf)
                # would make the cast back undefined.
                limit = 2.0 ** (8 * source.itemsize - (source.kind == "i"))
                real = image.real
                if np.any(~np.isfinite(real) | (real >= limit) | (real < -limit)):
                    return False
            back = image.astype(source)
            same = back == block
            if source.kind in "fc":
                same |= np.isnan(back) & np.isnan(block)
    except (TypeError, ValueError, OverflowError):
        return False
    return bool(np.all(same))
