"""What the test suite stands on: real PostgreSQL and Redis (from DATABASE_URL / REDIS_URL, or
embedded ones under var/test), the real upstash-redis client through the local bridge, and
helpers to make users, tokens and auctions."""

from __future__ import annotations

import functools
import os
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import redis
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from infra import databases
from infra.bridge import serve_in_thread
from infra.serving import ThreadedServer
from infra.stack import Services
from shared.adapters.orm import Auction, Base
from shared.adapters.redis_store import TcpStore
from shared.adapters.tokens import Principal, Verifier
from shared.services import auction_state, users
from shared.services.context import Context
from shared.settings import REPO_ROOT, get_settings

# One database per test session (by pid): sessions running side by side on one server never
# wipe each other's tables. Databases of sessions that died are dropped at the next start.
TEST_DB_PREFIX = "auction_test_"
TEST_DB = f"{TEST_DB_PREFIX}{os.getpid()}"
# Likewise one Redis db per session on a shared server (REDIS_URL): claimed in db 0 under
# `auction-test:db:{n}` with the session's pid; a claim whose process is gone is taken over.
REDIS_CLAIM_PREFIX = databases.REDIS_CLAIM_PREFIX
TOKEN = "test-bridge-token"


def drop_abandoned_test_databases(url: str) -> None:
    """Databases of test sessions whose process is gone."""
    databases.drop_abandoned_databases(url, TEST_DB_PREFIX)


def claim_redis_db(url: str) -> int:
    """A Redis db (1..15) no other live test session uses."""
    return databases.claim_redis_db(url, REDIS_CLAIM_PREFIX)


@dataclass
class SuiteServices:
    database_url: str
    redis_url: str
    rest_url: str
    bridge: ThreadedServer
    services: Services
    redis_db: int

    def stop(self) -> None:
        self.bridge.shutdown()
        self.bridge.server_close()
        databases.drop_database(self.database_url, TEST_DB)
        databases.release_redis_db(self.redis_url, self.redis_db, REDIS_CLAIM_PREFIX)
        self.services.stop()


def start_services() -> SuiteServices:
    """Services for the whole session, and the environment every module under test reads."""
    services = Services(
        REPO_ROOT / "var" / "test",
        os.environ.get("DATABASE_URL") or None,
        os.environ.get("REDIS_URL") or None,
        persist_redis=False,
    ).start()
    assert services.database_url and services.redis_url
    database_url = databases.with_database(services.database_url, TEST_DB)
    drop_abandoned_test_databases(database_url)
    redis_db = claim_redis_db(services.redis_url)
    redis_url = databases.with_redis_db(services.redis_url, redis_db)
    bridge = serve_in_thread(redis_url, TOKEN, 0)
    rest_url = f"http://127.0.0.1:{bridge.server_address[1]}"
    os.environ.update(
        APP_ENV="test",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        UPSTASH_REDIS_REST_URL=rest_url,
        UPSTASH_REDIS_REST_TOKEN=TOKEN,
        SENDGRID_API_KEY="",
        JWT_PUBLIC_KEYS="",
        SUPABASE_JWKS_URL="",
        SUPABASE_JWT_SECRET="",
    )
    get_settings.cache_clear()
    databases.reset_schema(database_url)  # a fresh schema, built by the migrations
    redis.Redis.from_url(redis_url).flushdb()
    return SuiteServices(database_url, redis_url, rest_url, bridge, services, redis_db)


def wipe(ctx: Context) -> None:
    """Empty every table (keeping the rows of the invoice and credit note counters) and the
    test Redis db."""
    counters = ("invoice_sequence", "credit_note_sequence")
    tables = [t.name for t in reversed(Base.metadata.sorted_tables) if t.name not in counters]
    # A previous test's stack may still be finishing a transaction (a ticker step, a job):
    # TRUNCATE then waits for its locks, and PostgreSQL may pick the TRUNCATE as a deadlock's
    # victim. Waiting for it and trying again is what an operator would do.
    for attempt in range(5):
        try:
            with ctx.db.session() as session:
                session.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
                for counter in counters:
                    session.execute(text(f"UPDATE {counter} SET last_number = 0"))
            break
        except DBAPIError as error:
            if "deadlock detected" not in str(error) or attempt == 4:
                raise
            time.sleep(0.2 * (attempt + 1))
    flush_redis()
    users._seen.clear()


