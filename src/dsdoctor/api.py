"""The Python API: one function per command. Functions return objects and never print."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .engine import Engine, Progress
from .engine.stats import ArrayStats, ScanOptions, scan_together
from .errors import UnsafeInputError, UsageError
from .findings import Finding, Report
from .sources import (
    DEFAULT_CHUNK_BYTES,
    DIALECT,
    ArrayHandle,
    Entry,
    open_array,
    open_source,
    parse_source,
)
from .units import parse_shape, parse_size

if TYPE_CHECKING:  # the checks are imported by the functions that run them (fast `inspect`)
    from collections.abc import Iterable

    from .checks import Check, Expectations, Subject
    from .findings import RepairOutcome

X_NAMES = {"x", "inputs", "input", "features", "data", "x_train", "train_x", "samples"}
Y_NAMES = {"y", "targets", "target", "labels", "label", "y_train", "train_y"}


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

    @property
    def chunk_bytes(self) -> int:
        return parse_size(self.chunk_size, what="--chunk-size")

    @property
    def reading(self) -> dict[str, Any]:
        """How every source is opened, as the keywords of ``open_source`` (picklable: the
        engine's workers open the sources again with them)."""
        return {"format": self.format, "allow_pickle": self.allow_pickle,
                "follow_external": self.follow_external,
                **{k: getattr(self, k) for k in DIALECT}}  # fmt: skip

    def executor(self) -> Engine:
        return Engine.from_options(self.engine, self.jobs, self.scheduler, self.reading,
                                   self.progress)  # fmt: skip

    def open(self, text: str, *, target: str | None = None):
        return open_source(text, target=target, **self.reading)


def load(source, *, format: str | None = None, allow_pickle: bool = False,
         follow_external: bool = False, delimiter: str | None = None, header: bool | None = None,
         decimal: str | None = None) -> ArrayHandle:  # fmt: skip
    """A lazy handle on one array: ``load("train.h5:/x").shape``, ``.chunks()``, ``.read()``."""
    return open_array(source, format=format, allow_pickle=allow_pickle,
                      follow_external=follow_external, delimiter=delimiter, header=header,
                      decimal=decimal)  # fmt: skip


# -- inspect ------------------------------------------------------------------------------------
@dataclass
class InspectedEntry:
    entry: Entry
    stats: ArrayStats | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        e = self.entry
        out: dict[str, Any] = {"path": e.path, "kind": e.kind}
        if e.note:
            out["note"] = e.note
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

    @property
    def errors(self) -> list[str]:
        return [e.error for e in self.entries if e.error]

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "format": self.format,
                **({"reading": self.reading} if self.reading else {}),
                "entries": [e.to_dict() for e in self.entries]}  # fmt: skip


def inspect(source: str, *, stats: bool = True, **options) -> Inspection:
    """Everything inside a source: tree, shapes, dtypes, layout, and (by default) one-pass stats."""
    from .errors import SourceError

    opts = SourceOptions(**options)
    spec = parse_source(source)
    src = opts.open(source, target=opts.target)
    entries = (
        [Entry(a.name, "array", a) for a in [src.array(spec.selector)]]
        if spec.selector
        else src.entries()
    )
    out = Inspection(spec.display, src.format, reading=src.reading())
    scan_opts = ScanOptions(chunk_bytes=opts.chunk_bytes)
    engine = opts.executor()
    wanted = [e.array for e in entries if stats and e.array is not None and not e.array.skip
              and not e.array.unsafe]  # fmt: skip
    together = None
    if len(wanted) > 1 and engine.name != "dask":
        try:  # a wide table's columns in one pass; an error is then located column by column
            together = scan_together(wanted, scan_opts)
        except SourceError:
            together = None
    found = dict(zip(map(id, wanted), together, strict=True)) if together is not None else {}
    for e in entries:
        item = InspectedEntry(e)
        a = e.array
        if stats and a is not None and not a.skip and not a.unsafe:
            try:
                item.stats = found[id(a)] if id(a) in found else engine.scan(a, scan_opts)
            except SourceError as exc:
                item.error = str(exc)
        out.entries.append(item)
    return out


