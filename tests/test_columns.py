"""Column kinds, and the table columns ``check`` does not analyse: ``non-input-columns``
(DS701), ``index-column`` (DS702) and ``unreadable-data`` (DS703), on files written the ordinary
way by pandas and pyarrow (a corrupt page is the one thing written byte by byte)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import dsdoctor
from dsdoctor.engine import tables
from dsdoctor.sources import open_source
from dsdoctor.sources.csv import CsvSource
from dsdoctor.sources.parquet import ParquetSource
from dsdoctor.sources.table import user_kind

from .conftest import assert_clean_error, cli

N = 60
NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "year"]


def penguins(n: int = N) -> pd.DataFrame:
    """A frame shaped like palmerpenguins: strings, a pandas category, a date, NaN."""
    rng = np.random.default_rng(7)
    df = pd.DataFrame({
        "species": rng.choice(["Adelie", "Gentoo", "Chinstrap"], n),
        "island": pd.Categorical(rng.choice(["Biscoe", "Dream", "Torgersen"], n)),
        "bill_length_mm": rng.normal(44, 5, n).round(1),
        "bill_depth_mm": rng.normal(17, 2, n).round(1),
        "flipper_length_mm": rng.normal(200, 14, n).round(),
        "body_mass_g": rng.normal(4200, 800, n).round(),
        "sex": rng.choice(["male", "female"], n).astype(object),
        "year": rng.integers(2007, 2010, n),
        "observed": pd.date_range("2007-11-01", periods=n, freq="D"),
    })  # fmt: skip
    df.loc[[3, 10], "bill_length_mm"] = np.nan
    df.loc[[3, 8, 20], "sex"] = None
    return df


def corrupt_parquet(tmp: Path, name: str = "corrupt.parquet") -> Path:
    """A pyarrow-written file whose string column has a value length that runs past its page
    (pyarrow: "Invalid or truncated PLAIN-encoded BYTE_ARRAY data"); column ``a`` is fine."""
    p = tmp / name
    t = pa.table({"a": pa.array(np.arange(100.0)), "b": pa.array(np.arange(100) % 7),
                  "s": pa.array([f"value-{i:04d}" for i in range(100)])})  # fmt: skip
    pq.write_table(t, p, compression="none", use_dictionary=False, write_statistics=False)
    data = bytearray(p.read_bytes())
    at = data.find(b"\n\x00\x00\x00value-0050")
    assert at > 0
    data[at : at + 4] = struct.pack("<I", 0x7FFFFF)
    p.write_bytes(bytes(data))
    return p


def text_parquet(tmp: Path) -> str:
    """Numbers and a text column: the text is not an input as it stands."""
    p = tmp / "text.parquet"
    pq.write_table(
        pa.table({"a": [1.0, 2.0, 3.0], "b": [4.0, 5.0, 6.0], "city": ["x", "y", "x"]}), p
    )
    return str(p)


def indexed_csv(tmp: Path) -> str:
    """A numeric frame saved with a default ``to_csv()``: its index is the unnamed first column."""
    p = tmp / "indexed.csv"
    pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [2.0, 1.0, 0.0, 5.0]}).to_csv(p)
    return str(p)


def by_name(report, name: str) -> list:
    return [f for f in report.findings if f.name == name]


# -- kinds --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("type_", "kind"), [
    (pa.int8(), "numeric"), (pa.float16(), "numeric"), (pa.uint64(), "numeric"),
    (pa.bool_(), "boolean"),
    (pa.string(), "categorical"), (pa.large_string(), "categorical"),
    (pa.dictionary(pa.int8(), pa.string()), "categorical"),
    (pa.dictionary(pa.int8(), pa.int64()), "numeric"),
    (pa.timestamp("ns", tz="UTC"), "datetime"), (pa.date32(), "datetime"), (pa.time64("us"), "datetime"),
    (pa.duration("s"), "duration"),
    (pa.list_(pa.int32()), "nested"), (pa.large_list(pa.string()), "nested"),
    (pa.list_(pa.float32(), 3), "nested"), (pa.struct([("a", pa.int8())]), "nested"),
    (pa.map_(pa.string(), pa.int8()), "nested"),
    (pa.binary(), "other"), (pa.decimal128(5, 2), "other"), (pa.null(), "other"),
])  # fmt: skip
def test_every_arrow_type_has_a_kind(type_, kind):
    assert user_kind(type_) == kind


def test_pandas_dtypes_have_their_kinds(tmp_path):
    p = tmp_path / "p.parquet"
    penguins().to_parquet(p)
    src = open_source(str(p))
    kinds = src.column_kinds()
    assert kinds["species"] == kinds["island"] == kinds["sex"] == "categorical"
    assert kinds["observed"] == "datetime"
    assert all(kinds[c] == "numeric" for c in NUMERIC)


# -- pandas index columns -----------------------------------------------------------------------
def test_to_csv_index_is_an_index_not_a_feature(tmp_path):
    p = tmp_path / "penguins.csv"
    penguins().to_csv(p)
    features = len(NUMERIC) - 1  # all numeric columns but the target
    report = dsdoctor.check(str(p), target="body_mass_g", features=features)
    assert not by_name(report, "feature-width-mismatch"), report.findings
    (idx,) = by_name(report, "index-column")
    assert idx.evidence["column"] == "" and idx.evidence["counts_rows"] is True
    assert "to_csv()" in idx.message and f"0..{N - 1}" in idx.message
    (fix,) = idx.fixes
    assert fix.command.startswith("dsdoctor select ") and "--columns" in fix.command
    assert "body_mass_g" not in fix.command.split("--columns")[1]
    x = report.arrays[str(p)]
    assert x["shape"] == [N, features] and x["layout"]["columns"] == [
        c for c in NUMERIC if c != "body_mass_g"
    ]
    wrong = dsdoctor.check(str(p), target="body_mass_g", features=features + 1)
    assert by_name(wrong, "feature-width-mismatch")


def test_to_parquet_after_dropna_writes_an_index_that_is_never_counted(tmp_path):
    p = tmp_path / "penguins.parquet"
    penguins().dropna().to_parquet(p)
    assert "__index_level_0__" in pq.read_schema(p).names  # what pandas does after dropna()
    report = dsdoctor.check(str(p), target="body_mass_g", features=4)
    assert not by_name(report, "feature-width-mismatch")
    (idx,) = by_name(report, "index-column")
    assert idx.evidence["column"] == "__index_level_0__"
    assert idx.evidence["counts_rows"] is False  # rows were dropped: it no longer counts 0..N-1
    assert "pandas metadata" in idx.message
    infer = cli("spec", "infer", str(p), "--target", "body_mass_g")
    assert infer.code == 0, infer.stderr
    assert "__index_level_0__" not in infer.stdout and "bill_length_mm" in infer.stdout


def test_a_named_index_is_an_index(tmp_path):
    p = tmp_path / "named.parquet"
    ids = [7, 3, 11, 2, 19, 5, 13, 17, 23, 29]  # not a range (pandas stores a range as metadata)
    df = pd.DataFrame({"sample_id": ids, "a": np.arange(10.0), "b": np.arange(10.0) ** 2})
    df.set_index("sample_id").to_parquet(p)
    report = dsdoctor.check(str(p), features=2)
    assert not by_name(report, "feature-width-mismatch")
    (idx,) = by_name(report, "index-column")
    assert idx.evidence["column"] == "sample_id"
    assert report.columns[0]["facts"] == {"min": 2, "max": 29, "counts_rows": False}


def test_a_csv_read_and_saved_again_keeps_unnamed_0(tmp_path):
    first, again = tmp_path / "first.csv", tmp_path / "again.csv"
    pd.DataFrame({"a": [3.0, 1.0, 2.0], "b": [1.0, 1.5, 2.0]}).to_csv(first)
    pd.read_csv(first).to_csv(again, index=False)  # "Unnamed: 0" is now a named column
    report = dsdoctor.check(str(again), features=2)
    assert not by_name(report, "feature-width-mismatch")
    (idx,) = by_name(report, "index-column")
    assert idx.evidence["column"] == "Unnamed: 0" and idx.evidence["counts_rows"] is True


def test_the_index_fix_runs_and_writes_the_features_alone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    indexed_csv(tmp_path)
    r = cli("check", "indexed.csv", "--json")
    assert r.code == 0  # a warning (--fail-on error by default)
    (finding,) = [f for f in r.json()["findings"] if f["name"] == "index-column"]
    words = finding["fixes"][0]["command"].split()
    done = cli(*words[1:])
    assert done.code == 0, done.stderr
    out = np.load(words[words.index("-o") + 1])
    np.testing.assert_array_equal(out, [[1.0, 2.0], [2.0, 1.0], [3.0, 0.0], [4.0, 5.0]])


# -- columns that are not inputs ----------------------------------------------------------------
def test_string_category_and_date_columns_are_named_with_what_to_do(tmp_path):
    p = tmp_path / "penguins.csv"
    penguins().to_csv(p, index=False)
    report = dsdoctor.check(str(p), target="body_mass_g")
    (f,) = by_name(report, "non-input-columns")
    named = {c["name"]: c for c in f.evidence["columns"]}
    assert set(named) == {"species", "island", "sex", "observed"}
    assert named["species"]["distinct"] == 3 and "dsdoctor encode" in named["species"]["advice"]
    assert named["sex"]["nulls"] == 3
    assert "derive" in named["observed"]["advice"]
    assert f"{p}:species" in f.message and "observed (datetime" in f.message
    # nothing to drop (every column has a use): an encode fix for each category without nulls
    assert [x.command.split()[2] for x in f.fixes] == [f"{p}:species", f"{p}:island"]
    assert all(x.safety == "lossless" and x.action["op"] == "encode" for x in f.fixes)


def test_check_with_a_string_column_is_not_silently_healthy(tmp_path):
    r = cli("check", text_parquet(tmp_path))
    assert "city" in r.stdout and "non-input-columns" in r.stdout
    assert "healthy" not in r.stdout and "1 warning(s)" in r.stdout
    assert cli("check", text_parquet(tmp_path), "--fail-on", "warning").code == 1
    ignored = cli("check", text_parquet(tmp_path), "--ignore", "DS701")
    assert ignored.code == 0 and "city (categorical)" in ignored.stdout
    assert "healthy: no findings; 1 column(s) not analysed" in ignored.stdout
    assert "1 column(s) not analysed" in ignored.stdout


def test_json_report_carries_the_columns(tmp_path):
    p = tmp_path / "penguins.parquet"
    penguins().to_parquet(p)
    r = cli("check", str(p), "--target", "body_mass_g", "--json")
    assert r.code in (0, 1), r.stderr
    columns = {c["name"]: c for c in r.json()["columns"]}
    assert set(columns) == {"species", "island", "sex", "observed"}
    assert columns["sex"]["nulls"] == 3 and columns["sex"]["null_rows"] == [3, 8, 20]
    assert columns["island"]["kind"] == "categorical" and "dictionary" in columns["island"]["dtype"]
    assert columns["observed"]["facts"]["min"].startswith("2007-11-01")
    assert r.json() == _api_dict(str(p), target="body_mass_g")


def _api_dict(*sources, **options) -> dict:
    import json

    return json.loads(json.dumps(dsdoctor.check(*sources, **options).to_dict(), default=str))


def test_an_id_column_is_told_apart_from_a_category(tmp_path, monkeypatch):
    monkeypatch.setattr(tables, "MAX_DISTINCT", 50)
    p = tmp_path / "ids.parquet"
    n = 400
    pq.write_table(
        pa.table(
            {
                "user": [f"u{i:05d}" for i in range(n)],
                "x": np.arange(n, dtype=np.float64),
                "w": np.ones(n),
                "tag": ["a", "b"] * (n // 2),
            }
        ),
        p,
        row_group_size=64,
    )
    report = dsdoctor.check(str(p), chunk_size="4KiB")
    (f,) = by_name(report, "non-input-columns")
    named = {c["name"]: c for c in f.evidence["columns"]}
    assert named["user"]["distinct_capped"] is True and named["user"]["looks_like_id"] is True
    assert "id or free text" in named["user"]["advice"]
    assert named["tag"]["distinct"] == 2 and named["tag"]["top"] == [["a", 200], ["b", 200]]
    encode, keep = f.fixes  # encode the category; keep the inputs without the id column
    assert encode.command.split()[1:3] == ["encode", f"{p}:tag"]
    assert "--columns x,w" in keep.command


def test_category_counts_are_exact_across_chunks(tmp_path):
    p = tmp_path / "many.csv"
    n = 20_000
    labels = np.array(["cat", "dog", "bird", "fish"])[(np.arange(n) * 7) % 4]
    pd.DataFrame({"v": np.arange(n, dtype=np.float64), "w": np.ones(n), "label": labels}).to_csv(
        p, index=False
    )
    insp = dsdoctor.inspect(str(p), chunk_size="64KiB")
    (col,) = [e.column for e in insp.entries if e.column is not None]
    assert col.facts["distinct"] == 4
    assert sorted(n for _, n in col.facts["top"]) == [5000] * 4


# -- inspect ----------------------------------------------------------------------------------------
def test_inspect_shows_each_column_with_its_facts(tmp_path):
    p = tmp_path / "penguins.csv"
    penguins().to_csv(p)
    r = cli("inspect", str(p), "--json")
    assert r.code == 0, r.stderr
    entries = {e["path"]: e for e in r.json()["sources"][0]["entries"]}
    assert entries[""]["kind"] == "column" and entries[""]["column"]["reason"] == "index"
    assert entries[""]["column"]["facts"]["counts_rows"] is True
    species = entries["species"]
    assert species["column_kind"] == "categorical" and species["column"]["facts"]["distinct"] == 3
    assert sum(n for _, n in species["column"]["facts"]["top"]) == N
    assert entries["sex"]["column"]["nulls"] == 3  # an empty CSV cell of text is a null
    assert entries["observed"]["column"]["facts"] == {"min": "2007-11-01", "max": "2007-12-30"}
    assert (
        entries["body_mass_g"]["kind"] == "array"
        and entries["body_mass_g"]["column_kind"] == "numeric"
    )
    text = cli("inspect", str(p))
    assert "species  categorical  string  3 distinct" in text.stdout
    assert "(unnamed)  index  int64  0 to 59  counts 0..N-1" in text.stdout
    assert "nulls 3 (rows 3, 8, 20…)" in text.stdout


# -- every byte decoded ---------------------------------------------------------------------------
def test_a_column_that_cannot_be_decoded_is_an_error_finding(tmp_path):
    p = corrupt_parquet(tmp_path)
    report = dsdoctor.check(str(p))
    (f,) = by_name(report, "unreadable-data")
    assert f.severity.value == "error"
    assert f.evidence["columns"][0]["name"] == "s"
    assert "PLAIN-encoded BYTE_ARRAY" in f.message
    x = report.arrays[str(p)] if str(p) in report.arrays else next(iter(report.arrays.values()))
    assert x["stats"]["rows"] == 100  # the readable columns are still checked
    assert not by_name(report, "non-input-columns")  # an unreadable column is told once
    r = cli("check", str(p))
    assert r.code == 1 and "unreadable-data" in r.stdout and "'s'" in r.stdout
    assert_clean_error(cli("inspect", str(p)), "s cannot be decoded")


def test_an_analysed_column_that_cannot_be_decoded_is_a_clean_error(tmp_path):
    p = tmp_path / "flipped.parquet"
    pq.write_table(pa.table({"a": np.arange(100.0), "s": ["x"] * 100}), p, compression="none",
                   write_page_checksum=True)  # fmt: skip
    data = bytearray(p.read_bytes())
    at = data.find(np.float64(50.0).tobytes())
    data[at] ^= 0xFF  # one flipped byte in column a's page: its checksum no longer matches
    p.write_bytes(bytes(data))
    assert_clean_error(cli("check", str(p)), "checksum")


# -- one pass ----------------------------------------------------------------------------------------
@pytest.fixture
def passes(monkeypatch) -> list[list[str]]:
    """The column lists of every pass over a table's record batches."""
    seen: list[list[str]] = []
    for cls in (CsvSource, ParquetSource):
        original = cls.batches

        def counted(self, columns, rows, _original=original):
            seen.append(list(columns) if columns is not None else ["*"])
            return _original(self, columns, rows)

        monkeypatch.setattr(cls, "batches", counted)
    return seen


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_numeric_and_other_columns_are_read_in_one_pass(tmp_path, passes, fmt):
    p = tmp_path / f"penguins.{fmt}"
    df = penguins()
    df.to_csv(p, index=False) if fmt == "csv" else df.to_parquet(p)
    passes.clear()
    report = dsdoctor.check(str(p), target="body_mass_g")
    assert report.findings and len(report.columns) == 4
    # one pass, a CSV's included: its scan counts the rows (no pass on one column to count them)
    assert len(passes) == 1 and set(passes[0]) == set(df.columns), passes


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_numeric_file_costs_no_extra_pass(tmp_path, passes, fmt):
    p = tmp_path / f"n.{fmt}"
    table = pa.table({"a": np.arange(10.0), "b": np.arange(10.0) * 2})
    pq.write_table(table, p) if fmt == "parquet" else table.to_pandas().to_csv(p, index=False)
    passes.clear()
    report = dsdoctor.check(str(p))
    assert report.columns == [] and len(passes) == 1
    assert report.to_dict()["arrays"][str(p)]["shape"] == [10, 2]


