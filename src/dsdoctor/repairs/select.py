"""``select``: keep some features (the last axis) to match a model's input width, by index
(``features``), by table column (``columns``) or the first K (``first``). :func:`validate` is
the one validation of :func:`select` (in memory) and :func:`select_file`.

``features`` takes indices and half-open ranges, ``0,3:40,50:80:2`` (:func:`units.parse_selection`),
and ``columns`` names; either may be ``@FILE``, a text file holding them — indices and ranges
separated by commas, spaces or newlines, or one column name per line (``#`` starts a comment in
both). A fix that would list more than a screen line names such a file (``check --fix-files``
writes it)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import RepairError, UsageError
from ..formats import is_table_format
from ..sources import DEFAULT_CHUNK_BYTES, ArrayHandle
from ..units import (
    check_selection,
    format_shape,
    parse_count,
    parse_selection,
    resolve_selection,
)
from .base import dense, exactly_one, memory_handle, option, require_dense, result, source_handle
from .result import RepairResult
from .write import input_paths, provenance, write_blocks

ONE_OF = "give exactly one of --features i,j, --columns a,b or --first K"
#: The largest selection file read: a million column names fit, a mistaken data file does not.
MAX_SELECTION_BYTES = 64 * 1024**2


def read_selection(value: str, option_name: str) -> str:
    """``value``, or for ``@FILE`` the text of FILE; UsageError naming the option when it
    cannot be read."""
    if not value.startswith("@"):
        return value
    option(check_selection, option_name, value)
    path = Path(value[1:])
    try:
        if path.stat().st_size > MAX_SELECTION_BYTES:
            raise UsageError(
                f"{option_name} {value}: {path} is larger than 64 MiB; is it the selection file?"
            )
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(
            f"{option_name} {value}: no file {path} (check --fix-files writes the files fixes name)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"{option_name} {value}: {path} cannot be read ({exc.__class__.__name__})"
        ) from None


def validate(
    h: ArrayHandle,
    features: str | Sequence[int] | None = None,
    columns: str | Sequence[str] | None = None,
    first: int | None = None,
) -> list[int]:
    """The indices of the features kept, or the refusal."""
    exactly_one(ONE_OF, features, columns, first)
    require_dense(h, "select")
    if h.ndim < 2:
        raise RepairError(
            f"{h.source} has shape {format_shape(h.shape)}: no feature axis to select from"
        )
    width = h.shape[-1]
    assert width is not None  # a dense handle knows its shape
    if first is not None:
        k = option(parse_count, "--first", first, low=1)
        if k > width:
            raise RepairError(f"--first {k}: {h.source} has {width} features")
        return list(range(k))
    if columns is not None:
        if isinstance(columns, str) and columns.startswith("@"):
            lines = read_selection(columns, "--columns").splitlines()
            names = [n.strip() for n in lines if n.strip() and not n.lstrip().startswith("#")]
            if not names:
                raise UsageError(
                    f"--columns {columns}: the file names no column (one name per line)"
                )
        else:
            names = [
                c.strip() for c in (columns.split(",") if isinstance(columns, str) else columns)
            ]
        have = h.layout.get("columns") if is_table_format(h.format) else None
        if not have or len(have) != width:
            raise RepairError(
                f"--columns needs a table source whose columns are the features; {h.source} is not one (use --features)"
            )
        missing = [c for c in names if c not in have]
        if missing:
            raise RepairError(f"{h.source} has no column {missing[0]!r}; it has: {', '.join(have)}")
        return [have.index(c) for c in names]
    assert features is not None
    text = features if isinstance(features, str) else ",".join(map(str, features))
    items = option(parse_selection, "--features", read_selection(text, "--features"))
    try:
        return resolve_selection(items, width)
    except UsageError as exc:
        raise RepairError(
            f"--features: {exc}: {h.source} has {width} features (0–{width - 1})"
        ) from None


def select(data: Any, *, features: str | Sequence[int] | None = None,
           columns: str | Sequence[str] | None = None, first: int | None = None) -> np.ndarray:  # fmt: skip
    """Keep some features (last axis) in memory; refused exactly as :func:`select_file` refuses
    (``columns`` needs a table source, so an array in memory is refused with that reason)."""
    h = memory_handle(data)
    keep = validate(h, features, columns, first)
    return dense(h.read())[..., keep]


def select_file(src: Any, out: str, *, features: str | Sequence[int] | None = None,
                columns: str | Sequence[str] | None = None, first: int | None = None, force: bool = False,
                chunk_bytes: int = DEFAULT_CHUNK_BYTES, **source_options: Any) -> RepairResult:  # fmt: skip
    """Keep some features of ``src`` into ``out`` (streamed)."""
    h = source_handle(src, **source_options)
    keep = validate(h, features, columns, first)
    shape = (*(int(d) for d in h.shape[:-1] if d is not None), len(keep))
    blocks = ({"data": dense(c)[..., keep]} for c in h.chunks(chunk_bytes))
    outputs = write_blocks(out, {"data": (shape, h.dtype)}, blocks, main="data", force=force, inputs=input_paths(h),
                           prov=provenance("select", h.source, {"features": keep}), chunk_bytes=chunk_bytes)  # fmt: skip
    return result("select", h, outputs, shape, h.dtype, features=keep)
