"""Fixes that fit the framework (issue 14, item 2), proved with the frameworks themselves:
PyTorch trains on ``pad --for torch`` / ``bucket --for torch`` with ``pack_padded_sequence``,
Keras (jax and torch backends, in subprocesses) on ``pad --for keras`` / ``bucket --for keras``;
a regression (N, 1) target is left alone; (N, 1) class labels get the squeeze PyTorch needs;
pre-padded data with lengths is ``pack-padding-side`` (DS305)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import dsdoctor

from .conftest import assert_clean_error, cli, run

torch = pytest.importorskip("torch")

rng = np.random.default_rng(14)


def token_parquet(tmp_path, n: int = 40, vocab: int = 50) -> tuple[str, list[np.ndarray]]:
    """Token-id sequences (ids 1 … vocab-1, lengths 1 … 12) in a Parquet list column."""
    seqs = [rng.integers(1, vocab, size=int(k)) for k in rng.integers(1, 13, n)]
    path = tmp_path / "tokens.parquet"
    pq.write_table(pa.table({"tokens": pa.array([s.tolist() for s in seqs],
                                                pa.list_(pa.int64()))}), path)  # fmt: skip
    return f"{path}:tokens", seqs


def names(*args) -> list[str]:
    r = cli("check", *map(str, args), "--json")
    assert r.code in (0, 1), r.stderr
    return [f["name"] for f in r.json()["findings"]]


def gru_step(data: np.ndarray, lengths: np.ndarray, vocab: int = 50) -> float:
    """One training step of Embedding + GRU over ``pack_padded_sequence`` with ``lengths``."""
    torch.manual_seed(0)
    emb, gru, head = (
        torch.nn.Embedding(vocab, 8),
        torch.nn.GRU(8, 16, batch_first=True),
        torch.nn.Linear(16, 2),
    )
    params = [*emb.parameters(), *gru.parameters(), *head.parameters()]
    opt = torch.optim.SGD(params, lr=0.1)
    x, ln = torch.from_numpy(data), torch.from_numpy(lengths)  # int64 ids, int64 lengths on the CPU
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        emb(x), ln, batch_first=True, enforce_sorted=False
    )
    _, h = gru(packed)
    loss = torch.nn.CrossEntropyLoss()(head(h[-1]), torch.zeros(len(x), dtype=torch.long))
    opt.zero_grad()
    loss.backward()
    opt.step()
    return float(loss.detach())


def packed_values(data: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """What ``pack_padded_sequence`` keeps of each row: the flat packed data."""
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        torch.from_numpy(data), torch.from_numpy(lengths), batch_first=True, enforce_sorted=False
    )
    return packed.data.numpy()


# -- pad --for torch / keras ----------------------------------------------------------------------
def test_pad_for_torch_trains_a_packed_gru_and_packs_exactly_the_real_steps(tmp_path):
    src, seqs = token_parquet(tmp_path)
    r = cli("pad", src, "--for", "torch", "-o", tmp_path / "p.npz", "--json")
    assert r.code == 0, r.stderr
    assert r.json()["warnings"] == [] and r.json()["details"]["padding"] == "post"
    with np.load(tmp_path / "p.npz") as z:
        data, lengths, mask = z["data"], z["lengths"], z["mask"]
    assert data.dtype == np.int64 and lengths.dtype == np.int64 and mask.dtype == bool
    assert np.isfinite(gru_step(data, lengths))
    # the packed steps are the real tokens, never padding (ids are ≥ 1, padding is 0)
    assert (packed_values(data, lengths) != 0).all()
    assert sorted(packed_values(data, lengths).tolist()) == sorted(np.concatenate(seqs).tolist())
    assert "pack-padding-side" not in names(tmp_path / "p.npz")


def test_pre_padded_lengths_pack_padding_and_are_pack_padding_side(tmp_path):
    """The default (pre) with lengths: PyTorch packs zeros and drops real tokens; pad warns and
    check reports DS305 on the .npz and on the .npy files given together."""
    src, _ = token_parquet(tmp_path)
    r = cli("pad", src, "-o", tmp_path / "pre.npz", "--json")
    assert r.code == 0 and "pack_padded_sequence" in r.json()["warnings"][0], r.stdout
    with np.load(tmp_path / "pre.npz") as z:
        data, lengths = z["data"], z["lengths"]
    assert (packed_values(data, lengths) == 0).any()  # the oracle: padding was packed
    d = cli("check", tmp_path / "pre.npz", "--json").json()
    (f,) = [f for f in d["findings"] if f["name"] == "pack-padding-side"]
    short = int((lengths < data.shape[1]).sum())
    assert f["code"] == "DS305" and f["evidence"]["short"] == short
    assert "as dsdoctor pad recorded" in f["message"]
    assert f["fixes"][0]["safety"] == "assumption" and "--for torch" in f["fixes"][0]["command"]
    # the .npy outputs: from the mask beside them, and from the data and lengths alone
    assert cli("pad", src, "-o", tmp_path / "pre.npy").code == 0
    npys = [tmp_path / "pre.npy", tmp_path / "pre.lengths.npy"]
    assert "pack-padding-side" in names(*npys)
    assert "pack-padding-side" in names(*npys, tmp_path / "pre.mask.npy")
    # lengths that are not beside this data, or a post-padded copy: nothing
    np.save(tmp_path / "post.npy", _post(data, lengths))
    assert "pack-padding-side" not in names(tmp_path / "post.npy", tmp_path / "pre.lengths.npy")


def _post(data: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The same rows padded at the end instead (vectorised roll of each row by its length)."""
    steps = data.shape[1]
    idx = (np.arange(steps)[None, :] + (steps - lengths)[:, None]) % steps
    out = np.take_along_axis(data, idx, axis=1)
    out[np.arange(steps)[None, :] >= lengths[:, None]] = 0
    return out


