"""pandas ``to_hdf`` / ``HDFStore`` files (PyTables, fixed and table format) read as tables.

Every file here is written by pandas itself; the values dsdoctor reads are compared with
``pd.read_hdf`` of the same file. The attacks put a pickle naming a global into a copy of a real
file with h5py and check that nothing runs."""

from __future__ import annotations

import os
import pickle
import shutil

import h5py
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import dsdoctor
from dsdoctor.errors import SourceError, UnsafeInputError
from dsdoctor.sources import open_source
from dsdoctor.sources.hdf5.pandas_store import FrameSource
from dsdoctor.sources.hdf5.plain_pickle import plain_loads

from .conftest import assert_clean_error, cli

pytest.importorskip("tables")  # pandas writes HDF5 through PyTables


def frame(n: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "x1": rng.normal(size=n),
        "x2": rng.integers(0, 100, size=n),
        "flag": rng.random(n) > 0.5,
        "when": pd.date_range("2020-01-01", periods=n, freq="h"),
        "species": rng.choice(["adelie", "gentoo", "chinstrap"], size=n),
        "y": rng.normal(size=n).astype(np.float32),
    })  # fmt: skip


def table_of(src: FrameSource, rows: int = 7) -> pa.Table:
    """Every column of a frame, read through the batches a check reads (``rows`` at a time)."""
    return pa.Table.from_batches(list(src.batches(src.schema.names, rows)))


def only_frame(path, **kw) -> FrameSource:
    src = open_source(str(path), **kw)
    frames = src.frames()
    assert len(frames) == 1
    f = next(iter(frames.values()))
    assert isinstance(f, FrameSource)
    return f


# -- both layouts ---------------------------------------------------------------------------
LAYOUTS = [
    pytest.param({"format": "fixed"}, id="fixed"),
    pytest.param({"format": "table"}, id="table"),
    pytest.param({"format": "table", "data_columns": True}, id="table-all-data-columns"),
    pytest.param(
        {"format": "table", "data_columns": ["x2", "species"]}, id="table-some-data-columns"
    ),
]


@pytest.mark.parametrize("how", LAYOUTS)
def test_frame_columns_and_values_equal_read_hdf(tmp_path, how):
    df = frame()
    path = tmp_path / "d.h5"
    df.to_hdf(path, key="df", **how)
    expect = pd.read_hdf(path, "df")
    src = only_frame(path, allow_pickle=True)
    assert src.schema.names == list(expect.columns)
    got = table_of(src).to_pandas()
    for c in ["x1", "x2", "flag", "y", "species"]:
        assert got[c].tolist() == expect[c].tolist(), c
    assert (got["when"].astype("int64") == expect["when"].astype("int64")).all()
    assert pa.types.is_timestamp(src.schema.field("when").type)
    assert src.schema.field("flag").type == pa.bool_()
    assert src.schema.field("species").type == pa.string()
    # numeric columns stack into one array; the index is none of them
    x = dsdoctor.load(f"{path}:/df:x1,x2,y").read()
    np.testing.assert_allclose(x, expect[["x1", "x2", "y"]].to_numpy(dtype=np.float64))


@pytest.mark.parametrize("how", LAYOUTS)
def test_target_and_features_exclude_the_index(tmp_path, how):
    df = frame()
    path = tmp_path / "d.h5"
    df.to_hdf(path, key="df", **how)
    report = dsdoctor.check(str(path), target="y", features=3, allow_pickle=True)
    assert not report.by_name("feature-width-mismatch"), report.to_dict()
    arrays = report.to_dict()["arrays"]
    x = next(a for a in arrays.values() if a["role"] == "x")
    y = next(a for a in arrays.values() if a["role"] == "y")
    assert x["layout"]["columns"] == ["x1", "x2", "flag"]  # not the index, not the target
    assert x["shape"] == [40, 3]
    assert y["shape"] == [40] and y["source"].endswith(":/df:y")
    assert x["layout"]["index"] == "unnamed (integer)"
    wrong = dsdoctor.check(str(path), target="y", features=4, allow_pickle=True)
    (f,) = wrong.by_name("feature-width-mismatch")
    assert "has 3 features" in f.message


