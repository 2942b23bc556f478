"""The WebSocket protocol as models: every message a client may send and every message the node
sends, each event's `data` included. The AsyncAPI document (`socket_node/asyncapi.py`, served
at `/asyncapi.json`) is generated from these models, the web app's socket types are generated
from that document (`make types`), and the tests hold every frame a test client receives to
it. The producers stay where they are (the bid script writes `bid:placed` and `bid:outbid`,
`shared/services/consequences.py` the rest); these models say what they must write.

Money is a decimal string with two digits ("1250.00"), times are ISO 8601 UTC with
milliseconds, ids are opaque strings, eventIds are Redis stream ids ("1733580000000-0").
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.vocabulary import (
    AuctionStatus,
    CloseReason,
    CounterStatus,
    DisputeOutcome,
    DisputeReason,
    DisputeStatus,
    EventType,
    OfferStatus,
    PaymentStatus,
)

Money = Annotated[str, Field(pattern=r"^-?\d+\.\d{2}$", examples=["1250.00"])]
Moment = Annotated[str, Field(description="ISO 8601, UTC", examples=["2026-12-07T09:30:00.000Z"])]
EventId = Annotated[str, Field(pattern=r"^\d+-\d+$", examples=["1733580000000-0"])]


class Message(BaseModel):
    """Members are exactly these: an undeclared one is a change to the protocol."""

    model_config = ConfigDict(extra="forbid")


# -- what a client sends -------------------------------------------------------------------------


class JoinMessage(Message):
    """Join a room: the snapshot comes first, then (with `lastEventId`) every room event after
    it, in order, then the live events."""

    type: Literal["join"]
    auctionId: str
    lastEventId: EventId | int | None = None


class LeaveMessage(Message):
    type: Literal["leave"]
    auctionId: str


class PingMessage(Message):
    """Answered `pong` with the server's clock."""

    type: Literal["ping"]


class AuthMessage(Message):
    """A new identity for this connection, without reconnecting (a refreshed token)."""

    type: Literal["auth"]
    token: str


# -- what the node sends besides events -----------------------------------------------------------


class SnapshotBid(Message):
    id: str
    bidderId: str
    amount: Money
    createdAt: Moment


class SnapshotMessage(Message):
    """The room as it is now, first thing after a join."""

    type: Literal["snapshot"]
    auctionId: str
    status: AuctionStatus
    highestBid: SnapshotBid | None
    minNextBid: Money
    goLiveAt: Moment
    endsAt: Moment
    serverTime: Moment
    lastEventId: EventId | None
    replayGap: bool = Field(
        description="The `lastEventId` asked for is older than the replay reaches (or the "
        "connection's replay budget is spent): refetch over REST."
    )
    reserveMet: bool | None = Field(None, description="Only on an auction with a reserve.")


class PongMessage(Message):
    type: Literal["pong"]
    serverTime: Moment


class AuthedMessage(Message):
    """The answer to a good `auth`: the connection is this user's until `expiresAt`, when it is
    closed (4401) unless another `auth` came."""

    type: Literal["authed"]
    userId: str
    expiresAt: Moment


class ErrorMessage(Message):
    """Bad input, a refused token, a limit: the connection stays usable (a flood past the limit
    is closed with 1008)."""

    type: Literal["error"]
    code: str = Field(
        examples=["invalid_json", "unknown_type", "not_found", "rate_limited", "unauthenticated"]
    )
    detail: str
    auctionId: str | None = None


# -- the events' data -----------------------------------------------------------------------------


class PlacedBid(Message):
    id: str
    auctionId: str
    bidderId: str
    amount: Money
    createdAt: Moment = Field(description="When the bid script accepted it.")
    bidderName: str | None = Field(None, description='The bidder\'s public name, "Asha K.".')
    arrivedAt: Moment | None = Field(
        None, description="When the bid arrived (the moment it was judged at)."
    )


class HighestBid(Message):
    id: str
    bidderId: str
    amount: Money
    createdAt: Moment


class BidPlacedData(Message):
    bid: PlacedBid
    minNextBid: Money
    endsAt: Moment = Field(description="The end after this bid (a soft close moves it).")
    arrivedAt: Moment = Field(description="When the bid arrived: the moment it was judged at.")
    reserveMet: bool | None = Field(None, description="Only on an auction with a reserve.")


