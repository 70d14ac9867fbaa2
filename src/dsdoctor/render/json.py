"""JSON on stdout: one object, nothing else there."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import numpy as np


def _default(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "value"):
        return obj.value
    return str(obj)


def _clean(obj: Any) -> Any:
    if isinstance(obj, np.floating):  # float128's .item()/.tolist() stay float128
        obj = float(obj)
    elif isinstance(obj, np.complexfloating):
        obj = str(complex(obj))
    elif isinstance(obj, np.generic):
        obj = obj.item()
    elif isinstance(obj, np.ndarray):
        obj = obj.tolist()
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj


def dumps(obj: Any) -> str:
    return json.dumps(_clean(obj), default=_default, allow_nan=False)


def print_json(obj: Any) -> None:
    sys.stdout.write(dumps(obj) + "\n")


def report_text(report: Any, *, select: Any = None, ignore: Any = None) -> str:
    """``check --format json``: the report's JSON, one object and a newline."""
    return dumps(report.to_dict()) + "\n"
