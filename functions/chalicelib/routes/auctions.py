"""Auctions and their bids."""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint

from shared.domain.auctions import AuctionDraft
from shared.domain.errors import DomainError, invalid
from shared.domain.marketplace import public_name
from shared.domain.vocabulary import SortOrder

from .. import runtime
from ..operations import Call, operation, source_marks
from ..request_state import request_id

if TYPE_CHECKING:
    from ..schemas.api import AuctionSearchQuery, CreateAuction, Page, ShippingTerms
    from ..schemas.bids import PlaceBid


bp = Blueprint(__name__)

IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


def arrival_stamp(call: Call) -> int | None:
    """When the request arrived, epoch ms: API Gateway's `requestContext.requestTimeEpoch` (the
    local API server stamps it once the whole request has been read). Anything but a plain
    positive integer is no stamp; the bid script bounds what it believes of one."""
    value = (call.request.context or {}).get("requestTimeEpoch")
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**53:
        return value
    return None


def auction_id(call: Call) -> uuid.UUID:
    try:
        return uuid.UUID(call.params["auction_id"])
    except ValueError:
        raise DomainError("not_found", "No such auction") from None


@operation(
    bp,
    "POST",
    "/api/auctions",
    summary="Create an auction",
    tag="auctions",
    auth="required",
    roles=("seller", "admin"),
    body="CreateAuction",
    response="AuctionOut",
    status=201,
    errors=("unauthenticated", "forbidden", "validation_error", "payload_too_large"),
    remembers_source=True,  # a seller's write: its source, for the shill signals
)
def create_auction(call: Call) -> dict[str, Any]:
    from shared.services import auctions

    b: CreateAuction = call.body
    draft = AuctionDraft(
        item_name=b.itemName,
        description=b.description,
        start_price=b.startPrice,
        bid_increment=b.bidIncrement,
        go_live_at=b.goLiveAt,
        duration_mins=b.durationMins,
        reserve_price=b.reservePrice,
        buy_now_price=b.buyNowPrice,
        soft_close_secs=b.softCloseSecs,
        category=b.category,
        **shipping_fields(b.shipping),
    )
    return auctions.create_auction(runtime.context(), call.user.user_id, draft)


def shipping_fields(terms: ShippingTerms | None) -> dict[str, Any]:
    """The record's three shipping fields from the request's `shipping` (None clears them)."""
    return {
        "shipping_method": terms.method if terms else None,
        "shipping_cost": terms.cost if terms else None,
        "pickup_city": terms.pickupCity if terms else None,
    }


@operation(
    bp,
    "GET",
    "/api/auctions",
    summary="Find auctions: full text, category, price range, seller, status; five sorts",
    tag="auctions",
    auth="optional",
    query="AuctionSearchQuery",
    response="AuctionList",
    errors=("validation_error",),
)
def list_auctions(call: Call) -> dict[str, Any]:
    from shared.services import auctions, search

    q: AuctionSearchQuery = call.query
    criteria = search.Criteria(
        status=q.status,
        q=q.q or None,
        category=q.category,
        min_price=q.minPrice,
        max_price=q.maxPrice,
        seller_id=q.sellerId,
        sort=SortOrder(q.sort),
    )
    return auctions.list_auctions(
        runtime.context(), call.viewer, criteria=criteria, limit=q.limit, cursor=q.cursor
    )


@operation(
    bp,
    "GET",
    "/api/auctions/{auction_id}",
    summary="One auction, live",
    tag="auctions",
    auth="optional",
    response="AuctionOut",
    errors=("not_found",),
    etag=True,
)
def get_auction(call: Call) -> dict[str, Any]:
    from shared.services import auctions

    return auctions.read_auction(runtime.context(), str(auction_id(call)), call.viewer)


@operation(
    bp,
    "POST",
    "/api/auctions/{auction_id}/bids",
    summary="Place a bid (or a proxy maximum)",
    tag="bids",
    auth="required",
    body="PlaceBid",
    response="BidPlaced",
    status=201,
    headers=("Idempotency-Key",),
    rate_limited=False,  # the bid script's own bucket (BID_RATE_LIMIT) judges bids
    suspension_checked_by_view=True,  # so does the bid script, in the same round trip
    outcome_metrics="Bid",  # EMF: BidLatency, BidAccepted, BidRefused by code
    errors=(
        "unauthenticated",
        "account_suspended",
        "own_auction",
        "bidder_blocked",  # the auction's seller blocked the bidder
        "not_found",
        "auction_not_live",
        "bid_too_low",
        "already_highest",
        "validation_error",
        "idempotency_key_reused",
        "rate_limited",
        "payload_too_large",
        "unavailable",  # not placed: the bid store could not be reached (Retry-After)
        "outcome_unknown",  # sent, no answer: retry with the same Idempotency-Key (Retry-After)
    ),
)
def place_bid(call: Call) -> dict[str, Any]:
    from shared.services import bidding

    b: PlaceBid = call.body
    key = call.request.headers.get("idempotency-key")
    if key is not None and not IDEMPOTENCY_KEY.match(key):
        raise invalid("Idempotency-Key", "must be 1 to 200 visible ASCII characters")
    amount = b.maxAmount if b.maxAmount is not None else b.amount
    assert amount is not None
    receipt = bidding.place_bid(
        runtime.context(),
        auction_id(call),
        call.user.user_id,
        amount,
        is_max=b.maxAmount is not None,
        idempotency_key=key,
        bidder_name=public_name(call.user.name, call.user.user_id),
        request_id=request_id(),
        arrived_ms=arrival_stamp(call),
        marks=source_marks(call.request),  # the shill signals' network overlap
    )
    body = {
        **receipt.bid,
        "minNextBid": receipt.min_next_bid,
        "endsAt": receipt.ends_at,
        "arrivedAt": receipt.arrived_at,
    }
    if receipt.max_amount is not None:
        body["maxAmount"] = receipt.max_amount
    body["receipt"] = receipt.receipt
    return body


@operation(
    bp,
    "GET",
    "/api/auctions/{auction_id}/bids",
    summary="Bid history, highest first",
    tag="bids",
    query="Page",
    response="BidList",
    errors=("not_found", "validation_error"),
    etag=True,
)
def list_bids(call: Call) -> dict[str, Any]:
    from shared.services import auctions

    q: Page = call.query
    return auctions.list_bids(
        runtime.context(), str(auction_id(call)), limit=q.limit, cursor=q.cursor
    )
