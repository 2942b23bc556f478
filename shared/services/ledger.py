"""The public bid ledger of every auction (docs/ledger.md): entries, receipts, checkpoints,
proofs and the close certificate.

- The bid script numbers the entries (`ledger` in the auction's Redis state) and puts in its
  outbox record everything an entry is made of; `entries_of(record)` builds the entries from
  it, byte for byte the same in the API process (which signs the receipt, no round trip
  more) and in the intake (which stores them in the statement that stores the bid rows).
- The ticker signs a checkpoint for each log that grew (`checkpoint_grown`), storing the
  tree's completed subtrees; proofs are read from those, never recomputed from entries.
- `append_entry` stores one entry of any kind (a retraction's, too).
"""

from __future__ import annotations

import base64
import logging
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from shared.adapters.orm import (
    Auction,
    Bid,
    LedgerCheckpoint,
    LedgerMaximum,
    LedgerNode,
)
from shared.adapters.orm import (
    LedgerEntry as EntryRow,
)
from shared.adapters.redis_records import BidRecord
from shared.domain.errors import DomainError, invalid
from shared.domain.ledger import merkle
from shared.domain.ledger.entries import (
    LedgerEntry,
    PlacedEntry,
    decimal_text,
    ledger_entries,
    pseudonym,
)
from shared.domain.ledger.notes import Checkpoint, checkpoint_origin
from shared.domain.money import from_minor, to_minor
from shared.domain.times import from_ms
from shared.domain.vocabulary import OPEN_STATUSES
from shared.services.context import Context

# (re-exported: the log's keeper is where its callers look for its key and entries)
from shared.services.receipts import entries_of as entries_of
from shared.services.receipts import entry_rows as entry_rows
from shared.services.receipts import signer as signer
from shared.settings import Settings

log = logging.getLogger(__name__)

PAGE_MAX = 1000  # entries per page of GET .../ledger
RECENT_WINDOW = "10 minutes"  # the ticker looks for grown logs among entries this recent


def store_entries(session: Session, auction_id: str, entries: Sequence[LedgerEntry]) -> None:
    """Insert entries (idempotent by index: an entry, once written, is never rewritten)."""
    if entries:
        session.execute(
            insert(EntryRow)
            .values(entry_rows(auction_id, entries))
            .on_conflict_do_nothing(index_elements=["auction_id", "idx"])
        )


def append_entry(
    session: Session, auction_id: str, index: int, placed: PlacedEntry, secret: bytes
) -> LedgerEntry:
    """Store one entry of any kind at `index` (numbered by the script that judged it, from
    the `ledger` counter of the auction's state), and return it for its receipt."""
    (entry,) = ledger_entries(auction_id, index, [placed], secret)
    store_entries(session, auction_id, [entry])
    return entry


def store_maximum(session: Session, record: BidRecord) -> None:
    """The maximum the record set, with its nonce (revealed after the end)."""
    if record.max_of is None or record.max is None or record.max_nonce is None:
        return
    session.execute(
        insert(LedgerMaximum)
        .values(
            auction_id=uuid.UUID(record.auction_id),
            bidder_id=uuid.UUID(record.max_of),
            round=record.round,
            max_amount=from_minor(record.max),
            nonce=record.max_nonce,
            set_at=from_ms(record.at_ms),
        )
        .on_conflict_do_nothing()
    )


def state_of(session: Session, auction: Auction) -> tuple[int, dict[tuple[str, int], str]]:
    """For a state rebuilt from PostgreSQL: the log's size, and the nonce of each maximum of
    the current round by (bidder, max in minor units)."""
    size = session.scalar(
        text("SELECT coalesce(max(idx) + 1, 0) FROM ledger_entries WHERE auction_id = :a"),
        {"a": auction.id},
    )
    maxima = session.execute(
        select(LedgerMaximum.bidder_id, LedgerMaximum.max_amount, LedgerMaximum.nonce).where(
            LedgerMaximum.auction_id == auction.id, LedgerMaximum.round == auction.round
        )
    ).all()
    return int(size or 0), {(str(b), to_minor(m)): n for b, m, n in maxima}


# -- the tree and its checkpoints ----------------------------------------------------------


def _node_reader(session: Session, auction_id: uuid.UUID) -> merkle.NodeReader:
    def read(ids: Collection[merkle.NodeId]) -> Mapping[merkle.NodeId, bytes]:
        if not ids:
            return {}
        rows = session.execute(
            select(LedgerNode.level, LedgerNode.idx, LedgerNode.hash).where(
                LedgerNode.auction_id == auction_id,
                tuple_(LedgerNode.level, LedgerNode.idx).in_(list(ids)),
            )
        ).all()
        return {(level, idx): bytes(h) for level, idx, h in rows}

    return read


def _origin(settings: Settings, auction_id: uuid.UUID) -> str:
    return checkpoint_origin(settings.ledger_host, str(auction_id))


