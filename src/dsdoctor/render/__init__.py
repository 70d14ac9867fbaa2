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

#: ``check --format NAME`` → the module under ``render`` that writes it; ``text`` is drawn on the
#: terminal by :mod:`dsdoctor.render.text` instead of returned as text.
REPORT_FORMATS: dict[str, str | None] = {
    "text": None,
    "json": "json",
    "junit": "junit",
    "github": "github",
    "html": "html",
}


def report_text(
    report: Report,
    report_format: str,
    *,
    select: list[str] | None = None,
    ignore: list[str] | None = None,
) -> str:
    """``report`` in ``report_format`` (a key of :data:`REPORT_FORMATS` other than ``text``)."""
    module = REPORT_FORMATS[report_format]
    if module is None:
        raise ValueError(f"{report_format} reports are drawn on a terminal, not returned as text")
    writer = import_module(f".{module}", __name__)
    return writer.report_text(report, select=select, ignore=ignore)
