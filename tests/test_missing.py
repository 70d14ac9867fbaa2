"""Missing values: the ``missing-values`` finding (DS405) and the ``dropna`` and ``impute``
repairs, on files pandas writes (``to_csv``, ``to_parquet``) and ``np.save``; the expected
results are pandas' own (``dropna``, ``fillna`` with ``mean``/``median``/``mode``), computed
independently of dsdoctor."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import dsdoctor
from dsdoctor.checks import Context, Expectations, Subject
from dsdoctor.checks.values import MissingValues
from dsdoctor.engine.columns import ColumnFacts
from dsdoctor.engine.stats import ArrayStats, ScanOptions, scan
from dsdoctor.errors import RepairError
from dsdoctor.sources import open_array

from .conftest import assert_clean_error, cli

NUMERIC = ["bill_length_mm", "flipper_length_mm", "body_mass_g"]


def penguins(n: int = 60, seed: int = 3) -> pd.DataFrame:
    """A penguins-like frame: NaN in numeric columns, None in a string column."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "bill_length_mm": rng.normal(44, 5, n).round(1),
        "flipper_length_mm": rng.integers(170, 230, n).astype(float),
        "body_mass_g": rng.integers(2700, 6300, n).astype(float),
        "species": rng.choice(["Adelie", "Gentoo", "Chinstrap"], n),
        "sex": rng.choice(["male", "female"], n, p=[0.6, 0.4]).astype(object),
    })  # fmt: skip
    df.loc[[3, 17, 40], "bill_length_mm"] = np.nan
    df.loc[[3, 50], "flipper_length_mm"] = np.nan
    df.loc[[25], "body_mass_g"] = np.nan
    df.loc[[8, 9, 30], "sex"] = None
    return df


@pytest.fixture(params=["csv", "parquet"])
def table(request, tmp_path):
    df = penguins()
    path = tmp_path / f"penguins.{request.param}"
    if request.param == "csv":
        df.to_csv(path, index=False)
    else:
        df.to_parquet(path)
    return df, path


def finding(report, name="missing-values"):
    found = [f for f in report.findings if f.name == name]
    assert len(found) == 1, [f.name for f in report.findings]
    return found[0]


# -- the finding ------------------------------------------------------------------------------------
def test_the_finding_names_columns_counts_and_first_rows(table):
    df, path = table
    f = finding(dsdoctor.check(str(path)))
    assert f.code == "DS405" and f.severity == "error"
    # every column kind: the numeric inputs and the text column check reads beside them
    every = [*NUMERIC, "sex"]
    assert f.evidence["counts"] == {c: int(df[c].isna().sum()) for c in every}
    rows = sorted(set(np.flatnonzero(df[every].isna().any(axis=1).to_numpy())))
    assert f.evidence["rows"] == rows[: len(f.evidence["rows"])] and len(f.evidence["rows"]) >= 5
    assert (
        "bill_length_mm 3, flipper_length_mm 2, body_mass_g 1" in f.message and "sex 3" in f.message
    )
    commands = [fx.command for fx in f.fixes]
    assert commands[0].startswith(f"dsdoctor dropna {path} -o ")
    assert commands[1].startswith(f"dsdoctor impute {path} --strategy median")
    assert "non-finite-values" not in {x.name for x in dsdoctor.check(str(path)).findings}


def test_a_target_with_missing_values_is_in_the_same_finding(table):
    df, path = table
    f = finding(dsdoctor.check(str(path), target="body_mass_g"))
    assert f.evidence["counts"] == {c: int(df[c].isna().sum()) for c in [*NUMERIC, "sex"]}
    assert "--target body_mass_g" in f.fixes[0].command


def test_nulls_of_columns_that_are_not_inputs_join_the_finding(table):
    """``Context.columns`` (filled by the reading of non-input columns) carries the string
    column's nulls; they are counted in the one finding of that table."""
    df, path = table
    h = open_array(str(path))
    s = Subject(str(path), "x", h, stats=scan(h, ScanOptions(chunk_bytes=512)))
    sex_rows = [int(i) for i in np.flatnonzero(df["sex"].isna().to_numpy())]
    facts = ColumnFacts(str(path), "sex", "categorical", "string", rows=len(df),
                        nulls=len(sex_rows), null_rows=sex_rows, reason="categorical")  # fmt: skip
    (f,) = MissingValues().run(Context([s], Expectations(), columns=[facts]))
    assert f.evidence["counts"]["sex"] == 3
    assert f.evidence["missing"] == int(df[[*NUMERIC, "sex"]].isna().sum().sum())
    every = sorted(set(np.flatnonzero(df[[*NUMERIC, "sex"]].isna().any(axis=1).to_numpy())))
    assert f.evidence["rows"] == every[:10]
    assert "sex 3" in f.message and "4 columns" in f.message


