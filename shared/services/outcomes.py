"""How an auction comes out after the hammer, whoever settles it: the seller's decision, the
buyer's answer, a deadline that runs out, a second-chance offer, an unpaid sale. Each step is
written once here and used by every path, so the room, the parties and the record hear the
same thing however it happened.

The caller holds the auction's row lock and has judged that the step is allowed; everything
here is written in the caller's transaction (the outbox relays it after the commit).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shared.adapters.orm import Auction, Bid, Invoice
from shared.domain.money import money_str
from shared.domain.vocabulary import AuctionStatus, CloseReason, EventType, NotificationType
from shared.services import notifications, outbox, sales, schedules, watchlist
from shared.services.context import Context


def tell(
    session: Session,
    ctx: Context,
    auction: Auction,
    users: list[str],
    event: EventType,
    kind: NotificationType,
    data: dict[str, Any],
    cause: str,
) -> None:
    """The same user event and notification for each of `users`."""
    for user in users:
        outbox.user_event(session, ctx, user, event, data, str(auction.id))
        notifications.notify(session, ctx, cause=cause, user_id=user, kind=kind, payload=data)


def announce_close(session: Session, ctx: Context, auction: Auction) -> None:
    """Everyone in the room learns how it ended: `auction:closed` with the reason."""
    outbox.room_event(
        session,
        ctx,
        str(auction.id),
        EventType.AUCTION_CLOSED,
        {"status": auction.status, "closeReason": auction.closed_reason},
    )


def close_unsold(session: Session, ctx: Context, auction: Auction, reason: CloseReason) -> None:
    """`closed_no_winner` with `reason` (an auction already closed gets the new reason: an
    offer declined after an earlier fall-through): the record, the Redis state and schedules,
    and the room."""
    auction.status = AuctionStatus.CLOSED_NO_WINNER.value
    auction.closed_reason = reason.value
    auction.closed_at = ctx.clock()
    auction.winner_id = None
    auction.final_price = None
    session.flush()
    watchlist.tell_outcome(session, ctx, auction)  # watchers hear the outcome too
    outbox.state_patch(
        session,
        str(auction.id),
        auction.round,
        {"status": auction.status},
        schedule=schedules.entries_of(session, auction),
    )
    announce_close(session, ctx, auction)


def outcome_data(auction: Auction, top: Bid) -> dict[str, Any]:
    """What the parties are told about a decision on the highest bid."""
    return {
        "auctionId": str(auction.id),
        "itemName": auction.item_name,
        "status": auction.status,
        "amount": money_str(top.amount),
        "bidId": str(top.id),
        "bidderId": str(top.bidder_id),
        "sellerId": str(auction.seller_id),
    }


def sell_to_highest(
    session: Session, ctx: Context, auction: Auction, top: Bid, *, cause: str
) -> Invoice:
    """Sold at the highest bid (the seller accepts, or DECISION_DEFAULT=accept does)."""
    invoice = sales.complete_sale(
        session,
        ctx,
        auction,
        buyer_id=top.bidder_id,
        price=top.amount,
        reason="accepted",
        bid_id=top.id,
    )
    sales.announce_sale(
        session,
        ctx,
        auction,
        invoice,
        event=EventType.SELLER_ACCEPTED,
        kind=NotificationType.ACCEPTED,
        cause=cause,
    )
    return invoice


def reject_highest(
    session: Session,
    ctx: Context,
    auction: Auction,
    top: Bid,
    *,
    reason: CloseReason,
    kind: NotificationType,
    cause: str,
) -> None:
    """Closed without a sale on the highest bid (the seller rejects, or the decision window
    runs out): `seller:rejected` to the bidder and the seller, with the reason."""
    close_unsold(session, ctx, auction, reason)
    data = {**outcome_data(auction, top), "closeReason": reason.value}
    tell(
        session,
        ctx,
        auction,
        [str(top.bidder_id), str(auction.seller_id)],
        EventType.SELLER_REJECTED,
        kind,
        data,
        cause=cause,
    )
