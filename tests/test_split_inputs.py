"""Where splits come from: a Hugging Face ``DatasetDict`` folder (``--split train=hf:train``, or
the folder checked whole), a folder of split files (``train.parquet``, ``x_train.npy`` …), a
spec's ``[splits]`` table (``spec infer --split`` records each split's facts, ``check --spec``
compares them); and the bad input of each."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import dsdoctor

from .conftest import assert_clean_error, cli

datasets = pytest.importorskip("datasets")

SPLIT_CODES = {f"DS80{i}" for i in range(1, 9)}
CLASSES = ["cat", "dog", "bird", "fish"]


def codes(report) -> dict[str, list]:
    out: dict[str, list] = {}
    for f in report.findings:
        out.setdefault(f.code, []).append(f)
    return out


def table(n: int, seed: int, labels=(0, 1, 2), columns=("a", "b", "c")) -> dict:
    rng = np.random.default_rng(seed)
    out = {c: rng.normal(size=n).astype(np.float32) for c in columns}
    out["label"] = rng.choice(list(labels), n)
    return out


def hf_split(data: dict):
    feats = {c: datasets.Value("float32") for c in data if c != "label"}
    feats["label"] = datasets.ClassLabel(names=CLASSES)
    return datasets.Dataset.from_dict(data, features=datasets.Features(feats))


def save_dict(path, **splits) -> str:
    datasets.DatasetDict({k: hf_split(v) for k, v in splits.items()}).save_to_disk(str(path))
    return str(path)


@pytest.fixture
def leaky_hf(tmp_path):
    """train: classes 0-2, columns a, b, c; test: 40 samples of class 3 and an extra column."""
    test = table(800, 2, labels=(0, 1, 2), columns=("a", "b", "c", "d"))
    test["label"][:40] = 3
    return save_dict(tmp_path / "hf", train=table(3_000, 1), test=test)


# -- Hugging Face DatasetDict folders ---------------------------------------------------------------
def test_hf_splits_by_selector_find_an_unseen_label(tmp_path):
    test = table(1_000, 2)
    test["label"][:25] = 3
    hf = save_dict(tmp_path / "hf", train=table(3_000, 1), test=test)
    report = dsdoctor.check(split=[f"train={hf}:train", f"test={hf}:test"], target="label")
    (f,) = codes(report)["DS802"]
    assert (f.evidence["split"], f.evidence["rows"], f.evidence["unseen"]) == (
        "test",
        25,
        [[3, 25]],
    )
    assert report.splits["splits"]["train"]["columns"] == ["a", "b", "c"]
    # the columns of a split as its selector: the comma is the selector's, not X,Y
    cols = dsdoctor.check(split=[f"train={hf}:train:a,b", f"test={hf}:test:a,b"], target="label")
    assert report.splits["splits"]["test"]["rows"] == cols.splits["splits"]["test"]["rows"] == 1_000
    assert cols.splits["splits"]["train"]["columns"] == ["a", "b"]
    (f,) = codes(cols)["DS802"]
    assert f.evidence["rows"] == 25


def test_a_dataset_dict_is_told_by_the_file_its_reader_reads():
    from dsdoctor import api
    from dsdoctor.sources import hf

    assert api.DATASET_DICT == hf.DICT_FILE


def test_a_whole_dataset_dict_as_one_split_is_one_line(leaky_hf):
    r = cli("check", "--split", f"train={leaky_hf}", "--split", f"test={leaky_hf}:test")
    assert_clean_error(r, "--split train:", "DatasetDict of the splits train, test",
                       f"train={leaky_hf}:SPLIT")  # fmt: skip


def test_a_dataset_dict_checked_whole_compares_its_splits(leaky_hf):
    report = dsdoctor.check(leaky_hf, target="label")
    found = codes(report)
    (schema,) = found["DS801"]
    assert schema.evidence["split"] == "test" and "columns: extra d" in schema.message
    (unseen,) = found["DS802"]
    assert unseen.evidence["rows"] == 40
    assert report.splits["train"] == "train"
    assert "the training split is train" in report.splits["found"]
    assert report.splits["sources"] == {"train": [f"{leaky_hf}:train", None],
                                        "test": [f"{leaky_hf}:test", None]}  # fmt: skip
    r = cli("check", leaky_hf, "--target", "label")
    assert r.code == 1 and "splits found: " in r.stdout and "DS802" in r.stdout
    # the ClassLabel column is the target without --target too
    assert {"DS801", "DS802"} <= set(codes(dsdoctor.check(leaky_hf)))
    assert cli("check", leaky_hf, "--json").json() == dsdoctor.check(leaky_hf).to_dict()
    page = Path(leaky_hf).parent / "report.html"
    assert cli("check", leaky_hf, "--format", "html", "-o", page).code == 1
    assert (
        "Splits found: " in page.read_text() and "the training split is train" in page.read_text()
    )


def test_the_training_split_is_named_train_else_the_first_listed(tmp_path):
    named = save_dict(tmp_path / "a", validation=table(500, 1), training=table(2_000, 2))
    report = dsdoctor.check(named)
    assert report.splits["train"] == "training"
    assert list(report.splits["splits"]) == ["training", "validation"]
    assert "(the split named training)" in report.splits["found"]
    unnamed = save_dict(tmp_path / "b", dev=table(2_000, 1), holdout=table(500, 2))
    report = dsdoctor.check(unnamed)
    assert report.splits["train"] == "dev"
    assert "no split is named train or training: the first listed" in report.splits["found"]


def test_clean_dataset_dict_splits_are_healthy_and_say_they_were_compared(tmp_path):
    every = (0, 1, 2, 3)  # each of the ClassLabel's 4 classes (one with none is DS808)
    hf = save_dict(tmp_path / "hf", train=table(4_000, 1, every), test=table(2_000, 2, every))
    report = dsdoctor.check(hf)
    assert not set(codes(report)) & SPLIT_CODES, report.findings
    assert set(report.splits["splits"]) == {"train", "test"}
    assert report.splits["drift_not_judged"] == []


def test_a_selected_split_or_one_split_is_checked_as_before(tmp_path, leaky_hf):
    assert dsdoctor.check(f"{leaky_hf}:test").splits is None
    one = save_dict(tmp_path / "one", train=table(100, 1))
    assert dsdoctor.check(one).splits is None


def test_splits_that_cannot_be_paired_are_checked_as_before_and_named(tmp_path):
    """Text splits (a string column and a ClassLabel) have no x to compare: each split is
    checked as before, and the report says the splits were not compared, and why."""
    feats = datasets.Features({"text": datasets.Value("string"),
                               "label": datasets.ClassLabel(names=CLASSES)})  # fmt: skip
    d = datasets.DatasetDict({
        "train": datasets.Dataset.from_dict({"text": ["a"] * 40, "label": [0, 1] * 20}, features=feats),
        "test": datasets.Dataset.from_dict({"text": ["b"] * 10, "label": [3] * 10}, features=feats),
    })  # fmt: skip
    d.save_to_disk(str(tmp_path / "text"))
    report = dsdoctor.check(str(tmp_path / "text"))
    assert report.splits["splits"] == {} and "holds 0 arrays" in report.splits["not_compared"]
    assert f"{tmp_path / 'text'}:train:label" in report.arrays
    r = cli("check", tmp_path / "text")
    assert r.code == 0 and "splits found but not compared" in r.stdout


# -- folders of split files ---------------------------------------------------------------------------
def test_a_folder_of_split_tables_compares_them(tmp_path):
    (tmp_path / "d").mkdir()
    for name, n, seed in (("val", 1_000, 2), ("train", 3_000, 1), ("test", 1_000, 3)):
        df = pd.DataFrame(table(n, seed))
        if name == "test":
            df.loc[:9, "label"] = 7
        df.to_parquet(tmp_path / "d" / f"{name}.parquet")
    report = dsdoctor.check(str(tmp_path / "d"), target="label")
    assert list(report.splits["splits"]) == ["train", "test", "val"]
    (f,) = codes(report)["DS802"]
    assert (f.evidence["split"], f.evidence["unseen"]) == ("test", [[7, 10]])
    assert "train (train.parquet), test (test.parquet), val (val.parquet)" in report.splits["found"]


def test_a_folder_of_x_y_split_files_compares_them(tmp_path):
    rng = np.random.default_rng(4)
    for name, n, width in (("train", 2_000, 4), ("test", 500, 5)):
        np.save(tmp_path / f"X_{name}.npy", rng.normal(size=(n, width)).astype(np.float32))
        np.save(tmp_path / f"y_{name}.npy", rng.integers(0, 2, n))
    report = dsdoctor.check(str(tmp_path))
    (f,) = codes(report)["DS801"]
    assert f.evidence["differs"]["width"] == {"train": 4, "test": 5}
    assert report.splits["sources"]["train"] == [str(tmp_path / "X_train.npy"),
                                                 str(tmp_path / "y_train.npy")]  # fmt: skip
    # a file of no split: the folder is read as it always was (x/y pairs per split, no split pass)
    np.save(tmp_path / "classes.npy", np.arange(2))
    plain = dsdoctor.check(str(tmp_path))
    assert plain.splits is None and "DS801" not in codes(plain)


# -- the spec's [splits] table ------------------------------------------------------------------------
def _splits(tmp_path, test: dict) -> list[str]:
    pd.DataFrame(table(3_000, 1)).to_parquet(tmp_path / "train.parquet")
    pd.DataFrame(test).to_parquet(tmp_path / "test.parquet")
    return ["--split", "train=train.parquet", "--split", "test=test.parquet"]


def test_spec_infer_records_the_splits_and_check_compares_them(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = _splits(tmp_path, table(1_500, 2))
    (tmp_path / "spec").mkdir()
    out = tmp_path / "spec" / "dsdoctor.toml"
    assert cli("spec", "infer", *args, "--target", "label", "-o", out).code == 0
    spec = tomllib.loads(out.read_text())
    sp = spec["splits"]
    assert (sp["psi_threshold"], sp["js_threshold"], sp["target"]) == (0.2, 0.1, "label")
    assert list(k for k, v in sp.items() if isinstance(v, dict)) == ["train", "test"]
    assert sp["test"]["source"] == "../test.parquet"  # relative to the spec's folder
    assert (sp["test"]["rows"], sp["test"]["width"], sp["test"]["dtype"]) == (1_500, 3, "float32")
    assert sp["test"]["columns"] == ["a", "b", "c"] and sp["test"]["classes"] == [0, 1, 2]
    assert sum(sp["test"]["class_counts"]) == 1_500
    r = cli("check", "--spec", out, "--json")
    assert r.code == 0, r.stdout
    assert set(r.json()["splits"]["splits"]) == {"train", "test"}

    # the test split grows a class and a column: what differs, at the spec's line
    grown = table(1_500, 2, columns=("a", "b", "c", "d"))
    grown["label"][:30] = 5
    pd.DataFrame(grown).to_parquet(tmp_path / "test.parquet")
    report = dsdoctor.check(spec=str(out))
    (f,) = codes(report)["DS602"]
    assert f.evidence["split"] == "test" and f.severity.value == "error"
    assert "width 4 (spec 3)" in f.message and "columns: extra d" in f.message
    assert "labels 5 (30 samples) not in the spec's test split" in f.message
    assert f.evidence["spec"].endswith(f"dsdoctor.toml:{_line(out, '[splits.test]') + 4}")
    assert f.evidence["differs"]["classes"] == [[0, 1, 2], [0, 1, 2, 5]]
    assert "DS801" in codes(report)  # the split checks ran too


def _line(path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if line == text)


def test_the_spec_thresholds_are_used_and_options_override_them(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shifted = table(2_000, 2)
    shifted["b"] = shifted["b"] + 1.0
    args = _splits(tmp_path, shifted)
    assert cli("spec", "infer", *args, "--target", "label", "-o", "dsdoctor.toml").code == 0
    assert "DS806" in codes(dsdoctor.check(spec=True))
    text = (tmp_path / "dsdoctor.toml").read_text()
    (tmp_path / "dsdoctor.toml").write_text(
        text.replace("psi_threshold = 0.2", "psi_threshold = 50.0").replace(
            "js_threshold = 0.1", "js_threshold = 0.9"
        )
    )
    quiet = dsdoctor.check(spec=True)
    assert "DS806" not in codes(quiet) and quiet.splits["thresholds"] == {"psi": 50.0, "js": 0.9}
    r = cli("check", "--psi-threshold", "0.2", "--json")  # dsdoctor.toml found from here
    assert r.code == 0 and "DS806" in {f["code"] for f in r.json()["findings"]}  # a warning


def test_recorded_facts_alone_are_compared_with_the_splits_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = _splits(tmp_path, table(1_000, 2, labels=(0, 1)))
    (tmp_path / "facts.toml").write_text(
        "[splits.train]\nclasses = [0, 1, 2]\nrows = 3000\n\n"
        "[splits.test]\nclasses = [0, 1, 2]\nrows = 900\n\n[splits.val]\nrows = 10\n"
    )
    report = dsdoctor.check(split=[a for a in args if a != "--split"], target="label",
                            spec="facts.toml")  # fmt: skip
    by_split = {f.evidence["split"]: f for f in codes(report)["DS602"]}
    assert by_split["test"].severity.value == "warning"
    assert "no sample of the spec's labels [2]" in by_split["test"].message
    assert "1,000 rows (spec 900)" in by_split["test"].message
    assert by_split["val"].severity.value == "warning" and "not checked" in by_split["val"].message
    assert "train" not in by_split


def test_the_spec_says_what_the_targets_are_and_the_option_overrides_it(tmp_path, monkeypatch):
    """``task`` in ``[splits]`` as ``--task`` says it: integer targets of a few values are class
    labels (a label the training split never has: DS802) unless the spec says regression."""
    monkeypatch.chdir(tmp_path)
    grown = table(1_500, 2)
    grown["label"][:30] = 5
    args = _splits(tmp_path, grown)
    assert cli("spec", "infer", *args, "--target", "label", "-o", "dsdoctor.toml").code == 0
    assert "DS802" in codes(dsdoctor.check(spec=True))
    text = (tmp_path / "dsdoctor.toml").read_text()
    (tmp_path / "dsdoctor.toml").write_text(
        text.replace('target = "label"', 'target = "label"\ntask = "regression"')
    )
    report = dsdoctor.check(spec=True)
    assert "DS802" not in codes(report) and "regression" in report.splits["targets"]
    assert "DS802" in codes(dsdoctor.check(spec=True, task="classification"))


def test_spec_infer_records_no_classes_of_a_regression_target(tmp_path, monkeypatch):
    """A target of whole floats with many values (sklearn's diabetes) is a regression target:
    its values are no classes of the spec, so tomorrow's new values are no DS602."""
    monkeypatch.chdir(tmp_path)

    def frame(n: int, seed: int) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        df = pd.DataFrame(table(n, seed))
        df["label"] = np.round(rng.uniform(25, 346, n))  # whole numbers, as diabetes' target
        return df

    frame(800, 1).to_parquet(tmp_path / "train.parquet")
    frame(200, 2).to_parquet(tmp_path / "test.parquet")
    args = ["--split", "train=train.parquet", "--split", "test=test.parquet", "--target", "label"]
    assert cli("spec", "infer", *args, "-o", "dsdoctor.toml").code == 0
    sp = tomllib.loads((tmp_path / "dsdoctor.toml").read_text())["splits"]
    assert "classes" not in sp["train"] and "classes" not in sp["test"]
    frame(200, 3).to_parquet(tmp_path / "test.parquet")  # other values of the target
    report = dsdoctor.check(spec=True)
    assert report.splits["labels"] is False and "DS602" not in codes(report)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[splits]\ntask = "ranking"\n[splits.a]\nrows = 1\n', "splits.task"),
        ('[splits.train]\nsource = "t.parquet"\nwidht = 3\n', "unknown key splits.train.widht"),
        ("[splits]\npsi = 0.3\n[splits.a]\nrows = 1\n", "unknown key splits.psi"),
        ("[splits]\npsi_threshold = -1\n[splits.a]\nrows = 1\n", "at least 0"),
        ('[splits.a]\nsource = "t.parquet"\n[splits.b]\nrows = 3\n', "splits.b has no source"),
        ('[splits.a]\nsource = "t.parquet"\n', "names one split"),
        ("[splits.a]\nclasses = [0, 1]\nclass_counts = [3]\n", "one count per label"),
        ('[splits.a]\ny = "y.npy"\n', "needs splits.a.source"),
        (
            '[splits.a]\nsource = "t.parquet"\n[splits.b]\nsource = "gone.parquet"\n',
            "splits.b.source: gone.parquet: no such file",
        ),
    ],
)
def test_a_bad_splits_table_is_one_line(tmp_path, monkeypatch, text, needle):
    monkeypatch.chdir(tmp_path)
    pd.DataFrame(table(10, 1)).to_parquet(tmp_path / "t.parquet")
    (tmp_path / "dsdoctor.toml").write_text(text)
    assert_clean_error(cli("check", "--spec", "dsdoctor.toml"), needle)


