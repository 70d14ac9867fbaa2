"""TFLite models read by ``read_model``: flatbuffers written with TFLite's schema (and run by
LiteRT's interpreter where it installs), and hostile ones (bad offsets, huge vectors)."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from dsdoctor.errors import DsdoctorError, SourceError, UnsafeInputError
from dsdoctor.models import ModelFacts, read_model

from .model_read_guarded import guarded_read

pytest.importorskip("tflite")
from . import tflite_schema


@pytest.fixture
def dense(tmp_path):
    path = tmp_path / "dense.tflite"
    path.write_bytes(tflite_schema.dense_softmax())
    return path


@pytest.fixture
def tokens(tmp_path):
    path = tmp_path / "tokens.tflite"
    path.write_bytes(tflite_schema.embedding_rnn(vocab=100, steps=5))
    return path


def test_dense_softmax(dense):
    facts = read_model(dense)
    assert facts.format == "tflite"
    # the signature's name, not the tensor's `serving_default_features:0`; -1 → None
    assert [(t.name, t.shape, t.dtype) for t in facts.inputs] == [
        ("features", (None, 3), "float32")
    ]
    assert [(t.name, t.shape) for t in facts.outputs] == [("probs", (None, 2))]
    assert (facts.output_activation, facts.output_units) == ("softmax", 2)
    assert facts.where["output_activation"] == "SOFTMAX op → output `probs`"
    assert facts.where["input:features"] == "input `features` (tensor `serving_default_features:0`)"
    assert not facts.recurrent and facts.vocab_size is None


def test_embedding_and_sequence_rnn(tokens):
    facts = read_model(tokens)
    (ids,) = facts.inputs
    assert (ids.name, ids.shape, ids.dtype) == ("ids", (None, 5), "int32")
    assert facts.vocab_size == 100 and facts.confidence["vocab_size"] == "inferred"
    assert "`embedding/table`" in facts.where["vocab_size"]
    assert facts.recurrent and facts.where["recurrent"] == "UNIDIRECTIONAL_SEQUENCE_RNN op"
    assert facts.output_activation == "sigmoid"


@pytest.mark.parametrize("which", ["dense", "tokens"])
def test_litert_runs_the_file_and_agrees(request, which):
    """LiteRT's own interpreter loads and runs the file, and reports the same shapes."""
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    path = request.getfixturevalue(which)
    it = litert.Interpreter(model_path=str(path))
    it.allocate_tensors()
    (detail,) = it.get_input_details()
    it.set_tensor(detail["index"], np.ones(detail["shape"], detail["dtype"]))
    it.invoke()
    out = it.get_tensor(it.get_output_details()[0]["index"])
    assert np.isfinite(out).all()
    (spec,) = read_model(path).inputs
    assert spec.shape == tuple(None if d < 0 else int(d) for d in detail["shape_signature"])
    assert spec.dtype == np.dtype(detail["dtype"]).name


# --- hostile files ------------------------------------------------------------------------


def test_every_word_bent_gives_facts_or_a_clean_error(dense, tmp_path):
    """Each 4-byte word of a real file set to a huge offset/length, one at a time: the reader
    answers with facts or an exit-2 error, never another exception, and refuses vectors
    longer than the file at least once."""
    data = dense.read_bytes()
    refused = 0
    for at in range(0, len(data) - 4, 4):
        for word in (0x7FFFFFF0, 0xFFFFFFF0):
            bent = tmp_path / "bent.tflite"
            bent.write_bytes(data[:at] + struct.pack("<I", word) + data[at + 4 :])
            try:
                assert isinstance(read_model(bent), ModelFacts)
            except DsdoctorError as exc:
                assert "\n" not in str(exc)
                refused += isinstance(exc, UnsafeInputError)
    assert refused > 0


def test_a_root_offset_past_the_end(dense, tmp_path):
    path = tmp_path / "root.tflite"
    path.write_bytes(struct.pack("<I", 10**9) + dense.read_bytes()[4:])
    with pytest.raises(SourceError, match="offsets outside the file"):
        read_model(path)


def test_a_vector_length_of_two_billion_is_refused_in_bounded_memory(dense, tmp_path):
    """The subgraph's tensor count rewritten to 2**31 - 1: refused before any is walked, in a
    process limited to 1 GiB of address space."""
    from tflite.Model import Model

    data = bytearray(dense.read_bytes())
    graph = Model.GetRootAs(data, 0).Subgraphs(0)
    at = graph._tab.Vector(graph._tab.Offset(4)) - 4  # the tensors vector's length word
    assert struct.unpack_from("<I", data, at)[0] == 5
    struct.pack_into("<I", data, at, 2**31 - 1)
    path = tmp_path / "long.tflite"
    path.write_bytes(bytes(data))
    out = guarded_read(path, limit=2**30)
    assert out["error"] == "UnsafeInputError"
    assert "2,147,483,647 tensors" in out["message"]


