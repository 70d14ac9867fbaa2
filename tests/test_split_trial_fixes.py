"""``check --split`` on real datasets split the ways people split them (a new user's trial,
issue 17): univariate windows, regression targets, small splits, text and date columns, sources
that already held duplicates, chronological windows, ``dsdoctor window``'s ``.npz``, a baseline's
labels, the training split named ``train``, and the per-split findings said once. Every dataset
comes from a real library (scikit-learn, statsmodels, palmerpenguins), saved as users save it."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

import dsdoctor

from .conftest import cli, found

sm = pytest.importorskip("statsmodels.api")
datasets = pytest.importorskip("sklearn.datasets")
model_selection = pytest.importorskip("sklearn.model_selection")

#: every test of this file leaves no spilled hash keys behind (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("no_spill_left")


def frame_split(tmp_path, df: pd.DataFrame, test_size=0.25, seed=0, index=False, **kw):
    """A random split of a frame saved as two parquet files (``index``: as ``to_parquet`` saves
    a frame whose index is not a RangeIndex)."""
    tr, va = model_selection.train_test_split(df, test_size=test_size, random_state=seed, **kw)
    if not index:
        tr, va = tr.reset_index(drop=True), va.reset_index(drop=True)
    tr.to_parquet(tmp_path / "train.parquet")
    va.to_parquet(tmp_path / "val.parquet")
    return tr, va, [f"train={tmp_path / 'train.parquet'}", f"val={tmp_path / 'val.parquet'}"]


def windows(series: np.ndarray, length: int) -> np.ndarray:
    """Stride-1 windows (N, length, F) of a (T, F) series, as `sliding_window_view` cuts them."""
    w = np.lib.stride_tricks.sliding_window_view(series, length, axis=0).transpose(0, 2, 1)
    return np.ascontiguousarray(w)


def sunspots() -> np.ndarray:
    return sm.datasets.sunspots.load_pandas().data[["SUNACTIVITY"]].to_numpy(np.float32)


def save_windows(tmp_path, name, w, y):
    np.save(tmp_path / f"{name}_x.npy", w)
    np.save(tmp_path / f"{name}_y.npy", y)
    return f"{name}={tmp_path / f'{name}_x.npy'},{tmp_path / f'{name}_y.npy'}"


def shared_in_runs(train: np.ndarray, val: np.ndarray) -> tuple[int, int]:
    """DS804's rule by brute force: the distinct timestep rows of ``val``'s windows, and those in
    a pair of consecutive different rows that ``train``'s windows also hold in that order."""

    def pairs(w):
        return {(tuple(a), tuple(b)) for win in w for a, b in itertools.pairwise(win)
                if tuple(a) != tuple(b)}  # fmt: skip

    common = pairs(train) & pairs(val)
    rows = {r for p in common for r in p}
    return len({tuple(r) for win in val for r in win}), len(rows)


# -- 1. univariate windows (N, L, 1) -------------------------------------------------------------
def test_a_random_split_of_univariate_windows_shares_its_timesteps(tmp_path):
    series = sunspots()
    w, y = windows(series[:-1], 12), series[12:, 0]
    order = np.random.default_rng(0).permutation(len(w))
    a, b = order[:237], order[237:]
    split = [save_windows(tmp_path, "train", w[a], y[a]), save_windows(tmp_path, "val", w[b], y[b])]
    (f,) = found(dsdoctor.check(split=split, timesteps=12), "DS804")
    total, shared = shared_in_runs(w[a], w[b])
    assert (f.evidence["b_steps"], f.evidence["shared"]) == (total, shared)
    assert shared / total > 0.95 and "runs of 2 or more" in f.message


def test_chronological_univariate_windows_without_a_gap_share_the_boundary(tmp_path):
    series = sunspots()
    w, y = windows(series[:-1], 12), series[12:, 0]
    k = int(len(w) * 0.8)
    train = save_windows(tmp_path, "train", w[:k], y[:k])
    (f,) = found(dsdoctor.check(split=[train, save_windows(tmp_path, "val", w[k:], y[k:])],
                                timesteps=12), "DS804")  # fmt: skip
    assert f.evidence["shared"] == 11  # the last window of train and the first of val: 11 steps
    gap = save_windows(tmp_path, "later", w[k + 12 :], y[k + 12 :])
    assert not found(dsdoctor.check(split=[train, gap], timesteps=12), "DS804")


