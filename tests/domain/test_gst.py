"""Fees and GST as plain rules: the premium, the platform fee, the tax split, rounding to the
paisa, HSN by category, the place of supply, and amounts in Indian words."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from num2words import num2words

from shared.domain.gst import (
    DEFAULT_HSN,
    Levy,
    buyer_charges,
    hsn_for_category,
    levy_for,
    place_of_supply,
    rate_text,
    seller_proceeds,
    state_tax_name,
)
from shared.domain.india import STATES
from shared.domain.money import indian_number_words, percent_of, rupees_in_words

D = Decimal
KARNATAKA, KERALA, CHANDIGARH, DELHI = STATES["29"], STATES["32"], STATES["04"], STATES["07"]

amounts = st.decimals(min_value=D("0.01"), max_value=D("9999999999.99"), places=2)
percentages = st.decimals(min_value=D("0"), max_value=D("100"), places=2)


# -- rounding --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "pct", "expected"),
    [
        ("100.00", "9", "9.00"),
        ("0.05", "9", "0.00"),  # 0.0045
        ("0.50", "9", "0.05"),  # 0.045: half up
        ("120345.50", "9", "10831.10"),  # 10831.095: half up
        ("120345.50", "18", "21662.19"),
        ("999.99", "12.5", "125.00"),  # 124.99875
        ("1", "0", "0.00"),
    ],
)
def test_a_percentage_is_rounded_half_up_to_the_paisa(amount: str, pct: str, expected: str) -> None:
    assert percent_of(D(amount), D(pct)) == D(expected)


# -- the buyer's charges ---------------------------------------------------------------------


def test_a_sale_within_one_state_pays_cgst_and_sgst_on_hammer_and_premium() -> None:
    charges = buyer_charges(
        item="Brass lamp",
        hammer=D("100000"),
        premium_pct=D("9"),
        code=hsn_for_category("lamps"),
        levy=Levy.INTRA,
        rate_pct=D("18"),
    )
    item, premium = charges.lines
    assert (item.value, item.central, item.state, item.integrated) == (
        D("100000"),
        D("9000.00"),
        D("9000.00"),
        D("0.00"),
    )
    assert premium.description == "Buyer's premium (9% of the hammer price)"
    assert (premium.value, premium.central, premium.state) == (
        D("9000.00"),
        D("810.00"),
        D("810.00"),
    )
    assert (charges.value, charges.tax, charges.total) == (D("109000"), D("19620"), D("128620"))


def test_a_sale_across_states_pays_igst() -> None:
    charges = buyer_charges(
        item="Brass lamp",
        hammer=D("120345.50"),
        premium_pct=D("9"),
        levy=Levy.INTER,
        rate_pct=D("18"),
    )
    assert [line.integrated for line in charges.lines] == [D("21662.19"), D("1949.60")]
    assert (charges.central, charges.state) == (D(0), D(0))
    assert charges.total == D("154788.39")


def test_without_a_premium_there_is_one_line_and_without_gst_no_tax() -> None:
    charges = buyer_charges(item="Clock", hammer=D("5000"), premium_pct=D("0"))
    assert len(charges.lines) == 1
    assert (charges.levy, charges.tax, charges.total, charges.rate_pct) == (
        Levy.NONE,
        D(0),
        D("5000"),
        D(0),
    )


@given(amounts, percentages, percentages, st.sampled_from([Levy.NONE, Levy.INTRA, Levy.INTER]))
def test_every_document_adds_up_to_the_paisa(
    hammer: Decimal, premium_pct: Decimal, rate_pct: Decimal, levy: Levy
) -> None:
    charges = buyer_charges(
        item="x", hammer=hammer, premium_pct=premium_pct, levy=levy, rate_pct=rate_pct
    )
    every = [charges.value, charges.central, charges.state, charges.integrated, charges.total]
    for line in charges.lines:
        every += [line.value, line.central, line.state, line.integrated, line.total]
        assert line.total == line.value + line.central + line.state + line.integrated
    assert all(amount == amount.quantize(D("0.01")) for amount in every)
    assert charges.value == sum(line.value for line in charges.lines)
    assert charges.tax == sum(line.tax for line in charges.lines)
    assert charges.total == sum(line.total for line in charges.lines)
    assert charges.total == charges.value + charges.tax
    assert charges.central == charges.state  # half each, rounded alike
    # each rounded tax is within half a paisa of the exact one, per line
    for line in charges.lines:
        exact = line.value * (rate_pct if levy is not Levy.NONE else 0) / 100
        assert abs(line.tax - exact) <= D("0.01")


# -- the seller's proceeds -------------------------------------------------------------------


def test_the_platform_fee_comes_off_the_hammer_price() -> None:
    proceeds = seller_proceeds(D("120345.50"), D("5"))
    assert (proceeds.fee, proceeds.net) == (D("6017.28"), D("114328.22"))  # 6017.275 half up


@given(amounts, percentages)
def test_fee_and_net_add_up_to_the_hammer_price(hammer: Decimal, pct: Decimal) -> None:
    proceeds = seller_proceeds(hammer, pct)
    assert proceeds.fee + proceeds.net == hammer
    assert D(0) <= proceeds.fee <= hammer


# -- which tax, where ------------------------------------------------------------------------


def test_goods_are_supplied_where_they_are_delivered_or_else_in_the_sellers_state() -> None:
    assert place_of_supply(KARNATAKA, KERALA) is KERALA
    assert place_of_supply(KARNATAKA, None) is KARNATAKA
    assert levy_for(KARNATAKA, KARNATAKA) is Levy.INTRA
    assert levy_for(KARNATAKA, KERALA) is Levy.INTER


def test_a_union_territory_without_a_legislature_levies_utgst() -> None:
    assert state_tax_name(CHANDIGARH) == "UTGST"
    assert state_tax_name(DELHI) == "SGST"
    assert state_tax_name(KARNATAKA) == "SGST"


@pytest.mark.parametrize(
    ("pct", "text"),
    [("18", "18%"), ("9", "9%"), ("6.125", "6.125%"), ("12.50", "12.5%"), ("0", "0%")],
)
def test_rates_are_printed_with_the_digits_they_have(pct: str, text: str) -> None:
    assert rate_text(D(pct)) == text


# -- HSN by category -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("category", "code"),
    [
        ("lamps", "9405"),
        ("clocks", "9105"),
        ("clock", "9105"),
        ("vintage-watches", "9102"),
        ("watch", "9102"),
        ("compass", "9014"),
        ("antique-clocks", "9706"),  # an antique is an antique first, whatever it is
        ("silk-sarees", "5007"),
        ("cricket-memorabilia", "9506"),
        ("paintings", "9701"),
    ],
)
def test_a_category_names_its_hsn_by_the_first_word_the_table_knows(
    category: str, code: str
) -> None:
    assert hsn_for_category(category).code == code
    assert hsn_for_category(category).kind == "HSN"


@pytest.mark.parametrize("category", [None, "", "misc", "z-9", "a" * 40])
def test_an_unknown_category_gets_the_collectors_pieces_heading(category: str | None) -> None:
    assert hsn_for_category(category) == DEFAULT_HSN
    assert DEFAULT_HSN.code == "9705"


# -- amounts in words ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        (
            "120345.50",
            "Rupees One Lakh Twenty Thousand Three Hundred Forty-Five and Fifty Paise Only",
        ),
        ("1", "Rupees One Only"),
        ("0.50", "Fifty Paise Only"),
        ("0.01", "One Paisa Only"),
        ("0", "Rupees Zero Only"),
        ("100000", "Rupees One Lakh Only"),
        ("10000000", "Rupees One Crore Only"),
        ("1010101.01", "Rupees Ten Lakh Ten Thousand One Hundred One and One Paisa Only"),
        (
            "9999999999.99",
            "Rupees Nine Hundred Ninety-Nine Crore Ninety-Nine Lakh Ninety-Nine Thousand "
            "Nine Hundred Ninety-Nine and Ninety-Nine Paise Only",
        ),
        ("23600000000", "Rupees Two Thousand Three Hundred Sixty Crore Only"),
    ],
)
def test_amounts_are_written_in_the_indian_system(amount: str, words: str) -> None:
    assert rupees_in_words(D(amount)) == words


@given(st.integers(min_value=1, max_value=10**10 - 1))  # num2words stops there
def test_the_words_are_num2words_indian_english_without_commas_and_and(n: int) -> None:
    theirs = num2words(n, lang="en_IN").replace(",", "").replace(" and ", " ")
    assert indian_number_words(n).lower() == theirs


def test_a_negative_amount_has_no_words() -> None:
    with pytest.raises(ValueError):
        rupees_in_words(D("-1"))
