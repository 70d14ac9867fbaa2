"""Object arrays (``np.save`` of a list of lists, of 1-D arrays, of ``(t, F)`` arrays) read as
numbers, once ``--allow-pickle`` allows unpickling them (never without it).

An object array is one pickle, and numpy cannot unpickle part of one: the whole array is loaded
in memory once, when the source is opened, then converted at once into what the other formats
give, and the Python objects are dropped (the handle keeps only numbers):

- every element a sequence (list, tuple or array of at least one axis) of numbers: one
  :class:`~dsdoctor.arrays.Ragged`, values + offsets, the layout of a Parquet list column or an
  HDF5 variable-length dataset, so ``check``, ``pad``, ``bucket`` and ``inspect`` treat it as
  they treat those. Sequence i is element i; ``(t_i, F)`` elements give ``(N, None, F)``;
- every element a number: a dense array of the same shape;
- every element a string (or every one bytes), ``None`` for a missing value: text labels, one per
  sample, as a categorical array.

The conversion is vectorised: one pass of ``type`` and one of ``len`` over the elements (C
loops), then one ``np.concatenate`` of the non-empty sequences, with numpy's type promotion (int
and float sequences together give float64; an empty sequence promotes nothing). Anything else is
refused, naming the first element that breaks the rule (an element of another kind than the
first, ``None`` among sequences, a string inside a sequence, timesteps of another shape); the
handle is then not read: ``check`` reports it as ``unsafe-pickle``, a command that reads it
exits 2 with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from ..arrays import Ragged
from .base import is_numeric, text_shape
from .memory import MemoryArray

#: What a sequence element may be: numpy converts each of these to an array without guessing.
SEQUENCE_TYPES = (list, tuple, np.ndarray)
NUMBER_TYPES = (bool, int, float, complex, np.number, np.bool_)
#: The kinds of element an object array can be read as, in the words of the messages.
KIND_WORDS = {"sequence": "a sequence", "number": "a number", "str": "a string",
              "bytes": "bytes", "none": "None"}  # fmt: skip


#: How Python 2 strings in a pickle are decoded: latin1 is the one encoding that reads every
#: Python 2 pickle of numpy arrays (their data is a Python 2 str) and leaves ASCII text as it was;
#: numpy's default, ASCII, refuses any other byte.
PY2_PICKLES = {"encoding": "latin1"}


class BadElements(ValueError):
    """An object array that is not sequences, numbers or text; the message says where."""


class UnpickledArray(MemoryArray):
    """An object array of a ``.npy`` file or ``.npz`` member, unpickled (``--allow-pickle``) and
    converted to numbers at open (see the module); ``skip`` says why when it could not be."""

    def read(self) -> np.ndarray | Ragged:
        self.require_readable()
        return self.data


def unpickle(fp: BinaryIO) -> np.ndarray:
    """The object array of the ``.npy`` data ``fp`` starts at (magic, header, pickle): run only
    when the user passed ``--allow-pickle``."""
    return np.lib.format.read_array(fp, allow_pickle=True, pickle_kwargs=PY2_PICKLES)


def open_unpickled(load: Callable[[], np.ndarray], *, name: str, display: str, path: Path,
                   format: str, shape: tuple[int, ...], layout: dict[str, Any],
                   disk_bytes: int | None) -> UnpickledArray:  # fmt: skip
    """The handle of an object array that ``load`` unpickles (the user passed --allow-pickle)."""
    h = UnpickledArray(name=name, source=display, path=path, format=format, shape=shape,
                       dtype=np.dtype(object), layout={**layout, "pickle": "unpickled"},
                       disk_bytes=disk_bytes)  # fmt: skip
    h.pickled = True
    try:
        arr = load()
    except Exception as exc:  # unpickling runs the file's code: it can raise anything
        h.skip = f"cannot be unpickled ({type(exc).__name__}: {_first_line(exc)})"
        return h
    try:
        data = from_objects(arr)
    except BadElements as exc:
        h.skip = str(exc)
        return h
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:  # subclasses of list
        h.skip = (
            f"its elements cannot be read as numbers ({type(exc).__name__}: {_first_line(exc)})"
        )
        return h
    del arr  # the Python objects: only the numbers stay
    h.data, h.dtype = data, data.dtype
    if isinstance(data, Ragged):
        h.ragged, h.shape = True, (len(data), None, *data.inner_shape)
    else:
        h.shape = tuple(data.shape)
        h.categorical = data.dtype == object  # text labels (from_objects checked each element)
    return h


def from_objects(arr: np.ndarray) -> np.ndarray | Ragged:
    """The numbers an object array holds (see the module); BadElements says why there are none."""
    if arr.ndim == 0:
        raise BadElements(
            f"it holds one Python object, {_show(arr[()])} (np.save of a single object), not an "
            "array of samples"
        )
    flat = arr.reshape(-1)
    if not flat.size:
        return np.empty(arr.shape, dtype=np.float64)  # no element says what the numbers are
    kinds = {t: _kind(t) for t in set(map(type, flat))}  # one C loop over the elements
    real = set(kinds.values()) - {"none"}
    if len(real) == 1:
        main = real.pop()
    else:  # several kinds (refused below): the first element's that is not None is the rule
        main = next((kinds[type(e)] for e in flat if e is not None), "none")
    allowed = {main, "none"} if main in ("str", "bytes") else {main}
    if main in ("none", "other") or set(kinds.values()) - allowed:
        raise BadElements(_odd_element(arr, flat, kinds, main, allowed))
    if main == "number":
        return _numbers(arr, flat)
    if main in ("str", "bytes"):
        if not text_shape(arr.shape):
            raise BadElements(f"its text fills a {arr.shape} array; dsdoctor reads text as one "
                              "label per sample, (N,) or (N, 1)")  # fmt: skip
        return arr
    if arr.ndim != 1:
        raise BadElements(f"it is a {arr.ndim}-D object array of sequences {arr.shape}; dsdoctor "
                          "reads a 1-D one as one sequence per element")  # fmt: skip
    return _sequences(flat)


def _kind(t: type) -> str:
    if issubclass(t, SEQUENCE_TYPES):
        return "sequence"
    if issubclass(t, NUMBER_TYPES):
        return "number"
    if issubclass(t, str):
        return "str"
    if issubclass(t, bytes):
        return "bytes"
    return "none" if t is type(None) else "other"


def _odd_element(arr: np.ndarray, flat: np.ndarray, kinds: dict[type, str], main: str,
                 allowed: set[str]) -> str:  # fmt: skip
    """Why the elements are refused: the first one whose kind differs from the first's."""
    rule = ("an object array is read when its elements are all sequences of numbers (lists, "
            "tuples, arrays), all numbers or all text")  # fmt: skip
    if main == "none":
        return f"every element is None; {rule}"
    ref = next(i for i, e in enumerate(flat) if kinds[type(e)] == main)
    bad = next(i for i, e in enumerate(flat) if kinds[type(e)] not in allowed)
    if main == "other":
        return f"element {_index(arr, ref)} is {_show(flat[ref])}; {rule}"
    return (f"element {_index(arr, bad)} is {_show(flat[bad])} where element {_index(arr, ref)} "
            f"is {KIND_WORDS[main]}; {rule}")  # fmt: skip


