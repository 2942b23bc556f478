"""Worker processes sharing one listening port (SO_REUSEPORT: the kernel spreads connections).

Python's threaded http.server runs one request at a time per process (the GIL); on a machine
with more than one core a second process serves in parallel. Used by the local API server and
the Upstash-REST bridge (`--workers N`); a worker is the same command with `--workers 0`.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
from typing import Any, Protocol


class Serving(Protocol):
    def serve_forever(self) -> None: ...

    def server_close(self) -> None: ...


def serve(server: Serving, module: str, argv: list[str], workers: int) -> None:
    """Serve here, and in `workers - 1` more processes of `python -m module *argv`; SIGTERM
    or Ctrl-C stops them all."""
    children = [
        subprocess.Popen([sys.executable, "-m", module, *argv, "--workers", "0"])
        for _ in range(max(0, workers - 1))
    ]

    def stop(*_: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            child.terminate()
        for child in children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(10)
        server.server_close()
