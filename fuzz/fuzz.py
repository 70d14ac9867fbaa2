"""atheris campaign for one reader: `make fuzz`, or
`python fuzz/fuzz.py FORMAT [libFuzzer options]` with FORMAT one of npy, npz, hdf5, parquet, csv.

A crash found here is kept in `fuzz/crashes/FORMAT/` and replayed by `tests/test_fuzz.py`."""

import sys

import atheris

with atheris.instrument_imports(include=["dsdoctor"]):
    import dsdoctor.api
    import dsdoctor.sources  # noqa: F401

from targets import FORMATS, run_one

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in FORMATS:
        sys.exit(f"usage: fuzz.py {{{','.join(FORMATS)}}} [libFuzzer options]")
    fmt = sys.argv.pop(1)
    atheris.Setup(sys.argv, lambda data: run_one(data, fmt))
    atheris.Fuzz()
