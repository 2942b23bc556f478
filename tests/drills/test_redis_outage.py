"""Outage drill: Redis paused (SIGSTOP) and then killed (SIGKILL) in the middle of a storm of
bids, over the real processes: the bridge, the API server and a socket node (its ticker drains
the bid outbox), PostgreSQL, and a redis-server that keeps what it acknowledged (an append-only
file synced on every write, as a managed Redis does) and comes back on the same port.

Nothing is lost: every bid is answered 201, 409/422/429, or 503 `unavailable` or
`outcome_unknown`; after recovery every 201 and every unknown outcome that was placed is in
PostgreSQL exactly once, and a retry with its Idempotency-Key returns it."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import httpx
import orjson
import pytest
import redis
from sqlalchemy import select

from infra.embedded import free_port
from shared.adapters import keys
from shared.adapters.orm import Bid
from shared.services.context import Context
from tests.support.harness import TOKEN, Person, SuiteServices, insert_auction, person
from tests.support.processes import DurableRedis, FileLoggedStack, logged_stack
from tests.support.socket_node import wait_for
from tests.support.streams import Entry

pytestmark = pytest.mark.slow

ANSWERS = {201, 409, 422, 429, 503}
OUTAGE_CODES = {"unavailable", "outcome_unknown"}


@dataclass
class Attempt:
    bidder: Person
    key: str
    amount: str
    status: int
    body: dict[str, Any]

    @property
    def code(self) -> str | None:
        return self.body.get("code") if self.status >= 400 else None


@pytest.fixture
def durable_redis(tmp_path: Path) -> Iterator[DurableRedis]:
    server = DurableRedis(tmp_path / "redis").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def stack(
    services: SuiteServices, durable_redis: DurableRedis, tmp_path: Path
) -> Iterator[FileLoggedStack]:
    processes = logged_stack(
        tmp_path / "logs",
        database_url=services.database_url,
        redis_url=durable_redis.url,
        api_port=free_port(),
        socket_port=free_port(),
        bridge_port=free_port(),
        token=TOKEN,
    )
    try:
        processes.start()
        yield processes
    finally:
        processes.stop()
        processes.close_logs()


def bid(api: str, bidder: Person, auction_id: uuid.UUID, amount: str, key: str) -> Attempt:
    try:
        response = httpx.post(
            f"{api}/api/auctions/{auction_id}/bids",
            json={"amount": amount},
            headers={**bidder.headers, "Idempotency-Key": key},
            timeout=30,
        )
    except httpx.HTTPError as exc:  # the drill counts this as an answer nobody allows
        return Attempt(bidder, key, amount, 0, {"error": str(exc)})
    return Attempt(bidder, key, amount, response.status_code, response.json())


class Storm:
    """Bidders bidding as fast as their answers allow, each attempt with a key of its own."""

    def __init__(self, api: str, auction_id: uuid.UUID, bidders: list[Person]) -> None:
        self.api, self.auction_id, self.bidders = api, auction_id, bidders
        self.attempts: list[Attempt] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(b,)) for b in bidders]

    def run(self, bidder: Person) -> None:
        amount = 100
        while not self.stop.is_set():
            attempt = bid(self.api, bidder, self.auction_id, f"{amount}.00", uuid.uuid4().hex)
            with self.lock:
                self.attempts.append(attempt)
            if attempt.status == 201 or attempt.code == "bid_too_low":
                amount = int(float(attempt.body["minNextBid"])) + 10 * len(self.bidders)
            elif attempt.code == "rate_limited":
                time.sleep(float(attempt.body.get("retryAfter") or 1))
            else:
                time.sleep(0.05)

    def __enter__(self) -> Storm:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)


def stored_ids(ctx: Context, auction_id: uuid.UUID) -> list[str]:
    with ctx.db.session() as session:
        return [str(b.id) for b in session.scalars(select(Bid).where(Bid.auction_id == auction_id))]


def test_redis_paused_then_killed_mid_storm_loses_no_bid(
    ctx: Context, stack: FileLoggedStack, durable_redis: DurableRedis, seller: Person
) -> None:
    # The auction exists in PostgreSQL only: the first bid rebuilds its state in this Redis.
    now = datetime.now(UTC)
    auction = insert_auction(
        ctx, seller, go_live_at=now - timedelta(seconds=1), status="live", seed_redis=False
    )
    bidders = [person(ctx, "buyer", f"storm{i}") for i in range(4)]
    with Storm(stack.api_url, auction, bidders) as storm:
        time.sleep(2)
        # Sent, no answer: the REST call's two attempts time out (2 s each), outcome_unknown.
        durable_redis.pause()
        time.sleep(5)
        durable_redis.resume()
        time.sleep(2)
        durable_redis.kill()  # refused: unavailable
        time.sleep(2)
        durable_redis.start()  # the same port, its append-only file
        time.sleep(3)
    attempts = storm.attempts

    # Every answer is one the contract allows.
    assert {a.status for a in attempts} <= ANSWERS, {a.status for a in attempts}
    outages = [a for a in attempts if a.status == 503]
    assert {a.code for a in outages} <= OUTAGE_CODES
    assert any(a.code == "outcome_unknown" for a in outages), "the pause produced no unknown"
    assert any(a.code == "unavailable" for a in outages), "the kill produced no refusal"
    for a in outages:
        if a.code == "outcome_unknown":
            assert a.body["idempotencyKey"] == a.key
    placed = {a.body["id"] for a in attempts if a.status == 201}
    assert len(placed) == sum(a.status == 201 for a in attempts)

    # After recovery: each unknown outcome that was placed is there (its idempotency record
    # survived in Redis), and a retry with its key returns that bid, never a second one.
    tcp = redis.Redis.from_url(durable_redis.url, decode_responses=True)
    try:
        wait_for(lambda: httpx.get(f"{stack.api_url}/health", timeout=5).status_code == 200)
        for a in (a for a in outages if a.code == "outcome_unknown"):
            record = tcp.get(f"{keys.idempotency_prefix(str(auction))}{a.bidder.id}:{a.key}")
            retry = bid(stack.api_url, a.bidder, auction, a.amount, a.key)
            if record is not None:  # it was placed while nobody heard
                was = orjson.loads(record)["bid"]["id"]
                assert retry.status == 201, retry.body
                assert retry.body["id"] == was
                again = bid(stack.api_url, a.bidder, auction, a.amount, a.key)
                assert again.body["id"] == was
                placed.add(was)
            elif retry.status == 201:  # it had not run: the retry placed it, once
                placed.add(retry.body["id"])
            else:
                assert retry.status in ANSWERS - {503}, retry.body
        # Every placed bid, and only those, reaches PostgreSQL once (the API stored most;
        # the socket node's ticker drains the rest from the bid outbox).
        wait_for(lambda: set(stored_ids(ctx, auction)) >= placed, timeout=30)
        wait_for(lambda: tcp.xlen(keys.OUTBOX_BIDS) == 0, timeout=30)
        in_redis = [
            orjson.loads(fields["e"])["data"]["bid"]["id"]
            # decode_responses=True: text ids and fields (the stubs cover both modes)
            for _, fields in cast(list[Entry], tcp.xrange(keys.room_stream(str(auction))))
        ]
    finally:
        tcp.close()
    stored = stored_ids(ctx, auction)
    assert sorted(stored) == sorted(set(stored))  # once each
    assert set(stored) == placed
    assert sorted(in_redis) == sorted(placed)  # what the rooms saw is what was stored
    assert stack.dead() == []  # no process gave up on the way
    counts: dict[str, int] = {}
    for a in attempts:
        counts[str(a.code or a.status)] = counts.get(str(a.code or a.status), 0) + 1
    print(f"storm: {len(attempts)} attempts {counts}; {len(stored)} bids stored")
