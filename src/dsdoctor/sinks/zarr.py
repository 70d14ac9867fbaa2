"""Zarr outputs (``-o out.zarr``, ``-o out.zarr:/grp/name``): one Zarr v3 store (a folder).

Layout, as HDF5's: the main array ``NAME`` (default ``/data``) and its siblings ``NAME_mask``,
``NAME_lengths``, … in the same store, each chunked along axis 0 (about 1 MiB of whole rows per
chunk); ``compression="gzip"`` stores gzip chunks, otherwise zarr's default codec (zstd).
Provenance is the ``dsdoctor_*`` attributes of the main array (``dsdoctor_version``,
``dsdoctor_operation``, ``dsdoctor_options`` as JSON text, ``dsdoctor_source``), as HDF5 has it.

Ragged sequences are written as two arrays (what :mod:`dsdoctor.sources.zarr` reads back as one
ragged array ``NAME``): ``NAME``, every timestep of every sequence one after the other,
``(total, *inner)``, and ``NAME_offsets``, ``(N + 1,)`` int64 from 0 to ``total``: sequence
``i`` is ``NAME[offsets[i]:offsets[i + 1]]``. A writer gives them as the roles ``data`` and
``offsets``.

Atomic, as every output: the store is built whole in a temporary folder beside the destination
and renamed into place as one unit (:func:`~dsdoctor.sinks.atomic.atomic_folder`); an existing
store is replaced only with ``force`` — and only a Zarr store, never a folder of other files —
and on any failure or interrupt nothing is left. Rows are buffered per array up to a whole
chunk, so every chunk is written once, complete (no chunk is read back and rewritten).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import OutputError
from ..formats import BY_NAME
from .atomic import atomic_folder, atomic_group, beside_files
from .blocks import BlockWriter, Index, Specs
from .destination import Destination
from .guard import guard_outputs, replaced_whole
from .hdf5 import chunk_shape
from .provenance import hdf5_attributes

#: What a Zarr store holds at its top: a folder with one of these may be replaced by ``--force``.
METADATA = BY_NAME["zarr"].markers


@contextmanager
def stream(
    dest: Destination,
    specs: Specs,
    main: str,
    record: Mapping[str, Any],
    *,
    force: bool,
    compression: str | None,
    inputs: Iterable = (),
) -> Iterator[BlockWriter]:
    """Yield a writer appending rows to the arrays of a temporary store; put in place on
    success, removed on any exception."""
    extra = beside_files(dest.path)  # files a repair writes beside its output (a vocabulary)
    with ExitStack() as stack:
        temps = (
            stack.enter_context(atomic_group(list(extra), force=force, inputs=inputs))
            if extra
            else []
        )
        tmp = stack.enter_context(atomic_store(dest.path, force=force, inputs=inputs))
        with group_writer(tmp, dest, specs, main, record, compression=compression) as writer:
            yield writer
        for path, data in zip(temps, extra.values(), strict=True):
            Path(path).write_bytes(data)


@contextmanager
def atomic_store(path: Path, *, force: bool, inputs: Iterable = (), command: str = "a Zarr output"
                 ) -> Iterator[Path]:  # fmt: skip
    """Yield a temporary folder to build a store in; renamed into place as ``path`` on success
    (every file fsynced first), removed on any exception. ``force`` replaces only a store."""
    _zarr(str(path))
    ours = _is_store(path)
    if ours and not force:
        guard_outputs([Path(path)], inputs, folder=Path(path))  # an input is named as such first
        raise OutputError(replaced_whole(path, "store", held_arrays(Path(path))))
    with atomic_folder(path, force=force, inputs=inputs, replaceable=lambda name: ours,
                       command=command) as tmp:  # fmt: skip
        yield tmp
        _fsync_files(tmp)


@contextmanager
def group_writer(
    folder: Path,
    dest: Destination,
    specs: Specs,
    main: str,
    record: Mapping[str, Any],
    *,
    compression: str | None,
) -> Iterator[_ZarrWriter]:
    """Yield a writer of ``dest``'s arrays (``dest.dataset`` and its siblings) in the store being
    built in ``folder`` (created, or added to); its last rows are written when the block ends."""
    zarr = _zarr(dest.text)
    try:  # creating the arrays writes their metadata and their groups' concurrently too
        root = zarr.open_group(zarr.storage.LocalStore(folder), mode="a", zarr_format=3)
        dims = dimension_names(specs, main)
        arrays = {
            role: _create(root, dest, role, main, shape, dtype, compression, dims[role])
            for role, (shape, dtype) in specs.items()
        }
        arrays[main].attrs.update(hdf5_attributes(record))
        writer = _ZarrWriter(dest, specs, arrays)
        yield writer
        writer.finish()
    except BaseException:
        _settle()
        raise


def _settle() -> None:
    """Wait for the chunk writes zarr still has in flight. When one write of a block fails (a
    full disk) or the user interrupts it, zarr's other writes of that block go on in its own
    event loop: the temporary store must not be removed until they end, or they would create
    its folders again after it is gone."""
    import asyncio

    from zarr.core.sync import sync

    async def rest() -> None:
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        await asyncio.gather(*others, return_exceptions=True)

    try:
        sync(rest())
    except Exception:  # pragma: no cover - the loop itself is gone
        pass


def root_attributes(folder: Path, attributes: Mapping[str, Any]) -> None:
    """Add ``attributes`` to the root group of the store being built in ``folder``."""
    zarr = _zarr(str(folder))
    try:
        root = zarr.open_group(zarr.storage.LocalStore(folder), mode="a", zarr_format=3)
        root.attrs.update(dict(attributes))
    except BaseException:
        _settle()
        raise


def _zarr(what: str) -> Any:
    try:
        import zarr
    except ModuleNotFoundError:
        raise OutputError(
            f"{what}: writing Zarr needs the zarr package: pip install 'dsdoctor[zarr]'"
        ) from None
    _quiet_sibling_failures()
    return zarr


class _SiblingFailures(logging.Filter):
    """zarr writes a block's chunks as concurrent tasks; when one fails (a full disk) the write
    raises its error — reported in one line — and the others, failing the same way, are left
    unretrieved: asyncio would print each with its traceback as it is collected."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Task exception was never retrieved")