def test_pre_padding_without_lengths_or_for_keras_is_no_warning(tmp_path):
    src, _ = token_parquet(tmp_path)
    r = cli("pad", src, "--no-lengths", "-o", tmp_path / "a.npz", "--json")
    assert r.code == 0 and r.json()["warnings"] == []
    r = cli("pad", src, "--for", "keras", "-o", tmp_path / "k.npz", "--json")
    assert r.code == 0 and r.json()["warnings"] == []
    with np.load(tmp_path / "k.npz") as z:
        assert z["data"].dtype == np.int32 and (z["mask"][:, -1]).all()  # pre: real steps last


def test_explicit_options_win_over_the_preset(tmp_path):
    src, seqs = token_parquet(tmp_path)
    r = cli("pad", src, "--for", "torch", "--padding", "pre", "--maxlen", "5", "--dtype", "int32",
            "-o", tmp_path / "p.npz", "--json")  # fmt: skip
    assert r.code == 0, r.stderr
    d = r.json()
    assert d["details"]["padding"] == "pre" and d["details"]["truncating"] == "post"
    assert d["dtype"] == "int32" and "pack_padded_sequence" in d["warnings"][0]
    want = dsdoctor.pad(seqs, maxlen=5, padding="pre", truncating="post", dtype="int32")
    with np.load(tmp_path / "p.npz") as z:
        np.testing.assert_array_equal(z["data"], want.data)
    # in memory, the same preset
    got = dsdoctor.pad(seqs, for_="torch")
    assert got.data.dtype == np.int64 and got.mask[:, 0].all()
    floats = [
        rng.normal(size=(3, 2)).astype(np.float32),
        rng.normal(size=(1, 2)).astype(np.float32),
    ]
    assert dsdoctor.pad(floats, for_="keras").data.dtype == np.float32  # only ids change dtype


def test_the_preset_is_refused_clearly(tmp_path):
    src, _ = token_parquet(tmp_path)
    r = cli("pad", src, "--for", "tensorflow", "-o", tmp_path / "p.npz")
    assert r.code == 2 and r.stderr.startswith("dsdoctor: error:") and "keras or torch" in r.stderr
    assert not (tmp_path / "p.npz").exists()
    assert "int64" in cli("pad", "--help").stdout and "int32" in cli("bucket", "--help").stdout


def test_bucket_for_torch_trains_each_bucket_with_pack_padded_sequence(tmp_path):
    src, seqs = token_parquet(tmp_path)
    r = cli("bucket", src, "--buckets", "3", "--for", "torch", "-o", tmp_path / "b", "--json")
    assert r.code == 0 and r.json()["warnings"] == [], r.stdout
    assert json.loads((tmp_path / "b/buckets.json").read_text())["padding"] == "post"
    seen = []
    for f in sorted((tmp_path / "b").glob("bucket_*.npz")):
        with np.load(f) as z:
            assert z["data"].dtype == np.int64 and z["lengths"].dtype == np.int64
            assert np.isfinite(gru_step(z["data"], z["lengths"]))
            seen += packed_values(z["data"], z["lengths"]).tolist()
        assert "pack-padding-side" not in names(f)
    assert sorted(seen) == sorted(np.concatenate(seqs).tolist())
    # in memory, the same preset and the same buckets
    boundaries = json.loads((tmp_path / "b/buckets.json").read_text())["boundaries"]
    for b in dsdoctor.bucket(seqs, boundaries=boundaries, for_="torch"):
        assert b.data.dtype == np.int64 and (b.mask[:, 0] | (b.lengths == 0)).all()  # post
    r = cli("bucket", src, "--buckets", "3", "-o", tmp_path / "pre", "--json")
    assert "pack_padded_sequence" in r.json()["warnings"][0]


