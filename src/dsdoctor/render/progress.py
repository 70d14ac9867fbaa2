"""A progress bar for long scans and writes: rich on a terminal's stderr, nothing otherwise
(pipes, logs, cron, ``NO_COLOR`` is irrelevant here; ``DSDOCTOR_NO_PROGRESS=1`` turns it off).

:func:`progress` is the CLI's progress callback: the commands pass it to the API
(``progress=progress``), which hands it to the engine (:class:`dsdoctor.engine.progress.Progress`
is its shape). Nothing below the CLI imports this module, so the API never draws."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: Scans smaller than this finish before a bar would help.
MIN_BYTES = 256 * 1024**2


def enabled() -> bool:
    return sys.stderr.isatty() and os.environ.get("DSDOCTOR_NO_PROGRESS") != "1"


@contextmanager
def progress(
    description: str, total: float | None, unit: str = "bytes"
) -> Iterator[Callable[[float], None]]:
    """Yield ``advance(amount)``; draws a bar only when stderr is a terminal."""
    small = unit == "bytes" and (total is None or total < MIN_BYTES)
    if not enabled() or small:
        yield lambda amount: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from .. import interrupts

    count = DownloadColumn() if unit == "bytes" else MofNCompleteColumn()
    with (
        interrupts.on_leave(_show_cursor),
        Progress(TextColumn("{task.description}"), BarColumn(), count, TimeRemainingColumn(),
                 transient=True, console=Console(stderr=True), redirect_stdout=False,
                 redirect_stderr=False) as bar,
    ):  # fmt: skip
        from rich.markup import escape

        from .safe import printable

        task = bar.add_task(escape(printable(description)), total=total)
        yield lambda amount: bar.advance(task, amount)


def _show_cursor() -> None:
    """Before a forced exit on a signal (the bar hides the cursor and cannot stop itself): a
    raw write, as the bar may hold its console's lock at that moment."""
    os.write(2, b"\r\x1b[2K\x1b[?25h")
