"""atheris campaign for the hdf5 reader: `make fuzz` (or `python fuzz/fuzz_hdf5.py -atheris_runs=N`).

A crash found here is kept in `fuzz/crashes/hdf5/` and replayed by `tests/test_fuzz.py`."""

import sys

import atheris

with atheris.instrument_imports(include=["dsdoctor"]):
    import dsdoctor.api
    import dsdoctor.sources  # noqa: F401

from targets import run_one


def one_input(data: bytes) -> None:
    run_one(data, "hdf5")


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
