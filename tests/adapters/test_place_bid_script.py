"""place_bid.lua against the rules it mirrors: for any sequence of offers, the script in real
Redis (through the bridge and the real upstash-redis client) decides exactly what
shared.domain.bidding.judge_bid decides."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.adapters import keys
from shared.domain.bidding import Accepted, AuctionRules, Book, Offer, Refused, judge_bid
from shared.domain.ledger.entries import placed_from_accepted
from shared.domain.money import from_minor, to_minor
from shared.domain.vocabulary import AuctionStatus
from shared.services import bidding
from shared.services.context import Context
from shared.settings import load_settings
from tests.support.harness import Person, live_auction

USERS = [str(uuid.UUID(int=i + 1)) for i in range(4)]
Bid = tuple[str, int, bool]  # (user, amount in minor units, is a maximum)

offers = st.lists(
    st.tuples(
        st.sampled_from(USERS),
        st.integers(min_value=9_000, max_value=40_000),
        st.booleans(),
    ),
    min_size=1,
    max_size=15,
)


@pytest.fixture
def unlimited(ctx: Context) -> Context:
    """The functions' context with a rate limit that never bites (rules only)."""
    return replace(ctx, settings=load_settings(BID_RATE_LIMIT="100000/s:100000"))


def run_both(
    ctx: Context,
    seller: Person,
    seq: Sequence[Bid],
    *,
    rules_kwargs: dict[str, Any],
    auction_kwargs: dict[str, Any],
) -> None:
    auction_id = live_auction(ctx, seller, **auction_kwargs)
    state = ctx.store.command("HGETALL", keys.state(str(auction_id)))
    fields = dict(zip(state[::2], state[1::2], strict=True))
    current = Book(
        rules=AuctionRules(seller_id=seller.id, **rules_kwargs),
        status=AuctionStatus.LIVE,
        go_live_ms=int(fields["goLiveAt"]),
        ends_ms=int(fields["endsAt"]),
    )
    log_size = 0
    for user, amount, is_max in seq:
        kind, result = bidding.judge_in_redis(
            ctx, auction_id, user, from_minor(amount), is_max=is_max
        )
        now = int(fields["goLiveAt"]) + 1_000  # inside the window, like Redis's clock now
        expected = judge_bid(current, Offer(user, amount, is_max, now))
        if isinstance(expected, Refused):
            assert kind == "refused", (user, amount, is_max, result)
            assert result["code"] == expected.code
            if expected.min_next is not None:
                assert result["minNextBid"] == f"{from_minor(expected.min_next):f}"
            continue
        assert isinstance(expected, Accepted)
        assert kind == "ok", (user, amount, is_max, result)
        placed = result["record"]["bids"] or []
        assert [(b["bidderId"], b["amount"], b["isProxy"]) for b in placed] == [
            (b.user_id, b.amount, b.is_proxy) for b in expected.bids
        ]
        assert sorted(result["outbid"] or []) == sorted(expected.outbid)
        # The ledger: each placed row is the next entry; a proxy row names the maximum its
        # entry commits to, as the Python model of the entries says.
        model = placed_from_accepted(
            Offer(user, amount, is_max, now), expected, nonce_of=lambda _u, _m: "n"
        )
        assert [b["index"] for b in placed] == list(range(log_size, log_size + len(placed)))
        assert [b.get("max") for b in placed] == [p.max_amount for p in model]
        assert all(bool(b.get("nonce")) == b["isProxy"] for b in placed)
        log_size += len(placed)
        assert result["buyNow"] == expected.buy_now
        current = expected.book
        leader = orjson.loads(ctx.store.command("GET", keys.highest(str(auction_id))))
        assert current.leader is not None
        assert (leader["userId"], leader["amount"], leader["max"]) == (
            current.leader.user_id,
            current.leader.amount,
            current.leader.max_amount,
        )


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seq=offers)
def test_script_judges_plain_and_proxy_bids_like_the_rules(
    unlimited: Context, seller: Person, seq: Sequence[Bid]
) -> None:
    run_both(
        unlimited,
        seller,
        seq,
        rules_kwargs={"start_price": 10_000, "increment": 1_000},
        auction_kwargs={"start_price": "100.00", "increment": "10.00"},
    )


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seq=offers)
def test_script_judges_reserve_and_buy_now_like_the_rules(
    unlimited: Context, seller: Person, seq: Sequence[Bid]
) -> None:
    run_both(
        unlimited,
        seller,
        seq,
        rules_kwargs={
            "start_price": 10_000,
            "increment": 1_000,
            "reserve": 25_000,
            "buy_now": 30_000,
        },
        auction_kwargs={
            "start_price": "100.00",
            "increment": "10.00",
            "reserve": "250.00",
            "buy_now": "300.00",
        },
    )


def test_script_refuses_the_seller_and_unknown_auctions(unlimited: Context, seller: Person) -> None:
    from shared.domain.errors import DomainError

    auction_id = live_auction(unlimited, seller)
    kind, result = bidding.judge_in_redis(unlimited, auction_id, seller.id, from_minor(10_000))
    assert (kind, result["code"]) == ("refused", "own_auction")
    with pytest.raises(DomainError) as refused:
        bidding.judge_in_redis(unlimited, uuid.uuid4(), USERS[0], from_minor(10_000))
    assert refused.value.code == "not_found"


def test_money_goes_into_redis_as_integer_minor_units(unlimited: Context, seller: Person) -> None:
    auction_id = live_auction(unlimited, seller, start_price="1234.56", increment="0.01")
    state = unlimited.store.command("HGETALL", keys.state(str(auction_id)))
    fields = dict(zip(state[::2], state[1::2], strict=True))
    assert fields["startPrice"] == str(to_minor(from_minor(123456)))
    kind, result = bidding.judge_in_redis(unlimited, auction_id, USERS[0], from_minor(123456))
    assert kind == "ok" and result["minNextBid"] == "1234.57"
