"""Checks of integer token ids against the vocabulary of the Embedding that reads them."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..findings import Finding, Fix, Severity
from . import fixes
from .base import Check, Context, Subject


def id_range(s: Subject) -> tuple[int, int] | None:
    """The smallest and largest id the scan saw (the extremes over every feature)."""
    st = s.stats
    if st is None or st.fmin is None or st.fmax is None:
        return None
    lo, hi = np.atleast_1d(st.fmin), np.atleast_1d(st.fmax)
    if not lo.size or not hi.size:
        return None
    return int(lo.min()), int(hi.max())


class TokenIdOutOfRange(Check):
    """Integer inputs hold token ids outside ``[0, V)`` for the Embedding of ``--vocab-size V``.

    What it means:
    An ``Embedding(input_dim=V)`` has V rows, one per id 0 … V-1. An id of V or more (a
    vocabulary built on more text than the model's, ids shifted without growing the layer) or a
    negative id (padding with -1) names no row.

    Why frameworks fail:
    PyTorch ``nn.Embedding`` raises "IndexError: index out of range in self" (on a GPU a
    device-side assert instead). Keras 3 depends on the backend: with ``KERAS_BACKEND=torch`` and
    ``numpy`` an id ≥ V raises IndexError ("index out of range in self" on torch), while ``jax``
    silently returns a row of NaN, so the loss turns NaN with no error. A negative id raises
    nowhere in Keras: every backend reads -1 as the last row (V-1), a real token's vector.

    How to repair:
    Build the model with the vocabulary the data needs (``input_dim`` = the largest id + 1),
    or re-tokenise with the model's vocabulary. For padding with -1, ``dsdoctor shift SRC
    --mask MASK`` makes the real ids 1 … V and the padding 0, and prints the new input_dim.

    Example:
    dsdoctor check --x tokens.npy --vocab-size 20000
    dsdoctor shift tokens.npy --mask tokens.mask.npy -o tokens.shifted.npy
    """

    code, name, severity, family = "DS306", "token-id-out-of-range", Severity.ERROR, "sequences"
    template = ("{x_name} holds {count:,} token ids outside [0, {vocab_size}) (ids {min}–{max}: "
                "{detail}); an Embedding(input_dim={vocab_size}){by} has no row for them{hint}")  # fmt: skip

    def run(self, ctx: Context) -> Iterator[Finding]:
        vocab = ctx.expect.vocab_size
        if vocab is None:
            return
        for s in ctx.subjects:
            st = s.stats
            if s.role == "y" or st is None or s.handle.dtype.kind not in "iu":
                continue
            count = st.ids_negative + st.ids_above_vocab
            extremes = id_range(s)
            if not count or extremes is None:
                continue
            lo, hi = extremes
            parts = []
            if st.ids_above_vocab:
                parts.append(f"{st.ids_above_vocab:,} ≥ {vocab}")
            if st.ids_negative:
                parts.append(f"{st.ids_negative:,} negative")
            hints = []
            if st.ids_above_vocab:
                hints.append(f"the data needs input_dim ≥ {hi + 1}")
            if st.ids_negative:
                hints.append("a negative id (padding -1?) is read as the last row by Keras and "
                             "refused by PyTorch: pad with 0 after `dsdoctor shift`")  # fmt: skip
            evidence = {"count": count, "negative": st.ids_negative, "above": st.ids_above_vocab,
                        "min": lo, "max": hi, "vocab_size": vocab}  # fmt: skip
            by = (f" ({ctx.expect.by('vocab_size')})"
                  if ctx.expect.origin.get("vocab_size") == "model" else "")  # fmt: skip
            evidence.update(ctx.expect.from_model("vocab_size"))
            yield self.finding([s], evidence, self._fixes(s, vocab), x_name=s.name, by=by,
                               detail=", ".join(parts), hint="; " + "; ".join(hints))  # fmt: skip

    @staticmethod
    def _fixes(s: Subject, vocab: int) -> list[Fix]:
        """Negative ids that are padding (``pad --value -1``), with the mask ``pad`` wrote beside
        them and every real id below V: ``shift`` makes the padding 0 and the ids 1 … V."""
        from ..sources.siblings import pad_mask_of

        st = s.stats
        if st is None or not st.ids_negative or st.ids_above_vocab:
            return []
        mask = pad_mask_of(s.handle)
        if mask is None:
            return []
        return [fixes.shift(s.handle, vocab=vocab + 1, vocab_size=vocab, mask=mask.source)]
