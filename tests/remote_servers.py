"""Real object-store servers on 127.0.0.1 for the remote-URL tests, started once per session.

- **S3**: moto in server mode (:class:`moto.server.ThreadedMotoServer`);
- **GCS**: ``gcp-storage-emulator`` (in memory);
- **HTTP**: :class:`RangeHTTPServer.RangeRequestHandler` (Python's plain ``http.server``
  ignores ``Range``) serving a temporary folder.

Each server sits behind a :class:`CountingProxy`, a plain TCP relay that counts the bytes the
server sends to the client — the budgets (``inspect`` fetches ≤ 64 KiB) are measured on the wire,
not from dsdoctor's own counter — and that can play a server dropping the connection mid-read
(:attr:`CountingProxy.cut_after`) or refusing every request with a 403 (:attr:`CountingProxy.forbid`).
Clients reach the servers through the proxies only (``AWS_ENDPOINT_URL``,
``STORAGE_EMULATOR_HOST``, the HTTP URLs).
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

HOST = "127.0.0.1"
FORBIDDEN = (
    b"HTTP/1.1 403 Forbidden\r\nContent-Type: application/xml\r\nContent-Length: 118\r\n"
    b'Connection: close\r\n\r\n<?xml version="1.0"?><Error><Code>AccessDenied</Code>'
    b"<Message>Access Denied</Message></Error>" + b" " * 12
)


def s3_error(status: str, code: str, message: str) -> bytes:
    """An S3 error response (``403 Forbidden``, ``InvalidAccessKeyId``, …) as the server sends it."""
    body = (f'<?xml version="1.0"?><Error><Code>{code}</Code><Message>{message}</Message>'
            "</Error>").encode()  # fmt: skip
    head = (f"HTTP/1.1 {status}\r\nContent-Type: application/xml\r\nContent-Length: {len(body)}"
            "\r\nConnection: close\r\n\r\n").encode()  # fmt: skip
    return head + body


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class CountingProxy:
    """A TCP relay from a free port on 127.0.0.1 to ``upstream``: ``sent`` counts the bytes the
    server sent back; with ``cut_after`` set, a connection is closed once the server has sent
    that many bytes on it (a server dropping the connection mid-read); with ``forbid``, every
    request is answered 403 AccessDenied (or, ``forbid`` being bytes, with that response:
    :func:`s3_error`)."""

    upstream: int
    sent: int = 0
    cut_after: int | None = None
    forbid: bool | bytes = False
    port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> CountingProxy:
        self._sock = socket.create_server((HOST, 0))
        self.port = self._sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def reset(self) -> None:
        with self._lock:
            self.sent, self.cut_after, self.forbid = 0, None, False

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        if self.forbid:
            with contextlib.suppress(OSError):
                client.recv(65536)
                client.sendall(self.forbid if isinstance(self.forbid, bytes) else FORBIDDEN)
            client.close()
            return
        try:
            server = socket.create_connection((HOST, self.upstream))
        except OSError:
            client.close()
            return
        threading.Thread(target=self._pump, args=(client, server, False), daemon=True).start()
        self._pump(server, client, True)

    def _pump(self, src: socket.socket, dst: socket.socket, counted: bool) -> None:
        here = 0
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if counted:
                    limit = self.cut_after
                    if limit is not None and here + len(data) > limit:
                        dst.sendall(data[: max(0, limit - here)])
                        break
                    here += len(data)
                    with self._lock:
                        self.sent += len(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()


@dataclass
class Servers:
    s3: CountingProxy
    gcs: CountingProxy
    http: CountingProxy
    http_root: Path
    env: dict[str, str]


#: Environment that makes botocore look nowhere else for credentials (no ~/.aws, no metadata).
ISOLATED = {"AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_CONFIG_FILE": "/nonexistent",
            "AWS_EC2_METADATA_DISABLED": "true", "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false"}  # fmt: skip


def start_servers(tmp_path_factory) -> Iterator[Servers]:
    """The servers, until the generator is closed (a session fixture's body)."""
    pytest.importorskip("s3fs")
    pytest.importorskip("gcsfs")
    from gcp_storage_emulator.server import create_server
    from moto.server import ThreadedMotoServer
    from RangeHTTPServer import RangeRequestHandler

    quiet_servers()
    moto = ThreadedMotoServer(ip_address=HOST, port=0, verbose=False)
    moto.start()
    gcs_port = free_port()
    gcs = create_server(HOST, gcs_port, in_memory=True, default_bucket="gbkt")
    gcs.start()
    root = tmp_path_factory.mktemp("http")
    handler = functools.partial(_QuietRange, RangeRequestHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer((HOST, 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    s3p = CountingProxy(moto.get_host_and_port()[1]).start()
    gcsp = CountingProxy(gcs_port).start()
    httpp = CountingProxy(httpd.server_address[1]).start()
    env = {**ISOLATED, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": s3p.url,
           "STORAGE_EMULATOR_HOST": gcsp.url}  # fmt: skip
    try:
        yield Servers(s3p, gcsp, httpp, root, env)
    finally:
        httpd.shutdown()
        gcs.stop()
        moto.stop()


def quiet_servers() -> None:
    """No request log from moto's werkzeug server (one line per request, on stderr)."""
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)


def _QuietRange(base, *args, **kwargs):
    class Quiet(base):
        def log_message(self, *a):  # no request log on stderr
            pass

    return Quiet(*args, **kwargs)


@contextlib.contextmanager
def environ(env: dict[str, str]) -> Iterator[None]:
    """``env`` in ``os.environ`` for the block (for clients made in this process)."""
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def s3_client(servers: Servers, bucket: str) -> Iterator[Any]:
    """An s3fs client of the moto server (through its proxy), with ``bucket`` made (a module
    fixture's body: ``yield from s3_client(servers, "bkt")``)."""
    import s3fs

    with environ(servers.env):
        fs = s3fs.S3FileSystem(skip_instance_cache=True, endpoint_url=servers.s3.url)
        if not fs.exists(bucket):
            fs.mkdir(bucket)
        yield fs
