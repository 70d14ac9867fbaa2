"""The Python API: one function per command. Functions return objects and never print."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .engine import Engine, Progress
from .engine.stats import ArrayStats, ScanOptions, scan_together
from .errors import SourceError, UnsafeInputError, UsageError
from .findings import Finding, Report
from .locations import Location, fetched_bytes, is_url
from .locations import storage_options as using_storage
from .sources import (
    DEFAULT_CHUNK_BYTES,
    DIALECT,
    ArrayHandle,
    Entry,
    open_array,
    open_source,
    parse_source,
)
from .units import format_shape, parse_shape, parse_size

if TYPE_CHECKING:  # the checks are imported by the functions that run them (fast `inspect`)
    from collections.abc import Iterable, Sequence

    from .checks import Check, Expectations, Subject
    from .engine.columns import ColumnFacts
    from .findings import RepairOutcome
    from .models import ModelFacts, TensorSpec

#: The one table of names that give an array a role, compared case-insensitively: a container
#: member by its name (``/train/x``), a file by its stem (``X_train.npy``). A name is one of these
#: words, alone or joined to a split word (``X_train``, ``y-test``, ``train_x``), or a split word
#: alone (``train.npz``), which names the split without a role.
X_NAMES = {"x", "inputs", "input", "features", "data", "samples"}
Y_NAMES = {"y", "targets", "target", "labels", "label"}
SPLIT_NAMES = {"train", "training", "test", "testing", "val", "valid", "validation", "dev", "eval",
               "holdout"}  # fmt: skip
_ROLE_NAME = re.compile(r"(?:(?P<before>[a-z]+)[_.-])?(?P<word>[a-z]+)(?:[_.-](?P<after>[a-z]+))?")


def role_of(name: str) -> tuple[str | None, str]:
    """The role (``"x"``, ``"y"`` or None) and the split (``""`` when none) a name gives:
    ``X_train`` → ("x", "train"), ``labels`` → ("y", ""), ``val`` → (None, "val")."""
    m = _ROLE_NAME.fullmatch(name.lower())
    if m is None:
        return None, ""
    before, word, after = m.group("before", "word", "after")
    if before is None and after is None and word in SPLIT_NAMES:
        return None, word
    role = "x" if word in X_NAMES else "y" if word in Y_NAMES else None
    if role is None and before is not None and after is None and before in X_NAMES | Y_NAMES:
        before, word, after = None, before, word  # x_train: the role word first
        role = "x" if word in X_NAMES else "y"
    split = before or after or ""
    if role is None or (before and after) or (split and split not in SPLIT_NAMES):
        return None, ""
    return role, split


@dataclass
class SourceOptions:
    """How sources are opened (the same for every source of one command)."""

    format: str | None = None
    target: str | None = None
    allow_pickle: bool = False
    follow_external: bool = False
    chunk_size: int | str = DEFAULT_CHUNK_BYTES
    jobs: int = 1
    engine: str | None = None
    scheduler: str | None = None
    #: Reports long scans' progress (the CLI's draws a bar); None: nothing is reported.
    progress: Progress | None = None
    #: How a CSV is written (None: sniffed from its head; :mod:`dsdoctor.sources.csv_dialect`).
    delimiter: str | None = None
    header: bool | None = None
    decimal: str | None = None
    #: A CSV's types are those of its first block until the scan that reads every row checks
    #: them (``check``: the file is parsed once; see :mod:`dsdoctor.sources.csv`).
    one_pass: bool = False
    #: ``KEY=VALUE`` strings (or a mapping) for the file system of URL sources
    #: (``--storage-option``; :mod:`dsdoctor.locations`): they travel to the engine's workers.
    storage_options: Any = None

    @property
    def chunk_bytes(self) -> int:
        return parse_size(self.chunk_size, what="--chunk-size")

    @property
    def reading(self) -> dict[str, Any]:
        """How every source is opened, as the keywords of ``open_source`` (picklable: the
        engine's workers open the sources again with them)."""
        return {"format": self.format, "allow_pickle": self.allow_pickle,
                "follow_external": self.follow_external, "storage_options": self.storage_options,
                **{k: getattr(self, k) for k in DIALECT}}  # fmt: skip

    def executor(self) -> Engine:
        return Engine.from_options(self.engine, self.jobs, self.scheduler, self.reading,
                                   self.progress)  # fmt: skip

    def open(self, text: str, *, target: str | None = None):
        return open_source(text, target=target, one_pass=self.one_pass, **self.reading)


def load(source, *, format: str | None = None, allow_pickle: bool = False,
         follow_external: bool = False, delimiter: str | None = None, header: bool | None = None,
         decimal: str | None = None, storage_options: Any = None) -> ArrayHandle:  # fmt: skip
    """A lazy handle on one array: ``load("train.h5:/x").shape``, ``.chunks()``, ``.read()``;
    ``load("s3://bucket/x.npy", storage_options={"anon": True})`` reads an object store's."""
    return open_array(source, format=format, allow_pickle=allow_pickle,
                      follow_external=follow_external, delimiter=delimiter, header=header,
                      decimal=decimal, storage_options=storage_options)  # fmt: skip


# -- inspect ------------------------------------------------------------------------------------
@dataclass
class InspectedEntry:
    entry: Entry
    stats: ArrayStats | None = None
    error: str | None = None
    #: a table column that is not an array: what reading it found (kind facts, nulls)
    column: ColumnFacts | None = None

    def to_dict(self) -> dict[str, Any]:
        e = self.entry
        out: dict[str, Any] = {"path": e.path, "kind": e.kind}
        if e.column_kind:
            out["column_kind"] = e.column_kind
        if e.note:
            out["note"] = e.note
        if self.column is not None:
            out["column"] = self.column.to_dict()
        if e.array is not None:
            out.update(e.array.describe())
            if e.array.unsafe:
                out["unsafe"] = e.array.unsafe
        if self.stats is not None:
            out["stats"] = self.stats.to_dict()
        if self.error:
            out["error"] = self.error
        return out


@dataclass
class Inspection:
    source: str
    format: str
    entries: list[InspectedEntry] = field(default_factory=list)
    #: How the file was read where that was decided (a CSV's delimiter, header, decimal mark).
    reading: str = ""
    #: What was not looked at, and why (a remote source's statistics when not asked for).
    notes: list[str] = field(default_factory=list)
    #: Bytes fetched from a remote source (a URL) by this process; None for a local file.
    bytes_fetched: int | None = None

    @property
    def errors(self) -> list[str]:
        return [e.error for e in self.entries if e.error]

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "format": self.format,
                **({"reading": self.reading} if self.reading else {}),
                **({"notes": self.notes} if self.notes else {}),
                **({"bytes_fetched": self.bytes_fetched} if self.bytes_fetched is not None else {}),
                "entries": [e.to_dict() for e in self.entries]}  # fmt: skip


def inspect(source: str, *, stats: bool | None = None, **options) -> Inspection:
    """Everything inside a source: tree, shapes, dtypes, layout, and one-pass stats — by default
    for a local file; a URL's object is not read whole unless ``stats=True`` (its structure
    alone is a few KiB fetched; the report names what was skipped and counts the bytes)."""
    opts = SourceOptions(**options)
    with using_storage(opts.storage_options):
        before = fetched_bytes()
        out = _inspect(source, stats, opts)
        if is_url(source):
            out.bytes_fetched = fetched_bytes() - before
    return out


def _inspect(source: str, stats: bool | None, opts: SourceOptions) -> Inspection:
    from .errors import SourceError

    spec = parse_source(source)
    remote = isinstance(spec.path, Location)
    src, selector = opts.open(source, target=opts.target).narrow(spec.selector)
    entries = (
        [Entry(a.name, "array", a) for a in [src.array(selector)]] if selector else src.entries()
    )
    out = Inspection(src.display, src.format, reading=src.reading())
    if stats is None:
        stats = not remote
        if remote:
            out.notes.append(
                "statistics not computed: the source is remote and they need all of its data "
                "fetched; pass --stats to read it"
            )
    scan_opts = ScanOptions(chunk_bytes=opts.chunk_bytes)
    engine = opts.executor()
    wanted = [e.array for e in entries if stats and e.array is not None and not e.array.skip
              and not e.array.unsafe]  # fmt: skip
    together = None
    columns: dict[str, ColumnFacts] = {}
    others = {e.path for e in entries if e.kind == "column"} if stats else set()
    if others and hasattr(src, "column_kinds") and engine.name != "dask":
        from .engine.tables import left_out, scan_table  # pyarrow: only for tables

        tallies = left_out(src, set(src.schema.names) - others, opts.chunk_bytes)
        try:  # the arrays and the other columns of a table in one pass
            each = [_own_padding(a, scan_opts) for a in wanted]
            together = scan_table(src, wanted, each, tallies, opts.chunk_bytes)  # type: ignore[arg-type]
            columns = {t.facts.name: t.result() for t in tallies}
        except SourceError:
            together = None
    elif len(wanted) > 1 and engine.name != "dask":
        try:  # a wide table's columns in one pass; an error is then located column by column
            together = scan_together(wanted, [_own_padding(a, scan_opts) for a in wanted])
        except SourceError:
            together = None
    found = dict(zip(map(id, wanted), together, strict=True)) if together is not None else {}
    if others and not columns:
        columns = _read_table_columns(src, entries, opts)
    for e in entries:
        item = InspectedEntry(e)
        a = e.array
        if stats and a is not None and not a.skip and not a.unsafe:
            try:
                item.stats = (found[id(a)] if id(a) in found
                              else engine.scan(a, _own_padding(a, scan_opts)))  # fmt: skip
            except SourceError as exc:
                item.error = str(exc)
        if e.kind == "column" and e.path in columns:
            item.column = columns[e.path]
            item.error = (
                item.column.error
                and f"{spec.display}:{e.path} cannot be decoded ({item.column.error})"
            )
        out.entries.append(item)
    return out


def _own_padding(h: ArrayHandle, opts: ScanOptions) -> ScanOptions:
    """``opts`` for the data of dsdoctor's own ``pad``/``bucket`` output: padded sequences, its
    padding left out of the per-feature facts (as ``check`` reads it); ``opts`` otherwise."""

    from .checks import Expectations, Subject

    known = sequence_facts(Subject(h.name, "array", h), Expectations())
    if known is None:
        return opts
    return replace(opts, sequences=True, mask_value=known["value"])


def _read_table_columns(src, entries: list[Entry], opts: SourceOptions) -> dict[str, ColumnFacts]:
    """The facts of a table's columns that are not arrays (categories, dates, an index, …), from
    one pass over those columns alone; {} for other sources."""
    wanted = {e.path for e in entries if e.kind == "column"}
    if not wanted or not hasattr(src, "column_kinds"):
        return {}
    from .engine.tables import left_out, read_columns  # pyarrow: only for tables

    tallies = left_out(src, set(src.schema.names) - wanted, opts.chunk_bytes)
    return {f.name: f for f in read_columns(src, tallies, opts.chunk_bytes)}


