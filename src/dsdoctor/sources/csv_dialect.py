"""How a CSV file is written — delimiter, header row, decimal mark — told by its head, or by
the options (``--delimiter``, ``--header/--no-header``, ``--decimal``).

Files come as people save them: ``df.to_csv(sep=";", decimal=",")`` in a German locale,
``to_csv(header=False)`` or ``np.savetxt`` with no header row at all, tab- or pipe-separated,
Excel's UTF-8 with a byte-order mark and CRLF line ends. Assuming "comma, header row" reads the
first as one column of text, and silently makes the first sample of the second the column
names (statsmodels' longley, saved without a header: 15 rows of 16).

The first :data:`HEAD_BYTES` of the (decompressed) file are parsed with Python's ``csv`` module,
which respects quotes, once per candidate delimiter:

- **delimiter**: among ``, tab ; |`` the one that splits the first row into more than one
  field and the most rows into as many fields as the first (then: the one whose fields are
  more often numbers — a headerless ``sep=";", decimal=","`` file splits at its commas
  evenly too —, more fields, that order). Space is taken only for a table of numbers below row 1 (``np.savetxt``'s default),
  where it cannot be part of a value;
- **header**: the first row is names when some column holds numbers below a first-row value
  that is not one (``TOTEMP`` over ``60323``); it is data when it holds numbers and no such
  name (a file of numbers saved without a header); a first row of text over text is names
  (nothing tells otherwise, and that is how ``to_csv`` writes). Column names that are numbers
  (years) are read as data: ``--header`` says otherwise;
- **decimal**: ``,`` when the delimiter is not a comma and numbers are written ``1,5`` and
  none ``1.5``.

What was found and what was given is kept in :class:`Dialect`, which ``inspect`` shows. This
module only reads bytes already read; :mod:`dsdoctor.sources.csv` opens the file.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from ..errors import SourceError

#: Bytes of the head parsed to sniff the dialect: about a thousand rows of a typical table, and
#: parsed once per candidate delimiter by the csv module in C (about 1 ms each).
HEAD_BYTES = 64 * 1024
#: The delimiters sniffed, in the order a tie is broken.
CANDIDATES = (",", "\t", ";", "|")
#: What each compression extension means (the file is ``NAME.csv.gz`` or ``NAME.tsv.zst``).
COMPRESSION = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd"}
#: pyarrow's default ``ConvertOptions.null_values``: these fields are missing values, neither
#: names nor numbers (a test keeps the two lists equal).
NULLS = frozenset({"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan",
                   "1.#IND", "1.#QNAN", "N/A", "NA", "NULL", "NaN", "n/a", "nan", "null"})  # fmt: skip
_SPECIAL = frozenset({"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity", "nan"})
_NUMBER = {
    ".": re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"),
    ",": re.compile(r"[+-]?(?:[0-9]+,?[0-9]*|,[0-9]+)(?:[eE][+-]?[0-9]+)?"),
}
_COMMA_DECIMAL = re.compile(r"[+-]?[0-9]*,[0-9]+(?:[eE][+-]?[0-9]+)?")
_DOT_DECIMAL = re.compile(r"[+-]?[0-9]*\.[0-9]+(?:[eE][+-]?[0-9]+)?")
#: What a file that is not text starts with, and what it is then.
_NOT_TEXT = (
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"\xfd7zXZ\x00", "xz-compressed data"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed data"),
    (b"PK\x03\x04", "a zip archive (an Excel .xlsx, or a zipped file)"),
    (b"PAR1", "a Parquet file"),
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file"),
    (b"\x93NUMPY", "a .npy array"),
)
_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe", " ": "space"}


def delimiter_name(d: str) -> str:
    """``";"`` → ``"semicolon (;)"``: how messages and ``inspect`` name a delimiter."""
    return f"{_NAMES[d]} ({d!r})" if d in _NAMES and d not in "\t " else _NAMES.get(d, repr(d))


@dataclass(frozen=True)
class Dialect:
    """How a CSV file is read. ``sniffed`` names the fields found from the head (the others
    were given); ``header_reason`` says why the first row is, or is not, the names."""

    delimiter: str
    header: bool
    decimal: str
    compression: str | None
    sniffed: tuple[str, ...]
    header_reason: str
    bom: bool = False

    def layout(self) -> dict:
        """For ``inspect``: what was read, and which of it was sniffed rather than given."""
        out: dict = {"delimiter": self.delimiter, "header": "row 1" if self.header else "none",
                     "decimal": self.decimal}  # fmt: skip
        if self.compression:
            out["compression"] = self.compression
        if self.sniffed:
            out["sniffed"] = "+".join(self.sniffed)
        return out

    def describe(self) -> str:
        """One line for ``inspect``: ``delimiter ';' (sniffed), header: none (detected: row 1
        is numbers: 60323.0, 83.0, …; columns 0, 1, …), decimal ',' (sniffed), gzip``."""

        def how(field: str) -> str:
            return "sniffed" if field in self.sniffed else "given"

        shown = {"\t": "tab", " ": "space"}.get(self.delimiter, repr(self.delimiter))
        parts = [f"delimiter {shown} ({how('delimiter')})"]
        why = self.header_reason if "header" in self.sniffed else "given"
        parts.append(f"header: row 1 ({why})" if self.header
                     else f"header: none ({why}; columns 0, 1, …)")  # fmt: skip
        if self.decimal != "." or "decimal" not in self.sniffed:
            parts.append(f"decimal {self.decimal!r} ({how('decimal')})")
        if self.compression:
            parts.append(self.compression)
        if self.bom:
            parts.append("UTF-8 byte-order mark")
        return ", ".join(parts)


def compression_of(name: str) -> str | None:
    """``"train.csv.gz"`` → ``"gzip"``; None for a file that is not compressed."""
    lower = name.lower()
    return next((codec for ext, codec in COMPRESSION.items() if lower.endswith(ext)), None)


def sniff_dialect(head: bytes, *, whole: bool, display: str, compression: str | None = None,
                  tsv: bool = False, delimiter: str | None = None, header: bool | None = None,
                  decimal: str | None = None) -> Dialect:  # fmt: skip
    """The dialect of a file whose (decompressed) head is ``head`` (all of it when ``whole``),
    with the options that were given. Raises SourceError for a file that is empty or not text,
    and for a ``delimiter`` that never occurs where another one splits every row."""
    text, bom = _text(head, whole, display)
    if decimal is not None and delimiter is not None and decimal == delimiter:
        raise SourceError(
            f"--decimal {decimal!r} is also the --delimiter; a CSV's decimal mark cannot "
            "separate its fields (with --decimal , the delimiter is usually ;)"
        )
    candidates = [d for d in CANDIDATES if d != decimal]
    parsed = {d: _rows(text, d) for d in candidates}
    found = _sniffed_delimiter(parsed, text)
    sniffed: list[str] = []
    if delimiter is None:
        delimiter = found or ("\t" if tsv else ",")
        sniffed.append("delimiter")
        if delimiter == decimal:
            raise SourceError(
                f"{display}: no delimiter but {decimal!r} splits its rows, and --decimal makes "
                f"{decimal!r} the decimal mark; give the delimiter with --delimiter"
            )
    elif found and found != delimiter and delimiter not in text:
        lines = len(parsed[found])
        raise SourceError(
            f"{display} has no {delimiter_name(delimiter)} in its first {lines:,} rows; it is "
            f"{delimiter_name(found)}-separated ({len(parsed[found][0])} columns): drop "
            "--delimiter to let dsdoctor sniff it, or give the one the file uses"
        )
    rows = parsed.get(delimiter) or _rows(text, delimiter)
    if decimal is None:
        decimal = _sniffed_decimal(rows) if delimiter != "," else "."
        sniffed.append("decimal")
    if header is None:
        header, reason = _detected_header(rows, decimal)
        sniffed.append("header")
    else:
        reason = "given"
    return Dialect(delimiter, header, decimal, compression, tuple(sniffed), reason, bom)


def _text(head: bytes, whole: bool, display: str) -> tuple[str, bool]:
    """The head as text (cut after its last complete line unless it is the whole file); a file
    that is empty or is not text is refused here, before pyarrow reads it."""
    bom = head.startswith(b"\xef\xbb\xbf")
    body = head[3:] if bom else head
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SourceError(
            f"{display} is UTF-16 text; dsdoctor reads UTF-8 CSV: save it as UTF-8 "
            "(pandas: to_csv(encoding='utf-8'); Excel: CSV UTF-8)"
        )
    for magic, what in _NOT_TEXT:
        if body.startswith(magic):
            raise SourceError(
                f"{display} is {what}, not CSV text; name the file by what it holds "
                "(dsdoctor reads .csv.gz, .csv.bz2, .csv.xz and .csv.zst by their extension)"
            )
    nul = body.find(b"\x00")
    if nul != -1:
        raise SourceError(
            f"{display} is not CSV text: byte {nul + (3 if bom else 0):,} is NUL (binary data); "
            "check that this is the file you meant, or name its format with --source-format"
        )
    if not body.strip():
        raise SourceError(f"{display} is empty: it has no header and no rows")
    text = body.decode("utf-8", errors="replace")
    if not whole:
        last = text.rfind("\n")
        text = text[: last + 1] if last > 0 else text  # one partial line: its fields so far
    return text, bom


def _rows(text: str, delimiter: str) -> list[list[str]]:
    """The rows of ``text`` split at ``delimiter`` (quotes respected), without blank lines."""
    for quoting in (csv.QUOTE_MINIMAL, csv.QUOTE_NONE):  # a quote left open at the cut
        try:
            lines = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting)
            return [r for r in lines if r]
        except csv.Error:  # a lone carriage return mid-field, a field past the module's limit
            continue
    return []


def _sniffed_delimiter(parsed: dict[str, list[list[str]]], text: str) -> str | None:
    """The candidate that splits row 1 and the most rows alike, then whose fields are the
    most often numbers (``60323,0;83,0`` split at commas gives ``0;83``: none), then gives more
    fields, then comes first in :data:`CANDIDATES`; space for a table of numbers only; None
    when nothing splits."""
    best, key = None, (0.0, 0.0, 0, 0)
    for i, (d, rows) in enumerate(parsed.items()):
        if not rows or len(rows[0]) < 2:
            continue
        k = len(rows[0])
        marks = "." if d == "," else ".,"
        fields = [f for r in rows for f in r if f.strip() not in NULLS]
        numbers = sum(any(_is_number(f, m) for m in marks) for f in fields) / max(1, len(fields))
        score = (sum(len(r) == k for r in rows) / len(rows), numbers, k, -i)
        if score > key:
            best, key = d, score
    if best is None and " " in text:
        rows = _rows(text, " ")
        k = len(rows[0]) if rows else 0
        numbers = all(_is_number(f, ".") for r in rows[1:] for f in r)  # row 1 may be names
        if k > 1 and len(rows) > 1 and all(len(r) == k for r in rows) and numbers:
            return " "
    return best


def _sniffed_decimal(rows: list[list[str]]) -> str:
    """``,`` when numbers are written ``1,5`` and none ``1.5``; else ``.``."""
    fields = [f.strip() for r in rows[1:] for f in r]
    comma = any(_COMMA_DECIMAL.fullmatch(f) for f in fields)
    return "," if comma and not any(_DOT_DECIMAL.fullmatch(f) for f in fields) else "."


def _is_number(field: str, decimal: str) -> bool:
    f = field.strip()
    return bool(_NUMBER[decimal].fullmatch(f)) or f.lower() in _SPECIAL


def _detected_header(rows: list[list[str]], decimal: str) -> tuple[bool, str]:
    """Whether row 1 holds the names, and why (see the module's docstring)."""
    if not rows:
        return True, "detected"
    first, body = rows[0], rows[1:]
    width = len(first)
    numeric = [False] * width
    for j in range(width):
        values = [r[j] for r in body if j < len(r) and r[j].strip() not in NULLS]
        numeric[j] = bool(values) and all(_is_number(v, decimal) for v in values)
    for j, name in enumerate(first):
        if numeric[j] and name.strip() not in NULLS and not _is_number(name, decimal):
            return True, f"detected: {name.strip()[:40]!r} is above numbers"
    numbers = [f.strip() for f in first if f.strip() not in NULLS and _is_number(f, decimal)]
    if numbers:
        shown = ", ".join(numbers[:3]) + (", …" if len(numbers) > 3 else "")
        return False, f"detected: row 1 is numbers: {shown}"
    return True, "detected: row 1 is text"
