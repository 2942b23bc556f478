"""The timed transitions of an auction: scheduled -> live, and live -> ended | closed_no_winner.

Every transition takes the auction row's lock, checks its status (the guard), and writes its
events, notifications and jobs to the outbox in the same transaction: two tickers (the socket
node and the scheduled function), a restart, or a write route closing an overdue auction first
can run the same transition at once, and it happens exactly once.

The window of bids does not depend on any of this: the bid script reads the clock.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from shared.adapters.orm import Auction, Bid
from shared.adapters.redis_store import StoreError, StoreUnavailable
from shared.domain.auctions import reserve_met
from shared.domain.deadlines import after, reminder_at
from shared.domain.times import iso, to_ms
from shared.domain.vocabulary import OPEN_STATUSES, AuctionStatus, EventType, NotificationType
from shared.services import (
    bid_intake,
    notifications,
    outbox,
    outcomes,
    records,
    schedules,
    watchlist,
)
from shared.services.context import Context
from shared.services.views import highest_bid_view

log = logging.getLogger(__name__)


def start(ctx: Context, auction_id: uuid.UUID) -> bool:
    """scheduled -> live once goLiveAt has come. True when this call made the transition."""
    now = ctx.clock()
    with ctx.db.session() as session:
        auction = records.lock_auction(session, auction_id)
        if auction is None or auction.status != AuctionStatus.SCHEDULED:
            return False
        if auction.go_live_at > now:
            return False
        if auction.ends_at <= now:
            return False  # missed its whole window: the end transition takes it from here
        go_live(session, ctx, auction)
    outbox.relay(ctx)
    return True


def go_live(session: Session, ctx: Context, auction: Auction) -> None:
    """The live transition's writes (the caller holds the lock and checked the status)."""
    aid = str(auction.id)
    auction.status = AuctionStatus.LIVE.value
    session.flush()
    go_live_ms, ends_ms = to_ms(auction.go_live_at), to_ms(auction.ends_at)
    outbox.state_patch(
        session,
        aid,
        auction.round,
        {"status": auction.status, "goLiveAt": go_live_ms, "endsAt": ends_ms},
        schedule=schedules.entries_for(auction),
    )
    outbox.room_event(
        session,
        ctx,
        aid,
        EventType.AUCTION_STARTED,
        {"status": "live", "goLiveAt": iso(auction.go_live_at), "endsAt": iso(auction.ends_at)},
    )
    notifications.notify(
        session,
        ctx,
        cause=f"start:{aid}:{auction.round}:{go_live_ms}",
        user_id=str(auction.seller_id),
        kind=NotificationType.AUCTION_STARTED,
        payload={"auctionId": aid, "itemName": auction.item_name, "endsAt": iso(auction.ends_at)},
    )


def end(ctx: Context, auction_id: uuid.UUID) -> bool:
    """live (or a scheduled auction whose window passed) -> ended | closed_no_winner."""
    aid = str(auction_id)
    # The clock first: a bid the script accepts after this moment is past `now`, so once the
    # end is decided on `now`, the drain below has every bid of the window (a clock read after
    # the drain could close the auction without a bid accepted during the drain).
    now = ctx.clock()
    redis_end = schedules.redis_end(ctx, aid)
    bid_intake.drain(ctx)  # every accepted bid is in PostgreSQL before the winner is read
    with ctx.db.session() as session:
        auction = records.lock_auction(session, auction_id)
        if auction is None or auction.status not in OPEN_STATUSES:
            return False
        effective_end = max(auction.ends_at, redis_end) if redis_end else auction.ends_at
        if effective_end > now:
            schedules.place(ctx, aid, schedules.entries_for(auction, effective_end))
            return False
        auction.ends_at = effective_end
        auction.closed_at = now
        top = records.highest_bid(session, auction)
        if top is None:
            _close_without_bids(session, ctx, auction)
        else:
            _await_decision(session, ctx, auction, top)
        # Bidders had their own `auction_ended`; the other watchers hear it here.
        watchlist.tell_outcome(session, ctx, auction, told=records.round_bidders(session, auction))
        outbox.state_patch(
            session,
            aid,
            auction.round,
            {"status": auction.status, "endsAt": to_ms(effective_end)},
            schedule=schedules.entries_of(session, auction),
        )
    outbox.relay(ctx)
    return True


