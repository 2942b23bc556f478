"""Shill signals, kept current: the ticker takes the pairs marked for rescoring
(`rescoring`), counts their facts in the record in one statement, and stores each pair's
facts and score (`trust_scores`); the admin reads the suspects, highest score first, each with
its signals and the sentences that explain them (`shared.domain.trust`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from shared.adapters.orm import Auction, Bid, TrustScore, User
from shared.domain import trust
from shared.domain.marketplace import public_name
from shared.domain.sources import KEEP_FOR
from shared.domain.times import iso
from shared.domain.trust import PairFacts
from shared.services import sources
from shared.services.context import Context
from shared.services.rescoring import Pair

log = logging.getLogger(__name__)

BATCH = 500
AUCTIONS_SHOWN = 5  # the pair's latest auctions, linked from the admin page

_RIVAL_SECONDS = int(trust.RIVAL_WINDOW.total_seconds())
_FINISHED = ", ".join(f"'{s}'" for s in sorted(trust.FINISHED_STATUSES))

# The counts of `shared.domain.trust.PairFacts`, for many pairs at once. Each CTE says one
# part of the definition (`trust.facts_of`, which a differential test holds this to).
_FACTS = text(
    f"""
WITH pairs AS (
    SELECT DISTINCT bidder_id, seller_id
      FROM unnest(CAST(:bidders AS uuid[]), CAST(:sellers AS uuid[])) AS p(bidder_id, seller_id)
),
with_bids AS (      -- the sellers' auctions that had any bid
    SELECT a.id, a.seller_id, a.status, a.winner_id, a.round, a.go_live_at, a.duration_mins,
           a.start_price, a.bid_increment
      FROM auctions a
     WHERE a.seller_id IN (SELECT seller_id FROM pairs)
       AND EXISTS (SELECT 1 FROM bids b WHERE b.auction_id = a.id)
),
joined AS (         -- of them, those each bidder bid on
    SELECT DISTINCT p.bidder_id, w.*
      FROM pairs p
      JOIN with_bids w ON w.seller_id = p.seller_id
      JOIN bids b ON b.auction_id = w.id AND b.bidder_id = p.bidder_id
),
ordered AS (        -- every bid of those auctions, with the bid before it and the high before it
    SELECT b.auction_id, b.round, b.bidder_id, b.amount, b.is_proxy, b.created_at,
           lag(b.bidder_id) OVER w AS before_bidder,
           lag(b.created_at) OVER w AS before_at,
           max(b.amount) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS high
      FROM bids b
     WHERE b.auction_id IN (SELECT id FROM joined)
    WINDOW w AS (PARTITION BY b.auction_id, b.round ORDER BY b.seq)
),
own AS (            -- each bidder's own bids there, judged against the bid before
    SELECT j.bidder_id, j.seller_id,
           count(*) FILTER (WHERE NOT o.is_proxy) AS bids,
           count(*) FILTER (
               WHERE NOT o.is_proxy AND o.before_bidder IS NOT NULL
                 AND o.before_bidder <> o.bidder_id
                 AND o.created_at - o.before_at <= interval '{_RIVAL_SECONDS} seconds'
           ) AS after_rival,
           count(*) FILTER (
               WHERE NOT o.is_proxy
                 AND o.amount = CASE WHEN o.high IS NULL THEN j.start_price
                                     ELSE o.high + j.bid_increment END
           ) AS at_minimum
      FROM joined j
      JOIN ordered o ON o.auction_id = j.id AND o.bidder_id = j.bidder_id
     GROUP BY j.bidder_id, j.seller_id
),
firsts AS (         -- each bidder's first bid in each auction's current round
    SELECT j.bidder_id, j.seller_id, j.id,
           min(o.created_at) - j.go_live_at AS after_start,
           j.duration_mins * interval '1 minute' * {trust.EARLY_SHARE} AS early_until
      FROM joined j
      JOIN ordered o ON o.auction_id = j.id AND o.bidder_id = j.bidder_id AND o.round = j.round
     GROUP BY j.bidder_id, j.seller_id, j.id, j.go_live_at, j.duration_mins
),
shared_marks AS (
    SELECT p.bidder_id, p.seller_id,
           count(*) FILTER (WHERE mb.kind = 'net') AS shared_networks,
           count(*) FILTER (WHERE mb.kind = 'device') AS shared_devices
      FROM pairs p
      JOIN source_marks mb ON mb.user_id = p.bidder_id AND mb.last_seen >= :since
      JOIN source_marks ms ON ms.user_id = p.seller_id AND ms.kind = mb.kind
                          AND ms.hash = mb.hash AND ms.last_seen >= :since
     GROUP BY p.bidder_id, p.seller_id
)
SELECT p.bidder_id, p.seller_id,
       (SELECT count(*) FROM with_bids w WHERE w.seller_id = p.seller_id) AS seller_auctions,
       (SELECT count(*) FROM joined j WHERE j.bidder_id = p.bidder_id
           AND j.seller_id = p.seller_id) AS auctions,
       (SELECT count(*) FROM joined j WHERE j.bidder_id = p.bidder_id
           AND j.seller_id = p.seller_id
           AND j.status IN ({_FINISHED}))
           AS finished,
       (SELECT count(*) FROM joined j WHERE j.bidder_id = p.bidder_id
           AND j.seller_id = p.seller_id AND j.status = 'sold'
           AND j.winner_id = p.bidder_id) AS won,
       coalesce(own.bids, 0) AS bids,
       coalesce(own.after_rival, 0) AS after_rival,
       coalesce(own.at_minimum, 0) AS at_minimum,
       (SELECT count(*) FROM firsts f WHERE f.bidder_id = p.bidder_id
           AND f.seller_id = p.seller_id) AS timed,
       (SELECT count(*) FROM firsts f WHERE f.bidder_id = p.bidder_id
           AND f.seller_id = p.seller_id AND f.after_start < f.early_until) AS early,
       coalesce(sm.shared_networks, 0) AS shared_networks,
       coalesce(sm.shared_devices, 0) AS shared_devices
  FROM pairs p
  LEFT JOIN own ON own.bidder_id = p.bidder_id AND own.seller_id = p.seller_id
  LEFT JOIN shared_marks sm ON sm.bidder_id = p.bidder_id AND sm.seller_id = p.seller_id
