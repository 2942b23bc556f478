"""The (bidder, seller) pairs whose shill signals must be computed again (`trust_pending`).

Whatever changes a pair's record marks it in its own transaction: a bid reaching PostgreSQL
(the consequence of `BidAccepted`), an auction coming out (its bidders against its seller),
a source mark seen for the first time. The ticker takes the marked pairs every second
(`trust.refresh`), so the signals follow a bid within a couple of seconds; a mark that
commits while a refresh runs waits for it (the same key) and is taken by the next one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared.adapters.orm import Auction, Bid, TrustPending

Pair = tuple[uuid.UUID, uuid.UUID]  # (bidder, seller)


def mark(session: Session, pairs: Iterable[Pair]) -> None:
    rows = [{"bidder_id": b, "seller_id": s} for b, s in sorted(set(pairs)) if b != s]
    if rows:
        session.execute(insert(TrustPending).values(rows).on_conflict_do_nothing())


def mark_auction(session: Session, auction_id: uuid.UUID) -> None:
    """Every bidder of the auction (any round) against its seller: an outcome changes what
    their bids came to."""
    session.execute(
        insert(TrustPending)
        .from_select(
            ["bidder_id", "seller_id"],
            select(Bid.bidder_id, Auction.seller_id)
            .join(Auction, Auction.id == Bid.auction_id)
            .where(Bid.auction_id == auction_id)
            .distinct(),
        )
        .on_conflict_do_nothing()
    )


def mark_sharing(session: Session, user_id: uuid.UUID, kind: str, hash_: str) -> None:
    """A source mark first seen for `user_id`: every scored pair of theirs with someone who
    carries the same mark, both ways (as bidder and as seller)."""
    session.execute(
        text(
            """
            INSERT INTO trust_pending (bidder_id, seller_id)
            SELECT t.bidder_id, t.seller_id
              FROM source_marks m
              JOIN trust_scores t
                ON (t.bidder_id = :user AND t.seller_id = m.user_id)
                OR (t.seller_id = :user AND t.bidder_id = m.user_id)
             WHERE m.kind = :kind AND m.hash = :hash AND m.user_id <> :user
            ON CONFLICT DO NOTHING
            """
        ),
        {"user": user_id, "kind": kind, "hash": hash_},
    )


def mark_overlapping(session: Session, user_ids: Iterable[uuid.UUID]) -> None:
    """Pairs of these users whose score counted a shared source (their marks were forgotten)."""
    ids = sorted({str(u) for u in user_ids})
    if not ids:
        return
    session.execute(
        text(
            """
            INSERT INTO trust_pending (bidder_id, seller_id)
            SELECT bidder_id, seller_id FROM trust_scores
             WHERE (bidder_id = ANY(CAST(:ids AS uuid[])) OR seller_id = ANY(CAST(:ids AS uuid[])))
               AND ((facts->>'shared_networks')::int > 0 OR (facts->>'shared_devices')::int > 0)
            ON CONFLICT DO NOTHING
            """
        ),
        {"ids": ids},
    )
