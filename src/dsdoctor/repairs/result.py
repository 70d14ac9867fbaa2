"""What a repair returns: the written files, the output shape, and anything the user must know."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..findings import Finding


@dataclass
class RepairResult:
    operation: str
    source: str
    outputs: list[str]
    shape: list[int | None]
    dtype: str
    details: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    #: findings of ``check`` on the data the repair read (``mask``: mask-value-collision), the
    #: same objects ``check`` reports
    findings: list[Finding] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"operation": self.operation, "source": self.source, "outputs": self.outputs,
                "shape": self.shape, "dtype": self.dtype, "details": self.details,
                "warnings": self.warnings,
                "findings": [f.to_dict() for f in self.findings]}  # fmt: skip
