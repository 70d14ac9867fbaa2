"""``check --model``: each seed case checked against a Keras model file gives the finding the
hand-typed expectation gives, naming the model; options given by hand override the model; the
repaired data trains the model one step (Keras, in a subprocess). The models are built by the
real Keras and saved with ``model.save``; dsdoctor never loads them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from dsdoctor import api

from .conftest import assert_clean_error, cli, run

pytest.importorskip("keras")

#: The models, one function each: the test builds and saves them, and the training step
#: rebuilds the same architecture (never ``load_model`` on a file).
MODELS = textwrap.dedent("""
    import keras
    from keras import layers

    def dense():  # 3 features in, 3 classes out
        return keras.Sequential([keras.Input((3,), name="features"),
                                 layers.Dense(8, activation="relu"),
                                 layers.Dense(3, activation="softmax")])

    def gru():  # windows of 5 timesteps of 3 features
        return keras.Sequential([keras.Input((5, 3)), layers.GRU(4),
                                 layers.Dense(3, activation="softmax")])

    def tokens():  # 7 token ids, 0 is padding
        return keras.Sequential([keras.Input((7,), dtype="int32"),
                                 layers.Embedding(50, 4, mask_zero=True), layers.LSTM(3),
                                 layers.Dense(1, activation="sigmoid")])

    def two():  # a functional model: token ids and 4 features
        tokens = keras.Input((7,), name="tokens", dtype="int32")
        features = keras.Input((4,), name="features")
        h = layers.LSTM(3)(layers.Embedding(50, 4)(tokens))
        out = layers.Dense(3, activation="softmax")(layers.Concatenate()([h, features]))
        return keras.Model([tokens, features], out)

    def sparse():  # compiled with a sparse loss: labels, not one-hot rows
        m = dense()
        m.compile(loss="sparse_categorical_crossentropy")
        return m
