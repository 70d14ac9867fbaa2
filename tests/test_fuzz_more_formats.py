"""Mutation fuzzing of the readers of safetensors, NetCDF-3 classic, WebDataset tars and compressed ``.npy``
(the mutations of ``fuzz/targets.py`` on real files): every damaged file gives a report or a
:class:`~dsdoctor.errors.DsdoctorError`, never another exception."""

from __future__ import annotations

import gzip
import io
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from dsdoctor import api
from dsdoctor.errors import DsdoctorError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fuzz"))

from targets import mutate

ITERATIONS = int(os.environ.get("DSDOCTOR_FUZZ_ITERATIONS", "400")) // 2


def _safetensors(folder: Path) -> bytes:
    from safetensors.numpy import save_file

    save_file(
        {"x": np.arange(24.0).reshape(8, 3), "y": np.arange(8)}, str(folder / "s.safetensors")
    )
    return (folder / "s.safetensors").read_bytes()


def _netcdf3(folder: Path) -> bytes:
    from scipy.io import netcdf_file

    with netcdf_file(folder / "s.nc", "w", version=2) as nc:
        nc.createDimension("t", None)
        nc.createDimension("f", 3)
        nc.createVariable("t", "i4", ("t",))[:] = np.arange(8)
        nc.createVariable("x", "f4", ("t", "f"))[:] = np.arange(24.0).reshape(8, 3)
        nc.createVariable("k", "i2", ("f",))[:] = np.arange(3)
    return (folder / "s.nc").read_bytes()


def _npy_gz(folder: Path) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.arange(24.0).reshape(8, 3))
    return gzip.compress(buf.getvalue())


def _tar(folder: Path) -> bytes:
    import webdataset as wds

    with wds.TarWriter(str(folder / "s.tar")) as w:
        for i in range(6):
            w.write({"__key__": f"{i:03d}", "x.npy": np.arange(3.0) + i, "tok.npy": np.arange(i + 1),
                     "cls": str(i)})  # fmt: skip
    return (folder / "s.tar").read_bytes()


SEEDS = {".safetensors": _safetensors, ".nc": _netcdf3, ".npy.gz": _npy_gz, ".tar": _tar}


@pytest.mark.parametrize("suffix", SEEDS)
def test_mutated_files_give_a_report_or_a_clean_error(tmp_path, suffix):
    seed = SEEDS[suffix](tmp_path)
    rng = np.random.default_rng(20261129)
    outcomes = {"report": 0, "error": 0}
    path = tmp_path / f"m{suffix}"
    for i in range(ITERATIONS):
        data = mutate(seed, rng)
        path.write_bytes(data)
        try:
            api.inspect(str(path), chunk_size=1 << 16)
            api.check(str(path), chunk_size=1 << 16)
            outcomes["report"] += 1
        except DsdoctorError:
            outcomes["error"] += 1
        except Exception as exc:
            crash = tmp_path / f"crash-{i}{suffix}"
            crash.write_bytes(data)
            raise AssertionError(
                f"{suffix} mutation {i}: {type(exc).__name__}: {exc} ({crash})"
            ) from exc
    assert outcomes["error"] > 0
