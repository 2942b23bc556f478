"""The verifier's replay of the bid rules against `shared.domain.bidding.judge_bid`.

Offers are judged by `judge_bid` and logged by the ledger's pure functions (bench.ledger's
AuctionLog); the verifier, which shares no code with either, must accept every such log and
reach the same winner and price, and must refuse a log whose proxy engine pushed a price, whose
maxima were revealed wrong, or whose answers came out of order, naming that entry or an
earlier one. (Tampering the stored log itself is caught by the tree: test_verifier.py.)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bench.ledger import AuctionLog
from shared.domain.bidding import AuctionRules, Offer, min_next_bid
from shared.domain.ledger.entries import pseudonym
from shared.domain.vocabulary import AuctionStatus
from verify_auction import (
    Entry,
    Failed,
    Replay,
    Rules,
    check_outcome,
    current_round,
    parse_entry,
    parse_reveals,
)

T = 1_790_000_000_000
AUCTION = "0b8e4c1a-7d2f-4f3e-9a6b-5c1d2e3f4a5b"


def entries_of(log: AuctionLog) -> list[Entry]:
    return [parse_entry(i, row, log.auction_id)[0] for i, row in enumerate(log.rows)]


def replay(
    log: AuctionLog,
    entries: Sequence[Entry] | None = None,
    *,
    ended: bool = True,
    reveals: list[dict[str, Any]] | None = None,
) -> Replay:
    """The verifier's replay of `entries` (the log's own by default) under the log's rules,
    with the close's reveals and outcome once ended."""
    entries = entries_of(log) if entries is None else entries
    rules = Rules.of(log.auction())
    close = log.close() if ended else None
    if ended:
        assert close is not None
        known = parse_reveals(close["reveals"] if reveals is None else reveals)
    replayed = Replay(rules, known if ended else None, current_round(entries, rules.go_live))
    replayed.run(entries)
    if close is not None:
        check_outcome(replayed, close["outcome"], entries[-1].index if entries else None)
    return replayed


def bidder(log: AuctionLog, user: str) -> str:
    return pseudonym(log.secret, user)


# -- the differential property -------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Act:
    kind: str  # plain | max | retract | retract_latest | reset
    user: int
    steps: int  # increments above the lowest amount that can be accepted
    off: int  # a cent off it (below the lowest: refused, and not logged)
    delay: int  # ms since the previous arrival (>= 1)
    lag: int  # ms from the gateway to the script (past 30 s the stamp is not believed)


ACTS = st.builds(
    Act,
    kind=st.sampled_from(
        ["plain"] * 10 + ["max"] * 10 + ["retract", "retract_latest"] * 2 + ["reset"]
    ),
    user=st.integers(0, 3),
    steps=st.integers(0, 5),
    off=st.sampled_from([0, 0, 0, 1, -1]),
    delay=st.sampled_from([1, 5, 500, 2_000, 5_000, 20_000, 60_000]),
    lag=st.sampled_from([0, 0, 3, 40, 900, 1_800, 31_000]),
)


@st.composite
def auctions(draw: st.DrawFn) -> tuple[AuctionRules, bool, list[Act]]:
    start = draw(st.sampled_from([100, 1_000, 2_500]))
    step = draw(st.sampled_from([1, 50, 100]))
    rules = AuctionRules(
        start_price=start,
        increment=step,
        reserve=draw(st.none() | st.integers(start, start + 12 * step)),
        buy_now=draw(st.none() | st.integers(start + 1, start + 40 * step)),
        soft_close_s=draw(st.sampled_from([None, 0, 5, 30])),
        seller_id="seller",
    )
    count = draw(st.integers(1, 60))  # (drawn first: hypothesis's own lists run short)
    return rules, draw(st.booleans()), draw(st.lists(ACTS, min_size=count, max_size=count))


