"""Checks of variable-length sequences and their padding."""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np

from .. import kernels
from ..errors import DsdoctorError
from ..findings import Finding, Fix, Severity
from ..formats import strip_extension
from . import fixes
from .base import ArrayStats, Check, Context, Subject

#: Bucket count suggested when bucketing would save padding.
SUGGESTED_BUCKETS = 4


def bucket_advice(hist: kernels.LengthHistogram) -> tuple[int, list[int], int] | None:
    """What ``excess-padding`` (DS303) recommends for sequences of these lengths: None when one
    maxlen wastes at most :attr:`ExcessPadding.THRESHOLD` of the cells; otherwise
    ``SUGGESTED_BUCKETS`` length buckets, their boundaries (:func:`kernels.optimal_boundaries`,
    as ``bucket --buckets K`` cuts them) and the padding cells left with them. ``plan`` says it
    too."""
    total = hist.total * hist.longest
    if not total or kernels.padding_cost(hist, []) / total <= ExcessPadding.THRESHOLD:
        return None
    bounds = kernels.optimal_boundaries(hist, SUGGESTED_BUCKETS)
    return SUGGESTED_BUCKETS, bounds, kernels.padding_cost(hist, bounds)


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


#: Model formats read from PyTorch files: sequences are padded for them at the end (``--for torch``).
TORCH_FORMATS = ("torch", "safetensors")


def torch_pad(ctx: Context) -> str | None:
    """``"torch"`` when the model was read from a PyTorch file (its pad fixes pad at the end, as
    ``pack_padded_sequence`` and a Hugging Face attention mask take them), else None."""
    model = ctx.expect.model
    return "torch" if model is not None and model.format in TORCH_FORMATS else None


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
            limit = ctx.expect.max_length
            if steps is not None:
                fx.append(
                    fixes.pad(
                        s.handle,
                        maxlen=steps,
                        lossless=whole and steps >= longest,
                        for_=torch_pad(ctx),
                    )
                )
            elif limit is not None and longest > limit:  # DS307 says what is cut
                fx.append(
                    fixes.pad(
                        s.handle,
                        maxlen=limit,
                        lossless=False,
                        truncating="post",
                        for_=torch_pad(ctx),
                    )
                )
            else:
                fx.append(fixes.pad(s.handle, maxlen=longest, lossless=whole, for_=torch_pad(ctx)))
                if summary["p95"] < longest:
                    fx.append(
                        fixes.pad(s.handle, maxlen="p95", lossless=False, for_=torch_pad(ctx))
                    )
            cut = steps is None and limit is not None and longest > limit
            if len(st.length_hist.lengths) > 1 and not cut:  # a bucket longer than limit fails
                fx.append(fixes.bucket(s.handle, SUGGESTED_BUCKETS))
            target = (f" ({ctx.expect.by('timesteps')} expects {steps})" if steps is not None else
                      f" of at most {limit} ({ctx.expect.by('max_length')})" if cut else "")  # fmt: skip
            yield self.finding([s], summary, fx, x_name=s.name, target=target)


