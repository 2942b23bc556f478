"""What happens to an auction, in its own words: the domain events (plain facts, no I/O).

A use case changes the record, then records what happened as one of these; one table,
`shared.services.consequences.CONSEQUENCES`, says what each event causes (the room's and the
users' live events, notifications, email jobs, the Redis state and schedules), and they are
written into the same transaction. An event names the auction and round it happened to and
the facts that make it this happening (which bid, counter offer, offer or invoice; when);
what the people are told is read from the record in that same transaction.

`cause` is an event's identity: everything it causes derives its id from it (a notification's
id, an email job's), so running the same happening twice (a retried intake, two tickers, a
request racing a deadline) can never tell anyone twice.

(Not to be confused with `EventType`: the names of the live events a socket node sends.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.domain.times import to_ms


@dataclass(frozen=True)
class AuctionEvent:
    auction_id: str
    round: int

    @property
    def cause(self) -> str:
        """The happening's identity (each event that tells anyone names its own)."""
        raise NotImplementedError(type(self).__name__)


# -- the window ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuctionWentLive(AuctionEvent):
    """scheduled -> live, at goLiveAt (or when an admin starts it now)."""

    go_live_at: datetime

    @property
    def cause(self) -> str:
        return f"start:{self.auction_id}:{self.round}:{to_ms(self.go_live_at)}"


@dataclass(frozen=True)
class AuctionEndingSoon(AuctionEvent):
    """ENDING_SOON_SECS before the end, once per round."""

    ends_at: datetime  # the end as Redis knows it (a soft close may have moved it)

    @property
    def cause(self) -> str:
        return f"ending_soon:{self.auction_id}:{self.round}"


@dataclass(frozen=True)
class AuctionEndedWithoutBids(AuctionEvent):
    """The window closed with no bid: closed_no_winner (no_bids)."""

    @property
    def cause(self) -> str:
        return f"end:{self.auction_id}:{self.round}"


@dataclass(frozen=True)
class AuctionEnded(AuctionEvent):
    """The window closed with bids: the seller decides on the highest, by the deadline."""

    highest_bid_id: str

    @property
    def cause(self) -> str:
        return f"end:{self.auction_id}:{self.round}"


@dataclass(frozen=True)
class BidAccepted(AuctionEvent):
    """An accepted offer reached the record: its bids (a proxy's answer makes two)."""

    first_bid_id: str
    bid_id: str  # the last of them: the auction's price now
    amount: int  # of that bid, minor units
    seller_id: str
    outbid: tuple[str, ...]  # who lost the lead to it

    @property
    def cause(self) -> str:
        return f"bid:{self.first_bid_id}"


@dataclass(frozen=True)
class BidRetracted(AuctionEvent):
    """A bidder took bids back (their rows stay, marked); the highest was recomputed."""

    bidder_id: str
    bid_ids: tuple[str, ...]

    @property
    def cause(self) -> str:
        return f"retract:{self.bid_ids[0]}"


# -- a sale, however it came about ----------------------------------------------------------------


@dataclass(frozen=True)
class SaleCompleted(AuctionEvent):
    """Sold: the invoice is numbered and the payment's clock runs."""

    invoice_id: str


@dataclass(frozen=True)
class SellerAccepted(SaleCompleted):
    bid_id: str

    @property
    def cause(self) -> str:
        return f"decision:{self.auction_id}:{self.round}"


@dataclass(frozen=True)
class SoldByDefault(SaleCompleted):
    """The decision window ran out and DECISION_DEFAULT accepted the highest bid."""

    bid_id: str

    @property
    def cause(self) -> str:
        return f"decision_deadline:{self.auction_id}:{self.round}"


@dataclass(frozen=True)
class BoughtNow(SaleCompleted):
    """A bid at the buy-now price (the bid script already closed the window)."""

    bid_id: str

    @property
    def cause(self) -> str:
        return f"sale:{self.auction_id}:{self.round}"


@dataclass(frozen=True)
class CounterAccepted(SaleCompleted):
    counter_id: str

    @property
    def cause(self) -> str:
        return f"counter:{self.counter_id}:accept"


@dataclass(frozen=True)
class OfferAccepted(SaleCompleted):
    """A second-chance offer accepted by its bidder."""

    offer_id: str

    @property
    def cause(self) -> str:
        return f"offer:{self.offer_id}:accept"


# -- closed without a sale after the hammer (closed_no_winner, with its reason) -------------------


@dataclass(frozen=True)
class SellerRejected(AuctionEvent):
    bid_id: str
    decided_at: datetime

    @property
    def cause(self) -> str:
        return f"decision:{self.auction_id}:{self.round}"


@dataclass(frozen=True)
class RejectedByDefault(AuctionEvent):
    """The decision window ran out and DECISION_DEFAULT rejected the highest bid."""

    bid_id: str

    @property
    def cause(self) -> str:
        return f"decision_deadline:{self.auction_id}:{self.round}"


@dataclass(frozen=True)
class CounterRejected(AuctionEvent):
    counter_id: str

    @property
    def cause(self) -> str:
        return f"counter:{self.counter_id}:reject"


@dataclass(frozen=True)
class CounterExpired(AuctionEvent):
    counter_id: str

    @property
    def cause(self) -> str:
        return f"counter:{self.counter_id}:expired"


