"""Findings, fixes and the report: what ``check`` returns and ``--json`` prints; and the
outcome of ``repair``, which carries that report.

The dictionaries built by ``to_dict`` are a public interface: add fields, never rename or
remove one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"info": 1, "warning": 2, "error": 3}[self.value]


class Safety(StrEnum):
    """What applying a fix risks."""

    LOSSLESS = "lossless"  # nothing is lost: pad with a mask, reshape, add an axis
    ASSUMPTION = "assumption"  # right only if something the data cannot show is true
    LOSSY = "lossy"  # information is dropped: truncation, dropping features


@dataclass(frozen=True)
class Fix:
    """A runnable ``dsdoctor`` command line and what applying it risks."""

    command: str
    safety: Safety
    title: str = ""
    #: the same repair as data, for ``repair``: operation, source and keyword arguments
    action: dict[str, Any] | None = field(default=None, compare=False)
    #: files the command reads (path → text), for a selection too long for one line
    #: (``--features @x.features.txt``); ``check --fix-files`` writes them
    files: dict[str, str] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"command": self.command, "safety": self.safety.value,
                               "title": self.title}  # fmt: skip
        if self.files:
            out["files"] = dict(self.files)
        return out


@dataclass
class Finding:
    code: str
    name: str
    severity: Severity
    message: str
    arrays: list[str]
    evidence: dict[str, Any] = field(default_factory=dict)
    fixes: list[Fix] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "severity": self.severity.value,
            "message": self.message,
            "arrays": list(self.arrays),
            "evidence": self.evidence,
            "fixes": [f.to_dict() for f in self.fixes],
        }


FAIL_ON = ("error", "warning", "info", "never")


@dataclass
class Report:
    """The result of ``check``: the arrays looked at and the findings, most severe first."""

    version: str
    arrays: dict[str, dict[str, Any]]
    findings: list[Finding]
    #: which sources were read as one dataset (``api.check``): each ``{"given": "together" |
    #: "each" | "alone", "split", "sources": [{"source", "arrays", "samples", …}]}``
    datasets: list[dict[str, Any]] = field(default_factory=list)
    #: the table columns in no analysed array, with their kind and facts (``ColumnFacts``)
    columns: list[dict[str, Any]] = field(default_factory=list)
    #: the model file checked against (``--model``): its path, format, the input x was checked
    #: against, the expectations it gave (``used``), the options that overrode it, its facts
    model: dict[str, Any] | None = None
    #: bytes fetched from remote objects (URL sources) by this process while checking; None when
    #: every source is local (with ``--jobs``/Dask the workers' fetches are not included)
    bytes_fetched: int | None = None
    #: the splits compared (``check --split``): the training split's name, ``group``, and per
    #: split its ``rows``, ``x``/``y`` arrays, ``classes`` ([value, count] pairs), ``groups``
    #: (distinct count), drift ``histogram`` (per feature, counts in fixed bins) and ``hashed``
    splits: dict[str, Any] | None = None
    #: the entries of a folder given as a source that were not read, each ``{"source", "entry",
    #: "why"}`` (a TFRecord file, a Zarr store inside: ``sources.folder_not_read``)
    not_read: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.findings.sort(key=lambda f: (-f.severity.rank, f.code, f.arrays))

    @property
    def summary(self) -> dict[str, int]:
        counts = {s.value: 0 for s in Severity}
        for f in self.findings:
            counts[f.severity.value] += 1
        return counts

    def failed(self, fail_on: str = "error") -> bool:
        """True when a finding is at or above ``fail_on`` (``never`` never fails)."""
        if fail_on == "never":
            return False
        threshold = Severity(fail_on).rank
        return any(f.severity.rank >= threshold for f in self.findings)

    def by_name(self, name: str) -> list[Finding]:
        return [f for f in self.findings if f.name == name]

    def to_dict(self) -> dict[str, Any]:
        return {
            "dsdoctor": self.version,
            "arrays": self.arrays,
            "findings": [f.to_dict() for f in self.findings],
            "columns": self.columns,
            "summary": self.summary,
            "datasets": self.datasets,
            **({"model": self.model} if self.model is not None else {}),
            **({"bytes_fetched": self.bytes_fetched} if self.bytes_fetched is not None else {}),
            **({"splits": self.splits} if self.splits is not None else {}),
            **({"not_read": self.not_read} if self.not_read else {}),
        }


@dataclass
class RepairOutcome:
    """What ``repair`` did: the report it acted on, the fixes applied (each with its outputs) and
    the fixes skipped (each with its reason)."""

    report: Report
    applied: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"report": self.report.to_dict(), "applied": self.applied, "skipped": self.skipped}
