"""``dsdoctor plan``."""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import ExitCode
from . import app
from ._options import (
    COUNT,
    DEFAULT_CHUNK,
    FINITE,
    AllowPickleOpt,
    BucketsOpt,
    ChunkSizeOpt,
    DecimalOpt,
    DelimiterOpt,
    EngineOpt,
    FollowExternalOpt,
    HeaderOpt,
    JobsOpt,
    JsonOpt,
    MaxlenOpt,
    MemoryOpt,
    ModelOpt,
    NoColorOpt,
    RequiredBatchSizeOpt,
    SchedulerOpt,
    SourceFormatOpt,
    StorageOptionOpt,
    TargetOpt,
)


@app.command(
    epilog="""
Examples:

  dsdoctor plan train.h5:/x --batch-size 64 --memory 8GiB

  dsdoctor plan tokens.parquet:tokens --batch-size 32 --buckets 4 --lr 3e-4 --lr-batch 256 --json

  dsdoctor plan iris.csv --target species --batch-size 16
"""
)
def plan(
    src: Annotated[str, typer.Argument(help="The inputs, PATH[:SELECTOR].", show_default=False)],
    *,
    batch_size: RequiredBatchSizeOpt,
    memory: MemoryOpt = None,
    buckets: BucketsOpt = None,
    maxlen: MaxlenOpt = None,
    model: ModelOpt = None,
    lr: Annotated[
        float | None,
        typer.Option(
            "--lr",
            help="A learning rate tuned at --lr-batch, to scale to --batch-size.",
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
    format: SourceFormatOpt = None,
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
) -> int:
    """Plan training on this data: steps per epoch, the last partial batch, bytes per sample and
    per batch (inputs only: --target leaves the label column out), the input width (the features
    the first layer sees, which the batch size does not change), the largest batch that fits --memory, padding waste with one maxlen and with K
    buckets, and the learning rate scaled to --batch-size (linear and square-root rules). With
    --buckets K on sequences: each bucket's samples, maxlen, steps and padded batch bytes, as
    `bucket --buckets K` cuts them, and the steps per epoch with the buckets."""
    from .. import api
    from ..render.progress import progress

    result = api.plan(
        src,
        batch_size=batch_size,
        memory=memory,
        buckets=buckets,
        maxlen=maxlen,
        model=model,
        lr=lr,
        lr_batch=lr_batch,
        format=format,
        target=target,
        allow_pickle=allow_pickle,
        follow_external=follow_external,
        delimiter=delimiter,
        header=header,
        decimal=decimal,
        storage_options=storage_option,
        chunk_size=chunk_size,
        jobs=jobs,
        engine=engine,
        scheduler=scheduler,
        progress=progress,
    )
    if json_:
        from ..render.json import print_json

        print_json(result.to_dict())
    else:
        from ..render.text import render_training_plan

        render_training_plan(result, no_color=no_color)
    return ExitCode.OK
