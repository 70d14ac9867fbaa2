"""The engine reports progress through a callback: the Python API never writes to stderr, even
on a terminal; the CLI passes the callback that draws a bar."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from contextlib import contextmanager

import numpy as np
import pytest

import dsdoctor
from dsdoctor.engine import Engine, ScanOptions
from dsdoctor.engine import tasks as engine_tasks

#: A bar for any size (not only above 256 MiB) and tasks of 1 KiB, so that a few KiB of shards
#: would draw a bar and fork a helper with --jobs 2.
SETUP = (
    "import sys\n"
    "import dsdoctor, dsdoctor.render.progress as p, dsdoctor.engine.tasks as t\n"
    "p.MIN_BYTES = 0\n"
    "t.MIN_TASK_BYTES = 1024\n"
)


@pytest.fixture
def shards(tmp_path):
    d = tmp_path / "shards"
    d.mkdir()
    for i in range(4):
        np.save(d / f"part-{i}.npy", np.full((200, 4), i, dtype=np.float32))
    return d


def on_a_terminal(code: str, *args) -> tuple[int, bytes]:
    """Run ``code`` in a Python subprocess whose stderr is a pseudo-terminal; its exit code and
    every byte it wrote there."""
    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100"}
    env.pop("DSDOCTOR_NO_PROGRESS", None)
    env.pop("NO_COLOR", None)
    with subprocess.Popen([sys.executable, "-c", code, *map(str, args)], stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=slave, env=env) as p:  # fmt: skip
        os.close(slave)
        written = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed its end
                break
            if not chunk:
                break
            written += chunk
        code_ = p.wait(timeout=120)
    os.close(master)
    return code_, written


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_api_never_writes_to_a_terminals_stderr(shards, jobs):
    """``dsdoctor.check`` and ``inspect`` on shards (served by local helpers with jobs=2) write
    nothing on a terminal's stderr: the engine drew a bar there through render.progress."""
    code = SETUP + (
        "d, jobs = sys.argv[1], int(sys.argv[2])\n"
        "assert dsdoctor.check(d, jobs=jobs).arrays\n"
        "assert dsdoctor.inspect(d, jobs=jobs).entries\n"
        "assert dsdoctor.plan(d, batch_size=8).to_dict()\n"
    )
    status, written = on_a_terminal(code, shards, jobs)
    assert status == 0, written
    assert written == b""


def test_the_cli_draws_its_bar_on_a_terminal(shards):
    """The same run through the CLI does draw (so the test above can see a bar)."""
    code = SETUP + (
        "from dsdoctor.cli import main\n"
        "sys.argv = ['dsdoctor', 'check', sys.argv[1], '--jobs', '2']\n"
        "main()\n"
    )
    status, written = on_a_terminal(code, shards)
    assert status in (0, 1), written
    assert b"\x1b[?25l" in written  # the bar hid the cursor while it ran


def test_a_progress_callback_hears_every_byte(shards, monkeypatch):
    """An engine given a callback reports through it, once per scan, up to the data's size."""
    calls: list[tuple[str, float | None, str]] = []
    done: list[float] = []

    @contextmanager
    def record(description, total, unit="bytes"):
        calls.append((description, total, unit))
        yield done.append

    monkeypatch.setattr(engine_tasks, "MIN_TASK_BYTES", 1 << 30)  # one task: scanned here
    h = dsdoctor.load(str(shards))
    Engine.from_options(progress=record).scan(h, ScanOptions())
    assert calls == [(f"scanning {h.source}", h.memory_bytes or h.disk_bytes, "bytes")]
    assert sum(done) == 4 * 200 * 4 * 4
