"""When the clocks after the hammer run out, and what the seller's silence means (pure).

An auction that ended with bids waits for its seller until `decisionDeadline` (endsAt +
DECISION_WINDOW_SECS); the seller is reminded at half the window, and at the deadline
DECISION_DEFAULT applies. A counter offer, a second-chance offer and a sale's payment each
carry their own clock (COUNTER_WINDOW_SECS, OFFER_WINDOW_SECS, PAYMENT_WINDOW_SECS).

Every deadline is judged on the server's clock, at the moment a request or a ticker holds the
auction's lock: a decision or an answer that arrives after its deadline is refused even if no
ticker has applied the consequence yet (the ticker, or that very request, applies it first).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from shared.domain.auctions import reserve_met
from shared.domain.decisions import SellerAction


def after(moment: datetime, window_secs: int) -> datetime:
    """A deadline `window_secs` after `moment` (counter, offer, payment, decision)."""
    return moment + timedelta(seconds=window_secs)


def reminder_at(ends_at: datetime, deadline: datetime) -> datetime:
    """Half-way through the seller's decision window."""
    return ends_at + (deadline - ends_at) / 2


def has_passed(deadline: datetime | None, now: datetime) -> bool:
    """A deadline is over from its very instant on (like endsAt: `now < endsAt` is open)."""
    return deadline is not None and deadline <= now


def default_action(default: str, reserve: Decimal | None, highest: Decimal) -> SellerAction:
    """What the seller's silence decides: DECISION_DEFAULT, except that a default `accept`
    never sells below the reserve (then it rejects)."""
    if default == SellerAction.ACCEPT and reserve_met(reserve, highest) is not False:
        return SellerAction.ACCEPT
    return SellerAction.REJECT
