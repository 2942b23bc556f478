"""The bid engine under contention and faults (invariants 1 to 5), on real
PostgreSQL, real Redis, the bridge and the real upstash-redis client."""

from __future__ import annotations

import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import orjson
import pytest
from chalice.test import Client
from sqlalchemy import select

from infra.tcp_proxy import TcpProxy
from shared.adapters import keys
from shared.adapters.db import Database, make_engine, sqlalchemy_url
from shared.adapters.orm import Bid
from shared.adapters.redis_store import RestStore
from shared.domain.errors import DomainError
from shared.services import bid_intake, bidding, blocks, moderation
from shared.services.bidding import ANSWER_NAMESPACE
from shared.services.context import Context
from tests.support.actors import Bidder
from tests.support.harness import (
    TOKEN,
    Person,
    SuiteServices,
    flush_redis,
    insert_auction,
    live_auction,
    person,
)


def stored_bids(ctx: Context, auction_id: uuid.UUID) -> list[Bid]:
    with ctx.db.session() as session:
        return list(
            session.scalars(select(Bid).where(Bid.auction_id == auction_id).order_by(Bid.seq))
        )


def room_bid_ids(ctx: Context, auction_id: uuid.UUID) -> list[str]:
    entries = ctx.store.command("XRANGE", keys.room_stream(str(auction_id)), "-", "+")
    ids = []
    for _, fields in entries:
        event = orjson.loads(fields[1])
        if event["type"] == "bid:placed":
            ids.append(event["data"]["bid"]["id"])
    return ids


def assert_invariant_1(
    ctx: Context, auction_id: uuid.UUID, accepted: set[str], increment: Decimal
) -> list[Bid]:
    """Every 201 is stored, nothing else is, the amounts climb by the increment (a capped proxy
    answer may rise by less), and Redis's highest is PostgreSQL's."""
    rows = stored_bids(ctx, auction_id)
    ids = {str(b.id) for b in rows}
    assert accepted <= ids, "an acknowledged bid is missing from PostgreSQL"
    answers = {str(uuid.uuid5(ANSWER_NAMESPACE, a)) for a in accepted}
    assert ids <= accepted | answers, "a stored bid was never acknowledged"
    assert sorted(room_bid_ids(ctx, auction_id)) == sorted(ids), "events and rows differ"
    previous: Bid | None = None
    for bid in rows:
        if previous is not None:
            rise = bid.amount - previous.amount
            assert rise >= 0, (previous.amount, bid.amount)
            if rise < increment:
                assert bid.is_proxy and str(bid.id) in answers, (previous.amount, bid.amount)
        previous = bid
    highest = orjson.loads(ctx.store.command("GET", keys.highest(str(auction_id))))
    top = max(rows, key=lambda b: (b.amount, b.seq))
    assert (highest["bidId"], Decimal(highest["amount"]) / 100) == (str(top.id), top.amount)
    return rows


# -- invariant 1: contention ---------------------------------------------------------------------


