"""Arrow IPC files (Feather v2) and streams, written by pyarrow and pandas, read as tables; and
``arrow.fixed_shape_tensor`` columns as N-d arrays, in Arrow and in Parquet."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.feather as pf
import pyarrow.parquet as pq
import pytest

import dsdoctor
from dsdoctor.sources import detect_format

from .conftest import assert_clean_error, cli

SEQS = [[3, 1, 4], [1, 5], [9, 2, 6, 5], [3], [5, 8]]


def table(n: int = 5) -> pa.Table:
    seqs = [SEQS[i % len(SEQS)] for i in range(n)]
    images = np.arange(n * 2 * 3, dtype=np.float32).reshape(n, 2, 3)
    return pa.table({
        "a": np.arange(n, dtype=np.float64),
        "b": np.arange(n, dtype=np.int64) * 10,
        "seq": pa.array(seqs, type=pa.list_(pa.int32())),
        "img": pa.FixedShapeTensorArray.from_numpy_ndarray(images),
    })  # fmt: skip


def write(kind: str, path, t: pa.Table, rows_per_batch: int = 2) -> None:
    """``t`` as the writer ``kind`` writes it."""
    if kind == "file":
        with pa.ipc.new_file(path, t.schema) as w:
            w.write_table(t, max_chunksize=rows_per_batch)
    elif kind == "stream":
        with pa.ipc.new_stream(path, t.schema) as w:
            w.write_table(t, max_chunksize=rows_per_batch)
    elif kind == "feather":  # lz4-compressed by default
        pf.write_feather(t, path, chunksize=rows_per_batch)
    elif kind == "feather-zstd":
        pf.write_feather(t, path, compression="zstd", chunksize=rows_per_batch)
    else:
        raise AssertionError(kind)


WRITERS = [("file", "t.arrow"), ("stream", "t.arrow"), ("stream", "t.arrows"),
           ("feather", "t.feather"), ("feather-zstd", "t.ipc")]  # fmt: skip


@pytest.mark.parametrize(("kind", "name"), WRITERS)
def test_every_writer_reads_back_column_by_column(tmp_path, kind, name):
    t = table(7)
    p = tmp_path / name
    write(kind, p, t)
    assert detect_format(p, None) == "arrow"
    seq = dsdoctor.load(f"{p}:seq")
    assert seq.ragged and seq.shape == (7, None) and seq.dtype == np.int32
    got = seq.read()
    assert [list(got[i]) for i in range(7)] == t.column("seq").to_pylist()
    stacked = dsdoctor.load(f"{p}:a,b").read()
    assert stacked.shape == (7, 2) and (stacked[:, 1] == np.arange(7) * 10).all()
    img = dsdoctor.load(f"{p}:img")
    assert img.shape == (7, 2, 3) and not img.ragged
    assert (img.read() == t.column("img").combine_chunks().to_numpy_ndarray()).all()


@pytest.mark.parametrize("kind", ["file", "stream"])
def test_the_first_bytes_tell_file_from_stream_whatever_the_name(tmp_path, kind):
    p = tmp_path / "data.bin"  # an extension that says nothing
    write(kind, p, table())
    assert detect_format(p, None) == "arrow"
    h = dsdoctor.load(f"{p}:b")
    assert h.layout["ipc"] == kind and list(h.read()) == [0, 10, 20, 30, 40]


def test_pandas_to_feather_is_read_with_its_columns(tmp_path):
    df = pd.DataFrame({"x1": [0.5, 1.5, 2.5], "x2": [1.0, 2.0, 3.0], "species": ["a", "b", "a"]})
    p = tmp_path / "iris.feather"
    df.to_feather(p)
    r = cli("check", "--json", p, "--target", "x2")
    assert r.code in (0, 1), r.stderr
    arrays = r.json()["arrays"]
    assert arrays[f"{p}:x2"]["role"] == "y" and arrays[str(p)]["shape"] == [3]
    assert any(c["name"] == "species" for c in r.json()["columns"])


def test_batches_are_read_in_bounded_chunks(tmp_path):
    """A file of one 10,000-row batch is sliced into chunks of the size asked, not held whole."""
    p = tmp_path / "big.arrow"
    write("file", p, pa.table({"v": np.arange(10_000, dtype=np.float64)}), rows_per_batch=10_000)
    chunks = list(dsdoctor.load(f"{p}:v").chunks(chunk_bytes=8 * 1000))
    assert len(chunks) > 5 and max(len(c) for c in chunks) < 10_000
    assert (np.concatenate(chunks) == np.arange(10_000)).all()


# -- the seed cases ------------------------------------------------------------------------------
def test_29_samples_against_1(tmp_path):
    x, y = tmp_path / "x.feather", tmp_path / "y.arrow"
    pf.write_feather(pa.table({"f1": np.ones(29), "f2": np.zeros(29)}), x)
    write("stream", y, pa.table({"label": np.array([1])}))
    r = cli("check", "--json", "--x", x, "--y", y)
    assert r.code == 1
    (f,) = [f for f in r.json()["findings"] if f["code"] == "DS101"]
    assert "29" in f["message"] and "1" in f["message"]


def test_width_against_features(tmp_path):
    p = tmp_path / "x.arrow"
    write("file", p, pa.table({"f1": np.ones(4), "f2": np.zeros(4)}))
    r = cli("check", "--json", p, "--features", "3")
    assert r.code == 1
    (f,) = [f for f in r.json()["findings"] if f["code"] == "DS201"]
    assert "2" in f["message"] and "3" in f["message"]


def test_rank_of_a_tensor_column_against_input_shape(tmp_path):
    p = tmp_path / "img.arrow"
    write("stream", p, pa.table({"img": table(4).column("img")}))
    r = cli("check", "--json", f"{p}:img", "--input-shape", "6")
    assert r.code == 1
    assert any(f["code"] == "DS202" for f in r.json()["findings"])


def test_ragged_with_a_padding_collision_then_pad_and_bucket_read_back(tmp_path):
    p = tmp_path / "tok.feather"
    seqs = [[0, 3, 4], [5], [6, 7, 0, 8], [2, 2]]
    pf.write_feather(pa.table({"ids": pa.array(seqs, type=pa.list_(pa.int64()))}), p)
    codes = {f["code"] for f in cli("check", "--json", p).json()["findings"]}
    assert {"DS301", "DS302"} <= codes
    out = tmp_path / "padded.npy"
    assert cli("pad", f"{p}:ids", "--padding", "post", "--value", "-9", "-o", out).code == 0
    padded, mask = np.load(out), np.load(tmp_path / "padded.mask.npy")
    assert padded.shape == (4, 4)
    assert [list(padded[i][mask[i]]) for i in range(4)] == seqs
    assert cli("bucket", f"{p}:ids", "--buckets", "2", "-o", tmp_path / "b").code == 0
    back = []
    for f in sorted((tmp_path / "b").glob("bucket_*.npz")):
        with np.load(f) as z:
            back += [list(r[m]) for r, m in zip(z["data"], z["mask"], strict=True)]
    assert sorted(back) == sorted(seqs)


# -- fixed_shape_tensor ----------------------------------------------------------------------------
def test_a_permuted_tensor_reads_in_its_logical_order(tmp_path):
    """``shape`` is how the values lie, ``permutation`` the order of its axes (as pyarrow's
    ``to_numpy_ndarray`` reads them): (2, 4) stored, (4, 2) read."""
    physical = np.arange(3 * 2 * 4, dtype=np.int32).reshape(3, 2, 4)
    t = pa.fixed_shape_tensor(pa.int32(), (2, 4), permutation=[1, 0])
    storage = pa.array([row.ravel().tolist() for row in physical], pa.list_(pa.int32(), 8))
    arr = pa.ExtensionArray.from_storage(t, storage)
    logical = arr.to_numpy_ndarray()
    assert logical.shape == (3, 4, 2) and (logical == physical.transpose(0, 2, 1)).all()
    p = tmp_path / "perm.arrow"
    write("file", p, pa.table({"t": arr}))
    h = dsdoctor.load(f"{p}:t")
    assert h.shape == (3, 4, 2) and (h.read() == logical).all()


def test_a_tensor_column_in_parquet_is_an_nd_array(tmp_path):
    p = tmp_path / "img.parquet"
    t = table(6)
    pq.write_table(t, p)
    h = dsdoctor.load(f"{p}:img")
    assert h.shape == (6, 2, 3) and h.dtype == np.float32
    assert (h.read() == t.column("img").combine_chunks().to_numpy_ndarray()).all()
    r = cli("inspect", "--json", p)
    kinds = {e["path"]: e for e in r.json()["sources"][0]["entries"]}
    assert kinds["img"]["kind"] == "array" and kinds["img"]["column_kind"] == "nested"


# -- bad input -------------------------------------------------------------------------------------
def test_a_stream_cut_mid_batch_is_refused(tmp_path):
    p = tmp_path / "s.arrow"
    write("stream", p, table(50), rows_per_batch=10)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    assert_clean_error(cli("check", p), str(p), "truncated")
    assert_clean_error(cli("pad", f"{p}:seq", "-o", tmp_path / "o.npy"), "truncated")
    assert not (tmp_path / "o.npy").exists()


def test_a_stream_cut_between_batches_is_refused(tmp_path):
    """No end-of-stream marker: its writer was never closed, the rows may be incomplete."""
    sink = pa.BufferOutputStream()
    t = table(4)
    w = pa.ipc.new_stream(sink, t.schema)
    w.write_batch(t.to_batches()[0])
    p = tmp_path / "open.arrow"
    p.write_bytes(sink.getvalue().to_pybytes())
    assert_clean_error(cli("check", p), "end-of-stream marker")


def test_a_truncated_file_is_refused(tmp_path):
    p = tmp_path / "f.feather"
    write("feather", p, table(20))
    data = p.read_bytes()
    p.write_bytes(data[:-40])
    assert_clean_error(cli("inspect", p), str(p), "truncated")


def test_a_damaged_batch_is_refused(tmp_path):
    """A batch whose header claims more bytes than the stream holds."""
    p = tmp_path / "d.arrow"
    write("stream", p, table(20), rows_per_batch=5)
    data = bytearray(p.read_bytes())
    second = data.index(b"\xff\xff\xff\xff", 8)  # the first batch's message, after the schema
    data[second + 4 : second + 8] = (0x7FFFFF00).to_bytes(4, "little")
    p.write_bytes(bytes(data))
    assert_clean_error(cli("check", p), str(p))


def test_feather_v1_is_named(tmp_path):
    p = tmp_path / "old.feather"
    with pytest.warns(DeprecationWarning):  # pyarrow still writes it, with a warning
        pf.write_feather(pd.DataFrame({"a": [1, 2]}), p, version=1)
    assert_clean_error(cli("check", p), "Feather v1")


@pytest.mark.parametrize("kind", ["stream", "parquet"])
def test_null_sequences_are_missing_not_counted_as_empty(tmp_path, kind):
    """A null list is missing data: DS405 names it apart from the empty sequences (DS304)."""
    seqs = [
        None if i % 10 == 3 else [] if i % 10 == 7 else [1, 2, 3][: 1 + i % 3] for i in range(40)
    ]
    t = pa.table({"tok": pa.array(seqs, type=pa.list_(pa.int32()))})
    path = tmp_path / ("t.arrows" if kind == "stream" else "t.parquet")
    if kind == "stream":
        write("stream", path, t, rows_per_batch=7)  # nulls in several batches
    else:
        pq.write_table(t, path, row_group_size=7)
    r = cli("check", "--json", f"{path}:tok")
    assert r.code == 1, r.stdout
    found = {f["code"]: f for f in r.json()["findings"]}
    assert "4 of 40 sequences" in found["DS304"]["message"]  # the empty ones only
    missing = found["DS405"]
    assert "(null sequences) 4" in missing["message"]
    assert missing["evidence"]["rows"] == [3, 13, 23, 33]
    ((_, described),) = r.json()["arrays"].items()
    assert described["stats"]["null_sequences"] == 4
