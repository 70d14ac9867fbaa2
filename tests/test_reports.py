"""Report formats for CI and people: JUnit XML, GitHub annotations, the HTML page, and the
``check --format … -o FILE`` plumbing."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import numpy as np
import pytest

import dsdoctor
from dsdoctor.checks import REGISTRY
from dsdoctor.findings import Finding, Fix, Report, Safety, Severity
from dsdoctor.render.github import escape_data, escape_property, to_github
from dsdoctor.render.html import chosen_maxlen, to_html
from dsdoctor.render.json import dumps
from dsdoctor.render.junit import checks_that_ran, to_junit

from .conftest import FIXTURES, assert_clean_error, cli

F = FIXTURES
SEQ = "fixtures/sequences.parquet:tokens"


@pytest.fixture(scope="module")
def cardinality() -> Report:
    return dsdoctor.check(x=str(F / "cardinality/x.npy"), y=str(F / "cardinality/y.npy"))


@pytest.fixture(scope="module")
def sequences(monkeypatch_module) -> Report:
    return dsdoctor.check(SEQ, batch_size=64)


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    mp.chdir(F.parent)  # sources as a user types them, relative to the project
    yield mp
    mp.undo()


def _report(message: str, source: str = "data.npy", severity=Severity.WARNING, **extra) -> Report:
    finding = Finding("DS999", "odd-thing", severity, message, ["a"], {"n": 1},
                      [Fix("dsdoctor pad data.npy -o out.npy", Safety.LOSSLESS)])  # fmt: skip
    return Report("0.0.0", {"a": {"source": source, "shape": [3], "dtype": "int8", **extra}},
                  [finding])  # fmt: skip


# -- JUnit ---------------------------------------------------------------------------------------
def _parse_junit(text: str) -> ET.Element:
    root = ET.fromstring(text.encode())
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1 and suites[0].get("name") == "dsdoctor"
    suite = suites[0]
    cases = suite.findall("testcase")
    failed = [c for c in cases if c.find("failure") is not None]
    skipped = [c for c in cases if c.find("skipped") is not None]
    assert suite.get("tests") == str(len(cases))
    assert suite.get("failures") == str(len(failed))
    assert suite.get("skipped") == str(len(skipped))
    assert suite.get("errors") == "0"
    for key in ("tests", "failures", "errors", "skipped"):
        assert root.get(key) == suite.get(key)
    for c in cases:
        assert c.get("classname") and re.fullmatch(r"DS\d+ [a-z-]+", c.get("name"))
        assert len([e for e in c if e.tag in ("failure", "skipped", "error")]) <= 1
    return suite


#: The checks with a testcase per array (the split checks have one each, with --split only).
PER_ARRAY = [c for c in REGISTRY if c.family != "splits"]


def test_junit_one_testcase_per_check_per_array(cardinality):
    suite = _parse_junit(to_junit(cardinality, REGISTRY))
    cases = suite.findall("testcase")
    assert len(cases) == 2 * len(PER_ARRAY)
    assert {c.get("classname") for c in cases} == {"x", "y"}
    failed = [c for c in cases if c.find("failure") is not None]
    # the sample-count mismatch concerns both arrays: both testcases fail
    assert sorted(c.get("classname") for c in failed) == ["x", "y"]
    for c in failed:
        assert c.get("name") == "DS101 sample-count-mismatch"
        failure = c.find("failure")
        assert failure.get("type") == "error"
        assert failure.get("message") == "x has 29 samples but y has 1"
        assert "dsdoctor replicate" in failure.text and "evidence:" in failure.text
        assert "x: 29" in failure.text


def test_junit_info_findings_pass_with_system_out(sequences):
    suite = _parse_junit(to_junit(sequences, REGISTRY))
    by_name = {c.get("name"): c for c in suite.findall("testcase")}
    assert len(by_name) == len(PER_ARRAY)  # one array
    info = by_name["DS501 partial-last-batch"]
    assert info.find("failure") is None
    assert "3 full batches of 64 and a last batch of 8" in info.find("system-out").text
    warnings = [f for f in sequences.findings if f.severity is not Severity.INFO]
    assert suite.get("failures") == str(len(warnings)) != "0"
    assert by_name["DS301 ragged-sequences"].find("failure").get("type") == "warning"


def test_junit_select_restricts_testcases():
    r = cli("check", "--x", F / "cardinality/x.npy", "--y", F / "cardinality/y.npy",
            "--select", "DS1", "--format", "junit")  # fmt: skip
    assert r.code == 1
    suite = _parse_junit(r.stdout)
    assert {c.get("name").split()[0] for c in suite.findall("testcase")} == {
        c.code for c in REGISTRY if c.code.startswith("DS1")
    }
    assert [c.code for c in checks_that_ran(["DS1"], ["DS102"])] == [
        c.code for c in REGISTRY if c.code.startswith("DS1") and c.code != "DS102"
    ]


def test_junit_survives_odd_text_and_orphan_findings():
    report = _report("bad \x00 byte & <tag>", **{"skipped": "object dtype"})
    report.findings.append(Finding("DS601", "spec-violation", Severity.ERROR, "no such array",
                                   ["missing"]))  # fmt: skip
    suite = _parse_junit(to_junit(report, [REGISTRY[0]]))
    cases = {(c.get("classname"), c.get("name").split()[0]): c for c in suite.findall("testcase")}
    assert cases[("a", "DS999")].find("failure").get("message") == "bad \\x00 byte & <tag>"
    assert cases[("a", REGISTRY[0].code)].find("skipped") is not None  # not read, not passed
    assert cases[("dsdoctor", "DS601")].find("failure").get("type") == "error"


# -- GitHub annotations ------------------------------------------------------------------------
def test_github_escaping_rules(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "we:ird,50%.npy").write_bytes(b"")
    report = _report("50% done, a:b\r\nnext", source="we:ird,50%.npy")
    (line,) = to_github(report).splitlines()
    assert line == ("::warning file=we%3Aird%2C50%25.npy,title=DS999 odd-thing::"
                    "50%25 done, a:b%0D%0Anext%0Afix (lossless): dsdoctor pad data.npy -o out.npy")  # fmt: skip
    assert escape_data("%\r\n:,") == "%25%0D%0A:,"
    assert escape_property("%\r\n:,") == "%25%0D%0A%3A%2C"


@pytest.mark.parametrize(("severity", "command"),
                         [(Severity.ERROR, "::error "), (Severity.INFO, "::notice ")])  # fmt: skip
def test_github_severity_commands_and_selector(severity, command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "train.h5").write_bytes(b"")
    text = to_github(_report("m", source="train.h5:/train/x", severity=severity))
    assert text.startswith(command + "file=train.h5,title=DS999 odd-thing::m%0Afix")
    in_memory = to_github(_report("m", source="<x>", severity=severity))
    assert in_memory.startswith(command + "title=DS999 odd-thing::")


def test_github_from_the_cli(monkeypatch):
    monkeypatch.chdir(F.parent)
    r = cli("check", "--x", "fixtures/cardinality/x.npy", "--y", "fixtures/cardinality/y.npy",
            "--format", "github")  # fmt: skip
    assert r.code == 1
    assert r.stdout.splitlines() == [
        "::error file=fixtures/cardinality/x.npy,title=DS101 sample-count-mismatch::x has 29 "
        "samples but y has 1%0Afix (assumption): dsdoctor replicate fixtures/cardinality/y.npy "
        "--to 29 -o fixtures/cardinality/y.replicated.npy"
    ]
    assert cli("check", "--x", F / "healthy/x.npy", "--format", "github").stdout == ""


# -- HTML ----------------------------------------------------------------------------------------
class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.starts: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.decls: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.starts.append(tag)
        self.attrs += attrs

    def handle_decl(self, decl):
        self.decls.append(decl)


def _tags(page: str) -> _Tags:
    parser = _Tags()
    parser.feed(page)
    parser.close()
    return parser


def _marks(cls: str, page: str, shape: str = "rect") -> list[str]:
    """The chart marks (with a hover title) of a class, not the legend's swatches."""
    return re.findall(rf'<{shape} class="{cls}(?: [a-z]+)?"[^>]*><title>', page)


