"""Keras models: a Keras 3 ``.keras`` zip's ``config.json`` and a legacy ``.h5``'s root
``model_config`` attribute, read as JSON data only.

Nothing here imports keras or any module a config names: ``class_name`` and ``module`` are
compared as strings (a config that names ``os.system`` is just a layer dsdoctor does not know).
``keras.saving.load_model`` is never called — its ``safe_mode`` has been bypassed repeatedly
(CVE-2025-1550, CVE-2025-8747, CVE-2025-9905) and a legacy ``.h5`` ignores it. Member and
attribute sizes are capped before anything is read, and reads stop at the cap whatever a zip's
header claims, so a bomb or a 500 MB config costs at most :data:`MAX_CONFIG` bytes.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from ..errors import SourceError, UnsafeInputError
from .base import Dim, ModelFacts, TensorSpec

#: The largest config.json / model_config read: a 1,000-layer model's config is about 2 MB.
MAX_CONFIG = 16 * 1024 * 1024
#: A zip member's uncompressed size over its compressed size above this is refused (deflate of
#: JSON reaches ~10-20; a bomb reaches 1,000).
MAX_RATIO = 200
#: More members than this is not a model a Keras version wrote (they write three).
MAX_MEMBERS = 64

RECURRENT = frozenset({"GRU", "LSTM", "SimpleRNN", "RNN", "CuDNNGRU", "CuDNNLSTM", "ConvLSTM1D",
                       "ConvLSTM2D", "ConvLSTM3D"})  # fmt: skip
#: Layers that wrap another (``config.layer``): Bidirectional(GRU), TimeDistributed(Dense).
WRAPPERS = frozenset({"Bidirectional", "TimeDistributed"})
MODELS = frozenset({"Sequential", "Functional", "Model"})
#: Layers after the last Dense that keep its units (an Activation, a Dropout, a Softmax).
PASS_THROUGH = frozenset({"Activation", "Softmax", "Dropout", "ReLU", "LeakyReLU", "Flatten",
                          "Reshape", "BatchNormalization", "LayerNormalization"})  # fmt: skip
#: Layers that pool a feature map to one value per channel: a Conv's ``filters`` before one are
#: the output units (a fully convolutional classifier: Conv2D(K) → GlobalAveragePooling2D).
GLOBAL_POOLING = frozenset({"GlobalAveragePooling1D", "GlobalAveragePooling2D",
                            "GlobalAveragePooling3D", "GlobalMaxPooling1D", "GlobalMaxPooling2D",
                            "GlobalMaxPooling3D", "GlobalAvgPool1D", "GlobalAvgPool2D",
                            "GlobalAvgPool3D", "GlobalMaxPool1D", "GlobalMaxPool2D",
                            "GlobalMaxPool3D"})  # fmt: skip


def read_keras(path: Path) -> ModelFacts:
    """The facts of a Keras 3 ``.keras`` zip (its ``config.json``; ``metadata.json`` for the
    version that wrote it)."""
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            if len(infos) > MAX_MEMBERS:
                raise UnsafeInputError(f"{path}: a zip of {len(infos):,} members is not a Keras "
                                       f"model (Keras writes 3); refused")  # fmt: skip
            names = {i.filename: i for i in infos}
            if "config.json" not in names:
                raise SourceError(f"{path}: a zip without config.json is not a Keras 3 model "
                                  f"(it holds {', '.join(sorted(names)[:5]) or 'nothing'})")  # fmt: skip
            config = _json(_member(z, names["config.json"], path), f"{path}: config.json")
            meta = (_json(_member(z, names["metadata.json"], path), f"{path}: metadata.json")
                    if "metadata.json" in names else {})  # fmt: skip
    except zipfile.BadZipFile as e:
        raise SourceError(f"{path}: not a readable .keras zip ({e}); save it again with "
                          "model.save('model.keras')") from e  # fmt: skip
    version = meta.get("keras_version") if isinstance(meta, dict) else None
    return _facts(config, path, "keras", version)


def read_keras_h5(path: Path) -> ModelFacts:
    """The facts of a legacy Keras ``.h5`` model: the root ``model_config`` attribute (JSON), and
    ``training_config``'s loss when the model was compiled."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            if "model_config" not in f.attrs:
                raise SourceError(f"{path}: an HDF5 file without a root model_config attribute is "
                                  "not a Keras model (weights only, or data); give the .keras "
                                  "file or the model saved with model.save('model.h5')")  # fmt: skip
            config = _json(_attribute(f, "model_config", path), f"{path}: model_config")
            training = (_json(_attribute(f, "training_config", path), f"{path}: training_config")
                        if "training_config" in f.attrs else None)  # fmt: skip
            version = f.attrs.get("keras_version")
    except OSError as e:
        raise SourceError(f"{path}: not a readable HDF5 file ({e})") from e
    if isinstance(version, bytes):
        version = version.decode("utf-8", "replace")
    if isinstance(config, dict) and isinstance(training, dict):
        config = {**config, "compile_config": training}
    return _facts(config, path, "keras-h5", version if isinstance(version, str) else None)


