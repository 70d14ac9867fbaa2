"""Counting text values (class labels, categories) in chunks, in bounded memory.

:class:`CategoryCounts` is a mergeable count of the distinct values of a text array: ``add``
folds in one chunk (hashed by pyarrow's ``value_counts``: no Python loop per row), ``merge``
folds in the counts of another part of the same array (another shard, another worker). At most
:data:`MAX_CATEGORIES` distinct values are kept: past that the counts are dropped and only
"more than ``MAX_CATEGORIES`` distinct" is known — a column that large is an identifier, not a
label, and tracking it would cost memory proportional to the data.

Chunks are numpy ``U``/``S`` arrays or object arrays of ``str``/``bytes`` with ``None`` for a
missing value (:attr:`dsdoctor.sources.base.ArrayHandle.categorical`). ``bytes`` values are
decoded as UTF-8 (an invalid sequence is replaced, so a label is always a JSON string).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: The most distinct values counted. 100,000 classes is past any classification head in
#: practice (ImageNet-21k has 21,841) and costs a few MiB; a column with more is an id.
MAX_CATEGORIES = 100_000


@dataclass
class CategoryCounts:
    """value → number of rows, or ``over`` when more than :data:`MAX_CATEGORIES` were seen."""

    counts: dict[str, int] = field(default_factory=dict)
    over: bool = False

    # -- folding in data ---------------------------------------------------------------------
    def add(self, chunk: np.ndarray) -> tuple[int, np.ndarray]:
        """Count ``chunk``'s values; return (missing values, their row indices in the chunk —
        at most :data:`FIRST_MISSING` of them)."""
        import pyarrow.compute as pc

        arr = to_arrow(chunk)
        nulls = arr.null_count
        rows = np.array(  # (Arrow's to_numpy would import pandas: 0.2-1 s)
            pc.indices_nonzero(arr.is_null()).slice(0, FIRST_MISSING).to_pylist() if nulls else [],
            dtype=np.int64,
        )
        if not self.over:
            found = pc.value_counts(arr.drop_null())
            if len(found) > MAX_CATEGORIES:
                self._overflow()
            else:
                values = found.field("values").to_pylist()
                counts = found.field("counts").to_pylist()
                self._add_counts(dict(zip(values, counts, strict=True)))
        return nulls, rows

    def _add_counts(self, other: dict[str, int]) -> None:
        if len(other) > len(self.counts):  # fold the smaller dict into the larger
            mine, self.counts = self.counts, dict(other)
            other = mine
        counts = self.counts
        for value, n in other.items():  # one step per distinct value, never per row
            counts[value] = counts.get(value, 0) + n
        if len(counts) > MAX_CATEGORIES:
            self._overflow()

    def _overflow(self) -> None:
        self.counts, self.over = {}, True

    def merge(self, other: CategoryCounts) -> CategoryCounts:
        out = CategoryCounts(dict(self.counts), self.over or other.over)
        if out.over:
            out.counts = {}
        else:
            out._add_counts(other.counts)
        return out

    def scaled(self, k: int) -> CategoryCounts:
        """Each count ``k`` times (a row repeated ``k`` times)."""
        return CategoryCounts({v: n * k for v, n in self.counts.items()}, self.over)

    # -- derived facts -------------------------------------------------------------------------
    @property
    def distinct(self) -> int:
        """The number of distinct values (a lower bound, ``MAX_CATEGORIES + 1``, when ``over``)."""
        return MAX_CATEGORIES + 1 if self.over else len(self.counts)

    def classes(self) -> list[tuple[str, int]]:
        """(value, count) sorted by value — the order ``encode`` numbers them in."""
        return sorted(self.counts.items())

    def to_dict(self, limit: int = 1000) -> dict[str, Any]:
        if self.over:
            return {"distinct": f"more than {MAX_CATEGORIES:,}"}
        items = self.classes()
        out: dict[str, Any] = {"distinct": len(items), "classes": dict(items[:limit])}
        if len(items) > limit:
            out["classes_shown"] = limit
        return out


class TextArray(np.ndarray):
    """An object array of text values that keeps the pyarrow array it was made from
    (``arrow``), so counting it does not convert it back (:func:`to_arrow`). A view or a copy
    is a plain object array again (``arrow`` is None)."""

    arrow: Any = None

    @classmethod
    def of(cls, values: np.ndarray, arrow: Any) -> TextArray:
        out = values.view(cls)
        out.arrow = arrow
        return out


#: Row numbers of missing values recorded per array (the first ones).
FIRST_MISSING = 10


def to_arrow(chunk: np.ndarray) -> Any:
    """A text chunk as a pyarrow ``string`` array (``bytes`` decoded as UTF-8, invalid sequences
    replaced), ``None`` as null."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kept = getattr(chunk, "arrow", None)
    if kept is not None and len(kept) == chunk.size:
        return kept.dictionary_decode() if pa.types.is_dictionary(kept.type) else kept
    flat = chunk.reshape(-1)
    if flat.dtype.kind == "U":
        flat = valid_unicode(flat)
    if flat.dtype.kind == "S":
        flat = flat.astype(object)  # pyarrow reads fixed-width bytes as binary
    try:
        arr = pa.array(flat, from_pandas=True)  # NaN in an object array (pandas) is missing
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed str and bytes
        arr = pa.array([v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in flat],
                       type=pa.string())  # fmt: skip
    if pa.types.is_binary(arr.type) or pa.types.is_large_binary(arr.type):
        try:
            arr = pc.cast(arr, pa.large_string())
        except pa.ArrowInvalid:  # not UTF-8: decode with replacement
            arr = pa.array([None if v is None else v.decode("utf-8", "replace")
                            for v in arr.to_pylist()], type=pa.string())  # fmt: skip
    if pa.types.is_null(arr.type):
        arr = arr.cast(pa.string())
    return arr


def valid_unicode(flat: np.ndarray) -> np.ndarray:
    """A 1-D ``U`` array with every code unit that is no character — a UTF-16 surrogate, or past
    U+10FFFF, which a hostile or mis-converted file may hold — replaced by U+FFFD (vectorised:
    the array viewed as its 32-bit code units)."""
    width = flat.dtype.itemsize // 4
    if not width or not len(flat):
        return flat
    native = np.ascontiguousarray(flat, dtype=flat.dtype.newbyteorder("="))
    units = native.view(np.uint32)
    bad = ((units >= 0xD800) & (units < 0xE000)) | (units > 0x10FFFF)
    if bad.any():
        native = np.where(bad, np.uint32(0xFFFD), units).view(native.dtype)
        units = native.view(np.uint32)
    # pyarrow reads a numpy string up to its first NUL: one inside a value ('\x000') goes
    # through Python strings instead (numpy itself drops only trailing NULs)
    rows = units.reshape(len(native), width)
    real = rows != 0
    last = np.where(real.any(axis=1), width - np.argmax(real[:, ::-1], axis=1), 0)  # past the last
    if (~real & (np.arange(width) < last[:, None])).any():
        return native.astype(object)
    return native
