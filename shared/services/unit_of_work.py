"""The unit of work of a use case: one transaction in PostgreSQL, and the domain events it
records.

    with unit_of_work(ctx) as uow:
        auction = records.locked_auction(uow.session, auction_id)
        ...                                   # judge, then change the record
        uow.record(AuctionEnded(...))         # what happened; its consequences join the
                                              # transaction (consequences.CONSEQUENCES)
    # committed: what the events wrote to the outbox is relayed to Redis now

Everything the events cause is written as outbox rows in the same transaction, so it commits
with the change or not at all; after the commit the rows are relayed at once (whatever a
crash leaves, the ticker relays), and Redis applies each row once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from shared.domain.events import Event
from shared.services import audit, consequences, outbox
from shared.services.context import Context


@dataclass
class UnitOfWork:
    ctx: Context
    session: Session
    events: list[Event] = field(default_factory=list)

    def record(self, *events: Event) -> None:
        """What happened, after the change is made: each event's consequences are written
        into this transaction now, in the order recorded."""
        for event in events:
            consequences.write(self.session, self.ctx, event)
            self.events.append(event)

    def audit(
        self,
        actor_id: str | None,
        action: str,
        auction_id: uuid.UUID | None,
        details: dict[str, Any],
    ) -> None:
        """Who did what (None: the system), in the same transaction as the change."""
        audit.record(self.session, actor_id, action, auction_id, details)

    def relay(self) -> None:
        """After the commit: move what the events wrote to Redis now (never raises)."""
        if self.events:
            outbox.relay(self.ctx)


@contextmanager
def unit_of_work(ctx: Context) -> Iterator[UnitOfWork]:
    """Commits on success and rolls back on any error; after a commit that recorded events,
    relays their outbox rows to Redis."""
    with ctx.db.session() as session:
        uow = UnitOfWork(ctx, session)
        yield uow
    uow.relay()
