"""Checks on how inputs and targets line up: sample counts, target shape, label range."""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np

from ..findings import Finding, Fix, Safety, Severity
from ..sources.base import ArrayHandle
from ..units import format_shape
from . import fixes
from .base import Check, Context, Subject


class SampleCountMismatch(Check):
    """Arrays that must align on their first axis hold different numbers of samples.

    What it means:
    Every input sample needs its target: x[i] goes with y[i]. When x has 29 samples and y has 1,
    there is no way to pair them. Sources given to one ``check`` are one dataset (``x.npy`` and
    ``y.npy``, two Parquet files), so they too must agree on the sample axis.

    Why frameworks fail:
    Keras refuses in ``fit`` with "Data cardinality is ambiguous ... 'x' sizes: 29 'y' sizes: 1";
    PyTorch fails later, at the loss, with "Expected input batch_size (29) to match target
    batch_size (1)"; scikit-learn says "Found input variables with inconsistent numbers of
    samples: [29, 1]".

    How to repair:
    If the single target really applies to every sample (one label for a whole recording),
    broadcast it with ``dsdoctor replicate y.npy --to 29``. If each sample was recorded K times,
    ``--each K`` repeats every target K times. Otherwise the files do not belong together:
    find the right targets. Replication is an *assumption* the data cannot confirm. Sources that
    are not one dataset are checked each on its own with ``check --each``.

    Example:
    dsdoctor check x.npy y.npy
    dsdoctor replicate y.npy --to 29 -o y.replicated.npy
    """

    code, name, severity, family = "DS101", "sample-count-mismatch", Severity.ERROR, "alignment"
    template = "{x_name} has {x} samples but {y_name} has {y}"
    #: sources given together (one dataset) that are not one x/y pair
    together_template = ("{counts}: sources given together are one dataset and must agree on the "
                         "sample axis (check unrelated sources with --each)")  # fmt: skip

    def run(self, ctx: Context) -> Iterator[Finding]:
        for x, y in ctx.pairs:
            nx, ny = x.handle.n, y.handle.n
            if nx is None or ny is None or nx == ny:
                continue
            yield self.finding([x, y], {x.name: nx, y.name: ny}, _replicate(x, y),
                               x_name=x.name, y_name=y.name, x=nx, y=ny)  # fmt: skip
        paired = {frozenset((id(x), id(y))) for x, y in ctx.pairs}
        for group in ctx.together:
            counts = {s.name: s.handle.n for s in group if s.handle.n is not None}
            if len(set(counts.values())) < 2 or frozenset(map(id, group)) in paired:
                continue  # agreeing, or one x/y pair (reported above)
            text = ", ".join(f"{name} has {n:,} sample{'s' if n != 1 else ''}"
                             for name, n in counts.items())  # fmt: skip
            fx = _replicate(*group) if len(group) == 2 else []
            yield self.finding(group, counts, fx, template=self.together_template, counts=text)


