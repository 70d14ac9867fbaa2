"""The provenance an output records: dsdoctor version, operation, options, source — as JSON.

The caller gives ``{"operation": "pad", "options": {...}, "source": "x.parquet:tokens"}``;
``version`` is filled in when missing. Where it is stored depends on the format (see
:mod:`dsdoctor.sinks.writers`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

import numpy as np

from .._version import __version__

#: Parquet schema metadata key and npz member name holding the JSON record.
METADATA_KEY = "dsdoctor"
#: HDF5 attribute prefix: ``dsdoctor_version``, ``dsdoctor_operation``, ``dsdoctor_options``, …
ATTRIBUTE_PREFIX = "dsdoctor_"


def provenance_record(provenance: Mapping[str, Any]) -> dict[str, Any]:
    """The record to store: the caller's keys, with ``version`` defaulting to this dsdoctor."""
    return {"version": __version__, **provenance}


def to_json(value: Any) -> str:
    """JSON for provenance values; numpy scalars/arrays and paths become plain JSON."""
    return json.dumps(value, sort_keys=True, default=_plain, ensure_ascii=False)


def hdf5_attributes(record: Mapping[str, Any]) -> dict[str, str]:
    """One attribute per key: strings as they are, anything else JSON-encoded."""
    return {
        ATTRIBUTE_PREFIX + key: value if isinstance(value, str) else to_json(value)
        for key, value in record.items()
    }


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.dtype):
        return str(value)
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)
