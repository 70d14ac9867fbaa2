"""Applying a report's fixes: each allowed fix's action (``{"op", "source", "out", "options"}``)
runs through the repair table into one output folder. ``dsdoctor.repair`` (in the API) runs
``check`` and hands its report here; nothing here runs a check."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..errors import DsdoctorError, OutputError, UsageError
from ..findings import RepairOutcome, Report, Safety
from .table import REPAIRS


def parse_allow(allow: str | Iterable[str]) -> set[Safety]:
    names = allow.split(",") if isinstance(allow, str) else list(allow)
    try:
        return {Safety(n.strip()) for n in names if n.strip()}
    except ValueError:
        raise UsageError(f"--allow takes lossless, assumption, lossy; got {allow!r}") from None


def apply_fixes(
    report: Report,
    *,
    outdir: str,
    allowed: set[Safety],
    force: bool,
    inputs: list[Path],
    reading: Mapping[str, Any] | None = None,
) -> RepairOutcome:
    """Write the repaired arrays of ``report``'s allowed fixes into ``outdir`` (one fix per
    array, in the report's order, which is severity order; the one exception: a ``shift`` of
    token ids goes first and a ``pad``/``bucket`` with 0 then reads its output, so real id-0
    tokens become 1 before 0 means padding — :func:`shift_first`).

    Each output is named ``OUTDIR/<name the fix suggests>`` (``d.reshaped.npy``); when two
    fixes would take one name (inputs ``a/d.npy`` and ``b/d.npy``) the later ones become
    ``d-2.reshaped.npy``, ``d-3.reshaped.npy``, … in the order the fixes are applied, and each
    applied entry lists its outputs. Every output is compared with every one of ``inputs``
    before any is written (:func:`~dsdoctor.sinks.guard_outputs`). Each output is written
    atomically, one after another; without ``force``, a run that ends early (a signal, a full
    disk) removes the outputs it had already written, so ``outdir`` gets all of them or none.
    With ``force`` an old output already replaced stays replaced. ``reading`` holds the source
    options each fix's source is opened with (as the check read it)."""
    from ..diskspace import write_errors
    from ..sinks import guard_outputs
    from ..sinks.atomic import check_output_folder

    folder = Path(outdir)
    outcome = RepairOutcome(report)
    reading = dict(reading or {})
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
                outcome.skipped.append(
                    {**entry, "reason": f"{fix.safety.value} fixes are not allowed (--allow)"}
                )
                continue
            todo.append((entry, act, str(folder / unique_name(Path(act["out"]).name, names))))
    todo = shift_first(todo)
    guard_outputs([out for _, _, out in todo], inputs)
    created = bool(todo) and not folder.exists()
    if todo:
        check_output_folder(folder, "repair")
        with write_errors(str(folder), path_errors=True):
            folder.mkdir(parents=True, exist_ok=True)
    done: dict[str, str] = {}
    shifted: dict[str, str] = {}  # source → the shifted output a pad of it reads instead
    unshifted: set[str] = set()  # sources whose shift was refused
    try:
        for entry, act, out in todo:
            source, opened = act.get("source"), reading
            if source in ("-", "<stdin>"):
                reason = ("stdin was read once, by the check; save it to a file (e.g. "
                          "`cat > data.npy`) and run repair on that file")  # fmt: skip
                outcome.skipped.append({**entry, "reason": reason})
                continue
            if source in unshifted and pads_with_zero(act):
                reason = (f"the shift of {source} that frees 0 for padding was not applied: "
                          "padding with 0 would make its real id-0 tokens look like padding")  # fmt: skip
                outcome.skipped.append({**entry, "reason": reason})
                continue
            if source in shifted and pads_with_zero(act):
                source, opened = shifted.pop(source), {}  # our own output: no reading options
                entry["after"] = "shift"
                entry["source"] = source
            elif source in done:
                reason = f"{source} was already repaired by {done[source]}"
                outcome.skipped.append({**entry, "reason": reason})
                continue
            try:
                result = REPAIRS[act["op"]].file(source, out, force=force, **act["options"],
                                                 **opened)  # fmt: skip
            except OutputError:
                raise  # the output folder cannot take it (full, read-only): no fix can
            except DsdoctorError as exc:
                outcome.skipped.append({**entry, "reason": str(exc)})
                if act["op"] == "shift":
                    unshifted.add(act["source"])
                continue
            if act["op"] == "shift" and result.shape[1:2] == [None]:  # ragged ids, shifted
                column = result.details.get("output_column")  # a Parquet output's column
                shifted[act["source"]] = out + (f":{column}" if column else "")
            done[act["source"]] = (f"{done[act['source']]}, then {act['op']}"
                                   if act["source"] in done else act["op"])  # fmt: skip
            outcome.applied.append({**entry, "outputs": result.outputs, "result": result.to_dict()})
    except BaseException:
        if not force:  # every output of this run is new: a run that does not finish leaves none
            for applied in outcome.applied:
                for path in applied["outputs"]:
                    Path(path).unlink(missing_ok=True)
        if created and not any(folder.iterdir()):
            folder.rmdir()
        raise
    return outcome


def pads_with_zero(act: Mapping[str, Any]) -> bool:
    """A ``pad`` or ``bucket`` of ragged sequences that pads with 0 (no ``value``): after a
    ``shift`` of the same source it reads the shifted ids, whose 0 is free for the padding."""
    return act.get("op") in ("pad", "bucket") and "value" not in (act.get("options") or {})


def shift_first(
    todo: list[tuple[dict[str, Any], dict[str, Any], str]],
) -> list[tuple[dict[str, Any], dict[str, Any], str]]:
    """``todo`` with each ``shift`` moved before the first other fix of its source, the rest in
    the report's order: token ids where 0 is a real id are shifted (ids + 1, vocabulary + 1)
    before they are padded with 0, so the padding never takes a real id's value."""
    first: dict[object, int] = {}
    for i, (_, act, _) in enumerate(todo):
        first.setdefault(act.get("source"), i)

    def key(item: tuple[int, tuple[dict[str, Any], dict[str, Any], str]]) -> tuple[int, int]:
        i, (_, act, _) = item
        if act.get("op") == "shift":
            return first[act.get("source")], 0
        return i, 1

    return [t for _, t in sorted(enumerate(todo), key=key)]


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
