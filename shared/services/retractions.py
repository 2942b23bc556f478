"""Retracting bids: one atomic script in Redis (`retract_bid.lua`: who and when, the bids out
of the competition, the bidder's maximum cancelled, the new highest, the room's
`bid:retracted`, an outbox record), then the record in PostgreSQL.

The rules are `shared.domain.retractions`. Durability is the bid path's: the script writes
its outbox record (`outbox:bids`, in order with the bids it retracts) atomically with the
change; the handler applies it to PostgreSQL at once, and when it cannot, the bid intake
drains it once PostgreSQL is back (`intake`, idempotent). The record carries the retracted
bids whole, so a retraction that reaches PostgreSQL before one of its bids did (a proxy's
answer still on its way) writes that bid's row itself, already retracted.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared.adapters import keys
from shared.adapters.db import DB_ERRORS
from shared.adapters.orm import Bid, ProxyMaximum
from shared.adapters.redis_store import OutcomeUnknown, StoreUnavailable, load_script
from shared.domain.errors import DomainError
from shared.domain.events import BidRetracted
from shared.domain.ledger.entries import PlacedEntry
from shared.domain.money import from_minor
from shared.domain.principal import Viewer
from shared.domain.retractions import RECENT_MS, RetractReason
from shared.domain.times import from_ms, iso
from shared.services import auction_state, audit, ledger, outbox
from shared.services.bid_rows import bid_row
from shared.services.context import Context
from shared.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetractedRow:
    id: str
    bidder_id: str
    amount: int
    seq: int
    is_proxy: bool
    at_ms: int  # when the bid script placed it


@dataclass(frozen=True, slots=True)
class RetractionRecord:
    """What PostgreSQL (and the ledger's retraction entry) must learn of one retraction:
    who, which bids, the lowest amount retracted, when (the script's clock: the retraction
    arrives and is judged in one step) and the end it leaves (a retraction never moves it)."""

    auction_id: str
    round: int
    bidder_id: str
    bids: tuple[RetractedRow, ...]
    amount: int  # the lowest amount retracted, minor units
    reason: str
    at_ms: int
    arrived_ms: int
    ends_ms: int
    seller_id: str
    request_id: str | None = None
    # The retraction's place in the auction's public log (the bid script numbers it as it
    # numbers bids) and the auction's pseudonym secret; None for a state older than the log.
    ledger_index: int | None = None
    ledger_secret: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RetractionRecord:
        bids = data.get("bids") or []
        return cls(
            auction_id=str(data["auctionId"]),
            round=int(data["round"]),
            bidder_id=str(data["bidderId"]),
            bids=tuple(
                RetractedRow(
                    id=str(b["id"]),
                    bidder_id=str(b["bidderId"]),
                    amount=int(b["amount"]),
                    seq=int(b["seq"]),
                    is_proxy=bool(b.get("isProxy")),
                    at_ms=int(b["at"]),
                )
                for b in (bids if isinstance(bids, list) else [])
            ),
            amount=int(data["amount"]),
            reason=str(data["reason"]),
            at_ms=int(data["at"]),
            arrived_ms=int(data.get("arrivedAt") or data["at"]),
            ends_ms=int(data["endsAt"]),
            seller_id=str(data.get("sellerId") or ""),
            request_id=str(data["requestId"]) if data.get("requestId") else None,
            ledger_index=int(data["ledgerIndex"]) if data.get("ledgerIndex") is not None else None,
            ledger_secret=str(data.get("ledgerSecret") or ""),
        )

    @property
    def bid_ids(self) -> tuple[str, ...]:
        return tuple(b.id for b in self.bids)


def is_retraction(data: dict[str, Any]) -> bool:
    """Whether an `outbox:bids` record is a retraction's (else an accepted bid's)."""
    return data.get("kind") == "retraction"


def intake(session: Session, ctx: Context, record: RetractionRecord) -> bool:
    """Mark the bids retracted (writing a row not there yet), cancel the bidder's maximum
    as it stood then, audit, and record the event; in the caller's transaction. Idempotent:
    a second run finds every row marked and does nothing. Returns whether it changed them."""
    at = from_ms(record.at_ms)
    auction_id = uuid.UUID(record.auction_id)
    rows = [
        {
            **bid_row(auction_id, record.round, b, from_ms(b.at_ms)),
            "retracted_at": at,
            "retract_reason": record.reason,
        }
        for b in record.bids
    ]
    stmt = insert(Bid).values(rows)
    marked = session.scalars(
        stmt.on_conflict_do_update(
            index_elements=["id"],
            set_={
                "retracted_at": stmt.excluded.retracted_at,
                "retract_reason": stmt.excluded.retract_reason,
            },
            where=Bid.retracted_at.is_(None),
        ).returning(Bid.id)
    ).all()
    # The maximum the retraction cancelled, never one set after it (a later record may have
    # been stored before this one is drained).
    session.execute(
        delete(ProxyMaximum).where(
            ProxyMaximum.auction_id == auction_id,
            ProxyMaximum.bidder_id == uuid.UUID(record.bidder_id),
            ProxyMaximum.round == record.round,
            ProxyMaximum.placed_at <= at,
        )
    )
    _log_entry(session, record)
    if not marked:
        return False
    # The price lists sort and filter by: the highest standing bid again (a trigger only ever
    # raises it as bids arrive).
    session.execute(
        text(
            "UPDATE auctions a SET current_price = GREATEST(a.start_price, (SELECT max(amount) "
            "FROM bids b WHERE b.auction_id = a.id AND b.round = a.round "
            "AND b.retracted_at IS NULL)) WHERE a.id = :id"
        ),
        {"id": auction_id},
    )
    audit.record(
        session,
        record.bidder_id,
        "bid.retract",
        auction_id,
        {"bidIds": list(record.bid_ids), "reason": record.reason},
    )
    UnitOfWork(ctx, session).record(
        BidRetracted(record.auction_id, record.round, record.bidder_id, record.bid_ids)
    )
    return True


def _log_entry(session: Session, record: RetractionRecord) -> None:
    """The retraction's entry in the auction's public log (idempotent by its index): the
    bidder, the lowest amount retracted (a verifier removes every remaining bid of theirs at
    or above it, and their maximum), arrived and judged at the script's clock, the end as it
    stands (a retraction never moves it)."""
    if record.ledger_index is None or not record.ledger_secret:
        return
    placed = PlacedEntry(
        "retraction",
        record.bidder_id,
        record.amount,
        record.arrived_ms,
        record.at_ms,
        record.ends_ms,
        round=record.round,
    )
    ledger.append_entry(
        session,
        record.auction_id,
        record.ledger_index,
        placed,
        bytes.fromhex(record.ledger_secret),
    )


def _refusal(body: dict[str, Any]) -> DomainError:
    return DomainError(str(body["code"]), str(body.get("detail") or "") or None)


def _run(ctx: Context, script_keys: list[str], args: list[str | int | float]) -> tuple[str, str]:
    try:
        kind, body = ctx.store.script(load_script("retract_bid"), script_keys, args)
    except OutcomeUnknown:
        raise DomainError(
            "unavailable",
            "The retraction was sent and no answer came back; retry it (a retraction already "
            "made answers the same).",
            retryAfter=1,
        ) from None
    except StoreUnavailable:
        raise DomainError(
            "unavailable", "Nothing was retracted: the bid store cannot be reached", retryAfter=1
        ) from None
    return str(kind), str(body)


def retract(
    ctx: Context,
    viewer: Viewer,
    auction_id: uuid.UUID,
    bid_id: str,
    reason: RetractReason,
    *,
    request_id: str | None = None,
) -> dict[str, Any]:
    """Retract `bid_id` (with, far enough from the end, every other bid of its bidder)."""
    me = str(viewer.user_id)
    try:
        bid_uuid = uuid.UUID(bid_id)
    except ValueError:
        raise DomainError("not_found", "No such bid") from None
    with ctx.db.session() as session:  # the cheap refusals, before Redis is asked anything
        bid = session.get(Bid, bid_uuid)
        if bid is not None:
            if bid.auction_id != auction_id:
                raise DomainError("not_found", "No such bid on this auction")
            if str(bid.bidder_id) != me:
                raise DomainError("forbidden", "Only the bidder may retract their bid")
            if bid.retracted_at is not None:
                raise DomainError("retraction_not_allowed", "This bid was already retracted")
    aid = str(auction_id)
    script_keys = [
        keys.state(aid),
        keys.highest(aid),
        keys.proxies(aid),
        keys.placed_bids(aid),
        keys.room_stream(aid),
        keys.FEED,
        keys.OUTBOX_BIDS,
        keys.retractions(aid),
    ]
    args: list[str | int | float] = [
        aid,
        me,
        str(bid_uuid),
        ctx.settings.retract_cutoff_secs * 1000,
        RECENT_MS,
        keys.ROOM_STREAM_MAXLEN,
        keys.FEED_MAXLEN,
        reason.value,
        request_id or "",
    ]
    kind, body = _run(ctx, script_keys, args)
    if kind == "missing":
        if not auction_state.rebuild(ctx, auction_id):
            raise DomainError("not_found", "No such auction")
        kind, body = _run(ctx, script_keys, args)
        if kind == "missing":
            raise DomainError("unavailable", "The bid store lost its state again; retry")
    result = orjson.loads(body)
    if kind == "refused":
        raise _refusal(result)
    record = RetractionRecord.from_dict(result["record"])
    try:
        with ctx.db.session() as session:
            intake(session, ctx, record)
    except DB_ERRORS as exc:
        # Done all the same: the outbox record is drained once PostgreSQL is back.
        log.warning("retraction of %s stored in the outbox only: %s", bid_id, exc)
    else:
        outbox.relay(ctx)
    return view(record, result)


def view(record: RetractionRecord, result: dict[str, Any]) -> dict[str, Any]:
    """The API's answer: what was retracted, the auction's highest now, and what a ledger
    entry of kind `retraction` says (bidder, lowest amount, moments, end)."""
    return {
        "auctionId": record.auction_id,
        "bidderId": record.bidder_id,
        "bidIds": list(record.bid_ids),
        "reason": record.reason,
        "amount": f"{from_minor(record.amount):.2f}",
        "retractedAt": iso(from_ms(record.at_ms)),
        "arrivedAt": iso(from_ms(record.arrived_ms)),
        "judgedAt": iso(from_ms(record.at_ms)),
        "endsAt": iso(from_ms(record.ends_ms)),
        "highestBid": result.get("highestBid") or None,
        "minNextBid": result["minNextBid"],
    }


def retractions_since(session: Session, user_id: uuid.UUID, since: datetime) -> int:
    """How many retractions the user made since `since` (one retraction of every bid on an
    auction is one: its bids share the auction and the moment)."""
    acts = (
        select(Bid.auction_id, Bid.retracted_at)
        .where(Bid.bidder_id == user_id, Bid.retracted_at > since)
        .distinct()
        .subquery()
    )
    return session.scalar(select(func.count()).select_from(acts)) or 0