@pytest.mark.parametrize("mask_value", [0.0, None])
def test_padding_is_no_shared_timestep(tmp_path, mask_value):
    """Zero-padded univariate sequences, the padding declared (--mask-value 0) or not: the
    padding rows, the same in every split, are left out, so a padding row followed by a value
    that recurs by chance in both splits is no shared run; what remains shares nothing."""
    series = sunspots()[:, 0] + 1.0  # no real zero
    rng = np.random.default_rng(1)
    out = {}
    for name, (lo, hi) in {"train": (0, 200), "val": (200, 309)}.items():
        part = series[lo:hi]
        starts = np.arange(0, len(part) - 8, 8)
        w = np.zeros((len(starts), 10, 1), np.float32)
        for i, s in enumerate(starts):
            n = int(rng.integers(3, 9))
            w[i, 10 - n :, 0] = part[s : s + n]  # pre-padded
        out[name] = save_windows(tmp_path, name, w, np.zeros(len(w), np.float32))
    report = dsdoctor.check(split=list(out.values()), timesteps=10, mask_value=mask_value)
    assert not found(report, "DS804"), report.findings


# -- 7. coincidences are not shared timesteps ----------------------------------------------------
def test_chronological_windows_with_a_gap_have_no_coincidental_overlap(tmp_path):
    co2 = sm.datasets.co2.load_pandas().data.interpolate()
    f = np.stack([co2.co2.to_numpy(), co2.index.month.to_numpy()], 1).astype(np.float32)
    w, y = windows(f[:-1], 52), f[52:, 0]
    k = int(len(w) * 0.8)
    train_rows = set(map(tuple, f[: k + 51]))
    coincidences = sum(tuple(r) in train_rows for r in f[k + 52 :])
    assert coincidences >= 2  # (ppm, month) rows that recur by chance: not a leak
    split = [save_windows(tmp_path, "train", w[:k], y[:k]),
             save_windows(tmp_path, "val", w[k + 52 :], y[k + 52 :])]  # fmt: skip
    assert not found(dsdoctor.check(split=split, timesteps=52), "DS804")


# -- 9. dsdoctor window's .npz output is a split -------------------------------------------------
def test_window_npz_outputs_are_splits_compared_by_source_rows(tmp_path):
    df = sm.datasets.sunspots.load_pandas().data
    df.to_csv(tmp_path / "sun.csv", index=False)
    src = f"{tmp_path / 'sun.csv'}:SUNACTIVITY"
    for out, more in (("w.npz", ["--split", "0.8", "--gap", "12"]), ("all.npz", [])):
        r = cli("window", src, "--time", "YEAR", "--length", "12", *more, "-o", tmp_path / out)
        assert r.code == 0, r.stderr
    val = f"val={tmp_path / 'w.val.npz'}"
    clean = dsdoctor.check(split=[f"train={tmp_path / 'w.npz'}", val])
    assert not found(clean, "DS804") and not clean.splits["timesteps_not_compared"]
    (f,) = found(dsdoctor.check(split=[f"train={tmp_path / 'all.npz'}", val]), "DS804")
    val_rows = len(np.load(tmp_path / "w.val.npz")["starts"]) + 11
    assert (
        f.evidence["unit"] == "timesteps"
        and f.evidence["shared"] == f.evidence["b_steps"] == val_rows
    )


# -- 2. regression targets -----------------------------------------------------------------------
def diabetes() -> pd.DataFrame:
    d = datasets.load_diabetes(as_frame=True, scaled=False)
    return d.frame


