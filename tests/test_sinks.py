"""Writers: every format round-trips through numpy, h5py and pyarrow; writes are atomic.

Real files only. The crash tests run a writer in a subprocess and kill it (SIGKILL, SIGTERM)
while it writes: the destination is then either absent or complete, never partial.
"""

from __future__ import annotations

import io
import json
import os
import random
import signal
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dsdoctor._version import __version__
from dsdoctor.errors import OutputError
from dsdoctor.sinks import (
    atomic_group,
    atomic_path,
    cleanup_temporaries,
    open_npy_writer,
    parse_destination,
    stream_arrays,
    write_arrays,
)
from dsdoctor.sinks.atomic import TEMP_MARKER, open_temporaries
from dsdoctor.sinks.hdf5 import CHUNK_BYTES, chunk_shape

PROVENANCE = {
    "operation": "pad",
    "options": {"maxlen": 4, "padding": "post", "value": np.float32(0.0)},
    "source": "train.parquet:tokens",
}
PROVENANCE_JSON = {
    "version": __version__,
    "operation": "pad",
    "options": {"maxlen": 4, "padding": "post", "value": 0.0},
    "source": "train.parquet:tokens",
}
OUTPUTS = ["x.npy", "x.npz", "x.h5", "x.h5:/train/seq", "x.hdf5", "x.parquet"]


def padded(n: int = 5, t: int = 4, f: int = 3, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, t + 1, size=n).astype(np.int64)
    mask = np.arange(t)[None, :] < lengths[:, None]
    data = (rng.standard_normal((n, t, f)) * mask[..., None]).astype(np.float32)
    return {"data": data, "mask": mask, "lengths": lengths}


def read_back(folder: Path, out: str) -> tuple[dict[str, np.ndarray], dict | None]:
    """Read an output with the ordinary readers: role → array, and the provenance record."""
    dest = parse_destination(out)
    path = folder / dest.path
    if dest.format == "npy":
        stem = path.name[: -len(".npy")]
        arrays = {"data": np.load(path, allow_pickle=False)}
        for sibling in sorted(folder.glob(f"{stem}.*.npy")):
            arrays[sibling.name[len(stem) + 1 : -len(".npy")]] = np.load(
                sibling, allow_pickle=False
            )
        side = folder / f"{stem}.dsdoctor.json"  # beside an output with a mask or lengths
        return arrays, json.loads(side.read_text()) if side.exists() else None
    if dest.format == "npz":
        with np.load(path, allow_pickle=False) as z:
            arrays = {name: z[name] for name in z.files}
        text = arrays.pop("provenance")
        assert text.shape == () and text.dtype.kind == "U"
        return arrays, json.loads(str(text))
    if dest.format == "hdf5":
        with h5py.File(path, "r") as f:
            main = f[dest.dataset]
            arrays = {"data": main[()]}
            for role in ("mask", "lengths"):
                if f"{dest.dataset}_{role}" in f:
                    arrays[role] = f[f"{dest.dataset}_{role}"][()]
            attrs = {k: v for k, v in main.attrs.items() if k.startswith("dsdoctor_")}
        record = {k[len("dsdoctor_") :]: v for k, v in attrs.items()}
        record["options"] = json.loads(record["options"]) if "options" in record else None
        return arrays, record
    table = pq.read_table(path)
    arrays = {name: column_to_numpy(table.column(name)) for name in table.column_names}
    return arrays, json.loads(table.schema.metadata[b"dsdoctor"])


def column_to_numpy(column: pa.ChunkedArray) -> np.ndarray:
    """Undo nested fixed_size_list: flatten to the values, reshape to (N, *inner)."""
    arr = column.combine_chunks()
    shape = [len(arr)]
    while pa.types.is_fixed_size_list(arr.type):
        shape.append(arr.type.list_size)
        arr = arr.flatten()
    return arr.to_numpy(zero_copy_only=False).reshape(shape)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if TEMP_MARKER in p.name)


