"""Every check has pass and fail cases on real files, run through the real CLI (``--json``)."""

from __future__ import annotations

import re
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import dsdoctor
from dsdoctor.checks import REGISTRY

from .conftest import FIXTURES, cli
from .test_columns import corrupt_parquet, indexed_csv, text_parquet

rng = np.random.default_rng(0)


def npy(tmp: Path, name: str, arr) -> str:
    p = tmp / name
    np.save(p, np.asarray(arr))
    return str(p)


def ragged_parquet(tmp: Path, seqs, name="seq.parquet", col="tokens", type_=None) -> str:
    p = tmp / name
    pq.write_table(pa.table({col: pa.array(seqs, type=pa.list_(type_ or pa.int32()))}), p)
    return f"{p}:{col}"


def findings(*args) -> list[dict]:
    r = cli("check", "--json", *args)
    assert r.code in (0, 1), (r.code, r.stdout, r.stderr)
    return r.json()["findings"]


def names(*args) -> set[str]:
    return {f["name"] for f in findings(*args)}


def one(name: str, *args) -> dict:
    fs = [f for f in findings(*args) if f["name"] == name]
    assert len(fs) == 1, fs
    return fs[0]


# -- alignment ------------------------------------------------------------------------------------
def test_sample_count_mismatch_fail(tmp_path):
    f = one("sample-count-mismatch", "--x", npy(tmp_path, "x.npy", rng.random((29, 10))),
            "--y", npy(tmp_path, "y.npy", [1]))  # fmt: skip
    assert f["message"] == "x has 29 samples but y has 1"
    assert f["evidence"] == {"x": 29, "y": 1}
    assert f["fixes"][0]["safety"] == "assumption"
    assert "replicate" in f["fixes"][0]["command"] and "--to 29" in f["fixes"][0]["command"]


def test_sample_count_mismatch_each(tmp_path):
    f = one("sample-count-mismatch", "--x", npy(tmp_path, "x.npy", rng.random((30, 2))),
            "--y", npy(tmp_path, "y.npy", np.arange(10)))  # fmt: skip
    assert "--each 3" in f["fixes"][0]["command"]


def test_sample_count_mismatch_pass(tmp_path):
    assert "sample-count-mismatch" not in names("--x", npy(tmp_path, "x.npy", rng.random((29, 3))),
                                                "--y", npy(tmp_path, "y.npy", np.zeros(29)))  # fmt: skip


def test_sample_count_mismatch_paired_inside_hdf5(tmp_path):
    p = tmp_path / "d.h5"
    with h5py.File(p, "w") as f:
        f["train/x"] = rng.random((29, 4))
        f["train/y"] = np.zeros(1)
        f["val/x"] = rng.random((5, 4))
        f["val/y"] = np.zeros(5)
    fs = [f for f in findings(str(p)) if f["name"] == "sample-count-mismatch"]
    assert [f["evidence"] for f in fs] == [{f"{p}:/train/x": 29, f"{p}:/train/y": 1}]


def test_target_shape_column_vector(tmp_path):
    x = npy(tmp_path, "x.npy", rng.random((8, 3)))
    labels = npy(tmp_path, "y.npy", (np.arange(8) % 3).reshape(8, 1))
    f = one("target-shape-mismatch", "--x", x, "--y", labels, "--classes", "3")
    assert f["severity"] == "warning" and "(None,)" in f["fixes"][0]["command"]
    assert (
        f["fixes"][0]["safety"] == "lossless"
        and "CrossEntropyLoss needs (8,) int64" in f["message"]
    )
    f = one(
        "target-shape-mismatch",
        "--x",
        x,
        "--y",
        npy(tmp_path, "oh.npy", np.eye(10)[:8]),
        "--classes",
        "5",
    )
    assert f["severity"] == "error" and "width 10" in f["message"] and "5 classes" in f["message"]
    assert "target-shape-mismatch" not in names(
        "--x", x, "--y", npy(tmp_path, "ok.npy", np.eye(5)[:8]), "--classes", "5"
    )
    assert "target-shape-mismatch" not in names(
        "--x", x, "--y", npy(tmp_path, "s.npy", np.arange(8) % 5), "--classes", "5"
    )


