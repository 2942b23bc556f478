"""How an auction comes out after the hammer, in the record, whoever settles it (the seller's
decision, the buyer's answer, a deadline that runs out, a buy-now bid, a second-chance offer,
an unpaid sale): sold, or closed without a sale. The caller holds the auction's row lock, has
judged that the step is allowed, and records the event that says how it happened (which
tells the parties, the watchers and the room: `consequences`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import update
from sqlalchemy.orm import Session

from shared.adapters.orm import Auction, Invoice, InvoiceSequence
from shared.domain.deadlines import after
from shared.domain.vocabulary import AuctionStatus, CloseReason, PaymentStatus
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
    session.add(invoice)
    session.flush()
    return invoice


def close_unsold(session: Session, auction: Auction, reason: CloseReason, now: datetime) -> None:
    """`closed_no_winner` with `reason` (an auction already closed gets the new reason: an
    offer declined after an earlier fall-through)."""
    auction.status = AuctionStatus.CLOSED_NO_WINNER.value
    auction.closed_reason = reason.value
    auction.closed_at = now
    auction.winner_id = None
    auction.final_price = None
    session.flush()
