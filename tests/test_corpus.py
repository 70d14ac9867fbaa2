"""Robustness against a corpus of real-world array files written by others.

Every file of the corpus (587 .npy/.npz, HDF5 and Parquet files copied from the test data of
public repositories; see its README.md) goes through the CLI, ``inspect --json`` and
``check --json``. What each file must give depends on the ``expect`` column of MANIFEST.tsv:

- ``valid``: a report (exit 0/1, JSON on stdout). A clean error (exit 2) is accepted only for
  the files the reference libraries themselves could not fully read (OBSERVED.tsv outcome other
  than ``ok``: missing filter plugins, exotic types, memory hazards) and, for ``check``, for a
  file in which ``inspect`` found no numeric array (there is nothing to check).
- ``invalid``: a clean error (exit 2, exactly one ``dsdoctor: error:`` line on stderr) or a
  report that flags the problem (an entry with an error, a skipped or unsafe entry, a finding).
  This is judged per file: dsdoctor reads numeric data only, so when the damage is in a column
  it does not read (text, dates, structs: a skipped entry in ``inspect``), ``check`` of the
  numeric columns may rightly pass; but ``check`` must never pass an array that ``inspect``
  could not read.
- ``unsafe``: never unpickled; an ``unsafe-pickle`` finding (check) or an ``unsafe`` entry
  (inspect), or a clean error.

Always: never exit 3 (internal error), never a traceback, never a timeout or a crash, and all of
it under an address-space limit. Nothing is ever unpickled: an audit hook ends the process the
moment pickle resolves a global (an object array's pickle always names numpy's reconstructor),
so a malicious payload never runs and the test sees exit code ``UNPICKLED``.

Speed: a fresh ``python -m dsdoctor`` costs about a second (imports), too slow for ~1,200 runs.
So every run goes through a click ``CliRunner`` on ``dsdoctor.cli.app`` (the same error
mapping) inside two long-lived *worker processes* that carry the limits: ``RLIMIT_AS``, a
per-command timeout, the audit hook, and capture of what native code writes to fds 1 and 2. A
worker that hangs, crashes or is killed fails only the command it was running and is replaced.
A sample of files also runs through the real entry point, ``python -m dsdoctor``, one process
per command (``test_entry_point``), and the files with external links or external storage run
under ``strace`` to show that no other file is opened (``test_links_not_followed``; skipped
without strace). The whole module takes about a minute on two cores.

The corpus folder is ``/work/shared/corpus`` (``Path(__file__).parents[2] / "shared" /
"corpus"``); ``DSDOCTOR_CORPUS`` overrides it, and without it the module is skipped. Set
``DSDOCTOR_CORPUS_DUMP=FILE`` to write every run's result as JSON lines (for triage).
"""

from __future__ import annotations

import csv
import json
import os
import queue
import resource
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

CORPUS = Path(
    os.environ.get("DSDOCTOR_CORPUS") or Path(__file__).resolve().parents[2] / "shared" / "corpus"
)
COMMANDS = ("inspect", "check")
TIMEOUT_S = 60
ADDRESS_SPACE = 4 * 1024**3
WORKERS = 2
#: A worker is replaced after this many commands, so nothing one file leaves behind (memory,
#: open handles) piles up against the address-space limit.
RUNS_PER_WORKER = 200
#: Exit code of a process that started unpickling (see AUDIT_HOOK).
UNPICKLED = 97
PREFIX = "dsdoctor: error: "

if not (CORPUS / "MANIFEST.tsv").is_file():
    pytest.skip(
        f"no real-world corpus at {CORPUS} (set DSDOCTOR_CORPUS to its folder to run these tests)",
        allow_module_level=True,
    )

AUDIT_HOOK = f"""
import os, sys
def _no_pickle(event, args):
    if event == "pickle.find_class":
        os.write(2, b"UNPICKLED " + repr(args).encode() + b"\\n")
        os._exit({UNPICKLED})
sys.addaudithook(_no_pickle)
"""

