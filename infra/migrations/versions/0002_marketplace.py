"""marketplace: photos, search, watchlist, seller controls

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

- auctions: `category`, `cancel_reason`, status `cancelled`; `search`, a tsvector PostgreSQL
  generates from the item name and description (GIN index, for `websearch_to_tsquery`);
  `current_price` and `bid_count` of the current round, kept by triggers on every bid insert
  (whichever path inserts it: the bid handler, the intake, a test) and reset with a new
  round; `sort_changed_at`, when one of the moving sort keys (price, bid count, end) last
  changed, so a list's later pages read the keys as of its first page; `ending_soon_round`,
  the round whose "ending soon" notice went out (the transition's guard);
- bids: `stored_at`, when PostgreSQL stored the bid (a list reads prices "as of" a moment by
  it; `created_at` is when Redis accepted it, possibly long before);
- watches, auction_images; notification types `ending_soon`, `auction_cancelled`.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES_0001 = "'scheduled', 'live', 'ended', 'closed_no_winner', 'sold'"
TYPES_0001 = (
    "'new_bid', 'outbid', 'auction_started', 'auction_ended', 'decision_required', "
    "'accepted', 'rejected', 'counter_offer', 'counter_accepted', 'counter_rejected'"
)

SEARCH = (
    "setweight(to_tsvector('english'::regconfig, coalesce(item_name, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'B')"
)

SORT_KEYS_FUNCTION = """
CREATE FUNCTION auctions_sort_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- A new auction, or a new round (admin reset, cancel): no bids, the start price.
  IF TG_OP = 'INSERT' OR NEW.round <> OLD.round THEN
    NEW.current_price := NEW.start_price;
    NEW.bid_count := 0;
  ELSIF NEW.bid_count = 0 THEN
    NEW.current_price := NEW.start_price;  -- an edited start price, before the first bid
  END IF;
  IF TG_OP = 'INSERT' THEN
    NEW.sort_changed_at := NULL;
  ELSIF NEW.current_price IS DISTINCT FROM OLD.current_price
     OR NEW.bid_count IS DISTINCT FROM OLD.bid_count
     OR NEW.ends_at IS DISTINCT FROM OLD.ends_at THEN
    NEW.sort_changed_at := clock_timestamp();
  END IF;
  RETURN NEW;
