"""CSV/TSV through pyarrow's streaming reader, block by block — compressed or not, in the
dialect its head shows (:mod:`dsdoctor.sources.csv_dialect`), with types that hold for every
row.

**Compression** follows the extension: ``.csv.gz``, ``.csv.bz2`` and ``.csv.zst`` (and
``.tsv.…``) are decompressed by Arrow's streams, ``.csv.xz`` by Python's :mod:`lzma`; either
way as the file is read, in bounded memory.

**Types**: pyarrow infers each column's type from the first block (4 MiB) and then fails on
the first value that does not convert ("CSV conversion error to int64: invalid value '1.5'"),
however late. Before any data is handed out, the row-counting pass (which must read the whole
file anyway) converts every column that is not text with the inferred types: a clean file
passes once. A value that does not convert widens its column — int64 → float64 → string
(a null column takes the first type its values fit) — for the rest of the file at once
(that part read as text and test-cast), and the pass is made again with the wider types, so
pyarrow's own conversion is the judge. A file within one block needs no such pass: its types
were inferred from all of it. The passes that follow name every column's type (pyarrow then
converts faster than while inferring: 1.4 s instead of 2.2 s for 225 MB of numbers), so the
check costs about what it saves.

**One pass** (``one_pass=True``, how ``check`` opens a CSV): that pass is the check's own. The
types of the first block are taken as they are, and the first read of the whole file (the
check's scan, which reads every column) converts every column that is not text with them and
counts the rows: a clean file is parsed once. A value that does not convert stops it with
:class:`~dsdoctor.sources.base.TypesChanged`, and ``check`` starts again on the file opened
the other way, so the types it reports are those above, found the same way. That read names
every column's type (a third less CPU than pyarrow inferring them as it goes) and reads
:data:`SCAN_BLOCK` at a time where the rows are short: pyarrow keeps about 37 blocks in flight,
so the block sets the reader's memory (4 MiB blocks: about 150 MB; 1 MiB: about 40 MB). A row
longer than that block (pyarrow: "straddling object") also starts ``check`` again.
"""

from __future__ import annotations

import lzma
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..errors import SourceError
from ..interrupts import check
from ..locations import Location, open_binary
from ..units import parse_decimal, parse_delimiter
from .base import TypesChanged
from .csv_dialect import HEAD_BYTES, Dialect, compression_of, sniff_dialect
from .parquet import ARROW_ERRORS, arrow_error
from .table import UNNAMED_INDEX, TableSource

BLOCK_BYTES = 4 * 1024**2
#: The block a one-pass scan reads at a time (pyarrow's default), where the longest line of the
#: head is at most 1/16 of it; else BLOCK_BYTES (a row must fit in one block).
SCAN_BLOCK = 1024**2
#: pyarrow's error for a row with the wrong number of fields, when it knows the row's number.
BAD_ROW = re.compile(r"Row #(\d+): Expected (\d+) columns, got (\d+): (.*)")
#: pyarrow's error for a value that does not convert to the type inferred from the first block.
CONVERSION = re.compile(
    r"In CSV column #(?P<column>\d+): CSV conversion error to (?P<type>\w+): invalid value '(?P<value>.*)'",
    re.DOTALL,
)
#: What reading a CSV may raise: Arrow's errors, and those of Python's xz decompressor on a
#: damaged or cut stream, which pyarrow passes on as they are.
CSV_ERRORS = (*ARROW_ERRORS, lzma.LZMAError, EOFError)


