"""Every single-file format dsdoctor reads × every place it can live: the seed cases of npy —
29 samples against 1 (DS101), a width against ``--features`` (DS201), a rank against
``--input-shape`` (DS202), and, where the format can hold sequences, ragged ``input_ids`` with 0
among the ids (DS302: it collides with the padding) padded to a LOCAL ``-o`` that reads back —
on local disk, and through S3 (s3fs on moto), GCS (gcsfs on gcp-storage-emulator) and HTTP
(a range server), the servers of ``tests/remote_servers.py``.

Every file is written by the format's own library (numpy, h5py, netCDF4, pandas, pyarrow,
scipy, safetensors, tarfile + np.save) into a local folder, then put at each URL with fsspec.
A format that cannot hold a case is in the parametrisation, skipped with the reason.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from .conftest import assert_clean_error, cli, run
from .remote_servers import Servers, environ

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

RNG = np.random.default_rng(16)
X = RNG.normal(size=(29, 5)).astype(np.float32)  # 29 samples of 5 features
Y = np.array([1], dtype=np.int64)  # 1 sample
TOKENS = [RNG.integers(0, 9, size=n).astype(np.int64) for n in RNG.integers(1, 7, size=29)]
TOKENS[0][0] = 0  # 0 is a token: padding with 0 would hide it (DS302)


# -- writers: one per format, (folder, name, what) -> the path written and its selector -----------
def _npy(folder: Path, what: str) -> tuple[Path, str]:
    path = folder / f"{what}.npy"
    np.save(path, X if what == "x" else Y)
    return path, ""


def _npy_gz(folder: Path, what: str) -> tuple[Path, str]:
    path = folder / f"{what}.npy.gz"
    buf = io.BytesIO()
    np.save(buf, X if what == "x" else Y)
    path.write_bytes(gzip.compress(buf.getvalue()))
    return path, ""


def _npz(folder: Path, what: str) -> tuple[Path, str]:
    path = folder / f"{what}.npz"
    np.savez(path, data=X if what == "x" else Y)
    return path, ":data"


def _hdf5(folder: Path, what: str) -> tuple[Path, str]:
    import h5py

    path = folder / f"{what}.h5"
    with h5py.File(path, "w") as h:
        if what == "ids":
            ds = h.create_dataset("input_ids", (len(TOKENS),), dtype=h5py.vlen_dtype(np.int64))
            for i, t in enumerate(TOKENS):
                ds[i] = t
            return path, ":/input_ids"
        h[what] = X if what == "x" else Y
    return path, f":/{what}"


def _netcdf4(folder: Path, what: str) -> tuple[Path, str]:
    netCDF4 = pytest.importorskip("netCDF4")
    path = folder / f"{what}4.nc"
    with netCDF4.Dataset(path, "w", format="NETCDF4") as ds:
        if what == "ids":
            ds.createDimension("sample", len(TOKENS))
            v = ds.createVariable("input_ids", ds.createVLType(np.int64, "seq"), ("sample",))
            for i, t in enumerate(TOKENS):
                v[i] = t
            return path, ":input_ids"
        _nc_variable(ds, what, X if what == "x" else Y)
    return path, f":{what}"


def _netcdf3(folder: Path, what: str) -> tuple[Path, str]:
    from scipy.io import netcdf_file

    path = folder / f"{what}3.nc"
    data = X if what == "x" else Y.astype(np.int32)  # classic netCDF has no 64-bit integers
    with netcdf_file(path, "w") as nc:
        _nc_variable(nc, what, data)
    return path, f":{what}"


def _nc_variable(nc, what: str, data: np.ndarray) -> None:
    """``data`` as variable ``what`` over dimensions ``sample`` (and ``feature``): netCDF4's
    ``Dataset`` and scipy's ``netcdf_file`` take the same calls."""
    nc.createDimension("sample", len(data))
    dims: tuple[str, ...] = ("sample",)
    if data.ndim == 2:
        nc.createDimension("feature", data.shape[1])
        dims = ("sample", "feature")
    nc.createVariable(what, data.dtype, dims)[:] = data


