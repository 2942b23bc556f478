"""Whole paths after the hammer, over real HTTP (the local API server), real PostgreSQL, Redis
through the Upstash-REST bridge, the ticker, the job queue and the SendGrid sink:
bid -> outbid -> end -> seller accepts -> invoices emailed to both; and the same through a
counter offer the buyer accepts."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pypdf
from sqlalchemy import update

from shared.adapters import keys
from shared.adapters.orm import Auction
from shared.domain.times import to_ms
from shared.services import ticker
from shared.services.context import Context
from tests.support import harness
from tests.support.after_sale import event_types, notification_types, run_jobs
from tests.support.harness import Person, tcp
from tests.support.sendgrid_sink import SendGridSink


class Api:
    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=30)

    def post(self, who: harness.Person, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post(path, json=body, headers=who.headers)
        assert response.status_code in (200, 201), response.text
        result: dict[str, Any] = response.json()
        return result

    def get(self, who: harness.Person | None, path: str, **headers: str) -> httpx.Response:
        return self.http.get(path, headers={**(who.headers if who else {}), **headers})


def clock_runs_out(ctx: Context, auction_id: uuid.UUID) -> None:
    """Time passes past endsAt (in the record and in the bid script's state); the ticker that
    the socket node runs every second does the rest."""
    past = datetime.now(UTC) - timedelta(milliseconds=5)
    with ctx.db.session() as session:
        session.execute(update(Auction).where(Auction.id == auction_id).values(ends_at=past))
    tcp().command("HSET", keys.state(str(auction_id)), "endsAt", to_ms(past))
    assert str(auction_id) in ticker.tick(ctx).ended


def pdf_text(pdf: bytes) -> str:
    return pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()


def test_bid_outbid_end_accept_emails_the_invoice_to_both(
    ctx: Context, api_url: str, seller: Person, buyer: Person, sink: SendGridSink
) -> None:
    api = Api(api_url)
    rival = harness.person(ctx, "buyer", "Ravi")
    auction_id = harness.live_auction(ctx, seller, item_name="Rosewood desk")
    api.post(buyer, f"/api/auctions/{auction_id}/bids", {"amount": "100000"})
    api.post(rival, f"/api/auctions/{auction_id}/bids", {"amount": "120000"})
    assert "bid:outbid" in event_types(ctx, buyer)

    clock_runs_out(ctx, auction_id)
    assert api.get(None, f"/api/auctions/{auction_id}").json()["status"] == "ended"
    assert event_types(ctx, seller)[-1] == "seller:decision_required"

    sold = api.post(seller, f"/api/auctions/{auction_id}/decision", {"action": "accept"})
    assert (sold["status"], sold["finalPrice"], sold["winnerId"]) == ("sold", "120000.00", rival.id)
    assert run_jobs(ctx).ran == 2

    (to_rival,) = sink.to(rival.principal.email)
    (to_seller,) = sink.to(seller.principal.email)
    assert sink.to(buyer.principal.email) == []  # outbid: not part of the sale
    assert sink.duplicates() == []
    attached = {m.attachments[0].content for m in (to_rival, to_seller)}
    assert len(attached) == 1
    (pdf,) = attached
    text = pdf_text(pdf)
    for fact in ("INV-000001", "Rosewood desk", "INR 1,20,000.00", rival.principal.email):
        assert fact in text
    download = api.get(rival, f"/api/auctions/{auction_id}/invoice", Accept="application/pdf")
    assert download.status_code == 200
    assert download.content == pdf

    assert notification_types(ctx, seller) == [
        "new_bid",
        "new_bid",
        "decision_required",
        "accepted",
    ]
    assert notification_types(ctx, buyer) == ["outbid", "auction_ended"]
    assert notification_types(ctx, rival) == ["auction_ended", "accepted"]
    listed = api.get(rival, "/api/notifications").json()
    assert [n["type"] for n in listed["items"]] == ["accepted", "auction_ended"]
    assert listed["unreadCount"] == 2


def test_bid_end_counter_accept_emails_both(
    ctx: Context, api_url: str, seller: Person, buyer: Person, sink: SendGridSink
) -> None:
    api = Api(api_url)
    rival = harness.person(ctx, "buyer", "Ravi")
    auction_id = harness.live_auction(ctx, seller, item_name="Rosewood desk", reserve="150000")
    api.post(buyer, f"/api/auctions/{auction_id}/bids", {"amount": "100000"})
    api.post(rival, f"/api/auctions/{auction_id}/bids", {"amount": "120000"})
    clock_runs_out(ctx, auction_id)

    countered = api.post(
        seller, f"/api/auctions/{auction_id}/decision", {"action": "counter", "amount": "140000"}
    )
    offer = countered["counterOffer"]
    assert (offer["amount"], offer["status"]) == ("140000.00", "pending")
    assert event_types(ctx, rival)[-1] == "counter:offer"
    run_jobs(ctx)
    (invitation,) = sink.messages
    assert invitation.to == [rival.principal.email]
    assert "₹1,40,000.00" in invitation.subject
    # Before the answer there is no sale, so no invoice.
    early = api.get(seller, f"/api/auctions/{auction_id}/invoice", Accept="application/pdf")
    assert early.status_code == 404

    sold = api.post(rival, f"/api/counter/{offer['id']}/response", {"action": "accept"})
    assert (sold["status"], sold["finalPrice"]) == ("sold", "140000.00")
    assert sold["counterOffer"]["status"] == "accepted"
    assert event_types(ctx, rival)[-1] == "counter:accepted"
    assert event_types(ctx, seller)[-1] == "counter:accepted"
    assert run_jobs(ctx).ran == 2  # one confirmation each, the invoice attached

    for person in (rival, seller):
        templates = sorted(str(m.job_id).split(":")[1] for m in sink.to(person.principal.email))
        if person is rival:
            assert templates == ["counter_accepted", "counter_invitation"]
        else:
            assert templates == ["counter_accepted"]
        (sale,) = [m for m in sink.to(person.principal.email) if m.attachments]
        assert "INR 1,40,000.00" in pdf_text(sale.attachments[0].content)
        # The reserve (1,50,000) is the seller's secret: only their email mentions it.
        assert ("Reserve not met" in sale.text) is (person is seller)
        assert ("1,50,000" in sale.text + sale.html) is (person is seller)
    assert sink.duplicates() == []
    assert notification_types(ctx, rival)[-2:] == ["counter_offer", "counter_accepted"]
    assert notification_types(ctx, seller)[-1] == "counter_accepted"
    invoice = api.get(seller, f"/api/auctions/{auction_id}/invoice", Accept="*/*")
    assert invoice.status_code == 200
    assert invoice.headers["content-type"] == "application/pdf"
