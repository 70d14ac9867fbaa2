"""Repairs from files to files, through the real CLI: Keras and PyTorch semantics, outputs the
ordinary readers read back, refusals with reasons, and check → fix → check healthy."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dsdoctor

from .conftest import FIXTURES, Result, assert_clean_error, cli, run

os.environ.setdefault("KERAS_BACKEND", "numpy")


def keras_pad(seqs, **kw):
    keras = pytest.importorskip("keras")

    return keras.utils.pad_sequences(seqs, **kw)


def write_seqs(tmp, seqs, fmt: str, dtype=np.int32) -> str:
    seqs = [np.asarray(s, dtype=dtype) for s in seqs]
    if fmt == "parquet":
        p = tmp / "s.parquet"
        pq.write_table(
            pa.table(
                {
                    "s": pa.array(
                        [s.tolist() for s in seqs],
                        type=pa.list_(pa.from_numpy_dtype(np.dtype(dtype))),
                    )
                }
            ),
            p,
        )
        return f"{p}:s"
    if fmt == "h5":
        p = tmp / "s.h5"
        with h5py.File(p, "w") as f:
            d = f.create_dataset("s", (len(seqs),), dtype=h5py.vlen_dtype(np.dtype(dtype)))
            for i, s in enumerate(seqs):
                d[i] = s
        return f"{p}:/s"
    p = tmp / "s.npz"
    np.savez(
        p, s=np.concatenate(seqs) if seqs else np.zeros(0, dtype), s_lengths=[len(s) for s in seqs]
    )
    return f"{p}:s"


SEQS = [[1, 2, 3], [4], [0, 5, 0, 6, 7, 8], [], [9, 9]]


@pytest.mark.parametrize("fmt", ["parquet", "h5", "npz"])
@pytest.mark.parametrize(
    ("padding", "truncating", "maxlen"),
    [("pre", "pre", None), ("post", "post", 4), ("pre", "post", 2), ("post", "pre", 10)],
)
def test_pad_equals_keras(tmp_path, fmt, padding, truncating, maxlen):
    src = write_seqs(tmp_path, SEQS, fmt)
    args = [
        "pad",
        src,
        "-o",
        tmp_path / "out.npy",
        "--padding",
        padding,
        "--truncating",
        truncating,
        "--value",
        "-1",
    ]
    if maxlen:
        args += ["--maxlen", str(maxlen)]
    r = cli(*args)
    assert r.code == 0, r.stderr
    data, mask, lengths = (
        np.load(tmp_path / n) for n in ("out.npy", "out.mask.npy", "out.lengths.npy")
    )
    expected = keras_pad(
        SEQS, maxlen=maxlen, padding=padding, truncating=truncating, value=-1, dtype="int32"
    )
    np.testing.assert_array_equal(data, expected)
    assert data.dtype == np.int32
    cap = maxlen or 6
    assert lengths.tolist() == [min(len(s), cap) for s in SEQS]
    assert mask.sum(axis=1).tolist() == lengths.tolist()


def test_pad_post_equals_torch_pad_sequence_semantics(tmp_path):
    seqs = [np.array(s, dtype=np.float32) for s in [[1.5, 2], [3], [4, 5, 6]]]
    src = write_seqs(tmp_path, seqs, "parquet", np.float32)
    assert cli("pad", src, "--padding", "post", "-o", tmp_path / "t.npy").code == 0
    expected = np.zeros((3, 3), np.float32)  # torch.nn.utils.rnn.pad_sequence(batch_first=True)
    for i, s in enumerate(seqs):
        expected[i, : len(s)] = s
    out = np.load(tmp_path / "t.npy")
    np.testing.assert_array_equal(out, expected)
    assert out.dtype == np.float32  # unlike Keras' int32 default, floats stay floats


def test_pad_frames_to_every_format_reads_back(tmp_path):
    src = f"{FIXTURES / 'frames.parquet'}:frames"
    for out in ("f.npz", "f.h5:/frames", "f.parquet"):
        r = cli("pad", src, "--maxlen", "p95", "-o", tmp_path / out, "--json")
        assert r.code == 0, r.stderr
    with np.load(tmp_path / "f.npz", allow_pickle=False) as z:
        assert z["data"].shape[1:] == (38, 3) and z["mask"].shape == (100, 38) and "provenance" in z
    with h5py.File(tmp_path / "f.h5") as f:
        assert f["frames"].shape == (100, 38, 3) and f["frames_mask"].dtype == bool
        assert f["frames"].attrs["dsdoctor_operation"] == "pad"
    t = pq.read_table(tmp_path / "f.parquet")
    assert t.num_rows == 100 and b"dsdoctor" in t.schema.metadata
    assert dsdoctor.load(f"{tmp_path / 'f.parquet'}:data").shape == (100, 38, 3)
    assert cli("inspect", tmp_path / "f.h5").code == 0


def test_pad_warns_about_value_collisions(tmp_path):
    r = run("pad", f"{FIXTURES / 'sequences.parquet'}:tokens", "-o", tmp_path / "t.npy")
    assert r.code == 0 and "97 real timesteps equal the padding value 0" in r.stderr


@pytest.mark.parametrize("out", ["b", "b.zarr"])
def test_bucket_warns_about_value_collisions_as_pad_does(tmp_path, out):
    """Real 0 tokens equal bucket's padding value 0 (DS302): bucket says so when it writes, in
    pad's words, not only at the re-check; with --value 999 (never taken) it says nothing."""
    src = f"{FIXTURES / 'sequences.parquet'}:tokens"
    padded = run("pad", src, "-o", tmp_path / "t.npy")
    warning = "97 real timesteps equal the padding value 0: use the mask written beside the data"
    assert padded.code == 0 and warning in padded.stderr
    r = run("bucket", src, "--buckets", "3", "-o", tmp_path / out)
    assert r.code == 0, r.stderr
    assert warning in " ".join(r.stderr.split())
    other = run("bucket", src, "--buckets", "3", "--value", "999", "-o", tmp_path / f"v{out}")
    assert other.code == 0 and "equal the padding value" not in other.stderr


