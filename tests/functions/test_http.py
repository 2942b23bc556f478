"""HTTP hygiene over real HTTP (the local server in `api_url`): CORS from CORS_ORIGINS (the
preflight, which chalice.test.Client cannot send), the security headers an API needs (HSTS in
production only), the request id, one JSON log line per request with the user, and problem+json
for paths and methods no route has."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import httpx
import pytest

from shared.services.context import Context
from tests.support.harness import Person, live_auction

ALLOWED = "http://localhost:8080"  # in the default CORS_ORIGINS
STRANGER = "https://evil.example"


@pytest.fixture
def http(api_url: str) -> Any:
    with httpx.Client(base_url=api_url, timeout=10) as session:
        yield session


@pytest.mark.parametrize(
    "path", ["/api/auctions", "/api/auctions/0b2d2c8e-1111-4c3a-9d3e-2f1e0a9b8c7d/bids"]
)
def test_a_preflight_from_an_allowed_origin_is_answered(http: httpx.Client, path: str) -> None:
    response = http.options(
        path,
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in response.headers["access-control-allow-methods"]
    allowed_headers = response.headers["access-control-allow-headers"].lower()
    for header in ("authorization", "content-type", "idempotency-key"):
        assert header in allowed_headers
    assert int(response.headers["access-control-max-age"]) > 0
    assert "origin" in response.headers["vary"].lower()


def test_a_preflight_from_another_origin_gets_no_cors_grant(http: httpx.Client) -> None:
    response = http.options(
        "/api/auctions",
        headers={"Origin": STRANGER, "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 204
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-methods" not in response.headers


def test_simple_requests_carry_cors_headers_for_allowed_origins_only(http: httpx.Client) -> None:
    allowed = http.get("/api/auctions", headers={"Origin": ALLOWED})
    assert allowed.headers["access-control-allow-origin"] == ALLOWED
    exposed = allowed.headers["access-control-expose-headers"].lower()
    assert "retry-after" in exposed and "x-request-id" in exposed
    stranger = http.get("/api/auctions", headers={"Origin": STRANGER})
    assert "access-control-allow-origin" not in stranger.headers
    # Errors too: a browser must be able to read a problem from an allowed origin.
    missing = http.get("/api/me", headers={"Origin": ALLOWED})
    assert missing.status_code == 401
    assert missing.headers["access-control-allow-origin"] == ALLOWED


def test_the_allowed_origins_are_those_of_cors_origins(
    http: httpx.Client, ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        ctx.settings, "cors_origins", "https://shop.example, https://admin.example/"
    )
    for origin in ("https://shop.example", "https://admin.example"):
        response = http.options(
            "/api/auctions", headers={"Origin": origin, "Access-Control-Request-Method": "GET"}
        )
        assert response.headers["access-control-allow-origin"] == origin
    response = http.get("/api/auctions", headers={"Origin": ALLOWED})
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/health"),
        ("GET", "/api/auctions"),
        ("GET", "/api/me"),  # 401 problem
        ("GET", "/api/auctions/nope"),  # 404 problem
        ("GET", "/api/no-such-route"),  # no route at all
        ("DELETE", "/api/auctions"),  # 405
        ("OPTIONS", "/api/auctions"),
    ],
)
def test_every_response_carries_the_security_headers(
    http: httpx.Client, method: str, path: str
) -> None:
    response = http.request(method, path)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "strict-transport-security" not in response.headers  # not in test / development


def test_hsts_is_sent_in_production(
    http: httpx.Client, ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ctx.settings, "app_env", "production")
    hsts = http.get("/api/auctions").headers["strict-transport-security"]
    assert re.match(r"max-age=\d{8,}", hsts)


def test_a_path_no_route_has_is_a_404_problem(http: httpx.Client) -> None:
    response = http.get("/api/no-such-route")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("method", ["DELETE", "PUT", "PATCH", "TRACE", "FROB"])
def test_a_method_no_route_has_is_a_405_problem(http: httpx.Client, method: str) -> None:
    response = http.request(method, "/api/auctions")
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "method_not_allowed"


def test_the_request_id_is_echoed_or_made(http: httpx.Client) -> None:
    given = http.get("/api/auctions", headers={"X-Request-Id": "trace-abc-123"})
    assert given.headers["x-request-id"] == "trace-abc-123"
    made = {http.get("/api/auctions").headers["x-request-id"] for _ in range(3)}
    assert len(made) == 3 and all(re.fullmatch(r"[0-9a-f]{32}", m) for m in made)


def _request_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    lines = []
    for record in caplog.records:
        if record.name == "api":
            try:
                line = json.loads(record.getMessage())
            except ValueError:
                continue
            if line.get("event") == "request":
                lines.append(line)
    return lines


def test_each_request_logs_one_json_line_with_request_and_user_ids(
    http: httpx.Client, ctx: Context, seller: Person, caplog: pytest.LogCaptureFixture
) -> None:
    auction = live_auction(ctx, seller)
    with caplog.at_level(logging.INFO, logger="api"):
        http.get(f"/api/auctions/{auction}", headers={**seller.headers, "X-Request-Id": "r-1"})
        http.get("/api/auctions", headers={"X-Request-Id": "r-2"})
        http.get("/api/me", headers={"X-Request-Id": "r-3"})
    lines = {line["requestId"]: line for line in _request_lines(caplog)}
    assert lines["r-1"]["userId"] == seller.id
    assert lines["r-1"]["status"] == 200 and lines["r-1"]["method"] == "GET"
    assert lines["r-1"]["path"] == f"/api/auctions/{auction}"
    assert lines["r-2"]["userId"] is None
    assert lines["r-3"]["status"] == 401 and lines["r-3"]["userId"] is None
    for line in lines.values():
        assert isinstance(line["ms"], int | float)


def test_a_bad_token_is_logged_without_the_token(
    http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="api"):
        http.get("/api/me", headers={"Authorization": "Bearer secret.token.value"})
    assert "secret.token.value" not in caplog.text


def test_a_wildcard_grants_any_real_origin_without_credentials_and_never_null(
    http: httpx.Client, ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CORS_ORIGINS=* once reflected whatever Origin came, `null` included (a sandboxed iframe,
    a file: page, a data: URL), with Allow-Credentials: any page could then read answers made
    with the visitor's credentials. A wildcard is the standard `*`, which browsers never honour
    for a credentialed request; `null` is never granted; named origins keep credentials."""
    monkeypatch.setattr(ctx.settings, "cors_origins", f"*, {ALLOWED}")
    for asked in (
        http.get("/api/auctions", headers={"Origin": "null"}),
        http.options(
            "/api/auctions", headers={"Origin": "null", "Access-Control-Request-Method": "POST"}
        ),
    ):
        assert "access-control-allow-origin" not in asked.headers
        assert "access-control-allow-credentials" not in asked.headers
    anyone = http.get("/api/auctions", headers={"Origin": STRANGER})
    assert anyone.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in anyone.headers
    preflight = http.options(
        "/api/auctions",
        headers={
            "Origin": STRANGER,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in preflight.headers
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    named = http.get("/api/auctions", headers={"Origin": ALLOWED})
    assert named.headers["access-control-allow-origin"] == ALLOWED
    assert named.headers["access-control-allow-credentials"] == "true"


def test_null_is_never_granted_even_when_listed(
    http: httpx.Client, ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ctx.settings, "cors_origins", "null")
    response = http.get("/api/auctions", headers={"Origin": "null"})
    assert "access-control-allow-origin" not in response.headers
