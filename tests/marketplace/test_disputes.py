"""Disputes: the buyer opens one on a paid sale within the window, the seller replies, an admin
resolves it (refund: the sale is void with a credit note; release: it stands). Each step is
notified, emailed to both sides and audited; one dispute per sale; the admin's list shows
open ones oldest first."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from chalice.test import Client, HTTPResponse
from sqlalchemy import update

from shared.adapters.orm import Dispute, Invoice
from shared.services.context import Context
from tests.adapters.test_tax_documents_pdf import page_lines, summary
from tests.support.actors import Actor
from tests.support.after_sale import (
    audit_actions,
    feed_types,
    move_deadline,
    notification_types,
    now,
    race,
    run_jobs,
    soon,
    status_of,
    windows,
)
from tests.support.harness import Person, person
from tests.support.market import MAHARASHTRA, document, fees, paid, pay, pdf_of, sold
from tests.support.sendgrid_sink import SendGridSink

D = Decimal
COMPLAINT = {"reason": "not_received", "detail": "Nothing has come in three weeks."}


@pytest.fixture
def asha(ctx: Context) -> Person:
    return person(ctx, "buyer", "Asha Kumar")


def open_dispute(
    client: Client, who: Person, auction_id: uuid.UUID, body: object = None
) -> HTTPResponse:
    return Actor(client, who).post(f"/api/auctions/{auction_id}/dispute", body or COMPLAINT)


def reply(
    client: Client, who: Person, auction_id: uuid.UUID, message: str = "Sent on time."
) -> HTTPResponse:
    return Actor(client, who).post(
        f"/api/auctions/{auction_id}/dispute/reply", {"message": message}
    )


def resolve(client: Client, who: Person, auction_id: uuid.UUID, outcome: str) -> HTTPResponse:
    return Actor(client, who).post(
        f"/api/auctions/{auction_id}/dispute/resolve",
        {"outcome": outcome, "note": "The tracking shows no delivery."},
    )


def paid_sale(ctx: Context, client: Client, seller: Person, buyer: Person) -> uuid.UUID:
    auction = sold(ctx, client, seller, buyer, "1000.00", shipping_method="ship")
    paid(client, buyer, auction, address=MAHARASHTRA)
    return auction


def test_a_dispute_refunded_voids_the_sale_with_a_credit_note(
    ctx: Context,
    client: Client,
    seller: Person,
    asha: Person,
    admin: Person,
    sink: SendGridSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fees(ctx, monkeypatch, buyers_premium="10")
    auction = sold(ctx, client, seller, asha, "1000.00", shipping_method="ship")
    early = open_dispute(client, asha, auction)
    assert (early.status_code, early.json_body["code"]) == (409, "dispute_not_allowed")
    assert early.json_body["paymentStatus"] == "pending"
    paid(client, asha, auction, address=MAHARASHTRA)
    assert open_dispute(client, seller, auction).json_body["code"] == "forbidden"
    bad = open_dispute(client, asha, auction, {"reason": "changed_my_mind", "detail": "x"})
    assert (bad.status_code, bad.json_body["errors"][0]["field"]) == (422, "reason")
    assert reply(client, seller, auction).json_body["code"] == "not_found"  # none yet

    opened = open_dispute(client, asha, auction)
    assert opened.status_code == 201, opened.body
    dispute = opened.json_body
    assert (dispute["status"], dispute["reason"], dispute["replies"]) == (
        "open",
        "not_received",
        [],
    )
    again = open_dispute(client, asha, auction, {"reason": "not_as_described", "detail": "also"})
    assert (again.status_code, again.json_body["code"]) == (409, "dispute_exists")
    assert again.json_body["disputeStatus"] == "open"

    assert reply(client, asha, auction).json_body["code"] == "forbidden"
    answered = reply(client, seller, auction, "Shipped on the 3rd, tracking EE123456789IN.")
    assert answered.status_code == 200
    assert [r["message"] for r in answered.json_body["replies"]] == [
        "Shipped on the 3rd, tracking EE123456789IN."
    ]
    assert resolve(client, seller, auction, "refund").json_body["code"] == "forbidden"
    seen = Actor(client, asha).auction(auction)["dispute"]
    assert seen["id"] == dispute["id"] and len(seen["replies"]) == 1
    assert "dispute" not in Actor(client, person(ctx, "buyer")).auction(auction)

    refunded = resolve(client, admin, auction, "refund")
    assert refunded.status_code == 200, refunded.body
    body = refunded.json_body
    assert (body["status"], body["outcome"], body["creditNoteNumber"]) == (
        "resolved",
        "refund",
        "CN-000001",
    )
    assert status_of(ctx, auction) == ("closed_no_winner", "refunded")
    with ctx.db.session() as session:
        invoice = session.query(Invoice).filter(Invoice.auction_id == auction).one()
        assert (invoice.payment_status, invoice.voided_at is not None) == ("refunded", True)
    closed = Actor(client, asha).auction(auction)
    assert closed["closeReason"] == "refunded" and closed["dispute"]["outcome"] == "refund"
    assert resolve(client, admin, auction, "release").json_body["code"] == "dispute_not_open"
    assert reply(client, seller, auction).json_body["code"] == "dispute_not_open"
    # The sale is void now; a second dispute is still the same one.
    again = open_dispute(client, asha, auction)
    assert (again.json_body["code"], again.json_body["disputeStatus"]) == (
        "dispute_exists",
        "resolved",
    )

    # The credit note credits what the invoice charged, to the paisa.
    billed = summary(page_lines(pdf_of(client, asha, auction))[1])
    credit = pdf_of(client, seller, auction, "credit-note")
    _, lines = page_lines(credit)
    assert "CN-000001" in lines and "the sale is refunded: a dispute was settled for the buyer" in (
        " ".join(lines)
    )
    assert summary(lines)["Total credited"] == billed["Total due"] == D("1100.00")

    # Each step told both sides, by notification, live event and email; all audited.
    steps = ["dispute_opened", "dispute_replied", "dispute_resolved"]
    for who in (asha, seller):
        assert [
            t for t in notification_types(ctx, who, auction) if t.startswith("dispute")
        ] == steps
        assert [t for t in feed_types(ctx, who, auction) if t.startswith("dispute")] == [
            "dispute:opened",
            "dispute:replied",
            "dispute:resolved",
        ]
    assert audit_actions(ctx, auction)[-3:] == [
        "buyer.dispute_open",
        "seller.dispute_reply",
        "admin.dispute_resolve",
    ]
    run_jobs(ctx)
    for who in (asha, seller):
        mails = [m for m in sink.to(who.principal.email) if ":dispute_" in (m.job_id or "")]
        assert len(mails) == 3
        (resolved,) = [m for m in mails if "resolved" in (m.job_id or "")]
        assert [a.filename for a in resolved.attachments] == [f"CN-000001-{auction}.pdf"]
        assert "refunded ₹1,100.00" in resolved.text
    seller_opened = [
        m for m in sink.to(seller.principal.email) if ":dispute_opened:" in (m.job_id or "")
    ]
    assert "Nothing has come in three weeks." in seller_opened[0].text


def test_a_dispute_released_lets_the_sale_stand(
    ctx: Context, client: Client, seller: Person, asha: Person, admin: Person
) -> None:
    auction = paid_sale(ctx, client, seller, asha)
    open_dispute(client, asha, auction, {"reason": "not_as_described", "detail": "Scratched."})
    released = resolve(client, admin, auction, "release")
    assert released.json_body["outcome"] == "release"
    assert status_of(ctx, auction)[0] == "sold"
    assert document(client, asha, auction, "credit-note").status_code == 404
    # One dispute per sale: a second, even after the first was resolved, is refused.
    again = open_dispute(client, asha, auction)
    assert (again.json_body["code"], again.json_body["disputeStatus"]) == (
        "dispute_exists",
        "resolved",
    )


def test_a_dispute_opens_only_within_the_window_of_the_payment(
    ctx: Context,
    client: Client,
    seller: Person,
    asha: Person,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    windows(ctx, monkeypatch, dispute_window_secs=60)
    auction = paid_sale(ctx, client, seller, asha)
    with ctx.db.session() as session:
        session.execute(
            update(Invoice)
            .where(Invoice.auction_id == auction)
            .values(paid_marked_at=now() - timedelta(seconds=61))
        )
    late = open_dispute(client, asha, auction)
    assert (late.status_code, late.json_body["code"]) == (409, "dispute_not_allowed")
    assert "closed at" in late.json_body["detail"]
    with ctx.db.session() as session:
        session.execute(
            update(Invoice)
            .where(Invoice.auction_id == auction)
            .values(paid_marked_at=now() - timedelta(seconds=59))
        )
    assert open_dispute(client, asha, auction).status_code == 201


def test_a_refund_of_an_unpaid_sale_is_refused_and_changes_nothing(
    ctx: Context,
    client: Client,
    seller: Person,
    asha: Person,
    admin: Person,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    windows(ctx, monkeypatch, payment_window_secs=3600)
    auction = paid_sale(ctx, client, seller, asha)
    assert open_dispute(client, asha, auction).status_code == 201
    # The seller says the money never came, after the due date: the sale is void as unpaid.
    move_deadline(ctx, auction, soon(-10), payment=True)
    assert pay(client, seller, auction, "report_unpaid").status_code == 200
    refused = resolve(client, admin, auction, "refund")
    assert (refused.status_code, refused.json_body["code"]) == (409, "refund_not_allowed")
    assert refused.json_body["paymentStatus"] == "unpaid"
    with ctx.db.session() as session:
        assert session.query(Dispute).one().status == "open"
    assert status_of(ctx, auction) == ("closed_no_winner", "unpaid")
    assert resolve(client, admin, auction, "release").status_code == 200


def test_the_admin_list_shows_open_disputes_oldest_first(
    ctx: Context, client: Client, seller: Person, admin: Person
) -> None:
    buyers = [person(ctx, "buyer") for _ in range(3)]
    auctions = [paid_sale(ctx, client, seller, b) for b in buyers]
    for b, a in zip(buyers, auctions, strict=True):
        assert open_dispute(client, b, a).status_code == 201
    resolve(client, admin, auctions[1], "release")
    page = Actor(client, admin).get("/api/admin/disputes?limit=1").json_body
    assert [d["auctionId"] for d in page["items"]] == [str(auctions[0])]
    rest = Actor(client, admin).get(f"/api/admin/disputes?cursor={page['nextCursor']}").json_body
    assert [d["auctionId"] for d in rest["items"]] == [str(auctions[2])]
    done = Actor(client, admin).get("/api/admin/disputes?status=resolved").json_body
    assert [d["auctionId"] for d in done["items"]] == [str(auctions[1])]
    assert Actor(client, seller).get("/api/admin/disputes").status_code == 403


def test_racing_disputes_make_one(
    ctx: Context, client: Client, seller: Person, asha: Person
) -> None:
    auction = paid_sale(ctx, client, seller, asha)
    answers = race(*(lambda: open_dispute(client, asha, auction) for _ in range(3)))
    assert sorted(a.status_code for a in answers) == [201, 409, 409]
