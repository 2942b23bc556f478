"""Reading one auction for display in one statement on the hot lane (`shared.adapters.pg`):
its row, its highest bid and counter offer of the current round, its photos, its watchers and
whether the viewer is one of them. A reconnecting client, a page view and a CDN's revalidation
all land here; the ORM would take eight round trips and ~6 ms of CPU for the same.

The records are plain frozen dataclasses with the ORM's attribute names, so the views render
them exactly as they render ORM objects (`shared.services.views` takes either).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from shared.adapters.pg import HotLane


@dataclass(frozen=True, slots=True)
class AuctionRow:
    id: uuid.UUID
    seller_id: uuid.UUID
    item_name: str
    description: str
    start_price: Decimal
    bid_increment: Decimal
    reserve_price: Decimal | None
    buy_now_price: Decimal | None
    soft_close_secs: int | None
    go_live_at: datetime
    duration_mins: int
    ends_at: datetime
    status: str
    round: int
    winner_id: uuid.UUID | None
    final_price: Decimal | None
    closed_reason: str | None
    decision_deadline: datetime | None
    created_at: datetime
    updated_at: datetime
    category: str | None
    cancel_reason: str | None
    shipping_method: str | None
    shipping_cost: Decimal | None
    pickup_city: str | None
    bid_count: int


@dataclass(frozen=True, slots=True)
class BidRow:
    id: uuid.UUID
    auction_id: uuid.UUID
    bidder_id: uuid.UUID
    amount: Decimal
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CounterRow:
    id: uuid.UUID
    amount: Decimal
    status: str
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class ImageRow:
    id: uuid.UUID
    storage_key: str
    thumb_key: str
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class PaymentRow:
    payment_status: str
    payment_due_at: datetime
    total_due: Decimal | None = None


@dataclass(frozen=True, slots=True)
class AuctionRead:
    auction: AuctionRow
    highest: BidRow | None
    counter: CounterRow | None
    images: tuple[ImageRow, ...]
    watchers: int
    watching: bool
    payment: PaymentRow | None = None  # a sale's current (not void) invoice
    winner_name: str | None = None  # the buyer's name (the view makes it public)


_AUCTION_COLUMNS = (
    "id, seller_id, item_name, description, start_price, bid_increment, reserve_price, "
    "buy_now_price, soft_close_secs, go_live_at, duration_mins, ends_at, status, round, "
    "winner_id, final_price, closed_reason, decision_deadline, created_at, updated_at, "
    "category, cancel_reason, shipping_method, shipping_cost, pickup_city, bid_count"
)
_WIDTH = len(_AUCTION_COLUMNS.split(","))

_SELECT = f"""
SELECT {", ".join(f"a.{c.strip()}" for c in _AUCTION_COLUMNS.split(","))},
       b.id, b.bidder_id, b.amount, b.created_at,
       c.id, c.amount, c.status, c.expires_at,
       (SELECT count(*) FROM watches w WHERE w.auction_id = a.id),
       EXISTS (SELECT 1 FROM watches w WHERE w.auction_id = a.id AND w.user_id = :viewer),
       (SELECT coalesce(json_agg(json_build_array(i.id, i.storage_key, i.thumb_key, i.width,
                                                  i.height) ORDER BY i.position, i.created_at),
                        '[]')
          FROM auction_images i WHERE i.auction_id = a.id)
  FROM auctions a
  LEFT JOIN LATERAL (SELECT id, bidder_id, amount, created_at FROM bids
                      WHERE auction_id = a.id AND round = a.round AND retracted_at IS NULL
                      ORDER BY amount DESC, seq DESC LIMIT 1) b ON true
  LEFT JOIN LATERAL (SELECT id, amount, status, expires_at FROM counter_offers
                      WHERE auction_id = a.id AND round = a.round
                      LIMIT 1) c ON true
"""
READ_AUCTION = _SELECT + " WHERE a.id = :auction_id"
# A page of a list: each sale's payment and buyer too (lists show them; offers they do not).
READ_AUCTIONS = (
    _SELECT.replace(
        "  FROM auctions a\n",
        ",\n       p.payment_status, p.payment_due_at, wu.name, p.total_due\n  FROM auctions a\n",
    )
    + """  LEFT JOIN LATERAL (SELECT payment_status, payment_due_at, total_due FROM invoices
                      WHERE auction_id = a.id AND voided_at IS NULL
                      ORDER BY sold_at DESC LIMIT 1) p ON a.status = 'sold'
  LEFT JOIN users wu ON wu.id = a.winner_id
 WHERE a.id = ANY(:ids)
