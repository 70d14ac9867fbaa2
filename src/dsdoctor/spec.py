"""Spec files: the data contract a project keeps in ``dsdoctor.toml`` or ``[tool.dsdoctor]`` of
``pyproject.toml``, found from the working directory upward.

```toml
[dims]
features = 3

[check]                  # any check option: batch_size, memory, mask_value, fail_on, select, ignore
batch_size = 64

[arrays.x]
source = "data/train.h5:/x"
shape = ["batch", "time", "features"]   # a name binds one size across arrays; "time" may be ragged
dtype = "float32"
min = -10.0              # value range (optional)
max = 10.0
nullable = false         # NaN allowed? (default false)

[arrays.y]
source = "data/train.h5:/y"
shape = ["batch"]
classes = 10

[splits]                 # the splits of the dataset (`check --split`); optional
psi_threshold = 0.2      # drift thresholds (--psi-threshold, --js-threshold override them)
js_threshold = 0.1
target = "label"         # the target column of table splits (--target overrides it)

[splits.train]           # the first split is the training split
source = "data/train.parquet"   # its data, as --split train=… takes it (y = "…" for X,Y files)
rows = 60000             # the facts `spec infer --split` recorded: rows, rank, width, dtype,
width = 13               # columns, target_dtype, classes and class_counts, length_min,
dtype = "float32"        # length_max and length_mean (sequences)
classes = [0, 1, 2]
```
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

from .errors import DsdoctorError, SpecError

SPEC_NAMES = ("dsdoctor.toml",)
BATCH = "batch"
#: The largest spec (or pyproject.toml) read: a real one is a few kilobytes.
MAX_SPEC_BYTES = 4 << 20
#: A ``[tool.dsdoctor]`` header line; ``[ \t]`` not ``\s``, which would rescan runs of blank lines.
_TOOL_TABLE = re.compile(r"^[ \t]*\[[ \t]*tool\.dsdoctor[\].]", re.M)


# -- the schema: every key a spec may hold, and the values it takes ---------------------------------
@dataclass(frozen=True)
class Key:
    """One key of a spec table: what its value must be, in words and as a test."""

    must_be: str  # "a whole number of at least 1": the error says "check.batch_size must be …"
    accepts: Callable[[Any], bool]


def _is_int(v: Any, low: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= low


def _reads(parse: Callable[[Any], Any]) -> Callable[[Any], bool]:
    """A test that ``parse(value)`` succeeds (the parser the CLI uses for the same option)."""

    def test(v: Any) -> bool:
        try:
            parse(v)
        except (DsdoctorError, TypeError, ValueError, SyntaxError):  # np.dtype("(None, 3)"): Syntax
            return False
        return True

    return test


def _shape_text(v: Any) -> bool:
    from .units import parse_shape

    return isinstance(v, str) and _reads(parse_shape)(v)


def _size(v: Any) -> bool:
    from .units import parse_size

    return _is_int(v, 1) or (isinstance(v, str) and _reads(parse_size)(v))


def _names(v: Any) -> bool:
    return isinstance(v, str) or (isinstance(v, list) and all(isinstance(s, str) for s in v))


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _dtype(v: Any) -> bool:
    import numpy as np

    return isinstance(v, str) and _reads(np.dtype)(v)


WHOLE = Key("a whole number of at least 1", lambda v: _is_int(v, 1))

#: ``[check]``: the check options a spec sets, with the CLI's option names (``--batch-size``).
CHECK_SCHEMA: dict[str, Key] = {
    "input_shape": Key('a shape, e.g. "(None, 5, 3)"', _shape_text),
    "features": WHOLE, "timesteps": WHOLE, "classes": WHOLE, "batch_size": WHOLE,
    "vocab_size": WHOLE,
    "memory": Key('a size, e.g. "8GiB"', _size),
    "chunk_size": Key('a size, e.g. "64MiB"', _size),
    "mask_value": Key("a number", _number),
    "psi_threshold": Key("a number of at least 0", lambda v: _number(v) and v >= 0),
    "js_threshold": Key("a number of at least 0", lambda v: _number(v) and v >= 0),
    "model": Key('a model file, e.g. "model.keras" (relative to the spec)',
                 lambda v: isinstance(v, str) and v != ""),
    "select": Key('a check code or name, or a list of them, e.g. ["DS1", "label-out-of-range"]',
                  _names),
    "ignore": Key('a check code or name, or a list of them, e.g. ["DS4"]', _names),
    "fail_on": Key('one of "error", "warning", "info", "never"',
                   lambda v: v in ("error", "warning", "info", "never")),
}  # fmt: skip

#: ``[arrays.NAME]``: one array of the contract.
ARRAY_SCHEMA: dict[str, Key] = {
    "source": Key('a file, e.g. "data/train.h5:/x"', lambda v: isinstance(v, str) and v != ""),
    "shape": Key('a list of sizes and names, e.g. ["batch", 3]', lambda v: isinstance(v, list)
                 and all(_is_int(d, 0) or isinstance(d, str) for d in v)),
    "dtype": Key("a dtype such as float32 or int64", _dtype),
    "classes": WHOLE,
    "min": Key("a number", _number),
    "max": Key("a number", _number),
    "nullable": Key("true or false", lambda v: isinstance(v, bool)),
    "role": Key('one of "x", "y", "array"', lambda v: v in ("x", "y", "array")),
}  # fmt: skip

#: ``[splits]``: how the splits are compared (each ``[splits.NAME]`` table is one split).
SPLITS_SCHEMA: dict[str, Key] = {
    "psi_threshold": CHECK_SCHEMA["psi_threshold"],
    "js_threshold": CHECK_SCHEMA["js_threshold"],
    "target": Key('a column name, e.g. "label"', lambda v: isinstance(v, str) and v != ""),
    "group": Key('a column name, e.g. "user"', lambda v: isinstance(v, str) and v != ""),
    #: what the targets are (``check --task``; :data:`dsdoctor.checks.splits.TASKS`)
    "task": Key(
        '"classification" or "regression"', lambda v: v in ("classification", "regression")
    ),
}


def _labels(v: Any) -> bool:
    return isinstance(v, list) and all(
        isinstance(c, str) or (isinstance(c, int) and not isinstance(c, bool)) for c in v
    )


#: ``[splits.NAME]``: one split, its data and the facts recorded of it.
SPLIT_SCHEMA: dict[str, Key] = {
    "source": Key('a source, e.g. "data/train.parquet" or "data/hf:train"',
                  lambda v: isinstance(v, str) and v != ""),
    "y": Key('the targets\' source, e.g. "data/y_train.npy"', lambda v: isinstance(v, str) and v != ""),
    "rows": Key("a whole number", lambda v: _is_int(v, 0)),
    "rank": WHOLE,
    "width": WHOLE,
    "dtype": Key("a dtype such as float32 or int64", _dtype),
    "target_dtype": Key("a dtype such as int64", _dtype),
    "columns": Key('a list of column names, e.g. ["a", "b"]',
                   lambda v: isinstance(v, list) and all(isinstance(c, str) for c in v)),
    "classes": Key("a list of labels, e.g. [0, 1, 2]", _labels),
    "class_counts": Key("a list of whole numbers, one per class",
                        lambda v: isinstance(v, list) and all(_is_int(c, 0) for c in v)),
    "length_min": Key("a whole number", lambda v: _is_int(v, 0)),
    "length_max": Key("a whole number", lambda v: _is_int(v, 0)),
    "length_mean": Key("a number of at least 0", lambda v: _number(v) and v >= 0),
}  # fmt: skip
#: The facts of a split compared with the data (``source`` and ``y`` say where it is).
SPLIT_FACTS = tuple(k for k in SPLIT_SCHEMA if k not in ("source", "y"))

#: ``[dims]``: any name, bound to a size.
DIM = Key("a whole number", lambda v: _is_int(v, 0))

CHECK_KEYS = set(CHECK_SCHEMA)
ARRAY_KEYS = set(ARRAY_SCHEMA)


@dataclass
class ArraySpec:
    name: str
    source: str
    role: str
    shape: list[int | str] | None = None
    dtype: str | None = None
    classes: int | None = None
    min: float | None = None
    max: float | None = None
    nullable: bool = False


@dataclass
class SplitSpec:
    """``[splits.NAME]``: a split's source (and targets' source), and its recorded facts."""

    name: str
    source: str | None = None
    y: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass
class Spec:
    path: Path
    text: str
    table: str  # "" for dsdoctor.toml, "tool.dsdoctor." inside pyproject.toml
    dims: dict[str, int] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, ArraySpec] = field(default_factory=dict)
    #: ``[splits.NAME]`` in order (the first is the training split), and ``[splits]``' options
    splits: dict[str, SplitSpec] = field(default_factory=dict)
    split_options: dict[str, Any] = field(default_factory=dict)

    def split_sources(self) -> list[tuple[str, str, str | None]]:
        """The splits the spec names data for, as ``check --split`` takes them."""
        return [(s.name, s.source, s.y) for s in self.splits.values() if s.source is not None]

    def line(self, section: str, key: str | None = None) -> int | None:
        """The line number of ``key`` in table ``section`` (or of the table header); a key whose
        value is a table (``[check.features]``) is on that table's header."""

        def header(name: str) -> re.Pattern[str]:
            return re.compile(r"^\s*\[\s*" + re.escape(self.table + name) + r"\s*\]\s*(#.*)?$")

        sub = header(f"{section}.{key}") if key is not None else None
        top = header(section)
        inside = False
        start = None
        for i, raw in enumerate(self.text.splitlines(), 1):
            if raw.lstrip().startswith("["):
                if sub is not None and sub.match(raw):
                    return i
                inside = bool(top.match(raw))
                if inside:
                    start = i
                    if key is None:
                        return i
                continue
            if inside and key is not None and re.match(r"^\s*" + re.escape(key) + r"\s*=", raw):
                return i
        return start

    def where(self, section: str, key: str | None = None) -> str:
        import os

        n = self.line(section, key)
        try:
            shown = os.path.relpath(self.path)
        except ValueError:  # pragma: no cover - another drive
            shown = str(self.path)
        shown = str(self.path) if shown.startswith("..") else shown
        return f"{shown}:{n}" if n else shown


