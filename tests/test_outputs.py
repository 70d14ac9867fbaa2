"""Writes you can trust, attacked through the real CLI: no output is an input (however it is
spelled), a multi-file output is complete or refused after SIGKILL at any rename, two runs at
once leave one run's output, and a failing write (full or read-only filesystem, a bad path) is
one line with nothing left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dsdoctor.markers import SUFFIX as MARKER_SUFFIX
from dsdoctor.sinks.atomic import TEMP_MARKER

from .conftest import assert_clean_error, run


def _ragged_npz(path: Path, seed: int = 0, n: int = 40) -> Path:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 30, size=n)
    np.savez(path, s=rng.integers(1, 9, size=int(lengths.sum()), dtype=np.int32), s_lengths=lengths)
    return path


def _ragged_parquet(path: Path) -> Path:
    pq.write_table(pa.table({"tokens": pa.array([[1, 2, 3], [4], [5, 6]])}), path)
    return path


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob("*") if TEMP_MARKER in p.name or MARKER_SUFFIX in p.name]


# -- 1-5: an output is never an input ------------------------------------------------------------
def _spellings(tmp_path: Path, target: Path) -> dict[str, Path]:
    """Other names of ``target``: ./x, a symlink, a hard link, a path through a symlinked folder."""
    (tmp_path / "sym.npy").symlink_to(target)
    os.link(target, tmp_path / "hard.npy")
    (tmp_path / "dirlink").symlink_to(target.parent, target_is_directory=True)
    return {
        "same": target,
        "dot": Path(os.path.relpath(target.parent)) / "." / target.name,
        "symlink": tmp_path / "sym.npy",
        "hardlink": tmp_path / "hard.npy",
        "symlinked-folder": tmp_path / "dirlink" / target.name,
    }


@pytest.mark.parametrize("fmt", ["json", "junit", "github", "html"])
@pytest.mark.parametrize("force", [False, True])
def test_a_report_never_replaces_its_input(tmp_path, fmt, force):
    data = tmp_path / "data" / "d.npy"
    data.parent.mkdir()
    np.save(data, np.arange(12.0).reshape(4, 3))
    before = data.read_bytes()
    for how, out in _spellings(tmp_path, data).items():
        r = run("check", data, "--format", fmt, "-o", out, *(["--force"] if force else []))
        assert_clean_error(r, "input")
        assert data.read_bytes() == before, how
    assert _leftovers(tmp_path) == []


def test_a_report_never_replaces_a_source_named_by_the_spec_or_the_spec(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "x.npy", np.arange(12.0).reshape(4, 3))
    assert run("spec", "infer", "--x", "x.npy", "-o", "dsdoctor.toml").code == 0
    spec, x = (tmp_path / "dsdoctor.toml").read_bytes(), (tmp_path / "x.npy").read_bytes()
    for out in ("dsdoctor.toml", "x.npy"):  # no sources: the spec names them
        assert_clean_error(run("check", "--format", "json", "-o", out, "--force"), "input")
    assert (tmp_path / "dsdoctor.toml").read_bytes() == spec
    assert (tmp_path / "x.npy").read_bytes() == x


def test_an_existing_report_is_replaced_only_with_force(tmp_path):
    np.save(tmp_path / "d.npy", np.arange(12.0).reshape(4, 3))
    out = tmp_path / "r.json"
    out.write_text("keep me")
    assert_clean_error(run("check", tmp_path / "d.npy", "--format", "json", "-o", out), "--force")
    assert out.read_text() == "keep me"
    r = run("check", tmp_path / "d.npy", "--format", "json", "-o", out, "--force")
    assert r.code == 0 and out.read_text().startswith("{")


def test_spec_infer_never_replaces_its_input(tmp_path):
    data = tmp_path / "data" / "d.npy"
    data.parent.mkdir()
    np.save(data, np.arange(12.0).reshape(4, 3))
    before = data.read_bytes()
    for how, out in _spellings(tmp_path, data).items():
        assert_clean_error(run("spec", "infer", "--x", data, "-o", out, "--force"), "input")
        assert data.read_bytes() == before, how


@pytest.mark.parametrize("sibling", ["mask", "lengths"])
@pytest.mark.parametrize("link", ["same", "hardlink", "symlink"])
def test_a_sibling_output_never_replaces_the_input(tmp_path, sibling, link):
    """pad writes OUT.npy + OUT.mask.npy + OUT.lengths.npy: a sibling that is the input (by
    name, hard link or symlink) is refused before anything is written."""
    src = _ragged_parquet(tmp_path / "in.parquet")
    target = tmp_path / f"out.{sibling}.npy"
    if link == "same":
        src = src.rename(target)
    elif link == "hardlink":
        os.link(src, target)
    else:
        target.symlink_to(src)
    before = src.read_bytes()
    r = run("pad", f"{src}:tokens", "--format", "parquet", "-o", tmp_path / "out.npy", "--force")
    assert_clean_error(r, "input")
    assert src.read_bytes() == before
    assert not (tmp_path / "out.npy").exists()
    assert _leftovers(tmp_path) == []


def test_two_outputs_that_are_one_file_are_refused(tmp_path):
    """o.mask.npy is a symlink to o.lengths.npy: writing both would lose one."""
    src = _ragged_parquet(tmp_path / "in.parquet")
    (tmp_path / "o.lengths.npy").write_bytes(b"old")
    (tmp_path / "o.mask.npy").symlink_to(tmp_path / "o.lengths.npy")
    r = run("pad", f"{src}:tokens", "-o", tmp_path / "o.npy", "--force")
    assert_clean_error(r, "same file")
    assert (tmp_path / "o.lengths.npy").read_bytes() == b"old"


def test_replicate_never_replaces_the_array_it_is_like(tmp_path):
    np.save(tmp_path / "y.npy", np.array([[1.0, 2.0]]))
    np.save(tmp_path / "x.npy", np.zeros((5, 3)))
    before = (tmp_path / "x.npy").read_bytes()
    r = run(
        "replicate",
        tmp_path / "y.npy",
        "--like",
        tmp_path / "x.npy",
        "-o",
        tmp_path / "x.npy",
        "--force",
    )
    assert_clean_error(r, "input")
    assert (tmp_path / "x.npy").read_bytes() == before


def test_an_hdf5_output_never_replaces_its_input_file(tmp_path):
    """Another dataset of the same file is still the same file: HDF5 outputs are written whole."""
    import h5py

    with h5py.File(tmp_path / "in.h5", "w") as f:
        f["x"] = np.arange(12.0).reshape(4, 3)
    before = (tmp_path / "in.h5").read_bytes()
    r = run(
        "select", f"{tmp_path}/in.h5:/x", "--first", "2", "-o", f"{tmp_path}/./in.h5:/y", "--force"
    )
    assert_clean_error(r, "input")
    assert (tmp_path / "in.h5").read_bytes() == before


def test_an_output_inside_an_input_folder_of_shards_is_refused(tmp_path):
    shards = tmp_path / "shards"
    shards.mkdir()
    for i in range(2):
        np.save(shards / f"part-{i}.npy", np.arange(12.0).reshape(4, 3) + i)
    r = run("check", shards, "--format", "json", "-o", shards / "report.json")
    assert_clean_error(r, "input folder")
    assert sorted(p.name for p in shards.iterdir()) == ["part-0.npy", "part-1.npy"]


@pytest.mark.parametrize("via", ["folder", "symlinked-folder"])
def test_bucket_never_replaces_an_input_inside_its_output_folder(tmp_path, via):
    b = tmp_path / "b"
    b.mkdir()
    src = _ragged_npz(b / "bucket_0.npz")
    (tmp_path / "blink").symlink_to(b, target_is_directory=True)
    before = src.read_bytes()
    given = src if via == "folder" else tmp_path / "blink" / src.name
    r = run("bucket", f"{given}:s", "--buckets", "1", "-o", b, "--force")
    assert_clean_error(r, "input", "output folder")
    assert src.read_bytes() == before and sorted(p.name for p in b.iterdir()) == [src.name]
    assert _leftovers(tmp_path) == []


def test_bucket_force_never_sweeps_away_a_folder_of_other_files(tmp_path):
    src = _ragged_npz(tmp_path / "in.npz")
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    r = run("bucket", f"{src}:s", "--buckets", "2", "-o", out, "--force")
    assert_clean_error(r, "did not write", "notes.txt")
    assert (out / "notes.txt").read_text() == "mine"


def test_repair_gives_two_inputs_with_one_basename_two_outputs(tmp_path):
    for i, folder in enumerate(("a", "b")):
        (tmp_path / folder).mkdir()
        np.save(tmp_path / folder / "d.npy", np.arange(40.0).reshape(10, 4) + i)
    out = tmp_path / "out"
    args = ["repair", tmp_path / "a/d.npy", tmp_path / "b/d.npy", "--input-shape", "(None,4,1)"]
    r = run(*args, "-o", out, "--force", "--json")
    assert r.code == 0, r.stderr
    applied = r.json()["applied"]
    outputs = [o for entry in applied for o in entry["outputs"]]
    assert len(applied) == 2 and len(set(outputs)) == 2
    assert sorted(p.name for p in out.iterdir()) == ["d-2.reshaped.npy", "d.reshaped.npy"]
    np.testing.assert_array_equal(
        np.load(out / "d.reshaped.npy")[..., 0], np.load(tmp_path / "a/d.npy")
    )
    np.testing.assert_array_equal(
        np.load(out / "d-2.reshaped.npy")[..., 0], np.load(tmp_path / "b/d.npy")
    )


def test_repair_never_replaces_an_input_in_its_output_folder(tmp_path):
    """An input of the repair lies where a repaired array would go: refused, not replaced."""
    out = tmp_path / "out"
    out.mkdir()
    np.save(out / "d.npy", np.arange(40.0).reshape(10, 4))
    os.link(out / "d.npy", out / "d.reshaped.npy")  # the name reshape's fix will take
    before = (out / "d.npy").read_bytes()
    r = run("repair", out / "d.npy", "--input-shape", "(None,4,1)", "-o", out, "--force")
    assert_clean_error(r, "input")
    assert (out / "d.npy").read_bytes() == before


# -- 6: a multi-file output is complete, or refused, after SIGKILL at any rename ----------------
KILL_AT = """
import os, signal, sys
import dsdoctor.sinks.atomic as atomic

