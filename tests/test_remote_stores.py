"""Stores and folders at URLs — Zarr stores (v2, v3, groups), Parquet folders (Hive partitions,
Spark's marker files) and globs, Hugging Face ``save_to_disk`` folders — through each of the
local servers of ``tests/remote_servers.py``: moto (S3, s3fs), gcp-storage-emulator (GCS,
gcsfs) and a range-capable HTTP server, which cannot list a folder (refused in one line) but
serves a Zarr store by its metadata keys.

Every store and folder is written locally by the real library (zarr, pandas ``to_parquet``,
``datasets`` ``save_to_disk``) and put on the server with fsspec; the byte budgets are counted on
the wire by the proxy in front of each server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from .conftest import assert_clean_error, run
from .remote_servers import Servers, environ, s3_client

zarr = pytest.importorskip("zarr")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

KIB = 1024
SERVERS = ("s3", "gs", "http")
#: A ragged token column whose ids include 0 (a real token: padding with 0 collides, DS302).
SEQS = [np.array([3, 0, 5]), np.array([1, 2, 3, 4, 5, 6]), np.array([7]), np.array([0, 9])]


@pytest.fixture(scope="module")
def s3(servers: Servers):
    """An s3fs client of the moto server (through its proxy), with the bucket ``sbkt`` made."""
    yield from s3_client(servers, "sbkt")


class Put:
    """Puts a local file or folder on one server and says its URL and the options to read it."""

    def __init__(self, servers: Servers, s3, kind: str):
        self.servers, self.s3, self.kind = servers, s3, kind

    @property
    def opts(self) -> tuple[str, ...]:
        return ("--storage-option", "token=anon") if self.kind == "gs" else ()

    def url(self, key: str) -> str:
        if self.kind == "s3":
            return f"s3://sbkt/{key}"
        if self.kind == "gs":
            return f"gs://gbkt/{key}"
        return f"{self.servers.http.url}/{key}"

    def __call__(self, local: Path, key: str) -> str:
        if self.kind == "s3":
            self.s3.put(str(local), f"sbkt/{key}", recursive=local.is_dir())
        elif self.kind == "gs":  # gcsfs in a process of its own, as dsdoctor's are
            code = ("import sys, gcsfs\nfs = gcsfs.GCSFileSystem(token='anon')\n"
                    "fs.put(sys.argv[1], sys.argv[2], recursive=sys.argv[3] == '1')\n")  # fmt: skip
            subprocess.run([sys.executable, "-c", code, str(local), f"gbkt/{key}",
                            "1" if local.is_dir() else "0"], env={**os.environ, **self.servers.env},
                           check=True, timeout=120)  # fmt: skip
        else:
            target = self.servers.http_root / key
            target.parent.mkdir(parents=True, exist_ok=True)
            if local.is_dir():
                shutil.copytree(local, target)
            else:
                shutil.copy(local, target)
        return self.url(key)

    def dsd(self, *args, env: dict | None = None):
        return run(*args, *self.opts, env={**self.servers.env, **(env or {})})


@pytest.fixture(params=SERVERS)
def put(request, servers, s3):
    return Put(servers, s3, request.param)


def zarr_store(
    path: Path, fmt: int, arrays: dict[str, np.ndarray], rows: int | None = None
) -> Path:
    """A store written by zarr: each ``name`` (``grp/name`` inside a group) holds its array."""
    root = zarr.open_group(path, mode="w", zarr_format=fmt)
    for name, data in arrays.items():
        step = rows or max(1, len(data))
        a = root.create_array(name, shape=data.shape, dtype=data.dtype,
                              chunks=(step, *data.shape[1:]))  # fmt: skip
        a[...] = data
    return path


def seed_store(path: Path, fmt: int) -> Path:
    rng = np.random.default_rng(0)
    offsets = np.concatenate([[0], np.cumsum([len(s) for s in SEQS])]).astype(np.int64)
    return zarr_store(path, fmt, {
        "x": rng.normal(size=(29, 4)).astype(np.float32),
        "y": np.zeros(1, np.int64),
        "grp/w": rng.normal(size=(10, 5)).astype(np.float32),
        "seq": np.concatenate(SEQS).astype(np.int64),
        "seq_offsets": offsets,
    }, rows=4)  # fmt: skip


def names(r) -> set[str]:
    assert r.code in (0, 1), (r.code, r.stderr)
    return {f["name"] for f in r.json()["findings"]}


# -- Zarr stores: the seed cases through each server ------------------------------------------------
@pytest.mark.parametrize("fmt", [2, 3], ids=["v2", "v3"])
def test_zarr_seed_cases_through_each_server(put, tmp_path, fmt):
    url = put(seed_store(tmp_path / "s.zarr", fmt), f"seed{fmt}/s.zarr")
    # 29 vs 1 (DS101)
    r = put.dsd("check", "--x", f"{url}:/x", "--y", f"{url}:/y", "--json")
    assert r.code == 1, r.stderr
    f = next(f for f in r.json()["findings"] if f["name"] == "sample-count-mismatch")
    assert "29 samples" in f["message"] and "has 1" in f["message"]
    assert r.json()["bytes_fetched"] > 0
    jobs = put.dsd("check", "--x", f"{url}:/x", "--y", f"{url}:/y", "--json", "--jobs", "2")
    assert jobs.code == 1 and jobs.json()["arrays"] == r.json()["arrays"], jobs.stderr
    # the width against --features (DS2xx), in a group; the rank against the model's input
    assert "feature-width-mismatch" in names(
        put.dsd("check", f"{url}:/grp/w", "--features", "4", "--json")
    )
    assert "feature-width-mismatch" not in names(
        put.dsd("check", f"{url}:/grp/w", "--features", "5", "--json")
    )
    assert "rank-mismatch" in names(
        put.dsd("check", "--x", f"{url}:/x", "--input-shape", "(None, 5, 4)", "--json")
    )
    # ragged ids with 0 used as a token: padding with 0 collides (DS302)
    assert {"ragged-sequences", "mask-value-collision"} <= names(
        put.dsd("check", f"{url}:/seq", "--json")
    )
    # pad and bucket to LOCAL outputs, read back
    out = tmp_path / "p.zarr"
    r = put.dsd("pad", f"{url}:/seq", "--maxlen", "6", "--value", "-1", "-o", str(out))
    assert r.code == 0, r.stderr
    g = zarr.open_group(out, mode="r")
    assert [list(row[row != -1]) for row in g["data"][:]] == [list(s) for s in SEQS]
    r = put.dsd("bucket", f"{url}:/seq", "--buckets", "2", "-o", str(tmp_path / "b.zarr"), "--json")
    assert r.code == 0, r.stderr
    b = zarr.open_group(tmp_path / "b.zarr", mode="r")
    assert sum(b[f"bucket_{k}/data"].shape[0] for k in range(2)) == len(SEQS)


def test_zarr_inspect_lists_the_tree_and_reads_data_lazily(put, tmp_path):
    url = put(seed_store(tmp_path / "t.zarr", 3), "tree/t.zarr")
    r = put.dsd("inspect", url, "--json")
    assert r.code == 0, r.stderr
    entries = {e["path"]: e for e in r.json()["sources"][0]["entries"]}
    assert entries["/x"]["shape"] == [29, 4] and entries["/grp/w"]["shape"] == [10, 5]
    assert entries["/seq"]["shape"][0] == len(SEQS)
    r = put.dsd("inspect", f"{url}:/grp/w", "--stats", "--json")
    assert r.code == 0, r.stderr
    want = zarr.open_group(tmp_path / "t.zarr", mode="r")["grp/w"][:]
    stats = r.json()["sources"][0]["entries"][0]["stats"]
    assert stats["max"] == pytest.approx(float(want.max()), rel=1e-6)


@pytest.mark.parametrize("kind", ["s3", "http"])
def test_inspect_of_a_big_remote_zarr_array_fetches_only_metadata(servers, s3, tmp_path, kind):
    """32 MiB of chunks behind a URL: ``inspect`` fetches the metadata and nothing else —
    counted on the wire by the server's proxy, and by dsdoctor."""
    put = Put(servers, s3, kind)
    path = tmp_path / "big.zarr"
    a = zarr.create_array(
        path, shape=(4_000_000,), chunks=(250_000,), dtype="float64", zarr_format=3
    )
    a[:] = np.random.default_rng(0).normal(size=4_000_000)  # 16 chunks, incompressible
    url = put(path, "big/big.zarr")
    proxy = servers.s3 if kind == "s3" else servers.http
    proxy.reset()
    r = put.dsd("inspect", url, "--json")
    wire = proxy.sent
    assert r.code == 0, r.stderr
    src = r.json()["sources"][0]
    assert src["entries"][0]["shape"] == [4_000_000]
    assert 0 < src["bytes_fetched"] <= 8 * KIB
    assert wire <= 16 * KIB, wire
    # a check reads every chunk once: about the store's size on the wire, not a multiple
    stored = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    proxy.reset()
    r = put.dsd("inspect", url, "--stats", "--json")
    assert r.code == 0, r.stderr
    assert stored <= proxy.sent <= 1.2 * stored + 64 * KIB, (proxy.sent, stored)


