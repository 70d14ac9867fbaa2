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
class Spec:
    path: Path
    text: str
    table: str  # "" for dsdoctor.toml, "tool.dsdoctor." inside pyproject.toml
    dims: dict[str, int] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, ArraySpec] = field(default_factory=dict)

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
    unknown = set(data) - {"dims", "check", "arrays"}
    if unknown:
        raise SpecError(
            f"{path}: unknown table or key {sorted(unknown)[0]!r}; a spec has [dims], [check] and [arrays.NAME]"
        )
    for section in ("dims", "check", "arrays"):
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
    arrays = data.get("arrays", {})
    if not arrays:
        raise SpecError(f"{path}: a spec needs at least one [arrays.NAME] table with a source")
    for name, a in arrays.items():
        if not isinstance(a, dict):
            raise SpecError(
                f"{spec.where('arrays', name)}: arrays.{name} must be a table [arrays.{name}] "
                f"with a source, got {_shown(a)}"
            )
        spec.arrays[name] = _array(spec, name, a, path.parent)
    return spec


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


def infer_spec(report, names: dict[str, str]) -> str:
    """A spec in TOML from a check report of the data as it is today (``names``: array → source).

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
    for key, a in arrays.items():
        shape: list[int | str] = []
        split = key.split(":", 1)[0] if splits and key.split(":", 1)[0] in splits else None
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
        kind = np.dtype(a["dtype"]).kind if a.get("dtype") and a["dtype"] != "object" else "O"
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
    return HEADER + tomli_w.dumps(doc)


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
