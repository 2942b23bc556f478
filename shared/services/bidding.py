"""Placing a bid: one atomic script in Redis, then the record in PostgreSQL.

Durability (docs/bidding.md): the script writes the bid, its events and an outbox record
in one step. The handler then stores the bid rows in PostgreSQL; when it cannot (PostgreSQL
down, a crash), the bid is still acknowledged, because the outbox record is drained into
PostgreSQL by the intake (`bid_intake.drain`) as soon as PostgreSQL is back. A bid event is
broadcast only for a bid that is in the outbox, so every broadcast bid ends up stored.

An outage never answers with a guess: when the script was sent and no answer came, the bid
may have been placed, and the caller hears `outcome_unknown` with the Idempotency-Key that
tells (a retry with it returns the bid if it was placed, and places it once if not); when it
never reached Redis, `unavailable`: nothing was placed.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import orjson

from shared.adapters import keys
from shared.adapters.db import db_errors
from shared.adapters.redis_records import BidRecord
from shared.adapters.redis_store import OutcomeUnknown, Script, StoreUnavailable, load_script
from shared.domain.errors import DomainError
from shared.domain.ledger.entries import LedgerEntry
from shared.domain.money import to_minor
from shared.domain.sources import Mark, MarkKind
from shared.services import receipts
from shared.services.bid_rows import store_bids_now
from shared.services.unknown_auctions import UnknownAuctions

if TYPE_CHECKING:
    from shared.services.context import Context
    from shared.settings import Settings

log = logging.getLogger(__name__)

ANSWER_NAMESPACE = uuid.UUID("0b7f3b1e-5d2c-4a8e-8f1a-3c6d9e2b7a10")
RETRY_AFTER_S = 1  # an outage's answer: retry soon, with the same Idempotency-Key

# What only the rare turns of a bid need (a buy-now sale, a proxy maximum or a soft-close move
# to record, a state or the suspended set to rebuild from PostgreSQL) is imported when they
# come: those modules load SQLAlchemy, which an ordinary bid (Redis, then one insert on the hot
# lane) never needs; a cold function's first bid is answered without it.

# A bid naming an auction PostgreSQL just said does not exist costs one script (which charges
# the bidder's lookup bucket) and no database read.
_unknown_auctions = UnknownAuctions()


@dataclass(frozen=True)
class BidReceipt:
    bid: dict[str, Any]  # the API bid object of the caller's bid
    highest: dict[str, Any]
    min_next_bid: str
    ends_at: str
    buy_now: bool
    max_amount: str | None
    replayed: bool
    arrived_at: str  # the moment the bid was judged at (its arrival), ISO
    # The ledger's signed receipt of the caller's bid ({index, leafHash, signature}); None
    # when the offer placed no bid (a leader raising their own maximum).
    receipt: dict[str, Any] | None = None


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
    if code == "auction_not_live" and "arrivedAt" in body:
        return DomainError(
            code,
            f"The bid arrived at {body['arrivedAt']}, outside the auction's window (it ends "
            f"at {body['endsAt']})",
            arrivedAt=body["arrivedAt"],
            endsAt=body["endsAt"],
        )
    if code == "idempotency_key_reused":
        return DomainError(
            code,
            "This Idempotency-Key was already used for a different bid on this auction; "
            "send a new key for a new bid",
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
    request_id: str | None = None,
    arrived_ms: int | None = None,
    marks: tuple[Mark, ...] = (),
) -> tuple[list[str], list[str | int | float]]:
    """KEYS and ARGV of one place_bid.lua call (a fresh bid id each time). `request_id` (the
    API request's X-Request-Id) goes into the bid's outbox record and its feed entries, never
    into what clients receive. `arrived_ms`: the gateway's arrival stamp (None: the script
    judges at its own clock). `marks`: where the bid came from, as salted hashes
    (`shared.domain.sources.marks_of`), carried by the record into PostgreSQL."""
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
        keys.bid_lookup_bucket(user_id),
        keys.SUSPENDED,
        keys.placed_bids(aid),
    ]
    hashes = {m.kind: m.hash for m in marks}
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
        request_id or "",
        "" if arrived_ms is None else arrived_ms,
        settings.late_bid_grace_ms,
        secrets.token_hex(16),  # the nonce of the maximum this bid may set (the ledger's)
        hashes.get(MarkKind.NETWORK, ""),
        hashes.get(MarkKind.DEVICE, ""),
    ]
    return script_keys, args


def _run_bid_script(
    ctx: Context,
    script: Script,
    script_keys: list[str],
    args: list[str | int | float],
    retry_key: str,
) -> tuple[str, str]:
    """One run of the bid script, its failures said as what they mean for the bid.
    `retry_key`: the Idempotency-Key a retry must send to reach this bid's record (the
    caller's own, or the bid id the handler minted when it sent none)."""
    try:
        kind, body = ctx.store.script(script, script_keys, args)
    except OutcomeUnknown as exc:
        key = retry_key
        log.warning("bid outcome unknown (Idempotency-Key %s): %s", key, exc)
        raise DomainError(
            "outcome_unknown",
            "The bid was sent, and no answer came back: it may or may not have been placed. "
            f"Retry with the same Idempotency-Key ({key}): you will get the bid if it was "
            "placed, and it is never placed twice.",
            retryAfter=RETRY_AFTER_S,
            idempotencyKey=key,
        ) from None
    except StoreUnavailable as exc:
        log.warning("bid not placed, the bid store is unreachable: %s", exc)
        raise not_placed() from None
    return str(kind), str(body)


