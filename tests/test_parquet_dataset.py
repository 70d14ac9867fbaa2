"""A folder (recursively, Hive partitions as columns, Spark's marker files skipped) or a glob of
Parquet files is one dataset, whose files and row groups are tasks for ``--jobs`` and
``--engine dask`` (sources/dataset.py). Every folder here is written by a real writer: pandas'
``to_parquet(partition_cols=…)``, ``pyarrow.parquet.write_to_dataset``, and Spark's layout (part
files written by pyarrow, with the ``_SUCCESS``, ``_committed_*``/``_started_*`` and ``.crc``
files Spark writes beside them)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

import dsdoctor
from dsdoctor.engine.tasks import cut_tasks

from .conftest import assert_clean_error, run


def names(report) -> set[str]:
    return {f.name for f in report.findings}


def frame(n: int, seed: int = 0, width: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    out = pd.DataFrame({f"f{j}": rng.normal(size=n) for j in range(width)})
    out["label"] = rng.integers(0, 3, size=n)
    return out


def spark_folder(root, frames: dict[str, pd.DataFrame], row_group_size: int | None = None):
    """Spark's output layout: ``date=…/part-0000k-<uuid>-c000.snappy.parquet`` with a hidden
    ``.crc`` beside each, ``_SUCCESS``, and the commit protocol's ``_started_*`` /
    ``_committed_*`` markers."""
    root.mkdir()
    job = uuid.uuid4()
    for k, (date, df) in enumerate(frames.items()):
        folder = root / f"date={date}"
        folder.mkdir()
        name = f"part-{k:05d}-{job}-c000.snappy.parquet"
        pq.write_table(pa.Table.from_pandas(df, preserve_index=False), folder / name,
                       compression="snappy", row_group_size=row_group_size)  # fmt: skip
        (folder / f".{name}.crc").write_bytes(b"crc\x00\x00\x00\x00\x01")
        (folder / f"_started_{k}").write_bytes(b"")
        (folder / f"_committed_{k}").write_text('{"added":["' + name + '"],"removed":[]}')
    (root / "_SUCCESS").write_bytes(b"")
    (root / "._SUCCESS.crc").write_bytes(b"crc\x00")
    return root


# -- reading the layouts -----------------------------------------------------------------------
def test_pandas_partition_cols_folder_is_one_table(tmp_path):
    df = frame(60)
    df["split"] = ["train"] * 40 + ["val"] * 20
    df.to_parquet(tmp_path / "ds", partition_cols=["split"])
    h = dsdoctor.load(str(tmp_path / "ds"))
    assert h.shape == (60, 4)  # f0..f2 and label; split is text
    assert h.layout["partitions"] == ["split"] and h.layout["files"] == 2
    report = dsdoctor.check(str(tmp_path / "ds"), target="label")
    split = next(c for c in report.columns if c["name"] == "split")
    assert split["kind"] == "categorical" and split["facts"]["top"] == [["train", 40], ["val", 20]]
    assert report.arrays[f"{tmp_path / 'ds'}:label"]["stats"]["rows"] == 60


def test_write_to_dataset_partitions_are_typed_as_pyarrow_types_them(tmp_path):
    """The oracle is pyarrow.dataset's own hive discovery: int32 when every value is a 32-bit
    integer, else string (a value past int32, a date), null for Hive's default partition."""
    table = pa.table({"v": np.arange(8, dtype=np.float64),
                      "year": [2020, 2020, 2021, 2021, 2022, 2022, 2023, 2023],
                      "big": [1, 1, 1, 1, 1, 1, 3_000_000_000, 3_000_000_000],
                      "day": ["2024-01-01", "a b", "x/y", None, "2024-01-01", "a b", "x/y", None]})  # fmt: skip
    pq.write_to_dataset(table, tmp_path / "ds", partition_cols=["year", "big", "day"])
    want = ds.dataset(tmp_path / "ds", partitioning="hive").schema
    src = dsdoctor.load(f"{tmp_path / 'ds'}:v").table
    assert src.schema.remove_metadata() == want.remove_metadata()
    assert [str(t) for t in want.types] == ["double", "int32", "string", "string"]
    theirs = ds.dataset(tmp_path / "ds", partitioning="hive").to_table()  # the same path order
    for column in ("v", "year"):
        h = dsdoctor.load(f"{tmp_path / 'ds'}:{column}")
        assert h.read().tolist() == theirs.column(column).to_pylist()
    days = dsdoctor.check(f"{tmp_path / 'ds'}:v").columns
    day = next(c for c in days if c["name"] == "day")
    assert day["nulls"] == 2 and day["facts"]["distinct"] == 3


