"""A ticker that dies mid-transition: `python -m tests.after_sale.crash_mid_transition`.

It runs the real lifecycle tick (claims from the Redis schedules, the PostgreSQL sweep, the
fire functions) with one hook: the first email job a transition writes into its transaction
prints IN_TRANSACTION and blocks forever, before the commit. The test then kills it with
SIGKILL: claimed in Redis, locked and written in PostgreSQL, never committed."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy.orm import Session

from shared.services import outbox, ticker
from shared.services.context import for_socket_node
from shared.settings import get_settings


def main() -> None:
    ctx = for_socket_node(get_settings())
    real_job = outbox.job

    def job_then_hang(session: Session, job_body: dict[str, Any]) -> None:
        real_job(session, job_body)
        session.flush()  # the transaction's writes are in PostgreSQL, uncommitted
        print("IN_TRANSACTION", job_body["id"], flush=True)
        threading.Event().wait()  # until SIGKILL

    outbox.job = job_then_hang
    own = ticker.Ticker(sweep_every_s=0.0)
    print("TICKING", flush=True)
    while True:
        own.tick(ctx)


if __name__ == "__main__":
    main()