KERAS_STEP = textwrap.dedent(
    """
    import sys, numpy as np, keras
    for path in sys.argv[1:]:
        with np.load(path) as z:
            data = z["data"]
        assert data.dtype == np.int32, data.dtype
        model = keras.Sequential([keras.Input((None,), dtype="int32"),
                                  keras.layers.Embedding(50, 8, mask_zero=True),
                                  keras.layers.GRU(8), keras.layers.Dense(2, activation="softmax")])
        model.compile("sgd", "sparse_categorical_crossentropy")
        out = model.train_on_batch(data, np.zeros(len(data), dtype=np.int32))
        value = float(out[0] if isinstance(out, list) else out)
        assert np.isfinite(value), value
    print("trained", len(sys.argv) - 1)
    """
)


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_keras_trains_on_pad_and_bucket_for_keras(tmp_path, backend):
    pytest.importorskip(backend)
    src, _ = token_parquet(tmp_path)
    assert cli("pad", src, "--for", "keras", "-o", tmp_path / "k.npz").code == 0
    assert cli("bucket", src, "--buckets", "2", "--for", "keras", "-o", tmp_path / "b").code == 0
    files = [tmp_path / "k.npz", *sorted((tmp_path / "b").glob("bucket_*.npz"))]
    env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu"}
    p = subprocess.run([sys.executable, "-c", KERAS_STEP, *map(str, files)], capture_output=True,
                       text=True, env=env, timeout=600)  # fmt: skip
    assert p.returncode == 0 and f"trained {len(files)}" in p.stdout, p.stderr[-2000:]


