"""Human output with rich: the only module that imports it. No colour when stdout is not a
terminal, when ``NO_COLOR`` is set, or with ``--no-color``."""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ..units import format_bytes, format_shape
from .safe import printable

if TYPE_CHECKING:
    from ..findings import Finding, RepairOutcome, Report
    from ..sources import ArrayHandle, Entry


class InspectedStats(Protocol):
    """The one-pass statistics of an inspected array, as this module shows them."""

    nan: int
    posinf: int
    neginf: int

    @property
    def nonfinite(self) -> int: ...
    def to_dict(self) -> dict[str, Any]: ...
    def length_bins(self, bins: int = ...) -> list[list[int]]: ...


class InspectedItem(Protocol):
    """One node of an inspected source: the entry, its statistics, the error that stopped them."""

    @property
    def entry(self) -> Entry: ...
    @property
    def stats(self) -> InspectedStats | None: ...
    @property
    def error(self) -> str | None: ...


class InspectedColumn(Protocol):
    """A table column that is not an array, as reading it found it (``engine.columns.ColumnFacts``)."""

    kind: str
    dtype: str
    rows: int
    nulls: int
    null_rows: list[int]
    reason: str
    error: str | None
    facts: dict[str, Any]


class InspectionResult(Protocol):
    """What :func:`render_inspection` draws (``api.inspect`` returns one per source). A protocol,
    so that render, below the API, does not import it."""

    source: str
    format: str
    reading: str  # how the file was read, where that was decided (a CSV's dialect)
    notes: list[str]  # what was not looked at, and why

    @property
    def entries(self) -> Sequence[InspectedItem]: ...


SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
SAFETY_STYLE = {"lossless": "green", "assumption": "yellow", "lossy": "red"}
BAR = "█"


_TAG = re.compile(r"(?<!\\)\[/?[a-z ]*\]")


def escape(text: object, *, lines: bool = False) -> str:
    """Make text from the data safe to embed in markup: control characters shown as escapes
    (:func:`~dsdoctor.render.safe.printable`, newlines included unless ``lines``: a block of
    lines such as an explain section) and our tags escaped (what ``rich.markup.escape`` does)."""
    return re.sub(r"(\[/?[a-z ]*\])", r"\\\1", printable(text, lines=lines))


class PlainConsole:
    """Pipes, logs and ``--no-color``: the same lines without markup, and without importing rich
    (a one-liner's start-up is most of its run)."""

    def __init__(self, stderr: bool = False):
        self.file = sys.stderr if stderr else sys.stdout

    def print(self, text: object = "") -> None:
        if isinstance(text, Tree):
            text = "\n".join(text.lines())
        plain = _TAG.sub("", str(text)).replace("\\[", "[")
        self.file.write(printable(plain, lines=True) + "\n")


def console(no_color: bool = False, stderr: bool = False):
    """rich on a terminal with colour allowed; :class:`PlainConsole` everywhere else."""
    stream = sys.stderr if stderr else sys.stdout
    if no_color or "NO_COLOR" in os.environ or not stream.isatty():
        return PlainConsole(stderr)
    from rich.console import Console

    return RichConsole(Console(stderr=stderr, highlight=False, soft_wrap=True))


class RichConsole:
    def __init__(self, console):
        self.console = console

    def print(self, text: object = "") -> None:
        text = "\n".join(text.lines()) if isinstance(text, Tree) else text
        self.console.print(printable(text, lines=True))


class Tree:
    """A tree of markup lines, drawn with box characters (like ``rich.tree``, without rich)."""

    def __init__(self, label: str):
        self.label = label
        self.children: list[Tree] = []

    def add(self, label: str) -> Tree:
        child = Tree(label)
        self.children.append(child)
        return child

    def lines(self, prefix: str = "") -> list[str]:
        out = [self.label] if not prefix else []
        for i, child in enumerate(self.children):
            last = i == len(self.children) - 1
            out.append(f"{prefix}{'└── ' if last else '├── '}{child.label}")
            out.extend(child.lines(prefix + ("    " if last else "│   ")) if child.children else [])
        return out


def _shape(a: dict) -> str:
    return format_shape(a["shape"]) if a.get("shape") is not None else "?"


