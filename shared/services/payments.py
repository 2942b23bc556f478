"""A sale's payment (CONTRACT 11; rules in `shared.domain.payments`): the buyer marks it paid,
the seller confirms it, or after the due date reports it unpaid, which voids the sale: the
invoice keeps its row and number and is marked VOID (its PDF too), the auction closes with
`closeReason: "unpaid"`, and a second-chance offer becomes possible.

At dueAt both parties are told once (the `payment_due` transition). Each change takes the
auction's row lock, then the invoice's.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from shared.adapters.orm import Auction, Invoice
from shared.domain.emails import Template
from shared.domain.money import money_str
from shared.domain.payments import PaymentAction, Sale, judge_payment
from shared.domain.principal import Viewer
from shared.domain.vocabulary import (
    CloseReason,
    EventType,
    NotificationType,
    PaymentStatus,
)
from shared.services import (
    auctions,
    audit,
    email_jobs,
    notifications,
    outbox,
    outcomes,
    records,
    schedules,
)
from shared.services.context import Context
from shared.services.views import payment_view


def _data(auction: Auction, invoice: Invoice) -> dict[str, Any]:
    return {
        "auctionId": str(auction.id),
        "itemName": auction.item_name,
        "amount": money_str(invoice.amount),
        "invoiceNumber": invoice.number,
        "buyerId": str(invoice.buyer_id),
        "sellerId": str(invoice.seller_id),
        "payment": payment_view(invoice),
    }


def act(
    ctx: Context, auction_id: uuid.UUID, actor: Viewer, action: PaymentAction
) -> dict[str, Any]:
    """mark_paid (the buyer), confirm or report_unpaid (the seller). Returns the auction."""
    with ctx.db.session() as session:
        auction = records.locked_auction(session, auction_id)
        invoice = records.locked_sale(session, auction)
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
        buyer, seller = str(invoice.buyer_id), str(invoice.seller_id)
        cause = f"payment:{invoice.id}:{action.value}"
        if action == PaymentAction.MARK_PAID:
            invoice.paid_marked_at = now
            session.flush()
            _tell(session, ctx, auction, invoice, EventType.PAYMENT_MARKED, cause)
            notifications.notify(
                session,
                ctx,
                cause=cause,
                user_id=seller,
                kind=NotificationType.PAYMENT_MARKED,
                payload=_data(auction, invoice),
            )
            jobs = email_jobs.invoice_jobs(Template.PAYMENT_MARKED, invoice, ("seller",))
        elif action == PaymentAction.CONFIRM:
            invoice.payment_confirmed_at = now
            session.flush()
            _tell(session, ctx, auction, invoice, EventType.PAYMENT_CONFIRMED, cause)
            notifications.notify(
                session,
                ctx,
                cause=cause,
                user_id=buyer,
                kind=NotificationType.PAYMENT_CONFIRMED,
                payload=_data(auction, invoice),
            )
            jobs = email_jobs.invoice_jobs(Template.PAYMENT_CONFIRMED, invoice, ("buyer",))
        else:
            _void(session, ctx, auction, invoice, cause)
            jobs = email_jobs.invoice_jobs(
                Template.SALE_VOID, invoice, ("buyer", "seller"), attach=True
            )
        for job in jobs:
            outbox.job(session, job)
        # The payment's schedule follows the new status (a confirmed payment is never due).
        outbox.state_patch(
            session,
            str(auction.id),
            auction.round,
            {},
            schedule=schedules.entries_of(session, auction),
        )
        audit.record(
            session,
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
        body = auctions.view_of(session, ctx, auction, actor)
    outbox.relay(ctx)
    return body


def _tell(
    session: Session,
    ctx: Context,
    auction: Auction,
    invoice: Invoice,
    event: EventType,
    cause: str,
) -> None:
    """A payment's user event, to the buyer and the seller (the notification goes to the one
    who did not act)."""
    data = _data(auction, invoice)
    for user in (str(invoice.buyer_id), str(invoice.seller_id)):
        outbox.user_event(session, ctx, user, event, data, str(auction.id))


def _void(session: Session, ctx: Context, auction: Auction, invoice: Invoice, cause: str) -> None:
    """Reported unpaid: the sale is void. The invoice keeps its row and number (the sequence
    stays gap-free) and its PDF is rebuilt as the VOID copy on next need; the auction closes
    (closeReason `unpaid`) and may be offered to another bidder."""
    invoice.voided_at = ctx.clock()
    invoice.storage_key = None  # the next build is the void copy (the first stays stored)
    session.flush()
    outcomes.close_unsold(session, ctx, auction, CloseReason.UNPAID)
    data = _data(auction, invoice)
    outcomes.tell(
        session,
        ctx,
        auction,
        [str(invoice.buyer_id), str(invoice.seller_id)],
        EventType.SALE_VOID,
        NotificationType.SALE_VOID,
        data,
        cause=cause,
    )


def payment_due(ctx: Context, auction_id: uuid.UUID) -> bool:
    """dueAt has come for a payment that is not confirmed: tell both parties, once (the seller
    may now report it unpaid)."""
    with ctx.db.session() as session:
        auction = records.lock_auction(session, auction_id)
        if auction is None:
            return False
        invoice = records.locked_sale(session, auction)
        if (
            invoice is None
            or invoice.payment_status not in (PaymentStatus.PENDING, PaymentStatus.PAID)
            or invoice.payment_due_notified_at is not None
            or invoice.payment_due_at > ctx.clock()
        ):
            return False
        invoice.payment_due_notified_at = ctx.clock()
        session.flush()
        cause = f"payment:{invoice.id}:due"
        outcomes.tell(
            session,
            ctx,
            auction,
            [str(invoice.buyer_id), str(invoice.seller_id)],
            EventType.PAYMENT_DUE,
            NotificationType.PAYMENT_DUE,
            _data(auction, invoice),
            cause=cause,
        )
        for job in email_jobs.invoice_jobs(Template.PAYMENT_DUE, invoice, ("buyer", "seller")):
            outbox.job(session, job)
        outbox.state_patch(
            session,
            str(auction.id),
            auction.round,
            {},
            schedule=schedules.entries_of(session, auction),
        )
    outbox.relay(ctx)
    return True