def _quiet_sibling_failures() -> None:
    log = logging.getLogger("asyncio")
    if not any(isinstance(f, _SiblingFailures) for f in log.filters):
        log.addFilter(_SiblingFailures())


def _fsync_files(folder: Path) -> None:
    """Flush every file and every folder inside the store (the store's own folder is flushed
    when it is placed)."""
    for top, dirs, files in os.walk(folder):
        for name in (*files, *dirs):
            fd = os.open(os.path.join(top, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def held_arrays(path: Path, limit: int = 100) -> list[str]:
    """The paths of the arrays in the Zarr store at ``path`` (``/x``, ``/grp/y``), from their
    metadata documents, at most ``limit`` (nothing is opened but those small files)."""
    import json

    found: list[str] = []
    for top, dirs, files in os.walk(path):
        dirs.sort()
        rel = "/" + os.path.relpath(top, path).replace(os.sep, "/").lstrip("./")
        if ".zarray" in files:
            found.append(rel)
        elif "zarr.json" in files:
            try:
                with open(os.path.join(top, "zarr.json"), "rb") as fp:
                    node = json.loads(fp.read(1 << 20)).get("node_type")
            except (OSError, ValueError, AttributeError):
                node = None
            if node == "array":
                found.append(rel)
        if found and found[-1] == rel:
            dirs[:] = []  # an array's folders are its chunks
        if len(found) >= limit:
            break
    return found


def _is_store(path: Path) -> bool:
    return os.path.isdir(path) and any(os.path.isfile(path / m) for m in METADATA)


def dimension_names(specs: Specs, main: str) -> dict[str, tuple[str, ...]]:
    """A name for every axis of every array written together, so that ``xarray.open_zarr``
    opens the store: axis 0 is ``sample``; a padded or windowed output (with a mask, lengths or
    the windows' ``starts``) has ``time`` then ``feature``; ragged values (beside ``offsets``) are
    ``value`` and the offsets ``offset``; other axes ``dim_1``, … . A name is used for one size
    only (xarray requires it): an axis whose size differs from its name's elsewhere is renamed
    after its array (``mask_dim_1``)."""
    sequence = bool({"mask", "lengths", "starts"} & set(specs))
    ragged = "offsets" in specs
    sizes: dict[str, int] = {}
    out: dict[str, tuple[str, ...]] = {}
    for role in sorted(specs, key=lambda r: r != main):  # the main array names first
        shape = specs[role][0]
        if role == "offsets":
            names = ["offset"]
        else:
            names = ["value" if ragged and role == main else "sample"]
            rest = ["time", "feature"] if sequence and len(shape) <= 3 else []
            if not rest and len(shape) == 2:
                rest = ["feature"]
            names += [
                rest[i - 1] if i - 1 < len(rest) else f"dim_{i}" for i in range(1, len(shape))
            ]
        names = names[: len(shape)]
        for i, (name, size) in enumerate(zip(names, shape, strict=True)):
            if sizes.setdefault(name, size) != size:
                names[i] = f"{role}_{name}"
        out[role] = tuple(names)
    return out


def _create(root: Any, dest: Destination, role: str, main: str, shape: tuple[int, ...],
            dtype: np.dtype, compression: str | None, dims: tuple[str, ...] = ()) -> Any:  # fmt: skip
    name = dest.hdf5_name(role, main=role == main).lstrip("/")
    chunks = chunk_shape(shape, dtype.itemsize) or tuple(max(1, d) for d in shape)
    options: dict[str, Any] = {}
    if compression == "gzip":
        from zarr.codecs import GzipCodec

        options["compressors"] = GzipCodec()
    try:
        return root.create_array(name, shape=shape, dtype=dtype, chunks=chunks, **options,
                                 dimension_names=dims or None,
                                 config={"write_empty_chunks": True})  # fmt: skip
    except (TypeError, ValueError) as exc:
        raise OutputError(
            f"{dest.text}: Zarr cannot store {role} of dtype {dtype} "
            f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}); "
            "write .npy or .npz instead"
        ) from None


