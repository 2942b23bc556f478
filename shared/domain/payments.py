"""A sale's payment, as pure rules.

pending --buyer mark_paid--> paid --seller confirm--> confirmed
pending --seller confirm--> confirmed               (the seller had it already)
pending | paid --seller report_unpaid, from dueAt on--> unpaid: the sale is void

A confirmed payment is final. `report_unpaid` after the buyer marked it paid is the seller's
word against the buyer's: the sale is voided all the same and the audit log keeps both
(docs/runbooks.md: the runbook for a dispute).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared.domain.errors import DomainError
from shared.domain.vocabulary import PaymentStatus


class PaymentAction(StrEnum):
    MARK_PAID = "mark_paid"
    CONFIRM = "confirm"
    REPORT_UNPAID = "report_unpaid"


# Who may take each action.
BUYER_ACTIONS = frozenset({PaymentAction.MARK_PAID})
SELLER_ACTIONS = frozenset({PaymentAction.CONFIRM, PaymentAction.REPORT_UNPAID})


@dataclass(frozen=True)
class Sale:
    """The current (not void) sale of an auction, as the payment rules see it."""

    buyer_id: str
    seller_id: str
    status: str  # its payment status
    due_at: datetime


def judge_payment(
    sale: Sale | None, actor_id: str, action: PaymentAction, now: datetime
) -> PaymentStatus:
    """May `actor_id` take `action` now? Returns the payment's new status."""
    if sale is None:
        raise DomainError(
            "payment_action_not_allowed", "The auction is not sold: there is no payment"
        )
    if action in BUYER_ACTIONS and actor_id != sale.buyer_id:
        raise DomainError("forbidden", "Only the buyer marks the payment paid")
    if action in SELLER_ACTIONS and actor_id != sale.seller_id:
        raise DomainError("forbidden", "Only the seller confirms or reports the payment")
    status = PaymentStatus(sale.status)

    def refuse(why: str) -> DomainError:
        return DomainError("payment_action_not_allowed", why, paymentStatus=status.value)

    if action == PaymentAction.MARK_PAID:
        if status != PaymentStatus.PENDING:
            raise refuse(f"The payment is already {status.value}")
        return PaymentStatus.PAID
    if action == PaymentAction.CONFIRM:
        if status not in (PaymentStatus.PENDING, PaymentStatus.PAID):
            raise refuse(f"The payment is already {status.value}")
        return PaymentStatus.CONFIRMED
    if status not in (PaymentStatus.PENDING, PaymentStatus.PAID):
        raise refuse(f"The payment is already {status.value}")
    if now < sale.due_at:
        raise refuse("The payment is not due yet: report it unpaid after dueAt")
    return PaymentStatus.UNPAID
