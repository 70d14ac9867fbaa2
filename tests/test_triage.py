"""``dsdoctor triage``: framework error messages → the finding, the numbers, the check command.

Messages come from the real libraries where they are installed (PyTorch, NumPy, scikit-learn, JAX,
Keras 3 on its numpy backend; its other backends are in ``test_triage_backends.py``), raised and
formatted as the traceback a user would paste. Wordings
that cannot be produced here (Keras 2 / tf.keras, TensorFlow, CUDA, older releases) are recorded
under ``tests/data/triage/``, each file opening with a comment line that says where it comes from.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shlex
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "numpy")

import numpy as np
import pytest

from dsdoctor.checks import get_check
from dsdoctor.triage import PATTERNS, triage

from .conftest import assert_clean_error, cli, run

DATA = Path(__file__).parent / "data" / "triage"


# -- producing real messages ----------------------------------------------------------------------
def raised(fn: Callable[[], object]) -> str:
    """The traceback ``fn()`` prints, as a user would paste it."""
    try:
        fn()
    except Exception:
        return traceback.format_exc()
    raise AssertionError(f"{fn} raised nothing")


def warned(fn: Callable[[], object]) -> str:
    """The warnings ``fn()`` prints."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    return "".join(warnings.formatwarning(w.message, w.category, w.filename, w.lineno)
                   for w in caught)  # fmt: skip


def _torch():
    return pytest.importorskip("torch")


def _sklearn_linear():
    return pytest.importorskip("sklearn.linear_model")


def _keras():
    return pytest.importorskip("keras")


def _dense(units: int = 1, loss: str = "mse", activation: str | None = None):
    keras = _keras()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(units, activation=activation)])
    model.compile(optimizer="sgd", loss=loss)
    return model


def _rnn(layer: str = "GRU", functional: bool = False):
    """A model built for (batch, 5 timesteps, 3 features)."""
    keras = _keras()
    first = keras.layers.Conv1D(4, 2) if layer == "Conv1D" else getattr(keras.layers, layer)(8)
    if functional:
        inp = keras.Input((5, 3))
        return keras.Model(inp, first(inp))
    return keras.Sequential([keras.Input((5, 3)), first])


def torch_messages() -> dict[str, Callable[[], str]]:
    def nn():
        return _torch().nn

    def t():
        return _torch()

    return {
        "pytorch-linear": lambda: raised(lambda: nn().Linear(3, 64)(t().zeros(32, 4))),
        "pytorch-cross-entropy-batch": lambda: raised(lambda: nn().CrossEntropyLoss()(
            t().zeros(29, 10), t().zeros(1, dtype=t().long))),
        "pytorch-cross-entropy-column": lambda: raised(lambda: nn().CrossEntropyLoss()(
            t().zeros(32, 10), t().zeros(32, 1, dtype=t().long))),
        "pytorch-cross-entropy-label": lambda: raised(lambda: nn().CrossEntropyLoss()(
            t().zeros(32, 10), t().full((32,), 10, dtype=t().long))),
        "pytorch-bce-column": lambda: raised(lambda: nn().BCEWithLogitsLoss()(
            t().zeros(32, 1), t().zeros(32))),
        "pytorch-bce-deprecated-size": lambda: raised(lambda: nn().BCELoss()(
            t().full((32, 1), 0.5), t().zeros(32))),
        "pytorch-bce-samples": lambda: raised(lambda: nn().BCEWithLogitsLoss()(
            t().zeros(29), t().zeros(1))),
        "pytorch-stack": lambda: raised(lambda: t().stack([t().zeros(5), t().zeros(3)])),
        "pytorch-dataloader": lambda: raised(lambda: next(iter(t().utils.data.DataLoader(
            [t().zeros(5), t().zeros(3)], batch_size=2)))),
        "pytorch-tensor-ragged": lambda: raised(lambda: t().tensor([[1, 2], [3]])),
        "pytorch-gru-width": lambda: raised(lambda: nn().GRU(3, 8)(t().zeros(5, 7, 4))),
        "pytorch-lstm-4d": lambda: raised(lambda: nn().LSTM(3, 8)(t().zeros(2, 5, 7, 3))),
        "pytorch-conv2d-flat": lambda: raised(lambda: nn().Conv2d(1, 8, 3)(t().zeros(32, 784))),
        "pytorch-tensordataset": lambda: raised(lambda: t().utils.data.TensorDataset(
            t().zeros(29, 3), t().zeros(1))),
        "pytorch-cpu-oom": lambda: raised(lambda: t().empty(2**62, dtype=t().uint8)),
        "pytorch-pack-zero-length": lambda: raised(lambda: nn().utils.rnn.pack_padded_sequence(
            t().zeros(3, 5, 2), t().tensor([5, 0, 3]), batch_first=True, enforce_sorted=False)),
    }  # fmt: skip


