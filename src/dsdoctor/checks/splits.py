"""Checks across the splits of a dataset (``check --split train=… --split val=…``): schema,
labels, leakage (duplicate samples, shared timesteps, shared groups) and drift. They read
``ctx.splits`` (:class:`Splits`), and find nothing when ``check`` was given no splits.

The training split is the one named ``train`` (or ``training``), else the first given: the
others are compared with it (and every pair of splits for leakage). The targets are class labels
(unseen labels, label drift) or a regression target (its drift, as a feature's) by
:func:`target_labels`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..engine.splits import (
    FIRST_ROWS,
    Overlap,
    SplitStats,
    chi2_pvalue,
    covered,
    intersect_intervals,
    js_distance,
    length_bins,
    on_length_bins,
    overlap,
    psi,
    shared_run_steps,
)
from ..engine.stats import ArrayStats
from ..findings import Finding, Severity
from .base import Check, Context, Subject
from .labels import ID_MIN_ROWS, ID_SHARE

#: Defaults of the drift thresholds (``--psi-threshold``, ``--js-threshold``).
PSI_THRESHOLD = 0.2
JS_THRESHOLD = 0.1
#: Drifted features named in a finding's message (all of them are in its evidence).
NAMED = 5
#: Values of a feature (labels) each split needs before its drift is judged: fewer, and a
#: 22-bin histogram's noise alone passes the thresholds. The report's ``splits`` names the
#: splits not judged.
MIN_DRIFT_VALUES = 1000
#: The drift of sequences, beside the features' (``FeatureDrift``).
SEQUENCE_FACTS = ("sequence length", "padding fraction")
MIN_DRIFT_LABELS = 100
#: Sequences each split needs before its length drift is judged (fewer: said, not judged).
MIN_DRIFT_SEQUENCES = 100
#: Bins of the sequence lengths, at the training split's quantiles (plus one below and one
#: above its range): as the features' fixed bins, so a split's noise is not one bin per length.
LENGTH_BINS = 10
#: Label and sequence-length drift is reported only when a chi-square test of the two count
#: vectors also gives a p-value below this: a distance past its threshold that a random split
#: of that many samples gives by chance (a few hundred labels, a sparse histogram) is noise.
DRIFT_P = 0.001
#: Below ``MIN_DRIFT_VALUES`` a feature has drifted when at least this share of a split's values
#: (and ``OUT_OF_RANGE_MIN`` of them) lie outside the training split's range: from the same
#: distribution a split of ``m`` values has about ``2m / (n + 1)`` outside the range of ``n``
#: training values (under 5% for n >= 40), while a unit change (x1000) puts all of them outside.
OUT_OF_RANGE_SHARE = 0.25
OUT_OF_RANGE_MIN = 5
#: ``--task`` values: what the targets are for the split checks (None: :func:`target_labels`).
TASKS = ("classification", "regression")
#: An integer target with distinct values at least this share of the training split's rows
#: (and at least ``ID_MIN_ROWS`` rows) is a regression target (a count, a price, an age), as
#: a text column so varied is an identifier (``checks/labels.py``: ``ID_SHARE``, ``ID_MIN_ROWS``).


@dataclass
class Split:
    """One split: its name, its inputs and target (with their one-pass statistics), what the
    split pass measured, and the series its windows were cut from (``dsdoctor window``)."""

    name: str
    x: Subject
    y: Subject | None
    stats: SplitStats
    series: str | None = None
    columns: list[str] | None = None  # a table's input columns
    group_source: Any = None  # the handle of its --group column
    #: a table's non-numeric input columns (text, dates), hashed with the numeric inputs
    other_columns: list[str] = field(default_factory=list)
    #: its inputs are (N, L) windows of one feature (``--timesteps L``, ``--input-shape (L, 1)``)
    flat_windows: bool = False

    @property
    def subjects(self) -> list[Subject]:
        return [self.x] + ([self.y] if self.y is not None else [])


@dataclass
class Splits:
    """Every split, the training one first, and the thresholds."""

    splits: list[Split]
    psi_threshold: float = PSI_THRESHOLD
    js_threshold: float = JS_THRESHOLD
    group: str | None = None
    #: ``--baseline REPORT``: the stored training split's statistics (:class:`Baseline`)
    baseline: Baseline | None = None
    #: the drift histograms' bins: ``{"lo": [...], "hi": [...], "bins": 20}`` per feature
    bins: dict[str, Any] | None = None
    #: the smaller splits' key indexes the larger ones were looked up in, by ("x" | "xy", split)
    indexes: dict[tuple[str, str], Any] = field(default_factory=dict)
    #: the targets are class labels (:func:`target_labels`), and why (or why not)
    labels: bool = True
    targets: str | None = None
    #: the number of classes the model has (``--classes``, a model, a ClassLabel)
    classes: int | None = None
    _overlaps: dict[tuple[str, str, str], Any] = field(default_factory=dict)

    def references(self) -> Iterator[tuple[str, Any, dict | None, ArrayStats | None, list[Split]]]:
        """What drift is measured against: the training split (for the other splits), and the
        baseline's training split (for every split): its name, histogram, classes, inputs'
        one-pass statistics (None for a baseline) and the splits compared with it."""
        if self.baseline is None or len(self.splits) > 1:
            t = self.train
            yield t.name, t.stats.hist, t.stats.classes, t.x.stats, self.others
        if self.baseline is not None:
            b = self.baseline
            yield b.name, b.histogram, b.classes, None, self.splits

    def target_references(self) -> Iterator[tuple[str, Any, list[Split]]]:
        """The targets' histograms drift is measured against (a regression target's)."""
        if self.baseline is None or len(self.splits) > 1:
            yield self.train.name, self.train.stats.y_hist, self.others
        if self.baseline is not None:
            yield self.baseline.name, self.baseline.target_histogram, self.splits

    @property
    def train(self) -> Split:
        return self.splits[0]

    def label(self, k: Any) -> str:
        """A label as the report says it: its class name when the training split's targets
        name their classes (a Hugging Face ``ClassLabel``), else its value."""
        y = self.train.y
        names = getattr(y.handle, "class_names", None) if y is not None else None
        if names and isinstance(k, (int, float, np.integer, np.floating)) and float(k).is_integer():
            i = int(k)
            if 0 <= i < len(names):
                return str(names[i])
        return str(k)

    @property
    def others(self) -> list[Split]:
        return self.splits[1:]

    def pairs(self) -> Iterator[tuple[Split, Split]]:
        return itertools.combinations(self.splits, 2)

    def overlap(self, a: Split, b: Split, which: str = "x"):
        key = (a.name, b.name, which)
        if key not in self._overlaps and (which, a.name) in b.stats.probes:
            probe, index = b.stats.probes[(which, a.name)], self.indexes[(which, a.name)]
            found, first, distinct, other, other_first = probe.overlap(index)
            self._overlaps[key] = Overlap(other, found, distinct, other_first, first,
                                          probe.repeated(index, prober_repeats=False))  # fmt: skip
        elif key not in self._overlaps and (which, b.name) in a.stats.probes:
            probe, index = a.stats.probes[(which, b.name)], self.indexes[(which, b.name)]
            found, first, distinct, other, other_first = probe.overlap(index)
            self._overlaps[key] = Overlap(found, other, distinct, first, other_first,
                                          probe.repeated(index, prober_repeats=True))  # fmt: skip
        if key not in self._overlaps:
            ta, tb = (
                (a.stats.x_keys, b.stats.x_keys)
                if which == "x"
                else (a.stats.xy_keys, b.stats.xy_keys)
            )
            self._overlaps[key] = overlap(ta, tb)
        return self._overlaps[key]

    def summary(self) -> dict[str, Any]:
        """The report's ``splits``: per split its rows, arrays, classes and drift histograms."""
        out: dict[str, Any] = {"train": self.train.name, "group": self.group, "splits": {},
                               "bins": self.bins, "targets": self.targets,
                               "labels": self.labels}  # fmt: skip
        if self.baseline is not None:
            out["baseline"] = {"source": self.baseline.source, "train": self.baseline.name}
        if self.train.y is not None:
            out["unlabelled"] = [s.name for s in self.splits if s.y is None]
        for s in self.splits:
            st = s.stats
            out["splits"][s.name] = {
                "rows": st.rows,
                "x": s.x.name,
                "y": s.y.name if s.y is not None else None,
                "classes": _counts(st.classes),
                "groups": None if st.groups is None or self.group is None else len(st.groups),
                "histogram": None if st.hist is None else st.hist.tolist(),
                "target_histogram": None if st.y_hist is None else st.y_hist.tolist(),
                "hashed": st.hashed,
                "columns": s.columns,
                "drift_judged_by": _judged_by(st.hist),
            }
        out["drift_not_judged"] = self.not_judged()
        out["timesteps_not_compared"] = [
            f"{s.name}: {s.x.name} {_shape(s)} is not known to be sequences (give --timesteps, "
            "or an --input-shape or --model with a time axis)"
            for s in self.splits if s.x.handle.ndim >= 3 and s.stats.steps is None
            and s.stats.step_keys is None and s.stats.hashed
        ]  # fmt: skip
        for a, b in self.pairs():  # both hold windows, but not comparable with each other
            sa, sb = a.stats, b.stats
            if sa.steps is not None and sb.steps is not None and a.series != b.series:
                out["timesteps_not_compared"].append(
                    f"{a.name} and {b.name}: windows of different series ({a.series}; {b.series})"
                )
            elif (sa.steps is None) != (sb.steps is None) and (
                    sa.step_pairs is not None or sb.step_pairs is not None):  # fmt: skip
                out["timesteps_not_compared"].append(
                    f"{a.name} and {b.name}: one's windows are known by their source rows (dsdoctor "
                    "window), the other's only by value")  # fmt: skip
        out["not_run"] = self.not_run(out["timesteps_not_compared"])
        return out

    def not_run(self, timesteps_not_compared: list[str]) -> dict[str, str]:
        """The split checks that could not run on these splits, and why (JUnit skips them)."""
        out: dict[str, str] = {}
        compared = self.splits if self.baseline is not None else self.others
        if not self.labels:
            why = self.targets or "no split has targets"
            out.update(
                {c: f"the targets are not class labels: {why}" for c in ("DS802", "DS807", "DS808")}
            )
        elif self.classes is None:
            out["DS808"] = "the number of classes is not known (--classes, a model)"
        if self.labels and not any(s.stats.classes for s in self.splits):
            out.update(
                {c: "no split has class labels counted" for c in ("DS802", "DS807", "DS808")}
            )
        elif self.labels and "DS807" not in out and all(
                sum((s.stats.classes or {}).values()) < MIN_DRIFT_LABELS for s in compared):  # fmt: skip
            out["DS807"] = f"fewer than {MIN_DRIFT_LABELS:,} labels in every split compared"
        if all(s.stats.hist is None for s in compared):
            out["DS806"] = (
                "no split's inputs have a histogram (not numeric, ragged, or another width)"
            )
        if len(self.splits) < 2:  # one split and a baseline: statistics, not samples, to compare
            alone = "one split, compared with a baseline report that holds no samples"
            out.update({c: alone for c in ("DS803", "DS804", "DS805")})
            return out
        if not any(a.stats.hashed and b.stats.hashed for a, b in self.pairs()):
            out["DS803"] = "no two splits' inputs were hashed (ragged sequences)"
        windows = [
            s for s in self.splits if s.stats.steps is not None or s.stats.step_pairs is not None
        ]
        if len(windows) < 2:
            out["DS804"] = ("; ".join(timesteps_not_compared) if timesteps_not_compared
                            else "no two splits hold windows of a series")  # fmt: skip
        if self.group is None:
            out["DS805"] = "no --group column given"
        return out

    def not_judged(self) -> list[str]:
        """Why the drift of some splits was not judged (too few values, no histogram)."""
        out = []
        if self.bins is not None:
            wide = [i for i, (lo, hi) in enumerate(zip(self.bins["lo"], self.bins["hi"], strict=True))
                    if max(abs(lo), abs(hi)) >= np.finfo(np.float64).max]  # fmt: skip
            if wide:
                out.append(f"{self.train.name}: features {', '.join(map(str, wide[:NAMED]))}: ±Inf in "
                           "the training split, so their bins hold everything")  # fmt: skip
        ref = self.train.stats.hist
        for s in self.splits:
            reference = s is self.train and self.baseline is None  # not judged against itself
            h = s.stats.hist
            if h is None:
                out.append(f"{s.name}: its inputs have no histogram (not numeric, ragged, or "
                           f"another width than {self.train.name}'s)")  # fmt: skip
            elif (not reference and ref is not None and h.shape == ref.shape
                  and int(h[0].sum()) < MIN_DRIFT_VALUES):  # fmt: skip
                out.append(f"{s.name}: all {h.shape[0]} features: {int(h[0].sum()):,} values per feature, "
                           f"fewer than {MIN_DRIFT_VALUES:,}: PSI and JS not judged, only the share of "
                           f"values outside {self.train.name}'s range (DS806 at {OUT_OF_RANGE_SHARE:.0%})")  # fmt: skip
            n = sum(s.stats.classes.values()) if s.stats.classes and self.labels else None
            if n is not None and n < MIN_DRIFT_LABELS:
                out.append(f"{s.name}: labels: {n:,}, fewer than {MIN_DRIFT_LABELS:,}")
            ref_x, mine_x = self.train.x.stats, s.x.stats
            if (s is not self.train and ref_x is not None and mine_x is not None and ref_x.lengths_count
                    and mine_x.lengths_count
                    and min(ref_x.lengths_count, mine_x.lengths_count) < MIN_DRIFT_SEQUENCES):  # fmt: skip
                out.append(f"{s.name}: sequence lengths: {mine_x.lengths_count:,} sequences "
                           f"({self.train.name}: {ref_x.lengths_count:,}), fewer than "
                           f"{MIN_DRIFT_SEQUENCES:,} in one: length drift not judged")  # fmt: skip
        return out


