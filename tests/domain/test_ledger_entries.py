"""The log's entries (shared.domain.ledger.entries): the exact bytes of an entry, the pseudonym
and the max commitment, and what `judge_bid`'s decisions become."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.bidding import Accepted, AuctionRules, Book, Offer, judge_bid
from shared.domain.ledger.entries import (
    PlacedEntry,
    canonical,
    decimal_text,
    iso_ms,
    ledger_entries,
    max_commitment,
    placed_from_accepted,
    pseudonym,
)
from shared.domain.ledger.merkle import leaf_hash
from shared.domain.vocabulary import AuctionStatus

T = 1_790_000_000_123  # 2026-09-21T14:13:20.123Z


def test_an_entry_is_canonical_json_byte_for_byte() -> None:
    placed = PlacedEntry(
        "proxy", "u1", 30_000, T, T + 2, T + 599_877, max_amount=45_000, nonce="n1"
    )
    (entry,) = ledger_entries("a1", 0, [placed], b"secret")
    bidder = hmac.new(b"secret", b"u1", hashlib.sha256).hexdigest()[:32]
    commit = hashlib.sha256(b"450.00|n1").hexdigest()
    assert entry.text == (
        '{"amount":"300.00","arrivedAt":"2026-09-21T14:13:20.123Z","auctionId":"a1",'
        f'"bidder":"{bidder}","endsAt":"2026-09-21T14:23:20.000Z","index":0,'
        f'"judgedAt":"2026-09-21T14:13:20.125Z","kind":"proxy","maxCommit":"{commit}","v":1}}'
    )
    assert entry.leaf_hash == hashlib.sha256(b"\x00" + entry.text.encode()).digest()
    assert entry.leaf_hash == leaf_hash(entry.text.encode())


def test_a_later_round_is_named_and_the_first_is_not() -> None:
    first, second = ledger_entries(
        "a1",
        4,
        [
            PlacedEntry("bid", "u1", 100, T, T, T + 1),
            PlacedEntry("bid", "u1", 100, T, T, T + 1, round=2),
        ],
        b"s",
    )
    assert "round" not in json.loads(first.text)
    assert json.loads(second.text)["round"] == 2
    assert (first.index, second.index) == (4, 5)
    assert json.loads(first.text)["maxCommit"] is None


def test_the_pseudonym_is_hmac_sha256_cut_to_32_hex_digits() -> None:
    # RFC 4231, test case 2.
    assert pseudonym(b"Jefe", "what do ya want for nothing?") == "5bdcc146bf60754e6a042426089575c7"
    assert pseudonym(b"one auction", "u1") != pseudonym(b"another auction", "u1")


def test_the_max_commitment_hashes_the_two_digit_amount_and_the_nonce() -> None:
    assert max_commitment(30_000, "abcd") == (
        "694cf76249158d90b0026ed7fa7fc7bb5920eb63b15adfeedc6040f2d50cd486"
    )
    assert max_commitment(30_000, "abcd") == hashlib.sha256(b"300.00|abcd").hexdigest()


def test_amounts_and_moments_are_written_exactly() -> None:
    assert [decimal_text(n) for n in (0, 5, 100, 30_005, 999_999_999_999)] == [
        "0.00", "0.05", "1.00", "300.05", "9999999999.99",
    ]  # fmt: skip
    assert iso_ms(0) == "1970-01-01T00:00:00.000Z"
    assert iso_ms(T) == "2026-09-21T14:13:20.123Z"
    assert iso_ms(T + 877) == "2026-09-21T14:13:21.000Z"
    assert canonical({"b": 1, "a": "é"}) == '{"a":"é","b":1}'.encode()


def test_a_proxy_entry_and_only_one_carries_a_maximum() -> None:
    with pytest.raises(ValueError):
        PlacedEntry("proxy", "u1", 100, T, T, T)
    with pytest.raises(ValueError):
        PlacedEntry("bid", "u1", 100, T, T, T, max_amount=200, nonce="n")


RULES = AuctionRules(start_price=10_000, increment=1_000, buy_now=50_000, seller_id="seller")
BOOK = Book(RULES, AuctionStatus.LIVE, T - 60_000, T + 600_000)


def nonce(user: str, maximum: int) -> str:
    return f"{user}:{maximum}"


def play(*offers: Offer) -> list[list[tuple[str, str, int, int | None]]]:
    """Each offer's entries as (kind, user, amount, committed maximum)."""
    book, out = BOOK, []
    for offer in offers:
        result = judge_bid(book, offer)
        assert isinstance(result, Accepted), result
        placed = placed_from_accepted(offer, result, nonce_of=nonce)
        out.append([(str(p.kind), p.user_id, p.amount, p.max_amount) for p in placed])
        for p in placed:
            assert p.nonce == (nonce(p.user_id, p.max_amount) if p.max_amount else None)
            assert (p.arrived_ms, p.judged_ms, p.ends_ms) == (
                offer.moment, offer.now_ms, result.book.ends_ms
            )  # fmt: skip
        book = result.book
    return out


