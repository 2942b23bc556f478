"""Money: Decimal at the edges and in PostgreSQL, integer minor units inside Redis and rules.

Every currency here has two fractional digits (the API's responses give `"1250.00"`).
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

MAX_AMOUNT = Decimal("9999999999.99")  # NUMERIC(12,2)
CENT = Decimal("0.01")


class MoneyError(ValueError):
    pass


_MONEY_TEXT = re.compile(r"^[0-9]{1,10}(\.[0-9]{1,2})?$")


def parse_money(value: object) -> Decimal:
    """A JSON number or a decimal string with at most 2 fractional digits, > 0, <= MAX_AMOUNT.

    Strings are held to the plain form (`"1250"`, `"1250.5"`, `"1250.50"`): no exponent, sign,
    separators, spaces or a third fractional digit."""
    try:
        return _parse_money(value)
    except ArithmeticError:  # decimal's InvalidOperation for what no check above foresaw
        raise MoneyError("must be an amount of at most 12 digits") from None


def _parse_money(value: object) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise MoneyError("must be a number or a decimal string")
    if isinstance(value, str):
        if not _MONEY_TEXT.match(value):
            raise MoneyError('must be a decimal string with at most 2 fractional digits, "1250.50"')
        amount = Decimal(value)
    elif isinstance(value, int):
        if value > MAX_AMOUNT:
            raise MoneyError(f"must be at most {MAX_AMOUNT}")
        amount = Decimal(value)
    elif isinstance(value, float):
        # repr is the shortest text that reads back as this float: 0.1 stays "0.1".
        try:
            amount = Decimal(repr(value))
        except InvalidOperation:
            raise MoneyError("must be a finite amount") from None
        if not amount.is_finite() or amount > MAX_AMOUNT:
            raise MoneyError(f"must be a finite amount, at most {MAX_AMOUNT}")
        if amount != amount.quantize(CENT):
            raise MoneyError("at most 2 fractional digits")
    elif isinstance(value, Decimal):
        if not value.is_finite() or value > MAX_AMOUNT or value != value.quantize(CENT):
            raise MoneyError("must be a finite amount with at most 2 fractional digits")
        amount = value
    else:
        raise MoneyError("must be a number or a decimal string")
    if amount <= 0:
        raise MoneyError("must be greater than 0")
    if amount > MAX_AMOUNT:
        raise MoneyError(f"must be at most {MAX_AMOUNT}")
    return amount.quantize(CENT)


def to_minor(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value(rounding=ROUND_HALF_UP))


def from_minor(minor: int) -> Decimal:
    return (Decimal(minor) / 100).quantize(CENT)


def money_str(amount: Decimal | int | None) -> str | None:
    """The API's money format: a decimal string with exactly two digits."""
    if amount is None:
        return None
    if isinstance(amount, int):
        amount = from_minor(amount)
    return f"{amount.quantize(CENT):f}"


def group_digits(amount: Decimal, currency: str) -> str:
    """`1,20,000.00` for INR (Indian grouping), `120,000.00` otherwise."""
    sign = "-" if amount < 0 else ""
    whole, _, cents = f"{abs(amount).quantize(CENT):f}".partition(".")
    if currency == "INR" and len(whole) > 3:
        head, tail = whole[:-3], whole[-3:]
        pairs: list[str] = []
        while len(head) > 2:
            pairs.insert(0, head[-2:])
            head = head[:-2]
        if head:
            pairs.insert(0, head)
        whole = ",".join([*pairs, tail])
    else:
        whole = f"{int(whole):,}"
    return f"{sign}{whole}.{cents}"


CURRENCY_SYMBOLS = {"INR": "₹", "USD": "$", "EUR": "€", "GBP": "£"}


def display_money(amount: Decimal, currency: str) -> str:
    """For people (emails, invoices): `₹1,20,000.00`, or `CHF 1,200.00` without a symbol."""
    symbol = CURRENCY_SYMBOLS.get(currency)
    grouped = group_digits(amount, currency)
    return f"{symbol}{grouped}" if symbol else f"{currency} {grouped}"


def percent_of(amount: Decimal, pct: Decimal) -> Decimal:
    """`pct` percent of `amount`, rounded half-up to the paisa (2.5 paise is 3): every fee and
    tax line is rounded once, here, and a document's totals add the rounded lines."""
    return (amount * pct / 100).quantize(CENT, rounding=ROUND_HALF_UP)


# -- amounts in words, the Indian way ---------------------------------------------------------

# fmt: off
_ONES = (
    "Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten",
    "Eleven", "Twelve", "Thirteen", "Fourteen", "Fifteen", "Sixteen", "Seventeen", "Eighteen",
    "Nineteen",
)
_TENS = ("", "", "Twenty", "Thirty", "Forty", "Fifty", "Sixty", "Seventy", "Eighty", "Ninety")
# fmt: on


def _below_hundred(n: int) -> str:
    if n < 20:
        return _ONES[n]
    tens, ones = divmod(n, 10)
    return f"{_TENS[tens]}-{_ONES[ones]}" if ones else _TENS[tens]


def _below_thousand(n: int) -> str:
    hundreds, rest = divmod(n, 100)
    words = [f"{_ONES[hundreds]} Hundred"] if hundreds else []
    if rest:
        words.append(_below_hundred(rest))
    return " ".join(words)


def indian_number_words(n: int) -> str:
    """`120345` -> "One Lakh Twenty Thousand Three Hundred Forty-Five": crore (10^7), lakh
    (10^5), thousand, hundred; past 99 crore the crores are counted the same way ("One Hundred
    Twenty Crore"). By hand rather than with num2words: its Indian English puts commas and
    "and" inside the number, where an invoice's words have neither (the tests hold the two to
    the same words on random numbers)."""
    if n < 0:
        raise ValueError("a negative number has no words on an invoice")
    if n == 0:
        return _ONES[0]
    crores, n = divmod(n, 10**7)
    lakhs, n = divmod(n, 10**5)
    thousands, n = divmod(n, 1000)
    words = [f"{indian_number_words(crores)} Crore"] if crores else []
    if lakhs:
        words.append(f"{_below_hundred(lakhs)} Lakh")
    if thousands:
        words.append(f"{_below_hundred(thousands)} Thousand")
    if n:
        words.append(_below_thousand(n))
    return " ".join(words)


def rupees_in_words(amount: Decimal) -> str:
    """How an Indian invoice writes its total: "Rupees One Lakh Twenty Thousand Three Hundred
    Forty-Five and Fifty Paise Only" (`120345.50`), "Rupees Nine Only", "Fifty Paise Only"."""
    rupees, paise = divmod(to_minor(amount), 100)
    if rupees < 0:
        raise ValueError("a negative amount has no words on an invoice")
    paise_words = f"{_below_hundred(paise)} {'Paisa' if paise == 1 else 'Paise'}"
    if not paise:
        return f"Rupees {indian_number_words(rupees)} Only"
    if not rupees:
        return f"{paise_words} Only"
    return f"Rupees {indian_number_words(rupees)} and {paise_words} Only"
