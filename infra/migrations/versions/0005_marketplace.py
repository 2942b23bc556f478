"""an open marketplace: seller profiles, fees and tax invoices, shipping, disputes

Revision ID: 0005
Revises: 0004
Create Date: 2027-01-10

- seller_profiles: what a user who starts selling gives (display name, E.164 phone, the
  address they sell from, their GSTIN if registered, when they accepted the terms); the
  user's role lives in `users.role` (the token's role only seeds a new row);
- auctions: the shipping terms chosen at listing (`ship` with an optional cost, or `pickup`
  in a city);
- invoices: copies taken at the sale (and at issue, for a tax invoice whose place of supply
  waits for the delivery address), so a rebuilt PDF stays byte for byte the one sent: the
  fee rates, the parties' names and emails, the GST details (supplier and recipient GSTIN and
  address, delivery state, HSN, rate), the shipping terms, when it was issued and its total;
  the buyer's address given at payment (the sale's, where the item goes; the invoice's copy is
  `recipient_address`); the shipment (deadline, carrier, tracking number, shipped, received);
  payment status
  `refunded`;
- credit_notes with their own gap-free counter (`credit_note_sequence`, one row like
  `invoice_sequence`);
- disputes (one per sale) and their replies;
- notification types of shipping and disputes.

Every CHECK value list this revision writes is spelled out once, here at the top.
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# -- every CHECK value list of this revision, in one place ----------------------------------
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
NOTIFICATION_TYPES = (
    *NOTIFICATION_TYPES_BEFORE,
    "shipped",
    "received",
    "shipment_overdue",
    "dispute_opened",
    "dispute_replied",
    "dispute_resolved",
)
PAYMENT_STATUSES_BEFORE = ("pending", "paid", "confirmed", "unpaid")
PAYMENT_STATUSES = (*PAYMENT_STATUSES_BEFORE, "refunded")
SHIPPING_METHODS = ("ship", "pickup")
CREDIT_REASONS = ("unpaid", "refund")
DISPUTE_REASONS = ("not_received", "not_as_described")
DISPUTE_STATUSES = ("open", "resolved")
DISPUTE_OUTCOMES = ("refund", "release")

MONEY = sa.Numeric(precision=12, scale=2)
PERCENT = sa.Numeric(precision=5, scale=2)
TIMESTAMP = sa.DateTime(timezone=True)


def _one_of(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _recheck(table: str, name: str, column: str, values: Sequence[str]) -> None:
    op.drop_constraint(op.f(f"ck_{table}_{name}"), table, type_="check")
    op.create_check_constraint(op.f(f"ck_{table}_{name}"), table, _one_of(column, values))


def _created() -> sa.Column[datetime]:
    return sa.Column("created_at", TIMESTAMP, server_default=sa.text("now()"), nullable=False)


def upgrade() -> None:
    _recheck("notifications", "type", "type", NOTIFICATION_TYPES)
    _recheck("invoices", "payment_status", "payment_status", PAYMENT_STATUSES)

    # -- seller profiles ----------------------------------------------------------------------
    op.create_table(
        "seller_profiles",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("line1", sa.String(length=200), nullable=False),
        sa.Column("line2", sa.String(length=200), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("state_code", sa.String(length=2), nullable=False),
        sa.Column("postal_code", sa.String(length=6), nullable=False),
        sa.Column("country", sa.String(length=2), server_default="IN", nullable=False),
        sa.Column("gstin", sa.String(length=15), nullable=True),
        sa.Column("terms_accepted_at", TIMESTAMP, nullable=False),
        _created(),
        sa.Column("updated_at", TIMESTAMP, server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("postal_code ~ '^[1-9][0-9]{5}$'", name=op.f("ck_seller_profiles_pin")),
        sa.CheckConstraint("country = 'IN'", name=op.f("ck_seller_profiles_country")),
        sa.CheckConstraint(
            "gstin IS NULL OR gstin ~ '^[0-9]{2}[A-Z0-9]{13}$'",
            name=op.f("ck_seller_profiles_gstin"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_seller_profiles_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_seller_profiles")),
    )

    # -- the shipping terms of an auction -------------------------------------------------------
    op.add_column("auctions", sa.Column("shipping_method", sa.String(length=8), nullable=True))
    op.add_column("auctions", sa.Column("shipping_cost", MONEY, nullable=True))
    op.add_column("auctions", sa.Column("pickup_city", sa.String(length=100), nullable=True))
    op.create_check_constraint(
        op.f("ck_auctions_shipping"),
        "auctions",
        "(shipping_method IS NULL AND shipping_cost IS NULL AND pickup_city IS NULL) OR "
        "(shipping_method = 'ship' AND pickup_city IS NULL "
        "AND (shipping_cost IS NULL OR shipping_cost >= 0)) OR "
        "(shipping_method = 'pickup' AND shipping_cost IS NULL)",
    )

    # -- invoices: copies taken at the sale (and at issue), the shipment ------------------------
    op.add_column(
        "invoices", sa.Column("buyers_premium_pct", PERCENT, server_default="0", nullable=False)
    )
    op.add_column(
        "invoices", sa.Column("platform_fee_pct", PERCENT, server_default="0", nullable=False)
    )
    op.add_column("invoices", sa.Column("gst_rate_pct", PERCENT, nullable=True))
    for column, length in (
        ("seller_name", 200),
        ("seller_email", 320),
        ("buyer_name", 200),
        ("buyer_email", 320),
    ):
        op.add_column("invoices", sa.Column(column, sa.String(length=length), nullable=True))
    op.add_column("invoices", sa.Column("supplier_gstin", sa.String(length=15), nullable=True))
    op.add_column(
        "invoices",
        sa.Column("supplier_address", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.add_column("invoices", sa.Column("recipient_gstin", sa.String(length=15), nullable=True))
    op.add_column(
        "invoices",
        sa.Column("recipient_address", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.add_column("invoices", sa.Column("delivery_state", sa.String(length=2), nullable=True))
    op.add_column(
        "invoices",
        sa.Column("delivery_address", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.add_column("invoices", sa.Column("hsn_code", sa.String(length=8), nullable=True))
    op.add_column("invoices", sa.Column("shipping_method", sa.String(length=8), nullable=True))
    op.add_column("invoices", sa.Column("shipping_cost", MONEY, nullable=True))
    op.add_column("invoices", sa.Column("issued_at", TIMESTAMP, nullable=True))
    op.add_column("invoices", sa.Column("total_due", sa.Numeric(14, 2), nullable=True))
    op.add_column("invoices", sa.Column("ship_by", TIMESTAMP, nullable=True))
    op.add_column("invoices", sa.Column("ship_reminded_at", TIMESTAMP, nullable=True))
    op.add_column("invoices", sa.Column("shipped_at", TIMESTAMP, nullable=True))
    op.add_column("invoices", sa.Column("carrier", sa.String(length=100), nullable=True))
    op.add_column("invoices", sa.Column("tracking_number", sa.String(length=100), nullable=True))
    op.add_column("invoices", sa.Column("received_at", TIMESTAMP, nullable=True))
    # Sales made before fees existed were plain invoices issued at the sale, at the hammer price.
    op.execute("UPDATE invoices SET issued_at = sold_at, total_due = amount")
    op.create_index(
        "ix_invoices_ship_by_open",
        "invoices",
        ["ship_by"],
        unique=False,
        postgresql_where=sa.text(
            "voided_at IS NULL AND shipped_at IS NULL AND ship_reminded_at IS NULL"
        ),
    )

    # -- credit notes -------------------------------------------------------------------------
    op.create_table(
        "credit_note_sequence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_number", sa.Integer(), server_default="0", nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_credit_note_sequence_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_note_sequence")),
    )
    op.execute("INSERT INTO credit_note_sequence (id, last_number) VALUES (1, 0)")
    op.create_table(
        "credit_notes",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.UUID(), nullable=False),
        sa.Column("auction_id", sa.UUID(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("issued_at", TIMESTAMP, nullable=False),
        sa.Column("storage_key", sa.String(length=500), nullable=True),
        _created(),
        sa.CheckConstraint(_one_of("reason", CREDIT_REASONS), name=op.f("ck_credit_notes_reason")),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_credit_notes_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["auction_id"], ["auctions.id"], name=op.f("fk_credit_notes_auction_id_auctions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_notes")),
        sa.UniqueConstraint("number", name=op.f("uq_credit_notes_number")),
        sa.UniqueConstraint("invoice_id", name=op.f("uq_credit_notes_invoice_id")),
    )
    op.create_index("ix_credit_notes_auction_id", "credit_notes", ["auction_id"], unique=False)

    # -- disputes -----------------------------------------------------------------------------
    op.create_table(
        "disputes",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("invoice_id", sa.UUID(), nullable=False),
        sa.Column("auction_id", sa.UUID(), nullable=False),
        sa.Column("buyer_id", sa.UUID(), nullable=False),
        sa.Column("seller_id", sa.UUID(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="open", nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=True),
        sa.Column("opened_at", TIMESTAMP, nullable=False),
        sa.Column("resolved_at", TIMESTAMP, nullable=True),
        sa.Column("resolved_by", sa.UUID(), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        _created(),
        sa.CheckConstraint(_one_of("reason", DISPUTE_REASONS), name=op.f("ck_disputes_reason")),
        sa.CheckConstraint(_one_of("status", DISPUTE_STATUSES), name=op.f("ck_disputes_status")),
        sa.CheckConstraint(
            f"(status = 'open' AND outcome IS NULL) OR "
            f"(status = 'resolved' AND {_one_of('outcome', DISPUTE_OUTCOMES)})",
            name=op.f("ck_disputes_outcome"),
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_disputes_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["auction_id"], ["auctions.id"], name=op.f("fk_disputes_auction_id_auctions")
        ),
        sa.ForeignKeyConstraint(
            ["buyer_id"], ["users.id"], name=op.f("fk_disputes_buyer_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["seller_id"], ["users.id"], name=op.f("fk_disputes_seller_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by"], ["users.id"], name=op.f("fk_disputes_resolved_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disputes")),
        # One dispute per sale: a second, open or resolved, is refused (`dispute_exists`).
        sa.UniqueConstraint("invoice_id", name=op.f("uq_disputes_invoice_id")),
    )
    op.create_index("ix_disputes_auction_id", "disputes", ["auction_id"], unique=False)
    op.create_index(
        "ix_disputes_status_opened_at", "disputes", ["status", "opened_at", "id"], unique=False
    )
    op.create_table(
        "dispute_replies",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("dispute_id", sa.UUID(), nullable=False),
        sa.Column("author_id", sa.UUID(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        _created(),
        sa.ForeignKeyConstraint(
            ["dispute_id"], ["disputes.id"], name=op.f("fk_dispute_replies_dispute_id_disputes")
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_dispute_replies_author_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_replies")),
    )
    op.create_index(
        "ix_dispute_replies_dispute_id_created_at",
        "dispute_replies",
        ["dispute_id", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    # Credit notes, refunds and disputes cannot be expressed before this revision: refuse
    # rather than lose them.
    op.execute(
        "DO $$ BEGIN IF EXISTS (SELECT 1 FROM credit_notes) OR EXISTS (SELECT 1 FROM disputes) "
        "THEN RAISE EXCEPTION 'credit notes or disputes exist: downgrade below 0005 would lose "
        "them'; END IF; END $$"
    )
    op.drop_index("ix_dispute_replies_dispute_id_created_at", table_name="dispute_replies")
    op.drop_table("dispute_replies")
    op.drop_index("ix_disputes_status_opened_at", table_name="disputes")
    op.drop_index("ix_disputes_auction_id", table_name="disputes")
    op.drop_table("disputes")
    op.drop_index("ix_credit_notes_auction_id", table_name="credit_notes")
    op.drop_table("credit_notes")
    op.drop_table("credit_note_sequence")

    op.drop_index("ix_invoices_ship_by_open", table_name="invoices")
    for column in (
        "received_at",
        "tracking_number",
        "carrier",
        "shipped_at",
        "ship_reminded_at",
        "ship_by",
        "total_due",
        "issued_at",
        "shipping_cost",
        "shipping_method",
        "hsn_code",
        "delivery_address",
        "delivery_state",
        "recipient_address",
        "recipient_gstin",
        "supplier_address",
        "supplier_gstin",
        "buyer_email",
        "buyer_name",
        "seller_email",
        "seller_name",
        "gst_rate_pct",
        "platform_fee_pct",
        "buyers_premium_pct",
    ):
        op.drop_column("invoices", column)

    op.drop_constraint(op.f("ck_auctions_shipping"), "auctions", type_="check")
    for column in ("pickup_city", "shipping_cost", "shipping_method"):
        op.drop_column("auctions", column)

    op.drop_table("seller_profiles")

    op.execute(
        f"DELETE FROM notifications WHERE NOT ({_one_of('type', NOTIFICATION_TYPES_BEFORE)})"
    )
    _recheck("invoices", "payment_status", "payment_status", PAYMENT_STATUSES_BEFORE)
    _recheck("notifications", "type", "type", NOTIFICATION_TYPES_BEFORE)