# -- check --------------------------------------------------------------------------------------
def expectations(*, input_shape=None, features=None, timesteps=None, classes=None, batch_size=None,
                 memory=None, mask_value=None) -> Expectations:  # fmt: skip
    """Validate and normalise the model expectations (strings as the CLI takes them)."""
    from .checks import Expectations

    if isinstance(input_shape, str):
        input_shape = parse_shape(input_shape)
    for name, value in (("features", features), ("timesteps", timesteps), ("classes", classes),
                        ("batch_size", batch_size)):  # fmt: skip
        if value is not None and value < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    if memory is not None:
        memory = parse_size(memory, what="--memory")
    if input_shape is not None and features is not None and input_shape[-1] not in (None, features):
        raise UsageError(
            f"--features {features} contradicts --input-shape, whose last axis is {input_shape[-1]}"
        )
    return Expectations(tuple(input_shape) if input_shape is not None else None, features, timesteps,
                        classes, batch_size, memory, mask_value)  # fmt: skip


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
    progress: Progress | None = None,
    delimiter: str | None = None,
    header: bool | None = None,
    decimal: str | None = None,
) -> Report:
    """Run every check on the given arrays and return a :class:`Report`.

    ``x``/``y`` are sources (``"train.h5:/x"``) or in-memory arrays; positional ``sources`` are
    checked whole (every array inside a container), and arrays named like x/y in one group are
    paired. ``progress``: a callback that long scans report to (:mod:`dsdoctor.engine.progress`;
    nothing by default). ``spec`` is a spec file (``dsdoctor.toml``), or ``True`` to find one from the working
    directory upward; its ``[check]`` options are defaults that keyword arguments override. The
    keyword names are the CLI's option names.
    """
    from .checks import Context, resolve_codes, run_checks

    given = {"input_shape": input_shape, "features": features, "timesteps": timesteps, "classes": classes,
             "batch_size": batch_size, "memory": memory, "mask_value": mask_value, "select": select,
             "ignore": ignore, "chunk_size": chunk_size}  # fmt: skip
    contract = _load_spec(spec)
    if contract is not None:
        for key, value in contract.options.items():
            if key in given and given[key] in (None, DEFAULT_CHUNK_BYTES):
                given[key] = value
        given.update(_spec_expectations(contract, given))
    expect = expectations(**{k: given[k] for k in ("input_shape", "features", "timesteps", "classes",
                                                   "batch_size", "memory", "mask_value")})  # fmt: skip
    chosen, skipped = (
        resolve_codes(_listify(given["select"])),
        resolve_codes(_listify(given["ignore"])),
    )
    opts = SourceOptions(format, target, allow_pickle, follow_external, given["chunk_size"], jobs,
                         engine, scheduler, progress, delimiter, header, decimal)  # fmt: skip
    executor = opts.executor()
    subjects, pairs = _subjects(sources, x, y, opts)
    if contract is not None:
        more, more_pairs = _spec_subjects(contract, opts)
        subjects, pairs = subjects + more, pairs + more_pairs
    if not subjects and sources:
        from .errors import SourceError

        names = ", ".join(str(s) for s in sources)
        raise SourceError(
            f"{names}: no numeric arrays to check (`dsdoctor inspect` shows what is inside)"
        )
    if not subjects:
        raise UsageError(
            "nothing to check: give sources, or --x/--y, or a spec file (dsdoctor.toml)"
        )
    for s in subjects:
        _scan_subject(s, expect, opts, executor)
    ctx = Context(subjects, expect, pairs, contract)
    findings: list[Finding] = list(run_checks(ctx, chosen, skipped))
    arrays = {s.name: {**s.handle.describe(), "role": s.role,
                       **({"stats": s.stats.to_dict()} if s.stats else {}),
                       **({"unsafe": s.handle.unsafe} if s.handle.unsafe else {})}
              for s in subjects}  # fmt: skip
    return Report(__version__, arrays, findings)


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
    mask = expect.mask_value if (h.ragged or s.role != "y") else None
    s.stats = executor.scan(h, ScanOptions(mask_value=mask, classes=expect.classes if s.role == "y" else None,
                                  labels=s.role == "y", chunk_bytes=opts.chunk_bytes))  # fmt: skip


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