""")

ENV = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}


def _keras(script: str, *args: str) -> None:
    p = subprocess.run([sys.executable, "-c", MODELS + textwrap.dedent(script), *args],
                       capture_output=True, env=ENV, timeout=600, text=True)  # fmt: skip
    assert p.returncode == 0, p.stderr[-3000:]


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("models")
    _keras(
        """
        import sys
        for make in (dense, gru, tokens, sparse, two):
            make().save(f"{sys.argv[1]}/{make.__name__}.keras")
        dense().save(f"{sys.argv[1]}/dense.h5")
    """,
        str(out),
    )
    return out


@pytest.fixture
def data(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    np.save("x3.npy", rng.random((29, 3), dtype=np.float32))
    np.save("x4.npy", rng.random((29, 4), dtype=np.float32))
    np.save("x15.npy", rng.random((29, 15), dtype=np.float32))
    np.save("y.npy", np.arange(29) % 3)
    np.save("y1.npy", np.array([1]))
    np.save("y4.npy", np.arange(29) % 4)
    np.save("onehot.npy", np.eye(3, dtype=np.float32)[np.arange(29) % 3])
    ids = rng.integers(1, 41, (29, 7))
    np.save("ids_big.npy", np.where(ids > 35, ids + 20, ids).astype(np.int32))  # 56 … 60 ≥ 50
    zeros = ids.copy()
    zeros[:, 3] = 0  # a real token 0 between real tokens: mask_zero hides it
    np.save("ids_zero.npy", zeros.astype(np.int32))
    np.save("yb.npy", (np.arange(29) % 2).astype(np.float32))
    return tmp_path


#: (name, the check's arguments, the model, the hand-typed expectation, the code both give)
SEEDS = [
    ("29 vs 1", ["--x", "x3.npy", "--y", "y1.npy"], "dense.keras", ["--features", "3"], "DS101"),
    ("4 features vs 3", ["--x", "x4.npy", "--y", "y.npy"], "dense.keras", ["--features", "3"],
     "DS201"),
    ("2-D into a GRU", ["--x", "x15.npy", "--y", "y.npy"], "gru.keras",
     ["--input-shape", "(None, 5, 3)"], "DS202"),
    ("labels >= classes", ["--x", "x3.npy", "--y", "y4.npy"], "dense.keras", ["--classes", "3"],
     "DS103"),
    ("token id >= vocabulary", ["--x", "ids_big.npy", "--y", "yb.npy"], "tokens.keras",
     ["--vocab-size", "50"], "DS306"),
    ("real zeros with mask_zero", ["--x", "ids_zero.npy", "--y", "yb.npy"], "tokens.keras",
     ["--mask-value", "0"], "DS302"),
]  # fmt: skip


def _codes(r) -> set[str]:
    return {f["code"] for f in r.json()["findings"]}


@pytest.mark.parametrize(
    ("case", "args", "model", "hand", "code"), SEEDS, ids=[s[0] for s in SEEDS]
)
def test_seed_case_same_finding_as_by_hand(models, data, case, args, model, hand, code):
    by_model = cli("check", *args, "--model", models / model, "--json")
    by_hand = cli("check", *args, *hand, "--json")
    assert code in _codes(by_hand), by_hand.stdout
    assert code in _codes(by_model), by_model.stdout
    assert by_model.code == by_hand.code
    finding = next(f for f in by_model.json()["findings"] if f["code"] == code)
    if code != "DS101":  # the sample count is the data's own: no model number in it
        assert model in finding["message"], finding["message"]
        assert finding["evidence"]["model"] == str(models / model)


def test_message_names_model_input_and_numbers(models, data):
    r = cli("check", "--x", "x4.npy", "--y", "y.npy", "--model", models / "dense.keras")
    assert "x has 4 features (last axis) but dense.keras input `features` expects 3" in r.stdout
    assert "model  " in r.stdout and "expectations" in r.stdout


def test_labels_message_names_the_output_layer(models, data):
    r = cli("check", "--x", "x3.npy", "--y", "y4.npy", "--model", models / "dense.keras", "--json")
    f = next(f for f in r.json()["findings"] if f["code"] == "DS103")
    assert "the 3 classes of dense.keras layer `dense" in f["message"]
    assert f["evidence"]["model_where"].startswith("layer `dense")


def test_legacy_h5_model_gives_the_same_finding(models, data):
    r = cli("check", "--x", "x4.npy", "--y", "y.npy", "--model", models / "dense.h5", "--json")
    assert "DS201" in _codes(r)
    assert r.json()["model"]["format"] == "keras-h5"


def test_hand_given_option_overrides_the_model_and_says_so(models, data):
    r = cli("check", "--x", "x4.npy", "--y", "y.npy", "--model", models / "dense.keras",
            "--features", "4", "--json")  # fmt: skip
    assert "DS201" not in _codes(r)
    model = r.json()["model"]
    assert any(o.startswith("--features 4 overrides dense.keras input `features`")
               for o in model["overridden"]), model  # fmt: skip
    assert "input_shape" not in model["used"] and "classes" in model["used"]
    text = cli("check", "--x", "x4.npy", "--y", "y.npy", "--model", models / "dense.keras",
               "--features", "4")  # fmt: skip
    assert "--features 4 overrides dense.keras" in text.stdout


def test_json_equals_api(models, data):
    r = cli("check", "--x", "x4.npy", "--y", "y.npy", "--model", models / "dense.keras", "--json")
    report = api.check(x="x4.npy", y="y.npy", model=str(models / "dense.keras"))
    assert r.json() == json.loads(json.dumps(report.to_dict()))


def test_one_hot_targets_for_a_sparse_loss(models, data):
    r = cli("check", "--x", "x3.npy", "--y", "onehot.npy", "--model", models / "sparse.keras",
            "--json")  # fmt: skip
    f = next(f for f in r.json()["findings"] if f["code"] == "DS102")
    assert f["severity"] == "error"
    assert "sparse.keras was compiled with sparse_categorical_crossentropy" in f["message"]
    ok = cli("check", "--x", "x3.npy", "--y", "onehot.npy", "--model", models / "dense.keras",
             "--json")  # fmt: skip
    assert "DS102" not in _codes(ok)  # softmax of 3 units without a loss: one-hot (N, 3) fits


def test_one_hot_rows_for_one_sigmoid_unit(models, data):
    np.save("yb2.npy", np.eye(2, dtype=np.float32)[np.arange(29) % 2])
    r = cli("check", "--x", "ids_big.npy", "--y", "yb2.npy", "--model", models / "tokens.keras",
            "--json")  # fmt: skip
    f = next(f for f in r.json()["findings"] if f["code"] == "DS102")
    assert "has one output unit" in f["message"] and "tokens.keras layer `dense" in f["message"]


def test_spec_names_the_model(models, data):
    (data / "sub").mkdir()
    os.link(models / "dense.keras", data / "sub" / "m.keras")
    (data / "sub" / "dsdoctor.toml").write_text(
        '[check]\nmodel = "m.keras"\n\n[arrays.x]\nsource = "../x4.npy"\nrole = "x"\n'
    )
    r = cli("check", "--spec", "sub/dsdoctor.toml", "--json")
    assert "DS201" in _codes(r), r.stdout
    assert r.json()["model"]["path"] == str(Path("sub") / "m.keras")


def test_inspect_model_text_and_json(models, data):
    r = cli("inspect", models / "tokens.keras")
    assert r.code == 0, r.stderr
    assert "vocab_size        50" in r.stdout and "(None, 7) int32" in r.stdout
    j = cli("inspect", models / "tokens.keras", "x3.npy", "--json").json()
    assert j["models"][0]["vocab_size"] == 50 and j["models"][0]["mask_zero"] is True
    assert j["sources"][0]["source"].endswith("x3.npy") or j["sources"]


def test_plan_takes_the_model_time_axis(models, data):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"t": pa.array([[1, 2, 3], [4, 5, 6, 7, 8, 9, 10, 11], [1]])}),
                   "ragged.parquet")  # fmt: skip
    r = cli("plan", "ragged.parquet:t", "--batch-size", "2", "--model", models / "tokens.keras",
            "--json")  # fmt: skip
    assert r.code == 0, r.stderr
    assert any("maxlen 7 from tokens.keras" in n for n in r.json()["notes"]), r.stdout


@pytest.mark.parametrize(("name", "needle"), [("missing.keras", "no such model file"),
                                              ("model.pkl", "not a model file dsdoctor reads")])  # fmt: skip
def test_bad_model_is_a_clean_error(data, name, needle):
    if name.endswith(".pkl"):
        Path(name).write_bytes(b"\x80\x04.")
    r = cli("check", "--x", "x3.npy", "--model", name)
    assert_clean_error(r, needle)


def test_model_option_adds_no_import_at_start_up(data):
    """``--model`` is read inside the command: a command without it imports no model reader."""
    code = ("import sys; from dsdoctor.cli import main; "
            "sys.argv=['dsdoctor','check','--x','x3.npy','--features','3']\n"
            "try:\n    main()\nexcept SystemExit as e:\n    assert e.code in (0, None), e.code\n"
            "bad=[m for m in sys.modules if m.startswith(('dsdoctor.models.', 'onnx', 'keras'))]\n"
            "assert not bad, bad\nprint('checked')")  # fmt: skip
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "healthy" in p.stdout and p.stdout.strip().endswith("checked"), p.stdout


def test_repaired_data_trains_the_model_one_step(models, data):
    """repair with the model's numbers, then one Keras step on each repaired pair: the first
    three features kept, windows reshaped to (5, 3), real token 0s shifted off the mask value."""
    done = {}
    for key, x, model in (("dense", "x4.npy", "dense.keras"), ("gru", "x15.npy", "gru.keras"),
                          ("tokens", "ids_zero.npy", "tokens.keras")):  # fmt: skip
        y = "yb.npy" if key == "tokens" else "y.npy"
        r = cli("repair", "--x", x, "--y", y, "--model", models / model, "-o", f"out_{key}",
                "--allow", "lossless,lossy", "--json")  # fmt: skip
        assert r.code == 0, r.stdout + r.stderr
        written = [o for a in r.json()["applied"] for o in a.get("outputs", [])]
        xs = [o for o in written if not o.endswith(".mask.npy")]
        assert xs, r.stdout
        done[key] = (xs[0], y)
        again = cli("check", "--x", xs[0], "--y", y, "--model", models / model, "--json")
        assert not {"DS201", "DS202", "DS302"} & _codes(again), again.stdout
    _keras(
        """
        import json, sys
        import numpy as np
        done = json.loads(sys.argv[1])
        for key, (x, y) in done.items():
            m = {"dense": dense, "gru": gru, "tokens": tokens}[key]()
            sparse = "binary_crossentropy" if key == "tokens" else "sparse_categorical_crossentropy"
            m.compile(optimizer="sgd", loss=sparse)
            xa, ya = np.load(x), np.load(y)
            if key == "tokens":
                assert (xa != 0).all() and xa.max() < 50, (xa.min(), xa.max())
            out = m.train_on_batch(xa[:8], ya[:8])
            assert np.isfinite(np.asarray(out)).all(), (key, out)
    """,
        json.dumps(done),
    )


def test_a_missing_reader_library_names_the_extra(data, monkeypatch):
    """Without the reader's library (here: onnx hidden), the error names the extra to install."""
    monkeypatch.setitem(sys.modules, "onnx", None)
    for name in [m for m in sys.modules if m.startswith("dsdoctor.models.onnx")]:
        monkeypatch.delitem(sys.modules, name)
    import dsdoctor.models

    # the module imported afresh here is bound on the package too: put the old one back after,
    # or a later `from dsdoctor.models import onnx` gets a module read_model no longer uses
    monkeypatch.delattr(dsdoctor.models, "onnx", raising=False)
    Path("m.onnx").write_bytes(b"\x08\x07")
    r = cli("check", "--x", "x3.npy", "--model", "m.onnx")
    if "no reader for onnx" in r.stderr:  # this build has no ONNX reader yet
        assert_clean_error(r, "no reader for onnx files")
    else:
        assert_clean_error(r, "pip install 'dsdoctor[models]'")


