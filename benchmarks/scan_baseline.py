"""The baseline `dsdoctor check` is measured against: a plain chunked numpy/pyarrow scan.

It computes the reductions `check` reports for a dense float array -- per-column min/max and
the NaN/+Inf/-Inf counts -- reading about 64 MiB at a time, the way one would by hand:

- ``.npy``: the header parsed by ``numpy.lib.format``, then ``readinto`` a reused buffer;
- HDF5: h5py slices of whole chunks, ``read_direct`` into a reused buffer;
- Parquet: ``ParquetFile(pre_buffer=False).iter_batches``, each column's values as numpy
  (zero-copy). With pyarrow's default ``pre_buffer=True`` the same loop buffers every row group
  it will read up front: its peak RSS is about the size of the file.

Per chunk: ``min``/``max`` along the sample axis (NaN propagates, so that is also a screen);
only when a result is not finite are NaN/±Inf counted and the NaN-ignoring ``fmin``/``fmax``
taken -- the same screen dsdoctor uses, so both do the same work on the same data.

- Zarr: the array read one band of chunks (``chunks[0]`` rows) at a time with zarr.

Run: ``python benchmarks/scan_baseline.py {npy,hdf5,parquet,zarr} FILE [FILE ...]`` (several files are
scanned in turn as one dataset, like shards); prints one JSON object.
"""

from __future__ import annotations

import json
import sys

import numpy as np

CHUNK_BYTES = 64 * 1024**2


class Stats:
    def __init__(self) -> None:
        self.rows = 0
        self.nan = self.posinf = self.neginf = 0
        self.lo: dict[int, np.ndarray] = {}  # key: a column, or -1 for all columns at once
        self.hi: dict[int, np.ndarray] = {}

    def update(self, data: np.ndarray, key: int = -1) -> None:
        lo, hi = data.min(axis=0), data.max(axis=0)
        if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
            self.nan += int(np.count_nonzero(np.isnan(data)))
            self.posinf += int(np.count_nonzero(np.isposinf(data)))
            self.neginf += int(np.count_nonzero(np.isneginf(data)))
            lo, hi = np.fmin.reduce(data, axis=0), np.fmax.reduce(data, axis=0)
        self.lo[key] = lo if key not in self.lo else np.fmin(self.lo[key], lo)
        self.hi[key] = hi if key not in self.hi else np.fmax(self.hi[key], hi)

    def result(self) -> dict:
        if -1 in self.lo:
            lo, hi = np.atleast_1d(self.lo[-1]), np.atleast_1d(self.hi[-1])
        else:
            keys = sorted(self.lo)
            lo = np.array([self.lo[k] for k in keys])
            hi = np.array([self.hi[k] for k in keys])
        return {"rows": self.rows, "nan": self.nan, "posinf": self.posinf, "neginf": self.neginf,
                "feature_min": [float(v) for v in lo], "feature_max": [float(v) for v in hi]}  # fmt: skip


def scan_npy(path: str, stats: Stats) -> None:
    fmt = np.lib.format
    with open(path, "rb") as fp:
        version = fmt.read_magic(fp)
        read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        shape, fortran, dtype = read(fp)
        assert not fortran, "C order only"
        width = int(np.prod(shape[1:], dtype=np.int64))
        rows = max(1, CHUNK_BYTES // (width * dtype.itemsize))
        buf = np.empty(rows * width, dtype=dtype)
        left = shape[0]
        while left:
            n = min(rows, left)
            view = buf[: n * width]
            got = fp.readinto(view)
            assert got == view.nbytes, "truncated"
            stats.rows += n
            stats.update(view.reshape(n, width))
            left -= n


def scan_hdf5(path: str, stats: Stats) -> None:
    import h5py

    with h5py.File(path, "r") as f:
        dset = next(v for v in f.values() if isinstance(v, h5py.Dataset))
        n, width = dset.shape[0], int(np.prod(dset.shape[1:], dtype=np.int64))
        rows = max(1, CHUNK_BYTES // (width * dset.dtype.itemsize))
        if dset.chunks and rows > dset.chunks[0]:
            rows -= rows % dset.chunks[0]
        buf = np.empty((min(rows, n), *dset.shape[1:]), dtype=dset.dtype)
        for start in range(0, n, rows):
            count = min(rows, n - start)
            view = buf[:count]
            dset.read_direct(view, np.s_[start : start + count], np.s_[0:count])
            stats.rows += count
            stats.update(view.reshape(count, width))


def scan_parquet(path: str, stats: Stats) -> None:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path, pre_buffer=False)
    width = pf.metadata.num_columns
    rows = max(1, CHUNK_BYTES // (width * 4))
    for batch in pf.iter_batches(batch_size=rows):
        stats.rows += batch.num_rows
        for i, col in enumerate(batch.columns):
            stats.update(col.to_numpy(zero_copy_only=False), key=i)


def scan_zarr(path: str, stats: Stats) -> None:
    """The store's one array, chunk by chunk along axis 0 (each read one band of chunks, which
    zarr fetches and decodes concurrently)."""
    import zarr

    node = zarr.open(path, mode="r")
    arr = node if isinstance(node, zarr.Array) else next(iter(node.arrays()))[1]
    n, width = arr.shape[0], int(np.prod(arr.shape[1:], dtype=np.int64))
    band = arr.chunks[0]
    for start in range(0, n, band):
        view = arr[start : min(n, start + band)]
        stats.rows += len(view)
        stats.update(view.reshape(len(view), width))


def main() -> None:
    kind, paths = sys.argv[1], sys.argv[2:]
    scan = {"npy": scan_npy, "hdf5": scan_hdf5, "parquet": scan_parquet, "zarr": scan_zarr}[kind]
    stats = Stats()
    for path in paths:
        scan(path, stats)
    json.dump(stats.result(), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
