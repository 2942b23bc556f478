"""Rate limits on writes other than bids, held in Redis so that every function instance
counts against the same bucket (a per-process counter would multiply the limit by the number
of warm instances)."""

from __future__ import annotations

import logging

from shared.adapters import keys
from shared.adapters.redis_store import StoreError, StoreUnavailable, load_script
from shared.domain.errors import DomainError
from shared.services import moderation
from shared.services.context import Context

log = logging.getLogger(__name__)


def take_write_token(ctx: Context, group: str, caller: str, user_id: str | None = None) -> None:
    """Spend one token of `caller`'s bucket for `group`, or refuse with `rate_limited` and
    the seconds to wait. `caller` is `user:<id>` or `ip:<address>`. A signed-in `user_id`
    that is suspended is refused (`account_suspended`) in the same round trip.

    A Redis outage lets the write through the limiter: it protects the service, it must not
    be the reason it is down (the write itself meets the outage and answers 503 if it needs
    Redis). The suspension is then checked in PostgreSQL."""
    limit = ctx.settings.write_limit
    script_keys = [keys.write_bucket(group, caller), keys.SUSPENDED]
    args: list[str | int | float] = [limit.per_second, limit.burst, user_id or ""]
    try:
        allowed, wait = ctx.store.script(load_script("write_limit"), script_keys, args)
        if int(allowed) == -2:  # the suspended set is missing: rebuilt from the record
            moderation.load_suspended(ctx)
            allowed, wait = ctx.store.script(load_script("write_limit"), script_keys, args)
    except (StoreUnavailable, StoreError) as exc:
        log.warning("write limiter skipped (%s): %s", group, exc)
        if user_id and moderation.suspended_in_record(ctx, user_id):
            raise moderation.suspended_error() from None
        return
    if int(allowed) == -1:
        raise moderation.suspended_error()
    if int(allowed) == -2:
        raise DomainError("unavailable", "The suspension list could not be rebuilt; retry")
    if int(allowed) != 1:
        raise DomainError(
            "rate_limited",
            f"Too many requests; retry in {int(wait)} s",
            retryAfter=int(wait),
        )
