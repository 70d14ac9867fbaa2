"""Text class labels as people save them — pandas ``to_csv``/``to_parquet`` (string and
``category`` columns), ``np.savez`` with a string ``y``, HDF5 strings — are read, counted and
checked (string-labels, rare-class, label-looks-like-id, class-count-mismatch), never skipped.

The iris data is scikit-learn's own ``iris.csv`` (``sklearn.datasets.load_iris`` reads the file
shipped in its data folder); the penguins are the corpus' ``penguins.parquet``."""

from __future__ import annotations

import pickle
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

import dsdoctor
from dsdoctor import categories
from dsdoctor.categories import CategoryCounts
from dsdoctor.engine.stats import ArrayStats, ScanOptions, scan
from dsdoctor.engine.tasks import merge

from .conftest import cli

PENGUINS = Path("/work/shared/corpus/parquet/penguins.parquet")
if not PENGUINS.exists():  # the corpus lives beside the repository
    PENGUINS = (
        Path(__file__).resolve().parents[2] / "shared" / "corpus" / "parquet" / "penguins.parquet"
    )


def iris() -> pd.DataFrame:
    from sklearn.datasets import load_iris

    data = load_iris(as_frame=True)
    df = data.frame.drop(columns="target")
    df.columns = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    df["species"] = pd.Categorical.from_codes(data.target, data.target_names)
    return df


def names(report) -> list[str]:
    return [f.name for f in report.findings]


def finding(report, name: str):
    return next(f for f in report.findings if f.name == name)


@pytest.mark.parametrize("how", ["csv", "parquet-category", "parquet-string"])
def test_the_readme_iris_example_is_a_classification_target(tmp_path, how):
    df = iris()
    if how == "csv":
        path = tmp_path / "iris.csv"
        df.to_csv(path, index=False)
    else:
        path = tmp_path / "iris.parquet"
        if how == "parquet-string":
            df = df.assign(species=df.species.astype(str))
        df.to_parquet(path)
    report = dsdoctor.check(str(path), target="species")
    f = finding(report, "string-labels")
    assert f.evidence["classes"] == {"setosa": 50, "versicolor": 50, "virginica": 50}
    assert "3 classes, setosa (50), versicolor (50), virginica (50)" in f.message
    assert (
        f.fixes[0].command
        == f"dsdoctor encode {path}:species -o {tmp_path / 'iris.species.encoded.npy'}"
    )
    y = report.arrays[f"{path}:species"]
    assert y["role"] == "y" and y["categorical"] and y["stats"]["distinct"] == 3
    assert report.arrays[str(path)]["shape"] == [150, 4]  # the inputs: the four measurements
    r = cli("check", path, "--target", "species", "--features", "4")
    assert r.code == 1 and "DS106" in r.stdout and "setosa (50)" in r.stdout


def test_an_npz_with_a_string_y_is_not_healthy(tmp_path):
    df = iris()
    p = tmp_path / "iris_xy.npz"
    np.savez(p, x=df.iloc[:, :4].to_numpy(), y=df.species.astype(str).to_numpy().astype("U"))
    report = dsdoctor.check(str(p))
    assert names(report) == ["string-labels"]
    assert {a["role"] for a in report.arrays.values()} == {"x", "y"}  # paired by name
    assert cli("check", p).code == 1


def test_hdf5_fixed_and_variable_length_strings_are_labels(tmp_path):
    df = iris()
    p = tmp_path / "iris.h5"
    labels = df.species.astype(str).to_numpy()
    with h5py.File(p, "w") as f:
        f["fixed"] = labels.astype("S")
        f.create_dataset("vlen", data=labels.astype(object), dtype=h5py.string_dtype())
        f.create_dataset(
            "column", data=labels.astype(object).reshape(-1, 1), dtype=h5py.string_dtype()
        )
        f["table"] = np.array([["a", "b"], ["c", "d"]], dtype="S1")  # 2 values per row: not labels
    for name in ("fixed", "vlen", "column"):
        h = dsdoctor.load(f"{p}:/{name}")
        assert h.categorical and not h.skip
        st = scan(h, ScanOptions(chunk_bytes=256))  # many chunks
        assert st.categories is not None and st.categories.counts == {
            "setosa": 50,
            "versicolor": 50,
            "virginica": 50,
        }
    assert dsdoctor.load(f"{p}:/table").skip


