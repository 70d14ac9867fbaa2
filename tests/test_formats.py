"""The format table (dsdoctor.formats) is the one place a format is named: every row's reader
and writer exist and take what the row says, files are recognised by its extensions and magic
numbers (real files written by numpy, h5py and pyarrow), and the messages that list formats
are built from it with the same words as before the table existed."""

from __future__ import annotations

import inspect
import re
import shutil
import tarfile
from importlib import import_module
from pathlib import Path

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from safetensors.numpy import save_file
from scipy.io import netcdf_file

import dsdoctor
from dsdoctor import formats
from dsdoctor.checks.fixes import output_for
from dsdoctor.errors import OutputError, SourceError, UsageError
from dsdoctor.sinks import parse_destination
from dsdoctor.sinks.destination import SUPPORTED
from dsdoctor.sources import detect_format, open_source, sniff
from dsdoctor.sources.base import Source
from dsdoctor.sources.shards import directory_shards


@pytest.mark.parametrize("row", formats.FORMATS, ids=lambda f: f.name)
def test_each_row_names_a_reader_that_takes_its_options(row):
    module, name = row.reader.split(":")
    reader = getattr(import_module(f"dsdoctor.sources.{module}"), name)
    assert issubclass(reader, Source)
    params = inspect.signature(reader).parameters
    assert list(params)[:2] == ["path", "display"]
    for option in row.options:
        assert params[option].kind is inspect.Parameter.KEYWORD_ONLY, option
    assert set(row.options) <= {"allow_pickle", "follow_external", "target", "delimiter", "header",
                                "decimal", "one_pass"}  # fmt: skip


@pytest.mark.parametrize("row", formats.FORMATS, ids=lambda f: f.name)
def test_each_row_names_a_writer_or_none_and_the_outputs_it_takes(row):
    assert bool(row.writer) == bool(row.outputs)
    assert set(row.outputs) <= set(row.extensions)  # -o names a file dsdoctor can read back
    if row.writer:
        assert callable(import_module(f"dsdoctor.sinks.{row.writer}").stream)
        for ext in row.outputs:
            assert parse_destination(f"o{ext.upper()}").format == row.name
    assert not row.datasets or row.writer


def test_extensions_are_lower_case_and_each_names_one_format():
    every = [ext for row in formats.FORMATS for ext in row.extensions]
    assert len(every) == len(set(every))
    assert all(ext.startswith(".") and ext == ext.lower() for ext in every)


def test_messages_list_the_formats_as_before():
    """The words the hand-written lists had, now built from the table (a new format adds to
    them: a read-only one to the first two, not to what -o takes)."""
    assert formats.read_extensions_text().startswith(".npy, .npz, .h5/.hdf5, .parquet, .csv/.tsv")
    assert SUPPORTED.startswith(".npy, .npz, .h5 (or .h5:/NAME), .hdf5, .parquet")
    with pytest.raises(UsageError, match=r"choose one of npy, npz, hdf5, parquet, csv\b"):
        detect_format(Path("x.npy"), "no-such-format")
    with pytest.raises(
        OutputError, match=r"only HDF5 or Zarr outputs have; drop it or write \.h5 or \.zarr$"
    ):
        parse_destination("x.npy:/a")
    with pytest.raises(OutputError, match=r"cannot write \.parq; name the output \.npy, \.npz"):
        parse_destination("x.parq")  # read, not written (as before the table)


def _files(folder: Path) -> dict[str, Path]:
    """One real file per format, written by its own library."""
    a = np.arange(12.0).reshape(4, 3)
    np.save(folder / "a.npy", a)
    np.savez(folder / "a.npz", x=a)
    with h5py.File(folder / "a.h5", "w", userblock_size=512) as f:  # superblock at 512
        f["x"] = a
    pq.write_table(pa.table({"x": a[:, 0]}), folder / "a.parquet")
    (folder / "a.csv").write_text("x,y\n1,2\n3,4\n")
    with pa.ipc.new_file(folder / "a.arrow", pa.schema([("x", pa.float64())])) as w:
        w.write_table(pa.table({"x": a[:, 0]}))
    hf = folder / "hf"  # a folder Hugging Face datasets' Dataset.save_to_disk writes
    datasets = pytest.importorskip("datasets")
    datasets.Dataset.from_dict({"x": a[:, 0]}).save_to_disk(str(hf))
    import zarr

    zarr.open_group(folder / "a.zarr", mode="w").create_array("x", data=a)
    save_file({"x": a}, str(folder / "a.safetensors"))
    with netcdf_file(folder / "a.nc", "w") as nc:  # NetCDF-3 classic
        nc.createDimension("n", 4)
        nc.createDimension("f", 3)
        nc.createVariable("x", "f8", ("n", "f"))[:] = a
    with tarfile.open(folder / "a.tar", "w") as tar:  # a WebDataset shard of one field
        tar.add(folder / "a.npy", arcname="000.x.npy")
    return {
        "arrow": folder / "a.arrow",
        "huggingface": hf,
        "npy": folder / "a.npy",
        "npz": folder / "a.npz",
        "hdf5": folder / "a.h5",
        "parquet": folder / "a.parquet",
        "csv": folder / "a.csv",
        "zarr": folder / "a.zarr",
        "safetensors": folder / "a.safetensors",
        "netcdf3": folder / "a.nc",
        "webdataset": folder / "a.tar",
    }


