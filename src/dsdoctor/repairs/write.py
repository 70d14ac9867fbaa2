"""The one place repairs write: blocks of output rows streamed to ``-o``.

A repair yields ``{role: block}`` dicts whose blocks share their first axis; they are written
row after row. ``.npy`` and HDF5 outputs are filled chunk by chunk (bounded memory, outputs
larger than RAM); ``.npz`` and Parquet are assembled in memory and written at the end.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .._version import __version__
from ..errors import OutputError, RepairError
from ..sinks import parse_destination, stream_arrays, write_arrays
from ..sinks.writers import STREAMABLE


def provenance(operation: str, source: str, options: Mapping[str, Any]) -> dict[str, Any]:
    clean = {k: v for k, v in options.items() if v is not None}
    return {"version": __version__, "operation": operation, "options": clean, "source": source}


def write_blocks(
    out: str,
    specs: Mapping[str, tuple[tuple[int, ...], np.dtype]],
    blocks: Iterable[Mapping[str, np.ndarray]],
    *,
    main: str,
    force: bool,
    prov: Mapping[str, Any],
    source_path=None,
) -> list[str]:
    """Write the blocks to ``out``; every role's rows must add up to its declared shape."""
    dest = parse_destination(out)
    if source_path is not None and _same_file(dest.path, source_path):
        raise OutputError(f"{out} is the input; inputs are never modified — write to another file")
    total = {role: shape[0] for role, (shape, _) in specs.items()}
    if dest.format in STREAMABLE:
        with stream_arrays(out, specs, main=main, force=force, provenance=prov) as arrays:
            _fill(arrays, blocks, total)
        if dest.format == "npy":
            return [str(dest.npy_path(role, main=role == main)) for role in specs]
        return [str(dest.path)]
    arrays = {role: np.empty(shape, dtype=dtype) for role, (shape, dtype) in specs.items()}
    _fill(arrays, blocks, total)
    return [str(p) for p in write_arrays(out, arrays, main=main, force=force, provenance=prov)]


def _same_file(a, b) -> bool:
    from pathlib import Path

    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:  # pragma: no cover
        return False


def _fill(
    arrays: Mapping[str, Any], blocks: Iterable[Mapping[str, np.ndarray]], total: dict[str, int]
) -> None:
    row = dict.fromkeys(arrays, 0)
    for block in blocks:
        for role, part in block.items():
            n = len(part)
            if n:
                arrays[role][row[role] : row[role] + n] = part
            row[role] += n
    if row != total:  # pragma: no cover - a repair that miscounts is a bug
        raise RepairError(f"internal: wrote {row} rows, expected {total}")