def test_label_out_of_range(tmp_path):
    y = np.arange(64) % 10
    y[[3, 4]] = [10, -1]
    f = one("label-out-of-range", "--y", npy(tmp_path, "y.npy", y), "--classes", "10")
    assert f["evidence"]["below_zero"] == 1 and f["evidence"]["at_or_above"] == 1
    assert "min -1, max 10" in f["message"]
    assert "label-out-of-range" not in names(
        "--y", npy(tmp_path, "ok.npy", np.arange(64) % 10), "--classes", "10"
    )
    fy = np.arange(8, dtype=float)
    fy[2] = 1.5
    f = one("label-out-of-range", "--y", npy(tmp_path, "f.npy", fy), "--classes", "10")
    assert f["evidence"]["non_integer"] == 1


# -- shape ------------------------------------------------------------------------------------------
def test_feature_width_csv_with_and_without_target(fixtures):
    f = one("feature-width-mismatch", str(fixtures / "iris.csv"), "--features", "3")
    assert f["evidence"]["actual"] == 4 and f["evidence"]["expected"] == 3
    assert "--target" in f["message"]
    assert f["fixes"][0]["safety"] == "lossy" and "--first 3" in f["fixes"][0]["command"]
    assert not findings(
        str(fixtures / "iris.csv"), "--target", "species", "--features", "3", "--classes", "3"
    )


def test_feature_width_from_input_shape(tmp_path):
    x = npy(tmp_path, "x.npy", rng.random((32, 4)))
    f = one("feature-width-mismatch", "--x", x, "--input-shape", "(None, 3)")
    assert f["message"] == "x has 4 features (last axis) but the model expects 3"
    assert "feature-width-mismatch" not in names("--x", x, "--input-shape", "(4,)")


def test_rank_mismatch_reshape_and_add_axis(fixtures):
    f = one(
        "rank-mismatch", "--x", str(fixtures / "mnist_flat.npy"), "--input-shape", "(None, 28, 28)"
    )
    assert f["fixes"][0]["safety"] == "lossless"
    assert "--shape '(None, 28, 28)'" in f["fixes"][0]["command"]
    f = one(
        "rank-mismatch", "--x", str(fixtures / "gru_2d.npy"), "--input-shape", "(None, None, 3)"
    )
    # one timestep per row is right only when each row is its own sequence: an assumption,
    # and the message points a time series to window
    assert "--add-axis time" in f["fixes"][0]["command"]
    assert f["fixes"][0]["safety"] == "assumption"
    assert "dsdoctor window SRC --length L" in f["message"]
    f = one("rank-mismatch", "--x", str(fixtures / "gru_2d.npy"), "--input-shape", "(None, 5, 3)")
    assert f["evidence"] == {"actual": [64, 3], "expected": [None, 5, 3]}
    assert [(x["safety"], x["command"].split()[1]) for x in f["fixes"]] == [
        ("assumption", "window")
    ]
    assert "--length 5" in f["fixes"][0]["command"]
    f = one("rank-mismatch", "--x", str(fixtures / "gru_2d.npy"), "--input-shape", "(None, 1, 3)")
    assert [(x["safety"], x["command"].split()[1]) for x in f["fixes"]] == [("lossless", "reshape")]
    assert "rank-mismatch" not in names(
        "--x", str(fixtures / "healthy/x.npy"), "--input-shape", "(None, 5, 3)"
    )


def test_rank_mismatch_add_features_axis(tmp_path):
    f = one("rank-mismatch", "--x", npy(tmp_path, "x.npy", rng.random((10, 7))), "--timesteps", "7")
    assert "--add-axis features" in f["fixes"][0]["command"]


def test_timesteps_mismatch(fixtures):
    f = one(
        "timesteps-mismatch",
        "--x",
        str(fixtures / "healthy/x.npy"),
        "--input-shape",
        "(None, 7, 3)",
    )
    assert f["evidence"] == {"actual": 5, "expected": 7}
    assert "timesteps-mismatch" not in names(
        "--x", str(fixtures / "healthy/x.npy"), "--timesteps", "5"
    )


