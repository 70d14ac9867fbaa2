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
from ..formats import NAMES


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
#: A count that may be 0 (window --horizon, --gap).
COUNT0 = _parser(units.parse_count, "N", low=0)
#: Whole numbers separated by commas, each at least 1 (--boundaries).
POSITIVE_LIST = _parser(units.parse_counts, "B1,B2", low=1)
#: Indices and ranges separated by commas (0,3:40,50:80:2), negative ones counting from the end,
#: or @FILE holding them (select --features); ranges are checked against the width later.
INDEX_LIST = _parser(units.check_selection, "I,J")
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

#: A CSV field delimiter (--delimiter) and decimal mark (--decimal).
DELIMITER = _parser(units.parse_delimiter, "CHAR")
DECIMAL = _parser(units.parse_decimal, "CHAR")

#: An output file or folder (-o): every part of the path fits the file system's name limit.
OUTPUT = _parser(units.parse_output, "OUT")

# -- output and rendering ------------------------------------------------------------------------
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print one JSON object on stdout (machine output).")
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
ForceOpt = Annotated[bool, typer.Option("--force", help="Replace an existing output (-o).")]

# -- how a source is read: every command that reads a source takes them all -----------------------
SOURCE_FORMAT_HELP = (
    f"Read sources as this format: {', '.join(NAMES)} (default: from the extension)."
)
SourceFormatOpt = Annotated[
    str | None, typer.Option("--source-format", help=SOURCE_FORMAT_HELP, metavar="FORMAT")
]
#: ``--source-format`` that also answers to ``--format``, its name before 0.2 on the commands
#: where ``--format`` never meant anything else (inspect and the repairs; on ``check`` it is the
#: report format).
SourceFormatAliasOpt = Annotated[
    str | None,
    typer.Option(
        "--source-format",
        "--format",
        help=SOURCE_FORMAT_HELP,
        metavar="FORMAT",
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
# -- how a CSV is written (other formats take no notice): sniffed unless given -------------------
DelimiterOpt = Annotated[
    str | None,
    typer.Option(
        "--delimiter",
        help="CSV field delimiter: , ; | tab or space (default: sniffed from the file's head).",
        metavar="CHAR",
        parser=DELIMITER,
    ),
]
HeaderOpt = Annotated[
    bool | None,
    typer.Option(
        "--header/--no-header",
        help="Whether a CSV's first row holds the column names (default: detected; without "
        "one the columns are named 0, 1, …).",
        show_default=False,
    ),
]
DecimalOpt = Annotated[
    str | None,
    typer.Option(
        "--decimal",
        help="CSV decimal mark, . or , (default: sniffed).",
        metavar="CHAR",
        parser=DECIMAL,
    ),
]
# -- where a URL's object is read from and written to (s3://, gs://, https://, …) ---------------
StorageOptionOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--storage-option",
        help="KEY=VALUE option of the file system of s3://, gs://, https:// … sources and outputs "
        "(repeatable; e.g. anon=true, endpoint_url=URL). Credentials come from the environment "
        "(AWS_*, GOOGLE_APPLICATION_CREDENTIALS) or from these; they are never printed.",
        metavar="K=V",
        show_default=False,
    ),
]
VerboseOpt = Annotated[
    bool,
    typer.Option(
        "--verbose", "-v", help="Say on stderr how many bytes were fetched from remote sources."
    ),
]
DEFAULT_CHUNK = "64MiB"
ChunkSizeOpt = Annotated[
    str,
    typer.Option(
        "--chunk-size",
        help="Read data in chunks of this size; bounds memory.",
        metavar="SIZE",
        parser=SIZE,
    ),
]

#: Sources given together are one dataset; ``--each`` says they are unrelated (``each=`` in the API).
EachSourceOpt = Annotated[
    bool,
    typer.Option(
        "--each",
        help="Check each source on its own: no sample-count comparison or x/y pairing across "
        "sources (by default sources given together are one dataset).",
    ),
]