def test_table_appended_in_chunks_streams_by_row_slices(tmp_path):
    path = tmp_path / "big.h5"
    parts = [frame(5000, seed=s) for s in range(4)]
    with pd.HDFStore(path, mode="w") as store:
        for p in parts:
            store.append("df", p, data_columns=["x1"], min_itemsize={"species": 12})
    expect = pd.read_hdf(path, "df")
    src = only_frame(path)
    assert src.num_rows == 20000
    handle = dsdoctor.load(f"{path}:/df:x1,x2")
    chunks = list(handle.chunks(64 * 1024))  # a small chunk size: many row slices
    assert len(chunks) > 10
    assert max(len(c) for c in chunks) * 16 <= 64 * 1024  # two float64 columns, bounded
    np.testing.assert_array_equal(np.concatenate(chunks), expect[["x1", "x2"]].to_numpy())
    got = table_of(src, 3000).to_pandas()
    assert got["species"].tolist() == expect["species"].tolist()


def test_strings_with_missing_values_are_nulls_in_the_table_format(tmp_path):
    df = pd.DataFrame({"s": ["a", None, "ccc", "nan2"], "v": [1.0, np.nan, 3.0, 4.0]})
    path = tmp_path / "s.h5"
    df.to_hdf(path, key="df", format="table", data_columns=True)
    got = table_of(only_frame(path)).to_pandas()
    expect = pd.read_hdf(path, "df")
    assert got["s"].isna().tolist() == expect["s"].isna().tolist() == [False, True, False, False]
    assert got["s"].dropna().tolist() == ["a", "ccc", "nan2"]
    assert np.isnan(got["v"][1])


def test_category_column_is_a_dictionary(tmp_path):
    df = pd.DataFrame({"c": pd.Categorical(["b", "a", None, "b"]), "v": [1.0, 2, 3, 4]})
    path = tmp_path / "c.h5"
    df.to_hdf(path, key="df", format="table")
    src = only_frame(path)
    assert pa.types.is_dictionary(src.schema.field("c").type)
    got = table_of(src).column("c").to_pylist()
    assert got == pd.read_hdf(path, "df")["c"].astype(object).where(df["c"].notna(), None).tolist()


# -- the index ------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["fixed", "table"])
@pytest.mark.parametrize(
    "index, shown",
    [
        (pd.RangeIndex(6), "an unnamed integer index"),
        (pd.Index([10, 11, 12, 13, 14, 15], name="row_id"), "the 'row_id' integer index"),
        (pd.date_range("2021-03-01", periods=6, name="day"), "datetime64"),
    ],
    ids=["range", "named", "datetime"],
)
def test_index_is_reported_never_a_column(tmp_path, fmt, index, shown):
    df = pd.DataFrame({"a": np.arange(6.0), "b": np.arange(6.0) * 2}, index=index)
    path = tmp_path / "i.h5"
    df.to_hdf(path, key="df", format=fmt)
    src = only_frame(path)
    assert src.schema.names == ["a", "b"]
    assert shown in src.describe_frame()
    r = cli("inspect", path)
    assert r.code == 0
    assert "/df frame" in r.stdout and "not a feature" in r.stdout
    out = dsdoctor.check(str(path), features=2)
    assert not out.findings
    assert next(iter(out.to_dict()["arrays"].values()))["shape"] == [6, 2]


@pytest.mark.parametrize("fmt", ["fixed", "table"])
def test_multiindex_levels_are_the_index(tmp_path, fmt):
    df = pd.DataFrame(
        {"a": np.arange(4.0), "b": np.arange(4.0)},
        index=pd.MultiIndex.from_product([[1, 2], ["u", "v"]], names=["g", "h"]),
    )
    path = tmp_path / "m.h5"
    df.to_hdf(path, key="df", format=fmt)
    src = only_frame(path)
    assert src.schema.names == ["a", "b"]  # the table format stores g, h as columns: not here
    assert "a MultiIndex of 2 levels ('g', 'h')" in src.describe_frame()
    assert src.num_rows == 4


def test_a_series_is_a_one_column_table(tmp_path):
    path = tmp_path / "s.h5"
    pd.Series([1.0, 2.0, 3.0], name="label").to_hdf(path, key="y")
    r = cli("inspect", path)
    assert "pandas Series (fixed format" in r.stdout
    np.testing.assert_array_equal(dsdoctor.load(f"{path}:/y").read(), [1.0, 2.0, 3.0])


