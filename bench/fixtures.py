"""The benchmarks' configuration and fixtures, in one module that `bench/__main__.py` and every
scenario (`redis_floor`, `fanout`, `cold_start`, `report`) import: the services to run on, a
database of the bench's own with bidders and a seller, fresh hot auctions, and the knobs
(BENCH_SECONDS, BENCH_BIDDERS, BENCH_WORKERS)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

from infra import databases
from infra.stack import Services
from infra.tcp_proxy import TcpProxy
from shared.adapters.db import Database, make_engine, sqlalchemy_url
from shared.adapters.orm import Auction, User
from shared.adapters.tokens import Verifier
from shared.settings import REPO_ROOT, load_settings

RESULTS = REPO_ROOT / "bench" / "results.json"
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
BIDDERS = [int(n) for n in os.environ.get("BENCH_BIDDERS", "8,32,128").split(",")]
DELAY_S = 0.001
# Processes for the API server and the bridge: one per core, as the local stack would run in
# production-like conditions (every design gets the same server).
WORKERS = int(os.environ.get("BENCH_WORKERS", str(os.cpu_count() or 1)))


def log(message: str) -> None:
    print(message, flush=True)


@contextmanager
def bench_services(database: str) -> Iterator[tuple[str, str]]:
    """The services a benchmark runs on (DATABASE_URL / REDIS_URL, else embedded ones under
    var/bench), with a database of its own and a Redis db claimed like a test session's (so a
    bench and the test sessions on one shared server never flush each other's data).
    Yields (database URL, Redis URL). The bench runs as `test` (however it was started:
    `make bench` says so too), never as the production default."""
    os.environ.setdefault("APP_ENV", "test")
    settings = load_settings()
    services = Services(
        REPO_ROOT / "var" / "bench", settings.database_url, settings.redis_url, persist_redis=False
    ).start()
    try:
        assert services.database_url and services.redis_url
        redis_db = databases.claim_redis_db(services.redis_url, databases.REDIS_CLAIM_PREFIX)
        try:
            yield (
                databases.with_database(services.database_url, database),
                databases.with_redis_db(services.redis_url, redis_db),
            )
        finally:
            databases.release_redis_db(services.redis_url, redis_db, databases.REDIS_CLAIM_PREFIX)
    finally:
        services.stop()


def setup_database(database_url: str, people: int) -> tuple[list[str], uuid.UUID]:
    """A fresh schema, bidders with dev tokens, and their seller."""
    databases.reset_schema(database_url)
    verifier = Verifier(load_settings(APP_ENV="test"))
    tokens = []
    db = Database(make_engine(database_url, pool_size=0))
    with db.session() as session:
        for i in range(people):
            token = verifier.mint_dev_token(f"bench-{i}@example.com", f"Bidder {i}", "buyer")
            principal = verifier.verify(token)
            session.add(
                User(
                    id=uuid.UUID(principal.user_id),
                    email=principal.email,
                    name=principal.name,
                    role="buyer",
                )
            )
            tokens.append(token)
        seller = uuid.uuid4()
        session.add(User(id=seller, email="bench-seller@example.com", name="Seller", role="seller"))
    db.dispose()
    return tokens, seller


def new_auction(database_url: str, seller: uuid.UUID) -> uuid.UUID:
    """A live auction for an hour (start 1.00, increment 1.00), in PostgreSQL only: the first
    bid seeds its Redis state."""
    db = Database(make_engine(database_url, pool_size=0))
    now = datetime.now(UTC)
    with db.session() as session:
        auction = Auction(
            id=uuid.uuid4(),
            seller_id=seller,
            item_name="Hot lot",
            description="",
            start_price=Decimal("1.00"),
            bid_increment=Decimal("1.00"),
            go_live_at=now - timedelta(seconds=1),
            duration_mins=60,
            ends_at=now + timedelta(minutes=60),
            status="live",
            round=1,
        )
        session.add(auction)
        auction_id = auction.id
    db.dispose()
    return auction_id


def pg_target(database_url: str) -> tuple[str, int] | str:
    """Where PostgreSQL listens: (host, port), or the Unix socket's path."""
    _, args = sqlalchemy_url(database_url)
    if "unix_sock" in args:
        return str(args["unix_sock"])
    parts = urlsplit(database_url)
    return (parts.hostname or "127.0.0.1", parts.port or 5432)


def through(proxy: TcpProxy, database_url: str) -> str:
    """`database_url` by way of a (delaying) TCP proxy."""
    parts = urlsplit(database_url)
    return f"postgresql://{parts.username or 'postgres'}@127.0.0.1:{proxy.port}{parts.path}"