def assert_retractions_kept_the_order(
    ctx: Context, auction_id: uuid.UUID, accepted: set[str], retracted: set[str], increment: Decimal
) -> None:
    """With retractions in the storm: replay the room's stream (the order both scripts judged
    in). Every accepted bid beats the highest standing when it was placed by the increment (a
    capped proxy answer by less, never below it); every `bid:retracted` names as the new
    highest the highest bid still standing; PostgreSQL marks exactly the retracted rows; every
    201 is stored, nothing else is; and Redis's highest is PostgreSQL's highest standing bid."""
    rows = {str(b.id): b for b in stored_bids(ctx, auction_id)}
    assert accepted <= set(rows), "an acknowledged bid is missing from PostgreSQL"
    answers = {str(uuid.uuid5(ANSWER_NAMESPACE, a)) for a in accepted}
    assert set(rows) <= accepted | answers, "a stored bid was never acknowledged"
    standing: dict[str, tuple[Decimal, int]] = {}  # id -> (amount, order placed)
    order = 0
    told: set[str] = set()
    entries = ctx.store.command("XRANGE", keys.room_stream(str(auction_id)), "-", "+")
    for _, fields in entries:
        event = orjson.loads(fields[1])
        data = event["data"]
        if event["type"] == "bid:placed":
            bid = data["bid"]
            amount = Decimal(bid["amount"])
            if standing:
                top = max(standing.values())[0]
                assert amount >= top, (amount, top)  # never below the highest it replaced
                if amount - top < increment:
                    assert bid["id"] in answers, (amount, top)
            order += 1
            standing[bid["id"]] = (amount, order)
        elif event["type"] == "bid:retracted":
            for bid_id in data["bidIds"]:
                standing.pop(bid_id)
                told.add(bid_id)
            if standing:
                best = max(standing, key=lambda i: standing[i])
                assert data["highestBid"]["id"] == best
            else:
                assert data["highestBid"] is None
    assert told == retracted, "the room heard other retractions than the API made"
    marked = {i for i, b in rows.items() if b.retracted_at is not None}
    assert marked == retracted, "PostgreSQL marks other bids than were retracted"
    assert set(standing) == set(rows) - marked
    leader = orjson.loads(ctx.store.command("GET", keys.highest(str(auction_id))))
    live = [b for b in rows.values() if b.retracted_at is None]
    top_row = max(live, key=lambda b: (b.amount, b.seq))
    assert (leader["bidId"], Decimal(leader["amount"]) / 100) == (str(top_row.id), top_row.amount)


@pytest.mark.parametrize(
    "mix",
    ["plain", "proxies", "retractions"],
    ids=["plain", "proxies-in-the-mix", "retractions-in-the-mix"],
)
def test_storm_of_50_bidders_and_2000_attempts_keeps_every_invariant(
    ctx: Context,
    api_url: str,
    seller: Person,
    mix: str,
) -> None:
    increment = Decimal("5.00")
    with_proxies = mix != "plain"
    # Retractions: ending two days out, each retraction takes every bid of its bidder.
    ends = {"ends_at": datetime.now(UTC) + timedelta(days=2)} if mix == "retractions" else {}
    auction_id = live_auction(
        ctx, seller, start_price="100.00", increment="5.00", duration_mins=30, **ends
    )
    bidders = [person(ctx, "buyer") for _ in range(50)]
    url = f"{api_url}/api/auctions/{auction_id}/bids"
    accepted: set[str] = set()
    retracted: set[str] = set()
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def bidder(who: int) -> None:
        rng = random.Random(who)
        me = bidders[who]
        next_min = Decimal("100.00")
        with httpx.Client(headers=me.headers, timeout=30) as http:
            for _ in range(40):
                amount = next_min + increment * rng.choice([0, 0, 0, 1, 3])
                if rng.random() < 0.1:
                    amount = next_min - increment  # too low on purpose
                body = {"amount": str(amount)}
                if with_proxies and rng.random() < 0.3:
                    body = {"maxAmount": str(amount + increment * rng.randint(0, 6))}
                response = http.post(url, json=body)
                with lock:
                    statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                    if response.status_code == 201:
                        accepted.add(response.json()["id"])
                payload = response.json()
                if mix == "retractions" and response.status_code == 201 and rng.random() < 0.08:
                    taken = http.post(f"{url}/{payload['id']}/retract", json={"reason": "typo"})
                    assert taken.status_code in (200, 409, 429), taken.text
                    if taken.status_code == 200:
                        with lock:
                            retracted.update(taken.json()["bidIds"])
                        next_min = Decimal(taken.json()["minNextBid"])
                        continue
                if "minNextBid" in payload:
                    next_min = Decimal(payload["minNextBid"])
                elif response.status_code == 429:
                    time.sleep(0.05)

    with ThreadPoolExecutor(max_workers=50) as pool:
        list(pool.map(bidder, range(50)))

    assert sum(statuses.values()) == 2000
    assert statuses.get(500, 0) == 0 and statuses.get(503, 0) == 0, statuses
    assert statuses.get(201, 0) > 50 and statuses.get(409, 0) > 0, statuses
    if mix == "retractions":
        assert len(retracted) > 10, retracted
        assert_retractions_kept_the_order(ctx, auction_id, accepted, retracted, increment)
        bid_intake.drain(ctx)
        assert_retractions_kept_the_order(ctx, auction_id, accepted, retracted, increment)
        return
    rows = assert_invariant_1(ctx, auction_id, accepted, increment)
    # The handler stored everything itself: draining the outbox adds nothing.
    bid_intake.drain(ctx)
    assert len(stored_bids(ctx, auction_id)) == len(rows)