# -- check --------------------------------------------------------------------------------------
def expectations(*, input_shape=None, features=None, timesteps=None, classes=None, batch_size=None,
                 memory=None, mask_value=None, vocab_size=None) -> Expectations:  # fmt: skip
    """Validate and normalise the model expectations (strings as the CLI takes them)."""
    from .checks import Expectations

    if isinstance(input_shape, str):
        input_shape = parse_shape(input_shape)
    for name, value in (("features", features), ("timesteps", timesteps), ("classes", classes),
                        ("batch_size", batch_size), ("vocab_size", vocab_size)):  # fmt: skip
        if value is not None and value < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    if memory is not None:
        memory = parse_size(memory, what="--memory")
    if input_shape is not None and features is not None and input_shape[-1] not in (None, features):
        raise UsageError(
            f"--features {features} contradicts --input-shape, whose last axis is {input_shape[-1]}"
        )
    return Expectations(tuple(input_shape) if input_shape is not None else None, features, timesteps,
                        classes, batch_size, memory, mask_value, vocab_size)  # fmt: skip


def check(
    *sources,
    x=None,
    y=None,
    input_shape=None,
    features: int | None = None,
    timesteps: int | None = None,
    classes: int | None = None,
    batch_size: int | None = None,
    memory: int | str | None = None,
    mask_value: float | None = None,
    vocab_size: int | None = None,
    model=None,
    select: list[str] | None = None,
    ignore: list[str] | None = None,
    format: str | None = None,
    target: str | None = None,
    allow_pickle: bool = False,
    follow_external: bool = False,
    chunk_size: int | str = DEFAULT_CHUNK_BYTES,
    jobs: int = 1,
    engine: str | None = None,
    scheduler: str | None = None,
    spec=None,
    each: bool = False,
    progress: Progress | None = None,
    delimiter: str | None = None,
    header: bool | None = None,
    decimal: str | None = None,
    storage_options: Any = None,
    split: Sequence[str] | None = None,
    group: str | None = None,
    psi_threshold: float | None = None,
    js_threshold: float | None = None,
    baseline: str | os.PathLike | None = None,
    task: str | None = None,
) -> Report:
    """Run every check on the given arrays and return a :class:`Report`.

    ``x``/``y`` are sources (``"train.h5:/x"``) or in-memory arrays, and ``x`` a list of sources
    for a model of several inputs (each checked against the input named like it, else in
    order; one container of several arrays is matched the same way); positional ``sources`` are
    checked whole (every array inside a container). Sources given together are one dataset: they
    must agree on the sample axis, and files or members named like inputs and targets (``x.npy``
    and ``y.npy``, ``X_test`` and ``y_test``) are paired; ``each=True`` checks every source on its
    own. ``model`` is a model file (``model.keras``, ``model.onnx`` …) whose inputs and outputs
    are the expectations the options above do not give (:func:`model_expectations`). ``progress``: a callback that long scans report to (:mod:`dsdoctor.engine.progress`;
    nothing by default). ``spec`` is a spec file (``dsdoctor.toml``), or ``True`` to find one from the working
    directory upward; its ``[check]`` options are defaults that keyword arguments override. The
    keyword names are the CLI's option names. ``storage_options`` (``KEY=VALUE`` strings or a
    mapping) are those of URL sources' file systems (:mod:`dsdoctor.locations`); the report
    then counts the bytes fetched (``bytes_fetched``). ``split``: ``["train=DATA", "val=DATA",
    …]``, the splits of one dataset, the one named ``train`` (else the first) the training split (:func:`parse_split`): every check runs
    on each split and the split checks across them (``group``: the column or member holding
    each sample's group; the drift thresholds ``psi_threshold`` and ``js_threshold``;
    ``baseline``: a report of ``check --split … --json`` from an earlier run, whose training
    split every split's drift is also measured against; ``task``: ``"classification"`` or
    ``"regression"``, what the targets are for the split checks, by default decided from them:
    :func:`dsdoctor.checks.splits.target_labels`).
    """
    with using_storage(storage_options):
        before = fetched_bytes()
        report = _check_given(sources, x, y, input_shape, features, timesteps, classes, batch_size,
                              memory, mask_value, vocab_size, model, select, ignore, format,
                              target, allow_pickle, follow_external, chunk_size, jobs, engine,
                              scheduler, spec, each, progress, delimiter, header, decimal,
                              storage_options, split, group, psi_threshold, js_threshold,
                              baseline, task)  # fmt: skip
        from .sources import folder_not_read

        report.not_read = [{"source": str(s), **e} for s in sources if isinstance(s, str | os.PathLike)
                           for e in folder_not_read(os.fspath(s))]  # fmt: skip
        xs = x if isinstance(x, list | tuple) else [x]
        if any(is_url(s) for s in (*sources, *xs, y, *(split or ()))):
            report.bytes_fetched = fetched_bytes() - before
    return report


def _check_given(sources, x, y, input_shape, features, timesteps, classes, batch_size, memory,
                 mask_value, vocab_size, model, select, ignore, format, target, allow_pickle,
                 follow_external, chunk_size, jobs, engine, scheduler, spec, each, progress,
                 delimiter, header, decimal, storage_options, split, group, psi_threshold,
                 js_threshold, baseline, task=None) -> Report:  # fmt: skip
    """:func:`check` with the storage options in force."""
    from .checks import resolve_codes
    from .sources.base import TypesChanged

    given = {"input_shape": input_shape, "features": features, "timesteps": timesteps, "classes": classes,
             "batch_size": batch_size, "memory": memory, "mask_value": mask_value,
             "vocab_size": vocab_size, "model": model, "select": select,
             "ignore": ignore, "chunk_size": chunk_size, "psi_threshold": psi_threshold,
             "js_threshold": js_threshold}  # fmt: skip
    contract = _load_spec(spec)
    if contract is not None:
        for key, value in contract.options.items():
            if key in given and given[key] in (None, DEFAULT_CHUNK_BYTES):
                given[key] = value
        given.update(_spec_expectations(contract, given))
    facts = read_model(given["model"]) if given["model"] is not None else None
    mapped: dict[str, Any] = {}
    if facts is not None:
        mapped = model_expectations(facts, given, x=x)
        given.update(mapped.pop("values"))
    expect = expectations(**{k: given[k] for k in ("input_shape", "features", "timesteps", "classes",
                                                   "batch_size", "memory", "mask_value",
                                                   "vocab_size")})  # fmt: skip
    if facts is not None:
        expect = replace(expect, model=facts, **mapped)
    chosen, skipped = (
        resolve_codes(_listify(given["select"])),
        resolve_codes(_listify(given["ignore"])),
    )
    opts = SourceOptions(format, target, allow_pickle, follow_external, given["chunk_size"], jobs,
                         engine, scheduler, progress, delimiter, header, decimal, one_pass=True,
                         storage_options=storage_options)  # fmt: skip
    if split and (sources or x is not None or y is not None):
        raise UsageError(
            "give the data either as --split NAME=DATA or as sources/--x/--y, not both"
        )
    found = (
        None if split or x is not None or y is not None or each else _found_splits(sources, opts)
    )
    named = contract.split_sources() if contract is not None and contract.splits else []
    if split or found is not None or (named and not sources and x is None and y is None):
        if contract is not None:  # [splits]: thresholds, target and group the options do not give
            for key in ("psi_threshold", "js_threshold"):
                if given[key] is None:
                    given[key] = contract.split_options.get(key)
            opts.target = opts.target or contract.split_options.get("target")
            group = group or contract.split_options.get("group")
            task = task or contract.split_options.get("task")
        from .checks.splits import JS_THRESHOLD, PSI_THRESHOLD, TASKS

        if task is not None and task not in TASKS:
            raise UsageError(f"--task is one of {', '.join(TASKS)}, got {task!r}")

        thresholds = (given["psi_threshold"] if given["psi_threshold"] is not None else PSI_THRESHOLD,
                      given["js_threshold"] if given["js_threshold"] is not None else JS_THRESHOLD)  # fmt: skip
        parsed = (parse_split(split, alone=baseline is not None) if split
                  else found[0] if found is not None else named)  # fmt: skip
        _splits_exist(parsed, "--split {}" if split or found is not None
                      else f"{contract.path}: splits.{{}}.source")  # fmt: skip
        unlabelled = _unlabelled(parsed, opts) if split and opts.target is not None else None
        if unlabelled is not None:  # --split test=test.csv without the --target column
            parsed, opts.target = unlabelled[0], None
        try:
            try:
                report = _check_splits(parsed, group, thresholds, opts, expect, chosen, skipped,
                                       baseline, task)  # fmt: skip
            except TypesChanged:  # a CSV's first block did not tell its types: read them first
                opts.one_pass = False
                report = _check_splits(parsed, group, thresholds, opts, expect, chosen, skipped,
                                       baseline, task)  # fmt: skip
        except UsageError as exc:
            if found is None or group is not None or baseline is not None or task is not None:
                raise  # the options that need splits are not dropped in silence
            # splits found in a source that cannot be compared as x/y (text, several inputs):
            # the source is checked as before, and the report says why they were not compared
            opts.target = target
            report = _check_plain(sources, x, y, opts, expect, contract, chosen, skipped, each)
            report.splits = {"train": parsed[0][0], "group": None, "splits": {}, "bins": None,
                             "found": found[1], "not_compared": str(exc),
                             "drift_not_judged": [], "timesteps_not_compared": []}  # fmt: skip
            return report
        if report.splits is not None:
            report.splits["thresholds"] = {"psi": thresholds[0], "js": thresholds[1]}
            report.splits["sources"] = {name: [xs, ys] for name, xs, ys in parsed}
            if found is not None:
                report.splits["found"] = found[1]
        if contract is not None:
            _check_split_spec(report, contract, opts, expect, chosen, skipped)
        return report
    if group is not None or baseline is not None or task is not None:
        what = "--group compares the splits' groups" if group is not None else (
            "--baseline compares splits with a stored report's training split" if baseline is not None
            else "--task says what the targets are for the split checks")  # fmt: skip
        raise UsageError(f"{what}: give the splits with --split NAME=DATA")
    return _check_plain(sources, x, y, opts, expect, contract, chosen, skipped, each)


def _check_plain(sources, x, y, opts: SourceOptions, expect: Expectations, contract, chosen,
                 skipped, each: bool) -> Report:  # fmt: skip
    """:func:`_check`, again with every type read first when a CSV's first block did not tell
    them."""
    from .sources.base import TypesChanged

    try:
        return _check(sources, x, y, opts, expect, contract, chosen, skipped, each)
    except TypesChanged:
        opts.one_pass = False
        return _check(sources, x, y, opts, expect, contract, chosen, skipped, each)