def find_spec(start: Path | None = None) -> Path | None:
    """``dsdoctor.toml``, or a ``pyproject.toml`` with ``[tool.dsdoctor]``, from ``start`` upward."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        for name in SPEC_NAMES:
            if (folder / name).is_file():
                return folder / name
        py = folder / "pyproject.toml"
        if py.is_file():
            with open(py, "rb") as fh:  # a header past MAX_SPEC_BYTES is no spec of ours
                head = fh.read(MAX_SPEC_BYTES).decode("utf-8", "replace")
            if _TOOL_TABLE.search(head):
                return py
    return None


def _read(path: Path) -> str:
    """A spec file's text, refused past MAX_SPEC_BYTES."""
    with open(path, "rb") as fh:
        data = fh.read(MAX_SPEC_BYTES + 1)
    if len(data) > MAX_SPEC_BYTES:
        raise SpecError(f"{path} is larger than {MAX_SPEC_BYTES >> 20} MiB; a spec is a few lines")
    return data.decode("utf-8")


def load_spec(path: str | Path) -> Spec:
    """Read and validate a spec: every table and key is checked against the schema
    (:data:`CHECK_SCHEMA`, :data:`ARRAY_SCHEMA`, :data:`DIM`) before anything is used; a wrong
    one is a SpecError naming ``FILE:LINE`` and the key."""
    path = Path(path)
    try:
        text = _read(path)
    except OSError as exc:
        raise SpecError(f"cannot read spec {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise SpecError(f"{path} is not UTF-8 text; a spec file is TOML") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path} is not valid TOML: {exc}") from None
    except RecursionError:  # tomllib recurses per nested array or inline table
        raise SpecError(f"{path}: arrays or tables nested too deeply for a spec") from None
    table = ""
    if path.name == "pyproject.toml":
        tool = data.get("tool", {})
        ours = tool.get("dsdoctor") if isinstance(tool, dict) else None
        table = "tool.dsdoctor."
        if ours is None:
            raise SpecError(f"{path} has no [tool.dsdoctor] table")
        if not isinstance(ours, dict):
            raise SpecError(f"{path}: tool.dsdoctor must be a table [tool.dsdoctor]")
        data = ours
    spec = Spec(path, text, table)
    unknown = set(data) - {"dims", "check", "arrays", "splits"}
    if unknown:
        raise SpecError(
            f"{path}: unknown table or key {sorted(unknown)[0]!r}; a spec has [dims], [check], "
            "[arrays.NAME] and [splits]"
        )
    for section in ("dims", "check", "arrays", "splits"):
        if not isinstance(data.get(section, {}), dict):
            raise SpecError(f"{spec.where(section)}: {section} must be a table [{section}]")
    for key, value in data.get("dims", {}).items():
        _validate(spec, "dims", key, value, DIM)
        spec.dims[key] = value
    for key, value in data.get("check", {}).items():
        name = key.replace("-", "_")
        if name not in CHECK_SCHEMA:
            raise SpecError(
                f"{spec.where('check', key)}: unknown key check.{key}; known: {', '.join(sorted(CHECK_KEYS))}"
            )
        _validate(spec, "check", key, value, CHECK_SCHEMA[name])
        if name == "model" and not Path(value).is_absolute() and str(path.parent) != ".":
            value = str(path.parent / value)  # a spec's files are relative to the spec
        spec.options[name] = value
    _splits(spec, data.get("splits", {}), path.parent)
    arrays = data.get("arrays", {})
    if not arrays and not spec.splits:
        raise SpecError(
            f"{path}: a spec needs at least one [arrays.NAME] table with a source (or [splits.NAME])"
        )
    for name, a in arrays.items():
        if not isinstance(a, dict):
            raise SpecError(
                f"{spec.where('arrays', name)}: arrays.{name} must be a table [arrays.{name}] "
                f"with a source, got {_shown(a)}"
            )
        spec.arrays[name] = _array(spec, name, a, path.parent)
    return spec


