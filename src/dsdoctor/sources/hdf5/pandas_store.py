"""DataFrames that pandas wrote with ``df.to_hdf`` / ``pd.HDFStore`` (PyTables), read as tables.

A frame is a group whose attribute ``pandas_type`` is ``frame`` (the *fixed* format) or
``frame_table`` (the *table* format); :class:`FrameSource` reads it as the table it is (a
:class:`~dsdoctor.sources.table.TableSource`: named columns, ``--target``, numeric columns
stacked), with the index reported as the index and never a column. Both layouts are read by
row slices with h5py, ``rows`` at a time:

- **fixed**: ``axis0`` holds the column names, ``axis1`` the index (``axis1_level*`` and
  ``axis1_label*`` for a MultiIndex); the columns are in blocks of one dtype,
  ``block{i}_items`` (their names, plain strings) and ``block{i}_values`` (N rows × k columns).
  A block of Python objects (strings) is one pickle in a variable-length array: it is read
  only with ``--allow-pickle``; otherwise its columns are named as not read.
- **table**: one compound dataset ``table`` with the field ``index``, blocks
  ``values_block_{i}`` (N × k) and one field per data column; a MultiIndex's levels are data
  columns named in the group attribute ``levels``. Strings are fixed-width bytes (safe), a
  category is its codes plus the categories under ``meta/``.

The names of a table-format frame's columns are in pickled attributes (``non_index_axes``,
``values_block_0_kind``): they are read with :func:`~.plain_pickle.plain_loads`, which never
imports or calls anything. Nothing here unpickles data unless ``allow_pickle`` is given.
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...errors import SourceError, UnsafeInputError
from ...units import format_bytes
from ..base import ArrayHandle, Entry
from ..table import TableSource
from .limits import READ_BUDGET
from .plain_pickle import looks_pickled, plain_loads

#: ``pandas_type`` values of the DataFrames read as tables.
FRAME_TYPES = {"frame": "fixed", "frame_table": "table", "series": "fixed", "series_table": "table"}
#: pandas writes NaT as the smallest int64.
NAT = np.iinfo(np.int64).min
_DATETIME = re.compile(r"(datetime64|timedelta64|m8|M8)(?:\[(\w+)(?:,\s*(.+))?\])?$")
PICKLE_HINT = (
    "pass --allow-pickle for a file you trust, or re-save it with "
    "df.to_hdf(path, key=KEY, format='table'), which stores strings as text"
)


def pandas_type(obj: h5py.Group) -> str | None:
    """The group's ``pandas_type`` attribute (``frame``, ``frame_table``, ``series``…), or None."""
    try:
        raw = obj.attrs.get("pandas_type")
    except (OSError, RuntimeError, ValueError, TypeError, KeyError):
        return None
    if raw is None:
        return None
    return _text(raw)


def _text(raw) -> str:
    if isinstance(raw, np.ndarray) and raw.shape == ():
        raw = raw.item()
    if isinstance(raw, bytes | np.bytes_):
        return bytes(raw).decode("utf-8", errors="replace")
    return str(raw)


def _attr(attrs, name: str, where: str, default=None):
    """A PyTables attribute as a Python value: a pickled one parsed by :func:`plain_loads`
    (``None`` is stored as the pickle ``N.``, lists and tuples as pickles), a string decoded."""
    try:
        if name not in attrs:
            return default
        raw = attrs[name]
    except (OSError, RuntimeError, ValueError, TypeError, KeyError):
        return default
    if isinstance(raw, np.ndarray) and raw.shape == ():
        raw = raw.item()
    if isinstance(raw, bytes | np.bytes_):
        data = bytes(raw)
        if looks_pickled(data):
            try:
                return plain_loads(data)
            except UnsafeInputError as exc:
                raise UnsafeInputError(f"{where}: attribute {name!r}: {exc}; not read") from None
            except ValueError:
                pass  # a string that only looks like a pickle
        return data.decode("utf-8", errors="replace")
    if isinstance(raw, np.generic):
        return raw.item()
    return raw


