"""Atomic writes: temporaries beside the destination, fsynced, then put in place by a rename.

What is guaranteed, for every writer (data, reports, specs, output folders):

- **Before anything is created**, :func:`~.guard.guard_outputs` compares every file the command
  will write with its inputs and with each other (by device and inode), and each destination
  is checked: without ``force`` none may exist.
- **A single file** (``.npz``, HDF5, Parquet, ``.npy`` alone, a report, a spec) appears, or
  replaces the old one, in one rename: a reader, or a process killed at any moment, sees no
  output (or the old one, with ``force``) or the complete new one.
- **Without** ``force`` the final name is created exclusively (``renameat2(RENAME_NOREPLACE)``,
  else ``link`` + ``unlink``), so of two runs writing one output at once exactly one wins and
  the other fails (:class:`OutputError`, "exists") without touching the winner's files.
- **Several files with fixed names** (``OUT.npy`` + ``OUT.mask.npy`` + ``OUT.lengths.npy``) are
  renamed under the lock and marker of :mod:`dsdoctor.markers`, siblings first, the main file
  last: concurrent commits never interleave, and a group whose commit was killed keeps its
  marker, so readers refuse it instead of mixing two runs. Without ``force``, the names this
  run already created are removed when another run's name is found in the way.
- **A folder** (``bucket -o OUTDIR``) is built whole under a temporary name beside it and
  renamed into place as one unit; with ``force`` it is swapped with the old folder by
  ``renameat2(RENAME_EXCHANGE)`` and the old one removed. Where that call is missing (not
  Linux, or a filesystem without it) the old folder is first moved aside: for a moment there
  is no ``OUTDIR``, never a mixed one.

Temporary paths that are open are kept in a module-level set, so a SIGTERM/SIGINT handler can
remove them with :func:`cleanup_temporaries` before the process exits. After SIGKILL nothing
can run: a ``.NAME.dsdoctor-tmp-…`` file or folder may stay behind, but no destination is
partial.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import shutil
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar, Token
from pathlib import Path
from types import ModuleType

from ..diskspace import write_errors
from ..errors import OutputError
from ..markers import SUFFIX as MARKER_SUFFIX
from ..markers import interrupted_marker, marker_for
from .guard import guard_outputs

TEMP_MARKER = ".dsdoctor-tmp-"

#: Temporary files and folders currently being written; see :func:`cleanup_temporaries`.
_TEMPORARIES: set[Path] = set()


def check_destination(dest: Path, *, force: bool) -> None:
    """Raise :class:`OutputError` unless ``dest`` can be (re)placed by an atomic write."""
    folder = dest.parent
    if os.path.isdir(dest):
        raise OutputError(f"{dest} is a directory; name a file to write")
    if os.path.lexists(dest) and not force:
        raise OutputError(f"{dest} exists; pass --force to replace it")
    modes = []
    for look in (os.lstat, os.stat):  # the name, and where a symlink leads (/dev/stdout)
        try:
            modes.append(look(dest).st_mode)
        except OSError:
            pass
    if any(not (stat.S_ISREG(m) or stat.S_ISLNK(m)) for m in modes):
        raise OutputError(
            f"{dest} is not a regular file (a device, a pipe or a socket), which an atomic "
            "write would replace; name a file"
        )
    _check_folder(folder)


def _check_folder(folder: Path) -> None:
    if not folder.is_dir():
        if _through_a_file(folder):
            raise OutputError(
                f"cannot write into {folder}: {_through_a_file(folder)} is a file, not a folder"
            )
        raise OutputError(f"{folder} does not exist; create the folder or choose another output")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{folder} is not writable; choose another output folder")


def _through_a_file(folder: Path) -> Path | None:
    """The first part of ``folder`` that exists and is not a folder, if any."""
    for part in (*reversed(folder.parents), folder):
        if os.path.exists(part) and not os.path.isdir(part):
            return part
    return None


def refuse_folder_name(text: str | Path) -> None:
    """``-o out/`` names a folder (as for ``cp``); ``Path`` drops the slash, so a file ``out``
    would have been written. Refused while the text still has it."""
    text = str(text)
    if text.endswith(("/", os.sep)) and text.strip("/" + os.sep):
        raise OutputError(
            f"{text} ends with '/', which names a folder, but this output is a file; name the "
            "file (e.g. out/report.json)"
        )


#: Files written with the group whose main file is the key (absolute path): see :func:`beside`.
_BESIDE: ContextVar[dict[str, dict[Path, bytes]] | None] = ContextVar("beside", default=None)


@contextmanager
def beside(main: str | Path, files: Mapping[Path, bytes]) -> Iterator[None]:
    """Within this block, the atomic write of ``main`` (by any writer: they all go through
    :func:`atomic_group`) also writes ``files`` (path → bytes) in its group: they are guarded
    and checked like it, renamed under its marker before it, and removed with it on failure —
    so a vocabulary beside encoded data appears with the data or not at all."""
    key = os.path.abspath(main)
    outer = _BESIDE.get() or {}
    token = _BESIDE.set(  # added to any files an outer block put beside the same output
        {**outer, key: {**outer.get(key, {}), **{Path(p): data for p, data in files.items()}}}
    )
    try:
        yield
    finally:
        _BESIDE.reset(token)


def beside_files(main: str | Path) -> dict[Path, bytes]:
    """The files a :func:`beside` block puts beside ``main`` (path → bytes), for a writer that
    does not go through :func:`atomic_group` for ``main`` itself (a Zarr store, a folder)."""
    return dict((_BESIDE.get() or {}).get(os.path.abspath(main), {}))


def temporary_for(dest: Path) -> Path:
    """A fresh temporary name in ``dest``'s folder, e.g. ``.x.npy.dsdoctor-tmp-3f9a1c2e``."""
    return dest.with_name(f".{dest.name}{TEMP_MARKER}{secrets.token_hex(4)}")