def judge_in_redis(
    ctx: Context,
    auction_id: uuid.UUID,
    user_id: str,
    amount: Decimal,
    *,
    is_max: bool = False,
    idempotency_key: str | None = None,
    bidder_name: str = "",
    request_id: str | None = None,
    arrived_ms: int | None = None,
    marks: tuple[Mark, ...] = (),
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
        request_id=request_id,
        arrived_ms=arrived_ms,
        marks=marks,
    )
    # A retry must send the caller's key, or the bid id (ARGV 5) minted when there was none.
    retry_key = idempotency_key or str(args[4])
    script = load_script("place_bid")
    kind, body = _run_bid_script(ctx, script, script_keys, args, retry_key)
    if kind == "missing" and _missing(body) == "suspensions":
        # The set of suspended users is gone (a new or flushed Redis): rebuilt from the record
        # before any bid is judged without it.
        _load_suspended(ctx)
        kind, body = _run_bid_script(ctx, script, script_keys, args, retry_key)
    if kind == "missing" and _missing(body) == "state":
        # The script charged the bidder's lookup bucket before answering `missing`.
        aid = str(auction_id)
        if aid in _unknown_auctions:
            raise DomainError("not_found", "No such auction")
        if not _rebuild(ctx, auction_id):
            _unknown_auctions.add(aid)
            raise DomainError("not_found", "No such auction")
        kind, body = _run_bid_script(ctx, script, script_keys, args, retry_key)
    if kind == "missing" and _missing(body) == "blocked":
        # The seller's blocked set is gone (or the state predates it; the script asks after
        # the state): rebuilt from the record before any bid is judged without it.
        _load_blocked(ctx, script_keys[0])
        kind, body = _run_bid_script(ctx, script, script_keys, args, retry_key)
    if kind == "missing":  # flushed again between the calls
        raise DomainError("unavailable", "The bid store lost its state again; retry")
    return kind, orjson.loads(body)


def not_placed() -> DomainError:
    """The bid store could not be reached before the bid was placed: nothing happened."""
    return DomainError(
        "unavailable",
        "The bid was not placed: the bid store cannot be reached. Retry shortly.",
        retryAfter=RETRY_AFTER_S,
    )


def _missing(body: str) -> str:
    """What the script found missing: `state`, `suspensions` or `blocked`."""
    return str(orjson.loads(body)) if body else "state"


