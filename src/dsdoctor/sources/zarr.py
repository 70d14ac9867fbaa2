"""Zarr stores, v2 (``.zgroup``/``.zarray``) and v3 (``zarr.json``), through the ``zarr`` package.

A store is a directory (named ``*.zarr`` or not: its metadata files say what it is) or a
``.zarr.zip``. Its groups are containers, as in HDF5: ``store.zarr:/group/x`` selects an array,
``inspect store.zarr`` lists the tree, ``check store.zarr`` reads every array (``/x`` beside
``/y`` are paired as inputs and targets). A store whose top is an array is that one array.

What is read, and when:

- opening a store reads metadata only (the JSON documents); shape, dtype, chunks, codecs,
  dimension names (v3 ``dimension_names``, xarray's ``_ARRAY_DIMENSIONS``) come from it;
- data is read along axis 0 in whole bands of the Zarr chunk's first dimension, several bands
  per read up to the read size, so each compressed chunk is decoded once; a band larger than
  ``--chunk-size`` is read a part at a time (memory stays bounded, the chunk is decoded again);
- ragged sequences are two arrays: ``NAME`` holding every timestep of every sequence one after
  the other, ``(total, *inner)``, and ``NAME_offsets``, ``(N + 1,)`` integers from 0 to
  ``total``, never decreasing: sequence ``i`` is ``NAME[offsets[i]:offsets[i + 1]]`` (the layout
  dsdoctor writes, :mod:`dsdoctor.sinks.zarr`; Arrow's list layout). They read as one ragged
  array ``NAME``.

Damage is named, never a traceback: a store with no Zarr metadata at its top, an array
directory that holds chunks but lost its ``.zarray``, a codec that is not installed, a chunk
that does not decode (truncated) — each a :class:`~dsdoctor.errors.SourceError` naming the
store, the array and the cause. In a group, ``inspect`` lists a damaged member as an error
entry; reading the store as a whole (``check store.zarr``) refuses it, so nothing is skipped
silently.

The store is made in one place, :func:`_open_store`: a remote reader passes an fsspec mapper
there instead of a local path.
"""

from __future__ import annotations

import itertools
import json
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SourceError, UnsafeInputError
from ..formats import BY_NAME
from ..locations import Location, count_fetched, failures
from .base import (
    ArrayHandle,
    BandedHandle,
    Chunk,
    Entry,
    FillRows,
    Source,
    check_shape,
    is_numeric,
    mark_coordinate,
    selected,
    text_shape,
)
from .cf import unpack
from .npz import NpzRagged, ragged_offsets
from .provenance import attributes_record, main_role, with_role

#: The names of Zarr's metadata documents (the format's markers: a directory holding one of
#: them is a Zarr store), and with them the other documents that are no member of a group.
METADATA = BY_NAME["zarr"].markers
_SKIP = frozenset({*METADATA, ".zattrs", ".zmetadata"})
#: The suffix of an array's offsets (ragged sequences, see the module docstring).
OFFSETS = "_offsets"
#: Groups nested deeper than this, or more members than this, are not listed (a hostile store).
MAX_DEPTH = 64
MAX_MEMBERS = 100_000
INSTALL = "pip install 'dsdoctor[zarr]'"
#: Why an array of Python objects stored with the pickle codec is never read.
PICKLED = (
    "it holds Python objects stored with the pickle codec, and reading them would run code from "
    "the store; dsdoctor never unpickles Zarr data: re-save it with a numeric or string dtype"
)


def _zarr():
    """The zarr package, or a one-line error naming the extra that installs it."""
    try:
        import zarr
    except ModuleNotFoundError:
        raise SourceError(f"reading Zarr stores needs the zarr package: {INSTALL}") from None
    return zarr


def _open_store(path: Any) -> Any:
    """The read-only zarr store at ``path``: a directory, a ``.zip`` file, or a URL's prefix
    (:func:`remote_store`). The only place a store is made."""
    zarr = _zarr()
    if isinstance(path, Location):
        return remote_store(path)
    if not isinstance(path, str | Path):  # an fsspec mapper, or a store already made
        if isinstance(path, zarr.abc.store.Store):
            return path
        return zarr.storage.FsspecStore.from_mapper(path, read_only=True)
    if Path(path).is_dir():
        return zarr.storage.LocalStore(path, read_only=True)
    return zarr.storage.ZipStore(path, mode="r")