def assert_same(got: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> None:
    assert set(got) == set(expected)
    for role, array in expected.items():
        assert got[role].dtype == array.dtype, role
        assert got[role].shape == array.shape, role
        np.testing.assert_array_equal(got[role], array, err_msg=role)


# ---- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize("out", OUTPUTS)
@pytest.mark.parametrize("compression", [None, "gzip"])
def test_round_trip(tmp_path, monkeypatch, out, compression):
    monkeypatch.chdir(tmp_path)
    if compression and out.endswith(".npy"):
        pytest.skip(".npy has no compression (tested below)")
    arrays = padded()
    written = write_arrays(
        out, arrays, main="data", force=False, provenance=PROVENANCE, compression=compression
    )
    assert all(p.exists() for p in written)
    got, record = read_back(tmp_path, out)
    assert_same(got, arrays)
    if out.endswith(".npy"):
        assert written == [Path(p) for p in
                           ("x.npy", "x.mask.npy", "x.lengths.npy", "x.dsdoctor.json")]  # fmt: skip
        # .npy has no metadata: the record is beside it, naming each role's file
        files = {"data": "x.npy", "mask": "x.mask.npy", "lengths": "x.lengths.npy"}
        assert record == {**PROVENANCE_JSON, "files": files}
    else:
        assert written == [parse_destination(out).path]
        assert record == PROVENANCE_JSON
    assert leftovers(tmp_path) == []


def test_npz_is_compressed_and_loads_without_pickle(tmp_path):
    arrays = {"data": np.zeros((1000, 50), np.float32)}
    write_arrays(tmp_path / "plain.npz", arrays, main="data", force=False, provenance={})
    write_arrays(
        tmp_path / "small.npz", arrays, main="data", force=False, provenance={}, compression="gzip"
    )
    assert (tmp_path / "small.npz").stat().st_size < (tmp_path / "plain.npz").stat().st_size / 10
    with np.load(tmp_path / "small.npz", allow_pickle=False) as z:
        assert z["provenance"].dtype.kind == "U"
        assert json.loads(str(z["provenance"])) == {"version": __version__}


def test_hdf5_layout_chunks_and_attributes(tmp_path):
    arrays = padded(n=20_000, t=16, f=4)
    write_arrays(
        f"{tmp_path}/x.h5:seq", arrays, main="data", force=False, provenance=PROVENANCE,
        compression="gzip",
    )  # fmt: skip
    with h5py.File(tmp_path / "x.h5", "r") as f:
        assert sorted(f) == ["seq", "seq_lengths", "seq_mask"]
        ds = f["seq"]
        assert ds.compression == "gzip"
        assert ds.chunks[1:] == (16, 4)
        assert 0.5 * CHUNK_BYTES <= np.prod(ds.chunks) * 4 <= CHUNK_BYTES
        assert ds.attrs["dsdoctor_version"] == __version__
        assert ds.attrs["dsdoctor_operation"] == "pad"
        assert ds.attrs["dsdoctor_source"] == "train.parquet:tokens"
        assert json.loads(ds.attrs["dsdoctor_options"])["maxlen"] == 4


def test_chunk_shape():
    assert chunk_shape((10, 3), 4) == (10, 3)  # smaller than one chunk: all rows
    assert chunk_shape((10**6, 256), 4) == (1024, 256)  # 1 MiB of rows
    assert chunk_shape((10, 1024, 1024), 8) == (1, 128, 1024)  # a row > 1 MiB is cut further
    assert chunk_shape((0, 3), 4) is None and chunk_shape((), 4) is None


def test_parquet_column_types(tmp_path):
    arrays = {"data": np.ones((3, 4, 2), np.float64), "mask": np.ones((3, 4), bool)}
    arrays["lengths"] = np.array([4, 4, 4])
    write_arrays(tmp_path / "x.parquet", arrays, main="data", force=False, provenance={})
    schema = pq.read_schema(tmp_path / "x.parquet")
    assert schema.field("data").type == pa.list_(pa.list_(pa.float64(), 2), 4)
    assert schema.field("mask").type == pa.list_(pa.bool_(), 4)
    assert schema.field("lengths").type == pa.int64()
    assert b"dsdoctor" in schema.metadata


DTYPES = st.sampled_from(["f2", "f4", "f8", "i1", "i4", "i8", "u1", "u8", "?", ">f4"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    array=DTYPES.flatmap(
        lambda dt: hnp.arrays(dt, hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5))
    ),
    ext=st.sampled_from(["npy", "npz", "h5", "parquet"]),
)
def test_round_trip_property(array, ext):
    """Any numeric dense array comes back equal (NaNs included) from any format."""
    with tempfile.TemporaryDirectory() as folder:
        out = f"{folder}/x.{ext}"
        write_arrays(out, {"data": array}, main="data", force=False, provenance={})
        got, _ = read_back(Path(folder), f"x.{ext}")
        assert got["data"].shape == array.shape
        assert got["data"].dtype.newbyteorder("=") == array.dtype.newbyteorder("=")
        np.testing.assert_array_equal(got["data"], array)


# ---- refusing to clobber, and bad destinations ---------------------------------------------


@pytest.mark.parametrize("out", OUTPUTS)
def test_existing_output_needs_force(tmp_path, monkeypatch, out):
    monkeypatch.chdir(tmp_path)
    path = parse_destination(out).path
    path.write_bytes(b"precious")
    with pytest.raises(OutputError, match=r"x\.\w+ exists; pass --force to replace it"):
        write_arrays(out, padded(), main="data", force=False, provenance=PROVENANCE)
    assert path.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no sibling, no temp

    write_arrays(out, padded(seed=1), main="data", force=True, provenance=PROVENANCE)
    got, _ = read_back(tmp_path, out)
    assert_same(got, padded(seed=1))
    assert leftovers(tmp_path) == []


def test_existing_sibling_needs_force(tmp_path):
    (tmp_path / "x.lengths.npy").write_bytes(b"precious")
    with pytest.raises(OutputError, match=r"x\.lengths\.npy exists"):
        write_arrays(tmp_path / "x.npy", padded(), main="data", force=False, provenance={})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.lengths.npy"]


def test_missing_folder(tmp_path):
    with pytest.raises(OutputError, match="does not exist; create the folder"):
        write_arrays(tmp_path / "no" / "x.npz", padded(), main="data", force=False, provenance={})
    assert not (tmp_path / "no").exists()


def test_unwritable_folder(readonly_folder):
    with pytest.raises(OutputError, match="is not writable"):
        write_arrays(readonly_folder / "x.h5", padded(), main="data", force=False, provenance={})
    assert list(readonly_folder.iterdir()) == []


def test_destination_is_a_directory(tmp_path):
    (tmp_path / "x.npy").mkdir()
    with pytest.raises(OutputError, match="is a directory"):
        write_arrays(tmp_path / "x.npy", padded(), main="data", force=True, provenance={})


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("x.csv", r"cannot write \.csv; name the output \.npy, \.npz, \.h5"),
        ("x", "cannot write a name without an extension"),
        ("x.npz:/data", "only HDF5 or Zarr outputs have"),
        ("x.h5:/grp/", "is not a dataset name"),
    ],
)
def test_unsupported_destinations(tmp_path, monkeypatch, out, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OutputError, match=message):
        write_arrays(out, padded(), main="data", force=False, provenance={})
    assert list(tmp_path.iterdir()) == []


