"""The seller's decision window and the counter offer's expiry: timed transitions like start and
end (CONTRACT 11). The ticker fires them when their schedule (or the PostgreSQL sweep) says so;
a request that meets one overdue fires it first (`apply_overdue`), then is judged on the
record, so a decision racing its own deadline gives exactly one outcome.

Each fire function: take the auction's row lock, check the record (status, the clock, and that
the moment was not handled yet), write the outcome with its events, notifications, email jobs
and audit entry in one transaction, and return True only when this call made it. Two tickers,
a restart, or a request and a ticker at once: exactly one of them returns True.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from shared.adapters.orm import Auction, Bid, CounterOffer
from shared.adapters.redis_store import StoreError, StoreUnavailable
from shared.domain.deadlines import default_action, has_passed
from shared.domain.decisions import SellerAction
from shared.domain.money import money_str
from shared.domain.times import iso
from shared.domain.vocabulary import (
    AuctionStatus,
    CloseReason,
    CounterStatus,
    EventType,
    NotificationType,
)
from shared.services import audit, email_jobs, notifications, outbox, outcomes, records, schedules
from shared.services.context import Context

log = logging.getLogger(__name__)

Fire = Callable[[Context, uuid.UUID], bool]


def apply_overdue(ctx: Context, auction_id: uuid.UUID, fire: Fire) -> None:
    """For a request that acts on what a deadline decides: fire it first if it is due (the
    fire function checks; a failure leaves it to the ticker, and the request is judged on the
    clock all the same)."""
    try:
        fire(ctx, auction_id)
    except (SQLAlchemyError, StoreUnavailable, StoreError) as exc:
        log.warning("deadline of %s left to the ticker: %s", auction_id, exc)


def _undecided_top(session: Session, auction: Auction | None) -> Bid | None:
    """The highest bid of an ended auction whose seller has not decided (no counter offer in
    this round), else None."""
    if auction is None or auction.status != AuctionStatus.ENDED:
        return None
    if records.counter_of(session, auction) is not None:
        return None
    return records.decided_bid(session, auction)


def decision_reminder(ctx: Context, auction_id: uuid.UUID) -> bool:
    """Half-way through the decision window: remind the seller once (notification, email)."""
    with ctx.db.session() as session:
        auction = records.lock_auction(session, auction_id)
        top = _undecided_top(session, auction)
        if auction is None or top is None or auction.decision_reminded_at is not None:
            return False
        now = ctx.clock()
        if not has_passed(auction.decision_reminder_at, now):
            return False
        auction.decision_reminded_at = now
        session.flush()
        aid = str(auction.id)
        notifications.notify(
            session,
            ctx,
            cause=f"decision_reminder:{aid}:{auction.round}",
            user_id=str(auction.seller_id),
            kind=NotificationType.DECISION_REMINDER,
            payload={
                "auctionId": aid,
                "itemName": auction.item_name,
                "amount": money_str(top.amount),
                "decisionDeadline": iso(auction.decision_deadline),
                "default": ctx.settings.decision_default,
            },
        )
        outbox.job(session, email_jobs.decision_reminder_job(auction, top))
        outbox.state_patch(
            session, aid, auction.round, {}, schedule=schedules.entries_of(session, auction)
        )
    outbox.relay(ctx)
    return True


def decision_deadline(ctx: Context, auction_id: uuid.UUID) -> bool:
    """The decision window ran out: DECISION_DEFAULT applies, with the events, notifications
    and emails of that decision (`reject`: closed, closeReason `decision_expired`; `accept`:
    sold at the highest bid when the reserve is met, else rejected)."""
    with ctx.db.session() as session:
        auction = records.lock_auction(session, auction_id)
        top = _undecided_top(session, auction)
        if auction is None or top is None:
            return False
        if not has_passed(auction.decision_deadline, ctx.clock()):
            return False
        aid = str(auction.id)
        action = default_action(ctx.settings.decision_default, auction.reserve_price, top.amount)
        cause = f"decision_deadline:{aid}:{auction.round}"
        details: dict[str, Any] = {
            "default": ctx.settings.decision_default,
            "applied": action.value,
            "bidId": str(top.id),
            "highestBid": money_str(top.amount),
            "decisionDeadline": iso(auction.decision_deadline),
        }
        if action == SellerAction.ACCEPT:
            invoice = outcomes.sell_to_highest(session, ctx, auction, top, cause=cause)
            details["invoiceNumber"] = invoice.number
            notifications.notify(
                session,
                ctx,
                cause=cause,
                user_id=str(auction.seller_id),
                kind=NotificationType.DECISION_EXPIRED,
                payload={
                    **outcomes.outcome_data(auction, top),
                    "applied": action.value,
                    "decisionDeadline": iso(auction.decision_deadline),
                },
            )
        else:
            outcomes.reject_highest(
                session,
                ctx,
                auction,
                top,
                reason=CloseReason.DECISION_EXPIRED,
                kind=NotificationType.DECISION_EXPIRED,
                cause=cause,
            )
            for job in email_jobs.decision_expired_jobs(auction, top):
                outbox.job(session, job)
        audit.record(session, None, "system.decision_default", auction.id, details)
    outbox.relay(ctx)
    return True


def counter_expiry(ctx: Context, auction_id: uuid.UUID) -> bool:
    """A counter offer unanswered by its expiresAt: `expired`, and the auction closes
    (closeReason `counter_expired`); `counter:expired` to the buyer and the seller."""
    with ctx.db.session() as session:
        # Lock order: the auction, then the offer (the buyer's answer takes the same order).
        auction = records.lock_auction(session, auction_id)
        if auction is None or auction.status != AuctionStatus.ENDED:
            return False
        counter = session.scalars(
            select(CounterOffer)
            .where(CounterOffer.auction_id == auction.id, CounterOffer.round == auction.round)
            .with_for_update()
        ).first()
        if counter is None or counter.status != CounterStatus.PENDING:
            return False
        if not has_passed(counter.expires_at, ctx.clock()):
            return False
        counter.status = CounterStatus.EXPIRED.value
        outcomes.close_unsold(session, ctx, auction, CloseReason.COUNTER_EXPIRED)
        data = {
            "auctionId": str(auction.id),
            "itemName": auction.item_name,
            "status": auction.status,
            "closeReason": auction.closed_reason,
            "counterOffer": {
                "id": str(counter.id),
                "amount": money_str(counter.amount),
                "status": counter.status,
                "expiresAt": iso(counter.expires_at),
            },
            "counterId": str(counter.id),
            "amount": money_str(counter.amount),
            "buyerId": str(counter.buyer_id),
            "sellerId": str(counter.seller_id),
        }
        outcomes.tell(
            session,
            ctx,
            auction,
            [str(counter.buyer_id), str(counter.seller_id)],
            EventType.COUNTER_EXPIRED,
            NotificationType.COUNTER_EXPIRED,
            data,
            cause=f"counter:{counter.id}:expired",
        )
        for job in email_jobs.counter_expired_jobs(counter):
            outbox.job(session, job)
        audit.record(
            session,
            None,
            "system.counter_expired",
            auction.id,
            {"counterId": str(counter.id), "amount": money_str(counter.amount)},
        )
    outbox.relay(ctx)
    return True
