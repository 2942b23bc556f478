"""Finding auctions: full text, category, price range, seller, status, five sorts, and cursor
pages that stay exact while bids move prices.

Full text is PostgreSQL's own: `auctions.search` is a tsvector the database generates from the
item name and description (GIN index), matched with `websearch_to_tsquery`, which reads any
text as words (quotes, `or`, `-` mean what they mean on a search page; nothing else is syntax,
and it never fails), always as a bound parameter.

Paging under a moving sort key. Prices, bid counts and ends move while someone pages (a bid
raises the price and the count, a soft close moves the end). A plain keyset on (key, id) then
repeats an auction that moved past the cursor and skips one that moved in front of it. So a
list is a snapshot of its first page: the cursor carries that page's moment T0 (PostgreSQL's
clock, read inside the first page's own statement) with the last row's key and id, and
every later page orders each auction by its key AS OF T0 (each page is one statement, one
snapshot):
- an auction whose keys did not change since T0 (`sort_changed_at <= T0`, kept by a trigger)
  is read by its live columns, through their indexes;
- the few that changed since T0 have their key rebuilt from the bids PostgreSQL had stored
  by T0 (`bids.stored_at`): the round's highest (else the start price), its count, its end
  (the scheduled end, or the last bid plus the soft close);
- auctions created after T0 are not in the list.
So bids landing between pages neither repeat nor drop an auction, and the price range is
judged on the same as-of price. What is read live, not as of T0: the status filter, and the
changes an admin (start, reset, cancel) or a seller's edit make between pages. A change
committed in the very instant of the first page's read may land on either side of T0.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from shared.adapters.pg import HotLane
from shared.domain import cursors
from shared.domain.errors import invalid
from shared.domain.vocabulary import OPEN_STATUSES, AuctionStatus, SortOrder

# A snapshot older than this is not served: its "changed since" set would grow without bound.
CURSOR_LIFETIME = timedelta(hours=1)


@dataclass(frozen=True)
class Criteria:
    status: str | None = None
    q: str | None = None
    category: str | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    seller_id: uuid.UUID | None = None
    sort: SortOrder = SortOrder.NEWEST


@dataclass(frozen=True)
class _Sort:
    descending: bool
    moving: bool  # the key changes after creation (needs the as-of snapshot)
    kind: str  # how its cursor part is read back: moment | amount | count
    live: str  # the key as the record has it now (SQL over `auctions`)


SORTS = {
    SortOrder.NEWEST: _Sort(True, False, "moment", "auctions.created_at"),
    SortOrder.ENDING_SOON: _Sort(False, True, "moment", "auctions.ends_at"),
    SortOrder.PRICE_ASC: _Sort(False, True, "amount", "auctions.current_price"),
    SortOrder.PRICE_DESC: _Sort(True, True, "amount", "auctions.current_price"),
    SortOrder.MOST_BIDS: _Sort(True, True, "count", "auctions.bid_count"),
}

# The statements are SQL text over `auctions` (never aliased, so a filter reads the same in
# every statement that uses it) with named parameters, run on the hot lane: a page is one
# statement and no ORM, whose statement building and session were ~45% of a list's CPU.

# The bids PostgreSQL had stored by T0, of the auction's current round.
_STORED_BY_T0 = (
    "bids.auction_id = auctions.id AND bids.round = auctions.round AND bids.stored_at <= :t0"
)
# GREATEST skips NULL (no bid yet).
_PRICE_AS_OF = (
    f"GREATEST(auctions.start_price, (SELECT max(bids.amount) FROM bids WHERE {_STORED_BY_T0}))"
)
_AS_OF_KEYS = {
    SortOrder.PRICE_ASC: _PRICE_AS_OF,
    SortOrder.PRICE_DESC: _PRICE_AS_OF,
    SortOrder.MOST_BIDS: f"(SELECT count(*) FROM bids WHERE {_STORED_BY_T0})",
    # the scheduled end, or the last bid stored by T0 plus the soft close (NULL without one:
    # skipped by GREATEST)
    SortOrder.ENDING_SOON: (
        "GREATEST(auctions.go_live_at + auctions.duration_mins * interval '1 minute', "
        f"(SELECT max(bids.created_at) FROM bids WHERE {_STORED_BY_T0})"
        " + auctions.soft_close_secs * interval '1 second')"
    ),
}

# `shared.domain.auctions.shown_status` in SQL: a scheduled auction whose window has opened
# shows as live.
_WINDOW_OPEN = (
    "(auctions.status = 'scheduled' AND auctions.go_live_at <= :now AND auctions.ends_at > :now)"
)


def status_filter(status: str, now: datetime) -> tuple[str, dict[str, Any]]:
    """Auctions by the status they show, as SQL over `auctions` and its parameters."""
    if status == AuctionStatus.LIVE:
        return f"(auctions.status = 'live' OR {_WINDOW_OPEN})", {"now": now}
    if status == AuctionStatus.SCHEDULED:
        return f"(auctions.status = 'scheduled' AND NOT {_WINDOW_OPEN})", {"now": now}
    return "auctions.status = :status", {"status": status}


_STILL_TO_END = "auctions.status IN ({})".format(", ".join(f"'{s.value}'" for s in OPEN_STATUSES))


@dataclass
class _Statement:
    """Conditions and their parameters, gathered for one page."""

    params: dict[str, Any] = field(default_factory=dict)

    def filters(self, criteria: Criteria, now: datetime) -> list[str]:
        where = []
        if criteria.status:
            shown, params = status_filter(criteria.status, now)
            where.append(shown)
            self.params.update(params)
        elif criteria.sort == SortOrder.ENDING_SOON:
            where.append(_STILL_TO_END)  # what is still to end
        if criteria.q:
            # always a bound parameter: any text is words to websearch_to_tsquery
            where.append("auctions.search @@ websearch_to_tsquery('english', :q)")
            self.params["q"] = criteria.q
        if criteria.category:
            where.append("auctions.category = :category")
            self.params["category"] = criteria.category
        if criteria.seller_id:
            where.append("auctions.seller_id = :seller_id")
            self.params["seller_id"] = criteria.seller_id
        return where

    def price_range(self, criteria: Criteria, price: str) -> list[str]:
        where = []
        if criteria.min_price is not None:
            where.append(f"{price} >= :min_price")
            self.params["min_price"] = criteria.min_price
        if criteria.max_price is not None:
            where.append(f"{price} <= :max_price")
            self.params["max_price"] = criteria.max_price
        return where


def _where(conditions: list[str]) -> str:
    return f"WHERE {' AND '.join(conditions)}" if conditions else ""


def _order(key: str, id_: str, sort: _Sort) -> str:
    way = "DESC" if sort.descending else "ASC"
    return f"ORDER BY {key} {way}, {id_} {way}"


def _after(key: str, id_: str, sort: _Sort) -> str:
    """After the cursor's (`:k`, `:after_id`) in the sort's order."""
    past = "<" if sort.descending else ">"
    return f"({key} {past} :k OR ({key} = :k AND {id_} {past} :after_id))"


def _read_cursor(cursor: str, criteria: Criteria, now: datetime) -> tuple[datetime, Any, uuid.UUID]:
    sort_text, t0_text, key_text, id_text = cursors.decode(cursor, 4)
    if sort_text != criteria.sort.value:
        raise invalid("cursor", f"was given out for sort={sort_text}, not sort={criteria.sort}")
    t0 = cursors.moment(t0_text)
    sort = SORTS[criteria.sort]
    if sort.moving and t0 < now - CURSOR_LIFETIME:
        raise invalid("cursor", "has expired: start again from the first page")
    key: Any
    if sort.kind == "amount":
        key = cursors.amount(key_text)
    elif sort.kind == "count":
        key = cursors.sequence(key_text)
    else:
        key = cursors.moment(key_text)
    return t0, key, cursors.identifier(id_text)


def _key_text(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def find(
    lane: HotLane, now: datetime, criteria: Criteria, *, limit: int, cursor: str | None
) -> tuple[list[uuid.UUID], str | None]:
    """The ids of one page of auctions matching `criteria`, in order, and the cursor of the
    next page (None: the last).

    The page is one statement, so one snapshot; the first page reads its moment T0 inside it
    (`clock_timestamp()`, evaluated after the statement's snapshot was taken)."""
    sort = SORTS[criteria.sort]
    live = sort.live
    st = _Statement({"n": limit + 1})
    where = st.filters(criteria, now)
    if cursor is None:
        conditions = where + st.price_range(criteria, "auctions.current_price")
        rows = lane.run(
            f"SELECT auctions.id, {live}, clock_timestamp() FROM auctions {_where(conditions)} "
            f"{_order(live, 'auctions.id', sort)} LIMIT :n",
            **st.params,
        )
        page = rows[:limit]
        next_cursor = None
        if len(rows) > limit:
            last_id, last_key, t0 = page[-1]
            next_cursor = cursors.encode(
                criteria.sort.value, t0.isoformat(), _key_text(last_key), str(last_id)
            )
        return [row[0] for row in page], next_cursor
    t0, k, after_id = _read_cursor(cursor, criteria, now)
    st.params.update(t0=t0, k=k, after_id=after_id)
    unchanged = "(auctions.sort_changed_at IS NULL OR auctions.sort_changed_at <= :t0)"
    stable = [
        *where,
        "auctions.created_at <= :t0",
        *([unchanged] if sort.moving else []),
        *st.price_range(criteria, "auctions.current_price"),
        _after(live, "auctions.id", sort),
    ]
    parts = [
        f"(SELECT auctions.id AS id, {live} AS k FROM auctions {_where(stable)} "
        f"{_order(live, 'auctions.id', sort)} LIMIT :n)"
    ]
    if sort.moving:
        # the few that changed since T0: their key rebuilt from what was stored by T0
        moved = [*where, "auctions.created_at <= :t0", "auctions.sort_changed_at > :t0"]
        as_of = _AS_OF_KEYS[criteria.sort]
        parts.append(
            f"(SELECT m.id, m.k FROM (SELECT auctions.id AS id, {as_of} AS k, {_PRICE_AS_OF} AS p"
            f" FROM auctions {_where(moved)}) m "
            f"{_where([*st.price_range(criteria, 'm.p'), _after('m.k', 'm.id', sort)])} "
            f"{_order('m.k', 'm.id', sort)} LIMIT :n)"
        )
    rows = lane.run(
        f"SELECT id, k FROM ({' UNION ALL '.join(parts)}) page {_order('k', 'id', sort)} LIMIT :n",
        **st.params,
    )
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit and page:
        last_id, last_key = page[-1]
        next_cursor = cursors.encode(
            criteria.sort.value, t0.isoformat(), _key_text(last_key), str(last_id)
        )
    return [row[0] for row in page], next_cursor