def jax_messages() -> dict[str, Callable[[], str]]:
    def jnp():
        return pytest.importorskip("jax.numpy")

    return {  # Keras 3 on jax fails an RNN cell's kernel product here
        "jax-matmul": lambda: raised(lambda: jnp().zeros((7, 4)) @ jnp().zeros((3, 24))),
    }


def numpy_messages() -> dict[str, Callable[[], str]]:
    return {
        "numpy-ragged": lambda: raised(lambda: np.array([[1, 2], [3]])),
        "numpy-ragged-3d": lambda: raised(lambda: np.array([[[1, 2], [3, 4]], [[1, 2], [3]]])),
        "numpy-stack": lambda: raised(lambda: np.stack([np.zeros(5), np.zeros(3)])),
        "numpy-dot": lambda: raised(lambda: np.dot(np.zeros((32, 4)), np.zeros((3, 64)))),
        "numpy-matmul": lambda: raised(lambda: np.zeros((32, 4)) @ np.zeros((3, 64))),
        "numpy-memory": lambda: raised(lambda: np.empty((10**12,), dtype=np.float64)),
    }


def sklearn_messages() -> dict[str, Callable[[], str]]:
    rng = np.random.default_rng(0)
    x, y = rng.random((29, 3)), rng.random(29)

    def lr():
        return _sklearn_linear().LinearRegression()

    def with_nan(v):
        v = v.copy()
        v[3] = np.nan
        return v

    def forest():
        return pytest.importorskip("sklearn.ensemble").RandomForestRegressor(n_estimators=2)

    return {
        "sklearn-fit-samples": lambda: raised(lambda: lr().fit(x, np.zeros(1))),
        "sklearn-predict-width": lambda: raised(lambda: lr().fit(x, y).predict(np.zeros((5, 4)))),
        "sklearn-fit-nan": lambda: raised(lambda: lr().fit(with_nan(x), y)),
        "sklearn-fit-inf": lambda: raised(lambda: lr().fit(np.full((29, 3), np.inf), y)),
        "sklearn-fit-y-nan": lambda: raised(lambda: lr().fit(x, with_nan(y))),
        "sklearn-fit-1d": lambda: raised(lambda: lr().fit(x[:, 0], y)),
        "sklearn-fit-3d": lambda: raised(lambda: lr().fit(x.reshape(29, 3, 1), y)),
        "sklearn-logistic-2d-y": lambda: raised(lambda: _sklearn_linear().LogisticRegression().fit(
            x, rng.integers(0, 2, (29, 2)))),
        "sklearn-column-vector-y": lambda: warned(lambda: forest().fit(x, y.reshape(-1, 1))),
    }  # fmt: skip


