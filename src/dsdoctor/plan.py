"""``plan``: what training on this data will look like for a batch size — steps, the last
partial batch, bytes per sample and per batch, the largest batch that fits memory, padding
waste with one maxlen and with optimal buckets, the steps and padded batch bytes of each length
bucket, and learning rates scaled to the batch."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from . import kernels
from .errors import UsageError
from .units import format_shape


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
    #: with ``--buckets K`` on sequences: each length bucket's samples, maxlen, steps and padded
    #: batch bytes, as ``bucket --buckets K`` cuts them (:func:`bucketed`)
    bucketing: dict[str, Any] | None = None
    #: the buckets ``check``'s excess-padding (DS303) recommends for these sequences, if it does
    recommended_buckets: int | None = None

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
    bucketing = None
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
            bucketing = bucketed(clipped, bounds, batch_size=batch_size, row_bytes=handle.row_bytes)
    else:
        per_sample = handle.row_bytes if handle.ndim > 1 else handle.dtype.itemsize
    plan = Plan(handle.source, n, batch_size, math.ceil(n / batch_size), n // batch_size, n % batch_size or
                min(n, batch_size), per_sample, per_sample * batch_size, memory, maxlen=longest, padding=padding)  # fmt: skip
    plan.bucketing = bucketing
    if handle.ragged:
        _bucket_notes(plan, stats.length_hist, bucketing, buckets, row_bytes=handle.row_bytes)
    elif buckets:
        plan.notes.append(
            f"--buckets {buckets} is not planned: the data is dense, shape "
            f"{format_shape(handle.shape)}, and bucketing splits variable-length sequences"
        )
    plan.input_shape = list(handle.shape[1:])
    last = plan.input_shape[-1] if plan.input_shape else 1  # (N,) and (N, None): one value a step
    # an image or volume ((C, H, W), (H, W, C)…) has no one width: its shape is the input
    plan.input_width = None if len(plan.input_shape) >= 3 else 1 if last is None else last
    plan.target = target
    if memory is not None:
        plan.max_batch_for_memory = memory // per_sample if per_sample else None
        if plan.bytes_per_batch > memory:
            plan.notes.append(
                f"a batch of {batch_size} does not fit {memory:,} bytes; at most {plan.max_batch_for_memory:,} does"
            )
        if bucketing is not None and bucketing["bytes_per_batch"] > memory:
            plan.notes.append(
                f"with {bucketing['k']} buckets the largest batch ({bucketing['bytes_per_batch']:,} "
                f"bytes, bucket {bucketing['largest_bucket']}) does not fit {memory:,} bytes"
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


def bucketed(hist: kernels.LengthHistogram, boundaries: list[int], *, batch_size: int,
             row_bytes: int) -> dict[str, Any]:  # fmt: skip
    """Training on length buckets cut at ``boundaries`` (tf.data semantics, as ``bucket``
    writes them), each batch drawn from one bucket and padded to that bucket's longest sequence:
    per bucket its samples, maxlen, steps (``ceil(count / batch_size)``) and the bytes of its
    largest padded batch; over all buckets the steps per epoch and the largest batch's bytes.
    Vectorised over the distinct lengths."""
    k = len(boundaries) + 1
    which = kernels.assign_buckets(hist.lengths, boundaries)  # each distinct length's bucket
    counts = np.zeros(k, dtype=np.int64)
    np.add.at(counts, which, hist.counts)  # sequences in each bucket
    widths = np.zeros(k, dtype=np.int64)
    np.maximum.at(widths, which, hist.lengths)  # the longest sequence of each bucket
    steps = -(-counts // batch_size)
    edges: list[int | None] = [0, *boundaries, None]
    per_bucket, sizes = [], []
    for b in range(k):
        count, width = int(counts[b]), int(widths[b])
        biggest = min(batch_size, count)  # a bucket smaller than a batch makes one short batch
        sizes.append(biggest * width * row_bytes)
        per_bucket.append({"bucket": b, "min_length": edges[b], "max_length": edges[b + 1],
                           "count": count, "maxlen": width, "steps": int(steps[b]),
                           "last_batch": count % batch_size or biggest,
                           "bytes_per_batch": sizes[-1]})  # fmt: skip
    largest = sizes.index(max(sizes))
    return {"k": k, "boundaries": list(boundaries), "steps_per_epoch": int(steps.sum()),
            "steps_per_epoch_drop_last": int((counts // batch_size).sum()),
            "bytes_per_batch": sizes[largest], "largest_bucket": largest,
            "buckets": per_bucket}  # fmt: skip


def _bucket_notes(plan: Plan, hist: kernels.LengthHistogram, bucketing: dict[str, Any] | None,
                  asked: int | None, *, row_bytes: int) -> None:  # fmt: skip
    """What bucketing changes, said in the notes: the steps an epoch takes with the buckets
    (asked for, or recommended by ``check``'s excess-padding, DS303, on the same lengths)."""
    from .checks.sequences import bucket_advice

    advice = bucket_advice(hist)
    if advice is not None:
        plan.recommended_buckets = advice[0]
    if bucketing is not None:
        if bucketing["k"] < (asked or 0):
            plan.notes.append(
                f"--buckets {asked}: the sequences have {bucketing['k']} distinct lengths, so "
                f"{bucketing['k']} buckets hold them without padding"
            )
        return
    if advice is None:
        return
    k, bounds, _ = advice
    with_k = bucketed(hist, bounds, batch_size=plan.batch_size, row_bytes=row_bytes)
    plan.notes.append(
        f"check's excess-padding recommends {k} length buckets (boundaries "
        f"{', '.join(map(str, bounds))}): with them an epoch is {with_k['steps_per_epoch']:,} "
        f"steps, not {plan.steps_per_epoch:,} (each bucket ends in its own partial batch); "
        f"plan again with --buckets {k} for each bucket's steps and padded batch bytes"
    )
