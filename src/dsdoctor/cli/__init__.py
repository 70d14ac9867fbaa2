"""The typer app. Commands are thin: parse, call one API function, render.

Errors are translated in exactly one place, :class:`DsdoctorGroup.main`: a
:class:`~dsdoctor.errors.DsdoctorError` or a usage error becomes one ``dsdoctor: error:`` line
and exit 2; anything else is a bug (exit 3, traceback only with ``--debug``). A SIGINT/SIGTERM
received before the outcome is decided (:mod:`dsdoctor.interrupts`) overrides all of these:
exit 130/143 and one line, whatever error it caused on the way out.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperGroup

try:  # typer ≥ 0.22 vendors click
    from typer._click.exceptions import NoArgsIsHelpError
    from typer._click.exceptions import UsageError as ClickUsageError
    from typer.exceptions import Abort, Exit
except ImportError:  # pragma: no cover - older typer on click
    # the same classes from click itself; mypy types the names by the first branch
    from click.exceptions import Abort, Exit, NoArgsIsHelpError  # type: ignore[assignment]
    from click.exceptions import UsageError as ClickUsageError  # type: ignore[assignment]

from .._version import __version__
from ..errors import DsdoctorError, ExitCode
from ..formats import read_extensions_text


class DsdoctorGroup(TyperGroup):
    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        from .. import interrupts

        process = args is None  # the real command line, not a CliRunner inside another program
        args = list(sys.argv[1:] if args is None else args)
        debug = "--debug" in args or os.environ.get("DSDOCTOR_DEBUG") == "1"
        previous = interrupts.install(_cleanup_temporaries)
        code: int = ExitCode.BUG  # unless _run returns
        try:
            code = self._run(
                args,
                prog_name,
                complete_var,
                debug,
                windows_expand_args=windows_expand_args,
                **extra,
            )
        finally:
            if process:  # from here on a signal changes nothing: the outcome is decided
                interrupts.ignore()
            code = _signal_outcome(code)
            if not process:
                interrupts.restore(previous)
        _leave_if_hdf5_broken(int(code))
        if standalone_mode:
            sys.exit(int(code))
        return int(code)

    def _run(self, args, prog_name, complete_var, debug, **extra) -> int:
        from ..interrupts import Interrupted

        try:
            rv = super().main(args=args, prog_name=prog_name or "dsdoctor",
                              complete_var=complete_var, standalone_mode=False, **extra)  # fmt: skip
            code = rv if isinstance(rv, int) else ExitCode.OK
        except Exit as exc:
            code = exc.exit_code
        except Interrupted as exc:
            code = exc.exit_code
        except (Abort, KeyboardInterrupt):  # a SIGINT raised by someone else's handler
            code = 128 + signal.SIGINT
        except NoArgsIsHelpError as exc:
            sys.stdout.write(exc.ctx.get_help() + "\n")
            code = ExitCode.OK
        except ClickUsageError as exc:
            _error(_usage_message(exc))
            code = ExitCode.ERROR
        except DsdoctorError as exc:
            if _signalled():
                return ExitCode.ERROR  # the error is the signal's doing; the signal is reported
            if debug:
                import traceback

                traceback.print_exc()
            _error(str(exc))
            code = exc.exit_code
        except BrokenPipeError:
            code = ExitCode.OK
        except Exception as exc:  # a bug: say so, traceback only with --debug
            if _signalled():
                return ExitCode.BUG
            if debug:
                import traceback

                traceback.print_exc()
            _error(f"internal error: {type(exc).__name__}: {exc} (this is a bug; rerun as 'dsdoctor "
                   "--debug COMMAND …' for the traceback and report it)", prefix="dsdoctor: ")  # fmt: skip
            code = ExitCode.BUG
        return code


def _cleanup_temporaries() -> None:
    """Remove the atomic writers' temporaries (none if no writer was imported)."""
    atomic = sys.modules.get("dsdoctor.sinks.atomic")
    if atomic is not None:
        atomic.cleanup_temporaries()


def _signalled() -> bool:
    from .. import interrupts

    return interrupts.received() is not None


def _signal_outcome(code: int) -> int:
    """A received SIGINT/SIGTERM decides the exit code (130/143), whatever the command did
    meanwhile (an error a signal causes, e.g. a killed helper, is the signal's); one line."""
    from .. import interrupts

    signum = interrupts.received()
    if signum is None and code == 128 + signal.SIGINT:  # KeyboardInterrupt, or typer's Abort
        signum = signal.SIGINT
    if signum is None:
        return code
    interrupts.cleanup()
    try:  # after SIGHUP the terminal may be gone (EIO): the exit code still tells
        sys.stderr.write(interrupts.message(signum) + "\n")
        sys.stderr.flush()
    except OSError:
        pass
    return 128 + signum


def _leave_if_hdf5_broken(code: int) -> None:
    """After a failed HDF5 write, freeing h5py's objects crashes HDF5: leave without freeing."""
    hdf5 = sys.modules.get("dsdoctor.sinks.hdf5")
    if hdf5 is not None and hdf5.BROKEN:
        from .. import interrupts

        sys.stdout.flush()
        sys.stderr.flush()
        interrupts.cleanup()  # what atexit would have removed (the stdin spool)
        os._exit(code)


def _usage_message(exc: ClickUsageError) -> str:
    msg = exc.format_message().replace("\n", " ")
    cmd = exc.ctx.command_path if exc.ctx else "dsdoctor"
    return f"{msg} (see `{cmd} --help`)"


def _error(message: str, prefix: str = "dsdoctor: error: ") -> None:
    """One line on stderr; names from files in it are shown with their control characters
    escaped (``\x1b``), never sent to the terminal."""
    from ..render.safe import printable

    sys.stderr.write(prefix + printable(message.strip().replace("\n", " ")) + "\n")
    sys.stderr.flush()


app = typer.Typer(
    cls=DsdoctorGroup,
    name="dsdoctor",
    help=f"Diagnose and repair ML datasets on disk before training. Reads {read_extensions_text()}.",
    epilog='Example: dsdoctor check --x train.h5:/x --y train.h5:/y --input-shape "(None, 5, 3)"',
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"dsdoctor {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
) -> None:
    """Diagnose and repair ML datasets on disk before training."""


from . import check as _check  # noqa: E402,F401  (registers the commands)
from . import explain as _explain  # noqa: E402,F401
from . import inspect as _inspect  # noqa: E402,F401
from . import plan as _plan  # noqa: E402,F401
from . import repairs as _repairs  # noqa: E402,F401
from . import spec as _spec  # noqa: E402,F401
from . import triage as _triage  # noqa: E402,F401


def main() -> None:
    app()
