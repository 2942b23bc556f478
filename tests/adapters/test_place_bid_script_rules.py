"""place_bid.lua against its specification, shared/domain/bidding.py, on everything the script
decides: the rate limit (`take_token`), the window at its four edges, the rules (`judge_bid`)
with reserve, buy-now, soft close and self-outbid (with and without ALLOW_SELF_OUTBID).

The script reads its clock from Redis (TIME), so the test never guesses the time: every call
charges the caller's bucket first and stores the script's `now` there (`at`), and that `now`
is what the specification is asked about. The bucket's refill then depends on real elapsed
time, so the model is checked step by step: from the bucket as Redis held it before the call
and the script's `now`, `take_token` must give the same decision, the same `Retry-After` and
the same tokens left. The window edges are hit exactly: one MULTI seeds the window around
Redis's TIME and runs the bid; an attempt whose two clocks fell in different milliseconds is
retried.

A mutated script (a flipped comparison, a rounding changed) must fail these checks: the last
tests run mutants and demand that they are caught.
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
import redis
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from shared.adapters import keys
from shared.adapters.redis_store import Script, TcpStore, load_script
from shared.domain.bidding import (
    Accepted,
    AuctionRules,
    Book,
    Bucket,
    Offer,
    Refused,
    is_open,
    judge_bid,
    take_token,
)
from shared.domain.money import from_minor
from shared.domain.vocabulary import AuctionStatus
from shared.services import bidding, blocks, moderation
from shared.services.context import Context
from shared.settings import load_settings
from tests.support.harness import Person, live_auction

BUYERS = [str(uuid.UUID(int=i + 1)) for i in range(3)]
SELLER = "seller"  # stands for the auction's seller in generated sequences
RATES = {"unlimited": "1000000/s:1000000", "tight": "2/s:3", "slow": "1/m:3"}
# name -> (the rules as the specification takes them, the auction as the harness inserts it)
VARIANTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "plain": ({}, {}),
    "reserve and buy-now": (
        {"reserve": 25_000, "buy_now": 30_000},
        {"reserve": "250.00", "buy_now": "300.00"},
    ),
    "buy-now": ({"buy_now": 20_000}, {"buy_now": "200.00"}),
    # ends in 20 s with a 30 s soft close: every visible bid moves the end
    "soft close": ({"soft_close_s": 30}, {"soft_close_secs": 30, "ends_in_s": 20}),
    # ends in 1.5 s: stamps from before the end are judged in its grace, some after it
    "last second": ({}, {"ends_in_s": 1.5}),
}

# An offer's arrival stamp relative to Redis's clock just before it is sent: none, believable
# ones (behind or a little ahead), and ones the script must not believe (from the future, or
# older than any request can be in flight).
ARRIVALS = [None, -40_000, -2_500, -500, 0, 800, 1_500]
offers = st.lists(
    st.tuples(
        st.sampled_from([*BUYERS, SELLER]),
        st.integers(min_value=9_000, max_value=34_000),
        st.booleans(),
        st.sampled_from(ARRIVALS),
    ),
    min_size=1,
    max_size=14,
)


@dataclass
class Mirror:
    """One auction run through the script and the specification side by side."""

    ctx: Context
    auction_id: uuid.UUID
    book: Book
    allow_self_outbid: bool
    script: Script
    buckets: dict[str, Bucket] = field(default_factory=dict)
    seen: Counter[str] = field(default_factory=Counter)  # outcomes, for the statistics

    @classmethod
    def start(
        cls,
        ctx: Context,
        seller: Person,
        variant: str,
        *,
        rate: str = RATES["unlimited"],
        allow_self_outbid: bool = False,
        script: Script | None = None,
        blocked: frozenset[str] = frozenset(),
    ) -> Mirror:
        rules, auction = VARIANTS[variant]
        auction = dict(auction)
        ends_in = auction.pop("ends_in_s", None)
        if ends_in is not None:
            auction["ends_at"] = datetime.now(UTC) + timedelta(seconds=ends_in)
        auction_id = live_auction(ctx, seller, start_price="100.00", increment="10.00", **auction)
        moderation.load_suspended(ctx)  # the script asks for the suspended set before judging
        # ... and for the seller's blocked set (written whole, as a rebuild writes it)
        ctx.store.script(
            load_script("sentinel_set"),
            [keys.blocked_bidders(seller.id)],
            ["load", keys.BLOCKED_SENTINEL, *sorted(blocked)],
        )
        state = ctx.store.command("HGETALL", keys.state(str(auction_id)))
        fields = dict(zip(state[::2], state[1::2], strict=True))
        book = Book(
            rules=AuctionRules(start_price=10_000, increment=1_000, seller_id=seller.id, **rules),
            status=AuctionStatus.LIVE,
            go_live_ms=int(fields["goLiveAt"]),
            ends_ms=int(fields["endsAt"]),
            grace_ms=ctx.settings.late_bid_grace_ms,
            blocked=blocked,
        )
        limits = {"BID_RATE_LIMIT": rate, "ALLOW_SELF_OUTBID": str(allow_self_outbid).lower()}
        mirrored = replace(ctx, settings=load_settings(**limits))
        return cls(
            mirrored, auction_id, book, allow_self_outbid, script or load_script("place_bid")
        )

    def offer(self, user: str, amount: int, is_max: bool, arrival: int | None = None) -> list[str]:
        """Run one offer through both; what they disagree on (nothing, if they mirror).
        `arrival`: its arrival stamp, in ms from Redis's clock just before it is sent."""
        aid = str(self.auction_id)
        arrived = None if arrival is None else redis_now(self.ctx) + arrival
        script_keys, args = bidding.bid_script_call(
            self.ctx.settings,
            self.auction_id,
            user,
            from_minor(amount),
            is_max=is_max,
            arrived_ms=arrived,
        )
        kind, body = self.ctx.store.script(self.script, script_keys, args)
        result = orjson.loads(body)
        tokens, at, highest, ends, status = _flat(
            self.ctx.store.pipeline(
                [
                    ["HMGET", f"{keys.bucket_prefix(aid)}{user}", "tokens", "at"],
                    ["GET", keys.highest(aid)],
                    ["HGET", keys.state(aid), "endsAt"],
                    ["HGET", keys.state(aid), "status"],
                ]
            )
        )
        now = int(at)  # the script's clock (Redis TIME), as it stored it in the bucket
        what = f"{user[-4:]} {'max' if is_max else 'bid'} {amount} at {now} arrived {arrived}"
        wrong: list[str] = []

        rate = self.ctx.settings.rate_limit
        model, wait = take_token(self.buckets.get(user), now, rate.per_second, rate.burst)
        # (Redis keeps the tokens as Lua's tostring: 14 significant digits)
        if abs(model.tokens - float(tokens)) > 1e-12 * max(1.0, model.tokens):
            wrong.append(f"{what}: bucket holds {tokens}, the spec says {model.tokens}")
        # Carry on from what Redis stored (the script keeps 14 significant digits).
        self.buckets[user] = Bucket(float(tokens), now)
        self.seen[result.get("code") or ("buy-now" if result.get("buyNow") else kind)] += 1
        if wait is not None:
            if (kind, result.get("code"), result.get("retryAfter")) != (
                "refused",
                "rate_limited",
                wait,
            ):
                wrong.append(f"{what}: script {kind} {result}, spec rate_limited {wait} s")
            return wrong

        offer = Offer(user, amount, is_max, now, self.allow_self_outbid, arrived_ms=arrived)
        expected = judge_bid(self.book, offer)
        if isinstance(expected, Refused):
            got = (kind, result.get("code"), result.get("minNextBid"))
            min_next = None if expected.min_next is None else f"{from_minor(expected.min_next):f}"
            if got != ("refused", expected.code, min_next):
                wrong.append(f"{what}: script {got}, spec refused {expected}")
            return wrong
        assert isinstance(expected, Accepted)
        if kind != "ok":
            return [*wrong, f"{what}: script {kind} {result}, spec accepted {expected.bids}"]
        record = result["record"]
        placed = [(b["bidderId"], b["amount"], b["isProxy"]) for b in (record["bids"] or [])]
        spec_placed = [(b.user_id, b.amount, b.is_proxy) for b in expected.bids]
        checks = {
            "bids": (placed, spec_placed),
            "outbid": (sorted(result["outbid"] or []), sorted(expected.outbid)),
            "buy-now": (result["buyNow"], expected.buy_now),
            "end": ((record["endsAt"], int(ends)), (expected.book.ends_ms,) * 2),
            "status": (status, expected.book.status.value),
        }
        leader = orjson.loads(highest)
        spec_leader = expected.book.leader
        assert spec_leader is not None
        checks["leader"] = (
            (leader["userId"], leader["amount"], leader["max"], leader["maxAt"]),
            (spec_leader.user_id, spec_leader.amount, spec_leader.max_amount, spec_leader.max_at),
        )
        wrong += [f"{what}: {name} {a} != spec {b}" for name, (a, b) in checks.items() if a != b]
        if record["extended"]:
            self.seen["end moved"] += 1
        self.book = expected.book
        return wrong


