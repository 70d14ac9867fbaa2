"""``--jobs N`` where the fork crew (:mod:`~dsdoctor.engine.crew`) is not used (macOS, Windows):
a ``concurrent.futures`` process pool runs the same tasks."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from .progress import Advance
from .stats import ScanOptions
from .tasks import Task, scan_task


def run_pool(tasks: list[Task], sizes: list[int], workers: int, source_options: dict,
             opts: ScanOptions | Any, advance: Advance,
             work: Callable[[Task, dict, Any], Any] = scan_task) -> list[Any]:  # fmt: skip
    """Where fork is not used (macOS, Windows): a process pool of ``workers`` with the
    platform's start method, one future per task. As with any ``multiprocessing`` program
    there, a script calling the API with ``jobs`` needs an ``if __name__ == "__main__":`` guard."""
    from concurrent.futures import ProcessPoolExecutor

    def advance_by(size: int) -> Callable[[Future[Any]], None]:
        return lambda _: advance(size)

    with ProcessPoolExecutor(workers) as pool:
        futures = [pool.submit(work, t, source_options, opts) for t in tasks]
        for f, size in zip(futures, sizes, strict=True):
            f.add_done_callback(advance_by(size))
        return [f.result() for f in futures]