def test_classes_option_against_the_distinct_values(tmp_path):
    p = tmp_path / "iris.csv"
    iris().to_csv(p, index=False)
    more = finding(dsdoctor.check(str(p), target="species", classes=4), "class-count-mismatch")
    assert more.severity.value == "warning" and "has 3 classes but --classes is 4" in more.message
    fewer = finding(dsdoctor.check(str(p), target="species", classes=2), "class-count-mismatch")
    assert fewer.severity.value == "error" and fewer.evidence == {"found": 3, "classes": 2}
    assert "class-count-mismatch" not in names(dsdoctor.check(str(p), target="species", classes=3))


def test_a_rare_class_a_typo_is_named(tmp_path):
    df = iris()
    df["species"] = df.species.astype(str)
    df.loc[7, "species"] = "Setosa"  # a typo: one sample of its own class
    p = tmp_path / "iris.parquet"
    df.to_parquet(p)
    f = finding(dsdoctor.check(str(p), target="species"), "rare-class")
    assert f.evidence["rare"] == {"Setosa": 1} and "'Setosa' (1)" in f.message
    # a class of 5 beside classes of 1,000: under 1 % of the median and under 10
    y = np.array(["a"] * 1000 + ["b"] * 1000 + ["c"] * 5)
    assert finding(dsdoctor.check(y=y), "rare-class").evidence["rare"] == {"c": 5}
    # 5 beside 100 is 5 %: not rare; neither is iris itself
    assert "rare-class" not in names(dsdoctor.check(y=np.array(["a"] * 100 + ["b"] * 5)))
    df.loc[7, "species"] = "setosa"
    df.to_parquet(p)
    assert "rare-class" not in names(dsdoctor.check(str(p), target="species"))


def test_a_label_that_is_an_identifier(tmp_path):
    df = iris().assign(name=[f"flower {i}" for i in range(150)])
    p = tmp_path / "iris.csv"
    df.to_csv(p, index=False)
    report = dsdoctor.check(str(p), target="name")
    f = finding(report, "label-looks-like-id")
    assert (
        f.evidence == {"distinct": 150, "over": False, "rows": 150} and "100% unique" in f.message
    )
    assert "rare-class" not in names(report)  # every "class" would be rare: said once, here
    assert not finding(report, "string-labels").fixes  # encoding an id is no fix


def test_past_the_cap_distinct_values_are_not_tracked(monkeypatch):
    monkeypatch.setattr(categories, "MAX_CATEGORIES", 50)
    y = np.array([f"id{i}" for i in range(120)])
    st = scan(_memory(y), ScanOptions(chunk_bytes=400))
    assert st.categories is not None and st.categories.over and st.categories.counts == {}
    assert st.categories.to_dict() == {"distinct": "more than 50"}
    report = dsdoctor.check(y=y)
    assert names(report) == ["label-looks-like-id"]  # no string-labels: no vocabulary to make
    assert "more than 50 distinct values" in report.findings[0].message


def _memory(a):
    from dsdoctor.sources.memory import as_handle

    return as_handle(a, "y")


def test_missing_labels_are_counted_with_their_rows(tmp_path):
    df = iris()
    df["species"] = df.species.astype(str)
    df.loc[[3, 140], "species"] = None
    p = tmp_path / "iris.parquet"
    df.to_parquet(p)
    report = dsdoctor.check(str(p), target="species")
    stats = report.arrays[f"{p}:species"]["stats"]
    assert stats["missing"] == 2 and stats["missing_rows"] == [3, 140]
    f = finding(report, "string-labels")
    assert "2 rows without a label (rows 3, 140)" in f.message and not f.fixes
    h = dsdoctor.load(f"{p}:species")
    st = scan(h, ScanOptions(chunk_bytes=1024))
    assert st.fmissing is not None and st.fmissing.tolist() == [2] and st.missing_rows == [3, 140]