def redis_now(ctx: Context) -> int:
    """Redis's clock (TIME, over TCP), epoch ms: the clock the script judges by."""
    client = redis.Redis.from_url(ctx.settings.redis_url or "")
    try:
        seconds, micros = client.time()
    finally:
        client.close()
    return int(seconds) * 1000 + int(micros) // 1000


def _flat(replies: list[Any]) -> list[Any]:
    """[[tokens, at], highest, ends, status] -> [tokens, at, highest, ends, status]"""
    (tokens, at), *rest = replies
    return [tokens, at, *rest]


Offers = Sequence[tuple[str, int, bool] | tuple[str, int, bool, int | None]]


def run(mirror: Mirror, seller: Person, sequence: Offers) -> list[str]:
    wrong: list[str] = []
    for user, amount, is_max, *arrival in sequence:
        who = seller.id if user == SELLER else user
        wrong += mirror.offer(who, amount, is_max, arrival[0] if arrival else None)
    return wrong


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    sequence=offers,
    variant=st.sampled_from(sorted(VARIANTS)),
    rate=st.sampled_from(["unlimited", "tight"]),
    allow_self_outbid=st.booleans(),
    blocked=st.sets(st.sampled_from(BUYERS), max_size=2),
)
def test_the_script_decides_what_the_specification_decides(
    ctx: Context,
    seller: Person,
    sequence: list[tuple[str, int, bool, int | None]],
    variant: str,
    rate: str,
    allow_self_outbid: bool,
    blocked: set[str],
) -> None:
    mirror = Mirror.start(
        ctx,
        seller,
        variant,
        rate=RATES[rate],
        allow_self_outbid=allow_self_outbid,
        blocked=frozenset(blocked),
    )
    assert run(mirror, seller, sequence) == []
    for outcome in mirror.seen:
        event(outcome)  # `pytest --hypothesis-show-statistics` shows what was exercised


