"""The message families triage recognises: one :class:`Pattern` per family in :data:`PATTERNS`.

A pattern is a compiled regex whose named groups are the numbers (``(?P<expected_features>\\d+)``
reads ``expected_features``), and, where the finding depends on the numbers (a shape that
differs in rank or in one axis), a ``read`` function that decides. Groups whose name starts with
``_`` are raw text for the ``read`` function only. Adding a family is one row of the table; its
wording lives in :mod:`.wording`, keyed by the finding.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..units import read_size

Numbers = dict[str, Any]
Reading = tuple[str, Numbers] | None


# -- reading numbers ------------------------------------------------------------------------------
def _value(text: str) -> Any:
    return int(text) if re.fullmatch(r"-?\d+", text) else text


def _groups(g: dict[str, str | None]) -> Numbers:
    """Named groups → numbers; groups starting with ``_`` are for ``read`` functions only."""
    return {k: _value(v) for k, v in g.items() if v is not None and not k.startswith("_")}


#: The wrappers a backend prints around a shape: PyTorch's ``torch.Size([7, 3])`` (Keras 3 on the
#: torch backend), TensorFlow's ``TensorShape([7, 3])`` and TF 1's ``Dimension(7)`` axes.
_WRAPPED = re.compile(r"(?:torch\.Size|TensorShape)\((.*)\)", re.S)
_DIMENSION = re.compile(r"Dimension\(([^()]{0,24})\)")


def _dims(text: str) -> list[int | None]:
    """``"(None, 5, 3)"``, ``"[32, 784]"``, ``"32,512"``, ``"(7,)"``, ``"torch.Size([7, 3])"``,
    ``"TensorShape([None, 3])"`` → a list of sizes; an axis that is not a number (``None``, ``?``,
    a symbolic name) is None."""
    text = text.strip()
    if m := _WRAPPED.fullmatch(text):
        text = _DIMENSION.sub(r"\1", m[1])
    parts = [p.strip() for p in text.strip().strip("()[]").split(",")]
    return [int(p) if re.fullmatch(r"\d{1,24}", p) else None for p in parts if p]


def _sizes(text: str) -> int | list[int]:
    """``"29"`` → 29; ``"29, 28"`` (several arrays of one role) → [29, 28]."""
    out = [int(p) for p in text.split(",") if p.strip()]
    return out[0] if len(set(out)) == 1 else out


_ITEMSIZE = {"half": 2, "bfloat16": 2, "float": 4, "double": 8, "int8": 1, "uint8": 1,
             "int16": 2, "int32": 4, "int64": 8, "bool": 1, "complex64": 8, "complex128": 16}  # fmt: skip


# -- read functions: the families whose finding depends on the numbers ----------------------------
def _read_input_shape(finding: str, g: dict) -> Reading:
    """A full expected shape against the shape received.

    Rank differs → rank-mismatch; same rank → feature-width-mismatch when the last axis differs,
    timesteps-mismatch when axis 1 of a (batch, time, features) input does. Shapes without a
    batch axis (old Keras: "expected dense_input to have shape (3,)") get one added.
    """
    want, have = _dims(g["_expected"]), _dims(g["_actual"])
    if want and want[0] is not None:  # per-sample shapes: add the batch axis
        want, have = [None, *want], [None, *have]
    base = {"expected_shape": want, "actual_shape": have}
    if len(want) != len(have):
        return "rank-mismatch", {"expected_ndim": len(want), "actual_ndim": len(have), **base}
    differ = [i for i in range(1, len(want)) if want[i] is not None and want[i] != have[i]]
    last = len(want) - 1
    if last in differ:
        return "feature-width-mismatch", {"actual_features": have[last],
                                          "expected_features": want[last], **base}  # fmt: skip
    if len(want) == 3 and 1 in differ:
        return "timesteps-mismatch", {"actual_timesteps": have[1], "expected_timesteps": want[1],
                                      **base}  # fmt: skip
    return None  # another axis (an image's height): no finding for that


def _read_axis_value(finding: str, g: dict) -> Reading:
    have = _dims(g["_actual"])
    if not have:  # "with shape ()": no last axis to compare
        return None
    return finding, {"actual_features": have[-1], "expected_features": int(g["_expected"]),
                     "actual_shape": have}  # fmt: skip


def _read_target_shape(finding: str, g: dict, *, batch: bool = True) -> Reading:
    """The targets' shape against the model output's: differing first axes are a sample-count
    mismatch; otherwise a target-shape mismatch, with the classes when the output has them."""
    target = _dims(g["_target"])
    output = _dims(g["_output"]) if g.get("_output") is not None else None
    if not batch:  # per-sample shapes (old Keras "expected dense_1 to have shape (10,)")
        target, output = [None, *target], (None if output is None else [None, *output])
    n: Numbers = {"target_shape": target}
    if output is None:
        return finding, n
    n["output_shape"] = output
    if output and target and None not in (output[0], target[0]) and output[0] != target[0]:
        return "sample-count-mismatch", {"x_samples": output[0], "y_samples": target[0], **n}
    if len(output) == 2 and output[1] is not None and output[1] > 1:
        n["classes"] = output[1]
    return "target-shape-mismatch", n


def _sparse(reading: Reading) -> Reading:
    """A sparse loss (integer labels) given targets of the output's own shape: one-hot rows."""
    if reading is None or reading[0] != "target-shape-mismatch":
        return reading
    return reading[0], {**reading[1], "loss": "sparse"}


