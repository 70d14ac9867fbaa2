"""ONNX models: the graph's inputs, outputs, last op, embedding and recurrent ops.

The file is memory-mapped (its size checked first) and its protobuf fields walked once to copy
the model without the weights' bytes (an initializer keeps its name, dims and data location,
drops its data): a 1.5 GB model with its weights inside is read in the memory of its graph.
The copy is parsed with ``onnx.load_model_from_string``, which has no folder to resolve
external data against: tensors stored outside the file (``data_location: EXTERNAL``, a
``location`` that may name any path, ``/etc/passwd`` included) are never opened, only counted
in the notes. Nothing in the graph is
run; ``onnx.checker`` and shape inference are not called (they read external data and walk
every node).
"""

from __future__ import annotations

import mmap
from pathlib import Path

from ..errors import SourceError, UnsafeInputError
from .base import Dim, ModelFacts, TensorSpec, batch_axis, output_units

#: A single ONNX protobuf cannot exceed 2 GiB (protobuf's own limit; ``onnx.save`` refuses
#: larger and moves weights to external data). A larger ``.onnx`` is not one model file, and
#: reading it whole to find its inputs would take that much memory.
MAX_ONNX_BYTES = 2**31

#: the ops whose output is the model's output activation, by their ONNX op type
ACTIVATIONS = {"Softmax": "softmax", "LogSoftmax": "softmax", "Sigmoid": "sigmoid"}
#: ops that end a model with no activation: a Dense/Linear layer (``Gemm``, ``MatMul`` + ``Add``)
LINEAR_OPS = {"Gemm", "MatMul", "Add"}
#: ops that pass their input's activation through unchanged (torch inserts them after Softmax)
PASS_THROUGH = {"Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Cast"}
RECURRENT_OPS = {"GRU", "LSTM", "RNN"}
#: pass-through ops followed back from an output or an embedding's ids, at most
MAX_HOPS = 16


def read_onnx(path: Path) -> ModelFacts:
    """The facts an ONNX graph declares; its external data is never read."""
    try:
        import onnx
    except ImportError:
        raise SourceError(f"{path}: reading ONNX models needs the onnx package: "
                          "pip install 'dsdoctor[models]'") from None  # fmt: skip
    from google.protobuf.message import DecodeError

    size = path.stat().st_size
    if size > MAX_ONNX_BYTES:
        raise UnsafeInputError(
            f"{path}: {size:,} bytes is more than one ONNX protobuf can hold (2 GiB); "
            "save the model with its weights as external data (onnx.save(..., "
            "save_as_external_data=True)) and give the .onnx file"
        )
    try:
        if size == 0:
            raise _Malformed("an empty file")
        with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            data = _without_weights(buf)
        model = onnx.load_model_from_string(data)
    except (_Malformed, DecodeError, ValueError, RuntimeError) as exc:
        raise SourceError(f"{path}: not a readable ONNX model ({exc}); "
                          "export it again (torch.onnx.export, tf2onnx)") from None  # fmt: skip
    graph = model.graph
    if not model.HasField("graph") or not (graph.input or graph.node):
        raise SourceError(f"{path}: not an ONNX model (no graph with inputs or nodes); "
                          "export it again (torch.onnx.export, tf2onnx)")  # fmt: skip
    return _facts(path, model)