def test_several_inputs_x_is_matched_by_name(models, data):
    """x named like a model input is checked against that input; the others are named as not
    checked."""
    os.link("x3.npy", "features.npy")
    r = cli("check", "--x", "features.npy", "--y", "y.npy", "--model", models / "two.keras",
            "--json")  # fmt: skip
    f = next(f for f in r.json()["findings"] if f["code"] == "DS201")
    assert "two.keras input `features` expects 4" in f["message"]
    model = r.json()["model"]
    assert model["input"] == "features"
    assert any("`tokens` not checked" in n for n in model["notes"]), model["notes"]


def test_hostile_model_through_the_cli_is_a_clean_error(data):
    """A zip bomb given to check --model: exit 2, one line, nothing written, nothing run."""
    import zipfile

    with (
        zipfile.ZipFile("bomb.keras", "w", compression=zipfile.ZIP_DEFLATED) as z,
        z.open("config.json", "w", force_zip64=True) as fh,
    ):
        for _ in range(40):
            fh.write(b" " * (1 << 20))
    before = sorted(os.listdir("."))
    r = run("check", "--x", "x3.npy", "--model", "bomb.keras")
    assert_clean_error(r, "bomb.keras", "refused")
    assert sorted(os.listdir(".")) == before


def test_model_notes_say_what_was_not_checked(models, data):
    """Float ids into an int32 input, and a model whose output gives no classes: both said."""
    np.save("idsf.npy", np.load("ids_zero.npy").astype(np.float32))
    r = cli("check", "--x", "idsf.npy", "--y", "yb.npy", "--model", models / "tokens.keras",
            "--json")  # fmt: skip
    notes = r.json()["model"]["notes"]
    assert any("x is float32 but tokens.keras input" in n and "int32" in n for n in notes), notes
    r = cli("check", "--x", "x3.npy", "--model", models / "dense.keras", "--classes", "5", "--json")
    model = r.json()["model"]
    assert "classes" not in model["used"]
    assert any(
        o.startswith("--classes 5 overrides dense.keras layer `dense") for o in model["overridden"]
    )