# -- check ----------------------------------------------------------------------------------------
def print_finding(out, f: Finding, *, fixes: bool = True) -> None:
    """One finding as ``check`` prints it (``mask`` prints its collisions the same way)."""
    style = SEVERITY_STYLE[f.severity.value]
    out.print(f"[bold]{f.code}[/] [{style}]{f.severity.value}[/] {f.name}: {escape(f.message)}")
    for fix in f.fixes if fixes else []:
        out.print(
            f"    fix [{SAFETY_STYLE[fix.safety.value]}]({fix.safety.value})[/]: {escape(fix.command)}"
        )
        if fix.files:
            named = ", ".join(fix.files)
            out.print(f"    [dim]({escape(named)}: written by check --fix-files)[/]")


def render_report(report: Report, *, quiet: bool = False, no_color: bool = False) -> None:
    out = console(no_color)
    if not quiet:
        for line in dataset_lines(report.datasets):
            out.print(line)
        for name, a in report.arrays.items():
            kind = " ragged" if a.get("ragged") else ""
            note = (f"  [red]not read:[/] {escape(a['unsafe'])}" if a.get("unsafe")
                    else f"  [dim]skipped: {escape(a['skipped'])}[/]" if a.get("skipped")
                    else f"  [dim]{escape(a['not_analysed'])}[/]" if a.get("not_analysed")
                    else "")  # fmt: skip
            label = f"{name}" if name == a.get("source") else f"{name}  {escape(a['source'])}"
            out.print(f"[bold]{escape(label)}[/]  {_shape(a)} {a['dtype']}{kind}{note}")
        for line in model_lines(report.model):
            out.print(line)
        for line in split_lines(report.splits):
            out.print(line)
        columns = [c for c in report.columns if c.get("reason") != "not selected"]
        if columns:
            listed = ", ".join(
                (f"{c['split']}: " if c.get("split") else "")  # check --split: whose column
                + f"{_column_name(c['name'])} ({c['reason'] or c['kind']})"
                for c in columns[:20]
            )
            more = f" and {len(columns) - 20} more" if len(columns) > 20 else ""
            out.print(f"[dim]not analysed as inputs: {escape(listed)}{more}[/]")
        for e in report.not_read[:20]:
            out.print(f"[yellow]not read:[/] {escape(e['source'].rstrip('/'))}/{escape(e['entry'])} "
                      f"({escape(e['why'])})")  # fmt: skip
        if len(report.not_read) > 20:
            out.print(f"[yellow]not read:[/] {len(report.not_read) - 20} more (--json lists them)")
        if report.arrays:
            out.print()
    for f in report.findings:
        print_finding(out, f, fixes=not quiet)
    if quiet:
        return
    s = report.summary
    if report.findings:
        out.print()
    unread = sum(1 for a in report.arrays.values() if a.get("unsafe"))
    healthy = "healthy: no findings" if not unread else (
        f"no findings, but {unread} array(s) not read (see above)")  # fmt: skip
    if report.columns and not unread:
        healthy += f"; {len(report.columns)} column(s) not analysed as inputs (listed above)"
    if report.not_read:
        n = len(report.not_read)
        healthy = healthy.replace("healthy: no findings", "no findings", 1) + (
            f"; but {n} entr{'y' if n == 1 else 'ies'} of the folder not read (listed above)")  # fmt: skip
    if report.splits and (
        report.splits.get("drift_not_judged") or report.splits.get("timesteps_not_compared")
    ):
        healthy += "; some drift or timesteps not judged (listed above)"
    verdict = healthy if not report.findings else (
        f"{s['error']} error(s), {s['warning']} warning(s), {s['info']} info")  # fmt: skip
    out.print(
        f"[bold]{verdict}[/]" + ("  (dsdoctor explain CODE tells more)" if report.findings else "")
    )


