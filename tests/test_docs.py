"""Generated reference docs are fresh, and every command is documented with an example."""

from __future__ import annotations

import pytest

from dsdoctor import docs

from .conftest import cli


def test_generated_docs_are_fresh():
    for path, text in docs.generated().items():
        assert path.exists(), f"{path} is missing: run `python -m dsdoctor.docs`"
        assert path.read_text() == text, f"{path} is stale: run `python -m dsdoctor.docs`"


@pytest.mark.parametrize("path", [p for p in docs.commands() if p], ids=" ".join)
def test_every_command_has_help_with_an_example(path):
    out = cli(*path, "--help").stdout
    if any(p[: len(path)] == path and len(p) > len(path) for p in docs.commands()):
        assert "Commands:" in out  # a group: its commands carry the examples
        return
    assert (
        "Example" in out and f"dsdoctor {path[-1] if len(path) == 1 else ' '.join(path)}" in out
    ), out
