"""retractions: a retracted bid keeps its row, marked

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

- bids: `retracted_at` (when its bidder took it back; NULL while it stands) and
  `retract_reason` (one of the three reasons a bidder may give). A retracted bid stays in the
  history and no longer competes: every "highest bid" reads only standing bids;
- an index of a bidder's retractions by time (the reputation counts the last 12 months).

Columns and an index only: this revision can be chained after any other that leaves `bids`
alone. The CHECK value list is spelled out here.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REASONS = ("typo", "item_changed", "cannot_contact_seller")


def upgrade() -> None:
    op.add_column("bids", sa.Column("retracted_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("bids", sa.Column("retract_reason", sa.String(length=40), nullable=True))
    op.create_check_constraint(
        op.f("ck_bids_retract_reason"),
        "bids",
        f"retract_reason IS NULL OR retract_reason IN ({', '.join(repr(r) for r in REASONS)})",
    )
    op.create_index(
        "ix_bids_bidder_id_retracted_at",
        "bids",
        ["bidder_id", "retracted_at"],
        postgresql_where=sa.text("retracted_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_bids_bidder_id_retracted_at", table_name="bids")
    op.drop_constraint(op.f("ck_bids_retract_reason"), "bids", type_="check")
    op.drop_column("bids", "retract_reason")
    op.drop_column("bids", "retracted_at")
