"""The repair commands: pad, mask, replicate, reshape, select, bucket, dropna, impute, encode,
shift, window.
Each parses, calls its repair's file entry from the repair table
(:mod:`dsdoctor.repairs.table`), and prints what it wrote; ``repair`` calls :func:`dsdoctor.api.repair`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ..errors import ExitCode
from ..formats import output_extensions_text
from . import app
from ._options import (
    COUNT,
    COUNT0,
    DEFAULT_CHUNK,
    DTYPE,
    FINITE,
    INDEX_LIST,
    OUTPUT,
    POSITIVE_LIST,
    AllowPickleOpt,
    BatchSizeOpt,
    BucketsOpt,
    ChunkSizeOpt,
    ClassesOpt,
    DecimalOpt,
    DelimiterOpt,
    EachSourceOpt,
    FeaturesOpt,
    FillValueOpt,
    FollowExternalOpt,
    ForceOpt,
    ForOpt,
    FromOpt,
    HeaderOpt,
    InputShapeOpt,
    JsonOpt,
    MaskValueOpt,
    MaxlenOpt,
    MemoryOpt,
    ModelOpt,
    NoColorOpt,
    OneHotOpt,
    PaddingOpt,
    PadValueOpt,
    SourceFormatAliasOpt,
    SourceFormatOpt,
    StorageOptionOpt,
    StrategyOpt,
    TargetOpt,
    TimestepsOpt,
    VocabSizeOpt,
    VocabularyOpt,
    XOpt,
    YOpt,
    one_or_many,
)

Src = Annotated[str, typer.Argument(help="The source, PATH[:SELECTOR].", show_default=False)]
Out = Annotated[
    str,
    typer.Option(
        "--output",
        "-o",
        help=f"Output file: {output_extensions_text()}.",
        metavar="OUT",
        parser=OUTPUT,
    ),
]


def _finish(result, json_: bool, no_color: bool) -> int:
    if json_:
        from ..render.json import print_json

        print_json(result.to_dict())
    else:
        from ..render.text import render_repair

        render_repair(result, no_color=no_color)
    return ExitCode.OK


def _run(
    op: str,
    src: str,
    output: str,
    chunk_size: str,
    json_: bool,
    no_color: bool,
    *,
    format: str | None,
    target: str | None,
    allow_pickle: bool,
    follow_external: bool,
    delimiter: str | None,
    header: bool | None,
    decimal: str | None,
    **options: Any,
) -> int:
    """Every repair command: call ``REPAIRS[op].file`` with the source options (required here,
    so that no command can drop one), print what it wrote."""
    from ..repairs.table import REPAIRS
    from ..units import parse_size

    chunk_bytes = parse_size(chunk_size, what="--chunk-size")
    result = REPAIRS[op].file(src, output, chunk_bytes=chunk_bytes, format=format, target=target,
                              allow_pickle=allow_pickle, follow_external=follow_external,
                              delimiter=delimiter, header=header, decimal=decimal,
                              **options)  # fmt: skip
    return _finish(result, json_, no_color)


@app.command(
    epilog="""
Examples:

  dsdoctor pad tokens.parquet:tokens --maxlen 256 -o tokens.npy      # + tokens.mask.npy, tokens.lengths.npy

  dsdoctor pad train.h5:/seq --maxlen p95 --padding post --value -1 -o padded.h5:/seq
