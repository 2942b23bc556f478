"""The socket node's plain HTTP: /health, and the admin view of rooms (admins only, CORS for
the configured origins)."""

from __future__ import annotations

from typing import Any

import httpx

from shared.services.context import Context
from tests.socket.conftest import InProcessNode
from tests.support.harness import Person, live_auction

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