def simulate(rules: AuctionRules, self_outbid: bool, acts: Sequence[Act]) -> AuctionLog:
    log = AuctionLog(AUCTION, rules, go_live_ms=T, duration_mins=5, grace_ms=2_000)
    now = judged = T
    for act in acts:
        now += act.delay
        judged = max(judged, now + act.lag)  # the script's clock never goes back
        user = f"user-{act.user}"
        if act.kind == "reset":  # (by the clock: after everything judged so far)
            if log.book.status != AuctionStatus.SOLD:
                now = judged = judged + 1_000
                log.reset(now)
        elif act.kind.startswith("retract"):
            log.retract(user, now, latest_only=act.kind == "retract_latest")
        else:
            leader = log.book.leader
            base = min_next_bid(rules, leader)
            if act.kind == "max" and leader is not None and leader.user_id == user:
                base = leader.max_amount + 1  # a raise
            amount = max(1, base + act.steps * rules.increment + act.off)
            log.offer(Offer(user, amount, act.kind == "max", judged, self_outbid, arrived_ms=now))
    log.ended = True
    return log


SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(auctions())
def test_every_log_judge_bid_makes_replays_to_its_outcome(
    auction: tuple[AuctionRules, bool, list[Act]],
) -> None:
    log = simulate(*auction)
    replayed = replay(log)  # raises Failed if any entry breaks the rules as replayed
    leader = log.book.leader
    assert replayed.leader == (bidder(log, leader.user_id) if leader else None)
    assert replayed.price == (leader.amount if leader else None)
    # Live, every prefix checks as far as it goes (no maxima revealed yet).
    entries = entries_of(log)
    for cut in range(len(entries) + 1):
        replay(log, entries[:cut], ended=False)


@SETTINGS
@given(auctions(), st.data())
def test_a_pushed_proxy_answer_is_refused_at_it(
    auction: tuple[AuctionRules, bool, list[Act]], data: st.DataObject
) -> None:
    log = simulate(*auction)
    entries = entries_of(log)
    assume(log.answers)
    index = data.draw(st.sampled_from(sorted(log.answers)))
    cents = data.draw(st.sampled_from([1, -1, log.rules.increment]))
    pushed = [*entries]
    pushed[index] = dataclasses.replace(entries[index], amount=entries[index].amount + cents)
    with pytest.raises(Failed) as failure:
        replay(log, pushed)
    assert failure.value.index is not None and failure.value.index <= index


@SETTINGS
@given(auctions(), st.data())
def test_a_wrong_maximum_reveal_is_refused(
    auction: tuple[AuctionRules, bool, list[Act]], data: st.DataObject
) -> None:
    log = simulate(*auction)
    entries = entries_of(log)
    close = log.close()
    assert close is not None
    reveals = close["reveals"]
    current = current_round(entries, Rules.of(log.auction()).go_live)
    used = {e.commit: e.index for e in reversed(entries) if e.commit and e.round == current}
    known = parse_reveals(reveals)
    candidates = [i for i, c in enumerate(known) if c in used]
    assume(candidates)
    which = data.draw(st.sampled_from(candidates))
    first_use = used[list(known)[which]]
    wrong = [dict(r) for r in reveals]
    if data.draw(st.booleans()):
        wrong[which]["max"] = f"{float(wrong[which]['max']) + 0.01:.2f}"
    else:
        wrong[which]["bidder"] = "0" * 32
    with pytest.raises(Failed) as failure:
        replay(log, entries, reveals=wrong)
    assert failure.value.index is not None and failure.value.index <= first_use


@SETTINGS
@given(auctions(), st.data())
def test_an_answer_before_its_bid_is_refused(
    auction: tuple[AuctionRules, bool, list[Act]], data: st.DataObject
) -> None:
    log = simulate(*auction)
    entries = entries_of(log)
    assume(log.answers)
    index = data.draw(st.sampled_from(sorted(log.answers)))
    swapped = [*entries]
    swapped[index - 1], swapped[index] = entries[index], entries[index - 1]
    with pytest.raises(Failed) as failure:
        replay(log, swapped)
    assert failure.value.index is not None and failure.value.index <= index


# -- worked examples -------------------------------------------------------------------------

RULES = AuctionRules(start_price=10_000, increment=1_000, seller_id="seller")


def fresh(rules: AuctionRules = RULES, **kw: Any) -> AuctionLog:
    return AuctionLog(AUCTION, rules, go_live_ms=T, duration_mins=10, **kw)


