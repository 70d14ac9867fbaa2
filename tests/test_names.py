"""Issue 12, "names that explain themselves": the triage package, the repair result's name, the
public functions that share a name with a subpackage."""

from __future__ import annotations

import subprocess
import sys

import pytest

MESSAGE = "ValueError: Found input variables with inconsistent numbers of samples: [29, 1]"


@pytest.mark.parametrize(
    "first", ["from dsdoctor.triage import PATTERNS", "import dsdoctor.triage.patterns",
              "import dsdoctor.plan", "import dsdoctor.api"],
)  # fmt: skip
def test_public_functions_survive_importing_their_namesake_modules(first):
    """``dsdoctor.triage`` and ``dsdoctor.plan`` stay the public functions whatever was imported
    before (a fresh interpreter each time: the order of imports is what is tested)."""
    code = (
        f"{first}\nimport dsdoctor\n"
        f"d = dsdoctor.triage({MESSAGE!r})\nassert d.finding == 'sample-count-mismatch', d\n"
        "assert callable(dsdoctor.plan) and dsdoctor.plan.__module__ == 'dsdoctor.api'\n"
        "assert dsdoctor.triage.__module__ == 'dsdoctor.triage.match'\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_one_size_reader_serves_options_and_triage():
    """``units.read_size`` is the one reader of sizes: options (``parse_size``) and the sizes in
    framework messages (triage) read "2.00 GiB" the same way, and neither crashes on a size that
    is not one."""
    from dsdoctor.errors import UsageError
    from dsdoctor.triage import triage
    from dsdoctor.units import parse_size, read_size

    assert read_size("2.00 GiB") == parse_size("2.00 GiB") == 2 * 2**30
    assert read_size("512 bytes") == parse_size("512bytes") == 512
    assert read_size("1.2.3 GiB") is None and read_size("7 parsecs") is None
    assert read_size("9" * 400 + " GiB") is None  # inf as a float: not a size, not an OverflowError
    with pytest.raises(UsageError, match="cannot read"):
        parse_size("9" * 400 + "GiB")
    with pytest.raises(UsageError, match="must be positive"):
        parse_size("0.5b")  # less than one byte
    d = triage("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; "
               "7.79 GiB total capacity; 1.20 GiB free)")  # fmt: skip
    assert d is not None and d.numbers["requested_bytes"] == read_size("2.00 GiB")
    assert d.numbers["free_bytes"] == read_size("1.20 GiB")
