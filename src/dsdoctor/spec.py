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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import SpecError

SPEC_NAMES = ("dsdoctor.toml",)
CHECK_KEYS = {"input_shape", "features", "timesteps", "classes", "batch_size", "memory", "mask_value",
              "select", "ignore", "fail_on", "chunk_size"}  # fmt: skip
ARRAY_KEYS = {"source", "shape", "dtype", "classes", "min", "max", "nullable", "role"}
BATCH = "batch"


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
        """The line number of ``key`` in table ``section`` (or of the table header)."""
        header = re.compile(r"^\s*\[\s*" + re.escape(self.table + section) + r"\s*\]\s*(#.*)?$")
        inside = False
        start = None
        for i, raw in enumerate(self.text.splitlines(), 1):
            if raw.lstrip().startswith("["):
                inside = bool(header.match(raw))
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
        if py.is_file() and re.search(
            r"^\s*\[tool\.dsdoctor[\].]", py.read_text(errors="replace"), re.M
        ):
            return py
    return None


def load_spec(path: str | Path) -> Spec:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise SpecError(f"cannot read spec {path}: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path} is not valid TOML: {exc}") from None
    table = ""
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("dsdoctor")
        table = "tool.dsdoctor."
        if data is None:
            raise SpecError(f"{path} has no [tool.dsdoctor] table")
    spec = Spec(path, text, table)
    base = path.parent
    unknown = set(data) - {"dims", "check", "arrays"}
    if unknown:
        raise SpecError(
            f"{path}: unknown table or key {sorted(unknown)[0]!r}; a spec has [dims], [check] and [arrays.NAME]"
        )
    for key, value in data.get("dims", {}).items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise SpecError(
                f"{spec.where('dims', key)}: dims.{key} must be a whole number, got {value!r}"
            )
        spec.dims[key] = value
    for key, value in data.get("check", {}).items():
        if key.replace("-", "_") not in CHECK_KEYS:
            raise SpecError(
                f"{spec.where('check', key)}: unknown key check.{key}; known: {', '.join(sorted(CHECK_KEYS))}"
            )
        spec.options[key.replace("-", "_")] = value
    arrays = data.get("arrays", {})
    if not isinstance(arrays, dict) or not arrays:
        raise SpecError(f"{path}: a spec needs at least one [arrays.NAME] table with a source")
    for name, a in arrays.items():
        spec.arrays[name] = _array(spec, name, a, base)
    return spec


def _array(spec: Spec, name: str, a: dict, base: Path) -> ArraySpec:
    section = f"arrays.{name}"
    unknown = set(a) - ARRAY_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise SpecError(
            f"{spec.where(section, key)}: unknown key arrays.{name}.{key}; known: {', '.join(sorted(ARRAY_KEYS))}"
        )
    if not isinstance(a.get("source"), str):
        raise SpecError(
            f'{spec.where(section)}: arrays.{name}.source must name a file, e.g. "data/train.h5:/x"'
        )
    source = a["source"]
    if not source.startswith("/") and source != "-":
        source = str(base / source) if str(base) != "." else source
    shape = a.get("shape")
    if shape is not None and (not isinstance(shape, list) or not all(
            (isinstance(d, int) and not isinstance(d, bool) and d >= 0) or isinstance(d, str) for d in shape)):  # fmt: skip
        raise SpecError(
            f'{spec.where(section, "shape")}: arrays.{name}.shape must be a list of sizes and names, e.g. ["batch", 3]'
        )
    for key, kind in (("dtype", str), ("classes", int), ("nullable", bool), ("role", str)):
        if key in a and not isinstance(a[key], kind):
            raise SpecError(
                f"{spec.where(section, key)}: arrays.{name}.{key} must be a {kind.__name__}, got {a[key]!r}"
            )
    for key in ("min", "max"):
        if key in a and not isinstance(a[key], int | float):
            raise SpecError(
                f"{spec.where(section, key)}: arrays.{name}.{key} must be a number, got {a[key]!r}"
            )
    if "dtype" in a:
        import numpy as np

        try:
            np.dtype(a["dtype"])
        except TypeError:
            raise SpecError(
                f"{spec.where(section, 'dtype')}: {a['dtype']!r} is not a dtype (e.g. float32, int64)"
            ) from None
    role = a.get("role") or ("x" if name == "x" else "y" if name == "y" else "array")
    if role not in ("x", "y", "array"):
        raise SpecError(f"{spec.where(section, 'role')}: role must be x, y or array, got {role!r}")
    return ArraySpec(name, source, role, shape, a.get("dtype"), a.get("classes"), a.get("min"), a.get("max"),
                     bool(a.get("nullable", False)))  # fmt: skip


