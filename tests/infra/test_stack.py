"""`make run`'s runner (infra.stack): brings up the API and the socket node with both /health
at 200, stops every child on SIGINT or SIGTERM, and works again when run a second time."""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from infra.embedded import free_port
from infra.stack import dev_login_warning, development_unless_configured
from shared.settings import REPO_ROOT, load_settings
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
    # And again: the second start must work as well, here on every interface (as in the
    # image), where it warns that dev login is served there.
    for api_host in ("127.0.0.1", "0.0.0.0"):
        proc = subprocess.Popen(
            [sys.executable, "-m", "infra.stack"],
            cwd=REPO_ROOT,
            env={**env, "API_HOST": api_host},
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
        warned = [line for line in output.splitlines() if line.startswith("warning: dev login")]
        assert len(warned) == (0 if api_host == "127.0.0.1" else 1), output
        assert not listening(api_port) and not listening(socket_port)


@pytest.mark.parametrize(
    ("overrides", "warns"),
    [
        ({"APP_ENV": "development", "API_HOST": "0.0.0.0"}, True),
        ({"APP_ENV": "development", "API_HOST": "::"}, True),
        ({"APP_ENV": "development", "API_HOST": "192.168.1.5"}, True),
        ({"APP_ENV": "development", "API_HOST": "127.0.0.1"}, False),
        ({"APP_ENV": "development", "API_HOST": "::1"}, False),
        ({"APP_ENV": "development", "API_HOST": "0.0.0.0", "SUPABASE_JWT_SECRET": "s" * 32}, False),
    ],
    ids=["wildcard", "ipv6-wildcard", "lan", "loopback", "ipv6-loopback", "keys-no-dev-login"],
)
def test_dev_login_on_a_reachable_address_is_warned_of(
    overrides: dict[str, str], warns: bool
) -> None:
    warning = dev_login_warning(load_settings(**{"JWT_PUBLIC_KEYS": "", **overrides}))
    if not warns:
        assert warning is None
        return
    assert warning is not None and "\n" not in warning
    assert f"{overrides['API_HOST']}:" in warning
    assert "-p 127.0.0.1:8000:8000 -p 127.0.0.1:8080:8080" in warning


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


@pytest.mark.parametrize(
    ("given", "development"),
    [
        ({}, True),  # a bare `docker run`: the development stack, embedded and seeded
        ({"APP_ENV": "", "DATABASE_URL": " "}, True),  # empty is not given, as for every setting
        ({"REDIS_URL": "redis://cache:6379/0"}, True),
        ({"DATABASE_URL": "postgresql://app@db/auction"}, False),  # someone's real database
        ({"APP_ENV": "production"}, False),
        ({"APP_ENV": "test"}, False),
    ],
)
def test_the_image_runs_development_only_when_nothing_is_configured(
    given: dict[str, str], development: bool
) -> None:
    environ = dict(given)
    assert development_unless_configured(environ) is development
    if development:
        assert environ["APP_ENV"] == "development"
    else:
        assert environ.get("APP_ENV") == given.get("APP_ENV")


def test_the_images_command_with_a_database_url_is_production_and_refuses_without_keys() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("APP_ENV", "PORT")}
    env.update(
        DATABASE_URL="postgresql://app@db.invalid:5432/auction",
        JWT_PUBLIC_KEYS="",
        SUPABASE_JWKS_URL="",
        SUPABASE_JWT_SECRET="",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "infra.stack", "--dev-unless-configured"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 2
    assert [line for line in proc.stderr.splitlines() if line.strip()] == [
        "configuration error: JWT_PUBLIC_KEYS, SUPABASE_JWKS_URL or SUPABASE_JWT_SECRET is "
        "required when APP_ENV=production"
    ]


def test_production_refuses_to_start_without_the_ledger_signing_key() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PORT", "LEDGER_SIGNING_KEY")}
    env.update(
        APP_ENV="production",
        DATABASE_URL="postgresql://app@db.invalid:5432/auction",
        SUPABASE_JWT_SECRET="a-secret-of-the-auth-provider",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "infra.api_server"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 2
    assert [line for line in proc.stderr.splitlines() if line.strip()] == [
        "configuration error: LEDGER_SIGNING_KEY: is required when APP_ENV=production "
        "(a base64 32-byte Ed25519 seed, e.g. from `openssl rand -base64 32`)"
    ]


def _listening_on(port: int) -> set[str]:
    """The local addresses a TCP socket listens on at `port`, from /proc/net/tcp."""
    addresses = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if int(hex_port, 16) == port and state == "0A":  # LISTEN
            addresses.add(str(ipaddress.IPv4Address(bytes.fromhex(address)[::-1])))
    return addresses


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux's /proc/net/tcp")
@pytest.mark.parametrize(
    ("api_host", "expected"),
    [(None, "127.0.0.1"), ("0.0.0.0", "0.0.0.0")],
    ids=["default", "image"],
)
def test_the_api_listens_on_loopback_unless_api_host_says_otherwise(
    services: SuiteServices, api_host: str | None, expected: str
) -> None:
    port = free_port()
    env = {**os.environ, "APP_ENV": "test"}
    env.pop("API_HOST", None)
    if api_host:
        env["API_HOST"] = api_host
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra.api_server", "--port", str(port)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_healthy([f"http://127.0.0.1:{port}/health"], proc, timeout_s=60)
        assert _listening_on(port) == {expected}
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_wrong_api_host_stops_the_start_with_one_line_naming_it() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "infra.stack"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "API_HOST": "localhost"},
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "configuration error: API_HOST: must be an IP address to listen on, e.g. 127.0.0.1 or "
        "0.0.0.0"
    )
