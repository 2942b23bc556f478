"""What a Redis stream holds, read over TCP as text: a room's events, the live feed's entries."""

from __future__ import annotations

import uuid
from typing import Any, cast

import orjson
import redis

from shared.adapters import keys
from shared.services import outbox
from shared.services.context import Context

Entry = tuple[str, dict[str, str]]


def entries(ctx: Context, key: str) -> list[Entry]:
    """Every entry of the stream `key`, oldest first: (id, fields)."""
    client = redis.Redis.from_url(ctx.settings.redis_url or "", decode_responses=True)
    try:
        # redis-py's stubs type XRANGE for both decode modes (bytes | str, Optional); with
        # decode_responses=True every id and field is text, and an absent stream is [].
        return cast(list[Entry], client.xrange(key))
    finally:
        client.close()


def room_events(
    ctx: Context, auction_id: uuid.UUID | str, *, relay: bool = False
) -> list[dict[str, Any]]:
    """The events a room's stream holds (what clients and replay read), oldest first; with
    `relay`, after the outbox's committed rows are relayed (as the ticker would)."""
    if relay:
        outbox.relay(ctx)
    return [orjson.loads(f["e"]) for _, f in entries(ctx, keys.room_stream(str(auction_id)))]


def room_ids(ctx: Context, auction_id: uuid.UUID | str) -> list[str]:
    return [entry_id for entry_id, _ in entries(ctx, keys.room_stream(str(auction_id)))]


def feed(ctx: Context) -> list[dict[str, str]]:
    """The live feed's entries' fields (`user` or `room`, `e`, ...), oldest first."""
    return [fields for _, fields in entries(ctx, keys.FEED)]


def user_events(ctx: Context, user_id: str) -> list[dict[str, Any]]:
    """Every event the live feed holds for one user (notifications too), oldest first, as a
    socket node reads it."""
    return [orjson.loads(f["e"]) for f in feed(ctx) if f.get("user") == user_id]