def _frame(what: str) -> pd.DataFrame:
    if what == "x":
        return pd.DataFrame({f"f{i}": X[:, i] for i in range(X.shape[1])})
    if what == "ids":
        return pd.DataFrame({"input_ids": [t.tolist() for t in TOKENS]})
    return pd.DataFrame({"label": Y})


def _parquet(folder: Path, what: str) -> tuple[Path, str]:
    path = folder / f"{what}.parquet"
    _frame(what).to_parquet(path, index=False)
    return path, ":input_ids" if what == "ids" else ""


def _csv(folder: Path, what: str) -> tuple[Path, str]:
    path = folder / f"{what}.csv"
    _frame(what).to_csv(path, index=False)
    return path, ""


def _csv_gz(folder: Path, what: str) -> tuple[Path, str]:
    path = folder / f"{what}.csv.gz"
    _frame(what).to_csv(path, index=False, compression="gzip")
    return path, ""


def _arrow(kind: str) -> Callable[[Path, str], tuple[Path, str]]:
    def write(folder: Path, what: str) -> tuple[Path, str]:
        path = folder / f"{what}.{kind}.arrow"
        if what == "ids":
            table = pa.table(
                {"input_ids": pa.array([t.tolist() for t in TOKENS], pa.list_(pa.int64()))}
            )
        else:
            table = pa.Table.from_pandas(_frame(what), preserve_index=False)
        new = pa.ipc.new_file if kind == "file" else pa.ipc.new_stream
        with pa.OSFile(str(path), "wb") as sink, new(sink, table.schema) as writer:
            for batch in table.to_batches(max_chunksize=8):  # several batches
                writer.write_batch(batch)
        return path, ":input_ids" if what == "ids" else ""

    return write


def _safetensors(folder: Path, what: str) -> tuple[Path, str]:
    from safetensors.numpy import save_file

    path = folder / f"{what}.safetensors"
    save_file({what: X if what == "x" else Y}, str(path))
    return path, f":{what}"


def _webdataset(folder: Path, what: str) -> tuple[Path, str]:
    path = folder / f"{what}.tar"
    field = {"x": "x", "y": "y", "ids": "input_ids"}[what]
    rows = {"x": list(X), "y": list(Y), "ids": TOKENS}[what]
    with tarfile.open(path, "w") as tar:
        for i, row in enumerate(rows):
            buf = io.BytesIO()
            np.save(buf, np.asarray(row))
            info = tarfile.TarInfo(f"{i:06d}.{field}.npy")
            info.size = len(buf.getvalue())
            tar.addfile(info, io.BytesIO(buf.getvalue()))
            jpg = b"\xff\xd8 an image beside each sample, read past"
            info = tarfile.TarInfo(f"{i:06d}.jpg")
            info.size = len(jpg)
            tar.addfile(info, io.BytesIO(jpg))
    return path, f":{field}"


NO_SEQUENCES = "{} holds no variable-length sequences (only pickled object arrays, never read)"
#: format -> (writer, why it cannot hold ragged sequences, or None)
FORMATS: dict[str, tuple[Callable[[Path, str], tuple[Path, str]], str | None]] = {
    "npy": (_npy, NO_SEQUENCES.format("npy")),
    "npz": (_npz, NO_SEQUENCES.format("npz")),
    "hdf5": (_hdf5, None),
    "netcdf4": (_netcdf4, None),
    "parquet": (_parquet, None),
    "csv": (_csv, "CSV has no sequence type (a list is text in a cell)"),
    "csv.gz": (_csv_gz, "CSV has no sequence type (a list is text in a cell)"),
    "npy.gz": (_npy_gz, NO_SEQUENCES.format("npy")),
    "arrow-file": (_arrow("file"), None),
    "arrow-stream": (_arrow("stream"), None),
    "netcdf3": (_netcdf3, "classic netCDF has no variable-length type"),
    "safetensors": (_safetensors, "a safetensors tensor is dense (no variable-length type)"),
    "webdataset": (_webdataset, None),
}
PLACES = ("local", "s3", "gcs", "http")
CASES = ("count", "width", "rank", "ragged")


