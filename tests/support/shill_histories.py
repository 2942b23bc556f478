"""Generated auction histories with planted shills, for the shill signals' tests and figures.

A seeded simulation of sellers' auctions and the people who bid on them, as a real site sees
them. Honest bidders come in four habits: casual (a few auctions of anyone), fans (most of
one seller's auctions, and they win some), bargain hunters (late, always the bare minimum)
and eager bidders (early, with jumps). Each bids up to a private valuation, answers being
outbid after a while, and the highest honest bid wins. Planted shills work for one seller:
they join most of that seller's auctions, bid early at the minimum, answer a rival within
seconds to keep the price climbing, and stop below their target so that a real bidder buys
(when one is left on top, the seller rejects the bid: the auction closes without a winner).
Some shills are subtle (fewer auctions, fewer quick answers, and cover bids elsewhere). A
share of the shills share a network or device with their seller, and so do a few honest
pairs (the same provider's address block).

The truth is `History.shills`: the (bidder, seller) pairs planted.
"""

from __future__ import annotations

import heapq
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from shared.domain.trust import AuctionFacts, BidFacts
from shared.services.context import Context

HONEST_HABITS = ("casual", "fan", "bargain", "eager")


@dataclass
class History:
    sellers: list[str]
    bidders: dict[str, str]  # id -> habit ("shill", "subtle_shill" or an honest habit)
    auctions: list[AuctionFacts]
    bids: list[BidFacts]
    shills: set[tuple[str, str]]  # (bidder, seller) planted
    shared_networks: dict[tuple[str, str], int] = field(default_factory=dict)
    shared_devices: dict[tuple[str, str], int] = field(default_factory=dict)

    def pairs(self) -> set[tuple[str, str]]:
        seller_of = {a.id: a.seller_id for a in self.auctions}
        return {(b.bidder_id, seller_of[b.auction_id]) for b in self.bids}


@dataclass
class _Bidder:
    id: str
    habit: str
    favourite: str | None = None  # a fan's seller, a shill's employer


def _uid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def generate(
    seed: int,
    *,
    sellers: int = 8,
    honest: int = 60,
    shills: int = 8,
    subtle_shills: int = 3,
    now: datetime | None = None,
) -> History:
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    seller_ids = [_uid(rng) for _ in range(sellers)]
    people: list[_Bidder] = []
    for i in range(honest):
        habit = HONEST_HABITS[0] if i % 10 < 5 else HONEST_HABITS[1 + i % 3]
        people.append(_Bidder(_uid(rng), habit, rng.choice(seller_ids)))
    planted: set[tuple[str, str]] = set()
    for i in range(shills + subtle_shills):
        employer = seller_ids[i % len(seller_ids)]
        habit = "shill" if i < shills else "subtle_shill"
        person = _Bidder(_uid(rng), habit, employer)
        people.append(person)
        planted.add((person.id, employer))

    auctions: list[AuctionFacts] = []
    bids: list[BidFacts] = []
    for seller in seller_ids:
        for _ in range(rng.randint(6, 14)):
            auction, auction_bids = _auction(rng, seller, people, now)
            auctions.append(auction)
            bids.extend(auction_bids)

    history = History(seller_ids, {p.id: p.habit for p in people}, auctions, bids, planted, {}, {})
    # Networks and devices: 40% of the shills share one with their seller; about 3% of the
    # honest pairs share an address block (one provider's customers).
    for pair in sorted(history.pairs()):
        if pair in planted:
            if rng.random() < 0.4:
                if rng.random() < 0.5:
                    history.shared_networks[pair] = 1
                else:
                    history.shared_devices[pair] = 1
        elif rng.random() < 0.03:
            history.shared_networks[pair] = 1
    return history


def _joins(rng: random.Random, p: _Bidder, seller: str) -> bool:
    own = p.favourite == seller
    chance = {
        "casual": 0.08,
        "fan": 0.65 if own else 0.04,
        "bargain": 0.12,
        "eager": 0.10,
        "shill": 0.85 if own else 0.0,
        "subtle_shill": 0.55 if own else 0.05,
    }[p.habit]
    return rng.random() < chance


