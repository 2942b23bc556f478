"""Notifications: persisted for their owner and pushed live (`notification` user event)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared.adapters.orm import Notification
from shared.domain import cursors
from shared.domain.errors import DomainError
from shared.domain.times import iso
from shared.domain.vocabulary import EventType, NotificationType
from shared.services import outbox
from shared.services.context import Context

# Notification ids derive from what caused them, so re-running a cause (a retried intake, a
# second ticker) can never create a second notification.
NAMESPACE = uuid.UUID("6f0c6a53-3f5e-4b7e-9a55-0d8f2b1e9c41")


def notification_id(cause: str, kind: NotificationType, user_id: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"{cause}:{kind.value}:{user_id}")


def view(n: Notification) -> dict[str, Any]:
    return {
        "id": str(n.id),
        "type": n.type,
        "payload": n.payload,
        "readAt": iso(n.read_at),
        "createdAt": iso(n.created_at),
    }


def notify(
    session: Session,
    ctx: Context,
    *,
    cause: str,
    user_id: str,
    kind: NotificationType,
    payload: dict[str, Any],
) -> Notification | None:
    """Persist one notification (once per cause) and queue its live push. None if it existed."""
    nid = notification_id(cause, kind, user_id)
    created = session.scalar(
        insert(Notification)
        .values(
            id=nid,
            user_id=uuid.UUID(user_id),
            type=kind.value,
            payload=payload,
            created_at=ctx.clock(),
        )
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(Notification.id)
    )
    if created is None:
        return None
    row = session.scalars(select(Notification).where(Notification.id == nid)).one()
    outbox.user_event(
        session,
        ctx,
        user_id,
        EventType.NOTIFICATION,
        view(row),
        auction_id=str(payload.get("auctionId") or ""),
    )
    return row


# -- the owner's list ---------------------------------------------------------------------------


def list_for(
    ctx: Context, user_id: str, *, unread_only: bool, limit: int, cursor: str | None
) -> dict[str, Any]:
    """The owner's notifications, newest first, and how many are unread (all pages)."""
    owner = uuid.UUID(user_id)
    query = select(Notification).where(Notification.user_id == owner)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    if cursor:
        created_text, id_text = cursors.decode(cursor, 2)
        created, after = cursors.moment(created_text), cursors.identifier(id_text)
        query = query.where(
            or_(
                Notification.created_at < created,
                and_(Notification.created_at == created, Notification.id < after),
            )
        )
    with ctx.db.session() as session:
        rows = session.scalars(
            query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit + 1)
        ).all()
        unread = session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == owner, Notification.read_at.is_(None))
        )
        page = rows[:limit]
        next_cursor = (
            cursors.encode(page[-1].created_at.isoformat(), str(page[-1].id))
            if len(rows) > limit
            else None
        )
        return {
            "items": [view(n) for n in page],
            "nextCursor": next_cursor,
            "unreadCount": int(unread or 0),
        }


def mark_read(ctx: Context, user_id: str, notification_id: str) -> dict[str, Any]:
    """Mark the owner's notification read (the first time counts: readAt never moves).
    Someone else's notification is not found, exactly like one that does not exist."""
    try:
        nid = uuid.UUID(notification_id)
    except ValueError:
        raise DomainError("not_found", "No such notification") from None
    with ctx.db.session() as session:
        row = session.scalars(
            select(Notification)
            .where(Notification.id == nid, Notification.user_id == uuid.UUID(user_id))
            .with_for_update()
        ).first()
        if row is None:
            raise DomainError("not_found", "No such notification")
        if row.read_at is None:
            row.read_at = ctx.clock()
        return view(row)


def mark_all_read(ctx: Context, user_id: str) -> int:
    """Mark every unread notification of the owner read (now); returns how many."""
    with ctx.db.session() as session:
        result = session.execute(
            update(Notification)
            .where(Notification.user_id == uuid.UUID(user_id), Notification.read_at.is_(None))
            .values(read_at=ctx.clock())
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
