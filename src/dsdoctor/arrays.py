"""The in-memory model shared by dense and ragged arrays.

A dense chunk is a plain ``numpy.ndarray`` whose first axis is samples. A ragged chunk is a
:class:`Ragged`: flat ``values`` of shape ``(total_timesteps, *inner)`` and int64 ``offsets`` of
shape ``(N + 1,)``; sequence ``i`` is ``values[offsets[i]:offsets[i + 1]]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

INT64_MAX = np.iinfo(np.int64).max


def offsets_of(lengths) -> np.ndarray:
    """The int64 offsets ``[0, l0, l0 + l1, …]`` of 1-D integer ``lengths``; ValueError when a
    length is negative or the lengths add up past int64 (where a cumulative sum would wrap
    around, even back to the right total)."""
    lens = np.asarray(lengths)
    if lens.ndim != 1 or (lens.size and lens.dtype.kind not in "iub"):
        raise ValueError(f"lengths must be a 1-D array of integers; got {lens.dtype} {lens.shape}")
    offsets = np.zeros(len(lens) + 1, dtype=np.int64)
    if not lens.size:
        return offsets
    if lens.min() < 0:
        raise ValueError(f"lengths must not be negative; {lens.min()} is")
    if int(lens.max()) > INT64_MAX or int(lens.max()) > INT64_MAX // len(lens):
        # only then can the sum overflow: add as exact Python ints, once
        total = sum(int(v) for v in lens)
        if total > INT64_MAX:
            raise ValueError(f"lengths add up to {total:,} timesteps, more than 64 bits can count")
    np.cumsum(lens.astype(np.int64, copy=False), out=offsets[1:])
    return offsets


@dataclass(frozen=True)
class Ragged:
    """Variable-length sequences as values plus offsets (Arrow's list layout)."""

    values: np.ndarray
    offsets: np.ndarray
    #: The positions (in this chunk) of sequences that are null, not empty (an Arrow/Parquet
    #: list column's nulls): they read as empty sequences, and are missing data. None: none.
    nulls: np.ndarray | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        offsets = np.asarray(self.offsets, dtype=np.int64)
        object.__setattr__(self, "offsets", offsets)
        if offsets.ndim != 1 or offsets.size == 0:
            raise ValueError("offsets must be a non-empty 1-D array")
        if offsets[0] < 0 or offsets[-1] > len(self.values) or np.any(np.diff(offsets) < 0):
            raise ValueError("offsets must be non-decreasing and inside the values")

    @classmethod
    def from_lengths(cls, values: np.ndarray, lengths: np.ndarray) -> Ragged:
        return cls(values, offsets_of(lengths))

    @classmethod
    def from_sequences(cls, sequences) -> Ragged:
        seqs = [np.asarray(s) for s in sequences]
        lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
        if seqs:
            values = np.concatenate(seqs, axis=0)
        else:
            values = np.zeros((0,))
        return cls.from_lengths(values, lengths)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def inner_shape(self) -> tuple[int, ...]:
        return tuple(self.values.shape[1:])

    @property
    def dtype(self) -> np.dtype:
        return self.values.dtype

    def window(self) -> np.ndarray:
        """The values these offsets cover (a view)."""
        return self.values[self.offsets[0] : self.offsets[-1]]

    def __getitem__(self, i: int) -> np.ndarray:
        return self.values[self.offsets[i] : self.offsets[i + 1]]
