"""Where a source or an output lives: a local path, or a URL (``s3://``, ``gs://``, ``https://``
and any other protocol an installed fsspec implementation reads).

A local path stays a :class:`~pathlib.Path` and is read with ``open()``: nothing here imports
fsspec for it. A URL is a :class:`Location`, which answers the few questions the readers ask of
a path (``name``, ``suffix``, ``stat().st_size``, ``is_dir()``, ``with_name()``) and opens the
object as a seekable binary file through fsspec, with a **small, explicit block size** and a
**bounded cache**: a reader that reads the 128-byte header of a 1 GiB ``.npy`` fetches one
block, not the file (:data:`BLOCK_BYTES`); HDF5's scattered small reads go through a cache of
at most :data:`HDF5_BLOCKS` blocks. Every byte fetched is counted (:func:`fetched_bytes`), and
``inspect --json``/``check --json`` report the count.

Credentials come only from the standard environment (``AWS_*``, ``AWS_ENDPOINT_URL``,
``GOOGLE_APPLICATION_CREDENTIALS``, ``STORAGE_EMULATOR_HOST`` — read by s3fs/botocore and gcsfs
themselves) and from ``--storage-option KEY=VALUE`` (``storage_options=`` in the API), which are
held by the :class:`Location` but never shown: its ``repr`` and :attr:`Location.display` leave
them, the URL's user and password and its query string (a signed URL's signature) out.

A :class:`Location` is a frozen dataclass of the URL and the options, so it pickles: the engine's
workers (processes, Dask) get the URL and open the object themselves; no data travels.

Failures of the object store (no credentials, a missing bucket or key, access denied, a server
that drops the connection) are turned into one line naming the URL and the cause in one place,
:func:`failure`.

Readers open files with :func:`open_binary` — one call, for a path or a location — so a new
reader reads remote objects by using it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .errors import DsdoctorError, OutputError, SourceError

#: ``scheme://``: what makes a source or an output a URL (a Windows drive ``C:\`` does not match).
URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]+)://")

#: Bytes fetched past a read (fsspec's read-ahead): one request reads a ``.npy`` header, the
#: start of a CSV, a Parquet magic number — never a data file's worth.
BLOCK_BYTES = 32 * 1024
#: HDF5 jumps around the file in small reads: blocks of this size …
HDF5_BLOCK_BYTES = 64 * 1024
#: … at most this many kept (4 MiB), the least recently used dropped.
HDF5_BLOCKS = 64

#: Bytes per request of a file read front to back to its end (``stream``: a compressed
#: ``.npy.gz``, an Arrow IPC stream): a 1 GiB stream is ~1,000 requests, not 32,000, and the
#: cache never holds more than one such block.
STREAM_BLOCK_BYTES = 1024 * 1024

#: How a file is cached per reader: ``readahead`` for front-to-back reads of what is asked,
#: ``stream`` for reads to the end in big blocks, ``blockcache`` for scattered ones (bounded),
#: ``none`` for readers that ask for exactly what they need (pyarrow).
CACHES = ("readahead", "stream", "blockcache", "none")

#: Protocols whose uploads can be made conditional on the object not existing (an upload
#: without --force fails if another run wrote the object meanwhile).
CONDITIONAL = ("s3", "s3a", "gs", "gcs")

#: The options of the command being run (``--storage-option``), for locations parsed inside it.
_OPTIONS: ContextVar[tuple[tuple[str, Any], ...]] = ContextVar("storage_options", default=())

#: Storage-option names that hold a secret (a key, a password, a token, …): never printed, not
#: even in the fix commands a report suggests (:func:`printable_options`).
SECRET_NAMES = re.compile(
    r"key|secret|token|pass|credential|auth|sign|private|cert|session|sas|cookie|bearer",
    re.IGNORECASE,
)
#: ``token=`` values of gcsfs that name a way to find credentials, not credentials.
TOKEN_MODES = ("anon", "google_default", "cache", "cloud", "browser")
#: The environment variable a printed fix names in place of a secret option's value (the
#: standard one where there is one), e.g. ``--storage-option "secret=$AWS_SECRET_ACCESS_KEY"``.
SECRET_VARIABLES = {
    "key": "AWS_ACCESS_KEY_ID", "aws_access_key_id": "AWS_ACCESS_KEY_ID",
    "secret": "AWS_SECRET_ACCESS_KEY", "aws_secret_access_key": "AWS_SECRET_ACCESS_KEY",
    "token": "AWS_SESSION_TOKEN", "aws_session_token": "AWS_SESSION_TOKEN",
    "session_token": "AWS_SESSION_TOKEN",
}  # fmt: skip

_FETCHED = [0]
_LOCK = threading.Lock()


def is_url(text: object) -> bool:
    """Whether ``text`` is a URL (``s3://b/x.npy``), not a local path."""
    return isinstance(text, str | Location) and bool(URL.match(str(text)))


def fetched_bytes() -> int:
    """Bytes fetched from remote objects by this process so far (data and headers read; not the
    requests' own headers)."""
    return _FETCHED[0]


def _count(n: int) -> None:
    with _LOCK:
        _FETCHED[0] += n


def count_fetched(n: int) -> None:
    """Count ``n`` bytes fetched by a reader that does not read through
    :meth:`Location.open_binary` (zarr's fsspec store)."""
    _count(n)


def parse_storage_options(
    items: Iterable[str] | Mapping[str, Any] | None,
) -> tuple[tuple[str, Any], ...]:
    """``["anon=true", "endpoint_url=http://…"]`` (or a mapping) → sorted ``(key, value)`` pairs;
    ``true``/``false`` become booleans, whole numbers ints (what fsspec's file systems take)."""
    if not items:
        return ()
    if isinstance(items, Mapping):
        pairs = list(items.items())
    else:
        pairs = []
        for item in items:
            key, sep, value = str(item).partition("=")
            if not sep or not key.strip():
                raise SourceError(
                    f"--storage-option {key.strip() or item!r}: write KEY=VALUE "
                    "(e.g. --storage-option anon=true)"
                )
            pairs.append((key.strip(), _value(value)))
    return tuple(sorted(pairs, key=lambda kv: kv[0]))


def _value(text: str) -> Any:
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    if re.fullmatch(r"-?\d+", low):
        return int(low)
    return text


@contextmanager
def storage_options(options: Iterable[str] | Mapping[str, Any] | None) -> Iterator[None]:
    """Locations parsed inside the block take ``options`` (the API's ``storage_options=``)."""
    pairs = parse_storage_options(options)
    if not pairs:
        yield
        return
    token = _OPTIONS.set(pairs)
    try:
        yield
    finally:
        _OPTIONS.reset(token)


def is_secret(name: str, value: Any) -> bool:
    """Whether the storage option ``name=value`` may hold a secret: its name looks like one
    (:data:`SECRET_NAMES`), or its value names one (``client_kwargs={"aws_secret_access_key": …}``).
    gcsfs's ``token=anon`` (and its other modes) is not a secret."""
    if name.lower() == "token" and str(value).lower() in TOKEN_MODES:
        return False
    return bool(SECRET_NAMES.search(name) or SECRET_NAMES.search(str(value)))


def printable_options(
    options: Iterable[tuple[str, Any]], protocol: str = "s3"
) -> list[tuple[str, str, bool]]:
    """The storage options as a command may show them: ``(name, text, secret)``, where a
    secret's text is a shell variable to fill in (``$AWS_SECRET_ACCESS_KEY``; a ``gs://``
    ``token`` is ``$GOOGLE_APPLICATION_CREDENTIALS``), never its value."""
    shown = []
    for name, value in options:
        if not is_secret(name, value):
            text = str(value).lower() if isinstance(value, bool) else str(value)
            shown.append((name, text, False))
            continue
        if name.lower() == "token" and protocol in ("gs", "gcs"):
            variable = "GOOGLE_APPLICATION_CREDENTIALS"
        else:
            variable = SECRET_VARIABLES.get(name.lower()) or re.sub(r"\W", "_", name).upper()
        shown.append((name, "$" + variable, True))
    return shown


def given_options() -> tuple[tuple[str, Any], ...]:
    """The storage options of the command being run (``--storage-option``)."""
    return _OPTIONS.get()


def location(text: str, options: Iterable[str] | Mapping[str, Any] | None = None) -> Location:
    """The :class:`Location` of the URL ``text``, with ``options`` (default: the command's)."""
    pairs = parse_storage_options(options) if options is not None else _OPTIONS.get()
    return Location(text, pairs)


def safe_url(url: str) -> str:
    """``url`` without a user, a password or a query string: how messages name it."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


@dataclass(frozen=True)
class _Stat:
    st_size: int


@dataclass(frozen=True)
class Location:
    """An object behind a URL, answering what readers ask of a :class:`~pathlib.Path`."""

    url: str
    options: tuple[tuple[str, Any], ...] = field(default=(), compare=False)

    def __repr__(self) -> str:  # never the options: they may hold credentials
        return f"Location({self.display!r})"

    def __str__(self) -> str:
        return self.url

    @property
    def display(self) -> str:
        return safe_url(self.url)

    @property
    def protocol(self) -> str:
        match = URL.match(self.url)
        assert match is not None
        return match.group(1).lower()

    @property
    def _key(self) -> str:
        return urlsplit(self.url).path

    @property
    def name(self) -> str:
        return PurePosixPath(self._key).name

    @property
    def suffix(self) -> str:
        return PurePosixPath(self._key).suffix

    @property
    def parent(self) -> Location:
        return Location(self.url[: self.url.rstrip("/").rfind("/")], self.options)

    def __truediv__(self, name: str) -> Location:
        return Location(f"{self.url.rstrip('/')}/{name}", self.options)

    def with_name(self, name: str) -> Location:
        parts = urlsplit(self.url)
        path = str(PurePosixPath(parts.path).with_name(name))
        return Location(
            urlunsplit((parts.scheme, parts.netloc, path, parts.query, "")), self.options
        )

    # -- the object store ------------------------------------------------------------------------
    @property
    def fs(self) -> Any:
        """The fsspec file system (fsspec caches one per protocol and options in a process)."""
        import fsspec

        try:
            return fsspec.filesystem(self.protocol, **dict(self.options))
        except (ImportError, ValueError) as exc:
            raise SourceError(
                f"{self.display}: cannot read {self.protocol}:// URLs ({_first_line(exc)}); "
                "install dsdoctor[remote] (s3fs, gcsfs, aiohttp)"
            ) from None
        except TypeError as exc:
            raise SourceError(
                f"{self.display}: a --storage-option is not understood ({_first_line(exc)})"
            ) from None

    def info(self, *, output: bool = False) -> dict[str, Any]:
        """fsspec's ``info`` of the object (``output``: asked of an output about to be written,
        so a refusal says the credentials may not write it)."""
        with failures(self, output=output):
            info: dict[str, Any] = self.fs.info(self.url)
            return info

    def exists(self, *, output: bool = False) -> bool:
        try:
            self.info(output=output)
        except (SourceError, OutputError) as exc:
            if isinstance(exc.__cause__, FileNotFoundError) or "no such" in str(exc):
                return False
            raise
        return True

    def is_dir(self) -> bool:
        try:
            return self.info().get("type") == "directory"
        except SourceError:
            return False

    def is_file(self) -> bool:
        try:
            return self.info().get("type") != "directory"
        except SourceError:
            return False

    def stat(self) -> _Stat:
        return _Stat(int(self.info().get("size") or 0))

    def open_binary(self, cache: str = "readahead") -> Any:
        """The object as a seekable binary file; see :data:`CACHES`. Bytes fetched are counted,
        and a failure while reading is a :class:`SourceError` naming the URL."""
        assert cache in CACHES
        size = self.stat().st_size
        block = {"blockcache": HDF5_BLOCK_BYTES, "stream": STREAM_BLOCK_BYTES}.get(
            cache, BLOCK_BYTES
        )
        extra: dict[str, Any] = {"maxblocks": HDF5_BLOCKS} if cache == "blockcache" else {}
        kind = "readahead" if cache == "stream" else cache
        with failures(self):
            fp = self.fs.open(self.url, "rb", block_size=block, cache_type=kind,
                              cache_options=extra, size=size)  # fmt: skip
        cache_obj = getattr(fp, "cache", None)
        fetch = getattr(cache_obj, "fetcher", None)
        if cache_obj is None or fetch is None:  # (a file system without fsspec's caches: its
            return fp  # reads are not counted)

        def counted(start: int, end: int) -> bytes:
            with failures(self):
                data: bytes = fetch(start, end)
            _count(len(data))
            return data

        cache_obj.fetcher = counted
        return fp

    def read_bytes(self) -> bytes:
        with self.open_binary(cache="none") as fp:
            return fp.read()

    def upload(self, local: Path, *, exclusive: bool = False) -> None:
        """Put the local file ``local`` at this URL in one step: a single PUT, or a multipart
        upload completed only at its end (aborted on failure), so a failed upload leaves no
        new object (an old one stays as it was). ``exclusive``: the write fails if the object
        exists by then, so of two runs one wins — on S3 (``If-None-Match: *``) and on GCS
        (``ifGenerationMatch=0``, gcsfs' ``mode="create"``); elsewhere the caller's check
        before writing is all there is."""
        extra = {"mode": "create"} if exclusive and self.protocol in CONDITIONAL else {}
        with failures(self, output=True):
            self.fs.put_file(str(local), self.url, **extra)

    def remove(self) -> None:
        """Delete the object if it is there (an upload that may have completed)."""
        try:
            self.fs.rm_file(self.url)
        except Exception:
            pass


def open_binary(path: Path | Location, cache: str = "readahead") -> Any:
    """``path`` opened for reading: a local file with ``open()``, a URL through fsspec
    (:meth:`Location.open_binary`). The one call every reader opens its file with."""
    if isinstance(path, Location):
        return path.open_binary(cache)
    return open(path, "rb")


# -- failures, in one place ----------------------------------------------------------------------
@contextmanager
def failures(where: Location, *, output: bool = False) -> Iterator[None]:
    """Turn what fsspec, botocore, aiohttp or gcsfs raise into one :class:`SourceError` (or
    :class:`OutputError`) naming the URL and the cause, never the credentials."""
    try:
        yield
    except DsdoctorError:
        raise
    except Exception as exc:
        kind = OutputError if output else SourceError
        raise kind(f"{where.display}: {failure(exc, where, output=output)}") from exc


def failure(exc: BaseException, where: Location, *, output: bool = False) -> str:
    """The cause of ``exc``, for a message that names the URL ``where`` (``output``: it was being
    written). Credentials are named by where they came from (``--storage-option`` or the
    environment), never shown."""
    name = type(exc).__name__
    text = _first_line(exc).replace(where.url, where.display)
    low = text.lower()
    bucket = urlsplit(where.url).netloc
    given = [k for k, v in where.options if is_secret(k, v)]
    origin = ("given with --storage-option " + ", ".join(sorted(given)) if given
              else "in the environment")  # fmt: skip
    if "invalidaccesskeyid" in low or "access key id you provided does not exist" in low:
        return (
            f"the access key {origin} is not known to the server (InvalidAccessKeyId): check "
            "AWS_ACCESS_KEY_ID (or --storage-option key=) and the endpoint"
        )
    if "signaturedoesnotmatch" in low:
        return (
            f"the secret key {origin} does not match the access key (SignatureDoesNotMatch): "
            "check AWS_SECRET_ACCESS_KEY (or --storage-option secret=)"
        )
    if name in ("NoCredentialsError", "PartialCredentialsError") or "credentials" in low:
        return (
            "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or "
            "GOOGLE_APPLICATION_CREDENTIALS for gs://), or pass --storage-option anon=true for a "
            "public bucket"
        )
    if isinstance(exc, FileExistsError) or "pre-conditions" in low:
        return "exists (written by another run meanwhile); pass --force to replace it"
    if "nosuchbucket" in low or "bucket does not exist" in low or "specified bucket" in low:
        return f"the bucket {bucket} does not exist"
    if (
        isinstance(exc, PermissionError)
        or "403" in text
        or "forbidden" in low
        or "accessdenied" in low
    ):
        return f"access denied (403): the credentials {origin} may not {'write' if output else 'read'} it"
    if (
        isinstance(exc, FileNotFoundError)
        or "404" in text
        or "nosuchkey" in low
        or "not found" in low
    ):
        if where.protocol in ("s3", "s3a", "gs", "gcs") and not _bucket_exists(where):
            return f"the bucket {bucket} does not exist"
        return "no such object"
    if name in ("ServerDisconnectedError", "ClientPayloadError", "ContentLengthError",
                "ClientConnectorError", "ConnectionResetError", "IncompleteRead",
                "ReadTimeoutError", "EndpointConnectionError", "ConnectTimeoutError",
                "ClientOSError", "TimeoutError", "FSTimeoutError") or isinstance(exc, ConnectionError):  # fmt: skip
        return f"the connection to the server failed ({name}: {text[:200]})"
    return f"the object store failed ({name}: {text[:200]})"


def _bucket_exists(where: Location) -> bool:
    """Whether the bucket of ``where`` exists (asked only once a key was not found: gcsfs and
    some S3 servers answer a missing bucket as a missing object). True when it cannot be told."""
    bucket = urlsplit(where.url).netloc
    try:
        return bool(where.fs.exists(bucket))
    except Exception:
        return True


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
