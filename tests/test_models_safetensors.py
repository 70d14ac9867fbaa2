"""safetensors and PyTorch ``.pt`` model files read by ``read_model``: real files written by
``safetensors.torch.save_file``, ``torch.save`` and transformers' ``save_pretrained``, and hostile
ones (a header longer than the file, a 500 MB header, a 1 TB tensor, a pickle calling
``os.system``) refused in bounded memory with nothing executed."""

from __future__ import annotations

import itertools
import json
import os
import re
import struct
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
st = pytest.importorskip("safetensors.torch")
nn = torch.nn

from dsdoctor.errors import SourceError, UnsafeInputError  # noqa: E402
from dsdoctor.models import read_model  # noqa: E402

SRC = str(Path(__file__).resolve().parents[1] / "src")


class GRUNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(3, 8, batch_first=True)
        self.fc = nn.Linear(8, 2)


class LSTMNet(nn.Module):
    def __init__(self, proj: int = 0):
        super().__init__()
        self.lstm = nn.LSTM(5, 6, proj_size=proj)
        self.head = nn.Linear(proj or 6, 4)


class TextNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(100, 16)
        self.lstm = nn.LSTM(16, 32, batch_first=True, bidirectional=True)
        self.out = nn.Linear(64, 5)


class Named(nn.Module):
    """Names without indices: sorted by name, `classifier` comes before `encoder`."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Linear(7, 12)
        self.classifier = nn.Linear(12, 3)


def save(tmp_path: Path, module: nn.Module, name: str = "model.safetensors", **kw) -> Path:
    path = tmp_path / name
    st.save_file(module.state_dict(), str(path), **kw)
    return path


def test_gru_and_linear(tmp_path):
    for path in (save(tmp_path, GRUNet()), tmp_path / "model.pt"):
        if path.suffix == ".pt":
            torch.save(GRUNet().state_dict(), path)
        facts = read_model(path)
        assert facts.format == ("torch" if path.suffix == ".pt" else "safetensors")
        assert facts.inputs[0].shape == (None, None, 3) and facts.inputs[0].dtype == "float32"
        assert facts.recurrent and facts.output_units == 2
        assert (
            facts.where["inputs"] == "gru.weight_ih_l0"
            and facts.where["output_units"] == "fc.weight"
        )
        assert set(facts.confidence.values()) == {"inferred"}
        assert any("a GRU" in n and "3 gates × hidden 8" in n for n in facts.notes)
        assert any("batch_first" in n for n in facts.notes)


def test_lstm_rnn_and_an_ambiguous_gate_count(tmp_path):
    facts = read_model(save(tmp_path, LSTMNet()))
    assert facts.inputs[0].shape == (None, None, 5) and facts.output_units == 4
    assert any("a LSTM" in n and "4 gates × hidden 6" in n for n in facts.notes)
    facts = read_model(save(tmp_path, LSTMNet(proj=2), "proj.safetensors"))  # weight_hh: (24, 2)
    assert any("a LSTM" in n and "hidden 6" in n for n in facts.notes)
    rnn = nn.RNN(2, 7)
    facts = read_model(save(tmp_path, rnn, "rnn.safetensors"))
    assert facts.inputs[0].shape == (None, None, 2) and any("a RNN" in n for n in facts.notes)
    state = {k: v for k, v in nn.GRU(3, 8).state_dict().items() if "hh" not in k}
    st.save_file(state, str(tmp_path / "nohh.safetensors"))
    facts = read_model(tmp_path / "nohh.safetensors")
    assert facts.inputs[0].shape == (None, None, 3) and facts.recurrent
    assert any("GRU (3 gates) or LSTM (4)" in n for n in facts.notes)


def test_embedding_and_lstm(tmp_path):
    facts = read_model(save(tmp_path, TextNet()))
    assert facts.vocab_size == 100 and facts.where["vocab_size"] == "embedding.weight"
    assert facts.inputs[0].shape == (None, None) and facts.inputs[0].dtype == "int64"
    assert facts.recurrent and facts.output_units == 5
    assert any("bidirectional" in n for n in facts.notes)


def test_a_linear_stack_in_module_order(tmp_path):
    sizes = [4, 16, 8, 8, 8, 8, 8, 3]
    layers: list[nn.Module] = []
    for a, b in itertools.pairwise(sizes):
        layers += [nn.Linear(a, b), nn.ReLU()]
    seq = nn.Sequential(*layers[:-1])  # 0.weight … 12.weight: "12" sorts before "2" as text
    facts = read_model(save(tmp_path, seq))
    assert facts.inputs[0].shape == (None, 4) and facts.where["inputs"] == "0.weight"
    assert facts.output_units == 3 and facts.where["output_units"] == "12.weight"
    assert any("chain 4→16→8→8→8→8→8→3" in n for n in facts.notes)


def test_names_without_indices_say_it_is_a_guess(tmp_path):
    facts = read_model(save(tmp_path, Named()))
    assert facts.output_units == 3 and facts.where["output_units"] == "classifier.weight"
    # `classifier` sorts first, but a layer named like a head is taken as the last one
    assert facts.inputs[0].shape == (None, 7) and facts.where["inputs"] == "encoder.weight"
    assert any("the Linear shapes chain 7→12→3" in n for n in facts.notes)
    seq = nn.Sequential()
    seq.add_module("zeta", nn.Linear(5, 6))
    seq.add_module("alpha", nn.Linear(6, 2))
    facts = read_model(save(tmp_path, seq, "guess.safetensors"))  # no index, no head: a guess
    assert facts.inputs[0].shape == (None, 6) and facts.output_units == 6  # wrong, and said so:
    assert any("a guess: its name has no index" in n for n in facts.notes)
    assert any("do not chain" in n for n in facts.notes)
    torch.save(Named().state_dict(), tmp_path / "named.pt")  # a state_dict keeps the order
    facts = read_model(tmp_path / "named.pt")
    assert facts.inputs[0].shape == (None, 7) and facts.output_units == 3


def test_metadata_and_shards_are_noted(tmp_path):
    path = save(tmp_path, GRUNet(), "model-00001-of-00003.safetensors", metadata={"epoch": "7"})
    notes = read_model(path).notes
    assert any("__metadata__" in n and "epoch=7" in n for n in notes)
    assert any("one shard (1 of 3)" in n for n in notes)


def test_a_hugging_face_folder(tmp_path):
    transformers = pytest.importorskip("transformers")
    config = transformers.BertConfig(vocab_size=120, hidden_size=16, num_hidden_layers=1,
                                     num_attention_heads=2, intermediate_size=32,
                                     max_position_embeddings=64, num_labels=3)  # fmt: skip
    transformers.BertForSequenceClassification(config).save_pretrained(tmp_path / "bert")
    facts = read_model(tmp_path / "bert" / "model.safetensors")
    assert (facts.vocab_size, facts.max_positions, facts.output_units) == (120, 64, 3)
    assert facts.inputs[0].name == "input_ids" and facts.inputs[0].shape == (None, None)
    assert (
        facts.confidence["vocab_size"] == "declared"
        and facts.where["output_units"] == "config.json id2label"
    )
    assert any("model_type bert" in n and "hidden_size 16" in n for n in facts.notes)
    gpt = transformers.GPT2Config(vocab_size=50, n_embd=16, n_layer=1, n_head=2, n_positions=32)
    transformers.GPT2LMHeadModel(gpt).save_pretrained(tmp_path / "gpt")
    facts = read_model(tmp_path / "gpt" / "model.safetensors")
    assert (facts.vocab_size, facts.max_positions, facts.output_units) == (50, 32, None)
    # the same weights without their config.json: the names, inferred
    for name in ("bert", "gpt"):
        (tmp_path / name / "config.json").unlink()
    facts = read_model(tmp_path / "bert" / "model.safetensors")
    assert (facts.vocab_size, facts.output_units) == (120, 3)  # word_embeddings, not position
    assert facts.where["vocab_size"] == "bert.embeddings.word_embeddings.weight"
    assert facts.confidence["vocab_size"] == "inferred" and facts.max_positions is None
    facts = read_model(tmp_path / "gpt" / "model.safetensors")
    assert (facts.vocab_size, facts.output_units) == (50, None)  # wte; no head: no guess
    assert any("output units are not inferred" in n for n in facts.notes)


def test_a_convolution_first(tmp_path):
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                        nn.Linear(8, 10))  # fmt: skip
    facts = read_model(save(tmp_path, net))
    assert facts.inputs[0].shape == (None, 3, None, None) and facts.output_units == 10


def test_a_hand_written_config(tmp_path):
    """The documented keys, as a user writes them: num_labels and problem_type."""
    (tmp_path / "config.json").write_text(json.dumps({
        "model_type": "custom", "vocab_size": 100, "max_position_embeddings": 40,
        "num_labels": 4, "problem_type": "multi_label_classification"}))  # fmt: skip
    facts = read_model(save(tmp_path, TextNet()))
    assert (facts.vocab_size, facts.max_positions, facts.output_units) == (100, 40, 4)
    assert facts.output_activation == "sigmoid"
    (tmp_path / "config.json").write_text(json.dumps({"vocab_size": 99}))
    assert any("vocab_size 99 but the weight embedding.weight has 100 rows" in n
               for n in read_model(tmp_path / "model.safetensors").notes)  # fmt: skip
    (tmp_path / "config.json").write_text(json.dumps({"learning_rate": 0.1}))
    facts = read_model(tmp_path / "model.safetensors")  # not a HF config: the names are used
    assert facts.vocab_size == 100 and facts.confidence["vocab_size"] == "inferred"
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(SourceError, match=r"config\.json beside model\.safetensors is not JSON"):
        read_model(tmp_path / "model.safetensors")
    with open(tmp_path / "config.json", "wb") as f:
        f.truncate(500 * 1024**2)  # sparse: 500 MB declared, no disk used
    with pytest.raises(UnsafeInputError, match=r"config\.json of 500\.0 MiB"):
        read_model(tmp_path / "model.safetensors")


def test_a_checkpoint_dict(tmp_path):
    torch.save({"epoch": 3, "model_state_dict": GRUNet().state_dict(),
                "optimizer_state_dict": {"state": {}}}, tmp_path / "ckpt.pth")  # fmt: skip
    facts = read_model(tmp_path / "ckpt.pth")
    assert facts.inputs[0].shape == (None, None, 3)
    assert any("`model_state_dict`" in n for n in facts.notes)
    torch.save(torch.zeros(3), tmp_path / "tensor.pt")
    with pytest.raises(SourceError, match="not a state_dict"):
        read_model(tmp_path / "tensor.pt")


# -- hostile files ----------------------------------------------------------------------------


def header_file(path: Path, header: bytes, data: bytes = b"", length: int | None = None) -> Path:
    path.write_bytes(struct.pack("<Q", len(header) if length is None else length) + header + data)
    return path


def bounded(fn, *args):
    """``fn(*args)``'s exception, with the peak Python memory it took."""
    tracemalloc.start()
    try:
        with pytest.raises((SourceError, UnsafeInputError)) as e:
            fn(*args)
        return e.value, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_header_longer_than_the_file(tmp_path):
    err, peak = bounded(read_model, header_file(tmp_path / "a.safetensors", b"{}", length=10**12))
    assert isinstance(err, UnsafeInputError) and "claims 931.3 GiB" in str(err) and peak < 1e6


