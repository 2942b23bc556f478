"""Auctions: create, read, list, and the API's view of one."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from shared.adapters import keys
from shared.adapters.orm import Auction, Bid, CounterOffer
from shared.adapters.redis_store import StoreError, StoreUnavailable, hash_to_dict
from shared.domain import cursors
from shared.domain.auctions import AuctionDraft, check_draft, ends_at, min_next_bid
from shared.domain.errors import DomainError
from shared.domain.money import from_minor, money_str
from shared.domain.times import from_ms, iso
from shared.domain.vocabulary import AuctionStatus, Role
from shared.services import auction_state
from shared.services.context import Context

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Viewer:
    """Who is asking (None fields for an anonymous reader)."""

    user_id: str | None = None
    role: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


ANONYMOUS = Viewer()


def create_auction(ctx: Context, seller_id: str, draft: AuctionDraft) -> dict[str, Any]:
    check_draft(draft, ctx.clock())
    with ctx.db.session() as session:
        auction = Auction(
            id=uuid.uuid4(),
            seller_id=uuid.UUID(seller_id),
            item_name=draft.item_name,
            description=draft.description,
            start_price=draft.start_price,
            bid_increment=draft.bid_increment,
            reserve_price=draft.reserve_price,
            buy_now_price=draft.buy_now_price,
            soft_close_secs=draft.soft_close_secs,
            go_live_at=draft.go_live_at,
            duration_mins=draft.duration_mins,
            ends_at=ends_at(draft.go_live_at, draft.duration_mins),
            status=AuctionStatus.SCHEDULED.value,
            round=1,
        )
        session.add(auction)
        session.flush()
        session.refresh(auction)
        try:
            auction_state.seed(ctx, session, auction, force=True)
        except (StoreUnavailable, StoreError) as exc:
            # The first bid rebuilds the state, and the ticker's sweep finds the schedule.
            log.warning("auction %s created without Redis state: %s", auction.id, exc)
        return view(session, ctx, auction, Viewer(seller_id, Role.SELLER), live=None)


def get_auction(session: Session, auction_id: str | uuid.UUID) -> Auction:
    try:
        key = auction_id if isinstance(auction_id, uuid.UUID) else uuid.UUID(auction_id)
    except ValueError:
        raise DomainError("not_found", "No such auction") from None
    auction = session.get(Auction, key)
    if auction is None:
        raise DomainError("not_found", "No such auction")
    return auction


@dataclass(frozen=True)
class LiveState:
    """What Redis knows better than PostgreSQL while an auction is open."""

    status: str | None
    ends_at: datetime | None
    highest: dict[str, Any] | None
    my_max: int | None


def read_live(ctx: Context, auction_id: str, user_id: str | None) -> LiveState | None:
    commands: list[list[str | int | float]] = [
        ["HGETALL", keys.state(auction_id)],
        ["GET", keys.highest(auction_id)],
    ]
    if user_id:
        commands.append(["HGET", keys.proxies(auction_id), user_id])
    try:
        replies = ctx.store.pipeline(commands)
    except (StoreUnavailable, StoreError) as exc:
        log.warning("reading auction %s from PostgreSQL only: %s", auction_id, exc)
        return None
    state = hash_to_dict(replies[0])
    if not state:
        if not auction_state.rebuild(ctx, uuid.UUID(auction_id)):
            return None
        return read_live(ctx, auction_id, user_id)
    mine = orjson.loads(replies[2]) if user_id and replies[2] else None
    return LiveState(
        status=state.get("status"),
        ends_at=from_ms(state["endsAt"]) if state.get("endsAt") else None,
        highest=orjson.loads(replies[1]) if replies[1] else None,
        my_max=int(mine["max"]) if mine else None,
    )


HIGHEST_BID_MEMBERS = ("id", "bidderId", "amount", "createdAt")


def bid_view(bid: Bid) -> dict[str, Any]:
    """The Bid object of CONTRACT section 4."""
    return {
        "id": str(bid.id),
        "auctionId": str(bid.auction_id),
        "bidderId": str(bid.bidder_id),
        "amount": money_str(bid.amount),
        "createdAt": iso(bid.created_at),
    }


def highest_bid_view(bid: dict[str, Any] | Bid) -> dict[str, Any]:
    """The auction's `highestBid` ({id, bidderId, amount, createdAt}), from a Bid or its view."""
    view = bid_view(bid) if isinstance(bid, Bid) else bid
    return {k: view[k] for k in HIGHEST_BID_MEMBERS}