def test_hdf5_selector_parsing():
    assert parse_destination("a/x.h5").dataset == "/data"
    assert parse_destination("a/x.h5:seq").dataset == "/seq"
    assert parse_destination("a/x.hdf5:/g/seq").path == Path("a/x.hdf5")


@pytest.mark.parametrize(
    ("out", "arrays", "kwargs", "message"),
    [
        ("x.npy", padded(), {"compression": "gzip"}, "cannot be compressed"),
        ("x.npz", padded(), {"compression": "lzma"}, "unknown compression 'lzma'"),
        ("x.npz", {"data": np.array([{}], dtype=object)}, {}, "object array"),
        ("x.npz", {"data": np.zeros(3), "provenance": np.zeros(3)}, {}, "reserved"),
        ("x.npz", {"data": np.zeros(3), "a/b": np.zeros(3)}, {}, "cannot name an output"),
        ("x.parquet", {"data": np.zeros(3), "lengths": np.zeros(2)}, {}, "data has 3 rows"),
        ("x.parquet", {"data": np.zeros((3, 0))}, {}, "empty inner axis"),
        ("x.parquet", {"data": np.zeros(3, np.complex128)}, {}, "Parquet cannot store data"),
        ("x.h5", {"data": np.zeros(3, "M8[ns]")}, {}, "HDF5 cannot store data"),
    ],
)
def test_unwritable_arrays_leave_nothing(tmp_path, monkeypatch, out, arrays, kwargs, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OutputError, match=message):
        write_arrays(out, arrays, main="data", force=False, provenance={}, **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_old_output(tmp_path):
    """HDF5 fails inside the temporary file (after the first dataset): the old file stays."""
    write_arrays(tmp_path / "x.h5", padded(), main="data", force=False, provenance={})
    before = (tmp_path / "x.h5").read_bytes()
    bad = {"data": np.zeros(3), "when": np.zeros(3, "M8[ns]")}
    with pytest.raises(OutputError, match="HDF5 cannot store when"):
        write_arrays(tmp_path / "x.h5", bad, main="data", force=True, provenance={})
    assert (tmp_path / "x.h5").read_bytes() == before
    assert leftovers(tmp_path) == []


def test_new_files_get_ordinary_permissions(tmp_path):
    umask = os.umask(0)
    os.umask(umask)
    write_arrays(tmp_path / "x.npy", padded(), main="data", force=False, provenance={})
    assert (tmp_path / "x.npy").stat().st_mode & 0o777 == 0o666 & ~umask


# ---- atomic machinery ------------------------------------------------------------------------


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_exception_inside_atomic_path_removes_temporary(tmp_path, error):
    dest = tmp_path / "x.bin"
    with pytest.raises(error), atomic_path(dest, force=False) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".x.bin.dsdoctor-tmp-")
        tmp.write_bytes(b"half")
        assert tmp in open_temporaries()
        raise error
    assert list(tmp_path.iterdir()) == []
    assert open_temporaries() == frozenset()


