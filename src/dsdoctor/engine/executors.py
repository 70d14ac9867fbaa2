"""Where the streaming reductions run: in this process, in local processes (``--jobs N``), or on
an existing Dask cluster (``--engine dask --scheduler ADDRESS``).

The unit of work is one shard (or one whole file): a task opens its source itself, scans it in
chunks and returns a mergeable :class:`~dsdoctor.engine.stats.ArrayStats`; the partial results
are merged in shard order, so the answer equals a single serial pass.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

from ..errors import UsageError
from .stats import ArrayStats, ScanOptions, scan

ENGINES = ("serial", "process", "dask")
SCHEDULER_ENV = "DSDOCTOR_SCHEDULER"


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
        from ..render.progress import progress

        tasks = getattr(handle, "shard_sources", None)
        if self.name == "serial" or (self.name == "process" and not tasks):
            with progress(
                f"scanning {handle.source}", handle.memory_bytes or handle.disk_bytes
            ) as advance:
                return scan(handle, opts, advance)
        tasks = tasks or [handle.source]
        run = self._dask if self.name == "dask" else self._processes
        with progress(f"scanning {len(tasks)} shards", len(tasks), unit="shards") as advance:
            parts = run(tasks, opts, advance)
        return reduce(ArrayStats.merge, parts, ArrayStats())

    def _processes(self, tasks: list[str], opts: ScanOptions, advance) -> list[ArrayStats]:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=min(self.jobs, len(tasks))) as pool:
            futures = [pool.submit(scan_source, t, self.source_options, opts) for t in tasks]
            for f in futures:
                f.add_done_callback(lambda _: advance(1))
            return [f.result() for f in futures]

    def _dask(self, tasks: list[str], opts: ScanOptions, advance) -> list[ArrayStats]:
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
        try:
            futures = client.map(
                scan_source, tasks, source_options=self.source_options, opts=opts, pure=False
            )
            for f in futures:
                f.add_done_callback(lambda _: advance(1))
            return client.gather(futures)
        finally:
            client.close()


def scan_source(source: str, source_options: dict, opts: ScanOptions) -> ArrayStats:
    """One task: open ``source`` (a shard, read by the worker itself) and scan it."""
    from ..api import load

    return scan(load(source, **source_options), opts)
