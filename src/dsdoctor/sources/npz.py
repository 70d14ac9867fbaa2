"""``.npz`` archives: members are streamed (compressed ones too) and never unpickled; a member
``NAME`` with ``NAME_lengths`` or ``NAME_offsets`` beside it is one ragged array."""

from __future__ import annotations

import os
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from ..arrays import INT64_MAX, Ragged, offsets_of
from ..diskspace import preallocate, reason
from ..errors import SourceError, UnsafeInputError
from ..locations import Location, open_binary
from .base import ArrayHandle, Entry, Source, check_shape, chunk_of, is_numeric, is_text
from .npy import check_bool, declared_bytes, fortran_rows, read_header, unsafe_message
from .provenance import RECORD_MEMBERS, npz_record, with_role

#: What reading a damaged archive raises: bad headers and CRCs, truncation, corrupt deflate,
#: bzip2 or lzma streams, unsupported compression methods.
ZIP_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, zlib.error, NotImplementedError,
    RuntimeError, IndexError, struct.error, UnicodeDecodeError,  # zipfile slips on damaged directories
)  # fmt: skip
try:
    import lzma

    ZIP_ERRORS += (lzma.LZMAError,)
except ImportError:  # pragma: no cover - Python built without lzma
    pass

#: A member whose data expands more than this many times over its compressed size, and to more
#: than BOMB_MIN_BYTES, is refused as a decompression bomb.
BOMB_RATIO = 1000
BOMB_MIN_BYTES = 1024**3
#: A zip local file header (signature … name length, extra length), before the name.
#: (zipfile's own layout and magic: public names in practice, absent from typeshed's stub)
LOCAL_HEADER = struct.Struct(zipfile.structFileHeader)  # type: ignore[attr-defined]
#: Buffer for copying and checksumming member data.
COPY_BYTES = 1 << 20


class Archive:
    """The archive's ``ZipFile``, opened once and shared by its members: opening it reads the
    central directory, one entry per member, so a member that reopened it would make reading
    every member quadratic (4,000 members: 33 s). A copy sent to another process (pickled)
    reopens the file there, once."""

    def __init__(self, path: Path, zf: zipfile.ZipFile | None = None):
        self.path = path
        self._zf = zf

    def open(self, info: zipfile.ZipInfo):
        if self._zf is None:
            self._zf = _zip(self.path)
        return self._zf.open(info)

    _record: dict[str, Any] | None

    def record(self) -> dict[str, Any] | None:
        """The provenance record the archive holds (its ``provenance`` member), read once."""
        if not hasattr(self, "_record"):
            if self._zf is None:
                self._zf = _zip(self.path)
            zf = self._zf
            self._record = npz_record(zf.open, zf.namelist())
        return self._record

    def close(self) -> None:
        if self._zf is not None:
            self._zf.close()
            self._zf = None

    def __getstate__(self) -> dict:
        return {"path": self.path, "_zf": None}  # the record is read again there, if asked


def _zip(path: Path | Location) -> zipfile.ZipFile:
    """The archive at ``path``: a local file, or a URL's object read through a bounded cache."""
    return zipfile.ZipFile(open_binary(path) if isinstance(path, Location) else path)


