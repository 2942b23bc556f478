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
from typing import Any

from sqlalchemy import and_, exists, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from shared.adapters.orm import Auction, CounterOffer, Invoice, SecondChanceOffer
from shared.adapters.redis_store import StoreError, StoreUnavailable
from shared.domain.schedule import Moment
from shared.domain.times import to_ms
from shared.domain.vocabulary import (
    OPEN_STATUSES,
    AuctionStatus,
    CounterStatus,
    OfferStatus,
    PaymentStatus,
)
from shared.services import (
    auction_state,
    bid_intake,
    deadlines,
    ending_soon,
    ledger,
    outbox,
    schedules,
    transitions,
    trust,
)
from shared.services.context import Context

log = logging.getLogger(__name__)

SWEEP_EVERY_S = 5.0
SWEEP_LIMIT = 200


@dataclass(frozen=True)
class Transition:
    moment: Moment
    fire: Callable[[Context, uuid.UUID], bool]  # True when this call made the transition
    overdue: Callable[[Session, datetime], Sequence[uuid.UUID]]  # due by the record
    # The auctions this moment is still ahead for (the boot rebuild places their entries;
    # None: the rebuild's loop over open auctions covers it).
    pending: Callable[[Session], Sequence[uuid.UUID]] | None = None


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
        .where(Auction.status.in_(OPEN_STATUSES), Auction.ends_at <= now)
        .limit(SWEEP_LIMIT)
    ).all()


# -- after the hammer: each query is the sweep of one deadline; without `now`,
# every auction the deadline is still ahead for (the rebuild on boot).

_NO_COUNTER = ~exists().where(
    CounterOffer.auction_id == Auction.id, CounterOffer.round == Auction.round
)


def _undecided(now: datetime | None, column: Any) -> Any:
    query = select(Auction.id).where(
        Auction.status == AuctionStatus.ENDED, column.is_not(None), _NO_COUNTER
    )
    return query if now is None else query.where(column <= now).limit(SWEEP_LIMIT)


def _reminders(session: Session, now: datetime | None = None) -> Sequence[uuid.UUID]:
    query = _undecided(now, Auction.decision_reminder_at)
    return session.scalars(query.where(Auction.decision_reminded_at.is_(None))).all()


def _decision_deadlines(session: Session, now: datetime | None = None) -> Sequence[uuid.UUID]:
    return session.scalars(_undecided(now, Auction.decision_deadline)).all()


def _counter_expiries(session: Session, now: datetime | None = None) -> Sequence[uuid.UUID]:
    query = (
        select(CounterOffer.auction_id)
        .join(
            Auction,
            and_(Auction.id == CounterOffer.auction_id, Auction.round == CounterOffer.round),
        )
        .where(
            CounterOffer.status == CounterStatus.PENDING,
            CounterOffer.expires_at.is_not(None),
            Auction.status == AuctionStatus.ENDED,
        )
    )
    if now is not None:
        query = query.where(CounterOffer.expires_at <= now).limit(SWEEP_LIMIT)
    return session.scalars(query).all()


def _offer_expiries(session: Session, now: datetime | None = None) -> Sequence[uuid.UUID]:
    query = select(SecondChanceOffer.auction_id).where(
        SecondChanceOffer.status == OfferStatus.PENDING
    )
    if now is not None:
        query = query.where(SecondChanceOffer.expires_at <= now).limit(SWEEP_LIMIT)
    return session.scalars(query).all()


def _payments_due(session: Session, now: datetime | None = None) -> Sequence[uuid.UUID]:
    query = select(Invoice.auction_id).where(
        Invoice.voided_at.is_(None),
        Invoice.payment_due_notified_at.is_(None),
        Invoice.payment_status.in_((PaymentStatus.PENDING.value, PaymentStatus.PAID.value)),
    )
    if now is not None:
        query = query.where(Invoice.payment_due_at <= now).limit(SWEEP_LIMIT)
    return session.scalars(query).all()


def _ships_due(session: Session, now: datetime | None = None) -> Sequence[uuid.UUID]:
    query = select(Invoice.auction_id).where(
        Invoice.voided_at.is_(None),
        Invoice.shipped_at.is_(None),
        Invoice.ship_reminded_at.is_(None),
        Invoice.ship_by.is_not(None),
        Invoice.payment_status.in_((PaymentStatus.PAID.value, PaymentStatus.CONFIRMED.value)),
    )
    if now is not None:
        query = query.where(Invoice.ship_by <= now).limit(SWEEP_LIMIT)
    return session.scalars(query).all()