def test_html_is_one_self_contained_document(sequences):
    page = to_html(sequences)
    tags = _tags(page)
    assert tags.decls == ["doctype html"]
    for tag in ("html", "head", "body", "style"):
        assert tags.starts.count(tag) == 1, tag
    assert "script" not in tags.starts and "link" not in tags.starts and "img" not in tags.starts
    assert not [a for a in tags.attrs if a[0] in ("src", "href")]
    assert "url(" not in page and "@import" not in page
    assert not re.search(r"(?:src|href)\s*=\s*[\"']?\s*(?:https?:)?//", page)


def test_html_length_histogram_with_maxlen_and_buckets(sequences):
    page = to_html(sequences)
    assert '<svg class="chart"' in page and "Histogram of sequence lengths" in page
    hist = sequences.arrays[SEQ]["stats"]["length_histogram"]
    assert len(_marks("bar", page)) == sum(1 for *_, c in hist if c)
    assert "maxlen 120 (suggested pad)" in page  # the first pad fix of ragged-sequences
    assert len(_marks("bound", page, "line")) == 3  # boundaries 21, 38, 68
    assert "bucket boundaries 21, 38, 68" in page
    assert "Padding waste" in page and "18,496 padding (77.1%)" in page
    assert "2,054 padding" in page


def test_html_maxlen_falls_back_to_p95(monkeypatch_module):
    report = dsdoctor.check(SEQ, ignore=["ragged-sequences"])
    lengths = report.arrays[SEQ]["stats"]["lengths"]
    assert chosen_maxlen(report, SEQ, lengths) == (67, "p95 = 67")
    page = to_html(report)
    assert "p95 = 67" in page
    hist = report.arrays[SEQ]["stats"]["length_histogram"]
    truncated = sum(1 for lo, _, c in hist if lo > 67 and c)
    assert truncated and len(_marks("bar over", page)) == truncated  # past maxlen: cut off


