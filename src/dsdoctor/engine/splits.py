"""The statistics that compare the splits of a dataset (train, val, test), as mergeable partial
results: :class:`SplitStats` folds in aligned chunks of one split's inputs, targets and groups
(``update``), and ``merge`` folds in the statistics of the split's next rows (another task, another
worker), so that merging the parts of a split in row order equals one pass over it.

What one pass over a split measures:

- **per-sample hashes** (:func:`row_hashes`): 128 bits per sample of its inputs and, separately,
  of its inputs and target, computed a chunk at a time with numpy (two 64-bit lanes of
  xor-multiply-shift mixing over the row's bytes; ``-0.0`` is hashed as ``0.0`` and every NaN as
  one NaN, so equal values hash equal; a sequence of a ragged chunk from its values in order
  and its length, :func:`sequence_hashes`). Taking the hash as random, two different samples among
  ``n`` share a key with probability below ``n**2 / 2**129`` (about ``1e-25`` for 11 million
  samples). The smaller split of a pair keeps its keys with their row numbers (24 bytes a
  sample) and becomes a :class:`KeyIndex`; the larger one looks each chunk's keys up in it while
  it is scanned (:class:`Probe`, mergeable) and keeps none. When the smaller side is too big for
  memory, both keep their keys, spilled past ``memory_bytes`` to ``BUCKETS`` files by the key's
  top bits, and :func:`overlap` joins them bucket by bucket, holding one bucket of each side
  (``24 * rows / BUCKETS`` bytes each) plus one chunk. Both ways count exactly.
- **timesteps** of windowed inputs (N, L, F): the source rows the windows cover, as disjoint
  intervals, when ``dsdoctor window`` wrote them (its ``starts`` and provenance); otherwise the
  distinct hashes of the timestep rows (an (L, F) window's L rows of F values).
- **groups** (``--group COL``) and **classes**: the count of each distinct value (memory: one
  entry per distinct value, at most ``MAX_DISTINCT``; past that they are no longer counted and the
  statistics say so).
- **histograms** per feature with fixed bins (:class:`Bins`, from the training split's minimum
  and maximum: ``HIST_BINS`` equal bins, plus one below and one above), for PSI and Jensen-Shannon.

In parts (``--jobs``, ``--engine dask``): :func:`split_tasks` cuts a split into tasks that a
worker opens itself (row ranges of ``.npy`` files, a folder's shards or a table dataset's
pieces, every stream of the split over the same rows), :func:`scan_split_task` scans one, and
:func:`merge_parts` merges their results in task order.
"""

from __future__ import annotations

import itertools
import math
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import reduce
from typing import TYPE_CHECKING, Any

import numpy as np

from ..arrays import Ragged

if TYPE_CHECKING:
    from .tasks import Task

#: Buckets a spilled hash table is cut into by its keys' top bits (a power of two).
BUCKETS = 64
#: Hash keys kept in memory per split before they are spilled to disk (24 bytes a sample).
DEFAULT_HASH_MEMORY = 128 * 1024**2
#: Distinct classes or groups counted per split; past this a split's values are not counted.
MAX_DISTINCT = 1_000_000
#: Equal-width bins of a feature's histogram between the training split's extremes.
HIST_BINS = 20
#: A filter has at most 2**FILTER_BITS slots: the join's one byte each (64 MiB), an index's one bit
#: each (8 MiB; :func:`bit_filter`).
FILTER_BITS = 26
#: Row numbers kept per split of the samples found in another split.
FIRST_ROWS = 5

_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_SEEDS = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xD6E8FEB86659FD93))
_MULS = (np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))


