"""The signed-in person's own pages: the auctions they bid on (and where they stand), the
auctions they sell, what they bought, what they watch. Each is a cursor list, newest
activity first; reads only."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, case, func, or_, select, text
from sqlalchemy.orm import Session

from shared.adapters.orm import Auction, Bid, Invoice, ProxyMaximum, Watch
from shared.domain import cursors
from shared.domain.invoices import invoice_label
from shared.domain.marketplace import bid_state
from shared.domain.money import money_str
from shared.domain.principal import Viewer
from shared.domain.times import iso
from shared.domain.vocabulary import AuctionStatus, BidState
from shared.services import auctions, ledger
from shared.services.context import Context
from shared.services.search import status_filter

UNDECIDED = (AuctionStatus.SCHEDULED.value, AuctionStatus.LIVE.value, AuctionStatus.ENDED.value)


def _page_ids(session: Session, query: Any, limit: int) -> tuple[list[Any], bool]:
    rows = session.execute(query.limit(limit + 1)).all()
    return list(rows[:limit]), len(rows) > limit


def _by_id(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, Auction]:
    return {a.id: a for a in session.scalars(select(Auction).where(Auction.id.in_(ids)))}


def _after_desc(key: Any, id_: Any, cursor: str | None) -> list[Any]:
    if not cursor:
        return []
    moment_text, id_text = cursors.decode(cursor, 2)
    at, after = cursors.moment(moment_text), cursors.identifier(id_text)
    return [or_(key < at, and_(key == at, id_ < after))]


# -- my bids ------------------------------------------------------------------------------------


def my_bids(
    ctx: Context, viewer: Viewer, *, state: BidState | None, limit: int, cursor: str | None
) -> dict[str, Any]:
    """Auctions I bid on in their current round, most recent bid first:
    `{auction, myHighestBid, myMaxAmount, state}`."""
    me = uuid.UUID(viewer.user_id or "")
    standing = Bid.retracted_at.is_(None)
    mine = (
        select(
            Bid.auction_id.label("aid"),
            # my highest standing bid; when all were retracted, the highest I made
            func.coalesce(func.max(Bid.amount).filter(standing), func.max(Bid.amount)).label("top"),
            func.max(Bid.created_at).label("last"),
            func.max(Bid.retracted_at).label("retracted"),
        )
        .join(Auction, and_(Auction.id == Bid.auction_id, Auction.round == Bid.round))
        .where(Bid.bidder_id == me)
        .group_by(Bid.auction_id)
        .subquery()
    )
    leader = (
        select(Bid.bidder_id)
        .where(Bid.auction_id == Auction.id, Bid.round == Auction.round, standing)
        .order_by(Bid.amount.desc(), Bid.seq.desc())
        .limit(1)
        .scalar_subquery()
    )
    query = select(
        Auction.id, mine.c.top, mine.c.last, mine.c.retracted, leader.label("leader")
    ).join(mine, mine.c.aid == Auction.id)
    undecided = Auction.status.in_(UNDECIDED)
    sold = Auction.status == AuctionStatus.SOLD
    if state == BidState.LEADING:
        query = query.where(undecided, leader == me)
    elif state == BidState.OUTBID:
        query = query.where(undecided, leader != me)
    elif state == BidState.WON:
        query = query.where(sold, Auction.winner_id == me)
    elif state == BidState.LOST:
        query = query.where(~undecided, or_(~sold, Auction.winner_id != me))
    query = query.where(*_after_desc(mine.c.last, Auction.id, cursor)).order_by(
        mine.c.last.desc(), Auction.id.desc()
    )
    with ctx.db.session() as session:
        rows, more = _page_ids(session, query, limit)
        ids = [r.id for r in rows]
        by_id = _by_id(session, ids)
        maxima = {
            m.auction_id: m.max_amount
            for m in session.scalars(
                select(ProxyMaximum).where(
                    ProxyMaximum.bidder_id == me, ProxyMaximum.auction_id.in_(ids)
                )
            )
            if by_id.get(m.auction_id) and m.round == by_id[m.auction_id].round
        }
        views = auctions.render_by_id(ctx, viewer, ids)
        pseudonyms = ledger.ledger_bidders(session, str(me), ids)
        items = []
        for r in rows:
            a = by_id[r.id]
            if r.id not in views:  # gone since the page was read
                continue
            items.append(
                {
                    "auction": views[r.id],
                    "myHighestBid": money_str(r.top),
                    "myMaxAmount": money_str(maxima[r.id]) if r.id in maxima else None,
                    "ledgerBidder": pseudonyms[r.id],
                    "state": bid_state(
                        status=a.status,
                        i_lead=r.leader == me,
                        winner_is_me=a.winner_id == me,
                    ).value,
                    "retractedAt": iso(r.retracted),
                }
            )
        next_cursor = cursors.encode(rows[-1].last.isoformat(), str(rows[-1].id)) if more else None
        return {"items": items, "nextCursor": next_cursor}


# -- my auctions (the seller's dashboard) -------------------------------------------------------


def my_auctions(
    ctx: Context, viewer: Viewer, *, status: str | None, limit: int, cursor: str | None
) -> dict[str, Any]:
    """The caller's own auctions, every status: those awaiting their decision first, then
    newest first."""
    me = uuid.UUID(viewer.user_id or "")
    awaiting = case((Auction.status == AuctionStatus.ENDED, 1), else_=0)
    query = select(Auction.id, awaiting.label("w"), Auction.created_at).where(
        Auction.seller_id == me
    )
    if status:
        shown, params = status_filter(status, ctx.clock())
        query = query.where(text(shown).bindparams(**params))
    if cursor:
        flag_text, moment_text, id_text = cursors.decode(cursor, 3)
        flag = cursors.sequence(flag_text)
        at, after = cursors.moment(moment_text), cursors.identifier(id_text)
        query = query.where(
            or_(
                awaiting < flag,
                and_(
                    awaiting == flag,
                    or_(
                        Auction.created_at < at,
                        and_(Auction.created_at == at, Auction.id < after),
                    ),
                ),
            )
        )
    query = query.order_by(awaiting.desc(), Auction.created_at.desc(), Auction.id.desc())
    with ctx.db.session() as session:
        rows, more = _page_ids(session, query, limit)
        items = auctions.render_ids(ctx, viewer, [r.id for r in rows])
        next_cursor = (
            cursors.encode(str(rows[-1].w), rows[-1].created_at.isoformat(), str(rows[-1].id))
            if more
            else None
        )
        return {"items": items, "nextCursor": next_cursor}


# -- my purchases -------------------------------------------------------------------------------


def my_purchases(ctx: Context, viewer: Viewer, *, limit: int, cursor: str | None) -> dict[str, Any]:
    """What the caller bought: `{auction, finalPrice, invoiceNumber, payment}`, latest first
    (the current sale of each: a voided one is no purchase)."""
    me = uuid.UUID(viewer.user_id or "")
    query = (
        select(
            Auction.id,
            Invoice.sold_at,
            Invoice.number,
            Invoice.amount,
            Invoice.payment_status,
            Invoice.payment_due_at,
        )
        .join(Invoice, and_(Invoice.auction_id == Auction.id, Invoice.voided_at.is_(None)))
        .where(Auction.status == AuctionStatus.SOLD, Auction.winner_id == me)
        .where(*_after_desc(Invoice.sold_at, Auction.id, cursor))
        .order_by(Invoice.sold_at.desc(), Auction.id.desc())
    )
    with ctx.db.session() as session:
        rows, more = _page_ids(session, query, limit)
        views = auctions.render_by_id(ctx, viewer, [r.id for r in rows])
        items = [
            {
                "auction": views[r.id],
                "finalPrice": money_str(r.amount),
                "invoiceNumber": invoice_label(r.number),
                "payment": {"status": r.payment_status, "dueAt": iso(r.payment_due_at)},
            }
            for r in rows
            if r.id in views  # (one gone since the page was read is left out)
        ]
        next_cursor = (
            cursors.encode(rows[-1].sold_at.isoformat(), str(rows[-1].id)) if more else None
        )
        return {"items": items, "nextCursor": next_cursor}


# -- my watchlist -------------------------------------------------------------------------------


def my_watchlist(ctx: Context, viewer: Viewer, *, limit: int, cursor: str | None) -> dict[str, Any]:
    """The auctions the caller watches, the most recently watched first."""
    me = uuid.UUID(viewer.user_id or "")
    query = (
        select(Auction.id, Watch.created_at)
        .join(Watch, Watch.auction_id == Auction.id)
        .where(Watch.user_id == me)
        .where(*_after_desc(Watch.created_at, Auction.id, cursor))
        .order_by(Watch.created_at.desc(), Auction.id.desc())
    )
    with ctx.db.session() as session:
        rows, more = _page_ids(session, query, limit)
        items = auctions.render_ids(ctx, viewer, [r.id for r in rows])
        next_cursor = (
            cursors.encode(rows[-1].created_at.isoformat(), str(rows[-1].id)) if more else None
        )
        return {"items": items, "nextCursor": next_cursor}
