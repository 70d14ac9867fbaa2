"""The model file is the expectation, proved by training: for each seed case dsdoctor finds
against a real model file (Keras saved with ``model.save``; a PyTorch module exported with
``torch.onnx.export`` and saved with ``safetensors``; a transformers ``save_pretrained`` folder),
one training step on the unrepaired data fails the way the finding says, and one step on the
repaired data — or with a model built to the numbers the finding gives — passes.

Keras runs in a subprocess with ``KERAS_BACKEND=torch``, the backend that raises on a label or
token id out of range (jax returns NaN instead, as DS306 explains). dsdoctor never loads a
model: it reads the files; the tests rebuild the same architectures to train them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from .conftest import assert_clean_error, cli

pytest.importorskip("keras")
torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

KERAS = textwrap.dedent("""
    import json, sys
    import numpy as np
    import keras
    from keras import layers

    def classifier(classes):  # 3 features in
        return keras.Sequential([keras.Input((3,), name="features"),
                                 layers.Dense(classes, activation="softmax")])

    def tokens(vocab):  # 7 token ids
        return keras.Sequential([keras.Input((7,), dtype="int32", name="ids"),
                                 layers.Embedding(vocab, 4), layers.GRU(3),
                                 layers.Dense(1, activation="sigmoid")])

    def two():  # a functional model of two named inputs
        series = keras.Input((5, 3), name="series")
        meta = keras.Input((4,), name="meta")
        h = layers.Concatenate()([layers.GRU(4)(series), meta])
        return keras.Model([series, meta], layers.Dense(3, activation="softmax")(h))

    def step(m, loss, x, y):
        m.compile(optimizer="sgd", loss=loss)
        try:
            out = m.train_on_batch(x, y)
        except Exception as e:  # the framework's own error, as the finding predicts
            return "error: " + type(e).__name__ + ": " + str(e)
        return "ok" if np.isfinite(np.asarray(out)).all() else f"nan: {out}"
