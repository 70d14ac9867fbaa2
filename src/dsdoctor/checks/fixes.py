"""The ``dsdoctor`` command lines that findings suggest, built in one place so every fix names
a command exactly as the CLI parses it, and carries the same repair as data for ``repair``.

A printed fix runs as printed (``tests/test_fix_commands.py`` runs every fix the fixtures give):
words are shell-quoted; a path that starts with ``-`` is written ``./-name`` (quoting does not
stop the CLI reading it as an option); an option value that starts with ``-`` is written
``--value=-1``; and for standard input the source is ``-`` again (pipe the same data in) and the
output goes to the working directory (``stdin.padded.npy``), not beside the spooled copy in
``$TMPDIR``."""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..findings import Finding, Fix, Safety
from ..formats import strip_extension
from ..sources.base import ArrayHandle
from ..units import fit_name, format_selection, format_shape

STDIN = "<stdin>"


def _is_stdin(h: ArrayHandle) -> bool:
    return h.source == STDIN or h.source.startswith(STDIN + ":")


def output_for(h: ArrayHandle, op: str, ext: str = ".npy") -> str:
    """``data/y.npy`` + ``replicated`` → ``data/y.replicated.npy`` (beside the source);
    standard input → ``stdin.replicated.npy`` in the working directory."""
    if _is_stdin(h):
        member = h.source[len(STDIN) + 1 :].strip("/").replace("/", "_").replace(",", "_")
        return f"stdin{'.' + member if member else ''}.{op}{ext}"
    stem = strip_extension(h.path.name)  # any extension dsdoctor reads (dsdoctor.formats)
    if not stem and isinstance(
        h.path, Path
    ):  # "." or "..": the folder's own name, not a hidden ".x"
        stem = Path(os.path.abspath(h.path)).name or "data"
    member = h.name.strip("/").replace("/", "_").replace(",", "_") if h.name else ""
    if member and h.source != str(h.path):
        stem = f"{stem}.{member}"
    name = fit_name(stem, f".{op}{ext}")  # a long source name still gives a name -o accepts
    return str(h.path.parent / name) if str(h.path.parent) not in ("", ".") else name


def distinct_outputs(findings: list[Finding]) -> None:
    """Give every fix of a report its own output: a fix whose ``-o`` an earlier, different fix
    already named (DS201's ``select --first 60`` and DS402's ``select --features …`` both
    ``x.selected.npy``; ``pad --maxlen 38`` and ``--maxlen p95``) writes ``x.selected-2.npy``
    (``-3``, … the first not taken), in its command and its action alike. The same fix
    suggested by two findings keeps its one output."""
    taken = {f.action["out"] for g in findings for f in g.fixes if f.action}
    first: dict[str, str] = {}  # output → the command that named it first
    moved: dict[tuple[str, str], Fix] = {}  # (output, command) → the fix with its new output
    for g in findings:
        for i, fix in enumerate(g.fixes):
            out = (fix.action or {}).get("out")
            if out is None or first.setdefault(out, fix.command) == fix.command:
                continue
            tail = " -o " + shlex.quote(path_word(out))
            if (out, fix.command) not in moved and fix.command.endswith(tail):
                base, dot, ext = out.rpartition(".")
                if not dot or "/" in ext:
                    base, ext = out, ""
                k = 2
                while (new := f"{base}-{k}{'.' if ext else ''}{ext}") in taken:
                    k += 1
                taken.add(new)
                command = fix.command[: -len(tail)] + " -o " + shlex.quote(path_word(new))
                moved[out, fix.command] = replace(fix, command=command,
                                                  action={**(fix.action or {}), "out": new})  # fmt: skip
            g.fixes[i] = moved.get((out, fix.command), fix)


class Shell(str):
    """A command word written as it is: already quoted for the shell (``"secret=$VAR"``, which
    the shell fills in when the command is pasted)."""


def command(*words: object) -> str:
    return " ".join(w if isinstance(w, Shell) else shlex.quote(str(w))
                    for w in ("dsdoctor", *words))  # fmt: skip


