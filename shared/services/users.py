"""Users are created or updated from their token's claims on first use."""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert

from shared.adapters.orm import User
from shared.domain.principal import Principal
from shared.services.context import Context

# Claims already written by this process: a bid storm must not upsert the bidder every time.
_seen: OrderedDict[Principal, None] = OrderedDict()
_seen_lock = threading.Lock()
_SEEN_MAX = 10_000


def ensure_user(ctx: Context, principal: Principal) -> None:
    with _seen_lock:
        if principal in _seen:
            _seen.move_to_end(principal)
            return
    stmt = insert(User).values(
        id=uuid.UUID(principal.user_id),
        email=principal.email,
        name=principal.name,
        role=principal.role,
    )
    with ctx.db.session() as session:
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=["id"],
                set_={
                    "email": stmt.excluded.email,
                    "name": stmt.excluded.name,
                    "role": stmt.excluded.role,
                    "updated_at": func.now(),
                },
                where=(User.email != stmt.excluded.email)
                | (User.name != stmt.excluded.name)
                | (User.role != stmt.excluded.role),
            )
        )
    with _seen_lock:
        _seen[principal] = None
        while len(_seen) > _SEEN_MAX:
            _seen.popitem(last=False)


def user_view(principal: Principal) -> dict[str, Any]:
    return {
        "id": principal.user_id,
        "email": principal.email,
        "name": principal.name,
        "role": principal.role,
    }
