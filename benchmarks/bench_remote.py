"""Remote: bytes fetched from a local S3 server (moto in server mode on 127.0.0.1).

- ``inspect`` of a 1 GiB ``.npy`` there reads its header: at most 64 KiB fetched;
- ``check`` of a Parquet file there reads the footer, then the column chunks: at most 1.1x the
  column chunks it reads (their compressed sizes, from the file's metadata).

Bytes are counted on the wire, by a TCP relay in front of the server (every byte the server
sends, response headers included: ``tests/remote_servers.py``), and by dsdoctor itself
(``bytes_fetched`` in ``--json``); both are reported. The objects are uploaded by s3fs and by
``pyarrow.fs.S3FileSystem``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from common import DSDOCTOR, GiB, MiB, Target, fmt_bytes, fmt_time, table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.remote_servers import ISOLATED, CountingProxy, quiet_servers

KiB = 1024
NPY_BYTES = 1 * GiB
PARQUET_BYTES = 512 * MiB
NPY_BUDGET = 64 * KiB
PARQUET_RATIO = 1.1


def _run(env: dict[str, str], *args: str) -> tuple[dict, float]:
    start = time.perf_counter()
    p = subprocess.run([DSDOCTOR, *args, "--json"], capture_output=True, text=True,
                       env={**os.environ, **env}, check=False)  # fmt: skip
    took = time.perf_counter() - start
    if p.returncode not in (0, 1):
        raise RuntimeError(f"dsdoctor {' '.join(args)} failed: {p.stderr.strip()}")
    return json.loads(p.stdout), took


def bench(tmp: Path, scale: int) -> tuple[list[str], list[Target]]:
    import s3fs
    from moto.server import ThreadedMotoServer
    from pyarrow import fs as pafs

    quiet_servers()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    proxy = CountingProxy(moto.get_host_and_port()[1]).start()
    env = {**ISOLATED, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": proxy.url}  # fmt: skip
    try:
        os.environ.update(env)
        # moto joins a multipart upload's parts slowly: no timeout and no retry of the completion
        # (a retried completion fails, the upload being gone)
        s3 = s3fs.S3FileSystem(skip_instance_cache=True, endpoint_url=proxy.url,
                               config_kwargs={"read_timeout": 3600, "retries": {"max_attempts": 1}})  # fmt: skip
        s3.mkdir("bench")
        n = NPY_BYTES // scale // 8
        print(
            f"remote: uploading a {fmt_bytes(8 * n)} .npy and a Parquet file to moto ...",
            flush=True,
        )
        local = tmp / "remote.npy"
        np.lib.format.open_memmap(local, mode="w+", dtype=np.float64, shape=(n,)).flush()
        s3.put_file(str(local), "bench/big.npy")
        local.unlink()
        native = pafs.S3FileSystem(endpoint_override=proxy.url.removeprefix("http://"), scheme="http",
                                   access_key="bench", secret_key="bench", region="us-east-1")  # fmt: skip
        rows = PARQUET_BYTES // scale // 16
        rng = np.random.default_rng(0)
        t = pa.table({"a": rng.normal(size=rows), "b": rng.integers(0, 1000, rows)})
        with native.open_output_stream("bench/t.parquet") as out:
            pq.write_table(t, out, compression="none", row_group_size=max(1, rows // 8))
        del t
        meta = pq.read_metadata(native.open_input_file("bench/t.parquet"))
        chunks = sum(meta.row_group(g).column(c).total_compressed_size
                     for g in range(meta.num_row_groups) for c in range(meta.num_columns))  # fmt: skip

        proxy.reset()
        inspected, t_inspect = _run(env, "inspect", "s3://bench/big.npy")
        npy_wire, npy_own = proxy.sent, inspected["sources"][0]["bytes_fetched"]
        proxy.reset()
        checked, t_check = _run(env, "check", "s3://bench/t.parquet")
        pq_wire, pq_own = proxy.sent, checked["bytes_fetched"]
    finally:
        for key in env:
            os.environ.pop(key, None)
        moto.stop()
    print(f"  inspect: {fmt_bytes(npy_wire)} on the wire, {fmt_bytes(npy_own)} counted; "
          f"check: {pq_wire / chunks:.3f}x the column chunks", flush=True)  # fmt: skip
    rows_md = [
        (f"`inspect` of a {fmt_bytes(8 * n)} .npy", fmt_bytes(npy_wire), fmt_bytes(npy_own), "—",
         fmt_time(t_inspect)),
        (f"`check` of a {fmt_bytes(meta.serialized_size + chunks)} Parquet file", fmt_bytes(pq_wire),
         fmt_bytes(pq_own), f"{pq_wire / chunks:.3f}x of {fmt_bytes(chunks)}", fmt_time(t_check)),
    ]  # fmt: skip
    targets = [
        Target(f"`inspect` of a {fmt_bytes(8 * n)} .npy on S3: bytes fetched", fmt_bytes(npy_wire),
               f"<= {fmt_bytes(NPY_BUDGET)}", npy_wire <= NPY_BUDGET),
        Target("`check` of a Parquet file on S3: bytes fetched / column chunks read",
               f"{pq_wire / chunks:.3f}", f"<= {PARQUET_RATIO:g}", pq_wire <= PARQUET_RATIO * chunks),
    ]  # fmt: skip
    md = [
        "## Remote: bytes fetched from a local S3 server",
        "",
        "moto in server mode on 127.0.0.1; bytes counted on the wire by a relay in front of it "
        "(response headers included) and by dsdoctor (`bytes_fetched` in `--json`).",
        "",
        *table(
            rows_md,
            ("command", "on the wire", "counted by dsdoctor", "of the column chunks", "time"),
        ),
        "",
        f"Targets: `inspect` fetches <= {fmt_bytes(NPY_BUDGET)}; `check` of Parquet <= "
        f"{PARQUET_RATIO:g}x the column chunks it reads.",
        "",
    ]
    return md, targets
