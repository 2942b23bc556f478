"""Placing a bid: one atomic script in Redis, then the record in PostgreSQL.

Durability (README "Bid path"): the script writes the bid, its events and an outbox record
in one step. The handler then stores the bid rows in PostgreSQL; when it cannot (PostgreSQL
down, a crash), the bid is still acknowledged, because the outbox record is drained into
PostgreSQL by the intake (`bid_intake.drain`) as soon as PostgreSQL is back. A bid event is
broadcast only for a bid that is in the outbox, so every broadcast bid ends up stored.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from shared.adapters import keys
from shared.adapters.db import DB_ERRORS
from shared.adapters.redis_records import BidRecord
from shared.adapters.redis_store import load_script
from shared.domain.errors import DomainError
from shared.domain.money import to_minor
from shared.services import auction_state, bid_intake, outbox
from shared.services.context import Context
from shared.settings import Settings

log = logging.getLogger(__name__)

ANSWER_NAMESPACE = uuid.UUID("0b7f3b1e-5d2c-4a8e-8f1a-3c6d9e2b7a10")


@dataclass(frozen=True)
class BidReceipt:
    bid: dict[str, Any]  # the API bid object of the caller's bid
    highest: dict[str, Any]
    min_next_bid: str
    ends_at: str
    buy_now: bool
    max_amount: str | None
    replayed: bool


def _refusal(body: dict[str, Any]) -> DomainError:
    code = body["code"]
    if code == "bid_too_low":
        return DomainError(
            code,
            f"The next bid must be at least {body['minNextBid']}",
            minNextBid=body["minNextBid"],
        )
    if code == "rate_limited":
        return DomainError(
            code, "Too many bids on this auction; slow down", retryAfter=body["retryAfter"]
        )
    return DomainError(code)


def bid_script_call(
    settings: Settings,
    auction_id: uuid.UUID,
    user_id: str,
    amount: Decimal,
    *,
    is_max: bool = False,
    idempotency_key: str | None = None,
    bidder_name: str = "",
) -> tuple[list[str], list[str | int | float]]:
    """KEYS and ARGV of one place_bid.lua call (a fresh bid id each time)."""
    aid = str(auction_id)
    bid_id = uuid.uuid4()
    # A retried request carries the same bid id, so without an Idempotency-Key the bid id
    # itself makes the script idempotent.
    idem = idempotency_key or str(bid_id)
    rate = settings.rate_limit
    script_keys = [
        keys.state(aid),
        keys.highest(aid),
        keys.proxies(aid),
        keys.room_stream(aid),
        keys.FEED,
        keys.OUTBOX_BIDS,
        f"{keys.idempotency_prefix(aid)}{user_id}:{idem}",
        f"{keys.bucket_prefix(aid)}{user_id}",
        keys.SCHEDULE_END,
    ]
    args: list[str | int | float] = [
        aid,
        user_id,
        to_minor(amount),
        1 if is_max else 0,
        str(bid_id),
        str(uuid.uuid5(ANSWER_NAMESPACE, str(bid_id))),
        1 if settings.allow_self_outbid else 0,
        rate.per_second,
        rate.burst,
        keys.ROOM_STREAM_MAXLEN,
        keys.FEED_MAXLEN,
        keys.IDEMPOTENCY_TTL_S,
        bidder_name,
    ]
    return script_keys, args


def judge_in_redis(
    ctx: Context,
    auction_id: uuid.UUID,
    user_id: str,
    amount: Decimal,
    *,
    is_max: bool = False,
    idempotency_key: str | None = None,
    bidder_name: str = "",
) -> tuple[str, dict[str, Any]]:
    """Run the bid script (rebuilding a missing state from PostgreSQL first). Returns
    (kind, result): kind is ok | replay | refused."""
    script_keys, args = bid_script_call(
        ctx.settings,
        auction_id,
        user_id,
        amount,
        is_max=is_max,
        idempotency_key=idempotency_key,
        bidder_name=bidder_name,
    )
    script = load_script("place_bid")
    kind, body = ctx.store.script(script, script_keys, args)
    if kind == "missing":
        if not auction_state.rebuild(ctx, auction_id):
            raise DomainError("not_found", "No such auction")
        kind, body = ctx.store.script(script, script_keys, args)
        if kind == "missing":  # flushed again between the two calls
            raise DomainError("unavailable", "Auction state could not be rebuilt; retry")
    return kind, orjson.loads(body)


def place_bid(
    ctx: Context,
    auction_id: uuid.UUID,
    user_id: str,
    amount: Decimal,
    *,
    is_max: bool = False,
    idempotency_key: str | None = None,
    bidder_name: str = "",
) -> BidReceipt:
    """`bidder_name`: the bidder's public name (`bidderName` of their bid objects and events)."""
    kind, result = judge_in_redis(
        ctx,
        auction_id,
        user_id,
        amount,
        is_max=is_max,
        idempotency_key=idempotency_key,
        bidder_name=bidder_name,
    )
    if kind == "refused":
        raise _refusal(result)

    record = BidRecord.from_dict(result["record"])
    try:
        if record.buy_now:
            with ctx.db.session() as session:
                bid_intake.intake(session, ctx, record)
        else:
            bid_intake.store_bids_now(ctx, record)
            if record.has_rule_changes:  # rare: a maximum, a soft-close move
                with ctx.db.session() as session:
                    bid_intake.store_rule_changes(session, record)
    except DB_ERRORS as exc:
        # Acknowledged all the same: the outbox record is drained once PostgreSQL is back.
        log.warning("bid %s stored in the outbox only: %s", result["bid"]["id"], exc)
    else:
        if record.buy_now:
            outbox.relay(ctx)

    return BidReceipt(
        bid=result["bid"],
        highest=result["highest"],
        min_next_bid=result["minNextBid"],
        ends_at=result["endsAt"],
        buy_now=bool(result["buyNow"]),
        max_amount=result.get("maxAmount"),
        replayed=kind == "replay",
    )