def _numbers(arr: np.ndarray, flat: np.ndarray) -> np.ndarray:
    """Numbers as one dense array, the dtype by numpy's promotion (``np.array`` of the values)."""
    data = np.array(arr.tolist())
    if data.shape != arr.shape or not is_numeric(data.dtype):  # an int past 64 bits stays object
        i = next((i for i, e in enumerate(flat) if not is_numeric(np.asarray(e).dtype)), 0)
        raise BadElements(f"element {_index(arr, i)} is {_show(flat[i])}, which no numeric dtype "
                          "holds")  # fmt: skip
    return data


def _sequences(flat: np.ndarray) -> Ragged:
    """Sequences as values + offsets: lengths by one ``len`` pass, values by one concatenate."""
    try:
        lengths = np.fromiter(map(len, flat), dtype=np.int64, count=len(flat))
    except TypeError:  # a 0-d array has no len
        i = next((i for i, e in enumerate(flat) if np.ndim(e) == 0), 0)
        raise BadElements(
            f"element {i} is {_show(flat[i])}, a single value, not a sequence"
        ) from None
    full = np.flatnonzero(lengths)  # an empty list is float64 (0,): it must not promote ints
    parts = flat[full] if len(full) < len(flat) else flat
    try:
        if len(parts):
            values = np.concatenate(list(parts), axis=0)
        else:  # every sequence empty: their own dtype and timestep shape, if arrays say one
            first = np.asarray(flat[0])
            values = np.empty((0, *first.shape[1:]), dtype=first.dtype)
    except (ValueError, TypeError) as exc:  # DTypePromotionError is a TypeError
        raise BadElements(
            _odd_sequence(flat, full) or f"the sequences do not join ({_first_line(exc)})"
        ) from None
    if not is_numeric(values.dtype) or len(values) != int(lengths.sum()):
        raise BadElements(
            _odd_sequence(flat, full) or f"the sequences hold {values.dtype}, not numbers"
        )
    return Ragged.from_lengths(values, lengths)


def _odd_sequence(flat: np.ndarray, full: np.ndarray) -> str | None:
    """The first non-empty sequence that is not numbers, or whose timesteps differ in shape from
    the first one's (read only when the vectorised join failed)."""
    ref: tuple[int, tuple[int, ...]] | None = None
    for i in full.tolist():
        try:
            a = np.asarray(flat[i])
        except (ValueError, TypeError):  # "inhomogeneous shape": rows of different lengths
            return f"element {i} ({_show(flat[i])}) has timesteps of different lengths"
        if not is_numeric(a.dtype):
            return f"element {i} ({_show(flat[i])}) holds {_values_of(a)}, not numbers"
        if ref is None:
            ref = (i, a.shape[1:])
        elif a.shape[1:] != ref[1]:
            return (f"element {i} has timesteps of shape {a.shape[1:]} but element {ref[0]} has "
                    f"{ref[1]}; every timestep must have one shape")  # fmt: skip
    return None


def _values_of(a: np.ndarray) -> str:
    if a.dtype.kind in "US":
        return "text"
    odd = [v for v in a.reshape(-1) if not isinstance(v, NUMBER_TYPES)][:1]
    return _show(odd[0]) if odd else "integers past 64 bits"


def _index(arr: np.ndarray, i: int) -> str:
    return str(i) if arr.ndim == 1 else str(tuple(int(k) for k in np.unravel_index(i, arr.shape)))


def _show(e: object) -> str:
    """An element as the messages name it: ``None``, ``a dict``, ``a string ('six')``."""
    if e is None:
        return "None"
    text = " ".join(repr(e).split())  # one line, as an array's repr is not
    text = text if len(text) <= 40 else text[:37] + "..."
    name = "array" if isinstance(e, np.ndarray) else type(e).__name__
    return f"{'an' if name[:1] in 'aeiou' else 'a'} {name} ({text})"


def _first_line(exc: BaseException) -> str:
    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return msg[:300]
