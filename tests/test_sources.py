"""Every format read from real files written by numpy, h5py and pyarrow; chunking never changes
the answer."""

from __future__ import annotations

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dsdoctor
from dsdoctor.arrays import Ragged
from dsdoctor.engine import ScanOptions, scan
from dsdoctor.errors import SourceError

rng = np.random.default_rng(1)


def test_npy_c_and_fortran_order(tmp_path):
    a = rng.random((7, 3, 2)).astype(np.float32)
    np.save(tmp_path / "c.npy", a)
    np.save(tmp_path / "f.npy", np.asfortranarray(a))
    for name in ("c.npy", "f.npy"):
        h = dsdoctor.load(str(tmp_path / name))
        assert h.shape == (7, 3, 2) and h.dtype == np.float32
        np.testing.assert_array_equal(h.read(), a)
        chunks = [c.copy() for c in h.chunks(chunk_bytes=50)]
        assert len(chunks) > 1
        np.testing.assert_array_equal(np.concatenate(chunks), a)


def test_npz_members_and_ragged_pairs(tmp_path):
    values = np.arange(10, dtype=np.int32)
    np.savez_compressed(tmp_path / "a.npz", seq=values, seq_lengths=np.array([3, 0, 7]),
                        fr=rng.random((6, 2)), fr_offsets=np.array([0, 1, 6]), y=np.arange(3))  # fmt: skip
    with pytest.raises(SourceError, match="holds 3 arrays"):
        dsdoctor.load(str(tmp_path / "a.npz"))
    seq = dsdoctor.load(f"{tmp_path / 'a.npz'}:seq")
    assert seq.ragged and seq.shape == (3, None)
    r = seq.read()
    assert isinstance(r, Ragged) and r.lengths.tolist() == [3, 0, 7]
    fr = dsdoctor.load(f"{tmp_path / 'a.npz'}:fr")
    assert fr.shape == (2, None, 2)
    chunks = list(seq.chunks(chunk_bytes=8))
    assert len(chunks) > 1 and np.concatenate([c.lengths for c in chunks]).tolist() == [3, 0, 7]
    np.testing.assert_array_equal(np.concatenate([c.window() for c in chunks]), values)


def test_npz_lengths_that_do_not_match_values(tmp_path):
    np.savez(tmp_path / "bad.npz", seq=np.arange(5), seq_lengths=np.array([2, 2]))
    with pytest.raises(SourceError, match="do not belong together"):
        dsdoctor.load(f"{tmp_path / 'bad.npz'}:seq")


def test_hdf5_dense_vlen_and_selector_forms(tmp_path):
    p = tmp_path / "d.h5"
    seqs = [np.arange(n, dtype=np.float32) for n in (3, 0, 5)]
    with h5py.File(p, "w") as f:
        f.create_dataset("g/x", data=rng.random((10, 4)), chunks=(3, 4), compression="gzip")
        d = f.create_dataset("g/seq", (3,), dtype=h5py.vlen_dtype(np.float32))
        for i, s in enumerate(seqs):
            d[i] = s
        f["names"] = np.array([b"a", b"b"])
    x = dsdoctor.load(f"{p}:/g/x")
    assert x.shape == (10, 4) and x.layout["chunks"] == [3, 4] and x.layout["compression"] == "gzip"
    assert dsdoctor.load(f"{p}:g/x").shape == (10, 4)
    seq = dsdoctor.load(f"{p}:/g/seq")
    assert seq.ragged and seq.read().lengths.tolist() == [3, 0, 5]
    names = dsdoctor.load(f"{p}:/names")
    assert (names.skip and "not numeric" in names.skip) or "text" in names.skip


def test_parquet_columns_stack_and_lists(tmp_path):
    p = tmp_path / "t.parquet"
    t = pa.table({"a": [1.0, 2.0, 3.0], "b": [4, 5, 6], "s": ["x", "y", "z"],
                  "seq": pa.array([[1], [], [2, 3]], type=pa.list_(pa.int16())),
                  "fr": pa.array([[[1, 2]], [[3, 4], [5, 6]], []], type=pa.list_(pa.list_(pa.float32(), 2))),
                  "fx": pa.array([[1, 2, 3]] * 3, type=pa.list_(pa.int64(), 3))})  # fmt: skip
    pq.write_table(t, p, row_group_size=2)
    ab = dsdoctor.load(f"{p}:a,b")
    assert ab.shape == (3, 2) and ab.read().tolist() == [[1, 4], [2, 5], [3, 6]]
    assert dsdoctor.load(f"{p}:a").shape == (3,)
    assert dsdoctor.load(f"{p}:seq").shape == (3, None)
    fr = dsdoctor.load(f"{p}:fr")
    assert fr.shape == (3, None, 2) and fr.read().lengths.tolist() == [1, 2, 0]
    assert dsdoctor.load(f"{p}:fx").shape == (3, 3)
    with pytest.raises(SourceError, match="not numbers"):
        dsdoctor.load(f"{p}:s")
    with pytest.raises(SourceError, match="scalar and sequence columns"):
        dsdoctor.load(str(p))