@contextmanager
def atomic_group(
    dests: Sequence[Path], *, force: bool, inputs: Iterable[str | Path] = ()
) -> Iterator[list[Path]]:
    """Write several files that belong together; yield one temporary path per destination.

    ``dests[0]`` is the main (data) file. Every destination is guarded against ``inputs`` and
    the others and checked before anything is created: none may exist without ``force``.
    On success the files are put in place as the module docstring says. On any exception —
    KeyboardInterrupt included — every temporary is removed and the exception propagates; an
    :class:`OSError` of the destination becomes one :class:`OutputError`.
    """
    dests = [Path(d) for d in dests]
    extra = (_BESIDE.get() or {}).get(os.path.abspath(dests[0]), {}) if dests else {}
    own = len(dests)
    dests += list(extra)
    guard_outputs(dests, inputs)
    for dest in dests:
        check_destination(dest, force=force)
    temps: list[Path] = []
    what = str(dests[0])
    deferred = _DEFERRED.get()
    pending = _Pending(temps, dests, force, what)
    if deferred is not None:  # committed with the others of committed_together(), in order
        deferred.append(pending)
    try:
        with write_errors(what, path_errors=True):
            for dest in dests:
                tmp = temporary_for(dest)
                _TEMPORARIES.add(tmp)  # registered before it exists: a signal cannot orphan it
                temps.append(tmp)
                _reserve(tmp)
        with write_errors(what):
            yield list(temps[:own])
            for tmp, data in zip(temps[own:], extra.values(), strict=True):
                tmp.write_bytes(data)
            for tmp in temps:
                _fsync(tmp)
        if deferred is not None:
            pending.ready = True
            return
        with write_errors(what, path_errors=True):
            _commit(temps, dests, force=force)
    except BaseException:
        if deferred is not None:
            deferred.remove(pending)
        for tmp in temps:
            _remove(tmp)
        raise
    finally:
        if not pending.ready:  # else committed_together() still owns them
            _TEMPORARIES.difference_update(temps)


