"""Reading the provenance dsdoctor records in its outputs (``sinks/provenance.py`` writes it),
so that ``check`` knows an array it made itself: the mask and lengths ``pad`` wrote beside its
data are not data, and the data is padded with a known value.

Where the record is, per format: Parquet schema metadata key ``dsdoctor`` (one record for the
table; a column's role is its name), the ``.npz`` member ``provenance`` (or ``dsdoctor``; a
member's role is its name), the ``dsdoctor_*`` attributes of the main HDF5 dataset (a sibling
``NAME_ROLE`` has the role ``ROLE``), and for ``.npy`` the JSON file ``STEM.dsdoctor.json``
beside ``STEM.npy`` (its ``files`` name each role's file, e.g. ``STEM.mask.npy``).

Each reader is cheap (a schema already read, one small member, a few attributes, one small
file) and never unpickles: a member that is not a unicode scalar is no record. Every reader
returns the record with the array's ``role`` added (``data``, ``mask``, ``lengths``, …), or None.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePath
from typing import Any

import numpy as np

from ..errors import SourceError
from ..locations import is_url
from ..markers import RECORD_SUFFIX

#: Parquet schema metadata key and npz member name holding the JSON record.
METADATA_KEY = "dsdoctor"
#: The npz member dsdoctor writes the record to (``METADATA_KEY`` is also read).
NPZ_MEMBER = "provenance"
#: The npz members that may hold a record (a 0-d text member of either name).
RECORD_MEMBERS = (NPZ_MEMBER, METADATA_KEY)
#: HDF5 attribute prefix: ``dsdoctor_version``, ``dsdoctor_operation``, ``dsdoctor_options``, …
ATTRIBUTE_PREFIX = "dsdoctor_"
#: The record beside a ``.npy``: ``x.npy`` → ``x.dsdoctor.json``.
SIDECAR_SUFFIX = RECORD_SUFFIX
#: The most bytes read as a record: dsdoctor's are a few hundred; a bigger file is not one.
MAX_RECORD_BYTES = 1 << 20
#: Outputs of these roles are not data: value checks skip them (``role`` of the record): pad's
#: mask and lengths, and the row numbers window writes beside its windows.
NOT_DATA = ("mask", "lengths", "starts", "target_rows")


def sidecar(path: PurePath) -> PurePath:
    """``x.npy`` → ``x.dsdoctor.json``: the provenance beside an output that has no room for it."""
    name = path.name[: -len(path.suffix)] if path.suffix else path.name
    return path.with_name(name + SIDECAR_SUFFIX)


def parse_record(text: str | bytes | None) -> dict[str, Any] | None:
    """The JSON object ``text`` holds, or None (not JSON, not an object, too big)."""
    if text is None or len(text) > MAX_RECORD_BYTES:
        return None
    try:
        found = json.loads(text)
    except ValueError:
        return None
    return found if isinstance(found, dict) and "operation" in found else None


def main_role(record: dict[str, Any]) -> str:
    """The role of an output's main array: ``mask`` for ``mask``'s output, else ``data``."""
    return "mask" if record.get("operation") == "mask" else "data"


def with_role(record: dict[str, Any] | None, role: str) -> dict[str, Any] | None:
    return None if record is None else {**record, "role": role}


def npy_record(path: Path) -> dict[str, Any] | None:
    """The record of ``STEM.npy`` (``STEM.dsdoctor.json``) or of ``STEM.ROLE.npy`` (the record
    beside ``STEM.npy`` whose ``files`` names this file)."""
    own = _read_small(sidecar(path) if is_url(path) else Path(sidecar(path)))
    if own is not None:
        files = own.get("files")
        role = (
            next((r for r, f in files.items() if f == path.name), None)
            if isinstance(files, dict)
            else None
        )
        return with_role(own, role or main_role(own))
    stem, _, role = path.name[: -len(path.suffix)].rpartition(".")
    if not stem or not role:
        return None
    record = _read_small(path.with_name(stem + SIDECAR_SUFFIX))
    files = record.get("files") if record is not None else None
    if not isinstance(files, dict) or files.get(role) != path.name:
        return None
    return with_role(record, role)


def npz_record(open_member, names: list[str]) -> dict[str, Any] | None:
    """The record of an archive whose member files are ``names``; ``open_member(filename)``
    opens one. Read only when its header says a small unicode scalar, and then with
    ``allow_pickle=False``."""
    for name in RECORD_MEMBERS:
        if f"{name}.npy" not in names:
            continue
        try:
            with open_member(f"{name}.npy") as fp:
                version = np.lib.format.read_magic(fp)
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                               else np.lib.format.read_array_header_2_0)  # fmt: skip
                shape, _, dtype = read_header(fp)
                if shape != () or dtype.kind != "U" or dtype.itemsize > MAX_RECORD_BYTES:
                    return None
                raw = fp.read(dtype.itemsize)
        except (OSError, ValueError, EOFError):
            return None
        if len(raw) != dtype.itemsize:
            return None
        return parse_record(str(np.frombuffer(raw, dtype=dtype)[0]))
    return None


def attributes_record(attrs) -> dict[str, Any] | None:
    """The record held in ``dsdoctor_*`` HDF5 attributes (values JSON, or plain strings)."""
    record: dict[str, Any] = {}
    for key in [k for k in attrs if k.startswith(ATTRIBUTE_PREFIX)]:  # no other value is read
        value = attrs[key]
        if isinstance(value, bytes) and len(value) > MAX_RECORD_BYTES:
            return None
        value = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        try:
            record[key[len(ATTRIBUTE_PREFIX) :]] = json.loads(value)
        except ValueError:
            record[key[len(ATTRIBUTE_PREFIX) :]] = value
    return record if "operation" in record else None


def hdf5_record(file, path: str) -> dict[str, Any] | None:
    """The record of dataset ``path`` of an open h5py ``file``: its own attributes (it is the
    main array), or those of ``NAME`` when it is the sibling ``NAME_ROLE``. Only hard links are
    followed: a soft or external link named like a sibling is never opened."""
    node = _hard(file, path)
    if node is None:
        return None
    own = attributes_record(node.attrs)
    if own is not None:
        return with_role(own, main_role(own))
    parent, _, leaf = path.rpartition("/")
    base, _, role = leaf.rpartition("_")
    if not base or not role:
        return None
    main = _hard(file, f"{parent}/{base}")
    if main is None or not hasattr(main, "attrs"):
        return None
    return with_role(attributes_record(main.attrs), role)


def _hard(file, path: str):
    """The object at ``path`` when its last link is a hard link, else None."""
    import h5py

    if type(file.get(path, getlink=True)) is not h5py.HardLink:
        return None
    return file.get(path)


def schema_record(metadata: dict | None, column: str) -> dict[str, Any] | None:
    """The record in a Parquet schema's metadata; a column's role is its name."""
    raw = (metadata or {}).get(METADATA_KEY.encode())
    return with_role(parse_record(raw), column) if raw is not None else None


def _read_small(path: Any) -> dict[str, Any] | None:
    """The record in the small file ``path`` (a Path, or a URL's Location), or None."""
    try:
        if not path.is_file() or path.stat().st_size > MAX_RECORD_BYTES:
            return None
        return parse_record(path.read_bytes())
    except (OSError, SourceError):
        return None