def test_pad_refuses_lossy_cast_and_unrepresentable_value(tmp_path):
    src = write_seqs(tmp_path, [[1.5, 2.0], [3.0]], "parquet", np.float32)
    assert_clean_error(
        run("pad", src, "--dtype", "int32", "-o", tmp_path / "a.npy"), "--allow-lossy-cast"
    )
    assert not (tmp_path / "a.npy").exists()
    assert (
        run("pad", src, "--dtype", "int32", "--allow-lossy-cast", "-o", tmp_path / "a.npy").code
        == 0
    )
    src_u = write_seqs(tmp_path, [[1, 2], [3]], "npz", np.uint8)
    assert_clean_error(
        run("pad", src_u, "--value", "-1", "-o", tmp_path / "u.npy"), "cannot be stored as uint8"
    )


def test_mask_keras_semantics(tmp_path):
    r = cli("mask", FIXTURES / "padded.npy", "--value", "0", "-o", tmp_path / "m.npy", "--json")
    assert r.code == 0
    data = np.load(FIXTURES / "padded.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "m.npy"), np.any(data != 0, axis=-1))


def test_replicate_to_like_each(tmp_path, fixtures):
    y = fixtures / "cardinality/y.npy"
    assert cli("replicate", y, "--to", "29", "-o", tmp_path / "a.npy").code == 0
    assert np.load(tmp_path / "a.npy").tolist() == np.load(y).tolist() * 29
    assert (
        cli("replicate", y, "--like", fixtures / "cardinality/x.npy", "-o", tmp_path / "b.npy").code
        == 0
    )
    assert np.load(tmp_path / "b.npy").shape == (29,)
    np.save(tmp_path / "three.npy", np.array([1, 2, 3]))
    assert (
        cli("replicate", tmp_path / "three.npy", "--each", "2", "-o", tmp_path / "c.npy").code == 0
    )
    assert np.load(tmp_path / "c.npy").tolist() == [1, 1, 2, 2, 3, 3]
    r = cli("check", "--x", fixtures / "cardinality/x.npy", "--y", tmp_path / "a.npy")
    assert r.code == 0


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["pad", FIXTURES / "healthy/x.npy"], "already dense"),
        (["replicate", "{three}", "--to", "29"], "29 is not a multiple of 3"),
        (["replicate", "{three}", "--to", "30"], "use --each 10"),
        (["replicate", "{three}"], "exactly one of"),
        (["reshape", FIXTURES / "mnist_flat.npy", "--shape", "(None, 28, 27)"], "756 elements"),
        (["reshape", FIXTURES / "mnist_flat.npy", "--shape", "(None, None, None)"], "at most one"),
        (["reshape", FIXTURES / "mnist_flat.npy", "--add-axis", "space"], "time or features"),
        (["select", FIXTURES / "iris.csv", "--columns", "petal_width"], "no column 'petal_width'"),
        (["select", FIXTURES / "iris.csv", "--features", "7"], "feature 7 does not exist"),
        (["select", FIXTURES / "healthy/y.npy", "--first", "1"], "no feature axis"),
        (["bucket", FIXTURES / "healthy/x.npy", "--buckets", "2"], "dense"),
        (
            ["bucket", f"{FIXTURES / 'sequences.parquet'}:tokens", "--boundaries", "20,10"],
            "increasing",
        ),
        (["pad", f"{FIXTURES / 'sequences.parquet'}:tokens", "--maxlen", "p0"], "--maxlen"),
    ],
)
def test_repairs_refuse_with_a_reason_and_write_nothing(tmp_path, args, needle):
    np.save(tmp_path / "three.npy", np.array([1, 2, 3]))
    args = [str(a).replace("{three}", str(tmp_path / "three.npy")) for a in args]
    out = tmp_path / "out" / "o.npy"
    out.parent.mkdir()
    assert_clean_error(run(*args, "-o", out), needle)
    assert list(out.parent.iterdir()) == []