def test_a_regression_target_is_not_class_labels(tmp_path):
    tr, va, split = frame_split(tmp_path, diabetes())
    assert (~va.target.isin(tr.target)).sum() > 20  # as labels, most would be "unseen"
    report = dsdoctor.check(split=split, target="target")
    assert not {"DS802", "DS807"} & {f.code for f in report.findings}, report.findings
    assert report.splits["targets"].startswith("a regression target (floats")
    assert report.splits["not_run"]["DS802"].startswith("the targets are not class labels")
    shifted = va.assign(target=va.target * 1000)
    shifted.to_parquet(tmp_path / "val_t.parquet")
    (f,) = found(
        dsdoctor.check(split=[split[0], f"val={tmp_path / 'val_t.parquet'}"], target="target"),
        "DS806",
    )
    assert [d["feature"] for d in f.evidence["drifted"]] == ["target target"]
    labels = dsdoctor.check(split=split, target="target", task="classification")
    assert found(labels, "DS802")  # said to be labels: compared as labels


def test_integer_targets_nearly_all_distinct_and_task_regression(tmp_path):
    df = diabetes()
    tr, va, split = frame_split(tmp_path, df.assign(target=df.target.astype(np.int64)))
    assert tr.target.nunique() >= 0.5 * len(tr)
    report = dsdoctor.check(split=split, target="target")
    assert not found(report, "DS802") and "distinct integers" in report.splits["targets"]
    counts = sm.datasets.randhie.load_pandas().data  # mdvis: visits, a count with a long tail
    (tmp_path / "r").mkdir()
    tr, va, split = frame_split(tmp_path / "r", counts, test_size=0.2, seed=3)
    assert set(va.mdvis) - set(tr.mdvis)  # a count only val has: a label "unseen" as classes
    assert found(dsdoctor.check(split=split, target="mdvis"), "DS802")
    said = dsdoctor.check(split=split, target="mdvis", task="regression")
    assert (
        not found(said, "DS802")
        and said.splits["targets"] == "a regression target (--task regression)"
    )


def test_task_is_refused_outside_splits_and_when_unknown(tmp_path):
    from .conftest import assert_clean_error

    _, _, split = frame_split(tmp_path, diabetes())
    args = [a for s in split for a in ("--split", s)]
    assert_clean_error(cli("check", *args, "--target", "target", "--task", "ranking"), "--task")
    assert_clean_error(
        cli("check", str(tmp_path / "train.parquet"), "--task", "regression"), "--split"
    )


# -- 3. small splits: drift by range, said in the report, skipped in JUnit -----------------------
def wine() -> pd.DataFrame:
    return datasets.load_wine(as_frame=True).frame


def test_a_unit_change_in_a_small_split_is_drift(tmp_path):
    import xml.etree.ElementTree as ET

    from dsdoctor.render import report_text

    _tr, va, split = frame_split(tmp_path, wine(), stratify=wine().target)
    clean = dsdoctor.check(split=split, target="target")
    assert not found(clean, "DS806")
    assert any("PSI and JS not judged" in n for n in clean.splits["drift_not_judged"])
    said = cli("check", *(a for s in split for a in ("--split", s)), "--target", "target").stdout
    assert "healthy: no findings; some drift or timesteps not judged (listed above)" in said
    va.assign(proline=va.proline * 1000).to_parquet(tmp_path / "val_x1000.parquet")
    report = dsdoctor.check(
        split=[split[0], f"val={tmp_path / 'val_x1000.parquet'}"], target="target"
    )
    (f,) = found(report, "DS806")
    assert f.evidence["drifted"] == [{"feature": "proline", "outside": len(va), "values": len(va),
                                      "share_outside": 1.0}]  # fmt: skip
    suite = ET.fromstring(report_text(report, "junit")).find("testsuite")
    cases = {
        c.get("name").split()[0]: c
        for c in suite.findall("testcase")
        if c.get("classname") == "splits"
    }
    skipped = {code for code, c in cases.items() if c.find("skipped") is not None}
    assert skipped == {
        "DS804",
        "DS805",
        "DS807",
        "DS808",
    }  # no windows, no --group, < 100 labels, no --classes
    assert cases["DS806"].find("failure") is not None


def test_the_html_marks_no_bar_over_the_threshold_when_psi_was_not_judged(tmp_path):
    bc = datasets.load_breast_cancer(as_frame=True).frame
    _, _, split = frame_split(tmp_path, bc, stratify=bc.target)
    page = tmp_path / "r.html"
    args = [a for s in split for a in ("--split", s)]
    assert cli("check", *args, "--target", "target", "--format", "html", "-o", page).code == 0
    html = page.read_text()
    assert 'class="bar over"' not in html and "not judged by PSI" in html


