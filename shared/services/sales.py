"""How an auction comes out after the hammer, in the record, whoever settles it (the seller's
decision, the buyer's answer, a deadline that runs out, a buy-now bid, a second-chance offer,
an unpaid sale, a dispute refunded): sold, or closed without a sale. The caller holds the
auction's row lock, has judged that the step is allowed, and records the event that says how
it happened (which tells the parties, the watchers and the room: `consequences`).

A sale's invoice row is its record: the number (gap-free, taken in the sale's transaction),
and copies of everything its document says as it stood at the sale (the fee rates, the
parties' names, the seller's GSTIN and address, the HSN, the shipping terms), so a rebuilt PDF
is byte for byte the one sent. When it is issued:

- a plain invoice (the seller has no GSTIN): at the sale;
- a GST tax invoice whose place of supply is known at the sale (an item picked up, or no
  shipping terms stated: the seller's state): at the sale;
- a GST tax invoice for an item that ships: its place of supply is the state the goods go to,
  known once the buyer gives the delivery address with the payment; so it is issued at the
  first of the buyer's mark_paid (with the address), the seller's confirm, or a void (then
  without an address: the seller's state), never later than the goods leave (a shipment
  needs a paid sale).

A voided sale (reported unpaid, or refunded after a dispute) keeps its invoice as issued and
gets a credit note of its own gap-free series (`CN-000001`), taken in the same transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import update
from sqlalchemy.orm import Session

from shared.adapters.orm import (
    Auction,
    CreditNote,
    CreditNoteSequence,
    Invoice,
    InvoiceSequence,
    SellerProfileRow,
    User,
)
from shared.domain.credit_notes import CreditReason
from shared.domain.deadlines import after
from shared.domain.gst import ZERO, hsn_by_code, hsn_for_category
from shared.domain.gstin import Gstin
from shared.domain.india import STATES, Address
from shared.domain.invoices import GstDetails, InvoiceFacts, Party, amount_due
from shared.domain.sellers import address_from_record, address_record
from shared.domain.shipping import ship_deadline
from shared.domain.vocabulary import AuctionStatus, CloseReason, PaymentStatus, ShippingMethod
from shared.services.context import Context


def complete_sale(
    session: Session,
    ctx: Context,
    auction: Auction,
    *,
    buyer_id: uuid.UUID,
    price: Decimal,
    reason: str,
    bid_id: uuid.UUID | None = None,
) -> Invoice:
    """Mark the auction sold, number its invoice (gap-free: taken in this transaction) and
    start the payment's clock (dueAt = now + PAYMENT_WINDOW_SECS)."""
    now = ctx.clock()
    auction.status = AuctionStatus.SOLD.value
    auction.winner_id = buyer_id
    auction.final_price = price
    auction.closed_reason = reason
    auction.closed_at = now
    if bid_id is not None:
        auction.highest_bid_id = bid_id
    number = session.scalar(
        update(InvoiceSequence)
        .where(InvoiceSequence.id == 1)
        .values(last_number=InvoiceSequence.last_number + 1)
        .returning(InvoiceSequence.last_number)
    )
    invoice = Invoice(
        id=uuid.uuid4(),
        number=number,
        auction_id=auction.id,
        seller_id=auction.seller_id,
        buyer_id=buyer_id,
        amount=price,
        currency=ctx.settings.currency,
        sold_at=now,
        payment_status=PaymentStatus.PENDING.value,
        payment_due_at=after(now, ctx.settings.payment_window_secs),
    )
    _copy_terms(session, ctx, auction, invoice)
    session.add(invoice)
    session.flush()
    if invoice.gst_rate_pct is None or invoice.shipping_method != ShippingMethod.SHIP:
        issue(session, ctx, invoice, now)
    return invoice


def _copy_terms(session: Session, ctx: Context, auction: Auction, invoice: Invoice) -> None:
    """What the invoice will say, as it stands now: the fee rates, the parties (the seller by
    the name they sell under), the seller's GST registration, the HSN, the shipping terms."""
    seller = session.get_one(User, auction.seller_id)
    buyer = session.get_one(User, invoice.buyer_id)
    profile = session.get(SellerProfileRow, auction.seller_id)
    invoice.buyers_premium_pct = ctx.settings.buyers_premium_pct
    invoice.platform_fee_pct = ctx.settings.platform_fee_pct
    invoice.seller_name = profile.display_name if profile else seller.name
    invoice.seller_email = seller.email
    invoice.buyer_name = buyer.name
    invoice.buyer_email = buyer.email
    invoice.shipping_method = auction.shipping_method
    invoice.shipping_cost = auction.shipping_cost
    # A tax invoice is made out in rupees: with another CURRENCY the invoice stays plain.
    if profile is not None and profile.gstin and invoice.currency == "INR":
        invoice.gst_rate_pct = ctx.settings.gst_rate_pct
        invoice.supplier_gstin = profile.gstin
        invoice.supplier_address = address_record(
            Address(
                line1=profile.line1,
                line2=profile.line2,
                city=profile.city,
                state=STATES[profile.state_code],
                postal_code=profile.postal_code,
                country=profile.country,
            )
        )
        invoice.hsn_code = hsn_for_category(auction.category).code


