"""Parsing and printing of the values options take: sizes ("64MiB", "8GB"), Keras-style shapes
("(None, 5, 3)"), whole numbers ("64"), lists of them ("10,20,30"), numbers ("-1", "nan"), dtypes
("float32") and pad lengths ("256", "p95").

One parser per kind of value, used by every command and by the spec schema: each raises
UsageError (or ShapeError) with one line saying what was wrong, so a bad option value is exit 2,
never an exception from deeper down. Whole numbers are bounded to an int64 (:data:`MAX_COUNT`):
every count and index ends up in a NumPy array or a C library, where a larger one overflows.
"""

from __future__ import annotations

import math
import re

from .errors import ShapeError, UsageError

_UNITS = {
    "": 1, "b": 1, "bytes": 1,
    "k": 1000, "kb": 1000, "m": 1000**2, "mb": 1000**2, "g": 1000**3, "gb": 1000**3,
    "t": 1000**4, "tb": 1000**4,
    "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4,
}  # fmt: skip


def read_size(text: str) -> int | None:
    """``"64MiB"`` → 67108864, ``"2.00 GiB"`` → 2147483648, ``"512 bytes"`` → 512, or None for
    text that is not a size (``1.2.3 GiB``, an unknown unit, a number too large for a float).
    Decimal (kB, MB, GB) and binary (KiB, MiB, GiB) units; the one reader of sizes, used by
    :func:`parse_size` for options and by triage for the sizes in framework messages."""
    # one way to split a number (``[0-9]*\.?[0-9]+`` tried every split: 8,000 digits took 12 s)
    m = re.fullmatch(r"\s*+([0-9]++(?:\.[0-9]++)?|\.[0-9]++)\s*+([a-zA-Z]*+)\s*+", str(text))
    if not m or m.group(2).lower() not in _UNITS:
        return None
    value = float(m.group(1)) * _UNITS[m.group(2).lower()]
    return int(value) if math.isfinite(value) else None


def parse_size(text: str | int, *, what: str = "size") -> int:
    """``"64MiB"`` → 67108864 (:func:`read_size`), refusing a size that is not positive or is
    more than :data:`MAX_COUNT`."""
    if isinstance(text, int):
        return text
    value = read_size(text)
    if value is None:
        raise UsageError(
            f"cannot read {what} {text!r}; write a number with a unit, e.g. 8GiB or 512MB"
        )
    if value <= 0:
        raise UsageError(f"{what} must be positive, got {text!r}")
    if value > MAX_COUNT:
        raise UsageError(f"{what} {text!r} is more than {format_bytes(MAX_COUNT)}")
    return value


#: The largest whole number an option takes: an int64, what NumPy and C libraries count with.
MAX_COUNT = 2**63 - 1


def parse_count(text: str | int, *, low: int = 1, high: int = MAX_COUNT) -> int:
    """``"64"`` → 64, a whole number from ``low`` to ``high``."""
    raw = str(text).strip()
    if not re.fullmatch(r"[-+]?[0-9]{1,30}", raw):  # 30 digits: past any bound, cheap to convert
        raise UsageError(f"{_shown(text)} is not a whole number; write one like 64")
    n = int(raw)
    if not low <= n <= high:
        raise UsageError(
            f"{_shown(text)} is out of range: write a whole number from {low} to {high}"
        )
    return n


def parse_counts(text: str, *, low: int = 0, high: int = MAX_COUNT) -> list[int]:
    """``"10,20,30"`` → [10, 20, 30]: a comma-separated list of at least one whole number."""
    parts = [p.strip() for p in str(text).split(",")]
    if not any(parts):
        raise UsageError(
            f"{_shown(text)} is empty; write whole numbers separated by commas, e.g. 0,1,3"
        )
    if "" in parts:
        raise UsageError(f"{_shown(text)} has an empty item; write e.g. 0,1,3")
    return [parse_count(p, low=low, high=high) for p in parts]


