"""Fuzz targets shared by the hypothesis mutation tests (``tests/test_fuzz.py``) and the
atheris campaigns (``make fuzz``): bytes in, and dsdoctor must answer with a report or a
:class:`~dsdoctor.errors.DsdoctorError` — never another exception, a hang or a crash."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

FORMATS = {"npy": ".npy", "npz": ".npz", "hdf5": ".h5", "parquet": ".parquet", "csv": ".csv"}
ROOT = Path(__file__).resolve().parents[1]


def seeds() -> dict[str, list[bytes]]:
    """Small valid files of every format, from ``fixtures/`` (the mutation starting points)."""
    f = ROOT / "fixtures"
    pick = {
        "npy": ["healthy/y.npy", "constant.npy", "nonfinite.npy", "cardinality/y.npy"],
        "npz": ["sequences.npz"],
        "hdf5": ["cardinality.h5", "train.h5"],
        "parquet": ["sequences.parquet", "frames.parquet"],
        "csv": ["iris.csv"],
    }
    return {fmt: [(f / name).read_bytes() for name in names] for fmt, names in pick.items()}


def run_one(data: bytes, fmt: str, folder: str | None = None) -> str:
    """Read ``data`` as ``fmt`` the way the CLI does (inspect, then check); return the outcome."""
    from dsdoctor import api
    from dsdoctor.errors import DsdoctorError

    fd, name = tempfile.mkstemp(suffix=FORMATS[fmt], dir=folder)
    try:
        with os.fdopen(fd, "wb") as fp:
            fp.write(data)
        try:
            api.inspect(name, chunk_size=1 << 16)
            api.check(name, chunk_size=1 << 16)
        except DsdoctorError:
            return "error"
        return "report"
    finally:
        os.unlink(name)


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    """One random damage: a truncation, byte flips, a run of garbage, or a header edit."""
    b = bytearray(data)
    kind = rng.integers(4)
    if kind == 0 and len(b) > 1:
        return bytes(b[: rng.integers(1, len(b))])
    if kind == 1:
        for _ in range(rng.integers(1, 9)):
            i = rng.integers(len(b))
            b[i] ^= 1 << rng.integers(8)
        return bytes(b)
    if kind == 2:
        i = rng.integers(len(b))
        b[i : i + 16] = rng.integers(0, 256, size=16, dtype=np.uint8).tobytes()
        return bytes(b)
    head = min(len(b), 256)  # headers live at the start (npy, HDF5 superblock) or the end (Parquet)
    i = rng.integers(head) if rng.integers(2) else max(0, len(b) - 1 - rng.integers(head))
    b[i] = rng.integers(256)
    return bytes(b)


def write_corpus() -> None:
    """Seed files into ``fuzz/corpus/<format>/`` for atheris (``make fuzz``)."""
    for fmt, items in seeds().items():
        folder = ROOT / "fuzz" / "corpus" / fmt
        folder.mkdir(parents=True, exist_ok=True)
        for i, data in enumerate(items):
            (folder / f"seed-{i}{FORMATS[fmt]}").write_bytes(data)


if __name__ == "__main__":
    write_corpus()
