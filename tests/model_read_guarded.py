"""``read_model(path)`` in a subprocess behind an audit hook and an address-space limit.

The hook ends the process with :data:`BREACH` when the reader runs a command (``os.system``,
``subprocess``, ``os.exec*``, ``os.posix_spawn``), resolves a pickle global, or opens a file
whose path contains one of the ``forbidden`` strings (an ONNX external-data location, a file
beside the model): a reader that only parses metadata does none of these.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BREACH = 97

_CHILD = """
import json, os, resource, sys
limit, forbidden, path = int(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
COMMANDS = ("os.system", "subprocess.Popen", "os.exec", "os.posix_spawn", "os.spawn",
            "pickle.find_class")
def hook(event, args):
    if event in COMMANDS:
        os.write(2, f"BREACH {event} {args!r}\\n".encode()); os._exit(BREACH_CODE)
    if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        name = os.fsdecode(args[0])
        if any(f in name for f in forbidden):
            os.write(2, f"BREACH open {name}\\n".encode()); os._exit(BREACH_CODE)
from dsdoctor.errors import DsdoctorError
from dsdoctor.models import read_model
sys.addaudithook(hook)
try:
    facts = read_model(path)
except DsdoctorError as exc:
    print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
else:
    print(json.dumps({"facts": facts.to_dict()}))
""".replace("BREACH_CODE", str(BREACH))


def guarded_read(path: Path, forbidden: tuple[str, ...] = (), limit: int = 3 * 2**30,
                 timeout: float = 120) -> dict:  # fmt: skip
    """{"facts": …} or {"error": class name, "message": …}; fails the test on a breach, a
    crash (memory limit) or a traceback."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    p = subprocess.run([sys.executable, "-c", _CHILD, str(limit), json.dumps(forbidden), str(path)],
                       capture_output=True, timeout=timeout, env=env)  # fmt: skip
    stderr = p.stderr.decode(errors="replace")
    assert p.returncode != BREACH, stderr
    assert p.returncode == 0, (p.returncode, stderr[-2000:])
    out = json.loads(p.stdout.decode().strip().splitlines()[-1])
    if "error" in out:
        assert "\n" not in out["message"], out["message"]
    return out
