"""Second-chance offers, as pure rules.

When a sale falls through (the seller rejected, a counter offer was refused or expired, the
seller never decided, the buyer never paid, an earlier offer was declined), the auction is
`closed_no_winner`. If it had bids, its seller may offer the item to another bidder at that
bidder's own highest bid. One offer is pending at a time; the bidder accepts (a sale, like any
other) or rejects, or lets it expire; then the seller may offer to the next one.

"Another bidder" means: not the highest bidder, whose chance the hammer already gave; not a
buyer whose sale was voided; not a bidder who already had an offer on this auction. Each
bidder gets one second chance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from shared.domain.errors import DomainError, invalid
from shared.domain.vocabulary import AuctionStatus, OfferStatus


class OfferAnswer(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"


@dataclass(frozen=True)
class OfferRequest:
    """What the rules need to know about an auction the seller wants to offer again."""

    status: str  # the auction's status
    seller_id: str
    had_bids: bool  # in the current round
    offer_pending: bool
    target_highest: Decimal | None  # the target's own highest bid this round; None: never bid
    target_excluded: str | None  # why the target is not "another bidder", if they are not


@dataclass(frozen=True)
class PendingOffer:
    """What the rules need to know about an offer its bidder answers."""

    status: str  # the offer's
    bidder_id: str
    auction_status: str
    current_round: bool  # False after an admin reset
    expires_at: datetime


def judge_offer(request: OfferRequest, actor_id: str) -> Decimal:
    """May `actor_id` make this offer now? Returns its amount (the target's highest bid);
    raises the contract's refusal otherwise."""
    if actor_id != request.seller_id:
        raise DomainError("forbidden", "Only the auction's seller makes second-chance offers")
    if request.status != AuctionStatus.CLOSED_NO_WINNER or not request.had_bids:
        raise DomainError(
            "offer_not_allowed",
            "A second-chance offer needs an auction that closed without a winner after bids",
            auctionStatus=request.status,
        )
    if request.offer_pending:
        raise DomainError("offer_pending", "Another second-chance offer is pending")
    if request.target_highest is None:
        raise invalid("bidderId", "never bid on this auction")
    if request.target_excluded is not None:
        raise DomainError("offer_not_allowed", request.target_excluded)
    return request.target_highest


def judge_offer_answer(
    offer: PendingOffer, actor_id: str, answer: OfferAnswer, now: datetime
) -> OfferStatus:
    """May `actor_id` answer now? Returns the offer's new status."""
    if actor_id != offer.bidder_id:
        raise DomainError("forbidden", "Only the bidder the offer went to answers it")
    expired = offer.expires_at <= now
    if (
        offer.status != OfferStatus.PENDING
        or expired
        or offer.auction_status != AuctionStatus.CLOSED_NO_WINNER
        or not offer.current_round
    ):
        shown = OfferStatus.EXPIRED.value if expired else offer.status
        raise DomainError(
            "offer_not_pending",
            f"The offer is {shown}"
            if shown != OfferStatus.PENDING
            else "The offer no longer stands",
            offerStatus=shown,
        )
    return OfferStatus.ACCEPTED if answer == OfferAnswer.ACCEPT else OfferStatus.REJECTED
