"""Rules for creating and reading auctions (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TypeVar

from shared.domain.errors import FieldError, ValidationFailed
from shared.domain.vocabulary import AuctionStatus

MAX_DURATION_MINS = 60 * 24 * 30  # a month
MAX_SOFT_CLOSE_SECS = 600


@dataclass(frozen=True)
class AuctionDraft:
    item_name: str
    description: str
    start_price: Decimal
    bid_increment: Decimal
    go_live_at: datetime
    duration_mins: int
    reserve_price: Decimal | None = None
    buy_now_price: Decimal | None = None
    soft_close_secs: int | None = None
    category: str | None = None
    # How the item reaches its buyer (`shared.domain.shipping`): None, none stated.
    shipping_method: str | None = None
    shipping_cost: Decimal | None = None
    pickup_city: str | None = None


def ends_at(go_live_at: datetime, duration_mins: int) -> datetime:
    return go_live_at + timedelta(minutes=duration_mins)


def check_draft(draft: AuctionDraft, now: datetime) -> None:
    """The cross-field rules of an auction (field shapes are checked at the edge)."""
    errors: list[FieldError] = []
    if draft.go_live_at <= now:
        errors.append(FieldError("goLiveAt", "must be in the future"))
    if not 1 <= draft.duration_mins <= MAX_DURATION_MINS:
        errors.append(FieldError("durationMins", f"must be between 1 and {MAX_DURATION_MINS}"))
    if draft.reserve_price is not None and draft.reserve_price < draft.start_price:
        errors.append(FieldError("reservePrice", "must be at least startPrice"))
    if draft.buy_now_price is not None and draft.buy_now_price <= draft.start_price:
        errors.append(FieldError("buyNowPrice", "must be greater than startPrice"))
    if draft.soft_close_secs is not None and not (
        0 <= draft.soft_close_secs <= MAX_SOFT_CLOSE_SECS
    ):
        errors.append(FieldError("softCloseSecs", f"must be between 0 and {MAX_SOFT_CLOSE_SECS}"))
    if errors:
        raise ValidationFailed(errors)


# Money as Decimal (the record, the API) or as integer minor units (Redis, the bid rules), and
# moments as datetimes or epoch ms: each rule below is written once for both.
Amount = TypeVar("Amount", int, Decimal)
Moment = TypeVar("Moment", int, datetime)


def min_next_bid(start_price: Amount, increment: Amount, highest: Amount | None) -> Amount:
    """The first bid must reach the start price; every later one the highest plus the
    increment (only a proxy's answer, capped at its owner's maximum, may rise by less)."""
    return start_price if highest is None else highest + increment


def reserve_met(reserve: Amount | None, highest: Amount | None) -> bool | None:
    """None when the auction has no reserve (the member is then absent: "absent means off")."""
    if reserve is None:
        return None
    return highest is not None and highest >= reserve


def shown_status(status: str, go_live_at: Moment, ends_at: Moment, now: Moment) -> str:
    """The status people see. The window is the clock's, not the ticker's: a scheduled auction
    whose window has opened is shown (and listed, and found by a status filter) as live before
    the ticker moves it. (`search.status_filter` says the same in SQL.)"""
    if status == AuctionStatus.SCHEDULED and go_live_at <= now < ends_at:
        return AuctionStatus.LIVE.value
    return status
