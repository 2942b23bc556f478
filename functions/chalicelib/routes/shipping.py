"""A sale's way to its buyer: the seller records the shipment, the buyer the receipt.
Services are imported inside the handlers (lean cold starts)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint

from .. import runtime
from ..operations import Call, operation
from .auctions import auction_id

if TYPE_CHECKING:
    from ..schemas.api import Shipment


bp = Blueprint(__name__)


@operation(
    bp,
    "POST",
    "/api/auctions/{auction_id}/shipment",
    summary="The seller records the shipment (carrier, tracking number) of a paid sale",
    tag="shipping",
    auth="required",
    body="Shipment",
    response="AuctionOut",
    errors=(
        "unauthenticated",
        "forbidden",
        "not_found",
        "shipment_not_allowed",
        "validation_error",
        "payload_too_large",
    ),
)
def record_shipment(call: Call) -> dict[str, Any]:
    """Once, on a paid or confirmed sale of an item that ships (a shipment on an unpaid sale,
    a second one, or one for an item picked up: 409 `shipment_not_allowed`); the buyer is
    told and emailed. Due within SHIP_WINDOW_SECS of the payment."""
    from shared.services import shipping

    b: Shipment = call.body
    return shipping.ship(
        runtime.context(),
        auction_id(call),
        call.viewer,
        carrier=b.carrier,
        tracking_number=b.trackingNumber,
    )


@operation(
    bp,
    "POST",
    "/api/auctions/{auction_id}/received",
    summary="The buyer marks the item received (no body)",
    tag="shipping",
    auth="required",
    response="AuctionOut",
    errors=("unauthenticated", "forbidden", "not_found", "receipt_not_allowed"),
)
def mark_received(call: Call) -> dict[str, Any]:
    """Once, on a paid sale, after the shipment when the item ships (else 409
    `receipt_not_allowed`); the seller is told and emailed."""
    from shared.services import shipping

    return shipping.receive(runtime.context(), auction_id(call), call.viewer)