def test_spark_layout_skips_markers_and_checksums(tmp_path):
    frames = {"2024-01-01": frame(30, 1), "2024-01-02": frame(20, 2)}
    d = spark_folder(tmp_path / "spark", frames)
    r = run("check", d, "--target", "label", "--json")
    out = r.json()
    assert r.code in (0, 1), r.stderr
    x = out["arrays"][str(d)] if str(d) in out["arrays"] else out["arrays"][f"{d}:f0,f1,f2"]
    assert x["stats"]["rows"] == 50 and x["layout"]["files"] == 2
    assert x["layout"]["partitions"] == ["date"]
    assert [c["name"] for c in out["columns"]] == ["date"]  # a date string: categorical


def test_a_glob_is_the_same_dataset_as_its_folder(tmp_path):
    d = spark_folder(tmp_path / "spark", {"2024-01-01": frame(30, 1), "2024-01-02": frame(20, 2)})
    folder = dsdoctor.check(str(d), target="label").to_dict()
    globbed = dsdoctor.check(f"{d}/*/*.parquet", target="label").to_dict()
    strip = lambda r: [a["stats"] for a in r["arrays"].values()]  # noqa: E731
    assert strip(folder) == strip(globbed)


def test_a_file_of_another_kind_in_the_folder_is_a_clean_error(tmp_path):
    d = tmp_path / "ds"
    frame(10).to_parquet(tmp_path / "ds", partition_cols=["label"])
    (d / "label=1" / "notes.txt").write_text("not data")
    assert_clean_error(run("check", d), "notes.txt", "Parquet")


def test_a_spark_output_with_no_part_files_is_a_clean_error(tmp_path):
    d = tmp_path / "empty"
    d.mkdir()
    (d / "_SUCCESS").write_bytes(b"")
    (d / "._SUCCESS.crc").write_bytes(b"crc")
    assert_clean_error(run("check", d), "no Parquet files")


def test_too_many_files_is_a_clean_error(tmp_path, monkeypatch):
    import dsdoctor.sources.shards as shards
    from dsdoctor.errors import SourceError

    monkeypatch.setattr(shards, "MAX_SHARDS", 2)
    d = tmp_path / "ds"
    d.mkdir()
    for i in range(3):
        frame(2, i).to_parquet(d / f"p{i}.parquet")
    with pytest.raises(SourceError, match="more than 2 files"):
        dsdoctor.load(str(d))


# -- the seed cases --------------------------------------------------------------------------
def test_29_vs_1(tmp_path):
    frame(29).drop(columns="label").to_parquet(tmp_path / "x", partition_cols=None)
    (tmp_path / "xs").mkdir()
    for i, part in enumerate(np.array_split(np.arange(29), 3)):
        frame(29).drop(columns="label").iloc[part].to_parquet(tmp_path / "xs" / f"p{i}.parquet")
    np.save(tmp_path / "y.npy", np.zeros(1))
    report = dsdoctor.check(x=str(tmp_path / "xs"), y=str(tmp_path / "y.npy"))
    assert "sample-count-mismatch" in names(report)
    found = next(f for f in report.findings if f.name == "sample-count-mismatch")
    assert "29" in found.message and "1" in found.message


