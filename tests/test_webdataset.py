"""WebDataset tars as data: each ``.npy`` field an array of one sample per key (``shard.tar:x``),
dense or ragged, read a span of the tar at a time; the other fields named as not read. Shards
are written by webdataset's own ``TarWriter``; damaged ones by cutting or editing real files."""

from __future__ import annotations

import io
import tarfile

import numpy as np
import pytest

import dsdoctor

from .conftest import assert_clean_error, cli, run

wds = pytest.importorskip("webdataset")

RNG = np.random.default_rng(0)
X = RNG.normal(size=(29, 3)).astype(np.float32)
TOKENS = [RNG.integers(0, 9, size=n) for n in RNG.integers(1, 7, size=29)]


def _shard(path, n=29, *, fields=("x", "y", "tok", "jpg"), skip_y=()):
    with wds.TarWriter(str(path)) as w:
        for i in range(n):
            sample = {"__key__": f"{i:06d}"}
            if "x" in fields:
                sample["x.npy"] = X[i]
            if "y" in fields and i not in skip_y:
                sample["y.npy"] = np.array(i % 3)
            if "tok" in fields:
                sample["tok.npy"] = TOKENS[i]
            if "jpg" in fields:
                sample["jpg"] = b"\xff\xd8 not really a jpeg"
            w.write(sample)
    return path


def test_fields_are_arrays_one_sample_per_key(tmp_path):
    path = _shard(tmp_path / "s.tar")
    x = dsdoctor.load(f"{path}:x")
    assert x.format == "webdataset" and x.shape == (29, 3)
    np.testing.assert_array_equal(x.read(), X)
    np.testing.assert_array_equal(dsdoctor.load(f"{path}:y").read(), np.arange(29) % 3)
    tok = dsdoctor.load(f"{path}:tok")
    assert tok.ragged and tok.shape == (29, None)
    got = tok.read()
    assert got.lengths.tolist() == [len(t) for t in TOKENS]
    np.testing.assert_array_equal(got.values, np.concatenate(TOKENS))
    d = cli("check", path, "--json").json()
    assert "not .npy, not read" in d["arrays"][f"{path}:jpg"]["skipped"]


@pytest.mark.parametrize("field", ["x", "tok"])
def test_spans_are_read_in_bounded_chunks(tmp_path, field):
    path = _shard(tmp_path / "s.tar")
    h = dsdoctor.load(f"{path}:{field}")
    chunks = list(h.chunks(chunk_bytes=4096))
    assert len(chunks) > 3
    if field == "x":
        np.testing.assert_array_equal(np.concatenate([c.copy() for c in chunks]), X)
    else:
        assert np.concatenate([c.lengths for c in chunks]).tolist() == [len(t) for t in TOKENS]


def test_a_bare_npy_member_is_the_field_npy(tmp_path):
    path = tmp_path / "bare.tar"
    with wds.TarWriter(str(path)) as w:
        for i in range(4):
            w.write({"__key__": f"k{i}", "npy": np.full(2, i)})
    np.testing.assert_array_equal(
        dsdoctor.load(str(path)).read(), np.repeat(np.arange(4), 2).reshape(4, 2)
    )


# -- the seed cases ---------------------------------------------------------------------------
def test_29_inputs_and_1_target(tmp_path):
    x = _shard(tmp_path / "x.tar", fields=("x",))
    y = tmp_path / "y.tar"
    with wds.TarWriter(str(y)) as w:
        w.write({"__key__": "000000", "y.npy": np.array(1)})
    r = run("check", x, y)
    assert r.code == 1, r.stdout + r.stderr
    assert f"{x} has 29 samples but {y} has 1" in r.stdout


def test_a_key_without_a_target_is_a_sample_count_mismatch_inside_the_shard(tmp_path):
    path = _shard(tmp_path / "s.tar", fields=("x", "y"), skip_y=(5,))
    d = cli("check", path, "--json").json()
    assert any(f["code"] == "DS101" for f in d["findings"])
    assert d["arrays"][f"{path}:y"]["layout"]["missing"] == "1 keys have no `y` member"


def test_width_rank_and_collision(tmp_path):
    path = _shard(tmp_path / "s.tar")
    codes = [
        f["code"]
        for f in cli("check", "--x", f"{path}:x", "--features", "4", "--json").json()["findings"]
    ]
    assert "DS201" in codes
    codes = [
        f["code"]
        for f in cli("check", "--x", f"{path}:x", "--input-shape", "3,1", "--json").json()[
            "findings"
        ]
    ]
    assert "DS202" in codes
    codes = [f["code"] for f in cli("check", f"{path}:tok", "--json").json()["findings"]]
    assert "DS301" in codes and ("DS302" in codes) == any((t == 0).any() for t in TOKENS)


def test_pad_output_reads_back(tmp_path):
    path = _shard(tmp_path / "s.tar")
    out = tmp_path / "p.npy"
    assert run("pad", f"{path}:tok", "--padding", "post", "-o", out).code == 0
    padded = np.load(out)
    for row, t in zip(padded, TOKENS, strict=True):
        np.testing.assert_array_equal(row[: len(t)], t)


# -- bad input --------------------------------------------------------------------------------
def test_members_that_disagree_are_named_and_not_read(tmp_path):
    path = tmp_path / "odd.tar"
    with wds.TarWriter(str(path)) as w:
        w.write({"__key__": "a", "x.npy": np.zeros((2, 3))})
        w.write({"__key__": "b", "x.npy": np.zeros((2, 4))})
    d = cli("check", path, "--json").json()
    assert "its members differ" in d["arrays"][str(path)]["skipped"]


def test_an_object_member_is_never_unpickled(tmp_path):
    path = tmp_path / "obj.tar"
    buf = io.BytesIO()
    np.save(buf, np.array([[1], [2, 3]], dtype=object), allow_pickle=True)
    with tarfile.open(path, "w") as tar:
        info = tarfile.TarInfo("k.x.npy")
        info.size = len(buf.getvalue())
        tar.addfile(info, io.BytesIO(buf.getvalue()))
    d = cli("check", path, "--json").json()
    assert "never unpickles" in d["arrays"][str(path)]["skipped"]


@pytest.mark.parametrize("cut", [100, 2000, "in the last member"])
def test_a_truncated_shard_is_one_line_and_nothing_is_written(tmp_path, cut):
    path = _shard(tmp_path / "t.tar", fields=("x",))
    if cut == "in the last member":
        with tarfile.open(path) as tar:
            cut = tar.getmembers()[-1].offset_data + 20
    path.write_bytes(path.read_bytes()[:cut])
    out = tmp_path / "out.npy"
    assert_clean_error(run("check", path), str(path))
    assert_clean_error(run("replicate", f"{path}:x", "--to", "30", "-o", out), str(path))
    assert not out.exists()


def test_a_member_whose_header_declares_more_than_it_holds(tmp_path):
    path = tmp_path / "lie.tar"
    buf = io.BytesIO()
    np.save(buf, np.zeros(4))
    data = buf.getvalue()[:-16]  # the header says 4 values; 2 are there
    with tarfile.open(path, "w") as tar:
        info = tarfile.TarInfo("k.x.npy")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    assert_clean_error(run("check", path), "declares (4,) float64 but holds 16 bytes")


def test_a_tar_without_npy_members(tmp_path):
    path = _shard(tmp_path / "img.tar", fields=("jpg",))
    assert_clean_error(run("check", path), "no .npy members", ".jpg ×29")
