"""``check --split``: the split statistics (exact, mergeable, spilled in bounded memory) and the
split checks DS801-DS808 on seeded synthetic splits with planted leaks, drift and label gaps."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

import dsdoctor
from dsdoctor.engine import splits as S

from .conftest import assert_clean_error, cli

#: every test of this file leaves no spilled hash keys behind (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("no_spill_left")

SPLIT_CODES = {f"DS80{i}" for i in range(1, 9)}


def split_findings(report) -> dict[str, list]:
    out: dict[str, list] = {}
    for f in report.findings:
        if f.code in SPLIT_CODES:
            out.setdefault(f.code, []).append(f)
    return out


def save_pair(tmp, name, x, y):
    np.save(tmp / f"x_{name}.npy", x)
    np.save(tmp / f"y_{name}.npy", y)
    return f"{name}={tmp / f'x_{name}.npy'},{tmp / f'y_{name}.npy'}"


# -- the statistics ------------------------------------------------------------------------------
def test_equal_values_hash_equal_and_different_rows_differ():
    a = np.array([[0.0, np.nan, 1.5], [-0.0, np.float64("nan") * -1, 1.5], [0.0, 0.0, 1.5]])
    k = S.row_hashes(a)
    assert (k[0] == k[1]).all()  # -0.0 is 0.0, every NaN one NaN
    assert not (k[0] == k[2]).all()
    rng = np.random.default_rng(0)
    many = S.row_hashes(rng.integers(0, 4, (20_000, 3)).astype(np.int8))
    assert len(np.unique(many, axis=0)) == 64  # 4**3 distinct rows, no collision among them
    assert not (
        S.row_hashes(np.zeros((1, 2), np.float32)) == S.row_hashes(np.zeros((1, 2), np.int32))
    ).all()


def _stats(parts, opts, ys=None, groups=None):
    out = S.SplitStats()
    for i, p in enumerate(parts):
        one = S.SplitStats()
        one.update(p, opts, None if ys is None else ys[i], None if groups is None else groups[i])
        out = out.merge(one)
    return out


@pytest.mark.parametrize("memory", [S.DEFAULT_HASH_MEMORY, 2_000])
def test_merged_parts_equal_one_pass(memory):
    """Every statistic merges exactly: parts folded in row order == one pass, spilled or not."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3_000, 4)).astype(np.float32)
    y = rng.integers(0, 5, 3_000)
    g = rng.integers(0, 50, 3_000)
    bins = S.Bins(x.min(axis=0).astype(np.float64), x.max(axis=0).astype(np.float64))
    opts = S.SplitOptions(bins=bins, memory_bytes=memory)
    one = S.SplitStats()
    one.update(x, opts, y, g)
    cuts = [0, 700, 1_500, 1_501, 3_000]
    parts = [slice(a, b) for a, b in itertools.pairwise(cuts)]
    merged = _stats([x[p] for p in parts], opts, [y[p] for p in parts], [g[p] for p in parts])
    assert merged.rows == one.rows == 3_000
    assert (merged.x_keys.spill is not None) == (memory < 100_000)
    assert (merged.x_keys.rows_sorted() == one.x_keys.rows_sorted()).all()
    assert (merged.xy_keys.rows_sorted() == one.xy_keys.rows_sorted()).all()
    assert merged.classes == one.classes and merged.groups == one.groups
    assert (merged.hist == one.hist).all() and merged.hist.sum() == x.size
    for st in (merged, one):
        st.close()


def test_window_timesteps_merge_to_their_union():
    opts = S.SplitOptions(window=(5, 2))
    starts = np.array([0, 1, 20, 3, 40])
    one = S.SplitStats()
    one.update(np.zeros((5, 5, 1)), opts, starts=starts)
    a, b = S.SplitStats(), S.SplitStats()
    a.update(np.zeros((2, 5, 1)), opts, starts=starts[:2])
    b.update(np.zeros((3, 5, 1)), opts, starts=starts[2:])
    m = a.merge(b)
    assert (
        [x.tolist() for x in m.steps]
        == [x.tolist() for x in one.steps]
        == [[0, 20, 40], [11, 28, 48]]
    )
    assert S.covered(*one.steps) == 12 + 9 + 9


def test_interval_intersection_counts_shared_integers():
    a = S.union_intervals(np.array([0, 10, 50]), np.array([5, 20, 60]))
    b = S.union_intervals(np.array([3, 19, 61]), np.array([12, 30, 70]))
    brute = len({*range(0, 6), *range(10, 21), *range(50, 61)}
                & {*range(3, 13), *range(19, 31), *range(61, 71)})  # fmt: skip
    assert S.intersect_intervals(a, b) == brute == 8