def split_lines(splits: dict[str, Any] | None) -> list[str]:
    """The splits compared (``check --split``): their samples, and what was not compared."""
    if splits is None:
        return []
    if splits.get("not_compared"):
        return [
            f"[yellow]splits found but not compared:[/] {escape(splits.get('found', ''))}; "
            f"{escape(splits['not_compared'])}"
        ]
    parts = [f"{escape(name)} {s['rows']:,}" for name, s in splits["splits"].items()]
    out = [f"splits compared with the training split {escape(splits['train'])} (samples): "
           f"{', '.join(parts)}"]  # fmt: skip
    if splits.get("found"):
        out.append(f"splits found: {escape(splits['found'])}")
    if splits.get("targets"):
        out.append(f"targets: {escape(splits['targets'])}")
    if splits.get("unlabelled"):
        out.append(f"no targets: {escape(', '.join(splits['unlabelled']))}: compared by inputs "
                   "alone (its labels not checked)")  # fmt: skip
    if splits.get("baseline"):
        b = splits["baseline"]
        out.append(f"drift also measured against {escape(b['train'])} of {escape(b['source'])}")
    unhashed = [name for name, s in splits["splits"].items() if not s["hashed"]]
    if unhashed:
        out.append(
            f"[dim]not compared for duplicates (ragged or not numeric): {escape(', '.join(unhashed))}[/]"
        )
    out += [f"[dim]drift not judged: {escape(n)}[/]" for n in splits.get("drift_not_judged", [])]
    out += [
        f"[dim]timesteps not compared: {escape(n)}[/]"
        for n in splits.get("timesteps_not_compared", [])
    ]
    return out


def model_lines(model: dict[str, Any] | None) -> list[str]:
    """The model checked against: what it gave, what the options overrode, what was not read."""
    if model is None:
        return []
    used = ", ".join(model["used"]) or "nothing"
    lines = [f"model  {escape(model['path'])} ({model['format']}): expectations {escape(used)}"]
    lines += [f"  [dim]{escape(o)}[/]" for o in model["overridden"]]
    lines += [f"  [dim]{escape(n)}[/]" for n in model["notes"]]
    return lines


def render_model(m, *, no_color: bool = False) -> None:
    """A model file's facts (``inspect MODEL``): inputs, outputs, what check --model uses."""
    out = console(no_color)
    out.print(f"[bold]{escape(m.path)}[/]  {m.format} model (metadata only; nothing loaded or run)")

    def sure(fact: str, whole: str | None = None) -> str:
        # an input's own fact, else the one its reader gives for all of them ("inputs")
        where = m.where.get(fact) or (m.where.get(whole) if whole else None)
        how = m.confidence.get(fact) or (m.confidence.get(whole) if whole else None) or "declared"
        return f"  [dim]{escape(where)}, {how}[/]" if where else f"  [dim]{how}[/]"

    for i in m.inputs:
        shape = format_shape(i.shape) if i.shape is not None else "shape not declared"
        out.print(f"  input   {escape(i.name)}  {escape(shape)} {i.dtype or ''}"
                  + (sure(f"input:{i.name}", "inputs") if i.shape is not None else ""))  # fmt: skip
    for o in m.outputs:
        shape = format_shape(o.shape) if o.shape is not None else "shape not declared"
        out.print(f"  output  {escape(o.name)}  {escape(shape)} {o.dtype or ''}")
    facts = [("output_units", m.output_units), ("output_activation", m.output_activation),
             ("loss", m.loss), ("vocab_size", m.vocab_size), ("mask_zero", m.mask_zero),
             ("mask_value", m.mask_value), ("max_positions", m.max_positions),
             ("recurrent", m.recurrent or None)]  # fmt: skip
    for fact, value in facts:
        if value is not None:
            out.print(f"  {fact:<18}{escape(str(value))}" + sure(fact))
    for note in m.notes:
        out.print(f"  [dim]{escape(note)}[/]")


ROLE_WORDS = {"x": "inputs", "y": "targets"}
#: The shard files named in full before "and N more".
SHARDS_SHOWN = 5


