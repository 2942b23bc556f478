"""A sale's payment: pending until the buyer marks it paid and the seller
confirms; at dueAt both are told once; after it the seller may report it unpaid, which voids
the sale: the invoice is kept, numbered as before, and marked VOID in its PDF; the auction
closes (`unpaid`) and a second-chance offer becomes possible."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta
from typing import Any

import pypdf
import pytest
from chalice.test import Client
from sqlalchemy import select

from shared.adapters.orm import Invoice
from shared.domain.times import parse_iso
from shared.services.context import Context
from tests.support.actors import Actor, call
from tests.support.after_sale import (
    audit_actions,
    ended_auction,
    feed_types,
    move_deadline,
    notification_types,
    run_jobs,
    soon,
    status_of,
    tick_until,
    windows,
)
from tests.support.harness import Person, person
from tests.support.sendgrid_sink import SendGridSink
from tests.support.streams import room_events


@pytest.fixture
def runner_up(ctx: Context) -> Person:
    return person(ctx, "buyer", "Bina Rao")


@pytest.fixture
def winner(ctx: Context) -> Person:
    return person(ctx, "buyer", "Ravi Kumar")


def sold(ctx: Context, client: Client, seller: Person, runner_up: Person, winner: Person) -> Any:
    auction_id = ended_auction(ctx, client, seller, [(runner_up, "100.00"), (winner, "1250.00")])
    response = Actor(client, seller).post(
        f"/api/auctions/{auction_id}/decision", {"action": "accept"}
    )
    assert response.status_code == 200, response.body
    return auction_id


def pay(client: Client, who: Person | None, auction_id: Any, action: str) -> Any:
    return Actor(client, who).post(f"/api/auctions/{auction_id}/payment", {"action": action})


def invoice_text(client: Client, who: Person, auction_id: Any, document: str = "invoice") -> str:
    response = call(
        client,
        "GET",
        f"/api/auctions/{auction_id}/{document}",
        who,
        headers={"Accept": "application/pdf"},
    )
    assert response.status_code == 200, response.body
    return "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(response.body)).pages)


def numbers(ctx: Context) -> list[tuple[int, bool]]:
    with ctx.db.session() as session:
        return [
            (i.number, i.voided_at is not None)
            for i in session.scalars(select(Invoice).order_by(Invoice.number))
        ]


def test_a_sale_has_a_payment_due_after_the_window(
    ctx: Context,
    client: Client,
    seller: Person,
    runner_up: Person,
    winner: Person,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    windows(ctx, monkeypatch, payment_window_secs=3 * 86400)
    auction_id = sold(ctx, client, seller, runner_up, winner)
    body = Actor(client, None).get(f"/api/auctions/{auction_id}").json_body
    assert body["payment"]["status"] == "pending"
    with ctx.db.session() as session:
        invoice = session.scalars(select(Invoice)).one()
        sold_at = invoice.sold_at
    drift = parse_iso(body["payment"]["dueAt"]) - sold_at - timedelta(days=3)
    assert abs(drift) < timedelta(milliseconds=1)  # the API gives milliseconds
    listed = Actor(client, None).get("/api/auctions?status=sold").json_body["items"]
    assert listed[0]["payment"] == body["payment"]


def test_paid_then_confirmed(
    ctx: Context,
    client: Client,
    seller: Person,
    runner_up: Person,
    winner: Person,
    sink: SendGridSink,
) -> None:
    auction_id = sold(ctx, client, seller, runner_up, winner)
    response = pay(client, winner, auction_id, "mark_paid")
    assert response.status_code == 200, response.body
    assert response.json_body["payment"]["status"] == "paid"
    assert notification_types(ctx, seller, auction_id)[-1] == "payment_marked"
    assert feed_types(ctx, seller, auction_id)[-1] == "payment:marked"
    response = pay(client, seller, auction_id, "confirm")
    assert response.status_code == 200, response.body
    assert response.json_body["payment"]["status"] == "confirmed"
    assert notification_types(ctx, winner, auction_id)[-1] == "payment_confirmed"
    assert feed_types(ctx, winner, auction_id)[-1] == "payment:confirmed"
    assert audit_actions(ctx, auction_id) == [
        "seller.accept",
        "buyer.mark_paid",
        "seller.confirm",
    ]
    run_jobs(ctx)
    with ctx.db.session() as session:
        invoice_id = session.scalars(select(Invoice.id)).one()
    got = {m.job_id: m for m in sink.messages}
    marked = got[f"email:payment_marked:{invoice_id}:seller"]
    assert "Ravi Kumar" in marked.text and "₹1,250.00" in marked.text
    assert f"email:payment_confirmed:{invoice_id}:buyer" in got
    # A confirmed payment is final: no due date is told, nothing can be reported.
    move_deadline(ctx, auction_id, soon(-10), payment=True)
    tick_until(ctx, lambda: True)
    assert "payment_due" not in notification_types(ctx, winner, auction_id)
    response = pay(client, seller, auction_id, "report_unpaid")
    assert (response.status_code, response.json_body["code"]) == (
        409,
        "payment_action_not_allowed",
    )


def test_the_seller_may_confirm_without_a_mark(
    ctx: Context, client: Client, seller: Person, runner_up: Person, winner: Person
) -> None:
    auction_id = sold(ctx, client, seller, runner_up, winner)
    assert pay(client, seller, auction_id, "confirm").json_body["payment"]["status"] == "confirmed"


def test_payment_refusals(
    ctx: Context, client: Client, seller: Person, runner_up: Person, winner: Person
) -> None:
    auction_id = sold(ctx, client, seller, runner_up, winner)

    def refused(who: Person, action: str, status: int, code: str, aid: Any = auction_id) -> None:
        response = pay(client, who, aid, action)
        assert (response.status_code, response.json_body["code"]) == (status, code), action

    # Wrong actor: 403.
    refused(seller, "mark_paid", 403, "forbidden")
    refused(winner, "confirm", 403, "forbidden")
    refused(winner, "report_unpaid", 403, "forbidden")
    refused(runner_up, "mark_paid", 403, "forbidden")
    # Wrong moment: 409 payment_action_not_allowed.
    refused(seller, "report_unpaid", 409, "payment_action_not_allowed")  # not due yet
    assert pay(client, winner, auction_id, "mark_paid").status_code == 200
    refused(winner, "mark_paid", 409, "payment_action_not_allowed")  # twice
    assert pay(client, seller, auction_id, "confirm").status_code == 200
    refused(seller, "confirm", 409, "payment_action_not_allowed")
    refused(winner, "mark_paid", 409, "payment_action_not_allowed")
    # Not sold: nothing to pay.
    ended = ended_auction(ctx, client, seller, [(winner, "100.00")])
    refused(winner, "mark_paid", 409, "payment_action_not_allowed", ended)
    refused(seller, "confirm", 409, "payment_action_not_allowed", ended)
    # Bad input.
    assert pay(client, winner, uuid.uuid4(), "mark_paid").status_code == 404
    response = Actor(client, winner).post(
        f"/api/auctions/{auction_id}/payment", {"action": "refund"}
    )
    assert response.status_code == 422
    assert pay(client, None, auction_id, "mark_paid").status_code == 401
    assert audit_actions(ctx, auction_id) == [
        "seller.accept",
        "buyer.mark_paid",
        "seller.confirm",
    ]


def test_at_due_both_parties_are_told_once(
    ctx: Context,
    client: Client,
    seller: Person,
    runner_up: Person,
    winner: Person,
    sink: SendGridSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    windows(ctx, monkeypatch, payment_window_secs=1)
    auction_id = sold(ctx, client, seller, runner_up, winner)
    tick_until(ctx, lambda: "payment_due" in notification_types(ctx, winner, auction_id))
    for _ in range(3):
        tick_until(ctx, lambda: True)
    for who in (winner, seller):
        assert notification_types(ctx, who, auction_id).count("payment_due") == 1
        assert feed_types(ctx, who, auction_id).count("payment:due") == 1
    run_jobs(ctx)
    due = sorted(m.job_id or "" for m in sink.messages if "payment_due" in (m.job_id or ""))
    assert len(due) == 2 and due[0].endswith(":buyer") and due[1].endswith(":seller")


def test_unpaid_voids_the_sale_keeps_the_invoice_and_opens_a_second_chance(
    ctx: Context,
    client: Client,
    seller: Person,
    runner_up: Person,
    winner: Person,
    sink: SendGridSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    windows(ctx, monkeypatch, payment_window_secs=3600)
    first = sold(ctx, client, seller, runner_up, winner)  # INV-000001
    other = sold(ctx, client, seller, person(ctx, "buyer"), person(ctx, "buyer"))  # INV-000002
    assert "VOID" not in invoice_text(client, winner, first)
    move_deadline(ctx, first, soon(-10), payment=True)

    response = pay(client, seller, first, "report_unpaid")
    assert response.status_code == 200, response.body
    body = response.json_body
    assert (body["status"], body["closeReason"]) == ("closed_no_winner", "unpaid")
    assert "payment" not in body and "winnerId" not in body
    assert status_of(ctx, first) == ("closed_no_winner", "unpaid")
    assert [
        e["data"]["closeReason"]
        for e in room_events(ctx, first, relay=True)
        if e["type"] == "auction:closed"
    ] == ["unpaid"]
    for who in (winner, seller):
        assert notification_types(ctx, who, first)[-1] == "sale_void"
        assert feed_types(ctx, who, first)[-1] == "sale:void"
    assert audit_actions(ctx, first)[-1] == "seller.report_unpaid"

    # The invoice is kept as issued, its number too (for the buyer and the seller), and a
    # credit note of its own series cancels it; a stamped copy is never made.
    assert numbers(ctx) == [(1, True), (2, False)]
    for who in (winner, seller):
        text = invoice_text(client, who, first)
        assert "VOID" not in text and "INV-000001" in text
        credit = invoice_text(client, who, first, "credit-note")
        assert "CREDIT NOTE" in credit and "CN-000001" in credit and "INV-000001" in credit
    run_jobs(ctx)
    voids = [m for m in sink.messages if (m.job_id or "").startswith("email:sale_void:")]
    assert sorted(m.to[0] for m in voids) == sorted(
        [winner.principal.email, seller.principal.email]
    )
    for message in voids:
        names = [a.filename for a in message.attachments]
        assert names[:2] == [f"INV-000001-{first}.pdf", f"CN-000001-{first}.pdf"], names
        text = pypdf.PdfReader(io.BytesIO(message.attachments[1].content)).pages[0].extract_text()
        assert "CN-000001" in text and "INV-000001" in text

    # A second chance: not to the buyer whose sale was voided; to the runner-up, who buys.
    response = Actor(client, seller).post(f"/api/auctions/{first}/offers", {"bidderId": winner.id})
    assert (response.status_code, response.json_body["code"]) == (409, "offer_not_allowed")
    made = Actor(client, seller).post(f"/api/auctions/{first}/offers", {"bidderId": runner_up.id})
    assert made.status_code == 201, made.body
    accepted = Actor(client, runner_up).post(
        f"/api/offers/{made.json_body['id']}/response", {"action": "accept"}
    )
    assert accepted.json_body["status"] == "sold"
    assert accepted.json_body["payment"]["status"] == "pending"
    # Gap-free: the void number stays, the new sale takes the next one.
    assert numbers(ctx) == [(1, True), (2, False), (3, False)]
    assert "INV-000003" in invoice_text(client, runner_up, first)
    # The voided buyer still reads their invoice and its credit note; the new buyer's invoice
    # is not theirs to read.
    text = invoice_text(client, winner, first)
    assert "INV-000001" in text and "INV-000003" not in text
    assert "CN-000001" in invoice_text(client, winner, first, "credit-note")
    assert other  # INV-000002 is untouched
    assert "VOID" not in invoice_text(client, seller, other)
