"""The gateway harness itself: the bundle runs alone (nothing of the repository on its path),
API Gateway's events carry what API Gateway sends, and where the deployed API answers
otherwise than the local server, the difference is the one docs/deploy.md names."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import orjson
import pytest

from infra.api_server import NO_ROUTE
from shared.services.context import Context
from shared.settings import REPO_ROOT
from tests.support.api_client import HttpApi
from tests.support.gateway import Gateway
from tests.support.harness import Person, live_auction


@pytest.fixture
def pair(gateway_pair: tuple[Gateway, HttpApi], ctx: Context) -> tuple[Gateway, HttpApi]:
    return gateway_pair


def test_the_bundle_runs_alone_from_its_read_only_task_directory(
    pair: tuple[Gateway, HttpApi],
) -> None:
    gateway, _ = pair
    hello = gateway.hello
    task = str(gateway.bundle.task)
    assert hello["isolated"] and hello["no_site"]
    assert hello["shared"].startswith(task + "/"), hello["shared"]
    assert hello["handler"] == f"{task}/app.py"
    assert not any(entry.startswith(str(REPO_ROOT)) for entry in hello["path"]), hello["path"]
    # every module it loaded came from the bundle, Lambda's runtime packages or the stdlib
    assert [s for s in hello["strays"] if not s.startswith("__main__:")] == []
    assert hello["task_writable"] is False  # like /var/task


def test_the_gateway_routes_what_the_app_routes(pair: tuple[Gateway, HttpApi]) -> None:
    import app as functions_app

    gateway, _ = pair
    local = {path: sorted(entries) for path, entries in functions_app.app.routes.items()}
    assert gateway.hello["routes"] == local
    deployed = {r.template: sorted(r.methods) for r in gateway.bundle.routes.routes}
    assert deployed == local


def test_an_event_carries_what_api_gateway_sends(
    pair: tuple[Gateway, HttpApi], seller: Person, ctx: Context
) -> None:
    gateway, api = pair
    auction_id = live_auction(ctx, seller)
    reply = api.get(
        f"/api/auctions/{auction_id}/bids",
        query=[("limit", "5"), ("limit", "7"), ("cursor", "")],
        headers={"X-Request-Id": "req-1", "Accept": "application/json"},
    )
    assert reply.status == 200, reply
    event = gateway.events[-1]
    stage = gateway.bundle.stage
    assert event["resource"] == "/api/auctions/{auction_id}/bids"
    assert event["requestContext"]["resourcePath"] == event["resource"]
    assert event["path"] == f"/api/auctions/{auction_id}/bids"
    assert event["requestContext"]["path"] == f"/{stage}/api/auctions/{auction_id}/bids"
    assert event["requestContext"]["stage"] == stage
    assert event["pathParameters"] == {"auction_id": str(auction_id)}
    assert event["multiValueQueryStringParameters"] == {"limit": ["5", "7"], "cursor": [""]}
    assert event["queryStringParameters"] == {"limit": "7", "cursor": ""}
    assert event["headers"]["X-Request-Id"] == "req-1"
    assert event["multiValueHeaders"]["X-Request-Id"] == ["req-1"]
    assert event["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"
    assert event["headers"]["X-Forwarded-For"].startswith("127.0.0.1, ")
    assert event["body"] is None and event["isBase64Encoded"] is False
    # the function's own request log line names the public path and the route
    line = next(x for x in reversed(gateway.log_lines()) if x.get("requestId") == "req-1")
    assert (line["path"], line["route"], line["status"]) == (
        event["requestContext"]["path"],
        event["resource"],
        200,
    )


def test_path_parameters_arrive_decoded_and_binary_bodies_as_base64(
    pair: tuple[Gateway, HttpApi], admin: Person
) -> None:
    gateway, api = pair
    api.post("/api/admin/jobs/dead/email%3Asale%3Ax%3Abuyer/replay", headers=admin.headers)
    assert gateway.events[-1]["pathParameters"] == {"job_id": "email:sale:x:buyer"}
    assert gateway.events[-1]["path"] == "/api/admin/jobs/dead/email%3Asale%3Ax%3Abuyer/replay"
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    api.post(
        "/api/auctions",
        body=png,
        headers={**admin.headers, "Content-Type": "image/png"},
    )
    event = gateway.events[-1]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == png


def test_a_path_no_route_has_gets_the_local_servers_404_from_the_gateway(
    pair: tuple[Gateway, HttpApi], http_api: HttpApi
) -> None:
    """API Gateway answers it itself (the function never sees it): with the gateway response
    `make package` writes, the same 404 problem as the local server, security headers too."""
    gateway, api = pair
    before = len(gateway.events)
    for reply in (api.get("/api/nothing/here"), http_api.get("/api/nothing/here")):
        assert (reply.status, reply.content) == (404, NO_ROUTE)
        assert reply.media_type == "application/problem+json"
        assert reply.headers["x-frame-options"] == "DENY"
    assert len(gateway.events) == before


def test_without_the_gateway_response_api_gateway_says_missing_authentication_token(
    pair: tuple[Gateway, HttpApi],
) -> None:
    gateway, _ = pair
    body = gateway.bundle.template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    mapped = body.pop("x-amazon-apigateway-gateway-responses")
    try:
        reply = gateway.request("GET", "/api/nothing")
        assert reply.status == 403
        assert reply.body == b'{"message": "Missing Authentication Token"}'
    finally:
        body["x-amazon-apigateway-gateway-responses"] = mapped


def test_a_method_no_route_has_is_404_on_the_gateway_and_405_locally(
    pair: tuple[Gateway, HttpApi], http_api: HttpApi
) -> None:
    """API Gateway cannot tell a missing method from a missing path (both are
    MISSING_AUTHENTICATION_TOKEN); the local server says 405 with Allow."""
    _, api = pair
    assert api.delete("/api/auctions").code == "not_found"
    local = http_api.delete("/api/auctions")
    assert (local.status, local.code) == (405, "method_not_allowed")


def test_the_same_reads_give_the_same_answers_on_both(
    pair: tuple[Gateway, HttpApi], http_api: HttpApi, ctx: Context, seller: Person, buyer: Person
) -> None:
    _, api = pair
    auction_id = live_auction(ctx, seller)
    assert (
        http_api.post(
            f"/api/auctions/{auction_id}/bids", json={"amount": "100.00"}, headers=buyer.headers
        ).status
        == 201
    )
    for path in (
        f"/api/auctions/{auction_id}",
        f"/api/auctions/{auction_id}/bids",
        "/api/auctions?status=live",
        "/api/openapi.json",
        "/api/docs",
        f"/api/auctions/{uuid.uuid4()}",
        "/health",
    ):
        here, there = (
            http_api.get(path, headers=buyer.headers),
            api.get(path, headers=buyer.headers),
        )
        assert (there.status, _same(there)) == (here.status, _same(here)), path
        for name in ("content-type", "cache-control", "content-security-policy"):
            assert there.headers.get(name) == here.headers.get(name), (path, name)


def test_the_pdf_comes_as_bytes_when_accept_names_it_and_as_base64_text_for_any(
    pair: tuple[Gateway, HttpApi], http_api: HttpApi, ctx: Context, seller: Person, buyer: Person
) -> None:
    """API Gateway decodes a base64 answer only when the request's Accept names a binary media
    type; `*/*` (curl's default) does not, so the deployed API sends the base64 text where the
    local server sends the PDF. The web app asks for application/pdf."""
    gateway, api = pair
    auction_id = live_auction(ctx, seller)
    http_api.post(
        f"/api/auctions/{auction_id}/bids", json={"amount": "100.00"}, headers=buyer.headers
    )
    from tests.support.after_sale import hammer

    hammer(ctx, auction_id)
    http_api.post(
        f"/api/auctions/{auction_id}/decision", json={"action": "accept"}, headers=seller.headers
    )
    path = f"/api/auctions/{auction_id}/invoice"
    pdf = http_api.get(path, headers={**buyer.headers, "Accept": "application/pdf"})
    assert pdf.content.startswith(b"%PDF-")
    named = api.get(path, headers={**buyer.headers, "Accept": "application/pdf"})
    assert (named.status, named.content) == (200, pdf.content)  # byte for byte
    anything = api.get(path, headers={**buyer.headers, "Accept": "*/*"})
    assert anything.status == 200 and base64.b64decode(anything.content) == pdf.content
    assert http_api.get(path, headers={**buyer.headers, "Accept": "*/*"}).content == pdf.content
    # No Accept at all: Chalice itself refuses a binary answer (the local server supplies
    # `*/*` for such a request, as RFC 9110 reads it).
    bare = gateway.request("GET", path, headers=list(buyer.headers.items()))
    assert (bare.status, orjson.loads(bare.body)["code"]) == (400, "bad_request")


def _same(reply: Any) -> Any:
    """The body, less what is the clock's (`serverTime`)."""
    return _timeless(reply.json()) if reply.media_type.endswith("json") else reply.content


def _timeless(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _timeless(v) for k, v in value.items() if k != "serverTime"}
    if isinstance(value, list):
        return [_timeless(v) for v in value]
    return value
