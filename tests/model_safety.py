"""Proof that reading a model file executes nothing: an audit hook that records every module
import and every pickle global resolved while a block runs.

``sys.addaudithook`` cannot be removed once added, so one hook is installed for the process and
switched on only inside :func:`watch`. Reuse it for any reader of hostile files::

    with watch() as seen:
        read_model(path)
    seen.assert_clean()  # no pickle global resolved, no module named in the file imported

``import`` events fire when a module is loaded (not when an import statement finds it already in
``sys.modules``): a hostile file's ``module`` entry that reached ``importlib`` would show here, as
the call to ``os.system`` it leads to would show as a process start.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

#: Modules a hostile model file names to get code run: none may be imported while reading one.
FORBIDDEN = ("os", "posix", "subprocess", "builtins", "shutil", "socket", "pty", "runpy",
             "keras", "tensorflow", "pickle", "marshal", "ctypes", "importlib.util")  # fmt: skip


@dataclass
class Seen:
    imports: list[str] = field(default_factory=list)
    pickle_globals: list[tuple[str, str]] = field(default_factory=list)
    execs: list[str] = field(default_factory=list)

    def assert_clean(self, forbidden: tuple[str, ...] = FORBIDDEN) -> None:
        assert not self.pickle_globals, f"pickle globals resolved: {self.pickle_globals}"
        assert not self.execs, f"processes started / code compiled: {self.execs}"
        bad = [
            m for m in self.imports if m in forbidden or m.split(".")[0] in ("keras", "tensorflow")
        ]
        assert not bad, f"imported while reading a model file: {bad}"


_active: list[Seen] = []


def _hook(event: str, args: tuple) -> None:
    if not _active:
        return
    seen = _active[-1]
    if event == "import":
        seen.imports.append(str(args[0]))
    elif event == "pickle.find_class":
        seen.pickle_globals.append((str(args[0]), str(args[1])))
    elif event in ("os.system", "subprocess.Popen", "os.exec", "os.posix_spawn", "exec"):
        seen.execs.append(f"{event} {str(args[0])[:60]}")


_installed = False


@contextmanager
def watch() -> Iterator[Seen]:
    """Record imports, pickle globals and process starts inside the block."""
    global _installed
    if not _installed:
        sys.addaudithook(_hook)
        _installed = True
    seen = Seen()
    _active.append(seen)
    try:
        yield seen
    finally:
        _active.remove(seen)