def arriving(user: str, amount: int, is_max: bool, at: int) -> Offer:
    """An offer stamped at the gateway at `at`, judged by the script 3 ms later."""
    return Offer(user, amount, is_max, now_ms=at + 3, arrived_ms=at)


def test_what_judge_bids_decisions_become() -> None:
    assert play(
        arriving("a", 20_000, True, T),  # a first maximum bids the start price
        arriving("b", 12_000, False, T + 1),  # answered by a's maximum
        arriving("c", 15_000, True, T + 2),  # a new maximum below a's: placed in full, answered
        arriving("a", 30_000, True, T + 3),  # the leader raises: no visible bid, no entry
        arriving("d", 35_000, True, T + 4),  # beats a's raised maximum by the increment
        arriving("e", 36_000, False, T + 5),  # above d's maximum: e leads
    ) == [
        [("proxy", "a", 10_000, 20_000)],
        [("bid", "b", 12_000, None), ("proxy", "a", 13_000, 20_000)],
        [("proxy", "c", 15_000, 15_000), ("proxy", "a", 16_000, 20_000)],
        [],
        [("proxy", "d", 31_000, 35_000)],
        [("bid", "e", 36_000, None)],
    ]


def test_an_entry_arrives_at_the_moment_the_rules_judged_it_at() -> None:
    believed = arriving("a", 10_000, False, T)
    doubted = Offer("a", 10_000, False, now_ms=T, arrived_ms=T + 5_000)  # ahead of the clock
    for offer, arrived in ((believed, T), (doubted, T)):
        result = judge_bid(BOOK, offer)
        assert isinstance(result, Accepted)
        (placed,) = placed_from_accepted(offer, result, nonce_of=nonce)
        assert (placed.arrived_ms, placed.judged_ms) == (arrived, offer.now_ms)


def test_a_buy_now_ends_the_auction_when_judged_or_at_the_end_it_had() -> None:
    offer = arriving("a", 50_000, False, T)
    result = judge_bid(BOOK, offer)
    assert isinstance(result, Accepted) and result.buy_now
    (placed,) = placed_from_accepted(offer, result, nonce_of=nonce)
    assert (placed.kind, placed.amount, placed.ends_ms) == ("buy_now", 50_000, T + 3)
    graced = replace(BOOK, grace_ms=2_000)
    late = Offer("a", 50_000, False, now_ms=BOOK.ends_ms + 700, arrived_ms=BOOK.ends_ms - 1)
    result = judge_bid(graced, late)
    assert isinstance(result, Accepted) and result.buy_now
    (placed,) = placed_from_accepted(late, result, nonce_of=nonce)
    assert (placed.arrived_ms, placed.judged_ms, placed.ends_ms) == (
        BOOK.ends_ms - 1, BOOK.ends_ms + 700, BOOK.ends_ms
    )  # fmt: skip


_TEXT = st.text(st.characters(codec="utf-8"), max_size=12)
_VALUE = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | _TEXT


@given(st.dictionaries(_TEXT, _VALUE | st.dictionaries(_TEXT, _VALUE, max_size=3), max_size=8))
def test_canonical_is_the_standard_librarys_sorted_compact_json(document: dict[str, Any]) -> None:
    """orjson writes the entries (a sixth of the CPU on the bid path); the bytes are those of
    the standard library's sorted, compact, unescaped-UTF-8 JSON, control characters, quotes,
    backslashes and any Unicode included."""
    expected = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical(document) == expected.encode()
