"""Checks of the batch size against the number of samples and the memory available."""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import Finding, Severity
from ..units import format_bytes
from .base import Check, Context, Subject


def sample_bytes(s: Subject, timesteps: int | None = None) -> int | None:
    """Bytes one sample takes once batched (ragged: padded to ``timesteps`` or the longest)."""
    h = s.handle
    if h.skip or h.unsafe:
        return None
    if h.ragged:
        longest = timesteps
        if longest is None and s.stats is not None and s.stats.lengths_count:
            longest = s.stats.length_hist.longest
        return None if longest is None else longest * h.row_bytes
    return h.row_bytes if h.ndim else h.dtype.itemsize


def batch_subjects(ctx: Context) -> list[tuple[Subject, Subject | None]]:
    return [(x, ctx.target_of(x)) for x in ctx.inputs() if x.handle.n is not None]


class PartialLastBatch(Check):
    """The number of samples is not a multiple of the batch size.

    What it means:
    With N samples and batch size B, the last batch of each epoch holds N mod B samples.

    Why frameworks fail:
    Usually they do not; but layers that need a fixed batch (stateful RNNs, BatchNorm with a
    last batch of 1: "Expected more than 1 value per channel when training"), ``drop_last``
    assumptions and per-batch metrics are affected.

    How to repair:
    Use ``drop_last=True`` (PyTorch) / ``drop_remainder=True`` (tf.data), choose a batch size
    that divides N, or accept the partial batch.

    Example:
    dsdoctor check --x x.npy --batch-size 32
    """

    code, name, severity, family = "DS501", "partial-last-batch", Severity.INFO, "batching"
    template = ("{x_name} has {samples:,} samples: {full:,} full batches of {batch_size} and a last "
                "batch of {last}")  # fmt: skip

    def run(self, ctx: Context) -> Iterator[Finding]:
        b = ctx.expect.batch_size
        if not b:
            return
        for x, _ in batch_subjects(ctx):
            n = x.handle.n
            if n and n >= b and n % b:
                yield self.finding([x], {"samples": n, "batch_size": b, "full": n // b,
                                         "last": n % b}, x_name=x.name)  # fmt: skip


class BatchExceedsSamples(Check):
    """The batch size is larger than the number of samples.

    What it means:
    Every epoch is one partial batch of N < B samples.

    Why frameworks fail:
    With ``drop_last=True`` / ``drop_remainder=True`` there are no batches at all: the epoch is
    empty and the loop silently trains nothing (Keras: "Your input ran out of data"); BatchNorm
    statistics and learning-rate schedules assume the batch size you set.

    How to repair:
    Use a batch size of at most N, or check that the right (whole) dataset was loaded.

    Example:
    dsdoctor check --x x.npy --batch-size 128
    """

    code, name, severity, family = "DS502", "batch-exceeds-samples", Severity.WARNING, "batching"
    template = "batch size {batch_size} is larger than the {samples} samples in {x_name}"

    def run(self, ctx: Context) -> Iterator[Finding]:
        b = ctx.expect.batch_size
        if not b:
            return
        for x, _ in batch_subjects(ctx):
            n = x.handle.n  # never None: batch_subjects leaves out 0-d arrays
            if n is not None and n < b:
                yield self.finding([x], {"samples": x.handle.n, "batch_size": b}, x_name=x.name)


class BatchMemory(Check):
    """One batch does not fit in the memory given.

    What it means:
    A batch of B samples of x (and y) takes B × bytes-per-sample, before activations and
    gradients, which take several times more.

    Why frameworks fail:
    "CUDA out of memory. Tried to allocate …", TensorFlow's "ResourceExhaustedError: OOM when
    allocating tensor with shape[…]", or the operating system killing the process.

    How to repair:
    Use a batch size at most the largest that fits (the message gives it), bucket sequences so
    short ones are not padded to the longest, or use a smaller dtype (float16/bfloat16).

    Example:
    dsdoctor check --x x.npy --batch-size 512 --memory 2GiB
    """

    code, name, severity, family = "DS503", "batch-memory", Severity.ERROR, "batching"
    template = ("one batch of {batch_size} from {x_name} takes {batch_h} ({sample_h} per sample) "
                "but --memory is {memory_h}; the largest batch that fits is {max_batch}")  # fmt: skip

    def run(self, ctx: Context) -> Iterator[Finding]:
        b, memory = ctx.expect.batch_size, ctx.expect.memory
        if not b or not memory:
            return
        for x, y in batch_subjects(ctx):
            per = sample_bytes(x, ctx.expect.steps)
            if per is None:
                continue
            per += (sample_bytes(y) or 0) if y is not None else 0
            if b * per <= memory:
                continue
            yield self.finding([x], {"batch_size": b, "bytes_per_sample": per, "batch_bytes": b * per,
                                     "memory": memory, "max_batch": memory // per},
                               x_name=x.name, batch_h=format_bytes(b * per), sample_h=format_bytes(per),
                               memory_h=format_bytes(memory))  # fmt: skip
