"""The bid handler's own insert of an accepted bid's rows: one prepared statement on the hot
lane (no SQLAlchemy, so a cold function's first bid never loads it). The intake
(`bid_intake`) stores the same rows through the ORM when the handler could not."""

from __future__ import annotations

import uuid
from functools import cache
from typing import TYPE_CHECKING

from shared.adapters.redis_records import BidRecord
from shared.domain.money import from_minor
from shared.domain.times import from_ms

if TYPE_CHECKING:
    from shared.services.context import Context

BID_COLUMNS = ("id", "auction_id", "bidder_id", "amount", "round", "seq", "is_proxy", "created_at")


def bid_rows(record: BidRecord) -> list[dict[str, object]]:
    """The record's bids as rows of `bids`."""
    created = from_ms(record.at_ms)
    auction_id = uuid.UUID(record.auction_id)
    return [
        {
            "id": uuid.UUID(b.id),
            "auction_id": auction_id,
            "bidder_id": uuid.UUID(b.bidder_id),
            "amount": from_minor(b.amount),
            "round": record.round,
            "seq": b.seq,
            "is_proxy": b.is_proxy,
            "created_at": created,
        }
        for b in record.bids
    ]


@cache
def insert_bids(count: int) -> str:
    """One INSERT of `count` bids (a proxy's answer places two), idempotent by bid id."""
    rows = ", ".join(
        "(" + ", ".join(f":{column}{i}" for column in BID_COLUMNS) + ")" for i in range(count)
    )
    return f"INSERT INTO bids ({', '.join(BID_COLUMNS)}) VALUES {rows} ON CONFLICT (id) DO NOTHING"


def store_bids_now(ctx: Context, record: BidRecord) -> None:
    """The bid handler's insert: one prepared statement on the hot lane, in autocommit (one
    round trip, no BEGIN or COMMIT: pg8000 sends a parameterised statement in three round
    trips, a prepared one in one). Raises one of the lane's errors."""
    rows = bid_rows(record)
    if not rows:
        return
    params = {f"{column}{i}": row[column] for i, row in enumerate(rows) for column in row}
    ctx.db.lane.run(insert_bids(len(rows)), **params)
