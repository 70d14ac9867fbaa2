"""Appending blocks of rows to an output: the bookkeeping every format's writer shares.

A writer takes ``{role: rows}`` blocks in order. Each role's rows go after the ones it already
has; a block may hold any of the roles and any number of rows; a 0-d role takes one block that
is the whole value. More rows than declared are refused as they arrive, fewer when the writer
finishes, so a declared shape (an ``.npy`` header, an HDF5 dataset) is never a lie.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ..errors import OutputError
from .destination import Destination

#: role → (shape, dtype) of a whole output array.
Specs = Mapping[str, tuple[tuple[int, ...], np.dtype]]
#: Where a part goes: ``slice(start, stop)`` along axis 0, or ``()`` for a 0-d array.
Index = slice | tuple[()]


def row_count(shape: tuple[int, ...]) -> int:
    """Rows of an array of ``shape``: its first axis, or 1 for a 0-d array (written whole)."""
    return shape[0] if shape else 1


class BlockWriter:
    """Checks and normalises each block, then hands the parts to :meth:`_append`.

    A part reaches :meth:`_append` C-contiguous, of the declared dtype and row shape, with its
    place in the output; each format overrides :meth:`_append`. ``paths`` are the files the
    output consists of once it is committed.
    """

    def __init__(self, dest: Destination, specs: Specs, paths: list[Path]) -> None:
        self.dest, self.specs, self.paths = dest, specs, paths
        self.written = dict.fromkeys(specs, 0)

    def write(self, block: Mapping[str, npt.ArrayLike]) -> None:
        """Append ``block``'s rows to each of its roles."""
        parts: dict[str, tuple[Index, np.ndarray]] = {}
        for role, part in block.items():
            if role not in self.specs:
                raise OutputError(
                    f"{self.dest.text}: no output array named {role!r}; "
                    f"the output has {', '.join(self.specs)}"
                )
            shape, dtype = self.specs[role]
            start, array = self.written[role], np.asarray(part, dtype=dtype)
            if shape and not array.ndim:
                raise OutputError(f"{self.dest.text}: {role} takes rows, not a single value")
            n = len(array) if shape else 1
            if start + n > row_count(shape):
                raise OutputError(
                    f"{self.dest.text}: {role} has {row_count(shape):,} rows, but "
                    f"{start + n:,} were given"
                )
            array = np.asarray(np.broadcast_to(array, (n, *shape[1:]) if shape else ()), order="C")
            parts[role] = (slice(start, start + n) if shape else (), array)
            self.written[role] = start + n
        self._append(parts)

    def finish(self) -> None:
        """Refuse an output whose roles did not get all their rows; called before committing."""
        for role, (shape, _) in self.specs.items():
            if self.written[role] != row_count(shape):
                raise OutputError(
                    f"{self.dest.text}: {role} was given {self.written[role]:,} of its "
                    f"{row_count(shape):,} rows; nothing was written"
                )

    def _append(self, parts: Mapping[str, tuple[Index, np.ndarray]]) -> None:
        raise NotImplementedError  # pragma: no cover - every format overrides it
