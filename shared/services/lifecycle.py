"""The auction lifecycle: scheduled -> live -> ended | closed_no_winner, and sales.

Every transition takes the auction row's lock, checks its status (the guard), and writes its
events, notifications and jobs to the outbox in the same transaction: two tickers (the socket
node and the scheduled function), a restart, or a reader nudging an overdue auction can run
the same transition at once, and it happens exactly once.

The window of bids does not depend on any of this: the bid script reads the clock.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from shared.adapters import keys
from shared.adapters.orm import Auction, Bid, Invoice, InvoiceSequence
from shared.adapters.redis_store import StoreError, StoreUnavailable, load_script
from shared.domain.money import money_str
from shared.domain.times import from_ms, iso, to_ms
from shared.domain.vocabulary import AuctionStatus, EventType, NotificationType
from shared.services import auction_state, auctions, audit, bid_intake, notifications, outbox
from shared.services.context import Context

log = logging.getLogger(__name__)

OPEN = (AuctionStatus.SCHEDULED.value, AuctionStatus.LIVE.value)
LEASE_MS = 30_000
SWEEP_EVERY_S = 5.0


def _locked(session: Session, auction_id: uuid.UUID) -> Auction | None:
    return session.scalars(
        select(Auction).where(Auction.id == auction_id).with_for_update()
    ).first()


def _redis_end(ctx: Context, auction_id: str) -> datetime | None:
    """endsAt as Redis has it (a soft close moves it there first)."""
    try:
        value = ctx.store.command("HGET", keys.state(auction_id), "endsAt")
    except (StoreUnavailable, StoreError):
        return None
    return from_ms(value) if value else None


def _schedule(ctx: Context, auction: Auction, end: datetime | None = None) -> None:
    """Put the auction's schedule entries where its status says they belong."""
    aid = str(auction.id)
    end = max(auction.ends_at, end) if end else auction.ends_at
    commands: list[list[str | int | float]]
    if auction.status == AuctionStatus.SCHEDULED:
        commands = [
            ["ZADD", keys.SCHEDULE_START, to_ms(auction.go_live_at), aid],
            ["ZADD", keys.SCHEDULE_END, to_ms(end), aid],
        ]
    elif auction.status == AuctionStatus.LIVE:
        commands = [
            ["ZREM", keys.SCHEDULE_START, aid],
            ["ZADD", keys.SCHEDULE_END, to_ms(end), aid],
        ]
    else:
        commands = [["ZREM", keys.SCHEDULE_START, aid], ["ZREM", keys.SCHEDULE_END, aid]]
    try:
        ctx.store.pipeline(commands)
    except (StoreUnavailable, StoreError) as exc:
        log.warning("schedule of %s not updated: %s", aid, exc)


# -- transitions -------------------------------------------------------------------------------


def start(ctx: Context, auction_id: uuid.UUID) -> bool:
    """scheduled -> live once goLiveAt has come. True when this call made the transition."""
    now = ctx.clock()
    with ctx.db.session() as session:
        auction = _locked(session, auction_id)
        if auction is None or auction.status != AuctionStatus.SCHEDULED:
            return False
        if auction.go_live_at > now:
            return False
        if auction.ends_at <= now:
            return False  # missed its whole window: the end transition takes it from here
        _go_live(session, ctx, auction)
    outbox.relay(ctx)
    return True