# -- target-shape-mismatch: regression vs class labels -------------------------------------------
def test_a_regression_column_is_left_alone_and_fits_linear_with_mse(tmp_path):
    x = rng.normal(size=(16, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [2.0], [-1.0]], np.float32)).astype(np.float32)  # (16, 1) float
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    assert "target-shape-mismatch" not in names(
        "--x", tmp_path / "x.npy", "--y", tmp_path / "y.npy"
    )
    r = cli("repair", "--x", tmp_path / "x.npy", "--y", tmp_path / "y.npy", "-o", tmp_path / "fixed",
            "--json")  # fmt: skip
    assert r.code in (0, 1), r.stderr
    assert not (tmp_path / "fixed" / "y.reshaped.npy").exists()
    model = torch.nn.Linear(3, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # MSELoss warns when it would broadcast (N, 1) vs (N,)
        loss = torch.nn.MSELoss()(model(torch.from_numpy(x)), torch.from_numpy(y))
    loss.backward()
    assert torch.isfinite(loss)
    # the squeeze the old fix applied is what makes PyTorch broadcast; triage says keep (N, 1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.nn.MSELoss()(model(torch.from_numpy(x)), torch.from_numpy(y[:, 0]))
    message = str(caught[0].message)
    (tmp_path / "warning.txt").write_text(message)
    d = cli("triage", tmp_path / "warning.txt", "--json").json()
    text = json.dumps(d)
    assert "target-shape-mismatch" in text and "keep the targets (16, 1)" in text


def test_class_labels_column_gets_the_squeeze_torch_needs(tmp_path):
    x = rng.normal(size=(12, 3)).astype(np.float32)
    y = (np.arange(12) % 3).reshape(12, 1).astype(np.int64)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    with pytest.raises(RuntimeError, match="multi-target not supported"):  # the oracle
        torch.nn.CrossEntropyLoss()(torch.nn.Linear(3, 3)(torch.from_numpy(x)), torch.from_numpy(y))
    d = cli("check", "--x", tmp_path / "x.npy", "--y", tmp_path / "y.npy", "--classes", "3",
            "--json").json()  # fmt: skip
    (f,) = [f for f in d["findings"] if f["name"] == "target-shape-mismatch"]
    assert f["severity"] == "warning" and f["fixes"][0]["safety"] == "lossless"
    assert "sparse_categorical_crossentropy takes (12,) or (12, 1)" in f["message"]
    r = cli("repair", "--x", tmp_path / "x.npy", "--y", tmp_path / "y.npy", "--classes", "3",
            "-o", tmp_path / "fixed")  # fmt: skip
    assert r.code in (0, 1), r.stderr
    fixed = np.load(tmp_path / "fixed" / "y.reshaped.npy")
    assert fixed.shape == (12,) and fixed.dtype == np.int64
    loss = torch.nn.CrossEntropyLoss()(
        torch.nn.Linear(3, 3)(torch.from_numpy(x)), torch.from_numpy(fixed)
    )
    assert torch.isfinite(loss)


def test_integers_without_classes_and_binary_labels_are_an_info_with_an_assumed_squeeze(tmp_path):
    np.save(tmp_path / "x.npy", rng.normal(size=(10, 3)))
    np.save(tmp_path / "y.npy", (np.arange(10) % 2).reshape(10, 1))
    for extra in ([], ["--classes", "2"]):
        d = cli(
            "check", "--x", tmp_path / "x.npy", "--y", tmp_path / "y.npy", *extra, "--json"
        ).json()
        (f,) = [f for f in d["findings"] if f["name"] == "target-shape-mismatch"]
        assert f["severity"] == "info" and f["fixes"][0]["safety"] == "assumption", f
    assert "BCEWithLogitsLoss" in f["message"]
    # binary (N, 1) float targets fit Linear(k, 1) + BCEWithLogitsLoss as they are
    y = torch.from_numpy(np.load(tmp_path / "y.npy").astype(np.float32))
    assert torch.isfinite(torch.nn.BCEWithLogitsLoss()(torch.nn.Linear(3, 1)(torch.rand(10, 3)), y))


def test_an_encoded_target_is_class_labels(tmp_path):
    np.save(tmp_path / "names.npy", np.array(["cat", "dog", "emu", "cat", "dog", "emu"]))
    assert cli("encode", tmp_path / "names.npy", "-o", tmp_path / "codes.npy").code == 0
    np.save(tmp_path / "codes.npy", np.load(tmp_path / "codes.npy").reshape(6, 1))  # a column
    np.save(tmp_path / "x.npy", rng.normal(size=(6, 3)))
    d = cli("check", "--x", tmp_path / "x.npy", "--y", tmp_path / "codes.npy", "--json").json()
    (f,) = [f for f in d["findings"] if f["name"] == "target-shape-mismatch"]
    assert f["severity"] == "warning" and f["evidence"]["classes"] == 3
    assert "dsdoctor encode, 3 classes" in f["message"]


def test_labels_and_bucket_index_are_not_lengths(tmp_path):
    """A 1-D integer array is lengths only by its name (pad's outputs) — never class labels
    beside pre-padded data, nor bucket's ``index`` member."""
    src, _ = token_parquet(tmp_path)
    assert cli("pad", src, "--no-lengths", "-o", tmp_path / "x.npy").code == 0
    n = len(np.load(tmp_path / "x.npy"))
    np.save(tmp_path / "y.npy", np.full(n, 3, dtype=np.int64))  # small ints, like lengths
    assert "pack-padding-side" not in names("--x", tmp_path / "x.npy", "--y", tmp_path / "y.npy")
    assert cli("bucket", src, "--buckets", "2", "-o", tmp_path / "b").code == 0
    d = cli("check", tmp_path / "b" / "bucket_1.npz", "--json").json()
    (f,) = [f for f in d["findings"] if f["name"] == "pack-padding-side"]
    assert f["arrays"][1].endswith(":lengths")


def test_bucket_for_keras_refuses_ids_past_int32_naming_options_it_has(tmp_path):
    """--for keras casts ids to int32; ids past it are refused with bucket's own way out (bucket
    has no --allow-lossy-cast, pad's way)."""
    np.savez(tmp_path / "t.npz", ids=np.array([2**40, 1, 3], dtype=np.int64),
             ids_lengths=np.array([2, 1]))  # fmt: skip
    r = run("bucket", f"{tmp_path / 't.npz'}:ids", "--buckets", "1", "--for", "keras",
            "-o", tmp_path / "b")  # fmt: skip
    assert_clean_error(r, "--for torch")
    assert "--allow-lossy-cast" not in r.stderr
    assert not (tmp_path / "b").exists()