class NpzMember(ArrayHandle):
    """One dense member of an archive, streamed from the zip entry."""

    zinfo: zipfile.ZipInfo
    archive: Archive
    header_bytes: int = 0
    _crc_ok: bool = False  # a stored member's CRC-32 has been checked

    def _read_provenance(self) -> dict[str, Any] | None:
        return with_role(self.archive.record(), self.name)

    def open_stream(self):
        fp = self.archive.open(self.zinfo)
        fp.read(self.header_bytes)
        return fp

    def _chunks(self, chunk_bytes: int) -> Iterator[np.ndarray]:
        if self.layout.get("order") == "F" and self.ndim > 1:
            yield from self._fortran_chunks(chunk_bytes)
            return
        shape = self.dense_shape or (1,)
        n, rows = shape[0], self.rows_per_read(chunk_bytes)
        per_row = int(np.prod(shape[1:], dtype=np.int64))
        buf = np.empty(min(rows, n) * per_row, dtype=self.dtype)
        fp = self.open_stream()
        try:
            for start in range(0, n, rows):
                count = min(rows, n - start)
                view = buf[: count * per_row]
                if _read_exact(fp, view.data.cast("B")) != view.nbytes:
                    raise SourceError(f"{self.source} ended early: the member is truncated")
                block = view.reshape((count, *shape[1:])) if self.shape else view.reshape(())
                yield check_bool(block, self.source)
        except ZIP_ERRORS as exc:
            raise SourceError(f"{self.source} cannot be read ({_first_line(exc)})") from None
        finally:
            fp.close()

    def _fortran_chunks(self, chunk_bytes: int) -> Iterator[np.ndarray]:
        """A Fortran-ordered member, in memory bounded by the chunk, not the member.

        Each trailing position is a contiguous run of N values, so a block of rows is gathered
        from those runs (:func:`.npy.fortran_rows`, as for a ``.npy`` file). That needs a
        seekable file:

        - a stored member's bytes sit contiguously in the archive, after its local header: they
          are read in place, after one sequential pass that checks the member's CRC-32 (as
          streaming a C-ordered member does);
        - a compressed member cannot be seeked: it is decompressed once, streaming, into an
          anonymous temporary file in the temporary folder (``TMPDIR``), which needs the
          member's uncompressed size free there and disappears when reading ends, however it
          ends (its name is removed at once, so not even SIGKILL leaves it behind). On a tmpfs
          ``/tmp`` that file takes memory: point ``TMPDIR`` at a disk folder for huge members.
        """
        rows = self.rows_per_chunk(chunk_bytes)
        if self.zinfo.compress_type == zipfile.ZIP_STORED:
            with open_binary(self.path) as fp:
                start = self._stored_data_start(fp)
                self._check_stored_crc(fp, start)
                yield from fortran_rows(fp, start + self.header_bytes, self.dense_shape, self.dtype,
                                        rows, self.source, what="member")  # fmt: skip
            return
        with self._spill() as fp:
            yield from fortran_rows(fp, 0, self.dense_shape, self.dtype, rows, self.source,
                                    what="member")  # fmt: skip

    def _stored_data_start(self, fp) -> int:
        """Where a stored member's bytes begin in the archive: after the 30-byte local header,
        the name and the extra field, with the lengths the *local* header gives (its extra field,
        zip64 sizes for one, may differ from the central directory's)."""
        info = self.zinfo
        try:
            size = os.fstat(fp.fileno()).st_size
            fp.seek(info.header_offset)
            head = fp.read(LOCAL_HEADER.size)
        except OSError as exc:
            raise SourceError(f"{self.source} cannot be read ({_first_line(exc)})") from None
        if len(head) != LOCAL_HEADER.size or head[:4] != zipfile.stringFileHeader:  # type: ignore[attr-defined]
            raise SourceError(f"{self.source} cannot be read (bad magic number for file header)")
        name_len, extra_len = LOCAL_HEADER.unpack(head)[-2:]
        start = info.header_offset + LOCAL_HEADER.size + name_len + extra_len
        end = start + info.compress_size
        if end > size:
            raise SourceError(
                f"{self.source} is truncated: its data would end at byte {end:,} of the archive, "
                f"which has {size:,} bytes"
            )
        if info.compress_size != info.file_size:
            raise SourceError(
                f"{self.source} cannot be read (a stored member of {info.file_size:,} bytes "
                f"takes {info.compress_size:,} bytes in the archive)"
            )
        return start

    def _check_stored_crc(self, fp, start: int) -> None:
        """The member's CRC-32, computed in one sequential pass (once per handle)."""
        if self._crc_ok:
            return
        crc = 0
        try:
            fp.seek(start)
            for piece in self._pieces(fp.readinto, self.zinfo.compress_size):
                crc = zlib.crc32(piece, crc)
        except OSError as exc:
            raise SourceError(f"{self.source} cannot be read ({_first_line(exc)})") from None
        if crc != self.zinfo.CRC:
            raise SourceError(
                f"{self.source} cannot be read (Bad CRC-32 for file {self.zinfo.filename!r})"
            )
        self._crc_ok = True

    def _pieces(self, readinto, size: int) -> Iterator[memoryview]:
        """The next ``size`` bytes through ``readinto``, ``COPY_BYTES`` at a time in one reused
        buffer; fewer bytes than that is a truncated member."""
        buf = memoryview(bytearray(min(COPY_BYTES, max(1, size))))
        left = size
        while left:
            n = readinto(buf[: min(left, len(buf))])
            if not n:
                raise SourceError(f"{self.source} ended early: the member is truncated")
            yield buf[:n]
            left -= n

    @contextmanager
    def _spill(self) -> Iterator[BinaryIO]:
        """The member's data, decompressed into an anonymous temporary file (see
        :meth:`_fortran_chunks`)."""
        need = declared_bytes(self.dense_shape, self.dtype)
        try:  # no name on Linux (O_TMPFILE), unlinked at once elsewhere on POSIX
            out = tempfile.TemporaryFile(prefix="dsdoctor-npz-")  # noqa: SIM115 - `with out` below
        except OSError as exc:
            raise self._spill_error(need, exc) from None
        with out:
            try:
                preallocate(out, need)
            except OSError as exc:
                raise self._spill_error(need, exc) from None
            try:
                fp = self.open_stream()
                try:
                    for piece in self._pieces(lambda view: _read_exact(fp, view), need):
                        try:
                            out.write(piece)
                        except OSError as exc:
                            raise self._spill_error(need, exc) from None
                    fp.read(1)  # reach the end of the stream, where zipfile checks the CRC-32
                finally:
                    fp.close()
            except ZIP_ERRORS as exc:
                raise SourceError(f"{self.source} cannot be read ({_first_line(exc)})") from None
            try:
                out.flush()
            except OSError as exc:
                raise self._spill_error(need, exc) from None
            yield out

    def _spill_error(self, need: int, exc: OSError) -> SourceError:
        why = reason(exc)
        return SourceError(
            f"{self.source} is a compressed Fortran-ordered member: reading it means unpacking "
            f"its {need:,} bytes into a temporary file in {tempfile.gettempdir()}, which failed "
            f"({why}); set TMPDIR to a folder with that much free space"
        )