def test_atomic_group_checks_everything_first(tmp_path):
    dests = [tmp_path / "x.npy", tmp_path / "x.mask.npy", tmp_path / "x.lengths.npy"]
    dests[2].write_bytes(b"old")
    with (
        pytest.raises(OutputError, match=r"x\.lengths\.npy exists"),
        atomic_group(dests, force=False),
    ):
        pytest.fail("must not start writing")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.lengths.npy"]

    with atomic_group(dests, force=True) as temps:
        for tmp, text in zip(temps, [b"data", b"mask", b"lengths"], strict=True):
            tmp.write_bytes(text)
        assert not dests[0].exists() and dests[2].read_bytes() == b"old"
    assert [d.read_bytes() for d in dests] == [b"data", b"mask", b"lengths"]
    assert leftovers(tmp_path) == []


def test_cleanup_temporaries(tmp_path):
    with pytest.raises(SystemExit), atomic_path(tmp_path / "x.npy", force=False) as tmp:
        tmp.write_bytes(b"partial")
        assert cleanup_temporaries() == [tmp]
        assert not tmp.exists()
        raise SystemExit(143)  # what a SIGTERM handler does next
    assert list(tmp_path.iterdir()) == []


# ---- streaming ------------------------------------------------------------------------------


def stream_in_blocks(out, expected, sizes, **kwargs) -> list[Path]:
    """Stream ``expected`` (role → array, same rows) to ``out`` in blocks of ``sizes`` rows,
    checking at every block that the destination has not appeared yet."""
    specs = {role: (a.shape, a.dtype) for role, a in expected.items()}
    dest = parse_destination(out).path
    with stream_arrays(out, specs, main="data", force=False, provenance=PROVENANCE, **kwargs) as w:
        start = 0
        for size in sizes:
            w.write({role: a[start : start + size] for role, a in expected.items()})
            start += size
            assert not dest.exists()  # a reader halfway through sees nothing
    return w.paths


