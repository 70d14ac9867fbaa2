"""Start-up: `dsdoctor --version`, `--help` and `inspect small.npy` vs `python -c "import numpy"`.

Each command runs as a subprocess, in turn, after one untimed round (so that every ``.pyc`` and
file is cached); both the console script users run (``.venv/bin/dsdoctor``) and
``python -m dsdoctor`` are timed. When a target is missed, one ``python -X importtime`` run
of the command lists the top-level imports that take the time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from common import DSDOCTOR, PYTHON, Target, best_of_cmds, fmt_bytes, fmt_time, run, table

REPEAT = 10
MAX_VERSION = 1.5
MAX_INSPECT = 2.5
TOP_IMPORTS = 8


def importtime(args: list[str]) -> list[tuple[str, float]]:
    """The top-level imports of ``python -m dsdoctor ARGS`` by cumulative time (seconds)."""
    res = run([PYTHON, "-X", "importtime", "-m", "dsdoctor", *args])
    tops = []
    for line in res.stderr.decode().splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self, cumulative, name = line.split("|")
        if name.startswith("  "):  # nested (indented): counted in its parent
            continue
        tops.append((name.strip(), int(cumulative) / 1e6))
    return sorted(tops, key=lambda t: -t[1])[:TOP_IMPORTS]


def bench(tmp: Path, scale: int) -> tuple[list[str], list[Target]]:
    small = tmp / "small.npy"
    np.save(small, np.arange(1000 * 16, dtype=np.float32).reshape(1000, 16))
    m = [PYTHON, "-m", "dsdoctor"]
    cmds = [
        ('python -c "import numpy"', [PYTHON, "-c", "import numpy"]),
        ("python -c pass", [PYTHON, "-c", "pass"]),
        ("dsdoctor --version", [DSDOCTOR, "--version"]),
        ("python -m dsdoctor --version", [*m, "--version"]),
        ("dsdoctor --help", [DSDOCTOR, "--help"]),
        ("python -m dsdoctor --help", [*m, "--help"]),
        ("dsdoctor inspect small.npy", [DSDOCTOR, "inspect", small]),
        ("python -m dsdoctor inspect small.npy", [*m, "inspect", small]),
    ]
    print(f"start-up: {len(cmds)} commands, best of {REPEAT} ...", flush=True)
    best_of_cmds(cmds, 1)  # untimed: warm the caches
    results = best_of_cmds(cmds, REPEAT)
    numpy_t = results[0].seconds
    rows, targets, misses = [], [], []
    for b in results:
        ratio = b.seconds / numpy_t
        rows.append((f"`{b.name}`", fmt_time(b.seconds), f"**{ratio:.2f}x**", fmt_bytes(b.rss)))
        print(f"  {b.name}: {fmt_time(b.seconds)} = {ratio:.2f}x import numpy", flush=True)
        limit = (
            MAX_VERSION if "--version" in b.name else MAX_INSPECT if "inspect" in b.name else None
        )
        if limit is not None:
            met = ratio <= limit
            targets.append(
                Target(f"`{b.name}` / import numpy", f"{ratio:.2f}x", f"<= {limit:g}x", met)
            )
            if not met:
                misses.append(b)
    md = [
        f"## Start-up (best of {REPEAT})",
        "",
        "Subprocesses run in turn after one untimed warm-up round; ratios to "
        '`python -c "import numpy"`. `dsdoctor` is the console script in the virtualenv.',
        "",
        *table(rows, ("command", "time", "/ import numpy", "peak RSS")),
        "",
        f"Targets: `--version` <= {MAX_VERSION:g}x, `inspect` <= {MAX_INSPECT:g}x.",
        "",
    ]
    seen = set()
    for b in misses:
        args = b.cmd[3:] if b.cmd[0] == PYTHON else b.cmd[1:]
        key = args[0]
        if key in seen:
            continue
        seen.add(key)
        shown = " ".join("small.npy" if a == str(small) else a for a in args)
        tops = importtime(args)
        md += [
            f"Missed: top-level imports of `dsdoctor {shown}` (`python -X importtime`, one run, "
            "cumulative):",
            "",
            *table([(f"`{name}`", f"{t * 1000:.0f} ms") for name, t in tops], ("module", "time")),
            "",
        ]
    small.unlink()
    return md, targets
