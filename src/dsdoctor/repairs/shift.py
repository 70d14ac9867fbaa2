"""``shift``: integer token ids + K (default 1), so that ids 0 … K-1 are free and 0 can mean
padding (Keras ``Embedding(mask_zero=True)``, PyTorch ``nn.Embedding(padding_idx=0)``). The
vocabulary grows by K; the new size is in the result, the printed output and the provenance.

Which positions are padding, and stay padding (written as 0):

- ragged sequences (a Parquet ``list<int>`` column, npz values + ``NAME_lengths``, an HDF5
  variable-length dataset): none — every element is a real id;
- dense data with a mask (``--mask SRC``, or the mask ``pad`` wrote beside it, found by its name:
  :mod:`dsdoctor.sources.siblings`): the positions where the mask is False, whatever value they
  held (0, -1, …), become 0; the mask is written beside the output;
- dense data with lengths (``--lengths SRC`` and ``--padding pre|post``, the side it was padded
  on, pre by default as ``pad``'s): the positions past each length become 0; the lengths are
  written beside the output. Positions called padding that hold more than one value are
  refused: the data is padded on the other side;
- dense data without a mask: none — every position is shifted, and the result warns that
  padding, if there is any, is shifted too.

Refused: data that is not integers; a real id below 0 (0 must stay free); null ids; with
``vocab_size`` (the old vocabulary, ``--vocab-size V``), an id ≥ V. When the dtype cannot hold
the largest id + K (uint8 ids up to 255), the output is widened to the smallest integer dtype
that can (uint16), with a warning; past 64 bits the shift is refused.

Two passes in chunks: the first finds the id range (and refuses), the second writes. The output
has the source's layout: dense in any format; ragged as Parquet (a table column: the whole
table with that column shifted; any other source: one ``list`` column ``data``), npz (members
``data`` and ``data_lengths``, which dsdoctor reads back as one ragged array), HDF5 (one
variable-length dataset, sequences of single ids only) or Zarr (arrays ``data`` and
``data_offsets``, read back the same way); ``.npy`` cannot hold sequences, and is refused for
them. The provenance of a ``.npy`` output is
``OUT.dsdoctor.json`` beside it, in the same atomic group. :func:`validate` is the one
validation of :func:`shift` (in memory) and :func:`shift_file`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..arrays import Ragged
from ..errors import OutputError, RepairError, UsageError
from ..sources import DEFAULT_CHUNK_BYTES, ArrayHandle
from ..units import format_shape, parse_count
from .base import check_sides, dense, memory_handle, option, ragged, result, source_handle
from .frames import aligned
from .result import RepairResult
from .write import input_paths, provenance, write_blocks

#: The id padding positions hold after the shift.
PAD_ID = 0
#: The Parquet column and npz members a ragged output is written as (read back as one array).
RAGGED_MAIN, RAGGED_LENGTHS = "data", "data_lengths"


@dataclass
class Shifted:
    """What :func:`shift` returns in memory: the shifted ids (an array, or :class:`Ragged` for
    ragged input) and the vocabulary size an Embedding needs for them."""

    data: np.ndarray | Ragged
    vocab_size: int
    dtype: np.dtype


@dataclass
class IdRange:
    """The real ids seen in the first pass, and the values at padding positions."""

    count: int = 0
    low: int | None = None
    high: int | None = None
    negative: int = 0
    nulls: int = 0
    pad_low: int | None = None
    pad_high: int | None = None

    def add_padding(self, values: np.ndarray) -> None:
        """The values where the lengths say padding is: one value (pad's), if the side is right."""
        if values.size:
            lo, hi = int(values.min()), int(values.max())
            self.pad_low = lo if self.pad_low is None else min(self.pad_low, lo)
            self.pad_high = hi if self.pad_high is None else max(self.pad_high, hi)

    def add(self, values: np.ndarray) -> None:
        if values.dtype.kind == "f":  # integers read with nulls (a Parquet list holding nulls)
            nan = np.isnan(values)
            self.nulls += int(np.count_nonzero(nan))
            values = values[~nan]
        if not values.size:
            return
        lo, hi = int(values.min()), int(values.max())
        if lo < 0:
            self.negative += int(np.count_nonzero(values < 0))
        self.count += int(values.size)
        self.low = lo if self.low is None else min(self.low, lo)
        self.high = hi if self.high is None else max(self.high, hi)


@dataclass
class Positions:
    """Where the real ids of padded (N, T) data are: a mask (True on real ids), or lengths with
    the side the data was padded on (``pre``: the last L positions are real; ``post``: the
    first L)."""

    handle: ArrayHandle
    role: str  # "mask" | "lengths": also the name of the sibling written beside the output
    side: str | None = None
    found: bool = False  # the mask pad wrote beside the data, found by its name

    def real(self, part: np.ndarray, steps: int) -> np.ndarray:
        """The (n, T) mask of real ids of these rows (``part``: the rows of the mask/lengths)."""
        if self.role == "mask":
            return part
        lengths = part.astype(np.int64, copy=False)
        if lengths.size and (lengths.min() < 0 or lengths.max() > steps):
            raise RepairError(
                f"--lengths {self.handle.source} holds lengths from {int(lengths.min())} to "
                f"{int(lengths.max())}, but the data has {steps} timesteps; nothing was written"
            )
        at = np.arange(steps)
        if self.side == "post":
            return at < lengths[:, None]
        return at >= steps - lengths[:, None]

    def check_padding(self, ids: IdRange, source: str) -> None:
        """Refuse lengths whose padding positions hold more than one value: the data is padded
        on the other side (or the lengths are another array's)."""
        if self.role == "lengths" and ids.pad_low is not None and ids.pad_low != ids.pad_high:
            other = "post" if self.side == "pre" else "pre"
            raise RepairError(
                f"the positions of {source} that --lengths {self.handle.source} with --padding "
                f"{self.side} calls padding hold different values ({ids.pad_low} … "
                f"{ids.pad_high}), where pad writes one: is the data {other}-padded "
                f"(--padding {other})? nothing was written"
            )

    def describe(self) -> str:
        if self.role == "mask":
            return f"where {self.handle.source} is False (written as {PAD_ID})"
        return (f"past the lengths in {self.handle.source} ({self.side}-padded; written as "
                f"{PAD_ID})")  # fmt: skip


def validate(h: ArrayHandle, *, by: Any, vocab_size: Any, mask: ArrayHandle | None = None,
             lengths: ArrayHandle | None = None, padding: str = "pre",
             found: bool = False) -> tuple[int, int | None, Positions | None]:  # fmt: skip
    """``(K, V, positions)``: the shift, the old vocabulary size and where the real ids of
    padded data are (None: every element is real), or the refusal (no data read)."""
    if h.dtype.kind not in "iu":
        what = "booleans" if h.dtype.kind == "b" else f"{h.dtype} values"
        raise RepairError(
            f"{h.source} holds {what}, not integer token ids; shift adds K to integer ids "
            "(a float feature array takes an out-of-band padding value instead: pad --value)"
        )
    if not h.shape:
        raise RepairError(f"{h.source} is a single value (a 0-d array), not sequences of ids")
    k = option(parse_count, "--by", by, low=1)
    v = None if vocab_size is None else option(parse_count, "--vocab-size", vocab_size, low=1)
    if mask is not None and lengths is not None:
        raise UsageError("give --mask or --lengths, not both")
    check_sides(padding=padding)
    given = mask if mask is not None else lengths
    if given is None:
        return k, v, None
    if h.ragged:
        raise UsageError(
            f"{h.source} holds variable-length sequences, where every element is a real id; "
            f"--{'mask' if mask is not None else 'lengths'} is for padded (dense) data"
        )
    if mask is not None:
        want = tuple(h.shape[:2])
        if h.ndim < 2 or mask.ragged or tuple(mask.shape) != want or mask.dtype.kind != "b":
            raise RepairError(
                f"--mask {mask.source} is {format_shape(mask.shape)} {mask.dtype}; the mask of "
                f"{h.source} is a boolean array of shape {format_shape(want)}, True on real "
                "timesteps (what pad and mask write)"
            )
        return k, v, Positions(mask, "mask", found=found)
    assert lengths is not None
    if h.ndim < 2 or lengths.ragged or tuple(lengths.shape) != tuple(h.shape[:1]) or \
            lengths.dtype.kind not in "iu":  # fmt: skip
        raise RepairError(
            f"--lengths {lengths.source} is {format_shape(lengths.shape)} {lengths.dtype}; the "
            f"lengths of {h.source} are integers of shape ({h.shape[0]},), one per sequence "
            "(what pad writes)"
        )
    return k, v, Positions(lengths, "lengths", side=padding)


def check_range(ids: IdRange, source: str, k: int, vocab: int | None, dtype: np.dtype,
                masked: bool) -> tuple[int, np.dtype]:  # fmt: skip
    """The new vocabulary size and the output dtype, or the refusal of what the first pass saw."""
    if ids.nulls:
        raise RepairError(
            f"{source} holds {ids.nulls:,} null (missing) ids; a shifted null is still no token: "
            "fill or drop them first; nothing was written"
        )
    if ids.high is None or ids.low is None:
        raise RepairError(f"{source} holds no token ids; nothing to shift")
    if ids.negative:
        where = "real ids (where the mask is True)" if masked else "ids"
        hint = ("" if masked else "; if they are padding, give the mask of the padded data "
                "(--mask SRC, as pad writes it) so they become 0")  # fmt: skip
        raise RepairError(
            f"{source} holds {ids.negative:,} negative {where} (the smallest is {ids.low}); "
            f"token ids start at 0, and a shifted -1 would become a real id{hint}; nothing was "
            "written"
        )
    if vocab is not None and ids.high >= vocab:
        raise RepairError(
            f"{source} holds ids up to {ids.high}, but --vocab-size is {vocab}: the ids are not "
            f"in [0, {vocab}) (see `dsdoctor check --vocab-size {vocab}`); nothing was written"
        )
    top = ids.high + k
    new_vocab = (ids.high + 1 if vocab is None else vocab) + k
    return new_vocab, out_dtype(dtype, top, source)


def out_dtype(dtype: np.dtype, top: int, source: str) -> np.dtype:
    """``dtype`` when it holds ``top``, else the smallest integer dtype of its kind that does."""
    if top <= np.iinfo(dtype).max:
        return np.dtype(dtype)
    wider = np.result_type(dtype, np.min_scalar_type(top))
    if wider.kind not in "iu" or top > np.iinfo(wider).max:
        raise RepairError(
            f"{source}: the largest id + the shift is {top:,}, more than any 64-bit integer "
            "holds; nothing was written"
        )
    return np.dtype(wider)


def shifted(block: np.ndarray, k: int, dtype: np.dtype, real: np.ndarray | None) -> np.ndarray:
    """``block`` + ``k`` as ``dtype``; where ``real`` (the block's (n, T) mask) is False, 0."""
    out = block.astype(dtype, copy=True)
    out += np.asarray(k, dtype=dtype)
    if real is not None:
        pad = ~real.reshape(real.shape + (1,) * (out.ndim - real.ndim))
        np.copyto(out, np.asarray(PAD_ID, dtype=dtype), where=pad)
    return out


def real_values(block: np.ndarray | Ragged, real: np.ndarray | None) -> np.ndarray:
    """The ids of a chunk that are real tokens (every element of a ragged chunk)."""
    if isinstance(block, Ragged):
        return block.window()
    return block if real is None else block[real]


def shift(data: Any, *, by: int = 1, vocab_size: int | None = None, mask: Any = None,
          lengths: Any = None, padding: str = "pre") -> Shifted:  # fmt: skip
    """Shift token ids in memory (an integer array, a list of id sequences, a Ragged). Padded
    data keeps its padding at 0 given ``mask`` ((N, T) booleans, True on real ids) or
    ``lengths`` with ``padding`` (the side, pre — pad's default — or post). Refused as
    :func:`shift_file` refuses."""
    h = memory_handle(data)
    m = None if mask is None else memory_handle(np.asarray(mask))
    n = None if lengths is None else memory_handle(np.asarray(lengths))
    k, vocab, where = validate(h, by=by, vocab_size=vocab_size, mask=m, lengths=n,
                               padding=padding)  # fmt: skip
    whole = h.read()
    real = None
    if where is not None:
        real = where.real(dense(where.handle.read()), int(h.shape[1] or 0))
    ids = IdRange()
    ids.add(real_values(whole, real))
    if where is not None and real is not None and where.role == "lengths":
        ids.add_padding(dense(whole)[~real])
        where.check_padding(ids, h.source)
    new_vocab, dtype = check_range(ids, h.source, k, vocab, h.dtype, where is not None)
    if isinstance(whole, Ragged):
        values = shifted(whole.window(), k, dtype, None)
        return Shifted(Ragged(values, whole.offsets - whole.offsets[0]), new_vocab, dtype)
    return Shifted(shifted(whole, k, dtype, real), new_vocab, dtype)


def shift_file(src: Any, out: str, *, by: int = 1, vocab_size: int | None = None,
               mask: Any = None, lengths: Any = None, padding: str = "pre",
               force: bool = False, chunk_bytes: int = DEFAULT_CHUNK_BYTES,
               **source_options: Any) -> RepairResult:  # fmt: skip
    """Shift ``src``'s token ids into ``out`` (two streamed passes). For padded data, ``mask``
    (``PATH[:SELECTOR]`` of its (N, T) mask) or ``lengths`` with ``padding`` say where the real
    ids are; by default the mask ``pad`` wrote beside ``src``."""
    from ..sinks import parse_destination
    from ..sources.siblings import pad_mask_of

    h = source_handle(src, **source_options)
    m = None if mask is None else source_handle(mask, **source_options)
    n = None if lengths is None else source_handle(lengths, **source_options)
    found = m is None and n is None and not h.ragged
    if found:
        m = pad_mask_of(h, **source_options)
    k, vocab, where = validate(h, by=by, vocab_size=vocab_size, mask=m, lengths=n,
                               padding=padding, found=found)  # fmt: skip
    dest = parse_destination(out)  # a bad -o is refused before the data is read
    if h.ragged and dest.format == "hdf5" and h.inner_shape:
        raise OutputError(
            f"{out}: {h.source} holds sequences of {format_shape(h.inner_shape)} timesteps; an "
            "HDF5 variable-length dataset holds sequences of single ids; name the output "
            ".parquet, .npz or .zarr"
        )
    if h.ragged and dest.format not in ("parquet", "npz", "hdf5", "zarr"):
        raise OutputError(
            f"{out}: {h.source} holds variable-length sequences, which "
            f"{dest.path.suffix or dest.format} cannot hold; name the output .parquet, .npz, "
            ".h5 or .zarr (or pad first and shift the padded data)"
        )
    inputs = [*input_paths(h), *(input_paths(where.handle) if where is not None else [])]

    ids = IdRange()
    for block, real, _ in _chunks(h, where, chunk_bytes):
        ids.add(real_values(block, real))
        if where is not None and where.role == "lengths" and real is not None:
            ids.add_padding(dense(block)[~real])
    if where is not None:
        where.check_padding(ids, h.source)
    new_vocab, dtype = check_range(ids, h.source, k, vocab, h.dtype, where is not None)
    assert ids.low is not None and ids.high is not None  # check_range refused no ids
    padding_text = (where.describe() if where is not None
                    else "none: every element of a sequence is a real id" if h.ragged
                    else "none: no mask given, every position was shifted")  # fmt: skip
    source_of: dict[str, str | None] = {"mask": None, "lengths": None}
    if where is not None:
        source_of[where.role] = where.handle.source
    options = {"by": k, "vocab_size": vocab, **source_of, "padding": padding,
               "new_vocab_size": new_vocab, "dtype": str(dtype)}  # fmt: skip
    prov = provenance("shift", h.source, options)
    if h.ragged:
        outputs, shape = _write_ragged(h, out, dest.format, k, dtype, prov, force, inputs,
                                       chunk_bytes, ids.count)  # fmt: skip
    else:
        dims = h.dense_shape
        shape = dims
        specs: dict[str, tuple[tuple[int, ...], np.dtype]] = {"data": (dims, dtype)}
        if where is not None:
            side = where.handle
            specs[where.role] = (tuple(side.dense_shape), side.dtype)

        def blocks() -> Iterator[dict[str, np.ndarray]]:
            for block, real, part in _chunks(h, where, chunk_bytes):
                out_block = {"data": shifted(dense(block), k, dtype, real)}
                if where is not None and part is not None:
                    out_block[where.role] = part
                yield out_block

        outputs = _with_sidecar(dest, prov, lambda: write_blocks(
            out, specs, blocks(), main="data", force=force, inputs=inputs, prov=prov,
            chunk_bytes=chunk_bytes))  # fmt: skip
    column = ragged_column(h) if h.ragged and dest.format == "parquet" else None
    done = result("shift", h, outputs, shape, dtype, output_column=column, by=k, ids=ids.count,
                  min_id=ids.low, max_id=ids.high, vocab_size_before=vocab, vocab_size=new_vocab,
                  padding=padding_text, pad_id=PAD_ID if where is not None else None,
                  **source_of, mask_found=bool(where is not None and where.found))  # fmt: skip
    if dtype != h.dtype:
        done.warnings.append(
            f"{h.dtype} cannot hold id {ids.high + k:,}: the output is {dtype} (widened)"
        )
    if not h.ragged and where is None:
        done.warnings.append(
            f"no mask: every position of {h.source} was shifted as a real id; if it is padded, "
            "give its mask (--mask SRC) or lengths (--lengths SRC --padding pre|post), as pad "
            "writes them, so the padding becomes 0"
        )
    return done


def _with_sidecar(dest: Any, prov: dict, write: Callable[[], list[str]]) -> list[str]:
    """``write()``, and for a ``.npy`` output (no room for metadata) the provenance — the new
    vocabulary size with it — as ``OUT.dsdoctor.json`` beside it, in the same atomic group."""
    if dest.format != "npy":
        return write()
    from ..sinks.atomic import beside
    from ..sinks.provenance import provenance_record, sidecar, to_json

    side = Path(sidecar(dest.path))
    with beside(dest.path, {side: (to_json(provenance_record(prov)) + "\n").encode("utf-8")}):
        outputs = write()
    return [*outputs, str(side)]


def _chunks(
    h: ArrayHandle, where: Positions | None, chunk_bytes: int
) -> Iterator[tuple[np.ndarray | Ragged, np.ndarray | None, np.ndarray | None]]:
    """The chunks of ``h``, each with the (n, T) mask of its real ids and the same rows of the
    mask or lengths they came from (None, None without them)."""
    if where is None:
        yield from ((c, None, None) for c in h.chunks(chunk_bytes))
        return
    steps = int(h.shape[1] or 0)
    for block, part in aligned([h, where.handle], chunk_bytes):
        yield block, where.real(part, steps), part


def _write_ragged(h: ArrayHandle, out: str, fmt: str, k: int, dtype: np.dtype, prov: dict,
                  force: bool, inputs: list, chunk_bytes: int, total: int
                  ) -> tuple[list[str], tuple[int | None, ...]]:  # fmt: skip
    n = int(h.shape[0] or 0)
    shape = (n, None, *h.inner_shape)
    if fmt == "parquet" and hasattr(h, "table"):
        return _whole_table(h, out, k, dtype, prov, force, inputs, chunk_bytes), shape
    if fmt == "parquet":
        return _list_column(h, out, k, dtype, prov, force, inputs, chunk_bytes), shape
    if fmt == "hdf5":
        from ..sinks import stream_ragged

        with stream_ragged(out, n, dtype, force=force, provenance=prov, inputs=inputs) as w:
            for r in (ragged(c) for c in h.chunks(chunk_bytes)):
                w.write(shifted(r.window(), k, dtype, None), r.lengths)
        return [str(p) for p in w.paths], shape
    if fmt == "zarr":
        return _values_offsets(h, out, k, dtype, prov, force, inputs, chunk_bytes, total), shape
    specs = {
        RAGGED_MAIN: ((total, *h.inner_shape), dtype),
        RAGGED_LENGTHS: ((n,), np.dtype(np.int64)),
    }
    blocks = (
        {RAGGED_MAIN: shifted(r.window(), k, dtype, None), RAGGED_LENGTHS: r.lengths}
        for r in (ragged(c) for c in h.chunks(chunk_bytes))
    )
    return write_blocks(out, specs, blocks, main=RAGGED_MAIN, force=force, inputs=inputs,
                        prov=prov), shape  # fmt: skip


def _values_offsets(h: ArrayHandle, out: str, k: int, dtype: np.dtype, prov: dict, force: bool,
                    inputs: list, chunk_bytes: int, total: int) -> list[str]:  # fmt: skip
    """Ragged ids as values + offsets (the Zarr layout, :mod:`dsdoctor.sinks.zarr`): the roles
    ``data`` and ``offsets``, the offsets of each chunk following on from the last."""
    n = int(h.shape[0] or 0)
    specs = {
        RAGGED_MAIN: ((total, *h.inner_shape), dtype),
        "offsets": ((n + 1,), np.dtype(np.int64)),
    }

    def blocks() -> Iterator[dict[str, np.ndarray]]:
        end = 0
        yield {"offsets": np.zeros(1, dtype=np.int64)}
        for r in (ragged(c) for c in h.chunks(chunk_bytes)):
            ends = end + np.cumsum(r.lengths, dtype=np.int64)
            yield {RAGGED_MAIN: shifted(r.window(), k, dtype, None), "offsets": ends}
            end = int(ends[-1]) if len(ends) else end

    return write_blocks(out, specs, blocks(), main=RAGGED_MAIN, force=force, inputs=inputs,
                        prov=prov)  # fmt: skip


def _arrow_list(r: Ragged, k: int, dtype: np.dtype) -> Any:
    """A pyarrow ``list`` array of ``r``'s sequences shifted (``list<fixed_size_list<F>>`` for
    timesteps of F ids)."""
    import pyarrow as pa

    values = pa.array(shifted(r.window(), k, dtype, None).reshape(-1))
    for size in reversed(r.inner_shape):
        values = pa.FixedSizeListArray.from_arrays(values, size)
    return pa.ListArray.from_arrays(pa.array(r.offsets - r.offsets[0], pa.int32()), values)


def _list_column(h: ArrayHandle, out: str, k: int, dtype: np.dtype, prov: dict, force: bool,
                 inputs: list, chunk_bytes: int) -> list[str]:  # fmt: skip
    """Ragged sequences (npz, HDF5) as a Parquet table of one ``list`` column ``data``."""
    import pyarrow as pa

    from ..sinks.table import stream_table

    empty = Ragged(np.zeros((0, *h.inner_shape), dtype=dtype), np.zeros(1, dtype=np.int64))
    schema = pa.schema([pa.field(RAGGED_MAIN, _arrow_list(empty, 0, dtype).type)])
    with stream_table(out, schema, prov, force=force, inputs=inputs) as writer:
        for c in h.chunks(chunk_bytes):
            column = _arrow_list(ragged(c), k, dtype)
            writer.write(pa.RecordBatch.from_arrays([column], schema=schema))
    return writer.paths


def ragged_column(h: ArrayHandle) -> str:
    """The column a ragged Parquet output holds the shifted ids in: the table column's own name
    (the whole table is written), else ``data``."""
    if not hasattr(h, "table"):
        return RAGGED_MAIN
    return str(h.layout["columns"][0] if "columns" in h.layout else h.name)


def _whole_table(h: ArrayHandle, out: str, k: int, dtype: np.dtype, prov: dict, force: bool,
                 inputs: list, chunk_bytes: int) -> list[str]:  # fmt: skip
    """The table with the ``list`` column of ids shifted (same list type, null lists kept) and
    every other column as it was: the labels stay beside their sequences."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from ..sinks.table import stream_table
    from ..sources.table import ARROW_OVERHEAD

    table = h.table  # type: ignore[attr-defined]  # a TableArray: the caller checked
    column = ragged_column(h)
    names = list(table.schema.names)
    at = names.index(column)
    old = table.schema.field(at)
    leaf = pa.from_numpy_dtype(dtype)
    list_of = pa.large_list if pa.types.is_large_list(old.type) else pa.list_
    inner: Any = leaf
    for size in reversed(h.inner_shape):
        inner = pa.list_(inner, size)
    new_field = pa.field(old.name, list_of(inner), nullable=old.nullable, metadata=old.metadata)
    fields = [table.schema.field(i) for i in range(len(names))]
    schema = pa.schema([*fields[:at], new_field, *fields[at + 1 :]], metadata=table.schema.metadata)
    rows = max(1, chunk_bytes // (ARROW_OVERHEAD * max(1, table.row_estimate(names))))

    def shifted_list(col: Any) -> Any:
        child, depth = col.values, 0
        while pa.types.is_fixed_size_list(child.type):  # list<fixed_size_list<F>>: the ids inside
            child, depth = child.values, depth + 1
        values = pc.add(pc.cast(child, leaf), pa.scalar(k, leaf))
        for size in reversed(h.inner_shape[:depth]):
            values = pa.FixedSizeListArray.from_arrays(values, size)
        cls = pa.LargeListArray if pa.types.is_large_list(col.type) else pa.ListArray
        return cls.from_arrays(col.offsets, values, mask=col.is_null() if col.null_count else None)

    try:
        with stream_table(out, schema, prov, force=force, inputs=inputs) as writer:
            for batch in table.batches(names, rows):
                cols = list(batch.columns)
                cols[at] = shifted_list(cols[at])
                writer.write(pa.RecordBatch.from_arrays(cols, schema=schema))
    except (pa.ArrowNotImplementedError, pa.ArrowTypeError, pa.ArrowInvalid) as exc:
        raise OutputError(f"{out}: Parquet cannot store this table ({exc})") from None
    return writer.paths