where, k, args = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
count = [0]

def counted(fn, when=lambda *a: True):
    def call(*a, **kw):
        if when(*a):
            if count[0] == k:
                os.kill(os.getpid(), signal.SIGKILL)
            count[0] += 1
        return fn(*a, **kw)
    return call

if where == "rename":  # before the k-th rename of a file into place
    os.replace = counted(os.replace)
    atomic._rename_exclusive = counted(atomic._rename_exclusive)
elif where == "folder":  # before a folder is renamed into place
    atomic._place_folder = counted(atomic._place_folder)
else:  # after the swap, before the old folder is removed
    atomic._remove = counted(atomic._remove, lambda p: p.is_dir())
from dsdoctor.cli import app
sys.exit(app(args, prog_name="dsdoctor", standalone_mode=False))
"""


def _killed_at(where: str, k: int, *args) -> int:
    return subprocess.run([sys.executable, "-c", KILL_AT, where, str(k), *map(str, args)],
                          capture_output=True).returncode  # fmt: skip


def _group(out: Path) -> list[np.ndarray]:
    return [np.load(out.with_name(f"o{role}.npy")) for role in ("", ".mask", ".lengths")]


@pytest.mark.parametrize("force", [False, True])
def test_sigkill_at_every_rename_of_a_group_leaves_it_complete_or_refused(tmp_path, force):
    """pad → o.npy + o.mask.npy + o.lengths.npy, killed before each of its three renames: every
    reader refuses every file of the group until a rerun with --force, which leaves the new
    group whole; never old data with new lengths unnoticed."""
    src = _ragged_npz(tmp_path / "in.npz")
    old = ["pad", f"{src}:s", "--maxlen", "10"]
    new = ["pad", f"{src}:s", "--maxlen", "20"]
    ref = tmp_path / "ref" / "o.npy"
    ref.parent.mkdir()
    assert run(*new, "-o", ref).code == 0
    for k in range(3):
        folder = tmp_path / f"k{k}{force}"
        folder.mkdir()
        out = folder / "o.npy"
        if force:
            assert run(*old, "-o", out).code == 0
        flags = ["--force"] if force else []
        assert _killed_at("rename", k, *new, "-o", out, *flags) == -signal.SIGKILL
        assert (folder / f"o.npy{MARKER_SUFFIX}").exists()
        present = [p for p in folder.iterdir() if p.suffix == ".npy"]
        assert present or not force, k  # the siblings are renamed first, the main file last
        for p in present:
            assert_clean_error(run("inspect", p), "interrupted", "--force")
        if present:  # check reads through the same opener
            assert_clean_error(run("check", present[0]), "interrupted")
        assert run(*new, "-o", out, "--force").code == 0
        for a, b in zip(_group(out), _group(ref), strict=True):
            np.testing.assert_array_equal(a, b)
        assert not (folder / f"o.npy{MARKER_SUFFIX}").exists()  # temporaries may stay (SIGKILL)
        assert run("inspect", out).code == 0


def _bucket_boundaries(out: Path) -> str:
    """The boundaries of the bucket folder ``out``, after checking it holds exactly the files
    its buckets.json lists."""
    import json

    info = json.loads((out / "buckets.json").read_text())
    listed = [s["file"] for s in info["buckets"] if s["file"]] + ["buckets.json"]
    assert sorted(p.name for p in out.iterdir()) == sorted(listed)
    for name in listed[:-1]:
        with np.load(out / name) as z:
            assert z["data"].shape[0] == z["lengths"].shape[0]
    return ",".join(map(str, info["boundaries"]))


@pytest.mark.parametrize(("where", "expected"), [("folder", "10"), ("swapped", "5,15")])
def test_sigkill_while_a_bucket_folder_is_swapped_leaves_old_or_new_whole(
    tmp_path, where, expected
):
    """bucket --force over an old bucket folder, killed just before the swap or just after it
    (before the old folder is removed): OUTDIR is the old folder or the new one, whole."""
    src = _ragged_npz(tmp_path / "in.npz")
    out = tmp_path / "b"
    assert run("bucket", f"{src}:s", "--boundaries", "10", "-o", out).code == 0
    args = ["bucket", f"{src}:s", "--boundaries", "5,15", "-o", out, "--force"]
    assert _killed_at(where, 0, *args) == -signal.SIGKILL
    assert _bucket_boundaries(out) == expected
    assert run(*args).code == 0 and _bucket_boundaries(out) == "5,15"


# -- 7: two runs at once ---------------------------------------------------------------------------
def _start(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "dsdoctor", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


@pytest.mark.parametrize("force", [False, True])
def test_two_runs_at_once_leave_one_runs_group(tmp_path, force):
    """Two pads with different --maxlen into one o.npy at once, five times: without --force
    exactly one wins and the other exits 2 ("exists"); with --force both succeed. Either way the
    three files are one run's, no marker or temporary stays."""
    src = _ragged_npz(tmp_path / "in.npz", n=20_000)
    refs = {}
    for maxlen in (10, 20):
        refs[maxlen] = tmp_path / f"ref{maxlen}" / "o.npy"
        refs[maxlen].parent.mkdir()
        assert run("pad", f"{src}:s", "--maxlen", maxlen, "-o", refs[maxlen]).code == 0
    for i in range(5):
        folder = tmp_path / f"run{i}"
        folder.mkdir()
        out = folder / "o.npy"
        flags = ["--force"] if force else []
        procs = [_start("pad", f"{src}:s", "--maxlen", m, "-o", out, *flags) for m in (10, 20)]
        results = [(p.wait(), p.stderr.read()) for p in procs]
        codes = sorted(code for code, _ in results)
        assert codes == ([0, 0] if force else [0, 2]), results
        for code, err in results:
            if code == 2:
                assert err.startswith("dsdoctor: error: ") and "exists" in err, err
        got = _group(out)
        assert any(
            all(np.array_equal(a, b) for a, b in zip(got, _group(ref), strict=True))
            for ref in refs.values()
        ), i
        assert _leftovers(folder) == []


