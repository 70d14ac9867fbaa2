"""safetensors: the 8-byte little-endian header length, then that many bytes of JSON naming each
tensor's dtype, shape and ``data_offsets`` — parsed here, no tensor data read, no library
needed. The header is checked against the file before it is believed: a length longer than
the file or than :data:`HEADER_MAX_BYTES`, JSON that is not an object of tensors, a dtype and
shape whose bytes differ from the offsets, offsets past the end of the file (a "1 TB tensor"),
overlapping tensors. The facts come from a sibling ``config.json`` or the weight names
(:mod:`.weights`); ``__metadata__`` is kept in the notes.
"""

from __future__ import annotations

import itertools
import json
import re
import struct
from pathlib import Path

from ..errors import SourceError, UnsafeInputError
from ..units import format_bytes
from .base import ModelFacts
from .weights import Weight, facts_from_weights

#: The safetensors library refuses headers over 100 MB (``MAX_HEADER_SIZE``); so does dsdoctor.
#: A 405-billion-parameter shard's header is well under 1 MB.
HEADER_MAX_BYTES = 100_000_000

#: bits per element, safetensors' dtype names → numpy's names (None: numpy has no such dtype)
DTYPES: dict[str, tuple[int, str | None]] = {
    "BOOL": (8, "bool"), "U8": (8, "uint8"), "I8": (8, "int8"), "U16": (16, "uint16"),
    "I16": (16, "int16"), "F16": (16, "float16"), "BF16": (16, "bfloat16"),
    "U32": (32, "uint32"), "I32": (32, "int32"), "F32": (32, "float32"),
    "U64": (64, "uint64"), "I64": (64, "int64"), "F64": (64, "float64"),
    "C64": (64, "complex64"), "F8_E4M3": (8, None), "F8_E5M2": (8, None),
    "F8_E8M0": (8, None), "F6_E2M3": (6, None), "F6_E3M2": (6, None), "F4": (4, None),
}  # fmt: skip

SHARD = re.compile(r"-(\d+)-of-(\d+)\.safetensors$")


#: Element counts stop growing here: far past any file, and small enough that a hostile shape
#: of 100,000 huge sizes never multiplies into a million-digit integer.
MAX_ELEMENTS = 2**80


def elements(shape: list[int]) -> int:
    """The product of ``shape``, exact up to :data:`MAX_ELEMENTS` (then at least that)."""
    if 0 in shape:
        return 0
    n = 1
    for d in shape:
        n *= d
        if n >= MAX_ELEMENTS:
            return MAX_ELEMENTS
    return n


def read_header(path: Path) -> tuple[dict, int]:
    """The header of ``path`` as a dict and the size of its data section, refusing a header
    that is larger than the file or than :data:`HEADER_MAX_BYTES`, or is not a JSON object."""
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(8)
            if head == b"version ":
                raise SourceError(f"{path}: a Git LFS pointer, not the model's weights; fetch "
                                  "them (git lfs pull) and check again")  # fmt: skip
            if len(head) < 8:
                raise SourceError(f"{path}: {size} bytes, too short for a safetensors file "
                                  "(8-byte header length, then the header)")  # fmt: skip
            (n,) = struct.unpack("<Q", head)
            if n > size - 8:
                raise UnsafeInputError(
                    f"{path}: the header claims {format_bytes(n)} but the file holds "
                    f"{format_bytes(size - 8)} after its length: not a safetensors file, or a "
                    "truncated or hostile one; nothing read"
                )
            if n > HEADER_MAX_BYTES:
                raise UnsafeInputError(
                    f"{path}: a safetensors header of {format_bytes(n)}; dsdoctor reads headers "
                    f"up to {format_bytes(HEADER_MAX_BYTES)} (the safetensors library's own "
                    "limit); nothing read"
                )
            raw = f.read(n)
    except OSError as e:
        raise SourceError(f"{path}: cannot read ({e.strerror or e})") from None
    try:
        header = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise SourceError(f"{path}: the safetensors header is not UTF-8 (byte {e.start}): not a "
                          "safetensors file, or a damaged one") from None  # fmt: skip
    except (ValueError, RecursionError) as e:
        raise SourceError(f"{path}: the safetensors header is not JSON ({str(e)[:100]}): not a "
                          "safetensors file, or a damaged one") from None  # fmt: skip
    if not isinstance(header, dict):
        raise SourceError(f"{path}: the safetensors header is a JSON {type(header).__name__}, "
                          "not an object of tensors")  # fmt: skip
    return header, size - 8 - n