def _check(sources, x, y, opts: SourceOptions, expect: Expectations, contract, chosen, skipped,
           each: bool, keep: list | None = None, prefix: str = "") -> Report:  # fmt: skip
    """:func:`check` once its options are resolved: gather the subjects, scan them (a CSV opened
    ``one_pass`` is parsed once, by that scan, which counts its rows: nothing before it asks how
    many there are), run the checks."""
    from .checks import Context, run_checks

    executor = opts.executor()
    gathered = _subjects(sources, x, y, opts, each=each, model=expect.model)
    subjects, pairs = gathered.subjects, gathered.pairs
    if contract is not None:
        more, more_pairs = _spec_subjects(contract, opts)
        subjects, pairs = subjects + more, pairs + more_pairs
    if not subjects and sources:
        from .errors import SourceError

        names = ", ".join(str(s) for s in sources)
        raise SourceError(
            f"{names}: no numeric arrays to check{_column_kinds(sources, opts)} "
            "(`dsdoctor inspect` shows what is inside)"
        )
    if not subjects:
        raise UsageError(
            "nothing to check: give sources, or --x/--y, or a spec file (dsdoctor.toml)"
        )
    targets_note = _roles_from_model(expect.model, subjects, pairs)
    expect = _classes_from_labels(expect, subjects)
    _by_order(expect.model, Context(subjects, expect).inputs())
    for s in subjects if prefix else ():  # check --split: "train:x", in messages too
        s.name = prefix + s.name
    whole, expect = expect, _one_input_per_array(expect, subjects)
    for s in subjects:
        s.sequence = sequence_facts(s, expect)
    columns = _scan_all(subjects, expect, opts, executor)
    ctx = Context(subjects, expect, pairs, contract, columns, together=gathered.together)
    findings: list[Finding] = list(run_checks(ctx, chosen, skipped))
    if keep is not None:  # check --split: the context, for the checks across the splits
        keep.append(ctx)
    if whole is not expect:  # each array against the model input named like it
        for s, e in _inputs_by_name(whole, ctx.inputs()):
            codes = set(SHAPE_CODES) if chosen is None else set(SHAPE_CODES) & chosen
            findings += run_checks(Context([s], e), codes, skipped)
    arrays = {s.name: {**s.handle.describe(), "role": s.role,
                       **({"stats": s.stats.to_dict()} if s.stats else {}),
                       **({"provenance": s.handle.provenance} if s.handle.provenance else {}),
                       **({"not_analysed": note} if (note := not_analysed(s)) else {}),
                       **({"sequences": s.sequence} if s.sequence else {}),
                       **({"unsafe": s.handle.unsafe} if s.handle.unsafe else {})}
              for s in subjects}  # fmt: skip
    from .checks.fixes import distinct_outputs

    distinct_outputs(findings)
    summary = model_summary(expect, subjects)
    if summary is not None and targets_note:
        summary["notes"].append(targets_note)
    return Report(__version__, arrays, findings, gathered.datasets, [c.to_dict() for c in columns],
                  model=summary)  # fmt: skip


# -- splits (check --split) ------------------------------------------------------------------------
_SPLIT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*\Z")


def parse_split(texts: Sequence[str], *, alone: bool = False) -> list[tuple[str, str, str | None]]:
    """``--split`` values → ``(name, x, y)``: ``NAME=SOURCE`` (a table with ``--target``, or a
    file whose arrays pair up as x and y by their names, or one array of inputs) or
    ``NAME=X_SOURCE,Y_SOURCE`` (inputs, then targets). The names are distinct; the split named
    ``train`` (or ``training``), else the first, is the training split
    (:func:`dsdoctor.splitcheck.check_splits`). ``alone``: one split is enough (compared with a
    baseline)."""
    out: list[tuple[str, str, str | None]] = []
    for text in texts:
        name, eq, data = text.partition("=")
        if not eq or not _SPLIT_NAME.match(name):
            raise UsageError(
                f"--split takes NAME=DATA (train=train.parquet, val=x_val.npy,y_val.npy), got {text!r}"
            )
        if not data:
            raise UsageError(
                f"--split {name}= names no data: give {name}=PATH or {name}=X_PATH,Y_PATH"
            )
        if any(name == n for n, _, _ in out):
            raise UsageError(f"--split {name} is given twice; each split needs its own name")
        xs, ys = _split_data(name, data)
        out.append((name, xs, ys))
    if len(out) < 2 and not alone:
        raise UsageError(
            "--split compares splits: give at least two (--split train=… --split val=…), or one "
            "and --baseline REPORT.json"
        )
    return out


def _check_split_spec(report: Report, contract, opts: SourceOptions, expect: Expectations,
                      chosen, skipped) -> None:  # fmt: skip
    """The splits against the spec's ``[splits.NAME]`` facts (``split-spec-violation``), and the
    spec's ``[arrays]`` (``spec-violation``), which the split pass does not read."""
    from .checks import Context, run_checks
    from .spec import split_facts

    codes = {"DS602"} if chosen is None else {"DS602"} & chosen
    if contract.splits and codes:
        measured = split_facts(report)
        report.findings += run_checks(Context([], expect, spec=contract, splits=measured), codes,
                                      skipped)  # fmt: skip
    codes = {"DS601"} if chosen is None else {"DS601"} & chosen
    if contract.arrays and codes:
        arrays = _check((), None, None, opts, expect, contract, codes, skipped, False)
        report.findings += arrays.findings
    report.findings.sort(key=lambda f: (-f.severity.rank, f.code, f.arrays))


def _split_data(name: str, data: str) -> tuple[str, str | None]:
    """One ``--split`` value as (inputs, targets or None): ``X_PATH,Y_PATH`` where the part after
    a comma is a source of its own (a file that exists, or a URL), or where the part before it
    has no selector (``x.npy,y.npy``, even when one is missing: opening it names the split);
    else the commas are the selector's (``hf:train:a,b``, the columns a and b of one split)."""
    parts = data.split(",")
    if not all(parts):
        raise UsageError(f"--split {name}={data}: give one source or two (X_PATH,Y_PATH)")
    if len(parts) == 1:
        return data, None
    for i in range(1, len(parts)):
        head, tail = ",".join(parts[:i]), ",".join(parts[i:])
        if i > 1 and not _has_selector(parts[0]):
            break  # a, b, c of no selector: not two sources
        if is_url(tail) or os.path.exists(tail.split(":", 1)[0]) or os.path.exists(tail):
            return head, tail
    if len(parts) == 2 and not _has_selector(parts[0]):
        return parts[0], parts[1]
    if _has_selector(parts[0]):
        return data, None
    raise UsageError(f"--split {name}={data}: give one source or two (X_PATH,Y_PATH)")


def _has_selector(text: str) -> bool:
    """``text`` is ``PATH:SELECTOR`` with a path that exists (or a URL with a selector)."""
    from .errors import SourceError

    if is_url(text):
        return text.count(":") > 1
    try:
        return parse_source(text).selector is not None
    except SourceError:
        return False


def _splits_exist(parsed, said: str = "--split {}") -> None:
    """Refuse (exit 2) a split whose local source does not exist, naming the split (``said``:
    where it was given, ``--split NAME``) and the path, or a ``DatasetDict`` folder given whole
    (a split is one of its splits), before any split is read."""
    from pathlib import Path

    from .errors import SourceError

    for name, xs, ys in parsed:
        for text in (xs, ys):
            if text is None or is_url(text):
                continue
            try:
                spec = parse_source(text)
            except SourceError as exc:
                raise SourceError(
                    f"{said.format(name)}: {exc} (check the path of split {name})"
                ) from None
            where = spec.path
            if (
                spec.selector is None
                and isinstance(where, Path)
                and (where / DATASET_DICT).is_file()
            ):
                from .sources.hf import DatasetDictSource  # pyarrow: only for such a folder

                held = ", ".join(DatasetDictSource(where, spec.display).splits)
                raise UsageError(f"{said.format(name)}: {spec.display} is a Hugging Face DatasetDict "
                                 f"of the splits {held}: give one, as {name}={spec.display}:SPLIT")  # fmt: skip


#: The file that makes a folder a Hugging Face ``DatasetDict`` (``sources.hf.DICT_FILE``, named
#: here so that telling one needs no pyarrow).
DATASET_DICT = "dataset_dict.json"

#: The training split of splits found in a source (a Hugging Face ``DatasetDict``, a folder of
#: split files): the first named one of these, else the first listed.
TRAIN_NAMES = ("train", "training")


def _training_first(names: list[str]) -> tuple[list[str], str]:
    """The split names with the training split first, and how it was chosen."""
    named = next((n for n in names if n.lower() in TRAIN_NAMES), None)
    if named is not None:
        return [named] + [n for n in names if n != named], f"the split named {named}"
    return list(names), f"no split is named {' or '.join(TRAIN_NAMES)}: the first listed"


def _found_splits(sources, opts: SourceOptions):
    """The splits one source holds, as ``--split`` would name them, and the note that says where
    they were found and which is the training split; None when it holds no splits to compare.

    - a Hugging Face ``DatasetDict`` folder (no split selected) with two or more splits: each
      split (``FOLDER:SPLIT``), in ``dataset_dict.json``'s order;
    - a local folder whose every data file is named by a split (:func:`role_of`: ``train.parquet``,
      ``val.parquet``; ``x_train.npy`` and ``y_train.npy``; ``test.npz``) with two or more splits:
      each split's table or container, or its x and y files (in the folder's sorted order).
    """
    if len(sources) != 1 or not isinstance(sources[0], str | os.PathLike):
        return None
    text = os.fspath(sources[0])
    from .errors import DsdoctorError, SourceError
    from .formats import read_by_name

    remote = is_url(text)
    if remote and read_by_name(text.rstrip("/").rsplit("/", 1)[-1]) is not None:
        return None  # a file's URL (only a folder's may hold splits)
    try:
        spec = parse_source(text)
    except SourceError:
        return None  # opening it says why
    if spec.selector is not None:
        return None
    if remote or os.path.isfile(os.path.join(text, DATASET_DICT)):
        from .sources.hf import DatasetDictSource  # pyarrow: only for such a folder

        try:  # a URL of no file's name may be a folder: opened to tell (without --target)
            src = opts.open(text)
        except DsdoctorError:
            src = None  # checking it says why
        if isinstance(src, DatasetDictSource) and len(src.splits) > 1:
            names, how = _training_first(list(src.splits))
            parsed = [(n, f"{text}:{n}", None) for n in names]
            return parsed, (f"{spec.display} holds the splits {', '.join(src.splits)} "
                            f"(dataset_dict.json); the training split is {names[0]} ({how})")  # fmt: skip
        return None
    if not os.path.isdir(text):
        return None
    found = _split_files(text, spec.display)
    if found is None or opts.target is None:
        return found
    unlabelled = _unlabelled(found[0], opts)
    if unlabelled is None:
        return found
    opts.target = None  # each split names its columns and its target itself
    return unlabelled[0], f"{found[1]}; {unlabelled[1]}"


def _unlabelled(parsed, opts: SourceOptions):
    """Table splits of which some have no ``--target`` column (a test file without labels, the
    way Kaggle ships one): each labelled split as ``FILE:INPUTS`` and ``FILE:TARGET``, the
    others as their inputs alone, and the note that says so. None when every split has the
    column, the training split has none, or the inputs cannot be named as one selector."""
    from .sources.table import TableSource

    target = opts.target
    tables = {}
    for name, xs, ys in parsed:
        if ys is not None or parse_source(xs).selector:
            return None
        src = opts.open(xs)
        if not isinstance(src, TableSource):
            return None
        tables[name] = src
    lacking = [n for n, t in tables.items() if target not in t.schema.names]
    if not lacking or parsed[0][0] in lacking:
        return None
    out: list[tuple[str, str, str | None]] = []
    for name, xs, _ in parsed:
        if name in lacking:
            out.append((name, xs, None))
            continue
        tables[name].target = target
        arrays = tables[name].arrays()
        cols = list(getattr(arrays[0], "columns", None) or []) if len(arrays) == 1 else []
        if not cols or any("," in c or ":" in c for c in cols):
            return None
        out.append((name, f"{xs}:{','.join(cols)}", f"{xs}:{target}"))
    return out, (f"{', '.join(lacking)} {'has' if len(lacking) == 1 else 'have'} no column "
                 f"{target}: compared by inputs alone")  # fmt: skip


