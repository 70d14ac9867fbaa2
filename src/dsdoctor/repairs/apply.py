"""Applying a report's fixes: each allowed fix's action (``{"op", "source", "out", "options"}``)
runs through the repair table into one output folder. ``dsdoctor.repair`` (in the API) runs
``check`` and hands its report here; nothing here runs a check."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DsdoctorError, OutputError, UsageError
from ..findings import Report, Safety
from .table import REPAIRS


@dataclass
class RepairPlan:
    """What ``repair`` did: the report it acted on, the fixes applied and the ones skipped."""

    report: Report
    applied: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"report": self.report.to_dict(), "applied": self.applied, "skipped": self.skipped}


def parse_allow(allow: str | Iterable[str]) -> set[Safety]:
    names = allow.split(",") if isinstance(allow, str) else list(allow)
    try:
        return {Safety(n.strip()) for n in names if n.strip()}
    except ValueError:
        raise UsageError(f"--allow takes lossless, assumption, lossy; got {allow!r}") from None


def apply_fixes(
    report: Report, *, outdir: str, allowed: set[Safety], force: bool, inputs: list[Path]
) -> RepairPlan:
    """Write the repaired arrays of ``report``'s allowed fixes into ``outdir`` (one fix per
    array, in the report's order, which is severity order).

    Each output is named ``OUTDIR/<name the fix suggests>`` (``d.reshaped.npy``); when two
    fixes would take one name (inputs ``a/d.npy`` and ``b/d.npy``) the later ones become
    ``d-2.reshaped.npy``, ``d-3.reshaped.npy``, … in the order the fixes are applied, and each
    applied entry lists its outputs. Every output is compared with every one of ``inputs``
    before any is written (:func:`~dsdoctor.sinks.guard_outputs`)."""
    from ..diskspace import write_errors
    from ..sinks import guard_outputs
    from ..sinks.atomic import check_output_folder

    folder = Path(outdir)
    plan = RepairPlan(report)
    todo: list[tuple[dict[str, Any], dict[str, Any], str]] = []
    names: set[str] = set()
    for f in report.findings:
        for fix in f.fixes:
            act = fix.action or {}
            entry = {
                "finding": f.name,
                "code": f.code,
                "command": fix.command,
                "safety": fix.safety.value,
            }
            if fix.safety not in allowed:
                plan.skipped.append(
                    {**entry, "reason": f"{fix.safety.value} fixes are not allowed (--allow)"}
                )
                continue
            todo.append((entry, act, str(folder / unique_name(Path(act["out"]).name, names))))
    guard_outputs([out for _, _, out in todo], inputs)
    created = bool(todo) and not folder.exists()
    if todo:
        check_output_folder(folder, "repair")
        with write_errors(str(folder), path_errors=True):
            folder.mkdir(parents=True, exist_ok=True)
    done: dict[str, str] = {}
    try:
        for entry, act, out in todo:
            if act.get("source") in done:
                reason = f"{act['source']} was already repaired by {done[act['source']]}"
                plan.skipped.append({**entry, "reason": reason})
                continue
            try:
                result = REPAIRS[act["op"]].file(act["source"], out, force=force, **act["options"])
            except OutputError:
                raise  # the output folder cannot take it (full, read-only): no fix can
            except DsdoctorError as exc:
                plan.skipped.append({**entry, "reason": str(exc)})
                continue
            done[act["source"]] = act["op"]
            plan.applied.append({**entry, "outputs": result.outputs, "result": result.to_dict()})
    except BaseException:
        if created and not any(folder.iterdir()):
            folder.rmdir()
        raise
    return plan


def unique_name(name: str, taken: set[str]) -> str:
    """``name``, or ``STEM-2.REST``, ``STEM-3.REST``, … (``STEM``: up to the first dot), the first
    that is not in ``taken``; the name chosen is added to ``taken``."""
    stem, dot, rest = name.partition(".")
    chosen, i = name, 1
    while chosen in taken:
        i += 1
        chosen = f"{stem}-{i}{dot}{rest}"
    taken.add(chosen)
    return chosen