@pytest.mark.parametrize("memory", [S.DEFAULT_HASH_MEMORY, 4_000])
def test_overlap_is_exact_in_memory_and_bucketed(memory):
    rng = np.random.default_rng(2)
    a = rng.normal(size=(5_000, 16)).astype(np.float32)
    b = rng.normal(size=(1_000, 16)).astype(np.float32)
    b[[10, 11, 500]] = a[[7, 7, 4_000]]  # two copies of one row, one of another
    opts = S.SplitOptions(memory_bytes=memory)
    sa, sb = S.SplitStats(), S.SplitStats()
    for lo in range(0, 5_000, 1_000):
        sa.update(a[lo : lo + 1_000], opts)
    sb.update(b, opts)
    o = S.overlap(sa.x_keys, sb.x_keys)
    assert (o.a_rows, o.b_rows, o.distinct) == (2, 3, 2)
    assert o.a_first == [7, 4_000] and o.b_first == [10, 11, 500]
    sa.close()
    sb.close()


def test_drift_distances():
    a = np.array([100, 100, 100, 100])
    assert S.psi(a, a) == pytest.approx(0) and S.js_distance(a, a) == pytest.approx(0)
    assert S.js_distance(np.array([1, 0]), np.array([0, 1])) == pytest.approx(1)
    assert S.psi(a, np.array([10, 10, 190, 190])) > 0.2


# -- the checks ----------------------------------------------------------------------------------
def test_planted_duplicates_are_counted_with_their_rows(tmp_path):
    rng = np.random.default_rng(3)
    xt, yt = rng.normal(size=(4_000, 6)).astype(np.float32), rng.integers(0, 3, 4_000)
    xv, yv = rng.normal(size=(1_000, 6)).astype(np.float32), rng.integers(0, 3, 1_000)
    xv[[5, 9, 300]] = xt[[100, 101, 102]]
    yv[[5, 9]] = yt[[100, 101]]
    yv[300] = (yt[102] + 1) % 3  # the same inputs with another target
    report = dsdoctor.check(
        split=[save_pair(tmp_path, "train", xt, yt), save_pair(tmp_path, "val", xv, yv)]
    )
    found = split_findings(report)
    assert set(found) == {"DS803"}, report.findings
    (f,) = found["DS803"]
    e = f.evidence
    assert (e["b_rows"], e["a_rows"], e["distinct"], e["other_target_rows"]) == (3, 3, 3, 1)
    assert e["b_first_rows"] == [5, 9, 300] and e["a_first_rows"] == [100, 101, 102]
    assert "3 of its 1,000 samples" in f.message and "1 of them with another target" in f.message
    assert f.arrays == ["train:x", "train:y", "val:x", "val:y"]


def _series_windows(tmp_path, n=600, length=10):
    rng = np.random.default_rng(4)
    series = np.cumsum(rng.normal(size=(n, 3)), axis=0).astype(np.float32)
    windows = np.lib.stride_tricks.sliding_window_view(series, length, axis=0).transpose(0, 2, 1)
    return series, np.ascontiguousarray(windows)


def test_random_split_of_stride_1_windows_shares_the_timesteps(tmp_path):
    _, w = _series_windows(tmp_path)
    order = np.random.default_rng(5).permutation(len(w))
    np.save(tmp_path / "train.npy", w[order[:470]])
    np.save(tmp_path / "val.npy", w[order[470:]])
    split = [f"train={tmp_path / 'train.npy'}", f"val={tmp_path / 'val.npy'}"]
    unknown = dsdoctor.check(split=split)  # (N, 10, 3) might be images: not compared, and said so
    assert (
        "DS804" not in split_findings(unknown)
        and len(unknown.splits["timesteps_not_compared"]) == 2
    )
    report = dsdoctor.check(split=split, timesteps=10)
    found = split_findings(report)
    assert "DS803" not in found  # no window is duplicated …
    (f,) = found["DS804"]  # … but nearly every timestep is
    assert f.evidence["share"] > 0.95 and f.evidence["unit"] == "distinct timestep rows"


def test_windows_from_dsdoctor_window_are_compared_by_source_rows(tmp_path):
    series, _ = _series_windows(tmp_path)
    np.save(tmp_path / "s.npy", series)
    assert cli("window", tmp_path / "s.npy", "--length", "10", "--split", "0.8", "--gap", "10",
               "-o", tmp_path / "w.npy").code == 0  # fmt: skip
    assert cli("window", tmp_path / "s.npy", "--length", "10", "-o", tmp_path / "all.npy").code == 0
    val = f"val={tmp_path / 'w.val.npy'}"
    clean = dsdoctor.check(split=[f"train={tmp_path / 'w.npy'}", val])
    assert not {"DS803", "DS804"} & set(split_findings(clean))
    leaky = split_findings(dsdoctor.check(split=[f"train={tmp_path / 'all.npy'}", val]))
    (f,) = leaky["DS804"]
    val_rows = 600 - 480 - 10  # the validation part after the gap
    assert f.evidence["b_steps"] == f.evidence["shared"] == val_rows
    assert f.evidence["unit"] == "timesteps"