def check_tensors(path: Path, header: dict, data_size: int) -> tuple[list[Weight], list[str]]:
    """The tensors of ``header`` with their shapes, each checked against the data section: the
    dtype's bytes × shape equal the offsets' span, which lies within the file and overlaps no
    other. Raises on the first inconsistency; notes what could not be checked."""
    weights: list[Weight] = []
    spans: list[tuple[int, int, str]] = []
    notes: list[str] = []
    unknown: set[str] = set()
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(info, dict):
            raise SourceError(f"{path}: tensor `{name}` in the header is not an object")
        dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if not (isinstance(shape, list)
                and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)):  # fmt: skip
            raise SourceError(f"{path}: tensor `{name}` has shape {shape!r}, not a list of sizes")
        if not (isinstance(offsets, list) and len(offsets) == 2
                and all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
                and 0 <= offsets[0] <= offsets[1]):  # fmt: skip
            raise SourceError(f"{path}: tensor `{name}` has data_offsets {offsets!r}, "
                              "not [begin, end]")  # fmt: skip
        begin, end = offsets
        count = elements(shape)
        bits, np_name = DTYPES.get(dtype, (0, None)) if isinstance(dtype, str) else (0, None)
        if bits:
            claimed = (count * bits + 7) // 8
            if end > data_size or claimed > data_size:
                biggest = max(end - begin, claimed)
                raise UnsafeInputError(
                    f"{path}: tensor `{name}` claims {format_bytes(biggest)} "
                    f"({dtype} {tuple(shape)}, data_offsets [{begin}, {end}]) but the file "
                    f"holds {format_bytes(data_size)} of tensor data: a truncated or hostile "
                    "file; nothing read"
                )
            if end - begin != claimed:
                raise SourceError(f"{path}: tensor `{name}` is {dtype} {tuple(shape)}, "
                                  f"{claimed} bytes, but its data_offsets span {end - begin}")  # fmt: skip
        else:
            unknown.add(str(dtype))
            if end > data_size:
                raise UnsafeInputError(f"{path}: tensor `{name}` ends at byte {end} of a "
                                       f"{data_size}-byte data section; nothing read")  # fmt: skip
        spans.append((begin, end, name))
        weights.append(Weight(name, tuple(shape), np_name or (str(dtype) if bits else None)))
    spans.sort()
    for (_, a_end, a), (b_begin, _, b) in itertools.pairwise(spans):
        if b_begin < a_end:
            raise SourceError(f"{path}: tensors `{a}` and `{b}` overlap in the data section")
    if unknown:
        notes.append("dtypes dsdoctor does not know (" + ", ".join(sorted(unknown))
                     + "): their sizes were checked against the file only")  # fmt: skip
    return weights, notes


def read_safetensors(path: Path) -> ModelFacts:
    """The facts of a ``.safetensors`` file (see the module's docstring)."""
    header, data_size = read_header(path)
    weights, notes = check_tensors(path, header, data_size)
    meta = header.get("__metadata__")
    if isinstance(meta, dict) and meta:
        items = [f"{k}={str(v)[:80]}" for k, v in list(meta.items())[:10]]
        more = f" and {len(meta) - 10} more" if len(meta) > 10 else ""
        notes.insert(0, "__metadata__: " + ", ".join(items) + more)
    shard = SHARD.search(path.name)
    if shard:
        notes.append(f"one shard ({int(shard[1])} of {int(shard[2])}): the weights of the other "
                     "shards were not read")  # fmt: skip
    if not weights:
        notes.append("the file holds no tensors")
    return facts_from_weights(path, "safetensors", weights, ordered=False, notes=notes)