def test_an_array_names_features_and_infinities_stay_non_finite(tmp_path):
    x = np.zeros((30, 4))
    x[[2, 29], 1] = np.nan
    x[7, 3] = np.inf
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.arange(30.0))
    report = dsdoctor.check(x=str(tmp_path / "x.npy"), y=str(tmp_path / "y.npy"))
    f = finding(report)
    assert f.evidence == {"missing": 2, "counts": {"feature 1": 2}, "rows": [2, 29]}
    assert f"--y {tmp_path / 'y.npy'}" in f.fixes[0].command
    inf = finding(report, "non-finite-values")
    assert (inf.evidence["posinf"], inf.evidence["nan"]) == (1, 2)


@pytest.fixture
def shards(tmp_path):
    """Four shards of 200 rows: NaN at global rows 150, 430, 431 and every 7th row of the last
    shard, so the first ten rows span three shards."""
    d = tmp_path / "shards"
    d.mkdir()
    whole = np.arange(800 * 3, dtype=np.float64).reshape(800, 3)
    whole[150, 0] = whole[430, 2] = whole[431, 2] = np.nan
    whole[600::7, 1] = np.nan
    for i in range(4):
        np.save(d / f"part-{i}.npy", whole[i * 200 : (i + 1) * 200])
    return d, whole


def _expected(whole):
    rows = np.flatnonzero(np.isnan(whole).any(axis=1))
    return np.isnan(whole).sum(axis=0).tolist(), rows[:10].tolist()


@pytest.mark.parametrize("chunk", ["64MiB", "1KiB"])
def test_rows_are_global_across_shards_and_chunks(shards, chunk):
    d, whole = shards
    counts, rows = _expected(whole)
    st = dsdoctor.check(str(d), chunk_size=chunk).arrays[str(d)]["stats"]
    assert (st["feature_missing"], st["missing_rows"]) == (counts, rows)


def test_rows_are_global_with_two_jobs(shards):
    """--jobs 2 with tasks of 1 KiB: helpers scan parts of the shards, merged in task order."""
    d, whole = shards
    code = ("import sys, json, dsdoctor, dsdoctor.engine.tasks as t\n"
            "t.MIN_TASK_BYTES = 1024\n"
            "r = dsdoctor.check(sys.argv[1], jobs=2, chunk_size='1KiB')\n"
            "print(json.dumps(r.to_dict()))\n")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code, str(d)], capture_output=True, check=True)
    report = json.loads(out.stdout)
    counts, rows = _expected(whole)
    (f,) = [f for f in report["findings"] if f["name"] == "missing-values"]
    assert f["evidence"]["rows"] == rows
    assert list(f["evidence"]["counts"].values()) == [c for c in counts if c]


@pytest.mark.parametrize("seed", range(8))
def test_stats_merged_from_any_split_equal_one_pass(seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(int(rng.integers(1, 300)), 3))
    a[rng.random(a.shape) < rng.choice([0.0, 0.01, 0.3])] = np.nan
    cuts = sorted(rng.integers(0, len(a) + 1, size=3))
    parts = np.split(a, cuts)
    merged = ArrayStats()
    for p in parts:
        st = ArrayStats()
        for chunk in np.array_split(p, max(1, len(p) // 7)) if len(p) else []:
            st.update(chunk, ScanOptions())
        merged = merged.merge(st)
    whole = ArrayStats()
    whole.update(a, ScanOptions())
    expected = np.flatnonzero(np.isnan(a).any(axis=1))[:10].tolist()
    assert whole.missing_rows == merged.missing_rows == expected
    assert whole.missing == merged.missing == int(np.isnan(a).sum())


# -- dropna --------------------------------------------------------------------------------------
@pytest.mark.parametrize("out_ext", ["parquet", "csv"])
def test_dropna_of_a_table_keeps_every_column_and_drops_rows_as_pandas(table, tmp_path, out_ext):
    df, path = table
    expected = df.dropna()
    outs = []
    for chunk in ("64MiB", "2KiB"):
        out = tmp_path / f"{chunk}.{out_ext}"
        r = cli("dropna", path, "--target", "species", "-o", out, "--chunk-size", chunk)
        assert r.code == 0, r.stderr
        got = pd.read_parquet(out) if out_ext == "parquet" else pd.read_csv(out)
        pd.testing.assert_frame_equal(got, expected.reset_index(drop=True), check_dtype=False)
        rows = np.load(tmp_path / f"{chunk}.rows.npy")
        assert rows.tolist() == expected.index.tolist()
        outs.append(rows)
    assert outs[0].tolist() == outs[1].tolist()


def test_dropna_keeps_a_stored_pandas_index_as_the_index(tmp_path):
    """A frame filtered before ``to_parquet`` stores its index as ``__index_level_0__``: after
    dropna, pandas reads the kept rows with their original labels (a RangeIndex, which would
    describe the rows before, is not carried over)."""
    df = penguins()
    df = df[df.index % 3 != 0]  # not a range: stored as a column
    df.to_parquet(tmp_path / "f.parquet")
    assert cli("dropna", tmp_path / "f.parquet", "-o", tmp_path / "o.parquet").code == 0
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "o.parquet"), df.dropna())
    kept = np.flatnonzero(df.notna().all(axis=1).to_numpy())
    assert np.load(tmp_path / "o.rows.npy").tolist() == kept.tolist()


