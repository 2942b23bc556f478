"""Helpers of the open marketplace's tests: start selling, list with shipping terms, sell, pay
with an address, read a sale's documents back from their PDFs. Requests go through
`tests.support.actors` (in-process, the real app)."""

from __future__ import annotations

import io
import uuid
from decimal import Decimal
from typing import Any

import pypdf
import pytest
from chalice.test import Client

from shared.services.context import Context
from tests.support.actors import Actor, Bidder, Seller, call
from tests.support.after_sale import hammer
from tests.support.gst_samples import gstin_for
from tests.support.harness import Person, live_auction

KARNATAKA = {
    "line1": "12 MG Road",
    "line2": "Shanthala Nagar",
    "city": "Bengaluru",
    "state": "Karnataka",
    "postalCode": "560001",
    "country": "IN",
}
MAHARASHTRA = {
    "line1": "4 Marine Drive",
    "city": "Mumbai",
    "state": "MH",
    "postalCode": "400020",
    "country": "IN",
}
ALSO_KARNATAKA = {
    "line1": "3 Church Street",
    "city": "Bengaluru",
    "state": "29",
    "postalCode": "560025",
    "country": "IN",
}
SELLER_GSTIN = str(gstin_for("29"))
SHIPMENT = {"carrier": "India Post", "trackingNumber": "EE123456789IN"}
COMPLAINT = {"reason": "not_received", "detail": "Nothing has come in three weeks."}


def profile(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "displayName": "Sita Antiques",
        "phone": "+919845012345",
        "address": dict(KARNATAKA),
        "acceptTerms": True,
    }
    body.update(changes)
    return body


def start_selling(client: Client, who: Person, **changes: Any) -> dict[str, Any]:
    """PUT the seller's profile: 200, the profile."""
    response = Actor(client, who).put("/api/me/seller-profile", profile(**changes))
    assert response.status_code == 200, response.body
    body: dict[str, Any] = response.json_body
    return body


def fees(ctx: Context, monkeypatch: pytest.MonkeyPatch, **pct: str) -> None:
    """BUYERS_PREMIUM_PCT, PLATFORM_FEE_PCT, GST_RATE_PCT for this test (as settings)."""
    update = {f"{name}_pct": Decimal(value) for name, value in pct.items()}
    monkeypatch.setattr(ctx, "settings", ctx.settings.model_copy(update=update))


def shipped_terms(ctx: Context, auction_id: uuid.UUID, **terms: Any) -> None:
    """Give an auction written straight into the record its shipping terms."""
    from sqlalchemy import update

    from shared.adapters.orm import Auction

    with ctx.db.session() as session:
        session.execute(update(Auction).where(Auction.id == auction_id).values(**terms))


def sold(
    ctx: Context,
    client: Client,
    seller: Person,
    buyer: Person,
    amount: str = "10000.00",
    **auction: Any,
) -> uuid.UUID:
    """A live auction (with `auction`'s fields: shipping_method, category...), the buyer's bid of
    `amount`, the hammer, the seller's accept: sold."""
    record = ("shipping_method", "shipping_cost", "pickup_city", "category")
    terms = {k: auction.pop(k) for k in record if k in auction}
    auction.setdefault("start_price", "100.00")
    auction_id = live_auction(ctx, seller, **auction)
    if terms:
        shipped_terms(ctx, auction_id, **terms)
    Bidder(client, buyer).placed(auction_id, amount)
    hammer(ctx, auction_id)
    Seller(client, seller).decided(auction_id, action="accept")
    return auction_id


def pay(
    client: Client, who: Person, auction_id: Any, action: str = "mark_paid", **body: Any
) -> Any:
    return Actor(client, who).post(
        f"/api/auctions/{auction_id}/payment", {"action": action, **body}
    )


def paid(client: Client, who: Person, auction_id: Any, **body: Any) -> dict[str, Any]:
    response = pay(client, who, auction_id, **body)
    assert response.status_code == 200, response.body
    answer: dict[str, Any] = response.json_body
    return answer


def document(client: Client, who: Person, auction_id: Any, kind: str = "invoice") -> Any:
    """GET the auction's invoice, statement or credit-note (the answer, whatever it is)."""
    return call(
        client,
        "GET",
        f"/api/auctions/{auction_id}/{kind}",
        who,
        headers={"Accept": "application/pdf"},
    )


def pdf_of(client: Client, who: Person, auction_id: Any, kind: str = "invoice") -> bytes:
    response = document(client, who, auction_id, kind)
    assert response.status_code == 200, response.body
    assert response.headers["Content-Type"] == "application/pdf"
    body: bytes = response.body
    return body


def text_of(pdf: bytes) -> str:
    return "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