class BidRetractedData(Message):
    bidIds: list[str] = Field(description="The bids retracted, in the order they were placed.")
    bidderId: str
    highestBid: PlacedBid | None = Field(description="The highest standing bid now, if any.")
    minNextBid: Money
    endsAt: Moment = Field(description="The end (a retraction never moves it).")
    retractedAt: Moment
    reserveMet: bool | None = Field(None, description="Only on an auction with a reserve.")


class BidOutbidData(Message):
    bid: PlacedBid = Field(description="The bid that now leads.")
    minNextBid: Money


class AuctionStartedData(Message):
    status: Literal["live"]
    goLiveAt: Moment
    endsAt: Moment


class AuctionEndedData(Message):
    status: AuctionStatus
    reason: Literal["time", "no_bids", "buy_now"]
    highestBid: HighestBid | None
    reserveMet: bool | None = None
    endsAt: Moment


class AuctionSoldData(Message):
    status: Literal["sold"]
    finalPrice: Money
    winnerName: str


class AuctionClosedData(Message):
    status: Literal["closed_no_winner"]
    closeReason: CloseReason


class AuctionCancelledData(Message):
    status: Literal["cancelled"]
    cancelReason: str
    cancelledAt: Moment
    byAdmin: bool


class Payment(Message):
    status: PaymentStatus
    dueAt: Moment
    totalDue: Money | None = Field(
        None, description="What the invoice asks of the buyer, once it is issued."
    )


class DecisionRequiredData(Message):
    auctionId: str
    itemName: str
    highestBid: HighestBid
    reserveMet: bool | None
    decisionDeadline: Moment


class SaleData(Message):
    """The buyer and the seller, of a sale however it came about."""

    auctionId: str
    itemName: str
    status: Literal["sold"]
    amount: Money
    buyerId: str
    sellerId: str
    invoiceNumber: int
    payment: Payment


class RejectedData(Message):
    auctionId: str
    itemName: str
    status: AuctionStatus
    amount: Money
    bidId: str
    bidderId: str
    sellerId: str
    closeReason: CloseReason | None


class CounterOffer(Message):
    id: str
    amount: Money
    status: CounterStatus
    expiresAt: Moment


class CounterOfferData(Message):
    auctionId: str
    itemName: str
    counterOffer: CounterOffer
    counterId: str
    amount: Money
    highestBid: Money
    buyerId: str
    sellerId: str


class CounterOutcomeData(Message):
    auctionId: str
    itemName: str
    status: AuctionStatus
    closeReason: CloseReason | None = None
    counterOffer: CounterOffer
    counterId: str
    amount: Money
    buyerId: str
    sellerId: str


class OfferData(Message):
    """A second-chance offer."""

    id: str
    auctionId: str
    bidderId: str
    amount: Money
    status: OfferStatus
    expiresAt: Moment
    offerId: str
    itemName: str


class PaymentData(Message):
    auctionId: str
    itemName: str
    amount: Money
    invoiceNumber: int
    buyerId: str
    sellerId: str
    payment: Payment


class Address(Message):
    line1: str
    line2: str | None
    city: str
    state: str
    stateCode: str
    postalCode: str
    country: str


class Delivery(Message):
    """A sale's way to its buyer, as the auction shows it to its parties."""

    address: Address | None
    shipBy: Moment | None = None
    shippedAt: Moment | None = None
    carrier: str | None = None
    trackingNumber: str | None = None
    receivedAt: Moment | None = None


class ShipmentData(Message):
    auctionId: str
    itemName: str
    invoiceNumber: int
    buyerId: str
    sellerId: str
    delivery: Delivery


class DisputeData(Message):
    auctionId: str
    itemName: str
    disputeId: str
    reason: DisputeReason
    status: DisputeStatus
    buyerId: str
    sellerId: str
    outcome: DisputeOutcome | None = Field(None, description="Once resolved.")


class NotificationData(Message):
    """The notification as `GET /api/notifications` lists it."""

    id: str
    type: str
    payload: dict[str, Any]
    readAt: Moment | None
    createdAt: Moment


