"""Faults while writing: a full disk (a file-size limit), two writers at once, an unwritable
folder. Outputs are absent or complete; inputs are byte-identical; errors are one line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from .conftest import FIXTURES, assert_clean_error


def _fsize_limited(limit: int):
    def setup():
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return setup


def _dsdoctor(*args, preexec_fn=None):
    p = subprocess.run([sys.executable, "-m", "dsdoctor", *map(str, args)], capture_output=True, text=True,
                       preexec_fn=preexec_fn, env={**os.environ, "NO_COLOR": "1"})  # fmt: skip

    class R:
        code, stdout, stderr = p.returncode, p.stdout, p.stderr

    return R


@pytest.fixture
def big_input(tmp_path):
    rng = np.random.default_rng(5)
    lengths = rng.integers(1, 200, size=20_000)
    src = tmp_path / "in.npz"
    np.savez(src, s=rng.integers(1, 9, size=int(lengths.sum()), dtype=np.int32), s_lengths=lengths)
    return src


@pytest.mark.parametrize("out", ["o.npy", "o.npz", "o.h5", "o.parquet"])
def test_full_disk_is_one_clean_line_and_nothing_written(tmp_path, big_input, out):
    before = big_input.read_bytes()
    folder = tmp_path / "out"
    folder.mkdir()
    r = _dsdoctor(
        "pad",
        f"{big_input}:s",
        "--maxlen",
        "200",
        "-o",
        folder / out,
        preexec_fn=_fsize_limited(64 * 1024),
    )
    assert_clean_error(r, "cannot write", "nothing was written")
    assert list(folder.iterdir()) == []
    assert big_input.read_bytes() == before


def test_two_writers_at_once_leave_one_complete_output(tmp_path, big_input):
    out = tmp_path / "o.npy"
    cmd = [
        sys.executable,
        "-m",
        "dsdoctor",
        "pad",
        f"{big_input}:s",
        "--maxlen",
        "200",
        "-o",
        str(out),
    ]
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [(p.wait(), p.stderr.read()) for p in procs]
    assert all(code in (0, 2) for code, _ in results), results
    assert any(code == 0 for code, _ in results)
    for code, err in results:
        if code == 2:
            assert err.startswith("dsdoctor: error: ") and "exists" in err
    data = np.load(out)
    assert data.shape == (20_000, 200)
    ref = tmp_path / "ref.npy"
    assert subprocess.run([*cmd[:-1], str(ref)], capture_output=True).returncode == 0
    np.testing.assert_array_equal(data, np.load(ref))
    assert not [p for p in tmp_path.iterdir() if "dsdoctor-tmp" in p.name]


def test_unwritable_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as a user (root) who can write to a 0o500 folder")
        r = _dsdoctor("select", FIXTURES / "constant.npy", "--first", "2", "-o", folder / "o.npy")
        assert_clean_error(r, "not writable")
    finally:
        folder.chmod(0o700)
