"""A bid in an outage says what happened: `outcome_unknown` when the script was
sent and no answer came (Redis paused with SIGSTOP: it runs the bid when it wakes), and
`unavailable` when nothing reached Redis. A retry with the same Idempotency-Key returns the one
bid, stored once. Also: a flood of bids to made-up auction ids is rate limited before any
PostgreSQL lookup (the bid script charges the bidder's lookup bucket first)."""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import orjson
import pytest
from chalice.test import Client
from sqlalchemy import event, select

from infra.bridge import serve_in_thread
from infra.embedded import EmbeddedRedis, free_port
from infra.serving import ThreadedServer
from shared.adapters import keys
from shared.adapters.orm import Bid
from shared.adapters.redis_store import (
    OutcomeUnknown,
    RestStore,
    StoreUnavailable,
    TcpStore,
    load_script,
)
from shared.services import bidding, blocks, moderation
from shared.services.context import Context
from shared.settings import load_settings
from tests.support.harness import TOKEN, Person, live_auction


@dataclass
class OwnRedis:
    """A redis-server process of this test's own (so it can be paused and killed), with a
    bridge in front of it and a functions' Context that talks to it through REST."""

    server: EmbeddedRedis
    bridge: ThreadedServer
    ctx: Context

    @property
    def pid(self) -> int:
        assert self.server._process is not None
        return self.server._process.pid

    def pause(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGCONT)


@pytest.fixture
def own_redis(ctx: Context, tmp_path: Path) -> Iterator[OwnRedis]:
    server = EmbeddedRedis(tmp_path / "redis")
    url = server.start()
    bridge = serve_in_thread(url, TOKEN, 0)
    store = RestStore(f"http://127.0.0.1:{bridge.server_address[1]}", TOKEN)
    own = OwnRedis(server, bridge, replace(ctx, store=store))
    try:
        yield own
    finally:
        own.resume()
        store.close()
        bridge.shutdown()
        bridge.server_close()
        server.stop()