def test_zarr_bad_input_at_urls(servers, s3, tmp_path):
    put = Put(servers, s3, "s3")
    for fmt, meta in ((2, ".zarray"), (3, "zarr.json")):
        path = zarr_store(tmp_path / f"lost{fmt}.zarr", fmt, {"x": np.arange(8.0)}, rows=2)
        (path / "x" / meta).unlink()
        url = put(path, f"bad/lost{fmt}.zarr")
        r = put.dsd("check", f"{url}:/x")
        assert_clean_error(r, f"{url}:/x", "no .zarray or zarr.json")
        plain = zarr.create_array(tmp_path / f"one{fmt}.zarr", shape=(8,), chunks=(2,),
                                  dtype="f8", zarr_format=fmt)  # fmt: skip
        plain[:] = 1.0
        (tmp_path / f"one{fmt}.zarr" / meta).unlink()
        url = put(tmp_path / f"one{fmt}.zarr", f"bad/one{fmt}.zarr")
        assert_clean_error(put.dsd("inspect", url), url, "not a Zarr store", "lost")
    assert_clean_error(put.dsd("inspect", "s3://no-such-bucket/x.zarr"), "s3://no-such-bucket/x.zarr",
                       "does not exist")  # fmt: skip
    ok = put(seed_store(tmp_path / "ok.zarr", 3), "bad/ok.zarr")
    servers.s3.forbid = True
    try:
        r = put.dsd("inspect", ok)
    finally:
        servers.s3.reset()
    assert_clean_error(r, ok, "access denied (403)")
    http = Put(servers, s3, "http")
    assert_clean_error(http.dsd("inspect", http.url("nothing.zarr")), "nothing.zarr")
    # a server that drops the connection while a chunk is read
    big = zarr.create_array(tmp_path / "drop.zarr", shape=(200_000,), chunks=(50_000,),
                            dtype="f8", zarr_format=3)  # fmt: skip
    big[:] = np.random.default_rng(0).normal(size=200_000)
    url = put(tmp_path / "drop.zarr", "bad/drop.zarr")
    servers.s3.cut_after = 20_000  # each connection: its headers, then part of a body
    try:
        r = put.dsd("inspect", url, "--stats", env={"AWS_MAX_ATTEMPTS": "1"})
    finally:
        servers.s3.reset()
    assert_clean_error(r, url)


