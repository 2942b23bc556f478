"""Outage drill: PostgreSQL cut (a stoppable proxy between it and the socket node process)
at the moment an auction is due to end, for 5 s. The node's ticker fails its attempt and
comes back to it (its sweep finds the overdue auction in PostgreSQL); meanwhile the functions'
scheduled tick comes after it. The auction ends exactly once: one `auction:ended` event, its bids
all there, nothing left in the outbox, and a later tick changes nothing."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import pytest
from sqlalchemy import func, select

from infra.embedded import free_port
from infra.tcp_proxy import TcpProxy
from shared.adapters.orm import Auction, Bid, OutboxEntry
from shared.services import bidding, ticker
from shared.services.context import Context
from tests.support import streams
from tests.support.harness import TOKEN, Person, SuiteServices, insert_auction, person
from tests.support.processes import FileLoggedStack, logged_stack
from tests.support.socket_node import wait_for

pytestmark = pytest.mark.slow

CUT_S = 5.0


def proxied(database_url: str, port: int) -> tuple[tuple[str, int] | str, str]:
    """Where PostgreSQL listens (a unix socket for the embedded one), and the URL through a
    proxy on `port`."""
    parts = urlsplit(database_url)
    query = dict(parse_qsl(parts.query))
    socket_dir = query.pop("host", None)
    target: tuple[str, int] | str
    if socket_dir and socket_dir.startswith("/"):
        target = f"{socket_dir}/.s.PGSQL.{parts.port or 5432}"
    else:
        target = (parts.hostname or "127.0.0.1", parts.port or 5432)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@127.0.0.1:{port}" if userinfo else f"127.0.0.1:{port}"
    rest = "&".join(f"{k}={v}" for k, v in query.items())
    return target, urlunsplit((parts.scheme, netloc, parts.path, rest, ""))


@pytest.fixture
def pg_link(services: SuiteServices) -> Iterator[tuple[TcpProxy, str]]:
    port = free_port()
    target, url = proxied(services.database_url, port)
    proxy = TcpProxy(target, port=port).start()
    try:
        yield proxy, url
    finally:
        proxy.stop()


@pytest.fixture
def ticking_node(
    services: SuiteServices, pg_link: tuple[TcpProxy, str], tmp_path: Path
) -> Iterator[FileLoggedStack]:
    stack = logged_stack(
        tmp_path / "logs",
        database_url=pg_link[1],
        redis_url=services.redis_url,
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


def ended_events(ctx: Context, auction: uuid.UUID) -> list[dict[str, object]]:
    return [b for b in streams.room_events(ctx, auction) if b["type"] == "auction:ended"]


def status(ctx: Context, auction: uuid.UUID) -> str:
    with ctx.db.session() as session:
        found = session.get(Auction, auction)
        assert found is not None
        return str(found.status)


def test_postgresql_cut_as_an_auction_ends_ends_it_once(
    ctx: Context,
    ticking_node: FileLoggedStack,
    pg_link: tuple[TcpProxy, str],
    seller: Person,
) -> None:
    proxy, _ = pg_link
    ends = datetime.now(UTC) + timedelta(seconds=4)
    auction = insert_auction(
        ctx, seller, go_live_at=ends - timedelta(minutes=1), ends_at=ends, status="live"
    )
    bidders = [person(ctx, "buyer", f"end{i}") for i in range(2)]
    for n, bidder in enumerate(bidders):
        bidding.place_bid(ctx, auction, bidder.id, Decimal(100 + 10 * n))

    time.sleep(max(0.0, (ends - datetime.now(UTC)).total_seconds() - 0.3))
    proxy.stop()  # the node's connections to PostgreSQL are cut, new ones refused
    time.sleep(CUT_S)
    assert status(ctx, auction) == "live"  # nobody could end it meanwhile (the node alone ticks)
    restored = TcpProxy(proxy.target, port=proxy.port).start()
    try:
        # The node comes back to it by itself (its sweep finds it overdue in PostgreSQL).
        wait_for(lambda: status(ctx, auction) != "live", timeout=30)
        # Then the functions' scheduled tick, twice at once, finds nothing left to do.
        racers = [threading.Thread(target=ticker.tick, args=(ctx,)) for _ in range(2)]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join(60)
        time.sleep(2)  # a second ending, were there one, would be published by now
        assert len(ended_events(ctx, auction)) == 1
        again = ticker.tick(ctx)
        assert str(auction) not in again.ended
        assert len(ended_events(ctx, auction)) == 1
        with ctx.db.session() as session:
            bids = session.scalar(
                select(func.count()).select_from(Bid).where(Bid.auction_id == auction)
            )
            waiting = session.scalar(select(func.count()).select_from(OutboxEntry))
        assert bids == 2
        assert waiting == 0
        assert status(ctx, auction) in ("ended", "sold", "closed_no_winner")
        assert ticking_node.dead() == []
    finally:
        restored.stop()