def test_jobs_still_read_every_column(tmp_path):
    p = tmp_path / "penguins.parquet"
    penguins().to_parquet(p)
    serial = dsdoctor.check(str(p), target="body_mass_g")
    jobs = dsdoctor.check(str(p), target="body_mass_g", jobs=2)
    assert jobs.columns == serial.columns and [f.code for f in jobs.findings] == [
        f.code for f in serial.findings
    ]


def test_inspect_reads_the_arrays_and_the_other_columns_in_one_pass(tmp_path, passes):
    p = tmp_path / "penguins.parquet"
    penguins().to_parquet(p)
    passes.clear()
    insp = dsdoctor.inspect(str(p))
    assert len(passes) == 1, passes
    assert {e.entry.path for e in insp.entries if e.column is not None} == {
        "species", "island", "sex", "observed"}  # fmt: skip
    assert all(e.stats is not None for e in insp.entries if e.entry.kind == "array")
    broken = dsdoctor.inspect(str(corrupt_parquet(tmp_path)))
    (bad,) = [e for e in broken.entries if e.error]
    assert bad.entry.path == "s" and "BYTE_ARRAY" in bad.error
    assert [e.stats.rows for e in broken.entries if e.stats is not None] == [100, 100]


def test_a_table_without_numbers_says_what_its_columns_are(tmp_path):
    p = tmp_path / "words.parquet"
    pd.DataFrame(
        {"word": ["a", "b"], "when": pd.to_datetime(["2020-01-01", "2020-01-02"])}
    ).to_parquet(p)
    assert_clean_error(cli("check", str(p)), "its columns are word (categorical), when (datetime)")


