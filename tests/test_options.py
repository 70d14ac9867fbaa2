"""Option values: every option that takes a number, a list, a dtype, a size, a pad length or an
output name goes through one parser of its kind (``cli/_options.py`` over ``dsdoctor.units``), so
a bad value is exit 2 with one line naming the option — never exit 3 from deeper down.

The parametrised test walks the real click command tree, so an option added later is covered,
and a test fails if a numeric option is declared with click's own INT/FLOAT (which accept NaN,
``1e999`` and numbers past an int64).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import typer.main

from dsdoctor.cli import _options as opts
from dsdoctor.cli import app

from .conftest import Result, assert_clean_error, run

ROOT = typer.main.get_command(app)  # built once: invoked directly, ~100x faster than CliRunner


def _commands():
    def walk(cmd, path):
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                yield from walk(sub, [*path, name])
        else:
            yield path, cmd

    return list(walk(ROOT, []))


def _invoke(capsys, *args: str) -> Result:
    """The CLI in this process through the app's own entry point (its error translation)."""
    code = ROOT.main(list(args), standalone_mode=False)
    out = capsys.readouterr()
    return Result(code, out.out, out.err)


#: Bad values for each kind of parser.
BAD = {
    opts.COUNT: ["", "x", "1.5", "0", "-1", "nan", "99999999999999999999", "1" * 400],
    opts.POSITIVE_LIST: ["", ",", "a", "a,b", "1,,2", "0,5", "2,99999999999999999999", "nan"],
    opts.INDEX_LIST: ["", ",", "a,b", "1,,2", "99999999999999999999", "nan"],
    opts.NUMBER: ["", "x", "1e999", "-1e999", "1" * 400 + ".5"],
    opts.FINITE: ["", "x", "nan", "inf", "-inf", "1e999"],
    opts.DTYPE: ["", "foo", "object", "U8", "datetime64[s]", "V4"],
    opts.MAXLEN: ["", "x", "-3", "p200", "p0", "p", "99999999999999999999", "nan"],
    opts.SIZE: ["", "x", "0", "-1GiB", "nan", "1e999GiB", "99999999999999999999TiB", "8 parsecs"],
    opts.OUTPUT: ["a" * 250 + ".npy", "d/" + "é" * 120 + ".npy"],
}

#: A valid value for a required option that is not the one under test.
GOOD = {opts.COUNT: "2", opts.OUTPUT: "out.npy"}


def _cases():
    out = []
    for path, cmd in _commands():
        for p in cmd.params:
            func = getattr(p.type, "func", None)
            if func in BAD:
                for bad in BAD[func]:
                    out.append(pytest.param(path, cmd, p, bad, id=f"{' '.join(path)} {p.opts[0]}={bad[:12]!r}"))  # fmt: skip
    return out


def _argv(path, cmd, param, value) -> list[str]:
    args = [*path]
    for p in cmd.params:
        if p is param or not p.required:
            continue
        if p.param_type_name == "argument":
            args.append("x.npy")
        else:
            args += [p.opts[0], GOOD.get(getattr(p.type, "func", None), "x")]
    return [*args, f"{param.opts[0]}={value}"]


def test_no_numeric_option_bypasses_the_parsers():
    import click

    loose = [
        (" ".join(path), p.opts[0])
        for path, cmd in _commands()
        for p in cmd.params
        if isinstance(p.type, click.types.IntParamType | click.types.FloatParamType)
    ]
    assert not loose


def test_every_parser_kind_is_used():
    used = {getattr(p.type, "func", None) for _, cmd in _commands() for p in cmd.params}
    assert set(BAD) <= used


@pytest.mark.parametrize(("path", "cmd", "param", "value"), _cases())
def test_a_bad_option_value_is_one_line_naming_the_option(tmp_path, monkeypatch, capsys, path,
                                                          cmd, param, value):  # fmt: skip
    monkeypatch.chdir(tmp_path)
    r = _invoke(capsys, *_argv(path, cmd, param, value))
    assert_clean_error(r, param.opts[0])


