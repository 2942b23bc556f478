"""Second-chance offers (rules in `shared.domain.offers`): the seller offers a
closed auction's item to another bidder at that bidder's own highest bid; the bidder accepts
(a sale like any other: invoice, emails, events), rejects, or lets it expire.

Every change takes the auction's row lock first (then the offer's), so two offers made at
once, two answers at once, or an answer racing the expiry, serialise: the second is judged on
what the first left. A partial unique index (one pending offer per auction) backs the lock.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.adapters.orm import Auction, Invoice, SecondChanceOffer, User
from shared.domain.deadlines import after
from shared.domain.errors import DomainError
from shared.domain.events import OfferAccepted, OfferMade, OfferRejected
from shared.domain.marketplace import public_name
from shared.domain.money import money_str
from shared.domain.offers import (
    OfferAnswer,
    OfferRequest,
    PendingOffer,
    judge_offer,
    judge_offer_answer,
)
from shared.domain.principal import Viewer
from shared.domain.vocabulary import CloseReason, OfferStatus
from shared.services import auctions, deadlines, records, sales
from shared.services.context import Context
from shared.services.unit_of_work import unit_of_work
from shared.services.views import offer_view


def _offer_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise DomainError("not_found", "No such offer") from None


def _excluded(session: Session, auction: Auction) -> dict[uuid.UUID, str]:
    """The bidders who are not "another bidder" (each with the reason): the round's highest
    bidder, every buyer whose sale was voided, every bidder who already had an offer."""
    out: dict[uuid.UUID, str] = {}
    top = records.highest_bid(session, auction)
    if top is not None:
        out[top.bidder_id] = "The highest bidder already had the auction's first chance"
    for buyer in session.scalars(
        select(Invoice.buyer_id).where(
            Invoice.auction_id == auction.id, Invoice.voided_at.is_not(None)
        )
    ):
        out[buyer] = "This bidder's purchase of the item was voided"
    for bidder in session.scalars(
        select(SecondChanceOffer.bidder_id).where(
            SecondChanceOffer.auction_id == auction.id,
            SecondChanceOffer.round == auction.round,
        )
    ):
        out[bidder] = "This bidder already had a second-chance offer on this auction"
    return out


def _pending(session: Session, auction: Auction) -> SecondChanceOffer | None:
    return session.scalars(
        select(SecondChanceOffer).where(
            SecondChanceOffer.auction_id == auction.id,
            SecondChanceOffer.round == auction.round,
            SecondChanceOffer.status == OfferStatus.PENDING,
        )
    ).first()


def make_offer(
    ctx: Context, auction_id: uuid.UUID, seller: Viewer, bidder_id: uuid.UUID
) -> dict[str, Any]:
    """The seller offers the item to `bidder_id` at their own highest bid. Returns the offer."""
    # A pending offer past its expiry is expired first: it no longer blocks the next one.
    deadlines.apply_overdue(ctx, auction_id, deadlines.offer_expiry)
    with unit_of_work(ctx) as uow:
        auction = records.locked_auction(uow.session, auction_id)
        highest = records.highest_by_bidder(uow.session, auction.id, auction.round)
        excluded = _excluded(uow.session, auction)
        amount = judge_offer(
            OfferRequest(
                status=auction.status,
                seller_id=str(auction.seller_id),
                had_bids=bool(highest),
                offer_pending=_pending(uow.session, auction) is not None,
                target_highest=highest.get(bidder_id),
                target_excluded=excluded.get(bidder_id),
            ),
            seller.user_id or "",
        )
        now = ctx.clock()
        offer = SecondChanceOffer(
            id=uuid.uuid4(),
            auction_id=auction.id,
            round=auction.round,
            seller_id=auction.seller_id,
            bidder_id=bidder_id,
            amount=amount,
            status=OfferStatus.PENDING.value,
            expires_at=after(now, ctx.settings.offer_window_secs),
            created_at=now,
        )
        uow.session.add(offer)
        uow.session.flush()
        uow.record(OfferMade(str(auction.id), auction.round, str(offer.id)))
        view = offer_view(offer)
        uow.audit(
            seller.user_id,
            "seller.offer",
            auction.id,
            {"offerId": view["id"], "bidderId": str(bidder_id), "amount": view["amount"]},
        )
    return view


def answer_offer(
    ctx: Context, offer_id: str, bidder: Viewer, answer: OfferAnswer
) -> dict[str, Any]:
    """accept | reject, by the bidder the offer went to, once. Returns the auction."""
    oid = _offer_id(offer_id)
    with ctx.db.session() as session:
        auction_id = session.scalar(
            select(SecondChanceOffer.auction_id).where(SecondChanceOffer.id == oid)
        )
    if auction_id is None:
        raise DomainError("not_found", "No such offer")
    # An answer after expiresAt is refused; the expiry is applied first if no ticker has yet.
    deadlines.apply_overdue(ctx, auction_id, deadlines.offer_expiry)
    with unit_of_work(ctx) as uow:
        # Lock order: the auction, then the offer (the expiry takes the same order).
        auction = records.locked_auction(uow.session, auction_id)
        offer = uow.session.scalars(
            select(SecondChanceOffer).where(SecondChanceOffer.id == oid).with_for_update()
        ).one()
        now = ctx.clock()
        verdict = judge_offer_answer(
            PendingOffer(
                status=offer.status,
                bidder_id=str(offer.bidder_id),
                auction_status=auction.status,
                current_round=offer.round == auction.round,
                expires_at=offer.expires_at,
            ),
            bidder.user_id or "",
            answer,
            now,
        )
        offer.status = verdict.value
        offer.answered_at = now
        aid, answered = str(auction.id), str(offer.id)
        if verdict == OfferStatus.ACCEPTED:
            invoice = sales.complete_sale(
                uow.session,
                ctx,
                auction,
                buyer_id=offer.bidder_id,
                price=offer.amount,
                reason="second_chance",
            )
            uow.record(OfferAccepted(aid, auction.round, str(invoice.id), answered))
        else:
            # The auction stays closed (closeReason `offer_declined`): the seller may offer the
            # item to another bidder.
            sales.close_unsold(uow.session, auction, CloseReason.OFFER_DECLINED, now)
            uow.record(OfferRejected(aid, auction.round, answered))
        uow.audit(
            bidder.user_id,
            f"bidder.offer_{answer.value}",
            auction.id,
            {"offerId": answered, "amount": money_str(offer.amount)},
        )
        return auctions.view_of(uow.session, ctx, auction, bidder)


def list_offers(ctx: Context, auction_id: uuid.UUID, viewer: Viewer) -> dict[str, Any]:
    """The seller's (or an admin's) view: every offer of the current round, newest first, and
    the bidders an offer may go to (each with their highest bid, highest first)."""
    with ctx.db.session() as session:
        auction = records.get_auction(session, auction_id)
        if viewer.user_id != str(auction.seller_id) and not viewer.is_admin:
            raise DomainError("forbidden", "Only the auction's seller and admins see its offers")
        made = session.scalars(
            select(SecondChanceOffer)
            .where(
                SecondChanceOffer.auction_id == auction.id,
                SecondChanceOffer.round == auction.round,
            )
            .order_by(SecondChanceOffer.created_at.desc(), SecondChanceOffer.id)
        ).all()
        highest = records.highest_by_bidder(session, auction.id, auction.round)
        excluded = _excluded(session, auction)
        open_ids = [b for b in highest if b not in excluded]
        names = {u.id: u.name for u in session.scalars(select(User).where(User.id.in_(open_ids)))}
        ranked = sorted(open_ids, key=lambda b: (-highest[b], str(b)))
        candidates = [
            {
                "bidderId": str(b),
                "bidderName": public_name(names.get(b, ""), str(b)),
                "amount": money_str(highest[b]),
            }
            for b in ranked
        ]
        return {
            "items": [offer_view(o) for o in made],
            "nextCursor": None,
            "candidates": candidates,
        }