def storage_words(source: str, h: ArrayHandle | None = None) -> list[object]:
    """The ``--storage-option`` words a fix of the URL ``source`` needs to reach the same store
    (``endpoint_url=…``, ``anon=true``, a region): without them a pasted fix would go to another
    endpoint — real AWS. A secret option (a key, a token: :func:`~dsdoctor.locations.is_secret`)
    is never printed: its value is a shell variable to fill in, ``"secret=$AWS_SECRET_ACCESS_KEY"``.
    Nothing for a local source, or when the options came from the environment only."""
    from ..locations import URL, Location, given_options, is_url, printable_options

    if not is_url(source):
        return []
    path = getattr(h, "path", None)
    options = path.options if isinstance(path, Location) and path.options else given_options()
    match = URL.match(source)
    protocol = match.group(1).lower() if match else ""
    words: list[object] = []
    for name, text, secret in printable_options(options, protocol):
        if not secret:
            words += ["--storage-option", f"{name}={text}"]
        elif re.fullmatch(r"[A-Za-z0-9_.\-]+", name):
            words += ["--storage-option", Shell(f'"{name}={text}"')]
    return words


def path_word(path: str) -> str:
    """A path as a command-line word the CLI cannot take for an option: ``-x.npy`` → ``./-x.npy``
    (``-`` alone, and ``-:member``, are standard input and stay)."""
    if path.startswith("-") and path != "-" and not path.startswith("-:"):
        return "./" + path
    return path


def source_word(h: ArrayHandle) -> str:
    """The source as the fix must name it: ``-`` (or ``-:member``) for standard input."""
    if _is_stdin(h):
        return "-" + h.source[len(STDIN) :]
    return path_word(h.source)


def option_words(options: dict[str, object]) -> list[str]:
    """``{"maxlen": 40, "value": -1}`` → ``--maxlen 40 --value=-1`` (a value starting with ``-``
    joined to its option, so it cannot be read as one)."""
    words: list[str] = []
    for key, value in options.items():
        flag = f"--{key.rstrip('_').replace('_', '-')}"  # for_: --for
        words += [f"{flag}={value}"] if str(value).startswith("-") else [flag, str(value)]
    return words


def reading_words(h: ArrayHandle) -> list[str]:
    """The options a source was read with that the repair must be given to read it the same way:
    ``--allow-pickle`` for an object array read by unpickling it, and the CSV dialect options
    given rather than sniffed (``--no-header``, ``--delimiter tab``)."""
    dialect = h.layout.get("dialect") or {}
    sniffed = str(dialect.get("sniffed", "")).split("+")
    words: list[str] = ["--allow-pickle"] if h.pickled and not h.unsafe else []
    if "delimiter" in dialect and "delimiter" not in sniffed:
        names = {"\t": "tab", " ": "space"}
        words += ["--delimiter", names.get(dialect["delimiter"], dialect["delimiter"])]
    if "header" in dialect and "header" not in sniffed:
        words.append("--no-header" if dialect["header"] == "none" else "--header")
    if "decimal" in dialect and "decimal" not in sniffed:
        words += ["--decimal", dialect["decimal"]]
    return words


def _fix(
    op: str,
    h: ArrayHandle,
    safety: Safety,
    title: str,
    suffix: str,
    *,
    ext: str = ".npy",
    **options: object,
) -> Fix:
    out = output_for(h, suffix, ext)
    action = {"op": op, "source": h.source, "out": out, "options": options}
    words = [op, source_word(h), *option_words(options), *reading_words(h),
             *storage_words(h.source, h), "-o", path_word(out)]  # fmt: skip
    return Fix(command(*words), safety, title, action)


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