#: One item of an index selection: ``I``, or a range ``A:B`` / ``A:B:S`` (half-open, as a Python
#: slice; ``A`` or ``B`` left out means the start or the end; negative counts from the end).
_RANGE = re.compile(r"([-+]?[0-9]{1,30})?:([-+]?[0-9]{1,30})?(?::([-+]?[0-9]{1,30}))?")
#: A selection item: an index, or ``(start, stop, step)`` with None for a bound left out.
SelectionItem = int | tuple[int | None, int | None, int]


def parse_selection(text: str) -> list[SelectionItem]:
    """``"0:10,12,20:80:2"`` → ``[(0, 10, 1), 12, (20, 80, 2)]``: indices and ranges separated by
    commas (or, read from a file, by whitespace and newlines; ``#`` starts a comment). Ranges
    are half-open like Python slices (``0:72`` is 0 … 71); they are checked against the width
    by :func:`resolve_selection`."""
    words = [
        w for line in str(text).splitlines() for w in re.split(r"[,\s]+", line.split("#", 1)[0])
    ]
    if not any(words):
        raise UsageError(
            f"{_shown(text)} is empty; write indices or ranges separated by commas, e.g. 0,1,3:40"
        )
    if "\n" not in str(text) and "" in [p.strip() for p in str(text).split(",")]:
        raise UsageError(f"{_shown(text)} has an empty item; write e.g. 0,1,3:40")
    items: list[SelectionItem] = []
    for word in (w for w in words if w):
        if ":" not in word:
            items.append(parse_count(word, low=-MAX_COUNT))
            continue
        m = _RANGE.fullmatch(word)
        if not m:
            raise UsageError(
                f"{_shown(word)} is not an index range; write START:STOP or START:STOP:STEP, e.g. 0:72"
            )
        start, stop, step = (
            None if g is None else parse_count(g, low=-MAX_COUNT) for g in m.groups()
        )
        if step is not None and step < 1:
            raise UsageError(f"{_shown(word)}: the step must be at least 1")
        items.append((start, stop, step or 1))
    return items


def check_selection(text: str) -> str:
    """``text`` as given, once :func:`parse_selection` reads it (``@FILE`` is read later, by the
    command: the option only needs a file name after the ``@``)."""
    if str(text).startswith("@"):
        if not str(text)[1:].strip():
            raise UsageError("@ needs a file name: --features @keep.txt")
        return str(text)
    parse_selection(text)
    return str(text)


def resolve_selection(
    items: list[SelectionItem], width: int, *, what: str = "feature"
) -> list[int]:
    """The indices ``items`` select among ``width`` (negative ones from the end), in order;
    UsageError for an index or a range end outside ``0 … width`` and for an empty range (the
    caller names the width)."""
    out: list[int] = []
    for item in items:
        if isinstance(item, int):
            if not -width <= item < width:
                raise UsageError(f"{what} {item} does not exist")
            out.append(item % width)
            continue
        start, stop, step = item
        shown = f"{'' if start is None else start}:{'' if stop is None else stop}" + (
            f":{step}" if step != 1 else ""
        )
        for end in (start, stop):
            if end is not None and not -width <= end <= width:
                raise UsageError(f"range {shown} reaches past the end (0:{width} is all of them)")
        picked = range(width)[slice(start, stop, step)]
        if not picked:
            raise UsageError(f"range {shown} is empty (START must be below STOP)")
        out.extend(picked)
    return out


