"""Bid intake: what PostgreSQL learns from each accepted bid.

The bid script writes an outbox record (`outbox:bids`) atomically with the bid. The bid
handler stores the bid rows at once (read-your-writes); this intake, run by the socket node
and the scheduled tick, makes sure every record reaches PostgreSQL even when the handler could
not (PostgreSQL down, a crash), and creates the notifications (`new_bid` for the seller,
`outbid` for whoever lost the lead) and finishes buy-now sales. Everything here is idempotent:
bids by id, notifications by cause, sales by status guard.
"""

from __future__ import annotations

import logging
import uuid

import orjson
from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from shared.adapters import keys
from shared.adapters.orm import Auction, Bid, ProxyMaximum
from shared.adapters.redis_records import BidRecord
from shared.adapters.redis_store import StoreError, StoreUnavailable
from shared.domain.events import BidAccepted, BoughtNow
from shared.domain.money import from_minor
from shared.domain.times import from_ms
from shared.domain.vocabulary import OPEN_STATUSES
from shared.logs import Event
from shared.services import ledger, outbox, records, retractions, sales, sources
from shared.services.bid_rows import bid_rows, store_bids_now
from shared.services.context import Context
from shared.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

__all__ = ["drain", "intake", "store_bids", "store_bids_now", "store_rule_changes"]


def store_bids(session: Session, record: BidRecord) -> None:
    """Insert the record's bids and their ledger entries (idempotent by bid id and index)."""
    if not record.bids:
        return
    session.execute(
        insert(Bid).values(bid_rows(record)).on_conflict_do_nothing(index_elements=["id"])
    )
    ledger.store_entries(session, record.auction_id, ledger.entries_of(record))


def store_rule_changes(session: Session, record: BidRecord) -> None:
    """The proxy maximum and the moved end, so that a state rebuilt from PostgreSQL (Redis
    flushed) keeps both."""
    auction_id = uuid.UUID(record.auction_id)
    ledger.store_maximum(session, record)
    if record.max_of is not None and record.max is not None:
        stmt = insert(ProxyMaximum).values(
            auction_id=auction_id,
            bidder_id=uuid.UUID(record.max_of),
            round=record.round,
            max_amount=from_minor(record.max),
            placed_at=from_ms(record.at_ms),
        )
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=["auction_id", "bidder_id", "round"],
                set_={"max_amount": stmt.excluded.max_amount, "placed_at": stmt.excluded.placed_at},
                # A bidder's maximum only rises within a round (a leader may only raise it; a
                # beaten one's next must clear the price, above the old), so the larger is the
                # later: a retried, older record never lowers it. (The acceptance moments can
                # tie within one millisecond; the amounts cannot.)
                where=ProxyMaximum.max_amount < stmt.excluded.max_amount,
            )
        )
    if record.moves_the_end:
        session.execute(
            update(Auction)
            .where(Auction.id == auction_id)
            .values(ends_at=func.greatest(Auction.ends_at, from_ms(record.ends_ms)))
        )


def intake(session: Session, ctx: Context, record: BidRecord) -> None:
    """Store the record's bids, rule changes and source marks, tell the seller and whoever was
    outbid, and finish a buy-now sale (in the caller's transaction)."""
    store_bids(session, record)
    store_rule_changes(session, record)
    sources.remember_bid(session, record)
    if not record.bids:
        return
    uow = UnitOfWork(ctx, session)
    first, last = record.bids[0], record.bids[-1]
    uow.record(
        BidAccepted(
            record.auction_id,
            record.round,
            first_bid_id=first.id,
            bid_id=last.id,
            amount=last.amount,
            seller_id=record.seller_id,
            outbid=record.outbid,
        )
    )
    if record.buy_now:
        _finish_buy_now(uow, uuid.UUID(record.auction_id), uuid.UUID(first.id))


def _finish_buy_now(uow: UnitOfWork, auction_id: uuid.UUID, bid_id: uuid.UUID) -> None:
    """Buy-now: the bid script already closed the window; make it a sale in the record (once:
    the status guard under the row lock)."""
    auction = records.lock_auction(uow.session, auction_id)
    if auction is None or auction.status not in OPEN_STATUSES or auction.buy_now_price is None:
        return
    bid = uow.session.get(Bid, bid_id)
    if bid is None:
        return
    invoice = sales.complete_sale(
        uow.session,
        uow.ctx,
        auction,
        buyer_id=bid.bidder_id,
        price=auction.buy_now_price,
        reason="buy_now",
        bid_id=bid.id,
    )
    auction.ends_at = min(auction.ends_at, bid.created_at)
    uow.record(BoughtNow(str(auction.id), auction.round, str(invoice.id), str(bid.id)))


def drain(ctx: Context, *, batch: int = 200) -> int:
    """Take pending records from `outbox:bids` into PostgreSQL; returns how many were taken."""
    return _drain(ctx, batch) or 0


def drain_all(ctx: Context, *, batch: int = 200) -> bool:
    """Every record pending in `outbox:bids` when called into PostgreSQL, batch after batch.
    False when the intake had to postpone (Redis or PostgreSQL failed): what an auction's end
    decides must wait then, or it could leave out a bid that was accepted (one whose handler's
    own insert failed, behind more than a batch of other auctions' records)."""
    try:
        pending = int(ctx.store.command("XLEN", keys.OUTBOX_BIDS) or 0)
    except (StoreUnavailable, StoreError) as exc:
        log.warning("bid intake postponed: %s", exc)
        return False
    taken = 0
    while taken < pending:  # records added meanwhile are other auctions' (this window is shut)
        done = _drain(ctx, batch)
        if done is None:
            return False
        if done == 0:
            break
        taken += done
    return True


def _drain(ctx: Context, batch: int) -> int | None:
    """One batch; how many records were taken, None when postponed."""
    try:
        entries = ctx.store.command("XRANGE", keys.OUTBOX_BIDS, "-", "+", "COUNT", batch)
    except (StoreUnavailable, StoreError) as exc:
        log.warning("bid intake postponed: %s", exc)
        return None
    if not entries:
        return 0
    done: list[str] = []
    request_ids: list[str] = []
    try:
        with ctx.db.session() as session:
            for entry_id, fields in entries:
                data = orjson.loads(dict(zip(fields[::2], fields[1::2], strict=True))["r"])
                # The same stream carries retractions, in order with the bids they take back.
                record: BidRecord | retractions.RetractionRecord
                if retractions.is_retraction(data):
                    record = retractions.RetractionRecord.from_dict(data)
                    retractions.intake(session, ctx, record)
                else:
                    record = BidRecord.from_dict(data)
                    intake(session, ctx, record)
                done.append(entry_id)
                if record.request_id:
                    request_ids.append(record.request_id)
    except SQLAlchemyError as exc:
        log.warning("bid intake postponed (%d records waiting): %s", len(entries), exc)
        return None
    ctx.store.command("XDEL", keys.OUTBOX_BIDS, *done)
    # The requests whose bids are now surely in PostgreSQL (a bid can be followed from the
    # API's request line through here to every socket node's fan-out line).
    log.info(Event(event="bid_intake", records=len(done), requestIds=request_ids))
    outbox.relay(ctx)
    return len(done)
