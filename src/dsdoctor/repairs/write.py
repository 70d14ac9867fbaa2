"""The one place repairs write: blocks of output rows streamed to ``-o``.

A repair yields ``{role: block}`` dicts whose blocks share their first axis; they are appended
row after row to the output, whatever its format (``.npy``, ``.npz``, HDF5, Parquet), so memory
is bounded by a block and an output may be larger than RAM.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
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
    inputs: Iterable[str | Path] = (),
    chunk_bytes: int | None = None,
) -> list[str]:
    """Write the blocks to ``out``; every role's rows must add up to its declared shape. No file
    of the output (siblings included) may be one of ``inputs`` (see :func:`input_paths`).

    For Parquet, blocks are joined up to ``chunk_bytes`` first: each block becomes a row group,
    and contiguous inputs arrive in reads of a few MiB (``sources.base.READ_BYTES``), which
    would make row groups too small for the readers that come after."""
    dest = parse_destination(out)
    if dest.format == "parquet" and chunk_bytes:
        blocks = _joined(blocks, chunk_bytes)
    with stream_arrays(
        out, specs, main=main, force=force, provenance=prov, inputs=inputs
    ) as writer:
        for block in blocks:
            writer.write(block)
    return [str(p) for p in writer.paths]


def input_paths(h) -> list[Path]:
    """The files an array handle reads: its file, or every shard's and the folder or glob that
    named them (stdin: its spool)."""
    shards = getattr(h, "shards", None) or []
    origin = getattr(h, "origin", "")
    return [_path(h.path), *(_path(s.path) for s in shards), *([_path(origin)] if origin else [])]


def _path(p: Any) -> Any:
    """A local file as a Path; a URL's Location as it is (its text, for the output guard)."""
    from ..locations import is_url

    return str(p) if is_url(p) else Path(p)


def _joined(
    blocks: Iterable[Mapping[str, np.ndarray]], chunk_bytes: int
) -> Iterator[Mapping[str, np.ndarray]]:
    """Consecutive blocks concatenated into blocks of about ``chunk_bytes`` (copied: a source
    may reuse the buffer behind a block for its next read)."""
    pending: list[Mapping[str, np.ndarray]] = []
    size = 0
    for block in blocks:
        pending.append({role: np.array(part, copy=True) for role, part in block.items()})
        size += sum(part.nbytes for part in pending[-1].values())
        if size >= chunk_bytes:
            yield _concat(pending)
            pending, size = [], 0
    if pending:
        yield _concat(pending)


def _concat(blocks: list[Mapping[str, np.ndarray]]) -> Mapping[str, np.ndarray]:
    if len(blocks) == 1:
        return blocks[0]
    return {role: np.concatenate([b[role] for b in blocks]) for role in blocks[0]}
