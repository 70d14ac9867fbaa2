"""``check --model`` with ONNX, TFLite and MLflow files: each seed case gives the finding the
hand-typed expectation gives, in the model's own numbers and naming its tensor; the fix's
output is then trained one step by the torch module the ONNX file was exported from.

``--model`` is wired in h-mcore's part of issue 15; until that is merged these tests skip.
"""

from __future__ import annotations

import shlex
import warnings

import numpy as np
import pytest

from .conftest import cli

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

if "--model" not in cli("check", "--help").stdout:
    pytest.skip("check --model is not wired on this branch yet", allow_module_level=True)


def _export(module, example, path, name="x"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), example, str(path), dynamo=False,
                          input_names=[name], output_names=["out"],
                          dynamic_axes={name: {0: "batch"}, "out": {0: "batch"}})  # fmt: skip
    return path


class Classifier(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = torch.nn.Linear(3, 3)

    def forward(self, x):
        return torch.softmax(self.dense(x), dim=-1)


class Sequence(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = torch.nn.GRU(3, 4, batch_first=True)
        self.head = torch.nn.Linear(4, 1)

    def forward(self, x):
        out, _ = self.gru(x)
        return torch.sigmoid(self.head(out[:, -1]))


class Tokens(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = torch.nn.Embedding(100, 8)
        self.lstm = torch.nn.LSTM(8, 4, batch_first=True)
        self.head = torch.nn.Linear(4, 1)

    def forward(self, ids):
        out, _ = self.lstm(self.embedding(ids))
        return torch.sigmoid(self.head(out[:, -1]))


def _codes(r) -> dict[str, dict]:
    return {f["code"]: f for f in r.json()["findings"]}


def _check(tmp_path, model, x, y) -> dict[str, dict]:
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    r = cli("check", "--x", tmp_path / "x.npy", "--y", tmp_path / "y.npy", "--model", model,
            "--json")  # fmt: skip
    assert r.code == 1, r.stderr
    return _codes(r)


def _fix(tmp_path, finding, monkeypatch) -> np.ndarray:
    """Run the finding's first fix (a dsdoctor command) and load what it wrote."""
    argv = shlex.split(finding["fixes"][0]["command"])
    assert argv[0] == "dsdoctor"
    monkeypatch.chdir(tmp_path)
    r = cli(*argv[1:])
    assert r.code == 0, r.stderr
    return np.load(tmp_path / argv[argv.index("-o") + 1])


def _train_step(module, x, y) -> None:
    module.train()
    opt = torch.optim.SGD(module.parameters(), lr=0.1)
    out = module(torch.as_tensor(x))
    loss = (torch.nn.functional.nll_loss(torch.log(out), torch.as_tensor(y))
            if out.shape[-1] > 1 else
            torch.nn.functional.binary_cross_entropy(out[:, 0], torch.as_tensor(y, dtype=out.dtype)))  # fmt: skip
    loss.backward()
    opt.step()
    assert torch.isfinite(loss)


def test_onnx_samples_29_vs_1(tmp_path):
    model = _export(Classifier(), (torch.zeros(2, 3),), tmp_path / "m.onnx")
    found = _check(tmp_path, model, np.zeros((29, 3), np.float32), np.zeros(1, np.int64))
    assert found["DS101"]["message"] == "x has 29 samples but y has 1"


def test_onnx_4_features_vs_3_then_one_training_step(tmp_path, monkeypatch):
    module = Classifier()
    model = _export(module, (torch.zeros(2, 3),), tmp_path / "m.onnx", name="features")
    y = np.arange(29) % 3
    found = _check(tmp_path, model, np.random.default_rng(0).random((29, 4), np.float32), y)
    assert (
        found["DS201"]["message"]
        == "x has 4 features (last axis) but m.onnx input `features` expects 3"
    )
    assert found["DS201"]["evidence"]["model_where"] == "input `features`"
    _train_step(module, _fix(tmp_path, found["DS201"], monkeypatch), y)


def test_onnx_2d_into_a_gru_then_one_training_step(tmp_path, monkeypatch):
    module = Sequence()
    model = _export(module, (torch.zeros(2, 5, 3),), tmp_path / "gru.onnx")
    y = np.arange(29) % 2
    found = _check(tmp_path, model, np.random.default_rng(0).random((29, 15), np.float32), y)
    assert "gru.onnx input `x` expects 2-D samples (5, 3)" in found["DS202"]["message"]
    _train_step(module, _fix(tmp_path, found["DS202"], monkeypatch), y)


def test_onnx_labels_at_or_above_the_softmax_units(tmp_path):
    model = _export(Classifier(), (torch.zeros(2, 3),), tmp_path / "m.onnx")
    found = _check(tmp_path, model, np.zeros((29, 3), np.float32), np.arange(29) % 5)
    assert "the 3 classes of m.onnx output `out`" in found["DS103"]["message"]


def test_onnx_token_ids_past_the_embedding(tmp_path):
    model = _export(Tokens(), (torch.ones(2, 7, dtype=torch.int64),), tmp_path / "tok.onnx",
                    name="ids")  # fmt: skip
    ids = np.random.default_rng(0).integers(1, 150, (29, 7))
    found = _check(tmp_path, model, ids, np.arange(29) % 2)
    message = found["DS306"]["message"]
    assert "outside [0, 100)" in message and "`embedding.weight`" in message


def test_tflite_width_and_classes(tmp_path):
    pytest.importorskip("tflite")
    from . import tflite_schema

    model = tmp_path / "dense.tflite"
    model.write_bytes(tflite_schema.dense_softmax())
    found = _check(tmp_path, model, np.zeros((29, 4), np.float32), np.arange(29) % 4)
    message = found["DS201"]["message"]
    assert "x has 4 features (last axis) but dense.tflite input `features`" in message
    assert message.endswith("expects 3")
    assert "the 2 classes of dense.tflite output `probs`" in found["DS103"]["message"]


def test_tflite_token_ids_past_the_table(tmp_path):
    pytest.importorskip("tflite")
    from . import tflite_schema

    model = tmp_path / "tokens.tflite"
    model.write_bytes(tflite_schema.embedding_rnn(vocab=100, steps=5))
    ids = np.random.default_rng(0).integers(1, 150, (29, 5)).astype(np.int32)
    found = _check(tmp_path, model, ids, np.arange(29) % 2)
    assert "outside [0, 100)" in found["DS306"]["message"]


def test_mlflow_tensor_spec_width(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "MLmodel").write_text(
        "signature:\n"
        '  inputs: \'[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 3]},'
        ' "name": "features"}]\'\n'
    )
    found = _check(tmp_path, tmp_path / "model", np.zeros((29, 4), np.float32), np.zeros(29))
    assert "signature input `features` expects 3" in found["DS201"]["message"]
