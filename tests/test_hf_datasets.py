"""Hugging Face ``datasets`` folders written by the real ``datasets`` package (``save_to_disk``),
read by dsdoctor with pyarrow alone: splits, shards in order, ClassLabel classes, token columns
as ragged sequences, and the folders' bad states."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

import dsdoctor

from .conftest import assert_clean_error, cli

datasets = pytest.importorskip("datasets")

NAMES = ["neg", "pos", "neutral"]
FEATURES = {
    "input_ids": lambda: datasets.Sequence(datasets.Value("int32")),
    "label": lambda: datasets.ClassLabel(names=NAMES),
    "text": lambda: datasets.Value("string"),
}


def features():
    return datasets.Features({k: make() for k, make in FEATURES.items()})


def split(n: int, seed: int = 0, labels=None):
    rng = np.random.default_rng(seed)
    ids = [rng.integers(1, 50, size=rng.integers(1, 9)).tolist() for _ in range(n)]
    labels = list(labels) if labels is not None else (np.arange(n) % len(NAMES)).tolist()
    return datasets.Dataset.from_dict(
        {"input_ids": ids, "label": labels, "text": [f"t{i}" for i in range(n)]},
        features=features(),
    )


def save(ds, path, **kw) -> None:
    ds.save_to_disk(str(path), **kw)


def findings(*args) -> list[dict]:
    r = cli("check", "--json", *args)
    assert r.code in (0, 1), (r.code, r.stdout, r.stderr)
    return r.json()["findings"]


@pytest.fixture
def dd(tmp_path):
    """A DatasetDict folder: train in three shards, test in one."""
    d = datasets.DatasetDict({"train": split(30), "test": split(7, seed=1)})
    save(d, tmp_path / "dd", num_shards={"train": 3, "test": 1})
    return tmp_path / "dd", d


def test_the_splits_and_their_shards_read_in_order(dd):
    path, d = dd
    assert len(list((path / "train").glob("data-*.arrow"))) == 3
    h = dsdoctor.load(f"{path}:train:input_ids")
    assert h.ragged and h.shape == (30, None) and h.dtype == np.int32
    got = h.read()
    assert [list(got[i]) for i in range(30)] == d["train"]["input_ids"]
    label = dsdoctor.load(f"{path}:test:label")
    assert list(label.read()) == d["test"]["label"]
    assert label.class_names == tuple(NAMES)


def test_inspect_lists_splits_and_a_split_alone(dd):
    path, _ = dd
    r = cli("inspect", "--json", path)
    assert r.code == 0, r.stderr
    entries = {e["path"]: e for e in r.json()["sources"][0]["entries"]}
    assert entries["train"]["kind"] == entries["test"]["kind"] == "group"
    assert entries["train:input_ids"]["shape"] == [30, None]
    assert entries["train:label"]["class_names"] == NAMES
    assert entries["test:text"]["column_kind"] == "categorical"
    one = cli("inspect", "--json", f"{path}:test").json()["sources"][0]
    assert one["source"] == f"{path}:test"
    assert {e["path"] for e in one["entries"]} == {"input_ids", "label", "text"}


def test_a_split_is_checked_with_its_classlabel_as_targets(dd):
    path, _ = dd
    r = cli("check", "--json", f"{path}:train")
    assert r.code == 0, r.stdout
    arrays = r.json()["arrays"]
    assert arrays[f"{path}:train:label"]["role"] == "y"
    assert arrays[f"{path}:train:input_ids"]["role"] == "x"
    codes = {f["code"] for f in r.json()["findings"]}
    assert "DS103" not in codes and "DS301" in codes


def test_the_split_folder_itself_and_a_single_dataset_folder(tmp_path, dd):
    path, _ = dd
    h = dsdoctor.load(f"{path / 'train'}:input_ids")
    assert h.shape == (30, None)
    save(split(5), tmp_path / "one")
    r = cli("check", "--json", tmp_path / "one", "--target", "label")
    assert r.code == 0, (r.stdout, r.stderr)
    assert r.json()["arrays"][f"{tmp_path / 'one'}:label"]["role"] == "y"


# -- ClassLabel as the classes --------------------------------------------------------------------
def test_a_label_at_or_above_the_classlabel_names_is_ds103(tmp_path):
    """A ClassLabel whose names were cut after the labels were made: datasets saves it as it is."""
    ds = split(6)
    ds.info.features["label"] = datasets.ClassLabel(names=NAMES[:2])
    save(ds, tmp_path / "stale")
    (f,) = [f for f in findings(tmp_path / "stale") if f["code"] == "DS103"]
    assert "2 at or above 2" in f["message"] and "ClassLabel" in f["message"]
    assert "neg, pos" in f["message"]
    assert f["evidence"]["classes"] == 2 and f["evidence"]["classes_from"] == "ClassLabel"
    # --classes says otherwise: it wins
    assert not [f for f in findings(tmp_path / "stale", "--classes", "3") if f["code"] == "DS103"]


def test_a_shard_opened_by_itself_keeps_its_classlabel_names(tmp_path):
    """The shard's own schema metadata (``huggingface``) holds the features, as in the folder."""
    ds = split(6)
    ds.info.features["label"] = datasets.ClassLabel(names=NAMES[:2])
    save(ds, tmp_path / "stale")
    (shard,) = (tmp_path / "stale").glob("data-*.arrow")
    for args in ([shard], [shard, "--target", "label"]):
        (f,) = [f for f in findings(*args) if f["code"] == "DS103"]
        assert "2 at or above 2" in f["message"] and "neg, pos" in f["message"]
    h = dsdoctor.load(f"{shard}:label")
    assert h.class_names == ("neg", "pos")
    # a plain Arrow file (no Hugging Face metadata) is a table as before
    import pyarrow as pa

    plain = tmp_path / "plain.arrow"
    with pa.ipc.new_file(plain, pa.schema([("x", pa.float32()), ("label", pa.int64())])) as w:
        w.write_table(pa.table({"x": pa.array([1.0, 2.0], pa.float32()), "label": [0, 5]}))
    assert not [f for f in findings(plain) if f["code"] == "DS103"]


