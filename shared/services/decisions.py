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
from shared.domain.deadlines import after, has_passed
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
from shared.domain.times import iso
from shared.domain.vocabulary import (
    AuctionStatus,
    CloseReason,
    CounterStatus,
    EventType,
    NotificationType,
)
from shared.services import (
    auctions,
    audit,
    deadlines,
    email_jobs,
    outbox,
    outcomes,
    records,
    sales,
    schedules,
    transitions,
)
from shared.services.context import Context

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
    # An auction past its end that no ticker has closed yet is closed first, then decided on;
    # one past its decision deadline gets DECISION_DEFAULT first (and this decision a 409).
    transitions.close_if_overdue(ctx, auction_id)
    deadlines.apply_overdue(ctx, auction_id, deadlines.decision_deadline)
    with ctx.db.session() as session:
        auction = records.locked_auction(session, auction_id)
        top = (
            records.decided_bid(session, auction) if auction.status == AuctionStatus.ENDED else None
        )
        verdict = judge_decision(
            AwaitingDecision(
                status=auction.status,
                seller_id=str(auction.seller_id),
                highest_bidder_id=str(top.bidder_id) if top else None,
                highest_amount=top.amount if top else None,
                has_counter=records.counter_of(session, auction) is not None,
                window_closed=has_passed(auction.decision_deadline, ctx.clock()),
            ),
            seller.user_id or "",
            action,
            amount,
        )
        assert top is not None  # judge_decision refuses an auction without a highest bid
        details: dict[str, Any] = {"bidId": str(top.id), "highestBid": money_str(top.amount)}
        cause = f"decision:{auction.id}:{auction.round}"
        if action == SellerAction.ACCEPT:
            outcomes.sell_to_highest(session, ctx, auction, top, cause=cause)
        elif action == SellerAction.REJECT:
            outcomes.reject_highest(
                session,
                ctx,
                auction,
                top,
                reason=CloseReason.REJECTED,
                kind=NotificationType.REJECTED,
                cause=cause,
            )
            outbox.job(session, email_jobs.rejection_job(auction, top, ctx.clock()))
        else:
            assert verdict.counter_amount is not None
            offer = _counter(session, ctx, auction, top, verdict.counter_amount)
            details.update(counterId=str(offer.id), amount=money_str(offer.amount))
        audit.record(session, seller.user_id, f"seller.{action.value}", auction.id, details)
        body = auctions.view_of(session, ctx, auction, seller)
    outbox.relay(ctx)
    return body


def _counter(
    session: Session, ctx: Context, auction: Auction, top: Bid, amount: Decimal
) -> CounterOffer:
    now = ctx.clock()
    offer = CounterOffer(
        id=uuid.uuid4(),
        auction_id=auction.id,
        round=auction.round,
        seller_id=auction.seller_id,
        buyer_id=top.bidder_id,
        amount=amount,
        status=CounterStatus.PENDING.value,
        created_at=now,
        expires_at=after(now, ctx.settings.counter_window_secs),
    )
    session.add(offer)
    session.flush()
    # The decision was made: its deadlines leave the schedules, the counter's expiry joins.
    outbox.state_patch(
        session,
        str(auction.id),
        auction.round,
        {},
        schedule=schedules.entries_of(session, auction),
    )
    summary = {
        "id": str(offer.id),
        "amount": money_str(amount),
        "status": offer.status,
        "expiresAt": iso(offer.expires_at),
    }
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
    outcomes.tell(
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
    # An answer after expiresAt is refused; the expiry is applied first if no ticker has yet.
    deadlines.apply_overdue(ctx, auction_id, deadlines.counter_expiry)
    with ctx.db.session() as session:
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
                expired=has_passed(offer.expires_at, ctx.clock()),
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
            for job in email_jobs.counter_accepted_jobs(offer, invoice):
                outbox.job(session, job)
        else:
            offer.status = CounterStatus.REJECTED.value
            outcomes.close_unsold(session, ctx, auction, CloseReason.COUNTER_REJECTED)
            data = {
                "auctionId": str(auction.id),
                "itemName": auction.item_name,
                "status": auction.status,
                "counterOffer": {
                    "id": str(offer.id),
                    "amount": money_str(offer.amount),
                    "status": offer.status,
                    "expiresAt": iso(offer.expires_at),
                },
                "counterId": str(offer.id),
                "amount": money_str(offer.amount),
                "buyerId": str(offer.buyer_id),
                "sellerId": str(offer.seller_id),
            }
            outcomes.tell(
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
