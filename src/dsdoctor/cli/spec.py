"""``dsdoctor spec infer``: write a spec file from the data as it is today."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import ExitCode, UsageError
from . import app
from ._options import (
    DEFAULT_CHUNK,
    OUTPUT,
    AllowPickleOpt,
    ChunkSizeOpt,
    DecimalOpt,
    DelimiterOpt,
    FollowExternalOpt,
    ForceOpt,
    HeaderOpt,
    SourceFormatOpt,
    SplitOpt,
    StorageOptionOpt,
    TargetOpt,
    TaskOpt,
    XOpt,
    YOpt,
)

spec_app = typer.Typer(
    help="Spec files (dsdoctor.toml): the data contract CI checks.", no_args_is_help=True
)
app.add_typer(spec_app, name="spec")


@spec_app.command(
    "infer",
    epilog="""
Examples:

  dsdoctor spec infer --x data/train.h5:/x --y data/train.h5:/y -o dsdoctor.toml

  dsdoctor spec infer data/tokens.parquet:tokens -o dsdoctor.toml

  dsdoctor spec infer --split train=train.parquet --split val=val.parquet --target label -o dsdoctor.toml
""",
)
def infer(
    sources: Annotated[
        list[str] | None, typer.Argument(help="Sources to describe.", show_default=False)
    ] = None,
    x: XOpt = None,
    y: YOpt = None,
    format: SourceFormatOpt = None,
    target: TargetOpt = None,
    split: SplitOpt = None,
    task: TaskOpt = None,
    allow_pickle: AllowPickleOpt = False,
    follow_external: FollowExternalOpt = False,
    delimiter: DelimiterOpt = None,
    header: HeaderOpt = None,
    decimal: DecimalOpt = None,
    storage_option: StorageOptionOpt = None,
    chunk_size: ChunkSizeOpt = DEFAULT_CHUNK,
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            help="The spec file to write (- for stdout).",
            metavar="FILE",
            parser=OUTPUT,
        ),
    ] = "-",
    force: ForceOpt = False,
) -> int:
    """Write a spec from the data as it is today: names the batch axis (shared by x and y), the
    feature width, dtypes, classes and value ranges. Edit it, commit it, and `dsdoctor check`
    guards it."""
    from ..api import spec_infer
    from ..render.progress import progress

    folder = str(Path(output).parent) if output != "-" else None
    if x is not None and len(x) > 1:
        raise UsageError("spec infer takes one --x; give the other inputs as sources")
    text = spec_infer(*(sources or []), x=x[0] if x else None, y=y, relative_to=folder, format=format, target=target,
                      allow_pickle=allow_pickle, follow_external=follow_external, delimiter=delimiter, header=header, decimal=decimal, storage_options=storage_option,
                      chunk_size=chunk_size, progress=progress,
                      **({"split": split} if split else {}), **({"task": task} if task else {}))  # fmt: skip
    if output == "-":
        typer.echo(text, nl=False)
    else:
        from ..sinks import source_paths, write_text

        write_text(
            output, text, force=force, inputs=source_paths([*(sources or []), *(x or []), y])
        )
        typer.echo(f"wrote {output}", err=True)
    return ExitCode.OK
