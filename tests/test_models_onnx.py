"""ONNX models read by ``read_model``: graphs exported from real torch modules and built with
``onnx.helper``, and hostile files (external data at /etc/passwd, truncated, garbage, huge)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pytest

from dsdoctor.errors import SourceError
from dsdoctor.models import read_model

from .model_read_guarded import guarded_read

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402


def _export(module, example, path, names, dynamic):
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():  # the TorchScript exporter's deprecation and LSTM notes
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), example, str(path), dynamo=False,
                          input_names=names[0], output_names=names[1],
                          dynamic_axes=dynamic)  # fmt: skip
    return path


@pytest.fixture(scope="module")
def torch_models(tmp_path_factory):
    torch = pytest.importorskip("torch")
    nn = torch.nn
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("onnx")

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.dense = nn.Linear(3, 2)

        def forward(self, x):
            return torch.softmax(self.dense(x), dim=-1)

    class Sequence(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(3, 4, batch_first=True)
            self.head = nn.Linear(4, 1)

        def forward(self, x):
            out, _ = self.gru(x)
            return torch.sigmoid(self.head(out[:, -1]))

    class Tokens(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(50, 8, padding_idx=0)
            self.lstm = nn.LSTM(8, 6, batch_first=True)
            self.head = nn.Linear(6, 3)

        def forward(self, ids):
            out, _ = self.lstm(self.embedding(ids))
            return self.head(out[:, -1])

    batch = {0: "batch"}
    return {
        "dense": _export(Classifier(), (torch.zeros(4, 3),), folder / "dense.onnx",
                         (["features"], ["probs"]), {"features": batch, "probs": batch}),
        "gru": _export(Sequence(), (torch.zeros(4, 5, 3),), folder / "gru.onnx",
                       (["x"], ["p"]), {"x": batch, "p": batch}),
        "tokens": _export(Tokens(), (torch.ones(2, 7, dtype=torch.int64),), folder / "tokens.onnx",
                          (["ids"], ["logits"]), {"ids": {0: "batch", 1: "time"}, "logits": batch}),
    }  # fmt: skip


def test_torch_linear_softmax(torch_models):
    facts = read_model(torch_models["dense"])
    assert facts.format == "onnx"
    assert [(t.name, t.shape, t.dtype) for t in facts.inputs] == [
        ("features", ("batch", 3), "float32")
    ]
    assert [(t.name, t.shape) for t in facts.outputs] == [("probs", ("batch", 2))]
    assert (facts.output_activation, facts.output_units) == ("softmax", 2)
    assert facts.where["output_units"] == "output `probs`"
    assert facts.where["input:features"] == "input `features`"
    assert facts.where["output_activation"].startswith("Softmax node")
    assert not facts.recurrent and facts.vocab_size is None
    # the Linear layer's weight and bias are initializers, not inputs
    assert len(onnx.load(str(torch_models["dense"])).graph.initializer) == 2


def test_torch_gru_with_a_dynamic_batch(torch_models):
    facts = read_model(torch_models["gru"])
    (x,) = facts.inputs
    assert (x.name, x.shape, x.dtype) == ("x", ("batch", 5, 3), "float32")
    assert facts.recurrent and facts.where["recurrent"].startswith("GRU node")
    assert (facts.output_activation, facts.output_units) == ("sigmoid", 1)
    assert not any("fixed batch" in n for n in facts.notes)


def test_torch_embedding_lstm_gives_the_vocabulary_as_inferred(torch_models):
    facts = read_model(torch_models["tokens"])
    (ids,) = facts.inputs
    assert (ids.name, ids.shape, ids.dtype) == ("ids", ("batch", "time"), "int64")
    assert facts.vocab_size == 50 and facts.confidence["vocab_size"] == "inferred"
    assert "`embedding.weight`" in facts.where["vocab_size"]
    assert "input `ids`" in facts.where["vocab_size"]
    assert facts.recurrent and facts.where["recurrent"].startswith("LSTM node")
    assert (facts.output_activation, facts.output_units) == ("linear", 3)


@pytest.mark.slow
def test_the_dynamo_exporter(tmp_path):
    """torch.onnx.export's default since torch 2.9 (torch.export + onnxscript): a dynamic
    batch Dim, node names of its own, and LSTM weights it may store as external data."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnxscript")

    class Tokens(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = torch.nn.Embedding(100, 8)
            self.lstm = torch.nn.LSTM(8, 4, batch_first=True)
            self.head = torch.nn.Linear(4, 1)

        def forward(self, ids):
            out, _ = self.lstm(self.embedding(ids))
            return torch.sigmoid(self.head(out[:, -1]))

    path = tmp_path / "dynamo.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Tokens().eval(), (torch.ones(4, 7, dtype=torch.int64),), str(path),
                          dynamo=True, input_names=["ids"], output_names=["p"],
                          dynamic_shapes=({0: torch.export.Dim("batch")},))  # fmt: skip
    facts = guarded_read(path, forbidden=(".onnx.data",))["facts"]
    assert [(t["name"], t["shape"], t["dtype"]) for t in facts["inputs"]] == [
        ("ids", ["batch", 7], "int64")
    ]
    assert facts["vocab_size"] == 100 and facts["recurrent"]
    assert (facts["output_activation"], facts["output_units"]) == ("sigmoid", 1)


