"""Text from files, made safe to show: the one escaping function of every human output.

Names come from the data — Parquet columns, npz members, HDF5 datasets, CSV headers, file names —
and may hold control characters: ESC starts terminal sequences (colours, the window title,
clearing the screen), CR and BS overwrite what was printed, a newline forges a line of the
report, and the bidi controls (U+202E RIGHT-TO-LEFT OVERRIDE …) reorder what a reader sees.

:func:`printable` shows each of them as a visible escape (``\\x1b``, ``\\n``, ``\\u202e``). The text
renderer applies it to every field it embeds and again to every line it prints; the error line on
stderr, GitHub annotations, JUnit XML and the HTML report apply it too. JSON needs nothing: its
encoder already writes ``\\u001b``.
"""

from __future__ import annotations

import re

#: C0 controls, DEL, C1 controls, the Unicode line/paragraph separators and the bidi controls
#: (ALM, LRM, RLM, LRE…RLO, LRI…PDI).
_OTHERS = "\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[\x00-\x1f{_OTHERS}]")
_UNSAFE_BUT_NEWLINE = re.compile(f"[\x00-\x09\x0b-\x1f{_OTHERS}]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _visible(m: re.Match[str]) -> str:
    c = m.group()
    return _NAMED.get(c) or (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")


def printable(text: object, *, lines: bool = False) -> str:
    """``text`` with every control character shown as an escape; ``lines=True`` keeps newlines
    (for a whole block of output whose fields were escaped already)."""
    return (_UNSAFE_BUT_NEWLINE if lines else _UNSAFE).sub(_visible, str(text))