# -- sequences --------------------------------------------------------------------------------------
def test_ragged_sequences_parquet(tmp_path):
    src = ragged_parquet(tmp_path, [[1, 2, 3], [4], [5, 6], list(range(1, 11))])
    f = one("ragged-sequences", src)
    assert f["evidence"]["max"] == 10 and f["evidence"]["min"] == 1 and f["evidence"]["count"] == 4
    cmds = [x["command"] for x in f["fixes"]]
    assert any("pad" in c and "--maxlen 10" in c for c in cmds)
    f = one("ragged-sequences", src, "--timesteps", "5")
    assert f["fixes"][0]["safety"] == "lossy" and "--maxlen 5" in f["fixes"][0]["command"]
    assert "ragged-sequences" not in names(npy(tmp_path, "dense.npy", rng.random((4, 10))))


def test_ragged_fixed_size_list_is_three_d(fixtures):
    r = cli("check", "--json", f"{fixtures / 'frames.parquet'}:frames").json()
    (arr,) = r["arrays"].values()
    assert arr["shape"] == [100, None, 3] and arr["ragged"] is True


def test_mask_value_collision_ragged(tmp_path):
    src = ragged_parquet(tmp_path, [[1, 0, 3], [4], [0, 0], [5]])
    f = one("mask-value-collision", src)
    assert f["evidence"] == {"timesteps": 3, "rows": 2, "value": 0}
    # token ids: shift first (lossless), then a padding id above the largest (5), never -1
    shift, pad = f["fixes"]
    assert shift["command"].startswith("dsdoctor shift ") and shift["safety"] == "lossless"
    assert shift["command"].endswith(".shifted.parquet")
    assert "--value 6" in pad["command"] and "-1" not in pad["command"].split()  # not a value
    assert "Embedding(input_dim=7)" in f["message"] and "never pad ids with -1" in f["message"]
    assert "mask-value-collision" not in names(
        ragged_parquet(tmp_path, [[1, 2], [3]], "ok.parquet")
    )
    assert "mask-value-collision" not in names(src, "--mask-value", "-1")


def test_mask_value_collision_frames_all_features(fixtures):
    f = one("mask-value-collision", f"{fixtures / 'frames.parquet'}:frames")
    assert f["evidence"]["timesteps"] == 4 and f["evidence"]["rows"] == 3


def test_mask_value_collision_and_excess_padding_dense(fixtures):
    fs = {f["name"]: f for f in findings(str(fixtures / "padded.npy"), "--mask-value", "0")}
    assert fs["mask-value-collision"]["evidence"]["timesteps"] == 3
    assert fs["excess-padding"]["evidence"]["padding"] == 463
    assert fs["excess-padding"]["evidence"]["timesteps"] == 640
    assert "excess-padding" not in names(str(fixtures / "padded.npy"))


def test_excess_padding_ragged_suggests_buckets(tmp_path):
    seqs = [[1] * 2] * 50 + [[1] * 100]
    f = one("excess-padding", ragged_parquet(tmp_path, seqs))
    assert (
        f["evidence"]["percent"] > 90
        and f["evidence"]["bucketed_padding"] < f["evidence"]["padding"]
    )
    assert "bucket" in f["fixes"][0]["command"]
    assert "excess-padding" not in names(
        ragged_parquet(tmp_path, [[1] * 9, [1] * 10], "ok.parquet")
    )


def test_empty_sequences(tmp_path):
    p = tmp_path / "s.npz"
    np.savez(p, seq=np.arange(1, 6, dtype=np.int32), seq_lengths=np.array([2, 0, 3, 0]))
    f = one("empty-sequences", str(p))
    assert f["evidence"] == {"empty": 2, "count": 4}
    np.savez(tmp_path / "ok.npz", seq=np.arange(1, 6), seq_offsets=np.array([0, 2, 5]))
    assert "empty-sequences" not in names(str(tmp_path / "ok.npz"))


def test_hdf5_vlen_is_ragged(fixtures):
    f = one("empty-sequences", f"{fixtures / 'train.h5'}:/seq/tokens")
    assert f["evidence"] == {"empty": 2, "count": 40}


# -- values ----------------------------------------------------------------------------------------
def test_non_finite_values(fixtures, tmp_path):
    f = one("non-finite-values", str(fixtures / "nonfinite.npy"))
    assert (f["evidence"]["nan"], f["evidence"]["posinf"], f["evidence"]["neginf"]) == (3, 2, 1)
    assert "non-finite-values" not in names(npy(tmp_path, "ok.npy", rng.random((5, 2))))