def _splits(spec: Spec, table: dict, base: Path) -> None:
    """``[splits]``: its options, then each ``[splits.NAME]`` in order (all with a source, or
    none: facts alone are compared with the splits given by ``--split``)."""
    for key, value in table.items():
        if isinstance(value, dict):
            spec.splits[key] = _split(spec, key, value, base)
        elif key in SPLITS_SCHEMA:
            _validate(spec, "splits", key, value, SPLITS_SCHEMA[key])
            spec.split_options[key] = value
        else:
            raise SpecError(
                f"{spec.where('splits', key)}: unknown key splits.{key}; known: "
                f"{', '.join(sorted(SPLITS_SCHEMA))}, and a table [splits.NAME] per split"
            )
    sourced = [s.name for s in spec.splits.values() if s.source is not None]
    if sourced and len(sourced) != len(spec.splits):
        bare = next(n for n in spec.splits if n not in sourced)
        raise SpecError(f"{spec.where('splits', bare)}: splits.{bare} has no source, but "
                        f"splits.{sourced[0]} has: give every split a source, or none")  # fmt: skip
    if len(sourced) == 1:
        raise SpecError(f"{spec.where('splits', sourced[0])}: [splits] names one split; the split "
                        "checks compare two or more (add [splits.NAME] tables)")  # fmt: skip


