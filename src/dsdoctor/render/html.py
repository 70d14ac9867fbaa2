"""One self-contained HTML page for a check report: inline CSS, inline SVG, no script, nothing
fetched from anywhere. It is written with ``dsdoctor check … --format html -o report.html``.

The page has the summary counts, a table of the arrays, the findings (evidence and fix commands
with their safety) and, per array, charts drawn from the report's statistics:

- the length histogram of ragged sequences, with a solid line at the maxlen ``pad`` would use
  (the ``ragged-sequences`` finding's first pad fix, else p95) and dashed lines at the bucket
  boundaries an ``excess-padding`` finding suggests;
- the padding waste: real vs padding cells with one maxlen, and with the suggested buckets;
- the range of every feature (the first 64), constant features marked.

Every piece of text from the data goes through :func:`html.escape`.
"""

from __future__ import annotations

import math
import shlex
from html import escape
from typing import TYPE_CHECKING, Any

from ..units import format_bytes, format_shape
from .json import dumps

if TYPE_CHECKING:
    from ..findings import Finding, Report

MAX_FEATURES = 64
ROWS_UP_TO = 16  # up to this many features, one row each; more, one column each
NUM = ' class="num"'
CHART_WIDTH = 880
SEVERITIES = ("error", "warning", "info")


def to_html(report: Report) -> str:
    """The report as one HTML document."""
    s = report.summary
    title = "dsdoctor: " + (_verdict(s) if report.findings else "healthy")
    body = [
        _header(report),
        _section("Arrays", _arrays_table(report)),
        _section(f"Findings ({len(report.findings)})", _findings(report)),
    ]
    charts = [c for name, info in report.arrays.items() if (c := _array_charts(name, info, report))]
    if charts:
        body.append(_section("Charts", "\n".join(charts)))
    body.append(
        f"<footer>dsdoctor {_e(report.version)} · <code>dsdoctor explain CODE</code> "
        "tells more about a finding</footer>"
    )
    return (
        "<!doctype html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n</head>\n"
        "<body>\n<main>\n" + "\n".join(body) + "\n</main>\n</body>\n</html>\n"
    )


# -- header, arrays, findings ----------------------------------------------------------------------
def _verdict(s: dict[str, int]) -> str:
    return ", ".join(f"{s[k]} {k if s[k] == 1 else k + 's'}" for k in SEVERITIES if k != "info") + (
        f", {s['info']} info"
    )


def _header(report: Report) -> str:
    s = report.summary
    n = len(report.arrays)
    counts = "".join(
        f'<div class="count {k}{" zero" if not s[k] else ""}"><b>{s[k]}</b>'
        f"<span>{k if k == 'info' or s[k] == 1 else k + 's'}</span></div>"
        for k in SEVERITIES
    )
    status = (
        '<p class="status ok">No findings: the data looks healthy.</p>'
        if not report.findings
        else ""
    )
    return (
        '<header class="top">\n<div>\n<h1>dsdoctor report</h1>\n'
        f'<p class="muted">{n} array{"" if n == 1 else "s"} checked · dsdoctor {_e(report.version)}'
        f"</p>\n{status}\n</div>\n"
        f'<div class="counts">{counts}</div>\n</header>'
    )


def _section(title: str, inner: str) -> str:
    return f"<section>\n<h2>{_e(title)}</h2>\n{inner}\n</section>"


