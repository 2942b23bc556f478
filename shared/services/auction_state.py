"""An auction's state in Redis (what the bid script judges), written from the record in
PostgreSQL: at creation, on every status change, and whenever it is missing."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.adapters import keys
from shared.adapters.orm import Auction, Bid, ProxyMaximum
from shared.adapters.redis_store import load_script
from shared.domain.money import to_minor
from shared.domain.times import to_ms
from shared.services.context import Context


def state_fields(auction: Auction, seq: int) -> list[str | int]:
    fields: dict[str, str | int] = {
        "status": auction.status,
        "goLiveAt": to_ms(auction.go_live_at),
        "endsAt": to_ms(auction.ends_at),
        "startPrice": to_minor(auction.start_price),
        "increment": to_minor(auction.bid_increment),
        "reserve": to_minor(auction.reserve_price) if auction.reserve_price is not None else "",
        "buyNow": to_minor(auction.buy_now_price) if auction.buy_now_price is not None else "",
        "softClose": auction.soft_close_secs or "",
        "sellerId": str(auction.seller_id),
        "round": auction.round,
        "seq": seq,
    }
    flat: list[str | int] = []
    for name, value in fields.items():
        flat += [name, value]
    return flat


def highest_bid(session: Session, auction: Auction) -> Bid | None:
    return session.scalars(
        select(Bid)
        .where(Bid.auction_id == auction.id, Bid.round == auction.round)
        .order_by(Bid.amount.desc(), Bid.seq.desc())
        .limit(1)
    ).first()


def _record(session: Session, auction: Auction) -> tuple[str, str, list[str | int]]:
    top = highest_bid(session, auction)
    seq = session.scalar(select(func.max(Bid.seq)).where(Bid.auction_id == auction.id)) or 0
    maxima = session.scalars(
        select(ProxyMaximum).where(
            ProxyMaximum.auction_id == auction.id, ProxyMaximum.round == auction.round
        )
    ).all()
    proxies = {
        str(m.bidder_id): {"max": to_minor(m.max_amount), "at": to_ms(m.placed_at)} for m in maxima
    }
    highest = ""
    if top is not None:
        own = proxies.get(str(top.bidder_id))
        amount = to_minor(top.amount)
        leader_max = max(amount, own["max"]) if own else amount
        highest = json.dumps(
            {
                "bidId": str(top.id),
                "userId": str(top.bidder_id),
                "amount": amount,
                "ts": to_ms(top.created_at),
                "max": leader_max,
                "maxAt": own["at"] if own else to_ms(top.created_at),
            }
        )
    return highest, json.dumps(proxies) if proxies else "", state_fields(auction, seq)


def seed(ctx: Context, session: Session, auction: Auction, *, force: bool = False) -> bool:
    """Write the Redis state of `auction` from PostgreSQL (when missing, or always if `force`)."""
    aid = str(auction.id)
    highest, proxies, fields = _record(session, auction)
    written = ctx.store.script(
        load_script("seed_state"),
        [
            keys.state(aid),
            keys.highest(aid),
            keys.proxies(aid),
            keys.SCHEDULE_START,
            keys.SCHEDULE_END,
        ],
        [aid, 1 if force else 0, highest, proxies, *fields],
    )
    return bool(written)


def rebuild(ctx: Context, auction_id: uuid.UUID) -> bool:
    """Rebuild a missing state from PostgreSQL. False when there is no such auction."""
    with ctx.db.session() as session:
        auction = session.get(Auction, auction_id)
        if auction is None:
            return False
        seed(ctx, session, auction)
        return True


def read_state(ctx: Context, auction_id: str) -> dict[str, Any]:
    """The raw state hash (empty when missing)."""
    from shared.adapters.redis_store import hash_to_dict

    return hash_to_dict(ctx.store.command("HGETALL", keys.state(auction_id)))