class CsvSource(TableSource):
    format = "csv"

    def __init__(self, path: Path, display: str, *, target: str | None = None,
                 delimiter: str | None = None, header: bool | None = None,
                 decimal: str | None = None, one_pass: bool = False):  # fmt: skip
        self._path = path
        #: the first full read settles the types and counts the rows (see the module's docstring)
        self._one_pass = one_pass
        self._display = display
        self._rows: int | None = None
        self._pending: tuple[Any, Any] | None = None  # (reader, stream) of the schema's reader
        self._names: list[str] | None = None  # column names given to pyarrow (no header, renamed)
        self._skip = 0  # rows before the data that pyarrow must skip (a header read by dsdoctor)
        self.widened: dict[str, str] = {}
        self.renamed: dict[str, str] = {}
        compression = compression_of(path.name)
        head, whole = self._head(compression)
        self.dialect: Dialect = sniff_dialect(
            head, whole=whole, display=display, compression=compression,
            tsv=".tsv" in path.name.lower(),
            delimiter=parse_delimiter(delimiter) if delimiter is not None else None,
            header=header, decimal=parse_decimal(decimal) if decimal is not None else None,
        )  # fmt: skip
        self.delimiter = self.dialect.delimiter
        # types inferred from the first block hold when that block is the whole file
        self._checked = whole or (compression is None and path.stat().st_size <= BLOCK_BYTES)
        try:
            reader, stream = self._open(None, None, infer=True)
        except CSV_ERRORS as exc:
            raise self._error(exc) from None
        try:
            self._schema = self._named(reader.schema)
        except UnicodeDecodeError:
            _close(reader, stream)
            raise SourceError(
                f"{display} has column names that are not valid UTF-8; the file is damaged"
            ) from None
        if target is not None and target not in self._schema.names and not self.dialect.header:
            _close(reader, stream)
            raise SourceError(
                f"{display} has no column {target!r} for --target: its row 1 was read as data "
                f"({self.dialect.header_reason}), so its columns are 0 to {len(self._schema) - 1}; "
                "--header reads row 1 as the names"
            )
        if self._checked:
            self._pending = (reader, stream)
        else:
            _close(reader, stream)
        self._head_rows = head.count(b"\n") / max(1, len(head))  # rows per byte, for estimates
        lines = head.split(b"\n")[: None if whole else -1]  # the last may be cut by the head
        short = len(lines) > 1 and max(map(len, lines)) * 16 <= SCAN_BLOCK
        self._scan_block = SCAN_BLOCK if short else BLOCK_BYTES
        try:
            super().__init__(path, display, target=target)
        except BaseException:
            self.close()
            raise

    # -- the columns --------------------------------------------------------------------------
    @property
    def schema(self) -> pa.Schema:
        """The columns and their types, which every value of the file converts to (opened
        ``one_pass``: those of the first block until the first full read has checked them)."""
        if not self._checked and not self._one_pass:
            self._rows = self._check_types()
        return self._schema

    @schema.setter
    def schema(self, value: pa.Schema) -> None:
        self._schema = value

    def _named(self, schema: pa.Schema) -> pa.Schema:
        """The schema under the names dsdoctor gives: 0…k-1 without a header, and a repeated
        name numbered as pandas numbers it (``a``, ``a.1``) — pyarrow cannot select either of
        two columns of one name ("Column a does not exist in schema")."""
        if not self.dialect.header:
            self._names = [str(i) for i in range(len(schema))]
        elif len(set(schema.names)) < len(schema.names):
            seen: set[str] = set()
            names = []
            for name in schema.names:
                new, i = name, 0
                while new in seen:
                    i += 1
                    new = f"{name}.{i}"
                if new != name:
                    self.renamed[new] = name
                seen.add(new)
                names.append(new)
            self._names, self._skip = names, 1
        if self._names is None:
            return schema
        return pa.schema([f.with_name(n) for f, n in zip(schema, self._names, strict=True)])

    # -- reading --------------------------------------------------------------------------------
    def _stream(self, compression: str | None):
        """A fresh binary stream of the file's text, decompressed as it is read."""
        if isinstance(self._path, Location):  # a URL's object, read ahead a small block at a time
            # (compressed: the decompressor reads 64 KiB at a time, so blocks of 1 MiB, one held)
            fp = open_binary(self._path, cache="stream" if compression else "readahead")
            return (
                lzma.open(fp, "rb")
                if compression == "xz"
                else pa.input_stream(fp, compression=compression)
            )
        if compression == "xz":
            return lzma.open(self._path, "rb")
        return pa.input_stream(str(self._path), compression=compression)

    def _head(self, compression: str | None) -> tuple[bytes, bool]:
        """The first bytes of the text, and whether they are all of it."""
        parts: list[bytes] = []
        size = 0
        try:
            with self._stream(compression) as fp:
                while size <= HEAD_BYTES:
                    part = fp.read(HEAD_BYTES + 1 - size)
                    if not part:
                        break
                    parts.append(part)
                    size += len(part)
        except (FileNotFoundError, PermissionError, IsADirectoryError):
            raise
        except CSV_ERRORS as exc:
            what = f"{compression}-compressed CSV" if compression else "CSV"
            raise SourceError(
                f"{self._display} cannot be read as {what} ({str(exc).splitlines()[0][:200]})"
            ) from None
        head = b"".join(parts)
        return head[:HEAD_BYTES], len(head) <= HEAD_BYTES

    def _open(self, columns: list[str] | None, types: dict[str, pa.DataType] | None, *,
              infer: bool = False, block: int = BLOCK_BYTES, threads: bool = True,
              skip: int = 0) -> tuple[Any, Any]:  # fmt: skip
        """A streaming reader of ``columns`` (None: all) with ``types`` (None: inferred from the
        first block), and the stream it reads (closed by :func:`_close`). An empty cell is a
        null in every column, text included, as pandas reads it (not a category ``""``; and the
        widening pass, which reads numbers as text, sees a missing number as missing)."""
        names: dict[str, Any] = {}
        if self._names is not None and not infer:
            names = {"column_names": self._names, "skip_rows": self._skip}
        elif not self.dialect.header:
            names = {"autogenerate_column_names": True}
        stream = self._stream(self.dialect.compression)
        try:
            reader = pacsv.open_csv(
                stream,
                read_options=pacsv.ReadOptions(block_size=block, use_threads=threads,
                                               skip_rows_after_names=skip, **names),
                parse_options=pacsv.ParseOptions(delimiter=self.dialect.delimiter),
                convert_options=pacsv.ConvertOptions(include_columns=columns, column_types=types,
                                                     decimal_point=self.dialect.decimal,
                                                     strings_can_be_null=True),
            )  # fmt: skip
        except BaseException:
            stream.close()
            raise
        return reader, stream

    @contextmanager
    def _reading(self, columns: list[str] | None, *, threads: bool = True,
                 types: dict[str, pa.DataType] | None = None,
                 **options: Any) -> Iterator[Iterator[pa.RecordBatch]]:  # fmt: skip
        """The record batches of ``columns`` with their final types (or ``types``). The first
        pass over all columns takes the reader that gave the schema, if it is still kept
        (opening one infers every column's type from the first block: 100,000 columns take
        seconds)."""
        names = self._schema.names
        whole = columns is None or columns == names
        if whole and self._pending is not None and threads and types is None and not options:
            (reader, stream), self._pending = self._pending, None
            renamed = self._names
        else:
            wanted = names if columns is None else columns
            reader, stream = self._open(None if whole else list(wanted),
                                        types or {c: self._schema.field(c).type for c in wanted},
                                        threads=threads, **options)  # fmt: skip
            renamed = None
        try:
            yield reader if renamed is None else (b.rename_columns(renamed) for b in reader)
        finally:
            _close(reader, stream)

    def close(self) -> None:
        if self._pending is not None:
            _close(*self._pending)
            self._pending = None

    @property
    def num_rows(self) -> int:
        if self._rows is None:
            self.schema  # noqa: B018 - a file past one block is counted while its types are checked
        if self._rows is None:  # read to be counted (a whole read counts them: see batches)
            first = self._schema.names[:1]
            counted = sum(b.num_rows for b in self.batches(first, 1 << 30)) if first else 0
            self._rows = counted if self._rows is None else self._rows
        return self._rows

    def known_rows(self) -> int | None:
        """None until a whole read has counted the rows: a pass over them is the count."""
        return self._rows

    def rows_estimate(self) -> int:
        if self._rows is not None:
            return self._rows
        if self.dialect.compression is not None:
            return 0
        return round(self._head_rows * self._path.stat().st_size)

    def layout(self) -> dict:
        # "delimiter" was the whole layout before the dialect was sniffed (a JSON field kept)
        out: dict = {"delimiter": self.delimiter, "dialect": self.dialect.layout()}
        if self.widened:
            out["widened"] = "; ".join(f"{k}: {v}" for k, v in self.widened.items())
        return out

    def reading(self) -> str:
        """How the file was read, in one line (``inspect`` shows it)."""
        parts = [self.dialect.describe()]
        if self.renamed:
            parts.append("repeated column names numbered: " + ", ".join(self.renamed))
        parts += [f"column {k} read as {v}" for k, v in self.widened.items()]
        return "; ".join(parts)

    def index_columns(self) -> list[str]:
        """An unnamed first column (an empty header, or ``Unnamed: 0``): the index a default
        ``DataFrame.to_csv()`` writes. ``check`` verifies on the values that it counts 0..N-1."""
        names = self.schema.names
        return names[:1] if len(names) > 1 and names[0] in UNNAMED_INDEX else []

    def batches(self, columns: list[str] | None, rows: int) -> Iterator[pa.RecordBatch]:
        """The record batches of ``columns`` (None: all), ``rows`` at most each. A read to the
        end counts the rows; opened ``one_pass``, the first such read also checks the types
        (every column that is not text is read with them, and handed out only if asked)."""
        self.schema  # noqa: B018 - the types are final before any data is handed out
        settling = not self._checked  # only opened one_pass: this read settles the types
        names = self._schema.names
        wanted = names if columns is None else list(columns)
        read = wanted
        if settling:
            asked = set(wanted)
            read = [*wanted, *(f.name for f in self._schema if f.name not in asked and not _is_text(f.type))]  # fmt: skip
        whole = len(read) == len(names) and set(read) == set(names)
        counted, same = 0, None
        options: dict[str, Any] = {"block": self._scan_block} if settling else {}  # typed, own
        try:
            with self._reading(None if whole else read, **options) as reader:
                for batch in reader:
                    check()  # pyarrow's reader threads never return to a signal handler
                    counted += batch.num_rows
                    if same is None:
                        same = batch.schema.names == wanted
                    if not same:  # columns not asked for, or in another order
                        batch = batch.select(wanted)
                    for start in range(0, batch.num_rows, rows):
                        yield batch.slice(start, rows)
        except CSV_ERRORS as exc:
            if settling and (CONVERSION.search(str(exc)) or "straddl" in str(exc)):
                raise TypesChanged(
                    f"{self._display}: a value past the first block does not convert to its "
                    f"column's type, or a row is longer than {self._scan_block:,} bytes "
                    f"({str(exc).splitlines()[0][:200]})"
                ) from None
            raise self._error(exc) from None
        self._checked = True
        if self._rows is None:
            self._rows = counted

    # -- types past the first block -------------------------------------------------------------
    def _check_types(self) -> int:
        """Count the rows while converting every column that is not text with its type; widen
        the columns a value does not fit and count again (see the module's docstring)."""
        self._checked = True  # the schema is read below without coming back here
        schema = self._schema
        for _ in range(3 * len(schema) + 1):  # every round widens a column by one step or more
            names = [f.name for f in schema if not _is_text(f.type)] or schema.names[:1]
            if not names:
                return 0
            rows = 0
            try:
                with self._reading(names) as reader:
                    for batch in reader:
                        check()
                        rows += batch.num_rows
                return rows
            except CSV_ERRORS as exc:
                failed = CONVERSION.search(str(exc))
                if failed is None:
                    raise self._error(exc) from None
            try:
                schema = self._schema = self._widen(names, rows, failed)
            except CSV_ERRORS as exc:
                raise self._error(exc) from None
        raise SourceError(
            f"{self._display}: its column types did not settle; this is a bug"
        )  # pragma: no cover

    def _widen(self, names: list[str], rows: int, failed: re.Match[str]) -> pa.Schema:
        """The schema with every column widened that a value after row ``rows`` does not fit:
        the rest of the file read as text and test-cast, column by column. The column pyarrow
        named widens past the value it named whatever the test found."""
        schema = self._schema
        types = {n: schema.field(n).type for n in names}
        wider = dict(types)
        as_text = dict.fromkeys(names, pa.string())
        with self._reading(names, types=as_text, skip=rows) as reader:
            for batch in reader:
                check()
                for i, name in enumerate(batch.schema.names):
                    if not _is_text(wider[name]):
                        wider[name] = wider_type(wider[name], batch.column(i), self.dialect.decimal)
        named = schema.names[int(failed["column"])]
        value = pa.array([failed["value"]], pa.string())
        if named in wider and wider[named] == types[named]:
            wider[named] = wider_type(_next(types[named]), value, self.dialect.decimal)
        for name, t in wider.items():
            if t != types[name]:
                shown = f" ({failed['value'][:40]!r})" if name == named else ""
                self.widened[name] = (f"{type_name(t)}: a value after row {rows:,} is not "
                                      f"{type_name(types[name])}{shown}")  # fmt: skip
                schema = schema.set(schema.get_field_index(name), schema.field(name).with_type(t))
        return schema

    # -- errors -----------------------------------------------------------------------------------
    def _error(self, exc: BaseException):
        """A clean error; a row with the wrong number of fields is located and named."""
        if "Expected" in str(exc) and "columns" in str(exc):
            said = BAD_ROW.search(str(exc)) or self._numbered_error()
            if said is not None:
                number, expected, actual, text = said.groups()
                kind = "TSV" if self.delimiter == "\t" else "CSV"
                first = "the header" if self.dialect.header else "row 1"
                return SourceError(
                    f"{self._display} is not valid {kind}: row {number} has {actual} fields where "
                    f"{first} has {expected} ({text[:80]!r}); fix that row or the delimiter"
                )
        return arrow_error(self._display, exc, "CSV")

    def _numbered_error(self) -> re.Match[str] | None:
        """pyarrow's threaded reader does not know row numbers; its serial one puts the row in
        its error. Only on this error path is the file read again, serially. (Not through an
        ``invalid_row_handler``: pyarrow decodes the row's text as UTF-8 before calling it and
        prints a traceback when that fails.)"""
        try:
            reader, stream = self._open(None, None, infer=True, threads=False)
            try:
                for _ in reader:
                    pass
            finally:
                _close(reader, stream)
        except CSV_ERRORS as exc:
            return BAD_ROW.search(str(exc))
        return None


