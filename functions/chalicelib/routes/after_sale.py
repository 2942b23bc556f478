"""After the hammer, complete: second-chance offers and a sale's payment. The
deadlines themselves (decision, counter, offer, payment) are the ticker's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint

from .. import runtime
from ..operations import Call, operation
from .auctions import auction_id

if TYPE_CHECKING:
    from ..schemas.api import MakeOffer, OfferResponse, PaymentRequest


bp = Blueprint(__name__)


@operation(
    bp,
    "POST",
    "/api/auctions/{auction_id}/offers",
    summary="Second-chance offer: the seller offers a closed auction's item to another bidder "
    "at that bidder's own highest bid",
    tag="offers",
    auth="required",
    body="MakeOffer",
    response="OfferOut",
    status=201,
    errors=(
        "unauthenticated",
        "forbidden",
        "not_found",
        "offer_not_allowed",
        "offer_pending",
        "validation_error",
        "payload_too_large",
    ),
    remembers_source=True,  # a seller's write: its source, for the shill signals
)
def make_offer(call: Call) -> dict[str, Any]:
    """On a `closed_no_winner` auction that had bids; one pending offer at a time
    (`offer_pending`); a bidder who never bid here is 422; the highest bidder, a buyer whose
    sale was voided, or a bidder who already had an offer is `offer_not_allowed`. The offer
    expires after OFFER_WINDOW_SECS."""
    from shared.services import offers

    b: MakeOffer = call.body
    return offers.make_offer(runtime.context(), auction_id(call), call.viewer, b.bidderId)


@operation(
    bp,
    "GET",
    "/api/auctions/{auction_id}/offers",
    summary="The auction's second-chance offers and the bidders one may go to (seller, admin)",
    tag="offers",
    auth="required",
    response="OfferList",
    errors=("unauthenticated", "forbidden", "not_found"),
)
def list_offers(call: Call) -> dict[str, Any]:
    from shared.services import offers

    return offers.list_offers(runtime.context(), auction_id(call), call.viewer)


@operation(
    bp,
    "POST",
    "/api/offers/{offer_id}/response",
    summary="The bidder's answer to a second-chance offer: accept (a sale) or reject",
    tag="offers",
    auth="required",
    body="OfferResponse",
    response="AuctionOut",
    errors=(
        "unauthenticated",
        "forbidden",
        "not_found",
        "offer_not_pending",
        "validation_error",
        "payload_too_large",
    ),
)
def respond_to_offer(call: Call) -> dict[str, Any]:
    """accept: sold at the offer's amount (invoice, emails, events as any sale). reject: the
    auction stays closed and the seller may offer to another bidder. Once; not after
    expiresAt (`offer_not_pending`)."""
    from shared.domain.offers import OfferAnswer
    from shared.services import offers

    b: OfferResponse = call.body
    return offers.answer_offer(
        runtime.context(), call.params["offer_id"], call.viewer, OfferAnswer(b.action)
    )


@operation(
    bp,
    "POST",
    "/api/auctions/{auction_id}/payment",
    summary="The sale's payment: mark_paid (buyer), confirm or report_unpaid (seller)",
    tag="payments",
    auth="required",
    body="PaymentRequest",
    response="AuctionOut",
    errors=(
        "unauthenticated",
        "forbidden",
        "not_found",
        "payment_action_not_allowed",
        "validation_error",
        "payload_too_large",
    ),
)
def payment(call: Call) -> dict[str, Any]:
    """`mark_paid` takes the buyer's `address` (required when the item ships: the seller ships
    to it, and its state is a tax invoice's place of supply) and a registered buyer's
    `gstin`. `report_unpaid` (from dueAt on, without a confirm) voids the sale: the invoice
    stays as issued and a credit note cancels it, the auction closes with closeReason
    `unpaid`, and a second-chance offer becomes possible. A wrong actor is 403; a wrong moment
    409 `payment_action_not_allowed`."""
    from shared.domain.payments import PaymentAction
    from shared.services import payments

    b: PaymentRequest = call.body
    return payments.act(
        runtime.context(),
        auction_id(call),
        call.viewer,
        PaymentAction(b.action),
        address=b.address.model_dump() if b.address is not None else None,
        gstin=b.gstin,
    )
