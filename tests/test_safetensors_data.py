"""safetensors files as data sources (``w.safetensors:NAME``): each tensor an array, the header
checked against the file before anything is read, data read in bounded chunks. Files are
written by ``safetensors.numpy.save_file`` and ``safetensors.torch.save_file``; hostile ones by
rewriting a real file's header."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

import dsdoctor

from .conftest import assert_clean_error, cli, run

st_numpy = pytest.importorskip("safetensors.numpy")

RNG = np.random.default_rng(0)
EMB = RNG.normal(size=(29, 8)).astype(np.float32)


def _save(path, tensors):
    st_numpy.save_file(tensors, str(path))
    return path


def _header(path) -> tuple[dict, bytes]:
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8 : 8 + n]), raw[8 + n :]


def _rewrite(path, header: dict, data: bytes) -> None:
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)


def test_every_tensor_is_an_array_read_exactly(tmp_path):
    tensors = {"embeddings": EMB, "labels": np.arange(29, dtype=np.int64) % 4,
               "mask": np.arange(29) % 2 == 0, "half": EMB[:, :2].astype(np.float16),
               "scalar": np.array(3.5), "empty": np.zeros((0, 4), np.float32)}  # fmt: skip
    path = _save(tmp_path / "w.safetensors", tensors)
    for name, want in tensors.items():
        h = dsdoctor.load(f"{path}:{name}")
        assert h.format == "safetensors" and h.shape == want.shape and h.dtype == want.dtype
        np.testing.assert_array_equal(h.read(), want)
    (src,) = cli("inspect", f"{path}:embeddings", "--json").json()["sources"]
    (entry,) = src["entries"]
    assert entry["layout"]["dtype"] == "F32" and entry["stats"]["rows"] == 29


def test_tensors_are_read_in_bounded_chunks(tmp_path):
    big = RNG.normal(size=(4096, 16)).astype(np.float32)
    path = _save(tmp_path / "big.safetensors", {"a": np.ones(3, np.float32), "big": big})
    h = dsdoctor.load(f"{path}:big")
    chunks = [c.copy() for c in h.chunks(chunk_bytes=16 * 1024)]
    assert len(chunks) == 16 and max(c.nbytes for c in chunks) <= 16 * 1024
    np.testing.assert_array_equal(np.concatenate(chunks), big)


def test_torch_files_bf16_widened_and_float8_listed(tmp_path):
    torch = pytest.importorskip("torch")
    st_torch = pytest.importorskip("safetensors.torch")
    path = tmp_path / "t.safetensors"
    e = torch.randn(10, 4, dtype=torch.bfloat16)
    st_torch.save_file({"e": e, "f8": torch.zeros(3, dtype=torch.float8_e4m3fn),
                        "x": torch.arange(12, dtype=torch.float32).reshape(4, 3)}, str(path))  # fmt: skip
    h = dsdoctor.load(f"{path}:e")
    assert h.dtype == np.float32 and h.layout["dtype"] == "BF16"
    np.testing.assert_array_equal(h.read(), e.float().numpy())
    np.testing.assert_array_equal(dsdoctor.load(f"{path}:x").read(), np.arange(12.0).reshape(4, 3))
    d = cli("check", path, "--json").json()
    assert "F8_E4M3 has no numpy type" in d["arrays"][f"{path}:f8"]["skipped"]


# -- the seed cases ---------------------------------------------------------------------------
def test_29_inputs_and_1_target_across_two_files(tmp_path):
    x = _save(tmp_path / "x.safetensors", {"x": EMB})
    y = _save(tmp_path / "y.safetensors", {"y": np.array([1], dtype=np.int64)})
    r = run("check", x, y)
    assert r.code == 1, r.stdout + r.stderr
    assert f"{x} has 29 samples but {y} has 1" in r.stdout
    r = run("check", "--x", f"{x}:x", "--y", f"{y}:y", "--json")
    (f,) = [f for f in r.json()["findings"] if f["code"] == "DS101"]
    assert f["evidence"] == {"x": 29, "y": 1}


def test_width_and_rank_against_the_model(tmp_path):
    x = _save(tmp_path / "x.safetensors", {"x": EMB})
    codes = [
        f["code"]
        for f in cli("check", "--x", f"{x}:x", "--features", "4", "--json").json()["findings"]
    ]
    assert "DS201" in codes
    codes = [
        f["code"]
        for f in cli("check", "--x", f"{x}:x", "--input-shape", "8,1", "--json").json()["findings"]
    ]
    assert "DS202" in codes


def test_a_repaired_output_reads_back(tmp_path):
    y = _save(tmp_path / "y.safetensors", {"y": np.array([2], dtype=np.int64)})
    out = tmp_path / "y29.npy"
    r = run("replicate", f"{y}:y", "--to", "29", "-o", out)
    assert r.code == 0, r.stderr
    np.testing.assert_array_equal(np.load(out), np.full(29, 2))
    r = run("reshape", f"{_save(tmp_path / 'x.safetensors', {'x': EMB})}:x", "--add-axis",
            "features", "-o", tmp_path / "x3d.npy")  # fmt: skip
    assert r.code == 0, r.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "x3d.npy"), EMB.reshape(29, 8, 1))


# -- a header that lies -----------------------------------------------------------------------
def _lying(tmp_path, change) -> tuple:
    path = _save(tmp_path / "w.safetensors", {"a": EMB, "b": np.arange(29, dtype=np.int64)})
    header, data = _header(path)
    change(header)
    _rewrite(path, header, data)
    return path


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda h: h["a"].update(data_offsets=[0, 10**12]), "claims"),
        (lambda h: h["a"].update(shape=[29, 100]), "claims"),
        (lambda h: h["a"].update(shape=[29, 7]), "data_offsets span"),
        (
            lambda h: h["b"].update(
                data_offsets=[h["a"]["data_offsets"][0] + 8, h["a"]["data_offsets"][0] + 240]
            ),
            "overlap",
        ),
        (lambda h: h["a"].update(shape=[-1, 8]), "not a list of sizes"),
        (lambda h: h["a"].update(data_offsets="everything"), "not [begin, end]"),
        (lambda h: h.update(a=[1, 2]), "is not an object"),
    ],
)
def test_a_header_that_lies_is_one_line_and_nothing_is_written(tmp_path, change, needle):
    path = _lying(tmp_path, change)
    out = tmp_path / "out.npy"
    assert_clean_error(run("check", "--x", f"{path}:b"), str(path), needle)
    assert_clean_error(run("replicate", f"{path}:b", "--to", "30", "-o", out), needle)
    assert not out.exists()


@pytest.mark.parametrize("cut", [4, 20, -100])
def test_a_truncated_file_is_one_line(tmp_path, cut):
    path = _save(tmp_path / "w.safetensors", {"a": EMB})
    path.write_bytes(path.read_bytes()[:cut])
    assert_clean_error(run("check", "--x", f"{path}:a"), str(path))


def test_a_missing_tensor_names_those_there_are(tmp_path):
    path = _save(tmp_path / "w.safetensors", {"a": EMB, "b": EMB})
    assert_clean_error(run("check", "--x", f"{path}:c"), "has no array 'c'", "a, b")