TRANSITIONS: tuple[Transition, ...] = (
    Transition(Moment.START, transitions.start, _overdue_starts),
    Transition(Moment.END, transitions.end, _overdue_ends),
    Transition(Moment.ENDING_SOON, ending_soon.fire, ending_soon.overdue),
    Transition(Moment.DECISION_REMINDER, deadlines.decision_reminder, _reminders, _reminders),
    Transition(
        Moment.DECISION_DEADLINE,
        deadlines.decision_deadline,
        _decision_deadlines,
        _decision_deadlines,
    ),
    Transition(
        Moment.COUNTER_EXPIRY, deadlines.counter_expiry, _counter_expiries, _counter_expiries
    ),
    Transition(Moment.OFFER_EXPIRY, deadlines.offer_expiry, _offer_expiries, _offer_expiries),
    Transition(Moment.PAYMENT_DUE, deadlines.payment_due, _payments_due, _payments_due),
    Transition(Moment.SHIP_DUE, deadlines.ship_due, _ships_due, _ships_due),
)


@dataclass
class TickReport:
    fired: dict[Moment, list[str]] = field(default_factory=dict)
    intake: int = 0
    relayed: int = 0
    rescored: int = 0  # (bidder, seller) pairs whose shill signals were computed again
    checkpoints: int = 0  # bid logs that grew and got a new signed checkpoint
    # How late each transition this tick made from a schedule entry fired: (moment, seconds
    # from the entry's due time to the transition done). The socket node's figures.
    late: list[tuple[Moment, float]] = field(default_factory=list)

    @property
    def started(self) -> list[str]:
        return self.fired.get(Moment.START, [])

    @property
    def ended(self) -> list[str]:
        return self.fired.get(Moment.END, [])

    @property
    def deadlines(self) -> dict[str, list[str]]:
        """The after-the-hammer moments this tick made (by moment)."""
        return {
            m.value: ids
            for m, ids in self.fired.items()
            if m not in (Moment.START, Moment.END) and ids
        }


@dataclass
class Ticker:
    """One process's ticker: it remembers when it last swept PostgreSQL."""

    transitions: tuple[Transition, ...] = TRANSITIONS
    sweep_every_s: float = SWEEP_EVERY_S
    last_sweep: float = field(default=float("-inf"))
    # Look at every bid log for growth, not only those with recent entries (the scheduled
    # backstop, once a minute).
    every_log: bool = False

    def tick(self, ctx: Context, *, sweep: bool | None = None) -> TickReport:
        """Bid intake, outbox relay, the shill signals of the pairs the bids touched, then the
        due transitions (from the schedules, and every few seconds from PostgreSQL itself)."""
        report = TickReport(intake=bid_intake.drain(ctx), relayed=outbox.relay(ctx))
        # Right after the intake, before any slow transition: a bid's receipt promises a
        # signed checkpoint covering it within LEDGER_MMD_MS, and this runs every second.
        report.checkpoints = ledger.checkpoint_grown(ctx, everything=self.every_log)
        # Right after the intake: a bid's pair is scored within a tick or two of the bid.
        report.rescored = trust.refresh(ctx)
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
            trust.forget_old_sources(ctx)
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
    """After a claimed transition (made or not), schedule the auction as its record says (a
    claim's lease entry that no longer applies is removed here, not retried forever)."""
    aid = str(auction_id)
    with ctx.db.session() as session:
        auction = session.get(Auction, auction_id)
        if auction is not None:
            end = schedules.redis_end(ctx, aid)
            schedules.place(ctx, aid, schedules.entries_of(session, auction, end))


def tick(ctx: Context) -> TickReport:
    """One tick that always sweeps (the scheduled function's: it runs once a minute)."""
    return Ticker(every_log=True).tick(ctx, sweep=True)


def rebuild_schedule(ctx: Context, moments: tuple[Transition, ...] = TRANSITIONS) -> int:
    """On boot: Redis state and schedules of every open auction, and the schedules of every
    deadline still ahead after a hammer, from PostgreSQL."""
    count = 0
    with ctx.db.session() as session:
        for auction in session.scalars(select(Auction).where(Auction.status.in_(OPEN_STATUSES))):
            aid = str(auction.id)
            auction_state.seed(ctx, session, auction)
            end = schedules.redis_end(ctx, aid)
            schedules.place(ctx, aid, schedules.entries_for(auction, end))
            schedules.place(
                ctx, aid, schedules.ending_soon_entry(auction, ctx.settings.ending_soon_secs, end)
            )
            count += 1
        waiting: set[uuid.UUID] = set()
        for t in moments:
            if t.pending is not None:
                waiting.update(t.pending(session))
        for auction_id in waiting:
            after = session.get(Auction, auction_id)
            if after is not None:
                schedules.place(ctx, str(auction_id), schedules.entries_of(session, after))
                count += 1
    return count
