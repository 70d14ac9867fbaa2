"""The ``dsdoctor`` command lines that findings suggest, built in one place so every fix names
a command exactly as the CLI parses it, and carries the same repair as data for ``repair``."""

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


def _fix(
    op: str, h: ArrayHandle, safety: Safety, title: str, suffix: str, ext: str = ".npy", **options
) -> Fix:
    out = output_for(h, suffix, ext)
    words: list[object] = []
    for key, value in options.items():
        words += [f"--{key.replace('_', '-')}", value]
    action = {"op": op, "source": h.source, "out": out, "options": options}
    return Fix(command(op, h.source, *words, "-o", out), safety, title, action)


def replicate(h: ArrayHandle, *, to: int | None = None, each: int | None = None) -> Fix:
    if to is not None:
        return _fix(
            "replicate",
            h,
            Safety.ASSUMPTION,
            f"broadcast the single sample to all {to}",
            "replicated",
            to=to,
        )
    return _fix(
        "replicate",
        h,
        Safety.ASSUMPTION,
        f"repeat each sample {each} times",
        "replicated",
        each=each,
    )


def reshape(h: ArrayHandle, shape: tuple) -> Fix:
    return _fix("reshape", h, Safety.LOSSLESS, f"reshape each sample to {format_shape(shape)}", "reshaped",
                shape=format_shape((None, *shape)))  # fmt: skip


def add_axis(h: ArrayHandle, axis: str) -> Fix:
    return _fix(
        "reshape", h, Safety.LOSSLESS, f"add a length-1 {axis} axis", "reshaped", add_axis=axis
    )


def select_first(h: ArrayHandle, k: int) -> Fix:
    return _fix("select", h, Safety.LOSSY, f"keep the first {k} features", "selected", first=k)


def select_features(h: ArrayHandle, keep: list[int]) -> Fix:
    return _fix("select", h, Safety.LOSSY, f"keep features {','.join(map(str, keep))}", "selected",
                features=",".join(map(str, keep)))  # fmt: skip


def pad(h: ArrayHandle, *, maxlen: int | str, lossless: bool, value: object = None) -> Fix:
    title = f"pad to {maxlen} timesteps with a mask" + (
        f", padding with {value}" if value is not None else ""
    )
    options = {"maxlen": maxlen, **({"value": value} if value is not None else {})}
    return _fix("pad", h, Safety.LOSSLESS if lossless else Safety.LOSSY, title, "padded", **options)


def bucket(h: ArrayHandle, k: int) -> Fix:
    return _fix("bucket", h, Safety.LOSSLESS, f"split into {k} length buckets, each padded to its own maxlen",
                "buckets", "", buckets=k)  # fmt: skip
