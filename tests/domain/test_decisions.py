"""The seller's decision and the buyer's answer (shared.domain.decisions), as worked examples."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from shared.domain.decisions import (
    AwaitingDecision,
    BuyerAnswer,
    PendingCounter,
    SellerAction,
    judge_answer,
    judge_decision,
)
from shared.domain.errors import DomainError, ValidationFailed
from shared.domain.vocabulary import AuctionStatus

ENDED = AwaitingDecision(
    status="ended",
    seller_id="seller",
    highest_bidder_id="asha",
    highest_amount=Decimal("1250.00"),
    has_counter=False,
)
PENDING = PendingCounter(
    status="pending",
    buyer_id="asha",
    amount=Decimal("1500.00"),
    auction_status="ended",
    current_round=True,
)


def refusal(run: Callable[..., object]) -> DomainError:
    with pytest.raises(DomainError) as caught:
        run()
    return caught.value


def test_accept_sells_at_the_highest_bid_to_the_highest_bidder() -> None:
    verdict = judge_decision(ENDED, "seller", SellerAction.ACCEPT, None)
    assert verdict.status == AuctionStatus.SOLD
    assert verdict.price == Decimal("1250.00")
    assert verdict.bidder_id == "asha"


def test_reject_closes_with_no_winner() -> None:
    verdict = judge_decision(ENDED, "seller", SellerAction.REJECT, None)
    assert verdict.status == AuctionStatus.CLOSED_NO_WINNER
    assert verdict.price is None
    assert verdict.bidder_id == "asha"


def test_counter_above_the_highest_bid_leaves_the_auction_ended_with_an_offer() -> None:
    verdict = judge_decision(ENDED, "seller", SellerAction.COUNTER, Decimal("1250.01"))
    assert verdict.status == AuctionStatus.ENDED
    assert verdict.counter_amount == Decimal("1250.01")
    assert verdict.bidder_id == "asha"


@pytest.mark.parametrize("amount", ["1250.00", "1000.00", "0.01"])
def test_counter_at_or_below_the_highest_bid_is_refused(amount: str) -> None:
    error = refusal(lambda: judge_decision(ENDED, "seller", SellerAction.COUNTER, Decimal(amount)))
    assert error.code == "counter_too_low"
    assert error.extra["highestBid"] == "1250.00"


def test_a_counter_needs_an_amount_and_the_others_take_none() -> None:
    assert isinstance(
        refusal(lambda: judge_decision(ENDED, "seller", SellerAction.COUNTER, None)),
        ValidationFailed,
    )
    for action in (SellerAction.ACCEPT, SellerAction.REJECT):
        error = refusal(lambda a=action: judge_decision(ENDED, "seller", a, Decimal("2000")))
        assert isinstance(error, ValidationFailed)


@pytest.mark.parametrize("actor", ["asha", "ravi", "admin", ""])
def test_only_the_seller_decides(actor: str) -> None:
    for action in SellerAction:
        amount = Decimal("2000") if action == SellerAction.COUNTER else None
        error = refusal(lambda a=action, m=amount: judge_decision(ENDED, actor, a, m))
        assert error.code == "forbidden"


@pytest.mark.parametrize("status", ["scheduled", "live", "sold", "closed_no_winner"])
def test_no_decision_unless_ended(status: str) -> None:
    auction = AwaitingDecision(status, "seller", "asha", Decimal("1250.00"), has_counter=False)
    error = refusal(lambda: judge_decision(auction, "seller", SellerAction.ACCEPT, None))
    assert error.code == "decision_not_allowed"
    assert error.extra["auctionStatus"] == status


def test_one_decision_per_auction_a_counter_was_the_decision() -> None:
    countered = AwaitingDecision("ended", "seller", "asha", Decimal("1250.00"), has_counter=True)
    for action in SellerAction:
        amount = Decimal("3000") if action == SellerAction.COUNTER else None
        error = refusal(lambda a=action, m=amount: judge_decision(countered, "seller", a, m))
        assert error.code == "decision_not_allowed"
        assert "counter offer" in error.detail


def test_an_ended_auction_without_a_highest_bid_has_nothing_to_decide() -> None:
    empty = AwaitingDecision("ended", "seller", None, None, has_counter=False)
    error = refusal(lambda: judge_decision(empty, "seller", SellerAction.ACCEPT, None))
    assert error.code == "decision_not_allowed"


def test_the_buyer_accepting_the_counter_buys_at_the_counter_amount() -> None:
    verdict = judge_answer(PENDING, "asha", BuyerAnswer.ACCEPT)
    assert verdict.status == AuctionStatus.SOLD
    assert verdict.price == Decimal("1500.00")
    assert verdict.bidder_id == "asha"


def test_the_buyer_rejecting_the_counter_closes_with_no_winner() -> None:
    verdict = judge_answer(PENDING, "asha", BuyerAnswer.REJECT)
    assert verdict.status == AuctionStatus.CLOSED_NO_WINNER
    assert verdict.price is None


@pytest.mark.parametrize("actor", ["seller", "ravi", ""])
def test_only_the_counters_buyer_answers(actor: str) -> None:
    error = refusal(lambda: judge_answer(PENDING, actor, BuyerAnswer.ACCEPT))
    assert error.code == "forbidden"


@pytest.mark.parametrize("status", ["accepted", "rejected"])
def test_an_answered_counter_cannot_be_answered_again(status: str) -> None:
    answered = PendingCounter(status, "asha", Decimal("1500.00"), "sold", current_round=True)
    for answer in BuyerAnswer:
        error = refusal(lambda a=answer: judge_answer(answered, "asha", a))
        assert error.code == "counter_not_pending"
        assert error.extra["counterStatus"] == status


def test_a_counter_of_a_void_round_no_longer_stands() -> None:
    void = PendingCounter("pending", "asha", Decimal("1500.00"), "scheduled", current_round=False)
    error = refusal(lambda: judge_answer(void, "asha", BuyerAnswer.ACCEPT))
    assert error.code == "counter_not_pending"
