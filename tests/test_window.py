"""``window``: a series (T, F) → windows (N, L, F), against keras.utils.timeseries_dataset_from_array
itself; targets with a horizon, groups, time gaps, the chronological split, tables written by
pandas, bounded memory, and one training step of a Keras LSTM (jax) and a PyTorch nn.LSTM on the
output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import tracemalloc

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dsdoctor
from dsdoctor.errors import RepairError, UsageError
from dsdoctor.repairs.window import validation_output

from .conftest import assert_clean_error, cli, run

os.environ.setdefault("KERAS_BACKEND", "numpy")

rng = np.random.default_rng(14)
CASES = [(5, 1, 1), (4, 3, 2), (7, 2, 3), (1, 1, 1), (12, 5, 1), (3, 1, 4)]


def keras_windows(x, y, length, stride, rate):
    """What Keras makes: its grain path (numpy, no TensorFlow), every batch joined."""
    pytest.importorskip("grain")
    import keras

    ds = keras.utils.timeseries_dataset_from_array(x, y, length, sequence_stride=stride,
                                                   sampling_rate=rate, batch_size=10_000,
                                                   format="grain")  # fmt: skip
    batches = list(ds)
    if y is None:
        return np.concatenate(batches), None
    return np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])


@pytest.mark.parametrize(("length", "stride", "rate"), CASES)
def test_windows_are_keras_windows(length, stride, rate):
    x = rng.normal(size=(61, 3)).astype(np.float32)
    w = dsdoctor.window(x, length=length, stride=stride, sampling_rate=rate)
    want, _ = keras_windows(x, None, length, stride, rate)
    np.testing.assert_array_equal(w.data, want)
    assert w.data.dtype == np.float32 and w.y is None and w.target_rows is None
    assert np.shares_memory(w.data, x)  # one series: a strided view, no copy


@pytest.mark.parametrize(("length", "stride", "rate"), CASES)
@pytest.mark.parametrize("horizon", [0, 1, 5])
def test_targets_are_horizon_rows_after_the_last_row_as_keras_with_shifted_targets(
    tmp_path, length, stride, rate, horizon
):
    """Keras aligns targets[i] with the window starting at row i: its own recipe for "H steps
    after the window" is targets=y[(L-1)*rate + H:]. The file entry, streamed in tiny chunks,
    writes the same windows and says which row each target is."""
    x = rng.normal(size=(61, 3)).astype(np.float32)
    y = np.arange(61, dtype=np.float64) * 10
    reach = (length - 1) * rate + horizon
    want_x, want_y = keras_windows(x, y[reach:], length, stride, rate)
    w = dsdoctor.window(x, length=length, stride=stride, sampling_rate=rate, y=y, horizon=horizon)
    np.testing.assert_array_equal(w.data, want_x)
    np.testing.assert_array_equal(w.y, want_y)
    np.testing.assert_array_equal(w.target_rows, w.starts + reach)
    np.testing.assert_array_equal(y[w.target_rows], w.y)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    out = tmp_path / "w.npz"
    r = cli("window", tmp_path / "x.npy", "--y", tmp_path / "y.npy", "--length", length,
            "--stride", stride, "--sampling-rate", rate, "--horizon", horizon, "-o", out,
            "--chunk-size", "256B", "--json")  # fmt: skip
    assert r.code == 0, r.stderr
    z = np.load(out)
    np.testing.assert_array_equal(z["data"], want_x)
    np.testing.assert_array_equal(z["y"], want_y)
    np.testing.assert_array_equal(z["target_rows"], z["starts"] + reach)
    prov = json.loads(str(z["provenance"]))
    assert prov["operation"] == "window" and prov["options"]["horizon"] == horizon
    assert f"target_rows[i] = starts[i] + {reach}" in prov["options"]["rule"]
    assert r.json()["details"]["rule"] == prov["options"]["rule"]


def test_the_default_horizon_is_the_next_step():
    y = np.arange(20.0)
    w = dsdoctor.window(np.zeros((20, 2)), length=4, y=y)
    assert w.starts[0] == 0 and w.target_rows[0] == 4 and w.y[0] == 4.0  # row after rows 0..3
    assert len(w.starts) == 16  # the last window (rows 15..18) has its target, row 19


@settings(max_examples=40, deadline=None)
@given(t=st.integers(1, 80), length=st.integers(1, 12), stride=st.integers(1, 6),
       rate=st.integers(1, 4), horizon=st.integers(0, 3), chunk=st.integers(1, 300))  # fmt: skip
def test_streamed_windows_equal_the_in_memory_ones_for_any_chunk_size(
    tmp_path_factory, t, length, stride, rate, horizon, chunk
):
    x = np.arange(t * 2, dtype=np.int32).reshape(t, 2)
    y = np.arange(t, dtype=np.int64)
    folder = tmp_path_factory.mktemp("w")
    try:
        mem = dsdoctor.window(x, length=length, stride=stride, sampling_rate=rate, y=y,
                              horizon=horizon)  # fmt: skip
    except RepairError as exc:
        assert "gives no window" in str(exc)
        assert (length - 1) * rate + horizon >= t
        return
    np.save(folder / "x.npy", x)  # a file: its reader reuses one buffer for every chunk
    np.save(folder / "y.npy", y)
    res = dsdoctor.window_file(str(folder / "x.npy"), str(folder / "w.npz"), length=length,
                               stride=stride, sampling_rate=rate, y=str(folder / "y.npy"),
                               horizon=horizon, chunk_bytes=chunk)  # fmt: skip
    z = np.load(folder / "w.npz")
    for role, want in (("data", mem.data), ("y", mem.y), ("starts", mem.starts),
                       ("target_rows", mem.target_rows)):  # fmt: skip
        np.testing.assert_array_equal(z[role], want)
    rows = mem.starts[:, None] + rate * np.arange(length)
    np.testing.assert_array_equal(mem.data, x[rows])  # the definition, without Keras
    assert res.shape == [len(mem.starts), length, 2]


def test_a_1d_series_gives_n_by_l_windows_as_keras_does():
    x = np.arange(10.0)
    w = dsdoctor.window(x, length=3)
    want, _ = keras_windows(x, None, 3, 1, 1)
    np.testing.assert_array_equal(w.data, want)
    assert w.data.shape == (8, 3)


# -- groups -----------------------------------------------------------------------------------------
def _panel(n_per=(40, 25, 33)) -> pd.DataFrame:
    """Three stations' hourly series in one table, rows of a station together."""
    frames = []
    for k, n in enumerate(n_per):
        frames.append(pd.DataFrame({
            "station": f"s{k}",
            "time": pd.date_range("2024-03-01", periods=n, freq="h"),
            "temp": np.arange(n, dtype=np.float64) + 1000 * k,
            "pressure": rng.normal(size=n).astype(np.float32),
            "load": np.arange(n, dtype=np.float64) + 1000 * k + 0.5,
        }))  # fmt: skip
    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_windows_never_cross_a_group_in_a_pandas_table(tmp_path, fmt):
    df = _panel()
    src = tmp_path / f"panel.{fmt}"
    df.to_parquet(src) if fmt == "parquet" else df.to_csv(src, index=False)
    out = tmp_path / "w.npz"
    r = cli("window", src, "--group", "station", "--time", "time", "--target", "load",
            "--length", 6, "--horizon", 2, "-o", out, "--json")  # fmt: skip
    assert r.code == 0, r.stderr
    z = np.load(out)
    # features: the numeric columns but the target (time and group are not features)
    assert z["data"].shape[1:] == (6, 2)
    temp = z["data"][:, :, 0]
    station = temp // 1000
    assert (station == station[:, :1]).all()  # every row of a window from one station
    # …and its target too: the load of the row 2 after the window's last row, same station
    np.testing.assert_array_equal(z["y"], temp[:, -1] + 2 + 0.5)
    np.testing.assert_array_equal(df["load"].to_numpy()[z["target_rows"]], z["y"])
    # every window a station can give: n - (6 - 1) - 2 each
    assert len(z["starts"]) == sum(n - 7 for n in (40, 25, 33))
    d = r.json()["details"]
    assert d["series"] == 3 and d["gaps"] == 0 and d["step"] == "1 hours"


