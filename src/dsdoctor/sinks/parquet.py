"""Parquet outputs: one column per role (``data``, ``mask``, ``lengths``). An ``(N,)`` array is
a scalar column, ``(N, F)`` a ``fixed_size_list<F>`` column and ``(N, T, F)`` a
``fixed_size_list<fixed_size_list<F>, T>`` column, built on the numpy buffers without copying.
Provenance is JSON in the schema's key-value metadata under the key ``dsdoctor``.

Arrow cannot express a zero-width list, so arrays with an empty inner axis are refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import OutputError
from .atomic import atomic_path
from .destination import Destination
from .provenance import METADATA_KEY, to_json


def write(
    dest: Destination,
    arrays: Mapping[str, np.ndarray],
    main: str,
    record: Mapping[str, Any],
    *,
    force: bool,
    compression: str | None,
) -> list[Path]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    _check_rows(dest, arrays, main)
    columns = {role: _column(dest, role, array) for role, array in arrays.items()}
    table = pa.table(columns)
    table = table.replace_schema_metadata({METADATA_KEY: to_json(record)})
    options = {"compression": compression} if compression else {}
    with atomic_path(dest.path, force=force) as tmp:
        try:
            pq.write_table(table, tmp, **options)
        except (pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
            raise OutputError(f"{dest.text}: Parquet cannot store these arrays ({exc})") from None
    return [dest.path]


def _check_rows(dest: Destination, arrays: Mapping[str, np.ndarray], main: str) -> None:
    for role, array in arrays.items():
        if array.ndim == 0:
            raise OutputError(
                f"{dest.text}: {role} is a scalar, but Parquet columns need one row per sample"
            )
    n = arrays[main].shape[0]
    for role, array in arrays.items():
        if array.shape[0] != n:
            raise OutputError(
                f"{dest.text}: Parquet columns need one row per sample, but {main} has "
                f"{n:,} rows and {role} has {array.shape[0]:,}; write .npz or .h5 instead"
            )
        if 0 in array.shape[1:]:
            raise OutputError(
                f"{dest.text}: {role} has shape {array.shape}, with an empty inner axis, which "
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