@pytest.mark.parametrize("out", ["c.npy", "c.npz", "c.h5"])
def test_dropna_drops_the_same_rows_from_x_and_y(tmp_path, out):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 3)).astype(np.float32)
    y = np.arange(100, dtype=np.float64)
    x[[4, 50, 99], 2] = np.nan
    y[[10, 50]] = np.nan
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    keep = np.flatnonzero(~(np.isnan(x).any(axis=1) | np.isnan(y)))
    r = cli("dropna", tmp_path / "x.npy", "--y", tmp_path / "y.npy", "-o", tmp_path / out,
            "--chunk-size", "256B", "--json")  # fmt: skip
    assert r.code == 0, r.stderr
    assert r.json()["details"] == {"rows": 100, "kept": 96, "dropped": 4}  # row 50 in both
    if out.endswith(".npy"):
        got = {k: np.load(tmp_path / f"c{s}.npy") for k, s in
               (("data", ""), ("y", ".y"), ("rows", ".rows"))}  # fmt: skip
    elif out.endswith(".npz"):
        got = dict(np.load(tmp_path / out))
    else:
        import h5py

        with h5py.File(tmp_path / out) as f:
            got = {"data": f["data"][()], "y": f["data_y"][()], "rows": f["data_rows"][()]}
    np.testing.assert_array_equal(got["rows"], keep)
    np.testing.assert_array_equal(got["data"], x[keep])
    np.testing.assert_array_equal(got["y"], y[keep])
    xs, ys, rows = dsdoctor.dropna(x, y=y)
    np.testing.assert_array_equal(ys, y[keep])
    np.testing.assert_array_equal(rows, keep)
    np.testing.assert_array_equal(xs, x[keep])


def test_dropna_refuses_x_and_y_of_different_lengths_in_memory_and_on_file(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((5, 2)))
    np.save(tmp_path / "y.npy", np.zeros(4))
    r = cli("dropna", tmp_path / "x.npy", "--y", tmp_path / "y.npy", "-o", tmp_path / "o.npy")
    assert_clean_error(r, "5 samples", "4")
    with pytest.raises(RepairError, match="5 samples"):
        dsdoctor.dropna(np.zeros((5, 2)), y=np.zeros(4))
    assert not (tmp_path / "o.npy").exists()


# -- impute --------------------------------------------------------------------------------------
def _pandas_fill(df: pd.DataFrame, strategy: str, stats_from: pd.DataFrame | None = None):
    """What pandas gives: numeric columns by the strategy, string columns by their mode."""
    src = df if stats_from is None else stats_from
    out = df.copy()
    for c in NUMERIC:
        value = {"mean": src[c].mean(), "median": src[c].median(),
                 "most-frequent": src[c].mode()[0], "constant": -1.0}[strategy]  # fmt: skip
        out[c] = df[c].fillna(value)
    for c in ("species", "sex"):
        out[c] = df[c].fillna("unknown" if strategy == "constant" else src[c].mode()[0])
    return out


