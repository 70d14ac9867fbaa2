"""Sources given together are one dataset: they must agree on the sample axis (DS101), files
named like inputs and targets pair up, ``--each`` checks them apart, and the report says what it
read as one dataset. And ``plan`` sizes the inputs only, with the input width."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pandas as pd
import pytest

import dsdoctor
from dsdoctor.api import role_of

from .conftest import assert_clean_error, cli, run


def _xy(folder, x_name="x.npy", y_name="y.npy", nx=29, ny=1, y_shape=()):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    np.save(folder / x_name, rng.normal(size=(nx, 3)))
    np.save(folder / y_name, rng.integers(0, 3, size=(ny, *y_shape)).astype(np.int64))
    return folder / x_name, folder / y_name


def _codes(report: dict) -> list[str]:
    """The alignment findings (constant zeros in a test's arrays are not its subject)."""
    return [f["code"] for f in report["findings"] if f["code"].startswith("DS1")]


@pytest.mark.parametrize(
    ("name", "role"),
    [("x", ("x", "")), ("X", ("x", "")), ("X_train", ("x", "train")), ("x_train", ("x", "train")),
     ("train_x", ("x", "train")), ("inputs", ("x", "")), ("features", ("x", "")), ("data", ("x", "")),
     ("Y", ("y", "")), ("y_test", ("y", "test")), ("y-val", ("y", "val")), ("train_y", ("y", "train")),
     ("LABELS", ("y", "")), ("targets", ("y", "")), ("train", (None, "train")),
     ("data_raw", (None, "")), ("label_map", (None, "")), ("x_y", (None, "")), ("part-0", (None, "")),
     ("x_train_y", (None, ""))],
)  # fmt: skip
def test_role_of_names(name, role):
    assert role_of(name) == role


def test_x_and_y_files_of_different_lengths_are_an_error(tmp_path):
    """The issue's case: 29 inputs and 1 target were 'healthy, exit 0'."""
    x, y = _xy(tmp_path)
    r = run("check", x, y)
    assert r.code == 1, r.stdout + r.stderr
    assert f"{x} has 29 samples but {y} has 1" in r.stdout
    assert f"one dataset: {x} (29 samples, inputs), {y} (1 sample, targets)" in r.stdout
    assert f"dsdoctor replicate {y} --to 29" in r.stdout
    d = json.loads(run("check", x, y, "--json").stdout)
    assert _codes(d) == ["DS101"]
    assert d["findings"][0]["evidence"] == {str(x): 29, str(y): 1}
    assert [d["arrays"][str(x)]["role"], d["arrays"][str(y)]["role"]] == ["x", "y"]
    (dataset,) = d["datasets"]
    assert dataset["given"] == "together"
    assert [(s["source"], s["samples"], s["role"]) for s in dataset["sources"]] == [
        (str(x), 29, "x"),
        (str(y), 1, "y"),
    ]


def test_the_json_is_the_api_report(tmp_path):
    x, y = _xy(tmp_path)
    r = cli("check", x, y, "--json")
    assert json.loads(r.stdout) == json.loads(json.dumps(dsdoctor.check(x, y).to_dict()))


def test_x_train_and_y_train_pair_and_get_the_target_checks(tmp_path):
    """Paired by stem, so y_train is a target: its (N, 1) column is DS102, labels out of range DS103."""
    x, y = _xy(tmp_path, "X_train.npy", "y_train.npy", nx=20, ny=20, y_shape=(1,))
    d = cli("check", x, y, "--classes", "2", "--json").json()
    assert d["arrays"][str(x)]["role"] == "x" and d["arrays"][str(y)]["role"] == "y"
    assert "DS101" not in _codes(d)
    assert {"DS102", "DS103"} <= set(_codes(d))


def test_each_split_is_its_own_dataset(tmp_path):
    """X_train/y_train agree (20), X_test/y_test do not (5 vs 4): one DS101, about the test split;
    train and test are never compared with each other."""
    _xy(tmp_path, "X_train.npy", "y_train.npy", nx=20, ny=20)
    _xy(tmp_path, "X_test.npy", "y_test.npy", nx=5, ny=4)
    files = sorted(tmp_path.glob("*.npy"))
    d = cli("check", *files, "--json").json()
    assert _codes(d) == ["DS101"]
    assert d["findings"][0]["arrays"] == [
        str(tmp_path / "X_test.npy"),
        str(tmp_path / "y_test.npy"),
    ]
    assert sorted(ds["split"] for ds in d["datasets"]) == ["test", "train"]


def test_train_x_pairs_with_train_y(tmp_path):
    x, y = _xy(tmp_path, "train_x.npy", "train_y.npy", nx=8, ny=7)
    d = cli("check", x, y, "--json").json()
    assert d["findings"][0]["message"] == f"{x} has 8 samples but {y} has 7"


def test_same_names_in_two_folders_pair_by_folder(tmp_path):
    tx, ty = _xy(tmp_path / "train", nx=10, ny=10)
    vx, vy = _xy(tmp_path / "val", nx=4, ny=3)
    d = cli("check", tx, ty, vx, vy, "--json").json()
    assert [f["arrays"] for f in d["findings"] if f["code"] == "DS101"] == [[str(vx), str(vy)]]
    assert d["arrays"][str(tx)]["role"] == "x" and d["arrays"][str(vy)]["role"] == "y"


def _frames(tmp_path, rows=(10, 12)):
    paths = []
    for i, n in enumerate(rows):
        df = pd.DataFrame({"a": np.arange(n, dtype=float), "b": np.arange(n) % 3})
        path = tmp_path / f"part{i}.parquet"
        df.to_parquet(path)
        paths.append(path)
    return paths


def test_parquet_files_with_different_row_counts(tmp_path):
    a, b = _frames(tmp_path)
    r = run("check", a, b)
    assert r.code == 1, r.stdout + r.stderr
    assert f"{a} has 10 samples, {b} has 12 samples" in r.stdout
    assert "--each" in r.stdout
    d = json.loads(run("check", a, b, "--json").stdout)
    (finding,) = d["findings"]
    assert finding["code"] == "DS101" and finding["evidence"] == {str(a): 10, str(b): 12}


def test_csv_files_with_different_row_counts(tmp_path):
    for name, n in (("a.csv", 6), ("b.csv", 9)):
        pd.DataFrame({"u": np.arange(n, dtype=float), "v": np.ones(n)}).to_csv(
            tmp_path / name, index=False
        )
    d = cli("check", tmp_path / "a.csv", tmp_path / "b.csv", "--json").json()
    assert _codes(d) == ["DS101"]


def test_each_leaves_unrelated_sources_unflagged(tmp_path):
    a, b = _frames(tmp_path)
    r = run("check", a, b, "--each")
    assert r.code == 0, r.stdout + r.stderr
    assert f"on its own (--each): {a} (10 samples)" in r.stdout
    x, y = _xy(tmp_path / "xy")
    d = json.loads(run("check", x, y, "--each", "--json").stdout)
    assert d["findings"] == [] and [ds["given"] for ds in d["datasets"]] == ["each", "each"]
    assert {a["role"] for a in d["arrays"].values()} == {"array"}  # not paired across sources
    assert dsdoctor.check(a, b, each=True).findings == []


def test_npz_members_are_unchanged(tmp_path):
    """Members pair by name inside the container; an unrelated member is not compared."""
    p = tmp_path / "d.npz"
    np.savez(p, x=np.zeros((10, 3)), y=np.zeros(10), weights=np.zeros(4))
    d = cli("check", p, "--json").json()
    assert "DS101" not in _codes(d)
    np.savez(p, x=np.zeros((10, 3)), y=np.zeros(9))
    d = cli("check", p, "--json").json()
    assert _codes(d) == ["DS101"]
    assert d["datasets"][0]["given"] == "alone"
    assert "one dataset" not in run("check", p).stdout  # one plain file: no dataset line


def test_hdf5_split_members_pair_by_split(tmp_path):
    """x_train/y_train and x_test/y_test in one group used to pair neither (two x, two y)."""
    p = tmp_path / "d.h5"
    with h5py.File(p, "w") as f:
        f["x_train"], f["y_train"] = np.zeros((10, 2)), np.zeros(10)
        f["x_test"], f["y_test"] = np.zeros((4, 2)), np.zeros(3)
    d = cli("check", p, "--json").json()
    assert [f["arrays"] for f in d["findings"] if f["code"] == "DS101"] == [
        [f"{p}:/x_test", f"{p}:/y_test"]
    ]


def test_containers_given_together_compare_their_inputs(tmp_path):
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    np.savez(a, x=np.zeros((10, 3)), y=np.zeros(10))
    np.savez(b, x=np.zeros((7, 3)), y=np.zeros(7))
    d = cli("check", a, b, "--json").json()
    assert _codes(d) == ["DS101"] and d["findings"][0]["evidence"] == {f"{a}:x": 10, f"{b}:x": 7}
    # named as splits, they are two datasets
    train, val = tmp_path / "train.npz", tmp_path / "val.npz"
    a.rename(train)
    b.rename(val)
    assert _codes(cli("check", train, val, "--json").json()) == []


def test_a_container_of_unrelated_lengths_says_it_was_not_compared(tmp_path):
    c = tmp_path / "c.npz"
    np.savez(c, a=np.zeros(10), b=np.zeros(5))
    np.save(tmp_path / "w.npy", np.zeros(3))
    r = run("check", c, tmp_path / "w.npy")
    assert r.code == 0, r.stdout
    assert "2 different sample counts (5, 10) and are not compared" in r.stdout
    d = json.loads(run("check", c, tmp_path / "w.npy", "--json").stdout)
    assert "not_compared" in d["datasets"][0]["sources"][0]


@pytest.mark.parametrize("glob", [False, True])
def test_a_folder_of_x_and_y_files_is_read_as_those_files(tmp_path, glob):
    """It used to be read as two shards of one array and refused ("shards … must agree")."""
    x, y = _xy(tmp_path / "d")
    src = str(tmp_path / "d" / "*.npy") if glob else tmp_path / "d"
    r = run("check", src)
    assert r.code == 1, r.stdout + r.stderr
    assert f"{x} has 29 samples but {y} has 1" in r.stdout
    assert f"from {src} (named as inputs and targets, so not shards)" in r.stdout
    d = json.loads(run("check", src, "--json").stdout)
    assert [s["from"] for s in d["datasets"][0]["sources"]] == [str(src)] * 2


def test_a_folder_of_shards_names_its_files(tmp_path):
    d = tmp_path / "shards"
    d.mkdir()
    for i in range(7):
        np.save(d / f"part-{i}.npy", np.arange(30.0).reshape(10, 3) + i)
    r = run("check", d)
    assert r.code == 0, r.stdout + r.stderr
    assert f"{d} is one array of 7 files stacked in name order: {d}/part-0.npy" in r.stdout
    assert "and 2 more" in r.stdout
    report = json.loads(run("check", d, "--json").stdout)
    (source,) = report["datasets"][0]["sources"]
    assert source["samples"] == 70
    assert source["shards"] == [str(d / f"part-{i}.npy") for i in range(7)]


# -- plan ---------------------------------------------------------------------------------------
def _seed(tmp_path, kind):
    """The issue's seed: 50 rows, 3 inputs and 1 output."""
    rng = np.random.default_rng(1)
    df = pd.DataFrame(rng.normal(size=(50, 3)), columns=["a", "b", "c"])
    df["out"] = rng.normal(size=50)
    path = tmp_path / f"seed.{kind}"
    if kind == "csv":
        df.to_csv(path, index=False)
    else:
        df.to_parquet(path)
    return path


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_plan_target_leaves_the_label_out(tmp_path, kind):
    src = _seed(tmp_path, kind)
    d = cli("plan", src, "--target", "out", "--batch-size", "5", "--json").json()
    assert d["steps_per_epoch"] == 10 and d["last_batch"] == 5
    assert d["bytes_per_sample"] == 3 * 8 and d["bytes_per_batch"] == 5 * 3 * 8
    assert d["input_width"] == 3 and d["input_shape"] == [3] and d["target"] == "out"
    whole = cli("plan", src, "--batch-size", "5", "--json").json()
    assert (
        whole["bytes_per_sample"] == 4 * 8 and whole["input_width"] == 4 and whole["target"] is None
    )
    # the batch size changes steps, never the width
    d25 = cli("plan", src, "--target", "out", "--batch-size", "25", "--json").json()
    assert d25["steps_per_epoch"] == 2 and d25["input_width"] == 3


def test_plan_says_in_one_line_where_the_input_width_comes_from(tmp_path):
    src = _seed(tmp_path, "parquet")
    r = run("plan", src, "--target", "out", "--batch-size", "5")
    assert r.code == 0, r.stderr
    (line,) = [ln for ln in r.stdout.splitlines() if "input width" in ln]
    assert "3 (input shape (None, 3))" in line
    assert "the input layer has 3 units from the features, whatever the batch size" in line
    assert "out (not counted in bytes per sample)" in r.stdout


def test_plan_finds_the_inputs_of_an_x_y_container(tmp_path):
    p = tmp_path / "xy.npz"
    np.savez(p, x=np.zeros((50, 3), np.float32), y=np.zeros(50, np.int64))
    d = cli("plan", p, "--batch-size", "5", "--json").json()
    assert d["source"] == f"{p}:x" and d["bytes_per_sample"] == 12 and d["input_width"] == 3


def test_plan_takes_checks_source_options(tmp_path):
    src = _seed(tmp_path, "parquet")
    r = cli("plan", src, "--target", "out", "--batch-size", "5", "--jobs", "2", "--engine",
            "serial", "--json")  # fmt: skip
    assert r.code == 0, r.stderr
    assert r.json()["input_width"] == 3
    assert dsdoctor.plan(src, batch_size=5, target="out").to_dict() == r.json()


def test_a_folder_of_unrelated_files_is_refused_then_read_with_each(tmp_path):
    d = tmp_path / "mixed"
    d.mkdir()
    np.save(d / "a.npy", np.arange(30.0).reshape(10, 3))
    np.save(d / "b.npy", np.arange(5.0))
    assert_clean_error(run("check", d), "shards of one dataset must agree", "--each")
    r = run("check", d, "--each", "--json")
    assert r.code == 0, r.stdout + r.stderr
    report = json.loads(r.stdout)
    assert [(ds["given"], [s["source"] for s in ds["sources"]]) for ds in report["datasets"]] == [
        ("each", [str(d / "a.npy")]),
        ("each", [str(d / "b.npy")]),
    ]
    assert (
        f"on its own (--each), from {d}: {d / 'a.npy'} (10 samples)"
        in run("check", d, "--each").stdout
    )


def test_a_folder_of_x_npy_and_y_csv_pairs_across_formats(tmp_path):
    d = tmp_path / "xy"
    d.mkdir()
    np.save(d / "X.npy", np.random.default_rng(0).normal(size=(6, 2)))
    pd.DataFrame({"label": [0, 1, 0, 1, 0]}).to_csv(d / "Y.csv", index=False)
    report = cli("check", d, "--json").json()
    assert (
        report["findings"][0]["message"] == f"{d / 'X.npy'} has 6 samples but {d / 'Y.csv'} has 5"
    )


def test_a_parquet_dataset_folder_stays_one_dataset_with_each(tmp_path):
    d = tmp_path / "ds"
    d.mkdir()
    for i in range(2):
        pd.DataFrame({"a": np.arange(4.0) + i, "b": np.arange(4.0) * i}).to_parquet(
            d / f"part-{i}.parquet"
        )
    report = cli("check", d, "--each", "--json").json()
    assert [s["source"] for ds in report["datasets"] for s in ds["sources"]] == [str(d)]
    assert report["datasets"][0]["sources"][0]["samples"] == 8
