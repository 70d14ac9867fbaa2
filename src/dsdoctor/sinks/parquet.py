"""Parquet outputs: one column per role (``data``, ``mask``, ``lengths``). An ``(N,)`` array is
a scalar column, ``(N, F)`` a ``fixed_size_list<F>`` column and ``(N, T, F)`` a
``fixed_size_list<fixed_size_list<F>, T>`` column, built on the numpy buffers without copying.
Provenance is JSON in the schema's key-value metadata under the key ``dsdoctor``.

Written in bounded memory: a ``ParquetWriter`` on the temporary file takes one block of rows at
a time as a row group (a block of more than a million rows is split, as ``write_table`` does),
so every block must carry the same rows of every column. Arrow cannot express a zero-width list,
so arrays with an empty inner axis are refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np

from ..errors import OutputError
from .atomic import atomic_path
from .blocks import BlockWriter, Index, Specs
from .destination import Destination
from .provenance import METADATA_KEY, to_json


@contextmanager
def stream(
    dest: Destination,
    specs: Specs,
    main: str,
    record: Mapping[str, Any],
    *,
    force: bool,
    compression: str | None,
    inputs: Iterable = (),
) -> Iterator[BlockWriter]:
    """Yield a writer appending row groups to a temporary Parquet file; renamed on success."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    _check_rows(dest, specs, main)
    fields = [
        pa.field(role, _column(dest, role, np.empty((0, *shape[1:]), dtype)).type)
        for role, (shape, dtype) in specs.items()
    ]
    schema = pa.schema(fields, metadata={METADATA_KEY: to_json(record)})
    options = {"compression": compression} if compression else {}
    with atomic_path(dest.path, force=force, inputs=inputs) as tmp:
        with _storable(dest):
            file = pq.ParquetWriter(tmp, schema, **options)
        with file:
            yield _ParquetWriter(dest, specs, file, schema)


class _ParquetWriter(BlockWriter):
    """Each block becomes a table of all the columns, written as a row group."""

    def __init__(self, dest: Destination, specs: Specs, file: Any, schema: Any) -> None:
        super().__init__(dest, specs, [dest.path])
        self.file, self.schema = file, schema

    def _append(self, parts: Mapping[str, tuple[Index, np.ndarray]]) -> None:
        import pyarrow as pa

        rows = {role: len(array) for role, (_, array) in parts.items()}
        if not any(rows.values()):
            return
        if rows.keys() != self.specs.keys() or len(set(rows.values())) != 1:
            raise OutputError(
                f"{self.dest.text}: Parquet writes the rows of all columns together, but a "
                f"block holds {', '.join(f'{n:,} rows of {role}' for role, n in rows.items())}"
            )
        columns = [_column(self.dest, role, parts[role][1]) for role in self.specs]
        with _storable(self.dest):
            self.file.write_table(pa.Table.from_arrays(columns, schema=self.schema))


@contextmanager
def _storable(dest: Destination) -> Iterator[None]:
    """Arrow's refusal of a type becomes an :class:`OutputError`."""
    import pyarrow as pa

    try:
        yield
    except (pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise OutputError(f"{dest.text}: Parquet cannot store these arrays ({exc})") from None


def _check_rows(dest: Destination, specs: Specs, main: str) -> None:
    for role, (shape, _) in specs.items():
        if not shape:
            raise OutputError(
                f"{dest.text}: {role} is a scalar, but Parquet columns need one row per sample"
            )
    n = specs[main][0][0]
    for role, (shape, _) in specs.items():
        if shape[0] != n:
            raise OutputError(
                f"{dest.text}: Parquet columns need one row per sample, but {main} has "
                f"{n:,} rows and {role} has {shape[0]:,}; write .npz or .h5 instead"
            )
        if 0 in shape[1:]:
            raise OutputError(
                f"{dest.text}: {role} has shape {shape}, with an empty inner axis, which "
                "Parquet cannot store; write .npy, .npz or .h5 instead"
            )


def _column(dest: Destination, role: str, array: np.ndarray):
    """Nested fixed-size lists over the flat numpy buffer (zero-copy for native numbers)."""
    import pyarrow as pa

    array = np.ascontiguousarray(array)
    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    try:
        column = pa.array(array.reshape(-1))
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError):
        raise OutputError(
            f"{dest.text}: Parquet cannot store {role} of dtype {array.dtype}; "
            "write .npy, .npz or .h5 instead"
        ) from None
    for size in reversed(array.shape[1:]):
        column = pa.FixedSizeListArray.from_arrays(column, size)
    return column
