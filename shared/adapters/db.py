"""PostgreSQL engine and sessions (SQLAlchemy on pg8000)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pg8000.exceptions
from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

# What a database call can raise: SQLAlchemy's errors, and pg8000's own for the few calls
# made on the driver directly (see bid_intake.store_bids_now).
DB_ERRORS: tuple[type[Exception], ...] = (SQLAlchemyError, pg8000.exceptions.Error, OSError)

_SSL_MODES_THAT_ENCRYPT = {"require", "verify-ca", "verify-full", "prefer"}


def sqlalchemy_url(database_url: str) -> tuple[str, dict[str, Any]]:
    """Turn a libpq-style URL into a pg8000 SQLAlchemy URL plus connect_args.

    pg8000 raises on `?sslmode=...` and, given nothing, silently talks plaintext, so the mode
    is translated into an `ssl.SSLContext` here.
    """
    parts = urlsplit(database_url)
    scheme = "postgresql+pg8000"
    query = dict(parse_qsl(parts.query))
    connect_args: dict[str, Any] = {}
    mode = query.pop("sslmode", None)
    if mode in _SSL_MODES_THAT_ENCRYPT:
        context = ssl.create_default_context()
        if mode in {"require", "prefer"}:
            # libpq's `require` encrypts without verifying the certificate.
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        connect_args["ssl_context"] = context
    if "host" in query and query["host"].startswith("/"):
        # libpq's unix-socket form: ?host=/dir  ->  pg8000's unix_sock=/dir/.s.PGSQL.<port>
        port = parts.port or 5432
        connect_args["unix_sock"] = f"{query.pop('host')}/.s.PGSQL.{port}"
    url = urlunsplit((scheme, parts.netloc, parts.path, urlencode(query), ""))
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
    return create_engine(url, **kwargs)


class Database:
    """One engine per process; sessions are short and explicit. An optional second engine in
    autocommit mode serves single-statement writes on the hot path (`statement`)."""

    def __init__(self, engine: Engine, autocommit_engine: Engine | None = None) -> None:
        self.engine = engine
        self.autocommit_engine = autocommit_engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def connect(cls, database_url: str, *, pool_size: int = 5) -> Database:
        return cls(
            make_engine(database_url, pool_size=pool_size),
            make_engine(database_url, pool_size=pool_size, autocommit=True),
        )

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
