"""TFLite models: the main subgraph's input and output tensors, read from the flatbuffer.

The file is memory-mapped and read through the ``tflite`` package's schema accessors (the
flatbuffers code generated from TFLite's ``schema.fbs``); no interpreter is created, no op is
run. FlatBuffers' Python code has no verifier, so every offset a hostile file can bend is
bounded here: a vector longer than the file could hold is refused before it is walked, an
offset past the end raises inside the accessors and becomes one :class:`SourceError`.
"""

from __future__ import annotations

import mmap
import struct
from pathlib import Path

from ..errors import SourceError, UnsafeInputError
from .base import Dim, ModelFacts, TensorSpec, output_units

#: TensorType → numpy's name (schema.fbs ``enum TensorType``); others by their TFLite name
DTYPES = {0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 5: "str", 6: "bool",
          7: "int16", 8: "complex64", 9: "int8", 10: "float64", 11: "complex128", 12: "uint64",
          15: "uint32", 16: "uint16"}  # fmt: skip
#: BuiltinOperator codes (schema.fbs) the reader looks for
SOFTMAX, LOGISTIC, LOG_SOFTMAX = 25, 14, 50
FULLY_CONNECTED, BATCH_MATMUL, ADD = 9, 126, 0
GATHER, EMBEDDING_LOOKUP, CAST, RESHAPE = 36, 7, 53, 22
RECURRENT = {16: "LSTM", 24: "RNN", 35: "UNIDIRECTIONAL_SEQUENCE_RNN",
             44: "UNIDIRECTIONAL_SEQUENCE_LSTM", 46: "BIDIRECTIONAL_SEQUENCE_RNN",
             52: "BIDIRECTIONAL_SEQUENCE_LSTM"}  # fmt: skip
#: RESHAPE/CAST ops followed back from the output or an embedding's ids, at most
MAX_HOPS = 16


class _Bounds:
    """Vector lengths checked against the file: every element takes at least 4 bytes, so one
    vector is at most size/4 long and all of them together too. A hostile file can point many
    tables at one long vector (flatbuffers offsets may be shared); the running total stops it
    (the reader walks a vector at most three times: size elements in all, + slack)."""

    def __init__(self, path: Path, size: int):
        self.path, self.size = path, size
        self.left = size + 10_000

    def __call__(self, n: int, what: str) -> int:
        self.left -= max(n, 0)
        if n < 0 or n * 4 > self.size:
            raise UnsafeInputError(f"{self.path}: the TFLite flatbuffer declares {n:,} {what} in "
                                   f"{self.size:,} bytes; the file is corrupt or hostile")  # fmt: skip
        if self.left < 0:
            raise UnsafeInputError(f"{self.path}: the TFLite flatbuffer's vectors add up to more "
                                   f"elements than {self.size:,} bytes hold (tables sharing one "
                                   "vector); the file is corrupt or hostile")  # fmt: skip
        return n


def read_tflite(path: Path) -> ModelFacts:
    """The facts a ``.tflite`` flatbuffer declares about its main subgraph."""
    try:
        from tflite.Model import Model
    except ImportError:
        raise SourceError(f"{path}: reading TFLite models needs the tflite package: "
                          "pip install 'dsdoctor[models]'") from None  # fmt: skip
    size = path.stat().st_size
    if size < 8:
        raise SourceError(f"{path}: {size} bytes is not a TFLite model")
    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        if bytes(buf[4:8]) != b"TFL3":
            raise SourceError(f"{path}: not a TFLite model (no TFL3 identifier at byte 4); "
                              "convert it with tf.lite.TFLiteConverter or ai-edge-torch")  # fmt: skip
        try:
            return _facts(path, Model.GetRootAs(buf, 0), _Bounds(path, size))
        except UnsafeInputError:
            raise
        except (struct.error, IndexError, ValueError, TypeError, OverflowError) as exc:
            raise SourceError(f"{path}: a TFLite flatbuffer with offsets outside the file "
                              f"({type(exc).__name__}: {exc}); convert the model again") from None  # fmt: skip