def _read_keras_checking(finding: str, g: dict) -> Reading:
    """Old Keras (≤ 2.3): "Error when checking input|target: expected NAME to have …"."""
    is_target = g["_which"].endswith("target")
    if g["_ndim"] is not None:  # "… to have 3 dimensions, but got array with shape (7, 3)"
        have, ndim = _dims(g["_actual"]), int(g["_ndim"])
        if is_target:
            return "target-shape-mismatch", {"target_shape": have, "expected_ndim": ndim}
        return "rank-mismatch", {"expected_ndim": ndim, "actual_ndim": len(have),
                                 "actual_shape": have}  # fmt: skip
    # "… to have shape (3,) but got array with shape (4,)": per-sample shapes in tf.keras
    if is_target:
        return _read_target_shape(finding, {"_target": g["_actual2"], "_output": g["_expected"]},
                                  batch=_dims(g["_expected"])[:1] == [None])  # fmt: skip
    return _read_input_shape(finding, {"_expected": g["_expected"], "_actual": g["_actual2"]})


def _read_cardinality(finding: str, g: dict) -> Reading:
    n: Numbers = {"x_samples": _sizes(g["_x"])}
    if g.get("_y"):
        n["y_samples"] = _sizes(g["_y"])
    if g.get("_w"):
        n["sample_weight_samples"] = _sizes(g["_w"])
    return finding, n


def _read_sklearn_samples(finding: str, g: dict) -> Reading:
    sizes = [int(p) for p in g["_sizes"].split(",")]
    if len(sizes) == 2:  # fit(X, y)
        return finding, {"x_samples": sizes[0], "y_samples": sizes[1]}
    return finding, {"sizes": sizes}


def _read_ndim(finding: str, g: dict) -> Reading:
    n = _groups(g)
    if g.get("_shape"):
        n["actual_shape"] = _dims(g["_shape"])
        n.setdefault("actual_ndim", len(n["actual_shape"]))
    if g.get("_scalar"):
        n["actual_ndim"] = 0
    return finding, n


def _read_stack(finding: str, g: dict) -> Reading:
    return finding, {"entries": [int(g["_i"]), int(g["_j"])],
                     "shapes": [_dims(g["_a"]), _dims(g["_b"])]}  # fmt: skip


def _read_inhomogeneous(finding: str, g: dict) -> Reading:
    return finding, {"regular_ndim": int(g["_dims"]), "regular_shape": _dims(g["_shape"])}


def _read_cuda_oom(finding: str, g: dict) -> Reading:
    """Old wording "(GPU 0; 7.79 GiB total capacity; … 1.20 GiB free; …)", new wording
    "GPU 0 has a total capacity of 7.79 GiB of which 1.20 GiB is free"."""
    size = r"([0-9.]{1,24}+ ?[KMGT]?i?B|[0-9]{1,24}+ bytes)"
    rest = g["_rest"] or ""
    total = re.search(rf"{size} total capacity|total capacity of {size}", rest)
    free = re.search(rf"{size} free\b|of which {size} is free", rest)
    n = _sized(requested_bytes=g["_requested"], total_bytes=total and (total[1] or total[2]),
               free_bytes=free and (free[1] or free[2]))  # fmt: skip
    return finding, n


