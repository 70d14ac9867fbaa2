"""The page's layout: the summary counts, a table of the arrays, the findings (evidence and fix
commands with their safety) and the charts of each array (:mod:`.charts`), with the stylesheet
(``style.css``) inlined."""

from __future__ import annotations

from importlib.resources import files
from typing import TYPE_CHECKING

from ...units import format_bytes, format_shape
from .charts import array_charts
from .text import esc, evidence_text, num

if TYPE_CHECKING:
    from ...findings import Finding, Report

NUM = ' class="num"'
SEVERITIES = ("error", "warning", "info")


def stylesheet() -> str:
    """The page's CSS, ``style.css`` beside this module (package data, inlined in every page)."""
    return files(__package__).joinpath("style.css").read_text(encoding="utf-8")


def to_html(report: Report) -> str:
    """The report as one HTML document."""
    s = report.summary
    title = "dsdoctor: " + (_verdict(s) if report.findings else "healthy")
    body = [
        _header(report),
        _section("Arrays", _arrays_table(report)),
        _section(f"Findings ({len(report.findings)})", _findings(report)),
    ]
    if report.not_read:
        items = "".join(f"<li><code>{esc(e['source'].rstrip('/'))}/{esc(e['entry'])}</code>: "
                        f"{esc(e['why'])}</li>" for e in report.not_read)  # fmt: skip
        body.append(_section(f"Not read ({len(report.not_read)})", f"<ul>{items}</ul>"))
    if report.splits:
        from .splits import splits_section

        body.append(_section("Splits", splits_section(report)))
    charts = [c for name, info in report.arrays.items() if (c := array_charts(name, info, report))]
    if charts:
        body.append(_section("Charts", "\n".join(charts)))
    body.append(
        f"<footer>dsdoctor {esc(report.version)} · <code>dsdoctor explain CODE</code> "
        "tells more about a finding</footer>"
    )
    return (
        "<!doctype html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>\n{stylesheet()}</style>\n</head>\n"
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
    sp = report.splits or {}
    partly = any(sp.get(k) for k in ("not_run", "drift_not_judged", "timesteps_not_compared"))
    status = (
        ('<p class="status ok">No findings: the data looks healthy'
         + ("; some split checks did not run or were judged only in part (see Splits).</p>"
            if partly else ".</p>"))
        if not report.findings and not report.not_read
        else '<p class="status">No findings, but some entries of the folder were not read '
             "(see Not read).</p>" if not report.findings else ""
    )  # fmt: skip
    return (
        '<header class="top">\n<div>\n<h1>dsdoctor report</h1>\n'
        f'<p class="muted">{n} array{"" if n == 1 else "s"} checked · dsdoctor {esc(report.version)}'
        f"</p>\n{status}\n</div>\n"
        f'<div class="counts">{counts}</div>\n</header>'
    )


def _section(title: str, inner: str) -> str:
    return f"<section>\n<h2>{esc(title)}</h2>\n{inner}\n</section>"


def _arrays_table(report: Report) -> str:
    if not report.arrays:
        return '<p class="muted">No arrays.</p>'
    rows = []
    for name, a in report.arrays.items():
        st = a.get("stats") or {}
        source = a.get("source", "")
        label = f'<div class="name">{esc(name)}</div>'
        if source and source != name:
            label += f'<div class="muted small">{esc(source)}</div>'
        note = a.get("unsafe") or a.get("skipped")
        if note:
            label += f'<div class="small warn-text">not read: {esc(note)}</div>'
        elif a.get("not_analysed"):
            label += f'<div class="small muted">{esc(a["not_analysed"])}</div>'
        shape = format_shape(a["shape"]) if a.get("shape") is not None else "?"
        tags = '<span class="tag">ragged</span>' if a.get("ragged") else ""
        nonfinite = _nonfinite(st)
        size = [f"{format_bytes(a[k])} {w}" for k, w in (("bytes_on_disk", "on disk"),
                                                     ("bytes_in_memory", "in memory")) if a.get(k) is not None]  # fmt: skip
        rows.append(
            f"<tr><td>{label}</td><td>{esc(a.get('role', ''))}</td>"
            f'<td class="mono">{esc(shape)} {tags}</td><td class="mono">{esc(a.get("dtype", ""))}</td>'
            f'<td class="num">{num(st.get("rows"))}</td><td class="num">{nonfinite}</td>'
            f'<td class="num">{num(st.get("min"))}</td><td class="num">{num(st.get("max"))}</td>'
            f'<td class="num small">{"<br>".join(map(esc, size)) or "–"}</td></tr>'
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
        f'<code class="code">{esc(f.code)}</code><span class="fname">{esc(f.name)}</span>'
        f'<span class="muted small farrays">{esc(arrays)}</span></div>',
        f'<p class="message">{esc(f.message)}</p>',
    ]
    if f.evidence:
        keys = "".join(f"<th>{esc(k)}</th>" for k in f.evidence)
        values = "".join(f"<td>{esc(evidence_text(v))}</td>" for v in f.evidence.values())
        parts.append(f'<table class="evidence"><caption>evidence</caption><tr>{keys}</tr>'
                     f"<tr>{values}</tr></table>")  # fmt: skip
    if f.fixes:
        items = "".join(
            f'<li><div><span class="safety {esc(x.safety.value)}">{esc(x.safety.value)}</span>'
            f'<span class="fixtitle">{esc(x.title)}</span></div>'
            f'<code class="cmd">{esc(x.command)}</code></li>'
            for x in f.fixes
        )
        parts.append(f'<ul class="fixes">{items}</ul>')
    parts.append("</article>")
    return "\n".join(parts)
