"""SIGTERM → 143 and SIGINT → 130, one stderr line, no temporaries, no helper left: proved by
sending the signal at many moments of a real run, for every kind of reading and writing.

Each sweep first runs the command to the end and measures how long it works once its handlers
are installed (read from ``/proc/PID/status``: SigCgt holds SIGTERM from then on), then starts
it again for each moment spread over that time and sends the signal there, SIGTERM and SIGINT
in turn. At each moment the process is in one of two states, also read from ``/proc`` just
before the signal is sent:

- still working (handler installed, signals not yet ignored): exit 128 + signal, exactly one
  stderr line, no traceback, nothing left behind, every helper process killed and reaped;
- leaving with its outcome decided (SigIgn holds SIGTERM: the last check has run): the normal
  outcome, complete.

A sweep fails if fewer than half of its moments hit the working state (a run much shorter than
measured would otherwise prove nothing). The data is small; ``--chunk-size`` makes the runs
long enough (many small chunks, each a moment where the signal must be noticed).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest

from .conftest import assert_clean_error, cli, run

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")

#: Moments per sweep (SIGTERM and SIGINT alternate): few, for a busy 2-core machine (the file
#: runs in about a minute); ``DSDOCTOR_SIGNAL_MOMENTS=16`` sweeps more finely.
MOMENTS = int(os.environ.get("DSDOCTOR_SIGNAL_MOMENTS", 4))
SIGNALS = (signal.SIGTERM, signal.SIGINT)
LINES = {
    signal.SIGTERM: "dsdoctor: terminated; nothing half-written was left behind",
    signal.SIGINT: "dsdoctor: interrupted; nothing half-written was left behind",
}


def _bits(pid: int) -> tuple[bool, bool] | None:
    """(SIGTERM caught, SIGTERM ignored) for a live process; None once it has exited."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    fields = dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)
    if fields.get("State", "").startswith("Z"):
        return None
    bit = 1 << (signal.SIGTERM - 1)
    return bool(int(fields["SigCgt"], 16) & bit), bool(int(fields["SigIgn"], 16) & bit)


