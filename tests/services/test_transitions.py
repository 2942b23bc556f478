"""The lifecycle transitions (shared.services.transitions): the end of an auction decided on
what was accepted before its clock ran out, even while the end is under way."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from shared.adapters import keys
from shared.adapters.orm import Auction
from shared.domain.errors import DomainError
from shared.domain.times import from_ms, iso, to_ms
from shared.services import auction_state, bidding, transitions
from shared.services.bidding import BidReceipt
from shared.services.context import Context
from tests.support.harness import Person, live_auction, person
from tests.support.outcome import disagreements


def status(ctx: Context, auction_id: object) -> str:
    with ctx.db.session() as session:
        return session.get_one(Auction, auction_id).status


def wait_until(moment_ms: int) -> None:
    time.sleep(max(0.0, moment_ms / 1000 - time.time()))


def ends_soon(ctx: Context, seller: Person, in_s: float = 0.3) -> tuple[uuid.UUID, int]:
    ends_at = datetime.now(UTC) + timedelta(seconds=in_s)
    return live_auction(ctx, seller, ends_at=ends_at), to_ms(ends_at)


def test_a_bid_that_arrived_before_the_end_is_judged_on_the_rules_in_the_grace(
    ctx: Context, seller: Person, buyer: Person
) -> None:
    """A bid that arrived 50 ms before the end and reached the bid script after it (a cold
    function) is judged on the rules, and the auction is decided with it."""
    auction, ends = ends_soon(ctx, seller)
    wait_until(ends + 200)
    receipt = bidding.place_bid(ctx, auction, buyer.id, Decimal("100.00"), arrived_ms=ends - 50)
    assert receipt.arrived_at == iso(from_ms(ends - 50))
    assert not transitions.end(ctx, auction), "decided before the grace was over"
    assert status(ctx, auction) == "live"
    wait_until(ends + ctx.settings.late_bid_grace_ms + 20)
    assert transitions.end(ctx, auction)
    assert disagreements(ctx, auction, {receipt.bid["id"]: Decimal("100.00")}) == []


def test_a_bid_that_arrived_at_the_end_is_refused_and_says_when_it_arrived(
    ctx: Context, seller: Person, buyer: Person
) -> None:
    auction, ends = ends_soon(ctx, seller)
    wait_until(ends + 100)
    with pytest.raises(DomainError) as refused:
        bidding.place_bid(ctx, auction, buyer.id, Decimal("100.00"), arrived_ms=ends)
    assert refused.value.code == "auction_not_live"
    assert refused.value.extra["arrivedAt"] == iso(from_ms(ends))
    assert refused.value.extra["endsAt"] == iso(from_ms(ends))


def test_the_end_waits_for_the_grace_then_closes_the_window_before_it_decides(
    ctx: Context, seller: Person, buyer: Person
) -> None:
    auction, ends = ends_soon(ctx, seller)
    wait_until(ends + 50)
    assert not transitions.end(ctx, auction)
    due = float(ctx.store.command("ZSCORE", keys.SCHEDULE_END, str(auction)))
    assert due == ends + ctx.settings.late_bid_grace_ms, "the end comes back after the grace"
    wait_until(ends + ctx.settings.late_bid_grace_ms + 20)
    assert transitions.end(ctx, auction)
    assert status(ctx, auction) == "closed_no_winner"
    # Closed: a bid stamped as arriving before the end is refused, whatever its stamp says.
    with pytest.raises(DomainError) as refused:
        bidding.place_bid(ctx, auction, buyer.id, Decimal("100.00"), arrived_ms=ends - 10)
    assert refused.value.code == "auction_not_live"


def end_while_a_late_bid_lands(
    ctx: Context, auction: uuid.UUID, rival: Person, ends: int, patch: pytest.MonkeyPatch
) -> BidReceipt | str:
    """Run the end transition with a bid that arrived 10 ms before the end reaching the bid
    script once the decision is committed, before it is relayed to Redis (the moment the bid
    store still says `live`): its receipt, or the code it was refused with."""
    from shared.services import outbox

    real_relay = outbox.relay
    landed: list[BidReceipt | str] = []

    def a_late_bid_then_relay(ctx: Context, **kwargs: Any) -> int:
        if not landed and status(ctx, auction) != "live":  # (the drain relays too, earlier)
            try:
                amount = Decimal("500.00")
                landed.append(
                    bidding.place_bid(ctx, auction, rival.id, amount, arrived_ms=ends - 10)
                )
            except DomainError as exc:
                landed.append(exc.code)
        return real_relay(ctx, **kwargs)

    patch.setattr(outbox, "relay", a_late_bid_then_relay)
    assert transitions.end(ctx, auction)
    patch.setattr(outbox, "relay", real_relay)
    return landed[0]


def test_nothing_gets_in_once_the_window_is_closed(
    ctx: Context, seller: Person, buyer: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The end closes the window, then drains and decides: a bid that arrived in time but
    reaches the script while the end is under way is refused, so the decision has every bid
    that was accepted."""
    # (a second to place the early bid in: creating the auction can take most of one here)
    auction, ends = ends_soon(ctx, seller, in_s=1.5)
    early = bidding.place_bid(ctx, auction, buyer.id, Decimal("100.00"))
    wait_until(ends + ctx.settings.late_bid_grace_ms + 20)
    late = end_while_a_late_bid_lands(ctx, auction, person(ctx, "buyer"), ends, monkeypatch)
    assert late == "auction_not_live"
    assert disagreements(ctx, auction, {early.bid["id"]: Decimal("100.00")}) == []