def _load_suspended(ctx: Context) -> None:
    """The suspended set from PostgreSQL; an outage on the way is `unavailable`."""
    from shared.services import moderation

    try:
        moderation.load_suspended(ctx)
    except StoreUnavailable as exc:
        log.warning("bid not placed, the suspended set cannot be rebuilt: %s", exc)
        raise not_placed() from None


def _load_blocked(ctx: Context, state_key: str) -> None:
    """The seller's blocked set from PostgreSQL, and its name into a state written before the
    state named it; an outage on the way is `unavailable`."""
    from shared.services import blocks

    try:
        seller_id = ctx.store.command("HGET", state_key, "sellerId")
        if seller_id:
            blocks.load_blocked(ctx, str(seller_id))
            ctx.store.script(
                load_script("name_blocked_set"),
                [state_key],
                [keys.blocked_bidders(str(seller_id))],
            )
    except StoreUnavailable as exc:
        log.warning("bid not placed, the blocked set cannot be rebuilt: %s", exc)
        raise not_placed() from None


def _rebuild(ctx: Context, auction_id: uuid.UUID) -> bool:
    """The state from PostgreSQL; an outage on the way is `unavailable` (nothing placed)."""
    from shared.services import auction_state

    try:
        return auction_state.rebuild(ctx, auction_id)
    except StoreUnavailable as exc:
        log.warning("bid not placed, the auction state cannot be rebuilt: %s", exc)
        raise not_placed() from None


def place_bid(
    ctx: Context,
    auction_id: uuid.UUID,
    user_id: str,
    amount: Decimal,
    *,
    is_max: bool = False,
    idempotency_key: str | None = None,
    bidder_name: str = "",
    request_id: str | None = None,
    arrived_ms: int | None = None,
    marks: tuple[Mark, ...] = (),
) -> BidReceipt:
    """`bidder_name`: the bidder's public name (`bidderName` of their bid objects and events).
    `arrived_ms`: when the bid arrived (the gateway's stamp; None: judged at the script's
    clock). `marks`: the request's source marks (salted hashes)."""
    kind, result = judge_in_redis(
        ctx,
        auction_id,
        user_id,
        amount,
        is_max=is_max,
        idempotency_key=idempotency_key,
        bidder_name=bidder_name,
        request_id=request_id,
        arrived_ms=arrived_ms,
        marks=marks,
    )
    if kind == "refused":
        raise _refusal(result)

    record = BidRecord.from_dict(result["record"])
    entries = receipts.entries_of(record)
    try:
        if record.buy_now:
            from shared.services import bid_intake

            with ctx.db.session() as session:
                bid_intake.intake(session, ctx, record)
        else:
            store_bids_now(ctx, record, entries)
            if record.has_rule_changes:  # rare: a maximum, a soft-close move
                from shared.services import bid_intake

                with ctx.db.session() as session:
                    bid_intake.store_rule_changes(session, record)
    except db_errors() as exc:
        # Acknowledged all the same: the outbox record is drained once PostgreSQL is back.
        log.warning("bid %s stored in the outbox only: %s", result["bid"]["id"], exc)
    else:
        if record.buy_now:
            from shared.services import outbox

            outbox.relay(ctx)

    return BidReceipt(
        bid=result["bid"],
        highest=result["highest"],
        min_next_bid=result["minNextBid"],
        ends_at=result["endsAt"],
        buy_now=bool(result["buyNow"]),
        max_amount=result.get("maxAmount"),
        replayed=kind == "replay",
        arrived_at=result.get("arrivedAt") or result["bid"]["createdAt"],
        receipt=_receipt(ctx, record, entries, result["bid"]["id"]),
    )


def _receipt(
    ctx: Context, record: BidRecord, entries: list[LedgerEntry], bid_id: str
) -> dict[str, Any] | None:
    """The receipt of the caller's own bid (a proxy's answer that follows it has its own
    entry, not the caller's)."""
    for row, entry in zip(record.bids, entries, strict=False):
        if row.id == bid_id:
            return receipts.receipt(ctx.settings, record.auction_id, entry)
    return None
