"""``.npy`` files: the header is parsed without unpickling, sizes are checked against the file,
and data is read in chunks into a reused buffer (not a growing memory map)."""

from __future__ import annotations

import io
import os
import tokenize
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from ..errors import SourceError
from ..locations import Location, open_binary
from .base import (
    DEFAULT_CHUNK_BYTES,
    ArrayHandle,
    Chunk,
    FillRows,
    Source,
    check_shape,
    is_text,
    sparse_rows,
)
from .provenance import npy_record

MAX_HEADER_BYTES = 100_000
#: Fortran-ordered arrays with more trailing positions than this are read through a memory map.
FORTRAN_MAX_RUNS = 4096
#: Runs copied from that memory map between two releases of its pages.
FORTRAN_MAP_GROUP = 64


def read_header(fp, display: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """Read magic and header from ``fp`` (positioned at the start); safe for hostile input."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Python 2 headers parse fine
        return _read_header(fp, display)


def _read_header(fp, display: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(fp, max_header_size=MAX_HEADER_BYTES)
        elif version == (2, 0):
            shape, fortran, dtype = fmt.read_array_header_2_0(fp, max_header_size=MAX_HEADER_BYTES)
        elif version == (3, 0):  # a UTF-8 header; same layout as 2.0
            read_header_any = _numpy_header_reader()
            shape, fortran, dtype = read_header_any(fp, version, max_header_size=MAX_HEADER_BYTES)
        else:
            raise ValueError(f"unsupported .npy format version {version[0]}.{version[1]}")
    except (ValueError, TypeError, SyntaxError, OverflowError, UnicodeDecodeError, EOFError,
            tokenize.TokenError, RecursionError, MemoryError) as exc:  # fmt: skip
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SourceError(f"{display} is not a valid .npy file ({msg})") from None
    if any(d < 0 for d in shape):
        raise SourceError(f"{display} declares a negative shape {shape}")
    return tuple(int(d) for d in shape), bool(fortran), dtype


def _numpy_header_reader():
    """NumPy's own safe header parser for every format version, ``_read_array_header(fp,
    version, max_header_size=…)``.

    Private on purpose: NumPy has no public reader for format 3.0 (``numpy.lib.format`` exports
    ``read_array_header_1_0`` and ``read_array_header_2_0`` only), and 3.0 differs from 2.0 only
    in decoding the header as UTF-8 rather than latin-1, which ``read_array_header_2_0`` would get
    wrong for a non-ASCII field name. Re-implementing the parser would mean re-doing its
    ``literal_eval`` safety checks. NumPy ≥ 2.0 keeps the function in ``numpy.lib._format_impl``
    (``numpy.lib.format`` became a public alias without it); NumPy 1.26, which pyproject still
    allows, has it in ``numpy.lib.format``."""
    from importlib import import_module

    try:
        return import_module("numpy.lib._format_impl")._read_array_header
    except ImportError:
        return np.lib.format._read_array_header  # type: ignore[attr-defined]  # NumPy < 2.0


def declared_bytes(shape: tuple[int, ...], dtype: np.dtype) -> int:
    n = 1
    for d in shape:
        n *= d
    return n * dtype.itemsize


def check_bool(block: np.ndarray, display: str) -> np.ndarray:
    """A bool array stores one byte per element, 0 or 1; any other byte means a corrupt file
    (numpy would read it as a bool that is neither True nor False in comparisons)."""
    if block.dtype.kind == "b" and block.size:
        raw = block.view(np.uint8) if block.flags.c_contiguous else block.astype(np.uint8)
        bad = int(np.count_nonzero(raw > 1))
        if bad:
            raise SourceError(
                f"{display} is corrupt: its bool data holds {bad:,} byte(s) other than 0 and 1; "
                "re-save the array from its source"
            )
    return block


def unsafe_message(display: str, dtype: np.dtype) -> str:
    return (
        f"{display} is an object array ({dtype}); loading it would unpickle Python objects, "
        "which can run code. Re-save it as a numeric array, or pass --allow-pickle if you trust it"
    )


def fortran_rows(fp, offset: int, shape: tuple[int, ...], dtype: np.dtype, rows: int,
                 display: str, *, what: str = "file") -> Iterator[np.ndarray]:  # fmt: skip
    """Blocks of ``rows`` rows of a Fortran-ordered array whose data starts at ``offset`` in the
    open binary file ``fp`` (a ``.npy`` file, the archive of a stored ``.npz`` member, the spill
    of a compressed one), in memory bounded by the block, not the array.

    Each of the P trailing positions is a contiguous run of N values on disk, so a block of rows
    is P reads into a reused buffer (no mapping whose pages would count against memory). Very
    wide arrays (P > FORTRAN_MAX_RUNS) fall back to a memory map whose pages are released after
    every block. ``what`` names the container in the truncation message."""
    n, rest = shape[0], shape[1:]
    p = int(np.prod(rest, dtype=np.int64))
    if n == 0:
        return
    try:
        if p > FORTRAN_MAX_RUNS:
            yield from _fortran_mapped(fp, offset, shape, dtype, rows, display, what)
            return
        item = dtype.itemsize
        buf = np.empty((p, min(rows, n)), dtype=dtype)
        for start in range(0, n, rows):
            count = min(rows, n - start)
            block = buf[:, :count]
            for j in range(p):  # one read per trailing position, not per sample
                fp.seek(offset + (j * n + start) * item)
                if fp.readinto(memoryview(block[j]).cast("B")) != count * item:  # C-contiguous
                    raise SourceError(f"{display} ended early: the {what} is truncated")
            yield check_bool(block.T.reshape((count, *rest), order="F"), display)
    except OSError as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SourceError(f"{display} cannot be read ({msg})") from None


def _fortran_mapped(fp, offset: int, shape: tuple[int, ...], dtype: np.dtype, rows: int,
                    display: str, what: str) -> Iterator[np.ndarray]:  # fmt: skip
    """The same blocks through a memory map, copied FORTRAN_MAP_GROUP runs at a time. Touching
    one value of a run maps the pages around it too (the kernel's fault-around, 64 KiB and
    more), so a block copied in one go would map a window per run: P × 64 KiB, the whole file
    for wide arrays. Pages are dropped after every group instead."""
    import mmap

    n, rest = shape[0], shape[1:]
    p = int(np.prod(rest, dtype=np.int64))
    try:  # trailing position j is column j of an (N, P) Fortran-ordered matrix
        mm = np.memmap(fp, dtype=dtype, mode="r", offset=offset, shape=(n, p), order="F")
    except ValueError as exc:  # the map would reach past the end of the file
        raise SourceError(f"{display} ended early: the {what} is truncated ({exc})") from None
    raw = getattr(mm, "_mmap", None)
    drop = raw if hasattr(mmap, "MADV_DONTNEED") else None  # the map, where pages can be dropped
    buf, g = np.empty((p, min(rows, n)), dtype=dtype), FORTRAN_MAP_GROUP
    try:
        for start in range(0, n, rows):
            count = min(rows, n - start)
            block = buf[:, :count]
            for j in range(0, p, g):
                block[j : j + g] = mm[start : start + count, j : j + g].T
                if drop is not None:  # clean file pages: drop them (they are re-read if needed)
                    drop.madvise(mmap.MADV_DONTNEED)
            yield check_bool(block.T.reshape((count, *rest), order="F"), display)
    finally:
        del mm, raw, drop


class NpyArray(ArrayHandle):
    """A dense array stored in a ``.npy`` file (or a stream spooled to a temporary file)."""

    offset: int = 0
    fortran: bool = False

    def _read_provenance(self) -> dict[str, Any] | None:
        return npy_record(self.path)

    def _chunks(self, chunk_bytes: int) -> Iterator[np.ndarray]:
        if not self.shape:
            yield check_bool(self._read_block(0, 1).reshape(()), self.source)
            return
        if self.fortran and self.ndim > 1:
            yield from self._fortran_chunks(self.rows_per_chunk(chunk_bytes))
            return
        yield from self._rows(chunk_bytes, 0, self.dense_shape[0])

    def runs(self, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Iterator[Chunk | FillRows]:
        """As :meth:`chunks`, with runs of rows in holes of a sparse file as :class:`FillRows`
        of zeros (read, they are zeros): a 16 TiB file with nothing on disk scans at once."""
        from ..interrupts import check

        if (not self.shape or (self.fortran and self.ndim > 1) or isinstance(self.path, Location)
                or 0 in self.shape or self.row_bytes == 0):  # fmt: skip
            yield from self.chunks(chunk_bytes)
            return
        self.require_readable()
        runs = sparse_rows(self.path, self.offset, self.dense_shape[0], self.row_bytes,
                           self.rows_per_read(chunk_bytes))  # fmt: skip
        zero = None
        for lo, hi, stored in runs:
            if stored:
                for chunk in self._rows(chunk_bytes, lo, hi):
                    check()
                    yield chunk
            else:
                zero = (
                    np.zeros((1, *self.dense_shape[1:]), dtype=self.dtype) if zero is None else zero
                )
                yield FillRows(zero, hi - lo, unwritten=False)
        check()

    def _rows(self, chunk_bytes: int, lo: int, hi: int) -> Iterator[np.ndarray]:
        """Rows ``lo..hi`` of a C-ordered array, a read at a time into one reused buffer."""
        n, rows = hi - lo, self.rows_per_read(chunk_bytes)
        per_row = int(np.prod(self.dense_shape[1:], dtype=np.int64))
        buf = np.empty(min(rows, n) * per_row, dtype=self.dtype)
        with open_binary(self.path) as fp:
            fp.seek(self.offset + lo * self.row_bytes)
            for start in range(0, n, rows):
                count = min(rows, n - start)
                view = buf[: count * per_row]
                got = fp.readinto(view.data.cast("B"))
                if got != view.nbytes:
                    raise SourceError(f"{self.source} ended early: the file is truncated")
                yield check_bool(view.reshape((count, *self.dense_shape[1:])), self.source)

    def _fortran_chunks(self, rows: int) -> Iterator[np.ndarray]:
        with open_binary(self.path) as fp:
            yield from fortran_rows(fp, self.offset, self.dense_shape, self.dtype, rows,
                                    self.source)  # fmt: skip

    def _read_block(self, start: int, count: int) -> np.ndarray:
        with open_binary(self.path) as fp:
            fp.seek(self.offset + start * self.dtype.itemsize)
            data = fp.read(count * self.dtype.itemsize)
            return np.frombuffer(data, dtype=self.dtype, count=len(data) // self.dtype.itemsize)


def open_npy(path: Path, display: str, *, allow_pickle: bool = False) -> ArrayHandle:
    size = path.stat().st_size
    with open_binary(path) as fp:
        shape, fortran, dtype = read_header(fp, display)
        offset = fp.tell()
    if dtype.hasobject and allow_pickle:  # the user trusts the file: sequences, numbers or text
        from .objects import open_unpickled, unpickle

        def load() -> np.ndarray:
            with open_binary(path) as fp:
                return unpickle(fp)

        return open_unpickled(load, name="", display=display, path=path, format="npy",
                              shape=shape, disk_bytes=size,
                              layout={"order": "F" if fortran else "C", "header_bytes": offset})  # fmt: skip
    handle = NpyArray(name="", source=display, path=path, format="npy", shape=shape,
                      dtype=dtype, disk_bytes=size)  # fmt: skip
    handle.offset, handle.fortran = offset, fortran
    handle.layout = {"order": "F" if fortran else "C", "header_bytes": offset}
    if dtype.hasobject:  # never unpickled without --allow-pickle
        handle.pickled, handle.unsafe = True, unsafe_message(display, dtype)
        return handle
    need = declared_bytes(shape, dtype)
    have = size - offset
    if need > have:
        raise SourceError(
            f"{display} is truncated: its header declares shape {shape} {dtype} "
            f"({need:,} bytes) but only {have:,} bytes of data follow"
        )
    check_shape(shape, dtype, display)  # a zero axis hides the others from that size
    if is_text(dtype, shape):
        handle.categorical = True  # class labels as text
    elif not is_checkable(dtype):
        handle.skip = f"dtype {dtype} is not numeric; dsdoctor checks numeric arrays"
    return handle


def is_checkable(dtype: np.dtype) -> bool:
    from .base import is_numeric

    return is_numeric(dtype)


class NpySource(Source):
    format = "npy"

    def __init__(self, path: Path, display: str, *, allow_pickle: bool = False):
        super().__init__(path, display)
        from .compressed import compression_of

        kind = compression_of(path.name)
        if kind is not None:  # x.npy.gz: streamed (sources/compressed.py)
            from .compressed import open_compressed_npy

            self._array = open_compressed_npy(path, display, kind, allow_pickle=allow_pickle)
        else:
            self._array = open_npy(path, display, allow_pickle=allow_pickle)

    def arrays(self) -> list[ArrayHandle]:
        return [self._array]

    def array(self, selector: str | None) -> ArrayHandle:
        if selector:
            raise SourceError(
                f"{self.display} is a .npy file holding one array; drop the selector :{selector}"
            )
        return self._array


#: How standard input is named in messages.
STDIN = "<stdin>"


def spool_npy(fd: int | BinaryIO, display: str) -> Path:
    """Copy a ``.npy`` stream (standard input, a pipe, a device) read from ``fd`` to a temporary
    file in ``$TMPDIR`` and return its path: the header, then exactly the data bytes the header
    declares, so a stream that never ends (``/dev/zero``) costs one header's worth of reading,
    not the disk.

    The header is read and checked first: a stream that is not ``.npy`` is refused before
    anything is written, and the declared size is reserved up front (a full ``$TMPDIR`` is a
    clean error, not a half-written spool); a stream that ends early is a truncated file. The
    spool is registered for removal before it is created
    (:func:`~dsdoctor.interrupts.remove_at_exit`) and every wait for the producer checks for a
    signal: however the run ends, short of SIGKILL, the spool goes.
    """
    import secrets
    import tempfile

    from .. import interrupts
    from ..diskspace import preallocate, reason

    read = _reader(fd)
    head = _read_exactly(read, 10)  # magic, version, and a 1.0 header's 2-byte length
    if not head.startswith(b"\x93NUMPY"):
        raise SourceError(
            f"{display} is not a valid .npy file (not a .npy stream: it starts with {head[:8]!r}); "
            "only .npy can be read from a stream: save other formats to a file first"
        )
    if head[6:7] != b"\x01":  # versions 2 and 3: a 4-byte header length
        head += _read_exactly(read, 2)
    length = int.from_bytes(head[8:], "little")
    if length > MAX_HEADER_BYTES:
        raise SourceError(f"{display} is not a valid .npy file (a header of {length:,} bytes)")
    head += _read_exactly(read, length)
    shape, _, dtype = read_header(io.BytesIO(head), display)  # SourceError unless a whole header
    need = None if dtype.hasobject else declared_bytes(shape, dtype)
    folder = Path(tempfile.gettempdir())
    path = folder / f"dsdoctor-stream-{secrets.token_hex(8)}.npy"
    size = len(head) + (need or 0)
    interrupts.remove_at_exit(path)
    try:
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
            preallocate(out, size)
            out.write(head)
            left = need
            while left is None or left > 0:
                block = read(1 << 20 if left is None else min(left, 1 << 20))
                if not block:
                    break
                out.write(block)
                if left is not None:
                    left -= len(block)
            if left and need is not None:  # the reserved space would read as zeros
                raise SourceError(
                    f"{display} is truncated: its header declares shape {shape} {dtype} "
                    f"({need:,} bytes) but the stream ended after {need - left:,}"
                )
    except OSError as exc:
        interrupts.remove_now(path)
        raise SourceError(
            f"{display} ({size:,} bytes) cannot be copied to {folder}: {reason(exc)}; set TMPDIR "
            "to a folder with room for it, or pass a file instead of a stream"
        ) from None
    except BaseException:
        interrupts.remove_now(path)
        raise
    return path


def spool_stdin(fd: int | None = None) -> Path:
    """Copy a ``.npy`` stream on standard input (or file descriptor ``fd``) to a temporary file
    (see :func:`spool_npy`). A ``sys.stdin`` replaced by an in-memory stream (a notebook, a test
    runner) is read through its ``read``."""
    import sys

    if fd is not None:
        return spool_npy(fd, STDIN)
    stream: Any = getattr(sys.stdin, "buffer", sys.stdin)
    try:
        return spool_npy(stream.fileno(), STDIN)
    except (AttributeError, OSError, io.UnsupportedOperation):
        return spool_npy(stream, STDIN)


def _reader(source: int | BinaryIO) -> Callable[[int], bytes]:
    """``read(n)``: at most ``n`` bytes, ``b""`` at the end. A file descriptor is polled so that
    a signal is noticed while the producer is silent; a stream object is read as it is."""
    from .. import interrupts

    if isinstance(source, int):

        def read_fd(n: int) -> bytes:
            return os.read(source, n) if interrupts.wait_readable(source) else b""

        return read_fd

    def read_stream(n: int) -> bytes:
        interrupts.check()
        return source.read(n) or b""

    return read_stream


def _read_exactly(read: Callable[[int], bytes], n: int) -> bytes:
    """``n`` bytes (fewer only at the end of the stream)."""
    out = bytearray()
    while len(out) < n and (block := read(n - len(out))):
        out += block
    return bytes(out)