class _ZarrWriter(BlockWriter):
    """Each role's rows are held until they fill whole chunks, which are then written."""

    def __init__(self, dest: Destination, specs: Specs, arrays: Mapping[str, Any]) -> None:
        super().__init__(dest, specs, [dest.path])
        self.arrays = arrays
        self.pending: dict[str, list[np.ndarray]] = {role: [] for role in specs}
        self.held = dict.fromkeys(specs, 0)  # rows in pending
        self.placed = dict.fromkeys(specs, 0)  # rows written to the store

    def _append(self, parts: Mapping[str, tuple[Index, np.ndarray]]) -> None:
        for role, (where, array) in parts.items():
            if where == ():
                self.arrays[role][()] = array
                continue
            if not len(array):
                continue
            self.pending[role].append(array.copy())  # a source may reuse its buffer
            self.held[role] += len(array)
            band = self.arrays[role].chunks[0]
            if self.held[role] >= band:
                self._write(role, self.held[role] - self.held[role] % band)

    def _write(self, role: str, rows: int) -> None:
        """Write the first ``rows`` pending rows of ``role`` at its end."""
        if not rows:
            return
        parts = self.pending[role]
        block = np.concatenate(parts) if len(parts) > 1 else parts[0]
        start = self.placed[role]
        self.arrays[role][start : start + rows] = block[:rows]
        rest = block[rows:]
        self.pending[role] = [rest] if len(rest) else []
        self.held[role] -= rows
        self.placed[role] += rows

    def flush(self) -> None:
        """Write every row still held (the last, partial chunk of each array)."""
        for role in self.specs:
            self._write(role, self.held[role])

    def finish(self) -> None:
        self.flush()
        super().finish()


# -- a store at a URL --------------------------------------------------------------------------
#: Zarr's metadata documents: uploaded after the chunks they describe.
_METADATA_NAMES = frozenset({*METADATA, ".zattrs", ".zmetadata"})


def upload_store(local: Path, loc: Any, *, force: bool) -> None:
    """Put the store built in the local folder ``local`` at the URL ``loc`` (``s3://b/out.zarr``).

    An object store has no rename, so a store of many objects cannot appear at once. What is
    honest instead: nothing readers take for a store appears before everything under it is
    there. First a marker ``OUT.zarr.dsdoctor-incomplete`` is put beside the store (dsdoctor
    refuses a store with one, :mod:`dsdoctor.markers`); with ``force`` an existing store is
    removed, its top metadata first (only a Zarr store is ever removed); then every chunk is put,
    then each array's and group's metadata, deepest first, the store's top metadata last — so
    zarr (or xarray) sees no store, or an array with all its chunks. Last the marker goes. On
    any failure the objects put are deleted; a run killed meanwhile leaves the marker, and
    objects no reader takes for a complete store."""
    from ..locations import Location, failures
    from ..markers import SUFFIX

    assert isinstance(loc, Location)
    fs = loc.fs
    base = loc.url.rstrip("/")
    marker = Location(base + SUFFIX, loc.options)
    rel = sorted(p.relative_to(local).as_posix() for p in local.rglob("*") if p.is_file())
    chunks = [r for r in rel if r.rsplit("/", 1)[-1] not in _METADATA_NAMES]
    metadata = sorted((r for r in rel if r.rsplit("/", 1)[-1] in _METADATA_NAMES),
                      key=lambda r: (-r.count("/"), r))  # fmt: skip
    with failures(loc, output=True):
        fs.pipe_file(marker.url, json.dumps({"files": [loc.name]}).encode())
        try:
            if force and loc.exists():
                _remove_remote_store(loc)
            for batch in [chunks, *([m] for m in metadata)]:
                if batch:
                    fs.put([str(local / r) for r in batch], [f"{base}/{r}" for r in batch])
        except BaseException:
            try:  # the top metadata first, then the rest; then the marker
                for batch in (metadata[::-1], chunks):
                    if batch:
                        fs.rm([f"{base}/{r}" for r in batch])
                fs.rm_file(marker.url)
            except Exception:
                pass  # the marker stays: readers refuse what is left
            raise
        fs.rm_file(marker.url)


def _remove_remote_store(loc: Any) -> None:
    """Delete the Zarr store at ``loc`` (``--force``), its top metadata first so that it stops
    being a store at once; a prefix holding no Zarr metadata at its top is never deleted."""
    fs = loc.fs
    base = loc.url.rstrip("/")
    tops = [f"{base}/{m}" for m in (*METADATA, ".zattrs", ".zmetadata") if fs.exists(f"{base}/{m}")]
    if not any(t.rsplit("/", 1)[-1] in METADATA for t in tops):
        raise OutputError(
            f"{loc.display} exists and is not a Zarr store; dsdoctor replaces only a store "
            "(--force) — write to another URL"
        )
    for top in tops:
        fs.rm_file(top)
    fs.rm(base, recursive=True)