def test_the_target_column_can_be_a_feature_too(tmp_path):
    """Forecasting a column from its own past: the features are named as SRC:COL,COL."""
    df = _panel((30,))
    df.to_parquet(tmp_path / "t.parquet")
    out = tmp_path / "w.npy"
    r = cli("window", f"{tmp_path / 't.parquet'}:load,temp", "--target", "load", "--length", 4,
            "-o", out)  # fmt: skip
    assert r.code == 0, r.stderr
    w, y = np.load(out), np.load(tmp_path / "w.y.npy")
    np.testing.assert_array_equal(
        w[:, :, 0],
        df["load"].to_numpy()[np.load(tmp_path / "w.starts.npy")[:, None] + np.arange(4)],
    )
    np.testing.assert_array_equal(y, w[:, -1, 0] + 1)  # next step's load


def test_a_group_whose_rows_are_not_contiguous_is_refused_naming_the_row(tmp_path):
    df = _panel()
    mixed = pd.concat([df.iloc[:10], df.iloc[50:60], df.iloc[10:20]], ignore_index=True)
    mixed.to_csv(tmp_path / "m.csv", index=False)
    r = run("window", tmp_path / "m.csv", "--group", "station", "--length", 3, "-o",
            tmp_path / "w.npy")  # fmt: skip
    assert_clean_error(r, "group 's0' are not contiguous", "row 20", "sort")
    assert not (tmp_path / "w.npy").exists()
    with pytest.raises(RepairError, match="not contiguous"):
        dsdoctor.window(mixed[["temp"]].to_numpy(), length=3, group=mixed["station"].to_numpy())


