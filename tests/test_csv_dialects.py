"""CSV as people save it (issue 13, item 7): files written the ordinary way — pandas ``to_csv``
with ``sep=";"``, ``decimal=","``, ``header=False``, ``compression=…``, ``encoding="utf-8-sig"``,
``lineterminator="\\r\\n"``, ``np.savetxt`` — and public files nobody here wrote (scikit-learn's
headerless, compressed, space-separated CSVs; statsmodels' longley) are read with every row and
every value, by ``check``, ``inspect`` and the repairs alike. What cannot be read is one line,
exit 2."""

from __future__ import annotations

import gzip
import json
import shlex
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

import dsdoctor
from dsdoctor.errors import SourceError, UsageError
from dsdoctor.sources import open_source
from dsdoctor.sources.csv import BLOCK_BYTES, CsvSource, fits, wider_type
from dsdoctor.sources.csv_dialect import NULLS, sniff_dialect

from .conftest import assert_clean_error, cli, run

SKLEARN_DATA = Path(__import__("sklearn.datasets").datasets.__file__).parent / "data"


def longley() -> pd.DataFrame:
    """statsmodels' longley (16 rows of 7 float columns), as a user loads it."""
    sm = pytest.importorskip("statsmodels.api")
    return sm.datasets.longley.load_pandas().data


def reading(path, **options) -> dict:
    """How dsdoctor read ``path`` (the layout every array of it carries)."""
    src = open_source(str(path), **options)
    assert isinstance(src, CsvSource)
    return src.dialect.layout()


# -- delimiter, decimal mark, header row -----------------------------------------------------------
def test_semicolon_and_decimal_comma_as_pandas_writes_them(tmp_path):
    df = longley()
    p = tmp_path / "longley.csv"
    df.to_csv(p, sep=";", decimal=",", index=False)
    assert "60323,0" in p.read_text()  # really a decimal comma
    h = dsdoctor.load(str(p))
    assert h.shape == (16, 7) and h.layout["columns"] == list(df.columns)
    np.testing.assert_array_equal(h.read(), df.to_numpy())
    assert reading(p) == {"delimiter": ";", "header": "row 1", "decimal": ",",
                          "sniffed": "delimiter+decimal+header"}  # fmt: skip


def test_a_headerless_file_keeps_its_first_row(tmp_path):
    """longley saved without a header was read as 15 rows of 16, its first row the names."""
    df = longley()
    p = tmp_path / "longley.csv"
    df.to_csv(p, header=False, index=False)
    h = dsdoctor.load(str(p))
    assert h.shape == (16, 7) and h.layout["columns"] == [str(i) for i in range(7)]
    np.testing.assert_array_equal(h.read(), df.to_numpy())
    assert reading(p)["header"] == "none"
    r = cli("check", p, "--json")
    assert r.code == 0 and r.json()["arrays"][str(p)]["shape"] == [16, 7]
    # the index written too: 8 columns, the first 0..15 (h-kinds tells it is an index)
    df.to_csv(p, header=False)
    assert dsdoctor.load(str(p)).shape == (16, 8)
    # the same file with its header: read as names, 16 rows
    df.to_csv(p, index=False)
    assert dsdoctor.load(str(p)).shape == (16, 7) and reading(p)["header"] == "row 1"


def test_np_savetxt_files_are_read_as_written(tmp_path):
    """np.savetxt's default delimiter is a space, and it writes no header."""
    a = np.random.default_rng(0).normal(size=(50, 4))
    for delimiter in (" ", ",", "\t", ";"):
        p = tmp_path / "a.csv"
        np.savetxt(p, a, delimiter=delimiter)
        h = dsdoctor.load(str(p))
        assert h.shape == (50, 4), delimiter
        np.testing.assert_array_equal(h.read(), a)
        assert reading(p)["delimiter"] == delimiter and reading(p)["header"] == "none"


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_each_delimiter_is_sniffed_with_quotes_respected(tmp_path, sep):
    """Text fields holding the other delimiters (quoted by pandas where needed) do not fool
    the sniffer, whichever extension the file has."""
    df = pd.DataFrame({"note": ["a,b;c", "d|e\tf", 'say "hi", twice'], "x": [1.5, 2.5, 3.5],
                       "y": [1, 2, 3]})  # fmt: skip
    p = tmp_path / "t.csv"
    df.to_csv(p, sep=sep, index=False)
    h = dsdoctor.load(str(p))
    assert h.layout["columns"] == ["x", "y"] and reading(p)["delimiter"] == sep
    np.testing.assert_array_equal(h.read(), df[["x", "y"]].to_numpy())
    text = pacsv.read_csv  # the text column reads back whole, quotes undone
    src = open_source(str(p))
    assert isinstance(src, CsvSource) and text
    (batch,) = list(src.batches(["note"], 10))
    assert batch.column(0).to_pylist() == df["note"].tolist()


