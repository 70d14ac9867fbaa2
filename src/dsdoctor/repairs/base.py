"""What every repair shares: opening its input, the refusals common to several repairs, and
the result it returns.

A repair is one module (``pad.py``, ``mask.py``, …) with two entries over ONE validation:

- ``<name>(data, **options)`` works in memory and returns arrays (the Python API);
- ``<name>_file(src, out, **options, force=, chunk_bytes=, **source_options)`` streams a source
  (``PATH[:SELECTOR]`` or a handle) to ``out`` and returns a :class:`RepairResult`.

Both wrap their input in an :class:`~dsdoctor.sources.ArrayHandle` (an in-memory array becomes
a handle named ``<array>``) and pass it, with the options, to the module's validation, so a
refusal is the same exception with the same message whichever entry is called (the CLI calls the
file entry). Option names in messages are spelled as the CLI spells them (``--to``), as
``input_shape=`` ↔ ``--input-shape`` everywhere else. The repairs are listed in
:mod:`dsdoctor.repairs.table`.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from ..arrays import Ragged
from ..errors import RepairError, UsageError
from ..sources import ArrayHandle
from ..units import parse_number
from .result import RepairResult

T = TypeVar("T")

#: Where an in-memory array is named in messages (its handle's source is ``<array>``).
MEMORY_NAME = "array"


def source_handle(src: Any, **source_options: Any) -> ArrayHandle:
    """The readable handle of ``src``: a handle as is, otherwise ``sources.open_array``."""
    from ..sources import open_array

    h = src if isinstance(src, ArrayHandle) else open_array(src, **source_options)
    h.require_readable()
    return h


def memory_handle(data: Any) -> ArrayHandle:
    """In-memory data (numpy array, list of sequences, Ragged, pyarrow ListArray) as a handle."""
    from ..sources.memory import as_handle

    h = as_handle(data, MEMORY_NAME)
    h.require_readable()
    return h


def require_dense(h: ArrayHandle, op: str) -> None:
    if h.ragged:
        raise RepairError(
            f"{h.source} holds variable-length sequences; {op} needs a dense array — pad it first"
        )
    if not h.shape:
        raise RepairError(
            f"{h.source} is a single value (a 0-d array), not samples; {op} needs a first axis"
        )


def dense(data: np.ndarray | Ragged) -> np.ndarray:
    """A chunk (or the whole) of a handle that :func:`require_dense` passed."""
    assert isinstance(data, np.ndarray), "a dense handle reads as arrays"
    return data


def ragged(data: np.ndarray | Ragged) -> Ragged:
    """A chunk (or the whole) of a handle whose ``ragged`` the repair's validation checked."""
    assert isinstance(data, Ragged), "a ragged handle reads as Ragged"
    return data


def exactly_one(message: str, *values: object) -> None:
    """UsageError ``message`` unless exactly one of ``values`` is given (not None)."""
    if sum(v is not None for v in values) != 1:
        raise UsageError(message)


def option(parse: Callable[..., T], name: str, value: Any, **bounds: Any) -> T:
    """``value`` through the :mod:`dsdoctor.units` parser the CLI's option ``name`` uses, so a
    value the CLI refuses is refused in memory with the same reason (``--to: '0' is out of
    range: …``; the CLI shows click's ``Invalid value for '--to': …``)."""
    try:
        return parse(value, **bounds)
    except UsageError as exc:
        raise UsageError(f"{name}: {exc}") from None


def number(value: Any) -> Any:
    """A padding value: a number as is, anything else through ``--value``'s parser."""
    return value if isinstance(value, numbers.Real) else option(parse_number, "--value", value)


def check_sides(**sides: str) -> None:
    for name, side in sides.items():
        if side not in ("pre", "post"):
            raise UsageError(f"--{name} must be pre or post, got {side!r}")


def check_value(
    value: Any, dtype: np.dtype, fix: str = "choose another --value or --dtype"
) -> None:
    """RepairError unless the padding ``value`` is stored exactly in ``dtype`` (NaN in floats)."""
    try:
        with np.errstate(invalid="ignore", over="ignore"):  # NaN → int64 is the refusal below
            ok = bool(
                np.array(value).astype(dtype) == value or (np.isnan(value) and dtype.kind == "f")
            )
    except (ValueError, OverflowError, TypeError):
        ok = False
    if not ok:
        raise RepairError(f"the padding value {value} cannot be stored as {dtype}; {fix}")


def result(
    op: str,
    h: ArrayHandle,
    outputs: list[str],
    shape: tuple[int | None, ...],
    dtype: npt.DTypeLike,
    **details: Any,
) -> RepairResult:
    warnings = [unpickled_warning(h)] if h.pickled else []
    return RepairResult(op, h.source, outputs, list(shape), str(np.dtype(dtype)), details, warnings)


def unpickled_warning(h: ArrayHandle) -> str:
    """What a repair of an object array read with ``--allow-pickle`` says (SPEC: never unpickled
    without the flag, and then with a warning)."""
    return (f"{h.source} is an object array, unpickled because of --allow-pickle (unpickling runs "
            "any code the file holds); the output loads without pickle")  # fmt: skip