def _params():
    for fmt, (_, no_ragged) in FORMATS.items():
        for place in PLACES:
            for case in CASES:
                marks = (
                    [pytest.mark.skip(reason=no_ragged)] if case == "ragged" and no_ragged else []
                )
                yield pytest.param(fmt, place, case, id=f"{fmt}-{place}-{case}", marks=marks)


# -- the places ---------------------------------------------------------------------------------
class Places:
    """Puts a local file at each place and says its URL (or path)."""

    def __init__(self, servers: Servers):
        import s3fs
        from gcsfs.core import GCSFileSystem

        self.servers = servers
        with environ(servers.env):
            self.s3 = s3fs.S3FileSystem(skip_instance_cache=True, endpoint_url=servers.s3.url)
            if not self.s3.exists("mtx"):
                self.s3.mkdir("mtx")
            self.gcs = GCSFileSystem(token="anon", skip_instance_cache=True)
        self.done: dict[tuple[str, str, str], str] = {}

    def put(self, place: str, fmt: str, what: str, folder: Path) -> str:
        key = (place, fmt, what)
        if key not in self.done:
            write, _ = FORMATS[fmt]
            local, selector = write(folder, what)
            name = f"{fmt}/{local.name}"
            data = local.read_bytes()
            with environ(self.servers.env):
                if place == "local":
                    url = str(local)
                elif place == "s3":
                    self.s3.pipe(f"mtx/{name}", data)
                    url = f"s3://mtx/{name}"
                elif place == "gcs":
                    self.gcs.pipe(f"gbkt/mtx/{name}", data)
                    url = f"gs://gbkt/mtx/{name}"
                else:
                    target = self.servers.http_root / "mtx" / name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(data)
                    url = f"{self.servers.http.url}/mtx/{name}"
            self.done[key] = url + selector
        return self.done[key]


@pytest.fixture(scope="module")
def places(servers):
    """The places; ``gs://`` read in this process by gcsfs' plain file system: the one gcsfs
    picks when imported before ``GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT=false`` was set probes the
    emulator over gRPC for 60 s (the subprocess tests of test_remote.py set it first)."""
    import importlib

    import fsspec
    from gcsfs.core import GCSFileSystem

    registry = importlib.import_module("fsspec.registry")._registry
    saved = dict(registry)
    for protocol in ("gs", "gcs"):
        fsspec.register_implementation(protocol, GCSFileSystem, clobber=True)
    try:
        yield Places(servers)
    finally:
        registry.clear()
        registry.update(saved)


def _dsd(places: Places, place: str, *args) -> object:
    extra = ("--storage-option", "token=anon") if place == "gcs" else ()
    with environ(places.servers.env):
        return cli(*args, *extra)


def _findings(r) -> dict[str, dict]:
    assert r.code in (0, 1), r.stdout + r.stderr
    return {f["code"]: f for f in r.json()["findings"]}


# -- the matrix ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("fmt", "place", "case"), list(_params()))
def test_seed_case(fmt, place, case, places, tmp_path_factory, tmp_path):
    folder = tmp_path_factory.mktemp(f"{fmt}-{place}")
    if case == "count":
        x, y = (places.put(place, fmt, what, folder) for what in ("x", "y"))
        found = _findings(_dsd(places, place, "check", "--x", x, "--y", y, "--json"))
        assert found["DS101"]["message"] == "x has 29 samples but y has 1"
    elif case == "width":
        x = places.put(place, fmt, "x", folder)
        found = _findings(_dsd(places, place, "check", "--x", x, "--features", "4", "--json"))
        assert "5" in found["DS201"]["message"] and "4" in found["DS201"]["message"]
    elif case == "rank":
        x = places.put(place, fmt, "x", folder)
        found = _findings(_dsd(places, place, "check", "--x", x, "--input-shape", "5,1", "--json"))
        assert "DS202" in found, found
    else:
        ids = places.put(place, fmt, "ids", folder)
        found = _findings(_dsd(places, place, "check", ids, "--json"))
        assert "DS302" in found and "DS301" in found, found
        out = tmp_path / "padded.npy"
        r = _dsd(places, place, "pad", ids, "--padding", "post", "--value", "-1", "-o", out)
        assert r.code == 0, r.stdout + r.stderr
        padded, lengths = np.load(out), np.load(tmp_path / "padded.lengths.npy")
        assert lengths.tolist() == [len(t) for t in TOKENS]
        for row, t in zip(padded, TOKENS, strict=True):
            np.testing.assert_array_equal(row[: len(t)], t)
            assert (row[len(t) :] == -1).all()
        assert _dsd(places, place, "bucket", ids, "--buckets", "2", "-o", tmp_path / "b").code == 0
        read_back = _findings(_dsd(places, place, "check", out, "--json"))
        assert "DS301" not in read_back, read_back


