"""`make run`'s runner (infra.stack): brings up the API and the socket node with both /health
at 200, stops every child on SIGINT or SIGTERM, and works again when run a second time."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from infra.embedded import free_port
from shared.settings import REPO_ROOT
from tests.support.harness import TOKEN, SuiteServices


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_healthy(urls: list[str], proc: subprocess.Popen[bytes], timeout_s: float) -> float:
    started = time.monotonic()
    pending = set(urls)
    while pending and time.monotonic() - started < timeout_s:
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
        for url in list(pending):
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    pending.discard(url)
            except httpx.HTTPError:
                pass
        time.sleep(0.1)
    assert not pending, f"not healthy after {timeout_s} s: {pending}"
    return time.monotonic() - started


@pytest.mark.parametrize("stop_with", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_the_runner_starts_everything_and_stops_every_child(
    services: SuiteServices, stop_with: int
) -> None:
    api_port, socket_port = free_port(), free_port()
    env = {
        **os.environ,
        "APP_ENV": "test",
        "API_PORT": str(api_port),
        "SOCKET_PORT": str(socket_port),
        "DATABASE_URL": services.database_url,
        "REDIS_URL": services.redis_url,
        "UPSTASH_REDIS_REST_URL": services.rest_url,
        "UPSTASH_REDIS_REST_TOKEN": TOKEN,
    }
    urls = [f"http://127.0.0.1:{api_port}/health", f"http://127.0.0.1:{socket_port}/health"]
    for _ in range(2):  # and again: the second start must work as well
        proc = subprocess.Popen(
            [sys.executable, "-m", "infra.stack"],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_healthy(urls, proc, timeout_s=60)
            proc.send_signal(stop_with)
            output = proc.communicate(timeout=30)[0].decode()
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, output
        assert "stopped." in output
        assert f"http://localhost:{socket_port}/" in output  # the URLs are printed
        assert not listening(api_port) and not listening(socket_port)


def test_a_wrong_setting_stops_the_start_with_one_line_naming_it() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "infra.stack"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "BID_RATE_LIMIT": "lots"},
        timeout=60,
    )
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == [
        "configuration error: BID_RATE_LIMIT: expected RATE/UNIT[:BURST], e.g. 5/s or 5/s:10"
    ]