def _split(spec: Spec, name: str, t: dict, base: Path) -> SplitSpec:
    section = f"splits.{name}"
    for key, value in t.items():
        if key not in SPLIT_SCHEMA:
            raise SpecError(f"{spec.where(section, key)}: unknown key {section}.{key}; known: "
                            f"{', '.join(sorted(SPLIT_SCHEMA))}")  # fmt: skip
        _validate(spec, section, key, value, SPLIT_SCHEMA[key])
    if "y" in t and "source" not in t:
        raise SpecError(
            f"{spec.where(section, 'y')}: {section}.y needs {section}.source (the inputs)"
        )
    counts, classes = t.get("class_counts"), t.get("classes")
    if counts is not None and (classes is None or len(counts) != len(classes)):
        raise SpecError(f"{spec.where(section, 'class_counts')}: {section}.class_counts needs one "
                        f"count per label of {section}.classes")  # fmt: skip
    return SplitSpec(name, _relative_to(t.get("source"), base), _relative_to(t.get("y"), base),
                     {k: v for k, v in t.items() if k in SPLIT_FACTS})  # fmt: skip


def _relative_to(source: str | None, base: Path) -> str | None:
    """A spec's source read from the spec's folder (a URL or an absolute path as it is)."""
    from .locations import is_url

    if source is None or source.startswith("/") or source == "-" or is_url(source):
        return source
    return str(base / source) if str(base) != "." else source


