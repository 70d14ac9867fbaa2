"""Writers per format (``.npy``, ``.npz``, HDF5, Parquet, Zarr): atomic, with siblings and provenance.

Each format lives in its own module and imports h5py or pyarrow only when it writes.
:mod:`.atomic` holds the temporary-file-then-rename machinery every writer goes through.
"""

from __future__ import annotations

from .atomic import (
    atomic_folder,
    atomic_group,
    atomic_path,
    cleanup_temporaries,
    committed_together,
    write_text,
)
from .destination import Destination, parse_destination
from .guard import guard_outputs, source_paths
from .writers import open_npy_writer, stream_arrays, stream_ragged, write_arrays

__all__ = [
    "Destination",
    "atomic_folder",
    "atomic_group",
    "atomic_path",
    "cleanup_temporaries",
    "committed_together",
    "guard_outputs",
    "open_npy_writer",
    "parse_destination",
    "source_paths",
    "stream_arrays",
    "stream_ragged",
    "write_arrays",
    "write_text",
]