def test_unseen_labels_and_a_class_without_training_samples(tmp_path):
    rng = np.random.default_rng(6)
    xt, yt = rng.normal(size=(2_000, 3)), rng.integers(0, 4, 2_000)
    yt[yt == 2] = 0  # class 2 never in train
    xv, yv = rng.normal(size=(500, 3)), rng.integers(0, 4, 500)
    yv[:11] = 7  # a label nobody has
    split = [save_pair(tmp_path, "train", xt, yt), save_pair(tmp_path, "val", xv, yv)]
    found = split_findings(dsdoctor.check(split=split, classes=8))
    (f,) = found["DS802"]
    assert f.evidence["unseen"] == [[2, int((yv == 2).sum())], [7, 11]]
    assert f.evidence["rows"] == 11 + int((yv == 2).sum())
    (e,) = found["DS808"]
    assert e.evidence["missing"] == [2, 4, 5, 6, 7]


def test_a_shifted_feature_and_label_drift(tmp_path):
    rng = np.random.default_rng(7)
    xt, yt = rng.normal(size=(5_000, 5)), rng.integers(0, 2, 5_000)
    xv, yv = rng.normal(size=(2_000, 5)), (rng.random(2_000) < 0.9).astype(np.int64)
    xv[:, 3] = xv[:, 3] * 2 + 1.5
    found = split_findings(
        dsdoctor.check(
            split=[save_pair(tmp_path, "train", xt, yt), save_pair(tmp_path, "val", xv, yv)]
        )
    )
    (f,) = found["DS806"]
    assert [d["feature"] for d in f.evidence["drifted"]] == ["feature 3"]
    assert "DS807" in found


def test_group_leakage_and_column_names_in_tables(tmp_path):
    rng = np.random.default_rng(8)

    def table(n, users, name):
        df = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "c"])
        df["label"], df["user"] = rng.integers(0, 2, n), users
        df.to_parquet(tmp_path / f"{name}.parquet")
        return f"{name}={tmp_path / f'{name}.parquet'}"

    train = table(3_000, np.arange(3_000) % 100, "train")
    val = table(
        600, np.concatenate([np.full(20, 5), np.full(30, 77), np.arange(550) % 50 + 100]), "val"
    )
    report = dsdoctor.check(split=[train, val], target="label", group="user")
    (f,) = split_findings(report)["DS805"]
    assert (f.evidence["shared"], f.evidence["rows"], f.evidence["first_values"]) == (
        2,
        50,
        [5, 77],
    )
    assert report.splits["splits"]["val"]["groups"] == 52


def test_clean_splits_are_healthy(tmp_path):
    rng = np.random.default_rng(9)
    split = [save_pair(tmp_path, name, rng.normal(size=(n, 4)), rng.integers(0, 3, n))
             for name, n in (("train", 6_000), ("val", 2_000), ("test", 2_000))]  # fmt: skip
    report = dsdoctor.check(split=split)
    assert not split_findings(report), report.findings
    assert report.splits["drift_not_judged"] == []
    assert [d["split"] for d in report.datasets] == ["train", "val", "test"]


def test_splits_with_other_columns_are_a_schema_finding(tmp_path):
    rng = np.random.default_rng(10)
    a = pd.DataFrame(rng.normal(size=(50, 3)), columns=["a", "b", "c"]).assign(label=1)
    b = pd.DataFrame(rng.normal(size=(50, 3)), columns=["a", "c", "d"]).assign(label=1)
    a.to_parquet(tmp_path / "a.parquet")
    b.to_parquet(tmp_path / "b.parquet")
    found = split_findings(dsdoctor.check(split=[f"train={tmp_path / 'a.parquet'}",
                                                 f"val={tmp_path / 'b.parquet'}"], target="label"))  # fmt: skip
    (f,) = found["DS801"]
    assert "columns: no b, extra d" in f.message


def test_the_cli_json_equals_the_api(tmp_path):
    rng = np.random.default_rng(11)
    xt, yt = rng.normal(size=(3_000, 4)), rng.integers(0, 3, 3_000)
    xv, yv = rng.normal(size=(1_500, 4)) + np.array([0, 0, 2, 0]), rng.integers(0, 4, 1_500)
    xv[:4], yv[:4] = xt[:4], yt[:4]
    split = [save_pair(tmp_path, "train", xt, yt), save_pair(tmp_path, "val", xv, yv)]
    api = dsdoctor.check(split=split).to_dict()
    assert {f["code"] for f in api["findings"]} >= {"DS802", "DS803", "DS806", "DS807"}
    r = cli("check", "--json", *(a for s in split for a in ("--split", s)))
    assert r.code == 1 and r.json() == api


