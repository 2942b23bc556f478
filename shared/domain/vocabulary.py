"""The auction's own words, each defined once: statuses, roles, event and notification names."""

from __future__ import annotations

from enum import StrEnum


class AuctionStatus(StrEnum):
    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"  # ended with bids, waiting for the seller's decision
    CLOSED_NO_WINNER = "closed_no_winner"
    SOLD = "sold"
    CANCELLED = "cancelled"  # called off by its seller (or an admin) before a sale; final


class Role(StrEnum):
    BUYER = "buyer"
    SELLER = "seller"
    ADMIN = "admin"


class CounterStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class NotificationType(StrEnum):
    NEW_BID = "new_bid"
    OUTBID = "outbid"
    AUCTION_STARTED = "auction_started"
    AUCTION_ENDED = "auction_ended"
    DECISION_REQUIRED = "decision_required"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    COUNTER_OFFER = "counter_offer"
    COUNTER_ACCEPTED = "counter_accepted"
    COUNTER_REJECTED = "counter_rejected"
    # CONTRACT section 10 (the marketplace)
    ENDING_SOON = "ending_soon"
    AUCTION_CANCELLED = "auction_cancelled"


class EventType(StrEnum):
    """WebSocket event names (CONTRACT section 5)."""

    # room events: everyone watching the auction
    BID_PLACED = "bid:placed"
    AUCTION_STARTED = "auction:started"
    AUCTION_ENDED = "auction:ended"
    AUCTION_CANCELLED = "auction:cancelled"
    # user events: every connection of one user
    BID_OUTBID = "bid:outbid"
    SELLER_DECISION_REQUIRED = "seller:decision_required"
    SELLER_ACCEPTED = "seller:accepted"
    SELLER_REJECTED = "seller:rejected"
    COUNTER_OFFER = "counter:offer"
    COUNTER_ACCEPTED = "counter:accepted"
    COUNTER_REJECTED = "counter:rejected"
    NOTIFICATION = "notification"


ROOM_EVENTS = frozenset(
    {
        EventType.BID_PLACED,
        EventType.AUCTION_STARTED,
        EventType.AUCTION_ENDED,
        EventType.AUCTION_CANCELLED,
    }
)

AUCTION_STATUSES: tuple[str, ...] = tuple(s.value for s in AuctionStatus)
ROLES: tuple[str, ...] = tuple(r.value for r in Role)
COUNTER_STATUSES: tuple[str, ...] = tuple(s.value for s in CounterStatus)
NOTIFICATION_TYPES: tuple[str, ...] = tuple(t.value for t in NotificationType)
FINAL_STATUSES = frozenset(
    {AuctionStatus.SOLD, AuctionStatus.CLOSED_NO_WINNER, AuctionStatus.CANCELLED}
)


class SortOrder(StrEnum):
    """How `GET /api/auctions` orders its list (CONTRACT section 10)."""

    ENDING_SOON = "ending_soon"
    NEWEST = "newest"
    PRICE_ASC = "price_asc"
    PRICE_DESC = "price_desc"
    MOST_BIDS = "most_bids"


class BidState(StrEnum):
    """Where the caller stands on an auction they bid on (`GET /api/me/bids`)."""

    LEADING = "leading"
    OUTBID = "outbid"
    WON = "won"
    LOST = "lost"