def _arrays_table(report: Report) -> str:
    if not report.arrays:
        return '<p class="muted">No arrays.</p>'
    rows = []
    for name, a in report.arrays.items():
        st = a.get("stats") or {}
        source = a.get("source", "")
        label = f'<div class="name">{_e(name)}</div>'
        if source and source != name:
            label += f'<div class="muted small">{_e(source)}</div>'
        note = a.get("unsafe") or a.get("skipped")
        if note:
            label += f'<div class="small warn-text">not read: {_e(note)}</div>'
        shape = format_shape(a["shape"]) if a.get("shape") is not None else "?"
        tags = '<span class="tag">ragged</span>' if a.get("ragged") else ""
        nonfinite = _nonfinite(st)
        size = [f"{format_bytes(a[k])} {w}" for k, w in (("bytes_on_disk", "on disk"),
                                                     ("bytes_in_memory", "in memory")) if a.get(k) is not None]  # fmt: skip
        rows.append(
            f"<tr><td>{label}</td><td>{_e(a.get('role', ''))}</td>"
            f'<td class="mono">{_e(shape)} {tags}</td><td class="mono">{_e(a.get("dtype", ""))}</td>'
            f'<td class="num">{_num(st.get("rows"))}</td><td class="num">{nonfinite}</td>'
            f'<td class="num">{_num(st.get("min"))}</td><td class="num">{_num(st.get("max"))}</td>'
            f'<td class="num small">{"<br>".join(map(_e, size)) or "–"}</td></tr>'
        )
    head = "".join(
        f"<th{NUM if n else ''}>{h}</th>"
        for h, n in (("Array", 0), ("Role", 0), ("Shape", 0), ("dtype", 0), ("Rows", 1),
                     ("NaN / ±Inf", 1), ("Min", 1), ("Max", 1), ("Size", 1))
    )  # fmt: skip
    return (
        f'<table class="arrays">\n<thead><tr>{head}</tr></thead>\n<tbody>\n'
        + "\n".join(rows)
        + "\n</tbody>\n</table>"
    )


def _nonfinite(st: dict) -> str:
    if not st:
        return "–"
    nan, pos, neg = (int(st.get(k) or 0) for k in ("nan", "posinf", "neginf"))
    text = f"{nan:,} / {pos:,} / {neg:,}"
    return (
        f'<span class="bad">{text}</span>'
        if nan or pos or neg
        else f'<span class="muted">{text}</span>'
    )


def _findings(report: Report) -> str:
    if not report.findings:
        return '<p class="muted">Nothing to report.</p>'
    return "\n".join(_finding(f) for f in report.findings)


def _finding(f: Finding) -> str:
    sev = f.severity.value
    arrays = ", ".join(f.arrays)
    parts = [
        f'<article class="finding {sev}">',
        f'<div class="fhead"><span class="badge {sev}">{sev}</span>'
        f'<code class="code">{_e(f.code)}</code><span class="fname">{_e(f.name)}</span>'
        f'<span class="muted small farrays">{_e(arrays)}</span></div>',
        f'<p class="message">{_e(f.message)}</p>',
    ]
    if f.evidence:
        keys = "".join(f"<th>{_e(k)}</th>" for k in f.evidence)
        values = "".join(f"<td>{_e(_evidence(v))}</td>" for v in f.evidence.values())
        parts.append(f'<table class="evidence"><caption>evidence</caption><tr>{keys}</tr>'
                     f"<tr>{values}</tr></table>")  # fmt: skip
    if f.fixes:
        items = "".join(
            f'<li><div><span class="safety {_e(x.safety.value)}">{_e(x.safety.value)}</span>'
            f'<span class="fixtitle">{_e(x.title)}</span></div>'
            f'<code class="cmd">{_e(x.command)}</code></li>'
            for x in f.fixes
        )
        parts.append(f'<ul class="fixes">{items}</ul>')
    parts.append("</article>")
    return "\n".join(parts)


# -- charts --------------------------------------------------------------------------------------
def _array_charts(name: str, a: dict, report: Report) -> str:
    st = a.get("stats") or {}
    figures = []
    if a.get("ragged") and st.get("length_histogram"):
        figures.append(_length_histogram(name, st, report))
    padding = _finding_for(report, "excess-padding", name)
    if padding and {"padding", "timesteps"} <= padding.evidence.keys():
        figures.append(_padding_bars(padding.evidence))
    if st.get("feature_min") and st.get("feature_max"):
        constant = _finding_for(report, "constant-feature", name)
        marked = set(constant.evidence.get("features", [])) if constant else set()
        figures.append(_feature_ranges(st["feature_min"], st["feature_max"], marked))
    if not figures:
        return ""
    return f'<div class="array-charts">\n<h3>{_e(name)}</h3>\n' + "\n".join(figures) + "\n</div>"


def _finding_for(report: Report, check: str, array: str) -> Finding | None:
    return next((f for f in report.findings if f.name == check and array in f.arrays), None)