"""
)
def pad(
    src: Src,
    output: Out,
    maxlen: MaxlenOpt = None,
    padding: PaddingOpt = None,
    truncating: Annotated[
        str | None,
        typer.Option(
            "--truncating",
            help="Cut longer sequences at the start (pre) or the end (post). Default: pre, or "
            "what --for sets.",
            metavar="pre|post",
            show_default=False,
        ),
    ] = None,
    for_: ForOpt = None,
    value: PadValueOpt = 0,
    dtype: Annotated[
        str | None,
        typer.Option(
            "--dtype",
            help="Output dtype (default: the source's; a lossy cast is refused).",
            metavar="DTYPE",
            parser=DTYPE,
        ),
    ] = None,
    allow_lossy_cast: Annotated[
        bool, typer.Option("--allow-lossy-cast", help="Allow a --dtype that changes values.")
    ] = False,
    no_mask: Annotated[bool, typer.Option("--no-mask", help="Do not write the mask.")] = False,
    no_lengths: Annotated[
        bool, typer.Option("--no-lengths", help="Do not write the lengths.")
    ] = False,
    force: ForceOpt = False,
    format: SourceFormatAliasOpt = None,
    target: TargetOpt = None,
    allow_pickle: AllowPickleOpt = False,
    follow_external: FollowExternalOpt = False,
    delimiter: DelimiterOpt = None,
    header: HeaderOpt = None,
    decimal: DecimalOpt = None,
    storage_option: StorageOptionOpt = None,
    chunk_size: ChunkSizeOpt = DEFAULT_CHUNK,
    json_: JsonOpt = False,
    no_color: NoColorOpt = False,
) -> int:
    """Pad variable-length sequences into a dense array, with the mask and lengths beside it.

    Same semantics as keras.utils.pad_sequences (default pre/pre, the source's dtype). The
    lengths are what torch.nn.utils.rnn.pack_padded_sequence takes with post padding only: on
    pre-padded rows it keeps the padding and drops real steps (pad warns) — use --for torch."""
    return _run("pad", src, output, chunk_size, json_, no_color, maxlen=maxlen, padding=padding, truncating=truncating, for_=for_,
                value=value, dtype=dtype, allow_lossy_cast=allow_lossy_cast, mask=not no_mask,
                lengths=not no_lengths, force=force, format=format, target=target, allow_pickle=allow_pickle, follow_external=follow_external, delimiter=delimiter, header=header, decimal=decimal, storage_options=storage_option)  # fmt: skip


@app.command(
    epilog="""
Example:

  dsdoctor mask padded.npy --value 0 -o padded.mask.npy
"""
)
def mask(
    src: Src,
    output: Out,
    value: PadValueOpt = 0,
    force: ForceOpt = False,
    format: SourceFormatAliasOpt = None,
    target: TargetOpt = None,
    allow_pickle: AllowPickleOpt = False,
    follow_external: FollowExternalOpt = False,
    delimiter: DelimiterOpt = None,
    header: HeaderOpt = None,
    decimal: DecimalOpt = None,
    storage_option: StorageOptionOpt = None,
    chunk_size: ChunkSizeOpt = DEFAULT_CHUNK,
    json_: JsonOpt = False,
    no_color: NoColorOpt = False,
) -> int:
    """Write the boolean mask of real timesteps of already padded data (Keras Masking semantics):
    a timestep is padding when all its features equal --value."""
    return _run(
        "mask",
        src,
        output,
        chunk_size,
        json_,
        no_color,
        value=value,
        force=force,
        format=format,
        target=target,
        allow_pickle=allow_pickle,
        follow_external=follow_external,
        delimiter=delimiter,
        header=header,
        decimal=decimal,
        storage_options=storage_option,
    )


@app.command(
    epilog="""
Examples:

  dsdoctor replicate y.npy --to 29 -o y.replicated.npy

  dsdoctor replicate y.npy --like x.npy -o y.replicated.npy

  dsdoctor replicate y.npy --each 4 -o y.replicated.npy
"""
)
def replicate(
    src: Src,
    output: Out,
    to: Annotated[
        int | None,
        typer.Option(
            "--to", help="Broadcast a single sample to N samples.", metavar="N", parser=COUNT
        ),
    ] = None,
    like: Annotated[
        str | None,
        typer.Option("--like", help="Broadcast to as many samples as SRC has.", metavar="SRC"),
    ] = None,
    each: Annotated[
        int | None,
        typer.Option("--each", help="Repeat each sample K times.", metavar="K", parser=COUNT),
    ] = None,
    force: ForceOpt = False,
    format: SourceFormatAliasOpt = None,
    target: TargetOpt = None,
    allow_pickle: AllowPickleOpt = False,
    follow_external: FollowExternalOpt = False,
    delimiter: DelimiterOpt = None,
    header: HeaderOpt = None,
    decimal: DecimalOpt = None,
    storage_option: StorageOptionOpt = None,
    chunk_size: ChunkSizeOpt = DEFAULT_CHUNK,
    json_: JsonOpt = False,
    no_color: NoColorOpt = False,
) -> int:
    """Broadcast a single-sample target to N samples, or repeat each sample K times. Any other
    case is refused with the reason."""
    return _run("replicate", src, output, chunk_size, json_, no_color, to=to, like=like, each=each, force=force,
                format=format, target=target, allow_pickle=allow_pickle, follow_external=follow_external, delimiter=delimiter, header=header, decimal=decimal, storage_options=storage_option)  # fmt: skip


@app.command(
    epilog="""
Examples:

  dsdoctor reshape mnist_flat.npy --shape "(None, 28, 28)" -o mnist.npy

  dsdoctor reshape x.npy --add-axis time -o x3d.npy       # (N, F) → (N, 1, F)
"""
)
def reshape(
    src: Src,
    output: Out,
    shape: Annotated[
        str | None,
        typer.Option(
            "--shape",
            help='New shape, starting with the sample axis: "(None, 28, 28)"; one other size may be None.',
            metavar="SHAPE",
        ),
    ] = None,
    add_axis: Annotated[
        str | None,
        typer.Option(
            "--add-axis",
            help="Add a length-1 axis: time ((N, F) → (N, 1, F)) or features ((N, T) → (N, T, 1)).",
        ),
    ] = None,
    force: ForceOpt = False,
    format: SourceFormatAliasOpt = None,
    target: TargetOpt = None,
    allow_pickle: AllowPickleOpt = False,
    follow_external: FollowExternalOpt = False,
    delimiter: DelimiterOpt = None,
    header: HeaderOpt = None,
    decimal: DecimalOpt = None,
    storage_option: StorageOptionOpt = None,
    chunk_size: ChunkSizeOpt = DEFAULT_CHUNK,
    json_: JsonOpt = False,
    no_color: NoColorOpt = False,
) -> int:
    """Reshape every sample without changing its elements."""
    return _run("reshape", src, output, chunk_size, json_, no_color, shape=shape, add_axis=add_axis, force=force,
                format=format, target=target, allow_pickle=allow_pickle, follow_external=follow_external, delimiter=delimiter, header=header, decimal=decimal, storage_options=storage_option)  # fmt: skip


@app.command(
    epilog="""
Examples:

  dsdoctor select x.npy --first 3 -o x3.npy

  dsdoctor select data.csv --columns sepal_length,sepal_width,petal_length -o x.npy

  dsdoctor select wide.csv --features 0:10,12:80 -o x.npy          # ranges: 0 … 9, 12 … 79

  dsdoctor select wide.csv --features @wide.features.txt -o x.npy  # the list in a file
"""
)
def select(
    src: Src,
    output: Out,
    features: Annotated[
        str | None,
        typer.Option(
            "--features",
            help="Feature indices to keep (last axis): 0,1,3, ranges 0:72 (0 … 71) or 0:80:2 "
            "(a step), negative from the end, or @FILE holding them.",
            metavar="I,J",
            parser=INDEX_LIST,
        ),
    ] = None,
    columns: Annotated[
        str | None,
        typer.Option(
            "--columns", help="Table columns to keep, or @FILE (one name per line).", metavar="A,B"
        ),
    ] = None,
    first: Annotated[
        int | None,
        typer.Option("--first", help="Keep the first K features.", metavar="K", parser=COUNT),
    ] = None,
    force: ForceOpt = False,
    format: SourceFormatAliasOpt = None,
    target: TargetOpt = None,
    allow_pickle: AllowPickleOpt = False,
    follow_external: FollowExternalOpt = False,
    delimiter: DelimiterOpt = None,
    header: HeaderOpt = None,
    decimal: DecimalOpt = None,
    storage_option: StorageOptionOpt = None,
    chunk_size: ChunkSizeOpt = DEFAULT_CHUNK,
    json_: JsonOpt = False,
    no_color: NoColorOpt = False,
) -> int:
    """Keep some features to match a model's input width (lossy: the others are dropped)."""
    return _run("select", src, output, chunk_size, json_, no_color, features=features, columns=columns, first=first,
                force=force, format=format, target=target, allow_pickle=allow_pickle,
                follow_external=follow_external, delimiter=delimiter, header=header, decimal=decimal, storage_options=storage_option)  # fmt: skip


@app.command(
    epilog="""
Examples:

  dsdoctor bucket tokens.parquet:tokens --buckets 4 -o buckets/

  dsdoctor bucket tokens.parquet:tokens --boundaries 10,20,30 --pad-to-boundary -o buckets/
"""
)
def bucket(
    src: Src,
    output: Annotated[
        str,
        typer.Option("--output", "-o", help="Output folder.", metavar="OUTDIR", parser=OUTPUT),
    ],
    boundaries: Annotated[
        str | None,
        typer.Option(
            "--boundaries",
            help="Bucket boundaries (tf.data semantics): 10,20,30 gives [0,10) [10,20) [20,30) [30,∞).",
            metavar="B1,B2",
            parser=POSITIVE_LIST,
        ),
    ] = None,
    buckets: BucketsOpt = None,
    pad_to_boundary: Annotated[
        bool,
        typer.Option(
            "--pad-to-boundary",
            help="Pad each bucket to its upper boundary - 1 instead of its longest sequence.",
        ),
    ] = False,
    padding: PaddingOpt = None,
    value: PadValueOpt = 0,
    for_: ForOpt = None,
    force: ForceOpt = False,
    format: SourceFormatAliasOpt = None,
    target: TargetOpt = None,
    allow_pickle: AllowPickleOpt = False,
    follow_external: FollowExternalOpt = False,
    delimiter: DelimiterOpt = None,
    header: HeaderOpt = None,
    decimal: DecimalOpt = None,
    storage_option: StorageOptionOpt = None,
    chunk_size: ChunkSizeOpt = DEFAULT_CHUNK,
    json_: JsonOpt = False,
    no_color: NoColorOpt = False,
) -> int:
    """Split sequences into length buckets, each padded to its own maxlen: OUTDIR gets
    bucket_<k>.npz (data, mask, lengths, index) and buckets.json; OUTDIR.zarr is one Zarr store
    with a group per bucket. Default: pre padding and the
    source's dtype; --for torch pads post, as pack_padded_sequence needs with the lengths."""
    return _run("bucket", src, output, chunk_size, json_, no_color, boundaries=boundaries, buckets=buckets,
                pad_to_boundary=pad_to_boundary, padding=padding, value=value, for_=for_, force=force,
                format=format, target=target, allow_pickle=allow_pickle, follow_external=follow_external, delimiter=delimiter, header=header, decimal=decimal, storage_options=storage_option)  # fmt: skip


@app.command(
    epilog="""
Examples:

  dsdoctor dropna penguins.csv --target species -o penguins.dropna.parquet   # + penguins.dropna.rows.npy

  dsdoctor dropna x.npy --y y.npy -o clean.npy      # clean.npy, clean.y.npy, clean.rows.npy
"""
)
def dropna(
    src: Src,
    output: Out,
    y: YOpt = None,
    force: ForceOpt = False,
    format: SourceFormatOpt = None,
    target: TargetOpt = None,
    allow_pickle: AllowPickleOpt = False,
    follow_external: FollowExternalOpt = False,
    delimiter: DelimiterOpt = None,
    header: HeaderOpt = None,
    decimal: DecimalOpt = None,
    storage_option: StorageOptionOpt = None,
    chunk_size: ChunkSizeOpt = DEFAULT_CHUNK,
    json_: JsonOpt = False,
    no_color: NoColorOpt = False,
) -> int:
    """Drop the rows holding a missing value (NaN, null) from the inputs and the targets
    together, and write the row numbers kept (0-based rows of the source). A whole table
    (every column kept, the --target column with them) is written as .parquet or .csv."""
    return _run("dropna", src, output, chunk_size, json_, no_color, y=y, force=force, format=format,
                target=target, allow_pickle=allow_pickle, follow_external=follow_external,
                delimiter=delimiter, header=header, decimal=decimal, storage_options=storage_option)  # fmt: skip


@app.command(
    epilog="""
Examples:

  dsdoctor impute train.csv --strategy median -o train.imputed.parquet

  dsdoctor impute val.csv --from train.imputed.parquet -o val.imputed.parquet   # the training split's values

  dsdoctor impute x.npy --strategy constant --fill-value 0 -o x.imputed.npy    # + x.imputed.dsdoctor.json
"""
)
def impute(
    src: Src,
    output: Out,
    strategy: StrategyOpt = None,
    fill_value: FillValueOpt = None,
    from_: FromOpt = None,
    force: ForceOpt = False,
    format: SourceFormatOpt = None,
    target: TargetOpt = None,
    allow_pickle: AllowPickleOpt = False,
    follow_external: FollowExternalOpt = False,
    delimiter: DelimiterOpt = None,
    header: HeaderOpt = None,
    decimal: DecimalOpt = None,
    storage_option: StorageOptionOpt = None,
    chunk_size: ChunkSizeOpt = DEFAULT_CHUNK,
    json_: JsonOpt = False,
    no_color: NoColorOpt = False,
) -> int:
    """Fill missing values per column (mean, exact median, most frequent, or a constant) and
    record the fill values in the output, so that --from fills val/test with the training
    split's. Tables keep every column: categories take their most frequent value."""
    return _run("impute", src, output, chunk_size, json_, no_color, strategy=strategy, fill_value=fill_value,
                from_=from_, force=force, format=format, target=target, allow_pickle=allow_pickle,
                follow_external=follow_external,
                delimiter=delimiter, header=header, decimal=decimal, storage_options=storage_option)  # fmt: skip


@app.command(
    epilog="""
Examples:

  dsdoctor encode iris.csv:species -o y.npy                            # + y.vocab.json

  dsdoctor encode val.csv:species --vocabulary y.vocab.json -o y_val.npy

  dsdoctor encode penguins.parquet:island --one-hot -o penguins.encoded.parquet
"""
)
def encode(
    src: Src,
    output: Out,
    one_hot: OneHotOpt = False,
    vocabulary: VocabularyOpt = None,
    force: ForceOpt = False,
    format: SourceFormatOpt = None,
    target: TargetOpt = None,
    allow_pickle: AllowPickleOpt = False,
    follow_external: FollowExternalOpt = False,
    delimiter: DelimiterOpt = None,
    header: HeaderOpt = None,
    decimal: DecimalOpt = None,
    storage_option: StorageOptionOpt = None,
    chunk_size: ChunkSizeOpt = DEFAULT_CHUNK,
    json_: JsonOpt = False,
    no_color: NoColorOpt = False,
) -> int:
    """Number text labels (or a categorical feature) 0 … C-1 in sorted order, as int64 codes or
    float32 one-hot rows, and write the vocabulary beside them (OUT.vocab.json; also inside
    Parquet and HDF5 outputs). A table column to a Parquet output gives the whole table with
    the column replaced; to .npy/.npz/HDF5, the encoded column alone. Lossless."""
    return _run("encode", src, output, chunk_size, json_, no_color, one_hot=one_hot, vocabulary=vocabulary,
                force=force, format=format, target=target, allow_pickle=allow_pickle,
                follow_external=follow_external, delimiter=delimiter, header=header,
                decimal=decimal, storage_options=storage_option)  # fmt: skip


@app.command(
    epilog="""
Examples:

  dsdoctor shift tokens.parquet:tokens -o tokens.shifted.parquet     # ids + 1: 0 is free for padding

  dsdoctor shift padded.npy --mask padded.mask.npy -o shifted.npy   # padding stays 0, real ids + 1
"""
)
def shift(
    src: Src,
    output: Out,
    by: Annotated[
        int,
        typer.Option(
            "--by",
            help="Add K to every real id (ids 0 … K-1 become free).",
            metavar="K",
            parser=COUNT,
        ),
    ] = 1,
    vocab_size: VocabSizeOpt = None,
    mask: Annotated[
        str | None,
        typer.Option(
            "--mask",
            help="The (N, T) mask of padded data, True on real ids (default: the one pad wrote "
            "beside SRC); padding becomes 0.",
            metavar="SRC",
        ),
    ] = None,
    lengths: Annotated[
        str | None,
        typer.Option(
            "--lengths",
            help="The (N,) lengths of padded data (instead of --mask), with --padding the side.",
            metavar="SRC",
        ),
    ] = None,
    padding: PaddingOpt = "pre",
    force: ForceOpt = False,
    format: SourceFormatOpt = None,
    target: TargetOpt = None,
    allow_pickle: AllowPickleOpt = False,
    follow_external: FollowExternalOpt = False,
    delimiter: DelimiterOpt = None,
    header: HeaderOpt = None,
    decimal: DecimalOpt = None,
    storage_option: StorageOptionOpt = None,
    chunk_size: ChunkSizeOpt = DEFAULT_CHUNK,
    json_: JsonOpt = False,
    no_color: NoColorOpt = False,
) -> int:
    """Shift integer token ids by K (default 1) so the padding/mask id 0 is free, and print the
    new vocabulary size for Embedding(input_dim=…). Ragged sequences (Parquet list columns, npz,
    HDF5 variable-length) are all real ids; padded data keeps its padding at 0 where its mask
    is False (or past its lengths). A dtype too small for the largest id + K is widened. Lossless."""
    return _run("shift", src, output, chunk_size, json_, no_color, by=by, vocab_size=vocab_size,
                mask=mask, lengths=lengths, padding=padding, force=force, format=format,
                target=target, allow_pickle=allow_pickle,
                follow_external=follow_external, delimiter=delimiter, header=header,
                decimal=decimal, storage_options=storage_option)  # fmt: skip


@app.command(
    epilog="""
Examples:

  dsdoctor window series.npy --length 64 -o windows.npy          # (T, F) → (N, 64, F) + windows.starts.npy

  dsdoctor window weather.parquet --target temp --horizon 24 --length 72 --stride 6 -o w.npz

  dsdoctor window sensors.csv --group station --time timestamp --target load --length 48 -o w.npz

  dsdoctor window series.npy --y y.npy --length 64 --split 0.8 --gap 64 -o train.npz   # + train.val.npz

  dsdoctor window weather.parquet:temp,pressure --target temp --length 72 -o w.npz   # the target's past as a feature
"""
)
def window(
    src: Src,
    output: Out,
    length: Annotated[
        int | None,
        typer.Option(
            "--length",
            help="Timesteps per window (Keras' sequence_length; the model's timesteps).",
            metavar="L",
            parser=COUNT,
        ),
    ] = None,
    stride: Annotated[
        int,
        typer.Option(
            "--stride",
            help="Rows from one window's start to the next (Keras' sequence_stride).",
            metavar="N",
            parser=COUNT,
        ),
    ] = 1,
    sampling_rate: Annotated[
        int,
        typer.Option(
            "--sampling-rate",
            help="Rows between two timesteps of a window (Keras' sampling_rate).",
            metavar="N",
            parser=COUNT,
        ),
    ] = 1,
    y: YOpt = None,
    horizon: Annotated[
        int | None,
        typer.Option(
            "--horizon",
            help="A window's target is the row H steps after its last row (default 1: the next "
            "step; 0: the last row itself). Needs --target or --y.",
            metavar="H",
            parser=COUNT0,
        ),
    ] = None,
    group: Annotated[
        str | None,
        typer.Option(
            "--group",
            help="Column naming each row's series (for an array: a file of T ids): no window "
            "crosses two. A series' rows must be contiguous.",
            metavar="COL",
        ),
    ] = None,
    time: Annotated[
        str | None,
        typer.Option(
            "--time",
            help="Time column (for an array: a file of T times): it must increase within each "
            "series (else exit 2); no window spans a gap longer than the most common step.",
            metavar="COL",
        ),
    ] = None,
    max_step: Annotated[
        str | None,
        typer.Option(
            "--max-step",
            help="With --time: the longest interval that is not a gap, a duration for "
            "datetimes (90s, 15min, 2h, 1D) or a number (default: the most common interval).",
            metavar="STEP",
        ),
    ] = None,
    split: Annotated[
        float | None,
        typer.Option(
            "--split",
            help="Training fraction of each series, split by time before windowing; the "
            "validation windows go to OUT with .val before the extension.",
            metavar="F",
            parser=FINITE,
        ),
    ] = None,
    gap: Annotated[
        int,
        typer.Option(
            "--gap",
            help="Rows left out between the training and validation parts (with --split).",
            metavar="G",
            parser=COUNT0,
        ),
    ] = 0,
    force: ForceOpt = False,
    format: SourceFormatOpt = None,
    target: TargetOpt = None,
    allow_pickle: AllowPickleOpt = False,
    follow_external: FollowExternalOpt = False,
    delimiter: DelimiterOpt = None,
    header: HeaderOpt = None,
    decimal: DecimalOpt = None,
    storage_option: StorageOptionOpt = None,
    chunk_size: ChunkSizeOpt = DEFAULT_CHUNK,
    json_: JsonOpt = False,
    no_color: NoColorOpt = False,
) -> int:
    """Cut a series (T, F) into windows (N, L, F) for an RNN/Conv1D, with the semantics of
    keras.utils.timeseries_dataset_from_array, each window's target aligned, and the first row
    of each window (OUT's starts) and of its target (target_rows) written beside it. Streamed:
    the output may be larger than memory. Table features: every numeric column but the target,
    group and time, or the columns named as SRC:COL,COL."""
    return _run("window", src, output, chunk_size, json_, no_color, length=length, stride=stride,
                sampling_rate=sampling_rate, y=y, horizon=horizon, group=group, time=time,
                max_step=max_step, split=split, gap=gap, force=force, format=format, target=target,
                allow_pickle=allow_pickle, follow_external=follow_external, delimiter=delimiter,
                header=header, decimal=decimal, storage_options=storage_option)  # fmt: skip


@app.command(
    epilog="""
Examples:

  dsdoctor repair --x x.npy --y y.npy -o repaired/                       # lossless fixes only

  dsdoctor repair --x x.npy --y y.npy -o repaired/ --allow lossless,assumption

  dsdoctor repair --x x.npy --y y.npy --model model.keras -o repaired/ --allow lossless,lossy
"""
)
def repair(
    sources: Annotated[
        list[str] | None, typer.Argument(help="Sources to check whole.", show_default=False)
    ] = None,
    *,
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            help="Folder for the repaired arrays.",
            metavar="OUTDIR",
            parser=OUTPUT,
        ),
    ],
    x: XOpt = None,
    y: YOpt = None,
    allow: Annotated[
        str,
        typer.Option(
            "--allow", help="Fix safeties to apply: lossless, assumption, lossy (comma-separated)."
        ),
    ] = "lossless",
    input_shape: InputShapeOpt = None,
    features: FeaturesOpt = None,
    timesteps: TimestepsOpt = None,
    classes: ClassesOpt = None,
    mask_value: MaskValueOpt = None,
    vocab_size: VocabSizeOpt = None,
    model: ModelOpt = None,
    batch_size: BatchSizeOpt = None,
    memory: MemoryOpt = None,
    each: EachSourceOpt = False,
    format: SourceFormatOpt = None,
    target: TargetOpt = None,
    allow_pickle: AllowPickleOpt = False,
    follow_external: FollowExternalOpt = False,
    delimiter: DelimiterOpt = None,
    header: HeaderOpt = None,
    decimal: DecimalOpt = None,
    storage_option: StorageOptionOpt = None,
    chunk_size: ChunkSizeOpt = DEFAULT_CHUNK,
    force: ForceOpt = False,
    json_: JsonOpt = False,
    no_color: NoColorOpt = False,
) -> int:
    """Run check and apply the suggested fixes (by default only lossless ones) into OUTDIR;
    print what was applied, what was skipped and why."""
    from ..api import repair as run_repair
    from ..render.progress import progress

    outcome = run_repair(*(sources or []), outdir=output, allow=allow, force=force, x=one_or_many(x), y=y, input_shape=input_shape,
                      features=features, timesteps=timesteps, classes=classes, mask_value=mask_value, vocab_size=vocab_size,
                      model=model, batch_size=batch_size, memory=memory, format=format, target=target,
                      allow_pickle=allow_pickle, follow_external=follow_external, delimiter=delimiter,
                      header=header, decimal=decimal, storage_options=storage_option, chunk_size=chunk_size, each=each,
                      progress=progress)  # fmt: skip
    if json_:
        from ..render.json import print_json

        print_json(outcome.to_dict())
    else:
        from ..render.text import render_repair_outcome

        render_repair_outcome(outcome, no_color=no_color)
    return ExitCode.OK if outcome.applied or not outcome.report.findings else ExitCode.FINDINGS