@pytest.mark.parametrize("strategy", ["mean", "median", "most-frequent", "constant"])
def test_impute_a_table_equals_pandas_fillna(table, tmp_path, strategy):
    df, path = table
    expected = _pandas_fill(df, strategy)
    for chunk in ("64MiB", "1KiB"):
        out = tmp_path / f"{strategy}-{chunk}.parquet"
        args = ["impute", path, "--strategy", strategy, "-o", out, "--chunk-size", chunk]
        if strategy == "constant":
            args[4:4] = ["--fill-value", "-1"]
            expected["species"] = df["species"]
            expected["sex"] = df["sex"].fillna("-1")
        r = cli(*args)
        assert r.code == 0, r.stderr
        got = pd.read_parquet(out)
        pd.testing.assert_frame_equal(got, expected, check_dtype=False, rtol=1e-12)
        assert not got.isna().any().any()


@pytest.mark.parametrize("strategy", ["mean", "median", "most-frequent"])
def test_impute_an_array_equals_pandas_fillna(tmp_path, strategy):
    rng = np.random.default_rng(7)
    x = rng.integers(0, 9, size=(301, 5)).astype(np.float64) + rng.random((301, 5)).round(1)
    x[rng.random(x.shape) < 0.1] = np.nan
    np.save(tmp_path / "x.npy", x)
    frame = pd.DataFrame(x)
    stat = {"mean": frame.mean(), "median": frame.median(), "most-frequent": frame.mode().iloc[0]}
    expected = frame.fillna(stat[strategy]).to_numpy()
    r = cli("impute", tmp_path / "x.npy", "--strategy", strategy, "-o", tmp_path / "o.npy",
            "--chunk-size", "1KiB")  # fmt: skip
    assert r.code == 0, r.stderr
    np.testing.assert_allclose(np.load(tmp_path / "o.npy"), expected, rtol=1e-12)
    record = json.loads((tmp_path / "o.dsdoctor.json").read_text())
    np.testing.assert_allclose(
        record["statistics"]["features"], stat[strategy].to_numpy(), rtol=1e-12
    )
    np.testing.assert_allclose(dsdoctor.impute(x, strategy=strategy), expected, rtol=1e-12)


@pytest.mark.parametrize("out", ["tr.parquet", "tr.csv"])
def test_from_fills_a_validation_split_with_the_training_statistics(table, tmp_path, out):
    df, path = table
    train, val = df.iloc[:40], df.iloc[40:].reset_index(drop=True)
    kind = path.suffix
    tr, va = tmp_path / f"train{kind}", tmp_path / f"val{kind}"
    for part, p in ((train, tr), (val, va)):
        part.to_csv(p, index=False) if kind == ".csv" else part.to_parquet(p)
    assert cli("impute", tr, "--strategy", "median", "-o", tmp_path / out).code == 0
    r = cli("impute", va, "--from", tmp_path / out, "-o", tmp_path / "va.parquet")
    assert r.code == 0, r.stderr
    got = pd.read_parquet(tmp_path / "va.parquet")
    pd.testing.assert_frame_equal(got, _pandas_fill(val, "median", train), check_dtype=False)
    assert (
        got["bill_length_mm"][0]
        == train["bill_length_mm"].median()
        != val["bill_length_mm"].median()
    )


def test_from_reapplies_an_arrays_features(tmp_path):
    rng = np.random.default_rng(1)
    tr, va = rng.normal(size=(50, 3)), rng.normal(size=(20, 3))
    tr[3, 0] = va[[1, 2], 2] = np.nan
    np.save(tmp_path / "tr.npy", tr)
    np.save(tmp_path / "va.npy", va)
    assert (
        cli("impute", tmp_path / "tr.npy", "--strategy", "median", "-o", tmp_path / "o.npz").code
        == 0
    )
    assert (
        cli(
            "impute", tmp_path / "va.npy", "--from", tmp_path / "o.npz", "-o", tmp_path / "v.npy"
        ).code
        == 0
    )
    expected = pd.DataFrame(va).fillna(pd.DataFrame(tr).median()).to_numpy()
    np.testing.assert_allclose(np.load(tmp_path / "v.npy"), expected, rtol=1e-12)


def test_from_an_output_without_statistics_is_a_clean_error_and_writes_nothing(table, tmp_path):
    _, path = table
    assert cli("dropna", path, "-o", tmp_path / "d.parquet").code == 0  # a record, not impute's
    np.save(tmp_path / "plain.npy", np.zeros((3, 2)))
    for bad in (tmp_path / "d.parquet", tmp_path / "plain.npy"):
        r = cli("impute", path, "--from", bad, "-o", tmp_path / "v.parquet")
        assert_clean_error(r, f"--from {bad} records no imputation statistics")
        assert not (tmp_path / "v.parquet").exists()
    r = cli(
        "impute",
        path,
        "--from",
        tmp_path / "d.parquet",
        "--strategy",
        "mean",
        "-o",
        tmp_path / "v.parquet",
    )
    assert_clean_error(r, "--from reuses the recorded fill values")