def test_header_detection_where_it_is_ambiguous(tmp_path):
    p = tmp_path / "t.csv"
    # headerless iris with its string labels: row 1 holds numbers, so it is data
    p.write_text("5.1,3.5,1.4,0.2,setosa\n4.9,3.0,1.4,0.2,setosa\n6.3,3.3,6.0,2.5,virginica\n")
    assert dsdoctor.load(f"{p}:0,1,2,3").shape == (3, 4)
    # text over text: nothing says otherwise, row 1 is the names (how to_csv writes)
    p.write_text("name,city\nada,london\nalan,wilmslow\n")
    assert reading(p)["header"] == "row 1" and open_source(str(p)).num_rows == 2
    # numeric names (years) over numbers look like data; --header says otherwise
    p.write_text("2019,2020\n1.5,2.5\n3.5,4.5\n")
    assert reading(p)["header"] == "none" and dsdoctor.load(str(p)).shape == (3, 2)
    h = dsdoctor.load(str(p), header=True)
    assert h.shape == (2, 2) and h.layout["columns"] == ["2019", "2020"]
    assert reading(p, header=True) == {"delimiter": ",", "header": "row 1", "decimal": ".",
                                       "sniffed": "delimiter+decimal"}  # fmt: skip
    # a header with an empty first name (pandas' index) over numbers is a header
    p.write_text(",a,b\n0,1.5,2\n1,2.5,3\n")
    assert reading(p)["header"] == "row 1" and open_source(str(p)).num_rows == 2


def test_a_target_named_in_a_file_read_without_header_says_why(tmp_path):
    p = tmp_path / "years.csv"
    p.write_text("2019,2020\n1.5,2.5\n3.5,4.5\n")
    r = cli("check", p, "--target", "2020")
    assert_clean_error(r, "no column '2020' for --target: its row 1 was read as data (detected: "
                       "row 1 is numbers: 2019, 2020)", "--header reads row 1 as the names")  # fmt: skip
    assert cli("check", p, "--target", "2020", "--header").code == 0


