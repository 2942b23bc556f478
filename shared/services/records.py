"""Reading the record in PostgreSQL: an auction (locked or not), its highest bid of the current
round, its counter offer. Every use case reads these the same way, from here."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.adapters.orm import Auction, Bid, CounterOffer
from shared.domain.errors import DomainError


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
    """The highest bid of the auction's current round (ties: the later sequence number, a
    proxy's answer placed after the bid it answers)."""
    return session.scalars(
        select(Bid)
        .where(Bid.auction_id == auction.id, Bid.round == auction.round)
        .order_by(Bid.amount.desc(), Bid.seq.desc())
        .limit(1)
    ).first()


def counter_of(session: Session, auction: Auction) -> CounterOffer | None:
    """The counter offer of the auction's current round, if the seller made one."""
    return session.scalars(
        select(CounterOffer).where(
            CounterOffer.auction_id == auction.id, CounterOffer.round == auction.round
        )
    ).first()
