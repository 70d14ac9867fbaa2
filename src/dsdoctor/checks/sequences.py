"""Checks of variable-length sequences and their padding."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .. import kernels
from ..findings import Finding, Fix, Severity
from . import fixes
from .base import ArrayStats, Check, Context, Subject

#: Bucket count suggested when bucketing would save padding.
SUGGESTED_BUCKETS = 4


def sequence_subjects(ctx: Context) -> list[tuple[Subject, ArrayStats]]:
    """The inputs that were scanned, each with what its scan measured (not a mask or lengths
    dsdoctor wrote: they are not sequences)."""
    return [(s, s.stats) for s in ctx.subjects
            if s.stats is not None and s.role != "y" and not s.not_data]  # fmt: skip


def out_of_band(s: Subject, value: float) -> int | float | None:
    """A padding value that no real timestep takes: just below the data's minimum."""
    st = s.stats
    if st is None or st.fmin is None or st.fmax is None or s.handle.dtype.kind not in "iuf":
        return None
    lo = float(np.nanmin(np.atleast_1d(st.fmin))) if np.atleast_1d(st.fmin).size else 0.0
    hi = float(np.nanmax(np.atleast_1d(st.fmax))) if np.atleast_1d(st.fmax).size else 0.0
    dtype = s.handle.dtype
    if dtype.kind == "f":
        return float(np.floor(min(lo, value)) - 1) if np.isfinite(lo) else None
    info = np.iinfo(dtype)
    if lo - 1 >= info.min:
        return int(lo) - 1
    if hi + 1 <= info.max:
        return int(hi) + 1
    return None


class RaggedSequences(Check):
    """The array holds variable-length sequences that must be padded to one length.

    What it means:
    Sequence i has Tᵢ timesteps and the Tᵢ differ. A batch is one dense tensor, so the sequences
    must be padded (and a mask kept, so the model ignores the padding) or bucketed by length.

    Why frameworks fail:
    NumPy: "setting an array element with a sequence. The requested array has an inhomogeneous
    shape after 1 dimensions"; PyTorch's default collate: "stack expects each tensor to be equal
    size"; Keras: "Failed to convert a NumPy array to a Tensor".

    How to repair:
    ``dsdoctor pad SRC --maxlen N`` writes the dense array with its mask and lengths (lossless
    when N is at least the longest sequence; ``--maxlen p95`` truncates the longest 5 %).
    ``dsdoctor bucket SRC --buckets K`` pads each length bucket to its own maxlen and wastes less.

    Example:
    dsdoctor check --x tokens.parquet:tokens
    dsdoctor pad tokens.parquet:tokens --maxlen 120 -o tokens.padded.npy
    """

    code, name, severity, family = "DS301", "ragged-sequences", Severity.WARNING, "sequences"
    template = ("{x_name} holds {count} variable-length sequences (lengths {min}–{max}, "
                "mean {mean}, p95 {p95}); pad them to one length{target}")  # fmt: skip

    def run(self, ctx: Context) -> Iterator[Finding]:
        steps = ctx.expect.steps
        for s, st in sequence_subjects(ctx):
            summary = st.length_summary()
            if not s.handle.ragged or summary is None:  # None: no sequences
                continue
            longest = summary["max"]
            # nulls inside integer sequences: pad refuses them (see DS405), so it is no
            # lossless fix as it stands
            whole = not (s.handle.dtype.kind in "iub" and st.nan)
            fx: list[Fix] = []
            if steps is not None:
                fx.append(fixes.pad(s.handle, maxlen=steps, lossless=whole and steps >= longest))
            else:
                fx.append(fixes.pad(s.handle, maxlen=longest, lossless=whole))
                if summary["p95"] < longest:
                    fx.append(fixes.pad(s.handle, maxlen="p95", lossless=False))
            if len(st.length_hist.lengths) > 1:
                fx.append(fixes.bucket(s.handle, SUGGESTED_BUCKETS))
            target = f" (the model expects {steps})" if steps is not None else ""
            yield self.finding([s], summary, fx, x_name=s.name, target=target)


class MaskValueCollision(Check):
    """Real timesteps equal the padding/mask value, so a mask computed from it hides real data.

    What it means:
    Keras' ``Masking(mask_value=v)`` and ``Embedding(mask_zero=True)`` treat every timestep
    whose features all equal v (0 for mask_zero) as padding. If real data contains such
    timesteps (token id 0, a silent audio frame of zeros), they are silently skipped.

    Why frameworks fail:
    They do not: training runs and the model never sees those timesteps. No error, only worse
    results — which is why this check exists.

    How to repair:
    Pad with a value no real timestep takes (``dsdoctor pad SRC --value -1``) and use the mask
    file ``pad`` writes beside the data (or the lengths, for ``pack_padded_sequence``) instead of
    a mask computed from the value. For token ids, shift ids by one so 0 is free.

    Example:
    dsdoctor check --x tokens.parquet:tokens
    dsdoctor pad tokens.parquet:tokens --value -1 -o tokens.padded.npy
    """

    code, name, severity, family = "DS302", "mask-value-collision", Severity.WARNING, "sequences"
    template = ("{x_name} has {timesteps} real timesteps equal to the mask value {value} "
                "(in {rows} sequences){where}; a mask computed from {value} would hide them")  # fmt: skip

    def run(self, ctx: Context) -> Iterator[Finding]:
        for s, st in sequence_subjects(ctx):
            dense_padded = not s.handle.ragged and ctx.expect.mask_value is not None
            if not (s.handle.ragged or dense_padded) or st.value_timesteps == 0:
                continue
            value = ctx.expect.mask_value if ctx.expect.mask_value is not None else 0
            value = int(value) if float(value).is_integer() else value
            fx: list[Fix] = []
            if s.handle.ragged:
                oob = out_of_band(s, value)
                if oob is not None:
                    fx.append(fixes.pad(s.handle, maxlen=st.length_hist.longest,
                                        lossless=True, value=oob))  # fmt: skip
            where = "" if s.handle.ragged else " between real timesteps"
            yield self.finding([s], {"timesteps": st.value_timesteps, "rows": st.value_rows,
                                     "value": value}, fx, x_name=s.name, where=where)  # fmt: skip


