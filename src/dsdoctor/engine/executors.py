"""Where the streaming reductions run: in this process, in local processes (``--jobs N``), or on
an existing Dask cluster (``--engine dask --scheduler ADDRESS``).

The unit of work is a *task*: one or more row ranges of the shards (or whole shards, or one whole
file) that a worker opens itself, scans in chunks and folds into a mergeable
:class:`~dsdoctor.engine.stats.ArrayStats`. :func:`plan` cuts the dataset into tasks of about
equal bytes -- a few per worker, so that a worker slowed by a busy neighbour hands its share to
the others, and 7 shards spread over 2 workers as evenly as 8 -- and the partial results are
merged in task order, so the answer equals a single serial pass.

``--jobs N`` means N processes scanning: this one and N - 1 forked helpers, all taking the next
task from one shared counter until none is left. Data too small to be worth a second process
(less than two tasks' worth) is scanned here alone.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

from ..errors import SourceError, UsageError
from .stats import ArrayStats, ScanOptions, scan

ENGINES = ("serial", "process", "dask")
SCHEDULER_ENV = "DSDOCTOR_SCHEDULER"

#: Tasks per worker when the data is large enough: more than one each lets a fast worker take
#: over a slow one's tail; each extra task costs a file open and a fresh read buffer.
TASKS_PER_WORKER = 4
#: The smallest task worth its own process: below about this, starting a helper and handing it
#: work costs more than it saves (a 2 GiB/s scan reads 32 MiB in ~16 ms).
MIN_TASK_BYTES = 32 * 1024**2

#: One piece of a task: a shard (``PATH[:SELECTOR]``) and a row range of it, or None for all of it.
Segment = tuple[str, tuple[int, int] | None]
#: A task: consecutive pieces of the dataset, scanned by one worker into one partial result.
Task = tuple[Segment, ...]


@dataclass(frozen=True)
class Engine:
    """How to run scans: ``serial``, ``process`` (with ``jobs`` workers) or ``dask``."""

    name: str = "serial"
    jobs: int = 1
    scheduler: str | None = None
    source_options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_options(cls, engine: str | None = None, jobs: int = 1, scheduler: str | None = None,
                     source_options: dict | None = None) -> Engine:  # fmt: skip
        if jobs < 1:
            raise UsageError(f"--jobs must be at least 1, got {jobs}")
        name = engine or ("process" if jobs > 1 else "serial")
        if name not in ENGINES:
            raise UsageError(f"--engine must be one of {', '.join(ENGINES)}, got {name!r}")
        if name == "dask":
            scheduler = scheduler or os.environ.get(SCHEDULER_ENV)
            if not scheduler:
                raise UsageError(
                    f"--engine dask needs --scheduler ADDRESS (or {SCHEDULER_ENV}), e.g. tcp://10.0.0.5:8786"
                )
        return cls(name, jobs, scheduler, dict(source_options or {}))

    def scan(self, handle, opts: ScanOptions) -> ArrayStats:
        if self.name == "dask":
            return self._dask(handle, opts)
        if self.name == "process" and self.jobs > 1 and hasattr(handle, "shard_sources"):
            tasks = plan(handle, self.jobs)
            if len(tasks) > 1:
                return self._processes(handle, tasks, opts)
        return self._here(handle, opts)

    @staticmethod
    def _here(handle, opts: ScanOptions) -> ArrayStats:
        from ..render.progress import progress

        with progress(
            f"scanning {handle.source}", handle.memory_bytes or handle.disk_bytes
        ) as advance:
            return scan(handle, opts, advance)

    def _processes(self, handle, tasks: list[Task], opts: ScanOptions) -> ArrayStats:
        """This process and ``jobs - 1`` forked helpers drain one shared queue of tasks."""
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        from ..render.progress import progress

        # fork: a helper is ready in milliseconds with everything imported (spawn and forkserver
        # import numpy and dsdoctor again, ~0.4 s per helper). Elsewhere, the platform's default.
        ctx = multiprocessing.get_context("fork" if sys.platform == "linux" else None)
        sizes = [task_bytes(handle, t) for t in tasks]
        queue = TaskQueue(ctx.Value("q", 0), ctx.Value("q", 0), tasks, sizes,
                          self.source_options, opts)  # fmt: skip
        helpers = min(self.jobs, len(tasks)) - 1
        results: list[ArrayStats | None] = [None] * len(tasks)
        # the helpers are forked here, before the progress bar starts its refresh thread
        pool = ProcessPoolExecutor(helpers, mp_context=ctx, initializer=_set_counters,
                                   initargs=(queue.taken, queue.scanned))  # fmt: skip
        try:
            futures = [pool.submit(_drain_helper, tasks, sizes, self.source_options, opts)
                       for _ in range(helpers)]  # fmt: skip
            with progress(f"scanning {len(handle.shards)} shards", sum(sizes)) as advance:
                shown = 0
                for i, part in queue.drain():
                    results[i] = part
                    advance(queue.scanned.value - shown)
                    shown = queue.scanned.value
                for f in futures:
                    for i, part in f.result():
                        results[i] = part
                advance(sum(sizes) - shown)
        except BaseException:
            queue.close()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        return merge(results)

    def _dask(self, handle, opts: ScanOptions) -> ArrayStats:
        try:
            from distributed import Client
        except ImportError:
            raise UsageError(
                "--engine dask needs the dask extra: pip install 'dsdoctor[dask]'"
            ) from None
        try:
            client = Client(self.scheduler, timeout="10s", set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise UsageError(
                f"cannot reach the Dask scheduler at {self.scheduler} ({exc})"
            ) from None
        from ..render.progress import progress

        try:
            if getattr(handle, "shard_sources", None) is None:
                tasks: list[Task] = [((handle.source, None),)]
            else:
                tasks = plan(handle, max(1, sum(client.nthreads().values())))
            with progress(f"scanning {len(tasks)} parts", len(tasks), unit="parts") as advance:
                futures = client.map(
                    scan_task, tasks, source_options=self.source_options, opts=opts, pure=False
                )
                for f in futures:
                    f.add_done_callback(lambda _: advance(1))
                return merge(client.gather(futures))
        finally:
            client.close()


def merge(parts) -> ArrayStats:
    """The partial results, merged in task order."""
    return reduce(ArrayStats.merge, parts, ArrayStats())


# -- cutting the dataset into tasks -----------------------------------------------------------
def plan(handle, workers: int) -> list[Task]:
    """Tasks for ``workers`` workers over the shards of ``handle``: consecutive row ranges of
    about equal bytes, ``TASKS_PER_WORKER`` per worker and none smaller than ``MIN_TASK_BYTES``
    (a single task when there is little data). A cut falls inside a shard only where its rows
    can be read by range (:func:`~dsdoctor.sources.shards.row_range`), elsewhere at the nearer
    shard boundary."""
    from ..sources.shards import row_range

    shards, sources = handle.shards, handle.shard_sources
    rows = [s.shape[0] if s.shape else 1 for s in shards]
    sizes = [shard_bytes(s) for s in shards]
    total = sum(sizes)
    n_tasks = max(1, min(workers * TASKS_PER_WORKER, total // MIN_TASK_BYTES))
    # cuts as (shard, row): a task boundary just before that row of that shard
    cuts = {(0, 0), (len(shards), 0)}
    start = 0
    for i, (shard, n, size) in enumerate(zip(shards, rows, sizes, strict=True)):
        stop = start + size
        splittable = n > 1 and row_range(shard, 0, n) is not None
        for k in range(1, n_tasks):
            at = total * k // n_tasks
            if at == start:
                cuts.add((i, 0))
            elif not start < at < stop:
                continue
            elif splittable:
                cuts.add((i, min(max(1, round((at - start) * n / size)), n - 1)))
            else:
                cuts.add((i, 0) if at - start < stop - at else (i + 1, 0))
        start = stop
    bounds = sorted(cuts)
    tasks = []
    for (i0, r0), (i1, r1) in itertools.pairwise(bounds):
        segments = []
        for i in range(i0, i1 + (r1 > 0)):
            lo, hi = (r0 if i == i0 else 0), (r1 if i == i1 else rows[i])
            if hi > lo or rows[i] == 0:
                segments.append((sources[i], None if (lo, hi) == (0, rows[i]) else (lo, hi)))
        tasks.append(tuple(segments))
    return tasks


def shard_bytes(shard) -> int:
    return int(shard.memory_bytes or shard.disk_bytes or 0)


def task_bytes(handle, task: Task) -> int:
    """About how many bytes a task scans (for the progress bar)."""
    index = {src: i for i, src in enumerate(handle.shard_sources)}
    out = 0
    for src, rows in task:
        shard = handle.shards[index[src]]
        size = shard_bytes(shard)
        out += size if rows is None else size * (rows[1] - rows[0]) // max(1, shard.shape[0])
    return out


# -- running tasks ----------------------------------------------------------------------------
def scan_task(task: Task, source_options: dict, opts: ScanOptions) -> ArrayStats:
    """One task: open each of its pieces (a worker reads the shards itself) and scan them."""
    return merge(scan_source(src, source_options, opts, rows) for src, rows in task)


def scan_source(source: str, source_options: dict, opts: ScanOptions,
                rows: tuple[int, int] | None = None) -> ArrayStats:  # fmt: skip
    """Open ``source`` and scan it (only its rows ``[start, stop)`` when ``rows`` is given)."""
    from ..api import load

    handle = load(source, **source_options)
    if rows is not None:
        from ..sources.shards import row_range

        part = row_range(handle, *rows)
        if part is None:
            n = handle.shape[0] if handle.shape else 0
            raise SourceError(
                f"{source} changed while it was being checked (its rows {rows[0]:,} to "
                f"{rows[1]:,} cannot be read from its {n:,}); check it again"
            )
        handle = part
    return scan(handle, opts)


@dataclass
class TaskQueue:
    """Tasks handed out in order by a counter shared with the forked helpers.

    ``taken``: how many tasks have been taken; ``scanned``: bytes scanned so far (both
    ``multiprocessing.Value``)."""

    taken: Any
    scanned: Any
    tasks: list[Task]
    sizes: list[int]
    source_options: dict
    opts: ScanOptions

    def take(self) -> int | None:
        with self.taken.get_lock():
            i = self.taken.value
            if i >= len(self.tasks):
                return None
            self.taken.value = i + 1
        return i

    def close(self) -> None:
        """Hand out nothing more: after an error, the other workers stop after their task."""
        with self.taken.get_lock():
            self.taken.value = len(self.tasks)

    def drain(self) -> Iterator[tuple[int, ArrayStats]]:
        """Take and scan tasks until none is left, yielding ``(index, partial result)``."""
        while (i := self.take()) is not None:
            try:
                part = scan_task(self.tasks[i], self.source_options, self.opts)
            except BaseException:
                self.close()
                raise
            with self.scanned.get_lock():
                self.scanned.value += self.sizes[i]
            yield i, part


#: In a helper process: the shared counters, set by :func:`_set_counters` when it starts.
_COUNTERS: tuple[Any, Any] | None = None


def _set_counters(taken, scanned) -> None:
    global _COUNTERS
    _COUNTERS = (taken, scanned)


def _drain_helper(tasks: list[Task], sizes: list[int], source_options: dict,
                  opts: ScanOptions) -> list[tuple[int, ArrayStats]]:  # fmt: skip
    """A helper's whole job: drain the shared queue, return its partial results at the end."""
    assert _COUNTERS is not None
    return list(TaskQueue(*_COUNTERS, tasks, sizes, source_options, opts).drain())
