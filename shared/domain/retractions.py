"""Retracting bids, as pure functions over integer minor units and epoch milliseconds.

`shared/adapters/lua/retract_bid.lua` runs the same rules atomically inside Redis (a
differential test holds the two together); the verifier's replay of a retraction entry
(`verify_auction`) reaches the same leader.

Who and when: only the bid's own bidder, only while the auction is live (by the script's
clock, before the end transition closes the window).
- More than `RETRACT_CUTOFF_SECS` (default 12 hours) before the end: every bid of that bidder
  on the auction is retracted (a mistake found early costs the others nothing much).
- Closer to the end: only the bidder's latest bid, and only within an hour of placing it (a
  typo noticed at once); anything else is `retraction_not_allowed`.

What follows: the retracted bids leave the competition (their rows stay, marked), the bidder's
proxy maximum is cancelled, and the highest remaining bid leads, with its owner's maximum
when they still hold one. Equal amounts only come from a proxy answer meeting the bid it
answers (between equal maximums the earlier wins), so on equal amounts the later bid leads:
it is the earlier commitment's. A bidder's own bids only rise, so what is retracted is always
"this bidder's bids at or above the lowest amount retracted" (the ledger's one entry).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

# The latest bid may be retracted within this long of placing it, once the cutoff has passed.
RECENT_MS = 3_600_000


class RetractReason(StrEnum):
    TYPO = "typo"  # entered the wrong amount
    ITEM_CHANGED = "item_changed"  # the seller changed the description since
    CANNOT_CONTACT_SELLER = "cannot_contact_seller"


@dataclass(frozen=True)
class PlacedBid:
    """One bid as the retraction rules see it (the bid script's list entry)."""

    id: str
    bidder_id: str
    amount: int
    seq: int
    at_ms: int  # when the bid script placed it


@dataclass(frozen=True)
class Maximum:
    amount: int
    at_ms: int


@dataclass(frozen=True)
class Lead:
    bid: PlacedBid
    max_amount: int
    max_at: int


@dataclass(frozen=True)
class Retracted:
    bid_ids: tuple[str, ...]  # in the order they were placed
    lowest: int  # the lowest amount retracted (the ledger entry's amount)
    leader: Lead | None  # the new highest bid, None when no bid remains
    remaining: tuple[PlacedBid, ...]


@dataclass(frozen=True)
class NotAllowed:
    code: str  # retraction_not_allowed | not_found | forbidden
    detail: str


def scope(
    bids: Sequence[PlacedBid],
    bid_id: str,
    user_id: str,
    *,
    live: bool,
    ends_ms: int,
    now_ms: int,
    cutoff_ms: int,
) -> tuple[str, ...] | NotAllowed:
    """Which bids a retraction of `bid_id` by `user_id` takes back (`bids`: the auction's
    remaining bids of this round, in order)."""
    target = next((b for b in bids if b.id == bid_id), None)
    if target is None:
        return NotAllowed("not_found", "No such bid, or it is no longer standing")
    if target.bidder_id != user_id:
        return NotAllowed("forbidden", "Only the bidder may retract their bid")
    if not live:
        return NotAllowed("retraction_not_allowed", "The auction is not live")
    own = [b for b in bids if b.bidder_id == user_id]
    if ends_ms - now_ms > cutoff_ms:
        return tuple(b.id for b in own)
    latest = own[-1]
    if latest.id != bid_id:
        return NotAllowed(
            "retraction_not_allowed",
            "This close to the end only your latest bid may be retracted",
        )
    if now_ms - latest.at_ms > RECENT_MS:
        return NotAllowed(
            "retraction_not_allowed",
            "This close to the end a bid may be retracted only within an hour of placing it",
        )
    return (bid_id,)


def leader_of(bids: Sequence[PlacedBid], maxima: Mapping[str, Maximum]) -> Lead | None:
    """The highest bid (on equal amounts the later) with its owner's maximum, if any."""
    if not bids:
        return None
    top = max(bids, key=lambda b: (b.amount, b.seq))
    held = maxima.get(top.bidder_id)
    if held is None:
        return Lead(top, top.amount, top.at_ms)
    return Lead(top, max(top.amount, held.amount), held.at_ms)


def retract(
    bids: Sequence[PlacedBid],
    maxima: Mapping[str, Maximum],
    bid_ids: Sequence[str],
    user_id: str,
) -> Retracted:
    """Take `bid_ids` (all `user_id`'s, from `scope`) out; cancel the bidder's maximum."""
    gone = set(bid_ids)
    remaining = tuple(b for b in bids if b.id not in gone)
    left = {u: m for u, m in maxima.items() if u != user_id}
    retracted = [b for b in bids if b.id in gone]
    return Retracted(
        bid_ids=tuple(b.id for b in retracted),
        lowest=min(b.amount for b in retracted),
        leader=leader_of(remaining, left),
        remaining=remaining,
    )
