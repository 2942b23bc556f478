"""A placed bid's entries in its auction's public log, and the bidder's receipt: built on the
bid path, byte for byte as the intake stores them, without the database layer (a cold
function's first bid loads no SQLAlchemy). `shared.services.ledger` keeps and serves the log.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from shared.adapters.ledger_signer import LedgerSigner
from shared.adapters.redis_records import BidRecord
from shared.domain.ledger.entries import EntryKind, LedgerEntry, PlacedEntry, ledger_entries

if TYPE_CHECKING:
    from shared.settings import Settings


@lru_cache(maxsize=4)
def _signer(seed: str, host: str) -> LedgerSigner:
    return LedgerSigner(seed, host)


# The settings last asked about and their signer: the settings object is made once per process
# (a new one only when the environment is read again), and reading the seed (a file under var/
# in development) and parsing the host on every bid cost ~100 µs.
_last: tuple[Settings, LedgerSigner] | None = None


def signer(settings: Settings) -> LedgerSigner:
    """The ledger's key, named after the platform's host (as its logs are)."""
    global _last
    last = _last
    if last is not None and last[0] is settings:
        return last[1]
    made = _signer(settings.ledger_seed, settings.ledger_host)
    _last = (settings, made)
    return made


def placed_of(record: BidRecord) -> list[PlacedEntry]:
    """What each placed row of the script's record becomes in the log (in order)."""
    arrived = record.arrived_ms if record.arrived_ms is not None else record.at_ms
    placed = []
    for row in record.bids:
        if row.is_proxy:
            placed.append(
                PlacedEntry(
                    "proxy",
                    row.bidder_id,
                    row.amount,
                    arrived,
                    record.at_ms,
                    record.ends_ms,
                    row.owner_max if row.owner_max is not None else row.amount,
                    row.nonce or "",
                    record.round,
                )
            )
        else:
            kind: EntryKind = "buy_now" if record.buy_now else "bid"
            placed.append(
                PlacedEntry(
                    kind, row.bidder_id, row.amount, arrived, record.at_ms, record.ends_ms,
                    round=record.round,
                )
            )  # fmt: skip
    return placed


def entries_of(record: BidRecord) -> list[LedgerEntry]:
    """The log entries of an accepted offer (none for a record older than the ledger, or for
    a leader's raise, which places nothing)."""
    if not record.bids or record.bids[0].index is None or not record.ledger_secret:
        return []
    secret = bytes.fromhex(record.ledger_secret)
    return ledger_entries(record.auction_id, record.bids[0].index, placed_of(record), secret)


def entry_rows(auction_id: str, entries: Sequence[LedgerEntry]) -> list[dict[str, Any]]:
    aid = uuid.UUID(auction_id)
    return [
        {"auction_id": aid, "idx": e.index, "entry": e.text, "leaf_hash": e.leaf_hash}
        for e in entries
    ]


def receipt(settings: Settings, auction_id: str, entry: LedgerEntry) -> dict[str, Any]:
    """The bidder's receipt: the platform's signed promise that the entry is in the log at
    that index within LEDGER_MMD_MS."""
    return {
        "index": entry.index,
        "leafHash": base64.b64encode(entry.leaf_hash).decode(),
        "signature": signer(settings).sign_receipt(auction_id, entry.index, entry.leaf_hash),
    }