""")

ENV = {**os.environ, "KERAS_BACKEND": "torch"}


def _keras(script: str, *args: str) -> str:
    p = subprocess.run([sys.executable, "-c", KERAS + textwrap.dedent(script), *args],
                       capture_output=True, env=ENV, timeout=600, text=True)  # fmt: skip
    assert p.returncode == 0, p.stderr[-3000:]
    return p.stdout


class Net(torch.nn.Module):
    """Token ids → Embedding → GRU → Linear logits (CrossEntropyLoss takes them)."""

    def __init__(self, vocab: int, classes: int):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, 4)
        self.gru = torch.nn.GRU(4, 8, batch_first=True)
        self.classifier = torch.nn.Linear(8, classes)

    def forward(self, ids):
        out, _ = self.gru(self.embed(ids))
        return self.classifier(out[:, -1])


def _export(net: torch.nn.Module, stem: str) -> None:
    """The module as ONNX (dynamic batch axis) and as safetensors, the ordinary ways."""
    import warnings

    from safetensors.torch import save_file

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (torch.zeros(2, 7, dtype=torch.int64),), f"{stem}.onnx",
                          input_names=["ids"], output_names=["logits"],
                          dynamic_axes={"ids": {0: "batch"}}, dynamo=False)  # fmt: skip
    save_file(net.state_dict(), f"{stem}.safetensors")


def _torch_step(net: torch.nn.Module, x: np.ndarray, y: np.ndarray) -> str:
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    try:
        loss = torch.nn.functional.cross_entropy(net(torch.from_numpy(x)), torch.from_numpy(y))
        loss.backward()
        opt.step()
    except (IndexError, RuntimeError, ValueError) as e:
        return f"error: {type(e).__name__}: {e}"
    return "ok" if torch.isfinite(loss) else f"nan: {loss}"


def _findings(r) -> dict[str, dict]:
    return {f["code"]: f for f in r.json()["findings"]}


@pytest.fixture
def data(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    np.save("x3.npy", rng.random((29, 3), dtype=np.float32))
    np.save("y4.npy", np.arange(29) % 4)  # labels 0 … 3 for a model of 3 classes
    ids = rng.integers(1, 41, (29, 7))
    np.save("ids_big.npy", np.where(ids > 35, ids + 20, ids).astype(np.int64))  # up to 60 ≥ 50
    np.save("yb.npy", (np.arange(29) % 2).astype(np.float32))
    return tmp_path


def test_keras_labels_and_token_ids_fail_as_predicted_then_train(data):
    """Keras models saved with model.save: DS103 and DS306 with the model's numbers; the
    unrepaired step raises what they say; models built with the numbers the findings give
    check healthy and train."""
    _keras("""
        classifier(3).save("cls.keras")
        tokens(50).save("tok.keras")
    """)
    labels = _findings(cli("check", "--x", "x3.npy", "--y", "y4.npy", "--model", "cls.keras",
                           "--json"))["DS103"]  # fmt: skip
    assert "3 classes of cls.keras" in labels["message"], labels["message"]
    assert labels["evidence"]["model"] == "cls.keras"
    ids = _findings(cli("check", "--x", "ids_big.npy", "--y", "yb.npy", "--model", "tok.keras",
                        "--json"))["DS306"]  # fmt: skip
    assert "Embedding(input_dim=50) (tok.keras" in ids["message"], ids["message"]
    classes, vocab = labels["evidence"]["max"] + 1, ids["evidence"]["max"] + 1
    assert (classes, vocab) == (4, 61)
    out = _keras("""
        classes, vocab = int(sys.argv[1]), int(sys.argv[2])
        x, y, ids, yb = (np.load(f) for f in ("x3.npy", "y4.npy", "ids_big.npy", "yb.npy"))
        print(json.dumps({
            "labels": step(classifier(3), "sparse_categorical_crossentropy", x, y),
            "ids": step(tokens(50), "binary_crossentropy", ids.astype("int32"), yb),
        }))
        classifier(classes).save("cls_fixed.keras")
        tokens(vocab).save("tok_fixed.keras")
        print(json.dumps({
            "labels": step(classifier(classes), "sparse_categorical_crossentropy", x, y),
            "ids": step(tokens(vocab), "binary_crossentropy", ids.astype("int32"), yb),
        }))
    """, str(classes), str(vocab))  # fmt: skip
    before, after = (json.loads(line) for line in out.strip().splitlines()[-2:])
    assert before["labels"].startswith("error: IndexError") and "out of bounds" in before["labels"]
    assert before["ids"].startswith("error: IndexError") and "index out of range" in before["ids"]
    assert after == {"labels": "ok", "ids": "ok"}, after
    for x, y, model in (("x3.npy", "y4.npy", "cls_fixed.keras"),
                        ("ids_big.npy", "yb.npy", "tok_fixed.keras")):  # fmt: skip
        r = cli("check", "--x", x, "--y", y, "--model", model, "--json")
        assert not {"DS103", "DS306"} & set(_findings(r)), r.stdout


@pytest.mark.parametrize("suffix", [".onnx", ".safetensors"])
def test_pytorch_labels_and_token_ids_fail_as_predicted_then_train(data, suffix):
    """A PyTorch module exported to ONNX / saved with safetensors: DS306 (the Embedding's rows)
    and DS103 (the classifier's logits) against the file; torch raises on the unrepaired
    data as they say; a module built with the findings' numbers checks healthy and trains."""
    torch.manual_seed(0)
    net = Net(50, 3)
    _export(net, "net")
    r = cli("check", "--x", "ids_big.npy", "--y", "y4.npy", "--model", f"net{suffix}", "--json")
    found = _findings(r)
    assert {"DS103", "DS306"} <= set(found), r.stdout
    assert f"(net{suffix}" in found["DS306"]["message"], found["DS306"]["message"]
    assert found["DS306"]["evidence"]["vocab_size"] == 50
    assert found["DS103"]["evidence"]["classes"] == 3
    ids, y = np.load("ids_big.npy"), np.load("y4.npy")
    said = _torch_step(net, ids, y)
    assert said.startswith("error: IndexError") and "index out of range in self" in said, said
    inside = _torch_step(net, np.minimum(ids, 49), y)  # ids in range: the labels fail next
    assert inside.startswith("error: IndexError") and "Target 3 is out of bounds" in inside

    vocab, classes = found["DS306"]["evidence"]["max"] + 1, found["DS103"]["evidence"]["max"] + 1
    fixed = Net(vocab, classes)
    _export(fixed, "fixed")
    r = cli("check", "--x", "ids_big.npy", "--y", "y4.npy", "--model", f"fixed{suffix}", "--json")
    assert not {"DS103", "DS306"} & set(_findings(r)), r.stdout
    assert _torch_step(fixed, ids, y) == "ok"


def test_float64_into_a_float32_onnx_input_fails_as_predicted(data):
    """DS406: float64 windows into the float32 input of an exported GRU; torch refuses them
    with the error the finding names, and takes them cast as it says."""
    torch.manual_seed(0)

    class Series(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = torch.nn.GRU(3, 8, batch_first=True)
            self.head = torch.nn.Linear(8, 4)

        def forward(self, x):
            return self.head(self.gru(x)[0][:, -1])

    net = Series()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (torch.zeros(2, 5, 3),), "gru.onnx", input_names=["x"],
                          dynamic_axes={"x": {0: "batch"}}, dynamo=False)  # fmt: skip
    x = np.random.default_rng(0).normal(size=(29, 5, 3))  # float64, as numpy makes it
    np.save("x64.npy", x)
    np.save("y.npy", np.arange(29) % 4)
    r = cli("check", "--x", "x64.npy", "--y", "y.npy", "--model", "gru.onnx", "--json")
    f = _findings(r)["DS406"]
    assert f["evidence"]["expected"] == "float32" and f["evidence"]["actual"] == "float64"
    assert "x.astype('float32')" in f["message"] and "gru.onnx input `x`" in f["message"]
    said = _torch_step(net, x, np.load("y.npy"))
    assert said.startswith("error: ValueError") and "dtype" in said, said
    np.save("x32.npy", x.astype(f["evidence"]["expected"]))
    r = cli("check", "--x", "x32.npy", "--y", "y.npy", "--model", "gru.onnx", "--json")
    assert "DS406" not in _findings(r), r.stdout
    assert _torch_step(net, np.load("x32.npy"), np.load("y.npy")) == "ok"


@pytest.fixture
def bert(data) -> Path:
    """A tiny BERT classifier as transformers saves it: config.json + model.safetensors."""
    transformers = pytest.importorskip("transformers")
    cfg = transformers.BertConfig(vocab_size=100, hidden_size=16, num_hidden_layers=1,
                                  num_attention_heads=2, intermediate_size=32,
                                  max_position_embeddings=32, num_labels=3)  # fmt: skip
    torch.manual_seed(0)
    transformers.BertForSequenceClassification(cfg).save_pretrained("bert")
    rng = np.random.default_rng(1)
    np.save("ids_long.npy", rng.integers(1, 100, (12, 40)))  # 40 tokens, 32 positions
    np.save("yl.npy", np.arange(12) % 3)
    return data / "bert"


def _bert_step(folder: Path, ids: np.ndarray, y: np.ndarray) -> str:
    import transformers

    model = transformers.AutoModelForSequenceClassification.from_pretrained(folder)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    try:
        out = model(input_ids=torch.from_numpy(ids), labels=torch.from_numpy(y))
        out.loss.backward()
        opt.step()
    except (IndexError, RuntimeError) as e:
        return f"error: {type(e).__name__}: {e}"
    return "ok" if torch.isfinite(out.loss) else f"nan: {out.loss}"


def test_sequences_longer_than_max_position_embeddings(bert):
    """DS307 against a save_pretrained folder given as --model: 40 tokens for 32 positions.
    transformers fails as the finding says; repair keeps the first 32 tokens, which check
    finds healthy and BERT trains on."""
    r = cli("check", "--x", "ids_long.npy", "--y", "yl.npy", "--model", "bert", "--json")
    f = _findings(r)["DS307"]
    assert f["message"] == ("x: its 12 rows are 40 timesteps long, more than the 32 positions "
                            "of bert config.json max_position_embeddings; keep the first 32 "
                            "tokens of each row, or split rows into windows"), f["message"]  # fmt: skip
    assert f["evidence"]["model_where"] == "config.json max_position_embeddings"
    assert [fx["command"] for fx in f["fixes"]] == [
        "dsdoctor select ids_long.npy --first 32 -o ids_long.selected.npy"
    ]
    said = _bert_step(bert, np.load("ids_long.npy"), np.load("yl.npy"))
    assert said.startswith("error: RuntimeError") and "(40)" in said and "(32)" in said, said

    r = cli("repair", "--x", "ids_long.npy", "--y", "yl.npy", "--model", "bert", "--allow",
            "lossy", "-o", "fixed", "--json")  # fmt: skip
    assert r.code == 0, r.stdout + r.stderr
    again = cli("check", "--x", "fixed/ids_long.selected.npy", "--y", "yl.npy", "--model", "bert",
                "--json")  # fmt: skip
    assert again.code == 0 and not again.json()["findings"], again.stdout
    assert _bert_step(bert, np.load("fixed/ids_long.selected.npy"), np.load("yl.npy")) == "ok"


def test_ragged_sequences_longer_than_the_model(bert):
    """Variable-length token ids: DS307 counts those past 32 and pads to 32, truncating the end;
    DS301 pads to at most 32 too, never to the longest; the padded data trains."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(2)
    seqs = [rng.integers(1, 100, n).tolist() for n in (5, 40, 12, 33, 20, 31)]
    pq.write_table(pa.table({"input_ids": seqs}), "tok.parquet")
    r = cli("check", "--x", "tok.parquet:input_ids", "--model", "bert", "--json")
    found = _findings(r)
    evidence = found["DS307"]["evidence"]
    assert {k: evidence[k] for k in ("count", "total", "longest", "limit")} == {
        "count": 2, "total": 6, "longest": 40, "limit": 32}  # fmt: skip
    # a PyTorch model: padded at the end (--for torch), as the attention mask takes it
    fix = "dsdoctor pad tok.parquet:input_ids --maxlen 32 --for torch -o tok.input_ids.padded.npy"
    assert [fx["command"] for fx in found["DS307"]["fixes"]] == [fix]
    assert [fx["command"] for fx in found["DS301"]["fixes"]] == [fix]  # no bucket past 32
    assert "of at most 32 (bert config.json" in found["DS301"]["message"]
    r = cli("repair", "--x", "tok.parquet:input_ids", "--model", "bert", "--allow", "lossy",
            "-o", "fixed", "--json")  # fmt: skip
    assert r.code == 0, r.stdout + r.stderr
    padded = np.load("fixed/tok.input_ids.padded.npy")
    assert padded.shape == (6, 32) and padded[1].tolist() == seqs[1][:32]  # its start kept
    assert padded[0].tolist() == seqs[0] + [0] * 27 and padded.dtype == np.int64  # post-padded
    assert _bert_step(bert, padded, np.arange(6) % 3) == "ok"


def test_a_fixed_time_axis_cuts_longer_ragged_sequences(data):
    """A Keras input of 7 timesteps and sequences of up to 10: DS307 says how many padding to 7
    cuts (DS301 pads them); a dense (N, 10) of token ids is DS203, cut to its first 7."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    _keras('tokens(50).save("tok.keras")')
    pq.write_table(pa.table({"s": [[1, 2], [3] * 10, [4] * 7, [5] * 8]}), "r.parquet")
    r = cli("check", "--x", "r.parquet:s", "--model", "tok.keras", "--json")
    f = _findings(r)["DS307"]
    assert f["message"].startswith("x: 2 of 4 sequences are longer than the 7 timesteps of "
                                   "tok.keras input `ids` (the longest has 10)"), f["message"]  # fmt: skip
    assert "--maxlen 7 --truncating post" in f["fixes"][0]["command"]
    np.save("short.npy", np.ones((4, 7), np.int32))
    r = cli("check", "--x", "short.npy", "--model", "tok.keras", "--json")
    assert "DS307" not in _findings(r)
    # dense token ids longer than the 7 the Embedding's input takes: timesteps, not features
    np.save("long.npy", np.arange(40, dtype=np.int32).reshape(4, 10) % 50)
    found = _findings(cli("check", "--x", "long.npy", "--model", "tok.keras", "--json"))
    assert set(found) == {"DS203"}, found
    assert found["DS203"]["message"] == ("x has 10 timesteps (axis 1) but tok.keras input `ids` "
                                         "expects 7")  # fmt: skip
    assert [f["command"] for f in found["DS203"]["fixes"]] == [
        "dsdoctor select long.npy --first 7 -o long.selected.npy"
    ]


def test_one_container_for_a_two_input_model(data):
    """One --x npz/HDF5 for a functional model of two named inputs: matched by member name, or
    by order when no member is named like an input; a count that differs is exit 2. The
    matched arrays train the model."""
    import h5py

    _keras('two().save("two.keras")')
    rng = np.random.default_rng(0)
    series, meta = rng.normal(size=(10, 5, 3)).astype("f4"), rng.normal(size=(10, 4)).astype("f4")
    np.save("y.npy", np.arange(10) % 3)
    np.savez("named.npz", meta=meta, series=series)  # not in the inputs' order
    np.savez("wide.npz", series=series, meta=np.hstack([meta, meta]))
    np.savez("anon.npz", series, meta)
    np.savez("anon_wrong.npz", meta, series)  # by order: meta's 2-D into the GRU input
    np.savez("three.npz", series, meta, meta)
    np.savez("half.npz", series=series, other=meta)
    with h5py.File("two.h5", "w") as f:
        f["series"], f["meta"] = series, meta[:, :3]

    r = cli("check", "--x", "named.npz", "--y", "y.npy", "--model", "two.keras", "--json")
    assert r.code == 0 and not r.json()["findings"], r.stdout
    notes = " ".join(r.json()["model"]["notes"])
    assert "named.npz:series → `series`; named.npz:meta → `meta`" in notes, notes
    r = cli("check", "--x", "wide.npz", "--y", "y.npy", "--model", "two.keras", "--json")
    assert [f["message"] for f in r.json()["findings"]] == [
        "wide.npz:meta has 8 features (last axis) but two.keras input `meta` expects 4"
    ]
    r = cli("check", "--x", "two.h5", "--y", "y.npy", "--model", "two.keras", "--json")
    assert [f["code"] for f in r.json()["findings"]] == ["DS201"], r.stdout
    r = cli("check", "--x", "anon.npz", "--y", "y.npy", "--model", "two.keras", "--json")
    assert r.code == 0, r.stdout
    assert "anon.npz:arr_0 → `series` (by order)" in " ".join(r.json()["model"]["notes"])
    r = cli("check", "--x", "anon_wrong.npz", "--y", "y.npy", "--model", "two.keras", "--json")
    assert {"DS202"} <= set(_findings(r)), r.stdout
    assert_clean_error(cli("check", "--x", "three.npz", "--model", "two.keras"),
                       "three.npz holds 3 arrays (arr_0, arr_1, arr_2) but two.keras takes 2 "
                       "inputs (series, meta)")  # fmt: skip
    # one member named like an input: the other goes to the input left, in order
    r = cli("check", "--x", "half.npz", "--model", "two.keras", "--json")
    assert "half.npz:other → `meta` (by order)" in " ".join(r.json()["model"]["notes"]), r.stdout
    # several --x: by file stem, else in order; more --x than inputs is exit 2
    np.save("series.npy", series)
    np.save("meta.npy", meta[:, :2])
    r = cli("check", "--x", "meta.npy", "--x", "series.npy", "--y", "y.npy", "--model",
            "two.keras", "--json")  # fmt: skip
    assert [f["message"] for f in r.json()["findings"]] == [
        "meta.npy has 2 features (last axis) but two.keras input `meta` expects 4"
    ], r.stdout
    np.save("meta.npy", np.hstack([meta, meta]))  # 8 features: repair keeps the first 4
    r = cli("repair", "--x", "meta.npy", "--x", "series.npy", "--y", "y.npy", "--model",
            "two.keras", "--allow", "lossy", "-o", "fixed", "--json")  # fmt: skip
    assert r.code == 0, r.stdout + r.stderr
    r = cli("check", "--x", "fixed/meta.selected.npy", "--x", "series.npy", "--y", "y.npy",
            "--model", "two.keras", "--json")  # fmt: skip
    assert r.code == 0 and not r.json()["findings"], r.stdout
    assert "fixed/meta.selected.npy → `meta`; series.npy → `series`" in " ".join(
        r.json()["model"]["notes"]
    )
    np.save("a.npy", meta)
    np.save("b.npy", series)
    r = cli("check", "--x", "a.npy", "--x", "b.npy", "--model", "two.keras", "--json")
    assert "a.npy → `series` (by order); b.npy → `meta` (by order)" in " ".join(
        r.json()["model"]["notes"]
    )
    assert {f["code"] for f in r.json()["findings"]} == {"DS202"}, r.stdout  # swapped: said
    assert_clean_error(cli("check", "--x", "a.npy", "--x", "b.npy", "--x", "a.npy", "--model",
                           "two.keras"), "3 --x for two.keras, which takes 2 input(s)")  # fmt: skip
    r = cli("check", "--x", "b.npy", "--x", "a.npy", "--y", "y.npy", "--json")  # no model
    assert r.code == 0 and len(r.json()["arrays"]) == 3, r.stdout
    out = _keras("""
        d = np.load("named.npz")
        print(step(two(), "sparse_categorical_crossentropy",
                   {"series": d["series"], "meta": d["meta"]}, np.load("y.npy")))
    """)
    assert out.strip().splitlines()[-1] == "ok", out


def test_a_hugging_face_folder_as_the_model(bert):
    """A save_pretrained folder is read through its weights and config.json (inspect and
    check); pytorch_model.bin only through torch.load(weights_only=True): a pickled module in
    it is refused, not run; a folder holding no model file is a clean error."""
    r = cli("inspect", "bert", "--json")
    assert r.code == 0, r.stdout + r.stderr
    text = cli("inspect", "bert").stdout
    assert "max_positions     32  config.json max_position_embeddings" in text, text
    os.mkdir("bin")
    (bert / "config.json").rename("bin/config.json")
    from safetensors.torch import load_file

    torch.save(load_file(bert / "model.safetensors"), "bin/pytorch_model.bin")
    r = cli("check", "--x", "ids_long.npy", "--model", "bin", "--json")
    assert r.json()["model"]["format"] == "torch" and "DS307" in _findings(r), r.stdout
    assert r.json()["model"]["path"] == "bin"
    assert "read pytorch_model.bin in bin" in r.json()["model"]["notes"]
    os.mkdir("evil")
    Path("bin/config.json").rename("evil/config.json")
    torch.save(torch.nn.Linear(2, 2), "evil/pytorch_model.bin")
    assert_clean_error(cli("check", "--x", "ids_long.npy", "--model", "evil"),
                       "evil/pytorch_model.bin", "not unpickled")  # fmt: skip
    os.mkdir("empty")
    Path("empty/config.json").write_text("{}")
    assert_clean_error(cli("check", "--x", "ids_long.npy", "--model", "empty"),
                       "a folder holding no model file")  # fmt: skip


def test_plan_pads_to_max_position_embeddings(bert):
    """plan --model of a folder: sequences longer than the model's positions are planned padded
    to them (and said to be truncated); --maxlen still wins."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"ids": [[1] * n for n in (5, 40, 12, 33)]}), "tok.parquet")
    r = cli("plan", "tok.parquet:ids", "--model", "bert", "--batch-size", "2", "--json")
    assert r.code == 0, r.stdout + r.stderr
    plan = r.json()
    assert plan["maxlen"] == 32, plan
    assert ("maxlen 32 from bert config.json max_position_embeddings: 2 of 4 sequences are "
            "longer (up to 40) and are truncated") in plan["notes"]  # fmt: skip
    r = cli("plan", "tok.parquet:ids", "--model", "bert", "--batch-size", "2", "--maxlen", "16",
            "--json")  # fmt: skip
    assert r.json()["maxlen"] == 16


def test_a_pytorch_model_bin_calling_os_system_in_a_folder_never_runs(tmp_path):
    """A save_pretrained-looking folder whose pytorch_model.bin pickles os.system: reading the
    folder resolves no pickle global and runs nothing (an audit hook ends the process if it
    does)."""
    from .test_models_safetensors import AUDITED, SRC, Evil

    marker = tmp_path / "PWNED"
    folder = tmp_path / "hf"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "bert", "vocab_size": 100}')
    torch.save({"w": torch.zeros(2), "x": Evil(marker)}, folder / "pytorch_model.bin")
    p = subprocess.run([sys.executable, "-c", AUDITED, str(folder)], capture_output=True,
                       text=True, env={**os.environ, "PYTHONPATH": SRC}, timeout=120)  # fmt: skip
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    assert "RAN" not in p.stderr and not marker.exists()
    assert "pytorch_model.bin" in p.stdout and "not unpickled" in p.stdout, p.stdout


@pytest.mark.parametrize(
    ("have", "want", "fmt", "said"),
    [
        ("float64", "float32", "onnx", ""),
        ("float32", "int64", "torch", " (token ids saved as floats?)"),
        ("int64", "float32", "safetensors", ""),
        ("bool", "float32", "tflite", ""),
        ("int32", "int64", "onnx", ""),  # ONNX Runtime takes no other int width
        ("int32", "int64", "torch", None),  # nn.Embedding takes Int and Long
        ("float32", "float32", "onnx", None),
        ("float32", "str", "onnx", None),  # not a numeric input: not this check's
    ],
)
def test_which_dtypes_clash(have, want, fmt, said):
    from dsdoctor.checks.values import dtype_clash

    assert dtype_clash(have, want, fmt) == said
    if fmt == "tflite":
        assert "quantized" in (dtype_clash("float32", "uint8", "tflite") or "")
