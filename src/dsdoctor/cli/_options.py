"""Options shared by several commands, declared once (same names as the API's keywords), and
the parsers every option value goes through.

An option that takes a number, a list, a dtype or a pad length is declared with ``parser=`` one
of the parsers below, each a :mod:`dsdoctor.units` function: a bad value (empty, not a number,
past an int64, negative, NaN where a number is counted) is click's BadParameter, which the CLI
prints as one line naming the option — exit 2 before the command runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from .. import units
from ..errors import UsageError


def _parser(parse: Callable[..., Any], metavar: str, **bounds: Any) -> Callable[[str], Any]:
    """A typer ``parser`` from a :mod:`dsdoctor.units` parser: its UsageError, BadParameter."""

    def parser(text: str) -> Any:
        try:
            return parse(text, **bounds)
        except UsageError as exc:
            raise typer.BadParameter(str(exc)) from None

    parser.__name__ = metavar  # what click shows for the value in --help
    return parser


#: A count of at least 1 (--batch-size, --classes, --buckets, --each …).
COUNT = _parser(units.parse_count, "N", low=1)
#: A count that may be 0 (plan --maxlen).
LENGTH = _parser(units.parse_count, "N", low=0)
#: Whole numbers separated by commas, each at least 1 (--boundaries).
POSITIVE_LIST = _parser(units.parse_counts, "B1,B2", low=1)
#: Indices separated by commas; negative ones count from the end (select --features).
INDEX_LIST = _parser(units.parse_counts, "I,J", low=-units.MAX_COUNT)
#: Any number, NaN and infinity included (a padding or mask value).
NUMBER = _parser(units.parse_number, "V")
#: A finite number (--lr).
FINITE = _parser(units.parse_number, "X", finite=True)
#: A numeric dtype (--dtype).
DTYPE = _parser(units.parse_dtype, "DTYPE")
#: A size with a unit (--memory, --chunk-size).
SIZE = _parser(units.parse_size, "SIZE")
#: A pad length, N or pNN (pad --maxlen).
MAXLEN = _parser(units.parse_maxlen, "N|pNN")

#: An output file or folder (-o): every part of the path fits the file system's name limit.
OUTPUT = _parser(units.parse_output, "OUT")

JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print one JSON object on stdout (machine output).")
]
MemoryOpt = Annotated[
    str | None,
    typer.Option(
        "--memory", help="Memory one batch may take, e.g. 8GiB.", metavar="SIZE", parser=SIZE
    ),
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
        "--chunk-size",
        help="Read data in chunks of this size; bounds memory.",
        metavar="SIZE",
        parser=SIZE,
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
    int,
    typer.Option(
        "--jobs", "-j", help="Scan shards in N local processes.", metavar="N", parser=COUNT
    ),
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
