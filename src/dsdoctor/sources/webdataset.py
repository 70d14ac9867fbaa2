"""WebDataset shards: an uncompressed tar whose members are ``KEY.FIELD`` files, one sample per
key (``000017.x.npy``, ``000017.y.npy``, ``000017.jpg``). Each field of ``.npy`` members is an
array with one sample per key (``shard.tar:x``; a bare ``KEY.npy`` is the field ``npy``): members
of one shape are a dense ``(N, …)`` array, 1-D members of different lengths ragged sequences.

The tar's member headers are walked once (the data skipped); each ``.npy`` member's header is
parsed where it lies in the tar (never unpickling) and its declared size checked against the
member's. Rows are read a span of the tar at a time — the bytes from a chunk's first member to
its last, one read — and gathered with numpy (no loop per sample), so memory is bounded by the
chunk and the other fields between (an image beside each array is read past, not decoded).

At a URL the walk fetches the member headers with a small read-ahead block (a tar of small
members is read whole, in blocks; big members are skipped), then each span in one request.

Not read, and named: the other fields (images, ``.cls``, ``.json``: listed as not analysed),
object members (a pickle: never unpickled), Fortran-ordered members, members that disagree in
dtype or in anything but a 1-D length. A compressed tar (``.tar.gz``) is a format dsdoctor does
not read (:data:`~dsdoctor.formats.UNREAD`): it cannot be read a span at a time.
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..arrays import Ragged
from ..errors import SourceError
from ..locations import open_binary
from .base import ArrayHandle, Source, check_shape, is_numeric
from .npy import MAX_HEADER_BYTES, check_bool, declared_bytes, read_header

#: The most members a tar may have: a guard against a tar of a whole disk's small files.
MAX_MEMBERS = 10_000_000


@dataclass
class _Field:
    """The members of one field, in tar order."""

    name: str
    keys: list[str] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)  # where each member's data starts
    sizes: list[int] = field(default_factory=list)


class _Window:
    """A bounded view of one member's bytes, for :func:`~.npy.read_header`."""

    def __init__(self, fp, start: int, size: int):
        self.fp, self.start, self.end = fp, start, start + size
        fp.seek(start)

    def read(self, n: int = -1) -> bytes:
        left = self.end - self.fp.tell()
        return self.fp.read(left if n < 0 else min(n, left))

    def tell(self) -> int:
        return self.fp.tell() - self.start


