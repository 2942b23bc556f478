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
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    func,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from shared.adapters.orm import Auction, Bid
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


SORTS = {
    SortOrder.NEWEST: _Sort(True, False, "moment"),
    SortOrder.ENDING_SOON: _Sort(False, True, "moment"),
    SortOrder.PRICE_ASC: _Sort(False, True, "amount"),
    SortOrder.PRICE_DESC: _Sort(True, True, "amount"),
    SortOrder.MOST_BIDS: _Sort(True, True, "count"),
}


def _live_key(sort: SortOrder) -> Any:
    return {
        SortOrder.NEWEST: Auction.created_at,
        SortOrder.ENDING_SOON: Auction.ends_at,
        SortOrder.PRICE_ASC: Auction.current_price,
        SortOrder.PRICE_DESC: Auction.current_price,
        SortOrder.MOST_BIDS: Auction.bid_count,
    }[sort]


def _stored_by(t0: datetime) -> ColumnElement[bool]:
    return and_(Bid.auction_id == Auction.id, Bid.round == Auction.round, Bid.stored_at <= t0)


def _price_as_of(t0: datetime) -> ColumnElement[Any]:
    top = select(func.max(Bid.amount)).where(_stored_by(t0)).scalar_subquery()
    return func.greatest(Auction.start_price, top)  # GREATEST skips NULL (no bid yet)


def _as_of_key(sort: SortOrder, t0: datetime) -> Any:
    if sort in (SortOrder.PRICE_ASC, SortOrder.PRICE_DESC):
        return _price_as_of(t0)
    if sort == SortOrder.MOST_BIDS:
        return select(func.count()).select_from(Bid).where(_stored_by(t0)).scalar_subquery()
    if sort == SortOrder.ENDING_SOON:
        last_bid = select(func.max(Bid.created_at)).where(_stored_by(t0)).scalar_subquery()
        minute: Any = literal_column("interval '1 minute'")
        second: Any = literal_column("interval '1 second'")
        return func.greatest(
            Auction.go_live_at + Auction.duration_mins * minute,
            last_bid + Auction.soft_close_secs * second,  # NULL without a soft close: skipped
        )
    return Auction.created_at


def status_filter(status: str, now: datetime) -> ColumnElement[bool]:
    """`shared.domain.auctions.shown_status` in SQL: a list's status filter finds auctions by
    the status they show (a scheduled auction whose window has opened is live)."""
    window_open = (
        (Auction.status == AuctionStatus.SCHEDULED)
        & (Auction.go_live_at <= now)
        & (Auction.ends_at > now)
    )
    if status == AuctionStatus.LIVE:
        return (Auction.status == AuctionStatus.LIVE) | window_open
    if status == AuctionStatus.SCHEDULED:
        return (Auction.status == AuctionStatus.SCHEDULED) & ~window_open
    return Auction.status == status


def _filters(criteria: Criteria, now: datetime) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if criteria.status:
        where.append(status_filter(criteria.status, now))
    elif criteria.sort == SortOrder.ENDING_SOON:
        where.append(Auction.status.in_(OPEN_STATUSES))  # what is still to end
    if criteria.q:
        where.append(Auction.search.op("@@")(func.websearch_to_tsquery("english", criteria.q)))
    if criteria.category:
        where.append(Auction.category == criteria.category)
    if criteria.seller_id:
        where.append(Auction.seller_id == criteria.seller_id)
    return where


def _price_range(criteria: Criteria, price: Any) -> list[ColumnElement[bool]]:
    where = []
    if criteria.min_price is not None:
        where.append(price >= criteria.min_price)
    if criteria.max_price is not None:
        where.append(price <= criteria.max_price)
    return where


def _after(key: Any, id_: Any, sort: _Sort, k: Any, i: Any) -> Any:
    if sort.descending:
        return or_(key < k, and_(key == k, id_ < i))
    return or_(key > k, and_(key == k, id_ > i))


def _ordered(query: Select[Any], key: Any, id_: Any, sort: _Sort) -> Select[Any]:
    if sort.descending:
        return query.order_by(key.desc(), id_.desc())
    return query.order_by(key.asc(), id_.asc())


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
    session: Session, now: datetime, criteria: Criteria, *, limit: int, cursor: str | None
) -> tuple[list[uuid.UUID], str | None]:
    """The ids of one page of auctions matching `criteria`, in order, and the cursor of the
    next page (None: the last).

    The page is one statement, so one snapshot; the first page reads its moment T0 inside it
    (`clock_timestamp()`, evaluated after the statement's snapshot was taken)."""
    sort = SORTS[criteria.sort]
    where = _filters(criteria, now)
    live = _live_key(criteria.sort)
    if cursor is None:
        query = select(Auction.id, live.label("k"), func.clock_timestamp().label("t0")).where(
            *where, *_price_range(criteria, Auction.current_price)
        )
        first = session.execute(_ordered(query, live, Auction.id, sort).limit(limit + 1)).all()
        page_rows = first[:limit]
        next_cursor = None
        if len(first) > limit:
            last = page_rows[-1]
            next_cursor = cursors.encode(
                criteria.sort.value, last.t0.isoformat(), _key_text(last.k), str(last.id)
            )
        return [r.id for r in page_rows], next_cursor
    t0, k, after_id = _read_cursor(cursor, criteria, now)
    unchanged = or_(Auction.sort_changed_at.is_(None), Auction.sort_changed_at <= t0)
    stable = select(Auction.id.label("id"), live.label("k")).where(
        *where,
        Auction.created_at <= t0,
        *([unchanged] if sort.moving else []),
        *_price_range(criteria, Auction.current_price),
        _after(live, Auction.id, sort, k, after_id),
    )
    stable = _ordered(stable, live, Auction.id, sort).limit(limit + 1)
    parts = [stable]
    if sort.moving:
        moved_rows = (
            select(
                Auction.id.label("id"),
                _as_of_key(criteria.sort, t0).label("k"),
                _price_as_of(t0).label("p"),
            )
            .where(*where, Auction.created_at <= t0, Auction.sort_changed_at > t0)
            .subquery()
        )
        moved = select(moved_rows.c.id, moved_rows.c.k).where(
            *_price_range(criteria, moved_rows.c.p),
            _after(moved_rows.c.k, moved_rows.c.id, sort, k, after_id),
        )
        parts.append(_ordered(moved, moved_rows.c.k, moved_rows.c.id, sort).limit(limit + 1))
    both = union_all(*(p.subquery().select() for p in parts)).subquery()
    page = session.execute(
        _ordered(select(both.c.id, both.c.k), both.c.k, both.c.id, sort).limit(limit + 1)
    ).all()
    rows = page[:limit]
    next_cursor = None
    if len(page) > limit and rows:
        last = rows[-1]
        next_cursor = cursors.encode(
            criteria.sort.value, t0.isoformat(), _key_text(last.k), str(last.id)
        )
    return [r.id for r in rows], next_cursor
