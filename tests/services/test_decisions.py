"""The seller's decision and the counter-offer through the API (its rules, its room events),
against real PostgreSQL, Redis through the bridge, and the outbox relay."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from chalice.test import Client
from sqlalchemy import func, select, update

from shared.adapters import keys
from shared.adapters.orm import Auction, AuditEntry, CounterOffer, Invoice
from shared.domain.times import to_ms
from shared.services import auction_state, outbox
from shared.services.context import Context
from tests.support import harness
from tests.support.actors import Bidder, Seller, call
from tests.support.after_sale import (
    audit_actions,
    ended_auction,
    event_types,
    notification_types,
    race,
)
from tests.support.harness import Person, tcp
from tests.support.streams import user_events


@pytest.fixture
def rival(ctx: Context) -> Person:
    return harness.person(ctx, "buyer", "ravi")


@pytest.fixture
def ended(ctx: Context, client: Client, seller: Person, buyer: Person, rival: Person) -> uuid.UUID:
    """Ended with bids: `buyer` bid 100, `rival` outbid at 1250 and is the highest bidder."""
    return ended_auction(ctx, client, seller, [(buyer, "100.00"), (rival, "1250.00")])


def queued_jobs(ctx: Context) -> dict[str, dict[str, Any]]:
    import orjson

    outbox.relay(ctx)
    flat = ctx.store.command("HGETALL", keys.JOBS_DATA) or []
    return {flat[i]: orjson.loads(flat[i + 1]) for i in range(0, len(flat), 2)}


def redis_status(ctx: Context, auction_id: uuid.UUID) -> str:
    state = auction_state.read_state(ctx, str(auction_id))
    return state.status if state else ""


# -- accept -------------------------------------------------------------------------------------


def test_accept_sells_at_the_highest_bid(
    ctx: Context, client: Client, seller: Person, buyer: Person, rival: Person, ended: uuid.UUID
) -> None:
    response = Seller(client, seller).decide(ended, action="accept")
    assert response.status_code == 200, response.body
    auction = response.json_body
    assert auction["status"] == "sold"
    assert auction["winnerId"] == rival.id
    assert auction["finalPrice"] == "1250.00"
    assert auction["highestBid"]["amount"] == "1250.00"
    assert redis_status(ctx, ended) == "sold"  # snapshots show the new status
    assert event_types(ctx, rival)[-1] == "seller:accepted"
    assert event_types(ctx, seller)[-1] == "seller:accepted"
    assert "seller:accepted" not in event_types(ctx, buyer)
    assert notification_types(ctx, rival)[-1] == "accepted"
    assert notification_types(ctx, seller)[-1] == "accepted"
    assert "accepted" not in notification_types(ctx, buyer)
    jobs = queued_jobs(ctx)
    assert {(j["template"], j["recipientId"], j["attachInvoice"]) for j in jobs.values()} == {
        ("sale_confirmation", rival.id, True),
        ("sale_confirmation", seller.id, True),
    }
    assert audit_actions(ctx, ended) == ["seller.accept"]


def test_the_accepted_event_carries_the_sale(
    ctx: Context, client: Client, seller: Person, rival: Person, ended: uuid.UUID
) -> None:
    Seller(client, seller).decide(ended, action="accept")
    (event,) = [e for e in user_events(ctx, rival.id) if e["type"] == "seller:accepted"]
    assert event["auctionId"] == str(ended)
    assert event["data"]["amount"] == "1250.00"
    assert event["data"]["buyerId"] == rival.id
    assert event["data"]["invoiceNumber"] == 1
    pushed = [e["data"] for e in user_events(ctx, rival.id) if e["type"] == "notification"]
    assert pushed[-1]["type"] == "accepted"
    assert pushed[-1]["readAt"] is None


# -- reject -------------------------------------------------------------------------------------


def test_reject_closes_with_no_winner(
    ctx: Context, client: Client, seller: Person, buyer: Person, rival: Person, ended: uuid.UUID
) -> None:
    response = Seller(client, seller).decide(ended, action="reject")
    assert response.status_code == 200, response.body
    assert response.json_body["status"] == "closed_no_winner"
    assert response.json_body.get("winnerId") is None
    assert redis_status(ctx, ended) == "closed_no_winner"
    assert event_types(ctx, rival)[-1] == "seller:rejected"
    assert event_types(ctx, seller)[-1] == "seller:rejected"
    assert "seller:rejected" not in event_types(ctx, buyer)
    assert notification_types(ctx, rival)[-1] == "rejected"
    assert notification_types(ctx, seller)[-1] == "rejected"
    (job,) = queued_jobs(ctx).values()
    assert job["template"] == "rejection"
    assert job["recipientId"] == rival.id
    with ctx.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Invoice)) == 0
    assert audit_actions(ctx, ended) == ["seller.reject"]


# -- counter ------------------------------------------------------------------------------------


def test_counter_above_the_highest_bid_offers_it_to_the_highest_bidder(
    ctx: Context, client: Client, seller: Person, buyer: Person, rival: Person, ended: uuid.UUID
) -> None:
    response = Seller(client, seller).decide(ended, action="counter", amount="1500")
    assert response.status_code == 200, response.body
    auction = response.json_body
    assert auction["status"] == "ended"
    offer = auction["counterOffer"]
    assert offer["amount"] == "1500.00"
    assert offer["status"] == "pending"
    assert event_types(ctx, rival)[-1] == "counter:offer"
    assert "counter:offer" not in event_types(ctx, seller)
    assert "counter:offer" not in event_types(ctx, buyer)
    (event,) = [e for e in user_events(ctx, rival.id) if e["type"] == "counter:offer"]
    assert event["data"]["counterOffer"] == offer
    assert event["data"]["highestBid"] == "1250.00"
    assert notification_types(ctx, rival)[-1] == "counter_offer"
    (job,) = queued_jobs(ctx).values()
    assert (job["template"], job["recipientId"]) == ("counter_invitation", rival.id)
    # Everyone reading the auction sees the pending offer.
    read = call(client, "GET", f"/api/auctions/{ended}").json_body
    assert read["counterOffer"] == offer
    assert audit_actions(ctx, ended) == ["seller.counter"]


@pytest.mark.parametrize("amount", ["1250.00", "1000", 5])
def test_counter_not_above_the_highest_bid_is_refused_and_changes_nothing(
    ctx: Context, client: Client, seller: Person, ended: uuid.UUID, amount: str
) -> None:
    response = Seller(client, seller).decide(ended, action="counter", amount=amount)
    assert response.status_code == 409
    assert response.json_body["code"] == "counter_too_low"
    assert response.json_body["highestBid"] == "1250.00"
    assert response.headers["Content-Type"] == "application/problem+json"
    with ctx.db.session() as session:
        assert session.get_one(Auction, ended).status == "ended"
        assert session.scalar(select(func.count()).select_from(CounterOffer)) == 0
    assert queued_jobs(ctx) == {}
    assert audit_actions(ctx, ended) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "counter"}, "amount"),
        ({"action": "accept", "amount": "2000"}, "amount"),
        ({"action": "sell"}, "action"),
        ({}, "action"),
        ({"action": "counter", "amount": "12.345"}, "amount"),
        ({"action": "counter", "amount": -5}, "amount"),
        ({"action": "accept", "extra": 1}, "extra"),
    ],
)
def test_malformed_decisions_are_422_and_change_nothing(
    ctx: Context, client: Client, seller: Person, ended: uuid.UUID, body: dict[str, Any], field: str
) -> None:
    response = call(client, "POST", f"/api/auctions/{ended}/decision", seller, body)
    assert response.status_code == 422, response.body
    assert response.json_body["code"] == "validation_error"
    assert any(field in e["field"] for e in response.json_body["errors"])
    with ctx.db.session() as session:
        assert session.get_one(Auction, ended).status == "ended"


# -- who, when, how often -----------------------------------------------------------------------


def test_only_the_seller_decides(
    ctx: Context, client: Client, buyer: Person, rival: Person, admin: Person, ended: uuid.UUID
) -> None:
    for who in (buyer, rival, admin):
        response = Seller(client, who).decide(ended, action="accept")
        assert response.status_code == 403
        assert response.json_body["code"] == "forbidden"
    assert Seller(client, None).decide(ended, action="accept").status_code == 401
    with ctx.db.session() as session:
        assert session.get_one(Auction, ended).status == "ended"


def test_no_decision_while_the_auction_is_live(
    ctx: Context, client: Client, seller: Person, buyer: Person
) -> None:
    auction_id = harness.live_auction(ctx, seller)
    Bidder(client, buyer).placed(auction_id, "100.00")
    response = Seller(client, seller).decide(auction_id, action="accept")
    assert response.status_code == 409
    assert response.json_body["code"] == "decision_not_allowed"


def test_an_auction_that_ended_with_no_bids_has_no_decision(
    ctx: Context, client: Client, seller: Person
) -> None:
    auction_id = ended_auction(ctx, client, seller, [])
    response = Seller(client, seller).decide(auction_id, action="accept")
    assert response.status_code == 409
    assert response.json_body["code"] == "decision_not_allowed"


def test_an_overdue_auction_no_ticker_closed_is_closed_then_decided(
    ctx: Context, client: Client, seller: Person, buyer: Person
) -> None:
    auction_id = harness.live_auction(ctx, seller)
    Bidder(client, buyer).placed(auction_id, "100.00")
    # past the end and the grace for bids that arrived before it
    grace = timedelta(milliseconds=ctx.settings.late_bid_grace_ms)
    past = datetime.now(UTC) - grace - timedelta(seconds=1)
    with ctx.db.session() as session:
        session.execute(update(Auction).where(Auction.id == auction_id).values(ends_at=past))
    tcp().command("HSET", keys.state(str(auction_id)), "endsAt", to_ms(past))
    response = Seller(client, seller).decide(auction_id, action="accept")
    assert response.status_code == 200, response.body
    assert response.json_body["status"] == "sold"


def test_no_decision_in_the_grace_after_the_end(
    ctx: Context, client: Client, seller: Person, buyer: Person
) -> None:
    """Past endsAt, a bid that arrived before it may still be on its way for
    LATE_BID_GRACE_MS: the auction is not decided before that, so neither is the seller."""
    auction_id = harness.live_auction(ctx, seller)
    Bidder(client, buyer).placed(auction_id, "100.00")
    past = datetime.now(UTC) - timedelta(milliseconds=100)
    with ctx.db.session() as session:
        session.execute(update(Auction).where(Auction.id == auction_id).values(ends_at=past))
    tcp().command("HSET", keys.state(str(auction_id)), "endsAt", to_ms(past))
    response = Seller(client, seller).decide(auction_id, action="accept")
    assert response.status_code == 409, response.body
    assert response.json_body["code"] == "decision_not_allowed"
    assert response.json_body["auctionStatus"] == "live"


def test_unknown_auctions_are_404(client: Client, seller: Person) -> None:
    for auction_id in (uuid.uuid4(), "not-a-uuid"):
        response = call(
            client, "POST", f"/api/auctions/{auction_id}/decision", seller, {"action": "accept"}
        )
        assert response.status_code == 404
        assert response.json_body["code"] == "not_found"


@pytest.mark.parametrize(
    ("first", "second"),
    [("accept", "reject"), ("reject", "accept"), ("counter", "accept"), ("accept", "counter")],
)
def test_one_decision_per_auction(
    ctx: Context, client: Client, seller: Person, ended: uuid.UUID, first: str, second: str
) -> None:
    amounts = {"counter": {"amount": "2000"}}
    assert (
        Seller(client, seller).decide(ended, action=first, **amounts.get(first, {})).status_code
        == 200
    )
    response = Seller(client, seller).decide(ended, action=second, **amounts.get(second, {}))
    assert response.status_code == 409
    assert response.json_body["code"] == "decision_not_allowed"
    assert response.json_body["status"] == 409  # the problem's own member, not the auction's
    after = {"accept": "sold", "reject": "closed_no_winner", "counter": "ended"}[first]
    assert response.json_body["auctionStatus"] == after
    assert audit_actions(ctx, ended) == [f"seller.{first}"]


@pytest.mark.parametrize("rounds", range(3))
def test_racing_decisions_make_exactly_one(
    ctx: Context, api_url: str, seller: Person, rival: Person, ended: uuid.UUID, rounds: int
) -> None:
    import httpx

    def post(action: str, amount: str | None = None) -> Any:
        body: dict[str, Any] = {"action": action}
        if amount:
            body["amount"] = amount
        return httpx.post(
            f"{api_url}/api/auctions/{ended}/decision",
            json=body,
            headers=seller.headers,
            timeout=30,
        )

    results = race(lambda: post("accept"), lambda: post("reject"), lambda: post("counter", "1900"))
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200, 409, 409], [r.text for r in results]
    winner = next(r for r in results if r.status_code == 200).json()
    assert all(r.json()["code"] == "decision_not_allowed" for r in results if r.status_code == 409)
    assert len(audit_actions(ctx, ended)) == 1
    decided = [
        t
        for t in event_types(ctx, rival)
        if t in ("seller:accepted", "seller:rejected", "counter:offer")
    ]
    assert len(decided) == 1
    with ctx.db.session() as session:
        assert session.get_one(Auction, ended).status == winner["status"]
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 1


# -- the buyer's answer -------------------------------------------------------------------------


@pytest.fixture
def countered(ctx: Context, client: Client, seller: Person, ended: uuid.UUID) -> str:
    response = Seller(client, seller).decide(ended, action="counter", amount="1500.00")
    assert response.status_code == 200, response.body
    counter_id: str = response.json_body["counterOffer"]["id"]
    return counter_id


def test_the_buyer_accepting_buys_at_the_counter_amount(
    ctx: Context,
    client: Client,
    seller: Person,
    buyer: Person,
    rival: Person,
    ended: uuid.UUID,
    countered: str,
) -> None:
    response = Bidder(client, rival).answer_counter(countered, "accept")
    assert response.status_code == 200, response.body
    auction = response.json_body
    assert auction["status"] == "sold"
    assert auction["finalPrice"] == "1500.00"
    assert auction["winnerId"] == rival.id
    assert auction["counterOffer"] == {
        "id": countered,
        "amount": "1500.00",
        "status": "accepted",
        "expiresAt": auction["counterOffer"]["expiresAt"],
    }
    assert redis_status(ctx, ended) == "sold"
    for who in (rival, seller):
        assert event_types(ctx, who)[-1] == "counter:accepted"
        assert notification_types(ctx, who)[-1] == "counter_accepted"
    assert "counter:accepted" not in event_types(ctx, buyer)
    templates = sorted((j["template"], j["role"]) for j in queued_jobs(ctx).values())
    # one confirmation per party for the sale, carrying the invoice
    assert templates == [
        ("counter_accepted", "buyer"),
        ("counter_accepted", "seller"),
        ("counter_invitation", "buyer"),
    ]
    assert all(
        j["attachInvoice"] for j in queued_jobs(ctx).values() if j["template"] == "counter_accepted"
    )
    with ctx.db.session() as session:
        invoice = session.scalars(select(Invoice)).one()
        assert (invoice.amount, str(invoice.buyer_id)) == (Decimal(1500), rival.id)
    assert audit_actions(ctx, ended) == ["seller.counter", "buyer.counter_accept"]


def test_the_buyer_rejecting_closes_with_no_winner(
    ctx: Context, client: Client, seller: Person, rival: Person, ended: uuid.UUID, countered: str
) -> None:
    response = Bidder(client, rival).answer_counter(countered, "reject")
    assert response.status_code == 200, response.body
    assert response.json_body["status"] == "closed_no_winner"
    assert response.json_body["counterOffer"]["status"] == "rejected"
    assert redis_status(ctx, ended) == "closed_no_winner"
    for who in (rival, seller):
        assert event_types(ctx, who)[-1] == "counter:rejected"
        assert notification_types(ctx, who)[-1] == "counter_rejected"
    assert {j["template"] for j in queued_jobs(ctx).values()} == {"counter_invitation"}


def test_only_the_counters_buyer_answers(
    ctx: Context, client: Client, seller: Person, buyer: Person, admin: Person, countered: str
) -> None:
    for who in (seller, buyer, admin):
        response = Bidder(client, who).answer_counter(countered, "accept")
        assert response.status_code == 403
        assert response.json_body["code"] == "forbidden"
    assert Bidder(client, None).answer_counter(countered, "accept").status_code == 401
    with ctx.db.session() as session:
        assert session.get_one(CounterOffer, uuid.UUID(countered)).status == "pending"


@pytest.mark.parametrize("first", ["accept", "reject"])
def test_a_counter_is_answered_once(
    ctx: Context, client: Client, rival: Person, countered: str, first: str
) -> None:
    assert Bidder(client, rival).answer_counter(countered, first).status_code == 200
    for again in ("accept", "reject"):
        response = Bidder(client, rival).answer_counter(countered, again)
        assert response.status_code == 409
        assert response.json_body["code"] == "counter_not_pending"


def test_racing_answers_make_exactly_one(
    ctx: Context, api_url: str, rival: Person, ended: uuid.UUID, countered: str
) -> None:
    import httpx

    def post(action: str) -> Any:
        return httpx.post(
            f"{api_url}/api/counter/{countered}/response",
            json={"action": action},
            headers=rival.headers,
            timeout=30,
        )

    results = race(lambda: post("accept"), lambda: post("reject"), lambda: post("accept"))
    assert sorted(r.status_code for r in results) == [200, 409, 409]
    assert all(r.json()["code"] == "counter_not_pending" for r in results if r.status_code == 409)
    answered = [t for t in event_types(ctx, rival) if t in ("counter:accepted", "counter:rejected")]
    assert len(answered) == 1


def test_unknown_counters_are_404_and_bad_answers_422(
    client: Client, rival: Person, countered: str
) -> None:
    for counter_id in (str(uuid.uuid4()), "nope"):
        response = Bidder(client, rival).answer_counter(counter_id, "accept")
        assert response.status_code == 404
        assert response.json_body["code"] == "not_found"
    bad = call(client, "POST", f"/api/counter/{countered}/response", rival, {"action": "maybe"})
    assert bad.status_code == 422


def test_a_counter_from_a_round_an_admin_reset_no_longer_stands(
    ctx: Context, client: Client, rival: Person, admin: Person, ended: uuid.UUID, countered: str
) -> None:
    from shared.services import admin_actions

    admin_actions.reset(ctx, ended, datetime.now(UTC) + timedelta(hours=1), admin.id)
    response = Bidder(client, rival).answer_counter(countered, "accept")
    assert response.status_code == 409
    assert response.json_body["code"] == "counter_not_pending"
