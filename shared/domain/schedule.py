"""When an auction's timed transitions are due: one rule, applied by every writer of the
schedules (the transitions, a rebuild from PostgreSQL, the relay of a state patch).

Each `Moment` has its own schedule in Redis (a sorted set of auction ids scored by the epoch
ms it is due; `shared.adapters.keys.schedule`). A ticker claims what is due and runs the
moment's transition, which checks the record again under the row lock: the schedules only
say when to look, never what happens.
"""

from __future__ import annotations

from enum import StrEnum

from shared.domain.vocabulary import AuctionStatus


class Moment(StrEnum):
    START = "start"  # scheduled -> live at goLiveAt
    END = "end"  # live -> ended | closed_no_winner at endsAt (or later, after a soft close)
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


def ending_soon_due(
    status: str, go_live_ms: int, ends_ms: int, lead_ms: int, sent: bool
) -> int | None:
    """When the "ending soon" notice of an open auction is due (None: never again, because it
    was sent for this round or the auction is no longer open). Its own schedule, written by
    whoever changes the end (create, edit, the notice's transition re-placing it after a soft
    close moved the end), never by `window_entries`. An auction shorter than the lead hears
    it when it opens."""
    if sent or status not in (AuctionStatus.SCHEDULED, AuctionStatus.LIVE):
        return None
    return max(ends_ms - lead_ms, go_live_ms)