def test_html_tables_findings_and_feature_ranges(cardinality):
    page = to_html(cardinality)
    assert '<span class="badge error">error</span>' in page and "DS101" in page
    assert "x has 29 samples but y has 1" in page
    assert '<code class="cmd">dsdoctor replicate' in page and "assumption" in page
    assert '<table class="evidence">' in page
    assert "(29, 10)" in page and "float32" in page
    assert len(_marks("range", page)) == 10  # one per feature of x
    assert "<svg" in page and "Histogram" not in page  # nothing ragged here


def test_html_many_features_and_constant_ones():
    x = np.random.default_rng(0).normal(size=(50, 80))
    x[:, 5] = 1.0
    page = to_html(dsdoctor.check(x=x))
    assert "80 features; the first 64 shown" in page
    assert len(_marks("range", page)) == 63
    assert len(_marks("const", page, "circle")) == 1


def test_html_escapes_everything():
    report = _report("<script>alert('x')</script> & more", source="<img src=x>.npy")
    report.arrays["<evil>"] = report.arrays.pop("a")
    report.findings[0].arrays = ["<evil>"]
    page = to_html(report)
    assert "<script" not in page and "<img" not in page and "<evil>" not in page
    assert "&lt;evil&gt;" in page and "&lt;img src=x&gt;.npy" in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in page


def test_html_healthy_report():
    page = to_html(dsdoctor.check(x=str(F / "healthy/x.npy"), y=str(F / "healthy/y.npy")))
    assert "No findings: the data looks healthy." in page


# -- the CLI -------------------------------------------------------------------------------------
def test_cli_html_writes_the_page(tmp_path):
    out = tmp_path / "report.html"
    args = ["check", "--x", F / "cardinality/x.npy", "--y", F / "cardinality/y.npy"]
    r = cli(*args, "--format", "html", "-o", out)
    assert r.code == 1 and r.stdout == ""  # the exit code still follows the findings
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "x has 29 samples but y has 1" in page
    assert cli(*args, "--format", "html", "-o", out, "--fail-on", "never").code == 2  # kept
    assert cli(*args, "--format", "html", "-o", out, "--fail-on", "never", "--force").code == 0
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no temporary left


def test_cli_html_ragged_fixture(tmp_path):
    out = tmp_path / "seq.html"
    r = cli("check", F / "sequences.parquet:tokens", "--format", "html", "--output", out)
    assert r.code == 0
    assert "Histogram of sequence lengths" in out.read_text(encoding="utf-8")


def test_cli_html_needs_output():
    r = cli("check", "--x", F / "cardinality/x.npy", "--format", "html")
    assert_clean_error(r, "--format html writes a page: add -o report.html")
    assert r.stdout == ""


def test_cli_report_format_errors(tmp_path):
    assert_clean_error(cli("check", "--x", F / "healthy/x.npy", "--format", "xml"), "--format")
    r = cli("check", "--x", F / "healthy/x.npy", "-o", tmp_path / "r.txt")
    assert_clean_error(r, "add --format")
    assert not (tmp_path / "r.txt").exists()


def test_cli_json_and_junit_to_a_file(tmp_path):
    args = ["check", "--x", F / "cardinality/x.npy", "--y", F / "cardinality/y.npy"]
    r = cli(*args, "--format", "json", "-o", tmp_path / "r.json")
    assert r.code == 1 and r.stdout == ""
    api = dsdoctor.check(x=str(F / "cardinality/x.npy"), y=str(F / "cardinality/y.npy"))
    assert (tmp_path / "r.json").read_text() == dumps(api.to_dict()) + "\n"
    r = cli(*args, "--format", "junit", "-o", tmp_path / "r.xml")
    assert r.code == 1 and r.stdout == ""
    _parse_junit((tmp_path / "r.xml").read_text(encoding="utf-8"))
