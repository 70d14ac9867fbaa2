"""Issue 12, "names that explain themselves": the triage package, the repair result's name, the
public functions that share a name with a subpackage."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

MESSAGE = "ValueError: Found input variables with inconsistent numbers of samples: [29, 1]"


@pytest.mark.parametrize(
    "first", ["from dsdoctor.triage import PATTERNS", "import dsdoctor.triage.patterns",
              "import dsdoctor.plan", "import dsdoctor.api"],
)  # fmt: skip
def test_public_functions_survive_importing_their_namesake_modules(first):
    """``dsdoctor.triage`` and ``dsdoctor.plan`` stay the public functions whatever was imported
    before (a fresh interpreter each time: the order of imports is what is tested)."""
    code = (
        f"{first}\nimport dsdoctor\n"
        f"d = dsdoctor.triage({MESSAGE!r})\nassert d.finding == 'sample-count-mismatch', d\n"
        "assert callable(dsdoctor.plan) and dsdoctor.plan.__module__ == 'dsdoctor.api'\n"
        "assert dsdoctor.triage.__module__ == 'dsdoctor.triage.match'\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_one_size_reader_serves_options_and_triage():
    """``units.read_size`` is the one reader of sizes: options (``parse_size``) and the sizes in
    framework messages (triage) read "2.00 GiB" the same way, and neither crashes on a size that
    is not one."""
    from dsdoctor.errors import UsageError
    from dsdoctor.triage import triage
    from dsdoctor.units import parse_size, read_size

    assert read_size("2.00 GiB") == parse_size("2.00 GiB") == 2 * 2**30
    assert read_size("512 bytes") == parse_size("512bytes") == 512
    assert read_size("1.2.3 GiB") is None and read_size("7 parsecs") is None
    assert read_size("9" * 400 + " GiB") is None  # inf as a float: not a size, not an OverflowError
    with pytest.raises(UsageError, match="cannot read"):
        parse_size("9" * 400 + "GiB")
    with pytest.raises(UsageError, match="must be positive"):
        parse_size("0.5b")  # less than one byte
    d = triage("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; "
               "7.79 GiB total capacity; 1.20 GiB free)")  # fmt: skip
    assert d is not None and d.numbers["requested_bytes"] == read_size("2.00 GiB")
    assert d.numbers["free_bytes"] == read_size("1.20 GiB")


def _utf8_npy(tmp_path):
    """A structured array whose field name needs UTF-8: ``np.save`` writes format 3.0."""
    import warnings

    import numpy as np

    path = tmp_path / "v3.npy"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy warns that it wrote format 3.0
        np.save(path, np.zeros(4, dtype=[("温度", "<f4")]))
    assert path.read_bytes()[6:8] == b"\x03\x00"
    return path


def test_npy_format_3_header_is_read_with_its_utf8_field_name(tmp_path):
    import dsdoctor

    x = dsdoctor.load(str(_utf8_npy(tmp_path)))
    assert x.shape == (4,) and x.dtype.names == ("温度",)


def test_npy_format_3_on_numpy_1_layout(tmp_path, monkeypatch):
    """NumPy 1.26 (allowed by pyproject) has no ``numpy.lib._format_impl``; its header reader is
    in ``numpy.lib.format``. Simulated here: without the fallback this was an ImportError (exit 3)."""
    import importlib

    import numpy as np

    import dsdoctor

    impl = importlib.import_module("numpy.lib._format_impl")
    monkeypatch.setitem(sys.modules, "numpy.lib._format_impl", None)
    monkeypatch.delattr(np.lib, "_format_impl", raising=False)
    monkeypatch.setattr(np.lib.format, "_read_array_header", impl._read_array_header, raising=False)
    x = dsdoctor.load(str(_utf8_npy(tmp_path)))
    assert x.shape == (4,) and x.dtype.names == ("温度",)


def test_render_imports_nothing_above_it():
    """render sits beside the API's callees: it never imports the API or the CLI, not even for
    type checking (``render_inspection`` takes a protocol, not ``api.Inspection``)."""
    import ast

    import dsdoctor.render

    root = Path(dsdoctor.render.__file__).parent
    bad = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level >= 2:
                top = (node.module or "").split(".")[0]
                if top in ("api", "cli") or (
                    not top and {a.name for a in node.names} & {"api", "cli"}
                ):
                    bad.append(f"{path.name}:{node.lineno}")
    assert not bad


def test_repair_returns_an_outcome_with_the_same_json(tmp_path):
    """``repair`` returns a RepairOutcome (a result, not a plan); its JSON keys are unchanged."""
    import numpy as np

    import dsdoctor

    np.save(tmp_path / "x.npy", np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32))
    np.save(tmp_path / "y.npy", np.zeros(1, dtype=np.int64))  # one label: a replicate fix
    out = dsdoctor.repair(x=str(tmp_path / "x.npy"), y=str(tmp_path / "y.npy"),
                          outdir=str(tmp_path / "out"), allow="lossless,assumption,lossy")  # fmt: skip
    assert isinstance(out, dsdoctor.RepairOutcome)
    assert list(out.to_dict()) == ["report", "applied", "skipped"]
    assert [a["finding"] for a in out.applied] == ["sample-count-mismatch"]


@pytest.mark.slow
def test_the_built_wheel_ships_the_stylesheet_and_its_page_inlines_it(tmp_path):
    """``style.css`` is package data: built into the wheel (pyproject's package-data), read with
    importlib.resources from the installed package, and inlined into the page (about 10 s: one
    wheel build, in a copy of the project so the worktree gets no build folders)."""
    import os
    import shutil
    import zipfile

    root = Path(__file__).resolve().parents[1]
    project = tmp_path / "project"
    shutil.copytree(
        root / "src", project / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(root / name, project / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path / "dist"), str(project)], check=True, capture_output=True)  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("dsdoctor-*.whl")
    installed = tmp_path / "installed"
    with zipfile.ZipFile(wheel) as z:
        assert "dsdoctor/render/html/style.css" in z.namelist()
        z.extractall(installed)
    css = (installed / "dsdoctor/render/html/style.css").read_text()
    code = (
        "import dsdoctor, numpy as np\n"
        f"assert dsdoctor.__file__.startswith({str(installed)!r}), dsdoctor.__file__\n"
        "from dsdoctor.render.html import to_html\n"
        "print(to_html(dsdoctor.check(x=np.arange(12.0).reshape(6, 2))))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(installed)}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert f"<style>\n{css}</style>" in r.stdout


SEQ = "fixtures/sequences.parquet:tokens"


def test_html_charts_follow_a_renamed_check(monkeypatch):
    """The charts find a finding by its check's code, which is never reused, not by its name,
    which may change (the old one kept as an alias): renamed, the charts stay the same."""
    import dsdoctor
    from dsdoctor.checks.sequences import ExcessPadding, RaggedSequences
    from dsdoctor.render.html import to_html

    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    before = to_html(dsdoctor.check(SEQ))
    monkeypatch.setattr(RaggedSequences, "name", "sequences-of-many-lengths")
    monkeypatch.setattr(ExcessPadding, "name", "padding-heavy")
    after = to_html(dsdoctor.check(SEQ))
    assert "sequences-of-many-lengths" in after and "padding-heavy" in after
    for text in ("maxlen 120 (suggested pad)", "bucket boundaries 21, 38, 68", "Padding waste"):
        assert text in before and text in after


def test_html_maxlen_comes_from_the_fix_action_not_its_command_text():
    """The pad fix's maxlen is read from ``Fix.action`` (data), not by re-parsing the command."""
    import dataclasses

    import dsdoctor
    from dsdoctor.render.html import chosen_maxlen

    root = Path(__file__).resolve().parents[1]
    report = dsdoctor.check(str(root / SEQ))
    (name,) = report.arrays
    ragged = next(f for f in report.findings if f.code == "DS301")
    ragged.fixes[:] = [dataclasses.replace(x, command=x.command.replace("--maxlen", "--max-len"))
                       for x in ragged.fixes]  # fmt: skip
    lengths = report.arrays[name]["stats"]["lengths"]
    assert chosen_maxlen(report, name, lengths) == (120, "maxlen 120 (suggested pad)")
