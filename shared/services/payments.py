"""A sale's payment (CONTRACT 11; rules in `shared.domain.payments`): the buyer marks it paid,
the seller confirms it, or after the due date reports it unpaid, which voids the sale: the
invoice keeps its row and number and is marked VOID (its PDF too), the auction closes with
`closeReason: "unpaid"`, and a second-chance offer becomes possible.

At dueAt both parties are told once (`deadlines.payment_due`). Each change takes the
auction's row lock, then the invoice's.
"""

from __future__ import annotations

import uuid
from typing import Any

from shared.domain.events import PaymentConfirmed, PaymentMarked, SaleVoided
from shared.domain.money import money_str
from shared.domain.payments import PaymentAction, Sale, judge_payment
from shared.domain.principal import Viewer
from shared.domain.vocabulary import CloseReason
from shared.services import auctions, records, sales
from shared.services.context import Context
from shared.services.unit_of_work import unit_of_work

# What each action is, once it is done (a payment marked or confirmed tells the parties, and
# the one who did not act gets a notification; a void closes the auction).
HAPPENED: dict[PaymentAction, type[PaymentMarked | PaymentConfirmed | SaleVoided]] = {
    PaymentAction.MARK_PAID: PaymentMarked,
    PaymentAction.CONFIRM: PaymentConfirmed,
    PaymentAction.REPORT_UNPAID: SaleVoided,
}


def act(
    ctx: Context, auction_id: uuid.UUID, actor: Viewer, action: PaymentAction
) -> dict[str, Any]:
    """mark_paid (the buyer), confirm or report_unpaid (the seller). Returns the auction."""
    with unit_of_work(ctx) as uow:
        auction = records.locked_auction(uow.session, auction_id)
        invoice = records.locked_sale(uow.session, auction)
        now = ctx.clock()
        sale = (
            Sale(
                buyer_id=str(invoice.buyer_id),
                seller_id=str(invoice.seller_id),
                status=invoice.payment_status,
                due_at=invoice.payment_due_at,
            )
            if invoice is not None
            else None
        )
        new_status = judge_payment(sale, actor.user_id or "", action, now)
        assert invoice is not None  # judge_payment refuses without a sale
        previous = invoice.payment_status
        invoice.payment_status = new_status.value
        if action == PaymentAction.MARK_PAID:
            invoice.paid_marked_at = now
        elif action == PaymentAction.CONFIRM:
            invoice.payment_confirmed_at = now
        else:
            # The sale is void. The invoice keeps its row and number (the sequence stays
            # gap-free) and its PDF is rebuilt as the VOID copy on next need (the first stays
            # stored); the auction closes and may be offered to another bidder.
            invoice.voided_at = now
            invoice.storage_key = None
            sales.close_unsold(uow.session, auction, CloseReason.UNPAID, now)
        uow.session.flush()
        uow.record(HAPPENED[action](str(auction.id), auction.round, str(invoice.id)))
        uow.audit(
            actor.user_id,
            f"{'buyer' if action == PaymentAction.MARK_PAID else 'seller'}.{action.value}",
            auction.id,
            {
                "invoiceNumber": invoice.number,
                "from": previous,
                "to": invoice.payment_status,
                "amount": money_str(invoice.amount),
            },
        )
        return auctions.view_of(uow.session, ctx, auction, actor)
