"""The bid rules as pure functions over integer minor units and epoch milliseconds.

`judge_bid` is the specification; `shared/adapters/lua/place_bid.lua` runs the same rules
atomically inside Redis (a differential property test holds the two together).

Proxy bids, eBay style. Only the leader can hold a live maximum above the visible price: every
other maximum was beaten when its owner lost the lead. So a new offer meets at most one proxy:
- a plain bid the leader's maximum can meet is answered at once by a proxy bid for the leader,
  at `min(leaderMax, bid + increment)`;
- a new maximum above the leader's takes the lead at `min(newMax, leaderMax + increment)`;
- a new maximum at or below the leader's is placed at its full value and answered as above;
- between equal maximums the earlier wins, so its answer may equal the bid it answers (the one
  case where a visible bid rises by less than the increment, always capped at a maximum).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from shared.domain import auctions
from shared.domain.vocabulary import OPEN_STATUSES, AuctionStatus

# A bid is judged at the moment it arrived (the gateway's stamp), not when it reaches the bid
# script: the last second of an auction is when functions start cold, and a bid that arrived
# in time must not lose to that delay. The stamp is trusted only within these bounds of the
# script's own clock: a clock up to a second ahead of Redis's is skew; further ahead, or older
# than any request can still be in flight (API Gateway gives up on an integration after 29 s),
# the stamp is not believed and the script's clock stands.
ARRIVAL_AHEAD_MS = 1_000
ARRIVAL_MAX_AGE_MS = 30_000
# The longest LATE_BID_GRACE_MS may be: the end transition waits this long after endsAt.
MAX_LATE_BID_GRACE_MS = 5_000


@dataclass(frozen=True)
class AuctionRules:
    start_price: int
    increment: int
    reserve: int | None = None
    buy_now: int | None = None
    soft_close_s: int | None = None
    seller_id: str = ""


@dataclass(frozen=True)
class Leader:
    user_id: str
    amount: int  # the visible price
    max_amount: int  # the leader's maximum (== amount for a plain bid)
    max_at: int  # when that maximum was set, epoch ms (the earlier of equal maximums wins)


@dataclass(frozen=True)
class Book:
    """What the bid rules need to know about one auction."""

    rules: AuctionRules
    status: AuctionStatus
    go_live_ms: int
    ends_ms: int
    leader: Leader | None = None
    # How long after endsAt a bid that arrived before it may still reach the script and be
    # judged (LATE_BID_GRACE_MS). The end transition closes the window at endsAt + grace.
    grace_ms: int = 0
    closed: bool = False  # the end transition closed the window: nothing more gets in
    blocked: frozenset[str] = frozenset()  # bidders the seller blocked (403 bidder_blocked)


@dataclass(frozen=True)
class Offer:
    user_id: str
    amount: int  # a plain bid's amount, or a proxy bid's maximum
    is_max: bool
    now_ms: int  # the bid script's clock when it judges the offer
    allow_self_outbid: bool = False
    arrived_ms: int | None = None  # the gateway's arrival stamp, when there is one

    @property
    def moment(self) -> int:
        """When the offer is judged to have been made (see `arrival_moment`)."""
        return arrival_moment(self.now_ms, self.arrived_ms)


@dataclass(frozen=True)
class PlacedBid:
    user_id: str
    amount: int
    is_proxy: bool  # placed by the system for a maximum


@dataclass(frozen=True)
class Accepted:
    bids: tuple[PlacedBid, ...]
    book: Book  # the book after the offer
    buy_now: bool = False
    outbid: tuple[str, ...] = field(default=())  # users who lost the lead in this offer


@dataclass(frozen=True)
class Refused:
    code: str  # a problem code from shared.domain.errors.PROBLEMS
    min_next: int | None = None


def min_next_bid(rules: AuctionRules, leader: Leader | None) -> int:
    return auctions.min_next_bid(
        rules.start_price, rules.increment, leader.amount if leader else None
    )


def reserve_met(rules: AuctionRules, leader: Leader | None) -> bool | None:
    """None when the auction has no reserve."""
    return auctions.reserve_met(rules.reserve, leader.amount if leader else None)


def buy_now_open(rules: AuctionRules, leader: Leader | None) -> bool:
    """Buy-now stands until the first bid, or, with a reserve, until the reserve is met."""
    if rules.buy_now is None or rules.buy_now < min_next_bid(rules, leader):
        return False
    if rules.reserve is None:
        return leader is None
    return leader is None or leader.amount < rules.reserve


def arrival_moment(now_ms: int, arrived_ms: int | None) -> int:
    """The moment an offer is judged at: its arrival stamp when that is believable (not more
    than ARRIVAL_AHEAD_MS ahead of the script's clock, not older than ARRIVAL_MAX_AGE_MS),
    else the script's clock. A missing stamp is the script's clock too."""
    if arrived_ms is None:
        return now_ms
    if arrived_ms > now_ms + ARRIVAL_AHEAD_MS or arrived_ms < now_ms - ARRIVAL_MAX_AGE_MS:
        return now_ms
    return arrived_ms


def is_open(book: Book, moment_ms: int, now_ms: int | None = None) -> bool:
    """The window is the clock's, not the ticker's: an offer made in [goLiveAt, endsAt) is
    judged on the rules if it reaches the script before endsAt + grace and before the end
    transition closed the window. `now_ms`: the script's clock (default: the moment)."""
    now = moment_ms if now_ms is None else now_ms
    return (
        book.status in OPEN_STATUSES
        and not book.closed
        and book.go_live_ms <= moment_ms < book.ends_ms
        and now < book.ends_ms + book.grace_ms
    )


def extended_end(rules: AuctionRules, ends_ms: int, now_ms: int) -> int:
    """Soft close: a bid with fewer than softCloseSecs left moves the end to now + softCloseSecs."""
    if not rules.soft_close_s:
        return ends_ms
    window = rules.soft_close_s * 1000
    return now_ms + window if ends_ms - now_ms < window else ends_ms


def judge_bid(book: Book, offer: Offer) -> Accepted | Refused:
    """Judge `offer` at its moment (its arrival, see `arrival_moment`): the window, the soft
    close and the time a maximum was set all go by it."""
    rules, leader, now = book.rules, book.leader, offer.moment
    if offer.user_id == rules.seller_id:
        return Refused("own_auction")
    if offer.user_id in book.blocked:
        return Refused("bidder_blocked")
    if not is_open(book, now, offer.now_ms):
        return Refused("auction_not_live")
    floor = min_next_bid(rules, leader)

    if leader is not None and leader.user_id == offer.user_id:
        if offer.is_max:
            if offer.amount <= leader.max_amount:
                return Refused("bid_too_low", max(floor, leader.max_amount + 1))
            if buy_now_open(rules, leader) and offer.amount >= (rules.buy_now or 0):
                return _buy_now(book, offer)
            raised = replace(leader, max_amount=offer.amount, max_at=now)
            return Accepted(bids=(), book=replace(book, leader=raised))
        if not offer.allow_self_outbid:
            return Refused("already_highest")

    if offer.amount < floor:
        return Refused("bid_too_low", floor)
    if buy_now_open(rules, leader) and offer.amount >= (rules.buy_now or 0):
        return _buy_now(book, offer)

    rival = leader if leader is not None and leader.user_id != offer.user_id else None
    if offer.is_max:
        # (a leader's own maximum was handled above, so here rival is None means no bids yet)
        if rival is None:
            new_leader = Leader(offer.user_id, floor, offer.amount, now)
            bids: tuple[PlacedBid, ...] = (PlacedBid(offer.user_id, floor, True),)
        elif offer.amount > rival.max_amount:
            price = min(offer.amount, rival.max_amount + rules.increment)
            new_leader = Leader(offer.user_id, price, offer.amount, now)
            bids = (PlacedBid(offer.user_id, price, True),)
        else:
            answer = min(rival.max_amount, offer.amount + rules.increment)
            new_leader = replace(rival, amount=answer)
            bids = (
                PlacedBid(offer.user_id, offer.amount, True),
                PlacedBid(rival.user_id, answer, True),
            )
    else:
        if rival is not None and rival.max_amount >= offer.amount:
            answer = min(rival.max_amount, offer.amount + rules.increment)
            new_leader = replace(rival, amount=answer)
            bids = (
                PlacedBid(offer.user_id, offer.amount, False),
                PlacedBid(rival.user_id, answer, True),
            )
        else:
            own_max = offer.amount
            if leader is not None and leader.user_id == offer.user_id:
                own_max = max(offer.amount, leader.max_amount)
            new_leader = Leader(offer.user_id, offer.amount, own_max, now)
            bids = (PlacedBid(offer.user_id, offer.amount, False),)

    losers = {b.user_id for b in bids}
    if leader is not None:
        losers.add(leader.user_id)
    losers.discard(new_leader.user_id)
    after = replace(book, leader=new_leader, ends_ms=extended_end(rules, book.ends_ms, now))
    return Accepted(bids=bids, book=after, outbid=tuple(sorted(losers)))


def _buy_now(book: Book, offer: Offer) -> Accepted:
    price = book.rules.buy_now or 0
    leader = Leader(offer.user_id, price, price, offer.moment)
    previous = book.leader.user_id if book.leader else None
    # The auction ends when the buy-now bid is judged (the script's clock), never earlier than
    # the end it had (a bid judged in the grace after endsAt does not move the end back).
    after = replace(
        book, leader=leader, status=AuctionStatus.SOLD, ends_ms=min(book.ends_ms, offer.now_ms)
    )
    return Accepted(
        bids=(PlacedBid(offer.user_id, price, False),),
        book=after,
        buy_now=True,
        outbid=(previous,) if previous and previous != offer.user_id else (),
    )


@dataclass(frozen=True)
class Bucket:
    tokens: float
    at_ms: int


def take_token(
    bucket: Bucket | None, now_ms: int, per_second: float, burst: int
) -> tuple[Bucket, int | None]:
    """Token bucket: the refreshed bucket, and None when a token was taken, else the seconds
    to wait (for `Retry-After`)."""
    tokens = float(burst) if bucket is None else bucket.tokens
    if bucket is not None:
        elapsed = max(0, now_ms - bucket.at_ms) / 1000.0
        tokens = min(float(burst), tokens + elapsed * per_second)
    if tokens >= 1.0:
        return Bucket(tokens - 1.0, now_ms), None
    # (the script computes the same: math.ceil of the same float division)
    return Bucket(tokens, now_ms), max(1, math.ceil((1.0 - tokens) / per_second))
