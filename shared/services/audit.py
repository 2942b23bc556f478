"""The audit log: who did what to which auction (admin actions, seller decisions).

An entry is written in the same transaction as the change it records, so the log never
claims an action that rolled back, and never misses one that committed.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.adapters.orm import AuditEntry
from shared.domain.times import iso


def _uuid(value: str | uuid.UUID | None) -> uuid.UUID | None:
    if value is None or isinstance(value, uuid.UUID):
        return value
    return uuid.UUID(value)


def record(
    session: Session,
    actor_id: str | uuid.UUID | None,
    action: str,
    auction_id: str | uuid.UUID | None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add one entry to the caller's transaction. `action` is a dotted name such as
    `admin.start`, `admin.reset`, `seller.accept`, `seller.counter`; `details` is JSON."""
    entry = AuditEntry(
        actor_id=_uuid(actor_id),
        action=action,
        auction_id=_uuid(auction_id),
        details=details or {},
    )
    session.add(entry)
    session.flush()
    return entry


def view(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "actorId": str(entry.actor_id) if entry.actor_id else None,
        "action": entry.action,
        "auctionId": str(entry.auction_id) if entry.auction_id else None,
        "details": entry.details,
        "createdAt": iso(entry.created_at),
    }


def for_auction(session: Session, auction_id: str | uuid.UUID) -> list[AuditEntry]:
    """Entries of one auction, oldest first."""
    return list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.auction_id == _uuid(auction_id))
            .order_by(AuditEntry.created_at, AuditEntry.id)
        )
    )
