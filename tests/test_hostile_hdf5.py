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
    # the control: with --follow-external the same watch does see the other file opened
    assert other.name in opened(["check", f"{p}:/x", "--follow-external"], tmp_path)


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


# -- storage never written --------------------------------------------------------------------

#: Rows a never-written dataset declares: iterating them, even a million at a time, takes days.
HUGE = 10**12


def _check_json(*args) -> tuple[int, dict]:
    r = run_capped("check", "--json", *args)
    assert r.returncode in (0, 1), (r.returncode, r.stderr)
    return r.returncode, json.loads(r.stdout)


def test_a_dataset_never_written_is_the_fill_value_in_constant_time(tmp_path):
    """Issue 11 case 5: a 1.4 KB file declaring (10¹², 4) float32, no chunk ever written."""
    p = tmp_path / "never.h5"
    with h5py.File(p, "w") as f:
        f.create_dataset("x", shape=(HUGE, 4), dtype="f4", chunks=(1024, 4), fillvalue=7.0)
    assert p.stat().st_size < 4096
    _, report = _check_json(p)
    stats = report["arrays"][str(p)]["stats"]
    assert stats["rows"] == HUGE and stats["unwritten_rows"] == HUGE
    assert stats["min"] == stats["max"] == 7.0
    names = {f["name"]: f for f in report["findings"]}
    assert names["unwritten-data"]["evidence"] == {
        "unwritten": HUGE,
        "rows": HUGE,
        "fill_value": 7.0,
    }
    assert "constant-feature" in names  # the fill value is the data's value
    r = run_capped("inspect", p)
    assert r.returncode == 0 and "never written" in r.stdout, r.stdout


def test_a_partly_written_chunked_dataset_reads_only_its_stored_chunks(tmp_path):
    p = tmp_path / "partly.h5"
    with h5py.File(p, "w") as f:
        d = f.create_dataset("x", shape=(HUGE, 4), dtype="f4", chunks=(1024, 4),
                             compression="gzip", fillvalue=np.nan)  # fmt: skip
        d[5000:7000] = 1.0  # rows 4096…7167 are in stored chunks (three of them)
        d[HUGE - 10 :] = 2.0  # and the last chunk
    _, report = _check_json(p)
    stats = report["arrays"][str(p)]["stats"]
    stored = 4 * 1024  # rows inside stored chunks
    written = 2000 + 10
    assert stats["unwritten_rows"] == HUGE - stored
    assert stats["nan"] == 4 * (HUGE - written)  # the fill value, in stored chunks and elsewhere
    assert (stats["min"], stats["max"]) == (1.0, 2.0)
    r = run_capped("inspect", p)
    assert "4 of 976,562,500 chunks written" in r.stdout, r.stdout


#: Datasets never written, by layout, and the rows that should be reported unwritten.
NEVER_WRITTEN = {
    "contiguous": (dict(shape=(10**9, 2), dtype="i2"), 10**9),
    "variable-length": (dict(shape=(HUGE,), dtype=h5py.vlen_dtype("f4"), chunks=(1000,)), HUGE),
    "array-type": (dict(shape=(HUGE,), dtype=np.dtype(("f4", (3,))), chunks=(64,)), HUGE),
    "rows-of-nothing": (dict(shape=(10**15, 0), dtype="f8"), 0),
    "no-rows": (dict(shape=(0, 10**15), maxshape=(None, 10**15), dtype="f8", chunks=(1, 1024)), 0),
}


@pytest.mark.parametrize("layout", sorted(NEVER_WRITTEN))
def test_other_layouts_never_written(tmp_path, layout):
    kwargs, unwritten = NEVER_WRITTEN[layout]
    p = tmp_path / "never.h5"
    with h5py.File(p, "w") as f:
        f.create_dataset("x", **kwargs)
    _, report = _check_json(f"{p}:/x")
    stats = report["arrays"][f"{p}:/x"]["stats"]
    assert stats.get("unwritten_rows", 0) == unwritten
    assert ("unwritten-data" in {f["name"] for f in report["findings"]}) == bool(unwritten)


def test_a_compact_dataset_never_written_reads_as_its_fill_value(tmp_path):
    p = tmp_path / "compact.h5"
    with h5py.File(p, "w") as f:
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_layout(h5py.h5d.COMPACT)
        dcpl.set_fill_value(np.array(3, dtype="i4"))
        space = h5py.h5s.create_simple((100, 2))
        h5py.h5d.create(f.id, b"x", h5py.h5t.NATIVE_INT32, space, dcpl=dcpl)
    _, report = _check_json(f"{p}:/x")
    stats = report["arrays"][f"{p}:/x"]["stats"]
    assert (stats["rows"], stats["min"], stats["max"]) == (100, 3, 3)


# -- compressed chunks larger than the memory bound -------------------------------------------