def test_non_finite_from_parquet_nulls(tmp_path):
    p = tmp_path / "t.parquet"
    pq.write_table(
        pa.table({"a": pa.array([1.0, None, 3.0]), "b": pa.array([1.0, 2.0, float("inf")])}), p
    )
    f = one("non-finite-values", str(p))
    assert f["evidence"]["nan"] == 1 and f["evidence"]["posinf"] == 1


def test_constant_feature(fixtures, tmp_path):
    f = one("constant-feature", str(fixtures / "constant.npy"))
    assert f["evidence"]["features"] == [2]
    assert "--features 0,1,3" in f["fixes"][0]["command"]
    assert "constant-feature" not in names(npy(tmp_path, "ok.npy", rng.random((5, 2))))


def test_unsafe_pickle_is_a_finding_and_never_unpickled(fixtures, tmp_path, monkeypatch):
    import pickle

    def boom(*a, **k):
        raise AssertionError("unpickled!")

    monkeypatch.setattr(pickle, "load", boom)
    monkeypatch.setattr(pickle, "loads", boom)
    r = cli("check", "--json", str(fixtures / "object.npy"))
    assert r.code == 1
    assert [f["name"] for f in r.json()["findings"]] == ["unsafe-pickle"]


def test_unwritten_data(tmp_path):
    p = tmp_path / "u.h5"
    with h5py.File(p, "w") as f:
        f.create_dataset("x", shape=(4096, 3), dtype="f4", chunks=(256, 3), fillvalue=-1.0)
        f["x"][:256] = 1.0  # one chunk of sixteen written
        f["full"] = np.ones((8, 3))
    f = one("unwritten-data", "--x", f"{p}:/x")
    assert f["evidence"] == {"unwritten": 3840, "rows": 4096, "fill_value": -1.0}
    assert f["message"].endswith(
        "3,840 of 4,096 rows were never written to the file; they read as the fill value -1.0"
    )
    assert "unwritten-data" not in names("--x", f"{p}:/full")


# -- batching --------------------------------------------------------------------------------------
def test_batching(tmp_path):
    x = npy(tmp_path, "x.npy", rng.random((100, 10)).astype(np.float32))
    f = one("partial-last-batch", "--x", x, "--batch-size", "32")
    assert f["evidence"] == {"samples": 100, "batch_size": 32, "full": 3, "last": 4}
    assert "partial-last-batch" not in names("--x", x, "--batch-size", "25")
    f = one("batch-exceeds-samples", "--x", x, "--batch-size", "128")
    assert f["evidence"] == {"samples": 100, "batch_size": 128}
    f = one("batch-memory", "--x", x, "--batch-size", "64", "--memory", "1KiB")
    assert f["evidence"]["bytes_per_sample"] == 40 and f["evidence"]["max_batch"] == 25
    assert "batch-memory" not in names("--x", x, "--batch-size", "64", "--memory", "1MiB")


def test_batch_memory_counts_padded_ragged(tmp_path):
    src = ragged_parquet(tmp_path, [[1] * 10, [1] * 1000], type_=pa.int64())
    f = one("batch-memory", "--x", src, "--batch-size", "2", "--memory", "10KiB")
    assert f["evidence"]["bytes_per_sample"] == 8000


# -- spec --------------------------------------------------------------------------------------------
def test_spec_violation(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((4, 2), np.float64))
    (tmp_path / "dsdoctor.toml").write_text(
        '[arrays.x]\nsource = "x.npy"\ndtype = "float32"\nshape = ["batch", 2]\n'
    )
    f = one("spec-violation", "--spec", tmp_path / "dsdoctor.toml")
    assert f["evidence"]["key"] == "arrays.x.dtype" and f["evidence"]["spec"].endswith(
        "dsdoctor.toml:3"
    )
    (tmp_path / "ok.toml").write_text(
        '[arrays.x]\nsource = "x.npy"\ndtype = "float64"\nshape = ["batch", 2]\n'
    )
    assert "spec-violation" not in names("--spec", tmp_path / "ok.toml")


