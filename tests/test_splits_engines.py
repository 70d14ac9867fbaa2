"""``check --split`` on every engine: the split pass cut into tasks (row ranges of each split's
``.npy`` files, shards of a folder) run by ``--jobs 2``'s forked helpers and by the workers of a
real local Dask cluster, its partial statistics merged in row order, gives the findings and the
JSON ``splits`` section of the serial pass -- on seeded splits with planted duplicates, timestep
overlap of windows, an unseen label, a shifted feature and a group leak, and on a clean pair."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import dsdoctor
from dsdoctor.engine import splits as S

from .conftest import cli

#: every test of this file leaves no spilled hash keys behind (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("no_spill_left")

#: Where the planted duplicates sit: training rows and the validation rows holding their copies.
TRAIN_ROWS = [10, 100, 2_500, 2_501, 3_333, 4_000, 5_999]
VAL_ROWS = [0, 3, 999, 1_000, 1_500, 1_998, 1_999]
UNSEEN = 13  # validation rows labelled 9, a label the training split does not have


def _pair(tmp: Path, name: str, x: np.ndarray, y: np.ndarray) -> str:
    np.save(tmp / f"x_{name}.npy", x)
    np.save(tmp / f"y_{name}.npy", y)
    return f"{name}={tmp / f'x_{name}.npy'},{tmp / f'y_{name}.npy'}"


@pytest.fixture(scope="module")
def cases(tmp_path_factory) -> dict[str, tuple[list[str], dict]]:
    """name → (--split values, check keywords)."""
    tmp = tmp_path_factory.mktemp("splits")
    rng = np.random.default_rng(17)
    xt = rng.normal(size=(6_000, 4)).astype(np.float32)
    yt = rng.integers(0, 4, 6_000)
    xv = rng.normal(size=(2_000, 4)).astype(np.float32)
    xv[:, 2] = xv[:, 2] * 2 + 3  # a shifted feature
    yv = rng.integers(0, 4, 2_000)
    yv[200 : 200 + UNSEEN] = 9
    xv[VAL_ROWS], yv[VAL_ROWS] = xt[TRAIN_ROWS], yt[TRAIN_ROWS]  # planted duplicates
    clean = [_pair(tmp, name, rng.normal(size=(n, 4)).astype(np.float32), rng.integers(0, 3, n))
             for name, n in (("ctrain", 6_000), ("cval", 2_000))]  # fmt: skip
    out: dict[str, tuple[list[str], dict]] = {
        "leaky": ([_pair(tmp, "train", xt, yt), _pair(tmp, "val", xv, yv)], {}),
        "clean": (clean, {}),
    }
    t = np.arange(3_000)[:, None] / np.array([7.0, 11.0, 13.0])  # stationary: no drift over time
    series = (np.sin(t) + rng.normal(scale=0.3, size=(3_000, 3))).astype(np.float32)
    np.save(tmp / "s.npy", series)
    for args in (["--split", "0.8", "--gap", "10", "-o", tmp / "w.npy"], ["-o", tmp / "all.npy"]):
        assert cli("window", tmp / "s.npy", "--length", "10", *args).code == 0
    val = f"val={tmp / 'w.val.npy'}"
    out["windows"] = ([f"train={tmp / 'all.npy'}", val], {})
    # stride-1 windows split at random, no provenance: compared by their timestep rows' values
    w = np.lib.stride_tricks.sliding_window_view(series[:800], 10, axis=0).transpose(0, 2, 1)
    w = np.ascontiguousarray(w)[rng.permutation(791)]
    np.save(tmp / "rw_train.npy", w[:600])
    np.save(tmp / "rw_val.npy", w[600:])
    out["windows_values"] = (
        [f"train={tmp / 'rw_train.npy'}", f"val={tmp / 'rw_val.npy'}"],
        {"timesteps": 10},
    )
    out["windows_clean"] = ([f"train={tmp / 'w.npy'}", val], {})

    def table(n: int, users: np.ndarray, name: str, files: int = 1) -> str:
        df = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "c"])
        df["label"], df["user"] = rng.integers(0, 2, n), users
        if files == 1:
            df.to_parquet(tmp / f"{name}.parquet")
            return f"{name}={tmp / f'{name}.parquet'}"
        (tmp / name).mkdir()
        for i, part in enumerate(np.array_split(np.arange(n), files)):
            df.iloc[part].to_parquet(tmp / name / f"part-{i}.parquet", index=False)
        return f"{name}={tmp / name}"

    seqs = [rng.integers(1, 1_000, rng.integers(5, 30)) for _ in range(1_500)]
    for i, j in ((3, 1_000), (700, 1_400)):
        seqs[j] = seqs[i].copy()  # sequences in both splits
    for name, part in (("qtrain", seqs[:900]), ("qval", seqs[900:])):
        np.savez(
            tmp / f"{name}.npz", tokens=np.concatenate(part), tokens_lengths=[len(q) for q in part]
        )
    out["sequences"] = ([f"{n}={tmp / f'{n}.npz'}" for n in ("qtrain", "qval")], {})

    users = np.concatenate([np.full(20, 5), np.full(30, 77), np.arange(550) % 50 + 100])
    groups = {"target": "label", "group": "user"}
    out["groups"] = (  # folders of Parquet files: each file a piece the workers read
        [table(3_000, np.arange(3_000) % 100, "gtrain", 3), table(600, users, "gval", 2)],
        groups,
    )
    out["groups_file"] = (  # one file each: hashed in this process
        [table(3_000, np.arange(3_000) % 100, "ftrain"), table(600, users, "fval")],
        groups,
    )
    # stride-1 windows of one feature saved (N, L), split at random: compared by runs of
    # timesteps (--timesteps L)
    flat = np.ascontiguousarray(np.lib.stride_tricks.sliding_window_view(series[:900, 0], 10))[
        rng.permutation(891)
    ]
    np.save(tmp / "uw_train.npy", flat[:700])
    np.save(tmp / "uw_val.npy", flat[700:])
    out["univariate"] = (
        [f"train={tmp / 'uw_train.npy'}", f"val={tmp / 'uw_val.npy'}"],
        {"timesteps": 10},
    )
    out["text"], out["text_file"] = text_tables(tmp, rng)
    return out


#: Validation rows that copy a training row (text and date columns too) and rows that copy one
#: but for the text column: only the first are duplicates.
TEXT_COPIES, TEXT_CHANGED = 7, 5


def text_tables(tmp: Path, rng) -> tuple[tuple[list[str], dict], tuple[list[str], dict]]:
    """Tables with a text and a date input column and a ``user`` group column (not an input),
    as folders of Parquet files (pieces the workers read, their text columns too) and as one
    file each (hashed here); the validation split holds :data:`TEXT_COPIES` copies of training
    rows and :data:`TEXT_CHANGED` copies whose ``city`` alone differs."""
    cities = np.array(["Oslo", "Lima", "Pune", "Kyiv"])

    def frame(n: int, users) -> pd.DataFrame:
        df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.integers(0, 3, n).astype(np.float64)})
        df["city"] = cities[rng.integers(0, 4, n)]
        df["day"] = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 30, n), "D")
        df["label"], df["user"] = rng.integers(0, 2, n), users
        return df

    train = frame(3_000, np.arange(3_000) % 100)
    val = frame(600, np.arange(600) % 40 + 500)
    rows = np.arange(0, 3_000, 250)[: TEXT_COPIES + TEXT_CHANGED]
    copies = train.iloc[rows].copy()
    copies.loc[copies.index[TEXT_COPIES:], "city"] = copies.city.iloc[TEXT_COPIES:].map(
        {"Oslo": "Lima", "Lima": "Pune", "Pune": "Kyiv", "Kyiv": "Oslo"}
    )
    val = pd.concat([val, copies], ignore_index=True)
    assert (
        len(val.drop(columns="user").merge(train.drop(columns="user").drop_duplicates()))
        == TEXT_COPIES
    )
    out = []
    for files in (3, 1):
        split = []
        for name, df in (("train", train), ("val", val)):
            folder = tmp / f"text{files}_{name}"
            if files == 1:
                df.to_parquet(f"{folder}.parquet", index=False)
                split.append(f"{name}={folder}.parquet")
                continue
            folder.mkdir()
            for i, part in enumerate(np.array_split(np.arange(len(df)), files)):
                df.iloc[part].to_parquet(folder / f"part-{i}.parquet", index=False)
            split.append(f"{name}={folder}")
        out.append((split, {"target": "label", "group": "user"}))
    return out[0], out[1]


#: Every case, compared on every engine.
ENGINE_CASES = ["leaky", "windows", "windows_values", "univariate", "sequences", "groups",
                "groups_file", "text", "text_file", "clean", "windows_clean"]  # fmt: skip
#: Cases whose splits are hashed in this process whatever the engine: one table file; sequences
#: in an .npz file.
HERE = ("groups_file", "text_file", "sequences")


def _serial(cases, name: str) -> dict:
    split, options = cases[name]
    return dsdoctor.check(split=split, **options).to_dict()


#: ``check --json`` in a fresh process (no thread running: --jobs forks) whose tasks are small,
#: every task of the split pass logging the pid that ran it.
JOBS = """
import os, sys
import dsdoctor.engine.tasks as t
import dsdoctor.engine.splits as s
t.MIN_TASK_BYTES = 1024
log, scan = sys.argv[1], s.scan_split_task
def logged(task, options, work):
    with open(log, "a") as f:
        f.write(f"{os.getpid()}\\n")
    return scan(task, options, work)
