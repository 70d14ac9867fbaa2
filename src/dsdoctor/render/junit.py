"""JUnit XML for CI test reporters (Jenkins, GitLab, Azure, dorny/test-reporter …).

One ``<testsuite name="dsdoctor">`` inside a ``<testsuites>`` root; one ``<testcase>`` per check
that ran per array, ``classname`` the array's name and ``name`` ``"CODE check-name"``. A finding
turns the testcase of every array it names into:

- ``<failure type="error|warning">`` for ``error`` and ``warning`` findings, with the message,
  the evidence and the fix commands in the text;
- a passed testcase with the same text in ``<system-out>`` for ``info`` findings (they are worth
  reading, not worth a red build).

So a finding about ``x`` and ``y`` (29 samples vs 1) fails both arrays' testcases. Arrays that
were not scanned (skipped or unsafe to read) have their other testcases ``<skipped>``. Findings of
a check not in ``checks`` (or naming no known array) still get a testcase: nothing is dropped.
``errors`` is always 0: a dsdoctor error is exit 2 and no report at all. Whether the process
fails is still decided by ``--fail-on`` alone.

The checks across splits (family ``splits``, ``check --split``) are one testcase each, with
``classname`` ``splits``, when the report compared splits; never one per array. One that could
not run on these splits (the report's ``splits.not_run``: no ``--group``, no windows, targets
that are not class labels) is skipped, not passed; one that was judged only in part (drift judged
by range alone, labels too few, timesteps not compared) has the property ``dsdoctor.judged`` =
``in part`` and says what in its ``<system-out>``.

Each entry of a folder that was not read (the report's ``not_read``: a TFRecord file, a Zarr
store inside a folder of shards) is a skipped testcase ``not read: ENTRY`` saying why.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .json import dumps

if TYPE_CHECKING:
    from ..checks import Check
    from ..findings import Finding, Report

SUITE = "dsdoctor"
#: characters XML 1.0 cannot hold, even escaped (a file name may contain them)
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def to_junit(report: Report, checks: Iterable[type[Check]]) -> str:
    """The report as a JUnit XML document (a string, with the XML declaration)."""
    checks = list(checks)
    across = [(c.code, c.name) for c in checks if c.family == "splits"]
    ran = [(c.code, c.name) for c in checks if c.family != "splits"]
    codes = {code for code, _ in across}
    for f in report.findings:  # a finding whose check is not in ``checks`` still shows
        if (f.code, f.name) not in ran and f.code not in codes:
            ran.append((f.code, f.name))
    by_case: dict[tuple[str, str], list[Finding]] = {}
    orphans: list[Finding] = []
    for f in report.findings:
        if f.code in codes:
            continue
        named = [a for a in f.arrays if a in report.arrays]
        for a in dict.fromkeys(named):
            by_case.setdefault((a, f.code), []).append(f)
        if not named:
            orphans.append(f)

    suite = ET.Element("testsuite", name=SUITE)
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="dsdoctor.version", value=_x(report.version))
    counts = {"tests": 0, "failures": 0, "skipped": 0}
    for array, info in report.arrays.items():
        not_read = info.get("unsafe") or info.get("skipped")
        for code, name in ran:
            found = by_case.get((array, code), [])
            _case(suite, array, code, name, found, counts, skip=None if found else not_read)
    for f in orphans:
        _case(suite, SUITE, f.code, f.name, [f], counts, skip=None)
    for e in report.not_read:  # a folder's entry dsdoctor did not read: skipped, never passed
        case = ET.SubElement(suite, "testcase", classname=_x(e["source"]),
                             name=_x(f"not read: {e['entry']}"), time="0")  # fmt: skip
        ET.SubElement(case, "skipped", message=_x(f"not read: {e['why']}"))
        counts["tests"] += 1
        counts["skipped"] += 1
    if report.splits is not None:
        not_run = report.splits.get("not_run") or {}
        for code, name in across:
            found = [f for f in report.findings if f.code == code]
            case = _case(suite, "splits", code, name, found, counts, skip=not_run.get(code))
            partly = _judged_in_part(report.splits, code)
            if partly and case.find("skipped") is None:  # passed or failed, but only in part
                props = ET.Element("properties")  # first: JUnit's schema orders it so
                ET.SubElement(props, "property", name="dsdoctor.judged", value="in part")
                case.insert(0, props)
                out = case.find("system-out")
                said = "judged only in part: " + "; ".join(partly)
                if out is None:
                    ET.SubElement(case, "system-out").text = _x(said)
                else:
                    out.text = f"{out.text}\n\n{_x(said)}"

    suite.attrib.update(tests=str(counts["tests"]), failures=str(counts["failures"]), errors="0",
                        skipped=str(counts["skipped"]), time="0")  # fmt: skip
    root = ET.Element("testsuites", name=SUITE, tests=str(counts["tests"]),
                      failures=str(counts["failures"]), errors="0", skipped=str(counts["skipped"]))  # fmt: skip
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def checks_that_ran(select: list[str] | None, ignore: list[str] | None) -> list[type[Check]]:
    """The registry's checks that ``--select``/``--ignore`` leave, in registry order."""
    from ..checks import REGISTRY, resolve_codes

    chosen, skipped = resolve_codes(select), resolve_codes(ignore)
    return [c for c in REGISTRY
            if (chosen is None or c.code in chosen) and not (skipped and c.code in skipped)]  # fmt: skip


