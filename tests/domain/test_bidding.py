"""The bid rules (shared.domain.bidding), as worked examples and as properties."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.bidding import (
    Accepted,
    AuctionRules,
    Book,
    Bucket,
    Leader,
    Offer,
    Refused,
    arrival_moment,
    buy_now_open,
    is_open,
    judge_bid,
    min_next_bid,
    reserve_met,
    take_token,
)
from shared.domain.vocabulary import AuctionStatus

NOW = 1_000_000
RULES = AuctionRules(start_price=10_000, increment=1_000, seller_id="seller")


def book(**kwargs: Any) -> Book:
    base: dict[str, Any] = {
        "rules": RULES,
        "status": AuctionStatus.LIVE,
        "go_live_ms": NOW - 60_000,
        "ends_ms": NOW + 60_000,
        "leader": None,
    }
    base.update(kwargs)
    return Book(**base)


def plain(user: str, amount: int, **kw: Any) -> Offer:
    return Offer(user_id=user, amount=amount, is_max=False, now_ms=NOW, **kw)


def proxy(user: str, maximum: int, at: int = NOW) -> Offer:
    return Offer(user_id=user, amount=maximum, is_max=True, now_ms=at)


def play(offers: list[Offer], start: Book | None = None) -> tuple[Book, list[Accepted | Refused]]:
    current = start or book()
    outcomes: list[Accepted | Refused] = []
    for offer in offers:
        outcome = judge_bid(current, offer)
        outcomes.append(outcome)
        if isinstance(outcome, Accepted):
            current = outcome.book
    return current, outcomes


def rows(outcome: Accepted | Refused) -> list[tuple[str, int, bool]]:
    assert isinstance(outcome, Accepted), outcome
    return [(b.user_id, b.amount, b.is_proxy) for b in outcome.bids]


# -- the plain rules ---------------------------------------------------------------------------


def test_first_bid_must_reach_the_start_price() -> None:
    assert judge_bid(book(), plain("a", 9_999)) == Refused("bid_too_low", 10_000)
    assert rows(judge_bid(book(), plain("a", 10_000))) == [("a", 10_000, False)]


def test_later_bids_must_beat_the_highest_by_the_increment() -> None:
    after, _ = play([plain("a", 10_000)])
    assert judge_bid(after, plain("b", 10_999)) == Refused("bid_too_low", 11_000)
    assert rows(judge_bid(after, plain("b", 11_000))) == [("b", 11_000, False)]


def test_bid_outside_the_window_is_refused_whatever_the_status() -> None:
    early = book(go_live_ms=NOW + 1, status=AuctionStatus.SCHEDULED)
    assert judge_bid(early, plain("a", 10_000)) == Refused("auction_not_live")
    late = book(ends_ms=NOW)  # endsAt is exclusive
    assert judge_bid(late, plain("a", 10_000)) == Refused("auction_not_live")
    edge = book(go_live_ms=NOW, status=AuctionStatus.SCHEDULED)  # goLiveAt is inclusive
    assert isinstance(judge_bid(edge, plain("a", 10_000)), Accepted)
    for closed in (AuctionStatus.ENDED, AuctionStatus.SOLD, AuctionStatus.CLOSED_NO_WINNER):
        assert judge_bid(book(status=closed), plain("a", 10_000)) == Refused("auction_not_live")


# -- judged at the arrival ----------------------------------------------------------------------


def test_an_offer_is_judged_at_its_arrival_when_the_stamp_is_believable() -> None:
    assert arrival_moment(NOW, None) == NOW  # no stamp: the script's clock
    assert arrival_moment(NOW, NOW - 1_500) == NOW - 1_500  # it waited 1.5 s on its way
    assert arrival_moment(NOW, NOW + 1_000) == NOW + 1_000  # a clock a second ahead: skew
    assert arrival_moment(NOW, NOW + 1_001) == NOW  # further ahead: not believed
    assert arrival_moment(NOW, NOW - 30_000) == NOW - 30_000
    assert arrival_moment(NOW, NOW - 30_001) == NOW  # older than any request in flight


def test_a_bid_that_arrived_before_the_end_is_judged_on_the_rules_within_the_grace() -> None:
    ending = book(ends_ms=NOW - 500, grace_ms=2_000)  # it reaches the script 0.5 s after
    arrived = plain("a", 10_000, arrived_ms=NOW - 501)  # the end: arrived 1 ms before it
    assert rows(judge_bid(ending, arrived)) == [("a", 10_000, False)]
    at_the_end = plain("a", 10_000, arrived_ms=NOW - 500)  # endsAt is exclusive
    assert judge_bid(ending, at_the_end) == Refused("auction_not_live")
    # Past the grace nothing is judged, whenever it arrived.
    past_grace = book(ends_ms=NOW - 2_000, grace_ms=2_000)
    assert judge_bid(past_grace, plain("a", 10_000, arrived_ms=NOW - 2_001)) == Refused(
        "auction_not_live"
    )
    assert is_open(past_grace, NOW - 2_001, NOW - 1) and not is_open(past_grace, NOW - 2_001, NOW)


def test_nothing_gets_in_once_the_window_is_closed() -> None:
    closed = book(closed=True)
    assert judge_bid(closed, plain("a", 10_000, arrived_ms=NOW - 1)) == Refused("auction_not_live")


def test_soft_close_extends_from_the_arrival() -> None:
    soft = book(
        rules=AuctionRules(10_000, 1_000, soft_close_s=30, seller_id="seller"),
        ends_ms=NOW + 10_000,
    )
    outcome = judge_bid(soft, plain("a", 10_000, arrived_ms=NOW - 400))
    assert isinstance(outcome, Accepted) and outcome.book.ends_ms == NOW - 400 + 30_000


def test_a_buy_now_judged_in_the_grace_ends_the_auction_at_its_end() -> None:
    buy = book(rules=AuctionRules(10_000, 1_000, buy_now=50_000, seller_id="s"), ends_ms=NOW - 10)
    outcome = judge_bid(replace(buy, grace_ms=2_000), plain("a", 60_000, arrived_ms=NOW - 20))
    assert isinstance(outcome, Accepted) and outcome.buy_now
    assert outcome.book.ends_ms == NOW - 10  # never later than the end it had


def test_the_seller_cannot_bid() -> None:
    assert judge_bid(book(), plain("seller", 10_000)) == Refused("own_auction")


def test_the_highest_bidder_cannot_raise_a_plain_bid_unless_allowed() -> None:
    after, _ = play([plain("a", 10_000)])
    assert judge_bid(after, plain("a", 11_000)) == Refused("already_highest")
    allowed = judge_bid(after, plain("a", 11_000, allow_self_outbid=True))
    assert rows(allowed) == [("a", 11_000, False)]
    assert isinstance(allowed, Accepted) and allowed.outbid == ()


def test_outbid_names_the_previous_leader() -> None:
    after, _ = play([plain("a", 10_000)])
    outcome = judge_bid(after, plain("b", 11_000))
    assert isinstance(outcome, Accepted) and outcome.outbid == ("a",)


# -- proxy bids: worked examples (start 100.00, increment 10.00) ----------------------------------

PROXY_EXAMPLES = [
    # (name, offers, expected rows of the last offer, leader after, visible price after)
    (
        "a first maximum opens at the start price",
        [proxy("a", 15_000)],
        [("a", 10_000, True)],
        "a",
        10_000,
    ),
    (
        "a plain bid a proxy can beat is answered at once",
        [proxy("a", 15_000), plain("b", 12_000)],
        [("b", 12_000, False), ("a", 13_000, True)],
        "a",
        13_000,
    ),
    (
        "equal maximums: the earlier wins, its answer capped at its maximum",
        [proxy("a", 15_000), plain("b", 15_000)],
        [("b", 15_000, False), ("a", 15_000, True)],
        "a",
        15_000,
    ),
    (
        "a plain bid above the maximum takes the lead",
        [proxy("a", 15_000), plain("b", 16_000)],
        [("b", 16_000, False)],
        "b",
        16_000,
    ),
    (
        "a higher maximum leads by one increment over the old maximum",
        [proxy("a", 15_000), proxy("b", 20_000)],
        [("b", 16_000, True)],
        "b",
        16_000,
    ),
    (
        "a higher maximum within one increment is capped at itself",
        [proxy("a", 15_000), proxy("b", 15_500)],
        [("b", 15_500, True)],
        "b",
        15_500,
    ),
    (
        "a lower maximum is placed in full and answered",
        [proxy("a", 15_000), proxy("b", 14_000)],
        [("b", 14_000, True), ("a", 15_000, True)],
        "a",
        15_000,
    ),
    (
        "two equal maximums: the earlier one wins",
        [proxy("a", 15_000), proxy("b", 15_000)],
        [("b", 15_000, True), ("a", 15_000, True)],
        "a",
        15_000,
    ),
    (
        "the answer rises by less than the increment only up to the maximum",
        [proxy("a", 13_500), plain("b", 13_000)],
        [("b", 13_000, False), ("a", 13_500, True)],
        "a",
        13_500,
    ),
    (
        "a leader raises their own maximum without a visible bid",
        [proxy("a", 15_000), proxy("a", 30_000)],
        [],
        "a",
        10_000,
    ),
]


@pytest.mark.parametrize(
    ("offers", "expected", "leader", "price"),
    [pytest.param(o, e, ld, p, id=name) for name, o, e, ld, p in PROXY_EXAMPLES],
)
def test_proxy_worked_examples(
    offers: list[Offer], expected: list[tuple[str, int, bool]], leader: str, price: int
) -> None:
    after, outcomes = play(offers)
    assert rows(outcomes[-1]) == expected
    assert after.leader is not None
    assert (after.leader.user_id, after.leader.amount) == (leader, price)


def test_raising_your_own_maximum_needs_a_higher_one() -> None:
    after, _ = play([proxy("a", 15_000)])
    assert judge_bid(after, proxy("a", 15_000)) == Refused("bid_too_low", 15_001)


def test_a_raised_maximum_keeps_fighting() -> None:
    after, _ = play([proxy("a", 15_000), proxy("a", 30_000), plain("b", 20_000)])
    assert after.leader is not None
    assert (after.leader.user_id, after.leader.amount) == ("a", 21_000)


def test_a_beaten_proxy_bidder_is_told_they_were_outbid() -> None:
    after, _ = play([proxy("a", 15_000)])
    outcome = judge_bid(after, plain("b", 12_000))
    assert isinstance(outcome, Accepted) and outcome.outbid == ("b",)


# -- soft close, reserve, buy-now ---------------------------------------------------------------


def test_soft_close_moves_the_end_when_a_bid_lands_in_the_window() -> None:
    rules = AuctionRules(10_000, 1_000, soft_close_s=30, seller_id="seller")
    near_end = book(rules=rules, ends_ms=NOW + 10_000)
    outcome = judge_bid(near_end, plain("a", 10_000))
    assert isinstance(outcome, Accepted) and outcome.book.ends_ms == NOW + 30_000
    far = book(rules=rules, ends_ms=NOW + 31_000)
    outcome = judge_bid(far, plain("a", 10_000))
    assert isinstance(outcome, Accepted) and outcome.book.ends_ms == NOW + 31_000


def test_reserve_met_only_at_or_above_the_reserve() -> None:
    rules = AuctionRules(10_000, 1_000, reserve=20_000, seller_id="s")
    assert reserve_met(rules, None) is False
    assert reserve_met(rules, Leader("a", 19_999, 19_999, NOW)) is False
    assert reserve_met(rules, Leader("a", 20_000, 20_000, NOW)) is True
    assert reserve_met(RULES, None) is None


def test_buy_now_sells_at_once_at_the_buy_now_price() -> None:
    rules = AuctionRules(10_000, 1_000, buy_now=50_000, seller_id="s")
    outcome = judge_bid(book(rules=rules), plain("a", 60_000))
    assert isinstance(outcome, Accepted) and outcome.buy_now
    assert rows(outcome) == [("a", 50_000, False)]
    assert outcome.book.status == AuctionStatus.SOLD


def test_buy_now_closes_after_the_first_bid_without_a_reserve() -> None:
    rules = AuctionRules(10_000, 1_000, buy_now=50_000, seller_id="s")
    after, _ = play([plain("a", 10_000)], book(rules=rules))
    assert not buy_now_open(rules, after.leader)
    outcome = judge_bid(after, plain("b", 60_000))
    assert isinstance(outcome, Accepted) and not outcome.buy_now


def test_buy_now_stays_open_below_the_reserve() -> None:
    rules = AuctionRules(10_000, 1_000, reserve=40_000, buy_now=50_000, seller_id="s")
    after, _ = play([plain("a", 10_000)], book(rules=rules))
    outcome = judge_bid(after, plain("b", 50_000))
    assert isinstance(outcome, Accepted) and outcome.buy_now and outcome.outbid == ("a",)


# -- the token bucket ---------------------------------------------------------------------------


def test_token_bucket_allows_the_burst_then_waits() -> None:
    bucket = None
    for _ in range(10):
        bucket, wait = take_token(bucket, NOW, per_second=5, burst=10)
        assert wait is None
    _, wait = take_token(bucket, NOW, per_second=5, burst=10)
    assert wait == 1
    refilled, wait = take_token(bucket, NOW + 200, per_second=5, burst=10)
    assert wait is None and refilled == Bucket(0.0, NOW + 200)


# -- properties ---------------------------------------------------------------------------------

USERS = ["u1", "u2", "u3", "u4"]


@dataclass(frozen=True)
class Step:
    user: str
    amount: int
    is_max: bool


steps = st.lists(
    st.builds(
        Step,
        user=st.sampled_from(USERS),
        amount=st.integers(min_value=9_000, max_value=60_000),
        is_max=st.booleans(),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=300, deadline=None)
@given(steps)
def test_properties_of_any_bidding_sequence(seq: list[Step]) -> None:
    current = book()
    maxima: dict[str, tuple[int, int]] = {}  # user -> (best offer, order of that offer)
    price = 0
    for order, step in enumerate(seq):
        offer = Offer(step.user, step.amount, step.is_max, NOW + order)
        outcome = judge_bid(current, offer)
        if isinstance(outcome, Refused):
            continue  # a refusal changes nothing: `current` stays as it was
        previous = price
        for bid in outcome.bids:
            # Each visible bid beats the last by the increment, except a proxy answer that is
            # capped at its owner's maximum.
            # a proxy answer may stop short of the increment only at its owner's maximum
            capped = bid.is_proxy and bid.amount == maxima.get(bid.user_id, (0, 0))[0]
            assert bid.amount >= previous + RULES.increment or capped, (bid, previous)
            assert bid.amount >= previous
            previous = bid.amount
        best = maxima.get(step.user)
        if best is None or step.amount > best[0]:
            maxima[step.user] = (step.amount, order)
        current = outcome.book
        leader = current.leader
        assert leader is not None
        # the price never falls, and never exceeds the leader's maximum
        assert leader.amount >= price
        assert leader.amount <= leader.max_amount
        price = leader.amount
        # the leader holds the highest maximum (the earlier one among equals)
        top = max(maxima.values(), key=lambda m: (m[0], -m[1]))
        assert leader.max_amount == top[0]
        assert maxima[leader.user_id][0] == top[0]


@settings(max_examples=200, deadline=None)
@given(steps)
def test_a_refused_offer_changes_nothing(seq: list[Step]) -> None:
    current = book()
    for order, step in enumerate(seq):
        outcome = judge_bid(current, Offer(step.user, step.amount, step.is_max, NOW + order))
        if isinstance(outcome, Accepted):
            current = outcome.book
        else:
            assert (
                judge_bid(current, Offer(step.user, step.amount, step.is_max, NOW + order))
                == outcome
            )


def test_min_next_bid() -> None:
    assert min_next_bid(RULES, None) == 10_000
    assert min_next_bid(RULES, Leader("a", 12_000, 12_000, NOW)) == 13_000
