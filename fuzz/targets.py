"""Fuzz targets shared by the mutation tests (``tests/test_fuzz.py``, ``tests/test_options.py``,
``tests/test_spec_schema.py``) and the atheris campaigns (``make fuzz``): bytes in, and dsdoctor
must answer with a report or a :class:`~dsdoctor.errors.DsdoctorError` — never another
exception, a hang or a crash.

Targets: one per file format (the bytes are a file), ``options`` (the bytes pick a command and
one of its number/list/dtype/size options, and the rest is the value, run through the real CLI
on small fixtures: exit 0, 1 or 2 with one line, never 3) and ``spec`` (the bytes are a
``dsdoctor.toml`` checked against small arrays)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

FORMATS = {"npy": ".npy", "npz": ".npz", "hdf5": ".h5", "parquet": ".parquet", "csv": ".csv"}
TARGETS = (*FORMATS, "options", "spec")
ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"

#: command → arguments that make it run on small fixtures; {out} is a fresh output path.
COMMANDS: dict[str, list[str]] = {
    "check": ["sequences.npz:seq"],
    "inspect": ["constant.npy"],
    "plan": ["sequences.npz:seq", "--batch-size", "4"],
    "pad": ["sequences.npz:seq", "-o", "{out}.npy"],
    "mask": ["padded.npy", "-o", "{out}.npy"],
    "replicate": ["cardinality/y.npy", "-o", "{out}.npy"],
    "reshape": ["mnist_flat.npy", "--shape", "(None, 28, 28)", "-o", "{out}.npy"],
    "select": ["constant.npy", "-o", "{out}.npy"],
    "bucket": ["sequences.npz:seq", "-o", "{out}"],
    "repair": ["--x", "cardinality/x.npy", "--y", "cardinality/y.npy", "-o", "{out}"],
}


def seeds() -> dict[str, list[bytes]]:
    """Small valid files of every format, from ``fixtures/`` (the mutation starting points)."""
    f = ROOT / "fixtures"
    pick = {
        "npy": ["healthy/y.npy", "constant.npy", "nonfinite.npy", "cardinality/y.npy"],
        "npz": ["sequences.npz"],
        "hdf5": ["cardinality.h5", "train.h5"],
        "parquet": ["sequences.parquet", "frames.parquet"],
        "csv": ["iris.csv"],
    }
    return {fmt: [(f / name).read_bytes() for name in names] for fmt, names in pick.items()}


def fuzzed_options() -> list[tuple[str, str]]:
    """(command, option) for every option of COMMANDS that goes through a value parser
    (``dsdoctor.cli._options``), except the output path (a fuzzed path could be anywhere)."""
    import typer.main

    from dsdoctor.cli import _options, app

    root = typer.main.get_command(app)
    return [(name, p.opts[0]) for name in COMMANDS for p in root.commands[name].params
            if getattr(p.type, "func", None) not in (None, _options.OUTPUT)]  # fmt: skip


def run_options(data: bytes, folder: str | None = None) -> str:
    """The first byte picks (command, option), the rest is its value: run the real CLI."""
    import contextlib
    import io
    import shutil

    import typer.main

    from dsdoctor.cli import app

    if not data:
        return "error"
    pairs = fuzzed_options()
    command, option = pairs[data[0] % len(pairs)]
    value = data[1:].replace(b"\0", b"").decode("utf-8", "surrogateescape")
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        work = Path(tmp) / "w"
        shutil.copytree(FIXTURES, work, ignore=shutil.ignore_patterns("*.py", "*.md", "broken"))
        args = [a.replace("{out}", str(work / "out")) for a in COMMANDS[command]]
        args = [command, *(str(work / a) if (work / a.split(":")[0]).exists() else a for a in args),
                f"{option}={value}"]  # fmt: skip
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = typer.main.get_command(app).main(args, standalone_mode=False)
    lines = err.getvalue().strip().splitlines()
    if code == 2 and not (len(lines) == 1 and lines[0].startswith("dsdoctor: error: ")):
        raise AssertionError(f"{args}: exit 2 without one error line: {err.getvalue()!r}")
    if code not in (0, 1, 2):
        raise AssertionError(f"{args}: exit {code}: {err.getvalue()!r}")
    return "error" if code == 2 else "report"


def run_spec(data: bytes, folder: str | None = None) -> str:
    """``data`` as a ``dsdoctor.toml`` beside small arrays, checked the way ``check`` does."""
    import shutil

    from dsdoctor import api
    from dsdoctor.errors import DsdoctorError

    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        for name in ("x.npy", "y.npy"):
            shutil.copy(FIXTURES / "healthy" / name, Path(tmp) / name)
        spec = Path(tmp) / "dsdoctor.toml"
        spec.write_bytes(data)
        try:
            api.check(spec=str(spec), chunk_size=1 << 16)
        except DsdoctorError:
            return "error"
    return "report"


def spec_seeds() -> list[bytes]:
    """Valid specs using every table and key (the mutation starting points)."""
    return [
        b'[dims]\nfeatures = 3\n\n[check]\nbatch_size = 16\nmemory = "1GiB"\nmask_value = 0\n'
        b'select = ["DS1", "DS4"]\nignore = "DS5"\nfail_on = "warning"\nchunk_size = "1MiB"\n'
        b'input_shape = "(None, 3)"\nclasses = 4\n\n[arrays.x]\nsource = "x.npy"\n'
        b'shape = ["batch", "features"]\ndtype = "float32"\nmin = -10.0\nmax = 10.0\n'
        b'nullable = false\n\n[arrays.y]\nsource = "y.npy"\nshape = ["batch"]\nclasses = 4\n'
        b'role = "y"\n',
        b"[arrays.x]\nsource = 'x.npy'\n",
        b'[arrays]\nx = {source = "x.npy", shape = ["batch", 3]}\n[check]\ntimesteps = 2\n',
    ]


def option_seeds() -> list[bytes]:
    """For every fuzzed option, a valid value and a few edge values (the first byte picks it)."""
    values = [b"1", b"3", b"0", b"-1", b"p95", b"0,1", b"64MiB", b"float32", b"nan", b"1e3"]
    return [bytes([i]) + v for i in range(len(fuzzed_options())) for v in values]


#: Values a structured spec mutation puts in place of another.
SPEC_VALUES: list[object] = [
    "x", "", "x.npy", "-", "../../etc/passwd", "\x1b[2J", "(None, 3)", "(None, x)", "8GiB", "p95",
    0, -1, 1, 3, 2**63 - 1, 2**63, -(2**63), 1.5, float("nan"), float("inf"), True, False,
    [], [1], ["batch", 3], ["batch", -1], [[1]], [None], {}, {"a": 1}, {"source": "x.npy"},
]  # fmt: skip


def mutate_spec(data: bytes, rng: np.random.Generator) -> bytes:
    """A spec with one value (or table) replaced by a value of another type, or damaged bytes."""
    import tomllib

    import tomli_w

    try:
        doc = tomllib.loads(data.decode())
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return mutate(data, rng)
    if rng.integers(4) == 0:
        return mutate(data, rng)
    tables = [doc, *(v for v in doc.values() if isinstance(v, dict))]
    tables += [v for t in tables[1:] for v in t.values() if isinstance(v, dict)]
    table = tables[rng.integers(len(tables))]
    keys = [*table, "extra", "source", "shape"]
    value = SPEC_VALUES[rng.integers(len(SPEC_VALUES))]
    table[keys[rng.integers(len(keys))]] = value
    try:
        return tomli_w.dumps(doc).encode()
    except (TypeError, ValueError):  # a value TOML cannot hold (None in a list)
        return mutate(data, rng)


def random_option_value(rng: np.random.Generator) -> bytes:
    """An option value: a number-ish string built from digits, signs, separators and words."""
    pieces = ["0", "1", "9", "99999999999999999999", "-", "+", ".", ",", "e", "p", "nan", "inf",
              "GiB", "MB", " ", "float32", "int8", "object", "\x1b", "é", "(", ")"]  # fmt: skip
    return "".join(pieces[i] for i in rng.integers(len(pieces), size=rng.integers(0, 6))).encode()


def run_one(data: bytes, fmt: str, folder: str | None = None) -> str:
    """Read ``data`` as ``fmt`` the way the CLI does (inspect, then check); return the outcome.
    ``options`` and ``spec`` run those targets instead."""
    if fmt == "options":
        return run_options(data, folder)
    if fmt == "spec":
        return run_spec(data, folder)
    from dsdoctor import api
    from dsdoctor.errors import DsdoctorError

    fd, name = tempfile.mkstemp(suffix=FORMATS[fmt], dir=folder)
    try:
        with os.fdopen(fd, "wb") as fp:
            fp.write(data)
        try:
            api.inspect(name, chunk_size=1 << 16)
            api.check(name, chunk_size=1 << 16)
        except DsdoctorError:
            return "error"
        return "report"
    finally:
        os.unlink(name)


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    """One random damage: a truncation, byte flips, a run of garbage, or a header edit."""
    b = bytearray(data)
    kind = rng.integers(4)
    if kind == 0 and len(b) > 1:
        return bytes(b[: rng.integers(1, len(b))])
    if kind == 1:
        for _ in range(rng.integers(1, 9)):
            i = rng.integers(len(b))
            b[i] ^= 1 << rng.integers(8)
        return bytes(b)
    if kind == 2:
        i = rng.integers(len(b))
        b[i : i + 16] = rng.integers(0, 256, size=16, dtype=np.uint8).tobytes()
        return bytes(b)
    head = min(len(b), 256)  # headers live at the start (npy, HDF5 superblock) or the end (Parquet)
    i = rng.integers(head) if rng.integers(2) else max(0, len(b) - 1 - rng.integers(head))
    b[i] = rng.integers(256)
    return bytes(b)


def write_corpus() -> None:
    """Seed files into ``fuzz/corpus/<target>/`` for atheris (``make fuzz``)."""
    corpora = {**seeds(), "options": option_seeds(), "spec": spec_seeds()}
    for fmt, items in corpora.items():
        folder = ROOT / "fuzz" / "corpus" / fmt
        folder.mkdir(parents=True, exist_ok=True)
        for i, data in enumerate(items):
            (folder / f"seed-{i}{FORMATS.get(fmt, '')}").write_bytes(data)


if __name__ == "__main__":
    write_corpus()