# -- Parquet folders and globs -----------------------------------------------------------------
def parquet_folder(path: Path, n: int = 29) -> Path:
    """A Hive-partitioned folder as pandas writes it, with Spark's marker and checksum files."""
    rng = np.random.default_rng(1)
    ids = [SEQS[i % len(SEQS)].tolist() for i in range(n)]
    df = pd.DataFrame({f"f{k}": rng.normal(size=n) for k in range(5)})
    df["input_ids"] = ids
    df["part"] = np.arange(n) % 2
    df.to_parquet(path, partition_cols=["part"])
    (path / "_SUCCESS").write_bytes(b"")
    for f in list(path.rglob("*.parquet")):
        (f.parent / f".{f.name}.crc").write_bytes(b"crc not data")
    return path


@pytest.mark.parametrize("kind", ["s3", "gs"])
def test_parquet_folder_seed_cases(servers, s3, tmp_path, kind):
    put = Put(servers, s3, kind)
    url = put(parquet_folder(tmp_path / "x"), "pq/x")
    one = tmp_path / "y"
    one.mkdir()
    pd.DataFrame({"label": [1]}).to_parquet(one / "part-0.parquet")
    yurl = put(one, "pq/y")
    r = put.dsd("inspect", url + "/", "--json")
    assert r.code == 0, r.stderr
    src = r.json()["sources"][0]
    cols = {e["path"] for e in src["entries"]}
    assert {"input_ids", "part"} <= cols, cols
    feats = f"{url}:f0,f1,f2,f3,f4"
    r = put.dsd("check", "--x", feats, "--y", f"{yurl}:label", "--json")
    assert r.code == 1, r.stderr
    assert "sample-count-mismatch" in {f["name"] for f in r.json()["findings"]}
    assert "feature-width-mismatch" in names(put.dsd("check", feats, "--features", "4", "--json"))
    assert "rank-mismatch" in names(
        put.dsd("check", "--x", feats, "--input-shape", "(None, 5, 4)", "--json")
    )
    assert {"ragged-sequences", "mask-value-collision"} <= names(
        put.dsd("check", f"{url}:input_ids", "--json")
    )
    out = tmp_path / "p.npy"
    r = put.dsd("pad", f"{url}:input_ids", "--maxlen", "6", "--value", "-1", "-o", str(out))
    assert r.code == 0, r.stderr
    padded = np.load(out)
    assert padded.shape == (29, 6)
    # the rows are the partitions' in order: part=0 holds the even rows, part=1 the odd ones
    order = [i for i in range(29) if i % 2 == 0] + [i for i in range(29) if i % 2 == 1]
    assert [list(row[row != -1]) for row in padded] == [SEQS[i % len(SEQS)].tolist() for i in order]
    r = put.dsd("bucket", f"{url}:input_ids", "--buckets", "2", "-o", str(tmp_path / "b.zarr"))
    assert r.code == 0, r.stderr
    b = zarr.open_group(tmp_path / "b.zarr", mode="r")
    assert sum(b[f"bucket_{k}/data"].shape[0] for k in range(2)) == 29