def dataset_lines(datasets: list[dict[str, Any]]) -> list[str]:
    """Which sources ``check`` read as one dataset, when that is not plain: several sources, a
    folder read as x/y files, or shards read as one array. Nothing for one plain file."""
    sources = [src for d in datasets for src in d["sources"]]
    if len(sources) < 2 and not any("shards" in src or "from" in src for src in sources):
        return []
    lines = []
    for d in datasets:
        how = {"together": "one dataset", "each": "on its own (--each)", "alone": "one dataset"}
        head = how[d["given"]] + (f" ({d['split']})" if d.get("split") else "")
        origins = sorted({src["from"] for src in d["sources"] if "from" in src})
        if origins:
            head += f", from {', '.join(origins)}" + (
                " (named as inputs and targets, so not shards)" if d["given"] != "each" else "")  # fmt: skip
        parts = []
        for src in d["sources"]:
            n = src.get("samples")
            facts = [f"{n:,} sample{'s' if n != 1 else ''}" if n is not None else "no sample axis"]
            if src.get("role"):
                facts.append(ROLE_WORDS[src["role"]])
            parts.append(f"{src['source']} ({', '.join(facts)})")
        lines.append(f"[dim]{escape(head)}:[/] {escape(', '.join(parts))}")
        for src in d["sources"]:
            shards = src.get("shards")
            if shards:
                shown = ", ".join(shards[:SHARDS_SHOWN]) + (
                    f" and {len(shards) - SHARDS_SHOWN:,} more" if len(shards) > SHARDS_SHOWN else "")  # fmt: skip
                lines.append(f"  [dim]{escape(src['source'])} is one array of {len(shards):,} "
                             f"files stacked in name order:[/] {escape(shown)}")  # fmt: skip
            if src.get("not_compared"):
                lines.append(f"  [yellow]{escape(src['source'])}:[/] {escape(src['not_compared'])}")
    return [*lines, ""]


# -- inspect --------------------------------------------------------------------------------------
def render_inspection(results: Sequence[InspectionResult], *, no_color: bool = False) -> None:
    out = console(no_color)
    for r in results:
        tree = Tree(f"[bold]{escape(r.source)}[/] [dim]({r.format})[/]"
                    + (f"\n[dim]read as {escape(r.reading)}[/]" if r.reading else "")
                    + "".join(f"\n[yellow]{escape(note)}[/]" for note in r.notes))  # fmt: skip
        nodes = {"": tree}
        for item in r.entries:
            e = item.entry
            parent_path = e.path.rpartition("/")[0] if e.path.startswith("/") else ""
            parent = nodes.get(parent_path, tree)
            if e.kind == "group":
                nodes[e.path] = parent.add(f"[bold]{escape(e.path)}[/] [dim]group[/]")
                continue
            column = getattr(item, "column", None)
            if e.array is None and column is not None:
                parent.add(_column_line(e.path, column, item.error))
                continue
            if e.array is None:
                parent.add(f"{escape(e.path)} [dim]{e.kind}[/]  {escape(e.note)}")
                continue
            node = parent.add(_array_line(e.path or "(array)", e.array))
            for line in _detail_lines(item, e.array):
                node.add(line)
        out.print(tree)


#: Layout that is the whole file's, shown once above its arrays (a CSV's dialect, "read as …").
SHOWN_ONCE = ("delimiter", "dialect", "widened")


def _column_name(name: str) -> str:
    return name if name else "(unnamed)"


def _column_line(path: str, c: InspectedColumn, error: str | None) -> str:
    """``species  categorical  string  3 distinct: Adelie 152, Gentoo 124, …  nulls 0``."""
    kind = "index" if c.reason == "index" else c.kind
    parts = [f"[bold]{escape(_column_name(path))}[/]", kind, escape(c.dtype)]
    f = c.facts
    if error:
        parts.append(f"[red]cannot be decoded:[/] {escape(c.error)}")
    elif f.get("not_decoded"):
        parts.append(f"[yellow]not decoded:[/] {escape(f['not_decoded'])}")
        return "  ".join(parts)
    elif "distinct" in f:
        more = "more than " if f.get("distinct_capped") else ""
        top = ", ".join(f"{v} {n:,}" for v, n in f.get("top", []))
        parts.append(escape(f"{more}{f['distinct']:,} distinct" + (f": {top}" if top else "")))
    elif "min" in f:
        parts.append(escape(f"{_num(f['min'])} to {_num(f['max'])}"))
    elif "min_length" in f:
        parts.append(escape(f"lengths {f['min_length']} to {f['max_length']}"))
    elif "true" in f:
        parts.append(f"true {f['true']:,}  false {f['false']:,}")
    if f.get("counts_rows"):
        parts.append("counts 0..N-1")
    if not error:
        style = "red" if c.nulls else "dim"
        rows = f" (rows {', '.join(map(str, c.null_rows))}…)" if c.null_rows else ""
        parts.append(f"[{style}]nulls {c.nulls:,}{rows}[/]")
    return "  ".join(parts)


