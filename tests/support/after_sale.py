"""Helpers of the after-the-hammer tests: bring the hammer down, run the job
queue, shorten the windows, move a deadline to now, read what the room, the parties and the
audit log were told, race requests. Requests go through `tests.support.actors`."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chalice.test import Client
from sqlalchemy import select, update

from shared.adapters import keys
from shared.adapters.orm import (
    Auction,
    AuditEntry,
    CounterOffer,
    Invoice,
    Notification,
    SecondChanceOffer,
)
from shared.services import email_jobs, jobs, outbox, ticker, transitions
from shared.services.context import Context
from tests.support import streams
from tests.support.actors import Bidder
from tests.support.harness import Person, clock_runs_out, live_auction


def hammer(ctx: Context, auction_id: uuid.UUID) -> None:
    """The clock runs out now (`harness.clock_runs_out`) and the end transition runs, as a
    ticker would."""
    clock_runs_out(ctx, auction_id)
    assert transitions.end(ctx, auction_id), "the end transition did not run"


def ended_auction(
    ctx: Context,
    client: Client,
    seller: Person,
    bids: list[tuple[Person, str]],
    **auction: Any,
) -> uuid.UUID:
    """A live auction, the given bids in order, then the hammer: `ended`, awaiting the seller."""
    auction_id = live_auction(ctx, seller, **auction)
    for who, amount in bids:
        Bidder(client, who).placed(auction_id, amount)
    hammer(ctx, auction_id)
    return auction_id


def run_jobs(
    ctx: Context, *, outlets: email_jobs.Outlets | None = None, **kwargs: Any
) -> jobs.WorkReport:
    """Relay what the outbox holds, then run the queue until nothing is due now."""
    outbox.relay(ctx)
    report = jobs.WorkReport()
    while jobs.work(ctx, email_jobs.handlers(outlets), report=report, **kwargs):
        pass
    return report


# -- what the room and the parties were told ---------------------------------------------------


def room_types(ctx: Context, auction_id: uuid.UUID) -> list[str]:
    """The types of the room's events, after the outbox is relayed."""
    return [e["type"] for e in streams.room_events(ctx, auction_id, relay=True)]


def event_types(ctx: Context, user: Person) -> list[str]:
    """The types of the user events the feed holds for `user` (not notifications)."""
    return [e["type"] for e in streams.user_events(ctx, user.id) if e["type"] != "notification"]


def feed_events(ctx: Context, user: Person, auction_id: uuid.UUID | None = None) -> list[Any]:
    """The user events on the live feed for `user` (not notifications), oldest first, after
    the outbox is relayed (of one auction, if given)."""
    outbox.relay(ctx)
    return [
        e
        for e in streams.user_events(ctx, user.id)
        if e["type"] != "notification" and (auction_id is None or e["auctionId"] == str(auction_id))
    ]


def notification_types(
    ctx: Context, user: Person, auction_id: uuid.UUID | None = None
) -> list[str]:
    """The notification types `user` has, oldest first (of one auction, if given)."""
    with ctx.db.session() as session:
        rows = session.scalars(
            select(Notification)
            .where(Notification.user_id == uuid.UUID(user.id))
            .order_by(Notification.created_at, Notification.type)
        ).all()
        return [
            n.type
            for n in rows
            if auction_id is None or n.payload.get("auctionId") == str(auction_id)
        ]


# -- windows, deadlines, the record --------------------------------------------------------------


def windows(ctx: Context, monkeypatch: pytest.MonkeyPatch, **secs: Any) -> None:
    """Shorten (or change) the after-sale windows for this test, through the settings:
    `windows(ctx, mp, decision_window_secs=2, decision_default="accept")`."""
    monkeypatch.setattr(ctx, "settings", ctx.settings.model_copy(update=secs))


def now() -> datetime:
    return datetime.now(UTC)


def soon(ms: int = 0) -> datetime:
    return now() + timedelta(milliseconds=ms)


def move_deadline(ctx: Context, auction_id: uuid.UUID, to: datetime, **columns: bool) -> None:
    """Move one of an auction's deadlines in the record (the schedule follows on the next
    sweep; a test calls the fire functions or the ticker itself)."""
    with ctx.db.session() as session:
        if columns.get("decision"):
            session.execute(
                update(Auction)
                .where(Auction.id == auction_id)
                .values(decision_deadline=to, decision_reminder_at=to - timedelta(seconds=1))
            )
        if columns.get("reminder"):
            session.execute(
                update(Auction).where(Auction.id == auction_id).values(decision_reminder_at=to)
            )
        if columns.get("counter"):
            session.execute(
                update(CounterOffer)
                .where(CounterOffer.auction_id == auction_id)
                .values(expires_at=to)
            )
        if columns.get("offer"):
            session.execute(
                update(SecondChanceOffer)
                .where(SecondChanceOffer.auction_id == auction_id)
                .values(expires_at=to)
            )
        if columns.get("payment"):
            session.execute(
                update(Invoice)
                .where(Invoice.auction_id == auction_id, Invoice.voided_at.is_(None))
                .values(payment_due_at=to)
            )


def feed_types(ctx: Context, user: Person, auction_id: uuid.UUID | None = None) -> list[str]:
    return [e["type"] for e in feed_events(ctx, user, auction_id)]


def all_notes(ctx: Context) -> Counter[tuple[str, str, str]]:
    """(user, type, auctionId) of every notification, counted."""
    with ctx.db.session() as session:
        return Counter(
            (str(n.user_id), n.type, str(n.payload.get("auctionId")))
            for n in session.scalars(select(Notification))
        )


def audit_actions(ctx: Context, auction_id: uuid.UUID | None = None) -> list[str]:
    with ctx.db.session() as session:
        query = select(AuditEntry.action).order_by(AuditEntry.id)
        if auction_id is not None:
            query = query.where(AuditEntry.auction_id == auction_id)
        return list(session.scalars(query))


def status_of(ctx: Context, auction_id: uuid.UUID) -> tuple[str, str | None]:
    with ctx.db.session() as session:
        auction = session.get(Auction, auction_id)
        assert auction is not None
        return auction.status, auction.closed_reason


def queued_job_ids(ctx: Context) -> set[str]:
    outbox.relay(ctx)
    flat = ctx.store.command("HGETALL", keys.JOBS_DATA) or []
    return {flat[i] for i in range(0, len(flat), 2)}


def tick_until(
    ctx: Context, done: Callable[[], bool], *, timeout: float = 15.0, every: float = 0.1
) -> None:
    """Run the lifecycle tick (as the ticker would) until `done()`."""
    own = ticker.Ticker(sweep_every_s=0.5)
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError("the ticker did not get there in time")
        own.tick(ctx)
        time.sleep(every)


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released together; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(i: int, fn: Callable[[], Any]) -> None:
        try:
            barrier.wait(10)
            results[i] = fn()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == [], errors
    return results
