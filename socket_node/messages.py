"""The socket node's wire format, as plain functions: what a client may
send, what the server sends back, and how a Redis feed entry becomes the exact message a
client receives. No I/O here; `hub.py` routes these, `server.py` moves the bytes."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from shared.adapters.redis_records import AuctionState, HighestBid
from shared.domain.auctions import min_next_bid, reserve_met, shown_status
from shared.domain.money import money_str
from shared.domain.times import from_ms, iso

MAX_ROOMS_PER_CONNECTION = 50

# A Redis stream id, "<ms>-<seq>" (a bare "<ms>" means "<ms>-0", as Redis reads it).
_STREAM_ID = re.compile(r"^(\d{1,20})(?:-(\d{1,20}))?$")

StreamId = tuple[int, int]


def stream_id(text: str) -> StreamId:
    """ "1700000000000-3" -> (1700000000000, 3), so ids compare in stream order."""
    match = _STREAM_ID.match(text)
    if not match:
        raise ValueError(f"not a stream id: {text!r}")
    return int(match.group(1)), int(match.group(2) or 0)


# -- what clients send -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Join:
    auction_id: str
    last_event_id: StreamId | None


@dataclass(frozen=True, slots=True)
class Leave:
    auction_id: str


@dataclass(frozen=True, slots=True)
class Ping:
    pass


@dataclass(frozen=True, slots=True)
class Refusal:
    """Bad input: answered with an error message, and the connection stays open."""

    code: str
    detail: str
    auction_id: str | None = None


@dataclass(frozen=True, slots=True)
class Auth:
    """A new identity for an open connection: the token to verify, or None when
    the message carries no usable token (answered like a bad one: the connection goes
    anonymous, never keeping the identity it had)."""

    token: str | None


ClientMessage = Join | Leave | Ping | Auth


def _auction_id(value: Any) -> str | None:
    """The canonical form of an auction id, or None when it cannot name an auction."""
    if not isinstance(value, str):
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def parse_client(raw: str | bytes) -> ClientMessage | Refusal:
    try:
        message = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return Refusal("invalid_json", "Every message must be one JSON object")
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return Refusal("invalid_message", 'Every message must be a JSON object with a "type"')
    kind = message["type"]
    if kind == "ping":
        return Ping()
    if kind == "auth":
        token = message.get("token")
        return Auth(token.strip() if isinstance(token, str) and token.strip() else None)
    if kind not in ("join", "leave"):
        return Refusal("unknown_type", f"Unknown message type {kind[:40]!r}")
    raw_id = message.get("auctionId")
    auction_id = _auction_id(raw_id)
    if auction_id is None:
        if isinstance(raw_id, str) and raw_id:
            return Refusal("not_found", "No such auction", raw_id[:64])
        return Refusal("validation_error", "auctionId must be an auction id")
    if kind == "leave":
        return Leave(auction_id)
    last = message.get("lastEventId")
    if last is None:
        return Join(auction_id, None)
    if isinstance(last, int) and not isinstance(last, bool) and last >= 0:
        last = str(last)
    if not isinstance(last, str):
        return Refusal("validation_error", "lastEventId must be an eventId or null", auction_id)
    try:
        return Join(auction_id, stream_id(last))
    except ValueError:
        return Refusal("validation_error", "lastEventId is not an eventId", auction_id)


# -- what the server sends ---------------------------------------------------------------------


def dumps(message: dict[str, Any]) -> str:
    return orjson.dumps(message).decode()


def error(code: str, detail: str, auction_id: str | None = None) -> str:
    body: dict[str, Any] = {"type": "error", "code": code, "detail": detail}
    if auction_id is not None:
        body["auctionId"] = auction_id
    return dumps(body)


def pong(now_ms: int) -> str:
    return dumps({"type": "pong", "serverTime": iso(from_ms(now_ms))})


def authed(user_id: str, expires_at_ms: int) -> str:
    """The answer to a good `auth`: who the connection is now, and until when (the token's
    exp; the node closes the connection with 4401 then unless another `auth` came)."""
    return dumps({"type": "authed", "userId": user_id, "expiresAt": iso(from_ms(expires_at_ms))})


def unauthenticated() -> str:
    return error("unauthenticated", "The token is not valid: this connection continues anonymously")


@dataclass(frozen=True, slots=True)
class RoomRead:
    """What one atomic read of a room gives a joining client (see feed.RoomReader.read):
    the auction's state hash, its highest bid, the room stream's first and last ids, the
    entries after the client's lastEventId, and Redis's clock."""

    state: dict[str, str]
    highest: HighestBid | None
    first_id: str | None
    last_id: str | None
    entries: list[tuple[str, str]]  # (stream id, stored body without eventId)
    now_ms: int
    # More events follow lastEventId than a join replays (feed.REPLAY_MAX): a replay gap.
    replay_truncated: bool = False


def snapshot(auction_id: str, read: RoomRead, *, replay_gap: bool) -> str:
    """The snapshot message, rendered from the Redis state as the bid script sees it (raises
    KeyError/ValueError for a malformed state)."""
    state = AuctionState.from_hash(read.state)
    if state is None:
        raise KeyError("the auction has no state")
    top = read.highest
    highest_bid = None
    if top is not None:
        highest_bid = {
            "id": top.bid_id,
            "bidderId": top.user_id,
            "amount": money_str(top.amount),
            "createdAt": iso(from_ms(top.ts)),
        }
    amount = top.amount if top else None
    body: dict[str, Any] = {
        "type": "snapshot",
        "auctionId": auction_id,
        "status": shown_status(state.status, state.go_live_ms, state.ends_ms, read.now_ms),
        "highestBid": highest_bid,
        "minNextBid": money_str(min_next_bid(state.start_price, state.increment, amount)),
        "goLiveAt": iso(from_ms(state.go_live_ms)),
        "endsAt": iso(from_ms(state.ends_ms)),
        "serverTime": iso(from_ms(read.now_ms)),
        "lastEventId": read.last_id,
        # true: the lastEventId asked for is older than the replay window; refetch over REST
        "replayGap": replay_gap,
    }
    met = reserve_met(state.reserve, amount)
    if met is not None:  # competitive rules appear only on auctions that use them
        body["reserveMet"] = met
    return dumps(body)


def with_event_id(body: str, event_id: str) -> str:
    """A stored event (the JSON written by lib.lua, without eventId) as the wire message."""
    return _wire(body, event_id)[0]


def _wire(body: str, event_id: str) -> tuple[str, str]:
    """The wire message of a stored event, and its type. Only the protocol's members are
    sent, whatever else the stored event carries."""
    event = orjson.loads(body)
    kind = event.get("type")
    payload = dumps(
        {
            "type": kind,
            "eventId": event_id,
            "auctionId": event.get("auctionId"),
            "data": event.get("data"),
            "ts": event.get("ts"),
        }
    )
    return payload, str(kind)


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """One entry of the live feed, ready to route: a room event (replayable; its eventId is
    the room stream id) or an event for every connection of one user (eventId = feed id)."""

    feed_id: str
    room: str | None
    user: str | None
    event_id: StreamId  # its first part is the epoch ms Redis wrote it (the bid's accept time)
    payload: str
    kind: str = ""  # the event's type, for the figures and the fan-out log line
    # The API request that caused it (the feed entry's `rid`), for the fan-out log line only.
    request_id: str | None = None


def feed_event(feed_id: str, fields: dict[str, str]) -> FeedEvent:
    """Raises ValueError (or KeyError) for an entry that is not an event."""
    body = fields["e"]
    rid = fields.get("rid")
    if "room" in fields:
        eid = fields["eid"]
        payload, kind = _wire(body, eid)
        return FeedEvent(feed_id, fields["room"], None, stream_id(eid), payload, kind, rid)
    payload, kind = _wire(body, feed_id)
    return FeedEvent(feed_id, None, fields["user"], stream_id(feed_id), payload, kind, rid)
