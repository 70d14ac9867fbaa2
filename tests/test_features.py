"""Per-feature checks on the feature axis (issue 14, item 4): ``constant-feature`` reads the last
axis of sequences, never the time axis; padding known (``--mask-value``, or the provenance of
dsdoctor's own ``pad``) is left out; dsdoctor's own mask and lengths outputs are named and
skipped; no fix is longer than a screen line (ranges, or a file ``check --fix-files`` writes)."""

from __future__ import annotations

import json
import shlex
import zipfile

import h5py
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dsdoctor
from dsdoctor.engine.stats import ArrayStats, ScanOptions
from dsdoctor.errors import RepairError, UsageError
from dsdoctor.sources import open_array
from dsdoctor.units import format_selection, parse_selection, resolve_selection

from .conftest import assert_clean_error, cli, run

F = 4  # features per timestep
CONSTANT = 2  # the feature that is 5.0 at every real timestep


def sequences(n: int = 60, longest: int = 30, seed: int = 0) -> list[np.ndarray]:
    """Variable-length (T_i, F) float32 sequences; feature CONSTANT is 5.0 at every step."""
    rng = np.random.default_rng(seed)
    out = []
    for length in rng.integers(3, longest, size=n):
        s = rng.normal(size=(int(length), F)).astype(np.float32)
        s[:, CONSTANT] = 5.0
        out.append(s)
    return out


def constant_findings(report) -> list:
    return [f for f in report.findings if f.name == "constant-feature"]


def ragged_npz(tmp_path, seqs) -> str:
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    np.savez(tmp_path / "seq.npz", seq=np.concatenate(seqs), seq_lengths=lengths)
    return f"{tmp_path / 'seq.npz'}:seq"


# ---- 3-D: the features are the last axis, padding is not data -------------------------------


@pytest.mark.parametrize("dtype", ["float32", "int32"])
@pytest.mark.parametrize("out", ["padded.npy", "padded.npz", "padded.h5", "padded.parquet"])
def test_dsdoctor_pad_output_reports_the_real_constant_feature_never_a_timestep(
    tmp_path, out, dtype
):
    """pad's provenance says the padding value: feature 2 (5 at every real step, 0 in the
    padding) is found constant over the real timesteps; no timestep is read as a feature."""
    seqs = [np.rint(s * 10).astype(dtype) if dtype == "int32" else s for s in sequences()]
    src = ragged_npz(tmp_path, seqs)
    assert cli("pad", src, "-o", tmp_path / out).code == 0
    main = {"padded.npy": "padded.npy", "padded.npz": "padded.npz:data",
            "padded.h5": "padded.h5:/data", "padded.parquet": "padded.parquet:data"}[out]  # fmt: skip
    report = dsdoctor.check(x=str(tmp_path / main))
    (f,) = constant_findings(report)
    assert f.evidence["features"] == [CONSTANT] and f.evidence["width"] == F
    assert f.evidence["values"] == ([50] if dtype == "int32" else [5.0])  # ×10 before the cast
    assert "real timestep" in f.message and "padding 0 left out: pad of" in f.message
    select = f.fixes[0]
    assert "--features 0,1,3" in select.command


def test_keras_pad_sequences_3d_int_and_float_read_the_last_axis(tmp_path):
    """Keras' pad_sequences output, int and float: without a mask value the padding is counted
    (feature 2 varies: 5 and 0); with --mask-value 0 it is left out and feature 2 is constant.
    A feature that is 0 everywhere is constant either way. Never an index past F."""
    keras = pytest.importorskip("keras")
    seqs = sequences(n=40, longest=20)
    for s in seqs:
        s[:, 3] = 0.0
    for dtype in ("int32", "float32"):
        cast = [np.rint(s * 10).astype(dtype) if dtype == "int32" else s for s in seqs]
        cast = [np.where(np.arange(F) == CONSTANT, 5, c).astype(dtype) for c in cast]
        padded = keras.utils.pad_sequences(cast, maxlen=24, dtype=dtype, value=0)
        assert padded.shape == (40, 24, F)
        path = tmp_path / f"keras_{dtype}.npy"
        np.save(path, padded)
        (plain,) = constant_findings(dsdoctor.check(x=str(path)))
        assert plain.evidence["features"] == [3] and plain.evidence["width"] == F
        (masked,) = constant_findings(dsdoctor.check(x=str(path), mask_value=0))
        assert masked.evidence["features"] == [CONSTANT, 3], dtype
        assert "over every sample and real timestep" in masked.message


