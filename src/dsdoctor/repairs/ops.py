"""The repairs, file to file: pad, mask, replicate, reshape, select, bucket.

Each takes a source (``PATH[:SELECTOR]``, a handle, or in-memory data), validates that the
repair makes sense for it (a :class:`~dsdoctor.errors.RepairError` with the reason otherwise),
and streams the result to ``out`` through :func:`~dsdoctor.repairs.write.write_blocks`.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import kernels
from ..arrays import Ragged
from ..errors import RepairError, ShapeError, UsageError
from ..sources import DEFAULT_CHUNK_BYTES, ArrayHandle
from ..units import MAX_COUNT, format_shape, parse_counts, parse_shape
from .result import RepairResult
from .write import input_paths, provenance, write_blocks


def _handle(src, **source_options) -> ArrayHandle:
    if isinstance(src, ArrayHandle):
        h = src
    else:
        from ..sources import open_array

        h = open_array(src, **source_options)
    h.require_readable()
    return h


def _dense(h: ArrayHandle, op: str) -> None:
    if h.ragged:
        raise RepairError(
            f"{h.source} holds variable-length sequences; {op} needs a dense array — pad it first"
        )
    if not h.shape:
        raise RepairError(
            f"{h.source} is a single value (a 0-d array), not samples; {op} needs a first axis"
        )


def _result(op: str, h: ArrayHandle, outputs: list[str], shape, dtype, **details) -> RepairResult:
    return RepairResult(op, h.source, outputs, list(shape), str(np.dtype(dtype)), details)


# -- pad ----------------------------------------------------------------------------------------
@dataclass
class Padded:
    """Dense sequences: ``data`` (N, maxlen, …), ``mask`` (N, maxlen) True on real timesteps, and
    ``lengths`` (N,) = min(len, maxlen), what ``pack_padded_sequence`` takes."""

    data: np.ndarray
    mask: np.ndarray
    lengths: np.ndarray

    def __iter__(self):
        return iter((self.data, self.mask, self.lengths))


def as_ragged(sequences, *, lengths=None, offsets=None) -> Ragged:
    """A list of arrays, flat values with lengths or offsets, a pyarrow ListArray, or Ragged."""
    if lengths is not None and offsets is not None:
        raise UsageError("give lengths or offsets, not both")
    if lengths is not None:
        return Ragged.from_lengths(np.asarray(sequences), lengths)
    if offsets is not None:
        return Ragged(np.asarray(sequences), offsets)
    from ..sources.memory import to_data

    data = to_data(sequences)
    if isinstance(data, Ragged):
        return data
    if isinstance(sequences, list | tuple):  # equal lengths: still sequences
        return Ragged.from_sequences(sequences)
    raise RepairError(
        f"pad takes variable-length sequences; got a dense array of shape {data.shape}"
    )


def pad(sequences, *, maxlen: int | str | None = None, padding: str = "pre", truncating: str = "pre",
        value: float = 0, dtype=None, lengths=None, offsets=None) -> Padded:  # fmt: skip
    """Pad sequences in memory, like ``keras.utils.pad_sequences`` but with the mask and lengths
    and the source's dtype by default."""
    r = as_ragged(sequences, lengths=lengths, offsets=offsets)
    n = kernels.resolve_maxlen(r.lengths, maxlen)
    target = np.dtype(dtype) if dtype is not None else r.dtype
    _check_value(value, target)
    return Padded(*kernels.pad_values(r.values, r.offsets, maxlen=n, padding=padding,
                                      truncating=truncating, value=value, dtype=target))  # fmt: skip


def _check_sides(**sides: str) -> None:
    for name, side in sides.items():
        if side not in ("pre", "post"):
            raise UsageError(f"--{name} must be pre or post, got {side!r}")


def _check_value(value, dtype: np.dtype, fix: str = "choose another --value or --dtype") -> None:
    try:
        with np.errstate(invalid="ignore", over="ignore"):  # NaN → int64 is the refusal below
            ok = np.array(value).astype(dtype) == value or (np.isnan(value) and dtype.kind == "f")
    except (ValueError, OverflowError, TypeError):
        ok = False
    if not ok:
        raise RepairError(f"the padding value {value} cannot be stored as {dtype}; {fix}")