def _validate(spec: Spec, section: str, key: str, value: Any, schema: Key) -> None:
    if not schema.accepts(value):
        raise SpecError(
            f"{spec.where(section, key)}: {section}.{key} must be {schema.must_be}, "
            f"got {_shown(value)}"
        )


def _shown(value: Any) -> str:
    """A value as TOML-ish text for an error, cut to 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _array(spec: Spec, name: str, a: dict, base: Path) -> ArraySpec:
    section = f"arrays.{name}"
    unknown = set(a) - ARRAY_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise SpecError(
            f"{spec.where(section, key)}: unknown key arrays.{name}.{key}; known: {', '.join(sorted(ARRAY_KEYS))}"
        )
    if "source" not in a:
        raise SpecError(
            f'{spec.where(section)}: arrays.{name}.source must name a file, e.g. "data/train.h5:/x"'
        )
    for key, value in a.items():
        _validate(spec, "arrays." + name, key, value, ARRAY_SCHEMA[key])
    source = a["source"]
    if not source.startswith("/") and source != "-":
        source = str(base / source) if str(base) != "." else source
    role = a.get("role") or ("x" if name == "x" else "y" if name == "y" else "array")
    return ArraySpec(name, source, role, a.get("shape"), a.get("dtype"), a.get("classes"), a.get("min"),
                     a.get("max"), bool(a.get("nullable", False)))  # fmt: skip


# -- infer --------------------------------------------------------------------------------------------
HEADER = (
    "# dsdoctor spec: the data contract, inferred by `dsdoctor spec infer`; edit it freely.\n"
    "# `dsdoctor check` in this folder (or below) checks the data against it.\n\n"
)


def infer_spec(report, names: dict[str, str],
               split_sources: dict[str, tuple[str, str | None]] | None = None,
               split_options: dict[str, Any] | None = None) -> str:  # fmt: skip
    """A spec in TOML from a check report of the data as it is today (``names``: array → source).
    A report of ``check --split`` adds ``[splits]`` (:func:`split_facts`; ``split_sources``:
    each split's source and targets' source as written in the spec, ``split_options``: the
    ``target`` they were read with).

    The document is built as data and written by a TOML writer (tomli-w), so a source or a table
    name holding quotes, backslashes or newlines reads back exactly as it was."""
    import numpy as np
    import tomli_w

    arrays = report.arrays
    n_by = {k: a["shape"][0] if a["shape"] else None for k, a in arrays.items()}
    shared_batch = len({n for n in n_by.values() if n is not None}) <= 1
    #: ``check --split``: each split's arrays are named SPLIT_ROLE and share a SPLIT_batch axis
    splits = set((getattr(report, "splits", None) or {}).get("splits") or ())
    dims: dict[str, int] = {}
    tables: dict[str, dict[str, Any]] = {}
    used: set[str] = set()

    def kind_of(a: dict) -> str:
        return np.dtype(a["dtype"]).kind if a.get("dtype") and a["dtype"] != "object" else "O"

    def split_of(key: str) -> str | None:
        return key.split(":", 1)[0] if splits and key.split(":", 1)[0] in splits else None

    #: a split's array records the range of that role's arrays in all splits: rows of one
    #: split moved to another (within the dataset's range) are no DS601 (DS803 finds copies)
    spans: dict[tuple[Any, str], tuple[Any, Any]] = {}
    for key, a in arrays.items():
        st, kind = a.get("stats") or {}, kind_of(a)
        if split_of(key) is not None and _finite(st.get("min")) and _finite(st.get("max")):
            lo, hi = spans.get((a.get("role"), kind), (st["min"], st["max"]))
            spans[(a.get("role"), kind)] = (min(lo, st["min"]), max(hi, st["max"]))
    for key, a in arrays.items():
        shape: list[int | str] = []
        split = split_of(key)
        table = _table_name(key, a, used, split)
        for axis, d in enumerate(a["shape"]):
            if axis == 0 and split is not None:
                shape.append(f"{split}_{BATCH}")
            elif axis == 0 and shared_batch:
                shape.append(BATCH)
            elif d is None:
                shape.append("time")
            elif axis == len(a["shape"]) - 1 and a.get("role") == "x" and axis > 0:
                dims["features"] = d
                shape.append("features")
            else:
                shape.append(int(d))
        t: dict[str, Any] = {"source": names[key], "shape": shape, "dtype": str(a["dtype"])}
        st = a.get("stats") or {}
        kind = kind_of(a)
        if split is not None and (a.get("role"), kind) in spans:
            st = {
                **st,
                "min": spans[(a.get("role"), kind)][0],
                "max": spans[(a.get("role"), kind)][1],
            }
        if (
            a.get("role") == "y"
            and kind in "iu"
            and isinstance(st.get("min"), int)
            and st["min"] >= 0
            and len(a["shape"]) == 1
        ):
            t["classes"] = st["max"] + 1
        low, high = st.get("min"), st.get("max")
        if _finite(low) and _finite(high) and kind in "iuf":
            t["min"], t["max"] = _outward(low, kind, -1), _outward(high, kind, 1)
        if st.get("nan"):
            t["nullable"] = True
        if a.get("role") != table:
            t["role"] = a.get("role", "array")
        tables[table] = t
    doc: dict[str, Any] = {"dims": dims} if dims else {}
    doc["arrays"] = tables
    if (getattr(report, "splits", None) or {}).get("splits"):  # splits compared
        doc["splits"] = _infer_splits(report, split_sources or {}, split_options or {})
    return HEADER + tomli_w.dumps(doc)


def _infer_splits(report, sources: dict[str, tuple[str, str | None]], options: dict) -> dict:
    """``[splits]``: the thresholds, target and group the splits were compared with, then each
    split's source (as ``--split`` took it, relative to the spec) and facts."""
    summary = report.splits
    out: dict[str, Any] = {}
    thresholds = summary.get("thresholds") or {}
    for key, value in (("psi_threshold", thresholds.get("psi")), ("js_threshold", thresholds.get("js")),
                       ("target", None if any(y for _, y in sources.values()) else options.get("target")),
                       ("group", summary.get("group")), ("task", options.get("task"))):  # fmt: skip  # X,Y sources name their target
        if value is not None:
            out[key] = value
    for name, facts in split_facts(report).items():
        t: dict[str, Any] = {}
        if name in sources:
            t["source"] = sources[name][0]
            if sources[name][1] is not None:
                t["y"] = sources[name][1]
        t.update({k: v for k, v in facts.items() if k in SPLIT_FACTS})
        out[name] = t
    return out


