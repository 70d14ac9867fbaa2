"""Every fix a report prints runs as printed.

Each case runs ``check --json`` the way ``fixtures/README.md`` does (and on copies with names a
shell or the CLI could misread: a leading ``-``, spaces and quotes, and standard input), then
runs every fix command it printed, split by the shell's rules (``shlex``), in a fresh copy of
the fixtures: each must succeed. A 230-byte source name must still give an output name that fits. Without ``./`` a source named ``-x.npy`` is read as an option
(exit 2), and a fix for standard input named ``'<stdin>'`` and wrote into ``$TMPDIR``.
"""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dsdoctor.cli import app

from .conftest import FIXTURES

ODD = {
    "mnist_flat.npy": "-mnist flat's.npy",
    "constant.npy": "-const ant.npy",
    "sequences.npz": "-seq.npz",
    "frames.parquet": "-fr$ames.parquet",
    "iris.csv": "l" * 226 + ".csv",
}  # fmt: skip  (a fix's output name must still fit 255 bytes)

#: ``check`` arguments, as in fixtures/README.md, and with the odd names above.
CASES = [
    ["mnist_flat.npy", "--input-shape", "(None, 28, 28)"],
    ["--x", "cardinality/x.npy", "--y", "cardinality/y.npy"],
    ["--x", "cardinality.h5:/x", "--y", "cardinality.h5:/y"],
    ["iris.csv", "--features", "3"],
    ["constant.npy"],
    ["train.h5:/seq/tokens", "--mask-value", "0"],
    ["sequences.parquet:tokens", "--mask-value", "0"],
    ["frames.parquet:frames", "--mask-value", "0"],
    ["sequences.npz:seq"],
    ["--x", "sequences.npz:frames", "--y", "sequences.npz:labels", "--classes", "3"],
    ["--x", "healthy/x.npy", "--y", "y_column.npy"],
]
CASES += [["./" + ODD[a.split(":")[0]] + a[len(a.split(":")[0]):] if a.split(":")[0] in ODD else a
           for a in c] for c in CASES if any(a.split(":")[0] in ODD for a in c)]  # fmt: skip
#: (check arguments, bytes piped to standard input)
STDIN = [
    (["-", "--input-shape", "(None, 28, 28)"], "mnist_flat.npy"),
    (["-"], "constant.npy"),
]


def _workspace(folder: Path) -> Path:
    shutil.copytree(FIXTURES, folder, ignore=shutil.ignore_patterns("*.py", "*.md"))
    for name, odd in ODD.items():
        shutil.copy(folder / name, folder / odd)
    return folder


def _cli(args: list[str], stdin: bytes | None = None):
    r = CliRunner().invoke(app, args, input=stdin, catch_exceptions=False)
    return r.exit_code, r.stdout, r.stderr


def _fixes(report: dict) -> list[str]:
    return [fx["command"] for f in report["findings"] for fx in f["fixes"]]


def _run_every_fix(tmp_path, monkeypatch, args, stdin: bytes | None) -> None:
    import json

    monkeypatch.chdir(_workspace(tmp_path / "check"))
    code, out, err = _cli(["check", *args, "--json"], stdin)
    assert code in (0, 1), err
    commands = _fixes(json.loads(out))
    assert commands, f"check {args} printed no fix"  # every case here has a finding with fixes
    for i, line in enumerate(commands):
        words = shlex.split(line)
        assert words[0] == "dsdoctor"
        monkeypatch.chdir(_workspace(tmp_path / f"fix{i}"))
        code, _, err = _cli(words[1:], stdin if "-" in words[2:3] else None)
        assert code == 0, f"{line!r} failed ({code}): {err}"
        assert "$TMPDIR" not in line and "/tmp" not in line, line


@pytest.mark.parametrize("args", CASES, ids=[" ".join(c) for c in CASES])
def test_every_fix_runs_as_printed(tmp_path, monkeypatch, args):
    _run_every_fix(tmp_path, monkeypatch, args, None)


@pytest.mark.parametrize(("args", "piped"), STDIN, ids=[p for _, p in STDIN])
def test_fixes_for_standard_input_read_it_again(tmp_path, monkeypatch, args, piped):
    _run_every_fix(tmp_path, monkeypatch, args, (FIXTURES / piped).read_bytes())


def test_a_leading_dash_is_kept_from_the_option_parser():
    from dsdoctor.checks.fixes import option_words, path_word

    assert path_word("-x.npy") == "./-x.npy"
    assert path_word("-") == "-" and path_word("-:x") == "-:x"
    assert path_word("/abs/-x.npy") == "/abs/-x.npy"
    assert option_words({"value": -1, "maxlen": 5}) == ["--value=-1", "--maxlen", "5"]


def test_two_different_fixes_never_write_one_output(tmp_path, monkeypatch):
    """DS201 (``select --first 60``) and DS402 (``select --features …``, the constant features
    dropped) both made ``x.selected.npy``: the second fix, run after the first, would refuse or
    (with --force) destroy it. Each different fix names its own output; run in turn, both write."""
    import json

    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 64)).astype(np.float32)
    x[:, [0, 32, 39]] = 0.0
    monkeypatch.chdir(tmp_path)
    np.save("x.npy", x)
    np.save("y.npy", np.arange(40) % 3)
    code, out, err = _cli(["check", "--x", "x.npy", "--y", "y.npy", "--features", "60", "--json"])
    report = json.loads(out)
    fixes = {fx["command"]: shlex.split(fx["command"])[-1] for f in report["findings"]
             for fx in f["fixes"]}  # fmt: skip
    assert {"DS201", "DS402"} <= {f["code"] for f in report["findings"]}
    assert len(set(fixes.values())) == len(fixes) >= 2, fixes
    for line, written in fixes.items():
        code, _, err = _cli(shlex.split(line)[1:])
        assert code == 0, f"{line!r} failed ({code}): {err}"
        assert Path(written).exists()
    widths = sorted(np.load(p).shape[1] for p in fixes.values())
    assert widths == [60, 61]