def _split_files(folder: str, display: str):
    """:func:`_found_splits` of a folder of split files."""
    from .formats import read_by_name

    files = sorted(f for f in os.listdir(folder) if not f.startswith((".", "_"))
                   and os.path.isfile(os.path.join(folder, f)) and read_by_name(f))  # fmt: skip
    by_split: dict[str, dict[str | None, list[str]]] = {}
    for f in files:
        role, split = role_of(_stem(f))
        if not split:
            return None  # a file of no split: the folder is read as it always was
        by_split.setdefault(split, {}).setdefault(role, []).append(os.path.join(folder, f))
    if len(by_split) < 2:
        return None
    parsed: list[tuple[str, str, str | None]] = []
    for split, roles in by_split.items():
        if set(roles) == {None} and len(roles[None]) == 1:
            parsed.append((split, roles[None][0], None))
        elif (
            set(roles) <= {"x", "y"}
            and len(roles.get("x", ())) == 1
            and len(roles.get("y", ())) <= 1
        ):
            ys = roles.get("y")
            parsed.append((split, roles["x"][0], ys[0] if ys else None))
        else:
            return None  # two tables of one split, or targets with no inputs: not guessed
    names, how = _training_first([p[0] for p in parsed])
    parsed.sort(key=lambda p: names.index(p[0]))
    listed = ", ".join(f"{n} ({', '.join(os.path.basename(v) for v in (x, y) if v)})"
                       for n, x, y in parsed)  # fmt: skip
    return parsed, (
        f"{display} holds the splits {listed} (named by their files); the training "
        f"split is {names[0]} ({how})"
    )


def _check_splits(parsed, group: str | None, thresholds: tuple[float, float], opts: SourceOptions,
                  expect: Expectations, chosen, skipped, baseline=None, task=None) -> Report:  # fmt: skip
    """``check --split``: :func:`dsdoctor.splitcheck.check_splits`, each split checked by
    :func:`_check` (its arrays named ``SPLIT:NAME``)."""
    from .splitcheck import check_splits

    def check_one(name: str, xs: str, ys: str | None, codes: set[str]) -> tuple[Report, Any]:
        keep: list = []
        sources = (xs,) if ys is None else ()
        x, y = (None, None) if ys is None else (xs, ys)
        try:
            report = _check(
                sources, x, y, opts, expect, None, codes, skipped, False, keep, f"{name}:"
            )
        except SourceError as exc:  # which split it was (the folder of several names none)
            if f"split {name}" in str(exc) or type(exc) not in (SourceError, UnsafeInputError):
                raise
            raise type(exc)(f"split {name}: {exc}") from None
        return report, keep[0]

    return check_splits(
        parsed, group, thresholds, opts, expect, chosen, skipped, baseline, check_one, task
    )


# -- the model as the expectation ----------------------------------------------------------------
#: The expectations a model file gives, with the option that overrides each.
MODEL_FACTS = ("input_shape", "classes", "mask_value", "vocab_size")


def read_model(path) -> ModelFacts:
    """The facts a model file declares (:func:`dsdoctor.models.read_model`): ``inspect MODEL``."""
    from .models import read_model as read

    return read(path)


def is_model(source) -> bool:
    """Whether ``source`` names a model file (``inspect`` shows its facts, not its arrays): by
    its name, and for ``.h5`` by the root ``model_config`` attribute Keras writes; a folder
    holding ``MLmodel`` or a Hugging Face model's weights (:func:`models.base.model_in_folder`)."""
    from pathlib import Path

    from .errors import SourceError
    from .models.base import model_format, model_in_folder

    if not isinstance(source, str | os.PathLike):
        return False
    p = Path(source)
    if p.is_dir():
        return model_in_folder(p) is not None
    try:
        fmt = model_format(p)
    except SourceError:
        return False
    if not p.is_file():
        return False
    if fmt.name == "keras-h5":
        from .models.keras import is_keras_h5

        return is_keras_h5(p)
    return True


def model_expectations(facts: ModelFacts, given: dict, *, x=None) -> dict[str, Any]:
    """The expectations ``facts`` give for what ``given`` leaves open: ``{"values": {option:
    value}, "origin": {fact: "model" | option}, "model_input": name, "target_form": …,
    "output_units": …}``. A hand-given option (or a spec's) wins, and the override is said in
    ``origin`` ("--features 4 overrides model.keras input `x`: 3")."""
    from pathlib import Path

    from .models.base import batch_axis

    name = Path(facts.path).name
    chosen = _model_input(facts, x)
    read: dict[str, Any] = {}
    where: dict[str, str] = {}
    if (chosen is not None and chosen.shape is not None and len(chosen.shape) >= 1
            and batch_axis(chosen.shape) == 0):  # fmt: skip
        read["input_shape"] = tuple(d if isinstance(d, int) else None for d in chosen.shape[1:])
        where["input_shape"] = f"input `{chosen.name}`"
    classes = model_classes(facts)
    if classes is not None:
        read["classes"] = classes
        where["classes"] = facts.where.get("output_units", "output")
    if facts.mask_value is not None:
        read["mask_value"] = facts.mask_value
        where["mask_value"] = facts.where.get("mask_value", "mask")
    if facts.vocab_size is not None:
        read["vocab_size"] = facts.vocab_size
        where["vocab_size"] = facts.where.get("vocab_size", "embedding")
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for fact, value in read.items():
        hand = [k for k in ((fact, "features", "timesteps") if fact == "input_shape" else (fact,))
                if given.get(k) is not None]  # fmt: skip
        if hand:
            for k in hand:
                flag = f"--{k.replace('_', '-')}"
                shown = format_shape((None, *value)) if fact == "input_shape" else f"{value:g}"
                origin[k] = f"{flag} {given[k]} overrides {name} {where[fact]}: {shown}"
            if fact == "input_shape" and "input_shape" not in hand:
                if _agrees(value, given):
                    values["input_shape"] = value
                    origin.update(dict.fromkeys(("input_shape", *_shape_facts(value)), "model"))
                elif given.get("timesteps") is None and len(value) == 2 and value[0] is not None:
                    values["timesteps"] = value[0]  # the time axis still holds
                    origin["timesteps"] = "model"
            continue
        values[fact] = value
        origin[fact] = "model"
        if fact == "input_shape":
            origin.update(dict.fromkeys(_shape_facts(value), "model"))
    shape = values.get("input_shape")
    floats = chosen is not None and (chosen.dtype or "").startswith(("float", "bfloat"))
    if (shape is not None and len(shape) == 1 and isinstance(shape[0], int)
            and given.get("timesteps") is None
            and (facts.vocab_size is not None or (facts.recurrent and not floats))):  # fmt: skip
        values["timesteps"] = shape[0]  # (batch, T) token ids: the one axis is time
        origin["timesteps"] = "model"
    loss = facts.loss or ""
    form = ("sparse" if loss.startswith("sparse_") else
            "one-hot" if loss in ("categorical_crossentropy", "CategoricalCrossentropy",
                                  "categorical_focal_crossentropy") else None)  # fmt: skip
    if facts.max_positions is not None:
        origin["max_length"] = "model"
    return {"values": values, "origin": origin, "model_input": chosen.name if chosen else None,
            "target_form": form, "output_units": facts.output_units,
            "max_length": facts.max_positions}  # fmt: skip


def _roles_from_model(
    facts: ModelFacts | None, subjects: list[Subject], pairs: list[tuple[Subject, Subject]]
) -> str | None:
    """Positional arrays (no ``--x``/``--y``, none named like inputs or targets by itself)
    checked with a model: those named like the model's inputs are its inputs, and the one array
    left is its targets when it is named like targets (``y``, ``labels``) or shaped like the
    model's output ((N,) labels, (N, units) rows); it pairs with each input. Sets the roles and
    ``pairs``; returns the note the report adds (None when nothing was decided)."""
    if facts is None or any(s.role in ("x", "y") for s in subjects):
        return None
    plain = [s for s in subjects if s.role == "array" and not s.handle.skip]
    if len(plain) < 2:
        return None
    xs = [s for s in plain if _input_of(facts, s) is not None]
    rest = [s for s in plain if s not in xs]
    if not xs and len(facts.inputs) == 1 and len(plain) == 2:  # one input: the other array
        named = [s for s in plain if _role_by_name(s) == "y"]
        xs = [s for s in plain if s not in named] if len(named) == 1 else []
        rest = named
    if not xs or len(rest) != 1:
        return None
    y, h = rest[0], rest[0].handle
    by_name = _role_by_name(y) == "y"
    units = facts.output_units
    shaped = (h.ndim == 1 or (h.ndim == 2 and h.shape[1] in (1, units))) and (
        h.dtype.kind in "iub" or (h.ndim == 2 and h.shape[1] == units and units not in (None, 1))
    )
    if not (by_name or shaped):
        return None
    for s in xs:
        s.role = "x"
        pairs.append((s, y))
    y.role = "y"
    why = "named like targets" if by_name else "shaped like the model's targets"
    return (f"{y.name} is checked as the targets ({why}); "
            + ", ".join(s.name for s in xs) + " as the inputs (named like them)")  # fmt: skip


def _role_by_name(s: Subject) -> str | None:
    spec = parse_source(s.handle.source) if isinstance(s.handle.source, str) else None
    name = s.handle.name if spec is None or spec.selector else _stem(spec.path.name)
    return role_of(name.rpartition("/")[2])[0]


def _one_input_per_array(expect: Expectations, subjects: list[Subject]) -> Expectations:
    """A model of several inputs checked with several input arrays: one input's shape is not
    every array's, so the shapes are left unchecked (and the report says so) rather than
    compared with the wrong input. Give ``--x`` named like the input to check one."""
    from .checks import Context

    facts = expect.model
    if facts is None or len(facts.inputs) < 2 or len(Context(subjects, expect).inputs()) < 2:
        return expect
    shape_facts = ("input_shape", "features", "timesteps")
    origin = {k: v for k, v in expect.origin.items() if not (k in shape_facts and v == "model")}
    cleared = {k: None for k in shape_facts if expect.origin.get(k) == "model"}
    return replace(expect, origin=origin, model_input=None, **cleared)


#: The checks of an input's shape and dtype, run per array when a model has several inputs.
SHAPE_CODES = ("DS201", "DS202", "DS203", "DS204", "DS406")


