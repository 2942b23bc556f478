"""What an admin may do to an auction's schedule: start it now, or reset it to a new round.
Each is audited in the transaction that makes the change."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError

from shared.adapters.orm import Auction, SecondChanceOffer
from shared.adapters.redis_store import StoreError, StoreUnavailable
from shared.domain.errors import DomainError, invalid
from shared.domain.events import AuctionReset
from shared.domain.times import iso
from shared.domain.vocabulary import AuctionStatus, OfferStatus
from shared.services import auction_state, records, transitions
from shared.services.context import Context
from shared.services.unit_of_work import unit_of_work

log = logging.getLogger(__name__)


def start_now(ctx: Context, auction_id: uuid.UUID, actor_id: str | None = None) -> Auction:
    """Live from now for durationMins (a scheduled auction only)."""
    now = ctx.clock()
    with unit_of_work(ctx) as uow:
        auction = records.locked_auction(uow.session, auction_id)
        if auction.status != AuctionStatus.SCHEDULED:
            raise DomainError(
                "decision_not_allowed",
                f"Only a scheduled auction can be started ({auction.status})",
            )
        scheduled_for = auction.go_live_at
        auction.go_live_at = now
        auction.ends_at = now + timedelta(minutes=auction.duration_mins)
        transitions.go_live(uow, auction)
        uow.audit(
            actor_id,
            "admin.start",
            auction.id,
            {
                "scheduledFor": iso(scheduled_for),
                "goLiveAt": iso(now),
                "endsAt": iso(auction.ends_at),
            },
        )
    return auction


def reset(
    ctx: Context, auction_id: uuid.UUID, go_live_at: datetime, actor_id: str | None = None
) -> Auction:
    """Back to scheduled in a new round: earlier bids are kept, void (their round is over)."""
    if go_live_at <= ctx.clock():
        raise invalid("goLiveAt", "must be in the future")
    with unit_of_work(ctx) as uow:
        auction = records.locked_auction(uow.session, auction_id)
        if auction.status == AuctionStatus.SOLD:
            raise DomainError("decision_not_allowed", "A sold auction cannot be reset")
        uow.audit(
            actor_id,
            "admin.reset",
            auction.id,
            {
                "fromStatus": auction.status,
                "fromRound": auction.round,
                "goLiveAt": iso(go_live_at),
            },
        )
        # A second-chance offer of the old round no longer stands (its round is void).
        uow.session.execute(
            update(SecondChanceOffer)
            .where(
                SecondChanceOffer.auction_id == auction.id,
                SecondChanceOffer.status == OfferStatus.PENDING,
            )
            .values(status=OfferStatus.EXPIRED.value, answered_at=ctx.clock())
        )
        auction.round += 1
        auction.status = AuctionStatus.SCHEDULED.value
        auction.go_live_at = go_live_at
        auction.ends_at = go_live_at + timedelta(minutes=auction.duration_mins)
        auction.highest_bid_id = None
        auction.winner_id = None
        auction.final_price = None
        auction.closed_reason = None
        auction.closed_at = None
        auction.decision_deadline = None
        auction.decision_reminder_at = None
        auction.decision_reminded_at = None
        uow.session.flush()
        uow.record(AuctionReset(str(auction.id), auction.round))
    # A new round has no bids, so the record is the whole truth: write it to Redis now, even
    # if the patch above waits on another relay's lock, before the admin's 200 goes out.
    try:
        with ctx.db.session() as session:
            fresh = session.get(Auction, auction.id)
            if fresh is not None and fresh.round == auction.round:
                auction_state.seed(ctx, session, fresh, force=True)
    except (SQLAlchemyError, StoreUnavailable, StoreError) as exc:
        log.warning("reset of %s reaches Redis with the relay: %s", auction.id, exc)
    return auction
