"""Databases of their own for whoever runs beside others on one server: the test suite, the
benchmarks. Create and drop a PostgreSQL database, claim a Redis db number, build a schema
by running the migrations. Used by `tests/support/harness.py` and `bench/fixtures.py` alike,
so neither imports the other.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pg8000.native
import redis
from sqlalchemy import text

# Redis db numbers 1..15 of a shared server are claimed in db 0 under `{prefix}{n}` with the
# claimer's pid, by test sessions and benchmarks alike.
REDIS_CLAIM_PREFIX = "auction-test:db:"


def with_database(url: str, name: str) -> str:
    """`url` naming the database `name` instead."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def with_redis_db(url: str, db: int) -> str:
    """`url` naming the Redis db number `db` instead."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


def admin_connection(url: str) -> pg8000.native.Connection:
    """A connection to the server's `postgres` database (to create and drop databases)."""
    from shared.adapters.db import sqlalchemy_url

    parts = urlsplit(url)
    _, connect_args = sqlalchemy_url(url)
    kwargs: dict[str, Any] = {
        "user": parts.username or "postgres",
        "password": parts.password,
        "database": "postgres",
    }
    if "unix_sock" in connect_args:
        kwargs["unix_sock"] = connect_args["unix_sock"]
    else:
        kwargs["host"] = parts.hostname or "127.0.0.1"
        kwargs["port"] = parts.port or 5432
    if "ssl_context" in connect_args:
        kwargs["ssl_context"] = connect_args["ssl_context"]
    return pg8000.native.Connection(**kwargs)


def ensure_database(url: str) -> None:
    """CREATE DATABASE (the one `url` names) if it does not exist."""
    name = urlsplit(url).path.lstrip("/")
    conn = admin_connection(url)
    try:
        if not conn.run("SELECT 1 FROM pg_database WHERE datname = :n", n=name):
            conn.run(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()


def drop_database(url: str, name: str) -> None:
    conn = admin_connection(url)
    try:
        conn.run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        conn.close()


def alive(pid: int) -> bool:
    """Is process `pid` still running (on this machine)?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def drop_abandoned_databases(url: str, prefix: str) -> None:
    """Drop the databases named `{prefix}{pid}` whose process is gone."""
    conn = admin_connection(url)
    try:
        names = [
            r[0]
            for r in conn.run(
                "SELECT datname FROM pg_database WHERE datname LIKE :p", p=f"{prefix}%"
            )
        ]
    finally:
        conn.close()
    for name in names:
        pid = name.removeprefix(prefix)
        if pid.isdigit() and not alive(int(pid)):
            drop_database(url, name)


def claim_redis_db(url: str, prefix: str) -> int:
    """A Redis db (1..15) no other live process uses: claimed in db 0 under `{prefix}{n}`
    with this process's pid; a claim whose process is gone is taken over."""
    admin = redis.Redis.from_url(with_redis_db(url, 0), decode_responses=True)
    try:
        for db in range(1, 16):
            key = f"{prefix}{db}"
            if admin.set(key, os.getpid(), nx=True):
                return db
            owner = admin.get(key)
            if owner is None or (owner.isdigit() and not alive(int(owner))):
                admin.set(key, os.getpid())
                return db
            if owner == str(os.getpid()):
                return db
    finally:
        admin.close()
    raise RuntimeError("every Redis db 1..15 is claimed by a live process")


def release_redis_db(url: str, db: int, prefix: str) -> None:
    admin = redis.Redis.from_url(with_redis_db(url, 0), decode_responses=True)
    try:
        if admin.get(f"{prefix}{db}") == str(os.getpid()):
            admin.delete(f"{prefix}{db}")
    finally:
        admin.close()


def reset_schema(database_url: str) -> None:
    """A fresh schema in the database `database_url` names (created if missing), built by
    the migrations themselves."""
    from infra.migrate import upgrade
    from shared.adapters.db import make_engine

    ensure_database(database_url)
    engine = make_engine(database_url, pool_size=0)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    upgrade(database_url)