def _sized(**sizes: str | None) -> Numbers:
    """The sizes that read as a number of bytes; one that does not (``1.2.3 GiB``) is left out."""
    return {k: b for k, v in sizes.items() if v and (b := read_size(v)) is not None}


def _read_tf_oom(finding: str, g: dict) -> Reading:
    shape = _dims(g["_shape"])
    n: Numbers = {"tensor_shape": shape, "batch_size": shape[0] if shape else None}
    dtype = g.get("_dtype")
    if dtype:
        n["dtype"] = dtype
        if dtype in _ITEMSIZE and None not in shape:
            n["requested_bytes"] = math.prod(shape) * _ITEMSIZE[dtype]  # type: ignore[arg-type]
    return finding, n


def _read_bytes(finding: str, g: dict) -> Reading:
    n = {**_groups(g), **_sized(requested_bytes=g["_requested"])}
    if g.get("_shape"):
        n["tensor_shape"] = _dims(g["_shape"])
    return finding, n


def _read_nonfinite(finding: str, g: dict) -> Reading:
    """NaN alone is a missing value (missing-values); infinity, or the old message that does not
    tell the two apart ("NaN, infinity"), is non-finite-values."""
    what = g["_what"]  # "NaN", "infinity" or "NaN, infinity"
    return ("missing-values" if what == "NaN" else finding), {**_groups(g), "values": what}


# -- the table ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pattern:
    """One family of messages: what it points to and how its numbers are read."""

    id: str
    framework: str
    finding: str  # the finding it points to; ``read`` may refine it from the numbers
    regex: re.Pattern[str]
    read: Callable[[str, dict], Reading] | None = field(default=None, compare=False)

    def reading(self, m: re.Match[str]) -> Reading:
        if self.read is None:
            return self.finding, _groups(m.groupdict())
        return self.read(self.finding, m.groupdict())


#: Every quantifier in the table is bounded, so one match attempt reads at most a few hundred
#: characters and a scan is linear in the text (``test_triage_linear`` times each pattern's worst
#: case on 1 MiB). The bounds are far above what a framework prints: an int64 has 19 digits, a
#: shape a handful of axes.
INT = r"\d{1,24}+"  # an integer (possessive: a run of digits is never re-split)
DIMS = r"[\d, ]{0,256}+"  # the inside of a printed shape: 32, 512, 512, 64
#: (None, 5, 3) or [None, 3] or (7,); torch.Size([7, 3]) (Keras 3 on torch prints its tensors'
#: shapes), TensorShape([7, 3]) and TF 1's TensorShape([Dimension(7), Dimension(None)])
SHAPE = (r"(?:torch\.Size\(\[[^\]\n]{0,256}+\]\)"
         r"|TensorShape\(\[(?:[^\]\n(]|\((?:\d{1,24}|None|\?)\)){0,256}+\]\)"
         r"|[(\[][^)\]\n]{0,256}+[)\]])")  # fmt: skip
SIZES = rf"{INT}(?:, {{0,8}}{INT}){{0,256}}+"
WORD = r"\w{1,128}+"
LINE = r"[^\n]{0,512}"  # the rest of a line, as far as a message goes


def _p(id: str, framework: str, finding: str, regex: str, read=None) -> Pattern:
    return Pattern(id, framework, finding, re.compile(regex), read)


