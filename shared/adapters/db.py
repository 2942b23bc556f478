"""PostgreSQL engine and sessions (SQLAlchemy on pg8000), and the hot lane beside them.

SQLAlchemy is imported when the first session or engine is asked for, not with this module: a
cold function whose request needs only the hot lane (a bid) never loads its ~140 modules.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from shared.adapters.pg import LANE_ERRORS, TIMESTAMPTZ_OID, HotLane, connect_kwargs, timestamptz_in

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine
    from sqlalchemy.orm import Session, sessionmaker

    # What a database call can raise: SQLAlchemy's errors, and pg8000's own for the calls
    # made on the driver directly (the hot lane). Built on first use (`__getattr__`).
    DB_ERRORS: tuple[type[Exception], ...]


def __getattr__(name: str) -> Any:
    """`DB_ERRORS` for the modules that use SQLAlchemy anyway (importing it here)."""
    if name == "DB_ERRORS":
        from sqlalchemy.exc import SQLAlchemyError

        return (SQLAlchemyError, *LANE_ERRORS)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def db_errors() -> tuple[type[Exception], ...]:
    """What a database call can raise, for an `except` on a lean path: SQLAlchemy's errors
    only once SQLAlchemy is loaded (before that none of them can be raised), never loading it.
    `except db_errors():` is evaluated when an exception is being matched."""
    loaded = sys.modules.get("sqlalchemy.exc")
    if loaded is None:
        return LANE_ERRORS
    return (loaded.SQLAlchemyError, *LANE_ERRORS)


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
    from sqlalchemy import create_engine, event
    from sqlalchemy.pool import NullPool

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
    pg8000 prepared statements on the same database) the busiest single statements.
    `Database.connect` builds the engines on their first use (and SQLAlchemy with them)."""

    def __init__(
        self,
        engine: Engine | None = None,
        autocommit_engine: Engine | None = None,
        database_url: str | None = None,
        *,
        pool_size: int = 5,
    ) -> None:
        if engine is None and database_url is None:
            raise ValueError("a Database needs an engine or a URL")
        self._engine = engine
        self._autocommit_engine = autocommit_engine
        # Without an engine given, both are made from the URL when first asked for.
        self._lazy = engine is None
        self._pool_size = pool_size
        self._sessions: sessionmaker[Session] | None = None
        self._database_url = database_url
        self._lane: HotLane | None = None

    @classmethod
    def connect(cls, database_url: str, *, pool_size: int = 5) -> Database:
        return cls(database_url=database_url, pool_size=pool_size)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            assert self._database_url is not None
            self._engine = make_engine(self._database_url, pool_size=self._pool_size)
        return self._engine

    @property
    def autocommit_engine(self) -> Engine | None:
        if self._autocommit_engine is None and self._lazy:
            assert self._database_url is not None
            self._autocommit_engine = make_engine(
                self._database_url, pool_size=self._pool_size, autocommit=True
            )
        return self._autocommit_engine

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
        if self._sessions is None:
            from sqlalchemy.orm import sessionmaker

            self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def statement(self) -> Iterator[Connection]:
        """A connection for one self-contained statement (its own transaction)."""
        autocommit = self.autocommit_engine
        if autocommit is None:
            with self.engine.begin() as conn:
                yield conn
        else:
            with autocommit.connect() as conn:
                yield conn

    def dispose(self) -> None:
        """Close every connection (the engines' pools and the lane's); the Database stays
        usable (connections are opened again on demand: a SnapStart restore's hooks)."""
        if self._engine is not None:
            self._engine.dispose()
        if self._autocommit_engine is not None:
            self._autocommit_engine.dispose()
        if self._lane is not None:
            self._lane.close()