# -- inputs and targets named apart (instead of whole sources) -------------------------------------
XOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--x",
        help="The inputs, PATH[:SELECTOR]; repeat it for a model of several inputs (each "
        "checked against the input named like it, else in order).",
        metavar="SRC",
    ),
]


def one_or_many(x: list[str] | None) -> str | list[str] | None:
    """``--x`` as the API takes it: None, one source, or a list of sources (several inputs)."""
    if not x:
        return None
    return x[0] if len(x) == 1 else list(x)


YOpt = Annotated[
    str | None, typer.Option("--y", help="The targets, PATH[:SELECTOR].", metavar="SRC")
]

# -- what the model expects: every command that takes one takes them all -------------------------
InputShapeOpt = Annotated[
    str | None,
    typer.Option(
        "--input-shape",
        help='Model input shape, Keras style: "(None, 5, 3)" (a leading None is the batch axis).',
        metavar="SHAPE",
    ),
]
FeaturesOpt = Annotated[
    int | None,
    typer.Option("--features", help="Expected input width (last axis).", metavar="N", parser=COUNT),
]
TimestepsOpt = Annotated[
    int | None,
    typer.Option(
        "--timesteps", help="Expected number of timesteps (axis 1).", metavar="N", parser=COUNT
    ),
]
ClassesOpt = Annotated[
    int | None,
    typer.Option("--classes", help="Number of classes of the targets.", metavar="N", parser=COUNT),
]
VocabSizeOpt = Annotated[
    int | None,
    typer.Option(
        "--vocab-size",
        help="Embedding input_dim: integer inputs (token ids) must be in [0, V).",
        metavar="V",
        parser=COUNT,
    ),
]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        help="Check against this model file's inputs and outputs (.keras, .h5, .onnx, "
        ".safetensors, .tflite, .pt, MLmodel, or a Hugging Face save_pretrained folder); read "
        "as metadata, never loaded or run. Options given by hand override it.",
        metavar="FILE",
    ),
]
MaskValueOpt = Annotated[
    float | None,
    typer.Option(
        "--mask-value",
        help="The padding/mask value (Keras Masking); for dense data, says it is padded.",
        metavar="V",
        parser=NUMBER,
    ),
]
_BATCH_SIZE = typer.Option("--batch-size", help="Training batch size.", metavar="N", parser=COUNT)
BatchSizeOpt = Annotated[int | None, _BATCH_SIZE]
#: ``--batch-size`` where it is required (plan): the same option, declared without a default.
RequiredBatchSizeOpt = Annotated[int, _BATCH_SIZE]
MemoryOpt = Annotated[
    str | None,
    typer.Option(
        "--memory", help="Memory one batch may take, e.g. 8GiB.", metavar="SIZE", parser=SIZE
    ),
]

# -- padding: pad, bucket, mask and plan mean the same thing by each ----------------------------
MaxlenOpt = Annotated[
    str | None,
    typer.Option(
        "--maxlen",
        help="Length to pad/truncate to: N, or pNN (the shortest length covering NN% of "
        "sequences). Default: the longest.",
        metavar="N|pNN",
        parser=MAXLEN,
    ),
]
BucketsOpt = Annotated[
    int | None,
    typer.Option(
        "--buckets",
        help="K length buckets, chosen to minimise total padding (exactly).",
        metavar="K",
        parser=COUNT,
    ),
]
PaddingOpt = Annotated[
    str | None,
    typer.Option(
        "--padding",
        help="Pad at the start (pre, Keras' default) or the end (post, what "
        "pack_padded_sequence needs). Default: pre, or what --for sets.",
        metavar="pre|post",
        show_default=False,
    ),
]
ForOpt = Annotated[
    str | None,
    typer.Option(
        "--for",
        help="Preset for a framework; options given explicitly win. keras: --padding pre "
        "--truncating pre, integer ids as int32 (pad_sequences' defaults). torch: --padding post "
        "--truncating post (what pack_padded_sequence with the lengths needs), integer ids as "
        "int64 (nn.Embedding, CrossEntropyLoss). Both: lengths int64, mask bool; other data keep "
        "their dtype. Without --for: pre/pre and the source's dtype.",
        metavar="keras|torch",
        show_default=False,
    ),
]
PadValueOpt = Annotated[
    float,
    typer.Option("--value", help="The padding value.", metavar="V", parser=NUMBER),
]

