"""Text on the page: escaping (every piece of text from the data goes through :func:`esc`) and
numbers written for people (18,496; 3.142; – for a missing value)."""

from __future__ import annotations

import math
from html import escape
from typing import Any

from ..json import dumps
from ..safe import printable


def as_float(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def num(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int) or (hasattr(v, "dtype") and getattr(v.dtype, "kind", "") in "iu"):
        return f"{int(v):,}"
    try:
        f = float(v)
    except (TypeError, ValueError):
        return esc(str(v))
    if not math.isfinite(f):
        return str(f)
    return f"{f:,.0f}" if f.is_integer() and abs(f) < 1e15 else f"{f:.4g}"


def evidence_text(v: Any) -> str:
    """An evidence value for people: 18,496 rather than 18496, lists without brackets."""
    if hasattr(v, "tolist"):
        v = v.tolist()
    if isinstance(v, bool) or v is None:
        return dumps(v)
    if isinstance(v, int | float):
        return num(v)
    if isinstance(v, list | tuple) and all(isinstance(i, int | float) for i in v):
        return short(", ".join(num(i) for i in v))
    return short(v if isinstance(v, str) else dumps(v))


def short(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def esc(text: Any) -> str:
    """HTML-escaped, with control and bidi characters shown as escapes (a U+202E in a name would
    reorder the page's text)."""
    return escape(printable(text, lines=True), quote=True)