# -- the registry ------------------------------------------------------------------------------------
#: The finding names SPEC.md's findings table ("The findings that must exist … names are fixed")
#: requires, copied from it in its order (the split findings are its last row).
SPEC_NAMES = ["sample-count-mismatch", "feature-width-mismatch", "rank-mismatch", "timesteps-mismatch",
              "ragged-sequences", "mask-value-collision", "excess-padding", "empty-sequences",
              "target-shape-mismatch", "label-out-of-range", "non-finite-values", "constant-feature",
              "unsafe-pickle", "partial-last-batch", "batch-exceeds-samples", "batch-memory",
              "spec-violation", "missing-values", "index-column", "non-input-columns",
              "unreadable-data", "token-out-of-vocabulary", "pack-padding-side",
              "split-schema-mismatch", "unseen-labels", "split-overlap", "feature-drift",
              "label-drift", "length-drift"]  # fmt: skip
#: SPEC names later issues add (tables, vocabularies, splits): not in the registry yet.
#: length-drift: sequence-length and padding drift are reported by feature-drift (DS806).
NOT_YET = {"token-out-of-vocabulary", "length-drift"}


def test_registry_holds_the_spec_names():
    registered = {c.name for c in REGISTRY}
    assert set(SPEC_NAMES) - NOT_YET <= registered, set(SPEC_NAMES) - NOT_YET - registered
    assert not NOT_YET & registered, f"now registered, take out of NOT_YET: {NOT_YET & registered}"


def test_registry_names_codes_and_docs():
    assert len({c.code for c in REGISTRY}) == len(REGISTRY)
    assert len({c.name for c in REGISTRY}) == len(REGISTRY)
    for c in REGISTRY:
        assert set(c.sections()) == {
            "What it means",
            "Why frameworks fail",
            "How to repair",
            "Example",
        }, c
        assert c.name == c.name.lower() and " " not in c.name


def _unwritten(tmp: Path) -> dict:
    p = tmp / "u.h5"
    with h5py.File(p, "w") as f:
        f.create_dataset("x", shape=(512, 3), dtype="f4", chunks=(256, 3), fillvalue=-1.0)
        f["x"][:256] = 1.0
    return {"x": f"{p}:/x"}


def _spec(tmp: Path) -> dict:
    np.save(tmp / "x.npy", np.zeros((4, 2), np.float64))
    (tmp / "dsdoctor.toml").write_text('[arrays.x]\nsource = "x.npy"\ndtype = "float32"\n')
    return {"spec": tmp / "dsdoctor.toml"}


def _pre_padded(tmp: Path) -> dict:
    """pad's default output (pre padding) as .npy files, with its lengths given as y."""
    dsdoctor.pad_file([np.arange(1, 4), np.arange(1, 3)], str(tmp / "p.npy"))
    return {"x": str(tmp / "p.npy"), "y": str(tmp / "p.lengths.npy")}


def test_sequence_longer_than_a_fixed_time_axis(tmp_path):
    """DS307 counts the sequences padding to --timesteps would cut; none when all fit."""
    src = ragged_parquet(tmp_path, [[1, 2], [3] * 9, [4] * 6, [5] * 5])
    f = one("sequence-longer-than-model", src, "--timesteps", "5")
    assert {k: f["evidence"][k] for k in ("count", "total", "longest", "limit")} == {
        "count": 2, "total": 4, "longest": 9, "limit": 5}  # fmt: skip
    cmd = f["fixes"][0]["command"]
    # DS301's own pad fix may name seq.tokens.padded.npy first: a different fix takes -2
    assert "--maxlen 5 --truncating post -o " in cmd
    assert re.search(r"seq\.tokens\.padded(-2)?\.npy$", cmd), cmd
    assert f["fixes"][0]["safety"] == "lossy"
    assert "sequence-longer-than-model" not in names(src, "--timesteps", "9")
    assert "sequence-longer-than-model" not in names(src)  # no expectation, no finding


