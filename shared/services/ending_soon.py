"""The "ending soon" notice: `ENDING_SOON_SECS` before the end, every watcher and every bidder
of the round gets one `ending_soon` notification (and its live `notification` event), once.

Exactly once under racing tickers and restarts, like the other timed transitions: the
schedule entry is claimed atomically, the transition takes the row lock and checks
`ending_soon_round` (the round whose notice went out) before it writes anything, and the
notification ids derive from the round, so even a rerun that got past the guard creates
nothing. A soft close moves the end later: when the entry comes due before the (new) notice
time, the transition puts it back at the right moment instead of firing early.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from shared.adapters.orm import Auction
from shared.domain.events import AuctionEndingSoon
from shared.domain.schedule import Moment
from shared.domain.times import to_ms
from shared.domain.vocabulary import OPEN_STATUSES
from shared.services import records, schedules
from shared.services.context import Context
from shared.services.unit_of_work import unit_of_work
from shared.settings import get_settings

SWEEP_LIMIT = 200


def place(ctx: Context, auction: Auction) -> None:
    schedules.place(
        ctx, str(auction.id), schedules.ending_soon_entry(auction, ctx.settings.ending_soon_secs)
    )


def fire(ctx: Context, auction_id: uuid.UUID) -> bool:
    """Send the notice if it is due now. True when this call sent it."""
    aid = str(auction_id)
    now = ctx.clock()
    redis_end = schedules.redis_end(ctx, aid)
    lead = ctx.settings.ending_soon_secs
    with unit_of_work(ctx) as uow:
        auction = records.lock_auction(uow.session, auction_id)
        if auction is None:
            return False
        end = max(auction.ends_at, redis_end) if redis_end else auction.ends_at
        due = schedules.ending_soon_entry(auction, lead, end)[Moment.ENDING_SOON]
        if due is None or end <= now:
            # Sent, closed, or past its end (no longer "soon": the end transition speaks).
            schedules.place(ctx, aid, {Moment.ENDING_SOON: None})
            return False
        if to_ms(now) < due:
            schedules.place(ctx, aid, {Moment.ENDING_SOON: due})  # the end moved later
            return False
        auction.ending_soon_round = auction.round
        uow.record(AuctionEndingSoon(aid, auction.round, end))
    schedules.place(ctx, aid, {Moment.ENDING_SOON: None})
    return True


def overdue(session: Session, now: datetime) -> Sequence[uuid.UUID]:
    """Open auctions inside their notice window whose notice has not gone out (the sweep)."""
    lead = timedelta(seconds=get_settings().ending_soon_secs)
    return session.scalars(
        select(Auction.id)
        .where(
            Auction.status.in_(OPEN_STATUSES),
            Auction.ends_at > now,
            Auction.ends_at <= now + lead,
            Auction.go_live_at <= now,
            or_(
                Auction.ending_soon_round.is_(None),
                and_(Auction.ending_soon_round != Auction.round),
            ),
        )
        .limit(SWEEP_LIMIT)
    ).all()
