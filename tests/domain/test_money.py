"""Money: what the API accepts and how it is shown."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.money import (
    MoneyError,
    display_money,
    from_minor,
    group_digits,
    money_str,
    parse_money,
    to_minor,
)


@pytest.mark.parametrize(
    ("given_value", "expected"),
    [
        (1250, "1250.00"),
        ("1250", "1250.00"),
        ("1250.5", "1250.50"),
        (0.1, "0.10"),
        ("99.99", "99.99"),
        (1e2, "100.00"),
    ],
)
def test_numbers_and_decimal_strings_are_accepted(given_value: object, expected: str) -> None:
    assert money_str(parse_money(given_value)) == expected


@pytest.mark.parametrize(
    "bad",
    [
        0,
        -1,
        "0.00",
        "1.234",
        "1.230",
        " 5 ",
        "+5",
        "1e3",
        "1_000",
        "٥",
        "1" * 29 + ".001",
        10**30,
        float("nan"),
        float("inf"),
        -1e30,
        -(10**30),
        "abc",
        "",
        None,
        True,
        [],
        {},
        "NaN",
        "Infinity",
        1e20,
        "1e3x",
        0.30000000000000004,
    ],
)
def test_everything_else_is_refused(bad: object) -> None:
    with pytest.raises(MoneyError):
        parse_money(bad)


@given(st.integers(min_value=1, max_value=999_999_999_999))
def test_minor_units_round_trip(minor: int) -> None:
    assert to_minor(from_minor(minor)) == minor
    assert parse_money(money_str(minor)) == from_minor(minor)


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("120000", "INR", "1,20,000.00"),
        ("12345678.9", "INR", "1,23,45,678.90"),
        ("999", "INR", "999.00"),
        ("120000", "USD", "120,000.00"),
        ("1000", "INR", "1,000.00"),
    ],
)
def test_indian_grouping_for_inr(amount: str, currency: str, expected: str) -> None:
    assert group_digits(Decimal(amount), currency) == expected


def test_display_money_uses_the_currency_symbol() -> None:
    assert display_money(Decimal("120000"), "INR") == "₹1,20,000.00"
    assert display_money(Decimal("5"), "CHF") == "CHF 5.00"