class ExcessPadding(Check):
    """Padded data is mostly padding, or bucketing by length would save much of it.

    What it means:
    Every padded timestep costs memory and compute like a real one. When most timesteps are
    padding — one long outlier sets the length for all — batches are mostly empty.

    Why frameworks fail:
    They do not fail; they run slower and may run out of memory ("CUDA out of memory",
    "ResourceExhaustedError: OOM when allocating tensor") at a batch size that would fit.

    How to repair:
    Bucket sequences by length (``dsdoctor bucket SRC --buckets 4``, like tf.data's
    ``bucket_by_sequence_length``) so each batch is padded only to its own bucket's maxlen; or
    pad to a percentile (``dsdoctor pad SRC --maxlen p95``, lossy).

    Example:
    dsdoctor check --x x.npy --mask-value 0
    dsdoctor bucket tokens.parquet:tokens --buckets 4 -o tokens.buckets
    """

    code, name, severity, family = "DS303", "excess-padding", Severity.WARNING, "sequences"
    template = (
        "{x_name}: {percent}% of the timesteps are padding ({padding:,} of {timesteps:,}){more}"
    )
    #: Report when padding exceeds this share of all timesteps.
    THRESHOLD = 0.5

    def run(self, ctx: Context) -> Iterator[Finding]:
        for s, st in sequence_subjects(ctx):
            if s.handle.ragged:
                yield from self._ragged(s, st)
            elif ctx.expect.mask_value is not None and st.timesteps:
                share = st.pad_timesteps / st.timesteps
                if share > self.THRESHOLD:
                    yield self.finding([s], {"padding": st.pad_timesteps, "timesteps": st.timesteps,
                                             "percent": round(100 * share, 1)},
                                       x_name=s.name, more="")  # fmt: skip

    def _ragged(self, s: Subject, st: ArrayStats) -> Iterator[Finding]:
        hist = st.length_hist
        if hist.total == 0:
            return
        longest = hist.longest
        total = hist.total * longest
        waste = kernels.padding_cost(hist, [])
        if not total or waste / total <= self.THRESHOLD:
            return
        bounds = kernels.optimal_boundaries(hist, SUGGESTED_BUCKETS)
        bucketed = kernels.padding_cost(hist, bounds)
        more = (f"; {SUGGESTED_BUCKETS} length buckets would cut padding to {bucketed:,} cells "
                f"(boundaries {', '.join(map(str, bounds))})")  # fmt: skip
        yield self.finding([s], {"padding": waste, "timesteps": total,
                                 "percent": round(100 * waste / total, 1), "maxlen": longest,
                                 "bucket_boundaries": bounds, "bucketed_padding": bucketed},
                           [fixes.bucket(s.handle, SUGGESTED_BUCKETS)], x_name=s.name, more=more)  # fmt: skip


class EmptySequences(Check):
    """Some sequences have length 0.

    What it means:
    A sequence with no timesteps carries no input. After padding it is a row of pure padding
    whose mask is all False.

    Why frameworks fail:
    ``torch.nn.utils.rnn.pack_padded_sequence`` raises "Length of all samples has to be greater
    than 0"; a masked RNN returns its initial state for such rows and attention over an all-masked
    row gives NaN (softmax over nothing).

    How to repair:
    Drop those rows (and their targets) before padding, or give them a placeholder timestep if
    "no input" is meaningful for your task.

    Example:
    dsdoctor check --x tokens.parquet:tokens
    """

    code, name, severity, family = "DS304", "empty-sequences", Severity.WARNING, "sequences"
    template = "{empty} of {count} sequences in {x_name} are empty (length 0){how}"

    def run(self, ctx: Context) -> Iterator[Finding]:
        for s, st in sequence_subjects(ctx):
            if not (s.handle.ragged or ctx.expect.mask_value is not None) or not st.empty_rows:
                continue
            how = "" if s.handle.ragged else f" — every timestep equals {ctx.expect.mask_value}"
            yield self.finding(
                [s], {"empty": st.empty_rows, "count": st.rows}, x_name=s.name, how=how
            )