class _Pending:
    """A group being written, then (``ready``) fsynced and waiting for
    :func:`committed_together` to put it in place."""

    def __init__(self, temps: list[Path], dests: list[Path], force: bool, what: str) -> None:
        self.temps, self.dests, self.force, self.what = temps, dests, force, what
        self.ready = False


#: The groups written inside :func:`committed_together`, committed when it ends.
_DEFERRED: ContextVar[list[_Pending] | None] = ContextVar("deferred", default=None)


@contextmanager
def committed_together() -> Iterator[None]:
    """Every output written (by any writer) within this block is committed when the block ends,
    all as one group: under the markers of every output's main file, the first output's main
    file renamed last. So several outputs of one command (``window --split``'s training and
    validation files) appear together or not at all; a commit killed half-way leaves markers
    that make readers refuse the files of every output, never a validation set without its
    training set. On any exception nothing is put in place and every temporary is removed."""
    if _DEFERRED.get() is not None:  # nested: the outer block commits
        yield
        return
    pending: list[_Pending] = []
    token: Token[list[_Pending] | None] | None = _DEFERRED.set(pending)
    try:
        yield
        assert token is not None
        _DEFERRED.reset(token)
        token = None
        if pending:
            forces = {p.force for p in pending}
            assert len(forces) == 1, "outputs committed together take one --force"
            assert all(p.ready for p in pending), "an output was left open"
            with write_errors(pending[0].what, path_errors=True):
                _commit_groups([(p.temps, p.dests) for p in pending], force=forces.pop())
    except BaseException:
        for p in pending:
            for tmp in p.temps:
                _remove(tmp)
        raise
    finally:
        if token is not None:
            _DEFERRED.reset(token)
        for p in pending:
            _TEMPORARIES.difference_update(p.temps)


@contextmanager
def atomic_path(dest: Path, *, force: bool, inputs: Iterable[str | Path] = ()) -> Iterator[Path]:
    """Yield a temporary path to write; on success it atomically becomes ``dest``.

    ``OutputError`` if ``dest`` is an input, exists and not ``force``, or its folder is missing
    or not writable. The temporary already exists (empty); writers may truncate or replace it.
    """
    with atomic_group([Path(dest)], force=force, inputs=inputs) as (tmp,):
        yield tmp


def write_text(
    dest: str | Path, text: str, *, force: bool, inputs: Iterable[str | Path] = ()
) -> Path:
    """Write ``text`` (UTF-8) to ``dest`` atomically, under the same guard and ``force`` rule as
    every data output (reports, specs); return the path written. A text that cannot be UTF-8
    — a file name in another encoding, which Python holds as surrogates — is refused before
    anything is created."""
    refuse_folder_name(dest)
    dest = Path(dest)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        left, right = exc.start, exc.end
        while left and text[left - 1] not in _DELIMITERS:
            left -= 1
        while right < len(text) and text[right] not in _DELIMITERS:
            right += 1
        shown = os.fsencode(text[left:right]).decode("utf-8", "backslashreplace")
        raise OutputError(
            f"cannot write {dest}: it names the file {shown}, whose name is not UTF-8 as this "
            "file must be; give that file a UTF-8 name; nothing was written"
        ) from None
    with atomic_path(dest, force=force, inputs=inputs) as tmp:
        tmp.write_bytes(data)
    return dest


#: What ends a file name quoted in a report or a spec (to show the name that is not UTF-8).
_DELIMITERS = frozenset(" \t\n\"'<>=`,")


