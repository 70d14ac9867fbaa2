"""Where the streaming reductions run: in this process (``serial``), in local processes
(``process``, ``--jobs N``), or on an existing Dask cluster (``--engine dask --scheduler
ADDRESS``). :meth:`Engine.from_options` checks the options and picks one; :meth:`Engine.scan`
runs a scan there and returns one merged :class:`~dsdoctor.engine.stats.ArrayStats`, equal to a
single serial pass.

``--jobs N`` means N processes scanning the tasks of :func:`~dsdoctor.engine.tasks.cut_tasks`:
on Linux this one and N - 1 helpers forked from it (:mod:`~dsdoctor.engine.crew`, whose
docstring holds the measurement that justifies it); where ``fork`` does not exist or is not
used (macOS, Windows), a ``concurrent.futures`` process pool (:mod:`~dsdoctor.engine.pool`).
Data too small to be worth a second process (less than two tasks' worth) is scanned here alone.
Progress goes to the caller's ``progress`` callback (:mod:`~dsdoctor.engine.progress`).
"""

from __future__ import annotations

import os
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
