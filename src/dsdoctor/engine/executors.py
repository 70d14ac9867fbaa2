"""Where the streaming reductions run: in this process, in local processes (``--jobs N``), or on
an existing Dask cluster (``--engine dask --scheduler ADDRESS``).

The unit of work is a *task*: one or more row ranges of the shards (or whole shards, or one whole
file) that a worker opens itself, scans in chunks and folds into a mergeable
:class:`~dsdoctor.engine.stats.ArrayStats`. :func:`plan` cuts the dataset into tasks of about
equal bytes -- a few per worker, so that a worker slowed by a busy neighbour hands its share to
the others, and 7 shards spread over 2 workers as evenly as 8 -- and the partial results are
merged in task order, so the answer equals a single serial pass.

``--jobs N`` means N processes scanning: this one and N - 1 helpers forked from it (ready in a
millisecond, with everything imported: no process pool, no ``multiprocessing``), all taking
the next task from one queue until none is left. Data too small to be worth a second process
(less than two tasks' worth) is scanned here alone. Where ``fork`` is not safe (macOS, or a
process running other threads) or does not exist (Windows), a ``concurrent.futures`` process
pool runs the same tasks.
"""

from __future__ import annotations

import itertools
import os
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import reduce
from typing import Any, NoReturn

from ..errors import DsdoctorError, SourceError, UsageError
from ..interrupts import POLL_SECONDS, check, forget, wait_readable
from .stats import ArrayStats, ScanOptions, scan

ENGINES = ("serial", "process", "dask")
SCHEDULER_ENV = "DSDOCTOR_SCHEDULER"

#: Tasks per worker when shards must be cut to balance the workers: more than one each lets a
#: fast worker take over part of a slow one's share.
TASKS_PER_WORKER = 2
#: Tasks per worker at most when whole shards divide evenly (whole shards cost nothing extra).
MAX_TASKS_PER_WORKER = 4
#: The smallest task worth its own process: below about this, starting a helper and handing it
#: work costs more than it saves (a 2 GiB/s scan reads 32 MiB in ~16 ms).
MIN_TASK_BYTES = 32 * 1024**2
#: The most tasks one scan is cut into: the fork queue hands out task numbers as single bytes.
MAX_TASKS = 256
#: Seconds to reach a Dask scheduler, and to close the client when leaving (a signal).
DASK_CONNECT_SECONDS = 10
DASK_CLOSE_SECONDS = 2
#: Transports a Dask scheduler listens on (distributed's ``inproc`` is for one process only).
DASK_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx")
#: Helpers are forked on Linux (when this process runs no other thread); elsewhere they come
#: from a process pool.
FORK = sys.platform == "linux"

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
            check_scheduler(scheduler)
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
        from ..render.progress import progress

        sizes = [task_bytes(handle, t) for t in tasks]
        workers = min(self.jobs, len(tasks))
        description = f"scanning {len(handle.shards)} shards"
        if not _fork_is_safe():
            if FORK:  # Linux, with other threads running: scan here (see _fork_is_safe)
                return self._here(handle, opts)
            with progress(description, sum(sizes)) as advance:
                return merge(_pool(tasks, sizes, workers, self.source_options, opts, advance))
        crew = Crew(tasks, sizes, self.source_options, opts)
        with crew:
            crew.fork(workers - 1)  # before the progress bar starts its refresh thread
            with progress(description, sum(sizes)) as advance:
                return merge(crew.run(advance))

    def _dask(self, handle, opts: ScanOptions) -> ArrayStats:
        """The tasks name every file by its absolute path (a worker's working directory is not
        this one's), with the size and modification time this process sees: a worker that
        sees another file, or none, at that path fails the run (exit 2) instead of mixing its
        file into the report."""
        try:
            from distributed import Client
        except ImportError:
            raise UsageError(
                "--engine dask needs the dask extra: pip install 'dsdoctor[dask]'"
            ) from None
        if getattr(handle, "shard_sources", None) is None:
            if handle.source == "<stdin>":
                raise UsageError("--engine dask: the workers open the files themselves and cannot "
                                 "read this process's stdin; save it to a file they can see")  # fmt: skip
            tasks: list[Task] | None = [((handle.source, None),)]
        else:
            tasks = None  # cut once the cluster's size is known
        check()
        try:
            client = Client(
                self.scheduler, timeout=f"{DASK_CONNECT_SECONDS}s", set_as_default=False
            )
        except (OSError, TimeoutError, ValueError) as exc:
            raise UsageError(
                f"cannot reach the Dask scheduler at {self.scheduler} ({exc})"
            ) from None
        from ..render.progress import progress

        futures: list = []
        try:
            if tasks is None:
                tasks = plan(handle, max(1, sum(client.nthreads().values())))
            tasks, files = absolute_tasks(tasks)
            with progress(f"scanning {len(tasks)} parts", len(tasks), unit="parts") as advance:
                futures = client.map(scan_task, tasks, [self.source_options] * len(tasks),
                                     [opts] * len(tasks), files, pure=False)  # fmt: skip
                for f in futures:
                    f.add_done_callback(lambda _: advance(1))
                while not all(f.done() for f in futures):  # gather would outwait a signal
                    check()
                    time.sleep(POLL_SECONDS)
                return merge(client.gather(futures))
        finally:
            if futures and not all(f.done() for f in futures):
                client.cancel(futures)
            client.close(timeout=DASK_CLOSE_SECONDS)


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
            spec = parse_source(source)
            path = os.path.abspath(spec.path)
            if path not in seen:
                st = os.stat(path)
                seen[path] = (st.st_size, st.st_mtime_ns)
            mine[path] = seen[path]
            segments.append((path + (f":{spec.selector}" if spec.selector else ""), rows))
        out.append(tuple(segments))
        files.append(mine)
    return out, files