def test_width_vs_features(tmp_path):
    (tmp_path / "ds").mkdir()
    for i in range(3):
        frame(10, i, width=4).drop(columns="label").to_parquet(tmp_path / "ds" / f"p{i}.parquet")
    report = dsdoctor.check(str(tmp_path / "ds"), features=3)
    found = next(f for f in report.findings if f.name == "feature-width-mismatch")
    assert "4" in found.message and "3" in found.message


def test_string_label_column(tmp_path):
    (tmp_path / "ds").mkdir()
    for i in range(2):
        df = frame(12, i).drop(columns="label")
        df["species"] = np.array(["cat", "dog", "eel"])[np.arange(12) % 3]
        df.to_parquet(tmp_path / "ds" / f"p{i}.parquet")
    report = dsdoctor.check(str(tmp_path / "ds"), target="species")
    assert "string-labels" in names(report)
    assert report.arrays[f"{tmp_path / 'ds'}:species"]["shape"] == [24]


def test_a_partition_column_as_target(tmp_path):
    df = frame(40)
    df.to_parquet(tmp_path / "ds", partition_cols=["label"])
    report = dsdoctor.check(str(tmp_path / "ds"), target="label", classes=2)
    assert "label-out-of-range" in names(report)  # labels 0..2 but 2 classes
    y = report.arrays[f"{tmp_path / 'ds'}:label"]
    assert y["stats"]["rows"] == 40 and y["dtype"] == "int32"


# -- serial, --jobs 2 and dask agree ---------------------------------------------------------
def _dataset(tmp_path):
    """Few files cut into many row groups (pieces of row groups) plus a small file, a NaN, a
    constant feature and a partition column as the target."""
    rng = np.random.default_rng(7)
    frames = {}
    for k, n in enumerate((900, 700, 60)):
        df = pd.DataFrame({"a": rng.normal(size=n), "b": np.full(n, 5.0), "c": rng.normal(size=n)})
        frames[f"2024-01-0{k + 1}"] = df
    frames["2024-01-02"].loc[13, "a"] = np.nan
    d = spark_folder(tmp_path / "spark", frames, row_group_size=100)
    return d


SMALL = ("import sys; import dsdoctor.engine.tasks as t, dsdoctor.sources.dataset as d; "
         "t.MIN_TASK_BYTES = 1024; d.PIECE_BYTES = 2048; from dsdoctor.cli import main; "
         "sys.argv = ['dsdoctor', *sys.argv[1:]]; main()")  # fmt: skip


