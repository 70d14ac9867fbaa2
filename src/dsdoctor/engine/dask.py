"""``--engine dask --scheduler ADDRESS``: the client side of scanning on an existing Dask cluster.

The workers run the same tasks as local processes (:mod:`~dsdoctor.engine.tasks`), each opening
its files itself: the tasks name every file by its absolute path, with the size and modification
time this process sees, and a worker that sees another file (or none) at that path fails the run.
"""

from __future__ import annotations

import functools
import hashlib
import os
import time
from collections.abc import Callable
from typing import Any

from ..errors import SourceError, UsageError
from ..interrupts import POLL_SECONDS, check
from ..locations import is_url, safe_url
from .progress import Progress
from .stats import ArrayStats, ScanOptions
from .tasks import Task, cut_tasks, merge, scan_task

#: Seconds to reach a Dask scheduler, and to close the client when leaving (a signal).
DASK_CONNECT_SECONDS = 10
DASK_CLOSE_SECONDS = 2
#: Transports a Dask scheduler listens on (distributed's ``inproc`` is for one process only).
DASK_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx")


def scan_on_cluster(handle, opts: ScanOptions, scheduler: str, source_options: dict[str, Any],
                    progress: Progress) -> ArrayStats:  # fmt: skip
    """The tasks name every file by its absolute path (a worker's working directory is not
    this one's), with the size and modification time this process sees: a worker that
    sees another file, or none, at that path fails the run (exit 2) instead of mixing its
    file into the report."""
    if getattr(handle, "shard_sources", None) is None:
        if handle.source == "<stdin>":
            raise UsageError("--engine dask: the workers open the files themselves and cannot "
                             "read this process's stdin; save it to a file they can see")  # fmt: skip
        whole: list[Task] = [((handle.source, None),)]
        return merge(
            run_on_cluster(lambda _: whole, scan_task, opts, scheduler, source_options, progress)
        )
    return merge(run_on_cluster(lambda workers: cut_tasks(handle, workers), scan_task, opts,
                                scheduler, source_options, progress))  # fmt: skip


def run_on_cluster(cut: Callable[[int], list[Task]], work: Callable[[Task, dict, Any], Any],
                   opts: Any, scheduler: str, source_options: dict[str, Any],
                   progress: Progress) -> list[Any]:  # fmt: skip
    """``work(task, source_options, opts)`` of each task that ``cut(threads of the cluster)``
    gives, on the cluster's workers; their results in task order. ``opts`` is sent to each
    worker once (scattered), however many tasks it runs."""
    try:
        from distributed import Client
    except ImportError:
        raise UsageError(
            "--engine dask needs the dask extra: pip install 'dsdoctor[dask]'"
        ) from None
    check()
    try:
        client = Client(scheduler, timeout=f"{DASK_CONNECT_SECONDS}s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {scheduler} ({exc})") from None
    futures: list = []
    try:
        same_build(client, scheduler)
        tasks, files = absolute_tasks(cut(max(1, sum(client.nthreads().values()))))
        shared = client.scatter(opts, broadcast=True, hash=False)
        with progress(f"scanning {len(tasks)} parts", len(tasks), unit="parts") as advance:
            futures = client.map(scan_checked, tasks, [source_options] * len(tasks),
                                 [shared] * len(tasks), files, [work] * len(tasks),
                                 pure=False)  # fmt: skip
            for f in futures:
                f.add_done_callback(lambda _: advance(1))
            while not all(f.done() for f in futures):  # gather would outwait a signal
                check()
                time.sleep(POLL_SECONDS)
            return list(client.gather(futures))
    finally:
        if futures and not all(f.done() for f in futures):
            client.cancel(futures)
        client.close(timeout=DASK_CLOSE_SECONDS)


@functools.lru_cache(maxsize=1)
def build_id() -> str:
    """This dsdoctor's build: its version and a digest of its package's Python files (two
    checkouts of one version with other code differ; one build installed anywhere is equal)."""
    import dsdoctor

    root = os.path.dirname(os.path.abspath(dsdoctor.__file__))
    digest = hashlib.sha256()
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(n for n in names if n.endswith(".py")):
            path = os.path.join(folder, name)
            digest.update(os.path.relpath(path, root).encode() + b"\0")
            with open(path, "rb") as fp:
                digest.update(fp.read() + b"\0")
    return f"{dsdoctor.__version__}+{digest.hexdigest()[:12]}"


