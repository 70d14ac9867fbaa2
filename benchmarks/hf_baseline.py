"""The floor a Hugging Face folder's token column is measured against, with the ``datasets``
package itself: ``datasets.load_from_disk(FOLDER)[SPLIT]``, then every batch of the column in
Arrow form (``with_format("arrow").iter``, the cheapest way ``datasets`` offers to go through a
column) with each batch's values touched once (``pyarrow.compute.min_max``: the least any check
of the values reads).

Run: ``python benchmarks/hf_baseline.py FOLDER SPLIT COLUMN``; prints ``{"rows": N, "min": …,
"max": …}``.
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    import datasets
    import pyarrow.compute as pc

    folder, split, column = sys.argv[1:4]
    ds = datasets.load_from_disk(folder)[split].with_format("arrow")
    rows, lo, hi = 0, None, None
    for batch in ds.iter(batch_size=65_536):
        col = batch[column].combine_chunks()
        rows += len(col)
        mm = pc.min_max(col.values).as_py()
        lo = mm["min"] if lo is None else min(lo, mm["min"])
        hi = mm["max"] if hi is None else max(hi, mm["max"])
    json.dump({"rows": rows, "min": lo, "max": hi}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