@dataclass
class Column:
    """Where one column of a frame is stored and how its values become Arrow."""

    name: str
    dataset: str  # fixed: the block's dataset; table: "table"
    field: str | None  # table: the compound field
    position: int | None  # the column inside a (N, k) block; None: a 1-D field
    kind: str  # "number" | "bool" | "datetime" | "duration" | "bytes" | "category" | "object"
    arrow: pa.DataType
    unit: str = "ns"
    tz: str | None = None
    nan_rep: bytes | None = None
    categories: pa.Array | None = None
    itemsize: int = 8


@dataclass
class IndexInfo:
    """The frame's index, described (never read as a column)."""

    kind: str  # "integer", "datetime64[us]", "string", "MultiIndex", …
    names: list[str | None]

    def text(self) -> str:
        named = ", ".join(repr(n) for n in self.names if n is not None)
        if self.kind == "MultiIndex":
            return f"a MultiIndex of {len(self.names)} levels ({named or 'unnamed'})"
        return f"{'the ' + named if named else 'an unnamed'} {self.kind} index"

    def short(self) -> str:
        """``rid (integer)``, ``(g, h) (MultiIndex)``: for the layout of each array."""
        names = ", ".join("unnamed" if n is None else n for n in self.names)
        return f"{names if len(self.names) == 1 else f'({names})'} ({self.kind})"