def keras_messages() -> dict[str, Callable[[], str]]:
    z = np.zeros
    return {
        "keras3-evaluate-cardinality": lambda: raised(lambda: _dense().evaluate(
            z((29, 3)), z((1,)), verbose=0)),
        "keras3-predict-width": lambda: raised(lambda: _dense().predict(z((7, 4)), verbose=0)),
        "keras3-sequential-rank": lambda: raised(lambda: _rnn().predict(z((7, 3)), verbose=0)),
        "keras3-functional-rank": lambda: raised(lambda: _rnn(functional=True).predict(
            z((7, 3)), verbose=0)),
        "keras3-functional-timesteps": lambda: raised(lambda: _rnn(functional=True).predict(
            z((7, 4, 3)), verbose=0)),
        "keras3-functional-width": lambda: raised(lambda: _rnn(functional=True).predict(
            z((7, 5, 4)), verbose=0)),
        "keras3-conv1d-width": lambda: raised(lambda: _rnn("Conv1D").predict(
            z((7, 5, 4)), verbose=0)),
        "keras3-gru-cell-width": lambda: raised(lambda: _rnn().predict(z((7, 5, 4)), verbose=0)),
        "keras3-lstm-ndim": lambda: raised(lambda: _keras().layers.LSTM(4)(_keras().Input((3,)))),
        "keras3-conv1d-min-ndim": lambda: raised(lambda: _keras().layers.Conv1D(4, 2)(
            _keras().Input((3,)))),
        "keras3-evaluate-categorical-target": lambda: raised(lambda: _dense(
            10, "categorical_crossentropy", "softmax").evaluate(z((32, 3)), z((32, 1)), verbose=0)),
        "keras3-evaluate-sparse-label": lambda: raised(lambda: _dense(
            10, "sparse_categorical_crossentropy", "softmax").evaluate(
            z((32, 3)), np.full(32, 10), verbose=0)),
        "keras3-evaluate-sparse-one-hot": lambda: raised(lambda: _dense(
            10, "sparse_categorical_crossentropy", "softmax").evaluate(
            z((32, 3)), np.eye(10)[np.arange(32) % 10], verbose=0)),
        "keras3-object-array": lambda: raised(lambda: _dense().evaluate(
            np.array([z(3), z(2)], dtype=object), z(2), verbose=0)),
    }  # fmt: skip


PRODUCERS: dict[str, Callable[[], str]] = {
    **torch_messages(), **numpy_messages(), **sklearn_messages(), **keras_messages(),
    **jax_messages(),
}  # fmt: skip


@functools.cache
def message(case: str) -> str:
    return PRODUCERS[case]()


# -- what each message must give --------------------------------------------------------------
CHECK_XY, CHECK_X = "dsdoctor check --x X --y Y", "dsdoctor check --x X"
RNN_SHAPE = 'dsdoctor check --x X --input-shape "(None, 5, 3)"'
RANK3 = 'dsdoctor check --x X --input-shape "(None, None, None)"'