@dataclass
class Baseline:
    """The training split of a stored report (``check --split … --json``): its name (as
    "baseline NAME"), bins, histogram and classes."""

    name: str
    source: str
    lo: np.ndarray
    hi: np.ndarray
    histogram: np.ndarray | None
    classes: dict | None
    columns: list[str] | None = None
    target_lo: np.ndarray | None = None
    target_hi: np.ndarray | None = None
    target_histogram: np.ndarray | None = None


def _judged_by(hist: np.ndarray | None) -> str | None:
    """How a split's drift is judged: PSI and JS, or (too few values) its range only."""
    if hist is None:
        return None
    return "psi" if int(hist[0].sum()) >= MIN_DRIFT_VALUES else "range"


def target_labels(train: Split, classes: int | None, task: str | None) -> tuple[bool, str | None]:
    """Whether the targets are class labels (unseen labels, label drift, a class without
    training samples) or a regression target (its drift is a feature's), and why, by the rule
    DS102 follows (``checks/alignment.py``'s ``target_kind``): ``--task`` says so; text,
    booleans and codes ``dsdoctor encode`` wrote are labels; floats are a regression target
    unless ``--classes`` (or a model, a ClassLabel) gives classes or the training split holds
    two whole values at most (0.0/1.0: binary labels); integers are labels unless
    nearly every value is distinct (``ID_SHARE`` of the training split's rows: a count, a
    price)."""
    if task == "classification":
        return True, "class labels (--task classification)"
    if task == "regression":
        return False, "a regression target (--task regression)"
    y = train.y
    if y is None:
        return True, None
    h = y.handle
    counted = train.stats.classes
    if h.categorical or h.dtype.kind in "bOUS":
        return True, "class labels (text or booleans)"
    from .alignment import encoded_classes

    if encoded_classes(h) is not None or h.class_names is not None:
        return True, "class labels (their file names the classes)"
    if h.dtype.kind == "f":
        if classes is not None and counted is not None:
            return True, f"class labels stored as floats ({classes} classes)"
        if counted is not None and len(counted) <= 2:
            return True, "class labels (floats of two values: binary labels)"
        return False, ("a regression target (floats; give --classes or --task classification if "
                       "they are class labels)")  # fmt: skip
    if counted is None:
        return False, "a regression target (too many distinct values to count as classes)"
    rows = sum(counted.values())
    if classes is None and rows >= ID_MIN_ROWS and len(counted) >= ID_SHARE * rows:
        return False, (f"a regression target ({len(counted):,} distinct integers in {rows:,} rows of "
                       f"{train.name}; give --task classification if they are class labels)")  # fmt: skip
    return True, ("class labels (integers; give --task regression if they are a regression "
                  "target)")  # fmt: skip


