"""The API's shapes of an auction and a bid, rendered from what
the callers read: the record in PostgreSQL, and while an auction is open, what Redis knows
better (a later end after a soft close, the newest highest bid, a buy-now sale in flight).

Pure: no session, no Redis. The queries that gather the inputs live in `auctions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from shared.adapters.auction_reads import AuctionRow, BidRow, CounterRow, PaymentRow
from shared.adapters.orm import (
    Auction,
    Bid,
    CounterOffer,
    Dispute,
    DisputeReply,
    Invoice,
    SecondChanceOffer,
)
from shared.adapters.redis_records import HighestBid
from shared.domain.auctions import min_next_bid, reserve_met, shown_status
from shared.domain.credit_notes import credit_note_label
from shared.domain.money import from_minor, money_str
from shared.domain.principal import Viewer
from shared.domain.sellers import address_from_record, address_view
from shared.domain.shipping import terms_of
from shared.domain.times import from_ms, iso
from shared.domain.vocabulary import AuctionStatus

HIGHEST_BID_MEMBERS = ("id", "bidderId", "amount", "createdAt")


@dataclass(frozen=True)
class LiveState:
    """What Redis knows better than PostgreSQL while an auction is open."""

    status: str | None
    ends_at: datetime | None
    highest: HighestBid | None
    my_max: int | None  # the viewer's own proxy maximum (minor units)


def bid_view(bid: Bid | BidRow, bidder_name: str | None = None) -> dict[str, Any]:
    """The API's Bid object (with `bidderName` when known)."""
    body = {
        "id": str(bid.id),
        "auctionId": str(bid.auction_id),
        "bidderId": str(bid.bidder_id),
        "amount": money_str(bid.amount),
        "createdAt": iso(bid.created_at),
    }
    if bidder_name is not None:
        body["bidderName"] = bidder_name
    return body


def bid_view_from_redis(auction_id: str, highest: HighestBid) -> dict[str, Any]:
    """The same Bid object, for the leader as Redis has it."""
    return {
        "id": highest.bid_id,
        "auctionId": auction_id,
        "bidderId": highest.user_id,
        "amount": money_str(highest.amount),
        "createdAt": iso(from_ms(highest.ts)),
    }


def highest_bid_view(bid: dict[str, Any] | Bid) -> dict[str, Any]:
    """The auction's `highestBid` ({id, bidderId, amount, createdAt}), from a Bid or its view."""
    view = bid_view(bid) if isinstance(bid, Bid) else bid
    return {k: view[k] for k in HIGHEST_BID_MEMBERS}


def counter_view(counter: CounterOffer | CounterRow) -> dict[str, Any]:
    view = {"id": str(counter.id), "amount": money_str(counter.amount), "status": counter.status}
    if counter.expires_at is not None:
        view["expiresAt"] = iso(counter.expires_at)
    return view


def offer_view(offer: SecondChanceOffer) -> dict[str, Any]:
    """A second-chance offer."""
    return {
        "id": str(offer.id),
        "auctionId": str(offer.auction_id),
        "bidderId": str(offer.bidder_id),
        "amount": money_str(offer.amount),
        "status": offer.status,
        "expiresAt": iso(offer.expires_at),
    }


def payment_view(invoice: Invoice | PaymentRow) -> dict[str, Any]:
    """A sale's `payment`: its status, when it is due, and once the invoice is issued what it
    asks of the buyer."""
    view = {"status": invoice.payment_status, "dueAt": iso(invoice.payment_due_at)}
    if invoice.total_due is not None:
        view["totalDue"] = money_str(invoice.total_due)
    return view


def shipping_view(auction: Auction | AuctionRow) -> dict[str, Any] | None:
    """The shipping terms chosen at listing (None: none stated)."""
    terms = terms_of(auction.shipping_method, auction.shipping_cost, auction.pickup_city)
    if terms is None:
        return None
    view: dict[str, Any] = {"method": terms.method.value}
    if terms.cost is not None:
        view["cost"] = money_str(terms.cost)
    if terms.pickup_city is not None:
        view["pickupCity"] = terms.pickup_city
    return view


def delivery_view(invoice: Invoice) -> dict[str, Any]:
    """A sale's way to its buyer: the address given at payment, the shipping window, the
    shipment and its receipt (each member once it applies)."""
    address = invoice.delivery_address
    view: dict[str, Any] = {
        "address": address_view(address_from_record(address)) if address else None
    }
    for member, value in (
        ("shipBy", iso(invoice.ship_by) if invoice.ship_by else None),
        ("shippedAt", iso(invoice.shipped_at) if invoice.shipped_at else None),
        ("carrier", invoice.carrier),
        ("trackingNumber", invoice.tracking_number),
        ("receivedAt", iso(invoice.received_at) if invoice.received_at else None),
    ):
        if value is not None:
            view[member] = value
    return view