# -- several frames, selectors, errors ---------------------------------------------------------
def test_several_keys_are_listed_and_selected(tmp_path):
    path = tmp_path / "store.h5"
    with pd.HDFStore(path, mode="w") as store:
        store.put("train", frame(30), format="table")
        store.put("val/part", frame(10), format="fixed")
    r = cli("inspect", path)
    assert r.code == 0
    assert "/train frame" in r.stdout and "/val/part frame" in r.stdout
    assert "block0_values" not in r.stdout and "_i_table" not in r.stdout
    report = dsdoctor.check(f"{path}:/val/part", target="y", allow_pickle=True)
    assert {a["shape"][0] for a in report.to_dict()["arrays"].values()} == {10}
    assert_clean_error(cli("check", path, "--target", "y"), "holds 2 pandas DataFrames",
                       "/train, /val/part", f"{path}:/train")  # fmt: skip
    assert_clean_error(cli("check", f"{path}:/train", "--target", "nope"),
                       "has no column 'nope'", "x1, x2")  # fmt: skip
    # check of the whole file reads every frame (the fixed one's strings are named as not read)
    whole = cli("check", path, "--json")
    arrays = whole.json()["arrays"]
    assert {a["source"] for a in arrays.values()} >= {f"{path}:/train", f"{path}:/val/part"}


def test_target_in_a_file_without_frames_is_a_clean_error(tmp_path):
    path = tmp_path / "plain.h5"
    with h5py.File(path, "w") as f:
        f["x"] = np.zeros((3, 2))
    assert_clean_error(cli("check", path, "--target", "y"), "holds no pandas DataFrame", "--y")


# -- pickles --------------------------------------------------------------------------------
def test_fixed_object_block_is_named_not_read_without_allow_pickle(tmp_path, monkeypatch):
    path = tmp_path / "f.h5"
    frame().to_hdf(path, key="df", format="fixed")

    def refuse(*a, **k):
        raise AssertionError("pickle.loads was called")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    report = dsdoctor.check(str(path))
    (f,) = report.by_name("unsafe-pickle")
    assert "species" in f.arrays[0] or "species" in f.message
    d = report.to_dict()["arrays"]
    unread = [a for a in d.values() if a.get("unsafe")]
    assert len(unread) == 1 and "'species'" in unread[0]["unsafe"]
    assert "--allow-pickle" in unread[0]["unsafe"]
    r = cli("inspect", path)
    assert "/df:species column  not read: pickled Python objects" in r.stdout
    src = only_frame(path)
    assert "species" not in src.schema.names and src.layout()["not_read"] == ["species"]
    with pytest.raises(UnsafeInputError, match="--allow-pickle"):
        dsdoctor.check(str(path), target="species")


def test_fixed_object_block_with_allow_pickle_is_read(tmp_path):
    path = tmp_path / "f.h5"
    df = frame()
    df.to_hdf(path, key="df", format="fixed")
    src = only_frame(path, allow_pickle=True)
    assert table_of(src).column("species").to_pylist() == df["species"].tolist()
    assert not dsdoctor.check(str(path), allow_pickle=True).by_name("unsafe-pickle")


def evil(marker) -> bytes:
    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    return pickle.dumps(Evil(), protocol=0)


def test_a_pickled_attribute_naming_a_global_is_refused_and_nothing_runs(tmp_path):
    real = tmp_path / "real.h5"
    frame().to_hdf(real, key="df", format="table")
    bad = tmp_path / "bad.h5"
    shutil.copy(real, bad)
    marker = tmp_path / "PWNED"
    with h5py.File(bad, "r+") as f:
        f["df"].attrs["non_index_axes"] = np.bytes_(evil(marker))
    with pytest.raises(UnsafeInputError, match=r"non_index_axes.*global"):
        FrameSource(h5py.File(bad), "/df", "bad.h5:/df", bad)
    r = cli("inspect", bad)
    assert r.code == 0 and "/df error" in r.stdout and "global" in r.stdout
    c = cli("check", bad, "--json")
    assert c.code == 1  # an unsafe-pickle finding, never healthy
    assert any(f["name"] == "unsafe-pickle" for f in c.json()["findings"])
    assert_clean_error(cli("check", bad, "--target", "y"), "non_index_axes", "global")
    assert not marker.exists()


