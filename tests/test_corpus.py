"""Robustness against a corpus of real-world array files written by others.

Every file of ``/work/shared/corpus`` (587 .npy/.npz, HDF5 and Parquet files copied from the
test data of public repositories; see its README.md) goes through the real CLI, ``inspect`` and
``check``, each in its own process under a time and an address-space bound. What each file must
give depends on the ``expect`` column of ``MANIFEST.tsv``:

- ``valid``: a report (exit 0/1, JSON on stdout). A clean error (exit 2) is accepted only for
  the files the reference libraries themselves could not fully read (``OBSERVED.tsv`` outcome
  other than ``ok``: missing filter plugins, exotic types, memory hazards), and, for ``check``,
  a file with no numeric array in it (there is nothing to check).
- ``invalid``: a clean error (exit 2, one ``dsdoctor: error:`` line on stderr) or a report that
  flags the problem (an entry with an error, a skipped or unsafe entry, or a finding).
- ``unsafe``: never unpickled (an audit hook kills the process if pickle resolves a global);
  an ``unsafe-pickle`` finding / an ``unsafe`` entry, or a clean error.

Always: never exit 3 (internal error), never a traceback, never a timeout or a memory blow-up.

The corpus folder is ``/work/shared/corpus`` (``DSDOCTOR_CORPUS`` overrides it); without it the
module is skipped. The two commands of one file run concurrently, so the ~1,200 processes take a
few minutes on two cores.
"""

from __future__ import annotations

import csv
import json
import os
import resource
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

CORPUS = Path(
    os.environ.get("DSDOCTOR_CORPUS") or Path(__file__).resolve().parents[2] / "shared" / "corpus"
)
TIMEOUT_S = 60
ADDRESS_SPACE = 4 * 1024**3
#: Exit code of a process that tried to unpickle (see GUARD).
UNPICKLED = 97
PREFIX = "dsdoctor: error: "

#: Runs ``python -m dsdoctor`` behind an audit hook that ends the process at once when pickle
#: resolves a global (an object array's pickle always names numpy's reconstructor), so a file
#: is never unpickled without the test noticing, and a malicious payload never runs.
GUARD = (
    "import os, sys\n"
    "def _hook(event, args):\n"
    "    if event == 'pickle.find_class':\n"
    "        os.write(2, b'UNPICKLED ' + repr(args).encode() + b'\\n')\n"
    f"        os._exit({UNPICKLED})\n"
    "sys.addaudithook(_hook)\n"
    "import runpy\n"
    "runpy.run_module('dsdoctor', run_name='__main__', alter_sys=True)\n"
)

if not (CORPUS / "MANIFEST.tsv").is_file():
    pytest.skip(
        f"no real-world corpus at {CORPUS} (set DSDOCTOR_CORPUS to its folder to run these tests)",
        allow_module_level=True,
    )


@dataclass(frozen=True)
class Case:
    path: str
    expect: str
    observed: str  # what the reference libraries did: "ok", "error@…", "partial(N)"
    note: str


def _read_tsv(name: str) -> list[dict[str, str]]:
    file = CORPUS / name
    if not file.is_file():
        return []
    with open(file, newline="", encoding="utf-8") as fp:
        return list(csv.DictReader(fp, delimiter="\t", quoting=csv.QUOTE_NONE))


def _cases() -> list[Case]:
    observed = {r["path"]: r for r in _read_tsv("OBSERVED.tsv")}
    out = []
    for row in _read_tsv("MANIFEST.tsv"):
        obs = observed.get(row["path"], {})
        out.append(Case(row["path"], row["expect"], obs.get("outcome", "?"), obs.get("note", "")))
    return out


CASES = _cases()


def _limit_memory() -> None:  # runs in the child before exec
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


@dataclass
class Run:
    command: str
    code: int | None  # None: timed out
    stdout: str
    stderr: str

    @property
    def report(self) -> dict | None:
        try:
            out = json.loads(self.stdout)
        except ValueError:
            return None
        return out if isinstance(out, dict) else None

    def describe(self) -> str:
        return (
            f"{self.command}: exit {self.code}\n"
            f"stderr: {self.stderr[-2000:]!s}\nstdout: {self.stdout[:500]!s}"
        )


def run_cli(command: str, path: Path) -> Run:
    args = [sys.executable, "-c", GUARD, command, str(path), "--json"]
    env = {**os.environ, "NO_COLOR": "1", "DSDOCTOR_DEBUG": "0", "PYTHONWARNINGS": "ignore"}
    env.pop("DSDOCTOR_CORPUS", None)
    proc = subprocess.Popen(
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        preexec_fn=_limit_memory,
        text=True,
        errors="replace",
    )
    try:
        out, err = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        return Run(command, None, out, err)
    return Run(command, proc.returncode, out, err)