def test_a_column_whose_rows_are_larger_than_the_chunk_is_named_not_decoded(tmp_path):
    """The corpus' large_string_map.brotli.parquet is 4 KB holding two 1 GiB strings: decoding
    it took a minute and gigabytes. A left-out column whose row is larger than ``--chunk-size``
    is not decoded, and the report says so and how to decode it; a larger chunk decodes it."""
    path = tmp_path / "big_text.parquet"
    text = pa.array(["a" * (3 << 20), "b" * (3 << 20)], pa.large_string())
    pq.write_table(pa.table({"x": [1.0, 2.0], "note": text}), path, compression="zstd")
    report = dsdoctor.check(str(path), chunk_size="1MiB").to_dict()
    (note,) = [c for c in report["columns"] if c["name"] == "note"]
    assert "not_decoded" in note["facts"] and "--chunk-size" in note["facts"]["not_decoded"]
    (f,) = [f for f in dsdoctor.check(str(path), chunk_size="1MiB").findings
            if f.name == "non-input-columns"]  # fmt: skip
    assert "not decoded" in f.message
    decoded = dsdoctor.check(str(path), chunk_size="64MiB").to_dict()
    (note,) = [c for c in decoded["columns"] if c["name"] == "note"]
    assert "not_decoded" not in note.get("facts", {}) and note["facts"]["distinct"] == 2


