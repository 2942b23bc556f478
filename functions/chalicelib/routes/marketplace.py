"""The marketplace around the auction: seller controls (edit, cancel,
photos), watching, and the signed-in person's own pages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint, Response

from shared.domain.marketplace import IMAGE_TYPES, MAX_IMAGE_BYTES
from shared.domain.vocabulary import BidState, Role

from .. import runtime
from ..operations import Call, operation
from .auctions import auction_id, shipping_fields

if TYPE_CHECKING:
    from ..schemas.api import CancelAuction, EditAuction, MyAuctionsQuery, MyBidsQuery, Page


bp = Blueprint(__name__)

SELLERS = (Role.SELLER.value, Role.ADMIN.value)

# PATCH member -> the record's field.
EDIT_FIELDS = {
    "itemName": "item_name",
    "description": "description",
    "startPrice": "start_price",
    "bidIncrement": "bid_increment",
    "goLiveAt": "go_live_at",
    "durationMins": "duration_mins",
    "reservePrice": "reserve_price",
    "buyNowPrice": "buy_now_price",
    "softCloseSecs": "soft_close_secs",
    "category": "category",
}


def no_content() -> Response:
    return Response(body="", status_code=204, headers={})


# -- seller controls ----------------------------------------------------------------------------


@operation(
    bp,
    "PATCH",
    "/api/auctions/{auction_id}",
    summary="Edit a scheduled auction of mine (any create field)",
    tag="auctions",
    auth="required",
    roles=SELLERS,
    body="EditAuction",
    response="AuctionOut",
    errors=("auction_not_editable",),
    remembers_source=True,  # a seller's write: its source, for the shill signals
)
def edit_auction(call: Call) -> dict[str, Any]:
    from shared.services import seller_controls

    b: EditAuction = call.body
    changes = {
        EDIT_FIELDS[name]: getattr(b, name) for name in b.model_fields_set if name != "shipping"
    }
    if "shipping" in b.model_fields_set:
        changes.update(shipping_fields(b.shipping))
    return seller_controls.edit(runtime.context(), auction_id(call), call.viewer, changes)


@operation(
    bp,
    "POST",
    "/api/auctions/{auction_id}/cancel",
    summary="Cancel an auction: its seller while scheduled (or live without bids), an admin "
    "any time before it is sold",
    tag="auctions",
    auth="required",
    body="CancelAuction",
    response="AuctionOut",
    errors=("forbidden", "auction_not_cancellable"),
    remembers_source=True,  # a seller's write: its source, for the shill signals
)
def cancel_auction(call: Call) -> dict[str, Any]:
    from shared.services import seller_controls

    b: CancelAuction = call.body
    return seller_controls.cancel(runtime.context(), auction_id(call), call.viewer, b.reason)


@operation(
    bp,
    "POST",
    "/api/auctions/{auction_id}/images",
    summary="Add a photo to a scheduled auction of mine (raw JPEG, PNG or WebP body)",
    tag="auctions",
    auth="required",
    roles=SELLERS,
    response="ImageOut",
    status=201,
    max_body=MAX_IMAGE_BYTES,
    raw_body=tuple(IMAGE_TYPES),
    errors=("auction_not_editable", "too_many_images"),
    remembers_source=True,  # a seller's write: its source, for the shill signals
)
def upload_image(call: Call) -> dict[str, Any]:
    from shared.services import media

    raw = call.request.raw_body or b""
    data = raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogateescape")
    return media.upload(
        runtime.context(),
        auction_id(call),
        call.viewer,
        call.request.headers.get("content-type"),
        data,
    )


@operation(
    bp,
    "DELETE",
    "/api/auctions/{auction_id}/images/{image_id}",
    summary="Remove a photo from a scheduled auction of mine",
    tag="auctions",
    auth="required",
    roles=SELLERS,
    status=204,
    errors=("auction_not_editable",),
    remembers_source=True,  # a seller's write: its source, for the shill signals
)
def delete_image(call: Call) -> Response:
    from shared.services import media

    media.delete(runtime.context(), auction_id(call), call.params["image_id"], call.viewer)
    return no_content()


# -- watching -----------------------------------------------------------------------------------


@operation(
    bp,
    "PUT",
    "/api/auctions/{auction_id}/watch",
    summary="Watch an auction (idempotent)",
    tag="watchlist",
    auth="required",
    status=204,
)
def watch(call: Call) -> Response:
    from shared.services import watchlist

    watchlist.watch(runtime.context(), auction_id(call), call.user.user_id)
    return no_content()


@operation(
    bp,
    "DELETE",
    "/api/auctions/{auction_id}/watch",
    summary="Stop watching an auction (idempotent)",
    tag="watchlist",
    auth="required",
    status=204,
)
def unwatch(call: Call) -> Response:
    from shared.services import watchlist

    watchlist.unwatch(runtime.context(), auction_id(call), call.user.user_id)
    return no_content()


# -- my pages -----------------------------------------------------------------------------------


@operation(
    bp,
    "GET",
    "/api/me/watchlist",
    summary="The auctions I watch, most recently watched first",
    tag="me",
    auth="required",
    query="Page",
    response="AuctionList",
)
def my_watchlist(call: Call) -> dict[str, Any]:
    from shared.services import me

    q: Page = call.query
    return me.my_watchlist(runtime.context(), call.viewer, limit=q.limit, cursor=q.cursor)


@operation(
    bp,
    "GET",
    "/api/me/bids",
    summary="The auctions I bid on and where I stand, most recent bid first",
    tag="me",
    auth="required",
    query="MyBidsQuery",
    response="MyBidList",
)
def my_bids(call: Call) -> dict[str, Any]:
    from shared.services import me

    q: MyBidsQuery = call.query
    return me.my_bids(
        runtime.context(),
        call.viewer,
        state=BidState(q.state) if q.state else None,
        limit=q.limit,
        cursor=q.cursor,
    )


@operation(
    bp,
    "GET",
    "/api/me/auctions",
    summary="My own auctions, every status: those awaiting my decision first",
    tag="me",
    auth="required",
    roles=SELLERS,
    query="MyAuctionsQuery",
    response="AuctionList",
)
def my_auctions(call: Call) -> dict[str, Any]:
    from shared.services import me

    q: MyAuctionsQuery = call.query
    return me.my_auctions(
        runtime.context(), call.viewer, status=q.status, limit=q.limit, cursor=q.cursor
    )


@operation(
    bp,
    "GET",
    "/api/me/purchases",
    summary="What I bought: the auction, its price, invoice and payment",
    tag="me",
    auth="required",
    query="Page",
    response="PurchaseList",
)
def my_purchases(call: Call) -> dict[str, Any]:
    from shared.services import me

    q: Page = call.query
    return me.my_purchases(runtime.context(), call.viewer, limit=q.limit, cursor=q.cursor)
