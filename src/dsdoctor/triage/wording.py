"""What a diagnosis says: the explanation of a finding and the ``dsdoctor check`` command that
confirms it, both written from the numbers a pattern read (:mod:`.patterns`), one function per
finding in :data:`SAY` and :data:`CHECK`.
"""

from __future__ import annotations

from collections.abc import Callable

from ..units import format_bytes, format_shape
from .patterns import Numbers


def explanation(finding: str, numbers: Numbers) -> str:
    """One or two sentences saying what the numbers mean for ``finding``."""
    return SAY[finding](numbers)


def check_command(finding: str, numbers: Numbers) -> str:
    """The ``dsdoctor check`` command that confirms ``finding`` in the user's files."""
    return CHECK[finding](numbers)


# -- words ----------------------------------------------------------------------------------------
_shape = format_shape
_bytes_text = format_bytes


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
    if n.get("loss") == "sparse" and len(t) == len(o):
        labels = _shape(t[:-1])
        hint = (f": a sparse loss takes integer class labels of shape {labels}, not one-hot rows; "
                "use categorical_crossentropy, or turn the rows into labels (argmax)")  # fmt: skip
    elif classes and t and t[-1] == 1:
        hint = f": integer labels need a sparse loss, or one-hot encoding to {classes} classes"
    elif classes and len(t) == len(o) and t[-1] is not None and t[-1] != classes:
        hint = (f": the targets have {t[-1]} columns but the model outputs {classes} classes; "
                f"one-hot targets must be encoded to {classes} classes, or the last layer given "
                f"{t[-1]} units")  # fmt: skip
    elif len(t) + 1 == len(o) and o[-1] == 1:  # a regression target squeezed to (N,)
        hint = (f": a regression target must have the output's shape, so keep the targets "
                f"{_shape([*t, 1])} (reshape them back, or squeeze the model's output); with "
                "different shapes a loss such as MSELoss broadcasts them against each other")  # fmt: skip
    elif len(t) == len(o) + 1 and t[-1] == 1:
        hint = ": squeeze the targets' last axis"
    return (f"The targets have shape {_shape(t)} but the model's output has shape "
            f"{_shape(o)}{hint}.")  # fmt: skip


def _say_label(n: Numbers) -> str:
    label, classes = n.get("label"), n.get("classes")
    if label is None:
        return "A label is outside [0, classes): every label must name one of the model's outputs."
    if "axis" in n:  # NumPy's IndexError, raised inside a loss (Keras' numpy backend)
        classes = n["classes"]  # the pattern reads the axis' size with the axis
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


def _say_missing(n: Numbers) -> str:
    what = {"X": "X (the inputs)", "y": "y (the targets)"}.get(n.get("array", ""), "The data")
    return f"{what} contains NaN: missing values, which a model cannot learn from."


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


def _say_empty(n: Numbers) -> str:
    return ("A sequence has length 0: pack_padded_sequence needs every length to be at least 1. "
            "Drop the empty sequences (and their targets) before padding, or give them a "
            "placeholder timestep.")  # fmt: skip


#: finding → what its numbers mean.
SAY: dict[str, Callable[[Numbers], str]] = {
    "sample-count-mismatch": _say_samples, "feature-width-mismatch": _say_width,
    "rank-mismatch": _say_rank, "timesteps-mismatch": _say_steps,
    "ragged-sequences": _say_ragged, "target-shape-mismatch": _say_target,
    "label-out-of-range": _say_label, "non-finite-values": _say_nonfinite,
    "missing-values": _say_missing, "empty-sequences": _say_empty,
    "batch-memory": _say_memory,
}  # fmt: skip


# -- the check command that confirms it -----------------------------------------------------------
def _input_shape_flag(n: Numbers) -> str:
    if "expected_shape" in n:
        return f'--input-shape "{_shape(n["expected_shape"])}"'
    ndim = n.get("expected_ndim") or n.get("expected_min_ndim") or n["expected_max_ndim"]
    return f'--input-shape "{_shape([None] * ndim)}"'


def _memory_command(n: Numbers) -> str:
    memory = _size_flag(n["total_bytes"]) if "total_bytes" in n else "M"
    return f"dsdoctor check --x X --batch-size {n.get('batch_size') or 'B'} --memory {memory}"


#: finding → the ``check`` command that confirms it, with the expectations the message gave.
#: X, Y stand for the user's inputs and targets; N, B, M for numbers the message did not give.
CHECK: dict[str, Callable[[Numbers], str]] = {
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
    "missing-values": lambda n: {"X": "dsdoctor check --x X", "y": "dsdoctor check --y Y"}.get(
        n.get("array", ""), "dsdoctor check --x X --y Y"),
    "batch-memory": _memory_command,
    # padded data (what pack_padded_sequence takes): an empty row is all padding
    "empty-sequences": lambda n: "dsdoctor check --x X --mask-value 0",
}  # fmt: skip
