"""safetensors files as data: each tensor is an array (``w.safetensors:embeddings``).

The format is an 8-byte little-endian header length, that many bytes of JSON naming each
tensor's ``dtype``, ``shape`` and ``data_offsets`` (relative to the end of the header), then the
tensors' bytes, C-ordered and little-endian. The header is parsed here without the safetensors
library and believed only once checked against the file (:func:`read_header`,
:func:`check_tensors`): a length longer than the file or than :data:`HEADER_MAX_BYTES`, JSON that
is not an object of tensors, a dtype and shape whose bytes differ from the offsets, offsets past
the end of the file (a "1 TB tensor"), overlapping tensors — each refused before any tensor byte
is read. The same parser gives ``--model``'s facts (:mod:`dsdoctor.models.safetensors`).

Data is read as a ``.npy`` body is (:class:`~.npy.NpyArray`): rows into one reused buffer, a read
at a time, never a growing map. ``BF16`` tensors are widened to float32 as they are read (exact:
bfloat16 is the top half of a float32); the 8-, 6- and 4-bit float types have no numpy type and
are listed, not read.
"""

from __future__ import annotations

import itertools
import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SourceError, UnsafeInputError
from ..locations import Location, open_binary
from ..units import format_bytes
from .base import DEFAULT_CHUNK_BYTES, ArrayHandle, Chunk, FillRows, Source, check_shape
from .npy import NpyArray

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


@dataclass(frozen=True)
class Tensor:
    """One tensor of a checked header: ``begin``/``end`` are byte offsets into the data section."""

    name: str
    dtype: str  # safetensors' name: "F32", "BF16", …
    shape: tuple[int, ...]
    begin: int
    end: int

    @property
    def numpy_name(self) -> str | None:
        """numpy's name of the dtype (``"bfloat16"`` too), None for one numpy does not know."""
        return DTYPES.get(self.dtype, (0, None))[1]


def read_header(path: Path | Location, display: str | None = None) -> tuple[dict, int]:
    """The header of ``path`` as a dict and the size of its data section, refusing a header
    that is larger than the file or than :data:`HEADER_MAX_BYTES`, or is not a JSON object.
    ``display`` names the file in messages (the path by default). At a URL the object's size
    comes first (one request), then its first bytes: 8 bytes and the header, in one read-ahead
    block when the header is under :data:`~dsdoctor.locations.BLOCK_BYTES`, so the length is
    checked against the object before the header — let alone a tensor — is fetched."""
    where = display or str(path)
    try:
        size = path.stat().st_size
        with open_binary(path) as f:
            head = f.read(8)
            if head == b"version ":
                raise SourceError(f"{where}: a Git LFS pointer, not the model's weights; fetch "
                                  "them (git lfs pull) and check again")  # fmt: skip
            if len(head) < 8:
                raise SourceError(f"{where}: {size} bytes, too short for a safetensors file "
                                  "(8-byte header length, then the header)")  # fmt: skip
            (n,) = struct.unpack("<Q", head)
            if n > size - 8:
                raise UnsafeInputError(
                    f"{where}: the header claims {format_bytes(n)} but the file holds "
                    f"{format_bytes(size - 8)} after its length: not a safetensors file, or a "
                    "truncated or hostile one; nothing read"
                )
            if n > HEADER_MAX_BYTES:
                raise UnsafeInputError(
                    f"{where}: a safetensors header of {format_bytes(n)}; dsdoctor reads headers "
                    f"up to {format_bytes(HEADER_MAX_BYTES)} (the safetensors library's own "
                    "limit); nothing read"
                )
            raw = f.read(n)
    except OSError as e:
        raise SourceError(f"{where}: cannot read ({e.strerror or e})") from None
    try:
        header = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise SourceError(f"{where}: the safetensors header is not UTF-8 (byte {e.start}): not a "
                          "safetensors file, or a damaged one") from None  # fmt: skip
    except (ValueError, RecursionError) as e:
        raise SourceError(f"{where}: the safetensors header is not JSON ({str(e)[:100]}): not a "
                          "safetensors file, or a damaged one") from None  # fmt: skip
    if not isinstance(header, dict):
        raise SourceError(f"{where}: the safetensors header is a JSON {type(header).__name__}, "
                          "not an object of tensors")  # fmt: skip
    return header, size - 8 - n


