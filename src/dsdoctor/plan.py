"""``plan``: what training on this data will look like for a batch size — steps, the last
partial batch, bytes per sample and per batch, the largest batch that fits memory, padding
waste with one maxlen and with optimal buckets, and learning rates scaled to the batch."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from . import kernels
from .errors import UsageError


@dataclass
class Plan:
    source: str
    samples: int
    batch_size: int
    steps_per_epoch: int
    steps_per_epoch_drop_last: int
    last_batch: int
    bytes_per_sample: int
    bytes_per_batch: int
    memory: int | None = None
    max_batch_for_memory: int | None = None
    maxlen: int | None = None
    padding: dict[str, Any] | None = None
    learning_rate: dict[str, float] | None = None
    notes: list[str] = field(default_factory=list)
    #: one sample's shape without the batch axis (None: a ragged axis), what the model's input
    #: layer is declared with; its last axis is the input width (features the first layer sees)
    input_shape: list[int | None] | None = None
    input_width: int | None = None
    #: the table column left out as targets (``--target``): not counted in bytes per sample
    target: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def make_plan(handle, stats, *, batch_size: int, memory: int | None = None, buckets: int | None = None,
              maxlen: int | str | None = None, lr: float | None = None, lr_batch: int | None = None,
              target: str | None = None) -> Plan:  # fmt: skip
    """``maxlen``: a length, or ``"pNN"`` (the shortest covering NN% of the sequences), as pad
    takes it; by default the longest. ``handle`` is the inputs only: ``target`` names the column
    its table left out."""
    if batch_size < 1:
        raise UsageError(f"--batch-size must be at least 1, got {batch_size}")
    if (lr is None) != (lr_batch is None):
        raise UsageError(
            "--lr and --lr-batch go together: the learning rate and the batch size it was tuned for"
        )
    n = handle.n
    if n is None:
        raise UsageError(f"{handle.source} is a single value, not samples; plan needs a first axis")
    padding = None
    longest = None
    if handle.ragged:
        hist = stats.length_hist
        try:
            longest = kernels.resolve_maxlen_from_hist(hist, maxlen)
        except ValueError as exc:
            raise UsageError(f"--maxlen: {exc}") from None
        per_sample = longest * handle.row_bytes
        clipped = hist.clip(longest)  # truncated sequences fill maxlen
        real = clipped.timesteps
        cells = n * longest
        padding = {"cells": cells, "real": real, "padding": cells - real,
                   "waste": round((cells - real) / cells, 4) if cells else 0.0}  # fmt: skip
        if buckets:
            bounds = kernels.optimal_boundaries(clipped, buckets)
            cost = kernels.padding_cost(clipped, bounds)
            padding["buckets"] = {"k": buckets, "boundaries": bounds, "padding": int(cost),
                                  "waste": round(cost / (cost + real), 4) if cost + real else 0.0}  # fmt: skip
    else:
        per_sample = handle.row_bytes if handle.ndim > 1 else handle.dtype.itemsize
    plan = Plan(handle.source, n, batch_size, math.ceil(n / batch_size), n // batch_size, n % batch_size or
                min(n, batch_size), per_sample, per_sample * batch_size, memory, maxlen=longest, padding=padding)  # fmt: skip
    plan.input_shape = list(handle.shape[1:])
    last = plan.input_shape[-1] if plan.input_shape else 1  # (N,) and (N, None): one value a step
    plan.input_width = 1 if last is None else last
    plan.target = target
    if memory is not None:
        plan.max_batch_for_memory = memory // per_sample if per_sample else None
        if plan.bytes_per_batch > memory:
            plan.notes.append(
                f"a batch of {batch_size} does not fit {memory:,} bytes; at most {plan.max_batch_for_memory:,} does"
            )
    if batch_size > n:
        plan.notes.append(f"the batch size {batch_size} is larger than the {n:,} samples")
    if n % batch_size:
        plan.notes.append(
            f"the last batch holds {n % batch_size} samples (drop_last would skip them)"
        )
    if lr is not None and lr_batch is not None:  # both or neither (refused above)
        ratio = batch_size / lr_batch
        plan.learning_rate = {
            "base": lr,
            "base_batch": lr_batch,
            "linear": lr * ratio,
            "sqrt": lr * math.sqrt(ratio),
        }
    return plan
