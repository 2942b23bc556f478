"""Whether everyone agrees on how an auction ended: the record, the bid store, the room.

An auction decided without a bid it accepted is the failure the last second invites (a bid
that arrived in time reaches the bid script after the end transition read the winner), so the
tests of the end read every place the outcome is said and list what disagrees.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import orjson
import redis
from sqlalchemy import select

from shared.adapters import keys
from shared.adapters.orm import Auction, Bid
from shared.domain.money import from_minor
from shared.services.context import Context
from tests.support.streams import room_events


def disagreements(ctx: Context, auction_id: uuid.UUID, accepted: dict[str, Decimal]) -> list[str]:
    """What disagrees about the ended auction `auction_id`, given the bids answered 201
    (id -> amount): each such bid in PostgreSQL; the decided highest bid the highest stored
    bid of the round and no 201 bid above it; Redis's highest the same bid; the room told
    the same in exactly one `auction:ended`. Empty when all agree."""
    wrong: list[str] = []
    with ctx.db.session() as session:
        auction = session.get_one(Auction, auction_id)
        bids = session.scalars(
            select(Bid).where(Bid.auction_id == auction_id, Bid.round == auction.round)
        ).all()
        status, decided = auction.status, auction.highest_bid_id
    stored = {str(b.id): b for b in bids}
    if status in ("scheduled", "live"):
        return [f"the auction is still {status}"]
    wrong += [f"bid {bid_id} answered 201 is not stored" for bid_id in accepted.keys() - stored]
    top = max(bids, key=lambda b: (b.amount, b.seq), default=None)  # a tying answer ranks first
    decided_id = str(decided) if decided else None
    if (str(top.id) if top else None) != decided_id:
        wrong.append(f"decided on {decided_id}, the highest stored bid is {top and top.id}")
    decided_amount = stored[decided_id].amount if decided_id in stored else Decimal(0)
    wrong += [
        f"bid {bid_id} of {amount} answered 201 is above the decided {decided_amount}"
        for bid_id, amount in accepted.items()
        if amount > decided_amount
    ]
    client = redis.Redis.from_url(ctx.settings.redis_url or "")
    try:
        raw = client.get(keys.highest(str(auction_id)))
    finally:
        client.close()
    in_redis = orjson.loads(raw) if raw else None
    if (in_redis["bidId"] if in_redis else None) != decided_id:
        wrong.append(f"Redis's highest is {in_redis}, the record's {decided_id}")
    elif in_redis and from_minor(in_redis["amount"]) != decided_amount:
        wrong.append(f"Redis's highest amount {in_redis['amount']} != {decided_amount}")
    ended = [e for e in room_events(ctx, auction_id, relay=True) if e["type"] == "auction:ended"]
    if len(ended) != 1:
        wrong.append(f"the room heard {len(ended)} auction:ended events")
    else:
        told = ended[0]["data"]["highestBid"]
        if (told["id"] if told else None) != decided_id:
            wrong.append(f"the room was told {told}, the record says {decided_id}")
    return wrong
