"""the public bid ledger: every auction's append-only log, its tree and its checkpoints

Revision ID: 0006
Revises: 0005
Create Date: 2027-01-20

- auctions.ledger_secret: the per-auction key of the bidders' pseudonyms in the log (32
  random bytes from two random UUIDs: 244 bits, made by PostgreSQL for every row, old ones
  included);
- ledger_entries: one row per entry, `idx` counting from 0 per auction, the canonical JSON
  text exactly as hashed, its leaf hash; written by the bid intake in the statement that
  writes the bid rows;
- ledger_nodes: the Merkle tree's perfect subtrees, written when a checkpoint is signed and
  never changed after (proofs are read from them, so a row of ledger_entries altered later
  shows as a leaf that is not the signed one);
- ledger_checkpoints: the latest signed checkpoint of each log (any earlier tree's root is
  read back from the nodes);
- ledger_maxima: every proxy maximum set, with the nonce its commitment hides, revealed once
  the auction has ended.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RANDOM_32_BYTES = (
    "decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex')"
)


def upgrade() -> None:
    op.add_column(
        "auctions",
        sa.Column(
            "ledger_secret",
            sa.LargeBinary(),
            server_default=sa.text(RANDOM_32_BYTES),
            nullable=False,
        ),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("auction_id", sa.UUID(), nullable=False),
        sa.Column("idx", sa.BigInteger(), nullable=False),
        sa.Column("entry", sa.Text(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.CheckConstraint("idx >= 0", name=op.f("ck_ledger_entries_idx_natural")),
        sa.ForeignKeyConstraint(
            ["auction_id"], ["auctions.id"], name=op.f("fk_ledger_entries_auction_id_auctions")
        ),
        sa.PrimaryKeyConstraint("auction_id", "idx", name=op.f("pk_ledger_entries")),
    )
    op.create_index("ix_ledger_entries_recorded_at", "ledger_entries", ["recorded_at"])
    op.create_table(
        "ledger_nodes",
        sa.Column("auction_id", sa.UUID(), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("idx", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["auction_id"], ["auctions.id"], name=op.f("fk_ledger_nodes_auction_id_auctions")
        ),
        sa.PrimaryKeyConstraint("auction_id", "level", "idx", name=op.f("pk_ledger_nodes")),
    )
    op.create_table(
        "ledger_checkpoints",
        sa.Column("auction_id", sa.UUID(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column(
            "signed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["auction_id"],
            ["auctions.id"],
            name=op.f("fk_ledger_checkpoints_auction_id_auctions"),
        ),
        sa.PrimaryKeyConstraint("auction_id", name=op.f("pk_ledger_checkpoints")),
    )
    op.create_table(
        "ledger_maxima",
        sa.Column("auction_id", sa.UUID(), nullable=False),
        sa.Column("bidder_id", sa.UUID(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("max_amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["auction_id"], ["auctions.id"], name=op.f("fk_ledger_maxima_auction_id_auctions")
        ),
        sa.ForeignKeyConstraint(
            ["bidder_id"], ["users.id"], name=op.f("fk_ledger_maxima_bidder_id_users")
        ),
        sa.PrimaryKeyConstraint(
            "auction_id", "bidder_id", "round", "max_amount", name=op.f("pk_ledger_maxima")
        ),
    )


def downgrade() -> None:
    op.drop_table("ledger_maxima")
    op.drop_table("ledger_checkpoints")
    op.drop_table("ledger_nodes")
    op.drop_index("ix_ledger_entries_recorded_at", table_name="ledger_entries")
    op.drop_table("ledger_entries")
    op.drop_column("auctions", "ledger_secret")