def is_keras_h5(path: Path) -> bool:
    """An HDF5 file with Keras's root ``model_config`` attribute (else it is data)."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            return "model_config" in f.attrs
    except OSError:
        return False


# -- reading, bounded ----------------------------------------------------------------------------
def _member(z: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> bytes:
    name = info.filename
    if info.file_size > MAX_CONFIG:
        raise UnsafeInputError(f"{path}: {name} claims {info.file_size:,} bytes, more than the "
                               f"{MAX_CONFIG:,} a model config needs; refused")  # fmt: skip
    if info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
        raise UnsafeInputError(f"{path}: {name} expands {info.file_size / info.compress_size:,.0f}"
                               f" times (a zip bomb?); refused")  # fmt: skip
    with z.open(info) as fh:
        data = fh.read(MAX_CONFIG + 1)  # the header may lie: never more than the cap
    if len(data) > MAX_CONFIG:
        raise UnsafeInputError(f"{path}: {name} is larger than the {MAX_CONFIG:,} bytes its "
                               "header claims or a model config needs; refused")  # fmt: skip
    return data


def _attribute(f: Any, name: str, path: Path) -> bytes | str:
    size = f.attrs.get_id(name).get_storage_size()
    if size > MAX_CONFIG:
        raise UnsafeInputError(f"{path}: the {name} attribute is {size:,} bytes, more than the "
                               f"{MAX_CONFIG:,} a model config needs; refused")  # fmt: skip
    value = f.attrs[name]
    if hasattr(value, "shape") and getattr(value, "shape", ()) != ():
        value = value.reshape(-1)[0] if value.size == 1 else b""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _json(data: bytes | str, what: str) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as e:
        raise SourceError(f"{what} is not readable JSON ({str(e)[:80]})") from e


# -- the facts ----------------------------------------------------------------------------------
def _facts(config: Any, path: Path, fmt: str, version: str | None) -> ModelFacts:
    if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
        raise SourceError(f"{path}: the model config is not a Keras model config")
    kind = config.get("class_name")
    body = config["config"]
    layers = [x for x in body.get("layers") or [] if isinstance(x, dict)]
    if kind not in MODELS or not layers:
        raise SourceError(f"{path}: a {kind!s:.40} config with no layers list is not a model "
                          "dsdoctor reads (a subclassed model's layers live in its code): save "
                          "a Sequential or functional model, or give the expectations by hand "
                          "(--input-shape, --classes)")  # fmt: skip
    notes: list[str] = [f"saved by Keras {version}"] if version else []
    where: dict[str, str] = {}
    by_name = {_name(x): x for x in layers}
    inputs: tuple[TensorSpec, ...]
    if kind == "Sequential":
        inputs = (_sequential_input(layers, body),)
        last = _output_layers(layers)
        out_names = [_name(layers[-1])]
    else:
        inputs = tuple(
            _input_spec(by_name.get(n), n) for n in _endpoint_names(body, "input_layers")
        )
        out_names = _endpoint_names(body, "output_layers")
        order = [_name(x) for x in layers]
        end = order.index(out_names[0]) + 1 if out_names and out_names[0] in by_name else 0
        last = _output_layers(layers[:end]) if end else None
        if len(out_names) > 1:
            notes.append(f"{len(out_names)} outputs: only `{out_names[0]}` is checked against y")
    for spec in inputs:
        if spec.shape is None:
            notes.append(f"input `{spec.name}` declares no shape (a model saved before it was "
                         "built): its shape is not checked")  # fmt: skip
        else:
            where[f"input:{spec.name}"] = f"input `{spec.name}`"
    units = activation = None
    if last is not None:
        dense, act = last
        units = _int(_config(dense).get("units"))
        activation = _activation(_config(act).get("activation"), act)
        where["output_units"] = f"layer `{_name(dense)}`"
        where["output_activation"] = f"layer `{_name(act)}`"
    else:
        notes.append("the last layer has no units: classes are not read from the model")
    mask_value = vocab = mask_zero = None
    recurrent = False
    for layer in _all_layers(layers):
        cls, cfg = layer.get("class_name"), _config(layer)
        if cls in RECURRENT:
            recurrent = True
            where.setdefault("recurrent", f"layer `{_name(layer)}`")
        elif cls == "Masking" and mask_value is None:
            mask_value = _float(cfg.get("mask_value"))
            where["mask_value"] = f"layer `{_name(layer)}` (Masking)"
        elif cls == "Embedding" and vocab is None:
            vocab, mask_zero = _int(cfg.get("input_dim")), bool(cfg.get("mask_zero"))
            where["vocab_size"] = f"layer `{_name(layer)}` (Embedding input_dim)"
            if mask_zero and mask_value is None:
                mask_value = 0.0
                where["mask_value"] = f"layer `{_name(layer)}` (Embedding mask_zero=True)"
        elif cls not in MODELS | WRAPPERS and not isinstance(cls, str):
            notes.append(f"a layer without a class name (`{_name(layer)}`) was skipped")
    outputs: tuple[TensorSpec, ...] = ()
    if out_names:
        shape: tuple[Dim, ...] | None = (None, units) if units is not None else None
        outputs = (TensorSpec(out_names[0], shape),)
    loss = _loss(config)
    if loss:
        notes.append(f"compiled with loss {loss}")
    return ModelFacts(path=str(path), format=fmt, inputs=inputs, outputs=outputs,
                      output_activation=activation, output_units=units, mask_value=mask_value,
                      vocab_size=vocab, mask_zero=mask_zero, recurrent=recurrent, where=where,
                      notes=tuple(notes), loss=loss)  # fmt: skip


def _name(layer: dict) -> str:
    name = layer.get("name") or _config(layer).get("name") or layer.get("class_name") or "?"
    return str(name)[:80]


def _config(layer: Any) -> dict:
    cfg = layer.get("config") if isinstance(layer, dict) else None
    return cfg if isinstance(cfg, dict) else {}


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else None


def _float(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def _shape(v: Any) -> tuple[Dim, ...] | None:
    if not isinstance(v, list | tuple):
        return None
    if not all(d is None or (isinstance(d, int) and not isinstance(d, bool)) for d in v):
        return None
    return tuple(v)


def _dtype(cfg: dict) -> str | None:
    d = cfg.get("dtype")
    if isinstance(d, dict):  # a DTypePolicy
        d = _config(d).get("name")
    return d if isinstance(d, str) and d.isidentifier() else None


def _input_spec(layer: dict | None, name: str) -> TensorSpec:
    cfg = _config(layer)
    shape = _shape(cfg.get("batch_shape")) or _shape(cfg.get("batch_input_shape"))
    return TensorSpec(name, shape, _dtype(cfg))


def _sequential_input(layers: list[dict], body: dict) -> TensorSpec:
    first = layers[0]
    if first.get("class_name") == "InputLayer":
        return _input_spec(first, _name(first))
    cfg = _config(first)
    shape = _shape(cfg.get("batch_shape")) or _shape(cfg.get("batch_input_shape"))
    if shape is None:
        shape = _shape(body.get("build_input_shape"))
    if shape is None:
        build = first.get("build_config")
        shape = _shape(build.get("input_shape")) if isinstance(build, dict) else None
    return TensorSpec(_name(first), shape, _dtype(cfg) if shape is not None else None)


def _endpoint_names(body: dict, key: str) -> list[str]:
    """``input_layers`` / ``output_layers``: ``[name, 0, 0]`` or a list of them."""
    v = body.get(key)
    if isinstance(v, list) and v and isinstance(v[0], str):
        v = [v]
    if not isinstance(v, list):
        return []
    return [str(e[0])[:80] for e in v if isinstance(e, list) and e and isinstance(e[0], str)]


def _output_layers(layers: list[dict], depth: int = 0) -> tuple[dict, dict] | None:
    """The last layer with units and the layer that sets the output activation: the Dense
    itself, or an Activation/Softmax after it; a Conv's ``filters`` when a global pooling
    follows it (Conv2D(7) → GlobalAveragePooling2D → Activation('softmax'): 7 units)."""
    act: dict | None = None
    pooled = False
    for layer in reversed(layers):
        cls, cfg = layer.get("class_name"), _config(layer)
        if cls in MODELS and depth < 8:  # a nested model ends the outer one: its last layer
            inner = [x for x in cfg.get("layers") or [] if isinstance(x, dict)]
            found = _output_layers(inner, depth + 1) if inner else None
            return (found[0], act or found[1]) if found is not None else None
        if cls in WRAPPERS:
            cfg = _config(cfg.get("layer"))
        if _int(cfg.get("units")) is not None:
            return layer if cls not in WRAPPERS else {**layer, "config": cfg}, act or layer
        filters = _int(cfg.get("filters"))
        if pooled and filters is not None:  # units read as the filters (see the caller)
            return {**layer, "config": {**cfg, "units": filters}}, act or layer
        if cls in GLOBAL_POOLING and not pooled:
            pooled = True
            continue
        if cls in PASS_THROUGH:
            if act is None and cls in ("Activation", "Softmax"):
                act = layer
            continue
        return None
    return None


def _activation(v: Any, layer: dict) -> str | None:
    if layer.get("class_name") == "Softmax":
        return "softmax"
    if isinstance(v, dict):  # a serialized activation: {"class_name": "function", "config": …}
        v = v.get("config") if isinstance(v.get("config"), str) else _config(v).get("name")
    return v if isinstance(v, str) and v.isidentifier() else None


def _all_layers(layers: list[dict], depth: int = 0) -> list[dict]:
    """Every layer, nested models and wrapped layers included (depth-bounded)."""
    out: list[dict] = []
    for layer in layers:
        cls, cfg = layer.get("class_name"), _config(layer)
        if cls in MODELS and depth < 8:
            inner = [x for x in cfg.get("layers") or [] if isinstance(x, dict)]
            out.extend(_all_layers(inner, depth + 1))
        elif cls in WRAPPERS and isinstance(cfg.get("layer"), dict):
            out.append(cfg["layer"])
        else:
            out.append(layer)
    return out


def _loss(config: dict) -> str | None:
    compiled = config.get("compile_config")
    loss = compiled.get("loss") if isinstance(compiled, dict) else None
    if isinstance(loss, dict):
        loss = loss.get("class_name") if isinstance(loss.get("class_name"), str) else None
    return loss[:80] if isinstance(loss, str) else None
