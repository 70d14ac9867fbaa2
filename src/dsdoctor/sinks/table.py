"""Table outputs (``dropna``/``impute`` of a whole table, ``encode`` of one of its columns):
every column of the source, written as Parquet or CSV, record batch after record batch, in
bounded memory.

``OUT.parquet`` holds the provenance in its schema metadata under the key ``dsdoctor``, beside
the metadata the caller's schema carries (:func:`pandas_metadata_without_range_index` keeps
pandas' for a repair that only drops rows); ``OUT.csv`` has no room for metadata, so the
provenance is the JSON file ``OUT.dsdoctor.json`` beside it. The kept row numbers of ``dropna`` are ``OUT.rows.npy`` (int64,
0-based rows of the source). The files are one atomic group (:mod:`.atomic`): all of them
appear, or none.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..diskspace import write_errors
from ..errors import OutputError
from .atomic import atomic_group
from .destination import Destination
from .npy import npy_header
from .provenance import METADATA_KEY, provenance_record, to_json

#: Table outputs by extension.
TABLE_OUTPUTS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}


def table_format(out: str | Path) -> str:
    """``parquet`` or ``csv`` for a table output name; any other name is refused."""
    fmt = TABLE_OUTPUTS.get(Path(out).suffix.lower())
    if fmt is None:
        raise OutputError(f"{out}: a table is written as .parquet or .csv; name the output so")
    return fmt


def sibling(out: Path, suffix: str) -> Path:
    """``x.parquet`` + ``.rows.npy`` → ``x.rows.npy``."""
    return out.with_name(out.name[: -len(out.suffix)] + suffix if out.suffix else out.name + suffix)


class TableWriter:
    """Appends record batches (and, for ``dropna``, the kept row numbers)."""

    def __init__(self, schema: Any, table: Any, rows: IO[bytes] | None, declared: int | None):
        self.schema, self.table, self.rows, self.declared = schema, table, rows, declared
        self.written = 0
        self.paths: list[str] = []

    def write(self, batch: Any, rows: np.ndarray | None = None) -> None:
        import pyarrow as pa

        if batch.num_rows:
            self.table.write_table(pa.Table.from_batches([batch], schema=self.schema))
        if self.rows is not None:
            assert rows is not None and len(rows) == batch.num_rows
            self.rows.write(np.ascontiguousarray(rows, dtype="<i8").tobytes())
        self.written += batch.num_rows

    def finish(self) -> None:
        if self.declared is not None and self.written != self.declared:
            raise OutputError(f"wrote {self.written:,} rows where {self.declared:,} were declared")


@contextmanager
def stream_table(
    out: str | Path,
    schema: Any,
    provenance: Mapping[str, Any],
    *,
    force: bool,
    inputs: Iterable[str | Path] = (),
    rows: int | None = None,
) -> Iterator[TableWriter]:
    """Yield a writer of the table ``out`` (``.parquet`` or ``.csv``) with ``schema``; with
    ``rows`` (the number of rows that will be written) the row numbers go to ``OUT.rows.npy``.
    At a URL the files are written in a local temporary folder, then uploaded (:mod:`.remote`:
    the main file last; on any failure none is left)."""
    from ..locations import is_url

    if not is_url(str(out)):
        with _stream_local(out, schema, provenance, force=force, inputs=inputs, rows=rows) as w:
            yield w
        return
    from .destination import url_table_destination
    from .remote import remote_output, upload

    dest = url_table_destination(str(out), table_format(str(out)))
    with remote_output(dest, force=force, inputs=inputs) as local:
        with _stream_local(local.path, schema, provenance, force=True, rows=rows) as w:
            yield w
        w.paths = [str(p.display) for p in upload([Path(p) for p in w.paths], dest, force=force)]


@contextmanager
def _stream_local(
    out: str | Path,
    schema: Any,
    provenance: Mapping[str, Any],
    *,
    force: bool,
    inputs: Iterable[str | Path] = (),
    rows: int | None = None,
) -> Iterator[TableWriter]:
    import pyarrow as pa

    dest = Path(out)
    fmt = table_format(out)
    record = provenance_record(provenance)
    paths = [dest]
    if rows is not None:
        paths.append(sibling(dest, ".rows.npy"))
    if fmt == "csv":
        paths.append(sibling(dest, ".dsdoctor.json"))
    with (
        write_errors(str(out)),
        atomic_group(paths, force=force, inputs=inputs) as temps,
        ExitStack() as files,
    ):
        if fmt == "parquet":
            import pyarrow.parquet as pq

            schema = schema.with_metadata(
                {**(schema.metadata or {}), METADATA_KEY.encode(): to_json(record).encode()}
            )
            try:
                table = files.enter_context(pq.ParquetWriter(temps[0], schema))
            except (pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
                raise OutputError(f"{out}: Parquet cannot store these columns ({exc})") from None
        else:
            import pyarrow.csv as pcsv

            table = files.enter_context(pcsv.CSVWriter(str(temps[0]), schema))
            Path(temps[-1]).write_text(to_json(record) + "\n", encoding="utf-8")
        stream = None
        if rows is not None:
            stream = files.enter_context(open(temps[1], "wb"))
            named = Destination(str(paths[1]), paths[1], "npy")
            stream.write(npy_header(named, "rows", (rows,), np.dtype("<i8")))
        writer = TableWriter(schema, table, stream, rows)
        writer.paths = [str(p) for p in paths]
        yield writer
        writer.finish()


def pandas_metadata_without_range_index(schema: Any) -> Any:
    """``schema`` with only pandas' metadata kept, minus a ``RangeIndex`` (start, stop, step: not
    the index of the rows a repair kept). An index stored as a column stays the index, so
    ``pd.read_parquet`` gives the kept rows their original labels."""
    import json

    raw = (schema.metadata or {}).get(b"pandas")
    if raw is None:
        return schema.remove_metadata()
    try:
        meta = json.loads(raw)
        meta["index_columns"] = [c for c in meta.get("index_columns", []) if isinstance(c, str)]
    except (ValueError, AttributeError, TypeError):
        return schema.remove_metadata()
    return schema.with_metadata({b"pandas": json.dumps(meta).encode()})
