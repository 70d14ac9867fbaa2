"""A second new-user trial of the split checks (issue 17): Hugging Face folders written from
pandas frames (their ``__index_level_0__``), ``--group`` on their splits, a Kaggle folder whose
test file has no labels, sequence-length and label drift on random splits, Dask workers of
another build, and what the HTML and JUnit reports say was not judged. Every dataset comes from
a real library (scikit-learn, palmerpenguins, ``datasets``), saved as users save it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import dsdoctor

from .conftest import cli, found

hf = pytest.importorskip("datasets")
sk_datasets = pytest.importorskip("sklearn.datasets")
model_selection = pytest.importorskip("sklearn.model_selection")

#: every test of this file leaves no spilled hash keys behind (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("no_spill_left")


def wine() -> pd.DataFrame:
    return sk_datasets.load_wine(as_frame=True).frame.rename(columns={"target": "label"})


def save_hf(path, **frames: pd.DataFrame) -> str:
    """A ``DatasetDict`` of frames saved as users save one: ``Dataset.from_pandas`` keeps a
    frame's index (any index out of ``train_test_split``) as ``__index_level_0__``."""
    hf.DatasetDict({k: hf.Dataset.from_pandas(v) for k, v in frames.items()}).save_to_disk(
        str(path)
    )
    return str(path)


# -- 1. the pandas index of a Hugging Face folder is the index, not a feature -------------------
def test_the_pandas_index_of_a_hugging_face_split_is_no_feature(tmp_path):
    tr, va = model_selection.train_test_split(wine(), test_size=0.25, random_state=0)
    assert "__index_level_0__" in hf.Dataset.from_pandas(tr).column_names
    leak = pd.concat([va, tr.iloc[:8]])
    # the copies keep their rows but get other index values: the index must not tell them apart
    renumbered = leak.set_axis(np.arange(1000, 1000 + len(leak)))
    folder = save_hf(tmp_path / "hf", train=tr, validation=renumbered)
    report = dsdoctor.check(folder, target="label")
    (f,) = found(report, "DS803")
    assert f.evidence["b_rows"] == 8
    assert not found(report, "DS806") and not found(report, "DS801")
    (note,) = found(report, "DS702")
    assert "__index_level_0__" in note.message and "13 features" in note.message
    # one split from a RangeIndex frame (no index column): the same 13 features
    folder2 = save_hf(tmp_path / "hf2", train=tr, validation=leak.reset_index(drop=True))
    report = dsdoctor.check(folder2, target="label")
    assert not found(report, "DS801"), found(report, "DS801")
    assert found(report, "DS803")[0].evidence["b_rows"] == 8
    # the contract records the features only
    r = cli("spec", "infer", folder, "--target", "label", "-o", tmp_path / "s.toml")
    assert r.code == 0, r.stderr
    spec = (tmp_path / "s.toml").read_text()
    assert "width = 13" in spec and "width = 14" not in spec


def test_an_arrow_file_from_pandas_keeps_its_index_out(tmp_path):
    import pyarrow as pa

    tr, va = model_selection.train_test_split(wine(), test_size=0.25, random_state=0)
    for name, df in (("train", tr), ("val", va)):
        table = pa.Table.from_pandas(df)
        assert "__index_level_0__" in table.column_names
        with (
            pa.OSFile(str(tmp_path / f"{name}.arrow"), "wb") as sink,
            pa.ipc.new_file(sink, table.schema) as w,
        ):
            w.write_table(table)
    report = dsdoctor.check(split=[f"train={tmp_path / 'train.arrow'}",
                                   f"val={tmp_path / 'val.arrow'}"], target="label")  # fmt: skip
    assert found(report, "DS702") and not found(report, "DS806")
    assert "__index_level_0__" not in report.splits["splits"]["val"]["columns"]
    assert len(report.splits["splits"]["val"]["columns"]) == 13