def add_time_axis_per_row(h: ArrayHandle) -> Fix:
    """(N, F) → (N, 1, F) for a model whose timesteps are open: right only when each row is its
    own sequence of one step; rows that are consecutive timesteps of a series want
    :func:`window` — so an assumption, never applied by ``repair`` by default."""
    return _fix("reshape", h, Safety.ASSUMPTION,
                "add a length-1 time axis: each row becomes a sequence of one timestep (right only "
                "when each row is its own sequence; for a time series, window it: window --length L)",
                "reshaped", add_axis="time")  # fmt: skip


def window(h: ArrayHandle, length: int, y: ArrayHandle | None = None) -> Fix:
    """(T, F) rows of a series → (N, ``length``, F) windows; with targets ``y`` of one row each,
    every window takes the target of its last row (``--horizon 0``). An assumption: right when
    the rows are consecutive timesteps of one series."""
    title = (f"cut the rows into windows of {length} consecutive timesteps (right when the rows "
             "are one time series in time order)")  # fmt: skip
    table = getattr(h, "table", None)
    if y is not None and table is not None and table.target is not None:
        title += f"; each window's target is {table.target} at its last row"
        return _fix("window", h, Safety.ASSUMPTION, title, "windowed", length=length,
                    target=table.target, horizon=0)  # fmt: skip
    if y is not None:
        title += "; each window's target is y at its last row"
        return _fix("window", h, Safety.ASSUMPTION, title, "windowed", length=length,
                    y=source_word(y), horizon=0)  # fmt: skip
    return _fix("window", h, Safety.ASSUMPTION, title, "windowed", length=length)


def select_first(h: ArrayHandle, k: int) -> Fix:
    return _fix("select", h, Safety.LOSSY, f"keep the first {k} features", "selected", first=k)


#: The longest fix command written on one line (a screen line): a longer selection is written
#: to a file the command reads (``--features @x.features.txt``).
FIX_WIDTH = 100
#: A selection this short stays on the command line whatever the paths around it make its length
#: (a file would not make a command with long paths fit).
SHORT_SELECTION = 24


def select_features(h: ArrayHandle, keep: list[int]) -> Fix:
    """``select SRC --features 0:72``: the indices as ranges (:func:`format_selection`), or, when
    the command would still be longer than :data:`FIX_WIDTH`, ``--features @SRC.features.txt``
    with the file's text in ``Fix.files``. ``repair`` applies the selection itself (its action
    holds the ranges), so it needs no file."""
    text = format_selection(keep)
    title = f"keep {len(keep)} features: " + (text if len(text) <= 40 else text[:39] + "…")
    fix = _fix("select", h, Safety.LOSSY, title, "selected", features=text)
    if len(fix.command) <= FIX_WIDTH or len(text) <= SHORT_SELECTION:
        return fix
    file = output_for(h, "features", ".txt")
    long = _fix("select", h, Safety.LOSSY, title, "selected", features="@" + file)
    return replace(long, action=fix.action, files={file: text.replace(",", "\n") + "\n"})


def pad(h: ArrayHandle, *, maxlen: int | str, lossless: bool, value: object = None,
        truncating: str | None = None, for_: str | None = None) -> Fix:  # fmt: skip
    """``pad SRC --maxlen L``; ``for_="torch"`` (a PyTorch model) pads and truncates at the end,
    int64 ids and lengths (``pad --for torch``), so ``truncating`` is its own."""
    title = f"pad to {maxlen} timesteps with a mask" + (
        f", padding with {value}" if value is not None else ""
    )
    options: dict[str, Any] = {"maxlen": maxlen}
    if value is not None:
        options["value"] = value
    if for_ is not None:
        options["for_"] = for_
        title += f", at the end as {for_} takes it"
    elif truncating is not None:
        options["truncating"] = truncating
        title += ", truncating longer sequences at the " + (
            "end" if truncating == "post" else "start"
        )
    safety = Safety.LOSSLESS if lossless else Safety.LOSSY
    return _fix("pad", h, safety, title, "padded", **options)


def keep_first_steps(h: ArrayHandle, steps: int) -> Fix:
    """A dense (N, T) array of token ids cut to its first ``steps`` (``select --first``: the
    time axis is its last)."""
    return _fix("select", h, Safety.LOSSY, f"keep the first {steps} tokens of each row",
                "selected", first=steps)  # fmt: skip


