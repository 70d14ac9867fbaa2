"""Formats dsdoctor does not read are named in one line — what the file is, what dsdoctor reads,
how to get there — instead of a misleading parse error ("not a valid .npy file", "name the
format with --source-format"). Files are written by their own libraries where one is installed
(tarfile, pickle, torch.save, pandas, pyarrow.orc, scipy.io.savemat); TFRecord and Lance are
recognised by name only (neither has a magic number to sniff), so a file or folder of that name
is enough."""

from __future__ import annotations

import pickle
import tarfile

import numpy as np
import pytest

from dsdoctor import formats

from .conftest import assert_clean_error, cli, run

READS = formats.read_extensions_text()


def _tar_gz(path):
    member = path.parent / "000.npy"
    np.save(member, np.zeros(3))
    with tarfile.open(path, "w:gz") as t:  # a compressed WebDataset shard
        t.add(member, arcname="000.npy")
    member.unlink()
    return path


def _torch(path, legacy=False):
    torch = pytest.importorskip("torch")
    torch.save({"x": torch.zeros(3)}, path, _use_new_zipfile_serialization=not legacy)
    return path


def _pickle(path):
    with open(path, "wb") as fp:
        pickle.dump({"x": [1, 2, 3]}, fp)
    return path


def _jsonl(path):
    import pandas as pd

    pd.DataFrame({"a": [1, 2]}).to_json(path, orient="records", lines=True)
    return path


def _orc(path):
    import pyarrow as pa
    import pyarrow.orc as orc

    orc.write_table(pa.table({"a": [1, 2]}), path)
    return path


def _mat5(path):
    from scipy.io import savemat

    savemat(path, {"x": np.zeros(3)})
    return path


def _empty(path):
    path.write_bytes(b"")
    return path


CASES = {
    "data.tfrecord": (_empty, "a TFRecord file"),
    "shard-000.tar.gz": (_tar_gz, "a compressed tar archive"),
    "model.pt": (_torch, "a PyTorch file"),
    "legacy.pth": (lambda p: _torch(p, legacy=True), "a PyTorch file"),
    "frame.pkl": (_pickle, "a Python pickle"),
    "rows.jsonl": (_jsonl, "JSON lines"),
    "table.orc": (_orc, "an ORC file"),
    "old.mat": (_mat5, "a MATLAB v5 .mat file"),
}
#: What each file is when its name says nothing: found by its magic number, or (a zip that
#: torch.save wrote) by what the archive holds.
BY_CONTENT = {"frame.pkl": "a Python pickle",
              "table.orc": "an ORC file", "model.pt": "a PyTorch file",
              "legacy.pth": "a Python pickle"}  # fmt: skip


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("command", ["check", "inspect-selected", "replicate"])
def test_each_unread_format_is_named_in_one_line(tmp_path, name, command):
    make, what = CASES[name]
    path = make(tmp_path / name)
    out = tmp_path / "out.npy"
    args = {"check": ["check", path], "inspect-selected": ["inspect", f"{path}:x"],
            "replicate": ["replicate", f"{path}:x", "--to", "3", "-o", out]}[command]  # fmt: skip
    r = cli(*args)
    assert_clean_error(r, f"{path} is {what}", "which dsdoctor does not read", f"it reads {READS}")
    assert not out.exists()


@pytest.mark.parametrize("name", BY_CONTENT)
def test_a_misnamed_file_is_named_by_its_content(tmp_path, name):
    make, _ = CASES[name]
    path = make(tmp_path / name)
    renamed = path.rename(tmp_path / "blob.bin")
    assert_clean_error(run("check", renamed), f"{renamed} is {BY_CONTENT[name]}")


def test_a_classic_mat_named_mat_is_not_an_hdf5_error(tmp_path):
    """``.mat`` is read as HDF5 (v7.3); a v5 file said "cannot be read as HDF5 (file signature
    not found)"."""
    r = run("check", _mat5(tmp_path / "x.mat"))
    assert_clean_error(r, "MATLAB v5", "-v7.3")
    assert "signature" not in r.stderr


def test_a_pickle_named_npy_says_it_is_a_pickle(tmp_path):
    assert_clean_error(run("check", _pickle(tmp_path / "x.npy")), "is a Python pickle",
                       "never unpickles")  # fmt: skip


def test_a_lance_dataset_folder(tmp_path):
    folder = tmp_path / "ds.lance"
    (folder / "_versions").mkdir(parents=True)
    (folder / "data").mkdir()
    assert_clean_error(run("check", folder), f"{folder} is a Lance dataset", "Parquet")


def test_a_folder_of_tfrecord_shards(tmp_path):
    for i in range(3):
        _empty(tmp_path / f"train-{i:05d}.tfrecord")
    assert_clean_error(run("check", tmp_path), f"{tmp_path} holds only files dsdoctor does not read",
                       "TFRecord")  # fmt: skip


def test_a_folder_with_readable_files_is_not_refused(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((3, 2)))
    np.save(tmp_path / "y.npy", np.zeros(3))
    (tmp_path / "notes.jsonl").write_text("{}\n")
    assert run("check", tmp_path).code == 0


def test_the_source_format_option_still_wins(tmp_path):
    """A CSV saved as ``.json`` by mistake is read when the user names its format."""
    path = tmp_path / "rows.json"
    path.write_text("a,b\n1,2\n3,4\n")
    assert_clean_error(run("check", path), "is JSON")
    assert run("check", path, "--source-format", "csv").code == 0