def format_selection(indices: list[int]) -> str:
    """The shortest text :func:`parse_selection` reads back as ``indices`` (in their order):
    runs of three or more evenly spaced indices become ranges, ``0,1,2,…,71`` → ``0:72``,
    ``0,2,4,6`` → ``0:7:2``."""
    parts: list[str] = []
    i, n = 0, len(indices)
    while i < n:
        j = i + 1
        if j < n and indices[j] > indices[i]:
            step = indices[j] - indices[i]
            while j + 1 < n and indices[j + 1] - indices[j] == step:
                j += 1
            j += 1  # one past the run's last index
        listed = ",".join(map(str, indices[i:j]))
        if j - i >= 3:
            step = indices[i + 1] - indices[i]
            ranged = f"{indices[i]}:{indices[j - 1] + 1}" + (f":{step}" if step != 1 else "")
            if len(ranged) < len(listed):
                parts.append(ranged)
                i = j
                continue
        parts.append(str(indices[i]))
        i += 1
    return ",".join(parts)


def parse_number(text: str | float, *, finite: bool = False) -> int | float:
    """``"0"`` → 0 (an int, so it fits integer data), ``"-0.5"`` → -0.5, ``"nan"``/``"inf"``
    unless ``finite``."""
    raw = str(text).strip()
    if re.fullmatch(r"[-+]?[0-9]{1,30}", raw):
        return int(raw)
    try:
        value = float(raw) if len(raw) <= 64 and raw.isascii() else None  # not "٣": float reads it
    except ValueError:
        value = None
    if value is None or (finite and not math.isfinite(value)):
        kind = "a finite number" if finite else "a number"
        raise UsageError(f"{_shown(text)} is not {kind}; write one like 0, -1 or 0.5")
    if math.isinf(value) and "inf" not in raw.lower():  # 1e999: too large for a float
        raise UsageError(f"{_shown(text)} is too large for a 64-bit float")
    return int(value) if value.is_integer() and abs(value) <= MAX_COUNT else value


#: dtype kinds an option may ask for: booleans, integers, floats, complex numbers.
NUMERIC_KINDS = "biufc"


def parse_dtype(text: str) -> str:
    """``"float32"`` → ``"float32"``, a numeric dtype NumPy knows (not object, strings, dates)."""
    import numpy as np

    try:
        dtype = np.dtype(str(text).strip())
    except (TypeError, ValueError, SyntaxError):
        raise UsageError(
            f"{_shown(text)} is not a dtype; write one like float32, int64 or bool"
        ) from None
    if dtype.kind not in NUMERIC_KINDS:
        raise UsageError(
            f"{_shown(text)} is not a numeric dtype; write one like float32, int64 or bool"
        )
    return dtype.name


def parse_maxlen(text: str | int) -> int | str:
    """A pad length: ``"256"`` → 256, or a percentile ``"p95"`` (the shortest length covering
    95% of the sequences), kept as text for the pass over the lengths."""
    raw = str(text).strip()
    if re.fullmatch(r"p[0-9]{1,3}(\.[0-9]{1,6})?", raw) and 0 < float(raw[1:]) <= 100:
        return raw
    if raw.startswith("p"):
        raise UsageError(
            f"{_shown(text)} is not a percentile; write pNN with 0 < NN <= 100, e.g. p95"
        )
    return parse_count(raw, low=0)


#: Delimiters by name (``--delimiter tab``); ``\t`` as typed in a shell without $'…' is a tab.
DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "space": " ", "comma": ",", "semicolon": ";",
                   "pipe": "|"}  # fmt: skip


def parse_delimiter(text: str) -> str:
    """A CSV field delimiter: one character (``;``, ``|``, a tab) or its name (``tab``,
    ``semicolon``, …). A letter, digit, quote, line break or decimal point cannot separate
    fields of numbers, so it is refused rather than read as a one-column table."""
    raw = str(text)
    value = DELIMITER_NAMES.get(raw.lower(), raw)
    if len(value) != 1:
        raise UsageError(
            f"--delimiter {_shown(text)} is not one character; write one like , ; | or tab"
        )
    if value.isalnum() or value in "\"'\r\n.-+" or (not value.isprintable() and value != "\t"):
        raise UsageError(
            f"--delimiter {_shown(text)} cannot separate CSV fields (it is part of values, "
            "quotes or line ends); write one like , ; | or tab"
        )
    return value


