"""Renderers: the text report on a terminal (``render.text``, the only place that imports rich)
and the report formats ``check --format`` writes, one row each in :data:`REPORT_FORMATS`.

A report format is a module here with ``report_text(report, *, select, ignore) -> str`` (the
checks that ran follow from ``select``/``ignore``, for formats that list passing checks too).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..findings import Report

#: ``check --format NAME`` → (the module under ``render`` that writes it, its words in
#: ``--help``); ``text`` is drawn on the terminal by :mod:`dsdoctor.render.text` instead.
REPORT_FORMATS: dict[str, tuple[str | None, str]] = {
    "text": (None, "text"),
    "json": ("json", "json"),
    "junit": ("junit", "junit (JUnit XML)"),
    "github": ("github", "github (Actions annotations)"),
    "html": ("html", "html (a self-contained page with charts; needs -o)"),
}


def report_formats_help() -> str:
    """``text, json, … or html (…)``: the formats in the words of ``--help``."""
    words = [said for _, said in REPORT_FORMATS.values()]
    return ", ".join(words[:-1]) + " or " + words[-1]


def report_text(
    report: Report,
    report_format: str,
    *,
    select: list[str] | None = None,
    ignore: list[str] | None = None,
) -> str:
    """``report`` in ``report_format`` (a key of :data:`REPORT_FORMATS` other than ``text``)."""
    module = REPORT_FORMATS[report_format][0]
    if module is None:
        raise ValueError(f"{report_format} reports are drawn on a terminal, not returned as text")
    writer = import_module(f".{module}", __name__)
    return writer.report_text(report, select=select, ignore=ignore)
