"""Schemathesis on the after-sale routes (offers, payment, moderation), with real resources
behind half the generated ids: a closed auction with bids, a sold one, a pending offer, a real
user; signed in as the role each route wants. No answer may be a 5xx or break the document."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from chalice.test import Client

from shared.services.context import Context
from tests.functions.test_openapi_generated import CHECKS, GENERATED, _load
from tests.support.actors import Actor
from tests.support.after_sale import ended_auction
from tests.support.harness import Person, person

schema = _load().include(
    path_regex=r"^/api/(auctions/\{auction_id\}/(offers|payment)|offers/|admin/(users|audit))"
)

# schemathesis names every generated operation with the test's one node id.
pytestmark = pytest.mark.serial


@pytest.fixture
def world(
    ctx: Context,
    client: Client,
    seller: Person,
    buyer: Person,
    admin: Person,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, Any]:
    monkeypatch.setattr(ctx.settings, "write_rate_limit", "1000/s:1000")
    monkeypatch.setattr(ctx.settings, "bid_rate_limit", "1000/s:1000")
    runner_up = person(ctx, "buyer", "Bina Rao")
    closed = ended_auction(ctx, client, seller, [(buyer, "100.00"), (runner_up, "150.00")])
    Actor(client, seller).post(f"/api/auctions/{closed}/decision", {"action": "reject"})
    made = Actor(client, seller).post(f"/api/auctions/{closed}/offers", {"bidderId": buyer.id})
    assert made.status_code == 201, made.body
    sold = ended_auction(ctx, client, seller, [(buyer, "100.00")])
    Actor(client, seller).post(f"/api/auctions/{sold}/decision", {"action": "accept"})
    return {
        "people": {"seller": seller, "buyer": buyer, "admin": admin},
        "closed": str(closed),
        "sold": str(sold),
        "offer": made.json_body["id"],
        "user": runner_up.id,
        "turn": itertools.count(),
    }


def _caller(case: Any, world: dict[str, Any]) -> Person:
    path = case.operation.path
    people: dict[str, Person] = world["people"]
    if path.startswith("/api/admin"):
        return people["admin"]
    if path.startswith("/api/offers"):
        return people["buyer"]
    if path.endswith("/payment") and next(world["turn"]) % 2:
        return people["buyer"]
    return people["seller"]


def _real_resource(case: Any, world: dict[str, Any]) -> None:
    params = case.path_parameters or {}
    if not params or next(world["turn"]) % 2:
        return
    if "auction_id" in params:
        params["auction_id"] = world[
            "sold" if case.operation.path.endswith("/payment") else "closed"
        ]
    if "offer_id" in params:
        params["offer_id"] = world["offer"]
    if "user_id" in params:
        params["user_id"] = world["user"]


@schema.parametrize()  # type: ignore[untyped-decorator]  # schemathesis ships it untyped
@GENERATED
def test_the_after_sale_routes_answer_every_generated_request_as_documented(
    case: Any, world: dict[str, Any], api_url: str
) -> None:
    _real_resource(case, world)
    headers = _caller(case, world).headers
    case.call_and_validate(base_url=api_url, headers=headers, checks=CHECKS, timeout=10)
