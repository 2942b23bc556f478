"""The deadlines after the hammer, timed transitions like start and end: the seller's decision
window (its reminder and its deadline), a counter offer's expiry, a second-chance offer's
expiry, a payment's due date, a paid item's shipping window. The ticker fires them when their
schedule (or the PostgreSQL sweep) says so; a request that meets one overdue fires it first
(`apply_overdue`), then is judged on the record, so a decision racing its own deadline gives
exactly one outcome.

Each fire function: take the auction's row lock, check the record (status, the clock, and that
the moment was not handled yet), change the record and record what happened (its events,
notifications and email jobs join the transaction: `consequences`) with an audit entry, and
return True only when this call made it. Two tickers, a restart, or a request and a ticker at
once: exactly one of them returns True.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from shared.adapters.orm import Auction, Bid, CounterOffer, SecondChanceOffer
from shared.adapters.redis_store import StoreError, StoreUnavailable
from shared.domain.deadlines import default_action, has_passed
from shared.domain.decisions import SellerAction
from shared.domain.events import (
    CounterExpired,
    OfferExpired,
    PaymentFellDue,
    RejectedByDefault,
    SellerReminded,
    ShipmentOverdue,
    SoldByDefault,
)
from shared.domain.money import money_str
from shared.domain.times import iso
from shared.domain.vocabulary import (
    AuctionStatus,
    CloseReason,
    CounterStatus,
    OfferStatus,
    PaymentStatus,
)
from shared.services import records, sales
from shared.services.context import Context
from shared.services.unit_of_work import unit_of_work

log = logging.getLogger(__name__)

Fire = Callable[[Context, uuid.UUID], bool]


def apply_overdue(ctx: Context, auction_id: uuid.UUID, fire: Fire) -> None:
    """For a request that acts on what a deadline decides: fire it first if it is due (the
    fire function checks; a failure leaves it to the ticker, and the request is judged on the
    clock all the same)."""
    try:
        fire(ctx, auction_id)
    except (SQLAlchemyError, StoreUnavailable, StoreError) as exc:
        log.warning("deadline of %s left to the ticker: %s", auction_id, exc)


def _undecided_top(session: Session, auction: Auction | None) -> Bid | None:
    """The highest bid of an ended auction whose seller has not decided (no counter offer in
    this round), else None."""
    if auction is None or auction.status != AuctionStatus.ENDED:
        return None
    if records.counter_of(session, auction) is not None:
        return None
    return records.decided_bid(session, auction)


def decision_reminder(ctx: Context, auction_id: uuid.UUID) -> bool:
    """Half-way through the decision window: remind the seller once (notification, email)."""
    with unit_of_work(ctx) as uow:
        auction = records.lock_auction(uow.session, auction_id)
        top = _undecided_top(uow.session, auction)
        if auction is None or top is None or auction.decision_reminded_at is not None:
            return False
        now = ctx.clock()
        if not has_passed(auction.decision_reminder_at, now):
            return False
        auction.decision_reminded_at = now
        uow.session.flush()
        uow.record(SellerReminded(str(auction.id), auction.round, str(top.id)))
    return True


def decision_deadline(ctx: Context, auction_id: uuid.UUID) -> bool:
    """The decision window ran out: DECISION_DEFAULT applies, with the events, notifications
    and emails of that decision (`reject`: closed, closeReason `decision_expired`; `accept`:
    sold at the highest bid when the reserve is met, else rejected)."""
    with unit_of_work(ctx) as uow:
        auction = records.lock_auction(uow.session, auction_id)
        top = _undecided_top(uow.session, auction)
        if auction is None or top is None:
            return False
        now = ctx.clock()
        if not has_passed(auction.decision_deadline, now):
            return False
        aid, decided = str(auction.id), str(top.id)
        action = default_action(ctx.settings.decision_default, auction.reserve_price, top.amount)
        details: dict[str, Any] = {
            "default": ctx.settings.decision_default,
            "applied": action.value,
            "bidId": decided,
            "highestBid": money_str(top.amount),
            "decisionDeadline": iso(auction.decision_deadline),
        }
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
            details["invoiceNumber"] = invoice.number
            uow.record(SoldByDefault(aid, auction.round, str(invoice.id), decided))
        else:
            sales.close_unsold(uow.session, auction, CloseReason.DECISION_EXPIRED, now)
            uow.record(RejectedByDefault(aid, auction.round, decided))
        uow.audit(None, "system.decision_default", auction.id, details)
    return True


def counter_expiry(ctx: Context, auction_id: uuid.UUID) -> bool:
    """A counter offer unanswered by its expiresAt: `expired`, and the auction closes
    (closeReason `counter_expired`); `counter:expired` to the buyer and the seller."""
    with unit_of_work(ctx) as uow:
        # Lock order: the auction, then the offer (the buyer's answer takes the same order).
        auction = records.lock_auction(uow.session, auction_id)
        if auction is None or auction.status != AuctionStatus.ENDED:
            return False
        counter = uow.session.scalars(
            select(CounterOffer)
            .where(CounterOffer.auction_id == auction.id, CounterOffer.round == auction.round)
            .with_for_update()
        ).first()
        if counter is None or counter.status != CounterStatus.PENDING:
            return False
        now = ctx.clock()
        if not has_passed(counter.expires_at, now):
            return False
        counter.status = CounterStatus.EXPIRED.value
        sales.close_unsold(uow.session, auction, CloseReason.COUNTER_EXPIRED, now)
        uow.record(CounterExpired(str(auction.id), auction.round, str(counter.id)))
        uow.audit(
            None,
            "system.counter_expired",
            auction.id,
            {"counterId": str(counter.id), "amount": money_str(counter.amount)},
        )
    return True


def offer_expiry(ctx: Context, auction_id: uuid.UUID) -> bool:
    """A pending second-chance offer unanswered by its expiresAt: `expired`; the auction stays
    closed (closeReason `offer_declined`) and may be offered to another bidder."""
    with unit_of_work(ctx) as uow:
        # Lock order: the auction, then the offer (the bidder's answer takes the same order).
        auction = records.lock_auction(uow.session, auction_id)
        if auction is None or auction.status != AuctionStatus.CLOSED_NO_WINNER:
            return False
        offer = uow.session.scalars(
            select(SecondChanceOffer)
            .where(
                SecondChanceOffer.auction_id == auction.id,
                SecondChanceOffer.round == auction.round,
                SecondChanceOffer.status == OfferStatus.PENDING,
            )
            .with_for_update()
        ).first()
        now = ctx.clock()
        if offer is None or not has_passed(offer.expires_at, now):
            return False
        offer.status = OfferStatus.EXPIRED.value
        offer.answered_at = now
        sales.close_unsold(uow.session, auction, CloseReason.OFFER_DECLINED, now)
        uow.record(OfferExpired(str(auction.id), auction.round, str(offer.id)))
        uow.audit(
            None,
            "system.offer_expired",
            auction.id,
            {"offerId": str(offer.id), "amount": money_str(offer.amount)},
        )
    return True


def payment_due(ctx: Context, auction_id: uuid.UUID) -> bool:
    """dueAt has come for a payment that is not confirmed: tell both parties, once (the seller
    may now report it unpaid)."""
    with unit_of_work(ctx) as uow:
        auction = records.lock_auction(uow.session, auction_id)
        if auction is None:
            return False
        invoice = records.locked_sale(uow.session, auction)
        now = ctx.clock()
        if (
            invoice is None
            or invoice.payment_status not in (PaymentStatus.PENDING, PaymentStatus.PAID)
            or invoice.payment_due_notified_at is not None
            or invoice.payment_due_at > now
        ):
            return False
        invoice.payment_due_notified_at = now
        uow.session.flush()
        uow.record(PaymentFellDue(str(auction.id), auction.round, str(invoice.id)))
    return True


def ship_due(ctx: Context, auction_id: uuid.UUID) -> bool:
    """SHIP_WINDOW_SECS after the payment, a paid item that ships has not left: remind the
    seller and tell the buyer, once."""
    with unit_of_work(ctx) as uow:
        auction = records.lock_auction(uow.session, auction_id)
        if auction is None:
            return False
        invoice = records.locked_sale(uow.session, auction)
        now = ctx.clock()
        if (
            invoice is None
            or invoice.payment_status not in (PaymentStatus.PAID, PaymentStatus.CONFIRMED)
            or invoice.shipped_at is not None
            or invoice.ship_reminded_at is not None
            or not has_passed(invoice.ship_by, now)
        ):
            return False
        invoice.ship_reminded_at = now
        uow.session.flush()
        uow.record(ShipmentOverdue(str(auction.id), auction.round, str(invoice.id)))
        uow.audit(
            None,
            "system.shipment_overdue",
            auction.id,
            {"invoiceNumber": invoice.number, "shipBy": iso(invoice.ship_by)},
        )
    return True
