"""What a new user's trial of ``--model`` on third-party model files found, each case rebuilt
with the real library: image inputs checked on every axis (DS204), (N, K, 1, 1) outputs, a
Keras classifier ending Conv(K) → global pooling → Activation('softmax'), MLflow signatures
(tensor dtype, column names), PyTorch checkpoints starting with an Embedding, targets given as
a positional source, DS307's pad fix for a PyTorch model."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

from dsdoctor import api
from dsdoctor.models import read_model

from .conftest import cli


def _codes(r) -> dict[str, dict]:
    return {f["code"]: f for f in r.json()["findings"]}


def _export(module, example, path: Path, names, dynamic) -> Path:
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), example, str(path), dynamo=False,
                          input_names=names[0], output_names=names[1],
                          dynamic_axes=dynamic)  # fmt: skip
    return path


@pytest.fixture(scope="module")
def onnx_models(tmp_path_factory) -> dict[str, Path]:
    torch = pytest.importorskip("torch")
    nn = torch.nn
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("onnx")
    cnn = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 14 * 14, 5))
    # squeezenet's head: a 1x1 conv to the classes, pooled, softmax over axis 1 → (N, 10, 1, 1)
    squeeze = nn.Sequential(nn.Conv2d(3, 10, 1), nn.AdaptiveAvgPool2d(1), nn.Softmax(dim=1))
    batch = {0: "batch"}
    return {
        "cnn": _export(cnn, (torch.zeros(2, 3, 16, 16),), folder / "cnn.onnx",
                       (["image"], ["logits"]), {"image": batch, "logits": batch}),
        "squeeze": _export(squeeze, (torch.zeros(2, 3, 16, 16),), folder / "squeeze.onnx",
                           (["image"], ["probs"]), {"image": batch, "probs": batch}),
    }  # fmt: skip


@pytest.fixture
def images(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    for name, shape in (("nchw", (8, 3, 16, 16)), ("gray", (8, 1, 16, 16)),
                        ("short", (8, 3, 12, 16)), ("nhwc", (8, 16, 16, 3))):  # fmt: skip
        np.save(f"{name}.npy", rng.random(shape, dtype=np.float32))
    np.save("y.npy", np.arange(8) % 5)
    np.save("onehot10.npy", np.eye(10, dtype=np.float32)[np.arange(8) % 10])
    np.save("y12.npy", np.arange(8) + 4)  # labels 4 … 11: 10 and 11 are ≥ 10 classes
    return tmp_path


# -- 1. every fixed axis of an image input ------------------------------------------------------
@pytest.mark.parametrize(("x", "axes"), [("gray.npy", [1]), ("short.npy", [2])])
def test_every_axis_of_an_image_input_is_checked(onnx_models, images, x, axes):
    r = cli("check", "--x", x, "--y", "y.npy", "--model", onnx_models["cnn"], "--json")
    found = _codes(r)
    assert set(found) == {"DS204"}, r.stdout
    f = found["DS204"]
    assert f["evidence"]["axes"] == axes
    assert f["evidence"]["expected"] == [None, 3, 16, 16]
    axis = axes[0]
    want = (3, 16, 16)[axis - 1]
    assert "cnn.onnx input `image`" in f["message"], f["message"]
    assert f"axis {axis} is {np.load(x).shape[axis]}, expected {want}" in f["message"]
    assert "transpose" not in f["message"]


def test_channels_last_into_a_channels_first_model_gets_a_transpose_hint(onnx_models, images):
    r = cli("check", "--x", "nhwc.npy", "--model", onnx_models["cnn"], "--json")
    found = _codes(r)
    assert set(found) == {"DS204"}, r.stdout  # not DS201 "3 features but expects 16"
    f = found["DS204"]
    assert f["evidence"]["transpose"] == [0, 3, 1, 2]
    assert "x.transpose(0, 3, 1, 2)" in f["message"], f["message"]
    fixed = np.load("nhwc.npy").transpose(0, 3, 1, 2)
    np.save("fixed.npy", fixed)
    assert not _codes(cli("check", "--x", "fixed.npy", "--model", onnx_models["cnn"], "--json"))


def test_the_right_image_shape_is_healthy_and_timesteps_are_not_listed(onnx_models, images):
    r = cli("check", "--x", "nchw.npy", "--y", "y.npy", "--model", onnx_models["cnn"], "--json")
    assert r.code == 0 and not _codes(r), r.stdout
    used = r.json()["model"]["used"]
    assert "input_shape" in used and "timesteps" not in used and "features" not in used, used
    text = cli("check", "--x", "nchw.npy", "--model", onnx_models["cnn"]).stdout
    assert "timesteps" not in text, text


def test_input_shape_by_hand_compares_every_axis(images):
    r = cli("check", "--x", "gray.npy", "--input-shape", "(None, 3, 16, 16)", "--json")
    f = _codes(r)["DS204"]
    assert f["message"] == ("x has samples of shape (1, 16, 16) but the model expects "
                            "(3, 16, 16): axis 1 is 1, expected 3")  # fmt: skip
    assert r.code == 1
    ok = cli("check", "--x", "nchw.npy", "--input-shape", "(None, 3, 16, 16)", "--json")
    assert not _codes(ok), ok.stdout


def test_keras_channels_last_image_model(tmp_path, monkeypatch):
    pytest.importorskip("keras")
    monkeypatch.chdir(tmp_path)
    _keras("""
        model = keras.Sequential([keras.Input((64, 64, 1)), layers.Conv2D(7, 3),
                                  layers.GlobalAveragePooling2D(), layers.Activation("softmax")])
        model.compile(loss="categorical_crossentropy")
        model.save("fer.keras")
        model.save("fer.h5")
    """)
    np.save("x48.npy", np.random.default_rng(0).random((6, 48, 48, 1), dtype=np.float32))
    for name in ("fer.keras", "fer.h5"):
        f = _codes(cli("check", "--x", "x48.npy", "--model", name, "--json"))["DS204"]
        assert f["evidence"]["axes"] == [1, 2], f


# -- 2. (N, K, 1, 1) outputs ---------------------------------------------------------------------
def test_pooled_conv_output_gives_its_channels_as_classes(onnx_models, images):
    facts = read_model(onnx_models["squeeze"])
    assert facts.outputs[0].shape == ("batch", 10, 1, 1)
    assert facts.output_units == 10 and facts.output_activation == "softmax"
    assert facts.where["output_units"] == "output `probs` axis 1"
    assert api.model_classes(facts) == 10
    ok = cli("check", "--x", "nchw.npy", "--y", "onehot10.npy", "--model",
             onnx_models["squeeze"], "--json")  # fmt: skip
    assert not _codes(ok), ok.stdout  # no "model has one output unit"
    bad = _codes(cli("check", "--x", "nchw.npy", "--y", "y12.npy", "--model",
                     onnx_models["squeeze"], "--json"))  # fmt: skip
    assert bad["DS103"]["evidence"]["model"] == str(onnx_models["squeeze"])


# -- 6. Keras: the softmax as its own layer after pooling ------------------------------------------
ENV = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}


def _keras(script: str) -> None:
    code = "import keras\nfrom keras import layers\n" + textwrap.dedent(script)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, env=ENV, timeout=600,
                       text=True)  # fmt: skip
    assert p.returncode == 0, p.stderr[-3000:]


@pytest.mark.parametrize("last", ["Activation", "Softmax"])
def test_keras_conv_pooling_then_softmax_layer_gives_the_classes(tmp_path, monkeypatch, last):
    pytest.importorskip("keras")
    monkeypatch.chdir(tmp_path)
    act = 'layers.Activation("softmax")' if last == "Activation" else "layers.Softmax()"
    _keras(f"""
        model = keras.Sequential([keras.Input((8, 8, 1)), layers.Conv2D(4, 3),
                                  layers.Conv2D(7, 1), layers.GlobalAveragePooling2D(), {act}])
        model.compile(loss="categorical_crossentropy")
        model.save("m.keras")
        model.save("m.h5")
    """)
    np.save("x.npy", np.random.default_rng(0).random((6, 8, 8, 1), dtype=np.float32))
    np.save("sparse.npy", np.arange(6) % 7)
    np.save("onehot.npy", np.eye(7, dtype=np.float32)[np.arange(6)])
    np.save("onehot8.npy", np.eye(8, dtype=np.float32)[np.arange(6)])
    for name in ("m.keras", "m.h5"):
        facts = read_model(name)
        assert (facts.output_units, facts.output_activation) == (7, "softmax"), facts
        assert api.model_classes(facts) == 7
        assert not _codes(cli("check", "--x", "x.npy", "--y", "onehot.npy", "--model", name,
                              "--json"))  # fmt: skip
        for y in ("sparse.npy", "onehot8.npy"):
            found = _codes(cli("check", "--x", "x.npy", "--y", y, "--model", name, "--json"))
            assert "DS102" in found, (name, y, found)


def test_conv_filters_without_global_pooling_are_not_classes(tmp_path, monkeypatch):
    pytest.importorskip("keras")
    monkeypatch.chdir(tmp_path)
    _keras("""
        keras.Sequential([keras.Input((8, 8, 1)), layers.Conv2D(7, 1),
                          layers.Activation("softmax")]).save("seg.keras")
    """)
    assert read_model("seg.keras").output_units is None


# -- 3. MLflow signatures ------------------------------------------------------------------------
def _mlflow(signature, folder: Path) -> Path:
    from mlflow.models import Model

    folder.mkdir()
    Model(signature=signature).save(str(folder / "MLmodel"))
    return folder


def test_mlflow_tensor_spec_dtype_is_enforced(tmp_path, monkeypatch):
    models = pytest.importorskip("mlflow.models")
    monkeypatch.chdir(tmp_path)
    sig = models.infer_signature(np.zeros((4, 10, 4), np.float32), np.zeros((4, 6), np.float32))
    _mlflow(sig, tmp_path / "m")
    np.save("f64.npy", np.random.default_rng(0).random((5, 10, 4)))
    np.save("f32.npy", np.random.default_rng(0).random((5, 10, 4), dtype=np.float32))
    f = _codes(cli("check", "--x", "f64.npy", "--model", "m", "--json"))["DS406"]
    assert f["evidence"]["expected"] == "float32" and f["evidence"]["actual"] == "float64"
    assert "MLflow" in f["message"], f["message"]
    assert "DS406" not in _codes(cli("check", "--x", "f32.npy", "--model", "m", "--json"))
    from mlflow.models.utils import _enforce_schema  # what MLflow's predict runs first

    with pytest.raises(Exception, match="dtype"):
        _enforce_schema(np.load("f64.npy"), sig.inputs)
    _enforce_schema(np.load("f32.npy"), sig.inputs)


def test_mlflow_column_spec_compares_column_names(tmp_path, monkeypatch):
    models = pytest.importorskip("mlflow.models")
    import pandas as pd

    monkeypatch.chdir(tmp_path)
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [1, 2, 3], "c": ["x", "y", "z"]})
    _mlflow(models.infer_signature(frame, np.zeros(3)), tmp_path / "m")
    facts = read_model("m")
    assert facts.columns == (("a", "double"), ("b", "long"), ("c", "string"))
    frame.assign(t=[0, 1, 0]).to_csv("ok.csv", index=False)
    frame[["c", "a", "b"]].assign(t=[0, 1, 0]).to_csv("order.csv", index=False)
    frame.rename(columns={"c": "d"}).assign(t=[0, 1, 0]).to_csv("bad.csv", index=False)
    for name in ("ok.csv", "order.csv"):
        r = cli("check", name, "--target", "t", "--model", "m", "--json")
        found = _codes(r)
        assert "DS201" not in found and "DS701" not in found, (name, r.stdout)
    f = _codes(cli("check", "bad.csv", "--target", "t", "--model", "m", "--json"))["DS201"]
    assert f["evidence"]["missing"] == ["c"] and f["evidence"]["extra"] == ["d"]
    assert "missing c; not in the signature: d" in f["message"], f["message"]


# -- 4. PyTorch: an Embedding registered first, before a GRU -------------------------------------
@pytest.mark.parametrize("save", ["pt", "safetensors"])
def test_unnamed_embedding_before_a_recurrent_layer_is_the_vocabulary(tmp_path, monkeypatch,
                                                                       save):  # fmt: skip
    torch = pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Embedding(20, 4), torch.nn.GRU(4, 6, batch_first=True))
    if save == "pt":
        torch.save({"model_state_dict": net.state_dict(), "epoch": 3}, "m.pt")
        name = "m.pt"
    else:
        from safetensors.torch import save_file

        save_file(net.state_dict(), "m.safetensors")
        name = "m.safetensors"
    facts = read_model(name)
    assert facts.vocab_size == 20 and facts.where["vocab_size"] == "0.weight"
    assert facts.output_units is None  # 0.weight is not "the last Linear"
    assert [(i.shape, i.dtype) for i in facts.inputs] == [((None, None), "int64")]
    ids = np.random.default_rng(0).integers(0, 20, (5, 7))
    np.save("ids.npy", ids)
    net(torch.from_numpy(ids))  # the ids as they are run the model: no cast to float
    found = _codes(cli("check", "--x", "ids.npy", "--model", name, "--json"))
    assert not {"DS202", "DS406"} & set(found), found
    np.save("big.npy", ids + 10)
    assert "DS306" in _codes(cli("check", "--x", "big.npy", "--model", name, "--json"))


def test_a_linear_before_a_recurrent_layer_is_not_an_embedding(tmp_path):
    torch = pytest.importorskip("torch")
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.GRU(4, 6))
    torch.save(net.state_dict(), tmp_path / "m.pt")
    assert read_model(tmp_path / "m.pt").vocab_size is None


# -- 5. positional sources: the targets among them -----------------------------------------------
@pytest.mark.parametrize("y_name", ["y", "answers"])
def test_positional_targets_are_checked_against_the_model(tmp_path, monkeypatch, y_name):
    pytest.importorskip("keras")
    monkeypatch.chdir(tmp_path)
    _keras("""
        tokens = keras.Input((None,), name="tokens", dtype="int32")
        meta = keras.Input((3,), name="meta")
        h = layers.GRU(4)(layers.Embedding(30, 4)(tokens))
        out = layers.Dense(4, activation="softmax")(layers.Concatenate()([h, meta]))
        model = keras.Model([tokens, meta], out)
        model.compile(loss="sparse_categorical_crossentropy")
        model.save("multi.keras")
    """)
    rng = np.random.default_rng(0)
    np.save("tokens.npy", rng.integers(1, 30, (12, 7)).astype(np.int32))
    np.save("meta.npy", rng.random((12, 3), dtype=np.float32))
    np.save(f"{y_name}.npy", np.arange(12) % 9)  # labels 0 … 8 for 4 classes
    r = cli("check", "tokens.npy", "meta.npy", f"{y_name}.npy", "--model", "multi.keras", "--json")
    found = _codes(r)
    assert set(found) == {"DS103"}, r.stdout
    assert "the 4 classes of multi.keras" in found["DS103"]["message"], found["DS103"]
    notes = r.json()["model"]["notes"]
    said = " ".join(notes)
    assert f"{y_name}.npy is checked as the targets" in said, notes
    assert "not checked as one" not in said and "not matched to an input" not in said, notes
    roles = {k: v["role"] for k, v in r.json()["arrays"].items()}
    assert roles == {"tokens.npy": "x", "meta.npy": "x", f"{y_name}.npy": "y"}, roles
    np.save(f"{y_name}.npy", np.arange(12) % 4)
    ok = cli("check", "tokens.npy", "meta.npy", f"{y_name}.npy", "--model", "multi.keras", "--json")
    assert not _codes(ok), ok.stdout


# -- 9. several inputs: leftovers in order, a scalar input left out --------------------------------
@pytest.fixture(scope="module")
def vad(tmp_path_factory) -> Path:
    """silero-vad's signature: audio (batch, samples), a scalar sample rate, a state."""
    torch = pytest.importorskip("torch")

    class Vad(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.head = torch.nn.Linear(512 + 128, 1)

        def forward(self, input, sr, state):
            feats = torch.cat([input, state.mean(0)], dim=1) * sr.float()
            return torch.sigmoid(self.head(feats))

    example = (torch.zeros(4, 512), torch.tensor(16000), torch.zeros(2, 4, 128))
    return _export(Vad(), example, tmp_path_factory.mktemp("vad") / "vad.onnx",
                   (["input", "sr", "state"], ["p"]),
                   {"input": {0: "batch"}, "state": {1: "batch"}, "p": {0: "batch"}})  # fmt: skip


def test_an_array_named_like_no_input_goes_to_the_input_left(vad, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.save("audio.npy", np.zeros((16, 500), np.float32))  # 500 samples for 512
    np.save("state.npy", np.zeros((2, 16, 128), np.float32))
    r = cli("check", "--x", "audio.npy", "--x", "state.npy", "--model", vad, "--json")
    assert r.code == 1, r.stdout + r.stderr
    f = _codes(r)["DS201"]
    assert f["message"].startswith("audio.npy has 500 features"), f["message"]
    notes = " ".join(r.json()["model"]["notes"])
    assert "audio.npy → `input` (by order)" in notes and "no array for `sr`" in notes, notes


def test_an_npz_named_like_the_inputs_is_accepted_without_the_scalar_one(vad, tmp_path,
                                                                        monkeypatch):  # fmt: skip
    monkeypatch.chdir(tmp_path)
    np.savez("vad.npz", input=np.zeros((16, 500), np.float32),
             state=np.zeros((2, 16, 128), np.float32))  # fmt: skip
    r = cli("check", "--x", "vad.npz", "--model", vad, "--json")
    assert r.code == 1, r.stdout + r.stderr
    assert "DS201" in _codes(r)
    assert "no array for `sr`" in " ".join(r.json()["model"]["notes"])
    np.savez("two.npz", np.zeros((16, 512), np.float32), np.zeros((2, 16, 128), np.float32))
    ok = cli("check", "--x", "two.npz", "--model", vad, "--json")  # arr_0, arr_1: in order
    assert ok.code in (0, 1) and "DS201" not in _codes(ok), ok.stdout + ok.stderr


# -- 7/8. axes that are not the batch ------------------------------------------------------------
def test_a_float_input_of_a_recurrent_model_is_no_time_axis(tmp_path, monkeypatch):
    """silero-vad's (sequence_length, 576) LSTM input: a 3-D x is DS202 alone, not also DS203
    "10 timesteps but expects 576" (576 is the features of a float input, not token ids)."""
    torch = pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)
    _export(torch.nn.LSTM(8, 4), (torch.zeros(5, 8),), tmp_path / "lstm.onnx",
            (["input"], ["out"]), {"input": {0: "sequence_length"}})  # fmt: skip
    facts = read_model("lstm.onnx")
    assert facts.recurrent and facts.inputs[0].shape == ("sequence_length", 8)
    np.save("x3.npy", np.random.default_rng(0).random((16, 10, 8), dtype=np.float32))
    assert set(_codes(cli("check", "--x", "x3.npy", "--model", "lstm.onnx", "--json"))) == {
        "DS202"}  # fmt: skip
    np.save("x2.npy", np.random.default_rng(0).random((16, 8), dtype=np.float32))
    assert not _codes(cli("check", "--x", "x2.npy", "--model", "lstm.onnx", "--json"))


def test_a_batch_axis_not_first_is_noted_not_checked_as_samples(tmp_path, monkeypatch):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    monkeypatch.chdir(tmp_path)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])
    state = helper.make_tensor_value_info("state", TensorProto.FLOAT, [2, "batch", 4])
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g", [x, state],
                              [out])  # fmt: skip
    onnx.save(helper.make_model(graph), "m.onnx")
    notes = " ".join(read_model("m.onnx").notes)
    assert "input `state` has its batch axis `batch` at position 1" in notes, notes
    assert "fixed batch size" not in notes
    rng = np.random.default_rng(0)
    np.save("x.npy", rng.random((16, 3), dtype=np.float32))
    np.save("state.npy", rng.random((2, 16, 4), dtype=np.float32))  # as the model takes it
    r = cli("check", "--x", "x.npy", "--x", "state.npy", "--model", "m.onnx", "--json")
    assert not {"DS201", "DS202", "DS203", "DS204"} & set(_codes(r)), r.stdout
    assert "its shape is not checked" in " ".join(r.json()["model"]["notes"])