# -- small reads, measured on the wire ----------------------------------------------------------
def _s3_put(places: Places, name: str, data: bytes) -> str:
    with environ(places.servers.env):
        places.s3.pipe(f"mtx/{name}", data)
    return f"s3://mtx/{name}"


def test_safetensors_inspect_fetches_the_header_only(places):
    """A 4 MiB safetensors file: its size (a HEAD), then 8 bytes and the header in one block —
    the tensors are never fetched; measured by the proxy in front of the server."""
    from safetensors.numpy import save_file

    buf = places.servers.http_root / "big.safetensors"
    save_file({"emb": np.ones((1024, 1024), np.float32), "x": X}, str(buf))
    url = _s3_put(places, "budget/big.safetensors", buf.read_bytes())
    places.servers.s3.reset()
    r = _dsd(places, "s3", "inspect", url, "--json")
    wire = places.servers.s3.sent
    assert r.code == 0, r.stdout + r.stderr
    shapes = {e["path"]: e["shape"] for e in r.json()["sources"][0]["entries"]}
    assert shapes == {"emb": [1024, 1024], "x": [29, 5]}
    assert wire <= 64 * 1024, wire


@pytest.mark.parametrize("kind", ["file", "stream"])
def test_arrow_rows_are_counted_from_headers_and_a_check_reads_the_object_once(places, kind):
    n = 200_000
    table = pa.table({"a": np.arange(n, dtype=np.float64), "b": np.ones(n)})
    sink = pa.BufferOutputStream()
    new = pa.ipc.new_file if kind == "file" else pa.ipc.new_stream
    with new(sink, table.schema) as writer:
        for batch in table.to_batches(max_chunksize=25_000):
            writer.write_batch(batch)
    data = sink.getvalue().to_pybytes()
    url = _s3_put(places, f"budget/t.{kind}.arrow", data)
    places.servers.s3.reset()
    r = _dsd(places, "s3", "inspect", url, "--json")
    assert r.code == 0, r.stderr
    assert {e["shape"][0] for e in r.json()["sources"][0]["entries"]} == {n}
    # the schema and a KiB per batch (a stream's schema: one 1 MiB block at most)
    assert places.servers.s3.sent <= (64 * 1024 if kind == "file" else 1.1 * 1024**2)
    places.servers.s3.reset()
    r = _dsd(places, "s3", "check", url, "--json")
    assert r.code in (0, 1), r.stderr
    assert places.servers.s3.sent <= 1.1 * len(data), (places.servers.s3.sent, len(data))


# -- bad input at URLs: exit 2, one line naming the URL and the cause; nothing written -------------
def _lying_safetensors(folder: Path) -> bytes:
    import json
    import struct

    from safetensors.numpy import save_file

    save_file({"x": X}, str(folder / "l.safetensors"))
    raw = (folder / "l.safetensors").read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    header["x"]["shape"], header["x"]["data_offsets"] = [2**30, 5], [0, 2**30 * 20]  # 20 GiB
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + raw[8 + n :]


