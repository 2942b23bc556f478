"""The lifecycle transitions (shared.services.transitions): the end of an auction decided on
what was accepted before its clock ran out, even while the end is under way."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from shared.adapters.orm import Auction
from shared.services import bidding, transitions
from shared.services.context import Context
from tests.support.harness import Person, live_auction
from tests.support.streams import room_events


def status(ctx: Context, auction_id: object) -> str:
    with ctx.db.session() as session:
        return session.get_one(Auction, auction_id).status


def test_a_bid_accepted_just_before_the_end_counts_even_while_the_end_is_under_way(
    ctx: Context, seller: Person, buyer: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The end transition drains accepted bids into PostgreSQL, then reads the winner. A bid
    the script accepts during that drain (its PostgreSQL insert failed, so it is only in the
    outbox) must not be missed: the end must be decided on a clock read before the drain."""
    from sqlalchemy.exc import OperationalError

    from shared.services import bid_intake

    ends_at = datetime.now(UTC) + timedelta(seconds=0.5)
    auction = live_auction(ctx, seller, ends_at=ends_at)
    real_drain = bid_intake.drain

    def failing_insert(ctx: Context, record: object) -> None:
        raise OperationalError("INSERT", {}, Exception("PostgreSQL unreachable"))

    def drain_while_a_bid_lands(ctx: Context, **kwargs: Any) -> int:
        drained = real_drain(ctx, **kwargs)
        with monkeypatch.context() as patch:
            patch.setattr(bid_intake, "store_bids_now", failing_insert)
            bidding.place_bid(ctx, auction, buyer.id, Decimal("100.00"))  # accepted: 201
        time.sleep(max(0.0, (ends_at - datetime.now(UTC)).total_seconds()) + 0.05)
        return drained

    time.sleep(0.2)
    monkeypatch.setattr(bid_intake, "drain", drain_while_a_bid_lands)
    transitions.end(ctx, auction)
    monkeypatch.setattr(bid_intake, "drain", real_drain)
    transitions.end(ctx, auction)  # the next tick, after the end

    assert status(ctx, auction) == "ended"
    ended = [e for e in room_events(ctx, auction) if e["type"] == "auction:ended"]
    assert len(ended) == 1
    assert ended[0]["data"]["highestBid"]["bidderId"] == buyer.id