def _go_live(session: Session, ctx: Context, auction: Auction) -> None:
    aid = str(auction.id)
    auction.status = AuctionStatus.LIVE.value
    session.flush()
    outbox.state_patch(
        session,
        aid,
        auction.round,
        {"status": "live", "goLiveAt": to_ms(auction.go_live_at), "endsAt": to_ms(auction.ends_at)},
        start_at="remove",
        end_at=to_ms(auction.ends_at),
    )
    outbox.room_event(
        session,
        ctx,
        aid,
        EventType.AUCTION_STARTED,
        {
            "status": "live",
            "goLiveAt": iso(auction.go_live_at),
            "endsAt": iso(auction.ends_at),
        },
    )
    notifications.notify(
        session,
        ctx,
        cause=f"start:{aid}:{auction.round}:{to_ms(auction.go_live_at)}",
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
    redis_end = _redis_end(ctx, aid)
    bid_intake.drain(ctx)  # every accepted bid is in PostgreSQL before the winner is read
    with ctx.db.session() as session:
        auction = _locked(session, auction_id)
        if auction is None or auction.status not in OPEN:
            return False
        effective_end = max(auction.ends_at, redis_end) if redis_end else auction.ends_at
        if effective_end > now:
            _schedule(ctx, auction, effective_end)
            return False
        auction.ends_at = effective_end
        top = auction_state.highest_bid(session, auction)
        auction.closed_at = now
        payload: dict[str, Any] = {"auctionId": aid, "itemName": auction.item_name}
        cause = f"end:{aid}:{auction.round}"
        seller = str(auction.seller_id)
        if top is None:
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
                    "endsAt": iso(effective_end),
                },
            )
            notifications.notify(
                session,
                ctx,
                cause=cause,
                user_id=seller,
                kind=NotificationType.AUCTION_ENDED,
                payload={**payload, "status": auction.status, "highestBid": None},
            )
        else:
            auction.status = AuctionStatus.ENDED.value
            auction.highest_bid_id = top.id
            session.flush()
            reserve_met = (
                None if auction.reserve_price is None else top.amount >= auction.reserve_price
            )
            highest = auctions.highest_bid_view(top)
            outbox.room_event(
                session,
                ctx,
                aid,
                EventType.AUCTION_ENDED,
                {
                    "status": auction.status,
                    "reason": "time",
                    "highestBid": highest,
                    "reserveMet": reserve_met,
                    "endsAt": iso(effective_end),
                },
            )
            decision = {**payload, "highestBid": highest, "reserveMet": reserve_met}
            outbox.user_event(
                session, ctx, seller, EventType.SELLER_DECISION_REQUIRED, decision, aid
            )
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
        outbox.state_patch(
            session,
            aid,
            auction.round,
            {"status": auction.status, "endsAt": to_ms(effective_end)},
            start_at="remove",
            end_at="remove",
        )
    outbox.relay(ctx)
    return True


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
    """Mark the auction sold, number its invoice (gap-free: taken in this transaction) and
    queue the sale emails. The caller checked the status and adds its own events."""
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
    )
    session.add(invoice)
    session.flush()
    outbox.state_patch(
        session,
        aid,
        auction.round,
        {"status": AuctionStatus.SOLD.value},
        start_at="remove",
        end_at="remove",
    )
    # A counter accepted sends its own confirmation (with this invoice) instead: one email
    # per party for one sale.
    for role, user in (("buyer", buyer_id), ("seller", auction.seller_id)) if confirmation else ():
        outbox.job(
            session,
            {
                "id": f"email:sale:{aid}:{role}",
                "type": "email",
                "template": "sale_confirmation",
                "auctionId": aid,
                "recipientId": str(user),
                "role": role,
                "attachInvoice": True,
            },
        )
    return invoice


def sale_announcement(
    session: Session,
    ctx: Context,
    auction: Auction,
    invoice: Invoice,
    *,
    event: EventType,
    kind: NotificationType,
    cause: str,
) -> None:
    """The user events and notifications of a sale, for the buyer and the seller."""
    aid = str(auction.id)
    data = {
        "auctionId": aid,
        "itemName": auction.item_name,
        "status": auction.status,
        "amount": money_str(auction.final_price),
        "buyerId": str(auction.winner_id),
        "sellerId": str(auction.seller_id),
        "invoiceNumber": invoice.number,
    }
    for user in (str(auction.winner_id), str(auction.seller_id)):
        outbox.user_event(session, ctx, user, event, data, aid)
        notifications.notify(session, ctx, cause=cause, user_id=user, kind=kind, payload=data)


def finish_buy_now(
    session: Session, ctx: Context, auction_id: uuid.UUID, bid_id: uuid.UUID
) -> bool:
    """Buy-now: the bid script already closed the window; make it a sale in the record."""
    auction = _locked(session, auction_id)
    if auction is None or auction.status not in OPEN or auction.buy_now_price is None:
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
            "highestBid": auctions.highest_bid_view(bid),
            "endsAt": iso(auction.ends_at),
        },
    )
    sale_announcement(
        session,
        ctx,
        auction,
        invoice,
        event=EventType.SELLER_ACCEPTED,
        kind=NotificationType.ACCEPTED,
        cause=f"sale:{aid}:{auction.round}",
    )
    return True


def admin_start(ctx: Context, auction_id: uuid.UUID, actor_id: str | None = None) -> Auction:
    """Live from now for durationMins (a scheduled auction only); audited."""
    from shared.domain.errors import DomainError

    now = ctx.clock()
    with ctx.db.session() as session:
        auction = _locked(session, auction_id)
        if auction is None:
            raise DomainError("not_found", "No such auction")
        if auction.status != AuctionStatus.SCHEDULED:
            raise DomainError(
                "decision_not_allowed",
                f"Only a scheduled auction can be started ({auction.status})",
            )
        scheduled_for = auction.go_live_at
        auction.go_live_at = now
        auction.ends_at = now + timedelta(minutes=auction.duration_mins)
        _go_live(session, ctx, auction)
        audit.record(
            session,
            actor_id,
            "admin.start",
            auction.id,
            {
                "scheduledFor": iso(scheduled_for),
                "goLiveAt": iso(now),
                "endsAt": iso(auction.ends_at),
            },
        )
    outbox.relay(ctx)
    return auction


