"""Hostile inputs: each gets a clean error or a finding, within a stated memory bound, and never
makes dsdoctor read another file or run code."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zipfile

import h5py
import numpy as np
import pytest

import dsdoctor
from dsdoctor.sources import npz as npz_module

from .conftest import run

#: Address-space bound for a hostile-input subprocess: python + numpy + h5py + pyarrow map about
#: 1 GiB of virtual memory; a file that made dsdoctor allocate its declared size would not fit.
AS_LIMIT = 3 * 1024**3


def run_bounded(*args: str) -> subprocess.CompletedProcess:
    import resource

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))

    return subprocess.run([sys.executable, "-m", "dsdoctor", *map(str, args)], capture_output=True, text=True,
                          preexec_fn=limit, timeout=120, env={**os.environ, "NO_COLOR": "1"})  # fmt: skip


def clean(p: subprocess.CompletedProcess, *needles: str) -> None:
    assert p.returncode == 2, (p.returncode, p.stdout[-500:], p.stderr[-2000:])
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dsdoctor: error: "), p.stderr
    for n in needles:
        assert n in lines[0], (n, lines[0])


def npy_header(shape, descr="<f8") -> bytes:
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape!r}, }}".encode()
    header += b" " * (64 - (10 + len(header) + 1) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header


@pytest.mark.parametrize("shape", [(2**40, 2**20), (2**62,), (0, 2**62), (10**30,)])
def test_absurd_declared_shapes(tmp_path, shape):
    p = tmp_path / "a.npy"
    p.write_bytes(npy_header(shape) + b"\x00" * 64)
    r = run_bounded("check", p)
    if shape[0] == 0:
        assert r.returncode in (0, 1)  # zero samples of a huge row: nothing to allocate
    else:
        clean(r, "truncated")


def test_header_that_is_not_a_literal_is_not_evaluated(tmp_path):
    p = tmp_path / "evil.npy"
    payload = (
        b"{'descr': __import__('os').system('touch PWNED'), 'fortran_order': False, 'shape': (1,)}"
    )
    payload += b" " * (64 - (10 + len(payload) + 1) % 64) + b"\n"
    p.write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(payload)) + payload)
    clean(run_bounded("inspect", p), "not a valid .npy")
    assert not (tmp_path / "PWNED").exists() and not os.path.exists("PWNED")


def test_npz_decompression_bomb_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(npz_module, "BOMB_MIN_BYTES", 1024**2)
    p = tmp_path / "bomb.npz"
    np.savez_compressed(p, x=np.zeros(8 * 1024**2, dtype=np.float64))  # 64 MiB of zeros → ~64 KiB
    with pytest.raises(dsdoctor.UnsafeInputError, match="decompression bomb"):
        dsdoctor.load(str(p))


def test_npz_member_declaring_more_than_it_stores(tmp_path):
    p = tmp_path / "liar.npz"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("x.npy", npy_header((10**9,)) + b"\x00" * 80)
    clean(run_bounded("check", p), "truncated")


def test_npz_that_is_not_a_zip(tmp_path):
    p = tmp_path / "x.npz"
    p.write_bytes(b"PK\x03\x04" + os.urandom(200))
    clean(run_bounded("inspect", p), "npz")


def test_deeply_nested_hdf5_groups_are_listed_with_a_bound(tmp_path):
    p = tmp_path / "deep.h5"
    with h5py.File(p, "w") as f:
        g = f
        for i in range(80):
            g = g.create_group(f"g{i}")
        g["x"] = np.arange(3.0)
    r = run_bounded("inspect", "--json", p)
    assert r.returncode in (0, 2), r.stderr
    assert "Traceback" not in r.stderr


def test_hdf5_external_raw_storage_is_not_read(tmp_path):
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.arange(16, dtype="<f8").tobytes())
    p = tmp_path / "ext.h5"
    with h5py.File(p, "w") as f:
        f.create_dataset("x", shape=(16,), dtype="<f8", external=[(str(secret), 0, 128)])
    clean(run_bounded("check", "--x", f"{p}:/x"), "--follow-external")
    r = run("check", "--json", "--x", f"{p}:/x", "--follow-external")
    assert r.code == 0 and r.json()["arrays"]["x"]["stats"]["max"] == 15.0


def test_hdf5_virtual_dataset_is_not_followed(tmp_path):
    src = tmp_path / "src.h5"
    with h5py.File(src, "w") as f:
        f["d"] = np.arange(10.0)
    layout = h5py.VirtualLayout(shape=(10,), dtype="f8")
    layout[:] = h5py.VirtualSource(str(src), "d", shape=(10,))
    p = tmp_path / "vds.h5"
    with h5py.File(p, "w") as f:
        f.create_virtual_dataset("v", layout)
    clean(run_bounded("check", "--x", f"{p}:/v"), "--follow-external")
    r = run_bounded("inspect", "--json", p)
    assert r.returncode == 0 and "virtual" in r.stdout


def test_hdf5_external_link_to_a_missing_file(tmp_path):
    p = tmp_path / "link.h5"
    with h5py.File(p, "w") as f:
        f["here"] = np.arange(3)
        f["away"] = h5py.ExternalLink("/etc/passwd", "/x")
    r = run_bounded("inspect", "--json", p)
    assert r.returncode == 0 and "external link" in r.stdout
    clean(run_bounded("check", "--x", f"{p}:/away"), "--follow-external")


def test_huge_hdf5_attribute_is_not_loaded(tmp_path):
    p = tmp_path / "attr.h5"
    with h5py.File(p, "w", libver="latest") as f:  # dense attribute storage: no 64 KiB limit
        f["x"] = np.arange(4.0)
        f["x"].attrs.create("big", data=np.zeros(8 * 1024**2), dtype="f8")
    r = run_bounded("check", "--json", p)
    assert r.returncode == 0, r.stderr


def test_parquet_with_a_lying_footer(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    p = tmp_path / "t.parquet"
    pq.write_table(pa.table({"a": np.arange(1000.0)}), p)
    data = bytearray(p.read_bytes())
    footer_len = struct.unpack("<I", data[-8:-4])[0]
    data[-8:-4] = struct.pack("<I", footer_len * 1000)
    p.write_bytes(bytes(data))
    clean(run_bounded("check", p), "Parquet")


def test_csv_with_ragged_rows(fixtures):
    clean(run_bounded("check", fixtures / "broken/ragged_rows.csv"), "row 4")


def test_object_array_with_a_malicious_pickle_is_never_loaded(tmp_path):

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'PWNED'}",))

    arr = np.empty(1, dtype=object)
    arr[0] = Evil()
    p = tmp_path / "evil.npy"
    with open(p, "wb") as f:
        np.lib.format.write_array(f, arr, allow_pickle=True)
    for args in (
        ["check", p],
        ["inspect", p],
        ["check", "--x", p],
        ["pad", p, "-o", tmp_path / "o.npy"],
    ):
        r = run_bounded(*args)
        assert r.returncode in (0, 1, 2) and "Traceback" not in r.stderr, (args, r.stderr)
        assert "unpickle" in r.stdout + r.stderr
    assert not (tmp_path / "PWNED").exists()


def test_inputs_are_never_modified(tmp_path, fixtures):
    files = sorted(p for p in fixtures.rglob("*") if p.is_file())
    before = {p: p.read_bytes() for p in files}
    for p in files[:40]:
        run("inspect", p)
        run("check", p)
    assert {p: p.read_bytes() for p in files} == before


def test_hdf5_that_makes_the_library_loop_ends_with_a_clean_error(tmp_path):
    """A damaged global heap makes HDF5 loop forever reading a variable-length dataset (found by
    `make fuzz`): the read runs in a child that is killed at the deadline."""
    import time
    from pathlib import Path

    hang = Path(__file__).resolve().parents[1] / "fuzz/crashes/hdf5/global-heap-hang.h5"
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, "-m", "dsdoctor", "check", "--x", f"{hang}:/seq/tokens"], capture_output=True,
                       text=True, timeout=120, env={**os.environ, "DSDOCTOR_READ_TIMEOUT": "3"})  # fmt: skip
    assert time.monotonic() - t0 < 60
    clean(p, "did not finish within 3 s")
