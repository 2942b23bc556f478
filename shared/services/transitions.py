"""The timed transitions of an auction: scheduled -> live, and live -> ended | closed_no_winner.

Every transition takes the auction row's lock, checks its status (the guard), changes the
record and records what happened (`shared.domain.events`); its consequences (events,
notifications, the Redis state and schedules) join the same transaction: two tickers (the
socket node and the scheduled function), a restart, or a write route closing an overdue
auction first can run the same transition at once, and it happens exactly once.

The window of bids does not depend on any of this: the bid script reads the clock.
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.exc import SQLAlchemyError

from shared.adapters.orm import Auction
from shared.adapters.redis_store import StoreError, StoreUnavailable
from shared.domain.deadlines import after, reminder_at
from shared.domain.events import AuctionEnded, AuctionEndedWithoutBids, AuctionWentLive
from shared.domain.schedule import Moment
from shared.domain.times import from_ms, to_ms
from shared.domain.vocabulary import OPEN_STATUSES, AuctionStatus, CloseReason
from shared.services import auction_state, bid_intake, records, schedules
from shared.services.context import Context
from shared.services.unit_of_work import UnitOfWork, unit_of_work

log = logging.getLogger(__name__)

RETRY_MS = 1000  # an end whose intake was postponed comes back this much later


def start(ctx: Context, auction_id: uuid.UUID) -> bool:
    """scheduled -> live once goLiveAt has come. True when this call made the transition."""
    now = ctx.clock()
    with unit_of_work(ctx) as uow:
        auction = records.lock_auction(uow.session, auction_id)
        if auction is None or auction.status != AuctionStatus.SCHEDULED:
            return False
        if auction.go_live_at > now:
            return False
        if auction.ends_at <= now:
            return False  # missed its whole window: the end transition takes it from here
        go_live(uow, auction)
    return True


def go_live(uow: UnitOfWork, auction: Auction) -> None:
    """The live transition (the caller holds the lock and checked the status)."""
    auction.status = AuctionStatus.LIVE.value
    uow.session.flush()
    uow.record(AuctionWentLive(str(auction.id), auction.round, auction.go_live_at))


def end(ctx: Context, auction_id: uuid.UUID) -> bool:
    """live (or a scheduled auction whose window passed) -> ended | closed_no_winner, once
    endsAt + LATE_BID_GRACE_MS has passed.

    The order is what makes judging bids at their arrival sound: first the window is closed in
    Redis (one script; from then on every bid is refused, whatever its arrival stamp), then
    the accepted bids are drained into PostgreSQL, then the winner is read. A bid that arrived
    before endsAt and reaches the script during the grace is judged on the rules and is in the
    drain; none gets in after it. (Draining before closing once let such a bid get a 201 on
    an auction already decided without it.)"""
    aid = str(auction_id)
    window = auction_state.close_window(ctx, auction_id)
    if window is None:
        return False
    if not window.closed:
        # Too early: the grace after the end (or an end a soft close moved) is still ahead.
        # The end's schedule entry says endsAt; the decisive run is at endsAt + grace.
        due = window.ends_ms + ctx.settings.late_bid_grace_ms
        schedules.place(ctx, aid, {Moment.END: due})
        return False
    if not bid_intake.drain_all(ctx):  # every accepted bid in PostgreSQL before the winner
        # A record may still be in the outbox: deciding now could leave its bid out. The
        # window stays shut; the end comes back in a second (and the ticker's sweep finds it).
        schedules.place(ctx, aid, {Moment.END: to_ms(ctx.clock()) + RETRY_MS})
        return False
    with unit_of_work(ctx) as uow:
        auction = records.lock_auction(uow.session, auction_id)
        if auction is None or auction.status not in OPEN_STATUSES:
            return False
        effective_end = max(auction.ends_at, from_ms(window.ends_ms))
        auction.ends_at = effective_end
        auction.closed_at = ctx.clock()
        top = records.highest_bid(uow.session, auction)
        if top is None:
            auction.status = AuctionStatus.CLOSED_NO_WINNER.value
            auction.closed_reason = CloseReason.NO_BIDS.value
            uow.session.flush()
            uow.record(AuctionEndedWithoutBids(aid, auction.round))
        else:  # the seller decides, by the deadline the window sets now
            auction.status = AuctionStatus.ENDED.value
            auction.highest_bid_id = top.id
            auction.decision_deadline = after(auction.ends_at, ctx.settings.decision_window_secs)
            auction.decision_reminder_at = reminder_at(auction.ends_at, auction.decision_deadline)
            auction.decision_reminded_at = None
            uow.session.flush()
            uow.record(AuctionEnded(aid, auction.round, str(top.id)))
    return True


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