def dispute_view(
    dispute: Dispute,
    replies: list[DisputeReply],
    item_name: str,
    credit_note_number: int | None = None,
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": str(dispute.id),
        "auctionId": str(dispute.auction_id),
        "itemName": item_name,
        "buyerId": str(dispute.buyer_id),
        "sellerId": str(dispute.seller_id),
        "reason": dispute.reason,
        "detail": dispute.detail,
        "status": dispute.status,
        "openedAt": iso(dispute.opened_at),
        "replies": [
            {
                "id": str(r.id),
                "authorId": str(r.author_id),
                "message": r.message,
                "createdAt": iso(r.created_at),
            }
            for r in replies
        ],
    }
    if dispute.outcome is not None:
        view["outcome"] = dispute.outcome
    if dispute.resolved_at is not None:
        view["resolvedAt"] = iso(dispute.resolved_at)
    if dispute.resolution_note is not None:
        view["resolutionNote"] = dispute.resolution_note
    if credit_note_number is not None:
        view["creditNoteNumber"] = credit_note_label(credit_note_number)
    return view


def auction_view(
    auction: Auction | AuctionRow,
    viewer: Viewer,
    now: datetime,
    *,
    highest: dict[str, Any] | None,
    bid_count: int,
    counter: CounterOffer | CounterRow | None,
    live: LiveState | None = None,
    invoice: Invoice | PaymentRow | None = None,
    offer: SecondChanceOffer | None = None,
    winner_name: str | None = None,
    delivery: dict[str, Any] | None = None,
    dispute: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The auction object (with the competitive-rule members only where the auction uses
    them: "absent means off"). `highest` is the record's highest bid (a Bid view); `live`,
    when given, overrides what Redis knows better. After the hammer: an ended
    auction's `decisionDeadline`, a closed one's `closeReason`, a sale's `payment` (from its
    current `invoice`), the second-chance `offer` the caller may see, and the buyer's public
    `winner_name`."""
    status = auction.status
    end = auction.ends_at
    if live is not None:
        if live.ends_at is not None:
            end = max(end, live.ends_at)
        if live.status == AuctionStatus.SOLD and status != AuctionStatus.SOLD:
            status = AuctionStatus.SOLD.value  # bought now; PostgreSQL follows in a moment
        if live.highest is not None:
            highest = bid_view_from_redis(str(auction.id), live.highest)
    status = shown_status(status, auction.go_live_at, end, now)
    highest_amount = Decimal(highest["amount"]) if highest else None
    body: dict[str, Any] = {
        "id": str(auction.id),
        "sellerId": str(auction.seller_id),
        "itemName": auction.item_name,
        "description": auction.description,
        "startPrice": money_str(auction.start_price),
        "bidIncrement": money_str(auction.bid_increment),
        "goLiveAt": iso(auction.go_live_at),
        "durationMins": auction.duration_mins,
        "endsAt": iso(end),
        "status": status,
        "highestBid": highest_bid_view(highest) if highest else None,
        "minNextBid": money_str(
            min_next_bid(auction.start_price, auction.bid_increment, highest_amount)
        ),
        "bidCount": int(bid_count),
        "counterOffer": counter_view(counter) if counter else None,
        "serverTime": iso(now),
        "createdAt": iso(auction.created_at),
        "updatedAt": iso(auction.updated_at),
        "category": auction.category,
    }
    if status == AuctionStatus.CANCELLED:
        body["cancelReason"] = auction.cancel_reason
    if auction.buy_now_price is not None:
        body["buyNowPrice"] = money_str(auction.buy_now_price)
    if auction.soft_close_secs is not None:
        body["softCloseSecs"] = auction.soft_close_secs
    met = reserve_met(auction.reserve_price, highest_amount)
    if met is not None:
        body["reserveMet"] = met
        if viewer.user_id == str(auction.seller_id):  # never shown to anyone else
            body["reservePrice"] = money_str(auction.reserve_price)
    if status == AuctionStatus.SOLD and auction.winner_id is not None:
        body["winnerId"] = str(auction.winner_id)
        body["finalPrice"] = money_str(auction.final_price)
        if winner_name is not None:
            body["winnerName"] = winner_name  # public: "Asha K.", never an email
    if viewer.user_id and live is not None and live.my_max is not None:
        body["myMaxAmount"] = money_str(from_minor(live.my_max))
    if status == AuctionStatus.ENDED and auction.decision_deadline is not None:
        body["decisionDeadline"] = iso(auction.decision_deadline)
    if status == AuctionStatus.CLOSED_NO_WINNER and auction.closed_reason:
        body["closeReason"] = auction.closed_reason
    if status == AuctionStatus.SOLD and invoice is not None:
        body["payment"] = payment_view(invoice)
    if offer is not None:
        body["offer"] = offer_view(offer)
    shipping = shipping_view(auction)
    if shipping is not None:
        body["shipping"] = shipping
    if delivery is not None:
        body["delivery"] = delivery
    if dispute is not None:
        body["dispute"] = dispute
    return body