# -- 13. a point mass at the training minimum moved by a few ulps ---------------------------------
def test_a_shift_of_a_few_ulps_at_the_minimum_is_no_drift(tmp_path):
    df = sm.datasets.randhie.load_pandas().data
    tr, va = model_selection.train_test_split(df, test_size=0.2, random_state=0)
    tr = tr.assign(lpi=tr.lpi + np.arange(len(tr)) * 1e-12)  # train's minimum moves by 1e-12
    assert (va.lpi == df.lpi.min()).sum() > 100
    tr.to_parquet(tmp_path / "train.parquet")
    va.to_parquet(tmp_path / "val.parquet")
    report = dsdoctor.check(split=[f"train={tmp_path / 'train.parquet'}", f"val={tmp_path / 'val.parquet'}"],
                            target="mdvis", task="regression")  # fmt: skip
    assert not found(report, "DS806"), found(report, "DS806")


# -- 5. every input column hashed; --group left out of the inputs --------------------------------
def penguins() -> pd.DataFrame:
    palmerpenguins = pytest.importorskip("palmerpenguins")
    return palmerpenguins.load_penguins()


def test_rows_differing_only_in_a_text_column_are_not_duplicates(tmp_path):
    tr, va, _ = frame_split(tmp_path, penguins())
    exact = tr.iloc[:5]
    other_island = tr.iloc[5:10].assign(island=tr.iloc[5:10].island.map(
        {"Biscoe": "Dream", "Dream": "Torgersen", "Torgersen": "Biscoe"}))  # fmt: skip
    pd.concat([va, exact, other_island], ignore_index=True).to_parquet(tmp_path / "v.parquet")
    report = dsdoctor.check(split=[f"train={tmp_path / 'train.parquet'}", f"val={tmp_path / 'v.parquet'}"],
                            target="species")  # fmt: skip
    (f,) = found(report, "DS803")
    assert f.evidence["b_rows"] == 5 and f.evidence["b_first_rows"] == list(
        range(len(va), len(va) + 5)
    )


def test_dates_tell_rows_apart(tmp_path):
    co2 = sm.datasets.co2.load_pandas().data.interpolate().rename_axis("date").reset_index()
    k = int(len(co2) * 0.8)
    co2.iloc[:k].to_csv(tmp_path / "train.csv", index=False)
    co2.iloc[k:].to_csv(tmp_path / "val.csv", index=False)
    assert co2.iloc[k:].co2.isin(co2.iloc[:k].co2).sum() > 50  # ppm values recur
    report = dsdoctor.check(
        split=[f"train={tmp_path / 'train.csv'}", f"val={tmp_path / 'val.csv'}"]
    )
    assert not found(report, "DS803"), found(report, "DS803")


def test_the_group_column_is_not_an_input(tmp_path):
    mode = sm.datasets.modechoice.load_pandas().data
    tr, va, _ = frame_split(tmp_path, mode)
    copy = tr.iloc[[0]].assign(individual=10_000)  # the same sample under another id
    pd.concat([va, copy], ignore_index=True).to_parquet(tmp_path / "v.parquet")
    report = dsdoctor.check(split=[f"train={tmp_path / 'train.parquet'}", f"val={tmp_path / 'v.parquet'}"],
                            group="individual")  # fmt: skip
    assert "individual" not in report.splits["splits"]["train"]["columns"]
    (leak,) = found(report, "DS805")
    assert leak.message.endswith(
        ": "
        + ", ".join(str(int(v)) for v in sorted(set(va.individual) & set(tr.individual))[:5])
        + " …"
    )
    expected = pd.concat([va, copy]).drop(columns="individual")
    dups = expected.merge(tr.drop(columns="individual").drop_duplicates(), how="inner")
    (f,) = found(report, "DS803")
    assert f.evidence["b_rows"] == len(dups) >= 1


