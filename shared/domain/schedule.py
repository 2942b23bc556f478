"""When an auction's timed transitions are due: one rule, applied by every writer of the
schedules (the transitions, a rebuild from PostgreSQL, the relay of a state patch).

Each `Moment` has its own schedule in Redis (a sorted set of auction ids scored by the epoch
ms it is due; `shared.adapters.keys.schedule`). A ticker claims what is due and runs the
moment's transition, which checks the record again under the row lock: the schedules only
say when to look, never what happens.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shared.domain.vocabulary import OPEN_STATUSES, AuctionStatus


class Moment(StrEnum):
    START = "start"  # scheduled -> live at goLiveAt
    END = "end"  # live -> ended | closed_no_winner at endsAt (or later, after a soft close)
    # After the hammer: each fires once, when its clock runs out.
    DECISION_REMINDER = "decision_reminder"  # ended, undecided: remind the seller at half-time
    DECISION_DEADLINE = "decision_deadline"  # ended, undecided: DECISION_DEFAULT applies
    COUNTER_EXPIRY = "counter_expiry"  # a pending counter offer expires
    OFFER_EXPIRY = "offer_expiry"  # a pending second-chance offer expires
    PAYMENT_DUE = "payment_due"  # a sale's payment is due: both parties are told
    SHIP_DUE = "ship_due"  # a paid item that ships has not left: the seller reminded, once
    # watchers and bidders hear "ending soon" ENDING_SOON_SECS before the end, once a round
    ENDING_SOON = "ending_soon"


# What a schedule entry becomes: due at this epoch ms, or None: not due (removed).
Entries = dict[Moment, int | None]


def window_entries(status: str, go_live_ms: int, ends_ms: int) -> Entries:
    """The start and end entries an auction in `status` needs: a scheduled auction both, a
    live one its end, any other none."""
    if status == AuctionStatus.SCHEDULED:
        return {Moment.START: go_live_ms, Moment.END: ends_ms}
    if status == AuctionStatus.LIVE:
        return {Moment.START: None, Moment.END: ends_ms}
    return {Moment.START: None, Moment.END: None}


DEADLINES = (
    Moment.DECISION_REMINDER,
    Moment.DECISION_DEADLINE,
    Moment.COUNTER_EXPIRY,
    Moment.OFFER_EXPIRY,
    Moment.PAYMENT_DUE,
    Moment.SHIP_DUE,
)


@dataclass(frozen=True)
class PendingDeadlines:
    """What the record says is still ahead of an auction after its hammer (epoch ms; None:
    nothing of that kind is pending). The service reads these from the auction, its counter
    offer, its second-chance offer and its invoice; the rule below says which apply."""

    status: str
    decision_reminder: int | None = None  # ended, undecided, the seller not yet reminded
    decision_deadline: int | None = None  # ended, undecided
    counter_expiry: int | None = None  # a pending counter offer of the current round
    offer_expiry: int | None = None  # a pending second-chance offer of the current round
    payment_due: int | None = None  # the sale's payment, not confirmed, the parties not told
    ship_due: int | None = None  # a paid item that ships, not shipped, the seller not reminded


def deadline_entries(pending: PendingDeadlines) -> Entries:
    """The after-the-hammer entries an auction needs: each only in the status it belongs to
    (a decided, sold or closed auction drops the ones its new status makes moot)."""
    ended = pending.status == AuctionStatus.ENDED
    return {
        Moment.DECISION_REMINDER: pending.decision_reminder if ended else None,
        Moment.DECISION_DEADLINE: pending.decision_deadline if ended else None,
        Moment.COUNTER_EXPIRY: pending.counter_expiry if ended else None,
        Moment.OFFER_EXPIRY: (
            pending.offer_expiry if pending.status == AuctionStatus.CLOSED_NO_WINNER else None
        ),
        Moment.PAYMENT_DUE: pending.payment_due if pending.status == AuctionStatus.SOLD else None,
        Moment.SHIP_DUE: pending.ship_due if pending.status == AuctionStatus.SOLD else None,
    }


def ending_soon_due(
    status: str, go_live_ms: int, ends_ms: int, lead_ms: int, sent: bool
) -> int | None:
    """When the "ending soon" notice of an open auction is due (None: never again, because it
    was sent for this round or the auction is no longer open). Its own schedule, written by
    whoever changes the end (create, edit, the notice's transition re-placing it after a soft
    close moved the end), never by `window_entries`. An auction shorter than the lead hears
    it when it opens."""
    if sent or status not in OPEN_STATUSES:
        return None
    return max(ends_ms - lead_ms, go_live_ms)