def _array_line(path: str, a: ArrayHandle) -> str:
    dims = a.layout.get("dims") or []
    if isinstance(dims, list) and a.ragged and len(dims) == len(a.shape) - 1:
        dims = [*dims[:1], "", *dims[1:]]  # a variable-length dataset's time axis has no name
    named = isinstance(dims, list) and 0 < len(dims) == len(a.shape)
    parts = [f"[bold]{escape(path)}[/]", _named_shape(dims, a.shape) if named else format_shape(a.shape),
             str(a.dtype)]  # fmt: skip
    if a.ragged:
        parts.append("[magenta]ragged[/]")
    if a.memory_bytes is not None:
        parts.append(f"{format_bytes(a.memory_bytes)} in memory")
    if a.disk_bytes is not None:
        parts.append(f"{format_bytes(a.disk_bytes)} on disk")
    layout = {k: v for k, v in a.layout.items()
              if k not in ("columns", *SHOWN_ONCE, *(("dims",) if named else ()))}  # fmt: skip
    if layout:
        parts.append("[dim]" + escape(", ".join(f"{k}={v}" for k, v in layout.items())) + "[/]")
    return "  ".join(parts)


def _named_shape(dims: list, shape: tuple[int | None, ...]) -> str:
    """``(time: 29, lat: 3)``: a shape with its dimensions' names, as xarray prints it."""
    inner = ", ".join(f"{n + ': ' if n else ''}{'None' if d is None else d}"
                      for n, d in zip(dims, shape, strict=True))  # fmt: skip
    return escape(f"({inner})")


def _detail_lines(item: InspectedItem, a: ArrayHandle) -> list[str]:
    lines = []
    if a.unsafe:
        lines.append(f"[red]not read:[/] {escape(a.unsafe)}")
    elif a.skip:
        lines.append(f"[dim]skipped: {escape(a.skip)}[/]")
    if item.error:
        lines.append(f"[red]error:[/] {escape(item.error)}")
    st = item.stats
    if st is None:
        return lines
    d = st.to_dict()
    if "distinct" in d:  # text values: the classes, not a numeric range
        classes = d.get("classes", {})
        shown = ", ".join(f"{escape(repr(v) if not v or v != v.strip() else v)} {n:,}"
                          for v, n in list(classes.items())[:10])  # fmt: skip
        more = ", …" if len(classes) > 10 or "classes_shown" in d else ""
        missing = f"  [red]missing {d['missing']:,}[/]" if d.get("missing") else ""
        lines.append(f"{d['distinct']:,} distinct: {shown}{more}{missing}" if classes
                     else f"{d['distinct']} distinct{missing}")  # fmt: skip
        return lines
    nonfinite = f"NaN {st.nan:,}  +Inf {st.posinf:,}  -Inf {st.neginf:,}"
    style = "red" if st.nonfinite else "dim"
    lines.append(f"min {_num(d['min'])}  max {_num(d['max'])}  [{style}]{nonfinite}[/]")
    lengths = d.get("lengths")
    if lengths and a.ragged:
        lines.append(
            f"lengths: {lengths['count']:,} sequences, min {lengths['min']}, max {lengths['max']}, "
            f"mean {lengths['mean']}, p50 {lengths['p50']}, p95 {lengths['p95']}, p99 {lengths['p99']}, "
            f"empty {lengths['zero']}"
        )
        lines.extend(histogram_lines(st.length_bins(10)))
    return lines


def _num(v) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def histogram_lines(bins: list[list[int]], width: int = 40) -> list[str]:
    """A terminal histogram from ``[[lo, hi, count], …]`` bins (see ``ArrayStats.length_bins``)."""
    if not bins:
        return []
    peak = max(1, max(c for _, _, c in bins))
    label_w = len(str(bins[-1][1])) * 2 + 1
    lines = []
    for lo, hi, c in bins:
        label = (f"{lo}–{hi}" if hi > lo else f"{lo}").rjust(label_w)
        bar = BAR * max(1 if c else 0, round(width * c / peak))
        lines.append(f"[dim]{label}[/] {bar} {c:,}")
    return lines


