"""``dsdoctor check``."""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import ExitCode, UsageError
from ..formats import NAMES
from ..render import report_formats_help
from . import app
from ._options import (
    DEFAULT_CHUNK,
    OUTPUT,
    AllowPickleOpt,
    BaselineOpt,
    BatchSizeOpt,
    ChunkSizeOpt,
    ClassesOpt,
    DecimalOpt,
    DelimiterOpt,
    EachSourceOpt,
    EngineOpt,
    FeaturesOpt,
    FollowExternalOpt,
    ForceOpt,
    GroupOpt,
    HeaderOpt,
    InputShapeOpt,
    JobsOpt,
    JsonOpt,
    JsThresholdOpt,
    MaskValueOpt,
    MemoryOpt,
    ModelOpt,
    NoColorOpt,
    PsiThresholdOpt,
    QuietOpt,
    SchedulerOpt,
    SourceFormatOpt,
    SplitOpt,
    StorageOptionOpt,
    TargetOpt,
    TaskOpt,
    TimestepsOpt,
    VerboseOpt,
    VocabSizeOpt,
    XOpt,
    YOpt,
    one_or_many,
)

EXAMPLES = """
Examples:

  dsdoctor check --x train.h5:/x --y train.h5:/y --input-shape "(None, 5, 3)"

  dsdoctor check iris.csv --target species --features 3 --classes 3 --json

  dsdoctor check tokens.parquet:tokens --mask-value 0 --batch-size 64 --memory 8GiB

  dsdoctor check --x x.npy --y y.npy --model model.keras

  dsdoctor check X_train.npy y_train.npy X_test.npy y_test.npy

  dsdoctor check jan.parquet feb.parquet --each

  dsdoctor check --split train=train.parquet --split val=val.parquet --target label --group user

  dsdoctor check --split train=x_train.npy,y_train.npy --split test=x_test.npy,y_test.npy

  dsdoctor check --split train=hf_data:train --split test=hf_data:test --target label

  dsdoctor check hf_data                # a DatasetDict folder: its splits compared
"""