#: Every message family, most specific first (on one line the first entry that matches wins).
PATTERNS: tuple[Pattern, ...] = (
    # -- sample-count-mismatch --------------------------------------------------------------------
    _p("keras-cardinality", "keras", "sample-count-mismatch",  # Keras 3 and Keras 2 (tf.keras)
       rf"Data cardinality is ambiguous[\s\S]{{0,160}}?'?x'? sizes: (?P<_x>{SIZES})"
       rf"(?:\s{{0,8}}'?y'? sizes: (?P<_y>{SIZES}))?(?:\s{{0,8}}'?sample_weight'? sizes: (?P<_w>{SIZES}))?",
       _read_cardinality),
    _p("keras-cardinality-bare", "keras", "sample-count-mismatch", r"Data cardinality is ambiguous"),
    _p("keras2-input-target-samples", "keras", "sample-count-mismatch",
       r"Input arrays should have the same number of samples as target arrays\. "
       rf"Found (?P<x_samples>{INT}) input samples and (?P<y_samples>{INT}) target samples"),
    _p("pytorch-batch-size", "pytorch", "sample-count-mismatch",
       rf"Expected input batch_size \((?P<x_samples>{INT})\) to match target batch_size "
       rf"\((?P<y_samples>{INT})\)"),
    _p("pytorch-tensordataset", "pytorch", "sample-count-mismatch",
       r"Size mismatch between tensors"),
    _p("sklearn-inconsistent-samples", "sklearn", "sample-count-mismatch",
       rf"Found input variables with inconsistent numbers of samples: \[(?P<_sizes>{SIZES})\]",
       _read_sklearn_samples),
    _p("tensorflow-logits-labels", "tensorflow", "sample-count-mismatch",
       r"logits and labels must have the same first dimension, got logits shape "
       rf"\[(?P<x_samples>{INT}),{INT}\] and labels shape \[(?P<y_samples>{INT})\]"),
    # -- feature-width-mismatch -------------------------------------------------------------------
    _p("pytorch-mat1-mat2", "pytorch", "feature-width-mismatch",
       rf"mat1 and mat2 shapes cannot be multiplied \((?P<rows>{INT})x(?P<actual_features>{INT}) "
       rf"and (?P<expected_features>{INT})x(?P<units>{INT})\)"),
    _p("pytorch-rnn-input-size", "pytorch", "feature-width-mismatch",
       rf"input\.size\(-1\) must be equal to input_size\. Expected (?P<expected_features>{INT}), "
       rf"got (?P<actual_features>{INT})"),
    _p("keras-axis-value", "keras", "feature-width-mismatch",
       rf"expected axis -1 of input shape to have value (?P<_expected>{INT}),? but received input "
       rf"with shape (?P<_actual>{SHAPE})", _read_axis_value),
    _p("sklearn-n-features", "sklearn", "feature-width-mismatch",
       rf"X has (?P<actual_features>{INT}) features(?:, but (?P<estimator>{WORD}) is expecting| per "
       rf"sample; expecting) (?P<expected_features>{INT})"),
    _p("numpy-dot-not-aligned", "numpy", "feature-width-mismatch",
       rf"shapes \({DIMS}\) and \({DIMS}\) not aligned: (?P<actual_features>{INT}) \(dim {INT}\) "
       rf"!= (?P<expected_features>{INT}) \(dim {INT}\)"),
    _p("numpy-matmul-core-dimension", "numpy", "feature-width-mismatch",
       rf"matmul: Input operand 1 has a mismatch in its core dimension 0\b{LINE}\(size "
       rf"(?P<expected_features>{INT}) is different from (?P<actual_features>{INT})\)"),
    _p("jax-dot-general", "jax", "feature-width-mismatch",  # Keras 3 on jax: an RNN cell's matmul
       rf"dot_general requires contracting dimensions to have the same shape, got "
       rf"\((?P<actual_features>{INT}),?\) and \((?P<expected_features>{INT}),?\)"),
    _p("tensorflow-matmul-dimensions", "tensorflow", "feature-width-mismatch",  # in a tf.function
       rf"Dimensions must be equal, but are (?P<actual_features>{INT}) and "
       rf"(?P<expected_features>{INT}) for '\{{\{{node [^}}\n]{{0,512}}+\}}\}} = (?:Batch)?MatMul"),
    _p("tensorflow-matrix-size-incompatible", "tensorflow", "feature-width-mismatch",  # eager
       rf"Matrix size-incompatible: In\[0\]: \[{INT},(?P<actual_features>{INT})\], In\[1\]: "
       rf"\[(?P<expected_features>{INT}),{INT}\]"),
    # -- rank-mismatch (or the axis that differs) -------------------------------------------------
    _p("keras3-incompatible-shape", "keras", "rank-mismatch",
       rf"[Ee]xpected shape (?P<_expected>{SHAPE}), but input has incompatible shape "
       rf"(?P<_actual>{SHAPE})", _read_input_shape),
    _p("keras-expected-shape", "keras", "rank-mismatch",
       rf"expected shape=(?P<_expected>{SHAPE}), found shape=(?P<_actual>{SHAPE})",
       _read_input_shape),
    _p("keras2-model-constructed-with-shape", "keras", "rank-mismatch",
       rf"Model was constructed with shape (?P<_expected>{SHAPE}) for input {LINE}?, but it was "
       rf"called on an input with incompatible shape (?P<_actual>{SHAPE})", _read_input_shape),
    _p("keras2-error-when-checking", "keras", "rank-mismatch",
       rf"Error when checking (?P<_which>input|target|model input|model target): expected \S{{1,256}}+ to "
       rf"have (?:(?P<_ndim>{INT}) dimensions, but got array with shape (?P<_actual>{SHAPE})|shape "
       rf"(?P<_expected>{SHAPE}) but got array with shape (?P<_actual2>{SHAPE}))",
       _read_keras_checking),
    _p("keras-ndim", "keras", "rank-mismatch",
       rf"expected (?:ndim=(?P<expected_ndim>{INT})|min_ndim=(?P<expected_min_ndim>{INT})|max_ndim="
       rf"(?P<expected_max_ndim>{INT})), found ndim=(?P<actual_ndim>{INT})"
       rf"(?:\. Full shape received: (?P<_shape>{SHAPE}))?", _read_ndim),
    _p("pytorch-rnn-dimensions", "pytorch", "rank-mismatch",  # PyTorch < 1.11
       rf"input must have (?P<expected_ndim>{INT}) dimensions, got (?P<actual_ndim>{INT})"),
    _p("pytorch-rnn-2d-or-3d", "pytorch", "rank-mismatch",
       rf"(?P<layer>RNN|LSTM|GRU): Expected input to be 2D or 3D, got (?P<actual_ndim>{INT})D",
       lambda f, g: (f, {"expected_ndim": 3, **_groups(g)})),
    _p("pytorch-conv-input", "pytorch", "rank-mismatch",
       rf"Expected (?P<unbatched_ndim>{INT})D \(unbatched\) or (?P<expected_ndim>{INT})D \(batched\) "
       rf"input to (?P<layer>{WORD}), but got input of size: (?P<_shape>\[{DIMS}\])", _read_ndim),
    _p("sklearn-expected-2d", "sklearn", "rank-mismatch",
       r"Expected (?P<expected_ndim>2)D array, got (?:(?P<actual_ndim>\d)D|(?P<_scalar>scalar)) "
       r"array instead", _read_ndim),
    _p("sklearn-found-array-with-dim", "sklearn", "rank-mismatch",
       rf"Found array with dim (?P<actual_ndim>{INT})(?:, while dim <= (?P<expected_ndim>{INT}) is "
       rf"required|\. {WORD} expected <= (?P<_old>{INT}))",
       lambda f, g: (f, {**_groups(g), "expected_ndim": int(g["expected_ndim"] or g["_old"])})),
    # -- ragged-sequences -------------------------------------------------------------------------
    _p("numpy-inhomogeneous", "numpy", "ragged-sequences",
       r"setting an array element with a sequence\. The requested array has an inhomogeneous "
       rf"shape after (?P<_dims>{INT}) dimensions?\. The detected shape was (?P<_shape>\({DIMS}\))",
       _read_inhomogeneous),
    _p("numpy-sequence-element", "numpy", "ragged-sequences",  # NumPy < 1.24
       r"setting an array element with a sequence"),
    _p("numpy-ragged-nested", "numpy", "ragged-sequences",  # NumPy 1.20-1.23 warning
       r"Creating an ndarray from ragged nested sequences"),
    _p("numpy-stack-same-shape", "numpy", "ragged-sequences",
       r"all input arrays must have the same shape"),
    _p("pytorch-stack", "pytorch", "ragged-sequences",
       rf"stack expects each tensor to be equal size, but got \[(?P<_a>{DIMS})\] at entry "
       rf"(?P<_i>{INT}) and \[(?P<_b>{DIMS})\] at entry (?P<_j>{INT})", _read_stack),
    _p("pytorch-tensor-sequence-length", "pytorch", "ragged-sequences",
       rf"expected sequence of length (?P<expected_length>{INT}) at dim (?P<dim>{INT}) "
       rf"\(got (?P<actual_length>{INT})\)"),
    _p("tensorflow-object-array", "tensorflow", "ragged-sequences",
       r"Failed to convert a NumPy array to a Tensor \(Unsupported object type "
       r"(?P<object_type>[\w.]{1,128}+)\)"),
    _p("keras3-object-dtype", "keras", "ragged-sequences", r"Invalid dtype: object\b"),
    # -- target-shape-mismatch --------------------------------------------------------------------
    _p("keras2-shapes-incompatible", "keras", "target-shape-mismatch",
       rf"Shapes (?P<_target>{SHAPE}) and (?P<_output>{SHAPE}) are incompatible",
       _read_target_shape),
    _p("keras3-target-output-shape", "keras", "target-shape-mismatch",
       rf"Arguments `target` and `output` must have the same shape\. Received: "
       rf"target\.shape=(?P<_target>{SHAPE}), output\.shape=(?P<_output>{SHAPE})",
       _read_target_shape),
    _p("keras3-sparse-target-output-shape", "keras", "target-shape-mismatch",
       r"(?:Arguments `target` and `output` must have the same shape up until the last dimension|"
       r"Argument `output` must have rank \(ndim\) `target\.ndim - 1`)[:.] (?:Received: )?"
       rf"target\.shape=(?P<_target>{SHAPE}), output\.shape=(?P<_output>{SHAPE})",
       lambda f, g: _sparse(_read_target_shape(f, g))),
    _p("pytorch-multi-target", "pytorch", "target-shape-mismatch",
       r"0D or 1D target tensor expected, multi-target not supported"),
    _p("pytorch-target-size", "pytorch", "target-shape-mismatch",
       rf"[Tt]arget size \(torch\.Size\((?P<_target>\[{DIMS}\])\)\) (?:must be the same as|that "
       rf"is different to the) input size \(torch\.Size\((?P<_output>\[{DIMS}\])\)\)",
       _read_target_shape),
    _p("sklearn-y-1d", "sklearn", "target-shape-mismatch",
       rf"y should be a 1d array, got an array of shape (?P<_target>{SHAPE}) instead",
       _read_target_shape),
    _p("sklearn-column-vector-y", "sklearn", "target-shape-mismatch",
       r"A column-vector y was passed when a 1d array was expected"),
    # -- empty-sequences --------------------------------------------------------------------------
    _p("pytorch-pack-zero-length", "pytorch", "empty-sequences",  # pack_padded_sequence
       r"Length of all samples has to be greater than 0"),
    # -- label-out-of-range -----------------------------------------------------------------------
    _p("pytorch-target-out-of-bounds", "pytorch", "label-out-of-range",
       rf"Target (?P<label>-?{INT}) is out of bounds"),
    _p("pytorch-cuda-assert-n-classes", "pytorch", "label-out-of-range",
       r"Assertion `t >= 0 && t < n_classes` failed"),
    _p("tensorflow-label-range", "tensorflow", "label-out-of-range",
       rf"Received a label value of (?P<label>-?{INT}) which is outside the valid range of "
       rf"\[0, (?P<classes>{INT})\)"),
    _p("numpy-index-out-of-bounds", "numpy", "label-out-of-range",  # e.g. Keras' numpy backend
       rf"index (?P<label>-?{INT}) is out of bounds for axis (?P<axis>[1-9]\d{{0,23}}) with size "
       rf"(?P<classes>{INT})"),
    # -- non-finite-values ------------------------------------------------------------------------
    _p("sklearn-nan-inf", "sklearn", "non-finite-values",
       r"Input (?:(?P<array>X|y) )?contains (?P<_what>NaN, infinity|NaN|infinity)"
       rf"(?: or a value too large for dtype\('(?P<dtype>{WORD})'\))?", _read_nonfinite),
    # -- batch-memory -----------------------------------------------------------------------------
    _p("pytorch-cuda-oom", "pytorch", "batch-memory",
       rf"(?:CUDA|HIP|XPU) out of memory\. Tried to allocate (?P<_requested>[0-9.]{{1,24}}+ ?[KMGT]?i?B|"
       rf"{INT} bytes)?(?P<_rest>{LINE})", _read_cuda_oom),
    _p("pytorch-cpu-oom", "pytorch", "batch-memory",
       r"DefaultCPUAllocator: (?:can't allocate memory|not enough memory): you tried to allocate "
       rf"(?P<_requested>{INT} bytes)", _read_bytes),
    _p("tensorflow-oom", "tensorflow", "batch-memory",
       rf"OOM when allocating tensor with shape ?\[(?P<_shape>{DIMS})\](?: and type (?P<_dtype>{WORD}))?",
       _read_tf_oom),
    _p("numpy-unable-to-allocate", "numpy", "batch-memory",
       rf"Unable to allocate (?P<_requested>[0-9.]{{1,24}}+ ?[KMGT]?i?B) for an array with shape "
       rf"(?P<_shape>\({DIMS}\)) and data type (?P<dtype>{WORD})", _read_bytes),
)  # fmt: skip