@dataclass(frozen=True)
class OfferRejected(AuctionEvent):
    offer_id: str

    @property
    def cause(self) -> str:
        return f"offer:{self.offer_id}:reject"


@dataclass(frozen=True)
class OfferExpired(AuctionEvent):
    offer_id: str

    @property
    def cause(self) -> str:
        return f"offer:{self.offer_id}:expired"


@dataclass(frozen=True)
class SaleVoided(AuctionEvent):
    """The seller reported the payment missing after its due date: the sale is void."""

    invoice_id: str

    @property
    def cause(self) -> str:
        return f"payment:{self.invoice_id}:report_unpaid"


# -- on the way to an outcome ---------------------------------------------------------------------


@dataclass(frozen=True)
class SellerReminded(AuctionEvent):
    """Half-way through the decision window, once."""

    bid_id: str  # the highest, still undecided

    @property
    def cause(self) -> str:
        return f"decision_reminder:{self.auction_id}:{self.round}"


@dataclass(frozen=True)
class CounterOffered(AuctionEvent):
    counter_id: str
    bid_id: str  # the highest bid it answers

    @property
    def cause(self) -> str:
        return f"counter:{self.counter_id}"


@dataclass(frozen=True)
class OfferMade(AuctionEvent):
    """A second-chance offer to another bidder, at their own highest bid."""

    offer_id: str

    @property
    def cause(self) -> str:
        return f"offer:{self.offer_id}"


@dataclass(frozen=True)
class PaymentMarked(AuctionEvent):
    """The buyer says they paid."""

    invoice_id: str

    @property
    def cause(self) -> str:
        return f"payment:{self.invoice_id}:mark_paid"


@dataclass(frozen=True)
class PaymentConfirmed(AuctionEvent):
    """The seller confirms the payment."""

    invoice_id: str

    @property
    def cause(self) -> str:
        return f"payment:{self.invoice_id}:confirm"


@dataclass(frozen=True)
class PaymentFellDue(AuctionEvent):
    """dueAt came for a payment not confirmed (the seller may now report it unpaid)."""

    invoice_id: str

    @property
    def cause(self) -> str:
        return f"payment:{self.invoice_id}:due"


@dataclass(frozen=True)
class InvoiceIssued(AuctionEvent):
    """A GST tax invoice made out after the sale, once its place of supply was known (the
    buyer's payment with the delivery address, or the seller's confirmation)."""

    invoice_id: str

    @property
    def cause(self) -> str:
        return f"invoice:{self.invoice_id}:issued"


# -- the way to the buyer --------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemShipped(AuctionEvent):
    """The seller recorded the shipment (carrier, tracking number)."""

    invoice_id: str

    @property
    def cause(self) -> str:
        return f"shipment:{self.invoice_id}:sent"


@dataclass(frozen=True)
class ItemReceived(AuctionEvent):
    """The buyer has the item."""

    invoice_id: str

    @property
    def cause(self) -> str:
        return f"shipment:{self.invoice_id}:received"


@dataclass(frozen=True)
class ShipmentOverdue(AuctionEvent):
    """SHIP_WINDOW_SECS passed after the payment without a shipment (once)."""

    invoice_id: str

    @property
    def cause(self) -> str:
        return f"shipment:{self.invoice_id}:overdue"


# -- disputes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DisputeOpened(AuctionEvent):
    dispute_id: str

    @property
    def cause(self) -> str:
        return f"dispute:{self.dispute_id}:opened"


@dataclass(frozen=True)
class DisputeReplied(AuctionEvent):
    dispute_id: str
    reply_id: str

    @property
    def cause(self) -> str:
        return f"dispute:{self.dispute_id}:reply:{self.reply_id}"


@dataclass(frozen=True)
class DisputeResolved(AuctionEvent):
    dispute_id: str

    @property
    def cause(self) -> str:
        return f"dispute:{self.dispute_id}:resolved"


@dataclass(frozen=True)
class DisputeReleased(DisputeResolved):
    """Resolved for the seller: the sale stands."""


@dataclass(frozen=True)
class DisputeRefunded(DisputeResolved):
    """Resolved for the buyer: the sale is void, its invoice cancelled by a credit note."""

    invoice_id: str


# -- the seller's and the admin's changes ----------------------------------------------------------


@dataclass(frozen=True)
class AuctionEdited(AuctionEvent):
    """Its seller changed a scheduled auction's rules or window."""


@dataclass(frozen=True)
class AuctionCancelled(AuctionEvent):
    """Called off before a sale; `round` is the one voided (its bids stay in the record)."""

    reason: str
    at: datetime
    by: str | None  # who called it off
    by_admin: bool

    @property
    def cause(self) -> str:
        return f"cancel:{self.auction_id}:{self.round}"


@dataclass(frozen=True)
class AuctionReset(AuctionEvent):
    """An admin put it back to scheduled; `round` is the new one."""


# -- people -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserSuspended:
    user_id: str


@dataclass(frozen=True)
class UserReinstated:
    user_id: str


@dataclass(frozen=True)
class BidderBlocked:
    """A seller blocked a bidder from their auctions."""

    seller_id: str
    bidder_id: str


@dataclass(frozen=True)
class BidderUnblocked:
    seller_id: str
    bidder_id: str


Event = AuctionEvent | UserSuspended | UserReinstated | BidderBlocked | BidderUnblocked