#: ``python -m dsdoctor ARGS`` behind the audit hook.
ENTRY_POINT = AUDIT_HOOK + "import runpy\nrunpy.run_module('dsdoctor', run_name='__main__')\n"

#: A worker: reads one JSON request (the CLI arguments) per line on stdin and answers one JSON
#: line on the original stdout. Fds 1 and 2 are pointed at a file (named by the parent) so that
#: whatever native code prints is captured per command instead of breaking the protocol.
WORKER = (
    AUDIT_HOOK
    + """
import json
answer = os.fdopen(os.dup(1), "w", encoding="utf-8")
native = open(os.environ["CORPUS_NATIVE_OUTPUT"], "w+b")
os.dup2(native.fileno(), 1)
os.dup2(native.fileno(), 2)
import typer.main
from click.testing import CliRunner
from dsdoctor.cli import app
command = typer.main.get_command(app)  # built once: typer's CliRunner rebuilds it every call
runner = CliRunner()
for line in sys.stdin:
    native.seek(0)
    native.truncate()
    result = runner.invoke(command, json.loads(line), prog_name="dsdoctor",
                           env={"NO_COLOR": "1", "DSDOCTOR_DEBUG": None})
    exc = result.exception
    native.seek(0)
    answer.write(json.dumps({
        "code": result.exit_code,
        "stdout": result.stdout,
        "stderr": result.stderr + native.read().decode("utf-8", "replace"),
        "exception": None if exc is None or isinstance(exc, SystemExit) else repr(exc),
    }) + "\\n")
    answer.flush()
"""
)


# -- the corpus ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    path: str
    expect: str  # "valid" | "invalid" | "unsafe"
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


# -- running the CLI ----------------------------------------------------------------------------
@dataclass
class Run:
    command: str
    code: int | None  # None: timed out; negative: killed by that signal
    stdout: str
    stderr: str
    secs: float = 0.0
    exception: str | None = None

    @property
    def report(self) -> dict | None:
        try:
            out = json.loads(self.stdout)
        except ValueError:
            return None
        return out if isinstance(out, dict) else None

    def describe(self) -> str:
        return (
            f"{self.command}: exit {self.code} after {self.secs:.1f} s"
            + (f" ({self.exception})" if self.exception else "")
            + f"\nstderr: {self.stderr[-2000:]}\nstdout: {self.stdout[:500]}"
        )


def _limit_memory() -> None:  # in the child, before exec
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DSDOCTOR_DEBUG", "DSDOCTOR_CORPUS")}
    return {**env, "NO_COLOR": "1", "PYTHONWARNINGS": "ignore", **extra}


def cli_args(command: str, path: Path) -> list[str]:
    return [command, str(path), "--json"]


