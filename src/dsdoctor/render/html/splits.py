"""The page's splits section (``check --split``): the samples and classes of each split, the
matrix of duplicate samples between splits (DS803), and each split's drift per feature from
the training split (PSI, from the report's histograms) as a small bar chart."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ...engine.splits import js_distance, psi
from .text import esc, num

if TYPE_CHECKING:
    from ...findings import Report

#: Features drawn per split at most (the most drifted first).
MAX_BARS = 24
BAR_H, LABEL_W, BAR_W = 14, 120, 260


def splits_section(report: Report) -> str:
    sp = report.splits or {}
    splits: dict[str, dict[str, Any]] = sp.get("splits") or {}
    found = f'<p class="small">Splits found: {esc(sp["found"])}</p>' if sp.get("found") else ""
    if sp.get("not_compared"):
        return f'{found}\n<p class="small">Not compared: {esc(sp["not_compared"])}</p>'
    if not splits:
        return ""
    return "\n".join([found, _counts(splits), _not_judged(sp),
                      _overlaps(report, list(splits), splits), _drift(report, sp)])  # fmt: skip


def _not_judged(sp: dict[str, Any]) -> str:
    """What the split checks did not judge, as the text report lists it: the checks that did
    not run (``not_run``), the drift judged only by range or not at all, the timesteps not
    compared, the splits with no targets."""
    items = [f"<li>{esc(code)} not checked: {esc(why)}</li>"
             for code, why in (sp.get("not_run") or {}).items()]  # fmt: skip
    items += [f"<li>drift not judged: {esc(n)}</li>" for n in sp.get("drift_not_judged") or []]
    items += [f"<li>timesteps not compared: {esc(n)}</li>"
              for n in sp.get("timesteps_not_compared") or []]  # fmt: skip
    if sp.get("unlabelled"):
        items.append(f"<li>no targets: {esc(', '.join(sp['unlabelled']))}: compared by inputs "
                     "alone (its labels not checked)</li>")  # fmt: skip
    if not items:
        return ""
    return ('<p class="small">Not checked or judged only in part:</p>\n<ul class="small">\n'
            + "\n".join(items) + "\n</ul>")  # fmt: skip


def _counts(splits: dict[str, dict[str, Any]]) -> str:
    rows = []
    for name, s in splits.items():
        classes = s.get("classes")
        shown = "–" if classes is None else ", ".join(f"{esc(k)}: {v:,}" for k, v in classes[:12])
        if classes is not None and len(classes) > 12:
            shown += f" … ({len(classes)} classes)"
        rows.append(f'<tr><td class="name">{esc(name)}</td><td class="num">{num(s.get("rows"))}</td>'
                    f'<td class="small">{shown}</td><td class="num">{num(s.get("groups"))}</td></tr>')  # fmt: skip
    return ('<table class="arrays">\n<thead><tr><th>Split</th><th class="num">Samples</th>'
            '<th>Classes (samples)</th><th class="num">Groups</th></tr></thead>\n<tbody>\n'
            + "\n".join(rows) + "\n</tbody>\n</table>")  # fmt: skip


def _overlaps(report: Report, names: list[str], splits: dict[str, dict[str, Any]]) -> str:
    """Rows: a split; columns: an earlier split; cells: its samples also in that one (DS803)."""
    found = {(f.evidence.get("a"), f.evidence.get("b")): f.evidence for f in report.findings
             if f.code == "DS803"}  # fmt: skip
    if len(names) < 2:
        return ""
    head = "".join(f'<th class="num">in {esc(a)}</th>' for a in names[:-1])
    rows = []
    for i, b in enumerate(names[1:], start=1):
        cells = []
        for a in names[:-1]:
            if names.index(a) >= i:
                cells.append('<td class="num muted"></td>')
            elif not (splits[a].get("hashed") and splits[b].get("hashed")):
                cells.append('<td class="num muted">not compared</td>')
            elif (e := found.get((a, b))) is not None:
                cells.append(f'<td class="num bad">{e["b_rows"]:,} ({e["share"]:.1%})</td>')
            else:
                cells.append('<td class="num">0</td>')
        rows.append(f'<tr><td class="name">{esc(b)}</td>{"".join(cells)}</tr>')
    return ('<h3>Samples also in another split (DS803)</h3>\n<table class="arrays">\n'
            f"<thead><tr><th>Split</th>{head}</tr></thead>\n<tbody>\n" + "\n".join(rows)
            + "\n</tbody>\n</table>")  # fmt: skip


def _drift(report: Report, sp: dict[str, Any]) -> str:
    splits: dict[str, dict[str, Any]] = sp["splits"]
    train = str(sp.get("train"))
    ref = (splits.get(train) or {}).get("histogram")
    if ref is None:
        return ""
    ref_h = np.asarray(ref)
    threshold = _threshold(report)
    columns = (splits.get(train) or {}).get("columns")
    figures = []
    for name, s in splits.items():
        if name == train or s.get("histogram") is None or np.shape(s["histogram"]) != ref_h.shape:
            continue
        mine = np.asarray(s["histogram"])
        values = [
            (psi(ref_h[f], mine[f]), js_distance(ref_h[f], mine[f]), f) for f in range(len(ref_h))
        ]
        values.sort(key=lambda v: -v[0])
        judged = (
            s.get("drift_judged_by", "psi") == "psi"
            and (splits.get(train) or {}).get("drift_judged_by", "psi") == "psi"
        )
        figures.append(_bars(name, train, values[:MAX_BARS], threshold if judged else None, columns,
                             len(values)))  # fmt: skip
    return (
        "<h3>Drift per feature from the training split (PSI)</h3>\n" + "\n".join(figures)
        if figures
        else ""
    )


def _threshold(report: Report) -> float:
    for f in report.findings:
        if f.code == "DS806":
            return float(f.evidence.get("psi_threshold", 0.2))
    return 0.2


def _bars(name: str, train: str, values: list, judged_at: float | None, columns, total: int) -> str:
    """The bars of one split's PSI per feature; ``judged_at`` None: too few values for PSI to be
    judged (no bar is marked over the threshold, and the caption says so)."""
    threshold = 0.2 if judged_at is None else judged_at
    top = max([threshold * 2, *(v[0] for v in values)])
    h = BAR_H * len(values) + 20
    parts = [f'<svg width="{LABEL_W + BAR_W + 90}" height="{h}" role="img" '
             f'aria-label="{esc(name)}: PSI per feature">']  # fmt: skip
    for i, (p, j, f) in enumerate(values):
        y = 4 + i * BAR_H
        label = columns[f] if columns and f < len(columns) else f"feature {f}"
        w = max(1.0, BAR_W * min(p, top) / top)
        cls = "bar over" if judged_at is not None and p > threshold else "bar"
        parts.append(f'<text x="{LABEL_W - 6}" y="{y + 10}" text-anchor="end" class="small">{esc(label)}</text>'
                     f'<rect class="{cls}" x="{LABEL_W}" y="{y}" width="{w:.1f}" height="{BAR_H - 3}"/>'
                     f'<text x="{LABEL_W + w + 4:.1f}" y="{y + 10}" class="small">{p:.2f} (JS {j:.2f})</text>')  # fmt: skip
    x = LABEL_W + BAR_W * threshold / top
    parts.append(f'<line class="zero" x1="{x:.1f}" x2="{x:.1f}" y1="0" y2="{h - 14}"/>'
                 f'<text x="{x:.1f}" y="{h - 2}" class="small" text-anchor="middle">PSI {threshold:g}</text></svg>')  # fmt: skip
    more = f" (the {len(values)} most drifted of {total})" if total > len(values) else ""
    if judged_at is None:
        more += (" — not judged by PSI: fewer than 1,000 values per feature, where noise alone "
                 "passes the threshold (only values outside the training range are, DS806)")  # fmt: skip
    return (f"<figure>\n<figcaption><b>{esc(name)} vs {esc(train)}</b>{esc(more)}</figcaption>\n"
            f'<div class="svgwrap">{"".join(parts)}</div>\n</figure>')  # fmt: skip