@contextmanager
def atomic_folder(
    dest: str | Path,
    *,
    force: bool,
    inputs: Iterable[str | Path] = (),
    replaceable: Callable[[str], bool] = lambda name: False,
    command: str = "this command",
) -> Iterator[Path]:
    """Yield a fresh temporary folder beside ``dest`` to fill; on success it becomes ``dest``
    as one unit (see the module docstring); on any exception it is removed.

    An existing ``dest`` must be an empty folder, or, with ``force``, a folder holding only
    files whose names ``replaceable`` accepts (what this kind of output writes): a folder of
    other files is never swept away by ``--force``.
    """
    dest = Path(dest)
    guard_outputs([dest], inputs, folder=dest)
    _check_folder_destination(dest, force=force, replaceable=replaceable, command=command)
    tmp = temporary_for(dest)
    _TEMPORARIES.add(tmp)
    try:
        with write_errors(str(dest), path_errors=True):
            tmp.mkdir()
        with write_errors(str(dest)):
            yield tmp
            for child in tmp.iterdir():
                _fsync(child)
            _fsync(tmp)
        with write_errors(str(dest), path_errors=True):
            _place_folder(tmp, dest, force=force)
    except BaseException:
        _remove(tmp)
        raise
    finally:
        _TEMPORARIES.discard(tmp)


def check_output_folder(dest: Path, command: str) -> None:
    """Raise :class:`OutputError` if ``dest``, an output folder ``command`` writes, is a file or
    a symlink leading nowhere."""
    if os.path.islink(dest) and not os.path.exists(dest):
        raise OutputError(
            f"{dest} is a symlink to {os.readlink(dest)}, which does not exist; {command} "
            "writes a folder: name a folder with -o, or create the folder it points to"
        )
    if os.path.lexists(dest) and not os.path.isdir(dest):
        raise OutputError(f"{dest} is a file; {command} writes a folder: name a folder with -o")


def _check_folder_destination(dest: Path, *, force: bool, replaceable, command: str) -> None:
    check_output_folder(dest, command)
    if os.path.isdir(dest):
        try:
            names = sorted(os.listdir(dest))
        except OSError as exc:
            raise OutputError(f"cannot read the folder {dest}: {exc.strerror}") from None
        if names and not force:
            raise OutputError(f"{dest} exists and is not empty; pass --force to replace it")
        foreign = [n for n in names if not replaceable(n)]
        if foreign:
            raise OutputError(
                f"{dest} holds files this command did not write ({', '.join(foreign[:3])}"
                f"{' …' if len(foreign) > 3 else ''}), and --force replaces the whole folder; "
                "choose a new or empty folder"
            )
    _check_folder(dest.parent)


def cleanup_temporaries() -> list[Path]:
    """Remove every temporary file still being written; return the paths that were removed.

    Meant for a SIGTERM/SIGINT handler just before the process exits: a write in progress is
    abandoned and leaves nothing behind.
    """
    removed = []
    for tmp in tuple(_TEMPORARIES):
        if _remove(tmp):
            removed.append(tmp)
        _TEMPORARIES.discard(tmp)
    return removed


def open_temporaries() -> frozenset[Path]:
    """The temporary files currently being written (for tests and diagnostics)."""
    return frozenset(_TEMPORARIES)


# -- putting files in place ----------------------------------------------------------------------
def _commit(temps: list[Path], dests: list[Path], *, force: bool) -> None:
    """Rename each temporary to its destination, the main one (``dests[0]``) last; a group of
    several files under its marker's lock. The marker stays only when the group on disk may
    mix two runs: files of this run replaced some but not all of the old ones.

    A marker left by a killed commit that names one of ``dests`` (a group's main file or a
    sibling replaced on its own, by any writer) is taken too: once the new files are in place
    they are complete, so they leave its list, and it goes when the list is empty — the old
    files it still names stay refused, a file just written is never refused forever."""
    _commit_groups([(temps, dests)], force=force)