def test_parquet_glob_and_jobs_and_mismatched_schemas(servers, s3, tmp_path):
    put = Put(servers, s3, "s3")
    flat = tmp_path / "flat"
    flat.mkdir()
    rng = np.random.default_rng(2)
    for k in range(4):
        pd.DataFrame({"a": rng.normal(size=500), "b": rng.integers(0, 5, 500)}).to_parquet(
            flat / f"part-{k}.parquet"
        )
    pd.DataFrame({"a": ["text"], "b": [1]}).to_parquet(flat / "odd.parquet")
    url = put(flat, "glob/flat")
    serial = put.dsd("check", f"{url}/part-*.parquet", "--json")
    assert serial.code in (0, 1), serial.stderr
    (arr,) = serial.json()["arrays"].values()
    assert arr["shape"] == [2000, 2]
    jobs = put.dsd("check", f"{url}/part-*.parquet", "--json", "--jobs", "2")
    assert jobs.code == serial.code, jobs.stderr
    a, b = serial.json(), jobs.json()
    for report in (a, b):
        report.pop("bytes_fetched"), report.pop("timing", None)
    assert a["arrays"] == b["arrays"] and a["findings"] == b["findings"]
    r = put.dsd("check", url + "/", "--json")
    assert r.code == 1, r.stderr
    f = next(f for f in r.json()["findings"] if f["name"] == "shard-schema-mismatch")
    assert "odd.parquet" in f["message"]
    assert_clean_error(put.dsd("check", f"{url}/none-*.parquet"), "matches no objects")


def test_dask_workers_read_the_folder_s_urls_with_the_storage_options(servers, s3, tmp_path):
    """Each piece of the folder carries its URL and the storage options (the only credentials:
    none in the environment); the workers fetch their files themselves."""
    distributed = pytest.importorskip("distributed")
    import dsdoctor

    put = Put(servers, s3, "s3")
    folder = tmp_path / "dk"
    folder.mkdir()
    for k in range(3):
        pd.DataFrame({"a": np.arange(k * 100, (k + 1) * 100, dtype=np.float64)}).to_parquet(
            folder / f"p{k}.parquet"
        )
    url = put(folder, "dask/dk")
    env = {**servers.env, "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}
    options = {"key": "testing", "secret": "testing"}
    with environ(env):
        serial = dsdoctor.check(url, storage_options=options).to_dict()
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      host="127.0.0.1", dashboard_address=None) as cluster:  # fmt: skip
            on_cluster = dsdoctor.check(url, engine="dask", scheduler=cluster.scheduler_address,
                                        storage_options=options).to_dict()  # fmt: skip
    serial.pop("bytes_fetched"), on_cluster.pop("bytes_fetched")
    assert json.dumps(on_cluster, sort_keys=True) == json.dumps(serial, sort_keys=True)
    (arr,) = serial["arrays"].values()
    assert arr["stats"]["max"] == 299