def _subjects(
    sources, x, y, opts: SourceOptions
) -> tuple[list[Subject], list[tuple[Subject, Subject]]]:
    from .checks import Subject

    subjects: list[Subject] = []
    pairs: list[tuple[Subject, Subject]] = []
    target = opts.target
    if x is not None:
        xs = Subject("x", "x", _resolve(x, "x", opts, role_target=target)[0])
        _require_safe(xs.handle)
        subjects.append(xs)
        if target is not None and y is None:
            y = _table(xs.handle).target_array()
        if y is not None:
            ys = Subject("y", "y", y if isinstance(y, ArrayHandle) else _resolve(y, "y", opts)[0])
            _require_safe(ys.handle)
            subjects.append(ys)
            pairs.append((xs, ys))
    elif y is not None:
        subjects.append(Subject("y", "y", _resolve(y, "y", opts)[0]))
    for text in sources:
        text = os.fspath(text) if isinstance(text, os.PathLike) else text
        spec = parse_source(text) if isinstance(text, str) else None
        if spec is None:
            from .sources.memory import as_handle

            subjects.append(Subject("array", "array", as_handle(text, "array")))
            continue
        src = opts.open(text, target=target)
        if target is not None:
            xs = Subject(f"{spec.display}", "x", src.array(spec.selector))
            ys = Subject(f"{spec.display}:{target}", "y", src.target_array())
            subjects += [xs, ys]
            pairs.append((xs, ys))
            continue
        handles = [src.array(spec.selector)] if spec.selector else src.arrays()
        found = [
            Subject(h.source if len(handles) > 1 or spec.selector else spec.display, "array", h)
            for h in handles
        ]
        subjects += found
        pairs += _pair_by_name(found)
    if (
        x is None
        and y is None
        and len([s for s in subjects if s.role == "array"]) == 1
        and not pairs
    ):
        subjects[0].role = "x"
    _dedupe_names(subjects)
    return subjects, pairs


def _pair_by_name(found: list[Subject]) -> list[tuple[Subject, Subject]]:
    """Arrays named like inputs and targets in one group (``/train/x`` + ``/train/y``) pair up."""
    groups: dict[str, dict[str, list[Subject]]] = {}
    for s in found:
        parent, _, base = s.handle.name.rpartition("/")
        kind = "x" if base.lower() in X_NAMES else "y" if base.lower() in Y_NAMES else None
        if kind and not s.handle.skip:
            groups.setdefault(parent, {"x": [], "y": []})[kind].append(s)
    pairs = []
    for g in groups.values():
        if len(g["x"]) == 1 and len(g["y"]) == 1:
            xs, ys = g["x"][0], g["y"][0]
            xs.role, ys.role = "x", "y"
            pairs.append((xs, ys))
    return pairs


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
         lr: float | None = None, lr_batch: int | None = None, **options):  # fmt: skip
    """Steps per epoch, last batch, bytes per sample/batch, largest batch for ``memory``, padding."""
    from .plan import make_plan

    opts = SourceOptions(**options)
    h = _resolve(source, "x", opts, role_target=opts.target)[0]
    _require_safe(h)
    stats = opts.executor().scan(h, ScanOptions(chunk_bytes=opts.chunk_bytes)) if h.ragged else None
    mem = parse_size(memory, what="--memory") if memory is not None else None
    return make_plan(
        h,
        stats,
        batch_size=batch_size,
        memory=mem,
        buckets=buckets,
        maxlen=maxlen,
        lr=lr,
        lr_batch=lr_batch,
    )


# -- repair ----------------------------------------------------------------------------------------
def repair(*sources, outdir: str, allow: str | Iterable[str] = ("lossless",), force: bool = False,
           **check_options) -> RepairOutcome:  # fmt: skip
    """Check, then write the repaired arrays of the fixes whose safety ``allow`` names
    (``"lossless"``, ``"lossless,assumption"``, …) into ``outdir``: the orchestration of
    ``check`` and :func:`dsdoctor.repairs.apply.apply_fixes`, which names the outputs and
    refuses any output that is one of the inputs (the sources, the arrays read, ``x``/``y``/
    ``spec``)."""
    from .repairs.apply import apply_fixes, parse_allow
    from .sinks import source_paths

    allowed = parse_allow(allow)
    # a fix's source is read as check read it (the column named by --target is its own array)
    reading: dict[str, Any] = {k: check_options[k] for k in ("format", "allow_pickle", "follow_external",
                                                             *DIALECT) if k in check_options}  # fmt: skip
    if "chunk_size" in check_options:
        reading["chunk_bytes"] = parse_size(check_options["chunk_size"], what="--chunk-size")
    report = check(*sources, **check_options)
    named = [check_options.get(k) for k in ("x", "y", "spec")]
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
    names = {}
    for key, a in report.arrays.items():
        spec = parse_source(a["source"])
        path = os.path.relpath(spec.path, relative_to or os.curdir)
        names[key] = path + (f":{spec.selector}" if spec.selector else "")
    return infer_spec(report, names)


# -- explain ------------------------------------------------------------------------------------
def explain(key: str | None = None) -> type[Check] | tuple[type[Check], ...]:
    """The check class for a code or name (its docstring is the explanation), or all of them."""
    from .checks import REGISTRY, get_check

    return REGISTRY if key is None else get_check(key)