class TarArray(ArrayHandle):
    """One ``.npy`` field of a WebDataset tar: sample ``i`` is ``row_bytes`` (dense) or
    ``lengths[i]`` elements (ragged) at ``starts[i]`` in the tar."""

    starts: np.ndarray  # byte offset of each sample's data in the tar
    lengths: np.ndarray | None = None  # elements per sample (ragged)

    def _chunks(self, chunk_bytes: int) -> Iterator[np.ndarray | Ragged]:
        n = len(self.starts)
        item = self.dtype.itemsize
        inner = self.inner_shape
        per = int(np.prod(inner, dtype=np.int64)) if not self.ragged else 1
        sizes = (self.lengths * item * per if self.lengths is not None
                 else np.full(n, self.row_bytes, dtype=np.int64))  # fmt: skip
        ends = self.starts + sizes
        #: a span and the int32 positions gathered from it fit the chunk together
        limit = max(1, chunk_bytes // (1 + np.dtype(np.int32).itemsize))
        with open_binary(self.path) as fp:
            i = 0
            while i < n:
                # as many samples as fit, counting the tar bytes between them (headers, padding)
                reach = self.starts[i] + max(limit, int(sizes[i]))
                j = max(i + 1, int(np.searchsorted(ends, reach, "right")))
                lo, hi = int(self.starts[i]), int(ends[j - 1])
                fp.seek(lo)
                span = fp.read(hi - lo)
                if len(span) != hi - lo:
                    raise SourceError(f"{self.source} ended early: the tar is truncated")
                raw = np.frombuffer(span, dtype=np.uint8)
                rel, size = self.starts[i:j] - lo, sizes[i:j]
                steps = np.diff(rel)
                if not self.ragged and (len(steps) == 0 or (steps == steps[0]).all()):
                    step = int(steps[0]) if len(steps) else 0  # evenly spaced: a strided view
                    rows = np.lib.stride_tricks.as_strided(
                        raw[int(rel[0]) :], shape=(j - i, int(size[0])), strides=(step, 1)
                    )
                    values = rows.copy().view(self.dtype)
                else:
                    kind = np.int32 if len(raw) < 2**31 else np.int64
                    take = np.repeat(
                        (rel - np.concatenate(([0], np.cumsum(size)[:-1]))).astype(kind), size
                    )
                    take += np.arange(int(size.sum()), dtype=kind)
                    values = raw[take].view(self.dtype)
                if self.ragged:
                    assert self.lengths is not None
                    yield Ragged.from_lengths(values, self.lengths[i:j].astype(np.int64))
                else:
                    yield check_bool(values.reshape((j - i, *inner)), self.source)
                i = j


class TarSource(Source):
    """An uncompressed WebDataset tar: its ``.npy`` fields as arrays, its other fields named."""

    format = "webdataset"

    def __init__(self, path: Path, display: str):
        super().__init__(path, display)
        fields, self.others, self.keys = self._walk()
        self._arrays = [self._handle(f) for f in fields.values()]
        self._arrays += [self._other(name, count) for name, count in self.others.items()]
        if not any(not a.skip for a in self._arrays) and not fields:
            kinds = ", ".join(f".{k} ×{n:,}" for k, n in list(self.others.items())[:8])
            raise SourceError(
                f"{display} is a tar with no .npy members ({kinds or 'no files'}); dsdoctor "
                "reads the .npy members of WebDataset tars: write the arrays with np.save "
                "(webdataset's TarWriter does for numpy values)"
            )

    def _walk(self) -> tuple[dict[str, _Field], dict[str, int], int]:
        fields: dict[str, _Field] = {}
        others: dict[str, int] = {}
        keys: set[str] = set()
        try:
            with open_binary(self.path) as raw, tarfile.open(fileobj=raw, mode="r:") as tar:
                for count, member in enumerate(tar):
                    if count >= MAX_MEMBERS:
                        raise SourceError(f"{self.display} holds more than {MAX_MEMBERS:,} members; "
                                          "dsdoctor reads tars of fewer")  # fmt: skip
                    if not member.isreg():
                        continue
                    folder, _, base = member.name.rpartition("/")
                    stem, dot, ext = base.partition(".")
                    if not dot or not stem:
                        continue  # no KEY.FIELD name: not a sample's member
                    key = f"{folder}/{stem}" if folder else stem
                    keys.add(key)
                    if ext.lower().endswith("npy"):
                        name = ext[: -len(".npy")] if ext.lower().endswith(".npy") else "npy"
                        f = fields.setdefault(name, _Field(name))
                        f.keys.append(key)
                        f.offsets.append(member.offset_data)
                        f.sizes.append(member.size)
                    else:
                        others[ext] = others.get(ext, 0) + 1
        except tarfile.ReadError as exc:
            raise SourceError(f"{self.display} cannot be read as a tar ({exc}): it is truncated "
                              "or damaged, or compressed (decompress it first)") from None  # fmt: skip
        except (OSError, EOFError, ValueError, UnicodeError) as exc:
            raise SourceError(f"{self.display} cannot be read as a tar ({exc})") from None
        return fields, others, len(keys)

    def _other(self, ext: str, count: int) -> ArrayHandle:
        h = ArrayHandle(name=ext, source=f"{self.display}:{ext}", path=self.path,
                        format="webdataset", shape=(count,), dtype=np.dtype(object))  # fmt: skip
        h.skip = (f"WebDataset field `{ext}` ({count:,} members): not .npy, not read "
                  "(dsdoctor reads the .npy members of a tar)")  # fmt: skip
        h.layout = {"members": count}
        return h

    def _handle(self, f: _Field) -> ArrayHandle:
        display = f"{self.display}:{f.name}"
        heads = []
        size = self.path.stat().st_size
        with open_binary(self.path) as fp:
            for key, at, n in zip(f.keys, f.offsets, f.sizes, strict=True):
                if at + n > size:
                    raise SourceError(f"{display}: member {key}.{f.name}.npy ends past the end of "
                                      "the tar; the file is truncated")  # fmt: skip
                window = _Window(fp, at, min(n, MAX_HEADER_BYTES + 16))
                shape, fortran, dtype = read_header(window, f"{display} (member {key})")
                heads.append((key, shape, fortran, dtype, at + window.tell(), n - window.tell()))
        key0, shape0, _, dtype0, _, _ = heads[0]
        ragged = len({h[1] for h in heads}) > 1
        h = TarArray(name=f.name, source=display, path=self.path, format="webdataset",
                     shape=(len(heads), *shape0), dtype=dtype0,
                     disk_bytes=int(sum(f.sizes)))  # fmt: skip
        h.starts = np.array([x[4] for x in heads], dtype=np.int64)
        h.layout = {"members": len(heads), "keys": self.keys}
        if len(heads) < self.keys:
            h.layout["missing"] = f"{self.keys - len(heads):,} keys have no `{f.name}` member"
        why = _disagreement(heads, f.name)
        if why is None and dtype0.hasobject:
            why = (f"member {key0}.{f.name}.npy is an object array (a pickle); dsdoctor never "
                   "unpickles a tar's members")  # fmt: skip
        if why is None and any(x[2] and len(x[1]) > 1 for x in heads):
            why = "Fortran-ordered members; re-save them C-ordered (np.ascontiguousarray)"
        if why is None:
            short = next((x for x in heads if declared_bytes(x[1], x[3]) > x[5]), None)
            if short is not None:
                raise SourceError(f"{display}: member {short[0]}.{f.name}.npy declares "
                                  f"{short[1]} {short[3]} but holds {short[5]:,} bytes of data")  # fmt: skip
        if why is not None:
            h.skip = why
            return h
        if ragged:
            h.shape, h.ragged = (len(heads), None), True
            h.lengths = np.array([x[1][0] for x in heads], dtype=np.int64)
        else:
            check_shape(h.dense_shape, dtype0, display)
        if not is_numeric(dtype0):
            h.skip = f"dtype {dtype0} is not numeric; dsdoctor checks numeric arrays"
        return h

    def arrays(self) -> list[ArrayHandle]:
        return list(self._arrays)

    def reading(self) -> str:
        return f"WebDataset: {self.keys:,} keys"


def _disagreement(heads: list, name: str) -> str | None:
    """Why the members of a field are not one array (None when they are): dtypes differ, or
    shapes differ in more than a 1-D length."""
    key0, shape0, _, dtype0, _, _ = heads[0]
    for key, shape, _, dtype, _, _ in heads[1:]:
        if dtype != dtype0 or len(shape) != len(shape0) or (shape != shape0 and len(shape) != 1):
            return (f"its members differ ({key0}.{name}.npy is {shape0} {dtype0}, {key}.{name}.npy "
                    f"is {shape} {dtype}); dsdoctor reads members of one dtype and shape, or 1-D "
                    "sequences")  # fmt: skip
    return None
