"""Tests of the numpy repair kernels: Keras as the oracle for padding, brute force elsewhere."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "numpy")

import itertools
import math
import warnings
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from unittest import mock

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dsdoctor import kernels
from dsdoctor.kernels import (
    assign_buckets,
    count_value_timesteps,
    lengths_from_offsets,
    lossless_cast,
    mask_padded,
    offsets_from_lengths,
    optimal_boundaries,
    pad_values,
    padding_cost,
    resolve_maxlen,
    resolve_maxlen_from_hist,
    rows_with_value_timesteps,
)

NAN = float("nan")
SIDES = st.sampled_from(["pre", "post"])
MAXLENS = st.one_of(st.none(), st.integers(0, 15))


@cache
def keras_pad_sequences():
    keras = pytest.importorskip("keras")
    return keras.utils.pad_sequences


@dataclass
class Case:
    """Ragged sequences as values + offsets (offsets a window into values) and as a list."""

    values: np.ndarray
    offsets: np.ndarray

    @property
    def sequences(self) -> list[np.ndarray]:
        off = self.offsets
        return [self.values[off[i] : off[i + 1]] for i in range(len(off) - 1)]

    @property
    def inner(self) -> tuple[int, ...]:
        return self.values.shape[1:]


@st.composite
def ragged(
    draw,
    dtypes=("int8", "uint8", "int32", "int64", "float32", "float64"),
    inners=((), (1,), (3,)),
    max_n=8,
    max_len=12,
    low=-100,
    high=100,
) -> Case:
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    inner = draw(st.sampled_from(inners))
    lengths = draw(st.lists(st.integers(0, max_len), max_size=max_n))
    before, after = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    total = before + sum(lengths) + after
    if dtype.kind == "f":
        elements = st.floats(low, high, width=dtype.itemsize * 8)
    else:
        elements = st.integers(max(low, 0) if dtype.kind == "u" else low, high)
    values = draw(hnp.arrays(dtype, (total, *inner), elements=elements))
    return Case(values, offsets_from_lengths(lengths, start=before))


def truncated(seq: np.ndarray, maxlen: int, truncating: str) -> np.ndarray:
    if maxlen == 0:
        return seq[:0]
    return seq[-maxlen:] if truncating == "pre" else seq[:maxlen]


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


# --------------------------------------------------------------------------------------------
# pad: Keras and PyTorch semantics


@settings(max_examples=400, deadline=None)
@given(
    case=ragged(),
    maxlen=MAXLENS,
    padding=SIDES,
    truncating=SIDES,
    target=st.sampled_from([None, "int32", "int64", "float32", "float64"]),
    value=st.sampled_from([0, -1, 7, 0.5, -0.0, NAN]),
    chunk_bytes=st.sampled_from([1, 40, 1 << 20]),
)
def test_pad_values_equals_keras_pad_sequences(
    case, maxlen, padding, truncating, target, value, chunk_bytes
):
    dtype = np.dtype(target) if target else case.values.dtype
    if dtype.kind in "iu" and math.isnan(value):
        value = -1
    if dtype.kind == "u" and value < 0:
        value = 7
    lengths = np.diff(case.offsets)
    # Where Keras itself fails or differs by design: no sequences with maxlen=None (np.max of
    # nothing), maxlen=0 with a non-empty sequence (a broadcast error), and all-empty
    # sequences of vectors (Keras cannot see the feature axis and drops it).
    assume(len(lengths) > 0 or maxlen is not None)
    assume(maxlen != 0 or not lengths.any())
    assume(lengths.any() or case.inner == ())

    with mock.patch.object(kernels, "_CHUNK_BYTES", chunk_bytes):
        data, mask, kept = pad_values(
            case.values,
            case.offsets,
            maxlen=maxlen,
            padding=padding,
            truncating=truncating,
            value=value,
            dtype=target,
        )
    expected = keras_pad_sequences()(
        case.sequences,
        maxlen=maxlen,
        dtype=dtype.name,
        padding=padding,
        truncating=truncating,
        value=value,
    )
    assert same_bits(data, expected)
    width = data.shape[1]
    np.testing.assert_array_equal(kept, np.minimum(lengths, width))
    assert mask.shape == (len(lengths), width) and mask.dtype == bool


def test_pad_values_keras_docstring_examples():
    sequences = [[1], [2, 3], [4, 5, 6]]
    values = np.array([1, 2, 3, 4, 5, 6], dtype=np.int32)
    offsets = offsets_from_lengths([len(s) for s in sequences])
    pad = keras_pad_sequences()
    for options in [{}, {"value": -1}, {"padding": "post"}, {"maxlen": 2}]:
        kwargs = {"maxlen": None, **options}
        data, _, _ = pad_values(values, offsets, **kwargs)
        np.testing.assert_array_equal(data, pad(sequences, **kwargs))
    data, mask, lengths = pad_values(values, offsets, maxlen=2)
    np.testing.assert_array_equal(data, [[0, 1], [2, 3], [5, 6]])
    np.testing.assert_array_equal(mask, [[False, True], [True, True], [True, True]])
    np.testing.assert_array_equal(lengths, [1, 2, 2])
    assert lengths.dtype == np.int64


@settings(max_examples=150, deadline=None)
@given(case=ragged(), truncating=SIDES, value=st.sampled_from([0, -1, 3]))
def test_post_padding_equals_torch_pad_sequence(case, truncating, value):
    # torch.nn.utils.rnn.pad_sequence(batch_first=True, padding_value=value): every sequence
    # copied to the start of a row as long as the longest.
    sequences = case.sequences
    longest = max((len(s) for s in sequences), default=0)
    dtype = case.values.dtype
    if dtype.kind == "u":
        value = abs(value)
    expected = np.full((len(sequences), longest, *case.inner), value, dtype=dtype)
    for row, seq in zip(expected, sequences, strict=True):
        row[: len(seq)] = seq
    data, mask, lengths = pad_values(
        case.values, case.offsets, maxlen=None, padding="post", truncating=truncating, value=value
    )
    assert same_bits(data, expected)
    np.testing.assert_array_equal(mask, np.arange(longest) < lengths[:, None])


@settings(max_examples=200, deadline=None)
@given(
    case=ragged(),
    maxlen=st.one_of(MAXLENS, st.sampled_from(["p50", "p90"])),
    padding=SIDES,
    truncating=SIDES,
)
def test_pad_then_unpad_with_the_mask_gives_back_the_sequences(case, maxlen, padding, truncating):
    data, mask, lengths = pad_values(
        case.values, case.offsets, maxlen=maxlen, padding=padding, truncating=truncating, value=0
    )
    width = data.shape[1]
    np.testing.assert_array_equal(lengths, np.minimum(np.diff(case.offsets), width))
    np.testing.assert_array_equal(mask.sum(axis=1), lengths)
    steps = np.arange(width)
    real = steps < lengths[:, None] if padding == "post" else steps >= width - lengths[:, None]
    np.testing.assert_array_equal(mask, real)
    for row, row_mask, seq in zip(data, mask, case.sequences, strict=True):
        np.testing.assert_array_equal(row[row_mask], truncated(seq, width, truncating))


@settings(max_examples=150, deadline=None)
@given(
    case=ragged(),
    maxlen=MAXLENS,
    padding=SIDES,
    truncating=SIDES,
    target=st.sampled_from(["int32", "float32", "float64"]),
)
def test_mask_padded_with_an_out_of_band_value_equals_the_pad_mask(
    case, maxlen, padding, truncating, target
):
    values = [1000, NAN] if target != "int32" else [1000]
    for value in values:
        data, mask, _ = pad_values(
            case.values,
            case.offsets,
            maxlen=maxlen,
            padding=padding,
            truncating=truncating,
            value=value,
            dtype=target,
        )
        np.testing.assert_array_equal(mask_padded(data, value), mask)


@settings(max_examples=150, deadline=None)
@given(
    case=ragged(dtypes=("int32", "float64"), low=0, high=2),
    padding=SIDES,
    value=st.sampled_from([0, 1]),
)
def test_a_mask_from_the_value_hides_exactly_the_colliding_timesteps(case, padding, value):
    data, mask, _ = pad_values(case.values, case.offsets, maxlen=None, padding=padding, value=value)
    window = case.values[case.offsets[0] : case.offsets[-1]]
    hidden = int(mask.sum() - mask_padded(data, value).sum())
    assert hidden == count_value_timesteps(window, value)


@settings(max_examples=100, deadline=None)
@given(
    case=ragged(),
    maxlen=st.integers(0, 15),
    padding=SIDES,
    truncating=SIDES,
    cuts=st.lists(st.integers(0, 8), max_size=4),
    strided=st.booleans(),
)
def test_out_arrays_filled_in_chunks_equal_the_one_shot_result(
    case, maxlen, padding, truncating, cuts, strided
):
    options = {"maxlen": maxlen, "padding": padding, "truncating": truncating, "value": -1}
    if case.values.dtype.kind == "u":
        options["value"] = 9
    expected, expected_mask, expected_lengths = pad_values(case.values, case.offsets, **options)
    n = len(case.offsets) - 1
    shape = (n, maxlen, *case.inner)
    if strided:  # a non-contiguous destination, like a column slice of a bigger array
        out = np.zeros((n, maxlen + 2, *case.inner), case.values.dtype)[:, 1:-1]
        mask_out = np.zeros((n, maxlen + 2), bool)[:, 1:-1]
    else:
        out, mask_out = np.zeros(shape, case.values.dtype), np.zeros((n, maxlen), bool)
    bounds = sorted({0, n, *(c for c in cuts if c < n)})
    for start, stop in itertools.pairwise(bounds):
        data, mask, lengths = pad_values(
            case.values,
            case.offsets[start : stop + 1],
            out=out[start:stop],
            mask_out=mask_out[start:stop],
            **options,
        )
        assert np.shares_memory(data, out) or data.size == 0
        assert np.shares_memory(mask, mask_out) or mask.size == 0
        np.testing.assert_array_equal(lengths, expected_lengths[start:stop])
    assert same_bits(np.ascontiguousarray(out), expected)
    np.testing.assert_array_equal(mask_out, expected_mask)


@settings(max_examples=200, deadline=None)
@given(
    case=ragged(),
    maxlen=st.integers(0, 15),
    padding=SIDES,
    truncating=SIDES,
    target=st.sampled_from([None, "int32", "float64"]),
    chunk_bytes=st.sampled_from([1, 40, 1 << 20]),
)
def test_zero_padding_into_fresh_memory_equals_the_blend_into_a_given_out(
    case, maxlen, padding, truncating, target, chunk_bytes
):
    # Without `out` and with a padding of zero bytes the kernel allocates zeroed memory and
    # copies only the real timesteps; into a given (dirty) `out` it blends every cell. Same bits.
    dtype = np.dtype(target) if target else case.values.dtype
    options = {"maxlen": maxlen, "padding": padding, "truncating": truncating, "value": 0}
    n = len(case.offsets) - 1
    dirty = np.full((n, maxlen, *case.inner), 3, dtype)
    with mock.patch.object(kernels, "_CHUNK_BYTES", chunk_bytes):
        fresh, fresh_mask, _ = pad_values(case.values, case.offsets, dtype=target, **options)
        given, given_mask, _ = pad_values(case.values, case.offsets, out=dirty, **options)
    assert same_bits(fresh, given)
    np.testing.assert_array_equal(fresh_mask, given_mask)
    assert not fresh[~fresh_mask].any()


def test_out_can_be_a_memmap(tmp_path):
    values = np.arange(1, 31, dtype=np.float32).reshape(15, 2)
    offsets = offsets_from_lengths([3, 0, 7, 5])
    out = np.lib.format.open_memmap(tmp_path / "x.npy", "w+", np.float32, (4, 4, 2))
    mask_out = np.lib.format.open_memmap(tmp_path / "m.npy", "w+", bool, (4, 4))
    for start, stop in [(0, 2), (2, 4)]:
        pad_values(
            values,
            offsets[start : stop + 1],
            maxlen=4,
            out=out[start:stop],
            mask_out=mask_out[start:stop],
        )
    out.flush()
    mask_out.flush()
    data, mask, _ = pad_values(values, offsets, maxlen=4)
    np.testing.assert_array_equal(np.load(tmp_path / "x.npy"), data)
    np.testing.assert_array_equal(np.load(tmp_path / "m.npy"), mask)


def test_pad_values_edge_cases():
    values = np.arange(5, dtype=np.int64)
    data, mask, lengths = pad_values(values, [0], maxlen=None)
    assert data.shape == (0, 0) and mask.shape == (0, 0) and lengths.shape == (0,)
    data, mask, lengths = pad_values(values, [0, 2, 5], maxlen=0)
    assert data.shape == (2, 0) and mask.shape == (2, 0)
    np.testing.assert_array_equal(lengths, [0, 0])
    data, _, _ = pad_values(values, [1, 3], maxlen=None)  # a window: sequence values[1:3]
    np.testing.assert_array_equal(data, [[1, 2]])
    data, _, _ = pad_values(values.reshape(5, 1, 1), [0, 2, 5], maxlen=4, padding="post")
    assert data.shape == (2, 4, 1, 1)
    np.testing.assert_array_equal(data[..., 0, 0], [[0, 1, 0, 0], [2, 3, 4, 0]])
    data, _, _ = pad_values(np.zeros((4, 0)), [0, 1, 4], maxlen=3)
    assert data.shape == (2, 3, 0)
    out = np.zeros((2, 2), np.int8)  # without dtype=, out's dtype is the target
    data, _, _ = pad_values(np.array([1.5, 2.5, -3.7]), [0, 1, 3], maxlen=2, out=out, value=-1)
    assert data is out
    np.testing.assert_array_equal(out, [[-1, 1], [2, -3]])


def test_pad_values_casts_like_keras_without_spurious_warnings():
    # The NaN is truncated away, so casting the kept data to int32 must not warn.
    values = np.array([NAN, 1.7, -2.5, 3.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data, _, _ = pad_values(values, [0, 4], maxlen=3, dtype=np.int32)
    np.testing.assert_array_equal(data, [[1, -2, 3]])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"padding": "left"}, "padding must be 'pre' or 'post'; got 'left'"),
        ({"truncating": "end"}, "truncating must be 'pre' or 'post'; got 'end'"),
        ({"maxlen": -1}, "got -1"),
        ({"maxlen": "p0"}, "got 'p0'"),
        ({"maxlen": 2, "out": np.zeros((2, 3), np.int64)}, r"out has shape \(2, 3\)"),
        ({"maxlen": 2, "mask_out": np.zeros((2, 2), np.int8)}, "mask_out has dtype int8"),
        ({"maxlen": 2, "dtype": "float32", "out": np.zeros((2, 2))}, "differs from out.dtype"),
    ],
)
def test_pad_values_rejects_bad_arguments(kwargs, message):
    kwargs = {"maxlen": None, **kwargs}
    with pytest.raises(ValueError, match=message):
        pad_values(np.arange(4), [0, 1, 4], **kwargs)
    if "padding" in kwargs or "truncating" in kwargs:  # checked even with nothing to pad
        with pytest.raises(ValueError, match=message):
            pad_values(np.arange(0), [0], **kwargs)


@pytest.mark.parametrize("offsets", [[], [[0, 1]], [2, 1], [-1, 2], [0.0, 1.0], [0, 9]], ids=repr)
def test_bad_offsets_are_rejected(offsets):
    with pytest.raises(ValueError, match="offsets"):
        pad_values(np.arange(4), np.asarray(offsets), maxlen=None)


def test_lengths_from_offsets():
    lengths = lengths_from_offsets(np.array([3, 5, 5, 9], dtype=np.int32))
    np.testing.assert_array_equal(lengths, [2, 0, 4])
    assert lengths.dtype == np.int64
    np.testing.assert_array_equal(offsets_from_lengths(lengths, start=3), [3, 5, 5, 9])
    with pytest.raises(ValueError):
        lengths_from_offsets([0, 2, 1])


# --------------------------------------------------------------------------------------------
# maxlen


@settings(max_examples=200, deadline=None)
@given(
    lengths=st.lists(st.integers(0, 40), max_size=30),
    tenths=st.integers(1, 1000),
    decimals=st.booleans(),
)
def test_percentile_maxlen_is_the_shortest_length_covering_that_share(lengths, tenths, decimals):
    text = f"p{tenths / 10:.1f}" if decimals or tenths % 10 else f"p{tenths // 10}"
    pct = Fraction(text[1:])
    ordered = sorted(lengths)
    expected = next(
        (
            L
            for L in range(max(ordered, default=0) + 1)
            if 100 * sum(x <= L for x in ordered) >= pct * len(ordered)
        ),
        0,
    )
    assert resolve_maxlen(np.array(lengths, dtype=np.int64), text) == expected
    hist = np.bincount(np.array(lengths, dtype=np.int64), minlength=1)
    assert resolve_maxlen_from_hist(hist, text) == expected


def test_resolve_maxlen_forms():
    lengths = np.array([1, 2, 2, 3, 10])
    assert resolve_maxlen(lengths, None) == 10
    assert resolve_maxlen(lengths, "p100") == 10
    assert resolve_maxlen(lengths, "p80") == 3
    assert resolve_maxlen(lengths, "p80.1") == 10
    assert resolve_maxlen(lengths, 0) == 0
    assert resolve_maxlen(lengths, np.int32(50)) == 50
    assert resolve_maxlen(lengths, "64") == 64
    assert resolve_maxlen(np.array([], dtype=np.int64), None) == 0
    assert resolve_maxlen(np.array([], dtype=np.int64), "p95") == 0
    assert resolve_maxlen_from_hist([0, 0, 4, 0], None) == 2


@pytest.mark.parametrize(
    "maxlen", [-1, "p0", "p100.5", "p101", "p", "p-5", "95%", "x", 1.5, True, [3]], ids=repr
)
def test_resolve_maxlen_rejects_and_names_a_bad_value(maxlen):
    with pytest.raises(ValueError) as info:
        resolve_maxlen(np.array([1, 2, 3]), maxlen)
    assert repr(maxlen) in str(info.value)


# --------------------------------------------------------------------------------------------
# mask and value collisions


def test_mask_padded_uses_keras_masking_semantics():
    data = np.array([[[0, 0], [0, 1]], [[1, 0], [0, 0]]])
    np.testing.assert_array_equal(mask_padded(data, 0), [[False, True], [True, False]])
    np.testing.assert_array_equal(mask_padded(data[..., 0], 0), [[False, False], [True, False]])
    floats = np.array([[NAN, 1.0, NAN]])
    np.testing.assert_array_equal(mask_padded(floats, NAN), [[False, True, False]])
    np.testing.assert_array_equal(mask_padded(np.array([[0, 5]]), NAN), [[True, True]])
    assert mask_padded(np.zeros((0, 4)), 0).shape == (0, 4)
    with pytest.raises(ValueError, match="samples, timesteps"):
        mask_padded(np.zeros(3), 0)


def brute_hits(values: np.ndarray, value: float) -> list[bool]:
    def equal(x) -> bool:
        x = float(x)
        return (math.isnan(x) and math.isnan(value)) or x == value

    return [all(equal(x) for x in np.ravel(step)) for step in values]


@settings(max_examples=200, deadline=None)
@given(
    case=ragged(dtypes=("int8", "int32", "float32", "float64"), inners=((), (2,)), low=0, high=2),
    value=st.sampled_from([0, 1, 2.5, NAN]),
    nans=st.integers(0, 3),
)
def test_value_collisions_against_brute_force(case, value, nans):
    values = case.values
    if values.dtype.kind == "f" and nans and values.size:
        values = values.copy()
        values.reshape(-1)[:: max(1, values.size // nans)][:nans] = NAN
    hits = brute_hits(values, value)
    assert count_value_timesteps(values, value) == sum(hits)
    off = case.offsets
    expected_rows = sum(any(hits[off[i] : off[i + 1]]) for i in range(len(off) - 1))
    assert rows_with_value_timesteps(values, off, value) == expected_rows
    with mock.patch.object(kernels, "_CHUNK_BYTES", 3):
        assert count_value_timesteps(values, value) == sum(hits)
        assert rows_with_value_timesteps(values, off, value) == expected_rows


# --------------------------------------------------------------------------------------------
# buckets


def brute_padding_cost(lengths, boundaries, pad_to_boundary=False) -> int:
    bucket_of = [sum(b <= x for b in boundaries) for x in lengths]
    cost = 0
    for bucket in set(bucket_of):
        members = [x for x, b in zip(lengths, bucket_of, strict=True) if b == bucket]
        bounded = bucket < len(boundaries)
        width = boundaries[bucket] - 1 if pad_to_boundary and bounded else max(members)
        cost += sum(width - x for x in members)
    return cost


@settings(max_examples=200, deadline=None)
@given(
    lengths=st.lists(st.integers(0, 30), max_size=25),
    boundaries=st.lists(st.integers(1, 35), max_size=4, unique=True).map(sorted),
    pad_to_boundary=st.booleans(),
)
def test_padding_cost_and_assign_buckets_against_brute_force(lengths, boundaries, pad_to_boundary):
    hist = np.bincount(np.array(lengths, dtype=np.int64), minlength=1)
    expected = brute_padding_cost(lengths, boundaries, pad_to_boundary)
    assert padding_cost(hist, boundaries, pad_to_boundary) == expected
    buckets = assign_buckets(np.array(lengths, dtype=np.int64), boundaries)
    assert buckets.tolist() == [sum(b <= x for b in boundaries) for x in lengths]
    assert buckets.dtype == np.int64


histograms = st.dictionaries(st.integers(0, 14), st.integers(1, 5), max_size=8).map(
    lambda counts: np.bincount(list(counts), weights=list(counts.values()), minlength=1).astype(
        np.int64
    )
)


@settings(max_examples=200, deadline=None)
@given(hist=histograms, k=st.integers(1, 4))
def test_optimal_boundaries_against_all_boundary_subsets(hist, k):
    boundaries = optimal_boundaries(hist, k)
    candidates = range(1, len(hist) + 1)
    best = min(
        padding_cost(hist, list(subset))
        for size in range(k)
        for subset in itertools.combinations(candidates, size)
    )
    assert padding_cost(hist, boundaries) == best
    distinct = set(np.flatnonzero(hist).tolist())
    assert len(boundaries) <= min(k, len(distinct)) - 1 or not boundaries
    assert all(b - 1 in distinct for b in boundaries)
    assert boundaries == sorted(set(boundaries))


def reference_min_cost(hist: np.ndarray, k: int) -> int:
    """The textbook O(k * D^2) dynamic programme, in plain Python."""
    distinct = np.flatnonzero(hist).tolist()
    counts = [int(hist[d]) for d in distinct]
    if not distinct:
        return 0
    prefix = list(itertools.accumulate(counts, initial=0))
    real = sum(c * d for c, d in zip(counts, distinct, strict=True))
    best = [prefix[b + 1] * distinct[b] for b in range(len(distinct))]
    for _ in range(2, min(k, len(distinct)) + 1):
        best = [
            min(
                [best[b]]
                + [best[a - 1] + (prefix[b + 1] - prefix[a]) * distinct[b] for a in range(1, b + 1)]
            )
            for b in range(len(distinct))
        ]
    return best[-1] - real


@settings(max_examples=60, deadline=None)
@given(
    lengths=st.lists(st.integers(0, 300), min_size=1, max_size=120),
    k=st.integers(1, 7),
    block_cells=st.sampled_from([1, 50, 1 << 18]),
)
def test_optimal_boundaries_equals_the_textbook_dynamic_programme(lengths, k, block_cells):
    hist = np.bincount(np.array(lengths, dtype=np.int64))
    with mock.patch.object(kernels, "_DP_BLOCK_CELLS", block_cells):
        boundaries = optimal_boundaries(hist, k)
    assert padding_cost(hist, boundaries) == reference_min_cost(hist, k)


def test_optimal_boundaries_examples_and_speed():
    assert optimal_boundaries([0, 3, 0, 2], 4) == [2]
    assert optimal_boundaries([], 3) == [] and optimal_boundaries([0, 5], 3) == []
    assert optimal_boundaries([1, 1, 1, 1], 1) == []
    hist = np.bincount(np.array([1, 1, 2, 9, 10, 10, 50]))
    assert optimal_boundaries(hist, 3) == [3, 11]
    with pytest.raises(ValueError, match="got 0"):
        optimal_boundaries(hist, 0)
    rng = np.random.default_rng(0)
    big = np.ones(2001, dtype=np.int64)
    big[1:] += rng.integers(0, 50, 2000)
    boundaries = optimal_boundaries(big, 8)  # D = 2001: well under a second
    assert len(boundaries) == 7
    assert padding_cost(big, boundaries) < padding_cost(big, []) // 4


@pytest.mark.parametrize("boundaries", [[0], [3, 3], [5, 2], [1.5], [[1, 2]]], ids=repr)
def test_bad_boundaries_are_rejected(boundaries):
    with pytest.raises(ValueError, match="boundaries"):
        padding_cost([1, 2, 3], boundaries)


# --------------------------------------------------------------------------------------------
# lossless casts


@pytest.mark.parametrize(
    ("values", "dtype", "expected"),
    [
        (np.array([1.0, -2.0, 3e9]), np.int64, True),
        (np.array([1.0, -2.0]), np.int32, True),
        (np.array([1.5]), np.int32, False),
        (np.array([NAN]), np.int32, False),
        (np.array([np.inf]), np.int64, False),
        (np.array([300]), np.int8, False),
        (np.array([-1]), np.uint32, False),
        (np.array([2**64 - 1], dtype=np.uint64), np.int64, False),
        (np.array([2**53 + 1]), np.float64, False),  # numpy calls int64 -> float64 "safe"
        (np.array([2**53, -(2**63)]), np.float64, True),
        (np.array([2**63 - 1]), np.float64, False),
        (np.array([NAN, 0.5, np.inf]), np.float32, True),
        (np.array([0.1]), np.float32, False),
        (np.array([1e300]), np.float32, False),
        (np.array([0, 1]), np.bool_, True),
        (np.array([2.0]), np.bool_, False),
        (np.array([1 + 0j]), np.int8, True),
        (np.array([1 + 1j]), np.float64, False),
        (np.array([], dtype=np.float64), np.int8, True),
        (np.int16(7), np.float16, True),
        (np.array([70000]), np.float16, False),
    ],
)
def test_lossless_cast_examples(values, dtype, expected):
    assert lossless_cast(values, dtype) is expected


CAST_DTYPES = ["bool", "int8", "uint8", "int32", "uint32", "int64", "uint64", "float16"]
CAST_DTYPES += ["float32", "float64"]


def exactly_equal(a, b) -> bool:
    a, b = a.item(), b.item()  # Python numbers compare int with float exactly
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


@settings(max_examples=300, deadline=None)
@given(data=st.data(), source=st.sampled_from(CAST_DTYPES), target=st.sampled_from(CAST_DTYPES))
def test_lossless_cast_against_an_exact_round_trip(data, source, target):
    values = data.draw(hnp.arrays(np.dtype(source), st.integers(0, 6)))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cast = values.astype(target)
    expected = all(exactly_equal(a, b) for a, b in zip(values, cast, strict=True))
    assert lossless_cast(values, target) is expected
