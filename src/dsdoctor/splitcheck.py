"""``check --split``: the orchestration of the split checks -- each split checked on its own by
the API's check (a callback), its inputs, target and groups found, the split pass over every split
(:mod:`dsdoctor.engine.splits`, run where the command's engine says), then the split checks of
:mod:`dsdoctor.checks.splits` across them; and ``--baseline``, a stored report's training split."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ._version import __version__
from .errors import UsageError
from .findings import Finding, Report
from .sources import ArrayHandle, open_array, parse_source
from .units import format_shape

if TYPE_CHECKING:
    from .checks import Expectations
    from .engine import Engine


class Opening(Protocol):
    """How the command opens its sources (the API's ``SourceOptions``)."""

    @property
    def chunk_bytes(self) -> int: ...

    @property
    def reading(self) -> dict[str, Any]: ...

    def executor(self) -> Engine: ...

    def open(self, text: str, *, target: str | None = None) -> Any: ...


#: The API's check of one split: ``(name, x source, y source or None, codes)`` → its report and
#: the checks' context (its subjects, x/y pairs).
CheckOne = Callable[[str, str, "str | None", "set[str]"], "tuple[Report, Any]"]


def check_splits(parsed: list[tuple[str, str, str | None]], group: str | None,
                 thresholds: tuple[float, float], opts: Opening, expect: Expectations, chosen,
                 skipped, baseline, check_one: CheckOne, task: str | None = None) -> Report:  # fmt: skip
    """``check --split``: every check on each split (``check_one``: the API's check of one
    source set, its arrays named ``SPLIT:NAME``), then the split checks (``checks/splits.py``)
    across them, from one more pass over each split (:func:`scan_splits`, run where ``opts``'
    engine says). The training split is the one named ``train`` (or ``training``), else the
    first given; ``task`` (``--task``) says whether the targets are class labels."""
    from .checks import REGISTRY, Context, run_checks
    from .checks.splits import Splits, target_labels

    split_codes = {c.code for c in REGISTRY if c.family == "splits"}
    per_split = (
        (chosen - split_codes) if chosen is not None else {c.code for c in REGISTRY} - split_codes
    )
    findings: list[Finding] = []
    arrays: dict[str, dict[str, Any]] = {}
    datasets, columns, found = [], [], []
    stored = read_baseline(baseline) if baseline is not None else None  # refused before any scan
    for name, xs, ys in parsed:
        report, ctx = check_one(name, xs, ys, per_split)
        for f in report.findings:
            f.evidence = {**f.evidence, "split": name}
        findings += report.findings
        arrays.update(report.arrays)
        datasets += [{**d, "split": name} for d in report.datasets]
        columns += [{**c, "split": name} for c in report.columns]
        found.append(split_of(name, xs, ctx, opts, group))
    named = [i for i, sp in enumerate(found) if sp.name.lower() in TRAIN_NAMES]
    if named:  # the split named train is the training split, wherever it was given
        found.insert(0, found.pop(named[0]))
    findings = merge_split_findings(findings, [sp.name for sp in found])
    from .engine.splits import Bins

    train_x = found[0].x.stats
    bins = y_bins = None
    if stored is not None:
        same_dataset(stored, found[0])
        bins = Bins(stored.lo, stored.hi)
        y_bins = None if stored.target_lo is None else Bins(stored.target_lo, stored.target_hi)
    else:
        if (
            train_x is not None
            and train_x.fmin is not None
            and found[0].x.handle.dtype.kind in "biuf"
        ):
            bins = Bins(*widened(train_x.fmin, train_x.fmax))
        train_y = found[0].y
        if (train_y is not None and train_y.stats is not None and train_y.stats.fmin is not None
                and train_y.handle.dtype.kind in "biuf" and not train_y.handle.ragged
                and np.size(train_y.stats.fmin) == 1):  # fmt: skip
            y_bins = Bins(*widened(train_y.stats.fmin, train_y.stats.fmax))
    described = (
        None
        if bins is None
        else {"lo": bins.lo.tolist(), "hi": bins.hi.tolist(), "bins": bins.bins}
    )
    if described is not None and y_bins is not None:
        described["target"] = {"lo": y_bins.lo.tolist(), "hi": y_bins.hi.tolist()}
    sequences = expect.steps is not None or expect.rank == 3 or expect.mask_value is not None
    for sp in found:  # (N, L) windows of one feature, L the timesteps the model takes
        h = sp.x.handle
        sp.flat_windows = (
            h.ndim == 2 and not h.ragged and expect.steps is not None and h.shape[1] == expect.steps
        )
    from .engine.splits import spill_root

    with spill_root():  # the spilled keys' files go whatever happens, a helper's too
        try:
            indexes = scan_splits(found, bins, opts, sequences, y_bins)
            labels, why = target_labels(found[0], expect.classes, task)
            names = (
                getattr(found[0].y.handle, "class_names", None) if found[0].y is not None else None
            )
            classes = expect.classes if expect.classes is not None or not names else len(names)
            splits = Splits(found, *thresholds, group=group, baseline=stored, bins=described,
                            indexes=indexes, labels=labels, targets=why, classes=classes)  # fmt: skip
            ctx = Context([s for sp in found for s in sp.subjects], expect, splits=splits)
            if chosen is None or chosen & split_codes:
                findings += run_checks(ctx, chosen if chosen is not None else split_codes, skipped)
            summary = splits.summary()
        finally:
            for sp in found:
                sp.stats.close()
    from .checks.fixes import distinct_outputs

    distinct_outputs(findings)
    return Report(__version__, arrays, findings, datasets, columns, splits=summary)


#: Names of the training split: given anywhere among ``--split``, it is compared with the others.
TRAIN_NAMES = ("train", "training")
#: Per-split findings about how every split was written (a pandas index stored as a column):
#: one finding naming the splits, not one per split.
ONCE_FOR_ALL = ("DS702",)


def widened(fmin, fmax) -> tuple[np.ndarray, np.ndarray]:
    """The training split's extremes as drift bins' edges (NaN as 0, ±Inf as the largest finite
    float), widened by a millionth of their scale, so that a value equal to an extreme after a
    float32 round trip or a shift of a few ulps stays in the outer bin instead of flipping to
    the one below or above it (a point mass at the minimum moved by 1e-9 gave PSI 3.6)."""
    lo, hi = (np.nan_to_num(np.atleast_1d(np.asarray(v, dtype=np.float64)), nan=0.0)
              for v in (fmin, fmax))  # fmt: skip
    scale = np.maximum(hi - lo, np.maximum(np.abs(lo), np.abs(hi)))
    pad = np.where(np.isfinite(scale), scale * 1e-6, 0.0)
    return lo - pad, hi + pad


def merge_split_findings(findings: list[Finding], names: list[str]) -> list[Finding]:
    """The per-split findings, with those that every split shares said once: a DS702 (a pandas
    index stored as a column) of several splits becomes one finding naming them; constant
    features (DS402) that differ between splits lose their per-split fixes, which would drop
    other columns from each split (the splits need the same columns), and say so."""
    out: list[Finding] = []
    seen: dict[str, Finding] = {}
    for f in findings:
        if f.code in ONCE_FOR_ALL and f.code in seen:
            first = seen[f.code]
            first.evidence.setdefault("splits", [first.evidence.get("split")]).append(
                f.evidence.get("split")
            )
            first.arrays = list(dict.fromkeys([*first.arrays, *f.arrays]))
            continue
        if f.code in ONCE_FOR_ALL:
            seen[f.code] = f
        out.append(f)
    for f in seen.values():
        also = f.evidence.get("splits")
        if also:
            f.message += f" (the same in split{'s' if len(also) > 2 else ''} {', '.join(map(str, also[1:]))})"
    constant = [f for f in out if f.code == "DS402"]
    found = {
        str(f.evidence.get("split")): tuple(f.evidence.get("features") or ()) for f in constant
    }
    dropped = {name: found.get(name, ()) for name in names}
    if constant and len(set(dropped.values())) > 1:
        counts = "; ".join(f"{k}: {len(v)}" for k, v in dropped.items())
        for f in constant:
            f.fixes = []
            f.message += (f"; not fixed split by split: the splits have different constant features "
                          f"({counts}) and need the same columns: drop those constant in {names[0]} "
                          "from every split")  # fmt: skip
    return out


def read_baseline(path):
    """The training split of a stored report (``--baseline``): refused (exit 2) when it is not a
    ``check --split`` report, was written by another dsdoctor version, or describes other data
    (another number of features, other columns)."""
    import json

    import numpy as np

    from .checks.splits import Baseline

    where = os.fspath(path)
    try:
        with open(where, encoding="utf-8") as f:
            report = json.load(f)
    except FileNotFoundError:
        raise UsageError(f"--baseline {where}: no such file") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"--baseline {where} is not a JSON report ({exc})") from None
    splits = report.get("splits") if isinstance(report, dict) else None
    if not isinstance(splits, dict) or not isinstance(splits.get("bins"), dict):
        raise UsageError(f"--baseline {where} is not a report of `dsdoctor check --split … --json` "
                         "with drift histograms; write one with --format json -o")  # fmt: skip
    if report.get("dsdoctor") != __version__:
        raise UsageError(f"--baseline {where} was written by dsdoctor {report.get('dsdoctor')}, this "
                         f"is {__version__}: write a new baseline with this version")  # fmt: skip
    name = splits.get("train")
    stored = (splits.get("splits") or {}).get(name) or {}
    try:
        lo, hi = (np.asarray(splits["bins"][k], dtype=np.float64) for k in ("lo", "hi"))
        hist = stored.get("histogram")
        histogram = None if hist is None else np.asarray(hist, dtype=np.int64)
        classes = (
            None if stored.get("classes") is None else {k: int(v) for k, v in stored["classes"]}
        )
        target = splits["bins"].get("target")
        t_lo, t_hi = ((np.asarray(target[k], dtype=np.float64) for k in ("lo", "hi"))
                      if isinstance(target, dict) else (None, None))  # fmt: skip
        y_hist = stored.get("target_histogram")
        target_histogram = None if y_hist is None else np.asarray(y_hist, dtype=np.int64)
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"--baseline {where}: its splits section is damaged ({exc})") from None
    return Baseline(f"baseline {name}", where, lo, hi, histogram, classes, stored.get("columns"),
                    t_lo, t_hi, target_histogram)  # fmt: skip


