"""NetCDF files as data: netCDF-4 (HDF5 underneath) with its dimension names and coordinate
variables, and NetCDF-3 classic / 64-bit offset read by dsdoctor's own reader (header through
scipy). Every file is written by netCDF4, xarray (netcdf4, h5netcdf and scipy engines) or scipy."""

from __future__ import annotations

import json

import numpy as np
import pytest

import dsdoctor
from dsdoctor.errors import SourceError

from .conftest import assert_clean_error, cli, run

netCDF4 = pytest.importorskip("netCDF4")
xr = pytest.importorskip("xarray")
from scipy.io import netcdf_file  # noqa: E402

RNG = np.random.default_rng(0)
X = RNG.normal(size=(29, 3))
Y = (np.arange(29) % 3).astype(np.int64)


def _xarray(path, *, n=29, **kwargs):
    ds = xr.Dataset({"x": (("time", "lat"), X[:n]), "y": (("time",), Y[:n])},
                    coords={"time": np.arange(n), "lat": [10.0, 20.0, 30.0]})  # fmt: skip
    ds.to_netcdf(path, **kwargs)
    return path


def _netcdf4(path):
    with netCDF4.Dataset(path, "w") as ds:
        ds.createDimension("sample", 29)
        ds.createDimension("feature", 3)  # a dimension with no variable: netCDF bookkeeping
        ds.createVariable("sample", "i8", ("sample",))[:] = np.arange(29)
        ds.createVariable("x", "f4", ("sample", "feature"))[:] = X
        ds.createVariable("y", "i4", ("sample",))[:] = Y
    return path


WRITERS = {
    "xarray-netcdf4": lambda p: _xarray(p, engine="netcdf4"),
    "xarray-h5netcdf": lambda p: _xarray(p, engine="h5netcdf"),
    "xarray-classic": lambda p: _xarray(p, format="NETCDF3_CLASSIC"),
    "xarray-64bit": lambda p: _xarray(p, format="NETCDF3_64BIT"),
}
CLASSIC = ("xarray-classic", "xarray-64bit")


def _entries(path) -> dict:
    (src,) = cli("inspect", path, "--json").json()["sources"]
    return {e["path"].lstrip("/"): e for e in src["entries"]}


@pytest.mark.parametrize("writer", WRITERS)
def test_dimension_names_and_coordinates_of_files_xarray_writes(tmp_path, writer):
    path = WRITERS[writer](tmp_path / "d.nc")
    (src,) = cli("inspect", path, "--json").json()["sources"]
    assert src["format"] == ("netcdf3" if writer in CLASSIC else "hdf5")
    e = _entries(path)
    assert e["x"]["layout"]["dims"] == ["time", "lat"] and e["x"]["shape"] == [29, 3]
    assert e["y"]["layout"]["dims"] == ["time"]
    for coord, size in (("time", 29), ("lat", 3)):
        assert e[coord]["coordinate"] is True
        assert e[coord]["skipped"].startswith(f"a coordinate variable: the {size} coordinates")
        assert "stats" not in e[coord]
    np.testing.assert_allclose(dsdoctor.load(f"{path}:x").read(), X)
    np.testing.assert_array_equal(dsdoctor.load(f"{path}:y").read(), Y)
    text = run("inspect", path).stdout
    assert "(time: 29, lat: 3)" in text and "not analysed" in text


def test_netcdf4_library_file_names_its_dimensions_and_its_bookkeeping(tmp_path):
    path = _netcdf4(tmp_path / "n.nc")
    e = _entries(path)
    assert e["x"]["layout"]["dims"] == ["sample", "feature"]
    assert "coordinates of dimension `sample`" in e["sample"]["skipped"]
    assert e["feature"]["skipped"].startswith("netCDF bookkeeping: dimension `feature` (size 3)")
    r = cli("check", path, "--json").json()
    assert r["arrays"][f"{path}:/feature"]["skipped"].startswith("netCDF bookkeeping")
    assert "coordinate variable" in r["arrays"][f"{path}:/sample"]["skipped"]
    assert r["datasets"][0]["sources"][0]["samples"] == 29


def test_a_coordinate_named_on_purpose_is_read(tmp_path):
    for path in (_xarray(tmp_path / "4.nc", engine="netcdf4"),
                 _xarray(tmp_path / "3.nc", format="NETCDF3_CLASSIC")):  # fmt: skip
        h = dsdoctor.load(f"{path}:time")
        assert h.coordinate and h.skip is None
        np.testing.assert_array_equal(h.read(), np.arange(29))