class NpzRagged(ArrayHandle):
    """Flat values member + lengths (or offsets) member, as one ragged array."""

    values: ArrayHandle
    offsets: np.ndarray

    def _chunks(self, chunk_bytes: int) -> Iterator[Ragged]:
        offsets = self.offsets
        n = len(offsets) - 1
        if 0 in self.inner_shape:  # timesteps of no bytes: one chunk, however many there are
            budget = max(1, int(offsets[-1]))
        else:
            budget = max(1, chunk_bytes // self.row_bytes)  # timesteps per chunk
        if n == 0:
            return
        pending: list[np.ndarray] = []
        have = 0
        start = 0
        value_chunks = self.values.chunks(chunk_bytes)
        while start < n:
            # the largest end such that the window holds about `budget` timesteps (≥ 1 sequence)
            end = int(np.searchsorted(offsets, offsets[start] + budget, side="right")) - 1
            end = min(max(end, start + 1), n)
            need = int(offsets[end] - offsets[start])
            while have < need:
                block = chunk_of(np.ndarray, next(value_chunks)).copy()
                pending.append(block)
                have += len(block)
            if not pending:
                window = np.empty((0, *self.inner_shape), dtype=self.dtype)
            else:
                window = np.concatenate(pending) if len(pending) > 1 else pending[0]
            yield Ragged(window[:need], offsets[start : end + 1] - offsets[start])
            rest = window[need:]
            pending, have = ([rest], len(rest)) if len(rest) else ([], 0)
            start = end


def ragged_offsets(values: ArrayHandle, partner: ArrayHandle, kind: str = "offsets") -> np.ndarray:
    """The ``(N + 1,)`` int64 offsets of the ragged array ``values`` whose partner array holds
    its ``kind`` (``"lengths"`` or ``"offsets"``): checked to be 1-D integers within 64 bits,
    starting at 0, never decreasing and ending at ``values``' length; SourceError otherwise.
    The one check of every reader of values + offsets layouts (npz, Zarr)."""
    if partner.ndim != 1 or partner.dtype.kind not in "iu":  # (before anything is read)
        raise SourceError(f"{partner.source} must be a 1-D integer array of {kind}")
    index = np.asarray(partner.read_dense())
    if index.ndim != 1 or index.dtype.kind not in "iu":
        raise SourceError(f"{partner.source} must be a 1-D integer array of {kind}")
    if kind == "lengths":
        try:
            offsets = offsets_of(index)
        except ValueError as exc:
            raise SourceError(f"{partner.source}: {exc}") from None
    else:
        if len(index) and int(index.max()) > INT64_MAX:
            raise SourceError(f"{partner.source} holds offsets past 64 bits")
        offsets = index.astype(np.int64)
        if len(offsets) == 0 or offsets[0] != 0 or np.any(np.diff(offsets) < 0):
            raise SourceError(f"{partner.source} must start at 0 and never decrease")
    total = values.shape[0] if values.shape else 0
    if offsets[-1] != total:
        raise SourceError(
            f"{partner.source} covers {int(offsets[-1]):,} values but {values.source} "
            f"holds {total:,}; they do not belong together"
        )
    return offsets


def _first_line(exc: BaseException) -> str:
    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return msg[:300]


def _read_exact(fp, view: memoryview) -> int:
    got = 0
    while got < len(view):
        n = fp.readinto(view[got:])
        if not n:
            break
        got += n
    return got


def _refuse_torch_archive(display: str, names: list[str]) -> None:
    """A zip of ``NAME/data.pkl`` and no ``.npy`` is what ``torch.save`` writes (a ``.pt`` under
    another name): named as such, its pickle never opened."""
    if any(n.endswith(".npy") for n in names) or not any(n.endswith("/data.pkl") for n in names):
        return
    from ..formats import unread_by_name, unread_message

    torch = unread_by_name("x.pt")
    assert torch is not None  # a row of formats.UNREAD
    raise SourceError(unread_message(display, torch))


class NpzSource(Source):
    format = "npz"

    def __init__(self, path: Path, display: str, *, allow_pickle: bool = False):
        super().__init__(path, display)
        self.allow_pickle = allow_pickle
        zf = None
        try:
            zf = _zip(path)
            self._archive = Archive(path, zf)
            infos = [i for i in zf.infolist() if not i.is_dir()]
            _refuse_torch_archive(display, [i.filename for i in infos])
            members = {}
            for info in infos:
                members[info.filename] = self._member(zf, info)
        except BaseException as exc:
            if zf is not None:
                zf.close()
            if isinstance(exc, zipfile.BadZipFile):
                raise SourceError(
                    f"{display} is not a valid .npz archive ({_first_line(exc)})"
                ) from None
            if isinstance(exc, ZIP_ERRORS):
                raise SourceError(
                    f"{display} cannot be read as an .npz archive ({_first_line(exc)})"
                ) from None
            raise
        self._arrays = self._pair_ragged(members)

    def _member(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> ArrayHandle:
        name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
        display = f"{self.display}:{name}"
        with zf.open(info) as fp:
            shape, fortran, dtype = read_header(fp, display)
            header_bytes = fp.tell()
        m = NpzMember(name=name, source=display, path=self.path, format="npz", shape=shape,
                      dtype=dtype, disk_bytes=info.compress_size)  # fmt: skip
        m.zinfo, m.header_bytes, m.archive = info, header_bytes, self._archive
        m.layout = {"order": "F" if fortran else "C",
                    "compression": "deflate" if info.compress_type else "stored"}  # fmt: skip
        if dtype.hasobject and self.allow_pickle:  # trusted: sequences, numbers or text
            return self._unpickled(m)
        if dtype.hasobject:  # never unpickled without --allow-pickle
            m.pickled, m.unsafe = True, unsafe_message(display, dtype)
            return m
        need = declared_bytes(shape, dtype)
        if need + header_bytes > info.file_size:
            raise SourceError(
                f"{display} is truncated: its header declares shape {shape} {dtype} "
                f"({need:,} bytes) but the archive stores {info.file_size:,} bytes for it"
            )
        check_shape(shape, dtype, display)  # a zero axis hides the others from that size
        if need > BOMB_MIN_BYTES and need > BOMB_RATIO * max(1, info.compress_size):
            raise UnsafeInputError(
                f"{display} expands from {info.compress_size:,} to {need:,} bytes "
                f"(×{need // max(1, info.compress_size):,}); refusing it as a decompression bomb"
            )
        if shape == () and dtype.kind == "U" and m.name in RECORD_MEMBERS:
            m.skip = "the record of the dsdoctor command that wrote this file, not data"
        elif is_text(dtype, shape):
            m.categorical = True  # class labels as text
        elif not is_numeric(dtype):
            m.skip = f"dtype {dtype} is not numeric; dsdoctor checks numeric arrays"
        return m

    def _unpickled(self, m: NpzMember) -> ArrayHandle:
        """An object member, unpickled whole and read as sequences, numbers or text
        (:mod:`.objects`)."""
        from .objects import open_unpickled, unpickle

        def load() -> np.ndarray:
            with self._archive.open(m.zinfo) as fp:
                return unpickle(fp)

        return open_unpickled(load, name=m.name, display=m.source, path=self.path, format="npz",
                              shape=m.dense_shape, layout=m.layout, disk_bytes=m.disk_bytes)  # fmt: skip

    def _pair_ragged(self, members: dict[str, ArrayHandle]) -> list[ArrayHandle]:
        by_name = {m.name: m for m in members.values()}
        partners: dict[str, tuple[ArrayHandle, str]] = {}
        for name, m in by_name.items():
            if m.skip or m.unsafe or not m.shape or m.pickled:
                continue
            for suffix in ("_lengths", "_offsets"):
                if name + suffix in by_name:
                    partners[name] = (by_name[name + suffix], suffix)
                    break
        consumed = {partner.name for partner, _ in partners.values()}
        return [
            self._ragged(m, *partners[name]) if name in partners else m
            for name, m in by_name.items()
            if name not in consumed
        ]

    def _ragged(self, values: ArrayHandle, partner: ArrayHandle, suffix: str) -> NpzRagged:
        offsets = ragged_offsets(values, partner, suffix[1:])
        r = NpzRagged(name=values.name, source=values.source, path=self.path, format="npz",
                      shape=(len(offsets) - 1, None, *values.shape[1:]), dtype=values.dtype,
                      ragged=True, disk_bytes=(values.disk_bytes or 0) + (partner.disk_bytes or 0))  # fmt: skip
        r.values, r.offsets = values, offsets
        r.layout = {**values.layout, "index": partner.name}
        return r

    def arrays(self) -> list[ArrayHandle]:
        return self._arrays

    def entries(self) -> list[Entry]:
        return [Entry(a.name, "array", a) for a in self._arrays]

    def close(self) -> None:
        self._archive.close()