"""
)


def pair_facts(session: Session, pairs: Sequence[Pair], now: Any) -> dict[Pair, PairFacts]:
    """The facts of each pair, as the record says now."""
    if not pairs:
        return {}
    rows = session.execute(
        _FACTS,
        {
            "bidders": [str(b) for b, _ in pairs],
            "sellers": [str(s) for _, s in pairs],
            "since": now - KEEP_FOR,
        },
    ).mappings()
    out: dict[Pair, PairFacts] = {}
    for row in rows:
        values = {k: v for k, v in row.items() if k not in ("bidder_id", "seller_id")}
        out[(_uuid(row["bidder_id"]), _uuid(row["seller_id"]))] = PairFacts.from_json(values)
    return out


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def rescore(session: Session, pairs: Sequence[Pair], now: Any) -> int:
    """Count the pairs' facts and store them with their score."""
    facts = pair_facts(session, pairs, now)
    rows = [
        {
            "bidder_id": bidder,
            "seller_id": seller,
            "score": trust.exact_score(f).quantize(Decimal("0.001")),
            "facts": f.to_json(),
        }
        for (bidder, seller), f in sorted(facts.items())
        if f.auctions > 0  # a pair with no bid left (none ever, or a purged record)
    ]
    if rows:
        stmt = insert(TrustScore).values(rows)
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=["bidder_id", "seller_id"],
                set_={
                    "score": stmt.excluded.score,
                    "facts": stmt.excluded.facts,
                    "updated_at": func.now(),
                },
            )
        )
    return len(rows)


