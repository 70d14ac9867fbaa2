"""Scale: shards as one dataset, --jobs, a real Dask cluster, and memory bounded by the chunk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

import dsdoctor

from .conftest import FIXTURES, Result, assert_clean_error, cli, run


def _without_sources(report: dict) -> dict:
    """Findings and stats, without the source names (which differ between layouts)."""
    (arr,) = [a for a in report["arrays"].values()]
    return {"stats": arr["stats"], "shape": arr["shape"],
            "findings": [(f["code"], f["evidence"]) for f in report["findings"]]}  # fmt: skip


@pytest.fixture
def shards_and_whole(tmp_path):
    rng = np.random.default_rng(7)
    parts = [rng.normal(size=(int(n), 5)).astype(np.float32) for n in rng.integers(50, 200, size=7)]
    parts[2][3, 1] = np.nan
    parts[5][:, 4] = 2.0
    parts[0][:, 4] = 2.0
    for p in parts[1:5] + parts[6:]:
        p[:, 4] = 2.0  # feature 4 constant across every shard
    d = tmp_path / "shards"
    d.mkdir()
    for i, p in enumerate(parts):
        np.save(d / f"part-{i:03d}.npy", p)
    np.save(tmp_path / "whole.npy", np.concatenate(parts))
    return d, tmp_path / "whole.npy"


def test_shards_equal_one_file(shards_and_whole):
    d, whole = shards_and_whole
    a = _without_sources(cli("check", "--json", d, "--batch-size", "64").json())
    b = _without_sources(cli("check", "--json", whole, "--batch-size", "64").json())
    assert a == b
    names = {f[0] for f in a["findings"]}
    assert {"DS405", "DS402", "DS501"} <= names
    assert (
        _without_sources(cli("check", "--json", f"{d}/part-*.npy", "--batch-size", "64").json())
        == b
    )


def test_jobs_equal_serial(shards_and_whole):
    d, _ = shards_and_whole
    serial = cli("check", "--json", d).json()
    parallel = run("check", "--json", d, "--jobs", "2")
    assert parallel.code == 1 and parallel.json() == serial


def _check_in_small_tasks(*args, min_task_bytes: int = 1024) -> tuple[int, dict]:
    """``dsdoctor check ARGS --json`` in a subprocess whose engine cuts tasks of
    ``min_task_bytes`` (the test data is far below the real minimum, which would keep it in one
    process)."""
    code = ("import sys; import dsdoctor.engine.tasks as ex; "
            f"ex.MIN_TASK_BYTES = {min_task_bytes}; from dsdoctor.cli import main; "
            "sys.argv = ['dsdoctor', *sys.argv[1:]]; main()")  # fmt: skip
    p = subprocess.run([sys.executable, "-c", code, "check", "--json", *map(str, args)],
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert p.returncode in (0, 1, 2), p.stderr
    return p.returncode, (json.loads(p.stdout) if p.returncode != 2 else {"error": p.stderr})


def test_jobs_in_row_ranges_equal_serial(shards_and_whole):
    """Tasks cut through the middle of shards (and spanning several) merge to the serial answer,
    with a NaN, a constant feature and the extremes wherever the cuts fall."""
    d, _ = shards_and_whole
    serial = cli("check", "--json", d).json()
    for jobs in ("2", "3"):
        for min_bytes in (1024, 2500, 10_000):
            code, parallel = _check_in_small_tasks(d, "--jobs", jobs, min_task_bytes=min_bytes)
            assert code == 1 and parallel == serial, (jobs, min_bytes)


def test_plan_cuts_equal_bytes_and_covers_every_row_once(shards_and_whole, tmp_path, monkeypatch):
    from dsdoctor.engine import tasks as engine_tasks

    d, _ = shards_and_whole
    np.save(d / "part-004.npy", np.asfortranarray(np.load(d / "part-004.npy")))  # read whole
    h = dsdoctor.load(str(d))
    monkeypatch.setattr(engine_tasks, "MIN_TASK_BYTES", 1)
    for workers in (1, 2, 3, 5):
        tasks = engine_tasks.cut_tasks(h, workers)
        assert len(tasks) <= workers * engine_tasks.MAX_TASKS_PER_WORKER
        covered: list[tuple[str, int, int]] = []
        for task in tasks:
            for src, rows in task:
                n = h.shards[h.shard_sources.index(src)].shape[0]
                lo, hi = rows or (0, n)
                assert 0 <= lo < hi <= n
                if rows is not None:
                    assert not src.endswith("part-004.npy")  # Fortran order: never cut
                covered.append((src, lo, hi))
        # in order, no gap, no overlap
        expected = iter(h.shard_sources)
        at = None
        for src, lo, hi in covered:
            if at is None or at[0] != src:
                assert at is None or at[1] == h.shards[h.shard_sources.index(at[0])].shape[0]
                assert src == next(expected) and lo == 0
            else:
                assert lo == at[1]
            at = (src, hi)
        assert next(expected, None) is None and at[1] == h.shards[-1].shape[0]
    sizes = [engine_tasks.task_bytes(h, t) for t in engine_tasks.cut_tasks(h, 2)]
    assert len(sizes) == 2 * engine_tasks.TASKS_PER_WORKER
    whole = max(engine_tasks.shard_bytes(s) for s in h.shards)
    assert max(sizes) - min(sizes) <= whole  # only the Fortran shard is not cut
    monkeypatch.setattr(engine_tasks, "MIN_TASK_BYTES", 10**12)
    assert engine_tasks.cut_tasks(h, 2) == [tuple((s, None) for s in h.shard_sources)]


@pytest.mark.parametrize(
    ("shards", "workers", "expected"),
    [
        (8, 2, [[None]] * 8),  # whole shards divide evenly: 4 tasks per worker, none cut
        (6, 2, [[None]] * 6),
        (6, 4, None),  # 6 shards do not divide among 4 workers: cut
        (4, 2, [[None]] * 4),
        (7, 2, None),
    ],
)
def test_plan_keeps_shards_whole_when_they_divide_evenly(tmp_path, monkeypatch, shards, workers,
                                                          expected):  # fmt: skip
    from dsdoctor.engine import tasks as engine_tasks

    for i in range(shards):
        np.save(tmp_path / f"p{i}.npy", np.zeros((1000, 4), dtype=np.float32))
    monkeypatch.setattr(engine_tasks, "MIN_TASK_BYTES", 1000)
    h = dsdoctor.load(str(tmp_path))
    tasks = engine_tasks.cut_tasks(h, workers)
    if expected is not None:
        assert [[rows for _, rows in t] for t in tasks] == expected
    else:  # cut into TASKS_PER_WORKER equal row ranges per worker
        assert len(tasks) == workers * engine_tasks.TASKS_PER_WORKER
        sizes = {engine_tasks.task_bytes(h, t) for t in tasks}
        assert max(sizes) - min(sizes) <= 16  # one row of 4 float32


def test_little_data_is_not_worth_a_second_process(shards_and_whole, monkeypatch):
    """Below two tasks' worth, --jobs scans in this process: no pool is started."""
    import concurrent.futures

    from dsdoctor.engine import Engine
    from dsdoctor.engine.stats import ScanOptions

    d, _ = shards_and_whole

    def no_pool(*args, **kwargs):
        raise AssertionError("a process pool was started for a few KiB")

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", no_pool)
    h = dsdoctor.load(str(d))
    stats = Engine.from_options(jobs=2).scan(h, ScanOptions())
    assert stats.rows == h.shape[0]