def parse_decimal(text: str) -> str:
    """A CSV decimal mark: ``.`` or ``,``."""
    value = str(text).strip()
    if value not in (".", ","):
        raise UsageError(f"--decimal {_shown(text)} is not a decimal mark; write . or ,")
    return value


#: Room an output name needs beyond what was typed: its temporary ``.NAME.dsdoctor-tmp-XXXXXXXX``
#: adds 23 bytes, the longest sibling suffix (``.lengths``) 8.
NAME_ROOM = 32


def name_limit(path: str) -> int:
    """The longest file name (bytes) the file system holding ``path`` allows; 255 when unknown."""
    import os

    folder = os.path.dirname(os.path.abspath(path)) or "/"
    while not os.path.isdir(folder) and folder != os.path.dirname(folder):
        folder = os.path.dirname(folder)
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def parse_output(text: str) -> str:
    """An output path whose every part, with NAME_ROOM to spare, fits the file system's name
    limit: refused here, not as ENAMETOOLONG halfway through a write. ``-`` is stdout."""
    import os

    if text == "-":
        return text
    limit = name_limit(text)
    for part in str(text).split("/"):
        size = len(os.fsencode(part))
        if size + NAME_ROOM > limit:
            raise UsageError(
                f"the name {_shown(part[:20])}… is {size} bytes; this file system allows {limit} "
                f"per name, and dsdoctor needs {NAME_ROOM} more for its temporary and sibling files"
            )
    return text


def fit_name(stem: str, suffix: str, limit: int = 255) -> str:
    """``stem + suffix`` with the stem cut so that the name leaves NAME_ROOM under ``limit``
    (a long input name gives an output name :func:`parse_output` accepts)."""
    import os

    room = limit - NAME_ROOM - len(os.fsencode(suffix))
    raw = os.fsencode(stem)
    if len(raw) <= room:
        return stem + suffix
    return (
        os.fsdecode(raw[: max(1, room)]).encode("utf-8", "ignore").decode("utf-8", "ignore")
        + suffix
    )


def _shown(text) -> str:
    """An option value quoted for an error, cut to 40 characters."""
    shown = repr(str(text))
    return shown if len(shown) <= 40 else shown[:37] + "...'"


def format_bytes(n: float) -> str:
    """4294967296 → ``"4.0 GiB"``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def parse_shape(text: str, *, batch: str = "optional") -> tuple[int | None, ...]:
    """Parse a Keras-style shape and drop the batch axis.

    ``"(None, 5, 3)"`` and ``"(5, 3)"`` both give ``(5, 3)``: a leading ``None`` is the batch
    axis, as in Keras error messages; other ``None`` (or ``-1``) entries are variable sizes.
    Write ``"(None, None, 3)"`` for a variable time axis. With ``batch="keep"`` nothing is
    dropped (used by ``reshape``, whose shapes always start with the sample axis).
    """
    raw = text.strip()
    if raw.startswith(("(", "[")) and raw.endswith((")", "]")):
        raw = raw[1:-1]
    parts = [p.strip() for p in raw.split(",")]
    if parts and parts[-1] == "":
        parts.pop()
    dims: list[int | None] = []
    for part in parts:
        if part.lower() in ("none", "-1", "?"):
            dims.append(None)
        elif re.fullmatch(r"[0-9]{1,30}", part) and int(part) <= MAX_COUNT:
            dims.append(int(part))
        else:
            raise ShapeError(
                f"cannot read shape {_shown(text)}: {_shown(part)} is not a size (a whole number up to "
                f"{MAX_COUNT}); "
                'write it like "(None, 5, 3)"'
            )
    if not dims:
        raise ShapeError(
            f'cannot read shape {_shown(text)}: it has no dimensions; write it like "(None, 5, 3)"'
        )
    if batch == "optional" and dims[0] is None:
        dims = dims[1:]
    return tuple(dims)


def format_shape(shape) -> str:
    inner = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"
