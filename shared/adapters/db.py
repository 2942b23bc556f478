"""PostgreSQL engine and sessions (SQLAlchemy on pg8000)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from shared.adapters.pg import LANE_ERRORS, TIMESTAMPTZ_OID, HotLane, connect_kwargs, timestamptz_in

# What a database call can raise: SQLAlchemy's errors, and pg8000's own for the calls made
# on the driver directly (the hot lane).
DB_ERRORS: tuple[type[Exception], ...] = (SQLAlchemyError, *LANE_ERRORS)


def sqlalchemy_url(database_url: str) -> tuple[str, dict[str, Any]]:
    """A libpq-style URL as a pg8000 SQLAlchemy URL plus connect_args (the SSL mode and the
    Unix socket as `shared.adapters.pg.connect_kwargs` reads them)."""
    parts = urlsplit(database_url)
    query = dict(parse_qsl(parts.query))
    query.pop("sslmode", None)
    if query.get("host", "").startswith("/"):
        query.pop("host")
    driver = connect_kwargs(database_url)
    connect_args: dict[str, Any] = {
        k: driver[k] for k in ("ssl_context", "unix_sock") if k in driver
    }
    url = urlunsplit(("postgresql+pg8000", parts.netloc, parts.path, urlencode(query), ""))
    return url, connect_args


def make_engine(
    database_url: str, *, pool_size: int = 5, timeout_s: float = 5.0, autocommit: bool = False
) -> Engine:
    url, connect_args = sqlalchemy_url(database_url)
    connect_args.setdefault("timeout", timeout_s)
    kwargs: dict[str, Any] = {"connect_args": connect_args}
    if autocommit:
        # Set once per connection, never reset: a single statement is one round trip, not
        # BEGIN + statement + COMMIT (and no isolation reset when the connection goes back).
        kwargs["isolation_level"] = "AUTOCOMMIT"
    if pool_size <= 0:
        kwargs["poolclass"] = NullPool
    else:
        kwargs.update(
            pool_size=pool_size,
            max_overflow=pool_size * 2,
            pool_pre_ping=False,
            pool_recycle=300,
        )
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _fast_timestamps(dbapi_connection: Any, _record: Any) -> None:
        # The hot lane's timestamptz parser (C fromisoformat, not strptime): a list page's
        # search read 42 timestamps through strptime, ~1 ms of its CPU.
        dbapi_connection.register_in_adapter(TIMESTAMPTZ_OID, timestamptz_in)

    return engine


class Database:
    """One engine per process; sessions are short and explicit. An optional second engine in
    autocommit mode serves single statements (`statement`), and the hot lane (`lane`, raw
    pg8000 prepared statements on the same database) the busiest single statements."""

    def __init__(
        self,
        engine: Engine,
        autocommit_engine: Engine | None = None,
        database_url: str | None = None,
    ) -> None:
        self.engine = engine
        self.autocommit_engine = autocommit_engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._database_url = database_url
        self._lane: HotLane | None = None

    @classmethod
    def connect(cls, database_url: str, *, pool_size: int = 5) -> Database:
        return cls(
            make_engine(database_url, pool_size=pool_size),
            make_engine(database_url, pool_size=pool_size, autocommit=True),
            database_url,
        )

    @property
    def lane(self) -> HotLane:
        if self._lane is None:
            url = self._database_url
            if url is None:  # built from an engine alone: the same database as that engine
                rendered = self.engine.url.render_as_string(hide_password=False)
                url = rendered.replace("postgresql+pg8000://", "postgresql://", 1)
            self._lane = HotLane(url)
        return self._lane

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits on success, rolls back on any error."""
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def statement(self) -> Iterator[Connection]:
        """A connection for one self-contained statement (its own transaction)."""
        if self.autocommit_engine is None:
            with self.engine.begin() as conn:
                yield conn
        else:
            with self.autocommit_engine.connect() as conn:
                yield conn

    def dispose(self) -> None:
        self.engine.dispose()
        if self.autocommit_engine is not None:
            self.autocommit_engine.dispose()
        if self._lane is not None:
            self._lane.close()
