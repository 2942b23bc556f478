"""Watching an auction: watch and unwatch (idempotent), who watches, and telling the watchers
how it ended."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared.adapters.orm import Auction, Watch
from shared.domain.money import money_str
from shared.domain.vocabulary import NotificationType
from shared.services import notifications, records
from shared.services.context import Context


def watch(ctx: Context, auction_id: uuid.UUID, user_id: str) -> None:
    with ctx.db.session() as session:
        records.get_auction(session, auction_id)
        session.execute(
            insert(Watch)
            .values(user_id=uuid.UUID(user_id), auction_id=auction_id, created_at=ctx.clock())
            .on_conflict_do_nothing(index_elements=["user_id", "auction_id"])
        )


def unwatch(ctx: Context, auction_id: uuid.UUID, user_id: str) -> None:
    with ctx.db.session() as session:
        records.get_auction(session, auction_id)
        session.execute(
            delete(Watch).where(Watch.user_id == uuid.UUID(user_id), Watch.auction_id == auction_id)
        )


def counts(session: Session, auction_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not auction_ids:
        return {}
    return {
        aid: int(n)
        for aid, n in session.execute(
            select(Watch.auction_id, func.count())
            .where(Watch.auction_id.in_(auction_ids))
            .group_by(Watch.auction_id)
        )
    }


def watched_by(session: Session, auction_ids: list[uuid.UUID], user_id: str) -> set[uuid.UUID]:
    """Which of `auction_ids` the user watches."""
    if not auction_ids:
        return set()
    return set(
        session.scalars(
            select(Watch.auction_id).where(
                Watch.user_id == uuid.UUID(user_id), Watch.auction_id.in_(auction_ids)
            )
        )
    )


def tell_outcome(
    session: Session, ctx: Context, auction: Auction, *, told: Iterable[str] = ()
) -> None:
    """Watchers hear how the auction ended (ended awaiting the seller, sold, closed without a
    winner): an `auction_ended` notification each, once per outcome, except the people in
    `told` (who got their own notification of it) and the seller."""
    skip = {str(auction.seller_id), *told}
    payload: dict[str, Any] = {
        "auctionId": str(auction.id),
        "itemName": auction.item_name,
        "status": auction.status,
        "watching": True,
    }
    if auction.final_price is not None:
        payload["finalPrice"] = money_str(auction.final_price)
    for user in records.watchers(session, auction.id):
        if user in skip:
            continue
        notifications.notify(
            session,
            ctx,
            cause=f"watch:{auction.id}:{auction.round}:{auction.status}",
            user_id=user,
            kind=NotificationType.AUCTION_ENDED,
            payload=payload,
        )
