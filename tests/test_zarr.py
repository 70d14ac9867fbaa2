"""Zarr stores, v2 and v3, written by the zarr package itself (and by xarray): groups as containers
with selectors, the seed cases npy has, reads in whole chunk bands, every repair's ``-o out.zarr``
read back by zarr and by dsdoctor, atomic outputs, and damaged stores refused in one line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

zarr = pytest.importorskip("zarr")

import dsdoctor  # noqa: E402
from dsdoctor.errors import SourceError  # noqa: E402
from dsdoctor.sinks import stream_arrays  # noqa: E402
from dsdoctor.sinks.provenance import read_provenance  # noqa: E402
from dsdoctor.sources import open_source  # noqa: E402
from dsdoctor.sources.base import FillRows  # noqa: E402

from .conftest import assert_clean_error, cli, run  # noqa: E402

FORMATS = pytest.mark.parametrize("fmt", [2, 3], ids=["v2", "v3"])


def store(path: Path, fmt: int, arrays: dict[str, np.ndarray], chunks: int | None = None) -> Path:
    """A store written by zarr: each ``name`` (``grp/name`` inside a group) holds its array."""
    root = zarr.open_group(path, mode="w", zarr_format=fmt)
    for name, data in arrays.items():
        rows = chunks or max(1, len(data))
        a = root.create_array(name, shape=data.shape, dtype=data.dtype,
                              chunks=(rows, *data.shape[1:]) if data.ndim else ())  # fmt: skip
        a[...] = data
    return path


def ragged_store(path: Path, fmt: int, seqs: list[np.ndarray], name: str = "seq") -> Path:
    offsets = np.concatenate([[0], np.cumsum([len(s) for s in seqs])]).astype(np.int64)
    return store(path, fmt, {name: np.concatenate(seqs), f"{name}_offsets": offsets})


def names(*args) -> set[str]:
    r = cli("check", "--json", *args)
    assert r.code in (0, 1), (r.code, r.stderr)
    return {f["name"] for f in r.json()["findings"]}


# -- reading -------------------------------------------------------------------------------------
@FORMATS
def test_inspect_lists_the_tree_with_shapes_chunks_and_codecs_without_reading(tmp_path, fmt):
    x = np.arange(116, dtype=np.float32).reshape(29, 4)
    p = store(tmp_path / "s.zarr", fmt, {"train/x": x, "train/y": np.arange(29), "note": np.zeros(3)},
              chunks=10)  # fmt: skip
    r = cli("inspect", "--json", "--no-stats", p)
    assert r.code == 0, r.stderr
    entries = {e["path"]: e for e in r.json()["sources"][0]["entries"]}
    assert entries["/train"]["kind"] == "group"
    arr = entries["/train/x"]
    assert arr["shape"] == [29, 4] and arr["dtype"] == "float32" and arr["format"] == "zarr"
    assert arr["layout"]["chunks"] == [10, 4] and arr["layout"]["zarr_format"] == fmt
    np.testing.assert_array_equal(dsdoctor.load(f"{p}:/train/x").read(), x)
    np.testing.assert_array_equal(dsdoctor.load(f"{p}:train/x").read(), x)  # no leading slash


@FORMATS
def test_reads_go_in_whole_bands_of_the_chunk_rows_and_give_the_data_back(tmp_path, fmt):
    x = np.random.default_rng(0).normal(size=(1000, 16)).astype(np.float32)
    p = store(tmp_path / "s.zarr", fmt, {"x": x}, chunks=64)
    h = dsdoctor.load(str(p))
    row = 16 * 4
    parts = list(h.chunks(chunk_bytes=200 * row))  # room for 3 bands of 64 rows
    assert [len(c) for c in parts[:-1]] == [192] * (len(parts) - 1)
    np.testing.assert_array_equal(np.concatenate(parts), x)
    small = list(h.chunks(chunk_bytes=10 * row))  # a band is larger: bounded parts of it
    assert max(len(c) for c in small) <= 10
    np.testing.assert_array_equal(np.concatenate(small), x)


def test_a_store_that_is_one_array_and_a_zip_store(tmp_path):
    x = np.arange(12.0).reshape(4, 3)
    a = zarr.create_array(tmp_path / "a.zarr", shape=x.shape, dtype=x.dtype)
    a[:] = x
    np.testing.assert_array_equal(dsdoctor.load(str(tmp_path / "a.zarr")).read(), x)
    bare = tmp_path / "bare"  # a store without the .zarr name: its metadata says what it is
    shutil.copytree(tmp_path / "a.zarr", bare)
    np.testing.assert_array_equal(dsdoctor.load(str(bare)).read(), x)
    with zarr.storage.ZipStore(tmp_path / "z.zarr.zip", mode="w") as zs:
        g = zarr.open_group(zs, mode="w")
        g.create_array("x", shape=x.shape, dtype=x.dtype)[:] = x
    np.testing.assert_array_equal(dsdoctor.load(f"{tmp_path / 'z.zarr.zip'}:/x").read(), x)


@FORMATS
def test_text_labels_are_categories(tmp_path, fmt):
    root = zarr.open_group(tmp_path / "t.zarr", mode="w", zarr_format=fmt)
    root.create_array("label", shape=(4,), dtype=str)[:] = ["cat", "dog", "cat", "bird"]
    root.create_array("x", shape=(4, 2), dtype="f4")[:] = 1
    assert "string-labels" in names(tmp_path / "t.zarr")


@pytest.mark.filterwarnings("ignore:Consolidated metadata")  # xarray's, when it writes v3
def test_an_xarray_dataset_is_read_with_its_dimension_names(tmp_path):
    xr = pytest.importorskip("xarray")
    ds = xr.Dataset(
        {
            "x": (("sample", "feature"), np.random.rand(29, 3)),
            "y": (("sample",), np.arange(1.0, 30)),
        }
    )
    ds.to_zarr(tmp_path / "ds.zarr", mode="w")
    h = dsdoctor.load(f"{tmp_path / 'ds.zarr'}:/x")
    assert h.shape == (29, 3) and h.layout["dims"] == ["sample", "feature"]
    np.testing.assert_array_equal(h.read(), ds["x"].values)


@FORMATS
def test_bands_with_no_stored_chunk_are_the_fill_value_zarr_did_not_write(tmp_path, fmt):
    """zarr writes no chunk that holds only the fill value (``write_empty_chunks=False``, its
    default): such rows are data, read as the fill value without reading anything, and no
    finding; the layout says how many chunks are implicit."""
    a = zarr.create_array(tmp_path / "p.zarr", shape=(100, 4), chunks=(10, 4), dtype="f4",
                          fill_value=-1.0, zarr_format=fmt)  # fmt: skip
    a[:30] = 1.0
    a[60:70] = 2.0
    a[30:40] = -1.0  # written by the user, but all fill value: zarr stores nothing
    h = dsdoctor.load(str(tmp_path / "p.zarr"))
    parts = list(h.runs())
    fills = [p for p in parts if isinstance(p, FillRows)]
    assert [p.count for p in fills] == [30, 30] and not any(p.unwritten for p in fills)
    np.testing.assert_array_equal(h.read(), a[:])  # the same rows zarr reads
    assert "6 of 10 bands of chunks are not stored" in h.layout["implicit_chunks"]
    r = cli("check", "--json", tmp_path / "p.zarr")
    assert "unwritten-data" not in {f["name"] for f in r.json()["findings"]}
    r = cli("inspect", "--json", tmp_path / "p.zarr")
    (entry,) = r.json()["sources"][0]["entries"]
    assert "implicit_chunks" in entry["layout"]


def test_a_declared_petabyte_with_three_rows_written_is_checked_in_constant_time(tmp_path):
    a = zarr.create_array(tmp_path / "h.zarr", shape=(10**15, 4), chunks=(1, 4), dtype="f4")
    a[5:7] = 1.0
    a[10] = 2.0
    r = run("check", "--json", tmp_path / "h.zarr", timeout=60)
    assert r.code in (0, 1), r.stderr
    assert "unwritten-data" not in {f["name"] for f in r.json()["findings"]}
    ((_, described),) = r.json()["arrays"].items()
    assert described["shape"][0] == 10**15


def test_a_sharded_array_is_read_by_shards(tmp_path):
    x = np.arange(400, dtype=np.float32).reshape(100, 4)
    a = zarr.create_array(tmp_path / "s.zarr", shape=x.shape, chunks=(10, 4), shards=(20, 4),
                          dtype=x.dtype)  # fmt: skip
    a[:] = x
    np.testing.assert_array_equal(dsdoctor.load(str(tmp_path / "s.zarr")).read(), x)
    assert "unwritten-data" not in names(tmp_path / "s.zarr")


# -- the seed cases --------------------------------------------------------------------------------
@FORMATS
def test_29_against_1_in_one_store_and_across_two(tmp_path, fmt):
    x, y = np.random.rand(29, 4).astype(np.float32), np.zeros(1)
    one = store(tmp_path / "xy.zarr", fmt, {"x": x, "y": y})
    r = cli("check", one)
    assert r.code == 1 and "has 29 samples but" in r.stdout and "has 1" in r.stdout, r.stdout
    a, b = store(tmp_path / "a.zarr", fmt, {"x": x}), store(tmp_path / "b.zarr", fmt, {"y": y})
    r = cli("check", "--x", f"{a}:/x", "--y", f"{b}:/y")
    assert r.code == 1 and "sample-count-mismatch" in {f["name"] for f in
                                                        cli("check", "--json", "--x", f"{a}:/x", "--y", f"{b}:/y").json()["findings"]}  # fmt: skip


@FORMATS
def test_feature_width_and_rank_against_the_model(tmp_path, fmt):
    p = store(tmp_path / "x.zarr", fmt, {"x": np.random.rand(10, 4).astype(np.float32)})
    assert "feature-width-mismatch" in names("--x", p, "--features", "3")
    assert "feature-width-mismatch" not in names("--x", p, "--features", "4")
    assert "rank-mismatch" in names("--x", p, "--input-shape", "(None, 5, 4)")


@FORMATS
def test_ragged_values_and_offsets_with_a_pad_collision(tmp_path, fmt):
    seqs = [np.array([3, 0, 5]), np.array([1, 2, 3, 4, 5, 6]), np.array([7])]
    p = ragged_store(tmp_path / "r.zarr", fmt, seqs)
    h = dsdoctor.load(f"{p}:/seq")
    assert h.ragged and h.shape == (3, None)
    assert [list(s) for s in _sequences(h.read())] == [list(s) for s in seqs]
    assert {"ragged-sequences", "mask-value-collision"} <= names(p)
    out = tmp_path / "padded.zarr"
    r = cli("pad", f"{p}:/seq", "--maxlen", "6", "--value", "-1", "-o", out)
    assert r.code == 0, r.stderr
    g = zarr.open_group(out, mode="r")
    assert g["data"].shape == (3, 6) and g["data_mask"][:].sum() == 10


def _sequences(r):
    return [r.values[r.offsets[i] : r.offsets[i + 1]] for i in range(len(r.offsets) - 1)]


def test_offsets_that_do_not_fit_their_values_are_refused(tmp_path):
    p = store(tmp_path / "r.zarr", 3, {"seq": np.arange(5), "seq_offsets": np.array([0, 2, 9])})
    assert_clean_error(cli("check", p), "seq_offsets covers 9 values but", "holds 5")


def test_selecting_a_group_or_a_missing_array_names_what_is_there(tmp_path):
    p = store(tmp_path / "s.zarr", 3, {"g/x": np.zeros((2, 2)), "g/y": np.zeros(2)})
    assert_clean_error(cli("inspect", f"{p}:/g"), "is a group, not an array", "/g/x")
    assert_clean_error(cli("inspect", f"{p}:/nope"), "has no array '/nope'", "/g/x")


# -- writing -----------------------------------------------------------------------------------------
def test_pad_writes_a_store_zarr_and_dsdoctor_read_back_with_provenance(tmp_path):
    seqs = [np.arange(1, n + 1) for n in (3, 5, 2, 7)]
    src = ragged_store(tmp_path / "in.zarr", 2, seqs)
    out = tmp_path / "out.zarr"
    assert cli("pad", f"{src}:/seq", "--maxlen", "8", "-o", out).code == 0
    g = zarr.open_group(out, mode="r")
    assert g.metadata.zarr_format == 3
    data, mask, lengths = g["data"][:], g["data_mask"][:], g["data_lengths"][:]
    assert data.shape == (4, 8) and mask.dtype == bool and lengths.tolist() == [3, 5, 2, 7]
    assert [list(row[m]) for row, m in zip(data, mask, strict=True)] == [list(s) for s in seqs]
    assert g["data"].attrs["dsdoctor_operation"] == "pad"
    assert json.loads(g["data"].attrs["dsdoctor_options"])["maxlen"] == 8
    record = read_provenance(str(out))
    assert record is not None and record["operation"] == "pad" and record["role"] == "data"
    np.testing.assert_array_equal(dsdoctor.load(f"{out}:/data").read(), data)
    assert dsdoctor.load(f"{out}:/data_mask").not_data == "mask"
    assert "ragged-sequences" not in names(out)  # the mask and lengths are known, not data


def test_replicate_into_a_group_of_a_new_store(tmp_path):
    np.save(tmp_path / "y.npy", np.array([7]))
    out = f"{tmp_path / 'r.zarr'}:/labels/y"
    r = cli("replicate", tmp_path / "y.npy", "--to", "29", "-o", out)
    assert r.code == 0, r.stderr
    g = zarr.open_group(tmp_path / "r.zarr", mode="r")
    assert g["labels/y"][:].tolist() == [7] * 29
    assert dsdoctor.load(out).provenance["operation"] == "replicate"


def test_bucket_writes_one_store_with_a_group_per_bucket(tmp_path):
    rng = np.random.default_rng(3)
    seqs = [rng.integers(1, 9, size=n) for n in rng.integers(1, 30, size=40)]
    src = ragged_store(tmp_path / "in.zarr", 3, seqs)
    out = tmp_path / "b.zarr"
    r = cli("bucket", f"{src}:/seq", "--buckets", "3", "--for", "torch", "-o", out, "--json")
    assert r.code == 0, r.stderr
    assert r.json()["outputs"] == [f"{out}:/bucket_{k}/data" for k in range(3)]
    g = zarr.open_group(out, mode="r")
    summary = json.loads(g.attrs["dsdoctor_buckets"])
    assert [b["count"] for b in summary["buckets"]] == [
        g[f"bucket_{k}/data"].shape[0] for k in range(3)
    ]
    seen = {}
    for k in range(3):
        data, mask = g[f"bucket_{k}/data"][:], g[f"bucket_{k}/data_mask"][:]
        for i, row, m in zip(g[f"bucket_{k}/data_index"][:], data, mask, strict=True):
            seen[int(i)] = row[m].tolist()
    assert seen == {i: s.tolist() for i, s in enumerate(seqs)}
    assert "pack-padding-side" not in names(out)  # post padding for torch, as recorded
    assert_clean_error(cli("bucket", f"{src}:/seq", "--buckets", "3", "-o", out), "exists")


def test_outputs_store_every_chunk_so_zeros_are_not_unwritten(tmp_path):
    np.save(tmp_path / "z.npy", np.zeros((1, 3)))
    out = tmp_path / "z.zarr"
    assert cli("replicate", tmp_path / "z.npy", "--to", "50000", "-o", out).code == 0
    stored = list((out / "data" / "c").rglob("*"))
    assert len([p for p in stored if p.is_file()]) == zarr.open_array(out / "data").nchunks
    assert "unwritten-data" not in names(out)


def test_encode_puts_its_vocabulary_beside_the_store(tmp_path):
    (tmp_path / "l.csv").write_text("a,label\n1,cat\n2,dog\n3,cat\n")
    out = tmp_path / "y.zarr"
    assert cli("encode", f"{tmp_path / 'l.csv'}:label", "-o", out).code == 0
    assert zarr.open_array(out / "data", mode="r")[:].tolist() == [0, 1, 0]
    assert json.loads((tmp_path / "y.vocab.json").read_text())["values"] == ["cat", "dog"]
    assert_clean_error(cli("encode", f"{tmp_path / 'l.csv'}:label", "-o", out), "exists")


def test_big_outputs_stream_in_chunks_and_gzip(tmp_path):
    x = np.random.default_rng(1).normal(size=(5000, 64)).astype(np.float32)
    out = tmp_path / "big.zarr"
    with stream_arrays(out, {"data": (x.shape, x.dtype)}, main="data", force=False,
                       provenance={"operation": "test"}, compression="gzip") as w:  # fmt: skip
        for lo in range(0, len(x), 333):  # blocks that do not line up with the chunks
            w.write({"data": x[lo : lo + 333]})
    a = zarr.open_array(out / "data", mode="r")
    np.testing.assert_array_equal(a[:], x)
    assert "gzip" in type(a.compressors[0]).__name__.lower()


def test_shift_writes_ragged_ids_as_values_and_offsets(tmp_path):
    seqs = [np.array([1, 2]), np.array([3, 4, 5]), np.array([], dtype=np.int64), np.array([6])]
    src = ragged_store(tmp_path / "in.zarr", 3, seqs)
    out = tmp_path / "s.zarr"
    assert cli("shift", f"{src}:/seq", "-o", out).code == 0
    g = zarr.open_group(out, mode="r")
    assert g["data"][:].tolist() == [2, 3, 4, 5, 6, 7] and g["data_offsets"][:].tolist() == [
        0,
        2,
        5,
        5,
        6,
    ]
    back = dsdoctor.load(f"{out}:/data")
    assert back.ragged and [s.tolist() for s in _sequences(back.read())] == [
        [2, 3],
        [4, 5, 6],
        [],
        [7],
    ]


# -- atomic ------------------------------------------------------------------------------------------
def test_an_existing_output_is_never_replaced_without_force(tmp_path):
    np.save(tmp_path / "y.npy", np.arange(1))
    out = store(tmp_path / "out.zarr", 3, {"keep": np.arange(5)})
    before = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    assert_clean_error(
        cli("replicate", tmp_path / "y.npy", "--to", "6", "-o", out), "exists", "--force"
    )
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == before
    assert cli("replicate", tmp_path / "y.npy", "--to", "6", "-o", out, "--force").code == 0
    assert sorted(zarr.open_group(out, mode="r").keys()) == ["data"]
    other = tmp_path / "notes"
    other.mkdir()
    (other / "a.txt").write_text("mine")
    r = cli("replicate", tmp_path / "y.npy", "--to", "6", "-o", f"{other}.zarr", "--force")
    assert r.code == 0  # a new name; the folder of notes is untouched
    plain = tmp_path / "plain.zarr"
    plain.mkdir()
    (plain / "a.txt").write_text("mine")
    r = cli("replicate", tmp_path / "y.npy", "--to", "6", "-o", plain, "--force")
    assert_clean_error(r, "did not write")  # --force never sweeps away a folder of other files
    assert (plain / "a.txt").read_text() == "mine"


def test_the_input_store_is_never_written(tmp_path):
    src = ragged_store(tmp_path / "in.zarr", 3, [np.arange(1, 4), np.arange(1, 3)])
    assert_clean_error(cli("pad", f"{src}:/seq", "-o", src, "--force"), "input")
    assert_clean_error(cli("pad", f"{src}:/seq", "-o", f"{src}:/padded", "--force"), "input")
    assert sorted(zarr.open_group(src, mode="r").keys()) == ["seq", "seq_offsets"]


def test_a_write_that_fails_or_is_interrupted_leaves_nothing(tmp_path):
    out = tmp_path / "out.zarr"

    def writer():
        return stream_arrays(out, {"data": ((10, 2), np.dtype("f8"))}, main="data", force=False,
                             provenance={"operation": "t"})  # fmt: skip

    for error in (RuntimeError("disk"), KeyboardInterrupt()):
        with pytest.raises(type(error)), writer() as w:
            w.write({"data": np.zeros((6, 2))})
            raise error
        assert os.listdir(tmp_path) == []
    with pytest.raises(Exception, match="5 of its 10 rows"), writer() as w:
        w.write({"data": np.zeros((5, 2))})
    assert os.listdir(tmp_path) == []


def test_a_full_disk_while_writing_a_store_leaves_nothing(tmp_path):
    """zarr writes a block's chunks concurrently: when one fails the others are waited for
    before the temporary store is removed, or they would create its folders again."""
    from .test_faults import _dsdoctor, _fsize_limited

    np.save(tmp_path / "big.npy", np.random.default_rng(4).random((200_000, 8)))
    folder = tmp_path / "out"
    folder.mkdir()
    for args in (["replicate", tmp_path / "big.npy", "--each", "1", "-o", folder / "r.zarr"],
                 ["bucket", *_token_source(tmp_path), "--buckets", "3", "-o", folder / "b.zarr"]):  # fmt: skip
        r = _dsdoctor(*args, preexec_fn=_fsize_limited(8 * 1024))
        assert_clean_error(r, "cannot write", "nothing was written")
        assert list(folder.iterdir()) == []


def _token_source(tmp_path: Path) -> list[str]:
    rng = np.random.default_rng(5)
    seqs = [rng.integers(1, 9, size=n) for n in rng.integers(1, 200, size=20_000)]
    return [f"{ragged_store(tmp_path / 'tokens.zarr', 3, seqs)}:/seq"]


# -- damaged stores --------------------------------------------------------------------------------
def _damaged(tmp_path: Path, fmt: int) -> Path:
    tmp_path.mkdir(exist_ok=True)
    return store(tmp_path / f"d{fmt}.zarr", fmt, {"x": np.random.rand(29, 4), "y": np.arange(29)},
                 chunks=10)  # fmt: skip


@FORMATS
def test_a_truncated_chunk(tmp_path, fmt):
    p = _damaged(tmp_path, fmt)
    chunk = p / "x" / ("1.0" if fmt == 2 else "c/1/0")
    chunk.write_bytes(chunk.read_bytes()[:20])
    assert_clean_error(cli("check", p), f"{p}:/x cannot be read", "damaged or truncated")


@FORMATS
def test_a_missing_array_metadata(tmp_path, fmt):
    p = _damaged(tmp_path, fmt)
    (p / "x" / (".zarray" if fmt == 2 else "zarr.json")).unlink()
    assert_clean_error(cli("check", p), f"{p}:/x", "holds chunks but no .zarray")
    assert_clean_error(cli("check", f"{p}:/x"), f"{p}:/x", "metadata is missing")
    r = cli("inspect", "--no-stats", p)  # the tree still lists it, as an error
    assert "/x error" in r.stdout and "/y" in r.stdout


@FORMATS
def test_a_codec_that_is_not_installed(tmp_path, fmt):
    p = _damaged(tmp_path, fmt)
    meta = p / "x" / (".zarray" if fmt == 2 else "zarr.json")
    doc = json.loads(meta.read_text())
    if fmt == 2:
        doc["compressor"] = {"id": "no-such-codec"}
    else:
        doc["codecs"][-1] = {"name": "no-such-codec", "configuration": {}}
    meta.write_text(json.dumps(doc))
    assert_clean_error(cli("check", p), f"{p}:/x", "codec 'no-such-codec', which is not installed")


def test_a_folder_that_is_not_a_zarr_store(tmp_path):
    p = tmp_path / "n.zarr"
    p.mkdir()
    (p / "README.txt").write_text("hello")
    assert_clean_error(cli("check", p), f"{p} is not a Zarr store", "zarr.json, .zgroup or .zarray")
    q = store(tmp_path / "a.zarr", 2, {"x": np.zeros(3)})
    (q / ".zgroup").unlink()
    with pytest.raises(SourceError, match="not a Zarr store"):
        open_source(str(q))


def test_no_file_outside_the_store_is_read_through_a_symlink(tmp_path):
    """A chunk, a member folder or a metadata document linked to a file elsewhere is refused
    before it is read (the targets here are valid Zarr data: followed, they would read fine)."""
    elsewhere = store(tmp_path / "elsewhere.zarr", 3, {"x": np.ones((29, 4)), "y": np.arange(29)},
                      chunks=10)  # fmt: skip
    chunk = _damaged(tmp_path / "a", 3)
    (chunk / "x/c/1/0").unlink()
    (chunk / "x/c/1/0").symlink_to(elsewhere / "x/c/1/0")
    assert_clean_error(cli("check", chunk), "x/c/1/0 is a symbolic link to", "outside the store")
    member = _damaged(tmp_path / "b", 3)
    shutil.rmtree(member / "x")
    (member / "x").symlink_to(elsewhere / "x")
    assert_clean_error(cli("check", member), "is a symbolic link to", "outside the store")
    meta = _damaged(tmp_path / "c", 2)
    (meta / "x/.zarray").unlink()
    (meta / "x/.zarray").symlink_to(elsewhere / "x/zarr.json")
    assert_clean_error(cli("check", f"{meta}:/x"), ".zarray is a symbolic link to")
    inside = _damaged(tmp_path / "d", 3)  # a link that stays in the store is read
    (inside / "y/c/0").unlink()
    (inside / "y/c/0").symlink_to(inside / "x/zarr.json")
    assert "outside the store" not in cli("check", inside).stderr


def test_pickled_objects_are_never_unpickled(tmp_path):
    """An object array stored with the pickle codec (as zarr 2 wrote them): its chunk unpickles
    to a call of os.system. Written byte by byte: zarr 3 no longer writes such arrays."""
    numcodecs = pytest.importorskip("numcodecs")
    p = tmp_path / "pk.zarr"
    (p / "obj").mkdir(parents=True)
    (p / ".zgroup").write_text(json.dumps({"zarr_format": 2}))
    (p / "obj/.zarray").write_text(json.dumps({
        "zarr_format": 2, "shape": [2], "chunks": [2], "dtype": "|O", "compressor": None,
        "fill_value": 0, "filters": [{"id": "pickle", "protocol": 5}], "order": "C"}))  # fmt: skip
    witness = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {witness}",))

    objects = np.empty(2, dtype=object)
    objects[:] = [Evil(), "x"]
    (p / "obj/0").write_bytes(numcodecs.Pickle(protocol=5).encode(objects))
    for source in (p, f"{p}:/obj"):
        assert_clean_error(cli("check", source), f"{p}:/obj", "never unpickles")
    assert "/obj error" in cli("inspect", p).stdout  # listed as not read
    assert not witness.exists()


def test_without_the_zarr_package_the_error_names_the_extra(tmp_path):
    p = store(tmp_path / "s.zarr", 3, {"x": np.zeros(3)})
    code = textwrap.dedent(
        """
        import sys
        sys.modules["zarr"] = None  # as if it were not installed
        from dsdoctor.__main__ import main
        sys.argv = ["dsdoctor", "check", sys.argv[1]]
        main()
        """
    )
    p2 = subprocess.run([sys.executable, "-c", code, str(p)], capture_output=True, text=True,
                        timeout=120)  # fmt: skip
    assert p2.returncode == 2, p2.stderr
    assert p2.stderr.strip() == (
        "dsdoctor: error: reading Zarr stores needs the zarr package: pip install 'dsdoctor[zarr]'"
    )
    assert run("--version").code == 0


# -- a framework trains on a repaired store --------------------------------------------------------
KERAS_STEP = textwrap.dedent(
    """
    import sys, numpy as np, keras, zarr
    g = zarr.open_group(sys.argv[1], mode="r")
    data, mask = g["data"][:], g["data_mask"][:]
    assert data.dtype == np.int32 and mask.dtype == bool, data.dtype
    model = keras.Sequential([keras.Input((None,), dtype="int32"),
                              keras.layers.Embedding(50, 8, mask_zero=True),
                              keras.layers.GRU(8), keras.layers.Dense(2, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    out = model.train_on_batch(data, np.arange(len(data)) % 2)
    value = float(out[0] if isinstance(out, list) else out)
    assert np.isfinite(value), value
    print("trained", data.shape)
    """
)


@pytest.mark.slow
def test_keras_trains_one_step_on_a_padded_zarr_store(tmp_path):
    pytest.importorskip("jax")
    rng = np.random.default_rng(2)
    seqs = [rng.integers(1, 50, size=n) for n in rng.integers(1, 12, size=16)]
    src = ragged_store(tmp_path / "tokens.zarr", 2, seqs)
    out = tmp_path / "k.zarr"
    assert cli("pad", f"{src}:/seq", "--for", "keras", "-o", out).code == 0
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    p = subprocess.run([sys.executable, "-c", KERAS_STEP, str(out)], capture_output=True,
                       text=True, env=env, timeout=600)  # fmt: skip
    assert p.returncode == 0 and "trained (16," in p.stdout, p.stderr[-2000:]


# -- xarray's conventions: CF packing and coordinate arrays -------------------------------------
def _packed_cube(tmp_path: Path, fmt: int) -> tuple[Path, np.ndarray]:
    xr = pytest.importorskip("xarray")
    rng = np.random.default_rng(3)
    t = (260 + 40 * rng.random((60, 4, 5))).astype(np.float64)
    t[3, 0, 0] = np.nan
    t[50:] = np.nan  # 201 missing values
    ds = xr.Dataset({"t2m": (("time", "lat", "lon"), t)},
                    coords={"time": np.arange(60), "lat": np.arange(4.0), "lon": np.arange(5.0)})  # fmt: skip
    path = tmp_path / f"packed{fmt}.zarr"
    enc = {"t2m": {"dtype": "int16", "scale_factor": 0.01, "add_offset": 280, "_FillValue": -32767}}
    ds.to_zarr(path, mode="w", encoding=enc, zarr_format=fmt, consolidated=False)
    return path, xr.open_zarr(path, consolidated=False).t2m.values


@FORMATS
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_xarray_packed_data_is_decoded_and_its_fills_are_missing(tmp_path, fmt):
    path, want = _packed_cube(tmp_path, fmt)
    h = dsdoctor.load(f"{path}:/t2m")
    assert h.dtype == want.dtype == np.float64  # JSON numbers are doubles: xarray's choice
    np.testing.assert_array_equal(h.read(), want)
    assert h.layout["stored_dtype"] == "int16" and "-32767 → NaN" in h.layout["decoded"]
    r = cli("check", "--json", path)
    assert r.code == 1
    (f,) = [f for f in r.json()["findings"] if f["code"] == "DS405"]
    assert "201 missing values" in f["message"]
    # the coordinates are listed, not checked, and read when named
    arrays = {k.rpartition(":")[2]: a for k, a in r.json()["arrays"].items()}
    assert arrays["/time"].get("coordinate") and "coordinate" in arrays["/time"]["skipped"]
    assert arrays["/t2m"]["dtype"] == "float64"
    np.testing.assert_array_equal(dsdoctor.load(f"{path}:/lat").read(), np.arange(4.0))
    # a repair's output holds the decoded values
    out = tmp_path / "imputed.zarr"
    assert cli("impute", f"{path}:/t2m", "--strategy", "median", "-o", out).code == 0
    back = zarr.open_group(out, mode="r")["data"][:]
    assert back.dtype == np.float64 and not np.isnan(back).any()
    assert back.min() > 259.9 and back.max() < 300.1


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_coordinate_arrays_of_a_raster_are_not_paired_as_inputs_and_targets(tmp_path):
    xr = pytest.importorskip("xarray")
    ds = xr.Dataset({"band": (("time", "y", "x"), np.random.rand(6, 3, 4).astype(np.float32))},
                    coords={"time": np.arange(6), "y": np.arange(3.0), "x": np.arange(4.0)})  # fmt: skip
    ds.to_zarr(tmp_path / "r.zarr", mode="w", consolidated=False)
    r = cli("check", "--json", tmp_path / "r.zarr")
    assert r.code == 0, r.stdout
    assert not r.json()["findings"]
    skipped = {k for k, a in r.json()["arrays"].items() if a.get("coordinate")}
    assert {s.rpartition(":")[2] for s in skipped} == {"/time", "/x", "/y"}


def test_an_output_naming_one_array_of_a_store_says_the_whole_store_is_replaced(tmp_path):
    np.save(tmp_path / "one.npy", np.arange(1))
    out = store(tmp_path / "card.zarr", 3, {"x": np.ones((6, 2)), "grp/y": np.arange(6)})
    before = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    r = cli("replicate", tmp_path / "one.npy", "--to", "6", "-o", f"{out}:/x")
    assert_clean_error(r, "holds 2 array(s) (/grp/y, /x)", "whole new store", "--force")
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == before  # nothing lost
    # with --force, what the message said: the store is replaced, /grp/y with it
    r = cli("replicate", tmp_path / "one.npy", "--to", "6", "-o", f"{out}:/x", "--force")
    assert r.code == 0
    assert sorted(zarr.open_group(out, mode="r").keys()) == ["x"]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_outputs_name_their_dimensions_so_xarray_opens_them(tmp_path):
    xr = pytest.importorskip("xarray")
    seqs = [np.arange(1, n + 1) for n in (3, 5, 2, 7)]
    src = ragged_store(tmp_path / "in.zarr", 3, seqs)
    padded = tmp_path / "pad.zarr"
    assert cli("pad", f"{src}:/seq", "--maxlen", "8", "-o", padded).code == 0
    ds = xr.open_zarr(padded, consolidated=False)
    assert ds["data"].dims == ("sample", "time") and ds["data_mask"].dims == ("sample", "time")
    assert ds["data_lengths"].dims == ("sample",)
    assert ds["data_lengths"].values.tolist() == [3, 5, 2, 7]
    x = np.random.default_rng(0).normal(size=(29, 5, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    r = cli("select", tmp_path / "x.npy", "--features", "0,2", "-o", tmp_path / "sel.zarr")
    assert r.code == 0, r.stderr
    ds = xr.open_zarr(tmp_path / "sel.zarr", consolidated=False)
    (var,) = ds.data_vars.values()
    assert var.dims[0] == "sample" and var.shape == (29, 5, 2)
    np.testing.assert_array_equal(var.values, x[..., [0, 2]])
    # ragged ids: values and offsets have dimensions of their own sizes
    shifted = tmp_path / "shift.zarr"
    assert cli("shift", f"{src}:/seq", "-o", shifted).code == 0
    ds = xr.open_zarr(shifted, consolidated=False)
    assert ds["data"].dims == ("value",) and ds["data_offsets"].dims == ("offset",)
    # dsdoctor reads its own outputs back as data, not as coordinates
    assert "coordinate" not in dsdoctor.load(f"{padded}:/data").describe()


@pytest.mark.parametrize("name", ["rep.zarr", "rep.h5"])
def test_repair_into_a_name_of_one_store_is_refused_not_a_folder_of_npy(tmp_path, name):
    x = np.random.rand(29, 4).astype(np.float32)
    src = store(tmp_path / "xy.zarr", 3, {"x": x, "y": np.zeros(1)})
    out = tmp_path / name
    r = cli("repair", src, "--allow", "lossless,assumption,lossy", "-o", out)
    assert_clean_error(r, "repair writes a folder of outputs", f"-o {tmp_path / 'rep'}/")
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["xy.zarr"]
    assert cli(
        "repair", src, "--allow", "lossless,assumption,lossy", "-o", tmp_path / "rep"
    ).code in (0, 1)
    assert (tmp_path / "rep").is_dir()


def test_packing_attributes_that_cannot_be_applied_are_named(tmp_path):
    root = zarr.open_group(tmp_path / "s.zarr", mode="w", zarr_format=3)
    a = root.create_array("x", shape=(4, 2), dtype="i2")
    a[:] = 1
    a.attrs.update({"scale_factor": "0.5"})  # text: not a number
    h = dsdoctor.load(f"{tmp_path / 's.zarr'}:/x")
    assert h.dtype == np.int16 and "not applied" in h.layout["packing_not_applied"]


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_float_fill_value_xarray_wrote_in_base64_is_missing(tmp_path):
    xr = pytest.importorskip("xarray")
    f = np.array([0.0, 1.0, np.nan, 3.0, np.nan], dtype=np.float32)
    ds = xr.Dataset({"f": (("t",), f)})
    path = tmp_path / "fv.zarr"
    ds.to_zarr(path, mode="w", zarr_format=3, consolidated=False,
               encoding={"f": {"_FillValue": -9999.0}})  # fmt: skip
    assert isinstance(zarr.open_array(path / "f").attrs["_FillValue"], str)  # base64 bytes
    h = dsdoctor.load(f"{path}:/f")
    got = h.read()
    assert h.dtype == np.float32
    np.testing.assert_array_equal(got, xr.open_zarr(path, consolidated=False).f.values)
    assert int(np.isnan(got).sum()) == 2


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_windowed_output_has_sample_time_feature(tmp_path):
    xr = pytest.importorskip("xarray")
    series = np.random.default_rng(2).normal(size=(50, 3)).astype(np.float32)
    np.save(tmp_path / "s.npy", series)
    np.save(tmp_path / "t.npy", np.arange(50, dtype=np.float32))
    out = tmp_path / "w.zarr"
    r = cli("window", tmp_path / "s.npy", "--length", "8", "--y", tmp_path / "t.npy", "-o", out)
    assert r.code == 0, r.stderr
    ds = xr.open_zarr(out, consolidated=False)
    assert ds["data"].dims == ("sample", "time", "feature")
    assert ds["data"].shape[1:] == (8, 3)
    assert ds["data_starts"].dims == ("sample",)
