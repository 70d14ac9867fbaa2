"""atheris campaign for the parquet reader: `make fuzz` (or `python fuzz/fuzz_parquet.py -atheris_runs=N`).

A crash found here is kept in `fuzz/crashes/parquet/` and replayed by `tests/test_fuzz.py`."""

import sys

import atheris

with atheris.instrument_imports(include=["dsdoctor"]):
    import dsdoctor.api
    import dsdoctor.sources  # noqa: F401

from targets import run_one


def one_input(data: bytes) -> None:
    run_one(data, "parquet")


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