def assert_sane(run: Run) -> None:
    """What holds for every file: no hang, no crash, no traceback, no unpickling."""
    assert run.code is not None, f"{run.command} timed out after {TIMEOUT_S} s\n{run.describe()}"
    assert run.code != UNPICKLED, f"{run.command} unpickled the file\n{run.describe()}"
    assert run.code >= 0, f"{run.command} was killed by signal {-run.code}\n{run.describe()}"
    assert run.code != 3, f"{run.command} hit an internal error\n{run.describe()}"
    assert run.code in (0, 1, 2), f"unexpected exit code\n{run.describe()}"
    assert "Traceback" not in run.stderr, f"traceback on stderr\n{run.describe()}"
    if run.code in (0, 1):
        assert run.report is not None, f"exit {run.code} without a JSON report\n{run.describe()}"
        assert not run.stderr.strip(), f"exit {run.code} with stderr output\n{run.describe()}"


def is_clean_error(run: Run) -> bool:
    lines = run.stderr.splitlines()
    return (
        run.code == 2
        and len(lines) == 1
        and lines[0].startswith(PREFIX)
        and len(lines[0]) > len(PREFIX) + 10
    )


def _inspect_entries(report: dict) -> list[dict]:
    return [e for s in report.get("sources", []) for e in s.get("entries", [])]


def flags_problem(run: Run) -> bool:
    """A report that says something is wrong with the file."""
    report = run.report or {}
    if run.command == "inspect":
        return any(
            e.get("error") or e.get("kind") == "error" or e.get("skipped") or e.get("unsafe")
            for e in _inspect_entries(report)
        )
    arrays = report.get("arrays", {}).values()
    return bool(report.get("findings")) or any(a.get("skipped") or a.get("unsafe") for a in arrays)


def has_unsafe(run: Run) -> bool:
    report = run.report or {}
    if run.command == "inspect":
        return any(e.get("unsafe") for e in _inspect_entries(report))
    return any(f.get("name") == "unsafe-pickle" for f in report.get("findings", []))


def nothing_to_check(inspected: Run) -> bool:
    """``inspect`` found no array ``check`` could read (only groups, links, text, …)."""
    if inspected.code not in (0, 1) or inspected.report is None:
        return False
    return not any(
        e.get("kind") == "array" and not e.get("skipped") and not e.get("unsafe")
        for e in _inspect_entries(inspected.report)
    )


def assert_expected(case: Case, runs: dict[str, Run]) -> None:
    for run in runs.values():
        assert_sane(run)
        if run.code == 2:
            assert is_clean_error(run), f"exit 2 without one clean error line\n{run.describe()}"
    for command, run in runs.items():
        what = f"{case.path} ({case.expect}, reference libraries: {case.observed}) {command}"
        if case.expect == "valid":
            if run.code == 2:
                allowed = case.observed != "ok" or (
                    command == "check" and nothing_to_check(runs["inspect"])
                )
                assert allowed, f"{what}: a valid file gave an error\n{run.describe()}"
        elif case.expect == "invalid":
            if run.code != 2:
                assert flags_problem(run), (
                    f"{what}: the report misses the problem\n{run.describe()}"
                )
        elif case.expect == "unsafe":
            if run.code != 2:
                assert has_unsafe(run), f"{what}: the pickle is not reported\n{run.describe()}"
        else:  # pragma: no cover - a new manifest value
            pytest.fail(f"unknown expect value {case.expect!r} for {case.path}")


# Both commands of a file run at the same time; the pool is shared by all cases.
_POOL = ThreadPoolExecutor(max_workers=2)


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.path for c in CASES])
def test_corpus_file(case: Case) -> None:
    path = CORPUS / case.path
    if not path.exists():
        pytest.fail(f"{path} is listed in MANIFEST.tsv but missing")
    futures = {cmd: _POOL.submit(run_cli, cmd, path) for cmd in ("inspect", "check")}
    assert_expected(case, {cmd: f.result() for cmd, f in futures.items()})


def test_manifest_is_complete() -> None:
    counts: dict[str, int] = {}
    for c in CASES:
        counts[c.expect] = counts.get(c.expect, 0) + 1
    assert set(counts) <= {"valid", "invalid", "unsafe"}, counts
    assert sum(counts.values()) > 0