def test_two_bucket_runs_at_once_leave_one_runs_folder(tmp_path):
    src = _ragged_npz(tmp_path / "in.npz", n=5000)
    out = tmp_path / "b"
    procs = [_start("bucket", f"{src}:s", "--boundaries", b, "-o", out) for b in ("10", "5,15")]
    results = [(p.wait(), p.stderr.read()) for p in procs]
    assert sorted(code for code, _ in results) == [0, 2], results
    assert _bucket_boundaries(out) in ("10", "5,15")
    assert [p.name for p in tmp_path.iterdir() if TEMP_MARKER in p.name] == []


# -- 13, 14: failing writes are clean -------------------------------------------------------------
@pytest.fixture
def mount(tmp_path):
    """``mount(options)``: a fresh tmpfs in ``tmp_path`` (unmounted afterwards); skips where
    mounting is impossible (not root, or no CAP_SYS_ADMIN in this container)."""
    mounted: list[Path] = []

    def make(options: str) -> Path:
        folder = tmp_path / f"fs-{uuid.uuid4().hex[:6]}"
        folder.mkdir()
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
                           capture_output=True, text=True)  # fmt: skip
        if p.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here (needs root/CAP_SYS_ADMIN): {p.stderr.strip()}")
        mounted.append(folder)
        return folder

    yield make
    for folder in mounted:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