def test_an_end_that_drains_before_it_closes_the_window_is_caught(
    ctx: Context, seller: Person, buyer: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mutant of that order (the arrival judging tried before this one): the end drains
    and decides without closing the window first, and the bid that arrived in time lands in
    the grace after the decision. It gets a 201 on an auction decided without it, and the
    agreement check says so."""
    # (a second to place the early bid in: creating the auction can take most of one here)
    auction, ends = ends_soon(ctx, seller, in_s=1.5)
    early = bidding.place_bid(ctx, auction, buyer.id, Decimal("100.00"))
    wait_until(ends + 20)

    def no_close(ctx: Context, auction_id: uuid.UUID) -> auction_state.Window:
        return auction_state.Window(closed=True, ends_ms=ends)

    monkeypatch.setattr(auction_state, "close_window", no_close)
    late = end_while_a_late_bid_lands(ctx, auction, person(ctx, "buyer"), ends, monkeypatch)
    assert isinstance(late, BidReceipt), late
    accepted = {early.bid["id"]: Decimal("100.00"), late.bid["id"]: Decimal("500.00")}
    assert disagreements(ctx, auction, accepted) != []


def test_the_end_drains_every_waiting_record_before_it_decides(
    ctx: Context, seller: Person, buyer: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bid whose handler's own insert failed waits in the bid outbox; more than a batch of
    other auctions' records ahead of it must not make the end decide without it."""
    from shared.adapters.pg import LaneBusy

    busy = [live_auction(ctx, seller) for _ in range(3)]
    bidders = [person(ctx, "buyer") for _ in range(35)]
    for i in range(210):  # 210 records ahead (one batch is 200), within the bid rate limits
        bidding.place_bid(ctx, busy[i % 3], bidders[i % 35].id, Decimal(100 + 10 * (i // 3)))
    auction, ends = ends_soon(ctx, seller, in_s=0.5)

    def lost(*_: Any, **__: Any) -> None:
        raise LaneBusy("the handler's insert failed")

    monkeypatch.setattr(bidding, "store_bids_now", lost)
    receipt = bidding.place_bid(ctx, auction, buyer.id, Decimal("100.00"))
    wait_until(ends + ctx.settings.late_bid_grace_ms + 20)
    assert transitions.end(ctx, auction)
    assert status(ctx, auction) == "ended"
    assert disagreements(ctx, auction, {receipt.bid["id"]: Decimal("100.00")}) == []


def test_an_end_whose_intake_is_postponed_waits_and_comes_back(
    ctx: Context, seller: Person, buyer: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL failing mid-intake: the end does not decide on what it could not read; the
    window stays shut and the end is scheduled again a second later."""
    from shared.services import bid_intake

    auction, ends = ends_soon(ctx, seller)
    receipt = bidding.place_bid(ctx, auction, buyer.id, Decimal("100.00"))
    wait_until(ends + ctx.settings.late_bid_grace_ms + 20)
    monkeypatch.setattr(bid_intake, "_drain", lambda *_: None)
    assert not transitions.end(ctx, auction)
    assert status(ctx, auction) == "live"
    due = float(ctx.store.command("ZSCORE", keys.SCHEDULE_END, str(auction)))
    assert due > to_ms(datetime.now(UTC))
    monkeypatch.undo()
    assert transitions.end(ctx, auction)
    assert disagreements(ctx, auction, {receipt.bid["id"]: Decimal("100.00")}) == []