def _inputs_by_name(
    whole: Expectations, inputs: list[Subject]
) -> list[tuple[Subject, Expectations]]:
    """Each input array named like one of the model's inputs (its file stem or member name),
    with the expectations of that input's shape."""
    from .models.base import batch_axis

    facts = whole.model
    if facts is None:
        return []
    shape_facts = ("input_shape", "features", "timesteps")
    if any(whole.origin.get(k, "model") != "model" for k in shape_facts if k in whole.origin):
        return []  # shapes given by hand: they are the expectation
    out = []
    for s in inputs:
        match = _input_of(facts, s)
        if match is None or match.shape is None or batch_axis(match.shape) != 0:
            continue  # a batch axis not first (the model notes it): not checked
        shape = tuple(d if isinstance(d, int) else None for d in match.shape[1:])
        # (batch, T) is a time axis for token ids, or for the one input of a recurrent model
        ids = facts.vocab_size is not None and (match.dtype or "int").startswith(("int", "uint"))
        floats = (match.dtype or "").startswith(("float", "bfloat"))  # features, not token ids
        token_axis = (len(shape) == 1 and isinstance(shape[0], int)
                      and (ids or (facts.recurrent and len(facts.inputs) == 1 and not floats)))  # fmt: skip
        origin = {k: v for k, v in whole.origin.items() if k not in shape_facts}
        origin.update(dict.fromkeys(("input_shape", *_shape_facts(shape)), "model"))
        if token_axis:
            origin["timesteps"] = "model"
        out.append((s, replace(whole, input_shape=shape, features=None,
                               timesteps=shape[0] if token_axis else None,
                               model_input=match.name, origin=origin)))  # fmt: skip
    return out


def _by_order(facts: ModelFacts | None, inputs: list[Subject]) -> None:
    """Input arrays not named like an input of a model of several inputs, as many as the inputs
    no array is named like (a scalar input such as a sample rate left out): the first such array
    is the first such input, and so on (``Subject.model_input``; the report says "by order")."""
    if facts is None or len(facts.inputs) < 2:
        return
    taken = {spec.name for s in inputs if (spec := _input_of(facts, s)) is not None}
    rest = [s for s in inputs if _input_of(facts, s) is None]
    left = [i for i in facts.inputs if i.name not in taken]
    if len(rest) != len(left):
        left = [i for i in left if i.shape != ()]
    if not rest or len(rest) != len(left):
        return
    for s, spec in zip(rest, left, strict=True):
        s.model_input = spec.name


def _input_of(facts: ModelFacts, s: Subject) -> TensorSpec | None:
    """The input of ``facts`` the array ``s`` is matched to: the one it was matched to by order
    (:func:`_inputs_of_container`), else the one named like its file stem or member name."""
    if s.model_input is not None:
        return next((i for i in facts.inputs if i.name == s.model_input), None)
    spec = parse_source(s.handle.source) if isinstance(s.handle.source, str) else None
    stem = _stem(spec.path.name) if spec else None
    names = {s.name, stem, spec.selector.strip("/").rsplit("/", 1)[-1] if spec and spec.selector else None}  # fmt: skip
    found = next((i for i in facts.inputs if i.name in names), None)
    if found is None and stem and "." in stem:  # a repair's output: meta.selected.npy is meta
        found = next((i for i in facts.inputs if i.name == stem.split(".", 1)[0]), None)
    return found


def _shape_facts(shape: tuple) -> tuple[str, ...]:
    """The facts an input shape (without the batch axis) gives beside itself: the feature width
    of (F,) and (T, F), the timesteps of (T, F); an image's or volume's axes are its own (DS204)."""
    return (
        ("features",) if len(shape) == 1 else ("features", "timesteps") if len(shape) == 2 else ()
    )


def _agrees(shape: tuple, given: dict) -> bool:
    """A model's input shape still applies beside a hand-given --features/--timesteps only when
    they agree with it (else the hand-given one alone is the expectation)."""
    f, t = given.get("features"), given.get("timesteps")
    if f is not None and shape and shape[-1] not in (None, f):
        return False
    return not (t is not None and len(shape) >= 2 and shape[-2] not in (None, t))


def model_classes(facts: ModelFacts) -> int | None:
    """The classes the model's output says: a softmax's units; 2 for one sigmoid unit; the units
    of logits compiled with a (sparse) categorical loss, or ending a PyTorch model (safetensors,
    ``.pt``, ONNX: :data:`LOGITS_FORMATS`). None for a regression or multi-label."""
    units, act, loss = facts.output_units, facts.output_activation, facts.loss or ""
    if units is None:
        return None
    if act == "softmax" and units >= 2:
        return units
    if act == "sigmoid" and units == 1:
        return 2
    if "categorical" in loss.lower() and units >= 2:
        return units
    if facts.format in LOGITS_FORMATS and act in (None, "linear") and units >= 2:
        return units  # a PyTorch classifier ends in a Linear: CrossEntropyLoss takes logits
    return None


#: Formats whose models come from PyTorch, where a classifier's last layer is a plain Linear
#: (its outputs are logits; the softmax is in CrossEntropyLoss): K >= 2 such units are K classes.
LOGITS_FORMATS = ("safetensors", "torch", "onnx")


def _model_input(facts: ModelFacts, x) -> TensorSpec | None:
    """The input x is checked against: the only one, the one named like x (its selector or
    file stem), or the first."""
    if not facts.inputs:
        return None
    if len(facts.inputs) == 1 or not isinstance(x, str):
        return facts.inputs[0]
    spec = parse_source(x)
    names = {spec.selector.strip("/").rsplit("/", 1)[-1] if spec.selector else None,
             _stem(spec.path.name)}  # fmt: skip
    return next((i for i in facts.inputs if i.name in names), facts.inputs[0])


def model_summary(expect: Expectations, subjects: Sequence[Subject] = ()) -> dict[str, Any] | None:
    """The report's ``model``: the file, what was read, what it gave and what overrode it, and
    what of it was not checked (never silent)."""
    from pathlib import Path

    facts = expect.model
    if facts is None:
        return None
    notes = list(facts.notes)
    name = Path(facts.path).name
    chosen = next((i for i in facts.inputs if i.name == expect.model_input), None)
    from .checks.values import STRICT_DTYPE_FORMATS  # there DS406 says it

    if chosen is not None and chosen.dtype is not None and facts.format not in STRICT_DTYPE_FORMATS:
        for s in subjects:
            kind = s.handle.dtype.kind
            if s.role != "x" or kind not in "iufb":
                continue
            wants_int = chosen.dtype.startswith(("int", "uint"))
            if wants_int and kind == "f":
                notes.append(f"{s.name} is {s.handle.dtype} but {name} input `{chosen.name}` is "
                             f"{chosen.dtype}: the framework casts it, and fractional values "
                             "are truncated")  # fmt: skip
            elif not wants_int and chosen.dtype.startswith(("float", "bfloat")) and kind in "iub":
                notes.append(f"{s.name} is {s.handle.dtype}; {name} input `{chosen.name}` is "
                             f"{chosen.dtype}: cast with .astype('{chosen.dtype}') (Keras "
                             "casts it; PyTorch refuses an int tensor in a float layer)")  # fmt: skip
    if chosen is not None and chosen.dtype in ("object", "str", "string", "bytes"):
        text = [s.name for s in subjects if s.role == "x" and s.handle.dtype.kind in "OUS"]
        if text:
            notes.append(f"{', '.join(text)}: text, as {name} input `{chosen.name}` takes it (a "
                         "string tensor): not encoded, and its values are not checked")  # fmt: skip
    scalars = [f"`{i.name}`" for i in facts.inputs if i.shape == ()]
    if scalars:
        notes.append(f"{name} input(s) {', '.join(scalars)} are scalars (shape ()), with no "
                     "sample axis: no array is checked against them")  # fmt: skip
    if facts.output_units is not None and "classes" not in expect.origin:
        notes.append(f"{facts.output_units} output unit(s), {facts.output_activation or 'no'} "
                     "activation: targets are not checked as classes")  # fmt: skip
    if len(facts.inputs) > 1 and expect.model_input is None:
        from .checks import Context

        names = ", ".join(f"`{i.name}`" for i in facts.inputs)
        matched: list[tuple[str, str, bool]] = []  # (array, input, by order)
        unmatched: list[str] = []
        for s in Context(list(subjects), expect).inputs():
            spec = _input_of(facts, s)
            if spec is None:
                unmatched.append(s.name)
            else:
                matched.append((s.name, spec.name, s.model_input is not None))
        taken = {m[1] for m in matched}
        left = [f"`{i.name}`" for i in facts.inputs if i.name not in taken]
        pairs = [f"{a} → `{i}`" + (" (by order)" if order else "") for a, i, order in matched]
        notes.append(f"{len(facts.inputs)} inputs ({names}), each checked against the array "
                     "named like it (file stem or member name), the arrays named like none "
                     "in order to the inputs left: " + ("; ".join(pairs) or "none is")
                     + (f"; not matched to an input: {', '.join(unmatched)}" if unmatched else "")
                     + (f"; no array for {', '.join(left)}" if left else ""))  # fmt: skip
        extra = [s.name for s in subjects if s.role == "array"]
        if extra and matched:
            notes.append(f"named like no input of {name}, so not checked as one: "
                         + ", ".join(extra))  # fmt: skip
    elif len(facts.inputs) > 1 and not (chosen is not None and chosen.shape == ()):
        others = ", ".join(f"`{i.name}`" for i in facts.inputs if i.name != expect.model_input)
        notes.append(f"{len(facts.inputs)} inputs: x is checked against `{expect.model_input}`; "
                     f"{others} not checked (name x like the input to pick it)")  # fmt: skip
    return {"path": facts.path, "format": facts.format, "input": expect.model_input,
            "used": sorted(k for k, v in expect.origin.items() if v == "model"),
            "overridden": [v for v in expect.origin.values() if v != "model"],
            "notes": notes, "facts": facts.to_dict()}  # fmt: skip


def write_fix_files(report: Report, *, force: bool = False, inputs=()) -> list[str]:
    """Write the files the report's fixes read (``--features @x.features.txt``: a selection too
    long for one command line), each at the path its command names, beside the source; return
    the paths written. A file already there with the same text is left as it is; one with other
    text is replaced only with ``force`` (``OutputError`` otherwise), like every output."""
    from pathlib import Path

    from .sinks import write_text

    written: list[str] = []
    files = {
        path: text for f in report.findings for fix in f.fixes for path, text in fix.files.items()
    }
    for path, text in files.items():
        try:
            same = Path(path).read_text(encoding="utf-8") == text
        except (OSError, UnicodeDecodeError):
            same = False
        if not same:
            write_text(path, text, force=force, inputs=inputs)
        written.append(path)
    return written


def _column_kinds(sources, opts: SourceOptions) -> str:
    """``; its columns are species (categorical), date (datetime)`` for a table source (what a
    table with no numeric column holds instead)."""
    if len(sources) != 1 or not isinstance(sources[0], str):
        return ""
    src = opts.open(sources[0])
    kinds = src.column_kinds() if hasattr(src, "column_kinds") else {}
    if not kinds:
        return ""
    listed = ", ".join(f"{name or '(unnamed)'} ({kind})" for name, kind in list(kinds.items())[:10])
    more = f" and {len(kinds) - 10} more" if len(kinds) > 10 else ""
    return f"; its columns are {listed}{more}"


def _listify(v) -> list[str] | None:
    return [v] if isinstance(v, str) else v


def _load_spec(spec):
    from .spec import find_spec, load_spec

    if spec is None or spec is False:
        return None
    if spec is True:
        found = find_spec()
        return load_spec(found) if found else None
    return spec if hasattr(spec, "arrays") else load_spec(spec)