def test_existing_output_needs_force_and_input_is_never_the_output(tmp_path):
    np.save(tmp_path / "x.npy", np.arange(12).reshape(3, 4))
    before = (tmp_path / "x.npy").read_bytes()
    (tmp_path / "o.npy").write_bytes(b"keep me")
    assert_clean_error(
        run("select", tmp_path / "x.npy", "--first", "2", "-o", tmp_path / "o.npy"), "--force"
    )
    assert (tmp_path / "o.npy").read_bytes() == b"keep me"
    assert (
        run("select", tmp_path / "x.npy", "--first", "2", "-o", tmp_path / "o.npy", "--force").code
        == 0
    )
    assert np.load(tmp_path / "o.npy").shape == (3, 2)
    assert_clean_error(
        run(
            "reshape", tmp_path / "x.npy", "--add-axis", "time", "-o", tmp_path / "x.npy", "--force"
        ),
        "is the input",
    )
    assert (tmp_path / "x.npy").read_bytes() == before
    assert_clean_error(
        run("select", tmp_path / "x.npy", "--first", "2", "-o", tmp_path / "missing/o.npy"),
        "does not exist",
    )


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=3))
def test_reshape_round_trips(tmp_path_factory, dims):
    tmp = tmp_path_factory.mktemp("r")
    a = np.arange(5 * int(np.prod(dims)), dtype=np.int16).reshape(5, *dims)
    np.save(tmp / "a.npy", a)
    flat = f"(None, {int(np.prod(dims))})"
    assert cli("reshape", tmp / "a.npy", "--shape", flat, "-o", tmp / "f.npy").code == 0
    back = "(None, " + ", ".join(map(str, dims)) + ")"
    assert cli("reshape", tmp / "f.npy", "--shape", back, "-o", tmp / "b.npy").code == 0
    np.testing.assert_array_equal(np.load(tmp / "b.npy"), a)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.lists(st.integers(-3, 3), max_size=9), min_size=1, max_size=25), st.integers(1, 4)
)
def test_bucket_rows_reconstruct_sequences(tmp_path_factory, seqs, k):
    tmp = tmp_path_factory.mktemp("b")
    src = write_seqs(tmp, seqs, "npz")
    r = cli("bucket", src, "--buckets", str(k), "--padding", "post", "-o", tmp / "out", "--json")
    assert r.code == 0, r.stderr
    seen = {}
    for b in r.json()["details"]["buckets"]:
        if not b["file"]:
            continue
        with np.load(tmp / "out" / b["file"]) as z:
            for row, m, idx in zip(z["data"], z["mask"], z["index"], strict=True):
                seen[int(idx)] = row[m].tolist()
    assert seen == {i: s for i, s in enumerate(seqs)}