def _commit_groups(groups: list[tuple[list[Path], list[Path]]], *, force: bool) -> None:
    """:func:`_commit` of several groups as one: a marker per group's main file (when more than
    one file is committed), each naming the files of its folder; the later groups are renamed
    first and the first group's main file last."""
    pairs = [pair for temps, dests in reversed(groups)
             for pair in reversed(list(zip(temps, dests, strict=True)))]  # fmt: skip
    dests = [dest for _, dest in pairs]
    names = [dest.name for dest in dests]
    mains = [group_dests[0] for _, group_dests in groups]
    own: dict[Path, list[str]] = {}
    if len(dests) > 1:
        for main in mains:
            own[marker_for(main)] = [d.name for d in reversed(dests) if d.parent == main.parent]
    stale = {m for m in map(interrupted_marker, dests) if m is not None and m not in own}
    with ExitStack() as stack:
        held = {m: stack.enter_context(_marked(m, own.get(m, []))) for m in sorted({*own, *stale})}
        placed: list[Path] = []
        try:
            for tmp, dest in pairs:
                if force:
                    os.replace(tmp, dest)
                else:
                    _rename_exclusive(tmp, dest)
                placed.append(dest)
        except BaseException as exc:
            if not force:
                for dest in placed:  # ours, just created: the other run's files stay
                    _remove(dest)
            for m in own:
                if not held[m].stale and (not force or not placed):
                    held[m].consistent([])  # the group is as it was before this run
            if isinstance(exc, FileExistsError):
                raise OutputError(
                    f"{exc.filename or mains[0]} exists (another run wrote it meanwhile); pass "
                    "--force to replace it; nothing was written"
                ) from None
            raise
        for folder in dict.fromkeys(dest.parent for dest in dests):
            _fsync(folder)
        for marker in held.values():
            marker.consistent(names)


class _Marker:
    """A group's marker, locked. ``old``: the files a marker already there named — left by a
    commit that was killed (a live one holds the lock until it has removed it), so those files
    on disk may be mixed until a run replaces them. :meth:`consistent` removes the marker, or
    keeps it naming the old files that were not replaced."""

    def __init__(self, path: Path, fd: int, old: list[str]) -> None:
        self.path, self.fd, self.old = path, fd, old
        self.stale = bool(old)

    def consistent(self, replaced: list[str]) -> None:
        _fsync(self.path.parent)
        left = [name for name in self.old if name not in replaced]
        if left:
            _write_marker(self.fd, left)
        else:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
        _fsync(self.path.parent)


@contextmanager
def _marked(marker: Path, names: list[str]) -> Iterator[_Marker]:
    """Hold ``marker``, locked, naming the files it named before and ``names`` (being renamed)."""
    fd = _lock(marker)
    try:
        old = _marker_files(fd, marker)
        if names:
            _write_marker(fd, list(dict.fromkeys([*old, *names])))
            _fsync(marker.parent)
        yield _Marker(marker, fd, old)
    finally:
        os.close(fd)


def _marker_files(fd: int, marker: Path) -> list[str]:
    """The names a marker lists; an unreadable one names every file it may guard."""
    size = os.fstat(fd).st_size
    if not size:
        return []
    try:
        files = json.loads(os.pread(fd, size, 0).decode("utf-8")).get("files")
        if isinstance(files, list) and all(isinstance(f, str) for f in files):
            return files
    except (ValueError, AttributeError):
        pass
    main = marker.name[: -len(MARKER_SUFFIX)]
    stem, dot, ext = main.rpartition(".")
    return [main, *(f"{stem}.{role}{dot}{ext}" for role in ("mask", "lengths"))]


def _write_marker(fd: int, names: list[str]) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps({"files": names}).encode(), 0)
    os.fsync(fd)


def _lock(path: Path) -> int:
    """Open ``path`` (created if missing) and wait for an exclusive lock on it; retried when
    another holder removed the file meanwhile, so the lock held is the file's on disk."""
    fcntl: ModuleType | None
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: the marker without a lock
        fcntl = None
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    while True:
        try:  # never through a symlink planted at the marker's name: it would be overwritten
            fd = os.open(path, flags, 0o666)
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise
            fd = -1
        if fd < 0 or not stat.S_ISREG(os.fstat(fd).st_mode):
            if fd >= 0:
                os.close(fd)
            raise OutputError(
                f"{path} is not a regular file (a symlink, a folder, a pipe…), but that name is "
                "the marker dsdoctor writes beside this output; remove it and rerun"
            )
        if fcntl is None:  # pragma: no cover
            return fd
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            held, now = os.fstat(fd), os.stat(path)
        except FileNotFoundError:
            os.close(fd)
            continue
        except BaseException:
            os.close(fd)
            raise
        if (held.st_dev, held.st_ino) == (now.st_dev, now.st_ino):
            return fd
        os.close(fd)