def test_a_tight_bucket_refuses_and_refills_as_specified(ctx: Context, seller: Person) -> None:
    """Deterministic in what matters: 2 tokens a second, burst 3; four at once, the fourth
    refused with the wait the spec computes; after half a second, one more."""
    import time

    mirror = Mirror.start(ctx, seller, "plain", rate=RATES["tight"])
    first = [(BUYERS[0], 10_000 + i * 10_000, True) for i in range(4)]
    assert run(mirror, seller, first) == []
    assert mirror.buckets[BUYERS[0]].tokens < 1.0
    time.sleep(0.5)
    assert run(mirror, seller, [(BUYERS[0], 60_000, True)]) == []


# -- the window's edges, against Redis's own clock ---------------------------------------------

SEED_WINDOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local edge, offset, grace = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
if edge == 'goLiveAt' then
  redis.call('HSET', KEYS[1], 'goLiveAt', now + offset, 'endsAt', now + 600000)
elseif edge == 'endsAt' then
  redis.call('HSET', KEYS[1], 'goLiveAt', now - 600000, 'endsAt', now + offset)
elseif edge == 'arrivedAt' then
  redis.call('HSET', KEYS[1], 'goLiveAt', now - 600000, 'endsAt', tonumber(ARGV[4]) + offset)
else -- 'grace': the bid arrived long before the end, and reaches the script at its grace's edge
  redis.call('HSET', KEYS[1], 'goLiveAt', now - 600000, 'endsAt', now - grace + offset)
