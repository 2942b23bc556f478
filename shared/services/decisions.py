"""After the hammer: the seller's decision and the buyer's answer to a counter offer.

Each use case takes the auction's row lock, judges the request against what is in the record
now (`shared.domain.decisions`), changes the record and records what happened, with an audit
entry, in one transaction (the event's consequences join it: the user events and
notifications for the right people, the email jobs, the Redis state patch so a snapshot
shows the new status). Of two requests
that race, the second waits for the lock and is then judged against what the first left, so
an auction gets one decision, and a counter offer one answer.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import select

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
from shared.domain.events import (
    CounterAccepted,
    CounterOffered,
    CounterRejected,
    SellerAccepted,
    SellerRejected,
)
from shared.domain.money import money_str
from shared.domain.principal import Viewer
from shared.domain.vocabulary import AuctionStatus, CloseReason, CounterStatus
from shared.services import auctions, deadlines, records, sales, transitions
from shared.services.context import Context
from shared.services.unit_of_work import UnitOfWork, unit_of_work

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
    with unit_of_work(ctx) as uow:
        auction = records.locked_auction(uow.session, auction_id)
        ended = auction.status == AuctionStatus.ENDED
        top = records.decided_bid(uow.session, auction) if ended else None
        now = ctx.clock()
        verdict = judge_decision(
            AwaitingDecision(
                status=auction.status,
                seller_id=str(auction.seller_id),
                highest_bidder_id=str(top.bidder_id) if top else None,
                highest_amount=top.amount if top else None,
                has_counter=records.counter_of(uow.session, auction) is not None,
                window_closed=has_passed(auction.decision_deadline, now),
            ),
            seller.user_id or "",
            action,
            amount,
        )
        assert top is not None  # judge_decision refuses an auction without a highest bid
        aid, decided = str(auction.id), str(top.id)
        details: dict[str, Any] = {"bidId": decided, "highestBid": money_str(top.amount)}
        if action == SellerAction.ACCEPT:
            invoice = sales.complete_sale(
                uow.session,
                ctx,
                auction,
                buyer_id=top.bidder_id,
                price=top.amount,
                reason="accepted",
                bid_id=top.id,
            )
            uow.record(SellerAccepted(aid, auction.round, str(invoice.id), decided))
        elif action == SellerAction.REJECT:
            sales.close_unsold(uow.session, auction, CloseReason.REJECTED, now)
            uow.record(SellerRejected(aid, auction.round, decided, decided_at=now))
        else:
            assert verdict.counter_amount is not None
            offer = _counter(uow, auction, top, verdict.counter_amount)
            details.update(counterId=str(offer.id), amount=money_str(offer.amount))
        uow.audit(seller.user_id, f"seller.{action.value}", auction.id, details)
        return auctions.view_of(uow.session, ctx, auction, seller)


def _counter(uow: UnitOfWork, auction: Auction, top: Bid, amount: Decimal) -> CounterOffer:
    now = uow.ctx.clock()
    offer = CounterOffer(
        id=uuid.uuid4(),
        auction_id=auction.id,
        round=auction.round,
        seller_id=auction.seller_id,
        buyer_id=top.bidder_id,
        amount=amount,
        status=CounterStatus.PENDING.value,
        created_at=now,
        expires_at=after(now, uow.ctx.settings.counter_window_secs),
    )
    uow.session.add(offer)
    uow.session.flush()
    # The decision was made: its deadlines leave the schedules, the counter's expiry joins.
    uow.record(CounterOffered(str(auction.id), auction.round, str(offer.id), str(top.id)))
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
    with unit_of_work(ctx) as uow:
        # Lock order: the auction, then the offer (the seller's decision takes the same order).
        auction = records.locked_auction(uow.session, auction_id)
        offer = uow.session.scalars(
            select(CounterOffer).where(CounterOffer.id == cid).with_for_update()
        ).one()
        now = ctx.clock()
        verdict = judge_answer(
            PendingCounter(
                status=offer.status,
                buyer_id=str(offer.buyer_id),
                amount=offer.amount,
                auction_status=auction.status,
                current_round=offer.round == auction.round,
                expired=has_passed(offer.expires_at, now),
            ),
            buyer.user_id or "",
            answer,
        )
        aid, counter = str(auction.id), str(offer.id)
        if verdict.status == AuctionStatus.SOLD:
            offer.status = CounterStatus.ACCEPTED.value
            invoice = sales.complete_sale(
                uow.session,
                ctx,
                auction,
                buyer_id=offer.buyer_id,
                price=offer.amount,
                reason="counter_accepted",
            )
            uow.record(CounterAccepted(aid, auction.round, str(invoice.id), counter))
        else:
            offer.status = CounterStatus.REJECTED.value
            sales.close_unsold(uow.session, auction, CloseReason.COUNTER_REJECTED, now)
            uow.record(CounterRejected(aid, auction.round, counter))
        uow.audit(
            buyer.user_id,
            f"buyer.counter_{answer.value}",
            auction.id,
            {"counterId": counter, "amount": money_str(offer.amount)},
        )
        return auctions.view_of(uow.session, ctx, auction, buyer)
