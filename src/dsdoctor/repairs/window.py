"""``window``: a series of T rows (T, F) → N windows (N, L, F), with each window's target aligned.

The windows are those of ``keras.utils.timeseries_dataset_from_array``: window ``i`` holds the
rows ``starts[i] + j * sampling_rate`` for ``j`` in ``0 … L-1``, and ``starts`` steps by
``stride`` from the series' first row, as long as the window fits. What Keras lacks:

- **targets with a horizon**: window ``i``'s target is the row ``horizon`` steps after the
  window's last row, ``target_rows[i] = starts[i] + (L - 1) * sampling_rate + horizon``
  (horizon 1, the next step, by default; 0 is the window's last row). A window whose target row
  is past the end of its series is not made. The outputs hold ``starts`` and ``target_rows``
  (0-based rows of the source) beside the data, and the rule is in the provenance.
- **groups** (``group``): several series in one table, each a contiguous run of rows with one
  group value. No window (or target) crosses from one series into the next. A group whose rows
  are not contiguous (it appears again after another group) is refused, naming the row: sort
  the table by group, then time, first.
- **time** (``time``): each series' time must increase strictly; a row whose time is not after
  the previous row's is refused, naming it. An interval longer than the series' usual step
  (the most common interval), or than ``max_step``, is a *gap*: windows never span one — the
  series is cut there, as at a group boundary — and the gaps are counted in the result.
- **a chronological split before windowing** (``split``, ``gap``): each series' first
  ``split`` fraction of rows is the training part; its validation part starts ``gap`` rows
  after the training part ends. Windows (and their targets) are cut in each part separately, so
  no row of a validation window is in a training window. The validation windows go to a second
  output named like ``-o`` with ``.val`` before the extension (``w.npy`` → ``w.val.npy``).

The windows are streamed in blocks of about ``chunk_bytes`` each: one block of windows and the
rows it spans are in memory at a time, never the L copies of the series the windows are, so the
output may be far larger than memory. In memory (:func:`window`) the windows of one series are a
strided view of the data (no copy); windows of several series or parts are gathered (a copy).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import RepairError, SourceError, UsageError
from ..sources import DEFAULT_CHUNK_BYTES, ArrayHandle
from ..units import format_shape, parse_count, parse_number
from .base import dense, memory_handle, option, require_dense, result, source_handle
from .result import RepairResult
from .write import input_paths, provenance

#: The part of a series a window is cut from (``split``).
TRAIN, VALIDATION = 0, 1
#: What the validation output's name has before its extension.
VAL_SUFFIX = "val"
#: Bytes of windows cut and written at a time (at most ``--chunk-size``): a block that fits the
#: CPU's cache is copied out of the strided view and written from there, where a 64 MiB block
#: goes to memory and back (a 305 MiB output: 0.66 s in 4 MiB blocks, 0.96 s in 64 MiB ones).
#: A Parquet output takes ``--chunk-size`` blocks: each is a row group.
BLOCK_BYTES = 4 * 1024**2


@dataclass(frozen=True)
class Spec:
    """The validated options: how windows are cut and where their targets are."""

    length: int
    stride: int
    sampling_rate: int
    horizon: int | None  # None: no targets
    split: float | None
    gap: int

    @property
    def last(self) -> int:
        """Rows from a window's first row to its last."""
        return (self.length - 1) * self.sampling_rate

    @property
    def reach(self) -> int:
        """Rows from a window's first row to the last row it needs (its target's, if any)."""
        return self.last + (self.horizon or 0)

    def rule(self) -> str:
        text = (
            f"window i holds rows starts[i] + j*{self.sampling_rate} for j in 0..{self.length - 1}"
        )
        if self.horizon is not None:
            text += f"; its target is row target_rows[i] = starts[i] + {self.last + self.horizon}"
            text += f" ({self.horizon} after the window's last row)"
        return text

    def counts(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Windows in each run of rows ``[a, b)``."""
        size = b - a
        return np.where(size > self.reach, (size - self.reach - 1) // self.stride + 1, 0)


def validate(
    h: ArrayHandle,
    *,
    length: Any,
    stride: Any,
    sampling_rate: Any,
    horizon: Any,
    has_target: bool,
    split: Any,
    gap: Any,
) -> Spec:
    """The window spec, or the refusal (the same whichever entry is called)."""
    require_dense(h, "window")
    if length is None:
        raise UsageError("give the window length: --length L (the model's timesteps)")
    n_len = option(parse_count, "--length", length, low=1)
    n_stride = option(parse_count, "--stride", stride, low=1)
    rate = option(parse_count, "--sampling-rate", sampling_rate, low=1)
    if horizon is not None and not has_target:
        raise UsageError("--horizon places the targets: give them with --target COL or --y SRC")
    h_steps = None
    if has_target:
        h_steps = 1 if horizon is None else option(parse_count, "--horizon", horizon, low=0)
    fraction = None
    if split is not None:
        fraction = float(option(parse_number, "--split", split, finite=True))
        if not 0 < fraction < 1:
            raise UsageError(f"--split {split}: the training fraction must be between 0 and 1")
    elif gap:
        raise UsageError("--gap separates the parts of --split; give --split too")
    n_gap = option(parse_count, "--gap", gap or 0, low=0)
    return Spec(n_len, n_stride, rate, h_steps, fraction, n_gap)


# -- the rows: features, targets, groups and times read side by side ------------------------------
Rows = dict[str, np.ndarray]


def aligned(streams: list[Iterator[Rows]], names: list[str]) -> Iterator[Rows]:
    """Blocks holding the same rows of every stream (each cut to the shortest), so sources read
    in chunks of different sizes are read once each, side by side, in bounded memory."""
    if len(streams) == 1:
        yield from streams[0]
        return
    pending: list[Rows | None] = [None] * len(streams)
    while True:
        for i, s in enumerate(streams):
            while pending[i] is None or not _rows(pending[i]):
                nxt = next(s, None)
                if nxt is None:
                    if any(p is not None and _rows(p) for p in pending):
                        raise RepairError(f"{names[i]} ended before the others: the series and "
                                          "its targets, groups and times must have the same rows")  # fmt: skip
                    return
                pending[i] = nxt
        k = min(_rows(p) for p in pending if p is not None)
        yield {role: part[:k] for p in pending if p is not None for role, part in p.items()}
        pending = [{r: v[k:] for r, v in p.items()} if p is not None else None for p in pending]


def _rows(block: Rows | None) -> int:
    return len(next(iter(block.values()))) if block else 0


class RowWindow:
    """Rows ``[lo, hi)`` of a row stream, asked for with ``lo`` never going back: the rows
    before ``lo`` are dropped, the ones after ``hi`` read as needed (copied: a source may reuse
    a chunk's buffer for its next read)."""

    def __init__(self, stream: Iterator[Rows]) -> None:
        self.stream, self.lo = stream, 0
        self.buf: Rows = {}

    def get(self, lo: int, hi: int) -> Rows:
        held = _rows(self.buf)
        if lo >= self.lo + held:  # nothing held is wanted
            skip, self.buf, self.lo = lo - self.lo - held, {}, lo
            while skip > 0:
                part = next(self.stream)
                n = _rows(part)
                if n > skip:
                    self.buf = {r: v[skip:].copy() for r, v in part.items()}
                    break
                skip -= n
        else:
            self.buf = {r: v[lo - self.lo :] for r, v in self.buf.items()}
            self.lo = lo
        parts = [self.buf] if self.buf else []
        have = _rows(self.buf)
        while self.lo + have < hi:
            part = next(self.stream)  # the next read may reuse its buffer: copied at once
            parts.append({r: v.copy() for r, v in part.items()})
            have += _rows(part)
        if len(parts) > 1:
            self.buf = {r: np.concatenate([p[r] for p in parts]) for r in parts[0]}
        elif parts:
            self.buf = parts[0]
        return {r: v[: hi - lo] for r, v in self.buf.items()}


# -- where the windows are: series, gaps, parts ----------------------------------------------------
@dataclass
class Layout:
    """The runs of rows windows are cut from: ``a``/``b`` (row ranges, in row order) and
    ``part`` (TRAIN or VALIDATION), and what was found on the way."""

    rows: int
    a: np.ndarray
    b: np.ndarray
    part: np.ndarray
    series: int = 1
    gaps: int = 0
    step: Any = None
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def layout(rows: int, spec: Spec, group_starts: np.ndarray, gap_starts: np.ndarray) -> Layout:
    """The runs of rows between series boundaries and time gaps, split into parts."""
    breaks = np.union1d(group_starts, gap_starts).astype(np.int64)
    if rows == 0:
        breaks = np.zeros(0, dtype=np.int64)
    a = breaks
    b = np.append(breaks[1:], rows).astype(np.int64)
    part = np.zeros(len(a), dtype=np.int8)
    if spec.split is not None:
        g_end = np.append(group_starts[1:], rows).astype(np.int64)
        cut = group_starts + np.floor(spec.split * (g_end - group_starts)).astype(np.int64)
        which = np.searchsorted(group_starts, a, side="right") - 1
        c, v = cut[which], cut[which] + spec.gap
        ta, tb = a, np.minimum(b, c)
        va, vb = np.maximum(a, v), b
        keep_t, keep_v = tb > ta, vb > va
        a = np.concatenate([ta[keep_t], va[keep_v]])
        b = np.concatenate([tb[keep_t], vb[keep_v]])
        part = np.concatenate([np.full(keep_t.sum(), TRAIN), np.full(keep_v.sum(), VALIDATION)])
        order = np.argsort(a, kind="stable")
        a, b, part = a[order], b[order], part[order].astype(np.int8)
    out = Layout(rows, a, b, part, series=max(1, len(group_starts)), gaps=len(gap_starts))
    out.counts = spec.counts(a, b)
    return out


@dataclass
class Order:
    """What one pass over the group and time columns found."""

    group_starts: list[np.ndarray] = field(default_factory=list)
    #: How many intervals of each length (up to MAX_STEPS distinct lengths).
    steps: Counter = field(default_factory=Counter)
    time_unit: str | None = None
    time_kind: str | None = None


#: Distinct interval lengths counted to find the most common one: more, and the time is too
#: irregular for a most common step (a float clock: every interval its own), so ``--max-step``
#: is asked for instead of holding a count per row.
MAX_STEPS = 65_536


def scan_order(blocks: Iterable[Rows], group_name: str | None, time_name: str | None) -> Order:
    """Group boundaries (a group seen again after another is refused) and, with a time, the
    count of every interval within a series (a time not after the previous row's is refused)."""
    found = Order()
    seen: set[Any] = set()
    prev_g: Any = None
    prev_t: Any = None
    start = 0
    for block in blocks:
        n = _rows(block)
        new = np.zeros(n, dtype=bool)
        if "group" in block:
            g = block["group"]
            new[1:] = g[1:] != g[:-1]
            new[0] = start == 0 or g[0] != prev_g
            for i in np.flatnonzero(new).tolist():  # once per series
                value = g[i].item() if hasattr(g[i], "item") else g[i]
                if value in seen:
                    raise RepairError(
                        f"{group_name}: the rows of group {value!r} are not contiguous (it "
                        f"appears again at row {start + i:,}, after other groups); sort the rows "
                        "by group, then by time, first (e.g. pandas "
                        "df.sort_values([group, time], kind='stable'))"
                    )
                seen.add(value)
            prev_g = g[-1] if n else prev_g
            found.group_starts.append(np.flatnonzero(new) + start)
        elif start == 0 and n:
            new[0] = True
            found.group_starts.append(np.zeros(1, dtype=np.int64))
        if "time" in block:
            t, found.time_kind, found.time_unit = time_values(block["time"], time_name, start)
            d = np.empty(n, dtype=t.dtype)
            d[1:] = t[1:] - t[:-1]
            if n:
                d[0] = t[0] - prev_t if prev_t is not None else 0
            within = ~new
            bad = np.flatnonzero(within & (d <= 0))
            if len(bad):
                i = int(bad[0])
                raise RepairError(
                    f"{time_name}: row {start + i:,}'s time is not after row {start + i - 1:,}'s "
                    f"({show_time(t[i], found)} after {show_time(t[i] - d[i], found)}); time must "
                    "increase within each series — sort the rows by time (within each group) "
                    "and drop duplicated timestamps first"
                )
            if len(found.steps) <= MAX_STEPS:  # past it the clock is irregular: no mode
                values, counts = np.unique(d[within], return_counts=True)
                found.steps.update(dict(zip(values.tolist(), counts.tolist(), strict=True)))
            prev_t = t[-1] if n else prev_t
        start += n
    return found


def scan_gaps(blocks: Iterable[Rows], step: Any, order: Order) -> np.ndarray:
    """The rows whose interval from the previous row (within a series) is longer than ``step``."""
    starts = np.concatenate(order.group_starts) if order.group_starts else np.zeros(0, np.int64)
    out: list[np.ndarray] = []
    prev_t: Any = None
    start = 0
    for block in blocks:
        t, _, _ = time_values(block["time"], None, start)
        n = len(t)
        d = np.empty(n, dtype=t.dtype)
        d[1:] = t[1:] - t[:-1]
        if n:
            d[0] = t[0] - prev_t if prev_t is not None else 0
        over = np.flatnonzero(d > step) + start
        out.append(over[~np.isin(over, starts)])
        prev_t = t[-1] if n else prev_t
        start += n
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def time_values(t: np.ndarray, name: str | None, start: int) -> tuple[np.ndarray, str, str | None]:
    """A time column as numbers that subtract: datetimes as int64 counts of their unit."""
    if t.dtype.kind == "M":
        if name is not None and np.isnat(t).any():
            raise RepairError(f"{name}: row {start + int(np.argmax(np.isnat(t))):,} has no time "
                              "(NaT); drop or fill it first")  # fmt: skip
        return t.view(np.int64), "datetime", np.datetime_data(t.dtype)[0]
    if t.dtype.kind in "iu":
        return t.astype(np.int64, copy=False), "number", None
    if t.dtype.kind == "f":
        if name is not None and np.isnan(t).any():
            raise RepairError(f"{name}: row {start + int(np.argmax(np.isnan(t))):,} has no time "
                              "(NaN); drop or fill it first")  # fmt: skip
        return t, "number", None
    raise RepairError(f"{name or 'the time'} holds {t.dtype} values, not numbers or datetimes; "
                      "give a numeric or datetime column")  # fmt: skip


def show_time(value: Any, order: Order) -> str:
    if order.time_kind == "datetime":
        return str(np.array(int(value), dtype=np.int64).view(f"M8[{order.time_unit}]"))
    return f"{value}"


#: Time units from the finest to the coarsest, for showing a step in the coarsest that is exact.
UNITS = ("ns", "us", "ms", "s", "m", "h", "D")


def show_step(step: Any, order: Order) -> str:
    """A step as the user thinks of it: ``3600000000`` µs → ``1 hours``."""
    if order.time_kind != "datetime":
        return f"{step}"
    delta = np.array(int(step), dtype=np.int64).view(f"m8[{order.time_unit}]")
    unit = order.time_unit
    for coarser in UNITS[UNITS.index(unit) + 1 :] if unit in UNITS else ():
        as_coarser = delta.astype(f"timedelta64[{coarser}]")
        if bool(as_coarser.astype(delta.dtype) != delta):
            break
        delta = as_coarser
    return str(delta)


# -- opening the rows ---------------------------------------------------------------------------
@dataclass
class Inputs:
    """The series and what goes with it, and how to read them (again) from the start."""

    x: ArrayHandle
    rows: int
    y_name: str | None
    y_shape: tuple[int, ...]
    y_dtype: np.dtype | None
    group: str | None
    time: str | None
    #: ``read(roles, chunk_bytes)``: the row blocks of those roles ("x", "y", "group", "time").
    read: Any
    paths: list[Path]
    names: dict[str, str] = field(default_factory=dict)


def _inner(h: ArrayHandle) -> tuple[int, ...]:
    return tuple(int(d) for d in h.shape[1:] if d is not None)


def open_inputs(src: Any, *, target: str | None, y: Any, group: Any, time: Any,
                source_options: dict[str, Any]) -> Inputs:  # fmt: skip
    """The series ``src`` and its targets (a table column ``target`` or the source ``y``), its
    group and time (table columns, or sources of T values), as :class:`Inputs`."""
    opened = _open(src, source_options)  # once: standard input can be read only once
    table = opened if _is_table(opened) else None
    if table is not None:
        return _table_inputs(table, src, target=target, y=y, group=group, time=time,
                             source_options=source_options)  # fmt: skip
    if target is not None:
        if y is not None:
            raise UsageError("give the targets once: --target COL (a table column) or --y SRC")
        from ..sources import parse_source

        try:
            parse_source(target)
        except SourceError:  # not a file either
            raise UsageError(f"--target names a table column, but {src} is not a table; give a "
                             "file of targets with --y SRC") from None  # fmt: skip
        y = target
    if opened is None:
        x = source_handle(src, **source_options)
    else:
        from ..sources import parse_source

        x = opened.array(parse_source(src).selector)
        x.require_readable()
    return _array_inputs(x, y=y, group=group, time=time, source_options=source_options)


def _open(src: Any, source_options: dict[str, Any]) -> Any:
    """The source ``src`` names (None for data in memory or a handle)."""
    if not isinstance(src, str):
        return None
    from ..sources import open_source

    options = {k: v for k, v in source_options.items() if k != "target"}
    return open_source(src, **options)


def _is_table(source: Any) -> bool:
    from ..sources.table import TableSource

    return isinstance(source, TableSource)


def _column_rows(h: ArrayHandle, what: str, rows: int) -> None:
    if h.shape[0] != rows:
        raise RepairError(f"{h.source} has {h.shape[0]:,} rows but the series has {rows:,}; "
                          f"the {what} must have one value per row")  # fmt: skip


def _array_inputs(x: ArrayHandle, *, y: Any, group: Any, time: Any,
                  source_options: dict[str, Any]) -> Inputs:  # fmt: skip
    require_dense(x, "window")
    rows = int(x.shape[0] or 0)
    options = {k: v for k, v in source_options.items() if k != "target"}
    handles: dict[str, ArrayHandle] = {"x": x}
    raw: dict[str, np.ndarray] = {}
    for role, given in (("y", y), ("group", group), ("time", time)):
        if given is None:
            continue
        if role != "y" and isinstance(given, np.ndarray | list | tuple):
            raw[role] = np.asarray(given)  # in memory: datetimes and text as they are
            if len(raw[role]) != rows:
                raise RepairError(f"the {role} has {len(raw[role]):,} values but the series has "
                                  f"{rows:,} rows; give one per row")  # fmt: skip
            continue
        if role != "y" and isinstance(given, str):
            _refuse_column_name(given, role, x)
        hh = (memory_handle(given) if not isinstance(given, str | ArrayHandle)
              else source_handle(given, **options))  # fmt: skip
        require_dense(hh, "window")
        _column_rows(hh, "targets" if role == "y" else role, rows)
        if role != "y" and hh.ndim != 1:
            raise RepairError(f"{hh.source} has shape {format_shape(hh.shape)}; a {role} is one "
                              "value per row, shape (T,)")  # fmt: skip
        if role == "y" and hh.categorical:
            raise RepairError(f"{hh.source} holds text (class labels); number them first: "
                              f"dsdoctor encode {hh.source} -o y.npy")  # fmt: skip
        handles[role] = hh

    def read(roles: list[str], chunk_bytes: int) -> Iterator[Rows]:
        streams, names = [], []
        for role in roles:
            if role in raw:
                streams.append(_memory_rows(role, raw[role], chunk_bytes))
                names.append(f"the {role}")
            else:
                streams.append(_handle_rows(role, handles[role], chunk_bytes))
                names.append(handles[role].source)
        return aligned(streams, names)

    yh = handles.get("y")
    names = {role: h.source for role, h in handles.items()}
    paths = [p for h in handles.values() if h.format != "memory" for p in input_paths(h)]
    return Inputs(x, rows, yh.source if yh is not None else None,
                  _inner(yh) if yh is not None else (), yh.dtype if yh is not None else None,
                  _name(group, names.get("group"), "the group"),
                  _name(time, names.get("time"), "the time"), read, paths, names)  # fmt: skip


def _refuse_column_name(given: str, role: str, x: ArrayHandle) -> None:
    """A ``--group``/``--time`` that names no file: a column name given for an array."""
    from ..sources import parse_source

    try:
        parse_source(given)
    except SourceError:
        raise UsageError(f"--{role} {given}: {x.source} is not a table, so --{role} names a "
                         f"file of one {role} value per row, and {given} is no file") from None  # fmt: skip


def _name(given: Any, source: str | None, default: str) -> str | None:
    if given is None:
        return None
    return source or default


def _handle_rows(role: str, h: ArrayHandle, chunk_bytes: int) -> Iterator[Rows]:
    for chunk in h.chunks(chunk_bytes):
        yield {role: dense(chunk)}


def _memory_rows(role: str, values: np.ndarray, chunk_bytes: int) -> Iterator[Rows]:
    step = max(1, chunk_bytes // max(1, values.itemsize))
    for i in range(0, len(values), step):
        yield {role: values[i : i + step]}


def _table_inputs(table, src: str, *, target: str | None, y: Any, group: Any, time: Any,
                  source_options: dict[str, Any]) -> Inputs:  # fmt: skip
    from ..sources import parse_source

    names = list(table.schema.names)
    for what, col in (("--target", target), ("--group", group), ("--time", time)):
        if col is not None and col not in names:
            raise RepairError(f"{table.display} has no column {col!r} for {what}; it has: "
                              f"{', '.join(names)}")  # fmt: skip
    selector = parse_source(src).selector
    if selector:
        x = table.select(selector)
    else:
        kinds = table.column_kinds()
        left_out = {target, group, time, *table.index_columns()}
        features = [n for n in names if kinds[n] == "numeric" and n not in left_out]
        if not features:
            raise RepairError(f"{table.display} has no numeric feature columns besides the target, "
                              f"group and time; it has: {', '.join(names)}")  # fmt: skip
        x = table.columns_array(features, name="columns")
    x.require_readable()
    if x.ragged or x.kind not in ("scalar", "fixed"):
        raise RepairError(f"{x.source} is not a table of numeric rows; window takes a series "
                          "of numeric columns (one row per timestep)")  # fmt: skip
    rows = int(table.num_rows)
    yh = None
    if target is not None:
        if y is not None:
            raise UsageError("give the targets once: --target COL (a table column) or --y SRC")
        yh = table.columns_array([target])
        if yh.categorical:
            raise RepairError(f"{table.display}:{target} holds text (class labels); number them "
                              f"first: dsdoctor encode {table.display}:{target} -o y.npy")  # fmt: skip
    inner_x = (len(x.columns),) if x.kind == "scalar" else _inner(x)
    other: Inputs | None = None
    if y is not None:
        options = {k: v for k, v in source_options.items() if k != "target"}
        yf = source_handle(y, **options) if isinstance(y, str) else memory_handle(y)
        require_dense(yf, "window")
        _column_rows(yf, "targets", rows)
        other = Inputs(yf, rows, yf.source, _inner(yf), yf.dtype, None, None,
                       lambda roles, cb: _handle_rows("y", yf, cb),
                       input_paths(yf) if yf.format != "memory" else [])  # fmt: skip

    def table_rows(roles: list[str], chunk_bytes: int) -> Iterator[Rows]:
        arrays = [h for role, h in (("x", x), ("y", yh)) if role in roles and h is not None]
        cols = [c for role, c in (("group", group), ("time", time)) if role in roles and c]
        for chunks, batch in table.batches_together(arrays, chunk_bytes, extra=cols):
            block: Rows = {}
            it = iter(chunks)
            if "x" in roles:
                block["x"] = np.asarray(next(it)).reshape(batch.num_rows, *inner_x)
            if "y" in roles and yh is not None:
                block["y"] = np.asarray(next(it))
            index = {name: i for i, name in enumerate(batch.schema.names)}
            if "group" in roles and group:
                block["group"] = arrow_values(
                    batch.column(index[group]), f"{table.display}:{group}", "group"
                )
            if "time" in roles and time:
                block["time"] = arrow_values(
                    batch.column(index[time]), f"{table.display}:{time}", "time"
                )
            yield block

    def read(roles: list[str], chunk_bytes: int) -> Iterator[Rows]:
        mine = [r for r in roles if r != "y" or yh is not None]
        if other is None or "y" not in roles:
            return table_rows(mine, chunk_bytes)
        return aligned([table_rows(mine, chunk_bytes), other.read(["y"], chunk_bytes)],
                       [table.display, other.x.source])  # fmt: skip

    y_name = f"{table.display}:{target}" if yh is not None else (other.y_name if other else None)
    y_shape = _inner(yh) if yh is not None else (other.y_shape if other else ())
    y_dtype = yh.dtype if yh is not None else (other.y_dtype if other else None)
    paths = [table.path, *(other.paths if other else [])]
    return Inputs(x, rows, y_name, y_shape, y_dtype,
                  f"{table.display}:{group}" if group else None,
                  f"{table.display}:{time}" if time else None, read, paths)  # fmt: skip


def arrow_values(col: Any, name: str, what: str) -> np.ndarray:
    """A group or time column of a record batch as numpy (text as objects); a null is refused."""
    import pyarrow as pa

    if col.null_count:
        first = int(np.argmax(col.is_null().to_numpy(zero_copy_only=False)))
        raise RepairError(f"{name}: a row has no {what} (null, at row {first:,} of a batch); "
                          "drop or fill those rows first")  # fmt: skip
    if pa.types.is_dictionary(col.type):
        col = col.dictionary_decode()
    return np.asarray(col.to_numpy(zero_copy_only=False))


# -- the plan: one pass over group/time (two with gaps), then the counts ----------------------------
#: Nanoseconds per unit of a ``--max-step`` duration (and of numpy's datetime units).
NANOSECONDS = {"ns": 1, "us": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9,
               "min": 60 * 10**9, "h": 3600 * 10**9, "D": 86400 * 10**9, "d": 86400 * 10**9,
               "W": 7 * 86400 * 10**9}  # fmt: skip


def max_step_value(given: Any, order: Order) -> Any:
    """``--max-step`` in the time column's own numbers: a duration (``90s``, ``2h``, ``1D``, a
    ``numpy.timedelta64`` or ``datetime.timedelta``) for datetimes, a number otherwise."""
    import datetime
    import re

    if order.time_kind != "datetime":
        value = option(parse_number, "--max-step", given, finite=True)
    else:
        if isinstance(given, datetime.timedelta):
            given = np.timedelta64(given)
        if isinstance(given, np.timedelta64):
            ns = int(given.astype("timedelta64[ns]").astype(np.int64))
        else:
            m = re.fullmatch(
                r"\s*([0-9]+(?:\.[0-9]+)?)\s*(ns|us|ms|s|min|m|h|D|d|W)\s*", str(given)
            )
            if m is None:
                raise UsageError(f"--max-step {given}: the time is a datetime; give a duration "
                                 "such as 90s, 15min, 2h or 1D")  # fmt: skip
            ns = round(float(m[1]) * NANOSECONDS[m[2]])
        unit = order.time_unit or "ns"
        value = ns // NANOSECONDS.get(unit, 1) if unit in NANOSECONDS else ns
    if not value > 0:
        raise UsageError(f"--max-step {given}: the longest step must be more than 0")
    return value


def plan_layout(
    inp: Inputs, spec: Spec, chunk_bytes: int, max_step: Any = None
) -> tuple[Layout, Order]:
    roles = [r for r, c in (("group", inp.group), ("time", inp.time)) if c is not None]
    if max_step is not None and inp.time is None:
        raise UsageError("--max-step says which time intervals are gaps; give --time too")
    order = Order()
    if roles:
        order = scan_order(inp.read(roles, chunk_bytes), inp.group, inp.time)
    starts = np.concatenate(order.group_starts) if order.group_starts else np.zeros(1, np.int64)
    if inp.rows == 0:
        starts = np.zeros(0, dtype=np.int64)
    gaps = np.zeros(0, dtype=np.int64)
    if inp.time is not None and max_step is None and len(order.steps) > MAX_STEPS:
        raise RepairError(f"{inp.time} has more than {MAX_STEPS:,} different intervals between "
                          "rows, so it has no usual step to tell gaps by; give the longest "
                          "interval that is not a gap with --max-step")  # fmt: skip
    if inp.time is not None and order.steps:
        order_step = (max(order.steps.items(), key=lambda kv: (kv[1], -kv[0]))[0]
                      if max_step is None else max_step_value(max_step, order))  # fmt: skip
        gaps = scan_gaps(inp.read(["time"], chunk_bytes), order_step, order)
        lay = layout(inp.rows, spec, starts.astype(np.int64), gaps)
        lay.step = order_step
    else:
        lay = layout(inp.rows, spec, starts.astype(np.int64), gaps)
    return lay, order


def refuse_empty(lay: Layout, spec: Spec, source: str) -> None:
    need = spec.reach + 1
    what = f"{need:,} rows (length {spec.length}"
    what += f", sampling rate {spec.sampling_rate}" if spec.sampling_rate > 1 else ""
    what += f", horizon {spec.horizon})" if spec.horizon else ")"
    longest = int((lay.b - lay.a).max(initial=0))
    parts = [TRAIN, VALIDATION] if spec.split is not None else [TRAIN]
    for p in parts:
        if not int(lay.counts[lay.part == p].sum()):
            part = {TRAIN: "the training part", VALIDATION: "the validation part"}[p]
            where = part if spec.split is not None else source
            cut = (" (series are cut at group boundaries and time gaps)"
                   if lay.series > 1 or lay.gaps else "")  # fmt: skip
            raise RepairError(f"{where} gives no window: a window needs {what} and the longest "
                              f"run of rows is {longest:,}{cut}; use a shorter --length"
                              + (" or another --split/--gap" if spec.split is not None else "")
                              + (f" (the time has {lay.gaps:,} gaps: if its intervals only jitter, "
                                 "say which is a gap with --max-step)" if lay.gaps else ""))  # fmt: skip


def window_blocks(lay: Layout, spec: Spec, row_bytes: int, chunk_bytes: int, block_bytes: int
                  ) -> Iterator[tuple[np.ndarray, np.ndarray]]:  # fmt: skip
    """The windows' start rows in row order, a block at a time: ``(starts, parts)``. A block's
    windows are about ``block_bytes`` of output and span at most ``chunk_bytes`` of source
    rows."""
    cum = np.cumsum(lay.counts)
    total = int(cum[-1]) if len(cum) else 0
    per_block = max(1, block_bytes // max(1, spec.length * row_bytes))
    span_rows = max(1, chunk_bytes // max(1, row_bytes))
    i = 0
    while i < total:
        idx = np.arange(i, min(total, i + per_block), dtype=np.int64)
        seg = np.searchsorted(cum, idx, side="right")
        starts = lay.a[seg] + spec.stride * (idx - (cum[seg] - lay.counts[seg]))
        fits = starts - starts[0] + spec.reach < span_rows
        keep = max(1, int(np.argmin(fits)) if not fits.all() else len(starts))
        yield starts[:keep], lay.part[seg[:keep]]
        i += keep


def cut_windows(x: np.ndarray, rel: np.ndarray, spec: Spec) -> np.ndarray:
    """The windows starting at rows ``rel`` of ``x``: a strided view when they are evenly
    spaced (a window of one series), else gathered (a copy)."""
    step = int(rel[1] - rel[0]) if len(rel) > 1 else spec.stride
    if step > 0 and (len(rel) < 3 or bool(np.all(np.diff(rel) == step))):
        base = x[int(rel[0]) :]
        return np.lib.stride_tricks.as_strided(
            base, shape=(len(rel), spec.length, *x.shape[1:]),
            strides=(step * x.strides[0], spec.sampling_rate * x.strides[0], *x.strides[1:]),
            writeable=False)  # fmt: skip
    idx = rel[:, None] + spec.sampling_rate * np.arange(spec.length, dtype=np.int64)
    return x[idx]


def nan_rows(x: np.ndarray) -> np.ndarray | None:
    """Which rows of ``x`` hold a NaN (any feature), or None for a dtype that cannot."""
    if x.dtype.kind not in "fc":
        return None
    return np.isnan(x.reshape(len(x), -1)).any(axis=1)


def with_nan(flags: np.ndarray, rel: np.ndarray, spec: Spec) -> np.ndarray:
    """Which windows starting at rows ``rel`` take a row that ``flags`` marks: from running
    counts along each residue of the sampling rate, never the windows themselves (L copies)."""
    rate = spec.sampling_rate
    if not len(rel):
        return np.zeros(0, dtype=bool)
    # along[i] = flags[i] + flags[i - rate] + flags[i - 2 * rate] + …
    padded = np.zeros(-(-len(flags) // rate) * rate, dtype=np.int64)
    padded[: len(flags)] = flags
    along = np.cumsum(padded.reshape(-1, rate), axis=0).reshape(-1)
    last = along[rel + spec.last]
    before = np.where(rel >= rate, along[np.maximum(rel - rate, 0)], 0)
    return (last - before) > 0


@dataclass
class NanCount:
    """Windows (and targets) that hold a NaN, per part, and the first such window's start row."""

    windows: dict[int, int] = field(default_factory=dict)
    targets: dict[int, int] = field(default_factory=dict)
    first: int | None = None

    def add(self, part: int, flags: np.ndarray | None, rel: np.ndarray, starts: np.ndarray,
            spec: Spec, y: np.ndarray | None) -> None:  # fmt: skip
        if flags is not None:
            bad = with_nan(flags, rel, spec)
            self.windows[part] = self.windows.get(part, 0) + int(np.count_nonzero(bad))
            if self.first is None and bad.any():
                self.first = int(starts[int(np.argmax(bad))])
        ybad = nan_rows(y) if y is not None else None
        if ybad is not None:
            self.targets[part] = self.targets.get(part, 0) + int(np.count_nonzero(ybad))

    def warning(self, parts: list[int], names: dict[int, str], total: dict[int, int],
                target: str | None) -> str | None:  # fmt: skip
        """What the result says when a window or a target holds NaN, else None."""
        said = []
        for p in parts:
            n, t = self.windows.get(p, 0), self.targets.get(p, 0)
            where = f" ({names[p]})" if len(parts) > 1 else ""
            if n:
                said.append(f"{n:,} of {total[p]:,} windows{where} hold NaN")
            if t:
                said.append(f"{t:,} targets{where} ({target}) are NaN")
        if not said:
            return None
        first = (
            f" (the first window starts at row {self.first:,})" if self.first is not None else ""
        )
        return (
            f"{'; '.join(said)}{first}: a recurrent layer carries a NaN on to every later step "
            "and the loss becomes NaN. Fill or drop the NaN rows first (dsdoctor impute, "
            "dsdoctor dropna), then window"
        )


@dataclass
class Windows:
    """Windows in memory: ``data`` (N, L, …), ``starts`` (N,) their first rows in the source,
    with targets ``y`` (N, …) and ``target_rows`` (N,), and how many windows hold NaN."""

    data: np.ndarray
    starts: np.ndarray
    y: np.ndarray | None = None
    target_rows: np.ndarray | None = None
    #: windows that take a row holding NaN (what ``window_file`` warns about)
    nan_windows: int = 0


@dataclass
class WindowSplit:
    """The training and validation windows of ``window(..., split=)``."""

    train: Windows
    validation: Windows

    def __iter__(self) -> Iterator[Windows]:
        return iter((self.train, self.validation))


def window(data: Any, *, length: int | None = None, stride: int = 1, sampling_rate: int = 1, y: Any = None,
           horizon: int | None = None, group: Any = None, time: Any = None,
           split: float | None = None, gap: int = 0, max_step: Any = None
           ) -> Windows | WindowSplit:  # fmt: skip
    """Cut a series (T, …) into windows in memory, as :func:`window_file` does; refused exactly
    as it refuses. ``y`` (T, …) are the targets, ``group`` and ``time`` (T,) the series id and
    time of each row."""
    h = memory_handle(data)
    spec = validate(h, length=length, stride=stride, sampling_rate=sampling_rate,
                    horizon=horizon, has_target=y is not None, split=split, gap=gap)  # fmt: skip
    inp = _array_inputs(h, y=y, group=group, time=time, source_options={})
    lay, _ = plan_layout(inp, spec, DEFAULT_CHUNK_BYTES, max_step)
    refuse_empty(lay, spec, h.source)
    x = dense(h.read())
    ys = None
    if y is not None:
        ys = dense(source_handle(y).read()) if isinstance(y, str) else np.asarray(y)
    out = []
    flags = nan_rows(x)
    for p in [TRAIN, VALIDATION] if spec.split is not None else [TRAIN]:
        sel = lay.part == p
        a, counts = lay.a[sel], lay.counts[sel]
        before = np.cumsum(counts) - counts  # windows in the runs before each run
        starts = (np.repeat(a - spec.stride * before, counts)
                  + spec.stride * np.arange(int(counts.sum()), dtype=np.int64))  # fmt: skip
        bad = 0 if flags is None else int(np.count_nonzero(with_nan(flags, starts, spec)))
        w = Windows(cut_windows(x, starts, spec), starts, nan_windows=bad)
        if ys is not None:
            w.target_rows = starts + spec.reach
            w.y = ys[w.target_rows]
        out.append(w)
    return WindowSplit(*out) if spec.split is not None else out[0]


def validation_output(out: str) -> str:
    """``w.npy`` → ``w.val.npy``; ``w.h5:/x`` → ``w.val.h5:/x`` (a file of its own)."""
    from ..sinks import parse_destination

    dest = parse_destination(out)
    name = dest.path.name
    suffix = dest.path.suffix
    stem = name[: -len(suffix)] if suffix else name
    path = dest.path.with_name(f"{stem}.{VAL_SUFFIX}{suffix}")
    tail = out[len(str(dest.path)) :] if out.startswith(str(dest.path)) else ""
    return f"{path}{tail}"


def window_file(src: Any, out: str, *, length: int | None = None, stride: int = 1,
                sampling_rate: int = 1, target: str | None = None, y: Any = None,
                horizon: int | None = None, group: Any = None, time: Any = None,
                split: float | None = None, gap: int = 0, max_step: Any = None, force: bool = False,
                chunk_bytes: int = DEFAULT_CHUNK_BYTES, **source_options: Any) -> RepairResult:  # fmt: skip
    """Cut the series ``src`` into windows written to ``out`` (and, with ``split``, the
    validation windows to ``validation_output(out)``), streamed in blocks of about
    ``chunk_bytes``. Targets: a table column ``target`` or a source ``y`` of T rows."""
    from contextlib import ExitStack

    from ..sinks import committed_together, parse_destination, stream_arrays

    inp = open_inputs(src, target=target, y=y, group=group, time=time,
                      source_options=source_options)  # fmt: skip
    x = inp.x
    spec = validate(x, length=length, stride=stride, sampling_rate=sampling_rate, horizon=horizon,
                    has_target=inp.y_name is not None, split=split, gap=gap)  # fmt: skip
    lay, order = plan_layout(inp, spec, chunk_bytes, max_step)
    source = getattr(getattr(x, "table", None), "display", None) or x.source
    refuse_empty(lay, spec, source)
    inner = tuple(int(d) for d in x.shape[1:] if d is not None)
    if getattr(x, "kind", None) == "scalar":
        inner = (len(x.columns),)  # type: ignore[attr-defined]  # a table's columns: (T, F)
    row_bytes = max(1, math.prod(inner) * x.dtype.itemsize)
    parts = [TRAIN, VALIDATION] if spec.split is not None else [TRAIN]
    outs = {TRAIN: out, VALIDATION: validation_output(out)}
    options = {"length": spec.length, "stride": spec.stride, "sampling_rate": spec.sampling_rate,
               "horizon": spec.horizon, "target": inp.y_name, "group": inp.group, "time": inp.time,
               "split": spec.split, "gap": spec.gap if spec.split is not None else None,
               "max_step": None if max_step is None else str(max_step),
               "rule": spec.rule()}  # fmt: skip
    counts = {p: int(lay.counts[lay.part == p].sum()) for p in parts}
    roles = ["x", *(["y"] if inp.y_name else [])]
    parquet = parse_destination(out).format == "parquet"
    block_bytes = chunk_bytes if parquet else min(chunk_bytes, BLOCK_BYTES)
    # the training and validation outputs are committed as one group: both or neither
    with committed_together(), ExitStack() as stack:
        writers = {}
        for p in parts:
            n = counts[p]
            specs: dict[str, tuple[tuple[int, ...], np.dtype]] = {
                "data": ((n, spec.length, *inner), x.dtype),
                "starts": ((n,), np.dtype(np.int64)),
            }
            if inp.y_name is not None:
                assert inp.y_dtype is not None
                specs["y"] = ((n, *inp.y_shape), inp.y_dtype)
                specs["target_rows"] = ((n,), np.dtype(np.int64))
            part_name = (
                {TRAIN: "train", VALIDATION: "validation"}[p] if spec.split is not None else None
            )
            prov = provenance("window", source, {**options, "part": part_name})
            writers[p] = stack.enter_context(stream_arrays(
                outs[p], specs, main="data", force=force, provenance=prov, inputs=inp.paths))  # fmt: skip
        rows = RowWindow(inp.read(roles, chunk_bytes))
        nan = NanCount()
        for starts, part in window_blocks(lay, spec, row_bytes, chunk_bytes, block_bytes):
            lo = int(starts[0])
            held = rows.get(lo, int(starts[-1]) + spec.reach + 1)
            flags = nan_rows(held["x"])
            for p in parts:
                mine = starts if len(parts) == 1 else starts[part == p]
                if not len(mine):
                    continue
                rel = mine - lo
                block = {"data": cut_windows(held["x"], rel, spec), "starts": mine}
                if inp.y_name is not None:
                    block["y"] = held["y"][rel + spec.reach]
                    block["target_rows"] = mine + spec.reach
                nan.add(p, flags, rel, mine, spec, block.get("y"))
                writers[p].write(block)
    outputs = [str(path) for p in parts for path in writers[p].paths]
    shape = (counts[TRAIN], spec.length, *inner)
    details: dict[str, Any] = {"windows": counts[TRAIN], "rows": inp.rows, "length": spec.length,
                               "stride": spec.stride, "sampling_rate": spec.sampling_rate,
                               "horizon": spec.horizon, "target": inp.y_name, "rule": spec.rule(),
                               "series": lay.series}  # fmt: skip
    if inp.time is not None:
        details["time"] = inp.time
        details["step"] = show_step(lay.step, order) if lay.step is not None else None
        details["gaps"] = lay.gaps
    if spec.split is not None:
        details["split"] = {"fraction": spec.split, "gap": spec.gap,
                            "train_windows": counts[TRAIN], "validation_windows": counts[VALIDATION],
                            "validation_output": outs[VALIDATION]}  # fmt: skip
    details["nan_windows"] = nan.windows.get(TRAIN, 0)
    if inp.y_name is not None:
        details["nan_targets"] = nan.targets.get(TRAIN, 0)
    if spec.split is not None:
        details["split"]["validation_nan_windows"] = nan.windows.get(VALIDATION, 0)
    done = result("window", x, outputs, shape, x.dtype, **details)
    done.source = source
    said = nan.warning(parts, {TRAIN: "training", VALIDATION: "validation"}, counts, inp.y_name)
    if said:
        done.warnings.append(said)
    if lay.gaps:
        done.warnings.append(
            f"{inp.time} has {lay.gaps:,} gap(s) longer than "
            + (
                f"--max-step {max_step}"
                if max_step is not None
                else f"its most common step, {details['step']}"
            )
            + "; no window spans one (each gap cuts its series)"
        )
    return done