@pytest.fixture
def sharded_splits(tmp_path):
    """A training split of 4 shards and a validation file holding 5 rows of the third shard."""
    rng = np.random.default_rng(12)
    (tmp_path / "train").mkdir()
    for i in range(4):
        np.save(
            tmp_path / "train" / f"part-{i}.npy", rng.normal(size=(3_000, 4)).astype(np.float32)
        )
    val = rng.normal(size=(2_000, 4)).astype(np.float32)
    val[[0, 50, 51, 52, 1_999]] = np.load(tmp_path / "train" / "part-2.npy")[:5]
    np.save(tmp_path / "val.npy", val)
    return [f"train={tmp_path / 'train'}", f"val={tmp_path / 'val.npy'}"]


def _check_in_small_tasks(split, *options):
    """``check --json`` in a subprocess whose tasks are small, so --jobs 2 forks a helper."""
    import json
    import subprocess
    import sys

    code = ("import sys; import dsdoctor.engine.tasks as t; t.MIN_TASK_BYTES = 1024; "
            "from dsdoctor.cli import main; sys.argv = ['dsdoctor', *sys.argv[1:]]; main()")  # fmt: skip
    args = ["check", "--json", *(a for s in split for a in ("--split", s)), *options]
    p = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120
    )
    assert p.returncode == 1, p.stderr
    return json.loads(p.stdout)


def test_serial_and_jobs_give_the_same_findings(sharded_splits):
    serial = dsdoctor.check(split=sharded_splits).to_dict()
    (f,) = [f for f in serial["findings"] if f["code"] == "DS803"]
    assert f["evidence"]["a_first_rows"] == [6_000, 6_001, 6_002, 6_003, 6_004]
    assert f["evidence"]["b_first_rows"] == [0, 50, 51, 52, 1_999]
    assert _check_in_small_tasks(sharded_splits, "--jobs", "2") == serial


def test_a_dask_cluster_gives_the_same_findings(sharded_splits):
    distributed = pytest.importorskip("distributed")
    serial = dsdoctor.check(split=sharded_splits).to_dict()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:  # fmt: skip
        on_cluster = dsdoctor.check(split=sharded_splits, engine="dask",
                                    scheduler=cluster.scheduler_address).to_dict()  # fmt: skip
    assert on_cluster == serial


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--split", "=x.npy", "--split", "val=x.npy"], "NAME=DATA"),
        (["--split", "x.npy", "--split", "val=x.npy"], "NAME=DATA"),
        (["--split", "train=", "--split", "val=x.npy"], "names no data"),
        (["--split", "train=x.npy", "--split", "train=x.npy"], "given twice"),
        (["--split", "train=x.npy"], "at least two"),
        (["--split", "train=nope.npy", "--split", "val=x.npy"], "no such file"),
        (["--split", "train=x.npy", "--split", "val=x.npy", "x.npy"], "not both"),
        (["x.npy", "--group", "g"], "--group"),
    ],
)
def test_bad_split_arguments_exit_2_with_one_line(tmp_path, monkeypatch, args, needle):
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "x.npy", np.zeros((4, 2)))
    r = cli("check", *args)
    assert_clean_error(r, needle)


def test_junit_has_one_testcase_per_split_check(tmp_path):
    import xml.etree.ElementTree as ET

    from dsdoctor.render import report_text

    rng = np.random.default_rng(13)
    xt, yt = rng.normal(size=(500, 3)), rng.integers(0, 2, 500)
    xv, yv = rng.normal(size=(100, 3)), rng.integers(0, 2, 100)
    xv[:2], yv[:2] = xt[:2], yt[:2]
    report = dsdoctor.check(
        split=[save_pair(tmp_path, "train", xt, yt), save_pair(tmp_path, "val", xv, yv)]
    )
    suite = ET.fromstring(report_text(report, "junit")).find("testsuite")
    across = [c for c in suite.findall("testcase") if c.get("classname") == "splits"]
    assert sorted(c.get("name") for c in across) == sorted(
        f"{c.code} {c.name}" for c in dsdoctor.checks.REGISTRY if c.family == "splits"
    )
    failed = [c.get("name") for c in across if c.find("failure") is not None]
    assert failed == ["DS803 split-overlap"]
    per_array = {c.get("name") for c in suite.findall("testcase") if c.get("classname") != "splits"}
    assert not any(n.startswith("DS8") for n in per_array)


