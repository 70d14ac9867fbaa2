"""One self-contained HTML page for a check report: inline CSS, inline SVG, no script, nothing
fetched from anywhere. It is written with ``dsdoctor check … --format html -o report.html``.

- :mod:`.page` lays the page out: summary counts, the arrays, the findings;
- :mod:`.charts` draws each array's charts as SVG from the report's statistics and findings;
- :mod:`.text` escapes text (every piece of text from the data goes through
  :func:`~.text.esc`) and writes numbers for people;
- ``style.css`` is the stylesheet, package data inlined into every page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .charts import chosen_maxlen
from .page import to_html

if TYPE_CHECKING:
    from ...findings import Report

__all__ = ["chosen_maxlen", "report_text", "to_html"]


def report_text(report: Report, *, select: Any = None, ignore: Any = None) -> str:
    """``check --format html``: the page."""
    return to_html(report)