END $$
"""

BID_MOVES_PRICE_FUNCTION = """
CREATE FUNCTION bids_move_price() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Bids of an earlier round are void: they move nothing.
  UPDATE auctions
     SET current_price = GREATEST(current_price, NEW.amount), bid_count = bid_count + 1
   WHERE id = NEW.auction_id AND round = NEW.round;
  RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.add_column("auctions", sa.Column("category", sa.String(length=40), nullable=True))
    op.add_column("auctions", sa.Column("cancel_reason", sa.String(length=500), nullable=True))
    op.add_column(
        "auctions", sa.Column("current_price", sa.Numeric(precision=12, scale=2), nullable=True)
    )
    op.add_column(
        "auctions", sa.Column("bid_count", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column(
        "auctions", sa.Column("sort_changed_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("auctions", sa.Column("ending_soon_round", sa.Integer(), nullable=True))
    op.add_column(
        "auctions",
        sa.Column(
            "search",
            postgresql.TSVECTOR(),
            sa.Computed(SEARCH, persisted=True),
            nullable=True,
        ),
    )
    op.add_column(
        "bids",
        sa.Column(
            "stored_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
    )
    op.execute("UPDATE bids SET stored_at = created_at")
    op.execute(
        "UPDATE auctions a SET current_price = GREATEST(a.start_price, coalesce(b.top, 0)), "
        "bid_count = coalesce(b.n, 0) FROM auctions x LEFT JOIN LATERAL ("
        "SELECT max(amount) AS top, count(*) AS n FROM bids "
        "WHERE bids.auction_id = x.id AND bids.round = x.round) b ON true WHERE x.id = a.id"
    )
    op.alter_column("auctions", "current_price", nullable=False)

    op.drop_constraint(op.f("ck_auctions_status"), "auctions", type_="check")
    op.create_check_constraint(
        op.f("ck_auctions_status"), "auctions", f"status IN ({STATUSES_0001}, 'cancelled')"
    )
    op.create_check_constraint(
        op.f("ck_auctions_category"),
        "auctions",
        "category IS NULL OR category ~ '^[a-z0-9-]{1,40}$'",
    )
    op.drop_constraint(op.f("ck_notifications_type"), "notifications", type_="check")
    op.create_check_constraint(
        op.f("ck_notifications_type"),
        "notifications",
        f"type IN ({TYPES_0001}, 'ending_soon', 'auction_cancelled')",
    )

    op.create_index(op.f("ix_auctions_search"), "auctions", ["search"], postgresql_using="gin")
    op.create_index(op.f("ix_auctions_current_price"), "auctions", ["current_price", "id"])
    op.create_index(op.f("ix_auctions_bid_count"), "auctions", ["bid_count", "id"])
    op.create_index(op.f("ix_auctions_ends_at"), "auctions", ["ends_at", "id"])
    op.create_index(op.f("ix_auctions_category"), "auctions", ["category", "created_at", "id"])
    op.create_index(op.f("ix_auctions_sort_changed_at"), "auctions", ["sort_changed_at"])

    op.execute(SORT_KEYS_FUNCTION)
    op.execute(
        "CREATE TRIGGER auctions_sort_keys BEFORE INSERT OR UPDATE ON auctions "
        "FOR EACH ROW EXECUTE FUNCTION auctions_sort_keys()"
    )
    op.execute(BID_MOVES_PRICE_FUNCTION)
    op.execute(
        "CREATE TRIGGER bids_move_price AFTER INSERT ON bids "
        "FOR EACH ROW EXECUTE FUNCTION bids_move_price()"
    )

    op.create_table(
        "watches",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("auction_id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_watches_user_id_users")),
        sa.ForeignKeyConstraint(
            ["auction_id"], ["auctions.id"], name=op.f("fk_watches_auction_id_auctions")
        ),
        sa.PrimaryKeyConstraint("user_id", "auction_id", name=op.f("pk_watches")),
    )
    op.create_index(op.f("ix_watches_auction_id"), "watches", ["auction_id"])
    op.create_index(op.f("ix_watches_user_id_created_at"), "watches", ["user_id", "created_at"])
    op.create_table(
        "auction_images",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("auction_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("storage_key", sa.String(length=300), nullable=False),
        sa.Column("thumb_key", sa.String(length=300), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["auction_id"], ["auctions.id"], name=op.f("fk_auction_images_auction_id_auctions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auction_images")),
    )
    op.create_index(
        op.f("ix_auction_images_auction_id_position"), "auction_images", ["auction_id", "position"]
    )


def downgrade() -> None:
    op.drop_index("ix_auction_images_auction_id_position", table_name="auction_images")
    op.drop_table("auction_images")
    op.drop_index("ix_watches_user_id_created_at", table_name="watches")
    op.drop_index("ix_watches_auction_id", table_name="watches")
    op.drop_table("watches")
    op.execute("DROP TRIGGER bids_move_price ON bids")
    op.execute("DROP FUNCTION bids_move_price()")
    op.execute("DROP TRIGGER auctions_sort_keys ON auctions")
    op.execute("DROP FUNCTION auctions_sort_keys()")
    for name in (
        "ix_auctions_sort_changed_at",
        "ix_auctions_category",
        "ix_auctions_ends_at",
        "ix_auctions_bid_count",
        "ix_auctions_current_price",
        "ix_auctions_search",
    ):
        op.drop_index(name, table_name="auctions")
    op.drop_constraint(op.f("ck_notifications_type"), "notifications", type_="check")
    op.create_check_constraint(
        op.f("ck_notifications_type"), "notifications", f"type IN ({TYPES_0001})"
    )
    op.drop_constraint(op.f("ck_auctions_category"), "auctions", type_="check")
    op.drop_constraint(op.f("ck_auctions_status"), "auctions", type_="check")
    op.create_check_constraint(
        op.f("ck_auctions_status"), "auctions", f"status IN ({STATUSES_0001})"
    )
    op.drop_column("bids", "stored_at")
    for column in (
        "search",
        "ending_soon_round",
        "sort_changed_at",
        "bid_count",
        "current_price",
        "cancel_reason",
        "category",
    ):
        op.drop_column("auctions", column)