def test_a_2d_padded_output_has_one_feature_and_no_timestep_findings(tmp_path):
    """pad of scalar sequences gives (N, T): axis 1 is time, so nothing is reported per
    timestep (the leading timesteps are padding in every row, not constant features)."""
    rng = np.random.default_rng(1)
    lengths = rng.integers(2, 20, size=50)
    np.savez(tmp_path / "tok.npz", tok=rng.integers(1, 99, size=int(lengths.sum())),
             tok_lengths=lengths)  # fmt: skip
    for out in ("tok.padded.npy", "tok.padded.npz", "tok.padded.h5", "tok.padded.parquet"):
        assert (
            cli("pad", f"{tmp_path / 'tok.npz'}:tok", "--maxlen", "40", "-o", tmp_path / out).code
            == 0
        )
        report = dsdoctor.check(str(tmp_path / out))
        assert constant_findings(report) == [], out
        # pre padding (pad's default) with lengths beside it is pack-padding-side where the
        # format keeps both together; nothing else may be reported
        others = [f.message for f in report.findings if f.code != "DS305"]
        assert others == [], (out, others)


def test_a_constant_feature_of_padded_scalar_sequences_is_one_feature(tmp_path):
    padded = np.zeros((10, 8), dtype=np.int64)
    padded[:, 3:] = 7  # every real timestep is 7
    np.save(tmp_path / "p.npy", padded)
    (f,) = constant_findings(dsdoctor.check(x=str(tmp_path / "p.npy"), mask_value=0))
    assert f.evidence["features"] == [0] and f.evidence["width"] == 1
    assert "its one feature is constant" in f.message and "every value is 7" in f.message
    assert f.fixes == []  # select would drop timesteps


def test_keras_2d_output_says_the_constant_block_looks_like_padding(tmp_path):
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(2)
    seqs = [rng.integers(1, 50, size=int(n)).tolist() for n in rng.integers(3, 30, size=200)]
    np.save(tmp_path / "k.npy", keras.utils.pad_sequences(seqs, maxlen=100))
    (f,) = constant_findings(dsdoctor.check(x=str(tmp_path / "k.npy")))
    assert f.evidence["looks_padded"] is True and f.fixes == []
    assert "pass --mask-value 0" in f.message and "features 0–" in f.message
    assert constant_findings(dsdoctor.check(x=str(tmp_path / "k.npy"), mask_value=0)) == []


def test_images_are_read_per_channel(tmp_path):
    rng = np.random.default_rng(3)
    images = rng.integers(0, 255, size=(6, 8, 8, 4)).astype(np.uint8)
    images[..., 3] = 255  # an alpha channel that is always opaque
    np.save(tmp_path / "img.npy", images)
    (f,) = constant_findings(dsdoctor.check(x=str(tmp_path / "img.npy")))
    assert f.evidence["features"] == [3] and f.evidence["width"] == 4
    assert "1 of 4 channels (last axis) are constant over every sample and position" in f.message


# ---- mergeable per-feature stats ---------------------------------------------------------------