# -- where scans run -------------------------------------------------------------------------------
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

# -- splits: check --split ------------------------------------------------------------------------
#: A drift threshold: a finite number of at least 0 (--psi-threshold, --js-threshold).
THRESHOLD = _parser(units.parse_number, "X", finite=True)
SplitOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--split",
        help="A split of the dataset, NAME=SOURCE (a table with --target, or a file whose arrays "
        "pair as x and y) or NAME=X_SOURCE,Y_SOURCE; repeat for each split. The training split "
        "is the one named train (or training), else the first. Every check runs per split; the "
        "split checks (DS8xx) across them.",
        metavar="NAME=DATA",
    ),
]
GroupOpt = Annotated[
    str | None,
    typer.Option(
        "--group",
        help="With --split: the column (or array) holding each sample's group (patient, user, "
        "series); a group in two splits is group leakage (DS805).",
        metavar="COL",
    ),
]
PsiThresholdOpt = Annotated[
    float | None,
    typer.Option(
        "--psi-threshold",
        help="With --split: a feature or the labels drifted when their PSI is above this "
        "(default 0.2).",
        metavar="X",
        parser=THRESHOLD,
    ),
]
JsThresholdOpt = Annotated[
    float | None,
    typer.Option(
        "--js-threshold",
        help="With --split: a feature or the labels drifted when their Jensen-Shannon distance "
        "(base 2, 0 to 1) is above this (default 0.1).",
        metavar="X",
        parser=THRESHOLD,
    ),
]
TaskOpt = Annotated[
    str | None,
    typer.Option(
        "--task",
        help="With --split: what the targets are, classification (class labels: unseen labels, "
        "label drift) or regression (the target's drift, as a feature's). Default: text, booleans "
        "and integers are class labels unless nearly every value is distinct; floats are a "
        "regression target unless --classes is given or they hold two values (0.0/1.0).",
        metavar="TASK",
    ),
]

BaselineOpt = Annotated[
    str | None,
    typer.Option(
        "--baseline",
        help="With --split: the JSON report of an earlier `check --split … --format json -o FILE` run; every split's "
        "features and labels are also compared with its training split (drift since then).",
        metavar="REPORT.json",
    ),
]

# -- missing values: dropna and impute -------------------------------------------------------------
StrategyOpt = Annotated[
    str | None,
    typer.Option(
        "--strategy",
        help="Fill value per column: mean, median (exact), most-frequent or constant "
        "(--fill-value). Default: mean.",
        metavar="STRATEGY",
    ),
]
FillValueOpt = Annotated[
    str | None,
    typer.Option(
        "--fill-value",
        help="The value of --strategy constant (a number, or text for string columns).",
        metavar="V",
    ),
]
FromOpt = Annotated[
    str | None,
    typer.Option(
        "--from",
        help="Reuse the fill values an earlier impute output recorded (e.g. the training "
        "split's), instead of computing them from this source.",
        metavar="OUT",
    ),
]

# -- encode: what a text column becomes ------------------------------------------------------------
OneHotOpt = Annotated[
    bool,
    typer.Option(
        "--one-hot", help="Write float32 one-hot rows (width: the classes) instead of int64 codes."
    ),
]
VocabularyOpt = Annotated[
    str | None,
    typer.Option(
        "--vocabulary",
        help="Reuse this vocabulary (a .vocab.json an earlier encode wrote): the same codes for "
        "train, validation and test; a value it lacks is an error.",
        metavar="FILE",
    ),
]
