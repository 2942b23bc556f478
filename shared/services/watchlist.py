"""Watching an auction: watch and unwatch (idempotent), and how many watch (the watchers
hear how it ended as a consequence of the outcome: `consequences`)."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared.adapters.orm import Watch
from shared.services import records
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