def _spec_expectations(contract, given: dict) -> dict:
    """Model expectations implied by the spec: x's shape after the batch axis, y's classes."""
    out: dict = {}
    xs = [a for a in contract.arrays.values() if a.role == "x"]
    ys = [a for a in contract.arrays.values() if a.role == "y"]
    if len(xs) == 1 and xs[0].shape and given["input_shape"] is None and given["features"] is None:
        dims = [contract.dims.get(d) if isinstance(d, str) else d for d in xs[0].shape[1:]]
        if dims:
            out["input_shape"] = tuple(dims)
    if len(ys) == 1 and ys[0].classes is not None and given["classes"] is None:
        out["classes"] = ys[0].classes
    return out


def _spec_subjects(
    contract, opts: SourceOptions
) -> tuple[list[Subject], list[tuple[Subject, Subject]]]:
    from .checks import Subject

    subjects = []
    for a in contract.arrays.values():
        h = _resolve(a.source, a.name, opts)[0]
        _require_safe(h)
        subjects.append(Subject(a.name, a.role, h, spec=a))
    xs, ys = [s for s in subjects if s.role == "x"], [s for s in subjects if s.role == "y"]
    pairs = [(xs[0], ys[0])] if len(xs) == 1 and len(ys) == 1 else []
    return subjects, pairs


def _scan_subject(s: Subject, expect: Expectations, opts: SourceOptions, executor) -> None:
    h = s.handle
    if h.skip or h.unsafe:
        return
    s.stats = executor.scan(h, _scan_options(s, expect, opts))


def _scan_options(s: Subject, expect: Expectations, opts: SourceOptions) -> ScanOptions:
    mask = expect.mask_value if (s.handle.ragged or s.role != "y") else None
    if mask is None and s.sequence is not None and not s.handle.ragged:
        mask = s.sequence["value"]  # dsdoctor padded it: padding is left out of the extremes
    classes = expect.classes if expect.classes is not None else labelled_classes(s.handle)
    return ScanOptions(mask_value=mask, classes=classes if s.role == "y" else None,
                       labels=s.role == "y", chunk_bytes=opts.chunk_bytes,
                       vocab_size=expect.vocab_size if s.role != "y" else None,
                       sequences=s.sequence is not None)  # fmt: skip


#: Operations whose data output is padded sequences (N, T[, F…]).
PADDING_OPERATIONS = ("pad", "bucket")


def sequence_facts(s: Subject, expect: Expectations) -> dict[str, Any] | None:
    """How ``s`` is known to be padded dense sequences, (N, T[, F…]) with axis 1 time: the user
    said so (``--mask-value``), or dsdoctor's own provenance says ``pad`` or ``bucket`` wrote it
    (its padding value from the record). None when nothing says so: the last axis of an (N, F)
    array is then its features."""
    h = s.handle
    if h.ragged or h.ndim < 2 or s.role == "y":
        return None
    if s.not_data == "mask":  # (N, T) of timesteps: one feature, no padding of its own
        made = (h.provenance or {}).get("operation", "?")
        return {"value": None, "from": f"mask of {made} output"}
    if expect.mask_value is not None:
        said = (expect.by("mask_value") if expect.origin.get("mask_value") == "model"
                else f"--mask-value {expect.mask_value:g}")  # fmt: skip
        return {"value": expect.mask_value, "from": said}
    record = h.provenance
    if (
        not record
        or record.get("operation") not in PADDING_OPERATIONS
        or record.get("role") != "data"
    ):
        return None
    options = record.get("options")
    value = options.get("value") if isinstance(options, dict) else None
    value = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    return {"value": value, "from": f"{record['operation']} of {record.get('source', '?')}"}


def not_analysed(s: Subject) -> str | None:
    """The report's note for an array dsdoctor wrote beside padded data: its mask or lengths."""
    role = s.not_data
    if role is None:
        return None
    record = s.handle.provenance or {}
    made = f"{record.get('operation', '?')} of {record.get('source', '?')}"
    return f"dsdoctor {role} output ({made}): value checks skipped"


def _scan_all(subjects: list[Subject], expect: Expectations, opts: SourceOptions,
              executor: Engine) -> list[ColumnFacts]:  # fmt: skip
    """Scan every subject, and decode every column of their tables that no subject holds
    (``ColumnFacts``: ``check`` never drops a column in silence, and never passes a column no
    reader can decode).

    The subjects of one table and its other columns are read in one pass where they share one
    opened table and the engine scans here (a CSV is parsed once, not once per array); with
    ``--jobs`` over shards or ``--engine dask`` the subjects go to the engine and the other
    columns are read here. A table whose every column is analysed costs no extra pass."""
    from .errors import SourceError

    tables: dict[tuple[str, str], list[Subject]] = {}
    for s in subjects:
        table = getattr(s.handle, "table", None)
        if table is None or s.handle.skip or s.handle.unsafe:
            _scan_subject(s, expect, opts, executor)
        else:
            tables.setdefault((str(table.path), table.format), []).append(s)
    facts: list[ColumnFacts] = []
    if tables:
        from .engine.tables import left_out, read_columns, scan_table  # pyarrow: only for tables
    for group in tables.values():
        table = group[0].handle.table  # type: ignore[attr-defined]  # a TableArray (getattr above)
        covered = {c for s in group for c in s.handle.columns}  # type: ignore[attr-defined]
        tallies = left_out(table, covered, opts.chunk_bytes)
        one_pass = (
            executor.name != "dask"
            and (tallies or len(group) > 1)
            and all(getattr(s.handle, "table", None) is table for s in group)
            and not (executor.name == "process" and executor.jobs > 1
                     and any(hasattr(s.handle, "shard_sources") for s in group))
        )  # fmt: skip
        if one_pass:
            handles = [s.handle for s in group]
            size = sum(h.expected_bytes() or 0 for h in handles)
            try:
                with executor.progress(f"scanning {table.display}", size or None) as advance:
                    stats = scan_table(table, handles, [_scan_options(s, expect, opts) for s in group],  # type: ignore[arg-type]
                                       tallies, opts.chunk_bytes, advance)  # fmt: skip
            except SourceError:  # located below: the arrays on their own, each column alone
                pass
            else:
                for s, st in zip(group, stats, strict=True):
                    s.stats = st
                facts += [t.result() for t in tallies]
                continue
        for s in group:
            _scan_subject(s, expect, opts, executor)
        facts += read_columns(table, left_out(table, covered, opts.chunk_bytes), opts.chunk_bytes)
    return facts


def _several(x) -> list[str] | None:
    """``x`` as several sources (a list or tuple of paths: the inputs of a model of several
    inputs), or None for one source or an in-memory array."""
    if isinstance(x, list | tuple) and x and all(isinstance(v, str | os.PathLike) for v in x):
        return [os.fspath(v) for v in x]
    return None


def _inputs_of_container(x, model: ModelFacts | None, opts: SourceOptions) -> list[Subject] | None:
    """One ``--x`` file holding several arrays (npz members, HDF5 datasets) for a model of as
    many inputs: one x per input, matched by member name (``series`` → input `series`), or by
    order when no member is named like an input (``arr_0``, ``arr_1``). None when ``x`` is one
    array or the model has one input (x is then checked as before); a UsageError when the
    arrays and the inputs cannot be matched."""
    from .checks import Subject

    if model is None or len(model.inputs) < 2 or not isinstance(x, str | os.PathLike):
        return None
    text = os.fspath(x)
    spec = parse_source(text)
    if spec.selector:
        return None
    handles = opts.open(text).arrays()
    if len(handles) < 2:
        return None
    from pathlib import Path

    def member(h: ArrayHandle) -> str:
        return (h.name or "").strip("/").rsplit("/", 1)[-1]

    names = [i.name for i in model.inputs]
    by_name = {member(h): h for h in handles}
    held = ", ".join(member(h) for h in handles)
    takes = f"{Path(model.path).name} takes {len(names)} inputs ({', '.join(names)})"
    data = [i.name for i in model.inputs if i.shape != ()]  # a scalar input (a rate) is no data
    if any(n in by_name for n in names):
        # the members named like inputs are those inputs; the others go in order to the inputs
        # no member is named like, when as many; else they are checked, not as inputs (the
        # report names the inputs left without an array)
        xs = [Subject(by_name[n].source, "x", by_name[n]) for n in names if n in by_name]
        rest = [h for h in handles if member(h) not in names]
        left = [n for n in data if n not in by_name]
        if rest and len(rest) == len(left):
            xs += [
                Subject(h.source, "x", h, model_input=n) for h, n in zip(rest, left, strict=True)
            ]
            rest = []
        return xs + [Subject(h.source, "array", h) for h in rest]
    if len(handles) == len(data) < len(names):
        names = data
    if len(handles) != len(names):
        raise UsageError(f"{spec.display} holds {len(handles)} arrays ({held}) but {takes}: give "
                         "one array per input, named like it, or choose one as "
                         f"{spec.display}:NAME")  # fmt: skip
    return [Subject(h.source, "x", h, model_input=n) for h, n in zip(handles, names, strict=True)]


def _resolve(
    obj, name: str, opts: SourceOptions, *, role_target: str | None = None
) -> list[ArrayHandle]:
    if isinstance(obj, os.PathLike):
        obj = os.fspath(obj)
    if not isinstance(obj, str):
        from .sources.memory import as_handle

        return [as_handle(obj, name)]
    spec = parse_source(obj)
    src = opts.open(obj, target=role_target)
    return [src.array(spec.selector)]


@dataclass
class _Given:
    """One source as given to ``check`` (or one file of a folder of x/y files): what it holds,
    and the role and split its name gives it."""

    source: str
    subjects: list[Subject]
    pairs: list[tuple[Subject, Subject]] = field(default_factory=list)
    role: str | None = None  # from the file stem or the selected member's name
    split: str = ""
    folder: str = ""  # tells apart train/x.npy and val/x.npy
    origin: str | None = None  # the folder or glob it was found in
    shards: list[str] | None = None

    @property
    def single(self) -> Subject | None:
        """Its one array, when it holds one array with no pair inside: a file that takes the role
        its stem gives."""
        if len(self.subjects) == 1 and not self.pairs and not self.subjects[0].handle.skip:
            return self.subjects[0]
        return None

    def sample_axis(self) -> tuple[Subject | None, str | None]:
        """The array whose first axis stands for this source's samples (the inputs of a pair),
        or None and why it has none."""
        # a skipped array (strings, objects) still has the shape its header declares
        firsts = [x for x, _ in self.pairs if x.handle.n is not None] or [
            s for s in self.subjects if s.handle.n is not None and not s.handle.coordinate
        ]  # a coordinate variable counts an axis of its own, not the samples
        counts = sorted({s.handle.n for s in firsts if s.handle.n is not None})
        if len(counts) == 1:
            return firsts[0], None
        if not counts:
            return None, "no array with a sample axis"
        return None, (f"its arrays hold {len(counts)} different sample counts "
                      f"({', '.join(f'{n:,}' for n in counts)}) and are not compared")  # fmt: skip