@pytest.mark.parametrize("out", OUTPUTS)
@pytest.mark.parametrize("compression", [None, "gzip"])
def test_stream_arrays_equals_the_in_memory_write(tmp_path, out, compression):
    """Blocks of uneven sizes (empty ones too) give the same arrays, members, columns and
    provenance as writing the arrays at once; the destination appears only at the end."""
    if compression and out.endswith(".npy"):
        pytest.skip(".npy has no compression")
    expected = padded(n=1000, t=6, f=2)
    streamed, whole = tmp_path / "streamed", tmp_path / "whole"
    streamed.mkdir(), whole.mkdir()
    paths = stream_in_blocks(
        f"{streamed}/{out}", expected, [1, 0, 299, 300, 400], compression=compression
    )
    assert all(p.exists() for p in paths)
    write_arrays(f"{whole}/{out}", expected, main="data", force=False, provenance=PROVENANCE,
                 compression=compression)  # fmt: skip
    got, record = read_back(streamed, out)
    assert_same(got, expected)
    in_memory, in_memory_record = read_back(whole, out)
    assert_same(got, in_memory)
    assert record == in_memory_record
    files = {"data": "x.npy", "mask": "x.mask.npy", "lengths": "x.lengths.npy"}
    assert record == (
        {**PROVENANCE_JSON, "files": files} if out.endswith(".npy") else PROVENANCE_JSON
    )
    assert leftovers(streamed) == [] and leftovers(whole) == []


def test_npz_members_are_what_savez_writes(tmp_path):
    """The members numpy's own ``savez`` would write: same names and order, same bytes, zip64
    local headers, deflated with gzip."""
    expected = padded(n=300)
    for compression, method in ((None, zipfile.ZIP_STORED), ("gzip", zipfile.ZIP_DEFLATED)):
        out = tmp_path / f"x-{compression}.npz"
        stream_in_blocks(out, expected, [100, 200], compression=compression)
        ref = tmp_path / "ref.npz"
        np.savez(ref, **expected)
        with zipfile.ZipFile(out) as z, zipfile.ZipFile(ref) as r:
            names = [i.filename for i in z.infolist()]
            assert names == ["data.npy", "mask.npy", "lengths.npy", "provenance.npy"]
            assert {i.compress_type for i in z.infolist()} == {method}
            for name in names[:-1]:
                assert z.read(name) == r.read(name), name
        raw = out.read_bytes()
        for info in zipfile.ZipFile(out).infolist():  # local header: extra field holds zip64
            name_len, extra_len = struct.unpack(
                "<HH", raw[info.header_offset + 26 : info.header_offset + 30]
            )
            extra = raw[
                info.header_offset + 30 + name_len : info.header_offset + 30 + name_len + extra_len
            ]
            assert extra[:2] == b"\x01\x00", info.filename  # fmt: skip


def test_npz_siblings_spool_to_disk_without_a_trace(tmp_path, monkeypatch):
    """Siblings larger than the spool budget move to anonymous temporary files: nothing but the
    output's own temporary is ever visible in the folder."""
    from dsdoctor.sinks import npz

    monkeypatch.setattr(npz, "SPOOL_BYTES", 100)
    monkeypatch.setattr(npz, "COPY_BYTES", 7)
    expected = padded(n=2000, t=5, f=1)
    specs = {role: (a.shape, a.dtype) for role, a in expected.items()}
    with stream_arrays(tmp_path / "x.npz", specs, main="data", force=False, provenance={}) as w:
        for start in range(0, 2000, 500):
            w.write({role: a[start : start + 500] for role, a in expected.items()})
            assert [p.name.split(TEMP_MARKER)[0] for p in tmp_path.iterdir()] == [".x.npz"]
    got, _ = read_back(tmp_path, "x.npz")
    assert_same(got, expected)


@pytest.mark.parametrize(
    ("shape", "dtype"),
    [((), "f8"), ((0, 3), "i1"), ((7, 2, 5), ">i4"), ((3,), "U5"), ((2,), "M8[ns]"),
     ((10**12, 4), "f4"), ((2,), [(f"field{i}", "f4") for i in range(4000)])],
)  # fmt: skip
def test_npy_header_is_numpys(shape, dtype):
    """The header numpy writes for the same shape and dtype: 1.0, or 2.0 when 1.0 is too short."""
    from dsdoctor.sinks.npy import npy_header

    dtype = np.dtype(dtype)
    small = np.broadcast_to(np.zeros((), dtype), shape) if np.prod(shape) < 10**6 else None
    header = npy_header(parse_destination("x.npz"), "data", shape, dtype)
    if small is not None:
        buffer = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numpy warns when it needs format 2.0
            np.lib.format.write_array(buffer, np.asarray(small, order="C"))
        assert buffer.getvalue()[: len(header)] == header
    version = np.lib.format.read_magic(io.BytesIO(header))
    read = (
        np.lib.format.read_array_header_1_0
        if version == (1, 0)
        else np.lib.format.read_array_header_2_0
    )
    assert read(io.BytesIO(header[8:]), max_header_size=len(header)) == (shape, False, dtype)  # fmt: skip