def _zeros_deflated(nbytes: int) -> bytes:
    """A zlib stream of ``nbytes`` zero bytes, built in a fraction of a second: 16 MiB blocks
    each ended by a full flush are byte-aligned and independent, so one is repeated."""
    import struct
    import zlib

    block = 1 << 24
    assert nbytes % block == 0
    c = zlib.compressobj(9)
    first = c.compress(bytes(block)) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(bytes(block)) + c.flush(zlib.Z_FULL_FLUSH)
    end = c.flush()[:-4]  # the final empty block, without the checksum of 32 MiB
    adler = ((nbytes % 65521) << 16) | 1  # Adler-32 of nbytes zeros
    return first + again * (nbytes // block - 1) + end + struct.pack(">I", adler)


def _one_chunk(tmp_path: Path, nbytes: int) -> Path:
    p = tmp_path / "bomb.h5"
    n = nbytes // 16
    with h5py.File(p, "w") as f:
        d = f.create_dataset("x", shape=(n, 2), dtype="f8", chunks=(n, 2), compression="gzip")
        d.id.write_direct_chunk((0, 0), _zeros_deflated(nbytes))
    return p


def test_a_2_gib_compressed_chunk_is_refused_before_it_is_inflated(tmp_path):
    """Issue 11 case 6: a 2 MB file holding one gzip chunk of 2 GiB."""
    p = _one_chunk(tmp_path, 2 * 1024**3)
    assert p.stat().st_size < 3 * 1024**2
    clean(run_capped("check", p, "--chunk-size", "1MiB"), "2.0 GiB", "--chunk-size 2GiB")
    clean(run_capped("check", p), "2.0 GiB", "--chunk-size 2GiB")  # the default, 64 MiB
    out = tmp_path / "out.npy"
    clean(run_capped("select", f"{p}:/x", "--first", "1", "-o", out), "--chunk-size 2GiB")
    assert not out.exists()
    # with a chunk size that holds it, the ×1028 expansion is refused as npz members are
    clean(run_capped("check", p, "--chunk-size", "3GiB"), "decompression bomb", "×1,02")
    r = run_capped("inspect", p)  # the tree is listed, the dataset's error with it
    clean(r, "--chunk-size 2GiB")
    assert "(134217728, 2)" in r.stdout


def test_a_chunk_that_fits_is_read_whole_once(tmp_path):
    p = _one_chunk(tmp_path, 32 * 1024**2)
    _, report = _check_json(p, "--chunk-size", "32MiB")
    assert report["arrays"][str(p)]["stats"]["max"] == 0.0
    clean(run_capped("check", p, "--chunk-size", "31MiB"), "32.0 MiB", "--chunk-size 32MiB")


def test_a_band_of_small_chunks_wider_than_the_bound_is_refused(tmp_path):
    """Chunks of 32 KiB, but a row needs all 64 chunks of its band: 2 MiB per 64 rows."""
    p = tmp_path / "wide.h5"
    with h5py.File(p, "w") as f:
        f.create_dataset("x", data=np.ones((256, 4096)), chunks=(64, 64), compression="gzip")
    clean(run_capped("check", p, "--chunk-size", "1MiB"), "bands of 64 rows take 2.0 MiB",
          "--chunk-size 2MiB")  # fmt: skip
    _, report = _check_json(p, "--chunk-size", "2MiB")
    assert report["arrays"][str(p)]["stats"]["rows"] == 256


# -- siblings ---------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(2, HUGE), (10**6, 10**6, 10**6)], ids=["wide", "cube"])
def test_a_sample_larger_than_any_read_is_refused_before_allocating(tmp_path, shape):
    p = tmp_path / "wide.h5"
    with h5py.File(p, "w") as f:
        f.create_dataset("x", shape=shape, dtype="f4", chunks=(1,) * (len(shape) - 1) + (1024,))
    clean(run_capped("check", f"{p}:/x"), "samples of", "--chunk-size")


def test_references_stored_as_data_are_not_dereferenced(tmp_path):
    other = _other(tmp_path)
    p = tmp_path / "refs.h5"
    with h5py.File(p, "w") as f:
        f["ext"] = h5py.ExternalLink(str(other), "/x")
        f["x"] = np.arange(4.0)
        refs = f.create_dataset("refs", shape=(2,), dtype=h5py.ref_dtype)
        refs[0] = f["x"].ref
        regions = f.create_dataset("regions", shape=(1,), dtype=h5py.regionref_dtype)
        regions[0] = f["x"].regionref[1:3]
    for name in ("/refs", "/regions"):  # listed as skipped, never read
        r = run_capped("check", f"{p}:{name}")
        assert r.returncode == 0 and "skipped: text or references" in r.stdout, r.stdout
    assert other.name not in opened(["check", p], tmp_path)


def test_a_virtual_dataset_with_an_unlimited_mapping_is_not_opened(tmp_path):
    """HDF5 sizes an unlimited virtual mapping from its source files: even listing must not."""
    src = tmp_path / "other.h5"
    with h5py.File(src, "w") as f:
        f.create_dataset("d", data=np.arange(10.0), maxshape=(None,), chunks=(5,))
    unlimited = h5py.MultiBlockSlice(0, h5py.h5s.UNLIMITED, 1, 1)
    layout = h5py.VirtualLayout(shape=(10,), maxshape=(None,), dtype="f8")
    layout[unlimited] = h5py.VirtualSource(str(src), "d", shape=(10,), maxshape=(None,))[unlimited]
    p = tmp_path / "vds.h5"
    with h5py.File(p, "w") as f:
        f["here"] = np.arange(3.0)
        f.create_virtual_dataset("v", layout, fillvalue=0)
    clean(run_capped("check", f"{p}:/v"), "--follow-external")
    for args in (["inspect", p], ["check", p], ["check", f"{p}:/v"]):
        assert src.name not in opened(args, tmp_path), args


def test_unwritten_rows_read_as_the_fill_value_by_repairs(tmp_path):
    """Repairs take chunks, not runs: unwritten rows come out as the fill value, as h5py reads."""
    p = tmp_path / "partly.h5"
    with h5py.File(p, "w") as f:
        d = f.create_dataset("x", shape=(1000, 3), dtype="f4", chunks=(64, 3), fillvalue=5.0)
        d[100:130] = np.arange(90, dtype="f4").reshape(30, 3)
        v = f.create_dataset("v", shape=(300,), dtype=h5py.vlen_dtype("i4"), chunks=(16,))
        v[40] = np.arange(1, 4, dtype="i4")
        expected, sequences = d[()], list(v[()])
    out = tmp_path / "x2.npy"
    assert (
        run_capped(
            "select", f"{p}:/x", "--first", "2", "-o", out, "--chunk-size", "1KiB"
        ).returncode
        == 0
    )
    np.testing.assert_array_equal(np.load(out), expected[:, :2])
    padded = tmp_path / "v.npy"
    r = run_capped("pad", f"{p}:/v", "--maxlen", "3", "--padding", "post", "-o", padded)
    assert r.returncode == 0, r.stderr
    want = np.zeros((300, 3), dtype="i4")
    for i, s in enumerate(sequences):
        want[i, : len(s)] = s
    np.testing.assert_array_equal(np.load(padded), want)


def test_shards_never_written_are_scanned_in_constant_time(tmp_path):
    for i in range(2):
        with h5py.File(tmp_path / f"part{i}.h5", "w") as f:
            f.create_dataset("x", shape=(HUGE, 2), dtype="f4", chunks=(4096, 2))
    _, report = _check_json(f"{tmp_path}/part*.h5:/x")
    (stats,) = [a["stats"] for a in report["arrays"].values()]
    assert stats["rows"] == stats["unwritten_rows"] == 2 * HUGE


def _user_defined_link(path: Path) -> None:
    """A file with ``/ud``, a user-defined link (class 187), made through the HDF5 C library h5py
    loaded: h5py can read such links' names but not create them."""
    import ctypes

    maps = Path("/proc/self/maps").read_text() if Path("/proc/self/maps").exists() else ""
    libs = [line.split()[-1] for line in maps.splitlines() if "libhdf5" in line]
    libs = [lib for lib in libs if "_hl" not in os.path.basename(lib)]
    # h5py's own copy (PyTables, once imported, maps another libhdf5 whose ids differ)
    libs = sorted(libs, key=lambda lib: "h5py" not in lib)
    if not libs:
        pytest.skip("the HDF5 library h5py uses is not a shared library here")
    hdf5 = ctypes.CDLL(libs[0])
    traverse = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_char_p, ctypes.c_int64, ctypes.c_void_p,
                                ctypes.c_size_t, ctypes.c_int64, ctypes.c_int64)  # fmt: skip

    class LinkClass(ctypes.Structure):  # H5L_class_t, version 1
        _fields_ = [("version", ctypes.c_int), ("id", ctypes.c_int), ("comment", ctypes.c_char_p),
                    ("create", ctypes.c_void_p), ("move", ctypes.c_void_p),
                    ("copy", ctypes.c_void_p), ("trav", traverse), ("delete", ctypes.c_void_p),
                    ("query", ctypes.c_void_p)]  # fmt: skip

    trav = traverse(lambda *a: -1)
    cls = LinkClass(1, 187, b"dsdoctor test", None, None, None, trav, None, None)
    assert hdf5.H5Lregister(ctypes.byref(cls)) >= 0
    hdf5.H5Lcreate_ud.argtypes = [ctypes.c_int64, ctypes.c_char_p, ctypes.c_int, ctypes.c_void_p,
                                  ctypes.c_size_t, ctypes.c_int64, ctypes.c_int64]  # fmt: skip
    with h5py.File(path, "w") as f:
        f["x"] = np.arange(3.0)
        f["soft"] = h5py.SoftLink("/ud/x")
        assert hdf5.H5Lcreate_ud(f.id.id, b"ud", 187, b"/x", 3, 0, 0) >= 0
    hdf5.H5Lunregister(187)


def test_a_user_defined_link_is_listed_and_not_followed(tmp_path):
    p = tmp_path / "ud.h5"
    _user_defined_link(p)
    r = run_capped("inspect", p)
    assert r.returncode == 0 and "user-defined link (not followed)" in r.stdout, r.stdout
    for name in ("/ud", "/ud/x", "/soft"):
        clean(run_capped("check", f"{p}:{name}"), "/ud is a user-defined link")