def test_an_http_folder_or_glob_is_refused_in_one_line(servers, s3, tmp_path):
    put = Put(servers, s3, "http")
    url = put(parquet_folder(tmp_path / "h"), "hfolder/h")
    assert_clean_error(put.dsd("check", url + "/"), url, "cannot list")
    assert_clean_error(put.dsd("check", f"{url}/part=0/*.parquet"), "cannot list")


# -- Hugging Face save_to_disk folders -----------------------------------------------------------
def hf_folder(path: Path) -> Path:
    datasets = pytest.importorskip("datasets")
    features = datasets.Features({
        "input_ids": datasets.Sequence(datasets.Value("int64")),
        "label": datasets.ClassLabel(names=["neg", "pos"]),
    })  # fmt: skip
    rows = {"input_ids": [SEQS[i % len(SEQS)].tolist() for i in range(29)],
            "label": [i % 2 for i in range(29)]}  # fmt: skip
    train = datasets.Dataset.from_dict(rows, features=features)
    test = datasets.Dataset.from_dict({k: v[:1] for k, v in rows.items()}, features=features)
    datasets.DatasetDict({"train": train, "test": test}).save_to_disk(str(path))
    return path


def _remote_arrow() -> bool:
    """Whether the Arrow IPC reader reads objects at URLs (its own part of the remote work)."""
    import inspect as source_of

    from dsdoctor.sources import arrow

    return "open_binary" in source_of.getsource(arrow)


@pytest.mark.parametrize("kind", SERVERS)
def test_hugging_face_folder_at_a_url(servers, s3, tmp_path, kind):
    put = Put(servers, s3, kind)
    path = hf_folder(tmp_path / "hf")
    url = put(path, "hf/d")
    if not _remote_arrow():
        pytest.skip("the Arrow IPC reader does not read URLs yet (its remote part is separate)")
    r = put.dsd("inspect", url, "--json")
    assert r.code == 0, r.stderr
    paths = {e["path"] for e in r.json()["sources"][0]["entries"]}
    assert {"train", "test", "train:input_ids", "train:label"} <= paths, paths
    r = put.dsd("check", "--x", f"{url}:train:input_ids", "--y", f"{url}:test:label", "--json")
    assert r.code == 1 and "sample-count-mismatch" in names(r), r.stderr
    assert {"ragged-sequences", "mask-value-collision"} <= names(
        put.dsd("check", f"{url}:train:input_ids", "--json")
    )
    out = tmp_path / "p.npy"
    r = put.dsd("pad", f"{url}:train:input_ids", "--maxlen", "6", "--value", "-1", "-o", str(out))
    assert r.code == 0, r.stderr
    assert np.load(out).shape == (29, 6)


def test_a_dataset_dict_naming_a_missing_split_at_a_url(servers, s3, tmp_path):
    put = Put(servers, s3, "s3")
    path = hf_folder(tmp_path / "hf")
    meta = json.loads((path / "dataset_dict.json").read_text())
    (path / "dataset_dict.json").write_text(
        json.dumps({**meta, "splits": ["valid", *meta["splits"]]})
    )
    url = put(path, "hfbad/d")
    assert_clean_error(put.dsd("check", url), url, "names the split 'valid'", "incomplete")


# -- a local folder of Arrow files ---------------------------------------------------------------
def test_a_local_folder_of_arrow_files_is_one_table_and_mismatches_are_ds704(tmp_path):
    import pyarrow as pa
    import pyarrow.feather as feather

    folder = tmp_path / "arrows"
    folder.mkdir()
    for k in range(3):
        feather.write_feather(pa.table({"a": np.arange(k * 10, k * 10 + 10, dtype=np.float64),
                                        "b": np.ones(10)}), folder / f"p{k}.arrow")  # fmt: skip
    r = run("check", folder, "--json")
    assert r.code in (0, 1), r.stderr
    (arr,) = r.json()["arrays"].values()
    assert arr["shape"] == [30, 2]
    jobs = run("check", folder, "--json", "--jobs", "2")
    serial = run("check", folder, "--json")
    assert jobs.code == serial.code, jobs.stderr
    assert jobs.json()["arrays"] == serial.json()["arrays"]
    feather.write_feather(pa.table({"a": ["x"], "c": [1]}), folder / "p9.feather")
    r = run("check", folder, "--json")
    assert r.code == 1, r.stderr
    f = next(f for f in r.json()["findings"] if f["name"] == "shard-schema-mismatch")
    assert "p9.feather" in f["message"]
    (arr,) = r.json()["arrays"].values()
    assert arr["shape"] == [30, 2]