# -- the issue's cases, end to end --------------------------------------------------------------
@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.save("x.npy", np.arange(12, dtype=np.float32).reshape(4, 3))
    np.save("empty.npy", np.zeros((5, 0)))
    seqs = pa.array([[1, 2], [3], [4, 5, 6]], pa.list_(pa.int64()))
    pq.write_table(pa.table({"t": seqs}), "s.parquet")
    return tmp_path


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["select", "x.npy", "--features", "a,b", "-o", "o.npy"], "--features"),
        (["select", "x.npy", "--features", "", "-o", "o.npy"], "--features"),
        (["bucket", "s.parquet:t", "--boundaries", "a", "-o", "b"], "--boundaries"),
        (["bucket", "s.parquet:t", "--boundaries", "2,99999999999999999999", "-o", "b"],
         "--boundaries"),
        (["pad", "s.parquet:t", "--dtype", "foo", "-o", "p.npy"], "--dtype"),
        (["pad", "s.parquet:t", "--maxlen", "99999999999999999999", "-o", "p.npy"], "--maxlen"),
        (["pad", "s.parquet:t", "--maxlen", "3000000000", "-o", "p.npy"], "shorter --maxlen"),
        (["bucket", "s.parquet:t", "--boundaries", "2,3000000000", "--pad-to-boundary", "-o",
          "b"], "shorter --maxlen"),
        (["pad", "s.parquet:t", "--value", "nan", "-o", "p.npy"], "cannot be stored as int64"),
        (["pad", "s.parquet:t", "--value", "inf", "-o", "p.npy"], "cannot be stored as int64"),
        (["pad", "s.parquet:t", "-o", "a" * 300 + ".npy"], "--output"),
        (["check", "--x", "x.npy", "--batch-size", "99999999999999999999"], "--batch-size"),
        (["plan", "s.parquet:t", "--batch-size", "2", "--lr", "nan"], "--lr"),
    ],
)  # fmt: skip
def test_the_issue_cases_are_one_line(data, args, needle):
    r = run(*args)
    assert_clean_error(r, needle)
    assert not (data / "p.npy").exists()


def test_a_zero_width_array_with_a_mask_value_is_a_report(data):
    r = run("check", "--x", "empty.npy", "--mask-value", "0", "--json")
    assert r.code in (0, 1), r.stderr
    names = {f["name"] for f in r.json()["findings"]}
    assert "empty-sequences" in names


def test_select_negative_index_counts_from_the_end(data):
    r = run("select", "x.npy", "--features=-1", "-o", "last.npy")
    assert r.code == 0, r.stderr
    assert np.load(data / "last.npy").tolist() == [[2.0], [5.0], [8.0], [11.0]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("-1", -1),
        ("0.5", 0.5),
        ("1e3", 1000),
        ("1e300", 1e300),
        ("nan", "nan"),
        ("-inf", float("-inf")),
    ],
)
def test_number_parser_keeps_integers_whole(text, expected):
    from dsdoctor.units import parse_number

    got = parse_number(text)
    if expected == "nan":
        assert got != got
    else:
        assert got == expected and type(got) is type(expected)


# -- fuzz replay (``make fuzz`` runs the long campaign: fuzz/targets.py, target "options") --------
def test_fuzzed_option_values_give_a_report_or_one_error_line(tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fuzz"))
    from targets import fuzzed_options, random_option_value, run_one

    rng = np.random.default_rng(20261128)
    valid = [b"3", b"p95", b"0,1", b"2", b"64MiB", b"float32", b"-1"]
    outcomes = {"report": 0, "error": 0}
    for i, pair in enumerate(fuzzed_options()):
        value = valid[i % len(valid)] if i % 2 else random_option_value(rng)
        data = bytes([i]) + value
        try:
            outcomes[run_one(data, "options", str(tmp_path))] += 1
        except Exception as exc:
            raise AssertionError(f"{pair} = {value!r}: {type(exc).__name__}: {exc}") from exc
    assert outcomes["report"] > 0 and outcomes["error"] > 0, outcomes