#: case → (finding, numbers (a subset of what is read), check command, framework)
REAL: dict[str, tuple[str, dict, str, str]] = {
    # PyTorch
    "pytorch-linear": ("feature-width-mismatch", {"actual_features": 4, "expected_features": 3},
                       "dsdoctor check --x X --features 3", "pytorch"),
    "pytorch-cross-entropy-batch": ("sample-count-mismatch", {"x_samples": 29, "y_samples": 1},
                                    CHECK_XY, "pytorch"),
    "pytorch-cross-entropy-column": ("target-shape-mismatch", {}, CHECK_XY, "pytorch"),
    "pytorch-cross-entropy-label": ("label-out-of-range", {"label": 10},
                                    "dsdoctor check --y Y --classes N", "pytorch"),
    "pytorch-bce-column": ("target-shape-mismatch", {"target_shape": [32], "output_shape": [32, 1]},
                           CHECK_XY, "pytorch"),
    "pytorch-bce-deprecated-size": ("target-shape-mismatch", {"target_shape": [32],
                                    "output_shape": [32, 1]}, CHECK_XY, "pytorch"),
    "pytorch-bce-samples": ("sample-count-mismatch", {"x_samples": 29, "y_samples": 1}, CHECK_XY,
                            "pytorch"),
    "pytorch-stack": ("ragged-sequences", {"entries": [0, 1], "shapes": [[5], [3]]}, CHECK_X,
                      "pytorch"),
    "pytorch-dataloader": ("ragged-sequences", {"entries": [0, 1], "shapes": [[5], [3]]}, CHECK_X,
                           "pytorch"),
    "pytorch-tensor-ragged": ("ragged-sequences", {"expected_length": 2, "actual_length": 1},
                              CHECK_X, "pytorch"),
    "pytorch-gru-width": ("feature-width-mismatch", {"actual_features": 4, "expected_features": 3},
                          "dsdoctor check --x X --features 3", "pytorch"),
    "pytorch-lstm-4d": ("rank-mismatch", {"expected_ndim": 3, "actual_ndim": 4}, RANK3, "pytorch"),
    "pytorch-conv2d-flat": ("rank-mismatch", {"expected_ndim": 4, "actual_ndim": 2,
                                              "actual_shape": [32, 784]},
                            'dsdoctor check --x X --input-shape "(None, None, None, None)"',
                            "pytorch"),
    "pytorch-tensordataset": ("sample-count-mismatch", {}, CHECK_XY, "pytorch"),
    "pytorch-cpu-oom": ("batch-memory", {"requested_bytes": 2**62},
                        "dsdoctor check --x X --batch-size B --memory M", "pytorch"),
    "pytorch-pack-zero-length": ("empty-sequences", {}, "dsdoctor check --x X --mask-value 0",
                                 "pytorch"),
    # JAX
    "jax-matmul": ("feature-width-mismatch", {"actual_features": 4, "expected_features": 3},
                   "dsdoctor check --x X --features 3", "jax"),
    # NumPy
    "numpy-ragged": ("ragged-sequences", {"regular_ndim": 1, "regular_shape": [2]}, CHECK_X,
                     "numpy"),
    "numpy-ragged-3d": ("ragged-sequences", {"regular_ndim": 2, "regular_shape": [2, 2]}, CHECK_X,
                        "numpy"),
    "numpy-stack": ("ragged-sequences", {}, CHECK_X, "numpy"),
    "numpy-dot": ("feature-width-mismatch", {"actual_features": 4, "expected_features": 3},
                  "dsdoctor check --x X --features 3", "numpy"),
    "numpy-matmul": ("feature-width-mismatch", {"actual_features": 4, "expected_features": 3},
                     "dsdoctor check --x X --features 3", "numpy"),
    "numpy-memory": ("batch-memory", {"tensor_shape": [10**12], "dtype": "float64"},
                     "dsdoctor check --x X --batch-size B --memory M", "numpy"),
    # scikit-learn
    "sklearn-fit-samples": ("sample-count-mismatch", {"x_samples": 29, "y_samples": 1}, CHECK_XY,
                            "sklearn"),
    "sklearn-predict-width": ("feature-width-mismatch", {"actual_features": 4,
                                                         "expected_features": 3},
                              "dsdoctor check --x X --features 3", "sklearn"),
    "sklearn-fit-nan": ("missing-values", {"array": "X", "values": "NaN"}, CHECK_X, "sklearn"),
    "sklearn-fit-inf": ("non-finite-values", {"array": "X", "values": "infinity",
                                              "dtype": "float64"}, CHECK_X, "sklearn"),
    "sklearn-fit-y-nan": ("missing-values", {"array": "y", "values": "NaN"},
                          "dsdoctor check --y Y", "sklearn"),
    "sklearn-fit-1d": ("rank-mismatch", {"expected_ndim": 2, "actual_ndim": 1},
                       'dsdoctor check --x X --input-shape "(None, None)"', "sklearn"),
    "sklearn-fit-3d": ("rank-mismatch", {"expected_ndim": 2, "actual_ndim": 3},
                       'dsdoctor check --x X --input-shape "(None, None)"', "sklearn"),
    "sklearn-logistic-2d-y": ("target-shape-mismatch", {"target_shape": [29, 2]}, CHECK_XY,
                              "sklearn"),
    "sklearn-column-vector-y": ("target-shape-mismatch", {}, CHECK_XY, "sklearn"),
    # Keras 3 (numpy backend)
    "keras3-evaluate-cardinality": ("sample-count-mismatch", {"x_samples": 29, "y_samples": 1},
                                    CHECK_XY, "keras"),
    "keras3-predict-width": ("feature-width-mismatch", {"actual_features": 4,
                                                        "expected_features": 3},
                             "dsdoctor check --x X --features 3", "keras"),
    "keras3-sequential-rank": ("rank-mismatch", {"expected_ndim": 3, "actual_ndim": 2,
                                                 "expected_shape": [None, 5, 3],
                                                 "actual_shape": [7, 3]}, RNN_SHAPE, "keras"),
    "keras3-functional-rank": ("rank-mismatch", {"expected_ndim": 3, "actual_ndim": 2,
                                                 "expected_shape": [None, 5, 3],
                                                 "actual_shape": [7, 3]}, RNN_SHAPE, "keras"),
    "keras3-functional-timesteps": ("timesteps-mismatch", {"actual_timesteps": 4,
                                                           "expected_timesteps": 5}, RNN_SHAPE,
                                    "keras"),
    "keras3-functional-width": ("feature-width-mismatch", {"actual_features": 4,
                                                           "expected_features": 3}, RNN_SHAPE,
                                "keras"),
    "keras3-conv1d-width": ("feature-width-mismatch", {"actual_features": 4,
                                                       "expected_features": 3,
                                                       "actual_shape": [7, 5, 4]},
                            "dsdoctor check --x X --features 3", "keras"),
    # the numpy backend's GRU cell fails in NumPy's matmul: the message is NumPy's
    "keras3-gru-cell-width": ("feature-width-mismatch", {"actual_features": 4,
                                                         "expected_features": 3},
                              "dsdoctor check --x X --features 3", "numpy"),
    "keras3-lstm-ndim": ("rank-mismatch", {"expected_ndim": 3, "actual_ndim": 2,
                                           "actual_shape": [None, 3]}, RANK3, "keras"),
    "keras3-conv1d-min-ndim": ("rank-mismatch", {"expected_min_ndim": 3, "actual_ndim": 2},
                               RANK3, "keras"),
    "keras3-evaluate-categorical-target": ("target-shape-mismatch", {"target_shape": [32, 1],
                                                                     "output_shape": [32, 10],
                                                                     "classes": 10},
                                           "dsdoctor check --x X --y Y --classes 10", "keras"),
    "keras3-evaluate-sparse-label": ("label-out-of-range", {"label": 10, "classes": 10},
                                     "dsdoctor check --y Y --classes 10", "numpy"),
    "keras3-evaluate-sparse-one-hot": ("target-shape-mismatch", {"target_shape": [32, 10],
                                                                 "loss": "sparse", "classes": 10},
                                       "dsdoctor check --x X --y Y --classes 10", "keras"),
    "keras3-object-array": ("ragged-sequences", {}, CHECK_X, "keras"),
}  # fmt: skip

