"""What a pandas user runs to validate a CSV: pandera with a schema inferred from the data.

``pd.read_csv(FILE)`` (pandas' default C engine), ``pandera.infer_schema(df)`` (dtypes,
nullability and each numeric column's observed range), then ``schema.validate(df)``. The whole
frame is in memory, as it is for every pandas validator.

Run: ``python benchmarks/pandera_baseline.py FILE``; prints ``{"rows": N, "columns": K}``.
Exits 3 with one line when pandera is not installed (``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    try:
        import pandera.pandas as pa
    except ImportError:
        print("pandera is not installed: pip install -e '.[bench]'", file=sys.stderr)
        sys.exit(3)
    import pandas as pd

    df = pd.read_csv(sys.argv[1])
    schema = pa.infer_schema(df)
    schema.validate(df)
    json.dump({"rows": len(df), "columns": len(df.columns)}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