# -- Arrow to numpy without pandas ----------------------------------------------------------------
@pytest.mark.parametrize("type_", [pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(),
                                   pa.uint64(), pa.float16(), pa.float32(), pa.float64(),
                                   pa.bool_()], ids=str)  # fmt: skip
@pytest.mark.parametrize("nulls", [False, True])
@pytest.mark.parametrize("offset", [0, 3, 13])  # a slice starts inside a byte of a bitmap
def test_values_of_gives_what_pyarrow_gives(type_, nulls, offset):
    """``values_of`` (read from the buffers) equals pyarrow's ``to_numpy(zero_copy_only=False)``
    in values, NaN for nulls and dtype, on slices too."""
    from dsdoctor.sources.table import values_of

    rng = np.random.default_rng(offset)
    raw = rng.integers(0, 2 if type_ == pa.bool_() else 100, 40)
    values = [None if nulls and i % 5 == 2 else v for i, v in enumerate(raw.tolist())]
    if type_ == pa.bool_():
        values = [None if v is None else bool(v) for v in values]
    elif pa.types.is_floating(type_):
        values = [None if v is None else v / 4 for v in values]
    col = pa.array(values, type_).slice(offset, 20)
    got, want = values_of(col), col.to_numpy(zero_copy_only=False)
    if want.dtype == object:  # booleans with nulls: pyarrow gives True/False/None
        want = want.astype(np.float64)
    assert got.dtype == want.dtype and len(got) == 20
    np.testing.assert_array_equal(got, want)  # NaN where want has NaN
    assert len(values_of(col.slice(0, 0))) == 0