#: recorded file → (finding, numbers, check command, framework)
RECORDED: dict[str, tuple[str, dict, str, str]] = {
    "keras2_cardinality.txt": ("sample-count-mismatch", {"x_samples": 29, "y_samples": 1},
                               CHECK_XY, "keras"),
    "keras2_cardinality_tf23.txt": ("sample-count-mismatch", {"x_samples": 29, "y_samples": 1,
                                                              "sample_weight_samples": 29},
                                    CHECK_XY, "keras"),
    "keras2_input_target_samples.txt": ("sample-count-mismatch", {"x_samples": 29,
                                                                  "y_samples": 1},
                                        CHECK_XY, "keras"),
    "keras2_axis_value.txt": ("feature-width-mismatch", {"actual_features": 4,
                                                         "expected_features": 3,
                                                         "actual_shape": [None, 4]},
                              "dsdoctor check --x X --features 3", "keras"),
    "keras2_ndim_tf24.txt": ("rank-mismatch", {"expected_ndim": 3, "actual_ndim": 2,
                                               "actual_shape": [None, 3]}, RANK3, "keras"),
    "keras2_expected_shape.txt": ("rank-mismatch", {"expected_ndim": 3, "actual_ndim": 2,
                                                    "expected_shape": [None, 5, 3],
                                                    "actual_shape": [None, 3]}, RNN_SHAPE,
                                  "keras"),
    "keras2_model_constructed_warning.txt": ("timesteps-mismatch", {"actual_timesteps": 7,
                                                                    "expected_timesteps": 5},
                                             RNN_SHAPE, "keras"),
    "keras2_error_when_checking_input.txt": ("rank-mismatch", {"expected_ndim": 3,
                                                               "actual_ndim": 2,
                                                               "actual_shape": [7, 3]},
                                             RANK3, "keras"),
    "keras2_error_when_checking_target.txt": ("target-shape-mismatch", {"classes": 10},
                                              "dsdoctor check --x X --y Y --classes 10", "keras"),
    "keras2_shapes_incompatible.txt": ("target-shape-mismatch", {"target_shape": [None, 1],
                                                                 "output_shape": [None, 10],
                                                                 "classes": 10},
                                       "dsdoctor check --x X --y Y --classes 10", "keras"),
    "tensorflow_label_range.txt": ("label-out-of-range", {"label": 10, "classes": 10},
                                   "dsdoctor check --y Y --classes 10", "tensorflow"),
    "tensorflow_logits_labels.txt": ("sample-count-mismatch", {"x_samples": 32, "y_samples": 1},
                                     CHECK_XY, "tensorflow"),
    "tensorflow_object_list.txt": ("ragged-sequences", {"object_type": "list"}, CHECK_X,
                                   "tensorflow"),
    "tensorflow_oom.txt": ("batch-memory", {"tensor_shape": [32, 512, 512, 64], "batch_size": 32,
                                            "requested_bytes": 2 * 2**30},
                           "dsdoctor check --x X --batch-size 32 --memory M", "tensorflow"),
    "pytorch_cuda_oom.txt": ("batch-memory", {"requested_bytes": 2 * 2**30},
                             "dsdoctor check --x X --batch-size B --memory 7.79GiB", "pytorch"),
    "pytorch_cuda_oom_old.txt": ("batch-memory", {"requested_bytes": 2 * 2**30},
                                 "dsdoctor check --x X --batch-size B --memory 7.79GiB",
                                 "pytorch"),
    "pytorch_rnn_dimensions.txt": ("rank-mismatch", {"expected_ndim": 3, "actual_ndim": 2},
                                   RANK3, "pytorch"),
    "pytorch_cuda_assert.txt": ("label-out-of-range", {}, "dsdoctor check --y Y --classes N",
                                "pytorch"),
    "sklearn_nan_old.txt": ("non-finite-values", {"values": "NaN, infinity", "dtype": "float64"},
                            CHECK_XY, "sklearn"),
    "sklearn_n_features_old.txt": ("feature-width-mismatch", {"actual_features": 4,
                                                              "expected_features": 3},
                                   "dsdoctor check --x X --features 3", "sklearn"),
    "sklearn_dim_old.txt": ("rank-mismatch", {"expected_ndim": 2, "actual_ndim": 3},
                            'dsdoctor check --x X --input-shape "(None, None)"', "sklearn"),
    "numpy_ragged_old.txt": ("ragged-sequences", {}, CHECK_X, "numpy"),
    "numpy_ragged_warning.txt": ("ragged-sequences", {}, CHECK_X, "numpy"),
    "tensorflow_sparse_one_hot.txt": ("target-shape-mismatch", {"target_shape": [32, 10],
                                                                "output_shape": [32, 10],
                                                                "loss": "sparse"},
                                      "dsdoctor check --x X --y Y --classes 10", "keras"),
    "tensorflow_matmul_dimensions.txt": ("feature-width-mismatch", {"actual_features": 4,
                                                                    "expected_features": 3},
                                         "dsdoctor check --x X --features 3", "tensorflow"),
    "tensorflow_matrix_size_incompatible.txt": ("feature-width-mismatch", {"actual_features": 4,
                                                                           "expected_features": 3},
                                                "dsdoctor check --x X --features 3",
                                                "tensorflow"),
}  # fmt: skip

