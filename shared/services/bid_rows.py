"""The bid handler's own insert of an accepted bid's rows: one prepared statement on the hot
lane (no SQLAlchemy, so a cold function's first bid never loads it). The intake
(`bid_intake`) stores the same rows through the ORM when the handler could not."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Protocol

from shared.adapters.redis_records import BidRecord
from shared.domain.ledger.entries import LedgerEntry
from shared.domain.money import from_minor
from shared.domain.times import from_ms
from shared.services.receipts import entry_rows

if TYPE_CHECKING:
    from shared.services.context import Context

BID_COLUMNS = ("id", "auction_id", "bidder_id", "amount", "round", "seq", "is_proxy", "created_at")


class ScriptBid(Protocol):
    """A bid as the bid script's records carry it (a placed one's, a retracted one's)."""

    @property
    def id(self) -> str: ...
    @property
    def bidder_id(self) -> str: ...
    @property
    def amount(self) -> int: ...
    @property
    def seq(self) -> int: ...
    @property
    def is_proxy(self) -> bool: ...


def bid_row(
    auction_id: uuid.UUID, round_: int, bid: ScriptBid, created: datetime
) -> dict[str, object]:
    """One row of `bids`."""
    return {
        "id": uuid.UUID(bid.id),
        "auction_id": auction_id,
        "bidder_id": uuid.UUID(bid.bidder_id),
        "amount": from_minor(bid.amount),
        "round": round_,
        "seq": bid.seq,
        "is_proxy": bid.is_proxy,
        "created_at": created,
    }


def bid_rows(record: BidRecord) -> list[dict[str, object]]:
    """The record's bids as rows of `bids`."""
    created = from_ms(record.at_ms)
    auction_id = uuid.UUID(record.auction_id)
    return [bid_row(auction_id, record.round, b, created) for b in record.bids]


ENTRY_COLUMNS = ("auction_id", "idx", "entry", "leaf_hash")


def _values(columns: tuple[str, ...], count: int, prefix: str = "") -> str:
    return ", ".join(
        "(" + ", ".join(f":{prefix}{column}{i}" for column in columns) + ")" for i in range(count)
    )


@cache
def insert_bids(count: int, entries: int = 0) -> str:
    """One INSERT of `count` bids (a proxy's answer places two), idempotent by bid id; with
    `entries`, their ledger entries in the same statement (idempotent by index), so the
    bid rows and the entries their receipts promise land together or not at all."""
    bids = (
        f"INSERT INTO bids ({', '.join(BID_COLUMNS)}) VALUES {_values(BID_COLUMNS, count)} "
        "ON CONFLICT (id) DO NOTHING"
    )
    if not entries:
        return bids
    return (
        f"WITH placed AS ({bids}) INSERT INTO ledger_entries ({', '.join(ENTRY_COLUMNS)}) "
        f"VALUES {_values(ENTRY_COLUMNS, entries, 'e')} ON CONFLICT (auction_id, idx) DO NOTHING"
    )


def store_bids_now(ctx: Context, record: BidRecord, entries: Sequence[LedgerEntry] = ()) -> None:
    """The bid handler's insert: one prepared statement on the hot lane, in autocommit (one
    round trip, no BEGIN or COMMIT: pg8000 sends a parameterised statement in three round
    trips, a prepared one in one), the bids' ledger entries with them. Raises one of the
    lane's errors."""
    rows = bid_rows(record)
    if not rows:
        return
    params = {f"{column}{i}": row[column] for i, row in enumerate(rows) for column in row}
    for i, row in enumerate(entry_rows(record.auction_id, entries)):
        params.update({f"e{column}{i}": row[column] for column in ENTRY_COLUMNS})
    ctx.db.lane.run(insert_bids(len(rows), len(entries)), **params)
