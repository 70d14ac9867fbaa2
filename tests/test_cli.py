"""The CLI as users meet it: exit codes and clean errors in a subprocess, JSON equal to the API,
explain, inspect, start-up imports."""

from __future__ import annotations

import json
import sys

import h5py
import numpy as np
import pytest

import dsdoctor
from dsdoctor.checks import REGISTRY

from .conftest import FIXTURES, assert_clean_error, cli, run

F = FIXTURES


def test_exit_codes_in_subprocess():
    assert run("check", "--x", F / "healthy/x.npy", "--y", F / "healthy/y.npy").code == 0
    r = run("check", "--x", F / "cardinality/x.npy", "--y", F / "cardinality/y.npy")
    assert r.code == 1 and "x has 29 samples but y has 1" in r.stdout and r.stderr == ""
    assert run("check", F / "constant.npy").code == 0  # a warning is below --fail-on error
    assert run("check", F / "constant.npy", "--fail-on", "warning").code == 1
    assert run("check", F / "nonfinite.npy", "--fail-on", "never").code == 0


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["check", "--x", "missing.npy"], "no such file"),
        (["inspect", F / "README.md"], "unknown file type"),
        (["inspect", F / "broken/random.h5"], "cannot be read as HDF5"),
        (["inspect", F / "broken/random.parquet"], "cannot be read as Parquet"),
        (["inspect", F / "broken/truncated.npy"], "truncated"),
        (["inspect", F / "broken/bad_header.npy"], "not a valid .npy"),
        (["inspect", F / "broken/huge_shape.npy"], "truncated"),
        (["check", F / "broken/ragged_rows.csv"], "row 4"),
        (["check", "--x", f"{F / 'iris.csv'}:petal_width"], "no column 'petal_width'"),
        (["check", "--x", f"{F / 'mnist_flat.npy'}:x"], "drop the selector"),
        (["check", "--x", F / "train.h5"], "holds 5 arrays"),
        (["check", "--x", f"{F / 'train.h5'}:/nope"], "has no dataset /nope"),
        (["check", "--x", f"{F / 'broken/external_link.h5'}:/ext"], "--follow-external"),
        (
            ["check", "--x", F / "healthy/x.npy", "--input-shape", "(None, five)"],
            "cannot read shape",
        ),
        (["check", "--x", F / "healthy/x.npy", "--memory", "lots"], "--memory"),
        (["check", "--x", F / "healthy/x.npy", "--fail-on", "sometimes"], "--fail-on"),
        (["check", "--x", F / "healthy/x.npy", "--select", "no-such-thing"], "no finding called"),
        (["check", "--x", F / "healthy/x.npy", "--batch-size", "0"], "--batch-size"),
        (["check", "--x", F / "healthy/x.npy", "--target", "y"], "not a table"),
        (["check", "--bogus"], "No such option"),
        (["frobnicate"], "No such command"),
        (["explain", "DS999"], "no finding called"),
        (["check"], "nothing to check"),
        (["check", F / "constant.npy", "--json", "--format", "junit"], "give one of them"),
        (["check", F / "constant.npy", "--json", "--format", "github"], "--json is --format json"),
    ],
)
def test_bad_input_is_one_clean_line(args, needle):
    assert_clean_error(run(*args), needle)


def test_bad_input_writes_nothing(tmp_path):
    before = sorted(p.name for p in F.rglob("*"))
    run("check", "--x", F / "broken/truncated.npy", "--y", F / "healthy/y.npy")
    assert sorted(p.name for p in F.rglob("*")) == before


def test_internal_error_is_exit_3_without_traceback(tmp_path, monkeypatch):
    # a bug inside a check must be exit 3, with the traceback only under --debug
    code = ("import sys; import dsdoctor.checks.values as v;"
            "v.NonFiniteValues.run = lambda self, ctx: 1/0;"
            "from dsdoctor.cli import main; sys.argv=['dsdoctor']+sys.argv[1:]; main()")  # fmt: skip
    import subprocess

    p = subprocess.run(
        [sys.executable, "-c", code, "check", str(F / "constant.npy")],
        capture_output=True,
        text=True,
    )
    assert p.returncode == 3 and "internal error" in p.stderr and "Traceback" not in p.stderr
    p = subprocess.run(
        [sys.executable, "-c", code, "--debug", "check", str(F / "constant.npy")],
        capture_output=True,
        text=True,
    )
    assert p.returncode == 3 and "Traceback" in p.stderr


