"""A seller blocks a bidder: the bidder's bids on that seller's auctions are refused
(`403 bidder_blocked`).

PostgreSQL (`blocked_bidders`) is the record. The check a bid needs is a Redis set per seller
(`keys.blocked_bidders`), kept like the set of suspended users: it always holds a sentinel, so
a missing set (Redis flushed, evicted, new) is told apart from an empty one and rebuilt from
PostgreSQL before it is trusted (`load_blocked`); with Redis down the record answers.

Keeping the set exact: a block, an unblock and a rebuild of the seller's set each hold the
seller's advisory lock while they read or change the record and write Redis, so a rebuild never
writes a list older than a change that finished. A block writes the set before its commit (a
failed commit leaves the bidder refused until the next rebuild: the safe side), an unblock
after it; both also record an event whose consequence is an outbox row the relay applies in
commit order, so a Redis hiccup is repaired by the next relay.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import and_, delete, or_, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared.adapters import keys
from shared.adapters.orm import BlockedBidder, User
from shared.adapters.redis_store import StoreError, StoreUnavailable, load_script
from shared.domain import cursors
from shared.domain.errors import DomainError, invalid
from shared.domain.events import BidderBlocked, BidderUnblocked
from shared.domain.marketplace import public_name
from shared.domain.principal import Viewer
from shared.domain.times import iso
from shared.services.context import Context
from shared.services.unit_of_work import UnitOfWork, unit_of_work

log = logging.getLogger(__name__)

# pg_advisory_xact_lock(int, int) class of "a seller's blocked set" (the second key: the
# seller's id hashed); any fixed int no other lock uses.
BLOCKS_LOCK = 0x424C_4B44  # "BLKD"


def _lock(session: Session, seller_id: str) -> None:
    session.execute(
        text("SELECT pg_advisory_xact_lock(:k, hashtext(:s))"), {"k": BLOCKS_LOCK, "s": seller_id}
    )


def _apply(ctx: Context, mode: str, seller_id: str, bidder_ids: list[str]) -> None:
    ctx.store.script(
        load_script("sentinel_set"),
        [keys.blocked_bidders(seller_id)],
        [mode, keys.BLOCKED_SENTINEL, *bidder_ids],
    )


def _uid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise DomainError("not_found", "No such user") from None


# -- the check -----------------------------------------------------------------------------------


def blocked_in_record(ctx: Context, seller_id: str, bidder_id: str) -> bool:
    with ctx.db.session() as session:
        return session.get(BlockedBidder, (uuid.UUID(seller_id), uuid.UUID(bidder_id))) is not None


def load_blocked(ctx: Context, seller_id: str) -> int:
    """Rebuild the seller's set from PostgreSQL (when Redis lost it). Returns its size. The
    bid script answers "missing" for a missing set; its caller rebuilds with this and retries."""
    with ctx.db.session() as session:
        _lock(session, seller_id)
        ids = [
            str(b)
            for b in session.scalars(
                select(BlockedBidder.bidder_id).where(
                    BlockedBidder.seller_id == uuid.UUID(seller_id)
                )
            )
        ]
        _apply(ctx, "load", seller_id, ids)
    return len(ids)


def ensure_loaded(ctx: Context, seller_id: str) -> None:
    """The seller's set in Redis, rebuilt from PostgreSQL if missing: a seller's listing loads
    it, so the bid script finds it (a bid that finds it missing, after a flush, rebuilds it
    through the ORM: a cold function's first bid should not)."""
    missing = ctx.store.script(
        load_script("sentinel_set"),
        [keys.blocked_bidders(seller_id)],
        ["check", keys.BLOCKED_SENTINEL, keys.BLOCKED_SENTINEL],
    )
    if int(missing) == -1:
        load_blocked(ctx, seller_id)


def bidder_blocked_error() -> DomainError:
    return DomainError(
        "bidder_blocked", "The seller of this auction has blocked you from bidding on it"
    )


def refuse_if_blocked(ctx: Context, seller_id: str, bidder_id: str) -> None:
    """403 `bidder_blocked` when the seller blocked the bidder: the set's answer (rebuilt first
    when missing), the record's when Redis is down. (A bid is judged inside the bid script's
    own round trip; this is the same check for any other path.)"""
    try:
        for _ in range(2):
            verdict = int(
                ctx.store.script(
                    load_script("sentinel_set"),
                    [keys.blocked_bidders(seller_id)],
                    ["check", keys.BLOCKED_SENTINEL, bidder_id],
                )
            )
            if verdict == -1:
                load_blocked(ctx, seller_id)
                continue
            if verdict == 1:
                raise bidder_blocked_error()
            return
    except (StoreUnavailable, StoreError) as exc:
        log.warning("block checked in PostgreSQL (%s)", exc)
    if blocked_in_record(ctx, seller_id, bidder_id):
        raise bidder_blocked_error()


# -- the seller's actions ------------------------------------------------------------------------


def block(ctx: Context, seller: Viewer, bidder_id: str) -> None:
    """Block a bidder (again: nothing changes). Unknown users are 404; yourself is 422."""
    bid = _uid(bidder_id)
    me = str(seller.user_id)
    if str(bid) == me:
        raise invalid("userId", "you cannot block yourself")
    with unit_of_work(ctx) as uow:
        if uow.session.get(User, bid) is None:
            raise DomainError("not_found", "No such user")
        _lock(uow.session, me)
        added = uow.session.scalar(
            insert(BlockedBidder)
            .values(seller_id=uuid.UUID(me), bidder_id=bid)
            .on_conflict_do_nothing()
            .returning(BlockedBidder.bidder_id)
        )
        if added is None:
            return
        uow.audit(me, "seller.block", None, {"userId": str(bid)})
        uow.record(BidderBlocked(me, str(bid)))
        try:  # before the commit: refused at once (a failed commit errs on the safe side)
            _apply(ctx, "add", me, [str(bid)])
        except (StoreUnavailable, StoreError) as exc:
            log.warning("block of %s reaches Redis with the relay: %s", bid, exc)


def unblock(ctx: Context, seller: Viewer, bidder_id: str) -> None:
    """Lift a block (not blocked: nothing changes). Unknown users are 404."""
    bid = _uid(bidder_id)
    me = str(seller.user_id)
    with ctx.db.session() as session:
        if session.get(User, bid) is None:
            raise DomainError("not_found", "No such user")
        uow = UnitOfWork(ctx, session)
        _lock(session, me)
        removed = session.scalar(
            delete(BlockedBidder)
            .where(BlockedBidder.seller_id == uuid.UUID(me), BlockedBidder.bidder_id == bid)
            .returning(BlockedBidder.bidder_id)
        )
        if removed is None:
            return
        uow.audit(me, "seller.unblock", None, {"userId": str(bid)})
        uow.record(BidderUnblocked(me, str(bid)))
    try:  # after the commit: never free to bid in Redis while the record still blocks
        _apply(ctx, "remove", me, [str(bid)])
    except (StoreUnavailable, StoreError) as exc:
        log.warning("unblock of %s reaches Redis with the relay: %s", bid, exc)
    uow.relay()


def list_blocked(ctx: Context, seller: Viewer, *, limit: int, cursor: str | None) -> dict[str, Any]:
    """The seller's blocked bidders, most recently blocked first, by their public names."""
    me = uuid.UUID(str(seller.user_id))
    query = (
        select(BlockedBidder, User.name)
        .join(User, User.id == BlockedBidder.bidder_id)
        .where(BlockedBidder.seller_id == me)
    )
    if cursor:
        created_text, id_text = cursors.decode(cursor, 2)
        created, after = cursors.moment(created_text), cursors.identifier(id_text)
        query = query.where(
            or_(
                BlockedBidder.created_at < created,
                and_(BlockedBidder.created_at == created, BlockedBidder.bidder_id < after),
            )
        )
    with ctx.db.session() as session:
        rows = session.execute(
            query.order_by(BlockedBidder.created_at.desc(), BlockedBidder.bidder_id.desc()).limit(
                limit + 1
            )
        ).all()
        page = rows[:limit]
        next_cursor = (
            cursors.encode(page[-1][0].created_at.isoformat(), str(page[-1][0].bidder_id))
            if len(rows) > limit
            else None
        )
        return {
            "items": [
                {
                    "userId": str(row.bidder_id),
                    "name": public_name(name, str(row.bidder_id)),
                    "blockedAt": iso(row.created_at),
                }
                for row, name in page
            ],
            "nextCursor": next_cursor,
        }