def _random_sequences(tmp_path, n: int = 3000, features: int = 2) -> tuple[str, list]:
    rng = np.random.default_rng(8)
    seqs = [rng.normal(size=(int(k), features)).astype(np.float32) for k in rng.integers(0, 60, n)]
    np.savez(tmp_path / "s.npz", s=np.concatenate(seqs), s_lengths=[len(q) for q in seqs])
    return f"{tmp_path / 's.npz'}:s", seqs


@pytest.mark.parametrize("out", ["p.npy", "p.npz", "p.h5", "p.parquet"])
def test_pad_streamed_in_many_chunks_equals_the_in_memory_pad(tmp_path, out):
    """Tiny chunks (many blocks per output) give exactly what dsdoctor.pad gives in memory."""
    src, seqs = _random_sequences(tmp_path)
    r = cli("pad", src, "--maxlen", "p90", "--padding", "post", "--value", "-1", "-o",
            tmp_path / out, "--chunk-size", "8KiB")  # fmt: skip
    assert r.code == 0, r.stderr
    want = dsdoctor.pad(seqs, maxlen="p90", padding="post", value=-1)
    where = {  # the members or columns of .npz and Parquet are named by role
        "npy": {"data": "p.npy", "mask": "p.mask.npy", "lengths": "p.lengths.npy"},
        "h5": {"data": "p.h5:/data", "mask": "p.h5:/data_mask", "lengths": "p.h5:/data_lengths"},
    }.get(out.split(".")[1], {role: f"{out}:{role}" for role in ("data", "mask", "lengths")})
    got = {role: dsdoctor.load(f"{tmp_path}/{name}").read() for role, name in where.items()}
    for role in ("data", "mask", "lengths"):
        np.testing.assert_array_equal(got[role], getattr(want, role), err_msg=role)
        assert got[role].dtype == getattr(want, role).dtype, role


def test_padded_windows_keep_each_block_near_the_chunk_size():
    """Short sequences padded to a long maxlen: a chunk of input is padded a window at a time,
    each window's output about the chunk size, together what one pad_values call gives."""
    from dsdoctor import kernels
    from dsdoctor.arrays import Ragged
    from dsdoctor.repairs import pad as ops

    rng = np.random.default_rng(2)
    r = Ragged.from_lengths(rng.normal(size=(5000, 3)), rng.integers(0, 10, size=1000))
    chunk = 64 * 1024
    windows = list(ops.padded_windows(r, maxlen=200, dtype=np.dtype("f8"), chunk_bytes=chunk,
                                      padding="post", value=-1))  # fmt: skip
    assert len(windows) > 10
    assert all(sum(a.nbytes for a in w) <= chunk for w in windows)
    whole = kernels.pad_values(r.values, r.offsets, maxlen=200, padding="post", value=-1)
    for got, want in zip(zip(*windows, strict=True), whole, strict=True):
        np.testing.assert_array_equal(np.concatenate(got), want)


@pytest.mark.parametrize(
    "options",
    [["--boundaries", "5,10,20"], ["--buckets", "3", "--padding", "post"],
     ["--boundaries", "10,30", "--pad-to-boundary", "--value", "-1"]],
)  # fmt: skip
def test_bucket_streamed_in_many_chunks_equals_the_in_memory_bucket(tmp_path, options):
    """Each bucket's rows come from many chunks: the archives hold what dsdoctor.bucket gives
    in memory, with the members and provenance of one write."""
    src, seqs = _random_sequences(tmp_path)
    r = cli("bucket", src, *options, "-o", tmp_path / "b", "--chunk-size", "8KiB", "--json")
    assert r.code == 0, r.stderr
    summary = r.json()["details"]
    kwargs = {"padding": "post" if "post" in options else "pre",
              "value": -1 if "-1" in options else 0, "pad_to_boundary": "--pad-to-boundary" in options}  # fmt: skip
    want = dsdoctor.bucket(seqs, boundaries=summary["boundaries"], **kwargs)
    assert [b["count"] for b in summary["buckets"]] == [len(b.index) for b in want]
    for b, expected in zip(summary["buckets"], want, strict=True):
        if not b["file"]:
            continue
        with np.load(tmp_path / "b" / b["file"], allow_pickle=False) as z:
            assert z.files == ["data", "mask", "lengths", "index", "provenance"]
            for role in ("data", "mask", "lengths", "index"):
                np.testing.assert_array_equal(z[role], getattr(expected, role), err_msg=role)
            record = json.loads(str(z["provenance"]))
        assert record["options"] == {
            "bucket": b["bucket"],
            "boundaries": summary["boundaries"],
            "padding": kwargs["padding"],
            "dtype": "float32",
        }
    assert json.loads((tmp_path / "b/buckets.json").read_text())["buckets"] == summary["buckets"]


