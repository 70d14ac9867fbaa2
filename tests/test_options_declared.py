"""Options declared once: walking every command of the real app, the commands that read a source
take the same source options, the commands that take a model expectation take the same ones, and
an option name means one thing on every command (same help text). Option *values* are
tests/test_options.py's.

The walk reads the click command tree typer builds, so a command added later is covered.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import typer.main

from dsdoctor.cli import app

from .conftest import assert_clean_error, run

ROOT = typer.main.get_command(app)

SOURCE_OPTIONS = ("--source-format", "--target", "--allow-pickle", "--follow-external",
                  "--chunk-size", "--delimiter", "--header", "--no-header", "--decimal",
                  "--storage-option")  # fmt: skip
EXPECTATIONS = ("--input-shape", "--features", "--timesteps", "--classes", "--mask-value",
                "--batch-size", "--memory", "--vocab-size")  # fmt: skip

#: ``--format`` is the report format on ``check``; on the commands where it already named the
#: source format before ``--source-format`` existed it stays as that option's second name.
FORMAT_ALIAS_ON = {"inspect", "pad", "mask", "replicate", "reshape", "select", "bucket"}

#: Names whose help is the command's own on purpose, with the reason.
PER_COMMAND = {
    "--split": "window --split F is the training fraction of each series; check --split "
    "NAME=DATA names one split of the dataset",
    "--group": "window --group COL cuts the series at each value; check --group COL is the group "
    "whose values must not be in two splits",
    "--output": "what -o writes differs per command (a report, an array, a folder, a spec)",
    "-o": "the short name of --output",
    "--features": "select --features I,J names the features to keep (its fixes print it); "
    "elsewhere --features N is the width the model expects",
    "--each": "replicate --each K repeats each sample K times (DS101's fixes print it); on check "
    "and repair --each checks each source on its own",
}


def _commands() -> dict:
    """Every command (``spec infer`` for a sub-command) → its click command. typer may vendor
    click, so the walk goes by attributes, not by click's classes."""
    out: dict = {}

    def walk(cmd, path: list[str]) -> None:
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                walk(sub, [*path, name])
        else:
            out[" ".join(path)] = cmd

    walk(ROOT, [])
    return out


COMMANDS = _commands()


def _options(cmd) -> dict:
    """Every visible option name of ``cmd`` → its option."""
    return {
        name: p
        for p in cmd.params
        if p.param_type_name == "option" and not p.hidden
        for name in [*p.opts, *p.secondary_opts]
    }


def _reads_source(cmd) -> bool:
    """A source argument, or inputs named with --x."""
    return any(p.param_type_name == "argument" and p.name in ("src", "sources") for p in cmd.params) \
        or "--x" in _options(cmd)  # fmt: skip


def test_the_walk_finds_the_commands():
    readers = {name for name, cmd in COMMANDS.items() if _reads_source(cmd)}
    assert readers == {
        "inspect",
        "check",
        "plan",
        "spec infer",
        "repair",
        "dropna",
        "impute",
        *FORMAT_ALIAS_ON - {"inspect"},
        "encode",
        "shift",
        "window",
    }


@pytest.mark.parametrize("name", sorted(n for n, c in COMMANDS.items() if _reads_source(c)))
def test_every_command_that_reads_a_source_takes_the_source_options(name):
    options = _options(COMMANDS[name])
    missing = [o for o in SOURCE_OPTIONS if o not in options]
    assert not missing, f"dsdoctor {name} has no {', '.join(missing)}"


def test_every_command_that_takes_a_model_expectation_takes_them_all():
    takers = [n for n, c in COMMANDS.items() if "--input-shape" in _options(c)]
    assert set(takers) >= {"check", "repair"}
    for name in takers:
        missing = [o for o in EXPECTATIONS if o not in _options(COMMANDS[name])]
        assert not missing, f"dsdoctor {name} has no {', '.join(missing)}"


def test_an_option_name_means_one_thing_on_every_command():
    seen: dict[str, tuple[str, str | None]] = {}
    clashes = []
    for cmd_name, cmd in COMMANDS.items():
        for opt_name, opt in _options(cmd).items():
            if opt_name in PER_COMMAND or (opt_name == "--format" and cmd_name != "check"):
                continue
            first = seen.setdefault(opt_name, (cmd_name, opt.help))
            if first[1] != opt.help:
                clashes.append(
                    f"{opt_name}: {first[0]} says {first[1]!r}, {cmd_name} says {opt.help!r}"
                )
    assert not clashes, "\n".join(clashes)


def test_format_is_the_old_name_of_source_format_only_where_it_was_one():
    for name, cmd in COMMANDS.items():
        options = _options(cmd)
        if "--format" not in options:
            continue
        same = options["--format"] is options.get("--source-format")
        if name == "check":
            assert not same  # the report format
        else:
            assert name in FORMAT_ALIAS_ON and same, f"dsdoctor {name} --format"