def test_the_lookup_join_equals_the_sorted_join():
    """The fast join (look the larger side up in the smaller's distinct keys) and the join by
    one sort agree, also when keys share their first 64 bits."""
    rng = np.random.default_rng(14)
    a = np.column_stack([rng.integers(0, 50, 3_000, dtype=np.uint64), rng.integers(0, 3, 3_000, dtype=np.uint64),
                         np.arange(3_000, dtype=np.uint64)])  # fmt: skip
    b = a[rng.integers(0, 3_000, 400)].copy()
    b[:100, 1] += np.uint64(7)  # not in a
    for x, y in ((a, b), (b, a), (a[:, :][a[:, 1] == 0], b)):
        fast, full = S._join(x, y), S._join_sorted(x, y)
        assert (fast[0] == full[0]).all() and (fast[1] == full[1]).all() and fast[2] == full[2]
    unique0 = a.copy()
    unique0[:, 0] = np.arange(3_000, dtype=np.uint64) * np.uint64(977)
    fast, full = S._join(unique0, unique0[::3]), S._join_sorted(unique0, unique0[::3])
    assert fast[2] == full[2] == 1_000 and (fast[0] == full[0]).all()


def test_the_index_of_keys_sharing_their_first_64_bits_equals_the_sorted_join():
    """The index sorts by the first 64 bits alone unless two different keys share them: then by
    both, and lookups find exactly what the join by one sort finds."""
    rng = np.random.default_rng(19)
    for spread in (50, 2**62):  # colliding first halves; then (almost surely) none
        keys = np.column_stack([rng.integers(0, spread, 3_000, dtype=np.uint64),
                                rng.integers(0, 3, 3_000, dtype=np.uint64)])  # fmt: skip
        table = S.HashTable()
        table.add(keys, np.arange(3_000, dtype=np.uint64))
        index = S.KeyIndex.of(table)
        probe = keys[rng.integers(0, 3_000, 500)].copy()
        probe[:100, 1] += np.uint64(7)  # not indexed
        found, where = index.lookup(probe)
        rows = np.column_stack([probe, np.arange(500, dtype=np.uint64)])
        in_probe, _, distinct = S._join_sorted(rows, table.bucket(None))
        assert (found == in_probe).all() and not found[:100].any() and found[100:].all()
        assert (index.u0[where] == probe[found, 0]).all() and (
            index.u1[where] == probe[found, 1]
        ).all()
        assert len(np.unique(where)) == distinct
        assert (index.group.max() + 1 == len(index.u0)) and (
            index.u0[index.group] == keys[:, 0]
        ).all()


def test_a_baseline_report_measures_drift_since_then(tmp_path):
    """The cron case: last night's statistics (a stored report), not last night's data."""
    import json

    rng = np.random.default_rng(15)
    split = [save_pair(tmp_path, "train", rng.normal(size=(3_000, 4)), rng.integers(0, 3, 3_000)),
             save_pair(tmp_path, "val", rng.normal(size=(1_500, 4)), rng.integers(0, 3, 1_500))]  # fmt: skip
    stored = tmp_path / "last.json"
    args = [a for s in split for a in ("--split", s)]
    assert cli("check", *args, "--format", "json", "-o", stored).code == 0
    today = rng.normal(size=(2_000, 4))
    today[:, 1] = today[:, 1] * 3 + 1
    now = save_pair(tmp_path, "today", today, rng.integers(0, 3, 2_000))
    report = dsdoctor.check(split=[now], baseline=stored)
    (f,) = split_findings(report)["DS806"]
    assert (
        f.evidence["train"] == "baseline train"
        and f.evidence["drifted"][0]["feature"] == "feature 1"
    )
    assert report.splits["baseline"] == {"source": str(stored), "train": "baseline train"}
    same = save_pair(tmp_path, "again", rng.normal(size=(2_000, 4)), rng.integers(0, 3, 2_000))
    assert not split_findings(dsdoctor.check(split=[same], baseline=stored))

    data = json.loads(stored.read_text())
    old = tmp_path / "old.json"
    old.write_text(json.dumps({**data, "dsdoctor": "0.0.1"}))
    assert_clean_error(
        cli("check", "--split", now, "--baseline", old), "dsdoctor 0.0.1", "new baseline"
    )
    wide = save_pair(tmp_path, "wide", rng.normal(size=(100, 5)), rng.integers(0, 3, 100))
    assert_clean_error(
        cli("check", "--split", wide, "--baseline", stored), "another dataset", "4 features"
    )
    plain = tmp_path / "plain.json"
    assert cli("check", tmp_path / "x_train.npy", "--json", "-o", plain).code == 0
    assert_clean_error(cli("check", "--split", now, "--baseline", plain), "check --split")
    assert_clean_error(
        cli("check", "--split", now, "--baseline", tmp_path / "none.json"), "no such file"
    )
    assert_clean_error(cli("check", tmp_path / "x_train.npy", "--baseline", stored), "--split")