def refresh(ctx: Context, *, batch: int = BATCH) -> int:
    """Take up to `batch` marked pairs and rescore them, in one transaction (a failure leaves
    them marked for the next tick; a second ticker skips the pairs this one holds). Never
    raises for PostgreSQL down: the marks wait."""
    try:
        with ctx.db.session() as session:
            taken = session.execute(
                text(
                    """
                    DELETE FROM trust_pending
                     WHERE (bidder_id, seller_id) IN (
                           SELECT bidder_id, seller_id FROM trust_pending
                            ORDER BY marked_at LIMIT :batch FOR UPDATE SKIP LOCKED)
                    RETURNING bidder_id, seller_id
                    """
                ),
                {"batch": batch},
            ).all()
            pairs = [(_uuid(b), _uuid(s)) for b, s in taken]
            return rescore(session, pairs, ctx.clock()) if pairs else 0
    except SQLAlchemyError as exc:
        log.warning("shill signals postponed: %s", exc)
        return 0


def forget_old_sources(ctx: Context) -> int:
    """Source marks not seen for 90 days (the ticker's sweep); never raises for PostgreSQL."""
    try:
        with ctx.db.session() as session:
            return sources.forget(session, ctx.clock())
    except SQLAlchemyError as exc:
        log.warning("forgetting old source marks postponed: %s", exc)
        return 0


# -- the admin's list ----------------------------------------------------------------------------


def suspects(ctx: Context, *, limit: int, seller_id: uuid.UUID | None) -> dict[str, Any]:
    """Every pair with a score above 0, highest first (ties: by bidder, then seller)."""
    query = select(TrustScore).where(TrustScore.score > 0)
    if seller_id is not None:
        query = query.where(TrustScore.seller_id == seller_id)
    query = query.order_by(
        TrustScore.score.desc(), TrustScore.bidder_id, TrustScore.seller_id
    ).limit(limit)
    with ctx.db.session() as session:
        rows = session.scalars(query).all()
        people = {
            u.id: u
            for u in session.scalars(
                select(User).where(
                    User.id.in_({r.bidder_id for r in rows} | {r.seller_id for r in rows})
                )
            )
        }
        shown = _latest_auctions(session, [(r.bidder_id, r.seller_id) for r in rows])
        items = []
        for r in rows:
            f = PairFacts.from_json(r.facts)
            bidder, seller = people.get(r.bidder_id), people.get(r.seller_id)
            items.append(
                {
                    "bidderId": str(r.bidder_id),
                    "sellerId": str(r.seller_id),
                    "bidderName": public_name(bidder.name if bidder else "", str(r.bidder_id)),
                    "sellerName": public_name(seller.name if seller else "", str(r.seller_id)),
                    "bidderSuspended": bool(bidder and bidder.suspended_at is not None),
                    "score": float(r.score),
                    "signals": trust.signals(f),
                    "reasons": trust.reasons(f),
                    "auctions": shown.get((r.bidder_id, r.seller_id), []),
                    "updatedAt": iso(r.updated_at),
                }
            )
        return {"items": items}


def _latest_auctions(session: Session, pairs: Sequence[Pair]) -> dict[Pair, list[dict[str, Any]]]:
    """Each pair's latest auctions (by the bidder's last bid on them), for the admin's links."""
    if not pairs:
        return {}
    last_bid = func.max(Bid.created_at).label("last_bid")
    inner = (
        select(
            Bid.bidder_id,
            Auction.seller_id,
            Auction.id,
            Auction.item_name,
            Auction.status,
            last_bid,
            func.row_number()
            .over(partition_by=(Bid.bidder_id, Auction.seller_id), order_by=last_bid.desc())
            .label("n"),
        )
        .join(Auction, Auction.id == Bid.auction_id)
        .where(
            Bid.bidder_id.in_({b for b, _ in pairs}),
            Auction.seller_id.in_({s for _, s in pairs}),
        )
        .group_by(Bid.bidder_id, Auction.seller_id, Auction.id, Auction.item_name, Auction.status)
        .subquery()
    )
    rows = session.execute(
        select(inner).where(inner.c.n <= AUCTIONS_SHOWN).order_by(inner.c.n)
    ).all()
    wanted = set(pairs)
    out: dict[Pair, list[dict[str, Any]]] = {}
    for row in rows:
        key = (row.bidder_id, row.seller_id)
        if key in wanted:
            out.setdefault(key, []).append(
                {"id": str(row.id), "itemName": row.item_name, "status": row.status}
            )
    return out