def chosen_maxlen(report: Report, array: str, lengths: dict) -> tuple[int, str]:
    """The maxlen to mark: the first pad fix's ``--maxlen`` of a ``ragged-sequences`` finding
    (a number, or a percentile read from ``lengths``), else p95; with where it came from."""
    ragged = _finding_for(report, "ragged-sequences", array)
    for fix in ragged.fixes if ragged else []:
        try:
            words = shlex.split(fix.command)
        except ValueError:
            continue
        if "pad" not in words[:2]:
            continue
        value = next((w.split("=", 1)[1] for w in words if w.startswith("--maxlen=")), None)
        if value is None and "--maxlen" in words[:-1]:
            value = words[words.index("--maxlen") + 1]
        if value is not None and value.isdigit():
            return int(value), f"maxlen {value} (suggested pad)"
        if value is not None and isinstance(lengths.get(value), int | float):
            return int(lengths[value]), f"maxlen {value} = {int(lengths[value])} (suggested pad)"
        break
    p95 = int(lengths.get("p95") or lengths.get("max") or 0)
    return p95, f"p95 = {p95}"


def _length_histogram(name: str, st: dict, report: Report) -> str:
    bins = [(int(lo), int(hi), int(c)) for lo, hi, c in st["length_histogram"]]
    lengths = st.get("lengths") or {}
    maxlen, maxlen_label = chosen_maxlen(report, name, lengths)
    padding = _finding_for(report, "excess-padding", name)
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
               f'text-anchor="{anchor}">{_e(maxlen_label)}</text>')  # fmt: skip
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
        f"{k} {_num(lengths[k])}" for k in ("count", "min", "p50", "mean", "p95", "p99", "max", "zero")
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
                   f"{_e(label)}</text>")  # fmt: skip
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
    shown = [(i, _float(fmin[i]), _float(fmax[i])) for i in range(min(width, MAX_FEATURES))]
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
        tip = f"<title>feature {i}: {_num(lo)} … {_num(hi)}</title>"
        if i in constant:
            out.append(f'<circle class="const" cx="{sx(lo):.1f}" cy="{y:.1f}" r="5">{tip}</circle>')
            text = f"{_num(lo)} (constant)"
        else:
            out.append(f'<rect class="range" x="{sx(lo):.1f}" y="{y - 7:.1f}" '
                       f'width="{max(1.0, sx(hi) - sx(lo)):.1f}" height="14" rx="3">{tip}</rect>')  # fmt: skip
            text = f"{_num(lo)} … {_num(hi)}"
        out.append(f'<text class="value" x="{w - right + 12}" y="{y + 4:.1f}">{_e(text)}</text>')
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
        tip = f"<title>feature {i}: {_num(lo)} … {_num(hi)}</title>"
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


# -- SVG and formatting helpers ---------------------------------------------------------------------
def _svg_open(w: int, h: int, label: str) -> str:
    return (f'<svg class="chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
            f'aria-label="{_e(label)}" xmlns="http://www.w3.org/2000/svg">')  # fmt: skip


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
        f"<figure>\n<figcaption><b>{_e(title)}</b>"
        + (f' <span class="muted">{_e(note)}</span>' if note else "")
        + f'</figcaption>\n<div class="svgwrap">{svg}</div>\n'
        + f'<div class="legend">{"".join(legend)}</div>\n</figure>'
    )


def _swatch(cls: str, label: str, *, line: bool = False) -> str:
    shape = (f'<line class="{cls}" x1="1" x2="21" y1="6" y2="6"/>' if line
             else f'<rect class="{cls}" x="3" y="1" width="16" height="10" rx="2"/>')  # fmt: skip
    return (f'<span><svg width="22" height="12" viewBox="0 0 22 12" aria-hidden="true">{shape}</svg>'
            f"{_e(label)}</span>")  # fmt: skip


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