def sign_checkpoint(
    session: Session, settings: Settings, auction_id: uuid.UUID
) -> LedgerCheckpoint | None:
    """Extend the signed tree over every entry stored since the last checkpoint (up to the
    first gap: an entry whose bid is still on its way), store the subtrees it completed and
    sign the new checkpoint. Two signers at once (the socket node and the scheduled tick)
    take turns on a lock of this log.

    Locks in one order, the auction's row and then the log's: the window's close signs while
    it holds the row (`consequences.log_sealed`), and the rows written here reference it (their
    foreign key share-locks it), so a signer holding the log's lock first would deadlock
    with it."""
    session.execute(text("SELECT 1 FROM auctions WHERE id = :a FOR KEY SHARE"), {"a": auction_id})
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
        {"k": f"ledger:{auction_id}"},
    )
    current = session.get(LedgerCheckpoint, auction_id, populate_existing=True)
    size = current.size if current is not None else 0
    rows = session.execute(
        select(EntryRow.idx, EntryRow.entry)
        .where(EntryRow.auction_id == auction_id, EntryRow.idx >= size)
        .order_by(EntryRow.idx)
    ).all()
    texts: list[str] = []
    for idx, entry in rows:
        if idx != size + len(texts):
            break  # a gap: the rest waits for the entry before it
        texts.append(entry)
    if not texts:
        return current
    tree = merkle.CompactRange.read(size, _node_reader(session, auction_id))
    nodes: list[merkle.StoredNode] = []
    for entry in texts:
        tree, completed = tree.append(merkle.leaf_hash(entry.encode()))
        nodes += completed
    session.execute(
        insert(LedgerNode)
        .values(
            [
                {"auction_id": auction_id, "level": n.level, "idx": n.index, "hash": n.hash}
                for n in nodes
            ]
        )
        .on_conflict_do_nothing()
    )
    checkpoint = Checkpoint(_origin(settings, auction_id), tree.size, tree.root())
    note = signer(settings).sign_checkpoint(checkpoint)
    stmt = insert(LedgerCheckpoint).values(
        auction_id=auction_id, size=tree.size, root=tree.root(), note=note
    )
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["auction_id"],
            set_={"size": stmt.excluded.size, "root": stmt.excluded.root, "note": note},
            where=LedgerCheckpoint.size < stmt.excluded.size,
        )
    )
    session.flush()
    return session.get(LedgerCheckpoint, auction_id, populate_existing=True)


def checkpoint_grown(ctx: Context, *, everything: bool = False) -> int:
    """Sign a checkpoint for each log that grew past its last one (among entries of the last
    few minutes; `everything`: all of them, the scheduled backstop's sweep). Returns how many
    were signed."""
    if everything:  # one probe of the entries' key per auction, not a scan of every entry
        query = text(
            "SELECT a.id FROM auctions a LEFT JOIN ledger_checkpoints c ON c.auction_id = a.id "
            "WHERE EXISTS (SELECT 1 FROM ledger_entries e "
            "WHERE e.auction_id = a.id AND e.idx >= coalesce(c.size, 0))"
        )
    else:
        query = text(
            "SELECT DISTINCT e.auction_id FROM ledger_entries e "
            "LEFT JOIN ledger_checkpoints c ON c.auction_id = e.auction_id "
            "WHERE e.idx >= coalesce(c.size, 0) "
            f"AND e.recorded_at > now() - interval '{RECENT_WINDOW}'"
        )
    signed = 0
    try:
        with ctx.db.session() as session:
            grown = [row[0] for row in session.execute(query)]
        for auction_id in grown:
            with ctx.db.session() as session:
                before = session.get(LedgerCheckpoint, auction_id)
                size = before.size if before is not None else 0
                after = sign_checkpoint(session, ctx.settings, auction_id)
                signed += after is not None and after.size > size
    except SQLAlchemyError as exc:
        log.warning("ledger checkpoints postponed: %s", exc)
    return signed


# -- what the routes read --------------------------------------------------------------------


@dataclass(frozen=True)
class Tree:
    size: int
    note: str


def _auction(session: Session, auction_id: str) -> Auction:
    try:
        key = uuid.UUID(auction_id)
    except ValueError:
        raise DomainError("not_found", "No such auction") from None
    auction = session.get(Auction, key)
    if auction is None:
        raise DomainError("not_found", "No such auction")
    return auction


def _tree(session: Session, settings: Settings, auction: Auction) -> Tree:
    """The latest signed tree (an empty log has the signed empty tree)."""
    latest = session.get(LedgerCheckpoint, auction.id)
    if latest is not None:
        return Tree(latest.size, latest.note)
    empty = Checkpoint(_origin(settings, auction.id), 0, merkle.EMPTY_ROOT)
    return Tree(0, signer(settings).sign_checkpoint(empty))


def key_document(settings: Settings) -> dict[str, str]:
    return signer(settings).key_document()