def _facts(path: Path, model, bound: _Bounds) -> ModelFacts:
    notes: list[str] = []
    n_graphs = bound(model.SubgraphsLength(), "subgraphs")
    if n_graphs == 0:
        raise SourceError(f"{path}: a TFLite model with no subgraph")
    if n_graphs > 1:
        notes.append(f"{n_graphs} subgraphs; the inputs are the first one's (the main graph)")
    graph = model.Subgraphs(0)
    n_tensors = bound(graph.TensorsLength(), "tensors")
    names = _signature_names(model, bound)
    codes = [max(c.BuiltinCode(), c.DeprecatedBuiltinCode())
             for c in (model.OperatorCodes(i)
                       for i in range(bound(model.OperatorCodesLength(), "operator codes")))]  # fmt: skip

    def tensor_index(i: int) -> int:
        if not 0 <= i < n_tensors:
            raise SourceError(f"{path}: the TFLite graph names tensor {i} of {n_tensors}; "
                              "the file is corrupt")  # fmt: skip
        return i

    def spec(i: int) -> TensorSpec:
        t = graph.Tensors(tensor_index(i))
        sig = [t.ShapeSignature(j) for j in range(bound(t.ShapeSignatureLength(), "dims"))]
        dims = sig or [t.Shape(j) for j in range(bound(t.ShapeLength(), "dims"))]
        shape: tuple[Dim, ...] = tuple(None if d < 0 else int(d) for d in dims)
        name = names.get(i) or (t.Name() or b"").decode("utf-8", "replace")
        kind = t.Type()
        return TensorSpec(name, shape, DTYPES.get(kind, f"tflite-type-{kind}"))

    in_idx = [graph.Inputs(j) for j in range(bound(graph.InputsLength(), "inputs"))]
    out_idx = [graph.Outputs(j) for j in range(bound(graph.OutputsLength(), "outputs"))]
    inputs = tuple(spec(i) for i in in_idx)
    outputs = tuple(spec(i) for i in out_idx)
    where: dict[str, str] = {}
    for i, entry in zip(in_idx, inputs, strict=True):
        tensor = (graph.Tensors(i).Name() or b"").decode("utf-8", "replace")
        where[f"input:{entry.name}"] = f"input `{entry.name}`" + (
            f" (tensor `{tensor}`)" if tensor and tensor != entry.name else "")  # fmt: skip

    ops = [graph.Operators(k) for k in range(bound(graph.OperatorsLength(), "operators"))]

    def code(op) -> int | None:
        k = op.OpcodeIndex()
        return codes[k] if 0 <= k < len(codes) else None

    def op_inputs(op) -> list[int]:
        return [op.Inputs(j) for j in range(bound(op.InputsLength(), "operator inputs"))]

    producers = {op.Outputs(j): op for op in ops
                 for j in range(bound(op.OutputsLength(), "operator outputs"))}  # fmt: skip
    confidence: dict[str, str] = {}
    activation = units = None
    if outputs:
        first = outputs[0]
        if len(outputs) > 1:
            notes.append(f"{len(outputs)} outputs; the facts about the output are read "
                         f"from the first, `{first.name}`")  # fmt: skip
        op = producers.get(out_idx[0])
        for _ in range(MAX_HOPS):  # bounded: a hostile graph may loop back on itself
            if op is None or code(op) not in (RESHAPE, CAST) or not op_inputs(op):
                break
            op = producers.get(op_inputs(op)[0])
        c = code(op) if op is not None else None
        if c in (SOFTMAX, LOG_SOFTMAX):
            activation, name = "softmax", "SOFTMAX" if c == SOFTMAX else "LOG_SOFTMAX"
        elif c == LOGISTIC:
            activation, name = "sigmoid", "LOGISTIC"
        elif c == BATCH_MATMUL or (c in (FULLY_CONNECTED, ADD) and _fused_activation(op) == 0):
            activation, name = "linear", {FULLY_CONNECTED: "FULLY_CONNECTED",
                                          BATCH_MATMUL: "BATCH_MATMUL", ADD: "ADD"}[c]  # fmt: skip
        if activation is not None:
            where["output_activation"] = f"{name} op → output `{first.name}`"
        found = output_units(first.shape)
        if found is not None:
            units, axis = found
            where["output_units"] = f"output `{first.name}`" + (
                f" axis {axis}" if axis != len(first.shape or ()) - 1 else ""
            )

    vocab_size = None
    by_input = dict(zip(in_idx, inputs, strict=True))
    for op in ops:
        c = code(op)
        if c not in (GATHER, EMBEDDING_LOOKUP):
            continue
        args = op_inputs(op)
        if len(args) < 2:
            continue
        table, ids = (args[0], args[1]) if c == GATHER else (args[1], args[0])
        for _ in range(MAX_HOPS):
            feeder = producers.get(ids)
            if ids in by_input or feeder is None or code(feeder) != CAST or not op_inputs(feeder):
                break
            ids = op_inputs(feeder)[0]
        t = graph.Tensors(tensor_index(table))
        if (
            ids in by_input
            and bound(t.ShapeLength(), "dims") == 2
            and _is_constant(model, t, bound)
        ):
            vocab_size = int(t.Shape(0))
            where["vocab_size"] = (f"{'GATHER' if c == GATHER else 'EMBEDDING_LOOKUP'} on "
                                   f"constant `{(t.Name() or b'').decode('utf-8', 'replace')}` "
                                   f"(input `{by_input[ids].name}`)")  # fmt: skip
            confidence["vocab_size"] = "inferred"
            break

    recurrent = next((RECURRENT[c] for op in ops if (c := code(op)) in RECURRENT), None)
    if recurrent is not None:
        where["recurrent"] = f"{recurrent} op"
    elif any(code(op) == 119 for op in ops):  # WHILE: how the converter lowers a Keras GRU
        notes.append("the graph has a WHILE loop (a recurrent layer may be lowered to one); "
                     "not counted as recurrent")  # fmt: skip
    return ModelFacts(
        path=str(path),
        format="tflite",
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


def _signature_names(model, bound: _Bounds) -> dict[int, str]:
    """Tensor index → the name the first signature (``serving_default``) gives it: the Keras
    input's name, where the tensor's own is ``serving_default_features:0``."""
    names: dict[int, str] = {}
    if bound(model.SignatureDefsLength(), "signatures") == 0:
        return names
    sig = model.SignatureDefs(0)
    if sig.SubgraphIndex() != 0:
        return names
    for maps, length in ((sig.Inputs, sig.InputsLength), (sig.Outputs, sig.OutputsLength)):
        for j in range(bound(length(), "signature tensors")):
            m = maps(j)
            names[m.TensorIndex()] = (m.Name() or b"").decode("utf-8", "replace")
    return names


def _fused_activation(op) -> int:
    """The FULLY_CONNECTED/ADD op's fused activation (0 = NONE, the default without options)."""
    table = op.BuiltinOptions()
    if table is None:
        return 0
    from tflite.FullyConnectedOptions import FullyConnectedOptions

    opts = FullyConnectedOptions()  # FusedActivationFunction is field 0 of both option tables
    opts.Init(table.Bytes, table.Pos)
    return int(opts.FusedActivationFunction())


def _is_constant(model, tensor, bound: _Bounds) -> bool:
    """The tensor's buffer holds data (an embedding table), not an empty placeholder."""
    b = tensor.Buffer()
    if not 0 < b < bound(model.BuffersLength(), "buffers"):
        return False
    buf = model.Buffers(b)
    return bool(buf.DataLength() or buf.Offset())
