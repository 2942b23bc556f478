"""Notifications: persisted for their owner and pushed live (`notification` user event)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared.adapters.orm import Notification
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
