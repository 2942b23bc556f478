"""Shipping or pickup, chosen at listing: the terms on the auction, the buyer's address at
payment, the seller's shipment, the buyer's receipt, and the shipping window's reminder
(fired once by the deadline machinery, also across a restart)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from chalice.test import Client, HTTPResponse
from sqlalchemy import update

from shared.adapters.orm import Invoice
from shared.services import deadlines, ticker
from shared.services.context import Context
from tests.support.actors import Actor, Seller
from tests.support.after_sale import (
    audit_actions,
    feed_types,
    notification_types,
    now,
    run_jobs,
    tick_until,
    windows,
)
from tests.support.harness import Person, flush_redis, person
from tests.support.market import MAHARASHTRA, paid, pay, sold
from tests.support.sendgrid_sink import SendGridSink

SHIPMENT = {"carrier": "India Post", "trackingNumber": "EE123456789IN"}


@pytest.fixture
def buyer_two(ctx: Context) -> Person:
    return person(ctx, "buyer", "Asha Kumar")


def ship(client: Client, who: Person, auction_id: uuid.UUID, body: object = None) -> HTTPResponse:
    return Actor(client, who).post(f"/api/auctions/{auction_id}/shipment", body or SHIPMENT)


def receive(client: Client, who: Person, auction_id: uuid.UUID) -> HTTPResponse:
    return Actor(client, who).post(f"/api/auctions/{auction_id}/received")


def test_shipping_terms_are_chosen_at_listing_and_shown(client: Client, seller: Person) -> None:
    made = Seller(client, seller).create(shipping={"method": "ship", "cost": "150"})
    assert made["shipping"] == {"method": "ship", "cost": "150.00"}
    free = Seller(client, seller).create(shipping={"method": "ship"})
    assert free["shipping"] == {"method": "ship"}
    edited = Actor(client, seller).patch(
        f"/api/auctions/{made['id']}", {"shipping": {"method": "pickup", "pickupCity": "Pune"}}
    )
    assert edited.json_body["shipping"] == {"method": "pickup", "pickupCity": "Pune"}
    listed = Actor(client, None).get("/api/auctions").json_body["items"]
    assert {a["id"]: a.get("shipping") for a in listed}[made["id"]] == {
        "method": "pickup",
        "pickupCity": "Pune",
    }
    cleared = Actor(client, seller).patch(f"/api/auctions/{made['id']}", {"shipping": None})
    assert "shipping" not in cleared.json_body
    for bad, field in (
        ({"method": "pickup", "cost": "10"}, "shipping.cost"),
        ({"method": "ship", "pickupCity": "Pune"}, "shipping.pickupCity"),
        ({"method": "drone"}, "shipping.method"),
        ({"method": "ship", "cost": "-1"}, "shipping.cost"),
    ):
        refused = Actor(client, seller).patch(f"/api/auctions/{free['id']}", {"shipping": bad})
        assert refused.status_code == 422, bad
        assert field in {e["field"] for e in refused.json_body["errors"]}, refused.json_body
    assert Actor(client, seller).auction(free["id"])["shipping"] == {"method": "ship"}


def test_a_shipped_sale_from_payment_to_receipt(
    ctx: Context,
    client: Client,
    seller: Person,
    buyer_two: Person,
    sink: SendGridSink,
) -> None:
    auction = sold(ctx, client, seller, buyer_two, "800.00", shipping_method="ship")
    early = ship(client, seller, auction)
    assert early.status_code == 409
    assert early.json_body["code"] == "shipment_not_allowed"
    assert early.json_body["paymentStatus"] == "pending"
    assert "unpaid" in early.json_body["detail"]
    assert receive(client, buyer_two, auction).json_body["code"] == "receipt_not_allowed"

    answer = paid(client, buyer_two, auction, address=MAHARASHTRA)
    delivery = answer["delivery"]
    assert delivery["address"]["city"] == "Mumbai" and delivery["shipBy"]
    assert "shippedAt" not in delivery
    assert ship(client, buyer_two, auction).json_body["code"] == "forbidden"
    assert receive(client, buyer_two, auction).json_body["code"] == "receipt_not_allowed"
    bad = ship(client, seller, auction, {"carrier": "India Post"})
    assert bad.json_body["errors"][0]["field"] == "trackingNumber"

    shipped = ship(client, seller, auction)
    assert shipped.status_code == 200, shipped.body
    delivery = shipped.json_body["delivery"]
    assert (delivery["carrier"], delivery["trackingNumber"]) == ("India Post", "EE123456789IN")
    assert ship(client, seller, auction).json_body["code"] == "shipment_not_allowed"  # once
    # Strangers see the terms but not where it goes.
    assert "delivery" not in Actor(client, person(ctx, "buyer")).auction(auction)
    assert receive(client, seller, auction).json_body["code"] == "forbidden"
    got = receive(client, buyer_two, auction)
    assert got.status_code == 200 and got.json_body["delivery"]["receivedAt"]
    assert receive(client, buyer_two, auction).json_body["code"] == "receipt_not_allowed"

    assert notification_types(ctx, buyer_two, auction)[-1] == "shipped"
    assert notification_types(ctx, seller, auction)[-1] == "received"
    for who in (seller, buyer_two):
        assert feed_types(ctx, who, auction)[-2:] == ["shipment:sent", "shipment:received"]
    assert audit_actions(ctx, auction)[-2:] == ["seller.ship", "buyer.received"]
    run_jobs(ctx)
    (shipped_mail,) = [m for m in sink.to(buyer_two.principal.email) if "Shipped" in m.subject]
    assert "EE123456789IN" in shipped_mail.text and "EE123456789IN" in shipped_mail.html
    (received_mail,) = [m for m in sink.to(seller.principal.email) if "Received" in m.subject]
    assert "Asha Kumar marked" in received_mail.text


def test_a_pickup_has_no_shipment_and_is_received_once_paid(
    ctx: Context, client: Client, seller: Person, buyer_two: Person
) -> None:
    auction = sold(ctx, client, seller, buyer_two, "800.00", shipping_method="pickup")
    paid(client, buyer_two, auction)  # no address needed
    refused = ship(client, seller, auction)
    assert (refused.status_code, refused.json_body["code"]) == (409, "shipment_not_allowed")
    assert "picks this item up" in refused.json_body["detail"]
    assert receive(client, buyer_two, auction).status_code == 200


def test_the_ship_window_reminds_the_seller_and_tells_the_buyer_once(
    ctx: Context,
    client: Client,
    seller: Person,
    buyer_two: Person,
    sink: SendGridSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    windows(ctx, monkeypatch, ship_window_secs=1)
    auction = sold(ctx, client, seller, buyer_two, "800.00", shipping_method="ship")
    paid(client, buyer_two, auction, address=MAHARASHTRA)
    overdue = ("shipment_overdue", "shipment_overdue")

    def told() -> bool:
        return notification_types(ctx, seller, auction)[-1:] + notification_types(
            ctx, buyer_two, auction
        )[-1:] == list(overdue)

    tick_until(ctx, told)  # from its schedule, as the ticker runs it
    # Fired once: again, a sweep, and a restart (Redis flushed, schedules rebuilt) add nothing.
    assert not deadlines.ship_due(ctx, auction)
    ticker.tick(ctx)
    for who in (seller, buyer_two):
        assert feed_types(ctx, who, auction).count("shipment:overdue") == 1
    run_jobs(ctx)
    reminders = [m for m in sink.messages if ":shipment_overdue:" in (m.job_id or "")]
    assert sorted(m.subject for m in reminders) == sorted(
        ["Reminder: ship Test lot", "Test lot has not shipped yet"]
    )
    flush_redis()
    ticker.rebuild_schedule(ctx)
    ticker.tick(ctx)
    for who in (seller, buyer_two):
        assert notification_types(ctx, who, auction).count("shipment_overdue") == 1
    assert audit_actions(ctx, auction).count("system.shipment_overdue") == 1
    run_jobs(ctx)
    assert len([m for m in sink.messages if ":shipment_overdue:" in (m.job_id or "")]) == 2
    # Shipping late is still fine.
    assert ship(client, seller, auction).status_code == 200


def test_the_ship_window_survives_a_restart_and_fires_after_it(
    ctx: Context, client: Client, seller: Person, buyer_two: Person
) -> None:
    auction = sold(ctx, client, seller, buyer_two, "800.00", shipping_method="ship")
    paid(client, buyer_two, auction, address=MAHARASHTRA)
    with ctx.db.session() as session:  # the window ran out while nothing was running
        session.execute(
            update(Invoice)
            .where(Invoice.auction_id == auction)
            .values(ship_by=now() - timedelta(seconds=5))
        )
    flush_redis()
    assert ticker.rebuild_schedule(ctx) >= 1
    report = ticker.Ticker().tick(ctx, sweep=False)  # from the rebuilt schedule alone
    assert report.deadlines.get("ship_due") == [str(auction)]
    assert notification_types(ctx, seller, auction)[-1] == "shipment_overdue"


def test_a_confirmed_payment_without_the_buyers_word_starts_the_window_too(
    ctx: Context, client: Client, seller: Person, buyer_two: Person
) -> None:
    auction = sold(ctx, client, seller, buyer_two, "800.00", shipping_method="ship")
    confirmed = pay(client, seller, auction, "confirm")
    assert confirmed.json_body["delivery"]["shipBy"]
    assert confirmed.json_body["delivery"]["address"] is None
    # The seller ships to an address agreed outside the app.
    assert ship(client, seller, auction).status_code == 200
