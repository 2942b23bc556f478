"""The migrations build every table, constraint and index of the data model (read back from
PostgreSQL's own catalog)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
from sqlalchemy import text

from shared.domain.vocabulary import AUCTION_STATUSES, COUNTER_STATUSES, NOTIFICATION_TYPES
from shared.services.context import Context
from tests.support.harness import Person

TABLES = {
    "users",
    "auctions",
    "bids",
    "notifications",
    "counter_offers",
    "audit_log",
    "invoices",
    "invoice_sequence",
    "outbox",
    "email_deliveries",
    "proxy_maximums",
    "alembic_version",
    # trust and safety
    "source_marks",
    "trust_pending",
    "trust_scores",
    "blocked_bidders",
    "feedback",
    # the public bid ledger
    "ledger_entries",
    "ledger_nodes",
    "ledger_checkpoints",
    "ledger_maxima",
}


def rows(ctx: Context, sql: str, **params: object) -> list[tuple[Any, ...]]:
    with ctx.db.session() as session:
        return [tuple(row) for row in session.execute(text(sql), params)]


def test_every_table_exists(ctx: Context) -> None:
    names = {r[0] for r in rows(ctx, "SELECT tablename FROM pg_tables WHERE schemaname='public'")}
    assert names >= TABLES


@pytest.mark.parametrize(
    ("table", "column", "sql_type"),
    [
        ("auctions", "start_price", "numeric(12,2)"),
        ("auctions", "bid_increment", "numeric(12,2)"),
        ("bids", "amount", "numeric(12,2)"),
        ("counter_offers", "amount", "numeric(12,2)"),
        ("auctions", "go_live_at", "timestamp with time zone"),
        ("auctions", "ends_at", "timestamp with time zone"),
        ("bids", "created_at", "timestamp with time zone"),
        ("users", "id", "uuid"),
        ("auctions", "id", "uuid"),
        ("bids", "id", "uuid"),
        ("notifications", "payload", "jsonb"),
    ],
)
def test_money_is_numeric_times_are_timestamptz_ids_are_uuid(
    ctx: Context, table: str, column: str, sql_type: str
) -> None:
    found = rows(
        ctx,
        "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
        "JOIN pg_class c ON c.oid = a.attrelid WHERE c.relname = :t AND a.attname = :c",
        t=table,
        c=column,
    )
    assert found and found[0][0] == sql_type


@pytest.mark.parametrize(
    ("table", "values"),
    [
        ("auctions", AUCTION_STATUSES),
        ("counter_offers", COUNTER_STATUSES),
        ("notifications", NOTIFICATION_TYPES),
        ("users", ("buyer", "seller", "admin")),
        ("feedback", ("positive", "neutral", "negative")),
        ("source_marks", ("net", "device")),
    ],
)
def test_statuses_are_constrained_by_the_database(
    ctx: Context, table: str, values: Iterable[str]
) -> None:
    checks = [
        r[0]
        for r in rows(
            ctx,
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'c' "
            "AND conrelid = CAST(:t AS regclass)",
            t=table,
        )
    ]
    joined = " ".join(checks)
    assert all(f"'{v}'" in joined for v in values), checks


def test_required_indexes(ctx: Context) -> None:
    defs = {
        r[0]: r[1]
        for r in rows(ctx, "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'")
    }
    joined = "\n".join(defs.values())
    assert "ON public.bids USING btree (auction_id, amount DESC, created_at)" in joined
    assert "ON public.auctions USING btree (go_live_at)" in joined
    assert "ON public.notifications USING btree (user_id, created_at)" in joined


def test_a_wrong_status_is_refused_by_the_database(ctx: Context, seller: Person) -> None:
    from sqlalchemy.exc import DBAPIError

    from tests.support.harness import insert_auction

    auction_id = insert_auction(ctx, seller, seed_redis=False)
    with pytest.raises(DBAPIError, match="ck_auctions_status"), ctx.db.session() as session:
        session.execute(
            text("UPDATE auctions SET status = 'paused' WHERE id = :i"), {"i": auction_id}
        )