def test_padded_stats_merge_to_the_single_pass(tmp_path):
    """The extremes of real timesteps merge over any split of the rows (chunks, --jobs, dask)."""
    keras = pytest.importorskip("keras")
    padded = keras.utils.pad_sequences(sequences(n=33), maxlen=30, dtype="float32")
    opts = ScanOptions(mask_value=0, sequences=True)
    whole = ArrayStats()
    whole.update(padded, opts)
    for cuts in ([1], [7, 20], [16, 17, 32]):
        parts = []
        for lo, hi in zip([0, *cuts], [*cuts, len(padded)], strict=True):
            part = ArrayStats()
            part.update(padded[lo:hi], opts)
            parts.append(part)
        merged = parts[0]
        for p in parts[1:]:
            merged = merged.merge(p)
        np.testing.assert_array_equal(merged.fmin, whole.fmin)
        np.testing.assert_array_equal(merged.fmax, whole.fmax)
        assert merged.constant_features() == whole.constant_features() == {CONSTANT: 5.0}
    all_padding = ArrayStats()
    all_padding.update(np.zeros((3, 30, F), dtype=np.float32), opts)  # no real timestep
    assert all_padding.fmin is None
    merged = all_padding.merge(whole)
    np.testing.assert_array_equal(merged.fmin, whole.fmin)


def test_small_chunks_and_jobs_give_the_same_finding(tmp_path):
    src = ragged_npz(tmp_path, sequences(n=80))
    assert cli("pad", src, "-o", tmp_path / "p.npy").code == 0
    one = constant_findings(dsdoctor.check(x=str(tmp_path / "p.npy")))
    small = constant_findings(dsdoctor.check(x=str(tmp_path / "p.npy"), chunk_size="2KiB"))
    jobs = constant_findings(dsdoctor.check(x=str(tmp_path / "p.npy"), chunk_size="2KiB", jobs=2))
    assert [f.evidence for f in one] == [f.evidence for f in small] == [f.evidence for f in jobs]
    assert one and one[0].evidence["features"] == [CONSTANT]


# ---- dsdoctor's own mask and lengths outputs -------------------------------------------------


@pytest.mark.parametrize("out", ["p.npy", "p.npz", "p.h5", "p.parquet"])
def test_mask_and_lengths_outputs_are_named_and_skipped(tmp_path, out):
    src = ragged_npz(tmp_path, sequences(n=30))
    assert cli("pad", src, "-o", tmp_path / out).code == 0
    stem = tmp_path / "p"
    mask, lengths = {
        "p.npy": (f"{stem}.mask.npy", f"{stem}.lengths.npy"),
        "p.npz": (f"{stem}.npz:mask", f"{stem}.npz:lengths"),
        "p.h5": (f"{stem}.h5:/data_mask", f"{stem}.h5:/data_lengths"),
        "p.parquet": (f"{stem}.parquet:mask", f"{stem}.parquet:lengths"),
    }[out]
    for role, source in (("mask", mask), ("lengths", lengths)):
        assert open_array(source).provenance["role"] == role
        report = dsdoctor.check(x=source)
        assert report.findings == [], [f.message for f in report.findings]
        note = report.arrays["x"]["not_analysed"]
        assert (
            note.startswith(f"dsdoctor {role} output (pad of ") and "value checks skipped" in note
        )
    r = cli("check", "--x", mask)
    assert r.code == 0 and "dsdoctor mask output (pad of" in r.stdout, r.stdout


def test_mask_command_output_is_skipped_too(tmp_path):
    keras = pytest.importorskip("keras")
    np.save(tmp_path / "k.npy", keras.utils.pad_sequences(sequences(n=20), dtype="float32"))
    assert cli("mask", tmp_path / "k.npy", "-o", tmp_path / "k.mask.npy").code == 0
    assert (tmp_path / "k.mask.dsdoctor.json").exists()
    report = dsdoctor.check(x=str(tmp_path / "k.mask.npy"))
    assert (
        report.findings == []
        and "dsdoctor mask output (mask of" in report.arrays["x"]["not_analysed"]
    )


