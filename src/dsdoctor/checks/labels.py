"""Checks on class labels given as text (a string or pandas ``category`` column, a numpy
``U``/``S`` array, HDF5 strings): the classes are the distinct values, counted in one pass
(:class:`~dsdoctor.categories.CategoryCounts`)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .. import categories
from ..findings import Finding, Severity
from . import fixes
from .base import Check, Context, Subject

#: A class with fewer samples than this cannot be split: a stratified train/validation split
#: needs at least 2 (scikit-learn: "The least populated class in y has only 1 member").
RARE_ALWAYS = 2
#: A class with fewer than this many samples and under :data:`RARE_SHARE` of the median class
#: is rare: too few to learn from or to measure on, next to classes a hundred times its size.
RARE_BELOW = 10
RARE_SHARE = 0.01
#: A label column whose distinct values are at least this share of its labelled rows is an
#: identifier (a name, a row key), not a class: each "class" has a sample or two.
ID_SHARE = 0.5
#: … once it has at least this many labelled rows (a 5-row sample with 5 classes is not an id).
ID_MIN_ROWS = 20


def text_subjects(ctx: Context, roles: tuple[str, ...] = ("y",)) -> Iterator[Subject]:
    """The subjects holding text values whose classes were counted."""
    for s in ctx.subjects:
        st = s.stats
        if s.role in roles and s.handle.categorical and st is not None and st.categories:
            yield s


def _labelled(s: Subject) -> int:
    st = s.stats
    assert st is not None
    missing = int(st.fmissing.sum()) if st.fmissing is not None else 0
    return st.rows - missing


def looks_like_id(s: Subject) -> bool:
    """Mostly unique: see :data:`ID_SHARE` and :data:`ID_MIN_ROWS`."""
    st = s.stats
    assert st is not None and st.categories is not None
    if st.categories.over:
        return True
    rows = _labelled(s)
    return rows >= ID_MIN_ROWS and st.categories.distinct >= ID_SHARE * rows


def class_list(s: Subject, limit: int = 10) -> str:
    """``setosa (50), versicolor (50), virginica (50)``; the first ``limit`` classes."""
    st = s.stats
    assert st is not None and st.categories is not None
    items = st.categories.classes()
    shown = ", ".join(f"{v!r} ({n:,})" if _odd(v) else f"{v} ({n:,})" for v, n in items[:limit])
    return shown + (f", … ({len(items) - limit:,} more)" if len(items) > limit else "")


def _odd(value: str) -> bool:
    """A label that would read ambiguously unquoted (empty, spaces at an end, a comma)."""
    return not value or value != value.strip() or "," in value or "(" in value


class StringLabels(Check):
    """Targets are text (class names), not the integer labels a loss takes.

    What it means:
    The target column holds strings — ``setosa``, ``versicolor``, ``virginica`` — as pandas
    writes a string or ``category`` column, or a numpy ``U``/``S`` array holds them. The
    classes are the distinct values, listed with their counts; ``encode`` numbers them.

    Why frameworks fail:
    Keras' ``fit`` raises "ValueError: could not convert string to float: 'setosa'" (or
    "Failed to convert a NumPy array to a Tensor (Unsupported object type str)");
    ``torch.as_tensor`` raises "TypeError: can't convert np.ndarray of type numpy.str_";
    losses need integer class indices 0 … C-1 (or one-hot rows).

    How to repair:
    ``dsdoctor encode SRC:COL -o OUT`` writes int64 labels numbered in sorted order of the
    values, and the vocabulary beside them (``OUT.vocab.json``; inside Parquet and HDF5 outputs
    too), so predictions can be turned back into names. Encode the validation and test splits
    with ``--vocabulary OUT.vocab.json`` so that every split gets the same codes. ``--one-hot``
    writes float32 rows for ``categorical_crossentropy``. Lossless.

    Example:
    dsdoctor check iris.csv --target species
    dsdoctor encode iris.csv:species -o y.npy
    dsdoctor encode val.csv:species --vocabulary y.vocab.json -o y_val.npy
    """

    code, name, severity, family = "DS106", "string-labels", Severity.ERROR, "labels"
    template = "{y_name} holds class labels as text: {count} classes, {classes}{missing}; models need integer labels"

    def run(self, ctx: Context) -> Iterator[Finding]:
        for s in text_subjects(ctx, ("y", "x", "array")):
            st = s.stats
            assert st is not None and st.categories is not None
            cats = st.categories
            if cats.over or (s.role != "y" and looks_like_id(s)):
                continue  # an identifier (label-looks-like-id says so for targets), not labels
            if s.role != "y" and _model_takes_text(ctx):
                continue  # the model's input is text (an ONNX string tensor): no encoding
            missing = _labelled(s) != st.rows
            evidence = {"classes": cats.distinct, "over": cats.over, **cats.to_dict(limit=100)}
            if missing:
                evidence["missing"] = st.rows - _labelled(s)
                evidence["missing_rows"] = list(st.missing_rows)
            words: dict[str, str] = {
                "y_name": s.name,
                "count": f"more than {categories.MAX_CATEGORIES:,}"
                if cats.over
                else f"{cats.distinct:,}",
                "classes": "too many to list" if cats.over else class_list(s),
                "missing": (
                    f" and {evidence['missing']:,} rows without a label (rows "
                    f"{', '.join(map(str, st.missing_rows))}{', …' if evidence['missing'] > len(st.missing_rows) else ''})"
                    if missing
                    else ""
                ),
            }
            template = None
            if s.role != "y":
                template = "{y_name} holds text, not numbers: {count} distinct values, {classes}{missing}; models take numbers"
            fx = [] if missing or looks_like_id(s) else [fixes.encode(s.handle)]
            yield self.finding([s], evidence, fx, template=template, **words)  # type: ignore[arg-type]


class RareClass(Check):
    """A class has too few samples to learn from or to split.

    What it means:
    A class with fewer than 2 samples, or with fewer than 10 where that is under 1 % of the
    median class's count, sits beside classes a hundred times its size. Often it is a typo
    (``Setosa`` beside ``setosa``), a stray value (``unknown``) or a class that needs more data.

    Why frameworks fail:
    Nothing fails at once. scikit-learn's stratified split refuses a class of 1 ("The least
    populated class in y has only 1 member, which is too few"); a random split leaves the
    class out of the validation set, so its accuracy is never measured; the model learns to
    never predict it.

    How to repair:
    Fix typos at the source (the evidence lists each rare class and its count), merge rare
    classes into an "other" class, collect more samples, or drop the rows and the class.

    Example:
    dsdoctor check penguins.csv --target species
    """

    code, name, severity, family = "DS104", "rare-class", Severity.WARNING, "labels"
    template = "{y_name} has {n} rare classes (median class: {median:,} samples): {rare}"

    def run(self, ctx: Context) -> Iterator[Finding]:
        for s in text_subjects(ctx):
            st = s.stats
            assert st is not None and st.categories is not None
            if looks_like_id(s):
                continue  # label-looks-like-id says it: every "class" would be rare
            items = st.categories.classes()
            median = float(np.median([n for _, n in items]))
            rare = [(v, n) for v, n in items
                    if n < RARE_ALWAYS or (n < RARE_BELOW and n < RARE_SHARE * median)]  # fmt: skip
            if not rare:
                continue
            rare.sort(key=lambda vn: (vn[1], vn[0]))
            shown = ", ".join(f"{v!r} ({n:,})" for v, n in rare[:10])
            shown += f", … ({len(rare) - 10:,} more)" if len(rare) > 10 else ""
            yield self.finding([s], {"rare": dict(rare[:100]), "count": len(rare),
                                     "median": median},
                               y_name=s.name, n=len(rare), median=int(median), rare=shown)  # fmt: skip


class LabelLooksLikeId(Check):
    """The label column is mostly unique: an identifier, not a class.

    What it means:
    At least half of the labelled rows (of 20 or more) have a value no other row has, or there
    are more than 100,000 distinct values. That is a name, a key or a free-text field — not a
    set of classes; the wrong column was probably named as the target.

    Why frameworks fail:
    Encoded, it becomes a classifier with as many outputs as rows: the output layer does not fit
    in memory, or it trains to memorise and generalises to nothing. Every "class" has one or
    two samples, so none can be in both the training and the validation split.

    How to repair:
    Name the right target column (``--target``). If the values really are labels, check them:
    trailing spaces, case or a row number glued to the label make equal labels distinct.

    Example:
    dsdoctor check passengers.csv --target name
    """

    code, name, severity, family = "DS105", "label-looks-like-id", Severity.ERROR, "labels"
    template = "{y_name} has {distinct} distinct values in {rows:,} labelled rows ({share}): an identifier, not a class label"

    def run(self, ctx: Context) -> Iterator[Finding]:
        for s in text_subjects(ctx):
            st = s.stats
            assert st is not None and st.categories is not None
            if not looks_like_id(s):
                continue
            cats, rows = st.categories, _labelled(s)
            distinct = (
                f"more than {categories.MAX_CATEGORIES:,}" if cats.over else f"{cats.distinct:,}"
            )
            share = "mostly unique" if cats.over else f"{cats.distinct / max(1, rows):.0%} unique"
            yield self.finding([s], {"distinct": cats.distinct, "over": cats.over, "rows": rows},
                               y_name=s.name, distinct=distinct, rows=rows, share=share)  # fmt: skip


class ClassCountMismatch(Check):
    """Text labels hold a different number of classes than ``--classes`` says.

    What it means:
    The distinct values of a text target are its classes: ``encode`` numbers them 0 … C-1 and
    ``--one-hot`` writes rows of width C. A model built for ``--classes`` N needs C = N.

    Why frameworks fail:
    More classes than outputs: once encoded, labels C … beyond the last output raise
    "IndexError: Target 3 is out of bounds" (PyTorch) or give NaN losses (Keras); one-hot rows
    of width C against N outputs fail with "Shapes (None, 4) and (None, 3) are incompatible".
    Fewer classes than outputs (a split missing a class) trains, but the missing class is
    never seen, and codes made from this split alone differ from the other splits'.

    How to repair:
    Fix ``--classes``; or find the extra values (typos, an "unknown"); for a split missing a
    class, encode it with the training split's vocabulary (``encode --vocabulary``), which
    keeps every split's codes and one-hot width the same.

    Example:
    dsdoctor check iris.csv --target species --classes 4
    """

    code, name, severity, family = "DS107", "class-count-mismatch", Severity.ERROR, "labels"
    template = "{y_name} has {found} classes but {said} {classes}: {why}"

    def run(self, ctx: Context) -> Iterator[Finding]:
        classes = ctx.expect.classes
        if classes is None:
            return
        for s in text_subjects(ctx):
            st = s.stats
            assert st is not None and st.categories is not None
            cats = st.categories
            if cats.distinct == classes:
                continue
            if cats.distinct > classes:
                why = (f"encoded, {cats.distinct - classes:,} of the classes have no output unit "
                       f"({class_list(s)})")  # fmt: skip
                severity = Severity.ERROR
            else:
                k = classes - cats.distinct
                why = (f"{k:,} {'class never occurs' if k == 1 else 'classes never occur'} "
                       f"({class_list(s)}); encode with the training split's --vocabulary")  # fmt: skip
                severity = Severity.WARNING
            found = (
                f"more than {categories.MAX_CATEGORIES:,}" if cats.over else f"{cats.distinct:,}"
            )
            said = (f"{ctx.expect.by('classes')} has" if ctx.expect.origin.get("classes") == "model"
                    else "--classes is")  # fmt: skip
            yield self.finding([s], {"found": cats.distinct, "classes": classes,
                                     **ctx.expect.from_model("classes")}, severity=severity,
                               y_name=s.name, found=found, classes=classes, why=why, said=said)  # fmt: skip


def _model_takes_text(ctx: Context) -> bool:
    """The model input the inputs are checked against takes text (an ONNX ``tensor(string)``,
    read as numpy's ``object``; an MLflow ``string`` tensor)."""
    model = ctx.expect.model
    if model is None:
        return False
    spec = next((i for i in model.inputs if i.name == ctx.expect.model_input), None)
    return spec is not None and spec.dtype in ("object", "str", "string", "bytes")