def admin_reset(
    ctx: Context, auction_id: uuid.UUID, go_live_at: datetime, actor_id: str | None = None
) -> Auction:
    """Back to scheduled in a new round: earlier bids are kept, void (their round is over);
    audited."""
    from shared.domain.errors import DomainError, invalid

    if go_live_at <= ctx.clock():
        raise invalid("goLiveAt", "must be in the future")
    with ctx.db.session() as session:
        auction = _locked(session, auction_id)
        if auction is None:
            raise DomainError("not_found", "No such auction")
        if auction.status == AuctionStatus.SOLD:
            raise DomainError("decision_not_allowed", "A sold auction cannot be reset")
        audit.record(
            session,
            actor_id,
            "admin.reset",
            auction.id,
            {
                "fromStatus": auction.status,
                "fromRound": auction.round,
                "goLiveAt": iso(go_live_at),
            },
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
        session.flush()
        outbox.state_patch(
            session,
            str(auction.id),
            auction.round,
            {
                "status": "scheduled",
                "goLiveAt": to_ms(go_live_at),
                "endsAt": to_ms(auction.ends_at),
                "round": auction.round,
            },
            start_at=to_ms(go_live_at),
            end_at=to_ms(auction.ends_at),
            clear=True,
        )
    outbox.relay(ctx)
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


def advance_if_due(ctx: Context, auction: Auction) -> None:
    """A reader of an overdue auction moves it on (cheap check first; exactly once inside)."""
    now = ctx.clock()
    try:
        if auction.status == AuctionStatus.SCHEDULED and auction.go_live_at <= now:
            start(ctx, auction.id)
        if auction.status in OPEN and auction.ends_at <= now:
            end(ctx, auction.id)
    except (SQLAlchemyError, StoreUnavailable, StoreError) as exc:
        log.warning("could not advance auction %s: %s", auction.id, exc)


# -- the ticker ---------------------------------------------------------------------------------


@dataclass
class TickReport:
    started: list[str] = field(default_factory=list)
    ended: list[str] = field(default_factory=list)
    intake: int = 0
    relayed: int = 0


def _claim(ctx: Context, schedule: str, limit: int = 100) -> list[str]:
    return list(ctx.store.script(load_script("claim_due"), [schedule], [limit, LEASE_MS]) or [])


def _settle(ctx: Context, auction_id: uuid.UUID) -> None:
    """After a claimed transition (made or not), schedule the auction as its status says."""
    with ctx.db.session() as session:
        auction = session.get(Auction, auction_id)
        if auction is not None:
            _schedule(ctx, auction, _redis_end(ctx, str(auction_id)))


_last_sweep = 0.0


def tick(ctx: Context, *, sweep: bool | None = None) -> TickReport:
    """One lifecycle tick: bid intake, outbox relay, due starts and ends (from the schedules,
    and every few seconds from PostgreSQL itself, in case the schedules were lost)."""
    global _last_sweep
    report = TickReport()
    report.intake = bid_intake.drain(ctx)
    report.relayed = outbox.relay(ctx)
    due_start: list[str] = []
    due_end: list[str] = []
    try:
        due_start = _claim(ctx, keys.SCHEDULE_START)
        due_end = _claim(ctx, keys.SCHEDULE_END)
    except (StoreUnavailable, StoreError) as exc:
        log.warning("schedules unreadable this tick: %s", exc)
    if sweep is None:
        sweep = time.monotonic() - _last_sweep >= SWEEP_EVERY_S
    if sweep:
        _last_sweep = time.monotonic()
        now = ctx.clock()
        with ctx.db.session() as session:
            overdue = session.execute(
                select(Auction.id, Auction.status, Auction.go_live_at, Auction.ends_at)
                .where(
                    or_(
                        (Auction.status == AuctionStatus.SCHEDULED) & (Auction.go_live_at <= now),
                        Auction.status.in_(OPEN) & (Auction.ends_at <= now),
                    )
                )
                .limit(200)
            ).all()
        for row in overdue:
            target = due_end if row.ends_at <= now else due_start
            if str(row.id) not in target:
                target.append(str(row.id))
    for aid in due_start:
        _run(ctx, start, aid, report.started)
    for aid in due_end:
        _run(ctx, end, aid, report.ended)
    return report


def _run(ctx: Context, transition: Any, aid: str, made: list[str]) -> None:
    try:
        auction_id = uuid.UUID(aid)
        if transition(ctx, auction_id):
            made.append(aid)
        _settle(ctx, auction_id)
    except (SQLAlchemyError, StoreUnavailable, StoreError, ValueError) as exc:
        # The claim's lease runs out and the next tick (or the sweep) retries.
        log.warning("transition %s of %s postponed: %s", transition.__name__, aid, exc)


def rebuild_schedule(ctx: Context) -> int:
    """On boot: Redis state and schedules of every open auction, from PostgreSQL."""
    count = 0
    with ctx.db.session() as session:
        for auction in session.scalars(select(Auction).where(Auction.status.in_(OPEN))):
            auction_state.seed(ctx, session, auction)
            _schedule(ctx, auction, _redis_end(ctx, str(auction.id)))
            count += 1
    return count
