"""The bid route's models: a bid as asked for, and as placed (with the ledger's receipt).
Kept apart from the rest so a cold function answering a bid builds only these (see
`chalicelib.schemas`)."""

from __future__ import annotations

from pydantic import (
    MISSING,
    Field,
    model_validator,
)

from shared.domain.errors import invalid

from .base import Body, Moment, Money, MoneyText, Out


class PlaceBid(Body):
    """Exactly one of `amount` (a plain bid) or `maxAmount` (a proxy bid's maximum)."""

    amount: Money | None = None
    maxAmount: Money | None = None

    @model_validator(mode="after")
    def _one_of(self) -> PlaceBid:
        # Raised as the problem itself (not a ValueError) so the error names the field.
        if (self.amount is None) == (self.maxAmount is None):
            raise invalid("amount", "give exactly one of amount or maxAmount")
        return self


class BidSummary(Out):
    id: str
    bidderId: str
    amount: MoneyText
    createdAt: Moment


class BidOut(BidSummary):
    auctionId: str
    bidderName: str = Field(description='The bidder\'s public name, e.g. "Asha K.".')
    retractedAt: Moment | MISSING | None = Field(
        MISSING,
        description="When its bidder retracted it (in the bid history; a retracted bid no "
        "longer competes); null while it stands.",
    )


class BidPlaced(BidOut):
    maxAmount: MoneyText | MISSING = Field(MISSING, description="The maximum, for a proxy bid.")
    minNextBid: MoneyText
    endsAt: Moment
    arrivedAt: Moment = Field(
        description="When the bid arrived (the gateway's stamp): the moment it was judged at. "
        "A bid that arrived before `endsAt` is judged on the rules even when it reaches the "
        "bid store up to LATE_BID_GRACE_MS after the end."
    )
    receipt: BidReceipt | None = Field(
        None,
        description="The public ledger's receipt of this bid; null when the offer placed no "
        "bid (a leader raising their own maximum).",
    )


class BidReceipt(Out):
    index: int = Field(description="The bid's entry's index in the auction's log.")
    leafHash: str = Field(description="Base64 SHA-256 leaf hash of the entry (RFC 9162).")
    signature: str = Field(
        description="Base64 Ed25519 signature, by the key of GET /api/ledger/key, over "
        "`{auctionId}|{index}|{leafHash}`: the promise that the entry is in the log at that "
        "index within LEDGER_MMD_MS (a signed checkpoint covers it by then)."
    )
