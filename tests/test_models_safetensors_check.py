"""``check --model`` with safetensors and ``.pt`` files gives, for each seed case, the findings
the hand-typed expectation gives (issue 15), and names the model file. Skipped until ``check``
takes ``--model`` (wired by another part of issue 15)."""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import cli

torch = pytest.importorskip("torch")
st = pytest.importorskip("safetensors.torch")
nn = torch.nn

if "--model" not in cli("check", "--help").stdout:
    pytest.skip("check has no --model yet", allow_module_level=True)


class GRUNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(3, 8, batch_first=True)
        self.fc = nn.Linear(8, 2)


class TextNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(100, 16)
        self.lstm = nn.LSTM(16, 32, batch_first=True)
        self.fc = nn.Linear(32, 2)


def codes(*args) -> set[str]:
    r = cli("check", *args, "--json")
    assert r.code in (0, 1), (r.code, r.stdout, r.stderr)
    return {f["name"] for f in r.json()["findings"] if f.get("severity") != "info"}


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
@pytest.mark.parametrize(("case", "module", "hand"), [
    ("4 features vs 3", GRUNet, ["--features", "3"]),
    ("2-D into a GRU", GRUNet, ["--input-shape", "(None, None, 3)"]),
    ("labels >= classes", GRUNet, ["--classes", "2"]),
    ("token id >= vocabulary", TextNet, ["--vocab-size", "100"]),
])  # fmt: skip
def test_the_model_gives_the_hand_typed_finding(tmp_path, suffix, case, module, hand):
    rng = np.random.default_rng(0)
    x = {
        "4 features vs 3": rng.random((29, 5, 4), dtype=np.float32),
        "2-D into a GRU": rng.random((29, 3), dtype=np.float32),
        "labels >= classes": rng.random((29, 5, 3), dtype=np.float32),
        "token id >= vocabulary": rng.integers(1, 150, (29, 10)),
    }[case]
    y = rng.integers(0, 5 if case == "labels >= classes" else 2, 29)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    model = tmp_path / f"model{suffix}"
    state = module().state_dict()
    st.save_file(state, str(model)) if suffix == ".safetensors" else torch.save(state, model)
    data = ["--x", str(tmp_path / "x.npy"), "--y", str(tmp_path / "y.npy")]
    expected = codes(*data, *hand)
    assert expected, case
    assert expected <= codes(*data, "--model", str(model)), case
    assert model.name in cli("check", *data, "--model", str(model)).stdout