def test_a_malicious_object_block_is_not_unpickled_without_allow_pickle(tmp_path):
    real = tmp_path / "real.h5"
    frame().to_hdf(real, key="df", format="fixed")
    bad = tmp_path / "bad.h5"
    shutil.copy(real, bad)
    marker = tmp_path / "PWNED"
    with h5py.File(bad, "r+") as f:
        g = f["df"]
        old = next(k for k in g if k.endswith("_values") and g[k].dtype.kind == "O")
        attrs = dict(g[old].attrs)
        del g[old]
        d = g.create_dataset(old, (1,), dtype=h5py.vlen_dtype(np.uint8))
        d[0] = np.frombuffer(evil(marker), dtype=np.uint8)
        for k, v in attrs.items():
            d.attrs[k] = v
    for args in (("check", bad), ("inspect", bad), ("check", bad, "--target", "y")):
        r = cli(*args)
        assert r.code in (0, 1), r.stderr
    assert "not read" in cli("check", bad).stdout
    assert not marker.exists()


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_plain_loads_refuses_every_global(tmp_path, protocol):
    marker = tmp_path / "PWNED"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    with pytest.raises(UnsafeInputError, match="global"):
        plain_loads(pickle.dumps(Evil(), protocol=protocol))
    with pytest.raises(UnsafeInputError, match="global"):
        plain_loads(pickle.dumps(np.float64(1.0), protocol=protocol))
    assert not marker.exists()
    # (bytes need the global _codecs.encode below protocol 3: refused too; PyTables writes none)
    value = [(1, ["a", "b"]), {"k": None, "f": 1.5}, True, *([b"raw"] if protocol >= 3 else [])]
    assert plain_loads(pickle.dumps(value, protocol=protocol)) == value


def test_plain_loads_refuses_the_extension_registry():
    import copyreg

    copyreg.add_extension("os", "system", 0xF0)
    try:
        with pytest.raises(UnsafeInputError, match=r"os\.system"):
            plain_loads(b"\x80\x02\x82\xf0.")  # EXT1 240: the registry's (os, system)
    finally:
        copyreg.remove_extension("os", "system", 0xF0)
    with pytest.raises(ValueError, match="not a pickle"):
        plain_loads(b"plain text.")


#: ``python -m dsdoctor ARGS`` ended (exit 86) the moment pickle resolves any global.
AUDITED = """
import os, sys, runpy
def _no_pickle(event, args):
    if event == "pickle.find_class":
        os.write(2, b"UNPICKLED " + repr(args).encode() + b"\\n")
        os._exit(86)
sys.addaudithook(_no_pickle)
sys.argv = ["dsdoctor", *sys.argv[1:]]
runpy.run_module("dsdoctor", run_name="__main__")
"""


@pytest.mark.slow  # four fresh processes
def test_no_global_is_resolved_reading_real_and_hostile_stores(tmp_path):
    """Behind an audit hook in a real process: the metadata pickles of real files are parsed,
    the hostile ones refused, and pickle never resolves a global."""
    import subprocess
    import sys

    fixed, table = tmp_path / "fixed.h5", tmp_path / "table.h5"
    frame().to_hdf(fixed, key="df", format="fixed")
    frame().set_index("when").to_hdf(table, key="df", format="table", data_columns=["x1"])
    bad = tmp_path / "bad.h5"
    shutil.copy(table, bad)
    marker = tmp_path / "PWNED"
    with h5py.File(bad, "r+") as f:
        f["df/table"].attrs["values_block_0_kind"] = np.bytes_(evil(marker))
    runs = [("check", fixed), ("check", table, "--target", "y"), ("inspect", table),
            ("check", bad)]  # fmt: skip
    for args in runs:
        p = subprocess.run([sys.executable, "-c", AUDITED, *map(str, args)], capture_output=True,
                           env={**os.environ, "NO_COLOR": "1"}, timeout=120)  # fmt: skip
        assert p.returncode in (0, 1), (args, p.returncode, p.stderr.decode())
        assert b"UNPICKLED" not in p.stderr
    assert not marker.exists()


