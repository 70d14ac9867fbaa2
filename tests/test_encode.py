"""``encode``: text labels → int64 codes (or float32 one-hot) with the vocabulary beside and
inside the output; ``--vocabulary`` reuses it on another split; unseen labels, missing values,
a file that is no vocabulary and a column of identifiers are refused with nothing written; and
the frameworks train on what it writes (PyTorch in process, Keras on JAX in a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dsdoctor
from dsdoctor import categories
from dsdoctor.errors import RepairError

from .conftest import assert_clean_error, cli
from .test_labels import PENGUINS, iris


def saved_iris(tmp_path, name="iris.csv"):
    p = tmp_path / name
    df = iris()
    if name.endswith(".csv"):
        df.to_csv(p, index=False)
    else:
        df.to_parquet(p)
    return p, df


def test_round_trip_with_the_vocabulary(tmp_path):
    src, df = saved_iris(tmp_path)
    out = tmp_path / "y.npy"
    r = cli("encode", f"{src}:species", "-o", out, "--json")
    assert r.code == 0, r.stderr
    assert r.json()["outputs"] == [str(out), str(tmp_path / "y.vocab.json")]
    codes = np.load(out)
    vocab = json.loads((tmp_path / "y.vocab.json").read_text())
    assert codes.dtype == np.int64 and codes.shape == (150,)
    assert vocab["values"] == ["setosa", "versicolor", "virginica"]  # sorted
    assert vocab["column"] == "species" and vocab["encoding"] == "int64"
    assert (np.array(vocab["values"])[codes] == df.species.astype(str).to_numpy()).all()
    # the encoded labels check clean
    assert "string-labels" not in {
        f.name for f in dsdoctor.check(x=str(src), y=str(out), target=None).findings
    }


def test_the_fix_check_prints_runs_and_repair_applies_it(tmp_path):
    src, _ = saved_iris(tmp_path)
    report = dsdoctor.check(str(src), target="species")
    fix = next(f for f in report.findings if f.name == "string-labels").fixes[0]
    r = cli(*fix.command.split()[1:])
    assert r.code == 0, r.stderr
    assert np.load(tmp_path / "iris.species.encoded.npy").tolist()[::50] == [0, 1, 2]
    outcome = dsdoctor.repair(str(src), target="species", outdir=str(tmp_path / "repaired"))
    applied = outcome.applied[0]
    assert applied["code"] == "DS106" and applied["safety"] == "lossless"
    assert sorted(os.listdir(tmp_path / "repaired")) == [
        "iris.species.encoded.npy",
        "iris.species.encoded.vocab.json",
    ]


def test_a_validation_split_gets_the_training_codes(tmp_path):
    df = iris().assign(species=lambda d: d.species.astype(str))
    train, val = df.iloc[::2], df.iloc[1::2].query("species != 'setosa'")  # val lacks a class
    train.to_parquet(tmp_path / "train.parquet")
    val.to_csv(tmp_path / "val.csv", index=False)
    assert (
        cli("encode", f"{tmp_path / 'train.parquet'}:species", "-o", tmp_path / "y.npy").code == 0
    )
    r = cli("encode", f"{tmp_path / 'val.csv'}:species", "--vocabulary", tmp_path / "y.vocab.json",
            "-o", tmp_path / "y_val.npy")  # fmt: skip
    assert r.code == 0, r.stderr
    codes = np.load(tmp_path / "y_val.npy")
    assert set(codes.tolist()) == {1, 2}  # versicolor, virginica: the training split's codes
    alone = dsdoctor.encode(val.species.to_numpy().astype("U"))
    assert alone.vocabulary == ["versicolor", "virginica"]  # what --vocabulary prevents
    vocab = json.loads((tmp_path / "y_val.vocab.json").read_text())
    assert vocab["values"] == ["setosa", "versicolor", "virginica"]


def test_an_unseen_label_is_named_and_nothing_is_written(tmp_path):
    df = iris().assign(species=lambda d: d.species.astype(str))
    df.iloc[:100].to_csv(tmp_path / "train.csv", index=False)
    test = df.iloc[100:].copy()
    test.iloc[[0, 5, 9], 4] = "unknown"
    test.to_csv(tmp_path / "test.csv", index=False)
    assert cli("encode", f"{tmp_path / 'train.csv'}:species", "-o", tmp_path / "y.npy").code == 0
    r = cli("encode", f"{tmp_path / 'test.csv'}:species", "--vocabulary", tmp_path / "y.vocab.json",
            "-o", tmp_path / "y_test.npz")  # fmt: skip
    assert_clean_error(
        r, "50 rows whose label is not in the vocabulary", "'virginica'", "'unknown'"
    )
    assert not list(tmp_path.glob("y_test*"))


@pytest.mark.parametrize(
    "content, words",
    [
        (b"\x89PNG\r\n", "is not JSON"),
        (b'{"values": "setosa"}', "is not a vocabulary"),
        (b'{"values": []}', "holds no values"),
        (b'["a", "b", "a"]', "lists 'a' twice"),
        (b'{"values": [1, 2]}', "is not a vocabulary"),
    ],
)
def test_a_vocabulary_file_that_is_not_one(tmp_path, content, words):
    src, _ = saved_iris(tmp_path)
    (tmp_path / "v.json").write_bytes(content)
    r = cli(
        "encode", f"{src}:species", "--vocabulary", tmp_path / "v.json", "-o", tmp_path / "y.npy"
    )
    assert_clean_error(r, words)
    assert not (tmp_path / "y.npy").exists() and not (tmp_path / "y.vocab.json").exists()
    with pytest.raises(RepairError, match=words.replace("(", r"\(")):
        dsdoctor.encode(np.array(["a"]), vocabulary=str(tmp_path / "v.json"))


def test_missing_labels_refused_with_their_rows(tmp_path):
    df = iris()
    df.loc[[4, 77], "species"] = None  # a category column with a null
    df.to_parquet(tmp_path / "iris.parquet")
    r = cli("encode", f"{tmp_path / 'iris.parquet'}:species", "-o", tmp_path / "y.npy")
    assert_clean_error(r, "2 missing values (rows 4, 77)")
    assert not list(tmp_path.glob("y*"))


def test_an_identifier_column_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(categories, "MAX_CATEGORIES", 100)
    df = iris().assign(name=[f"flower {i}" for i in range(150)])
    df.to_parquet(tmp_path / "iris.parquet")
    r = cli(
        "encode",
        f"{tmp_path / 'iris.parquet'}:name",
        "-o",
        tmp_path / "y.npy",
        "--chunk-size",
        "1KiB",
    )
    assert_clean_error(r, "more than 100 distinct values", "an identifier, not a label")
    assert not list(tmp_path.glob("y*"))


def test_numbers_are_not_encoded(tmp_path):
    src, _ = saved_iris(tmp_path)
    assert_clean_error(
        cli("encode", f"{src}:sepal_length", "-o", tmp_path / "y.npy"),
        "holds numbers, not text labels; encode turns text into class numbers and reads only text",
    )


def test_an_existing_vocabulary_is_not_overwritten_and_the_data_not_written(tmp_path):
    src, _ = saved_iris(tmp_path)
    (tmp_path / "y.vocab.json").write_text("mine")
    assert_clean_error(
        cli("encode", f"{src}:species", "-o", tmp_path / "y.npy"), "y.vocab.json exists"
    )
    assert not (tmp_path / "y.npy").exists() and (tmp_path / "y.vocab.json").read_text() == "mine"
    assert cli("encode", f"{src}:species", "-o", tmp_path / "y.npy", "--force").code == 0
    assert json.loads((tmp_path / "y.vocab.json").read_text())["values"][0] == "setosa"


def test_the_vocabulary_inside_hdf5_parquet_and_npz(tmp_path):
    src, _ = saved_iris(tmp_path, "iris.parquet")
    want = ["setosa", "versicolor", "virginica"]
    assert cli("encode", f"{src}:species", "-o", f"{tmp_path / 'y.h5'}:/labels").code == 0
    with h5py.File(tmp_path / "y.h5") as f:
        assert json.loads(f["labels"].attrs["dsdoctor_vocabulary"]) == want
        assert f["labels"].dtype == np.int64
    assert cli("encode", f"{src}:species", "--one-hot", "-o", tmp_path / "oh.npz").code == 0
    with np.load(tmp_path / "oh.npz") as z:
        assert z["data"].dtype == np.float32 and z["data"].shape == (150, 3)
        assert json.loads(str(z["provenance"]))["vocabulary"] == want
    assert (z_sum := np.load(tmp_path / "oh.npz")["data"].sum(axis=1)).min() == z_sum.max() == 1


def test_a_table_to_parquet_keeps_the_other_columns(tmp_path):
    src, df = saved_iris(tmp_path, "iris.parquet")
    assert cli("encode", f"{src}:species", "-o", tmp_path / "codes.parquet").code == 0
    back = pd.read_parquet(tmp_path / "codes.parquet")
    assert list(back.columns) == list(df.columns) and back.species.dtype == np.int64
    assert back.iloc[:, :4].equals(df.iloc[:, :4])
    meta = json.loads(pq.read_schema(tmp_path / "codes.parquet").metadata[b"dsdoctor"])
    assert (
        meta["vocabulary"] == ["setosa", "versicolor", "virginica"]
        and meta["operation"] == "encode"
    )


def test_a_categorical_feature_one_hot(tmp_path):
    if not PENGUINS.exists():
        pytest.skip("the shared corpus is not beside this checkout")
    out = tmp_path / "penguins.parquet"
    assert cli("encode", f"{PENGUINS}:island", "--one-hot", "-o", out).code == 0
    back = pd.read_parquet(out)
    assert list(back.columns)[:4] == [
        "species",
        "island_Biscoe",
        "island_Dream",
        "island_Torgersen",
    ]
    assert (back.filter(like="island_").sum(axis=1) == 1).all() and len(back) == 342
    original = pd.read_parquet(PENGUINS)
    assert (back.filter(like="island_").idxmax(axis=1).str[7:] == original.island).all()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(max_size=6), min_size=1, max_size=60))
def test_codes_decode_to_the_values(values):
    y = np.array(values, dtype="U")
    enc = dsdoctor.encode(y)
    assert enc.vocabulary == sorted(set(y.tolist()))
    assert (np.array(enc.vocabulary, dtype="U")[enc.values] == y).all()
    hot = dsdoctor.encode(y, one_hot=True, vocabulary=enc.vocabulary)
    assert (hot.values.argmax(axis=1) == enc.values).all()


def test_pytorch_trains_one_step_on_the_codes_and_the_one_hot_rows(tmp_path):
    torch = pytest.importorskip("torch")
    src, df = saved_iris(tmp_path)
    assert cli("encode", f"{src}:species", "-o", tmp_path / "y.npy").code == 0
    assert cli("encode", f"{src}:species", "--one-hot", "-o", tmp_path / "oh.npy").code == 0
    x = torch.as_tensor(df.iloc[:, :4].to_numpy(dtype=np.float32, copy=True))
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for target in (np.load(tmp_path / "y.npy"), np.load(tmp_path / "oh.npy")):
        y = torch.as_tensor(target)  # int64 class indices, or float32 probabilities
        loss = torch.nn.CrossEntropyLoss()(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        assert torch.isfinite(loss)
    bce = torch.nn.BCEWithLogitsLoss()(model(x), torch.as_tensor(np.load(tmp_path / "oh.npy")))
    assert torch.isfinite(bce)


KERAS_STEP = textwrap.dedent(
    """
    import sys, numpy as np, keras
    x, codes, hot = np.load(sys.argv[1]), np.load(sys.argv[2]), np.load(sys.argv[3])
    for y, loss in ((codes, "sparse_categorical_crossentropy"), (hot, "categorical_crossentropy")):
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
        model.compile("sgd", loss)
        out = model.train_on_batch(x, y)
        value = float(out[0] if isinstance(out, list) else out)
        assert np.isfinite(value), value
    print("trained")
    """
)


def test_keras_trains_one_step_on_the_codes_and_the_one_hot_rows(tmp_path):
    pytest.importorskip("jax")
    src, df = saved_iris(tmp_path)
    np.save(tmp_path / "x.npy", df.iloc[:, :4].to_numpy(dtype=np.float32))
    assert cli("encode", f"{src}:species", "-o", tmp_path / "y.npy").code == 0
    assert cli("encode", f"{src}:species", "--one-hot", "-o", tmp_path / "oh.npy").code == 0
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    p = subprocess.run([sys.executable, "-c", KERAS_STEP, tmp_path / "x.npy", tmp_path / "y.npy",
                        tmp_path / "oh.npy"], capture_output=True, text=True, env=env, timeout=300)  # fmt: skip
    assert p.returncode == 0 and "trained" in p.stdout, p.stderr[-2000:]