# -- Zarr outputs at URLs ----------------------------------------------------------------------
def test_a_zarr_output_to_s3_is_put_in_order_and_reads_back(servers, s3, tmp_path):
    put = Put(servers, s3, "s3")
    url = put(seed_store(tmp_path / "in.zarr", 3), "zout/in.zarr")
    out = "s3://sbkt/zout/p.zarr"
    r = put.dsd("pad", f"{url}:/seq", "--maxlen", "6", "--value", "-1", "-o", out)
    assert r.code == 0, r.stderr
    assert not s3.exists("sbkt/zout/p.zarr.dsdoctor-incomplete")
    with environ(servers.env):
        g = zarr.open_group(out, mode="r", storage_options={"endpoint_url": servers.s3.url})
        assert [list(row[row != -1]) for row in g["data"][:]] == [list(s) for s in SEQS]
        assert g["data"].attrs["dsdoctor_operation"] == "pad"
    r = put.dsd("inspect", out, "--json")
    assert r.code == 0, r.stderr
    assert {"/data", "/data_mask"} <= {e["path"] for e in r.json()["sources"][0]["entries"]}
    assert_clean_error(
        put.dsd("pad", f"{url}:/seq", "--maxlen", "2", "-o", out), out, "exists", "--force"
    )
    r = put.dsd("pad", f"{url}:/seq", "--maxlen", "2", "--value", "-1", "--force", "-o", out)
    assert r.code == 0, r.stderr
    with environ(servers.env):
        g = zarr.open_group(out, mode="r", storage_options={"endpoint_url": servers.s3.url})
        assert g["data"].shape == (len(SEQS), 2)
    # bucket: one store with a group per bucket, uploaded as pad's is; a folder of npz refused
    r = put.dsd("bucket", f"{url}:/seq", "--buckets", "2", "-o", "s3://sbkt/zout/b.zarr", "--json")
    assert r.code == 0, r.stderr
    assert r.json()["outputs"][0].startswith("s3://sbkt/zout/b.zarr:/bucket_")
    with environ(servers.env):
        g = zarr.open_group("s3://sbkt/zout/b.zarr", mode="r",
                            storage_options={"endpoint_url": servers.s3.url})  # fmt: skip
        assert sum(g[f"bucket_{k}/data"].shape[0] for k in range(2)) == len(SEQS)
    r = put.dsd("bucket", f"{url}:/seq", "--buckets", "2", "-o", "s3://sbkt/zout/bdir")
    assert_clean_error(r, "s3://sbkt/zout/bdir", "Zarr store")
    assert not s3.exists("sbkt/zout/bdir")
    # --force never deletes a prefix that is not a store
    s3.pipe("sbkt/zout/notes.zarr/readme.txt", b"mine")
    r = put.dsd("pad", f"{url}:/seq", "--maxlen", "2", "--force", "-o", "s3://sbkt/zout/notes.zarr")
    assert_clean_error(r, "s3://sbkt/zout/notes.zarr", "not a Zarr store")
    assert s3.cat("sbkt/zout/notes.zarr/readme.txt") == b"mine"


def test_a_failed_store_upload_leaves_nothing_and_an_interrupted_one_is_refused(
    servers, s3, tmp_path, monkeypatch
):
    import s3fs

    from dsdoctor.errors import OutputError
    from dsdoctor.locations import location
    from dsdoctor.sinks.zarr import upload_store

    local = seed_store(tmp_path / "up.zarr", 3)
    real = s3fs.S3FileSystem._put_file
    seen: list[str] = []

    async def put_file(self, lpath, rpath, **kwargs):
        seen.append(rpath)
        if rpath.endswith("up.zarr/zarr.json"):  # the store's top metadata: the very last
            raise ConnectionResetError("connection reset by peer")
        return await real(self, lpath, rpath, **kwargs)

    monkeypatch.setattr(s3fs.S3FileSystem, "_put_file", put_file)
    with environ(servers.env):
        loc = location("s3://sbkt/zfail/up.zarr", {"endpoint_url": servers.s3.url})
        with pytest.raises(OutputError, match=r"s3://sbkt/zfail/up\.zarr"):
            upload_store(local, loc, force=False)
    assert seen[-1].endswith("up.zarr/zarr.json")  # every chunk and array went before it
    last_chunk = max(i for i, k in enumerate(seen) if "/c/" in k)
    assert last_chunk < min(i for i, k in enumerate(seen) if k.endswith("zarr.json"))
    assert s3.find("sbkt/zfail") == []  # nothing left, the marker neither
    # a run killed during its upload leaves its marker: the store is refused, not read
    monkeypatch.setattr(s3fs.S3FileSystem, "_put_file", real)
    s3.put(str(local), "sbkt/zkill/up.zarr", recursive=True)
    s3.pipe("sbkt/zkill/up.zarr.dsdoctor-incomplete", b'{"files": ["up.zarr"]}')
    put = Put(servers, s3, "s3")
    assert_clean_error(put.dsd("inspect", "s3://sbkt/zkill/up.zarr"), "s3://sbkt/zkill/up.zarr",
                       "interrupted", "--force")  # fmt: skip


