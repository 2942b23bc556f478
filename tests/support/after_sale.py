"""Helpers for the after-the-hammer tests: bid, bring the hammer down, run the job queue."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from chalice.test import Client
from sqlalchemy import select, update

from shared.adapters import keys
from shared.adapters.orm import Auction, Notification
from shared.domain.times import to_ms
from shared.services import email_jobs, jobs, outbox, transitions
from shared.services.context import Context
from tests.support.actors import Bidder
from tests.support.harness import Person, live_auction


def hammer(ctx: Context, auction_id: uuid.UUID) -> None:
    """The clock runs out now (in PostgreSQL and in the bid script's state) and the end
    transition runs, as a ticker would."""
    past = datetime.now(UTC) - timedelta(milliseconds=5)
    with ctx.db.session() as session:
        session.execute(update(Auction).where(Auction.id == auction_id).values(ends_at=past))
    ctx.store.command("HSET", keys.state(str(auction_id)), "endsAt", to_ms(past))
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


def notification_types(ctx: Context, user: Person) -> list[str]:
    with ctx.db.session() as session:
        return list(
            session.scalars(
                select(Notification.type)
                .where(Notification.user_id == uuid.UUID(user.id))
                .order_by(Notification.created_at, Notification.type)
            )
        )


def user_events(ctx: Context, user: Person) -> list[dict[str, Any]]:
    """Every event the live feed holds for `user`, oldest first (as a socket node reads it)."""
    entries = ctx.store.command("XRANGE", keys.FEED, "-", "+") or []
    found = []
    for _entry_id, flat in entries:
        fields = dict(zip(flat[::2], flat[1::2], strict=True))
        if fields.get("user") == user.id:
            found.append(orjson.loads(fields["e"]))
    return found


def event_types(ctx: Context, user: Person) -> list[str]:
    return [e["type"] for e in user_events(ctx, user) if e["type"] != "notification"]