# -- explain ----------------------------------------------------------------------------------------
def render_explain(found, *, no_color: bool = False) -> None:
    out = console(no_color)
    if isinstance(found, tuple):
        for c in found:
            style = SEVERITY_STYLE[c.severity.value]
            out.print(
                f"[bold]{c.code}[/]  {c.name:<24} [{style}]{c.severity.value:<7}[/]  {escape(c.summary())}"
            )
        return
    c = found
    out.print(f"[bold]{c.code} {c.name}[/]  ([{SEVERITY_STYLE[c.severity.value]}]{c.severity.value}[/], "
              f"{c.family}, since {c.since})")  # fmt: skip
    out.print(escape(c.summary()))
    for title, text in c.sections().items():
        out.print(f"\n[bold]{title}[/]")
        out.print(escape(text, lines=True))  # a section is paragraphs of lines


# -- repairs --------------------------------------------------------------------------------------
def render_repair(result, *, no_color: bool = False) -> None:
    out, err = console(no_color), console(no_color, stderr=True)
    shape = format_shape(result.shape)
    out.print(f"[bold]{result.operation}[/] {escape(result.source)} → {shape} {result.dtype}")
    for path in result.outputs:
        out.print(f"  wrote {escape(path)}")
    d = result.details
    if result.operation == "bucket":
        for b in d["buckets"]:
            hi = "∞" if b["max_length"] is None else b["max_length"]
            out.print(
                f"  bucket {b['bucket']}: lengths [{b['min_length']}, {hi})  {b['count']:,} sequences, maxlen {b['maxlen']}"
            )
        saved = d["padding_saved"]
        total = max(1, d["padding_global_maxlen"])
        out.print(f"  padding: {d['padding_bucketed']:,} cells with buckets vs {d['padding_global_maxlen']:,} with one "
                  f"maxlen of {d['global_maxlen']} — {saved:,} saved ({100 * saved / total:.1f}%)")  # fmt: skip
    if result.operation == "dropna":
        out.print(f"  kept {d['kept']:,} of {d['rows']:,} rows ({d['dropped']:,} dropped)")
    if result.operation == "window":
        out.print(f"  {d['windows']:,} windows of {d['length']} rows from {d['rows']:,} rows in "
                  f"{d['series']:,} series: {escape(d['rule'])}")  # fmt: skip
        if d.get("split"):
            sp = d["split"]
            out.print(f"  validation: {sp['validation_windows']:,} windows in {escape(sp['validation_output'])} "
                      f"(split {sp['fraction']}, gap {sp['gap']} rows)")  # fmt: skip
    if result.operation == "impute":
        fill = d["fill"]
        pairs = list(fill.items()) if isinstance(fill, dict) else list(enumerate(fill))
        shown = ", ".join(f"{k}={v}" for k, v in pairs[:10]) + (" …" if len(pairs) > 10 else "")
        out.print(f"  {d['strategy']}: {escape(shown)}")
    if result.operation == "shift":
        out.print(f"  ids {d['min_id']}…{d['max_id']} → {d['min_id'] + d['by']}…{d['max_id'] + d['by']} "
                  f"({d['ids']:,} ids); padding: {escape(d['padding'])}")  # fmt: skip
        v = d["vocab_size"]
        out.print(f"  [bold]new vocabulary size {v}[/]: set Embedding(input_dim={v}) — Keras "
                  f"Embedding({v}, dim, mask_zero=True), PyTorch nn.Embedding({v}, dim, padding_idx=0)")  # fmt: skip
    for f in result.findings:
        print_finding(out, f)
    for w in result.warnings:
        err.print(f"[yellow]dsdoctor: warning:[/] {escape(w)}")


def render_repair_outcome(outcome: RepairOutcome, *, no_color: bool = False) -> None:
    """What ``repair`` applied, skipped (and why) and could not fix."""
    out = console(no_color)
    for a in outcome.applied:
        out.print(
            f"[green]applied[/] {a['code']} {a['finding']} ({a['safety']}): {escape(a['command'])}"
        )
        if a.get("after") == "shift":
            out.print(f"  read the shifted ids {escape(a['source'])}: padding 0 is no real id")
        for p in a["outputs"]:
            out.print(f"  wrote {escape(p)}")
        if a["result"].get("operation") == "shift":
            v = a["result"]["details"]["vocab_size"]
            out.print(f"  new vocabulary size {v}: set Embedding(input_dim={v})")
    for s in outcome.skipped:
        out.print(
            f"[yellow]skipped[/] {s['code']} {s['finding']} ({s['safety']}): {escape(s['command'])}\n  because {escape(s['reason'])}"
        )
    unfixed = [f for f in outcome.report.findings if not f.fixes]
    for f in unfixed:
        out.print(f"[dim]no fix[/] {f.code} {f.name}: {escape(f.message)}")
    out.print(
        f"[bold]{len(outcome.applied)} applied, {len(outcome.skipped)} skipped, {len(unfixed)} without a fix[/]"
    )


