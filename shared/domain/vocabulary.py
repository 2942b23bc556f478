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


# An auction whose window the record has not closed yet (a scheduled one opens by the clock):
# bids may come, and the end transition is still ahead. Said once; the bid script mirrors it.
OPEN_STATUSES = (AuctionStatus.SCHEDULED, AuctionStatus.LIVE)


class Role(StrEnum):
    BUYER = "buyer"
    SELLER = "seller"
    ADMIN = "admin"


class CounterStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    EXPIRED = "expired"  # unanswered by its expiresAt


class OfferStatus(StrEnum):
    """A second-chance offer."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    EXPIRED = "expired"


class PaymentStatus(StrEnum):
    """A sale's payment: the buyer marks it paid, the seller confirms it, or
    after the due date reports it unpaid (the sale is then void)."""

    PENDING = "pending"
    PAID = "paid"
    CONFIRMED = "confirmed"
    UNPAID = "unpaid"
    REFUNDED = "refunded"  # a dispute settled for the buyer: the sale is void (a credit note)


class CloseReason(StrEnum):
    """Why an auction is `closed_no_winner` (its `closeReason`)."""

    NO_BIDS = "no_bids"
    REJECTED = "rejected"
    COUNTER_REJECTED = "counter_rejected"
    DECISION_EXPIRED = "decision_expired"
    COUNTER_EXPIRED = "counter_expired"
    UNPAID = "unpaid"
    OFFER_DECLINED = "offer_declined"
    REFUNDED = "refunded"  # a dispute settled for the buyer voided the sale


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
    # after the hammer, complete
    DECISION_REMINDER = "decision_reminder"
    DECISION_EXPIRED = "decision_expired"
    COUNTER_EXPIRED = "counter_expired"
    OFFER_RECEIVED = "offer_received"
    OFFER_ACCEPTED = "offer_accepted"
    OFFER_REJECTED = "offer_rejected"
    OFFER_EXPIRED = "offer_expired"
    PAYMENT_MARKED = "payment_marked"
    PAYMENT_CONFIRMED = "payment_confirmed"
    PAYMENT_DUE = "payment_due"  # an addition to the after-sale list: both parties, at dueAt
    SALE_VOID = "sale_void"
    # the marketplace
    ENDING_SOON = "ending_soon"
    AUCTION_CANCELLED = "auction_cancelled"
    # the open marketplace: shipping and disputes
    SHIPPED = "shipped"  # the buyer: the seller sent the item (carrier, tracking number)
    RECEIVED = "received"  # the seller: the buyer has the item
    SHIPMENT_OVERDUE = "shipment_overdue"  # both: SHIP_WINDOW_SECS passed without a shipment
    DISPUTE_OPENED = "dispute_opened"  # both
    DISPUTE_REPLIED = "dispute_replied"  # both
    DISPUTE_RESOLVED = "dispute_resolved"  # both (refund: the sale is void)


class EventType(StrEnum):
    """WebSocket event names."""

    # room events: everyone watching the auction
    BID_PLACED = "bid:placed"
    BID_RETRACTED = "bid:retracted"  # a bidder took bids back; the highest recomputed
    AUCTION_STARTED = "auction:started"
    AUCTION_ENDED = "auction:ended"
    AUCTION_SOLD = "auction:sold"  # everyone sees how it ended
    AUCTION_CLOSED = "auction:closed"
    AUCTION_CANCELLED = "auction:cancelled"
    # user events: every connection of one user
    BID_OUTBID = "bid:outbid"
    SELLER_DECISION_REQUIRED = "seller:decision_required"
    SELLER_ACCEPTED = "seller:accepted"
    SELLER_REJECTED = "seller:rejected"
    COUNTER_OFFER = "counter:offer"
    COUNTER_ACCEPTED = "counter:accepted"
    COUNTER_REJECTED = "counter:rejected"
    COUNTER_EXPIRED = "counter:expired"  # buyer and seller
    OFFER_RECEIVED = "offer:received"  # the bidder
    OFFER_ACCEPTED = "offer:accepted"  # bidder and seller
    OFFER_REJECTED = "offer:rejected"
    OFFER_EXPIRED = "offer:expired"
    PAYMENT_MARKED = "payment:marked"  # buyer and seller
    PAYMENT_CONFIRMED = "payment:confirmed"
    PAYMENT_DUE = "payment:due"
    SALE_VOID = "sale:void"
    SHIPMENT_SENT = "shipment:sent"  # buyer and seller
    SHIPMENT_RECEIVED = "shipment:received"
    SHIPMENT_OVERDUE = "shipment:overdue"
    DISPUTE_OPENED = "dispute:opened"  # buyer and seller
    DISPUTE_REPLIED = "dispute:replied"
    DISPUTE_RESOLVED = "dispute:resolved"
    NOTIFICATION = "notification"


ROOM_EVENTS = frozenset(
    {
        EventType.BID_PLACED,
        EventType.BID_RETRACTED,
        EventType.AUCTION_STARTED,
        EventType.AUCTION_ENDED,
        EventType.AUCTION_SOLD,
        EventType.AUCTION_CLOSED,
        EventType.AUCTION_CANCELLED,
    }
)

AUCTION_STATUSES: tuple[str, ...] = tuple(s.value for s in AuctionStatus)
ROLES: tuple[str, ...] = tuple(r.value for r in Role)
COUNTER_STATUSES: tuple[str, ...] = tuple(s.value for s in CounterStatus)
OFFER_STATUSES: tuple[str, ...] = tuple(s.value for s in OfferStatus)
PAYMENT_STATUSES: tuple[str, ...] = tuple(s.value for s in PaymentStatus)
CLOSE_REASONS: tuple[str, ...] = tuple(r.value for r in CloseReason)
NOTIFICATION_TYPES: tuple[str, ...] = tuple(t.value for t in NotificationType)
FINAL_STATUSES = frozenset(
    {AuctionStatus.SOLD, AuctionStatus.CLOSED_NO_WINNER, AuctionStatus.CANCELLED}
)


class ShippingMethod(StrEnum):
    """How the item reaches its buyer, chosen when the auction is listed."""

    SHIP = "ship"  # the seller sends it; the buyer gives a delivery address at payment
    PICKUP = "pickup"  # the buyer collects it from the seller (in `pickupCity`)


class DisputeReason(StrEnum):
    NOT_RECEIVED = "not_received"
    NOT_AS_DESCRIBED = "not_as_described"


class DisputeStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class DisputeOutcome(StrEnum):
    REFUND = "refund"  # the sale is void and credited (a credit note); the buyer is refunded
    RELEASE = "release"  # the sale stands


SHIPPING_METHODS: tuple[str, ...] = tuple(m.value for m in ShippingMethod)
DISPUTE_REASONS: tuple[str, ...] = tuple(r.value for r in DisputeReason)
DISPUTE_STATUSES: tuple[str, ...] = tuple(s.value for s in DisputeStatus)
DISPUTE_OUTCOMES: tuple[str, ...] = tuple(o.value for o in DisputeOutcome)


class SortOrder(StrEnum):
    """How `GET /api/auctions` orders its list."""

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
