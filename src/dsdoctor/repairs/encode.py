"""``encode``: text class labels (or a categorical feature) → integer codes or one-hot rows, with
the vocabulary that maps them back. :func:`validate` is the one validation of :func:`encode`
(in memory) and :func:`encode_file`.

- Codes are int64, numbered 0 … C-1 in sorted order of the values (``--one-hot``: float32 rows
  of width C, 1.0 at the code). ``vocabulary`` (a file written by an earlier ``encode``, or a
  JSON list of strings) reuses a mapping, so train, validation and test get the same codes; a
  value it does not hold is refused, naming it and how many rows hold it.
- The vocabulary is written beside the data as ``OUT.vocab.json`` (``y.npy`` → ``y.vocab.json``)
  in the same atomic group as the data (:func:`dsdoctor.sinks.atomic.beside`), and inside the
  output where the format has room: the Parquet schema metadata and the HDF5 attributes
  (``dsdoctor_vocabulary``), the npz ``provenance`` member.
- What ``OUT`` holds: from a table column (``table.parquet:island``) to a Parquet output, the
  whole table with the column replaced — by the codes, or by one float32 column per class
  (``island_Biscoe``, …, named as ``pandas.get_dummies`` names them) in its place; to an
  ``.npy``/``.npz``/HDF5 output, the encoded column alone (``y`` for a model). From an array
  (``.npy``, an npz member, an HDF5 dataset), the encoded array in any output format.
- Two passes, each in chunks: the first learns the vocabulary (or checks every value against
  the one given) and refuses missing values; the second writes. Memory is bounded by a chunk
  and the vocabulary, which is capped (:data:`~dsdoctor.categories.MAX_CATEGORIES` values: a
  column with more is an identifier, refused).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import categories
from ..categories import CategoryCounts, to_arrow
from ..errors import OutputError, RepairError
from ..formats import strip_extension
from ..sources import DEFAULT_CHUNK_BYTES, ArrayHandle
from .base import memory_handle, require_dense, result, source_handle
from .result import RepairResult
from .write import input_paths, provenance, write_blocks

#: The ``format`` key a vocabulary file carries (and its version).
VOCABULARY_FORMAT = "dsdoctor-vocabulary"
VOCABULARY_SUFFIX = ".vocab.json"
CODES_DTYPE = np.dtype(np.int64)
ONE_HOT_DTYPE = np.dtype(np.float32)


@dataclass
class Encoded:
    """What :func:`encode` returns in memory: the codes (or one-hot rows) and the vocabulary
    (``vocabulary[code]`` is the value)."""

    values: np.ndarray
    vocabulary: list[str]


def validate(h: ArrayHandle) -> None:
    """The refusals that need no data: ``h`` must hold text, one value per sample."""
    if not h.categorical:
        kind = "numbers" if h.dtype.kind in "biufc" else f"{h.dtype}"
        table = getattr(h, "table", None)
        texts = [n for n, (k, _, _) in table._kinds().items() if k == "category"] if table else []
        hint = (f"; its text columns: {', '.join(texts[:20])} (encode {table.display}:{texts[0]})"
                if texts and table is not None else "")  # fmt: skip
        raise RepairError(
            f"{h.source} holds {kind}, not text labels; encode turns text into class numbers "
            f"and reads only text (a string or category column, a numpy U/S array, HDF5 "
            f"strings){hint}"
        )
    require_dense(h, "encode")


def load_vocabulary(path: str | os.PathLike) -> list[str]:
    """The values of a vocabulary file (what ``encode`` writes, or a JSON list of distinct
    strings), in code order; RepairError naming what is wrong with anything else."""
    name = os.fspath(path)
    fix = f"give a {VOCABULARY_SUFFIX} file written by `dsdoctor encode`"
    try:
        with open(name, "rb") as fp:
            text = fp.read(64 * 1024**2 + 1)
    except OSError as exc:
        raise RepairError(f"--vocabulary {name}: cannot be read ({exc.strerror}); {fix}") from None
    if len(text) > 64 * 1024**2:
        raise RepairError(f"--vocabulary {name} is larger than 64 MiB: not a vocabulary; {fix}")
    try:
        data = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise RepairError(f"--vocabulary {name} is not JSON ({exc}); {fix}") from None
    values = data.get("values") if isinstance(data, dict) else data
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise RepairError(f"--vocabulary {name} is not a vocabulary (no list of strings under "
                          f"\"values\"); {fix}")  # fmt: skip
    if not values:
        raise RepairError(f"--vocabulary {name} holds no values; {fix}")
    if len(set(values)) != len(values):
        seen: set[str] = set()
        twice = next(v for v in values if v in seen or seen.add(v))  # type: ignore[func-returns-value]
        raise RepairError(
            f"--vocabulary {name} lists {twice!r} twice: codes would be ambiguous; {fix}"
        )
    return values


def vocabulary_path(out: str) -> Path:
    """``y.npy`` → ``y.vocab.json``, ``t.h5:/y`` → ``t.vocab.json`` (beside the data file)."""
    from ..sinks import parse_destination

    path = parse_destination(out).path
    return path.with_name(strip_extension(path.name) + VOCABULARY_SUFFIX)


def learn(h: ArrayHandle, chunk_bytes: int, vocabulary: Sequence[str] | None) -> list[str]:
    """Pass one: the vocabulary (sorted distinct values), or ``vocabulary`` once every value is
    found in it. Refuses missing values, a vocabulary past the cap, and unseen values."""
    import pyarrow as pa
    import pyarrow.compute as pc

    counts = CategoryCounts()
    nulls, row = 0, 0
    null_rows: list[int] = []
    unseen_rows, unseen = 0, CategoryCounts()
    known = None if vocabulary is None else pa.array(list(vocabulary), type=pa.large_string())
    for chunk in h.chunks(chunk_bytes):
        arr = to_arrow(np.asarray(chunk)).cast(pa.large_string())
        if arr.null_count:
            nulls += arr.null_count
            if len(null_rows) < 5:
                where = np.flatnonzero(arr.is_null().to_numpy(zero_copy_only=False))[:5]
                null_rows += (row + where).tolist()
        if known is None:
            counts.add(np.asarray(chunk))
            if counts.over:
                raise RepairError(
                    f"{h.source} has more than {categories.MAX_CATEGORIES:,} distinct values: a vocabulary "
                    "that large is an identifier, not a label; choose the label column; nothing "
                    "was written"
                )
        else:
            found = pc.index_in(arr, value_set=known)
            new = arr.filter(pc.and_(found.is_null(), arr.is_valid()))
            if len(new):
                unseen_rows += len(new)
                unseen.add(new.to_numpy(zero_copy_only=False))
        row += len(arr)
    if nulls:
        shown = ", ".join(map(str, null_rows[:5])) + (", …" if nulls > 5 else "")
        raise RepairError(
            f"{h.source} has {nulls:,} missing values (rows {shown}); every row needs a label to "
            "encode: drop those rows or fill them first; nothing was written"
        )
    if known is not None:
        assert vocabulary is not None
        if unseen_rows:
            values = [v for v, _ in sorted(unseen.counts.items(), key=lambda vn: -vn[1])]
            shown = ", ".join(repr(v) for v in values[:5]) + (
                ", …" if len(values) > 5 or unseen.over else ""
            )
            raise RepairError(
                f"{h.source} has {unseen_rows:,} rows whose label is not in the vocabulary "
                f"({len(values) if not unseen.over else 'many'} unseen: {shown}); encode with "
                "a vocabulary that holds them (from the training split), or drop those rows; "
                "nothing was written"
            )
        return list(vocabulary)
    return [v for v, _ in counts.classes()]


def codes_of(arr: Any, known: Any, source: str) -> np.ndarray:
    """int64 codes of a pyarrow string array (every value in ``known``: checked by :func:`learn`)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    found = pc.index_in(arr.cast(pa.large_string()), value_set=known)
    if found.null_count:  # the data changed between the two passes
        raise RepairError(f"{source} changed while it was being encoded; encode it again")
    return found.to_numpy(zero_copy_only=False).astype(CODES_DTYPE, copy=False)