# -- 3. --group names a column of a Hugging Face split ------------------------------------------
def penguins() -> pd.DataFrame:
    palmerpenguins = pytest.importorskip("palmerpenguins")
    return palmerpenguins.load_penguins().dropna()


@pytest.mark.parametrize("form", ["folder", "split"])
def test_group_is_a_column_of_hugging_face_splits(tmp_path, form):
    df = penguins()
    folder = save_hf(
        tmp_path / "hf", train=df[df.island != "Dream"], validation=df[df.island == "Dream"]
    )
    leaky = save_hf(tmp_path / "leaky", train=df.iloc[::2], validation=df.iloc[1::2])

    def run(path):
        if form == "folder":
            return dsdoctor.check(path, target="species", group="island")
        return dsdoctor.check(split=[f"train={path}:train", f"val={path}:validation"],
                              target="species", group="island")  # fmt: skip

    assert not found(run(folder), "DS805")
    (f,) = found(run(leaky), "DS805")
    assert "Biscoe" in f.message and "Dream" in f.message


# -- 4. a test file without labels (the Kaggle layout) is compared by its inputs alone ----------
def kaggle_folder(tmp_path, leak: int = 0):
    df = wine()
    tr, rest = model_selection.train_test_split(df, test_size=0.4, random_state=0)
    va, te = model_selection.train_test_split(rest, test_size=0.5, random_state=0)
    te = pd.concat([te, tr.iloc[:leak]]) if leak else te
    folder = tmp_path / "kaggle"
    folder.mkdir(parents=True)
    tr.reset_index(drop=True).to_parquet(folder / "train.parquet")
    va.reset_index(drop=True).to_parquet(folder / "val.parquet")
    te.drop(columns="label").to_csv(folder / "test.csv", index=False)
    return folder


@pytest.mark.parametrize("form", ["folder", "split"])
def test_a_test_file_without_labels_is_no_schema_mismatch(tmp_path, form):
    def run(folder):
        if form == "folder":
            args = [folder]
        else:
            args = [a for n, f in (("train", "train.parquet"), ("val", "val.parquet"),
                                   ("test", "test.csv")) for a in ("--split", f"{n}={folder / f}")]  # fmt: skip
        return cli("check", *args, "--target", "label", "--format", "json")

    clean = run(kaggle_folder(tmp_path / "a"))
    assert clean.code == 0, clean.stdout + clean.stderr
    body = clean.json()
    assert not [f for f in body["findings"] if f["code"] == "DS801"]
    assert body["splits"]["unlabelled"] == ["test"]
    leaky = run(kaggle_folder(tmp_path / "b", leak=7))
    assert leaky.code == 1
    (f,) = [f for f in leaky.json()["findings"] if f["code"].startswith("DS80")]
    assert f["code"] == "DS803" and f["evidence"]["b_rows"] == 7
    text = cli("check", kaggle_folder(tmp_path / "c"), "--target", "label").stdout
    assert "no targets: test: compared by inputs alone" in text


# -- 2. sequence-length and label drift: random splits are healthy, real shifts are found -------
def token_frame() -> pd.DataFrame:
    """Token ids of the paragraphs of Python's own help text (``pydoc_data``), whitespace
    tokenised, deduplicated: lengths from 5 to a few hundred, as real text has."""
    from pydoc_data.topics import topics

    docs = list(dict.fromkeys(tuple(p.split()) for text in topics.values()
                              for p in text.split("\n\n") if len(p.split()) >= 5))  # fmt: skip
    vocab: dict[str, int] = {}
    ids = [[vocab.setdefault(w, len(vocab)) for w in d] for d in docs]
    return pd.DataFrame({"input_ids": ids, "label": [len(d) % 3 for d in docs]})


def save_token_split(tmp_path, tr: pd.DataFrame, va: pd.DataFrame, tag: str) -> list[str]:
    tr.reset_index(drop=True).to_parquet(tmp_path / f"train_{tag}.parquet")
    va.reset_index(drop=True).to_parquet(tmp_path / f"val_{tag}.parquet")
    return [f"train={tmp_path / f'train_{tag}.parquet'}", f"val={tmp_path / f'val_{tag}.parquet'}"]


