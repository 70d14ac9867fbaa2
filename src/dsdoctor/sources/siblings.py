"""The mask ``pad`` writes beside padded data, found from the data's own name.

``pad`` puts the (N, T) boolean mask of real timesteps beside the data it writes
(:mod:`dsdoctor.sinks.writers`): ``x.npy`` → ``x.mask.npy``; an npz member ``data`` → member
``mask``; an HDF5 dataset or Zarr array ``/NAME`` → ``/NAME_mask``; a Parquet column ``data`` → column
``mask``. A candidate counts only when it is a boolean array of the data's first two axes, so a
file that merely shares the naming is not taken for a mask.
"""

from __future__ import annotations

import numpy as np

from ..errors import DsdoctorError
from .base import ArrayHandle


def mask_candidate(h: ArrayHandle) -> str | None:
    """Where ``pad`` would have put the mask of ``h`` (``PATH[:SELECTOR]``), by its naming."""
    if h.format == "npy":
        name = h.path.name
        stem = name[: -len(".npy")] if name.lower().endswith(".npy") else name
        return str(h.path.with_name(stem + ".mask.npy"))
    if h.format in ("npz", "parquet") and h.name == "data":
        return f"{h.path}:mask"
    if h.format in ("hdf5", "zarr") and h.name:
        return f"{h.path}:{h.name.rstrip('/')}_mask"
    return None


def pad_mask_of(h: ArrayHandle, **source_options) -> ArrayHandle | None:
    """The mask ``pad`` wrote beside the padded array ``h``, or None: a boolean (N, T) array of
    ``h``'s first two axes, found where :func:`mask_candidate` says."""
    if h.ragged or h.ndim < 2:
        return None
    where = mask_candidate(h)
    if where is None or str(h.path) == "-":
        return None
    from . import open_array

    try:
        found = open_array(where, **source_options)
    except (DsdoctorError, OSError):
        return None
    if found.ragged or found.dtype != np.dtype(bool) or tuple(found.shape) != tuple(h.shape[:2]):
        return None
    return found