def test_the_only_data_variable_is_the_array_of_a_file_with_coordinates(tmp_path):
    """``--x file.nc`` needs no selector when one variable is data and the others coordinates."""
    path = tmp_path / "one.nc"
    xr.Dataset({"x": (("time", "lat"), X)},
               coords={"time": np.arange(29), "lat": [1.0, 2.0, 3.0]}).to_netcdf(path, format="NETCDF3_CLASSIC")  # fmt: skip
    assert dsdoctor.load(str(path)).name == "x"


@pytest.mark.parametrize("version", [1, 2])
def test_classic_record_variables_interleaved_read_row_by_row(tmp_path, version):
    """Record variables (the unlimited dimension) are stored a record at a time, interleaved:
    each is read back exactly as scipy maps it, in reads of a few rows."""
    path = tmp_path / "rec.nc"
    a = RNG.normal(size=(301, 5)).astype(np.float32)
    b = np.arange(301, dtype=np.int16)  # 2 bytes: padded to 4 in each record
    with netcdf_file(path, "w", version=version) as nc:
        nc.createDimension("t", None)
        nc.createDimension("f", 5)
        nc.createVariable("a", "f4", ("t", "f"))[:] = a
        nc.createVariable("b", "i2", ("t",))[:] = b
        nc.createVariable("fixed", "f8", ("f",))[:] = np.arange(5.0)
    h = dsdoctor.load(f"{path}:a")
    assert h.layout["record_dimension"] == "t" and h.dtype == np.float32
    chunks = [c.copy() for c in h.chunks(chunk_bytes=400)]  # a buffer is reused
    assert len(chunks) > 10 and max(len(c) for c in chunks) <= 20
    np.testing.assert_array_equal(np.concatenate(chunks), a)
    np.testing.assert_array_equal(dsdoctor.load(f"{path}:b").read(), b)
    np.testing.assert_array_equal(dsdoctor.load(f"{path}:fixed").read(), np.arange(5.0))


def test_classic_char_variables_and_packing_are_named(tmp_path):
    path = tmp_path / "c.nc"
    with netcdf_file(path, "w") as nc:
        nc.createDimension("n", 4)
        nc.createDimension("len", 3)
        nc.createVariable("names", "c", ("n", "len"))[:] = np.array([list(b"abc")] * 4, dtype="S1")
        v = nc.createVariable("packed", "i2", ("n",))
        v[:] = np.arange(4)
        v.scale_factor, v.add_offset = 0.5, 10.0
    e = _entries(path)
    assert "char variable" in e["names"]["skipped"]
    assert (
        e["packed"]["layout"]["scale_factor"] == 0.5 and e["packed"]["layout"]["add_offset"] == 10.0
    )


# -- the seed cases ---------------------------------------------------------------------------
@pytest.mark.parametrize("writer", WRITERS)
def test_29_inputs_and_1_target_in_two_netcdf_files(tmp_path, writer):
    x = WRITERS[writer](tmp_path / "x.nc")
    y = tmp_path / "y.nc"
    xr.Dataset({"y": (("time",), Y[:1])}, coords={"time": [0]}).to_netcdf(
        y, **({"format": "NETCDF3_CLASSIC"} if writer in CLASSIC else {"engine": "netcdf4"})
    )
    d = cli("check", "--x", f"{x}:x", "--y", f"{y}:y", "--json").json()
    mismatch = [f for f in d["findings"] if f["code"] == "DS101"]
    assert mismatch and mismatch[0]["message"].endswith("has 29 samples but y has 1")
    # given whole, the files are compared by their data, not by a coordinate's length
    d = cli("check", x, y, "--json").json()
    assert [s["samples"] for s in d["datasets"][0]["sources"]] == [29, 1]
    assert any(f["code"] == "DS101" for f in d["findings"])


@pytest.mark.parametrize("writer", WRITERS)
def test_width_and_rank_against_the_model(tmp_path, writer):
    x = WRITERS[writer](tmp_path / "x.nc")
    codes = [
        f["code"]
        for f in cli("check", "--x", f"{x}:x", "--features", "4", "--json").json()["findings"]
    ]
    assert "DS201" in codes
    codes = [
        f["code"]
        for f in cli("check", "--x", f"{x}:x", "--input-shape", "3,1", "--json").json()["findings"]
    ]
    assert "DS202" in codes