def test_log_softmax_is_a_softmax_output_and_said(tmp_path):
    torch = pytest.importorskip("torch")

    class LogProbs(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.dense = torch.nn.Linear(3, 4)

        def forward(self, x):
            return torch.log_softmax(self.dense(x), dim=1)

    path = _export(LogProbs(), (torch.zeros(2, 3),), tmp_path / "log.onnx", (["x"], ["y"]),
                   {"x": {0: "n"}, "y": {0: "n"}})  # fmt: skip
    facts = read_model(path)
    assert (facts.output_activation, facts.output_units) == ("softmax", 4)
    assert any("LogSoftmax" in n for n in facts.notes)


def test_a_fixed_batch_is_noted(tmp_path):
    torch = pytest.importorskip("torch")
    path = _export(torch.nn.Linear(3, 2), (torch.zeros(4, 3),), tmp_path / "fixed.onnx",
                   (["x"], ["y"]), None)  # fmt: skip
    facts = read_model(path)
    assert facts.inputs[0].shape == (4, 3)
    assert any("fixed batch size of 4" in n for n in facts.notes)
    assert facts.output_activation == "linear"


def _helper_model(path, *, external=None, output_op="Sigmoid"):
    """Two inputs with named dims (N, T), an initializer also listed in graph.input (as old
    exporters write it), a MatMul and the given last op; onnx.checker accepts it."""
    w = helper.make_tensor("w", TensorProto.FLOAT, [3, 1], np.ones(3, np.float32).tolist())
    inits = [w]
    if external is not None:
        inits.append(external)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["frames", "w"], ["z"], name="dense"),
         helper.make_node("ReduceMean", ["z", "axes"], ["m"], keepdims=0, name="pool"),
         helper.make_node("Add", ["m", "offset"], ["s"], name="add"),
         helper.make_node(output_op, ["s"], ["score"], name="out")],
        "two_inputs",
        [helper.make_tensor_value_info("frames", TensorProto.FLOAT, ["N", "T", 3]),
         helper.make_tensor_value_info("offset", TensorProto.FLOAT, ["N", 1]),
         helper.make_tensor_value_info("w", TensorProto.FLOAT, [3, 1])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["N", 1])],
        initializer=[*inits, helper.make_tensor("axes", TensorProto.INT64, [1], [1])],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    if external is None:
        onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    return path


def test_helper_graph_with_named_dims_and_two_inputs(tmp_path):
    facts = read_model(_helper_model(tmp_path / "two.onnx"))
    assert [(t.name, t.shape, t.dtype) for t in facts.inputs] == [
        ("frames", ("N", "T", 3), "float32"),
        ("offset", ("N", 1), "float32"),
    ]  # `w` is listed in graph.input but is an initializer
    assert facts.outputs[0].shape == ("N", 1)
    assert (facts.output_activation, facts.output_units) == ("sigmoid", 1)
    assert not facts.recurrent and facts.notes == ()


def test_an_unnamed_dim_and_a_non_numpy_dtype(tmp_path):
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.BFLOAT16, [None, 4])],
        [helper.make_tensor_value_info("y", TensorProto.BFLOAT16, [None, 4])],
    )  # fmt: skip
    path = tmp_path / "bf16.onnx"
    path.write_bytes(helper.make_model(graph).SerializeToString())
    facts = read_model(path)
    assert facts.inputs[0].shape == (None, 4)
    assert facts.inputs[0].dtype == "bfloat16"
    assert facts.output_activation is None  # Identity of an input: no layer to read


# --- hostile files ------------------------------------------------------------------------


