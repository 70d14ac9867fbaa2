"""The data against the project's spec file."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..findings import Finding, Severity
from .base import Check, Context, Subject


class SpecViolation(Check):
    """The data differs from the spec file (``dsdoctor.toml`` or ``[tool.dsdoctor]``).

    What it means:
    The project wrote down what its arrays look like — ranks, named dimensions that bind one
    size across arrays, dtypes, value ranges — and today's data breaks one of those lines. The
    message names the spec line.

    Why frameworks fail:
    Each kind of drift fails in its own way later: a new feature column changes the input width
    ("mat1 and mat2 shapes cannot be multiplied"), a float64 export doubles memory and breaks
    mixed precision, values outside the range seen in training silently shift predictions.

    How to repair:
    If the data is wrong, fix the export that produced it. If the data is right and the contract
    changed, edit the spec (or regenerate it with ``dsdoctor spec infer``) in the same commit as
    the model change, so CI keeps guarding it.

    Example:
    dsdoctor check                      # uses dsdoctor.toml found from here upward
    dsdoctor spec infer --x data/x.npy --y data/y.npy -o dsdoctor.toml
    """

    code, name, severity, family = "DS601", "spec-violation", Severity.ERROR, "spec"
    template = "{x_name}: {what} ({where})"

    def run(self, ctx: Context) -> Iterator[Finding]:
        spec = ctx.spec
        if spec is None:
            return
        bound: dict[str, tuple[int, Subject, int]] = {}
        for s in ctx.subjects:
            a = getattr(s, "spec", None)
            if a is None:
                continue
            section = f"arrays.{a.name}"
            h = s.handle
            if a.dtype is not None and not h.unsafe and np.dtype(a.dtype) != h.dtype:
                yield self._v(s, spec, section, "dtype", f"dtype is {h.dtype} but the spec says {a.dtype}",
                              a.dtype, str(h.dtype))  # fmt: skip
            if a.shape is not None and not h.unsafe and not h.skip:
                yield from self._shape(ctx, s, a, spec, section, bound)
            st = s.stats
            if (
                st is not None
                and st.fmin is not None
                and st.fmax is not None
                and not np.isnan(np.atleast_1d(st.fmin)).all()  # all-NaN columns have no range
            ):
                lo, hi = np.nanmin(np.atleast_1d(st.fmin)), np.nanmax(np.atleast_1d(st.fmax))
                if a.min is not None and lo < a.min:
                    yield self._v(
                        s,
                        spec,
                        section,
                        "min",
                        f"holds {lo:g}, below the spec's min {a.min:g}",
                        a.min,
                        float(lo),
                    )
                if a.max is not None and hi > a.max:
                    yield self._v(
                        s,
                        spec,
                        section,
                        "max",
                        f"holds {hi:g}, above the spec's max {a.max:g}",
                        a.max,
                        float(hi),
                    )

    def _shape(
        self, ctx: Context, s: Subject, a, spec, section: str, bound: dict
    ) -> Iterator[Finding]:
        h = s.handle
        if len(a.shape) != h.ndim:
            yield self._v(s, spec, section, "shape", f"has {h.ndim} axes {list(h.shape)} but the spec says "
                          f"{len(a.shape)}: {a.shape}", a.shape, list(h.shape))  # fmt: skip
            return
        for axis, (want, have) in enumerate(zip(a.shape, h.shape, strict=True)):
            if have is None:  # a ragged axis: any length
                continue
            if isinstance(want, str) and want in spec.dims:
                want_size = spec.dims[want]
            elif isinstance(want, str):
                if want in bound and bound[want][0] != have:
                    size, other, other_axis = bound[want]
                    if want == "batch" and any(
                        (x is s and y is other) or (x is other and y is s) for x, y in ctx.pairs
                    ):
                        continue  # sample-count-mismatch says it, with the fix
                    yield self._v(s, spec, section, "shape", f"axis {axis} ({want!r}) is {have} but {other.name} "
                                  f"axis {other_axis} ({want!r}) is {size}", size, have)  # fmt: skip
                bound.setdefault(want, (have, s, axis))
                continue
            else:
                want_size = want
            if want_size != have:
                if s.role == "x" and ctx.expect.input_shape is not None and axis > 0:
                    continue  # feature-width / timesteps / rank checks say it for the model input
                yield self._v(s, spec, section, "shape", f"axis {axis}{f' ({want!r})' if isinstance(want, str) else ''} "
                              f"is {have} but the spec says {want_size}", want_size, have)  # fmt: skip

    def _v(self, s: Subject, spec, section: str, key: str, what: str, expected, actual) -> Finding:
        where = spec.where(section, key)
        return self.finding([s], {"spec": where, "key": f"{section}.{key}", "expected": expected, "actual": actual},
                            x_name=s.name, what=what, where=where)  # fmt: skip


class SplitSpecViolation(Check):
    """A split differs from the facts the spec recorded of it (``[splits.NAME]``): other inputs
    (width, rank, dtype, columns), another target dtype, labels the spec's split never had, or
    labels, rows or sequence lengths that moved.

    What it means:
    `dsdoctor spec infer --split …` wrote down each split as it was: its rows, the width and
    dtype of its inputs, its table columns, its classes and their counts, the lengths of its
    sequences. Today's split breaks one of those facts: a test split that grew a class, a
    training split one column wider, a validation split whose sequences got longer.

    Why frameworks fail:
    A new class in the test split is scored against a model with no output for it; a new
    column shifts every column after it, and the model reads each as another; nothing raises
    until the metrics are wrong.

    How to repair:
    If the data is wrong, fix the export that split it. If the data is right and the contract
    changed, regenerate the facts with `dsdoctor spec infer --split … -o dsdoctor.toml` in the
    same commit as the model change. Rows and sequence lengths that moved are info and
    warnings: data grows.

    Example:
    dsdoctor check --spec dsdoctor.toml
    DS602 test: labels 7 (12 samples) not in the spec's test split (classes [0, 1, 2]);
    width 14 (spec 13) (dsdoctor.toml:31)
    """

    code, name, severity, family = "DS602", "split-spec-violation", Severity.ERROR, "spec"
    template = "{split}: {what} ({where})"

    def run(self, ctx: Context) -> Iterator[Finding]:
        spec, measured = ctx.spec, ctx.splits
        if spec is None or not isinstance(measured, dict) or not getattr(spec, "splits", None):
            return
        for name, recorded in spec.splits.items():  # type: ignore[attr-defined]
            if not recorded.facts:
                continue
            section = f"splits.{name}"
            if name not in measured:
                where = spec.where(section)  # type: ignore[attr-defined]
                yield self._finding(name, [], where, {"split": ["present", "not given"]},
                                    f"the spec records split {name}, which was not checked "
                                    f"(splits checked: {', '.join(measured) or 'none'})",
                                    Severity.WARNING)  # fmt: skip
                continue
            yield from self._compare(name, recorded.facts, measured[name], spec, section)

    def _compare(self, name: str, want: dict, have: dict, spec, section: str) -> Iterator[Finding]:
        parts: list[tuple[Severity, str, str]] = []  # (severity, key, words)
        for key in ("rank", "width", "dtype", "target_dtype"):
            if key in want and key in have and want[key] != have[key]:
                parts.append((Severity.ERROR, key, f"{key.replace('_', ' ')} {have[key]} "
                                                   f"(spec {want[key]})"))  # fmt: skip
        if "columns" in want and "columns" in have and want["columns"] != have["columns"]:
            missing = [c for c in want["columns"] if c not in have["columns"]]
            extra = [c for c in have["columns"] if c not in want["columns"]]
            words = ", ".join(([f"no {', '.join(missing[:5])}"] if missing else [])
                              + ([f"extra {', '.join(extra[:5])}"] if extra else []))  # fmt: skip
            parts.append((Severity.ERROR, "columns",
                          f"columns: {words}" if words else "the columns are in another order"))  # fmt: skip
        if "classes" in want and "classes" in have:
            counts = dict(zip(have["classes"], have.get("class_counts") or [], strict=False))
            new = [c for c in have["classes"] if c not in want["classes"]]
            gone = [c for c in want["classes"] if c not in have["classes"]]
            if new:
                listed = ", ".join(f"{c} ({counts.get(c, 0):,} samples)" for c in new[:5])
                parts.append((Severity.ERROR, "classes", f"labels {listed} not in the spec's "
                              f"{name} split (classes {_listed(want['classes'])})"))  # fmt: skip
            if gone:
                parts.append((Severity.WARNING, "classes", f"no sample of the spec's labels "
                              f"{_listed(gone)}"))  # fmt: skip
        if "rows" in want and "rows" in have and want["rows"] != have["rows"]:
            parts.append((Severity.INFO, "rows", f"{have['rows']:,} rows (spec {want['rows']:,})"))
        if "length_max" in want and have.get("length_max", 0) > want["length_max"]:
            parts.append((Severity.WARNING, "length_max", f"sequences up to {have['length_max']:,} "
                          f"long (spec {want['length_max']:,})"))  # fmt: skip
        if "length_min" in want and have.get("length_min", want["length_min"]) < want["length_min"]:
            parts.append((Severity.WARNING, "length_min", f"sequences as short as "
                          f"{have['length_min']:,} (spec {want['length_min']:,})"))  # fmt: skip
        if not parts:
            return
        worst = max((p[0] for p in parts), key=lambda s: s.rank)
        where = spec.where(section, parts[0][1])
        differs = {key: [want.get(key), have.get(key)] for _, key, _ in parts}
        yield self._finding(name, have.get("arrays", []), where, differs,
                            "; ".join(p[2] for p in parts), worst)  # fmt: skip

    def _finding(self, name: str, arrays: list[str], where: str, differs: dict, what: str,
                 severity: Severity) -> Finding:  # fmt: skip
        f = self.finding([], {"split": name, "spec": where, "differs": differs}, severity=severity,
                         what=what, where=where)  # fmt: skip
        f.arrays = list(arrays)
        return f


def _listed(labels: list) -> str:
    return "[" + ", ".join(map(str, labels[:8])) + (", …]" if len(labels) > 8 else "]")
