"""after the hammer, complete: deadlines, second-chance offers, payment, moderation (issue 14)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

Written beside the marketplace's 0002 and chained after it: every CHECK value list this
revision writes is spelled out once, here at the top (the notification types below include
0002's `ending_soon` and `auction_cancelled`). This revision does not touch auctions.status.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# -- every CHECK value list of this revision, in one place ----------------------------------
# The list of the revision below this one (0002's).
NOTIFICATION_TYPES_BEFORE = (
    "new_bid",
    "outbid",
    "auction_started",
    "auction_ended",
    "decision_required",
    "accepted",
    "rejected",
    "counter_offer",
    "counter_accepted",
    "counter_rejected",
    "ending_soon",
    "auction_cancelled",
)
NOTIFICATION_TYPES = (
    *NOTIFICATION_TYPES_BEFORE,
    "decision_reminder",
    "decision_expired",
    "counter_expired",
    "offer_received",
    "offer_accepted",
    "offer_rejected",
    "offer_expired",
    "payment_marked",
    "payment_confirmed",
    "payment_due",
    "sale_void",
)
COUNTER_STATUSES_BEFORE = ("pending", "accepted", "rejected")
COUNTER_STATUSES = (*COUNTER_STATUSES_BEFORE, "expired")
OFFER_STATUSES = ("pending", "accepted", "rejected", "expired")
PAYMENT_STATUSES = ("pending", "paid", "confirmed", "unpaid")

# The after-sale defaults, for rows written before this revision (the settings may differ
# at run time; only rows that predate the columns get these).
DECISION_WINDOW_SECS = 172800
COUNTER_WINDOW_SECS = 86400
PAYMENT_WINDOW_SECS = 604800


def _one_of(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _recheck(table: str, name: str, column: str, values: Sequence[str]) -> None:
    op.drop_constraint(op.f(f"ck_{table}_{name}"), table, type_="check")
    op.create_check_constraint(op.f(f"ck_{table}_{name}"), table, _one_of(column, values))


def upgrade() -> None:
    _recheck("notifications", "type", "type", NOTIFICATION_TYPES)
    _recheck("counter_offers", "status", "status", COUNTER_STATUSES)

    # -- moderation -------------------------------------------------------------------------
    op.add_column("users", sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("users", sa.Column("suspended_reason", sa.String(length=500), nullable=True))
    op.create_index("ix_users_created_at", "users", ["created_at", "id"], unique=False)
    op.create_index(
        "ix_users_suspended_at",
        "users",
        ["suspended_at"],
        unique=False,
        postgresql_where=sa.text("suspended_at IS NOT NULL"),
    )
    op.create_index("ix_audit_log_actor_id_id", "audit_log", ["actor_id", "id"], unique=False)
    op.create_index("ix_audit_log_action_id", "audit_log", ["action", "id"], unique=False)

    # -- the seller's decision window -------------------------------------------------------
    for column in ("decision_deadline", "decision_reminder_at", "decision_reminded_at"):
        op.add_column("auctions", sa.Column(column, sa.DateTime(timezone=True), nullable=True))
    # Auctions already waiting for their seller get the default window from their end; a
    # reminder whose moment has passed is not sent late.
    op.execute(
        f"""UPDATE auctions SET
              decision_deadline = ends_at + interval '{DECISION_WINDOW_SECS} seconds',
              decision_reminder_at = ends_at + interval '{DECISION_WINDOW_SECS // 2} seconds'
            WHERE status = 'ended'"""
    )
    op.execute(
        "UPDATE auctions SET decision_reminded_at = now() "
        "WHERE status = 'ended' AND decision_reminder_at <= now()"
    )

    # -- the counter offer's expiry ---------------------------------------------------------
    op.add_column(
        "counter_offers", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.execute(
        f"UPDATE counter_offers SET expires_at = created_at + "
        f"interval '{COUNTER_WINDOW_SECS} seconds' WHERE status = 'pending'"
    )
    op.create_index(
        "ix_counter_offers_pending_expires_at",
        "counter_offers",
        ["expires_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )

    # -- second-chance offers ---------------------------------------------------------------
    op.create_table(
        "second_chance_offers",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("auction_id", sa.UUID(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("seller_id", sa.UUID(), nullable=False),
        sa.Column("bidder_id", sa.UUID(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            _one_of("status", OFFER_STATUSES), name=op.f("ck_second_chance_offers_status")
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_second_chance_offers_amount_positive")),
        sa.ForeignKeyConstraint(
            ["auction_id"],
            ["auctions.id"],
            name=op.f("fk_second_chance_offers_auction_id_auctions"),
        ),
        sa.ForeignKeyConstraint(
            ["bidder_id"], ["users.id"], name=op.f("fk_second_chance_offers_bidder_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["seller_id"], ["users.id"], name=op.f("fk_second_chance_offers_seller_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_second_chance_offers")),
        sa.UniqueConstraint(
            "auction_id",
            "round",
            "bidder_id",
            name=op.f("uq_second_chance_offers_auction_id_round_bidder_id"),
        ),
    )
    op.create_index(
        "uq_second_chance_offers_pending",
        "second_chance_offers",
        ["auction_id"],
        unique=True,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_second_chance_offers_pending_expires_at",
        "second_chance_offers",
        ["expires_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_second_chance_offers_bidder_id", "second_chance_offers", ["bidder_id"], unique=False
    )

    # -- payment and void sales -------------------------------------------------------------
    op.add_column(
        "invoices",
        sa.Column("payment_status", sa.String(length=16), server_default="pending", nullable=False),
    )
    op.add_column(
        "invoices", sa.Column("payment_due_at", sa.DateTime(timezone=True), nullable=True)
    )
    for column in (
        "paid_marked_at",
        "payment_confirmed_at",
        "payment_due_notified_at",
        "voided_at",
    ):
        op.add_column("invoices", sa.Column(column, sa.DateTime(timezone=True), nullable=True))
    # Sales made before payments existed: due by the default window; nobody is told late.
    op.execute(
        f"UPDATE invoices SET payment_due_at = sold_at + "
        f"interval '{PAYMENT_WINDOW_SECS} seconds', payment_due_notified_at = now()"
    )
    op.alter_column("invoices", "payment_due_at", nullable=False)
    op.create_check_constraint(
        op.f("ck_invoices_payment_status"), "invoices", _one_of("payment_status", PAYMENT_STATUSES)
    )
    # A void sale keeps its row (and number); the auction may be sold again: one current
    # invoice per auction instead of one invoice per auction.
    op.drop_constraint(op.f("uq_invoices_auction_id"), "invoices", type_="unique")
    op.create_index(
        "uq_invoices_auction_id_current",
        "invoices",
        ["auction_id"],
        unique=True,
        postgresql_where=sa.text("voided_at IS NULL"),
    )
    op.create_index("ix_invoices_auction_id", "invoices", ["auction_id"], unique=False)
    op.create_index(
        "ix_invoices_payment_due_at_open",
        "invoices",
        ["payment_due_at"],
        unique=False,
        postgresql_where=sa.text("voided_at IS NULL AND payment_due_notified_at IS NULL"),
    )


def downgrade() -> None:
    # Void invoices and second sales cannot be expressed before this revision: refuse rather
    # than lose them.
    op.execute(
        "DO $$ BEGIN IF EXISTS (SELECT 1 FROM invoices WHERE voided_at IS NOT NULL) THEN "
        "RAISE EXCEPTION 'void invoices exist: downgrade below 0003 would lose them'; "
        "END IF; END $$"
    )
    op.drop_index("ix_invoices_payment_due_at_open", table_name="invoices")
    op.drop_index("ix_invoices_auction_id", table_name="invoices")
    op.drop_index("uq_invoices_auction_id_current", table_name="invoices")
    op.create_unique_constraint(op.f("uq_invoices_auction_id"), "invoices", ["auction_id"])
    op.drop_constraint(op.f("ck_invoices_payment_status"), "invoices", type_="check")
    for column in (
        "voided_at",
        "payment_due_notified_at",
        "payment_confirmed_at",
        "paid_marked_at",
        "payment_due_at",
        "payment_status",
    ):
        op.drop_column("invoices", column)

    op.drop_table("second_chance_offers")

    op.drop_index("ix_counter_offers_pending_expires_at", table_name="counter_offers")
    op.execute("UPDATE counter_offers SET status = 'rejected' WHERE status = 'expired'")
    op.drop_column("counter_offers", "expires_at")

    for column in ("decision_reminded_at", "decision_reminder_at", "decision_deadline"):
        op.drop_column("auctions", column)

    op.drop_index("ix_audit_log_action_id", table_name="audit_log")
    op.drop_index("ix_audit_log_actor_id_id", table_name="audit_log")
    op.drop_index("ix_users_suspended_at", table_name="users")
    op.drop_index("ix_users_created_at", table_name="users")
    op.drop_column("users", "suspended_reason")
    op.drop_column("users", "suspended_at")

    op.execute(
        f"DELETE FROM notifications WHERE NOT ({_one_of('type', NOTIFICATION_TYPES_BEFORE)})"
    )
    _recheck("counter_offers", "status", "status", COUNTER_STATUSES_BEFORE)
    _recheck("notifications", "type", "type", NOTIFICATION_TYPES_BEFORE)