class Worker:
    """One long-lived process running CLI commands in-process, under the limits."""

    def __init__(self) -> None:
        fd, self.native = tempfile.mkstemp(prefix="dsdoctor-corpus-", suffix=".out")
        os.close(fd)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WORKER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=_env(CORPUS_NATIVE_OUTPUT=self.native),
            preexec_fn=_limit_memory,
        )
        self.runs = 0

    def run(self, command: str, path: Path) -> Run:
        self.runs += 1
        start = time.monotonic()
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(json.dumps(cli_args(command, path)).encode() + b"\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass
        ready, _, _ = select.select([self.proc.stdout], [], [], TIMEOUT_S)
        line = self.proc.stdout.readline() if ready else b""
        secs = time.monotonic() - start
        if line:
            answer = json.loads(line)
            return Run(command, answer["code"], answer["stdout"], answer["stderr"], secs,
                       answer["exception"])  # fmt: skip
        # timed out, or the process died (crash, abort, memory, unpickling): replace it
        if not ready:
            self.proc.kill()
        code = self.proc.wait()
        stderr = Path(self.native).read_text(errors="replace")
        self.close()
        return Run(command, None if not ready else code, "", stderr, secs)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for fp in (self.proc.stdin, self.proc.stdout):
            if fp:
                fp.close()
        if os.path.exists(self.native):
            os.unlink(self.native)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None and self.runs < RUNS_PER_WORKER


def run_all(cases: list[Case]) -> dict[tuple[str, str], Run]:
    """Run both commands on every case, in WORKERS parallel workers."""
    jobs: queue.Queue = queue.Queue()
    for case in cases:
        for command in COMMANDS:
            jobs.put((case.path, command))
    results: dict[tuple[str, str], Run] = {}

    def drain() -> None:
        worker: Worker | None = None
        try:
            while True:
                try:
                    path, command = jobs.get_nowait()
                except queue.Empty:
                    return
                if worker is None or not worker.alive:
                    if worker is not None:
                        worker.close()
                    worker = Worker()
                results[path, command] = worker.run(command, CORPUS / path)
        finally:
            if worker is not None:
                worker.close()

    threads = [threading.Thread(target=drain) for _ in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    dump = os.environ.get("DSDOCTOR_CORPUS_DUMP")
    if dump:
        with open(dump, "w", encoding="utf-8") as fp:
            for (path, _), run in sorted(results.items()):
                fp.write(json.dumps({"path": path, **asdict(run)}) + "\n")
    return results


def run_entry_point(command: str, path: Path) -> Run:
    """``python -m dsdoctor COMMAND PATH --json`` in a fresh process, under the limits."""
    start = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-c", ENTRY_POINT, *cli_args(command, path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
        preexec_fn=_limit_memory,
        text=True,
        errors="replace",
    )
    try:
        out, err = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        return Run(command, None, out, err, time.monotonic() - start)
    return Run(command, proc.returncode, out, err, time.monotonic() - start)


# -- what a run must show -----------------------------------------------------------------------
def assert_sane(run: Run) -> None:
    """What holds for every file: no hang, no crash, no traceback, no unpickling."""
    assert run.code is not None, f"{run.command} timed out after {TIMEOUT_S} s\n{run.describe()}"
    assert run.code != UNPICKLED, f"{run.command} unpickled the file\n{run.describe()}"
    assert run.code >= 0, f"{run.command} was killed by signal {-run.code}\n{run.describe()}"
    assert run.code != 3, f"{run.command} hit an internal error\n{run.describe()}"
    assert run.exception is None, f"an exception escaped the CLI\n{run.describe()}"
    assert run.code in (0, 1, 2), f"unexpected exit code\n{run.describe()}"
    assert "Traceback" not in run.stderr, f"traceback on stderr\n{run.describe()}"
    if run.code in (0, 1):
        assert run.report is not None, f"exit {run.code} without a JSON report\n{run.describe()}"
        assert not run.stderr.strip(), f"exit {run.code} with output on stderr\n{run.describe()}"
    else:
        lines = run.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(PREFIX), (
            f"exit 2 without exactly one '{PREFIX}' line\n{run.describe()}"
        )
        assert len(lines[0]) > len(PREFIX) + 10, f"an empty error message\n{run.describe()}"


def _entries(report: dict) -> list[dict]:
    return [e for s in report.get("sources", []) for e in s.get("entries", [])]


def flags_problem(run: Run) -> bool:
    """A report that says something is wrong with (a part of) the file, or that a part of it
    was not read (a skipped entry, e.g. a text column)."""
    report = run.report or {}
    if run.command == "inspect":
        return any(
            e.get("error")
            or e.get("kind") in ("error", "column")  # "column": a table column not read
            or e.get("skipped")
            or e.get("unsafe")
            for e in _entries(report)
        )
    arrays = report.get("arrays", {}).values()
    return bool(report.get("findings")) or any(a.get("skipped") or a.get("unsafe") for a in arrays)


def has_error_finding(run: Run) -> bool:
    report = run.report or {}
    return any(f.get("severity") == "error" for f in report.get("findings", []))


def reports_pickle(run: Run) -> bool:
    report = run.report or {}
    if run.command == "inspect":
        return any(e.get("unsafe") for e in _entries(report))
    return any(f.get("name") == "unsafe-pickle" for f in report.get("findings", []))


def nothing_to_check(inspected: Run | None) -> bool:
    """``inspect`` found no array that ``check`` could read (only groups, links, text, …).
    A table's text column is shown as an array (its classes) but checked only as a ``--target``."""
    if inspected is None or inspected.code not in (0, 1) or inspected.report is None:
        return False
    return not any(
        e.get("kind") == "array"
        and not e.get("skipped")
        and not e.get("unsafe")
        and not (e.get("categorical") and e.get("format") in ("parquet", "csv"))
        for e in _entries(inspected.report)
    )


def assert_expected(case: Case, runs: dict[str, Run]) -> None:
    for run in runs.values():
        assert_sane(run)
    for command, run in runs.items():
        what = f"{case.path} ({case.expect}; reference libraries: {case.observed}) {command}"
        if case.expect == "valid":
            if run.code == 2:
                allowed = case.observed != "ok" or (
                    command == "check" and nothing_to_check(runs.get("inspect"))
                )
                assert allowed, f"{what}: a valid file gave an error\n{run.describe()}"
        elif case.expect == "invalid":
            unread = [e["path"] for e in _entries(runs["inspect"].report or {}) if e.get("error")]
            if command == "check" and unread and run.code != 2:
                assert flags_problem(run), (
                    f"{what}: passes {unread} that inspect could not read\n{run.describe()}"
                )
        elif case.expect == "unsafe":
            if run.code != 2:
                assert reports_pickle(run), f"{what}: the pickle is not reported\n{run.describe()}"
        else:
            pytest.fail(f"unknown expect value {case.expect!r} for {case.path}")
    if case.expect == "invalid" and case.observed.startswith(("error@read", "error@validate")):
        # the reference reader failed on the data itself: check decodes every column, so it
        # must fail too (exit 2) or say so with an error finding (unreadable-data); a skipped
        # column or a warning is not enough
        check = runs["check"]
        assert check.code == 2 or has_error_finding(check), (
            f"{case.path} (invalid; reference libraries: {case.observed}): check does not report "
            f"the data it cannot decode\n{check.describe()}"
        )
    if case.expect == "invalid":
        assert any(r.code == 2 or flags_problem(r) for r in runs.values()), (
            f"{case.path} (invalid; reference libraries: {case.observed}): neither command flags "
            "the problem\n" + "\n".join(r.describe() for r in runs.values())
        )


# -- the tests ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def corpus_runs(request: pytest.FixtureRequest) -> dict[tuple[str, str], Run]:
    """Both commands on every corpus file selected in this session, run once, in workers."""
    selected = {
        item.callspec.params["case"].path
        for item in request.session.items
        if getattr(item, "originalname", None) == "test_corpus_file" and hasattr(item, "callspec")
    }
    return run_all([c for c in CASES if c.path in selected])


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.path for c in CASES])
def test_corpus_file(case: Case, corpus_runs: dict[tuple[str, str], Run]) -> None:
    assert (CORPUS / case.path).exists(), f"{case.path} is listed in MANIFEST.tsv but missing"
    assert_expected(case, {command: corpus_runs[case.path, command] for command in COMMANDS})


