"""A sale's documents as PDFs: the invoice (plain, or a GST tax invoice), the credit note of a
voided sale, and the seller's statement; built on first need, stored (invoices and credit
notes), attached to the emails, downloadable.

The invoice row (number, parties, price, sale time, and the copies its document is made from)
is written by `sales.complete_sale` in the sale's own transaction, and issued there or, for a
tax invoice waiting for its place of supply, at payment (`sales.issue`). The PDF is built on
first need (the first email that carries it, or the first download) under the row's lock, so
it is built once; its storage key is kept on the row. The PDFs are deterministic: a lost file
is rebuilt byte for byte from the row.

A voided sale (reported unpaid, or refunded after a dispute) keeps its invoice as issued; its
credit note (`CN-000001`, a series of its own) cancels it.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.adapters.invoice_store import InvoiceStore, InvoiceStoreError
from shared.adapters.orm import Auction, CreditNote, Invoice
from shared.domain.credit_notes import CreditNoteFacts, CreditReason, credit_note_filename
from shared.domain.errors import DomainError
from shared.domain.invoices import InvoiceFacts, invoice_filename
from shared.domain.principal import Viewer
from shared.domain.statements import StatementFacts, statement_filename
from shared.services import records, sales
from shared.services.context import Context

log = logging.getLogger(__name__)


class NoInvoice(LookupError):
    """The auction has no invoice (it is not sold)."""


class NotIssued(LookupError):
    """The sale's tax invoice waits for its place of supply (the buyer's payment)."""


def not_issued_error() -> DomainError:
    return DomainError(
        "invoice_not_issued",
        "The tax invoice is issued when the buyer pays and gives the delivery address (its "
        "state is the place of supply), or when the seller confirms the payment",
    )


def current_invoice(session: Session, auction_id: uuid.UUID) -> Invoice | None:
    """The auction's sale as it stands (not void), if it is sold."""
    return records.current_invoice(session, auction_id)


def facts_for(session: Session, invoice: Invoice, tz: str) -> InvoiceFacts:
    if session.get(Auction, invoice.auction_id) is None:
        raise NoInvoice(f"invoice {invoice.number} names a missing auction")
    return sales.invoice_facts(session, invoice, tz)


def ensure_pdf(
    ctx: Context,
    auction_id: uuid.UUID,
    store: InvoiceStore,
    invoice_id: uuid.UUID | None = None,
) -> tuple[Invoice, bytes]:
    """The invoice `invoice_id` (default: the auction's current sale) and its PDF, building
    and storing the PDF the first time. NotIssued before a tax invoice is issued."""
    with ctx.db.session() as session:
        query = select(Invoice).where(Invoice.auction_id == auction_id)
        if invoice_id is not None:
            query = query.where(Invoice.id == invoice_id)
        else:
            query = query.where(Invoice.voided_at.is_(None))
        invoice = session.scalars(query.with_for_update()).first()
        if invoice is None:
            raise NoInvoice(f"auction {auction_id} has no invoice")
        if invoice.issued_at is None:
            raise NotIssued(f"invoice {invoice.number} is not issued yet")
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


def ensure_credit_note_pdf(
    ctx: Context, credit_note_id: uuid.UUID, store: InvoiceStore
) -> tuple[CreditNote, bytes]:
    """A credit note and its PDF, built and stored the first time (like an invoice's)."""
    with ctx.db.session() as session:
        note = session.scalars(
            select(CreditNote).where(CreditNote.id == credit_note_id).with_for_update()
        ).first()
        if note is None:
            raise NoInvoice(f"no credit note {credit_note_id}")
        if note.storage_key:
            try:
                return note, store.get(note.storage_key)
            except InvoiceStoreError as exc:
                log.warning("credit note %s rebuilt: %s", note.number, exc)
        from shared.adapters.invoice_pdf import render_credit_note

        invoice = session.get_one(Invoice, note.invoice_id)
        facts = CreditNoteFacts(
            number=note.number,
            invoice=facts_for(session, invoice, ctx.settings.tz),
            issued_at=note.issued_at,
            reason=CreditReason(note.reason),
        )
        pdf = render_credit_note(facts)
        note.storage_key = store.put(credit_note_filename(note.number, str(note.auction_id)), pdf)
        return note, pdf


