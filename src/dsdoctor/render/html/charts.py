"""The charts of one array, drawn as inline SVG from the report's data only:

- the length histogram of ragged sequences, with a solid line at the maxlen ``pad`` would use
  (the ragged-sequences finding's first pad fix, else p95) and dashed lines at the bucket
  boundaries an excess-padding finding suggests;
- the padding waste: real vs padding cells with one maxlen, and with the suggested buckets;
- the range of every feature (the first 64), the constant-feature finding's features marked.

A finding is found by its check's class (compared by code) and read through its structured data:
its evidence and its fixes' actions (``Fix.action``), never by parsing a command line.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ...checks.sequences import ExcessPadding, RaggedSequences
from ...checks.values import ConstantFeature
from .text import as_float, esc, num

if TYPE_CHECKING:
    from ...checks import Check
    from ...findings import Finding, Report

MAX_FEATURES = 64
ROWS_UP_TO = 16  # up to this many features, one row each; more, one column each
CHART_WIDTH = 880


def array_charts(name: str, a: dict, report: Report) -> str:
    """The figures for array ``name`` (its entry in ``report.arrays``), or "" when none applies."""
    st = a.get("stats") or {}
    figures = []
    if a.get("ragged") and st.get("length_histogram"):
        figures.append(_length_histogram(name, st, report))
    padding = _finding_of(report, ExcessPadding, name)
    if padding and {"padding", "timesteps"} <= padding.evidence.keys():
        figures.append(_padding_bars(padding.evidence))
    if st.get("feature_min") and st.get("feature_max"):
        constant = _finding_of(report, ConstantFeature, name)
        marked = set(constant.evidence.get("features", [])) if constant else set()
        figures.append(_feature_ranges(st["feature_min"], st["feature_max"], marked))
    if not figures:
        return ""
    return f'<div class="array-charts">\n<h3>{esc(name)}</h3>\n' + "\n".join(figures) + "\n</div>"


def _finding_of(report: Report, check: type[Check], array: str) -> Finding | None:
    """The finding ``check`` made on ``array``, matched by the check's code (stable, never reused,
    unlike a name a check may be renamed from)."""
    return next((f for f in report.findings if f.code == check.code and array in f.arrays), None)


def chosen_maxlen(report: Report, array: str, lengths: dict) -> tuple[int, str]:
    """The maxlen to mark: the ``maxlen`` of the first ``pad`` fix of the ragged-sequences finding
    (read from the fix's action: a number, or a percentile looked up in ``lengths``), else p95;
    with where it came from."""
    ragged = _finding_of(report, RaggedSequences, array)
    for fix in ragged.fixes if ragged else []:
        action = fix.action or {}
        if action.get("op") != "pad":
            continue
        value = action.get("options", {}).get("maxlen")
        if str(value).isdigit():  # a length (an int or a NumPy integer)
            return int(str(value)), f"maxlen {value} (suggested pad)"
        if isinstance(lengths.get(value), int | float):
            return int(lengths[value]), f"maxlen {value} = {int(lengths[value])} (suggested pad)"
        break
    p95 = int(lengths.get("p95") or lengths.get("max") or 0)
    return p95, f"p95 = {p95}"


def _length_histogram(name: str, st: dict, report: Report) -> str:
    bins = [(int(lo), int(hi), int(c)) for lo, hi, c in st["length_histogram"]]
    lengths = st.get("lengths") or {}
    maxlen, maxlen_label = chosen_maxlen(report, name, lengths)
    padding = _finding_of(report, ExcessPadding, name)
    bounds = [int(b) for b in (padding.evidence.get("bucket_boundaries") or [])] if padding else []

    w, h, left, right, top, bottom = CHART_WIDTH, 250, 56, 16, 26, 40
    x0, x1 = bins[0][0], max(bins[-1][1] + 1, maxlen + 1, *(b + 1 for b in bounds))
    ymax = _nice_ticks(0, 1.08 * max(max(c for _, _, c in bins), 1))[-1]

    def sx(v: float) -> float:
        return left + (v - x0) / (x1 - x0) * (w - left - right)

    def sy(v: float) -> float:
        return top + (1 - v / ymax) * (h - top - bottom)

    out = [_svg_open(w, h, f"Histogram of sequence lengths of {name}")]
    out += _y_axis(sy, ymax, left, w - right)
    for lo, hi, c in bins:
        if not c:
            continue
        xa, xb = sx(lo), sx(hi + 1)
        gap = 1 if xb - xa > 3 else 0
        cls = "bar over" if lo > maxlen else "bar"
        span = f"{lo}" if lo == hi else f"{lo}–{hi}"
        out.append(
            f'<rect class="{cls}" x="{xa + gap / 2:.1f}" y="{sy(c):.1f}" width="{xb - xa - gap:.1f}" '
            f'height="{sy(0) - sy(c):.1f}"><title>length {span}: {c:,} sequence'
            f"{'' if c == 1 else 's'}</title></rect>"
        )
    for t in _nice_ticks(x0, x1 - 1, 10):
        if x0 <= t <= x1:
            out.append(f'<line class="tick" x1="{sx(t):.1f}" x2="{sx(t):.1f}" y1="{sy(0):.1f}" '
                       f'y2="{sy(0) + 4:.1f}"/>')  # fmt: skip
            out.append(f'<text class="axis" x="{sx(t):.1f}" y="{sy(0) + 16:.1f}" '
                       f'text-anchor="middle">{_tick(t)}</text>')  # fmt: skip
    out.append(f'<text class="axis-title" x="{(left + w - right) / 2:.1f}" y="{h - 4}" '
               'text-anchor="middle">sequence length (timesteps)</text>')  # fmt: skip
    out.append(f'<text class="axis-title" transform="translate(14 {(top + h - bottom) / 2:.1f}) '
               'rotate(-90)" text-anchor="middle">sequences</text>')  # fmt: skip
    for b in bounds:
        out.append(f'<line class="bound" x1="{sx(b):.1f}" x2="{sx(b):.1f}" y1="{top}" '
                   f'y2="{sy(0):.1f}"><title>bucket boundary {b}</title></line>')  # fmt: skip
    xm = sx(maxlen + 1)
    anchor, dx = ("end", -5) if xm > w - right - 140 else ("start", 5)
    out.append(
        f'<line class="maxlen" x1="{xm:.1f}" x2="{xm:.1f}" y1="{top - 8}" y2="{sy(0):.1f}"/>'
    )
    out.append(f'<text class="maxlen-label" x="{xm + dx:.1f}" y="{top - 10}" '
               f'text-anchor="{anchor}">{esc(maxlen_label)}</text>')  # fmt: skip
    out.append("</svg>")

    legend = [_swatch("bar", "sequences per length")]
    if any(lo > maxlen and c for lo, _, c in bins):
        legend.append(_swatch("bar over", f"longer than {maxlen}: truncated by the pad"))
    legend.append(_swatch("maxlen", maxlen_label, line=True))
    if bounds:
        legend.append(
            _swatch("bound", "bucket boundaries " + ", ".join(map(str, bounds)), line=True)
        )
    stats = " · ".join(
        f"{k} {num(lengths[k])}" for k in ("count", "min", "p50", "mean", "p95", "p99", "max", "zero")
        if k in lengths
    )  # fmt: skip
    return _figure("Sequence lengths", "\n".join(out), legend, stats)


def _padding_bars(ev: dict) -> str:
    total, padding = int(ev["timesteps"]), int(ev["padding"])
    real = total - padding
    rows = [(f"one maxlen ({ev['maxlen']})" if "maxlen" in ev else "as padded", padding)]
    if "bucketed_padding" in ev:
        bounds = ev.get("bucket_boundaries") or []
        k = len(bounds) + 1
        rows.append((f"{k} length buckets", int(ev["bucketed_padding"])))
    w, label_w, right, row_h, top = CHART_WIDTH, 150, 190, 34, 8
    h = top + row_h * len(rows) + 4
    span = w - label_w - right

    def sx(v: float) -> float:
        return label_w + v / max(total, 1) * span

    out = [_svg_open(w, h, "Real and padding cells")]
    for i, (label, pad) in enumerate(rows):
        y = top + i * row_h
        share = pad / (real + pad) if real + pad else 0
        out.append(f'<text class="label" x="{label_w - 10}" y="{y + 17}" text-anchor="end">'
                   f"{esc(label)}</text>")  # fmt: skip
        out.append(f'<rect class="real" x="{sx(0):.1f}" y="{y}" width="{sx(real) - sx(0):.1f}" '
                   f'height="24"><title>{real:,} real cells</title></rect>')  # fmt: skip
        out.append(f'<rect class="pad" x="{sx(real):.1f}" y="{y}" width="{sx(real + pad) - sx(real):.1f}" '
                   f'height="24"><title>{pad:,} padding cells</title></rect>')  # fmt: skip
        out.append(f'<text class="value" x="{sx(real + pad) + 8:.1f}" y="{y + 17}">'
                   f"{pad:,} padding ({100 * share:.1f}%)</text>")  # fmt: skip
    out.append("</svg>")
    legend = [_swatch("real", f"real cells ({real:,})"), _swatch("pad", "padding cells")]
    note = f"{total:,} cells when every sequence is padded to one length"
    if len(rows) > 1:
        saved = padding - rows[1][1]
        note += f"; {rows[1][0]} save {saved:,} of them ({100 * saved / max(total, 1):.1f}%)"
    return _figure("Padding waste", "\n".join(out), legend, note)


def _feature_ranges(fmin: list, fmax: list, constant: set[int]) -> str:
    width = len(fmin)
    shown = [(i, as_float(fmin[i]), as_float(fmax[i])) for i in range(min(width, MAX_FEATURES))]
    finite = [v for _, lo, hi in shown for v in (lo, hi) if v is not None]
    if not finite:
        return ""
    ticks = _nice_ticks(min(min(finite), 0), max(max(finite), 0))
    marked = {i for i, lo, hi in shown if i in constant or (lo is not None and lo == hi)}
    draw = _ranges_rows if len(shown) <= ROWS_UP_TO else _ranges_columns
    legend = [_swatch("range", "min … max of a feature")]
    if marked:
        legend.append(_swatch("const", "constant feature"))
    note = f"{width} features" + (
        f"; the first {MAX_FEATURES} shown" if width > MAX_FEATURES else ""
    )
    return _figure("Feature ranges", draw(shown, ticks, marked), legend, note)


def _ranges_rows(shown: list, ticks: list[float], constant: set[int]) -> str:
    """Few features: one row each, the value axis across, the numbers at the right."""
    w, left, right, top, row, bottom = CHART_WIDTH, 84, 170, 6, 24, 38
    h = top + row * len(shown) + bottom
    lo_v, hi_v = ticks[0], ticks[-1]

    def sx(v: float) -> float:
        return left + (v - lo_v) / ((hi_v - lo_v) or 1) * (w - left - right)

    out = [_svg_open(w, h, "Range of each feature")]
    base = top + row * len(shown)
    for t in ticks:
        out.append(f'<line class="{"zero" if t == 0 else "grid"}" x1="{sx(t):.1f}" x2="{sx(t):.1f}" '
                   f'y1="{top}" y2="{base}"/>')  # fmt: skip
        out.append(f'<text class="axis" x="{sx(t):.1f}" y="{base + 15}" text-anchor="middle">'
                   f"{_tick(t)}</text>")  # fmt: skip
    for i, lo, hi in shown:
        y = top + i * row + row / 2
        out.append(f'<text class="label" x="{left - 10}" y="{y + 4:.1f}" text-anchor="end">'
                   f"feature {i}</text>")  # fmt: skip
        if lo is None or hi is None:
            out.append(f'<text class="axis" x="{left}" y="{y + 4:.1f}">no finite value</text>')
            continue
        tip = f"<title>feature {i}: {num(lo)} … {num(hi)}</title>"
        if i in constant:
            out.append(f'<circle class="const" cx="{sx(lo):.1f}" cy="{y:.1f}" r="5">{tip}</circle>')
            text = f"{num(lo)} (constant)"
        else:
            out.append(f'<rect class="range" x="{sx(lo):.1f}" y="{y - 7:.1f}" '
                       f'width="{max(1.0, sx(hi) - sx(lo)):.1f}" height="14" rx="3">{tip}</rect>')  # fmt: skip
            text = f"{num(lo)} … {num(hi)}"
        out.append(f'<text class="value" x="{w - right + 12}" y="{y + 4:.1f}">{esc(text)}</text>')
    out.append(f'<text class="axis-title" x="{(left + w - right) / 2:.1f}" y="{h - 4}" '
               'text-anchor="middle">value</text>')  # fmt: skip
    out.append("</svg>")
    return "\n".join(out)


def _ranges_columns(shown: list, ticks: list[float], constant: set[int]) -> str:
    """Many features: one column each, the value axis up."""
    w, h, left, right, top, bottom = CHART_WIDTH, 220, 56, 16, 12, 40
    band = (w - left - right) / len(shown)
    lo_v, hi_v = ticks[0], ticks[-1]

    def sy(v: float) -> float:
        return top + (hi_v - v) / ((hi_v - lo_v) or 1) * (h - top - bottom)

    out = [_svg_open(w, h, "Range of each feature")]
    for t in ticks:
        out.append(f'<line class="{"zero" if t == 0 else "grid"}" x1="{left}" x2="{w - right}" '
                   f'y1="{sy(t):.1f}" y2="{sy(t):.1f}"/>')  # fmt: skip
        out.append(f'<text class="axis" x="{left - 6}" y="{sy(t) + 4:.1f}" text-anchor="end">'
                   f"{_tick(t)}</text>")  # fmt: skip
    every = max(1, math.ceil(len(shown) / 16))
    for i, lo, hi in shown:
        cx = left + (i + 0.5) * band
        if i % every == 0:
            out.append(f'<text class="axis" x="{cx:.1f}" y="{h - bottom + 16}" '
                       f'text-anchor="middle">{i}</text>')  # fmt: skip
        if lo is None or hi is None:
            continue
        tip = f"<title>feature {i}: {num(lo)} … {num(hi)}</title>"
        if i in constant:
            out.append(f'<circle class="const" cx="{cx:.1f}" cy="{sy(lo):.1f}" '
                       f'r="{min(4.0, band / 2):.1f}">{tip}</circle>')  # fmt: skip
            continue
        bw = max(2.0, min(band * 0.6, 28))
        out.append(f'<rect class="range" x="{cx - bw / 2:.1f}" y="{sy(hi):.1f}" width="{bw:.1f}" '
                   f'height="{max(1.0, sy(lo) - sy(hi)):.1f}" rx="1.5">{tip}</rect>')  # fmt: skip
    out.append(f'<text class="axis-title" x="{(left + w - right) / 2:.1f}" y="{h - 4}" '
               'text-anchor="middle">feature (index on the last axis)</text>')  # fmt: skip
    out.append("</svg>")
    return "\n".join(out)


# -- SVG helpers -----------------------------------------------------------------------------------
def _svg_open(w: int, h: int, label: str) -> str:
    return (f'<svg class="chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
            f'aria-label="{esc(label)}" xmlns="http://www.w3.org/2000/svg">')  # fmt: skip


def _y_axis(sy, ymax: float, x_left: float, x_right: float) -> list[str]:
    out = []
    for t in _nice_ticks(0, ymax):
        out.append(
            f'<line class="grid" x1="{x_left}" x2="{x_right}" y1="{sy(t):.1f}" y2="{sy(t):.1f}"/>'
        )
        out.append(f'<text class="axis" x="{x_left - 6}" y="{sy(t) + 4:.1f}" text-anchor="end">'
                   f"{_tick(t)}</text>")  # fmt: skip
    return out


def _figure(title: str, svg: str, legend: list[str], note: str = "") -> str:
    return (
        f"<figure>\n<figcaption><b>{esc(title)}</b>"
        + (f' <span class="muted">{esc(note)}</span>' if note else "")
        + f'</figcaption>\n<div class="svgwrap">{svg}</div>\n'
        + f'<div class="legend">{"".join(legend)}</div>\n</figure>'
    )


def _swatch(cls: str, label: str, *, line: bool = False) -> str:
    shape = (f'<line class="{cls}" x1="1" x2="21" y1="6" y2="6"/>' if line
             else f'<rect class="{cls}" x="3" y="1" width="16" height="10" rx="2"/>')  # fmt: skip
    return (f'<span><svg width="22" height="12" viewBox="0 0 22 12" aria-hidden="true">{shape}</svg>'
            f"{esc(label)}</span>")  # fmt: skip


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Round tick values covering [lo, hi], about ``n`` of them (1, 2, 5 × 10^k steps)."""
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    ticks = []
    v = start
    while v < hi + step * 0.999:
        ticks.append(round(v, 10))
        v += step
    return ticks if len(ticks) > 1 else [start, start + step]


def _tick(v: float) -> str:
    return f"{int(v):,}" if float(v).is_integer() else f"{v:g}"