#: Parquet files with a corrupt page in a text or binary column (pyarrow cannot read them) and
#: readable numeric columns: once reported healthy, because only the numeric columns were read.
CORRUPT_PAGES = ("parquet/broken-arrow.parquet", "parquet/internal_6129.parquet",
                 "parquet/page_size_corruption.parquet")  # fmt: skip


@pytest.mark.parametrize("path", CORRUPT_PAGES)
def test_corrupt_pages_are_never_healthy(path: str) -> None:
    import dsdoctor

    assert path in {c.path for c in CASES}, f"{path} is no longer in the corpus"
    report = dsdoctor.check(str(CORPUS / path))
    (found,) = report.by_name("unreadable-data")
    assert found.severity.value == "error" and report.failed()
    assert found.evidence["columns"] and all(c["error"] for c in found.evidence["columns"])


def _entry_point_sample() -> list[Case]:
    """One file of each known hazard, every unsafe file, then every 40th other file (~40)."""
    hazards = ("large_string_map.brotli.parquet", "broken_structure.parquet", "tiny_huge",
               "plaintext_footer.parquet.encrypted", "uniform_encryption.parquet.encrypted",
               "external_link.hdf5", "elink.h5", ".mat", "CASE_INSENSITIVE.PARQUET", ".parq",
               "notahdf5file.h5", "lzo")  # fmt: skip
    picked: list[Case] = []
    for hazard in hazards:
        hit = [c for c in CASES if c not in picked and (c.path.endswith(hazard) if hazard[0] == "."
                                                         else hazard in c.path)]  # fmt: skip
        picked += hit[:1]
    picked += [c for c in CASES if c.expect == "unsafe" and c not in picked]
    rest = [c for c in CASES if c not in picked]
    return picked + rest[::40]


