"""The repair table: every repair's name → its in-memory entry and its file entry.

The CLI's repair commands dispatch through it (``REPAIRS[name].file``), ``repair`` applies a
fix's action through it (``REPAIRS[action["op"]].file``), and the Python API's ``dsdoctor.pad``,
``dsdoctor.pad_file``, … are its entries. Adding a repair: one module beside this one (an
in-memory entry and a file entry over one ``validate``, see :mod:`dsdoctor.repairs.base`), one
row here, and its CLI command's options in ``cli/repairs.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import (
    bucket,
    dropna,
    encode,
    impute,
    mask,
    pad,
    replicate,
    reshape,
    select,
    shift,
    window,
)
from .result import RepairResult


@dataclass(frozen=True)
class Repair:
    name: str
    #: ``memory(data, **options)``: the repaired arrays (the Python API).
    memory: Callable[..., Any]
    #: ``file(src, out, *, force, chunk_bytes, **options, **source_options)``: streamed to ``out``.
    file: Callable[..., RepairResult]

    def __post_init__(self) -> None:
        object.__setattr__(self, "file", _with_storage(self.file))


def _with_storage(file: Callable[..., RepairResult]) -> Callable[..., RepairResult]:
    """``file`` reading and writing URLs (``src``, ``-o``) with its ``storage_options=``."""
    from functools import wraps

    from ..locations import storage_options

    @wraps(file)
    def entry(*args: Any, **kwargs: Any) -> RepairResult:
        with storage_options(kwargs.get("storage_options")):
            return file(*args, **kwargs)

    return entry


REPAIRS: dict[str, Repair] = {
    r.name: r
    for r in (
        Repair("pad", pad.pad, pad.pad_file),
        Repair("mask", mask.mask, mask.mask_file),
        Repair("replicate", replicate.replicate, replicate.replicate_file),
        Repair("reshape", reshape.reshape, reshape.reshape_file),
        Repair("select", select.select, select.select_file),
        Repair("bucket", bucket.bucket, bucket.bucket_file),
        Repair("dropna", dropna.dropna, dropna.dropna_file),
        Repair("impute", impute.impute, impute.impute_file),
        Repair("encode", encode.encode, encode.encode_file),
        Repair("shift", shift.shift, shift.shift_file),
        Repair("window", window.window, window.window_file),
    )
}

#: The result types the API exports beside the entries.
RESULT_TYPES: dict[str, type] = {"Padded": pad.Padded, "Bucket": bucket.Bucket,
                                 "Encoded": encode.Encoded, "Shifted": shift.Shifted,
                                 "Windows": window.Windows,
                                 "WindowSplit": window.WindowSplit}  # fmt: skip


def api_entry(name: str) -> Any:
    """What ``dsdoctor.<name>`` is for a repair: ``pad`` → the in-memory entry, ``pad_file`` →
    the file entry, ``Padded``/``Bucket`` → a result type; None for any other name."""
    if name in RESULT_TYPES:
        return RESULT_TYPES[name]
    if name in REPAIRS:
        return REPAIRS[name].memory
    if name.endswith("_file") and name.removesuffix("_file") in REPAIRS:
        return REPAIRS[name.removesuffix("_file")].file
    return None


def api_names() -> list[str]:
    """Every name :func:`api_entry` answers."""
    return [*RESULT_TYPES, *REPAIRS, *(f"{name}_file" for name in REPAIRS)]