def remote_store(loc: Location) -> Any:
    """The store under the URL ``loc`` (``s3://b/x.zarr``, ``https://host/x.zarr``), read
    through zarr's fsspec store with the location's storage options. Every byte it fetches is
    counted as :class:`~dsdoctor.locations.Location`'s reads are
    (:func:`~dsdoctor.locations.fetched_bytes`), and a failure of the object store (403, a
    missing bucket, a dropped connection) is a :class:`SourceError` naming the URL (a missing
    key is what zarr expects it to be: a chunk never written, or no such member)."""
    _zarr()
    from zarr.storage import FsspecStore

    if loc.name.lower().endswith(".zip"):
        raise SourceError(
            f"{loc.display}: a zipped Zarr store is not read at a URL (zarr reads a zip whole, "
            "not by range); download it, or store it unzipped (a .zarr prefix)"
        )

    class Counted(FsspecStore):
        async def get(self, key: str, prototype: Any, byte_range: Any = None) -> Any:
            with failures(loc / key):
                buf = await super().get(key, prototype, byte_range)
            if buf is not None:
                count_fetched(len(buf))
            return buf

        async def get_partial_values(self, prototype: Any, key_ranges: Any) -> list[Any]:
            with failures(loc):
                bufs = await super().get_partial_values(prototype, key_ranges)
            count_fetched(sum(len(b) for b in bufs if b is not None))
            return list(bufs)

        async def exists(self, key: str) -> bool:
            with failures(loc / key):
                return bool(await super().exists(key))

    loc.fs  # noqa: B018 - a protocol not installed, an option not understood: one line
    with failures(loc):
        return Counted.from_url(loc.url.rstrip("/"), storage_options=dict(loc.options),
                                read_only=True)  # fmt: skip


def _settle_reads() -> None:
    """Let the chunk reads zarr still has in flight end, once one failed (a server that dropped
    the connection): zarr gathers a read's chunks as concurrent tasks, and those left pending
    when the process ends would each be printed by asyncio ("Task was destroyed but it is
    pending!") after the one-line error."""
    import asyncio

    from zarr.core.sync import sync

    async def rest() -> None:
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        await asyncio.gather(*others, return_exceptions=True)

    try:
        sync(rest())
    except Exception:  # the loop itself is gone
        pass


