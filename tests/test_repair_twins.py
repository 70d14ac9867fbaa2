"""Each repair's two entries — in memory (``dsdoctor.pad(data, …)``) and file to file (the CLI,
``dsdoctor pad SRC -o OUT``) — share one validation: every bad argument is refused by both with
the same typed error and the same message (issue 12: ``replicate(x, to=0)`` returned an empty
array while the CLI refused ``--to 0``; in-memory ``bucket`` raised a bare ValueError)."""

from __future__ import annotations

import re

import numpy as np
import pytest

import dsdoctor
from dsdoctor.errors import DsdoctorError
from dsdoctor.repairs.table import REPAIRS

from .conftest import assert_clean_error, run

SEQS = [[1, 2, 3], [4], [5, 6]]
WIDE = [[1, 2, 300], [4]]
DENSE = np.arange(12).reshape(4, 3)
ONE = np.arange(3).reshape(1, 3)

#: (repair, data, keyword arguments): each refused in memory and on the command line.
CASES = [
    ("pad", SEQS, {"padding": "mid"}),
    ("pad", SEQS, {"truncating": "sideways"}),
    ("pad", SEQS, {"maxlen": -1}),
    ("pad", SEQS, {"maxlen": "p0"}),
    ("pad", SEQS, {"dtype": "str"}),
    ("pad", SEQS, {"value": 0.5}),
    ("pad", WIDE, {"dtype": "int8"}),
    ("pad", DENSE, {}),
    ("mask", np.arange(4), {}),
    ("mask", SEQS, {}),
    ("replicate", ONE, {"to": 0}),
    ("replicate", ONE, {"each": 0}),
    ("replicate", DENSE, {"to": 6}),
    ("replicate", DENSE, {"to": 4}),
    ("replicate", DENSE, {"to": 8}),
    ("replicate", ONE, {}),
    ("replicate", ONE, {"to": 2, "each": 2}),
    ("replicate", SEQS, {"each": 2}),
    ("reshape", DENSE, {"shape": "(None, 5)"}),
    ("reshape", DENSE, {"shape": "(3, 3)"}),
    ("reshape", DENSE, {"add_axis": "sideways"}),
    ("reshape", DENSE, {}),
    ("select", DENSE, {"features": [9]}),
    ("select", DENSE, {"first": 0}),
    ("select", DENSE, {"first": 7}),
    ("select", DENSE, {"columns": "a,b"}),
    ("select", DENSE, {}),
    ("select", np.arange(4), {"first": 1}),
    ("bucket", SEQS, {"buckets": 0}),
    ("bucket", SEQS, {"boundaries": [3, 2]}),
    ("bucket", SEQS, {"boundaries": [0, 2]}),
    ("bucket", SEQS, {}),
    ("bucket", SEQS, {"buckets": 2, "boundaries": [2]}),
    ("bucket", SEQS, {"buckets": 2, "padding": "mid"}),
    ("bucket", SEQS, {"buckets": 2, "value": 0.5}),
    ("bucket", DENSE, {"buckets": 2}),
    ("shift", DENSE.astype(np.float32), {}),
    ("shift", DENSE > 3, {}),
    ("shift", DENSE - 5, {}),
    ("shift", DENSE, {"by": 0}),
    ("shift", DENSE, {"vocab_size": 5}),
    ("shift", DENSE, {"vocab_size": 0}),
    ("shift", np.array([[np.iinfo(np.int64).max]]), {}),
    ("window", DENSE, {}),
    ("window", DENSE, {"length": 0}),
    ("window", DENSE, {"length": 2, "stride": 0}),
    ("window", DENSE, {"length": 2, "sampling_rate": 0}),
    ("window", DENSE, {"length": 5}),
    ("window", DENSE, {"length": 2, "horizon": 1}),
    ("window", DENSE, {"length": 2, "split": 2}),
    ("window", DENSE, {"length": 2, "gap": 1}),
    ("window", DENSE, {"length": 3, "split": 0.5}),
    ("window", SEQS, {"length": 2}),
]


def _save(data, folder) -> str:
    """The same data as a file: a list of sequences as an npz of values + lengths."""
    if isinstance(data, list):
        path = folder / "s.npz"
        np.savez(
            path, s=np.concatenate([np.asarray(q) for q in data]), s_lengths=[len(q) for q in data]
        )
        return f"{path}:s"
    path = folder / "a.npy"
    np.save(path, data)
    return str(path)


def _argv(kwargs) -> list[str]:
    argv = []
    for key, value in kwargs.items():
        argv += [
            f"--{key.replace('_', '-')}",
            ",".join(map(str, value)) if isinstance(value, list) else str(value),
        ]
    return argv


def _cli_message(line: str, op: str) -> str:
    """The CLI's one line as the API's message: click wraps a value its option parser refuses
    as ``Invalid value for '--to': REASON (see `dsdoctor OP --help`)``, the API as ``--to: REASON``."""
    line = line.removeprefix("dsdoctor: error: ")
    m = re.fullmatch(rf"Invalid value for '(--[a-z-]+)': (.*) \(see `dsdoctor {op} --help`\)", line)
    return f"{m[1]}: {m[2]}" if m else line


@pytest.mark.parametrize(("op", "data", "kwargs"), CASES, ids=[f"{c[0]}-{'-'.join(map(str, c[2].items())) or 'none'}" for c in CASES])  # fmt: skip
def test_the_two_entries_refuse_alike(tmp_path, op, data, kwargs):
    with pytest.raises(DsdoctorError) as memory:
        getattr(dsdoctor, op)(data, **kwargs)
    src = _save(data, tmp_path)
    r = run(op, src, *_argv(kwargs), "-o", tmp_path / ("out" if op == "bucket" else "out.npy"))
    assert_clean_error(r)
    source = dsdoctor.load(src).source
    assert _cli_message(r.stderr.strip(), op).replace(source, "<array>") == str(memory.value)
    assert type(memory.value).__name__ != "DsdoctorError"  # a typed error, never the base
    assert not any((tmp_path / name).exists() for name in ("out", "out.npy"))


def test_the_file_entry_refuses_alike_in_process(tmp_path):
    """The file entry called from Python (not only through the CLI's parsers) refuses ``to=0``
    as the in-memory entry does: the validation lives below the CLI."""
    np.save(tmp_path / "y.npy", ONE)
    with pytest.raises(DsdoctorError) as memory:
        dsdoctor.replicate(ONE, to=0)
    with pytest.raises(DsdoctorError) as file:
        dsdoctor.replicate_file(str(tmp_path / "y.npy"), str(tmp_path / "o.npy"), to=0)
    assert type(file.value) is type(memory.value) and str(file.value) == str(memory.value)


def test_one_table_serves_the_api_and_the_cli():
    """``dsdoctor.<name>`` and ``dsdoctor.<name>_file`` are the table's entries, and every row
    is a CLI command."""
    from typer.main import get_command

    from dsdoctor.cli import app

    commands = set(get_command(app).commands)  # type: ignore[attr-defined]
    for name, repair in REPAIRS.items():
        assert getattr(dsdoctor, name) is repair.memory
        assert getattr(dsdoctor, f"{name}_file") is repair.file
        assert name in commands
        assert name in dsdoctor.__all__ and f"{name}_file" in dir(dsdoctor)