# -- invariant 2: the window, with no ticker running ----------------------------------------------


def test_no_bid_is_accepted_outside_the_window_even_with_no_ticker(
    ctx: Context, api_url: str, seller: Person
) -> None:
    go_live = datetime.now(UTC) + timedelta(seconds=1.2)
    ends = go_live + timedelta(seconds=1.5)
    auction_id = insert_auction(
        ctx, seller, go_live_at=go_live, ends_at=ends, start_price="1.00", increment="1.00"
    )
    bidders = [person(ctx, "buyer") for _ in range(12)]
    outcomes: list[tuple[int, dict[str, Any]]] = []
    amount = Decimal("1.00")
    turn = 0
    with httpx.Client(timeout=10) as http:
        while datetime.now(UTC) < ends + timedelta(seconds=0.6):
            who = bidders[turn % len(bidders)]
            turn += 1
            response = http.post(
                f"{api_url}/api/auctions/{auction_id}/bids",
                json={"amount": str(amount)},
                headers=who.headers,
            )
            outcomes.append((response.status_code, response.json()))
            if response.status_code == 201:
                amount = Decimal(response.json()["minNextBid"])
            time.sleep(0.03)
    codes = [o[1].get("code") for o in outcomes if o[0] != 201]
    assert set(codes) <= {"auction_not_live", "rate_limited"}, codes
    accepted = [o[1] for o in outcomes if o[0] == 201]
    assert accepted, "nothing was accepted inside the window"
    assert outcomes[0][1].get("code") == "auction_not_live"  # before goLiveAt
    assert outcomes[-1][1].get("code") == "auction_not_live"  # after endsAt
    # The window is judged at each bid's arrival (the server's stamp); one that arrived in time
    # may be judged (createdAt) within the grace after the end, never later.
    grace = timedelta(milliseconds=ctx.settings.late_bid_grace_ms)
    for bid in accepted:
        arrived = datetime.fromisoformat(bid["arrivedAt"].replace("Z", "+00:00"))
        assert go_live - timedelta(milliseconds=1) <= arrived < ends
        created = datetime.fromisoformat(bid["createdAt"].replace("Z", "+00:00"))
        assert go_live - timedelta(milliseconds=1) <= created < ends + grace
    for row in stored_bids(ctx, auction_id):
        assert go_live - timedelta(milliseconds=1) <= row.created_at < ends + grace


# -- invariant 3: idempotency ---------------------------------------------------------------------


def test_the_same_idempotency_key_never_makes_two_bids(
    client: Client, ctx: Context, seller: Person, buyer: Person
) -> None:
    auction_id = live_auction(ctx, seller)
    bidder, key = Bidder(client, buyer), {"Idempotency-Key": "k-1"}
    first = bidder.bid(auction_id, "100.00", headers=key)
    again = bidder.bid(auction_id, "100.00", headers=key)
    assert first.status_code == again.status_code == 201
    assert first.json_body["id"] == again.json_body["id"]
    assert [str(b.id) for b in stored_bids(ctx, auction_id)] == [first.json_body["id"]]


