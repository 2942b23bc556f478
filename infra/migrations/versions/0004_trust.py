"""trust and safety: source marks, shill signals, blocked bidders, feedback

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

New tables only: nothing of an earlier revision changes, so this revision can be chained after
any other that leaves these table names alone. The CHECK value lists are spelled out here.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MARK_KINDS = ("net", "device")
RATINGS = ("positive", "neutral", "negative")
SIDES = ("buyer", "seller")


def _one_of(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "source_marks",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(_one_of("kind", MARK_KINDS), name=op.f("ck_source_marks_kind")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_source_marks_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", "kind", "hash", name=op.f("pk_source_marks")),
    )
    op.create_index("ix_source_marks_kind_hash", "source_marks", ["kind", "hash"])
    op.create_index("ix_source_marks_last_seen", "source_marks", ["last_seen"])

    op.create_table(
        "trust_pending",
        sa.Column("bidder_id", sa.UUID(), nullable=False),
        sa.Column("seller_id", sa.UUID(), nullable=False),
        sa.Column(
            "marked_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("bidder_id", "seller_id", name=op.f("pk_trust_pending")),
    )

    op.create_table(
        "trust_scores",
        sa.Column("bidder_id", sa.UUID(), nullable=False),
        sa.Column("seller_id", sa.UUID(), nullable=False),
        sa.Column("score", sa.Numeric(precision=4, scale=3), nullable=False),
        sa.Column("facts", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("score BETWEEN 0 AND 1", name=op.f("ck_trust_scores_score_range")),
        sa.ForeignKeyConstraint(
            ["bidder_id"], ["users.id"], name=op.f("fk_trust_scores_bidder_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["seller_id"], ["users.id"], name=op.f("fk_trust_scores_seller_id_users")
        ),
        sa.PrimaryKeyConstraint("bidder_id", "seller_id", name=op.f("pk_trust_scores")),
    )
    op.create_index(
        "ix_trust_scores_score", "trust_scores", [sa.text("score DESC"), "bidder_id", "seller_id"]
    )
    op.create_index(
        "ix_trust_scores_seller_id_score", "trust_scores", ["seller_id", sa.text("score DESC")]
    )

    op.create_table(
        "blocked_bidders",
        sa.Column("seller_id", sa.UUID(), nullable=False),
        sa.Column("bidder_id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("seller_id <> bidder_id", name=op.f("ck_blocked_bidders_not_self")),
        sa.ForeignKeyConstraint(
            ["seller_id"], ["users.id"], name=op.f("fk_blocked_bidders_seller_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["bidder_id"], ["users.id"], name=op.f("fk_blocked_bidders_bidder_id_users")
        ),
        sa.PrimaryKeyConstraint("seller_id", "bidder_id", name=op.f("pk_blocked_bidders")),
    )
    op.create_index(
        "ix_blocked_bidders_seller_id_created_at",
        "blocked_bidders",
        ["seller_id", "created_at", "bidder_id"],
    )

    op.create_table(
        "feedback",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("auction_id", sa.UUID(), nullable=False),
        sa.Column("invoice_id", sa.UUID(), nullable=False),
        sa.Column("author_id", sa.UUID(), nullable=False),
        sa.Column("subject_id", sa.UUID(), nullable=False),
        sa.Column("author_role", sa.String(length=8), nullable=False),
        sa.Column("rating", sa.String(length=8), nullable=False),
        sa.Column("comment", sa.String(length=500), server_default="", nullable=False),
        sa.Column("reply", sa.String(length=500), nullable=True),
        sa.Column("replied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(_one_of("rating", RATINGS), name=op.f("ck_feedback_rating")),
        sa.CheckConstraint(_one_of("author_role", SIDES), name=op.f("ck_feedback_author_role")),
        sa.CheckConstraint("author_id <> subject_id", name=op.f("ck_feedback_not_self")),
        sa.ForeignKeyConstraint(
            ["auction_id"], ["auctions.id"], name=op.f("fk_feedback_auction_id_auctions")
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_feedback_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_feedback_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["users.id"], name=op.f("fk_feedback_subject_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
        sa.UniqueConstraint(
            "invoice_id", "author_id", name=op.f("uq_feedback_invoice_id_author_id")
        ),
    )
    op.create_index("ix_feedback_subject_id_created_at", "feedback", ["subject_id", "created_at"])
    op.create_index("ix_feedback_auction_id", "feedback", ["auction_id"])


def downgrade() -> None:
    op.drop_table("feedback")
    op.drop_table("blocked_bidders")
    op.drop_table("trust_scores")
    op.drop_table("trust_pending")
    op.drop_table("source_marks")
