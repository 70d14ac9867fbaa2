"""The ``dsdoctor`` command lines that findings suggest, built in one place so every fix names
a command exactly as the CLI parses it."""

from __future__ import annotations

import shlex

from ..findings import Fix, Safety
from ..sources.base import ArrayHandle
from ..units import format_shape


def output_for(h: ArrayHandle, op: str, ext: str = ".npy") -> str:
    """``data/y.npy`` + ``replicated`` → ``data/y.replicated.npy`` (beside the source)."""
    stem = h.path.name
    for suffix in (
        ".npy",
        ".npz",
        ".h5",
        ".hdf5",
        ".hdf",
        ".parquet",
        ".pq",
        ".parq",
        ".csv",
        ".tsv",
    ):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    member = h.name.strip("/").replace("/", "_").replace(",", "_") if h.name else ""
    if member and h.source != str(h.path):
        stem = f"{stem}.{member}"
    name = f"{stem}.{op}{ext}"
    return str(h.path.parent / name) if str(h.path.parent) not in ("", ".") else name


def command(*words: object) -> str:
    return " ".join(shlex.quote(str(w)) for w in ("dsdoctor", *words))


def replicate(h: ArrayHandle, *, to: int | None = None, each: int | None = None) -> Fix:
    how = ["--to", to] if to is not None else ["--each", each]
    title = (f"broadcast the single sample to all {to}" if to is not None
             else f"repeat each sample {each} times")  # fmt: skip
    return Fix(command("replicate", h.source, *how, "-o", output_for(h, "replicated")),
               Safety.ASSUMPTION, title)  # fmt: skip


def reshape(h: ArrayHandle, shape: tuple) -> Fix:
    return Fix(command("reshape", h.source, "--shape", format_shape((None, *shape)),
                       "-o", output_for(h, "reshaped")),
               Safety.LOSSLESS, f"reshape each sample to {format_shape(shape)}")  # fmt: skip


def add_axis(h: ArrayHandle, axis: str) -> Fix:
    return Fix(command("reshape", h.source, "--add-axis", axis, "-o", output_for(h, "reshaped")),
               Safety.LOSSLESS, f"add a length-1 {axis} axis")  # fmt: skip


def select_first(h: ArrayHandle, k: int) -> Fix:
    return Fix(command("select", h.source, "--first", k, "-o", output_for(h, "selected")),
               Safety.LOSSY, f"keep the first {k} features")  # fmt: skip


def select_features(h: ArrayHandle, keep: list[int]) -> Fix:
    return Fix(command("select", h.source, "--features", ",".join(map(str, keep)),
                       "-o", output_for(h, "selected")),
               Safety.LOSSY, f"keep features {','.join(map(str, keep))}")  # fmt: skip


def pad(h: ArrayHandle, *, maxlen: int | str, lossless: bool, value: object = None) -> Fix:
    extra = ["--value", value] if value is not None else []
    title = f"pad to {maxlen} timesteps with a mask" + (f", padding with {value}" if extra else "")
    return Fix(command("pad", h.source, "--maxlen", maxlen, *extra, "-o", output_for(h, "padded")),
               Safety.LOSSLESS if lossless else Safety.LOSSY, title)  # fmt: skip


def bucket(h: ArrayHandle, k: int) -> Fix:
    return Fix(command("bucket", h.source, "--buckets", k, "-o", output_for(h, "buckets", "")),
               Safety.LOSSLESS, f"split into {k} length buckets, each padded to its own maxlen")  # fmt: skip
