"""Writers per format (``.npy``, ``.npz``, HDF5, Parquet): atomic, with siblings and provenance.

Each format lives in its own module and imports h5py or pyarrow only when it writes.
:mod:`.atomic` holds the temporary-file-then-rename machinery every writer goes through.
"""

from __future__ import annotations

from .atomic import atomic_group, atomic_path, cleanup_temporaries
from .destination import Destination, parse_destination
from .writers import open_npy_writer, stream_arrays, write_arrays

__all__ = [
    "Destination",
    "atomic_group",
    "atomic_path",
    "cleanup_temporaries",
    "open_npy_writer",
    "parse_destination",
    "stream_arrays",
    "write_arrays",
]
