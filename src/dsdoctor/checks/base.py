"""The check base class and the context every check reads.

A check is one class with a stable ``code``, a kebab-case ``name`` (what is wrong, never the
fix), a default ``severity``, a message ``template`` rendered with the measured numbers, and a
docstring with the sections *What it means / Why frameworks fail / How to repair / Example*
that ``dsdoctor explain`` prints.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from ..engine.columns import ColumnFacts
from ..engine.stats import ArrayStats
from ..findings import Finding, Fix, Severity
from ..sources.base import ArrayHandle

if TYPE_CHECKING:
    from ..models.base import ModelFacts


#: An expectation → the :class:`ModelFacts` field it is read from, where their names differ.
MODEL_FACT = {"classes": "output_units", "max_length": "max_positions"}


@dataclass(frozen=True)
class Expectations:
    """What the model expects (the ``check`` options; same names in the API)."""

    input_shape: tuple[int | None, ...] | None = None  # without the batch axis
    features: int | None = None
    timesteps: int | None = None
    classes: int | None = None
    batch_size: int | None = None
    memory: int | None = None
    mask_value: float | None = None
    #: the input_dim of the Embedding that reads integer inputs: token ids must be in [0, V)
    vocab_size: int | None = None
    #: the model file the expectations were read from (``--model``), None without one
    model: ModelFacts | None = field(default=None, compare=False)
    #: which expectation came from where: fact → "model" (read from ``model``) or the option
    #: that gave it ("--features", "spec"); a fact not here was not given
    origin: dict[str, str] = field(default_factory=dict, compare=False)
    #: the model input x is checked against (a model with several inputs names one)
    model_input: str | None = None
    #: the targets the model's loss takes: "sparse" (labels), "one-hot" (rows of ``classes``)
    target_form: str | None = None
    #: the model's output units, when read from a model (a sigmoid's 1 is not 2 classes wide)
    output_units: int | None = None
    #: the longest sequence the model takes (Hugging Face ``max_position_embeddings``)
    max_length: int | None = None

    @property
    def width(self) -> int | None:
        if self.features is not None:
            return self.features
        if self.input_shape:
            return self.input_shape[-1]
        return None

    @property
    def rank(self) -> int | None:
        """Expected ndim of x including the sample axis."""
        if self.input_shape is not None:
            return len(self.input_shape) + 1
        if self.timesteps is not None:
            return 3
        return None

    @property
    def steps(self) -> int | None:
        if self.timesteps is not None:
            return self.timesteps
        if self.input_shape is not None and len(self.input_shape) >= 2:
            return self.input_shape[-2]
        return None

    def by(self, fact: str) -> str:
        """Who expects ``fact``: "the model", or the model file and its layer or tensor when the
        expectation was read from it ("model.keras input `features`")."""
        if self.model is None or self.origin.get(fact) != "model":
            return "the model"
        where = self.model_where(fact)
        said = f"{self.model_name} {where}" if where else self.model_name
        key = "input:" + str(self.model_input) if fact in ("input_shape", "features", "timesteps") else (
            MODEL_FACT.get(fact, fact))  # fmt: skip
        sure = self.model.confidence.get(key) or (
            self.model.confidence.get("inputs") if key.startswith("input:") else None)  # fmt: skip
        return said + (" (inferred)" if sure == "inferred" else "")

    @property
    def model_name(self) -> str:
        from pathlib import Path

        return Path(self.model.path).name if self.model is not None else "the model"

    def model_where(self, fact: str) -> str | None:
        """The layer or tensor of the model that ``fact`` was read from."""
        if self.model is None:
            return None
        if fact in ("input_shape", "features", "timesteps"):
            return (
                self.model.where.get(f"input:{self.model_input}") or f"input `{self.model_input}`"
            )
        where = self.model.where.get(MODEL_FACT.get(fact, fact))
        if fact == "classes" and self.model.output_activation in (None, "linear"):
            # the output's units read as class logits (a PyTorch classifier ends in a Linear)
            where = f"{where or 'output'}, its logits read as classes"
        return where

    def from_model(self, fact: str) -> dict:
        """Evidence naming the model file and the layer or tensor ``fact`` was read from."""
        if self.model is None or self.origin.get(fact) != "model":
            return {}
        return {"model": self.model.path, "model_where": self.model_where(fact)}


@dataclass
class Subject:
    """An array under check: its handle, its role, and what one pass over it measured."""

    name: str  # the key in the report: "x", "y", or the source for positional arrays
    role: str  # "x" | "y" | "array"
    handle: ArrayHandle
    stats: ArrayStats | None = None
    spec: object | None = None  # the spec file's [arrays.NAME], when checking against a spec
    #: Known to be padded sequences, (N, T[, F…]) with axis 1 time: ``{"value": V or None,
    #: "from": "--mask-value 0" | "pad of SRC"}``; None when nothing says so (ragged arrays are
    #: sequences whatever this says). See :func:`dsdoctor.api.sequence_facts`.
    sequence: dict | None = None
    #: the input of a several-input model this array was matched to by order (one ``--x``
    #: container whose members are not named like the inputs); by name needs no record
    model_input: str | None = None
    #: its columns were named by the user (``--x data.parquet:input_ids``): the table's other
    #: columns were not asked for (DS701 does not warn about them)
    named: bool = False

    @property
    def rank(self) -> int:
        h = self.handle
        return h.ndim

    @property
    def width(self) -> int | None:
        """Size of the last axis, i.e. the features a model's first layer sees."""
        h = self.handle
        if h.ragged:
            return h.shape[-1] if h.ndim > 2 else None
        return h.shape[-1] if h.ndim >= 2 else None

    @property
    def not_data(self) -> str | None:
        """``mask`` or ``lengths``: dsdoctor wrote this array beside padded data (its provenance
        says so); value checks skip it, and the report says so."""
        return self.handle.not_data

    @property
    def checkable(self) -> bool:
        return self.stats is not None