@pytest.mark.parametrize(
    "different",
    [{"amount": "500.00"}, {"maxAmount": "100.00"}],
    ids=["another amount", "a maximum of the same amount"],
)
def test_a_key_reused_for_a_different_bid_is_refused(
    client: Client, ctx: Context, seller: Person, buyer: Person, different: dict[str, str]
) -> None:
    """As Stripe does: a key names one request; the same key with another body is a client
    bug, answered 422 `idempotency_key_reused`, never with the first bid as if it were this
    one (the bidder would believe a bid of 500 placed when it was one of 100)."""
    auction_id = live_auction(ctx, seller)
    bidder, key = Bidder(client, buyer), {"Idempotency-Key": "k-1"}
    first = bidder.bid(auction_id, "100.00", headers=key)
    assert first.status_code == 201
    reused = bidder.bid(auction_id, body=different, headers=key)
    assert reused.status_code == 422, reused.json_body
    assert reused.json_body["code"] == "idempotency_key_reused"
    assert [str(b.id) for b in stored_bids(ctx, auction_id)] == [first.json_body["id"]]
    # the same request again still returns the first bid
    assert bidder.bid(auction_id, "100.00", headers=key).json_body["id"] == first.json_body["id"]


def test_a_key_is_scoped_to_its_user(
    client: Client, ctx: Context, seller: Person, buyer: Person
) -> None:
    auction_id = live_auction(ctx, seller)
    other = person(ctx, "buyer")
    key = {"Idempotency-Key": "same"}
    one = Bidder(client, buyer).bid(auction_id, "100.00", headers=key)
    two = Bidder(client, other).bid(auction_id, "110.00", headers=key)
    assert one.status_code == two.status_code == 201
    assert one.json_body["id"] != two.json_body["id"]


