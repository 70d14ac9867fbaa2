"""``bucket``: split sequences into length buckets (tf.data semantics: boundaries 10,20 give
[0,10) [10,20) [20,∞)), each padded to its own maxlen. :func:`validate` is the one validation of
:func:`bucket` (in memory: a list of :class:`Bucket`) and :func:`bucket_file` (a folder of
``bucket_<k>.npz`` and ``buckets.json``; a folder named ``*.zarr`` is one Zarr store with a
group ``/bucket_<k>`` of arrays ``data``, ``data_mask``, ``data_lengths``, ``data_index`` per
bucket and the summary in the root's attribute ``dsdoctor_buckets``). ``for_``
(``--for keras|torch``) sets the padding side and the dtype of integer ids as for ``pad``
(:data:`~dsdoctor.repairs.pad.PRESETS`); without it, pre padding and the source's dtype."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import kernels
from ..arrays import Ragged
from ..errors import RepairError, UsageError
from ..sources import DEFAULT_CHUNK_BYTES, ArrayHandle
from ..units import format_shape, parse_count, parse_counts
from .base import (
    check_sides,
    check_value,
    exactly_one,
    number,
    option,
    ragged,
    result,
    source_handle,
)
from .pad import (
    apply_preset,
    check_pad_row,
    check_rows,
    padded_windows,
    padding_value_collision_warning,
    pre_padded_lengths_warning,
    sequence_lengths,
    sequences_handle,
    target_dtype,
)
from .result import RepairResult
from .write import input_paths, provenance

ONE_OF = "give exactly one of --boundaries B1,B2,… or --buckets K"
#: bucket casts only for a ``--for`` preset (keras: int32 ids): what to do when that changes ids.
CAST_HINT = "the ids do not fit the preset's dtype: use --for torch (int64), or no --for"


def validate(
    h: ArrayHandle,
    *,
    boundaries: str | Sequence[int] | None,
    buckets: int | None,
    pad_to_boundary: bool,
    padding: str,
    value: Any,
    lengths: Callable[[], np.ndarray],
    dtype: np.dtype | None = None,
) -> tuple[list[int], np.ndarray, kernels.LengthHistogram, Any]:
    """The boundaries, every sequence's length, their histogram and the padding value, or the
    refusal; ``lengths`` (one pass over the source) is called after the checks that need none.
    ``dtype``: what the buckets are written as (the source's, or what ``--for`` sets)."""
    if not h.ragged:
        raise RepairError(
            f"{h.source} is dense, shape {format_shape(h.shape)}; bucket takes variable-length sequences"
        )
    check_sides(padding=padding)
    value = number(value)
    dtype = h.dtype if dtype is None else dtype
    check_value(value, dtype, "choose another --value (bucket keeps the source's dtype, or "
                "the one --for sets)")  # fmt: skip
    k = None if buckets is None else option(parse_count, "--buckets", buckets, low=1)
    bounds: list[int] = []
    if boundaries is not None:
        text = boundaries if isinstance(boundaries, str) else ",".join(map(str, boundaries))
        bounds = option(parse_counts, "--boundaries", text, low=1)
        if any(b2 <= b1 for b1, b2 in itertools.pairwise(bounds)):
            raise UsageError(
                f"--boundaries must be positive and increasing, got {','.join(map(str, bounds))}"
            )
    every = lengths()
    hist = kernels.LengthHistogram.of(every)
    if k is not None:
        bounds = kernels.optimal_boundaries(hist, k)
    widest = max(hist.longest, bounds[-1] - 1 if pad_to_boundary and bounds else 0)
    check_pad_row(h.source, widest, h.inner_shape, dtype)  # before any folder is made
    return bounds, every, hist, value


@dataclass
class Bucket:
    """One length bucket: padded data, mask, lengths, and the original row numbers."""

    data: np.ndarray
    mask: np.ndarray
    lengths: np.ndarray
    index: np.ndarray


def bucket(sequences: Any, *, boundaries: str | Sequence[int] | None = None, buckets: int | None = None,
           pad_to_boundary: bool = False, padding: str | None = None, value: float = 0,
           for_: str | None = None, lengths: Any = None, offsets: Any = None) -> list[Bucket]:  # fmt: skip
    """Split sequences into length buckets in memory, each padded to its own maxlen (empty
    buckets included); refused exactly as :func:`bucket_file` refuses."""
    exactly_one(ONE_OF, boundaries, buckets)
    h = sequences_handle(sequences, lengths=lengths, offsets=offsets)
    dtype, padding = _preset(for_, h, padding)
    bounds, ln, _, value = validate(h, boundaries=boundaries, buckets=buckets, pad_to_boundary=pad_to_boundary,
                                    padding=padding, value=value, dtype=dtype,
                                    lengths=lambda: ragged(h.read()).lengths)  # fmt: skip
    r = ragged(h.read())
    check_rows(r, h, dtype, 0, False, CAST_HINT)
    which = kernels.assign_buckets(ln, bounds)
    out = []
    for k in range(len(bounds) + 1):
        rows = np.flatnonzero(which == k)
        hi = bounds[k] if k < len(bounds) else None
        maxlen = (hi - 1) if (pad_to_boundary and hi is not None) else int(ln[rows].max(initial=0))
        sub = _rows_of(r, rows)
        data, m, lens = kernels.pad_values(
            sub.values, sub.offsets, maxlen=maxlen, padding=padding, value=value, dtype=dtype
        )
        out.append(Bucket(data, m, lens, rows))
    return out


def bucket_file(src: Any, outdir: str, *, boundaries: str | Sequence[int] | None = None,
                buckets: int | None = None, pad_to_boundary: bool = False, padding: str | None = None,
                value: float = 0, for_: str | None = None, force: bool = False,
                chunk_bytes: int = DEFAULT_CHUNK_BYTES, **source_options: Any) -> RepairResult:  # fmt: skip
    """Split ``src``'s sequences into length buckets, each padded to its own maxlen, into ``outdir``.

    The folder is built whole under a temporary name beside ``outdir`` and renamed into place
    as one unit (:func:`~dsdoctor.sinks.atomic_folder`): ``bucket_<k>.npz`` archives and
    ``buckets.json`` appear together or not at all. With ``force`` an existing ``outdir`` is
    replaced as a whole, but only when it holds nothing but a previous bucket output."""
    from ..sinks import atomic_folder, write_text

    exactly_one(ONE_OF, boundaries, buckets)
    remote = _remote_store(outdir)  # (a folder of files at a URL: refused before any read)
    h = source_handle(src, **source_options)
    dtype, padding = _preset(for_, h, padding)
    bounds, lengths_all, hist, value = validate(
        h, boundaries=boundaries, buckets=buckets, pad_to_boundary=pad_to_boundary, padding=padding,
        value=value, dtype=dtype, lengths=lambda: sequence_lengths(h, chunk_bytes))  # fmt: skip
    folder = Path(outdir)
    store = folder.suffix.lower() == ".zarr"  # one Zarr store, a group per bucket
    edges: list[int | None] = [0, *bounds, None]
    which = kernels.assign_buckets(lengths_all, bounds)
    counts = np.bincount(which, minlength=len(bounds) + 1)
    longest = np.zeros(len(counts), dtype=np.int64)
    np.maximum.at(longest, which, lengths_all)
    summary: list[dict[str, Any]] = []
    for k, count in enumerate(counts.tolist()):
        lo, hi = edges[k], edges[k + 1]
        maxlen = (hi - 1) if (pad_to_boundary and hi is not None) else int(longest[k])
        name = f"bucket_{k}" if store else f"bucket_{k}.npz"
        summary.append({"bucket": k, "min_length": lo, "max_length": hi, "count": count,
                        "maxlen": maxlen if count else 0, "file": name if count else None})  # fmt: skip
    global_cost = kernels.padding_cost(hist, [])
    bucket_cost = kernels.padding_cost(hist, bounds, pad_to_boundary=pad_to_boundary)
    info = {"source": h.source, "boundaries": bounds, "padding": padding,
            **({"for": for_} if for_ else {}), "buckets": summary,
            "padding_global_maxlen": int(global_cost), "padding_bucketed": int(bucket_cost),
            "padding_saved": int(global_cost - bucket_cost), "global_maxlen": hist.longest}  # fmt: skip
    written = {**info, "dtype": str(dtype)}
    if store and remote is not None:  # built here, then uploaded (:func:`upload_store`)
        from ..sinks.remote import remote_output
        from ..sinks.zarr import atomic_store, upload_store

        with remote_output(
            remote, force=force, inputs=[src] if isinstance(src, str) else []
        ) as local:
            with atomic_store(local.path, force=False, command="bucket") as tmp:
                collisions = _write_buckets(h, tmp, summary, which, bounds, padding=padding, value=value,
                               dtype=dtype, chunk_bytes=chunk_bytes, store=local.path)  # fmt: skip
                _summary_attribute(tmp, written)
            upload_store(local.path, remote.path, force=force)
        outputs = [f"{remote.path.display}:/{s['file']}/data" for s in summary if s["file"]]
    elif store:
        from ..sinks.zarr import atomic_store

        with atomic_store(folder, force=force, inputs=input_paths(h), command="bucket") as tmp:
            collisions = _write_buckets(h, tmp, summary, which, bounds, padding=padding, value=value,
                           dtype=dtype, chunk_bytes=chunk_bytes, store=folder)  # fmt: skip
            _summary_attribute(tmp, written)
        outputs = [f"{folder}:/{s['file']}/data" for s in summary if s["file"]]
    else:
        with atomic_folder(folder, force=force, inputs=input_paths(h),
                           replaceable=lambda name: BUCKET_FILES.fullmatch(name) is not None,
                           command="bucket") as tmp:  # fmt: skip
            collisions = _write_buckets(h, tmp, summary, which, bounds, padding=padding, value=value,
                           dtype=dtype, chunk_bytes=chunk_bytes)  # fmt: skip
            write_text(tmp / "buckets.json", json.dumps(written, indent=2) + "\n", force=False)
        outputs = [str(folder / s["file"]) for s in summary if s["file"]] + [
            str(folder / "buckets.json")
        ]
    done = result("bucket", h, outputs, (h.shape[0], None, *h.inner_shape), dtype, **info)
    padded = int(np.count_nonzero(lengths_all < np.array([s["maxlen"] for s in summary])[which]))
    if padding == "pre" and padded and for_ != "keras":
        done.warnings.append(pre_padded_lengths_warning("bucket", padded))
    if collisions:
        done.warnings.append(padding_value_collision_warning(collisions, value))
    return done


def _remote_store(outdir: str) -> Any:
    """The destination of a Zarr store at a URL (``-o s3://b/buckets.zarr``), None for a local
    output; a folder of ``.npz`` files at a URL is refused before anything is read (a folder is
    many objects: only a Zarr store is uploaded in an order that never shows half of it)."""
    from ..locations import is_url

    if not is_url(str(outdir)):
        return None
    from ..errors import OutputError
    from ..sinks.destination import parse_destination

    if not str(outdir).rstrip("/").lower().endswith(".zarr"):
        raise OutputError(
            f"{outdir}: bucket writes a folder of files, which is not written at a URL; name a "
            "Zarr store (-o s3://bucket/buckets.zarr), or write the folder locally and upload it"
        )
    return parse_destination(str(outdir).rstrip("/"))


def _preset(for_: str | None, h: ArrayHandle, padding: str | None) -> tuple[np.dtype, str]:
    """The dtype and padding side ``for_`` sets where ``padding`` is not given."""
    dtype, sides = apply_preset(for_, h.dtype, dtype=None, padding=padding)
    return target_dtype(dtype, h.dtype), sides["padding"]


#: What a bucket folder holds, so ``--force`` may replace it: the archives, the summary, and the
#: temporaries of a write that was killed.
BUCKET_FILES = re.compile(r"bucket_[0-9]+\.npz|buckets\.json|\..+\.dsdoctor-tmp-[0-9a-f]+")


def _write_buckets(h: ArrayHandle, folder: Path, summary: list[dict[str, Any]], which: np.ndarray,
                   bounds: list[int], *, padding: str, value: Any, dtype: np.dtype,
                   chunk_bytes: int, store: Path | None = None) -> int:  # fmt: skip
    """Every non-empty bucket's ``bucket_<k>.npz`` (with ``store``: the arrays of group
    ``/bucket_<k>`` of the Zarr store being built in ``folder``) in one streaming pass over the
    source: each chunk's sequences are split by bucket, padded and appended to that bucket's
    output. Returns the number of real timesteps equal to the padding ``value`` (as ``pad``
    counts them)."""
    from contextlib import ExitStack

    with ExitStack() as stack:
        writers = {}
        for b in summary:
            if b["file"]:
                n, t = b["count"], b["maxlen"]
                specs = {"data": ((n, t, *h.inner_shape), dtype), "mask": ((n, t), np.dtype(bool)),
                         "lengths": ((n,), np.dtype(np.int64)), "index": ((n,), np.dtype(np.int64))}  # fmt: skip
                prov = provenance("bucket", h.source, {"bucket": b["bucket"], "boundaries": bounds,
                                                       "padding": padding, "dtype": str(dtype)})  # fmt: skip
                writers[b["bucket"]] = stack.enter_context(
                    _bucket_writer(folder, store, b["file"], specs, prov)
                )
        start = collisions = 0
        for part in h.chunks(chunk_bytes):
            chunk = ragged(part)
            check_rows(chunk, h, dtype, start, False, CAST_HINT)  # nulls as ids, a lossy --for cast
            collisions += kernels.count_value_timesteps(chunk.window(), value)
            here = which[start : start + len(chunk)]
            order = np.argsort(here, kind="stable")
            cuts = np.searchsorted(here[order], np.arange(len(summary) + 1))
            for k, writer in writers.items():
                rows = order[cuts[k] : cuts[k + 1]]
                if not len(rows):
                    continue
                windows = padded_windows(_rows_of(chunk, rows), maxlen=summary[k]["maxlen"], dtype=dtype,
                                         chunk_bytes=chunk_bytes, padding=padding, value=value)  # fmt: skip
                done = 0
                for data, m, ln in windows:
                    index = rows[done : done + len(ln)] + start
                    writer.write({"data": data, "mask": m, "lengths": ln, "index": index})
                    done += len(ln)
            start += len(chunk)
    return collisions


def _bucket_writer(folder: Path, store: Path | None, name: str, specs: dict, prov: dict) -> Any:
    """A bucket's writer: its own ``.npz`` in ``folder``, or its group of the Zarr store."""
    from ..sinks import stream_arrays

    if store is None:
        return stream_arrays(folder / name, specs, main="data", force=False, provenance=prov)
    from ..sinks import parse_destination
    from ..sinks.provenance import provenance_record
    from ..sinks.zarr import group_writer

    dest = parse_destination(f"{store}:/{name}/data")
    return group_writer(folder, dest, specs, "data", provenance_record(prov), compression=None)


def _summary_attribute(folder: Path, written: dict[str, Any]) -> None:
    """What ``buckets.json`` holds, as the attribute ``dsdoctor_buckets`` of the store's root."""
    from ..sinks.zarr import root_attributes

    root_attributes(folder, {"dsdoctor_buckets": json.dumps(written)})


def _rows_of(r: Ragged, rows: np.ndarray) -> Ragged:
    """The sequences ``rows`` of ``r``, in that order, as a new ragged array (vectorised)."""
    starts, lengths = r.offsets[rows], r.lengths[rows]
    shift = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    return Ragged.from_lengths(
        r.values[shift + np.arange(int(lengths.sum()), dtype=np.int64)], lengths
    )