s.scan_split_task = logged
from dsdoctor.cli import main
sys.argv = ["dsdoctor", *sys.argv[2:]]
main()
"""


def _jobs(cases, name: str, tmp_path: Path, memory: int | None = None) -> tuple[dict, list[str]]:
    split, options = cases[name]
    args = ["check", "--json", "--jobs", "2", *(a for s in split for a in ("--split", s))]
    args += [a for k, v in options.items() for a in (f"--{k}", str(v))]
    log = tmp_path / f"{name}.log"
    code = JOBS if memory is None else JOBS.replace("t.MIN_TASK_BYTES = 1024",
                                                    f"t.MIN_TASK_BYTES = 1024; s.DEFAULT_HASH_MEMORY = {memory}")  # fmt: skip
    p = subprocess.run([sys.executable, "-c", code, str(log), *args], capture_output=True,
                       text=True, timeout=120)  # fmt: skip
    assert p.returncode in (0, 1), p.stderr
    return json.loads(p.stdout), log.read_text().split() if log.exists() else []


def _found(report: dict) -> dict[str, dict]:
    return {f["code"]: f["evidence"] for f in report["findings"] if f["code"].startswith("DS80")}


def test_the_planted_problems_are_found_serially(cases):
    leaky = _found(_serial(cases, "leaky"))
    assert leaky["DS803"]["b_first_rows"] == VAL_ROWS[:5]
    assert leaky["DS803"]["a_first_rows"] == TRAIN_ROWS[:5]
    assert leaky["DS802"]["unseen"] == [[9, UNSEEN]]
    assert [d["feature"] for d in leaky["DS806"]["drifted"]] == ["feature 2"]
    windows = _found(_serial(cases, "windows"))
    assert windows["DS804"]["unit"] == "timesteps" and windows["DS804"]["shared"] > 0
    sequences = _found(_serial(cases, "sequences"))["DS803"]
    assert (sequences["b_first_rows"], sequences["a_first_rows"]) == ([100, 500], [3, 700])
    values = _found(_serial(cases, "windows_values"))
    assert "DS803" not in values and values["DS804"]["share"] > 0.95
    for name in ("groups", "groups_file"):
        groups = _found(_serial(cases, name))
        assert (groups["DS805"]["shared"], groups["DS805"]["rows"]) == (2, 50)
    for name in ("clean", "windows_clean"):
        assert _found(_serial(cases, name)) == {}
    univariate = _found(_serial(cases, "univariate"))
    assert univariate["DS804"]["share"] > 0.95 and univariate["DS804"]["b_steps"] > 800
    for name in ("text", "text_file"):
        report = _serial(cases, name)
        text = _found(report)
        assert text["DS803"]["b_rows"] == TEXT_COPIES, name  # the changed city tells 5 apart
        # the copies keep their users (training rows 0, 250 …: users 0 and 50)
        assert (text["DS805"]["shared"], text["DS805"]["rows"]) == (2, TEXT_COPIES + TEXT_CHANGED)
        assert report["splits"]["splits"]["train"]["columns"] == ["a", "b"]  # numbers; no user


@pytest.mark.parametrize("name", ENGINE_CASES)
def test_jobs_2_runs_the_split_pass_in_parts_with_the_same_report(cases, name, tmp_path):
    serial = _serial(cases, name)
    report, pids = _jobs(cases, name, tmp_path)
    assert report == serial
    if name not in HERE:  # hashed in this process (said in README)
        assert len(pids) >= 4 and len(set(pids)) >= 2, pids  # the parts, in helpers too
    else:
        assert pids == []


#: Hash keys held before spilling, small enough that every split keeps its keys in bucket files
#: and each task's part spills too.
TINY_MEMORY = 20_000


def test_spilled_keys_in_parts_give_the_same_report(cases, tmp_path, monkeypatch):
    """Every split keeping its keys, spilled to bucket files (in the helpers' parts too): the
    parts' files are merged here, and the report is the serial one."""
    monkeypatch.setattr(S, "DEFAULT_HASH_MEMORY", TINY_MEMORY)
    serial = _serial(cases, "leaky")
    assert _found(serial)["DS803"]["b_first_rows"] == VAL_ROWS[:5]
    report, pids = _jobs(cases, "leaky", tmp_path, TINY_MEMORY)
    assert report == serial and len(set(pids)) >= 2


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as c:  # fmt: skip
        yield c


def test_a_local_dask_cluster_runs_the_split_pass_in_parts_with_the_same_report(
    cases, cluster, monkeypatch, tmp_path
):
    import os

    import dsdoctor.engine.tasks as tasks

    monkeypatch.setattr(tasks, "MIN_TASK_BYTES", 1024)
    log = tmp_path / "tasks.log"
    run = S.scan_split_task

    def logged(task, options, work):  # sent to the workers (cloudpickle): logs where it runs
        with open(log, "a") as f:
            f.write(f"{os.getpid()}\n")
        return run(task, options, work)

    monkeypatch.setattr(S, "scan_split_task", logged)
    with monkeypatch.context() as m:  # the workers' parts spilled: read back, sent here
        m.setattr(S, "DEFAULT_HASH_MEMORY", TINY_MEMORY)
        serial = _serial(cases, "leaky")
        assert dsdoctor.check(split=cases["leaky"][0], engine="dask",
                              scheduler=cluster.scheduler_address).to_dict() == serial  # fmt: skip
    for name in ENGINE_CASES:
        split, options = cases[name]
        serial = _serial(cases, name)
        log.unlink(missing_ok=True)
        on_cluster = dsdoctor.check(split=split, engine="dask", scheduler=cluster.scheduler_address,
                                    **options).to_dict()  # fmt: skip
        assert on_cluster == serial, name
        pids = log.read_text().split() if log.exists() else []
        if name in HERE:
            assert pids == []
        else:  # each split's pass in parts: 2 workers, 2 tasks each (a folder: its files)
            assert len(pids) >= 4 and str(os.getpid()) not in pids, (name, pids)


def test_merging_parts_moves_spilled_keys_and_shifts_their_rows():
    """The merge of two spilled parts holds every key once, at its row in the whole split, and
    leaves no part's files behind."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3_000, 3))
    whole = S.SplitStats()
    whole.update(x, S.SplitOptions(memory_bytes=2_000))
    parts = []
    for lo, hi in ((0, 1_000), (1_000, 1_001), (1_001, 3_000)):
        p = S.SplitStats()
        p.update(x[lo:hi], S.SplitOptions(memory_bytes=2_000))
        parts.append(p)
    folders = [p.x_keys.spill for p in parts[1:] if p.x_keys.spill is not None]
    merged = S.merge_parts(parts)
    assert (merged.x_keys.rows_sorted() == whole.x_keys.rows_sorted()).all()
    assert folders and not any(Path(f).exists() for f in folders)
    merged.close()
    whole.close()


@pytest.mark.parametrize("workers", [2, 3])
def test_tasks_of_shards_take_the_same_rows_of_a_single_target_file(tmp_path, monkeypatch, workers):
    """Inputs in a folder of .npy shards of unequal sizes, targets in one .npy file: every task
    reads the targets' rows of its own shards, and the parts merge to the single pass."""
    import dsdoctor.engine.tasks as tasks
    from dsdoctor.sources import open_array

    monkeypatch.setattr(tasks, "MIN_TASK_BYTES", 1024)
    rng = np.random.default_rng(5)
    (tmp_path / "x").mkdir()
    sizes = [700, 1_300, 400, 1_600]
    x = rng.integers(0, 3, (sum(sizes), 3)).astype(np.float32)  # many duplicate rows
    y = rng.integers(0, 5, sum(sizes))
    for i, (lo, n) in enumerate(zip(np.cumsum([0, *sizes[:-1]]), sizes, strict=True)):
        np.save(tmp_path / "x" / f"part-{i}.npy", x[lo : lo + n])
    np.save(tmp_path / "y.npy", y)
    hx, hy = open_array(str(tmp_path / "x")), open_array(str(tmp_path / "y.npy"))
    tasks_, weights = S.split_tasks(hx, {"y": hy}, workers)
    assert len(tasks_) >= 2 and sum(weights) == x.nbytes
    covered = []
    for t in tasks_:
        m = len(t) // 2
        covered += [r for _, r in t[m:]]
    assert covered[0][0] == 0 and covered[-1][1] == len(y)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(covered))
    work = S.SplitWork(S.SplitOptions(), ("y",), 4_096)
    merged = S.merge_parts([S.scan_split_task(t, {}, work) for t in tasks_])
    whole = S.scan_split(hx, S.SplitOptions(), hy, chunk_bytes=4_096)
    assert merged.rows == whole.rows == len(y) and merged.classes == whole.classes
    assert (merged.xy_keys.rows_sorted() == whole.xy_keys.rows_sorted()).all()
    assert S.split_tasks(hx, {"y": open_array(str(tmp_path / "x" / "part-0.npy"))}, 2) is None
    if workers == 3:  # cut inside shards: some input segments are row ranges too
        assert any(r is not None for t in tasks_ for _, r in t[: len(t) // 2])


#: ``check`` in a fresh process whose hash keys spill at once, every spill folder made logged
#: (with the pid that made it); ``FAIL`` set: the third task of the split pass raises.
SPILLING = """
import fcntl, os, sys, tempfile
import dsdoctor.engine.tasks as t
import dsdoctor.engine.splits as s
t.MIN_TASK_BYTES = 1024
s.DEFAULT_HASH_MEMORY = 1_000
log, made, scan = sys.argv[1], tempfile.mkdtemp, s.scan_split_task
def logged(*args, **kwargs):
    path = made(*args, **kwargs)
    with open(log, "a") as f:
        f.write(f"{os.getpid()} {path}\\n")
    return path
tempfile.mkdtemp = logged
def failing(task, options, work):
    with open(log + ".tasks", "a+") as f:  # two helpers count at once: under a lock
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write("task\\n")
        f.flush()
        f.seek(0)
        n = len(f.read().split())
    if n == 3:
        raise RuntimeError("a task failed")
    return scan(task, options, work)
if os.environ.get("FAIL"):
    s.scan_split_task = failing
from dsdoctor.cli import main
sys.argv = ["dsdoctor", *sys.argv[2:]]
main()
"""


@pytest.mark.parametrize(
    ("jobs", "fail"), [([], False), (["--jobs", "2"], False), (["--jobs", "2"], True)]
)
def test_a_spilling_check_leaves_no_spilled_keys_in_its_tmpdir(cases, tmp_path, no_spill_left,
                                                               jobs, fail):  # fmt: skip
    """Every split's keys spilled to bucket files (and, with --jobs 2, each helper's part): the
    folders are gone when the run ends, also when a task of the pass fails midway (its part and
    the parts not yet merged never come back to be closed)."""
    import os

    log = tmp_path / "made.log"
    args = ["check", "--json", *jobs, *(a for s in cases["leaky"][0] for a in ("--split", s))]
    env = {**os.environ, "TMPDIR": str(no_spill_left), **({"FAIL": "1"} if fail else {})}
    p = subprocess.run([sys.executable, "-c", SPILLING, str(log), *args], capture_output=True,
                       text=True, timeout=120, env=env)  # fmt: skip
    made = [line.split() for line in log.read_text().splitlines()]
    assert len(made) >= 3, (made, p.stderr)  # the run's folder and its tables' folders
    if fail:
        assert p.returncode == 3 and "a task failed" in p.stderr, p.stderr
    else:
        assert p.returncode == 1, p.stderr
        assert json.loads(p.stdout)["findings"]
    if jobs:
        assert len({pid for pid, _ in made}) >= 2  # the helpers spilled too
    assert not [path for _, path in made if Path(path).exists()]
    # (no_spill_left: nothing named dsdoctor-hashes-* is left in the run's TMPDIR)


def test_a_pass_killed_by_an_exception_leaves_no_spilled_keys(cases, monkeypatch, no_spill_left):
    """An exception in the middle of a split's pass (after its keys and the smaller split's
    spilled): it reaches the caller, and no spilled keys stay behind."""
    monkeypatch.setattr(S, "DEFAULT_HASH_MEMORY", 1_000)
    made: list[str] = []
    folder = S._spill_folder

    def logged() -> str:
        made.append(folder())
        return made[-1]

    monkeypatch.setattr(S, "_spill_folder", logged)
    update, calls = S.SplitStats.update, []

    def failing(self, *args, **kwargs):
        calls.append(1)
        if self.rows > 0 and self.x_keys.spill is not None:  # the second chunk, spilled
            raise RuntimeError("killed mid-pass")
        return update(self, *args, **kwargs)

    monkeypatch.setattr(S.SplitStats, "update", failing)
    with pytest.raises(RuntimeError, match="killed mid-pass"):
        dsdoctor.check(split=cases["leaky"][0], chunk_size="16KiB")
    assert len(made) >= 2 and not any(Path(m).exists() for m in made)
