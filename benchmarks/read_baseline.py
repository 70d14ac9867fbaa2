"""The floor a table `check` is measured against: read every record batch of a file, nothing else.

- CSV: ``pyarrow.csv.open_csv(FILE)`` with pyarrow's default options (1 MiB blocks, type
  inference from the first block, threads), every batch read;
- Parquet: ``ParquetFile(FILE, pre_buffer=False).iter_batches()`` (with the default
  ``pre_buffer=True`` the reader buffers every row group it will read: its peak RSS is about the
  file's size).

No reduction is computed: this is the cost of decoding the file, which any check of it pays.

Run: ``python benchmarks/read_baseline.py {csv,parquet} FILE``; prints ``{"rows": N}``.
"""

from __future__ import annotations

import json
import sys


def read_csv(path: str) -> int:
    import pyarrow.csv as pacsv

    rows = 0
    with pacsv.open_csv(path) as reader:
        for batch in reader:
            rows += batch.num_rows
    return rows


def read_parquet(path: str) -> int:
    import pyarrow.parquet as pq

    rows = 0
    for batch in pq.ParquetFile(path, pre_buffer=False).iter_batches():
        rows += batch.num_rows
    return rows


def main() -> None:
    kind, path = sys.argv[1], sys.argv[2]
    rows = {"csv": read_csv, "parquet": read_parquet}[kind](path)
    json.dump({"rows": rows}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
