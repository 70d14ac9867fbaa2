"""Sources and outputs at URLs (``s3://``, ``gs://``, ``http://``), against real servers on
127.0.0.1 (``tests/remote_servers.py``): moto for S3, gcp-storage-emulator for GCS, a
range-capable HTTP server. Files are written by the real libraries — numpy, pandas, h5py,
pyarrow (through ``pyarrow.fs.S3FileSystem`` too) — and put there by s3fs/gcsfs; the byte
budgets are measured on the wire by the proxy in front of each server.
"""

from __future__ import annotations

import io
import json
import pickle
import shlex

import h5py
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from .conftest import assert_clean_error, run
from .remote_servers import Servers, environ, s3_client, s3_error

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

KIB = 1024
SECRET = "SuperSecretValue-do-not-print-7f3a"


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


@pytest.fixture(scope="module")
def s3(servers: Servers):
    """An s3fs client of the moto server (through the proxy), with bucket ``bkt`` made."""
    yield from s3_client(servers, "bkt")


def _dsd(servers: Servers, *args: str, env: dict | None = None):
    return run(*args, env={**servers.env, **(env or {})})


# -- seed cases through S3 ---------------------------------------------------------------------
def test_s3_29_vs_1(servers, s3):
    s3.pipe("bkt/seed/x.npy", _npy(np.random.default_rng(0).normal(size=(29, 5)).astype("float32")))
    s3.pipe("bkt/seed/y.npy", _npy(np.zeros(1, np.int64)))
    r = _dsd(servers, "check", "--x", "s3://bkt/seed/x.npy", "--y", "s3://bkt/seed/y.npy", "--json")
    assert r.code == 1, r.stderr
    report = r.json()
    f = next(f for f in report["findings"] if f["name"] == "sample-count-mismatch")
    assert f["message"] == "x has 29 samples but y has 1"
    assert f["fixes"][0]["command"].endswith("-o s3://bkt/seed/y.replicated.npy")
    assert 0 < report["bytes_fetched"] < 64 * KIB


def test_s3_width_vs_features(servers, s3):
    s3.pipe("bkt/seed/w.npy", _npy(np.ones((10, 5), np.float32)))
    r = _dsd(servers, "check", "s3://bkt/seed/w.npy", "--features", "4", "--json")
    assert r.code == 1, r.stderr
    f = next(f for f in r.json()["findings"] if f["name"] == "feature-width-mismatch")
    assert "5 features" in f["message"] and "expects 4" in f["message"]


def test_s3_selector_in_a_container(servers, s3):
    with io.BytesIO() as buf:
        with h5py.File(buf, "w") as h:
            h["x"] = np.zeros((7, 3), np.float32)
            h["y"] = np.zeros(7, np.int64)
        s3.pipe("bkt/seed/d.h5", buf.getvalue())
    r = _dsd(servers, "inspect", "s3://bkt/seed/d.h5:/x", "--json")
    assert r.code == 0, r.stderr
    (entry,) = r.json()["sources"][0]["entries"]
    assert entry["shape"] == [7, 3]


def test_inspect_of_a_large_npy_fetches_at_most_64_kib(servers, s3):
    """The header and nothing else: measured on the wire (every request's response, headers
    included) and by dsdoctor's own counter."""
    n = 8 * 1024**2  # 64 MiB of float64: reading it whole would show at once
    with io.BytesIO() as buf:
        np.lib.format.write_array_header_1_0(
            buf, {"descr": "<f8", "fortran_order": False, "shape": (n,)}
        )
        head = buf.getvalue()
    s3.pipe("bkt/big/x.npy", head + bytes(8 * n))
    servers.s3.reset()
    r = _dsd(servers, "inspect", "s3://bkt/big/x.npy", "--json", "-v")
    wire = servers.s3.sent
    assert r.code == 0, r.stderr
    src = r.json()["sources"][0]
    assert src["entries"][0]["shape"] == [n]
    assert "statistics not computed" in src["notes"][0]
    assert 0 < src["bytes_fetched"] <= 64 * KIB
    assert wire <= 64 * KIB, wire
    assert f"fetched {src['bytes_fetched']:,} bytes" in r.stderr