# -- bad input ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--split", "train=x.npy", "--split", "val=nope.npy"],
         ("--split val", "nope.npy: no such file")),
        (["--split", "train=x.npy,y.npy", "--split", "val=x.npy,gone.npy"],
         ("--split val", "gone.npy: no such file")),
        (["--split", "data.npy"], ("NAME=DATA", "'data.npy'")),
        (["--split", "x.npy", "--split", "val=x.npy"], ("NAME=DATA",)),
        (["--split", "train=x.npy,y.npy,x.npy", "--split", "val=x.npy"], ("one source or two",)),
    ],
)  # fmt: skip
def test_bad_split_arguments_name_the_split(tmp_path, monkeypatch, args, needles):
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "x.npy", np.zeros((4, 2)))
    np.save(tmp_path / "y.npy", np.zeros(4))
    assert_clean_error(cli("check", *args), *needles)


def test_splits_with_other_column_names_name_them_per_split(tmp_path):
    hf = save_dict(tmp_path / "hf", train=table(500, 1), val=table(200, 2, columns=("a", "x", "c")),
                   test=table(200, 3, columns=("a", "b", "c", "e")))  # fmt: skip
    by_split = {f.evidence["split"]: f.message for f in codes(dsdoctor.check(hf))["DS801"]}
    assert "columns: no b, extra x" in by_split["val"]
    assert "columns: extra e" in by_split["test"] and "width 4" in by_split["test"]