def test_a_silent_raise_that_sets_the_price_must_be_revealed() -> None:
    log = fresh()
    log.offer(Offer("a", 20_000, True, T + 1))  # a leads at 100.00, maximum 200.00
    log.offer(Offer("a", 30_000, True, T + 2))  # raised: no entry
    log.offer(Offer("b", 40_000, True, T + 3))  # beats 300.00: placed at 310.00
    log.ended = True
    entries = entries_of(log)
    assert [(e.kind, e.amount) for e in entries] == [("proxy", 10_000), ("proxy", 31_000)]
    assert replay(log).price == 31_000
    close = log.close()
    assert close is not None
    hidden = [r for r in close["reveals"] if r["max"] != "300.00"]
    with pytest.raises(Failed, match=r"beating a maximum of 200\.00 costs 210\.00") as failure:
        replay(log, reveals=hidden)
    assert failure.value.index == 1


def test_an_answer_the_leaders_maximum_owed_cannot_be_left_out() -> None:
    log = fresh()
    log.offer(Offer("a", 20_000, True, T + 1))
    log.offer(Offer("b", 15_000, False, T + 2))  # answered by a at 160.00
    log.ended = True
    entries = entries_of(log)
    with pytest.raises(Failed, match="meets it, yet no answer follows") as failure:
        replay(log, entries[:2])
    assert failure.value.index == 1


def test_two_calls_in_one_millisecond_read_as_the_rules_allow() -> None:
    """Without a believable stamp two calls judged in one millisecond share both times: b's
    new maximum right after a's bid looks like b answering a, until a's answer follows it."""
    log = fresh(AuctionRules(start_price=100, increment=1, seller_id="seller"))
    log.offer(Offer("b", 100, False, now_ms=T + 1))
    log.offer(Offer("a", 101, False, now_ms=T + 5))  # no stamp: judged at the script's clock
    log.offer(Offer("a", 102, True, now_ms=T + 5))  # the leader raises: no entry
    log.offer(Offer("b", 102, True, now_ms=T + 5))  # b's maximum, placed in full, answered
    log.ended = True
    entries = entries_of(log)
    assert [(e.bidder, e.kind, e.amount, e.judged) for e in entries][1:] == [
        (bidder(log, "a"), "bid", 101, T + 5),
        (bidder(log, "b"), "proxy", 102, T + 5),
        (bidder(log, "a"), "proxy", 102, T + 5),
    ]
    replayed = replay(log)
    assert (replayed.leader, replayed.price) == (bidder(log, "a"), 102)
    pushed = [*entries[:3], dataclasses.replace(entries[3], amount=103)]
    with pytest.raises(Failed) as failure:
        replay(log, pushed)
    assert failure.value.index is not None and failure.value.index <= 3


def test_a_retraction_hands_the_lead_to_the_highest_remaining_bid_with_its_maximum() -> None:
    log = fresh()
    log.offer(Offer("a", 20_000, True, T + 1))  # a 100.00 (max 200.00)
    log.offer(Offer("b", 15_000, False, T + 2))  # b 150.00, a answers 160.00
    log.offer(Offer("c", 50_000, True, T + 3))  # c 210.00 (max 500.00)
    assert log.retract("c", T + 4)  # a leads again at 160.00, with 200.00 behind it
    log.offer(Offer("d", 17_000, False, T + 5))  # answered by a: 180.00
    log.ended = True
    entries = entries_of(log)
    assert [(e.kind, e.amount) for e in entries][-3:] == [
        ("retraction", 21_000), ("bid", 17_000), ("proxy", 18_000)
    ]  # fmt: skip
    replayed = replay(log)
    assert (replayed.leader, replayed.price) == (bidder(log, "a"), 18_000)
    wrong = [*entries]
    wrong[4] = dataclasses.replace(entries[4], amount=20_000)  # a bid c never made
    with pytest.raises(Failed, match="no remaining bid of this bidder") as failure:
        replay(log, wrong)
    assert failure.value.index == 4


def test_a_tie_keeps_the_earlier_maximum_through_a_retraction() -> None:
    log = fresh()
    log.offer(Offer("a", 20_000, True, T + 1))
    log.offer(Offer("b", 20_000, True, T + 2))  # b 200.00 in full, a answers 200.00
    log.offer(Offer("c", 12_000, False, T + 3))  # below: refused
    log.offer(Offer("c", 21_000, False, T + 4))  # c leads at 210.00
    assert log.retract("c", T + 5)  # the later of the two 200.00 bids leads: a's answer
    log.ended = True
    replayed = replay(log)
    assert (replayed.leader, replayed.price) == (bidder(log, "a"), 20_000)