def _shape(s: Split) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in s.x.handle.shape) + ")"


def _counts(c: dict | None) -> list[list[Any]] | None:
    return None if c is None else [[k, v] for k, v in sorted(c.items(), key=lambda kv: str(kv[0]))]


def _splits(ctx: Context) -> Splits | None:
    return getattr(ctx, "splits", None)


def _schema(s: Split) -> dict[str, Any]:
    h = s.x.handle
    out: dict[str, Any] = {"rank": h.ndim, "dtype": str(h.dtype), "width": s.x.width}
    if h.ndim >= 3 and not h.ragged:
        out["timesteps"] = h.shape[1]
    if s.columns is not None:
        out["columns"] = s.columns
    if s.y is not None:
        out["target dtype"] = str(s.y.handle.dtype)
        out["target rank"] = s.y.handle.ndim
    return out


class SplitSchemaMismatch(Check):
    """The splits do not hold the same kind of samples: their inputs differ in width, dtype,
    rank, timesteps or columns, or their targets in dtype or rank.

    What it means:
    A model is built for the training split's samples. A validation or test split whose
    inputs have another width, another dtype, other columns (or the same columns in another
    order) is not the same data: the model either fails on it or, worse, reads each column
    as another.

    Why frameworks fail:
    Keras and PyTorch raise a shape error for another width only when the split is first
    evaluated, often hours into training; a different column order with the same width, or
    float64 against float32, raises nothing at all.

    How to repair:
    Write every split with the same pipeline: the same `dsdoctor select --columns`, the same
    dtype, the same window length. Compare the columns of a table split by split with
    `dsdoctor inspect`.

    Example:
    dsdoctor check --split train=train.parquet --split val=val.parquet --target label
    DS801 val: its inputs differ from train's: width 12 (train 13); columns [...]

    A split with no targets at all (a test file without labels, as Kaggle ships one) is no
    mismatch: it is compared by its inputs alone, and the report says so (``splits.unlabelled``).
    """

    code = "DS801"
    name = "split-schema-mismatch"
    severity = Severity.ERROR
    family = "splits"
    template = "{split}: its samples differ from {train}'s: {what}"

    def run(self, ctx: Context) -> Iterator[Finding]:
        sp = _splits(ctx)
        if sp is None:
            return
        ref = _schema(sp.train)
        for s in sp.others:
            mine = _schema(s)
            differs = {k: {"train": ref.get(k), s.name: mine.get(k)}
                       for k in sorted(set(ref) | set(mine)) if ref.get(k) != mine.get(k)
                       and not (k.startswith("target") and mine.get(k) is None)}  # fmt: skip
            if not differs:
                continue
            what = "; ".join(
                dict.fromkeys(_differ(k, ref.get(k), mine.get(k), sp.train.name) for k in differs)
            )
            yield self.finding(s.subjects, {"split": s.name, "train": sp.train.name, "differs": differs},
                               what=what)  # fmt: skip


