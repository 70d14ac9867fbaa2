"""GitHub Actions workflow commands: one annotation per finding.

``::error file=train.h5,title=DS101 sample-count-mismatch::x has 29 samples but y has 1``
(``warning`` → ``::warning``, ``info`` → ``::notice``). ``file`` is the path of the first array the
finding names (its source without the ``:selector``; left out for in-memory arrays); the first
fix command follows the message on its own line. Escaping follows the runner's rules: in the
message ``%``, CR and LF become ``%25``, ``%0D``, ``%0A``; in properties ``:`` and ``,`` too.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..findings import Finding, Report

COMMAND = {"error": "error", "warning": "warning", "info": "notice"}


def to_github(report: Report) -> str:
    """The findings as workflow commands, one line each (empty when there is none), then a
    ``notice`` for each entry of a folder that was not read (``Report.not_read``): a step's log
    never reads as if they were checked."""
    lines = [annotation(f, report.arrays) for f in report.findings]
    for e in report.not_read:
        head = f"file={escape_property(e['entry'])},title={escape_property('not read')}"
        lines.append(f"::notice {head}::{escape_data(e['entry'] + ' was not read: ' + e['why'])}")
    return "".join(line + "\n" for line in lines)


def annotation(f: Finding, arrays: dict[str, dict]) -> str:
    props = {}
    path = next((p for p in (_file(arrays.get(a, {}).get("source")) for a in f.arrays) if p), None)
    if path:
        props["file"] = path
    props["title"] = f"{f.code} {f.name}"
    message = f.message
    if f.fixes:
        fix = f.fixes[0]
        message += f"\nfix ({fix.safety.value}): {fix.command}"
    head = ",".join(f"{k}={escape_property(v)}" for k, v in props.items())
    return f"::{COMMAND[f.severity.value]} {head}::{escape_data(message)}"


def escape_data(text: str) -> str:
    """The runner's escapes, after other control characters are shown as escapes (an ESC in an
    annotation would colour the log)."""
    from .safe import printable

    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return printable(text)


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _file(source: str | None) -> str | None:
    """The file of a ``PATH[:SELECTOR]`` source; None for in-memory arrays (``<x>``) and stdin."""
    if not source or source.startswith("<") or source == "-" or source.startswith("-:"):
        return None
    from ..errors import SourceError
    from ..sources import parse_source

    try:
        path = str(parse_source(source).path)
    except SourceError:  # gone since the check: the text up to the first selector colon
        path = source.split(":", 1)[0] if len(source) > 2 and source[1] != ":" else source
    if os.path.isabs(path):  # annotations want paths relative to the workspace (the cwd)
        rel = os.path.relpath(path)
        path = rel if not rel.startswith("..") else path
    return path


def report_text(report: Report, *, select: Any = None, ignore: Any = None) -> str:
    """``check --format github``: one workflow annotation per finding."""
    return to_github(report)
