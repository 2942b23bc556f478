"""A sale, however it comes about (the seller accepts, a counter offer is accepted, a buy-now
bid, a second-chance offer is accepted, DECISION_DEFAULT=accept): the auction marked sold, its
invoice numbered, its payment due, the sale emails queued, the buyer and the seller told, and
the room shown who bought it. The caller holds the auction's row lock and has checked its
status."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import update
from sqlalchemy.orm import Session

from shared.adapters.orm import Auction, Bid, Invoice, InvoiceSequence, User
from shared.domain.deadlines import after
from shared.domain.marketplace import public_name
from shared.domain.money import money_str
from shared.domain.times import iso
from shared.domain.vocabulary import (
    OPEN_STATUSES,
    AuctionStatus,
    EventType,
    NotificationType,
    PaymentStatus,
)
from shared.services import notifications, outbox, records, schedules, watchlist
from shared.services.context import Context
from shared.services.views import highest_bid_view


def complete_sale(
    session: Session,
    ctx: Context,
    auction: Auction,
    *,
    buyer_id: uuid.UUID,
    price: Decimal,
    reason: str,
    bid_id: uuid.UUID | None = None,
    confirmation: bool = True,
) -> Invoice:
    """Mark the auction sold, number its invoice (gap-free: taken in this transaction), start
    the payment's clock (dueAt = now + PAYMENT_WINDOW_SECS) and queue the sale emails. The
    caller adds its own events (`announce_sale`)."""
    now = ctx.clock()
    aid = str(auction.id)
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
    watchlist.tell_outcome(session, ctx, auction, told=(str(buyer_id),))
    outbox.state_patch(
        session,
        aid,
        auction.round,
        {"status": AuctionStatus.SOLD.value},
        schedule=schedules.entries_of(session, auction),
    )
    # A counter or a second-chance offer accepted sends its own confirmation (with this
    # invoice) instead: one email per party for one sale. An auction sells once per round
    # this way (later sales of a round are second-chance offers, with jobs of their own).
    cause = aid if auction.round == 1 else f"{aid}:r{auction.round}"
    for role, user in (("buyer", buyer_id), ("seller", auction.seller_id)) if confirmation else ():
        outbox.job(
            session,
            {
                "id": f"email:sale:{cause}:{role}",
                "type": "email",
                "template": "sale_confirmation",
                "auctionId": aid,
                "invoiceId": str(invoice.id),
                "recipientId": str(user),
                "role": role,
                "attachInvoice": True,
            },
        )
    return invoice


def announce_sale(
    session: Session,
    ctx: Context,
    auction: Auction,
    invoice: Invoice,
    *,
    event: EventType,
    kind: NotificationType,
    cause: str,
) -> None:
    """The user events and notifications of a sale, for the buyer and the seller, and the
    room's `auction:sold` (the buyer's public name, never their email)."""
    aid = str(auction.id)
    buyer = session.get(User, auction.winner_id)
    outbox.room_event(
        session,
        ctx,
        aid,
        EventType.AUCTION_SOLD,
        {
            "status": auction.status,
            "finalPrice": money_str(auction.final_price),
            "winnerName": public_name(buyer.name if buyer else "", str(auction.winner_id)),
        },
    )
    data = {
        "auctionId": aid,
        "itemName": auction.item_name,
        "status": auction.status,
        "amount": money_str(auction.final_price),
        "buyerId": str(auction.winner_id),
        "sellerId": str(auction.seller_id),
        "invoiceNumber": invoice.number,
        "payment": {"status": invoice.payment_status, "dueAt": iso(invoice.payment_due_at)},
    }
    for user in (str(auction.winner_id), str(auction.seller_id)):
        outbox.user_event(session, ctx, user, event, data, aid)
        notifications.notify(session, ctx, cause=cause, user_id=user, kind=kind, payload=data)


def finish_buy_now(
    session: Session, ctx: Context, auction_id: uuid.UUID, bid_id: uuid.UUID
) -> bool:
    """Buy-now: the bid script already closed the window; make it a sale in the record."""
    auction = records.lock_auction(session, auction_id)
    if auction is None or auction.status not in OPEN_STATUSES or auction.buy_now_price is None:
        return False
    bid = session.get(Bid, bid_id)
    if bid is None:
        return False
    invoice = complete_sale(
        session,
        ctx,
        auction,
        buyer_id=bid.bidder_id,
        price=auction.buy_now_price,
        reason="buy_now",
        bid_id=bid.id,
    )
    auction.ends_at = min(auction.ends_at, bid.created_at)
    aid = str(auction.id)
    outbox.room_event(
        session,
        ctx,
        aid,
        EventType.AUCTION_ENDED,
        {
            "status": auction.status,
            "reason": "buy_now",
            "highestBid": highest_bid_view(bid),
            "endsAt": iso(auction.ends_at),
        },
    )
    announce_sale(
        session,
        ctx,
        auction,
        invoice,
        event=EventType.SELLER_ACCEPTED,
        kind=NotificationType.ACCEPTED,
        cause=f"sale:{aid}:{auction.round}",
    )
    return True
