"""How the engine reports a scan's progress: through a callback that its caller supplies.

The engine never draws: ``progress(description, total, unit)`` is a context manager yielding
``advance(amount)``, called as the scan goes. The default, :func:`no_progress`, does nothing --
so the Python API never writes to stderr -- and the CLI passes
:func:`dsdoctor.render.progress.progress`, which draws a bar on a terminal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

#: ``advance(amount)``: ``amount`` more bytes (or parts) are done.
Advance = Callable[[float], None]


class Progress(Protocol):
    def __call__(
        self, description: str, total: float | None, unit: str = "bytes"
    ) -> AbstractContextManager[Advance]: ...


@contextmanager
def no_progress(description: str, total: float | None, unit: str = "bytes") -> Iterator[Advance]:
    """The default: report to no one."""
    yield lambda amount: None
