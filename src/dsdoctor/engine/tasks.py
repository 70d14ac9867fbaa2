"""Cutting a dataset into *tasks*, and scanning one task.

A task is one or more row ranges of the shards (or whole shards, or one whole file) that a
worker opens itself, scans in chunks and folds into a mergeable
:class:`~dsdoctor.engine.stats.ArrayStats`. :func:`cut_tasks` cuts the dataset into tasks of
about equal bytes -- a few per worker, so that a worker slowed by a busy neighbour hands its
share to the others, and 7 shards spread over 2 workers as evenly as 8 -- and :func:`merge`
merges the partial results in task order, so the answer equals a single serial pass. Every
engine (:mod:`~dsdoctor.engine.crew`, :mod:`~dsdoctor.engine.pool`,
:mod:`~dsdoctor.engine.dask`) runs these same tasks through :func:`scan_task`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from functools import reduce
from typing import Any

from ..errors import SourceError
from .stats import ArrayStats, ScanOptions, scan

#: Tasks per worker when shards must be cut to balance the workers: more than one each lets a
#: fast worker take over part of a slow one's share.
TASKS_PER_WORKER = 2
#: Tasks per worker at most when whole shards divide evenly (whole shards cost nothing extra).
MAX_TASKS_PER_WORKER = 4
#: The smallest task worth its own process: below about this, starting a helper and handing it
#: work costs more than it saves (a 2 GiB/s scan reads 32 MiB in ~16 ms).
MIN_TASK_BYTES = 32 * 1024**2
#: The most tasks one scan is cut into: the fork crew's queue hands out task numbers as single
#: bytes.
MAX_TASKS = 256

#: One piece of a task: a shard (``PATH[:SELECTOR]``, or a piece of a table dataset that opens
#: itself: :class:`~dsdoctor.sources.dataset.Piece`) and a row range of it, or None for all of it.
Segment = tuple[Any, tuple[int, int] | None]
#: A task: consecutive pieces of the dataset, scanned by one worker into one partial result.
Task = tuple[Segment, ...]


def cut_tasks(handle, workers: int) -> list[Task]:
    """Tasks for ``workers`` workers over the shards of ``handle``, consecutive and of about
    equal bytes, none smaller than ``MIN_TASK_BYTES`` (one task when there is little data):

    - whole shards when they divide evenly among the workers -- the most tasks, up to
      ``MAX_TASKS_PER_WORKER`` each, whose cuts all fall on shard boundaries (a cut within
      1/16 of a task of a boundary moves to it);
    - otherwise ``TASKS_PER_WORKER`` each, cut inside shards where their rows can be read by
      range (:func:`~dsdoctor.sources.shards.row_range`), elsewhere at the nearer boundary.

    Every cut inside a shard costs a file open and a fresh read buffer (~6 ms per 64 MiB here),
    so shards are only cut to balance the workers."""
    shards, sources = handle.shards, handle.shard_sources
    rows = [s.shape[0] if s.shape else 1 for s in shards]
    sizes = [shard_bytes(s) for s in shards]
    most = max(1, min(workers * MAX_TASKS_PER_WORKER, sum(sizes) // MIN_TASK_BYTES, MAX_TASKS))
    if most == 1:
        return [tuple((src, None) for src in sources)]
    for n_tasks in range(most - most % workers, workers - 1, -workers):
        cuts = _cuts(shards, rows, sizes, n_tasks)
        if all(row == 0 for _, row in cuts):
            break
    else:
        cuts = _cuts(shards, rows, sizes, min(most, workers * TASKS_PER_WORKER))
    bounds = sorted({(0, 0), *cuts, (len(shards), 0)})
    tasks = []
    for (i0, r0), (i1, r1) in itertools.pairwise(bounds):
        segments = []
        for i in range(i0, i1 + (r1 > 0)):
            lo, hi = (r0 if i == i0 else 0), (r1 if i == i1 else rows[i])
            if hi > lo or rows[i] == 0:
                segments.append((sources[i], None if (lo, hi) == (0, rows[i]) else (lo, hi)))
        tasks.append(tuple(segments))
    return tasks


def _cuts(shards, rows: list[int], sizes: list[int], n_tasks: int) -> set[tuple[int, int]]:
    """Where ``n_tasks`` tasks of equal bytes begin, as (shard, row): a task boundary just
    before that row of that shard."""
    from ..sources.shards import row_range

    total = sum(sizes)
    slack = total // (16 * n_tasks)
    cuts = set()
    start = 0
    for i, (shard, n, size) in enumerate(zip(shards, rows, sizes, strict=True)):
        stop = start + size
        for k in range(1, n_tasks):
            at = total * k // n_tasks
            if not start <= at < stop:
                continue
            if at - start <= slack:
                cuts.add((i, 0))
            elif stop - at <= slack:
                cuts.add((i + 1, 0))
            elif n > 1 and row_range(shard, 0, n) is not None:
                cuts.add((i, min(max(1, round((at - start) * n / size)), n - 1)))
            else:
                cuts.add((i, 0) if at - start < stop - at else (i + 1, 0))
        start = stop
    return cuts


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


def scan_task(task: Task, source_options: dict, opts: ScanOptions) -> ArrayStats:
    """One task: open each of its pieces (a worker reads the shards itself) and scan them."""
    return merge(scan_source(src, source_options, opts, rows) for src, rows in task)


def scan_source(source: str, source_options: dict, opts: ScanOptions,
                rows: tuple[int, int] | None = None) -> ArrayStats:  # fmt: skip
    """Open ``source`` and scan it (only its rows ``[start, stop)`` when ``rows`` is given); a
    piece of a table dataset (:class:`~dsdoctor.sources.dataset.Piece`) opens itself."""
    if not isinstance(source, str):
        return scan(source.open(), opts)
    from ..sources import open_array

    handle = open_array(source, **source_options)
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


def merge(parts: Iterable[ArrayStats]) -> ArrayStats:
    """The partial results, merged in task order."""
    return reduce(ArrayStats.merge, parts, ArrayStats())
