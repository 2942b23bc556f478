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