#: Run the CLI with the engine patched: tiny tasks, and ``scan`` replaced by ``flaky`` which
#: misbehaves on shard part-4 in the main process (WHERE = "main") or in a helper ("helper"),
#: raising an error or killing its process (HOW), and then creates the file FLAG.
FLAKY = """
import os, signal, sys, time
import dsdoctor.engine.tasks as ex
ex.MIN_TASK_BYTES = 1024
MAIN, WHERE, HOW, FLAG = os.getpid(), sys.argv.pop(1), sys.argv.pop(1), sys.argv.pop(1)
scan = ex.scan
def flaky(handle, opts, advance=None):
    here = "main" if os.getpid() == MAIN else "helper"
    if here != WHERE:  # the other side waits in its first task: the failing side takes part-4
        while not os.path.exists(FLAG):
            time.sleep(0.01)
    elif "part-4" in str(handle.path):
        open(FLAG, "w").close()
        if HOW == "raise":
            raise ex.SourceError(f"{handle.path} broke in the {here}")
        os.kill(os.getpid(), signal.SIGKILL)
    return scan(handle, opts, advance)
ex.scan = flaky
from dsdoctor.cli import main
sys.argv = ["dsdoctor", *sys.argv[1:]]
try:
    main()
finally:
    try:  # every helper was reaped
        print("left over:", os.waitpid(-1, os.WNOHANG), file=sys.stderr)
    except ChildProcessError:
        pass
"""