def _children(pid: int) -> set[int]:
    try:
        return {int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
    except OSError:
        return set()


def _alive(pid: int) -> bool:
    return _bits(pid) is not None


class Run:
    """``python -m dsdoctor ARGS`` (or ``python -c CODE ARGS``), optionally fed by a producer."""

    def __init__(self, args, env=None, producer: str | None = None, code: str | None = None):
        self.args = [str(a) for a in args]
        self.env = {**os.environ, "NO_COLOR": "1", "DSDOCTOR_NO_PROGRESS": "1", **(env or {})}
        self.producer, self.code = producer, code

    def start(self) -> tuple[subprocess.Popen, subprocess.Popen | None, float]:
        """The process, its producer, and the moment its handlers were installed."""
        feed = None
        stdin = subprocess.DEVNULL
        if self.producer is not None:
            feed = subprocess.Popen([sys.executable, "-c", self.producer], stdout=subprocess.PIPE)
            stdin = feed.stdout
        head = ["-c", self.code] if self.code else ["-m", "dsdoctor"]
        p = subprocess.Popen([sys.executable, *head, *self.args], stdin=stdin, env=self.env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
        if feed is not None:
            feed.stdout.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            state = _bits(p.pid)
            if state is None or state[0]:
                break
            time.sleep(0.002)
        return p, feed, time.monotonic()


def sweep(run: Run, outcome: Callable[[int, bytes], None],
          left_behind: Callable[[], list] = list, moments: int = MOMENTS) -> None:  # fmt: skip
    """Signal ``run`` at MOMENTS moments spread over its work; ``outcome(code, stdout)`` checks
    a run that finished normally; ``left_behind()`` lists what must not exist after a signal."""
    p, feed, ready = run.start()
    out, err = p.communicate(timeout=120)
    work = time.monotonic() - ready
    if feed is not None:
        feed.wait(timeout=30)
    assert p.returncode in (0, 1), err.decode()
    outcome(p.returncode, out)
    hits = []
    for k in range(moments):
        sig = SIGNALS[k % 2]
        delay = work * (k + 0.5) / moments
        p, feed, ready = run.start()
        time.sleep(max(0.0, ready + delay - time.monotonic()))
        helpers = _children(p.pid)
        state = _bits(p.pid)
        p.send_signal(sig)
        sent = time.monotonic()
        out, err = p.communicate(timeout=60)
        if os.environ.get("DSDOCTOR_TEST_VERBOSE"):
            print(f"{sig.name} at {delay:.2f}/{work:.2f}s state {state}: exit {p.returncode} "
                  f"after {time.monotonic() - sent:.2f}s")  # fmt: skip
        if feed is not None:
            feed.kill()
            feed.wait(timeout=30)
        context = f"{sig.name} at {delay:.2f}s of {work:.2f}s; state {state}; stderr {err[-600:]!r}"
        assert b"Traceback" not in err and b"Exception ignored" not in err, context
        if state is not None and state[0] and not state[1]:  # working: the signal decides
            assert p.returncode == 128 + sig, context
            assert err.decode().splitlines() == [LINES[sig]], context
            assert left_behind() == [], context
            deadline = time.monotonic() + 5
            while any(_alive(h) for h in helpers) and time.monotonic() < deadline:
                time.sleep(0.01)
            assert not any(_alive(h) for h in helpers), f"helpers {helpers} alive; {context}"
            hits.append(delay)
        else:  # the outcome was decided before the signal: it is the normal, complete one
            assert p.returncode in (0, 1), context
            outcome(p.returncode, out)
    assert len(hits) >= moments // 2, f"only {len(hits)} moments hit the run ({work:.2f}s)"


def _report(code: int, out: bytes) -> None:
    assert out.strip(), "a finished check prints its report"


# -- the data: small, many chunks -------------------------------------------------------------
@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("signals")
    rng = np.random.default_rng(7)
    x = rng.normal(size=(100_000, 8))
    np.save(d / "x.npy", x)
    shards = d / "shards"
    shards.mkdir()
    for i in range(4):
        np.save(shards / f"part-{i}.npy", x[i * 25_000 : (i + 1) * 25_000])
    table = "\n".join(",".join(f"{v:.3f}" for v in row) for row in x[:8_000, :4])
    (d / "t.csv").write_text("a,b,c,d\n" + table + "\n")
    csvs = d / "csvs"
    csvs.mkdir()
    for i in range(3):
        (csvs / f"part-{i}.csv").write_text("a,b,c,d\n" + table + "\n")
    with h5py.File(d / "x.h5", "w") as f:
        f.create_dataset("x", data=x, chunks=(2_000, 8))
        lengths = rng.integers(1, 30, size=10_000)
        seq = f.create_dataset("seq", (len(lengths),), dtype=h5py.vlen_dtype(np.float32))
        seq[...] = np.array([np.ones(n, np.float32) for n in lengths], dtype=object)
    lengths = rng.integers(1, 200, size=8_000)
    np.savez(d / "seq.npz", s=rng.integers(1, 9, size=int(lengths.sum()), dtype=np.int32),
             s_lengths=lengths)  # fmt: skip
    return d


SMALL = ["--chunk-size", "64KiB"]


def test_npy(data):
    sweep(Run(["check", data / "x.npy", *SMALL]), _report)


def test_csv_file(data):
    sweep(Run(["check", data / "t.csv", *SMALL]), _report)


def test_csv_shard_folder(data):
    sweep(Run(["check", data / "csvs", *SMALL]), _report)


def test_hdf5_chunked(data):
    sweep(Run(["check", f"{data / 'x.h5'}:/x", *SMALL]), _report)


def test_hdf5_variable_length_read_in_the_guarded_child(data):
    sweep(Run(["check", f"{data / 'x.h5'}:/seq", "--chunk-size", "16KiB"]), _report)


@pytest.mark.parametrize("name", ["out.npy", "out.h5"])
def test_repair_writing_an_output(data, tmp_path, name):
    """A pad writing its output: after a signal the folder is empty; a finished run wrote the
    complete output (compared with a run nobody interrupted)."""
    folder = tmp_path / "o"
    folder.mkdir()
    out = folder / name
    # post padding: pad's warning about pre-padded rows with lengths is not this test's subject
    args = ["pad", f"{data / 'seq.npz'}:s", "--maxlen", "200", "--padding", "post",
            "--chunk-size", "32KiB", "-o", out, "--force"]  # fmt: skip
    expected = {}

    def outcome(code: int, stdout: bytes) -> None:
        got = _read_output(out)
        if not expected:
            expected.update(got)
        assert got.keys() == expected.keys()
        for k, v in expected.items():
            np.testing.assert_array_equal(got[k], v)
        for p in folder.iterdir():
            p.unlink()

    def left_behind() -> list:
        """Temporaries; an output present after a signal must be complete (then it goes)."""
        temporaries = sorted(p for p in folder.iterdir() if ".dsdoctor-tmp-" in p.name)
        if not temporaries and any(folder.iterdir()):
            outcome(0, b"")
        return temporaries

    sweep(Run(args), outcome, left_behind=left_behind)


def _read_output(out: Path) -> dict:
    if out.suffix == ".h5":
        with h5py.File(out, "r") as f:
            return {k: f[k][...] for k in f}
    return {p.name: np.load(p) if p.suffix == ".npy" else p.read_text()  # + the record beside
            for p in sorted(out.parent.iterdir())}  # fmt: skip


PRODUCER = textwrap.dedent(
    """
    import sys, time
    data = open({path!r}, "rb").read()
    for i in range(0, len(data), 1 << 18):
        sys.stdout.buffer.write(data[i : i + (1 << 18)])
        sys.stdout.flush()
        time.sleep(0.03)
    """
)


def test_stdin_from_a_slow_producer_leaves_no_spool(data, tmp_path):
    spool = tmp_path / "tmp"
    spool.mkdir()
    run = Run(["check", "-"], env={"TMPDIR": str(spool)},
              producer=PRODUCER.format(path=str(data / "x.npy")))  # fmt: skip
    sweep(run, _report, left_behind=lambda: sorted(spool.iterdir()))
    assert list(spool.iterdir()) == []


JOBS = ("import sys; import dsdoctor.engine.tasks as ex; ex.MIN_TASK_BYTES = 1 << 16; "
        "from dsdoctor.__main__ import main; sys.argv = ['dsdoctor', *sys.argv[1:]]; main()")  # fmt: skip


def test_jobs_helpers_are_killed_and_reaped(data):
    """``--jobs 2`` forks a helper (tasks cut small here): after a signal it is gone too."""
    sweep(Run(["check", data / "shards", "--jobs", "2", *SMALL], code=JOBS), _report)


# -- Dask ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A real local cluster whose workers run in a folder of their own, holding a *different*
    ``rel/data.npy`` (all NaN) from the one the client's folder holds."""
    distributed = pytest.importorskip("distributed")
    workers = tmp_path_factory.mktemp("workers")
    (workers / "rel").mkdir()
    np.save(workers / "rel" / "data.npy", np.full((100, 3), np.nan))
    here = os.getcwd()
    os.chdir(workers)
    try:
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      host="127.0.0.1", dashboard_address=None) as c:  # fmt: skip
            os.chdir(here)
            yield c.scheduler_address
    finally:
        os.chdir(here)


def test_dask_engine(data, cluster):
    sweep(Run(["check", data / "shards", "--engine", "dask", "--scheduler", cluster, *SMALL]),
          _report, moments=2)  # fmt: skip


def test_dask_reads_the_files_this_machine_names(tmp_path, cluster):
    """A relative path is the client's file, not the one in the worker's working folder (the
    report mixed the client's shape with the worker's statistics)."""
    (tmp_path / "rel").mkdir()
    np.save(tmp_path / "rel" / "data.npy", np.ones((50, 3)))
    serial = subprocess.run([sys.executable, "-m", "dsdoctor", "check", "--json", "rel/data.npy"],
                            cwd=tmp_path, capture_output=True, text=True)  # fmt: skip
    dask = subprocess.run([sys.executable, "-m", "dsdoctor", "check", "--json", "rel/data.npy",
                           "--engine", "dask", "--scheduler", cluster],
                          cwd=tmp_path, capture_output=True, text=True)  # fmt: skip
    assert dask.returncode == serial.returncode == 0, dask.stderr
    assert dask.stdout == serial.stdout
    assert '"nan": 0' in dask.stdout


def test_a_worker_that_sees_another_file_is_a_clean_error(tmp_path):
    from dsdoctor.engine.dask import absolute_tasks, scan_checked
    from dsdoctor.engine.stats import ScanOptions
    from dsdoctor.errors import SourceError

    np.save(tmp_path / "d.npy", np.ones((10, 2)))
    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        tasks, files = absolute_tasks([(("d.npy", None),)])
    finally:
        os.chdir(here)
    assert tasks == [((str(tmp_path / "d.npy"), None),)]
    assert scan_checked(tasks[0], {}, ScanOptions(), files[0]).rows == 10
    np.save(tmp_path / "d.npy", np.ones((12, 2)))  # another file at the same path
    with pytest.raises(SourceError, match=r"sees a different .*d\.npy"):
        scan_checked(tasks[0], {}, ScanOptions(), files[0])
    (tmp_path / "d.npy").unlink()
    with pytest.raises(SourceError, match=r"cannot open .*d\.npy"):
        scan_checked(tasks[0], {}, ScanOptions(), files[0])


@pytest.mark.parametrize("address", ["foo:bar:baz", "tcp://", "tcp://127.0.0.1:notaport",
                                     "tcp://[::1", "inproc://x", "tcp://h:99999", "999.1.1.1:8786"])  # fmt: skip
def test_a_malformed_scheduler_address_is_a_quick_clean_error(address, data):
    t0 = time.monotonic()
    r = run("check", data / "x.npy", "--engine", "dask", "--scheduler", address)
    assert_clean_error(r, repr(address))
    assert time.monotonic() - t0 < 10  # was exit 3 after a 20 s stall


# -- the mechanism itself ---------------------------------------------------------------------
WATCHDOG = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from dsdoctor import interrupts
    interrupts.install()
    spool = Path(sys.argv[1])
    interrupts.remove_at_exit(spool)
    spool.write_bytes(b"x")
    print("ready", flush=True)
    time.sleep(1000)  # restarted after the handler returns: only the watchdog ends it
    """
)


@pytest.mark.parametrize("sig", SIGNALS)
def test_a_call_that_never_returns_still_ends_after_the_grace(tmp_path, sig):
    spool = tmp_path / "spool"
    p = subprocess.Popen([sys.executable, "-c", WATCHDOG, str(spool)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env={**os.environ, "DSDOCTOR_SIGNAL_GRACE": "0.5"})  # fmt: skip
    assert p.stdout.readline() == b"ready\n"
    t0 = time.monotonic()
    p.send_signal(sig)
    _, err = p.communicate(timeout=30)
    assert p.returncode == 128 + sig and err.decode().splitlines() == [LINES[sig]]
    assert 0.4 < time.monotonic() - t0 < 10
    assert not spool.exists()


def test_a_second_signal_ends_at_once(tmp_path):
    spool = tmp_path / "spool"
    p = subprocess.Popen([sys.executable, "-c", WATCHDOG, str(spool)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env={**os.environ, "DSDOCTOR_SIGNAL_GRACE": "60"})  # fmt: skip
    assert p.stdout.readline() == b"ready\n"
    p.send_signal(signal.SIGINT)
    time.sleep(0.3)
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=30)
    assert p.returncode == 130 and time.monotonic() - t0 < 5
    assert err.decode().splitlines() == [LINES[signal.SIGINT]] and not spool.exists()


def test_a_signal_inside_a_callback_is_not_lost():
    """A handler that raised lost the signal when it fired inside a weakref callback or a
    ``__del__`` (Python prints "Exception ignored in …" and goes on); the flag stays set."""
    import gc
    import weakref

    from dsdoctor import interrupts

    class Thing:
        pass

    previous = interrupts.install()
    try:
        thing = Thing()
        weakref.finalize(thing, os.kill, os.getpid(), signal.SIGTERM)
        del thing
        gc.collect()
        with pytest.raises(interrupts.Interrupted) as caught:
            for _ in range(1000):  # the handler runs at the next bytecode boundary
                interrupts.check()
        assert caught.value.exit_code == 143
    finally:
        interrupts.restore(previous)
    assert signal.getsignal(signal.SIGTERM) == previous[signal.SIGTERM]
    interrupts.check()  # restored: no flag left for the next caller


def test_the_cli_in_process_leaves_the_handlers_as_it_found_them():
    before = {s: signal.getsignal(s) for s in SIGNALS}
    assert cli("--version").code == 0
    assert {s: signal.getsignal(s) for s in SIGNALS} == before


# -- stdin: nothing spooled that is not a .npy, nothing left when TMPDIR is full -----------------
def test_a_silent_producer_is_interrupted_at_once(tmp_path):
    """Nothing arrives on stdin: the wait for the header notices the signal (not the watchdog)."""
    spool = tmp_path / "tmp"
    spool.mkdir()
    run = Run(["check", "-"], env={"TMPDIR": str(spool), "DSDOCTOR_SIGNAL_GRACE": "30"},
              producer="import time; time.sleep(60)")  # fmt: skip
    p, feed, _ = run.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=30)
    feed.kill()
    feed.wait()
    assert p.returncode == 143 and err.decode().splitlines() == [LINES[signal.SIGTERM]]
    assert time.monotonic() - t0 < 3
    assert list(spool.iterdir()) == []


def test_a_stream_that_is_not_npy_is_refused_before_anything_is_spooled(tmp_path):
    spool = tmp_path / "tmp"
    spool.mkdir()
    r = run("check", "-", stdin=b"a,b\n1,2\n" * 1000, env={"TMPDIR": str(spool)})
    assert_clean_error(r, "<stdin> is not a valid .npy file")
    assert list(spool.iterdir()) == []


def test_a_full_tmpdir_is_a_clean_error_and_leaves_no_spool(tmp_path):
    """A real 1 MiB tmpfs as TMPDIR (mounting needs root; skipped otherwise): the spool of a
    3 MB stream does not fit (exit 3 and a 1 MiB spool left behind before)."""
    import io

    tiny = tmp_path / "tiny"
    tiny.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(tiny)],
                             capture_output=True)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        buf = io.BytesIO()
        np.save(buf, np.zeros(400_000))
        r = run("check", "-", stdin=buf.getvalue(), env={"TMPDIR": str(tiny)})
        assert_clean_error(r, "cannot be copied to", "the disk is full", "TMPDIR")
        assert list(tiny.iterdir()) == []
    finally:
        subprocess.run(["umount", str(tiny)], check=True)


def test_a_stream_shorter_than_its_header_says_is_truncated_not_padded(tmp_path):
    """The spool is reserved at the declared size; what was not sent is not read as zeros."""
    import io

    buf = io.BytesIO()
    np.save(buf, np.ones(10_000))
    r = run("check", "-", stdin=buf.getvalue()[:-800], env={"TMPDIR": str(tmp_path)})
    assert_clean_error(r, "truncated")
    assert list(tmp_path.iterdir()) == []


HANG = Path(__file__).resolve().parents[1] / "fuzz/crashes/hdf5/global-heap-hang.h5"


@pytest.mark.parametrize("sig", SIGNALS)
def test_a_signal_ends_a_read_that_hangs_in_the_guarded_child(sig):
    """The repository's hang file makes HDF5 loop forever in the forked reader: the parent
    waited for it (with the 300 s deadline, never ending on SIGTERM); now it kills and reaps it."""
    run = Run(["check", "--x", f"{HANG}:/seq/tokens"], env={"DSDOCTOR_READ_TIMEOUT": "300"})
    p, _, _ = run.start()
    deadline = time.monotonic() + 30
    while not _children(p.pid) and time.monotonic() < deadline:
        time.sleep(0.02)  # until the guarded child runs
    child = _children(p.pid)
    assert child, "the guarded child never started"
    time.sleep(0.3)
    t0 = time.monotonic()
    p.send_signal(sig)
    _, err = p.communicate(timeout=30)
    assert p.returncode == 128 + sig and err.decode().splitlines() == [LINES[sig]]
    assert time.monotonic() - t0 < 3  # the poll, not the 5 s watchdog
    assert not any(_alive(c) for c in child)


def test_a_forced_exit_under_a_progress_bar_gives_the_cursor_back():
    """On a terminal the bar (on stderr) hides the cursor; the watchdog's exit shows it again."""
    import pty

    code = ("import time; from dsdoctor import interrupts; from dsdoctor.render.progress import progress\n"
            "interrupts.install()\n"
            "with progress('scanning', 10**12) as advance:\n"
            "    advance(1); print('ready', flush=True); time.sleep(1000)\n")  # fmt: skip
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.environ["DSDOCTOR_SIGNAL_GRACE"] = "0.3"
        os.environ.pop("DSDOCTOR_NO_PROGRESS", None)
        os.execv(sys.executable, [sys.executable, "-c", code])
    seen = b""
    while b"ready" not in seen:
        seen += os.read(fd, 4096)
    os.kill(pid, signal.SIGTERM)
    try:
        while chunk := os.read(fd, 4096):
            seen += chunk
    except OSError:  # EIO: the terminal's other end closed
        pass
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 143
    assert b"\x1b[?25l" in seen and seen.rindex(b"\x1b[?25h") > seen.rindex(b"\x1b[?25l")
    assert LINES[signal.SIGTERM].encode() in seen
