"""Name the finding behind a framework's error message.

``triage(text)`` reads an error message or a whole traceback from Keras 2/3, TensorFlow,
PyTorch, scikit-learn or NumPy and says which dsdoctor finding it points to, with the numbers it
read and the ``dsdoctor check`` command that confirms the finding in the files::

    >>> d = triage("ValueError: Found input variables with inconsistent numbers of samples: [29, 1]")
    >>> d.finding, d.numbers, d.check_command
    ('sample-count-mismatch', {'x_samples': 29, 'y_samples': 1}, 'dsdoctor check --x X --y Y')

Every message family is one entry of :data:`PATTERNS`: a compiled regex whose named groups are
the numbers (``(?P<expected_features>\\d+)`` reads ``expected_features``), and, where the finding
depends on the numbers (a shape that differs in rank or in one axis), a ``read`` function that
decides. When several lines of a traceback match, the last one wins: the final exception is
the one that stopped the program.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: Only the tail of a long log is read: the final exception is at the end.
MAX_CHARS = 1 << 20

Numbers = dict[str, Any]
Reading = tuple[str, Numbers] | None


@dataclass(frozen=True)
class Diagnosis:
    """What an error message points to: the finding, the numbers read, and how to confirm it."""

    finding: str
    code: str
    numbers: Numbers
    framework: str
    matched: str
    explanation: str
    check_command: str
    pattern: str = ""  # the id of the message family that matched (PATTERNS)

    def to_dict(self) -> dict[str, Any]:
        return {"finding": self.finding, "code": self.code, "numbers": dict(self.numbers),
                "framework": self.framework, "matched": self.matched,
                "explanation": self.explanation, "check_command": self.check_command,
                "pattern": self.pattern}  # fmt: skip


NOT_FOUND = "no known framework error message was found"


def not_found_dict() -> dict[str, Any]:
    """The ``--json`` object for text that names no finding (same keys as a diagnosis)."""
    return {"finding": None, "code": None, "numbers": {}, "framework": None, "matched": None,
            "explanation": NOT_FOUND, "check_command": None, "pattern": None}  # fmt: skip


# -- reading numbers ------------------------------------------------------------------------------
def _value(text: str) -> Any:
    return int(text) if re.fullmatch(r"-?\d+", text) else text


def _groups(g: dict[str, str | None]) -> Numbers:
    """Named groups → numbers; groups starting with ``_`` are for ``read`` functions only."""
    return {k: _value(v) for k, v in g.items() if v is not None and not k.startswith("_")}


def _dims(text: str) -> list[int | None]:
    """``"(None, 5, 3)"``, ``"[32, 784]"``, ``"32,512"``, ``"(7,)"`` → a list of sizes; an axis
    that is not a number (``None``, ``?``, a symbolic name) is None."""
    parts = [p.strip() for p in text.strip().strip("()[]").split(",")]
    return [int(p) if re.fullmatch(r"\d{1,24}", p) else None for p in parts if p]


def _sizes(text: str) -> int | list[int]:
    """``"29"`` → 29; ``"29, 28"`` (several arrays of one role) → [29, 28]."""
    out = [int(p) for p in text.split(",") if p.strip()]
    return out[0] if len(set(out)) == 1 else out


_UNITS = {"b": 1, "bytes": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}  # fmt: skip


def _bytes(text: str | None) -> int | None:
    """``"2.00 GiB"`` → 2147483648; None for a size that is not one (``1.2.3 GiB``, 400 digits)."""
    m = re.fullmatch(r" ?([0-9]{1,24}(?:\.[0-9]{1,24})?) ?([A-Za-z]{1,5})", (text or "").strip())
    unit = _UNITS.get(m.group(2).lower()) if m else None
    if m is None or unit is None:
        return None
    return int(float(m.group(1)) * unit)


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
    return {k: b for k, v in sizes.items() if (b := _bytes(v)) is not None}


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
    return finding, {**_groups(g), "values": g["_what"]}  # "NaN", "infinity" or "NaN, infinity"


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
SHAPE = r"[(\[][^)\]\n]{0,256}+[)\]]"  # (None, 5, 3) or [None, 3] or (7,)
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


# -- words ----------------------------------------------------------------------------------------
def _shape(dims) -> str:
    from .units import format_shape

    return format_shape(dims)


def _bytes_text(n: int) -> str:
    from .units import format_bytes

    return format_bytes(n)


def _size_flag(n: int) -> str:
    """Bytes → a ``--memory`` value: ``7.79GiB``."""
    for unit, f in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= f:
            return f"{n / f:.2f}".rstrip("0").rstrip(".") + unit
    return str(n)


def _count(v) -> str:
    return ", ".join(map(str, v)) if isinstance(v, list) else str(v)


def _say_samples(n: Numbers) -> str:
    if "sizes" in n:
        return (f"The arrays passed together have {_count(n['sizes'])} samples; they must all "
                "have the same number of samples (first axis).")  # fmt: skip
    if "x_samples" in n and "y_samples" in n:
        return (f"The inputs have {_count(n['x_samples'])} samples but the targets have "
                f"{_count(n['y_samples'])}; every input needs one target, so both must have the "
                "same length on the first axis.")  # fmt: skip
    if isinstance(n.get("x_samples"), list):
        return (f"The inputs have {_count(n['x_samples'])} samples; all arrays must have the same "
                "number of samples (first axis).")  # fmt: skip
    return "The inputs and the targets have different numbers of samples (first axis)."


def _say_width(n: Numbers) -> str:
    return (f"The data has {n['actual_features']} features (last axis) but the model's first "
            f"layer expects {n['expected_features']}.")  # fmt: skip


def _say_rank(n: Numbers) -> str:
    if "expected_min_ndim" in n:
        want = f"at least {n['expected_min_ndim']}-D input"
    elif "expected_max_ndim" in n:
        want = f"at most {n['expected_max_ndim']}-D input"
    else:
        want = f"{n['expected_ndim']}-D input"
    if "expected_shape" in n:
        want += f" {_shape(n['expected_shape'])}"
    have = f"{n['actual_ndim']}-D input"
    if "actual_shape" in n:
        have += f" {_shape(n['actual_shape'])}"
    return f"The model expects {want} but got {have}: the data has the wrong number of axes."


def _say_steps(n: Numbers) -> str:
    return (f"The data has {n['actual_timesteps']} timesteps (axis 1) but the model expects "
            f"{n['expected_timesteps']}.")  # fmt: skip


def _say_ragged(n: Numbers) -> str:
    if "shapes" in n:
        (i, j), (a, b) = n["entries"], n["shapes"]
        return (f"Entry {i} has shape {_shape(a)} but entry {j} has {_shape(b)}: the samples "
                "have different lengths, so they cannot be stacked into one batch.")  # fmt: skip
    if "regular_ndim" in n:
        return (
            f"The samples have different lengths: NumPy could build only the first "
            f"{n['regular_ndim']} axis(es) {_shape(n['regular_shape'])} of a regular array."
        )
    if "actual_length" in n:
        return (f"A sequence of length {n['actual_length']} came where length "
                f"{n['expected_length']} was expected (dim {n['dim']}): the sequences have "
                "different lengths.")  # fmt: skip
    if "object_type" in n:
        return (
            f"The data is an object array of Python {n['object_type']}s, which is what "
            "sequences of different lengths become; they must be padded to one length."
        )
    return (
        "The samples have different lengths (ragged sequences) and cannot form one regular array."
    )


def _say_target(n: Numbers) -> str:
    t = n.get("target_shape")
    if t is None:
        return ("The targets are not 1-D class indices: this loss wants labels of shape (N,), "
                "not a column (N, 1) or one-hot rows.")  # fmt: skip
    if "output_shape" not in n:
        if "expected_ndim" in n:
            return (f"The targets have shape {_shape(t)} but the model's output is "
                    f"{n['expected_ndim']}-D.")  # fmt: skip
        return f"The targets have shape {_shape(t)} but a 1-D array of labels was expected."
    o, classes = n["output_shape"], n.get("classes")
    hint = ""
    if classes and t and t[-1] == 1:
        hint = f": integer labels need a sparse loss, or one-hot encoding to {classes} classes"
    elif len(t) + 1 == len(o) and o[-1] == 1:
        hint = ": reshape the targets to add the last axis, or squeeze the model's output"
    elif len(t) == len(o) + 1 and t[-1] == 1:
        hint = ": squeeze the targets' last axis"
    return (f"The targets have shape {_shape(t)} but the model's output has shape "
            f"{_shape(o)}{hint}.")  # fmt: skip


def _say_label(n: Numbers) -> str:
    label, classes = n.get("label"), n.get("classes")
    if label is None:
        return "A label is outside [0, classes): every label must name one of the model's outputs."
    if "axis" in n:  # NumPy's IndexError, raised inside a loss (Keras' numpy backend)
        return (f"Index {label} is out of bounds for an axis of size {classes}: in a loss, that is "
                f"a label outside [0, {classes}), and labels must be 0 … {classes - 1}.")  # fmt: skip
    if classes is not None:
        return (f"A label of {label} is outside the valid range [0, {classes}): with {classes} "
                f"classes, labels must be 0 … {classes - 1}.")  # fmt: skip
    if label < 0:
        return (f"A label of {label} is negative: labels must be 0 or more (-1 often marks "
                "unlabelled samples).")  # fmt: skip
    return (f"A label of {label} is outside [0, classes): the model has at most {label} outputs, "
            "so labels must be smaller than its number of classes.")  # fmt: skip


def _say_nonfinite(n: Numbers) -> str:
    what = {"X": "X (the inputs)", "y": "y (the targets)"}.get(n.get("array", ""), "The data")
    too_large = f" or a value too large for {n['dtype']}" if "dtype" in n else ""
    return f"{what} contains {n['values']}{too_large}; a model cannot learn from non-finite values."


def _say_memory(n: Numbers) -> str:
    parts = []
    if "tensor_shape" in n:
        parts.append(f"a tensor of shape {_shape(n['tensor_shape'])}")
    if "requested_bytes" in n:
        parts.append(
            f"({_bytes_text(n['requested_bytes'])})" if parts else _bytes_text(n["requested_bytes"])
        )
    device = ""
    if "total_bytes" in n:
        device = f" on a device with {_bytes_text(n['total_bytes'])} in total"
        if "free_bytes" in n:
            device += f", {_bytes_text(n['free_bytes'])} free"
    what = " ".join(parts) or "memory"
    return (f"Allocating {what} failed{device}: one batch needs more memory than there is; a "
            "smaller batch needs less.")  # fmt: skip


_SAY: dict[str, Callable[[Numbers], str]] = {
    "sample-count-mismatch": _say_samples, "feature-width-mismatch": _say_width,
    "rank-mismatch": _say_rank, "timesteps-mismatch": _say_steps,
    "ragged-sequences": _say_ragged, "target-shape-mismatch": _say_target,
    "label-out-of-range": _say_label, "non-finite-values": _say_nonfinite,
    "batch-memory": _say_memory,
}  # fmt: skip


# -- the check command that confirms it -----------------------------------------------------------
def _input_shape_flag(n: Numbers) -> str:
    if "expected_shape" in n:
        return f'--input-shape "{_shape(n["expected_shape"])}"'
    ndim = n.get("expected_ndim") or n.get("expected_min_ndim") or n.get("expected_max_ndim")
    return f'--input-shape "{_shape([None] * ndim)}"'


def _memory_command(n: Numbers) -> str:
    memory = _size_flag(n["total_bytes"]) if "total_bytes" in n else "M"
    return f"dsdoctor check --x X --batch-size {n.get('batch_size') or 'B'} --memory {memory}"


#: finding → the ``check`` command that confirms it, with the expectations the message gave.
#: X, Y stand for the user's inputs and targets; N, B, M for numbers the message did not give.
_CHECK: dict[str, Callable[[Numbers], str]] = {
    "sample-count-mismatch": lambda n: "dsdoctor check --x X --y Y",
    "feature-width-mismatch": lambda n: (
        f"dsdoctor check --x X {_input_shape_flag(n)}" if "expected_shape" in n
        else f"dsdoctor check --x X --features {n['expected_features']}"),
    "rank-mismatch": lambda n: f"dsdoctor check --x X {_input_shape_flag(n)}",
    "timesteps-mismatch": lambda n: f"dsdoctor check --x X {_input_shape_flag(n)}",
    "ragged-sequences": lambda n: "dsdoctor check --x X",
    "target-shape-mismatch": lambda n: "dsdoctor check --x X --y Y" + (
        f" --classes {n['classes']}" if "classes" in n else ""),
    "label-out-of-range": lambda n: f"dsdoctor check --y Y --classes {n.get('classes', 'N')}",
    "non-finite-values": lambda n: {"X": "dsdoctor check --x X", "y": "dsdoctor check --y Y"}.get(
        n.get("array", ""), "dsdoctor check --x X --y Y"),
    "batch-memory": _memory_command,
}  # fmt: skip


# -- triage ---------------------------------------------------------------------------------------
_ANSI = re.compile(r"\x1b\[[0-9;?]{0,64}+[A-Za-z]")


def _normalise(text: str) -> str:
    text = text[-MAX_CHARS:]
    return _ANSI.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def triage(text: str) -> Diagnosis | None:
    """The finding an error message or traceback points to, or None for unknown text.

    When several lines match, the last one wins (the final exception); on one line, the first
    entry of :data:`PATTERNS`.
    """
    text = _normalise(text)
    starts = [m.start() for m in re.finditer("\n", text)]
    best: tuple[tuple[int, int], Pattern, re.Match[str], tuple[str, Numbers]] | None = None
    for order, pattern in enumerate(PATTERNS):
        for m in pattern.regex.finditer(text):
            key = (bisect.bisect_left(starts, m.start()), -order)
            if best is not None and key <= best[0]:
                continue
            reading = pattern.reading(m)
            if reading is not None:
                best = (key, pattern, m, reading)
    if best is None:
        return None
    _, pattern, m, (finding, numbers) = best
    from .checks import get_check

    return Diagnosis(
        finding=finding,
        code=get_check(finding).code,
        numbers=numbers,
        framework=pattern.framework,
        matched=_lines(text, m),
        explanation=_SAY[finding](numbers),
        check_command=_CHECK[finding](numbers),
        pattern=pattern.id,
    )


def _lines(text: str, m: re.Match[str]) -> str:
    """The whole line(s) the match is on, as one line."""
    start = text.rfind("\n", 0, m.start()) + 1
    end = text.find("\n", m.end())
    return " ".join(part.strip() for part in text[start : None if end < 0 else end].split("\n")
                    if part.strip())  # fmt: skip


def read_message(source: str | None) -> str:
    """The text to triage: a file, or standard input for ``-`` / None.

    Only the tail is kept (the final exception is at the end): the last ``4 * MAX_CHARS`` bytes,
    decoded, then the last MAX_CHARS characters. A regular file is read from that tail on. A
    stream (standard input, a pipe, a FIFO, a device) is read in chunks, keeping only the tail, for
    at most MAX_STREAM_BYTES: an endless producer (``/dev/zero``) is a SourceError, not a run that
    never ends.
    """
    import os
    import stat
    import sys

    from .errors import SourceError

    if source in (None, "-"):
        data = _tail(getattr(sys.stdin, "buffer", sys.stdin), "standard input")
    else:
        try:
            with open(source, "rb") as fh:
                if stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                    fh.seek(max(0, os.fstat(fh.fileno()).st_size - 4 * MAX_CHARS))
                    data = fh.read(4 * MAX_CHARS)
                else:
                    data = _tail(fh, source)
        except FileNotFoundError:
            raise SourceError(f"{source}: no such file") from None
        except IsADirectoryError:
            raise SourceError(
                f"{source}: is a directory, not a file with an error message"
            ) from None
        except OSError as exc:
            raise SourceError(f"{source}: cannot be read ({exc.strerror})") from None
    if isinstance(data, bytes):
        data = data.decode("utf-8", errors="replace")
    return data[-MAX_CHARS:]


#: The most a stream is read: 256 MiB is a very long training log, read in well under a second.
MAX_STREAM_BYTES = 256 << 20


def _tail(stream, name: str):
    """The last ``4 * MAX_CHARS`` bytes of a stream, refusing one longer than MAX_STREAM_BYTES."""
    from .errors import SourceError

    data, total = stream.read(0), 0
    while chunk := stream.read(MAX_CHARS):
        total += len(chunk)
        if total > MAX_STREAM_BYTES:
            raise SourceError(
                f"{name}: longer than {MAX_STREAM_BYTES >> 20} MiB, the most triage reads from a "
                "stream; pass the log's end instead (tail -c 4M LOG | dsdoctor triage)"
            )
        data = (data + chunk)[-4 * MAX_CHARS :]
    return data
