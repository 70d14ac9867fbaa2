"""A folder given as a source: whatever it holds that is not read is named in the report
(``not_read``, and a ``not read:`` line), locally and at a URL alike — a TFRecord file, a ``.pt``,
a Zarr store inside (a dataset of its own: ``check FOLDER/feat.zarr``) — and a Zarr store inside
a folder is one entry, never walked. Every file is written by its real library (numpy, pandas,
zarr, torch); the TFRecord is framed as TensorFlow frames a record (length, CRC, data, CRC)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from .conftest import assert_clean_error, run
from .remote_servers import Servers, s3_client
from .test_remote_stores import Put

zarr = pytest.importorskip("zarr")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def s3(servers: Servers):
    """An s3fs client of the moto server (through its proxy), with the bucket ``sbkt`` made."""
    yield from s3_client(servers, "sbkt")


def _tfrecord(path: Path) -> None:
    rec = b"\x0a\x00"
    path.write_bytes(struct.pack("<Q", len(rec)) + b"\0" * 4 + rec + b"\0" * 4)


def mix_folder(path: Path) -> Path:
    """X_train/y_train npy, a TFRecord, a torch.save file and a Zarr store holding 29 vs 1."""
    torch = pytest.importorskip("torch")
    path.mkdir()
    rng = np.random.default_rng(0)
    np.save(path / "X_train.npy", rng.normal(size=(29, 8)).astype(np.float32))
    np.save(path / "y_train.npy", np.zeros(29))
    _tfrecord(path / "extra.tfrecord")
    torch.save({"x": torch.zeros(3, 4)}, path / "more.pt")
    root = zarr.open_group(path / "feat.zarr", mode="w", zarr_format=3)
    root.create_array("x", shape=(29, 8), dtype="f4", chunks=(10, 8))[...] = 1.0
    root.create_array("y", shape=(1,), dtype="i8")[...] = 0
    return path


def parquet_mix(path: Path) -> Path:
    """Parquet parts (one missing value), a TFRecord and a Zarr store in one folder."""
    path.mkdir()
    for i in range(3):
        pd.DataFrame({"a": [1.0, np.nan if i == 1 else 2.0], "y": [0, 1]}).to_parquet(
            path / f"part-{i:05d}.snappy.parquet"
        )
    _tfrecord(path / "extra.tfrecord")
    root = zarr.open_group(path / "v3.zarr", mode="w", zarr_format=3)
    root.create_array("x", shape=(4, 2), dtype="f4", chunks=(2, 2))[...] = 1.0
    return path


def _not_read(r) -> dict[str, str]:
    assert r.code in (0, 1), r.stderr
    return {e["entry"]: e["why"] for e in r.json().get("not_read", [])}


def test_a_local_folder_names_every_entry_it_does_not_read(tmp_path):
    folder = mix_folder(tmp_path / "mix")
    r = run("check", str(folder), "--json")
    assert r.code == 0, r.stderr
    skipped = _not_read(r)
    assert set(skipped) == {"extra.tfrecord", "more.pt", "feat.zarr"}
    assert "TFRecord" in skipped["extra.tfrecord"] and "PyTorch" in skipped["more.pt"]
    assert f"check {folder}/feat.zarr" in skipped["feat.zarr"]
    text = run("check", str(folder))
    assert "healthy" not in text.stdout and "3 entries of the folder not read" in text.stdout
    assert f"not read: {folder}/feat.zarr" in text.stdout
    page = tmp_path / "r.html"
    assert run("check", str(folder), "--format", "html", "-o", str(page)).code == 0
    html = page.read_text()
    assert "Not read (3)" in html and "looks healthy" not in html and "feat.zarr" in html
    # JUnit: a skipped testcase for each entry; GitHub: a notice each (never a silent pass)
    junit = run("check", str(folder), "--format", "junit").stdout
    assert junit.count('<skipped message="not read: ') == 3 and "not read: more.pt" in junit
    github = run("check", str(folder), "--format", "github").stdout.splitlines()
    assert sum(line.startswith("::notice ") and "was not read" in line for line in github) == 3
    # the store it names holds the planted problem, found when it is checked as suggested
    assert run("check", str(folder / "feat.zarr")).code == 1


def test_a_local_parquet_folder_skips_and_names_a_tfrecord_and_a_store(tmp_path):
    folder = parquet_mix(tmp_path / "mix4")
    r = run("check", str(folder), "--target", "y", "--json")
    assert r.code == 1, r.stderr  # the missing value (DS405) of the parts, read as one table
    assert {f["name"] for f in r.json()["findings"]} == {"missing-values"}
    assert set(_not_read(r)) == {"extra.tfrecord", "v3.zarr"}
    assert "PAR1" not in r.stderr
    assert {a["shape"][0] for a in r.json()["arrays"].values()} == {6}  # 3 parts x 2 rows


def test_a_local_folder_of_two_formats_suggests_a_glob_of_the_commoner(tmp_path):
    folder = tmp_path / "two"
    folder.mkdir()
    for i in range(2):
        pd.DataFrame({"a": [1.0, 2.0]}).to_csv(folder / f"p{i}.csv", index=False)
    np.save(folder / "a.npy", np.ones((2, 1)))
    assert_clean_error(run("check", str(folder)), "mixes formats", f"{folder}/*.csv")


@pytest.mark.parametrize("kind", ["s3", "gs"])
def test_the_same_folder_at_a_url_reads_and_names_alike(servers: Servers, s3, tmp_path, kind):
    put = Put(servers, s3, kind)
    url = put(mix_folder(tmp_path / "mix"), "folders/mix")
    r = put.dsd("check", url, "--json")
    assert r.code == 0, r.stderr
    skipped = _not_read(r)
    assert set(skipped) == {"extra.tfrecord", "more.pt", "feat.zarr"}
    assert f"check {url}/feat.zarr" in skipped["feat.zarr"]
    roles = {s.get("role") for d in r.json()["datasets"] for s in d["sources"]}
    assert roles == {"x", "y"}  # X_train and y_train paired, as locally
    assert put.dsd("check", f"{url}/feat.zarr", "--json").code == 1

    url4 = put(parquet_mix(tmp_path / "mix4"), "folders/mix4")
    r4 = put.dsd("check", url4, "--target", "y", "--json")
    assert r4.code == 1, r4.stderr  # the zarr store's chunk keys are not listed as files
    assert set(_not_read(r4)) == {"extra.tfrecord", "v3.zarr"}


def test_a_folder_of_two_formats_at_a_url_suggests_its_own_glob(servers: Servers, s3, tmp_path):
    put = Put(servers, s3, "s3")
    folder = tmp_path / "pq"
    folder.mkdir()
    for i in range(2):
        pd.DataFrame({"a": [1.0, 2.0]}).to_parquet(folder / f"p{i}.parquet")
    np.save(folder / "z.npy", np.ones((2, 1)))
    url = put(folder, "folders/pq2")
    assert_clean_error(put.dsd("check", url), "mixes formats", f"{url}/*.parquet")


def test_an_http_folder_named_without_its_slash_is_refused_helpfully(
    servers: Servers, s3, tmp_path
):
    put = Put(servers, s3, "http")
    folder = tmp_path / "spark"
    folder.mkdir()
    pd.DataFrame({"a": [1.0], "y": [0]}).to_parquet(folder / "part-00000.snappy.parquet")
    url = put(folder, "httpfolders/spark")
    assert_clean_error(put.dsd("check", url, "--target", "y"), url, "cannot list")
    assert_clean_error(put.dsd("check", url + "x", "--target", "y"), "no such object")


def test_what_a_folder_s_subfolders_hold_is_named_too(tmp_path):
    # a Parquet folder is walked: a TFRecord inside a partition is read around and named
    folder = tmp_path / "hive"
    for part in (0, 1):
        (folder / f"part={part}").mkdir(parents=True)
        pd.DataFrame({"a": [1.0, 2.0], "y": [0, 1]}).to_parquet(
            folder / f"part={part}" / "f.parquet"
        )
    _tfrecord(folder / "part=1" / "stray.tfrecord")
    r = run("check", str(folder), "--target", "y", "--json")
    assert set(_not_read(r)) == {"part=1/stray.tfrecord"}
    assert {a["shape"][0] for a in r.json()["arrays"].values()} == {4}
    # a folder of npy shards is read by its top files: a subfolder is named, not read
    shards = tmp_path / "shards"
    (shards / "more").mkdir(parents=True)
    np.save(shards / "a.npy", np.ones((3, 2)))
    np.save(shards / "b.npy", np.ones((4, 2)))
    np.save(shards / "more" / "c.npy", np.ones((5, 2)))
    r = run("check", str(shards), "--json")
    assert [a["shape"] for a in r.json()["arrays"].values()] == [[7, 2]]
    assert f"check {shards}/more on its own" in _not_read(r)["more"]
    text = run("check", str(shards)).stdout
    assert f"not read: {shards}/more (a subfolder" in text and "healthy" not in text


def test_a_file_of_another_format_among_parquet_files_is_named_by_its_format(tmp_path):
    folder = tmp_path / "g"
    folder.mkdir()
    pd.DataFrame({"a": [1.0], "y": [0]}).to_parquet(folder / "part-0.parquet")
    with open(folder / "part-1.parquet", "wb") as fp:  # an npy under a Parquet name
        np.save(fp, np.ones(3))
    r = run("check", str(folder), "--target", "y")
    assert_clean_error(r, "part-1.parquet is npy (by its first bytes), not a Parquet file")
    assert "PAR1" not in r.stderr