def test_parquet_check_fetches_the_column_chunks_it_reads(servers, s3):
    """A Parquet file written through ``pyarrow.fs.S3FileSystem``: check reads the footer, then
    the column chunks; on the wire that is at most 1.1x the column chunks."""
    from pyarrow import fs as pafs

    s3fs_native = pafs.S3FileSystem(endpoint_override=servers.s3.url.removeprefix("http://"),
                                    scheme="http", access_key="testing", secret_key="testing",
                                    region="us-east-1")  # fmt: skip
    rng = np.random.default_rng(1)
    table = pa.table({"a": rng.normal(size=400_000), "b": rng.integers(0, 9, 400_000)})
    with s3fs_native.open_output_stream("bkt/pq/t.parquet") as out:
        pq.write_table(table, out, row_group_size=100_000, compression="none")
    meta = pq.read_metadata(s3fs_native.open_input_file("bkt/pq/t.parquet"))
    chunks = sum(meta.row_group(g).column(c).total_compressed_size
                 for g in range(meta.num_row_groups) for c in range(meta.num_columns))  # fmt: skip
    servers.s3.reset()
    r = _dsd(servers, "check", "s3://bkt/pq/t.parquet", "--json")
    wire = servers.s3.sent
    assert r.code in (0, 1), r.stderr
    report = r.json()
    assert [a["shape"] for a in report["arrays"].values()] == [[400_000, 2]], report["arrays"]
    assert chunks <= report["bytes_fetched"] <= 1.1 * chunks
    assert wire <= 1.1 * chunks, (wire, chunks)


# -- outputs -----------------------------------------------------------------------------------
def test_pad_output_to_s3_reads_back(servers, s3):
    df = pd.DataFrame({"tokens": [[1, 2, 3], [4, 5], [6]], "label": [0, 1, 0]})
    s3.pipe("bkt/pad/t.parquet", df.to_parquet())
    r = _dsd(servers, "pad", "s3://bkt/pad/t.parquet:tokens", "--maxlen", "4", "--for", "torch",
             "-o", "s3://bkt/pad/out/p.npy")  # fmt: skip
    assert r.code == 0, r.stderr
    names = sorted(p.rsplit("/", 1)[1] for p in s3.ls("bkt/pad/out"))
    assert names == ["p.dsdoctor.json", "p.lengths.npy", "p.mask.npy", "p.npy"]
    data = np.load(io.BytesIO(s3.cat("bkt/pad/out/p.npy")))
    assert data.tolist() == [[1, 2, 3, 0], [4, 5, 0, 0], [6, 0, 0, 0]]
    # read back by dsdoctor: its own padded output, with its mask beside it
    r = _dsd(servers, "check", "s3://bkt/pad/out/p.npy", "--json")
    assert r.code == 0, r.stdout + r.stderr
    # never overwritten without --force; replaced with it
    r = _dsd(
        servers,
        "pad",
        "s3://bkt/pad/t.parquet:tokens",
        "--maxlen",
        "2",
        "-o",
        "s3://bkt/pad/out/p.npy",
    )
    assert_clean_error(r, "s3://bkt/pad/out/p.npy exists", "--force")
    assert np.load(io.BytesIO(s3.cat("bkt/pad/out/p.npy"))).shape == (3, 4)
    r = _dsd(servers, "pad", "s3://bkt/pad/t.parquet:tokens", "--maxlen", "2", "--force",
             "-o", "s3://bkt/pad/out/p.npy")  # fmt: skip
    assert r.code == 0, r.stderr
    assert np.load(io.BytesIO(s3.cat("bkt/pad/out/p.npy"))).shape == (3, 2)


def test_hdf5_output_to_s3_with_provenance(servers, s3):
    s3.pipe("bkt/h5out/y.npy", _npy(np.arange(3)))
    r = _dsd(
        servers, "replicate", "s3://bkt/h5out/y.npy", "--each", "2", "-o", "s3://bkt/h5out/r.h5:/y"
    )
    assert r.code == 0, r.stderr
    with h5py.File(io.BytesIO(s3.cat("bkt/h5out/r.h5")), "r") as h:
        assert sorted(h["y"][:].tolist()) == [0, 0, 1, 1, 2, 2]
        assert h["y"].attrs["dsdoctor_operation"] == "replicate"


