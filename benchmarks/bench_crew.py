"""Crew: what the hand-written fork crew (``dsdoctor.engine.crew``) saves over a
``concurrent.futures.ProcessPoolExecutor`` for ``--jobs 2``, measured, not asserted.

1. Start-up per run: a fresh Python process imports dsdoctor, opens a folder of 4 tiny shards,
   cuts them into tasks, scans them once (warm) and then times one ``--jobs 2`` run of the same
   tasks: by the crew (fork one helper, drain the queue, collect), by a pool with the ``fork``
   context and by a pool with the ``forkserver`` context (Python 3.14's default on Linux; the
   forkserver starts anew in every command), each minus the serial scan of the same tasks timed
   the same way. The data is tiny, so what is left is the cost of starting, feeding and ending
   the helpers.
2. End to end: ``check DIR --jobs 2`` as a subprocess on 4 shards of ``MIN_TASK_BYTES`` (the
   least data that ``--jobs`` runs in parallel: 4 tasks) through the crew, through a fork pool
   and through a forkserver pool (the engine's pool path, ``crew.FORK = False``, with the start
   method set), and serially.

Every variant runs in turn, best of ``REPEAT``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from common import PYTHON, MiB, Target, best_of_cmds, fmt_time, run, table, warm

REPEAT = 7
TINY_SHARDS = 4
#: The crew is kept only while it saves at least this per ``--jobs`` run over the best pool
#: whose start method is safe to use by default (forkserver).
MIN_SAVING = 0.020
#: The end-to-end folder: 4 shards of ``MIN_TASK_BYTES`` (not scaled by ``--quick``: smaller
#: shards would not be split).
DISK_BYTES = 4 * 32 * MiB

#: One timed --jobs 2 run of tiny tasks in a fresh process; prints its seconds.
STARTUP = """
import sys, time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
import dsdoctor
from dsdoctor.engine import crew, tasks
from dsdoctor.engine.stats import ScanOptions

how, folder = sys.argv[1], sys.argv[2]
h = dsdoctor.load(folder)
tasks.MIN_TASK_BYTES = 1
todo = tasks.cut_tasks(h, 2)
sizes = [tasks.task_bytes(h, t) for t in todo]
opts = ScanOptions()
tasks.merge(tasks.scan_task(t, {}, opts) for t in todo)  # warm: every lazy import done here
start = time.perf_counter()
if how == "serial":
    tasks.merge(tasks.scan_task(t, {}, opts) for t in todo)
elif how == "crew":
    with crew.Crew(todo, sizes, {}, opts) as c:
        c.fork(1)
        tasks.merge(c.run(lambda n: None))
else:
    with ProcessPoolExecutor(2, mp_context=get_context(how)) as pool:
        futures = [pool.submit(tasks.scan_task, t, {}, opts) for t in todo]
        tasks.merge(f.result() for f in futures)
print(time.perf_counter() - start, len(todo))
"""

#: ``dsdoctor ARGS`` with the local processes chosen by the first argument.
CLI = """
import sys, multiprocessing
from dsdoctor.engine import crew
how = sys.argv.pop(1)
if how != "crew":
    crew.FORK = False  # the engine's pool path, with this start method
    multiprocessing.set_start_method(how)
from dsdoctor.cli import main
sys.argv = ["dsdoctor", *sys.argv[1:]]
main()
"""


def startup(folder: Path, how: str) -> tuple[float, int]:
    """Best of ``REPEAT`` fresh processes: seconds of one timed run, and the number of tasks."""
    best, n = float("inf"), 0
    for _ in range(REPEAT):
        out = run([PYTHON, "-c", STARTUP, how, folder]).stdout.split()
        best, n = min(best, float(out[0])), int(out[1])
    return best, n


def bench(tmp: Path, scale: int) -> tuple[list[str], list[Target]]:
    from dsdoctor.engine.tasks import MIN_TASK_BYTES

    tiny = tmp / "crew-tiny"
    tiny.mkdir()
    for i in range(TINY_SHARDS):
        np.save(tiny / f"part-{i}.npy", np.full((1000, 16), i, dtype=np.float32))
    small = tmp / "crew-small"
    small.mkdir()
    rows = MIN_TASK_BYTES // (16 * 4)
    for i in range(4):
        np.save(small / f"part-{i}.npy", np.full((rows, 16), i, dtype=np.float32))
    warm([tiny, small])

    print(f"crew: start-up of a --jobs 2 run, 4 ways, best of {REPEAT} ...", flush=True)
    ways = ["serial", "crew", "fork", "forkserver"]
    times: dict[str, float] = {}
    for how in ways:  # in turn within each round would be fairer; each is a fresh process anyway
        times[how], n_tasks = startup(tiny, how)
    cost = {how: max(0.0, times[how] - times["serial"]) for how in ways[1:]}

    print(f"crew: check DIR --jobs 2 end to end, best of {REPEAT} ...", flush=True)
    cmds = [
        ("serial", [PYTHON, "-c", CLI, "crew", "check", small]),
        ("crew", [PYTHON, "-c", CLI, "crew", "check", small, "--jobs", "2"]),
        ("fork pool", [PYTHON, "-c", CLI, "fork", "check", small, "--jobs", "2"]),
        ("forkserver pool", [PYTHON, "-c", CLI, "forkserver", "check", small, "--jobs", "2"]),
    ]
    e2e = {b.name: b.seconds for b in best_of_cmds(cmds, REPEAT, ok=(0, 1))}

    saving = cost["forkserver"] - cost["crew"]
    lines = [
        f"## Crew: forked helpers vs a process pool for `--jobs 2` (best of {REPEAT})",
        "",
        f"Start-up: one `--jobs 2` run of {n_tasks} tasks over {TINY_SHARDS} tiny shards "
        "(62 KiB each) in a fresh process, minus the serial scan of the same tasks "
        f"({fmt_time(times['serial'])}):",
        "",
        *table(
            [(how, fmt_time(times[how]), fmt_time(cost[how])) for how in ways[1:]],
            ("helpers", "run", "start-up cost"),
        ),
        "",
        f"End to end: `check DIR --jobs 2` on 4 shards of {MIN_TASK_BYTES // MiB} MiB (the least "
        "data `--jobs` splits):",
        "",
        *table(
            [(name, fmt_time(s), f"{s / e2e['serial']:.2f}x") for name, s in e2e.items()],
            ("", "wall", "/ serial"),
        ),
        "",
    ]
    targets = [
        Target(
            "crew start-up saving per `--jobs 2` run vs a forkserver pool",
            fmt_time(saving),
            f">= {fmt_time(MIN_SAVING)} (else one pool)",
            saving >= MIN_SAVING,
        )
    ]
    return lines, targets


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        section, found = bench(Path(d), 1)
        print("\n".join(section))
        for t in found:
            print(t.row())