# -- 13. messages --------------------------------------------------------------------------------
def test_ds406_names_the_array_it_casts(vad, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.save("audio.npy", np.zeros((16, 512)))  # float64
    np.save("state.npy", np.zeros((2, 16, 128), np.float32))
    r = cli("check", "--x", "audio.npy", "--x", "state.npy", "--model", vad, "--json")
    f = _codes(r)["DS406"]
    assert "cast it when loading: audio.astype('float32')" in f["message"], f["message"]


def test_a_config_value_of_the_wrong_type_is_named(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file

    save_file(torch.nn.Linear(3, 2).state_dict(), str(tmp_path / "model.safetensors"))
    (tmp_path / "config.json").write_text('{"vocab_size": "abc", "num_labels": -3}')
    notes = " ".join(read_model(tmp_path).notes)
    assert "vocab_size 'abc', num_labels -3 — not a positive integer" in notes, notes


def test_inspect_says_an_input_read_from_weight_names_is_inferred(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file

    save_file(
        torch.nn.Sequential(torch.nn.Linear(10, 3)).state_dict(), str(tmp_path / "m.safetensors")
    )
    r = cli("inspect", tmp_path / "m.safetensors")
    line = next(x for x in r.stdout.splitlines() if x.strip().startswith("input"))
    assert line.rstrip().endswith("0.weight, inferred"), r.stdout
    assert r.code == 0


# -- 10. plan ------------------------------------------------------------------------------------
def test_plan_has_no_feature_width_for_images(onnx_models, images):
    r = cli("plan", "nchw.npy", "--batch-size", "4", "--model", onnx_models["cnn"], "--json")
    assert r.code == 0, r.stderr
    assert r.json()["input_width"] is None and r.json()["input_shape"] == [3, 16, 16]
    text = cli("plan", "nchw.npy", "--batch-size", "4", "--model", onnx_models["cnn"]).stdout
    assert "each sample holds 768 values" in text and "input width" not in text, text


def test_plan_warns_of_token_rows_longer_than_the_positions(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file

    monkeypatch.chdir(tmp_path)
    (tmp_path / "m").mkdir()
    save_file(torch.nn.Embedding(100, 8).state_dict(), "m/model.safetensors")
    (tmp_path / "m" / "config.json").write_text(
        '{"vocab_size": 100, "max_position_embeddings": 32, "model_type": "bert"}'
    )
    np.save("ids.npy", np.random.default_rng(0).integers(1, 100, (10, 40)))
    r = cli("plan", "ids.npy", "--batch-size", "4", "--model", "m", "--json")
    assert r.code == 0, r.stderr
    assert r.json()["input_width"] is None  # token ids: no width of features
    assert any("40 token ids, more than the 32 positions" in n for n in r.json()["notes"]), r.stdout


# -- 14. text and scalar inputs ------------------------------------------------------------------
def test_text_into_a_string_input_is_not_told_to_encode(tmp_path, monkeypatch):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    monkeypatch.chdir(tmp_path)
    x = helper.make_tensor_value_info("x", TensorProto.STRING, ["batch"])
    y = helper.make_tensor_value_info("y", TensorProto.STRING, ["batch"])
    node = helper.make_node("StringNormalizer", ["x"], ["y"], case_change_action="LOWER")
    onnx.save(helper.make_model(helper.make_graph([node], "g", [x], [y])), "norm.onnx")
    np.save("words.npy", np.array(["Monday", "tuesday", "Friday", "x"]))
    r = cli("check", "--x", "words.npy", "--model", "norm.onnx", "--json")
    assert "DS106" not in _codes(r), r.stdout
    assert any("not encoded" in n for n in r.json()["model"]["notes"]), r.json()["model"]
    assert "DS106" in _codes(cli("check", "--x", "words.npy", "--json"))  # without the model


def test_scalar_inputs_are_named_as_not_checked(tmp_path, monkeypatch):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    monkeypatch.chdir(tmp_path)
    a, b = (helper.make_tensor_value_info(n, TensorProto.FLOAT, []) for n in "ab")
    c = helper.make_tensor_value_info("c", TensorProto.FLOAT, [])
    graph = helper.make_graph([helper.make_node("Add", ["a", "b"], ["c"])], "g", [a, b], [c])
    onnx.save(helper.make_model(graph), "add.onnx")
    np.save("x.npy", np.random.default_rng(0).random((4, 3, 4), dtype=np.float32))
    notes = " ".join(
        cli("check", "--x", "x.npy", "--model", "add.onnx", "--json").json()["model"]["notes"]
    )
    assert "`a`, `b` are scalars (shape ()), with no sample axis" in notes, notes
    assert "x is checked against" not in notes


def test_timesteps_alone_say_what_rank_they_mean(images):
    f = _codes(cli("check", "--x", "nchw.npy", "--timesteps", "64", "--json"))["DS202"]
    assert f["message"].endswith("(timesteps mean samples of (timesteps, features))"), f["message"]
