"""MLflow ``MLmodel`` signatures read by ``read_model``: files written by mlflow itself
(tensor and column specs), the documented YAML by hand, and hostile YAML (a python/object
tag, an alias bomb, an oversized file)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dsdoctor.errors import SourceError, UnsafeInputError
from dsdoctor.models import read_model

from .model_read_guarded import guarded_read


def _save(signature, folder):
    from mlflow.models import Model

    folder.mkdir()
    Model(signature=signature).save(str(folder / "MLmodel"))
    return folder


def test_tensor_spec_written_by_mlflow(tmp_path):
    models = pytest.importorskip("mlflow.models")
    sig = models.infer_signature(np.zeros((4, 5, 3), np.float32), np.zeros((4, 2), np.float32))
    folder = _save(sig, tmp_path / "model")
    facts = read_model(folder)  # the model folder, as mlflow logs it
    assert facts == read_model(folder / "MLmodel")
    assert facts.format == "mlflow"
    assert [(t.shape, t.dtype) for t in facts.inputs] == [((None, 5, 3), "float32")]
    assert facts.outputs[0].shape == (None, 2)
    assert facts.output_units == 2 and facts.output_activation is None
    assert any("does not say the output activation" in n for n in facts.notes)


def test_named_tensor_specs(tmp_path):
    pytest.importorskip("mlflow")
    from mlflow.models import ModelSignature
    from mlflow.types import Schema, TensorSpec

    sig = ModelSignature(
        inputs=Schema([TensorSpec(np.dtype("float32"), (-1, 10, 4), "frames"),
                       TensorSpec(np.dtype("int64"), (-1, 10), "ids")]),
        outputs=Schema([TensorSpec(np.dtype("float32"), (-1, 7), "probs")]),
    )  # fmt: skip
    facts = read_model(_save(sig, tmp_path / "model"))
    assert [(t.name, t.shape, t.dtype) for t in facts.inputs] == [
        ("frames", (None, 10, 4), "float32"),
        ("ids", (None, 10), "int64"),
    ]
    assert facts.where["input:ids"] == "signature input `ids`"
    assert facts.output_units == 7 and facts.where["output_units"] == "signature output `probs`"


def test_column_spec_written_by_mlflow(tmp_path):
    models = pytest.importorskip("mlflow.models")
    import pandas as pd

    frame = pd.DataFrame({"age": [1.0, 2.0], "height": [3.0, 4.0], "weight": [5.0, 6.0]})
    sig = models.infer_signature(frame, np.array([0, 1]))
    facts = read_model(_save(sig, tmp_path / "model"))
    assert [(t.name, t.shape, t.dtype) for t in facts.inputs] == [("columns", (None, 3), "float64")]
    assert any("3 columns (age, height, weight)" in n for n in facts.notes)
    assert facts.output_units is None


def _write(folder, text: str):
    folder.mkdir(exist_ok=True)
    (folder / "MLmodel").write_text(text)
    return folder / "MLmodel"


def test_the_documented_format_by_hand_with_mixed_columns(tmp_path):
    """MLflow's documented column-spec YAML (as mlflow 2 writes it), mixed types."""
    cols = [{"type": "double", "name": "a"}, {"type": "long", "name": "b", "required": False}]
    path = _write(tmp_path, "artifact_path: model\nflavors:\n  python_function:\n"
                            "    loader_module: mlflow.sklearn\n"
                            f"signature:\n  inputs: '{json.dumps(cols)}'\n"
                            '  outputs: \'[{"type": "long"}]\'\n')  # fmt: skip
    facts = read_model(path)
    assert facts.inputs[0].shape == (None, 2) and facts.inputs[0].dtype is None
    assert any("optional inputs columns: b" in n for n in facts.notes)
    assert facts.outputs[0].shape == (None, 1) and facts.output_units is None


@pytest.mark.parametrize(
    ("text", "needle"),
    [("flavors: {}\n", "has no signature"),
     ("signature:\n  inputs: 'not json'\n", "not MLflow's JSON list"),
     ("signature:\n  inputs: '" + "[" * 5000 + "]" * 5000 + "'\n", "not MLflow's JSON list"),
     ('signature:\n  inputs: \'[{"type": "tensor", "tensor-spec": {"dtype": "float32"}}]\'\n',
      "no integer shape"),
     ("signature: [unclosed\n", "not readable YAML"),
     ("- just\n- a list\n", "has no signature")],
    ids=["no-signature", "not-json", "deep-json", "no-shape", "bad-yaml", "a-list"],
)  # fmt: skip
def test_malformed_signatures_are_clean_errors(tmp_path, text, needle):
    with pytest.raises(SourceError, match=needle) as exc:
        read_model(_write(tmp_path, text))
    assert "\n" not in str(exc.value)


def test_a_python_object_tag_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"
    path = _write(tmp_path / "model",
                  f"signature: !!python/object/apply:os.system ['touch {marker}']\n")  # fmt: skip
    out = guarded_read(path)  # the audit hook ends the process on os.system
    assert out["error"] == "UnsafeInputError"
    assert "would construct a Python object" in out["message"]
    assert not marker.exists()


def test_a_billion_laughs_alias_bomb_is_refused_in_bounded_memory(tmp_path):
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        refs = ",".join([f"*{chr(96 + i)}"] * 9)
        lines.append(f"{chr(97 + i)}: &{chr(97 + i)} [{refs}]")
    lines.append("signature:\n  inputs: *i")
    path = _write(tmp_path / "model", "\n".join(lines) + "\n")
    out = guarded_read(path, limit=2**30, timeout=60)
    assert out["error"] == "UnsafeInputError"
    assert "expand to more than 100,000 nodes (an alias bomb)" in out["message"]


def test_a_recursive_alias_is_refused(tmp_path):
    path = _write(tmp_path, "loop: &loop [1, *loop]\nsignature:\n  inputs: *loop\n")
    with pytest.raises(UnsafeInputError, match="refer to themselves"):
        read_model(path)


def test_a_few_aliases_are_fine(tmp_path):
    spec = '\'[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 3]}}]\''
    path = _write(tmp_path, f"base: &spec {spec}\nsignature:\n  inputs: *spec\n  outputs: *spec\n")
    assert read_model(path).inputs[0].shape == (None, 3)


def test_an_oversized_mlmodel_is_refused_unread(tmp_path):
    path = tmp_path / "MLmodel"
    with path.open("wb") as f:
        f.truncate(64 * 2**20)
    out = guarded_read(path, limit=2**30)
    assert out["error"] == "UnsafeInputError" and "is not an MLmodel file" in out["message"]


def test_without_pyyaml_the_error_names_the_extra(tmp_path):
    import subprocess
    import sys

    path = _write(tmp_path, "signature: {}\n")
    code = (
        "import sys; sys.modules['yaml'] = None\n"
        "from dsdoctor.errors import SourceError\nfrom dsdoctor.models import read_model\n"
        f"try:\n    read_model({str(path)!r})\nexcept SourceError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'dsdoctor[models]'" in out.stdout