def test_no_header_names_the_columns_by_position(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("a,b,label\n1,2,0\n3,4,1\n")
    with pytest.raises(SourceError, match=r"t.csv: '0' holds text \(class labels\)"):
        dsdoctor.load(f"{p}:0,1", header=False)  # every row is data: "a" makes column 0 text
    p.write_text("1,2,0\n3,4,1\n5,6,0\n")
    r = cli("check", p, "--no-header", "--target", "2", "--json")
    assert r.code == 0, r.stderr
    assert r.json()["arrays"][f"{p}:2"]["shape"] == [3]


def test_repeated_column_names_are_numbered_as_pandas_numbers_them(tmp_path):
    """ "a,a,b" failed with "Column a does not exist in schema" (pyarrow cannot pick either)."""
    p = tmp_path / "t.csv"
    p.write_text("a,a,b\n1,2,3\n4,5,6\n")
    assert list(pd.read_csv(p).columns) == ["a", "a.1", "b"]
    h = dsdoctor.load(str(p))
    assert h.layout["columns"] == ["a", "a.1", "b"]
    np.testing.assert_array_equal(h.read(), [[1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(dsdoctor.load(f"{p}:a.1").read(), [2, 5])


def test_options_given_win_over_the_sniffer(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("a;b\n1,5;2\n3,5;4\n")
    np.testing.assert_array_equal(dsdoctor.load(str(p)).read(), [[1.5, 2], [3.5, 4]])
    assert reading(p, delimiter="semicolon", decimal=",")["delimiter"] == ";"
    assert "sniffed" not in reading(p, delimiter=";", decimal=",", header=True)
    q = tmp_path / "t.tsv"
    q.write_text("a\tb\n1\t2\n")
    assert dsdoctor.load(str(q), delimiter="tab").shape == (1, 2)


# -- compression, BOM, line ends ----------------------------------------------------------------------
COMPRESSIONS = {"gzip": ".gz", "bz2": ".bz2", "xz": ".xz", "zstd": ".zst"}


@pytest.mark.parametrize("stem", ["data.csv", "data.tsv"])
@pytest.mark.parametrize("compression", sorted(COMPRESSIONS))
def test_compressed_csv_by_extension(tmp_path, compression, stem):
    if compression == "zstd":
        pytest.importorskip("zstandard")  # what pandas writes zstd with
    df = longley()
    p = tmp_path / f"{stem}{COMPRESSIONS[compression]}"
    df.to_csv(p, sep="\t" if stem.endswith("tsv") else ",", index=False, compression=compression)
    assert p.read_bytes()[:2] != b"TO"  # really compressed
    h = dsdoctor.load(str(p))
    np.testing.assert_array_equal(h.read(), df.to_numpy())
    assert reading(p)["compression"] == compression
    r = cli("inspect", p)
    assert r.code == 0 and f", {compression}" in r.stdout.splitlines()[1]


def test_sklearn_ships_headerless_and_compressed_csv(tmp_path):
    """Public files nobody here wrote: digits.csv.gz (64 pixels and the label, no header),
    diabetes_data_raw.csv.gz (space-separated, no header), linnerud (space-separated, a header),
    each read as scikit-learn's own loaders read them."""
    from sklearn import datasets

    digits = dsdoctor.load(str(SKLEARN_DATA / "digits.csv.gz"))
    x, y = datasets.load_digits(return_X_y=True)
    assert digits.shape == (1797, 65)
    np.testing.assert_array_equal(digits.read(), np.column_stack([x, y]))
    raw = dsdoctor.load(str(SKLEARN_DATA / "diabetes_data_raw.csv.gz"))
    np.testing.assert_array_equal(raw.read(), np.loadtxt(SKLEARN_DATA / "diabetes_data_raw.csv.gz"))
    target = dsdoctor.load(str(SKLEARN_DATA / "diabetes_target.csv.gz"))
    assert target.shape == (442,)
    exercise = dsdoctor.load(str(SKLEARN_DATA / "linnerud_exercise.csv"))
    assert exercise.layout["columns"] == ["Chins", "Situps", "Jumps"]
    np.testing.assert_array_equal(exercise.read(), datasets.load_linnerud().data)


def test_bom_and_crlf(tmp_path):
    df = pd.DataFrame({"text": ["a", "b c", "d"], "x": [1.5, 2.5, 3.5]})
    p = tmp_path / "excel.csv"
    df.to_csv(p, index=False, encoding="utf-8-sig", lineterminator="\r\n")
    assert p.read_bytes().startswith(b"\xef\xbb\xbftext,x\r\n")
    src = open_source(str(p))
    assert src.schema.names == ["text", "x"]  # no BOM in the first name
    (batch,) = list(src.batches(None, 10))
    assert batch.column(0).to_pylist() == ["a", "b c", "d"]  # no stray \r
    np.testing.assert_array_equal(dsdoctor.load(f"{p}:x").read(), [1.5, 2.5, 3.5])
    assert "byte-order mark" in src.reading()


# -- types past the first block ------------------------------------------------------------------------
def late_values(path: Path, rows: int = 600_000, **to_csv) -> pd.DataFrame:
    """A file past one 4 MiB block whose column ``b`` is integers until a 1.5 near the end,
    ``c`` integers until a word, ``d`` empty until a 7 (pyarrow's first block says int64,
    int64 and null)."""
    df = pd.DataFrame({"a": np.arange(rows), "b": (np.arange(rows) % 7).astype(object),
                       "c": np.ones(rows, dtype=np.int64).astype(object),
                       "d": pd.array([None] * rows, dtype="Int64")})  # fmt: skip
    df.loc[rows - 5, "b"] = 1.5
    df.loc[rows - 3, "c"] = "oops"
    df.loc[rows - 2, "d"] = 7
    df.to_csv(path, index=False, **to_csv)
    return df


@pytest.mark.parametrize("name", ["late.csv", "late.csv.gz"])
def test_a_late_float_makes_the_column_float_and_late_text_makes_it_text(tmp_path, name):
    p = tmp_path / name
    df = late_values(p)
    assert p.stat().st_size > BLOCK_BYTES or name.endswith(".gz")
    first = pacsv.open_csv(p).schema  # what pyarrow alone infers, and then fails on
    assert [first.field(c).type for c in "bcd"] == [pa.int64(), pa.int64(), pa.null()]
    src = open_source(str(p))
    assert [str(src.schema.field(c).type) for c in "abcd"] == ["int64", "double", "string", "int64"]
    assert set(src.widened) == {"b", "c", "d"} and "'1.5'" in src.widened["b"]
    b = dsdoctor.load(f"{p}:b").read()
    assert b.dtype == np.float64 and b[-5] == 1.5 and b.sum() == df["b"].astype(float).sum()
    d = dsdoctor.load(f"{p}:d").read()
    assert np.isnan(d).sum() == len(df) - 1 and np.nansum(d) == 7
    # check, inspect and a repair read the file the same way
    r = cli("inspect", p, "--json")
    entries = {e["path"]: e for e in r.json()["sources"][0]["entries"]}
    assert entries["b"]["dtype"] == "float64" and "note" in entries["c"]
    assert "read as float64" in r.json()["sources"][0]["reading"]
    out = tmp_path / "ab.npy"
    r = cli("select", p, "--columns", "a,b", "-o", out)
    assert r.code == 0, r.stderr
    np.testing.assert_array_equal(np.load(out), df[["a", "b"]].astype(float).to_numpy())
    r = cli("check", p, "--target", "b", "--json")
    assert r.code in (0, 1), r.stderr
    assert r.json()["arrays"][f"{p}:b"]["dtype"] == "float64"


def test_a_clean_file_past_one_block_is_converted_once(tmp_path, monkeypatch):
    """The check of types costs nothing more on a file that needs no widening: no second pass."""
    p = tmp_path / "clean.csv"
    n = 400_000
    pd.DataFrame({"a": np.arange(n), "b": np.arange(n) * 0.5}).to_csv(p, index=False)
    assert p.stat().st_size > BLOCK_BYTES
    opened = []
    real = CsvSource._open

    def counting(self, *args, **kwargs):
        opened.append(kwargs.get("skip", 0))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(CsvSource, "_open", counting)
    h = dsdoctor.load(str(p))
    assert h.read().shape == (n, 2)
    assert len(opened) == 3  # the schema, the checked count, the data: no widening pass


def opened_readers(monkeypatch) -> list[int]:
    """Every CSV reader dsdoctor opens (the rows each skips), as the test goes on."""
    opened: list[int] = []
    real = CsvSource._open

    def counting(self, *args, **kwargs):
        opened.append(kwargs.get("skip", 0))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(CsvSource, "_open", counting)
    return opened


def types_settled_first(monkeypatch) -> None:
    """Every CSV opened from here on the way other commands open it: the types settled by a
    pass of their own before anything else (what ``check`` did before it parsed a file once)."""
    real = CsvSource.__init__

    def eager(self, *args, **kwargs):
        real(self, *args, **{**kwargs, "one_pass": False})

    monkeypatch.setattr(CsvSource, "__init__", eager)


def labelled(path: Path, rows: int = 300_000) -> pd.DataFrame:
    """Past one block: two numeric columns (NaN early and late) and a string label."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x1": rng.standard_normal(rows).round(3), "x2": np.arange(rows),
                       "label": rng.choice(["cat", "dog", "bird"], rows)})  # fmt: skip
    df.loc[[5, rows - 7], "x1"] = np.nan
    df.to_csv(path, index=False)
    return df


def test_check_parses_a_file_once(tmp_path, monkeypatch):
    """``check`` of a clean file past one block reads it once: the scan is what checks the types
    of the first block on every row and counts the rows; its report is the one the file read
    the other way (types and rows first, then the data) gives."""
    p = tmp_path / "labelled.csv"
    df = labelled(p)
    assert p.stat().st_size > BLOCK_BYTES
    opened = opened_readers(monkeypatch)
    report = dsdoctor.check(str(p), target="label").to_dict()
    assert len(opened) == 2  # the first block for the types; the scan, which checks them
    x, y = report["arrays"][str(p)], report["arrays"][f"{p}:label"]
    assert x["shape"] == [len(df), 2] and y["shape"] == [len(df)]
    assert x["stats"]["rows"] == y["stats"]["rows"] == len(df)
    assert report["datasets"][0]["sources"][0]["samples"] == len(df)
    opened.clear()
    types_settled_first(monkeypatch)
    assert dsdoctor.check(str(p), target="label").to_dict() == report
    assert len(opened) == 3  # the schema, the checked types and count, then the data


@pytest.mark.parametrize("name", ["late.csv", "late.csv.gz"])
def test_check_finds_a_type_change_past_the_first_block_as_before(tmp_path, monkeypatch, name):
    """A value past the first block that its column's type cannot hold stops the one pass;
    ``check`` starts again with the types settled first, and reports what it always did."""
    p = tmp_path / name
    df = late_values(p)
    opened = opened_readers(monkeypatch)
    report = dsdoctor.check(str(p), target="a").to_dict()
    again = len(opened)
    assert again >= 5  # the one pass's two readers; types settled (widened) and the data
    x = report["arrays"][str(p)]
    assert x["layout"]["columns"] == ["b", "d"]  # c is text now: a column, not an input
    assert x["dtype"] == "float64" and x["shape"] == [len(df), 2]
    assert "b: float64: a value after row" in x["layout"]["widened"]
    assert [c["name"] for c in report["columns"]] == ["c"]
    opened.clear()
    types_settled_first(monkeypatch)
    assert dsdoctor.check(str(p), target="a").to_dict() == report
    assert len(opened) == again - 2  # all but the one pass's readers (types, stopped scan)


def test_a_row_longer_than_the_scans_block_is_read_as_before(tmp_path, monkeypatch):
    """The one-pass scan reads 1 MiB blocks where the head's rows are short; a later row longer
    than that (pyarrow cannot split a row between blocks) makes ``check`` start again, reading
    the file as before (4 MiB blocks)."""
    from dsdoctor.sources.csv import SCAN_BLOCK

    p = tmp_path / "long.csv"
    rows = 300_000
    df = pd.DataFrame({"x": np.arange(rows) * 0.5, "note": ["ok"] * rows})
    df.loc[rows - 10, "note"] = "z" * (2 * SCAN_BLOCK)
    df.to_csv(p, index=False)
    assert p.stat().st_size > BLOCK_BYTES
    opened = opened_readers(monkeypatch)
    report = dsdoctor.check(str(p), target="note").to_dict()
    assert report["arrays"][str(p)]["stats"]["rows"] == rows
    assert len(opened) == 5  # types, the scan that stopped; then types, count, data
    types_settled_first(monkeypatch)
    assert dsdoctor.check(str(p), target="note").to_dict() == report


def test_check_of_a_table_does_not_import_pandas(tmp_path):
    """pyarrow's ``to_numpy`` imports pandas (0.2-1 s); checking a CSV or Parquet file whose
    columns are numbers, text with missing values and booleans never needs it."""
    import subprocess
    import sys

    table = pa.table({"x": pa.array([1.5, None, 3.0] * 50), "n": pa.array([1, 2, None] * 50),
                      "ok": pa.array([True, None, False] * 50),
                      "label": pa.array(["cat", None, "dog"] * 50)})  # fmt: skip
    pacsv.write_csv(table, tmp_path / "t.csv")
    import pyarrow.parquet as pq

    pq.write_table(table, tmp_path / "t.parquet")
    for name in ("t.csv", "t.parquet"):
        code = ("import sys, dsdoctor; r = dsdoctor.check(sys.argv[1], target='label');"
                "print(len(r.findings), 'pandas' in sys.modules)")  # fmt: skip
        out = subprocess.run([sys.executable, "-c", code, str(tmp_path / name)],
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
        assert out.split()[1] == "False", (name, out)


def test_wider_type_follows_pyarrows_conversion():
    """The test-casts agree with the CSV reader: spaces trimmed, 1.5 not an integer, a decimal
    comma only with --decimal ,."""
    text = pa.array([" 1", "2 ", None])
    assert fits(pa.int64(), text) and wider_type(pa.null(), text, ".") == pa.int64()
    assert wider_type(pa.int64(), pa.array(["1", "1.5"]), ".") == pa.float64()
    assert wider_type(pa.int64(), pa.array(["1", "1,5"]), ",") == pa.float64()
    assert wider_type(pa.int64(), pa.array(["1", "1.5"]), ",") == pa.string()
    assert wider_type(pa.float64(), pa.array(["inf", "x"]), ".") == pa.string()
    for value in ["1", " 7 ", "0x10", "1.5", "1e3", "nan", "inf", "abc", "+1"]:
        for t in (pa.int64(), pa.float64()):
            try:
                pacsv.read_csv(pa.py_buffer(f"a\n{value}\n".encode()),
                               convert_options=pacsv.ConvertOptions(column_types={"a": t}))  # fmt: skip
                converts = True
            except pa.ArrowInvalid:
                converts = False
            text = pa.array([None if value in NULLS else value], pa.string())  # as read as text
            assert fits(t, text) == converts, (value, t)


def test_the_null_values_are_pyarrows():
    assert set(pacsv.ConvertOptions().null_values) == NULLS


# -- the options reach every reader ----------------------------------------------------------------
def test_given_options_reach_the_repair_a_fix_runs(tmp_path):
    """--header on numeric names: check reads 3 rows, and the select its fix prints (run as
    printed) reads the same 3 — without --header it would read 4."""
    p = tmp_path / "years.csv"
    p.write_text("2019,2020,2021\n1.5,2.5,3.5\n4.5,5.5,6.5\n7.5,8.5,9.5\n")
    r = cli("check", p, "--header", "--features", "2", "--json")
    assert r.code == 1, r.stderr
    assert next(iter(r.json()["arrays"].values()))["shape"] == [3, 3]
    fixes = [fix["command"] for f in r.json()["findings"] for fix in f.get("fixes", [])]
    command = next(c for c in fixes if c.startswith("dsdoctor select "))
    assert "--header" in command
    words = shlex.split(command)[1:]
    r = cli(*words)
    assert r.code == 0, r.stderr
    out = words[words.index("-o") + 1]
    np.testing.assert_array_equal(np.load(out), [[1.5, 2.5], [4.5, 5.5], [7.5, 8.5]])
    r = cli("repair", p, "--header", "--features", "2", "--allow", "lossless,assumption,lossy",
            "-o", tmp_path / "fixed", "--json")  # fmt: skip
    assert r.code == 0, r.stderr
    applied = r.json()["applied"]
    assert applied and np.load(applied[0]["result"]["outputs"][0]).shape == (3, 2)


def test_options_reach_the_engines_workers(tmp_path):
    for i in range(2):
        pd.DataFrame({"x": np.arange(5.0) + i, "y": np.arange(5.0)}).to_csv(
            tmp_path / f"s{i}.csv", sep=";", header=False, index=False, decimal=","
        )
    r = cli("check", f"{tmp_path}/s*.csv", "--no-header", "--jobs", "2", "--json")
    assert r.code == 0, r.stderr
    (array,) = r.json()["arrays"].values()
    assert array["shape"] == [10, 2] and array["stats"]["rows"] == 10


ORDINARY = {
    "sep-decimal": ("longley.csv", {"sep": ";", "decimal": ","}),
    "no-header": ("longley.csv", {"header": False}),
    "gzip-tsv": ("longley.tsv.gz", {"sep": "\t", "compression": "gzip"}),
    "excel": ("longley.csv", {"encoding": "utf-8-sig", "lineterminator": "\r\n", "sep": ";",
                              "decimal": ","}),
    "xz-no-header": ("longley.csv.xz", {"header": False, "compression": "xz", "sep": "|"}),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(ORDINARY))
def test_check_inspect_and_select_read_a_file_alike(tmp_path, case):
    """The same 16 rows and 7 columns through check, inspect and the select repair."""
    name, to_csv = ORDINARY[case]
    df = longley()
    p = tmp_path / name
    df.to_csv(p, index=False, **to_csv)
    r = cli("check", p, "--json")
    assert r.code == 0, r.stderr
    assert r.json()["arrays"][str(p)]["shape"] == [16, 7]
    r = cli("inspect", p, "--json")
    entries = r.json()["sources"][0]["entries"]
    assert len(entries) == 7 and {e["shape"][0] for e in entries} == {16}
    np.testing.assert_array_equal([e["stats"]["max"] for e in entries], df.max().to_numpy())
    out = tmp_path / "first3.npy"
    r = cli("select", p, "--first", "3", "-o", out)
    assert r.code == 0, r.stderr
    np.testing.assert_array_equal(np.load(out), df.iloc[:, :3].to_numpy())


# -- what cannot be read ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"", "is empty"),
        (b"\n\n  \n", "is empty"),
        (b"\xef\xbb\xbf", "is empty"),
        (bytes(range(256)) * 4, "NUL"),
        (gzip.compress(b"a,b\n1,2\n"), "gzip-compressed data"),
        (b"\x93NUMPY\x01\x00" + bytes(100), "a .npy array"),
        (b"PK\x03\x04" + bytes(100), "zip archive"),
        ("a,b\n1,2\n".encode("utf-16"), "UTF-16"),
    ],
)
def test_what_is_not_csv_text_is_one_line(tmp_path, content, needle):
    p = tmp_path / "data.csv"
    p.write_bytes(content)
    for command in ("check", "inspect"):
        assert_clean_error(cli(command, p), needle)


def test_a_damaged_compressed_file_is_one_line(tmp_path):
    p = tmp_path / "data.csv.gz"
    p.write_bytes(b"not gzip at all, " * 10)
    assert_clean_error(cli("check", p), "data.csv.gz cannot be read as gzip-compressed CSV")
    p = tmp_path / "cut.csv.xz"
    pd.DataFrame({"a": np.arange(100_000)}).to_csv(tmp_path / "full.csv.xz", index=False)
    p.write_bytes((tmp_path / "full.csv.xz").read_bytes()[:-5000])
    assert_clean_error(cli("check", p), "cut.csv.xz")


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        (["--delimiter", "ab"], "not one character"),
        (["--delimiter", "x"], "cannot separate CSV fields"),
        (["--delimiter", '"'], "cannot separate CSV fields"),
        (["--delimiter", "."], "cannot separate CSV fields"),
        (["--decimal", ";"], "not a decimal mark"),
        (["--delimiter", ";", "--decimal", ";"], "not a decimal mark"),
        (["--delimiter", ",", "--decimal", ","], "is also the --delimiter"),
        (["--delimiter", ";"], "has no semicolon (';') in its first 3 rows; it is comma"),
        (["--decimal", ","], "give the delimiter with --delimiter"),
    ],
)
def test_a_delimiter_that_makes_no_sense_is_one_line(tmp_path, options, needle):
    p = tmp_path / "data.csv"
    p.write_text("a,b\n1,2\n3,4\n")
    r = run("check", p, *options)
    assert_clean_error(r, needle)


def test_the_api_refuses_what_the_cli_refuses(tmp_path):
    p = tmp_path / "data.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(UsageError, match="not one character"):
        dsdoctor.load(str(p), delimiter=";;")
    with pytest.raises(UsageError, match="not a decimal mark"):
        dsdoctor.check(str(p), decimal="'")


def test_sniffing_reads_a_bounded_head(tmp_path):
    """The head is parsed, not the file: a 100,000-column header cut short still names the
    delimiter, and a semicolon file with one decimal comma per row is not comma-separated."""
    wide = (",".join(f"c{i}" for i in range(100_000)) + "\n").encode()
    d = sniff_dialect(wide[:65536], whole=False, display="w.csv")
    assert d.delimiter == "," and d.header
    d = sniff_dialect(b"a;b\n1,5;2\n2,5;3\n", whole=True, display="s.csv")
    assert (d.delimiter, d.decimal, d.header) == (";", ",", True)


def test_inspect_says_how_the_file_was_read(tmp_path):
    p = tmp_path / "longley.csv.gz"
    longley().to_csv(p, sep=";", decimal=",", header=False, index=False, compression="gzip")
    r = cli("inspect", p, "--no-stats")
    assert r.code == 0, r.stderr
    line = r.stdout.splitlines()[1]
    assert line.startswith(
        "read as delimiter ';' (sniffed), header: none (detected: row 1 is numbers: 60323,0"
    )
    assert line.endswith("decimal ',' (sniffed), gzip")
    data = json.loads(cli("inspect", p, "--no-stats", "--json").stdout)["sources"][0]
    assert data["reading"] == line.removeprefix("read as ")
    assert data["entries"][0]["layout"]["dialect"]["compression"] == "gzip"