def test_bucket_reports_padding_saved(fixtures, tmp_path):
    r = cli(
        "bucket",
        f"{fixtures / 'sequences.parquet'}:tokens",
        "--buckets",
        "4",
        "-o",
        tmp_path / "b",
        "--no-color",
    )
    assert r.code == 0 and "saved" in r.stdout
    assert (tmp_path / "b/buckets.json").exists() and (tmp_path / "b/bucket_0.npz").exists()


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--value=-1"], "the padding value -1 cannot be stored as uint8"),
        (["--value", "0.5"], "the padding value 0.5 cannot be stored as uint8"),
        (["--padding", "middle"], "--padding must be pre or post"),
    ],
)
def test_bucket_refuses_what_pad_refuses_before_writing_anything(tmp_path, extra, needle):
    """A padding value the dtype cannot hold would be wrapped (-1 -> 255) or truncated (0.5 -> 0,
    a real value) silently; bucket checks it like pad, before creating the folder."""
    src = tmp_path / "u8.npz"
    np.savez(src, seq=np.arange(30, dtype=np.uint8) % 7 + 1, seq_lengths=[3, 5, 7, 15])
    assert_clean_error(
        run("bucket", f"{src}:seq", "--boundaries", "4", *extra, "-o", tmp_path / "out"), needle
    )
    assert not (tmp_path / "out").exists()


def test_bucket_into_a_file_is_a_clean_error(tmp_path):
    src = tmp_path / "u8.npz"
    np.savez(src, seq=np.arange(30, dtype=np.uint8) % 7 + 1, seq_lengths=[3, 5, 7, 15])
    (tmp_path / "afile").write_text("keep me")
    r = run("bucket", f"{src}:seq", "--boundaries", "4", "-o", tmp_path / "afile", "--force")
    assert_clean_error(r, "is a file; bucket writes a folder")
    assert (tmp_path / "afile").read_text() == "keep me"


def test_bucket_past_the_open_file_limit_is_a_clean_error(tmp_path):
    """Each bucket keeps its archive and, once they outgrow memory, its spooled siblings open:
    past ``ulimit -n`` that is one clear line, not an internal error."""
    import resource

    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 600, size=300_000)
    src = tmp_path / "s.npz"
    np.savez(
        src, seq=rng.integers(1, 9, size=int(lengths.sum())).astype(np.int8), seq_lengths=lengths
    )

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (100, 100))

    p = subprocess.run([sys.executable, "-m", "dsdoctor", "bucket", f"{src}:seq", "--buckets", "60",
                        "-o", str(tmp_path / "out")], capture_output=True, text=True, preexec_fn=limit)  # fmt: skip
    assert_clean_error(Result(p.returncode, p.stdout, p.stderr), "ulimit -n")
    assert sorted(tmp_path.iterdir()) == [src]  # neither the folder nor its temporary