def test_a_baseline_of_other_columns_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = _splits(tmp_path, table(1_000, 2))
    assert cli("check", *args, "--target", "label", "--json", "-o", "base.json").code == 0
    pd.DataFrame(table(1_000, 4, columns=("a", "b", "z"))).to_parquet(tmp_path / "today.parquet")
    r = cli(
        "check", "--split", "today=today.parquet", "--target", "label", "--baseline", "base.json"
    )
    assert_clean_error(r, "another dataset", "a, b, c", "a, b, z")
    data = json.loads((tmp_path / "base.json").read_text())
    (tmp_path / "old.json").write_text(json.dumps({**data, "dsdoctor": "0.0.9"}))
    r = cli(
        "check", "--split", "today=today.parquet", "--target", "label", "--baseline", "old.json"
    )
    assert_clean_error(r, "dsdoctor 0.0.9")


def test_sequence_lengths_are_recorded_and_longer_ones_found(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    feats = datasets.Features({"input_ids": datasets.Sequence(datasets.Value("int32")),
                               "label": datasets.ClassLabel(names=CLASSES)})  # fmt: skip
    rng = np.random.default_rng(6)

    def seqs(n, longest):
        ids = [rng.integers(1, 50, rng.integers(1, longest + 1)).tolist() for _ in range(n)]
        ids[0] = [1] * longest
        return datasets.Dataset.from_dict({"input_ids": ids, "label": (np.arange(n) % 2).tolist()},
                                          features=feats)  # fmt: skip

    datasets.DatasetDict({"train": seqs(600, 20), "test": seqs(300, 20)}).save_to_disk("seqs")
    assert cli("spec", "infer", "seqs", "-o", "dsdoctor.toml").code == 0
    sp = tomllib.loads((tmp_path / "dsdoctor.toml").read_text())["splits"]
    assert (sp["test"]["source"], sp["test"]["length_max"], sp["test"]["rank"]) == (
        "seqs:test",
        20,
        2,
    )
    assert "width" not in sp["test"]  # ragged: no fixed last axis
    assert not {"DS601", "DS602"} & set(codes(dsdoctor.check(spec=True)))
    datasets.DatasetDict({"train": seqs(600, 20), "test": seqs(300, 35)}).save_to_disk("seqs2")
    report = dsdoctor.check(spec=True, split=["train=seqs:train", "test=seqs2:test"])
    (f,) = codes(report)["DS602"]
    assert f.severity.value == "warning" and "sequences up to 35 long (spec 20)" in f.message


def test_a_test_file_without_the_target_column_is_compared_by_its_inputs(tmp_path, monkeypatch):
    """train.csv with the label, test.csv without (the way Kaggle ships them): the test split's
    inputs are compared with the training split's, and its leaked rows found."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d").mkdir()
    train = pd.DataFrame(table(2_000, 1))
    train.to_csv(tmp_path / "d" / "train.csv", index=False)
    test = pd.DataFrame(table(500, 2)).drop(columns="label")
    test.iloc[:7] = train.iloc[100:107].drop(columns="label").to_numpy()
    test.to_csv(tmp_path / "d" / "test.csv", index=False)
    report = dsdoctor.check("d", target="label")
    assert "test has no column label: compared by inputs alone" in report.splits["found"]
    assert report.splits["sources"] == {"train": ["d/train.csv:a,b,c", "d/train.csv:label"],
                                        "test": ["d/test.csv", None]}  # fmt: skip
    (f,) = codes(report)["DS803"]
    assert (f.evidence["b"], f.evidence["b_rows"], f.evidence["b_first_rows"]) == (
        "test",
        7,
        list(range(5)),
    )
    assert f.evidence["a_first_rows"] == list(range(100, 105))
    assert cli("spec", "infer", "d", "--target", "label", "-o", "dsdoctor.toml").code == 0
    sp = tomllib.loads((tmp_path / "dsdoctor.toml").read_text())["splits"]
    assert "target" not in sp and sp["test"] == {**sp["test"], "source": "d/test.csv"}
    again = dsdoctor.check(spec=True)
    assert [f.evidence["b_rows"] for f in codes(again)["DS803"]] == [7]
    assert "DS602" not in codes(again)


def test_a_target_of_many_distinct_integers_records_no_classes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(7)
    for name, n in (("train", 3_000), ("val", 1_000)):
        np.save(f"x_{name}.npy", rng.normal(size=(n, 2)))
        np.save(f"y_{name}.npy", rng.permutation(n))  # ids, not classes
    args = ["--split", "train=x_train.npy,y_train.npy", "--split", "val=x_val.npy,y_val.npy"]
    assert cli("spec", "infer", *args, "-o", "dsdoctor.toml").code == 0
    sp = tomllib.loads((tmp_path / "dsdoctor.toml").read_text())["splits"]
    assert "classes" not in sp["train"] and sp["train"]["rows"] == 3_000
    assert "DS602" not in codes(dsdoctor.check(spec=True))


def test_group_on_splits_that_cannot_be_compared_is_refused(tmp_path):
    feats = datasets.Features({"text": datasets.Value("string"),
                               "label": datasets.ClassLabel(names=CLASSES)})  # fmt: skip
    one = datasets.Dataset.from_dict({"text": ["a"] * 4, "label": [0, 1] * 2}, features=feats)
    datasets.DatasetDict({"train": one, "test": one}).save_to_disk(str(tmp_path / "text"))
    assert_clean_error(cli("check", tmp_path / "text", "--group", "text"), "--split train")


def test_splits_in_pyproject_are_read_from_its_folder(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    pd.DataFrame(table(2_000, 1)).to_parquet(tmp_path / "data" / "train.parquet")
    pd.DataFrame(table(600, 2)).to_parquet(tmp_path / "data" / "val.parquet")
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "p"\n\n[tool.dsdoctor.splits]\ntarget = "label"\n\n'
        '[tool.dsdoctor.splits.train]\nsource = "data/train.parquet"\n\n'
        '[tool.dsdoctor.splits.val]\nsource = "data/val.parquet"\nwidth = 2\n'
    )
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    r = cli("check", "--json")
    assert r.code == 1, r.stderr
    (f,) = [f for f in r.json()["findings"] if f["code"] == "DS602"]
    assert f["message"] == f"val: width 3 (spec 2) ({tmp_path / 'pyproject.toml'}:12)"