def _close_without_bids(session: Session, ctx: Context, auction: Auction) -> None:
    aid = str(auction.id)
    auction.status = AuctionStatus.CLOSED_NO_WINNER.value
    auction.closed_reason = "no_bids"
    session.flush()
    outbox.room_event(
        session,
        ctx,
        aid,
        EventType.AUCTION_ENDED,
        {
            "status": auction.status,
            "reason": "no_bids",
            "highestBid": None,
            "endsAt": iso(auction.ends_at),
        },
    )
    outcomes.announce_close(session, ctx, auction)
    notifications.notify(
        session,
        ctx,
        cause=f"end:{aid}:{auction.round}",
        user_id=str(auction.seller_id),
        kind=NotificationType.AUCTION_ENDED,
        payload={
            "auctionId": aid,
            "itemName": auction.item_name,
            "status": auction.status,
            "highestBid": None,
        },
    )


def _await_decision(session: Session, ctx: Context, auction: Auction, top: Bid) -> None:
    """Ended with bids: the seller decides, by the deadline the window sets now; every bidder
    hears how it ended."""
    aid = str(auction.id)
    auction.status = AuctionStatus.ENDED.value
    auction.highest_bid_id = top.id
    auction.decision_deadline = after(auction.ends_at, ctx.settings.decision_window_secs)
    auction.decision_reminder_at = reminder_at(auction.ends_at, auction.decision_deadline)
    auction.decision_reminded_at = None
    session.flush()
    met = reserve_met(auction.reserve_price, top.amount)
    highest = highest_bid_view(top)
    outbox.room_event(
        session,
        ctx,
        aid,
        EventType.AUCTION_ENDED,
        {
            "status": auction.status,
            "reason": "time",
            "highestBid": highest,
            "reserveMet": met,
            "endsAt": iso(auction.ends_at),
        },
    )
    cause = f"end:{aid}:{auction.round}"
    seller = str(auction.seller_id)
    payload: dict[str, Any] = {"auctionId": aid, "itemName": auction.item_name}
    decision = {
        **payload,
        "highestBid": highest,
        "reserveMet": met,
        "decisionDeadline": iso(auction.decision_deadline),
    }
    outbox.user_event(session, ctx, seller, EventType.SELLER_DECISION_REQUIRED, decision, aid)
    notifications.notify(
        session,
        ctx,
        cause=cause,
        user_id=seller,
        kind=NotificationType.DECISION_REQUIRED,
        payload=decision,
    )
    bidders = session.scalars(
        select(Bid.bidder_id)
        .where(Bid.auction_id == auction.id, Bid.round == auction.round)
        .distinct()
    ).all()
    for bidder in bidders:
        notifications.notify(
            session,
            ctx,
            cause=cause,
            user_id=str(bidder),
            kind=NotificationType.AUCTION_ENDED,
            payload={
                **payload,
                "status": auction.status,
                "highestBid": highest,
                "youAreHighest": bidder == top.bidder_id,
            },
        )


def close_if_overdue(ctx: Context, auction_id: uuid.UUID) -> None:
    """For a write that acts on what an auction's end decides (the seller's decision): an
    auction past its end that no ticker has closed yet is closed first (exactly once inside;
    a failure leaves it to the ticker, and the write is judged on the record as it is)."""
    now = ctx.clock()
    with ctx.db.session() as session:
        auction = session.get(Auction, auction_id)
        overdue = auction is not None and auction.status in OPEN_STATUSES and auction.ends_at <= now
    if not overdue:
        return
    try:
        end(ctx, auction_id)
    except (SQLAlchemyError, StoreUnavailable, StoreError) as exc:
        log.warning("could not close overdue auction %s: %s", auction_id, exc)
