"""``plan``: the numbers a training loop will see."""

from __future__ import annotations

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
