"""Checks of the input's shape against the model: rank, feature width, timesteps."""

from __future__ import annotations

import math
from collections.abc import Iterator

from ..findings import Finding, Fix, Severity
from ..formats import is_table_format
from ..units import format_shape
from . import fixes
from .base import Check, Context, Subject


def _sample_shape(s: Subject) -> tuple:
    return tuple(s.handle.shape[1:])


class RankMismatch(Check):
    """The input has a different number of dimensions than the model expects.

    What it means:
    A model's first layer fixes the rank of each sample: Dense wants (features,), an RNN/GRU/
    LSTM or Conv1D wants (timesteps, features), a Conv2D wants (height, width, channels).
    Data of shape (N, 3) fed to a GRU expecting (None, 5, 3) is missing the time axis;
    (100, 784) fed to a model expecting (28, 28) images is flattened.

    Why frameworks fail:
    Keras says "Input 0 of layer "gru" is incompatible with the layer: expected ndim=3, found
    ndim=2" or "expected shape (None, 5, 3), but input has incompatible shape (7, 3)"; PyTorch's
    RNNs say "input must have 3 dimensions, got 2".

    How to repair:
    When the element count per sample matches, reshape: ``dsdoctor reshape x.npy --shape
    "(None, 28, 28)"`` (lossless). Rows of a time series (T, F) for a model that wants
    (None, L, F) are cut into windows of L consecutive rows: ``dsdoctor window x.npy --length
    L`` (with ``--y y.npy`` or ``--target COL`` for the targets, ``--horizon H`` for how far
    ahead). Adding a length-1 time axis, ``reshape --add-axis time`` ((N, F) → (N, 1, F)), makes
    every row a sequence of one timestep: right only when each row is its own sequence, never
    for a time series, so it is offered as an assumption (``repair`` applies it only with
    ``--allow assumption``) unless the model asks for exactly one timestep. ``--add-axis
    features`` ((N, T) → (N, T, 1)) is lossless. If the counts differ the data was windowed
    differently from what the model expects.

    Example:
    dsdoctor check --x x.npy --input-shape "(None, 28, 28)"
    dsdoctor reshape x.npy --shape "(None, 28, 28)" -o x.reshaped.npy
    dsdoctor check --x series.npy --input-shape "(None, 8, 12)"
    dsdoctor window series.npy --length 8 -o series.windowed.npy
    """

    code, name, severity, family = "DS202", "rank-mismatch", Severity.ERROR, "shape"
    template = ("{x_name} has {rank}-D samples of shape {actual} but {by} expects "
                "{expected_rank}-D samples {expected}")  # fmt: skip

    def run(self, ctx: Context) -> Iterator[Finding]:
        want_rank = ctx.expect.rank
        if want_rank is None:
            return
        want = ctx.expect.input_shape or (ctx.expect.timesteps, ctx.expect.width)
        for x in ctx.inputs():
            h = x.handle
            if x.rank == want_rank or h.unsafe or h.skip:
                continue
            have = _sample_shape(x)
            hint = ""
            if ctx.expect.input_shape is None:  # the rank said by --timesteps alone
                hint = " (timesteps mean samples of (timesteps, features))"
            if len(have) == 1 and len(want) == 2 and want[0] is None and not h.ragged:
                hint = ("; if the rows are consecutive timesteps of a series, cut them into "
                        "windows (dsdoctor window SRC --length L) — one timestep per row, "
                        "(N, 1, F), is right only when each row is its own sequence")  # fmt: skip
            yield self.finding([x], {"actual": list(h.shape), "expected": [None, *want],
                                     **ctx.expect.from_model("input_shape")},
                               self._fixes(x, have, tuple(want), ctx.target_of(x)),
                               template=self.template + hint, x_name=x.name,
                               by=ctx.expect.by("input_shape"), rank=x.rank - 1, expected_rank=want_rank - 1,
                               actual=format_shape(have), expected=format_shape(want))  # fmt: skip

    @staticmethod
    def _fixes(x: Subject, have: tuple, want: tuple, y: Subject | None = None) -> list[Fix]:
        h = x.handle
        if h.ragged:
            return []
        out: list[Fix] = []
        if len(have) == 1 and len(want) == 2:
            t, f = want
            if t == 1 and f in (have[0], None):
                out.append(fixes.add_axis(h, "time"))  # the model wants one step per sample
            if t is None and f in (have[0], None):
                out.append(fixes.add_time_axis_per_row(h))
            if f in (1, None) and t in (have[0], None):
                out.append(fixes.add_axis(h, "features"))  # each row: a sequence of one feature
            if t not in (1, None) and f in (have[0], None) and (h.shape[0] or 0) >= t:
                ys = y.handle if y is not None and y.handle.shape[:1] == h.shape[:1] else None
                out.append(fixes.window(h, t, ys))  # rows of a series: L known
        if len(have) == 0 and len(want) == 1 and want[0] in (1, None):
            out.append(fixes.add_axis(h, "features"))
        known = [d for d in want if d is not None]
        if not out and have and len(want) - len(known) <= 1:
            total, part = math.prod(have), math.prod(known)
            if part and total % part == 0 and (len(known) < len(want) or total == part):
                out.append(fixes.reshape(h, tuple(total // part if d is None else d for d in want)))
        return out


def token_axis(ctx: Context, x: Subject) -> bool:
    """x is a dense (N, T) of token ids for a model whose (batch, T) input is a time axis (an
    Embedding's fixed sequence length): its last axis is timesteps, not features (DS203)."""
    shape, steps, h = ctx.expect.input_shape, ctx.expect.timesteps, x.handle
    return (h.ndim == 2 and not h.ragged and h.dtype.kind in "iu" and shape is not None
            and len(shape) == 1 and steps is not None and shape[0] == steps)  # fmt: skip


class FeatureWidthMismatch(Check):
    """The last axis (features) is not the width the model's first layer expects.

    What it means:
    A Dense or RNN layer built for 3 input features gets samples with 4. Often a target or an
    index column was left in the inputs, or a column was added to the export.

    Why frameworks fail:
    PyTorch: "mat1 and mat2 shapes cannot be multiplied (32x4 and 3x64)" for Linear, and
    "input.size(-1) must be equal to input_size. Expected 3, got 4" for RNNs; Keras: "Input 0 of
    layer "dense" is incompatible with the layer: expected axis -1 of input shape to have value
    3, but received input with shape (None, 4)".

    How to repair:
    If one column is the target, split it off: ``dsdoctor check data.csv --target COL``. To keep
    only the features the model was built for, ``dsdoctor select x.npy --first 3`` or
    ``--features 0,1,3`` (lossy: the other columns are dropped). If the data is right, rebuild
    the model with the data's width.

    Example:
    dsdoctor check iris.csv --features 3
    dsdoctor check iris.csv --target species --features 3
    """

    code, name, severity, family = "DS201", "feature-width-mismatch", Severity.ERROR, "shape"
    template = "{x_name} has {actual} features (last axis) but {by} expects {expected}"

    def run(self, ctx: Context) -> Iterator[Finding]:
        want = ctx.expect.width
        if want is None:
            return
        for x in ctx.inputs():
            h = x.handle
            if h.unsafe or h.skip or (ctx.expect.rank is not None and x.rank != ctx.expect.rank):
                continue
            if token_axis(ctx, x):
                continue  # timesteps of token ids: DS203
            table = getattr(h, "table", None)
            if signature_columns(ctx) and table is not None and h.layout.get("columns"):
                yield from self._by_name(ctx, x, table.display)
                continue
            shape = ctx.expect.input_shape
            if shape is not None and len(shape) >= 3 and ctx.expect.features in (None, shape[-1]):
                continue  # every axis of an image or volume: DS204
            have = x.width
            if have is None or have == want:
                continue
            fx = [fixes.select_first(h, want)] if have > want else []
            hint = ""
            split = getattr(getattr(h, "table", None), "target", None) is not None
            if have > want and is_table_format(h.format) and h.name == "columns" and not split:
                hint = "; if one column is the target, split it off with --target COL"
            yield self.finding([x], {"actual": have, "expected": want,
                                     "columns": h.layout.get("columns"),
                                     **ctx.expect.from_model("features")}, fx,
                               template=self.template + hint, x_name=x.name,
                               by=ctx.expect.by("features"))  # fmt: skip

    def _by_name(self, ctx: Context, x: Subject, table: str) -> Iterator[Finding]:
        """A table against an MLflow column signature: the columns by name, a text column the
        signature declares as string counted (MLflow passes it to the model as it is)."""
        want = [name for name, _ in signature_columns(ctx)]
        have = [*x.handle.layout["columns"],
                *(c.name for c in ctx.columns if c.source == table and c.reason != "not selected")]  # fmt: skip
        missing = [n for n in want if n not in have]
        extra = [n for n in have if n not in want]
        if not missing and not extra:
            return
        said = "; ".join(part for part in (
            f"missing {', '.join(missing)}" if missing else "",
            f"not in the signature: {', '.join(extra)}" if extra else "") if part)  # fmt: skip
        yield self.finding([x], {"actual": len(have), "expected": len(want), "columns": have,
                                 "expected_columns": want, "missing": missing, "extra": extra,
                                 **ctx.expect.from_model("features")}, [],
                           template="{x_name} has columns {have} but {by} expects columns "
                                    "{want}: {said}",
                           x_name=x.name, by=ctx.expect.by("features"), have=", ".join(have),
                           want=", ".join(want), said=said)  # fmt: skip


def signature_columns(ctx: Context) -> tuple[tuple[str, str], ...]:
    """The (name, type) columns of the model's MLflow column signature; () for any other."""
    return ctx.expect.model.columns if ctx.expect.model is not None else ()


class TimestepsMismatch(Check):
    """A fixed time axis has a different length than the model expects.

    What it means:
    The model was built for sequences of T timesteps (``Input((T, F))``, or ``Input((T,))``
    before an Embedding: T token ids) but the padded or windowed data has another length.

    Why frameworks fail:
    Keras: "expected shape (None, 5, 3), but input has incompatible shape (None, 7, 3)"; models
    with a Flatten or Dense after the RNN fail with a matrix-size error instead.

    How to repair:
    Re-pad the original sequences to the model's length with ``dsdoctor pad SRC --maxlen T``
    (lossy when sequences are longer than T), or rebuild the model with ``Input((None, F))`` so
    any length is accepted. A dense (N, T) array of token ids longer than the model's T keeps
    its first T with ``dsdoctor select SRC --first T`` (lossy).

    Example:
    dsdoctor check --x x.npy --input-shape "(None, 5, 3)"
    """

    code, name, severity, family = "DS203", "timesteps-mismatch", Severity.ERROR, "shape"
    template = "{x_name} has {actual} timesteps (axis 1) but {by} expects {expected}"

    def run(self, ctx: Context) -> Iterator[Finding]:
        want = ctx.expect.steps
        if want is None:
            return
        for x in ctx.inputs():
            h = x.handle
            tokens = token_axis(ctx, x)
            if h.ragged or (h.ndim != 3 and not tokens) or h.shape[1] == want:
                continue
            if not tokens and ctx.expect.rank not in (None, 3):
                continue  # the model wants no time axis here: the rank is the finding (DS202)
            longer = tokens and h.shape[1] is not None and h.shape[1] > want
            fx = [fixes.keep_first_steps(h, want)] if longer else []
            yield self.finding([x], {"actual": h.shape[1], "expected": want,
                                     **ctx.expect.from_model("timesteps")}, fx,
                               x_name=x.name, by=ctx.expect.by("timesteps"))  # fmt: skip


def _permutation(have: tuple, want: tuple) -> tuple[int, ...] | None:
    """The axes of ``have`` (sample axes) that put its sizes in ``want``'s order, when ``have``
    holds the same sizes in another order (channels-last data for a channels-first model):
    a channels move first, else any order. None when the sizes differ."""
    if len(have) != len(want) or any(d is None for d in have):
        return None
    fixed = [(i, d) for i, d in enumerate(want) if d is not None]
    if sorted(have) != sorted(d if d is not None else have[i] for i, d in enumerate(want)):
        return None
    for order in (
        (len(have) - 1, *range(len(have) - 1)),  # channels-last → channels-first
        (*range(1, len(have)), 0),  # channels-first → channels-last
    ):
        if all(have[order[i]] == d for i, d in fixed):
            return order
    return None


class AxisSizeMismatch(Check):
    """An image or volume axis (height, width, channels, depth) has another size than the model's.

    What it means:
    A model whose input is (N, C, H, W) (PyTorch, ONNX) or (N, H, W, C) (Keras, TFLite) fixes
    each of those sizes: (8, 1, 224, 224) grayscale images into a (None, 3, 224, 224) model have
    one channel where three are read, (8, 3, 200, 224) are 24 rows short, and (8, 224, 224, 3)
    channels-last images into a channels-first model hold the right sizes in the wrong order.

    Why frameworks fail:
    PyTorch Conv2d: "expected input[8, 1, 224, 224] to have 3 channels, but got 1 channels
    instead"; ONNX Runtime: "Got invalid dimensions for input: data_0 for the following indices
    index: 1 Got: 1 Expected: 3"; Keras: "expected axis -1 of input shape to have value 1, but
    received input with shape (None, 48, 48, 3)". A wrong height or width often passes the
    convolutions and fails later, at the first Dense/Linear, with a matrix-size error.

    How to repair:
    Channels-last data for a channels-first model (or the reverse): transpose the axes
    (``x.transpose(0, 3, 1, 2)`` for NHWC → NCHW, ``x.transpose(0, 2, 3, 1)`` back). A wrong
    height or width: resize the images to the model's size when they are made (PIL
    ``Image.resize``, ``torchvision.transforms.Resize``) — cropping or padding changes what the
    model sees, so dsdoctor offers no automatic repair. Grayscale into a 3-channel model: repeat
    the channel (``np.repeat(x, 3, axis=1)``) or convert the images to RGB when loading.

    Example:
    dsdoctor check --x images.npy --input-shape "(None, 3, 224, 224)"
    dsdoctor check --x images.npy --model resnet50.onnx
    """

    code, name, severity, family = "DS204", "axis-size-mismatch", Severity.ERROR, "shape"
    template = "{x_name} has samples of shape {actual} but {by} expects {expected}: {axes}"

    def run(self, ctx: Context) -> Iterator[Finding]:
        want = ctx.expect.input_shape
        if want is None or len(want) < 3:
            return  # (T, F) and (F,): DS203 and DS201
        for x in ctx.inputs():
            h = x.handle
            if h.unsafe or h.skip or h.ragged or x.rank != len(want) + 1:
                continue
            have = _sample_shape(x)
            wrong = [i for i, (a, b) in enumerate(zip(have, want, strict=True))
                     if b is not None and a is not None and a != b]  # fmt: skip
            if not wrong:
                continue
            axes = "; ".join(f"axis {i + 1} is {have[i]}, expected {want[i]}" for i in wrong)
            order = _permutation(have, want)
            hint = ""
            if order is not None:
                axes_text = ", ".join(str(i + 1) for i in order)
                hint = (f" — the same sizes in another order (channels-last data for a "
                        f"channels-first model, or the reverse): transpose with "
                        f"x.transpose(0, {axes_text})")  # fmt: skip
            yield self.finding([x], {"actual": list(h.shape), "expected": [None, *want],
                                     "axes": [i + 1 for i in wrong],
                                     "transpose": [0, *(i + 1 for i in order)] if order else None,
                                     **ctx.expect.from_model("input_shape")}, [],
                               template=self.template + hint, x_name=x.name,
                               by=ctx.expect.by("input_shape"), actual=format_shape(have),
                               expected=format_shape(want), axes=axes)  # fmt: skip