def issue(session: Session, ctx: Context, invoice: Invoice, now: datetime) -> bool:
    """Make the invoice out now, if it is not yet (its date and total are fixed from here on;
    every later build of its PDF is the same). True when this call issued it."""
    if invoice.issued_at is not None:
        return False
    invoice.issued_at = now
    invoice.total_due = amount_due(invoice_facts(session, invoice, ctx.settings.tz))
    session.flush()
    return True


def take_delivery_details(invoice: Invoice, address: Address | None, gstin: Gstin | None) -> None:
    """The buyer's address and GSTIN, given with the payment. The address goes on the sale
    (the seller ships to it); while the invoice is not issued yet, both are copied onto it as
    the recipient's, and for an item that ships the address's state is the place of supply. An
    invoice already issued keeps what it said (a rebuilt PDF stays the one sent)."""
    if address is not None:
        invoice.delivery_address = address_record(address)
    if invoice.issued_at is not None:
        return
    if address is not None:
        invoice.recipient_address = address_record(address)
        if invoice.shipping_method == ShippingMethod.SHIP:
            invoice.delivery_state = address.state.code
    if gstin is not None:
        invoice.recipient_gstin = str(gstin)


def start_ship_clock(ctx: Context, invoice: Invoice, now: datetime) -> None:
    """A sale that became paid: an item that ships is due to leave by SHIP_WINDOW_SECS."""
    if invoice.ship_by is None and invoice.shipped_at is None:
        invoice.ship_by = ship_deadline(invoice.shipping_method, now, ctx.settings.ship_window_secs)


def invoice_facts(session: Session, invoice: Invoice, tz: str) -> InvoiceFacts:
    """Everything the invoice's document says, from the copies on its row (a sale made before
    the copies existed names its parties as the users are)."""
    auction = session.get_one(Auction, invoice.auction_id)
    seller_name, seller_email = invoice.seller_name, invoice.seller_email
    buyer_name, buyer_email = invoice.buyer_name, invoice.buyer_email
    if seller_name is None or seller_email is None:
        seller = session.get_one(User, invoice.seller_id)
        seller_name, seller_email = seller.name, seller.email
    if buyer_name is None or buyer_email is None:
        buyer = session.get_one(User, invoice.buyer_id)
        buyer_name, buyer_email = buyer.name, buyer.email
    gst = None
    if invoice.gst_rate_pct is not None and invoice.supplier_gstin and invoice.supplier_address:
        delivery = STATES.get(invoice.delivery_state or "")
        gst = GstDetails(
            supplier_gstin=Gstin(invoice.supplier_gstin),
            supplier_address=address_from_record(invoice.supplier_address),
            rate_pct=invoice.gst_rate_pct,
            category=auction.category,
            hsn=hsn_by_code(invoice.hsn_code) if invoice.hsn_code else None,
            recipient_address=(
                address_from_record(invoice.recipient_address)
                if invoice.recipient_address
                else None
            ),
            recipient_gstin=Gstin(invoice.recipient_gstin) if invoice.recipient_gstin else None,
            delivery=delivery,
        )
    return InvoiceFacts(
        number=invoice.number,
        auction_id=str(auction.id),
        item_name=auction.item_name,
        seller=Party(seller_name, seller_email),
        buyer=Party(buyer_name, buyer_email),
        amount=invoice.amount,
        currency=invoice.currency,
        sold_at=invoice.sold_at,
        tz=tz,
        buyers_premium_pct=invoice.buyers_premium_pct or ZERO,
        gst=gst,
        shipping=invoice.shipping_cost or ZERO,
        issued_at=invoice.issued_at,
    )


def close_unsold(session: Session, auction: Auction, reason: CloseReason, now: datetime) -> None:
    """`closed_no_winner` with `reason` (an auction already closed gets the new reason: an
    offer declined after an earlier fall-through)."""
    auction.status = AuctionStatus.CLOSED_NO_WINNER.value
    auction.closed_reason = reason.value
    auction.closed_at = now
    auction.winner_id = None
    auction.final_price = None
    session.flush()


def void_sale(
    session: Session,
    ctx: Context,
    auction: Auction,
    invoice: Invoice,
    reason: CreditReason,
    now: datetime,
) -> CreditNote:
    """The sale is void: reported unpaid, or refunded after a dispute. Its invoice keeps its
    row, number and document (issued now if it was not yet, so every number has its
    document), and a credit note of its own gap-free series cancels it, numbered in this
    transaction; the auction closes (`unpaid`, or `refunded`) and may be offered to another
    bidder."""
    issue(session, ctx, invoice, now)
    invoice.voided_at = now
    invoice.payment_status = (
        PaymentStatus.UNPAID.value
        if reason is CreditReason.UNPAID
        else PaymentStatus.REFUNDED.value
    )
    number = session.scalar(
        update(CreditNoteSequence)
        .where(CreditNoteSequence.id == 1)
        .values(last_number=CreditNoteSequence.last_number + 1)
        .returning(CreditNoteSequence.last_number)
    )
    note = CreditNote(
        id=uuid.uuid4(),
        number=number,
        invoice_id=invoice.id,
        auction_id=auction.id,
        reason=reason.value,
        issued_at=now,
    )
    session.add(note)
    close = CloseReason.UNPAID if reason is CreditReason.UNPAID else CloseReason.REFUNDED
    close_unsold(session, auction, close, now)
    return note