@pytest.mark.parametrize("size", ["4k", "40k", "256k"])
@pytest.mark.parametrize(
    "out", ["o.h5", "o.h5:/grp/x", "o.npy", "o.npz", "o.parquet", "o.zarr", "o.zarr:/grp/x"]
)
def test_a_full_filesystem_is_one_line_and_nothing_left(tmp_path, mount, size, out):
    """A real full filesystem (ENOSPC on a small tmpfs), met while creating, writing or closing
    the file: exit 2, one line, nothing left — never SIGSEGV from HDF5."""
    src = _ragged_npz(tmp_path / "in.npz", n=5000)
    full = mount(f"size={size}")
    r = run("pad", f"{src}:s", "--maxlen", "30", "-o", f"{full}/{out}")
    if out.startswith(("o.parquet", "o.zarr")) and r.code == 0:  # compressed, it may fit
        return
    assert_clean_error(r, "cannot write", "the disk is full", "nothing was written")
    assert list(full.iterdir()) == []


def _writers(src: Path, data: Path, out: Path) -> dict[str, list]:
    """Each kind of output: a report in every format, a spec, a bucket folder, a repair folder."""
    return {
        **{
            f"check-{f}": ["check", data, "--format", f, "-o", out / f"r.{f}"]
            for f in ("json", "junit", "github", "html")
        },
        "spec": ["spec", "infer", "--x", data, "-o", out / "s.toml"],
        "bucket": ["bucket", f"{src}:s", "--buckets", "2", "-o", out / "b"],
        "repair": ["repair", data, "--input-shape", "(None,4,1)", "-o", out / "rep"],
        "pad": ["pad", f"{src}:s", "-o", out / "p.npy"],
    }


