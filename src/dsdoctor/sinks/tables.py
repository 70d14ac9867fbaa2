"""Whole tables to Parquet: record batches streamed into one file, atomically, with the
provenance in the schema metadata (key ``dsdoctor``) beside what the schema already carries
(pandas' own metadata, for one). For repairs that change some columns of a table and keep
the others as they are (``encode table.parquet:island -o out.parquet``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..diskspace import write_errors
from ..errors import OutputError
from .atomic import atomic_path
from .destination import parse_destination
from .provenance import METADATA_KEY, provenance_record, to_json


def write_table(
    out: str,
    schema: Any,
    batches: Iterable[Any],
    *,
    force: bool,
    provenance: Mapping[str, Any],
    inputs: Iterable[str | Path] = (),
) -> list[str]:
    """Write ``batches`` (pyarrow record batches or tables, cast to ``schema``) to the Parquet
    file ``out``, one row group per batch; return the paths written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    dest = parse_destination(out)
    if dest.format != "parquet":
        raise OutputError(
            f"{dest.text}: a whole table is written as Parquet; name the output .parquet"
        )
    metadata = {
        **(schema.metadata or {}),
        METADATA_KEY.encode(): to_json(provenance_record(provenance)).encode(),
    }
    schema = schema.with_metadata(metadata)
    with write_errors(dest.text), atomic_path(dest.path, force=force, inputs=inputs) as tmp:
        try:
            with pq.ParquetWriter(tmp, schema) as writer:
                for batch in batches:
                    table = (
                        pa.Table.from_batches([batch])
                        if isinstance(batch, pa.RecordBatch)
                        else batch
                    )
                    if table.num_rows:
                        writer.write_table(table.cast(schema))
        except (pa.ArrowNotImplementedError, pa.ArrowTypeError, pa.ArrowInvalid) as exc:
            raise OutputError(f"{dest.text}: Parquet cannot store this table ({exc})") from None
    return [str(dest.path)]
