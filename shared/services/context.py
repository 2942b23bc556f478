"""The composition root: what a use case needs from the outside world, passed in explicitly."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from shared.adapters.db import Database
from shared.adapters.redis_store import RedisStore, RestStore, TcpStore
from shared.settings import Settings


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Context:
    settings: Settings
    db: Database
    store: RedisStore
    clock: Callable[[], datetime] = field(default=utcnow)

    def close(self) -> None:
        self.store.close()
        self.db.dispose()


def for_functions(settings: Settings, *, pool_size: int = 8) -> Context:
    """Stateless handlers: Redis over Upstash REST, a small PostgreSQL pool."""
    if not settings.database_url:
        raise RuntimeError("DATABASE_URL is not set")
    return Context(
        settings=settings,
        db=Database.connect(settings.database_url, pool_size=pool_size),
        store=RestStore(settings.rest_url, settings.upstash_redis_rest_token),
    )


def for_socket_node(settings: Settings, *, pool_size: int = 4) -> Context:
    """The long-lived socket node: Redis over TCP."""
    if not settings.database_url or not settings.redis_url:
        raise RuntimeError("DATABASE_URL and REDIS_URL must be set")
    return Context(
        settings=settings,
        db=Database.connect(settings.database_url, pool_size=pool_size),
        store=TcpStore(settings.redis_url),
    )
