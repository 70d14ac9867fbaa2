"""Produce Keras 3's error messages on one backend: run as a script with ``KERAS_BACKEND`` set
(``tests/test_triage_backends.py`` runs it once per backend in a subprocess, since Keras reads the
backend once, on import).

    KERAS_BACKEND=torch python tests/keras_backend_messages.py [CASE ...]

prints one JSON object: ``{"backend": …, "versions": {…}, "messages": {case: traceback or
null}, "shape": …}`` (null: the call raised nothing on this backend; ``shape``: the repr of a
(7, 3) tensor's shape on this backend), or ``{"unavailable": reason}`` when the
backend's library is not installed. Each case is what a user does wrong, written once for every
backend; ``fit`` cases are not run on the numpy backend, which cannot train.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable


def cases(keras, np) -> dict[str, Callable[[], object]]:
    z = np.zeros

    def dense(units: int = 1, loss: str = "mse", activation: str | None = None):
        model = keras.Sequential(
            [keras.Input((3,)), keras.layers.Dense(units, activation=activation)]
        )
        model.compile(optimizer="sgd", loss=loss)
        return model

    def rnn(layer: str = "GRU", functional: bool = False):
        """A model built for (batch, 5 timesteps, 3 features)."""
        first = keras.layers.Conv1D(4, 2) if layer == "Conv1D" else getattr(keras.layers, layer)(8)
        if functional:
            inp = keras.Input((5, 3))
            model = keras.Model(inp, first(inp))
        else:
            model = keras.Sequential([keras.Input((5, 3)), first])
        model.compile(optimizer="sgd", loss="mse")
        return model

    def one_hot(rows: int, width: int):
        return np.eye(width, dtype="float32")[np.arange(rows) % width]

    categorical = lambda: dense(10, "categorical_crossentropy", "softmax")  # noqa: E731
    sparse = lambda: dense(10, "sparse_categorical_crossentropy", "softmax")  # noqa: E731
    return {
        "evaluate-cardinality": lambda: dense().evaluate(z((29, 3)), z((1,)), verbose=0),
        "fit-cardinality": lambda: dense().fit(z((29, 3)), z((1,)), verbose=0),
        "predict-width": lambda: dense().predict(z((7, 4)), verbose=0),
        "fit-width": lambda: dense().fit(z((7, 4)), z((7, 1)), verbose=0),
        # a 2-D series fed to an RNN: on torch the message dumps the tensor, in bold (ANSI codes)
        "predict-rank": lambda: rnn().predict(z((7, 3)), verbose=0),
        "call-rank": lambda: rnn()(z((7, 3))),
        "fit-rank": lambda: rnn().fit(z((7, 3)), z((7, 8)), verbose=0),
        "functional-rank": lambda: rnn(functional=True).predict(z((7, 3)), verbose=0),
        "predict-rank-4d": lambda: rnn().predict(z((2, 7, 5, 3)), verbose=0),
        "functional-timesteps": lambda: rnn(functional=True).predict(z((7, 4, 3)), verbose=0),
        "functional-width": lambda: rnn(functional=True).predict(z((7, 5, 4)), verbose=0),
        "gru-cell-width": lambda: rnn().predict(z((7, 5, 4)), verbose=0),
        "conv1d-width": lambda: rnn("Conv1D").predict(z((7, 5, 4)), verbose=0),
        # one-hot targets of the wrong width: 5 classes encoded, 10 outputs
        "fit-one-hot-width": lambda: categorical().fit(z((32, 3)), one_hot(32, 5), verbose=0),
        "evaluate-one-hot-width": lambda: categorical().evaluate(
            z((32, 3)), one_hot(32, 5), verbose=0),
        "evaluate-categorical-column": lambda: categorical().evaluate(
            z((32, 3)), z((32, 1)), verbose=0),
        "evaluate-sparse-one-hot": lambda: sparse().evaluate(z((32, 3)), one_hot(32, 10), verbose=0),
        "evaluate-sparse-label": lambda: sparse().evaluate(z((32, 3)), np.full(32, 10), verbose=0),
        "evaluate-object-array": lambda: dense().evaluate(
            np.array([z(3), z(2)], dtype=object), z(2), verbose=0),
    }  # fmt: skip


def main(argv: list[str]) -> dict:
    backend = os.environ.get("KERAS_BACKEND", "")
    try:
        import keras
        import numpy as np
    except ImportError as exc:  # the backend's library (tensorflow, jax, torch) is missing
        return {"unavailable": f"keras with KERAS_BACKEND={backend}: {exc}"}
    if keras.backend.backend() != backend:
        return {"unavailable": f"keras chose {keras.backend.backend()}, not {backend}"}
    table = cases(keras, np)
    messages: dict[str, str | None] = {}
    for name in argv or list(table):
        if backend == "numpy" and name.startswith("fit-"):
            continue  # "fit not implemented for NumPy backend"
        try:
            table[name]()
            messages[name] = None
        except Exception:
            messages[name] = traceback.format_exc()
    versions = {"python": sys.version.split()[0], "keras": keras.__version__}
    if backend != "numpy":
        versions[backend] = __import__(backend).__version__
    # how this backend writes a (7, 3) tensor's shape: torch.Size([7, 3]), TensorShape([7, 3]) …
    shape = repr(keras.ops.convert_to_tensor(np.zeros((7, 3), "float32")).shape)
    return {"backend": backend, "versions": versions, "messages": messages, "shape": shape}


if __name__ == "__main__":
    json.dump(main(sys.argv[1:]), sys.stdout)