def test_class_counts_merge_across_parts_as_one_pass(tmp_path):
    rng = np.random.default_rng(0)
    y = np.array(["cat", "dog", "emu", "yak"])[rng.integers(0, 4, 10_000)].astype(object)
    y[[5, 7_000, 9_999]] = None
    p = tmp_path / "y.parquet"
    pd.DataFrame({"y": pd.Series(y, dtype="category")}).to_parquet(p, row_group_size=1000)
    h = dsdoctor.load(f"{p}:y")
    whole = scan(h, ScanOptions(chunk_bytes=1 << 30))
    parts = [scan(dsdoctor.load(f"{p}:y"), ScanOptions(chunk_bytes=2048)) for _ in range(1)]
    assert parts[0].categories == whole.categories and parts[0].missing_rows == [5, 7000, 9999]
    # two halves, pickled as the process pool and dask send them, merged in order
    halves = [_memory(y[:6000]), _memory(y[6000:])]
    merged = merge(pickle.loads(pickle.dumps(scan(part, ScanOptions()))) for part in halves)
    assert merged.categories == whole.categories
    assert merged.fmissing is not None and merged.fmissing.tolist() == [3]
    assert merged.missing_rows == [5, 7000, 9999] and merged.rows == 10_000
    expect = dict(zip(*np.unique(y[~pd.isna(y)].astype(str), return_counts=True), strict=True))
    assert whole.categories is not None and whole.categories.counts == expect


def test_category_counts_merge_is_bounded(monkeypatch):
    monkeypatch.setattr(categories, "MAX_CATEGORIES", 10)
    a, b = CategoryCounts(), CategoryCounts()
    a.add(np.array([f"a{i}" for i in range(6)]))
    b.add(np.array([f"b{i}" for i in range(6)]))
    assert not a.over and not b.over
    both = a.merge(b)
    assert both.over and both.counts == {} and both.distinct == 11
    assert a.merge(a).counts == {f"a{i}": 2 for i in range(6)}
    assert ArrayStats().merge(ArrayStats()).categories is None


def test_the_corpus_penguins(tmp_path):
    if not PENGUINS.exists():
        pytest.skip("the shared corpus is not beside this checkout")
    report = dsdoctor.check(str(PENGUINS), target="species")
    f = finding(report, "string-labels")
    assert f.evidence["classes"] == {"Adelie": 151, "Chinstrap": 68, "Gentoo": 123}
    assert report.arrays[str(PENGUINS)]["shape"] == [342, 4]


def test_text_shards_of_different_widths_scanned_by_two_workers(tmp_path, monkeypatch):
    from dsdoctor.engine import tasks

    df = iris()
    labels = df.species.astype(str).to_numpy()
    folder = tmp_path / "y"
    folder.mkdir()
    for i in range(3):  # <U6, <U10, <U9: each shard as wide as its own longest label
        np.save(folder / f"y{i}.npy", labels[i * 50 : (i + 1) * 50].astype("U"))
    monkeypatch.setattr(tasks, "MIN_TASK_BYTES", 1)  # one task per shard, even this small
    assert len(tasks.cut_tasks(dsdoctor.load(str(folder)), 2)) > 1  # the workers get parts
    for jobs in (1, 2):
        report = dsdoctor.check(str(folder), jobs=jobs)
        f = finding(report, "string-labels")
        assert f.evidence["classes"] == {"setosa": 50, "versicolor": 50, "virginica": 50}


def test_inspect_shows_the_classes_of_a_text_column(tmp_path):
    df = iris()
    df.loc[3, "species"] = None
    df.to_parquet(tmp_path / "iris.parquet")
    r = cli("inspect", tmp_path / "iris.parquet", "--no-color")
    # a text column that is not an array under inspect is a column: its kind and classes
    line = next(x for x in r.stdout.splitlines() if "species" in x)
    assert r.code == 0 and "categorical" in line and "3 distinct: " in line
    assert all(c in line for c in ("setosa 49", "versicolor 50", "virginica 50", "nulls 1"))
