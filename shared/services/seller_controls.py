"""What a seller may do to their own auction before it sells: edit it while it is scheduled,
and call it off (an admin may call off any auction before it is sold).

Edit: under the row lock, the changes are merged into the record and the draft rules are
checked on the merged whole (a new start price above the existing reserve is refused); the
new rules go into the Redis state the bid script judges BEFORE the commit, atomically with a
last look by Redis's clock (`edit_state.lua`: refused once goLiveAt has come), so no bid is
judged by the old rules after the edit is acknowledged; the schedules move through the outbox.

Cancel, exactly:
1. the Redis state is closed first (`cancel_state.lua`, atomically with a last look: for a
   seller, a bid that got there first wins and the cancel is refused), so from this moment
   the bid script refuses every bid (`auction_not_live`);
2. every accepted bid is drained into PostgreSQL, so the bidders read next are all of them;
3. under the row lock the rule is judged again on the record; the auction becomes
   `cancelled` in a new round (its bids are kept, void, as after a reset), and the bidders
   and watchers are told (`auction_cancelled`), the room hears `auction:cancelled`, the
   schedules are cleared and the action is audited, in one transaction.
If 3 refuses or fails, step 1 is undone (the status the bid script saw is restored).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from shared.adapters import keys
from shared.adapters.orm import Auction, Bid
from shared.adapters.redis_store import StoreError, StoreUnavailable, load_script
from shared.domain.auctions import AuctionDraft, check_draft, ends_at, shown_status
from shared.domain.errors import DomainError
from shared.domain.events import AuctionCancelled, AuctionEdited
from shared.domain.marketplace import may_cancel
from shared.domain.principal import Viewer
from shared.domain.vocabulary import AuctionStatus
from shared.services import auction_state, auctions, bid_intake, records
from shared.services.context import Context
from shared.services.unit_of_work import UnitOfWork, unit_of_work

log = logging.getLogger(__name__)

# The auction's own fields a PATCH may name (the create fields), by their record names.
EDITABLE = (
    "item_name",
    "description",
    "start_price",
    "bid_increment",
    "go_live_at",
    "duration_mins",
    "reserve_price",
    "buy_now_price",
    "soft_close_secs",
    "category",
    "shipping_method",
    "shipping_cost",
    "pickup_city",
)


def _draft_of(auction: Auction) -> AuctionDraft:
    return AuctionDraft(**{name: getattr(auction, name) for name in EDITABLE})


def edit(
    ctx: Context, auction_id: uuid.UUID, viewer: Viewer, changes: dict[str, Any]
) -> dict[str, Any]:
    """Apply `changes` (record field -> new value; None clears an optional rule) to a
    scheduled auction of the caller's. Returns the auction."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    now = ctx.clock()
    applied = False
    try:
        with unit_of_work(ctx) as uow:
            auction = records.locked_auction(uow.session, auction_id)
            if viewer.user_id != str(auction.seller_id):
                raise DomainError("forbidden", "Only the auction's seller edits it")
            if shown_status(auction.status, auction.go_live_at, auction.ends_at, now) != (
                AuctionStatus.SCHEDULED
            ):
                raise DomainError(
                    "auction_not_editable", "An auction can be edited only while it is scheduled"
                )
            draft = replace(_draft_of(auction), **changes)
            check_draft(draft, now)
            for name in EDITABLE:
                setattr(auction, name, getattr(draft, name))
            auction.ends_at = ends_at(draft.go_live_at, draft.duration_mins)
            uow.session.flush()
            uow.record(AuctionEdited(str(auction.id), auction.round))
            view = auctions.view_of(uow.session, ctx, auction, viewer)
            # The new rules reach the bid script before the commit, guarded by Redis's clock
            # (relayed after the commit, an edit just before goLiveAt left bids judged by the
            # old rules until the relay ran).
            auction_state.apply_edit(ctx, auction)
            applied = True
    except BaseException:
        if applied:  # in Redis, but the commit failed: the record's rules go back
            _restore_state(ctx, auction_id)
        raise
    return view