def shift(h: ArrayHandle, *, vocab: int, vocab_size: int | None = None,
          mask: str | None = None) -> Fix:  # fmt: skip
    """``shift SRC -o SRC.shifted.EXT``: token ids + 1, so 0 is free for padding; a ragged table
    column gives the whole table as Parquet, other ragged sources npz (both hold sequences)."""
    ext = (".parquet" if h.ragged and h.format == "parquet" else ".npz" if h.ragged
           else ".npy")  # fmt: skip
    title = f"add 1 to every token id so 0 is free for padding, then Embedding(input_dim={vocab})"
    options: dict[str, object] = {}
    if vocab_size is not None:
        options["vocab_size"] = vocab_size
    if mask is not None:
        options["mask"] = path_word(mask)
    return _fix("shift", h, Safety.LOSSLESS, title, "shifted", ext=ext, **options)


def bucket(h: ArrayHandle, k: int) -> Fix:
    """``bucket SRC --buckets K -o SRC.buckets``: a folder beside a local source; at a URL a
    Zarr store (``SRC.buckets.zarr``), the one bucket output written at a URL."""
    from ..locations import is_url

    ext = ".zarr" if is_url(h.source) else ""
    return _fix("bucket", h, Safety.LOSSLESS, f"split into {k} length buckets, each padded to its own maxlen",
                "buckets", ext=ext, buckets=k)  # fmt: skip


def table_output(key: str, suffix: str, ext: str) -> str:
    """The output beside the table ``key`` names: ``penguins.csv`` + ``dropna`` →
    ``penguins.dropna.parquet``; a selected frame ``store.h5:/train`` →
    ``store.train.dropna.parquet`` (the selector is part of the name, never of the path)."""
    from pathlib import Path

    from ..locations import Location
    from ..sources import parse_source

    spec = parse_source(key)
    path = spec.path if isinstance(spec.path, Location) else Path(spec.path)
    stem = strip_extension(path.name)
    if spec.selector:
        stem += "." + spec.selector.strip("/").replace("/", "_").replace(",", "_").replace(":", ".")
    name = fit_name(stem, f".{suffix}{ext}")
    return str(path.parent / name) if str(path.parent) not in ("", ".") else name


def _table_fix(
    op: str, key: str, safety: Safety, title: str, suffix: str, **options: object
) -> Fix:
    """A repair of a whole table (every column kept): ``penguins.csv`` → ``penguins.<suffix>.parquet``."""

    out = table_output(key, suffix, ".parquet")
    options = {k: v for k, v in options.items() if v is not None}
    action = {"op": op, "source": key, "out": out, "options": options}
    words = [op, path_word(key), *option_words(options), *storage_words(key), "-o",
             path_word(out)]  # fmt: skip
    return Fix(command(*words), safety, title, action)


def dropna_table(h: ArrayHandle, key: str, target: str | None) -> Fix:
    return _table_fix("dropna", key, Safety.LOSSY, "drop the rows holding a missing value",
                      "dropna", target=target)  # fmt: skip


def impute_table(h: ArrayHandle, key: str, target: str | None) -> Fix:
    return _table_fix("impute", key, Safety.ASSUMPTION,
                      "fill missing values with each column's median (most frequent value for "
                      "categories)", "imputed", strategy="median", target=target)  # fmt: skip


def dropna_array(x: ArrayHandle, y: ArrayHandle | None) -> Fix:
    title = "drop the samples holding a missing value" + (" from x and y" if y is not None else "")
    if y is None:
        return _fix("dropna", x, Safety.LOSSY, title, "dropna")
    return _fix("dropna", x, Safety.LOSSY, title, "dropna", y=source_word(y))


def impute_array(x: ArrayHandle) -> Fix:
    return _fix("impute", x, Safety.ASSUMPTION, "fill missing values with each feature's median",
                "imputed", strategy="median")  # fmt: skip