#: The most classes of a split a spec records (integer targets with more distinct values are a
#: regression target or ids, and a spec past :data:`MAX_SPEC_BYTES` could not be read back).
MAX_RECORDED_CLASSES = 1000


def split_facts(report) -> dict[str, dict[str, Any]]:
    """Each split's facts, from a report of ``check --split`` (its ``splits`` and ``arrays``):
    ``rows``, the inputs' ``rank``, ``width`` (last axis), ``dtype``, ``columns`` (a table's),
    ``target_dtype``, ``classes`` and ``class_counts`` (of class labels, not of a regression
    target; up to :data:`MAX_RECORDED_CLASSES`),
    and for sequences ``length_min``,
    ``length_max`` and ``length_mean``; ``arrays``: the split's arrays (not a fact)."""
    summary = report.splits or {}
    out: dict[str, dict[str, Any]] = {}
    for name, sp in (summary.get("splits") or {}).items():
        x = report.arrays.get(sp.get("x")) or {}
        y = report.arrays.get(sp.get("y")) if sp.get("y") else None
        shape = x.get("shape") or []
        f: dict[str, Any] = {"rows": sp.get("rows"), "rank": len(shape) or None,
                             "width": shape[-1] if len(shape) >= 2 else None,
                             "dtype": x.get("dtype"), "columns": sp.get("columns"),
                             "target_dtype": y.get("dtype") if y else None}  # fmt: skip
        if (sp.get("classes") is not None and len(sp["classes"]) <= MAX_RECORDED_CLASSES
                and summary.get("labels", True)):  # fmt: skip  # a regression target has none
            pairs = sp["classes"]
            f["classes"] = [_label(k) for k, _ in pairs]
            f["class_counts"] = [int(v) for _, v in pairs]
        lengths = (x.get("stats") or {}).get("lengths")
        if lengths:
            f["length_min"], f["length_max"] = lengths["min"], lengths["max"]
            f["length_mean"] = lengths["mean"]
        out[name] = {k: v for k, v in f.items() if v is not None and v != "object"}
        out[name]["arrays"] = [a for a in (sp.get("x"), sp.get("y")) if a]
    return out


