"""shared/services/bid_intake.py against real PostgreSQL and Redis: what PostgreSQL learns from
each accepted bid's outbox record, once, whatever runs it how often, and all or nothing when
PostgreSQL fails in the middle of a batch."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, func, select, text

from shared.adapters import keys
from shared.adapters.orm import Auction, Bid, Notification, ProxyMaximum
from shared.adapters.redis_records import BidRecord
from shared.domain.money import from_minor
from shared.services import bid_intake, bidding
from shared.services.context import Context
from tests.support.harness import Person, live_auction, person


def accepted(ctx: Context, auction_id: uuid.UUID, who: Person, amount: str, **kw: Any) -> BidRecord:
    """The script accepts the offer (its record goes to outbox:bids); nothing is stored yet."""
    kind, result = bidding.judge_in_redis(ctx, auction_id, who.id, Decimal(amount), **kw)
    assert kind == "ok", result
    return BidRecord.from_dict(result["record"])


def pending(ctx: Context) -> int:
    return int(ctx.store.command("XLEN", keys.OUTBOX_BIDS))


def count(ctx: Context, model: Any, **where: Any) -> int:
    with ctx.db.session() as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return int(session.scalar(query) or 0)


def test_a_record_taken_twice_is_stored_once(ctx: Context, seller: Person, buyer: Person) -> None:
    rival = person(ctx, "buyer", "rival")
    auction_id = live_auction(ctx, seller)
    accepted(ctx, auction_id, buyer, "100.00")
    second = accepted(ctx, auction_id, rival, "110.00")
    assert second.outbid == (buyer.id,)
    assert bid_intake.drain(ctx) == 2
    with ctx.db.session() as session:  # the same record again: a crash before XDEL
        bid_intake.intake(session, ctx, second)
    assert bid_intake.drain(ctx) == 0
    assert count(ctx, Bid, auction_id=auction_id) == 2
    with ctx.db.session() as session:
        kinds = sorted(
            (str(n.user_id), n.type) for n in session.scalars(select(Notification)).all()
        )
    # one new_bid per bid for the seller, one outbid for whoever lost the lead
    assert kinds == sorted([(seller.id, "new_bid"), (seller.id, "new_bid"), (buyer.id, "outbid")])


def test_a_maximum_and_a_moved_end_reach_postgresql_and_never_go_back(
    ctx: Context, seller: Person, buyer: Person
) -> None:
    soon = datetime.now(UTC) + timedelta(seconds=20)
    auction_id = live_auction(ctx, seller, ends_at=soon, soft_close_secs=30)
    first = accepted(ctx, auction_id, buyer, "150.00", is_max=True)
    raised = accepted(ctx, auction_id, buyer, "180.00", is_max=True)
    assert first.max_of == buyer.id and first.moves_the_end
    assert raised.bids == () and raised.max == 18_000  # a raised maximum places no bid
    assert bid_intake.drain(ctx) == 2
    with ctx.db.session() as session:
        maximum = session.scalars(select(ProxyMaximum)).one()
        auction = session.get(Auction, auction_id)
        assert auction is not None
        assert maximum.max_amount == Decimal("180.00")
        moved = auction.ends_at
        assert moved > soon
    # The older record again (a retried drain): the later maximum and end stay.
    with ctx.db.session() as session:
        bid_intake.store_rule_changes(session, first)
        stale_end = replace(first, ends_ms=first.ends_ms - 60_000)
        bid_intake.store_rule_changes(session, stale_end)
    with ctx.db.session() as session:
        assert session.scalars(select(ProxyMaximum.max_amount)).one() == Decimal("180.00")
        assert session.scalar(select(Auction.ends_at).where(Auction.id == auction_id)) == moved


def test_a_drain_cut_off_by_postgresql_mid_batch_stores_nothing_and_loses_nothing(
    ctx: Context, seller: Person, buyer: Person
) -> None:
    """PostgreSQL drops the drain's connection after its first few statements: the batch
    rolls back whole, every record stays in the outbox, and the next drain stores each
    once."""
    rival = person(ctx, "buyer", "rival")
    auction_id = live_auction(ctx, seller)
    amount = Decimal("100.00")
    for i in range(6):
        accepted(ctx, auction_id, (buyer, rival)[i % 2], f"{amount + 10 * i:.2f}")
    assert pending(ctx) == 6
    statements = 0

    def cut_off(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        nonlocal statements
        statements += 1
        if statements == 5:  # a few records in: the server ends this backend
            own = conn.connection.dbapi_connection.cursor()
            own.execute("SELECT pg_backend_pid()")
            (pid,) = own.fetchone()
            with ctx.db.session() as other:
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    engine = ctx.db.engine
    event.listen(engine, "before_cursor_execute", cut_off)
    try:
        assert bid_intake.drain(ctx) == 0
    finally:
        event.remove(engine, "before_cursor_execute", cut_off)
    assert statements >= 5
    assert pending(ctx) == 6
    assert count(ctx, Bid, auction_id=auction_id) == 0
    assert bid_intake.drain(ctx) == 6
    assert pending(ctx) == 0
    assert count(ctx, Bid, auction_id=auction_id) == 6
    assert count(ctx, Notification, user_id=uuid.UUID(seller.id)) == 6


def test_a_record_of_an_unknown_auction_holds_the_batch_back_whole(
    ctx: Context, seller: Person, buyer: Person
) -> None:
    """A record PostgreSQL refuses (here: its auction row is gone) fails the batch as a whole:
    nothing of it is stored, nothing of it is dropped."""
    auction_id = live_auction(ctx, seller)
    accepted(ctx, auction_id, buyer, "100.00")
    ghost = live_auction(ctx, seller)
    accepted(ctx, ghost, buyer, "100.00")
    with ctx.db.session() as session:
        session.execute(text("DELETE FROM auctions WHERE id = :id"), {"id": ghost})
    assert bid_intake.drain(ctx) == 0
    assert pending(ctx) == 2
    assert count(ctx, Bid) == 0


def test_a_buy_now_record_finishes_the_sale_once(
    ctx: Context, seller: Person, buyer: Person
) -> None:
    auction_id = live_auction(ctx, seller, buy_now="300.00")
    record = accepted(ctx, auction_id, buyer, "300.00")
    assert record.buy_now
    assert bid_intake.drain(ctx) == 1
    with ctx.db.session() as session:
        bid_intake.intake(session, ctx, record)  # again
    with ctx.db.session() as session:
        auction = session.get(Auction, auction_id)
        assert auction is not None
        assert (auction.status, auction.final_price) == ("sold", from_minor(30_000))
    assert count(ctx, Bid, auction_id=auction_id) == 1


@pytest.mark.parametrize("batch", [1, 2])
def test_a_drain_takes_its_batch_and_leaves_the_rest(
    ctx: Context, seller: Person, buyer: Person, batch: int
) -> None:
    auction_id = live_auction(ctx, seller)
    for i in range(3):
        accepted(ctx, auction_id, buyer, f"{100 + 10 * i}.00", is_max=True)
    assert bid_intake.drain(ctx, batch=batch) == batch
    assert pending(ctx) == 3 - batch


def test_the_hot_lane_insert_stores_a_proxy_answer_whole_and_once(
    ctx: Context, seller: Person, buyer: Person
) -> None:
    """store_bids_now, the bid handler's own insert (one prepared statement in autocommit):
    a plain bid the proxy answers is two bids in one record; sent twice (a retried request),
    and drained after, each bid is stored once, as the script placed it."""
    rival = person(ctx, "buyer", "rival")
    auction_id = live_auction(ctx, seller, start_price="100.00", increment="10.00")
    accepted(ctx, auction_id, buyer, "150.00", is_max=True)
    answered = accepted(ctx, auction_id, rival, "120.00")
    assert [b.bidder_id for b in answered.bids] == [rival.id, buyer.id]  # the proxy answers
    bid_intake.store_bids_now(ctx, answered)
    bid_intake.store_bids_now(ctx, answered)
    with ctx.db.session() as session:
        stored = session.scalars(
            select(Bid).where(Bid.auction_id == auction_id).order_by(Bid.seq)
        ).all()
        assert [(str(b.id), str(b.bidder_id), b.amount, b.seq, b.is_proxy) for b in stored] == [
            (b.id, b.bidder_id, from_minor(b.amount), b.seq, b.is_proxy) for b in answered.bids
        ]
    assert bid_intake.drain(ctx) == 2  # the opening maximum's record and this one
    assert count(ctx, Bid, auction_id=auction_id) == 3


def test_a_record_with_no_bids_stores_none_on_the_hot_lane(
    ctx: Context, seller: Person, buyer: Person
) -> None:
    auction_id = live_auction(ctx, seller)
    accepted(ctx, auction_id, buyer, "150.00", is_max=True)
    raised = accepted(ctx, auction_id, buyer, "180.00", is_max=True)
    assert raised.bids == ()
    bid_intake.store_bids_now(ctx, raised)  # nothing to insert: no statement, no error
    assert count(ctx, Bid, auction_id=auction_id) == 0