def _close(reader: Any, stream: Any) -> None:
    try:
        reader.close()
    finally:
        stream.close()


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t)


def type_name(t: pa.DataType) -> str:
    """``double`` → ``float64``: a type as numpy (and dsdoctor's messages) name it."""
    return {"double": "float64", "float": "float32", "halffloat": "float16"}.get(str(t), str(t))


def _next(t: pa.DataType) -> pa.DataType:
    """The next wider type: null → int64 → float64 → string; any other type → string."""
    if pa.types.is_null(t):
        return pa.int64()
    if pa.types.is_integer(t):
        return pa.float64()
    return pa.string()


def wider_type(t: pa.DataType, text: pa.Array, decimal: str) -> pa.DataType:
    """The narrowest of ``t`` and the types wider than it that every value of ``text`` (the
    values as written, nulls where pyarrow reads a missing value) converts to."""
    while not _is_text(t) and not fits(t, text, decimal):
        t = _next(t)
    return t


def fits(t: pa.DataType, text: pa.Array, decimal: str = ".") -> bool:
    """Whether every value of ``text`` converts to ``t`` as pyarrow's CSV reader converts it
    (it trims spaces; with a decimal comma, ``1,5`` is a number and ``1.5`` is not)."""
    values = pc.utf8_trim_whitespace(text.drop_null())
    if len(values) == 0:
        return True
    if pa.types.is_null(t):
        return False
    if pa.types.is_floating(t) and decimal != ".":
        if pc.any(pc.match_substring(values, ".")).as_py():
            return False
        values = pc.replace_substring(values, decimal, ".")
    try:
        pc.cast(values, t)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return False
    return True