end
return now
"""
# (which edge, where it is put relative to the moment judged): the script's now is goLiveAt - 1,
# goLiveAt, endsAt - 1, endsAt; a bid that arrived at endsAt - 1 or at endsAt (reaching the
# script later); a bid that arrived in time reaching the script at endsAt + grace - 1 or at
# endsAt + grace.
EDGES = [
    ("goLiveAt", 1),
    ("goLiveAt", 0),
    ("endsAt", 1),
    ("endsAt", 0),
    ("arrivedAt", 1),
    ("arrivedAt", 0),
    ("grace", 1),
    ("grace", 0),
]


def window_edge(ctx: Context, seller: Person, edge: str, offset: int, script: Script) -> list[str]:
    """Seed the window around Redis's TIME and bid in one MULTI; the script's now must be the
    seed's now (else try again: the two fell in different milliseconds)."""
    client = redis.Redis.from_url(os.environ["REDIS_URL"], decode_responses=True)
    moderation.load_suspended(ctx)  # the script asks for the suspended set before judging
    blocks.load_blocked(ctx, seller.id)  # ... and the seller's blocked set
    grace = ctx.settings.late_bid_grace_ms
    try:
        for _ in range(50):
            auction_id = live_auction(ctx, seller)
            aid = str(auction_id)
            user = str(uuid.uuid4())
            before = redis_now(ctx)
            # arrivedAt: a little before the script runs; grace: long before the end
            stamp = {"arrivedAt": before - 300, "grace": before - grace - 1_000}.get(edge)
            script_keys, args = bidding.bid_script_call(
                ctx.settings, auction_id, user, from_minor(10_000), arrived_ms=stamp
            )
            with client.pipeline(transaction=True) as multi:
                multi.eval(SEED_WINDOW, 1, keys.state(aid), edge, offset, grace, stamp or 0)
                multi.eval(script.source, len(script_keys), *script_keys, *args)
                seeded, (kind, body) = multi.execute()
            at = client.hget(f"{keys.bucket_prefix(aid)}{user}", "at")
            if at is None or int(at) != int(seeded):
                continue
            now = int(seeded)
            go_live, ends = (
                now - 600_000,
                {
                    "goLiveAt": now + 600_000,
                    "endsAt": now + offset,
                    "arrivedAt": (stamp or 0) + offset,
                    "grace": now - grace + offset,
                }[edge],
            )
            if edge == "goLiveAt":
                go_live = now + offset
            book = Book(
                AuctionRules(10_000, 1_000, seller_id=seller.id),
                AuctionStatus.LIVE,
                go_live,
                ends,
                grace_ms=grace,
            )
            offer = Offer(user, 10_000, False, now, arrived_ms=stamp)
            spec = judge_bid(book, offer)
            script_says = "accepted" if kind == "ok" else orjson.loads(body)["code"]
            spec_says = "accepted" if isinstance(spec, Accepted) else spec.code
            assert is_open(book, offer.moment, now) == (spec_says == "accepted")
            # The edges are where the specification says they are, not only where both agree.
            open_at = 0 if edge == "goLiveAt" else 1
            assert spec_says == ("accepted" if offset == open_at else "auction_not_live"), edge
            if script_says != spec_says:
                return [f"{edge}{-offset:+d}: script {script_says}, spec {spec_says}"]
            return []
    finally:
        client.close()
    pytest.fail("never hit the same millisecond in 50 tries")


@pytest.mark.parametrize(
    ("edge", "offset"),
    EDGES,
    ids=[
        "goLive-1",
        "goLive",
        "ends-1",
        "ends",
        "arrived-ends-1",
        "arrived-ends",
        "grace-1",
        "grace",
    ],
)
def test_the_window_edges_are_the_specifications(
    ctx: Context, seller: Person, edge: str, offset: int
) -> None:
    assert window_edge(ctx, seller, edge, offset, load_script("place_bid")) == []


# -- mutants must be caught ----------------------------------------------------------------------


def mutant(old: str, new: str) -> Script:
    source = load_script("place_bid").source
    assert source.count(old) == 1, old
    return Script(name="place_bid_mutant", source=source.replace(old, new))