def _stream(rows: int) -> bytes:
    table = pa.table({"seq": np.arange(rows, dtype=np.float64)})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        for batch in table.to_batches(max_chunksize=max(1, rows // 4)):
            writer.write_batch(batch)
    return sink.getvalue().to_pybytes()


def _npy_gz_bytes(rows: int) -> bytes:
    buf = io.BytesIO()
    np.save(buf, RNG.normal(size=(rows, 8)))  # random: gzip cannot shrink it much
    return gzip.compress(buf.getvalue(), compresslevel=1)


BAD = {  # name -> (bytes, selector, what the line says)
    "safetensors-lies": (_lying_safetensors, "l.safetensors", ":x", "claims"),
    "stream-cut-mid-batch": (lambda f: _stream(1000)[:-3000], "cut.arrow", "", "truncated"),
    "npy-gz-truncated": (lambda f: _npy_gz_bytes(2000)[:40_000], "cut.npy.gz", "", "truncated"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_damaged_object_is_one_line_and_nothing_is_written(places, case, tmp_path):
    make, name, selector, needle = BAD[case]
    url = _s3_put(places, f"bad/{name}", make(tmp_path))
    out = tmp_path / "out" / "o.npy"
    out.parent.mkdir()
    r = run("replicate", url + selector, "--each", "2", "-o", out, env=places.servers.env)
    assert_clean_error(r, url, needle)
    assert list(out.parent.iterdir()) == []


BIG = {  # read through past the first connection's bytes: cut, the read fails
    "arrow-stream": (lambda: _stream(400_000), "drop.arrow"),
    "npy.gz": (lambda: _npy_gz_bytes(40_000), "drop.npy.gz"),
    "safetensors": (lambda: _safetensors_bytes(), "drop.safetensors"),
}


def _safetensors_bytes() -> bytes:
    from safetensors.numpy import save

    return save({"x": RNG.normal(size=(100_000, 4)).astype(np.float32)})


@pytest.mark.parametrize("what", list(BIG))
@pytest.mark.parametrize("failure", ["403", "dropped"])
def test_a_server_failing_is_one_line_naming_the_url(places, what, failure, tmp_path):
    make, name = BIG[what]
    url = _s3_put(places, f"fail/{name}", make())
    selector = ":x" if what == "safetensors" else ""
    proxy = places.servers.s3
    out = tmp_path / "o.npy"
    try:
        if failure == "403":
            proxy.forbid = True
        else:
            proxy.cut_after = 200_000  # each connection: its headers, then part of a body
        r = run("replicate", url + selector, "--each", "2", "-o", out,
                env={**places.servers.env, "AWS_MAX_ATTEMPTS": "1"})  # fmt: skip
    finally:
        proxy.reset()
    assert_clean_error(r, url, "access denied (403)" if failure == "403" else "")
    assert not out.exists()


# -- GCS outputs are conditional ----------------------------------------------------------------
def test_a_gcs_upload_without_force_asks_for_the_object_not_to_exist(places, tmp_path, monkeypatch):
    """Without --force an upload to GCS carries ``ifGenerationMatch=0`` (GCS answers 412 if
    the object appeared meanwhile, which gcsfs raises as FileExistsError and dsdoctor names).
    gcp-storage-emulator accepts the parameter but does not enforce it (2026: no precondition
    support), so this test checks what reaches the server, not GCS's answer; that answer's
    message is checked from the exception gcsfs raises for a 412."""
    from gcp_storage_emulator import server
    from gcp_storage_emulator.handlers import objects

    from dsdoctor.errors import OutputError
    from dsdoctor.locations import failures, location

    seen: list[dict] = []

    def recording(request, response, storage, *args, **kwargs):
        seen.append({k: v[0] for k, v in request.query.items()})
        return objects.insert(request, response, storage, *args, **kwargs)

    for _, handlers in server.HANDLERS:
        if handlers.get(server.POST) is objects.insert:
            monkeypatch.setitem(handlers, server.POST, recording)
    local = tmp_path / "a.npy"
    np.save(local, np.arange(3))
    with environ(places.servers.env):
        loc = location("gs://gbkt/race/a.npy", {"token": "anon"})
        loc.upload(local, exclusive=True)
        loc.upload(local)  # --force
    assert [q.get("ifGenerationMatch") for q in seen] == ["0", None], seen
    with pytest.raises(OutputError, match=r"gs://gbkt/race/a\.npy: exists .*--force"):  # noqa: SIM117
        with failures(loc, output=True):
            raise FileExistsError("gbkt/race/a.npy")  # what gcsfs raises for GCS's 412