def _differ(key: str, ref: Any, mine: Any, train: str) -> str:
    if key == "columns" and isinstance(ref, list) and isinstance(mine, list):
        missing = [c for c in ref if c not in mine]
        extra = [c for c in mine if c not in ref]
        if not missing and not extra:
            return f"the columns are in another order than {train}'s"
        parts = ([f"no {', '.join(missing[:NAMED])}"] if missing else []) + (
            [f"extra {', '.join(extra[:NAMED])}"] if extra else [])  # fmt: skip
        hint = (f" (if {missing[0]} is the target, a test file without labels: give --target "
                f"{missing[0]})" if len(missing) == 1 and not extra else "")  # fmt: skip
        return "columns: " + ", ".join(parts) + hint
    if key.startswith("target") and (ref is None or mine is None):
        return f"{train} has no targets" if ref is None else "it has no targets"
    return f"{key} {mine} ({train}: {ref})"


class UnseenLabels(Check):
    """A validation or test split holds labels that the training split never has.

    What it means:
    The model never saw a sample of these classes: it cannot predict them, and the split's
    metrics count every one of its samples as an error (or, with a label encoder fit on
    the training split, the encoder fails on them).

    Why frameworks fail:
    Nothing fails: a sparse loss accepts any label below the output width, and scikit-learn's
    `LabelEncoder.transform` raises "y contains previously unseen labels" only in the
    evaluation step.

    How to repair:
    Split by stratifying on the label (`train_test_split(..., stratify=y)`), or drop the
    classes too rare to be in both; then check the splits again.

    Only class labels are compared: a regression target (floats without `--classes`,
    integers nearly all distinct, or `--task regression`) has its drift measured instead
    (DS806). With `--baseline`, the labels are also compared with the stored training split's.

    Example:
    DS802 test: 17 samples hold 2 labels not in train: 7 (12), 9 (5)
    """

    code = "DS802"
    name = "unseen-labels"
    severity = Severity.ERROR
    family = "splits"
    template = "{split}: {rows:,} {samples} {hold} {count} {labels_word} not in {train}: {labels}"

    def run(self, ctx: Context) -> Iterator[Finding]:
        sp = _splits(ctx)
        if sp is None or not sp.labels:
            return
        for name, _, seen, _, compared in sp.references():
            if not seen:
                continue
            for s in compared:
                mine = s.stats.classes
                if not mine:
                    continue
                new = {k: v for k, v in mine.items() if k not in seen}
                if not new:
                    continue
                top = sorted(new.items(), key=lambda kv: -kv[1])
                rows = sum(new.values())
                yield self.finding(
                    s.subjects,
                    {"split": s.name, "train": name, "rows": rows, "count": len(new),
                     "unseen": _counts(new)},
                    labels=", ".join(f"{sp.label(k)} ({v:,})" for k, v in top[:NAMED]) + (" …" if len(top) > NAMED else ""),
                    samples=_plural(rows, "sample"), hold="holds" if rows == 1 else "hold",
                    labels_word=_plural(len(new), "label"),
                )  # fmt: skip