def test_groups_in_memory_and_from_a_file_of_ids(tmp_path):
    x = np.arange(30.0).reshape(15, 2)
    g = np.repeat([7, 3, 9], 5)
    w = dsdoctor.window(x, length=3, group=g)
    np.testing.assert_array_equal(w.starts, [0, 1, 2, 5, 6, 7, 10, 11, 12])
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "g.npy", g)
    assert cli("window", tmp_path / "x.npy", "--group", tmp_path / "g.npy", "--length", 3, "-o",
               tmp_path / "w.npy").code == 0  # fmt: skip
    np.testing.assert_array_equal(np.load(tmp_path / "w.starts.npy"), w.starts)
    np.testing.assert_array_equal(np.load(tmp_path / "w.npy"), w.data)


# -- time -------------------------------------------------------------------------------------------
def test_no_window_spans_a_time_gap(tmp_path):
    df = _panel((50,))
    df = df.drop(index=range(20, 24)).reset_index(drop=True)  # 4 hours missing after row 19
    df.to_parquet(tmp_path / "g.parquet")
    out = tmp_path / "w.npz"
    r = cli("window", tmp_path / "g.parquet", "--time", "time", "--length", 5, "-o", out, "--json")
    assert r.code == 0, r.stderr
    z = np.load(out)
    t = df["time"].to_numpy()
    spans = t[z["starts"] + 4] - t[z["starts"]]
    assert (spans == np.timedelta64(4, "h")).all()  # every window: 5 consecutive hours
    assert len(z["starts"]) == (20 - 4) + (26 - 4)
    d = r.json()
    assert d["details"]["gaps"] == 1 and "1 gap" in d["warnings"][0]


@pytest.mark.parametrize("bad", ["unsorted", "duplicate"])
def test_unsorted_or_repeated_time_is_refused_naming_the_row(tmp_path, bad):
    df = _panel((30,))
    if bad == "unsorted":
        df.loc[[11, 12], "time"] = df.loc[[12, 11], "time"].to_numpy()
    else:
        df.loc[12, "time"] = df.loc[11, "time"]
    df.to_csv(tmp_path / "t.csv", index=False)
    r = run("window", tmp_path / "t.csv", "--time", "time", "--length", 3, "-o", tmp_path / "w.npy")
    assert_clean_error(r, "row 12's time is not after row 11's", "sort the rows by time")
    assert not list(tmp_path.glob("w*"))


def test_time_restarts_at_each_group(tmp_path):
    """Each station's clock starts again: that is no unsorted time."""
    df = _panel((10, 12))
    df["time"] = pd.concat([pd.Series(pd.date_range("2024-01-01", periods=n, freq="D")) for n in (10, 12)],
                           ignore_index=True)  # fmt: skip
    df.to_parquet(tmp_path / "p.parquet")
    r = cli("window", tmp_path / "p.parquet", "--group", "station", "--time", "time", "--length", 3,
            "-o", tmp_path / "w.npy", "--json")  # fmt: skip
    assert r.code == 0, r.stderr
    assert r.json()["details"]["step"] == "1 days" and r.json()["details"]["gaps"] == 0