def test_arrays_named_like_outputs_without_a_record_are_data(tmp_path):
    """Only the record makes an array a mask: a user's x.mask.npy with no record beside it, or
    beside a record that does not list it, is checked as data."""
    flags = np.zeros((10, 5)) + np.arange(5)
    flags[:, 2] = 1.0
    np.save(tmp_path / "x.mask.npy", flags)
    assert open_array(str(tmp_path / "x.mask.npy")).provenance is None
    assert constant_findings(dsdoctor.check(x=str(tmp_path / "x.mask.npy")))
    (tmp_path / "x.dsdoctor.json").write_text(
        json.dumps({"operation": "pad", "files": {"data": "x.npy"}})
    )
    assert open_array(str(tmp_path / "x.mask.npy")).provenance is None


def test_a_record_is_never_unpickled(tmp_path):
    """An npz whose ``provenance`` member is an object array (a pickle) holds no record: it is
    not loaded, and the other members are checked as data."""
    obj = np.empty((), dtype=object)
    obj[()] = {"operation": "pad"}
    np.savez(tmp_path / "o.npz", mask=np.zeros((4, 3), dtype=bool), provenance=obj)
    with zipfile.ZipFile(tmp_path / "o.npz") as z:
        assert "provenance.npy" in z.namelist()
    h = open_array(f"{tmp_path / 'o.npz'}:mask")
    assert h.provenance is None and h.not_data is None
    np.savez(tmp_path / "s.npz", mask=np.zeros((4, 3), dtype=bool), provenance=np.array("not json"))
    assert open_array(f"{tmp_path / 's.npz'}:mask").provenance is None


def test_hdf5_sibling_without_a_main_record_is_data(tmp_path):
    with h5py.File(tmp_path / "f.h5", "w") as f:
        f["x"] = np.zeros((4, 3))
        f["x_mask"] = np.ones((4, 3))
    assert open_array(f"{tmp_path / 'f.h5'}:/x_mask").provenance is None


# ---- fixes fit a screen line -----------------------------------------------------------------


def _commands(report) -> list:
    return [fix for f in report.findings for fix in f.fixes]


