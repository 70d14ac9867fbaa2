"""Checks of the values themselves: infinite numbers, missing values, constant features, pickled
objects."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ..engine.columns import ColumnFacts
from ..engine.stats import MISSING_ROWS
from ..findings import Finding, Fix, Severity
from . import fixes
from .base import Check, Context, Subject


class NonFiniteValues(Check):
    """The array contains +Inf or -Inf.

    What it means:
    An overflow became infinite: a float16/float32 cast of a value too large, ``exp`` of a big
    number, a division by zero in preprocessing, a log of 0. (NaN is a missing value: it is
    reported as ``missing-values``, DS405, with its columns and rows; this finding counts the
    NaN beside the infinities in its evidence.)

    Why frameworks fail:
    Nothing complains at first: the first batch containing an Inf makes the loss Inf or NaN,
    the gradients NaN, and every weight NaN from then on ("loss: nan").

    How to repair:
    Find where the values come from (the evidence counts them) and clip the overflow, or use a
    wider dtype, in preprocessing.

    Example:
    dsdoctor check --x x.npy
    """

    code, name, severity, family = "DS401", "non-finite-values", Severity.ERROR, "values"
    template = (
        "{x_name} has {total:,} infinite values of {values:,}: {posinf:,} +Inf, {neginf:,} -Inf"
    )

    def run(self, ctx: Context) -> Iterator[Finding]:
        for s in ctx.subjects:
            st = s.stats
            if st is None or not (st.posinf or st.neginf) or s.not_data:
                continue
            evidence = {"nan": st.nan, "posinf": st.posinf, "neginf": st.neginf,
                        "total": st.posinf + st.neginf, "values": st.values}  # fmt: skip
            yield self.finding([s], evidence, x_name=s.name)


class MissingValues(Check):
    """Values are missing: NaN in a float array, nulls in a table column of any kind.

    What it means:
    An empty CSV cell, a Parquet null, a pandas ``NaN``/``None``/``NaT``: the value was never
    measured. A null in an integer or bool column reads as NaN (the column becomes float); a
    null in a string, category or date column is counted there too, so the finding names every
    column holding one, how many, and the first row numbers (0-based, over the whole dataset —
    every shard, every chunk) to find them.

    Why frameworks fail:
    Nothing complains at first: the first batch containing a NaN makes the loss NaN, the
    gradients NaN, and every weight NaN from then on ("loss: nan"). scikit-learn refuses it
    ("Input X contains NaN"); an encoder of a string column meets ``None`` and fails, or makes
    "nan" a class.

    How to repair:
    Drop the rows (``dsdoctor dropna``, which drops the same rows from x and y and writes the
    row numbers it kept), or fill the values (``dsdoctor impute --strategy
    mean|median|most-frequent|constant``, which records the fill values so that ``impute --from``
    fills the validation and test splits with the training split's statistics). ``pad``
    refuses nulls inside integer sequences (a cast would make them numbers the mask calls real)
    unless padding to a float ``--dtype``, where they stay NaN. A spec file's ``nullable = true``
    allows NaN in an array.

    Example:
    dsdoctor check penguins.csv --target species
    dsdoctor dropna penguins.csv --target species -o penguins.dropna.parquet
    dsdoctor impute train.csv --strategy median -o train.imputed.parquet
    dsdoctor impute val.csv --from train.imputed.parquet -o val.imputed.parquet
    """

    code, name, severity, family = "DS405", "missing-values", Severity.ERROR, "values"
    template = (
        "{where} has {missing:,} missing {noun} in {count} {what}: {listing}; first rows {rows}"
    )

    def run(self, ctx: Context) -> Iterator[Finding]:
        groups: dict[str, list[Subject]] = {}
        for s in ctx.subjects:
            st = s.stats
            if st is None or not (st.missing or st.null_rows) or s.not_data:
                continue
            spec = getattr(s, "spec", None)
            if spec is not None and spec.nullable:
                continue  # NaN in an array the spec declares nullable is allowed
            groups.setdefault(missing_key(ctx, s), []).append(s)
        columns: dict[str, list[ColumnFacts]] = {}
        for c in ctx.columns:
            if c.nulls:
                columns.setdefault(c.source, []).append(c)
        for key in list(columns):
            if key not in groups and any(table_display(s) == key for s in ctx.subjects):
                groups[key] = []
        for key in [*groups, *(k for k in columns if k not in groups)]:
            yield self._finding(ctx, key, groups.get(key, []), columns.get(key, []))

    def _finding(self, ctx: Context, key: str, subjects: list[Subject],
                 columns: list[ColumnFacts]) -> Finding:  # fmt: skip
        counts: dict[str, int] = {}
        rows: set[int] = set()
        table = any(table_display(s) is not None for s in subjects) or (columns and not subjects)
        for s in subjects:
            st = s.stats
            assert st is not None
            labels = feature_labels(s)
            for label, n in zip(labels, [] if st.fmissing is None else st.fmissing.tolist(), strict=False):  # fmt: skip
                if n:
                    counts[label] = counts.get(label, 0) + int(n)
            rows.update(st.missing_rows)
            if st.null_rows:  # null sequences: missing, though they read as empty ones
                label = f"{labels[0] if len(labels) == 1 else s.name} (null sequences)"
                counts[label] = counts.get(label, 0) + st.null_rows
                rows.update(st.null_row_numbers)
        for c in columns:
            counts[c.name] = counts.get(c.name, 0) + c.nulls
            rows.update(c.null_rows)
        first = sorted(rows)[:MISSING_ROWS]  # each list is its part's first: so is this
        total = sum(counts.values())
        shown = list(counts.items())
        listing = ", ".join(f"{name} {n:,}" for name, n in shown[:10])
        if len(shown) > 10:
            listing += f" and {len(shown) - 10} more"
        what = ("column" if table else "feature") + ("s" if len(counts) != 1 else "")
        evidence = {"missing": total, "counts": counts, "rows": first}
        every = [*subjects, *(y for x in subjects if (y := ctx.target_of(x)) is not None)]
        named = list(dict.fromkeys(s.name for s in every)) or [key]
        fx = missing_fixes(ctx, key, subjects)
        finding = self.finding([], evidence, fx, where=key, count=len(counts), what=what, noun="value" if total == 1 else "values",
                               listing=listing, rows=", ".join(map(str, first)) + ("…" if len(first) >= MISSING_ROWS else ""))  # fmt: skip
        finding.arrays = named
        return finding


def table_display(s: Subject) -> str | None:
    """The table a subject's columns come from, as the user named it (None: not a table)."""
    table = getattr(s.handle, "table", None)
    if table is not None:
        return str(table.display)
    shards = getattr(s.handle, "shards", None)
    if shards and getattr(shards[0], "table", None) is not None:
        return s.handle.source.split(":", 1)[0] if ":" in s.handle.source else s.handle.source
    return None


def missing_key(ctx: Context, s: Subject) -> str:
    """What a subject's missing values are reported under: its table, else its x (a target
    is reported with the inputs it is paired with: dropping rows drops them from both)."""
    shown = table_display(s)
    if shown is not None:
        return shown
    if s.role == "y":
        x = next((xx for xx, yy in ctx.pairs if yy is s), None)
        if x is not None:
            return table_display(x) or x.name
    return s.name


def feature_labels(s: Subject) -> list[str]:
    """A name per feature (last axis): the table's column names, else ``feature i`` (an array
    of one value per sample: its own name)."""
    h = s.handle
    names = h.layout.get("columns")
    width = 1 if one_feature(s) else h.shape[-1]
    if names and (len(names) == width or (width == 1 and len(names) == 1)):
        return [str(n) for n in names]
    if one_feature(s):
        return [s.name]
    return [f"feature {i}" for i in range(width or 0)]


def one_feature(s: Subject) -> bool:
    """Each value is the array's one feature: one value per sample (N,), or sequences whose
    timesteps are scalars — ragged (N, None), or padded (N, T) (axis 1 is time, never features;
    ``Subject.sequence``). Otherwise the features are the last axis."""
    h = s.handle
    return h.ndim <= 1 or (h.ndim == 2 and (h.ragged or s.sequence is not None))


def missing_fixes(ctx: Context, key: str, subjects: list[Subject]) -> list[Fix]:
    """``dropna`` and ``impute`` for a table (every column kept, the target with the inputs)
    or for an array (with its paired target)."""
    if not subjects:
        return []
    x = next((s for s in subjects if s.role != "y"), subjects[0])
    if table_display(x) is not None:
        if getattr(x.handle, "table", None) is None:
            return []  # a folder of tables: dropna/impute read one table at a time
        y = ctx.target_of(x) if x.role == "x" else None
        target = (
            y.handle.layout.get("columns", [None])[0]
            if y is not None and table_display(y) == key
            else None
        )
        if x.handle.ragged or x.handle.ndim > 2:
            return []
        return [
            fixes.dropna_table(x.handle, key, target),
            fixes.impute_table(x.handle, key, target),
        ]
    if x.role == "y" or x.handle.ragged or not x.handle.shape:
        return []
    y = ctx.target_of(x)
    return [
        fixes.dropna_array(x.handle, y.handle if y is not None else None),
        fixes.impute_array(x.handle),
    ]


class ConstantFeature(Check):
    """A feature has one value in every sample.

    What it means:
    The feature carries no information: its minimum equals its maximum over the whole dataset.
    Often a flag that never fires in this export, a column filled with a default, or the border
    pixels of an image table. The features are the last axis: the columns of an (N, F) table;
    for sequences (N, T, F) each feature over every sample and timestep, never a timestep (an
    (N, T) array of padded or ragged scalars has one feature, each timestep's value); for
    images (N, H, W, C) each channel over every sample and position. Padding is left out when
    it is known — ``--mask-value V``, or the provenance of dsdoctor's own ``pad``/``bucket``
    output — so a feature that is 5 at every real timestep is constant although the padding is
    0; without it, padding timesteps count as values. dsdoctor's own mask and lengths outputs
    are not data and are not read for this (the report says so).

    Why frameworks fail:
    They do not; but standardising it divides by a zero standard deviation (NaN after
    ``StandardScaler`` without care, or ``(x - mean) / std`` by hand), and it wastes a weight.

    How to repair:
    Drop it with ``dsdoctor select SRC --features …`` (lossy by definition, although nothing
    varying is lost), or check the export that produced it. A long selection is written as
    ranges (``--features 0:72``, ``0:10,12:80``) or, when even that is long, read from a file
    (``--features @x.features.txt``; ``check --fix-files`` writes it).

    Example:
    dsdoctor check --x x.npy
    dsdoctor select x.npy --features 0,1,3:40 -o x.selected.npy
    """

    code, name, severity, family = "DS402", "constant-feature", Severity.WARNING, "values"
    template = "{x_name}: {count} of {width} {noun} are constant{over} ({listing}){hint}"

    def run(self, ctx: Context) -> Iterator[Finding]:
        for s in ctx.subjects:
            h, st = s.handle, s.stats
            if st is None or s.role == "y" or s.not_data or h.ndim < 2:
                continue
            found = st.constant_features()
            if not found:
                continue
            labels = feature_labels(s)
            width = len(labels)
            constant, values = list(found), list(found.values())
            over = self._over(s)
            evidence = {"features": constant, "values": values, "count": len(constant),
                        "width": width, "axis": -1, "padding": s.sequence}  # fmt: skip
            if one_feature(s):
                yield self.finding([s], evidence, x_name=s.name, value=_g(values[0]), over=over,
                                   template="{x_name}: its one feature is constant{over}: every value is {value}")  # fmt: skip
                continue
            listing = constant_listing(labels, constant, values)
            keep = [i for i in range(width) if i not in found]
            fx = [fixes.select_features(h, keep)] if keep and not h.ragged else []
            if (
                keep
                and getattr(h, "table", None) is not None
                and h.layout.get("columns")
                and h.ndim == 2
            ):
                fx = [fixes.select_columns(h, [labels[i] for i in keep],
                                           f"keep the {len(keep)} columns that vary")]  # fmt: skip
            hint = ""
            if padding_like(s, constant, values, width):
                fx = []  # dropping them would drop timesteps
                evidence["looks_padded"] = True
                hint = (f"; they are the {'first' if constant[0] == 0 else 'last'} {len(constant)} of the last axis, "
                        f"all {_g(values[0])}: if these are padded sequences (N, T), that axis is time, not "
                        f"features — pass --mask-value {_g(values[0])}")  # fmt: skip
            noun = ("channels (last axis)" if h.ndim >= 4
                    else "columns" if h.layout.get("columns") and len(h.layout["columns"]) == width
                    else "features")  # fmt: skip
            yield self.finding([s], evidence, fx, x_name=s.name, listing=listing, noun=noun,
                               over=over, hint=hint)  # fmt: skip

    @staticmethod
    def _over(s: Subject) -> str:
        """Over what the feature is constant, and how padding was treated."""
        h = s.handle
        steps = "timestep" if h.ragged or s.sequence is not None or h.ndim == 3 else ""
        over = (f" over every sample and {steps}" if steps
                else " over every sample and position" if h.ndim >= 4 else "")  # fmt: skip
        known = s.sequence or {}
        if known.get("value") is not None:
            over = (
                over.replace(steps, f"real {steps}")
                + f" (padding {_g(known['value'])} left out: {known['from']})"
            )
        return over


def constant_listing(labels: list[str], constant: list[int], values: list, shown: int = 10) -> str:
    """``feature 0–70 = 0, feature 80 = 1, …``: the first ``shown`` runs of consecutive
    features holding one value (named features — a table's columns — one by one)."""
    generic = all(label == f"feature {i}" for i, label in enumerate(labels))
    runs: list[tuple[int, int, Any]] = []  # (first, last, value)
    for i, v in zip(constant, values, strict=True):
        if generic and runs and runs[-1][1] == i - 1 and runs[-1][2] == v:
            runs[-1] = (runs[-1][0], i, v)
        else:
            runs.append((i, i, v))
    parts = [f"{'features' if a != b else 'feature'} {a}–{b} = {_g(v)}" if a != b
             else f"{labels[a]} = {_g(v)}" for a, b, v in runs[:shown]]  # fmt: skip
    return ", ".join(parts) + (", …" if len(runs) > shown else "")


def padding_like(s: Subject, constant: list[int], values: list, width: int) -> bool:
    """Whether the constant features of an (N, W) array not known to be sequences look like the
    padding of sequences whose time axis is last (Keras ``pad_sequences`` output): at least two,
    one block at the start or the end of the axis, all the same value, on an array that is not
    a table (a table's columns are features by name)."""
    h = s.handle
    if h.ndim != 2 or h.ragged or s.sequence is not None or h.layout.get("columns"):
        return False
    k = len(constant)
    block = constant == list(range(k)) or constant == list(range(width - k, width))
    return 2 <= k < width and block and len(set(values)) == 1


def _g(v: object) -> str:
    return f"{v:g}" if isinstance(v, int | float) and not isinstance(v, bool) else str(v)


class UnwrittenData(Check):
    """Rows the file declares but never stored: they read as its fill value.

    What it means:
    HDF5 allocates a dataset's storage when data is written to it. A dataset created with a
    shape and never (or only partly) written holds no data for those rows: reading them gives
    the dataset's fill value (0 unless another was set), and the file can be tiny while it
    declares terabytes. dsdoctor counts such rows from the file's chunk index without reading
    them; ``inspect`` shows ``storage=never written`` when nothing at all was written. Zarr is
    not: zarr leaves out every chunk that holds only the fill value (it does not write empty
    chunks unless told to), so a missing Zarr chunk is data equal to the fill value, read as
    such (``inspect`` names how many chunks are implicit), never this finding.

    Why frameworks fail:
    They do not: a loader reads the fill value as if it were data, and a model trains on
    zeros (or NaN, if the fill value is NaN), or waits hours for rows that hold nothing.

    How to repair:
    Find the writer that created the dataset and did not fill it (a preallocated
    ``create_dataset(shape=…)`` whose loop stopped early, a resize never followed by a write),
    and write the data, or cut the dataset to the rows actually written.

    Example:
    dsdoctor check --x train.h5:/x
    """

    code, name, severity, family = "DS404", "unwritten-data", Severity.WARNING, "values"
    template = "{x_name}: {unwritten:,} of {rows:,} rows were never written to the file; they read as {fill}"

    def run(self, ctx: Context) -> Iterator[Finding]:
        for s in ctx.subjects:
            st = s.stats
            if st is None or not st.unwritten_rows:
                continue
            fill = s.handle.layout.get("fill_value")
            words = ("empty sequences" if s.handle.ragged else
                     "the fill value" + ("" if fill is None else f" {fill}"))  # fmt: skip
            yield self.finding([s], {"unwritten": st.unwritten_rows, "rows": st.rows, "fill_value": fill},
                               x_name=s.name, fill=words)  # fmt: skip


class UnsafePickle(Check):
    """An object array whose contents are Python pickles.

    What it means:
    ``np.save`` on an array of Python objects (ragged lists, mixed types) writes a pickle.
    Loading it runs whatever code the pickle names, so a data file can execute anything.

    Why frameworks fail:
    ``np.load`` refuses by default: "Object arrays cannot be loaded when allow_pickle=False".
    Passing ``allow_pickle=True`` on an untrusted file is remote code execution.

    How to repair:
    Re-save the data as numbers: ragged sequences as values + lengths in an .npz
    (``np.savez(f, seq=np.concatenate(seqs), seq_lengths=lengths)``) or a Parquet list column.
    dsdoctor never unpickles unless you pass ``--allow-pickle`` for a file you trust; then it
    reads the array whole (a pickle cannot be read in parts) as ragged sequences when every
    element is a list, tuple or array of numbers (``pad`` and ``bucket`` take it), as numbers
    when every element is a number, as text labels when every one is a string, and still warns.
    Any other element (None among lists, a string inside a sequence, timesteps of another shape)
    is named in an error finding, and the array is not read.

    Example:
    dsdoctor check --x sequences.npy
    dsdoctor check --x sequences.npy --allow-pickle
    """

    code, name, severity, family = "DS403", "unsafe-pickle", Severity.ERROR, "values"
    template = "{x_name} is an object array ({dtype}, shape {shape}): loading it would unpickle Python objects; not read"
    unpickled = ("{x_name} is an object array unpickled with --allow-pickle, which "
                 "runs any code it holds; read as {read_as}. Re-save it without pickle ({resave})")  # fmt: skip
    unreadable = ("{x_name} is an object array (shape {shape}) unpickled with --allow-pickle but not "
                  "read: {reason}")  # fmt: skip

    def run(self, ctx: Context) -> Iterator[Finding]:
        for s in ctx.subjects:
            h = s.handle
            if not h.pickled:
                continue
            evidence: dict = {"dtype": str(h.dtype), "shape": list(h.shape)}
            if h.unsafe:
                yield self.finding([s], evidence, x_name=s.name)
            elif h.skip:
                yield self.finding([s], {**evidence, "unpickled": True, "reason": h.skip},
                                   template=self.unreadable, x_name=s.name)  # fmt: skip
            else:
                ragged = h.ragged
                yield self.finding(
                    [s],
                    {**evidence, "unpickled": True,
                     "read_as": "sequences" if ragged else "text" if h.categorical else "numbers"},
                    severity=Severity.WARNING, template=self.unpickled, x_name=s.name,
                    read_as=(f"{h.n:,} variable-length sequences of {h.dtype}" if ragged else
                             "text labels" if h.categorical else f"numbers ({h.dtype})"),
                    resave=("values + lengths in an .npz, or a Parquet list column" if ragged
                            else "a Parquet column" if h.categorical
                            else f"np.save(f, arr.astype('{h.dtype}'))"),
                )  # fmt: skip


#: Model formats whose runtime takes only the input's own dtype: PyTorch (a state_dict's
#: weights, its ONNX export) refuses a float64 or integer tensor in a float32 layer, ONNX
#: Runtime and the TFLite interpreter any other dtype. Keras casts its inputs: not checked.
STRICT_DTYPE_FORMATS = ("onnx", "tflite", "torch", "safetensors", "mlflow")
RUNTIMES = {"onnx": "ONNX Runtime", "tflite": "the TFLite interpreter", "torch": "PyTorch",
            "safetensors": "PyTorch", "mlflow": "MLflow's schema enforcement"}  # fmt: skip


def dtype_clash(have: str, want: str, fmt: str) -> str | None:
    """None when data of numpy dtype ``have`` passes an input of ``want`` in a ``fmt`` model;
    else the words the finding adds ("" for none). Integer ids of another width pass PyTorch's
    Embedding (Int or Long)."""
    is_int = want.startswith(("int", "uint"))
    is_float = want.startswith(("float", "bfloat"))
    if have == want or not (is_int or is_float):
        return None
    kind = "float" if have.startswith("float") else "int" if have.startswith(("int", "uint")) else (
        "bool" if have == "bool" else None)  # fmt: skip
    if kind is None:
        return None
    if is_int and kind == "float" and fmt == "tflite" and want in ("int8", "uint8"):
        return (" (a quantized input: scale and shift it by the input's quantization "
                "parameters rather than only casting)")  # fmt: skip
    if is_int and kind == "float":
        return " (token ids saved as floats?)"
    if is_float and kind in ("int", "bool"):
        return ""
    if is_float:
        return ""
    if fmt in ("onnx", "tflite") and kind in ("int", "bool"):
        return ""
    return None


class InputDtypeMismatch(Check):
    """The input's dtype is not the one the model's input takes, in a runtime that does not cast.

    What it means:
    The model file declares its input's dtype: float32 for most layers, int64 (or int32) token
    ids for an Embedding. The data is another one: float64 from pandas or ``np.random``,
    integer features, token ids saved as floats. Checked for ONNX, TFLite, PyTorch
    (safetensors, ``.pt``) models and MLflow tensor signatures; Keras casts its inputs and is not checked (the report notes
    a float into an int input: its fractions are truncated).

    Why frameworks fail:
    PyTorch: "mat1 and mat2 must have the same dtype, but got Double and Float" (Linear),
    "RNN input dtype (torch.float64) does not match weight dtype (torch.float32)" (GRU/LSTM),
    "Expected tensor for argument #1 'indices' to have one of the following scalar types: Long,
    Int; but got torch.FloatTensor" (Embedding). ONNX Runtime: "Unexpected input data type.
    Actual: (tensor(double)) , expected: (tensor(float))"; the TFLite interpreter: "Got value
    of type FLOAT64 but expected type FLOAT32 for input 0"; MLflow's ``predict``: "dtype of
    input float64 does not match expected dtype float32".

    How to repair:
    Cast when loading: ``x.astype("float32")`` (``torch.from_numpy(x).float()``), or for token
    ids ``x.astype("int64")`` (``.long()``) after checking they are whole numbers; or save the
    array cast once (``np.save("x.float32.npy", np.load("x.npy").astype("float32"))``).

    Example:
    dsdoctor check --x x.npy --model model.onnx
    """

    code, name, severity, family = "DS406", "input-dtype-mismatch", Severity.ERROR, "values"
    template = ("{x_name} is {actual}{why} but {by} takes {expected}, and {runtime} does not "
                "cast; cast it when loading: {var}.astype('{expected}'){torch}")  # fmt: skip

    def run(self, ctx: Context) -> Iterator[Finding]:
        expect = ctx.expect
        facts = expect.model
        if facts is None or facts.format not in STRICT_DTYPE_FORMATS or facts.columns:
            return  # an MLflow column spec: its columns are checked by name (DS201)
        spec = next((i for i in facts.inputs if i.name == expect.model_input), None)
        if spec is None or spec.dtype is None:
            return
        if facts.format in ("torch", "safetensors") and spec.dtype in ("float16", "bfloat16"):
            return  # half-precision weights are cast (.float()) or autocast when loaded
        inferred = facts.confidence.get("inputs") == "inferred"
        for x in ctx.inputs():
            h = x.handle
            if h.unsafe or h.skip or x.not_data or h.dtype.kind not in "iufb":
                continue
            why = dtype_clash(h.dtype.name, spec.dtype, facts.format)
            if why is None:
                continue
            torch = {"float32": ".float()", "int64": ".long()", "float64": ".double()",
                     "int32": ".int()"}.get(spec.dtype) if RUNTIMES[facts.format] == "PyTorch" else None  # fmt: skip
            evidence = {"actual": h.dtype.name, "expected": spec.dtype, "input": spec.name,
                        "model": facts.path, "model_where": f"input `{spec.name}`"}  # fmt: skip
            yield self.finding([x], evidence, x_name=x.name, why=why,
                               by=f"{expect.model_name} input `{spec.name}`"
                               + (" (inferred)" if inferred else ""),
                               torch=f" (torch: {torch})" if torch else "", var=_variable(x.name),
                               runtime=RUNTIMES[facts.format])  # fmt: skip


def _variable(name: str) -> str:
    """The Python name an array is loaded as, for a message's code: ``data/state.npy`` and
    ``vad.npz:state`` → ``state``, ``x`` → ``x``."""
    from ..formats import strip_extension

    base = re.sub(r"\W", "_", strip_extension(re.split(r"[:/\\]", name)[-1]))
    return base if base.isidentifier() else "x"