@pytest.mark.parametrize("writer", ["xarray-netcdf4", "xarray-classic"])
def test_a_repaired_output_reads_back(tmp_path, writer):
    y = tmp_path / "y.nc"
    xr.Dataset({"y": (("time",), Y[:1])}, coords={"time": [0]}).to_netcdf(
        y, **({"format": "NETCDF3_CLASSIC"} if writer in CLASSIC else {"engine": "netcdf4"})
    )
    out = tmp_path / "y29.npy"
    r = run("replicate", f"{y}:y", "--to", "29", "-o", out)
    assert r.code == 0, r.stderr
    np.testing.assert_array_equal(np.load(out), np.repeat(Y[:1], 29))


# -- bad input --------------------------------------------------------------------------------
@pytest.mark.parametrize("cut", [10, 200, -8])
def test_a_truncated_classic_file_is_one_line(tmp_path, cut):
    path = _xarray(tmp_path / "t.nc", format="NETCDF3_CLASSIC")
    data = path.read_bytes()
    path.write_bytes(data[:cut])
    out = tmp_path / "out.npy"
    r = run("check", path)
    assert_clean_error(r, str(path))
    r = run("replicate", f"{path}:y", "--to", "30", "-o", out)
    assert_clean_error(r, str(path))
    assert not out.exists()


def test_cdf5_is_named_and_refused(tmp_path):
    path = tmp_path / "five.nc"
    path.write_bytes(b"CDF\x05" + bytes(60))
    assert_clean_error(run("check", path), "CDF-5", "nccopy -k nc4")


def test_a_truncated_netcdf4_file_is_one_line(tmp_path):
    path = _xarray(tmp_path / "t4.nc", engine="netcdf4")
    path.write_bytes(path.read_bytes()[:1000])
    assert_clean_error(run("check", path), str(path))


def test_a_classic_header_declaring_more_than_the_file_is_refused(tmp_path):
    """A variable's size in the header larger than the file: refused when opened, not read."""
    path = tmp_path / "big.nc"
    with netcdf_file(path, "w") as nc:
        nc.createDimension("n", 1000)
        nc.createVariable("x", "f8", ("n",))[:] = np.zeros(1000)
    path.write_bytes(path.read_bytes()[:4000])
    with pytest.raises(SourceError, match="cannot be read as NetCDF-3"):
        dsdoctor.load(f"{path}:x")


def test_the_json_is_the_api_report(tmp_path):
    path = _xarray(tmp_path / "d.nc", format="NETCDF3_64BIT")
    r = cli("check", path, "--json")
    assert json.loads(r.stdout) == json.loads(json.dumps(dsdoctor.check(str(path)).to_dict()))


def test_netcdf4_variable_length_sequences_are_ragged_and_pad_reads_back(tmp_path):
    """A netCDF-4 VLType variable (HDF5 variable-length): ragged sequences, with the seed cases
    of sequences — ragged, a 0 among the ids colliding with the padding — and a pad output."""
    path = tmp_path / "tokens.nc"
    seqs = [RNG.integers(0, 50, size=n).astype(np.int32) for n in RNG.integers(1, 9, size=29)]
    seqs[0][0] = 0
    with netCDF4.Dataset(path, "w") as ds:
        ds.createDimension("sample", 29)
        v = ds.createVariable("tokens", ds.createVLType(np.int32, "seq"), ("sample",))
        for i, s in enumerate(seqs):
            v[i] = s
    h = dsdoctor.load(f"{path}:tokens")
    assert h.ragged and h.shape == (29, None) and h.layout["dims"] == ["sample"]
    assert "(sample: 29, None)" in run("inspect", path, "--no-stats").stdout
    codes = [f["code"] for f in cli("check", f"{path}:tokens", "--json").json()["findings"]]
    assert "DS301" in codes and "DS302" in codes
    out = tmp_path / "padded.npy"
    assert run("pad", f"{path}:tokens", "--padding", "post", "-o", out).code == 0
    padded, lengths = np.load(out), np.load(tmp_path / "padded.lengths.npy")
    assert lengths.tolist() == [len(s) for s in seqs]
    for row, s in zip(padded, seqs, strict=True):
        np.testing.assert_array_equal(row[: len(s)], s)


