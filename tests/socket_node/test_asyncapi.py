"""The WebSocket protocol's AsyncAPI document: served by the node, naming every event, and
describing exactly what the product writes. Real flows (bids, proxies, a soft close, the end,
every decision, counter offers, second-chance offers, payments, a void, a cancel) run through
the services; every entry they put on the live feed, as the node sends it, must validate,
and together they must show every event type. (Frames a test client receives are held to the
document too: `tests.support.socket_node.Client`.)"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from chalice.test import Client
from sqlalchemy import update

from shared.adapters import keys
from shared.adapters.orm import Auction, CounterOffer, Invoice, SecondChanceOffer
from shared.domain.vocabulary import ROOM_EVENTS, EventType
from shared.services import deadlines, ticker
from shared.services.context import Context
from socket_node import asyncapi, protocol
from socket_node.messages import feed_event
from tests.support import streams
from tests.support.actors import Actor, Bidder, Seller
from tests.support.after_sale import ended_auction, hammer, run_jobs
from tests.support.harness import Person, insert_auction, live_auction, person
from tests.support.protocol import frame_problems
from tests.support.socket_node import InProcessNode


def test_the_node_serves_the_document(node: InProcessNode) -> None:
    served = httpx.get(f"http://127.0.0.1:{node.port}/asyncapi.json", timeout=10)
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("application/json")
    assert served.json() == asyncapi.document()
    assert served.json()["asyncapi"] == "3.0.0"


def test_every_event_type_is_documented_with_its_audience() -> None:
    assert set(protocol.EVENTS) == set(EventType)
    for event, (audience, _, _) in protocol.EVENTS.items():
        assert (audience == protocol.ROOM) == (event in ROOM_EVENTS), event
    messages = asyncapi.document()["components"]["messages"]
    assert {m["name"] for m in messages.values()} >= {e.value for e in EventType}


def test_a_frame_the_document_does_not_describe_is_caught() -> None:
    good = {
        "type": "pong",
        "serverTime": "2026-12-07T09:30:00.000Z",
    }
    assert frame_problems(good) == []
    assert frame_problems({**good, "extra": 1}) != []
    assert (
        frame_problems(
            {
                "type": "bid:placed",
                "eventId": "1-0",
                "auctionId": "a",
                "data": {"bid": {}},
                "ts": "x",
            }
        )
        != []
    )
    assert frame_problems({"type": "made:up"}) != []


def _past(ctx: Context, model: Any, row_id: Any, column: str) -> None:
    with ctx.db.session() as session:
        session.execute(
            update(model)
            .where(model.id == row_id)
            .values({column: datetime.now(UTC) - timedelta(seconds=1)})
        )


def _feed_types(ctx: Context) -> tuple[set[str], list[str]]:
    """Every event on the live feed as the node would send it: its types, and what is wrong."""
    seen: set[str] = set()
    wrong: list[str] = []
    for feed_id, fields in streams.entries(ctx, keys.FEED):
        event = feed_event(feed_id, fields)
        message = orjson.loads(event.payload)
        seen.add(message["type"])
        wrong += frame_problems(message)
    return seen, wrong


@pytest.fixture
def flows(ctx: Context, client: Client, seller: Person, buyer: Person, admin: Person) -> None:
    """Real flows that between them make every event type."""
    rival = person(ctx, "buyer", "Ravi Kumar")
    sellers, bidding, rivals = Seller(client, seller), Bidder(client, buyer), Bidder(client, rival)
    # bids, a proxy answer, outbid, a soft close, the end, the seller accepts, payments
    sold = live_auction(ctx, seller, soft_close_secs=60, reserve="150.00")
    bidding.placed(sold, max_amount="300.00")
    rivals.placed(sold, "120.00")  # answered by the proxy: rival outbid
    rivals.placed(sold, "400.00")
    hammer(ctx, sold)
    sellers.decided(sold, action="accept")
    rivals.post(f"/api/auctions/{sold}/payment", {"action": "mark_paid"})
    sellers.post(f"/api/auctions/{sold}/payment", {"action": "confirm"})
    # rejected; then a second-chance offer, accepted
    rejected = ended_auction(ctx, client, seller, [(buyer, "100.00"), (rival, "200.00")])
    sellers.decided(rejected, action="reject")
    offered = sellers.post(f"/api/auctions/{rejected}/offers", {"bidderId": buyer.id})
    assert offered.status_code == 201, offered.body
    bidding.post(f"/api/offers/{offered.json_body['id']}/response", {"action": "accept"})
    # a second-chance offer rejected, another expired
    for answer in ("reject", "expire"):
        closed = ended_auction(ctx, client, seller, [(buyer, "100.00"), (rival, "200.00")])
        sellers.decided(closed, action="reject")
        offer = sellers.post(f"/api/auctions/{closed}/offers", {"bidderId": buyer.id}).json_body
        if answer == "reject":
            bidding.post(f"/api/offers/{offer['id']}/response", {"action": "reject"})
        else:
            _past(ctx, SecondChanceOffer, uuid.UUID(offer["id"]), "expires_at")
            deadlines.offer_expiry(ctx, closed)
    # counter offers: accepted, rejected, expired
    for answer in ("accept", "reject", "expire"):
        countered = ended_auction(ctx, client, seller, [(buyer, "100.00")])
        counter = sellers.decided(countered, action="counter", amount="150.00")["counterOffer"]
        if answer == "expire":
            _past(ctx, CounterOffer, uuid.UUID(counter["id"]), "expires_at")
            deadlines.counter_expiry(ctx, countered)
        else:
            bidding.answer_counter(counter["id"], answer)
    # a payment that falls due and is reported unpaid (the sale is void)
    unpaid = ended_auction(ctx, client, seller, [(buyer, "100.00")])
    sellers.decided(unpaid, action="accept")
    with ctx.db.session() as session:
        session.execute(
            update(Invoice)
            .where(Invoice.auction_id == unpaid)
            .values(payment_due_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    deadlines.payment_due(ctx, unpaid)
    sellers.post(f"/api/auctions/{unpaid}/payment", {"action": "report_unpaid"})
    # an item that ships: paid with an address, the ship window passes, shipped, received,
    # then a dispute, a reply, a refund
    shipped = ended_auction(ctx, client, seller, [(buyer, "100.00")])
    with ctx.db.session() as session:
        session.execute(update(Auction).where(Auction.id == shipped).values(shipping_method="ship"))
    sellers.decided(shipped, action="accept")
    address = {
        "line1": "4 Marine Drive",
        "city": "Mumbai",
        "state": "MH",
        "postalCode": "400020",
        "country": "IN",
    }
    paid = bidding.post(
        f"/api/auctions/{shipped}/payment", {"action": "mark_paid", "address": address}
    )
    assert paid.status_code == 200, paid.body
    with ctx.db.session() as session:
        session.execute(
            update(Invoice)
            .where(Invoice.auction_id == shipped)
            .values(ship_by=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert deadlines.ship_due(ctx, shipped)
    tracking = {"carrier": "India Post", "trackingNumber": "EE123456789IN"}
    assert sellers.post(f"/api/auctions/{shipped}/shipment", tracking).status_code == 200
    assert bidding.post(f"/api/auctions/{shipped}/received").status_code == 200
    complaint = {"reason": "not_as_described", "detail": "Cracked."}
    assert bidding.post(f"/api/auctions/{shipped}/dispute", complaint).status_code == 201
    reply = {"message": "It left intact."}
    assert sellers.post(f"/api/auctions/{shipped}/dispute/reply", reply).status_code == 200
    refund = {"outcome": "refund", "note": "The photos show the crack."}
    resolved = Actor(client, admin).post(f"/api/auctions/{shipped}/dispute/resolve", refund)
    assert resolved.status_code == 200, resolved.body
    # a retraction (the room hears the new highest)
    retracted = live_auction(ctx, seller, ends_at=datetime.now(UTC) + timedelta(days=2))
    first = bidding.placed(retracted, "100.00")
    rivals.placed(retracted, "110.00")
    taken = bidding.post(
        f"/api/auctions/{retracted}/bids/{first['id']}/retract", {"reason": "typo"}
    )
    assert taken.status_code == 200, taken.body
    # a start, and an admin's cancel
    started = insert_auction(ctx, seller, go_live_at=datetime.now(UTC) + timedelta(hours=1))
    Actor(client, admin).post(f"/api/admin/auctions/{started}/start")
    Actor(client, admin).post(f"/api/auctions/{started}/cancel", {"reason": "Duplicate listing"})
    ticker.tick(ctx)
    run_jobs(ctx)


@pytest.mark.usefixtures("flows")
def test_every_event_the_product_writes_is_as_documented(ctx: Context) -> None:
    seen, wrong = _feed_types(ctx)
    assert wrong == []
    assert seen == {e.value for e in EventType}, set(EventType) - seen
