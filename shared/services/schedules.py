"""The Redis schedules of timed transitions: where an auction's entries belong (by the rule of
`shared.domain.schedule`), claiming what is due, and the end as Redis knows it."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.adapters import keys
from shared.adapters.orm import Auction, CounterOffer, Invoice, SecondChanceOffer
from shared.adapters.redis_records import schedule_wire
from shared.adapters.redis_store import StoreError, StoreUnavailable, load_script
from shared.domain.schedule import (
    Entries,
    Moment,
    PendingDeadlines,
    deadline_entries,
    ending_soon_due,
    window_entries,
)
from shared.domain.times import from_ms, to_ms
from shared.domain.vocabulary import AuctionStatus, CounterStatus, OfferStatus, PaymentStatus
from shared.services.context import Context

log = logging.getLogger(__name__)

# A claimed entry is pushed this far into the future: a second ticker does not take it, and a
# ticker that dies mid-transition leaves it to be retried.
LEASE_MS = 30_000


def entries_for(auction: Auction, end: datetime | None = None) -> Entries:
    """The start/end entries of `auction` as its status says (the end pushed to `end` when
    Redis knows a later one: a soft close moves it there first)."""
    ends_at = max(auction.ends_at, end) if end else auction.ends_at
    return window_entries(auction.status, to_ms(auction.go_live_at), to_ms(ends_at))


def ending_soon_entry(auction: Auction, lead_secs: int, end: datetime | None = None) -> Entries:
    """The auction's "ending soon" entry, `lead_secs` before its end (pushed to `end` when Redis
    knows a later one); None: no notice is due any more (sent this round, or not open)."""
    ends_at = max(auction.ends_at, end) if end else auction.ends_at
    return {
        Moment.ENDING_SOON: ending_soon_due(
            auction.status,
            to_ms(auction.go_live_at),
            to_ms(ends_at),
            lead_secs * 1000,
            sent=auction.ending_soon_round == auction.round,
        )
    }


def _ms(moment: datetime | None) -> int | None:
    return to_ms(moment) if moment is not None else None


def pending_deadlines(session: Session, auction: Auction) -> PendingDeadlines:
    """What the record says is still ahead of `auction` after its hammer (one small query for
    an ended, closed or sold auction; none otherwise)."""
    status = auction.status
    if status == AuctionStatus.ENDED:
        counter = session.scalars(
            select(CounterOffer).where(
                CounterOffer.auction_id == auction.id, CounterOffer.round == auction.round
            )
        ).first()
        if counter is not None:
            pending = counter.status == CounterStatus.PENDING
            return PendingDeadlines(
                status, counter_expiry=_ms(counter.expires_at) if pending else None
            )
        reminded = auction.decision_reminded_at is not None
        return PendingDeadlines(
            status,
            decision_reminder=None if reminded else _ms(auction.decision_reminder_at),
            decision_deadline=_ms(auction.decision_deadline),
        )
    if status == AuctionStatus.CLOSED_NO_WINNER:
        expires = session.scalar(
            select(SecondChanceOffer.expires_at).where(
                SecondChanceOffer.auction_id == auction.id,
                SecondChanceOffer.round == auction.round,
                SecondChanceOffer.status == OfferStatus.PENDING,
            )
        )
        return PendingDeadlines(status, offer_expiry=_ms(expires))
    if status == AuctionStatus.SOLD:
        invoice = session.scalars(
            select(Invoice).where(Invoice.auction_id == auction.id, Invoice.voided_at.is_(None))
        ).first()
        open_payment = (
            invoice is not None
            and invoice.payment_status in (PaymentStatus.PENDING, PaymentStatus.PAID)
            and invoice.payment_due_notified_at is None
        )
        unshipped = (
            invoice is not None
            and invoice.shipped_at is None
            and invoice.ship_reminded_at is None
            and invoice.payment_status in (PaymentStatus.PAID, PaymentStatus.CONFIRMED)
        )
        return PendingDeadlines(
            status,
            payment_due=_ms(invoice.payment_due_at) if invoice and open_payment else None,
            ship_due=_ms(invoice.ship_by) if invoice and unshipped else None,
        )
    return PendingDeadlines(status)


def entries_of(session: Session, auction: Auction, end: datetime | None = None) -> Entries:
    """Every schedule entry of `auction` as the record says: its window (`entries_for`) and
    the deadlines after its hammer. Writers of a status change pass these with their state
    patch, so a moment that no longer applies leaves its schedule in the same step."""
    return {**entries_for(auction, end), **deadline_entries(pending_deadlines(session, auction))}


def place(ctx: Context, auction_id: str, entries: Entries) -> None:
    """Write schedule entries now (a failure is logged: the ticker's sweep finds the auction in
    PostgreSQL anyway)."""
    commands: list[list[str | int | float]] = [
        ["ZADD", key, due, auction_id] if due is not None else ["ZREM", key, auction_id]
        for key, due in schedule_wire(entries)
    ]
    try:
        ctx.store.pipeline(commands)
    except (StoreUnavailable, StoreError) as exc:
        log.warning("schedule of %s not updated: %s", auction_id, exc)


def redis_end(ctx: Context, auction_id: str) -> datetime | None:
    """endsAt as Redis has it (a soft close moves it there first)."""
    try:
        value = ctx.store.command("HGET", keys.state(auction_id), "endsAt")
    except (StoreUnavailable, StoreError):
        return None
    return from_ms(value) if value else None


def claim(ctx: Context, moment: Moment, limit: int = 100) -> list[str]:
    """The due auction ids of one schedule, each claimed under a lease (atomically: two
    tickers never both take one)."""
    return [aid for aid, _ in claim_due(ctx, moment, limit)]


def claim_due(ctx: Context, moment: Moment, limit: int = 100) -> list[tuple[str, int]]:
    """`claim`, each id with the epoch ms it was due (the ticker's lag is now minus that)."""
    flat = ctx.store.script(load_script("claim_due"), [keys.schedule(moment)], [limit, LEASE_MS])
    flat = list(flat or [])
    return [(str(flat[i]), int(float(flat[i + 1]))) for i in range(0, len(flat) - 1, 2)]