@pytest.fixture
def api(own_redis: OwnRedis, client: Client, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The Chalice app, its Context pointed at the test's own Redis."""
    from chalicelib import runtime

    monkeypatch.setattr(runtime, "_context", own_redis.ctx)
    return client


def post_bid(api: Any, person: Person, auction_id: uuid.UUID, key: str | None) -> Any:
    headers = {**person.headers, "Content-Type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return api.http.post(
        f"/api/auctions/{auction_id}/bids", headers=headers, body=orjson.dumps({"amount": "100"})
    )


def stored(ctx: Context, auction_id: uuid.UUID) -> list[str]:
    with ctx.db.session() as session:
        return [str(b.id) for b in session.scalars(select(Bid).where(Bid.auction_id == auction_id))]


def placed_in_redis(ctx: Context, auction_id: uuid.UUID) -> list[str]:
    entries = ctx.store.command("XRANGE", keys.room_stream(str(auction_id)), "-", "+") or []
    return [orjson.loads(fields[1])["data"]["bid"]["id"] for _, fields in entries]


@pytest.mark.parametrize("own_key", [True, False], ids=["client-key", "no-key"])
def test_a_bid_sent_to_a_paused_redis_is_outcome_unknown_and_a_retry_returns_it_once(
    own_redis: OwnRedis, api: Any, seller: Person, buyer: Person, own_key: bool
) -> None:
    ctx = own_redis.ctx
    auction_id = live_auction(ctx, seller)
    # The bid script is loaded already, as on any Redis that has served a bid: the EVALSHA
    # sent into the pause runs when Redis wakes (a cold Redis would answer NOSCRIPT then).
    TcpStore(own_redis.server.url).command("SCRIPT", "LOAD", load_script("place_bid").source)
    moderation.load_suspended(ctx)  # and the suspended set is in place, as after any bid
    blocks.load_blocked(ctx, seller.id)  # and the seller's blocked set
    own_redis.pause()
    try:
        # (a key with colons: the retry key was once cut out of the Redis key name at one)
        lost = post_bid(api, buyer, auction_id, "bid:attempt:1" if own_key else None)
    finally:
        own_redis.resume()
    assert lost.status_code == 503, lost.body
    problem = orjson.loads(lost.body)
    assert problem["code"] == "outcome_unknown"
    assert lost.headers["Retry-After"] == str(bidding.RETRY_AFTER_S)
    assert lost.headers["Content-Type"] == "application/problem+json"
    assert "Idempotency-Key" in problem["detail"]
    key = problem["idempotencyKey"]
    if own_key:
        assert key == "bid:attempt:1"
    # Redis woke up and ran what it was sent: the bid is placed (once, though two attempts
    # of the REST call reached it).
    deadline = time.monotonic() + 10
    while not placed_in_redis(ctx, auction_id) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(placed_in_redis(ctx, auction_id)) == 1
    retry = post_bid(api, buyer, auction_id, key)
    assert retry.status_code == 201, retry.body
    bid = orjson.loads(retry.body)
    assert [bid["id"]] == placed_in_redis(ctx, auction_id)
    assert stored(ctx, auction_id) == [bid["id"]]
    again = post_bid(api, buyer, auction_id, key)
    assert orjson.loads(again.body)["id"] == bid["id"]
    assert stored(ctx, auction_id) == [bid["id"]]


def test_a_bid_that_never_reaches_redis_is_unavailable(
    own_redis: OwnRedis, api: Any, seller: Person, buyer: Person
) -> None:
    """Redis down (connection refused behind the bridge): nothing ran, the answer says so."""
    ctx = own_redis.ctx
    auction_id = live_auction(ctx, seller)
    own_redis.server.stop()
    refused = post_bid(api, buyer, auction_id, "never-sent")
    assert refused.status_code == 503, refused.body
    problem = orjson.loads(refused.body)
    assert problem["code"] == "unavailable"
    assert "not placed" in problem["detail"]
    assert refused.headers["Retry-After"] == str(bidding.RETRY_AFTER_S)
    assert stored(ctx, auction_id) == []


def test_a_bid_when_the_rest_endpoint_is_unreachable_is_unavailable(
    ctx: Context, seller: Person, buyer: Person, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib import runtime

    auction_id = live_auction(ctx, seller)
    nowhere = RestStore(f"http://127.0.0.1:{free_port()}", TOKEN)  # nothing listens there
    monkeypatch.setattr(runtime, "_context", replace(ctx, store=nowhere))
    refused = post_bid(client, buyer, auction_id, "k")
    assert (refused.status_code, orjson.loads(refused.body)["code"]) == (503, "unavailable")
    monkeypatch.setattr(runtime, "_context", ctx)
    assert post_bid(client, buyer, auction_id, "k").status_code == 201  # nothing was placed


def test_tcp_store_tells_a_timeout_from_a_refusal(own_redis: OwnRedis) -> None:
    """The socket node's transport classifies the same way."""
    paused = TcpStore(own_redis.server.url, timeout_s=0.3, retry_interval_s=0.01)
    assert paused.command("PING") == "PONG"
    own_redis.pause()
    try:
        with pytest.raises(OutcomeUnknown):
            paused.command("PING")
    finally:
        own_redis.resume()
    paused.close()
    closed = TcpStore(f"redis://127.0.0.1:{free_port()}/0", timeout_s=0.3)
    with pytest.raises(StoreUnavailable) as refused:
        closed.command("PING")
    assert not isinstance(refused.value, OutcomeUnknown)


# -- the bid bucket before any lookup ------------------------------------------------------------


def test_bids_to_made_up_auctions_are_rate_limited_before_postgresql_is_asked(
    api: Any, own_redis: OwnRedis, buyer: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib import runtime

    # A bucket that does not refill while the test runs (1 a minute, burst 10): the counts
    # below hold however slowly the machine answers.
    ctx = replace(own_redis.ctx, settings=load_settings(BID_RATE_LIMIT="1/m:10"))
    monkeypatch.setattr(runtime, "_context", ctx)
    lookups: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM auctions" in statement:
            lookups.append(statement)

    def code_of(auction_id: uuid.UUID) -> str:
        return str(orjson.loads(post_bid(api, buyer, auction_id, None).body)["code"])

    event.listen(ctx.db.engine, "before_cursor_execute", count)
    try:
        # An unknown id asked again within 30 s costs a token, and no lookup.
        known_unknown = uuid.uuid4()
        assert [code_of(known_unknown) for _ in range(2)] == ["not_found"] * 2
        assert len(lookups) == 1
        # Made-up ids, as fast as the client can: the 8 tokens left, then refused by the
        # script before anything asks PostgreSQL.
        codes = [code_of(uuid.uuid4()) for _ in range(30)]
        assert codes == ["not_found"] * 8 + ["rate_limited"] * 22
        assert len(lookups) == 1 + 8
    finally:
        event.remove(ctx.db.engine, "before_cursor_execute", count)
