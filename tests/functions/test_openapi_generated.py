"""Schemathesis against the real local HTTP server, driven by the API's own OpenAPI document:
generated requests (valid and invalid) to every operation, bounded, and every answer must be
no server error and must match what the document says about that status (status code, media
type, body schema).

Every request is signed in as the role the route wants, and half of the requests that name a
resource name a real one (a live auction, an auction awaiting its seller's decision, a pending
counter offer, a notification), so the generator reaches past 404 into the routes' logic."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from shared.adapters.orm import Auction, Bid, CounterOffer
from shared.domain.vocabulary import NotificationType
from shared.services import notifications
from shared.services.context import Context
from tests.support.harness import Person, insert_auction, live_auction

MAX_EXAMPLES = 40
# How every generated-request test runs: bounded, the same cases each run, no deadline (the
# server shares 2 cores with the suite).
GENERATED = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)

# schemathesis names every generated operation with the test's one node id.
pytestmark = pytest.mark.serial


def no_unavailable_while_everything_is_up(ctx: Context, response: Any, case: Any) -> bool | None:
    """503 is documented (a dependency down), but PostgreSQL and Redis are up here: a 503 now
    means some input reached a dependency that refused it (a NUL in a text column...)."""
    if response.status_code == 503:
        raise AssertionError(f"503 while every dependency is up: {response.text[:300]}")
    return None


CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
    no_unavailable_while_everything_is_up,
]


def _load() -> Any:
    # The document the server serves is built from the same app (test_openapi checks that the
    # served JSON equals it); it is loaded here, at collection, because schemathesis's lazy
    # fixture loader does not work with this pytest.
    import app  # noqa: F401  (registers every route)
    from chalicelib.openapi import document

    loaded = schemathesis.openapi.from_dict(document())
    loaded.config.generation.update(
        max_examples=MAX_EXAMPLES,
        deterministic=True,  # the same cases every run: a failure here is reproducible
        with_security_parameters=False,  # the test signs every request in (test_auth forges)
        modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE],
    )
    return loaded


schema = _load()


def _awaiting_decision(ctx: Context, seller: Person, buyer: Person) -> tuple[uuid.UUID, Bid]:
    """An auction that ended with `buyer`'s bid on top, as the end transition leaves it."""
    auction_id = insert_auction(
        ctx,
        seller,
        go_live_at=datetime.now(UTC) - timedelta(hours=2),
        duration_mins=10,
        status="ended",
        seed_redis=False,
    )
    with ctx.db.session() as session:
        bid = Bid(
            id=uuid.uuid4(),
            auction_id=auction_id,
            bidder_id=uuid.UUID(buyer.id),
            amount=Decimal("150.00"),
            round=1,
            seq=1,
            created_at=datetime.now(UTC) - timedelta(hours=1, minutes=55),
        )
        session.add(bid)
        session.flush()
        auction = session.get(Auction, auction_id)
        assert auction is not None
        auction.highest_bid_id = bid.id
    return auction_id, bid


@pytest.fixture
def world(
    ctx: Context,
    seller: Person,
    buyer: Person,
    admin: Person,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, Any]:
    # The limiters have their own tests; here they would only turn cases into 429s.
    monkeypatch.setattr(ctx.settings, "write_rate_limit", "1000/s:1000")
    monkeypatch.setattr(ctx.settings, "bid_rate_limit", "1000/s:1000")
    decided, _ = _awaiting_decision(ctx, seller, buyer)
    countered, _ = _awaiting_decision(ctx, seller, buyer)
    with ctx.db.session() as session:
        counter = CounterOffer(
            id=uuid.uuid4(),
            auction_id=countered,
            round=1,
            seller_id=uuid.UUID(seller.id),
            buyer_id=uuid.UUID(buyer.id),
            amount=Decimal("200.00"),
            status="pending",
        )
        session.add(counter)
        note = notifications.notify(
            session,
            ctx,
            cause=f"schemathesis:{uuid.uuid4()}",
            user_id=seller.id,
            kind=NotificationType.NEW_BID,
            payload={"auctionId": str(decided)},
        )
        assert note is not None
    return {
        "people": {"seller": seller, "buyer": buyer, "admin": admin},
        "live": str(live_auction(ctx, seller, duration_mins=60)),
        "decided": str(decided),
        "counter": str(counter.id),
        "notification": str(note.id),
        "turn": itertools.count(),
    }


def _caller(case: Any, world: dict[str, Any]) -> Person:
    path, method = case.operation.path, case.method.upper()
    people: dict[str, Person] = world["people"]
    if path.startswith("/api/admin"):
        return people["admin"]
    if (path.endswith("/bids") and method == "POST") or path.startswith("/api/counter"):
        return people["buyer"]  # a seller may not bid on their own auction
    return people["seller"]


def _real_resource(case: Any, world: dict[str, Any]) -> None:
    params = case.path_parameters or {}
    if not params or next(world["turn"]) % 2:
        return
    path = case.operation.path
    if "auction_id" in params:
        params["auction_id"] = world["decided" if path.endswith("/decision") else "live"]
    if "counter_id" in params:
        params["counter_id"] = world["counter"]
    if "notification_id" in params:
        params["notification_id"] = world["notification"]


@schema.parametrize()  # type: ignore[untyped-decorator]  # schemathesis ships it untyped
@GENERATED
def test_the_api_answers_every_generated_request_as_documented(
    case: Any, world: dict[str, Any], api_url: str
) -> None:
    _real_resource(case, world)
    headers = _caller(case, world).headers
    case.call_and_validate(base_url=api_url, headers=headers, checks=CHECKS, timeout=10)
