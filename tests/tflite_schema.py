"""Build ``.tflite`` files with TFLite's own schema: the flatbuffers builders the ``tflite``
package generates from ``schema.fbs``. No TensorFlow converter installs here; LiteRT's
interpreter (``ai-edge-litert``) loads and runs what this writes, which the tests check.
"""

from __future__ import annotations

import importlib

import flatbuffers
import numpy as np
import tflite

_names = ("Buffer", "Model", "Operator", "OperatorCode", "SubGraph", "Tensor", "SignatureDef",
          "TensorMap", "FullyConnectedOptions", "SoftmaxOptions", "SequenceRNNOptions",
          "GatherOptions")  # fmt: skip
(Buffer, Model, Operator, OperatorCode, SubGraph, Tensor, SignatureDef, TensorMap,
 FullyConnectedOptions, SoftmaxOptions, SequenceRNNOptions, GatherOptions) = (
    importlib.import_module(f"tflite.{m}") for m in _names)  # fmt: skip
BuiltinOptions = tflite.BuiltinOptions
BO = tflite.BuiltinOperator
F32, I32 = tflite.TensorType.FLOAT32, tflite.TensorType.INT32


def _ints(b, start, values):
    start(b, len(values))
    for v in reversed(values):
        b.PrependInt32(v)
    return b.EndVector()


def _tables(b, start, offsets):
    start(b, len(offsets))
    for o in reversed(offsets):
        b.PrependUOffsetTRelative(o)
    return b.EndVector()


