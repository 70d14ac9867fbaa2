"""Every format read from real files written by numpy, h5py and pyarrow; chunking never changes
the answer."""

from __future__ import annotations

import io
import os
import signal
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

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

from .conftest import Result, assert_clean_error, cli, run

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
    assert names.categorical and not names.skip  # strings, one per sample: class labels


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
    s = dsdoctor.load(f"{p}:s")  # text: class labels
    assert s.categorical and s.shape == (3,) and s.read().tolist() == ["x", "y", "z"]
    with pytest.raises(SourceError, match="holds text"):
        dsdoctor.load(f"{p}:a,s")
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


# -- Fortran-ordered npz members -------------------------------------------------------------------
#: (shape, dtype); 9 × 4200 has more trailing positions than FORTRAN_MAX_RUNS: the memory-map path.
FORTRAN_CASES = [((37, 5), "<f4"), ((23, 3, 4), ">f8"), ((40, 7), "?"), ((33, 2, 3), "<i2"),
                 ((19, 6), ">i4"), ((11, 4), ">c16"), ((9, 4200), "<f4")]  # fmt: skip
SAVES = pytest.mark.parametrize("save", [np.savez, np.savez_compressed], ids=["stored", "deflated"])


@SAVES
@pytest.mark.parametrize("shape,dtype", FORTRAN_CASES, ids=lambda v: str(v))
def test_npz_fortran_members_stream_in_chunks(tmp_path, save, shape, dtype):
    a = np.asfortranarray((rng.random(shape) * 10).astype(dtype))
    save(tmp_path / "f.npz", x=a)
    h = dsdoctor.load(str(tmp_path / "f.npz"))
    kind = "stored" if save is np.savez else "deflate"
    assert h.layout == {"order": "F", "compression": kind} and h.dtype == a.dtype
    for chunk_bytes in (1, 3 * h.row_bytes + 1, 1000, 1 << 20):
        chunks = [c.copy() for c in h.chunks(chunk_bytes)]
        assert all(c.dtype == a.dtype for c in chunks)
        assert len(chunks) == -(-shape[0] // h.rows_per_chunk(chunk_bytes))
        np.testing.assert_array_equal(np.concatenate(chunks), a)


def test_npz_fortran_stored_member_is_found_after_a_prefix_and_a_zip64_local_header(tmp_path):
    """The data offset comes from the local header (numpy writes a zip64 extra field there that
    the central directory lacks), and from offsets shifted by bytes before the archive."""
    a = np.asfortranarray(rng.random((50, 3, 4)).astype(">f8"))
    np.savez(tmp_path / "a.npz", x=a)
    raw = (tmp_path / "a.npz").read_bytes()
    assert struct.unpack("<H", raw[28:30])[0] == 20  # the zip64 extra field
    (tmp_path / "prefixed.npz").write_bytes(b"#!stub\n" * 500 + raw)
    h = dsdoctor.load(str(tmp_path / "prefixed.npz"))
    np.testing.assert_array_equal(np.concatenate([c.copy() for c in h.chunks(100)]), a)


@SAVES
def test_npz_fortran_values_of_a_ragged_pair(tmp_path, save):
    values = np.asfortranarray(rng.random((10, 3)))
    save(tmp_path / "r.npz", seq=values, seq_lengths=np.array([4, 0, 6]))
    seq = dsdoctor.load(f"{tmp_path / 'r.npz'}:seq")
    chunks = list(seq.chunks(chunk_bytes=50))
    assert len(chunks) > 1 and np.concatenate([c.lengths for c in chunks]).tolist() == [4, 0, 6]
    np.testing.assert_array_equal(np.concatenate([c.window() for c in chunks]), values)


@SAVES
def test_npz_fortran_member_checks_and_inspects_like_its_c_copy(tmp_path, save):
    a = rng.normal(size=(300, 6)).astype(np.float32)
    a[5, 2], a[7, 1], a[:, 4] = np.nan, np.inf, 3.0
    for order, folder in (("C", tmp_path / "c"), ("F", tmp_path / "f")):
        folder.mkdir()
        save(folder / "d.npz", x=np.asarray(a, order=order))

    def facts(folder):
        path = folder / "d.npz"
        r = cli("check", "--json", path, "--chunk-size", "1KiB").json()
        (arr,) = r["arrays"].values()
        (entry,) = cli("inspect", "--json", path, "--chunk-size", "1KiB").json()["sources"][0]["entries"]  # fmt: skip
        return arr["stats"], entry["stats"], [(f["code"], f["evidence"]) for f in r["findings"]]

    c, f = facts(tmp_path / "c"), facts(tmp_path / "f")
    assert c == f and {"DS401", "DS402", "DS405"} <= {code for code, _ in c[2]}


def _npy_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def _patch_central_sizes(path, *, compressed: int | None = None, uncompressed: int | None = None):
    """Make the (only) central directory entry lie about the member's sizes."""
    data = bytearray(path.read_bytes())
    at = data.index(b"PK\x01\x02")
    if compressed is not None:
        struct.pack_into("<L", data, at + 20, compressed)
    if uncompressed is not None:
        struct.pack_into("<L", data, at + 24, uncompressed)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(("compression", "short_message"),
                         [("stored", "is truncated: its data would end at byte"),
                          ("deflated", "ended early: the member is truncated")])  # fmt: skip
def test_npz_fortran_members_damaged_are_clean_errors(tmp_path, compression, short_message):
    a = np.asfortranarray(np.arange(4000, dtype=np.float64).reshape(500, 8))
    raw = _npy_bytes(a)
    method = zipfile.ZIP_STORED if compression == "stored" else zipfile.ZIP_DEFLATED
    # a flipped byte in the data: the CRC-32 (or the deflate stream) catches it
    flipped = tmp_path / "flipped.npz"
    with zipfile.ZipFile(flipped, "w", method) as zf:
        zf.writestr("x.npy", raw)
    data = bytearray(flipped.read_bytes())
    data[len(data) // 2] ^= 0x40
    flipped.write_bytes(bytes(data))
    with pytest.raises(SourceError, match="Bad CRC-32"):
        dsdoctor.load(str(flipped)).read()
    assert_clean_error(run("check", flipped), "flipped.npz:x cannot be read")
    # the header declares 500 rows, the member holds 250, the directory claims room for them all
    short = tmp_path / "short.npz"
    with zipfile.ZipFile(short, "w", method) as zf:
        zf.writestr("x.npy", raw[: len(raw) - a.nbytes // 2])
    _patch_central_sizes(short, uncompressed=len(raw),
                         compressed=len(raw) if compression == "stored" else None)  # fmt: skip
    with pytest.raises(SourceError, match=short_message):
        dsdoctor.load(str(short)).read()
    assert_clean_error(run("inspect", short), "short.npz:x", short_message)


def test_npz_fortran_spill_goes_to_tmpdir_and_leaves_nothing(tmp_path, monkeypatch):
    """A compressed member is unpacked into an anonymous file in TMPDIR, closed however reading
    ends (here: the reader stops after one chunk)."""
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc/self/fd")
    spill = tmp_path / "spill"
    spill.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spill))
    a = np.asfortranarray(rng.random((400, 5)))
    np.savez_compressed(tmp_path / "f.npz", x=a)

    def files_in_spill():
        fds = Path("/proc/self/fd")
        return [t for fd in fds.iterdir() if (t := _readlink(fd)) and t.startswith(str(spill))]

    chunks = dsdoctor.load(str(tmp_path / "f.npz")).chunks(chunk_bytes=400)
    np.testing.assert_array_equal(next(chunks), a[:10])
    assert len(files_in_spill()) == 1 and os.listdir(spill) == []  # open, but it has no name
    chunks.close()
    assert files_in_spill() == [] and os.listdir(spill) == []


def _readlink(fd) -> str:
    try:
        return os.readlink(fd)
    except OSError:
        return ""


def test_npz_fortran_spill_that_cannot_be_written_says_set_tmpdir(tmp_path):
    """A file-size limit below the member's size stands in for a full temporary folder."""

    def limited():
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))

    np.savez_compressed(tmp_path / "f.npz", x=np.asfortranarray(np.zeros((100_000, 4))))
    p = subprocess.run([sys.executable, "-m", "dsdoctor", "check", str(tmp_path / "f.npz")],
                       capture_output=True, text=True, preexec_fn=limited,
                       env={**os.environ, "NO_COLOR": "1", "TMPDIR": str(tmp_path)})  # fmt: skip
    assert_clean_error(Result(p.returncode, p.stdout, p.stderr), "3,200,000 bytes", "set TMPDIR")