def test_a_flipped_window_comparison_is_caught(ctx: Context, seller: Person) -> None:
    flipped = mutant("moment < ends and", "moment <= ends and")
    assert window_edge(ctx, seller, "endsAt", 0, flipped) != []
    assert window_edge(ctx, seller, "arrivedAt", 0, flipped) != []
    early = mutant("tonumber(st.goLiveAt) <= moment", "tonumber(st.goLiveAt) < moment")
    assert window_edge(ctx, seller, "goLiveAt", 0, early) != []
    late = mutant("now < ends + grace)", "now <= ends + grace)")
    assert window_edge(ctx, seller, "grace", 0, late) != []


def test_a_script_that_ignores_the_arrival_is_caught(ctx: Context, seller: Person) -> None:
    """Judged at the script's clock, a bid that arrived before the end and reached the script
    in its grace is refused: the last second lost to a cold start."""
    ignoring = mutant(
        "if arrived and arrived <= now + 1000 and arrived >= now - 30000 then moment = arrived end",
        "",
    )
    assert window_edge(ctx, seller, "grace", 1, ignoring) != []
    assert window_edge(ctx, seller, "arrivedAt", 1, ignoring) != []


def test_a_script_that_believes_a_stamp_from_the_future_is_caught(
    ctx: Context, seller: Person
) -> None:
    """A stamp 1.5 s ahead of Redis's clock is not believed; believed, it would move a soft
    close's end by its lie."""
    store = TcpStore(ctx.settings.redis_url or "")
    try:
        gullible = mutant("arrived and arrived <= now + 1000 and", "arrived and")
        mirror = Mirror.start(replace(ctx, store=store), seller, "soft close", script=gullible)
        assert run(mirror, seller, [(BUYERS[0], 10_000, False, 1_500)]) != []
        honest = Mirror.start(replace(ctx, store=store), seller, "soft close")
        assert run(honest, seller, [(BUYERS[0], 10_000, False, 1_500)]) == []
    finally:
        store.close()


@pytest.mark.parametrize(
    ("old", "new", "variant", "sequence"),
    # (each with a 1/min bucket of 3: the fourth offer of one bidder in a row is refused)
    [
        # the minimum: a bid at exactly the start price refused
        ("if offer < floor then", "if offer <= floor then", "plain", [(BUYERS[0], 10_000, False)]),
        # self-outbid allowed whatever the setting says
        (
            "elseif leader and leader.userId == user_id and not allow_self then",
            "elseif false then",
            "plain",
            [(BUYERS[0], 10_000, False), (BUYERS[0], 11_000, False)],
        ),
        # soft close measured from the old end instead of now
        (
            "ends = moment + soft_close * 1000",
            "ends = ends + soft_close * 1000",
            "soft close",
            [(BUYERS[0], 10_000, False)],
        ),
        # buy-now that stays open after the first bid
        (
            "if reserve == nil then return l == nil end",
            "if reserve == nil then return true end",
            "buy-now",
            [(BUYERS[0], 10_000, False), (BUYERS[1], 20_000, False)],
        ),
        # the wait rounded down
        (
            "math.max(1, math.ceil((1.0 - tokens) / rate))",
            "math.max(1, math.floor((1.0 - tokens) / rate))",
            "plain",
            [(BUYERS[0], 10_000 + i * 10_000, True) for i in range(4)],
        ),
        # a blocked bidder let through
        (
            "if redis.call('SISMEMBER', st.blockedKey, user_id) == 1 then",
            "if false then",
            "plain",
            [(BUYERS[2], 10_000, False)],
        ),
    ],
    ids=["floor", "self-outbid", "soft-close", "buy-now", "retry-after", "blocked"],
)
def test_a_mutated_rule_is_caught(
    ctx: Context,
    seller: Person,
    old: str,
    new: str,
    variant: str,
    sequence: list[tuple[str, int, bool]],
) -> None:
    # Over TCP: the bridge runs only the project's own scripts, and a mutant is not one.
    store = TcpStore(ctx.settings.redis_url or "")
    try:
        tcp = replace(ctx, store=store)
        mirror = Mirror.start(
            tcp,
            seller,
            variant,
            rate=RATES["slow"],
            script=mutant(old, new),
            blocked=frozenset({BUYERS[2]}),
        )
        assert run(mirror, seller, sequence) != []
    finally:
        store.close()
