"""Routes for `make bench` only: the HTTP floor, and the common peer design the bid path is
measured against. They are no part of the shipped app: `bench.api_server` mounts them on the
app it serves (an environment switch in functions/app.py once registered them wherever
APP_ENV was unset, and unset means production).

The peer design is what most auction projects do (fishauctions, for one): lock the auction
row, read the highest bid, check, insert, update, commit. It is correct, and it serialises
every bid of an auction on that row lock, holding it across each round trip to PostgreSQL.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from chalice import Blueprint
from chalicelib import runtime
from chalicelib.operations import Call, operation
from chalicelib.schemas import AuctionList, AuctionSearchQuery, MoneyText, Out, PlaceBid
from sqlalchemy import or_, select

from shared.adapters.orm import Auction, Bid
from shared.domain.errors import DomainError
from shared.domain.money import money_str
from shared.services import auctions

bp = Blueprint(__name__)


class BenchAck(Out):
    ok: bool


class BenchBid(Out):
    id: str
    amount: MoneyText
    minNextBid: MoneyText


@operation(
    bp,
    "POST",
    "/bench/noop",
    summary="The HTTP floor: parses a bid body, does nothing",
    tag="bench",
    auth="required",
    body=PlaceBid,
    response=BenchAck,
    rate_limited=False,
    # As the bid route: a bid's suspension check rides the bid script's own round trip, so the
    # floor under a bid makes no Redis call of its own (with one, the "floor" measured a REST
    # round trip to the bridge).
    suspension_checked_by_view=True,
)
def noop(call: Call) -> dict[str, Any]:
    return {"ok": True}


@operation(
    bp,
    "POST",
    "/bench/rowlock/{auction_id}/bids",
    summary="The peer design: SELECT ... FOR UPDATE bid path",
    tag="bench",
    auth="required",
    body=PlaceBid,
    response=BenchBid,
    status=201,
    rate_limited=False,
)
def rowlock_bid(call: Call) -> dict[str, Any]:
    body: PlaceBid = call.body
    amount = body.amount or body.maxAmount
    auction_id = uuid.UUID(call.params["auction_id"])
    ctx = runtime.context()
    with ctx.db.session() as session:
        auction = session.scalars(
            select(Auction).where(Auction.id == auction_id).with_for_update()
        ).first()
        if auction is None:
            raise DomainError("not_found")
        now = datetime.now(UTC)
        if not auction.go_live_at <= now < auction.ends_at:
            raise DomainError("auction_not_live")
        top = None
        if auction.highest_bid_id is not None:
            top = session.get(Bid, auction.highest_bid_id)
        floor = auction.start_price if top is None else top.amount + auction.bid_increment
        assert amount is not None
        if amount < floor:
            raise DomainError("bid_too_low", minNextBid=money_str(floor))
        if top is not None and str(top.bidder_id) == call.user.user_id:
            raise DomainError("already_highest")
        bid = Bid(
            id=uuid.uuid4(),
            auction_id=auction.id,
            bidder_id=uuid.UUID(call.user.user_id),
            amount=amount,
            round=auction.round,
            seq=(top.seq + 1) if top else 1,
            created_at=now,
        )
        session.add(bid)
        session.flush()
        auction.highest_bid_id = bid.id
        return {
            "id": str(bid.id),
            "amount": money_str(amount),
            "minNextBid": money_str(amount + auction.bid_increment),
        }


@operation(
    bp,
    "GET",
    "/bench/search-ilike",
    summary="The common peer search: ILIKE '%word%' over name and description, same render",
    tag="bench",
    query=AuctionSearchQuery,
    response=AuctionList,
)
def search_ilike(call: Call) -> dict[str, Any]:
    q: AuctionSearchQuery = call.query
    ctx = runtime.context()
    pattern = f"%{q.q or ''}%"
    key = Auction.current_price if q.sort == "price_asc" else Auction.created_at
    with ctx.db.session() as session:
        query = select(Auction.id).where(
            or_(Auction.item_name.ilike(pattern), Auction.description.ilike(pattern))
        )
        if q.category:
            query = query.where(Auction.category == q.category)
        ids = list(session.scalars(query.order_by(key, Auction.id).limit(q.limit)))
    # The same rendering as the full-text list's (auctions.render_ids).
    return {"items": auctions.render_ids(ctx, call.viewer, ids), "nextCursor": None}
