"""Disputes (rules in `shared.domain.disputes`): the buyer opens one on a paid sale within
DISPUTE_WINDOW_SECS of the payment, the seller replies, an admin resolves it (`refund` voids
the sale with a credit note, `release` lets it stand). Each step takes the auction's row lock
(then the sale's), tells both sides by notification and email (`consequences`) and is
audited; the admin's list shows open disputes oldest first."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from shared.adapters.orm import Auction, Dispute, DisputeReply, Invoice
from shared.domain import cursors
from shared.domain.credit_notes import CreditReason
from shared.domain.disputes import DisputedSale, judge_open, judge_reply, judge_resolve
from shared.domain.errors import DomainError
from shared.domain.events import DisputeOpened, DisputeRefunded, DisputeReleased, DisputeReplied
from shared.domain.principal import Viewer
from shared.domain.vocabulary import DisputeOutcome, DisputeReason, DisputeStatus
from shared.services import records, sales
from shared.services.context import Context
from shared.services.unit_of_work import unit_of_work
from shared.services.views import dispute_view


def _sale(invoice: Invoice) -> DisputedSale:
    return DisputedSale(
        buyer_id=str(invoice.buyer_id),
        seller_id=str(invoice.seller_id),
        payment_status=invoice.payment_status,
        paid_at=invoice.paid_at,
        void=invoice.voided_at is not None,
    )


def _view(session: Session, dispute: Dispute, item_name: str) -> dict[str, Any]:
    credit = records.credit_note_of(session, dispute.invoice_id)
    return dispute_view(
        dispute,
        records.replies_of(session, dispute.id),
        item_name,
        credit.number if credit else None,
    )


def open_dispute(
    ctx: Context, auction_id: uuid.UUID, actor: Viewer, reason: DisputeReason, detail: str
) -> dict[str, Any]:
    """The buyer of a paid sale complains (one dispute per sale). Returns the dispute."""
    with unit_of_work(ctx) as uow:
        auction = records.locked_auction(uow.session, auction_id)
        invoice = records.locked_sale(uow.session, auction)
        now = ctx.clock()
        judge_open(
            _sale(invoice) if invoice is not None else None,
            actor.user_id or "",
            now,
            ctx.settings.dispute_window_secs,
            _existing(uow.session, auction, invoice, actor),
        )
        assert invoice is not None
        dispute = Dispute(
            id=uuid.uuid4(),
            invoice_id=invoice.id,
            auction_id=auction.id,
            buyer_id=invoice.buyer_id,
            seller_id=invoice.seller_id,
            reason=reason.value,
            detail=detail,
            status=DisputeStatus.OPEN.value,
            opened_at=now,
        )
        uow.session.add(dispute)
        uow.session.flush()
        uow.record(DisputeOpened(str(auction.id), auction.round, str(dispute.id)))
        uow.audit(
            actor.user_id,
            "buyer.dispute_open",
            auction.id,
            {"disputeId": str(dispute.id), "reason": reason.value, "invoiceNumber": invoice.number},
        )
        return _view(uow.session, dispute, auction.item_name)


def _existing(
    session: Session, auction: Auction, invoice: Invoice | None, actor: Viewer
) -> str | None:
    """The status of the dispute the caller's sale already has: the current sale's, or, when
    the auction has none (a refund voided it), the caller's own on an earlier sale of it."""
    dispute = records.dispute_of(session, auction.id)
    if dispute is None:
        return None
    if invoice is not None:
        return dispute.status if dispute.invoice_id == invoice.id else None
    return dispute.status if str(dispute.buyer_id) == actor.user_id else None


def _locked_dispute(session: Session, auction: Auction) -> Dispute:
    dispute = records.dispute_of(session, auction.id, lock=True)
    if dispute is None:
        raise DomainError("not_found", "This auction has no dispute")
    return dispute


def reply(ctx: Context, auction_id: uuid.UUID, actor: Viewer, message: str) -> dict[str, Any]:
    """The seller answers the open dispute. Returns the dispute."""
    with unit_of_work(ctx) as uow:
        auction = records.locked_auction(uow.session, auction_id)
        dispute = _locked_dispute(uow.session, auction)
        judge_reply(dispute.status, str(dispute.seller_id), actor.user_id or "")
        answer = DisputeReply(
            id=uuid.uuid4(),
            dispute_id=dispute.id,
            author_id=uuid.UUID(actor.user_id or ""),
            message=message,
            created_at=ctx.clock(),
        )
        uow.session.add(answer)
        uow.session.flush()
        uow.record(DisputeReplied(str(auction.id), auction.round, str(dispute.id), str(answer.id)))
        uow.audit(
            actor.user_id,
            "seller.dispute_reply",
            auction.id,
            {"disputeId": str(dispute.id), "replyId": str(answer.id)},
        )
        return _view(uow.session, dispute, auction.item_name)


def resolve(
    ctx: Context, auction_id: uuid.UUID, admin: Viewer, outcome: DisputeOutcome, note: str
) -> dict[str, Any]:
    """An admin decides: `refund` voids the sale (a credit note cancels its invoice, the
    auction closes `refunded`); `release` closes the dispute and the sale stands."""
    with unit_of_work(ctx) as uow:
        auction = records.locked_auction(uow.session, auction_id)
        dispute = _locked_dispute(uow.session, auction)
        invoice = uow.session.scalars(
            select(Invoice).where(Invoice.id == dispute.invoice_id).with_for_update()
        ).one()
        judge_resolve(dispute.status, outcome, _sale(invoice))
        now = ctx.clock()
        dispute.status = DisputeStatus.RESOLVED.value
        dispute.outcome = outcome.value
        dispute.resolved_at = now
        dispute.resolved_by = uuid.UUID(admin.user_id or "")
        dispute.resolution_note = note
        details: dict[str, Any] = {
            "disputeId": str(dispute.id),
            "outcome": outcome.value,
            "invoiceNumber": invoice.number,
        }
        aid = str(auction.id)
        if outcome == DisputeOutcome.REFUND:
            credit = sales.void_sale(uow.session, ctx, auction, invoice, CreditReason.REFUND, now)
            details["creditNoteNumber"] = credit.number
            uow.session.flush()
            uow.record(DisputeRefunded(aid, auction.round, str(dispute.id), str(invoice.id)))
        else:
            uow.session.flush()
            uow.record(DisputeReleased(aid, auction.round, str(dispute.id)))
        uow.audit(admin.user_id, "admin.dispute_resolve", auction.id, details)
        return _view(uow.session, dispute, auction.item_name)


def list_disputes(
    ctx: Context, *, status: DisputeStatus, limit: int, cursor: str | None
) -> dict[str, Any]:
    """Disputes with `status`, oldest first (the longest waiting on top)."""
    query = (
        select(Dispute, Auction.item_name)
        .join(Auction, Auction.id == Dispute.auction_id)
        .where(Dispute.status == status.value)
    )
    if cursor:
        opened_text, id_text = cursors.decode(cursor, 2)
        opened, after = cursors.moment(opened_text), cursors.identifier(id_text)
        query = query.where(
            or_(
                Dispute.opened_at > opened,
                and_(Dispute.opened_at == opened, Dispute.id > after),
            )
        )
    with ctx.db.session() as session:
        rows = session.execute(query.order_by(Dispute.opened_at, Dispute.id).limit(limit + 1)).all()
        page = rows[:limit]
        next_cursor = (
            cursors.encode(page[-1][0].opened_at.isoformat(), str(page[-1][0].id))
            if len(rows) > limit
            else None
        )
        return {
            "items": [_view(session, dispute, item) for dispute, item in page],
            "nextCursor": next_cursor,
        }