@dataclass
class _Gathered:
    """What ``check`` looks at: the subjects, the x/y pairs, the groups of subjects that must
    agree on the sample axis, and the datasets as the report describes them. The last two
    compare sample counts, so they are worked out when asked, after the scan (a CSV's rows are
    counted by it)."""

    subjects: list[Subject]
    pairs: list[tuple[Subject, Subject]]
    groups: list[list[_Given]]
    each: bool

    @property
    def together(self) -> list[list[Subject]]:
        out = []
        for group in self.groups:
            firsts = [s for s in (g.sample_axis()[0] for g in group) if s is not None]
            if len(firsts) > 1:
                out.append(firsts)
        return out

    @property
    def datasets(self) -> list[dict[str, Any]]:
        how = "each" if self.each else "together"
        return [_describe(group, how if len(group) > 1 or self.each else "alone")
                for group in self.groups]  # fmt: skip


def _subjects(sources, x, y, opts: SourceOptions, *, each: bool = False,
              model: ModelFacts | None = None) -> _Gathered:  # fmt: skip
    """Sources given together are one dataset (``each``: every source its own): files named like
    inputs and targets pair up, and all must agree on the sample axis, split by split. One
    ``--x`` container for a ``model`` of several inputs gives one x per input
    (:func:`_inputs_of_container`)."""
    from .checks import Subject

    given: list[_Given] = []
    target = opts.target
    several = _several(x)
    if several is not None and model is not None and len(several) > max(len(model.inputs), 1):
        from pathlib import Path

        raise UsageError(f"{len(several)} --x for {Path(model.path).name}, which takes "
                         f"{len(model.inputs)} input(s) ({', '.join(i.name for i in model.inputs)})"
                         ": give one --x per input")  # fmt: skip
    if x is not None:
        many = (_inputs_of_container(x, model, opts) if target is None and several is None
                else None)  # fmt: skip
        if several is not None:
            many = [Subject(s, "x", _resolve(s, "x", opts)[0]) for s in several]
        xss = many or [Subject("x", "x", _resolve(x, "x", opts, role_target=target)[0])]
        for xs, text in zip(xss, several or [x], strict=False):
            xs.named = names_columns(text, xs.handle)
        for xs in xss:
            _require_safe(xs.handle)
        xs = xss[0]
        said = f"--x {x}" if many else f"--x {xs.handle.source}"
        named = _Given(said, list(xss))
        if target is not None and y is None:
            y = _table(xs.handle).target_array()
        if y is not None:
            ys = Subject("y", "y", y if isinstance(y, ArrayHandle) else _resolve(y, "y", opts)[0])
            ys.named = names_columns(y, ys.handle) or (target is not None and xs.named)
            _require_safe(ys.handle)
            named = _Given(f"{said} --y {ys.handle.source}", [*xss, ys], [(s, ys) for s in xss])
        given.append(named)
    elif y is not None:
        ys = Subject("y", "y", _resolve(y, "y", opts)[0])
        ys.named = names_columns(y, ys.handle)
        given.append(_Given(f"--y {ys.handle.source}", [ys]))
    for text in sources:
        text = os.fspath(text) if isinstance(text, os.PathLike) else text
        if not isinstance(text, str):
            from .sources.memory import as_handle

            given.append(_Given("array", [Subject("array", "array", as_handle(text, "array"))]))
            continue
        files = _folder_files(text, each=each)
        for one in files or [text]:
            given.append(_open_given(one, opts, origin=text if files else None))
    groups = [[g] for g in given] if each else _by_dataset(given)
    pairs = [p for g in given for p in g.pairs]
    for group in groups:
        pairs += _pair_files(group)
    subjects = [s for g in given for s in g.subjects]
    plain = [s for s in subjects if s.role == "array"]
    if x is None and y is None and len(plain) == 1 and not pairs:
        plain[0].role = "x"
    _dedupe_names(subjects)
    return _Gathered(subjects, pairs, groups, each)


def names_columns(text: object, h: ArrayHandle) -> bool:
    """``text`` (a source as given) ends in a selector naming exactly the table columns ``h``
    holds: ``hf:train:input_ids``, ``t.parquet:a,b`` (not ``hf:train``, a split)."""
    columns = getattr(h, "columns", None)
    if not isinstance(text, str | os.PathLike) or getattr(h, "table", None) is None or not columns:
        return False
    selector = parse_source(os.fspath(text)).selector or ""
    last = selector.rsplit(":", 1)[-1]
    return {c.strip() for c in last.split(",") if c.strip()} == set(columns)


def _open_given(text: str, opts: SourceOptions, *, origin: str | None) -> _Given:
    from .checks import Subject

    spec = parse_source(text)
    src, selector = opts.open(text, target=opts.target).narrow(spec.selector)
    if opts.target is not None:
        xs = Subject(f"{spec.display}", "x", src.array(selector))
        ys = Subject(f"{spec.display}:{opts.target}", "y", src.target_array())
        g = _Given(spec.display, [xs, ys], [(xs, ys)])
    else:
        handles = [src.array(selector)] if selector else src.arrays()
        found = [
            Subject(h.source if len(handles) > 1 or selector else spec.display, "array", h)
            for h in handles
        ]
        for s in found if selector else ():
            s.named = names_columns(text, s.handle)
        g = _Given(spec.display, found, _pair_by_name(found) or _pair_labelled(found))
        if len(handles) == 1 and getattr(handles[0], "table", None) is None:  # a table's
            g.shards = getattr(handles[0], "shard_sources", None)  # pieces are not files
    name = g.subjects[0].handle.name if selector else _stem(spec.path.name)
    role, g.split = role_of(name.rpartition("/")[2])
    g.role = role if g.single is not None else None
    g.folder, g.origin = str(spec.path.parent), origin
    return g


def _stem(name: str) -> str:
    """A file's name without the extensions dsdoctor reads it by: ``X_train.csv.gz`` →
    ``X_train``, ``y.replicated.npy`` → ``y.replicated``."""
    from .formats import read_by_extension

    while True:
        root, ext = os.path.splitext(name)
        if not root or not (read_by_extension(ext) or ext.lower() in _COMPRESSED):
            return name
        name = root


_COMPRESSED = (".gz", ".bz2", ".xz", ".zst")


def _folder_files(text: str, *, each: bool = False) -> list[str] | None:
    """The files of a folder or glob to read one by one: those whose names say inputs and
    targets (``x.npy`` and ``y.npy``), or with ``each`` any folder or glob of files; None for any
    other (read as shards of one array, or as one Parquet dataset, by :func:`open_source`)."""
    import glob
    from pathlib import Path

    from .errors import SourceError
    from .formats import read_by_name
    from .sources.shards import directory_shards, expand, is_glob

    if is_url(text):
        from urllib.parse import urlsplit

        try:
            if is_glob(urlsplit(text).path) or parse_source(text).selector is not None:
                return None
        except SourceError:
            return None  # opening it says why
        from .sources import remote_folder_files

        listed = remote_folder_files(text)  # a folder at a URL: as a local folder's files
        each = False  # (its Parquet or npy files stay one dataset, as a local folder's do)
        if listed is None:
            return None
        files = listed
    elif ":" in text and not os.path.exists(text):
        return None  # PATH:SELECTOR
    elif is_glob(text):
        if not glob.glob(text):
            return None  # opening it says "no such file"
        files = expand(text)
    elif os.path.isdir(text):
        try:  # a Parquet dataset folder stays one dataset, even with --each
            if directory_shards(Path(text)) is None:
                return None
        except SourceError:
            pass  # files of several formats: maybe x.npy and y.csv
        files = sorted(os.path.join(text, f) for f in os.listdir(text)
                       if not f.startswith((".", "_")) and os.path.isfile(os.path.join(text, f)))  # fmt: skip
    else:
        return None
    files = [f for f in files if read_by_name(os.path.basename(f))]  # x.npy.gz too
    roles = {role_of(_stem(os.path.basename(f)))[0] for f in files}
    return files if files and (each or {"x", "y"} <= roles) else None


def _by_dataset(given: list[_Given]) -> list[list[_Given]]:
    """Sources given together, grouped into datasets: one per split their names give (``X_test``
    and ``y_test`` apart from ``X_train`` and ``y_train``); within a split, by folder when a role
    repeats (``train/x.npy`` and ``val/x.npy``)."""
    from collections import Counter

    by_split: dict[str, list[_Given]] = {}
    for g in given:
        by_split.setdefault(g.split, []).append(g)
    out: list[list[_Given]] = []
    for members in by_split.values():
        roles = Counter(g.role for g in members if g.role)
        if any(c > 1 for c in roles.values()):
            by_folder: dict[str, list[_Given]] = {}
            for g in members:
                by_folder.setdefault(g.folder, []).append(g)
            out += by_folder.values()
        else:
            out.append(members)
    return out


def _pair_files(group: list[_Given]) -> list[tuple[Subject, Subject]]:
    """One file named like inputs and one named like targets in a dataset pair up."""
    xs = [g.single for g in group if g.role == "x"]
    ys = [g.single for g in group if g.role == "y"]
    if len(xs) == 1 and len(ys) == 1 and xs[0] is not None and ys[0] is not None:
        xs[0].role, ys[0].role = "x", "y"
        return [(xs[0], ys[0])]
    return []


def _describe(group: list[_Given], how: str) -> dict[str, Any]:
    """A dataset as the report names it: which sources were read as one, with their samples."""
    out: dict[str, Any] = {"given": how, "split": group[0].split or None, "sources": []}
    for g in group:
        first, why = g.sample_axis()
        item: dict[str, Any] = {"source": g.source, "arrays": [s.name for s in g.subjects],
                                "samples": first.handle.n if first is not None else None}  # fmt: skip
        if g.single is not None and g.single.role in ("x", "y"):
            item["role"] = g.single.role
        if g.origin is not None:
            item["from"] = g.origin
        if g.shards is not None:
            item["shards"] = g.shards
        if why is not None and len(group) > 1:
            item["not_compared"] = why
        out["sources"].append(item)
    return out


def _pair_by_name(found: list[Subject]) -> list[tuple[Subject, Subject]]:
    """Arrays named like inputs and targets in one group (``/train/x`` + ``/train/y``,
    ``X_test`` + ``y_test``) pair up."""
    groups: dict[tuple[str, str], dict[str, list[Subject]]] = {}
    for s in found:
        parent, _, base = s.handle.name.rpartition("/")
        kind, split = role_of(base)
        if kind and not s.handle.skip:
            groups.setdefault((parent, split), {"x": [], "y": []})[kind].append(s)
    pairs = []
    for g in groups.values():
        if len(g["x"]) == 1 and len(g["y"]) == 1:
            xs, ys = g["x"][0], g["y"][0]
            xs.role, ys.role = "x", "y"
            pairs.append((xs, ys))
    return pairs


def _pair_labelled(found: list[Subject]) -> list[tuple[Subject, Subject]]:
    """In each table (each split of a Hugging Face folder), the one array whose file names its
    classes (a ``ClassLabel`` column) is the targets, and pairs with the one other array of the
    table (the inputs), if there is one."""
    tables: dict[int, list[Subject]] = {}
    for s in found:
        tables.setdefault(id(getattr(s.handle, "table", s.handle)), []).append(s)
    pairs = []
    for group in tables.values():
        labelled = [s for s in group if s.handle.class_names is not None]
        if len(labelled) != 1:
            continue
        labelled[0].role = "y"
        others = [s for s in group if s is not labelled[0] and not s.handle.skip]
        if len(others) == 1:
            others[0].role = "x"
            pairs.append((others[0], labelled[0]))
    return pairs


