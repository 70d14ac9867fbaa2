"""Options shared by several commands, declared once (same names as the API's keywords)."""

from __future__ import annotations

from typing import Annotated

import typer

JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print one JSON object on stdout (machine output).")
]
MemoryOpt = Annotated[
    str | None,
    typer.Option("--memory", help="Memory one batch may take, e.g. 8GiB.", metavar="SIZE"),
]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print only the findings, one line each.")
]
NoColorOpt = Annotated[
    bool,
    typer.Option(
        "--no-color", help="No colour (also when NO_COLOR is set or output is not a terminal)."
    ),
]
FormatOpt = Annotated[
    str | None,
    typer.Option(
        "--format",
        help="Read sources as this format: npy, npz, hdf5, parquet, csv (default: from the extension).",
    ),
]
AllowPickleOpt = Annotated[
    bool,
    typer.Option(
        "--allow-pickle",
        help="Unpickle object arrays. Runs code from the file: only for files you trust.",
    ),
]
FollowExternalOpt = Annotated[
    bool,
    typer.Option(
        "--follow-external",
        help="Follow HDF5 external links, external storage and virtual datasets into other files.",
    ),
]
ChunkSizeOpt = Annotated[
    str,
    typer.Option(
        "--chunk-size", help="Read data in chunks of this size; bounds memory.", metavar="SIZE"
    ),
]
TargetOpt = Annotated[
    str | None,
    typer.Option(
        "--target",
        help="Table column holding the targets; the other columns are the inputs.",
        metavar="COL",
    ),
]

DEFAULT_CHUNK = "64MiB"
JobsOpt = Annotated[
    int, typer.Option("--jobs", "-j", help="Scan shards in N local processes.", metavar="N")
]
EngineOpt = Annotated[
    str | None,
    typer.Option(
        "--engine", help="Where scans run: serial, process (default with --jobs > 1) or dask."
    ),
]
SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="Dask scheduler address for --engine dask (or DSDOCTOR_SCHEDULER).",
        metavar="ADDRESS",
    ),
]
