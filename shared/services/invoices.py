"""Invoices: the PDF of a sale, built once, stored, attached to the sale emails, downloadable.

The invoice row (number, parties, price, sale time) is written by `sales.complete_sale` in
the sale's own transaction. The PDF is built on first need (the first sale email, or the first
download) under the row's lock, so it is built once; its storage key is kept on the row.

A sale reported unpaid is void (`payments`): its row stays, its number is never reused, and
its storage key is cleared so that the next need builds the void copy (marked VOID, a file of
its own beside the copy first issued).
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.adapters.invoice_store import InvoiceStore, InvoiceStoreError
from shared.adapters.orm import Auction, Invoice, User
from shared.domain.errors import DomainError
from shared.domain.invoices import InvoiceFacts, Party, invoice_filename
from shared.domain.principal import Viewer
from shared.services import records
from shared.services.context import Context

log = logging.getLogger(__name__)


class NoInvoice(LookupError):
    """The auction has no invoice (it is not sold)."""


def current_invoice(session: Session, auction_id: uuid.UUID) -> Invoice | None:
    """The auction's sale as it stands (not void), if it is sold."""
    return records.current_invoice(session, auction_id)


def facts_for(session: Session, invoice: Invoice, tz: str) -> InvoiceFacts:
    auction = session.get(Auction, invoice.auction_id)
    seller = session.get(User, invoice.seller_id)
    buyer = session.get(User, invoice.buyer_id)
    if auction is None or seller is None or buyer is None:
        raise NoInvoice(f"invoice {invoice.number} names a missing auction or user")
    return InvoiceFacts(
        number=invoice.number,
        auction_id=str(auction.id),
        item_name=auction.item_name,
        seller=Party(seller.name, seller.email),
        buyer=Party(buyer.name, buyer.email),
        amount=invoice.amount,
        currency=invoice.currency,
        sold_at=invoice.sold_at,
        tz=tz,
        voided_at=invoice.voided_at,
    )


def ensure_pdf(
    ctx: Context,
    auction_id: uuid.UUID,
    store: InvoiceStore,
    invoice_id: uuid.UUID | None = None,
) -> tuple[Invoice, bytes]:
    """The invoice `invoice_id` (default: the auction's current sale) and its PDF, building
    and storing the PDF the first time (and once more, as the void copy, after a void)."""
    with ctx.db.session() as session:
        query = select(Invoice).where(Invoice.auction_id == auction_id)
        if invoice_id is not None:
            query = query.where(Invoice.id == invoice_id)
        else:
            query = query.where(Invoice.voided_at.is_(None))
        invoice = session.scalars(query.with_for_update()).first()
        if invoice is None:
            raise NoInvoice(f"auction {auction_id} has no invoice")
        if invoice.storage_key:
            try:
                return invoice, store.get(invoice.storage_key)
            except InvoiceStoreError as exc:
                # The PDF is deterministic: rebuilding gives back the very same document.
                log.warning("invoice %s rebuilt: %s", invoice.number, exc)
        # reportlab takes ~25 ms to import: only the first build of an invoice pays for it,
        # not every cold start of the functions.
        from shared.adapters.invoice_pdf import render_invoice

        pdf = render_invoice(facts_for(session, invoice, ctx.settings.tz))
        name = invoice_filename(invoice.number, str(auction_id), void=invoice.voided_at is not None)
        invoice.storage_key = store.put(name, pdf)
        return invoice, pdf


def download(
    ctx: Context, auction_id: uuid.UUID, viewer: Viewer, store: InvoiceStore
) -> tuple[str, bytes]:
    """(file name, PDF) for the sale's buyer, its seller, or an admin: the auction's newest
    invoice the caller is a party to (the current sale first; a buyer whose sale was voided
    still reads their void copy after the item sold to someone else)."""
    with ctx.db.session() as session:
        if session.get(Auction, auction_id) is None:
            raise DomainError("not_found", "No such auction")
        issued = session.scalars(
            select(Invoice)
            .where(Invoice.auction_id == auction_id)
            .order_by(Invoice.voided_at.is_not(None), Invoice.number.desc())
        ).all()
        if not issued:
            raise DomainError("not_found", "The auction is not sold: it has no invoice")
        mine = [
            i
            for i in issued
            if viewer.is_admin or viewer.user_id in (str(i.buyer_id), str(i.seller_id))
        ]
        if not mine:
            raise DomainError("forbidden", "Only the buyer, the seller and admins see an invoice")
        invoice = mine[0]
        number, invoice_id, void = invoice.number, invoice.id, invoice.voided_at is not None
    try:
        _, pdf = ensure_pdf(ctx, auction_id, store, invoice_id)
    except InvoiceStoreError as exc:
        log.warning("invoice %s unavailable: %s", number, exc)
        raise DomainError("unavailable", "The invoice store is unavailable; retry shortly") from exc
    return invoice_filename(number, str(auction_id), void=void), pdf