def _highest_from_pg(session: Session, auction: Auction) -> dict[str, Any] | None:
    top = auction_state.highest_bid(session, auction)
    return None if top is None else bid_view(top)


def view(
    session: Session,
    ctx: Context,
    auction: Auction,
    viewer: Viewer,
    *,
    live: LiveState | None,
    bid_count: int | None = None,
    highest: dict[str, Any] | None = None,
    counter: CounterOffer | None = None,
    prefetched: bool = False,
) -> dict[str, Any]:
    """The auction object of CONTRACT section 4 (with the competitive-rule members)."""
    now = ctx.clock()
    status = auction.status
    end = auction.ends_at
    highest_bid = highest
    if live is not None:
        if live.ends_at is not None:
            end = max(end, live.ends_at)
        if live.status == AuctionStatus.SOLD and status != AuctionStatus.SOLD:
            status = AuctionStatus.SOLD.value  # bought now; PostgreSQL follows in a moment
        if live.highest:
            h = live.highest
            highest_bid = {
                "id": h["bidId"],
                "auctionId": str(auction.id),
                "bidderId": h["userId"],
                "amount": money_str(int(h["amount"])),
                "createdAt": iso(from_ms(h["ts"])),
            }
    if highest_bid is None and live is None and not prefetched:
        highest_bid = _highest_from_pg(session, auction)
    if status == AuctionStatus.SCHEDULED and auction.go_live_at <= now < end:
        status = AuctionStatus.LIVE.value  # the window is the clock's; the ticker follows
    if bid_count is None:
        bid_count = (
            session.scalar(
                select(func.count())
                .select_from(Bid)
                .where(Bid.auction_id == auction.id, Bid.round == auction.round)
            )
            or 0
        )
    if counter is None and not prefetched:
        counter = session.scalars(
            select(CounterOffer).where(
                CounterOffer.auction_id == auction.id, CounterOffer.round == auction.round
            )
        ).first()
    highest_amount = Decimal(highest_bid["amount"]) if highest_bid else None
    body: dict[str, Any] = {
        "id": str(auction.id),
        "sellerId": str(auction.seller_id),
        "itemName": auction.item_name,
        "description": auction.description,
        "startPrice": money_str(auction.start_price),
        "bidIncrement": money_str(auction.bid_increment),
        "goLiveAt": iso(auction.go_live_at),
        "durationMins": auction.duration_mins,
        "endsAt": iso(end),
        "status": status,
        "highestBid": highest_bid_view(highest_bid) if highest_bid else None,
        "minNextBid": money_str(
            min_next_bid(auction.start_price, auction.bid_increment, highest_amount)
        ),
        "bidCount": int(bid_count),
        "counterOffer": (
            {"id": str(counter.id), "amount": money_str(counter.amount), "status": counter.status}
            if counter
            else None
        ),
        "serverTime": iso(now),
        "createdAt": iso(auction.created_at),
        "updatedAt": iso(auction.updated_at),
    }
    # The competitive rules appear only on auctions that use them ("absent means off").
    if auction.buy_now_price is not None:
        body["buyNowPrice"] = money_str(auction.buy_now_price)
    if auction.soft_close_secs is not None:
        body["softCloseSecs"] = auction.soft_close_secs
    if auction.reserve_price is not None:
        body["reserveMet"] = highest_amount is not None and highest_amount >= auction.reserve_price
        if viewer.user_id == str(auction.seller_id):  # never shown to anyone else
            body["reservePrice"] = money_str(auction.reserve_price)
    if status == AuctionStatus.SOLD and auction.winner_id is not None:
        body["winnerId"] = str(auction.winner_id)
        body["finalPrice"] = money_str(auction.final_price)
    if viewer.user_id and live is not None and live.my_max is not None:
        body["myMaxAmount"] = money_str(from_minor(live.my_max))
    return body


def read_auction(ctx: Context, auction_id: str, viewer: Viewer) -> dict[str, Any]:
    from shared.services import lifecycle

    with ctx.db.session() as session:
        auction = get_auction(session, auction_id)
    lifecycle.advance_if_due(ctx, auction)
    with ctx.db.session() as session:
        auction = get_auction(session, auction_id)
        live = None
        if auction.status in (AuctionStatus.SCHEDULED, AuctionStatus.LIVE) or viewer.user_id:
            live = read_live(ctx, str(auction.id), viewer.user_id)
        highest = None
        if auction.status not in (AuctionStatus.SCHEDULED, AuctionStatus.LIVE) and live:
            # Closed: PostgreSQL is the record; keep only the caller's own maximum from Redis.
            live = LiveState(None, None, None, live.my_max)
            highest = _highest_from_pg(session, auction)
        return view(session, ctx, auction, viewer, live=live, highest=highest)