def test_input_dtype_mismatch_and_its_twin(tmp_path):
    """DS406 for float64 into an ONNX float32 input; float32 data passes."""
    case = _float32_onnx(tmp_path)
    f = one("input-dtype-mismatch", "--x", case["x"], "--model", case["model"])
    assert f["evidence"] == {"actual": "float64", "expected": "float32", "input": "x",
                             "model": case["model"], "model_where": "input `x`"}  # fmt: skip
    np.save(tmp_path / "x32.npy", np.zeros((4, 3), np.float32))
    assert "input-dtype-mismatch" not in names("--x", str(tmp_path / "x32.npy"), "--model",
                                                case["model"])  # fmt: skip


def _float32_onnx(tmp: Path) -> dict:
    """float64 data for an ONNX graph (onnx.helper) whose input `x` is float32."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g", [x], [y])
    onnx.save(helper.make_model(graph), tmp / "m.onnx")
    np.save(tmp / "x.npy", np.zeros((4, 3), np.float64))
    return {"x": str(tmp / "x.npy"), "model": str(tmp / "m.onnx")}


def _labels() -> np.ndarray:
    return np.array([0, 1, 10, 2])


def _splits(tmp, kind: str) -> dict:
    """Two splits (files in ``tmp``) with one planted problem of ``kind``."""
    rng = np.random.default_rng(0)
    xt, yt = rng.normal(size=(2_000, 3)), rng.integers(0, 3, 2_000)
    xv, yv = rng.normal(size=(1_000, 3)), rng.integers(0, 3, 1_000)
    extra: dict = {}
    if kind == "split-schema-mismatch":
        xv = xv[:, :2]
    elif kind == "unseen-labels":
        yv[:3] = 9
    elif kind == "split-overlap":
        xv[:2] = xt[:2]
    elif kind == "timestep-overlap":
        w = np.lib.stride_tricks.sliding_window_view(rng.normal(size=(300, 2)), 5, axis=0)
        xt, xv = w[::2].transpose(0, 2, 1), w[1::2].transpose(0, 2, 1)  # (N, 5, 2) windows
        extra["timesteps"] = 5  # known to be sequences
    elif kind == "group-leakage":
        extra["group"] = "g"
    elif kind == "feature-drift":
        xv[:, 1] += 5
    elif kind == "label-drift":
        yv[:] = 0
    elif kind == "empty-class-in-train":
        extra["classes"] = 4
    split = []
    for name, x, y in (("train", xt, yt), ("val", xv, yv)):
        if kind == "group-leakage":
            df = pd.DataFrame(x, columns=["a", "b", "c"]).assign(label=y, g=np.arange(len(x)) % 7)
            df.to_parquet(tmp / f"{name}.parquet")
            split.append(f"{name}={tmp / f'{name}.parquet'}")
            extra["target"] = "label"
            continue
        np.save(tmp / f"x_{name}.npy", x)
        np.save(tmp / f"y_{name}.npy", y[: len(x)])
        split.append(f"{name}={tmp / f'x_{name}.npy'},{tmp / f'y_{name}.npy'}")
    return {"split": split, **extra}


def _split_spec(tmp) -> dict:
    """Two splits and a spec whose ``[splits.val]`` recorded two classes (val now has three)."""
    split = _splits(tmp, "none")["split"]
    (tmp / "dsdoctor.toml").write_text(
        "[splits.train]\nclasses = [0, 1, 2]\n\n[splits.val]\nclasses = [0, 1]\n"
    )
    return {"split": split, "spec": str(tmp / "dsdoctor.toml")}


#: One failing case per registered check, as arguments of ``dsdoctor.check`` (the fuller cases,
#: with their evidence and passing twins, are the tests above). A new check fails
#: ``test_every_registered_check_has_a_failing_case`` until it has a row here.
def mixed_parquet_folder(tmp) -> str:
    """A folder of two Parquet files whose column ``b`` is double in one and int64 in the other."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp / "mixed").mkdir()
    pq.write_table(pa.table({"a": [1.0, 2.0], "b": [3.0, 4.0]}), tmp / "mixed" / "p0.parquet")
    pq.write_table(pa.table({"a": [5.0], "b": [6]}), tmp / "mixed" / "p1.parquet")
    return str(tmp / "mixed")