# -- ragged offsets: one check for npz and Zarr ------------------------------------------------------
@pytest.mark.parametrize("fmt", [2, 3], ids=["v2", "v3"])
def test_zarr_offsets_past_64_bits_are_refused_as_npz_s_are(tmp_path, fmt):
    """uint64 offsets above 2**63 - 1 wrapped to negative int64 and read as "must start at 0"
    (or worse, passed) before the Zarr reader shared npz's check."""
    offsets = np.array([0, 2, 2**63 + 5], dtype=np.uint64)
    p = zarr_store(tmp_path / "r.zarr", fmt, {"seq": np.arange(5), "seq_offsets": offsets})
    assert_clean_error(run("check", p), "seq_offsets holds offsets past 64 bits")
    np.savez(tmp_path / "r.npz", seq=np.arange(5), seq_offsets=offsets)
    assert_clean_error(run("check", tmp_path / "r.npz"), "seq_offsets holds offsets past 64 bits")
    fine = zarr_store(tmp_path / "ok.zarr", fmt, {"seq": np.arange(5),
                      "seq_offsets": np.array([0, 2, 5], dtype=np.uint64)})  # fmt: skip
    r = run("inspect", f"{fine}:/seq", "--json")
    assert r.code == 0, r.stderr
    assert r.json()["sources"][0]["entries"][0]["shape"] == [2, None]


@pytest.mark.parametrize("fmt", [2, 3], ids=["v2", "v3"])
def test_a_zarr_group_from_an_http_server_that_lists_nothing(servers, s3, tmp_path, fmt):
    """A static server answers a folder with its ``index.html``, not a listing: the members of
    a group come from its consolidated metadata; without it the error says so."""
    put = Put(servers, s3, "http")
    for name, consolidated in (("c", True), ("n", False)):
        path = seed_store(tmp_path / f"{name}.zarr", fmt)
        if consolidated:
            zarr.consolidate_metadata(str(path))
        for folder in [path, *(p for p in path.rglob("*") if p.is_dir())]:
            (folder / "index.html").write_text("<html>no listing here</html>")
        url = put(path, f"nolist{fmt}/{name}.zarr")
        r = put.dsd("check", "--x", f"{url}:/x", "--y", f"{url}:/y", "--json")
        if consolidated:
            assert r.code == 1 and "sample-count-mismatch" in names(r), r.stderr
        else:
            assert_clean_error(r, url, "has no array '/x'", "zarr.consolidate_metadata")


def test_a_folder_of_npy_shards_at_a_url(servers, s3, tmp_path):
    put = Put(servers, s3, "s3")
    folder = tmp_path / "shards"
    folder.mkdir()
    np.save(folder / "a.npy", np.ones((20, 3), np.float32))
    np.save(folder / "b.npy", np.full((9, 3), 2, np.float32))
    url = put(folder, "npyshards/s")
    r = put.dsd("check", url + "/", "--json")
    assert r.code in (0, 1), r.stderr
    (arr,) = r.json()["arrays"].values()
    assert arr["shape"] == [29, 3] and arr["stats"]["max"] == 2
    s3.pipe("sbkt/npyshards/s/notes.txt", b"x")  # read around, and named as not read
    r = put.dsd("check", url + "/", "--json")
    assert r.code in (0, 1), r.stderr
    assert [a["shape"] for a in r.json()["arrays"].values()] == [[29, 3]]
    assert [e["entry"] for e in r.json()["not_read"]] == ["notes.txt"]
