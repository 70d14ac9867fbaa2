"""Many files of one format as one dataset: a directory or a glob of shards.

Each shard is opened by the ordinary reader; the dataset's samples are the shards' samples in
file-name order. Checks treat shards -- or row ranges of them (:func:`row_range`) -- as
independent partial reductions (:mod:`dsdoctor.engine.tasks`), so they can run in local
processes or on a Dask cluster, where the workers open the shards themselves.
"""

from __future__ import annotations

import copy
import glob
import os
from collections.abc import Iterator
from pathlib import Path

from ..errors import SourceError
from ..formats import BY_NAME, marked_directory, read_by_name
from .base import DEFAULT_CHUNK_BYTES, ArrayHandle, Chunk, FillRows, Source

GLOB_CHARS = "*?["
#: The largest number of shards one dataset may have (a guard against a glob of a whole disk).
MAX_SHARDS = 100_000


def is_glob(text: str) -> bool:
    return any(c in text for c in GLOB_CHARS) and not os.path.exists(text)


def expand(pattern: str) -> list[str]:
    """The files a glob names, sorted; directories inside are ignored."""
    files = sorted(p for p in glob.glob(pattern, recursive=True) if os.path.isfile(p))
    if not files:
        raise SourceError(f"{pattern} matches no files")
    if len(files) > MAX_SHARDS:
        raise SourceError(
            f"{pattern} matches {len(files):,} files; dsdoctor reads at most {MAX_SHARDS:,} shards"
        )
    return files


#: The formats whose shards are one table (``"module:Class"`` of :mod:`dsdoctor.sources`, a
#: :class:`~dsdoctor.sources.dataset.FileDataset` taking ``files``, ``root`` and ``target``): a
#: glob of their files is read as a folder of them is, with Hive partitions and one schema.
TABLE_DATASETS = {"parquet": "parquet:ParquetDataset", "arrow": "dataset:ArrowDataset"}


def table_dataset(pattern: str, files: list, *, target: str | None,
                  display: str | None = None) -> Source | None:  # fmt: skip
    r"""A glob (or a folder) of files of a :data:`TABLE_DATASETS` format as one table (None:
    other files). A local folder is walked again by the dataset, recursively; a URL's files
    (:class:`~dsdoctor.locations.Location`\ s) are the ones given."""
    from ..locations import Location, is_url

    names = [f.name if isinstance(f, Location) else os.path.basename(f) for f in files]
    kinds = {fmt.name if (fmt := read_by_name(n)) else "" for n in names}
    kind = next(iter(kinds))
    if len(kinds) != 1 or kind not in TABLE_DATASETS:
        return None
    from importlib import import_module

    from .dataset import glob_root

    module, name = TABLE_DATASETS[kind].split(":")
    reader = getattr(import_module(f"{__package__}.{module}"), name)
    shown = display or pattern
    if is_url(pattern):
        where = files[0].parent if not is_glob(pattern) else None
        root = pattern.rstrip("/") if where is not None else glob_root(pattern)
        source: Source = reader(Location(root, files[0].options), shown, files=files,
                                root=root, target=target)  # fmt: skip
        return source
    if os.path.isdir(pattern):  # a folder of a format that is no directory format of its own
        source = reader(Path(pattern), shown, target=target)
        return source
    root = glob_root(pattern) or "."
    source = reader(Path(root), shown, files=files, root=root, target=target)
    return source


def remote_glob(loc) -> list:
    """The objects a URL glob (``s3://b/dir/*.parquet``, ``**`` for any depth) names, in key
    order (hidden and ``_``-prefixed names skipped, as in a folder), as locations with its
    storage options."""
    from ..locations import Location, failures
    from .dataset import is_ignored, refuse_unlisted

    refuse_unlisted(loc)
    fs = loc.fs
    with failures(loc):
        found = fs.glob(fs._strip_protocol(loc.url), detail=True)
    head = loc.url[: loc.url.index("://") + 3]
    keys = sorted(k for k, info in found.items() if info.get("type") != "directory"
                  and not is_ignored(k.rsplit("/", 1)[-1]))  # fmt: skip
    if not keys:
        raise SourceError(f"{loc.display} matches no objects")
    if len(keys) > MAX_SHARDS:
        raise SourceError(f"{loc.display} matches {len(keys):,} objects; dsdoctor reads at most "
                          f"{MAX_SHARDS:,} shards")  # fmt: skip
    return [Location(head + k.lstrip("/"), loc.options) for k in keys]


