"""``dsdoctor plan``."""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import ExitCode
from . import app
from ._options import COUNT, FINITE, LENGTH, JsonOpt, MemoryOpt, NoColorOpt


@app.command(
    epilog="""
Examples:

  dsdoctor plan train.h5:/x --batch-size 64 --memory 8GiB

  dsdoctor plan tokens.parquet:tokens --batch-size 32 --buckets 4 --lr 3e-4 --lr-batch 256 --json
"""
)
def plan(
    src: Annotated[str, typer.Argument(help="The inputs, PATH[:SELECTOR].", show_default=False)],
    batch_size: Annotated[
        int,
        typer.Option("--batch-size", help="Training batch size.", metavar="B", parser=COUNT),
    ] = ...,
    memory: MemoryOpt = None,
    buckets: Annotated[
        int | None,
        typer.Option(
            "--buckets",
            help="Also show padding with K optimal length buckets.",
            metavar="K",
            parser=COUNT,
        ),
    ] = None,
    maxlen: Annotated[
        int | None,
        typer.Option(
            "--maxlen",
            help="Sequences padded/truncated to this length (default: the longest).",
            metavar="N",
            parser=LENGTH,
        ),
    ] = None,
    lr: Annotated[
        float | None,
        typer.Option(
            "--lr",
            help="A learning rate tuned at --lr-batch, to scale to B.",
            metavar="LR",
            parser=FINITE,
        ),
    ] = None,
    lr_batch: Annotated[
        int | None,
        typer.Option(
            "--lr-batch", help="The batch size --lr was tuned for.", metavar="B0", parser=COUNT
        ),
    ] = None,
    json_: JsonOpt = False,
    no_color: NoColorOpt = False,
) -> int:
    """Plan training on this data: steps per epoch, the last partial batch, bytes per sample and
    per batch, the largest batch that fits --memory, padding waste with one maxlen and with K
    buckets, and the learning rate scaled to B (linear and square-root rules)."""
    from .. import api
    from ..render.progress import progress

    result = api.plan(
        src,
        batch_size=batch_size,
        memory=memory,
        buckets=buckets,
        maxlen=maxlen,
        lr=lr,
        lr_batch=lr_batch,
        progress=progress,
    )
    if json_:
        from ..render.json import print_json

        print_json(result.to_dict())
    else:
        from ..render.text import render_plan_summary

        render_plan_summary(result, no_color=no_color)
    return ExitCode.OK
