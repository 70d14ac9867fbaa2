"""The facts every model reader returns, and the dispatch to the reader of each format.

A reader is a function ``read(path: Path) -> ModelFacts`` registered in :data:`READERS` under
its format name, with the file names and leading bytes it recognises. It reads metadata only
(member sizes capped, nothing imported, nothing unpickled) and raises :class:`SourceError`
for a file it cannot read and :class:`UnsafeInputError` for one it refuses (a zip bomb, a
header larger than the file, a pickle): both are exit 2 with one line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SourceError

#: A dimension: a size, a named dimension (ONNX ``dim_param``, bound like a spec's dims), or
#: None when the model leaves it free (the batch axis, a variable time axis).
Dim = int | str | None


@dataclass(frozen=True)
class TensorSpec:
    """One input or output of a model: its name and shape *with* the batch axis first."""

    name: str
    shape: tuple[Dim, ...] | None  # None: the file does not say
    dtype: str | None = None  # numpy's name: "float32", "int64", … (None: not said)


@dataclass(frozen=True)
class ModelFacts:
    """What a model file says. ``where`` names, for each fact, the layer or tensor it was read
    from (findings quote it: "model.onnx input `features`"); ``confidence`` says how each fact
    was found: ``"declared"`` (the file states it) or ``"inferred"`` (from weight names or
    shapes, e.g. safetensors without a config) — a fact absent from ``confidence`` is declared.
    """

    path: str
    format: str  # a key of READERS
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...] = ()
    #: the last layer's activation: "softmax", "sigmoid", "linear" (None: not said)
    output_activation: str | None = None
    #: the last layer's units (classes for softmax; 1 for a sigmoid or a regression)
    output_units: int | None = None
    #: Keras ``Masking(mask_value=…)``; 0 for ``Embedding(mask_zero=True)``
    mask_value: float | None = None
    #: the first embedding's ``input_dim`` (Keras), ``num_embeddings`` (torch), ``vocab_size`` (HF)
    vocab_size: int | None = None
    mask_zero: bool | None = None
    #: Hugging Face ``max_position_embeddings``: the longest sequence the model takes
    max_positions: int | None = None
    #: the model has a recurrent layer (GRU, LSTM, SimpleRNN): its input is (batch, time, features)
    recurrent: bool = False
    where: dict[str, str] = field(default_factory=dict)
    confidence: dict[str, str] = field(default_factory=dict)
    #: what the reader saw but did not use, or could not read (never silent)
    notes: tuple[str, ...] = ()
    #: the loss the model was compiled with ("sparse_categorical_crossentropy", …; None: not said)
    loss: str | None = None
    #: an MLflow column-spec signature's input columns, (name, MLflow type: "double", "string",
    #: …) each, in order; empty for tensor inputs. A table is checked against their names.
    columns: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict:
        """The facts as JSON-ready values (``inspect MODEL --json``, the report's ``model``)."""
        from dataclasses import asdict

        return asdict(self)


Reader = Callable[[Path], ModelFacts]


def batch_axis(shape: tuple[Dim, ...] | None) -> int:
    """The axis of ``shape`` that holds the batch: the first named like it (``batch``,
    ``batch_size``, ``N``) when axis 0 is a fixed size — silero-vad's state is (2, batch, 128) —
    else 0."""
    if not shape or not isinstance(shape[0], int):
        return 0
    for i, d in enumerate(shape):
        if isinstance(d, str) and ("batch" in d.lower() or d in ("N", "n")):
            return i
    return 0


def output_units(shape: tuple[Dim, ...] | None) -> tuple[int, int] | None:
    """The units of an output shaped ``shape`` (batch first) and the axis holding them: the last
    axis of (N, K); for (N, K, 1, 1) — a convolutional classifier's pooled map, squeezenet's
    (1, 1000, 1, 1) — the axis after the batch whose size is above 1 when the rest are 1.
    None when the shape does not say (no batch-and-units axes, an unknown size)."""
    if not shape or len(shape) < 2:
        return None
    rest = shape[1:]
    if len(rest) >= 2 and all(isinstance(d, int) for d in rest):
        wide = [i for i, d in enumerate(rest) if d != 1]
        if len(wide) == 1 and wide[0] != len(rest) - 1:
            return rest[wide[0]], wide[0] + 1  # type: ignore[return-value]
    last = shape[-1]
    return (last, len(shape) - 1) if isinstance(last, int) else None


@dataclass(frozen=True)
class ModelFormat:
    name: str
    suffixes: tuple[str, ...]  # lower-case, with the dot; "MLmodel" is matched by file name
    magic: tuple[bytes, ...]  # leading bytes, checked when the suffix is ambiguous
    module: str  # dsdoctor.models.<module>, imported only when a file of this format is read
    function: str
    extra: str | None = None  # the pip extra its reader needs ("models"), named when missing


#: The model formats, one row each. The readers live in their own modules, imported lazily.
FORMATS: tuple[ModelFormat, ...] = (
    ModelFormat("keras", (".keras",), (b"PK\x03\x04",), "keras", "read_keras"),
    ModelFormat("keras-h5", (".h5", ".hdf5"), (b"\x89HDF\r\n\x1a\n",), "keras", "read_keras_h5"),
    ModelFormat("onnx", (".onnx",), (), "onnx", "read_onnx", extra="models"),
    ModelFormat("safetensors", (".safetensors",), (), "safetensors", "read_safetensors"),
    ModelFormat("tflite", (".tflite",), (), "tflite", "read_tflite"),
    ModelFormat("mlflow", ("MLmodel",), (), "mlflow", "read_mlflow"),
    ModelFormat("torch", (".pt", ".pth", "pytorch_model.bin"), (), "torch", "read_torch"),
)


#: The file a model folder is read from, first found first: an MLflow model's ``MLmodel``, then
#: the weights of a Hugging Face ``save_pretrained`` folder (read with its ``config.json``).
FOLDER_FILES = ("MLmodel", "model.safetensors", "model-00001-of-*.safetensors",
                "pytorch_model.bin", "pytorch_model-00001-of-*.bin", "model.onnx")  # fmt: skip


def model_in_folder(folder: Path) -> Path | None:
    """The model file of ``folder`` (:data:`FOLDER_FILES`), or None when it holds none."""
    for pattern in FOLDER_FILES:
        found = sorted(folder.glob(pattern))
        if found and found[0].is_file():
            return found[0]
    return None


def model_format(path: Path) -> ModelFormat:
    """The format of ``path`` by its name (a model folder: see :func:`model_in_folder`)."""
    if path.is_dir():
        inside = model_in_folder(path)
        if inside is None:
            names = ", ".join(FOLDER_FILES)
            raise SourceError(f"{path}: a folder holding no model file dsdoctor reads ({names}); "
                              "give the model file itself")  # fmt: skip
        path = inside
    if path.suffix == ".bin" and path.name.startswith("pytorch_model"):  # a transformers shard
        return next(f for f in FORMATS if f.name == "torch")
    for fmt in FORMATS:
        if path.name in fmt.suffixes or path.suffix.lower() in fmt.suffixes:
            return fmt
    names = ", ".join(s for f in FORMATS for s in f.suffixes)
    raise SourceError(f"{path}: not a model file dsdoctor reads ({names}); "
                      "export the model to one of them")  # fmt: skip


def read_model(path: str | Path) -> ModelFacts:
    """The facts ``path`` declares (see :class:`ModelFacts`); exit-2 errors for a file that is
    missing, of no known format, unreadable or hostile."""
    import importlib

    from ..locations import is_url, safe_url

    if is_url(path):  # (a Path would make s3://b/m.keras "s3:/b/m.keras", which is not there)
        raise SourceError(
            f"{safe_url(str(path))}: model files are read from a local path; copy it here first "
            "(data sources may be URLs)"
        )
    p = Path(path)
    if not p.exists():
        raise SourceError(f"{p}: no such model file")
    fmt = model_format(p)
    if p.is_dir():
        p = model_in_folder(p) or p
    if not p.is_file():  # a FIFO or a link to /dev/zero: reading it would block or never end
        raise SourceError(f"{p}: not a regular file; give the model file itself")
    try:
        module = importlib.import_module(f"{__package__}.{fmt.module}")
    except ModuleNotFoundError as e:  # the reader's library: the extra that installs it
        if e.name is not None and e.name.startswith(f"{__package__}."):
            raise SourceError(f"{p}: this dsdoctor has no reader for {fmt.name} files") from None
        extra = fmt.extra or "models"
        raise SourceError(f"{p}: reading {fmt.name} models needs the {e.name} package: "
                          f"pip install 'dsdoctor[{extra}]'") from None  # fmt: skip
    reader: Reader = getattr(module, fmt.function)
    facts = reader(p)
    if p.name != "MLmodel" and p.parent == Path(path) and Path(path).is_dir():
        # a Hugging Face folder: findings name the folder given ("bert config.json vocab_size")
        from dataclasses import replace

        facts = replace(facts, path=str(path), notes=(f"read {p.name} in {path}", *facts.notes))
    return facts