def _restore_state(ctx: Context, auction_id: uuid.UUID) -> None:
    """The edit did not commit after its rules reached Redis: the state is written again from
    the record (best effort: a failure is logged, and the next rebuild corrects it)."""
    try:
        with ctx.db.session() as session:
            auction = session.get(Auction, auction_id)
            if auction is not None:
                auction_state.seed(ctx, session, auction, force=True)
    except (SQLAlchemyError, StoreUnavailable, StoreError) as exc:
        log.warning("the state of %s may hold an edit that did not commit: %s", auction_id, exc)


def _has_bids(session: Any, auction: Auction) -> bool:
    return bool(
        session.scalar(
            select(func.count())
            .select_from(Bid)
            .where(Bid.auction_id == auction.id, Bid.round == auction.round)
        )
    )


def _judge(ctx: Context, session: Any, auction: Auction, viewer: Viewer) -> None:
    verdict = may_cancel(
        shown_status=shown_status(auction.status, auction.go_live_at, auction.ends_at, ctx.clock()),
        has_bids=_has_bids(session, auction),
        is_seller=viewer.user_id == str(auction.seller_id),
        is_admin=viewer.is_admin,
    )
    if verdict is None:
        raise DomainError("forbidden", "Only the auction's seller or an admin cancels it")
    if not verdict:
        raise DomainError(
            "auction_not_cancellable",
            "A seller cancels while the auction is scheduled, or live without bids; an admin "
            "any time before it is sold",
        )


def _state_script(ctx: Context, aid: str, *args: str | int) -> list[str]:
    return list(
        ctx.store.script(
            load_script("cancel_state"), [keys.state(aid), keys.highest(aid)], list(args)
        )
    )


def _close_for_bids(ctx: Context, auction_id: uuid.UUID, viewer: Viewer) -> str:
    """Step 1: the bid script refuses from now on. Returns the status it had."""
    aid = str(auction_id)
    strict = 0 if viewer.is_admin else 1
    outcome, before = _state_script(ctx, aid, "close", strict, "")
    if outcome == "missing":  # no state (flushed): written from the record, then closed
        auction_state.rebuild(ctx, auction_id)
        outcome, before = _state_script(ctx, aid, "close", strict, "")
    if outcome in ("refused", "has_bids"):
        raise DomainError(
            "auction_not_cancellable",
            "The auction has bids now" if outcome == "has_bids" else f"The auction is {before}",
        )
    return before


def cancel(ctx: Context, auction_id: uuid.UUID, viewer: Viewer, reason: str) -> dict[str, Any]:
    """Call the auction off (see the module's docstring). Returns the auction."""
    aid = str(auction_id)
    with ctx.db.session() as session:
        _judge(ctx, session, records.get_auction(session, auction_id), viewer)
    before = _close_for_bids(ctx, auction_id, viewer)
    try:
        if not bid_intake.drain_all(ctx):  # a bid still in the outbox would go unseen
            raise DomainError("unavailable", "The bid store is catching up; retry shortly")
        # The unit of work by hand: step 1 is undone for a failure up to the commit, never for
        # one in the relay after it.
        with ctx.db.session() as session:
            uow = UnitOfWork(ctx, session)
            auction = records.locked_auction(session, auction_id)
            _judge(ctx, session, auction, viewer)
            now = ctx.clock()
            voided_round = auction.round
            from_status = auction.status
            auction.status = AuctionStatus.CANCELLED.value
            auction.cancel_reason = reason
            auction.closed_reason = "cancelled"
            auction.closed_at = now
            auction.round += 1  # its bids stay in the record, void (as after a reset)
            auction.highest_bid_id = None
            session.flush()
            by_admin = viewer.user_id != str(auction.seller_id)
            uow.record(AuctionCancelled(aid, voided_round, reason, now, viewer.user_id, by_admin))
            uow.audit(
                viewer.user_id,
                "admin.cancel" if by_admin else "seller.cancel",
                auction.id,
                {"reason": reason, "fromStatus": from_status, "voidedRound": voided_round},
            )
            view = auctions.view_of(session, ctx, auction, viewer)
    except BaseException:
        try:
            _state_script(ctx, aid, "reopen", 0, before)
        except (StoreUnavailable, StoreError) as exc:
            log.error("auction %s left closed for bids after a failed cancel: %s", aid, exc)
        raise
    uow.relay()
    return view
