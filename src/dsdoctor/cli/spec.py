"""``dsdoctor spec infer``: write a spec file from the data as it is today."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import ExitCode
from . import app
from ._options import OUTPUT

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
""",
)
def infer(
    sources: Annotated[
        list[str] | None, typer.Argument(help="Sources to describe.", show_default=False)
    ] = None,
    x: Annotated[str | None, typer.Option("--x", help="The inputs.", metavar="SRC")] = None,
    y: Annotated[str | None, typer.Option("--y", help="The targets.", metavar="SRC")] = None,
    target: Annotated[
        str | None,
        typer.Option("--target", help="Table column holding the targets.", metavar="COL"),
    ] = None,
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
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
) -> int:
    """Write a spec from the data as it is today: names the batch axis (shared by x and y), the
    feature width, dtypes, classes and value ranges. Edit it, commit it, and `dsdoctor check`
    guards it."""
    from ..api import spec_infer

    folder = str(Path(output).parent) if output != "-" else None
    text = spec_infer(*(sources or []), x=x, y=y, target=target, relative_to=folder)
    if output == "-":
        typer.echo(text, nl=False)
    else:
        from ..sinks import source_paths, write_text

        write_text(output, text, force=force, inputs=source_paths([*(sources or []), x, y]))
        typer.echo(f"wrote {output}", err=True)
    return ExitCode.OK
