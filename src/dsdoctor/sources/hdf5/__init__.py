"""HDF5 sources: the reader and the two guards it alone needs.

- :mod:`.reader`: :class:`H5Source` (a file) and :class:`H5Dataset` (one dataset of it), link-safe
  and bounded by what the file stores;
- :mod:`.guarded`: a native read in a forked child with a deadline (HDF5 can loop forever on a
  damaged global heap);
- :mod:`.limits`: a temporary address-space limit around reads that allocate what the file
  declares (a variable-length element's size).

Importing this package imports h5py: :mod:`dsdoctor.sources` does it only when an HDF5 file is
opened.
"""

from __future__ import annotations

from .reader import H5Dataset, H5Source

__all__ = ["H5Dataset", "H5Source"]
