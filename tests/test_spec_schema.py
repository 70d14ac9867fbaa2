"""Spec files are written by a TOML writer and read through one schema.

* ``spec infer`` on files with hostile names (quotes, backslashes, a newline that would inject a
  ``[check]`` table, ``]``, ``#``, a leading ``-``, non-ASCII) writes a spec whose sources read back
  exactly, so ``check --spec`` checks those very files;
* every key of :data:`dsdoctor.spec.CHECK_SCHEMA`, :data:`~dsdoctor.spec.ARRAY_SCHEMA` and
  ``[dims]`` given a value of the wrong type is exit 2 naming ``dsdoctor.toml:LINE`` and the key
  (the tests walk the schema tables, so a new key is covered without editing this file).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest
import tomli_w

from dsdoctor.errors import SpecError
from dsdoctor.spec import ARRAY_SCHEMA, CHECK_SCHEMA, DIM, load_spec

from .conftest import assert_clean_error, cli

ODD_NAMES = [
    'quote"d.npy',
    "back\\slash\\b.npy",
    'new\nline[check]\nignore = ["DS4"]\n.npy',
    "données-ß-数据.npy",
    "close].npy",
    "hash#tag.npy",
    "-leading-dash.npy",
    "tab\there.npy",
    "'single'.npy",
]


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("name", ODD_NAMES)
def test_inferred_spec_reads_back_the_same_sources(folder, name):
    np.save(folder / name, np.arange(12, dtype=np.float32).reshape(4, 3))
    r = cli("spec", "infer", f"--x={name}", "-o", "dsdoctor.toml")
    assert r.code == 0, r.stderr
    text = (folder / "dsdoctor.toml").read_text()
    doc = tomllib.loads(text)
    assert set(doc) <= {"dims", "arrays"}  # nothing injected
    assert doc["arrays"]["x"]["source"] == name
    spec = load_spec(folder / "dsdoctor.toml")
    assert Path(spec.arrays["x"].source).resolve() == (folder / name).resolve()
    assert cli("check", "--spec", "dsdoctor.toml").code == 0
    # the spec guards that very file: NaN in it now is a finding, not "healthy"
    np.save(folder / name, np.full((4, 3), np.nan, dtype=np.float32))
    r = cli("check", "--spec", "dsdoctor.toml", "--json")
    assert r.code == 1, r.stdout
    assert "missing-values" in {f["name"] for f in r.json()["findings"]}


def test_a_table_name_from_an_odd_member_reads_back(folder):
    np.savez(folder / "d.npz", **{'a"b]\n[check]': np.zeros((3, 2)), "ok": np.zeros(3)})
    r = cli("spec", "infer", "d.npz", "-o", "dsdoctor.toml")
    assert r.code == 0, r.stderr
    spec = load_spec(folder / "dsdoctor.toml")
    assert not spec.options
    assert sorted(Path(a.source).name for a in spec.arrays.values()) == [
        'd.npz:a"b]\n[check]',
        "d.npz:ok",
    ]


# -- the schema -----------------------------------------------------------------------------------
#: Values of every TOML type; each key must refuse some of them.
CANDIDATES = ["x", "", 5, 0, -1, 1.5, float("nan"), True, [1], ["a", 2], {"a": 1}, [[1]]]

KEYS = [("check", k, v) for k, v in CHECK_SCHEMA.items()] + [
    ("arrays.x", k, v) for k, v in ARRAY_SCHEMA.items()
] + [("dims", "features", DIM)]  # fmt: skip


def _spec(section: str, key: str, value) -> dict:
    x = {"source": "x.npy"}
    doc: dict = {"arrays": {"x": x}}
    if section == "arrays.x":
        x[key] = value
    else:
        doc[section] = {key: value}
    return doc


def _write(folder: Path, doc: dict) -> tuple[Path, int]:
    """The spec file, and the line its wrong key is on (the last key line written)."""
    path = folder / "dsdoctor.toml"
    text = "# a spec\n\n" + tomli_w.dumps(doc)
    path.write_text(text)
    return path, text


def _line_of(text: str, section: str, key: str) -> int:
    inside = False
    for i, raw in enumerate(text.splitlines(), 1):
        if raw.strip() == f"[{section}.{key}]":  # a table given where a value belongs
            return i
        if raw.startswith("["):
            inside = raw.strip() == f"[{section}]"
        elif inside and raw.split("=")[0].strip() == key:
            return i
    raise AssertionError((section, key, text))


@pytest.mark.parametrize(("section", "key", "schema"), KEYS, ids=[f"{s}.{k}" for s, k, _ in KEYS])
def test_every_key_with_a_wrong_type_names_the_line_and_the_key(folder, section, key, schema):
    np.save(folder / "x.npy", np.zeros((4, 3), dtype=np.float32))
    wrong = [v for v in CANDIDATES if not schema.accepts(v)]
    assert len(wrong) >= 5, f"{section}.{key} accepts almost anything: {schema.must_be}"
    for value in wrong:
        path, text = _write(folder, _spec(section, key, value))
        where = f"dsdoctor.toml:{_line_of(text, section, key)}"
        with pytest.raises(SpecError) as exc:
            load_spec(path)
        assert where in str(exc.value) and f"{section}.{key}" in str(exc.value), (value, exc.value)
    path, text = _write(folder, _spec(section, key, wrong[0]))
    r = cli("check", "--spec", "dsdoctor.toml")
    assert_clean_error(r, f"dsdoctor.toml:{_line_of(text, section, key)}", f"{section}.{key}")


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ('[check]\nbatch_size = "x"\n', ("dsdoctor.toml:2", "check.batch_size")),
        ("[check]\nselect = 5\n", ("dsdoctor.toml:2", "check.select")),
        ("[check]\ninput_shape = 5\n", ("dsdoctor.toml:2", "check.input_shape")),
        ('[check]\ninput_shape = "(None, five)"\n', ("dsdoctor.toml:2", "check.input_shape")),
        ('[check]\nmemory = "lots"\n', ("dsdoctor.toml:2", "check.memory")),
        ("[arrays]\nx = 5\n", ("dsdoctor.toml:2", "arrays.x must be a table")),
        (
            '[arrays.x]\nsource = "x.npy"\ndtype = "(None, 3)"\n',
            ("dsdoctor.toml:3", "arrays.x.dtype"),
        ),
        ("dims = 5\n[arrays.x]\nsource = 'x.npy'\n", ("dsdoctor.toml", "dims must be a table")),
        ("check = [1]\n[arrays.x]\nsource = 'x.npy'\n", ("dsdoctor.toml", "check must be a table")),
        ("arrays = 'x'\n", ("dsdoctor.toml", "arrays must be a table")),
    ],
)
def test_the_issue_cases(folder, text, needles):
    np.save(folder / "x.npy", np.zeros((4, 3), dtype=np.float32))
    if "[arrays" not in text and "arrays =" not in text:
        text += "[arrays.x]\nsource = 'x.npy'\n"
    (folder / "dsdoctor.toml").write_text(text)
    assert_clean_error(cli("check", "--spec", "dsdoctor.toml"), *needles)


def test_a_pyproject_whose_tool_dsdoctor_is_not_a_table(folder):
    (folder / "pyproject.toml").write_text("[tool]\ndsdoctor = 5\n")
    assert_clean_error(cli("check", "--spec", "pyproject.toml"), "tool.dsdoctor must be a table")


def test_a_spec_that_is_not_utf8(folder):
    (folder / "dsdoctor.toml").write_bytes(b"[arrays.x]\nsource = '\xff.npy'\n")
    assert_clean_error(cli("check", "--spec", "dsdoctor.toml"), "dsdoctor.toml")


# -- fuzz replay (``make fuzz`` runs the long campaign: fuzz/targets.py, target "spec") -----------
def test_mutated_spec_files_give_a_report_or_a_clean_error(tmp_path):
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fuzz"))
    from targets import mutate_spec, run_one, spec_seeds

    rng = np.random.default_rng(20261128)
    outcomes = {"report": 0, "error": 0}
    for i in range(300):
        data = mutate_spec(spec_seeds()[i % len(spec_seeds())], rng)
        try:
            outcomes[run_one(data, "spec", str(tmp_path))] += 1
        except Exception as exc:
            (tmp_path / f"crash-{i}.toml").write_bytes(data)
            raise AssertionError(
                f"spec mutation {i}: {type(exc).__name__}: {exc}\n{data!r}"
            ) from exc
    assert outcomes["error"] > 0 and outcomes["report"] > 0, outcomes


def test_deeply_nested_arrays_are_a_clean_error(folder):
    (folder / "dsdoctor.toml").write_text("[check]\nselect = " + "[" * 600 + "]" * 600 + "\n")
    assert_clean_error(cli("check", "--spec", "dsdoctor.toml"), "nested too deeply")


def test_a_huge_spec_is_refused_without_reading_it_all(folder):
    (folder / "dsdoctor.toml").write_text("[arrays.x]\nsource = 'x.npy'\n" + "#" * (5 << 20))
    assert_clean_error(cli("check", "--spec", "dsdoctor.toml"), "larger than 4 MiB")


def test_a_pyproject_of_blank_lines_is_searched_in_linear_time(folder):
    """``^\\s*`` with re.M rescans a run of blank lines from every line: 2 MB took hours."""
    import time

    (folder / "pyproject.toml").write_text("\n" * (2 << 20))
    sub = folder / "sub"
    sub.mkdir()
    np.save(sub / "x.npy", np.zeros((4, 3), dtype=np.float32))
    import signal

    from dsdoctor.spec import find_spec

    def stop(*_):
        raise TimeoutError("find_spec took more than 10 s")

    old = signal.signal(signal.SIGALRM, stop)  # re checks signals: a regression fails, not hangs
    signal.setitimer(signal.ITIMER_REAL, 10)
    try:
        start = time.perf_counter()
        assert find_spec(sub) is None
        assert time.perf_counter() - start < 2
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