def select_columns(h: ArrayHandle, columns: list[str], title: str | None = None) -> Fix:
    """``select TABLE --columns a,b -o TABLE.selected.npy``: the named columns of the table ``h``
    was read from (the table itself, not ``h``'s own column list, which would name them twice).
    A list longer than a screen line is read from ``TABLE.columns.txt``, one name per line."""
    title = title or f"keep the {len(columns)} input columns"
    table = getattr(h, "table", None)
    if table is None:
        return _fix("select", h, Safety.LOSSY, title, "selected", columns=",".join(columns))
    src = table.display
    name = fit_name(strip_extension(h.path.name), ".selected.npy")
    out = str(h.path.parent / name) if str(h.path.parent) not in ("", ".") else name
    options: dict[str, object] = {"columns": ",".join(columns)}
    action = {"op": "select", "source": src, "out": out, "options": options}

    def words(given: dict[str, object]) -> list[object]:
        return ["select", path_word(src), *option_words(given), *reading_words(h),
                *storage_words(src, h), "-o", path_word(out)]  # fmt: skip

    fix = Fix(command(*words(options)), Safety.LOSSY, title, action)
    short = len(str(options["columns"])) <= SHORT_SELECTION
    if (
        short
        or len(fix.command) <= FIX_WIDTH
        or any(
            "\n" in c or "\r" in c or c != c.strip() or c.startswith("#") or not c for c in columns
        )
    ):
        return fix  # a name a file of lines cannot hold stays on the command line
    listed = fit_name(strip_extension(h.path.name), ".columns.txt")
    file = str(h.path.parent / listed) if str(h.path.parent) not in ("", ".") else listed
    return Fix(command(*words({"columns": "@" + file})), Safety.LOSSY, title, action,
               files={file: "".join(f"{c}\n" for c in columns)})  # fmt: skip


def encode_column(table: str, column: str, h: ArrayHandle | None) -> Fix:
    """``encode TABLE:COL -o TABLE.COL.encoded.npy`` for a categorical column that is not an
    array under check (a feature; ``h``: an array of the same table, for its reading options)."""
    out = table_output(f"{table}:{column}", "encoded", ".npy")
    src = f"{table}:{column}"
    action = {"op": "encode", "source": src, "out": out, "options": {}}
    words = ["encode", path_word(src), *(reading_words(h) if h is not None else []),
             *storage_words(src, h), "-o", path_word(out)]  # fmt: skip
    return Fix(command(*words), Safety.LOSSLESS,
               f"number {column}'s categories 0 … C-1 (vocabulary in OUT.vocab.json)", action)  # fmt: skip


def encode(h: ArrayHandle) -> Fix:
    """Text labels → int64 codes in sorted order of the values, and the vocabulary beside them."""
    return _fix("encode", h, Safety.LOSSLESS, "number the classes 0 … C-1 (vocabulary in OUT.vocab.json)",
                "encoded")  # fmt: skip


def pad_for_torch(h: ArrayHandle, source: str, maxlen: object = None) -> Fix:
    """Pad ``source`` (the sequences ``h`` was padded from) again for PyTorch: post padding, so
    the lengths beside it select the real steps (an assumption: that the lengths are for
    ``pack_padded_sequence``)."""
    name = strip_extension(h.path.name)
    ext = h.path.name[len(name) :] or ".npz"
    out = str(h.path.with_name(fit_name(name, f".torch{ext}")))
    options: dict[str, object] = {"for_": "torch"}
    words: list[object] = ["pad", path_word(source), "--for", "torch"]
    if maxlen is not None:
        options["maxlen"] = maxlen
        words += ["--maxlen", str(maxlen)]
    action = {"op": "pad", "source": source, "out": out, "options": options}
    words += [*storage_words(source, h), "-o", path_word(out)]
    return Fix(command(*words), Safety.ASSUMPTION, "pad again at the end, for pack_padded_sequence",
               action)  # fmt: skip
