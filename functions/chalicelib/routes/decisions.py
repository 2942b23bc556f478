"""After the hammer: the seller's decision, the buyer's answer to a counter offer, the invoice."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint, Response

from .. import runtime
from ..operations import Call, operation
from .auctions import auction_id

if TYPE_CHECKING:
    from ..schemas.api import CounterResponse, Decision


bp = Blueprint(__name__)


@operation(
    bp,
    "POST",
    "/api/auctions/{auction_id}/decision",
    summary="The seller's decision on an ended auction: accept, reject, or counter",
    tag="decisions",
    auth="required",
    body="Decision",
    response="AuctionOut",
    errors=(
        "unauthenticated",
        "forbidden",
        "not_found",
        "decision_not_allowed",
        "counter_too_low",
        "validation_error",
        "payload_too_large",
    ),
    remembers_source=True,  # a seller's write: its source, for the shill signals
)
def decide(call: Call) -> dict[str, Any]:
    """accept: sold at the highest bid. reject: closed with no winner. counter (with an
    `amount` above the highest bid): a pending offer to the highest bidder. One decision per
    auction; the sale emails carry the PDF invoice."""
    from shared.domain.decisions import SellerAction
    from shared.services import decisions

    b: Decision = call.body
    return decisions.decide(
        runtime.context(), auction_id(call), call.viewer, SellerAction(b.action), b.amount
    )


@operation(
    bp,
    "POST",
    "/api/counter/{counter_id}/response",
    summary="The buyer's answer to a counter offer: accept or reject",
    tag="decisions",
    auth="required",
    body="CounterResponse",
    response="AuctionOut",
    errors=(
        "unauthenticated",
        "forbidden",
        "not_found",
        "counter_not_pending",
        "validation_error",
        "payload_too_large",
    ),
)
def respond_to_counter(call: Call) -> dict[str, Any]:
    """accept: sold at the counter amount. reject: closed with no winner. Once."""
    from shared.domain.decisions import BuyerAnswer
    from shared.services import decisions

    b: CounterResponse = call.body
    return decisions.answer_counter(
        runtime.context(), call.params["counter_id"], call.viewer, BuyerAnswer(b.action)
    )


@operation(
    bp,
    "GET",
    "/api/auctions/{auction_id}/invoice",
    summary="The sale's PDF invoice (buyer, seller, admins); send Accept: application/pdf",
    tag="invoices",
    auth="required",
    media_type="application/pdf",
    errors=("unauthenticated", "forbidden", "not_found", "invoice_not_issued", "unavailable"),
)
def get_invoice(call: Call) -> Response:
    """A plain invoice (the seller has no GSTIN) or a GST tax invoice. A tax invoice for an
    item that ships is issued at payment, with the delivery address (its state is the place
    of supply): before that, 409 `invoice_not_issued`."""
    from shared.adapters.invoice_store import InvoiceStore
    from shared.services import invoices

    ctx = runtime.context()
    name, pdf = invoices.download(
        ctx, auction_id(call), call.viewer, InvoiceStore.from_settings(ctx.settings)
    )
    return Response(
        body=pdf,
        status_code=200,
        headers={
            "Content-Type": "application/pdf",
            "Content-Disposition": f'attachment; filename="{name}"',
        },
    )