# -- split ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("gap", [0, 7])
def test_split_before_windowing_leaves_no_shared_row(tmp_path, gap):
    x = np.arange(200, dtype=np.float32).reshape(100, 2)
    y = np.arange(100.0)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    out = tmp_path / "train.npz"
    r = cli("window", tmp_path / "x.npy", "--y", tmp_path / "y.npy", "--length", 8, "--split",
            "0.8", "--gap", gap, "-o", out, "--json")  # fmt: skip
    assert r.code == 0, r.stderr
    tr, va = np.load(out), np.load(tmp_path / "train.val.npz")
    train_rows = set((tr["starts"][:, None] + np.arange(8)).ravel()) | set(tr["target_rows"])
    val_rows = set((va["starts"][:, None] + np.arange(8)).ravel()) | set(va["target_rows"])
    assert max(train_rows) == 79 and min(val_rows) == 80 + gap  # the parts, gap apart
    assert not train_rows & val_rows
    np.testing.assert_array_equal(va["data"][:, :, 0] / 2, va["starts"][:, None] + np.arange(8))
    d = r.json()["details"]["split"]
    assert (d["train_windows"], d["validation_windows"]) == (80 - 8, 20 - gap - 8)
    assert json.loads(str(va["provenance"]))["options"]["part"] == "validation"
    # in memory: the same two parts
    parts = dsdoctor.window(x, length=8, y=y, split=0.8, gap=gap)
    np.testing.assert_array_equal(parts.train.data, tr["data"])
    np.testing.assert_array_equal(parts.validation.y, va["y"])


def test_split_splits_each_series(tmp_path):
    x = np.arange(40.0)[:, None]
    g = np.repeat([0, 1], 20)
    train, val = dsdoctor.window(x, length=3, group=g, split=0.5, gap=2)
    assert train.starts.tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 20, 21, 22, 23, 24, 25, 26, 27]
    assert val.starts.tolist() == [12, 13, 14, 15, 16, 17, 32, 33, 34, 35, 36, 37]


def test_validation_output_names():
    assert validation_output("w.npy") == "w.val.npy"
    assert validation_output("d/train.npz") == "d/train.val.npz"
    assert validation_output("x.h5:/grp/w") == "x.val.h5:/grp/w"


def test_split_to_hdf5_writes_two_files(tmp_path):
    h5py = pytest.importorskip("h5py")
    np.save(tmp_path / "x.npy", np.arange(60.0).reshape(30, 2))
    r = cli("window", tmp_path / "x.npy", "--length", 4, "--split", "0.5", "-o",
            f"{tmp_path / 'w.h5'}:/win")  # fmt: skip
    assert r.code == 0, r.stderr
    with h5py.File(tmp_path / "w.h5") as f, h5py.File(tmp_path / "w.val.h5") as g:
        assert f["win"].shape == (12, 4, 2) and g["win"].shape == (12, 4, 2)
        assert g["win_starts"][0] == 15


# -- refusals: the same in memory and on the command line, nothing written -------------------------
@pytest.mark.parametrize(
    ("options", "cli_args", "needle", "exc"),
    [
        ({"length": 0}, ["--length", "0"], "--length", UsageError),
        ({"length": 40}, ["--length", "40"], "gives no window", RepairError),
        ({"length": 3, "horizon": 1}, ["--length", "3", "--horizon", "1"], "--horizon", UsageError),
        ({"length": 3, "split": 1.5}, ["--length", "3", "--split", "1.5"], "between 0 and 1", UsageError),
        ({"length": 3, "gap": 2}, ["--length", "3", "--gap", "2"], "--gap", UsageError),
        ({"length": 10, "split": 0.3}, ["--length", "10", "--split", "0.3"], "training part", RepairError),
    ],
)  # fmt: skip
def test_refusals_agree_and_write_nothing(tmp_path, options, cli_args, needle, exc):
    x = np.zeros((30, 2))
    with pytest.raises(exc, match=needle):
        dsdoctor.window(x, **options)
    np.save(tmp_path / "x.npy", x)
    r = run("window", tmp_path / "x.npy", *cli_args, "-o", tmp_path / "w.npy")
    if r.code == 2 and "Invalid value" in r.stderr:  # click's own refusal of --length 0
        assert "--length" in r.stderr
    else:
        assert_clean_error(r, needle)
    assert not list(tmp_path.glob("w*"))