def _float(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _num(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int) or (hasattr(v, "dtype") and getattr(v.dtype, "kind", "") in "iu"):
        return f"{int(v):,}"
    try:
        f = float(v)
    except (TypeError, ValueError):
        return _e(str(v))
    if not math.isfinite(f):
        return str(f)
    return f"{f:,.0f}" if f.is_integer() and abs(f) < 1e15 else f"{f:.4g}"


def _evidence(v: Any) -> str:
    """An evidence value for people: 18,496 rather than 18496, lists without brackets."""
    if hasattr(v, "tolist"):
        v = v.tolist()
    if isinstance(v, bool) or v is None:
        return dumps(v)
    if isinstance(v, int | float):
        return _num(v)
    if isinstance(v, list | tuple) and all(isinstance(i, int | float) for i in v):
        return _short(", ".join(_num(i) for i in v))
    return _short(v if isinstance(v, str) else dumps(v))


def _short(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _e(text: Any) -> str:
    """HTML-escaped, with control and bidi characters shown as escapes (a U+202E in a name would
    reorder the page's text)."""
    from .safe import printable

    return escape(printable(text, lines=True), quote=True)


CSS = """
:root {
  --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --soft: #f6f8fa; --bg: #ffffff;
  --error: #cf222e; --error-bg: #ffebe9; --warning: #9a6700; --warning-bg: #fff8c5;
  --info: #0969da; --info-bg: #ddf4ff; --ok: #1a7f37; --ok-bg: #dafbe1;
  --bar: #4c8bf5; --over: #f0a35e; --pad: #d8dee4; --real: #4c8bf5; --maxlen: #cf222e;
  --bound: #8250df;
}
@media (prefers-color-scheme: dark) {
  :root {
    --fg: #e6edf3; --muted: #9198a1; --line: #3d444d; --soft: #151b23; --bg: #0d1117;
    --error: #ff7b72; --error-bg: #3c1618; --warning: #d29922; --warning-bg: #3a2e0a;
    --info: #58a6ff; --info-bg: #0c2d6b; --ok: #3fb950; --ok-bg: #12361f;
    --pad: #3d444d; --bound: #bc8cff; --maxlen: #ff7b72;
  }
}
* { box-sizing: border-box; }
html { background: var(--bg); color: var(--fg); }
body { margin: 0; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue",
       Arial, sans-serif; }
main { max-width: 1000px; margin: 0 auto; padding: 28px 32px 40px; }
code, .mono { font-family: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas,
              "Liberation Mono", monospace; font-size: 12.5px; }
h1 { font-size: 26px; margin: 0 0 2px; letter-spacing: -0.01em; }
h2 { font-size: 18px; margin: 32px 0 12px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 22px 0 8px; font-family: ui-monospace, SFMono-Regular, Menlo,
     Consolas, monospace; word-break: break-all; }
.muted { color: var(--muted); }
.small { font-size: 12px; }
.bad { color: var(--error); font-weight: 600; }
.warn-text { color: var(--warning); }
header.top { display: flex; justify-content: space-between; align-items: flex-start; gap: 24px;
             padding-bottom: 18px; border-bottom: 1px solid var(--line); }
header.top p { margin: 2px 0; }
.status { font-weight: 600; margin-top: 8px !important; }
.status.ok { color: var(--ok); } .status.error { color: var(--error); }
.status.warning { color: var(--warning); } .status.info { color: var(--info); }
.counts { display: flex; gap: 10px; }
.count { min-width: 88px; padding: 8px 14px; border-radius: 8px; text-align: center;
         border: 1px solid transparent; }
.count b { display: block; font-size: 26px; line-height: 1.1; }
.count span { font-size: 12px; text-transform: uppercase; letter-spacing: 0.05em; }
.count.error { background: var(--error-bg); color: var(--error); border-color: var(--error); }
.count.warning { background: var(--warning-bg); color: var(--warning); border-color: var(--warning); }
.count.info { background: var(--info-bg); color: var(--info); border-color: var(--info); }
.count.zero { background: var(--soft); color: var(--muted); border-color: var(--line); }
table { border-collapse: collapse; }
table.arrays { width: 100%; font-size: 13px; }
table.arrays th, table.arrays td { padding: 7px 10px; border-bottom: 1px solid var(--line);
                                   text-align: left; vertical-align: top; }
table.arrays thead th { background: var(--soft); font-weight: 600; white-space: nowrap; }
table.arrays .name { font-weight: 600; word-break: break-all; }
table.arrays .num, table.arrays th.num { text-align: right; white-space: nowrap;
                                         font-variant-numeric: tabular-nums; }
.tag { display: inline-block; padding: 0 6px; border-radius: 10px; font-size: 11px;
       background: var(--info-bg); color: var(--info); font-family: system-ui, sans-serif; }
article.finding { border: 1px solid var(--line); border-left: 4px solid var(--muted);
                  border-radius: 6px; padding: 12px 16px; margin: 0 0 12px; }
article.finding.error { border-left-color: var(--error); }
article.finding.warning { border-left-color: var(--warning); }
article.finding.info { border-left-color: var(--info); }
.fhead { display: flex; align-items: baseline; gap: 10px; flex-wrap: wrap; }
.fname { font-weight: 600; font-size: 15px; }
.farrays { margin-left: auto; word-break: break-all; }
.code { font-weight: 600; }
.badge, .safety { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 11px;
                  font-weight: 600; text-transform: uppercase; letter-spacing: 0.04em; }
.badge.error { background: var(--error); color: #fff; }
.badge.warning { background: var(--warning); color: #fff; }
.badge.info { background: var(--info); color: #fff; }
.message { margin: 6px 0 10px; font-size: 14.5px; }
table.evidence { font-size: 12px; margin: 0 0 10px; max-width: 100%; }
table.evidence caption { text-align: left; color: var(--muted); font-size: 10.5px;
                         text-transform: uppercase; letter-spacing: 0.06em; padding-bottom: 2px; }
table.evidence th, table.evidence td { padding: 3px 10px; border: 1px solid var(--line);
                                       text-align: left; vertical-align: top; }
table.evidence th { font-weight: 500; color: var(--muted); background: var(--soft);
                    white-space: nowrap; }
table.evidence td { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
                    font-variant-numeric: tabular-nums; word-break: break-word; }
ul.fixes { list-style: none; margin: 0; padding: 0; }
ul.fixes li { margin: 8px 0 0; }
.fixtitle { margin-left: 8px; }
.message, .fixtitle, .fname, .status { overflow-wrap: anywhere; }
.safety.lossless { background: var(--ok-bg); color: var(--ok); }
.safety.assumption { background: var(--warning-bg); color: var(--warning); }
.safety.lossy { background: var(--error-bg); color: var(--error); }
code.cmd { display: block; margin-top: 4px; padding: 7px 10px; background: var(--soft);
           border: 1px solid var(--line); border-radius: 6px; white-space: pre-wrap;
           word-break: break-all; }
.array-charts { margin-bottom: 8px; }
figure { margin: 0 0 18px; padding: 12px 14px 10px; border: 1px solid var(--line);
         border-radius: 6px; }
figcaption { margin-bottom: 6px; }
.svgwrap { overflow-x: auto; }
svg.chart { display: block; max-width: 100%; height: auto; }
svg text { fill: var(--fg); font-family: system-ui, sans-serif; }
svg text.axis { font-size: 11px; fill: var(--muted); }
svg text.axis-title { font-size: 11.5px; fill: var(--muted); }
svg text.label, svg text.value { font-size: 12.5px; }
svg text.maxlen-label { font-size: 12px; font-weight: 600; fill: var(--maxlen);
                        paint-order: stroke; stroke: var(--bg); stroke-width: 4px; }
svg .grid { stroke: var(--line); stroke-width: 1; }
svg .zero { stroke: var(--muted); stroke-width: 1; }
svg .tick { stroke: var(--muted); }
svg .bar { fill: var(--bar); }
svg .bar.over { fill: var(--over); }
svg .maxlen { stroke: var(--maxlen); stroke-width: 2; }
svg .bound { stroke: var(--bound); stroke-width: 1.5; stroke-dasharray: 5 4; }
svg .real { fill: var(--real); }
svg .pad { fill: var(--pad); }
svg .range { fill: var(--bar); opacity: 0.85; }
svg .const { fill: var(--over); stroke: var(--warning); stroke-width: 1.5; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 18px; font-size: 12px; color: var(--muted);
          margin-top: 6px; }
.legend span { display: inline-flex; align-items: center; gap: 6px; }
footer { margin-top: 36px; padding-top: 12px; border-top: 1px solid var(--line); color: var(--muted);
         font-size: 12px; }
@media print { main { max-width: none; padding: 0; } figure, article.finding { break-inside: avoid; } }
"""
