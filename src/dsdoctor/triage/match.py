"""Matching: the finding a whole error message or traceback points to.

Every pattern of :data:`.patterns.PATTERNS` is run over the text; when several lines match, the
last one wins (the final exception is the one that stopped the program), and on one line the
first entry of the table.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from typing import Any

from .patterns import PATTERNS, Numbers, Pattern
from .read import MAX_CHARS
from .wording import check_command, explanation


@dataclass(frozen=True)
class Diagnosis:
    """What an error message points to: the finding, the numbers read, and how to confirm it."""

    finding: str
    code: str
    numbers: Numbers
    framework: str
    matched: str
    explanation: str
    check_command: str
    pattern: str = ""  # the id of the message family that matched (PATTERNS)

    def to_dict(self) -> dict[str, Any]:
        return {"finding": self.finding, "code": self.code, "numbers": dict(self.numbers),
                "framework": self.framework, "matched": self.matched,
                "explanation": self.explanation, "check_command": self.check_command,
                "pattern": self.pattern}  # fmt: skip


NOT_FOUND = "no known framework error message was found"


def not_found_dict() -> dict[str, Any]:
    """The ``--json`` object for text that names no finding (same keys as a diagnosis)."""
    return {"finding": None, "code": None, "numbers": {}, "framework": None, "matched": None,
            "explanation": NOT_FOUND, "check_command": None, "pattern": None}  # fmt: skip


#: A terminal colour or cursor sequence, dropped before matching: Keras 3 prints its messages in
#: bold (``\x1b[1m … \x1b[0m``) on every backend. Also as a log may hold it: the escape written
#: out (``\u001b[1m`` in a JSON log, ``\x1b[1m`` or ``\033[1m`` in a repr), or a colour code whose
#: escape character was lost on the way (``[1m … [0m`` pasted from a notebook).
_ANSI = re.compile(r"(?:\x1b|\\x1b|\\033|\\u001b|\\e)\[[0-9;?]{0,64}+[A-Za-z]"
                   r"|\[(?:[0-9]{1,3};){0,8}+[0-9]{1,3}m")  # fmt: skip


def _normalise(text: str) -> str:
    text = text[-MAX_CHARS:]
    return _ANSI.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def triage(text: str) -> Diagnosis | None:
    """The finding an error message or traceback points to, or None for unknown text.

    When several lines match, the last one wins (the final exception); on one line, the first
    entry of :data:`PATTERNS`.
    """
    text = _normalise(text)
    starts = [m.start() for m in re.finditer("\n", text)]
    best: tuple[tuple[int, int], Pattern, re.Match[str], tuple[str, Numbers]] | None = None
    for order, pattern in enumerate(PATTERNS):
        for m in pattern.regex.finditer(text):
            key = (bisect.bisect_left(starts, m.start()), -order)
            if best is not None and key <= best[0]:
                continue
            reading = pattern.reading(m)
            if reading is not None:
                best = (key, pattern, m, reading)
    if best is None:
        return None
    _, pattern, m, (finding, numbers) = best
    from ..checks import get_check  # the finding's code; the registry is imported on a match only

    return Diagnosis(
        finding=finding,
        code=get_check(finding).code,
        numbers=numbers,
        framework=pattern.framework,
        matched=_lines(text, m),
        explanation=explanation(finding, numbers),
        check_command=check_command(finding, numbers),
        pattern=pattern.id,
    )


def _lines(text: str, m: re.Match[str]) -> str:
    """The whole line(s) the match is on, as one line."""
    start = text.rfind("\n", 0, m.start()) + 1
    end = text.find("\n", m.end())
    return " ".join(part.strip() for part in text[start : None if end < 0 else end].split("\n")
                    if part.strip())  # fmt: skip
