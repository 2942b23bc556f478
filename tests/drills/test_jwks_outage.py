"""Outage drill: the JWKS host (Supabase's key set) goes down under the real API server and
socket node processes. Cached keys keep working at both; a token with a kid neither has seen
gets 503 at the API and close code 1013 (try again later) at the WebSocket handshake, never a
500; when the host is back with the rotated key, the new kid works.

(tests/integration/test_jwks.py holds the verifier to the same on one process with the
refetch cooldown switched off; here the processes run as deployed, cooldown included: a new
kid met within 30 s of the last good fetch is refused, 401, without asking the host, so the
drill waits that out before it expects 503.)"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from infra.embedded import free_port
from shared.adapters.tokens import JWKS_REFRESH_COOLDOWN_S
from tests.adapters.test_tokens import OTHER_RSA_KEY, RSA_KEY, claims, jwk, jwks, sign
from tests.adapters.test_tokens_jwks import JwksHost
from tests.support.harness import TOKEN, SuiteServices
from tests.support.processes import FileLoggedStack, logged_stack
from tests.support.socket_node import Client, closed_code

pytestmark = pytest.mark.slow


@pytest.fixture
def host() -> Iterator[JwksHost]:
    served = JwksHost(jwks(jwk(RSA_KEY, "old")))
    yield served
    served.down()


@pytest.fixture
def stack(services: SuiteServices, host: JwksHost, tmp_path: Path) -> Iterator[FileLoggedStack]:
    processes = logged_stack(
        tmp_path / "logs",
        database_url=services.database_url,
        redis_url=services.redis_url,
        api_port=free_port(),
        socket_port=free_port(),
        bridge_port=None,
        token=TOKEN,
        extra_env={"SUPABASE_JWKS_URL": host.url},
    )
    try:
        processes.start_api()
        processes.start_socket_node()
        processes.wait_healthy(60)
        yield processes
    finally:
        processes.stop()
        processes.close_logs()


def test_jwks_host_down_cached_keys_work_new_kids_get_503_and_it_recovers(
    ctx: object, stack: FileLoggedStack, host: JwksHost, clients: Callable[..., Client]
) -> None:
    ws = f"ws://127.0.0.1:{stack.socket_port}/ws"

    def me(token: str) -> int:
        return httpx.get(
            f"{stack.api_url}/api/me", headers={"Authorization": f"Bearer {token}"}, timeout=15
        ).status_code

    def connects(token: str) -> bool:
        client = clients(ws, token)
        client.send({"type": "ping"})
        client.until(lambda m: m["type"] == "pong")
        return True

    old = sign(claims(), RSA_KEY, "RS256", "old")
    assert me(old) == 200 and connects(old)  # each process fetched the set once
    fetched_at = time.monotonic()
    assert host.fetches == 2

    host.down()
    assert me(old) == 200 and connects(old)  # cached with their set (5 minutes)

    rotated = sign(claims(), OTHER_RSA_KEY, "RS256", "rotated")
    # Within the cooldown after a good fetch an unknown kid is not looked up: refused.
    assert me(rotated) == 401
    assert closed_code(clients(ws, rotated)) == 4401
    time.sleep(max(0.0, fetched_at + JWKS_REFRESH_COOLDOWN_S + 1 - time.monotonic()))
    # Past it, the unknown kid asks the host, which is down: try again later, never a 500.
    assert me(rotated) == 503
    assert closed_code(clients(ws, rotated)) == 1013
    assert me(old) == 200 and connects(old)  # the cached keys still work

    host.document = jwks(jwk(RSA_KEY, "old"), jwk(OTHER_RSA_KEY, "rotated"))
    host.up()  # back, with the rotated key (a failed fetch started no cooldown)
    assert me(rotated) == 200
    assert connects(rotated)
    assert me(old) == 200
    assert stack.dead() == []