def entries_page(ctx: Context, auction_id: str, start: int, end: int | None) -> dict[str, Any]:
    if end is not None and end < start:
        raise invalid("end", "must not be below start")
    stop = start + PAGE_MAX if end is None else min(end, start + PAGE_MAX)
    with ctx.db.session() as session:
        auction = _auction(session, auction_id)
        tree = _tree(session, ctx.settings, auction)
        rows = session.execute(
            select(EntryRow.idx, EntryRow.entry, EntryRow.leaf_hash)
            .where(EntryRow.auction_id == auction.id, EntryRow.idx >= start, EntryRow.idx < stop)
            .order_by(EntryRow.idx)
        ).all()
    return {
        "entries": [
            {"index": i, "entry": e, "leafHash": base64.b64encode(bytes(h)).decode()}
            for i, e, h in rows
        ],
        "size": tree.size,
    }


def checkpoint_note(ctx: Context, auction_id: str) -> str:
    with ctx.db.session() as session:
        return _tree(session, ctx.settings, _auction(session, auction_id)).note


def _b64(hashes: Sequence[bytes]) -> list[str]:
    return [base64.b64encode(h).decode() for h in hashes]


def _required(**values: int | None) -> None:
    for name, value in values.items():
        if value is None:
            raise invalid(name, "is required")


def inclusion(ctx: Context, auction_id: str, index: int | None, size: int | None) -> dict[str, Any]:
    with ctx.db.session() as session:
        auction = _auction(session, auction_id)
        _required(index=index, size=size)
        assert index is not None and size is not None
        tree = _tree(session, ctx.settings, auction)
        if size > tree.size:
            raise invalid("size", f"must be at most the signed tree's size, {tree.size}")
        if index >= size:
            raise invalid("index", f"must be below size ({size})")
        path = merkle.inclusion_proof(index, size, _node_reader(session, auction.id))
    return {"index": index, "size": size, "path": _b64(path)}


def consistency(ctx: Context, auction_id: str, old: int | None, new: int | None) -> dict[str, Any]:
    with ctx.db.session() as session:
        auction = _auction(session, auction_id)
        _required(**{"from": old, "to": new})
        assert old is not None and new is not None
        tree = _tree(session, ctx.settings, auction)
        if new > tree.size:
            raise invalid("to", f"must be at most the signed tree's size, {tree.size}")
        if old > new:
            raise invalid("from", f"must be at most to ({new})")
        path = merkle.consistency_proof(old, new, _node_reader(session, auction.id))
    return {"from": old, "to": new, "path": _b64(path)}


def close_certificate(ctx: Context, auction_id: str) -> dict[str, Any]:
    """Once the auction has ended: the checkpoint over its whole log (signed as the window
    closed: `consequences.log_sealed`), the outcome the rules reached (the highest bid of the
    current round, pseudonymous), and every proxy maximum with its nonce, so anyone can replay
    the rules to it. A read: it writes nothing."""
    with ctx.db.session() as session:
        auction = _auction(session, auction_id)
        if auction.status in OPEN_STATUSES:
            raise DomainError(
                "auction_not_ended",
                "The auction has not ended: its maxima are revealed only after the end",
            )
        tree = _tree(session, ctx.settings, auction)
        secret = bytes(auction.ledger_secret)
        top = _decided_bid(session, auction)
        reserve_met = None
        if auction.reserve_price is not None:
            reserve_met = top is not None and top.amount >= auction.reserve_price
        maxima = session.execute(
            select(LedgerMaximum.bidder_id, LedgerMaximum.max_amount, LedgerMaximum.nonce)
            .where(LedgerMaximum.auction_id == auction.id)
            .order_by(LedgerMaximum.set_at, LedgerMaximum.max_amount)
        ).all()
    return {
        "checkpoint": tree.note,
        "outcome": {
            "winner": pseudonym(secret, str(top.bidder_id)) if top is not None else None,
            "price": _money(top.amount) if top is not None else None,
            "reserveMet": reserve_met,
        },
        "reveals": [
            {"bidder": pseudonym(secret, str(b)), "max": _money(m), "nonce": n}
            for b, m, n in maxima
        ],
    }


def _decided_bid(session: Session, auction: Auction) -> Bid | None:
    """The bid the auction ended on: the one the end transition recorded, else the current
    round's highest (ties: the later, a proxy's answer placed after the bid it answers)."""
    if auction.highest_bid_id is not None:
        bid = session.get(Bid, auction.highest_bid_id)
        if bid is not None:
            return bid
    return session.scalars(
        select(Bid)
        .where(Bid.auction_id == auction.id, Bid.round == auction.round)
        .order_by(Bid.amount.desc(), Bid.seq.desc())
        .limit(1)
    ).first()


def _money(amount: Decimal) -> str:
    return decimal_text(to_minor(amount))


def ledger_bidders(
    session: Session, user_id: str, auction_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """The caller's own pseudonym in each auction's log (`ledgerBidder` of GET /api/me/bids)."""
    if not auction_ids:
        return {}
    rows = session.execute(
        select(Auction.id, Auction.ledger_secret).where(
            Auction.id.in_(bindparam("ids", expanding=True))
        ),
        {"ids": list(auction_ids)},
    ).all()
    return {aid: pseudonym(bytes(secret), user_id) for aid, secret in rows}