def _auction(
    rng: random.Random, seller: str, people: list[_Bidder], now: datetime
) -> tuple[AuctionFacts, list[BidFacts]]:
    auction_id = _uid(rng)
    duration_mins = rng.choice((30, 60, 120, 1440))
    window = duration_mins * 60
    go_live = now - timedelta(days=rng.uniform(2, 300))
    start = Decimal(rng.randrange(100, 1000, 10))
    increment = Decimal(10)
    joined = [p for p in people if _joins(rng, p, seller)]
    working_for_seller = {
        p.id for p in joined if p.habit in ("shill", "subtle_shill") and p.favourite == seller
    }
    value: dict[str, Decimal] = {}
    for p in joined:
        if p.id in working_for_seller:
            value[p.id] = (start * Decimal(rng.uniform(1.3, 2.2))).quantize(Decimal(1))
        else:
            value[p.id] = (start * Decimal(rng.uniform(1.0, 3.0))).quantize(Decimal(1))

    # (second, tie-breaker, bidder id): who acts when.
    queue: list[tuple[int, int, str]] = []
    order = 0

    def plan(at: float, who: str) -> None:
        nonlocal order
        if 0 <= at < window:
            order += 1
            heapq.heappush(queue, (int(at), order, who))

    habit = {p.id: p.habit for p in joined}
    for p in joined:
        entry = {
            "casual": rng.uniform(0.1, 1.0),
            "fan": rng.uniform(0.15, 1.0),
            "bargain": rng.uniform(0.75, 1.0),
            "eager": rng.uniform(0.0, 0.2),
            "shill": rng.uniform(0.0, 0.12),
            "subtle_shill": rng.uniform(0.0, 0.4),
        }[p.habit]
        plan(entry * window, p.id)

    rows: list[BidFacts] = []
    high: Decimal | None = None
    leader: str | None = None
    present: set[str] = set()  # who has come to the auction (only they answer bids)
    while queue:
        at, _, who = heapq.heappop(queue)
        present.add(who)
        minimum = start if high is None else high + increment
        if who == leader or minimum > value[who]:
            continue
        kind = habit[who]
        if kind in ("bargain", "shill") or (kind == "subtle_shill" and rng.random() < 0.6):
            amount = minimum
        else:
            jump = 0 if rng.random() < 0.5 else rng.randint(1, 3)
            amount = min(value[who], minimum + jump * increment)
            amount = max(amount, minimum)
        rows.append(
            BidFacts(
                auction_id=auction_id,
                round=1,
                seq=len(rows) + 1,
                bidder_id=who,
                amount=amount,
                is_proxy=False,
                at=go_live + timedelta(seconds=at),
            )
        )
        high, leader = amount, who
        # Everyone else may answer: honest people after a while, a shill within seconds.
        for other in sorted(present):
            if other == who:
                continue
            other_kind = habit[other]
            if other in working_for_seller:
                quick = 0.85 if other_kind == "shill" else 0.45
                if rng.random() < quick:
                    plan(at + rng.uniform(3, 45), other)
            elif rng.random() < 0.45:
                delay = rng.uniform(20, 900) if other_kind != "bargain" else rng.uniform(0, 300)
                plan(at + delay, other)

    if not rows:
        status, winner = "closed_no_winner", None
    elif leader in working_for_seller:
        status, winner = "closed_no_winner", None  # the seller rejects their own shill's bid
    elif rng.random() < 0.1:
        status, winner = "closed_no_winner", None  # below the seller's hopes: rejected
    else:
        status, winner = "sold", leader
    auction = AuctionFacts(
        id=auction_id,
        seller_id=seller,
        status=status,
        winner_id=winner,
        round=1,
        go_live_at=go_live,
        duration_mins=duration_mins,
        start_price=start,
        increment=increment,
    )
    return auction, rows


def store(ctx: Context, history: History) -> None:
    """Write the history into PostgreSQL as the system would have recorded it: its people,
    auctions (settled as generated) and bids; and the shared sources as source marks."""
    from sqlalchemy import insert

    from shared.adapters.orm import Auction, Bid, SourceMark, User

    people = [*history.sellers, *history.bidders]
    with ctx.db.session() as session:
        session.execute(
            insert(User),
            [
                {
                    "id": uuid.UUID(p),
                    "email": f"{p[:8]}@example.com",
                    "name": f"Person {p[:4]}",
                    "role": "seller" if p in history.sellers else "buyer",
                }
                for p in people
            ],
        )
        last_bid: dict[str, BidFacts] = {}
        for b in history.bids:
            last_bid[b.auction_id] = b
        session.execute(
            insert(Auction),
            [
                {
                    "id": uuid.UUID(a.id),
                    "seller_id": uuid.UUID(a.seller_id),
                    "item_name": f"Lot {a.id[:6]}",
                    "description": "",
                    "start_price": a.start_price,
                    "bid_increment": a.increment,
                    "go_live_at": a.go_live_at,
                    "duration_mins": a.duration_mins,
                    "ends_at": a.go_live_at + timedelta(minutes=a.duration_mins),
                    "status": a.status,
                    "round": a.round,
                    "winner_id": uuid.UUID(a.winner_id) if a.winner_id else None,
                    "final_price": last_bid[a.id].amount if a.winner_id else None,
                }
                for a in history.auctions
            ],
        )
        if history.bids:
            session.execute(
                insert(Bid),
                [
                    {
                        "id": uuid.uuid4(),
                        "auction_id": uuid.UUID(b.auction_id),
                        "bidder_id": uuid.UUID(b.bidder_id),
                        "amount": b.amount,
                        "round": b.round,
                        "seq": b.seq,
                        "is_proxy": b.is_proxy,
                        "created_at": b.at,
                    }
                    for b in history.bids
                ],
            )
        now = datetime.now(UTC)
        marks = []
        for n, pair in enumerate(sorted({*history.shared_networks, *history.shared_devices})):
            kind = "net" if pair in history.shared_networks else "device"
            value = f"{kind}-{n:04d}".ljust(32, "0")
            marks += [
                {
                    "user_id": uuid.UUID(u),
                    "kind": kind,
                    "hash": value,
                    "first_seen": now,
                    "last_seen": now,
                }
                for u in pair
            ]
        if marks:
            session.execute(insert(SourceMark), marks)