def test_refusals_of_sources(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((30, 2)))
    np.save(tmp_path / "y.npy", np.zeros(29))
    df = _panel((30,))
    df.to_parquet(tmp_path / "p.parquet")
    out = tmp_path / "w.npy"
    assert_clean_error(run("window", tmp_path / "x.npy", "-o", out), "--length L")
    assert_clean_error(run("window", tmp_path / "x.npy", "--length", 3, "--y", tmp_path / "y.npy",
                           "-o", out), "29 rows but the series has 30")  # fmt: skip
    assert_clean_error(run("window", tmp_path / "x.npy", "--length", 3, "--target", "load", "-o",
                           out), "not a table", "--y SRC")  # fmt: skip
    assert_clean_error(run("window", tmp_path / "p.parquet", "--length", 3, "--target", "station",
                           "-o", out), "holds text", "encode")  # fmt: skip
    assert_clean_error(run("window", tmp_path / "p.parquet", "--length", 3, "--time", "nope",
                           "-o", out), "no column 'nope' for --time")  # fmt: skip
    assert_clean_error(run("window", tmp_path / "p.parquet", "--length", 3, "--time", "station",
                           "-o", out), "not numbers or datetimes")  # fmt: skip
    assert_clean_error(run("window", tmp_path / "x.npy", "--length", 3, "--group", "station",
                           "-o", out), "not a table", "station is no file")  # fmt: skip
    assert not out.exists()
    assert cli("window", tmp_path / "x.npy", "--length", 3, "-o", out).code == 0
    assert_clean_error(run("window", tmp_path / "x.npy", "--length", 4, "-o", out), "--force")
    assert np.load(out).shape == (28, 3, 2)  # not replaced


# -- memory -----------------------------------------------------------------------------------------
def test_memory_is_bounded_by_the_chunk_not_by_the_windows(tmp_path):
    """40,000 rows × 8 float32 (1.3 MB) in windows of 64 make 82 MB of output; written in
    1 MiB chunks the peak of Python allocations stays a few MiB: never L copies of the series."""
    x = rng.normal(size=(40_000, 8)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    tracemalloc.start()
    try:
        dsdoctor.window_file(str(tmp_path / "x.npy"), str(tmp_path / "w.npy"), length=64,
                             chunk_bytes=1 << 20)  # fmt: skip
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    out = np.load(tmp_path / "w.npy", mmap_mode="r")
    assert out.shape == (40_000 - 63, 64, 8) and out.nbytes > 80e6
    assert peak < 8 * 2**20, peak
    np.testing.assert_array_equal(out[-1], x[-64:])


# -- frameworks train on the output ----------------------------------------------------------------
KERAS_STEP = textwrap.dedent(
    """
    import sys, numpy as np, keras
    x, y = np.load(sys.argv[1]), np.load(sys.argv[2])
    model = keras.Sequential([keras.Input(x.shape[1:]), keras.layers.LSTM(4), keras.layers.Dense(1)])
    model.compile("adam", "mse")
    out = model.train_on_batch(x, y)
    value = float(out[0] if isinstance(out, list) else out)
    assert np.isfinite(value), value
    print("trained", keras.backend.backend())
    """
)


def test_keras_lstm_and_torch_lstm_train_a_step_on_the_windows(tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("jax")
    df = _panel((60, 45))
    df.to_parquet(tmp_path / "p.parquet")
    out = tmp_path / "w.npy"
    r = cli("window", tmp_path / "p.parquet", "--group", "station", "--time", "time", "--target",
            "load", "--length", 8, "--stride", 2, "-o", out)  # fmt: skip
    assert r.code == 0, r.stderr
    x, y = np.load(out), np.load(tmp_path / "w.y.npy")
    assert x.shape[1:] == (8, 2) and y.shape == (len(x),)
    for backend in ("jax", "torch"):  # the two Keras backends
        env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu"}
        p = subprocess.run([sys.executable, "-c", KERAS_STEP, out, tmp_path / "w.y.npy"],
                           capture_output=True, text=True, env=env, timeout=300)  # fmt: skip
        assert p.returncode == 0 and f"trained {backend}" in p.stdout, p.stderr[-2000:]

    lstm, head = torch.nn.LSTM(2, 4, batch_first=True), torch.nn.Linear(4, 1)
    params = [*lstm.parameters(), *head.parameters()]
    opt = torch.optim.SGD(params, lr=1e-3)
    xs = torch.from_numpy(x.astype(np.float32))
    ys = torch.from_numpy(y.astype(np.float32))[:, None]
    before = [q.detach().clone() for q in params]
    seq, _ = lstm(xs)
    loss = torch.nn.functional.mse_loss(head(seq[:, -1]), ys)
    loss.backward()
    opt.step()
    assert torch.isfinite(loss)
    assert any(not torch.equal(a, b) for a, b in zip(before, params, strict=True))


def test_standard_input_is_read_once_and_parquet_takes_the_windows(tmp_path):
    import io

    import pyarrow.parquet as pq

    x = np.arange(40, dtype=np.float32).reshape(20, 2)
    buf = io.BytesIO()
    np.save(buf, x)
    r = run("window", "-", "--length", 4, "-o", tmp_path / "s.npy", stdin=buf.getvalue())
    assert r.code == 0, r.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "s.npy")[-1], x[-4:])
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.arange(20.0))
    r = cli("window", tmp_path / "x.npy", "--y", tmp_path / "y.npy", "--length", 4, "-o",
            tmp_path / "w.parquet")  # fmt: skip
    assert r.code == 0, r.stderr
    t = pq.read_table(tmp_path / "w.parquet")
    assert t.column_names == ["data", "starts", "y", "target_rows"] and t.num_rows == 16
    assert json.loads(t.schema.metadata[b"dsdoctor"])["operation"] == "window"


