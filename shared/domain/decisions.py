"""After the hammer: the seller's decision and the counter-offer, as pure rules.

An auction that ended with bids waits in `ended` for its seller. The seller decides once:
accept (sold at the highest bid), reject (closed with no winner), or counter with an amount
above the highest bid. A counter goes to the highest bidder, who answers once: accept (sold at
the counter amount) or reject (closed with no winner).

These functions only judge; the service applies the verdict under the auction's row lock, so
of two racing requests the second is judged against what the first left behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from shared.domain.errors import DomainError, invalid
from shared.domain.money import money_str
from shared.domain.vocabulary import OPEN_STATUSES, AuctionStatus, CounterStatus


class SellerAction(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"
    COUNTER = "counter"


class BuyerAnswer(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"


@dataclass(frozen=True)
class AwaitingDecision:
    """What the rules need to know about an auction the seller may decide on."""

    status: str
    seller_id: str
    highest_bidder_id: str | None
    highest_amount: Decimal | None
    has_counter: bool  # a counter offer already exists in this round: the decision was made
    window_closed: bool = False  # decisionDeadline has passed: DECISION_DEFAULT decides


@dataclass(frozen=True)
class PendingCounter:
    """What the rules need to know about a counter offer the buyer answers."""

    status: str  # the counter's status
    buyer_id: str
    amount: Decimal
    auction_status: str
    current_round: bool  # False after an admin reset: the offer belongs to a void round
    expired: bool = False  # its expiresAt has passed (the ticker may not have marked it yet)


@dataclass(frozen=True)
class Verdict:
    """The outcome of an allowed decision or answer."""

    status: AuctionStatus  # the auction's status afterwards
    bidder_id: str  # the highest bidder: the buyer, the one rejected, or the one countered
    price: Decimal | None = None  # the sale price when the outcome is a sale
    counter_amount: Decimal | None = None  # the new counter offer's amount


def judge_decision(
    auction: AwaitingDecision, actor_id: str, action: SellerAction, amount: Decimal | None
) -> Verdict:
    """May `actor_id` take `action` now, and what follows? Raises the contract's refusal."""
    if actor_id != auction.seller_id:
        raise DomainError("forbidden", "Only the auction's seller decides on it")
    if auction.status == AuctionStatus.ENDED and not auction.has_counter and auction.window_closed:
        raise DomainError(
            "decision_not_allowed",
            "The decision window has closed: the default decision applies",
            auctionStatus=auction.status,
        )
    if auction.status != AuctionStatus.ENDED or auction.has_counter:
        raise DomainError(
            "decision_not_allowed",
            _why_no_decision(auction),
            auctionStatus=auction.status,  # `status` is the problem's HTTP status
        )
    if auction.highest_bidder_id is None or auction.highest_amount is None:
        # `ended` means ended with bids; without one there is nothing to decide on.
        raise DomainError("decision_not_allowed", "The auction has no highest bid")
    bidder, highest = auction.highest_bidder_id, auction.highest_amount
    if action == SellerAction.ACCEPT:
        if amount is not None:
            raise invalid("amount", "goes only with action counter")
        return Verdict(AuctionStatus.SOLD, bidder, price=highest)
    if action == SellerAction.REJECT:
        if amount is not None:
            raise invalid("amount", "goes only with action counter")
        return Verdict(AuctionStatus.CLOSED_NO_WINNER, bidder)
    if amount is None:
        raise invalid("amount", "a counter offer needs an amount")
    if amount <= highest:
        raise DomainError(
            "counter_too_low",
            f"The counter offer must exceed the highest bid of {money_str(highest)}",
            highestBid=money_str(highest),
        )
    return Verdict(AuctionStatus.ENDED, bidder, counter_amount=amount)


def _why_no_decision(auction: AwaitingDecision) -> str:
    if auction.has_counter and auction.status == AuctionStatus.ENDED:
        return "The seller already made a counter offer on this auction"
    if auction.status in OPEN_STATUSES:
        return "The auction has not ended yet"
    if auction.status == AuctionStatus.SOLD:
        return "The auction is already sold"
    return "The auction is closed"


def judge_answer(counter: PendingCounter, actor_id: str, answer: BuyerAnswer) -> Verdict:
    """May `actor_id` answer the counter offer now, and what follows?"""
    if actor_id != counter.buyer_id:
        raise DomainError("forbidden", "Only the buyer the counter offer went to answers it")
    if (
        counter.status != CounterStatus.PENDING
        or counter.auction_status != AuctionStatus.ENDED
        or not counter.current_round
        or counter.expired
    ):
        raise DomainError(
            "counter_not_pending",
            f"The counter offer is {counter.status}"
            if counter.status != CounterStatus.PENDING
            else "The counter offer has expired"
            if counter.expired
            else "The counter offer no longer stands",
            counterStatus=CounterStatus.EXPIRED.value if counter.expired else counter.status,
        )
    if answer == BuyerAnswer.ACCEPT:
        return Verdict(AuctionStatus.SOLD, counter.buyer_id, price=counter.amount)
    return Verdict(AuctionStatus.CLOSED_NO_WINNER, counter.buyer_id)
