"""``triage`` names the same finding for the same mistake under every Keras 3 backend.

Keras 3 raises its errors from the backend it runs on, and the backends print them differently:
torch writes shapes as ``torch.Size([7, 3])`` and dumps the offending tensor before the shape,
jax fails an RNN cell in ``dot_general``, tensorflow in a MatMul node, and every backend wraps
the message in bold ANSI codes. Each message here is produced by the real libraries at test
time: ``tests/keras_backend_messages.py`` runs once per backend in a subprocess with
``KERAS_BACKEND`` set (numpy, jax, torch, and tensorflow when it is importable — it is not part
of the test environment: it pins ``h5py < 3.15``; ``tests/data/triage/tensorflow_*`` keeps two of
its messages). PyTorch's ``pack_padded_sequence`` message is produced in-process.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
import traceback
from pathlib import Path

import numpy as np
import pytest

from dsdoctor.checks import get_check
from dsdoctor.triage import triage

from .conftest import cli

pytestmark = pytest.mark.slow  # a Keras subprocess per backend: ~10-25 s each

BACKENDS = ("numpy", "jax", "torch", "tensorflow")
PRODUCER = Path(__file__).with_name("keras_backend_messages.py")


@functools.cache
def produced(backend: str) -> dict:
    env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu",
           "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}  # fmt: skip
    p = subprocess.run([sys.executable, str(PRODUCER)], capture_output=True, text=True, env=env,
                       timeout=600)  # fmt: skip
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout)


def messages(backend: str) -> dict[str, str | None]:
    out = produced(backend)
    if "unavailable" in out:
        pytest.skip(out["unavailable"])
    return out["messages"]


RNN_RANK = {"expected_ndim": 3, "actual_ndim": 2, "expected_shape": [None, 5, 3],
            "actual_shape": [7, 3]}  # fmt: skip
WIDTH = {"actual_features": 4, "expected_features": 3}

#: case → (finding, numbers every backend must read alike)
SAME: dict[str, tuple[str, dict]] = {
    "evaluate-cardinality": ("sample-count-mismatch", {"x_samples": 29, "y_samples": 1}),
    "fit-cardinality": ("sample-count-mismatch", {"x_samples": 29, "y_samples": 1}),
    "predict-width": ("feature-width-mismatch", WIDTH),
    "fit-width": ("feature-width-mismatch", WIDTH),
    "predict-rank": ("rank-mismatch", RNN_RANK),
    "call-rank": ("rank-mismatch", RNN_RANK),
    # tensorflow traces fit with a symbolic batch axis: "incompatible shape (None, 3)"
    "fit-rank": ("rank-mismatch", {k: v for k, v in RNN_RANK.items() if k != "actual_shape"}),
    "functional-rank": ("rank-mismatch", RNN_RANK),
    "predict-rank-4d": ("rank-mismatch", {"expected_ndim": 3, "actual_ndim": 4,
                                          "actual_shape": [2, 7, 5, 3]}),
    "functional-timesteps": ("timesteps-mismatch", {"actual_timesteps": 4,
                                                    "expected_timesteps": 5}),
    "functional-width": ("feature-width-mismatch", WIDTH),
    "gru-cell-width": ("feature-width-mismatch", WIDTH),
    "conv1d-width": ("feature-width-mismatch", WIDTH),
    "fit-one-hot-width": ("target-shape-mismatch", {"target_shape": [32, 5],
                                                    "output_shape": [32, 10], "classes": 10}),
    "evaluate-one-hot-width": ("target-shape-mismatch", {"target_shape": [32, 5],
                                                         "output_shape": [32, 10], "classes": 10}),
    "evaluate-categorical-column": ("target-shape-mismatch", {"target_shape": [32, 1],
                                                              "classes": 10}),
    "evaluate-sparse-one-hot": ("target-shape-mismatch", {"target_shape": [32, 10],
                                                          "loss": "sparse"}),
    "evaluate-sparse-label": ("label-out-of-range", {"label": 10}),
    "evaluate-object-array": ("ragged-sequences", {}),
}  # fmt: skip

#: (case, backend) that raise nothing: JAX clips an out-of-range gather index instead of
#: raising, and its functional model does not check the timesteps its GRU accepts anyway. If a
#: release starts raising, the test says so.
SILENT = {("evaluate-sparse-label", "jax"), ("functional-timesteps", "jax")}


def test_the_producer_and_the_table_name_the_same_cases():
    from .keras_backend_messages import cases

    keras = pytest.importorskip("keras")
    assert set(cases(keras, np)) == set(SAME)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", list(SAME))
def test_same_finding_on_every_backend(case, backend):
    if backend == "numpy" and case.startswith("fit-"):
        pytest.skip("the numpy backend cannot train")
    text = messages(backend)[case]
    if (case, backend) in SILENT:
        assert text is None, text[-2000:]
        return
    assert text is not None, f"{case} raised nothing on {backend}"
    finding, numbers = SAME[case]
    d = triage(text)
    assert d is not None, text[-2000:]
    assert (d.finding, d.code) == (finding, get_check(finding).code), (d, text[-1500:])
    assert {k: d.numbers.get(k) for k in numbers} == numbers, (d.numbers, d.matched)
    assert "\x1b" not in d.matched


def test_every_backend_is_read_alike():
    """Across the backends that install here, each case gives one finding and one set of
    numbers: what the message says about the data, not which backend said it."""
    seen: dict[str, set] = {}
    for backend in BACKENDS:
        out = produced(backend)
        for case, text in out.get("messages", {}).items():
            d = triage(text) if text else None
            if d is not None:
                keys = SAME[case][1]
                seen.setdefault(case, set()).add(
                    (d.finding, json.dumps({k: d.numbers.get(k) for k in keys}))
                )
    assert all(len(v) == 1 for v in seen.values()), {c: v for c, v in seen.items() if len(v) > 1}
    assert len(seen) == len(SAME)


# -- what the torch backend prints ----------------------------------------------------------------
def test_torch_rank_error_after_a_tensor_dump_in_colour():
    """The issue's message: ``Expected shape (None, 5, 3), but input has incompatible shape
    torch.Size([7, 3])``, in bold, after the input tensor printed over several lines."""
    text = messages("torch")["predict-rank"]
    assert "torch.Size([7, 3])" in text and "tensor([[" in text and "\x1b[1m" in text
    dump = text[text.index("tensor([[") : text.index("Expected shape")]
    assert dump.count("\n") >= 6  # the 7 rows of the tensor
    d = triage(text)
    assert d.finding == "rank-mismatch" and d.numbers["actual_shape"] == [7, 3]
    assert d.check_command == 'dsdoctor check --x X --input-shape "(None, 5, 3)"'
    assert d.matched.endswith("incompatible shape torch.Size([7, 3])"), d.matched


def test_torch_one_hot_width():
    text = messages("torch")["fit-one-hot-width"]
    assert "target.shape=torch.Size([32, 5]), output.shape=torch.Size([32, 10])" in text
    d = triage(text)
    assert d.finding == "target-shape-mismatch"
    assert d.check_command == "dsdoctor check --x X --y Y --classes 10"
    assert "the targets have 5 columns but the model outputs 10 classes" in d.explanation


def test_sparse_loss_given_one_hot_rows():
    d = triage(messages("torch")["evaluate-sparse-one-hot"])
    assert "sparse loss takes integer class labels of shape (32,)" in d.explanation


@pytest.mark.parametrize("backend", ["torch", "numpy"])
def test_colour_codes_as_a_log_keeps_them(backend):
    """The bold codes of Keras 3, as logs hold them: the escape character lost on the way
    (pasted from a notebook), written out in a JSON log line, or in a repr."""
    text = messages(backend)["predict-rank"]
    assert "\x1b[1m" in text
    for variant in (text.replace("\x1b", ""), json.dumps(text), repr(text)):
        d = triage(variant)
        assert d is not None and d.finding == "rank-mismatch", variant[-600:]
        assert d.numbers["actual_shape"] == [7, 3]
        assert not re.search(r"\[[01]m", d.matched), d.matched


# -- shapes as the frameworks print them ----------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_each_backends_shape_repr_is_read(backend):
    """A shape reads the same whichever way the backend writes it: a tuple (numpy, jax),
    ``torch.Size([7, 3])``, ``TensorShape([7, 3])`` (TensorFlow's repr, as a tensor's shape is
    printed inside a list or a tuple)."""
    shape = messages(backend) and produced(backend)["shape"]
    assert "7, 3" in shape
    d = triage(f"Expected shape (None, 5, 3), but input has incompatible shape {shape}")
    assert d.finding == "rank-mismatch" and d.numbers["actual_shape"] == [7, 3], shape
    d = triage(f"Arguments `target` and `output` must have the same shape. Received: "
               f"target.shape={shape}, output.shape={shape.replace('3', '10')}")  # fmt: skip
    assert d.numbers["target_shape"] == [7, 3] and d.numbers["output_shape"] == [7, 10], shape


def test_tensorflow_1_dimension_shapes():
    """TF 1 wrote each axis of a TensorShape as ``Dimension(n)`` (``Dimension(None)``)."""
    text = ("expected shape=(None, 5, 3), found shape=TensorShape([Dimension(None), "
            "Dimension(4), Dimension(3)])")  # fmt: skip
    d = triage(text)
    assert d.finding == "timesteps-mismatch" and d.numbers["actual_shape"] == [None, 4, 3]


# -- pack_padded_sequence -------------------------------------------------------------------------
def _pack_zero_length() -> str:
    torch = pytest.importorskip("torch")
    from torch.nn.utils.rnn import pack_padded_sequence

    x = torch.zeros(3, 5, 2)
    try:
        pack_padded_sequence(x, torch.tensor([5, 0, 3]), batch_first=True, enforce_sorted=False)
    except RuntimeError:
        return traceback.format_exc()
    raise AssertionError("pack_padded_sequence took a length of 0")


def test_pack_padded_sequence_zero_length_is_empty_sequences():
    text = _pack_zero_length()
    assert "Length of all samples has to be greater than 0" in text
    d = triage(text)
    assert (d.finding, d.code, d.framework) == ("empty-sequences", "DS304", "pytorch")
    assert d.check_command == "dsdoctor check --x X --mask-value 0"


def test_pack_zero_length_check_command_confirms_it(tmp_path):
    """The data that made pack_padded_sequence fail, padded with a row of zeros for the empty
    sequence, is reported empty-sequences by the command triage gives."""
    x = np.ones((3, 5, 2), np.float32)
    x[1] = 0  # the sequence of length 0: all padding
    x[2, 3:] = 0
    np.save(tmp_path / "x.npy", x)
    command = triage(_pack_zero_length()).check_command.split()
    argv = [str(tmp_path / "x.npy") if t == "X" else t for t in command]
    r = cli(*argv[1:], "--json")
    assert "empty-sequences" in {f["name"] for f in r.json()["findings"]}, r.stdout