def check_tensors(where: str, header: dict, data_size: int) -> tuple[list[Tensor], list[str]]:
    """The tensors of ``header``, each checked against the data section: the dtype's bytes ×
    shape equal the offsets' span, which lies within the file and overlaps no other. Raises on
    the first inconsistency; notes what could not be checked. ``where`` names the file."""
    tensors: list[Tensor] = []
    notes: list[str] = []
    unknown: set[str] = set()
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(info, dict):
            raise SourceError(f"{where}: tensor `{name}` in the header is not an object")
        dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if not (isinstance(shape, list)
                and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)):  # fmt: skip
            raise SourceError(f"{where}: tensor `{name}` has shape {shape!r}, not a list of sizes")
        if not (isinstance(offsets, list) and len(offsets) == 2
                and all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
                and 0 <= offsets[0] <= offsets[1]):  # fmt: skip
            raise SourceError(f"{where}: tensor `{name}` has data_offsets {offsets!r}, "
                              "not [begin, end]")  # fmt: skip
        begin, end = offsets
        count = elements(shape)
        bits, _ = DTYPES.get(dtype, (0, None)) if isinstance(dtype, str) else (0, None)
        if bits:
            claimed = (count * bits + 7) // 8
            if end > data_size or claimed > data_size:
                biggest = max(end - begin, claimed)
                raise UnsafeInputError(
                    f"{where}: tensor `{name}` claims {format_bytes(biggest)} "
                    f"({dtype} {tuple(shape)}, data_offsets [{begin}, {end}]) but the file "
                    f"holds {format_bytes(data_size)} of tensor data: a truncated or hostile "
                    "file; nothing read"
                )
            if end - begin != claimed:
                raise SourceError(f"{where}: tensor `{name}` is {dtype} {tuple(shape)}, "
                                  f"{claimed} bytes, but its data_offsets span {end - begin}")  # fmt: skip
        else:
            unknown.add(str(dtype))
            if end > data_size:
                raise UnsafeInputError(f"{where}: tensor `{name}` ends at byte {end} of a "
                                       f"{data_size}-byte data section; nothing read")  # fmt: skip
        tensors.append(Tensor(str(name), str(dtype), tuple(shape), begin, end))
    spans = sorted((t.begin, t.end, t.name) for t in tensors)
    for (_, a_end, a), (b_begin, _, b) in itertools.pairwise(spans):
        if b_begin < a_end:
            raise SourceError(f"{where}: tensors `{a}` and `{b}` overlap in the data section")
    if unknown:
        notes.append("dtypes dsdoctor does not know (" + ", ".join(sorted(unknown))
                     + "): their sizes were checked against the file only")  # fmt: skip
    return tensors, notes


class SafetensorsArray(NpyArray):
    """One tensor: a C-ordered, little-endian block of the file, read like a ``.npy`` body."""

    #: the stored type when it is widened as it is read (``BF16`` → float32), else None
    widened_from: np.dtype | None = None

    def _read_provenance(self) -> dict[str, Any] | None:
        return None  # dsdoctor writes no safetensors

    def _chunks(self, chunk_bytes: int) -> Iterator[np.ndarray]:
        if self.widened_from is None:
            yield from super()._chunks(chunk_bytes)
            return
        stored = _Stored(self)  # the same rows, read as their 16-bit halves
        for block in stored._chunks(chunk_bytes):
            wide = np.empty(block.shape, dtype=np.uint32)
            np.left_shift(block, 16, out=wide, dtype=np.uint32)
            yield wide.view(np.float32)

    def runs(self, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Iterator[Chunk | FillRows]:
        if self.widened_from is not None:
            yield from self.chunks(chunk_bytes)  # a hole read as zeros is widened by a read
            return
        yield from super().runs(chunk_bytes)


class _Stored(NpyArray):
    """A widened tensor's rows as stored (uint16 for BF16), for :class:`SafetensorsArray`."""

    def __init__(self, of: SafetensorsArray):
        assert of.widened_from is not None
        super().__init__(name=of.name, source=of.source, path=of.path, format=of.format,
                         shape=of.shape, dtype=of.widened_from)  # fmt: skip
        self.offset = of.offset


class SafetensorsSource(Source):
    """A ``.safetensors`` file: its tensors, by name, in the order of the data section."""

    format = "safetensors"

    def __init__(self, path: Path, display: str):
        super().__init__(path, display)
        header, data_size = read_header(path, display)
        tensors, self.notes = check_tensors(display, header, data_size)
        start = path.stat().st_size - data_size  # 8 + the header's length
        meta = header.get("__metadata__")
        self.metadata = meta if isinstance(meta, dict) else {}
        self._arrays = [self._handle(t, start) for t in sorted(tensors, key=lambda t: t.begin)]

    def _handle(self, t: Tensor, start: int) -> ArrayHandle:
        display = f"{self.display}:{t.name}"
        np_name = t.numpy_name
        stored = np.dtype("<u2") if np_name == "bfloat16" else None
        dtype = (
            np.dtype(np.float32)
            if stored is not None
            else np.dtype(np_name or "u1").newbyteorder("<")
        )
        handle = SafetensorsArray(name=t.name, source=display, path=self.path,
                                  format="safetensors", shape=t.shape, dtype=dtype,
                                  disk_bytes=t.end - t.begin)  # fmt: skip
        handle.offset, handle.widened_from = start + t.begin, stored
        handle.layout = {"dtype": t.dtype, "data_offsets": [t.begin, t.end]}
        if np_name is None:
            handle.skip = (f"dtype {t.dtype} has no numpy type; dsdoctor checks numeric arrays "
                           "(convert it to F16/F32 to check it)")  # fmt: skip
            return handle
        check_shape(t.shape, dtype, display)
        if stored is not None:
            handle.layout["read_as"] = "float32 (BF16 widened exactly)"
        return handle

    def arrays(self) -> list[ArrayHandle]:
        return list(self._arrays)

    def reading(self) -> str:
        if not self.metadata:
            return ""
        items = [f"{k}={str(v)[:80]}" for k, v in list(self.metadata.items())[:10]]
        return "__metadata__: " + ", ".join(items)
