"""Shill signals: how one bidder bids against one seller, as plain numbers that say why.

Shill bidding is the seller (or a friend) bidding up the seller's own items. The research
answers it with scores over a bidder's history against one seller: Trevathan & Read's shill
score (a weighted mean of ratings such as "share of the seller's auctions the bidder joins",
"bids that never win", "bids at the bare minimum", "early bidding") and the features of the
UCI Shill Bidding Dataset (bidder tendency, bidding ratio, successive outbidding, last
bidding, auction bids, starting price average, early bidding, winning ratio); auction sites
also warn when a bidder comes from the seller's own network. A score is never a verdict,
only a lead for a person to look at: every signal is a plain number with the sentence that
explains it, and the formula (`score`) is short enough to check by hand (docs/trust-and-
safety.md).

`PairFacts` are the counts the record gives for one (bidder, seller) pair; `facts_of` is their
definition over a plain history (the service computes the same counts in one SQL statement,
and a differential test holds the two together). `signals`, `score` and `reasons` read facts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

# A bid "right after a rival" answers another bidder's bid within this long (UCI: successive
# outbidding; a price-raiser answers a real bidder at once, to keep them climbing).
RIVAL_WINDOW = timedelta(seconds=60)
# "Early": the bidder's first bid in an auction came within this share of its window.
EARLY_SHARE = Decimal("0.25")
# Fewer auctions of the seller than this, and the behaviour counts in proportion: one or two
# auctions say little about a habit.
FULL_WEIGHT_AUCTIONS = 3
# How a bid's behaviour is weighed (the weights sum to 1): not buying weighs most, since a
# shill must not win what they bid up; then the tactics of a price-raiser.
WEIGHTS: dict[str, Decimal] = {
    "neverWins": Decimal("0.40"),
    "raisesAfterRival": Decimal("0.25"),
    "earlyBidding": Decimal("0.20"),
    "minimumBids": Decimal("0.15"),
}
# The same network or device as the seller lifts the score this share of the way to 1.
NETWORK_LIFT = Decimal("0.4")
# The admin page's default: pairs from this score on (docs/trust-and-safety.md: its precision).
DEFAULT_THRESHOLD = Decimal("0.5")

SIGNALS = (
    "auctionShare",
    "neverWins",
    "raisesAfterRival",
    "minimumBids",
    "earlyBidding",
    "networkOverlap",
)

# Auctions whose outcome is settled: a bid on them either won or did not.
FINISHED_STATUSES = frozenset({"sold", "closed_no_winner", "cancelled"})


@dataclass(frozen=True)
class PairFacts:
    """The record's counts for one bidder against one seller."""

    seller_auctions: int = 0  # the seller's auctions that had any bid
    auctions: int = 0  # ... of them, those the bidder bid on
    finished: int = 0  # ... of those, settled (sold, closed without a winner, cancelled)
    won: int = 0  # ... of those, sold to the bidder
    bids: int = 0  # the bidder's own bids on them (not those a proxy placed for them)
    after_rival: int = 0  # ... placed as the next bid after a rival's, within RIVAL_WINDOW
    at_minimum: int = 0  # ... at exactly the minimum the auction asked then
    timed: int = 0  # auctions whose current round the bidder bid in (their window is known)
    early: int = 0  # ... where the bidder's first bid came in the first EARLY_SHARE of it
    shared_networks: int = 0  # source networks (/24, /64) the bidder and seller share
    shared_devices: int = 0  # device ids they share

    def to_json(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PairFacts:
        return cls(**{f.name: int(data.get(f.name) or 0) for f in fields(cls)})


def _ratio(part: int, whole: int) -> Decimal:
    return Decimal(part) / Decimal(whole) if whole > 0 else Decimal(0)


def _round(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.001")))


def signal_values(f: PairFacts) -> dict[str, Decimal]:
    """Each signal as an exact number: shares in [0, 1]; networkOverlap a count."""
    return {
        "auctionShare": _ratio(f.auctions, f.seller_auctions),
        "neverWins": _ratio(f.finished - f.won, f.finished),
        "raisesAfterRival": _ratio(f.after_rival, f.bids),
        "minimumBids": _ratio(f.at_minimum, f.bids),
        "earlyBidding": _ratio(f.early, f.timed),
        "networkOverlap": Decimal(f.shared_networks + f.shared_devices),
    }


def signals(f: PairFacts) -> dict[str, float]:
    """The signals as the API shows them (3 decimals)."""
    return {name: _round(value) for name, value in signal_values(f).items()}


def confidence(f: PairFacts) -> Decimal:
    """How much the behaviour counts: in proportion up to FULL_WEIGHT_AUCTIONS auctions."""
    return min(Decimal(1), Decimal(f.auctions) / FULL_WEIGHT_AUCTIONS)


def exact_score(f: PairFacts) -> Decimal:
    """score = b + (1 - b) x NETWORK_LIFT x overlap, where

        b       = confidence x auctionShare x (0.40 neverWins + 0.25 raisesAfterRival
                                               + 0.20 earlyBidding + 0.15 minimumBids)
        overlap = 1 when the bidder shares a network or a device with the seller, else 0

    Concentration multiplies: the same tactics spread over many sellers are a keen bidder's,
    aimed at most of one seller's auctions they are a shill's. The overlap alone gives 0.4:
    below the page's default threshold, since a household or an office shares a network too."""
    v = signal_values(f)
    behaviour = sum((w * v[name] for name, w in WEIGHTS.items()), Decimal(0))
    b = confidence(f) * v["auctionShare"] * behaviour
    overlap = Decimal(1) if v["networkOverlap"] > 0 else Decimal(0)
    return min(Decimal(1), b + (1 - b) * NETWORK_LIFT * overlap)


def score(f: PairFacts) -> float:
    return _round(exact_score(f))


def _pct(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "0%"


def _times(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def reasons(f: PairFacts) -> list[str]:
    """One sentence per signal that counts (above 0), in the order of SIGNALS, then what
    weighs the behaviour down when the history is short."""
    out: list[str] = []
    if f.auctions:
        out.append(
            f"Bid on {f.auctions} of this seller's {f.seller_auctions} auctions with bids "
            f"({_pct(f.auctions, f.seller_auctions)})."
        )
    if f.finished > f.won:
        if f.won == 0:
            out.append(f"Won none of the {_times(f.finished, 'finished auction')} they bid on.")
        else:
            out.append(
                f"Won {f.won} of the {_times(f.finished, 'finished auction')} they bid on "
                f"(lost {_pct(f.finished - f.won, f.finished)})."
            )
    window = int(RIVAL_WINDOW.total_seconds())
    if f.after_rival:
        out.append(
            f"{f.after_rival} of their {_times(f.bids, 'bid')} came within {window} s of a "
            f"rival's bid ({_pct(f.after_rival, f.bids)})."
        )
    if f.at_minimum:
        out.append(
            f"{f.at_minimum} of their {_times(f.bids, 'bid')} were the bare minimum "
            f"({_pct(f.at_minimum, f.bids)})."
        )
    if f.early:
        out.append(
            f"First bid in the first {EARLY_SHARE:.0%} of the auction's window in {f.early} of "
            f"{_times(f.timed, 'auction')} ({_pct(f.early, f.timed)})."
        )
    if f.shared_networks:
        out.append(
            f"Bids from the seller's network (the same /24 or /64 address block) in the "
            f"last 90 days ({_times(f.shared_networks, 'network')})."
        )
    if f.shared_devices:
        out.append(
            f"Used the same device as the seller in the last 90 days "
            f"({_times(f.shared_devices, 'device')})."
        )
    if 0 < f.auctions < FULL_WEIGHT_AUCTIONS:
        out.append(
            f"Only {_times(f.auctions, 'auction')} of this seller so far: the behaviour counts "
            f"{f.auctions}/{FULL_WEIGHT_AUCTIONS}."
        )
    return out


# -- the definition over a plain history -------------------------------------------------------


@dataclass(frozen=True)
class AuctionFacts:
    id: str
    seller_id: str
    status: str
    winner_id: str | None
    round: int
    go_live_at: datetime
    duration_mins: int
    start_price: Decimal
    increment: Decimal


@dataclass(frozen=True)
class BidFacts:
    auction_id: str
    round: int
    seq: int
    bidder_id: str
    amount: Decimal
    is_proxy: bool
    at: datetime


def facts_of(
    bidder_id: str,
    seller_id: str,
    auctions: Iterable[AuctionFacts],
    bids: Iterable[BidFacts],
    *,
    shared_networks: int = 0,
    shared_devices: int = 0,
) -> PairFacts:
    """What `PairFacts` mean, over every auction and bid of a history (any sellers)."""
    theirs = {a.id: a for a in auctions if a.seller_id == seller_id}
    by_round: dict[tuple[str, int], list[BidFacts]] = {}
    for b in bids:
        if b.auction_id in theirs:
            by_round.setdefault((b.auction_id, b.round), []).append(b)
    with_bids = {aid for aid, _ in by_round}
    joined = {
        aid for (aid, _), rows in by_round.items() if any(b.bidder_id == bidder_id for b in rows)
    }
    finished = {aid for aid in joined if theirs[aid].status in FINISHED_STATUSES}
    won = {
        aid
        for aid in finished
        if theirs[aid].status == "sold" and theirs[aid].winner_id == bidder_id
    }
    own = after_rival = at_minimum = 0
    timed = early = 0
    for (aid, rnd), rows in by_round.items():
        auction = theirs[aid]
        rows.sort(key=lambda b: b.seq)
        high: Decimal | None = None
        first: datetime | None = None
        for i, b in enumerate(rows):
            if b.bidder_id == bidder_id:
                first = first or b.at
                if not b.is_proxy:
                    own += 1
                    before = rows[i - 1] if i else None
                    if (
                        before is not None
                        and before.bidder_id != bidder_id
                        and b.at - before.at <= RIVAL_WINDOW
                    ):
                        after_rival += 1
                    minimum = auction.start_price if high is None else high + auction.increment
                    if b.amount == minimum:
                        at_minimum += 1
            high = b.amount if high is None else max(high, b.amount)
        if first is not None and rnd == auction.round:
            timed += 1
            window = timedelta(minutes=auction.duration_mins)
            if first - auction.go_live_at < window * float(EARLY_SHARE):
                early += 1
    return PairFacts(
        seller_auctions=len(with_bids),
        auctions=len(joined),
        finished=len(finished),
        won=len(won),
        bids=own,
        after_rival=after_rival,
        at_minimum=at_minimum,
        timed=timed,
        early=early,
        shared_networks=shared_networks,
        shared_devices=shared_devices,
    )
