"""``dsdoctor explain``."""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import ExitCode
from . import app
from ._options import JsonOpt, NoColorOpt

EXAMPLES = """
Examples:

  dsdoctor explain sample-count-mismatch

  dsdoctor explain DS302

  dsdoctor explain            # list every finding
"""


@app.command(epilog=EXAMPLES)
def explain(
    code: Annotated[
        str | None,
        typer.Argument(
            help="A finding's code (DS101) or name (sample-count-mismatch).", show_default=False
        ),
    ] = None,
    json_: JsonOpt = False,
    no_color: NoColorOpt = False,
) -> int:
    """Explain a finding: what it means, why frameworks fail on it, how to repair it."""
    from .. import api

    found = api.explain(code)
    if json_:
        from ..render.json import print_json

        print_json([c.describe() for c in found] if isinstance(found, tuple) else found.describe())
    else:
        from ..render.text import render_explain

        render_explain(found, no_color=no_color)
    return ExitCode.OK
