"""Issue 10 attacked again as a new user would: variants of the writes and signals cases that
the first round of tests did not spell (shard folders and globs as inputs, a marker left by a
killed commit then overwritten by another writer, SIGHUP)."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from dsdoctor.markers import SUFFIX as MARKER_SUFFIX

from .conftest import assert_clean_error, run


def _shards(folder: Path) -> Path:
    folder.mkdir()
    for i in range(2):
        np.save(folder / f"s{i}.npy", np.arange(12.0).reshape(3, 4) + i)
    return folder


# -- an output that would become an input shard --------------------------------------------------
@pytest.mark.parametrize(
    ("source", "output"),
    [
        ("{d}", "{d}/new.npy"),  # the shard folder itself
        ("{d}/*.npy", "{d}/new.npy"),  # a glob the new file matches
        ("{d}/*.npy", "{d}/../{n}/new.npy"),  # another spelling of its folder
        ("{t}/**/s?.npy", "{d}/s9.npy"),  # a recursive glob
    ],
)
def test_an_output_never_becomes_a_shard_of_its_input(tmp_path, source, output):
    d = _shards(tmp_path / "sh")
    fill = {"d": d, "n": d.name, "t": tmp_path}
    r = run(
        "reshape", source.format(**fill), "--shape", "(None, 4, 1)", "-o", output.format(**fill)
    )
    assert_clean_error(r, "input")
    assert sorted(p.name for p in d.iterdir()) == ["s0.npy", "s1.npy"]


def test_a_report_or_spec_never_becomes_a_shard(tmp_path):
    d = _shards(tmp_path / "sh")
    assert_clean_error(run("check", f"{d}/*.npy", "--format", "json", "-o", d / "r.npy"), "shard")
    assert_clean_error(run("spec", "infer", "--x", f"{d}/*.npy", "-o", d / "x.npy"), "shard")
    assert sorted(p.name for p in d.iterdir()) == ["s0.npy", "s1.npy"]


def test_an_output_the_glob_does_not_match_is_written(tmp_path):
    d = _shards(tmp_path / "sh")
    r = run("reshape", f"{d}/s*.npy", "--shape", "(None, 4, 1)", "-o", d / "t.npz")
    assert r.code == 0, r.stderr
    assert (d / "t.npz").exists()


# -- a marker left by a killed commit, then another writer ------------------------------------
def _killed_group(tmp_path: Path) -> Path:
    """A pad group whose commit was killed: three files and the marker naming them."""
    np.savez(tmp_path / "r.npz", s=np.arange(6, dtype=np.int32), s_lengths=np.array([1, 2, 3]))
    out = tmp_path / "z.npy"
    np.save(out, np.zeros((3, 3), np.int32))  # what `pad r.npz:s -o z.npy` writes, in shape
    np.save(tmp_path / "z.mask.npy", np.ones((3, 3), bool))
    np.save(tmp_path / "z.lengths.npy", np.array([1, 2, 3]))
    names = ["z.npy", "z.mask.npy", "z.lengths.npy"]
    (tmp_path / ("z.npy" + MARKER_SUFFIX)).write_text(json.dumps({"files": names}))
    return out


def test_a_file_written_over_a_marked_group_is_not_refused_forever(tmp_path):
    out = _killed_group(tmp_path)
    np.save(tmp_path / "d.npy", np.zeros((3, 2)))
    r = run("reshape", tmp_path / "d.npy", "--shape", "(None, 2, 1)", "-o", out, "--force")
    assert r.code == 0, r.stderr
    assert run("inspect", out).code == 0  # complete: written by one run, alone
    # the siblings it did not replace may still mix two runs: still refused
    assert_clean_error(run("inspect", tmp_path / "z.mask.npy"), "interrupted")
    r = run("mask", out, "-o", tmp_path / "z.mask.npy", "--force")
    assert r.code == 0, r.stderr
    assert run("inspect", tmp_path / "z.mask.npy").code == 0
    assert_clean_error(run("inspect", tmp_path / "z.lengths.npy"), "interrupted")


def test_a_smaller_group_over_a_marked_group_keeps_the_rest_refused(tmp_path):
    out = _killed_group(tmp_path)
    r = run("pad", f"{tmp_path / 'r.npz'}:s", "-o", out, "--force", "--no-mask")
    assert r.code == 0, r.stderr
    assert run("inspect", out).code == 0
    assert run("inspect", tmp_path / "z.lengths.npy").code == 0
    assert_clean_error(run("inspect", tmp_path / "z.mask.npy"), "interrupted")
    assert run("pad", f"{tmp_path / 'r.npz'}:s", "-o", out, "--force").code == 0
    assert not (tmp_path / ("z.npy" + MARKER_SUFFIX)).exists()


# -- SIGHUP: the terminal or the SSH session closed under a run -----------------------------------
PRODUCER = """
import sys, time, numpy as np, io
buf = io.BytesIO(); np.save(buf, np.zeros((100_000, 4)))
out = sys.stdout.buffer; out.write(buf.getvalue()[:200_000]); out.flush()
time.sleep(60)
"""


def test_sighup_is_obeyed_like_sigterm(tmp_path):
    """Left at its default, SIGHUP killed the run with its temporaries (the stdin spool, a
    half-written ``.OUT.dsdoctor-tmp-…``) behind; now: exit 129, one line, nothing left."""
    spool = tmp_path / "tmp"
    spool.mkdir()
    env = {**os.environ, "TMPDIR": str(spool), "NO_COLOR": "1"}
    feed = subprocess.Popen([sys.executable, "-c", PRODUCER], stdout=subprocess.PIPE)
    args = ["reshape", "-", "--shape", "(None, 4, 1)", "-o", tmp_path / "out.npy"]
    p = subprocess.Popen([sys.executable, "-m", "dsdoctor", *map(str, args)], stdin=feed.stdout,
                         stderr=subprocess.PIPE, env=env)  # fmt: skip
    feed.stdout.close()
    deadline = time.monotonic() + 20
    while not list(spool.iterdir()) and time.monotonic() < deadline:  # the spool is being filled
        time.sleep(0.05)
    assert list(spool.iterdir())
    p.send_signal(signal.SIGHUP)
    _, err = p.communicate(timeout=30)
    feed.kill()
    feed.wait()
    assert p.returncode == 129, err
    assert err.decode().splitlines() == ["dsdoctor: hung up; nothing half-written was left behind"]
    assert list(spool.iterdir()) == []
    assert not (tmp_path / "out.npy").exists()


@pytest.mark.parametrize("link", ["z.npy", "z.mask.npy"])
def test_a_symlink_to_a_file_of_a_marked_group_is_refused(tmp_path, link):
    _killed_group(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    alias = tmp_path / "elsewhere" / "alias.npy"
    alias.symlink_to(tmp_path / link)
    assert_clean_error(run("inspect", alias), "interrupted", "z.npy" + MARKER_SUFFIX)


# -- a name planted where the marker goes ------------------------------------------------------
def _ragged(tmp_path: Path) -> str:
    np.savez(tmp_path / "r.npz", s=np.arange(6, dtype=np.int32), s_lengths=np.array([1, 2, 3]))
    return f"{tmp_path / 'r.npz'}:s"


def test_a_symlink_at_the_marker_name_is_never_written_through(tmp_path):
    """``OUT.npy.dsdoctor-incomplete -> precious`` made a pad run overwrite precious with the
    marker's JSON (and the input, if it pointed there)."""
    precious = tmp_path / "precious.txt"
    precious.write_text("precious")
    (tmp_path / ("z.npy" + MARKER_SUFFIX)).symlink_to(precious)
    assert_clean_error(run("pad", _ragged(tmp_path), "-o", tmp_path / "z.npy"), "marker")
    assert precious.read_text() == "precious"
    assert not (tmp_path / "z.npy").exists()
    assert not [p for p in tmp_path.iterdir() if ".dsdoctor-tmp-" in p.name]


