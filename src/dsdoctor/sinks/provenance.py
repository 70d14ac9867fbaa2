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
from ..sources.provenance import ATTRIBUTE_PREFIX, METADATA_KEY, sidecar

__all__ = ["ATTRIBUTE_PREFIX", "METADATA_KEY", "hdf5_attributes", "provenance_record",
           "read_provenance", "sidecar", "to_json"]  # fmt: skip


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


def read_provenance(out: str) -> dict[str, Any] | None:
    """The provenance record an output of dsdoctor holds (Parquet schema metadata, the npz member
    ``provenance``, the HDF5 attributes of its dataset or of its Zarr array, or for ``.npy`` and ``.csv`` the
    ``.dsdoctor.json`` beside it), or None when it holds none. Reads only that record: nothing
    is unpickled."""
    from pathlib import Path

    from .destination import parse_destination

    text: str | None = None
    if Path(out).suffix.lower() in (".csv", ".npy") and Path(out).is_file():
        side = Path(sidecar(Path(out)))
        if not side.is_file():
            return None
        text = side.read_text(encoding="utf-8")
        return _record(text)
    dest = parse_destination(out)
    if dest.format == "parquet" and dest.path.is_file():
        import pyarrow.parquet as pq

        meta = pq.read_schema(dest.path).metadata or {}
        raw = meta.get(METADATA_KEY.encode())
        text = raw.decode("utf-8", "replace") if raw is not None else None
    elif dest.format == "npz" and dest.path.is_file():
        import zipfile

        with zipfile.ZipFile(dest.path) as archive:
            if (
                f"{METADATA_KEY}.npy" not in archive.namelist()
                and "provenance.npy" not in archive.namelist()
            ):
                return None
            member = (
                "provenance.npy"
                if "provenance.npy" in archive.namelist()
                else f"{METADATA_KEY}.npy"
            )
            with archive.open(member) as fp:
                text = str(np.lib.format.read_array(fp, allow_pickle=False))
    elif dest.format == "hdf5" and dest.path.is_file():
        import h5py

        with h5py.File(dest.path, "r") as f:
            node = f.get(dest.dataset or "/data")
            if node is None:
                return None
            attrs = {k[len(ATTRIBUTE_PREFIX):]: v for k, v in node.attrs.items()
                     if k.startswith(ATTRIBUTE_PREFIX)}  # fmt: skip
        record: dict[str, Any] = {}
        for key, value in attrs.items():
            value = value.decode() if isinstance(value, bytes) else str(value)
            try:
                record[key] = json.loads(value)
            except ValueError:
                record[key] = value
        return record or None
    elif dest.format == "zarr" and dest.path.is_dir():
        from ..errors import DsdoctorError
        from ..sources import open_array

        try:
            return open_array(f"{dest.path}:{dest.dataset or '/data'}").provenance
        except (DsdoctorError, OSError, ValueError, KeyError):
            return None
    return _record(text)


def _record(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        found = json.loads(text)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None