def test_random_token_splits_have_no_length_drift_and_a_real_shift_is_found(tmp_path):
    df = token_frame()
    assert len(df) > 1000 and df.input_ids.map(len).nunique() > 100
    for seed in range(4):
        tr, va = model_selection.train_test_split(df, test_size=0.2, random_state=seed)
        report = dsdoctor.check(split=save_token_split(tmp_path, tr, va, str(seed)), target="label")
        assert not found(report, "DS806"), found(report, "DS806")[0].message
    tr, va = model_selection.train_test_split(df, test_size=0.2, random_state=0)
    longer = va.assign(input_ids=va.input_ids.map(lambda t: t * 3))  # 3x as long
    (f,) = found(dsdoctor.check(split=save_token_split(tmp_path, tr, longer, "long"),
                                target="label"), "DS806")  # fmt: skip
    (d,) = f.evidence["drifted"]
    assert d["feature"] == "sequence length" and d["p_value"] < 1e-3
    # only the longest quarter kept: the same lengths, another mix of them
    tail = va[va.input_ids.map(len) >= va.input_ids.map(len).quantile(0.75)]
    tail = pd.concat([tail, va.sample(120, random_state=1)])
    assert found(dsdoctor.check(split=save_token_split(tmp_path, tr, tail, "tail"),
                                target="label"), "DS806")  # fmt: skip


def test_length_drift_of_a_few_sequences_is_not_judged_and_said(tmp_path):
    df = token_frame()
    few = df.iloc[:40].assign(input_ids=df.iloc[:40].input_ids.map(lambda t: t * 3))
    report = dsdoctor.check(split=save_token_split(tmp_path, df.iloc[40:], few, "few"),
                            target="label")  # fmt: skip
    assert not found(report, "DS806")
    assert any("sequence lengths: 40 sequences" in n and "not judged" in n
               for n in report.splits["drift_not_judged"])  # fmt: skip


def test_label_drift_of_a_few_hundred_labels_needs_more_than_chance(tmp_path):
    from dsdoctor.engine.splits import chi2_pvalue, js_distance

    digits = sk_datasets.load_digits()
    x, y = digits.data, digits.target
    rng = np.random.default_rng(0)
    noisy = []  # random splits whose label JS passes 0.1 by chance alone
    for _ in range(60):
        order = rng.permutation(len(y))
        tr, va = order[:-288], order[-288:]
        a, b = np.bincount(y[tr], minlength=10), np.bincount(y[va], minlength=10)
        if js_distance(a, b) > 0.1:
            noisy.append((tr, va))
    assert noisy
    tr, va = noisy[0]
    np.save(tmp_path / "xt.npy", x[tr])
    np.save(tmp_path / "yt.npy", y[tr])
    np.save(tmp_path / "xv.npy", x[va])
    np.save(tmp_path / "yv.npy", y[va])
    train = f"train={tmp_path / 'xt.npy'},{tmp_path / 'yt.npy'}"
    report = dsdoctor.check(split=[train, f"val={tmp_path / 'xv.npy'},{tmp_path / 'yv.npy'}"])
    assert not found(report, "DS807")
    # a real shift of the same size: classes 0-4 kept a third of their samples
    keep = va[(y[va] >= 5) | (np.arange(len(va)) % 3 == 0)]
    assert chi2_pvalue(np.bincount(y[tr]), np.bincount(y[keep], minlength=10)) < 1e-3
    np.save(tmp_path / "xs.npy", x[keep])
    np.save(tmp_path / "ys.npy", y[keep])
    report = dsdoctor.check(split=[train, f"val={tmp_path / 'xs.npy'},{tmp_path / 'ys.npy'}"])
    (f,) = found(report, "DS807")
    assert f.evidence["p_value"] < 1e-3