"""
)


def read_auction(lane: HotLane, auction_id: uuid.UUID, viewer_id: str | None) -> AuctionRead | None:
    """The auction and what its display needs, or None when there is no such auction."""
    viewer = uuid.UUID(viewer_id) if viewer_id else None
    rows = lane.run(READ_AUCTION, auction_id=auction_id, viewer=viewer)
    return _read(rows[0]) if rows else None


def read_auctions(
    lane: HotLane, ids: list[uuid.UUID], viewer_id: str | None
) -> dict[uuid.UUID, AuctionRead]:
    """Several auctions for a list, in one statement, by id."""
    if not ids:
        return {}
    viewer = uuid.UUID(viewer_id) if viewer_id else None
    found = [_read(row) for row in lane.run(READ_AUCTIONS, ids=ids, viewer=viewer)]
    return {read.auction.id: read for read in found}


def _read(row: list[Any]) -> AuctionRead:
    auction = AuctionRow(*row[:_WIDTH])
    bid_id, bidder_id, amount, placed_at = row[_WIDTH : _WIDTH + 4]
    counter_id, counter_amount, counter_status, expires_at = row[_WIDTH + 4 : _WIDTH + 8]
    watchers, watching, images = row[_WIDTH + 8 : _WIDTH + 11]
    payment_status, payment_due_at, winner_name, total_due = (row[_WIDTH + 11 :] + [None] * 4)[:4]
    return AuctionRead(
        auction=auction,
        highest=(BidRow(bid_id, auction.id, bidder_id, amount, placed_at) if bid_id else None),
        counter=(
            CounterRow(counter_id, counter_amount, counter_status, expires_at)
            if counter_id
            else None
        ),
        images=tuple(ImageRow(uuid.UUID(i[0]), i[1], i[2], int(i[3]), int(i[4])) for i in images),
        watchers=int(watchers),
        watching=bool(watching),
        payment=(PaymentRow(payment_status, payment_due_at, total_due) if payment_status else None),
        winner_name=winner_name,
    )


@dataclass(frozen=True, slots=True)
class HistoryRow:
    bid: BidRow
    seq: int
    bidder_name: str
    retracted_at: datetime | None = None  # a retracted bid stays in the history, marked


def _history(after: bool) -> str:
    below = "AND (b.amount < :amount OR (b.amount = :amount AND b.seq < :seq))" if after else ""
    return f"""
SELECT b.id, b.bidder_id, b.amount, b.created_at, b.seq, u.name, b.retracted_at
  FROM auctions a
  LEFT JOIN LATERAL (SELECT id, bidder_id, amount, created_at, seq, retracted_at FROM bids b
                      WHERE b.auction_id = a.id AND b.round = a.round {below}
                      ORDER BY b.amount DESC, b.seq DESC LIMIT :limit) b ON true
  LEFT JOIN users u ON u.id = b.bidder_id
 WHERE a.id = :auction_id
 ORDER BY b.amount DESC, b.seq DESC
"""


HISTORY = _history(after=False)
HISTORY_AFTER = _history(after=True)


def read_history(
    lane: HotLane,
    auction_id: uuid.UUID,
    *,
    limit: int,
    after: tuple[Decimal, int] | None = None,
) -> list[HistoryRow] | None:
    """Bids of the auction's current round, highest first (ties: the later sequence number),
    below `after` (amount, seq) when given; None when there is no such auction."""
    if after is None:
        rows = lane.run(HISTORY, auction_id=auction_id, limit=limit)
    else:
        rows = lane.run(
            HISTORY_AFTER, auction_id=auction_id, limit=limit, amount=after[0], seq=after[1]
        )
    if not rows:
        return None
    return [
        HistoryRow(BidRow(r[0], auction_id, r[1], r[2], r[3]), int(r[4]), r[5] or "", r[6])
        for r in rows
        if r[0] is not None
    ]