def _fmix(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser, in place on a uint64 array."""
    h ^= h >> np.uint64(33)
    h *= _M1
    h ^= h >> np.uint64(33)
    h *= _M2
    h ^= h >> np.uint64(33)
    return h


def canonical(data: np.ndarray) -> np.ndarray:
    """``data`` with every NaN one NaN and -0.0 as 0.0 (floats), so that equal values have
    equal bytes; C-contiguous."""
    if data.dtype.kind == "f":
        data = data + data.dtype.type(0)  # -0.0 + 0.0 is 0.0 (and a copy)
        nan = np.isnan(data)
        if nan.any():
            data[nan] = np.nan
    elif data.dtype.kind == "c":
        data = canonical(data.real) + 1j * canonical(data.imag)
    return np.ascontiguousarray(data)


def row_words(data: np.ndarray) -> np.ndarray:
    """The bytes of each row of ``data`` (N, …) as uint64 words, (N, W), zero-padded."""
    rows = canonical(data).reshape(len(data), -1).view(np.uint8).reshape(len(data), -1)
    width = rows.shape[1]
    if width % 8:
        rows = np.concatenate([rows, np.zeros((len(rows), 8 - width % 8), np.uint8)], axis=1)
    return rows.view(np.uint64)


#: Rows hashed at a time: the lanes' state and the block's words stay in the CPU's cache
#: (1M rows of 16 float32 hash in 0.14 s in blocks of 16,384 rows, 0.56 s in one block).
HASH_ROWS = 16_384


#: Timestep rows of windows hashed at a time (their keys and pairs: about 100 bytes a row).
STEP_ROWS = 262_144


def row_hashes(data: np.ndarray) -> np.ndarray:
    """A 128-bit key per row of a numeric array, (N, 2) uint64: two lanes, each mixing the row's
    words in order (multiply, xor-shift; a loop per word of a row, vectorised over the rows,
    ``HASH_ROWS`` rows at a time), then MurmurHash3's finaliser."""
    n = len(data)
    out = np.empty((n, 2), dtype=np.uint64)
    step = max(1, HASH_ROWS * 64 // max(1, data[:1].nbytes or 1))
    for lo in range(0, n, step):
        words = row_words(data[lo : lo + step])
        tag = np.uint64((words.shape[1] << 8) | ord(data.dtype.kind))  # width and kind are keyed
        shift = np.uint64(29)
        spare = np.empty(len(words), dtype=np.uint64)
        for lane, (seed, mul) in enumerate(zip(_SEEDS, _MULS, strict=True)):
            h = np.full(len(words), seed ^ tag, dtype=np.uint64)
            for j in range(words.shape[1]):
                h ^= words[:, j]
                h *= mul
                np.right_shift(h, shift, out=spare)
                h ^= spare
            out[lo : lo + len(words), lane] = _fmix(h)
    return out


def text_hashes(values: np.ndarray) -> np.ndarray:
    """A 128-bit key per value of a 1-d array of text (or any values): each distinct value is
    hashed once (xxh3-128 of its UTF-8), so the loop is per distinct value, not per row."""
    import xxhash

    distinct, inverse = np.unique(values.astype(str), return_inverse=True)
    keys = np.empty((len(distinct), 2), dtype=np.uint64)
    for i, v in enumerate(distinct):
        d = xxhash.xxh3_128_intdigest(str(v).encode())
        keys[i] = (d >> 64, d & 0xFFFFFFFFFFFFFFFF)
    return keys[inverse.reshape(-1)]


def combine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The key of two keys in order (inputs, target), (N, 2)."""
    out = np.empty_like(a)
    for lane in range(2):
        h = a[:, lane] * _MULS[lane] ^ _fmix(b[:, lane].copy())
        out[:, lane] = _fmix(h)
    return out


def keys_of(data: np.ndarray | Ragged) -> np.ndarray:
    """A 128-bit key per sample: a numeric row's (:func:`row_hashes`), a text value's
    (:func:`text_hashes`) or a sequence's (:func:`sequence_hashes`)."""
    if isinstance(data, Ragged):
        return sequence_hashes(data)
    if data.dtype.kind in "biufc":
        return row_hashes(data)
    return text_hashes(data.reshape(len(data), -1)[:, 0] if data.ndim > 1 else data)


#: Keys a sequence's length and each value's position (odd, so multiplication is one-to-one).
_LENGTH = np.uint64(0xA0761D6478BD642F)
_POSITION = np.uint64(0xE7037ED1A0B428DB)


def sequence_hashes(seqs: Ragged) -> np.ndarray:
    """A 128-bit key per sequence of a ragged chunk, from its values in order and its length,
    with no loop per sequence: each value (a number, a text, a row of features) is hashed
    (:func:`keys_of`) and keyed by its position in its sequence, the keys of a sequence are
    summed (modulo 2**64, per lane: the prefix sums' differences at the offsets, so empty
    sequences need no case), and the sum is mixed with the length. A sequence is the set of its
    (position, value) pairs, so equal sequences get equal keys and, taking the hash as random,
    different ones collide with probability about 2**-128 per pair."""
    values = seqs.window()
    starts = seqs.offsets[:-1] - seqs.offsets[0]
    lengths = seqs.lengths
    out = np.empty((len(seqs), 2), dtype=np.uint64)
    keys = keys_of(values) if len(values) else np.zeros((0, 2), np.uint64)
    position = np.arange(len(values), dtype=np.int64) - np.repeat(starts, lengths)
    place = (position.astype(np.uint64) + np.uint64(1)) * _POSITION
    sums = np.zeros(len(values) + 1, dtype=np.uint64)
    for lane in range(2):
        k = _fmix(keys[:, lane] ^ place)
        np.cumsum(k, out=sums[1:])
        total = sums[seqs.offsets[1:] - seqs.offsets[0]] - sums[starts]
        out[:, lane] = _fmix(total ^ (lengths.astype(np.uint64) * _LENGTH + _SEEDS[lane]))
    return out


# -- hash tables ---------------------------------------------------------------------------------
#: Spill folders of this thread's running split pass are made in ``_SPILL.root``
#: (:func:`spill_root`); a ``--jobs`` helper forked during the pass inherits it.
_SPILL = threading.local()
SPILL_PREFIX = "dsdoctor-hashes-"


@contextmanager
def spill_root() -> Iterator[None]:
    """While a split pass runs: one temporary folder that holds every folder of keys spilled
    by it (here, and by the ``--jobs`` helpers forked meanwhile), removed when the pass ends
    however it ends -- an exception mid-pass, a helper's task that failed and whose part never
    came back to be merged and closed. Nested: the outermost one's."""
    if getattr(_SPILL, "root", None) is not None:
        yield
        return
    _SPILL.root = tempfile.mkdtemp(prefix=SPILL_PREFIX)
    try:
        yield
    finally:
        root, _SPILL.root = _SPILL.root, None
        shutil.rmtree(root, ignore_errors=True)


def _spill_folder() -> str:
    """A new folder for one table's spilled keys (inside :func:`spill_root`'s when a pass runs;
    a folder removed by an earlier pass's end is not reused)."""
    root = getattr(_SPILL, "root", None)
    if root is not None and not os.path.isdir(root):
        root = None
    return tempfile.mkdtemp(prefix=SPILL_PREFIX, dir=root)


@dataclass
class HashTable:
    """Keys (N, 2) with their row numbers: rows of (key0, key1, row) uint64, in memory until they
    pass ``memory_bytes``, then in ``BUCKETS`` files of a temporary folder (by key0's top bits)."""

    memory_bytes: int = DEFAULT_HASH_MEMORY
    parts: list[np.ndarray] = field(default_factory=list)
    spill: str | None = None
    size: int = 0

    def add(self, keys: np.ndarray, rows: np.ndarray) -> None:
        if not len(keys):
            return
        block = np.empty((len(keys), 3), dtype=np.uint64)
        block[:, :2] = keys
        block[:, 2] = rows
        self.parts.append(block)
        self.size += len(block)
        if self._held() > self.memory_bytes:
            self._spill()

    def _held(self) -> int:
        return sum(p.nbytes for p in self.parts)

    def _spill(self) -> None:
        if self.spill is None:
            self.spill = _spill_folder()
        block = np.concatenate(self.parts)
        self.parts = []
        bucket = (block[:, 0] >> np.uint64(64 - BUCKETS.bit_length() + 1)).astype(np.int64)
        order = np.argsort(bucket, kind="stable")
        bounds = np.searchsorted(bucket[order], np.arange(BUCKETS + 1))
        for b in range(BUCKETS):
            if bounds[b + 1] > bounds[b]:
                with open(os.path.join(self.spill, f"{b}.bin"), "ab") as f:
                    block[order[bounds[b] : bounds[b + 1]]].tofile(f)

    def bucket(self, b: int | None) -> np.ndarray:
        """The rows in bucket ``b`` (None: all of them, when nothing was spilled)."""
        held = (self.parts[0] if len(self.parts) == 1 else
                np.concatenate(self.parts) if self.parts else np.zeros((0, 3), np.uint64))  # fmt: skip
        if b is None:
            return held
        top = (held[:, 0] >> np.uint64(64 - BUCKETS.bit_length() + 1)).astype(np.int64)
        out = [held[top == b]]
        if self.spill is not None:
            path = os.path.join(self.spill, f"{b}.bin")
            if os.path.exists(path):
                out.append(np.fromfile(path, dtype=np.uint64).reshape(-1, 3))
        return np.concatenate(out)

    def merge(self, other: HashTable, offset: int) -> HashTable:
        """This table followed by ``other``, whose rows start at row ``offset``: both are
        consumed (``other``'s rows move into this one, its files are removed), so merging the
        parts of a split copies no table."""
        delta = np.uint64(offset)
        if other.spill is not None:
            self._spill_all()
            for b in range(BUCKETS):
                path = os.path.join(other.spill, f"{b}.bin")
                if os.path.exists(path):  # one bucket at a time
                    rows = np.fromfile(path, dtype=np.uint64).reshape(-1, 3)
                    rows[:, 2] += delta
                    with open(os.path.join(self.spill or "", f"{b}.bin"), "ab") as f:
                        rows.tofile(f)
            other.close()
        for part in other.parts:
            part[:, 2] += delta
            self.parts.append(part)
        other.parts = []
        self.size += other.size
        if self._held() > self.memory_bytes:
            self._spill()
        return self

    def unspill(self) -> None:
        """Every key back in memory, the files removed (a result sent to another machine)."""
        if self.spill is not None:
            self.parts = [np.concatenate([self.bucket(b) for b in range(BUCKETS)])]
            self.close()

    def _spill_all(self) -> None:
        if self.parts:
            self._spill()
        elif self.spill is None:
            self.spill = _spill_folder()

    def close(self) -> None:
        if self.spill is not None:
            shutil.rmtree(self.spill, ignore_errors=True)
            self.spill = None

    def rows_sorted(self) -> np.ndarray:
        """Every (key0, key1, row), for tests: sorted by row."""
        if self.spill is None:
            allrows = self.bucket(None)
        else:
            allrows = np.concatenate([self.bucket(b) for b in range(BUCKETS)])
        return allrows[np.argsort(allrows[:, 2], kind="stable")]


@dataclass
class Overlap:
    """The samples of split ``a`` and split ``b`` with the same key: how many rows of each, how
    many distinct samples, the first row numbers of each, and how many of ``b``'s rows found
    are samples ``a`` itself holds more than once (``b_repeated_in_a``)."""

    a_rows: int = 0
    b_rows: int = 0
    distinct: int = 0
    a_first: list[int] = field(default_factory=list)
    b_first: list[int] = field(default_factory=list)
    b_repeated_in_a: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"a_rows": self.a_rows, "b_rows": self.b_rows, "distinct": self.distinct,
                "a_first_rows": self.a_first, "b_first_rows": self.b_first,
                "b_repeated_in_a": self.b_repeated_in_a}  # fmt: skip


def overlap(a: HashTable, b: HashTable) -> Overlap:
    """Exact overlap of two tables' keys, bucket by bucket when either was spilled."""
    out = Overlap()
    firsts_a: list[np.ndarray] = []
    firsts_b: list[np.ndarray] = []
    buckets: list[int | None] = [None]
    if a.spill is not None or b.spill is not None:  # every key to its bucket's file, then join
        a._spill_all()  # bucket by bucket (never the in-memory keys filtered once per bucket)
        b._spill_all()
        buckets = list(range(BUCKETS))
    for k in buckets:
        ra, rb = a.bucket(k), b.bucket(k)
        if not len(ra) or not len(rb):
            continue
        in_a, in_b, distinct = _join(ra, rb)
        out.a_rows += int(in_a.sum())
        out.b_rows += int(in_b.sum())
        out.distinct += distinct
        out.b_repeated_in_a += _repeated_in(ra[in_a], rb[in_b])
        firsts_a.append(np.sort(ra[in_a, 2])[:FIRST_ROWS])
        firsts_b.append(np.sort(rb[in_b, 2])[:FIRST_ROWS])
    if firsts_a:
        out.a_first = [int(r) for r in np.sort(np.concatenate(firsts_a))[:FIRST_ROWS]]
        out.b_first = [int(r) for r in np.sort(np.concatenate(firsts_b))[:FIRST_ROWS]]
    return out


def _repeated_in(ra: np.ndarray, rb: np.ndarray) -> int:
    """How many rows of ``rb`` have a key that at least two rows of ``ra`` hold."""
    if not len(ra) or not len(rb):
        return 0
    keys, counts = np.unique(ra[:, :2], axis=0, return_counts=True)
    twice = keys[counts >= 2]
    if not len(twice):
        return 0
    held = np.column_stack([twice, np.zeros(len(twice), np.uint64)])
    return int(_join(rb, held)[0].sum())


def _join(ra: np.ndarray, rb: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Which rows of ``ra`` have a key in ``rb`` and the reverse, and how many distinct keys
    both hold. The smaller side's distinct keys are sorted once and the larger side's looked up
    in them (``searchsorted``: n log m, no sort of the larger side)."""
    if len(ra) < len(rb):
        in_b, in_a, distinct = _join(rb, ra)
        return in_a, in_b, distinct
    order = np.argsort(rb[:, 0])  # by the first 64 bits (a SIMD sort; lexsort is 30x slower)
    k = rb[order, :2]
    same = k[1:, 0] == k[:-1, 0]
    if (same & (k[1:, 1] != k[:-1, 1])).any():  # two samples share 64 bits: sort both sides
        return _join_sorted(ra, rb)
    new = np.ones(len(k), dtype=bool)
    new[1:] = ~same
    u0, u1 = k[new, 0], k[new, 1]
    group = np.empty(len(k), dtype=np.int64)
    group[order] = np.cumsum(new) - 1  # each row of the small side: its distinct key
    # a filter first: one byte per slot addressed by key1's top bits (about 32 slots per key of
    # the small side, at most 64 MiB), so only the few rows that may match are looked up
    bits = min(FILTER_BITS, max(10, len(u0).bit_length() + 5))
    shift = np.uint64(64 - bits)
    table = np.zeros(1 << bits, dtype=bool)
    table[u1 >> shift] = True
    maybe = np.flatnonzero(table[ra[:, 1] >> shift])
    pos = np.minimum(np.searchsorted(u0, ra[maybe, 0]), len(u0) - 1)
    hit = (u0[pos] == ra[maybe, 0]) & (u1[pos] == ra[maybe, 1])
    in_a = np.zeros(len(ra), dtype=bool)
    in_a[maybe[hit]] = True
    matched = np.zeros(len(u0), dtype=bool)
    matched[pos[hit]] = True
    return in_a, matched[group], int(matched.sum())


def _join_sorted(ra: np.ndarray, rb: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """:func:`_join` by one sort of both sides' keys (any keys, however they collide)."""
    keys = np.concatenate([ra[:, :2], rb[:, :2]])
    side = np.concatenate([np.zeros(len(ra), np.int8), np.ones(len(rb), np.int8)])
    order = np.lexsort((keys[:, 1], keys[:, 0]))
    k = keys[order]
    new = np.ones(len(k), dtype=bool)
    new[1:] = (k[1:, 0] != k[:-1, 0]) | (k[1:, 1] != k[:-1, 1])
    starts = np.flatnonzero(new)
    group = np.cumsum(new) - 1
    s = side[order]
    has_a = np.logical_or.reduceat(s == 0, starts)
    has_b = np.logical_or.reduceat(s == 1, starts)
    both = has_a & has_b
    hit = np.empty(len(k), dtype=bool)
    hit[order] = both[group]
    return hit[: len(ra)], hit[len(ra) :], int(both.sum())


def bit_filter(slots: np.ndarray, bits: int) -> np.ndarray:
    """A filter of ``2**bits`` one-bit slots with ``slots`` set, packed 8 to a byte (a 1M-key
    index's 2**25 slots in 4 MiB, which stays in the CPU's cache while the larger split's
    chunks stream past; one byte a slot took 32 MiB and its lookups 60% longer)."""
    out = np.zeros(1 << max(0, bits - 3), dtype=np.uint8)
    if not len(slots):
        return out
    slots = np.sort(slots)
    byte = slots >> np.uint64(3)
    bit = np.left_shift(np.uint8(1), (slots & np.uint64(7)).astype(np.uint8))
    starts = np.flatnonzero(np.concatenate([[True], byte[1:] != byte[:-1]]))
    out[byte[starts]] = np.bitwise_or.reduceat(bit, starts)
    return out


def in_filter(packed: np.ndarray, slots: np.ndarray) -> np.ndarray:
    """Whether each of ``slots`` is set in a :func:`bit_filter` (a uint8 mask)."""
    got = packed[slots >> np.uint64(3)]
    np.right_shift(got, (slots & np.uint64(7)).astype(np.uint8), out=got)
    return np.bitwise_and(got, np.uint8(1), out=got)


# -- the smaller side's index, probed by the larger side as it is scanned -------------------------
@dataclass
class KeyIndex:
    """The distinct keys of a split that is the smaller side of a pair, sorted by their first 64
    bits, with the distinct key of each of its rows: the larger split looks each chunk's keys up
    in it while it is scanned, and never keeps its own (memory: this table, 24 bytes a row of
    the smaller split, plus the join's filter)."""

    u0: np.ndarray
    u1: np.ndarray
    group: np.ndarray  # per row of the split, in row order: its distinct key
    run: int  # the most distinct keys sharing their first 64 bits (1 unless they collide)
    table: np.ndarray  # the filter of the keys' last bits (bit_filter)
    shift: np.uint64

    @classmethod
    def of(cls, keys: HashTable) -> KeyIndex:
        """The index of a table's keys: sorted by their first 64 bits alone (a SIMD sort of one
        uint64 column; the two-column ``lexsort`` took 3x as long), both columns only when two
        different keys share their first 64 bits."""
        rows = keys.bucket(None) if keys.spill is None else keys.rows_sorted()
        if len(rows) > 1 and not (rows[1:, 2] > rows[:-1, 2]).all():  # parts added out of order
            rows = rows[np.argsort(rows[:, 2], kind="stable")]
        order = np.argsort(rows[:, 0])
        k0, k1 = rows[order, 0], rows[order, 1]
        same = k0[1:] == k0[:-1]
        if (same & (k1[1:] != k1[:-1])).any():  # 64 bits shared by two keys: sort by both
            order = np.lexsort((rows[:, 1], rows[:, 0]))
            k0, k1 = rows[order, 0], rows[order, 1]
            same = (k0[1:] == k0[:-1]) & (k1[1:] == k1[:-1])
            collided = True
        else:
            collided = False
        new = np.ones(len(k0), dtype=bool)
        new[1:] = ~same
        u0, u1 = k0[new], k1[new]
        group = np.empty(len(k0), dtype=np.int64)
        group[order] = np.cumsum(new) - 1
        run = 1
        if collided:
            first = np.ones(len(u0), dtype=bool)
            first[1:] = u0[1:] != u0[:-1]
            starts = np.flatnonzero(first)
            run = int(np.diff(np.append(starts, len(u0))).max())
        bits = min(FILTER_BITS, max(10, len(u0).bit_length() + 5))
        shift = np.uint64(64 - bits)
        return cls(u0, u1, group, run, bit_filter(u1 >> shift, bits), shift)

    def lookup(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which of ``keys`` (N, 2) are in the index (a mask), and the distinct key each found."""
        found = np.zeros(len(keys), dtype=bool)
        if not len(self.u0) or not len(keys):
            return found, np.zeros(0, dtype=np.int64)
        maybe = np.flatnonzero(in_filter(self.table, keys[:, 1] >> self.shift))
        k0, k1 = keys[maybe, 0], keys[maybe, 1]
        pos = np.searchsorted(self.u0, k0)
        where = np.full(len(maybe), -1, dtype=np.int64)
        for step in range(self.run):  # keys sharing their first 64 bits sit side by side
            p = np.minimum(pos + step, len(self.u0) - 1)
            hit = (where < 0) & (self.u0[p] == k0) & (self.u1[p] == k1)
            where[hit] = p[hit]
        ok = where >= 0
        found[maybe[ok]] = True
        return found, where[ok]


@dataclass
class Probe:
    """A split's keys looked up in another split's :class:`KeyIndex`: how many of its rows were
    found and the first of them, and how many of its rows found each of the index's distinct
    keys (mergeable: the counts add)."""

    rows: int = 0
    first: list[int] = field(default_factory=list)
    matched: np.ndarray | None = None

    def add(self, found: np.ndarray, where: np.ndarray, start: int, size: int) -> None:
        if self.matched is None:
            self.matched = np.zeros(size, dtype=np.int64)
        self.rows += len(where)  # each row found has its distinct key in ``where``
        if len(self.first) < FIRST_ROWS and len(where):
            self.first += [
                start + int(r) for r in np.flatnonzero(found)[: FIRST_ROWS - len(self.first)]
            ]
        found_keys, counts = np.unique(where, return_counts=True)  # O(found), not O(index)
        self.matched[found_keys] += counts

    def merge(self, other: Probe, offset: int) -> Probe:
        out = Probe(
            self.rows + other.rows, (self.first + [offset + r for r in other.first])[:FIRST_ROWS]
        )
        if self.matched is None or other.matched is None:
            out.matched = self.matched if other.matched is None else other.matched
        else:
            out.matched = self.matched + other.matched
        return out

    def overlap(self, index: KeyIndex) -> tuple[int, list[int], int, int, list[int]]:
        """(rows of the prober found, their first, distinct shared keys, rows of the indexed
        split found, their first)."""
        if self.matched is None or not self.rows:
            return 0, [], 0, 0, []
        mine = self.matched[index.group] > 0
        return (self.rows, self.first, int(np.count_nonzero(self.matched)), int(mine.sum()),
                [int(r) for r in np.flatnonzero(mine)[:FIRST_ROWS]])  # fmt: skip

    def repeated(self, index: KeyIndex, prober_repeats: bool) -> int:
        """Rows of the indexed split found by the prober whose sample the prober holds at least
        twice (``prober_repeats``), or rows of the prober found whose sample the indexed split
        holds at least twice."""
        if self.matched is None:
            return 0
        held = np.bincount(index.group, minlength=len(self.matched))
        if prober_repeats:
            return int(held[self.matched >= 2].sum())
        return int(self.matched[held >= 2].sum())


# -- timesteps -----------------------------------------------------------------------------------
def union_intervals(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The union of closed integer intervals [lo, hi] as sorted disjoint ones (touching ones
    joined)."""
    if not len(lo):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    order = np.argsort(lo, kind="stable")
    lo, hi = lo[order].astype(np.int64), hi[order].astype(np.int64)
    reach = np.maximum.accumulate(hi)
    new = np.ones(len(lo), dtype=bool)
    new[1:] = lo[1:] > reach[:-1] + 1
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], len(lo)) - 1
    return lo[starts], reach[ends]


def covered(lo: np.ndarray, hi: np.ndarray) -> int:
    return int((hi - lo + 1).sum())


def intersect_intervals(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> int:
    """How many integers two sets of disjoint intervals share (vectorised: each interval of
    ``b`` against the run of ``a``'s it meets, by the prefix sums of ``a``'s lengths)."""
    alo, ahi = a
    blo, bhi = b
    if not len(alo) or not len(blo):
        return 0
    cum = np.concatenate([[0], np.cumsum(ahi - alo + 1)])

    def upto(x: np.ndarray) -> np.ndarray:
        """Integers of ``a`` that are <= x."""
        i = np.searchsorted(alo, x, side="right")  # intervals starting at or before x
        full = cum[np.maximum(i - 1, 0)]
        last = np.where(
            i > 0, np.minimum(ahi[np.maximum(i - 1, 0)], x) - alo[np.maximum(i - 1, 0)] + 1, 0
        )
        return np.where(i > 0, full + last, 0)

    return int((upto(bhi) - upto(blo - 1)).sum())


# -- histograms ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Bins:
    """Fixed bins per feature: ``HIST_BINS`` equal bins over [lo, hi] of the training split,
    one below lo and one above hi."""

    lo: np.ndarray
    hi: np.ndarray
    bins: int = HIST_BINS

    def counts(self, table: np.ndarray) -> np.ndarray:
        """(F, bins + 2) counts of a (rows, F) table's values, NaN left out: a value equal to
        the training split's maximum is in the last bin, one above it in the bin above. In
        blocks of ``HASH_ROWS`` rows, so the passes stay in the CPU's cache."""
        f = table.shape[1]
        out = np.zeros(f * (self.bins + 2), dtype=np.int64)
        scale = self.bins / np.where(self.hi > self.lo, self.hi - self.lo, 1.0)
        offsets = np.arange(f, dtype=np.int64) * (self.bins + 2) + 1
        step = max(1, HASH_ROWS * 16 // max(1, f))
        for start in range(0, len(table), step):
            block = table[start : start + step]
            pos = (block - self.lo) * scale
            np.floor(pos, out=pos)
            np.clip(pos, -1, self.bins, out=pos)
            nan = np.isnan(pos)
            some_nan = bool(nan.any())
            if some_nan:
                pos[nan] = -1
            idx = pos.astype(np.int64)
            idx[block == self.hi] = self.bins - 1
            idx += offsets
            out += np.bincount((idx[~nan] if some_nan else idx).ravel(), minlength=out.size)
        return out.reshape(f, self.bins + 2)


def psi(expected: np.ndarray, actual: np.ndarray, eps: float = 1e-4) -> float:
    """Population stability index of two count vectors (each made a distribution, every bin at
    least ``eps``)."""
    p, q = _dist(expected, eps), _dist(actual, eps)
    return float(np.sum((q - p) * np.log(q / p)))


def js_distance(expected: np.ndarray, actual: np.ndarray) -> float:
    """Jensen-Shannon distance (base 2, in [0, 1]) of two count vectors."""
    p, q = _dist(expected, 0.0), _dist(actual, 0.0)
    m = (p + q) / 2

    def kl(a: np.ndarray) -> float:
        nz = a > 0
        return float(np.sum(a[nz] * np.log2(a[nz] / m[nz])))

    return float(np.sqrt(max(0.0, (kl(p) + kl(q)) / 2)))


def chi2_pvalue(expected: np.ndarray, actual: np.ndarray) -> float:
    """The p-value of Pearson's chi-square test that two count vectors are samples of one
    distribution (a 2 x k table; bins empty in both left out): small only when the difference
    is more than the sample sizes' noise. The tail is exact for 1 and 2 degrees of freedom and
    the Wilson-Hilferty approximation above (within a few percent of the p-value near 0.001)."""
    a, b = np.asarray(expected, dtype=np.float64), np.asarray(actual, dtype=np.float64)
    keep = (a + b) > 0
    a, b = a[keep], b[keep]
    na, nb = a.sum(), b.sum()
    if a.size < 2 or na == 0 or nb == 0:
        return 1.0
    col, n = a + b, na + nb
    ea, eb = col * (na / n), col * (nb / n)
    x = float(np.sum((a - ea) ** 2 / ea) + np.sum((b - eb) ** 2 / eb))
    return chi2_sf(x, a.size - 1)


def chi2_sf(x: float, df: int) -> float:
    """P(X > x) for a chi-square variable with ``df`` degrees of freedom."""
    if x <= 0:
        return 1.0
    if df == 1:
        return math.erfc(math.sqrt(x / 2))
    if df == 2:
        return math.exp(-x / 2)
    v = 2 / (9 * df)
    z = ((x / df) ** (1 / 3) - (1 - v)) / math.sqrt(v)
    return 0.5 * math.erfc(z / math.sqrt(2))


def length_bins(lengths: np.ndarray, counts: np.ndarray, bins: int) -> np.ndarray:
    """Upper edges of at most ``bins`` bins of the training split's sequence lengths (its
    exact length histogram): at its quantiles, so each holds about as many training sequences
    (fewer bins when lengths repeat), the last at its longest."""
    cum = np.cumsum(counts) / max(1, int(np.sum(counts)))
    at = np.searchsorted(cum, np.arange(1, bins) / bins, side="left")
    return np.unique(np.append(lengths[np.minimum(at, len(lengths) - 1)], lengths[-1]))


def on_length_bins(edges: np.ndarray, lengths: np.ndarray, counts: np.ndarray,
                   shortest: int) -> np.ndarray:  # fmt: skip
    """An exact length histogram counted on :func:`length_bins`' edges: one bin below the
    training split's shortest length, one per edge, one above its longest."""
    idx = 1 + np.searchsorted(edges, lengths, side="left")
    idx[lengths < shortest] = 0
    return np.bincount(idx, weights=counts, minlength=len(edges) + 2).astype(np.int64)


def _dist(counts: np.ndarray, eps: float) -> np.ndarray:
    c = np.asarray(counts, dtype=np.float64)
    total = c.sum()
    p = c / total if total else np.full(len(c), 1 / max(1, len(c)))
    if eps:
        p = np.maximum(p, eps)
        p = p / p.sum()
    return p


# -- one split -----------------------------------------------------------------------------------
def count_values(values: np.ndarray) -> dict[Any, int]:
    distinct, counts = np.unique(values, return_counts=True)
    return {_py(v): int(c) for v, c in zip(distinct, counts, strict=True)}


def _py(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def add_counts(a: dict | None, b: dict | None) -> dict | None:
    """The sum of two value counts; None (too many distinct values) wins."""
    if a is None or b is None:
        return None
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0) + v
    return out if len(out) <= MAX_DISTINCT else None


@dataclass
class SplitOptions:
    """What one pass over a split measures: ``bins`` (drift histograms; None: none), the windows'
    ``window`` rule ``(length, sampling_rate)`` when provenance gives it, ``memory_bytes`` of
    hash keys held before spilling."""

    bins: Bins | None = None
    window: tuple[int, int] | None = None
    #: the inputs are windows (N, L, F…), or (N, L) of one feature, whose timestep rows are hashed
    timestep_hashes: bool = False
    #: the padding value of the windows' timesteps (``--mask-value``, ``pad``'s record): rows of
    #: it are no timesteps; None: no padding known
    pad_value: float | None = None
    #: the targets' histogram bins (one feature), for the drift of a regression target
    y_bins: Bins | None = None
    memory_bytes: int = DEFAULT_HASH_MEMORY
    #: keep this split's keys (it is the smaller side of a pair, or the keys are joined in
    #: buckets); a split that is only ever the larger side looks its keys up in ``indexes``
    keep_keys: bool = True
    #: other splits' indexes to look this one's keys up in: ``("x" | "xy", split) → KeyIndex``
    indexes: dict[tuple[str, str], KeyIndex] = field(default_factory=dict)


@dataclass
class SplitStats:
    """Mergeable facts about one split (or some consecutive rows of it)."""

    rows: int = 0
    x_keys: HashTable = field(default_factory=HashTable)
    xy_keys: HashTable = field(default_factory=HashTable)
    classes: dict | None = field(default_factory=dict)
    groups: dict | None = field(default_factory=dict)
    hist: np.ndarray | None = None  # (F, bins + 2)
    y_hist: np.ndarray | None = None  # (1, bins + 2): the targets' (SplitOptions.y_bins)
    #: windows with provenance: disjoint covered source rows [lo, hi]
    steps: tuple[np.ndarray, np.ndarray] | None = None
    #: windows without: the distinct keys of their timestep rows (K, 2)
    step_keys: np.ndarray | None = None
    step_rows: int = 0  # the timestep rows those keys were made of (repeats counted)
    #: the distinct pairs of consecutive timestep rows (two different rows, neither padding):
    #: (K, 6) the pair's key, the first row's key, the second row's key
    step_pairs: np.ndarray | None = None
    hashed: bool = True  # every chunk's inputs could be hashed
    #: every chunk came with its targets (inputs + target keys exist): None before any chunk
    with_targets: bool | None = None
    #: this split's keys looked up in other splits' indexes (SplitOptions.indexes)
    probes: dict[tuple[str, str], Probe] = field(default_factory=dict)

    def update(self, x: np.ndarray | Ragged | None, opts: SplitOptions,
               y: np.ndarray | Ragged | None = None, group: np.ndarray | None = None,
               starts: np.ndarray | None = None, extra: np.ndarray | None = None) -> None:  # fmt: skip
        """Fold in the next rows: aligned chunks of the inputs, target, group, window starts and
        the keys of the inputs' other columns (``extra``, (N, 2): a table's text and date
        columns, :func:`arrow_keys`), hashed with the inputs (``x`` a
        :class:`~dsdoctor.arrays.Ragged` chunk of sequences, or None: inputs that are not
        hashed)."""
        n = len(next(a for a in (x, y, group, starts) if a is not None))
        self.with_targets = (
            (y is not None) if self.with_targets is None else (self.with_targets and y is not None)
        )
        start = self.rows
        self.rows += n
        if x is None:
            self.hashed = False
        elif isinstance(x, Ragged) or x.dtype.kind in "biufc":
            kx = keys_of(x)
            if extra is not None:
                kx = combine(kx, extra)
            kxy = combine(kx, keys_of(y)) if y is not None else None
            if opts.keep_keys:
                rows = np.arange(start, start + n, dtype=np.uint64)
                self.x_keys.memory_bytes = self.xy_keys.memory_bytes = opts.memory_bytes
                self.x_keys.add(kx, rows)
                if kxy is not None:
                    self.xy_keys.add(kxy, rows)
            for (which, name), index in opts.indexes.items():
                keys = kx if which == "x" else kxy
                if keys is not None:
                    found, where = index.lookup(keys)
                    probe = self.probes.setdefault((which, name), Probe())
                    probe.add(found, where, start, len(index.u0))
            if opts.bins is not None and not isinstance(x, Ragged) and x.size:
                h = opts.bins.counts(x.reshape(-1, opts.bins.lo.size))
                self.hist = h if self.hist is None else self.hist + h
        else:
            self.hashed = False
        if y is not None and self.classes is not None:
            flat = None if isinstance(y, Ragged) else (
                y.reshape(-1) if y.ndim == 1 or y.shape[1:] == (1,) else None)  # fmt: skip
            if flat is not None and (flat.dtype.kind in "biuOUS"
                                     or (flat.dtype.kind == "f" and np.all(flat == np.round(flat)))):  # fmt: skip
                self.classes = add_counts(self.classes, count_values(flat))
            else:
                self.classes = None
        if (
            y is not None
            and opts.y_bins is not None
            and not isinstance(y, Ragged)
            and y.dtype.kind in "biuf"
            and y.size == len(y)
        ):
            h = opts.y_bins.counts(y.reshape(-1, 1))
            self.y_hist = h if self.y_hist is None else self.y_hist + h
        if group is not None and self.groups is not None:
            self.groups = add_counts(self.groups, count_values(group.reshape(-1)))
        if starts is not None and opts.window is not None:
            length, rate = opts.window
            lo = starts.astype(np.int64)
            got = union_intervals(lo, lo + (length - 1) * rate)
            self.steps = (
                got
                if self.steps is None
                else union_intervals(
                    np.concatenate([self.steps[0], got[0]]), np.concatenate([self.steps[1], got[1]])
                )
            )
        elif (x is not None and not isinstance(x, Ragged) and opts.timestep_hashes
              and x.ndim >= 2 and x.dtype.kind in "biuf"):  # fmt: skip
            self._timesteps(x if x.ndim >= 3 else x[:, :, None], opts.pad_value)  # (N, L): F = 1

    def _timesteps(self, x: np.ndarray, pad_value: float | None) -> None:
        """The distinct keys of the windows' timestep rows and of their pairs of consecutive
        rows. A row of the padding value is no timestep; with no padding value known, a
        window's leading or trailing run of two or more equal rows of one value each (padding
        nobody declared) is none either. A pair of two equal rows (padding, a flat stretch) says
        nothing of where in a series it is, and is left out of the pairs."""
        n, t = x.shape[:2]
        rows, pairs = [np.zeros((0, 2), np.uint64)], [np.zeros((0, 6), np.uint64)]
        step = max(1, STEP_ROWS // max(1, t))  # windows at a time: their keys stay small
        for lo in range(0, n, step):
            block = x[lo : lo + step]
            keys = row_hashes(block.reshape(len(block) * t, -1)).reshape(len(block), t, 2)
            if pad_value is None:
                real = ~_undeclared_padding(block, keys)
            else:
                from ..kernels import mask_padded

                real = mask_padded(block, pad_value)
            self.step_rows += int(real.sum())
            rows.append(np.unique(keys[real], axis=0))
            first, second = keys[:, :-1], keys[:, 1:]
            ok = real[:, :-1] & real[:, 1:] & (first != second).any(axis=2)
            a, b = first[ok], second[ok]
            pairs.append(np.unique(np.column_stack([combine(a, b), a, b]), axis=0))
        self.step_keys = _union(self.step_keys, np.unique(np.concatenate(rows), axis=0))
        self.step_pairs = _union(self.step_pairs, np.unique(np.concatenate(pairs), axis=0))

    def merge(self, other: SplitStats) -> SplitStats:
        """This part followed by ``other`` (the split's next rows); the key tables of both move
        into the result (neither part is used again)."""
        out = SplitStats(self.rows + other.rows)
        out.x_keys = self.x_keys.merge(other.x_keys, self.rows)
        out.xy_keys = self.xy_keys.merge(other.xy_keys, self.rows)
        out.classes = add_counts(self.classes, other.classes)
        out.groups = add_counts(self.groups, other.groups)
        out.hist = (other.hist if self.hist is None else self.hist if other.hist is None
                    else self.hist + other.hist)  # fmt: skip
        out.y_hist = (other.y_hist if self.y_hist is None else self.y_hist if other.y_hist is None
                      else self.y_hist + other.y_hist)  # fmt: skip
        if self.steps is None or other.steps is None:
            out.steps = self.steps if other.steps is None else other.steps
        else:
            out.steps = union_intervals(np.concatenate([self.steps[0], other.steps[0]]),
                                        np.concatenate([self.steps[1], other.steps[1]]))  # fmt: skip
        out.step_rows = self.step_rows + other.step_rows
        out.step_keys = _union(self.step_keys, other.step_keys)
        out.step_pairs = _union(self.step_pairs, other.step_pairs)
        out.hashed = self.hashed and other.hashed
        out.with_targets = (other.with_targets if self.with_targets is None
                            else self.with_targets if other.with_targets is None
                            else self.with_targets and other.with_targets)  # fmt: skip
        for key in {*self.probes, *other.probes}:
            mine, theirs = self.probes.get(key), other.probes.get(key)
            out.probes[key] = (Probe().merge(theirs, self.rows) if mine is None  # type: ignore[arg-type]
                               else mine if theirs is None else mine.merge(theirs, self.rows))  # fmt: skip
        return out

    def close(self) -> None:
        """Remove the spilled keys' files."""
        self.x_keys.close()
        self.xy_keys.close()


def _undeclared_padding(x: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """(N, T): the timesteps of each window in its leading or trailing run of at least two
    equal rows whose features are one value (zeros before a short sequence, as
    ``pad_sequences`` writes them)."""
    n, t = keys.shape[:2]
    if t < 2:
        return np.zeros((n, t), dtype=bool)
    flat = x.reshape(n, t, -1)
    one_value = (flat == flat[..., :1]).all(axis=2)
    same = (keys[:, 1:] == keys[:, :-1]).all(axis=2)  # row j equals row j + 1
    on = np.ones((n, 1), dtype=bool)
    lead = np.logical_and.accumulate(np.concatenate([on, same], axis=1), axis=1)
    trail = np.logical_and.accumulate(np.concatenate([on, same[:, ::-1]], axis=1), axis=1)[:, ::-1]
    lead &= (lead.sum(axis=1) >= 2)[:, None] & one_value[:, :1]
    trail &= (trail.sum(axis=1) >= 2)[:, None] & one_value[:, -1:]
    return lead | trail


def _union(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    """The sorted distinct rows of two sorted-unique key sets (None: none yet)."""
    if a is None or b is None:
        return a if b is None else b
    return np.unique(np.concatenate([a, b]), axis=0)


def shared_run_steps(a: np.ndarray, b: np.ndarray) -> int:
    """How many distinct timestep rows of ``b`` belong to a pair of consecutive rows that ``a``
    also holds (``step_pairs`` of two splits): the rows of runs of at least two consecutive
    timesteps both splits' windows cover."""
    if not len(a) or not len(b):
        return 0
    ra = np.column_stack([a[:, :2], np.zeros(len(a), np.uint64)])
    rb = np.column_stack([b[:, :2], np.arange(len(b), dtype=np.uint64)])
    hit = b[_join(ra, rb)[1]]
    if not len(hit):
        return 0
    return len(np.unique(np.concatenate([hit[:, 2:4], hit[:, 4:6]]), axis=0))


def arrow_keys(columns: list) -> np.ndarray:
    """A 128-bit key per row of some Arrow columns together (a table's text, date, boolean …
    columns that are not in its numeric inputs): dates and times by their integer values,
    anything else by its text (each distinct value hashed once, :func:`text_hashes`); a null is
    one value of its own."""
    import pyarrow as pa

    out: np.ndarray | None = None
    for col in columns:
        if isinstance(col, pa.ChunkedArray):
            col = col.combine_chunks()
        if pa.types.is_dictionary(col.type):
            col = col.dictionary_decode()
        t = col.type
        if pa.types.is_temporal(t) or pa.types.is_integer(t) or pa.types.is_floating(t):
            as_int = (
                col.view(pa.int32() if t.bit_width == 32 else pa.int64())
                if pa.types.is_temporal(t)
                else col
            )
            values = as_int.to_numpy(zero_copy_only=False)
            if col.null_count:
                values = np.where(col.is_valid().to_numpy(zero_copy_only=False), values, 0)
                keys = combine(row_hashes(np.asarray(values).reshape(-1, 1)),
                               text_hashes(col.is_null().to_numpy(zero_copy_only=False)))  # fmt: skip
            else:
                keys = row_hashes(np.asarray(values).reshape(-1, 1))
        else:
            texts = np.empty(len(col), dtype=object)
            try:
                texts[:] = (
                    col.to_pylist() if pa.types.is_string(t) else col.cast(pa.string()).to_pylist()
                )
            except (pa.ArrowException, UnicodeDecodeError):  # bytes, lists, structs: as written
                texts[:] = [repr(v) for v in col.to_pylist()]
            texts[col.is_null().to_numpy(zero_copy_only=False)] = "\x00null"
            keys = text_hashes(texts)
        out = keys if out is None else combine(out, keys)
    assert out is not None
    return out


def shared_keys(a: np.ndarray, b: np.ndarray) -> int:
    """How many distinct (K, 2) keys two sorted-unique key sets share."""
    if not len(a) or not len(b):
        return 0
    ra = np.column_stack([a, np.zeros(len(a), np.uint64)])
    rb = np.column_stack([b, np.zeros(len(b), np.uint64)])
    return _join(ra, rb)[2]


def aligned(*streams):
    """Zip chunk streams of the same rows cut differently into chunks of equal rows (a None
    stream gives None); stops when any stream ends."""
    live = [iter(s) if s is not None else None for s in streams]
    held: list[Any] = [None if it is None else np.zeros(0) for it in live]
    while True:
        for i, it in enumerate(live):
            while it is not None and len(held[i]) == 0:
                nxt = next(it, None)
                if nxt is None:
                    return
                held[i] = nxt
        n = min(len(h) for h in held if h is not None)
        yield tuple(None if h is None else _rows_of(h, 0, n) for h in held)
        held = [None if h is None else _rows_of(h, n, len(h)) for h in held]


def _rows_of(chunk, lo: int, hi: int):
    """Rows ``[lo, hi)`` of a chunk (a ragged one's sequences share its values)."""
    if isinstance(chunk, Ragged):
        return Ragged(chunk.values, chunk.offsets[lo : hi + 1])
    return chunk[lo:hi]


def scan_split(x, opts: SplitOptions, y=None, group=None, starts=None,
               chunk_bytes: int = 64 * 1024**2, extra=None) -> SplitStats:  # fmt: skip
    """One pass over a split's handles (x and optional y, group column, window starts, and
    ``extra``: the keys of a table's other input columns, :class:`OtherColumns`)."""
    return _scan([x], opts, y, group, starts, chunk_bytes, extra)


def _scan(xs: list, opts: SplitOptions, y=None, group=None, starts=None,
          chunk_bytes: int = 64 * 1024**2, extra=None) -> SplitStats:  # fmt: skip
    """One pass over the split's rows that the handles ``xs`` (consecutive) and the aligned
    ``y``, ``group``, ``starts`` and ``extra`` hold."""
    out = SplitStats()
    x_stream = itertools.chain.from_iterable(h.chunks(chunk_bytes) for h in xs)
    if y is not None and y.ragged:  # sequence targets: hashed, not counted as classes
        out.classes = None
    streams = [h.chunks(chunk_bytes) if h is not None else None
               for h in (y, group, starts, extra)]  # fmt: skip
    try:
        for cx, cy, cg, cs, ce in aligned(x_stream, *streams):
            out.update(cx, opts, cy, cg, cs, ce)
    except BaseException:  # its spilled keys go with it
        out.close()
        raise
    return out


# -- the split pass in parts (--jobs, --engine dask) ------------------------------------------------
#: The streams of a split besides its inputs, in the order a task's last segments hold them
#: (``extra``: a table's other input columns, :class:`OtherColumns`).
ROLES = ("y", "group", "starts", "extra")


class OtherColumns:
    """The keys of a table's non-numeric input columns, chunk by chunk (:func:`arrow_keys`):
    the split pass hashes them with the numeric inputs, so two samples differing only in a
    text or date column are not duplicates."""

    ragged = False

    def __init__(self, table, names: list[str]):
        self.table, self.names = table, names

    def chunks(self, chunk_bytes: int):
        rows = max(1, chunk_bytes // (4 * max(1, self.table.row_estimate(self.names))))
        for batch in self.table.batches(self.names, rows):
            yield arrow_keys([batch.column(i) for i in range(batch.num_columns)])


@dataclass(frozen=True)
class OtherPiece:
    """The other input columns of one piece of a table dataset, as a worker reopens them: the
    piece (:class:`~dsdoctor.sources.dataset.Piece`) and the columns' names."""

    piece: Any
    names: tuple[str, ...]

    @property
    def path(self) -> str:
        """The piece's file (absolute), which a Dask worker checks is the one seen here."""
        return self.piece.path

    def open(self) -> OtherColumns:
        return OtherColumns(self.piece.open().table, list(self.names))


@dataclass
class SplitWork:
    """What every task of one split's pass does (sent to each worker once): the pass's options,
    which of the split's other streams (:data:`ROLES`) a task's last segments are, the chunk
    size."""

    opts: SplitOptions
    others: tuple[str, ...]
    chunk_bytes: int
    #: the task runs on another machine (a Dask worker): keys it spilled to its temporary
    #: folder are read back and sent with the result (that task's keys, 24 bytes a row, are
    #: then held once on the worker), since this machine cannot read that folder
    elsewhere: bool = False


def split_tasks(x, others: dict[str, Any], workers: int) -> tuple[list[Task], list[int]] | None:
    """The split's pass cut into tasks for ``workers`` workers: the inputs' tasks as
    :func:`~dsdoctor.engine.tasks.cut_tasks` cuts shards (a folder of ``.npy`` files, a table
    dataset's pieces), or row ranges of one ``.npy`` file; each task's segments of the inputs
    are followed by the same rows of each of the split's other streams (``others``: role →
    handle), from its shard of the same rows (a table dataset's target and group columns) or by
    row range of one ``.npy`` file -- so a task is ``m * (1 + len(others))`` segments. A table's
    other input columns (``extra``, :class:`OtherColumns`) follow a dataset's pieces, each
    reopened by the worker (:class:`OtherPiece`). None when the split cannot be cut into parts
    that a worker opens itself (sequences, one table file, a container, a stream that is
    neither): it is then scanned in this process, every stream with it. With the tasks, the
    bytes of inputs each scans (for the progress bar)."""
    from ..sources.shards import row_range
    from .tasks import MAX_TASKS, MIN_TASK_BYTES, TASKS_PER_WORKER, cut_tasks, shard_bytes

    if x.ragged or not x.shape:
        return None
    n = int(x.shape[0])
    sources = getattr(x, "shard_sources", None)
    if sources is not None:
        shards = list(x.shards)
        cut = cut_tasks(x, workers)
    elif isinstance(x.source, str) and row_range(x, 0, n) is not None:
        sources, shards = [x.source], [x]
        count = max(
            1, min(workers * TASKS_PER_WORKER, shard_bytes(x) // MIN_TASK_BYTES, MAX_TASKS, n)
        )
        bounds = np.linspace(0, n, count + 1).astype(np.int64)
        cut = [((x.source, (int(lo), int(hi))),) for lo, hi in itertools.pairwise(bounds)]
    else:
        return None
    rows = [int(sh.shape[0]) if sh.shape else 1 for sh in shards]
    starts = np.concatenate([[0], np.cumsum(rows)]).astype(int)
    where = {id(src): i for i, src in enumerate(sources)}

    def same_rows(h, i: int, r: tuple[int, int] | None):
        """The segment of ``h`` holding the rows of x's segment ``(shard i, r)``, or None."""
        lo, hi = r if r is not None else (0, rows[i])
        if isinstance(h, OtherColumns):  # a piece's other columns: the worker reopens the piece
            src = sources[i]
            return (
                (OtherPiece(src, tuple(h.names)), None)
                if r is None and hasattr(src, "open")
                else None
            )
        theirs = getattr(h, "shard_sources", None)
        if (theirs is not None and len(theirs) == len(sources)
                and [int(sh.shape[0]) for sh in h.shards] == rows
                and (r is None or row_range(h.shards[i], lo, hi) is not None)):  # fmt: skip
            return theirs[i], r
        if (theirs is None and isinstance(h.source, str) and not h.ragged and h.shape
                and int(h.shape[0]) == n and row_range(h, 0, n) is not None):  # fmt: skip
            return h.source, (int(starts[i] + lo), int(starts[i] + hi))
        return None

    out: list[Task] = []
    sizes: list[int] = []
    row_bytes = shard_bytes(x) // max(1, n)
    for task in cut:
        segments = list(task)
        for h in others.values():
            for src, r in task:
                got = same_rows(h, where[id(src)], r)
                if got is None:
                    return None
                segments.append(got)
        out.append(tuple(segments))
        sizes.append(
            row_bytes * sum(rows[where[id(src)]] if r is None else r[1] - r[0] for src, r in task)
        )
    return out, sizes


def scan_split_task(task: Task, source_options: dict, work: SplitWork) -> SplitStats:
    """On a worker: one task of :func:`split_tasks` -- its pieces opened here, scanned in
    chunks into the part of the split's statistics that :meth:`SplitStats.merge` folds in."""
    from ..errors import SourceError
    from ..sources import open_array
    from ..sources.shards import row_range

    def opened(source, rows: tuple[int, int] | None):
        if not isinstance(source, str):  # a piece of a table dataset opens itself, whole
            return source.open()
        handle = open_array(source, **source_options)
        if rows is None:
            return handle
        part = row_range(handle, *rows)
        if part is None:
            raise SourceError(f"{source} changed while it was being checked (its rows {rows[0]:,} "
                              f"to {rows[1]:,} cannot be read); check it again")  # fmt: skip
        return part

    m = len(task) // (1 + len(work.others))
    streams = [[opened(src, rows) for src, rows in task[k * m : (k + 1) * m]]
               for k in range(1 + len(work.others))]  # fmt: skip
    more = {role: _joined(hs) for role, hs in zip(work.others, streams[1:], strict=True)}
    out = _scan(streams[0], work.opts, more.get("y"), more.get("group"), more.get("starts"),
                work.chunk_bytes, more.get("extra"))  # fmt: skip
    if work.elsewhere:
        try:
            out.x_keys.unspill()
            out.xy_keys.unspill()
        finally:
            out.close()  # nothing is left in the worker's temporary folder
    return out


class _Joined:
    """Consecutive handles of one stream read as one (their chunks in order)."""

    def __init__(self, handles: list):
        self.handles = handles
        self.ragged = any(h.ragged for h in handles)

    def chunks(self, chunk_bytes: int):
        return itertools.chain.from_iterable(h.chunks(chunk_bytes) for h in self.handles)


def _joined(handles: list):
    return handles[0] if len(handles) == 1 else _Joined(handles)


def merge_parts(parts: list[SplitStats]) -> SplitStats:
    """The parts of one split's pass, merged in task order (equal to one pass over it); when
    merging fails, every part's spilled keys are removed."""
    try:
        return reduce(SplitStats.merge, parts[1:], parts[0]) if parts else SplitStats()
    except BaseException:
        for part in parts:
            part.close()
        raise