# -- rank-mismatch offers window ------------------------------------------------------------------
def test_rank_mismatch_offers_window_and_repair_applies_it_only_as_an_assumption(tmp_path):
    x = rng.normal(size=(203, 12)).astype(np.float32)
    y = rng.normal(size=203).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    args = ["--x", tmp_path / "x.npy", "--y", tmp_path / "y.npy", "--input-shape", "(None, 8, 12)"]
    (f,) = [
        f for f in cli("check", *args, "--json").json()["findings"] if f["name"] == "rank-mismatch"
    ]
    (fix,) = f["fixes"]
    assert fix["safety"] == "assumption" and " window " in fix["command"]
    assert "--length 8" in fix["command"] and "--horizon 0" in fix["command"]
    r = cli("repair", *args, "-o", tmp_path / "lossless")
    assert r.code == 1 and not (tmp_path / "lossless").exists()  # not applied by default
    r = cli("repair", *args, "-o", tmp_path / "rep", "--allow", "lossless,assumption")
    assert r.code == 0, r.stdout
    w = np.load(tmp_path / "rep" / "x.windowed.npy")
    starts = np.load(tmp_path / "rep" / "x.windowed.starts.npy")
    assert w.shape == (196, 8, 12)
    np.testing.assert_array_equal(np.load(tmp_path / "rep" / "x.windowed.y.npy"), y[starts + 7])
    # the windows pass the check the rows failed
    r = cli("check", "--x", tmp_path / "rep" / "x.windowed.npy", "--input-shape", "(None, 8, 12)",
            "--json")  # fmt: skip
    assert "rank-mismatch" not in [f["name"] for f in r.json()["findings"]]


def test_one_timestep_per_row_is_never_applied_silently(tmp_path):
    np.save(tmp_path / "x.npy", rng.normal(size=(50, 12)).astype(np.float32))
    args = ["--x", tmp_path / "x.npy", "--input-shape", "(None, None, 12)"]
    (f,) = cli("check", *args, "--json").json()["findings"]
    assert f["fixes"][0]["safety"] == "assumption" and "--add-axis time" in f["fixes"][0]["command"]
    assert "only when each row is its own sequence" in f["message"]
    r = cli("repair", *args, "-o", tmp_path / "rep", "--json")
    assert r.json()["applied"] == [] and r.json()["skipped"][0]["safety"] == "assumption"


def test_max_step_says_which_intervals_are_gaps(tmp_path):
    """Jittered timestamps: with the most common interval as the step every longer one is a
    gap; --max-step names the longest interval that is not."""
    t = pd.date_range("2024-01-01", periods=60, freq="s").to_numpy()
    t = t + np.tile(np.array([0, 3, 1], dtype="timedelta64[ms]"), 20)  # 1 s ± a few ms
    t[30:] += np.timedelta64(10, "s")  # one real gap
    df = pd.DataFrame({"t": t, "v": np.arange(60.0)})
    df.to_parquet(tmp_path / "j.parquet")
    base = ["window", tmp_path / "j.parquet", "--time", "t", "--length", 5, "--json"]
    assert_clean_error(run(*base[:-1], "-o", tmp_path / "a.npy"), "gives no window",
                       "say which is a gap with --max-step")  # fmt: skip
    r = cli(*base, "--max-step", "1.5s", "-o", tmp_path / "b.npy")
    assert r.code == 0, r.stderr
    assert r.json()["details"]["gaps"] == 1 and r.json()["shape"][0] == (30 - 4) * 2
    assert "--max-step 1.5s" in r.json()["warnings"][0]
    w = dsdoctor.window(df[["v"]].to_numpy(), length=5, time=t, max_step=np.timedelta64(1500, "ms"))
    np.testing.assert_array_equal(w.starts, np.load(tmp_path / "b.starts.npy"))
    assert_clean_error(run(*base[:-1], "--max-step", "soon", "-o", tmp_path / "c.npy"),
                       "give a duration such as 90s")  # fmt: skip
    assert_clean_error(run("window", tmp_path / "j.parquet", "--length", 5, "--max-step", "2s",
                           "-o", tmp_path / "c.npy"), "give --time too")  # fmt: skip
    numeric = dsdoctor.window(np.zeros((10, 1)), length=2, time=np.array([0, 1, 2, 3.5, 4.5, 5.5, 9, 10, 11, 12]),
                              max_step=1.6)  # fmt: skip
    assert numeric.starts.tolist() == [0, 1, 2, 3, 4, 6, 7, 8]


