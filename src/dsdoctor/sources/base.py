"""Lazy array handles and the container interface every format implements.

A handle knows its shape, dtype and layout without reading data, and yields the data as chunks
of whole samples (dense ``ndarray`` or :class:`~dsdoctor.arrays.Ragged`) whose size is bounded
by ``chunk_bytes``. Every check and repair is written against this interface only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..arrays import Ragged
from ..errors import SourceError

DEFAULT_CHUNK_BYTES = 64 * 1024**2
#: Contiguous data is read at most this much at a time, even with a bigger chunk size: a read
#: that fits the CPU's cache leaves the data there for the reductions that follow, where a 64 MiB
#: read sends it to memory and back once per reduction (``check`` of a 1 GiB .npy: about 1.5x
#: faster). The chunk size still bounds memory; reads are only ever smaller.
READ_BYTES = 4 * 1024**2

Chunk = np.ndarray | Ragged


def is_numeric(dtype: np.dtype) -> bool:
    """Numbers a model can take: bool, integers, floats, complex."""
    return dtype.kind in "biufc" and dtype.fields is None and not dtype.hasobject


@dataclass
class ArrayHandle:
    """One array inside a source, read lazily.

    ``shape`` is the full shape; for ragged sequences the time axis is ``None``:
    ``(N, None)`` or ``(N, None, F)``. ``skip`` is set when the array exists but dsdoctor cannot
    check it (text, compound records, an object array); it says why.
    """

    name: str
    source: str
    path: Path
    format: str
    shape: tuple[int | None, ...]
    dtype: np.dtype
    ragged: bool = False
    layout: dict[str, Any] = field(default_factory=dict)
    disk_bytes: int | None = None
    skip: str | None = None
    unsafe: str | None = None
    pickled: bool = False  # an object array: reading it means unpickling

    # -- derived facts ---------------------------------------------------------------------
    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def n(self) -> int | None:
        """Number of samples (sequences), or None for a 0-d array."""
        return self.shape[0] if self.shape else None

    @property
    def inner_shape(self) -> tuple[int, ...]:
        """Shape of one timestep of a ragged array, of one sample of a dense one."""
        return tuple(self.shape[2:] if self.ragged else self.shape[1:])  # type: ignore[arg-type]

    @property
    def memory_bytes(self) -> int | None:
        """Bytes the dense array takes in memory (None for ragged: see the length statistics)."""
        if self.ragged or any(d is None for d in self.shape):
            return None
        return int(np.prod(self.shape, dtype=object)) * self.dtype.itemsize

    @property
    def row_bytes(self) -> int:
        """Bytes of one sample (dense) or of one timestep (ragged)."""
        return max(1, int(np.prod(self.inner_shape, dtype=object)) * max(1, self.dtype.itemsize))

    def describe(self) -> dict[str, Any]:
        """The JSON description of the array (a public interface: add fields, never rename)."""
        return {
            "source": self.source,
            "format": self.format,
            "shape": list(self.shape),
            "dtype": str(self.dtype),
            "ragged": self.ragged,
            "bytes_in_memory": self.memory_bytes,
            "bytes_on_disk": self.disk_bytes,
            "layout": self.layout,
            **({"skipped": self.skip} if self.skip else {}),
        }

    # -- data ------------------------------------------------------------------------------
    def rows_per_chunk(self, chunk_bytes: int) -> int:
        return max(1, chunk_bytes // self.row_bytes)

    def rows_per_read(self, chunk_bytes: int) -> int:
        """Rows per read of contiguous data: a chunk, or ``READ_BYTES`` if that is less."""
        return self.rows_per_chunk(min(chunk_bytes, READ_BYTES))

    def chunks(self, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Iterator[Chunk]:
        """Yield the data in order as chunks of whole samples, each about ``chunk_bytes``.

        A yielded buffer may be reused for the next chunk: copy what you keep.
        """
        from ..interrupts import check

        self.require_readable()
        for chunk in self._chunks(chunk_bytes):
            check()  # a SIGINT/SIGTERM ends every scan and every write between two chunks
            yield chunk
        check()

    def _chunks(self, chunk_bytes: int) -> Iterator[Chunk]:  # pragma: no cover - abstract
        raise NotImplementedError

    def read(self) -> Chunk:
        """The whole array in memory."""
        parts = [c.copy() if isinstance(c, np.ndarray) else c for c in self.chunks()]
        if self.ragged:
            return concat_ragged(parts, self.dtype, self.inner_shape)
        if not parts:
            return np.empty(self.shape, dtype=self.dtype)
        return np.concatenate(parts, axis=0) if len(parts) > 1 else parts[0]

    def require_readable(self) -> None:
        if self.unsafe:
            from ..errors import UnsafeInputError

            raise UnsafeInputError(self.unsafe)
        if self.skip:
            raise SourceError(f"{self.source}: {self.skip}")


def concat_ragged(parts: list[Ragged], dtype: np.dtype, inner: tuple[int, ...]) -> Ragged:
    """Join ragged chunks into one :class:`Ragged` (offsets rebased)."""
    if not parts:
        return Ragged(np.empty((0, *inner), dtype=dtype), np.zeros(1, dtype=np.int64))
    values = np.concatenate([p.window() for p in parts], axis=0)
    lengths = np.concatenate([p.lengths for p in parts])
    return Ragged.from_lengths(values, lengths)


@dataclass
class Entry:
    """A node of a container's tree for ``inspect``: a group, a link, or an array."""

    path: str
    kind: str  # "group" | "array" | "link" | "error"
    array: ArrayHandle | None = None
    note: str = ""


class Source:
    """An opened file (or directory) holding one or more arrays."""

    format = "?"

    def __init__(self, path: Path, display: str):
        self.path = path
        self.display = display

    def entries(self) -> list[Entry]:
        """Everything inside, for ``inspect`` (arrays, groups, links, unreadable members)."""
        return [Entry(a.name, "array", a) for a in self.arrays()]

    def arrays(self) -> list[ArrayHandle]:  # pragma: no cover - abstract
        raise NotImplementedError

    def array(self, selector: str | None) -> ArrayHandle:
        """One array: the selected one, or the only one when there is no selector."""
        arrays = self.arrays()
        if selector is None:
            usable = [a for a in arrays if not a.skip]
            if len(arrays) == 1:
                return arrays[0]
            if len(usable) == 1:
                return usable[0]
            if not arrays:
                raise SourceError(f"{self.display} holds no arrays")
            names = ", ".join(a.name for a in arrays[:20]) + (" …" if len(arrays) > 20 else "")
            raise SourceError(
                f"{self.display} holds {len(arrays)} arrays ({names}); "
                f"choose one as {self.display}:NAME"
            )
        return self.select(selector)

    def select(self, selector: str) -> ArrayHandle:
        for a in self.arrays():
            if a.name == selector:
                return a
        names = ", ".join(a.name for a in self.arrays()[:20])
        raise SourceError(f"{self.display} has no array {selector!r}; it has: {names or 'nothing'}")

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
