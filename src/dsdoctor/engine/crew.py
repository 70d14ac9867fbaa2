"""``--jobs N`` on Linux: this process and N - 1 helpers forked from it, draining one queue of
tasks (:mod:`~dsdoctor.engine.tasks`).

Why hand-written forks rather than a ``concurrent.futures`` process pool: start-up, measured by
``benchmarks/bench_crew.py`` (``make bench``; docs/benchmarks.md, "Crew"). On this project's
2-cpu machine (2026-11-28, load average ~11), one ``--jobs 2`` run of 4 tiny tasks in a fresh
process cost, beyond the serial scan of the same tasks, best of 7 (two runs):

- this crew: 28 ms (60 ms);
- a pool with the ``fork`` context: 84 ms (117 ms);
- a pool with the ``forkserver`` context (Python 3.14's default on Linux, and the one safe in a
  process running threads): 1,255 ms (1,650 ms) -- the server and each worker import numpy and
  dsdoctor again, where a forked helper has them already.

End to end, ``check DIR --jobs 2`` on the least data ``--jobs`` splits (4 shards of 32 MiB):
serial 1,244 ms, crew 1,268 ms, fork pool 1,373 ms, forkserver pool 2,617 ms. A forkserver
pool's start-up alone exceeds what ``--jobs 2`` gains on 4 GiB of shards (890 -> 721 ms in
the "Shards" benchmark), and a fork pool costs 56 ms (57 ms) more per run than the crew. So
the crew stays; the pool serves only where ``fork`` is not used.

Where ``fork`` is not safe (a process running other threads) or not used (macOS, Windows),
:mod:`~dsdoctor.engine.pool` runs the same tasks, or the engine scans in this process.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

from ..errors import DsdoctorError
from ..interrupts import check, forget, wait_readable
from .progress import Advance
from .tasks import MAX_TASKS, Task, scan_task

#: Helpers are forked on Linux (when this process runs no other thread); elsewhere they come
#: from a process pool.
FORK = sys.platform == "linux"


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
                 opts: Any, work: Callable[[Task, dict, Any], Any] | None = None):  # fmt: skip
        if len(tasks) > MAX_TASKS:
            raise ValueError(f"at most {MAX_TASKS} tasks, got {len(tasks)}")
        self.tasks, self.sizes = tasks, sizes
        self.source_options, self.opts = source_options, opts
        self.work = work or scan_task  # a task's scan (the split pass's: splits.scan_split_task)
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

    def run(self, advance: Advance) -> list[Any]:
        """Scan here until the queue is empty, then collect the helpers' results."""
        import struct

        results: list[Any] = [None] * len(self.tasks)
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
        # every task was taken by exactly one worker, and a worker that failed raised above
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

    def _drain(self, slot: int, parent: int = 0) -> Iterator[tuple[int, Any]]:
        """Take and scan tasks until none is left, yielding ``(task number, partial result)``;
        a helper (``parent``: the pid of the main process) stops early if the main one died."""
        import struct

        done = 0
        while (not parent or os.getppid() == parent) and (taken := os.read(self.queue, 1)):
            i = taken[0]
            try:
                part = self.work(self.tasks[i], self.source_options, self.opts)
            except BaseException:
                while os.read(self.queue, 4096):  # hand out nothing more
                    pass
                raise
            done += self.sizes[i]
            struct.pack_into("q", self.slots, 8 * slot, done)
            yield i, part

    def _collect(self, pid: int) -> list[tuple[int, Any]]:
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
        outcome: str
        value: Any
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


def fork_is_safe() -> bool:
    """Forking copies only the calling thread: a lock another thread holds at that moment
    stays locked forever in the copy. The CLI forks before its progress bar starts a thread. A
    program calling the API with ``jobs`` while it runs other threads is scanned in its own
    process, serially: a forkserver or spawned pool would import the caller's ``__main__``
    again in every worker (running an unguarded training script once per worker)."""
    import threading

    return FORK and threading.active_count() == 1
