"""``plan``: the numbers a training loop will see."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .conftest import FIXTURES, assert_clean_error, cli, run


def test_dense_plan_numbers(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((1000, 16, 8), np.float32))
    d = cli("plan", tmp_path / "x.npy", "--batch-size", "64", "--memory", "1MiB", "--json").json()
    assert (
        d["steps_per_epoch"] == 16
        and d["steps_per_epoch_drop_last"] == 15
        and d["last_batch"] == 40
    )
    assert d["bytes_per_sample"] == 512 and d["bytes_per_batch"] == 64 * 512
    assert d["max_batch_for_memory"] == 2048
    d = cli("plan", tmp_path / "x.npy", "--batch-size", "100", "--json").json()
    assert d["last_batch"] == 100 and d["notes"] == []


def test_ragged_plan_padding_and_buckets(tmp_path):
    seqs = [[1] * 2] * 90 + [[1] * 100] * 10
    pq.write_table(
        pa.table({"t": pa.array(seqs, type=pa.list_(pa.int32()))}), tmp_path / "s.parquet"
    )
    d = cli(
        "plan", f"{tmp_path / 's.parquet'}:t", "--batch-size", "10", "--buckets", "2", "--json"
    ).json()
    assert d["maxlen"] == 100 and d["bytes_per_sample"] == 400
    assert d["padding"]["cells"] == 10_000 and d["padding"]["real"] == 1180
    assert d["padding"]["buckets"]["padding"] == 0 and d["padding"]["buckets"]["boundaries"] == [3]
    d = cli(
        "plan", f"{tmp_path / 's.parquet'}:t", "--batch-size", "10", "--maxlen", "50", "--json"
    ).json()
    assert d["padding"]["real"] == 180 + 500 and d["bytes_per_sample"] == 200


def test_learning_rate_scaling():
    d = cli(
        "plan",
        FIXTURES / "healthy/x.npy",
        "--batch-size",
        "64",
        "--lr",
        "0.1",
        "--lr-batch",
        "16",
        "--json",
    ).json()
    assert d["learning_rate"]["linear"] == 0.4 and abs(d["learning_rate"]["sqrt"] - 0.2) < 1e-12


def test_plan_bad_input():
    assert_clean_error(run("plan", FIXTURES / "healthy/x.npy", "--batch-size", "0"), "--batch-size")
    assert_clean_error(
        run("plan", FIXTURES / "healthy/x.npy", "--batch-size", "8", "--lr", "0.1"), "--lr-batch"
    )
    assert_clean_error(run("plan", FIXTURES / "healthy/x.npy"), "--batch-size")


# -- plan --buckets K: steps and padded batch bytes per length bucket ----------------------------
def _tokens(tmp_path, lengths) -> str:
    """A Parquet list column of sequences with these lengths (token ids 1…)."""
    seqs = [list(range(1, int(n) + 1)) for n in lengths]
    pq.write_table(
        pa.table({"t": pa.array(seqs, type=pa.list_(pa.int32()))}), tmp_path / "tok.parquet"
    )
    return f"{tmp_path / 'tok.parquet'}:t"


#: 350 sequences: many short, some long, ten outliers of 500 — mostly padding with one maxlen
LENGTHS = np.concatenate([np.arange(124) % 4 + 1, np.arange(176) % 5 + 5, np.arange(40) % 10 + 90,
                          np.full(10, 500)])  # fmt: skip


def test_plan_buckets_count_what_bucket_writes(tmp_path):
    """Each bucket's samples, length range and maxlen are those of ``bucket --buckets 4``'s
    output; steps are sum(ceil(n_b / batch)); a batch's bytes are its samples × the bucket's
    maxlen × the bytes of a timestep, as the written bucket arrays hold them."""
    src = _tokens(tmp_path, LENGTHS)
    d = cli("plan", src, "--batch-size", "32", "--buckets", "4", "--json").json()
    assert cli("bucket", src, "--buckets", "4", "-o", tmp_path / "b").code == 0
    written = json.loads((tmp_path / "b" / "buckets.json").read_text())
    b = d["bucketing"]
    assert (
        b["k"] == 4
        and b["boundaries"] == written["boundaries"] == d["padding"]["buckets"]["boundaries"]
    )
    keys = ("bucket", "min_length", "max_length", "count", "maxlen")
    assert [{k: one[k] for k in keys} for one in b["buckets"]] == [
        {k: one[k] for k in keys} for one in written["buckets"]
    ]
    counts = [one["count"] for one in written["buckets"]]
    assert sum(counts) == 350
    assert b["steps_per_epoch"] == sum(math.ceil(n / 32) for n in counts) == 13
    assert b["steps_per_epoch_drop_last"] == sum(n // 32 for n in counts)
    assert d["steps_per_epoch"] == 11  # one maxlen: ceil(350 / 32)
    for one in b["buckets"]:
        data = np.load(tmp_path / "b" / written["buckets"][one["bucket"]]["file"])["data"]
        assert one["steps"] == math.ceil(len(data) / 32)
        assert one["bytes_per_batch"] == data[:32].nbytes
    assert b["bytes_per_batch"] == max(one["bytes_per_batch"] for one in b["buckets"])
    assert b["bytes_per_batch"] == 10 * 500 * 4  # the ten outliers, alone in their bucket
    assert d["bytes_per_batch"] == 32 * 500 * 4  # without buckets every batch is padded to 500
    assert d["recommended_buckets"] == 4


def test_plan_text_says_what_check_recommends(tmp_path):
    """check's excess-padding recommends K buckets: plan's text names --buckets K and the steps
    an epoch takes with them; with --buckets K it lists each bucket."""
    src = _tokens(tmp_path, LENGTHS)
    report = cli("check", "--x", src, "--json").json()
    (ds303,) = [f for f in report["findings"] if f["name"] == "excess-padding"]
    k = int(re.search(r"--buckets (\d+)", ds303["fixes"][0]["command"])[1])
    r = cli("plan", src, "--batch-size", "32")
    assert r.code == 0
    assert f"recommends {k} length buckets" in r.stdout and f"--buckets {k}" in r.stdout
    assert "an epoch is 13 steps, not 11" in r.stdout
    r = cli("plan", src, "--batch-size", "32", "--buckets", str(k))
    assert "bucketed steps       13 per epoch with 4 buckets" in r.stdout, r.stdout
    assert re.search(r"bucket 3  lengths \[100, ∞\) +10 samples  maxlen 500 +1 step ", r.stdout)
    assert "19.5 KiB at most (bucket 3: 10 samples padded to 500), 62.5 KiB without" in r.stdout


def test_plan_buckets_memory_and_no_advice(tmp_path):
    src = _tokens(tmp_path, LENGTHS)
    d = cli("plan", src, "--batch-size", "32", "--buckets", "4", "--memory", "15KiB",
            "--json").json()  # fmt: skip
    assert any("with 4 buckets the largest batch (20,000 bytes, bucket 3)" in n for n in d["notes"])
    d = cli("plan", src, "--batch-size", "32", "--buckets", "4", "--memory", "20000B",
            "--json").json()  # fmt: skip
    assert not any("with 4 buckets" in n for n in d["notes"])
    even = _tokens(tmp_path, np.arange(100) % 3 + 8)  # little padding: check recommends nothing
    d = cli("plan", even, "--batch-size", "32", "--json").json()
    assert d["recommended_buckets"] is None and d["bucketing"] is None
    assert not any("recommends" in n for n in d["notes"])
    d = cli("plan", even, "--batch-size", "32", "--buckets", "8", "--json").json()
    assert d["bucketing"]["k"] == 3 and d["bucketing"]["steps_per_epoch"] == 6
    assert any("3 distinct lengths" in n for n in d["notes"])
    d = cli("plan", even, "--batch-size", "32", "--buckets", "1", "--json").json()
    one = d["bucketing"]
    assert one["steps_per_epoch"] == d["steps_per_epoch"] == 4
    assert one["bytes_per_batch"] == d["bytes_per_batch"] == 32 * 10 * 4


def test_plan_buckets_on_dense_data_is_said(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((100, 8, 3), np.float32))
    d = cli("plan", tmp_path / "x.npy", "--batch-size", "32", "--buckets", "4", "--json").json()
    assert d["bucketing"] is None
    assert any("--buckets 4 is not planned: the data is dense" in n for n in d["notes"])