def same_dataset(stored, train) -> None:
    """Refuse (exit 2) a baseline of another dataset: another number of features, other columns."""
    st = train.x.stats
    width = st.fmin.size if st is not None and st.fmin is not None else None
    if width is not None and stored.lo.size != width:
        raise UsageError(f"--baseline {stored.source} is of another dataset: {stored.lo.size} features "
                         f"in its histograms, {width} in split {train.name}")  # fmt: skip
    if stored.columns is not None and train.columns is not None and stored.columns != train.columns:
        raise UsageError(f"--baseline {stored.source} is of another dataset: its columns are "
                         f"{', '.join(stored.columns[:8])}; split {train.name}'s are "
                         f"{', '.join(train.columns[:8])}")  # fmt: skip


def split_of(name: str, xs: str, ctx, opts: Opening, group: str | None):
    """One split's inputs and target, from its check's context."""
    from .checks.splits import Split
    from .engine.splits import SplitStats

    if len(ctx.pairs) > 1:
        raise UsageError(f"--split {name}: {xs} holds {len(ctx.pairs)} x/y pairs; name one pair "
                         f"as {name}=FILE:X,FILE:Y")  # fmt: skip
    made = {(s.handle.provenance or {}).get("role"): s for s in ctx.subjects
            if (s.handle.provenance or {}).get("operation") == "window"}  # fmt: skip
    if ctx.pairs:
        x, y = ctx.pairs[0]
    elif "data" in made:  # `dsdoctor window -o W.npz`: its data, y, starts and record
        x, y = made["data"], made.get("y")
    else:
        inputs = ctx.inputs()
        if len(inputs) != 1:
            raise UsageError(f"--split {name}: {xs} holds {len(inputs)} arrays and no x/y pair; "
                             f"name them as {name}=FILE:X,FILE:Y")  # fmt: skip
        x, y = inputs[0], None
    table = getattr(x.handle, "table", None)
    cols = list(getattr(x.handle, "columns", []) or []) if table is not None else None
    if group is not None and cols is not None and group in cols and len(cols) > 1:
        x, cols = without_column(x, group), [c for c in cols if c != group]
    out = Split(name, x, y, SplitStats(), columns=cols)
    if group is not None:
        out.group_source = group_handle(name, x, group, opts)
    if table is not None and not x.named:  # the whole table's inputs, not columns asked for
        out.other_columns = other_columns(table, cols or [], group)
    return out


