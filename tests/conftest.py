"""Shared test helpers: the fixtures folder, the CLI through CliRunner and through a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


@pytest.fixture(scope="session")
def servers(tmp_path_factory):
    """The object-store servers of ``tests/remote_servers.py``, started once per session for
    every remote test module."""
    from .remote_servers import start_servers

    yield from start_servers(tmp_path_factory)


@pytest.fixture
def readonly_folder(tmp_path):
    """An empty folder its owner cannot write to (skips when running as root, who can)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as a user (root) who can write to a 0o500 folder")
        yield folder
    finally:
        folder.chmod(0o700)


@pytest.fixture
def no_spill_left(tmp_path_factory, monkeypatch):
    """A temporary folder of the test's own (``tempfile``'s here, ``TMPDIR`` of the processes
    it starts) in which no folder of spilled hash keys (``dsdoctor-hashes-*``) may be left when
    the test ends."""
    import tempfile

    folder = tmp_path_factory.mktemp("tmpdir")
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.setenv("TMPDIR", str(folder))
    yield folder
    left = sorted(p.name for p in folder.glob("dsdoctor-hashes-*"))
    assert not left, f"spilled hash keys left behind: {left}"


def cli(*args: str) -> Result:
    """Run the real CLI in-process (typer's CliRunner), stdout and stderr apart."""
    from dsdoctor.cli import app

    runner = CliRunner()
    r = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    return Result(r.exit_code, r.stdout, r.stderr)


def run(
    *args: str, stdin: bytes | None = None, env: dict | None = None, timeout: float = 120
) -> Result:
    """Run ``python -m dsdoctor`` in a subprocess: real exit codes, real start-up."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    p = subprocess.run([sys.executable, "-m", "dsdoctor", *map(str, args)], input=stdin,
                       capture_output=True, timeout=timeout, env=full_env)  # fmt: skip
    return Result(p.returncode, p.stdout.decode(), p.stderr.decode())


def found(report, code: str) -> list:
    """The findings of ``report`` (an API report) with ``code``."""
    return [f for f in report.findings if f.code == code]


def assert_clean_error(r: Result, *needles: str) -> None:
    """Exit 2, exactly one stderr line starting ``dsdoctor: error:``, no traceback."""
    assert r.code == 2, (r.code, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("dsdoctor: error: "), r.stderr
    assert "Traceback" not in r.stderr
    for n in needles:
        assert n in lines[0], (n, lines[0])