def test_every_extension_and_every_magic_number_finds_its_format(tmp_path):
    files = _files(tmp_path)
    missing = set(formats.NAMES) - set(files)
    assert not missing, f"add a file of {missing} to _files: every row is tried on a real file"
    renamed = tmp_path / "renamed"
    renamed.mkdir()
    for name, path in files.items():
        row = formats.BY_NAME[name]
        if not row.extensions:  # a folder format known only by its marker files
            assert sniff(path) == name and dsdoctor.load(f"{path}:x").shape[0] == 4
            continue
        for ext in row.extensions:
            assert detect_format(Path(f"f{ext.upper()}"), None) == name
        unknown = renamed / f"{name}.bin"
        if path.is_dir():  # a store: recognised by the metadata files it holds (markers)
            shutil.copytree(path, unknown)
            assert sniff(unknown) == name
            assert dsdoctor.load(f"{unknown}:x").shape
            continue
        unknown.write_bytes(path.read_bytes())
        if row.magic:  # recognised by its bytes under a name that says nothing
            assert sniff(unknown) == name
            assert dsdoctor.load(f"{unknown}:x" if name in ("npz", "hdf5") else str(unknown)).shape
        else:
            with pytest.raises(SourceError, match=r"unknown file type \.bin; dsdoctor reads"):
                detect_format(unknown, None)
    assert sniff(tmp_path) == "parquet"  # a directory is a Parquet dataset


@pytest.mark.parametrize("ext", formats.BY_NAME["csv"].extensions)
def test_every_csv_extension_reads_a_file_pandas_wrote(tmp_path, ext):
    """``.csv.gz`` … ``.tsv.zst``: recognised by the whole extension, decompressed, read."""
    import pandas as pd

    compression = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd"}.get(Path(ext).suffix)
    if compression == "zstd":
        pytest.importorskip("zstandard")  # what pandas writes zstd with
    p = tmp_path / f"a{ext}"
    pd.DataFrame({"x": [1.5, 2.5], "y": [3, 4]}).to_csv(
        p, index=False, sep="\t" if ".tsv" in ext else ",", compression=compression
    )
    assert detect_format(p, None) == "csv"
    np.testing.assert_array_equal(dsdoctor.load(str(p)).read(), [[1.5, 3], [2.5, 4]])


def test_magic_numbers_are_looked_for_nearest_the_start_first(tmp_path):
    """A (deliberately odd) file with a Parquet magic at 0 and an HDF5 superblock at 512 is
    Parquet, as when each format was sniffed by hand in this order."""
    odd = tmp_path / "odd.bin"
    odd.write_bytes(b"PAR1" + bytes(508) + formats.HDF5_MAGIC + bytes(16))
    assert sniff(odd) == "parquet"


def test_a_directory_of_one_readable_format_is_shards_unless_that_format_is_a_directory(tmp_path):
    for i in range(2):
        np.save(tmp_path / f"s{i}.npy", np.zeros((2, 3)))
    assert directory_shards(tmp_path) == [str(tmp_path / "s0.npy"), str(tmp_path / "s1.npy")]
    pq_dir = tmp_path / "pq"
    pq_dir.mkdir()
    pq.write_table(pa.table({"x": [1.0]}), pq_dir / "part-0.parquet")
    assert directory_shards(pq_dir) is None
    with pytest.raises(SourceError, match=r"only Parquet .*datasets can be directories"):
        open_source(str(pq_dir), format="npy")


@pytest.mark.parametrize("ext", [e for row in formats.FORMATS for e in row.extensions])
def test_a_fix_names_its_output_without_the_extension_the_source_is_read_by(tmp_path, ext):
    """``train.mat:/x`` → ``train.x.padded.npy`` as ``train.h5:/x`` → ``train.x.padded.npy``
    (before the table, only some of the extensions read were stripped: ``train.mat.x…``)."""
    h = dsdoctor.load(np.zeros((2, 3)))
    h.path, h.name = tmp_path / f"train{ext.upper()}", "x"
    h.source = f"{h.path}:x"
    assert output_for(h, "padded") == str(tmp_path / "train.x.padded.npy")
    h.name, h.source = "", str(h.path)
    assert output_for(h, "padded") == str(tmp_path / "train.padded.npy")


def test_the_readme_lists_every_extension_read():
    """README's source table names the extensions of each row of the table, no more."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## Sources: `PATH[:SELECTOR]`", 1)[1].split("\n## ", 1)[0]
    cells = [line.split("|")[2] for line in section.splitlines() if line.startswith("| ")]
    listed = {ext for cell in cells for ext in re.findall(r"(?<![\w.])(?:\.[a-z0-9]+)+\b", cell)}
    assert listed == {ext for row in formats.FORMATS for ext in row.extensions}
