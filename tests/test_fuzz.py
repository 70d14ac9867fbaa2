"""Mutation fuzzing of every reader in the normal suite: truncations, byte flips, garbage runs
and header edits of real files; and the atheris crash corpus (``fuzz/crashes``) as regressions.

In process for speed, except HDF5, whose C library can crash on damaged files: those run in a
subprocess so a crash is a failure, not the end of the test run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "fuzz"))

from targets import FORMATS, mutate, run_one, seeds  # noqa: E402

#: Mutations per format in the normal suite (``DSDOCTOR_FUZZ_ITERATIONS`` raises it).
ITERATIONS = int(os.environ.get("DSDOCTOR_FUZZ_ITERATIONS", "400"))


@pytest.mark.parametrize("fmt", ["npy", "npz", "parquet", "csv"])
def test_mutated_files_give_a_report_or_a_clean_error(fmt, tmp_path):
    rng = np.random.default_rng(20261125)
    outcomes = {"report": 0, "error": 0}
    for i in range(ITERATIONS):
        seed = seeds()[fmt][i % len(seeds()[fmt])]
        data = mutate(seed, rng)
        try:
            outcomes[run_one(data, fmt, str(tmp_path))] += 1
        except Exception as exc:  # anything but a DsdoctorError is a bug: keep the input
            crash = tmp_path / f"crash-{i}{FORMATS[fmt]}"
            crash.write_bytes(data)
            raise AssertionError(
                f"{fmt} mutation {i}: {type(exc).__name__}: {exc} (input kept in {crash})"
            ) from exc
    assert outcomes["error"] > 0  # the mutations do break files


def test_mutated_hdf5_in_a_subprocess(tmp_path):
    rng = np.random.default_rng(7)
    files = []
    for i in range(ITERATIONS // 3):
        p = tmp_path / f"m{i}.h5"
        p.write_bytes(mutate(seeds()["hdf5"][i % 2], rng))
        files.append(p)
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT / 'fuzz')!r})\nfrom targets import run_one\n"
        "from pathlib import Path\n"
        "for name in sys.argv[1:]:\n    print(name, run_one(Path(name).read_bytes(), 'hdf5'), flush=True)"
    )
    p = subprocess.run(
        [sys.executable, "-c", code, *map(str, files)], capture_output=True, text=True, timeout=600
    )
    done = p.stdout.splitlines()
    assert p.returncode == 0, (
        f"crashed after {len(done)} files (next: {files[len(done)]}): {p.stderr[-2000:]}"
    )
    assert len(done) == len(files)


@pytest.mark.parametrize("crash", sorted(p for p in (ROOT / "fuzz/crashes").rglob("*") if p.is_file() and p.name != ".keep"),
                         ids=lambda p: f"{p.parent.name}/{p.name}")  # fmt: skip
def test_crash_corpus_regressions(crash):
    fmt = crash.parent.name
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT / 'fuzz')!r})\nfrom targets import run_one\n"
        f"from pathlib import Path\nprint(run_one(Path({str(crash)!r}).read_bytes(), {fmt!r}))"
    )
    env = {**os.environ, "DSDOCTOR_READ_TIMEOUT": "10"}  # the hangs among them end in 10 s
    p = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )
    assert p.returncode == 0 and p.stdout.strip() in ("report", "error"), p.stderr[-2000:]
