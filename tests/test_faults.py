"""Faults while writing: a full disk (a file-size limit), two writers at once, an unwritable
folder. Outputs are absent or complete; inputs are byte-identical; errors are one line."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from dsdoctor.markers import SUFFIX as MARKER_SUFFIX
from dsdoctor.sinks.atomic import TEMP_MARKER

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


@pytest.mark.parametrize("out", ["o.npy", "o.npz", "o.h5", "o.parquet", "o.zarr"])
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


def test_full_disk_while_bucketing_leaves_no_archive(tmp_path, big_input):
    folder = tmp_path / "b"
    r = _dsdoctor("bucket", f"{big_input}:s", "--boundaries", "50,100", "-o", folder,
                  preexec_fn=_fsize_limited(64 * 1024))  # fmt: skip
    assert_clean_error(r, "cannot write", "nothing was written")
    assert list(tmp_path.iterdir()) == [big_input]  # neither the folder nor its temporary


SPOOL_FAILS = """
import sys
import numpy as np
from dsdoctor.errors import OutputError
from dsdoctor.sinks import write_arrays
try:  # a 2 MB sibling goes to a spool file, which meets the 512 KiB file-size limit
    write_arrays(sys.argv[1], {"data": np.zeros(10, np.int8), "mask": np.ones((10, 200_000), bool)},
                 main="data", force=False, provenance={})
except OutputError as exc:
    print(exc)
"""


def test_full_disk_while_spooling_an_npz_sibling(tmp_path):
    out = tmp_path / "o.npz"
    p = subprocess.run([sys.executable, "-c", SPOOL_FAILS, str(out)], capture_output=True,
                       text=True, preexec_fn=_fsize_limited(512 * 1024))  # fmt: skip
    assert "cannot write" in p.stdout and "nothing was written" in p.stdout, (p.stdout, p.stderr)
    assert p.stderr == ""
    assert list(tmp_path.iterdir()) == []


def _start_killable(args: list, folder: Path) -> subprocess.Popen:
    """Start ``dsdoctor ARGS`` and return once it has begun writing into ``folder`` (a file's
    temporary there, or a temporary folder there, for bucket)."""
    p = subprocess.Popen([sys.executable, "-m", "dsdoctor", *map(str, args)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 30
    while p.poll() is None and time.monotonic() < deadline:
        if folder.exists() and any(TEMP_MARKER in q.name for q in folder.iterdir()):
            break
        time.sleep(0.005)
    return p


@pytest.mark.parametrize("out", ["o.npz", "o.parquet", "o.npy", "buckets"])
@pytest.mark.parametrize("force", [False, True])
def test_sigkill_mid_write_leaves_the_output_absent_or_complete(tmp_path, big_input, out, force):
    """pad to .npz, .parquet and .npy (+ .mask.npy + .lengths.npy), and bucket, killed at random
    moments while they write, into an empty folder or (--force) over an older output: each
    output is absent, the old one or the new one, whole. A group of .npy files killed between
    its renames keeps its marker and every reader refuses it; it is never mixed unnoticed. Only
    the atomic temporaries (``.o.npz.dsdoctor-tmp-…``, a bucket's temporary folder) may stay
    after SIGKILL — the npz spools are anonymous files."""
    bucket = out == "buckets"

    def command(new: bool) -> list:
        if bucket:
            return ["bucket", f"{big_input}:s", "--pad-to-boundary", "--boundaries",
                    "50,100" if new else "60", "--chunk-size", "256KiB", "-o"]  # fmt: skip
        return ["pad", f"{big_input}:s", "--maxlen", 200 if new else 60, "--chunk-size", "256KiB",
                "-o"]  # fmt: skip

    refs = {}
    for name in ("new", "old"):
        started = time.monotonic()
        (tmp_path / name).mkdir()
        assert _dsdoctor(*command(name == "new"), tmp_path / name / out).code == 0
        writing = time.monotonic() - started  # the new one is written last: an upper bound
        refs[name] = {
            q.relative_to(tmp_path / name): q for q in (tmp_path / name).rglob("*") if q.is_file()
        }
    seed = int.from_bytes(os.urandom(4), "little")
    rng = random.Random(seed)
    for i in range(3):
        folder = tmp_path / f"run{i}"
        folder.mkdir()
        if force:
            for name, q in refs["old"].items():
                (folder / name).parent.mkdir(parents=True, exist_ok=True)
                (folder / name).write_bytes(q.read_bytes())
        p = _start_killable([*command(True), folder / out, *(["--force"] * force)], folder)
        time.sleep(rng.uniform(0, writing))
        p.send_signal(signal.SIGKILL)
        p.wait()
        context = f"seed {seed}, run {i}"
        names = {q.relative_to(folder) for q in folder.rglob("*") if q.is_file()}
        if any(TEMP_MARKER in part for n in names for part in n.parts[:-1]):
            names = {n for n in names if not any(TEMP_MARKER in part for part in n.parts)}
        done = {n for n in names if TEMP_MARKER not in n.name and MARKER_SUFFIX not in n.name}
        if any(MARKER_SUFFIX in n.name for n in names):  # a group killed while it was renamed
            assert out == "o.npy", context
            for name in done:
                assert_clean_error(_dsdoctor("inspect", folder / name), "interrupted")
            continue
        whole = [ref for ref in refs.values()
                 if done == ref.keys() and all(_same_output(folder / n, ref[n]) for n in done)]  # fmt: skip
        assert whole or (not done and not force), (
            f"partial or mixed {sorted(map(str, done))}: {context}"
        )


def _same_output(path: Path, ref: Path) -> bool:
    if path.suffix == ".parquet":
        return pq.read_table(path).equals(pq.read_table(ref))
    if path.suffix == ".npz":
        with np.load(path) as a, np.load(ref) as b:
            return a.files == b.files and all(np.array_equal(a[k], b[k]) for k in a.files)
    return path.read_bytes() == ref.read_bytes()


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


def test_unwritable_folder(readonly_folder):
    out = readonly_folder / "o.npy"
    r = _dsdoctor("select", FIXTURES / "constant.npy", "--first", "2", "-o", out)
    assert_clean_error(r, "not writable")


def test_the_record_of_an_interrupted_npy_group_is_refused_with_it(tmp_path):
    """``OUT.dsdoctor.json`` is a member of ``OUT.npy``'s group: a killed commit's marker
    (``OUT.npy.dsdoctor-incomplete``) refuses it as it refuses ``OUT.mask.npy``, not as unread JSON."""
    np.save(tmp_path / "o.npy", np.zeros((3, 4), np.float32))
    np.save(tmp_path / "o.mask.npy", np.ones((3, 4), bool))
    (tmp_path / "o.dsdoctor.json").write_text("{}")
    names = ["o.npy", "o.mask.npy", "o.dsdoctor.json"]
    (tmp_path / f"o.npy{MARKER_SUFFIX}").write_text(json.dumps({"files": names}))
    for name in names:
        assert_clean_error(_dsdoctor("inspect", tmp_path / name), "interrupted")