# -- 6. a source that already held duplicates ----------------------------------------------------
def test_overlap_of_a_source_with_duplicates_says_so(tmp_path):
    fair = sm.datasets.fair.load_pandas().data
    fair = fair.assign(had_affair=(fair.affairs > 0).astype(np.int64)).drop(columns="affairs")
    tr, va, split = frame_split(tmp_path, fair, test_size=0.2, seed=0, stratify=fair.had_affair)
    (f,) = found(dsdoctor.check(split=split, target="had_affair"), "DS803")
    x = [c for c in fair.columns if c != "had_affair"]
    held = tr.groupby(x).size()
    twice = held[held >= 2].reset_index()[x]
    expected = va.merge(twice, on=x, how="inner")
    assert f.evidence["b_repeated_in_a"] == len(expected) > 0
    assert f"{len(expected):,} of them are samples train itself holds more than once" in f.message
    (tmp_path / "d").mkdir()
    _, _, split = frame_split(tmp_path / "d", fair.drop_duplicates(), test_size=0.2, seed=0)
    (g,) = found(dsdoctor.check(split=split, target="had_affair"), "DS803")
    assert g.evidence["other_target_rows"] == g.evidence["b_rows"]  # full rows deduplicated
    assert "all of them with another target" in g.message and "conflicting labels" in g.message


# -- 10, 11. the baseline's labels; the split named train ----------------------------------------
def test_a_label_the_baseline_never_had_is_unseen(tmp_path):
    _tr, va, split = frame_split(tmp_path, wine(), stratify=wine().target)
    stored = tmp_path / "base.json"
    assert cli("check", *(a for s in split for a in ("--split", s)), "--target", "target",
               "--format", "json", "-o", stored).code == 0  # fmt: skip
    va.assign(target=7).to_parquet(tmp_path / "today.parquet")
    report = dsdoctor.check(split=[f"today={tmp_path / 'today.parquet'}"], target="target",
                            baseline=stored)  # fmt: skip
    (f,) = found(report, "DS802")
    assert f.evidence["train"] == "baseline train" and f.evidence["unseen"] == [[7, len(va)]]


def test_the_split_named_train_is_the_training_split_in_any_order(tmp_path):
    tr, va, _ = frame_split(tmp_path, wine(), stratify=wine().target)
    tr[tr.target != 2].to_parquet(tmp_path / "t.parquet")
    split = [f"val={tmp_path / 'val.parquet'}", f"train={tmp_path / 't.parquet'}"]
    report = dsdoctor.check(split=split, target="target")
    assert report.splits["train"] == "train"
    (f,) = found(report, "DS802")
    assert (
        f.message
        == f"val: {(va.target == 2).sum()} samples hold 1 label not in train: 2 ({(va.target == 2).sum()})"
    )


# -- 12. per-split findings said once ------------------------------------------------------------
def test_an_index_column_in_every_split_is_one_finding(tmp_path):
    bc = datasets.load_breast_cancer(as_frame=True).frame
    _, _, split = frame_split(tmp_path, bc, index=True, stratify=bc.target)
    (f,) = found(dsdoctor.check(split=split, target="target"), "DS702")
    assert f.message.endswith("(the same in split val)") and f.evidence["splits"] == [
        "train",
        "val",
    ]


def test_constant_features_differing_between_splits_get_no_per_split_fix(tmp_path):
    digits = datasets.load_digits()
    xa, xb, ya, yb = model_selection.train_test_split(digits.data, digits.target, random_state=0)
    split = [save_windows(tmp_path, "train", xa, ya), save_windows(tmp_path, "test", xb, yb)]
    constant = found(dsdoctor.check(split=split), "DS402")
    counts = {int((np.ptp(x, axis=0) == 0).sum()) for x in (xa, xb)}
    assert len(constant) == 2 and len(counts) == 2
    for f in constant:
        assert not f.fixes and "need the same columns" in f.message


def test_windows_saved_as_one_feature_per_timestep_are_compared(tmp_path):
    """Univariate windows saved (N, L) with --timesteps L: compared as (N, L, 1)."""
    series = sunspots()
    w = windows(series[:-1], 12)[:, :, 0]
    order = np.random.default_rng(2).permutation(len(w))
    np.save(tmp_path / "a.npy", w[order[:237]])
    np.save(tmp_path / "b.npy", w[order[237:]])
    split = [f"train={tmp_path / 'a.npy'}", f"val={tmp_path / 'b.npy'}"]
    (f,) = found(dsdoctor.check(split=split, timesteps=12), "DS804")
    total, shared = shared_in_runs(w[order[:237], :, None], w[order[237:], :, None])
    assert (f.evidence["b_steps"], f.evidence["shared"]) == (total, shared)
    assert not found(dsdoctor.check(split=split), "DS804")  # (N, 12) alone: 12 features


