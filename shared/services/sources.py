"""Where users' writes came from, kept as salted hashes (`shared.domain.sources`): the marks a
seller's writes carry (the API records them after each seller write), and those a bid's
record carries (the bid intake stores them). A mark seen for the first time sends the pairs it
may join for rescoring; marks not seen for 90 days are forgotten (`forget`, with the ticker's
sweep), and the pairs whose score counted them are rescored.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared.adapters.db import DB_ERRORS
from shared.adapters.orm import SourceMark
from shared.adapters.redis_records import BidRecord
from shared.domain.sources import KEEP_FOR, Mark, MarkKind
from shared.domain.times import from_ms
from shared.services import rescoring
from shared.services.context import Context

log = logging.getLogger(__name__)


def remember(session: Session, user_id: uuid.UUID, marks: Iterable[Mark], at: datetime) -> int:
    """Store `marks` for the user as seen `at`; returns how many were new."""
    new = 0
    for m in marks:
        stmt = insert(SourceMark).values(
            user_id=user_id, kind=m.kind.value, hash=m.hash, first_seen=at, last_seen=at
        )
        # first_seen is written by the insert only: equal to `at`, the mark is new (a mark
        # seen again at the very same microsecond is only rescored once more).
        inserted = session.scalar(
            stmt.on_conflict_do_update(
                index_elements=["user_id", "kind", "hash"],
                set_={"last_seen": func.greatest(SourceMark.last_seen, stmt.excluded.last_seen)},
            ).returning(SourceMark.first_seen == at)
        )
        if inserted:
            new += 1
            rescoring.mark_sharing(session, user_id, m.kind.value, m.hash)
    return new


def remember_now(ctx: Context, user_id: str, marks: tuple[Mark, ...]) -> None:
    """A write's marks, in a transaction of their own after the write (never its failure: a
    mark missed costs one signal one write's worth of evidence)."""
    if not marks:
        return
    try:
        with ctx.db.session() as session:
            remember(session, uuid.UUID(user_id), marks, ctx.clock())
    except DB_ERRORS as exc:
        log.warning("source marks of %s not stored: %s", user_id, exc)


def remember_bid(session: Session, record: BidRecord) -> None:
    """The marks a bid's record carries (the bid route puts them there), for its bidder."""
    marks = [
        Mark(kind, value)
        for kind, value in (
            (MarkKind.NETWORK, record.net_hash),
            (MarkKind.DEVICE, record.device_hash),
        )
        if value
    ]
    bidder = record.sender
    if marks and bidder:
        remember(session, uuid.UUID(bidder), marks, from_ms(record.at_ms))


def forget(session: Session, now: datetime) -> int:
    """Marks last seen more than 90 days ago; the pairs that counted them are rescored."""
    gone = session.scalars(
        delete(SourceMark)
        .where(SourceMark.last_seen < now - KEEP_FOR)
        .returning(SourceMark.user_id)
    ).all()
    rescoring.mark_overlapping(session, gone)
    return len(gone)