def test_parquet_row_groups_follow_the_chunk_size_not_the_read_size(tmp_path):
    """A dense .npy is read 4 MiB at a time; a Parquet output still gets row groups of about
    --chunk-size (small row groups slow every reader after us)."""
    src = tmp_path / "dense.npy"
    np.save(src, np.arange(40 * 1024**2 // 4, dtype=np.float32).reshape(-1, 16))  # 40 MiB
    for chunk, groups in (("64MiB", 1), ("16MiB", 3)):
        out = tmp_path / f"out-{chunk}.parquet"
        r = cli("reshape", src, "--add-axis", "time", "-o", out, "--chunk-size", chunk)
        assert r.code == 0, r.stderr
        assert pq.ParquetFile(out).metadata.num_row_groups == groups
    column = pq.read_table(tmp_path / "out-16MiB.parquet").column("data").combine_chunks()
    values = column.flatten().flatten().to_numpy()  # (N, 1, 16): two levels of fixed-size lists
    assert np.array_equal(values, np.arange(40 * 1024**2 // 4, dtype=np.float32))


def test_python_api_pad_accepts_lists_values_and_arrow():
    seqs = [np.array([1, 2, 3]), np.array([4])]
    a = dsdoctor.pad(seqs, padding="post")
    b = dsdoctor.pad(np.array([1, 2, 3, 4]), lengths=[3, 1], padding="post")
    c = dsdoctor.pad(pa.array([[1, 2, 3], [4]]), padding="post")
    for p in (a, b, c):
        assert p.data.tolist() == [[1, 2, 3], [4, 0, 0]] and p.lengths.tolist() == [3, 1]
        assert p.mask.tolist() == [[True, True, True], [True, False, False]]


# -- check → apply each printed fix → check again ---------------------------------------------------
CASES = [
    ["--x", "cardinality/x.npy", "--y", "cardinality/y.npy"],
    ["--x", "mnist_flat.npy", "--input-shape", "(None, 28, 28)"],
    ["--x", "gru_2d.npy", "--input-shape", "(None, None, 3)"],
    ["--x", "iris.csv", "--features", "3"],
    ["--x", "healthy/x.npy", "--y", "y_column.npy"],
    ["sequences.parquet:tokens"],
    ["frames.parquet:frames"],
    ["train.h5:/seq/tokens"],
    ["sequences.npz:seq"],
    ["constant.npy"],
]


def _fixture_args(args):
    return [
        str(FIXTURES / a) if not a.startswith(("-", "(")) and not a.isdigit() else a for a in args
    ]


@pytest.mark.parametrize("case", CASES, ids=lambda c: " ".join(c))
def test_check_fix_check_is_healthy(tmp_path, case):
    args = _fixture_args(case)
    report = cli("check", "--json", *args).json()
    fixed_any = False
    for f in report["findings"]:
        for i, fix in enumerate(f["fixes"]):
            words = shlex.split(fix["command"])[1:]
            out_idx = words.index("-o") + 1
            src = words[1]
            out = tmp_path / f"{f['code']}-{i}-{os.path.basename(words[out_idx]) or 'dir'}"
            words[out_idx] = str(out)
            r = cli(*words)
            assert r.code == 0, (fix["command"], r.stderr)
            if words[0] == "bucket":
                continue
            again = [str(out) if a == src else a for a in args]
            if src not in args:  # a positional container: check the output alone
                again = [str(out)]
            names = {g["name"] for g in cli("check", "--json", *again).json()["findings"]}
            assert f["name"] not in names, (fix["command"], names)
            fixed_any = True
    assert fixed_any


# -- PyTorch as an oracle (only these tests need torch; the module's others run without it) ----------
@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.floats(-5, 5, width=32), min_size=1, max_size=12), min_size=1, max_size=20),
       st.sampled_from(["pre", "post"]), st.floats(-3, 3, width=32))  # fmt: skip
def test_pad_equals_torch_pad_sequence(seqs, padding, value):
    torch = pytest.importorskip("torch")
    arrays = [np.asarray(s, dtype=np.float32) for s in seqs]
    side = "left" if padding == "pre" else "right"
    expected = torch.nn.utils.rnn.pad_sequence([torch.from_numpy(a) for a in arrays], batch_first=True,
                                               padding_value=value, padding_side=side).numpy()  # fmt: skip
    p = dsdoctor.pad(arrays, padding=padding, value=value)
    np.testing.assert_array_equal(p.data, expected)
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.from_numpy(p.data) if padding == "post" else
                                                     torch.from_numpy(np.ascontiguousarray(p.data)), torch.from_numpy(p.lengths),
                                                     batch_first=True, enforce_sorted=False)  # fmt: skip
    if padding == "post":
        unpacked, lens = torch.nn.utils.rnn.pad_packed_sequence(
            packed, batch_first=True, padding_value=value
        )
        assert lens.tolist() == [len(s) for s in seqs]
        np.testing.assert_array_equal(unpacked.numpy(), expected)