def labelled_classes(h: ArrayHandle) -> int | None:
    """How many classes the file names for labels ``h`` (a ``ClassLabel``), or None."""
    return len(h.class_names) if h.class_names is not None else None


def _classes_from_labels(expect: Expectations, subjects: list[Subject]) -> Expectations:
    """The classes the targets' file names (a ``ClassLabel``'s names) when nothing else gives
    them (``--classes``, a spec, a model) and every target names as many: ``origin`` says
    ``"ClassLabel"``. (Targets naming different counts, as two splits may, are each checked
    against their own: :func:`labelled_classes`.)"""
    if expect.classes is not None:
        return expect
    named = {len(s.handle.class_names) for s in subjects
             if s.role == "y" and s.handle.class_names is not None}  # fmt: skip
    if len(named) != 1:
        return expect
    return replace(expect, classes=named.pop(), origin={**expect.origin, "classes": "ClassLabel"})


def _dedupe_names(subjects: list[Subject]) -> None:
    seen: dict[str, int] = {}
    for s in subjects:
        if s.name in seen:
            seen[s.name] += 1
            s.name = f"{s.name}#{seen[s.name]}"
        else:
            seen[s.name] = 1


def _table(h: ArrayHandle):
    table = getattr(h, "table", None)
    if table is None:
        raise UsageError(
            f"--target names a table column, but {h.source} is not a table (CSV or Parquet)"
        )
    return table


def _require_safe(h: ArrayHandle) -> None:
    if h.unsafe and not h.pickled:
        raise UnsafeInputError(h.unsafe)
    if h.skip and not h.pickled:
        from .errors import SourceError

        raise SourceError(f"{h.source}: {h.skip}")


# -- plan ---------------------------------------------------------------------------------------------
def plan(source, *, batch_size: int, memory=None, buckets: int | None = None, maxlen: int | str | None = None,
         lr: float | None = None, lr_batch: int | None = None, model=None, **options):  # fmt: skip
    """Steps per epoch, last batch, bytes per sample/batch (of the inputs: ``target`` names the
    table column left out), the input shape and width, largest batch for ``memory``, padding.
    ``options`` are the source options ``check`` takes (``format``, ``target``, ``jobs`` …)."""
    opts = SourceOptions(**options)
    with using_storage(opts.storage_options):
        return _plan(source, opts, batch_size, memory, buckets, maxlen, lr, lr_batch, model)


def _plan(source, opts: SourceOptions, batch_size: int, memory, buckets: int | None, maxlen,
          lr: float | None, lr_batch: int | None, model):  # fmt: skip
    """:func:`plan` with the storage options in force."""
    from .plan import make_plan

    h = _plan_inputs(source, opts)
    _require_safe(h)
    h.require_readable()  # an object array: planned only once read (--allow-pickle), never from its header
    stats = opts.executor().scan(h, ScanOptions(chunk_bytes=opts.chunk_bytes)) if h.ragged else None
    mem = parse_size(memory, what="--memory") if memory is not None else None
    notes: list[str] = []
    facts = read_model(model) if model is not None else None
    if facts is not None:
        maxlen, notes = _plan_model(facts, h, maxlen, stats)
    result = make_plan(
        h,
        stats,
        batch_size=batch_size,
        memory=mem,
        buckets=buckets,
        maxlen=maxlen,
        lr=lr,
        lr_batch=lr_batch,
        target=opts.target,
    )
    result.notes.extend(notes)
    if facts is not None and facts.vocab_size is not None and h.dtype.kind in "iu":
        result.input_width = None  # token ids: the Embedding gives the width, not the data
    return result


def _plan_model(facts: ModelFacts, h: ArrayHandle, maxlen,
                stats: ArrayStats | None = None) -> tuple[Any, list[str]]:  # fmt: skip
    """``plan --model``: a fixed time axis of the model's input is the maxlen sequences are
    padded to (``--maxlen`` overrides it), and so is its ``max_position_embeddings`` when
    sequences are longer; the input width the model expects beside the data's."""
    from pathlib import Path

    name, notes = Path(facts.path).name, []
    limit = facts.max_positions
    hist = stats.length_hist if stats is not None else None
    if limit is not None and h.ragged and hist is not None and hist.longest > limit:
        over = int(hist.counts[hist.lengths > limit].sum())
        where = facts.where.get("max_positions", "max_position_embeddings")
        if maxlen is None:
            maxlen = limit
            notes.append(f"maxlen {limit} from {name} {where}: {over:,} of {hist.total:,} "
                         f"sequences are longer (up to {hist.longest}) and are truncated")  # fmt: skip
        else:
            notes.append(f"--maxlen {maxlen}; {name} {where} is {limit}")
    if limit is not None and not h.ragged and h.ndim == 2 and h.dtype.kind in "iu" and (
            h.shape[1] or 0) > limit:  # fmt: skip
        where = facts.where.get("max_positions", "max_position_embeddings")
        notes.append(f"each row is {h.shape[1]} token ids, more than the {limit} positions of "
                     f"{name} {where}: the model fails on them (dsdoctor check --model "
                     f"{facts.path} gives the fix)")  # fmt: skip
    chosen = _model_input(facts, h.source)
    shape = chosen.shape if chosen is not None else None
    if chosen is None or shape is None:
        return maxlen, [f"{name}: its input shape is not declared; nothing taken from it"]
    said = f"{name} input `{chosen.name}` {format_shape(shape)}"
    sequence = len(shape) == 3 or (len(shape) == 2 and (facts.vocab_size or facts.recurrent))
    steps = shape[1] if sequence and isinstance(shape[1], int) else None
    if steps is not None and h.ragged:
        if maxlen is None:
            maxlen = steps
            notes.append(f"maxlen {steps} from {said}")
        else:
            notes.append(f"--maxlen {maxlen} overrides {said}")
    width = shape[-1] if len(shape) >= 2 and not (len(shape) == 2 and sequence) else None
    have = h.shape[-1] if h.ndim >= 2 and not h.ragged else None
    if isinstance(width, int) and have is not None and have != width:
        notes.append(f"the data has {have} features but {said} expects {width} "
                     f"(dsdoctor check --model {facts.path} tells what to do)")  # fmt: skip
    return maxlen, notes


def _plan_inputs(source, opts: SourceOptions) -> ArrayHandle:
    """The inputs ``plan`` sizes: the array named, or in a container the one member named like
    inputs beside its targets (``xy.npz`` → ``x``), as ``check`` pairs them."""
    if isinstance(source, str) and opts.target is None:
        from .checks import Subject

        spec = parse_source(source)
        src = opts.open(source)
        if spec.selector is None and len(handles := src.arrays()) > 1:
            pairs = _pair_by_name([Subject(h.source, "array", h) for h in handles])
            if len(pairs) == 1:
                return pairs[0][0].handle
        return src.array(spec.selector)
    return _resolve(source, "x", opts, role_target=opts.target)[0]


# -- repair ----------------------------------------------------------------------------------------
def repair(*sources, outdir: str, allow: str | Iterable[str] = ("lossless",), force: bool = False,
           **check_options) -> RepairOutcome:  # fmt: skip
    """Check, then write the repaired arrays of the fixes whose safety ``allow`` names
    (``"lossless"``, ``"lossless,assumption"``, …) into ``outdir``: the orchestration of
    ``check`` and :func:`dsdoctor.repairs.apply.apply_fixes`, which names the outputs and
    refuses any output that is one of the inputs (the sources, the arrays read, ``x``/``y``/
    ``spec``)."""

    _repair_folder(outdir)
    with using_storage(check_options.get("storage_options")):
        return _repair(sources, outdir, allow, force, check_options)


def _repair_folder(outdir: str) -> None:
    """Refuse an ``outdir`` named like one output file or store (``rep.zarr``, ``rep.h5``):
    ``repair`` writes a folder of outputs, which would be a folder of ``.npy`` files wearing
    that format's name."""
    from .errors import OutputError
    from .formats import written_by_extension

    text = os.fspath(outdir)
    name = text.rstrip("/").rpartition("/")[2]
    fmt = None if text.endswith("/") else written_by_extension(os.path.splitext(name)[1])
    if fmt is None:
        return
    stem = os.path.splitext(text)[0]
    raise OutputError(
        f"{text}: repair writes a folder of outputs, one file per repaired array, not one "
        f"{fmt.label} {'store' if fmt.directory else 'file'}; name a folder (-o {stem}/), or run "
        f"the repair command a fix names with -o {text}"
    )


def _repair(
    sources, outdir: str, allow, force: bool, check_options: dict[str, Any]
) -> RepairOutcome:
    """:func:`repair` with the storage options in force."""
    from .repairs.apply import apply_fixes, parse_allow
    from .sinks import source_paths

    allowed = parse_allow(allow)
    # a fix's source is read as check read it (the column named by --target is its own array)
    reading: dict[str, Any] = {k: check_options[k] for k in ("format", "allow_pickle", "follow_external",
                                                             "storage_options", *DIALECT)
                               if k in check_options}  # fmt: skip
    if "chunk_size" in check_options:
        reading["chunk_bytes"] = parse_size(check_options["chunk_size"], what="--chunk-size")
    report = check(*sources, **check_options)
    x = check_options.get("x")
    several = _several(x)
    xs: list[Any] = [x] if several is None else list(several)  # several --x: each an input
    named = [*xs, *(check_options.get(k) for k in ("y", "spec", "model"))]
    read = [a.get("source") for a in report.arrays.values()]
    paths = [os.fspath(p) for p in named if isinstance(p, str | os.PathLike)]
    inputs = source_paths([*sources, *read, *paths])
    return apply_fixes(report, outdir=outdir, allowed=allowed, force=force, inputs=inputs,
                       reading=reading)  # fmt: skip


# -- spec infer ----------------------------------------------------------------------------------------
def spec_infer(*sources, x=None, y=None, relative_to: str | None = None, **options) -> str:
    """A spec (TOML text) describing the data as it is today: ``check`` it later to catch drift.

    Sources are written relative to ``relative_to`` (the folder the spec will live in), since a
    spec's sources are resolved from its own folder."""
    import os

    from .spec import infer_spec

    report = check(*sources, x=x, y=y, **options)

    def relative(text: str) -> str:
        spec = parse_source(text)
        if isinstance(spec.path, Location):  # a URL is the same from every folder
            return spec.text
        path = os.path.relpath(spec.path, relative_to or os.curdir)
        return path + (f":{spec.selector}" if spec.selector else "")

    names = {key: relative(a["source"]) for key, a in report.arrays.items()}
    given = (report.splits or {}).get("sources") or {}
    split_sources = {name: (relative(xs), relative(ys) if ys else None)
                     for name, (xs, ys) in given.items()}  # fmt: skip
    return infer_spec(report, names, split_sources,
                      {"target": options.get("target"), "task": options.get("task")})  # fmt: skip


# -- explain ------------------------------------------------------------------------------------
def explain(key: str | None = None) -> type[Check] | tuple[type[Check], ...]:
    """The check class for a code or name (its docstring is the explanation), or all of them."""
    from .checks import REGISTRY, get_check

    return REGISTRY if key is None else get_check(key)