def test_unlabelled_minus_one_rows_are_ds103(tmp_path):
    """GLUE-style test splits mark missing labels -1, which ClassLabel accepts."""
    save(datasets.DatasetDict({"test": split(4, labels=[0, -1, 2, -1])}), tmp_path / "glue")
    (f,) = [f for f in findings(f"{tmp_path / 'glue'}:test") if f["code"] == "DS103"]
    assert "2 below 0" in f["message"] and "3 classes" in f["message"]


# -- the seed cases --------------------------------------------------------------------------------
def test_29_samples_against_1(tmp_path):
    save(split(29), tmp_path / "a")
    save(split(1), tmp_path / "b")
    fs = findings("--x", f"{tmp_path / 'a'}:input_ids", "--y", f"{tmp_path / 'b'}:label")
    (f,) = [f for f in fs if f["code"] == "DS101"]
    assert "29" in f["message"]


def test_width_against_features(tmp_path):
    ds = datasets.Dataset.from_dict({"f1": [0.5, 1.5], "f2": [1.0, 2.0]})
    save(ds, tmp_path / "w")
    assert [f for f in findings(tmp_path / "w", "--features", "3") if f["code"] == "DS201"]


def test_ragged_ids_with_a_padding_collision(tmp_path):
    save(split(5, labels=[0, 1, 2, 0, 1]).map(lambda e: {"input_ids": [0, *e["input_ids"]]}),
         tmp_path / "z")  # fmt: skip
    codes = {f["code"] for f in findings(f"{tmp_path / 'z'}:input_ids")}
    assert {"DS301", "DS302"} <= codes
    vocab = {f["code"] for f in findings(f"{tmp_path / 'z'}:input_ids", "--vocab-size", "10")}
    assert "DS306" in vocab  # ids run to 49