class FrameSource(TableSource):
    """One pandas DataFrame of an HDFStore, read as a table."""

    format = "hdf5"

    def __init__(self, file: h5py.File, key: str, display: str, path: Path, *,
                 target: str | None = None, allow_pickle: bool = False):  # fmt: skip
        self.file, self.key, self.allow_pickle = file, key, allow_pickle
        self.group = file[key]
        self.layout_name = FRAME_TYPES[pandas_type(self.group) or ""]
        self.columns: list[Column] = []
        #: columns not read, with the reason (pickled object blocks without --allow-pickle)
        self.unread: dict[str, str] = {}
        #: (dataset, its columns, why) of each pickled block not read
        self.pickled_blocks: list[tuple[str, list[str], str]] = []
        self._objects: dict[str, np.ndarray] = {}  # unpickled object blocks (--allow-pickle)
        self._empty: set[str] = set()  # blocks pandas stored as an empty array
        try:
            if self.layout_name == "fixed":
                self._rows = self._read_fixed(display)
            else:
                self._rows = self._read_table(display)
        except (OSError, RuntimeError, KeyError, TypeError, IndexError, ValueError,
                pa.ArrowException) as exc:  # fmt: skip
            raise SourceError(
                f"{display} is a pandas DataFrame ({self.layout_name} format) that cannot be "
                f"read ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
            ) from None
        names = [c.name for c in self.columns]
        dup = next((n for n in names if names.count(n) > 1), None)
        if dup is not None:
            raise SourceError(
                f"{display} has two columns named {dup!r}; rename one (df.columns) and re-save"
            )
        self._by_name = {c.name: c for c in self.columns}
        self.schema = pa.schema([pa.field(c.name, c.arrow) for c in self.columns])
        if target is not None and target in self.unread:
            raise UnsafeInputError(f"{display}:{target} for --target: {self.unread[target]}")
        super().__init__(path, display, target=target)

    # -- the fixed format -------------------------------------------------------------------
    def _read_fixed(self, display: str) -> int:
        g = self.group
        attrs = g.attrs
        series = pandas_type(g) == "series"
        axis = "index" if series else "axis1"
        variety = _attr(attrs, f"{axis}_variety", display, "regular")
        if variety == "multi":
            levels = int(_attr(attrs, f"{axis}_nlevels", display, 0))
            names = [_label(g[f"{axis}_level{i}"].attrs, display) for i in range(levels)]
            self.index = IndexInfo("MultiIndex", names)
            rows = _shape(g[f"{axis}_label0"], display)[0] if levels else 0
        else:
            kind = str(_attr(g[axis].attrs, "kind", display, "unknown"))
            self.index = IndexInfo(kind, [_label(g[axis].attrs, display)])
            rows = _shape(g[axis], display)[0]
        if series:  # one column: ``values``, named after the Series
            label = _attr(attrs, "name", display)
            order = [str(label) if label is not None else "values"]
            blocks_of = [(order, "values")]
        else:
            order = self._names(g["axis0"], display)
            blocks = int(_attr(attrs, "nblocks", display, 0))
            blocks_of = [(self._names(g[f"block{i}_items"], display), f"block{i}_values")
                         for i in range(blocks)]  # fmt: skip
        found: dict[str, Column] = {}
        for items, where in blocks_of:
            dset = g[where]
            vtype = str(_attr(dset.attrs, "value_type", display, "") or "")
            if h5py.check_vlen_dtype(dset.dtype) is not None or dset.dtype.kind == "O":
                self._object_block(dset, where, items, rows, vtype, found, display)
                continue
            shape = _shape(dset, display)
            if 0 in shape:  # pandas stores an empty block as one dummy element
                self._empty.add(where)
                shape = (0, len(items)) if rows == 0 else (rows, 0)
            if series and len(shape) == 1:
                position = None
            elif len(shape) != 2 or shape[0] != rows or shape[1] != len(items):
                raise SourceError(
                    f"{display} is damaged: {where} has shape {dset.shape} where the frame has "
                    f"{rows:,} rows and the block {len(items)} columns"
                )
            else:
                position = 0
            if shape[0] != rows:
                raise SourceError(
                    f"{display} is damaged: {where} has {shape[0]:,} rows, the index {rows:,}"
                )
            is_bool = _is_bitfield(dset)
            for j, name in enumerate(items):
                at = None if position is None else j
                tz = _zone(dset.attrs, display)
                try:
                    found[name] = _column(name, where, None, at, dset.dtype, vtype, is_bool, tz)
                except Unsupported as exc:
                    self.unread[name] = str(exc)
        missing = [n for n in order if n not in found and n not in self.unread]
        if missing:
            raise SourceError(f"{display} is damaged: no block holds the column(s) {missing[:5]}")
        self.columns = [found[n] for n in order if n in found]
        return rows

    def _names(self, dset: h5py.Dataset, display: str) -> list[str]:
        """Column names from an ``axis0`` / ``block*_items`` array: plain strings or numbers."""
        if h5py.check_vlen_dtype(dset.dtype) is not None or dset.dtype.kind == "O":
            raise SourceError(
                f"{display}: the column names in {dset.name} are pickled Python objects (names "
                "of mixed types), which dsdoctor does not unpickle; give the columns string "
                "names (df.columns = df.columns.astype(str)) and re-save"
            )
        values = dset[()]
        if values.dtype.kind == "S":
            return [v.decode("utf-8", errors="replace") for v in values.tolist()]
        return [str(v) for v in values.tolist()]

    def _object_block(self, dset, where, items, rows, vtype, found, display) -> None:
        """A block of Python objects: one pickle. Read only with ``allow_pickle``."""
        stored = int(dset.id.get_storage_size())
        names = ", ".join(map(repr, items))
        if not self.allow_pickle:
            why = (f"pickled Python objects ({vtype or 'object'}) in {self.key}/{where}; "
                   f"dsdoctor does not unpickle by default: {PICKLE_HINT}")  # fmt: skip
            for name in items:
                self.unread[name] = why
            self.pickled_blocks.append((where, items, why))
            return
        if stored > READ_BUDGET:
            raise SourceError(
                f"{display}: the pickled column(s) {names} take {format_bytes(stored)}, more than "
                f"dsdoctor unpickles at once ({format_bytes(READ_BUDGET)}); re-save with "
                "format='table'"
            )
        try:
            values = pickle.loads(dset[0].tobytes())  # --allow-pickle was given
            values = np.asarray(values, dtype=object)
        except Exception as exc:  # whatever the pickle raises
            raise SourceError(f"{display}: {where} cannot be unpickled ({exc})") from None
        if values.ndim == 1:
            values = values.reshape(-1, 1)
        if values.shape == (len(items), rows) and values.shape != (rows, len(items)):
            values = values.T
        if values.shape != (rows, len(items)):
            raise SourceError(
                f"{display} is damaged: {where} unpickles to shape {values.shape} where the frame "
                f"has {rows:,} rows and the block {len(items)} columns"
            )
        self._objects[where] = values
        for j, name in enumerate(items):
            col = values[:, j]
            try:
                arrow = pa.array(col[:1024], from_pandas=True).type
            except (pa.ArrowException, TypeError, ValueError):
                arrow = pa.string()
            if pa.types.is_null(arrow):
                arrow = pa.string()
            found[name] = Column(name, where, None, j, "object", arrow)

    # -- the table format -------------------------------------------------------------------
    def _read_table(self, display: str) -> int:
        g = self.group
        table = g["table"]
        attrs, tattrs = g.attrs, table.attrs
        axes = _attr(attrs, "non_index_axes", display, [])
        order = [str(n) for n in axes[0][1]] if axes else []
        levels = _attr(attrs, "levels", display, 1)
        level_names = [str(n) for n in levels] if isinstance(levels, list) else []
        fields = table.dtype.names or ()
        nan_rep = _attr(attrs, "nan_rep", display) or "nan"
        if level_names:
            self.index = IndexInfo("MultiIndex", list(level_names))
        else:
            self.index = IndexInfo(str(_attr(tattrs, "index_kind", display, "unknown")),
                                   [self._index_name(display)])  # fmt: skip
        info = self._info(display)
        found: dict[str, Column] = {}
        for fname in fields:
            if fname == "index":
                continue
            about = info.get(fname)
            zone = about.get("tz") if isinstance(about, dict) else None
            names = _attr(tattrs, f"{fname}_kind", display)
            if not isinstance(names, list):
                raise SourceError(
                    f"{display} is damaged: the table field {fname!r} names no columns"
                )
            dtype_text = str(_attr(tattrs, f"{fname}_dtype", display, "") or "")
            meta = _attr(tattrs, f"{fname}_meta", display)
            member = table.dtype.fields[fname][0]
            base, block = member.subdtype if member.subdtype else (member, ())
            position = None if not block else 0
            if block and block[0] != len(names):
                raise SourceError(
                    f"{display} is damaged: the field {fname!r} holds {block[0]} columns but names {len(names)}"
                )
            rep = _attr(tattrs, f"{fname}_nan_rep", display, nan_rep)
            for j, name in enumerate(map(str, names)):
                try:
                    col = _column(name, "table", fname, None if position is None else j, base,
                                  dtype_text, dtype_text == "bool", zone)  # fmt: skip
                except Unsupported as exc:
                    self.unread[name] = str(exc)
                    continue
                if col.kind == "bytes":
                    col.nan_rep = str(rep).encode()
                if meta == "category":
                    col = self._category(col, fname, display)
                found[name] = col
        for name in level_names:
            found.pop(name, None)
        if not order:
            order = list(found)
        missing = [n for n in order if n not in found and n not in level_names]
        if missing:
            raise SourceError(f"{display} is damaged: no field holds the column(s) {missing[:5]}")
        self.columns = [found[n] for n in order if n in found]
        return int(table.shape[0])

    def _info(self, display: str) -> dict:
        """The group's ``info`` (index name, zones of datetime blocks); empty when it holds a
        pickled object (a ``freq``), which is never loaded: nothing needed is lost."""
        try:
            info = _attr(self.group.attrs, "info", display, {})
        except UnsafeInputError:
            return {}
        return info if isinstance(info, dict) else {}

    def _index_name(self, display: str) -> str | None:
        index = self._info(display).get("index")
        name = index.get("index_name") if isinstance(index, dict) else None
        return None if name is None else str(name)

    def _category(self, col: Column, fname: str, display: str) -> Column:
        """A categorical column: codes in the table, the categories in ``meta/<field>/meta``."""
        path = f"meta/{fname}/meta/table"
        if path not in self.group:
            raise SourceError(
                f"{display} is damaged: the categories of {col.name!r} ({path}) are missing"
            )
        cats = self.group[path]
        values = cats["values"] if cats.dtype.names and "values" in cats.dtype.names else cats[()]
        if values.dtype.kind == "S":
            categories = pa.array(np.char.decode(values, "utf-8"))
        else:
            categories = pa.array(values)
        index = pa.from_numpy_dtype(np.dtype(col.arrow.to_pandas_dtype()))
        return Column(col.name, col.dataset, col.field, col.position, "category",
                      pa.dictionary(index, categories.type), categories=categories,
                      itemsize=col.itemsize)  # fmt: skip

    # -- what TableSource needs -------------------------------------------------------------
    @property
    def num_rows(self) -> int:
        return self._rows

    def layout(self) -> dict:
        return {"frame": self.key, "index": self.index.short(),
                **({"not_read": list(self.unread)} if self.unread else {})}  # fmt: skip

    def row_estimate(self, columns: list[str]) -> int:
        if self.layout_name == "table":
            return max(1, self.group["table"].dtype.itemsize)
        return max(1, sum(self._by_name[c].itemsize for c in columns if c in self._by_name))

    def batches(self, columns: list[str], rows: int) -> Iterator[pa.RecordBatch]:
        wanted = [self._by_name[c] for c in columns]
        n, rows = self._rows, max(1, self._rows_within(wanted, rows))
        try:
            for lo in range(0, n, rows):
                hi = min(n, lo + rows)
                raw = self._read(wanted, lo, hi)
                arrays = [self._arrow(c, raw, lo, hi) for c in wanted]
                yield pa.RecordBatch.from_arrays(arrays, names=[c.name for c in wanted])
        except (OSError, RuntimeError, ValueError, TypeError, KeyError, pa.ArrowException) as exc:
            where = f"{self.display}:{','.join(columns)}"
            missing = self._missing_filters(wanted)
            if missing:
                raise SourceError(
                    f"{where} is compressed with {' and '.join(missing)}, which this HDF5 "
                    "installation cannot decode; install the filter plugin (`pip install "
                    "hdf5plugin` has Blosc, LZ4, Zstandard…; LZO comes with PyTables) or re-save "
                    "with df.to_hdf(…, complib='zlib')"
                ) from None
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise SourceError(f"{where} cannot be read ({msg})") from None

    def _missing_filters(self, wanted: list[Column]) -> list[str]:
        """The compression filters of the datasets read that HDF5 cannot load, named."""
        from .reader import FILTER_NAMES  # the table of filter names lives with the reader

        out: list[str] = []
        for path in dict.fromkeys(c.dataset for c in wanted if c.dataset not in self._objects):
            try:
                dcpl = self.group[path].id.get_create_plist()
                for i in range(dcpl.get_nfilters()):
                    code, _flags, _values, name = dcpl.get_filter(i)
                    if not h5py.h5z.filter_avail(code):
                        label = FILTER_NAMES.get(code) or name.decode(errors="replace")
                        out.append(f"the {label} filter (HDF5 filter id {code})")
            except (OSError, RuntimeError, ValueError, KeyError):
                continue
        return list(dict.fromkeys(out))

    def _rows_within(self, wanted: list[Column], rows: int) -> int:
        """``rows``, fewer when more is read than the columns asked for: a table-format field
        holds a whole block of columns (HDF5 reads an array member whole), so ``rows`` rows of
        a field of 1,000 columns are read to get one of them."""
        if self.layout_name != "table":
            return rows  # a fixed-format block is read for the columns asked only
        table = self.group["table"].dtype
        fields = dict.fromkeys(c.field for c in wanted if c.field)
        read = sum(table.fields[f][0].itemsize for f in fields)
        asked = sum(c.itemsize for c in wanted)
        return rows if read <= asked else max(1, rows * asked // read)

    def _read(self, wanted: list[Column], lo: int, hi: int) -> dict[str, tuple[np.ndarray, dict]]:
        """Rows ``lo:hi`` of each dataset (fixed) or field (table) the columns need, read once,
        with where each column's position of its block is in what was read."""
        out: dict[str, tuple[np.ndarray, dict]] = {}
        if self.layout_name == "table":
            fields = list(dict.fromkeys(c.field for c in wanted if c.field))
            if fields:
                rec = self.group["table"].fields(fields)[lo:hi]
                for f in fields:
                    out[f] = (rec[f] if rec.dtype.names else rec, {})
            return out
        for c in wanted:
            if c.dataset in out or c.dataset in self._empty:
                continue
            if c.dataset in self._objects:
                out[c.dataset] = (self._objects[c.dataset][lo:hi], {})
                continue
            dset = self.group[c.dataset]
            asked = sorted({w.position for w in wanted
                            if w.dataset == c.dataset and w.position is not None})  # fmt: skip
            if dset.ndim == 1 or len(asked) == dset.shape[1]:
                out[c.dataset] = (dset[lo:hi], {})
            else:  # only the columns asked for (a block may hold thousands)
                out[c.dataset] = (dset[lo:hi, asked], {p: i for i, p in enumerate(asked)})
        return out

    def _arrow(
        self, c: Column, raw: dict[str, tuple[np.ndarray, dict]], lo: int, hi: int
    ) -> pa.Array:
        values, where = raw[c.field or c.dataset]
        if c.position is not None:
            values = values[:, where.get(c.position, c.position)]
        if c.kind == "number":
            return pa.array(np.ascontiguousarray(values))
        if c.kind == "bool":
            return pa.array(values != 0)
        if c.kind in ("datetime", "duration"):
            ints = np.ascontiguousarray(values).view(np.int64)
            return pa.array(ints, mask=ints == NAT).cast(c.arrow)
        if c.kind == "bytes":
            return self._text(c, values, lo, hi)
        if c.kind == "category":
            codes = np.ascontiguousarray(values)
            indices = pa.array(codes, mask=codes < 0)
            return pa.DictionaryArray.from_arrays(indices, c.categories)
        try:  # "object": values unpickled with --allow-pickle
            return pa.array(values, type=c.arrow, from_pandas=True)
        except (pa.ArrowException, TypeError, ValueError):
            return pa.array([None if v is None else str(v) for v in values], type=pa.string())

    def _text(self, c: Column, values: np.ndarray, lo: int, hi: int) -> pa.Array:
        """Fixed-width bytes (null-padded, as numpy reads them) as UTF-8 strings, in Arrow's
        kernels (16x numpy's ``char.decode``); the frame's ``nan_rep`` is a null."""
        width = max(1, values.dtype.itemsize)
        raw = pa.array(np.ascontiguousarray(values).view(f"S{width}"), type=pa.binary(width))
        try:
            text = raw.cast(pa.binary()).cast(pa.string())
        except pa.ArrowInvalid:
            raise SourceError(
                f"{self.display}:{c.name} holds text that is not UTF-8 (rows {lo:,}-{hi:,}); "
                "the file is damaged or was written with another encoding"
            ) from None
        text = pc.utf8_rtrim(text, characters="\x00")
        if c.nan_rep is not None:
            missing = pc.equal(text, c.nan_rep.decode("utf-8", errors="replace"))
            text = pc.if_else(missing, pa.scalar(None, pa.string()), text)
        return text

    # -- inspect ----------------------------------------------------------------------------
    def entries(self) -> list[Entry]:
        out = [Entry(f"{self.key}:{e.path}", e.kind, e.array, e.note) for e in super().entries()]
        for name, why in self.unread.items():
            out.append(Entry(f"{self.key}:{name}", "column", note=f"not read: {why}"))
        return out

    def arrays(self) -> list[ArrayHandle]:
        """The table's arrays, then one handle per pickled block not read (so ``check`` names
        them: an ``unsafe-pickle`` finding)."""
        out = super().arrays()
        for where, items, why in self.pickled_blocks:
            h = ArrayHandle(name=f"{self.key}/{where}", source=f"{self.display}:{','.join(items)}",
                            path=self.path, format="hdf5", shape=(self._rows, len(items)),
                            dtype=np.dtype(object), pickled=True)  # fmt: skip
            h.unsafe = f"column(s) {', '.join(map(repr, items))}: {why}"
            h.layout = {"frame": self.key, "columns": list(items)}
            out.append(h)
        return out

    def array(self, selector: str | None) -> ArrayHandle:
        if selector:
            return self.select(selector)
        table = [a for a in self.arrays() if not a.pickled]
        if len(table) == 1:
            return table[0]
        return super().array(None)

    def describe_frame(self) -> str:
        shown = len(self.columns) + len(self.unread)
        what = "Series" if (pandas_type(self.group) or "").startswith("series") else "DataFrame"
        return (f"pandas {what} ({self.layout_name} format, to_hdf): {self._rows:,} rows × "
                f"{shown} column{'s' if shown != 1 else ''}; {self.index.text()}, not a "
                "feature")  # fmt: skip


def _label(attrs, display: str) -> str | None:
    """An index's name (None when unnamed, or when pickled as an object that is not loaded: a
    name is not worth refusing the frame for)."""
    try:
        name = _attr(attrs, "name", display)
    except UnsafeInputError:
        return None
    return None if name is None else str(name)


def _shape(dset: h5py.Dataset, display: str) -> tuple[int, ...]:
    """The shape pandas wrote: an empty array is stored as one dummy element with the real
    (empty) shape in the attribute ``shape``."""
    shape = tuple(int(d) for d in dset.shape)
    if "shape" in dset.attrs:
        declared = _attr(dset.attrs, "shape", display)
        plain = isinstance(declared, tuple | list) and all(isinstance(d, int) for d in declared)
        if plain and 0 in declared:
            return tuple(declared)
    return shape


def _zone(attrs, display: str) -> str | None:
    """A tz-aware block's zone: its name when stored as text; a pickled zone object is not
    loaded, and the values (UTC instants, as pandas stores them) are read as UTC."""
    if "tz" not in attrs:
        return None
    try:
        zone = _attr(attrs, "tz", display)
    except UnsafeInputError:
        return "UTC"
    return zone if isinstance(zone, str) else "UTC"


def _is_bitfield(dset: h5py.Dataset) -> bool:
    try:
        return dset.id.get_type().get_class() == h5py.h5t.BITFIELD
    except (OSError, RuntimeError, ValueError):
        return False


def _column(name: str, dataset: str, field: str | None, position: int | None, dtype: np.dtype,
            text: str, is_bool: bool, tz=None) -> Column:  # fmt: skip
    """A column of a block of ``dtype`` whose pandas type is ``text`` (``value_type`` of a fixed
    block, ``{field}_dtype`` of a table field: ``datetime64[us]``, ``bool``, ``bytes24``…)."""
    dtype = np.dtype(dtype)
    m = _DATETIME.match(text)
    if m and dtype.kind in "iu":
        unit = m.group(2) or "ns"
        zone = m.group(3) or (tz if isinstance(tz, str) else ("UTC" if tz is not None else None))
        if m.group(1) in ("datetime64", "M8"):
            return Column(name, dataset, field, position, "datetime", pa.timestamp(unit, zone),
                          unit=unit, tz=zone)  # fmt: skip
        return Column(name, dataset, field, position, "duration", pa.duration(unit), unit=unit)
    if is_bool or text == "bool":
        return Column(name, dataset, field, position, "bool", pa.bool_(), itemsize=1)
    if dtype.kind == "S":
        return Column(name, dataset, field, position, "bytes", pa.string(),
                      itemsize=dtype.itemsize + 8)  # fmt: skip
    if dtype.kind in "iuf":
        return Column(name, dataset, field, position, "number", pa.from_numpy_dtype(dtype),
                      itemsize=dtype.itemsize)  # fmt: skip
    if dtype.kind == "c":
        raise Unsupported(f"complex numbers ({dtype}), which a table column cannot hold")
    raise Unsupported(f"the HDF5 type {dtype}, which dsdoctor cannot read as a column")


class Unsupported(ValueError):
    """A column whose type dsdoctor does not read (it is named as not read)."""