@pytest.mark.parametrize(
    "kwargs",
    [
        {"x": str(F / "cardinality/x.npy"), "y": str(F / "cardinality/y.npy")},
        {"x": str(F / "mnist_flat.npy"), "input_shape": "(None, 28, 28)", "batch_size": 32},
        {"sources": [str(F / "iris.csv")], "target": "species", "features": 3, "classes": 3},
        {"sources": [str(F / "train.h5")], "mask_value": None, "memory": "1MiB", "batch_size": 8},
    ],
)
def test_cli_json_equals_api(kwargs):
    args = ["check", "--json", *kwargs.get("sources", [])]
    api_kwargs = {k: v for k, v in kwargs.items() if k != "sources" and v is not None}
    for k, v in api_kwargs.items():
        args += [f"--{k.replace('_', '-')}", str(v)]
    r = cli(*args)
    assert r.code in (0, 1)
    expected = json.loads(
        json.dumps(dsdoctor.check(*kwargs.get("sources", []), **api_kwargs).to_dict())
    )
    assert r.json() == expected


def test_json_shape_is_the_public_interface():
    d = cli(
        "check", "--json", "--x", F / "cardinality/x.npy", "--y", F / "cardinality/y.npy"
    ).json()
    assert set(d) >= {"dsdoctor", "arrays", "findings", "summary"}
    assert set(d["arrays"]["x"]) >= {"source", "shape", "dtype", "ragged"}
    assert d["arrays"]["x"]["shape"] == [29, 10] and d["arrays"]["x"]["dtype"] == "float32"
    (f,) = d["findings"]
    assert set(f) >= {"code", "name", "severity", "message", "arrays", "evidence", "fixes"}
    assert set(f["fixes"][0]) >= {"command", "safety"}
    assert d["summary"] == {"error": 1, "warning": 0, "info": 0}


def test_select_and_ignore():
    base = ["check", "--json", F / "sequences.npz"]
    all_names = {f["name"] for f in cli(*base).json()["findings"]}
    assert {"ragged-sequences", "mask-value-collision"} <= all_names
    assert {f["name"] for f in cli(*base, "--select", "ragged-sequences").json()["findings"]} == {
        "ragged-sequences"
    }
    assert "ragged-sequences" not in {
        f["name"] for f in cli(*base, "--ignore", "DS301").json()["findings"]
    }
    assert {f["code"][:3] for f in cli(*base, "--select", "DS3").json()["findings"]} == {"DS3"}


def test_quiet_and_text_output():
    r = cli("check", "-q", "--x", F / "cardinality/x.npy", "--y", F / "cardinality/y.npy")
    assert r.stdout.strip() == "DS101 error sample-count-mismatch: x has 29 samples but y has 1"
    r = cli("check", "--no-color", "--x", F / "cardinality/x.npy", "--y", F / "cardinality/y.npy")
    assert "fix (assumption): dsdoctor replicate" in r.stdout and "\x1b[" not in r.stdout


def test_explain_every_check_and_list():
    listing = cli("explain").stdout
    for c in REGISTRY:
        assert c.code in listing and c.name in listing
        text = cli("explain", c.name).stdout
        for title in ("What it means", "Why frameworks fail", "How to repair", "Example"):
            assert title in text
        assert cli("explain", c.code).stdout == text
        assert c.sections()["How to repair"].split()[0] in text
        # off a terminal (CliRunner's pipe) a section keeps its lines: no literal backslash-n
        assert text.count("\\n") == c.doc().count("\\n")  # only those the docstring writes
        for section in c.sections().values():
            assert all(line in text for line in section.splitlines())
    assert cli("explain", "--json", "DS101").json()["name"] == "sample-count-mismatch"
    piped = run("explain", "DS101")  # a real pipe, as `dsdoctor explain DS101 | less` reads it
    assert piped.code == 0 and "\\n" not in piped.stdout
    assert "there is no way to pair them" in piped.stdout.splitlines()[5]