def _replicate(x: Subject, y: Subject) -> list[Fix]:
    """Replicating the one with fewer samples, where the counts divide."""
    nx, ny = x.handle.n or 0, y.handle.n or 0
    if ny == 1:
        return [fixes.replicate(y.handle, to=nx)]
    if nx == 1:
        return [fixes.replicate(x.handle, to=ny)]
    if ny and nx % ny == 0:
        return [fixes.replicate(y.handle, each=nx // ny)]
    if nx and ny % nx == 0:
        return [fixes.replicate(x.handle, each=ny // nx)]
    return []


class TargetShapeMismatch(Check):
    """The targets' shape does not match what the loss expects.

    What it means:
    Class labels come in two layouts: sparse integer labels, shape (N,), or one-hot rows, shape
    (N, classes). A column (N, 1) of class labels fits Keras' sparse loss but not PyTorch's
    ``CrossEntropyLoss``; one-hot rows whose width is not the number of classes fit neither.
    Targets are class labels when they are integers (or whole floats) with ``--classes``, text,
    or codes written by ``dsdoctor encode`` (its ``.vocab.json`` or provenance). A float (N, 1)
    target without ``--classes`` is a regression target: (N, 1) is right for Keras ``Dense(1)``
    with MSE and for PyTorch ``Linear(k, 1)`` with ``MSELoss``, so it is not a finding.
    Integers without ``--classes`` may be either: an info that says what each shape fits.

    Why frameworks fail:
    PyTorch's ``CrossEntropyLoss`` wants (N,) int64 labels and says "0D or 1D target tensor
    expected, multi-target not supported" for (N, 1); Keras' ``sparse_categorical_crossentropy``
    takes (N,) or (N, 1). Keras' ``categorical_crossentropy`` wants one-hot rows and says
    "Shapes (None, 1) and (None, 10) are incompatible" when given labels; one-hot rows with the
    wrong width give the same error with other numbers. A regression target squeezed to (N,)
    against a (N, 1) output makes PyTorch's ``MSELoss`` broadcast to (N, N) with only a warning
    ("Using a target size … that is different to the input size") and learn the mean.
    Binary labels (N, 1) fit one output unit (``Dense(1, "sigmoid")`` + ``binary_crossentropy``,
    ``Linear(k, 1)`` + ``BCEWithLogitsLoss``), (N,) a two-unit output with a sparse loss.

    How to repair:
    Squeeze a column of class labels to (N,) with ``dsdoctor reshape y.npy --shape "(None,)"``
    (that fits both frameworks' sparse losses); or one-hot encode with the right number of
    classes; or fix ``--classes``. Keep a regression target (N, 1) when the model's output is
    (N, 1).

    Example:
    dsdoctor check --x x.npy --y y.npy --classes 10
    dsdoctor reshape y.npy --shape "(None,)" -o y.reshaped.npy
    """

    code, name, severity, family = "DS102", "target-shape-mismatch", Severity.WARNING, "alignment"
    template = "{y_name} is {shape}: {why}"

    def run(self, ctx: Context) -> Iterator[Finding]:
        for y in ctx.role("y"):
            h = y.handle
            if h.ragged or h.ndim not in (1, 2) or h.skip or h.unsafe or h.categorical:
                continue  # text labels: string-labels' encode writes (N,) int64 codes
            found = self._against_loss(ctx, y)
            if found is not None:
                yield found
                continue
            if h.ndim != 2:
                continue
            n, width = h.shape
            classes = ctx.expect.classes
            if width == 1:
                kind, classes, said = target_kind(y, classes)
                if kind == "regression":
                    continue  # (N, 1) is what Dense(1) / Linear(k, 1) with MSE compare it to
                yield self._column(y, n, kind, classes, said)
            elif ctx.expect.output_units == 1 and (width or 0) > 1:
                why = (f"one-hot rows of width {width}, but {ctx.expect.by('classes')} has one "
                       f"output unit: it takes ({n},) or ({n}, 1) of 0/1")  # fmt: skip
                yield self.finding([y], {"shape": list(h.shape), "output_units": 1,
                                         **ctx.expect.from_model("classes")},
                                   severity=Severity.ERROR, y_name=y.name,
                                   shape=format_shape(h.shape), why=why)  # fmt: skip
            elif classes is not None and width != classes:
                why = f"one-hot rows of width {width}, but {ctx.expect.by('classes')} has {classes} classes"
                yield self.finding([y], {"shape": list(h.shape), "classes": classes,
                                         **ctx.expect.from_model("classes")},
                                   severity=Severity.ERROR, y_name=y.name,
                                   shape=format_shape(h.shape), why=why)  # fmt: skip

    def _against_loss(self, ctx: Context, y: Subject) -> Finding | None:
        """A model file compiled with a sparse loss takes labels, with a categorical loss one-hot
        rows: targets of the other form fail in its loss."""
        form, model = ctx.expect.target_form, ctx.expect.model
        h = y.handle
        if form is None or model is None:
            return None
        n = h.shape[0]
        width = (h.shape[1] or 0) if h.ndim == 2 else 1
        said = f"{ctx.expect.model_name} was compiled with {model.loss}"
        evidence = {"shape": list(h.shape), "loss": model.loss, "model": model.path}
        if form == "sparse" and width > 1:
            why = f"one-hot rows of width {width}, but {said}: it takes class labels ({n},)"
        elif form == "one-hot" and width == 1 and (ctx.expect.classes or 0) > 2:
            why = (f"class labels, but {said}: it takes one-hot rows ({n}, {ctx.expect.classes}) "
                   "(or compile with sparse_categorical_crossentropy)")  # fmt: skip
        else:
            return None
        return self.finding([y], evidence, severity=Severity.ERROR, y_name=y.name,
                            shape=format_shape(h.shape), why=why)  # fmt: skip

    def _column(self, y: Subject, n: int | None, kind: str, classes: int | None, said: str
                ) -> Finding:  # fmt: skip
        """A (N, 1) column of class labels (``kind`` "labels") or of integers that may be labels
        or a regression target ("unknown"): what each framework's loss takes, and the reshape
        where it is right."""
        h = y.handle
        sparse = (f"Keras sparse_categorical_crossentropy takes ({n},) or ({n}, 1); PyTorch "
                  f"CrossEntropyLoss needs ({n},) int64")  # fmt: skip
        long = "" if h.dtype == np.int64 else f" (these are {h.dtype}: cast with .long())"
        evidence = {"shape": list(h.shape), "classes": classes, "target": kind}
        shape = format_shape(h.shape)
        squeeze = fixes.reshape(h, ())
        if kind == "unknown":
            why = (f"{said}: if they are class labels, {sparse}{long} (say --classes C); if a "
                   f"regression target, ({n}, 1) is right for Keras Dense(1) and PyTorch "
                   "Linear(k, 1) with MSE")  # fmt: skip
            return self.finding([y], evidence, [_assumed(squeeze, "if these are class labels")],
                                severity=Severity.INFO, why=why, y_name=y.name, shape=shape)  # fmt: skip
        if classes == 2:
            why = (f"{said}: ({n}, 1) fits one output unit (Keras Dense(1, sigmoid) + "
                   "binary_crossentropy, PyTorch Linear(k, 1) + BCEWithLogitsLoss on floats); "
                   f"a two-unit output with a sparse loss wants ({n},): {sparse}{long}")  # fmt: skip
            return self.finding([y], evidence, [_assumed(squeeze, "for a two-unit output")],
                                severity=Severity.INFO, why=why, y_name=y.name, shape=shape)  # fmt: skip
        why = f"{said}; {sparse}{long}"
        if classes and classes > 2:
            why += f", and one-hot losses want ({n}, {classes})"
        return self.finding([y], evidence, [squeeze], why=why, y_name=y.name, shape=shape)


def _assumed(fix: Fix, when: str) -> Fix:
    """``fix`` as an assumption (``repair`` applies it only with ``--allow assumption``)."""
    return Fix(fix.command, Safety.ASSUMPTION, f"{fix.title} ({when})", fix.action)


def target_kind(y: Subject, classes: int | None) -> tuple[str, int | None, str]:
    """What a (N, 1) target holds: ``("labels", classes, words)`` for class labels (text, codes
    ``dsdoctor encode`` wrote, booleans, integers or whole floats with ``--classes``),
    ``("regression", None, words)`` for floats otherwise, ``("unknown", None, words)`` for
    integers without ``--classes``. An encoded target's classes are its vocabulary's size when
    ``--classes`` is not given."""
    h = y.handle
    if h.categorical:
        return "labels", classes, "a column of text class labels"
    vocabulary = encoded_classes(h)
    if vocabulary is not None:
        return (
            "labels",
            classes or vocabulary,
            (f"a column of class codes (dsdoctor encode, {vocabulary} classes)"),
        )
    kind = h.dtype.kind
    if kind == "b":
        return "labels", classes or 2, "a column of boolean labels"
    if kind in "iu":
        if classes is not None:
            return "labels", classes, "a column of class labels"
        return "unknown", None, "a column of integers"
    whole = y.stats is not None and not y.stats.non_integer
    if kind == "f" and classes is not None and whole:
        return "labels", classes, "a column of class labels stored as floats"
    return "regression", None, "a float column (a regression target)"


def encoded_classes(h: ArrayHandle) -> int | None:
    """The number of classes when ``h`` holds codes ``dsdoctor encode`` wrote: the values of its
    vocabulary (``OUT.vocab.json`` beside it, or the ``vocabulary`` its provenance records)."""
    from ..formats import strip_extension

    if not h.path.name or h.source.startswith("<"):
        return None
    beside = h.path.with_name(strip_extension(h.path.name) + ".vocab.json")
    try:
        if beside.is_file() and beside.stat().st_size < VOCABULARY_BYTES:
            record = json.loads(beside.read_text(encoding="utf-8"))
            if isinstance(record, dict) and record.get("format") == "dsdoctor-vocabulary":
                values = record.get("values")
                return len(values) if isinstance(values, list) else None
    except (OSError, ValueError):
        return None
    record = h.provenance
    if isinstance(record, dict) and record.get("operation") == "encode":
        values = record.get("vocabulary")
        return len(values) if isinstance(values, list) else None
    return None


#: A vocabulary file larger than this is not read (encode caps a vocabulary at
#: categories.MAX_CATEGORIES values, far less).
VOCABULARY_BYTES = 64 * 1024**2


class LabelOutOfRange(Check):
    """Integer class labels fall outside [0, classes).

    What it means:
    With C classes, sparse labels must be integers 0 … C-1. A label of -1, of C or more, or a
    non-integer label has no output unit to go to. C is ``--classes`` (or the model's, or the
    spec's); without them, a Hugging Face ``ClassLabel``'s names: C is how many it names.

    Why frameworks fail:
    PyTorch raises "IndexError: Target 10 is out of bounds." on the CPU and a device-side assert
    on a GPU; Keras' sparse losses produce NaN losses or "Received a label value of 10 which is
    outside the valid range of [0, 10)".

    How to repair:
    Check ``--classes``: labels 1 … C need C+1 classes or a shift by one. -1 often marks
    "unlabelled": drop those rows or mask them in the loss (``ignore_index=-1`` in PyTorch). A
    ``ClassLabel`` naming fewer classes than the labels use was changed after the labels were
    made: ``cast_column`` the label to a ``ClassLabel`` with every name, then save again.

    Example:
    dsdoctor check --y labels.npy --classes 10
    """

    code, name, severity, family = "DS103", "label-out-of-range", Severity.ERROR, "alignment"
    template = ("{y_name} has {bad} labels outside [0, {classes}) (min {min}, max {max}); "
                "{detail}")  # fmt: skip

    def run(self, ctx: Context) -> Iterator[Finding]:
        for y in ctx.role("y"):
            classes, labelled = ctx.expect.classes, ctx.expect.origin.get("classes") == "ClassLabel"
            if classes is None and y.handle.class_names is not None:  # its own ClassLabel's
                classes, labelled = len(y.handle.class_names), True
            if classes is None:
                continue
            st = y.stats
            if st is None or y.handle.ragged or (y.handle.ndim == 2 and y.handle.shape[1] != 1):
                continue
            bad = st.below_zero + st.above_classes
            if not bad and not st.non_integer:
                continue
            ev = st.to_dict()
            parts = []
            if st.below_zero:
                parts.append(f"{st.below_zero} below 0")
            if st.above_classes:
                parts.append(f"{st.above_classes} at or above {classes}")
            if st.non_integer:
                parts.append(f"{st.non_integer} not whole numbers")
            detail = ", ".join(parts)
            if ctx.expect.origin.get("classes") == "model":
                detail += f" (the {classes} classes of {ctx.expect.by('classes')})"
            elif labelled and y.handle.class_names:
                detail += (f" (its ClassLabel names {classes} classes: "
                           f"{', '.join(y.handle.class_names[:5])}{' …' if classes > 5 else ''})")  # fmt: skip
            yield self.finding([y], {"below_zero": st.below_zero, "at_or_above": st.above_classes,
                                     "non_integer": st.non_integer, "classes": classes,
                                     "min": ev["min"], "max": ev["max"], "bad": bad + st.non_integer,
                                     **ctx.expect.from_model("classes"),
                                     **({"classes_from": "ClassLabel"} if labelled else {})},
                               y_name=y.name, detail=detail)  # fmt: skip
