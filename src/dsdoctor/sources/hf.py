"""Hugging Face ``datasets`` folders written by ``save_to_disk``, read with pyarrow alone (the
``datasets`` package is never imported).

A ``Dataset`` folder holds ``state.json`` (its data files, in order, under ``_data_files``),
``dataset_info.json`` (its features) and the files ``data-0000k-of-0000N.arrow``: Arrow IPC
*streams*, the shards of one table (:class:`~dsdoctor.sources.arrow.ArrowSource`). A
``DatasetDict`` folder holds ``dataset_dict.json`` (``{"splits": [...]}``) and one such folder
per split.

Selectors: a ``Dataset`` folder is a table (``FOLDER:COL[,COL…]``, ``--target COL``); a
``DatasetDict`` picks its split first: ``FOLDER:SPLIT`` (the split's table), ``FOLDER:SPLIT:COL
[,COL…]`` (columns of it). ``FOLDER/SPLIT`` (the split's own folder) is a ``Dataset`` folder.

The features in the schema's ``huggingface`` metadata (or ``dataset_info.json``) say which
columns are ``ClassLabel``\\ s: their ``names`` are the classes of the labels
(:attr:`~dsdoctor.sources.base.ArrayHandle.class_names`), and such a column is never stacked
into the inputs.

A folder at a URL (``s3://b/hf``, ``gs://…``; over ``https://`` too, its files being named by
``state.json``) is read alike: its JSON files fetched whole, its Arrow files read by the Arrow
reader through :func:`~dsdoctor.locations.open_binary`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import SourceError
from ..locations import Location, open_binary
from .arrow import ArrowSource, class_labels
from .base import ArrayHandle, Entry, Source
from .table import STACKED, TableArray

DICT_FILE = "dataset_dict.json"
STATE_FILE = "state.json"
INFO_FILE = "dataset_info.json"
#: The most bytes of a folder's JSON files read (they list files and features, not data).
MAX_JSON = 64 * 1024**2


class HuggingFaceFolder(Source):
    """The reader of :mod:`dsdoctor.formats`' row: building one gives a
    :class:`DatasetDictSource` for a ``DatasetDict`` folder, a :class:`DatasetSource` (a table)
    for a ``Dataset`` folder."""

    def __new__(cls, path: Path, display: str, *, target: str | None = None) -> Source:  # type: ignore[misc]
        if not _is_folder(path):
            raise SourceError(
                f"{display} is not a folder; a Hugging Face dataset is the folder save_to_disk "
                "writes (with dataset_dict.json or state.json)"
            )
        if (path / DICT_FILE).is_file():
            return DatasetDictSource(path, display, target=target)
        return DatasetSource(path, display, target=target)


def _is_folder(path: Path | Location) -> bool:
    """A local directory; at a URL, a prefix holding a folder's JSON file (an HTTP server shows
    no folders, and an object store's are only prefixes)."""
    if isinstance(path, Location):
        return any((path / name).is_file() for name in (DICT_FILE, STATE_FILE))
    return path.is_dir()