def _inputs(tmp_path: Path) -> tuple[Path, Path]:
    src = _ragged_npz(tmp_path / "in.npz", n=3000)
    data = tmp_path / "d.npy"
    values = np.arange(40_000.0).reshape(10_000, 4)
    values[3, 1] = np.nan  # a finding, so that every report format has lines to write
    np.save(data, values)
    return src, data


def test_every_writer_on_a_full_filesystem(tmp_path, mount):
    src, data = _inputs(tmp_path)
    full = mount("size=64k")
    fd = os.open(full / ".filler", os.O_WRONLY | os.O_CREAT)
    try:  # every block taken, even for a tiny report
        while os.write(fd, b"x" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)
    for name, args in _writers(src, data, full).items():
        assert_clean_error(run(*args), "cannot write", "the disk is full")
        assert [p.name for p in full.iterdir()] == [".filler"], name


def test_every_writer_on_a_read_only_filesystem(tmp_path, mount):
    src, data = _inputs(tmp_path)
    ro = mount("ro,size=64k")
    for name, args in _writers(src, data, ro).items():
        r = run(*args)
        assert_clean_error(r)
        assert "read-only" in r.stderr or "not writable" in r.stderr, (name, r.stderr)


def test_every_writer_through_a_file_or_a_dangling_symlink(tmp_path):
    src, data = _inputs(tmp_path)
    (tmp_path / "file.txt").write_text("keep me")
    for args in _writers(src, data, tmp_path / "file.txt").values():
        assert_clean_error(run(*args), "file.txt")
    (tmp_path / "nowhere").symlink_to(tmp_path / "missing")
    for args in _writers(src, data, tmp_path / "nowhere").values():
        assert_clean_error(run(*args), "nowhere")
    assert (tmp_path / "file.txt").read_text() == "keep me"