def _facts(path: Path, model) -> ModelFacts:
    graph = model.graph
    notes: list[str] = []
    initializers = {t.name: t for t in graph.initializer}
    initializers.update((t.values.name, t.values) for t in graph.sparse_initializer)
    external = [t for t in graph.initializer if t.data_location == 1]  # TensorProto.EXTERNAL
    if external:
        notes.append(f"{len(external)} weight tensor(s) are stored as external data; "
                     "they were not read (only the graph is)")  # fmt: skip
    inputs = tuple(_spec(v, notes) for v in graph.input if v.name not in initializers)
    outputs = tuple(_spec(v, notes) for v in graph.output)
    where: dict[str, str] = {}
    confidence: dict[str, str] = {}
    for spec in inputs:
        where[f"input:{spec.name}"] = f"input `{spec.name}`"
        axis = batch_axis(spec.shape)
        if axis and spec.shape:
            notes.append(f"input `{spec.name}` has its batch axis `{spec.shape[axis]}` at "
                         f"position {axis}, not first: arrays are read samples first, so its "
                         "shape is not checked")  # fmt: skip
        elif spec.shape and isinstance(spec.shape[0], int) and not all(
                isinstance(d, int) for d in spec.shape):  # fmt: skip
            free = next(i for i, d in enumerate(spec.shape) if not isinstance(d, int))
            notes.append(f"input `{spec.name}` {_shown(spec.shape)} has axis 0 fixed at "
                         f"{spec.shape[0]} and axis {free} free: if axis {free} is its batch, "
                         "arrays for it are not samples first; else the runtime takes exactly "
                         f"{spec.shape[0]} sample(s) per call")  # fmt: skip
        elif spec.shape and isinstance(spec.shape[0], int):
            notes.append(f"input `{spec.name}` has a fixed batch size of {spec.shape[0]} "
                         "(exported without a dynamic batch axis): the runtime takes exactly "
                         f"{spec.shape[0]} sample(s) per call; export with dynamic_axes "
                         f"{{'{spec.name}': {{0: 'batch'}}}} to feed batches")  # fmt: skip

    producers = {out: node for node in graph.node for out in node.output}
    activation = units = None
    if outputs:
        first = outputs[0]
        if len(outputs) > 1:
            notes.append(f"{len(outputs)} outputs; the facts about the output are read "
                         f"from the first, `{first.name}`")  # fmt: skip
        node = producers.get(first.name)
        for _ in range(MAX_HOPS):  # bounded: a hostile graph may loop back on itself
            if node is None or node.op_type not in PASS_THROUGH or not node.input:
                break
            node = producers.get(node.input[0])
        if node is not None:
            if node.op_type in ACTIVATIONS:
                activation = ACTIVATIONS[node.op_type]
                if node.op_type == "LogSoftmax":
                    notes.append(f"output `{first.name}` is a LogSoftmax "
                                 "(log-probabilities over the classes)")  # fmt: skip
            elif node.op_type in LINEAR_OPS:
                activation = "linear"
            if activation is not None:
                where["output_activation"] = f"{node.op_type} node `{node.name or first.name}`"
        found = output_units(first.shape)
        if found is not None:
            units, axis = found
            where["output_units"] = f"output `{first.name}`" + (
                f" axis {axis}" if axis != len(first.shape or ()) - 1 else ""
            )

    vocab = _embedding(graph, initializers, {s.name for s in inputs})
    vocab_size = None
    if vocab is not None:
        vocab_size, table, ids = vocab
        where["vocab_size"] = f"Gather on initializer `{table}` (input `{ids}`)"
        confidence["vocab_size"] = "inferred"

    recurrent = _recurrent(model)
    if recurrent is not None:
        where["recurrent"] = recurrent
    return ModelFacts(
        path=str(path),
        format="onnx",
        inputs=inputs,
        outputs=outputs,
        output_activation=activation,
        output_units=units,
        vocab_size=vocab_size,
        recurrent=recurrent is not None,
        where=where,
        confidence=confidence,
        notes=tuple(notes),
    )


def _spec(value, notes: list[str]) -> TensorSpec:
    """A graph input or output as a TensorSpec: ``dim_value`` → int, ``dim_param`` → its name,
    neither → None; the element type by numpy's name."""
    kind = value.type.WhichOneof("value")
    if kind != "tensor_type":
        notes.append(f"`{value.name}` is an ONNX {kind or 'untyped'} value, not a tensor; "
                     "its shape is not read")  # fmt: skip
        return TensorSpec(value.name, None)
    tensor = value.type.tensor_type
    shape: tuple[Dim, ...] | None = None
    if tensor.HasField("shape"):
        dims: list[Dim] = []
        for d in tensor.shape.dim:
            which = d.WhichOneof("value")
            dims.append(d.dim_value if which == "dim_value" else
                        d.dim_param or None if which == "dim_param" else None)  # fmt: skip
        shape = tuple(dims)
    return TensorSpec(value.name, shape, _dtype(tensor.elem_type))


def _dtype(elem_type: int) -> str | None:
    import onnx

    if elem_type == 0:  # UNDEFINED
        return None
    try:
        return onnx.helper.tensor_dtype_to_np_dtype(elem_type).name
    except (KeyError, ValueError, TypeError):
        try:  # bfloat16, float8…: numpy has no such dtype; ONNX's own name
            return onnx.TensorProto.DataType.Name(elem_type).lower()
        except ValueError:
            return None


