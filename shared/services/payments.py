"""A sale's payment (rules in `shared.domain.payments`): the buyer marks it paid (giving the
delivery address, required when the item ships, and a GSTIN if they have one), the seller
confirms it, or after the due date reports it unpaid, which voids the sale: the invoice keeps
its row, number and document and a credit note cancels it (`sales.void_sale`), the auction
closes with `closeReason: "unpaid"`, and a second-chance offer becomes possible.

A GST tax invoice for an item that ships is issued at the first of mark_paid (with the
address: its state is the place of supply) and confirm (`sales`). A paid item that ships is
due to leave within SHIP_WINDOW_SECS (`deadlines.ship_due`).

At dueAt both parties are told once (`deadlines.payment_due`). Each change takes the
auction's row lock, then the invoice's.
"""

from __future__ import annotations

import uuid
from typing import Any

from shared.domain.credit_notes import CreditReason
from shared.domain.errors import FieldError, ValidationFailed
from shared.domain.events import InvoiceIssued, PaymentConfirmed, PaymentMarked, SaleVoided
from shared.domain.gstin import parse_gstin
from shared.domain.india import parse_address
from shared.domain.money import money_str
from shared.domain.payments import PaymentAction, Sale, judge_payment
from shared.domain.principal import Viewer
from shared.domain.shipping import needs_address
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
    ctx: Context,
    auction_id: uuid.UUID,
    actor: Viewer,
    action: PaymentAction,
    *,
    address: dict[str, Any] | None = None,
    gstin: str | None = None,
) -> dict[str, Any]:
    """mark_paid (the buyer, with `address` and `gstin`), confirm or report_unpaid (the
    seller). Returns the auction."""
    delivery = parse_address(address) if address is not None else None
    registration = parse_gstin(gstin) if gstin is not None else None
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
        if (
            action == PaymentAction.MARK_PAID
            and delivery is None
            and needs_address(invoice.shipping_method)
        ):
            raise ValidationFailed(
                [FieldError("address", "is required: the item ships to the buyer's address")]
            )
        previous = invoice.payment_status
        issued = False
        credit_note = None
        if action == PaymentAction.MARK_PAID:
            invoice.payment_status = new_status.value
            invoice.paid_marked_at = now
            sales.take_delivery_details(invoice, delivery, registration)
            issued = sales.issue(uow.session, ctx, invoice, now)
            sales.start_ship_clock(ctx, invoice, now)
        elif action == PaymentAction.CONFIRM:
            invoice.payment_status = new_status.value
            invoice.payment_confirmed_at = now
            issued = sales.issue(uow.session, ctx, invoice, now)
            sales.start_ship_clock(ctx, invoice, now)
        else:
            credit_note = sales.void_sale(
                uow.session, ctx, auction, invoice, CreditReason.UNPAID, now
            )
        uow.session.flush()
        aid = str(auction.id)
        if issued:
            uow.record(InvoiceIssued(aid, auction.round, str(invoice.id)))
        uow.record(HAPPENED[action](aid, auction.round, str(invoice.id)))
        details: dict[str, Any] = {
            "invoiceNumber": invoice.number,
            "from": previous,
            "to": invoice.payment_status,
            "amount": money_str(invoice.amount),
        }
        if credit_note is not None:
            details["creditNoteNumber"] = credit_note.number
        uow.audit(
            actor.user_id,
            f"{'buyer' if action == PaymentAction.MARK_PAID else 'seller'}.{action.value}",
            auction.id,
            details,
        )
        return auctions.view_of(uow.session, ctx, auction, actor)