def _plural(n: int, word: str) -> str:
    return word if n == 1 else word + "s"


class SplitOverlap(Check):
    """The same sample is in two splits: rows of a validation or test split are exact copies of
    training rows (inputs and target, or inputs alone with another target).

    What it means:
    A duplicated sample is graded on data the model was trained on: validation loss and
    test accuracy are too good, early stopping stops too late, and a model that memorises
    looks like one that generalises. The same inputs with another target is worse: label
    noise that neither split shows alone.

    Why frameworks fail:
    No framework compares splits; they are separate arrays to it. Duplicates come from
    splitting after oversampling or augmentation, from a dataset that already held
    duplicates, or from concatenating two exports.

    How to repair:
    Deduplicate before splitting, or drop the rows named here from the later split. Each
    sample is hashed (128 bits, -0.0 as 0.0, every NaN as one NaN; every input column of a
    table, text and dates included, but not the target, a pandas index or the `--group`
    column) and the hashes are joined exactly, in bounded memory; the evidence gives the first
    row numbers (from 0) in each split. The message says how many of the rows are samples the
    earlier split itself repeats (a dataset that already held duplicates: deduplicating it
    first clears them) and how many have the same inputs with another target (conflicting
    labels, not copies: deduplicating the full rows leaves them).

    Example:
    DS803 val: 1,200 of its 100,000 samples (1.2%) are also in train (1,150 distinct);
    val rows 3, 17, 40 …; train rows 12, 90, 144 …
    """

    code = "DS803"
    name = "split-overlap"
    severity = Severity.ERROR
    family = "splits"
    template = ("{b}: {b_rows:,} of its {b_total:,} samples ({share:.1%}) are also in {a} "
                "({distinct:,} distinct; {a} has {a_rows:,} of them){conflict}{repeated}; {b} rows "
                "{b_first}; {a} rows {a_first} (from 0)")  # fmt: skip

    def run(self, ctx: Context) -> Iterator[Finding]:
        sp = _splits(ctx)
        if sp is None:
            return
        for a, b in sp.pairs():
            if not (a.stats.hashed and b.stats.hashed):
                continue
            o = sp.overlap(a, b)
            if not o.b_rows:
                continue
            both = sp.overlap(a, b, "xy") if a.stats.with_targets and b.stats.with_targets else None
            conflict = ""
            evidence: dict[str, Any] = {"a": a.name, "b": b.name, **o.to_dict(),
                                        "b_total": b.stats.rows, "a_total": a.stats.rows,
                                        "share": o.b_rows / max(1, b.stats.rows)}  # fmt: skip
            if both is not None:
                evidence["same_target"] = both.to_dict()
                other = o.b_rows - both.b_rows
                evidence["other_target_rows"] = other
                if other == o.b_rows:
                    conflict = (", all of them with another target (the same inputs labelled "
                                "differently: conflicting labels, not copies)")  # fmt: skip
                elif other:
                    conflict = (f", {other:,} of them with another target (the same inputs "
                                f"labelled differently) and {both.b_rows:,} with the same")  # fmt: skip
            repeated = ""
            if o.b_repeated_in_a:
                repeated = (f"; {o.b_repeated_in_a:,} of them are samples {a.name} itself holds more "
                            f"than once (the data held duplicates before it was split)")  # fmt: skip
            one = _one_feature(a) and _one_feature(b)
            if one:  # one scalar per sample: equal values recur by chance
                repeated += "; the samples are one value each, which recur by chance"
                evidence["one_feature"] = True
            yield self.finding(a.subjects + b.subjects, evidence, conflict=conflict, repeated=repeated,
                               severity=Severity.WARNING if one else self.severity,
                               a_first=_rows(o.a_first, o.a_rows), b_first=_rows(o.b_first, o.b_rows))  # fmt: skip


def _one_feature(s: Split) -> bool:
    """The samples are one number each (a table of one numeric column and nothing else)."""
    h = s.x.handle
    return not s.other_columns and (h.ndim == 1 or (h.ndim == 2 and h.shape[-1] == 1))


def _rows(first: list[int], total: int) -> str:
    return ", ".join(f"{r:,}" for r in first) + (" …" if total > len(first) else "")


