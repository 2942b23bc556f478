"""The lifecycle tick: the bid intake, the outbox relay, then every timed transition that is
due. The socket node runs it every second and the scheduled function every minute; both at
once (or a restart mid-transition) do each transition exactly once, because a schedule entry
is claimed atomically and each transition is guarded by the auction's status under its lock.

Each `Moment` of `shared.domain.schedule` has one `Transition` here: how to fire it, and how to
find in PostgreSQL the auctions it is due for (the sweep, every few seconds, in case a schedule
was lost; and the rebuild of the schedules on boot).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from shared.adapters.orm import Auction
from shared.adapters.redis_store import StoreError, StoreUnavailable
from shared.domain.schedule import Moment
from shared.domain.times import to_ms
from shared.domain.vocabulary import AuctionStatus
from shared.services import (
    auction_state,
    bid_intake,
    ending_soon,
    outbox,
    schedules,
    transitions,
)
from shared.services.context import Context

log = logging.getLogger(__name__)

SWEEP_EVERY_S = 5.0
SWEEP_LIMIT = 200
OPEN = (AuctionStatus.SCHEDULED.value, AuctionStatus.LIVE.value)


@dataclass(frozen=True)
class Transition:
    moment: Moment
    fire: Callable[[Context, uuid.UUID], bool]  # True when this call made the transition
    overdue: Callable[[Session, datetime], Sequence[uuid.UUID]]  # due by the record


def _overdue_starts(session: Session, now: datetime) -> Sequence[uuid.UUID]:
    return session.scalars(
        select(Auction.id)
        .where(
            Auction.status == AuctionStatus.SCHEDULED,
            Auction.go_live_at <= now,
            Auction.ends_at > now,
        )
        .limit(SWEEP_LIMIT)
    ).all()


def _overdue_ends(session: Session, now: datetime) -> Sequence[uuid.UUID]:
    return session.scalars(
        select(Auction.id)
        .where(Auction.status.in_(OPEN), Auction.ends_at <= now)
        .limit(SWEEP_LIMIT)
    ).all()


TRANSITIONS: tuple[Transition, ...] = (
    Transition(Moment.START, transitions.start, _overdue_starts),
    Transition(Moment.END, transitions.end, _overdue_ends),
    Transition(Moment.ENDING_SOON, ending_soon.fire, ending_soon.overdue),
)


@dataclass
class TickReport:
    fired: dict[Moment, list[str]] = field(default_factory=dict)
    intake: int = 0
    relayed: int = 0
    # How late each transition this tick made from a schedule entry fired: (moment, seconds
    # from the entry's due time to the transition done). The socket node's figures.
    late: list[tuple[Moment, float]] = field(default_factory=list)

    @property
    def started(self) -> list[str]:
        return self.fired.get(Moment.START, [])

    @property
    def ended(self) -> list[str]:
        return self.fired.get(Moment.END, [])


@dataclass
class Ticker:
    """One process's ticker: it remembers when it last swept PostgreSQL."""

    transitions: tuple[Transition, ...] = TRANSITIONS
    sweep_every_s: float = SWEEP_EVERY_S
    last_sweep: float = field(default=float("-inf"))

    def tick(self, ctx: Context, *, sweep: bool | None = None) -> TickReport:
        """Bid intake, outbox relay, then the due transitions (from the schedules, and every
        few seconds from PostgreSQL itself)."""
        report = TickReport(intake=bid_intake.drain(ctx), relayed=outbox.relay(ctx))
        due: dict[Moment, list[str]] = {}
        due_ms: dict[tuple[Moment, str], int] = {}
        for t in self.transitions:
            try:
                claimed = schedules.claim_due(ctx, t.moment)
                due[t.moment] = [aid for aid, _ in claimed]
                due_ms.update({(t.moment, aid): at for aid, at in claimed})
            except (StoreUnavailable, StoreError) as exc:
                log.warning("schedule %s unreadable this tick: %s", t.moment, exc)
                due[t.moment] = []
        if sweep is None:
            sweep = time.monotonic() - self.last_sweep >= self.sweep_every_s
        if sweep:
            self.last_sweep = time.monotonic()
            self._sweep(ctx, due)
        for t in self.transitions:
            made = report.fired.setdefault(t.moment, [])
            for aid in due[t.moment]:
                before = len(made)
                _run(ctx, t, aid, made)
                at = due_ms.get((t.moment, aid))
                if len(made) > before and at is not None:
                    report.late.append((t.moment, max(0.0, (to_ms(ctx.clock()) - at) / 1000)))
        return report

    def _sweep(self, ctx: Context, due: dict[Moment, list[str]]) -> None:
        now = ctx.clock()
        try:
            with ctx.db.session() as session:
                for t in self.transitions:
                    for auction_id in t.overdue(session, now):
                        if str(auction_id) not in due[t.moment]:
                            due[t.moment].append(str(auction_id))
        except SQLAlchemyError as exc:
            log.warning("sweep postponed: %s", exc)


def _run(ctx: Context, transition: Transition, aid: str, made: list[str]) -> None:
    try:
        auction_id = uuid.UUID(aid)
        if transition.fire(ctx, auction_id):
            made.append(aid)
        _settle(ctx, auction_id)
    except (SQLAlchemyError, StoreUnavailable, StoreError, ValueError) as exc:
        # The claim's lease runs out and the next tick (or the sweep) retries.
        log.warning("transition %s of %s postponed: %s", transition.moment, aid, exc)


def _settle(ctx: Context, auction_id: uuid.UUID) -> None:
    """After a claimed transition (made or not), schedule the auction as its status says."""
    aid = str(auction_id)
    with ctx.db.session() as session:
        auction = session.get(Auction, auction_id)
        if auction is not None:
            schedules.place(ctx, aid, schedules.entries_for(auction, schedules.redis_end(ctx, aid)))


def tick(ctx: Context) -> TickReport:
    """One tick that always sweeps (the scheduled function's: it runs once a minute)."""
    return Ticker().tick(ctx, sweep=True)


def rebuild_schedule(ctx: Context) -> int:
    """On boot: Redis state and schedules of every open auction, from PostgreSQL."""
    count = 0
    with ctx.db.session() as session:
        for auction in session.scalars(select(Auction).where(Auction.status.in_(OPEN))):
            aid = str(auction.id)
            auction_state.seed(ctx, session, auction)
            end = schedules.redis_end(ctx, aid)
            schedules.place(ctx, aid, schedules.entries_for(auction, end))
            schedules.place(
                ctx, aid, ending_soon.entry(auction, ctx.settings.ending_soon_secs, end)
            )
            count += 1
    return count
