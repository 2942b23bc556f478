"""Users: created or updated from their token's claims on first use; their role is the record's.

Roles live in PostgreSQL. A token's `app_metadata.role` seeds the row when the user is first
seen; after that the row's role stands (a person who starts selling becomes a seller in the
record, an admin changes roles there), and the token's role never overwrites it. A token whose
role is `admin` is always an admin: the operator's way in (`principal.effective_role`).

Where tokens are checked, the role is cached per process for `ROLE_CACHE_SECS`, with the
claims already written: a bid storm neither upserts the bidder nor reads the role each time.
So a demotion (an admin turning a seller back into a buyer) bites in every process within
ROLE_CACHE_SECS, and at once in the process that made it. A promotion bites at once
everywhere: a request refused for its role reads the row again before it is refused
(`operations`), and `GET /api/me` always reads the row.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from shared.domain.principal import Principal, effective_role

if TYPE_CHECKING:
    from shared.services.context import Context

ROLE_CACHE_SECS = 30.0

# Claims already written by this process, with the record's role and when it was read.
_seen: OrderedDict[Principal, tuple[str, float]] = OrderedDict()
_seen_lock = threading.Lock()
_SEEN_MAX = 10_000


def _cached(principal: Principal) -> str | None:
    with _seen_lock:
        hit = _seen.get(principal)
        if hit is None:
            return None
        role, read_at = hit
        if time.monotonic() - read_at >= ROLE_CACHE_SECS:
            return None
        _seen.move_to_end(principal)
        return role


def _remember(principal: Principal, role: str) -> None:
    with _seen_lock:
        _seen[principal] = (role, time.monotonic())
        _seen.move_to_end(principal)
        while len(_seen) > _SEEN_MAX:
            _seen.popitem(last=False)


def forget(user_id: str) -> None:
    """This process read a role it has just changed: read it again on the next request."""
    with _seen_lock:
        for principal in [p for p in _seen if p.user_id == user_id]:
            del _seen[principal]


def ensure_user(ctx: Context, principal: Principal) -> Principal:
    """The user's row exists and carries the token's email and name; returns the principal
    with the role requests act with (the record's; an admin token's is admin)."""
    claims = replace(principal, role=principal.token_role, claimed_role=None)
    stored = _cached(claims)
    if stored is None:
        stored = _upsert(ctx, claims)
        _remember(claims, stored)
    return _acting(claims, stored)


def _acting(principal: Principal, stored: str) -> Principal:
    token = principal.token_role
    return replace(principal, role=effective_role(token, stored), claimed_role=token)


# One round trip on the hot lane (plain SQL, prepared once per connection): every request of
# a signed-in user that this process has not seen lately runs it, a cold function's first bid
# among them, which must not load SQLAlchemy for it. The row is inserted (its role seeded
# from the token) or its email and name brought up to date (only when they changed: no
# write, no new row version, for the same claims), and the record's role comes back. The
# insert's own row is not in this statement's snapshot of `users`, so one of the two selects
# answers (both, with the same role, when an existing row was updated).
_UPSERT = """
WITH written AS (
    INSERT INTO users (id, email, name, role) VALUES (:id, :email, :name, :role)
    ON CONFLICT (id) DO UPDATE
        SET email = excluded.email, name = excluded.name, updated_at = now()
        WHERE users.email != excluded.email OR users.name != excluded.name
    RETURNING users.role
)
SELECT role FROM written UNION ALL SELECT role FROM users WHERE id = :id
"""
_ROLE = "SELECT role FROM users WHERE id = :id"


def _upsert(ctx: Context, principal: Principal) -> str:
    rows = ctx.db.lane.run(
        _UPSERT,
        id=uuid.UUID(principal.user_id),
        email=principal.email,
        name=principal.name,
        role=principal.role,
    )
    if not rows:
        # Two first requests of a new user at once: the other's insert committed while this
        # one waited on it, after this statement's snapshot was taken, and there was nothing
        # to update. The row is there for the next statement.
        rows = ctx.db.lane.run(_ROLE, id=uuid.UUID(principal.user_id))
    return str(rows[0][0])


def stored_role(ctx: Context, user_id: str) -> str | None:
    """The record's role now (None: no such user), bypassing the cache, which it refreshes."""
    rows = ctx.db.lane.run(_ROLE, id=uuid.UUID(user_id))
    role = str(rows[0][0]) if rows else None
    if role is not None:
        with _seen_lock:
            for principal in [p for p in _seen if p.user_id == user_id]:
                _seen[principal] = (role, time.monotonic())
    return role


def refreshed(ctx: Context, principal: Principal) -> Principal:
    """The principal with the role the record holds now (a refusal's second look, and
    `GET /api/me`)."""
    stored = stored_role(ctx, principal.user_id)
    if stored is None:
        return principal
    return _acting(principal, stored)


def user_view(principal: Principal) -> dict[str, Any]:
    return {
        "id": principal.user_id,
        "email": principal.email,
        "name": principal.name,
        "role": principal.role,
    }