class LosesFirstReply(BaseHTTPRequestHandler):
    """Between the client and the bridge: forwards every request, but for the first one drops
    the connection after Redis has run the command, as a network would."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    upstream = ""
    seen: list[bytes] = []  # noqa: RUF012 - set per test

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        reply = httpx.post(
            self.upstream + self.path,
            content=body,
            headers={
                k: v
                for k, v in self.headers.items()
                if k.lower() in {"authorization", "upstash-encoding"}
            },
        )
        self.seen.append(body)
        if len(self.seen) == 1:
            self.close_connection = True
            self.connection.close()
            return
        self.send_response(reply.status_code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply.content)))
        self.end_headers()
        self.wfile.write(reply.content)


def test_a_retried_rest_call_never_makes_a_second_bid(
    ctx: Context, services: SuiteServices, seller: Person, buyer: Person
) -> None:
    auction_id = live_auction(ctx, seller)
    # The suspended and blocked sets in place (a fresh Redis asks for them first): the lost
    # reply is the bid's.
    moderation.load_suspended(ctx)
    blocks.load_blocked(ctx, seller.id)

    class Handler(LosesFirstReply):
        upstream = services.rest_url
        seen: list[bytes] = []  # noqa: RUF012 - this test's own

    proxy = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        flaky = RestStore(
            f"http://127.0.0.1:{proxy.server_address[1]}", TOKEN, retries=1, retry_interval_s=0.05
        )
        receipt = bidding.place_bid(
            replace(ctx, store=flaky), auction_id, buyer.id, Decimal("100.00")
        )
    finally:
        proxy.shutdown()
        proxy.server_close()
    script_calls = [b for b in Handler.seen if b.startswith((b'["EVALSHA"', b'["EVAL"'))]
    assert len(script_calls) >= 2, "the first reply was not lost: nothing was retried"
    assert receipt.replayed
    assert [str(b.id) for b in stored_bids(ctx, auction_id)] == [receipt.bid["id"]]


# -- invariant 4: PostgreSQL down in the middle of a storm ---------------------------------------


def proxied_database(database_url: str) -> tuple[TcpProxy, str]:
    """A stoppable proxy in front of the test database, and the URL that goes through it."""
    _, connect_args = sqlalchemy_url(database_url)
    parts = urlsplit(database_url)
    if "unix_sock" in connect_args:
        target: tuple[str, int] | str = connect_args["unix_sock"]
    else:
        target = (parts.hostname or "127.0.0.1", parts.port or 5432)
    proxy = TcpProxy(target).start()
    query = {k: v[0] for k, v in parse_qs(parts.query).items() if k != "host"}
    suffix = "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
    user = parts.username or "postgres"
    return proxy, f"postgresql://{user}@127.0.0.1:{proxy.port}{parts.path}{suffix}"


def test_postgres_down_mid_storm_loses_no_acknowledged_bid(
    ctx: Context, services: SuiteServices, seller: Person
) -> None:
    auction_id = live_auction(ctx, seller, start_price="10.00", increment="1.00")
    bidders = [person(ctx, "buyer") for _ in range(8)]
    # The suspended set is in Redis, as in any Redis that has served a bid (the script asks
    # for it before judging; rebuilding it needs the PostgreSQL this test takes away), and so
    # is the seller's blocked set.
    moderation.load_suspended(ctx)
    blocks.load_blocked(ctx, seller.id)
    proxy, url = proxied_database(services.database_url)
    fragile = Context(ctx.settings, Database(make_engine(url, pool_size=4, timeout_s=1)), ctx.store)
    fragile = replace(
        fragile, settings=fragile.settings.model_copy(update={"bid_rate_limit": "1000/s:1000"})
    )
    acknowledged: set[str] = set()
    during_outage: set[str] = set()
    outage = threading.Event()
    stop = threading.Event()
    lock = threading.Lock()

    def bidder(who: int) -> None:
        me = bidders[who]
        next_min = Decimal("10.00")
        while not stop.is_set():
            try:
                receipt = bidding.place_bid(fragile, auction_id, me.id, next_min)
            except DomainError as refused:
                next_min = Decimal(refused.extra.get("minNextBid", next_min))
                continue
            with lock:
                acknowledged.add(receipt.bid["id"])
                if outage.is_set():
                    during_outage.add(receipt.bid["id"])
            next_min = Decimal(receipt.min_next_bid)

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(bidder, i) for i in range(8)]
        time.sleep(0.7)
        proxy.stop()  # PostgreSQL unreachable: every open connection cut, new ones refused
        outage.set()
        time.sleep(1.0)
        outage.clear()
        proxy.start()  # back, on the same port
        time.sleep(0.7)
        stop.set()
        for f in futures:
            f.result()
    proxy.stop()
    fragile.db.dispose()

    assert during_outage, "no bid was acknowledged while PostgreSQL was down"
    missing_before = acknowledged - {str(b.id) for b in stored_bids(ctx, auction_id)}
    assert missing_before, "the outage did not keep any bid out of PostgreSQL"
    while bid_intake.drain(ctx):  # what the ticker does once PostgreSQL is back
        pass
    assert_invariant_1(ctx, auction_id, acknowledged, Decimal("1.00"))


# -- invariant 5: Redis flushed ------------------------------------------------------------------


def test_after_flushall_the_next_bid_is_judged_on_state_rebuilt_from_postgres(
    client: Client,
    ctx: Context,
    seller: Person,
) -> None:
    auction_id = live_auction(ctx, seller, start_price="100.00", increment="10.00")
    alice, bob = Bidder(client, person(ctx, "buyer")), Bidder(client, person(ctx, "buyer"))
    alice.placed(auction_id, "100.00")
    bob.placed(auction_id, "150.00")
    flush_redis()

    low = alice.bid(auction_id, "155.00")
    assert low.status_code == 409
    assert (low.json_body["code"], low.json_body["minNextBid"]) == ("bid_too_low", "160.00")
    again = bob.bid(auction_id, "160.00")
    assert again.json_body["code"] == "already_highest"  # the leader came back too
    ok = alice.bid(auction_id, "160.00")
    assert ok.status_code == 201
    rows = stored_bids(ctx, auction_id)
    assert [b.seq for b in rows] == [1, 2, 3]
    assert [str(b.amount) for b in rows] == ["100.00", "150.00", "160.00"]