# -- infer --------------------------------------------------------------------------------------------
def infer_spec(report, names: dict[str, str]) -> str:
    """A spec in TOML from a check report of the data as it is today (``names``: array → source)."""
    import numpy as np

    arrays = report.arrays
    n_by = {k: a["shape"][0] if a["shape"] else None for k, a in arrays.items()}
    shared_batch = len({n for n in n_by.values() if n is not None}) <= 1
    lines = ["# dsdoctor spec: the data contract, inferred by `dsdoctor spec infer`; edit it freely.",
             "# `dsdoctor check` in this folder (or below) checks the data against it.", ""]  # fmt: skip
    dims: dict[str, int] = {}
    body: list[str] = []
    used: set[str] = set()
    for key, a in arrays.items():
        shape: list[str] = []
        table = _table_name(key, a, used)
        for axis, d in enumerate(a["shape"]):
            if axis == 0 and shared_batch:
                shape.append(f'"{BATCH}"')
            elif d is None:
                shape.append('"time"')
            elif axis == len(a["shape"]) - 1 and a.get("role") == "x" and axis > 0:
                dims["features"] = d
                shape.append('"features"')
            else:
                shape.append(str(d))
        body += ["", f"[arrays.{table}]", f'source = "{names[key]}"', f"shape = [{', '.join(shape)}]",
                 f'dtype = "{a["dtype"]}"']  # fmt: skip
        st = a.get("stats") or {}
        kind = np.dtype(a["dtype"]).kind if a.get("dtype") and a["dtype"] != "object" else "O"
        if (
            a.get("role") == "y"
            and kind in "iu"
            and isinstance(st.get("min"), int)
            and st["min"] >= 0
            and len(a["shape"]) == 1
        ):
            body.append(f"classes = {st['max'] + 1}")
        if (
            isinstance(st.get("min"), int | float)
            and isinstance(st.get("max"), int | float)
            and kind in "iuf"
        ):
            body += [
                f"min = {_outward(st['min'], kind, -1)}",
                f"max = {_outward(st['max'], kind, 1)}",
            ]
        if st.get("nan"):
            body.append("nullable = true")
        if a.get("role") != table:
            body.append(f'role = "{a.get("role", "array")}"')
    if dims:
        lines += ["[dims]", *[f"{k} = {v}" for k, v in dims.items()], ""]
    return "\n".join(lines + body[1:]) + "\n"


def _table_name(key: str, a: dict, used: set[str]) -> str:
    """A bare TOML key for the array: its role (x, y) or a name made from its member or file."""
    role = a.get("role")
    if role in ("x", "y") and role not in used:
        name = role
    else:
        member = key.rsplit(":", 1)[-1] if ":" in key else Path(key).stem
        name = re.sub(r"[^A-Za-z0-9_-]+", "_", member.strip("/")) or "array"
    base, i = name, 2
    while name in used:
        name, i = f"{base}_{i}", i + 1
    used.add(name)
    return name


def _outward(v: float, kind: str, sign: int) -> str:
    if kind in "iu":
        return str(int(v))
    import math

    return repr(float(math.floor(v) if sign < 0 else math.ceil(v)))
