"""Helpers shared by the benchmark modules: commands timed in turn with their peak RSS, warm-up
reads, Markdown tables and the targets' verdicts."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

KiB = 1024
MiB = 1024**2
GiB = 1024**3

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable
#: The console script users run (next to the interpreter in the virtualenv).
DSDOCTOR = str(Path(sys.executable).parent / "dsdoctor")
if not os.path.exists(DSDOCTOR):  # pragma: no cover - an odd install
    DSDOCTOR = shutil.which("dsdoctor") or DSDOCTOR


@dataclass
class Run:
    """One finished subprocess."""

    seconds: float
    rss: int  # peak resident set size in bytes (of the process, or of its largest waited-for child)
    returncode: int
    stdout: bytes
    stderr: bytes
    #: user + system CPU seconds of the command (its threads and waited-for children): the work
    #: done, which a loaded machine stretches far less than the wall time
    cpu: float = 0.0


@dataclass
class Best:
    """The fastest of several runs of one command, and the largest peak RSS seen."""

    name: str
    cmd: list[str]
    seconds: float = float("inf")
    rss: int = 0
    last: Run | None = None
    cpu: float = float("inf")  # the least CPU time of the runs

    def add(self, run: Run) -> None:
        self.seconds = min(self.seconds, run.seconds)
        self.rss = max(self.rss, run.rss)
        self.cpu = min(self.cpu, run.cpu)
        self.last = run


#: GNU time: the peak RSS of exactly the command. ``wait4`` on our own child would not do: a
#: child spawned (vfork/fork) from this big process starts with our RSS as its high-water mark.
GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
#: Without GNU time, a small wrapper process (its own ~10 MiB is the floor of what it reports).
WRAPPER = (
    "import resource, subprocess, sys; rc = subprocess.call(sys.argv[2:]); "
    "r = resource.getrusage(resource.RUSAGE_CHILDREN); "
    "open(sys.argv[1], 'w').write(f'{r.ru_utime} {r.ru_stime} {r.ru_maxrss}'); sys.exit(rc)"
)


def run(cmd: Sequence[str], ok: Sequence[int] = (0,)) -> Run:
    """Run ``cmd`` with stdout and stderr in files (not a terminal: no progress bars); wall time
    from spawn to exit, peak RSS of the command (the largest of it and its waited-for children)
    and its CPU time."""
    cmd = [str(c) for c in cmd]
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile("r") as rss,
    ):
        if GNU_TIME:
            wrapped = [GNU_TIME, "-f", "%U %S %M", "-o", rss.name, *cmd]
        else:
            wrapped = [PYTHON, "-I", "-S", "-c", WRAPPER, rss.name, *cmd]
        start = time.perf_counter()
        code = subprocess.call(wrapped, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        seconds = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        # GNU time may write "Command exited with non-zero status N" first: ours are the last 3
        words = rss.read().split()[-3:]
        peak = int(words[-1]) * KiB if len(words) == 3 and words[-1].isdigit() else 0
        cpu = float(words[0]) + float(words[1]) if peak else 0.0
        result = Run(seconds, peak, code, out.read(), err.read(), cpu)
    if code not in ok:
        tail = result.stderr.decode(errors="replace")[-2000:]
        raise RuntimeError(f"`{shlex.join(cmd)}` exited {code}:\n{tail}")
    return result


def best_of_cmds(
    cmds: Sequence[tuple[str, Sequence[str]]],
    repeat: int,
    ok: Sequence[int] = (0,),
    rotate: bool = False,
) -> list[Best]:
    """Best of ``repeat`` runs of each command, running them in turn so noise hits them alike;
    with ``rotate`` each round starts one command later, so none is always first (or always
    right after the same neighbour)."""
    best = [Best(name, [str(c) for c in cmd]) for name, cmd in cmds]
    for i in range(repeat):
        shift = i % len(best) if rotate and best else 0
        for b in best[shift:] + best[:shift]:
            b.add(run(b.cmd, ok))
    return best


def warm(paths: Sequence[Path], block: int = 64 * MiB) -> None:
    """Read every file once so that the timed runs all find it in the page cache (we cannot drop
    the cache without root, so everything is measured warm)."""
    buf = bytearray(block)
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            with open(f, "rb", buffering=0) as fp:
                while fp.readinto(buf):
                    pass


def sync() -> None:
    """Flush freshly written files so that write-back does not run during the timings."""
    os.sync()


def need_disk(directory: Path, nbytes: int) -> None:
    free = shutil.disk_usage(directory).free
    if free < nbytes + 2 * GiB:
        raise SystemExit(
            f"benchmarks need {fmt_bytes(nbytes)} (+2 GiB slack) free in {directory}; "
            f"only {fmt_bytes(free)} is free (try --quick)"
        )


def fmt_time(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.2f} s"


def fmt_bytes(n: float) -> str:
    if n >= GiB:
        return f"{n / GiB:.2f} GiB"
    if n >= MiB:
        return f"{n / MiB:.0f} MiB"
    return f"{n / KiB:.0f} KiB"


def table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


@dataclass
class Target:
    """One target of the issue and whether this run meets it."""

    what: str
    measured: str
    target: str
    met: bool

    def row(self) -> tuple[str, str, str, str]:
        return (self.what, self.measured, self.target, "yes" if self.met else "**MISS**")
