"""Checks of the table columns that are not analysed as arrays (``Context.columns``: what
``check`` read of them, :mod:`dsdoctor.engine.columns`): columns that are not model inputs as
they stand, a pandas index stored as a column, and data the reader cannot decode."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ..engine.columns import ColumnFacts
from ..findings import Finding, Fix, Severity
from . import fixes
from .base import Check, Context, Subject

#: Columns named in one message at most; the evidence lists them all.
SHOWN = 8


def by_table(columns: list[ColumnFacts]) -> dict[str, list[ColumnFacts]]:
    out: dict[str, list[ColumnFacts]] = {}
    for c in columns:
        out.setdefault(c.source, []).append(c)
    return out


def inputs_of(ctx: Context, source: str) -> Subject | None:
    """The stacked numeric columns of the table ``source`` that ``check`` analysed as inputs."""
    for s in ctx.subjects:
        table = getattr(s.handle, "table", None)
        if (table is not None and table.display == source and s.role != "y"
                and getattr(s.handle, "kind", None) == "scalar" and s.handle.layout.get("columns")):  # fmt: skip
            return s
    return None


def chose_columns(ctx: Context, source: str) -> bool:
    """Every array ``check`` read from the table ``source`` is columns the user named
    (``--x hf:train:input_ids --y hf:train:label``)."""
    mine = [s for s in ctx.subjects if getattr(getattr(s.handle, "table", None), "display",
                                               None) == source]  # fmt: skip
    return bool(mine) and all(s.named for s in mine)


def keep_inputs(s: Subject | None) -> list[Fix]:
    """``select --columns`` of the analysed input columns: the inputs as a file of numbers."""
    if s is None or s.handle.ndim != 2:
        return []
    return [fixes.select_columns(s.handle, list(s.handle.layout["columns"]))]


def listing(names: list[str]) -> str:
    shown = ", ".join(names[:SHOWN])
    return shown + (f" and {len(names) - SHOWN} more" if len(names) > SHOWN else "")


class NonInputColumns(Check):
    """Columns of a table that are not model inputs as they stand.

    What it means:
    dsdoctor stacks a table's numeric and boolean columns into the inputs (and reads numeric
    list columns as sequences). A column of strings or pandas categories, dates, durations,
    nested values (structs, maps, lists of text) or bytes is not a number a model can take:
    the finding names each with its kind and what to do with it, so that nothing in the file is
    left out in silence. ``dsdoctor inspect`` shows each column's facts (distinct values and
    the most frequent ones, date ranges, nulls).

    Why frameworks fail:
    ``model.fit(df.values)`` on a frame with a text column gives an object array ("Failed to
    convert a NumPy array to a Tensor (Unsupported object type str)"); ``torch.tensor`` refuses
    it ("can't convert np.ndarray of type numpy.object_"). Dropping the columns silently trains
    a model without information the table holds.

    How to repair:
    Encode a categorical column as integer codes (``dsdoctor encode SRC:COL -o OUT``, or one-hot
    codes, with the vocabulary kept beside it); derive numbers from a date (year, day of year,
    hour, seconds since an origin) in preprocessing; drop an id or free-text column (one value
    per row is not a category) — ``dsdoctor select SRC --columns …`` writes the numeric inputs
    alone. When the arrays checked are columns you named (``--x data.parquet:input_ids --y
    data.parquet:label``), the others were not asked for: no finding, and the report's note
    "not analysed as inputs" still names them.

    Example:
    dsdoctor check penguins.csv --target body_mass_g
    dsdoctor encode penguins.csv:species -o penguins.species.npy
    """

    code, name, severity, family = "DS701", "non-input-columns", Severity.WARNING, "columns"
    template = "{table}: {count} column(s) are not model inputs as they stand: {listing}"

    def run(self, ctx: Context) -> Iterator[Finding]:
        model = ctx.expect.model  # an MLflow column signature takes its string columns as text
        text_inputs = {n for n, t in model.columns if t == "string"} if model is not None else set()
        for table, cols in by_table(ctx.columns).items():
            found = [c for c in cols if c.reason not in ("index", "not selected") and not c.error
                     and c.name not in text_inputs]  # fmt: skip
            if not found or chose_columns(ctx, table):
                continue  # columns named by the user: the others were not asked for
            s = inputs_of(ctx, table)
            advice = [{"name": c.name, "kind": c.kind, "dtype": c.dtype, "nulls": c.nulls,
                       "advice": advise(c), **c.facts} for c in found]  # fmt: skip
            words = [f"{c.name} ({describe(c)}: {advise(c)})" for c in found]
            shown = "; ".join(words[:SHOWN]) + (
                f"; and {len(words) - SHOWN} more" if len(words) > SHOWN else ""
            )
            drop = [c for c in found if not _encodable(c) and c.kind != "datetime"]
            # encode refuses missing labels: a column with nulls is imputed or dropped first
            encodes = [fixes.encode_column(table, c.name, s.handle if s else None)
                       for c in found if _encodable(c) and not c.nulls][:SHOWN]  # fmt: skip
            yield self.finding([s] if s else [], {"table": table, "columns": advice, "count": len(found)},
                               encodes + (keep_inputs(s) if drop else []), listing=shown)  # fmt: skip


def _encodable(c: ColumnFacts) -> bool:
    return c.kind == "categorical" and not c.facts.get("looks_like_id")


def describe(c: ColumnFacts) -> str:
    """``categorical, 3 values, 11 null`` — the kind and the facts that decide what to do."""
    parts = [c.kind]
    if c.kind == "categorical" and "distinct" in c.facts:
        more = "more than " if c.facts.get("distinct_capped") else ""
        parts.append(f"{more}{c.facts['distinct']:,} distinct of {c.rows:,}")
    if c.kind == "datetime" and "min" in c.facts:
        parts.append(f"{c.facts['min']} to {c.facts['max']}")
    if c.nulls:
        parts.append(f"{c.nulls:,} null")
    if c.facts.get("not_decoded"):
        parts.append(f"not decoded: {c.facts['not_decoded']}")
    return ", ".join(parts)


def advise(c: ColumnFacts) -> str:
    """What to do with a column that is not an input as it stands, in words a user acts on."""
    src = c.source
    if c.kind == "categorical":
        if c.facts.get("looks_like_id"):
            return "an id or free text, not a category: leave it out of the inputs"
        if c.nulls:  # encode refuses missing labels: no encode fix is offered for it yet
            return "fill or drop its nulls (impute, dropna), then encode it (dsdoctor encode)"
        return f"encode it: {fixes.encode_column(src, c.name, None).command}"
    if c.kind == "datetime":
        return "derive numbers from it (year, day of year, hour, seconds since a start) in preprocessing"
    if c.kind == "duration":
        return "convert it to seconds (a number) in preprocessing"
    if c.kind == "nested":
        return "flatten it into numeric columns, or a list column of numbers for sequences"
    if c.kind == "boolean":
        return "a boolean the arrays checked do not hold"
    if "decimal" in c.dtype:
        return "cast it to float in preprocessing"
    return "not numbers (bytes or nulls): leave it out of the inputs"


class IndexColumn(Check):
    """A pandas index stored as a column of a table.

    What it means:
    ``DataFrame.to_parquet`` writes the frame's index as a column when it is not a plain
    0..N-1 range — ``__index_level_0__`` after ``dropna()`` or any filtering, or the index's own
    name — and records it as the index in the file's pandas metadata. ``DataFrame.to_csv()``
    writes the index as an unnamed first column (read back as ``Unnamed: 0``) counting 0..N-1.
    dsdoctor reports it as an index and never counts it as a feature.

    Why frameworks fail:
    They do not: a loader that reads every column (``pd.read_csv(...).values``,
    ``pq.read_table(...)`` without pandas, ``datasets.load_dataset("parquet")``) feeds the
    row number to the model as one more input. The model then expects one more feature than
    the data has, or learns from the row order.

    How to repair:
    Save without the index (``to_csv(index=False)``, ``reset_index(drop=True)`` before
    ``to_parquet``), read it as the index (``pd.read_csv(f, index_col=0)``), or keep the other
    columns with ``dsdoctor select SRC --columns …`` (the fix lists them).

    Example:
    dsdoctor check penguins.csv --target body_mass_g
    """

    code, name, severity, family = "DS702", "index-column", Severity.WARNING, "columns"
    template = "{table}: {named} is {what}, not a feature; {done}"

    def run(self, ctx: Context) -> Iterator[Finding]:
        for table, cols in by_table(ctx.columns).items():
            for c in cols:
                if c.reason != "index" or c.error:
                    continue
                s = inputs_of(ctx, table)
                counts = c.facts.get("counts_rows")
                if c.name in ("", "Unnamed: 0"):
                    what = "the index pandas' to_csv() writes"
                    what += f", counting 0..{c.rows - 1:,}" if counts else ""
                    done = ("pd.read_csv reads it as 'Unnamed: 0' unless given index_col=0; "
                            "dsdoctor leaves it out of the inputs")  # fmt: skip
                elif re.fullmatch(r"__index_level_\d+__", c.name):
                    what = ("the pandas index (the file's pandas metadata or pandas' name for an unnamed "
                            "index level says so)")  # fmt: skip
                    done = ("pandas restores it as the index, but a reader without pandas feeds it as a "
                            "column; dsdoctor leaves it out of the inputs")  # fmt: skip
                else:
                    what = "the pandas index (the file's pandas metadata lists it)"
                    done = ("pandas restores it as the index, but a reader without pandas feeds it as a "
                            "column; dsdoctor leaves it out of the inputs")  # fmt: skip
                if s is not None:
                    done += f" ({len(s.handle.layout['columns'])} features)"
                evidence = {"table": table, "column": c.name, "rows": c.rows, "counts_rows": counts}
                named = "the unnamed first column" if c.name == "" else f"column {c.name!r}"
                yield self.finding(
                    [s] if s else [], evidence, keep_inputs(s), named=named, what=what, done=done
                )


class UnreadableData(Check):
    """A column whose data the reader cannot decode.

    What it means:
    ``check`` decodes every column of a table, also those it does not analyse (text, dates,
    bytes), so that a file no ordinary reader can read is never called healthy. A page that
    does not decode (a truncated or corrupt page, an impossible encoding) is named with the
    column and the reader's own message. When an analysed array cannot be read, ``check``
    stops with an error instead.

    Why frameworks fail:
    ``pd.read_parquet``, ``pq.read_table`` and every loader built on them read all columns and
    fail on the first one that does not decode, however healthy the numeric columns are.

    How to repair:
    Write the file again from its source; or, if the column is not needed, write a copy
    without it (``pq.read_table(f, columns=[…])`` reads the others). Check the copy.

    Example:
    dsdoctor check page_size_corruption.parquet
    """

    code, name, severity, family = "DS703", "unreadable-data", Severity.ERROR, "columns"
    template = "{table}: {count} column(s) cannot be decoded: {listing}"

    def run(self, ctx: Context) -> Iterator[Finding]:
        for table, cols in by_table(ctx.columns).items():
            bad = [c for c in cols if c.error]
            if not bad:
                continue
            messages = {c.error for c in bad}
            if len(messages) == 1:
                shown = f"{listing([repr(c.name) for c in bad])} ({bad[0].error})"
            else:
                shown = "; ".join(f"{c.name!r} ({c.error})" for c in bad[:SHOWN])
                shown += f"; and {len(bad) - SHOWN} more" if len(bad) > SHOWN else ""
            s = inputs_of(ctx, table)
            evidence = {"table": table, "count": len(bad),
                        "columns": [{"name": c.name, "dtype": c.dtype, "error": c.error} for c in bad]}  # fmt: skip
            yield self.finding([s] if s else [], evidence, listing=shown)


class ShardSchemaMismatch(Check):
    """Files of one dataset whose columns or types differ from the others'.

    What it means:
    A folder (or glob) of Parquet files is one dataset: ``check`` reads every file's footer
    and takes the columns and types most files share (the first file's on a tie) as the
    dataset's. A file that lacks one of those columns, has another, or stores a column as
    another type is not read: the finding names each such file and how it differs, and the
    rest of the dataset is checked without it. Nothing is dropped in silence: the finding is
    an error, and the report's layout lists the files not read.

    Why frameworks fail:
    ``pyarrow.dataset`` and ``pd.read_parquet(folder)`` take the first file's schema: a column
    another file lacks is read as nulls (NaN features the data never had), a column only later
    files have is never read, and a type that differs fails the read halfway through an
    epoch ("Unsupported cast from string to int64"). Spark's ``mergeSchema`` widens the types
    but fills the gaps with nulls too.

    How to repair:
    Write the odd files again with the dataset's columns and types (cast the column, add the
    missing one with its real values), or move them out of the folder; then check again.
    ``dsdoctor check FILE`` shows one file's columns.

    Example:
    dsdoctor check events/
    """

    code, name, severity, family = "DS704", "shard-schema-mismatch", Severity.ERROR, "columns"
    template = (
        "{table}: {count} of {total} files have other columns or types than the rest and were "
        "not read: {listing}"
    )

    def run(self, ctx: Context) -> Iterator[Finding]:
        seen: dict[int, list[Subject]] = {}
        tables: dict[int, Any] = {}  # a FileDataset (sources are below checks' reach)
        for s in ctx.subjects:
            table = getattr(s.handle, "table", None)
            if getattr(table, "mismatched", None):
                seen.setdefault(id(table), []).append(s)
                tables[id(table)] = table
        for key, subjects in seen.items():
            table = tables[key]
            odd = table.mismatched
            shown = "; ".join(problem for _, problem in odd[:SHOWN])
            shown += f"; and {len(odd) - SHOWN} more" if len(odd) > SHOWN else ""
            evidence = {"table": table.display, "count": len(odd),
                        "total": len(odd) + len(table.parts),
                        "files": [{"file": f, "difference": p} for f, p in odd]}  # fmt: skip
            yield self.finding(subjects, evidence, listing=shown)
