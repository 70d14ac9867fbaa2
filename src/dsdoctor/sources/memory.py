"""In-memory arrays (numpy arrays, lists of sequences, Ragged) behind the same handle, so the
Python API accepts data as readily as paths."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..arrays import Ragged
from ..errors import SourceError
from .base import ArrayHandle, is_numeric, is_text, text_shape


class MemoryArray(ArrayHandle):
    data: np.ndarray | Ragged

    def _chunks(self, chunk_bytes: int) -> Iterator[np.ndarray | Ragged]:
        data = self.data
        if isinstance(data, Ragged):
            n = len(data)
            step = max(
                1,
                chunk_bytes
                // max(1, self.row_bytes * max(1, int(data.lengths.mean()) if n else 1)),
            )
            for start in range(0, max(n, 1) if n else 0, step):
                end = min(n, start + step)
                yield Ragged(data.values, data.offsets[start : end + 1])
            return
        if data.ndim == 0:
            yield data
            return
        rows = self.rows_per_chunk(chunk_bytes)
        for start in range(0, len(data), rows):
            yield data[start : start + rows]

    def read(self) -> np.ndarray | Ragged:
        return self.data


def as_handle(obj, name: str) -> MemoryArray:
    """Wrap a numpy array, a :class:`Ragged`, a list of sequences or a pyarrow ListArray."""
    data = to_data(obj)
    reason = None
    if isinstance(data, np.ndarray) and data.dtype.hasobject and not _object_text(data):
        from .objects import BadElements, from_objects

        try:  # sequences or numbers as Python objects: what an unpickled .npy would give
            data = from_objects(data)
        except BadElements as exc:
            reason = str(exc)
    if isinstance(data, Ragged):
        shape: tuple = (len(data), None, *data.inner_shape)
    else:
        shape = tuple(data.shape)
    h = MemoryArray(name=name, source=f"<{name}>", path=Path(f"{name}.npy"), format="memory",
                    shape=shape, dtype=data.dtype, ragged=isinstance(data, Ragged))  # fmt: skip
    h.data = data
    if isinstance(data, np.ndarray) and _object_text(data):
        h.categorical = True  # str (or None) objects in memory: class labels, nothing unpickled
    elif reason is not None:
        h.skip = reason
    elif isinstance(data, np.ndarray) and is_text(data.dtype, data.shape):
        h.categorical = True  # class labels as text
    elif not is_numeric(data.dtype):
        h.skip = f"dtype {data.dtype} is not numeric; dsdoctor checks numeric arrays"
    return h


def to_data(obj) -> np.ndarray | Ragged:
    if isinstance(obj, Ragged | np.ndarray):
        return obj
    mod = type(obj).__module__
    if mod.startswith("pyarrow"):
        return ragged_from_arrow(obj)
    if isinstance(obj, list | tuple) and obj and all(np.ndim(s) >= 1 for s in obj):
        lengths = {len(s) for s in obj}
        if len(lengths) > 1:
            return Ragged.from_sequences(obj)
    return np.asarray(obj)


def ragged_from_arrow(arr) -> Ragged:
    """A pyarrow ``list<…>`` array (or chunked array) as values + offsets."""
    from .table import column_kind, list_to_ragged

    kind, dtype, _ = column_kind(arr.type)
    if kind != "list" or dtype is None:
        raise SourceError(
            f"a pyarrow array of type {arr.type} is not variable-length sequences of numbers"
        )
    return list_to_ragged(arr, dtype)


def _object_text(data: np.ndarray) -> bool:
    """An object array (``df.species.to_numpy()``) of ``str`` and ``None``, one per sample."""
    if data.dtype != object or not text_shape(data.shape) or not data.size:
        return False
    import pyarrow as pa

    try:
        t = pa.array(data.reshape(-1), from_pandas=True).type
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return False
    return pa.types.is_string(t) or pa.types.is_large_string(t)