#: short texts: a log line cut after the headline
INLINE: dict[str, tuple[str, tuple[str, dict, str, str]]] = {
    "cardinality-headline-only": ("ValueError: Data cardinality is ambiguous",
                                  ("sample-count-mismatch", {}, CHECK_XY, "keras")),
}  # fmt: skip

#: numbers an explanation must quote
HEADLINE = {"x_samples", "y_samples", "actual_features", "expected_features", "actual_ndim",
            "expected_ndim", "actual_timesteps", "expected_timesteps", "label", "classes"}  # fmt: skip

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _flat(text: str) -> str:
    return " ".join(_ANSI.sub("", text).split())


def assert_diagnosis(text: str, expected: tuple[str, dict, str, str]) -> None:
    finding, numbers, command, framework = expected
    d = triage(text)
    assert d is not None, text
    assert (d.finding, d.framework, d.check_command) == (finding, framework, command), d
    assert {k: d.numbers.get(k) for k in numbers} == numbers, d.numbers
    assert d.code == get_check(finding).code
    assert d.matched and _flat(d.matched) in _flat(text)
    for key in HEADLINE & d.numbers.keys():
        assert re.search(rf"(?<![\d.]){d.numbers[key]}(?!\.?\d)", d.explanation), (key, d)
    assert d.to_dict() == json.loads(json.dumps(d.to_dict()))


# -- the messages -----------------------------------------------------------------------------
@pytest.mark.parametrize("case", list(REAL))
def test_real_message(case):
    assert_diagnosis(message(case), REAL[case])


@pytest.mark.parametrize("name", list(RECORDED))
def test_recorded_message(name):
    text = (DATA / name).read_text()
    first = text.splitlines()[0]
    assert first.startswith("# ") and len(first) > 20, "a recorded message says where it is from"
    assert_diagnosis(text, RECORDED[name])