def length_histogram(h: ArrayHandle, chunk_bytes: int) -> kernels.LengthHistogram:
    offsets = getattr(h, "offsets", None)
    if offsets is not None:  # npz values + lengths: already in memory
        return kernels.LengthHistogram.of(np.diff(offsets))
    hist = kernels.LengthHistogram.empty()
    for chunk in h.chunks(chunk_bytes):
        hist = hist + kernels.LengthHistogram.of(chunk.lengths)
    return hist


def sequence_lengths(h: ArrayHandle, chunk_bytes: int) -> np.ndarray:
    """Every sequence's length (one pass, or none for npz values + lengths)."""
    offsets = getattr(h, "offsets", None)
    if offsets is not None:
        return np.diff(offsets)
    parts = [c.lengths for c in h.chunks(chunk_bytes)]
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


def padded_windows(r: Ragged, *, maxlen: int, dtype: np.dtype, chunk_bytes: int, **options
                   ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:  # fmt: skip
    """``kernels.pad_values`` over ``r``'s sequences a window at a time, each window's padded
    data, mask and lengths about ``chunk_bytes``: sequences far shorter than ``maxlen`` would
    otherwise pad a chunk of input into many chunks of output."""
    check_pad_row("the data", maxlen, r.inner_shape, dtype)
    refuse_nan_as_integer(r, dtype)
    row_bytes = maxlen * (math.prod(r.inner_shape) * dtype.itemsize + 1) + 8
    rows = max(1, chunk_bytes // max(1, row_bytes))
    for start in range(0, len(r), rows):
        yield kernels.pad_values(r.values, r.offsets[start : start + rows + 1], maxlen=maxlen,
                                 dtype=dtype, **options)  # fmt: skip


def pad_file(src, out: str, *, maxlen: int | str | None = None, padding: str = "pre",
             truncating: str = "pre", value: float = 0, dtype=None, allow_lossy_cast: bool = False,
             mask: bool = True, lengths: bool = True, force: bool = False,
             chunk_bytes: int = DEFAULT_CHUNK_BYTES, **source_options) -> RepairResult:  # fmt: skip
    """Ragged → dense, written to ``out`` with the mask and lengths beside it (streamed)."""
    h = _handle(src, **source_options)
    if not h.ragged:
        raise RepairError(f"{h.source} is already dense, shape {format_shape(h.shape)}; pad takes variable-length "
                          "sequences (for padded data, `dsdoctor mask` computes the mask)")  # fmt: skip
    _check_sides(padding=padding, truncating=truncating)
    try:
        if isinstance(maxlen, int) and maxlen >= 0:
            n_max = maxlen  # no need for a pass over the lengths
        else:
            n_max = kernels.resolve_maxlen_from_hist(length_histogram(h, chunk_bytes), maxlen)
    except ValueError as exc:
        raise UsageError(f"--maxlen: {exc}") from None
    target = np.dtype(dtype) if dtype is not None else h.dtype
    _check_value(value, target)
    n, inner = h.shape[0], h.inner_shape
    check_pad_row(h.source, n_max, inner, target)
    specs = {"data": ((n, n_max, *inner), target)}
    if mask:
        specs["mask"] = ((n, n_max), np.dtype(bool))
    if lengths:
        specs["lengths"] = ((n,), np.dtype(np.int64))
    counts = {"collisions": 0, "truncated": 0}

    def blocks() -> Iterator[dict]:
        rows_done = 0
        for chunk in h.chunks(chunk_bytes):
            refuse_nan_as_integer(chunk, target, h.source, rows_done)
            rows_done += len(chunk)
            window = chunk.values[chunk.offsets[0] : chunk.offsets[-1]]
            if (
                target != window.dtype
                and not allow_lossy_cast
                and not kernels.lossless_cast(window, target)
            ):
                raise RepairError(f"casting {h.source} from {h.dtype} to {target} would change values; "
                                  "pass --allow-lossy-cast if that is what you want")  # fmt: skip
            counts["collisions"] += kernels.count_value_timesteps(window, value)
            counts["truncated"] += int(np.count_nonzero(chunk.lengths > n_max))
            for data, m, ln in padded_windows(chunk, maxlen=n_max, dtype=target, chunk_bytes=chunk_bytes,
                                              padding=padding, truncating=truncating, value=value):  # fmt: skip
                block = {"data": data}
                if mask:
                    block["mask"] = m
                if lengths:
                    block["lengths"] = ln
                yield block

    options = {"maxlen": maxlen, "padding": padding, "truncating": truncating, "value": value,
               "dtype": str(target)}  # fmt: skip
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
    result = _result("pad", h, outputs, (n, n_max, *inner), target, maxlen=n_max,
                     truncated_sequences=counts["truncated"], value_collisions=counts["collisions"])  # fmt: skip
    if counts["collisions"]:
        result.warnings.append(
            f"{counts['collisions']:,} real timesteps equal the padding value {value}: use the mask written "
            f"beside the data, not a mask computed from {value} (or pad with --value set to a value the data never takes)"
        )
    if counts["truncated"]:
        result.warnings.append(
            f"{counts['truncated']:,} sequences were longer than {n_max} and were truncated ({truncating})"
        )
    return result


# -- mask ----------------------------------------------------------------------------------------
def mask_file(src, out: str, *, value: float = 0, force: bool = False,
              chunk_bytes: int = DEFAULT_CHUNK_BYTES, **source_options) -> RepairResult:  # fmt: skip
    """The boolean mask of real timesteps of already padded (N, T[, F]) data (Keras Masking)."""
    h = _handle(src, **source_options)
    _dense(h, "mask")
    if h.ndim < 2:
        raise RepairError(
            f"{h.source} has shape {format_shape(h.shape)}; mask needs (N, T) or (N, T, F) padded sequences"
        )
    n, t = h.shape[:2]
    real = {"count": 0}

    def blocks():
        for chunk in h.chunks(chunk_bytes):
            m = kernels.mask_padded(chunk, value)
            real["count"] += int(np.count_nonzero(m))
            yield {"mask": m}

    outputs = write_blocks(out, {"mask": ((n, t), np.dtype(bool))}, blocks(), main="mask", force=force, inputs=input_paths(h),
                           prov=provenance("mask", h.source, {"value": value}), chunk_bytes=chunk_bytes)  # fmt: skip
    return _result("mask", h, outputs, (n, t), bool, value=value, real_timesteps=real["count"],
                   padding_timesteps=n * t - real["count"])  # fmt: skip


# -- replicate ----------------------------------------------------------------------------------------
def replicate_file(src, out: str, *, to: int | None = None, like=None, each: int | None = None,
                   force: bool = False, chunk_bytes: int = DEFAULT_CHUNK_BYTES, **source_options) -> RepairResult:  # fmt: skip
    """Broadcast a single sample to N (``to``/``like``) or repeat each sample K times (``each``)."""
    if sum(v is not None for v in (to, like, each)) != 1:
        raise UsageError("give exactly one of --to N, --like SRC or --each K")
    h = _handle(src, **source_options)
    _dense(h, "replicate")
    m, rest = h.shape[0], h.shape[1:]
    inputs = input_paths(h)
    if like is not None:
        like_h = _handle(like, **source_options)
        to, inputs = like_h.n, [*inputs, *input_paths(like_h)]
        if to is None:
            raise RepairError("--like names a 0-d array; it has no samples to match")
    if each is not None:
        if each < 1:
            raise UsageError(f"--each must be at least 1, got {each}")
        total = m * each
        blocks = (
            {"data": np.repeat(c, each, axis=0)} for c in h.chunks(max(1, chunk_bytes // each))
        )
    else:
        if to < 1:
            raise UsageError(f"--to must be at least 1, got {to}")
        if m == to:
            raise RepairError(f"{h.source} already has {m} samples; nothing to replicate")
        if m != 1:
            why = (f"{to} = {to // m} × {m}: if each sample stands for {to // m}, use --each {to // m}"
                   if m and to % m == 0 else f"{to} is not a multiple of {m}, so no replication fits")  # fmt: skip
            raise RepairError(
                f"{h.source} has {m} samples; --to broadcasts a single sample ({why})"
            )
        total = to
        row = h.read()
        rows = h.rows_per_chunk(chunk_bytes)
        blocks = (
            {"data": np.broadcast_to(row, (min(rows, to - s), *rest))} for s in range(0, to, rows)
        )
    outputs = write_blocks(out, {"data": ((total, *rest), h.dtype)}, blocks, main="data", force=force, inputs=inputs,
                           prov=provenance("replicate", h.source, {"to": to, "each": each}), chunk_bytes=chunk_bytes)  # fmt: skip
    return _result(
        "replicate", h, outputs, (total, *rest), h.dtype, samples_before=m, samples_after=total
    )


# -- reshape ----------------------------------------------------------------------------------------
def reshaped_sample_shape(
    h: ArrayHandle, shape=None, add_axis: str | None = None
) -> tuple[int, ...]:
    have = tuple(h.shape[1:])
    if (shape is None) == (add_axis is None):
        raise UsageError("give exactly one of --shape SHAPE or --add-axis time|features")
    if add_axis is not None:
        if add_axis == "time":
            return (1, *have)
        if add_axis == "features":
            return (*have, 1)
        raise UsageError(f"--add-axis must be time or features, got {add_axis!r}")
    dims = parse_shape(shape, batch="keep") if isinstance(shape, str) else tuple(shape)
    if not dims or dims[0] not in (None, -1, h.shape[0]):
        raise ShapeError(f"{format_shape(dims)} must start with the sample axis (None or {h.shape[0]}); "
                         f'write it like "(None, 28, 28)"')  # fmt: skip
    want = [None if d in (None, -1) else d for d in dims[1:]]
    total = math.prod(have)
    if want.count(None) > 1:
        raise ShapeError(
            f"{format_shape(dims)} leaves {want.count(None)} sizes open; at most one can be None"
        )
    known = math.prod(d for d in want if d is not None)
    if None in want:
        if known == 0 or total % known:
            raise ShapeError(f"cannot reshape samples of {format_shape(have)} ({total} elements) into "
                             f"{format_shape(tuple(want))}: {total} is not a multiple of {known}")  # fmt: skip
        want[want.index(None)] = total // known
    elif known != total:
        raise ShapeError(f"cannot reshape samples of {format_shape(have)} ({total} elements) into "
                         f"{format_shape(tuple(want))} ({known} elements)")  # fmt: skip
    return tuple(want)


def reshape_file(src, out: str, *, shape=None, add_axis: str | None = None, force: bool = False,
                 chunk_bytes: int = DEFAULT_CHUNK_BYTES, **source_options) -> RepairResult:  # fmt: skip
    """Element-preserving reshape of every sample, e.g. (100, 784) → (100, 28, 28)."""
    h = _handle(src, **source_options)
    _dense(h, "reshape")
    new = reshaped_sample_shape(h, shape, add_axis)
    n = h.shape[0]
    blocks = ({"data": c.reshape((len(c), *new))} for c in h.chunks(chunk_bytes))
    outputs = write_blocks(out, {"data": ((n, *new), h.dtype)}, blocks, main="data", force=force, inputs=input_paths(h),
                           prov=provenance("reshape", h.source, {"shape": shape, "add_axis": add_axis}),
                           chunk_bytes=chunk_bytes)  # fmt: skip
    return _result("reshape", h, outputs, (n, *new), h.dtype, before=list(h.shape))


# -- select ----------------------------------------------------------------------------------------
def selected_features(
    h: ArrayHandle, features=None, columns=None, first: int | None = None
) -> list[int]:
    if sum(v is not None for v in (features, columns, first)) != 1:
        raise UsageError("give exactly one of --features i,j, --columns a,b or --first K")
    if h.ndim < 2:
        raise RepairError(
            f"{h.source} has shape {format_shape(h.shape)}: no feature axis to select from"
        )
    width = h.shape[-1]
    if first is not None:
        if not 1 <= first <= width:
            raise RepairError(f"--first {first}: {h.source} has {width} features")
        return list(range(first))
    if columns is not None:
        names = [c.strip() for c in (columns.split(",") if isinstance(columns, str) else columns)]
        have = h.layout.get("columns") if h.format in ("csv", "parquet") else None
        if not have or len(have) != width:
            raise RepairError(
                f"--columns needs a table source whose columns are the features; {h.source} is not one (use --features)"
            )
        missing = [c for c in names if c not in have]
        if missing:
            raise RepairError(f"{h.source} has no column {missing[0]!r}; it has: {', '.join(have)}")
        return [have.index(c) for c in names]
    idx = parse_counts(features, low=-MAX_COUNT) if isinstance(features, str) else list(features)
    bad = [i for i in idx if not -width <= i < width]
    if bad:
        raise RepairError(
            f"feature {bad[0]} does not exist: {h.source} has {width} features (0–{width - 1})"
        )
    return [i % width for i in idx]


def select_file(src, out: str, *, features=None, columns=None, first: int | None = None, force: bool = False,
                chunk_bytes: int = DEFAULT_CHUNK_BYTES, **source_options) -> RepairResult:  # fmt: skip
    """Keep some features (last axis) to match a model's input width."""
    h = _handle(src, **source_options)
    _dense(h, "select")
    keep = selected_features(h, features, columns, first)
    shape = (*h.shape[:-1], len(keep))
    blocks = ({"data": c[..., keep]} for c in h.chunks(chunk_bytes))
    outputs = write_blocks(out, {"data": (shape, h.dtype)}, blocks, main="data", force=force, inputs=input_paths(h),
                           prov=provenance("select", h.source, {"features": keep}), chunk_bytes=chunk_bytes)  # fmt: skip
    return _result("select", h, outputs, shape, h.dtype, features=keep)


# -- bucket ----------------------------------------------------------------------------------------
def bucket_file(src, outdir: str, *, boundaries=None, buckets: int | None = None, pad_to_boundary: bool = False,
                padding: str = "pre", value: float = 0, force: bool = False,
                chunk_bytes: int = DEFAULT_CHUNK_BYTES, **source_options) -> RepairResult:  # fmt: skip
    """Split sequences into length buckets, each padded to its own maxlen, into ``outdir``.

    The folder is built whole under a temporary name beside ``outdir`` and renamed into place
    as one unit (:func:`~dsdoctor.sinks.atomic_folder`): ``bucket_<k>.npz`` archives and
    ``buckets.json`` appear together or not at all. With ``force`` an existing ``outdir`` is
    replaced as a whole, but only when it holds nothing but a previous bucket output."""
    from ..sinks import atomic_folder, write_text

    if (boundaries is None) == (buckets is None):
        raise UsageError("give exactly one of --boundaries B1,B2,… or --buckets K")
    h = _handle(src, **source_options)
    if not h.ragged:
        raise RepairError(
            f"{h.source} is dense, shape {format_shape(h.shape)}; bucket takes variable-length sequences"
        )
    _check_sides(padding=padding)
    _check_value(value, h.dtype, "choose another --value (bucket keeps the source's dtype)")
    folder = Path(outdir)
    lengths_all = sequence_lengths(h, chunk_bytes)
    hist = kernels.LengthHistogram.of(lengths_all)
    if buckets is not None:
        if buckets < 1:
            raise UsageError(f"--buckets must be at least 1, got {buckets}")
        bounds = kernels.optimal_boundaries(hist, buckets)
    else:
        bounds = parse_counts(boundaries) if isinstance(boundaries, str) else list(boundaries)
        if any(b <= 0 for b in bounds) or any(b2 <= b1 for b1, b2 in itertools.pairwise(bounds)):
            raise UsageError(
                f"--boundaries must be positive and increasing, got {','.join(map(str, bounds))}"
            )
    widest = max(hist.longest, bounds[-1] - 1 if pad_to_boundary and bounds else 0)
    check_pad_row(h.source, widest, h.inner_shape, h.dtype)  # before any folder is made
    edges = [0, *bounds, None]
    which = kernels.assign_buckets(lengths_all, bounds)
    counts = np.bincount(which, minlength=len(bounds) + 1)
    longest = np.zeros(len(counts), dtype=np.int64)
    np.maximum.at(longest, which, lengths_all)
    summary = []
    for k, count in enumerate(counts.tolist()):
        lo, hi = edges[k], edges[k + 1]
        maxlen = (hi - 1) if (pad_to_boundary and hi is not None) else int(longest[k])
        summary.append({"bucket": k, "min_length": lo, "max_length": hi, "count": count,
                        "maxlen": maxlen if count else 0,
                        "file": f"bucket_{k}.npz" if count else None})  # fmt: skip
    global_cost = kernels.padding_cost(hist, [])
    bucket_cost = kernels.padding_cost(hist, bounds, pad_to_boundary=pad_to_boundary)
    info = {"source": h.source, "boundaries": bounds, "buckets": summary,
            "padding_global_maxlen": int(global_cost), "padding_bucketed": int(bucket_cost),
            "padding_saved": int(global_cost - bucket_cost), "global_maxlen": hist.longest}  # fmt: skip
    with atomic_folder(folder, force=force, inputs=input_paths(h),
                       replaceable=lambda name: BUCKET_FILES.fullmatch(name) is not None,
                       command="bucket") as tmp:  # fmt: skip
        _write_buckets(h, tmp, summary, which, bounds, padding=padding, value=value,
                       chunk_bytes=chunk_bytes)  # fmt: skip
        write_text(tmp / "buckets.json", json.dumps(info, indent=2) + "\n", force=False)
    outputs = [str(folder / s["file"]) for s in summary if s["file"]] + [
        str(folder / "buckets.json")
    ]
    result = _result("bucket", h, outputs, (h.shape[0], None, *h.inner_shape), h.dtype, **info)
    return result


#: What a bucket folder holds, so ``--force`` may replace it: the archives, the summary, and the
#: temporaries of a write that was killed.
BUCKET_FILES = re.compile(r"bucket_[0-9]+\.npz|buckets\.json|\..+\.dsdoctor-tmp-[0-9a-f]+")


def _write_buckets(h: ArrayHandle, folder: Path, summary: list[dict], which: np.ndarray,
                   bounds: list[int], *, padding: str, value: float, chunk_bytes: int) -> None:  # fmt: skip
    """Every non-empty bucket's ``bucket_<k>.npz`` in one streaming pass over the source: each
    chunk's sequences are split by bucket, padded and appended to that bucket's archive."""
    from contextlib import ExitStack

    from ..sinks import stream_arrays

    with ExitStack() as stack:
        writers = {}
        for b in summary:
            if b["file"]:
                n, t = b["count"], b["maxlen"]
                specs = {"data": ((n, t, *h.inner_shape), h.dtype), "mask": ((n, t), np.dtype(bool)),
                         "lengths": ((n,), np.dtype(np.int64)), "index": ((n,), np.dtype(np.int64))}  # fmt: skip
                prov = provenance("bucket", h.source, {"bucket": b["bucket"], "boundaries": bounds})
                writers[b["bucket"]] = stack.enter_context(
                    stream_arrays(
                        folder / b["file"], specs, main="data", force=False, provenance=prov
                    )
                )
        start = 0
        for chunk in h.chunks(chunk_bytes):
            here = which[start : start + len(chunk)]
            order = np.argsort(here, kind="stable")
            cuts = np.searchsorted(here[order], np.arange(len(summary) + 1))
            for k, writer in writers.items():
                rows = order[cuts[k] : cuts[k + 1]]
                if not len(rows):
                    continue
                windows = padded_windows(_rows_of(chunk, rows), maxlen=summary[k]["maxlen"], dtype=h.dtype,
                                         chunk_bytes=chunk_bytes, padding=padding, value=value)  # fmt: skip
                done = 0
                for data, m, ln in windows:
                    index = rows[done : done + len(ln)] + start
                    writer.write({"data": data, "mask": m, "lengths": ln, "index": index})
                    done += len(ln)
            start += len(chunk)


def _rows_of(r: Ragged, rows: np.ndarray) -> Ragged:
    """The sequences ``rows`` of ``r``, in that order, as a new ragged array (vectorised)."""
    starts, lengths = r.offsets[rows], r.lengths[rows]
    shift = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    return Ragged.from_lengths(
        r.values[shift + np.arange(int(lengths.sum()), dtype=np.int64)], lengths
    )


# -- the same repairs on in-memory arrays (the Python API) ------------------------------------------
def _memory(arr, name: str = "array") -> ArrayHandle:
    from ..sources.memory import as_handle

    return as_handle(arr, name)


def mask(data, *, value: float = 0) -> np.ndarray:
    """The (N, T) boolean mask of real timesteps of padded data, as Keras ``Masking`` decides."""
    h = _memory(data)
    _dense(h, "mask")
    if h.ndim < 2:
        raise RepairError(
            f"data of shape {format_shape(h.shape)} has no time axis; mask needs (N, T) or (N, T, F)"
        )
    return kernels.mask_padded(h.read(), value)


def replicate(data, *, to: int | None = None, like=None, each: int | None = None) -> np.ndarray:
    """``replicate`` in memory: a single sample broadcast to ``to`` (or ``len(like)``) samples, or
    each sample repeated ``each`` times; anything else is refused with the reason."""
    if like is not None:
        to, like = len(like), None
    h = _memory(data)
    _dense(h, "replicate")
    arr = h.read()
    if each is not None and to is None:
        if each < 1:
            raise UsageError(f"each must be at least 1, got {each}")
        return np.repeat(arr, each, axis=0)
    if to is None or each is not None:
        raise UsageError("give exactly one of to=, like= or each=")
    m = len(arr)
    if m != 1:
        why = f"use each={to // m}" if m and to % m == 0 else f"{to} is not a multiple of {m}"
        raise RepairError(f"the array has {m} samples; to= broadcasts a single sample ({why})")
    return np.repeat(arr, to, axis=0)


def reshape(data, *, shape=None, add_axis: str | None = None) -> np.ndarray:
    """Element-preserving reshape of every sample (``shape`` starts with the sample axis)."""
    h = _memory(data)
    _dense(h, "reshape")
    arr = h.read()
    return arr.reshape((len(arr), *reshaped_sample_shape(h, shape, add_axis)))


def select(data, *, features=None, first: int | None = None) -> np.ndarray:
    """Keep some features (last axis)."""
    h = _memory(data)
    _dense(h, "select")
    return h.read()[..., selected_features(h, features, None, first)]


@dataclass
class Bucket:
    """One length bucket: padded data, mask, lengths, and the original row numbers."""

    data: np.ndarray
    mask: np.ndarray
    lengths: np.ndarray
    index: np.ndarray


def bucket(sequences, *, boundaries=None, buckets: int | None = None, pad_to_boundary: bool = False,
           padding: str = "pre", value: float = 0, lengths=None, offsets=None) -> list[Bucket]:  # fmt: skip
    """Split sequences into length buckets (tf.data semantics), each padded to its own maxlen."""
    if (boundaries is None) == (buckets is None):
        raise UsageError("give exactly one of boundaries= or buckets=")
    r = as_ragged(sequences, lengths=lengths, offsets=offsets)
    _check_value(value, r.dtype, "choose another value (bucket keeps the dtype)")
    ln = r.lengths
    bounds = (kernels.optimal_boundaries(kernels.LengthHistogram.of(ln), buckets) if buckets is not None
              else [int(b) for b in boundaries])  # fmt: skip
    which = kernels.assign_buckets(ln, bounds)
    out = []
    for k in range(len(bounds) + 1):
        rows = np.flatnonzero(which == k)
        hi = bounds[k] if k < len(bounds) else None
        maxlen = (hi - 1) if (pad_to_boundary and hi is not None) else int(ln[rows].max(initial=0))
        sub = _rows_of(r, rows)
        data, m, lens = kernels.pad_values(
            sub.values, sub.offsets, maxlen=maxlen, padding=padding, value=value
        )
        out.append(Bucket(data, m, lens, rows))
    return out
