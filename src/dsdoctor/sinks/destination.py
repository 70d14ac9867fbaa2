"""Where an output goes: the format from the extension of ``-o`` (the ``outputs`` of
:mod:`dsdoctor.formats`' table), and where siblings live.

``x.npy`` → ``x.npy`` + ``x.mask.npy`` + ``x.lengths.npy``; ``x.npz`` → members; ``x.h5`` or
``x.h5:/grp/name`` → datasets ``/grp/name``, ``/grp/name_mask``, …, and ``x.zarr[:/grp/name]``
→ arrays named the same way; ``x.parquet`` → columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import OutputError
from ..formats import BY_NAME, FORMATS, output_extensions_text, written_by_extension
from ..locations import Location, is_url

DEFAULT_DATASET = "/data"
#: URL protocols dsdoctor reads but cannot write (a web server takes no uploads).
READ_ONLY = ("http", "https")
SUPPORTED = output_extensions_text()


@dataclass(frozen=True)
class Destination:
    """A parsed ``-o`` value."""

    text: str
    path: Path  # or the Location of a URL (``-o s3://bucket/x.npy``; see :mod:`.remote`)
    format: str  # a name in dsdoctor.formats with a writer: "npy", "npz", "hdf5", "parquet", …
    dataset: str | None = None  # a format with datasets (HDF5, Zarr) only: the main one's path

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
    if is_url(text):
        return _url_destination(text)
    fmt = _written(Path(text))
    if fmt is not None or isinstance(out, Path):
        return _destination(text, Path(text), fmt, None)
    idx = text.find(":")
    while idx != -1:
        head, selector = text[:idx], text[idx + 1 :]
        fmt = _written(Path(head))
        if fmt is not None:
            return _destination(text, Path(head), fmt, selector)
        idx = text.find(":", idx + 1)
    return _destination(text, Path(text), None, None)


def url_table_destination(text: str, fmt: str) -> Destination:
    """A table output at a URL (``s3://b/t.csv``: ``fmt`` is ``csv`` or ``parquet``), refused
    as :func:`parse_destination` refuses a bucket, a folder or a read-only protocol."""
    return _url_destination(text, fmt)


def _url_destination(text: str, table: str | None = None) -> Destination:
    """``s3://bucket/x.h5:/name``: the object's URL, then (for HDF5) a dataset after the first
    ``:`` past the host; the storage options are the command's (:mod:`dsdoctor.locations`)."""
    from ..locations import location

    host_end = text.find("/", text.index("://") + 3)
    colon = text.find(":", host_end) if host_end != -1 else -1
    url, selector = (text[:colon], text[colon + 1 :]) if colon != -1 else (text, None)
    if host_end == -1 or url.endswith("/"):
        raise OutputError(
            f"{text} names a bucket or a folder; name the object, e.g. s3://bucket/out.npy"
        )
    loc = location(url)
    if loc.protocol in READ_ONLY:
        raise OutputError(f"{loc.display}: {loc.protocol}:// URLs are read, not written; write "
                          "to s3://, gs:// or a local path")  # fmt: skip
    if table is not None:
        return Destination(text, loc, table)  # type: ignore[arg-type]
    return _destination(text, loc, _written(loc), selector)  # type: ignore[arg-type]


def _written(path: Path | Location) -> str | None:
    fmt = written_by_extension(path.suffix)
    return fmt.name if fmt else None


def _destination(text: str, path: Path, fmt: str | None, selector: str | None) -> Destination:
    from .atomic import refuse_folder_name

    if selector is None:  # (an HDF5 name ending in '/' is refused as a name below)
        refuse_folder_name(text)
    if fmt is None:
        ext = path.suffix or "a name without an extension"
        raise OutputError(f"{text}: cannot write {ext}; name the output {SUPPORTED}")
    if not BY_NAME[fmt].datasets:
        if selector is not None:
            inside = [f for f in FORMATS if f.datasets]
            raise OutputError(
                f"{text}: ':{selector}' names a dataset, which only "
                f"{' or '.join(f.label for f in inside)} outputs have; drop it or write "
                f"{' or '.join(f.outputs[0] for f in inside)}"
            )
        return Destination(text, path, fmt)
    name = (selector or DEFAULT_DATASET).strip()
    if not name.startswith("/"):
        name = "/" + name
    if name == "/" or name.endswith("/") or "//" in name:
        raise OutputError(f"{text}: {name!r} is not a dataset name; write e.g. {path}:/data")
    return Destination(text, path, fmt, name)
