"""``dsdoctor triage``."""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import ExitCode
from . import app
from ._options import JsonOpt, NoColorOpt, QuietOpt

EXAMPLES = """
Examples:

  python train.py 2>&1 | dsdoctor triage

  dsdoctor triage traceback.txt --json

  echo "Found input variables with inconsistent numbers of samples: [29, 1]" | dsdoctor triage -

Exit 0 when a finding was named, 1 when no known message was found, 2 when FILE cannot be read.
"""


@app.command(epilog=EXAMPLES)
def triage(
    file: Annotated[
        str | None,
        typer.Argument(
            help="A file holding the error message or traceback; - or nothing reads standard input.",
            metavar="[FILE|-]",
            show_default=False,
        ),
    ] = None,
    json_: JsonOpt = False,
    quiet: QuietOpt = False,
    no_color: NoColorOpt = False,
) -> int:
    """Name the finding behind a framework error message (Keras, PyTorch, JAX, scikit-learn, NumPy).

    Reads an error message or a whole traceback and prints the finding it points to, the numbers
    it read, and the `dsdoctor check` command that confirms it in your files (replace X and Y
    with your inputs and targets). When several lines match, the last one (the final exception)
    wins.
    """
    import sys

    from ..triage import not_found_dict, read_message
    from ..triage import triage as diagnose

    if file in (None, "-") and sys.stdin.isatty() and not json_:
        sys.stderr.write(
            "dsdoctor: reading the error message from standard input (end with Ctrl-D)\n"
        )
    found = diagnose(read_message(file))
    if json_:
        from ..render.json import print_json

        print_json(found.to_dict() if found else not_found_dict())
    else:
        _render(found, quiet=quiet)
    return ExitCode.OK if found else ExitCode.FINDINGS  # 1: nothing recognised


def _render(d, *, quiet: bool) -> None:
    """Plain lines: triage output is short and often pasted into an issue or a log. The line
    quoted from the log is shown with its control characters escaped."""
    from ..render.safe import printable

    if d is None:
        from ..triage import NOT_FOUND

        typer.echo(
            f"{NOT_FOUND} (triage reads Keras 2/3 on any backend, TensorFlow, PyTorch, JAX, "
            "scikit-learn and NumPy)"
        )
        return
    if quiet:
        typer.echo(f"{d.code} {d.finding}: {d.check_command}")
        return
    numbers = ", ".join(f"{k}={_show(v)}" for k, v in d.numbers.items()) or "(none)"
    typer.echo(f"{d.code} {d.finding}  ({d.framework})")
    typer.echo(f"  {d.explanation}")
    typer.echo(f"  read:    {printable(numbers)}")
    typer.echo(f"  from:    {printable(d.matched)}")
    typer.echo(f"  confirm: {d.check_command}")
    typer.echo(f"  explain: dsdoctor explain {d.finding}")


def _show(v) -> str:
    """A shape read from a message, as Python prints a tuple: (None, 5, 3), (5,)."""
    if isinstance(v, list):
        inner = ", ".join("None" if x is None else _show(x) for x in v)
        return f"({inner},)" if len(v) == 1 else f"({inner})"
    return str(v)
