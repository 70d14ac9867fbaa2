"""Facts about the columns of a table that are not model inputs as they stand (categories,
dates, strings, index columns, …): what ``check`` read of them, so that nothing in a file is
silently left out of a report.

Every column of a table ``check`` opens ends up either in an analysed array (a subject) or in
one :class:`ColumnFacts` (``Context.columns``). The reading that fills these facts decodes every
value, so a column no reader can decode is an ``unreadable-data`` finding, never a silent pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ColumnFacts:
    """One column of a table and what a full decode of it found."""

    source: str  # the table as the user named it (``penguins.csv``)
    name: str  # the column's name
    #: numeric | boolean | categorical | datetime | duration | nested | other
    kind: str
    #: the reader's type (``string``, ``dictionary<values=string, …>``, ``timestamp[ns]``)
    dtype: str
    rows: int = 0
    nulls: int = 0
    #: the first few row numbers (0-based) holding a null
    null_rows: list[int] = field(default_factory=list)
    #: why it is not a model input as it stands (``"index"``, ``"categorical"``, ``"datetime"``…)
    reason: str = ""
    #: the reader's message when a value could not be decoded (then the column is unreadable)
    error: str | None = None
    #: kind-specific facts: distinct count and top values, range of dates, …
    facts: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"source": self.source, "name": self.name, "kind": self.kind,
                               "dtype": self.dtype, "rows": self.rows, "nulls": self.nulls}  # fmt: skip
        if self.null_rows:
            out["null_rows"] = list(self.null_rows)
        if self.reason:
            out["reason"] = self.reason
        if self.error:
            out["error"] = self.error
        if self.facts:
            out["facts"] = dict(self.facts)
        return out
