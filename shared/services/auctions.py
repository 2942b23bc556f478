"""Auctions: create, read and list them (reads never change anything: the window is the
clock's, so a read shows an overdue auction as its window says, and the ticker moves it)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.adapters import auction_reads, keys
from shared.adapters.orm import Auction, Bid, User
from shared.adapters.redis_records import AuctionState, HighestBid
from shared.adapters.redis_store import StoreError, StoreUnavailable, hash_to_dict
from shared.domain import cursors
from shared.domain.auctions import AuctionDraft, check_draft, ends_at
from shared.domain.errors import DomainError
from shared.domain.marketplace import public_name
from shared.domain.principal import Viewer
from shared.domain.times import from_ms, iso
from shared.domain.vocabulary import OPEN_STATUSES, AuctionStatus, Role
from shared.services import (
    auction_state,
    blocks,
    ending_soon,
    media,
    records,
    search,
    watchlist,
)
from shared.services.context import Context
from shared.services.views import (
    LiveState,
    auction_view,
    bid_view,
    delivery_view,
    dispute_view,
)

log = logging.getLogger(__name__)


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
            category=draft.category,
            shipping_method=draft.shipping_method,
            shipping_cost=draft.shipping_cost,
            pickup_city=draft.pickup_city,
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
            ending_soon.place(ctx, auction)
            blocks.ensure_loaded(ctx, seller_id)
        except (StoreUnavailable, StoreError) as exc:
            # The first bid rebuilds the state, and the ticker's sweep finds the schedule.
            log.warning("auction %s created without Redis state: %s", auction.id, exc)
        return _with_extras(
            auction_view(
                auction,
                Viewer(seller_id, Role.SELLER),
                ctx.clock(),
                highest=None,
                bid_count=0,
                counter=None,
            ),
            Extras(images=[], watchers=0, watching=False),
        )


def read_live(ctx: Context, auction_id: str, user_id: str | None) -> LiveState | None:
    """The open auction as Redis has it (rebuilt from PostgreSQL when missing); None when
    Redis cannot be read (the record alone answers)."""
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
    state = AuctionState.from_hash(hash_to_dict(replies[0]))
    if state is None:
        if not auction_state.rebuild(ctx, uuid.UUID(auction_id)):
            return None
        return read_live(ctx, auction_id, user_id)
    mine = orjson.loads(replies[2]) if user_id and replies[2] else None
    return LiveState(
        status=state.status,
        ends_at=from_ms(state.ends_ms),
        highest=HighestBid.from_json(replies[1]),
        my_max=int(mine["max"]) if mine else None,
    )


def _bid_count(session: Session, auction: Auction) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Bid)
            .where(Bid.auction_id == auction.id, Bid.round == auction.round)
        )
        or 0
    )


def _after_sale(session: Session, auction: Auction, viewer: Viewer) -> dict[str, Any]:
    """What an auction shows after its hammer: the current sale (for `payment`), the buyer's
    public name, and the offer `viewer` may see, when they apply; to the sale's buyer, its
    seller and admins, the sale's `delivery` and its `dispute` (a refunded sale's too)."""
    shown: dict[str, Any] = {"offer": records.offer_shown_to(session, auction, viewer)}
    invoice = None
    if auction.status == AuctionStatus.SOLD:
        invoice = records.current_invoice(session, auction.id)
        shown["invoice"] = invoice
        buyer = session.get(User, auction.winner_id) if auction.winner_id else None
        shown["winner_name"] = public_name(buyer.name, str(buyer.id)) if buyer else None
    if viewer.user_id is None:
        return shown
    dispute = records.dispute_of(session, auction.id)
    parties = {str(auction.seller_id)}
    if invoice is not None:
        parties.add(str(invoice.buyer_id))
    if dispute is not None:
        parties.add(str(dispute.buyer_id))
    if viewer.user_id not in parties and not viewer.is_admin:
        return shown
    if invoice is not None:
        shown["delivery"] = delivery_view(invoice)
    if dispute is not None:
        credit = records.credit_note_of(session, dispute.invoice_id)
        shown["dispute"] = dispute_view(
            dispute,
            records.replies_of(session, dispute.id),
            auction.item_name,
            credit.number if credit else None,
        )
    return shown


def view_of(session: Session, ctx: Context, auction: Auction, viewer: Viewer) -> dict[str, Any]:
    """The auction as the record has it now (after a change: no Redis read)."""
    top = records.highest_bid(session, auction)
    return _with_extras(
        auction_view(
            auction,
            viewer,
            ctx.clock(),
            highest=bid_view(top) if top else None,
            bid_count=_bid_count(session, auction),
            counter=records.counter_of(session, auction),
            **_after_sale(session, auction, viewer),
        ),
        extras_of(session, ctx, [auction.id], viewer)[auction.id],
    )


# After the hammer an auction shows its sale's payment, its buyer's name and the offers the
# viewer may see: read through the ORM (these are not the busy reads).
_AFTER_SALE = (AuctionStatus.SOLD.value, AuctionStatus.CLOSED_NO_WINNER.value)


def read_auction(ctx: Context, auction_id: str, viewer: Viewer) -> dict[str, Any]:
    """One auction as the viewer sees it: one statement on the hot lane (and, while it is
    open, one Redis round trip for what Redis knows better)."""
    found = auction_reads.read_auction(
        ctx.db.lane, records.auction_id_of(auction_id), viewer.user_id
    )
    if found is None:
        raise DomainError("not_found", "No such auction")
    auction = found.auction
    if auction.status in _AFTER_SALE:
        return _read_through_the_record(ctx, auction_id, viewer)
    live = None
    if auction.status in OPEN_STATUSES or viewer.user_id:
        live = read_live(ctx, str(auction.id), viewer.user_id)
    top = found.highest
    if auction.status in OPEN_STATUSES and live is not None:
        top = None  # Redis holds the newest highest
    if auction.status not in OPEN_STATUSES and live is not None:
        # Closed: PostgreSQL is the record; keep only the caller's own maximum from Redis.
        live = LiveState(None, None, None, live.my_max)
    store = media.store_for(ctx.settings)
    return _with_extras(
        auction_view(
            auction,
            viewer,
            ctx.clock(),
            highest=bid_view(top) if top else None,
            bid_count=auction.bid_count,
            counter=found.counter,
            live=live,
        ),
        Extras(
            images=[media.image_view(image, store) for image in found.images],
            watchers=found.watchers,
            watching=found.watching if viewer.user_id else None,
        ),
    )


def _read_through_the_record(ctx: Context, auction_id: str, viewer: Viewer) -> dict[str, Any]:
    with ctx.db.session() as session:
        auction = records.get_auction(session, auction_id)
        live = None
        if auction.status in OPEN_STATUSES or viewer.user_id:
            live = read_live(ctx, str(auction.id), viewer.user_id)
        top = None  # while open and readable, Redis holds the newest highest
        if auction.status not in OPEN_STATUSES or live is None:
            top = records.highest_bid(session, auction)
        if auction.status not in OPEN_STATUSES and live is not None:
            # Closed: PostgreSQL is the record; keep only the caller's own maximum from Redis.
            live = LiveState(None, None, None, live.my_max)
        return _with_extras(
            auction_view(
                auction,
                viewer,
                ctx.clock(),
                highest=bid_view(top) if top else None,
                bid_count=_bid_count(session, auction),
                counter=records.counter_of(session, auction),
                **_after_sale(session, auction, viewer),
                live=live,
            ),
            extras_of(session, ctx, [auction.id], viewer)[auction.id],
        )


# -- lists -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Extras:
    """What the marketplace adds to an auction object."""

    images: list[dict[str, Any]]
    watchers: int
    watching: bool | None  # None for an anonymous reader (the member is then absent)


def extras_of(
    session: Session, ctx: Context, ids: list[uuid.UUID], viewer: Viewer
) -> dict[uuid.UUID, Extras]:
    images = media.images_of(session, ctx, ids)
    counts = watchlist.counts(session, ids)
    mine = watchlist.watched_by(session, ids, viewer.user_id) if viewer.user_id else set()
    return {
        aid: Extras(
            images=images.get(aid, []),
            watchers=counts.get(aid, 0),
            watching=(aid in mine) if viewer.user_id else None,
        )
        for aid in ids
    }


def _with_extras(body: dict[str, Any], extras: Extras | None) -> dict[str, Any]:
    if extras is not None:
        body["images"] = extras.images
        body["watchers"] = extras.watchers
        if extras.watching is not None:
            body["watching"] = extras.watching
    return body


def list_auctions(
    ctx: Context,
    viewer: Viewer,
    *,
    limit: int,
    cursor: str | None,
    criteria: search.Criteria | None = None,
    status: str | None = None,
) -> dict[str, Any]:
    """A page of auctions (`criteria`: filters and sort; `status` alone is the admin list)."""
    chosen = criteria or search.Criteria(status=status)
    ids, next_cursor = search.find(ctx.db.lane, ctx.clock(), chosen, limit=limit, cursor=cursor)
    return {"items": render_ids(ctx, viewer, ids), "nextCursor": next_cursor}


def render_ids(ctx: Context, viewer: Viewer, ids: list[uuid.UUID]) -> list[dict[str, Any]]:
    """Auction objects for a page of ids, in their order (one gone meanwhile is left out)."""
    found = render_by_id(ctx, viewer, ids)
    return [found[aid] for aid in ids if aid in found]


def render_by_id(
    ctx: Context, viewer: Viewer, ids: list[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Any]]:
    """Auction objects for a page of ids: one statement on the hot lane (the record alone: a
    page does not read Redis; each auction shows its sale's payment and buyer but no
    offers). Every list and personal page renders through here."""
    found = auction_reads.read_auctions(ctx.db.lane, ids, viewer.user_id)
    store = media.store_for(ctx.settings)
    now = ctx.clock()
    views = {}
    for aid, read in found.items():
        a = read.auction
        winner = public_name(read.winner_name or "", str(a.winner_id)) if a.winner_id else None
        views[aid] = _with_extras(
            auction_view(
                a,
                viewer,
                now,
                highest=bid_view(read.highest) if read.highest else None,
                bid_count=a.bid_count,
                counter=read.counter,
                invoice=read.payment,
                winner_name=winner,
            ),
            Extras(
                images=[media.image_view(image, store) for image in read.images],
                watchers=read.watchers,
                watching=read.watching if viewer.user_id else None,
            ),
        )
    return views


def list_bids(ctx: Context, auction_id: str, *, limit: int, cursor: str | None) -> dict[str, Any]:
    """Bids of the current round, highest first: one statement on the hot lane."""
    after = None
    if cursor:
        amount_text, seq_text = cursors.decode(cursor, 2)
        after = (cursors.amount(amount_text), cursors.sequence(seq_text))
    key = records.auction_id_of(auction_id)
    rows = auction_reads.read_history(ctx.db.lane, key, limit=limit + 1, after=after)
    if rows is None:
        raise DomainError("not_found", "No such auction")
    page = rows[:limit]
    next_cursor = (
        cursors.encode(str(page[-1].bid.amount), str(page[-1].seq)) if len(rows) > limit else None
    )
    return {
        "items": [
            {
                **bid_view(row.bid, public_name(row.bidder_name, str(row.bid.bidder_id))),
                "retractedAt": iso(row.retracted_at),
            }
            for row in page
        ],
        "nextCursor": next_cursor,
    }