FAILING_CASES = {
    "sample-count-mismatch": lambda tmp: {"x": np.zeros((29, 3)), "y": np.zeros(1)},
    "target-shape-mismatch": lambda tmp: {
        "x": np.zeros((8, 3)),
        "y": np.zeros((8, 1), np.int64),
        "classes": 3,
    },
    "label-out-of-range": lambda tmp: {"y": _labels(), "classes": 10},
    "rare-class": lambda tmp: {"y": np.array(["a"] * 50 + ["b"] * 50 + ["c"])},
    "label-looks-like-id": lambda tmp: {"y": np.array([f"id{i}" for i in range(40)])},
    "string-labels": lambda tmp: {"x": np.zeros((3, 2)), "y": np.array(["cat", "dog", "cat"])},
    "class-count-mismatch": lambda tmp: {"y": np.array(["cat", "dog", "cat"]), "classes": 3},
    "feature-width-mismatch": lambda tmp: {"x": np.zeros((8, 4)), "features": 3},
    "axis-size-mismatch": lambda tmp: {
        "x": np.zeros((8, 1, 16, 16)),
        "input_shape": "(None, 3, 16, 16)",
    },
    "rank-mismatch": lambda tmp: {"x": np.zeros((8, 3)), "input_shape": "(None, 5, 3)"},
    "timesteps-mismatch": lambda tmp: {"x": np.zeros((8, 4, 3)), "timesteps": 5},
    "ragged-sequences": lambda tmp: {"x": ragged_parquet(tmp, [[1, 2, 3], [4]])},
    "mask-value-collision": lambda tmp: {"x": ragged_parquet(tmp, [[1, 0, 3], [4]])},
    "token-id-out-of-range": lambda tmp: {
        "x": ragged_parquet(tmp, [[1, 0, 3], [4]]),
        "vocab_size": 4,
    },
    "sequence-longer-than-model": lambda tmp: {
        "x": ragged_parquet(tmp, [[1, 2], [3] * 9]),
        "timesteps": 5,
    },
    "input-dtype-mismatch": _float32_onnx,
    "excess-padding": lambda tmp: {"x": ragged_parquet(tmp, [[1] * 2] * 50 + [[1] * 100])},
    "empty-sequences": lambda tmp: {"x": ragged_parquet(tmp, [[1, 2], [], [3]])},
    "pack-padding-side": _pre_padded,
    "non-finite-values": lambda tmp: {"x": np.array([[1.0, np.inf], [2.0, 3.0]])},
    "missing-values": lambda tmp: {"x": np.array([[1.0, np.nan], [2.0, 3.0]])},
    "constant-feature": lambda tmp: {"x": np.array([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]])},
    "unsafe-pickle": lambda tmp: {"x": str(FIXTURES / "object.npy")},
    "unwritten-data": _unwritten,
    "partial-last-batch": lambda tmp: {"x": np.zeros((10, 2)), "batch_size": 4},
    "batch-exceeds-samples": lambda tmp: {"x": np.zeros((10, 2)), "batch_size": 16},
    "batch-memory": lambda tmp: {"x": np.zeros((10, 64)), "batch_size": 8, "memory": "1KiB"},
    "spec-violation": _spec,
    "split-spec-violation": _split_spec,
    "non-input-columns": lambda tmp: {"x": text_parquet(tmp)},
    "index-column": lambda tmp: {"x": indexed_csv(tmp)},
    "unreadable-data": lambda tmp: {"x": str(corrupt_parquet(tmp))},
    "shard-schema-mismatch": lambda tmp: {"x": mixed_parquet_folder(tmp)},
    **{
        name: (lambda tmp, name=name: _splits(tmp, name))
        for name in (
            "split-schema-mismatch",
            "unseen-labels",
            "split-overlap",
            "timestep-overlap",
            "group-leakage",
            "feature-drift",
            "label-drift",
            "empty-class-in-train",
        )
    },
}


@pytest.mark.parametrize("check", REGISTRY, ids=lambda c: c.name)
def test_every_registered_check_has_a_failing_case(check, tmp_path, monkeypatch):
    assert check.name in FAILING_CASES, f"{check.name} has no row in FAILING_CASES"
    monkeypatch.chdir(tmp_path)
    report = dsdoctor.check(**FAILING_CASES[check.name](tmp_path))
    assert check.name in {f.name for f in report.findings}, [f.name for f in report.findings]


def test_every_failing_case_names_a_registered_check():
    assert set(FAILING_CASES) == {c.name for c in REGISTRY}