def test_a_device_or_a_pipe_as_the_output_is_never_replaced(tmp_path):
    _, data = _inputs(tmp_path)
    os.mkfifo(tmp_path / "pipe.json")
    r = run("check", data, "--format", "json", "-o", tmp_path / "pipe.json", "--force")
    assert_clean_error(r, "not a regular file")
    assert (tmp_path / "pipe.json").is_fifo()
    (tmp_path / "null.json").symlink_to("/dev/null")
    r = run("check", data, "--format", "json", "-o", tmp_path / "null.json", "--force")
    assert_clean_error(r, "not a regular file")
    assert (tmp_path / "null.json").is_symlink()


def test_a_dangling_symlink_as_the_output_needs_force_and_is_replaced_not_followed(tmp_path):
    _, data = _inputs(tmp_path)
    link = tmp_path / "r.json"
    link.symlink_to(tmp_path / "elsewhere" / "r.json")
    assert_clean_error(run("check", data, "--format", "json", "-o", link), "--force")
    r = run("check", data, "--format", "json", "-o", link, "--force", "--fail-on", "never")
    assert r.code == 0, r.stderr
    assert not link.is_symlink() and link.read_text().startswith("{")
    assert not (tmp_path / "elsewhere").exists()


@pytest.mark.parametrize("fmt", ["json", "junit", "github", "html", "spec"])
def test_a_source_or_output_name_that_is_not_utf8(tmp_path, fmt):
    """A report or spec in UTF-8 cannot hold a file name in another encoding: one line that
    names the file, nothing written. The output's own name may be anything."""
    _, data = _inputs(tmp_path)
    odd = tmp_path / os.fsdecode(b"d\xff.npy")
    data.rename(odd)
    out = tmp_path / os.fsdecode(b"o\xfe.out")
    args = ["spec", "infer", "--x", odd] if fmt == "spec" else ["check", odd, "--format", fmt]
    r = run(*args, "-o", out, "--fail-on", "never") if fmt != "spec" else run(*args, "-o", out)
    if fmt == "json":  # JSON escapes it
        assert r.code == 0, r.stderr
        assert out.exists()
    else:
        assert_clean_error(r, "d\\xff.npy", "not UTF-8", "nothing was written")
        assert not out.exists()
    assert sorted(os.listdir(os.fsencode(tmp_path))) == sorted(
        [b"d\xff.npy", b"in.npz", *([os.fsencode(out.name)] if out.exists() else [])]
    )