def directory_shards(path: Path) -> list[str] | None:
    """The data files of a directory of shards of one format (None: not a shard directory)."""
    if marked_directory(os.listdir(path)) is not None:
        return None  # one dataset of a directory format (a Hugging Face folder)
    files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith((".", "_")))
    by_format: dict[str, list[str]] = {}
    for p in files:
        fmt = read_by_name(p.name)
        if fmt:
            by_format.setdefault(fmt.name, []).append(str(p))
    if not by_format or (len(by_format) == 1 and BY_NAME[next(iter(by_format))].directory):
        return None  # a Parquet directory is read as one Parquet dataset
    if len(by_format) > 1:
        kinds = ", ".join(f"{len(v)} {k}" for k, v in sorted(by_format.items()))
        most = max(by_format, key=lambda k: len(by_format[k]))
        raise SourceError(f"{path} mixes formats ({kinds}); point dsdoctor at one kind, e.g. "
                          f"'{path}/*{BY_NAME[most].extensions[0]}'")  # fmt: skip
    return next(iter(by_format.values()))


def row_range(handle: ArrayHandle, start: int, stop: int) -> ArrayHandle | None:
    """Rows ``[start, stop)`` of ``handle`` as a handle of their own, read without touching the
    other rows -- for a C-ordered ``.npy`` (its rows are one contiguous run at a known offset);
    None for every other layout, which is then scanned whole."""
    from .npy import NpyArray

    if (
        type(handle) is not NpyArray
        or handle.fortran
        or handle.pickled
        or handle.skip
        or handle.unsafe
        or not handle.shape
        or not 0 <= start <= stop <= (handle.n or 0)
        or handle.dtype.itemsize == 0
        or 0 in handle.shape[1:]
    ):
        return None
    part = copy.copy(handle)
    part.offset = handle.offset + start * handle.row_bytes
    part.shape = (stop - start, *handle.shape[1:])
    return part


def _columns(h: ArrayHandle) -> str:
    names = h.layout.get("columns") or []
    return ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")


class ShardedArray(ArrayHandle):
    """The same array in every shard, stacked along the sample axis."""

    shards: list[ArrayHandle]
    shard_sources: list[str]  # each shard as ``PATH[:SELECTOR]``, for workers to reopen
    origin: str  # the folder or glob the shards were found by (an input: outputs stay out of it)

    def _chunks(self, chunk_bytes: int) -> Iterator[Chunk]:
        for shard in self.shards:
            yield from shard.chunks(chunk_bytes)

    def runs(self, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Iterator[Chunk | FillRows]:
        for shard in self.shards:  # each shard's unwritten rows stay folded
            yield from shard.runs(chunk_bytes)


class ShardedSource(Source):
    format = "shards"

    def __init__(
        self, display: str, files: list[str], opener, selector: str | None, origin: str = ""
    ):
        super().__init__(Path(files[0]).parent, display)
        self.files = files
        #: What named the shards (a folder or a glob): an output there would become a shard.
        self.origin = origin
        self.selector = selector
        self.sources = [opener(f) for f in files]
        self.format = self.sources[0].format

    def arrays(self) -> list[ArrayHandle]:
        return [self.array(self.selector)]

    def array(self, selector: str | None) -> ArrayHandle:
        shards = [s.array(selector) for s in self.sources]
        first = shards[0]
        for f, s in zip(self.files, shards, strict=True):
            if s.unsafe:
                from ..errors import UnsafeInputError

                raise UnsafeInputError(s.unsafe)
            if s.skip:
                raise SourceError(f"{s.source}: {s.skip}")
            if (
                s.ragged != first.ragged
                or s.shape[1:] != first.shape[1:]
                or (s.dtype != first.dtype and not _same_text(s, first))
                or not s.shape
            ):
                raise SourceError(
                    f"shard {f} holds {s.shape} {s.dtype} but {self.files[0]} holds {first.shape} {first.dtype}; "
                    "shards of one dataset must agree on everything but the first axis (unrelated "
                    "files: check them with --each, or one by one)"
                )
            if s.layout.get("columns") != first.layout.get(
                "columns"
            ):  # tables: same shape, other columns
                raise SourceError(
                    f"shard {f} holds columns {_columns(s)} but {self.files[0]} holds "
                    f"{_columns(first)}; shards of one dataset must have the same columns"
                )
        n = sum(s.shape[0] for s in shards)
        suffix = f":{selector}" if selector else ""
        h = ShardedArray(name=selector or "", source=self.display + suffix, path=first.path, format=first.format,
                         shape=(n, *first.shape[1:]), dtype=first.dtype, ragged=first.ragged,
                         disk_bytes=sum(s.disk_bytes or 0 for s in shards))  # fmt: skip
        h.shards = shards
        h.categorical = first.categorical
        h.pickled = any(
            s.pickled for s in shards
        )  # unpickled (--allow-pickle): warned, fixes say so
        h.origin = self.origin
        h.shard_sources = [f + suffix for f in self.files]
        h.layout = {
            "shards": len(shards),
            **{k: v for k, v in first.layout.items() if k != "header_bytes"},
        }
        return h

    def close(self) -> None:
        for s in self.sources:
            s.close()


def _same_text(a, b) -> bool:
    """Text shards of one kind (``U`` or ``S``) agree whatever their widths (``<U6``, ``<U10``):
    each width is only the longest label of its own shard."""
    return a.categorical and b.categorical and a.dtype.kind == b.dtype.kind
