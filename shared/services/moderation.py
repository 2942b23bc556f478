"""Moderation: an admin suspends or unsuspends a user; a suspended user's writes
get 403 `account_suspended` at once, whatever token or cache they come with; reads still work.

PostgreSQL (`users.suspended_at`) is the record. The check on every write is a Redis set of
suspended ids (`keys.SUSPENDED`), read inside a round trip each write already makes: the write
limiter's script for every write route, the bid script for bids (no extra round trip; the figures
are in docs/after-the-hammer.md). The set always holds a sentinel, so a missing set (Redis
flushed or new) is rebuilt from PostgreSQL before it is trusted; Redis down, the check reads
PostgreSQL instead.

Keeping the set exact: a suspension, an unsuspension and a rebuild each hold one PostgreSQL
advisory lock while they read or change the record and write Redis, so a rebuild never
writes a list older than a change that finished. A suspension writes the set before its
commit (a failed commit leaves someone refused until the next rebuild: the safe side), an
unsuspension after it; both also leave an outbox row that the relay applies in commit order,
so a Redis hiccup is repaired by the next relay.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import and_, or_, select, text
from sqlalchemy.orm import Session

from shared.adapters import keys
from shared.adapters.orm import AuditEntry, User
from shared.adapters.redis_store import StoreError, StoreUnavailable, load_script
from shared.domain import cursors
from shared.domain.errors import DomainError, invalid
from shared.domain.events import UserReinstated, UserSuspended
from shared.domain.principal import Viewer
from shared.domain.times import iso
from shared.services import audit, users
from shared.services.context import Context
from shared.services.unit_of_work import UnitOfWork, unit_of_work

log = logging.getLogger(__name__)

# pg_advisory_xact_lock key of "the suspended set": any fixed bigint no other lock uses.
SUSPENSION_LOCK = 0x5355_5350  # "SUSP"


def _lock(session: Session) -> None:
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SUSPENSION_LOCK})


def _apply(ctx: Context, mode: str, user_ids: list[str]) -> bool:
    """Run sentinel_set.lua on the suspended set; True when the set exists afterwards."""
    result = ctx.store.script(
        load_script("sentinel_set"),
        [keys.SUSPENDED],
        [mode, keys.SUSPENDED_SENTINEL, *user_ids],
    )
    return bool(result)


def load_suspended(ctx: Context) -> int:
    """Rebuild the suspended set from PostgreSQL (when Redis lost it). Returns its size."""
    with ctx.db.session() as session:
        _lock(session)
        ids = [
            str(i) for i in session.scalars(select(User.id).where(User.suspended_at.is_not(None)))
        ]
        _apply(ctx, "load", ids)
    log.info("suspended set rebuilt from PostgreSQL: %d users", len(ids))
    return len(ids)


def suspended_in_record(ctx: Context, user_id: str) -> bool:
    """The record's answer (the fallback when Redis cannot be asked)."""
    with ctx.db.session() as session:
        return (
            session.scalar(select(User.suspended_at).where(User.id == uuid.UUID(user_id)))
            is not None
        )


def refuse_if_suspended(ctx: Context, user_id: str) -> None:
    """The check for a write that makes no other Redis round trip: SISMEMBER through the same
    script machinery (rebuilding a missing set first), PostgreSQL when Redis is down."""
    try:
        for _ in range(2):
            verdict = int(
                ctx.store.script(
                    load_script("sentinel_set"),
                    [keys.SUSPENDED],
                    ["check", keys.SUSPENDED_SENTINEL, user_id],
                )
            )
            if verdict == -1:
                load_suspended(ctx)
                continue
            if verdict == 1:
                raise suspended_error()
            return
    except (StoreUnavailable, StoreError) as exc:
        log.warning("suspension checked in PostgreSQL (%s)", exc)
    if suspended_in_record(ctx, user_id):
        raise suspended_error()


def suspended_error() -> DomainError:
    return DomainError("account_suspended", "This account is suspended: it can read, but not write")


# -- the admin's actions ------------------------------------------------------------------------


def user_view(user: User) -> dict[str, Any]:
    """A user as the admin pages see them."""
    return {
        "id": str(user.id),
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "suspended": user.suspended_at is not None,
        "suspendedAt": iso(user.suspended_at),
        "suspendedReason": user.suspended_reason,
        "createdAt": iso(user.created_at),
    }


def _user_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise DomainError("not_found", "No such user") from None


def _locked_user(session: Session, user_id: uuid.UUID) -> User:
    user = session.scalars(select(User).where(User.id == user_id).with_for_update()).first()
    if user is None:
        raise DomainError("not_found", "No such user")
    return user