def test_a_failed_upload_leaves_no_object(servers, s3, monkeypatch, tmp_path):
    """The main file's upload fails after its siblings were put: they are deleted again, and
    nothing is at the output's URLs."""
    import s3fs

    import dsdoctor
    from dsdoctor.errors import OutputError

    s3.pipe("bkt/fail/t.npy", _npy(np.zeros((3, 2), np.float32)))
    real = s3fs.S3FileSystem._put_file

    async def put_file(self, lpath, rpath, **kwargs):
        if rpath.endswith("/m.npy"):
            raise ConnectionResetError("connection reset by peer")
        return await real(self, lpath, rpath, **kwargs)

    monkeypatch.setattr(s3fs.S3FileSystem, "_put_file", put_file)
    # fsspec binds an instance's sync put_file to its _put_file when the instance is made: an
    # instance cached by an earlier test in this process would upload past the patch
    s3fs.S3FileSystem.clear_instance_cache()
    monkeypatch.setattr(s3fs.S3FileSystem, "_cache", {})
    with environ(servers.env), pytest.raises(OutputError, match=r"m\.npy"):
        dsdoctor.mask_file("s3://bkt/fail/t.npy", "s3://bkt/fail/m.npy", value=0.0, force=False)
    assert not s3.exists("bkt/fail/m.npy")
    assert [p for p in s3.ls("bkt/fail") if not p.endswith("t.npy")] == []


def test_an_upload_cut_by_the_server_leaves_no_object(servers, s3):
    s3.pipe("bkt/cut/y.npy", _npy(np.arange(1000)))
    servers.s3.cut_after = 0  # the server answers nothing: every request fails
    try:
        r = _dsd(servers, "replicate", "s3://bkt/cut/y.npy", "--to", "2000", "-o", "s3://bkt/cut/r.npy",
                 env={"AWS_MAX_ATTEMPTS": "1"})  # fmt: skip
    finally:
        servers.s3.reset()
    assert_clean_error(r, "s3://bkt/cut/")
    assert not s3.exists("bkt/cut/r.npy")


# -- bad input ---------------------------------------------------------------------------------
def test_no_credentials(servers):
    env = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}
    r = run("inspect", "s3://bkt/seed/x.npy", env={**servers.env, **env})
    assert_clean_error(r, "s3://bkt/seed/x.npy", "no credentials")


def test_missing_bucket_and_key(servers, s3):
    assert_clean_error(_dsd(servers, "inspect", "s3://no-such-bucket/x.npy"),
                       "s3://no-such-bucket/x.npy", "does not exist")  # fmt: skip
    assert_clean_error(_dsd(servers, "check", "s3://bkt/seed/missing.npy"),
                       "s3://bkt/seed/missing.npy", "no such object")  # fmt: skip


def test_access_denied(servers):
    servers.s3.forbid = True
    try:
        r = _dsd(servers, "inspect", "s3://bkt/seed/x.npy")
    finally:
        servers.s3.reset()
    assert_clean_error(r, "s3://bkt/seed/x.npy", "access denied (403)")


def test_denied_write_says_write_and_where_the_keys_came_from(servers, s3, tmp_path):
    """A 403 on an upload says the credentials may not *write* it, and names
    ``--storage-option`` when the keys came from there (never their values); nothing left."""
    np.save(tmp_path / "y.npy", np.arange(1))
    opts = ["--storage-option", f"secret={SECRET}", "--storage-option", "key=testing"]
    env = {"AWS_SECRET_ACCESS_KEY": "", "AWS_ACCESS_KEY_ID": "", "AWS_MAX_ATTEMPTS": "1"}
    servers.s3.forbid = True
    try:
        given = _dsd(servers, "replicate", str(tmp_path / "y.npy"), "--to", "6", "-o",
                     "s3://bkt/deny/r.npy", *opts, env=env)  # fmt: skip
        from_env = _dsd(servers, "replicate", str(tmp_path / "y.npy"), "--to", "6", "-o",
                        "s3://bkt/deny/r.npy", env={"AWS_MAX_ATTEMPTS": "1"})  # fmt: skip
    finally:
        servers.s3.reset()
    assert_clean_error(given, "s3://bkt/deny/r.npy", "access denied (403)",
                       "given with --storage-option key, secret may not write it")  # fmt: skip
    assert SECRET not in given.stdout + given.stderr
    assert_clean_error(from_env, "access denied (403)", "in the environment may not write it")
    assert not s3.exists("bkt/deny/r.npy")