def test_a_500_mb_header(tmp_path):
    path = tmp_path / "big.safetensors"
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", 500 * 10**6) + b"{")
        f.truncate(600 * 10**6)  # sparse
    err, peak = bounded(read_model, path)
    assert isinstance(err, UnsafeInputError) and "up to 95.4 MiB" in str(err) and peak < 1e6


def test_a_1_tb_tensor(tmp_path):
    tb = 2**40
    header = json.dumps({"w": {"dtype": "F32", "shape": [tb // 4], "data_offsets": [0, tb]}})
    err, peak = bounded(
        read_model, header_file(tmp_path / "tb.safetensors", header.encode(), b"\0" * 8)
    )
    assert isinstance(err, UnsafeInputError) and "claims 1.0 TiB" in str(err) and peak < 1e6
    # the offsets small but the shape huge: still a 1 TB claim
    header = json.dumps({"w": {"dtype": "F32", "shape": [tb // 4], "data_offsets": [0, 8]}})
    with pytest.raises(UnsafeInputError, match=r"claims 1\.0 TiB"):
        read_model(header_file(tmp_path / "tb2.safetensors", header.encode(), b"\0" * 8))


@pytest.mark.parametrize(("header", "needle"), [
    (b"\xff\xfe{}", "not UTF-8"),
    (b"not json at all", "not JSON"),
    (b"[1, 2]", "a JSON list"),
    (b"[" * 100000 + b"]" * 100000, "not JSON"),
    (b'{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 8]}}', "4 bytes, but its data_offsets span 8"),
    (b'{"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 8]}}', "not a list of sizes"),
    (b'{"w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}}', "not [begin, end]"),
    (b'{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},'
     b' "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}', "overlap"),
])  # fmt: skip
def test_damaged_headers(tmp_path, header, needle):
    with pytest.raises(SourceError, match=re.escape(needle)):
        read_model(header_file(tmp_path / "d.safetensors", header, b"\0" * 8))


def test_a_whole_pickled_module_and_torchscript_are_refused(tmp_path):
    torch.save(GRUNet(), tmp_path / "whole.pt")
    with pytest.raises(UnsafeInputError) as e:
        read_model(tmp_path / "whole.pt")
    for needle in (
        "a pickled `tests.test_models_safetensors.GRUNet` object",
        "torch.save(model)",
        "not unpickled",
        "safetensors.torch.save_file",
        "torch.onnx.export",
    ):
        assert needle in str(e.value)
    torch.jit.save(torch.jit.script(nn.Linear(3, 2)), tmp_path / "script.pt")
    with pytest.raises(UnsafeInputError, match="TorchScript"):
        read_model(tmp_path / "script.pt")


#: A process that ends (exit 97) the moment anything runs a command or pickle resolves a global.
AUDITED = """
import os, sys
def _hook(event, args):
    if event in ("os.system", "subprocess.Popen", "os.exec", "os.posix_spawn", "os.spawn",
                 "pickle.find_class"):
        os.write(2, b"RAN " + event.encode() + b" " + repr(args).encode() + b"\\n")
        os._exit(97)
sys.addaudithook(_hook)
from dsdoctor.errors import DsdoctorError
from dsdoctor.models import read_model
try:
    read_model(sys.argv[1])
except DsdoctorError as e:
    print(type(e).__name__, e)
    sys.exit(2)
"""


class Evil:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("how", ["torch.save", "pickle"])
def test_a_pickle_calling_os_system_never_runs(tmp_path, how):
    marker = tmp_path / "PWNED"
    path = tmp_path / "evil.pt"
    if how == "torch.save":
        torch.save({"w": torch.zeros(2), "x": Evil(marker)}, path)
    else:
        import pickle

        path.write_bytes(pickle.dumps({"x": Evil(marker)}, protocol=2))
    p = subprocess.run([sys.executable, "-c", AUDITED, str(path)], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": SRC}, timeout=120)  # fmt: skip
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    assert "RAN" not in p.stderr and not marker.exists()
    assert "UnsafeInputError" in p.stdout and "not unpickled" in p.stdout
    assert "it calls `posix.system`" in p.stdout or "it calls `os.system`" in p.stdout
    if how == "torch.save":  # the hook is live: pickle's own unpickler (weights_only=False)
        # resolves globals, and the hook stops it at the first one
        unsafe = AUDITED.replace("read_model(sys.argv[1])",
                                 "import torch; torch.load(sys.argv[1], weights_only=False)")  # fmt: skip
        p = subprocess.run([sys.executable, "-c", unsafe, str(path)], capture_output=True,
                           text=True, env={**os.environ, "PYTHONPATH": SRC}, timeout=120)  # fmt: skip
        assert p.returncode == 97 and "RAN pickle.find_class" in p.stderr, p.stderr
        assert not marker.exists()


def test_without_torch_the_error_names_the_safe_formats(tmp_path):
    torch.save(GRUNet().state_dict(), tmp_path / "m.pt")
    code = "import sys; sys.modules['torch'] = None\n" + AUDITED
    p = subprocess.run([sys.executable, "-c", code, str(tmp_path / "m.pt")], capture_output=True,
                       text=True, env={**os.environ, "PYTHONPATH": SRC}, timeout=120)  # fmt: skip
    assert p.returncode == 2, p.stderr
    assert p.stdout.startswith("SourceError") and "torch is not installed" in p.stdout
    assert ".safetensors, .onnx" in p.stdout and "torch.onnx.export" in p.stdout


def test_a_git_lfs_pointer_is_named(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:" + "0" * 64
                    + "\nsize 440449768\n")  # fmt: skip
    with pytest.raises(SourceError, match="a Git LFS pointer"):
        read_model(path)


def test_a_shape_of_huge_sizes_is_refused_at_once(tmp_path):
    """100,000 sizes of 2**62: their product would be a 6-million-bit integer, multiplied out
    step by step; counting stops past any file instead."""
    import time

    header = json.dumps({"w": {"dtype": "F32", "shape": [2**62] * 100_000, "data_offsets": [0, 8]}})
    path = header_file(tmp_path / "dims.safetensors", header.encode(), b"\0" * 8)
    start = time.perf_counter()
    with pytest.raises(UnsafeInputError, match="claims"):
        read_model(path)
    assert time.perf_counter() - start < 5


def test_a_huge_pickle_inside_a_pt_is_not_read(tmp_path):
    path = tmp_path / "fat.pt"
    torch.save({"w": torch.zeros(2), "note": "x" * (101 * 1024**2)}, path)
    err, peak = bounded(read_model, path)
    assert isinstance(err, UnsafeInputError) and "data.pkl is 101.0 MiB" in str(err)
    assert peak < 20e6


def test_legacy_and_misnamed_pt_files(tmp_path):
    legacy = tmp_path / "legacy.pt"
    torch.save(GRUNet().state_dict(), legacy, _use_new_zipfile_serialization=False)
    facts = read_model(legacy)
    assert facts.inputs[0].shape == (None, None, 3)
    assert any("legacy (pre-zip)" in n for n in facts.notes)
    misnamed = save(tmp_path, GRUNet(), "really-safetensors.pt")
    facts = read_model(misnamed)
    assert facts.format == "safetensors" and facts.inputs[0].shape == (None, None, 3)
    (tmp_path / "junk.pt").write_bytes(b"\x00" * 100)
    with pytest.raises(SourceError, match=r"refused it: Unsupported operand 0: not a state_dict"):
        read_model(tmp_path / "junk.pt")
    (tmp_path / "text.pt").write_text("hello world, this is text")
    with pytest.raises(SourceError, match=r"not a file torch\.load can read \(KeyError"):
        read_model(tmp_path / "text.pt")