@app.command(epilog=EXAMPLES)
def check(
    sources: Annotated[
        list[str] | None,
        typer.Argument(
            help="Sources (PATH[:SELECTOR]) to check whole, as one dataset: they must agree on the "
            "sample axis, and arrays or files named like x/y (X_train, y_train …) are paired. A "
            "Hugging Face DatasetDict folder of several splits, or a folder of split files "
            "(train.parquet, val.parquet; X_train.npy, y_train.npy …), is compared split by split.",
            show_default=False,
        ),
    ] = None,
    x: XOpt = None,
    y: YOpt = None,
    input_shape: InputShapeOpt = None,
    features: FeaturesOpt = None,
    timesteps: TimestepsOpt = None,
    classes: ClassesOpt = None,
    batch_size: BatchSizeOpt = None,
    memory: MemoryOpt = None,
    mask_value: MaskValueOpt = None,
    vocab_size: VocabSizeOpt = None,
    model: ModelOpt = None,
    select: Annotated[
        list[str] | None,
        typer.Option(
            "--select",
            help="Only these findings (codes, names or a code prefix; comma-separated).",
            metavar="CODES",
        ),
    ] = None,
    ignore: Annotated[
        list[str] | None, typer.Option("--ignore", help="Skip these findings.", metavar="CODES")
    ] = None,
    fail_on: Annotated[
        str,
        typer.Option(
            "--fail-on", help="Exit 1 when a finding is at or above: error, warning, info, never."
        ),
    ] = "error",
    output_format: Annotated[
        str,
        typer.Option(
            "--format",
            help=f"Report format: {report_formats_help()}.",
            metavar="FORMAT",
        ),
    ] = "text",
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the report to FILE instead of stdout; required for html.",
            metavar="FILE",
            parser=OUTPUT,
        ),
    ] = None,
    force: ForceOpt = False,
    fix_files: Annotated[
        bool,
        typer.Option(
            "--fix-files",
            help="Write the files fixes read (a selection too long for one line, "
            "--features @x.features.txt), beside their sources.",
        ),
    ] = False,
    spec: Annotated[
        str | None,
        typer.Option(
            "--spec",
            help="Check against this spec file (default: dsdoctor.toml or [tool.dsdoctor] found from here upward, when no sources are given).",
            metavar="FILE",
        ),
    ] = None,
    each: EachSourceOpt = False,
    target: TargetOpt = None,
    split: SplitOpt = None,
    group: GroupOpt = None,
    psi_threshold: PsiThresholdOpt = None,
    js_threshold: JsThresholdOpt = None,
    baseline: BaselineOpt = None,
    task: TaskOpt = None,
    format: SourceFormatOpt = None,
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
    quiet: QuietOpt = False,
    no_color: NoColorOpt = False,
    verbose: VerboseOpt = False,
) -> int:
    """Run every check and print the findings, with the numbers and the commands that fix them.

    Exit 0 when no finding is at or above --fail-on, 1 when one is, 2 on bad input.
    """
    from .. import api
    from ..findings import FAIL_ON
    from ..render import REPORT_FORMATS, report_text
    from ..render.progress import progress

    if fail_on not in FAIL_ON:
        raise UsageError(f"--fail-on must be one of {', '.join(FAIL_ON)}, got {fail_on!r}")
    if json_ and output_format not in ("text", "json"):  # two report formats: neither wins
        raise UsageError(f"--json is --format json, and --format {output_format} asks for another "
                         "report: give one of them")  # fmt: skip
    report_format = "json" if json_ and output_format == "text" else output_format
    if report_format not in REPORT_FORMATS:
        raise UsageError(
            f"--format is the report format, one of {', '.join(REPORT_FORMATS)}; got "
            f"{output_format!r}"
            + (" (name a source's format with --source-format)" if output_format in NAMES else "")
        )
    if report_format == "html" and output is None:
        raise UsageError("--format html writes a page: add -o report.html")
    if report_format == "text" and output is not None:
        files = ", ".join(name for name, (module, _) in REPORT_FORMATS.items() if module)
        raise UsageError(f"-o writes a report file: add --format {files}")
    report = api.check(
        *(sources or []),
        x=one_or_many(x),
        y=y,
        input_shape=input_shape,
        features=features,
        timesteps=timesteps,
        classes=classes,
        batch_size=batch_size,
        memory=memory,
        mask_value=mask_value,
        vocab_size=vocab_size,
        model=model,
        select=select,
        ignore=ignore,
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
        spec=spec if spec is not None else (not sources and x is None and y is None and not split),
        each=each,
        split=split,
        group=group,
        psi_threshold=psi_threshold,
        js_threshold=js_threshold,
        baseline=baseline,
        task=task,
    )
    if verbose and report.bytes_fetched is not None:
        typer.echo(
            f"dsdoctor: fetched {report.bytes_fetched:,} bytes from remote sources", err=True
        )
    if fix_files:
        inputs = _inputs(
            report, [*(sources or []), *(x or []), y, *_split_sources(split), baseline], spec
        )
        for path in api.write_fix_files(report, force=force, inputs=inputs):
            typer.echo(f"wrote {path}", err=True)
    if report_format == "text":
        from ..render.text import render_report

        render_report(report, quiet=quiet, no_color=no_color)
    else:
        inputs = (
            _inputs(report, [*(sources or []), *(x or []), y, *_split_sources(split)], spec)
            if output is not None
            else []
        )
        text = report_text(report, report_format, select=select, ignore=ignore)
        _emit(text, output, force, inputs)
    return ExitCode.FINDINGS if report.failed(fail_on) else ExitCode.OK


def _emit(text: str, output: str | None, force: bool, inputs: list) -> None:
    """On stdout, or into ``output`` by the writer every output goes through: atomic, never an
    input, an existing file replaced only with ``--force``."""
    if output is None:
        import sys

        sys.stdout.write(text)
        return
    from ..sinks import write_text

    write_text(output, text, force=force, inputs=inputs)


def _inputs(report, sources: list, spec: str | None) -> list:
    """Every file the check read: the sources given, the ones a spec named, the spec itself."""
    from ..sinks import source_paths
    from ..spec import find_spec

    texts = [*sources, *(a.get("source") for a in report.arrays.values())]
    if report.model is not None:
        texts.append(report.model["path"])
    found = spec if spec is not None else find_spec()
    return [*source_paths(texts), *([found] if found else [])]


def _split_sources(split: list[str] | None) -> list[str]:
    """The sources of ``--split NAME=A[,B]`` values (never overwritten by -o)."""
    return [p for text in split or [] for p in text.partition("=")[2].split(",") if p]