@pytest.mark.parametrize(
    ("where", "how", "message"),
    [
        ("main", "raise", "part-4.npy broke in the main"),
        ("helper", "raise", "part-4.npy broke in the helper"),
        ("helper", "kill", "helper process (pid"),
    ],
)
def test_a_failure_in_any_worker_is_one_clean_error(tmp_path, where, how, message):
    """A task that fails in this process or in a helper -- or a helper that is killed -- stops
    the others and is the command's one-line error, with no helper left behind."""
    d = tmp_path / "shards"
    d.mkdir()
    for i in range(6):
        np.save(d / f"part-{i}.npy", np.full((400, 4), i, dtype=np.float32))
    flag = tmp_path / "failed"
    p = subprocess.run([sys.executable, "-c", FLAKY, where, how, flag, "check", d, "--jobs", "2"],
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert_clean_error(Result(p.returncode, p.stdout, p.stderr), message)
    if how == "kill":
        assert "killed by SIGKILL" in p.stderr


def test_helpers_stop_when_the_main_process_dies(tmp_path):
    """A helper whose main process was killed stops after its current task (it does not scan
    the rest of the queue for nobody)."""
    import time

    d = tmp_path / "shards"
    d.mkdir()
    for i in range(6):
        np.save(d / f"part-{i}.npy", np.full((400, 4), i, dtype=np.float32))
    pids = tmp_path / "pids"
    code = ("import os, signal, sys, time\n"
            "import dsdoctor.engine.tasks as ex\n"
            "ex.MIN_TASK_BYTES = 1024\n"
            "MAIN, PIDS = os.getpid(), sys.argv.pop(1)\n"
            "scan = ex.scan\n"
            "def slow(handle, opts, advance=None):\n"
            "    if os.getpid() == MAIN:\n"
            "        while not os.path.exists(PIDS):\n"
            "            time.sleep(0.01)\n"
            "        os.kill(MAIN, signal.SIGKILL)\n"
            "    with open(PIDS, 'a') as f:\n"
            "        f.write(f'{os.getpid()}\\n')\n"
            "    time.sleep(0.5)\n"
            "    return scan(handle, opts, advance)\n"
            "ex.scan = slow\n"
            "from dsdoctor.cli import main\n"
            "sys.argv = ['dsdoctor', *sys.argv[1:]]\n"
            "main()\n")  # fmt: skip
    p = subprocess.run([sys.executable, "-c", code, pids, "check", d, "--jobs", "2"],
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert p.returncode == -9
    (helper,) = {int(x) for x in pids.read_text().split()}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{helper}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            break
        if state in "ZX":
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the helper is still scanning after its main process died")
    assert len(pids.read_text().split()) <= 2  # its task when the main one died, and one more


def test_jobs_without_fork_equal_serial(shards_and_whole):
    """Where fork is not used (macOS, Windows), a process pool runs the same tasks."""
    d, _ = shards_and_whole
    serial = cli("check", "--json", d).json()
    code = ("import sys; import dsdoctor.engine.tasks as ex; ex.MIN_TASK_BYTES = 1024\n"
            "import dsdoctor.engine.crew; dsdoctor.engine.crew.FORK = False\n"
            "from dsdoctor.cli import main\n"
            "if __name__ == '__main__':\n"
            "    sys.argv = ['dsdoctor', *sys.argv[1:]]; main()")  # fmt: skip
    script = d.parent / "nofork.py"
    script.write_text(code)
    p = subprocess.run([sys.executable, str(script), "check", "--json", str(d), "--jobs", "2"],
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert p.returncode == 1, p.stderr
    assert json.loads(p.stdout) == serial


def test_jobs_from_a_threaded_program_scan_in_its_process(shards_and_whole):
    """A program running other threads is neither forked (a lock held by another thread would
    stay locked forever in the copy) nor given a forkserver/spawn pool (which would run its
    unguarded top level again in every worker): it is scanned in its own process."""
    d, _ = shards_and_whole
    serial = dsdoctor.check(str(d)).to_dict()
    code = ("import json, os, sys, threading\n"
            "import dsdoctor, dsdoctor.engine.tasks as ex\n"
            "ex.MIN_TASK_BYTES = 1024\n"
            "if os.environ.get('DSDOCTOR_TEST_PARENT') != str(os.getpid()):\n"
            "    raise SystemExit('the script ran again in another process')\n"
            "def crew(*args, **kwargs):\n"
            "    raise AssertionError('forked while another thread runs')\n"
            "import dsdoctor.engine.crew; dsdoctor.engine.crew.Crew = crew\n"
            "stop = threading.Event()\n"
            "threading.Thread(target=stop.wait).start()\n"
            "try:\n"
            "    print(json.dumps(dsdoctor.check(sys.argv[1], jobs=2).to_dict()))\n"
            "finally:\n"
            "    stop.set()\n")  # fmt: skip
    script = d.parent / "threaded.py"
    script.write_text(code)
    launcher = "import os, runpy, sys; os.environ['DSDOCTOR_TEST_PARENT'] = str(os.getpid()); " \
               "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"  # fmt: skip
    p = subprocess.run([sys.executable, "-c", launcher, str(script), str(d)], capture_output=True,
                       text=True, timeout=120)  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == json.loads(json.dumps(serial))


def test_jobs_on_hdf5_shards_equal_serial(tmp_path):
    """Shards that cannot be cut by rows (HDF5) are whole tasks; forked helpers open them too."""
    rng = np.random.default_rng(3)
    for i in range(5):
        with h5py.File(tmp_path / f"s{i}.h5", "w") as f:
            f["x"] = rng.normal(size=(60 + 10 * i, 3))
    serial = cli("check", "--json", f"{tmp_path}/s*.h5:/x").json()
    _, parallel = _check_in_small_tasks(f"{tmp_path}/s*.h5:/x", "--jobs", "2")
    assert parallel == serial


def test_dask_cluster_equals_serial(shards_and_whole):
    distributed = pytest.importorskip("distributed")
    d, _ = shards_and_whole
    serial = dsdoctor.check(str(d)).to_dict()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:  # fmt: skip
        on_cluster = dsdoctor.check(
            str(d), engine="dask", scheduler=cluster.scheduler_address
        ).to_dict()
        assert json.dumps(on_cluster, sort_keys=True) == json.dumps(serial, sort_keys=True)
        r = run(
            "check",
            "--json",
            d,
            "--engine",
            "dask",
            env={"DSDOCTOR_SCHEDULER": cluster.scheduler_address},
        )
        assert r.code == 1 and r.json() == json.loads(json.dumps(serial))
        # a broken shard is a clean error raised on the worker, not a crash
        (d / "part-999.npy").write_bytes(b"\x93NUMPY garbage")
        assert_clean_error(run("check", d, "--engine", "dask", "--scheduler", cluster.scheduler_address),
                           "part-999.npy")  # fmt: skip


def test_dask_needs_a_scheduler():
    assert_clean_error(
        run("check", FIXTURES / "shards", "--engine", "dask", env={"DSDOCTOR_SCHEDULER": ""}),
        "--scheduler",
    )
    assert_clean_error(run("check", FIXTURES / "shards", "--engine", "dask", "--scheduler", "tcp://127.0.0.1:9"),
                       "cannot reach")  # fmt: skip


def test_hdf5_shards_with_a_selector(tmp_path):
    for i in range(3):
        with h5py.File(tmp_path / f"s{i}.h5", "w") as f:
            f["x"] = np.full((10, 2), i, dtype=np.float64)
            f["y"] = np.zeros(10)
    h = dsdoctor.load(f"{tmp_path}/s*.h5:/x")
    assert h.shape == (30, 2) and h.layout["shards"] == 3
    assert sorted(set(h.read()[:, 0].tolist())) == [0.0, 1.0, 2.0]


def test_shards_that_disagree_are_a_clean_error(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((3, 4)))
    np.save(tmp_path / "b.npy", np.zeros((3, 5)))
    assert_clean_error(run("check", tmp_path), "must agree")
    assert_clean_error(run("check", f"{tmp_path}/nothing-*.npy"), "no such file")
    (tmp_path / "c.h5").write_bytes(b"")
    assert_clean_error(run("check", tmp_path), "mixes formats")


def _peak_rss_mb(args: list[str], env: dict | None = None) -> tuple[int, float]:
    """Exit code and peak RSS (MiB) of ``dsdoctor ARGS`` in a fresh process. VmHWM, not
    ``ru_maxrss``: Linux carries ``ru_maxrss`` over ``exec`` from the forking process (pytest,
    which may hold hundreds of MiB), while VmHWM belongs to the new program's memory alone."""
    code = ("import re, sys; from dsdoctor.cli import main; sys.argv=['dsdoctor']+sys.argv[1:]\n"
            "try:\n    main()\nexcept SystemExit as e:\n    rc = e.code\n"
            "hwm = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)\n"
            "print(hwm, file=sys.stderr)\nsys.exit(rc)")  # fmt: skip
    p = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                       env={**os.environ, **(env or {})})  # fmt: skip
    return p.returncode, int(p.stderr.strip().splitlines()[-1]) / 1024


def test_check_memory_is_bounded_by_the_chunk_not_the_file(tmp_path):
    """A 512 MiB .npy is checked with 16 MiB chunks in far less than its size of memory."""
    n_rows = 512 * 1024**2 // (64 * 4)
    mm = np.lib.format.open_memmap(
        tmp_path / "big.npy", mode="w+", dtype=np.float32, shape=(n_rows, 64)
    )
    mm[::1000] = 1.0
    del mm
    code, small = _peak_rss_mb(["inspect", str(FIXTURES / "healthy/x.npy")])
    code, big = _peak_rss_mb(["check", str(tmp_path / "big.npy"), "--chunk-size", "16MiB"])
    assert code in (0, 1)
    assert big - small < 160, (
        big,
        small,
    )  # the file is 512 MiB; a chunk and its temporaries fit in 160


def test_parquet_memory_is_bounded_by_the_chunk_not_the_row_group(tmp_path):
    """One 128 MiB row group, checked with 8 MiB chunks: pages are read as batches need them
    (a read buffer, not whole column chunks) and pyarrow decodes a fraction of a chunk at once."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = 128 * 1024**2 // (16 * 4)
    values = np.random.default_rng(0).standard_normal((rows, 16), dtype=np.float32)
    table = pa.table({f"f{j}": values[:, j] for j in range(16)})
    pq.write_table(table, tmp_path / "big.parquet", row_group_size=rows, use_dictionary=False,
                   compression="none")  # fmt: skip
    del values, table
    code, small = _peak_rss_mb(["inspect", str(FIXTURES / "sequences.parquet")])  # + pyarrow
    code, big = _peak_rss_mb(["check", str(tmp_path / "big.parquet"), "--chunk-size", "8MiB"])
    assert code in (0, 1)
    assert big - small < 60, (big, small)  # 39 measured; whole column chunks took 169


def _fortran_npz(path, n: int, p: int, compression: int) -> None:
    """An .npz with one Fortran-ordered float32 member of shape (n, p), written run by run (one
    trailing position at a time), never whole in memory; one NaN per run."""
    import zipfile

    with (
        zipfile.ZipFile(path, "w", compression, compresslevel=1) as zf,
        zf.open("x.npy", "w", force_zip64=True) as fp,
    ):
        np.lib.format.write_array_header_1_0(
            fp, {"descr": "<f4", "fortran_order": True, "shape": (n, p)}
        )
        for j in range(p):
            run = np.full(n, j, dtype=np.float32)
            run[j * 997 % n] = np.nan
            fp.write(run.tobytes())


@pytest.mark.parametrize("compression", ["stored", "deflated"])
@pytest.mark.parametrize("width", [64, 5000], ids=["runs-read", "runs-mapped"])
def test_fortran_npz_member_memory_is_bounded_by_the_chunk(tmp_path, compression, width):
    """A 256 MiB Fortran-ordered npz member is checked with 16 MiB chunks in far less than its
    size (it was read whole: +512 MiB): a stored member is read in place, a compressed one
    through a temporary file; narrow arrays by one read per run, wide ones (more runs than
    FORTRAN_MAX_RUNS) through a memory map."""
    import zipfile

    method = zipfile.ZIP_STORED if compression == "stored" else zipfile.ZIP_DEFLATED
    _fortran_npz(tmp_path / "big.npz", 256 * 1024**2 // (width * 4), width, method)
    code, small = _peak_rss_mb(["inspect", str(FIXTURES / "healthy/x.npy")])
    code, big = _peak_rss_mb(
        ["check", str(tmp_path / "big.npz"), "--chunk-size", "16MiB"], env={"TMPDIR": str(tmp_path)}
    )
    assert code == 1  # the NaNs are findings
    assert big - small < 80, (big, small)  # 45 (narrow) and 51 (wide) measured


def test_wide_fortran_npy_memory_is_bounded_by_the_chunk(tmp_path):
    """More runs than FORTRAN_MAX_RUNS go through a memory map whose pages are dropped every
    FORTRAN_MAP_GROUP runs; dropping them once per chunk kept P × 64 KiB mapped (the kernel maps
    the pages around each touched one): the whole 256 MiB here."""
    n, p = 256 * 1024**2 // (5000 * 4), 5000
    mm = np.lib.format.open_memmap(tmp_path / "wide.npy", mode="w+", dtype=np.float32,
                                   shape=(n, p), fortran_order=True)  # fmt: skip
    mm[::100] = 1.0
    del mm
    code, small = _peak_rss_mb(["inspect", str(FIXTURES / "healthy/x.npy")])
    code, big = _peak_rss_mb(["check", str(tmp_path / "wide.npy"), "--chunk-size", "16MiB"])
    assert code in (0, 1)
    assert big - small < 80, (big, small)  # 22 measured; 288 with one release per chunk


@pytest.fixture(scope="module")
def short_sequences(tmp_path_factory):
    """256k int32 sequences of 1–32 steps (33 MiB): padded to 128 they make 160 MiB of arrays."""
    folder = tmp_path_factory.mktemp("sequences")
    rng = np.random.default_rng(11)
    for name, n in (("big", 256_000), ("tiny", 20)):
        lengths = rng.integers(1, 33, size=n)
        values = rng.integers(0, 100, size=int(lengths.sum()), dtype=np.int32)
        np.savez(folder / f"{name}.npz", s=values, s_lengths=lengths)
    return folder


@pytest.mark.parametrize(
    ("command", "out", "array_mib"),
    [
        (["pad", "--maxlen", "128"], "o.npz", 160),
        (["pad", "--maxlen", "128"], "o.parquet", 160),
        (["bucket", "--boundaries", "256", "--pad-to-boundary"], "buckets", 320),
    ],
)
def test_repair_memory_is_bounded_by_the_chunk_not_the_output(
    tmp_path, short_sequences, command, out, array_mib
):
    """Repairs to .npz and Parquet, and bucket's archives, stream: writing 160–320 MiB of arrays
    with 256 KiB chunks takes under 48 MiB more than the same command on 20 sequences (the
    imports, pyarrow's pools): +5 (npz), +20 (Parquet), +12 (bucket) measured. Assembled in
    memory, they took +179, +455 and +377."""
    peaks = {}
    for name in ("tiny", "big"):
        (tmp_path / name).mkdir()
        args = [command[0], f"{short_sequences / name}.npz:s", *command[1:]]
        code, peaks[name] = _peak_rss_mb([*args, "-o", str(tmp_path / name / out),
                                          "--chunk-size", "256KiB"])  # fmt: skip
        assert code == 0
    written = sum(p.stat().st_size for p in (tmp_path / "big").rglob("*") if p.is_file())
    assert written > (100 << 20) or out.endswith(".parquet")  # Parquet compresses the padding
    assert peaks["big"] - peaks["tiny"] < 48, (peaks, array_mib)


@pytest.mark.parametrize("kind", ["unpicklable", "exit"])
def test_a_helper_bug_is_an_internal_error_not_a_data_error(shards_and_whole, kind):
    """An exception a helper cannot send back, or a helper calling exit(), is a bug: exit 3 with
    its text, never exit 2 (bad data) or the helper's exit code."""
    d, _ = shards_and_whole
    code = ("import os, sys, threading\n"
            "import dsdoctor.engine.tasks as ex\n"
            "ex.MIN_TASK_BYTES = 1024\n"
            "class Unpicklable(Exception):\n"
            "    def __init__(self, msg):\n"
            "        super().__init__(msg); self.lock = threading.Lock()\n"
            "import dsdoctor.engine.crew as crew\n"
            "real, main = crew.scan_task, os.getpid()\n"
            "def patched(*args):\n"
            "    if os.getpid() != main:\n"
            f"        raise Unpicklable('boom') if {kind!r} == 'unpicklable' else SystemExit(5)\n"
            "    return real(*args)\n"
            "crew.scan_task = patched\n"
            "from dsdoctor.cli import main as cli_main\n"
            "sys.argv = ['dsdoctor', 'check', sys.argv[1], '--jobs', '2', '--json']\n"
            "cli_main()\n")  # fmt: skip
    p = subprocess.run([sys.executable, "-c", code, str(d)], capture_output=True, text=True,
                       timeout=120)  # fmt: skip
    assert p.returncode == 3, (p.returncode, p.stderr)
    assert "a --jobs helper" in p.stderr and "Traceback" not in p.stderr
