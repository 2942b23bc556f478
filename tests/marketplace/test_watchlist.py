"""Watching: watch and unwatch are idempotent; the auction shows its
watchers and whether the caller watches; "ending soon" reaches every watcher and bidder
exactly once however many tickers race, after a soft close moved the end, after a restart;
watchers hear how it ended."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from chalice.test import Client
from sqlalchemy import select

from shared.adapters import keys
from shared.adapters.orm import Auction, Notification
from shared.domain.schedule import Moment
from shared.services import bidding, ending_soon, ticker
from shared.services.context import Context, for_socket_node
from shared.settings import get_settings
from tests.support.actors import Bidder, Seller, call
from tests.support.after_sale import hammer
from tests.support.harness import Person, live_auction, person, tcp
from tests.support.streams import user_events

LEAD_S = 60


@pytest.fixture
def lead(ctx: Context, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(ctx.settings, "ending_soon_secs", LEAD_S)
    assert get_settings().ending_soon_secs == LEAD_S  # the same object every context reads
    return LEAD_S


def notes(ctx: Context, kind: str) -> Counter[tuple[str, str]]:
    with ctx.db.session() as session:
        rows = session.scalars(select(Notification).where(Notification.type == kind)).all()
        return Counter((str(n.user_id), str(n.payload.get("auctionId"))) for n in rows)


def test_watch_and_unwatch_are_idempotent_and_shown(
    client: Client, seller: Person, buyer: Person
) -> None:
    auction = Seller(client, seller).create()
    path = f"/api/auctions/{auction['id']}"
    assert auction["watchers"] == 0 and auction["watching"] is False
    for _ in range(2):
        assert call(client, "PUT", f"{path}/watch", buyer).status_code == 204
    mine = call(client, "GET", path, buyer).json_body
    assert mine["watchers"] == 1 and mine["watching"] is True
    anonymous = call(client, "GET", path).json_body
    assert anonymous["watchers"] == 1 and "watching" not in anonymous
    listed = call(client, "GET", "/api/me/watchlist", buyer).json_body
    assert [a["id"] for a in listed["items"]] == [auction["id"]]
    for _ in range(2):
        assert call(client, "DELETE", f"{path}/watch", buyer).status_code == 204
    assert call(client, "GET", path, buyer).json_body["watching"] is False
    assert call(client, "GET", "/api/me/watchlist", buyer).json_body["items"] == []
    assert call(client, "PUT", f"/api/auctions/{uuid.uuid4()}/watch", buyer).status_code == 404
    assert call(client, "PUT", f"{path}/watch").status_code == 401


def test_ending_soon_reaches_watchers_and_bidders_exactly_once_with_tickers_racing(
    ctx: Context, client: Client, seller: Person, lead: int
) -> None:
    watcher, bidder_a, bidder_b = (person(ctx, "buyer") for _ in range(3))
    soon = datetime.now(UTC) + timedelta(seconds=lead + 2)
    auctions = [live_auction(ctx, seller, ends_at=soon, item_name=f"lot {i}") for i in range(6)]
    for aid in auctions:
        ending_soon.place(ctx, _record(ctx, aid))
        call(client, "PUT", f"/api/auctions/{aid}/watch", watcher)
        call(client, "PUT", f"/api/auctions/{aid}/watch", bidder_a)  # a bidder who watches too
        Bidder(client, bidder_a).placed(aid, "100")
        Bidder(client, bidder_b).placed(aid, "110")
    node_ctx = for_socket_node(get_settings())
    stop = threading.Event()
    errors: list[BaseException] = []

    def racing_ticker() -> None:
        try:
            while not stop.is_set():
                ticker.tick(node_ctx)
        except BaseException as exc:
            errors.append(exc)

    racers = [threading.Thread(target=racing_ticker) for _ in range(2)]
    for racer in racers:
        racer.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ticker.tick(ctx)
            if all(_record(ctx, a).ending_soon_round == 1 for a in auctions):
                break
        time.sleep(0.3)
    finally:
        stop.set()
        for racer in racers:
            racer.join(20)
        node_ctx.close()
    assert errors == []
    made = notes(ctx, "ending_soon")
    for aid in auctions:
        for who in (watcher, bidder_a, bidder_b):
            assert made[(who.id, str(aid))] == 1, (who, aid)
        assert made[(seller.id, str(aid))] == 0
    assert sum(made.values()) == 3 * len(auctions)
    pushed = [
        e
        for e in user_events(ctx, watcher.id)
        if e["type"] == "notification" and e["data"]["type"] == "ending_soon"
    ]
    assert len(pushed) == len(auctions)
    # A restart later finds nothing to send again.
    ticker.rebuild_schedule(ctx)
    ticker.tick(ctx)
    assert notes(ctx, "ending_soon") == made


def _record(ctx: Context, auction_id: uuid.UUID) -> Auction:
    with ctx.db.session() as session:
        auction = session.get(Auction, auction_id)
        assert auction is not None
        return auction


def _due(ctx: Context, auction_id: uuid.UUID) -> float | None:
    score = ctx.store.command("ZSCORE", keys.schedule(Moment.ENDING_SOON), str(auction_id))
    return float(score) if score is not None else None


def test_a_soft_close_moves_the_notice_with_the_end(
    ctx: Context, seller: Person, buyer: Person, lead: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    ends = datetime.now(UTC) + timedelta(seconds=100)
    aid = live_auction(ctx, seller, ends_at=ends, soft_close_secs=300)
    ending_soon.place(ctx, _record(ctx, aid))
    first_due = _due(ctx, aid)
    assert first_due is not None and abs(first_due - (ends.timestamp() - lead) * 1000) < 5
    bidding.place_bid(ctx, aid, buyer.id, Decimal("100.00"))  # soft close: the end moves on
    moved_end = datetime.fromtimestamp(
        int(ctx.store.command("HGET", keys.state(str(aid)), "endsAt")) / 1000, UTC
    )
    assert moved_end > ends + timedelta(seconds=150)
    # The old entry comes due: it is put back at the new notice time, nothing is sent.
    monkeypatch.setattr(ctx, "clock", lambda: ends - timedelta(seconds=lead - 1))
    assert ending_soon.fire(ctx, aid) is False
    moved_due = _due(ctx, aid)
    assert moved_due is not None and abs(moved_due - (moved_end.timestamp() - lead) * 1000) < 5
    assert notes(ctx, "ending_soon") == Counter()
    monkeypatch.setattr(ctx, "clock", lambda: moved_end - timedelta(seconds=lead - 1))
    assert ending_soon.fire(ctx, aid) is True
    assert ending_soon.fire(ctx, aid) is False  # once
    assert notes(ctx, "ending_soon") == Counter({(buyer.id, str(aid)): 1})
    assert _due(ctx, aid) is None


def test_lost_schedules_are_rebuilt_on_boot_and_swept_from_postgresql(
    ctx: Context, client: Client, seller: Person, buyer: Person, lead: int
) -> None:
    aid = live_auction(ctx, seller, ends_at=datetime.now(UTC) + timedelta(seconds=lead + 600))
    tcp().command("DEL", keys.schedule(Moment.ENDING_SOON))
    ticker.rebuild_schedule(ctx)
    assert _due(ctx, aid) is not None
    # Due now, and the schedule lost again: the sweep finds it in PostgreSQL.
    due_now = live_auction(ctx, seller, ends_at=datetime.now(UTC) + timedelta(seconds=lead - 5))
    call(client, "PUT", f"/api/auctions/{due_now}/watch", buyer)
    tcp().command("DEL", keys.schedule(Moment.ENDING_SOON))
    report = ticker.Ticker().tick(ctx, sweep=True)
    assert report.fired[Moment.ENDING_SOON] == [str(due_now)]
    assert notes(ctx, "ending_soon") == Counter({(buyer.id, str(due_now)): 1})


def test_watchers_hear_how_it_ended(ctx: Context, client: Client, seller: Person) -> None:
    watcher, bidder = person(ctx, "buyer"), person(ctx, "buyer")
    aid = live_auction(ctx, seller)
    for who in (watcher, bidder):
        call(client, "PUT", f"/api/auctions/{aid}/watch", who)
    Bidder(client, bidder).placed(aid, "100")
    hammer(ctx, aid)
    ended = notes(ctx, "auction_ended")
    assert ended[(watcher.id, str(aid))] == 1
    assert ended[(bidder.id, str(aid))] == 1  # the bidder's own, not a second as a watcher
    response = call(client, "POST", f"/api/auctions/{aid}/decision", seller, {"action": "accept"})
    assert response.status_code == 200
    with ctx.db.session() as session:
        sold = session.scalars(
            select(Notification).where(
                Notification.user_id == uuid.UUID(watcher.id),
                Notification.type == "auction_ended",
            )
        ).all()
    assert sorted(n.payload["status"] for n in sold) == ["ended", "sold"]