# -- 5. Dask workers of another dsdoctor build: exit 2 with one line ----------------------------
def test_dask_workers_of_another_build_are_refused(tmp_path):
    import os
    import shutil
    import socket
    import subprocess
    import sys
    import time

    pytest.importorskip("distributed")
    other = tmp_path / "other"
    shutil.copytree(dsdoctor.__path__[0], other / "dsdoctor",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    with open(other / "dsdoctor" / "engine" / "tasks.py", "a") as fp:
        fp.write("\n# another build\n")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(other)}
    dask = [sys.executable, "-m"]
    procs = [subprocess.Popen([*dask, "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                               "--port", str(port), "--no-dashboard"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]  # fmt: skip
    try:
        time.sleep(2)
        procs.append(subprocess.Popen([*dask, "distributed.cli.dask_worker", address,
                                       "--nthreads", "1", "--no-dashboard"], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))  # fmt: skip
        from distributed import Client

        with Client(address, timeout="20s") as c:
            c.wait_for_workers(1, timeout=30)
        x = np.random.default_rng(0).normal(size=(2000, 4)).astype(np.float32)
        np.save(tmp_path / "a.npy", x[:1500])
        np.save(tmp_path / "b.npy", x[1500:])
        r = cli("check", "--split", f"train={tmp_path / 'a.npy'}", "--split",
                f"val={tmp_path / 'b.npy'}", "--engine", "dask", "--scheduler", address)  # fmt: skip
        assert r.code == 2, r.stdout + r.stderr
        assert r.stderr.count("\n") == 1 and r.stderr.startswith("dsdoctor: error: ")
        assert "run another dsdoctor build" in r.stderr
    finally:
        for p in reversed(procs):
            p.terminate()
            p.wait(timeout=30)


# -- 6. the HTML and JUnit reports say what the split checks did not judge ----------------------
def test_html_and_junit_say_what_was_not_judged(tmp_path):
    import xml.etree.ElementTree as ET

    from dsdoctor.render import report_text

    tr, va = model_selection.train_test_split(wine(), test_size=0.25, random_state=0)
    tr.reset_index(drop=True).to_parquet(tmp_path / "train.parquet")
    va.reset_index(drop=True).to_parquet(tmp_path / "val.parquet")
    split = [f"train={tmp_path / 'train.parquet'}", f"val={tmp_path / 'val.parquet'}"]
    report = dsdoctor.check(split=split, target="label")
    assert not report.findings
    page = report_text(report, "html")
    assert "some split checks did not run or were judged only in part" in page
    assert "DS805 not checked:" in page and "DS804 not checked:" in page
    assert "PSI and JS not judged" in page
    suite = ET.fromstring(report_text(report, "junit")).find("testsuite")
    cases = {c.get("name").split()[0]: c for c in suite.findall("testcase")
             if c.get("classname") == "splits"}  # fmt: skip
    drift = cases["DS806"]
    assert drift.find("skipped") is None and drift.find("failure") is None
    assert drift.find("properties/property").get("value") == "in part"
    assert "judged only in part" in drift.find("system-out").text
    assert cases["DS803"].find("properties") is None  # judged in full


# -- 7. the spec's ranges of a split are the dataset's, not the split's own ---------------------
def test_rows_moved_between_splits_within_the_training_range_pass_the_spec(tmp_path):
    df = wine()
    tr, rest = model_selection.train_test_split(df, test_size=0.4, random_state=0)
    va, te = model_selection.train_test_split(rest, test_size=0.5, random_state=0)
    top = df.proline.idxmax()  # the largest value of all features in train: val's max is less
    tr, va, te = (
        pd.concat([tr, df.loc[[top]]]).drop_duplicates(),
        va.drop(top, errors="ignore"),
        te.drop(top, errors="ignore"),
    )
    data = tmp_path / "data"
    data.mkdir()
    for name, part in (("train", tr), ("val", va), ("test", te)):
        part.reset_index(drop=True).to_parquet(data / f"{name}.parquet")
    split = [a for n in ("train", "val", "test") for a in ("--split", f"{n}={data / n}.parquet")]
    r = cli("spec", "infer", *split, "--target", "label", "-o", tmp_path / "dsdoctor.toml")
    assert r.code == 0, r.stderr
    # val gains the 9 training rows holding the largest values (past val's own max)
    top = tr.nlargest(9, "proline")
    assert top.proline.max() > va.proline.max()
    pd.concat([va, top]).reset_index(drop=True).to_parquet(data / "val.parquet")
    report = dsdoctor.check(spec=str(tmp_path / "dsdoctor.toml"))
    assert not found(report, "DS601"), [f.message for f in found(report, "DS601")]
    assert found(report, "DS803")[0].evidence["b_rows"] == 9
    # a value past every split's recorded range still fails
    pd.concat([va, top.assign(proline=top.proline * 10)]).reset_index(drop=True).to_parquet(
        data / "val.parquet"
    )
    assert found(dsdoctor.check(spec=str(tmp_path / "dsdoctor.toml")), "DS601")


# -- 7. a ClassLabel's names: the labels named, the number of classes known ---------------------
def test_class_label_names_name_the_labels_and_count_the_classes(tmp_path):
    ds = hf.Dataset.from_pandas(penguins(), preserve_index=False).class_encode_column("species")
    names = ds.features["species"].names
    chinstrap = names.index("Chinstrap")
    train = ds.filter(lambda r: r["species"] != chinstrap)
    hf.DatasetDict(
        {"train": train, "validation": ds.shuffle(seed=0).select(range(100))}
    ).save_to_disk(str(tmp_path / "hf"))
    report = dsdoctor.check(str(tmp_path / "hf"))
    (unseen,) = found(report, "DS802")
    assert "Chinstrap (" in unseen.message
    (empty,) = found(report, "DS808")
    assert empty.evidence["classes"] == 3 and empty.message.endswith("Chinstrap")


def test_spec_infer_task_records_the_task(tmp_path):
    import tomllib

    from sklearn.datasets import load_diabetes

    df = load_diabetes(as_frame=True, scaled=False).frame
    df["target"] = (df.target // 5).astype("int64")  # a count: class labels unless told
    tr, va = model_selection.train_test_split(df, test_size=0.25, random_state=0)
    tr.reset_index(drop=True).to_parquet(tmp_path / "train.parquet")
    va.reset_index(drop=True).to_parquet(tmp_path / "val.parquet")
    split = [
        "--split",
        f"train={tmp_path / 'train.parquet'}",
        "--split",
        f"val={tmp_path / 'val.parquet'}",
    ]
    out = tmp_path / "dsdoctor.toml"
    r = cli("spec", "infer", *split, "--target", "target", "--task", "regression", "-o", out)
    assert r.code == 0, r.stderr
    assert tomllib.loads(out.read_text())["splits"]["task"] == "regression"
    report = dsdoctor.check(spec=str(out))
    assert not found(report, "DS802") and not found(report, "DS601")
    assert found(
        dsdoctor.check(split=[a for a in split if a != "--split"], target="target"), "DS802"
    )
    assert cli("spec", "infer", *split, "--task", "regresion", "-o", tmp_path / "x.toml").code == 2


# -- 13. wording: which split an error is of; the hint to give --target -------------------------
def test_an_error_names_its_split_and_a_missing_label_column_hints_target(tmp_path):
    folder = save_hf(tmp_path / "hf", train=wine().iloc[:100], validation=wine().iloc[100:])
    r = cli("check", "--split", f"train={folder}:train", "--split", f"val={folder}:valid")
    assert r.code == 2 and r.stderr.startswith("dsdoctor: error: split val: ")
    kaggle = kaggle_folder(tmp_path)
    (f,) = found(dsdoctor.check(str(kaggle)), "DS801")
    assert "give --target label" in f.message