def suspend(ctx: Context, admin: Viewer, user_id: str, reason: str) -> dict[str, Any]:
    """Suspend a user (audited in the same transaction). Again on a suspended user: the
    reason is updated, the first suspension time kept."""
    uid = _user_id(user_id)
    if admin.user_id == str(uid):
        raise invalid("id", "an admin cannot suspend themselves")
    with unit_of_work(ctx) as uow:
        _lock(uow.session)
        user = _locked_user(uow.session, uid)
        already = user.suspended_at is not None
        if not already:
            user.suspended_at = ctx.clock()
        user.suspended_reason = reason
        uow.session.flush()
        uow.audit(
            admin.user_id,
            "admin.suspend",
            None,
            {"userId": str(uid), "reason": reason, "alreadySuspended": already},
        )
        uow.record(UserSuspended(str(uid)))
        try:  # before the commit: refused at once (a failed commit errs on the safe side)
            _apply(ctx, "add", [str(uid)])
        except (StoreUnavailable, StoreError) as exc:
            log.warning("suspension of %s reaches Redis with the relay: %s", uid, exc)
        return user_view(user)


def unsuspend(ctx: Context, admin: Viewer, user_id: str) -> dict[str, Any]:
    uid = _user_id(user_id)
    with ctx.db.session() as session:
        uow = UnitOfWork(ctx, session)
        _lock(session)
        user = _locked_user(session, uid)
        was = user.suspended_at
        user.suspended_at = None
        user.suspended_reason = None
        session.flush()
        uow.audit(
            admin.user_id,
            "admin.unsuspend",
            None,
            {"userId": str(uid), "wasSuspended": was is not None},
        )
        uow.record(UserReinstated(str(uid)))
        view = user_view(user)
    try:  # after the commit: never writable in Redis while the record still says suspended
        _apply(ctx, "remove", [str(uid)])
    except (StoreUnavailable, StoreError) as exc:
        log.warning("unsuspension of %s reaches Redis with the relay: %s", uid, exc)
    uow.relay()
    return view


# -- the admin's lists --------------------------------------------------------------------------


def list_users(
    ctx: Context, *, q: str | None, suspended: bool | None, limit: int, cursor: str | None
) -> dict[str, Any]:
    """Users, newest first; `q` finds a part of the name or email (case-insensitive)."""
    query = select(User)
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(User.email.ilike(pattern), User.name.ilike(pattern)))
    if suspended is not None:
        query = query.where(
            User.suspended_at.is_not(None) if suspended else User.suspended_at.is_(None)
        )
    if cursor:
        created_text, id_text = cursors.decode(cursor, 2)
        created, after = cursors.moment(created_text), cursors.identifier(id_text)
        query = query.where(
            or_(User.created_at < created, and_(User.created_at == created, User.id < after))
        )
    with ctx.db.session() as session:
        rows = session.scalars(
            query.order_by(User.created_at.desc(), User.id.desc()).limit(limit + 1)
        ).all()
        page = rows[:limit]
        next_cursor = (
            cursors.encode(page[-1].created_at.isoformat(), str(page[-1].id))
            if len(rows) > limit
            else None
        )
        return {"items": [user_view(u) for u in page], "nextCursor": next_cursor}


def list_audit(
    ctx: Context,
    *,
    actor_id: uuid.UUID | None,
    action: str | None,
    auction_id: uuid.UUID | None,
    limit: int,
    cursor: str | None,
) -> dict[str, Any]:
    """The audit log, newest first, filtered by actor, action and auction."""
    query = select(AuditEntry)
    if actor_id is not None:
        query = query.where(AuditEntry.actor_id == actor_id)
    if action:
        query = query.where(AuditEntry.action == action)
    if auction_id is not None:
        query = query.where(AuditEntry.auction_id == auction_id)
    if cursor:
        (id_text,) = cursors.decode(cursor, 1)
        query = query.where(AuditEntry.id < cursors.sequence(id_text))
    with ctx.db.session() as session:
        rows = session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit + 1)).all()
        page = rows[:limit]
        next_cursor = cursors.encode(str(page[-1].id)) if len(rows) > limit else None
        return {"items": [audit.view(e) for e in page], "nextCursor": next_cursor}


def set_role(ctx: Context, admin: Viewer, user_id: str, role: str) -> dict[str, Any]:
    """An admin sets a user's role in the record (audited). It bites on the user's next
    request in this process, and within `users.ROLE_CACHE_SECS` in every other (at once for a
    promotion: a refused request reads the record again). A token whose role is admin stays
    an admin whatever the record says."""
    uid = _user_id(user_id)
    if admin.user_id == str(uid):
        raise invalid("id", "an admin cannot change their own role")
    with unit_of_work(ctx) as uow:
        user = _locked_user(uow.session, uid)
        before = user.role
        user.role = role
        uow.session.flush()
        uow.audit(
            admin.user_id,
            "admin.set_role",
            None,
            {"userId": str(uid), "role": {"from": before, "to": role}},
        )
        view = user_view(user)
    users.forget(str(uid))
    return view