def token_ids(s: Subject, st: ArrayStats) -> tuple[int, int] | None:
    """``(min, max)`` of sequences that look like token ids: integers, one id per timestep (no
    feature axis), none negative, no nulls; None for any other data."""
    h = s.handle
    if h.dtype.kind not in "iu" or h.ndim != 2 or st.nan or st.fmin is None or st.fmax is None:
        return None
    lo, hi = np.atleast_1d(st.fmin), np.atleast_1d(st.fmax)
    if not lo.size or int(lo.min()) < 0:
        return None
    return int(lo.min()), int(hi.max())


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
    Token ids (integers, one per timestep): shift them by one so 0 is free (``dsdoctor shift
    SRC``, lossless; it prints the new vocabulary size for ``Embedding(input_dim=…)``), then pad
    with 0. An out-of-band padding id for token ids can only lie above the largest id (it must
    be a row of the Embedding): never -1, which PyTorch's ``nn.Embedding`` refuses ("IndexError:
    index out of range in self") and Keras reads as the last row. Float features take a value
    below their range (``dsdoctor pad SRC --value -1``) with a ``Masking`` layer. Either way,
    prefer the mask file ``pad`` writes beside the data (or the lengths, for
    ``pack_padded_sequence``) to a mask computed from the value.

    Example:
    dsdoctor check --x tokens.parquet:tokens
    dsdoctor shift tokens.parquet:tokens -o tokens.shifted.parquet
    """

    code, name, severity, family = "DS302", "mask-value-collision", Severity.WARNING, "sequences"
    template = ("{x_name} has {timesteps} real timesteps equal to the mask value {value}{by} "
                "(in {rows} sequences){where}; a mask computed from {value} would hide them{advice}")  # fmt: skip

    def run(self, ctx: Context) -> Iterator[Finding]:
        for s, st in sequence_subjects(ctx):
            dense_padded = not s.handle.ragged and ctx.expect.mask_value is not None
            if not (s.handle.ragged or dense_padded) or st.value_timesteps == 0:
                continue
            value = ctx.expect.mask_value if ctx.expect.mask_value is not None else 0
            value = int(value) if float(value).is_integer() else value
            ids = token_ids(s, st)
            fx, advice = (self._token_fixes(ctx, s, st, ids) if ids is not None
                          else (self._feature_fixes(s, st, value), ""))  # fmt: skip
            where = "" if s.handle.ragged else " between real timesteps"
            by = (f" of {ctx.expect.by('mask_value')}"
                  if ctx.expect.origin.get("mask_value") == "model" else "")  # fmt: skip
            yield self.finding([s], {"timesteps": st.value_timesteps, "rows": st.value_rows,
                                     "value": value, **ctx.expect.from_model("mask_value")},
                               fx, x_name=s.name, where=where, advice=advice, by=by)  # fmt: skip

    @staticmethod
    def _feature_fixes(s: Subject, st: ArrayStats, value: float) -> list[Fix]:
        """Features (floats, integers with a feature axis): pad with a value below their range."""
        oob = out_of_band(s, value) if s.handle.ragged else None
        if oob is None:
            return []
        return [fixes.pad(s.handle, maxlen=st.length_hist.longest, lossless=True, value=oob)]

    @staticmethod
    def _token_fixes(
        ctx: Context, s: Subject, st: ArrayStats, ids: tuple[int, int]
    ) -> tuple[list[Fix], str]:
        """Token ids: ``shift`` first (ragged, or padded with the mask pad wrote beside it), then
        for ragged ids a padding id above the largest one (a row of the Embedding), never -1."""
        from ..sources.siblings import pad_mask_of

        h, high, known = s.handle, ids[1], ctx.expect.vocab_size
        vocab = known if known is not None and known > high else None
        grown = (vocab if vocab is not None else high + 1) + 1
        fx: list[Fix] = []
        if h.ragged:
            fx.append(fixes.shift(h, vocab=grown, vocab_size=vocab))
            pad_id = vocab if vocab is not None else high + 1
            if pad_id <= np.iinfo(h.dtype).max:
                fx.append(fixes.pad(h, maxlen=st.length_hist.longest, lossless=True, value=pad_id))
        else:
            mask = pad_mask_of(h)
            hist = st.length_hist
            unpadded = (h.ndim == 2 and hist is not None and hist.total
                        and int(hist.lengths[hist.counts > 0][0]) == h.shape[1])  # fmt: skip
            if mask is not None:
                fx.append(fixes.shift(h, vocab=grown, vocab_size=vocab, mask=mask.source))
            elif unpadded:  # no row ends in padding: every 0 is a real id, shifting keeps all
                fx.append(fixes.shift(h, vocab=grown, vocab_size=vocab))
        how = ("" if fx or h.ragged else " (give it the mask of the padded data: shift SRC "
               "--mask MASK)")  # fmt: skip
        before = " before padding them" if h.ragged else ""
        advice = (f"; token ids: shift them by 1{before} so 0 is free{how} and set "
                  f"Embedding(input_dim={grown}); never pad ids with -1 (PyTorch's Embedding "
                  "raises IndexError, Keras reads -1 as the last row)")  # fmt: skip
        return fx, advice


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
        advice = bucket_advice(hist)
        if advice is None:
            return
        k, bounds, bucketed = advice
        longest = hist.longest
        total = hist.total * longest
        waste = kernels.padding_cost(hist, [])
        more = (f"; {k} length buckets would cut padding to {bucketed:,} cells "
                f"(boundaries {', '.join(map(str, bounds))})")  # fmt: skip
        yield self.finding([s], {"padding": waste, "timesteps": total,
                                 "percent": round(100 * waste / total, 1), "maxlen": longest,
                                 "bucket_boundaries": bounds, "bucketed_padding": bucketed},
                           [fixes.bucket(s.handle, k)], x_name=s.name, more=more)  # fmt: skip


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


class PackPaddingSide(Check):
    """Pre-padded sequences come with lengths, which ``pack_padded_sequence`` reads as post-padded.

    What it means:
    The data is padded at the start of each row (``pad``'s default, Keras' ``pre``) and an array
    of lengths comes with it (``pad``'s ``lengths``, or lengths given with the data).
    ``torch.nn.utils.rnn.pack_padded_sequence`` takes the first ``length`` steps of each row,
    so with pre padding it packs the padding and drops as many real steps: a sequence of
    length 2 padded to 5 is packed as two padding steps. The side is read from the provenance
    ``pad`` and ``bucket`` record, else from the mask or the data beside the lengths.

    Why frameworks fail:
    They do not: PyTorch packs whatever the lengths select, the RNN runs on padding, and the
    last real steps — usually the most informative — never reach it. Keras takes the mask, not
    the lengths, and is right with pre padding.

    How to repair:
    For PyTorch, pad at the end: ``dsdoctor pad SRC --for torch`` (post padding and truncation,
    int64 ids and lengths) or ``dsdoctor bucket SRC --for torch``. For Keras keep the data and
    leave the lengths out.

    Example:
    dsdoctor check padded.npz
    dsdoctor pad tokens.parquet:tokens --for torch -o padded.torch.npz
    """

    code, name, severity, family = "DS305", "pack-padding-side", Severity.WARNING, "sequences"
    template = ("{x_name} is pre-padded ({short:,} of {count:,} sequences start with padding, "
                "{how}) and {lengths_name} holds their lengths: "
                "torch.nn.utils.rnn.pack_padded_sequence packs the first `length` steps of each "
                "row, so it would keep padding and drop real steps (sequence {row}, length "
                "{length} of {steps}: {lost} of its real steps dropped); for PyTorch pad post "
                "(--for torch), for Keras use the mask, not the lengths")  # fmt: skip

    def run(self, ctx: Context) -> Iterator[Finding]:
        for data, lengths, mask in padded_with_lengths(ctx):
            found = pre_padding(data, lengths, mask, ctx.expect.mask_value)
            if found is None:
                continue
            evidence, how, again = found
            fx = [fixes.pad_for_torch(data.handle, **again)] if again else []
            yield self.finding([data, lengths], evidence, fx, x_name=data.name, how=how,
                               lengths_name=lengths.name)  # fmt: skip


#: ``lengths`` / ``mask`` arrays beside padded data: the npz members and HDF5 datasets ``pad``
#: writes (``lengths``, ``/data_lengths``) and its ``.npy`` siblings (``x.lengths.npy``).
_BESIDE = re.compile(r"^(?P<base>.*?)[._]?(?P<role>lengths|mask)$")


def _stem(s: Subject) -> tuple[str, str]:
    """(what the array belongs with, its role: data, lengths or mask)."""
    h = s.handle
    member = h.name.strip("/") if h.name and h.source != str(h.path) else ""
    name = member or strip_extension(h.path.name)
    m = _BESIDE.match(name)
    base, role = (m["base"], m["role"]) if m else (name, "data")
    if member or not base or not h.path.name:  # a member, or a folder named "." (a dataset)
        return f"{h.path}::{base or 'data'}", role
    return str(h.path.with_name(base)), role


def padded_with_lengths(ctx: Context) -> Iterator[tuple[Subject, Subject, Subject | None]]:
    """(padded data, its lengths, its mask or None): arrays of one source (``pad``'s outputs) or
    given together (``check x.npy lengths.npy``; then the only dense sequences of that size)."""
    dense = [s for s in ctx.subjects if not s.handle.ragged and s.handle.ndim in (2, 3)
             and s.handle.dtype.kind in "biuf" and not (s.handle.skip or s.handle.unsafe)]  # fmt: skip
    lengths = [s for s in ctx.subjects if s.handle.ndim == 1 and s.handle.dtype.kind in "iu"
               and not s.handle.ragged and not (s.handle.skip or s.handle.unsafe)]  # fmt: skip
    stems = {id(s): _stem(s) for s in [*dense, *lengths]}
    for ln in lengths:
        key, role = stems[id(ln)]
        if role != "lengths":
            continue  # integer labels, bucket's index: not lengths
        same = [s for s in dense if s.handle.n == ln.handle.n]
        data = [s for s in same if stems[id(s)] == (key, "data")] or [
            s for s in same if stems[id(s)][1] == "data" and s.handle.dtype.kind != "b"
        ]
        if len(data) != 1:
            continue  # no padded data of that size, or more than one to choose from
        d = data[0]
        masks = [s for s in same if stems[id(s)] == (stems[id(d)][0], "mask")
                 and s.handle.dtype.kind == "b" and s.handle.shape[:2] == d.handle.shape[:2]]  # fmt: skip
        yield d, ln, (masks[0] if masks else None)


def pre_padding(data: Subject, lengths: Subject, mask: Subject | None, value: float | None
                ) -> tuple[dict, str, dict | None] | None:  # fmt: skip
    """The evidence that ``data`` is pre-padded with the lengths ``lengths``, the words saying
    how it is known, and the ragged source and maxlen ``pad`` read (for the fix); None when it
    is not (post padding, no padding, or lengths that are not lengths of these rows)."""
    h = data.handle
    n, steps = h.shape[0], h.shape[1]
    try:
        ln = np.asarray(lengths.handle.read()).astype(np.int64, copy=False).reshape(-1)
    except (DsdoctorError, ValueError, OSError):
        return None
    if (
        n is None
        or steps is None
        or len(ln) != n
        or not len(ln)
        or ln.min() < 0
        or ln.max() > steps
    ):
        return None
    short = ln < steps
    if not short.any():
        return None  # nothing is padded: either side packs the same steps
    record = h.provenance or {}
    options = record.get("options") or {}
    source = record.get("source") if record.get("operation") == "pad" else None
    if record.get("operation") in ("pad", "bucket") and options.get("padding") in ("pre", "post"):
        if options["padding"] != "pre":
            return None
        how = f"as dsdoctor {record['operation']} recorded"
    else:
        pad_value = options.get("value", value if value is not None else 0)
        side = _side(mask or data, ln, steps, mask is not None, pad_value)
        if side != "pre":
            return None
        how = (
            f"as {mask.name} shows" if mask is not None else f"the padding value {pad_value} first"
        )
    row = int(np.argmax(short))
    length = int(ln[row])
    lost = min(steps - length, length)
    evidence = {"short": int(short.sum()), "count": int(n), "row": row, "length": length,
                "steps": int(steps), "lost": lost}  # fmt: skip
    again = {"source": source, "maxlen": options.get("maxlen")} if isinstance(source, str) else None
    return evidence, how, again


def _side(s: Subject, lengths: np.ndarray, steps: int, is_mask: bool, value: object) -> str | None:
    """ "pre" when every short row's padding is at its start and not all at its end (read in
    chunks: ``s`` is the mask, True on real steps, or the data, padding where every feature of a
    timestep equals ``value``); None otherwise."""
    pos = np.arange(steps)
    pre_ok = post_ok = True
    start = 0
    pad_value = float(value) if isinstance(value, int | float) else 0.0
    for chunk in s.handle.chunks():
        c = np.asarray(chunk)
        ln = lengths[start : start + len(c)]
        start += len(c)
        if is_mask:
            pad = ~c.astype(bool)
        else:
            same = np.isnan(c) if np.isnan(pad_value) else c == pad_value
            pad = same.reshape(len(c), steps, -1).all(axis=2)
        pre_ok = pre_ok and bool(pad[pos < (steps - ln)[:, None]].all())
        post_ok = post_ok and bool(pad[pos >= ln[:, None]].all())
        if not (pre_ok or post_ok):
            return None
    return "pre" if pre_ok and not post_ok else None


def _longer(s: Subject, st: ArrayStats, limit: int, *, dense: bool) -> tuple[int, int, int] | None:
    """(sequences longer than ``limit``, their count in all, the longest): from the lengths the
    scan measured (ragged, or the real extent of padded rows), else — ``dense`` — every row of a
    dense (N, T…) array is T long. None when nothing is longer or the lengths are unknown."""
    h = s.handle
    hist = st.length_hist
    if hist.total:
        over = int(hist.counts[hist.lengths > limit].sum())
        if h.ragged or not dense:
            return (over, hist.total, hist.longest) if over else None
    if not dense or h.ragged or h.ndim < 2 or h.shape[1] is None or h.shape[0] is None:
        return None
    steps = int(h.shape[1])
    return (int(h.shape[0]), int(h.shape[0]), steps) if steps > limit else None


class SequenceLongerThanModel(Check):
    """Sequences are longer than the model takes: its position embeddings or its fixed time axis.

    What it means:
    A transformer has one learned position embedding per position, ``max_position_embeddings``
    of them (512 for BERT); a sequence of more tokens has positions with no embedding. A model
    built with a fixed time axis (Keras ``Input((T, F))``, an ONNX input of fixed length T)
    takes exactly T timesteps: padding longer sequences to T cuts them.

    Why frameworks fail:
    transformers (PyTorch): "The expanded size of the tensor (600) must match the existing size
    (512) at non-singleton dimension 1" from the token-type buffer, or "IndexError: index out
    of range in self" from the position embedding; on a GPU a device-side assert. Keras:
    "expected shape (None, 100), but input has incompatible shape (None, 120)". Padding to T
    with ``pad_sequences(maxlen=T)`` raises nothing: it silently drops the steps beyond T.

    How to repair:
    Truncate to the model's length knowing what is lost: ``dsdoctor pad SRC --maxlen L`` for
    variable-length sequences (``--truncating post`` keeps each sequence's start, as Hugging
    Face tokenizers do), ``dsdoctor select SRC --first L`` for a dense (N, T) array of token
    ids. To lose nothing, split long sequences into windows of at most L (Hugging Face
    tokenizers' ``return_overflowing_tokens=True, stride=…``), or use a model with more
    positions.

    Example:
    dsdoctor check --x tokens.parquet:input_ids --model bert/
    dsdoctor pad tokens.parquet:input_ids --maxlen 512 --truncating post -o tokens.padded.npz
    """

    code, name, severity, family = (
        "DS307",
        "sequence-longer-than-model",
        Severity.ERROR,
        "sequences",
    )
    template = ("{x_name}: {count:,} of {total:,} sequences are longer than the {limit} "
                "{what} of {by} (the longest has {longest}){hint}")  # fmt: skip
    dense_template = ("{x_name}: its {total:,} rows are {longest} timesteps long, more than the "
                      "{limit} {what} of {by}{hint}")  # fmt: skip

    def run(self, ctx: Context) -> Iterator[Finding]:
        expect = ctx.expect
        inputs = [id(x) for x in ctx.inputs()]
        for s, st in sequence_subjects(ctx):
            h = s.handle
            if h.skip or h.unsafe or id(s) not in inputs:
                continue
            if expect.max_length is not None:
                # a model's positions: a dense (N, T) of token ids is T long; floats (N, T, F)
                dense = h.ndim >= 3 or (h.ndim == 2 and h.dtype.kind in "iu")
                found = _longer(s, st, expect.max_length, dense=dense)
                if found is not None:
                    yield self._positions(ctx, s, found, expect.max_length)
                    continue
            steps = expect.steps
            if steps is not None and h.ragged:  # a fixed time axis; dense arrays: DS203
                found = _longer(s, st, steps, dense=False)
                if found is not None:
                    yield self._fixed(ctx, s, found, steps)

    def _positions(self, ctx: Context, s: Subject, found: tuple[int, int, int],
                   limit: int) -> Finding:  # fmt: skip
        over, total, longest = found
        h = s.handle
        if h.ragged:
            fx = [
                fixes.pad(h, maxlen=limit, lossless=False, truncating="post", for_=torch_pad(ctx))
            ]
            how = "--for torch" if torch_pad(ctx) else "--truncating post"
            hint = (f"; truncate them to {limit} (pad --maxlen {limit} {how} keeps "
                    f"each start) or split them into windows of at most {limit}")  # fmt: skip
        elif h.ndim == 2:
            fx = [fixes.keep_first_steps(h, limit)]
            hint = f"; keep the first {limit} tokens of each row, or split rows into windows"
        else:
            fx = []
            hint = f"; keep the first {limit} timesteps (x[:, :{limit}]) or split them into windows"
        evidence = {"count": over, "total": total, "longest": longest, "limit": limit,
                    **ctx.expect.from_model("max_length")}  # fmt: skip
        dense = None if h.ragged else self.dense_template  # every row is the array's width
        return self.finding([s], evidence, fx, template=dense, x_name=s.name, what="positions",
                            by=ctx.expect.by("max_length"), hint=hint)  # fmt: skip

    def _fixed(self, ctx: Context, s: Subject, found: tuple[int, int, int], steps: int) -> Finding:
        over, total, longest = found
        evidence = {"count": over, "total": total, "longest": longest, "limit": steps,
                    **ctx.expect.from_model("timesteps")}  # fmt: skip
        hint = (f"; padding to {steps} drops their steps beyond {steps} (pad --maxlen {steps} "
                "truncates them; --truncating post keeps each start), or build the model with "
                "a free time axis (Input((None, F)))")  # fmt: skip
        fx = [
            fixes.pad(
                s.handle, maxlen=steps, lossless=False, truncating="post", for_=torch_pad(ctx)
            )
        ]
        return self.finding([s], evidence, fx, x_name=s.name, what="timesteps",
                            by=ctx.expect.by("timesteps"), hint=hint)  # fmt: skip