def read_json(path: Path | Location, display: str) -> Any:
    try:
        if isinstance(path, Location) and not path.exists():
            raise FileNotFoundError(path.display)
        size = path.stat().st_size
        if size > MAX_JSON:
            raise SourceError(f"{display}: {path.name} is {size:,} bytes, too big to be metadata")
        with open_binary(path) as fp:
            return json.loads(fp.read())
    except FileNotFoundError:
        raise SourceError(
            f"{display} has no {path.name}; it is not a complete Hugging Face dataset folder "
            "(save it again with save_to_disk)"
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise SourceError(f"{display}: {path.name} is not valid JSON ({exc})") from None


def data_files(folder: Path, display: str) -> list[tuple[Path, str]]:
    """The split's Arrow files in ``state.json``'s order, each checked to be a file of the
    folder."""
    state = read_json(folder / STATE_FILE, display)
    listed = state.get("_data_files") if isinstance(state, dict) else None
    if not isinstance(listed, list):
        raise SourceError(f"{display}: {STATE_FILE} has no list of _data_files")
    out = []
    for entry in listed:
        name = entry.get("filename") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name or Path(name).name != name or name in (".", ".."):
            raise SourceError(
                f"{display}: {STATE_FILE} names a data file {name!r} that is not a file name in "
                "the folder"
            )
        f = folder / name
        if not f.is_file():  # (at a URL: one request for each file's size)
            raise SourceError(
                f"{display}: {STATE_FILE} names {name}, which is not in the folder; the dataset "
                "is incomplete (copy the missing file or save the dataset again)"
            )
        out.append((f, f"{display}/{name}"))
    if not out:
        arrows = (
            [] if isinstance(folder, Location) else sorted(p.name for p in folder.glob("*.arrow"))
        )
        raise SourceError(
            f"{display} has no Arrow data files ({STATE_FILE} lists none"
            + (
                f"; the folder holds {', '.join(arrows[:5])}, which it does not list)"
                if arrows
                else ")"
            )
            + "; save the dataset again"
        )
    return out


class DatasetSource(ArrowSource):
    """One ``Dataset`` folder (a split): its Arrow streams as one table, ClassLabel columns as
    labels with their classes."""

    format = "huggingface"

    def __init__(self, path: Path, display: str, *, target: str | None = None,
                 split: str | None = None):  # fmt: skip
        """``split``: the split of the ``DatasetDict`` folder ``path`` to read (its folder
        ``path/split``); its arrays are named ``SPLIT/COLUMN`` and their path is the
        ``DatasetDict``'s, so the outputs of fixes go beside the folder, named by split."""
        folder = path / split if split is not None else path
        files = data_files(folder, display)
        info = read_json(folder / INFO_FILE, display) if (folder / INFO_FILE).is_file() else None
        super().__init__(path, display, target=target, files=files)
        self.split = split
        self.class_labels = class_labels(self.schema.metadata, info)  # with the info's too

    def columns_array(self, columns: list[str], name: str | None = None) -> TableArray:
        a = super().columns_array(columns, name)
        if self.split is not None and a.name != STACKED:
            a.name = f"{self.split}/{a.name}"
        return a

    def layout(self) -> dict:
        return {**super().layout(), "files": len(self.files)}


class DatasetDictSource(Source):
    """A ``DatasetDict`` folder: its splits, each a :class:`DatasetSource` named
    ``FOLDER:SPLIT``."""

    format = "huggingface"

    def __init__(self, path: Path, display: str, *, target: str | None = None):
        super().__init__(path, display)
        listed = read_json(path / DICT_FILE, display)
        names = listed.get("splits") if isinstance(listed, dict) else None
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise SourceError(f"{display}: {DICT_FILE} has no list of splits")
        self.target = target
        self.splits: dict[str, DatasetSource] = {}
        for name in names:
            folder = path / name
            if Path(name).name != name or name in ("", ".", ".."):
                raise SourceError(
                    f"{display}: {DICT_FILE} names a split {name!r} that is not a folder name"
                )
            if not _is_folder(folder):
                shown = folder.display if isinstance(folder, Location) else folder
                raise SourceError(
                    f"{display}: {DICT_FILE} names the split {name!r}, but there is no folder "
                    f"{shown}; the dataset is incomplete (save it again with save_to_disk)"
                )
            self.splits[name] = DatasetSource(path, f"{display}:{name}", target=target, split=name)
        if not self.splits:
            raise SourceError(f"{display}: {DICT_FILE} lists no splits")
        self._chosen: DatasetSource | None = None

    def _split(self, selector: str) -> tuple[DatasetSource, str | None]:
        name, _, columns = selector.partition(":")
        split = self.splits.get(name)
        if split is None:
            raise SourceError(
                f"{self.display} has no split {name!r}; it has: {', '.join(self.splits)} "
                f"(choose one as {self.display}:SPLIT or {self.display}:SPLIT:COLUMN)"
            )
        self._chosen = split
        return split, columns or None

    def narrow(self, selector: str | None) -> tuple[Source, str | None]:
        if not selector:
            return self, selector
        return self._split(selector)

    def array(self, selector: str | None) -> ArrayHandle:
        if selector:
            split, columns = self._split(selector)
            return split.array(columns)
        if len(self.splits) == 1:
            self._chosen = next(iter(self.splits.values()))
            return self._chosen.array(None)
        raise SourceError(
            f"{self.display} holds the splits {', '.join(self.splits)}; choose one as "
            f"{self.display}:SPLIT (or SPLIT:COLUMN)"
        )

    def select(self, selector: str) -> ArrayHandle:
        return self.array(selector)

    def target_array(self) -> ArrayHandle:
        """The ``--target`` column of the split chosen by :meth:`array` (the only split, if
        there is one)."""
        chosen = self._chosen or (
            next(iter(self.splits.values())) if len(self.splits) == 1 else None
        )
        if chosen is None:
            raise SourceError(
                f"{self.display} holds the splits {', '.join(self.splits)}; --target needs one: "
                f"{self.display}:SPLIT"
            )
        return chosen.target_array()

    def arrays(self) -> list[ArrayHandle]:
        """Every split's arrays (named ``SPLIT/NAME``)."""
        return [a for src in self.splits.values() for a in src.arrays()]

    def entries(self) -> list[Entry]:
        out = []
        for split, src in self.splits.items():
            out.append(Entry(split, "group", note=f"split: {src.num_rows:,} rows in "
                                                  f"{len(src.files)} file(s)"))  # fmt: skip
            out += [Entry(f"{split}:{e.path}", e.kind, e.array, e.note, e.column_kind)
                    for e in src.entries()]  # fmt: skip
        return out

    def index_columns(self) -> list[str]:
        return []