@dataclass
class Context:
    subjects: list[Subject]
    expect: Expectations
    pairs: list[tuple[Subject, Subject]] = field(default_factory=list)
    spec: object | None = None  # a dsdoctor.spec.Spec
    #: the columns of the tables read that are not in any subject (engine/columns.py)
    columns: list[ColumnFacts] = field(default_factory=list)
    #: arrays of sources given together (one dataset): each list must agree on the sample axis
    together: list[list[Subject]] = field(default_factory=list)
    #: the splits compared (``check --split``; a :class:`dsdoctor.checks.splits.Splits`), or None
    splits: object | None = None

    def role(self, role: str) -> list[Subject]:
        return [s for s in self.subjects if s.role == role]

    def inputs(self) -> list[Subject]:
        """Arrays a model takes as input: x, or every plain array when there is no x."""
        xs = self.role("x")
        return xs or self.role("array")

    def target_of(self, x: Subject) -> Subject | None:
        return next((y for xx, y in self.pairs if xx is x), None)


class Check:
    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity]
    template: ClassVar[str]
    family: ClassVar[str]
    since: ClassVar[str] = "0.1.0"
    status: ClassVar[str] = "stable"
    aliases: ClassVar[tuple[str, ...]] = ()

    def run(self, ctx: Context) -> Iterator[Finding]:  # pragma: no cover - abstract
        raise NotImplementedError

    def finding(
        self,
        subjects: list[Subject],
        evidence: dict,
        fixes: list[Fix] | None = None,
        *,
        severity: Severity | None = None,
        template: str | None = None,
        **words,
    ) -> Finding:
        message = (template or self.template).format(**{**evidence, **words})
        return Finding(
            code=self.code,
            name=self.name,
            severity=severity or self.severity,
            message=message,
            arrays=[s.name for s in subjects],
            evidence=evidence,
            fixes=fixes or [],
        )

    # -- documentation ---------------------------------------------------------------------------
    @classmethod
    def doc(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def summary(cls) -> str:
        return cls.doc().split("\n\n", 1)[0].replace("\n", " ")

    @classmethod
    def sections(cls) -> dict[str, str]:
        """The docstring's titled sections (``What it means:`` …)."""
        parts = re.split(r"^(What it means|Why frameworks fail|How to repair|Example):?\s*$",
                         cls.doc(), flags=re.M)  # fmt: skip
        return {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}

    @classmethod
    def describe(cls) -> dict:
        return {"code": cls.code, "name": cls.name, "severity": cls.severity.value,
                "family": cls.family, "since": cls.since, "status": cls.status,
                "aliases": list(cls.aliases), "summary": cls.summary(),
                "sections": cls.sections()}  # fmt: skip