@pytest.mark.parametrize("case", list(INLINE))
def test_inline_message(case):
    text, expected = INLINE[case]
    assert_diagnosis(text, expected)


def test_every_recorded_file_is_tested():
    assert sorted(p.name for p in DATA.glob("*.txt")) == sorted(RECORDED)


def test_every_real_producer_is_tested():
    assert set(PRODUCERS) == set(REAL)


def test_every_pattern_is_exercised_and_names_a_finding():
    ids = [p.id for p in PATTERNS]
    assert len(ids) == len(set(ids))
    for p in PATTERNS:
        get_check(p.finding)  # a finding the registry knows
    texts = [(DATA / n).read_text() for n in RECORDED] + [t for t, _ in INLINE.values()]
    for case in REAL:
        try:
            texts.append(message(case))
        except pytest.skip.Exception:
            pytest.skip(f"{case}: its library is not installed")
    hit = {d.pattern for d in map(triage, texts) if d is not None}
    assert hit == set(ids), set(ids) - hit


def test_every_family_is_covered():
    families = {f for f, *_ in [*REAL.values(), *RECORDED.values()]}
    assert families >= {
        "sample-count-mismatch", "feature-width-mismatch", "rank-mismatch", "timesteps-mismatch",
        "ragged-sequences", "target-shape-mismatch", "label-out-of-range", "non-finite-values",
        "missing-values", "batch-memory", "empty-sequences",
    }  # fmt: skip


# -- how a traceback is read ----------------------------------------------------------------------
def test_the_last_matching_line_wins():
    """A chained traceback: the loss failed on the batch sizes, then the handler failed on the
    width. The final exception is what stopped the program."""
    torch = _torch()

    def chained():
        try:
            torch.nn.CrossEntropyLoss()(torch.zeros(29, 10), torch.zeros(1, dtype=torch.long))
        except ValueError:
            torch.nn.Linear(3, 64)(torch.zeros(32, 4))

    text = raised(chained)
    assert "During handling of the above exception" in text
    assert triage(text).finding == "feature-width-mismatch"
    first = text.split("During handling")[0]
    assert triage(first).finding == "sample-count-mismatch"
    assert triage(message("pytorch-linear") + message("sklearn-fit-samples")).finding == (
        "sample-count-mismatch"
    )


def test_windows_line_ends_and_terminal_colours():
    text = message("keras3-sequential-rank")
    assert "\x1b[" in text  # Keras 3 prints the message in bold
    d = triage(text.replace("\n", "\r\n"))
    assert d.finding == "rank-mismatch" and "\x1b" not in d.matched and "\r" not in d.matched


@pytest.mark.parametrize(
    "text",
    ["", "hello world", "Epoch 1/10\n32/32 [====] - loss: 0.25",
     "Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>\nKeyError: 'lr'",
     "Expected shape (None, 224, 224, 3), but input has incompatible shape (8, 200, 224, 3)"],
    ids=["empty", "prose", "training-log", "unrelated-traceback", "image-height"],
)  # fmt: skip
def test_unknown_text_names_nothing(text):
    assert triage(text) is None


# -- the check command confirms the finding in real files ----------------------------------------
#: case → the broken arrays the message came from (x, y), and values for the placeholders
CONFIRM: dict[str, tuple[np.ndarray | None, np.ndarray | None]] = {
    "sklearn-fit-samples": (np.zeros((29, 3)), np.zeros(1)),
    "pytorch-linear": (np.zeros((32, 4)), None),
    "keras3-sequential-rank": (np.zeros((7, 3)), None),
    "keras3-functional-timesteps": (np.zeros((7, 4, 3)), None),
    "keras3-functional-width": (np.zeros((7, 5, 4)), None),
    "sklearn-fit-1d": (np.zeros(29), None),
    "pytorch-lstm-4d": (np.zeros((2, 5, 7, 3)), None),
    "keras3-evaluate-categorical-target": (np.zeros((32, 3)), np.zeros((32, 1))),
    "pytorch-cross-entropy-label": (None, np.full(32, 10)),
    "keras3-evaluate-sparse-label": (None, np.full(32, 10)),
    "sklearn-fit-nan": (np.array([[0.0, np.nan, 1.0]] * 4), None),
    "sklearn-fit-y-nan": (None, np.array([0.0, np.nan])),
    "pytorch-cpu-oom": (np.zeros((64, 3)), None),
}
PLACEHOLDERS = {"N": "10", "B": "32", "M": "512B"}