def test_in_memory_api_mirrors_the_commands():
    assert dsdoctor.replicate(np.array([[1, 2]]), to=3).tolist() == [[1, 2]] * 3
    assert dsdoctor.replicate(np.array([1, 2]), each=2).tolist() == [1, 1, 2, 2]
    with pytest.raises(dsdoctor.RepairError, match="not a multiple"):
        dsdoctor.replicate(np.arange(3), to=29)
    assert dsdoctor.reshape(np.zeros((4, 784)), shape="(None, 28, 28)").shape == (4, 28, 28)
    assert dsdoctor.reshape(np.zeros((4, 3)), add_axis="time").shape == (4, 1, 3)
    assert dsdoctor.select(np.arange(12).reshape(3, 4), features=[0, 3]).tolist() == [
        [0, 3],
        [4, 7],
        [8, 11],
    ]
    assert dsdoctor.mask(np.array([[[0, 0], [1, 0]]]), value=0).tolist() == [[False, True]]
    parts = dsdoctor.bucket([[1], [2, 3], [4, 5, 6, 7]], boundaries=[2], padding="post")
    assert [b.index.tolist() for b in parts] == [[0], [1, 2]]
    assert parts[1].data.tolist() == [[2, 3, 0, 0], [4, 5, 6, 7]]


def test_killing_pad_mid_write_leaves_nothing_or_everything(tmp_path):
    """SIGKILL `dsdoctor pad` at random moments: the output is absent or complete, with its mask
    and lengths, and the input is byte-identical."""
    import random
    import signal
    import subprocess
    import sys
    import time

    rng_ = np.random.default_rng(3)
    lengths = rng_.integers(1, 400, size=40_000)
    values = rng_.integers(1, 100, size=int(lengths.sum()), dtype=np.int32)
    src = tmp_path / "in.npz"
    np.savez(src, s=values, s_lengths=lengths)
    before = src.read_bytes()
    ref = tmp_path / "ref.npy"
    cmd = [
        sys.executable,
        "-m",
        "dsdoctor",
        "pad",
        f"{src}:s",
        "--maxlen",
        "400",
        "--chunk-size",
        "1MiB",
    ]
    t0 = time.monotonic()
    subprocess.run([*cmd, "-o", str(ref)], check=True, capture_output=True)
    full = time.monotonic() - t0
    expected = np.load(ref)
    seed = random.randrange(1 << 30)
    rnd = random.Random(seed)
    for i in range(5):
        out = tmp_path / f"o{i}.npy"
        p = subprocess.Popen(
            [*cmd, "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rnd.uniform(0.05, full))
        p.send_signal(signal.SIGKILL)
        p.wait()
        if out.exists():
            np.testing.assert_array_equal(np.load(out), expected, err_msg=f"seed {seed}")
            assert np.load(tmp_path / f"o{i}.mask.npy").shape == expected.shape
            assert np.load(tmp_path / f"o{i}.lengths.npy").shape == (len(lengths),)
    assert src.read_bytes() == before


@pytest.mark.parametrize("name", ["o.npy", "o.npz", "o.parquet"])
@pytest.mark.parametrize(("sig", "code"), [("SIGINT", 130), ("SIGTERM", 143)])
def test_sigint_sigterm_exit_cleanly_and_remove_temporaries(tmp_path, sig, code, name):
    import signal
    import subprocess
    import sys
    import time

    rng_ = np.random.default_rng(4)
    lengths = rng_.integers(1, 400, size=60_000)
    np.savez(
        tmp_path / "in.npz",
        s=rng_.integers(1, 9, size=int(lengths.sum()), dtype=np.int32),
        s_lengths=lengths,
    )
    out = tmp_path / "out"
    out.mkdir()
    p = subprocess.Popen([sys.executable, "-m", "dsdoctor", "pad", f"{tmp_path / 'in.npz'}:s", "--maxlen", "400",
                          "--chunk-size", "256KiB", "-o", str(out / name)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 20
    while not any(out.iterdir()) and time.monotonic() < deadline and p.poll() is None:
        time.sleep(0.01)  # wait until the temporary output exists
    p.send_signal(getattr(signal, sig))
    _, err = p.communicate(timeout=60)
    if p.returncode == 0:
        pytest.skip("the write finished before the signal arrived")
    assert p.returncode == code, err
    assert "Traceback" not in err and err.strip().startswith("dsdoctor: ")
    assert list(out.iterdir()) == []