def _cli_small(*args) -> tuple[int, dict]:
    p = subprocess.run([sys.executable, "-c", SMALL, "check", "--json", *map(str, args)],
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert p.returncode in (0, 1), p.stderr
    return p.returncode, json.loads(p.stdout)


def test_pieces_are_files_and_runs_of_row_groups(tmp_path, monkeypatch):
    import dsdoctor.engine.tasks as t
    import dsdoctor.sources.dataset as dataset

    monkeypatch.setattr(dataset, "PIECE_BYTES", 2048)
    monkeypatch.setattr(t, "MIN_TASK_BYTES", 1024)
    h = dsdoctor.load(str(_dataset(tmp_path)))
    pieces = h.shard_sources
    assert len({p.path for p in pieces}) == 3 and len(pieces) > 3  # big files cut at row groups
    assert sum(p.part.rows for p in pieces) == h.shape[0] == 1660
    tasks = cut_tasks(h, 2)
    assert len(tasks) > 1 and [p for task in tasks for p, _ in task] == pieces


def test_pieces_read_what_the_dataset_reads(tmp_path, monkeypatch):
    """Each piece, opened as a worker opens it, holds its rows of the serial read, partition
    values included; a file's own column named like a partition key wins over the key."""
    import dsdoctor.sources.dataset as dataset

    monkeypatch.setattr(dataset, "PIECE_BYTES", 2048)
    rng = np.random.default_rng(2)
    for k in (1, 2):
        (tmp_path / "ds" / f"k={k}" / f"g={k * 10}").mkdir(parents=True)
        n = 500 * k
        df = pd.DataFrame({"a": rng.normal(size=n), "g": np.full(n, 7.0)})  # g clashes
        pq.write_table(pa.Table.from_pandas(df, preserve_index=False),
                       tmp_path / "ds" / f"k={k}" / f"g={k * 10}" / "f.parquet", row_group_size=100)  # fmt: skip
    for columns in ("a,k,g", "k"):
        h = dsdoctor.load(f"{tmp_path / 'ds'}:{columns}")
        assert len(h.shard_sources) > 2
        parts = [p.open().read() for p in h.shard_sources]
        assert np.array_equal(np.concatenate(parts), h.read())
    whole = dsdoctor.load(f"{tmp_path / 'ds'}:a,k,g").read()
    assert set(whole[:, 1]) == {1, 2} and set(whole[:, 2]) == {7.0}


def test_jobs_and_dask_equal_serial(tmp_path):
    d = _dataset(tmp_path)
    args = (d, "--target", "date")
    serial_code, serial = _cli_small(*args)
    assert {f["name"] for f in serial["findings"]} >= {"missing-values", "constant-feature"}
    code, parallel = _cli_small(*args, "--jobs", "2")
    assert (code, parallel) == (serial_code, serial)
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:  # fmt: skip
        code, on_cluster = _cli_small(
            *args, "--engine", "dask", "--scheduler", cluster.scheduler_address
        )
        assert (code, on_cluster) == (serial_code, serial)


# -- a mixed schema -----------------------------------------------------------------------------
def test_mixed_schema_is_one_finding_naming_the_files(tmp_path):
    d = tmp_path / "ds"
    d.mkdir()
    for i in range(3):
        frame(10, i).to_parquet(d / f"p{i}.parquet")
    frame(5, 3).drop(columns="f2").to_parquet(d / "p3.parquet")  # lacks f2
    df = frame(4, 4)
    df["label"] = df["label"].astype("float64")
    df.to_parquet(d / "p4.parquet")  # label is double, not int64
    r = run("check", d, "--json")
    assert r.code == 1, r.stderr
    out = r.json()
    found = [f for f in out["findings"] if f["code"] == "DS704"]
    assert len(found) == 1 and found[0]["severity"] == "error"
    assert "2 of 5 files" in found[0]["message"]
    assert "p3.parquet lacks column(s) 'f2'" in found[0]["message"]
    assert "'label' is int64" in found[0]["message"] and "p4.parquet" in found[0]["message"]
    assert [f["file"] for f in found[0]["evidence"]["files"]] == [str(d / "p3.parquet"),
                                                                 str(d / "p4.parquet")]  # fmt: skip
    (x,) = out["arrays"].values()
    assert x["stats"]["rows"] == 30  # the three files that agree
    assert x["layout"]["files_not_read"] == [str(d / "p3.parquet"), str(d / "p4.parquet")]


def test_an_unreadable_file_is_an_error_not_a_finding(tmp_path):
    d = tmp_path / "ds"
    d.mkdir()
    frame(10).to_parquet(d / "p0.parquet")
    (d / "p1.parquet").write_bytes(b"PAR1" + b"\x00" * 20)  # no footer
    assert_clean_error(run("check", d), "p1.parquet")


def test_check_dot_names_fixes_after_the_folder(tmp_path, monkeypatch):
    """``check .`` in a Parquet folder with a sequence column and its lengths beside it: no
    internal error (``Path('.')`` has no name), and the fixes' outputs are named after the
    folder, not hidden ``.ids.padded.npy`` files."""
    folder = tmp_path / "shop"
    folder.mkdir()
    frame = pd.DataFrame(
        {"ids": [[1, 2, 3], [4, 5], [6]], "lengths": [3, 2, 1], "label": [0, 1, 0]}
    )
    frame.to_parquet(folder / "t.parquet", index=False)
    monkeypatch.chdir(folder)
    r = run("check", ".")
    assert r.code in (0, 1), r.stderr
    assert "DS301" in r.stdout and "-o shop.ids.padded.npy" in r.stdout, r.stdout