# -- lists -------------------------------------------------------------------------------------


encode_cursor = cursors.encode
decode_cursor = cursors.decode


def _after_cursor(query: Select[Any], cursor: str | None) -> Select[Any]:
    if not cursor:
        return query
    created_text, id_text = decode_cursor(cursor, 2)
    created, after_id = cursors.moment(created_text), cursors.identifier(id_text)
    return query.where(
        or_(
            Auction.created_at < created,
            and_(Auction.created_at == created, Auction.id < after_id),
        )
    )


def _shown_as(status: str, now: datetime) -> ColumnElement[bool]:
    """The filter for the status a list shows: a scheduled auction whose window has opened is
    shown (and so found) as live before the ticker has moved it."""
    window_open = (
        (Auction.status == AuctionStatus.SCHEDULED)
        & (Auction.go_live_at <= now)
        & (Auction.ends_at > now)
    )
    if status == AuctionStatus.LIVE:
        return (Auction.status == AuctionStatus.LIVE) | window_open
    if status == AuctionStatus.SCHEDULED:
        return (Auction.status == AuctionStatus.SCHEDULED) & ~window_open
    return Auction.status == status


def list_auctions(
    ctx: Context,
    viewer: Viewer,
    *,
    status: str | None,
    limit: int,
    cursor: str | None,
    seller_id: str | None = None,
) -> dict[str, Any]:
    with ctx.db.session() as session:
        query = select(Auction)
        if status:
            query = query.where(_shown_as(status, ctx.clock()))
        if seller_id:
            query = query.where(Auction.seller_id == uuid.UUID(seller_id))
        query = _after_cursor(query, cursor)
        rows = session.scalars(
            query.order_by(Auction.created_at.desc(), Auction.id.desc()).limit(limit + 1)
        ).all()
        page = list(rows[:limit])
        ids = [a.id for a in page]
        counts: dict[uuid.UUID, int] = {}
        tops: dict[uuid.UUID, dict[str, Any]] = {}
        counters: dict[uuid.UUID, CounterOffer] = {}
        if ids:
            rounds = {a.id: a.round for a in page}
            for auction_id, round_, count in session.execute(
                select(Bid.auction_id, Bid.round, func.count())
                .where(Bid.auction_id.in_(ids))
                .group_by(Bid.auction_id, Bid.round)
            ):
                if rounds[auction_id] == round_:
                    counts[auction_id] = count
            for bid in session.scalars(
                select(Bid)
                .where(Bid.auction_id.in_(ids))
                .distinct(Bid.auction_id)
                .order_by(Bid.auction_id, Bid.round.desc(), Bid.amount.desc(), Bid.seq.desc())
            ):
                if rounds[bid.auction_id] == bid.round:
                    tops[bid.auction_id] = bid_view(bid)
            for offer in session.scalars(
                select(CounterOffer).where(CounterOffer.auction_id.in_(ids))
            ):
                if rounds[offer.auction_id] == offer.round:
                    counters[offer.auction_id] = offer
        items = [
            view(
                session,
                ctx,
                a,
                viewer,
                live=None,
                bid_count=counts.get(a.id, 0),
                highest=tops.get(a.id),
                counter=counters.get(a.id),
                prefetched=True,
            )
            for a in page
        ]
        next_cursor = (
            encode_cursor(page[-1].created_at.isoformat(), str(page[-1].id))
            if len(rows) > limit
            else None
        )
        return {"items": items, "nextCursor": next_cursor}


def list_bids(ctx: Context, auction_id: str, *, limit: int, cursor: str | None) -> dict[str, Any]:
    """Bids of the current round, highest first."""
    with ctx.db.session() as session:
        auction = get_auction(session, auction_id)
        query = select(Bid).where(Bid.auction_id == auction.id, Bid.round == auction.round)
        if cursor:
            amount_text, seq_text = decode_cursor(cursor, 2)
            amount, seq = cursors.amount(amount_text), cursors.sequence(seq_text)
            query = query.where(or_(Bid.amount < amount, and_(Bid.amount == amount, Bid.seq < seq)))
        rows = session.scalars(
            query.order_by(Bid.amount.desc(), Bid.seq.desc()).limit(limit + 1)
        ).all()
        page = rows[:limit]
        next_cursor = (
            encode_cursor(str(page[-1].amount), str(page[-1].seq)) if len(rows) > limit else None
        )
        return {"items": [bid_view(b) for b in page], "nextCursor": next_cursor}
