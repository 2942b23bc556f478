"""The lifecycle ticker (shared.services.ticker, invariant 6): the socket node's 1 s tick and
the Chalice scheduled function run the same tick; together, each transition, its room events,
user events and notifications happen exactly once, and live clients see them."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from chalice.test import Client
from sqlalchemy import select

from shared.adapters.orm import Auction, Notification
from shared.services import bidding, ticker
from shared.services.context import Context, for_socket_node
from shared.settings import get_settings
from tests.support.harness import Person, flush_redis, insert_auction, live_auction, person
from tests.support.socket_node import InProcessNode, wait_for
from tests.support.streams import room_events, user_events


def statuses(ctx: Context, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    with ctx.db.session() as session:
        rows = session.execute(select(Auction.id, Auction.status).where(Auction.id.in_(ids)))
        return {row.id: row.status for row in rows}


def notifications(ctx: Context) -> Counter[tuple[str, str, str]]:
    with ctx.db.session() as session:
        rows = session.scalars(select(Notification)).all()
        return Counter((str(n.user_id), n.type, str(n.payload.get("auctionId"))) for n in rows)


def scheduled_tick(client: Client) -> dict[str, Any]:
    """The Chalice scheduled function, invoked as EventBridge would."""
    event = client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
    )
    response = client.lambda_.invoke("lifecycle_tick", event)
    return dict(response.payload)


def ending_soon(ctx: Context, seller: Person, bidders: list[Person], count: int) -> list[uuid.UUID]:
    """Live auctions that end in a moment, half of them with bids."""
    ends = datetime.now(UTC) + timedelta(seconds=2.5)
    ids = []
    for i in range(count):
        aid = live_auction(ctx, seller, ends_at=ends, item_name=f"lot {i}")
        if i % 2 == 0:
            bidding.place_bid(ctx, aid, bidders[0].id, Decimal("100.00"))
            bidding.place_bid(ctx, aid, bidders[1].id, Decimal("110.00"))
        ids.append(aid)
    return ids


def starting_now(ctx: Context, seller: Person, count: int) -> list[uuid.UUID]:
    """Scheduled auctions whose start has just come."""
    past = datetime.now(UTC) - timedelta(seconds=2)
    return [
        insert_auction(ctx, seller, go_live_at=past, item_name=f"new {i}") for i in range(count)
    ]


def test_two_tickers_racing_make_each_transition_exactly_once(
    ctx: Context, client: Client, seller: Person
) -> None:
    bidders = [person(ctx, "buyer", f"bidder{i}") for i in range(2)]
    ending = ending_soon(ctx, seller, bidders, 12)
    starting = starting_now(ctx, seller, 8)
    node_ctx = for_socket_node(get_settings())  # the socket node's own context: Redis over TCP
    stop = threading.Event()
    errors: list[BaseException] = []

    def socket_node_ticker() -> None:
        try:
            while not stop.is_set():
                # sweep=True: both tickers read the overdue auctions from PostgreSQL too, so
                # they really do go for the same transitions at the same moment.
                ticker.tick(node_ctx)
        except BaseException as exc:
            errors.append(exc)

    # Two socket nodes' tickers (a restart overlapping the old process, or a second node)
    # and the scheduled function, all at once.
    racers = [threading.Thread(target=socket_node_ticker) for _ in range(2)]
    for racer in racers:
        racer.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            scheduled_tick(client)
            done = statuses(ctx, ending + starting)
            if all(done[a] != "live" for a in ending) and all(done[a] == "live" for a in starting):
                break
        time.sleep(0.3)  # let the racing ticker finish whatever it had claimed
    finally:
        stop.set()
        for racer in racers:
            racer.join(20)
        node_ctx.close()
    assert errors == []

    final = statuses(ctx, ending + starting)
    for i, aid in enumerate(ending):
        assert final[aid] == ("ended" if i % 2 == 0 else "closed_no_winner")
        ended = [e for e in room_events(ctx, aid) if e["type"] == "auction:ended"]
        assert len(ended) == 1, aid
        assert ended[0]["data"]["reason"] == ("time" if i % 2 == 0 else "no_bids")
    for aid in starting:
        assert final[aid] == "live"
        assert [e["type"] for e in room_events(ctx, aid)] == ["auction:started"]

    decisions = [e for e in user_events(ctx, seller.id) if e["type"] == "seller:decision_required"]
    assert sorted(e["auctionId"] for e in decisions) == sorted(str(a) for a in ending[::2])
    made = notifications(ctx)
    for i, aid in enumerate(ending):
        if i % 2 == 0:
            assert made[(seller.id, "decision_required", str(aid))] == 1
            for bidder in bidders:
                assert made[(bidder.id, "auction_ended", str(aid))] == 1
        else:
            assert made[(seller.id, "auction_ended", str(aid))] == 1
    for aid in starting:
        assert made[(seller.id, "auction_started", str(aid))] == 1
    lifecycle_kinds = {"auction_started", "auction_ended", "decision_required"}
    assert {n: c for n, c in made.items() if n[1] in lifecycle_kinds and c != 1} == {}
    pushed = Counter(
        (e["data"]["id"]) for e in user_events(ctx, seller.id) if e["type"] == "notification"
    )
    assert pushed and max(pushed.values()) == 1


def test_the_scheduled_function_pings_the_socket_node(
    ctx: Context, client: Client, node: InProcessNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib import runtime

    monkeypatch.setattr(runtime.settings(), "socket_node_url", node.http_url)
    assert scheduled_tick(client)["socketNode"] == 200
    monkeypatch.setattr(runtime.settings(), "socket_node_url", "http://127.0.0.1:9")
    assert str(scheduled_tick(client)["socketNode"]).startswith("unreachable")


def test_live_clients_see_the_lifecycle_once_with_both_tickers_running(
    ctx: Context, client: Client, node_factory: Any, clients: Any, seller: Person
) -> None:
    bidders = [person(ctx, "buyer", f"bidder{i}") for i in range(2)]
    soon = datetime.now(UTC) + timedelta(seconds=1)
    auction = insert_auction(ctx, seller, go_live_at=soon, duration_mins=1)
    with_bids = live_auction(ctx, seller, ends_at=datetime.now(UTC) + timedelta(seconds=1.5))
    node = node_factory(ticker=True)
    watcher = clients(node.ws_url)
    watcher.join(auction)
    seller_tab = clients(node.ws_url, seller.token)
    seller_tab.join(with_bids)
    bidding.place_bid(ctx, with_bids, bidders[0].id, Decimal("100.00"))

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(
        m["type"] == "seller:decision_required" for m in seller_tab.received
    ):
        scheduled_tick(client)
        seller_tab.quiet(0.2)
    started = watcher.until(lambda m: m["type"] == "auction:started")
    assert started["data"]["status"] == "live"
    for _ in range(5):
        scheduled_tick(client)
    time.sleep(1.2)  # two more ticks of the node
    seller_tab.quiet(0.2)

    assert [m["type"] for m in watcher.received + watcher.quiet(0.1)] == [
        "snapshot",
        "auction:started",
    ]
    kinds = Counter(m["type"] for m in seller_tab.received)
    assert kinds["auction:ended"] == 1
    assert kinds["seller:decision_required"] == 1
    notes = [m for m in seller_tab.received if m["type"] == "notification"]
    assert sorted(n["data"]["type"] for n in notes) == [
        "auction_started",
        "decision_required",
        "new_bid",
    ]


def test_overdue_transitions_fire_soon_after_boot_from_postgresql_alone(
    ctx: Context, node_factory: Any, seller: Person
) -> None:
    """Redis lost everything (schedules and states); the node rebuilds them on boot."""
    past = datetime.now(UTC) - timedelta(minutes=5)
    to_start = insert_auction(ctx, seller, go_live_at=past, duration_mins=60, seed_redis=False)
    to_close = insert_auction(
        ctx, seller, go_live_at=past, duration_mins=1, status="live", seed_redis=False
    )
    flush_redis()
    booted = time.monotonic()
    node_factory(ticker=True)
    wait_for(
        lambda: (
            statuses(ctx, [to_start, to_close]) == {to_start: "live", to_close: "closed_no_winner"}
        ),
        timeout=15,
    )
    took = time.monotonic() - booted
    print(f"overdue transitions fired {took:.2f} s after boot")
    # After the hammer: everyone in the room also sees how it ended (auction:closed, no_bids).
    assert [e["type"] for e in room_events(ctx, to_close)] == ["auction:ended", "auction:closed"]