def _judged_in_part(splits: dict, code: str) -> list[str]:
    """What a split check that ran did not judge (the report's ``splits``): DS806 the drift
    judged only by range or not at all, DS807 the labels of splits too small, DS804 the
    windows whose timesteps were not compared."""
    if code == "DS806":
        return [n for n in splits.get("drift_not_judged") or [] if ": labels:" not in n]
    if code == "DS807":
        return [n for n in splits.get("drift_not_judged") or [] if ": labels:" in n]
    if code == "DS804":
        return list(splits.get("timesteps_not_compared") or [])
    return []


def _case(suite: ET.Element, classname: str, code: str, name: str, found: list[Finding],
          counts: dict[str, int], *, skip: str | None) -> ET.Element:  # fmt: skip
    case = ET.SubElement(suite, "testcase", classname=_x(classname), name=_x(f"{code} {name}"),
                         time="0")  # fmt: skip
    counts["tests"] += 1
    failing = [f for f in found if f.severity.value != "info"]
    text = _x("\n\n".join(_details(f) for f in found))
    if failing:
        worst = max(failing, key=lambda f: f.severity.rank)
        message = "; ".join(f.message for f in failing)
        failure = ET.SubElement(case, "failure", message=_x(message), type=worst.severity.value)
        failure.text = text
        counts["failures"] += 1
    elif found:
        ET.SubElement(case, "system-out").text = text
    elif skip:
        ET.SubElement(case, "skipped", message=_x(f"not checked: {skip}"))
        counts["skipped"] += 1
    return case


def _details(f: Finding) -> str:
    lines = [f"{f.code} {f.name} ({f.severity.value}): {f.message}"]
    if len(f.arrays) > 1:
        lines.append(f"arrays: {', '.join(f.arrays)}")
    if f.evidence:
        lines.append("evidence:")
        lines += [f"  {k}: {dumps(v)}" for k, v in f.evidence.items()]
    for fix in f.fixes:
        lines.append(f"fix ({fix.safety.value}): {fix.command}")
    return "\n".join(lines)


def _x(text: str) -> str:
    """``text`` with control characters shown as escapes (a JUnit file is often printed to a
    terminal) and any other character XML 1.0 cannot represent replaced by U+FFFD."""
    from .safe import printable

    return _INVALID_XML.sub("\ufffd", printable(text, lines=True))


def report_text(
    report: Report, *, select: list[str] | None = None, ignore: list[str] | None = None
) -> str:
    """``check --format junit``: one test case per check that ran."""
    return to_junit(report, checks_that_ran(select, ignore))