def test_inspect_tree_and_json():
    r = cli("inspect", "--no-color", F / "train.h5")
    assert r.code == 0
    for needle in (
        "/train/x",
        "(64, 5, 3)",
        "gzip",
        "/seq/tokens",
        "ragged",
        "lengths: 40 sequences",
        "█",
    ):
        assert needle in r.stdout, needle
    d = cli("inspect", "--json", F / "nonfinite.npy").json()
    st = d["sources"][0]["entries"][0]["stats"]
    assert (st["nan"], st["posinf"], st["neginf"]) == (3, 2, 1)
    d = cli("inspect", "--json", f"{F / 'sequences.parquet'}:tokens").json()
    lengths = d["sources"][0]["entries"][0]["stats"]["lengths"]
    assert lengths["count"] == 200 and lengths["min"] == 1 and lengths["max"] == 120


def test_inspect_lists_external_link_without_following(tmp_path):
    r = cli("inspect", "--json", F / "broken/external_link.h5")
    entries = {e["path"]: e for e in r.json()["sources"][0]["entries"]}
    assert "external link" in entries["/ext"]["note"] and "stats" not in entries["/ext"]


def test_stdin_npy_stream(tmp_path):
    import io

    buf = io.BytesIO()
    np.save(buf, np.arange(12, dtype=np.float32).reshape(4, 3))
    r = run("inspect", "--json", "-", stdin=buf.getvalue())
    assert r.code == 0
    assert r.json()["sources"][0]["entries"][0]["shape"] == [4, 3]


def test_help_has_examples():
    for cmd in ("check", "inspect", "explain"):
        out = cli(cmd, "--help").stdout
        assert "Example" in out and f"dsdoctor {cmd}" in out


def test_top_level_help_names_every_format_read():
    from dsdoctor.formats import FORMATS

    out = " ".join(cli("--help").stdout.split())  # help text wraps
    for f in FORMATS:
        for shown in (f.shown or f.extensions[0]).split("/"):
            assert shown.strip(".") in out, (f.name, shown)


def test_version():
    r = run("--version")
    assert r.code == 0 and r.stdout.strip() == f"dsdoctor {dsdoctor.__version__}"


HEAVY = ("pandas", "pyarrow", "h5py")


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["inspect", str(F / "healthy/x.npy")],
                                  ["check", str(F / "healthy/x.npy")]])  # fmt: skip
def test_start_up_does_not_import_heavy_libraries(args):
    code = ("import sys; from dsdoctor.cli import main; sys.argv=['dsdoctor']+sys.argv[1:];\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            f"print('HEAVY=' + ','.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)")  # fmt: skip
    import subprocess

    p = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    assert "HEAVY=\n" in p.stderr or p.stderr.rstrip().endswith("HEAVY="), p.stderr


def test_hdf5_cycles_and_soft_links_are_listed_once(tmp_path):
    p = tmp_path / "cyc.h5"
    with h5py.File(p, "w") as f:
        g = f.create_group("a")
        g["d"] = np.arange(4.0)
        g["loop"] = g  # a hard link back to the group: a cycle
        f["soft"] = h5py.SoftLink("/a/d")
    d = cli("inspect", "--json", p).json()
    paths = [e["path"] for e in d["sources"][0]["entries"]]
    assert paths.count("/a/d") == 1 and "/soft" in paths
    assert cli("check", "--x", f"{p}:/soft").code == 0  # soft links inside the file are followed


def test_width_hint_about_the_target_only_when_no_target_was_given(tmp_path):
    """DS201 on a table: "split it off with --target COL" helps only while no --target was given."""
    import pandas as pd

    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(30, 4)), columns=["sl", "sw", "pl", "pw"])
    df["species"] = np.arange(30) % 3
    df.to_feather(tmp_path / "iris.feather")
    hint = "split it off with --target COL"
    for extra, hinted in (([], True), (["--target", "species"], False)):
        r = cli("check", "--json", tmp_path / "iris.feather", *extra, "--features", "3")
        (f,) = [f for f in r.json()["findings"] if f["code"] == "DS201"]
        assert (hint in f["message"]) is hinted, f["message"]
        assert f["evidence"]["actual"] == (5 if hinted else 4)