@pytest.mark.parametrize("out", ["x.npy", "x.npz"])
def test_field_names_beyond_latin1_are_refused(tmp_path, out):
    """numpy would need .npy format 3.0, which has no public header writer."""
    with pytest.raises(OutputError, match="not Latin-1"):
        write_arrays(tmp_path / out, {"data": np.zeros(2, [("名", "f4")])}, main="data",
                     force=False, provenance={})  # fmt: skip
    assert list(tmp_path.iterdir()) == []


def test_open_npy_writer_replaces_only_at_the_end(tmp_path):
    dest = tmp_path / "x.npy"
    np.save(dest, np.zeros(4))
    with open_npy_writer(dest, (100, 3), np.float32, force=True) as arr:
        assert isinstance(arr, np.memmap)
        arr[:] = 7
        np.testing.assert_array_equal(np.load(dest), np.zeros(4))  # old output still whole
    np.testing.assert_array_equal(np.load(dest), np.full((100, 3), 7, np.float32))


@pytest.mark.parametrize("out", OUTPUTS)
@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_stream_failure_leaves_nothing(tmp_path, monkeypatch, out, error):
    from dsdoctor.sinks import npz

    monkeypatch.setattr(npz, "SPOOL_BYTES", 10)  # the npz siblings are on disk by then
    monkeypatch.chdir(tmp_path)
    expected = padded(n=100)
    specs = {role: (a.shape, a.dtype) for role, a in expected.items()}
    with (
        pytest.raises(error),
        stream_arrays(out, specs, main="data", force=False, provenance={}) as w,
    ):
        w.write({role: a[:50] for role, a in expected.items()})
        raise error
    assert list(tmp_path.iterdir()) == []
    assert open_temporaries() == frozenset()


@pytest.mark.parametrize("out", OUTPUTS)
def test_stream_checks_the_row_counts(tmp_path, monkeypatch, out):
    """More rows than declared are refused when they arrive, fewer at the end; nothing is
    left behind either way."""
    monkeypatch.chdir(tmp_path)
    specs = {"data": ((10, 2), "f4"), "lengths": ((10,), "i8")}
    block = {"data": np.ones((6, 2)), "lengths": np.ones(6)}
    with (
        pytest.raises(OutputError, match="data has 10 rows, but 12 were given"),
        stream_arrays(out, specs, main="data", force=False, provenance={}) as w,
    ):
        w.write(block)
        w.write(block)
    with (
        pytest.raises(OutputError, match="data was given 6 of its 10 rows; nothing was written"),
        stream_arrays(out, specs, main="data", force=False, provenance={}) as w,
    ):
        w.write(block)
    with (
        pytest.raises(OutputError, match="no output array named 'mask'"),
        stream_arrays(out, specs, main="data", force=False, provenance={}) as w,
    ):
        w.write({"mask": np.ones(3)})
    assert list(tmp_path.iterdir()) == []


def test_parquet_blocks_carry_every_column(tmp_path):
    specs = {"data": ((10, 2), "f4"), "lengths": ((10,), "i8")}
    with (
        pytest.raises(OutputError, match="6 rows of data, 5 rows of lengths"),
        stream_arrays(tmp_path / "x.parquet", specs, main="data", force=False, provenance={}) as w,
    ):
        w.write({"data": np.ones((6, 2)), "lengths": np.ones(5)})
    assert list(tmp_path.iterdir()) == []


def test_parquet_row_groups_follow_the_blocks(tmp_path):
    expected = padded(n=1000)
    stream_in_blocks(tmp_path / "x.parquet", expected, [400, 0, 600], compression="gzip")
    meta = pq.ParquetFile(tmp_path / "x.parquet").metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [400, 600]
    assert meta.row_group(0).column(0).compression == "GZIP"