def same_files(files: dict[str, tuple[int, int]]) -> None:
    """On a worker: SourceError unless each file is there with the size and modification time
    the client saw."""
    import socket

    where = f"the Dask worker on {socket.gethostname()}"
    for path, (size, mtime) in files.items():
        try:
            st = os.stat(path)
        except OSError as exc:
            raise SourceError(f"{where} cannot open {path} ({exc.strerror}); the workers must see "
                              "the dataset at the same path as this machine") from None  # fmt: skip
        if (st.st_size, st.st_mtime_ns) != (size, mtime):
            raise SourceError(f"{where} sees a different {path} ({st.st_size:,} bytes) from this "
                              f"machine's ({size:,} bytes, or another modification time); the "
                              "workers must see the same files at the same paths")  # fmt: skip


def merge(parts) -> ArrayStats:
    """The partial results, merged in task order."""
    return reduce(ArrayStats.merge, parts, ArrayStats())


# -- cutting the dataset into tasks -----------------------------------------------------------
def plan(handle, workers: int) -> list[Task]:
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


# -- running tasks ----------------------------------------------------------------------------
def scan_task(task: Task, source_options: dict, opts: ScanOptions,
              files: dict[str, tuple[int, int]] | None = None) -> ArrayStats:  # fmt: skip
    """One task: open each of its pieces (a worker reads the shards itself) and scan them;
    ``files``: the (size, mtime) each file must have here (see :func:`same_files`)."""
    if files:
        same_files(files)
    return merge(scan_source(src, source_options, opts, rows) for src, rows in task)


def scan_source(source: str, source_options: dict, opts: ScanOptions,
                rows: tuple[int, int] | None = None) -> ArrayStats:  # fmt: skip
    """Open ``source`` and scan it (only its rows ``[start, stop)`` when ``rows`` is given)."""
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


