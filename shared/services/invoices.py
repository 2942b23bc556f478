"""Invoices: the PDF of a sale, built once, stored, attached to the sale emails, downloadable.

The invoice row (number, parties, price, sale time) is written by `lifecycle.complete_sale` in
the sale's own transaction. The PDF is built on first need (the first sale email, or the first
download) under the row's lock, so it is built once; its storage key is kept on the row.
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
from shared.services.context import Context

log = logging.getLogger(__name__)


class NoInvoice(LookupError):
    """The auction has no invoice (it is not sold)."""


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
    )


def ensure_pdf(ctx: Context, auction_id: uuid.UUID, store: InvoiceStore) -> tuple[Invoice, bytes]:
    """The sale's invoice and its PDF, building and storing the PDF the first time."""
    with ctx.db.session() as session:
        invoice = session.scalars(
            select(Invoice).where(Invoice.auction_id == auction_id).with_for_update()
        ).first()
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
        invoice.storage_key = store.put(invoice_filename(invoice.number, str(auction_id)), pdf)
        return invoice, pdf


def download(
    ctx: Context, auction_id: uuid.UUID, viewer: Viewer, store: InvoiceStore
) -> tuple[str, bytes]:
    """(file name, PDF) for the sale's buyer, its seller, or an admin."""
    with ctx.db.session() as session:
        if session.get(Auction, auction_id) is None:
            raise DomainError("not_found", "No such auction")
        invoice = session.scalars(select(Invoice).where(Invoice.auction_id == auction_id)).first()
        if invoice is None:
            raise DomainError("not_found", "The auction is not sold: it has no invoice")
        parties = {str(invoice.buyer_id), str(invoice.seller_id)}
        if viewer.user_id not in parties and not viewer.is_admin:
            raise DomainError("forbidden", "Only the buyer, the seller and admins see an invoice")
        number = invoice.number
    try:
        _, pdf = ensure_pdf(ctx, auction_id, store)
    except InvoiceStoreError as exc:
        log.warning("invoice %s unavailable: %s", number, exc)
        raise DomainError("unavailable", "The invoice store is unavailable; retry shortly") from exc
    return invoice_filename(number, str(auction_id)), pdf
