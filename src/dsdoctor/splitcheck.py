"""``check --split``: the orchestration of the split checks -- each split checked on its own by
the API's check (a callback), its inputs, target and groups found, the split pass over every split
(:mod:`dsdoctor.engine.splits`, run where the command's engine says), then the split checks of
:mod:`dsdoctor.checks.splits` across them; and ``--baseline``, a stored report's training split."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

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
                 skipped, baseline, check_one: CheckOne) -> Report:  # fmt: skip
    """``check --split``: every check on each split (``check_one``: the API's check of one
    source set, its arrays named ``SPLIT:NAME``), then the split checks (``checks/splits.py``)
    across them, from one more pass over each split (:func:`scan_splits`, run where ``opts``'
    engine says)."""
    from .checks import REGISTRY, Context, run_checks
    from .checks.splits import Splits

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
    import numpy as np

    from .engine.splits import Bins

    train_x = found[0].x.stats
    bins = None
    if stored is not None:
        same_dataset(stored, found[0])
        bins = Bins(stored.lo, stored.hi)
    elif (
        train_x is not None and train_x.fmin is not None and found[0].x.handle.dtype.kind in "biuf"
    ):
        lo, hi = (np.nan_to_num(np.atleast_1d(np.asarray(v, dtype=np.float64)), nan=0.0)
                  for v in (train_x.fmin, train_x.fmax))  # ±Inf: the largest finite float  # fmt: skip
        bins = Bins(lo, hi)
    described = (
        None
        if bins is None
        else {"lo": bins.lo.tolist(), "hi": bins.hi.tolist(), "bins": bins.bins}
    )
    sequences = expect.steps is not None or expect.rank == 3 or expect.mask_value is not None
    try:  # the spilled keys' files go whatever happens
        indexes = scan_splits(found, bins, opts, sequences)
        splits = Splits(
            found, *thresholds, group=group, baseline=stored, bins=described, indexes=indexes
        )
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
                         "with drift histograms; write one with --json -o")  # fmt: skip
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
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"--baseline {where}: its splits section is damaged ({exc})") from None
    return Baseline(f"baseline {name}", where, lo, hi, histogram, classes, stored.get("columns"))


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
    if ctx.pairs:
        x, y = ctx.pairs[0]
    else:
        inputs = ctx.inputs()
        if len(inputs) != 1:
            raise UsageError(f"--split {name}: {xs} holds {len(inputs)} arrays and no x/y pair; "
                             f"name them as {name}=FILE:X,FILE:Y")  # fmt: skip
        x, y = inputs[0], None
    table = getattr(x.handle, "table", None)
    cols = list(getattr(x.handle, "columns", []) or []) if table is not None else None
    out = Split(name, x, y, SplitStats(), columns=cols)
    if group is not None:
        out.group_source = group_handle(name, x, group, opts)
    return out


def group_handle(name: str, x, group: str, opts: Opening) -> ArrayHandle:
    """The ``--group`` column of a split's table (or member of its container)."""
    spec = parse_source(x.handle.source)
    src = opts.open(str(spec.path))
    from .errors import SourceError

    try:
        handle = src.array(group)
    except SourceError as exc:
        raise UsageError(f"--group {group}: split {name} ({spec.display}) has no column or array "
                         f"{group!r} ({exc})") from None  # fmt: skip
    if handle.ragged or handle.ndim != 1:
        raise UsageError(f"--group {group}: split {name}'s {group} holds {format_shape(handle.shape)} "
                         "values, not one value per sample")  # fmt: skip
    return handle


def scan_splits(found, bins, opts: Opening, sequences: bool = False) -> dict:
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
                                  sequences or sp.x.sequence is not None)  # fmt: skip
        if keep and not buckets and sp.stats.hashed:
            indexes[("x", sp.name)] = KeyIndex.of(sp.stats.x_keys)
            if sp.stats.with_targets:
                indexes[("xy", sp.name)] = KeyIndex.of(sp.stats.xy_keys)
            sp.stats.x_keys.parts, sp.stats.xy_keys.parts = [], []  # the index holds them now
    return indexes


def scan_one_split(sp, bins, opts: Opening, keep: bool = True, indexes: dict | None = None,
                   sequences: bool = False):  # fmt: skip
    """The split pass: hashes, classes, groups, histograms and the windows' timesteps -- in
    parts on the command's engine's workers (``--jobs``, ``--engine dask``) when the split can
    be cut into parts they open themselves (:func:`~dsdoctor.engine.splits.split_tasks`), the
    parts merged in row order; otherwise here."""
    from .engine import splits
    from .engine.splits import (
        ROLES,
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
    if record.get("operation") == "window" and isinstance(record.get("files"), dict):
        options = record.get("options") or {}
        name = record["files"].get("starts")
        length, rate = options.get("length"), options.get("sampling_rate", 1)
        if isinstance(name, str) and isinstance(length, int) and isinstance(rate, int):
            path = parse_source(h.source).path.with_name(name)
            if path.exists():
                starts = open_array(str(path))
                window, sp.series = (length, rate), str(record.get("source"))
    usable = bins
    if bins is not None and (h.ragged or h.dtype.kind not in "biuf"
                             or (bins.lo.size > 1 and h.shape[-1] != bins.lo.size)):  # fmt: skip
        usable = None
    sopts = SplitOptions(bins=usable, window=window, timestep_hashes=h.ndim >= 3 and window is None and sequences,
                         keep_keys=keep, indexes=indexes or {},
                         memory_bytes=splits.DEFAULT_HASH_MEMORY)  # fmt: skip
    y = sp.y.handle if sp.y is not None else None
    others = {role: s for role, s in zip(ROLES, (y, sp.group_source, starts), strict=True)
              if s is not None}  # fmt: skip
    engine = opts.executor()
    work = SplitWork(sopts, tuple(others), opts.chunk_bytes, elsewhere=engine.name == "dask")
    parts = engine.run(lambda workers: split_tasks(h, others, workers), scan_split_task, work,
                       f"hashing split {sp.name}")  # fmt: skip
    if parts is None:  # serial, or a split the workers cannot open in parts
        return scan_split(h, sopts, y, sp.group_source, starts, opts.chunk_bytes)
    return merge_parts(parts)
