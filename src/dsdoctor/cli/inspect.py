"""``dsdoctor inspect``."""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import ExitCode, SourceError
from . import app
from ._options import (
    DEFAULT_CHUNK,
    AllowPickleOpt,
    ChunkSizeOpt,
    DecimalOpt,
    DelimiterOpt,
    EngineOpt,
    FollowExternalOpt,
    HeaderOpt,
    JobsOpt,
    JsonOpt,  # fmt: skip
    NoColorOpt,
    SchedulerOpt,
    SourceFormatAliasOpt,
    StorageOptionOpt,
    TargetOpt,
    VerboseOpt,
)

EXAMPLES = """
Examples:

  dsdoctor inspect train.h5

  dsdoctor inspect tokens.parquet:tokens --json | jq .sources[0].entries[0].stats.lengths

  python make_data.py | dsdoctor inspect -

  dsdoctor inspect model.keras          # a model file: its inputs, outputs and what it expects
"""


@app.command(epilog=EXAMPLES)
def inspect(
    sources: Annotated[
        list[str],
        typer.Argument(
            help="Files (PATH[:SELECTOR]), Parquet directories, - for a .npy stream on stdin, "
            "or model files (.keras, .h5 models, .onnx, .safetensors, .tflite, MLmodel).",
            show_default=False,
        ),
    ],
    stats: Annotated[
        bool | None,
        typer.Option(
            "--stats/--no-stats",
            help="Scan the data for NaN/Inf, min/max and sequence lengths (one streaming pass; "
            "default: for local files, not for s3://, gs://, https:// … sources).",
            show_default=False,
        ),
    ] = None,
    format: SourceFormatAliasOpt = None,
    target: TargetOpt = None,
    allow_pickle: AllowPickleOpt = False,
    follow_external: FollowExternalOpt = False,
    delimiter: DelimiterOpt = None,
    header: HeaderOpt = None,
    decimal: DecimalOpt = None,
    storage_option: StorageOptionOpt = None,
    chunk_size: ChunkSizeOpt = DEFAULT_CHUNK,
    jobs: JobsOpt = 1,
    engine: EngineOpt = None,
    scheduler: SchedulerOpt = None,
    json_: JsonOpt = False,
    no_color: NoColorOpt = False,
    verbose: VerboseOpt = False,
) -> int:
    """Show what is inside: shape, dtype, size on disk and in memory, layout, length statistics
    with a histogram, NaN/Inf counts, min/max. A container is shown as a tree. A model file shows
    its inputs (names, shapes, dtypes), outputs and the facts check --model uses, each with the
    layer it was read from and how sure it is (declared or inferred)."""
    from .. import api
    from ..render.progress import progress

    models = [api.read_model(s) for s in sources if api.is_model(s)]
    sources = [s for s in sources if not api.is_model(s)]
    results = [api.inspect(s, stats=stats, format=format, target=target, allow_pickle=allow_pickle,
                           follow_external=follow_external, delimiter=delimiter, header=header,
                           decimal=decimal, storage_options=storage_option, chunk_size=chunk_size, jobs=jobs,
                           engine=engine, scheduler=scheduler, progress=progress)
               for s in sources]  # fmt: skip
    if verbose:
        for r in results:
            if r.bytes_fetched is not None:
                typer.echo(f"dsdoctor: fetched {r.bytes_fetched:,} bytes from {r.source}", err=True)
    if json_:
        from .._version import __version__
        from ..render.json import print_json

        print_json({"dsdoctor": __version__, "sources": [r.to_dict() for r in results],
                    **({"models": [m.to_dict() for m in models]} if models else {})})  # fmt: skip
    else:
        from ..render.text import render_inspection, render_model

        for m in models:
            render_model(m, no_color=no_color)
        if results:
            render_inspection(results, no_color=no_color)
    errors = [e for r in results for e in r.errors]
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise SourceError(errors[0] + more)
    return ExitCode.OK