def test_pad_and_bucket_read_back_and_train_one_pytorch_step(tmp_path, dd):
    torch = pytest.importorskip("torch")
    path, d = dd
    out = tmp_path / "ids.npy"
    assert cli("pad", f"{path}:train:input_ids", "--padding", "post", "-o", out).code == 0
    ids, mask = np.load(out), np.load(tmp_path / "ids.mask.npy")
    lengths = np.load(tmp_path / "ids.lengths.npy")
    assert [list(ids[i][mask[i]]) for i in range(30)] == d["train"]["input_ids"]
    assert (
        cli("bucket", f"{path}:train:input_ids", "--buckets", "2", "-o", tmp_path / "b").code == 0
    )
    assert len(list((tmp_path / "b").glob("bucket_*.npz"))) == 2
    y = dsdoctor.load(f"{path}:train:label").read()
    torch.manual_seed(0)
    emb, gru, head = (
        torch.nn.Embedding(50, 4, padding_idx=0),
        torch.nn.GRU(4, 3, batch_first=True),
        torch.nn.Linear(3, len(NAMES)),
    )
    params = [*emb.parameters(), *gru.parameters(), *head.parameters()]
    opt = torch.optim.SGD(params, lr=0.1)
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        emb(torch.as_tensor(ids, dtype=torch.long)), torch.as_tensor(lengths),
        batch_first=True, enforce_sorted=False)  # fmt: skip
    _, h = gru(packed)
    loss = torch.nn.functional.cross_entropy(head(h[-1]), torch.as_tensor(y, dtype=torch.long))
    opt.zero_grad()
    loss.backward()
    opt.step()
    assert torch.isfinite(loss)


# -- bad folders -----------------------------------------------------------------------------------
def test_a_missing_split_is_refused(dd):
    path, _ = dd
    shutil.rmtree(path / "test")
    assert_clean_error(cli("check", path), "'test'", "dataset_dict.json")


def test_an_unknown_split_is_named_with_the_ones_there(dd):
    path, _ = dd
    assert_clean_error(cli("check", f"{path}:valid"), "no split 'valid'", "train, test")


def test_a_split_folder_with_no_arrow_files_is_refused(dd):
    path, _ = dd
    for f in (path / "test").glob("*.arrow"):
        f.unlink()
    state = json.loads((path / "test" / "state.json").read_text())
    state["_data_files"] = []
    (path / "test" / "state.json").write_text(json.dumps(state))
    assert_clean_error(cli("check", path), f"{path}:test", "no Arrow data files")


def test_state_json_naming_a_missing_file_is_refused(dd, tmp_path):
    path, _ = dd
    (path / "train" / "data-00001-of-00003.arrow").unlink()
    out = tmp_path / "o.npy"
    r = cli("pad", f"{path}:train:input_ids", "-o", out)
    assert_clean_error(r, "data-00001-of-00003.arrow", "not in the folder")
    assert not out.exists()


def test_state_json_naming_a_path_outside_is_refused(dd):
    path, _ = dd
    state = json.loads((path / "train" / "state.json").read_text())
    state["_data_files"][0]["filename"] = "../test/data-00000-of-00001.arrow"
    (path / "train" / "state.json").write_text(json.dumps(state))
    assert_clean_error(cli("check", path), "not a file name in the folder")


def test_a_shard_cut_mid_batch_is_refused(dd):
    path, _ = dd
    shard = path / "train" / "data-00002-of-00003.arrow"
    data = shard.read_bytes()
    shard.write_bytes(data[: len(data) - 100])
    assert_clean_error(cli("check", f"{path}:train"), "data-00002-of-00003.arrow", "truncated")


def test_dsdoctor_never_imports_datasets(dd):
    path, _ = dd
    code = (f"import sys, dsdoctor; dsdoctor.check({str(path) + ':train'!r}); "
            "assert 'datasets' not in sys.modules, 'datasets imported'")  # fmt: skip
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr


def test_each_split_is_checked_against_its_own_classlabel(tmp_path):
    stale = split(6)
    stale.info.features["label"] = datasets.ClassLabel(names=NAMES[:2])
    save(datasets.DatasetDict({"train": stale, "test": split(4, labels=[0, 1, 2, 2])}),
         tmp_path / "d")  # fmt: skip
    found = [f for f in findings(tmp_path / "d") if f["code"] == "DS103"]
    assert len(found) == 1 and f"{tmp_path / 'd'}:train:label" in found[0]["message"]


def test_a_file_named_as_a_folder_format_is_refused(tmp_path):
    (tmp_path / "x.arrow").write_bytes(b"not a folder")
    assert_clean_error(cli("check", tmp_path / "x.arrow", "--source-format", "huggingface"),
                       "is not a folder")  # fmt: skip
