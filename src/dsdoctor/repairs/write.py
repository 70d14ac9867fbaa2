"""The one place repairs write: blocks of output rows streamed to ``-o``.

A repair yields ``{role: block}`` dicts whose blocks share their first axis; they are appended
row after row to the output, whatever its format (``.npy``, ``.npz``, HDF5, Parquet), so memory
is bounded by a block and an output may be larger than RAM.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .._version import __version__
from ..errors import OutputError
from ..sinks import parse_destination, stream_arrays


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
    with stream_arrays(out, specs, main=main, force=force, provenance=prov) as writer:
        for block in blocks:
            writer.write(block)
    return [str(p) for p in writer.paths]


def _same_file(a, b) -> bool:
    from pathlib import Path

    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:  # pragma: no cover
        return False