def test_parquet_directory_is_one_dataset(tmp_path):
    d = tmp_path / "ds"
    d.mkdir()
    for i in range(3):
        pq.write_table(
            pa.table({"a": np.arange(i * 10, i * 10 + 10, dtype=np.float64)}),
            d / f"part-{i}.parquet",
        )
    h = dsdoctor.load(str(d))
    assert h.shape == (30,)
    assert sorted(h.read().tolist()) == list(range(30))


def test_csv_and_tsv_with_target(tmp_path, fixtures):
    x = dsdoctor.load(str(fixtures / "iris.tsv"))
    assert x.shape == (150, 4)
    p = tmp_path / "t.csv"
    pacsv.write_csv(pa.table({"f1": [1.0, 2.0], "f2": [3.0, 4.0], "label": [0, 1]}), p)
    r = dsdoctor.check(str(p), target="label", features=2)
    assert r.arrays[str(p)]["shape"] == [2, 2] and r.arrays[f"{p}:label"]["shape"] == [2]
    assert r.findings == []


def test_format_forced_and_sniffed(tmp_path):
    a = np.arange(6.0).reshape(2, 3)
    np.save(tmp_path / "x.npy", a)
    (tmp_path / "x.npy").rename(tmp_path / "x.bin")
    assert dsdoctor.load(str(tmp_path / "x.bin")).shape == (2, 3)  # sniffed from the magic
    assert dsdoctor.load(str(tmp_path / "x.bin"), format="npy").shape == (2, 3)
    (tmp_path / "t.txt").write_text("hello")
    with pytest.raises(SourceError, match="unknown file type"):
        dsdoctor.load(str(tmp_path / "t.txt"))


def test_object_arrays_are_never_unpickled(tmp_path, fixtures):
    h = dsdoctor.load(str(fixtures / "object.npy"))
    assert h.pickled and h.unsafe and "--allow-pickle" in h.unsafe
    with pytest.raises(dsdoctor.UnsafeInputError):
        h.read()
    trusted = dsdoctor.load(str(fixtures / "object.npy"), allow_pickle=True)
    assert len(trusted.read()) == 5


# -- streaming reductions --------------------------------------------------------------------------
arrays = st.integers(1, 40).flatmap(lambda n: st.lists(
    st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=n * 3, max_size=n * 3))  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(arrays, st.integers(12, 200))
def test_stats_do_not_depend_on_chunking(tmp_path_factory, flat, chunk):
    a = np.array(flat, dtype=np.float32).reshape(-1, 3)
    p = tmp_path_factory.mktemp("s") / "a.npy"
    np.save(p, a)
    h = dsdoctor.load(str(p))
    whole = scan(h, ScanOptions(chunk_bytes=1 << 20)).to_dict()
    parts = scan(h, ScanOptions(chunk_bytes=chunk)).to_dict()
    assert whole == parts
    assert whole["nan"] == int(np.isnan(a).sum()) and whole["posinf"] == int(np.isposinf(a).sum())


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 3), max_size=12), min_size=1, max_size=30), st.integers(1, 29)
)
def test_stats_merge_equals_one_pass(seqs, cut):
    from dsdoctor.engine.stats import ArrayStats

    cut = min(cut, len(seqs))
    r = Ragged.from_sequences([np.array(s, dtype=np.int64) for s in seqs])
    opts = ScanOptions()
    whole = ArrayStats()
    whole.update(r, opts)
    a, b = ArrayStats(), ArrayStats()
    a.update(Ragged(r.values, r.offsets[: cut + 1]), opts)
    b.update(Ragged(r.values, r.offsets[cut:]), opts)
    merged = a.merge(b)
    assert merged.to_dict() == whole.to_dict()
    assert merged.value_timesteps == sum(v == 0 for s in seqs for v in s)
    assert merged.value_rows == sum(any(v == 0 for v in s) for s in seqs)
    assert merged.empty_rows == sum(len(s) == 0 for s in seqs)
