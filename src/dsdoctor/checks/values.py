"""Checks of the values themselves: non-finite numbers, constant features, pickled objects."""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import Finding, Severity
from . import fixes
from .base import Check, Context


class NonFiniteValues(Check):
    """The array contains NaN or ±Inf.

    What it means:
    A missing value became NaN (an empty CSV cell, a Parquet null, a division by zero in
    preprocessing) or an overflow became Inf. In an integer or bool column — also inside
    ``list<…>`` sequences — a NaN can only be a null in the file: the message says so.

    Why frameworks fail:
    Nothing complains at first: the first batch containing a NaN makes the loss NaN, the
    gradients NaN, and every weight NaN from then on ("loss: nan").

    How to repair:
    Find where the values come from (the evidence counts them); impute (mean, median, a flag
    column), drop the rows, or clip the overflow in preprocessing. ``pad`` refuses nulls inside
    integer sequences (a cast would make them numbers the mask calls real) unless padding to a
    float ``--dtype``, where they stay NaN.

    Example:
    dsdoctor check --x x.npy
    """

    code, name, severity, family = "DS401", "non-finite-values", Severity.ERROR, "values"
    template = "{x_name} has {total:,} non-finite values of {values:,}: {nan:,} NaN, {posinf:,} +Inf, {neginf:,} -Inf{nulls}"

    def run(self, ctx: Context) -> Iterator[Finding]:
        for s in ctx.subjects:
            st = s.stats
            if st is None or not st.nonfinite:
                continue
            spec = getattr(s, "spec", None)
            if spec is not None and spec.nullable and not st.posinf and not st.neginf:
                continue  # NaN in an array the spec declares nullable is allowed (±Inf is not)
            evidence = {"nan": st.nan, "posinf": st.posinf, "neginf": st.neginf,
                        "total": st.nonfinite, "values": st.values}  # fmt: skip
            nulls = ""
            if s.handle.dtype.kind in "iub" and st.nan:  # integers cannot be NaN: nulls
                evidence["nulls"] = st.nan
                where = " inside its sequences" if s.handle.ragged else ""
                nulls = (f" (the NaN are null values{where}: the file's {s.handle.dtype} "
                         "column has missing entries)")  # fmt: skip
            yield self.finding([s], evidence, x_name=s.name, nulls=nulls)


class ConstantFeature(Check):
    """A feature has one value in every sample.

    What it means:
    The column carries no information: min equals max over the whole dataset. Often a flag
    that never fires in this export, or a column filled with a default.

    Why frameworks fail:
    They do not; but standardising it divides by a zero standard deviation (NaN after
    ``StandardScaler`` without care, or ``(x - mean) / std`` by hand), and it wastes a weight.

    How to repair:
    Drop it with ``dsdoctor select SRC --features …`` (lossy by definition, although nothing
    varying is lost), or check the export that produced it.

    Example:
    dsdoctor check --x x.npy
    dsdoctor select x.npy --features 0,1,3 -o x.selected.npy
    """

    code, name, severity, family = "DS402", "constant-feature", Severity.WARNING, "values"
    template = "{x_name}: {count} of {width} features are constant ({listing})"

    def run(self, ctx: Context) -> Iterator[Finding]:
        for s in ctx.subjects:
            h = s.handle
            if s.stats is None or s.role == "y" or (h.ndim < 2 and not h.ragged) or s.width is None:
                continue
            found = s.stats.constant_features()
            if not found:
                continue
            width = s.width
            constant, values = list(found), list(found.values())
            listing = ", ".join(
                f"feature {i} = {v:g}" for i, v in list(zip(constant, values, strict=True))[:10]
            )
            if len(constant) > 10:
                listing += ", …"
            keep = [i for i in range(width) if i not in found]
            fx = [fixes.select_features(h, keep)] if keep and not h.ragged else []
            yield self.finding([s], {"features": constant, "values": values, "count": len(constant),
                                     "width": width}, fx, x_name=s.name, listing=listing)  # fmt: skip


class UnwrittenData(Check):
    """Rows the file declares but never stored: they read as its fill value.

    What it means:
    HDF5 allocates a dataset's storage when data is written to it. A dataset created with a
    shape and never (or only partly) written holds no data for those rows: reading them gives
    the dataset's fill value (0 unless another was set), and the file can be tiny while it
    declares terabytes. dsdoctor counts such rows from the file's chunk index without reading
    them; ``inspect`` shows ``storage=never written`` when nothing at all was written.

    Why frameworks fail:
    They do not: a loader reads the fill value as if it were data, and a model trains on
    zeros (or NaN, if the fill value is NaN), or waits hours for rows that hold nothing.

    How to repair:
    Find the writer that created the dataset and did not fill it (a preallocated
    ``create_dataset(shape=…)`` whose loop stopped early, a resize never followed by a write),
    and write the data, or cut the dataset to the rows actually written.

    Example:
    dsdoctor check --x train.h5:/x
    """

    code, name, severity, family = "DS404", "unwritten-data", Severity.WARNING, "values"
    template = "{x_name}: {unwritten:,} of {rows:,} rows were never written to the file; they read as {fill}"

    def run(self, ctx: Context) -> Iterator[Finding]:
        for s in ctx.subjects:
            st = s.stats
            if st is None or not st.unwritten_rows:
                continue
            fill = s.handle.layout.get("fill_value")
            words = ("empty sequences" if s.handle.ragged else
                     "the fill value" + ("" if fill is None else f" {fill}"))  # fmt: skip
            yield self.finding([s], {"unwritten": st.unwritten_rows, "rows": st.rows, "fill_value": fill},
                               x_name=s.name, fill=words)  # fmt: skip


class UnsafePickle(Check):
    """An object array whose contents are Python pickles.

    What it means:
    ``np.save`` on an array of Python objects (ragged lists, mixed types) writes a pickle.
    Loading it runs whatever code the pickle names, so a data file can execute anything.

    Why frameworks fail:
    ``np.load`` refuses by default: "Object arrays cannot be loaded when allow_pickle=False".
    Passing ``allow_pickle=True`` on an untrusted file is remote code execution.

    How to repair:
    Re-save the data as numbers: ragged sequences as values + lengths in an .npz
    (``np.savez(f, seq=np.concatenate(seqs), seq_lengths=lengths)``) or a Parquet list column.
    dsdoctor never unpickles unless you pass ``--allow-pickle`` for a file you trust.

    Example:
    dsdoctor check --x sequences.npy
    """

    code, name, severity, family = "DS403", "unsafe-pickle", Severity.ERROR, "values"
    template = "{x_name} is an object array ({dtype}, shape {shape}): loading it would unpickle Python objects; not read"

    def run(self, ctx: Context) -> Iterator[Finding]:
        for s in ctx.subjects:
            h = s.handle
            if h.pickled and h.unsafe:
                yield self.finding(
                    [s], {"dtype": str(h.dtype), "shape": list(h.shape)}, x_name=s.name
                )