def test_a_new_round_replays_afresh_and_rounds_never_go_back() -> None:
    log = fresh()
    log.offer(Offer("a", 30_000, False, T + 1))
    log.reset(T + 100_000)
    log.offer(Offer("b", 10_000, False, T + 100_001))  # the start price again
    log.ended = True
    replayed = replay(log)
    assert (replayed.round, replayed.leader, replayed.price) == (2, bidder(log, "b"), 10_000)
    entries = entries_of(log)
    backwards = [entries[0], entries[1], dataclasses.replace(entries[0], index=2)]
    with pytest.raises(Failed, match="round 1 after round 2"):
        replay(log, backwards)


def test_a_round_reset_after_its_last_bid_leaves_no_winner() -> None:
    log = fresh()
    log.offer(Offer("a", 30_000, False, T + 1))
    log.reset(T + 100_000)
    log.ended = True
    assert replay(log).leader is None


def test_buy_now_stands_below_the_reserve_only() -> None:
    with_reserve = AuctionRules(10_000, 1_000, reserve=30_000, buy_now=50_000, seller_id="s")
    log = fresh(with_reserve)
    log.offer(Offer("a", 20_000, False, T + 1))
    log.offer(Offer("b", 50_000, False, T + 2))  # below the reserve: buy-now still stands
    entries = entries_of(log)
    assert [e.kind for e in entries] == ["bid", "buy_now"]
    assert replay(log).price == 50_000
    without = fresh(AuctionRules(10_000, 1_000, buy_now=50_000, seller_id="s"))
    without.offer(Offer("a", 20_000, False, T + 1))
    without.offer(Offer("b", 50_000, False, T + 2))  # a plain bid now: buy-now went
    without.ended = True
    assert [e.kind for e in entries_of(without)] == ["bid", "bid"]
    with pytest.raises(Failed, match="after buy-now stopped standing") as failure:
        replay(without, entries)  # the reserve auction's log under these rules
    assert failure.value.index == 1


def test_soft_close_and_the_window() -> None:
    rules = AuctionRules(10_000, 1_000, soft_close_s=60, seller_id="s")
    log = fresh(rules)
    end = T + 600_000
    log.offer(Offer("a", 10_000, False, end - 30_000))  # 30 s left: the end moves to +60 s
    log.offer(Offer("b", 11_000, False, end + 20_000))  # inside the extension
    log.ended = True
    entries = entries_of(log)
    assert [e.ends for e in entries] == [end + 30_000, end + 80_000]
    assert replay(log).leader == bidder(log, "b")
    unmoved = [entries[0], dataclasses.replace(entries[1], ends=end + 30_000)]
    with pytest.raises(Failed, match="endsAt") as failure:
        replay(log, unmoved)
    assert failure.value.index == 1
    late = [entries[0], dataclasses.replace(entries[1], arrived=end + 30_000)]
    with pytest.raises(Failed, match="at or after the end") as failure:
        replay(log, late)
    assert failure.value.index == 1
    early = [dataclasses.replace(entries[0], arrived=T - 1), entries[1]]
    with pytest.raises(Failed, match="before the auction went live"):
        replay(log, early, ended=False)


def test_the_close_must_name_the_replayed_winner_and_price() -> None:
    log = fresh()
    log.offer(Offer("a", 20_000, False, T + 1))
    log.offer(Offer("b", 21_000, False, T + 2))
    log.ended = True
    close = log.close()
    assert close is not None
    entries = entries_of(log)
    rules = Rules.of(log.auction())
    for outcome in (
        {**close["outcome"], "winner": bidder(log, "a")},
        {**close["outcome"], "price": "200.00"},
        {**close["outcome"], "winner": None, "price": None},  # no reserve to miss
    ):
        replayed = Replay(rules, parse_reveals(close["reveals"]), 1)
        replayed.run(entries)
        with pytest.raises(Failed, match="the close names") as failure:
            check_outcome(replayed, outcome, 1)
        assert failure.value.index == 1
