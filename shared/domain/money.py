"""Money: Decimal at the edges and in PostgreSQL, integer minor units inside Redis and rules.

Every currency here has two fractional digits (CONTRACT: responses give `"1250.00"`).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

MAX_AMOUNT = Decimal("9999999999.99")  # NUMERIC(12,2)
CENT = Decimal("0.01")


class MoneyError(ValueError):
    pass


def parse_money(value: object) -> Decimal:
    """A JSON number or decimal string with at most 2 fractional digits, > 0, <= MAX_AMOUNT."""
    if isinstance(value, bool) or value is None:
        raise MoneyError("must be a number or a decimal string")
    if isinstance(value, float):
        value = repr(value)
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str | Decimal):
        raise MoneyError("must be a number or a decimal string")
    text = str(value).strip()
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise MoneyError("must be a number or a decimal string") from None
    if not amount.is_finite():
        raise MoneyError("must be a finite amount")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2 and amount != amount.quantize(CENT):
        raise MoneyError("at most 2 fractional digits")
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