# Each event type's data, and whether it goes to a room (replayable) or to one user.
ROOM = "room"
USER = "user"
EVENTS: dict[EventType, tuple[str, type[Message], str]] = {
    EventType.BID_PLACED: (ROOM, BidPlacedData, "A bid was placed (one per visible bid)."),
    EventType.BID_RETRACTED: (
        ROOM,
        BidRetractedData,
        "A bidder retracted bids: they no longer compete, the highest is recomputed.",
    ),
    EventType.AUCTION_STARTED: (ROOM, AuctionStartedData, "The auction went live."),
    EventType.AUCTION_ENDED: (
        ROOM,
        AuctionEndedData,
        "The clock ran out (and the grace for bids that arrived in time), or buy-now sold it.",
    ),
    EventType.AUCTION_SOLD: (
        ROOM,
        AuctionSoldData,
        "It sold: to whom (public name), for how much.",
    ),
    EventType.AUCTION_CLOSED: (ROOM, AuctionClosedData, "It closed without a winner, and why."),
    EventType.AUCTION_CANCELLED: (
        ROOM,
        AuctionCancelledData,
        "Its seller or an admin called it off.",
    ),
    EventType.BID_OUTBID: (USER, BidOutbidData, "To the bidder who lost the lead."),
    EventType.SELLER_DECISION_REQUIRED: (
        USER,
        DecisionRequiredData,
        "To the seller: accept, reject or counter by the deadline.",
    ),
    EventType.SELLER_ACCEPTED: (USER, SaleData, "To the buyer and the seller."),
    EventType.SELLER_REJECTED: (USER, RejectedData, "To the highest bidder and the seller."),
    EventType.COUNTER_OFFER: (USER, CounterOfferData, "To the highest bidder."),
    EventType.COUNTER_ACCEPTED: (USER, SaleData, "To the buyer and the seller."),
    EventType.COUNTER_REJECTED: (USER, CounterOutcomeData, "To the buyer and the seller."),
    EventType.COUNTER_EXPIRED: (USER, CounterOutcomeData, "To the buyer and the seller."),
    EventType.OFFER_RECEIVED: (USER, OfferData, "A second-chance offer, to its bidder."),
    EventType.OFFER_ACCEPTED: (USER, SaleData, "To the buyer and the seller."),
    EventType.OFFER_REJECTED: (USER, OfferData, "To the bidder and the seller."),
    EventType.OFFER_EXPIRED: (USER, OfferData, "To the bidder and the seller."),
    EventType.PAYMENT_MARKED: (USER, PaymentData, "The buyer marked it paid (both parties)."),
    EventType.PAYMENT_CONFIRMED: (USER, PaymentData, "The seller confirmed it (both parties)."),
    EventType.PAYMENT_DUE: (USER, PaymentData, "The payment fell due (both parties)."),
    EventType.SALE_VOID: (USER, PaymentData, "The sale was voided (both parties)."),
    EventType.SHIPMENT_SENT: (USER, ShipmentData, "The seller shipped it (both parties)."),
    EventType.SHIPMENT_RECEIVED: (USER, ShipmentData, "The buyer received it (both parties)."),
    EventType.SHIPMENT_OVERDUE: (
        USER,
        ShipmentData,
        "The shipping window passed without a shipment (both parties).",
    ),
    EventType.DISPUTE_OPENED: (USER, DisputeData, "The buyer opened a dispute (both parties)."),
    EventType.DISPUTE_REPLIED: (USER, DisputeData, "The seller replied (both parties)."),
    EventType.DISPUTE_RESOLVED: (
        USER,
        DisputeData,
        "An admin resolved it: refund (the sale is void) or release (both parties).",
    ),
    EventType.NOTIFICATION: (USER, NotificationData, "Every notification, as it is created."),
}

CLIENT_MESSAGES: tuple[type[Message], ...] = (JoinMessage, LeaveMessage, PingMessage, AuthMessage)
SERVER_MESSAGES: tuple[type[Message], ...] = (
    SnapshotMessage,
    PongMessage,
    AuthedMessage,
    ErrorMessage,
)