#: From Linux's <fcntl.h> and <linux/fs.h>: "relative to the working directory", and the
#: renameat2 flags (Linux ≥ 3.15, glibc ≥ 2.28; ext4, xfs, btrfs, tmpfs support them).
_AT_FDCWD = -100
_RENAME_NOREPLACE, _RENAME_EXCHANGE = 1, 2


def _renameat2(src: Path, dst: Path, flags: int) -> bool:
    """``renameat2(src, dst, flags)``; ``False`` where the call or the flag is not available
    (not Linux, glibc < 2.28, a filesystem without it); other errors raise :class:`OSError`."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        call = libc.renameat2
    except (OSError, AttributeError):
        return False
    call.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if call(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), flags) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(dst))


def _rename_exclusive(tmp: Path, dest: Path) -> None:
    """Rename ``tmp`` to ``dest``, failing with :class:`FileExistsError` if ``dest`` exists."""
    if _renameat2(tmp, dest, _RENAME_NOREPLACE):
        return
    try:
        os.link(tmp, dest)  # fails with EEXIST if the name exists
    except FileExistsError:
        raise
    except OSError as exc:  # a filesystem without hard links: check, then rename (a race)
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK):
            raise
        if os.path.lexists(dest):
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(dest)) from None
        os.rename(tmp, dest)
        return
    os.unlink(tmp)


def _place_folder(tmp: Path, dest: Path, *, force: bool) -> None:
    """Rename the folder ``tmp`` to ``dest`` as one unit (see the module docstring)."""
    if os.path.isdir(dest) and not os.listdir(dest):
        os.rmdir(dest)  # an empty folder is not an output to keep
    try:
        if not force or not os.path.lexists(dest):
            if not _renameat2(tmp, dest, _RENAME_NOREPLACE):
                os.rename(tmp, dest)  # refuses a non-empty folder in the way (ENOTEMPTY)
            return
        if _renameat2(tmp, dest, _RENAME_EXCHANGE):
            old = tmp  # now holds the old folder
        else:
            old = temporary_for(dest)
            _TEMPORARIES.add(old)
            os.rename(dest, old)
            os.rename(tmp, dest)
    except OSError as exc:
        if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
            raise OutputError(
                f"{dest} exists (another run wrote it meanwhile); pass --force to replace it; "
                "nothing was written"
            ) from None
        raise
    _fsync(dest.parent)
    _remove(old)
    _TEMPORARIES.discard(old)


# -- small helpers -------------------------------------------------------------------------------
def _reserve(tmp: Path) -> None:
    """Create ``tmp`` exclusively, with the permissions an ordinary new file gets (umask)."""
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except PermissionError:
        raise OutputError(f"{tmp.parent} is not writable; choose another output folder") from None
    os.close(fd)


def _fsync(path: Path) -> None:
    """Flush a file or a folder (a rename's durability). Not every platform/filesystem can
    fsync a directory; that is not an error."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        if os.path.isdir(path):
            return
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not os.path.isdir(path):
            raise
    finally:
        os.close(fd)


def _remove(path: Path) -> bool:
    """Remove a temporary file or folder; ``False`` if it is already gone."""
    try:
        if path.is_dir() and not path.is_symlink():
            for attempt in range(3):  # a writer still finishing may add a file as it goes
                try:
                    shutil.rmtree(path)
                    break
                except OSError:
                    if attempt == 2 or not path.exists():
                        raise
        else:
            path.unlink()
    except OSError:  # already gone, or not ours to remove
        return False
    return True
