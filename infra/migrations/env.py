"""Alembic environment: the URL comes from the caller (infra.migrate) or DATABASE_URL."""

from __future__ import annotations

from alembic import context

from shared.adapters.db import make_engine
from shared.adapters.orm import Base
from shared.settings import get_settings

config = context.config
url = config.attributes.get("database_url") or get_settings().database_url
if not url:
    raise SystemExit("configuration error: DATABASE_URL: not set (make run starts an embedded one)")

engine = make_engine(url, pool_size=0)
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        compare_type=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        # Two processes migrating at once (make run + tests) wait for each other here.
        connection.exec_driver_sql("SELECT pg_advisory_xact_lock(724201)")
        context.run_migrations()
    connection.commit()
engine.dispose()