def test_ragged_sequences_length_drift_and_what_was_not_compared(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(16)
    for name, n, top in (("train", 600, 9), ("val", 300, 40)):
        tokens = pa.array([list(range(1, rng.integers(2, top))) for _ in range(n)])
        pq.write_table(
            pa.table({"tokens": tokens, "label": rng.integers(0, 2, n)}),
            tmp_path / f"{name}.parquet",
        )
    report = dsdoctor.check(split=[f"train={tmp_path / 'train.parquet'}", f"val={tmp_path / 'val.parquet'}"],
                            target="label")  # fmt: skip
    (f,) = split_findings(report)["DS806"]
    assert [d["feature"] for d in f.evidence["drifted"]] == ["sequence length"]
    assert f.message.startswith("val: sequence length drifted from train")
    assert [s["hashed"] for s in report.splits["splits"].values()] == [True, True]
    assert "DS803" in split_findings(report)  # the short token runs 1..k are in both
    assert len(report.splits["drift_not_judged"]) == 2


def test_the_html_report_has_a_splits_section(tmp_path):
    rng = np.random.default_rng(17)
    xt, yt = rng.normal(size=(3_000, 4)), rng.integers(0, 3, 3_000)
    xv, yv = rng.normal(size=(1_500, 4)), rng.integers(0, 3, 1_500)
    xv[:, 2] += 2
    xv[:6], yv[:6] = xt[:6], yt[:6]
    split = [save_pair(tmp_path, "train", xt, yt), save_pair(tmp_path, "val", xv, yv)]
    page = tmp_path / "r.html"
    assert (
        cli(
            "check", *(a for s in split for a in ("--split", s)), "--format", "html", "-o", page
        ).code
        == 1
    )
    html = page.read_text()
    assert "<h2>Splits</h2>" in html and "6 (0.4%)" in html
    assert 'aria-label="val: PSI per feature"' in html and html.count('class="bar over"') == 1


def test_probing_the_smaller_sides_index_equals_the_join_and_merges():
    """The larger split looks its keys up in the smaller one's index as it is scanned (parts
    merged in row order) and finds what the join of both tables finds."""
    rng = np.random.default_rng(18)
    big = rng.normal(size=(6_000, 5)).astype(np.float32)
    small = rng.normal(size=(800, 5)).astype(np.float32)
    small[[3, 4, 700]] = big[[10, 10, 5_999]]
    big[2_000] = big[10]
    opts = S.SplitOptions()
    ss = S.SplitStats()
    ss.update(small, opts)
    index = S.KeyIndex.of(ss.x_keys)
    probing = S.SplitOptions(keep_keys=False, indexes={("x", "small"): index})
    parts = S.SplitStats()
    for lo in range(0, 6_000, 1_700):
        one = S.SplitStats()
        one.update(big[lo : lo + 1_700], probing)
        parts = parts.merge(one)
    assert parts.x_keys.size == 0  # the larger side keeps no keys
    found, first, distinct, other, other_first = parts.probes[("x", "small")].overlap(index)
    sb = S.SplitStats()
    sb.update(big, opts)
    joined = S.overlap(sb.x_keys, ss.x_keys)
    assert (
        (found, first, distinct, other, other_first)
        == (joined.a_rows, joined.a_first, joined.distinct, joined.b_rows, joined.b_first)
        == (3, [10, 2_000, 5_999], 2, 3, [3, 4, 700])
    )


def test_three_splits_in_memory_and_in_buckets_agree(tmp_path, monkeypatch):
    rng = np.random.default_rng(19)
    xs = {
        n: rng.normal(size=(k, 3)) for n, k in (("train", 3_000), ("val", 1_000), ("test", 1_200))
    }
    ys = {n: rng.integers(0, 2, len(x)) for n, x in xs.items()}
    xs["test"][[0, 1]] = xs["val"][[5, 6]]
    ys["test"][[0, 1]] = ys["val"][[5, 6]]
    xs["test"][2] = xs["train"][9]
    split = [save_pair(tmp_path, n, xs[n], ys[n]) for n in xs]
    report = dsdoctor.check(split=split)
    found = {
        (f.evidence["a"], f.evidence["b"]): f.evidence for f in split_findings(report)["DS803"]
    }
    assert set(found) == {("train", "test"), ("val", "test")}
    assert found[("val", "test")]["b_first_rows"] == [0, 1] and found[("val", "test")][
        "a_first_rows"
    ] == [5, 6]
    assert found[("train", "test")]["a_first_rows"] == [9]
    monkeypatch.setattr(
        S, "DEFAULT_HASH_MEMORY", 1_000
    )  # every split keeps its keys: joined pair by pair
    assert dsdoctor.check(split=split).to_dict() == report.to_dict()


def test_per_split_findings_name_the_split_in_their_message(tmp_path):
    rng = np.random.default_rng(20)
    xt = rng.normal(size=(300, 3))
    xt[:, 1] = 7.0  # a constant feature in train only
    split = [save_pair(tmp_path, "train", xt, rng.integers(0, 2, 300)),
             save_pair(tmp_path, "val", rng.normal(size=(100, 3)), rng.integers(0, 2, 100))]  # fmt: skip
    (f,) = [f for f in dsdoctor.check(split=split).findings if f.code == "DS402"]
    assert (
        f.message.startswith("train:x: ")
        and f.arrays == ["train:x"]
        and f.evidence["split"] == "train"
    )


def test_histogram_bins_edges_and_missing_values():
    b = S.Bins(np.array([0.0, 5.0]), np.array([10.0, 5.0]), bins=10)
    table = np.array(
        [[0.0, 5.0], [10.0, 5.0], [-1.0, 4.0], [11.0, 6.0], [np.nan, 5.0], [9.99, np.nan]]
    )
    h = b.counts(table)
    assert h.shape == (2, 12) and h[0].sum() == 5 and h[1].sum() == 5
    assert (h[0, 0], h[0, 1], h[0, 10], h[0, 11]) == (
        1,
        1,
        2,
        1,
    )  # below, [0, 1), last bin (9.99, 10), above
    assert (h[1, 0], h[1, 10], h[1, 11]) == (
        1,
        3,
        1,
    )  # a constant feature: its value in the last bin


def test_spec_infer_records_each_split(tmp_path, monkeypatch):
    import tomllib

    rng = np.random.default_rng(21)
    monkeypatch.chdir(tmp_path)
    split = [save_pair(tmp_path, "train", rng.normal(size=(300, 3)), rng.integers(0, 3, 300)),
             save_pair(tmp_path, "val", rng.normal(size=(100, 3)), rng.integers(0, 2, 100))]  # fmt: skip
    out = tmp_path / "dsdoctor.toml"
    assert cli("spec", "infer", *(a for s in split for a in ("--split", s)), "-o", out).code == 0
    spec = tomllib.loads(out.read_text())
    assert set(spec["arrays"]) == {"train_x", "train_y", "val_x", "val_y"}
    assert spec["arrays"]["val_x"]["shape"] == ["val_batch", "features"]
    # every split records the classes of all splits: a later val with label 2 is no DS601
    assert (spec["arrays"]["train_y"]["classes"], spec["arrays"]["val_y"]["classes"]) == (3, 3)
    assert cli("check", "--spec", out).code == 0


def test_sequence_targets_and_a_list_group_column(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(22)
    a_train, a_val = rng.normal(size=300), rng.normal(size=100)
    a_val[:4] = a_train[:4]
    split, targets = [], []
    for name, a in (("train", a_train), ("val", a_val)):
        targets.append([list(range(rng.integers(1, 5))) for _ in range(len(a))])
        pq.write_table(
            pa.table({"a": a, "t": pa.array(targets[-1]), "g": pa.array([[1, 2]] * len(a))}),
            tmp_path / f"{name}.parquet",
        )
        split.append(f"{name}={tmp_path / f'{name}.parquet'}:a")
    report = dsdoctor.check(split=split, target="t")
    (f,) = split_findings(report)["DS803"]
    same = [i for i in range(4) if targets[0][i] == targets[1][i]]  # target sequences hashed too
    assert 0 < len(same) < 4
    assert f.evidence["b_rows"] == 4 and f.evidence["same_target"]["b_first_rows"] == same
    assert f.evidence["other_target_rows"] == 4 - len(same)
    assert_clean_error(cli("check", *(a for s in split for a in ("--split", s)), "--target", "t", "--group", "g"),
                       "not one value per sample")  # fmt: skip


def test_images_are_not_taken_for_windows(tmp_path):
    """(N, H, W) images share blank and simple pixel rows between splits by chance: no DS804."""
    rng = np.random.default_rng(23)
    images = np.zeros((600, 8, 8))
    images[:, 2:6, 2:6] = rng.integers(0, 3, (600, 4, 4))  # blank borders, few distinct rows
    np.save(tmp_path / "tr.npy", images[:450])
    np.save(tmp_path / "te.npy", images[450:])
    report = dsdoctor.check(split=[f"train={tmp_path / 'tr.npy'}", f"test={tmp_path / 'te.npy'}"])
    assert "DS804" not in split_findings(report)
    assert (
        "tr.npy (450, 8, 8) is not known to be sequences"
        in report.splits["timesteps_not_compared"][0]
    )


def test_a_csv_split_whose_types_change_past_its_first_block(tmp_path):
    """A split's CSV whose column turns float after the first block: the check starts again
    with the types settled, as a plain check does, instead of failing. Samples are hashed with
    their dtype, so the same values as int64 and float64 are not duplicates: DS801 says why."""
    rows = 1_500_000  # past pyarrow's first 4 MiB block
    df = pd.DataFrame({"a": (np.arange(rows) % 7).astype(object), "label": np.arange(rows) % 2})
    df.loc[rows - 5, "a"] = 1.5
    df.to_csv(tmp_path / "train.csv", index=False)
    df.iloc[:1_000].to_csv(tmp_path / "val.csv", index=False)
    report = dsdoctor.check(split=[f"train={tmp_path / 'train.csv'}", f"val={tmp_path / 'val.csv'}"],
                            target="label", select=["DS801", "DS803"])  # fmt: skip
    assert report.splits["splits"]["train"]["rows"] == rows
    (f,) = split_findings(report)["DS801"]  # train's a turned float64; val's (its first rows) int64
    assert f.evidence["differs"]["dtype"] == {"train": "float64", "val": "int64"}


# -- sequences (ragged inputs) ---------------------------------------------------------------------
def test_a_sequence_is_hashed_by_its_values_in_order_and_its_length():
    from dsdoctor.arrays import Ragged

    seqs = [[1, 2, 3], [3, 2, 1], [1, 2, 3, 0], [], [0], [1, 2, 3], [2, 1, 3], [1, 3, 2]]
    one = S.sequence_hashes(Ragged.from_sequences([np.array(q, np.int64) for q in seqs]))
    assert (one[0] == one[5]).all()  # equal sequences, at different offsets
    distinct = [0, 1, 2, 3, 4, 6, 7]  # order, a trailing 0, empty vs [0]: all different
    assert len(np.unique(one[distinct], axis=0)) == len(distinct)
    # the same sequences cut into chunks elsewhere, with values before the first offset
    values = np.array([9, 9, *[v for q in seqs for v in q]], np.int64)
    lengths = np.array([len(q) for q in seqs])
    offsets = np.concatenate([[2], 2 + np.cumsum(lengths)])
    halves = [Ragged(values, offsets[:4]), Ragged(values, offsets[3:])]
    assert (np.concatenate([S.sequence_hashes(h) for h in halves]) == one).all()
    steps = Ragged.from_sequences([np.array([[1, 2], [3, 4]])])  # 2 timesteps of 2 features
    flat = Ragged.from_sequences([np.array([1, 2, 3, 4])])  # the same values as 4 steps
    assert not (S.sequence_hashes(steps) == S.sequence_hashes(flat)).all()


def _sequences(rng, n):
    return [rng.integers(1, 1_000, rng.integers(5, 30)).astype(np.int64) for _ in range(n)]


@pytest.mark.parametrize("fmt", ["npz", "parquet", "h5"])
def test_duplicate_sequences_across_splits_are_found(tmp_path, fmt):
    """Ragged inputs -- npz values + lengths, a Parquet list<int> column, an HDF5
    variable-length dataset -- are hashed per sequence: planted copies are found, counted
    exactly and placed."""
    import h5py

    rng = np.random.default_rng(21)
    train, val = _sequences(rng, 3_000), _sequences(rng, 800)
    planted = [(5, 0), (17, 100), (2_999, 799)]
    for i, j in planted:
        val[j] = train[i].copy()
    split = []
    for name, seqs in (("train", train), ("val", val)):
        path = tmp_path / f"{name}.{fmt}"
        if fmt == "npz":
            np.savez(path, tokens=np.concatenate(seqs), tokens_lengths=[len(q) for q in seqs])
        elif fmt == "parquet":
            pd.DataFrame({"tokens": [list(q) for q in seqs], "label": 1}).to_parquet(path)
        else:
            with h5py.File(path, "w") as f:
                d = f.create_dataset("tokens", (len(seqs),), dtype=h5py.vlen_dtype("i8"))
                for i, q in enumerate(seqs):
                    d[i] = q
        split.append(f"{name}={path}")
    report = dsdoctor.check(split=split, target="label" if fmt == "parquet" else None)
    (f,) = split_findings(report)["DS803"]
    assert (f.evidence["b_rows"], f.evidence["a_rows"], f.evidence["distinct"]) == (3, 3, 3)
    assert f.evidence["b_first_rows"] == [j for _, j in planted]
    assert f.evidence["a_first_rows"] == [i for i, _ in planted]
    assert report.splits["splits"]["val"]["hashed"] is True
