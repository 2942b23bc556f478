"""shared/services/unit_of_work.py against real PostgreSQL and Redis: what an event causes is
written in the transaction that records it, so it commits with the change or not at all, and
is relayed to Redis right after the commit."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from shared.adapters.orm import Notification, OutboxEntry
from shared.domain.events import AuctionWentLive
from shared.domain.vocabulary import AuctionStatus
from shared.services import records
from shared.services.context import Context
from shared.services.unit_of_work import unit_of_work
from tests.support.harness import Person, insert_auction
from tests.support.streams import room_events


def count(ctx: Context, model: type) -> int:
    with ctx.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def go_live(ctx: Context, auction_id: uuid.UUID, *, then_fail: bool = False) -> None:
    with unit_of_work(ctx) as uow:
        auction = records.locked_auction(uow.session, auction_id)
        auction.status = AuctionStatus.LIVE.value
        uow.session.flush()
        uow.record(AuctionWentLive(str(auction.id), auction.round, auction.go_live_at))
        if then_fail:
            raise RuntimeError("the change fails after its event was recorded")


def test_what_an_event_causes_rolls_back_with_the_change(ctx: Context, seller: Person) -> None:
    auction_id = insert_auction(ctx, seller)
    with pytest.raises(RuntimeError):
        go_live(ctx, auction_id, then_fail=True)
    assert count(ctx, OutboxEntry) == 0
    assert count(ctx, Notification) == 0
    assert room_events(ctx, auction_id) == []


def test_what_an_event_causes_is_relayed_after_the_commit(ctx: Context, seller: Person) -> None:
    auction_id = insert_auction(ctx, seller)
    go_live(ctx, auction_id)
    assert count(ctx, OutboxEntry) == 0  # relayed at once, not left for the ticker
    assert [e["type"] for e in room_events(ctx, auction_id)] == ["auction:started"]
    with ctx.db.session() as session:
        kinds = session.scalars(select(Notification.type)).all()
    assert kinds == ["auction_started"]
