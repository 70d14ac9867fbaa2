"""Typed exceptions raised by the library and the exit codes they map to.

The library raises these; only :mod:`dsdoctor.cli` turns them into one stderr line and an exit code.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The process exit codes, a public interface (see SPEC "Exit codes")."""

    OK = 0
    FINDINGS = 1
    ERROR = 2
    BUG = 3


class DsdoctorError(Exception):
    """Base of every error dsdoctor reports to the user as ``dsdoctor: error: …`` (exit 2)."""

    exit_code = ExitCode.ERROR


class UsageError(DsdoctorError):
    """An option or argument that cannot be used as given."""


class SourceError(DsdoctorError):
    """A source that does not exist, cannot be parsed, or has no such array."""

    #: the reader library's own words, when it refused the data (``unreadable-data`` quotes them)
    reason: str = ""


class UnsafeInputError(SourceError):
    """Reading the input would execute code (pickle) or touch other files (external links)."""


class ShapeError(DsdoctorError):
    """An impossible shape: a reshape that does not preserve elements, a bad ``--input-shape``."""


class RepairError(DsdoctorError):
    """A repair that cannot be applied to this data, with the reason."""


class OutputError(DsdoctorError):
    """An output that exists (without ``--force``) or cannot be written."""


class SpecError(DsdoctorError):
    """A malformed spec file."""
