"""Facts from a bag of named weights (a safetensors header, a PyTorch state_dict): a sibling
Hugging Face ``config.json`` where there is one, otherwise PyTorch's weight-name conventions.

The conventions, each fact marked ``"inferred"`` and explained in ``notes``:

- ``<rnn>.weight_ih_l0`` of shape ``(G*H, I)`` with ``<rnn>.weight_hh_l0`` of shape ``(G*H, H)``
  is a recurrent layer whose input has ``I`` features; the gate count ``G`` names it (1 RNN,
  3 GRU, 4 LSTM; an LSTM with ``proj_size`` adds ``weight_hr_l0`` of shape ``(P, H)``).
- a 2-D weight of a module named like an embedding (``embed``, ``wte``, ``word_embeddings``…,
  not the position or token-type ones) holds ``vocab_size`` rows.
- a 2-D ``*.weight`` is a ``Linear(in, out)`` stored ``(out, in)``: the first one by module order
  gives the input's features, the last one (or one named like a head: ``classifier``, ``head``,
  ``fc_out``…) the output units. A state_dict keeps the order the modules were registered in; a
  safetensors header is sorted by name, so its order is a guess from the names (``0.weight``,
  ``layers.1.weight``, ``fc2.weight`` carry their index; ``encoder``/``classifier`` do not).
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import SourceError, UnsafeInputError
from ..units import format_bytes
from .base import ModelFacts, TensorSpec

#: A Hugging Face config.json is a few kB; one with 21k ImageNet labels is about 1 MB.
CONFIG_MAX_BYTES = 16 * 1024**2

GATES = {1: "RNN", 3: "GRU", 4: "LSTM"}
HEAD_WORDS = {"classifier", "head", "fc_out", "out", "output", "logits", "score", "lm_head",
              "final", "predictor", "decoder_head", "out_proj_head"}  # fmt: skip
VOCAB_NAMES = ("word_embeddings", "wte", "embed_tokens", "tok_embeddings", "token_embedding",
               "tok_embedding", "word_embedding")  # fmt: skip
NOT_VOCAB = ("position", "pos_emb", "wpe", "token_type", "segment", "type_emb")
#: The config.json keys read as positive integers (a value of another type is named in the notes).
INT_KEYS = ("vocab_size", "max_position_embeddings", "n_positions", "max_seq_len", "n_ctx",
            "hidden_size", "n_embd", "d_model", "dim", "num_labels", "image_size", "num_channels")  # fmt: skip


@dataclass(frozen=True)
class Weight:
    """One named tensor: its shape and numpy dtype name (``"float32"``; None if unknown)."""

    name: str
    shape: tuple[int, ...]
    dtype: str | None

    @property
    def module(self) -> str:
        return self.name.rpartition(".")[0]

    @property
    def param(self) -> str:
        return self.name.rpartition(".")[2]


def natural_key(name: str) -> tuple:
    """``layers.10.weight`` after ``layers.2.weight``: digits compare as numbers."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"[.]|(\d+)", name)
                 if p)  # fmt: skip


def has_index(module: str) -> bool:
    """The module's name carries its position: ``0``, ``layers.3``, ``fc2``, ``layer1``."""
    return bool(re.search(r"\d", module))


def facts_from_weights(path: Path, fmt: str, weights: list[Weight], *, ordered: bool,
                       notes: list[str]) -> ModelFacts:  # fmt: skip
    """The facts ``weights`` give, from a sibling ``config.json`` if there is one, otherwise
    from the conventions (see the module's docstring)."""
    config = read_hf_config(path)
    if config is not None:
        facts = facts_from_config(path, fmt, config, weights, notes)
        if facts is not None:
            return facts
    return facts_from_names(path, fmt, weights, ordered=ordered, notes=notes)


# -- Hugging Face config.json ------------------------------------------------------------------