def _parties_documents(
    session: Session, auction_id: uuid.UUID, viewer: Viewer, *, sellers_only: bool = False
) -> list[Invoice]:
    """The auction's invoices the viewer is a party to (admins: all), the current sale first,
    then the newest."""
    if session.get(Auction, auction_id) is None:
        raise DomainError("not_found", "No such auction")
    issued = session.scalars(
        select(Invoice)
        .where(Invoice.auction_id == auction_id)
        .order_by(Invoice.voided_at.is_not(None), Invoice.number.desc())
    ).all()
    if not issued:
        raise DomainError("not_found", "The auction is not sold: it has no invoice")
    parties = (
        (lambda i: (str(i.seller_id),))
        if sellers_only
        else (lambda i: (str(i.buyer_id), str(i.seller_id)))
    )
    mine = [i for i in issued if viewer.is_admin or viewer.user_id in parties(i)]
    if not mine:
        who = "the seller" if sellers_only else "the buyer, the seller"
        raise DomainError("forbidden", f"Only {who} and admins see this document")
    return mine


def download(
    ctx: Context, auction_id: uuid.UUID, viewer: Viewer, store: InvoiceStore
) -> tuple[str, bytes]:
    """(file name, PDF) for the sale's buyer, its seller, or an admin: the auction's newest
    invoice the caller is a party to (the current sale first; a buyer whose sale was voided
    still reads their invoice after the item sold to someone else)."""
    with ctx.db.session() as session:
        invoice = _parties_documents(session, auction_id, viewer)[0]
        number, invoice_id, issued = invoice.number, invoice.id, invoice.issued_at is not None
    if not issued:
        raise not_issued_error()
    try:
        _, pdf = ensure_pdf(ctx, auction_id, store, invoice_id)
    except NotIssued:
        raise not_issued_error() from None
    except InvoiceStoreError as exc:
        log.warning("invoice %s unavailable: %s", number, exc)
        raise DomainError("unavailable", "The invoice store is unavailable; retry shortly") from exc
    return invoice_filename(number, str(auction_id)), pdf


def download_credit_note(
    ctx: Context, auction_id: uuid.UUID, viewer: Viewer, store: InvoiceStore
) -> tuple[str, bytes]:
    """(file name, PDF) of the newest credit note of the auction the caller is a party to."""
    with ctx.db.session() as session:
        mine = _parties_documents(session, auction_id, viewer)
        notes = session.scalars(
            select(CreditNote)
            .where(CreditNote.invoice_id.in_([i.id for i in mine]))
            .order_by(CreditNote.number.desc())
        ).all()
        if not notes:
            raise DomainError("not_found", "No credit note: no sale of this auction was voided")
        note_id, number = notes[0].id, notes[0].number
    try:
        _, pdf = ensure_credit_note_pdf(ctx, note_id, store)
    except InvoiceStoreError as exc:
        log.warning("credit note %s unavailable: %s", number, exc)
        raise DomainError("unavailable", "The document store is unavailable; retry") from exc
    return credit_note_filename(number, str(auction_id)), pdf


def statement(ctx: Context, auction_id: uuid.UUID, viewer: Viewer) -> tuple[str, bytes]:
    """(file name, PDF) of the seller's statement of the auction's newest sale the caller
    sold (the seller; admins: the newest sale): what the sale earns the seller."""
    with ctx.db.session() as session:
        invoice_id = _parties_documents(session, auction_id, viewer, sellers_only=True)[0].id
    return statement_of(ctx, invoice_id)


def statement_of(ctx: Context, invoice_id: uuid.UUID) -> tuple[str, bytes]:
    """A sale's statement, built on each request (deterministic, and cheap next to the
    invoice it is read from); a voided sale's says VOID. `invoice_not_issued` before the sale's
    tax invoice is issued (the statement says what its GST is)."""
    with ctx.db.session() as session:
        invoice = session.get_one(Invoice, invoice_id)
        if invoice.issued_at is None:
            raise not_issued_error()
        facts = facts_for(session, invoice, ctx.settings.tz)
        stated = StatementFacts(
            invoice=replace(facts, voided_at=invoice.voided_at),
            platform_fee_pct=invoice.platform_fee_pct,
        )
        name = statement_filename(invoice.number, str(invoice.auction_id))
    from shared.adapters.invoice_pdf import render_statement

    return name, render_statement(stated)