def test_the_new_split_statistics_merge_exactly(monkeypatch):
    """Timestep pairs, the target's histogram, the other columns' keys and the probes' counts:
    parts folded in row order equal one pass."""
    import pyarrow as pa

    from dsdoctor.engine import splits as S

    rng = np.random.default_rng(3)
    series = sunspots()
    x = windows(series[:-1], 12)[rng.permutation(297)]
    y = rng.normal(size=297)
    text = pa.array(rng.choice(["a", "b", None], 297).tolist())
    extra = S.arrow_keys([text])
    small = S.SplitStats()
    small.update(x[:40], S.SplitOptions(timestep_hashes=True))
    index = S.KeyIndex.of(small.x_keys)
    opts = S.SplitOptions(timestep_hashes=True, y_bins=S.Bins(np.array([-1.0]), np.array([1.0])),
                          indexes={("x", "small"): index})  # fmt: skip

    def passes(keys):
        one = S.SplitStats()
        one.update(x, opts, y, extra=keys)
        parts = S.SplitStats()
        for lo, hi in ((0, 100), (100, 101), (101, 297)):
            part = S.SplitStats()
            part.update(x[lo:hi], opts, y[lo:hi], extra=None if keys is None else keys[lo:hi])
            parts = parts.merge(part)
        assert (parts.x_keys.rows_sorted() == one.x_keys.rows_sorted()).all()
        return one, parts

    with_text, _ = passes(extra)
    one, parts = passes(None)
    assert not (with_text.x_keys.rows_sorted() == one.x_keys.rows_sorted()).all()
    assert (parts.step_pairs == one.step_pairs).all() and (parts.step_keys == one.step_keys).all()
    assert (parts.y_hist == one.y_hist).all() and one.y_hist.sum() == 297
    probe = parts.probes[("x", "small")]
    assert (probe.matched == one.probes[("x", "small")].matched).all()
    assert probe.overlap(index)[0] == 40 and probe.repeated(index, prober_repeats=True) == 0
    twice = S.SplitStats()
    twice.update(np.concatenate([x[:40], x[:3]]), opts)
    assert twice.probes[("x", "small")].repeated(index, prober_repeats=True) == 3
    assert S.shared_run_steps(one.step_pairs, small.step_pairs) == len(small.step_keys)
    monkeypatch.setattr(S, "STEP_ROWS", 50)  # the windows' keys a few windows at a time
    blocks, _ = passes(None)
    assert (blocks.step_pairs == one.step_pairs).all() and (blocks.step_keys == one.step_keys).all()


def test_a_split_without_targets_and_the_columns_of_each_split_are_named(tmp_path):
    digits = datasets.load_digits()
    np.save(tmp_path / "xa.npy", digits.data[:1000])
    np.save(tmp_path / "xb.npy", digits.data[1000:])
    np.save(tmp_path / "yb.npy", digits.target[1000:])
    report = dsdoctor.check(
        split=[f"train={tmp_path / 'xa.npy'}", f"test={tmp_path / 'xb.npy'},{tmp_path / 'yb.npy'}"]
    )
    (f,) = found(report, "DS801")
    assert f.message == "test: its samples differ from train's: train has no targets"
    assert report.splits["splits"]["train"]["groups"] is None  # no --group: not "0 groups"
    _, _, split = frame_split(tmp_path, penguins())
    r = cli("check", *(a for s in split for a in ("--split", s)), "--target", "species")
    assert "not analysed as inputs: train: island (categorical)" in r.stdout
    assert "val: island (categorical)" in r.stdout


