"""Where the streaming reductions run: in this process (``serial``), in local processes
(``process``, ``--jobs N``), or on an existing Dask cluster (``--engine dask --scheduler
ADDRESS``). :meth:`Engine.from_options` checks the options and picks one; :meth:`Engine.scan`
runs a scan there and returns one merged :class:`~dsdoctor.engine.stats.ArrayStats`, equal to a
single serial pass; :meth:`Engine.run` runs any other work cut into tasks there (the split pass).

``--jobs N`` means N processes scanning the tasks of :func:`~dsdoctor.engine.tasks.cut_tasks`:
on Linux this one and N - 1 helpers forked from it (:mod:`~dsdoctor.engine.crew`, whose
docstring holds the measurement that justifies it); where ``fork`` does not exist or is not
used (macOS, Windows), a ``concurrent.futures`` process pool (:mod:`~dsdoctor.engine.pool`).
Data too small to be worth a second process (less than two tasks' worth) is scanned here alone.
Progress goes to the caller's ``progress`` callback (:mod:`~dsdoctor.engine.progress`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError
from . import crew
from .progress import Progress, no_progress
from .stats import ArrayStats, ScanOptions, scan
from .tasks import Task, cut_tasks, merge, task_bytes

ENGINES = ("serial", "process", "dask")
SCHEDULER_ENV = "DSDOCTOR_SCHEDULER"


@dataclass(frozen=True)
class Engine:
    """How to run scans: ``serial``, ``process`` (with ``jobs`` workers) or ``dask``, reporting
    to ``progress``."""

    name: str = "serial"
    jobs: int = 1
    scheduler: str | None = None
    source_options: dict[str, Any] = field(default_factory=dict)
    progress: Progress = field(default=no_progress, compare=False)

    @classmethod
    def from_options(cls, engine: str | None = None, jobs: int = 1, scheduler: str | None = None,
                     source_options: dict | None = None,
                     progress: Progress | None = None) -> Engine:  # fmt: skip
        if jobs < 1:
            raise UsageError(f"--jobs must be at least 1, got {jobs}")
        name = engine or ("process" if jobs > 1 else "serial")
        if name not in ENGINES:
            raise UsageError(f"--engine must be one of {', '.join(ENGINES)}, got {name!r}")
        if name == "dask":
            from .dask import check_scheduler

            scheduler = scheduler or os.environ.get(SCHEDULER_ENV)
            if not scheduler:
                raise UsageError(
                    f"--engine dask needs --scheduler ADDRESS (or {SCHEDULER_ENV}), e.g. tcp://10.0.0.5:8786"
                )
            check_scheduler(scheduler)
        return cls(name, jobs, scheduler, dict(source_options or {}), progress or no_progress)

    def scan(self, handle, opts: ScanOptions) -> ArrayStats:
        if self.name == "dask":
            from .dask import scan_on_cluster

            assert self.scheduler is not None  # from_options requires one
            return scan_on_cluster(handle, opts, self.scheduler, self.source_options, self.progress)
        if self.name == "process" and self.jobs > 1 and hasattr(handle, "shard_sources"):
            tasks = cut_tasks(handle, self.jobs)
            if len(tasks) > 1:
                return self._processes(handle, tasks, opts)
        return self._here(handle, opts)

    def run(self, cut: Callable[[int], tuple[list[Task], list[int]] | None],
            work: Callable[[Task, dict, Any], Any], opts: Any,
            description: str) -> list[Any] | None:  # fmt: skip
        """``work(task, source_options, opts)`` of each task that ``cut(workers)`` gives (with
        the bytes each scans, for the progress bar), on this engine's workers (local processes,
        a Dask cluster): their results in task order. None when this engine runs in this
        process alone (serial, ``--jobs 1``), when ``cut`` gives no tasks (the data cannot be
        cut into parts the workers open) or a single one outside a cluster, or where forking is
        not safe: the caller then scans here. (The split pass runs so:
        :func:`~dsdoctor.engine.splits.split_tasks`.)"""
        if self.name == "dask":
            from .dask import run_on_cluster

            assert self.scheduler is not None  # from_options requires one
            if cut(1) is None:
                return None
            return run_on_cluster(lambda n: (cut(n) or ([], []))[0], work, opts, self.scheduler,
                                  self.source_options, self.progress)  # fmt: skip
        if self.name != "process" or self.jobs < 2:
            return None
        got = cut(self.jobs)
        if got is None or len(got[0]) < 2:
            return None
        tasks, weights = got
        workers = min(self.jobs, len(tasks))
        if not crew.fork_is_safe():
            if crew.FORK:  # Linux, with other threads running: scan here (see fork_is_safe)
                return None
            from .pool import run_pool

            with self.progress(description, sum(weights)) as advance:
                return run_pool(tasks, weights, workers, self.source_options, opts, advance, work)
        with crew.Crew(tasks, weights, self.source_options, opts, work) as helpers:
            helpers.fork(workers - 1)  # before a progress bar starts its refresh thread
            with self.progress(description, sum(weights)) as advance:
                return helpers.run(advance)

    def _here(self, handle, opts: ScanOptions) -> ArrayStats:
        with self.progress(f"scanning {handle.source}", handle.expected_bytes()) as advance:
            return scan(handle, opts, advance)

    def _processes(self, handle, tasks: list[Task], opts: ScanOptions) -> ArrayStats:
        sizes = [task_bytes(handle, t) for t in tasks]
        workers = min(self.jobs, len(tasks))
        description = f"scanning {len(handle.shards)} shards"
        if not crew.fork_is_safe():
            if crew.FORK:  # Linux, with other threads running: scan here (see fork_is_safe)
                return self._here(handle, opts)
            from .pool import run_pool

            with self.progress(description, sum(sizes)) as advance:
                return merge(run_pool(tasks, sizes, workers, self.source_options, opts, advance))
        with crew.Crew(tasks, sizes, self.source_options, opts) as helpers:
            helpers.fork(workers - 1)  # before a progress bar starts its refresh thread
            with self.progress(description, sum(sizes)) as advance:
                return merge(helpers.run(advance))