def _consolidated_members(group: Any) -> list[str]:
    """The member names a group's consolidated metadata gives (``.zmetadata``, or v3's in
    ``zarr.json``): how a store is read from an HTTP server that does not list its folders."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return sorted(str(k) for k in group)
        except Exception:  # no consolidated metadata, and no listing
            return []


def _refuse_incomplete(loc: Location, display: str) -> None:
    """A store at a URL whose upload is under way or was interrupted (its marker
    ``STORE.dsdoctor-incomplete`` is beside it, :func:`dsdoctor.sinks.zarr.upload_store`)."""
    from ..markers import SUFFIX

    marker = Location(loc.url.rstrip("/") + SUFFIX, loc.options)
    if marker.exists():
        raise SourceError(
            f"{display} is being uploaded or its upload was interrupted ({marker.display} is "
            "there), so it may be incomplete; rerun the command that wrote it with --force, or "
            f"delete {marker.name} if you know the store is complete"
        )


def _cause(exc: BaseException) -> str:
    """A zarr or codec exception in a few words: which codec is missing, else its message."""
    name = type(exc).__name__
    text = str(exc).splitlines()[0] if str(exc) else name
    if name == "UnknownCodecError":
        codec = text.split(":", 1)[-1].strip().strip("'\"")
        return (
            f"it is compressed or filtered with the codec {codec!r}, which is not installed; "
            "install the package that provides it (many are in numcodecs) or re-save the data"
        )
    if isinstance(exc, json.JSONDecodeError):
        return f"its metadata is not valid JSON ({text})"
    if "object_codec_id" in text and "pickle" in text:
        return PICKLED
    return text[:300]


class ZarrArray(BandedHandle):
    """One Zarr array, read in bands of whole chunks along axis 0."""

    array: Any  # zarr.Array
    group: Any = None  # the zarr.Group holding it (None for a store that is one array)
    key: str = ""  # its name in that group
    text: bool = False  # variable-length strings: chunks become object arrays of str
    #: For a store on the local disk: the array's folder and the store's (real paths), so that
    #: a chunk file that is a symlink out of the store is refused before anything is read.
    folder: str | None = None
    store_root: str = ""
    _links_checked: bool = False

    def _read_provenance(self) -> dict[str, Any] | None:
        own = attributes_record(dict(self.array.attrs))
        if own is not None:
            return with_role(own, main_role(own))
        base, _, role = self.key.rpartition("_")
        if not base or not role or self.group is None:
            return None
        try:
            main = self.group[base]
        except (KeyError, ValueError, OSError):
            return None
        return with_role(attributes_record(dict(main.attrs)), role)

    @property
    def band(self) -> int:
        """Rows of one band of stored objects along axis 0: a chunk's, or a shard's."""
        shards = getattr(self.array, "shards", None)
        return int((shards or self.array.chunks)[0]) if self.shape else 0

    def _parts(self, chunk_bytes: int) -> Iterator[Chunk | FillRows]:
        """The rows in order: bands with a stored chunk read, bands with none (never written)
        as :class:`FillRows` of the fill value, which is what zarr would read there."""
        n = self.shape[0] if self.shape else None
        if self.folder is not None and not self._links_checked:
            link = _link_out(self.folder, self.store_root, recursive=True)
            if link is not None:
                raise UnsafeInputError(f"{self.source}: {link}")
            self._links_checked = True
        try:
            if n is None:
                yield self._plain(self.array[()])
                return
            for lo, hi, stored in self._segments():
                if stored:
                    yield from self._read(lo, hi, chunk_bytes)
                else:  # zarr leaves a chunk of nothing but the fill value unwritten
                    yield FillRows(self._fill_row(), hi - lo, unwritten=False)
        except SourceError:
            _settle_reads()
            raise
        except Exception as exc:  # a chunk that does not decode: zarr and its codecs raise anything
            _settle_reads()
            raise SourceError(
                f"{self.source} cannot be read: a chunk is damaged or truncated ({_cause(exc)})"
            ) from None

    def _read(self, start: int, stop: int, chunk_bytes: int) -> Iterator[np.ndarray]:
        step = self._rows(chunk_bytes)
        blosc = _stored_as_blosc(self.array)
        for lo in range(start, stop, step):
            hi = min(stop, lo + step)
            if blosc:
                try:
                    _check_blosc(self.array, lo, hi)
                except _Truncated as exc:
                    raise SourceError(
                        f"{self.source} cannot be read: a chunk is damaged or truncated ({exc})"
                    ) from None
            yield self._plain(self.array[lo:hi])

    def _segments(self) -> list[tuple[int, int, bool]]:
        """``(first row, end row, stored)`` runs covering the rows: a band of rows none of whose
        chunks is stored is all fill value. The stored chunks are counted (one listing of the
        array's keys) and, only when some are missing, placed by their keys."""
        n = int(self.shape[0] or 0)
        band = self.band
        if n == 0 or not band or self.text or 0 in self.dense_shape[1:]:
            return [(0, n, True)]
        if isinstance(self.path, Location) and self.path.protocol in ("http", "https"):
            return [(0, n, True)]  # an HTTP server's listing (if any) is no list of chunks
        keys = _stored_keys(self.array)
        if keys is None:
            return [(0, n, True)]
        bands = -(-n // band)
        found = (_band_of(key) for key in keys)
        present = np.unique(np.array([b for b in found if b is not None and 0 <= b < bands],
                                     dtype=np.int64))  # fmt: skip
        if len(present) == bands:
            return [(0, n, True)]
        fill = _plain_scalar(self.array.fill_value)
        self.layout.setdefault("fill_value", fill)
        self.layout["implicit_chunks"] = (
            f"{bands - len(present):,} of {bands:,} bands of chunks are not stored: zarr does not "
            f"write a chunk holding only the fill value ({fill}), so they read as {fill}"
        )
        # runs of consecutive stored bands; the gaps between them were never stored. The work
        # follows the chunks stored, not the bands declared (10**15 rows of nothing is one run)
        cut = np.flatnonzero(np.diff(present) != 1) + 1
        runs = np.split(present, cut) if len(present) else []
        out: list[tuple[int, int, bool]] = []
        at = 0  # first band not yet placed
        for run in runs:
            lo, hi = int(run[0]), int(run[-1]) + 1
            if lo > at:
                out.append((at * band, lo * band, False))
            out.append((lo * band, min(n, hi * band), True))
            at = hi
        if at < bands:
            out.append((at * band, n, False))
        return out

    def _fill_row(self) -> np.ndarray:
        fill = self.array.fill_value
        return np.full((1, *self.dense_shape[1:]), 0 if fill is None else fill, dtype=self.dtype)

    def _plain(self, block: Any) -> np.ndarray:
        block = np.asarray(block)
        if self.text:
            return block.astype(object)
        return block


class ZarrRagged(NpzRagged):
    """``NAME`` with ``NAME_offsets`` beside it: one ragged array (see the module docstring)."""

    def _read_provenance(self) -> dict[str, Any] | None:
        return self.values.provenance


class ZarrSource(Source):
    """A Zarr store: its arrays, by their paths in the store's groups (``/x``, ``/grp/y``)."""

    format = "zarr"

    def __init__(self, path: Path | Location, display: str):
        super().__init__(path, display)  # type: ignore[arg-type]
        zarr = _zarr()
        try:
            self.store = _open_store(path)
        except (OSError, ValueError) as exc:
            raise SourceError(f"{display} cannot be read as a Zarr store ({_cause(exc)})") from None
        if isinstance(path, Location):
            _refuse_incomplete(path, display)
        self._entries: list[Entry] | None = None
        self._broken: list[SourceError] = []
        #: the store's folder (real path) when it is a directory on the local disk
        self.folder = (
            os.path.realpath(path) if isinstance(path, str | Path) and os.path.isdir(path) else None
        )
        if self.folder is not None:
            link = _link_out(self.folder, self.folder)
            if link is not None:
                raise UnsafeInputError(f"{display}: {link}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                self.root = zarr.open(store=self.store, mode="r")
            except FileNotFoundError:
                raise SourceError(self._not_zarr()) from None
            except SourceError:  # the object store failed (a URL's store): said as such
                raise
            except Exception as exc:  # metadata zarr cannot take: a missing codec, bad JSON
                raise SourceError(f"{display} cannot be read as Zarr: {_cause(exc)}") from None

    def _not_zarr(self) -> str:
        names = self._list("")
        hint = ""
        if ".zattrs" in names or any(_is_chunk_key(n) for n in names):
            hint = " (it holds chunks or .zattrs: its .zarray may have been lost)"
        return (
            f"{self.display} is not a Zarr store: it has no zarr.json, .zgroup or .zarray at its "
            f"top{hint}; point dsdoctor at the store's top folder"
        )

    def _list(self, prefix: str) -> list[str]:
        from zarr.core.sync import sync

        async def names() -> list[str]:
            return [k async for k in self.store.list_dir(prefix)]

        try:  # (an HTTP server's index page names folders with a trailing /)
            return sorted({n.rstrip("/") for n in sync(names()) if n.rstrip("/")})
        except (OSError, ValueError):
            return []

    def close(self) -> None:
        try:
            self.store.close()
        except Exception:  # pragma: no cover - closing a store that failed to open
            pass

    # -- the tree ---------------------------------------------------------------------------
    def entries(self) -> list[Entry]:
        if self._entries is None:
            self._entries = []
            zarr = _zarr()
            if isinstance(self.root, zarr.Array):
                self._entries.append(Entry("", "array", self._handle(self.root, None, "", "")))
            else:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    self._walk(self.root, "", 0)
            self._entries = _pair_ragged(self._entries)
        return self._entries

    def _walk(self, group: Any, prefix: str, depth: int) -> None:
        zarr = _zarr()
        entries = self._entries
        assert entries is not None
        if depth > MAX_DEPTH:
            entries.append(Entry(prefix or "/", "error", note=f"nested deeper than {MAX_DEPTH} groups; not listed"))  # fmt: skip
            return
        keys = self._list(prefix.lstrip("/"))
        if not keys and isinstance(self.path, Location):  # a server that lists no folders
            keys = _consolidated_members(group)
        for key in keys:
            if key in _SKIP or key.startswith(".dsdoctor"):
                continue
            path = f"{prefix}/{key}"
            if len(entries) >= MAX_MEMBERS:
                entries.append(Entry(path, "error", note=f"more than {MAX_MEMBERS:,} members; listing stopped"))  # fmt: skip
                return
            if self.folder is not None:
                link = _link_out(
                    os.path.join(self.folder, path.lstrip("/")), self.folder, member=True
                )
                if link is not None:
                    self._fail(path, link, unsafe=True)
                    continue
            try:
                node = group[key]
            except KeyError:
                inside = self._list(path.lstrip("/"))
                if inside:  # a folder with no metadata: an array or group that lost it
                    self._fail(path, _missing_metadata(inside))
                continue  # a stray file beside the store's members
            except Exception as exc:
                self._fail(path, _cause(exc))
                continue
            if isinstance(node, zarr.Group):
                entries.append(Entry(path, "group"))
                self._walk(node, path, depth + 1)
            else:
                try:
                    entries.append(Entry(path, "array", self._handle(node, group, key, path)))
                except SourceError as exc:
                    self._fail(path, str(exc), whole=True)

    def _fail(self, path: str, cause: str, *, whole: bool = False, unsafe: bool = False) -> None:
        assert self._entries is not None
        self._entries.append(Entry(path, "error", note=cause))
        if unsafe:
            self._broken.append(UnsafeInputError(f"{self.display}:{path}: {cause}"))
            return
        message = cause if whole else f"{self.display}:{path} cannot be read: {cause}"
        self._broken.append(SourceError(message))

    def _handle(self, array: Any, group: Any, key: str, path: str) -> ArrayHandle:
        display = f"{self.display}:{path}" if path else self.display
        meta = array.metadata
        dtype, text = _numpy_dtype(array)
        shape = tuple(int(d) for d in array.shape)
        check_shape(shape, dtype, display)
        layout: dict[str, Any] = {
            "zarr_format": int(meta.zarr_format),
            "chunks": list(array.chunks),
        }
        codecs = _codec_names(array)
        if codecs:
            layout["compression"] = ", ".join(codecs)
        if "pickle" in codecs:  # zarr 3 refuses these itself; never read, whatever it does
            raise UnsafeInputError(f"{display}: {PICKLED}")
        dims = _dimension_names(array)
        if dims:
            layout["dims"] = dims
        h = ZarrArray(name=path, source=display, path=self.path, format="zarr", shape=shape,
                      dtype=dtype, layout=layout)  # fmt: skip
        h.array, h.group, h.key, h.text = array, group, key, text
        if self.folder is not None:
            h.folder, h.store_root = os.path.join(self.folder, path.lstrip("/")), self.folder
        try:  # (at a URL: a listing of every chunk, not fetched for a size)
            remote = isinstance(self.path, Location)
            h.disk_bytes = None if remote else int(array.nbytes_stored())
        except Exception:  # a store that cannot list its keys
            h.disk_bytes = None
        if text or dtype.kind in "US":
            if text_shape(shape):
                h.categorical = True  # class labels as text
            else:
                h.skip = (
                    f"a {len(shape)}-D array of text, not numbers; dsdoctor checks numeric arrays"
                )
        elif not is_numeric(dtype):
            h.skip = f"dtype {dtype} is not numeric; dsdoctor checks numeric arrays"
        attrs = dict(array.attrs)
        if isinstance(attrs.get("_FillValue"), str) and dtype.kind == "f":
            attrs["_FillValue"] = _base64_float(attrs["_FillValue"])
        # xarray keeps a v2 array's _FillValue as its fill_value, and reads it as missing
        fill = array.fill_value if meta.zarr_format == 2 and "_ARRAY_DIMENSIONS" in attrs else None
        out = unpack(h, attrs, fill)
        if key and len(shape) == 1 and dims == [key]:  # an xarray coordinate: `x(x)`
            mark_coordinate(out, key)
        return out

    # -- selection --------------------------------------------------------------------------
    def arrays(self) -> list[ArrayHandle]:
        """Every array of the store; a damaged member refuses the whole read (it would
        otherwise go unchecked without a word)."""
        entries = self.entries()
        if self._broken:
            raise self._broken[0]
        return [e.array for e in entries if e.array is not None]

    def select(self, selector: str) -> ArrayHandle:
        path = "/" + selector.strip("/") if selector.strip("/") else ""
        for e in self.entries():
            if e.path == path and e.array is not None:
                return selected(e.array)
        for e in self.entries():
            if e.path == path and e.kind == "error":
                broken = [b for b in self._broken if str(b).startswith(f"{self.display}:{path}")]
                raise broken[0] if broken else SourceError(f"{self.display}:{path}: {e.note}")
            if e.path == path and e.kind == "group":
                inside = [x.path for x in self.entries() if x.path.startswith(path + "/")][:20]
                raise SourceError(
                    f"{self.display}:{path} is a group, not an array; choose an array inside it"
                    + (f" ({', '.join(inside)})" if inside else "")
                )
        names = ", ".join([e.path for e in self.entries() if e.array is not None][:20])
        hint = ""
        if (
            not names
            and isinstance(self.path, Location)
            and self.path.protocol in ("http", "https")
        ):
            hint = (" (the server lists no folders: consolidate the store's metadata with "
                    "zarr.consolidate_metadata, or read it from s3://, gs:// or a local copy)")  # fmt: skip
        raise SourceError(
            f"{self.display} has no array {path or '/'!r}; it has: {names or 'nothing'}{hint}"
        )


def _pair_ragged(entries: list[Entry]) -> list[Entry]:
    """``NAME`` with ``NAME_offsets`` beside it becomes one ragged entry ``NAME``."""
    arrays = {e.path: e for e in entries if e.array is not None}
    out: list[Entry] = []
    consumed: set[str] = set()
    for e in entries:
        partner = arrays.get(e.path + OFFSETS) if e.array is not None else None
        if partner is not None and e.path and not (e.array.skip or partner.array.skip):  # type: ignore[union-attr]
            assert e.array is not None and partner.array is not None
            out.append(Entry(e.path, "array", _ragged(e.array, partner.array)))
            consumed.add(partner.path)
        elif e.path not in consumed:
            out.append(e)
    return [e for e in out if e.path not in consumed]


def _ragged(values: ArrayHandle, partner: ArrayHandle) -> ZarrRagged:
    offsets = ragged_offsets(values, partner)  # (npz's check: one for both layouts)
    r = ZarrRagged(name=values.name, source=values.source, path=values.path, format="zarr",
                   shape=(len(offsets) - 1, None, *values.shape[1:]), dtype=values.dtype,
                   ragged=True, disk_bytes=(values.disk_bytes or 0) + (partner.disk_bytes or 0))  # fmt: skip
    r.values, r.offsets = values, offsets
    r.layout = {**values.layout, "offsets": partner.name}
    return r


def _link_out(
    folder: str, root: str, *, recursive: bool = False, member: bool = False
) -> str | None:
    """The words for the first symlink in ``folder`` that leads out of the store ``root`` (a
    chunk file or metadata linked to a file elsewhere), or None. ``member``: ``folder`` itself
    and its metadata documents only; ``recursive``: every file below it (an array's chunks);
    otherwise the metadata documents in ``folder``. No file outside the store is ever read."""
    names = [folder] if member else []
    names += [os.path.join(folder, m) for m in (*METADATA, ".zattrs")]
    todo = [folder] if recursive else []
    while todo:
        try:
            with os.scandir(todo.pop()) as it:
                for entry in it:
                    if entry.is_symlink():
                        names.append(entry.path)
                    elif entry.is_dir(follow_symlinks=False):
                        todo.append(entry.path)
        except OSError:
            continue
    for name in names:
        if not os.path.islink(name):
            continue
        target = os.path.realpath(name)
        if os.path.commonpath([target, root]) != root:
            return (
                f"{os.path.relpath(name, root)} is a symbolic link to {target}, outside the "
                "store; dsdoctor reads no file outside the store (copy the data into it)"
            )
    return None


def _stored_keys(array: Any) -> list[str] | None:
    """The keys of ``array``'s stored chunks (or shards) relative to the array, or None when
    every one is stored (counted first: one listing) or the store cannot list them."""
    from zarr.core.sync import sync

    grid = getattr(array, "shards", None) or array.chunks
    expected = 1
    for size, step in zip(array.shape, grid, strict=True):
        expected *= -(-int(size) // max(1, int(step)))
    store, base = array.store_path.store, array.store_path.path
    prefix = f"{base}/" if base else ""

    async def listing() -> list[str]:
        return [k async for k in store.list_prefix(prefix)]

    try:
        keys = [k[len(prefix) :] for k in sync(listing())]
    except (OSError, ValueError, NotImplementedError):
        return None
    chunks = [k for k in keys if k.rsplit("/", 1)[-1] not in _SKIP]
    return None if expected is not None and len(chunks) >= expected else chunks


def _band_of(key: str) -> int | None:
    """The first chunk index of a chunk key (``c/3/0``, ``3.0``, ``3/0``), or None."""
    parts = [p for p in key.replace(".", "/").split("/") if p]
    if parts and parts[0] == "c":
        parts = parts[1:]
    return int(parts[0]) if parts and parts[0].isdigit() else None


def _base64_float(text: str) -> float | None:
    """A float ``_FillValue`` as xarray writes it in a v3 attribute: the base64 of its bytes
    (a little-endian double, or the array's own size); None when it is not that."""
    import base64
    import binascii

    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    kinds = {8: "<f8", 4: "<f4", 2: "<f2"}
    return float(np.frombuffer(raw, dtype=kinds[len(raw)])[0]) if len(raw) in kinds else None


def _plain_scalar(value: Any) -> Any:
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def _stored_as_blosc(array: Any) -> bool:
    """Whether the bytes stored for a chunk are a blosc frame (its last compressor)."""
    compressors: tuple[Any, ...] = tuple(getattr(array, "compressors", ()))
    if getattr(array, "shards", None) is not None:
        return False  # blosc inside shards: the stored objects are shards, not blosc frames
    return bool(compressors) and "blosc" in type(compressors[-1]).__name__.lower()


#: A blosc frame's header: its 16 bytes end with ``cbytes``, the frame's length (little endian).
BLOSC_HEADER = 16


def _check_blosc(array: Any, lo: int, hi: int) -> None:
    """Refuse a blosc chunk of rows ``lo..hi`` shorter or longer than its header says: numcodecs
    decodes a truncated frame without a word, into whatever memory follows it. Only the headers
    and sizes are read (16 bytes and a size per chunk); chunks never written are skipped."""
    import asyncio

    from zarr.abc.store import RangeByteRequest
    from zarr.core.buffer import default_buffer_prototype
    from zarr.core.sync import sync

    band = array.chunks[0]
    across = itertools.product(*(range(g) for g in array.cdata_shape[1:]))
    rest = list(across)
    keys = [
        array.metadata.encode_chunk_key((b, *others))
        for b in range(lo // band, -(-hi // band))
        for others in rest
    ]
    store, base = array.store_path.store, array.store_path.path

    async def one(key: str) -> tuple[str, bytes, int] | None:
        full = f"{base}/{key}" if base else key
        head = await store.get(full, default_buffer_prototype(), RangeByteRequest(0, BLOSC_HEADER))
        if head is None:
            return None
        return full, head.to_bytes(), await store.getsize(full)

    async def heads() -> list[tuple[str, bytes, int] | None]:
        return list(await asyncio.gather(*(one(k) for k in keys)))

    for found in sync(heads()):
        if found is None:
            continue
        key, head, size = found
        said = int.from_bytes(head[12:16], "little") if len(head) == BLOSC_HEADER else None
        if said != size:
            header = "is too short to have one" if said is None else f"says {said:,}"
            raise _Truncated(f"chunk {key} holds {size:,} bytes but its blosc header {header}")


class _Truncated(Exception):
    """A chunk whose stored size is not the one its header gives."""


def _numpy_dtype(array: Any) -> tuple[np.dtype, bool]:
    """The numpy dtype chunks are read as, and whether it is variable-length text."""
    dtype = array.dtype
    if getattr(dtype, "kind", "") == "T" or str(dtype).startswith("StringDType"):
        return np.dtype(object), True
    dtype = np.dtype(dtype)
    if dtype.kind == "O":  # v2 object arrays: only text codecs (vlen-utf8/bytes) are read
        return dtype, True
    return dtype, False


def _codec_names(array: Any) -> list[str]:
    names: list[str] = []
    for codec in (*getattr(array, "filters", ()), *getattr(array, "compressors", ())):
        name = getattr(codec, "codec_id", None) or type(codec).__name__
        names.append(str(name).removesuffix("Codec").lower())
    return names


def _dimension_names(array: Any) -> list[str] | None:
    names = getattr(array.metadata, "dimension_names", None)
    if not names:
        names = array.attrs.get("_ARRAY_DIMENSIONS")  # xarray's convention for v2
    if isinstance(names, list | tuple) and all(isinstance(n, str) or n is None for n in names):
        return [str(n) if n is not None else "" for n in names]
    return None


def _is_chunk_key(name: str) -> bool:
    """``0.0``, ``3``, ``c``: the names Zarr gives chunks (v2) or their folder (v3)."""
    return name == "c" or all(part.isdigit() for part in name.replace("/", ".").split("."))


def _missing_metadata(inside: list[str]) -> str:
    if any(_is_chunk_key(n) for n in inside) or ".zattrs" in inside:
        return "it holds chunks but no .zarray or zarr.json (its metadata is missing)"
    return "a folder with no Zarr metadata (no .zarray, .zgroup or zarr.json)"