@pytest.mark.parametrize("case", list(CONFIRM))
def test_check_command_confirms_the_finding(case, tmp_path):
    d = triage(message(case))
    x, y = CONFIRM[case]
    files = {}
    for name, arr in (("X", x), ("Y", y)):
        if arr is not None:
            np.save(tmp_path / f"{name.lower()}.npy", arr)
            files[name] = str(tmp_path / f"{name.lower()}.npy")
    argv = [files.get(t, PLACEHOLDERS.get(t, t)) for t in shlex.split(d.check_command)]
    assert argv[:2] == ["dsdoctor", "check"]
    r = cli(*argv[1:], "--json")
    assert d.finding in {f["name"] for f in r.json()["findings"]}, (d.check_command, r.stdout)


def test_check_command_confirms_ragged_sequences(tmp_path):
    np.savez(tmp_path / "seq.npz", x=np.arange(8.0), x_lengths=np.array([5, 3]))
    d = triage(message("numpy-ragged"))
    argv = [str(tmp_path / "seq.npz:x") if t == "X" else t for t in shlex.split(d.check_command)]
    r = cli(*argv[1:], "--json")
    assert "ragged-sequences" in {f["name"] for f in r.json()["findings"]}


# -- the command line -----------------------------------------------------------------------------
def test_cli_text_names_the_finding(tmp_path):
    path = tmp_path / "traceback.txt"
    path.write_text(message("sklearn-fit-samples"))
    r = cli("triage", path)
    assert r.code == 0, r
    code = get_check("sample-count-mismatch").code
    assert r.stdout.splitlines()[0] == f"{code} sample-count-mismatch  (sklearn)"
    assert "The inputs have 29 samples but the targets have 1" in r.stdout
    assert "x_samples=29, y_samples=1" in r.stdout
    assert "confirm: dsdoctor check --x X --y Y" in r.stdout
    assert "inconsistent numbers of samples: [29, 1]" in r.stdout


def test_cli_json_equals_the_api(tmp_path):
    text = message("keras3-sequential-rank")
    path = tmp_path / "traceback.txt"
    path.write_text(text)
    r = cli("triage", path, "--json")
    assert r.code == 0
    assert r.json() == triage(text).to_dict()
    assert r.json()["numbers"]["expected_shape"] == [None, 5, 3]


def test_cli_quiet_is_one_line(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text(message("pytorch-linear"))
    r = cli("triage", path, "-q")
    assert r.stdout.strip().splitlines() == [
        f"{get_check('feature-width-mismatch').code} feature-width-mismatch: "
        "dsdoctor check --x X --features 3"
    ]


def test_cli_unknown_text_exits_1(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("KeyError: 'learning_rate'\n")
    r = cli("triage", path)
    assert r.code == 1 and "no known framework error message" in r.stdout
    r = cli("triage", path, "--json")
    assert r.code == 1
    assert r.json()["finding"] is None and r.json()["check_command"] is None


def test_cli_missing_file_is_a_clean_error(tmp_path):
    assert_clean_error(run("triage", tmp_path / "missing.txt"), "missing.txt", "no such file")
    assert_clean_error(run("triage", tmp_path), "is a directory")


def test_cli_help_has_examples():
    r = cli("triage", "--help")
    assert r.code == 0
    assert "Examples:" in r.stdout and "| dsdoctor triage" in r.stdout
    assert "dsdoctor triage traceback.txt --json" in r.stdout


def test_subprocess_reads_standard_input():
    text = message("pytorch-cross-entropy-batch").encode()
    r = run("triage", "-", stdin=text)
    assert r.code == 0 and r.stderr == "", r
    assert "sample-count-mismatch" in r.stdout and "x_samples=29, y_samples=1" in r.stdout
    r = run("triage", "--json", stdin=text)  # no argument reads standard input too
    assert r.code == 0 and r.json()["numbers"] == {"x_samples": 29, "y_samples": 1}
    r = run("triage", "-", stdin=b"all good: loss 0.01\n")
    assert r.code == 1 and "no known framework error message" in r.stdout
    r = run("triage", "-", "--json", stdin=b"")
    assert r.code == 1 and r.json()["finding"] is None
