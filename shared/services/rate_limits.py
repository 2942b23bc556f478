"""Rate limits on writes other than bids, held in Redis so that every function instance
counts against the same bucket (a per-process counter would multiply the limit by the number
of warm instances)."""

from __future__ import annotations

import logging

from shared.adapters import keys
from shared.adapters.redis_store import StoreError, StoreUnavailable, load_script
from shared.domain.errors import DomainError
from shared.services.context import Context

log = logging.getLogger(__name__)


def take_write_token(ctx: Context, group: str, caller: str) -> None:
    """Spend one token of `caller`'s bucket for `group`, or refuse with `rate_limited` and
    the seconds to wait. `caller` is `user:<id>` or `ip:<address>`.

    A Redis outage lets the write through: the limiter protects the service, it must not be
    the reason it is down (the write itself meets the outage and answers 503 if it needs
    Redis)."""
    limit = ctx.settings.write_limit
    try:
        allowed, wait = ctx.store.script(
            load_script("write_limit"),
            [keys.write_bucket(group, caller)],
            [limit.per_second, limit.burst],
        )
    except (StoreUnavailable, StoreError) as exc:
        log.warning("write limiter skipped (%s): %s", group, exc)
        return
    if int(allowed) != 1:
        raise DomainError(
            "rate_limited",
            f"Too many requests; retry in {int(wait)} s",
            retryAfter=int(wait),
        )
