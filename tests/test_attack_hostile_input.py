"""Variants of issue 11's hostile inputs found by a second attack (see SECURITY.md): each runs the
real CLI under the address-space cap and time limit of the hostile-input tests."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from .test_hostile_sizes import clean, run_bounded

MiB = 1024**2


def sparse_npy(path, rows: int, cols: int, data: dict[int, np.ndarray]) -> None:
    """A float64 ``.npy`` of ``rows`` x ``cols`` whose rows are holes (zeros) except ``data``."""
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": "<f8", "fortran_order": False, "shape": (rows, cols)}
        )
        offset = f.tell()
        f.truncate(offset + rows * cols * 8)
        for row, values in data.items():
            f.seek(offset + row * cols * 8)
            f.write(np.asarray(values, dtype="<f8").tobytes())


def test_sparse_npy_of_two_tib_with_nothing_on_disk_is_scanned_at_once(tmp_path):
    path = tmp_path / "big.npy"
    sparse_npy(path, 2**41 // 32, 4, {})
    r = run_bounded("check", path, "--format", "json", timeout=20)
    assert r.code in (0, 1), r.stderr
    stats = json.loads(r.stdout)["arrays"][str(path)]["stats"]
    assert stats["rows"] == 2**41 // 32 and stats["min"] == 0 and stats["max"] == 0
    assert "unwritten_rows" not in stats  # a hole reads as zeros: not a finding


def test_sparse_npy_with_data_between_holes_gives_the_stats_of_its_values(tmp_path):
    rows, cols = 2**33 // 32, 4  # 8 GiB apparent, three blocks on disk
    marks = {0: [1, 2, 3, 4], rows // 2: [np.nan, -7, 0.5, 9], rows - 1: [np.inf, 0, 0, 100]}
    sparse_npy(tmp_path / "s.npy", rows, cols, marks)
    r = run_bounded("check", tmp_path / "s.npy", "--format", "json", timeout=20)
    assert r.code == 1, r.stderr
    st = json.loads(r.stdout)["arrays"][str(tmp_path / "s.npy")]["stats"]
    assert (st["rows"], st["nan"], st["posinf"]) == (rows, 1, 1)
    assert st["feature_min"] == [0.0, -7.0, 0.0, 0.0]
    assert st["feature_max"] == ["inf", 2.0, 3.0, 100.0]
    assert [f["name"] for f in json.loads(r.stdout)["findings"]] == [
        "non-finite-values",
        "missing-values",
    ]


def sparse_h5(path, rows: int, chunk_rows: int | None) -> None:
    """An HDF5 file whose dataset ``/x`` (rows x 4 float64) is allocated at creation but never
    filled (``FILL_TIME_NEVER``): its storage is holes in the file, except three written rows."""
    fid = h5py.h5f.create(str(path).encode(), h5py.h5f.ACC_TRUNC)
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    if chunk_rows:
        dcpl.set_chunk((chunk_rows, 4))
    dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
    dcpl.set_fill_time(h5py.h5d.FILL_TIME_NEVER)
    space = h5py.h5s.create_simple((rows, 4))
    h5py.h5d.create(fid, b"x", h5py.h5t.IEEE_F64LE, space, dcpl=dcpl)
    fid.close()
    with h5py.File(path, "r+") as f:
        f["x"][3] = [1, 2, 3, 4]
        f["x"][rows // 2] = [np.nan, -7, 0.5, 9]
        f["x"][rows - 1] = [5, 0, 0, 100]


@pytest.mark.parametrize("chunk_rows", [None, 2**20])
def test_sparse_hdf5_allocated_but_never_filled_is_scanned_at_once(tmp_path, chunk_rows):
    rows = 2**36 // 32  # 64 GiB declared and allocated, a few blocks on disk
    sparse_h5(tmp_path / "s.h5", rows, chunk_rows)
    r = run_bounded("check", f"{tmp_path / 's.h5'}:/x", "--format", "json", timeout=20)
    assert r.code == 1, r.stderr
    out = json.loads(r.stdout)
    st = next(iter(out["arrays"].values()))["stats"]
    assert (st["rows"], st["nan"]) == (rows, 1)
    assert st["feature_min"] == [0.0, -7.0, 0.0, 0.0]
    assert st["feature_max"] == [5.0, 2.0, 3.0, 100.0]
    assert [f["name"] for f in out["findings"]] == ["missing-values"]  # holes are not unwritten


def test_whole_file_check_says_which_arrays_it_did_not_read(tmp_path):
    """A virtual dataset mapping another file is not read without --follow-external: a check of
    the whole file says so instead of calling it healthy."""
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = np.full((4, 3), np.nan)
    with h5py.File(tmp_path / "v.h5", "w") as f:
        f["ok"] = np.arange(12.0).reshape(4, 3)
        layout = h5py.VirtualLayout((4, 3), "f8")
        layout[:] = h5py.VirtualSource(str(tmp_path / "other.h5"), "x", shape=(4, 3))
        f.create_virtual_dataset("v", layout)
    r = run_bounded("check", tmp_path / "v.h5")
    assert r.code == 0, r.stderr
    line = next(x for x in r.stdout.splitlines() if ":/v " in x)
    assert "not read:" in line and "--follow-external" in line
    assert "healthy" not in r.stdout and "1 array(s) not read" in r.stdout


def small_npy(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((6, 3), dtype="f4"))
    return tmp_path / "x.npy"


@pytest.mark.parametrize("option", ["--chunk-size", "--memory"])
def test_a_long_size_value_is_refused_in_linear_time(tmp_path, option):
    """``[0-9]*\\.?[0-9]+`` tried every split of a run of digits: 8,000 digits and a stray
    character took 12 s, 128 KB (one argument) hours."""
    r = run_bounded("check", small_npy(tmp_path), option, "1" * 100_000 + "!", timeout=20)
    clean(r, option)
    assert r.seconds < 10


@pytest.mark.parametrize(
    "args",
    [
        ["check", "{x}", "--jobs", "٣"],
        ["check", "{x}", "--batch-size", "٣"],
        ["check", "{x}", "--batch-size", "３"],
        ["select", "{x}", "--features", "٠", "-o", "{o}"],
        ["pad", "{x}", "--value", "٣", "-o", "{o}"],
    ],
)
def test_numbers_are_written_in_ascii_digits(tmp_path, args):
    """``\\d`` and ``float`` read Arabic-Indic and full-width digits; ``--chunk-size`` did not:
    one kind of value, one reading — each is refused naming the option."""
    x, o = small_npy(tmp_path), tmp_path / "o.npz"
    r = run_bounded(*[a.format(x=x, o=o) for a in args], timeout=20)
    clean(r, args[2])
    assert not o.exists()