def test_a_variable_named_like_its_first_dimension_but_2d_is_data(tmp_path):
    """netCDF-4 makes ``x(x, y)`` a dimension scale though it is no coordinate variable."""
    path = tmp_path / "xy.nc"
    with netCDF4.Dataset(path, "w") as ds:
        ds.createDimension("x", 29)
        ds.createDimension("y", 3)
        ds.createVariable("x", "f4", ("x", "y"))[:] = X
    h = dsdoctor.load(f"{path}:x")
    assert not h.coordinate and h.skip is None
    np.testing.assert_allclose(h.read(), X.astype(np.float32))
    assert cli("check", path, "--json").json()["datasets"][0]["sources"][0]["samples"] == 29


def test_a_text_coordinate_is_listed_and_read_as_labels_when_named(tmp_path):
    path = tmp_path / "st.nc"
    xr.Dataset({"x": (("station", "f"), X[:3, :2])},
               coords={"station": ["a", "bb", "c"]}).to_netcdf(path, engine="netcdf4")  # fmt: skip
    e = _entries(path)
    assert e["station"]["coordinate"] is True and "not analysed" in e["station"]["skipped"]
    h = dsdoctor.load(f"{path}:station")
    assert h.categorical and h.skip is None
    assert [v.decode() if isinstance(v, bytes) else v for v in h.read()] == ["a", "bb", "c"]


# -- CF packing (scale_factor, add_offset, _FillValue) is decoded as xarray decodes it --------
PACKED_WRITERS = {
    "xarray-netcdf4": {"engine": "netcdf4"},
    "xarray-h5netcdf": {"engine": "h5netcdf"},
    "xarray-classic": {"engine": "scipy", "format": "NETCDF3_64BIT"},
}


@pytest.mark.parametrize("writer", PACKED_WRITERS)
def test_packed_variables_are_decoded_and_their_fills_are_missing(tmp_path, writer):
    t = (280 + 10 * RNG.random((40, 4, 5))).astype("float32")
    t[3, 1, 2], t[10] = np.nan, np.nan  # 21 missing values
    ds = xr.Dataset({"t2m": (("time", "lat", "lon"), t)},
                    coords={"time": np.arange(40), "lat": np.arange(4.0), "lon": np.arange(5.0)})  # fmt: skip
    enc = {"t2m": {"dtype": "int16", "scale_factor": np.float32(0.01),
                   "add_offset": np.float32(280), "_FillValue": -32767}}  # fmt: skip
    path = tmp_path / "p.nc"
    ds.to_netcdf(path, encoding=enc, **PACKED_WRITERS[writer])
    want = xr.open_dataset(path).t2m.values
    got = dsdoctor.load(f"{path}:t2m").read()
    assert got.dtype == want.dtype == np.float32
    np.testing.assert_array_equal(got, want)
    e = _entries(path)["t2m"]
    assert e["dtype"] == "float32" and e["layout"]["stored_dtype"] == "int16"
    assert "decoded" in e["layout"]["decoded"] and "-32767 → NaN" in e["layout"]["decoded"]
    r = cli("check", path, "--json")
    assert r.code == 1
    found = [f for f in r.json()["findings"] if f["code"] == "DS405"]
    assert found and "21 missing values" in found[0]["message"]
    # a repair writes the decoded values
    out = tmp_path / "imputed.npy"
    assert cli("impute", f"{path}:t2m", "--strategy", "median", "-o", out).code == 0
    imputed = np.load(out)
    assert imputed.dtype == np.float32 and not np.isnan(imputed).any()
    assert imputed.min() > 279.9 and imputed.max() < 290.1


def test_a_double_packing_decodes_to_float64_and_missing_value_counts(tmp_path):
    path = tmp_path / "m.nc"
    with netCDF4.Dataset(path, "w") as nc:
        nc.createDimension("n", 6)
        v = nc.createVariable("v", "i4", ("n",))
        v.set_auto_maskandscale(False)
        v.scale_factor, v.add_offset, v.missing_value = 0.5, 1.0, np.int32(-1)
        v[:] = np.array([0, 2, -1, 4, -1, 6], dtype=np.int32)
    want = xr.open_dataset(path).v.values
    got = dsdoctor.load(f"{path}:v").read()
    assert got.dtype == want.dtype == np.float64
    np.testing.assert_array_equal(got, want)
    assert int(np.isnan(got).sum()) == 2
