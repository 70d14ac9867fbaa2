"""Name the finding behind a framework's error message.

``triage(text)`` reads an error message or a whole traceback from Keras 2/3 (on any backend:
tensorflow, jax, torch, numpy), TensorFlow, PyTorch, JAX, scikit-learn or NumPy and says which dsdoctor finding it points to, with the numbers it
read and the ``dsdoctor check`` command that confirms the finding in the files::

    >>> d = triage("ValueError: Found input variables with inconsistent numbers of samples: [29, 1]")
    >>> d.finding, d.numbers, d.check_command
    ('sample-count-mismatch', {'x_samples': 29, 'y_samples': 1}, 'dsdoctor check --x X --y Y')

The package, in the order a message goes through it:

- :mod:`.read` reads the text, bounded (a file's tail, a stream up to a limit);
- :mod:`.patterns` is the table: one :class:`Pattern` per message family, a regex whose named
  groups are the numbers and, where the finding depends on them, a ``read`` function;
- :mod:`.match` runs the table over the text (the last matching line wins: the final exception
  is the one that stopped the program) and builds the :class:`Diagnosis`;
- :mod:`.wording` writes its explanation and the ``check`` command, one function per finding.

A new message family is one row of ``PATTERNS``; a new finding also needs one entry in each of
``wording.SAY`` and ``wording.CHECK``.
"""

from __future__ import annotations

from .match import NOT_FOUND, Diagnosis, not_found_dict, triage
from .patterns import PATTERNS, Pattern
from .read import MAX_CHARS, read_message

__all__ = [
    "MAX_CHARS", "NOT_FOUND", "PATTERNS", "Diagnosis", "Pattern",
    "not_found_dict", "read_message", "triage",
]  # fmt: skip
