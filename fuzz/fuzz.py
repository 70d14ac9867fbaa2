"""atheris campaign for one target: `make fuzz`, or
`python fuzz/fuzz.py TARGET [libFuzzer options]` with TARGET one of npy, npz, hdf5, parquet, csv
(a reader), options (the CLI's option values) or spec (spec files).

A crash found here is kept in `fuzz/crashes/TARGET/` and replayed by `tests/test_fuzz.py`."""

import sys

import atheris

with atheris.instrument_imports(include=["dsdoctor"]):
    import dsdoctor.api
    import dsdoctor.cli
    import dsdoctor.sources
    import dsdoctor.spec  # noqa: F401

from targets import TARGETS, run_one

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: fuzz.py {{{','.join(TARGETS)}}} [libFuzzer options]")
    fmt = sys.argv.pop(1)
    atheris.Setup(sys.argv, lambda data: run_one(data, fmt))
    atheris.Fuzz()
