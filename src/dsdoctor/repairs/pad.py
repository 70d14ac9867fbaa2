"""``pad``: variable-length sequences → a dense array, with the mask and lengths beside it.

Same semantics as ``keras.utils.pad_sequences`` (default pre/pre, the source's dtype). The lengths
are what ``torch.nn.utils.rnn.pack_padded_sequence`` takes only with post padding: it packs the
first ``length`` steps of each row, so on pre-padded rows it keeps padding and drops real steps
(``pad_file`` warns; ``for_="torch"`` pads post). :data:`PRESETS` (``--for keras|torch``) sets
the sides and the dtype of integer ids each framework expects. :func:`validate` is the one
validation of :func:`pad` (in memory) and :func:`pad_file` (streamed); :func:`check_rows` the one
check of the values themselves (nulls read as integers, lossy casts), per chunk or over the
whole array.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import kernels
from ..arrays import Ragged
from ..errors import RepairError, UsageError
from ..sources import DEFAULT_CHUNK_BYTES, ArrayHandle
from ..units import format_shape, parse_dtype, parse_maxlen
from .base import (
    check_sides,
    check_value,
    memory_handle,
    number,
    option,
    ragged,
    result,
    source_handle,
)
from .result import RepairResult
from .write import input_paths, provenance, write_blocks


@dataclass(frozen=True)
class Preset:
    """What ``--for FRAMEWORK`` sets where the option is not given."""

    padding: str
    truncating: str
    #: the dtype of integer data (token ids); other data keep their dtype
    ids: np.dtype


#: ``--for``: Keras' ``pad_sequences`` defaults (pre/pre, int32, which ``Embedding`` takes);
#: PyTorch's ``pack_padded_sequence`` (post padding, so the first ``length`` steps are the real
#: ones; post truncation keeps a sequence's start, as the packed lengths do) and
#: ``nn.Embedding`` / ``CrossEntropyLoss`` (int64). Lengths are int64 on the CPU and the mask is
#: bool for both. Without ``--for``: :data:`DEFAULT_SIDES` and the source's dtype.
PRESETS: dict[str, Preset] = {
    "keras": Preset("pre", "pre", np.dtype(np.int32)),
    "torch": Preset("post", "post", np.dtype(np.int64)),
}
DEFAULT_SIDES = {"padding": "pre", "truncating": "pre"}


def apply_preset(for_: str | None, source: np.dtype, *, dtype: npt.DTypeLike | None,
                 **sides: str | None) -> tuple[npt.DTypeLike | None, dict[str, str]]:  # fmt: skip
    """The dtype and the sides (``padding=``, ``truncating=``) a repair uses: each given option,
    else what ``for_`` sets, else the default (the source's dtype, pre)."""
    if for_ is None:
        return dtype, {k: v if v is not None else DEFAULT_SIDES[k] for k, v in sides.items()}
    preset = PRESETS.get(for_)
    if preset is None:
        raise UsageError(f"--for must be {' or '.join(PRESETS)}, got {for_!r}")
    chosen = {k: v if v is not None else getattr(preset, k) for k, v in sides.items()}
    if dtype is None and source.kind in "iu":
        dtype = preset.ids
    return dtype, chosen


def pre_padded_lengths_warning(op: str, padded: int) -> str:
    """What ``pad`` and ``bucket`` say when they write lengths beside pre-padded rows (not with
    ``--for keras``: Keras takes the mask, never the lengths)."""
    return (
        f"{padded:,} sequences are pre-padded (padding at the start) and the lengths are "
        "written beside them: torch.nn.utils.rnn.pack_padded_sequence takes the first "
        "`length` steps of each row, so it would keep the padding and drop real steps. For "
        f"PyTorch run {op} with --for torch (post padding); Keras needs no lengths (it "
        "takes the mask)"
    )


def padding_value_collision_warning(collisions: int, value: object) -> str:
    """What ``pad`` and ``bucket`` say when real timesteps equal the padding value (DS302's
    mask-value collision): a mask computed from the value would drop them."""
    return (
        f"{collisions:,} real timesteps equal the padding value {value}: use the mask written "
        f"beside the data, not a mask computed from {value} (or pad with --value set to a value "
        "the data never takes)"
    )


@dataclass
class Padded:
    """Dense sequences: ``data`` (N, maxlen, …), ``mask`` (N, maxlen) True on real timesteps, and
    ``lengths`` (N,) = min(len, maxlen), what ``pack_padded_sequence`` takes."""

    data: np.ndarray
    mask: np.ndarray
    lengths: np.ndarray

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter((self.data, self.mask, self.lengths))


def sequences_handle(sequences: Any, *, lengths: Any = None, offsets: Any = None) -> ArrayHandle:
    """In-memory sequences as a handle: a list of arrays (equal lengths included), flat values
    with ``lengths`` or ``offsets``, a pyarrow ListArray, a Ragged — or a dense array, which the
    repair's validation then refuses with its reason."""
    if lengths is not None and offsets is not None:
        raise UsageError("give lengths or offsets, not both")
    if lengths is not None:
        return memory_handle(Ragged.from_lengths(np.asarray(sequences), lengths))
    if offsets is not None:
        return memory_handle(Ragged(np.asarray(sequences), offsets))
    from ..sources.memory import to_data

    data = to_data(sequences)
    if not isinstance(data, Ragged) and isinstance(sequences, list | tuple):
        data = Ragged.from_sequences(sequences)  # equal lengths: still sequences
    return memory_handle(data)


def target_dtype(dtype: npt.DTypeLike | None, default: np.dtype) -> np.dtype:
    """``--dtype`` (a name or a numpy dtype) through the CLI's parser, or ``default``."""
    if dtype is None:
        return default
    try:
        name = dtype if isinstance(dtype, str) else np.dtype(dtype).name
    except TypeError:
        name = str(dtype)
    return np.dtype(option(parse_dtype, "--dtype", name))


def validate(
    h: ArrayHandle,
    *,
    maxlen: int | str | None,
    padding: str,
    truncating: str,
    value: Any,
    dtype: npt.DTypeLike | None,
    histogram: Callable[[], kernels.LengthHistogram],
) -> tuple[int, np.dtype, Any]:
    """The maxlen, dtype and value ``pad`` will use, or the refusal; ``histogram`` is called
    (one pass over the lengths) only when the maxlen depends on the lengths."""
    if not h.ragged:
        raise RepairError(f"{h.source} is already dense, shape {format_shape(h.shape)}; pad takes variable-length "
                          "sequences (for padded data, `dsdoctor mask` computes the mask)")  # fmt: skip
    check_sides(padding=padding, truncating=truncating)
    wanted = None if maxlen is None else option(parse_maxlen, "--maxlen", maxlen)
    target = target_dtype(dtype, h.dtype)
    value = number(value)
    check_value(value, target)
    try:
        n_max = (
            wanted
            if isinstance(wanted, int)
            else kernels.resolve_maxlen_from_hist(histogram(), wanted)
        )
    except ValueError as exc:  # fmt: skip
        raise UsageError(f"--maxlen: {exc}") from None
    check_pad_row(h.source, n_max, h.inner_shape, target)
    return n_max, target, value


#: What pad says to do about a cast that changes values (bucket, which casts only for a
#: ``--for`` preset, says its own).
LOSSY_CAST_HINT = "pass --allow-lossy-cast if that is what you want"


def check_rows(
    r: Ragged,
    h: ArrayHandle,
    target: np.dtype,
    first_row: int,
    allow_lossy_cast: bool,
    hint: str = LOSSY_CAST_HINT,
) -> None:
    """The values of ``h``'s sequences ``first_row``… (``r``) may be padded as ``target``: no
    nulls read as integers (:func:`refuse_nan_as_integer`), no cast that changes a value unless
    allowed (else the error ends with ``hint``)."""
    refuse_nan_as_integer(r, target, h.source, first_row)
    window = r.window()
    if (
        target != window.dtype
        and not allow_lossy_cast
        and not kernels.lossless_cast(window, target)
    ):
        raise RepairError(f"casting {h.source} from {h.dtype} to {target} would change values; "
                          f"{hint}")  # fmt: skip


def pad(sequences: Any, *, maxlen: int | str | None = None, padding: str | None = None,
        truncating: str | None = None, value: float = 0, dtype: npt.DTypeLike | None = None,
        allow_lossy_cast: bool = False, for_: str | None = None, lengths: Any = None,
        offsets: Any = None) -> Padded:  # fmt: skip
    """Pad sequences in memory, like ``keras.utils.pad_sequences`` but with the mask and lengths
    and the source's dtype by default (``for_``: :data:`PRESETS`); refused exactly as
    :func:`pad_file` refuses. Pre-padded lengths do not fit ``pack_padded_sequence``."""
    h = sequences_handle(sequences, lengths=lengths, offsets=offsets)
    dtype, sides = apply_preset(for_, h.dtype, dtype=dtype, padding=padding, truncating=truncating)
    padding, truncating = sides["padding"], sides["truncating"]
    n, target, value = validate(h, maxlen=maxlen, padding=padding, truncating=truncating, value=value,
                                dtype=dtype, histogram=lambda: kernels.LengthHistogram.of(ragged(h.read()).lengths))  # fmt: skip
    r = ragged(h.read())
    check_rows(r, h, target, 0, allow_lossy_cast)
    return Padded(*kernels.pad_values(r.values, r.offsets, maxlen=n, padding=padding,
                                      truncating=truncating, value=value, dtype=target))  # fmt: skip


def length_histogram(h: ArrayHandle, chunk_bytes: int) -> kernels.LengthHistogram:
    offsets = getattr(h, "offsets", None)
    if offsets is not None:  # npz values + lengths: already in memory
        return kernels.LengthHistogram.of(np.diff(offsets))
    hist = kernels.LengthHistogram.empty()
    for chunk in h.chunks(chunk_bytes):
        hist = hist + kernels.LengthHistogram.of(ragged(chunk).lengths)
    return hist


def sequence_lengths(h: ArrayHandle, chunk_bytes: int) -> np.ndarray:
    """Every sequence's length (one pass, or none for npz values + lengths)."""
    offsets = getattr(h, "offsets", None)
    if offsets is not None:
        return np.diff(offsets)
    parts = [ragged(c).lengths for c in h.chunks(chunk_bytes)]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


#: The most bytes one padded row (its data and mask) may take. A row is padded in memory whole,
#: and the kernel holds about four times a row at its peak (measured: a 512 MiB row took 2.1 GB);
#: a longer maxlen is refused before anything is allocated, not met by an out-of-memory error.
PAD_ROW_BYTES = 256 * 1024**2


def check_pad_row(source: str, maxlen: int, inner: tuple[int, ...], dtype: np.dtype) -> None:
    row = maxlen * (math.prod(inner) * dtype.itemsize + 1)
    if row > PAD_ROW_BYTES:
        raise RepairError(
            f"padding {source} to {maxlen:,} timesteps makes rows of {row:,} bytes, more than "
            f"the {PAD_ROW_BYTES:,} a padded row may take; pad to a shorter --maxlen (e.g. p99) "
            "or split the longest sequences"
        )


def refuse_nan_as_integer(r: Ragged, dtype: np.dtype, source: str = "the data",
                          first_row: int | None = None) -> None:  # fmt: skip
    """A pad never casts NaN to an integer (numpy makes it an arbitrary number, 0 or -32768,
    that the mask then marks real). NaN in sequences read as integers are nulls in the file:
    RepairError naming the first sequence and timestep that holds one."""
    window = r.window()
    if dtype.kind not in "iub" or window.dtype.kind not in "fc" or not window.size:
        return
    nan = np.isnan(window.reshape(len(window), -1)).any(axis=1)
    if not nan.any():
        return
    step = int(np.argmax(nan))
    row = int(np.searchsorted(r.offsets, r.offsets[0] + step, side="right")) - 1
    where = (f"sequence {first_row + row:,}, timestep {step + r.offsets[0] - r.offsets[row]:,}"
             if first_row is not None else f"{int(nan.sum()):,} timestep(s)")  # fmt: skip
    raise RepairError(
        f"{source} holds null (missing) values ({where}); padding them as {dtype} would turn "
        "them into numbers the mask calls real. Fill or drop the nulls first, or pad to a float "
        "dtype (pad --dtype float32), where they stay NaN"
    )


def padded_windows(r: Ragged, *, maxlen: int, dtype: np.dtype, chunk_bytes: int, **options: Any
                   ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:  # fmt: skip
    """``kernels.pad_values`` over ``r``'s sequences a window at a time, each window's padded
    data, mask and lengths about ``chunk_bytes``: sequences far shorter than ``maxlen`` would
    otherwise pad a chunk of input into many chunks of output. The callers have validated the
    rows already (the padded row's size, :func:`check_pad_row`; no null read as an integer,
    :func:`refuse_nan_as_integer`), once per source and once per chunk."""
    row_bytes = maxlen * (math.prod(r.inner_shape) * dtype.itemsize + 1) + 8
    rows = max(1, chunk_bytes // max(1, row_bytes))
    for start in range(0, len(r), rows):
        yield kernels.pad_values(r.values, r.offsets[start : start + rows + 1], maxlen=maxlen,
                                 dtype=dtype, **options)  # fmt: skip


def pad_file(src: Any, out: str, *, maxlen: int | str | None = None, padding: str | None = None,
             truncating: str | None = None, value: float = 0, dtype: npt.DTypeLike | None = None,
             allow_lossy_cast: bool = False, mask: bool = True, lengths: bool = True,
             for_: str | None = None, force: bool = False, chunk_bytes: int = DEFAULT_CHUNK_BYTES,
             **source_options: Any) -> RepairResult:  # fmt: skip
    """Ragged → dense, written to ``out`` with the mask and lengths beside it (streamed);
    ``for_`` (keras, torch) sets the sides and the ids' dtype not given (:data:`PRESETS`)."""
    h = source_handle(src, **source_options)
    dtype, sides = apply_preset(for_, h.dtype, dtype=dtype, padding=padding, truncating=truncating)
    padding, truncating = sides["padding"], sides["truncating"]
    n_max, target, value = validate(h, maxlen=maxlen, padding=padding, truncating=truncating, value=value,
                                    dtype=dtype, histogram=lambda: length_histogram(h, chunk_bytes))  # fmt: skip
    n, inner = h.shape[0], h.inner_shape
    assert n is not None  # a ragged source knows its number of sequences
    specs: dict[str, tuple[tuple[int, ...], np.dtype]] = {"data": ((n, n_max, *inner), target)}
    if mask:
        specs["mask"] = ((n, n_max), np.dtype(bool))
    if lengths:
        specs["lengths"] = ((n,), np.dtype(np.int64))
    counts = {"collisions": 0, "truncated": 0, "padded": 0}

    def blocks() -> Iterator[dict[str, np.ndarray]]:
        rows_done = 0
        for part in h.chunks(chunk_bytes):
            chunk = ragged(part)
            check_rows(chunk, h, target, rows_done, allow_lossy_cast)
            rows_done += len(chunk)
            counts["collisions"] += kernels.count_value_timesteps(chunk.window(), value)
            counts["truncated"] += int(np.count_nonzero(chunk.lengths > n_max))
            counts["padded"] += int(np.count_nonzero(chunk.lengths < n_max))
            for data, m, ln in padded_windows(chunk, maxlen=n_max, dtype=target, chunk_bytes=chunk_bytes,
                                              padding=padding, truncating=truncating, value=value):  # fmt: skip
                block = {"data": data}
                if mask:
                    block["mask"] = m
                if lengths:
                    block["lengths"] = ln
                yield block

    options = {"maxlen": maxlen, "padding": padding, "truncating": truncating, "value": value,
               "dtype": str(target), "for": for_}  # fmt: skip
    outputs = write_blocks(
        out,
        specs,
        blocks(),
        main="data",
        force=force,
        inputs=input_paths(h),
        prov=provenance("pad", h.source, options),
        chunk_bytes=chunk_bytes,
    )
    done = result("pad", h, outputs, (n, n_max, *inner), target, maxlen=n_max, padding=padding,
                  truncating=truncating, truncated_sequences=counts["truncated"],
                  value_collisions=counts["collisions"], **({"for": for_} if for_ else {}))  # fmt: skip
    if lengths and padding == "pre" and counts["padded"] and for_ != "keras":
        done.warnings.append(pre_padded_lengths_warning("pad", counts["padded"]))
    if counts["collisions"]:
        done.warnings.append(padding_value_collision_warning(counts["collisions"], value))
    if counts["truncated"]:
        done.warnings.append(
            f"{counts['truncated']:,} sequences were longer than {n_max} and were truncated ({truncating})"
        )
    return done