def without_column(x, column: str):
    """The inputs of a table without one of its columns (``--group``: an id, not a feature):
    another handle on the table, with the one-pass extremes of the other columns."""
    import dataclasses

    from .checks import Subject

    cols = list(x.handle.columns)
    j = cols.index(column)
    keep = [c for c in cols if c != column]
    handle = x.handle.table.columns_array(keep, name=x.handle.name if len(keep) > 1 else None)
    stats = x.stats
    if stats is not None and stats.fmin is not None and np.size(stats.fmin) == len(cols):
        stats = dataclasses.replace(
            stats, fmin=np.delete(stats.fmin, j), fmax=np.delete(stats.fmax, j)
        )
    return Subject(x.name, x.role, handle, stats, sequence=x.sequence)


def other_columns(table, inputs: list[str], group: str | None) -> list[str]:
    """A table's columns that are inputs but not numbers (text, dates, …): not in the numeric
    inputs, not the target, the ``--group`` column or a pandas index."""
    left_out = {*inputs, table.target, group, *table.index_columns()}
    return [n for n, (kind, _, _) in table._kinds().items()
            if kind in ("category", "other") and n not in left_out]  # fmt: skip


def group_handle(name: str, x, group: str, opts: Opening) -> ArrayHandle:
    """The ``--group`` column of a split's table (the table its inputs are read from: a Hugging
    Face split's own, not the folder's), or member of its container."""
    from .errors import SourceError

    spec = parse_source(x.handle.source)
    table = getattr(x.handle, "table", None)
    src = table if table is not None else opts.open(str(spec.path))

    try:
        handle = src.array(group)
    except SourceError as exc:
        raise UsageError(f"--group {group}: split {name} ({spec.display}) has no column or array "
                         f"{group!r} ({exc})") from None  # fmt: skip
    if handle.ragged or handle.ndim != 1:
        raise UsageError(f"--group {group}: split {name}'s {group} holds {format_shape(handle.shape)} "
                         "values, not one value per sample")  # fmt: skip
    return handle