def _embedding(graph, initializers: dict, input_names: set[str]) -> tuple[int, str, str] | None:
    """(V, table, ids) for the first ``Gather`` that looks ids from a model input up in a (V, D)
    initializer: torch's ``nn.Embedding`` and Keras' ``Embedding`` export as one."""
    producers = {out: node for node in graph.node for out in node.output}
    for node in graph.node:
        if node.op_type != "Gather" or len(node.input) < 2:
            continue
        table = initializers.get(node.input[0])
        if table is None or len(table.dims) != 2:
            continue
        ids = node.input[1]
        for _ in range(MAX_HOPS):  # ids cast to int64 on the way
            feeder = producers.get(ids)
            if ids in input_names or feeder is None:
                break
            if feeder.op_type not in PASS_THROUGH or not feeder.input:
                break
            ids = feeder.input[0]
        if ids in input_names:
            return int(table.dims[0]), node.input[0], ids
    return None


def _recurrent(model) -> str | None:
    """Where the first GRU/LSTM/RNN op is (the graph, or a local function), or None."""
    for node in model.graph.node:
        if node.op_type in RECURRENT_OPS:
            return f"{node.op_type} node `{node.name or node.output[0]}`"
    for function in model.functions:
        for node in function.node:
            if node.op_type in RECURRENT_OPS:
                return f"{node.op_type} node in function `{function.name}`"
    return None


# --- the model without its weights' bytes --------------------------------------------------
# Protobuf's wire format: a message is a run of fields, each a varint key (field number << 3 |
# wire type) then a varint (0), 8 bytes (1), a varint length and that many bytes (2) or 4 bytes
# (5). Copying every field but the data ones gives the same message without them.

GRAPH = 7  # ModelProto.graph
INITIALIZER = 5  # GraphProto.initializer
#: TensorProto's data fields: float_data, int32_data, string_data, int64_data, raw_data,
#: double_data, uint64_data (dims=1, data_type=2, name=8, external_data=13, data_location=14 stay)
TENSOR_DATA = {4, 5, 6, 7, 9, 10, 11}


#: Fields walked at most: a real model has a few per initializer (~1 million for the largest
#: graphs); a hostile one writing each float as its own field would keep Python busy for minutes.
MAX_FIELDS = 5_000_000


class _Malformed(Exception):
    pass


def _varint(buf, pos: int, end: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= end or shift > 63:
            raise _Malformed(f"a varint cut or too long at byte {pos}")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _key(number: int, wire: int) -> bytes:
    return _encode(number << 3 | wire)


def _encode(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _fields(buf, start: int, end: int, budget: list[int]):
    """(number, wire type, field start, value start, value end) for each field in [start, end)."""
    pos = start
    while pos < end:
        budget[0] -= 1
        if budget[0] < 0:
            raise _Malformed(f"more than {MAX_FIELDS:,} protobuf fields")
        key, value_start = _varint(buf, pos, end)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value_end = _varint(buf, value_start, end)[1]
        elif wire == 1:
            value_end = value_start + 8
        elif wire == 5:
            value_end = value_start + 4
        elif wire == 2:
            length, value_start = _varint(buf, value_start, end)
            value_end = value_start + length
        else:
            raise _Malformed(f"wire type {wire} at byte {pos}")
        if value_end > end or number == 0:
            raise _Malformed(f"a field past its message's end at byte {pos}")
        yield number, wire, pos, value_start, value_end
        pos = value_end


def _copy(buf, start: int, end: int, keep, budget: list[int]) -> bytes:
    """The message in [start, end) with ``keep(number, wire, value_start, value_end)``'s
    answer for each field: True copies it, False drops it, bytes replace its value."""
    out = bytearray()
    for number, wire, field, value_start, value_end in _fields(buf, start, end, budget):
        kept = keep(number, wire, value_start, value_end)
        if kept is True:
            out += buf[field:value_end]
        elif kept is not False:
            out += _key(number, 2) + _encode(len(kept)) + kept
    return bytes(out)


def _without_weights(buf) -> bytes:
    """The ModelProto in ``buf`` with every graph initializer's data fields left out."""
    budget = [MAX_FIELDS]

    def tensor(number, wire, a, b):
        return number not in TENSOR_DATA

    def graph(number, wire, a, b):
        return _copy(buf, a, b, tensor, budget) if number == INITIALIZER and wire == 2 else True

    def model(number, wire, a, b):
        return _copy(buf, a, b, graph, budget) if number == GRAPH and wire == 2 else True

    return _copy(buf, 0, len(buf), model, budget)


def _shown(shape: tuple[Dim, ...]) -> str:
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"
