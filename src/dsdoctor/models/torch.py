"""PyTorch ``.pt``/``.pth``: a pickle, so read only through ``torch.load(weights_only=True)`` —
torch's own unpickler that resolves no global outside its list of tensor types — with
``mmap=True`` so that no tensor data is read. A state_dict (or a checkpoint dict holding one)
then goes through the weight-name conventions of :mod:`.weights`, in the order its modules were
registered. A whole pickled module, a TorchScript archive, or anything else ``weights_only``
refuses is refused, not unpickled. Without torch there is no safe way to read the file: the
error names the formats dsdoctor reads without it and how to export one.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import SourceError, UnsafeInputError
from ..units import format_bytes
from .base import ModelFacts
from .weights import Weight, facts_from_weights

#: torch before 2.6 could run code from a weights_only load (CVE-2025-32434).
MIN_TORCH = (2, 6)
#: A legacy (pre-1.6, not zip) file cannot be memory-mapped: it is read whole, up to this size.
LEGACY_MAX_BYTES = 1024**3
#: The pickle of a torch.save zip (``data.pkl``) holds names and shapes, not tensor data: a
#: 70-billion-parameter state_dict's is under 1 MB.
PICKLE_MAX_BYTES = 100 * 1024**2
#: Keys under which checkpoints keep the model's weights, tried in this order.
NESTED = ("state_dict", "model_state_dict", "model", "module", "net", "network", "weights")

EXPORT = ("save the weights alone with safetensors.torch.save_file(model.state_dict(), "
          "'model.safetensors'), or export the model with torch.onnx.export")  # fmt: skip
SAFE_FORMATS = ".safetensors, .onnx, .keras, .h5, .tflite, MLmodel"


def _refused(path: Path, why: str) -> UnsafeInputError:
    return UnsafeInputError(f"{path}: {why}; it was not unpickled. To check data against the "
                            f"model, {EXPORT}")  # fmt: skip


def read_torch(path: Path) -> ModelFacts:
    """The facts of a PyTorch ``.pt``/``.pth`` state_dict (see the module's docstring)."""
    with path.open("rb") as f:
        head = f.read(16)
    if len(head) >= 9 and not head.startswith(b"PK") and head[8:9] == b"{":
        from .safetensors import read_safetensors  # a safetensors file named .pt

        return read_safetensors(path)
    try:
        import torch
    except ImportError:
        raise SourceError(
            f"{path}: a PyTorch file is a pickle, which dsdoctor reads only through "
            "torch.load(weights_only=True), and torch is not installed. Install torch, or use a "
            f"format read without code ({SAFE_FORMATS}): {EXPORT}"
        ) from None
    version = tuple(int(p) for p in torch.__version__.split("+")[0].split(".")[:2] if p.isdigit())
    if version < MIN_TORCH:
        raise SourceError(f"{path}: torch {torch.__version__} can run code while loading even "
                          "with weights_only=True (CVE-2025-32434); install torch>=2.6 to read "
                          f"it, or {EXPORT}")  # fmt: skip
    import pickle

    _check_archive(path)
    notes: list[str] = []
    try:
        obj = _load(torch, path, notes)
    except pickle.UnpicklingError as e:
        text = str(e)
        if "Weights only load failed" not in text:
            raise SourceError(f"{path}: not a file torch.load can read ({text[:120]})") from None
        import re

        glob = re.search(r"GLOBAL ([\w.]+)", text)
        name = glob[1] if glob else None
        if name and "is blocked" in text:
            why = f"it calls `{name}`, code that would run on loading"
        elif name:
            why = (f"it holds a pickled `{name}` object, not only tensors (a whole module "
                   "saved with torch.save(model) instead of its state_dict, or another class)")  # fmt: skip
        else:
            said = re.search(r"WeightsUnpickler error: \s*(.+)", text)
            why = (f"{said[1].strip()[:80] if said else 'not tensor data'}: not a state_dict, "
                   "or not a PyTorch file")  # fmt: skip
        raise _refused(path, f"torch.load(weights_only=True) refused it: {why}") from None
    except RuntimeError as e:
        if "TorchScript" in str(e):
            raise _refused(path, "a TorchScript archive (torch.jit.save), which is code") from None
        raise SourceError(f"{path}: not a file torch.load can read ({str(e)[:120]})") from None
    except (EOFError, ValueError, OSError, KeyError, AttributeError, TypeError) as e:
        raise SourceError(f"{path}: not a file torch.load can read "
                          f"({type(e).__name__}: {str(e)[:120]})") from None  # fmt: skip
    state = _state_dict(obj, torch, notes)
    if state is None:
        raise SourceError(f"{path}: torch.load(weights_only=True) gave a {type(obj).__name__}, "
                          "not a state_dict of named tensors; save model.state_dict(), or "
                          f"{EXPORT}")  # fmt: skip
    weights = [Weight(str(k), tuple(int(d) for d in t.shape), str(t.dtype).removeprefix("torch."))
               for k, t in state.items() if isinstance(t, torch.Tensor)]  # fmt: skip
    skipped = len(state) - len(weights)
    if skipped:
        notes.append(f"{skipped} entries of the state_dict are not tensors; not used")
    return facts_from_weights(path, "torch", weights, ordered=True, notes=notes)


def _check_archive(path: Path) -> None:
    """Before torch opens it: a TorchScript archive (code) is refused, and a pickle member larger
    than :data:`PICKLE_MAX_BYTES` (torch reads it whole into memory) too."""
    import zipfile

    if not zipfile.is_zipfile(path):
        return  # a legacy file: torch.load reads and checks it
    try:
        with zipfile.ZipFile(path) as z:
            members = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise SourceError(f"{path}: a damaged torch.save archive ({e})") from None
    names = [m.filename.rpartition("/")[2] for m in members]
    if "constants.pkl" in names or any("/code/" in m.filename for m in members):
        raise _refused(path, "a TorchScript archive (torch.jit.save), which is code")
    for m in members:
        if m.filename.endswith(".pkl") and m.file_size > PICKLE_MAX_BYTES:
            raise UnsafeInputError(
                f"{path}: its pickle {m.filename} is {format_bytes(m.file_size)}; a state_dict's "
                f"is a few MB and dsdoctor reads one up to {format_bytes(PICKLE_MAX_BYTES)}; "
                f"nothing read. {EXPORT[0].upper()}{EXPORT[1:]}"
            )


def _load(torch, path: Path, notes: list[str]):
    """``torch.load(weights_only=True)``, memory-mapped; a legacy (not zip) file, which cannot
    be mapped, is read whole up to :data:`LEGACY_MAX_BYTES`."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore"
        )  # torch's warnings name torch.jit.load and weights_only=False
        try:
            return torch.load(path, weights_only=True, map_location="cpu", mmap=True)
        except RuntimeError as e:
            if "mmap can only be used" not in str(e):
                raise
        size = path.stat().st_size
        if size > LEGACY_MAX_BYTES:
            raise SourceError(
                f"{path}: a legacy (pre-zip) torch.save file of {format_bytes(size)}; without "
                f"memory mapping dsdoctor reads such files up to {format_bytes(LEGACY_MAX_BYTES)}"
                f". Re-save it with a current torch, or {EXPORT}"
            )
        notes.append("a legacy (pre-zip) torch.save file, read whole (not memory-mapped)")
        return torch.load(path, weights_only=True, map_location="cpu")


def _state_dict(obj, torch, notes: list[str]) -> dict | None:
    """``obj`` if it maps names to tensors, else the first of its :data:`NESTED` entries that
    does (a training checkpoint: ``{"model_state_dict": …, "optimizer_state_dict": …}``)."""

    def tensors(d) -> bool:
        return isinstance(d, dict) and bool(d) and any(
            isinstance(v, torch.Tensor) for v in d.values())  # fmt: skip

    if tensors(obj):
        return obj
    if isinstance(obj, dict):
        for key in (*NESTED, *obj):
            if isinstance(key, str) and tensors(obj.get(key)):
                others = [str(k) for k in obj if k != key][:6]
                notes.append(f"a checkpoint: the weights are its `{key}` entry"
                             + (f" (it also holds {', '.join(others)})" if others else ""))  # fmt: skip
                return obj[key]
    return None
