"""Every Redis key the system uses, named once.

Auction state (written by the functions and the ticker, read by the bid script):
- `auction:{id}:state`    hash: status, goLiveAt/endsAt (epoch ms), startPrice, bidIncrement,
                          reservePrice, buyNowPrice, softCloseSecs (money in minor units),
                          sellerId, round, bidCount
- `auction:{id}:highest`  JSON `{bidId, userId, amount, ts}` (amount in minor units), absent
                          before the first bid
- `auction:{id}:proxies`  hash userId -> JSON `{max, placedAt}`: private proxy maximums
- `auction:{id}:bids`     list of the round's placed bids, in order (`placed_bids`): what a
                          retraction recomputes the highest from
- `auction:{id}:retractions` hash bidId -> the retraction's result (a retried call's answer)
- `auction:{id}:idem:{userId}:{key}`  the result of an accepted bid, for idempotent replays
- `auction:{id}:bucket:{userId}`      the bid rate limiter's token bucket
- `ratelimit:bid-lookup:user:{userId}` the same limit per user for bids on missing states

Events:
- `auction:{id}:events`   the room's stream (capped): each entry has one field `e`, the event
                          JSON without `eventId`; the entry id IS the eventId. Replay reads it.
- `events:feed`           every event for live delivery (capped), read by every socket node
                          with XREAD BLOCK: field `e` (the event JSON without eventId) and
                          either `room` (auction id) + `eid` (the room stream id, its eventId)
                          or `user` (user id; the feed entry id is its eventId).

Outbox and schedules:
- `outbox:bids`           stream of accepted bids (and retractions, `kind: "retraction"`, in
                          order with them) not yet known to be in PostgreSQL
- `auctions:{moment}`     one sorted set per timed transition (`shared.domain.schedule.Moment`:
                          start, end, ...), auction ids scored by the epoch ms they are due

Every script gets its key names from the caller (here), never builds them itself.
"""

from __future__ import annotations

from shared.domain.schedule import Moment

FEED = "events:feed"
OUTBOX_BIDS = "outbox:bids"
RATE_WINDOW_PREFIX = "ratelimit:"


def schedule(moment: Moment) -> str:
    return f"auctions:{moment.value}"


SCHEDULE_START = schedule(Moment.START)
SCHEDULE_END = schedule(Moment.END)

ROOM_STREAM_MAXLEN = 2000  # a join's replay reaches back at least 1,000 events per room
FEED_MAXLEN = 20000
IDEMPOTENCY_TTL_S = 24 * 3600


def state(auction_id: str) -> str:
    return f"auction:{auction_id}:state"


def highest(auction_id: str) -> str:
    return f"auction:{auction_id}:highest"


def proxies(auction_id: str) -> str:
    return f"auction:{auction_id}:proxies"


def placed_bids(auction_id: str) -> str:
    """`auction:{id}:bids`: a list of every bid the bid script placed, in order, each a JSON
    `{id, u (bidder), a (amount, minor units), s (seq), r (round), t (epoch ms), p (placed
    for a maximum), n (the bidder's public name, when known)}`: what a
    retraction recomputes the highest bid from (`retract_bid.lua`; seeded from PostgreSQL
    with the state)."""
    return f"auction:{auction_id}:bids"


def retractions(auction_id: str) -> str:
    """`auction:{id}:retractions`: hash bid id -> the result of the retraction that took it
    back, so that a retried call answers the same (retract_bid.lua)."""
    return f"auction:{auction_id}:retractions"


def room_stream(auction_id: str) -> str:
    return f"auction:{auction_id}:events"


def idempotency_prefix(auction_id: str) -> str:
    return f"auction:{auction_id}:idem:"


def bucket_prefix(auction_id: str) -> str:
    return f"auction:{auction_id}:bucket:"


def bid_lookup_bucket(user_id: str) -> str:
    """The bid script's bucket per user across auctions, charged when a bid names an auction
    whose state is missing (before PostgreSQL is asked): made-up ids cannot flood it."""
    return write_bucket("bid-lookup", f"user:{user_id}")


def write_bucket(group: str, caller: str) -> str:
    """`ratelimit:{group}:{caller}`: the write limiter's token bucket (hash tokens, ts) for
    one route group (auctions, decisions, admin...) and one caller (`user:<id>`/`ip:<addr>`)."""
    return f"{RATE_WINDOW_PREFIX}{group}:{caller}"


# Jobs (emails, invoices): `jobs:data` hash id -> JSON; `jobs:ready` list of ids;
# `jobs:delayed` zset id -> due ms (retries with backoff); `jobs:dead` list of ids.
JOBS_DATA = "jobs:data"
JOBS_READY = "jobs:ready"
JOBS_DELAYED = "jobs:delayed"
JOBS_DEAD = "jobs:dead"
# `jobs:processing` zset id -> lease expiry ms (a crashed worker's job returns to ready);
# `jobs:meta` hash id -> JSON {attempts, lastError, failedAt, replays} (shared/services/jobs.py).
JOBS_PROCESSING = "jobs:processing"
JOBS_META = "jobs:meta"

# PostgreSQL outbox rows already relayed (SET NX guards), so a relay that crashes after
# publishing and before deleting its rows never publishes twice.
OUTBOX_RELAYED_PREFIX = "outbox:relayed:"
OUTBOX_RELAYED_TTL_S = 7 * 24 * 3600

# Socket nodes (share nothing but Redis): each publishes its figures for the admin view every
# few seconds, `socket:node:{id}` (JSON {id, rooms: {auctionId: connections}, connections,
# users}, expiring) and its id in the `socket:nodes` zset scored by the last publication (ms).
SOCKET_NODES = "socket:nodes"


def socket_node(node_id: str) -> str:
    return f"socket:node:{node_id}"


# Moderation: the ids of suspended users (PostgreSQL `users.suspended_at` is the record). It
# always holds SUSPENDED_SENTINEL, so "missing" (flushed, evicted, a new Redis) is told apart
# from "nobody is suspended": a missing set is rebuilt from PostgreSQL before it is trusted.
SUSPENDED = "users:suspended"
SUSPENDED_SENTINEL = "-"

# Blocked bidders: a set per seller of the bidders they blocked (PostgreSQL `blocked_bidders` is
# the record), with the same sentinel as the suspended set, so a missing set is rebuilt from
# PostgreSQL before it is trusted (`shared.services.blocks`).
BLOCKED_SENTINEL = SUSPENDED_SENTINEL


def blocked_bidders(seller_id: str) -> str:
    return f"seller:{seller_id}:blocked"