def scan_splits(found, bins, opts: Opening, sequences: bool = False, y_bins=None) -> dict:
    """The split pass over every split, the smallest first: each split but the largest keeps its
    keys and becomes an index (:class:`~dsdoctor.engine.splits.KeyIndex`) that the larger splits
    look their keys up in while they are scanned, so the largest never holds its own. When a
    smaller split's keys would pass the memory bound, every split keeps its keys (spilled to
    bucket files) and the pairs are joined bucket by bucket instead. The indexes, by
    ``("x" | "xy", split)``."""
    from .engine.splits import DEFAULT_HASH_MEMORY, KeyIndex

    def rows(sp) -> int:
        return sp.x.stats.rows if sp.x.stats is not None else (sp.x.handle.n or 0)

    order = sorted(found, key=rows)
    buckets = any(24 * rows(sp) > DEFAULT_HASH_MEMORY for sp in order[:-1])
    indexes: dict = {}
    for sp in order:
        keep = buckets or sp is not order[-1]
        sp.stats = scan_one_split(sp, bins, opts, keep, {} if buckets else dict(indexes),
                                  sequences or sp.x.sequence is not None, y_bins)  # fmt: skip
        if keep and not buckets and sp.stats.hashed:
            indexes[("x", sp.name)] = KeyIndex.of(sp.stats.x_keys)
            if sp.stats.with_targets:
                indexes[("xy", sp.name)] = KeyIndex.of(sp.stats.xy_keys)
            sp.stats.x_keys.parts, sp.stats.xy_keys.parts = [], []  # the index holds them now
    return indexes


