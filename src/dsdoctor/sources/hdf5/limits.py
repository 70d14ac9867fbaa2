"""A temporary address-space limit around library calls that allocate what a file declares.

HDF5 allocates a variable-length element's declared size before it reads it, so one damaged
length field can make it ask for gigabytes. Around such reads the soft ``RLIMIT_AS`` is lowered
to what the process uses now plus a budget; the library's allocation then fails (and h5py raises
an error dsdoctor reports) instead of exhausting the machine. Linux/POSIX only; elsewhere, and
when the process is already limited more tightly, it does nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

#: Extra address space a guarded read may take, beyond what the process maps already.
READ_BUDGET = 2 * 1024**3


def _mapped_bytes() -> int | None:
    try:
        with open("/proc/self/statm") as fp:
            pages = int(fp.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    import os

    return pages * os.sysconf("SC_PAGE_SIZE")


@contextmanager
def address_space_budget(budget: int = READ_BUDGET) -> Iterator[None]:
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    mapped = _mapped_bytes()
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if mapped is None:
        yield
        return
    limit = mapped + budget
    if (soft != resource.RLIM_INFINITY and soft <= limit) or (
        hard != resource.RLIM_INFINITY and hard < limit
    ):
        yield  # already limited at least as tightly
        return
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
