"""shared/services/auction_state.py against real PostgreSQL and Redis: the Redis state an
auction is judged on, written from the record, read back through the typed codecs of
shared/adapters/redis_records.py, and never taken back to an older round."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
from sqlalchemy import update

from shared.adapters import keys
from shared.adapters.orm import Auction
from shared.adapters.redis_records import AuctionState, BidRecord, HighestBid
from shared.domain.marketplace import public_name
from shared.domain.times import to_ms
from shared.services import auction_state, bid_intake, bidding
from shared.services.context import Context
from tests.support.harness import Person, insert_auction, live_auction, person, tcp


def wipe_redis_state(ctx: Context, auction_id: uuid.UUID) -> None:
    aid = str(auction_id)
    tcp().command("DEL", keys.state(aid), keys.highest(aid), keys.proxies(aid))
    ctx.store.command("ZREM", keys.SCHEDULE_END, aid)
    ctx.store.command("ZREM", keys.SCHEDULE_START, aid)


def state(ctx: Context, auction_id: str) -> AuctionState:
    """The auction's state in Redis, which must be there."""
    found = auction_state.read_state(ctx, auction_id)
    assert found is not None, auction_id
    return found


def test_a_rebuilt_state_is_the_state_the_bids_left(
    ctx: Context, seller: Person, buyer: Person
) -> None:
    """Bids (a proxy answering a plain bid) through the script, stored; then Redis loses the
    auction and it is rebuilt from PostgreSQL: every codec reads back what the script wrote."""
    rival = person(ctx, "buyer", "rival")
    auction_id = live_auction(
        ctx, seller, reserve="250.00", buy_now="900.00", soft_close_secs=30, item_name="Lamp"
    )
    aid = str(auction_id)
    for who, amount, is_max in ((buyer, "300.00", True), (rival, "200.00", False)):
        # As the handler calls it: with the bidder's public name (the leader keeps it).
        kind, result = bidding.judge_in_redis(
            ctx,
            auction_id,
            who.id,
            Decimal(amount),
            is_max=is_max,
            bidder_name=public_name(who.principal.name, who.id),
        )
        assert kind == "ok", result
    assert bid_intake.drain(ctx) == 2
    live_state = auction_state.read_state(ctx, aid)
    live_highest = HighestBid.from_json(ctx.store.command("GET", keys.highest(aid)))
    live_proxies = ctx.store.command("HGETALL", keys.proxies(aid))
    assert live_state is not None and live_highest is not None
    assert (live_highest.user_id, live_highest.amount, live_highest.max) == (
        buyer.id,
        21_000,
        30_000,
    )

    wipe_redis_state(ctx, auction_id)
    assert auction_state.read_state(ctx, aid) is None
    assert auction_state.rebuild(ctx, auction_id)

    assert auction_state.read_state(ctx, aid) == live_state
    assert HighestBid.from_json(ctx.store.command("GET", keys.highest(aid))) == live_highest
    rebuilt_proxies = ctx.store.command("HGETALL", keys.proxies(aid))
    assert _decoded(rebuilt_proxies) == _decoded(live_proxies)
    assert int(float(ctx.store.command("ZSCORE", keys.SCHEDULE_END, aid))) == live_state.ends_ms
    # the rebuilt maximum still answers: 300 meets the buyer's 300, the earlier maximum wins
    kind, result = bidding.judge_in_redis(ctx, auction_id, rival.id, Decimal("300.00"))
    assert kind == "ok", result
    placed = [(b["bidderId"], b["amount"], b["isProxy"]) for b in result["record"]["bids"]]
    assert placed == [(rival.id, 30_000, False), (buyer.id, 30_000, True)]


def _decoded(flat: list[str]) -> dict[str, object]:
    return {k: orjson.loads(v) for k, v in zip(flat[::2], flat[1::2], strict=True)}


def test_the_state_codec_round_trips_every_rule(ctx: Context, seller: Person) -> None:
    go_live = datetime.now(UTC).replace(microsecond=123000) + timedelta(hours=1)
    bare = insert_auction(ctx, seller, go_live_at=go_live)
    ruled = insert_auction(
        ctx, seller, go_live_at=go_live, reserve="150.00", buy_now="500.00", soft_close_secs=45
    )
    bare_state = auction_state.read_state(ctx, str(bare))
    ruled_state = auction_state.read_state(ctx, str(ruled))
    assert bare_state is not None and ruled_state is not None
    assert (bare_state.reserve, bare_state.buy_now, bare_state.soft_close_s) == (None, None, None)
    assert (ruled_state.reserve, ruled_state.buy_now, ruled_state.soft_close_s) == (
        15_000,
        50_000,
        45,
    )
    assert ruled_state.go_live_ms == to_ms(go_live) and ruled_state.status == "scheduled"
    flat = ruled_state.to_fields()
    names = [str(name) for name in flat[::2]]
    assert AuctionState.from_hash(dict(zip(names, map(str, flat[1::2]), strict=True))) == (
        ruled_state
    )


def test_seeding_leaves_a_present_state_alone_unless_forced_and_never_goes_back_a_round(
    ctx: Context, seller: Person
) -> None:
    auction_id = live_auction(ctx, seller)
    aid = str(auction_id)
    tcp().command("HSET", keys.state(aid), "status", "sold")  # Redis knows better
    with ctx.db.session() as session:
        auction = session.get(Auction, auction_id)
        assert auction is not None
        assert not auction_state.seed(ctx, session, auction)
        assert state(ctx, aid).status == "sold"
        assert auction_state.seed(ctx, session, auction, force=True)
        assert state(ctx, aid).status == "live"
        tcp().command("HSET", keys.state(aid), "round", 3)  # a reset Redis saw first
        assert not auction_state.seed(ctx, session, auction, force=True)
        assert state(ctx, aid).round == 3
    with ctx.db.session() as session:
        session.execute(update(Auction).where(Auction.id == auction_id).values(round=3))
    with ctx.db.session() as session:
        auction = session.get(Auction, auction_id)
        assert auction is not None
        assert auction_state.seed(ctx, session, auction, force=True)


def test_a_missing_auction_is_not_rebuilt(ctx: Context) -> None:
    missing = uuid.uuid4()
    assert not auction_state.rebuild(ctx, missing)
    assert auction_state.read_state(ctx, str(missing)) is None


def test_the_bid_record_codec_reads_what_the_script_writes(
    ctx: Context, seller: Person, buyer: Person
) -> None:
    auction_id = live_auction(ctx, seller)
    kind, result = bidding.judge_in_redis(ctx, auction_id, buyer.id, Decimal("150.00"), is_max=True)
    assert kind == "ok"
    (_, fields), *_ = ctx.store.command("XRANGE", keys.OUTBOX_BIDS, "-", "+")
    record = BidRecord.from_json(dict(zip(fields[::2], fields[1::2], strict=True))["r"])
    assert record == BidRecord.from_dict(result["record"])
    assert (record.auction_id, record.round, record.seller_id) == (str(auction_id), 1, seller.id)
    assert [(b.bidder_id, b.amount, b.is_proxy, b.seq) for b in record.bids] == [
        (buyer.id, 10_000, True, 1)
    ]
    assert (record.max_of, record.max, record.buy_now, record.extended) == (
        buyer.id,
        15_000,
        False,
        False,
    )
    assert record.has_rule_changes and not record.moves_the_end
