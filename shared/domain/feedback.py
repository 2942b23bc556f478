"""Feedback after a completed sale, and the reputation it builds, as plain rules.

A sale is complete once its payment is confirmed (`PaymentStatus.CONFIRMED`, which is final).
Then each side, the buyer and the seller, may leave one rating of the other (positive,
neutral or negative) with a short comment, and the side that was rated may reply once.

Who is refused how, precisely:
- 403 `forbidden`: the caller is neither the auction's seller nor the buyer of its current
  sale (a bidder who did not buy, anyone else; before a sale there is no buyer, so only the
  seller is a party);
- 409 `feedback_not_allowed`: a party, but the sale is not complete (no sale yet, or its
  payment not confirmed);
- 409 `feedback_exists`: this side already left its feedback on this sale;
- a reply: 404 `not_found` while there is no feedback about the caller on it; 409
  `reply_exists` when they already replied.

A reputation counts the ratings a user received over the last 12 months, in either role.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from shared.domain.errors import DomainError
from shared.domain.vocabulary import PaymentStatus

MAX_COMMENT = 500
REPUTATION_WINDOW = timedelta(days=365)
RECENT = 10  # how many of the latest ratings a reputation shows


class Rating(StrEnum):
    POSITIVE = "positive"
    NEUTRAL = "neutral"
    NEGATIVE = "negative"


class Side(StrEnum):
    """The role a person had in a sale."""

    BUYER = "buyer"
    SELLER = "seller"


RATINGS = tuple(r.value for r in Rating)
SIDES = tuple(s.value for s in Side)


@dataclass(frozen=True)
class CompletedSale:
    """The current sale of an auction as feedback sees it (None: there is none)."""

    buyer_id: str
    seller_id: str
    payment_status: str


def side_of(caller_id: str, seller_id: str, sale: CompletedSale | None) -> Side:
    """The caller's side of the auction's sale; 403 when they have none."""
    if caller_id == seller_id:
        return Side.SELLER
    if sale is not None and caller_id == sale.buyer_id:
        return Side.BUYER
    raise DomainError("forbidden", "Only the buyer and the seller of a sale leave feedback on it")


def judge_feedback(
    caller_id: str, seller_id: str, sale: CompletedSale | None, already_left: bool
) -> Side:
    """May `caller_id` leave feedback on this auction now? Returns their side."""
    side = side_of(caller_id, seller_id, sale)
    if sale is None or sale.payment_status != PaymentStatus.CONFIRMED:
        raise DomainError(
            "feedback_not_allowed",
            "Feedback opens once the sale is complete: when the seller confirms the payment",
        )
    if already_left:
        raise DomainError("feedback_exists", "You already left feedback on this sale")
    return side


def other_side(side: Side) -> Side:
    return Side.SELLER if side == Side.BUYER else Side.BUYER


@dataclass(frozen=True)
class Received:
    """One rating a user received."""

    rating: str
    comment: str
    role: str  # the role the rated user had in that sale
    at: datetime
    reply: str | None = None
    replied_at: datetime | None = None


@dataclass(frozen=True)
class Tally:
    positive: int
    neutral: int
    negative: int
    percent_positive: float | None  # of the positive and negative ratings; None without any
    recent: tuple[Received, ...]


def tally(received: Iterable[Received], now: datetime) -> Tally:
    """The ratings of the last 12 months: counts, the positive share (neutral ratings count
    for neither side, as on eBay), and the latest few, newest first."""
    since = now - REPUTATION_WINDOW
    kept = sorted((r for r in received if r.at > since), key=lambda r: r.at, reverse=True)
    counts = {rating: sum(1 for r in kept if r.rating == rating) for rating in RATINGS}
    rated = counts["positive"] + counts["negative"]
    percent = (
        float(
            (Decimal(100 * counts["positive"]) / rated).quantize(
                Decimal("0.1"), rounding=ROUND_HALF_UP
            )
        )
        if rated
        else None
    )
    return Tally(
        positive=counts["positive"],
        neutral=counts["neutral"],
        negative=counts["negative"],
        percent_positive=percent,
        recent=tuple(kept[:RECENT]),
    )
