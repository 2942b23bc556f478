"""The socket node's reads from Redis over TCP (asyncio): the live feed every node follows
with XREAD BLOCK, and the atomic read of a room for a joining client.

The functions record every event whether or not any socket node is up (the bid script and
the outbox relay write the room stream and `events:feed` in one step), so a node that starts,
restarts or lags loses nothing a client can ask for: live entries come from the feed, and
anything older comes from the room's stream on join (replay after lastEventId).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import NoScriptError, RedisError

from shared.adapters import keys
from shared.adapters.redis_records import HighestBid
from shared.adapters.redis_store import load_script
from socket_node import messages
from socket_node.messages import FeedEvent, RoomRead, StreamId

log = logging.getLogger("socket_node.feed")

BLOCK_MS = 2_000
BATCH = 1_000
RETRY_MAX_S = 2.0
# A join replays at most the 1,000 most recent events; a client further
# behind gets `replayGap` (and refetches over REST) instead of a read of the whole stream.
REPLAY_MAX = 1_000


def client(url: str, *, max_connections: int = 16, blocking: bool = False) -> aioredis.Redis:
    """An asyncio Redis client. Reads for joins share a small blocking pool (thousands of
    clients joining at once queue for 16 connections instead of opening thousands); the
    feed reader has a connection of its own, without a read timeout shorter than its BLOCK."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=10,
        decode_responses=True,
        socket_connect_timeout=5,
        socket_timeout=None if blocking else 5,
    )
    return aioredis.Redis(connection_pool=pool)


def _id(sid: StreamId) -> str:
    return f"{sid[0]}-{sid[1]}"


def _field(flat: list[str], name: str) -> str:
    """A field of a stream entry as a script returns it (a flat list), "{}" when absent."""
    for i in range(0, len(flat) - 1, 2):
        if flat[i] == name:
            return flat[i + 1]
    return "{}"


def _entries(raw: Any) -> list[tuple[str, dict[str, str]]]:
    """An XRANGE / XREVRANGE reply as (entry id, fields). redis-py types replies as the union
    of every shape RESP2 and RESP3 may give; these clients decode responses, so ids and fields
    are strings (a cold path: catch-ups and the feed's ends, not the fan-out)."""
    return [
        (str(entry_id), {str(k): str(v) for k, v in (fields or {}).items()})
        for entry_id, fields in raw or []
    ]


