"""The Redis schedules of timed transitions: where an auction's entries belong (by the rule of
`shared.domain.schedule`), claiming what is due, and the end as Redis knows it."""

from __future__ import annotations

import logging
from datetime import datetime

from shared.adapters import keys
from shared.adapters.orm import Auction
from shared.adapters.redis_store import StoreError, StoreUnavailable, load_script
from shared.domain.schedule import Entries, Moment, window_entries
from shared.domain.times import from_ms, to_ms
from shared.services.context import Context

log = logging.getLogger(__name__)

# A claimed entry is pushed this far into the future: a second ticker does not take it, and a
# ticker that dies mid-transition leaves it to be retried.
LEASE_MS = 30_000

# [[schedule key, due ms or None]], the form outbox state patches and seed_state.lua take.
Wire = list[tuple[str, int | None]]


def wire(entries: Entries) -> Wire:
    return [(keys.schedule(moment), due) for moment, due in entries.items()]


def entries_for(auction: Auction, end: datetime | None = None) -> Entries:
    """The start/end entries of `auction` as its status says (the end pushed to `end` when
    Redis knows a later one: a soft close moves it there first)."""
    ends_at = max(auction.ends_at, end) if end else auction.ends_at
    return window_entries(auction.status, to_ms(auction.go_live_at), to_ms(ends_at))


def place(ctx: Context, auction_id: str, entries: Entries) -> None:
    """Write schedule entries now (a failure is logged: the ticker's sweep finds the auction in
    PostgreSQL anyway)."""
    commands: list[list[str | int | float]] = [
        ["ZADD", key, due, auction_id] if due is not None else ["ZREM", key, auction_id]
        for key, due in wire(entries)
    ]
    try:
        ctx.store.pipeline(commands)
    except (StoreUnavailable, StoreError) as exc:
        log.warning("schedule of %s not updated: %s", auction_id, exc)


def redis_end(ctx: Context, auction_id: str) -> datetime | None:
    """endsAt as Redis has it (a soft close moves it there first)."""
    try:
        value = ctx.store.command("HGET", keys.state(auction_id), "endsAt")
    except (StoreUnavailable, StoreError):
        return None
    return from_ms(value) if value else None


def claim(ctx: Context, moment: Moment, limit: int = 100) -> list[str]:
    """The due auction ids of one schedule, each claimed under a lease (atomically: two
    tickers never both take one)."""
    return [aid for aid, _ in claim_due(ctx, moment, limit)]


def claim_due(ctx: Context, moment: Moment, limit: int = 100) -> list[tuple[str, int]]:
    """`claim`, each id with the epoch ms it was due (the ticker's lag is now minus that)."""
    flat = ctx.store.script(load_script("claim_due"), [keys.schedule(moment)], [limit, LEASE_MS])
    flat = list(flat or [])
    return [(str(flat[i]), int(float(flat[i + 1]))) for i in range(0, len(flat) - 1, 2)]
