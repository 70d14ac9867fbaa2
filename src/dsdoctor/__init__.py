"""dsdoctor: diagnose and repair machine-learning datasets on disk.

The public API mirrors the CLI::

    import dsdoctor
    x = dsdoctor.load("train.h5:/x")              # a lazy handle: .shape, .dtype, .chunks(), .read()
    report = dsdoctor.check(x="train.h5:/x", y="train.h5:/y", input_shape="(None, 5, 3)")
    for f in report.findings:
        print(f.code, f.name, f.message, [fix.command for fix in f.fixes])
    print(dsdoctor.explain("sample-count-mismatch").doc())

Attributes are imported on first use, so ``import dsdoctor`` stays cheap.
"""

from __future__ import annotations

import sys
import types
from importlib.util import find_spec
from typing import Any

from ._version import __version__ as __version__

_API = {
    "load": "api", "check": "api", "inspect": "api", "explain": "api", "plan": "api", "spec_infer": "api",
    "read_model": "api",
    "triage": "triage", "Diagnosis": "triage",
    "repair": "api",
    "Report": "findings", "RepairOutcome": "findings", "Finding": "findings", "Fix": "findings", "Severity": "findings",
    "Safety": "findings", "Ragged": "arrays",
    "DsdoctorError": "errors", "SourceError": "errors", "UnsafeInputError": "errors",
    "ShapeError": "errors", "RepairError": "errors", "OutputError": "errors", "SpecError": "errors",
    "UsageError": "errors",
}  # fmt: skip

_NAMES = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    """Import an attribute on first use: ``_API``'s names, and the repairs' entries from the
    repair table (``pad``, ``pad_file``, ``Padded``, …; see :mod:`dsdoctor.repairs.table`)."""
    if name == "__all__":
        from .repairs.table import api_names

        return [*_NAMES, *api_names()]
    module = _API.get(name)
    if module is not None:
        from importlib import import_module

        value = getattr(import_module(f".{module}", __name__), name)
    elif not name.startswith("_") and find_spec(f"{__name__}.{name}") is None:
        from .repairs.table import api_entry  # (a submodule's name: ``from . import kernels``)

        value = api_entry(name)
    else:
        value = None
    if value is None:
        raise AttributeError(f"module 'dsdoctor' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__getattr__("__all__"))


class _Package(types.ModuleType):
    """``dsdoctor`` itself. Two public functions share their name with the subpackage that holds
    them (``triage``) or their subject (``plan``), and importing a submodule sets it as an
    attribute of its package: so ``from dsdoctor.triage import PATTERNS`` would turn
    ``dsdoctor.triage`` into a module. A public API name is never replaced by a submodule here;
    the submodule stays importable by its full name (``sys.modules``)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _API and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