class Crew:
    """This process and helpers forked from it, draining one queue of tasks.

    The queue is a pipe holding one byte per task number, written in full before the first fork
    and closed for writing: reading one byte is atomic, so each task is taken by exactly one
    worker, in order, and end-of-file means nothing is left (a worker that fails empties it: the
    others stop after their current task). A helper sends its partial results back through a
    pipe of its own, pickled, once the queue is empty; progress is one 8-byte slot per worker
    in a shared anonymous map. A helper never returns from :meth:`fork`: it leaves through
    ``os._exit`` (no atexit handlers, no flushing of buffers it inherited). Leaving the ``with``
    block on an error or a signal kills the helpers (they only read); every helper is reaped.
    Helpers leave SIGINT/SIGTERM to this process (:func:`~dsdoctor.interrupts.forget`), which
    checks for them between chunks and while it waits for a helper's results."""

    def __init__(self, tasks: list[Task], sizes: list[int], source_options: dict,
                 opts: ScanOptions):  # fmt: skip
        if len(tasks) > MAX_TASKS:
            raise ValueError(f"at most {MAX_TASKS} tasks, got {len(tasks)}")
        self.tasks, self.sizes = tasks, sizes
        self.source_options, self.opts = source_options, opts
        self.helpers: dict[int, int] = {}  # pid -> read end of its result pipe, until reaped
        self.queue = -1
        self.slots: Any = None

    def __enter__(self) -> Crew:
        import mmap

        self.slots = mmap.mmap(-1, 8 * MAX_TASKS)  # MAP_SHARED: the helpers write their slots
        self.queue, queue_w = os.pipe()
        try:
            os.write(queue_w, bytes(range(len(self.tasks))))  # <= 256 bytes: fits the pipe
        finally:
            os.close(queue_w)
        return self

    def fork(self, n: int) -> None:
        """Start ``n`` helpers (at most one per task besides this process's); if the system
        refuses a process, this one takes on more of the tasks."""
        parent = os.getpid()
        for slot in range(1, min(n, len(self.tasks) - 1) + 1):
            r, w = os.pipe()
            try:
                pid = os.fork()
            except OSError:
                os.close(r)
                os.close(w)
                break
            if pid == 0:
                self._helper(slot, w, [r, *self.helpers.values()], parent)
            os.close(w)
            self.helpers[pid] = r

    def run(self, advance) -> list[ArrayStats]:
        """Scan here until the queue is empty, then collect the helpers' results."""
        import struct

        results: list[ArrayStats | None] = [None] * len(self.tasks)
        workers = len(self.helpers) + 1
        shown = 0
        for i, part in self._drain(slot=0):
            results[i] = part
            done = sum(struct.unpack_from(f"{workers}q", self.slots))
            advance(done - shown)
            shown = done
        for pid in list(self.helpers):
            for i, part in self._collect(pid):
                results[i] = part
        advance(sum(self.sizes) - shown)
        return results

    def __exit__(self, kind, exc, tb) -> None:
        for pid, fd in self.helpers.items():
            if kind is not None:  # an error here: what the helpers do is not needed
                os.kill(pid, signal.SIGKILL)  # not yet reaped: the pid is still ours
            os.close(fd)
        for pid in self.helpers:
            os.waitpid(pid, 0)
        self.helpers = {}
        os.close(self.queue)
        self.slots.close()

    def _drain(self, slot: int, parent: int = 0) -> Iterator[tuple[int, ArrayStats]]:
        """Take and scan tasks until none is left, yielding ``(task number, partial result)``;
        a helper (``parent``: the pid of the main process) stops early if the main one died."""
        import struct

        done = 0
        while (not parent or os.getppid() == parent) and (taken := os.read(self.queue, 1)):
            i = taken[0]
            try:
                part = scan_task(self.tasks[i], self.source_options, self.opts)
            except BaseException:
                while os.read(self.queue, 4096):  # hand out nothing more
                    pass
                raise
            done += self.sizes[i]
            struct.pack_into("q", self.slots, 8 * slot, done)
            yield i, part

    def _collect(self, pid: int) -> list[tuple[int, ArrayStats]]:
        """A helper's results (read to the end of its pipe, then the helper is reaped), or the
        error it raised, raised here."""
        import pickle

        fd = self.helpers.pop(pid)
        chunks = []
        try:
            while wait_readable(fd) and (chunk := os.read(fd, 1 << 20)):  # a signal raises
                chunks.append(chunk)
        except BaseException:
            os.kill(pid, signal.SIGKILL)  # not yet reaped: the pid is still ours
            raise
        finally:
            os.close(fd)
            _, status = os.waitpid(pid, 0)
        data = b"".join(chunks)
        try:
            outcome, value = pickle.loads(data) if data else ("died", None)
        except Exception as exc:  # an exception that cannot be rebuilt here: a bug, not the data
            outcome, value = "error", RuntimeError(f"a --jobs helper failed; its error: {exc}")
        if outcome == "error":
            raise value
        if outcome == "died":
            check()  # a helper killed by the signal this process received too: the signal's
            raise DsdoctorError(
                f"a --jobs helper process (pid {pid}) ended without its results "
                f"({_how_it_ended(status)}); run again, or without --jobs"
            )
        return value

    def _helper(self, slot: int, out: int, inherited: list[int], parent: int) -> NoReturn:
        import pickle

        code = 0
        try:
            forget()  # signals are the main process's: it kills and reaps its helpers
            for fd in inherited:
                os.close(fd)
            try:
                outcome: tuple[str, Any] = ("ok", list(self._drain(slot, parent)))
            except SystemExit as exc:  # not the helper's to decide: the main process's error
                outcome = ("error", RuntimeError(f"a --jobs helper called exit({exc.code!r})"))
            except BaseException as exc:
                outcome = ("error", exc)
            try:
                data = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # an exception that cannot be pickled: a bug; its type and text
                error = RuntimeError(f"a --jobs helper failed: {outcome[1]!r}")
                data = pickle.dumps(("error", error))
            with os.fdopen(out, "wb") as pipe:
                pipe.write(data)
        except BaseException:
            code = 1
        finally:
            os._exit(code)


def _how_it_ended(status: int) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        return f"killed by {name}" + (
            ", perhaps for lack of memory" if sig == signal.SIGKILL else ""
        )
    return f"exit status {os.waitstatus_to_exitcode(status)}"


def _fork_is_safe() -> bool:
    """Forking copies only the calling thread: a lock another thread holds at that moment
    stays locked forever in the copy. The CLI forks before its progress bar starts a thread. A
    program calling the API with ``jobs`` while it runs other threads is scanned in its own
    process, serially: a forkserver or spawned pool would import the caller's ``__main__``
    again in every worker (running an unguarded training script once per worker)."""
    import threading

    return FORK and threading.active_count() == 1


def _pool(tasks: list[Task], sizes: list[int], workers: int, source_options: dict,
          opts: ScanOptions, advance) -> list[ArrayStats]:  # fmt: skip
    """Where fork is not used (macOS, Windows): a process pool of ``workers`` with the
    platform's start method, one future per task. As with any ``multiprocessing`` program
    there, a script calling the API with ``jobs`` needs an ``if __name__ == "__main__":`` guard."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(workers) as pool:
        futures = [pool.submit(scan_task, t, source_options, opts) for t in tasks]
        for f, size in zip(futures, sizes, strict=True):
            f.add_done_callback(lambda _, size=size: advance(size))
        return [f.result() for f in futures]
