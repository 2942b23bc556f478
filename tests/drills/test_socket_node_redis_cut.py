"""Outage drill: the socket node (its own process) loses Redis for 10 s, its TCP link cut by a
stoppable proxy, while bids go on being accepted (the functions reach Redis on their own
path). Its clients stay connected, then catch up, and every client ends with exactly the
room's events, in order, without a duplicate or a gap; a client that reconnects with its
lastEventId is replayed what it missed."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from infra.embedded import free_port
from infra.tcp_proxy import TcpProxy
from shared.services import bidding
from shared.services.context import Context
from tests.support import streams
from tests.support.harness import TOKEN, Person, SuiteServices, live_auction, person
from tests.support.processes import FileLoggedStack, logged_stack
from tests.support.socket_node import Client

pytestmark = pytest.mark.slow

CUT_S = 10.0


@pytest.fixture
def redis_link(services: SuiteServices) -> Iterator[tuple[TcpProxy, str]]:
    """A stoppable proxy in front of the suite's Redis, and the URL that goes through it."""
    parts = urlsplit(services.redis_url)
    proxy = TcpProxy((parts.hostname or "127.0.0.1", parts.port or 6379)).start()
    try:
        yield proxy, f"redis://127.0.0.1:{proxy.port}{parts.path}"
    finally:
        proxy.stop()


@pytest.fixture
def cut_node(
    services: SuiteServices, redis_link: tuple[TcpProxy, str], tmp_path: Path
) -> Iterator[FileLoggedStack]:
    stack = logged_stack(
        tmp_path / "logs",
        database_url=services.database_url,
        redis_url=redis_link[1],
        socket_port=free_port(),
        bridge_port=None,
        token=TOKEN,
    )
    try:
        stack.start_socket_node()
        stack.wait_healthy(60)
        yield stack
    finally:
        stack.stop()
        stack.close_logs()


def room_ids(ctx: Context, auction: uuid.UUID) -> list[str]:
    return streams.room_ids(ctx, auction)


def event_ids(client: Client) -> list[str]:
    return [m["eventId"] for m in client.received if m["type"] == "bid:placed"]


def test_a_node_that_loses_redis_for_10_s_keeps_its_clients_and_loses_nothing(
    ctx: Context,
    cut_node: FileLoggedStack,
    redis_link: tuple[TcpProxy, str],
    clients: Callable[..., Client],
    seller: Person,
) -> None:
    proxy, _ = redis_link
    auction = live_auction(ctx, seller, start_price="100.00", increment="10.00")
    bidders = [person(ctx, "buyer", f"cut{i}") for i in range(2)]
    amount = [100]

    def place(count: int, pause: float = 0.0) -> None:
        for _ in range(count):
            bidder = bidders[amount[0] // 10 % 2]
            bidding.place_bid(ctx, auction, bidder.id, Decimal(amount[0]))
            amount[0] += 10
            time.sleep(pause)

    ws = f"ws://127.0.0.1:{cut_node.socket_port}/ws"
    watchers = [clients(ws) for _ in range(3)]
    for watcher in watchers:
        assert watcher.join(auction)["type"] == "snapshot"
    leaver = clients(ws)
    assert leaver.join(auction)["type"] == "snapshot"
    place(4)
    for client in [*watchers, leaver]:
        client.events(4, "bid:placed")
    last_seen = event_ids(leaver)[-1]
    leaver.close()  # it will come back with its lastEventId

    proxy.stop()  # the node's Redis connections are cut, new ones refused
    cut_at = time.monotonic()
    place(10, pause=0.5)  # accepted meanwhile: the functions reach Redis on their own path
    health = httpx.get(f"{cut_node.socket_url}/health", timeout=10)
    assert health.status_code == 503 and health.json()["redis"] != "ok"
    for watcher in watchers:  # still connected: a ping is answered by the node itself
        watcher.send({"type": "ping"})
        watcher.until(lambda m: m["type"] == "pong")
    time.sleep(max(0.0, CUT_S - (time.monotonic() - cut_at)))
    restored = TcpProxy(proxy.target, port=proxy.port).start()
    try:
        place(3)
        expected = room_ids(ctx, auction)
        assert len(expected) == 17
        for watcher in watchers:  # what happened during the cut, then after it
            watcher.events(13, "bid:placed", timeout=30)
        back = clients(ws)
        assert back.join(auction, last_seen)["replayGap"] is False
        back.events(13, "bid:placed", timeout=15)
        for client in [*watchers, back]:
            client.quiet(0.5)  # anything extra (a duplicate) would arrive now
        for watcher in watchers:
            assert event_ids(watcher) == expected  # all, in order, each once
        assert event_ids(back) == expected[4:]  # exactly what it missed
        assert httpx.get(f"{cut_node.socket_url}/health", timeout=10).status_code == 200
        assert cut_node.dead() == []
    finally:
        restored.stop()
    lines: dict[str, Any] = {"cut_s": CUT_S, "events": len(expected)}
    print(f"socket node cut from Redis: {lines}")