class RoomReader:
    """One atomic read (MULTI) of what a joining client needs: the snapshot script's state,
    highest bid, last event id and clock, and the replay script's stream first id and the
    entries after the client's lastEventId, at most `replay_max` of them (a client further
    behind gets a gap, decided inside Redis, so the entries never cross the network). Atomic,
    so the replay ends exactly at the snapshot's lastEventId and the live feed takes over."""

    def __init__(self, redis: aioredis.Redis, *, replay_max: int = REPLAY_MAX) -> None:
        self.redis = redis
        self.script = load_script("snapshot")
        self.replay = load_script("replay")
        self.replay_max = replay_max

    async def read(self, auction_id: str, after: StreamId | None) -> RoomRead:
        try:
            return await self._read(auction_id, after)
        except NoScriptError:
            await self.redis.script_load(self.script.source)
            await self.redis.script_load(self.replay.source)
            return await self._read(auction_id, after)

    async def _read(self, auction_id: str, after: StreamId | None) -> RoomRead:
        room = keys.room_stream(auction_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.evalsha(self.script.sha, 3, keys.state(auction_id), keys.highest(auction_id), room)
            # Without a lastEventId there is nothing to replay: the stream's first id only.
            since = _id(after) if after is not None else ""
            pipe.evalsha(self.replay.sha, 1, room, since, self.replay_max)
            replies = await pipe.execute()
        state_flat, highest, last_id, now_ms = replies[0]
        first_id, gap, entries = replies[1]
        return RoomRead(
            state={
                str(state_flat[i]): str(state_flat[i + 1]) for i in range(0, len(state_flat), 2)
            },
            highest=HighestBid.from_json(highest),
            first_id=first_id or None,
            last_id=last_id or None,
            entries=[(entry_id, _field(fields, "e")) for entry_id, fields in entries],
            now_ms=int(now_ms),
            replay_truncated=after is not None and bool(gap),
        )

    async def since(self, auction_id: str, after: StreamId | None) -> list[FeedEvent]:
        """A room's events after `after` as feed events (catching up after a feed gap)."""
        start = "-" if after is None else f"({_id(after)}"
        entries = _entries(await self.redis.xrange(keys.room_stream(auction_id), start, "+"))
        return [
            messages.feed_event(eid, {"e": f.get("e", "{}"), "room": auction_id, "eid": eid})
            for eid, f in entries
        ]


class FeedReader:
    """Follows `events:feed` from the moment the node starts, in order, forever.

    On a lost connection it resumes after the last entry it saw. If the feed was trimmed past
    that point meanwhile (a long outage under heavy load), `on_gap` re-reads the watched
    rooms' streams, so live members still get every room event, each once."""

    def __init__(
        self,
        redis: aioredis.Redis,
        on_events: Callable[[list[FeedEvent]], None],
        on_gap: Callable[[], Awaitable[None]],
    ) -> None:
        self.redis = redis
        self.on_events = on_events
        self.on_gap = on_gap
        self.position: str | None = None
        self.entries_read = 0

    async def start_position(self) -> None:
        """Where reading starts: after the newest entry now (older ones are for replay)."""
        newest = _entries(await self.redis.xrevrange(keys.FEED, "+", "-", count=1))
        self.position = newest[0][0] if newest else "0-0"

    async def run(self) -> None:
        delay = 0.05
        suspect_gap = self.position is not None  # resuming: was the feed trimmed meanwhile?
        while True:
            try:
                if self.position is None:
                    await self.start_position()
                if suspect_gap:
                    await self._check_gap()
                    suspect_gap = False
                assert self.position is not None
                # Any: redis-py types the reply as every RESP shape at once; `_events` reads
                # it as these clients get it (decoded strings), without a copy per entry.
                reply: Any = await self.redis.xread(
                    {keys.FEED: self.position}, count=BATCH, block=BLOCK_MS
                )
                delay = 0.05
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                log.warning("feed unreadable (%s); retrying in %.2f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(RETRY_MAX_S, delay * 2)
                suspect_gap = True
                continue
            except Exception:  # never let the one reader of this node die
                log.exception("feed reader failed; retrying in %.2f s", delay)
                await asyncio.sleep(delay)
                delay = min(RETRY_MAX_S, delay * 2)
                continue
            batch = self._events(reply)
            if batch:
                try:
                    self.on_events(batch)
                except Exception:  # a bug must not silence every room on this node
                    log.exception("fan-out of %d feed entries failed", len(batch))
            # A full batch means we are behind: check the feed was not trimmed past us.
            suspect_gap = bool(reply) and len(reply[0][1]) >= BATCH

    def _events(self, reply: Any) -> list[FeedEvent]:
        events: list[FeedEvent] = []
        for _stream, entries in reply or []:
            for feed_id, fields in entries:
                self.position = feed_id
                self.entries_read += 1
                try:
                    events.append(messages.feed_event(feed_id, fields))
                except (KeyError, ValueError, orjson.JSONDecodeError) as exc:
                    log.warning("skipping malformed feed entry %s: %r", feed_id, exc)
        return events

    async def _check_gap(self) -> None:
        oldest = _entries(await self.redis.xrange(keys.FEED, "-", "+", count=1))
        if not oldest or self.position is None:
            return
        # Conservative: entries older than the oldest one left may have been trimmed unread
        # (catching up when none were costs a few reads; the hub drops what members have).
        if messages.stream_id(oldest[0][0]) > messages.stream_id(self.position):
            log.warning(
                "the feed was trimmed past %s; catching up from room streams", self.position
            )
            await self.on_gap()
