"""Hostile HDF5 files: link chains that lead to other files, one object under several names,
storage never written, compressed chunks that expand past the memory bound.

Each runs the real ``python -m dsdoctor`` under the address-space cap of the hostile-input tests
and a time limit, and expects exit 0/1 with a right report or exit 2 with one line. Where the
promise is "nothing outside the file is read", the run is repeated under ``strace`` to see every
file the process opens (skipped where strace is missing or cannot trace).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from .test_hostile import AS_LIMIT, clean

#: Seconds a hostile HDF5 run may take at most (start-up included; they take about one).
TIME_LIMIT = 30


def run_capped(*args, strace_log: Path | None = None) -> subprocess.CompletedProcess:
    """``python -m dsdoctor ARGS`` under ``RLIMIT_AS`` = 3 GiB, failing past ``TIME_LIMIT`` s."""
    import resource

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))

    cmd = [sys.executable, "-m", "dsdoctor", *map(str, args)]
    if strace_log is not None:
        cmd = ["strace", "-f", "-qq", "-e", "trace=open,openat,openat2", "-o", str(strace_log),
               *cmd]  # fmt: skip
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=limit, timeout=TIME_LIMIT,
                       env={**os.environ, "NO_COLOR": "1"})  # fmt: skip
    assert time.monotonic() - t0 < TIME_LIMIT
    return p


def opened(args, tmp_path: Path) -> set[str]:
    """The files under ``tmp_path`` that ``dsdoctor ARGS`` opens (successfully or not)."""
    if shutil.which("strace") is None:
        pytest.skip("needs strace to watch file opens")
    log = tmp_path / "opens.strace"
    p = run_capped(*args, strace_log=log)
    text = log.read_text() if log.exists() else ""
    if not text.strip():
        pytest.skip(f"strace cannot trace here: {p.stderr.strip()[:200]}")
    root = str(tmp_path)
    return {
        os.path.basename(line.split('"')[1])
        for line in text.splitlines()
        if '"' in line and line.split('"')[1].startswith(root)
    }


# -- link chains -------------------------------------------------------------------------------


def _other(tmp_path: Path) -> Path:
    """A file another one links to; dsdoctor must not open it."""
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = np.arange(5.0) + 100
        f.create_group("grp")["x"] = np.arange(5.0) + 200
    return other


def _vds(f: h5py.File, other: Path, name: str) -> None:
    layout = h5py.VirtualLayout(shape=(5,), dtype="f8")
    layout[:] = h5py.VirtualSource(str(other), "x", shape=(5,))
    f.create_virtual_dataset(name, layout)


#: name → (how the file is built, the path selected). Every one reaches another file.
CHAINS = {
    "soft-to-external": lambda f, o: (
        f.__setitem__("x", h5py.SoftLink("/ext")),
        f.__setitem__("ext", h5py.ExternalLink(str(o), "/x")),
    ),
    "soft-soft-external": lambda f, o: (
        f.__setitem__("x", h5py.SoftLink("/mid")),
        f.__setitem__("mid", h5py.SoftLink("/ext")),
        f.__setitem__("ext", h5py.ExternalLink(str(o), "/x")),
    ),
    "relative-soft-to-external": lambda f, o: (
        f.create_group("g").__setitem__("x", h5py.SoftLink("ext")),
        f["g"].__setitem__("ext", h5py.ExternalLink(o.name, "/x")),
        f.__setitem__("x", h5py.SoftLink("/g/x")),
    ),
    "soft-group-on-path": lambda f, o: (
        f.create_group("real").__setitem__("x", h5py.ExternalLink(str(o), "/x")),
        f.create_group("g"),
        f["g"].__setitem__("alias", h5py.SoftLink("/real")),
        f.__setitem__("x", h5py.SoftLink("/g/alias/x")),
    ),
    "external-group-on-path": lambda f, o: (
        f.__setitem__("remote", h5py.ExternalLink(str(o), "/grp")),
        f.__setitem__("x", h5py.SoftLink("/remote/x")),
    ),
    "hard-group-holding-external": lambda f, o: (
        f.create_group("a").__setitem__("ext", h5py.ExternalLink(str(o), "/x")),
        f["a"].__setitem__("up", f["/"]),
        f.__setitem__("x", h5py.SoftLink("/a/up/a/ext")),
    ),
    "soft-to-virtual": lambda f, o: (
        _vds(f, o, "vds"),
        f.__setitem__("x", h5py.SoftLink("/vds")),
    ),
    "soft-to-external-storage": lambda f, o: (
        f.create_dataset("raw", shape=(5,), dtype="<f8", external=[(str(o), 0, 40)]),
        f.__setitem__("x", h5py.SoftLink("/raw")),
    ),
    "hard-alias-of-external-storage": lambda f, o: (
        f.create_dataset("raw", shape=(5,), dtype="<f8", external=[(str(o), 0, 40)]),
        f.create_group("g").__setitem__("raw", f["raw"]),
        f.__setitem__("x", h5py.SoftLink("/g/raw")),
    ),
}


def _chain(tmp_path: Path, kind: str) -> tuple[Path, Path]:
    other = _other(tmp_path)
    p = tmp_path / "main.h5"
    with h5py.File(p, "w") as f:
        f["here"] = np.arange(3.0)
        CHAINS[kind](f, other)
    return p, other


@pytest.mark.parametrize("kind", sorted(CHAINS))
@pytest.mark.parametrize("command", ["check", "select"])
def test_a_link_chain_to_another_file_is_refused(tmp_path, kind, command):
    p, _ = _chain(tmp_path, kind)
    out = tmp_path / "leaked.npy"
    args = ["check", f"{p}:/x"] if command == "check" else ["select", f"{p}:/x", "--first", "1", "-o", out]  # fmt: skip
    clean(run_capped(*args), "--follow-external")
    assert not out.exists()


@pytest.mark.parametrize("kind", ["soft-to-external", "soft-group-on-path", "soft-to-virtual",
                                  "soft-to-external-storage"])  # fmt: skip
def test_nothing_outside_the_file_is_opened(tmp_path, kind):
    """strace sees every open: the other file is never opened, by check, select or inspect."""
    p, other = _chain(tmp_path, kind)
    out = tmp_path / "leaked.npy"
    for args in (["check", f"{p}:/x"], ["select", f"{p}:/x", "--first", "1", "-o", out],
                 ["inspect", p], ["check", p]):  # fmt: skip
        assert other.name not in opened(args, tmp_path), args
    assert not out.exists()


def test_the_chain_is_followed_with_follow_external(tmp_path):
    p, _ = _chain(tmp_path, "soft-soft-external")
    r = run_capped("check", "--json", f"{p}:/x", "--follow-external")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["arrays"][f"{p}:/x"]["stats"]["max"] == 104.0


def test_soft_links_inside_the_file_are_followed(tmp_path):
    p = tmp_path / "soft.h5"
    with h5py.File(p, "w") as f:
        f.create_group("data")["x"] = np.arange(4.0)
        f["alias"] = h5py.SoftLink("/data")  # a soft-linked group on the path
        f["x"] = h5py.SoftLink("/alias/x")
        f["data"]["rel"] = h5py.SoftLink("x")  # relative to its group
    for name in ("/x", "/alias/x", "/data/rel"):
        r = run_capped("check", "--json", f"{p}:{name}")
        assert r.returncode == 0, (name, r.stderr)
        assert json.loads(r.stdout)["arrays"][f"{p}:{name}"]["stats"]["max"] == 3.0


@pytest.mark.parametrize(
    "links, needle",
    [
        ({"a": "/b", "b": "/a"}, "more than 16 soft links"),
        ({"a": "/a/x"}, "more than 16 soft links"),
        ({"a": "/nowhere"}, "dangling"),
        ({"a": "/b", "b": "/g/missing"}, "dangling"),
    ],
    ids=["loop", "self-loop-on-path", "dangling", "dangling-after-a-hop"],
)
def test_soft_link_loops_and_dangling_links_are_clean_errors(tmp_path, links, needle):
    p = tmp_path / "loop.h5"
    with h5py.File(p, "w") as f:
        f.create_group("g")["d"] = np.arange(3.0)
        for name, target in links.items():
            f[name] = h5py.SoftLink(target)
    clean(run_capped("check", f"{p}:/a"), needle)
    assert run_capped("inspect", p).returncode == 0


def test_a_group_is_not_a_dataset(tmp_path):
    p = tmp_path / "g.h5"
    with h5py.File(p, "w") as f:
        f.create_group("g")["d"] = np.arange(3.0)
        f["s"] = h5py.SoftLink("/g")
    clean(run_capped("check", f"{p}:/s"), "is a group, not a dataset", "/s/d")


# -- one dataset, several names ---------------------------------------------------------------


def test_a_hard_linked_dataset_is_selected_by_every_name(tmp_path):
    p = tmp_path / "hard.h5"
    with h5py.File(p, "w") as f:
        d = f.create_dataset("vlen", (3,), dtype=h5py.vlen_dtype("f4"))
        for i in range(3):
            d[i] = np.arange(1, i + 2, dtype="f4")
        f.create_group("g")["up"] = f["/"]  # walked before /vlen: /g/up/vlen is met first
        f["g"]["same"] = f["vlen"]
    for name in ("/vlen", "/g/up/vlen", "/g/same", "/g/up/g/same"):
        out = tmp_path / f"{name.replace('/', '_')}.npy"
        r = run_capped("pad", f"{p}:{name}", "--maxlen", "3", "-o", out)
        assert r.returncode == 0, (name, r.stderr)
        np.testing.assert_array_equal(np.load(out), [[0, 0, 1], [0, 1, 2], [1, 2, 3]])  # pre-padded
    entries = json.loads(run_capped("inspect", "--json", p).stdout)["sources"][0]["entries"]
    kinds = {e["path"]: (e["kind"], e.get("note", "")) for e in entries}
    assert kinds["/g/up"] == (
        "link",
        "hard link to / (listed there)",
    )  # the root is not walked twice
    listed = [name for name in ("/vlen", "/g/same") if kinds[name][0] == "array"]
    assert (
        len(listed) == 1
    )  # listed once, under the first name the walk meets; the other points to it
    other = "/g/same" if listed == ["/vlen"] else "/vlen"
    assert kinds[other] == ("link", f"hard link to {listed[0]} (listed there)")
