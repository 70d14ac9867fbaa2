"""Plain values out of a pickle without executing anything.

PyTables stores an attribute it cannot hold as an HDF5 type (a list, a tuple, ``None``) as a
pickle, and pandas' ``to_hdf`` keeps the names of a frame's columns there
(``non_index_axes``, ``values_block_0_kind``). :func:`plain_loads` reads such a pickle with an
:class:`pickle.Unpickler` whose :meth:`~pickle.Unpickler.find_class` always raises: a pickle
can only call code it first names as a global (``GLOBAL``, ``STACK_GLOBAL``, the ``EXT``
registry, ``INST``/``OBJ``), and every one of those goes through ``find_class``, so nothing is
imported and nothing is called; ``persistent_load`` raises too. What comes out is checked to be
made of ``None``, ``bool``, ``int``, ``float``, ``str``, ``bytes``, ``list``, ``tuple`` and
``dict`` only.
"""

from __future__ import annotations

import io
import pickle

from ...errors import UnsafeInputError

#: A plain attribute pickle is a few hundred bytes; a bigger one is not read.
MAX_PICKLE_BYTES = 1 << 20
_PLAIN = (type(None), bool, int, float, str, bytes)


class _NoGlobals(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        raise UnsafeInputError(
            f"the pickle names the Python global {module}.{name}, which dsdoctor does not load"
        )

    def persistent_load(self, pid):
        raise UnsafeInputError(
            "the pickle refers to a persistent object, which dsdoctor does not load"
        )


def looks_pickled(data: bytes) -> bool:
    """Whether ``data`` may be a pickle as PyTables writes attributes: protocol 2+ starts with
    ``\\x80``, protocol 0 ends with ``.`` (STOP)."""
    return data[:1] == b"\x80" or (data.endswith(b".") and len(data) > 1)


def plain_loads(data: bytes) -> object:
    """The value of a pickle made of plain Python values only; :class:`UnsafeInputError` when it
    names a global or holds anything else, ``ValueError`` when it is not a pickle."""
    if len(data) > MAX_PICKLE_BYTES:
        raise UnsafeInputError(
            f"a pickled attribute of {len(data):,} bytes is more than dsdoctor reads"
        )
    try:
        value = _NoGlobals(io.BytesIO(data)).load()
    except UnsafeInputError:
        raise
    except Exception as exc:  # a damaged or non-pickle string: whatever the unpickler says
        raise ValueError(f"not a pickle ({type(exc).__name__}: {exc})") from None
    _require_plain(value, 0)
    return value


def _require_plain(value: object, depth: int) -> None:
    if depth > 32:
        raise UnsafeInputError("a pickled attribute nested more than 32 levels deep")
    if isinstance(value, _PLAIN):
        return
    if isinstance(value, list | tuple):
        for v in value:
            _require_plain(v, depth + 1)
        return
    if isinstance(value, dict):
        for k, v in value.items():
            _require_plain(k, depth + 1)
            _require_plain(v, depth + 1)
        return
    raise UnsafeInputError(f"a pickled attribute holds a {type(value).__name__}")