def test_unknown_access_key_is_named(servers):
    """InvalidAccessKeyId is not a plain 403: the key is not known to the server."""
    servers.s3.forbid = s3_error("403 Forbidden", "InvalidAccessKeyId",
                                 "The AWS Access Key Id you provided does not exist in our records.")  # fmt: skip
    try:
        r = _dsd(servers, "inspect", "s3://bkt/seed/x.npy", env={"AWS_MAX_ATTEMPTS": "1"})
    finally:
        servers.s3.reset()
    assert_clean_error(r, "s3://bkt/seed/x.npy", "is not known to the server (InvalidAccessKeyId)")
    assert "access denied" not in r.stderr


def test_missing_gcs_bucket_is_named_as_s3_names_it(servers):
    r = run("inspect", "gs://no-such-gbucket/x.npy", "--storage-option", "token=anon",
            env=servers.env)  # fmt: skip
    assert_clean_error(r, "gs://no-such-gbucket/x.npy", "the bucket no-such-gbucket does not exist")
    r = run("inspect", "gs://gbkt/no-such-key.npy", "--storage-option", "token=anon",
            env=servers.env)  # fmt: skip
    assert_clean_error(r, "gs://gbkt/no-such-key.npy", "no such object")


def test_server_drops_the_connection_mid_read(servers, s3):
    n = 200_000
    s3.pipe("bkt/drop/x.npy", _npy(np.ones(n)))
    servers.s3.cut_after = 20_000  # each connection: its headers, then part of a body
    try:
        r = _dsd(servers, "check", "s3://bkt/drop/x.npy", env={"AWS_MAX_ATTEMPTS": "1"})
    finally:
        servers.s3.reset()
    assert_clean_error(r, "s3://bkt/drop/x.npy")


def test_credentials_are_never_printed(servers, s3):
    """Storage options (here a secret key) appear in no output, no error, no provenance."""
    s3.pipe("bkt/sec/y.npy", _npy(np.arange(1)))
    opts = ["--storage-option", f"secret={SECRET}", "--storage-option", "key=testing"]
    env = {"AWS_SECRET_ACCESS_KEY": "", "AWS_ACCESS_KEY_ID": ""}
    ok = _dsd(servers, "check", "s3://bkt/sec/y.npy", "--json", "-v", *opts, env=env)
    assert ok.code == 0, ok.stderr
    wrote = _dsd(servers, "replicate", "s3://bkt/sec/y.npy", "--to", "6", "-o", "s3://bkt/sec/r.h5",
                 "--json", *opts, env=env)  # fmt: skip
    assert wrote.code == 0, wrote.stderr
    s3.pipe("bkt/sec/t.parquet", pd.DataFrame({"tokens": [[1, 2], [3]]}).to_parquet())
    padded = _dsd(servers, "pad", "s3://bkt/sec/t.parquet:tokens", "-o", "s3://bkt/sec/p.npy",
                  "--json", *opts, env=env)  # fmt: skip
    assert padded.code == 0, padded.stderr
    missing = _dsd(servers, "inspect", "s3://bkt/sec/missing.npy", *opts, env=env)
    assert_clean_error(missing, "no such object")
    for r in (ok, wrote, padded, missing):
        assert SECRET not in r.stdout + r.stderr
    for written in ("r.h5", "p.npy", "p.mask.npy", "p.dsdoctor.json"):
        assert SECRET.encode() not in s3.cat(f"bkt/sec/{written}")
    assert "s3://bkt/sec/t.parquet" in s3.cat("bkt/sec/p.dsdoctor.json").decode()


def test_storage_option_must_be_key_value(servers):
    r = _dsd(servers, "inspect", "s3://bkt/seed/x.npy", "--storage-option", "anon")
    assert_clean_error(r, "--storage-option", "KEY=VALUE")


