"""Spec files: found upward, checked with the line they break, inferred from today's data, and
clean errors for malformed ones."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from .conftest import FIXTURES, assert_clean_error, cli, run


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    shutil.copy(FIXTURES / "healthy/x.npy", tmp_path / "data/x.npy")
    shutil.copy(FIXTURES / "healthy/y.npy", tmp_path / "data/y.npy")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def infer(*args) -> None:
    r = cli("spec", "infer", *args, "-o", "dsdoctor.toml")
    assert r.code == 0, r.stderr


def test_inferred_spec_with_unchanged_data_is_exit_0(project):
    infer("--x", "data/x.npy", "--y", "data/y.npy")
    import tomllib

    doc = tomllib.loads((project / "dsdoctor.toml").read_text())
    assert doc["arrays"]["x"]["shape"] == ["batch", 5, "features"]
    assert doc["dims"]["features"] == 3 and doc["arrays"]["y"]["classes"] == 4
    assert run("check").code == 0
    sub = project / "deeper/still"
    sub.mkdir(parents=True)
    r = run("check", "--json", env={"PWD": str(sub)})
    assert r.code == 0


def test_spec_found_from_a_subfolder(project, monkeypatch):
    infer("--x", "data/x.npy", "--y", "data/y.npy")
    (project / "sub").mkdir()
    monkeypatch.chdir(project / "sub")
    r = cli("check", "--json")
    assert r.code == 0 and set(r.json()["arrays"]) == {"x", "y"}


@pytest.mark.parametrize(
    ("drift", "finding"),
    [
        (
            lambda p: np.save(p / "data/x.npy", np.zeros((64, 5, 4), np.float32)),
            "feature-width-mismatch",
        ),
        (lambda p: np.save(p / "data/x.npy", np.zeros((64, 5, 3), np.float64)), "spec-violation"),
        (lambda p: np.save(p / "data/y.npy", np.zeros(60, np.int64)), "sample-count-mismatch"),
        (lambda p: np.save(p / "data/y.npy", np.full(64, 7, np.int64)), "label-out-of-range"),
        (
            lambda p: np.save(p / "data/x.npy", np.full((64, 5, 3), 99.0, np.float32)),
            "spec-violation",
        ),
    ],
)
def test_drift_is_exit_1_with_the_spec_line(project, drift, finding):
    infer("--x", "data/x.npy", "--y", "data/y.npy")
    drift(project)
    r = cli("check", "--json")
    assert r.code == 1
    names = {f["name"] for f in r.json()["findings"]}
    assert finding in names
    for f in r.json()["findings"]:
        if f["name"] == "spec-violation":
            assert f["evidence"]["spec"].startswith("dsdoctor.toml:")


def test_pyproject_tool_table_and_named_dims(project):
    np.save(project / "data/w.npy", np.arange(30.0).reshape(10, 3))
    (project / "pyproject.toml").write_text(
        '[project]\nname = "demo"\n\n[tool.dsdoctor.dims]\nfeatures = 3\n\n'
        '[tool.dsdoctor.arrays.x]\nsource = "data/x.npy"\nshape = ["batch", "time", "features"]\n\n'
        '[tool.dsdoctor.arrays.w]\nsource = "data/w.npy"\nshape = ["batch", "features"]\n'
    )  # fmt: skip
    r = cli("check", "--json")
    assert r.code == 1
    (f,) = r.json()["findings"]
    assert (
        f["name"] == "spec-violation"
        and "'batch'" in f["message"]
        and "pyproject.toml:" in f["evidence"]["spec"]
    )


def test_nullable_allows_nan_but_not_inf(project):
    x = np.zeros((8, 2), np.float32)
    x[0, 0] = np.nan
    np.save(project / "data/n.npy", x)
    (project / "dsdoctor.toml").write_text('[arrays.n]\nsource = "data/n.npy"\nnullable = true\n')
    assert cli("check").code == 0
    x[1, 1] = np.inf
    np.save(project / "data/n.npy", x)
    assert cli("check").code == 1


def test_ragged_time_axis_and_table_target(project):
    pq.write_table(pa.table({"tokens": pa.array([[1, 2], [3], [4, 5, 6]], type=pa.list_(pa.int32())),
                             "label": [0, 1, 1]}), project / "data/t.parquet")  # fmt: skip
    infer("data/t.parquet:tokens")
    assert '"time"' in (project / "dsdoctor.toml").read_text()
    assert run("check").code == 0
    os.remove(project / "dsdoctor.toml")
    shutil.copy(FIXTURES / "iris.csv", project / "data/iris.csv")
    infer("data/iris.csv", "--target", "species")
    assert run("check").code == 0


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[arrays.x]\nsource = 'data/x.npy'\ncolour = 'red'\n", "unknown key arrays.x.colour"),
        ("[arrays.x]\nsource = 'data/x.npy'\ndtype = 'floaty'\n", "must be a dtype"),
        ("[arrays.x]\nshape = ['batch']\n", "source must name a file"),
        ("[arrays.x\nsource = 1\n", "not valid TOML"),
        ("[dims]\nfeatures = 'three'\n[arrays.x]\nsource = 'data/x.npy'\n", "dims.features"),
        (
            "[check]\nbatchsize = 3\n[arrays.x]\nsource = 'data/x.npy'\n",
            "unknown key check.batchsize",
        ),
        ("[dims]\n", "at least one [arrays.NAME]"),
        ("[arrays.x]\nsource = 'data/missing.npy'\n", "no such file"),
    ],
)
def test_malformed_spec_is_a_clean_error_naming_the_key(project, text, needle):
    (project / "dsdoctor.toml").write_text(text)
    assert_clean_error(run("check"), needle)
    assert_clean_error(run("check", "--spec", "dsdoctor.toml"), needle)