def test_windows_known_by_source_rows_and_by_value_are_said_not_compared(tmp_path):
    df = sm.datasets.sunspots.load_pandas().data
    df.to_csv(tmp_path / "sun.csv", index=False)
    r = cli("window", f"{tmp_path / 'sun.csv'}:SUNACTIVITY", "--time", "YEAR", "--length", "12",
            "-o", tmp_path / "all.npz")  # fmt: skip
    assert r.code == 0, r.stderr
    np.save(tmp_path / "raw.npy", windows(sunspots()[:-1], 12)[200:].astype(np.float64))
    report = dsdoctor.check(split=[f"train={tmp_path / 'all.npz'}", f"val={tmp_path / 'raw.npy'}"],
                            timesteps=12)  # fmt: skip
    assert not found(report, "DS804")
    assert any("known by their source rows" in n for n in report.splits["timesteps_not_compared"])


def test_a_baseline_measures_a_regression_targets_drift(tmp_path):
    _tr, va, split = frame_split(tmp_path, diabetes())
    stored = tmp_path / "base.json"
    args = [a for s in split for a in ("--split", s)]
    assert cli("check", *args, "--target", "target", "--format", "json", "-o", stored).code == 0
    va.assign(target=va.target + 1000).to_parquet(tmp_path / "today.parquet")
    report = dsdoctor.check(split=[f"today={tmp_path / 'today.parquet'}"], target="target",
                            baseline=stored)  # fmt: skip
    (f,) = found(report, "DS806")
    assert f.evidence["train"] == "baseline train"
    assert [d["feature"] for d in f.evidence["drifted"]] == ["target target"]
    assert not found(report, "DS802")


def test_binary_labels_stored_as_floats_are_labels(tmp_path):
    mode = sm.datasets.modechoice.load_pandas().data  # choice: 0.0 / 1.0
    _, va, split = frame_split(tmp_path, mode)
    report = dsdoctor.check(split=split, target="choice")
    assert report.splits["targets"] == "class labels (floats of two values: binary labels)"
    assert len(va) >= 100 and "DS807" not in report.splits["not_run"]  # label drift judged


def test_other_columns_of_any_arrow_type_are_keyed():
    """Text, dates, timestamps with nulls, bytes that are not UTF-8 and lists of text: equal
    values give equal keys, different values different keys."""
    import datetime as dt

    import pyarrow as pa

    from dsdoctor.engine.splits import arrow_keys

    cols = [
        pa.array(["a", "b", "a", None]),
        pa.array([dt.date(2020, 1, 1), dt.date(2020, 1, 2), dt.date(2020, 1, 1), None]),
        pa.array([1, 2, 1, None], pa.timestamp("ns")),
        pa.array([b"\xff", b"x", b"\xff", None]),
        pa.array([["p"], ["q", "r"], ["p"], None]),
        pa.array(["a", "b", "a", None]).dictionary_encode(),
    ]
    for col in cols:
        k = arrow_keys([col])
        assert (k[0] == k[2]).all() and not (k[0] == k[1]).any() and not (k[3] == k[0]).all(), (
            col.type
        )
    both = arrow_keys(cols[:2])
    assert (both[0] == both[2]).all() and not (both[0] == arrow_keys(cols[:1])[0]).all()


def test_junit_of_one_split_against_a_baseline_skips_what_needs_two(tmp_path):
    import xml.etree.ElementTree as ET

    from dsdoctor.render import report_text

    fair = sm.datasets.fair.load_pandas().data
    fair = fair.assign(had_affair=(fair.affairs > 0).astype(np.int64)).drop(columns="affairs")
    _, _, split = frame_split(tmp_path, fair, test_size=0.2)
    stored = tmp_path / "base.json"
    args = [a for s in split for a in ("--split", s)]
    assert cli("check", *args, "--target", "had_affair", "--format", "json", "-o", stored).code == 1
    report = dsdoctor.check(split=[f"today={tmp_path / 'val.parquet'}"], target="had_affair",
                            baseline=stored)  # fmt: skip
    suite = ET.fromstring(report_text(report, "junit")).find("testsuite")
    skipped = {c.get("name").split()[0]: c.find("skipped").get("message")
               for c in suite.findall("testcase") if c.find("skipped") is not None}  # fmt: skip
    assert set(skipped) == {"DS803", "DS804", "DS805", "DS808"}
    assert "baseline report that holds no samples" in skipped["DS803"]
