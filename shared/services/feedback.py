"""Feedback after a completed sale, a reply to it, and the reputation it builds (the rules, who
may and when, in `shared.domain.feedback`). Reads and writes of the record only: feedback
causes nothing else (a reputation is read from the record when asked)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared.adapters.orm import Feedback, Invoice, User
from shared.domain.errors import DomainError
from shared.domain.feedback import (
    REPUTATION_WINDOW,
    CompletedSale,
    Rating,
    Received,
    Side,
    judge_feedback,
    other_side,
    side_of,
    tally,
)
from shared.domain.marketplace import public_name
from shared.domain.principal import Viewer
from shared.domain.times import iso
from shared.services import records, retractions
from shared.services.context import Context


def _sale(invoice: Invoice | None) -> CompletedSale | None:
    if invoice is None:
        return None
    return CompletedSale(
        buyer_id=str(invoice.buyer_id),
        seller_id=str(invoice.seller_id),
        payment_status=invoice.payment_status,
    )


def _names(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    return {
        u.id: public_name(u.name, str(u.id))
        for u in session.scalars(select(User).where(User.id.in_(ids)))
    }


def _reply(text: str | None, at: datetime | None) -> dict[str, Any] | None:
    return None if text is None else {"comment": text, "at": iso(at)}


def view(f: Feedback, names: dict[uuid.UUID, str]) -> dict[str, Any]:
    return {
        "id": str(f.id),
        "auctionId": str(f.auction_id),
        "fromId": str(f.author_id),
        "fromName": names.get(f.author_id, public_name("", str(f.author_id))),
        "fromRole": f.author_role,
        "toId": str(f.subject_id),
        "toName": names.get(f.subject_id, public_name("", str(f.subject_id))),
        "rating": f.rating,
        "comment": f.comment,
        "createdAt": iso(f.created_at),
        "reply": _reply(f.reply, f.replied_at),
    }


def _viewed(session: Session, f: Feedback) -> dict[str, Any]:
    return view(f, _names(session, {f.author_id, f.subject_id}))


def leave(
    ctx: Context, auction_id: uuid.UUID, viewer: Viewer, rating: Rating, comment: str
) -> dict[str, Any]:
    """One side's feedback on the other, once the sale is complete (201); see the rules."""
    me = viewer.user_id or ""
    with ctx.db.session() as session:
        auction = records.get_auction(session, auction_id)
        invoice = records.current_invoice(session, auction.id)
        already = invoice is not None and (
            session.scalar(
                select(Feedback.id).where(
                    Feedback.invoice_id == invoice.id, Feedback.author_id == uuid.UUID(me)
                )
            )
            is not None
        )
        side = judge_feedback(me, str(auction.seller_id), _sale(invoice), already)
        assert invoice is not None  # judge_feedback refuses without a sale
        subject = invoice.buyer_id if side == Side.SELLER else invoice.seller_id
        made = session.scalar(
            insert(Feedback)
            .values(
                id=uuid.uuid4(),
                auction_id=auction.id,
                invoice_id=invoice.id,
                author_id=uuid.UUID(me),
                subject_id=subject,
                author_role=side.value,
                rating=rating.value,
                comment=comment,
                created_at=ctx.clock(),
            )
            .on_conflict_do_nothing(index_elements=["invoice_id", "author_id"])
            .returning(Feedback.id)
        )
        if made is None:  # the same side, a moment earlier, in another request
            raise DomainError("feedback_exists", "You already left feedback on this sale")
        return _viewed(session, session.get_one(Feedback, made))


def reply(ctx: Context, auction_id: uuid.UUID, viewer: Viewer, comment: str) -> dict[str, Any]:
    """The rated side's one reply to the feedback about them on this auction's sale."""
    me = viewer.user_id or ""
    with ctx.db.session() as session:
        auction = records.get_auction(session, auction_id)
        invoice = records.current_invoice(session, auction.id)
        side_of(me, str(auction.seller_id), _sale(invoice))  # 403 for anyone else
        about_me = (
            session.scalars(
                select(Feedback).where(
                    Feedback.invoice_id == invoice.id, Feedback.subject_id == uuid.UUID(me)
                )
            ).first()
            if invoice is not None
            else None
        )
        if about_me is None:
            raise DomainError("not_found", "There is no feedback about you on this sale")
        replied = session.scalar(
            update(Feedback)
            .where(Feedback.id == about_me.id, Feedback.reply.is_(None))
            .values(reply=comment, replied_at=ctx.clock())
            .returning(Feedback.id)
        )
        if replied is None:
            raise DomainError("reply_exists", "You already replied to this feedback")
        session.refresh(about_me)
        return _viewed(session, about_me)


def of_auction(ctx: Context, auction_id: uuid.UUID) -> dict[str, Any]:
    """The feedback left on an auction's sale (public, like a reputation), oldest first."""
    with ctx.db.session() as session:
        auction = records.get_auction(session, auction_id)
        rows = session.scalars(
            select(Feedback)
            .where(Feedback.auction_id == auction.id)
            .order_by(Feedback.created_at, Feedback.id)
        ).all()
        names = _names(session, {f.author_id for f in rows} | {f.subject_id for f in rows})
        return {"items": [view(f, names) for f in rows]}


def reputation(ctx: Context, user_id: str) -> dict[str, Any]:
    """What others said of a user over the last 12 months, in either role."""
    try:
        uid = uuid.UUID(user_id)
    except ValueError:
        raise DomainError("not_found", "No such user") from None
    now = ctx.clock()
    with ctx.db.session() as session:
        user = session.get(User, uid)
        if user is None:
            raise DomainError("not_found", "No such user")
        rows = session.scalars(
            select(Feedback).where(
                Feedback.subject_id == uid, Feedback.created_at > now - REPUTATION_WINDOW
            )
        ).all()
        received = [
            Received(
                rating=f.rating,
                comment=f.comment,
                role=other_side(Side(f.author_role)).value,
                at=f.created_at,
                reply=f.reply,
                replied_at=f.replied_at,
            )
            for f in rows
        ]
        t = tally(received, now)
        return {
            "userId": str(uid),
            "name": public_name(user.name, str(uid)),
            "positive": t.positive,
            "neutral": t.neutral,
            "negative": t.negative,
            "percentPositive": t.percent_positive,
            # Retractions the user made in the last 12 months (bidders' public record).
            "retractions12m": retractions.retractions_since(session, uid, now - REPUTATION_WINDOW),
            "memberSince": iso(user.created_at),
            "recent": [
                {
                    "rating": r.rating,
                    "comment": r.comment,
                    "role": r.role,
                    "at": iso(r.at),
                    "reply": _reply(r.reply, r.replied_at),
                }
                for r in t.recent
            ],
        }
