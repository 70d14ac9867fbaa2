"""The Keras readers on real models saved by Keras 3 (``.keras`` and legacy ``.h5``), a Keras 2
style ``.h5`` config, and hostile files: a zip bomb, a 500 MB config.json, a config naming
``os.system``. Nothing here loads a model with Keras: the models are built and saved in a
subprocess, and dsdoctor reads them as data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from dsdoctor.errors import SourceError, UnsafeInputError
from dsdoctor.models import read_model
from dsdoctor.models.keras import MAX_CONFIG

from .conftest import assert_clean_error, cli
from .model_safety import watch

pytest.importorskip("keras")

BUILD = r"""
import sys
import keras
from keras import layers
out = sys.argv[1]
keras.Sequential([keras.Input((4,)), layers.Dense(8, activation="relu"),
                  layers.Dense(3, activation="softmax")]).save(f"{out}/dense.keras")
m = keras.Sequential([keras.Input((5, 3)), layers.GRU(4), layers.Dense(2), layers.Activation("softmax")])
m.compile(loss="sparse_categorical_crossentropy")
m.save(f"{out}/gru.keras")
m.save(f"{out}/gru.h5")
keras.Sequential([keras.Input((7,), dtype="int32"), layers.Embedding(50, 4, mask_zero=True),
                  layers.LSTM(3), layers.Dense(1, activation="sigmoid")]).save(f"{out}/embed.keras")
keras.Sequential([keras.Input((None, 2)), layers.Masking(mask_value=-1.0),
                  layers.Bidirectional(layers.LSTM(3)), layers.Dense(1)]).save(f"{out}/masking.keras")
tokens = keras.Input((10,), name="tokens", dtype="int32")
features = keras.Input((4,), name="features")
h = layers.LSTM(6)(layers.Embedding(100, 8)(tokens))
o = layers.Dense(5, activation="softmax", name="label")(layers.Concatenate()([h, features]))
keras.Model([tokens, features], o).save(f"{out}/two.keras")
inner = keras.Sequential([layers.Dense(4, activation="relu"), layers.Dense(2, activation="softmax")])
i = keras.Input((6,), name="f")
keras.Model(i, inner(i)).save(f"{out}/nested.keras")
keras.Sequential([layers.Dense(3, activation="softmax")]).save(f"{out}/unbuilt.keras")

class Sub(keras.Model):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.d = layers.Dense(2)

    def call(self, x):
        return self.d(x)

