"""After the hammer: the seller's decision and the buyer's answer to a counter offer.

Each use case takes the auction's row lock, judges the request against what is in the record
now (`shared.domain.decisions`), and writes the outcome with its consequences in the same
transaction: the user events and notifications for the right people, the email jobs, the
Redis state patch (so a snapshot shows the new status), and an audit entry. Of two requests
that race, the second waits for the lock and is then judged against what the first left, so
an auction gets one decision, and a counter offer one answer.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.adapters.orm import Auction, Bid, CounterOffer
from shared.domain.decisions import (
    AwaitingDecision,
    BuyerAnswer,
    PendingCounter,
    SellerAction,
    judge_answer,
    judge_decision,
)
from shared.domain.errors import DomainError
from shared.domain.money import money_str
from shared.domain.principal import Viewer
from shared.domain.vocabulary import AuctionStatus, CounterStatus, EventType, NotificationType
from shared.services import (
    auctions,
    audit,
    email_jobs,
    notifications,
    outbox,
    records,
    sales,
    schedules,
    transitions,
    watchlist,
)
from shared.services.context import Context


def _highest(session: Session, auction: Auction) -> Bid | None:
    """The bid the seller decides on: the one the end transition recorded."""
    if auction.highest_bid_id is not None:
        bid = session.get(Bid, auction.highest_bid_id)
        if bid is not None:
            return bid
    return records.highest_bid(session, auction)


def _close_unsold(session: Session, ctx: Context, auction: Auction, reason: str) -> None:
    auction.status = AuctionStatus.CLOSED_NO_WINNER.value
    auction.closed_reason = reason
    auction.closed_at = ctx.clock()
    session.flush()
    watchlist.tell_outcome(session, ctx, auction)
    outbox.state_patch(
        session,
        str(auction.id),
        auction.round,
        {"status": auction.status},
        schedule=schedules.entries_for(auction),
    )


def _tell(
    session: Session,
    ctx: Context,
    auction: Auction,
    users: list[str],
    event: EventType,
    kind: NotificationType,
    data: dict[str, Any],
    cause: str,
) -> None:
    """The same user event and notification for each of `users`."""
    for user in users:
        outbox.user_event(session, ctx, user, event, data, str(auction.id))
        notifications.notify(session, ctx, cause=cause, user_id=user, kind=kind, payload=data)


# -- the seller's decision ----------------------------------------------------------------------


def decide(
    ctx: Context,
    auction_id: uuid.UUID,
    seller: Viewer,
    action: SellerAction,
    amount: Decimal | None = None,
) -> dict[str, Any]:
    """accept | reject | counter, by the auction's seller, once. Returns the auction."""
    with ctx.db.session() as session:
        auction = records.get_auction(session, auction_id)
    if seller.user_id != str(auction.seller_id):
        raise DomainError("forbidden", "Only the auction's seller decides on it")
    # An auction past its end that no ticker has closed yet is closed first, then decided on.
    transitions.close_if_overdue(ctx, auction_id)
    with ctx.db.session() as session:
        auction = records.locked_auction(session, auction_id)
        top = _highest(session, auction) if auction.status == AuctionStatus.ENDED else None
        verdict = judge_decision(
            AwaitingDecision(
                status=auction.status,
                seller_id=str(auction.seller_id),
                highest_bidder_id=str(top.bidder_id) if top else None,
                highest_amount=top.amount if top else None,
                has_counter=records.counter_of(session, auction) is not None,
            ),
            seller.user_id or "",
            action,
            amount,
        )
        assert top is not None  # judge_decision refuses an auction without a highest bid
        details: dict[str, Any] = {"bidId": str(top.id), "highestBid": money_str(top.amount)}
        if action == SellerAction.ACCEPT:
            _accept(session, ctx, auction, top)
        elif action == SellerAction.REJECT:
            _reject(session, ctx, auction, top)
        else:
            assert verdict.counter_amount is not None
            offer = _counter(session, ctx, auction, top, verdict.counter_amount)
            details.update(counterId=str(offer.id), amount=money_str(offer.amount))
        audit.record(session, seller.user_id, f"seller.{action.value}", auction.id, details)
        body = auctions.view_of(session, ctx, auction, seller)
    outbox.relay(ctx)
    return body


def _accept(session: Session, ctx: Context, auction: Auction, top: Bid) -> None:
    invoice = sales.complete_sale(
        session,
        ctx,
        auction,
        buyer_id=top.bidder_id,
        price=top.amount,
        reason="accepted",
        bid_id=top.id,
    )
    sales.announce_sale(
        session,
        ctx,
        auction,
        invoice,
        event=EventType.SELLER_ACCEPTED,
        kind=NotificationType.ACCEPTED,
        cause=f"decision:{auction.id}:{auction.round}",
    )