@functools.cache
def _tcp_store(url: str) -> TcpStore:
    return TcpStore(url)


def tcp() -> TcpStore:
    """The test Redis db over TCP (redis-py, with the raw replies of the REST store), for what
    a test sets up or inspects beyond what the project's code sends through REST: the bridge
    refuses that (SET, DEL, HSET, SCRIPT LOAD...), as a production token needs none of it."""
    return _tcp_store(get_settings().redis_url or "")


def clock_runs_out(ctx: Context, auction_id: uuid.UUID) -> None:
    """The auction's clock runs out now (in the record and in the bid script's state), and
    its bid window is closed as the end transition closes it once LATE_BID_GRACE_MS has passed
    (so the end can run at once; the deadlines after it count from endsAt, as ever)."""
    from sqlalchemy import update

    from shared.adapters import keys
    from shared.domain.times import to_ms

    past = datetime.now(UTC) - timedelta(milliseconds=5)
    with ctx.db.session() as session:
        session.execute(update(Auction).where(Auction.id == auction_id).values(ends_at=past))
    tcp().command("HSET", keys.state(str(auction_id)), "endsAt", to_ms(past), "closed", "1")


def flush_redis() -> None:
    """Empty the test Redis db over TCP: the bridge refuses FLUSHDB (the project never sends
    it), as Upstash's REST would refuse it to a read-write token in production."""
    client = redis.Redis.from_url(get_settings().redis_url or "")
    try:
        client.flushdb()
    finally:
        client.close()


# -- people and auctions ----------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    principal: Principal
    token: str

    @property
    def id(self) -> str:
        return self.principal.user_id

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def person(ctx: Context, role: str = "buyer", name: str | None = None) -> Person:
    """A user with a dev token (the same verifier the API uses trusts it), stored."""
    email = f"{name or role}-{uuid.uuid4().hex[:8]}@example.com"
    verifier = Verifier(get_settings())
    token = verifier.mint_dev_token(email, name or role, role)
    principal = verifier.verify(token)
    users.ensure_user(ctx, principal)
    return Person(principal, token)


def insert_auction(
    ctx: Context,
    seller: Person,
    *,
    go_live_at: datetime | None = None,
    duration_mins: int = 10,
    ends_at: datetime | None = None,
    start_price: str = "100.00",
    increment: str = "10.00",
    status: str = "scheduled",
    reserve: str | None = None,
    buy_now: str | None = None,
    soft_close_secs: int | None = None,
    item_name: str = "Test lot",
    seed_redis: bool = True,
) -> uuid.UUID:
    """An auction written straight into PostgreSQL (any times, even past ones), with its Redis
    state seeded as the API would."""
    now = datetime.now(UTC)
    go_live = go_live_at or now
    with ctx.db.session() as session:
        auction = Auction(
            id=uuid.uuid4(),
            seller_id=uuid.UUID(seller.id),
            item_name=item_name,
            description="",
            start_price=Decimal(start_price),
            bid_increment=Decimal(increment),
            reserve_price=Decimal(reserve) if reserve else None,
            buy_now_price=Decimal(buy_now) if buy_now else None,
            soft_close_secs=soft_close_secs,
            go_live_at=go_live,
            duration_mins=duration_mins,
            ends_at=ends_at or go_live + timedelta(minutes=duration_mins),
            status=status,
            round=1,
        )
        session.add(auction)
        session.flush()
        if seed_redis:
            auction_state.seed(ctx, session, auction, force=True)
        return auction.id


def live_auction(ctx: Context, seller: Person, **kwargs: Any) -> uuid.UUID:
    """Live from a second ago for `duration_mins` (default 10)."""
    kwargs.setdefault("go_live_at", datetime.now(UTC) - timedelta(seconds=1))
    kwargs.setdefault("status", "live")
    return insert_auction(ctx, seller, **kwargs)
