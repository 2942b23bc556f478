"""The socket node's plain HTTP: /health, and the admin view of rooms (admins only, CORS for
the configured origins)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

import httpx
import pytest

from infra.embedded import free_port
from shared.services import ledger
from shared.services.context import Context
from shared.settings import REPO_ROOT, get_settings, load_settings
from tests.support.harness import Person, SuiteServices, live_auction
from tests.support.socket_node import InProcessNode

ALLOWED = "http://localhost:8080"  # in CORS_ORIGINS by default


def test_health_reports_its_dependencies(node: InProcessNode) -> None:
    response = httpx.get(f"{node.http_url}/health", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "db": "ok", "redis": "ok"}


def test_admin_rooms_shows_rooms_connections_and_online_users(
    ctx: Context, node: InProcessNode, clients: Any, seller: Person, buyer: Person, admin: Person
) -> None:
    auction, other = live_auction(ctx, seller), live_auction(ctx, seller)
    clients(node.ws_url, buyer.token).join(auction)
    clients(node.ws_url, buyer.token).join(auction)
    clients(node.ws_url).join(other)
    online = clients(node.ws_url, seller.token)  # online, in no room
    online.send({"type": "ping"})
    online.until(lambda m: m["type"] == "pong")

    response = httpx.get(
        f"{node.http_url}/admin/rooms", headers={**admin.headers, "Origin": ALLOWED}, timeout=5
    )

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    body = response.json()
    assert body["rooms"] == [
        {"auctionId": str(auction), "connections": 2},
        {"auctionId": str(other), "connections": 1},
    ]
    assert body["connections"] == 4
    assert body["onlineUsers"] == 2


def test_admin_rooms_is_for_admins_only(node: InProcessNode, buyer: Person) -> None:
    url = f"{node.http_url}/admin/rooms"
    anonymous = httpx.get(url, timeout=5)
    assert anonymous.status_code == 401
    assert anonymous.headers["Content-Type"] == "application/problem+json"
    assert anonymous.json()["code"] == "unauthenticated"
    forged = httpx.get(url, headers={"Authorization": "Bearer nope"}, timeout=5)
    assert forged.status_code == 401
    not_admin = httpx.get(url, headers=buyer.headers, timeout=5)
    assert not_admin.status_code == 403 and not_admin.json()["code"] == "forbidden"


def test_admin_rooms_answers_cors_preflight_for_configured_origins_only(
    node: InProcessNode,
) -> None:
    url = f"{node.http_url}/admin/rooms"
    asks = {
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
    }
    allowed = httpx.options(url, headers={"Origin": ALLOWED, **asks}, timeout=5)
    assert allowed.status_code == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "Authorization" in allowed.headers["Access-Control-Allow-Headers"]
    elsewhere = httpx.options(url, headers={"Origin": "https://evil.example", **asks}, timeout=5)
    assert "Access-Control-Allow-Origin" not in elsewhere.headers


def test_other_methods_are_refused_with_405(node: InProcessNode) -> None:
    response = httpx.post(f"{node.http_url}/admin/rooms", timeout=5)
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_a_client_that_keeps_connections_alive_gets_every_answer(node: InProcessNode) -> None:
    # The node closes the TCP connection after each plain-HTTP answer (websockets does), so the
    # answer must say so; otherwise a keep-alive client's next request meets a closed socket.
    with httpx.Client(timeout=5) as client:
        first = client.get(f"{node.http_url}/health")
        assert first.headers["Connection"] == "close"
        assert client.get(f"{node.http_url}/config.json").status_code == 200


def test_config_json_gives_the_local_defaults(node: InProcessNode) -> None:
    response = httpx.get(f"{node.http_url}/config.json", timeout=5)
    assert response.status_code == 200
    settings = get_settings()
    assert response.json() == {
        "apiBase": f"http://127.0.0.1:{settings.api_port}",
        "wsUrl": f"ws://127.0.0.1:{node.port}/ws",
        "devLogin": True,
        "currency": settings.currency,
        "supabaseUrl": None,
        "supabaseAnonKey": None,
        "vkey": ledger.signer(settings).vkey,
    }


def test_config_json_gives_the_public_urls_of_a_split_deploy(node_factory: Any) -> None:
    settings = load_settings(
        API_PUBLIC_URL="https://abc123.execute-api.ap-south-1.amazonaws.com/prod/",
        WS_PUBLIC_URL="wss://auction-socket.onrender.com/ws",
        SUPABASE_URL="https://project.supabase.co",
        SUPABASE_ANON_KEY="anon-key",
        SUPABASE_JWKS_URL="https://project.supabase.co/auth/v1/.well-known/jwks.json",
    )
    node = node_factory(settings)
    body = httpx.get(f"{node.http_url}/config.json", timeout=5).json()
    assert body == {
        "apiBase": "https://abc123.execute-api.ap-south-1.amazonaws.com/prod",
        "wsUrl": "wss://auction-socket.onrender.com/ws",
        "devLogin": False,
        "currency": settings.currency,
        "supabaseUrl": "https://project.supabase.co",
        "supabaseAnonKey": "anon-key",
        "vkey": ledger.signer(settings).vkey,
    }


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("API_PUBLIC_URL", "api.example.com"),
        ("WS_PUBLIC_URL", "https://socket.example.com/ws"),
        ("SUPABASE_URL", "ftp://project.supabase.co"),
    ],
)
def test_a_malformed_public_url_stops_the_socket_node_with_one_line_naming_it(
    services: SuiteServices, variable: str, value: str
) -> None:
    env = {**os.environ, "APP_ENV": "test", "SOCKET_PORT": str(free_port()), variable: value}
    done = subprocess.run(
        [sys.executable, "-m", "socket_node"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"configuration error: {variable}: ")


def test_health_answers_while_the_shared_worker_threads_are_busy(node: InProcessNode) -> None:
    """The ticker, the job worker and the joins' lookups run in the event loop's default
    worker threads; with all of them stuck (a slow PostgreSQL), /health must still answer
    (a load balancer otherwise takes a busy node for a dead one)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    workers = 2
    pool = ThreadPoolExecutor(max_workers=workers)
    node.loop.call_soon_threadsafe(node.loop.set_default_executor, pool)
    gate = threading.Event()
    started = threading.Semaphore(0)

    def stuck() -> None:
        started.release()
        gate.wait(60)

    async def occupy() -> None:
        loop = asyncio.get_running_loop()
        for _ in range(workers):
            loop.run_in_executor(None, stuck)

    try:
        node.call(occupy())
        for _ in range(workers):
            assert started.acquire(timeout=10)  # every shared worker thread is taken
        response = httpx.get(f"{node.http_url}/health", timeout=10)
        assert response.status_code == 200
        assert response.json()["status"] == "ok"
    finally:
        gate.set()


def test_a_wildcard_on_the_node_grants_real_origins_without_credentials_never_null(
    node_factory: Any,
) -> None:
    node = node_factory(get_settings().model_copy(update={"cors_origins": "*"}))
    url = f"{node.http_url}/admin/rooms"
    asks = {
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
    }
    for origin in ("null", "file://", "https://evil.example/path"):
        refused = httpx.options(url, headers={"Origin": origin, **asks}, timeout=5)
        assert "Access-Control-Allow-Origin" not in refused.headers, origin
        plain = httpx.get(url, headers={"Origin": origin}, timeout=5)
        assert "Access-Control-Allow-Origin" not in plain.headers, origin
    anyone = httpx.options(url, headers={"Origin": "https://evil.example", **asks}, timeout=5)
    assert anyone.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in anyone.headers