def _reject(session: Session, ctx: Context, auction: Auction, top: Bid) -> None:
    _close_unsold(session, ctx, auction, "rejected")
    data = {
        "auctionId": str(auction.id),
        "itemName": auction.item_name,
        "status": auction.status,
        "amount": money_str(top.amount),
        "bidId": str(top.id),
        "bidderId": str(top.bidder_id),
        "sellerId": str(auction.seller_id),
    }
    _tell(
        session,
        ctx,
        auction,
        [str(top.bidder_id), str(auction.seller_id)],
        EventType.SELLER_REJECTED,
        NotificationType.REJECTED,
        data,
        cause=f"decision:{auction.id}:{auction.round}",
    )
    outbox.job(session, email_jobs.rejection_job(auction, top, ctx.clock()))


def _counter(
    session: Session, ctx: Context, auction: Auction, top: Bid, amount: Decimal
) -> CounterOffer:
    offer = CounterOffer(
        id=uuid.uuid4(),
        auction_id=auction.id,
        round=auction.round,
        seller_id=auction.seller_id,
        buyer_id=top.bidder_id,
        amount=amount,
        status=CounterStatus.PENDING.value,
        created_at=ctx.clock(),
    )
    session.add(offer)
    session.flush()
    summary = {"id": str(offer.id), "amount": money_str(amount), "status": offer.status}
    data = {
        "auctionId": str(auction.id),
        "itemName": auction.item_name,
        "counterOffer": summary,
        "counterId": str(offer.id),
        "amount": money_str(amount),
        "highestBid": money_str(top.amount),
        "buyerId": str(top.bidder_id),
        "sellerId": str(auction.seller_id),
    }
    _tell(
        session,
        ctx,
        auction,
        [str(top.bidder_id)],
        EventType.COUNTER_OFFER,
        NotificationType.COUNTER_OFFER,
        data,
        cause=f"counter:{offer.id}",
    )
    outbox.job(session, email_jobs.counter_invitation_job(offer, top))
    return offer


# -- the buyer's answer -------------------------------------------------------------------------


def answer_counter(
    ctx: Context, counter_id: str, buyer: Viewer, answer: BuyerAnswer
) -> dict[str, Any]:
    """accept | reject of a pending counter offer, by the buyer it went to, once."""
    try:
        cid = uuid.UUID(counter_id)
    except ValueError:
        raise DomainError("not_found", "No such counter offer") from None
    with ctx.db.session() as session:
        auction_id = session.scalar(select(CounterOffer.auction_id).where(CounterOffer.id == cid))
        if auction_id is None:
            raise DomainError("not_found", "No such counter offer")
        # Lock order: the auction, then the offer (the seller's decision takes the same order).
        auction = records.locked_auction(session, auction_id)
        offer = session.scalars(
            select(CounterOffer).where(CounterOffer.id == cid).with_for_update()
        ).one()
        verdict = judge_answer(
            PendingCounter(
                status=offer.status,
                buyer_id=str(offer.buyer_id),
                amount=offer.amount,
                auction_status=auction.status,
                current_round=offer.round == auction.round,
            ),
            buyer.user_id or "",
            answer,
        )
        cause = f"counter:{offer.id}:{answer.value}"
        if verdict.status == AuctionStatus.SOLD:
            offer.status = CounterStatus.ACCEPTED.value
            invoice = sales.complete_sale(
                session,
                ctx,
                auction,
                buyer_id=offer.buyer_id,
                price=offer.amount,
                reason="counter_accepted",
                confirmation=False,  # the counter-accepted email confirms the sale
            )
            sales.announce_sale(
                session,
                ctx,
                auction,
                invoice,
                event=EventType.COUNTER_ACCEPTED,
                kind=NotificationType.COUNTER_ACCEPTED,
                cause=cause,
            )
            for job in email_jobs.counter_accepted_jobs(offer):
                outbox.job(session, job)
        else:
            offer.status = CounterStatus.REJECTED.value
            _close_unsold(session, ctx, auction, "counter_rejected")
            data = {
                "auctionId": str(auction.id),
                "itemName": auction.item_name,
                "status": auction.status,
                "counterOffer": {
                    "id": str(offer.id),
                    "amount": money_str(offer.amount),
                    "status": offer.status,
                },
                "counterId": str(offer.id),
                "amount": money_str(offer.amount),
                "buyerId": str(offer.buyer_id),
                "sellerId": str(offer.seller_id),
            }
            _tell(
                session,
                ctx,
                auction,
                [str(offer.buyer_id), str(offer.seller_id)],
                EventType.COUNTER_REJECTED,
                NotificationType.COUNTER_REJECTED,
                data,
                cause=cause,
            )
        session.flush()
        audit.record(
            session,
            buyer.user_id,
            f"buyer.counter_{answer.value}",
            auction.id,
            {"counterId": str(offer.id), "amount": money_str(offer.amount)},
        )
        body = auctions.view_of(session, ctx, auction, buyer)
    outbox.relay(ctx)
    return body
