"""Parsing and printing of sizes ("64MiB", "8GB") and Keras-style shapes ("(None, 5, 3)")."""

from __future__ import annotations

import re

from .errors import ShapeError, UsageError

_UNITS = {
    "": 1, "b": 1,
    "k": 1000, "kb": 1000, "m": 1000**2, "mb": 1000**2, "g": 1000**3, "gb": 1000**3,
    "t": 1000**4, "tb": 1000**4,
    "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4,
}  # fmt: skip


def parse_size(text: str | int, *, what: str = "size") -> int:
    """``"64MiB"`` → 67108864. Decimal (kB, MB, GB) and binary (KiB, MiB, GiB) units."""
    if isinstance(text, int):
        return text
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", str(text))
    if not m or m.group(2).lower() not in _UNITS:
        raise UsageError(
            f"cannot read {what} {text!r}; write a number with a unit, e.g. 8GiB or 512MB"
        )
    value = float(m.group(1)) * _UNITS[m.group(2).lower()]
    if value <= 0:
        raise UsageError(f"{what} must be positive, got {text!r}")
    return int(value)


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
        elif re.fullmatch(r"\d+", part):
            dims.append(int(part))
        else:
            raise ShapeError(
                f'cannot read shape {text!r}: {part!r} is not a size; write it like "(None, 5, 3)"'
            )
    if not dims:
        raise ShapeError(
            f'cannot read shape {text!r}: it has no dimensions; write it like "(None, 5, 3)"'
        )
    if batch == "optional" and dims[0] is None:
        dims = dims[1:]
    return tuple(dims)


def format_shape(shape) -> str:
    inner = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"
