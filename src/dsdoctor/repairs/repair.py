"""``repair``: run ``check``, then apply the suggested fixes whose safety is allowed."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DsdoctorError, UsageError
from ..findings import Report, Safety
from . import ops

OPERATIONS = {"pad": ops.pad_file, "replicate": ops.replicate_file, "reshape": ops.reshape_file,
              "select": ops.select_file, "bucket": ops.bucket_file}  # fmt: skip


@dataclass
class RepairPlan:
    """What ``repair`` did: the report it acted on, the fixes applied and the ones skipped."""

    report: Report
    applied: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"report": self.report.to_dict(), "applied": self.applied, "skipped": self.skipped}


def parse_allow(allow) -> set[Safety]:
    names = allow.split(",") if isinstance(allow, str) else list(allow)
    try:
        return {Safety(n.strip()) for n in names if n.strip()}
    except ValueError:
        raise UsageError(f"--allow takes lossless, assumption, lossy; got {allow!r}") from None


def repair(
    *sources, outdir: str, allow=("lossless",), force: bool = False, **check_options
) -> RepairPlan:
    """Check, then write the repaired arrays into ``outdir`` (one fix per array, in severity order)."""
    from ..api import check

    allowed = parse_allow(allow)
    report = check(*sources, **check_options)
    folder = Path(outdir)
    folder.mkdir(parents=True, exist_ok=True)
    plan = RepairPlan(report)
    done: dict[str, str] = {}
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
            if act.get("source") in done:
                plan.skipped.append(
                    {
                        **entry,
                        "reason": f"{act['source']} was already repaired by {done[act['source']]}",
                    }
                )
                continue
            out = str(folder / Path(act["out"]).name)
            try:
                result = OPERATIONS[act["op"]](act["source"], out, force=force, **act["options"])
            except DsdoctorError as exc:
                plan.skipped.append({**entry, "reason": str(exc)})
                continue
            done[act["source"]] = act["op"]
            plan.applied.append({**entry, "outputs": result.outputs, "result": result.to_dict()})
    return plan
