"""SIGTERM, SIGINT and SIGHUP, obeyed in one place: a flag the handler sets, checked between chunks.

A Python signal handler that *raises* runs wherever the interpreter happens to be: inside an
h5py weakref callback or a ``__del__`` (where Python prints "Exception ignored in …" and the
exception is gone), inside an ``except Exception`` of a library, or inside an import that a
library wraps in ``try``. A raised signal can therefore be lost. Here the handler only records
the signal; nothing can swallow that record:

- :func:`check` raises :class:`Interrupted` when a signal was received. The engine calls it
  between chunks (:meth:`~dsdoctor.sources.base.ArrayHandle.chunks`), the CSV reader between
  blocks, and every wait on another process or on a stream (:func:`wait_readable`). If code
  swallows the exception the flag stays set, so the next check raises it again; the CLI checks
  once more before it decides the exit code.
- A bounded wait: if the process has not left :data:`GRACE_SECONDS` after the signal (native
  code that never returns to a check, with the interpreter lock released), a watchdog thread
  runs the registered cleanups, writes the one line and leaves with ``os._exit``. A second
  signal of either kind does the same at once (Ctrl-C twice).

Exit codes are the shell's: 128 + the signal number (SIGINT → 130, SIGTERM → 143, SIGHUP →
129). SIGHUP (the terminal or the SSH session closed under a long repair) is handled like
SIGTERM: left at its default, it killed the process with a half-written temporary behind.

The CLI calls :func:`install` (the API never installs handlers: a program embedding dsdoctor
keeps its own). Forked children (the ``--jobs`` helpers, the guarded reader) call
:func:`forget` first: signals are the main process's business, and it kills and reaps them.
Files that must never outlive the process (the stdin spool) are registered with
:func:`remove_at_exit` before they are created.
"""

from __future__ import annotations

import _thread
import atexit
import os
import select
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

#: Seconds between a signal and the forced exit when no check has ended the run. A check runs
#: at least once per chunk (64 MiB, well under a second from a disk) or per
#: :data:`POLL_SECONDS` of waiting; unwinding (closing files, removing temporaries, closing a
#: Dask client) takes well under a second. ``DSDOCTOR_SIGNAL_GRACE`` overrides it.
GRACE_SECONDS = 5.0
#: How long a wait on another process or a stream sleeps between two checks.
POLL_SECONDS = 0.05
SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)

_received: int | None = None
_cleanups: list[Callable[[], object]] = []
_files: set[Path] = set()
_owner = 0  # the process that installed the handlers (a forked child has another pid)
_generation = 0  # counts restore(): a watchdog started before one has nothing left to end