def read_hf_config(model: Path) -> dict | None:
    """The ``config.json`` beside ``model`` as a dict, or None when there is none. A file too
    large for a config, or not a JSON object, is refused (it is not what it claims to be)."""
    cfg = model.parent / "config.json"
    if not cfg.is_file():
        return None
    size = cfg.stat().st_size
    if size > CONFIG_MAX_BYTES:
        raise UnsafeInputError(
            f"{cfg}: a config.json of {format_bytes(size)} beside {model.name}; a Hugging Face "
            f"config is a few kB and dsdoctor reads one up to {format_bytes(CONFIG_MAX_BYTES)} "
            "(move it away to read the model's weight names instead)"
        )
    try:
        with cfg.open("rb") as f:
            data = json.loads(f.read(CONFIG_MAX_BYTES + 1).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise SourceError(f"{cfg}: the config.json beside {model.name} is not JSON "
                          f"({str(e)[:120]}); fix or move it") from None  # fmt: skip
    if not isinstance(data, dict):
        raise SourceError(f"{cfg}: the config.json beside {model.name} is a JSON "
                          f"{type(data).__name__}, not an object; fix or move it")  # fmt: skip
    return data


def _int(config: dict, *keys: str) -> tuple[int | None, str | None]:
    for k in keys:
        v = config.get(k)
        if isinstance(v, int) and not isinstance(v, bool) and v > 0:
            return v, k
    return None, None


def facts_from_config(path: Path, fmt: str, config: dict, weights: list[Weight],
                      notes: list[str]) -> ModelFacts | None:  # fmt: skip
    """The facts a Hugging Face config declares, or None if it has none of its keys."""
    cfg = "config.json"
    where: dict[str, str] = {}
    confidence: dict[str, str] = {}
    vocab, vk = _int(config, "vocab_size")
    positions, pk = _int(config, "max_position_embeddings", "n_positions", "max_seq_len", "n_ctx")
    hidden, hk = _int(config, "hidden_size", "n_embd", "d_model", "dim")
    model_type = config.get("model_type")
    arch = config.get("architectures")
    archs = [a for a in arch if isinstance(a, str)] if isinstance(arch, list) else []
    labels, lk = _int(config, "num_labels")
    id2label = config.get("id2label")
    if labels is None and isinstance(id2label, dict) and id2label:
        labels, lk = len(id2label), "id2label"
    image, _ = _int(config, "image_size")
    channels, _ = _int(config, "num_channels")
    bad = [
        f"{k} {config[k]!r}"[:80] for k in INT_KEYS if k in config and _int(config, k)[0] is None
    ]
    if bad:
        notes.append(f"{cfg} beside the model: {', '.join(bad)} — not a positive integer; "
                     "not used")  # fmt: skip
    if not any((vocab, positions, hidden, isinstance(model_type, str), labels, image)):
        notes.append(f"{cfg} beside the model has none of the Hugging Face keys (vocab_size, "
                     "max_position_embeddings, num_labels, hidden_size, model_type) with a "
                     "usable value; not used")  # fmt: skip
        return None
    said = [f"model_type {model_type}" if isinstance(model_type, str) else "",
            f"architectures {', '.join(archs)}" if archs else "",
            f"{hk} {hidden}" if hidden else ""]  # fmt: skip
    notes.append(f"read {cfg} beside the model (Hugging Face): " + "; ".join(s for s in said if s))
    inputs: tuple[TensorSpec, ...] = ()
    if vocab:
        inputs = (TensorSpec("input_ids", (None, None), "int64"),)
        where["vocab_size"] = f"{cfg} {vk}"
        where["inputs"] = f"{cfg} {vk} (token ids, named input_ids as transformers names them)"
        confidence["inputs"] = "inferred"
        emb = _vocab_embedding(weights, [])
        if emb is not None and emb.shape[0] != vocab:
            notes.append(f"{cfg} says vocab_size {vocab} but the weight {emb.name} has "
                         f"{emb.shape[0]} rows")  # fmt: skip
    elif image and channels:
        inputs = (TensorSpec("pixel_values", (None, channels, image, image), "float32"),)
        where["inputs"] = f"{cfg} num_channels, image_size"
    if positions:
        where["max_positions"] = f"{cfg} {pk}"
    output_units = None
    activation = None
    heads = [a for a in archs if re.search(r"For\w*Classification$", a)]
    if labels and (heads or lk == "num_labels"):
        output_units = labels
        where["output_units"] = f"{cfg} {lk}"
        problem = str(config.get("problem_type"))
        activation = {"single_label_classification": "softmax", "regression": "linear",
                      "multi_label_classification": "sigmoid"}.get(problem)  # fmt: skip
        if activation:
            where["output_activation"] = f"{cfg} problem_type"
        elif labels == 1:
            activation = "linear"
            confidence["output_activation"] = "inferred"
            notes.append(f"{cfg}: 1 label and no problem_type: transformers trains it as a "
                         "regression (MSE)")  # fmt: skip
        else:
            notes.append(f"{cfg}: {labels} labels and no problem_type: transformers picks "
                         "single-label (integer class ids) or multi-label (float multi-hot) "
                         "targets by the labels' dtype")  # fmt: skip
    elif labels:
        notes.append(f"{cfg} has {labels} labels but no classification head in its "
                     f"architectures ({', '.join(archs) or 'none named'}); output units not used")  # fmt: skip
    if not inputs:
        notes.append(f"{cfg} does not say the input (no vocab_size, no image_size)")
    outputs = (TensorSpec("logits", (None, output_units)),) if output_units else ()
    for fact in ("inputs", "vocab_size", "max_positions", "output_units", "output_activation"):
        if fact in where:
            confidence.setdefault(fact, "declared")
    return ModelFacts(path=str(path), format=fmt, inputs=inputs, outputs=outputs,
                      output_activation=activation, output_units=output_units,
                      vocab_size=vocab, max_positions=positions, where=where,
                      confidence=confidence, notes=tuple(notes))  # fmt: skip


# -- weight-name conventions ------------------------------------------------------------------


def _vocab_embedding(weights: list[Weight], notes: list[str]) -> Weight | None:
    found = []
    for w in weights:
        low = w.name.lower()
        if len(w.shape) != 2 or w.param != "weight" or any(n in low for n in NOT_VOCAB):
            continue
        last = w.module.rpartition(".")[2].lower()
        if any(v == last for v in VOCAB_NAMES) or "embed" in last or last == "emb":
            found.append(w)
    if not found:
        return None
    found.sort(key=lambda w: (not any(v == w.module.rpartition(".")[2].lower()
                                      for v in VOCAB_NAMES), natural_key(w.name)))  # fmt: skip
    if len(found) > 1:
        notes.append("several embedding weights (" + ", ".join(w.name for w in found[:5])
                     + f"); the vocabulary is read from {found[0].name}")  # fmt: skip
    return found[0]


def _recurrent(weights: dict[str, Weight], order: list[str], notes: list[str]):
    """(module, kind, input size, hidden size, ih weight) of the first recurrent layer."""
    prefixes = [n[: -len("weight_ih_l0")] for n in order if n.endswith("weight_ih_l0")]
    if not prefixes:
        return None
    if len(prefixes) > 1:
        notes.append("several recurrent layers (" + ", ".join(p.rstrip(".") or "(top)"
                     for p in prefixes) + f"); the input is read from the first by order, "
                     f"{prefixes[0].rstrip('.') or '(top)'}")  # fmt: skip
    p = prefixes[0]
    ih, hh, hr = (weights.get(p + k) for k in ("weight_ih_l0", "weight_hh_l0", "weight_hr_l0"))
    assert ih is not None
    module = p.rstrip(".") or ih.name
    if len(ih.shape) != 2:
        notes.append(f"{ih.name} has shape {ih.shape}, not (gates*hidden, input); not used")
        return None
    rows, features = ih.shape
    hidden = hr.shape[1] if hr is not None and len(hr.shape) == 2 else (
        hh.shape[1] if hh is not None and len(hh.shape) == 2 else None)  # fmt: skip
    kind = None
    if hidden:
        kind = GATES.get(rows // hidden) if rows % hidden == 0 else None
        if kind is None:
            notes.append(f"{ih.name} has {rows} rows, not 1, 3 or 4 times the hidden size "
                         f"{hidden}: not a torch RNN/GRU/LSTM; its kind is unknown")  # fmt: skip
        else:
            notes.append(f"{module}: a {kind} (weight_ih_l0 {ih.shape}: {rows // hidden} gates × "
                         f"hidden {hidden}, input {features} features)")  # fmt: skip
    else:
        notes.append(f"{module}: recurrent (weight_ih_l0 {ih.shape}, input {features} features); "
                     "without weight_hh_l0 its hidden size, so GRU (3 gates) or LSTM (4), "
                     "is not known")  # fmt: skip
    if (p + "weight_ih_l0_reverse") in weights:
        notes.append(f"{module} is bidirectional: its output has 2×{hidden or '?'} features")
    layers = sum(1 for n in weights if re.fullmatch(re.escape(p) + r"weight_ih_l\d+", n))
    if layers > 1:
        notes.append(f"{module} stacks {layers} layers")
    notes.append("batch_first is not stored with the weights: the input is taken as (batch, "
                 "time, features); a module built with batch_first=False takes (time, batch, "
                 "features)")  # fmt: skip
    return module, kind, features, hidden, ih


def _embedding_before(rnn, by_name: dict[str, Weight], order: list[str],
                      notes: list[str]) -> Weight | None:  # fmt: skip
    """A weight not named like an embedding that is one: ``nn.Sequential(nn.Embedding(V, D),
    nn.GRU(D, H))`` stores ``0.weight`` (V, D) and no ``0.bias``. The 2-D ``weight`` just before
    the first recurrent layer, without a bias, whose width D is the layer's input features, is an
    Embedding of V tokens (a Linear(in, D) before it stores (D, in), with a bias)."""
    features, ih = rnn[2], rnn[4]
    before = order[: order.index(ih.name)] if ih.name in order else []
    for name in reversed(before):
        w = by_name[name]
        if w.param != "weight" or len(w.shape) != 2:
            continue
        if w.shape[1] != features or f"{w.module}.bias" in by_name or w.module == "":
            return None
        notes.append(f"{w.name} {w.shape}: no bias, its width {features} is the input of "
                     f"{rnn[0]}: an embedding (inferred from its place, not its name)")  # fmt: skip
        return w
    return None


def facts_from_names(path: Path, fmt: str, weights: list[Weight], *, ordered: bool,
                     notes: list[str]) -> ModelFacts:  # fmt: skip
    """The facts PyTorch's weight-name conventions give, every one ``"inferred"``."""
    order = [w.name for w in weights] if ordered else sorted((w.name for w in weights),
                                                             key=natural_key)  # fmt: skip
    by_name = {w.name: w for w in weights}
    how = ("in the order the modules were registered (a state_dict keeps it)" if ordered else
           "by name (the safetensors header is sorted by name, not by layer)")  # fmt: skip
    where: dict[str, str] = {}
    confidence: dict[str, str] = {}
    inputs: tuple[TensorSpec, ...] = ()
    outputs: tuple[TensorSpec, ...] = ()
    vocab = None
    recurrent = False
    emb = _vocab_embedding(weights, notes)
    rnn = _recurrent(by_name, order, notes)
    if emb is None and rnn is not None:
        emb = _embedding_before(rnn, by_name, order, notes)
    skip = {emb.name} if emb else set()
    rnn_names = {n for n in by_name if re.search(r"weight_(ih|hh|hr)_l\d+(_reverse)?$", n)}
    linears = [by_name[n] for n in order if n not in skip and n not in rnn_names
               and by_name[n].param == "weight" and len(by_name[n].shape) == 2
               and "embed" not in n.lower() and "norm" not in n.lower()]  # fmt: skip
    convs = [by_name[n] for n in order if by_name[n].param == "weight"
             and 3 <= len(by_name[n].shape) <= 5 and n not in skip]  # fmt: skip
    if emb is not None:
        vocab = emb.shape[0]
        inputs = (TensorSpec(emb.module or emb.name, (None, None), "int64"),)
        where["vocab_size"] = where["inputs"] = emb.name
        notes.append(f"{emb.name} {emb.shape}: an embedding of {vocab} tokens × {emb.shape[1]}; "
                     "the input is token ids (batch, time)")  # fmt: skip
    if rnn is not None:
        module, _kind, features, _hidden, ih = rnn
        recurrent = True
        where["recurrent"] = ih.name
        if emb is None:
            inputs = (TensorSpec(module, (None, None, features), ih.dtype),)
            where["inputs"] = ih.name
    elif emb is None and convs and (not linears or order.index(convs[0].name)
                                    < order.index(linears[0].name)):  # fmt: skip
        c = convs[0]
        spatial = len(c.shape) - 2
        inputs = (TensorSpec(c.module, (None, c.shape[1], *([None] * spatial)), c.dtype),)
        where["inputs"] = c.name
        notes.append(f"the first layer {how} is a {spatial}-D convolution ({c.name} {c.shape}): "
                     f"channels-first input with {c.shape[1]} channels")  # fmt: skip
    elif emb is None and linears:
        # a layer named like a head (`classifier`) is the last one wherever its name sorts
        body = [w for w in linears if w.module.rpartition(".")[2].lower() not in HEAD_WORDS]
        first = (body or linears)[0]
        inputs = (TensorSpec(first.module or first.name, (None, first.shape[1]), first.dtype),)
        where["inputs"] = first.name
        sure = ("" if ordered or len(body) <= 1 or has_index(first.module)
                else " — a guess: its name has no index")  # fmt: skip
        notes.append(f"input features {first.shape[1]} from the first Linear {how}, not named "
                     f"like a head: {first.name} {first.shape}{sure}")  # fmt: skip
    output_units = None
    heads = [w for w in linears if w.module.rpartition(".")[2].lower() in HEAD_WORDS]
    if linears and not heads and any(re.search(r"attn|attention", n.lower()) for n in order):
        notes.append("attention layers and no Linear named like a head (classifier, head, "
                     "lm_head…): the output units are not inferred")  # fmt: skip
    elif linears:
        last = heads[-1] if heads else linears[-1]
        output_units = last.shape[0]
        outputs = (TensorSpec(last.module or last.name, (None, output_units), last.dtype),)
        where["output_units"] = where["outputs"] = last.name
        why = ("named like a head" if heads else f"the last Linear {how}") + (
            "" if heads or ordered or len(linears) == 1 or has_index(last.module) else " — a guess: its name has no index")  # fmt: skip
        notes.append(f"output units {output_units} from {last.name} {last.shape}, {why}; "
                     "its activation is not stored with the weights")  # fmt: skip
        chain = [w for w in linears if w is not last and w not in heads] + [last]
        if 1 < len(chain) <= 8 and emb is None and rnn is None:
            ok = all(a.shape[0] == b.shape[1] for a, b in itertools.pairwise(chain))
            sizes = "→".join(str(s) for s in [chain[0].shape[1], *(w.shape[0] for w in chain)])
            notes.append(f"the Linear shapes chain {sizes} in this order" if ok else
                         f"the Linear shapes do not chain in this order ({sizes}): the first "
                         "or last layer may be another one")  # fmt: skip
    for fact in ("inputs", "outputs", "output_units", "vocab_size", "recurrent"):
        if fact in where:
            confidence[fact] = "inferred"
    if not inputs:
        notes.append("no embedding, recurrent, convolution or Linear weight names the input; "
                     "nothing is known of it")  # fmt: skip
    return ModelFacts(path=str(path), format=fmt, inputs=inputs, outputs=outputs,
                      output_units=output_units, vocab_size=vocab, recurrent=recurrent,
                      where=where, confidence=confidence, notes=tuple(notes))  # fmt: skip