def _render_bucketing(out, p) -> None:
    """``plan --buckets K``: steps and padded batch bytes with the buckets against one maxlen,
    then one line per bucket."""
    b = p.bucketing
    out.print(
        f"  bucketed steps       {b['steps_per_epoch']:,} per epoch with {b['k']} buckets "
        f"({b['steps_per_epoch_drop_last']:,} with drop_last), {p.steps_per_epoch:,} without"
    )
    top = b["buckets"][b["largest_bucket"]]
    out.print(
        f"  bucketed batch       {format_bytes(b['bytes_per_batch'])} at most (bucket "
        f"{top['bucket']}: {min(top['count'], p.batch_size):,} samples padded to {top['maxlen']:,}), "
        f"{format_bytes(p.bytes_per_batch)} without"
    )
    for one in b["buckets"]:
        hi = "∞" if one["max_length"] is None else one["max_length"]
        lengths = f"[{one['min_length']}, {hi})"
        out.print(
            f"    bucket {one['bucket']}  lengths {lengths:<14} {one['count']:>9,} samples  "
            f"maxlen {one['maxlen']:<7,} {one['steps']:>7,} step{'' if one['steps'] == 1 else 's'}  "
            f"batch {format_bytes(one['bytes_per_batch'])}"
        )


def render_training_plan(p, *, no_color: bool = False) -> None:
    """The training plan (``dsdoctor plan``): steps, batch bytes, padding, learning rate."""
    out = console(no_color)
    out.print(f"[bold]{escape(p.source)}[/]: {p.samples:,} samples, batch size {p.batch_size}")
    out.print(
        f"  steps per epoch      {p.steps_per_epoch:,} ({p.steps_per_epoch_drop_last:,} with drop_last)"
    )
    out.print(f"  last batch           {p.last_batch:,} samples")
    if p.input_shape is not None and p.input_width is None:
        values = math.prod(d for d in p.input_shape if d is not None)
        out.print(f"  input shape          {format_shape((None, *p.input_shape))}: each sample "
                  f"holds {values:,} values, whatever the batch size ({p.batch_size} is samples "
                  "per step)")  # fmt: skip
    elif p.input_shape is not None:
        width = p.input_width
        out.print(
            f"  input width          {width:,} (input shape {format_shape((None, *p.input_shape))}): "
            f"the input layer has {width:,} unit{'s' if width != 1 else ''} from the features, "
            f"whatever the batch size ({p.batch_size} is samples per step, not a layer width)"
        )
    if p.target is not None:
        out.print(f"  target               {escape(p.target)} (not counted in bytes per sample)")
    out.print(
        f"  bytes per sample     {format_bytes(p.bytes_per_sample)}"
        + (f" (padded to {p.maxlen})" if p.maxlen is not None else "")
    )
    out.print(f"  bytes per batch      {format_bytes(p.bytes_per_batch)}")
    if p.max_batch_for_memory is not None:
        out.print(f"  largest batch in {format_bytes(p.memory)}: {p.max_batch_for_memory:,}")
    if p.padding:
        pad = p.padding
        out.print(
            f"  padding              {100 * pad['waste']:.1f}% of {pad['cells']:,} cells with one maxlen"
        )
        if "buckets" in pad:
            b = pad["buckets"]
            out.print(
                f"  with {b['k']} buckets         {100 * b['waste']:.1f}% (boundaries {', '.join(map(str, b['boundaries']))})"
            )
    if p.bucketing:
        _render_bucketing(out, p)
    if p.learning_rate:
        lr = p.learning_rate
        out.print(
            f"  learning rate        {lr['linear']:.3g} (linear) or {lr['sqrt']:.3g} (square root), from {lr['base']:g} at {lr['base_batch']}"
        )
    for note in p.notes:
        out.print(f"  [yellow]note:[/] {escape(note)}")