def test_public_api_reads_a_model(models):
    import dsdoctor

    facts = dsdoctor.read_model(models / "gru.keras")
    assert facts.inputs[0].shape == (None, 5, 3) and facts.recurrent


def test_ragged_sequences_are_padded_to_the_model_time_axis(models, data):
    import pyarrow as pa
    import pyarrow.parquet as pq

    seqs = [[3, 4], [5, 6, 7, 8, 9], [1, 2, 3]]
    pq.write_table(pa.table({"s": pa.array(seqs, pa.list_(pa.int32()))}), "r.parquet")
    r = cli("check", "--x", "r.parquet:s", "--model", models / "tokens.keras", "--json")
    f = next(f for f in r.json()["findings"] if f["code"] == "DS301")
    assert "tokens.keras input `" in f["message"] and "expects 7" in f["message"], f["message"]
    assert any("--maxlen 7" in fx["command"] for fx in f["fixes"]), f["fixes"]


def test_several_inputs_and_several_arrays_each_by_name(models, data):
    """Two arrays for a two-input model: each is checked against the input named like it, never
    against the other's shape."""
    np.save("tokens.npy", np.load("ids_zero.npy"))
    os.link("x4.npy", "features.npy")
    r = cli("check", "tokens.npy", "features.npy", "--model", models / "two.keras", "--json")
    assert not {"DS201", "DS202", "DS203"} & _codes(r), r.stdout
    notes = r.json()["model"]["notes"]
    assert any("each checked against the array named like it" in n and "tokens.npy → `tokens`" in n
               for n in notes), notes  # fmt: skip
    np.save("wide.npy", np.zeros((29, 5), np.float32))
    os.replace("wide.npy", "features.npy")  # now 5 features where the input takes 4
    r = cli("check", "tokens.npy", "features.npy", "--model", models / "two.keras", "--json")
    found = [f["message"] for f in r.json()["findings"] if f["code"] == "DS201"]
    assert found == ["features.npy has 5 features (last axis) but two.keras input `features` "
                     "expects 4"], r.stdout  # fmt: skip