# ---- crashes: a real process killed while it writes -----------------------------------------

N_BIG = 25_000_000  # int64: 200 MB
WRITER = textwrap.dedent(
    """
    import signal, sys, time
    import numpy as np
    from dsdoctor.sinks import cleanup_temporaries, open_npy_writer

    def on_term(signum, frame):
        cleanup_temporaries()
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    out, n, step = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with open_npy_writer(out, (n,), np.int64, force=False) as arr:
        for start in range(0, n, step):
            arr[start : start + step] = np.arange(start, min(start + step, n))
            print("chunk", flush=True)
            time.sleep(0.01)
        print("filled", flush=True)
    print("done", flush=True)
    """
)


def start_writer(folder: Path, n: int = N_BIG, chunks: int = 20) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(folder / "big.npy"), str(n), str(-(-n // chunks))],
        stdout=subprocess.PIPE,
        text=True,
    )


def assert_absent_or_complete(dest: Path, context: str, n: int = N_BIG) -> bool:
    """The destination is absent, or a whole .npy equal to arange(n). True if present."""
    if not dest.exists():
        return False
    loaded = np.load(dest, mmap_mode="r", allow_pickle=False)
    assert loaded.shape == (n,) and loaded.dtype == np.int64, context
    for start in range(0, n, 5_000_000):
        stop = min(start + 5_000_000, n)
        assert np.array_equal(loaded[start:stop], np.arange(start, stop)), f"partial: {context}"
    return True


@pytest.mark.slow
def test_sigkill_never_leaves_a_partial_output(tmp_path):
    seed = int.from_bytes(os.urandom(4), "little")
    rng = random.Random(seed)
    # A full run first: it must succeed, and its duration spreads the kill moments.
    started = time.monotonic()
    full = start_writer(tmp_path)
    assert full.wait(timeout=60) == 0
    full.stdout.close()
    duration = time.monotonic() - started
    assert assert_absent_or_complete(tmp_path / "big.npy", "uninterrupted run")

    # Kill at random moments over the whole run, and in the fsync/rename window after "filled".
    moments = [("start", rng.uniform(0.05, 1.1 * duration)) for _ in range(3)]
    moments += [("filled", rng.uniform(0.0, 0.4)) for _ in range(2)]
    for i, (after, delay) in enumerate(moments):
        folder = tmp_path / f"run{i}"
        folder.mkdir()
        proc = start_writer(folder)
        if after == "filled":
            for line in proc.stdout:
                if line.strip() == "filled":
                    break
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
        context = f"seed={seed}, killed {delay:.3f}s after {after} (full run {duration:.2f}s)"
        names = {p.name for p in folder.iterdir()}
        temporaries = {name for name in names if name.startswith(".big.npy" + TEMP_MARKER)}
        assert names - temporaries <= {"big.npy"}, context
        assert_absent_or_complete(folder / "big.npy", context)
        for name in names:  # temporaries may stay after SIGKILL; free the disk
            (folder / name).unlink()


def test_sigterm_handler_removes_temporaries(tmp_path):
    proc = start_writer(tmp_path, n=2_000_000, chunks=200)
    assert proc.stdout.readline().strip() == "chunk"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    proc.stdout.close()
    assert list(tmp_path.iterdir()) == []


def test_import_does_not_load_h5py_or_pyarrow():
    code = "import sys, dsdoctor.sinks; print(sorted({'h5py', 'pyarrow'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_an_output_naming_one_dataset_of_an_hdf5_file_says_the_whole_file_is_replaced(tmp_path):
    import h5py

    path = tmp_path / "t.h5"
    with h5py.File(path, "w") as f:
        f["x"] = np.zeros((3, 2))
        f["g/y"] = np.arange(3)
    with pytest.raises(
        OutputError, match=r"holds 2 array\(s\) \(/g/y, /x\); dsdoctor writes a whole new file"
    ):
        write_arrays(f"{path}:/z", padded(), main="data", force=False, provenance=PROVENANCE)
    with h5py.File(path, "r") as f:
        assert sorted(f) == ["g", "x"]
