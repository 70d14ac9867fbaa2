"""Compressed single files: ``.npy.gz/.bz2/.xz/.zst`` streamed (the header first, then rows into
a reused buffer; no temporary copy) and ``.csv.gz`` read in bounded memory. Files are written by
``np.save`` through Python's gzip, bz2 and lzma and the zstandard package."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import time

import numpy as np
import pytest

import dsdoctor
from dsdoctor.errors import SourceError

from .conftest import FIXTURES, assert_clean_error, cli, run
from .test_scale import _peak_rss_mb

zstandard = pytest.importorskip("zstandard")

RNG = np.random.default_rng(0)
X = RNG.normal(size=(29, 3))
COMPRESS = {".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress,
            ".zst": lambda b: zstandard.ZstdCompressor().compress(b)}  # fmt: skip


def _npy_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def _save(path, a: np.ndarray):
    path.write_bytes(COMPRESS[path.suffix](_npy_bytes(a)))
    return path


@pytest.mark.parametrize("suffix", COMPRESS)
@pytest.mark.parametrize(
    "array",
    [X, np.arange(10, dtype=np.int16), np.array([True, False, True]), np.array(2.5),
     np.zeros((0, 4), np.float32), np.array(["cat", "dog", "cat"])],
    ids=["float", "int", "bool", "scalar", "empty", "text"],
)  # fmt: skip
def test_every_compression_reads_exactly(tmp_path, suffix, array):
    path = _save(tmp_path / f"a.npy{suffix}", array)
    h = dsdoctor.load(str(path))
    assert h.format == "npy" and h.shape == array.shape and h.layout["compression"]
    np.testing.assert_array_equal(h.read(), array)


def test_rows_come_in_bounded_chunks_and_each_pass_starts_again(tmp_path):
    big = RNG.normal(size=(4096, 16)).astype(np.float32)
    h = dsdoctor.load(str(_save(tmp_path / "big.npy.gz", big)))
    for _ in range(2):  # a second pass decompresses again from the start
        chunks = [c.copy() for c in h.chunks(chunk_bytes=16 * 1024)]
        assert len(chunks) == 16 and max(c.nbytes for c in chunks) <= 16 * 1024
        np.testing.assert_array_equal(np.concatenate(chunks), big)


def test_opening_reads_the_header_only(tmp_path):
    """A header declaring 8 TB opens at once (shape and dtype known); reading it finds that the
    stream ends long before."""
    header = np.lib.format.header_data_from_array_1_0(np.zeros((1, 8)))
    header["shape"] = (10**12, 8)
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    path = tmp_path / "huge.npy.gz"
    path.write_bytes(gzip.compress(buf.getvalue() + bytes(4096)))
    start = time.perf_counter()
    h = dsdoctor.load(str(path))
    assert h.shape == (10**12, 8) and time.perf_counter() - start < 1
    with pytest.raises(SourceError, match="ended early"):
        for _ in h.chunks():
            pass


def test_object_arrays_are_never_unpickled_without_allow_pickle(tmp_path):
    seqs = np.empty(2, dtype=object)
    seqs[0], seqs[1] = [1, 2], [3]
    path = tmp_path / "o.npy.gz"
    buf = io.BytesIO()
    np.save(buf, seqs, allow_pickle=True)
    path.write_bytes(gzip.compress(buf.getvalue()))
    h = dsdoctor.load(str(path))
    assert h.unsafe and h.pickled
    h = dsdoctor.load(str(path), allow_pickle=True)
    assert h.ragged and h.read().lengths.tolist() == [2, 1]


# -- the seed cases ---------------------------------------------------------------------------
def test_29_inputs_and_1_target(tmp_path):
    x = _save(tmp_path / "x.npy.gz", X)
    y = _save(tmp_path / "y.npy.gz", np.array([1]))
    r = run("check", x, y)
    assert r.code == 1, r.stdout + r.stderr
    assert f"{x} has 29 samples but {y} has 1" in r.stdout


def test_width_and_rank(tmp_path):
    x = _save(tmp_path / "x.npy.xz", X)
    codes = [
        f["code"] for f in cli("check", "--x", x, "--features", "4", "--json").json()["findings"]
    ]
    assert "DS201" in codes
    codes = [
        f["code"]
        for f in cli("check", "--x", x, "--input-shape", "3,1", "--json").json()["findings"]
    ]
    assert "DS202" in codes


def test_a_repaired_output_reads_back_and_drops_the_compression_from_its_name(tmp_path):
    y = _save(tmp_path / "y.npy.gz", np.array([1]))
    r = run("check", _save(tmp_path / "x.npy.gz", X), y)
    fix = next(line for line in r.stdout.splitlines() if "dsdoctor replicate" in line)
    assert "y.replicated.npy" in fix and ".gz" not in fix.rsplit(" -o ", 1)[1]
    out = tmp_path / "y29.npy"
    assert run("replicate", y, "--to", "29", "-o", out).code == 0
    np.testing.assert_array_equal(np.load(out), np.ones(29, dtype=np.int64))


# -- bad input --------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", COMPRESS)
def test_a_truncated_stream_is_one_line_and_nothing_is_written(tmp_path, suffix):
    path = _save(tmp_path / f"t.npy{suffix}", RNG.normal(size=(2000, 8)))
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    out = tmp_path / "out.npy"
    assert_clean_error(run("check", path), str(path), "truncated")
    assert_clean_error(run("replicate", path, "--to", "4000", "-o", out), str(path))
    assert not out.exists()


@pytest.mark.parametrize("where", ["middle", "crc"])
def test_a_damaged_stream_is_one_line(tmp_path, where):
    """Garbage in the middle, or only the checksum at the end wrong (the data decodes, to values
    that are not the array's): the stream is read to its end, where the checksum is verified."""
    path = _save(tmp_path / "d.npy.gz", RNG.normal(size=(2000, 8)))
    data = bytearray(path.read_bytes())
    if where == "middle":
        data[len(data) // 2 : len(data) // 2 + 64] = bytes(64)
    else:
        data[-8] ^= 0xFF  # gzip's trailer: CRC-32, then the size
    path.write_bytes(bytes(data))
    assert_clean_error(run("check", path), str(path))


def test_a_file_not_compressed_as_its_name_says(tmp_path):
    path = tmp_path / "plain.npy.gz"
    path.write_bytes(_npy_bytes(X))
    assert_clean_error(run("check", path), "is not gzip-compressed")
    path = tmp_path / "text.npy.bz2"
    path.write_bytes(bz2.compress(b"hello, not an array"))
    assert_clean_error(run("check", path), "not a valid .npy file")


def test_fortran_order_is_refused_with_the_command_that_decompresses(tmp_path):
    path = _save(tmp_path / "f.npy.zst", np.asfortranarray(X))
    assert_clean_error(run("check", path), "Fortran-ordered", "zstd -d")


# -- memory -----------------------------------------------------------------------------------
def test_npy_gz_memory_is_bounded_by_the_chunk(tmp_path):
    """A 256 MiB array in a .npy.gz is checked with 16 MiB chunks in far less than its size."""
    rows = 256 * 1024**2 // (64 * 4)
    path = tmp_path / "big.npy.gz"
    block = np.zeros((rows // 64, 64), dtype=np.float32)
    block[::97] = 1.0
    with gzip.open(path, "wb", compresslevel=1) as fp:
        np.lib.format.write_array_header_1_0(
            fp, {"descr": "<f4", "fortran_order": False, "shape": (rows, 64)}
        )
        for _ in range(64):
            fp.write(block.tobytes())
    _, small = _peak_rss_mb(["inspect", str(FIXTURES / "healthy/x.npy")])
    code, big = _peak_rss_mb(["check", str(path), "--chunk-size", "16MiB"])
    assert code in (0, 1)
    assert big - small < 80, (big, small)


def test_csv_gz_memory_is_bounded_by_its_blocks_not_the_file(tmp_path):
    """A 400 MB CSV, gzip-compressed, is read a block at a time by pyarrow's stream."""
    row = b",".join(b"%d.25" % i for i in range(16)) + b"\n"
    block = row * (4 * 1024**2 // len(row))
    path = tmp_path / "big.csv.gz"
    with gzip.open(path, "wb", compresslevel=1) as fp:
        fp.write(b",".join(b"c%d" % i for i in range(16)) + b"\n")
        for _ in range(100):
            fp.write(block)
    _, small = _peak_rss_mb(["inspect", str(FIXTURES / "sequences.parquet")])  # + pyarrow
    code, big = _peak_rss_mb(["check", str(path), "--chunk-size", "8MiB"])
    assert code in (0, 1)
    assert big - small < 250, (big, small)


def test_a_folder_of_compressed_x_and_y_files_pairs_them(tmp_path):
    _save(tmp_path / "x.npy.gz", X)
    _save(tmp_path / "y.npy.gz", np.array([1]))
    r = run("check", tmp_path)
    assert r.code == 1 and "named as inputs and targets" in r.stdout, r.stdout + r.stderr