def test_bad_strategy_and_constant_without_value_are_clean_errors(table, tmp_path):
    _, path = table
    assert_clean_error(
        cli("impute", path, "--strategy", "mode", "-o", tmp_path / "o.parquet"), "--strategy"
    )
    assert_clean_error(
        cli("impute", path, "--strategy", "constant", "-o", tmp_path / "o.parquet"), "--fill-value"
    )
    assert not (tmp_path / "o.parquet").exists()


def test_most_frequent_refuses_a_measurement_past_its_distinct_bound(tmp_path, monkeypatch):
    import dsdoctor.repairs.impute as imp

    monkeypatch.setattr(imp, "MAX_DISTINCT", 100)
    x = np.random.default_rng(0).normal(size=(500, 1))
    x[0] = np.nan
    with pytest.raises(RepairError, match="use --strategy median"):
        dsdoctor.impute(x, strategy="most-frequent")


def test_frameworks_train_on_the_imputed_output(table, tmp_path):
    _, path = table
    assert cli("impute", path, "--target", "body_mass_g", "--strategy", "median", "-o",
               tmp_path / "o.parquet").code == 0  # fmt: skip
    got = pd.read_parquet(tmp_path / "o.parquet").dropna(subset=["body_mass_g"])
    x = got[["bill_length_mm", "flipper_length_mm"]].to_numpy(np.float32)
    y = got["body_mass_g"].to_numpy(np.float32) / 1000
    assert np.isfinite(x).all()
    torch = pytest.importorskip("torch")
    model = torch.nn.Linear(2, 1)
    loss = torch.nn.functional.mse_loss(model(torch.from_numpy(x)).squeeze(1), torch.from_numpy(y))
    loss.backward()
    torch.optim.SGD(model.parameters(), lr=1e-6).step()
    assert torch.isfinite(loss) and all(torch.isfinite(p).all() for p in model.parameters())
    keras = pytest.importorskip(
        "keras"
    )  # the numpy backend (the tests') runs no fit: a step's loss
    net = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    if keras.backend.backend() == "numpy":
        out = keras.ops.convert_to_numpy(net(x))
        assert np.isfinite(
            keras.ops.convert_to_numpy(keras.losses.mean_squared_error(y[:, None], out))
        ).all()
    else:
        net.compile(optimizer="sgd", loss="mse")
        assert np.isfinite(net.fit(x, y, batch_size=16, epochs=1, verbose=0).history["loss"][0])


# -- properties ----------------------------------------------------------------------------------

_columns = arrays(np.float64, st.tuples(st.integers(1, 60), st.integers(1, 3)),
                  elements=st.floats(allow_nan=True, allow_infinity=True, width=64))  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(_columns, st.integers(1, 7))
def test_the_radix_median_equals_numpys_on_any_floats_in_any_chunks(a, pieces):
    from dsdoctor.repairs.impute import exact_medians

    counts = (~np.isnan(a)).sum(axis=0)
    got = exact_medians(lambda: iter(np.array_split(a, pieces)), counts)
    for j, value in enumerate(got):
        col = a[~np.isnan(a[:, j]), j]
        if not len(col):
            assert value is None
            continue
        with np.errstate(invalid="ignore", over="ignore"):
            expected = float(np.median(col))
        middle = np.sort(col)[[(len(col) - 1) // 2, len(col) // 2]]
        if middle[0] == middle[1]:  # the middle value itself: numpy's (x + x) / 2 overflows past
            expected = float(middle[0])  # half the float range, to inf
        assert value == expected or (np.isnan(value) and np.isnan(expected)), (value, expected)


@settings(max_examples=60, deadline=None)
@given(_columns, st.sampled_from(["mean", "median", "most-frequent"]))
def test_impute_leaves_no_nan_where_a_column_has_a_value_and_dropna_leaves_none(a, strategy):
    with np.errstate(all="ignore"):
        filled = dsdoctor.impute(a, strategy=strategy)
    has_value = (~np.isnan(a)).any(axis=0)
    assert not np.isnan(filled[:, has_value]).any() or strategy == "mean"  # inf - inf is NaN
    np.testing.assert_array_equal(filled[~np.isnan(a)], a[~np.isnan(a)])  # values present stay
    xs, _, rows = dsdoctor.dropna(a)
    assert not np.isnan(xs).any() and np.array_equal(xs, a[rows])