def build(tensors, ops, inputs, outputs, signature=None) -> bytes:
    """A one-subgraph model. ``tensors``: (name, shape, shape_signature | None, TensorType,
    constant data | None, is_variable); ``ops``: (BuiltinOperator, input tensor indices,
    output tensor indices, (BuiltinOptions type, options builder) | None); ``signature``:
    {"inputs": [(name, tensor index)], "outputs": [...]} as ``serving_default``."""
    b = flatbuffers.Builder(1024)
    buffers = []
    for data in [None] + [t[4] for t in tensors]:  # buffer 0: the empty sentinel
        vec = None
        if data is not None:
            raw = np.ascontiguousarray(data).tobytes()
            b.StartVector(1, len(raw), 16)
            for byte in reversed(raw):
                b.PrependUint8(byte)
            vec = b.EndVector()
        Buffer.Start(b)
        if vec is not None:
            Buffer.AddData(b, vec)
        buffers.append(Buffer.End(b))
    tensor_offsets = []
    for i, (name, shape, sig, ttype, data, variable) in enumerate(tensors):
        n = b.CreateString(name)
        sh = _ints(b, Tensor.StartShapeVector, list(shape))
        sg = None if sig is None else _ints(b, Tensor.StartShapeSignatureVector, list(sig))
        Tensor.Start(b)
        Tensor.AddShape(b, sh)
        if sg is not None:
            Tensor.AddShapeSignature(b, sg)
        Tensor.AddType(b, ttype)
        Tensor.AddBuffer(b, 0 if data is None else i + 1)
        Tensor.AddName(b, n)
        Tensor.AddIsVariable(b, variable)
        tensor_offsets.append(Tensor.End(b))
    codes = sorted({op[0] for op in ops})
    op_offsets = []
    for code, ins, outs, options in ops:
        iv = _ints(b, Operator.StartInputsVector, ins)
        ov = _ints(b, Operator.StartOutputsVector, outs)
        opts = options[1](b) if options else None
        Operator.Start(b)
        Operator.AddOpcodeIndex(b, codes.index(code))
        Operator.AddInputs(b, iv)
        Operator.AddOutputs(b, ov)
        if options:
            Operator.AddBuiltinOptionsType(b, options[0])
            Operator.AddBuiltinOptions(b, opts)
        op_offsets.append(Operator.End(b))
    tv = _tables(b, SubGraph.StartTensorsVector, tensor_offsets)
    iv = _ints(b, SubGraph.StartInputsVector, inputs)
    ov = _ints(b, SubGraph.StartOutputsVector, outputs)
    opv = _tables(b, SubGraph.StartOperatorsVector, op_offsets)
    name = b.CreateString("main")
    SubGraph.Start(b)
    SubGraph.AddTensors(b, tv)
    SubGraph.AddInputs(b, iv)
    SubGraph.AddOutputs(b, ov)
    SubGraph.AddOperators(b, opv)
    SubGraph.AddName(b, name)
    graph = SubGraph.End(b)
    code_offsets = []
    for code in codes:
        OperatorCode.Start(b)
        OperatorCode.AddDeprecatedBuiltinCode(b, min(code, 127))
        OperatorCode.AddBuiltinCode(b, code)
        OperatorCode.AddVersion(b, 1)
        code_offsets.append(OperatorCode.End(b))
    signatures = None
    if signature:
        maps = {}
        for kind in ("inputs", "outputs"):
            entries = []
            for tname, index in signature[kind]:
                s = b.CreateString(tname)
                TensorMap.Start(b)
                TensorMap.AddName(b, s)
                TensorMap.AddTensorIndex(b, index)
                entries.append(TensorMap.End(b))
            maps[kind] = entries
        si = _tables(b, SignatureDef.StartInputsVector, maps["inputs"])
        so = _tables(b, SignatureDef.StartOutputsVector, maps["outputs"])
        key = b.CreateString("serving_default")
        SignatureDef.Start(b)
        SignatureDef.AddInputs(b, si)
        SignatureDef.AddOutputs(b, so)
        SignatureDef.AddSignatureKey(b, key)
        SignatureDef.AddSubgraphIndex(b, 0)
        signatures = _tables(b, Model.StartSignatureDefsVector, [SignatureDef.End(b)])
    cv = _tables(b, Model.StartOperatorCodesVector, code_offsets)
    gv = _tables(b, Model.StartSubgraphsVector, [graph])
    bv = _tables(b, Model.StartBuffersVector, buffers)
    description = b.CreateString("dsdoctor tests")
    Model.Start(b)
    Model.AddVersion(b, 3)
    Model.AddOperatorCodes(b, cv)
    Model.AddSubgraphs(b, gv)
    Model.AddDescription(b, description)
    Model.AddBuffers(b, bv)
    if signatures is not None:
        Model.AddSignatureDefs(b, signatures)
    b.Finish(Model.End(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def dense_softmax(seed: int = 0) -> bytes:
    """Keras' ``Dense(2, activation="softmax")`` on ``Input((3,), name="features")`` as the
    converter writes it: FULLY_CONNECTED then SOFTMAX, batch -1 in the shape signatures, the
    signature naming the input ``features`` (its tensor is ``serving_default_features:0``)."""
    rng = np.random.default_rng(seed)

    def fc(b):
        FullyConnectedOptions.Start(b)
        FullyConnectedOptions.AddFusedActivationFunction(b, 0)
        return FullyConnectedOptions.End(b)

    def softmax(b):
        SoftmaxOptions.Start(b)
        SoftmaxOptions.AddBeta(b, 1.0)
        return SoftmaxOptions.End(b)

    tensors = [("serving_default_features:0", [1, 3], [-1, 3], F32, None, False),
               ("dense/kernel", [2, 3], None, F32, rng.standard_normal((2, 3), np.float32), False),
               ("dense/bias", [2], None, F32, np.zeros(2, np.float32), False),
               ("dense/logits", [1, 2], [-1, 2], F32, None, False),
               ("StatefulPartitionedCall:0", [1, 2], [-1, 2], F32, None, False)]  # fmt: skip
    ops = [(BO.FULLY_CONNECTED, [0, 1, 2], [3], (BuiltinOptions.FullyConnectedOptions, fc)),
           (BO.SOFTMAX, [3], [4], (BuiltinOptions.SoftmaxOptions, softmax))]  # fmt: skip
    return build(tensors, ops, [0], [4], {"inputs": [("features", 0)], "outputs": [("probs", 4)]})


def embedding_rnn(vocab: int = 100, steps: int = 5, seed: int = 0) -> bytes:
    """Token ids (batch, steps) int32 → GATHER on a (vocab, 8) table → a sequence RNN of 4
    units → LOGISTIC: an embedding, a recurrent layer and a sigmoid output."""
    rng = np.random.default_rng(seed)

    def gather(b):
        GatherOptions.Start(b)
        GatherOptions.AddAxis(b, 0)
        return GatherOptions.End(b)

    def rnn(b):
        SequenceRNNOptions.Start(b)
        SequenceRNNOptions.AddTimeMajor(b, False)
        SequenceRNNOptions.AddFusedActivationFunction(b, tflite.ActivationFunctionType.TANH)
        return SequenceRNNOptions.End(b)

    f32 = np.float32
    tensors = [("ids", [1, steps], [-1, steps], I32, None, False),
               ("embedding/table", [vocab, 8], None, F32, rng.standard_normal((vocab, 8), f32), False),
               ("embedded", [1, steps, 8], [-1, steps, 8], F32, None, False),
               ("rnn/w_in", [4, 8], None, F32, rng.standard_normal((4, 8), f32), False),
               ("rnn/w_rec", [4, 4], None, F32, rng.standard_normal((4, 4), f32), False),
               ("rnn/bias", [4], None, F32, np.zeros(4, f32), False),
               ("rnn/state", [1, 4], None, F32, None, True),
               ("rnn/out", [1, steps, 4], [-1, steps, 4], F32, None, False),
               ("scores", [1, steps, 4], [-1, steps, 4], F32, None, False)]  # fmt: skip
    ops = [(BO.GATHER, [1, 0], [2], (BuiltinOptions.GatherOptions, gather)),
           (BO.UNIDIRECTIONAL_SEQUENCE_RNN, [2, 3, 4, 5, 6], [7],
            (BuiltinOptions.SequenceRNNOptions, rnn)),
           (BO.LOGISTIC, [7], [8], None)]  # fmt: skip
    return build(tensors, ops, [0], [8])