class TimestepOverlap(Check):
    """Windows of two splits cover the same timesteps of a series: a random split of
    overlapping windows (stride shorter than the window) leaks every timestep although no window
    is duplicated.

    What it means:
    A validation window that shares timesteps with training windows lets the model be graded
    on values it was trained on (and, with a horizon, on targets it was shown as inputs). A
    random split of stride-1 windows shares nearly every timestep with the training split.

    Why frameworks fail:
    `keras.utils.timeseries_dataset_from_array` and `train_test_split` know nothing of the
    series the windows came from; hashing whole windows finds no duplicate.

    How to repair:
    Split the series in time first, with a gap of at least the window length, then cut
    windows in each part: `dsdoctor window series.parquet --length L --split 0.8 --gap L`.
    Windows written by `dsdoctor window` (`.npy` with its sidecars, or one `.npz`) are
    compared by the source rows they cover (their `starts` and provenance). Other (N, L, F)
    arrays, univariate (F = 1) included, are compared by the values of their timestep rows
    when they are known to be sequences -- `--timesteps`, an `--input-shape` or model with a
    time axis, `--mask-value`, or dsdoctor's `pad` -- since an (N, H, W) stack of images looks
    the same; an (N, L) array with `--timesteps L` is windows of one feature; the report says
    when they were not compared. By value, a timestep counts as
    shared only inside a run: a pair of consecutive timestep rows (two different rows) that
    the other split's windows also hold in that order. One row equal by coincidence (a
    reading that recurs, a month number) is not a shared timestep; rows of the padding value
    (`--mask-value`, `pad`'s record) are no timesteps -- nor, with none declared, a window's
    leading or trailing run of two or more equal rows of one value -- and a pair of two equal
    rows (padding, a flat stretch) is no evidence.

    Example:
    DS804 val: its windows cover 19,950 timesteps of which 19,940 (99.9%) are also in
    train's windows
    """

    code = "DS804"
    name = "timestep-overlap"
    severity = Severity.ERROR
    family = "splits"
    template = ("{b}: its windows cover {b_steps:,} {unit} of which {shared:,} ({share:.1%}) are "
                "also in {a}'s windows{how}")  # fmt: skip

    def run(self, ctx: Context) -> Iterator[Finding]:
        sp = _splits(ctx)
        if sp is None:
            return
        for a, b in sp.pairs():
            sa, sb = a.stats, b.stats
            if sa.steps is not None and sb.steps is not None and a.series == b.series:
                shared, total = intersect_intervals(sa.steps, sb.steps), covered(*sb.steps)
                unit, how = "timesteps", f" (rows of {a.series})"
            elif (
                sa.step_pairs is not None and sb.step_pairs is not None and sb.step_keys is not None
            ):
                shared, total = shared_run_steps(sa.step_pairs, sb.step_pairs), len(sb.step_keys)
                unit = "distinct timestep rows"
                how = " (compared by value, in runs of 2 or more consecutive timesteps)"
            else:
                continue
            if not shared:
                continue
            yield self.finding(a.subjects + b.subjects,
                               {"a": a.name, "b": b.name, "b_steps": total, "shared": shared,
                                "share": shared / max(1, total), "unit": unit},
                               how=how)  # fmt: skip


class GroupLeakage(Check):
    """The same group (patient, user, series, …; ``--group COL``) has samples in two splits.

    What it means:
    Samples of one group are alike: a model that has seen a patient's other scans
    recognises the patient, not the disease. Validation on groups seen in training measures
    memory of the groups, and overestimates accuracy on new ones.

    Why frameworks fail:
    A random split (`train_test_split`, `random_split`) splits rows, not groups.

    How to repair:
    Split by group: scikit-learn's `GroupShuffleSplit` or `GroupKFold`, or assign each
    group to a split by a hash of its value. The `--group` column is an id, not a feature:
    it is left out of the inputs that are hashed (DS803) and compared for drift (DS806).

    Example:
    DS805 val: 12 of its 40 patient_id values (1,830 samples) are also in train: 17, 23, 41 …
    """

    code = "DS805"
    name = "group-leakage"
    severity = Severity.ERROR
    family = "splits"
    template = ("{b}: {shared:,} of its {b_groups:,} {group} values ({rows:,} samples) {are} also "
                "in {a}: {values}")  # fmt: skip

    def run(self, ctx: Context) -> Iterator[Finding]:
        sp = _splits(ctx)
        if sp is None or sp.group is None:
            return
        for a, b in sp.pairs():
            ga, gb = a.stats.groups, b.stats.groups
            if not ga or not gb:
                continue
            shared = sorted((k for k in gb if k in ga), key=_natural)
            if not shared:
                continue
            rows = sum(gb[k] for k in shared)
            yield self.finding(
                a.subjects + b.subjects,
                {"a": a.name, "b": b.name, "group": sp.group, "shared": len(shared),
                 "b_groups": len(gb), "rows": rows, "first_values": shared[:FIRST_ROWS]},
                values=", ".join(_value(v) for v in shared[:FIRST_ROWS]) + (" …" if len(shared) > FIRST_ROWS else ""),
                are="is" if len(shared) == 1 else "are",
            )  # fmt: skip


def _natural(v: Any) -> tuple:
    """Numbers in numeric order, before text in text order (a float id column: 1, 2, 10)."""
    return (
        (0, float(v), "")
        if isinstance(v, int | float) and not isinstance(v, bool)
        else (1, 0.0, str(v))
    )


def _value(v: Any) -> str:
    """A group value as written: a whole float (an id column read as float64) without ``.0``."""
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


