"""Names from files never reach the terminal raw: every human output shows their control
characters as escapes (``dsdoctor.render.safe.printable``), whatever command prints them.

The names hold ESC sequences (clear screen, window title, colours), BEL, CR, a newline followed by
a forged report line, and U+202E RIGHT-TO-LEFT OVERRIDE; they reach the output as a Parquet
column, an npz member, an HDF5 dataset, a CSV header and a file name.
"""

from __future__ import annotations

import json

import h5py
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dsdoctor.render.safe import printable

from .conftest import assert_clean_error, run

HOSTILE = "n\x1b[2J\x1b]0;owned\x07\rX\nhealthy: no findings\u202etxt.\x9b31m"
RAW = ("\x1b", "\x07", "\r", "\u202e", "\x9b")


def assert_safe(text: str, *, shown: bool = True) -> None:
    for c in RAW:
        assert c not in text, (c, text)
    assert "healthy: no findings" not in text.splitlines()  # the forged line stays inside a name
    if shown:  # the name is there, escaped
        assert "\\x1b[2J\\x1b]0;owned\\x07\\rX" in text and "\\u202etxt" in text, text


@pytest.fixture
def files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    x = np.array([[1.0, np.nan], [2.0, 3.0]])
    pq.write_table(pa.table({HOSTILE: pa.array([1.0, np.nan, 3.0]), "y": [0, 1, 2]}), "t.parquet")
    np.savez("m.npz", **{HOSTILE: x, "ok": np.zeros(2)})
    with h5py.File("d.h5", "w") as f:
        f[HOSTILE.replace("/", "_")] = x
        f["ok"] = np.zeros(2)
    pd.DataFrame({HOSTILE: [1.0, float("nan")], "b": [1, 2]}).to_csv("c.csv", index=False)
    np.save(HOSTILE.replace("/", "_").replace("\n", "_") + ".npy", x)
    return tmp_path


SOURCES = ["t.parquet", "m.npz", "d.h5", "c.csv"]


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("command", [["inspect"], ["check"], ["check", "--quiet"]])
def test_text_output_escapes_names(files, source, command):
    r = run(*command, source)
    assert r.code in (0, 1), r.stderr
    # inspect lists every name; check names member arrays (a table's columns are its features)
    assert_safe(r.stdout, shown=command == ["inspect"] or source in ("m.npz", "d.h5"))
    assert not any(c in r.stderr for c in RAW)


def test_a_file_name_in_check_output(files):
    name = HOSTILE.replace("/", "_").replace("\n", "_") + ".npy"
    r = run("check", "--x", name)
    assert r.code == 1, r.stderr
    assert_safe(r.stdout)


@pytest.mark.parametrize("fmt", ["github", "junit", "html"])
def test_report_formats_escape_names(files, fmt):
    out = files / f"report.{fmt}"
    r = run("check", "m.npz", "--format", fmt, "-o", out)
    assert r.code in (0, 1), r.stderr
    text = out.read_text()
    for c in RAW:
        assert c not in text, (fmt, c)


def test_json_keeps_the_exact_name(files):
    r = run("check", "m.npz", "--json")
    names = list(r.json()["arrays"])
    assert any(HOSTILE in n for n in names)
    assert "\x1b" not in r.stdout  # JSON writes \u001b
    assert json.loads(r.stdout)


def test_an_error_line_escapes_the_name(files):
    r = run("check", "--x", "gone\x1b[2J\u202e.npy")
    assert_clean_error(r, "\\x1b[2J\\u202e")
    assert "\x1b" not in r.stderr and "\u202e" not in r.stderr


def test_printable_shows_every_control_as_an_escape():
    assert printable("a\x1bb\x07\r\n\t\x7f\x85\u202e\u2066\u2028") == (
        "a\\x1bb\\x07\\r\\n\\t\\x7f\\x85\\u202e\\u2066\\u2028"
    )
    assert printable("line\none\x1b", lines=True) == "line\none\\x1b"
    assert printable("données 数据 ok") == "données 数据 ok"