@pytest.mark.parametrize("dictionary", [False, True])
def test_text_columns_become_the_strings_pyarrow_gives(dictionary):
    from dsdoctor.sources.table import text_to_numpy

    col = pa.array(["cat", None, "dög", "", "cat", None, "bird"] * 3).slice(2, 15)
    if dictionary:
        col = col.dictionary_encode()
    got = text_to_numpy(col)
    assert got.dtype == object and got.tolist() == col.to_pylist()
    assert got.arrow is col  # counting reads the Arrow array


def test_columns_the_user_named_leave_the_others_unwarned_but_noted(tmp_path):
    """``--x t.parquet:tokens --y t.parquet:label``: the text column was not asked for, so no
    DS701 — yet the report still names it (never dropped in silence). Without a selection (the
    whole table, or only --target) DS701 names it as before."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame({
        "tokens": [rng.integers(1, 50, size=int(n)).astype(np.int32) for n in rng.integers(2, 9, 60)],
        "label": np.arange(60) % 2,
        "text": [f"sentence number {i}" for i in range(60)],
    })  # fmt: skip
    src = tmp_path / "t.parquet"
    df.to_parquet(src)

    def run(*args):
        r = cli("check", "--json", *map(str, args))
        assert r.code in (0, 1), r.stderr
        report = r.json()
        return {f["code"] for f in report["findings"]}, [c["name"] for c in report["columns"]]

    for args in ([ "--x", f"{src}:tokens", "--y", f"{src}:label"], ["--x", f"{src}:tokens"],
                 [f"{src}:tokens"]):  # fmt: skip
        codes, columns = run(*args)
        assert "DS701" not in codes and "text" in columns, args
    codes, columns = run(src)
    assert "DS701" in codes and "text" in columns
    text = cli("check", "--x", f"{src}:tokens", "--y", f"{src}:label").stdout
    assert "not analysed as inputs: text (categorical)" in text
