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