def test_npz_fortran_members_mutated_give_a_report_or_a_clean_error(tmp_path):
    """The fuzz seeds hold no Fortran-ordered npz member: mutate some (stored and deflated,
    narrow and wide) the way tests/test_fuzz.py does; anything but a report or a DsdoctorError
    is a bug."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fuzz"))
    from targets import mutate, run_one

    seeds = []
    for shape, dtype in [((40, 3), "<f4"), ((12, 2, 3), ">i2"), ((30, 4), "?"), ((3, 4100), "<f4")]:
        for save in (np.savez, np.savez_compressed):
            buf = io.BytesIO()
            save(buf, x=np.asfortranarray((rng.random(shape) * 5).astype(dtype)))
            seeds.append(buf.getvalue())
    mutations = np.random.default_rng(20261125)
    outcomes = {"report": 0, "error": 0}
    for i in range(240):
        data = mutate(seeds[i % len(seeds)], mutations)
        try:
            outcomes[run_one(data, "npz", str(tmp_path))] += 1
        except Exception as exc:
            (tmp_path / f"crash-{i}.npz").write_bytes(data)
            raise AssertionError(f"mutation {i}: {type(exc).__name__}: {exc}") from exc
    assert outcomes["report"] and outcomes["error"]


def test_csv_bad_row_named_when_pyarrow_numbers_it(tmp_path):
    """pyarrow's threaded reader says "Expected 3 columns, got 2" without the row (the file is
    then read again to find it: tests/test_cli.py); its serial reader prefixes "Row #4: ", which
    is used as it is, with the same message."""
    from dsdoctor.sources.csv import CsvSource

    path = tmp_path / "ok.csv"
    path.write_text("a,b,c\n1,2,3\n")
    source = CsvSource(path, str(path))
    error = source._error(
        pa.ArrowInvalid("CSV parse error: Row #4: Expected 3 columns, got 2: 7,8")
    )
    assert "row 4 has 2 fields where the header has 3 ('7,8')" in str(error), error


def test_csv_bad_row_that_is_not_utf8_is_one_clean_line(tmp_path):
    """A ragged row with undecodable bytes: one error line naming it, no traceback from a row
    handler that pyarrow could not call (it decodes the row's text first)."""
    path = tmp_path / "bad.csv"
    path.write_bytes(b"a,b,c\n1,2,3\n4,5,6\n\xfb7,8\n")
    assert_clean_error(run("check", path), "row 4 has 2 fields where the header has 3")
