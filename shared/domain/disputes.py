"""Disputes (pure): a buyer's complaint about a paid sale, the seller's answer, an admin's
decision.

    the buyer opens one (not_received | not_as_described) within DISPUTE_WINDOW_SECS of the
    payment (the buyer's mark_paid, else the seller's confirmation)
      -> the seller replies (as often as needed) while it is open
      -> an admin resolves it: `refund` voids the sale with a credit note (the payment is
         `refunded`, the auction closes `refunded`); `release` closes it and the sale stands

A sale has at most one dispute, open or resolved: a second is `dispute_exists` (a resolved
dispute was decided by an admin; reopening it is a matter for the admins, outside the app).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.domain.deadlines import after, has_passed
from shared.domain.errors import DomainError
from shared.domain.shipping import PAID_STATUSES
from shared.domain.times import iso
from shared.domain.vocabulary import DisputeOutcome, DisputeStatus


@dataclass(frozen=True)
class DisputedSale:
    """A sale as the dispute rules see it."""

    buyer_id: str
    seller_id: str
    payment_status: str
    paid_at: datetime | None  # the buyer's mark_paid, else the seller's confirmation
    void: bool = False


def dispute_deadline(paid_at: datetime, window_secs: int) -> datetime:
    return after(paid_at, window_secs)


def judge_open(
    sale: DisputedSale | None,
    actor_id: str,
    now: datetime,
    window_secs: int,
    existing_status: str | None,
) -> None:
    """May `actor_id` open a dispute on this sale now? `existing_status`: the status of a
    dispute the sale already has (a refunded sale is void, so `sale` is None then, and its
    dispute is the caller's own)."""
    if sale is not None and actor_id != sale.buyer_id:
        raise DomainError("forbidden", "Only the buyer opens a dispute")
    if existing_status is not None:
        raise DomainError(
            "dispute_exists",
            "This sale already has a dispute: one per sale",
            disputeStatus=existing_status,
        )
    if sale is None:
        raise DomainError("dispute_not_allowed", "The auction is not sold: there is no sale")
    status = sale.payment_status
    if sale.void or status not in PAID_STATUSES or sale.paid_at is None:
        raise DomainError(
            "dispute_not_allowed",
            f"The payment is {status}: a dispute is about a paid sale",
            paymentStatus=status,
        )
    deadline = dispute_deadline(sale.paid_at, window_secs)
    if has_passed(deadline, now):
        raise DomainError(
            "dispute_not_allowed",
            f"Disputes on this sale closed at {iso(deadline)} ({window_secs} s after payment)",
            paymentStatus=status,
        )


def judge_reply(status: str, seller_id: str, actor_id: str) -> None:
    """The seller answers an open dispute."""
    if actor_id != seller_id:
        raise DomainError("forbidden", "Only the seller replies to a dispute")
    if status != DisputeStatus.OPEN:
        raise DomainError("dispute_not_open", "The dispute is resolved", disputeStatus=status)


def judge_resolve(status: str, outcome: DisputeOutcome, sale: DisputedSale) -> None:
    """An admin resolves an open dispute; a refund needs a sale that is paid and not void."""
    if status != DisputeStatus.OPEN:
        raise DomainError(
            "dispute_not_open", "The dispute is already resolved", disputeStatus=status
        )
    if outcome == DisputeOutcome.REFUND and (sale.void or sale.payment_status not in PAID_STATUSES):
        raise DomainError(
            "refund_not_allowed",
            f"The sale is not paid (its payment is {sale.payment_status}"
            f"{', and the sale is void' if sale.void else ''}): there is nothing to refund; "
            "release the dispute instead",
            paymentStatus=sale.payment_status,
        )