ENTRY_SAMPLE = _entry_point_sample()


@pytest.mark.slow
@pytest.mark.parametrize("case", ENTRY_SAMPLE, ids=[c.path for c in ENTRY_SAMPLE])
def test_entry_point(case: Case) -> None:
    """The real ``python -m dsdoctor``, one fresh process per command, for a sample."""
    runs = dict(
        zip(COMMANDS, _pool_map(run_entry_point, COMMANDS, CORPUS / case.path), strict=True)
    )
    assert_expected(case, runs)


def _pool_map(fn, commands, path: Path) -> list[Run]:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(commands)) as pool:
        return list(pool.map(lambda c: fn(c, path), commands))


LINKED = [c for c in CASES if "external" in c.note.lower()]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace to watch file opens")
@pytest.mark.parametrize("case", LINKED, ids=[c.path for c in LINKED])
def test_links_not_followed(case: Case, tmp_path: Path) -> None:
    """Files with external links or external raw storage: no other corpus file is opened."""
    path = CORPUS / case.path

    def traced(command: str, _path: Path) -> tuple[str, str]:
        log = tmp_path / f"{command}.strace"
        args = ["strace", "-f", "-qq", "-e", "trace=open,openat,openat2", "-o", str(log),
                sys.executable, "-c", ENTRY_POINT, *cli_args(command, path)]  # fmt: skip
        proc = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT_S, env=_env())
        return proc.stderr, log.read_text() if log.exists() else ""

    corpus = str(CORPUS.resolve())
    for command, (stderr, log) in zip(COMMANDS, _pool_map(traced, COMMANDS, path), strict=True):
        if not log.strip():
            pytest.skip(f"strace cannot trace here: {stderr.strip()[:200]}")
        opened = {
            line.split('"')[1]
            for line in log.splitlines()
            if '"' in line and "ENOENT" not in line and corpus in line
        }
        others = {os.path.basename(p) for p in opened if Path(p).resolve() != path.resolve()}
        assert not others, f"{command} {case.path} opened {sorted(others)}"


def test_manifest() -> None:
    assert CASES, "MANIFEST.tsv lists no files"
    unknown = {c.expect for c in CASES} - {"valid", "invalid", "unsafe"}
    assert not unknown, f"unknown expect values {unknown}"
    missing = [c.path for c in CASES if not (CORPUS / c.path).exists()]
    assert not missing, f"listed in MANIFEST.tsv but missing: {missing[:10]}"
