"""``.npz`` outputs: member ``data`` (the main array), one member per sibling role (``mask``,
``lengths``, …) and ``provenance``, a 0-d unicode array holding JSON — never an object array,
so the archive loads with ``allow_pickle=False``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import OutputError
from .atomic import atomic_path
from .destination import Destination
from .provenance import to_json

MAIN_MEMBER = "data"
PROVENANCE_MEMBER = "provenance"


def write(
    dest: Destination,
    arrays: Mapping[str, np.ndarray],
    main: str,
    record: Mapping[str, Any],
    *,
    force: bool,
    compression: str | None,
) -> list[Path]:
    members = {MAIN_MEMBER if role == main else role: array for role, array in arrays.items()}
    if len(members) != len(arrays) or PROVENANCE_MEMBER in members:
        raise OutputError(
            f"{dest.text}: the member names {MAIN_MEMBER!r} and {PROVENANCE_MEMBER!r} are "
            f"reserved; rename the roles {', '.join(arrays)}"
        )
    members[PROVENANCE_MEMBER] = np.array(to_json(record))  # dtype <U…, not object
    save = np.savez_compressed if compression else np.savez
    with atomic_path(dest.path, force=force) as tmp, open(tmp, "wb") as fp:
        save(fp, **members)  # object arrays were refused before, so nothing is pickled
    return [dest.path]
