"""The transactional outbox: side effects of a PostgreSQL change (events, state patches, jobs)
are written as rows in the same transaction, then relayed to Redis exactly once.

Whoever commits calls `relay` right away (the fast path); the ticker relays whatever a crash
left behind. A row is deleted only after Redis has applied it, and Redis applies each row id
once (relay.lua), so nothing is lost and nothing is published twice.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from sqlalchemy import delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from shared.adapters import keys
from shared.adapters.orm import OutboxEntry
from shared.adapters.redis_records import schedule_wire
from shared.adapters.redis_store import StoreError, StoreUnavailable, load_script
from shared.domain.schedule import Entries
from shared.domain.times import to_ms
from shared.services.context import Context

log = logging.getLogger(__name__)


def room_event(
    session: Session, ctx: Context, auction_id: str, event_type: str, data: dict[str, Any]
) -> None:
    session.add(
        OutboxEntry(
            kind="room",
            body={
                "kind": "room",
                "auctionId": auction_id,
                "roomKey": keys.room_stream(auction_id),
                "type": event_type,
                "data": data,
                "ts": to_ms(ctx.clock()),
            },
        )
    )


def user_event(
    session: Session,
    ctx: Context,
    user_id: str,
    event_type: str,
    data: dict[str, Any],
    auction_id: str | None = None,
) -> None:
    session.add(
        OutboxEntry(
            kind="user",
            body={
                "kind": "user",
                "userId": user_id,
                "auctionId": auction_id or "",
                "type": event_type,
                "data": data,
                "ts": to_ms(ctx.clock()),
            },
        )
    )


def state_patch(
    session: Session,
    auction_id: str,
    round: int,
    set_fields: dict[str, str | int],
    *,
    schedule: Entries | None = None,
    clear: bool = False,
) -> None:
    """Patch the auction's Redis state: `set_fields` (unless Redis holds a later round),
    `schedule` entries to (re)place or remove, and with `clear` the highest bid and maximums
    (a new round)."""
    session.add(
        OutboxEntry(
            kind="state",
            body={
                "kind": "state",
                "auctionId": auction_id,
                "stateKey": keys.state(auction_id),
                "highestKey": keys.highest(auction_id),
                "proxiesKey": keys.proxies(auction_id),
                "round": round,
                "set": set_fields,
                "schedule": schedule_wire(schedule or {}),
                "clear": clear,
            },
        )
    )


def job(session: Session, job_body: dict[str, Any]) -> None:
    """Enqueue a job (it must carry a stable `id`: the queue takes each id once)."""
    session.add(OutboxEntry(kind="job", body={"kind": "job", "job": job_body}))


def suspension(session: Session, user_id: str, suspended: bool) -> None:
    """Add the user to (or take them off) the set of suspended users the bid and write scripts
    read."""
    session.add(
        OutboxEntry(
            kind="suspension",
            body={
                "kind": "suspension",
                "setKey": keys.SUSPENDED,
                "userId": user_id,
                "suspended": suspended,
            },
        )
    )


def membership(session: Session, set_key: str, member: str, present: bool) -> None:
    """Put `member` into (or take it out of) a set kept with a sentinel (a seller's blocked
    bidders), when that set exists: a missing one is rebuilt whole from PostgreSQL."""
    session.add(
        OutboxEntry(
            kind="membership",
            body={"kind": "membership", "setKey": set_key, "member": member, "present": present},
        )
    )


def relay(ctx: Context, *, batch: int = 200) -> int:
    """Move committed outbox rows into Redis. Returns how many rows were relayed. Never
    raises for an unreachable Redis or PostgreSQL: the rows wait for the next relay."""
    total = 0
    script = load_script("relay")
    while True:
        try:
            with ctx.db.session() as session:
                rows = session.execute(
                    select(OutboxEntry.id, OutboxEntry.body)
                    .order_by(OutboxEntry.id)
                    .limit(batch)
                    .with_for_update(skip_locked=True)
                ).all()
                if not rows:
                    return total
                payload = orjson.dumps([{"id": str(r.id), "body": r.body} for r in rows])
                ctx.store.script(
                    script,
                    [keys.FEED, keys.JOBS_DATA, keys.JOBS_READY],
                    [
                        payload.decode(),
                        keys.ROOM_STREAM_MAXLEN,
                        keys.FEED_MAXLEN,
                        keys.OUTBOX_RELAYED_PREFIX,
                        keys.OUTBOX_RELAYED_TTL_S,
                    ],
                )
                session.execute(delete(OutboxEntry).where(OutboxEntry.id.in_([r.id for r in rows])))
                total += len(rows)
        except (SQLAlchemyError, StoreUnavailable, StoreError) as exc:
            log.warning("outbox relay postponed: %s", exc)
            return total
        if len(rows) < batch:
            return total
