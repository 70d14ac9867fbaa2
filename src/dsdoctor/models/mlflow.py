"""MLflow models: the ``signature`` of an ``MLmodel`` file (a tensor spec or a column spec).

``MLmodel`` is YAML whose ``signature.inputs`` / ``signature.outputs`` are JSON strings. The
YAML is read with PyYAML's safe loader only (a ``!!python/object`` tag is refused, never
constructed); the composed node graph is measured as its aliases would expand it before
anything is constructed, so an alias bomb ("billion laughs") or a recursive alias is refused,
and the file's size is capped. The model's flavors (pickled Python functions,
``python_model.pkl``) are never opened: mlflow is not imported.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import SourceError, UnsafeInputError
from .base import Dim, ModelFacts, TensorSpec

#: An MLmodel file is a few kB; a signature of ten thousand columns is ~600 kB of JSON.
MAX_MLMODEL_BYTES = 16 * 2**20
#: An MLmodel is ~50 YAML nodes; aliases (MLflow writes none) that expand it past this are a
#: bomb: nine levels of nine aliases ("billion laughs") expand to 387 million.
MAX_EXPANDED_NODES = 100_000
#: MLflow's column types (mlflow.types.DataType) → numpy's names
COLUMN_DTYPES = {"boolean": "bool", "integer": "int32", "long": "int64", "float": "float32",
                 "double": "float64", "string": "str", "binary": "bytes",
                 "datetime": "datetime64[ns]"}  # fmt: skip


def read_mlflow(path: Path) -> ModelFacts:
    """The facts an MLflow ``MLmodel`` signature declares."""
    try:
        import yaml
    except ImportError:
        raise SourceError(f"{path}: reading an MLflow MLmodel needs PyYAML: "
                          "pip install 'dsdoctor[models]'") from None  # fmt: skip
    size = path.stat().st_size
    if size > MAX_MLMODEL_BYTES:
        raise UnsafeInputError(f"{path}: {size:,} bytes is not an MLmodel file (they are kB; "
                               f"dsdoctor reads up to {MAX_MLMODEL_BYTES:,})")  # fmt: skip
    with path.open("rb") as f:  # no more than the cap, whatever the size said
        text = f.read(MAX_MLMODEL_BYTES + 1)[:MAX_MLMODEL_BYTES].decode("utf-8", "replace")
    try:
        doc = _safe_load(text)
    except _AliasBomb as exc:
        raise UnsafeInputError(f"{path}: YAML aliases that {exc} (an alias bomb); "
                               "MLflow writes none — save the model again") from None  # fmt: skip
    except yaml.constructor.ConstructorError as exc:
        if "python/" in str(exc):
            raise UnsafeInputError(f"{path}: a YAML tag that would construct a Python object "
                                   f"({exc.problem}); it was not constructed — MLflow writes "
                                   "no such tag, save the model again") from None  # fmt: skip
        raise SourceError(f"{path}: not a readable MLmodel ({exc.problem})") from None
    except (yaml.YAMLError, RecursionError) as exc:
        raise SourceError(f"{path}: not readable YAML ({str(exc).splitlines()[0]})") from None
    signature = doc.get("signature") if isinstance(doc, dict) else None
    if not isinstance(signature, dict) or not signature.get("inputs"):
        raise SourceError(f"{path}: the MLmodel has no signature; log the model with "
                          "signature=mlflow.models.infer_signature(x, y)")  # fmt: skip
    notes: list[str] = []
    where: dict[str, str] = {}
    inputs = _specs(path, signature, "inputs", notes)
    outputs = _specs(path, signature, "outputs", notes) if signature.get("outputs") else ()
    for spec in inputs:
        where[f"input:{spec.name}"] = f"signature input `{spec.name}`"
    columns: tuple[tuple[str, str], ...] = ()
    if _is_columns(signature, "inputs"):
        columns = tuple((str(e.get("name", i)), str(e.get("type"))) for i, e in
                        enumerate(json.loads(signature["inputs"])))  # fmt: skip
    units = None
    if outputs and outputs[0].shape and len(outputs[0].shape) >= 2:
        last = outputs[0].shape[-1]
        if isinstance(last, int) and not _is_columns(signature, "outputs"):
            units = last
            where["output_units"] = f"signature output `{outputs[0].name}`"
    if signature.get("params"):
        notes.append("the signature's params (inference parameters) are not data; not read")
    notes.append("an MLflow signature does not say the output activation")
    return ModelFacts(
        path=str(path),
        format="mlflow",
        inputs=inputs,
        outputs=outputs,
        output_units=units,
        where=where,
        notes=tuple(notes),
        columns=columns,
    )


class _AliasBomb(Exception):
    pass


def _safe_load(text: str):
    """``yaml.safe_load``, with the node graph measured before it is constructed."""
    import yaml

    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _measure(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _measure(root) -> None:
    """Raise :class:`_AliasBomb` when the YAML graph, aliases expanded, has more than
    MAX_EXPANDED_NODES nodes or a cycle. Iterative: a deep document cannot overflow it."""
    size: dict[int, int] = {}
    stack = [(root, False)]
    on_path: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        children = _children(node)
        if done:
            on_path.discard(key)
            size[key] = 1 + sum(size[id(c)] for c in children)
            if size[key] > MAX_EXPANDED_NODES:
                raise _AliasBomb(f"expand to more than {MAX_EXPANDED_NODES:,} nodes")
            continue
        if key in size:
            continue
        if key in on_path:
            raise _AliasBomb("refer to themselves")
        on_path.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in on_path:
                raise _AliasBomb("refer to themselves")
            if id(child) not in size:
                stack.append((child, False))


def _children(node) -> list:
    value = node.value
    if not isinstance(value, list):
        return []  # a scalar
    return [n for item in value for n in (item if isinstance(item, tuple) else (item,))]


def _is_columns(signature: dict, key: str) -> bool:
    try:
        return any(e.get("type") != "tensor" for e in json.loads(signature[key]))
    except (ValueError, TypeError, AttributeError):
        return False


def _specs(path: Path, signature: dict, key: str, notes: list[str]) -> tuple[TensorSpec, ...]:
    """A tensor spec as one TensorSpec per tensor (-1 → None); a column spec as one input of
    shape (None, columns) named by its columns — a table's columns are its features."""
    raw = signature[key]
    try:
        entries = json.loads(raw) if isinstance(raw, str) else None
    except (ValueError, RecursionError):
        entries = None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise SourceError(f"{path}: signature {key} is not MLflow's JSON list of specs; "
                          "log the model again with mlflow.models.infer_signature")  # fmt: skip
    tensors = [e for e in entries if e.get("type") == "tensor"]
    if tensors and len(tensors) != len(entries):
        raise SourceError(f"{path}: signature {key} mixes tensor and column specs")
    if tensors:
        specs = []
        for i, e in enumerate(tensors):
            spec = e.get("tensor-spec") or {}
            shape = spec.get("shape")
            if not isinstance(shape, list) or not all(isinstance(d, int) for d in shape):
                raise SourceError(f"{path}: signature {key} tensor {i} has no integer shape")
            dims: tuple[Dim, ...] = tuple(None if d < 0 else d for d in shape)
            specs.append(TensorSpec(str(e.get("name", f"{key[:-1]}_{i}")), dims,
                                    _numpy_name(spec.get("dtype"))))  # fmt: skip
        return tuple(specs)
    names = [str(e.get("name", i)) for i, e in enumerate(entries)]
    kinds = {e.get("type") for e in entries}
    dtype = COLUMN_DTYPES.get(next(iter(kinds))) if len(kinds) == 1 else None
    if len(kinds) > 1:
        notes.append(f"signature {key} columns have types {', '.join(sorted(map(str, kinds)))}; "
                     "no single dtype")  # fmt: skip
    optional = [n for n, e in zip(names, entries, strict=True) if e.get("required") is False]
    if optional:
        notes.append(f"optional {key} columns: {', '.join(optional[:10])}")
    shown = ", ".join(names[:10]) + (", …" if len(names) > 10 else "")
    notes.append(f"signature {key} is a column spec of {len(names)} columns ({shown}), "
                 "checked by name against a table's columns (an array: by its width)")  # fmt: skip
    return (TensorSpec("columns" if key == "inputs" else "prediction", (None, len(names)), dtype),)


def _numpy_name(dtype: object) -> str | None:
    if not isinstance(dtype, str):
        return None
    import numpy as np

    try:
        return np.dtype(dtype).name
    except TypeError:
        return dtype