def test_an_irregular_clock_asks_for_max_step(monkeypatch):
    """A float clock whose intervals all differ has no most common step: counting one per row
    would grow with T, so past MAX_STEPS distinct intervals --max-step is asked for."""
    from dsdoctor.repairs import window as module

    monkeypatch.setattr(module, "MAX_STEPS", 10)
    t = np.cumsum(rng.uniform(0.9, 1.1, size=40))
    with pytest.raises(RepairError, match=r"more than 10 different intervals.*--max-step"):
        dsdoctor.window(np.zeros((40, 1)), length=3, time=t)
    assert len(dsdoctor.window(np.zeros((40, 1)), length=3, time=t, max_step=1.2).starts) == 38


@pytest.mark.parametrize("out", ["w.parquet", "w.npz", "w.npy"])
def test_check_of_a_window_output_reads_its_row_numbers_as_row_numbers(tmp_path, out):
    """starts and target_rows are row numbers of the source, not inputs: check names them as
    skipped (never stacked into x), pairs the windows with y, and measures only the windows."""
    frame = pd.DataFrame({"a": np.arange(40.0), "b": np.ones(40), "load": np.arange(40.0) * 2})
    frame.to_parquet(tmp_path / "s.parquet")
    w = tmp_path / out
    assert cli("window", tmp_path / "s.parquet", "--target", "load", "--length", "4",
               "-o", w).code == 0  # fmt: skip
    report = dsdoctor.check(str(w))
    roles = {k.rsplit(":", 1)[-1] if ":" in k else "data": (a["role"], a.get("shape"),
             bool(a.get("not_analysed"))) for k, a in report.arrays.items()}  # fmt: skip
    assert roles["data"] == ("x", [36, 4, 2], False)
    if out != "w.npy":
        assert roles["y"] == ("y", [36], False)
        assert roles["starts"] == ("array", [36], True)
        assert roles["target_rows"] == ("array", [36], True)
    else:  # the row numbers are files beside it, told apart by the record
        starts = str(tmp_path / "w.starts.npy")
        assert dsdoctor.check(starts).arrays[starts]["not_analysed"]
    if out == "w.npz":  # the record member is named as what it is, not as text data
        assert "record of the dsdoctor command" in report.arrays[f"{w}:provenance"]["skipped"]
    # the constant feature b is found on the last axis of the windows; nothing per row number
    assert [f.code for f in report.findings] == ["DS402"]


# -- NaN in the series ------------------------------------------------------------------------------
@pytest.mark.parametrize(("length", "stride", "rate"), CASES)
def test_windows_holding_nan_are_counted_as_if_each_window_were_looked_at(
    tmp_path, length, stride, rate
):
    x = rng.normal(size=(61, 3)).astype(np.float32)
    x[[7, 30, 31], [0, 2, 1]] = np.nan
    y = np.arange(61.0)
    y[[20, 50]] = np.nan
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    w = dsdoctor.window(x, length=length, stride=stride, sampling_rate=rate, y=y, horizon=1)
    want = int(np.isnan(w.data).any(axis=(1, 2)).sum())
    assert want and w.nan_windows == want
    # small chunks: the count is made block by block, over blocks that overlap
    r = cli("window", tmp_path / "x.npy", "--y", tmp_path / "y.npy", "--length", length,
            "--stride", stride, "--sampling-rate", rate, "--chunk-size", "200B",
            "-o", tmp_path / "w.npz", "--json")  # fmt: skip
    assert r.code == 0, r.stderr
    d = r.json()
    assert d["details"]["nan_windows"] == want
    assert d["details"]["nan_targets"] == int(np.isnan(w.y).sum())
    (said,) = [s for s in d["warnings"] if "NaN" in s]
    first = int(w.starts[np.isnan(w.data).any(axis=(1, 2))][0])
    assert f"{want:,} of {len(w.data):,} windows hold NaN" in said
    assert f"first window starts at row {first:,}" in said and "dsdoctor impute" in said
    # and printed
    r = cli("window", tmp_path / "x.npy", "--length", length, "--stride", stride,
            "--sampling-rate", rate, "-o", tmp_path / "v.npy")  # fmt: skip
    assert r.code == 0 and "hold NaN" in r.stdout + r.stderr


