"""The hot lane to PostgreSQL: raw pg8000 connections in autocommit mode, each statement
prepared once per connection, for the few single statements the busiest requests run (a bid's
insert, an auction's read, a bid history, /health).

Why beside SQLAlchemy (which every unit of work still uses): measured here, a session round
(pool checkout, BEGIN, the statement, COMMIT, the pool's reset) costs ~375 µs of CPU, a Core
statement on a held connection ~140 µs, and a pg8000 prepared statement ~55 µs, in the very
process Lambda bills. The lane imports no SQLAlchemy either, which keeps it off a cold start.
"""

from __future__ import annotations

import contextlib
import ssl
import threading
from collections import deque
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import orjson
import pg8000.converters
import pg8000.exceptions
import pg8000.native

# What the lane raises: pg8000's errors, and the socket's own.
LANE_ERRORS: tuple[type[Exception], ...] = (pg8000.exceptions.Error, OSError)

_SSL_MODES_THAT_ENCRYPT = {"require", "verify-ca", "verify-full", "prefer"}


def connect_kwargs(database_url: str, *, database: str | None = None) -> dict[str, Any]:
    """pg8000's keyword arguments for a libpq-style URL.

    pg8000 raises on `?sslmode=...` and, given nothing, silently talks plaintext, so the mode
    becomes an `ssl.SSLContext` here; `?host=/dir` (libpq's Unix socket form) becomes
    `unix_sock`."""
    parts = urlsplit(database_url)
    query = dict(parse_qsl(parts.query))
    kwargs: dict[str, Any] = {
        "user": unquote(parts.username) if parts.username else "postgres",
        "password": unquote(parts.password) if parts.password else None,
        "database": database or parts.path.lstrip("/") or None,
    }
    mode = query.get("sslmode")
    if mode in {"require", "prefer"}:
        # libpq's `require` encrypts without verifying the certificate: a bare client context,
        # without the system's CA bundle, which nothing here would read (loading it costs a
        # cold function ~35 ms for nothing).
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        kwargs["ssl_context"] = context
    elif mode in _SSL_MODES_THAT_ENCRYPT:  # verify-ca, verify-full: against the CA bundle
        kwargs["ssl_context"] = ssl.create_default_context()
        if mode == "verify-ca":
            kwargs["ssl_context"].check_hostname = False
    elif mode == "disable":
        # Plaintext, as asked: without this pg8000 still offers TLS first (and loads the CA
        # bundle to do so) whatever the URL says.
        kwargs["ssl_context"] = False
    host = query.get("host")
    if host and host.startswith("/"):
        kwargs["unix_sock"] = f"{host}/.s.PGSQL.{parts.port or 5432}"
    else:
        kwargs["host"] = parts.hostname or "127.0.0.1"
        kwargs["port"] = parts.port or 5432
    return kwargs


TIMESTAMPTZ_OID = 1184
JSON_OIDS = (114, 3802)  # json, jsonb


def timestamptz_in(text: str) -> datetime:
    """PostgreSQL's text form of a timestamptz ("2026-12-01 03:04:29.123+00"), parsed by the
    C `fromisoformat`: pg8000's own converter goes through `strptime`, which was ~15% of an
    auction read's CPU. Anything else (infinity, BC) goes to pg8000's."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        parsed: datetime = pg8000.converters.timestamptz_in(text)
        return parsed


class LaneBusy(TimeoutError):
    """Every connection of the lane stayed busy for the whole wait (one of LANE_ERRORS, as an
    OSError: a 503, like a full pool of the ORM's)."""


class HotLane:
    """A LIFO pool of at most `size` autocommit connections (the API server runs a thread per
    connection; a Lambda instance one request at a time), each keeping its prepared
    statements by text. A request past `size` waits for a connection rather than opening one:
    under a thousand threads, connections opened and closed per request were most of a bid's
    time (and PostgreSQL's max_connections is shared by every process)."""

    def __init__(
        self,
        database_url: str,
        *,
        timeout_s: float = 5.0,
        size: int = 16,
        wait_s: float | None = None,
    ) -> None:
        """`timeout_s`: the connections' socket timeout, and how long a request waits for a
        free connection unless `wait_s` says otherwise."""
        self._kwargs = {**connect_kwargs(database_url), "timeout": timeout_s}
        self._wait_s = timeout_s if wait_s is None else wait_s
        self._slots = threading.BoundedSemaphore(size)
        self._idle: deque[tuple[pg8000.native.Connection, dict[str, Any]]] = deque()
        self._opening = threading.Lock()
        self.opened = 0  # connections opened over the lane's life (a figure for tests)

    def run(self, sql: str, **params: Any) -> list[list[Any]]:
        """Run one statement (named parameters, `:name`) and return its rows. Raises one of
        LANE_ERRORS (LaneBusy when no connection came free in time); a connection that failed
        is never used again."""
        if not self._slots.acquire(timeout=self._wait_s):
            raise LaneBusy(f"no PostgreSQL connection free within {self._wait_s} s")
        try:
            return self._run(sql, params)
        finally:
            self._slots.release()

    def _run(self, sql: str, params: dict[str, Any]) -> list[list[Any]]:
        try:
            conn, prepared = self._idle.pop()
        except IndexError:
            conn, prepared = pg8000.native.Connection(**self._kwargs), {}
            conn.register_in_adapter(TIMESTAMPTZ_OID, timestamptz_in)
            for oid in JSON_OIDS:  # orjson (C), not the standard library's decoder
                conn.register_in_adapter(oid, orjson.loads)
            with self._opening:
                self.opened += 1
        try:
            statement = prepared.get(sql)
            if statement is None:
                statement = prepared[sql] = conn.prepare(sql)
            rows: list[list[Any]] = statement.run(**params) or []
        except BaseException:
            with contextlib.suppress(*LANE_ERRORS):
                conn.close()
            raise
        self._idle.append((conn, prepared))  # at most `size`: one per slot
        return rows

    def close(self) -> None:
        while self._idle:
            conn, _ = self._idle.pop()
            with contextlib.suppress(*LANE_ERRORS):
                conn.close()
