"""Where an output goes: the format from the extension of ``-o``, and where siblings live.

``x.npy`` → ``x.npy`` + ``x.mask.npy`` + ``x.lengths.npy``; ``x.npz`` → members; ``x.h5`` or
``x.h5:/grp/name`` → datasets ``/grp/name``, ``/grp/name_mask``, …; ``x.parquet`` → columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import OutputError

EXTENSIONS = {
    ".npy": "npy",
    ".npz": "npz",
    ".h5": "hdf5",
    ".hdf5": "hdf5",
    ".hdf": "hdf5",
    ".parquet": "parquet",
    ".pq": "parquet",
}
DEFAULT_DATASET = "/data"
SUPPORTED = ".npy, .npz, .h5 (or .h5:/NAME), .hdf5 or .parquet"


@dataclass(frozen=True)
class Destination:
    """A parsed ``-o`` value."""

    text: str
    path: Path
    format: str  # "npy" | "npz" | "hdf5" | "parquet"
    dataset: str | None = None  # HDF5 only: the main dataset's path

    def npy_path(self, role: str, *, main: bool) -> Path:
        """``x.npy`` for the main array, ``x.<role>.npy`` for a sibling."""
        if main:
            return self.path
        return self.path.with_name(f"{self.path.name[: -len(self.path.suffix)]}.{role}.npy")

    def hdf5_name(self, role: str, *, main: bool) -> str:
        """``/name`` for the main array, ``/name_<role>`` for a sibling."""
        assert self.dataset is not None
        return self.dataset if main else f"{self.dataset}_{role}"


def parse_destination(out: str | Path) -> Destination:
    """Split ``x.h5:/name`` into file and dataset and pick the format from the extension."""
    text = str(out)
    if not text or text == "-":
        raise OutputError(f"cannot write to {text or 'an empty name'!r}; name a {SUPPORTED} file")
    fmt = EXTENSIONS.get(Path(text).suffix.lower())
    if fmt is not None or isinstance(out, Path):
        return _destination(text, Path(text), fmt, None)
    idx = text.find(":")
    while idx != -1:
        head, selector = text[:idx], text[idx + 1 :]
        fmt = EXTENSIONS.get(Path(head).suffix.lower())
        if fmt is not None:
            return _destination(text, Path(head), fmt, selector)
        idx = text.find(":", idx + 1)
    return _destination(text, Path(text), None, None)


def _destination(text: str, path: Path, fmt: str | None, selector: str | None) -> Destination:
    from .atomic import refuse_folder_name

    if selector is None:  # (an HDF5 name ending in '/' is refused as a name below)
        refuse_folder_name(text)
    if fmt is None:
        ext = path.suffix or "a name without an extension"
        raise OutputError(f"{text}: cannot write {ext}; name the output {SUPPORTED}")
    if fmt != "hdf5":
        if selector is not None:
            raise OutputError(
                f"{text}: ':{selector}' names a dataset, which only HDF5 outputs have; "
                f"drop it or write .h5"
            )
        return Destination(text, path, fmt)
    name = (selector or DEFAULT_DATASET).strip()
    if not name.startswith("/"):
        name = "/" + name
    if name == "/" or name.endswith("/") or "//" in name:
        raise OutputError(f"{text}: {name!r} is not a dataset name; write e.g. {path}:/data")
    return Destination(text, path, fmt, name)