def test_every_fix_of_a_wide_table_and_a_padded_array_fits_or_uses_a_file(tmp_path, monkeypatch):
    """A 1,700-column table with hundreds of constant columns (and a text column), and a padded
    3-D array: every fix command is at most 100 characters or reads its list from a file;
    --fix-files writes that file and the command runs as printed."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(4)
    values = rng.normal(size=(40, 1700))
    values[:, ::3] = 0.0  # 567 constant columns, every third
    frame = pd.DataFrame(values, columns=[f"pixel_{i}" for i in range(1700)])
    frame["note"] = ["a", "b"] * 20
    frame["label"] = rng.integers(0, 3, size=40)
    frame.to_csv("wide.csv", index=False)
    np.save("wide.npy", values)
    keras = pytest.importorskip("keras")
    np.save("pad3.npy", keras.utils.pad_sequences(sequences(n=30), maxlen=300, dtype="float32"))
    reports = [dsdoctor.check("wide.csv", target="label"), dsdoctor.check(x="wide.npy"),
               dsdoctor.check(x="pad3.npy"), dsdoctor.check(x="pad3.npy", mask_value=0)]  # fmt: skip
    fixes = [fix for r in reports for fix in _commands(r)]
    assert any(fix.files for fix in fixes)
    for fix in fixes:
        assert len(fix.command) <= 100 or (fix.files and " @" in fix.command), fix.command
    (wide,) = constant_findings(reports[1])
    assert wide.evidence["count"] == 567
    (select,) = wide.fixes
    assert (
        select.command
        == "dsdoctor select wide.npy --features @wide.features.txt -o wide.selected.npy"
    )
    r = cli("check", "--x", "wide.npy", "--fix-files")
    assert r.code == 0 and "wrote wide.features.txt" in r.stderr
    assert "(wide.features.txt: written by check --fix-files)" in r.stdout
    assert cli(*shlex.split(select.command)[1:]).code == 0
    kept = np.load("wide.selected.npy")
    np.testing.assert_array_equal(kept, np.delete(values, np.s_[::3], axis=1))
    # the table's fix names the columns to keep, in a file beside the table
    table_fixes = [fix for fix in _commands(reports[0]) if fix.files]
    assert table_fixes and all("--columns @wide.columns.txt" in fix.command for fix in table_fixes)
    assert cli("check", "wide.csv", "--target", "label", "--fix-files").code == 0
    assert (tmp_path / "wide.columns.txt").read_text().splitlines()[0] == "pixel_1"
    # a file already there with other text is not replaced without --force
    (tmp_path / "wide.features.txt").write_text("0\n")
    assert_clean_error(run("check", "--x", "wide.npy", "--fix-files"), "wide.features.txt")
    assert (tmp_path / "wide.features.txt").read_text() == "0\n"
    assert cli("check", "--x", "wide.npy", "--fix-files", "--force").code == 0
    assert (tmp_path / "wide.features.txt").read_text() == select.files["wide.features.txt"]


def test_repair_applies_a_long_selection_without_the_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    values = np.random.default_rng(5).normal(size=(20, 300))
    values[:, 1::2] = 3.0
    np.save("x.npy", values)
    outcome = dsdoctor.repair(x="x.npy", outdir="fixed", allow=["lossless", "lossy"])
    assert not (tmp_path / "x.features.txt").exists()
    assert outcome.applied
    (written,) = [p for p in (tmp_path / "fixed").iterdir() if p.suffix == ".npy"]
    np.testing.assert_array_equal(np.load(written), values[:, ::2])


# ---- select: ranges and files ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("features", "kept"),
    [("0:72", list(range(72))), ("0:10,12:80", [*range(10), *range(12, 80)]),
     ("0:80:7", list(range(0, 80, 7))), ("-3:", [97, 98, 99]), (":3,50", [0, 1, 2, 50]),
     ("5,2,9:11", [5, 2, 9, 10]), ("-1", [99])],
)  # fmt: skip
def test_select_takes_ranges(tmp_path, features, kept):
    data = np.arange(300).reshape(3, 100)
    np.save(tmp_path / "x.npy", data)
    r = cli("select", tmp_path / "x.npy", "--features", features, "-o", tmp_path / "o.npy")
    assert r.code == 0, r.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "o.npy"), data[:, kept])
    np.testing.assert_array_equal(dsdoctor.select(data, features=features), data[:, kept])


def test_select_reads_a_file(tmp_path):
    data = np.arange(300).reshape(3, 100)
    np.save(tmp_path / "x.npy", data)
    (tmp_path / "keep.txt").write_text("# kept features\n0:10\n12 20:30  # more\n-1\n")
    r = cli(
        "select",
        tmp_path / "x.npy",
        "--features",
        f"@{tmp_path / 'keep.txt'}",
        "-o",
        tmp_path / "o.npy",
    )
    assert r.code == 0, r.stderr
    want = [*range(10), 12, *range(20, 30), 99]
    np.testing.assert_array_equal(np.load(tmp_path / "o.npy"), data[:, want])
    frame = pd.DataFrame({"a": [1.0, 2.0], "b b": [3.0, 4.0], "c": [5.0, 6.0]})
    frame.to_parquet(tmp_path / "t.parquet")
    (tmp_path / "cols.txt").write_text("c\nb b\n")
    r = cli(
        "select",
        tmp_path / "t.parquet",
        "--columns",
        f"@{tmp_path / 'cols.txt'}",
        "-o",
        tmp_path / "t.npy",
    )
    assert r.code == 0, r.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "t.npy"), [[5.0, 3.0], [6.0, 4.0]])


@pytest.mark.parametrize(
    ("features", "needle"),
    [("0:0", "range 0:0 is empty"), ("5:2", "range 5:2 is empty"),
     ("0:200", "range 0:200 reaches past the end (0:100 is all of them)"),
     ("100", "feature 100 does not exist"), ("-101", "feature -101 does not exist"),
     ("1:2:0", "the step must be at least 1"), ("a:b", "is not an index range"),
     ("1:2:3:4", "is not an index range"), ("1,,2", "has an empty item"), ("@", "@ needs a file name"),
     ("@missing.txt", "no file missing.txt"), ("", "is empty")],
)  # fmt: skip
def test_select_refuses_bad_ranges(tmp_path, monkeypatch, features, needle):
    monkeypatch.chdir(tmp_path)
    np.save("x.npy", np.zeros((3, 100)))
    assert_clean_error(run("select", "x.npy", "--features", features, "-o", "o.npy"), needle)
    assert not (tmp_path / "o.npy").exists()
    if features:
        with pytest.raises(
            (UsageError, RepairError), match=needle.split(" (")[0].replace("(", r"\(")
        ):
            dsdoctor.select(np.zeros((3, 100)), features=features)


def test_an_empty_selection_file_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.save("x.npy", np.zeros((3, 10)))
    (tmp_path / "empty.txt").write_text("# nothing\n")
    assert_clean_error(
        run("select", "x.npy", "--features", "@empty.txt", "-o", "o.npy"), "is empty"
    )
    assert_clean_error(
        run("select", "x.npy", "--columns", "@empty.txt", "-o", "o.npy"), "names no column"
    )


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 80).flatmap(
        lambda w: st.tuples(st.just(w), st.lists(st.integers(0, w - 1), min_size=1))
    )
)
def test_the_shortest_form_reads_back(case):
    width, indices = case
    text = format_selection(indices)
    assert resolve_selection(parse_selection(text), width) == indices
    assert len(text) <= len(",".join(map(str, indices)))


def test_shortest_forms():
    assert format_selection(list(range(72))) == "0:72"
    assert format_selection([*range(10), *range(12, 80)]) == "0:10,12:80"
    assert format_selection(list(range(0, 100, 2))) == "0:99:2"
    assert format_selection([1, 2]) == "1,2" and format_selection([7]) == "7"


def test_missing_values_of_padded_scalar_sequences_are_one_feature(tmp_path):
    """missing-values counts per feature too: an (N, T) padded array has one, not T."""
    padded = np.zeros((6, 10))
    padded[:, 4:] = 1.5
    padded[2, 7] = np.nan
    padded[4, 9] = np.nan
    np.save(tmp_path / "p.npy", padded)
    (f,) = [f for f in dsdoctor.check(x=str(tmp_path / "p.npy"), mask_value=0).findings
            if f.name == "missing-values"]  # fmt: skip
    assert f.evidence["counts"] == {"x": 2} and f.evidence["rows"] == [2, 4]
    (plain,) = [f for f in dsdoctor.check(x=str(tmp_path / "p.npy")).findings
                if f.name == "missing-values"]  # fmt: skip
    assert plain.evidence["counts"] == {"feature 7": 1, "feature 9": 1}


def test_a_link_named_like_the_main_dataset_is_never_followed(tmp_path):
    """The record of a sibling ``x_mask`` is read from ``x`` only when ``x`` is a hard link: an
    external link named ``x`` (to another file's pad output) is not opened."""
    src = ragged_npz(tmp_path, sequences(n=10))
    assert cli("pad", src, "-o", tmp_path / "other.h5").code == 0
    with h5py.File(tmp_path / "f.h5", "w") as f:
        f["x_mask"] = np.zeros((3, 4), dtype=bool)
        f["x"] = h5py.ExternalLink(str(tmp_path / "other.h5"), "/data")
        f["y_mask"] = np.zeros((3, 4), dtype=bool)
        f["y"] = h5py.SoftLink("/x")
    assert open_array(f"{tmp_path / 'f.h5'}:/x_mask").provenance is None
    assert open_array(f"{tmp_path / 'f.h5'}:/y_mask").provenance is None
