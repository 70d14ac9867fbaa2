"""Compressed single ``.npy`` files (``.npy.gz``, ``.npy.bz2``, ``.npy.xz``, ``.npy.zst``), read
as a stream: decompressed a block at a time, the ``.npy`` header first (parsed as for a plain
file, never unpickling), then whole rows into one reused buffer. Memory is bounded by the chunk,
whatever the array's size; nothing is written to disk. At a URL the object is fetched front to
back in 1 MiB blocks (:data:`~dsdoctor.locations.STREAM_BLOCK_BYTES`), one held at a time.

A compressed stream cannot be seeked, so each pass over the data decompresses the file again
from its start (``check`` makes one pass; a repair may make two). That was chosen over
spooling the decompressed array to a temporary file, as standard input is
(:func:`~dsdoctor.sources.npy.spool_npy`), because a spool costs the array's full size on disk
before the first row is checked, and decompression (gzip: ~300 MB/s) is rarely slower than
writing and reading it back. Consequences, each a clean error rather than a wrong answer:

- a Fortran-ordered array (``np.save`` of a transposed array) stores each column whole, so no
  row is complete before the last column: refused, with the command that decompresses it;
- the array's size is known only from its header: a stream that ends before the bytes the
  header declares is "truncated" when the read reaches the end, and a damaged stream (garbage,
  or a checksum that does not match, which the compressors verify at the end of the stream,
  so every pass reads up to it; a stream going on past the declared data is refused too, as
  its checksum cannot be reached) is named when it is met; a partial scan's findings are never
  reported, since the error ends the command.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, cast

import numpy as np

from ..errors import SourceError
from ..locations import Location, open_binary
from .base import ArrayHandle, check_shape, is_numeric, is_text
from .npy import check_bool, declared_bytes, read_header, unsafe_message

#: The suffix after ``.npy`` → the name of its compression.
COMPRESSION = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz", ".zst": "zstd"}
#: What a damaged stream raises, by library.
STREAM_ERRORS: tuple[type[BaseException], ...] = (OSError, EOFError, zlib.error, lzma.LZMAError,
                                                   ValueError)  # fmt: skip


def compression_of(name: str) -> str | None:
    """``"x.npy.gz"`` → ``"gzip"``; None for a name that is not a compressed ``.npy``."""
    lower = name.lower()
    for suffix, kind in COMPRESSION.items():
        if lower.endswith(".npy" + suffix):
            return kind
    return None


def opener(path: Path | Location, kind: str, cache: str = "stream") -> Callable[[], BinaryIO]:
    """A function opening a fresh decompressed stream of ``path`` (at a URL: the object read
    front to back in blocks of :data:`~dsdoctor.locations.STREAM_BLOCK_BYTES`, the one block
    held, so memory stays bounded whatever the object's size; ``cache="readahead"`` for a
    read of the header only, a small block)."""
    if kind == "zstd":
        try:
            import zstandard
        except ImportError:  # pragma: no cover - zstandard comes with pandas' optional extras
            raise SourceError(
                f"{path} is zstd-compressed, and the zstandard package is not installed "
                "(pip install zstandard), or decompress it first (zstd -d)"
            ) from None

    def decompressed(fp: Any) -> Any:
        if kind == "gzip":
            return gzip.GzipFile(fileobj=fp, mode="rb")
        if kind == "bzip2":
            return bz2.BZ2File(fp, "rb")
        if kind == "xz":
            return lzma.LZMAFile(fp, "rb")
        return zstandard.ZstdDecompressor().stream_reader(fp, closefd=False)

    def open_stream() -> BinaryIO:
        fp = open_binary(path, cache=cache)
        try:
            return cast(BinaryIO, _Closing(decompressed(fp), fp))
        except BaseException:
            fp.close()
            raise

    return open_stream


class _Closing(io.BufferedIOBase):
    """A decompressed stream that closes the file under it too (``GzipFile(fileobj=…)`` does
    not)."""

    def __init__(self, stream: Any, under: Any):
        self._stream, self._under = stream, under

    def readable(self) -> bool:
        return True

    def read(self, n: int | None = -1) -> bytes:
        return self._stream.read(-1 if n is None else n)

    def readinto(self, b: Any) -> int:
        return self._stream.readinto(b)

    def tell(self) -> int:
        return self._stream.tell()

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            self._under.close()
            super().close()


def _damaged(display: str, kind: str, exc: BaseException) -> SourceError:
    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, EOFError):
        return SourceError(f"{display} is truncated: its {kind} stream ends before its end marker "
                           f"({msg}); copy or download it again")  # fmt: skip
    return SourceError(f"{display} cannot be decompressed as {kind} ({msg}): the file is damaged "
                       "or not what its name says")  # fmt: skip


class CompressedNpyArray(ArrayHandle):
    """A C-ordered array in a compressed ``.npy``, read front to back (see the module)."""

    kind: str = "gzip"
    header_bytes: int = 0
    open_stream: Callable[[], BinaryIO]

    def _chunks(self, chunk_bytes: int) -> Iterator[np.ndarray]:
        shape = self.dense_shape
        rows = self.rows_per_read(chunk_bytes) if shape else 1
        n = shape[0] if shape else 1
        per_row = int(np.prod(shape[1:], dtype=np.int64))
        buf = np.empty(min(rows, n) * per_row, dtype=self.dtype)
        done = 0
        try:
            with self.open_stream() as fp:
                _skip(fp, self.header_bytes)
                for start in range(0, n, rows):
                    count = min(rows, n - start)
                    view = buf[: count * per_row]
                    got = _fill(fp, view.data.cast("B"))
                    done += got
                    if got != view.nbytes:
                        raise SourceError(
                            f"{self.source} ended early: the {self.kind} stream holds "
                            f"{done:,} of the {declared_bytes(shape, self.dtype):,} data bytes "
                            "its header declares; the file is truncated"
                        )
                    block = view.reshape((count, *shape[1:])) if shape else view.reshape(())
                    yield check_bool(block, self.source)
                if fp.read(1):  # the end of the stream, where its checksum is verified
                    raise SourceError(
                        f"{self.source} goes on after the {declared_bytes(shape, self.dtype):,} "
                        f"data bytes its header declares: the {self.kind} stream is damaged or "
                        "holds more than one array (np.save writes exactly one)"
                    )
        except STREAM_ERRORS as exc:
            raise _damaged(self.source, self.kind, exc) from None


def _skip(fp: BinaryIO, n: int) -> None:
    """Read past the header (a decompressed stream cannot seek forward cheaply everywhere)."""
    while n > 0:
        part = fp.read(min(n, 1 << 16))
        if not part:
            return
        n -= len(part)


def _fill(fp: BinaryIO, out: memoryview) -> int:
    """Fill ``out`` from ``fp``; the bytes filled (fewer only at the end of the stream)."""
    got, size = 0, len(out)
    readinto = getattr(fp, "readinto", None)
    while got < size:
        if readinto is not None:
            k = readinto(out[got:])
        else:  # pragma: no cover - every stream above has readinto
            part = fp.read(size - got)
            k = len(part)
            out[got : got + k] = part
        if not k:
            break
        got += k
    return got


def open_compressed_npy(
    path: Path, display: str, kind: str, *, allow_pickle: bool = False
) -> ArrayHandle:
    """The handle of the array a compressed ``.npy`` holds, from its header alone."""
    stream = opener(path, kind)
    try:
        with opener(path, kind, "readahead")() as fp:
            shape, fortran, dtype = read_header(fp, display)
            offset = fp.tell()
    except STREAM_ERRORS as exc:
        if not _is_kind(path, kind):
            raise SourceError(f"{display} is not {kind}-compressed, though its name says so "
                              "(rename it to what it is)") from None  # fmt: skip
        raise _damaged(display, kind, exc) from None
    size = path.stat().st_size
    layout: dict[str, Any] = {"order": "F" if fortran else "C", "header_bytes": offset,
                              "compression": kind}  # fmt: skip
    if dtype.hasobject and allow_pickle:
        from .objects import open_unpickled, unpickle

        def load() -> np.ndarray:
            try:
                with stream() as fp:
                    return unpickle(fp)
            except STREAM_ERRORS as exc:
                raise _damaged(display, kind, exc) from None

        return open_unpickled(load, name="", display=display, path=path, format="npy",
                              shape=shape, disk_bytes=size, layout=layout)  # fmt: skip
    handle = CompressedNpyArray(name="", source=display, path=path, format="npy", shape=shape,
                                dtype=dtype, disk_bytes=size, layout=layout)  # fmt: skip
    handle.kind, handle.header_bytes, handle.open_stream = kind, offset, stream
    if dtype.hasobject:  # never unpickled without --allow-pickle
        handle.pickled, handle.unsafe = True, unsafe_message(display, dtype)
        return handle
    check_shape(shape, dtype, display)
    if fortran and len(shape) > 1 and 0 not in shape:
        raise SourceError(
            f"{display} holds a Fortran-ordered array {shape} {dtype}, whose rows are complete "
            f"only at the end of the stream, so it cannot be read row by row from a {kind} "
            f"stream; decompress it first ({_command(kind)} {display})"
        )
    if is_text(dtype, shape):
        handle.categorical = True
    elif not is_numeric(dtype):
        handle.skip = f"dtype {dtype} is not numeric; dsdoctor checks numeric arrays"
    return handle


def _command(kind: str) -> str:
    return {"gzip": "gunzip -k", "bzip2": "bunzip2 -k", "xz": "unxz -k", "zstd": "zstd -d"}[kind]


#: The first bytes of each compression's stream.
_MAGIC = {"gzip": b"\x1f\x8b", "bzip2": b"BZh", "xz": b"\xfd7zXZ\x00", "zstd": b"\x28\xb5\x2f\xfd"}


def _is_kind(path: Path | Location, kind: str) -> bool:
    with open_binary(path) as fp:
        return fp.read(8).startswith(_MAGIC[kind])