class Interrupted(BaseException):
    """A SIGINT/SIGTERM was received. A ``BaseException``, so that ``except Exception`` in a
    library does not take it for an error of its own; ``exit_code`` is 128 + the signal."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum
        self.exit_code = 128 + signum

    def __str__(self) -> str:
        return message(self.signum)


def message(signum: int) -> str:
    what = {signal.SIGINT: "interrupted", getattr(signal, "SIGHUP", None): "hung up"}.get(
        signum, "terminated"
    )
    return f"dsdoctor: {what}; nothing half-written was left behind"


def install(cleanup: Callable[[], object] | None = None) -> dict:
    """Handle SIGINT/SIGTERM by setting the flag (main thread only); ``cleanup`` runs before
    the process leaves on a signal (e.g. removing temporary outputs). Returns the handlers it
    replaced, for :func:`restore`."""
    if cleanup is not None and cleanup not in _cleanups:
        _cleanups.append(cleanup)
    global _owner
    if threading.current_thread() is not threading.main_thread():
        return {}
    _owner = os.getpid()
    return {sig: signal.signal(sig, _on_signal) for sig in SIGNALS}


def restore(previous: dict) -> None:
    """Put back the handlers :func:`install` replaced and forget the flag (for a CLI run
    inside another program, e.g. a test)."""
    global _received, _generation
    for sig, handler in previous.items():
        signal.signal(sig, handler)
    _received = None
    _generation += 1
    _cleanups.clear()


def ignore() -> None:
    """Ignore SIGINT/SIGTERM from now on: the process is leaving with a decided outcome, and a
    signal during interpreter shutdown would otherwise kill it by the default action (Python
    restores that before it finishes; an ignored signal it leaves alone)."""
    if threading.current_thread() is threading.main_thread():
        for sig in SIGNALS:
            signal.signal(sig, signal.SIG_IGN)


def forget() -> None:
    """In a forked child: no flag, no cleanups, no files of the parent's; SIGINT is ignored
    (a terminal's Ctrl-C reaches the whole process group; the parent decides) and SIGTERM
    kills the child at once (someone who targets a child wants it gone)."""
    global _received
    _received = None
    _cleanups.clear()
    _files.clear()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "SIGHUP"):  # a closed terminal: like Ctrl-C, the parent decides
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextmanager
def on_leave(fn: Callable[[], object]) -> Iterator[None]:
    """Run ``fn`` (lock-free: it may run on the watchdog's thread) if the process is forced to
    leave on a signal inside the ``with`` block."""
    _cleanups.append(fn)
    try:
        yield
    finally:
        if fn in _cleanups:
            _cleanups.remove(fn)


def received() -> int | None:
    """The signal received, or None."""
    return _received


def check() -> None:
    """Raise :class:`Interrupted` if SIGINT/SIGTERM was received."""
    if _received is not None:
        raise Interrupted(_received)


def wait_readable(fd: int, timeout: float | None = None) -> bool:
    """Wait until ``fd`` can be read (True) or ``timeout`` seconds pass (False), checking for
    a signal every :data:`POLL_SECONDS` (a blocking read would be restarted after the handler
    and wait for as long as the writer pleases)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    poller = select.poll() if hasattr(select, "poll") else None  # poll: no FD_SETSIZE limit
    if poller is not None:
        poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    while True:
        check()
        step = POLL_SECONDS
        if deadline is not None:
            step = min(step, deadline - time.monotonic())
            if step <= 0:
                return False
        if poller is not None:
            if poller.poll(step * 1000):
                return True
        elif select.select([fd], [], [], step)[0]:  # pragma: no cover - Windows
            return True


def remove_at_exit(path: Path) -> None:
    """Remove ``path`` when the process leaves, however it leaves short of SIGKILL (a normal
    exit, an error, a signal, a forced exit). Register it *before* creating it."""
    _files.add(Path(path))


def remove_now(path: Path) -> None:
    """Remove ``path`` (if it exists) and forget it."""
    _files.discard(Path(path))
    _unlink(Path(path))


def grace() -> float:
    try:
        return float(os.environ.get("DSDOCTOR_SIGNAL_GRACE", GRACE_SECONDS))
    except ValueError:
        return GRACE_SECONDS


def leave(code: int, line: str | None = None) -> None:
    """Run the cleanups, write ``line`` to stderr and end the process now with ``code``
    (``os._exit``: no finalizers, no atexit handlers, nothing that could block)."""
    cleanup()
    try:
        if line:
            os.write(2, (line + "\n").encode())
    finally:
        os._exit(code)


def cleanup() -> None:
    """Remove the registered files and run the registered cleanups (each at most once)."""
    for path in tuple(_files):
        remove_now(path)
    for fn in tuple(_cleanups):
        try:
            fn()
        except Exception:  # a cleanup must not stop the others
            pass


def _on_signal(signum: int, frame) -> None:
    global _received
    if os.getpid() != _owner:  # a forked child before its forget(): the parent decides
        return
    if _received is not None:  # a second signal: stop now
        leave(128 + _received, message(_received))
    _received = signum
    # _thread, not threading: Thread.start takes a lock the interrupted code may hold.
    _thread.start_new_thread(_watchdog, (signum, grace(), _generation))


def _watchdog(signum: int, seconds: float, generation: int) -> None:
    time.sleep(seconds)
    if _received is not None and generation == _generation:
        leave(128 + signum, message(signum))


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


atexit.register(cleanup)
