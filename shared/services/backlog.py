"""How much work is waiting: the figures an operator watches to see that nothing is stuck
(docs/runbooks.md: figures and logs). Read by the socket node every few seconds, in a worker
thread, never on a scrape: every read here is bounded (a count capped at `COUNT_CAP`, a
statement timeout, one Redis pipeline), and a part that cannot be read is None, not an error.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import func, select, text

from shared.adapters import keys
from shared.adapters.db import DB_ERRORS
from shared.adapters.orm import OutboxEntry
from shared.adapters.redis_store import StoreError, StoreUnavailable
from shared.domain.schedule import Moment
from shared.domain.times import to_ms
from shared.services.context import Context

log = logging.getLogger(__name__)

COUNT_CAP = 100_000  # an outbox this deep is an outage either way; counting further costs
STATEMENT_TIMEOUT_MS = 2_000


@dataclass(frozen=True)
class Backlog:
    outbox_rows: int | None = None  # PostgreSQL outbox rows not yet relayed to Redis
    bid_records: int | None = None  # `outbox:bids` entries (accepted bids) not yet drained
    jobs_ready: int | None = None  # jobs waiting for a worker
    jobs_dead: int | None = None  # dead letters (docs/runbooks.md, "failed emails")
    # Per timed moment (start, end, ...): how long the oldest due, unclaimed schedule entry has
    # waited, in seconds (0 when nothing is due). A ticker that runs keeps it near 0.
    overdue_s: dict[str, float] = field(default_factory=dict)


def read(ctx: Context) -> Backlog:
    now_ms = to_ms(ctx.clock())
    moments = list(Moment)
    bid_records = jobs_ready = jobs_dead = None
    overdue: dict[str, float] = {}
    try:
        commands: list[list[str | int | float]] = [
            ["XLEN", keys.OUTBOX_BIDS],
            ["LLEN", keys.JOBS_READY],
            ["LLEN", keys.JOBS_DEAD],
        ]
        commands += [["ZRANGE", keys.schedule(m), 0, 0, "WITHSCORES"] for m in moments]
        replies = ctx.store.pipeline(commands)
        bid_records, jobs_ready, jobs_dead = (_int(r) for r in replies[:3])
        for moment, oldest in zip(moments, replies[3:], strict=True):
            if isinstance(oldest, list):
                due = float(oldest[1]) if len(oldest) >= 2 else now_ms
                overdue[moment.value] = max(0.0, (now_ms - due) / 1000)
    except (StoreUnavailable, StoreError) as exc:
        log.warning("backlog figures: Redis unreadable: %s", exc)
    outbox_rows = None
    try:
        with ctx.db.session() as session:
            session.execute(text(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}"))
            capped = select(OutboxEntry.id).limit(COUNT_CAP).subquery()
            outbox_rows = int(session.scalar(select(func.count()).select_from(capped)) or 0)
    except DB_ERRORS as exc:
        log.warning("backlog figures: PostgreSQL unreadable: %s", exc)
    return Backlog(outbox_rows, bid_records, jobs_ready, jobs_dead, overdue)


def _int(reply: object) -> int | None:
    return int(reply) if isinstance(reply, int | str) else None