def same_build(client: Any, scheduler: str) -> None:
    """UsageError (exit 2) unless every worker runs this dsdoctor build (:func:`build_id`): a
    worker of another build fails the tasks with errors of no meaning (a function of other
    arguments, a task graph it cannot read). A worker whose dsdoctor has no ``build_id`` (an
    older build) fails the call itself, which says so too."""
    mine = build_id()
    try:
        theirs = client.run(build_id, on_error="return")
    except Exception as exc:  # the call itself could not be sent
        raise UsageError(f"the Dask workers of {scheduler} cannot run this dsdoctor's code "
                         f"({type(exc).__name__}: {exc}); install dsdoctor {mine} on them") from None  # fmt: skip
    other = {w: b for w, b in theirs.items() if b != mine}
    if other:
        worker, build = sorted(other.items())[0]
        said = (
            build
            if isinstance(build, str)
            else f"a build without this one's code ({type(build).__name__})"
        )
        raise UsageError(
            f"{len(other)} of the {len(theirs)} Dask workers of {scheduler} run another dsdoctor build "
            f"(worker {worker}: {said}; this client: {mine}); install this dsdoctor on the "
            "workers and restart them"
        )


def check_scheduler(address: str) -> None:
    """UsageError naming ``address`` unless it is a Dask scheduler address whose host resolves
    (a malformed one made the client stall for 20 s and fail with a traceback)."""
    try:
        from distributed.comm.addressing import parse_address, parse_host_port
    except ImportError:
        return  # the engine says what to install when it starts
    example = "e.g. tcp://10.0.0.5:8786"
    try:
        scheme, location = parse_address(address, strict=False)
        host, port = parse_host_port(location)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"--scheduler {address!r} is not a Dask scheduler address ({exc}); "
                         f"{example}") from None  # fmt: skip
    if scheme not in DASK_SCHEMES or address != address.strip() or not host:
        raise UsageError(f"--scheduler {address!r} is not a Dask scheduler address "
                         f"(scheme://host:port, scheme one of {', '.join(DASK_SCHEMES)}); {example}")  # fmt: skip
    if not 0 < int(port) < 65536:
        raise UsageError(f"--scheduler {address!r}: port {port} is not between 1 and 65535")
    import socket

    try:
        socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise UsageError(
            f"--scheduler {address!r}: the host {host!r} is unknown ({reason})"
        ) from None


def absolute_tasks(tasks: list[Task]) -> tuple[list[Task], list[dict[str, tuple[int, int]]]]:
    """The tasks with every ``PATH[:SELECTOR]`` made absolute, and for each task the (size,
    mtime) of each of its files."""
    from ..sources import parse_source

    seen: dict[str, tuple[int, int]] = {}
    out, files = [], []
    for task in tasks:
        segments, mine = [], {}
        for source, rows in task:
            if not isinstance(source, str):  # a piece of a table dataset: its path is absolute
                path, named = source.path, source
                if is_url(path):  # an object at a URL (a Location, with its options)
                    path = str(path)
                    if path not in seen:
                        seen[path] = (source.path.stat().st_size, 0)
            else:
                spec = parse_source(source)
                if is_url(spec.path):  # the URL travels; the worker reads the object itself
                    path = str(spec.path)
                    if path not in seen:
                        seen[path] = (spec.path.stat().st_size, 0)
                else:
                    path = os.path.abspath(spec.path)  # type: ignore[arg-type]  # (a Path here)
                named = path + (f":{spec.selector}" if spec.selector else "")
            if path not in seen:
                st = os.stat(path)
                seen[path] = (st.st_size, st.st_mtime_ns)
            mine[path] = seen[path]
            segments.append((named, rows))
        out.append(tuple(segments))
        files.append(mine)
    return out, files


def scan_checked(task: Task, source_options: dict, opts: Any, files: dict[str, tuple[int, int]],
                 work: Callable[[Task, dict, Any], Any] = scan_task) -> Any:  # fmt: skip
    """On a worker: one task (``work``: a scan's, or the split pass's), once each of its files
    is the one the client saw (:func:`same_files`)."""
    same_files(files, source_options.get("storage_options"))
    return work(task, source_options, opts)


def same_files(files: dict[str, tuple[int, int]], storage_options: Any = None) -> None:
    """On a worker: SourceError unless each file is there with the size and modification time
    the client saw (a URL's object: its size, read with the command's storage options)."""
    import socket

    from ..locations import location

    where = f"the Dask worker on {socket.gethostname()}"
    for path, (size, mtime) in files.items():
        if is_url(path):
            remote = location(path, storage_options or ()).stat().st_size
            if remote != size:
                raise SourceError(f"{where} sees a different {safe_url(path)} ({remote:,} bytes) "
                                  f"from this machine's ({size:,} bytes)")  # fmt: skip
            continue
        try:
            st = os.stat(path)
        except OSError as exc:
            raise SourceError(f"{where} cannot open {path} ({exc.strerror}); the workers must see "
                              "the dataset at the same path as this machine") from None  # fmt: skip
        if (st.st_size, st.st_mtime_ns) != (size, mtime):
            raise SourceError(f"{where} sees a different {path} ({st.st_size:,} bytes) from this "
                              f"machine's ({size:,} bytes, or another modification time); the "
                              "workers must see the same files at the same paths")  # fmt: skip
