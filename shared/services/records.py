"""Reading the record in PostgreSQL: an auction (locked or not), its highest bid of the current
round, its counter offer, its sale, its bidders and watchers. Every use case (and every
consequence of an event) reads these the same way, from here."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.adapters.orm import (
    Auction,
    Bid,
    CounterOffer,
    CreditNote,
    Dispute,
    DisputeReply,
    Invoice,
    SecondChanceOffer,
    Watch,
)
from shared.domain.errors import DomainError
from shared.domain.principal import Viewer
from shared.domain.vocabulary import AuctionStatus


def auction_id_of(value: str | uuid.UUID) -> uuid.UUID:
    """An auction id from a path or a message; anything that is not one is simply not found."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(value)
    except ValueError:
        raise DomainError("not_found", "No such auction") from None


def get_auction(session: Session, auction_id: str | uuid.UUID) -> Auction:
    auction = session.get(Auction, auction_id_of(auction_id))
    if auction is None:
        raise DomainError("not_found", "No such auction")
    return auction


def lock_auction(session: Session, auction_id: uuid.UUID) -> Auction | None:
    """The auction's row lock: every change of status takes it, so two of them serialise."""
    return session.scalars(
        select(Auction).where(Auction.id == auction_id).with_for_update()
    ).first()


def locked_auction(session: Session, auction_id: uuid.UUID) -> Auction:
    auction = lock_auction(session, auction_id)
    if auction is None:
        raise DomainError("not_found", "No such auction")
    return auction


def highest_bid(session: Session, auction: Auction) -> Bid | None:
    """The highest standing (not retracted) bid of the auction's current round (ties: the
    later sequence number, a proxy's answer placed after the bid it answers)."""
    return session.scalars(
        select(Bid)
        .where(Bid.auction_id == auction.id, Bid.round == auction.round, Bid.retracted_at.is_(None))
        .order_by(Bid.amount.desc(), Bid.seq.desc())
        .limit(1)
    ).first()


def decided_bid(session: Session, auction: Auction) -> Bid | None:
    """The bid an ended auction's seller decides on: the one the end transition recorded (else
    the round's highest)."""
    if auction.highest_bid_id is not None:
        bid = session.get(Bid, auction.highest_bid_id)
        if bid is not None:
            return bid
    return highest_bid(session, auction)


def highest_by_bidder(
    session: Session, auction_id: uuid.UUID, round: int
) -> dict[uuid.UUID, Decimal]:
    """Each bidder's own highest standing (not retracted) bid in `round` of the auction."""
    rows = session.execute(
        select(Bid.bidder_id, func.max(Bid.amount))
        .where(Bid.auction_id == auction_id, Bid.round == round, Bid.retracted_at.is_(None))
        .group_by(Bid.bidder_id)
    ).all()
    return {bidder: amount for bidder, amount in rows}


def round_bidders(session: Session, auction: Auction) -> list[str]:
    """Everyone who bid in the auction's current round."""
    return [
        str(u)
        for u in session.scalars(
            select(Bid.bidder_id)
            .where(Bid.auction_id == auction.id, Bid.round == auction.round)
            .distinct()
        )
    ]


def watchers(session: Session, auction_id: uuid.UUID) -> list[str]:
    return [
        str(u)
        for u in session.scalars(
            select(Watch.user_id).where(Watch.auction_id == auction_id).order_by(Watch.user_id)
        )
    ]


def counter_of(session: Session, auction: Auction) -> CounterOffer | None:
    """The counter offer of the auction's current round, if the seller made one."""
    return session.scalars(
        select(CounterOffer).where(
            CounterOffer.auction_id == auction.id, CounterOffer.round == auction.round
        )
    ).first()


def current_invoice(session: Session, auction_id: uuid.UUID) -> Invoice | None:
    """The auction's sale as it stands (not void), if it is sold."""
    return session.scalars(
        select(Invoice).where(Invoice.auction_id == auction_id, Invoice.voided_at.is_(None))
    ).first()


def locked_sale(session: Session, auction: Auction) -> Invoice | None:
    """A sold auction's sale (not void), its row locked (after the auction's: the lock order
    of every payment change)."""
    if auction.status != AuctionStatus.SOLD:
        return None
    return session.scalars(
        select(Invoice)
        .where(Invoice.auction_id == auction.id, Invoice.voided_at.is_(None))
        .with_for_update()
    ).first()


def offer_shown_to(session: Session, auction: Auction, viewer: Viewer) -> SecondChanceOffer | None:
    """The second-chance offer an auction shows `viewer`: the newest of the round to its
    seller (and admins), the newest addressed to them to a bidder, none to anyone else."""
    if viewer.user_id is None or auction.status not in (
        AuctionStatus.CLOSED_NO_WINNER,
        AuctionStatus.SOLD,
    ):
        return None
    query = select(SecondChanceOffer).where(
        SecondChanceOffer.auction_id == auction.id, SecondChanceOffer.round == auction.round
    )
    if viewer.user_id != str(auction.seller_id) and not viewer.is_admin:
        try:
            mine = uuid.UUID(viewer.user_id)
        except ValueError:
            return None
        query = query.where(SecondChanceOffer.bidder_id == mine)
    return session.scalars(query.order_by(SecondChanceOffer.created_at.desc()).limit(1)).first()


def dispute_of(session: Session, auction_id: uuid.UUID, *, lock: bool = False) -> Dispute | None:
    """The auction's newest dispute (a sale has at most one; a refunded sale's stays on record
    when the item sells again)."""
    query = (
        select(Dispute)
        .where(Dispute.auction_id == auction_id)
        .order_by(Dispute.opened_at.desc())
        .limit(1)
    )
    return session.scalars(query.with_for_update() if lock else query).first()


def replies_of(session: Session, dispute_id: uuid.UUID) -> list[DisputeReply]:
    return list(
        session.scalars(
            select(DisputeReply)
            .where(DisputeReply.dispute_id == dispute_id)
            .order_by(DisputeReply.created_at, DisputeReply.id)
        )
    )


def credit_note_of(session: Session, invoice_id: uuid.UUID) -> CreditNote | None:
    return session.scalars(select(CreditNote).where(CreditNote.invoice_id == invoice_id)).first()