def test_a_series_without_nan_says_nothing_and_split_counts_each_part(tmp_path):
    x = np.arange(200, dtype=np.float64).reshape(100, 2)
    np.save(tmp_path / "x.npy", x)
    r = cli("window", tmp_path / "x.npy", "--length", 8, "-o", tmp_path / "a.npy", "--json")
    assert r.code == 0 and r.json()["details"]["nan_windows"] == 0
    assert not [s for s in r.json()["warnings"] if "NaN" in s]
    x[90, 1] = np.nan  # in the validation part only
    np.save(tmp_path / "x.npy", x)
    r = cli("window", tmp_path / "x.npy", "--length", 8, "--split", "0.8", "-o",
            tmp_path / "b.npy", "--json")  # fmt: skip
    d = r.json()["details"]
    assert d["nan_windows"] == 0 and d["split"]["validation_nan_windows"] == 8
    (said,) = [s for s in r.json()["warnings"] if "NaN" in s]
    assert "8 of 13 windows (validation) hold NaN" in said


# -- the split's two outputs are committed together -------------------------------------------------
def test_split_outputs_appear_together_or_not_at_all(tmp_path, monkeypatch):
    from dsdoctor.sinks import atomic

    np.save(tmp_path / "x.npy", np.arange(60.0).reshape(30, 2))
    out = tmp_path / "w.npy"
    real = atomic._rename_exclusive

    def fail_on_the_training_data(tmp, dest):
        if dest == out:
            raise OSError(28, "No space left on device")
        real(tmp, dest)

    monkeypatch.setattr(atomic, "_rename_exclusive", fail_on_the_training_data)
    with pytest.raises(dsdoctor.DsdoctorError):
        dsdoctor.window_file(str(tmp_path / "x.npy"), str(out), length=4, split=0.5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npy"]  # no val, no temporaries
    monkeypatch.setattr(atomic, "_rename_exclusive", real)
    done = dsdoctor.window_file(str(tmp_path / "x.npy"), str(out), length=4, split=0.5)
    names = sorted(p.name for p in tmp_path.iterdir())
    written = ["w.npy", "w.starts.npy", "w.dsdoctor.json", "w.val.npy", "w.val.starts.npy",
               "w.val.dsdoctor.json"]  # fmt: skip
    assert names == sorted(["x.npy", *written])
    assert sorted(os.path.basename(p) for p in done.outputs) == sorted(written)


def test_a_split_commit_killed_half_way_leaves_both_outputs_refused(tmp_path, monkeypatch):
    """Killed after the validation files were renamed, before the training data: markers stay,
    and readers refuse the validation files as much as the training ones."""
    from dsdoctor.sinks import atomic

    np.save(tmp_path / "x.npy", np.arange(60.0).reshape(30, 2))
    out = tmp_path / "w.npy"
    for name in ("w.npy", "w.starts.npy", "w.val.npy", "w.val.starts.npy"):
        np.save(tmp_path / name, np.zeros(1))  # an older run's, replaced with --force
    real = os.replace

    def killed(tmp, dest):
        if str(dest) == str(out):
            raise KeyboardInterrupt
        real(tmp, dest)

    monkeypatch.setattr(atomic.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        dsdoctor.window_file(str(tmp_path / "x.npy"), str(out), length=4, split=0.5, force=True)
    monkeypatch.setattr(atomic.os, "replace", real)
    for name in ("w.val.npy", "w.val.starts.npy", "w.starts.npy", "w.npy"):
        assert_clean_error(cli("inspect", tmp_path / name), "interrupted")
    assert cli("window", tmp_path / "x.npy", "--length", 4, "--split", "0.5", "-o", out,
               "--force").code == 0  # fmt: skip
    for name in ("w.val.npy", "w.val.starts.npy", "w.npy"):
        assert cli("inspect", tmp_path / name).code == 0
    assert not list(tmp_path.glob("*dsdoctor-incomplete"))
