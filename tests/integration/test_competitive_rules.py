"""Proxy bids, soft close, reserve and buy-now, end to end (HTTP, real Redis and PostgreSQL)."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
from chalice.test import Client
from sqlalchemy import select

from shared.adapters import keys
from shared.adapters.orm import Auction, Bid, Invoice, Notification
from shared.domain.errors import DomainError
from shared.services import bidding, ticker, transitions
from shared.services.context import Context
from shared.settings import load_settings
from tests.support.actors import Actor, Bidder
from tests.support.harness import Person, clock_runs_out, flush_redis, live_auction, person, tcp
from tests.support.streams import room_events

# -- proxy bids ----------------------------------------------------------------------------------


def test_a_plain_bid_is_answered_by_the_proxy_and_both_are_in_the_history(
    client: Client,
    ctx: Context,
    seller: Person,
) -> None:
    auction_id = live_auction(ctx, seller, start_price="100.00", increment="10.00")
    asha, ravi = person(ctx, "buyer"), person(ctx, "buyer")
    opened = Bidder(client, asha).bid(auction_id, max_amount="150.00")
    assert opened.status_code == 201
    assert (opened.json_body["amount"], opened.json_body["maxAmount"]) == ("100.00", "150.00")

    answered = Bidder(client, ravi).bid(auction_id, amount="120.00")
    assert answered.status_code == 201 and answered.json_body["amount"] == "120.00"
    history = client.http.get(f"/api/auctions/{auction_id}/bids").json_body["items"]
    assert [(b["bidderId"], b["amount"]) for b in history] == [
        (asha.id, "130.00"),
        (ravi.id, "120.00"),
        (asha.id, "100.00"),
    ]
    events = [e for e in room_events(ctx, auction_id) if e["type"] == "bid:placed"]
    assert [e["data"]["bid"]["amount"] for e in events] == ["100.00", "120.00", "130.00"]
    view = Actor(client, None).auction(auction_id)
    assert view["highestBid"]["bidderId"] == asha.id
    assert view["minNextBid"] == "140.00"


def test_maximums_are_private_to_their_owner(client: Client, ctx: Context, seller: Person) -> None:
    auction_id = live_auction(ctx, seller)
    asha, ravi = person(ctx, "buyer"), person(ctx, "buyer")
    Bidder(client, asha).bid(auction_id, max_amount="987.65")
    assert Actor(client, asha).auction(auction_id)["myMaxAmount"] == "987.65"
    for viewer in (ravi, seller, None):
        body = Actor(client, viewer).auction(auction_id)
        assert "myMaxAmount" not in body
        assert "987.65" not in orjson.dumps(body).decode()
    history = client.http.get(f"/api/auctions/{auction_id}/bids").json_body
    assert "987.65" not in orjson.dumps(history).decode()
    events = orjson.dumps(room_events(ctx, auction_id)).decode()
    assert "987.65" not in events


def test_the_leader_may_raise_their_maximum_with_self_outbid_off(
    client: Client, ctx: Context, seller: Person
) -> None:
    auction_id = live_auction(ctx, seller)
    asha = person(ctx, "buyer")
    Bidder(client, asha).bid(auction_id, max_amount="150.00")
    assert (
        Bidder(client, asha).bid(auction_id, amount="200.00").json_body["code"] == "already_highest"
    )
    raised = Bidder(client, asha).bid(auction_id, max_amount="300.00")
    assert raised.status_code == 201 and raised.json_body["maxAmount"] == "300.00"
    assert Actor(client, asha).auction(auction_id)["myMaxAmount"] == "300.00"
    assert (
        Actor(client, None).auction(auction_id)["highestBid"]["amount"] == "100.00"
    )  # nothing visible


def test_outbid_notifications_go_to_whoever_lost_the_lead(
    client: Client, ctx: Context, seller: Person
) -> None:
    from shared.services import bid_intake

    auction_id = live_auction(ctx, seller)
    asha, ravi = person(ctx, "buyer"), person(ctx, "buyer")
    Bidder(client, asha).bid(auction_id, max_amount="150.00")
    Bidder(client, ravi).bid(auction_id, amount="120.00")  # answered by asha's proxy: ravi lost
    Bidder(client, ravi).bid(auction_id, amount="200.00")  # ravi leads: asha lost
    bid_intake.drain(ctx)
    with ctx.db.session() as session:
        rows = session.scalars(select(Notification).where(Notification.type == "outbid")).all()
        outbid = sorted((str(n.user_id), n.payload["amount"]) for n in rows)
    assert outbid == sorted([(ravi.id, "130.00"), (asha.id, "200.00")])
    feed = ctx.store.command("XRANGE", keys.FEED, "-", "+")
    outbid_users = [
        dict(zip(f[::2], f[1::2], strict=True)).get("user")
        for _, f in feed
        if b"bid:outbid" in f[1].encode()
    ]
    assert outbid_users == [ravi.id, asha.id]


# -- reserve -------------------------------------------------------------------------------------


def test_reserve_is_hidden_but_reserve_met_is_shown(
    client: Client, ctx: Context, seller: Person
) -> None:
    auction_id = live_auction(ctx, seller, reserve="500.00")
    asha = person(ctx, "buyer")
    assert Actor(client, None).auction(auction_id)["reserveMet"] is False
    assert "reservePrice" not in Actor(client, asha).auction(auction_id)
    assert Actor(client, seller).auction(auction_id)["reservePrice"] == "500.00"
    Bidder(client, asha).bid(auction_id, amount="500.00")
    assert Actor(client, None).auction(auction_id)["reserveMet"] is True


def test_an_auction_ending_below_the_reserve_goes_to_the_seller(
    ctx: Context, seller: Person
) -> None:
    now = datetime.now(UTC)
    auction_id = live_auction(
        ctx,
        seller,
        reserve="500.00",
        go_live_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(seconds=1),
    )
    asha = person(ctx, "buyer")
    bidding.place_bid(ctx, auction_id, asha.id, Decimal("100.00"))
    clock_runs_out(ctx, auction_id)
    assert transitions.end(ctx, auction_id)
    with ctx.db.session() as session:
        assert session.get_one(Auction, auction_id).status == "ended"
    ended = next(e for e in room_events(ctx, auction_id) if e["type"] == "auction:ended")
    assert ended["data"]["reserveMet"] is False


# -- soft close ----------------------------------------------------------------------------------


def test_a_late_bid_moves_the_end_and_the_event_carries_it(
    client: Client, ctx: Context, seller: Person
) -> None:
    now = datetime.now(UTC)
    auction_id = live_auction(
        ctx,
        seller,
        soft_close_secs=60,
        go_live_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(seconds=20),
    )
    placed = Bidder(client, person(ctx, "buyer")).bid(auction_id, amount="100.00")
    new_end = datetime.fromisoformat(placed.json_body["endsAt"].replace("Z", "+00:00"))
    assert new_end > now + timedelta(seconds=55)
    event = next(e for e in room_events(ctx, auction_id) if e["type"] == "bid:placed")
    assert event["data"]["endsAt"] == placed.json_body["endsAt"]
    assert Actor(client, None).auction(auction_id)["endsAt"] == placed.json_body["endsAt"]
    assert float(ctx.store.command("ZSCORE", keys.SCHEDULE_END, str(auction_id))) == (
        new_end.timestamp() * 1000
    )


def test_soft_close_racing_the_ticker_at_the_last_second(ctx: Context, seller: Person) -> None:
    """Bids keep landing in the last moments while a ticker runs flat out: the auction never
    ends before its (moved) end, and no bid is accepted after it."""
    fast = replace(ctx, settings=load_settings(BID_RATE_LIMIT="1000/s:1000"))
    now = datetime.now(UTC)
    auction_id = live_auction(
        fast,
        seller,
        soft_close_secs=1,
        start_price="1.00",
        increment="1.00",
        go_live_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(seconds=0.8),
    )
    bidders = [person(ctx, "buyer") for _ in range(2)]
    stop = threading.Event()
    ended_at: list[datetime] = []

    def run_ticker() -> None:
        while not stop.is_set():
            ticker.tick(fast)
            with fast.db.session() as session:
                if session.get_one(Auction, auction_id).status != "live" and not ended_at:
                    ended_at.append(datetime.now(UTC))
            time.sleep(0.02)

    thread = threading.Thread(target=run_ticker, daemon=True)
    thread.start()
    accepted: list[dict[str, str]] = []
    deadline = time.monotonic() + 2.5
    turn = 0
    amount = Decimal("1.00")
    while time.monotonic() < deadline and not ended_at:
        try:
            receipt = bidding.place_bid(fast, auction_id, bidders[turn % 2].id, amount)
            accepted.append({"createdAt": receipt.bid["createdAt"], "endsAt": receipt.ends_at})
            amount = Decimal(receipt.min_next_bid)
        except DomainError:
            pass
        turn += 1
        time.sleep(0.15)
    time.sleep(1.5 + fast.settings.late_bid_grace_ms / 1000)  # the end fires after the grace
    stop.set()
    thread.join()
    assert len(accepted) >= 3, "the soft close never extended the auction"
    last_end = max(datetime.fromisoformat(a["endsAt"].replace("Z", "+00:00")) for a in accepted)
    with ctx.db.session() as session:
        final = session.get_one(Auction, auction_id)
        assert final.status == "ended"
        assert final.ends_at == last_end
        assert final.closed_at is not None and final.closed_at >= last_end
        late = session.scalars(
            select(Bid).where(Bid.auction_id == auction_id, Bid.created_at >= last_end)
        ).all()
    assert late == []


# -- buy-now -------------------------------------------------------------------------------------


def test_buy_now_sells_at_once_with_the_events_of_a_sale(
    client: Client, ctx: Context, seller: Person
) -> None:
    auction_id = live_auction(ctx, seller, buy_now="500.00")
    asha = person(ctx, "buyer")
    bought = Bidder(client, asha).bid(auction_id, amount="650.00")
    assert bought.status_code == 201 and bought.json_body["amount"] == "500.00"
    view = Actor(client, None).auction(auction_id)
    assert view["status"] == "sold"
    again = Bidder(client, person(ctx, "buyer")).bid(auction_id, amount="700.00")
    assert again.json_body["code"] == "auction_not_live"
    ended = [e for e in room_events(ctx, auction_id) if e["type"] == "auction:ended"]
    assert [e["data"]["reason"] for e in ended] == ["buy_now"]
    with ctx.db.session() as session:
        record = session.get_one(Auction, auction_id)
        assert (record.status, str(record.winner_id), record.final_price) == (
            "sold",
            asha.id,
            Decimal("500.00"),
        )
        invoices = session.scalars(select(Invoice).where(Invoice.auction_id == auction_id)).all()
        assert len(invoices) == 1
        kinds = {(str(n.user_id), n.type) for n in session.scalars(select(Notification))}
    assert {(asha.id, "accepted"), (seller.id, "accepted")} <= kinds
    jobs = tcp().command("HKEYS", keys.JOBS_DATA)
    assert sorted(jobs) == sorted(
        [f"email:sale:{auction_id}:buyer", f"email:sale:{auction_id}:seller"]
    )


def test_buy_now_racing_a_plain_bid_exactly_one_wins(ctx: Context, seller: Person) -> None:
    for _ in range(12):
        auction_id = live_auction(ctx, seller, buy_now="500.00")
        buyer_now, plain = person(ctx, "buyer"), person(ctx, "buyer")
        barrier = threading.Barrier(2)

        def attempt(
            who: Person,
            amount: str,
            barrier: threading.Barrier = barrier,
            auction_id: uuid.UUID = auction_id,
        ) -> object:
            barrier.wait()
            try:
                return bidding.place_bid(ctx, auction_id, who.id, Decimal(amount))
            except DomainError as refused:
                return refused.code

        with ThreadPoolExecutor(max_workers=2) as pool:
            now_result, plain_result = pool.map(
                lambda args: attempt(*args), [(buyer_now, "500.00"), (plain, "100.00")]
            )
        with ctx.db.session() as session:
            status = session.get_one(Auction, auction_id).status
            bids = session.scalars(select(Bid).where(Bid.auction_id == auction_id)).all()
        if isinstance(now_result, bidding.BidReceipt) and now_result.buy_now:
            assert plain_result == "auction_not_live"
            assert status == "sold" and len(bids) == 1
        else:
            # the plain bid came first: buy-now is gone, the 500 stands as an ordinary bid
            assert isinstance(plain_result, bidding.BidReceipt)
            assert status == "live" and len(bids) == 2


def test_a_moved_end_and_a_maximum_survive_a_redis_flush_at_once(
    client: Client, ctx: Context, seller: Person
) -> None:
    """Stored with the bid itself, not later by the intake: a flush right after the bid
    rebuilds the auction with its moved end and the leader's maximum."""
    now = datetime.now(UTC)
    auction_id = live_auction(
        ctx,
        seller,
        soft_close_secs=120,
        go_live_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(seconds=30),
    )
    asha, ravi = person(ctx, "buyer"), person(ctx, "buyer")
    placed = Bidder(client, asha).bid(auction_id, max_amount="300.00")
    flush_redis()  # before any intake ran
    assert Actor(client, None).auction(auction_id)["endsAt"] == placed.json_body["endsAt"]
    answered = Bidder(client, ravi).bid(auction_id, amount="200.00")  # asha's proxy still answers
    assert answered.status_code == 201
    view = Actor(client, None).auction(auction_id)
    assert (view["highestBid"]["bidderId"], view["highestBid"]["amount"]) == (asha.id, "210.00")
