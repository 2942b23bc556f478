"""shared/services/outbox.py against real PostgreSQL and Redis: rows written in the change's
transaction, relayed to Redis exactly once (two relays racing, a relay that crashed after
Redis applied its rows, Redis away for a while), and state patches that never take an auction
back to an older round."""

from __future__ import annotations

import threading
import uuid
from dataclasses import replace

import orjson
import pytest
from sqlalchemy import func, select

from shared.adapters import keys
from shared.adapters.orm import OutboxEntry
from shared.adapters.redis_store import RestStore, load_script
from shared.domain.schedule import Moment
from shared.services import auction_state, outbox
from shared.services.context import Context
from tests.support import streams
from tests.support.harness import Person, live_auction, tcp
from tests.support.streams import room_events


def rows_left(ctx: Context) -> int:
    with ctx.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(OutboxEntry)) or 0)


def write_events(ctx: Context, auction_id: str, count: int) -> None:
    with ctx.db.session() as session:
        for n in range(count):
            outbox.room_event(session, ctx, auction_id, "auction:test", {"n": n})
        outbox.job(session, {"id": f"test:job:{auction_id}", "kind": "test"})


def test_two_relays_racing_apply_each_row_once(ctx: Context) -> None:
    auction_id = str(uuid.uuid4())
    write_events(ctx, auction_id, 40)
    start = threading.Barrier(2)
    relayed: list[int] = []

    def relay() -> None:
        start.wait()
        relayed.append(outbox.relay(ctx, batch=7))

    threads = [threading.Thread(target=relay) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(relayed) == 41  # each row relayed by exactly one of them
    assert rows_left(ctx) == 0
    events = room_events(ctx, auction_id)
    assert len(events) == 40
    assert sorted(e["data"]["n"] for e in events) == list(range(40))
    assert ctx.store.command("LRANGE", keys.JOBS_READY, 0, -1) == [f"test:job:{auction_id}"]


def test_rows_redis_applied_before_a_crash_are_not_applied_again(ctx: Context) -> None:
    """A relay that died after Redis applied its rows and before it deleted them: the next
    relay deletes them and publishes nothing twice."""
    auction_id = str(uuid.uuid4())
    write_events(ctx, auction_id, 3)
    with ctx.db.session() as session:
        rows = session.execute(select(OutboxEntry.id, OutboxEntry.body)).all()
    payload = orjson.dumps([{"id": str(r.id), "body": r.body} for r in rows]).decode()
    applied = ctx.store.script(
        load_script("relay"),
        [keys.FEED, keys.JOBS_DATA, keys.JOBS_READY],
        [
            payload,
            keys.ROOM_STREAM_MAXLEN,
            keys.FEED_MAXLEN,
            keys.OUTBOX_RELAYED_PREFIX,
            keys.OUTBOX_RELAYED_TTL_S,
        ],
    )
    assert applied == 4  # ...and here the relay died
    assert outbox.relay(ctx) == 4  # the rows go, their effects do not come again
    assert rows_left(ctx) == 0
    assert len(room_events(ctx, auction_id)) == 3
    assert ctx.store.command("LLEN", keys.JOBS_READY) == 1


def test_rows_wait_while_redis_is_away(ctx: Context) -> None:
    auction_id = str(uuid.uuid4())
    write_events(ctx, auction_id, 2)
    away = replace(ctx, store=RestStore("http://127.0.0.1:9", "x", retries=0))
    assert outbox.relay(away) == 0
    assert rows_left(ctx) == 3
    assert outbox.relay(ctx) == 3
    assert len(room_events(ctx, auction_id)) == 2


def _status(ctx: Context, auction_id: uuid.UUID) -> tuple[str, str]:
    status, round_ = ctx.store.command("HMGET", keys.state(str(auction_id)), "status", "round")
    return status, round_


def test_a_state_patch_of_an_older_round_is_ignored(ctx: Context, seller: Person) -> None:
    auction_id = live_auction(ctx, seller)
    aid = str(auction_id)
    tcp().command("HSET", keys.state(aid), "round", 2)  # an admin reset made round 2
    with ctx.db.session() as session:
        outbox.state_patch(session, aid, 1, {"status": "ended"}, clear=True)
    tcp().command("SET", keys.highest(aid), '{"userId": "u"}')
    outbox.relay(ctx)
    assert _status(ctx, auction_id) == ("live", "2")
    assert tcp().command("EXISTS", keys.highest(aid)) == 1  # not cleared either
    with ctx.db.session() as session:
        outbox.state_patch(session, aid, 2, {"status": "ended"})
    outbox.relay(ctx)
    assert _status(ctx, auction_id) == ("ended", "2")


def test_a_state_patch_never_creates_a_missing_state_but_moves_the_schedule(
    ctx: Context, seller: Person
) -> None:
    """A missing state is rebuilt from PostgreSQL on next use, never from half a patch; the
    schedule entries the patch carries are placed all the same."""
    auction_id = live_auction(ctx, seller)
    aid = str(auction_id)
    tcp().command("DEL", keys.state(aid))
    with ctx.db.session() as session:
        outbox.state_patch(
            session, aid, 1, {"status": "ended"}, schedule={Moment.END: None, Moment.START: 42}
        )
    outbox.relay(ctx)
    assert tcp().command("EXISTS", keys.state(aid)) == 0
    assert ctx.store.command("ZSCORE", keys.SCHEDULE_END, aid) is None
    assert int(float(ctx.store.command("ZSCORE", keys.SCHEDULE_START, aid))) == 42
    assert auction_state.rebuild(ctx, auction_id)
    assert _status(ctx, auction_id) == ("live", "1")


def test_a_user_event_reaches_the_live_feed_for_its_user_only(ctx: Context) -> None:
    auction_id, user_id = str(uuid.uuid4()), str(uuid.uuid4())
    with ctx.db.session() as session:
        outbox.user_event(
            session, ctx, user_id, "seller:decision_required", {"n": 1}, auction_id=auction_id
        )
    assert outbox.relay(ctx) == 1
    entries = [f for f in streams.feed(ctx) if f.get("user")]
    assert [f["user"] for f in entries] == [user_id]
    event = orjson.loads(entries[0]["e"])
    assert (event["type"], event["auctionId"], event["data"]) == (
        "seller:decision_required",
        auction_id,
        {"n": 1},
    )
    assert room_events(ctx, auction_id) == []  # a user's event is not the room's
    assert rows_left(ctx) == 0


def test_rows_of_a_change_that_rolled_back_are_never_relayed(ctx: Context) -> None:
    """The rows are written in the change's own transaction: a change that fails leaves
    nothing for the relay, so nobody hears of what did not happen."""
    auction_id = str(uuid.uuid4())
    with pytest.raises(RuntimeError), ctx.db.session() as session:
        outbox.room_event(session, ctx, auction_id, "auction:test", {"n": 1})
        outbox.job(session, {"id": f"test:job:{auction_id}", "kind": "test"})
        session.flush()  # the rows reach PostgreSQL inside the transaction...
        raise RuntimeError("the change fails after writing its events")  # ...then roll back
    assert rows_left(ctx) == 0
    assert outbox.relay(ctx) == 0
    assert room_events(ctx, auction_id) == []
    assert f"test:job:{auction_id}" not in (tcp().command("HKEYS", keys.JOBS_DATA) or [])
