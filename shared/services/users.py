"""Users: created or updated from their token's claims on first use; their role is the record's.

Roles live in PostgreSQL. A token's `app_metadata.role` seeds the row when the user is first
seen; after that the row's role stands (a person who starts selling becomes a seller in the
record, an admin changes roles there), and the token's role never overwrites it. A token whose
role is `admin` is always an admin: the operator's way in (`sellers.effective_role`).

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
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from shared.adapters.orm import User
from shared.domain.principal import Principal
from shared.domain.sellers import effective_role
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


def _upsert(ctx: Context, principal: Principal) -> str:
    """One round trip: the row inserted (its role seeded from the token) or its email and name
    brought up to date, and the record's role."""
    user_id = uuid.UUID(principal.user_id)
    stmt = insert(User).values(
        id=user_id, email=principal.email, name=principal.name, role=principal.role
    )
    written = (
        stmt.on_conflict_do_update(
            index_elements=["id"],
            set_={
                "email": stmt.excluded.email,
                "name": stmt.excluded.name,
                "updated_at": func.now(),
            },
            where=(User.email != stmt.excluded.email) | (User.name != stmt.excluded.name),
        )
        .returning(User.role)
        .cte("written")
    )
    # The insert's own row is not in this statement's snapshot of `users`: one of the two
    # selects answers (both, with the same role, when an existing row was updated).
    query = select(written.c.role).union_all(select(User.role).where(User.id == user_id))
    with ctx.db.session() as session:
        return str(session.execute(query).scalars().first())


def stored_role(ctx: Context, user_id: str) -> str | None:
    """The record's role now (None: no such user), bypassing the cache, which it refreshes."""
    with ctx.db.session() as session:
        role = session.scalar(select(User.role).where(User.id == uuid.UUID(user_id)))
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