def test_select_features_is_the_only_per_command_features():
    """The one name with two meanings is listed above; a third meaning would fail here."""
    helps = {
        opt.help
        for cmd in COMMANDS.values()
        for name, opt in _options(cmd).items()
        if name == "--features"
    }
    assert len(helps) == 2


def test_each_means_two_things_only():
    """check and repair share the declared --each; replicate's --each K is the other meaning."""
    helps = {
        name: opt.help
        for name, cmd in COMMANDS.items()
        for opt_name, opt in _options(cmd).items()
        if opt_name == "--each"
    }
    assert set(helps) == {"check", "repair", "replicate"}
    assert helps["check"] == helps["repair"] != helps["replicate"]


# -- the options work, through the API, on the commands that lacked them -------------------------
def _table(tmp_path):
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"a": [1.0, 2.0, 3.0], "b": [4.0, 5.0, 6.0], "y": [0, 1, 0]}), path)
    return path


def test_plan_target_splits_the_table_like_check(tmp_path):
    """Two float64 input columns: 16 bytes a sample once the target column is left out."""
    src = _table(tmp_path)
    r = run("plan", src, "--target", "y", "--batch-size", "2", "--json")
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["bytes_per_sample"] == 16
    assert (
        json.loads(run("plan", src, "--batch-size", "2", "--json").stdout)["bytes_per_sample"] == 24
    )


def test_plan_maxlen_takes_a_percentile_like_pad(tmp_path):
    src = tmp_path / "s.parquet"
    pq.write_table(pa.table({"s": [[1.0] * n for n in (1, 2, 3, 10)]}), src)
    r = run("plan", f"{src}:s", "--batch-size", "2", "--maxlen", "p75", "--json")
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["maxlen"] == 3


def test_select_target_keeps_the_target_out_of_the_features(tmp_path):
    src = _table(tmp_path)
    out = tmp_path / "x.npy"
    r = run("select", src, "--target", "y", "--first", "2", "-o", out)
    assert r.code == 0, r.stderr
    np.testing.assert_array_equal(np.load(out), [[1, 4], [2, 5], [3, 6]])
    # with the target split off there are 2 features, not 3 (select dropped --target once)
    assert_clean_error(run("select", src, "--target", "y", "--first", "3", "-o", tmp_path / "z.npy"),
                       "has 2 features")  # fmt: skip


@pytest.mark.parametrize("args", [["pad", "--maxlen", "2"], ["mask", "--value", "0"],
                                  ["replicate", "--to", "3"], ["reshape", "--add-axis", "time"],
                                  ["select", "--first", "1"], ["bucket", "--buckets", "1"],
                                  ["shift"],
                                  ["window", "--length", "2"]])  # fmt: skip
def test_every_repair_reads_its_source_with_the_source_options(tmp_path, args):
    """--source-format reaches the reader of every repair: a .npy read as npz is refused."""
    src = tmp_path / "x.npy"
    np.save(src, np.ones((3, 4)))
    out = tmp_path / ("out" if args[0] == "bucket" else "out.npy")
    r = run(args[0], src, *args[1:], "--source-format", "npz", "-o", out)
    assert_clean_error(r, "not a valid .npz archive")


def test_reshape_allow_pickle_is_an_option(tmp_path):
    """It used to be "No such option"; now it reaches the reader (a numeric .npy needs none)."""
    src = tmp_path / "x.npy"
    np.save(src, np.arange(12.0).reshape(3, 4))
    out = tmp_path / "y.npy"
    r = run("reshape", src, "--allow-pickle", "--shape", "(None, 2, 2)", "-o", out)
    assert r.code == 0, r.stderr
    assert np.load(out).shape == (3, 2, 2)


@pytest.mark.parametrize("command", ["inspect", "check", "plan"])
def test_the_unknown_format_error_names_source_format(tmp_path, command):
    src = tmp_path / "data.bin"
    src.write_bytes(b"\x00" * 64)
    extra = ["--batch-size", "2"] if command == "plan" else []
    r = run(command, src, *extra)
    assert_clean_error(r, "--source-format")
    r = run(command, src, "--source-format", "npy", *extra)  # named: read as .npy, refused
    assert_clean_error(r)
    assert "name the format" not in r.stderr


def test_repair_reads_each_fix_source_as_check_read_it(tmp_path):
    """--source-format reached check but not the repair it then ran (skipped: unknown file type)."""
    src = tmp_path / "x.txt"  # a CSV that neither its extension nor its bytes name
    src.write_text("a,b,c,d\n" + "".join(f"{i},{i + 1},{i + 2},{i + 3}\n" for i in range(6)))
    r = run("repair", src, "--source-format", "csv", "--input-shape", "(None, 2, 2)",
            "--allow", "lossless,assumption,lossy", "-o", tmp_path / "out", "--json")  # fmt: skip
    assert r.code == 0, r.stderr + r.stdout
    report = json.loads(r.stdout)
    assert [a["result"]["operation"] for a in report["applied"]] == ["reshape"], report["skipped"]