def _external_model(folder):
    """A graph with tensors whose data lives outside the file: at /etc/passwd (claiming
    1 TB), at a path escaping the folder, and in a real sibling file."""
    (folder / "weights.bin").write_bytes(np.ones(1000, np.float32).tobytes())
    tensors = []
    for name, location, length in (("secret", "/etc/passwd", 10**12),
                                   ("escape", "../../../../../../etc/passwd", 64),
                                   ("sibling", "weights.bin", 4000)):  # fmt: skip
        t = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=[length // 4])
        t.data_location = TensorProto.EXTERNAL
        for k, v in (("location", location), ("offset", "0"), ("length", str(length))):
            t.external_data.add(key=k, value=v)
        tensors.append(t)
    path = _helper_model(folder / "external.onnx", external=tensors[0])
    model = onnx.load(str(path), load_external_data=False)
    model.graph.initializer.extend(tensors[1:])
    path.write_bytes(model.SerializeToString())
    return path


def test_external_data_is_never_opened(tmp_path):
    """The graph is read and the external tensors are counted; no Python-level open of any of
    their locations (the audit hook; onnx's own loader opens in C++, see the strace test)."""
    out = guarded_read(_external_model(tmp_path), forbidden=("passwd", "weights.bin"))
    facts = out["facts"]
    assert [t["name"] for t in facts["inputs"]] == ["frames", "offset"]
    assert any("3 weight tensor(s) are stored as external data" in n for n in facts["notes"])


def _file_syscalls(tmp_path, code: str) -> str:
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed")
    log = tmp_path / "strace.log"
    p = subprocess.run(["strace", "-f", "-qq", "-e", "trace=%file", "-o", str(log),
                        sys.executable, "-c", code], capture_output=True, text=True)  # fmt: skip
    if not log.exists() or "ptrace" in p.stderr:
        pytest.skip(f"strace cannot trace here: {p.stderr.strip()[:200]}")
    return log.read_text()


def test_no_system_call_touches_the_external_data(tmp_path):
    """Every file system call of the reading process, from the kernel's side: none names
    /etc/passwd or the sibling weights file (not even a stat)."""
    path = _external_model(tmp_path)
    code = f"from dsdoctor.models import read_model; read_model({str(path)!r})"
    calls = _file_syscalls(tmp_path, code)
    assert "external.onnx" in calls  # the trace sees the reader's own open
    assert "weights.bin" not in calls
    assert "passwd" not in calls


def test_the_trace_sees_a_reader_that_follows_external_data(tmp_path):
    """onnx.load's default (external data loaded) on the same kind of file shows up in the
    trace, so the test before it can fail."""
    (tmp_path / "weights.bin").write_bytes(np.ones(4, np.float32).tobytes())
    t = TensorProto(name="sibling", data_type=TensorProto.FLOAT, dims=[4])
    t.data_location = TensorProto.EXTERNAL
    t.external_data.add(key="location", value="weights.bin")
    path = _helper_model(tmp_path / "m.onnx", external=t)
    calls = _file_syscalls(tmp_path, f"import onnx; onnx.load({str(path)!r})")
    assert "weights.bin" in calls


def test_weights_inside_the_file_are_not_read_into_memory(tmp_path):
    """A 128 MB embedding table stored in the file: the vocabulary is read from its dims, and
    the reading process grows by far less than the table (the weights' bytes are skipped)."""
    table = onnx.numpy_helper.from_array(np.zeros((32768, 1024), np.float32), "table")
    graph = helper.make_graph(
        [helper.make_node("Gather", ["table", "ids"], ["vectors"], name="embedding")], "big",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", "time"])],
        [helper.make_tensor_value_info("vectors", TensorProto.FLOAT, ["batch", "time", 1024])],
        initializer=[table],
    )  # fmt: skip
    big = tmp_path / "big.onnx"
    big.write_bytes(helper.make_model(graph).SerializeToString())
    del table, graph
    small = _helper_model(tmp_path / "small.onnx")
    code = (
        "import resource, sys\nfrom dsdoctor.models import read_model\n"
        "read_model(sys.argv[1])\nbefore = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "facts = read_model(sys.argv[2])\n"
        "grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before\n"
        "print(facts.vocab_size, grew // 1024)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(small), str(big)],
                         capture_output=True, text=True, check=True)  # fmt: skip
    vocab, grew_mb = map(int, out.stdout.split())
    assert big.stat().st_size > 128 * 2**20
    assert vocab == 32768
    assert grew_mb < 32, f"reading grew the process by {grew_mb} MB"


def test_a_tensor_of_millions_of_one_float_fields_is_cut_short(tmp_path, monkeypatch):
    """Data written as one field per float (valid protobuf, never written by an exporter):
    the walk stops at MAX_FIELDS instead of looping per float."""
    import struct

    from dsdoctor.models import onnx as reader

    monkeypatch.setattr(reader, "MAX_FIELDS", 10_000)

    def model_with(n: int):
        t = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[n]).SerializeToString()
        t += (reader._key(4, 5) + struct.pack("<f", 1.0)) * n
        graph = _helper_model(tmp_path / "base.onnx")
        m = onnx.load(str(graph))
        g = m.graph.SerializeToString() + reader._key(5, 2) + reader._encode(len(t)) + t
        m.ClearField("graph")
        path = tmp_path / f"fields{n}.onnx"
        path.write_bytes(m.SerializeToString() + reader._key(7, 2) + reader._encode(len(g)) + g)
        return path

    assert [t.name for t in read_model(model_with(1000)).inputs] == ["frames", "offset"]
    with pytest.raises(SourceError, match="more than 10,000 protobuf fields"):
        read_model(model_with(20_000))


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_a_truncated_model_is_a_clean_error(torch_models, tmp_path, cut):
    data = torch_models["tokens"].read_bytes()
    path = tmp_path / "cut.onnx"
    path.write_bytes(data[: int(len(data) * cut)])
    out = guarded_read(path)
    assert out["error"] == "SourceError", out
    assert "ONNX" in out["message"] and str(path) in out["message"]


