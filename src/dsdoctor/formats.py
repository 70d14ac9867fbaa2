"""The file formats dsdoctor reads and writes: one row each, the only place a format is named.

A row says how a file of the format is recognised, which module reads it, which module writes
it (if any) and what an output of it may be called:

- **name**: what ``--source-format`` takes and :attr:`ArrayHandle.format` holds;
- **extensions**: the names read as this format (lower case, with the dot; ``.csv.gz`` is one);
  a fix strips them from a source's name to name its output (``y.h5`` → ``y.padded.npy``);
- **magic**: ``(offset, bytes)`` pairs, any of which identifies a file whose extension says
  nothing (``x.bin``; an HDF5 superblock after a user block);
- **directory**: a directory of files is one dataset of this format (a Parquet dataset), not a
  folder of shards; **markers**: names of files whose presence in a directory makes it one
  dataset of this format (``zarr.json`` for a Zarr v3 store, ``dataset_dict.json`` for a Hugging
  Face folder); a directory with none of them is read as the first ``directory`` format without
  markers (Parquet);
- **reader**: ``"module:Class"`` in :mod:`dsdoctor.sources`, a
  :class:`~dsdoctor.sources.base.Source` built as ``Class(path, display, **options)``;
  **options** names the keywords it takes among ``allow_pickle``, ``follow_external``,
  ``target`` (a format that takes ``target`` is a table: ``--target`` names one of its columns)
  the CSV dialect's ``delimiter``, ``header`` and ``decimal``, and ``one_pass`` (its types
  settled by the first full read instead of a pass of their own: how ``check`` opens it);
- **writer**: a module of :mod:`dsdoctor.sinks` with a ``stream(dest, specs, main, record, *,
  force, compression, inputs)`` context manager (see :mod:`dsdoctor.sinks.writers`), or None for
  a format dsdoctor only reads; **outputs**: the extensions ``-o`` accepts for it (a subset of
  what is read: ``.mat`` and ``.nc`` are HDF5 underneath but have their own conventions, which
  dsdoctor does not write); **datasets**: ``-o FILE:/NAME`` names a dataset inside the file.

Who uses it: :func:`dsdoctor.sources.detect_format` and :func:`~dsdoctor.sources.open_source`
(extension, then magic, then the reader), :mod:`dsdoctor.sources.shards` (which files of a
folder are shards), :func:`dsdoctor.sinks.parse_destination` and
:func:`~dsdoctor.sinks.stream_arrays` (output extensions, writer), and
:func:`dsdoctor.checks.fixes.output_for` (output names of fixes).

A format dsdoctor recognises but does not read (TFRecord, a pickle, a Lance folder) is a row of
:data:`UNREAD` instead: detection refuses it in one line naming what it is (:func:`unread_message`).

Adding a format: a reader module in ``sources/`` (and a writer module in ``sinks/`` if dsdoctor
writes it) and one row of :data:`FORMATS`. This module imports nothing of dsdoctor, so every layer may use it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Format:
    """One row of :data:`FORMATS` (the fields are described at the top of this module)."""

    name: str
    label: str  # how messages name the format: "HDF5"
    extensions: tuple[str, ...]
    reader: str  # "module:Class" in dsdoctor.sources
    options: tuple[str, ...] = ()
    magic: tuple[tuple[int, bytes], ...] = ()
    directory: bool = False
    markers: tuple[str, ...] = ()
    writer: str | None = None  # a module of dsdoctor.sinks
    outputs: tuple[str, ...] = ()
    datasets: bool = False
    shown: str = ""  # how an error names what is read (default: the first extension)
    outputs_shown: str = ""  # how an error names what -o takes (default: the first output)

    @property
    def is_table(self) -> bool:
        """``--target`` names one of its columns."""
        return "target" in self.options


#: The superblock signature. HDF5 puts it at 0 or after a user block of 512·2ⁿ bytes; dsdoctor
#: looks at the first four places (a MATLAB v7.3 ``.mat`` has a 512-byte user block).
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"

FORMATS: tuple[Format, ...] = (
    Format("npy", "npy", (".npy", ".npy.gz", ".npy.bz2", ".npy.xz", ".npy.zst"), "npy:NpySource",
           ("allow_pickle",), magic=((0, b"\x93NUMPY"),), writer="npy", outputs=(".npy",)),
    Format("npz", "npz", (".npz",), "npz:NpzSource", ("allow_pickle",),
           magic=((0, b"PK\x03\x04"), (0, b"PK\x05\x06")), writer="npz", outputs=(".npz",)),
    Format("hdf5", "HDF5", (".h5", ".hdf5", ".hdf", ".he5", ".mat", ".nc"), "hdf5:H5Source",
           ("follow_external", "target", "allow_pickle"), magic=tuple((at, HDF5_MAGIC) for at in (0, 512, 1024, 2048)),
           writer="hdf5", outputs=(".h5", ".hdf5", ".hdf"), datasets=True, shown=".h5/.hdf5",
           outputs_shown=".h5 (or .h5:/NAME), .hdf5"),
    Format("parquet", "Parquet", (".parquet", ".pq", ".parq"), "parquet:ParquetSource",
           ("target",), magic=((0, b"PAR1"), (0, b"PARE")),  # PARE: an encrypted footer
           directory=True, writer="parquet", outputs=(".parquet", ".pq")),
    Format("csv", "CSV", (".csv", ".tsv", *(f"{t}{c}" for t in (".csv", ".tsv")
                                            for c in (".gz", ".bz2", ".xz", ".zst"))),
           "csv:CsvSource", ("target", "delimiter", "header", "decimal", "one_pass"),
           shown=".csv/.tsv"),
    Format("arrow", "Arrow IPC", (".arrow", ".feather", ".ipc", ".arrows"), "arrow:ArrowSource",
           ("target",), magic=((0, b"ARROW1"), (0, b"\xff\xff\xff\xff")),  # file, stream
           shown=".arrow/.feather"),
    Format("huggingface", "Hugging Face", (), "hf:HuggingFaceFolder", ("target",), directory=True,
           markers=("dataset_dict.json", "state.json"), shown="save_to_disk folders"),
    Format("zarr", "Zarr", (".zarr", ".zarr.zip"), "zarr:ZarrSource", directory=True,
           markers=("zarr.json", ".zarray", ".zgroup"), writer="zarr", outputs=(".zarr",),
           datasets=True, outputs_shown=".zarr (or .zarr:/NAME)"),
    Format("safetensors", "safetensors", (".safetensors",), "safetensors:SafetensorsSource"),
    Format("netcdf3", "NetCDF-3", (), "netcdf3:Netcdf3Source",
           magic=((0, b"CDF\x01"), (0, b"CDF\x02"), (0, b"CDF\x05")), shown=".nc"),
    Format("webdataset", "WebDataset tar", (".tar",), "webdataset:TarSource",
           magic=((257, b"ustar"),)),
)  # fmt: skip


@dataclass(frozen=True)
class Unread:
    """A format dsdoctor knows by name or by its first bytes but does not read: a file of it is
    refused in one line saying what it is, what dsdoctor reads, and how to get there."""

    label: str  # what the file is: "a Python pickle"
    extensions: tuple[str, ...] = ()
    magic: tuple[tuple[int, bytes], ...] = ()
    hint: str = ""
    directory: bool = False  # a directory of this name is one dataset (a Lance dataset)


_NO_PICKLE = ("dsdoctor never unpickles a data file (a pickle can run any code); save the arrays "
              "with np.save/np.savez, safetensors or Parquet")  # fmt: skip
#: Formats recognised and refused, by extension, then by magic (after every format read).
UNREAD: tuple[Unread, ...] = (
    Unread("a TFRecord file (TensorFlow records; their features need the parsing spec to read)",
           (".tfrecord", ".tfrecords", ".tfrec", ".tfrecord.gz", ".tfrecords.gz"),
           hint="write the parsed features out with np.save or to Parquet"),
    Unread("a compressed tar archive", (".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar.zst"),
           hint="decompress it (gunzip; dsdoctor reads the .npy members of an uncompressed "
                "WebDataset tar)"),
    Unread("a PyTorch file (torch.save pickles its tensors, in a zip archive or bare)",
           (".pt", ".pth"), hint=_NO_PICKLE + " (safetensors.torch.save_file; read as FILE:NAME)"),
    Unread("a Python pickle", (".pkl", ".pickle", ".joblib"),
           tuple((0, b"\x80" + bytes([v])) for v in (2, 3, 4, 5)), hint=_NO_PICKLE),
    Unread("a Lance dataset", (".lance",), directory=True,
           hint="export it to Parquet (lance.dataset(PATH).to_table(), then pyarrow.parquet.write_table)"),
    Unread("JSON lines (JSONL/NDJSON)", (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz"),
           hint="convert it to Parquet (pandas.read_json(PATH, lines=True).to_parquet(...))"),
    Unread("JSON", (".json",), hint="convert it to Parquet or CSV (pandas.read_json(PATH).to_parquet(...))"),
    Unread("an Avro file", (".avro",), ((0, b"Obj\x01"),), hint="convert it to Parquet"),
    Unread("an ORC file", (".orc",), ((0, b"ORC"),),
           hint="convert it to Parquet (pyarrow.orc.read_table, then pyarrow.parquet.write_table)"),
    Unread("a MATLAB v5 .mat file (not HDF5-based)", (), ((0, b"MATLAB 5.0 MAT-file"),),
           hint="re-save it with save(..., '-v7.3'), which is HDF5"),
    Unread("an Excel workbook", (".xlsx", ".xls"), hint="save the sheet as CSV"),
    Unread("a TensorFlow checkpoint or SavedModel", (".ckpt", ".pb"),
           hint="a model file, not data: give it to --model if it is a format dsdoctor reads"),
)  # fmt: skip

#: The format names, in table order (what ``--source-format`` accepts).
NAMES: tuple[str, ...] = tuple(f.name for f in FORMATS)
BY_NAME: dict[str, Format] = {f.name: f for f in FORMATS}
_READ = {ext: f for f in FORMATS for ext in f.extensions}
_BY_LENGTH = sorted(_READ.items(), key=lambda item: -len(item[0]))
_WRITTEN = {ext: f for f in FORMATS for ext in f.outputs}
#: Magic numbers by offset, then in table order: the order files are sniffed in.
_MAGIC = sorted(((at, magic, f) for f in FORMATS for at, magic in f.magic), key=lambda m: m[0])
_EVERY_MAGIC: list[tuple[tuple[int, bytes], ...]] = [f.magic for f in FORMATS] + [
    u.magic for u in UNREAD
]
_UNREAD_BY_LENGTH = sorted(
    ((ext, u) for u in UNREAD for ext in u.extensions), key=lambda i: -len(i[0])
)
#: Bytes to read from the start of a file to see every magic number.
SNIFF_BYTES = max(at + len(magic) for magics in _EVERY_MAGIC for at, magic in magics)


def read_by_extension(suffix: str) -> Format | None:
    """The format a file named ``*.suffix`` is read as (``".H5"`` → hdf5), or None."""
    return _READ.get(suffix.lower())


def read_by_name(name: str) -> Format | None:
    """The format a file called ``name`` is read as by its extension, the longest that matches
    (``train.csv.gz`` → csv), or None."""
    lower = name.lower()
    return next((f for ext, f in _BY_LENGTH if lower.endswith(ext)), None)


def written_by_extension(suffix: str) -> Format | None:
    """The format ``-o *.suffix`` is written as, or None when dsdoctor does not write it."""
    return _WRITTEN.get(suffix.lower())


def by_magic(head: bytes) -> Format | None:
    """The format whose magic number ``head`` (the first :data:`SNIFF_BYTES` of a file) holds."""
    for at, magic, fmt in _MAGIC:
        if head[at : at + len(magic)] == magic:
            return fmt
    return None


def marked_directory(names: Iterable[str]) -> Format | None:
    """The format whose :attr:`~Format.markers` a directory holding files ``names`` has (a
    Hugging Face folder: ``state.json``), or None: such a directory is one dataset, never a
    folder of shards."""
    present = set(names)
    return next((f for f in FORMATS if f.directory and present & set(f.markers)), None)


def has_magic(fmt: Format | Unread, head: bytes) -> bool:
    """Whether ``head`` (the first :data:`SNIFF_BYTES` of a file) holds one of ``fmt``'s magic
    numbers."""
    return any(head[at : at + len(magic)] == magic for at, magic in fmt.magic)


def unread_by_name(name: str) -> Unread | None:
    """The format dsdoctor does not read that a file called ``name`` is, by its extension."""
    lower = name.lower()
    return next((u for ext, u in _UNREAD_BY_LENGTH if lower.endswith(ext)), None)


def unread_by_magic(head: bytes) -> Unread | None:
    """The format dsdoctor does not read whose magic number ``head`` holds."""
    return next((u for u in UNREAD if has_magic(u, head)), None)


def unread_message(display: str, what: Unread) -> str:
    """``x.tfrecord is a TFRecord file …; dsdoctor reads .npy, … — write …``: one line."""
    return (f"{display} is {what.label}, which dsdoctor does not read; it reads "
            f"{read_extensions_text()}" + (f" — {what.hint}" if what.hint else ""))  # fmt: skip


def directory_formats() -> list[Format]:
    """The formats of which a directory is one dataset (Parquet)."""
    return [f for f in FORMATS if f.directory]


def by_directory(names: Iterable[str]) -> Format:
    """The format a directory holding files called ``names`` is read as: the first format one of
    whose :attr:`~Format.markers` is among them, else the first directory format without markers
    (a folder of Parquet files)."""
    return marked_directory(names) or next(f for f in FORMATS if f.directory and not f.markers)


def strip_extension(name: str) -> str:
    """``train.h5`` → ``train``: a file name without the extension it is read by (if any)."""
    lower = name.lower()
    for ext, _ in _BY_LENGTH:
        if lower.endswith(ext):
            return name[: -len(ext)]
    return name


def is_table_format(name: str) -> bool:
    """Whether sources of format ``name`` are tables (columns that ``--target`` or
    ``select --columns`` can name)."""
    fmt = BY_NAME.get(name)
    return fmt is not None and fmt.is_table


def read_extensions_text() -> str:
    """``.npy, .npz, .h5/.hdf5, .parquet, .csv/.tsv``: what dsdoctor reads, for messages."""
    return ", ".join(f.shown or f.extensions[0] for f in FORMATS)


def output_extensions_text() -> str:
    """``.npy, .npz, .h5 (or .h5:/NAME), .hdf5 or .parquet``: what ``-o`` takes, for messages."""
    shown = [f.outputs_shown or f.outputs[0] for f in FORMATS if f.outputs]
    return ", ".join(shown[:-1]) + " or " + shown[-1] if len(shown) > 1 else shown[0]