class FeatureDrift(Check):
    """A feature's distribution in a validation or test split differs from the training split's
    (PSI or Jensen-Shannon distance past its threshold), or the sequences' lengths or padding
    moved.

    What it means:
    The model learnt the training split's distribution; on a shifted feature its outputs
    are extrapolations. A feature in another unit (metres and kilometres), a sensor that
    was recalibrated or a scaler fit on one split only all show up here.

    Why frameworks fail:
    Nothing compares distributions: the model trains and evaluates without a warning, and
    the validation metric is simply worse (or, for a test split drawn later, the production
    metric is).

    How to repair:
    Find the cause (units, scaling, a pipeline change) in the features named. Each
    feature's histogram has 20 equal bins between the training split's minimum and
    maximum (widened by a millionth), one below and one above; PSI (> 0.2 is a large shift)
    and the Jensen-Shannon distance (base 2, 0 to 1) compare them. Set the thresholds with
    `--psi-threshold` and `--js-threshold` or in the spec's `[check]`. With fewer than 1,000
    values per feature in either split, the histograms' noise alone passes those thresholds:
    a feature has then drifted when at least 25% of the split's values (and 5 or more) lie
    outside the training split's range -- a unit change (x1000), a trend past the training
    period -- and the report says that only this was judged. A regression target (floats
    without `--classes`, integers nearly all distinct, `--task regression`) is compared the
    same way, as one more feature named after it.

    Sequence lengths are counted on 10 bins at the training split's length quantiles (one
    below its shortest and one above its longest), not one bin per length (a sparse
    histogram whose noise alone passes JS 0.1 on every random split). They have drifted when
    PSI or JS passes its threshold and a chi-square test of the binned counts gives a p-value
    below 0.001; with fewer than 100 sequences in either split they are not judged (the report
    says so). The padding fraction has drifted when it moved by more than the JS threshold.

    Example:
    DS806 val: 1 of 16 features drifted from train: feature 3 (PSI 4.12, JS 0.83)
    """

    code = "DS806"
    name = "feature-drift"
    severity = Severity.WARNING
    family = "splits"
    template = "{split}: {what} drifted from {train}: {named}"

    def run(self, ctx: Context) -> Iterator[Finding]:
        sp = _splits(ctx)
        if sp is None:
            return
        for name, ref, _, ref_x, compared in sp.references():
            for s in compared:
                yield from self._drift(sp, name, ref, ref_x, s)

    def _drift(
        self, sp: Splits, name: str, ref, ref_x: ArrayStats | None, s: Split
    ) -> Iterator[Finding]:
        mine = s.stats.hist
        drifted = _histogram_drift(sp, ref, mine, lambda f: _feature(sp.train, f))
        if not sp.labels and sp.train.y is not None:
            y_ref = next((h for n, h, _ in sp.target_references() if n == name), None)
            target = _target_name(sp.train)
            drifted += [{**d, "target": True}
                        for d in _histogram_drift(sp, y_ref, s.stats.y_hist, lambda f: target)]  # fmt: skip
        features = 0 if ref is None else ref.shape[0]
        drifted += _sequence_drift(sp, ref_x, s.x.stats)
        if not drifted:
            return
        drifted.sort(key=lambda d: -d.get("psi", d.get("share_outside", 0)))
        named = ", ".join(_drift_words(d) for d in drifted[:NAMED]) + (
            " …" if len(drifted) > NAMED else ""
        )
        n = sum(1 for d in drifted if d["feature"] not in SEQUENCE_FACTS and not d.get("target"))
        what = " and ".join([*([f"{n} of {features} features"] if n else []),
                             *(d["feature"] for d in drifted if d.get("target")),
                             *(d["feature"] for d in drifted if d["feature"] in SEQUENCE_FACTS)])  # fmt: skip
        yield self.finding(s.subjects, {"split": s.name, "train": name, "count": len(drifted),
                                        "features": features, "drifted": drifted,
                                        "psi_threshold": sp.psi_threshold,
                                        "js_threshold": sp.js_threshold}, named=named, what=what)  # fmt: skip


def _histogram_drift(sp: Splits, ref, mine, named) -> list[dict[str, Any]]:
    """The drifted features of two histograms (F, bins + 2): by PSI and JS with at least
    ``MIN_DRIFT_VALUES`` values in each, else by the share of values outside the reference's
    range (``OUT_OF_RANGE_SHARE``)."""
    out: list[dict[str, Any]] = []
    if ref is None or mine is None or mine.shape != ref.shape:
        return out
    many = min(int(ref[0].sum()), int(mine[0].sum())) >= MIN_DRIFT_VALUES
    for f in range(ref.shape[0]):
        if many:
            p, j = psi(ref[f], mine[f]), js_distance(ref[f], mine[f])
            if p > sp.psi_threshold or j > sp.js_threshold:
                out.append({"feature": named(f), "psi": round(p, 4), "js": round(j, 4)})
            continue
        total, outside = int(mine[f].sum()), int(mine[f][0] + mine[f][-1])
        if total and outside >= OUT_OF_RANGE_MIN and outside >= OUT_OF_RANGE_SHARE * total:
            out.append({"feature": named(f), "outside": outside, "values": total,
                        "share_outside": round(outside / total, 4)})  # fmt: skip
    return out


def _target_name(s: Split) -> str:
    if s.y is None:
        return "target"
    columns = getattr(s.y.handle, "columns", None)
    return f"target {columns[0]}" if columns else "target"


def _feature(s: Split, f: int) -> str:
    if s.columns is not None and f < len(s.columns):
        return s.columns[f]
    return f"feature {f}"


def _drift_words(d: dict[str, Any]) -> str:
    if "outside" in d:
        return f"{d['feature']} ({d['outside']:,} of {d['values']:,} values outside the training range)"
    if "psi" in d:
        return f"{d['feature']} (PSI {d['psi']:.2f}, JS {d['js']:.2f})"
    return f"{d['feature']} ({d['train']:.3g} → {d['split']:.3g})"