@pytest.mark.parametrize("cut", [7, 40, 0.5])
def test_truncated(dense, tmp_path, cut):
    data = dense.read_bytes()
    path = tmp_path / "cut.tflite"
    path.write_bytes(data[: cut if isinstance(cut, int) else int(len(data) * cut)])
    with pytest.raises(SourceError):
        read_model(path)


def test_not_a_tflite_file(tmp_path):
    path = tmp_path / "model.tflite"
    path.write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(SourceError, match="no TFL3 identifier"):
        read_model(path)


def test_a_dense_layer_without_activation_is_linear(tmp_path):
    t = tflite_schema
    tensors = [("x", [1, 4], [-1, 4], t.F32, None, False),
               ("w", [3, 4], None, t.F32, np.ones((3, 4), np.float32), False),
               ("b", [3], None, t.F32, np.zeros(3, np.float32), False),
               ("y", [1, 3], [-1, 3], t.F32, None, False)]  # fmt: skip
    path = tmp_path / "linear.tflite"
    path.write_bytes(t.build(tensors, [(t.BO.FULLY_CONNECTED, [0, 1, 2], [3], None)], [0], [3]))
    facts = guarded_read(path)["facts"]  # nothing run, nothing opened beside it
    assert (facts["output_activation"], facts["output_units"]) == ("linear", 3)
    assert facts["inputs"][0]["shape"] == [None, 4]


def test_without_the_tflite_package_the_error_names_the_extra(dense):
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['tflite'] = None; sys.modules['tflite.Model'] = None\n"
        "from dsdoctor.errors import SourceError\nfrom dsdoctor.models import read_model\n"
        f"try:\n    read_model({str(dense)!r})\nexcept SourceError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'dsdoctor[models]'" in out.stdout


def test_an_op_feeding_itself_is_read_in_bounded_steps(tmp_path):
    """A RESHAPE whose input is its own output, before the graph's output: the walk back from
    the output stops instead of looping."""
    t = tflite_schema
    tensors = [("x", [1, 4], [-1, 4], t.F32, None, False),
               ("y", [1, 4], [-1, 4], t.F32, None, False)]  # fmt: skip
    path = tmp_path / "loop.tflite"
    path.write_bytes(t.build(tensors, [(t.BO.RESHAPE, [1], [1], None)], [0], [1]))
    facts = guarded_read(path, timeout=60)["facts"]
    assert facts["output_activation"] is None and facts["inputs"][0]["shape"] == [None, 4]


def test_operators_sharing_one_long_vector_are_refused(tmp_path):
    """4000 operators whose outputs are one shared vector of 4000 tensor indices (flatbuffers
    offsets may point at the same bytes): 16 million entries to walk in a 100 kB file. The
    running total refuses it at once."""
    import time

    import flatbuffers

    t = tflite_schema
    n = 4000
    b = flatbuffers.Builder(1024)
    shared = t._ints(b, t.Operator.StartOutputsVector, [1] * n)
    ins = t._ints(b, t.Operator.StartInputsVector, [0])
    ops = []
    for _ in range(n):
        t.Operator.Start(b)
        t.Operator.AddOpcodeIndex(b, 0)
        t.Operator.AddInputs(b, ins)
        t.Operator.AddOutputs(b, shared)
        ops.append(t.Operator.End(b))
    tensors = []
    for name in ("x", "y"):
        s = b.CreateString(name)
        shape = t._ints(b, t.Tensor.StartShapeVector, [1, 4])
        t.Tensor.Start(b)
        t.Tensor.AddShape(b, shape)
        t.Tensor.AddName(b, s)
        tensors.append(t.Tensor.End(b))
    tv = t._tables(b, t.SubGraph.StartTensorsVector, tensors)
    gi = t._ints(b, t.SubGraph.StartInputsVector, [0])
    go = t._ints(b, t.SubGraph.StartOutputsVector, [1])
    opv = t._tables(b, t.SubGraph.StartOperatorsVector, ops)
    t.SubGraph.Start(b)
    t.SubGraph.AddTensors(b, tv)
    t.SubGraph.AddInputs(b, gi)
    t.SubGraph.AddOutputs(b, go)
    t.SubGraph.AddOperators(b, opv)
    graph = t.SubGraph.End(b)
    t.OperatorCode.Start(b)
    t.OperatorCode.AddBuiltinCode(b, t.BO.RESHAPE)
    codes = t._tables(b, t.Model.StartOperatorCodesVector, [t.OperatorCode.End(b)])
    graphs = t._tables(b, t.Model.StartSubgraphsVector, [graph])
    t.Model.Start(b)
    t.Model.AddVersion(b, 3)
    t.Model.AddOperatorCodes(b, codes)
    t.Model.AddSubgraphs(b, graphs)
    b.Finish(t.Model.End(b), file_identifier=b"TFL3")
    path = tmp_path / "shared.tflite"
    path.write_bytes(bytes(b.Output()))
    assert path.stat().st_size < 100_000
    start = time.perf_counter()
    with pytest.raises(UnsafeInputError, match="vectors add up to more elements"):
        read_model(path)
    assert time.perf_counter() - start < 5
