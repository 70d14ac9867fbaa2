"""How a model's facts become the check's expectations (``api.model_expectations``), and how a
hand-given option overrides them — on ModelFacts as a reader returns them."""

from __future__ import annotations

from dsdoctor.api import model_classes, model_expectations
from dsdoctor.models import ModelFacts, TensorSpec

GIVEN = dict.fromkeys(("input_shape", "features", "timesteps", "classes", "mask_value",
                       "vocab_size"))  # fmt: skip


def facts(shape, **kw) -> ModelFacts:
    return ModelFacts("m.keras", "keras", (TensorSpec("in", shape, "float32"),),
                      where={"input:in": "input `in`", "output_units": "layer `out`"}, **kw)  # fmt: skip


def test_model_fills_what_is_not_given():
    m = model_expectations(facts((None, 5, 3), output_units=4, output_activation="softmax"), GIVEN)
    assert m["values"] == {"input_shape": (5, 3), "classes": 4}
    assert m["origin"] == dict.fromkeys(
        ("input_shape", "features", "timesteps", "classes"), "model"
    )


def test_agreeing_option_is_no_override():
    m = model_expectations(facts((None, 5, 3)), {**GIVEN, "features": 3})
    assert m["values"] == {"input_shape": (5, 3)} and m["origin"]["features"] == "model"


def test_disagreeing_features_override_and_keep_the_model_time_axis():
    m = model_expectations(facts((None, 5, 3)), {**GIVEN, "features": 4})
    assert m["values"] == {"timesteps": 5}
    assert m["origin"]["features"] == "--features 4 overrides m.keras input `in`: (None, 5, 3)"


def test_hand_classes_override():
    m = model_expectations(facts((None, 3), output_units=3, output_activation="softmax"),
                           {**GIVEN, "classes": 5})  # fmt: skip
    assert "classes" not in m["values"]
    assert m["origin"]["classes"] == "--classes 5 overrides m.keras layer `out`: 3"


def test_token_input_axis_is_time_unless_given():
    f = facts((None, 7), vocab_size=50)
    assert model_expectations(f, GIVEN)["values"]["timesteps"] == 7
    assert "timesteps" not in model_expectations(f, {**GIVEN, "timesteps": 9})["values"]


def test_named_dimensions_are_free():
    m = model_expectations(facts(("batch", "seq", 3)), GIVEN)
    assert m["values"]["input_shape"] == (None, 3)


def test_classes_from_the_output():
    assert model_classes(facts((None, 3), output_units=3, output_activation="softmax")) == 3
    assert model_classes(facts((None, 3), output_units=1, output_activation="sigmoid")) == 2
    assert model_classes(facts((None, 3), output_units=1, output_activation="linear")) is None
    assert model_classes(facts((None, 3), output_units=4, output_activation="sigmoid")) is None
    logits = facts((None, 3), output_units=5, output_activation="linear",
                   loss="sparse_categorical_crossentropy")  # fmt: skip
    assert model_classes(logits) == 5
    assert model_expectations(logits, GIVEN)["target_form"] == "sparse"


def test_two_inputs_x_by_name(tmp_path, monkeypatch):
    import h5py
    import numpy as np

    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    for name in ("data/feats.npy", "other.npy"):
        np.save(name, np.zeros((2, 4)))
    with h5py.File("d.h5", "w") as h:
        h["tokens"] = np.zeros((2, 7))
    f = ModelFacts(
        "m.keras", "keras", (TensorSpec("tokens", (None, 7)), TensorSpec("feats", (None, 4)))
    )
    assert model_expectations(f, GIVEN, x="data/feats.npy")["model_input"] == "feats"
    assert model_expectations(f, GIVEN, x="d.h5:/tokens")["model_input"] == "tokens"
    assert model_expectations(f, GIVEN, x="other.npy")["model_input"] == "tokens"