def _label(v: Any) -> int | str:
    """A label as TOML holds it: a whole number, else its text."""
    import numpy as np

    if isinstance(v, bool | np.bool_):
        return int(v)
    if isinstance(v, int | np.integer):
        return int(v)
    if isinstance(v, float | np.floating) and float(v).is_integer():
        return int(v)
    return str(v)


def _finite(v: Any) -> TypeGuard[float]:
    import math

    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _table_name(key: str, a: dict, used: set[str], split: str | None = None) -> str:
    """A bare TOML key for the array: its role (x, y) or a name made from its member or file;
    ``SPLIT_ROLE`` for the arrays of a split."""
    role = a.get("role")
    if split is not None and role in ("x", "y"):
        name = re.sub(r"[^A-Za-z0-9_-]+", "_", f"{split}_{role}")
    elif role in ("x", "y") and role not in used:
        name = role
    else:
        member = key.rsplit(":", 1)[-1] if ":" in key else Path(key).stem
        name = re.sub(r"[^A-Za-z0-9_-]+", "_", member.strip("/")) or "array"
    base, i = name, 2
    while name in used:
        name, i = f"{base}_{i}", i + 1
    used.add(name)
    return name


def _outward(v: float, kind: str, sign: int) -> int | float:
    """A bound rounded away from the data: min down, max up, to a whole value."""
    if kind in "iu":
        return int(v)
    import math

    return float(math.floor(v) if sign < 0 else math.ceil(v))