# -- GCS and HTTP ------------------------------------------------------------------------------
def test_gcs_29_vs_1(servers):
    r = run("inspect", "gs://gbkt/none.npy", env=servers.env)
    assert_clean_error(r, "gs://gbkt/none.npy")
    import subprocess
    import sys

    put = ("import io, gcsfs, numpy as np\n"
           "fs = gcsfs.GCSFileSystem(token='anon')\n"
           "for name, a in {'x': np.zeros((29, 4)), 'y': np.zeros(1)}.items():\n"
           "    b = io.BytesIO(); np.save(b, a); fs.pipe(f'gbkt/d/{name}.npy', b.getvalue())\n")  # fmt: skip
    subprocess.run([sys.executable, "-c", put], env={**__import__("os").environ, **servers.env},
                   check=True, timeout=120)  # fmt: skip
    r = run("check", "--x", "gs://gbkt/d/x.npy", "--y", "gs://gbkt/d/y.npy", "--json",
            "--storage-option", "token=anon", env=servers.env)  # fmt: skip
    assert r.code == 1, r.stderr
    f = next(f for f in r.json()["findings"] if f["name"] == "sample-count-mismatch")
    assert f["message"] == "x has 29 samples but y has 1"


def test_hdf5_over_http(servers):
    with h5py.File(servers.http_root / "train.h5", "w") as h:
        h["x"] = np.random.default_rng(0).normal(size=(29, 3)).astype("float32")
        h["y"] = np.zeros(1, np.int64)
        h.create_dataset("tokens", data=np.arange(4000, dtype=np.int32), chunks=(100,))
    url = f"{servers.http.url}/train.h5"
    r = run("check", "--x", f"{url}:/x", "--y", f"{url}:/y", "--json", env=servers.env)
    assert r.code == 1, r.stderr
    assert any(f["message"] == "x has 29 samples but y has 1" for f in r.json()["findings"])
    servers.http.reset()
    r = run("inspect", f"{url}:/tokens", "--stats", "--json", env=servers.env)
    assert r.code == 0, r.stderr
    src = r.json()["sources"][0]
    assert src["entries"][0]["stats"]["max"] == 3999
    assert servers.http.sent < 2 * (servers.http_root / "train.h5").stat().st_size


def test_http_missing_and_csv(servers):
    pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]}).to_csv(
        servers.http_root / "t.csv", index=False
    )
    r = run("inspect", f"{servers.http.url}/t.csv", "--stats", "--json", env=servers.env)
    assert r.code == 0, r.stderr
    assert r.json()["sources"][0]["format"] == "csv"
    assert_clean_error(run("inspect", f"{servers.http.url}/nope.npy", env=servers.env),
                       f"{servers.http.url}/nope.npy", "no such object")  # fmt: skip


def test_http_server_dropping_the_connection(servers):
    np.save(servers.http_root / "drop.npy", np.ones(300_000))
    servers.http.cut_after = 30_000
    try:
        r = run("check", f"{servers.http.url}/drop.npy", env=servers.env)
    finally:
        servers.http.reset()
    assert_clean_error(r, f"{servers.http.url}/drop.npy")


# -- engines: the URL travels, the workers read ----------------------------------------------------
def test_process_pool_workers_read_the_url(servers, s3):
    s3.pipe("bkt/jobs/x.npy", _npy(np.arange(60_000, dtype=np.float64).reshape(-1, 3)))
    r = _dsd(
        servers,
        "inspect",
        "s3://bkt/jobs/x.npy",
        "--stats",
        "--jobs",
        "2",
        "--chunk-size",
        "64KiB",
        "--json",
    )
    assert r.code == 0, r.stderr
    assert r.json()["sources"][0]["entries"][0]["stats"]["max"] == 59_999


def test_a_location_pickles_with_its_options_and_hides_them():
    from dsdoctor.locations import Location, location, safe_url

    loc = location("s3://bkt/x.npy", [f"secret={SECRET}", "anon=false"])
    again = pickle.loads(pickle.dumps(loc))
    assert again == loc and dict(again.options) == {"secret": SECRET, "anon": False}
    assert SECRET not in repr(loc) and SECRET not in str(loc) and SECRET not in loc.display
    assert isinstance(loc.with_name("y.npy"), Location)
    assert (
        safe_url("https://u:pw@h.example:8443/a/b.h5?X-Amz-Signature=abc")
        == "https://h.example:8443/a/b.h5"
    )


