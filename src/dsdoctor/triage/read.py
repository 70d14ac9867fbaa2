"""Reading the text to triage, bounded: only the tail of a long log is kept, and a stream is read
for at most :data:`MAX_STREAM_BYTES`.
"""

from __future__ import annotations

import os
import stat
import sys
from typing import IO, Any

from ..errors import SourceError

#: Only the tail of a long log is read: the final exception is at the end.
MAX_CHARS = 1 << 20


def read_message(source: str | None) -> str:
    """The text to triage: a file, or standard input for ``-`` / None.

    Only the tail is kept (the final exception is at the end): the last ``4 * MAX_CHARS`` bytes,
    decoded, then the last MAX_CHARS characters. A regular file is read from that tail on. A
    stream (standard input, a pipe, a FIFO, a device) is read in chunks, keeping only the tail, for
    at most MAX_STREAM_BYTES: an endless producer (``/dev/zero``) is a SourceError, not a run that
    never ends.
    """
    data: str | bytes
    if source in (None, "-"):
        data = _tail(getattr(sys.stdin, "buffer", sys.stdin), "standard input")
    else:
        try:
            with open(source, "rb") as fh:
                if stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                    fh.seek(max(0, os.fstat(fh.fileno()).st_size - 4 * MAX_CHARS))
                    data = fh.read(4 * MAX_CHARS)
                else:
                    data = _tail(fh, source)
        except FileNotFoundError:
            raise SourceError(f"{source}: no such file") from None
        except IsADirectoryError:
            raise SourceError(
                f"{source}: is a directory, not a file with an error message"
            ) from None
        except OSError as exc:
            raise SourceError(f"{source}: cannot be read ({exc.strerror})") from None
    if isinstance(data, bytes):
        data = data.decode("utf-8", errors="replace")
    return data[-MAX_CHARS:]


#: The most a stream is read: 256 MiB is a very long training log, read in well under a second.
MAX_STREAM_BYTES = 256 << 20


def _tail(stream: IO[Any], name: str) -> str | bytes:
    """The last ``4 * MAX_CHARS`` bytes (or characters, for a text stream) of a stream, refusing
    one longer than MAX_STREAM_BYTES."""
    data, total = stream.read(0), 0
    while chunk := stream.read(MAX_CHARS):
        total += len(chunk)
        if total > MAX_STREAM_BYTES:
            raise SourceError(
                f"{name}: longer than {MAX_STREAM_BYTES >> 20} MiB, the most triage reads from a "
                "stream; pass the log's end instead (tail -c 4M LOG | dsdoctor triage)"
            )
        data = (data + chunk)[-4 * MAX_CHARS :]
    return data
