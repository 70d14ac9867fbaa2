"""Streaming reductions over chunks: every check reads the data through :func:`scan`, run where
an :class:`Engine` says (this process, local processes, a Dask cluster).

- ``stats``: the one-pass reduction and its mergeable result;
- ``tasks``: cutting a dataset into tasks and scanning one;
- ``engines``: choosing where to run (``Engine.from_options``);
- ``crew`` / ``pool`` / ``dask``: running the tasks in forked helpers, a process pool, a cluster;
- ``progress``: the callback through which a scan reports progress (nothing by default).
"""

from .engines import Engine
from .progress import Progress, no_progress
from .stats import ArrayStats, ScanOptions, scan

__all__ = ["ArrayStats", "Engine", "Progress", "ScanOptions", "no_progress", "scan"]