def test_local_reads_import_no_fsspec(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((3, 2)))
    import subprocess
    import sys

    code = ("import sys, dsdoctor\n"
            f"dsdoctor.inspect({str(tmp_path / 'x.npy')!r})\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('fsspec', 's3fs', 'gcsfs', 'aiohttp')))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().replace("'", '"')) == []


def test_dask_workers_read_the_url_with_the_storage_options(servers, s3):
    """On a Dask cluster the tasks carry the URL and the storage options (here the only
    credentials: none in the environment), and each worker fetches its rows itself."""
    distributed = pytest.importorskip("distributed")
    import dsdoctor

    s3.pipe("bkt/dask/x.npy", _npy(np.arange(30_000, dtype=np.float64).reshape(-1, 3)))
    env = {**servers.env, "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}
    options = {"key": "testing", "secret": "testing"}
    with environ(env):
        serial = dsdoctor.check("s3://bkt/dask/x.npy", storage_options=options).to_dict()
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      host="127.0.0.1", dashboard_address=None) as cluster:  # fmt: skip
            on_cluster = dsdoctor.check("s3://bkt/dask/x.npy", engine="dask", chunk_size="64KiB",
                                        scheduler=cluster.scheduler_address,
                                        storage_options=options).to_dict()  # fmt: skip
    serial.pop("bytes_fetched"), on_cluster.pop("bytes_fetched")
    assert json.dumps(on_cluster, sort_keys=True) == json.dumps(serial, sort_keys=True)
    assert serial["arrays"]["s3://bkt/dask/x.npy"]["stats"]["max"] == 29_999


def test_gcs_pad_output_reads_back(servers):
    import subprocess
    import sys

    put = ("import gcsfs, pandas as pd\n"
           "fs = gcsfs.GCSFileSystem(token='anon')\n"
           "fs.pipe('gbkt/p/t.parquet', pd.DataFrame({'tokens': [[1, 2, 3], [4]]}).to_parquet())\n")  # fmt: skip
    subprocess.run([sys.executable, "-c", put], env={**__import__("os").environ, **servers.env},
                   check=True, timeout=120)  # fmt: skip
    opts = ("--storage-option", "token=anon")
    r = run("pad", "gs://gbkt/p/t.parquet:tokens", "--padding", "post", "-o", "gs://gbkt/p/out.npz",
            *opts, env=servers.env)  # fmt: skip
    assert r.code == 0, r.stderr
    r = run("inspect", "gs://gbkt/p/out.npz", "--stats", "--json", *opts, env=servers.env)
    assert r.code == 0, r.stderr
    entries = {e["path"]: e for e in r.json()["sources"][0]["entries"]}
    assert entries["data"]["shape"] == [2, 3] and entries["data"]["stats"]["max"] == 4
    again = run(
        "pad", "gs://gbkt/p/t.parquet:tokens", "-o", "gs://gbkt/p/out.npz", *opts, env=servers.env
    )
    assert_clean_error(again, "gs://gbkt/p/out.npz exists")


def test_repair_of_remote_sources_writes_local_fixes(servers, s3, tmp_path):
    s3.pipe("bkt/rep/x.npy", _npy(np.zeros((29, 2), np.float32)))
    s3.pipe("bkt/rep/y.npy", _npy(np.zeros(1, np.int64)))
    r = _dsd(servers, "repair", "--x", "s3://bkt/rep/x.npy", "--y", "s3://bkt/rep/y.npy",
             "--allow", "lossless,assumption", "-o", str(tmp_path / "fixed"), "--json")  # fmt: skip
    assert r.code in (0, 1), r.stderr
    written = sorted(p.name for p in (tmp_path / "fixed").iterdir())
    assert any(name.startswith("y.") and name.endswith(".npy") for name in written), written


def test_a_model_url_is_refused_by_name(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((3, 2)))
    r = run("check", tmp_path / "x.npy", "--model", "s3://bkt/model.keras?X-Amz-Signature=abc")
    assert_clean_error(r, "s3://bkt/model.keras:", "local path")
    assert "Signature" not in r.stderr


def test_an_s3_upload_without_force_never_replaces_an_object_written_meanwhile(
    servers, s3, tmp_path
):
    """The check before writing can race another run: on S3 the upload itself is conditional."""
    from dsdoctor.errors import OutputError
    from dsdoctor.locations import location

    local = tmp_path / "a.npy"
    np.save(local, np.arange(3))
    s3.pipe("bkt/race/a.npy", b"the other run's file")
    with environ(servers.env):
        loc = location("s3://bkt/race/a.npy", {"endpoint_url": servers.s3.url})
        with pytest.raises(OutputError, match=r"s3://bkt/race/a\.npy: exists .*--force"):
            loc.upload(local, exclusive=True)
        assert s3.cat("bkt/race/a.npy") == b"the other run's file"
        loc.upload(local)  # --force
    assert np.load(io.BytesIO(s3.cat("bkt/race/a.npy"))).tolist() == [0, 1, 2]


def test_an_http_output_is_refused_before_reading(servers):
    np.save(servers.http_root / "w.npy", np.zeros((2, 2)))
    r = run("replicate", f"{servers.http.url}/w.npy", "--each", "2", "-o", f"{servers.http.url}/out.npy",
            env=servers.env)  # fmt: skip
    assert_clean_error(r, "/out.npy", "read, not written")
    assert not (servers.http_root / "out.npy").exists()


# -- the fixes a report prints for URL sources -------------------------------------------------
def _fix_sources(s3, tmp_path) -> list[list[str]]:
    """Sources at s3:// with planted problems whose fixes write at the URL: x/y 29 vs 1, a
    ragged Parquet token column with real 0 tokens, a Hugging Face ``save_to_disk`` split."""
    import datasets

    rng = np.random.default_rng(0)
    s3.pipe("bkt/fx/x.npy", _npy(rng.normal(size=(29, 5)).astype("float32")))
    s3.pipe("bkt/fx/y.npy", _npy(np.zeros(1, np.int64)))
    seqs = [rng.integers(0, 50, size=int(n)).tolist() for n in rng.integers(1, 12, size=40)]
    seqs[0][0] = 0
    s3.pipe("bkt/fx/tok.parquet", pd.DataFrame({"tokens": seqs}).to_parquet())
    hf = datasets.DatasetDict({"train": datasets.Dataset.from_dict({"input_ids": seqs})})
    hf.save_to_disk(str(tmp_path / "hf"))
    s3.put(str(tmp_path / "hf"), "bkt/fx/hf", recursive=True)
    return [["--x", "s3://bkt/fx/x.npy", "--y", "s3://bkt/fx/y.npy"],
            ["s3://bkt/fx/tok.parquet:tokens", "--vocab-size", "50"],
            ["s3://bkt/fx/hf:train", "--vocab-size", "50"]]  # fmt: skip


def test_every_fix_printed_for_a_url_source_runs(servers, s3, tmp_path):
    """Every fix ``check`` prints for a URL source is accepted by its command (``bucket`` at a
    URL writes a Zarr store, not a folder) and reaches the same store: the endpoint given only
    as ``--storage-option`` is carried into the fix, the secret key only as a shell variable
    the user fills in. Pasted into a shell with the keys in the environment and no
    ``AWS_ENDPOINT_URL``, each fix runs."""
    import os
    import subprocess
    import sys

    cases = _fix_sources(s3, tmp_path)
    opts = ["--storage-option", f"endpoint_url={servers.s3.url}", "--storage-option",
            "key=testing", "--storage-option", f"secret={SECRET}"]  # fmt: skip
    no_env = {"AWS_ENDPOINT_URL": "", "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}
    shell_env = {**os.environ, **servers.env, "AWS_ENDPOINT_URL": "", "NO_COLOR": "1"}
    shell_env.pop("AWS_ENDPOINT_URL")
    ran: list[str] = []
    for case in cases:
        r = _dsd(servers, "check", *case, "--json", *opts, env=no_env)
        assert r.code in (0, 1), r.stderr
        assert SECRET not in r.stdout + r.stderr
        fixes = [fix["command"] for f in r.json()["findings"] for fix in f.get("fixes", [])]
        assert fixes, case
        for fix in fixes:
            assert f"--storage-option endpoint_url={servers.s3.url}" in fix, fix
            assert '--storage-option "secret=$AWS_SECRET_ACCESS_KEY"' in fix, fix
            assert '--storage-option "key=$AWS_ACCESS_KEY_ID"' in fix, fix
            assert not fix.startswith("dsdoctor bucket") or ".buckets.zarr" in fix, fix
            pasted = fix.replace("dsdoctor ", f"{shlex.quote(sys.executable)} -m dsdoctor ", 1)
            p = subprocess.run(["bash", "-c", pasted], cwd=tmp_path, env=shell_env,
                               capture_output=True, text=True, timeout=180)  # fmt: skip
            assert p.returncode != 2, (fix, p.stderr)
            assert p.returncode == 0, (fix, p.stderr)
            ran.append(fix.split()[1])
    assert {"replicate", "pad", "bucket", "shift"} <= set(ran), ran
    assert s3.exists("bkt/fx/hf.train_input_ids.buckets.zarr")


def test_no_secret_storage_option_in_any_report(servers, s3, tmp_path):
    """Text, JSON and HTML reports with fixes: the secret and access keys never appear (a
    placeholder variable does); the non-secret endpoint does, in the fix."""
    _fix_sources(s3, tmp_path)
    opts = ["--storage-option", f"endpoint_url={servers.s3.url}", "--storage-option",
            f"key=AKIA{SECRET}", "--storage-option", f"secret={SECRET}"]  # fmt: skip
    env = {"AWS_ENDPOINT_URL": "", "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}
    src = ["s3://bkt/fx/tok.parquet:tokens", "--vocab-size", "50"]
    text = _dsd(servers, "check", *src, *opts, env=env)
    as_json = _dsd(servers, "check", *src, "--json", *opts, env=env)
    html = _dsd(servers, "check", *src, "--format", "html", "-o", str(tmp_path / "r.html"),
                *opts, env=env)  # fmt: skip
    for r in (text, as_json, html):
        assert r.code == 0, r.stderr  # DS301/DS302 are warnings
        assert SECRET not in r.stdout + r.stderr
    page = (tmp_path / "r.html").read_text()
    assert SECRET not in page
    assert f"endpoint_url={servers.s3.url}" in as_json.stdout
    assert "endpoint_url=" in text.stdout and "endpoint_url=" in page
    assert "$AWS_SECRET_ACCESS_KEY" in as_json.stdout and "$AWS_SECRET_ACCESS_KEY" in page


def test_which_storage_options_a_fix_may_print():
    from dsdoctor.locations import printable_options

    shown = printable_options([("anon", True), ("client_kwargs", '{"aws_secret_access_key": "x"}'),
                               ("endpoint_url", "http://h:1"), ("password", "pw"),
                               ("region_name", "eu-west-1"), ("secret", "s"), ("token", "t")])  # fmt: skip
    assert shown == [("anon", "true", False), ("client_kwargs", "$CLIENT_KWARGS", True),
                     ("endpoint_url", "http://h:1", False), ("password", "$PASSWORD", True),
                     ("region_name", "eu-west-1", False), ("secret", "$AWS_SECRET_ACCESS_KEY", True),
                     ("token", "$AWS_SESSION_TOKEN", True)]  # fmt: skip
    assert printable_options([("token", "anon")], "gs") == [("token", "anon", False)]
    assert printable_options([("token", "/k.json")], "gs") == [
        ("token", "$GOOGLE_APPLICATION_CREDENTIALS", True)
    ]


def test_table_outputs_at_a_url(servers, s3):
    """``dropna``/``impute`` of a whole table write Parquet (and CSV with its provenance file)
    at a URL, read back; an existing output is refused without --force."""
    frame = pd.DataFrame({"a": [1.0, np.nan, 3.0], "b": ["x", "y", None], "y": [0, 1, 0]})
    s3.pipe("bkt/tab/t.csv", frame.to_csv(index=False).encode())
    r = _dsd(
        servers, "dropna", "s3://bkt/tab/t.csv", "--target", "y", "-o", "s3://bkt/tab/d.parquet"
    )
    assert r.code == 0, r.stderr
    assert len(pd.read_parquet(io.BytesIO(s3.cat("bkt/tab/d.parquet")))) == 1
    r = _dsd(servers, "impute", "s3://bkt/tab/t.csv", "--target", "y", "-o", "s3://bkt/tab/i.csv")
    assert r.code == 0, r.stderr
    assert pd.read_csv(io.BytesIO(s3.cat("bkt/tab/i.csv")))["a"].isna().sum() == 0
    assert s3.exists("bkt/tab/i.dsdoctor.json")
    again = _dsd(servers, "dropna", "s3://bkt/tab/t.csv", "--target", "y", "-o",
                 "s3://bkt/tab/d.parquet")  # fmt: skip
    assert_clean_error(again, "s3://bkt/tab/d.parquet", "exists")
    http = _dsd(servers, "dropna", "s3://bkt/tab/t.csv", "--target", "y", "-o",
                f"{servers.http.url}/d.csv")  # fmt: skip
    assert_clean_error(http, "are read, not written")
