"""The registry of checks: one table of stable codes. A code is never reused; a renamed check
keeps its old name in ``aliases``."""

from __future__ import annotations

from collections.abc import Iterator

from ..errors import UsageError
from ..findings import Finding
from .alignment import LabelOutOfRange, SampleCountMismatch, TargetShapeMismatch
from .base import Check, Context, Expectations, Subject
from .batching import BatchExceedsSamples, BatchMemory, PartialLastBatch
from .columns import IndexColumn, NonInputColumns, ShardSchemaMismatch, UnreadableData
from .labels import ClassCountMismatch, LabelLooksLikeId, RareClass, StringLabels
from .sequences import (
    EmptySequences,
    ExcessPadding,
    MaskValueCollision,
    PackPaddingSide,
    RaggedSequences,
    SequenceLongerThanModel,
)
from .shape import AxisSizeMismatch, FeatureWidthMismatch, RankMismatch, TimestepsMismatch
from .spec import SpecViolation, SplitSpecViolation
from .splits import (
    EmptyClassInTrain,
    FeatureDrift,
    GroupLeakage,
    LabelDrift,
    SplitOverlap,
    SplitSchemaMismatch,
    TimestepOverlap,
    UnseenLabels,
)
from .tokens import TokenIdOutOfRange
from .values import (
    ConstantFeature,
    InputDtypeMismatch,
    MissingValues,
    NonFiniteValues,
    UnsafePickle,
    UnwrittenData,
)

REGISTRY: tuple[type[Check], ...] = (
    SampleCountMismatch, TargetShapeMismatch, LabelOutOfRange,
    RareClass, LabelLooksLikeId, StringLabels, ClassCountMismatch,
    FeatureWidthMismatch, RankMismatch, TimestepsMismatch, AxisSizeMismatch,
    RaggedSequences, MaskValueCollision, ExcessPadding, EmptySequences, PackPaddingSide,
    TokenIdOutOfRange, SequenceLongerThanModel,
    NonFiniteValues, ConstantFeature, UnsafePickle, UnwrittenData, MissingValues, InputDtypeMismatch,
    PartialLastBatch, BatchExceedsSamples, BatchMemory,
    SpecViolation, SplitSpecViolation,
    NonInputColumns, IndexColumn, UnreadableData, ShardSchemaMismatch,
    SplitSchemaMismatch, UnseenLabels, SplitOverlap, TimestepOverlap, GroupLeakage, FeatureDrift,
    LabelDrift, EmptyClassInTrain,
)  # fmt: skip

__all__ = ["REGISTRY", "Check", "Context", "Expectations", "Subject", "get_check", "resolve_codes",
           "run_checks"]  # fmt: skip


def get_check(key: str) -> type[Check]:
    """A check by code (``DS101``), name (``sample-count-mismatch``) or alias."""
    k = key.strip().lower()
    for c in REGISTRY:
        if k in (c.code.lower(), c.name, *c.aliases):
            return c
    raise UsageError(f"no finding called {key!r}; `dsdoctor explain` lists them all")


def resolve_codes(keys: list[str] | None) -> set[str] | None:
    """``--select/--ignore`` values (codes, names, or a code prefix like ``DS3``) → codes."""
    if not keys:
        return None
    out: set[str] = set()
    for raw in keys:
        for key in filter(None, (p.strip() for p in raw.split(","))):
            prefix = [
                c.code for c in REGISTRY if c.code.lower().startswith(key.lower()) and len(key) < 5
            ]
            out.update(prefix or [get_check(key).code])
    return out


def run_checks(
    ctx: Context, select: set[str] | None = None, ignore: set[str] | None = None
) -> Iterator[Finding]:
    for cls in REGISTRY:
        if (select is not None and cls.code not in select) or (ignore and cls.code in ignore):
            continue
        yield from cls().run(ctx)