def test_a_pipe_at_the_marker_name_does_not_hang_a_reader(tmp_path):
    np.save(tmp_path / "z.npy", np.zeros((3, 2)))
    os.mkfifo(tmp_path / ("z.npy" + MARKER_SUFFIX))
    assert_clean_error(run("inspect", tmp_path / "z.npy", timeout=30), "interrupted")


# -- a trailing slash names a folder ---------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ("check", "{d}", "--format", "json", "-o", "{t}/rep/"),
        ("reshape", "{d}", "--shape", "(None, 2, 1)", "-o", "{t}/x.npy/"),
        ("spec", "infer", "--x", "{d}", "-o", "{t}/s.toml/"),
    ],
)
def test_an_output_ending_in_a_slash_is_not_written_as_a_file(tmp_path, args):
    """``-o rep/`` wrote a file ``rep`` (``Path`` drops the slash)."""
    np.save(tmp_path / "d.npy", np.zeros((3, 2)))
    fill = {"d": tmp_path / "d.npy", "t": tmp_path}
    assert_clean_error(run(*(a.format(**fill) for a in args)), "folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.npy"]


def test_a_folder_output_may_end_in_a_slash(tmp_path):
    r = run("bucket", _ragged(tmp_path), "--buckets", "2", "-o", f"{tmp_path / 'b'}/")
    assert r.code == 0, r.stderr
    assert (tmp_path / "b" / "buckets.json").exists()


# -- repair with several fixes: all or none ------------------------------------------------------
def test_a_repair_that_fails_midway_leaves_none_of_its_outputs(tmp_path):
    """The second fix's output cannot be written (its name is taken): the first one, already
    written, was left in OUTDIR — half a repair. (A SIGTERM between the two did the same.)"""
    np.save(tmp_path / "x.npy", np.zeros((4, 3, 4)))
    np.save(tmp_path / "y.npy", np.zeros((1,)))
    out = tmp_path / "out"
    out.mkdir()
    (out / "x.reshaped.npy").write_text("the user's")
    r = run("repair", "--x", tmp_path / "x.npy", "--y", tmp_path / "y.npy", "--input-shape",
            "(None, 12)", "--allow", "lossless,assumption", "-o", out)  # fmt: skip
    assert_clean_error(r, "exists")
    assert sorted(p.name for p in out.iterdir()) == ["x.reshaped.npy"]
    assert (out / "x.reshaped.npy").read_text() == "the user's"


def test_repair_of_stdin_says_why_it_cannot_apply_the_fix(tmp_path):
    """The skip reason was "<stdin>: no such file or directory" (the spool, already gone)."""
    np.save(tmp_path / "x.npy", np.zeros((4, 3)))
    buf = io.BytesIO()
    np.save(buf, np.zeros((1,)))
    r = run("repair", "--x", tmp_path / "x.npy", "--y", "-", "--allow", "lossless,assumption",
            "-o", tmp_path / "out", stdin=buf.getvalue())  # fmt: skip
    assert "stdin was read once" in r.stdout, r.stdout
    assert "no such file" not in r.stdout
