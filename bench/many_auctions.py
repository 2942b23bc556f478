"""Many auctions: AUCTIONS live auctions and BIDDERS bidders spread over
them (bidder i on auction i mod AUCTIONS, one keep-alive connection each, closed loop), through
the same local HTTP stack as the hot auction (`infra.api_server`, one worker per core, and the
bridge, as is), for SECONDS: aggregate attempts/s, accepted/s and p50/p99. `make bench`
compares the attempts/s with the hot auction's at 32 bidders measured in the same run.

The auctions' Redis state is seeded and every bidder's connection has sent one (refused) bid
before the clock starts, as in a running marketplace: otherwise the window would also measure
300 rebuilds from PostgreSQL and 1,500 first contacts at once (a server thread each, and the
connections its pools open), which on 2 cores took seconds (p50 6.8 s in a 5 s run).
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bench import loadgen
from bench.fixtures import SECONDS, WORKERS, log
from infra.embedded import free_port
from infra.stack import Stack
from shared.adapters.orm import Auction

AUCTIONS = int(os.environ.get("BENCH_MANY_AUCTIONS", "300"))
BIDDERS = int(os.environ.get("BENCH_MANY_BIDDERS", "1500"))


def _auctions(database_url: str, redis_url: str, seller: uuid.UUID, count: int) -> list[str]:
    """`count` live auctions for an hour, in one transaction, each seeded in Redis."""
    from shared.services import auction_state
    from shared.services.context import for_socket_node
    from shared.settings import load_settings

    ctx = for_socket_node(load_settings(DATABASE_URL=database_url, REDIS_URL=redis_url))
    now = datetime.now(UTC)
    try:
        with ctx.db.session() as session:
            made = [
                Auction(
                    id=uuid.uuid4(),
                    seller_id=seller,
                    item_name=f"Lot {i}",
                    description="",
                    start_price=Decimal("1.00"),
                    bid_increment=Decimal("1.00"),
                    go_live_at=now - timedelta(seconds=1),
                    duration_mins=60,
                    ends_at=now + timedelta(minutes=60),
                    status="live",
                    round=1,
                )
                for i in range(count)
            ]
            session.add_all(made)
            session.flush()
            for auction in made:
                auction_state.seed(ctx, session, auction, force=True)
            return [str(a.id) for a in made]
    finally:
        ctx.close()


def run(
    database_url: str,
    redis_url: str,
    tokens: list[str],
    seller: uuid.UUID,
    *,
    auctions: int = AUCTIONS,
    bidders: int = BIDDERS,
) -> dict[str, Any]:
    bidders = min(bidders, len(tokens))
    log(f"\n== many auctions: {auctions} live auctions, {bidders} bidders spread over them ==")
    ids = _auctions(database_url, redis_url, seller, auctions)
    stack = Stack(
        database_url=database_url,
        redis_url=redis_url,
        api_port=free_port(),
        socket_port=free_port(),
        bridge_port=free_port(),
        quiet=True,
        workers=WORKERS,
        # As the hot auction's stack: only the bid rules judge (no rate limit in the way).
        extra_env={
            "APP_ENV": "test",
            "LOG_LEVEL": "WARNING",
            "BID_RATE_LIMIT": "1000000/s:1000000",
        },
    )
    stack.start_bridge()
    stack.start_api()
    stack.wait_healthy()
    try:
        urls = [f"{stack.api_url}/api/auctions/{ids[i % len(ids)]}/bids" for i in range(bidders)]
        outcome = loadgen.run(urls, tokens[:bidders], SECONDS, warm=True).summary()
    finally:
        stack.stop()
    figures = {"auctions": auctions, "bidders": bidders, **outcome}
    log(
        f"  {bidders} bidders on {auctions} auctions: {outcome['attempts_per_s']} att/s "
        f"{outcome['accepted_per_s']} acc/s  p50 {outcome['p50_ms']} ms  "
        f"p99 {outcome['p99_ms']} ms  max {outcome['max_ms']} ms  {outcome['statuses']}"
    )
    return figures