m = Sub()
m(keras.ops.ones((1, 3)))
m.save(f"{out}/sub.keras")
"""


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("keras_models")
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    subprocess.run([sys.executable, "-c", BUILD, str(out)], check=True, env=env,
                   capture_output=True, timeout=300)  # fmt: skip
    return out


def test_sequential_dense(models):
    f = read_model(models / "dense.keras")
    assert f.format == "keras"
    assert [(i.shape, i.dtype) for i in f.inputs] == [((None, 4), "float32")]
    assert (f.output_units, f.output_activation, f.recurrent) == (3, "softmax", False)
    assert f.where["output_units"] == "layer `dense_1`"
    assert any(n.startswith("saved by Keras 3") for n in f.notes)


@pytest.mark.parametrize("name", ["gru.keras", "gru.h5"])
def test_gru_with_activation_after_dense(models, name):
    f = read_model(models / name)
    assert f.format == ("keras" if name.endswith(".keras") else "keras-h5")
    assert f.inputs[0].shape == (None, 5, 3)
    assert f.recurrent
    assert (f.output_units, f.output_activation) == (2, "softmax")
    assert f.loss == "sparse_categorical_crossentropy"
    assert f.where["output_activation"].startswith("layer `activation")


def test_embedding_mask_zero(models):
    f = read_model(models / "embed.keras")
    assert (f.vocab_size, f.mask_zero, f.mask_value) == (50, True, 0.0)
    assert f.inputs[0].dtype == "int32" and f.inputs[0].shape == (None, 7)
    assert "mask_zero=True" in f.where["mask_value"]
    assert (f.output_units, f.output_activation) == (1, "sigmoid")


def test_masking_and_bidirectional(models):
    f = read_model(models / "masking.keras")
    assert f.mask_value == -1.0 and f.mask_zero is None
    assert f.recurrent
    assert f.inputs[0].shape == (None, None, 2)
    assert (f.output_units, f.output_activation) == (1, "linear")


def test_functional_two_inputs(models):
    f = read_model(models / "two.keras")
    assert [(i.name, i.shape, i.dtype) for i in f.inputs] == [
        ("tokens", (None, 10), "int32"),
        ("features", (None, 4), "float32"),
    ]
    assert f.outputs[0].name == "label" and f.output_units == 5
    assert f.vocab_size == 100 and f.mask_zero is False and f.mask_value is None


def test_keras2_h5_batch_input_shape(tmp_path):
    """A Keras 2 model_config: the first layer carries batch_input_shape, no InputLayer."""
    config = {
        "class_name": "Sequential",
        "config": {
            "name": "sequential",
            "layers": [
                {
                    "class_name": "Dense",
                    "config": {
                        "name": "dense",
                        "units": 16,
                        "activation": "relu",
                        "batch_input_shape": [None, 6],
                        "dtype": "float32",
                    },
                },
                {
                    "class_name": "Dense",
                    "config": {"name": "out", "units": 4, "activation": "softmax"},
                },
            ],
        },
    }
    path = tmp_path / "k2.h5"
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(config).encode()
        f.attrs["keras_version"] = b"2.15.0"
        f.attrs["training_config"] = json.dumps({"loss": "categorical_crossentropy"}).encode()
        f.create_group("model_weights")
    m = read_model(path)
    assert m.inputs[0].shape == (None, 6) and m.inputs[0].dtype == "float32"
    assert (m.output_units, m.output_activation, m.loss) == (
        4,
        "softmax",
        "categorical_crossentropy",
    )
    assert "saved by Keras 2.15.0" in m.notes


def test_h5_without_model_config_is_a_clean_error(tmp_path):
    path = tmp_path / "weights.h5"
    with h5py.File(path, "w") as f:
        f["x"] = [1, 2, 3]
    with pytest.raises(SourceError, match="without a root model_config"):
        read_model(path)


# -- hostile files -----------------------------------------------------------------------------
def _zip(path: Path, members: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=method) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def test_zip_bomb_refused_in_bounded_memory(tmp_path):
    """config.json of 128 MB of spaces deflates to ~128 KB: refused by its size, never inflated."""
    path = tmp_path / "bomb.keras"
    with (
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z,
        z.open("config.json", "w", force_zip64=True) as fh,
    ):
        block = b" " * (1 << 20)
        for _ in range(2048):
            fh.write(block)
    assert path.stat().st_size < 8 << 20
    tracemalloc.start()
    try:
        with watch() as seen, pytest.raises(UnsafeInputError, match="refused"):
            read_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    seen.assert_clean()
    assert peak < 4 * MAX_CONFIG


def test_header_that_lies_about_size_is_read_only_to_the_cap(tmp_path):
    """A member whose header claims a small size but inflates past the cap: the read stops."""
    big = b"[" + b" " * (MAX_CONFIG + 10) + b"]"
    path = _zip(tmp_path / "liar.keras", {"config.json": big})
    raw = bytearray(path.read_bytes())
    # patch the local and central headers' uncompressed size to 100 bytes
    true = (len(big)).to_bytes(4, "little")
    assert raw.count(true) == 2
    raw = raw.replace(true, (100).to_bytes(4, "little"))
    path.write_bytes(bytes(raw))
    with pytest.raises((UnsafeInputError, SourceError)):
        read_model(path)


def test_config_of_500_mb_refused(tmp_path):
    """A 500 MB config.json, stored (not compressed) in a sparse file: refused by its size."""
    path = tmp_path / "huge.keras"
    size = 500 * 1024 * 1024
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        info = zipfile.ZipInfo("config.json")
        with z.open(info, "w", force_zip64=True) as fh:
            fh.write(b'{"class_name": "Sequential", "config": {"layers": [')
            # a sparse hole: seek ahead in the underlying file instead of writing 500 MB
            fh._fileobj.seek(size - 100, 1)  # type: ignore[attr-defined]
            fh._file_size = size - 100 + 52  # type: ignore[attr-defined]
            fh._compress_size = fh._file_size  # type: ignore[attr-defined]
    assert path.stat().st_blocks * 512 < 8 << 20  # sparse on disk
    with watch() as seen, pytest.raises(UnsafeInputError, match="refused"):
        read_model(path)
    seen.assert_clean()
    r = cli("inspect", path)
    assert_clean_error(r, "config.json", "refused")


def test_module_entry_naming_os_system_is_never_imported(tmp_path):
    """A layer whose class_name/module point at os.system: a string, never imported or called."""
    marker = tmp_path / "pwned"
    config = {
        "module": "os",
        "class_name": "Sequential",
        "registered_name": "system",
        "config": {
            "name": "evil",
            "layers": [
                {
                    "module": "keras.layers",
                    "class_name": "InputLayer",
                    "config": {"batch_shape": [None, 3], "dtype": "float32", "name": "in"},
                },
                {
                    "module": "os",
                    "class_name": "system",
                    "registered_name": "os>system",
                    "config": {"command": f"touch {marker}", "name": "evil"},
                    "__class__": "os.system",
                },
                {
                    "module": "subprocess",
                    "class_name": "Dense",
                    "config": {
                        "name": "out",
                        "units": 2,
                        "activation": {
                            "module": "os",
                            "class_name": "function",
                            "config": "system",
                        },
                    },
                },
            ],
        },
    }
    path = _zip(
        tmp_path / "evil.keras",
        {
            "config.json": json.dumps(config).encode(),
            "metadata.json": b'{"keras_version": "3.9.0"}',
        },
    )
    with watch() as seen:
        f = read_model(path)
    seen.assert_clean()
    assert not marker.exists()
    assert f.inputs[0].shape == (None, 3) and f.output_units == 2
    assert f.output_activation == "system"  # a name only: it is never looked up
    assert not any(m == "keras" or m.startswith("keras.") for m in seen.imports)


def test_deeply_nested_json_is_a_clean_error(tmp_path):
    path = _zip(tmp_path / "deep.keras", {"config.json": b"[" * 200_000 + b"]" * 200_000})
    with pytest.raises(SourceError):
        read_model(path)


@pytest.mark.parametrize("body", [b"not a zip at all", b"PK\x03\x04broken"])
def test_not_a_zip_is_a_clean_error(tmp_path, body):
    path = tmp_path / "bad.keras"
    path.write_bytes(body)
    with pytest.raises(SourceError, match=r"not a readable \.keras zip"):
        read_model(path)


def test_zip_without_config(tmp_path):
    path = _zip(tmp_path / "w.keras", {"model.weights.h5": b"\x89HDF"})
    with pytest.raises(SourceError, match=r"without config\.json"):
        read_model(path)


def test_oversize_h5_model_config_refused_before_reading(tmp_path):
    """A legacy .h5 whose model_config attribute is larger than the cap: refused by its stored
    size, never read into memory."""
    path = tmp_path / "big.h5"
    with h5py.File(path, "w", libver="latest") as f:  # dense attribute storage: > 64 KiB
        f.attrs.create("model_config", data=np.bytes_(b" " * (MAX_CONFIG + 1)))
    with watch() as seen, pytest.raises(UnsafeInputError, match="model_config attribute"):
        read_model(path)
    seen.assert_clean()


def test_nested_model_output_and_unbuilt_input(models):
    f = read_model(models / "nested.keras")
    assert f.inputs[0].shape == (None, 6)
    assert (f.output_units, f.output_activation) == (2, "softmax")
    u = read_model(models / "unbuilt.keras")
    assert u.inputs[0].shape is None and u.output_units == 3
    assert any("declares no shape" in n for n in u.notes)
    assert not any(k.startswith("input:") for k in u.where)


def test_subclassed_model_is_a_clean_error_naming_what_to_do(models):
    r = cli("inspect", models / "sub.keras")
    assert_clean_error(r, "subclassed", "--input-shape")