def scan_one_split(sp, bins, opts: Opening, keep: bool = True, indexes: dict | None = None,
                   sequences: bool = False, y_bins=None):  # fmt: skip
    """The split pass: hashes, classes, groups, histograms and the windows' timesteps -- in
    parts on the command's engine's workers (``--jobs``, ``--engine dask``) when the split can
    be cut into parts they open themselves (:func:`~dsdoctor.engine.splits.split_tasks`: a
    table's text and date columns go with a dataset's pieces), the parts merged in row order;
    otherwise here, every column with it."""
    from .engine import splits
    from .engine.splits import (
        ROLES,
        OtherColumns,
        SplitOptions,
        SplitWork,
        merge_parts,
        scan_split,
        scan_split_task,
        split_tasks,
    )

    h = sp.x.handle
    record = h.provenance or {}
    window = starts = None
    if record.get("operation") == "window":
        options = record.get("options") or {}
        length, rate = options.get("length"), options.get("sampling_rate", 1)
        found = window_starts(h.source, record)
        if found is not None and isinstance(length, int) and isinstance(rate, int):
            starts = found
            window, sp.series = (length, rate), str(record.get("source"))
    usable = bins
    if bins is not None and (h.ragged or h.dtype.kind not in "biuf"
                             or (bins.lo.size > 1 and h.shape[-1] != bins.lo.size)):  # fmt: skip
        usable = None
    pad = (sp.x.sequence or {}).get("value")
    windows = h.ndim >= 3 or sp.flat_windows
    sopts = SplitOptions(bins=usable, window=window, timestep_hashes=windows and window is None and sequences,
                         keep_keys=keep, indexes=indexes or {}, pad_value=pad, y_bins=y_bins,
                         memory_bytes=splits.DEFAULT_HASH_MEMORY)  # fmt: skip
    y = sp.y.handle if sp.y is not None else None
    table = getattr(h, "table", None)
    extra = (
        OtherColumns(table, sp.other_columns) if table is not None and sp.other_columns else None
    )
    others = {role: s for role, s in zip(ROLES, (y, sp.group_source, starts, extra), strict=True)
              if s is not None}  # fmt: skip
    engine = opts.executor()
    work = SplitWork(sopts, tuple(others), opts.chunk_bytes, elsewhere=engine.name == "dask")
    parts = engine.run(lambda workers: split_tasks(h, others, workers), scan_split_task, work,
                       f"hashing split {sp.name}")  # fmt: skip
    if parts is None:  # serial, or a split the workers cannot open in parts
        return scan_split(h, sopts, y, sp.group_source, starts, opts.chunk_bytes, extra)
    return merge_parts(parts)


def window_starts(source: str, record: dict) -> ArrayHandle | None:
    """The ``starts`` of windows ``dsdoctor window`` wrote: the file its record names beside a
    ``.npy`` output, or the ``starts`` member of the same container (``-o W.npz``)."""
    from .errors import SourceError

    spec = parse_source(source)
    files = record.get("files")
    if isinstance(files, dict):
        name = files.get("starts")
        path = spec.path.with_name(name) if isinstance(name, str) else None
        return open_array(str(path)) if path is not None and path.exists() else None
    if spec.selector is None or record.get("role") != "data":
        return None
    try:
        starts = open_array(f"{spec.path}:starts")
    except SourceError:
        return None
    return starts if (starts.provenance or {}).get("role") == "starts" else None