def _sequence_drift(
    sp: Splits, ref: ArrayStats | None, mine: ArrayStats | None
) -> list[dict[str, Any]]:
    """Sequence-length drift and padding-fraction drift (more than ``js_threshold`` apart).
    The lengths are counted on ``LENGTH_BINS`` bins at the training split's quantiles; they
    have drifted when PSI or JS passes its threshold and a chi-square test says it is more than
    the noise of that many sequences (``DRIFT_P``); with fewer than ``MIN_DRIFT_SEQUENCES`` in
    either split they are not judged (:meth:`Splits.not_judged` says so)."""
    out: list[dict[str, Any]] = []
    if ref is None or mine is None:
        return out
    if min(ref.lengths_count, mine.lengths_count) >= MIN_DRIFT_SEQUENCES:
        rl, rc = ref.length_hist.lengths, ref.length_hist.counts
        edges = length_bins(rl, rc, LENGTH_BINS)
        a = on_length_bins(edges, rl, rc, int(rl[0]))
        b = on_length_bins(edges, mine.length_hist.lengths, mine.length_hist.counts, int(rl[0]))
        p, j = psi(a, b), js_distance(a, b)
        if (p > sp.psi_threshold or j > sp.js_threshold) and chi2_pvalue(a, b) < DRIFT_P:
            out.append({"feature": "sequence length", "js": round(j, 4), "psi": round(p, 4),
                        "p_value": chi2_pvalue(a, b)})  # fmt: skip
    if ref.timesteps and mine.timesteps:
        fa, fb = ref.pad_timesteps / ref.timesteps, mine.pad_timesteps / mine.timesteps
        if abs(fa - fb) > sp.js_threshold:
            out.append({"feature": "padding fraction", "train": fa, "split": fb})
    return out


class LabelDrift(Check):
    """The class balance of a validation or test split differs from the training split's (PSI or
    Jensen-Shannon distance of the label distributions past its threshold).

    What it means:
    A model's threshold and its prior over classes come from the training split; on a split
    with another balance its accuracy and calibration are not what validation promised.

    Why frameworks fail:
    Nothing compares the balance of two splits; a metric like accuracy hides the change.

    How to repair:
    Stratify the split on the label, or weigh the metric by class; when the change is real
    (later data), re-weigh or re-calibrate. Only class labels are compared so (see DS802); a
    regression target's drift is DS806's, and fewer than 100 labels in a split are not
    judged (the report says so). The distance alone is not enough: a random split of a few
    hundred labels passes JS 0.1 by chance (one time in five for 288 digits), so a drift is
    reported only when a chi-square test of the two splits' class counts also gives a p-value
    below 0.001 (evidence ``p_value``): a difference that sample sizes this large would not
    show by chance.

    Example:
    DS807 val: its label distribution drifted from train (PSI 0.61, JS 0.32): class 1 is
    10.0% of train and 45.0% of val
    """

    code = "DS807"
    name = "label-drift"
    severity = Severity.WARNING
    family = "splits"
    template = (
        "{split}: its label distribution drifted from {train} (PSI {psi:.2f}, JS {js:.2f}): {most}"
    )

    def run(self, ctx: Context) -> Iterator[Finding]:
        sp = _splits(ctx)
        if sp is None:
            return
        if not sp.labels:
            return
        for name, _, ref, _, compared in sp.references():
            if not ref:
                continue
            for s in compared:
                mine = s.stats.classes
                if not mine or min(sum(ref.values()), sum(mine.values())) < MIN_DRIFT_LABELS:
                    continue
                keys = sorted(set(ref) | set(mine), key=str)
                a = np.array([ref.get(k, 0) for k in keys])
                b = np.array([mine.get(k, 0) for k in keys])
                p, j = psi(a, b), js_distance(a, b)
                if p <= sp.psi_threshold and j <= sp.js_threshold:
                    continue
                chance = chi2_pvalue(a, b)
                if chance >= DRIFT_P:  # no more than a random split of so few labels gives
                    continue
                fa, fb = a / max(1, a.sum()), b / max(1, b.sum())
                k = int(np.argmax(np.abs(fa - fb)))
                most = f"class {sp.label(keys[k])} is {fa[k]:.1%} of {name} and {fb[k]:.1%} of {s.name}"
                yield self.finding(s.subjects, {"split": s.name, "train": name, "psi": p, "js": j,
                                                "train_share": fa.tolist(), "split_share": fb.tolist(),
                                                "classes": keys, "p_value": chance}, most=most)  # fmt: skip


class EmptyClassInTrain(Check):
    """A class the model has (``--classes`` or the model's output) has no training sample.

    What it means:
    The model's output for that class is never trained: it can only learn to never predict
    it. When validation or test holds the class, DS802 also names it; this check finds it
    even when no split holds it.

    Why frameworks fail:
    A sparse loss over N outputs trains on whatever labels occur; an output with no sample
    just drifts toward zero, silently.

    How to repair:
    Check --classes; re-split stratified on the label; or drop the class from the model.

    Example:
    DS808 train: classes 4, 9 of 10 have no training sample
    """

    code = "DS808"
    name = "empty-class-in-train"
    severity = Severity.ERROR
    family = "splits"
    template = "{split}: {count} of {classes} classes have no training sample: {missing}"

    def run(self, ctx: Context) -> Iterator[Finding]:
        sp = _splits(ctx)
        n = sp.classes if sp is not None else None  # --classes, a model, a ClassLabel's names
        if sp is None or n is None or not sp.labels or not sp.train.stats.classes:
            return
        seen = sp.train.stats.classes
        missing = [k for k in range(n) if k not in seen and float(k) not in seen]
        if not missing:
            return
        yield self.finding(sp.train.subjects,
                           {"split": sp.train.name, "count": len(missing), "classes": n, "missing": missing},
                           missing=", ".join(sp.label(k) for k in missing[:10]) + (" …" if len(missing) > 10 else ""))  # fmt: skip
