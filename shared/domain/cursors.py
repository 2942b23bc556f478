"""Opaque list cursors: what a list gives out as `nextCursor` and takes back as `cursor`.

A cursor is base64 of `|`-joined parts. Coming back from a client it is untrusted input: each
part is read only as the kind of value it was made from and within that kind's range, so a
crafted cursor is the caller's mistake (422 `validation_error` on `cursor`), never a query the
database refuses (a year-9999 time with an offset, a NaN amount, a 30-digit sequence).
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from shared.domain.errors import ValidationFailed, invalid
from shared.domain.money import MAX_AMOUNT

_DIGITS = re.compile(r"^[0-9]{1,18}$")  # ASCII only ("²".isdigit() is True); below 2**63


def _refused() -> ValidationFailed:
    return invalid("cursor", "is not a cursor this API gave out")


def encode(*parts: str) -> str:
    return base64.urlsafe_b64encode("|".join(parts).encode()).decode().rstrip("=")


def decode(cursor: str, count: int) -> list[str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        parts = base64.urlsafe_b64decode(padded.encode()).decode().split("|")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _refused() from None
    if len(parts) != count:
        raise _refused()
    return parts


def moment(text: str) -> datetime:
    """A timestamp this API wrote (`datetime.isoformat()` of a UTC time)."""
    try:
        value = datetime.fromisoformat(text)
        if value.tzinfo is None or not 1970 <= value.astimezone(UTC).year <= 9000:
            raise ValueError(text)
        return value.astimezone(UTC)
    except (ValueError, OverflowError):
        raise _refused() from None


def identifier(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise _refused() from None


def amount(text: str) -> Decimal:
    """A money amount, as `str(Decimal)` of a stored one."""
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        raise _refused() from None
    if (
        not value.is_finite()
        or not 0 < value <= MAX_AMOUNT
        or value != value.quantize(Decimal("0.01"))
    ):
        raise _refused()
    return value


def sequence(text: str) -> int:
    """A non-negative counter or offset that fits PostgreSQL's bigint."""
    if not _DIGITS.match(text):
        raise _refused()
    return int(text)
