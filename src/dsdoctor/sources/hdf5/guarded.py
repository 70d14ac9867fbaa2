"""Run a native-code read in a forked child with a deadline.

Some damaged files make a C library loop forever (HDF5 on a broken global heap): no Python
timeout or signal handler can interrupt code that never returns to the interpreter. Reads of
that kind run in a child process that the parent kills when the deadline passes; arrays come
back as raw bytes over a pipe (never pickled). Without ``os.fork`` (Windows) the read runs
in-process. The parent waits in slices that check for SIGINT/SIGTERM
(:func:`~dsdoctor.interrupts.wait_readable`); on a signal, as at the deadline, it kills the
child and reaps it before the signal ends the run. The child leaves signals to the parent.
"""

from __future__ import annotations

import os
import signal
import struct
import time
from collections.abc import Callable

import numpy as np

from ... import interrupts
from ...errors import SourceError

#: Seconds one guarded read may take (``DSDOCTOR_READ_TIMEOUT`` overrides it).
DEFAULT_TIMEOUT = 300.0


def timeout() -> float:
    try:
        return float(os.environ.get("DSDOCTOR_READ_TIMEOUT", DEFAULT_TIMEOUT))
    except ValueError:
        return DEFAULT_TIMEOUT


def call_with_deadline(
    read: Callable[[], list[np.ndarray]], what: str, seconds: float | None = None
) -> list[np.ndarray]:
    """``read()`` returns numeric arrays; they are rebuilt in this process, or SourceError on a
    hang (the child is killed), a crash, or an error in the child (its message)."""
    if not hasattr(os, "fork"):  # pragma: no cover - not POSIX
        return read()
    seconds = timeout() if seconds is None else seconds
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: read, send, leave without running any cleanup of the parent's
        interrupts.forget()
        os.close(r)
        try:
            arrays = [np.ascontiguousarray(a) for a in read()]
            out = [struct.pack("<B", 0), struct.pack("<I", len(arrays))]
            for a in arrays:
                head = f"{a.dtype.str};{','.join(map(str, a.shape))}".encode()
                out += [struct.pack("<I", len(head)), head, struct.pack("<Q", a.nbytes)]
                out.append(a.tobytes())
            payload = b"".join(out)
        except BaseException as exc:
            msg = (str(exc).splitlines() or [type(exc).__name__])[0].encode(errors="replace")[:2000]
            payload = struct.pack("<B", 1) + msg
        view = memoryview(payload)
        while view:
            n = os.write(w, view)
            view = view[n:]
        os._exit(0)
    os.close(w)
    data = bytearray()
    deadline = time.monotonic() + seconds
    finished = False
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise SourceError(f"{what}: reading it did not finish within {seconds:g} s; the file is "
                                  "probably damaged (DSDOCTOR_READ_TIMEOUT sets the limit)")  # fmt: skip
            if interrupts.wait_readable(r, left):  # a SIGINT/SIGTERM raises here
                block = os.read(r, 1 << 20)
                if not block:
                    finished = True
                    break
                data += block
    finally:
        os.close(r)
        if not finished:  # a deadline, a signal: the child may be stuck in native code
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    if not data:
        raise SourceError(
            f"{what}: the reader crashed (status {status}); the file is probably damaged"
        )
    if data[0] == 1:
        raise SourceError(f"{what} cannot be read ({data[1:].decode(errors='replace')})")
    return _unpack(memoryview(data)[1:])


def _unpack(view: memoryview) -> list[np.ndarray]:
    (count,) = struct.unpack_from("<I", view, 0)
    pos, out = 4, []
    for _ in range(count):
        (hlen,) = struct.unpack_from("<I", view, pos)
        pos += 4
        dtype, shape = bytes(view[pos : pos + hlen]).decode().split(";")
        pos += hlen
        (nbytes,) = struct.unpack_from("<Q", view, pos)
        pos += 8
        dims = tuple(int(d) for d in shape.split(",") if d)
        out.append(
            np.frombuffer(view[pos : pos + nbytes], dtype=np.dtype(dtype)).reshape(dims).copy()
        )
        pos += nbytes
    return out