@pytest.mark.parametrize("fmt", ["fixed", "table"])
def test_odd_frames(tmp_path, fmt):
    """Empty frames, column names that are numbers, zones, durations and complex numbers."""
    path = tmp_path / "odd.h5"
    pd.DataFrame({"a": []}, dtype=float).to_hdf(path, key="empty", format="fixed")
    pd.DataFrame({0: [1.0, 2.0], 1: [3.0, 4.0]}).to_hdf(path, key="ints", format=fmt)
    zoned = pd.DataFrame({
        "t": pd.date_range("2020", periods=3, tz="Europe/Berlin"),
        "d": pd.to_timedelta([1, 2, None], unit="s"),
        "v": [1.0, 2.0, 3.0],
    }, index=["r1", "r2", "r3"])  # fmt: skip
    zoned.to_hdf(path, key="zoned", format=fmt)
    src = open_source(str(path))
    frames = src.frames()
    assert frames["/empty"].num_rows == 0
    assert dsdoctor.load(f"{path}:/empty").shape == (0,)
    assert frames["/ints"].schema.names == ["0", "1"]
    z = frames["/zoned"]
    assert z.schema.field("t").type == pa.timestamp("us", "Europe/Berlin")
    got = table_of(z).to_pandas()
    assert got["t"].tolist() == zoned["t"].tolist()
    assert got["d"].isna().tolist() == [False, False, True]
    assert "an unnamed string index" in z.describe_frame()
    src.close()  # HDF5 shares an open file: a new handle would not see what pandas adds
    if fmt == "fixed":
        pd.DataFrame({"c": [1 + 2j, 3j], "v": [1.0, 2.0]}).to_hdf(path, key="cx", format="fixed")
        cx = open_source(str(path)).frames()["/cx"]
        assert cx.unread == {"c": "complex numbers (complex128), which a table column cannot hold"}


def test_a_missing_compression_filter_is_named(tmp_path):
    import tables

    if not tables.which_lib_version("blosc"):
        pytest.skip("PyTables without Blosc")
    path = tmp_path / "blosc.h5"
    frame().to_hdf(path, key="df", format="table", complevel=9, complib="blosc")
    if h5py.h5z.filter_avail(32001):
        pytest.skip("this h5py can decode Blosc (hdf5plugin loaded)")
    assert_clean_error(cli("check", path, "--target", "y"), "the Blosc filter (HDF5 filter id 32001)",
                       "hdf5plugin", "complib='zlib'")  # fmt: skip


@pytest.mark.parametrize("fmt", ["fixed", "table"])
def test_one_column_of_a_wide_block_is_read_in_bounded_memory(tmp_path, fmt):
    """pandas puts all float columns in one block: reading one of 500 must not read 500 per row
    beyond the chunk size (fixed: only the column is read; table: fewer rows per read)."""
    rng = np.random.default_rng(1)
    df = pd.DataFrame(rng.normal(size=(3000, 500)), columns=[f"c{i}" for i in range(500)])
    path = tmp_path / "wide.h5"
    df.to_hdf(path, key="df", format=fmt)
    chunk = 64 * 1024
    h = dsdoctor.load(f"{path}:/df:c7,c300")
    parts = list(h.chunks(chunk))
    np.testing.assert_array_equal(np.concatenate(parts), df[["c7", "c300"]].to_numpy())
    if fmt == "table":  # a whole 500-column field is read per row: rows shrink to fit
        assert max(len(p) for p in parts) * 500 * 8 <= chunk


def test_text_that_is_not_utf8_is_a_clean_error(tmp_path):
    path = tmp_path / "t.h5"
    frame().to_hdf(path, key="df", format="table", data_columns=["species"])
    with h5py.File(path, "r+") as f:  # one damaged cell in a copy pandas wrote
        table = f["df/table"]
        row = table[3]
        row["species"] = b"\xff\xfeabc"
        table[3] = row
    src = only_frame(path)
    with pytest.raises(SourceError, match=r"species holds text that is not UTF-8 \(rows 0-40\)"):
        table_of(src, 100)
    # (check decodes every column once the column kinds of issue 13 are in: then this is a
    # finding or an exit 2 from the same error)