def one_hot_of(codes: np.ndarray, classes: int) -> np.ndarray:
    out = np.zeros((len(codes), classes), dtype=ONE_HOT_DTYPE)
    out[np.arange(len(codes)), codes] = 1.0
    return out


def encode(data: Any, *, vocabulary: Sequence[str] | str | None = None,
           one_hot: bool = False) -> Encoded:  # fmt: skip
    """Encode text values in memory (a numpy ``U``/``S`` array); refused as :func:`encode_file`
    refuses. ``vocabulary``: the values in code order, or a vocabulary file."""
    import pyarrow as pa

    h = memory_handle(data)
    validate(h)
    given = load_vocabulary(vocabulary) if isinstance(vocabulary, str | os.PathLike) else vocabulary
    vocab = learn(h, DEFAULT_CHUNK_BYTES, given)
    known = pa.array(vocab, type=pa.large_string())
    codes = codes_of(to_arrow(np.asarray(h.read())), known, h.source)
    return Encoded(one_hot_of(codes, len(vocab)) if one_hot else codes, vocab)


def encode_file(src: Any, out: str, *, vocabulary: str | None = None, one_hot: bool = False,
                force: bool = False, chunk_bytes: int = DEFAULT_CHUNK_BYTES,
                **source_options: Any) -> RepairResult:  # fmt: skip
    """Encode ``src`` (a text column or array) into ``out``, with ``OUT.vocab.json`` beside it
    (streamed, in two passes)."""
    import pyarrow as pa

    from ..sinks import parse_destination
    from ..sinks.atomic import beside

    h = source_handle(src, **source_options)
    validate(h)
    dest = parse_destination(out)  # a bad -o is refused before the data is read
    given = load_vocabulary(vocabulary) if vocabulary is not None else None
    vocab = learn(h, chunk_bytes, given)
    known = pa.array(vocab, type=pa.large_string())
    column = h.layout.get("columns", [h.name])[0] if hasattr(h, "table") else h.name
    encoding = f"one-hot {ONE_HOT_DTYPE}" if one_hot else str(CODES_DTYPE)
    record = {"format": VOCABULARY_FORMAT, "version": 1, "source": h.source, "column": column,
              "encoding": encoding, "values": vocab}  # fmt: skip
    vocab_file = vocabulary_path(out)
    prov = {**provenance("encode", h.source, {"one_hot": one_hot, "vocabulary": vocabulary}),
            "vocabulary": vocab}  # fmt: skip
    inputs = [*input_paths(h), *([Path(vocabulary)] if vocabulary else [])]
    text = (json.dumps(record, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    n = int(h.shape[0] or 0)
    with beside(dest.path, {vocab_file: text}):
        if hasattr(h, "table") and dest.format == "parquet":
            outputs = _whole_table(h, out, known, vocab, one_hot, prov, force, inputs, chunk_bytes)
            width = len(h.table.schema.names) - 1 + (len(vocab) if one_hot else 1)
            return RepairResult("encode", h.source, [*outputs, str(vocab_file)], [n, width], "table",
                                {"classes": len(vocab), "vocabulary": str(vocab_file),
                                 "encoding": encoding, "whole_table": True})  # fmt: skip
        dtype = ONE_HOT_DTYPE if one_hot else CODES_DTYPE
        shape: tuple[int, ...] = (n, len(vocab)) if one_hot else (n,)
        blocks = ({"data": _encoded(chunk, known, len(vocab), one_hot, h.source)}
                  for chunk in h.chunks(chunk_bytes))  # fmt: skip
        outputs = write_blocks(out, {"data": (shape, dtype)}, blocks, main="data", force=force,
                               inputs=inputs, prov=prov, chunk_bytes=chunk_bytes)  # fmt: skip
    return result("encode", h, [*outputs, str(vocab_file)], shape, dtype, classes=len(vocab),
                  vocabulary=str(vocab_file), encoding=encoding)  # fmt: skip


def _encoded(chunk: Any, known: Any, classes: int, one_hot: bool, source: str) -> np.ndarray:
    codes = codes_of(to_arrow(np.asarray(chunk)), known, source)
    return one_hot_of(codes, classes) if one_hot else codes


def _whole_table(h: ArrayHandle, out: str, known: Any, vocab: list[str], one_hot: bool,
                 prov: dict, force: bool, inputs: list, chunk_bytes: int) -> list[str]:  # fmt: skip
    """The table with the column replaced by its codes (or one-hot columns), as Parquet."""
    import pyarrow as pa

    from ..sinks.table import stream_table
    from ..sources.table import ARROW_OVERHEAD

    table = h.table  # type: ignore[attr-defined]  # a TableArray (checked by the caller)
    column = h.layout["columns"][0]
    names = list(table.schema.names)
    at = names.index(column)
    if one_hot:
        new = [f"{column}_{v}" for v in vocab]
        clash = sorted(set(new) & (set(names) - {column}))
        if clash:
            raise RepairError(
                f"{h.source}: the one-hot column {clash[0]!r} is already a column of the table; "
                "rename it, or encode to codes (without --one-hot)"
            )
        fields = [pa.field(name, pa.float32()) for name in new]
    else:
        new, fields = [column], [pa.field(column, pa.int64())]
    schema_fields = [table.schema.field(i) for i in range(len(names))]
    schema = pa.schema(schema_fields[:at] + fields + schema_fields[at + 1 :],
                       metadata=_pandas_metadata(table.schema.metadata, column, new, one_hot))  # fmt: skip
    rows = max(1, chunk_bytes // (ARROW_OVERHEAD * max(1, table.row_estimate(names))))

    try:  # as a single pass: an Arrow type Parquet cannot store is the output's fault
        with stream_table(out, schema, prov, force=force, inputs=inputs) as writer:
            for batch in table.batches(names, rows):
                codes = codes_of(batch.column(at), known, h.source)
                if one_hot:
                    block = one_hot_of(codes, len(vocab))
                    added = [pa.array(block[:, j]) for j in range(len(vocab))]
                else:
                    added = [pa.array(codes)]
                cols = list(batch.columns)
                writer.write(
                    pa.RecordBatch.from_arrays(cols[:at] + added + cols[at + 1 :], schema=schema)
                )
    except (pa.ArrowNotImplementedError, pa.ArrowTypeError, pa.ArrowInvalid) as exc:
        raise OutputError(f"{out}: Parquet cannot store this table ({exc})") from None
    return writer.paths


def _pandas_metadata(
    metadata: dict | None, column: str, new: list[str], one_hot: bool
) -> dict | None:
    """The schema metadata with pandas' description of ``column`` replaced by the new columns
    (so ``pd.read_parquet`` reads them as int64/float32, not as the old category)."""
    if not metadata or b"pandas" not in metadata:
        return metadata
    try:
        pandas = json.loads(metadata[b"pandas"])
        cols = pandas["columns"]
        at = next(i for i, c in enumerate(cols) if c.get("field_name") == column)
    except (ValueError, KeyError, TypeError, StopIteration):
        return {k: v for k, v in metadata.items() if k != b"pandas"}
    kind = "float32" if one_hot else "int64"
    cols[at : at + 1] = [{"name": n, "field_name": n, "pandas_type": kind, "numpy_type": kind,
                          "metadata": None} for n in new]  # fmt: skip
    return {**metadata, b"pandas": json.dumps(pandas).encode()}
