"""Where writes come from (shared/domain/sources.py, shared/services/sources.py): a seller's
writes leave salted hashes of their network and device, a bid's record may carry the same for
its bidder (the intake stores them, and tolerates a record without), a shared one becomes the
pair's networkOverlap signal, marks are forgotten after 90 days; and a bid's pair is scored
by the next tick."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from chalice.test import Client
from sqlalchemy import select, text, update

from shared.adapters.orm import SourceMark, TrustScore
from shared.adapters.redis_records import BidRecord
from shared.domain.sources import Mark, MarkKind, device_of, marks_of, network_of
from shared.services import bid_intake, bidding, rescoring, sources, ticker, trust
from shared.services.context import Context
from tests.support.actors import call
from tests.support.harness import Person, live_auction, person

DEVICE = "3f2b9c1e-7d4a-4e8b-9a61-0c5d2e8f1a7b"
KEY = b"k" * 32


def test_networks_are_blocks_and_say_nothing_of_local_addresses() -> None:
    assert network_of("203.0.113.77") == "203.0.113.0/24"
    assert network_of("::ffff:203.0.113.77") == "203.0.113.0/24"
    assert network_of("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    for nothing in ("127.0.0.1", "::1", "0.0.0.0", "169.254.1.1", "224.0.0.1", "x", "", None):
        assert network_of(nothing) is None
    assert device_of(DEVICE) == DEVICE
    for bad in ("short", "a" * 65, "bad id with spaces!!!!", None):
        assert device_of(bad) is None


def test_a_mark_is_a_salted_hash_of_the_block() -> None:
    (one,) = marks_of(KEY, "203.0.113.5", None)
    (same,) = marks_of(KEY, "203.0.113.250", None)
    (other,) = marks_of(KEY, "203.0.114.5", None)
    (salted,) = marks_of(b"another key 0000", "203.0.113.5", None)
    assert one == same and one.hash != other.hash and one.hash != salted.hash
    assert len(one.hash) == 32 and "203" not in one.hash
    assert [m.kind for m in marks_of(KEY, "203.0.113.5", DEVICE)] == [
        MarkKind.NETWORK,
        MarkKind.DEVICE,
    ]


def _marks(ctx: Context, who: Person) -> list[tuple[str, str]]:
    with ctx.db.session() as session:
        return sorted(
            (m.kind, m.hash)
            for m in session.scalars(
                select(SourceMark).where(SourceMark.user_id == uuid.UUID(who.id))
            )
        )


def _create(client: Client, seller: Person, device: str) -> None:
    body = {
        "itemName": "Brass lamp",
        "startPrice": "100",
        "bidIncrement": "10",
        "goLiveAt": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
        "durationMins": 60,
    }
    created = call(client, "POST", "/api/auctions", seller, body, headers={"X-Device-Id": device})
    assert created.status_code == 201, created.body


def test_a_sellers_write_leaves_its_marks_and_nothing_else(
    ctx: Context, client: Client, seller: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalice.local import LambdaEventConverter

    monkeypatch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", "203.0.113.9")
    _create(client, seller, DEVICE)
    expected = sorted(
        (m.kind.value, m.hash) for m in marks_of(ctx.settings.source_key, "203.0.113.9", DEVICE)
    )
    assert _marks(ctx, seller) == expected
    with ctx.db.session() as session:  # no address or device id anywhere in the table
        dump = str(session.execute(text("SELECT * FROM source_marks")).all())
    assert "203.0.113" not in dump and DEVICE not in dump
    # A buyer's read leaves nothing; a refused write leaves nothing either.
    call(client, "GET", "/api/auctions", headers={"X-Device-Id": "b" * 20})
    refused = call(
        client, "POST", "/api/auctions", seller, {"itemName": ""}, headers={"X-Device-Id": "c" * 20}
    )
    assert refused.status_code == 422
    assert _marks(ctx, seller) == expected


def test_a_local_address_leaves_only_the_device(
    ctx: Context, client: Client, seller: Person
) -> None:
    _create(client, seller, DEVICE)
    assert [kind for kind, _ in _marks(ctx, seller)] == ["device"]


def _record(
    ctx: Context, auction_id: uuid.UUID, who: Person, amount: str, **extra: Any
) -> BidRecord:
    kind, result = bidding.judge_in_redis(ctx, auction_id, who.id, Decimal(amount))
    assert kind == "ok", result
    return BidRecord.from_dict({**result["record"], **extra})


def test_the_intake_stores_a_bids_marks_and_the_pair_overlaps_the_seller(
    ctx: Context, seller: Person, buyer: Person
) -> None:
    net, device = marks_of(ctx.settings.source_key, "198.51.100.20", DEVICE)
    with ctx.db.session() as session:
        sources.remember(session, uuid.UUID(seller.id), [net], datetime.now(UTC))
    auction_id = live_auction(ctx, seller)
    plain = _record(ctx, auction_id, buyer, "100.00")  # no hashes: tolerated
    assert (plain.net_hash, plain.device_hash) == (None, None)
    with ctx.db.session() as session:
        bid_intake.intake(session, ctx, plain)
    assert _marks(ctx, buyer) == []
    neighbour = person(ctx, "buyer", "Neighbour")
    marked = _record(ctx, auction_id, neighbour, "110.00", netHash=net.hash, deviceHash=device.hash)
    assert marked.net_hash == net.hash and marked.sender == marked.bids[0].bidder_id
    with ctx.db.session() as session:
        bid_intake.intake(session, ctx, marked)
    bidder = neighbour.id
    assert trust.refresh(ctx) == 2
    with ctx.db.session() as session:
        row = session.get(TrustScore, (uuid.UUID(bidder), uuid.UUID(seller.id)))
        assert row is not None
        assert row.facts["shared_networks"] == 1 and row.facts["shared_devices"] == 0
    items = trust.suspects(ctx, limit=10, seller_id=uuid.UUID(seller.id))["items"]
    overlapping = next(i for i in items if i["bidderId"] == bidder)
    assert overlapping["signals"]["networkOverlap"] == 1.0
    assert any("seller's network" in r for r in overlapping["reasons"])


def test_marks_are_forgotten_after_90_days_and_the_pair_rescored(
    ctx: Context, seller: Person, buyer: Person
) -> None:
    mark = Mark(MarkKind.DEVICE, "d" * 32)
    long_ago = datetime.now(UTC) - timedelta(days=91)
    with ctx.db.session() as session:
        sources.remember(session, uuid.UUID(seller.id), [mark], long_ago)
        sources.remember(session, uuid.UUID(buyer.id), [mark], datetime.now(UTC))
    auction_id = live_auction(ctx, seller)
    with ctx.db.session() as session:
        bid_intake.intake(session, ctx, _record(ctx, auction_id, buyer, "100.00"))
    trust.refresh(ctx)
    pair = (uuid.UUID(buyer.id), uuid.UUID(seller.id))
    with ctx.db.session() as session:
        # Past 90 days the seller's mark no longer counts, even before it is deleted.
        assert session.get_one(TrustScore, pair).facts["shared_devices"] == 0
        session.execute(update(SourceMark).values(last_seen=datetime.now(UTC)))
    with ctx.db.session() as session:  # seen again: the seller's is not new, so no rescoring
        sources.remember(session, uuid.UUID(seller.id), [mark], datetime.now(UTC))
    with ctx.db.session() as session:
        rescoring.mark(session, [pair])
    trust.refresh(ctx)
    with ctx.db.session() as session:
        assert session.get_one(TrustScore, pair).facts["shared_devices"] == 1
        session.execute(
            update(SourceMark).where(SourceMark.user_id == pair[1]).values(last_seen=long_ago)
        )
    assert trust.forget_old_sources(ctx) == 1
    assert trust.refresh(ctx) == 1  # the pair that counted it
    with ctx.db.session() as session:
        assert session.get_one(TrustScore, pair).facts["shared_devices"] == 0
        assert len(session.scalars(select(SourceMark)).all()) == 1  # the buyer's, seen today


def test_a_bids_pair_is_scored_by_the_next_tick(
    ctx: Context, client: Client, seller: Person, buyer: Person
) -> None:
    auction_id = live_auction(ctx, seller)
    placed = call(client, "POST", f"/api/auctions/{auction_id}/bids", buyer, {"amount": "100.00"})
    assert placed.status_code == 201
    report = ticker.Ticker().tick(ctx, sweep=False)
    assert (report.intake, report.rescored) == (1, 1)
    items = trust.suspects(ctx, limit=50, seller_id=None)["items"]
    assert [(i["bidderId"], i["sellerId"]) for i in items] == [(buyer.id, seller.id)]
    assert items[0]["signals"]["auctionShare"] == 1.0
    assert items[0]["auctions"] == [
        {"id": str(auction_id), "itemName": "Test lot", "status": "live"}
    ]
    assert ticker.Ticker().tick(ctx, sweep=False).rescored == 0  # nothing new to score


def test_bids_through_the_api_from_the_sellers_network_make_the_overlap_signal(
    ctx: Context, client: Client, seller: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole way: the seller lists from a network, a bidder bids through the API from the
    same /24 (another address in it) and another from elsewhere; the bid route hashes each
    bid's source into its record, the tick stores the marks and scores the pairs, and only the
    neighbour's pair carries the overlap, with its sentence."""
    from chalice.local import LambdaEventConverter

    monkeypatch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", "203.0.113.9")
    _create(client, seller, DEVICE)
    auction_id = live_auction(ctx, seller)
    neighbour, stranger = person(ctx, "buyer", "Neighbour"), person(ctx, "buyer", "Stranger")
    monkeypatch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", "203.0.113.77")
    url = f"/api/auctions/{auction_id}/bids"
    placed = call(client, "POST", url, neighbour, {"amount": "100.00"})
    assert placed.status_code == 201, placed.body
    monkeypatch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", "198.51.100.4")
    placed = call(client, "POST", url, stranger, {"amount": "110.00"})
    assert placed.status_code == 201, placed.body
    ticker.Ticker().tick(ctx, sweep=False)
    # The marks are the salted hashes of the blocks, nothing else.
    assert _marks(ctx, neighbour) == [
        ("net", marks_of(ctx.settings.source_key, "203.0.113.1", None)[0].hash)
    ]
    items = {
        i["bidderId"]: i
        for i in trust.suspects(ctx, limit=50, seller_id=uuid.UUID(seller.id))["items"]
    }
    assert items[neighbour.id]["signals"]["networkOverlap"] == 1.0
    assert any("seller's network" in r for r in items[neighbour.id]["reasons"])
    assert items[stranger.id]["signals"]["networkOverlap"] == 0.0
    assert items[neighbour.id]["score"] > items[stranger.id]["score"]