@pytest.mark.parametrize("content", [b"", os.urandom(4096), b"\x00" * 64, b"name: not protobuf\n"],
                         ids=["empty", "random", "zeros", "text"])  # fmt: skip
def test_garbage_is_a_clean_error(tmp_path, content):
    path = tmp_path / "garbage.onnx"
    path.write_bytes(content)
    with pytest.raises(SourceError, match="ONNX model"):
        read_model(path)


def test_a_file_past_the_protobuf_limit_is_refused_unread(tmp_path):
    """A sparse 3 GiB file: refused by its size before a byte is read, under a 1 GiB
    address-space limit that reading it would break."""
    path = tmp_path / "huge.onnx"
    with path.open("wb") as f:
        f.truncate(3 * 2**30)
    out = guarded_read(path, limit=2**30)
    assert out["error"] == "UnsafeInputError"
    assert "2 GiB" in out["message"] and "external data" in out["message"]


def test_without_onnx_the_error_names_the_extra(torch_models):
    code = (
        "import sys; sys.modules['onnx'] = None\n"
        "from dsdoctor.errors import SourceError\nfrom dsdoctor.models import read_model\n"
        f"try:\n    read_model({str(torch_models['dense'])!r})\n"
        "except SourceError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'dsdoctor[models]'" in out.stdout


def test_subgraphs_nested_two_thousand_deep_are_a_clean_error(tmp_path):
    """`If` nodes whose branch holds another `If`, 2000 levels (written field by field): the
    protobuf parser's depth limit answers, not a stack overflow."""
    from dsdoctor.models.onnx import _encode, _key

    def field(number, payload):
        return _key(number, 2) + _encode(len(payload)) + payload

    inner = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 4])],
    ).SerializeToString()  # fmt: skip
    graph = inner
    for _ in range(2000):
        attribute = onnx.AttributeProto(name="then_branch", type=onnx.AttributeProto.GRAPH)
        node = helper.make_node("If", ["c"], ["o"]).SerializeToString()
        graph = inner + field(1, node + field(5, attribute.SerializeToString() + field(6, graph)))
    model = helper.make_model(helper.make_graph([], "outer", [], []))
    model.ClearField("graph")
    path = tmp_path / "deep.onnx"
    path.write_bytes(model.SerializeToString() + field(7, graph))
    out = guarded_read(path)
    assert out["error"] == "SourceError" and "not a readable ONNX model" in out["message"]


def test_a_graph_that_loops_back_on_itself_is_read_in_bounded_steps(tmp_path):
    """Identity nodes feeding each other (not a DAG: no exporter writes it) before the output
    and before a Gather's ids: the walk back stops, the facts come back."""
    table = helper.make_tensor("table", TensorProto.FLOAT, [10, 2], [0.0] * 20)
    graph = helper.make_graph(
        [helper.make_node("Identity", ["b"], ["a"]), helper.make_node("Identity", ["a"], ["b"]),
         helper.make_node("Gather", ["table", "a"], ["v"]),
         helper.make_node("Identity", ["y"], ["y"])],
        "loop",
        [helper.make_tensor_value_info("x", TensorProto.INT64, ["n", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 3, 2])],
        initializer=[table],
    )  # fmt: skip
    path = tmp_path / "loop.onnx"
    path.write_bytes(helper.make_model(graph).SerializeToString())
    facts = guarded_read(path, timeout=60)["facts"]
    assert facts["output_activation"] is None and facts["vocab_size"] is None
