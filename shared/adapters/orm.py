"""The record in PostgreSQL: SQLAlchemy 2.x typed ORM (driver: pg8000).

Money is NUMERIC(12,2), times are timestamptz (UTC), ids are UUIDs, and every status is
constrained by the database itself, so a bug in one process cannot write a status the others
do not know.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.schema import FetchedValue

from shared.domain.feedback import RATINGS, SIDES
from shared.domain.retractions import RetractReason
from shared.domain.sources import MarkKind
from shared.domain.vocabulary import (
    AUCTION_STATUSES,
    COUNTER_STATUSES,
    DISPUTE_OUTCOMES,
    DISPUTE_REASONS,
    DISPUTE_STATUSES,
    NOTIFICATION_TYPES,
    OFFER_STATUSES,
    PAYMENT_STATUSES,
    ROLES,
)

MARK_KINDS = tuple(k.value for k in MarkKind)

Money = Numeric(12, 2, asdecimal=True)
Percent = Numeric(5, 2, asdecimal=True)
Timestamp = DateTime(timezone=True)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


RETRACT_REASONS = tuple(r.value for r in RetractReason)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        uuid.UUID: UUID(as_uuid=True),
        datetime: Timestamp,
        Decimal: Money,
        dict[str, Any]: JSONB,
    }


def _uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(primary_key=True, default=uuid.uuid4)


def _created() -> Mapped[datetime]:
    return mapped_column(server_default=func.now())


def _updated() -> Mapped[datetime]:
    return mapped_column(server_default=func.now(), onupdate=func.now())


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(_one_of("role", ROLES), name="role"),
        Index("ix_users_created_at", "created_at", "id"),
        Index(
            "ix_users_suspended_at",
            "suspended_at",
            postgresql_where=text("suspended_at IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # Supabase `sub`
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), server_default="buyer")
    # Moderation: a suspended user reads but cannot write. PostgreSQL is the
    # record; the Redis set `users:suspended` is the fast check, rebuilt from here.
    suspended_at: Mapped[datetime | None]
    suspended_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()


class Auction(Base):
    __tablename__ = "auctions"
    __table_args__ = (
        CheckConstraint(_one_of("status", AUCTION_STATUSES), name="status"),
        CheckConstraint("start_price > 0", name="start_price_positive"),
        CheckConstraint("bid_increment > 0", name="bid_increment_positive"),
        CheckConstraint("duration_mins >= 1", name="duration_positive"),
        CheckConstraint("reserve_price IS NULL OR reserve_price >= start_price", name="reserve"),
        CheckConstraint("buy_now_price IS NULL OR buy_now_price > start_price", name="buy_now"),
        CheckConstraint(
            "soft_close_secs IS NULL OR soft_close_secs BETWEEN 0 AND 600", name="soft_close"
        ),
        Index("ix_auctions_go_live_at", "go_live_at"),
        Index("ix_auctions_status_ends_at", "status", "ends_at"),
        Index("ix_auctions_status_created_at", "status", "created_at", "id"),
        Index("ix_auctions_created_at", "created_at", "id"),
        Index("ix_auctions_seller_id", "seller_id"),
        CheckConstraint("category IS NULL OR category ~ '^[a-z0-9-]{1,40}$'", name="category"),
        Index("ix_auctions_search", "search", postgresql_using="gin"),
        Index("ix_auctions_current_price", "current_price", "id"),
        Index("ix_auctions_bid_count", "bid_count", "id"),
        Index("ix_auctions_ends_at", "ends_at", "id"),
        Index("ix_auctions_category", "category", "created_at", "id"),
        Index("ix_auctions_sort_changed_at", "sort_changed_at"),
        CheckConstraint(
            "(shipping_method IS NULL AND shipping_cost IS NULL AND pickup_city IS NULL) OR "
            "(shipping_method = 'ship' AND pickup_city IS NULL "
            "AND (shipping_cost IS NULL OR shipping_cost >= 0)) OR "
            "(shipping_method = 'pickup' AND shipping_cost IS NULL)",
            name="shipping",
        ),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    seller_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    item_name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, server_default="")
    start_price: Mapped[Decimal]
    bid_increment: Mapped[Decimal]
    reserve_price: Mapped[Decimal | None]
    buy_now_price: Mapped[Decimal | None]
    soft_close_secs: Mapped[int | None] = mapped_column(Integer)
    go_live_at: Mapped[datetime]
    duration_mins: Mapped[int] = mapped_column(Integer)
    ends_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20), server_default="scheduled")
    # Bids of earlier rounds are void: an admin reset starts a new round and keeps them.
    round: Mapped[int] = mapped_column(Integer, server_default="1")
    highest_bid_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("bids.id", use_alter=True, name="fk_auctions_highest_bid_id_bids")
    )
    winner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    final_price: Mapped[Decimal | None]
    closed_reason: Mapped[str | None] = mapped_column(String(32))
    closed_at: Mapped[datetime | None]
    # The seller's decision window, set when the auction ends with bids: the
    # deadline is fixed then, so a later change of DECISION_WINDOW_SECS moves no promise made.
    decision_deadline: Mapped[datetime | None]
    decision_reminder_at: Mapped[datetime | None]
    decision_reminded_at: Mapped[datetime | None]  # the reminder went out (exactly once)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()
    # The marketplace (migration 0002).
    category: Mapped[str | None] = mapped_column(String(40))
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    # Kept by the database (triggers of migration 0002), never written here: the highest bid
    # of the current round (else the start price) and the round's bid count, moved by every
    # bid insert whatever inserts it; and when a moving sort key (these two, ends_at) changed.
    current_price: Mapped[Decimal] = mapped_column(
        Money, server_default=FetchedValue(), server_onupdate=FetchedValue()
    )
    bid_count: Mapped[int] = mapped_column(
        Integer, server_default=FetchedValue(), server_onupdate=FetchedValue()
    )
    sort_changed_at: Mapped[datetime | None] = mapped_column(
        server_default=FetchedValue(), server_onupdate=FetchedValue()
    )
    # The round whose "ending soon" notice went out (shared/services/ending_soon.py).
    ending_soon_round: Mapped[int | None] = mapped_column(Integer)
    # How the item reaches its buyer (migration 0005): `ship` (with its cost to the buyer;
    # None: free) or `pickup` (in `pickup_city`); None: the seller stated none (older listings).
    shipping_method: Mapped[str | None] = mapped_column(String(8))
    shipping_cost: Mapped[Decimal | None]
    pickup_city: Mapped[str | None] = mapped_column(String(100))
    # The key of the bidders' pseudonyms in this auction's public log (migration 0006: 32
    # random bytes PostgreSQL makes for every row; never shown).
    ledger_secret: Mapped[bytes] = mapped_column(
        LargeBinary, server_default=FetchedValue(), deferred=True
    )
    # Generated by PostgreSQL from the item name and description (full-text search).
    search: Mapped[Any] = mapped_column(
        TSVECTOR,
        Computed(
            "setweight(to_tsvector('english'::regconfig, coalesce(item_name, '')), 'A') || "
            "setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'B')",
            persisted=True,
        ),
        deferred=True,
    )


class Bid(Base):
    __tablename__ = "bids"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        Index(
            "ix_bids_auction_id_amount_created_at",
            "auction_id",
            text("amount DESC"),
            "created_at",
        ),
        Index("ix_bids_bidder_id", "bidder_id"),
        UniqueConstraint("auction_id", "seq"),
        CheckConstraint(
            "retract_reason IS NULL OR " + _one_of("retract_reason", RETRACT_REASONS),
            name="retract_reason",
        ),
        Index(
            "ix_bids_bidder_id_retracted_at",
            "bidder_id",
            "retracted_at",
            postgresql_where=text("retracted_at IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # minted before Redis accepts it
    auction_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("auctions.id"))
    bidder_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    amount: Mapped[Decimal]
    round: Mapped[int] = mapped_column(Integer, server_default="1")
    # Order of acceptance within the auction, given by the bid script: "highest first" is
    # (amount DESC, seq DESC), so a proxy answer that ties the bid it answers ranks above it.
    seq: Mapped[int] = mapped_column(BigInteger)
    # True when the system placed it for a proxy maximum.
    is_proxy: Mapped[bool] = mapped_column(Boolean, server_default="false")
    created_at: Mapped[datetime] = _created()
    # When PostgreSQL stored it (created_at is when Redis accepted it): lists read the sort
    # keys "as of" their first page by it.
    stored_at: Mapped[datetime] = mapped_column(server_default=text("clock_timestamp()"))
    # A retracted bid keeps its row (the history shows it) and no longer competes.
    retracted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    retract_reason: Mapped[str | None] = mapped_column(String(40))


class ProxyMaximum(Base):
    """A bidder's private maximum on one auction round (proxy bidding)."""

    __tablename__ = "proxy_maximums"
    __table_args__ = (
        UniqueConstraint("auction_id", "bidder_id", "round"),
        CheckConstraint("max_amount > 0", name="max_amount_positive"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    auction_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("auctions.id"))
    bidder_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    round: Mapped[int] = mapped_column(Integer)
    max_amount: Mapped[Decimal]
    # When the maximum was first set: between equal maximums the earlier wins.
    placed_at: Mapped[datetime]
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint(_one_of("type", NOTIFICATION_TYPES), name="type"),
        Index("ix_notifications_user_id_created_at", "user_id", "created_at"),
        Index(
            "ix_notifications_unread",
            "user_id",
            postgresql_where=text("read_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    type: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    read_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = _created()


class CounterOffer(Base):
    __tablename__ = "counter_offers"
    __table_args__ = (
        CheckConstraint(_one_of("status", COUNTER_STATUSES), name="status"),
        CheckConstraint("amount > 0", name="amount_positive"),
        # One decision per auction: at most one counter offer per round.
        UniqueConstraint("auction_id", "round"),
        Index("ix_counter_offers_buyer_id", "buyer_id"),
        Index(
            "ix_counter_offers_pending_expires_at",
            "expires_at",
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    auction_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("auctions.id"))
    round: Mapped[int] = mapped_column(Integer, server_default="1")
    seller_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    buyer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    amount: Mapped[Decimal]
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    # created + COUNTER_WINDOW_SECS; unanswered by then it is `expired` (None: never expires)
    expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()


class SecondChanceOffer(Base):
    """The seller offers a closed auction's item to another bidder at their own highest bid
    (after the hammer). One pending per auction (a partial unique index says so too), and one per
    bidder per round: each bidder gets one second chance."""

    __tablename__ = "second_chance_offers"
    __table_args__ = (
        CheckConstraint(_one_of("status", OFFER_STATUSES), name="status"),
        CheckConstraint("amount > 0", name="amount_positive"),
        UniqueConstraint("auction_id", "round", "bidder_id"),
        Index(
            "uq_second_chance_offers_pending",
            "auction_id",
            unique=True,
            postgresql_where=text("status = 'pending'"),
        ),
        Index(
            "ix_second_chance_offers_pending_expires_at",
            "expires_at",
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_second_chance_offers_bidder_id", "bidder_id"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    auction_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("auctions.id"))
    round: Mapped[int] = mapped_column(Integer)
    seller_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    bidder_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    amount: Mapped[Decimal]
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    expires_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()


class AuditEntry(Base):
    """Admin actions and seller decisions: who did what to which auction."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_auction_id_created_at", "auction_id", "created_at"),
        Index("ix_audit_log_actor_id_id", "actor_id", "id"),
        Index("ix_audit_log_action_id", "action", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(64))
    auction_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("auctions.id"))
    details: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = _created()


class InvoiceSequence(Base):
    """One row: the last invoice number issued. Taken inside the sale's transaction, so
    numbers are gap-free (a PostgreSQL sequence is not: a rolled-back sale would burn one)."""

    __tablename__ = "invoice_sequence"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, server_default="0")


class Invoice(Base):
    """A sale: its gap-free number, the parties and price, and its payment. A
    sale whose payment never came is void: the row stays (its number is never reused), and
    the auction may be sold again under a new invoice."""

    __tablename__ = "invoices"
    __table_args__ = (
        CheckConstraint(_one_of("payment_status", PAYMENT_STATUSES), name="payment_status"),
        # One current (not void) sale per auction.
        Index(
            "uq_invoices_auction_id_current",
            "auction_id",
            unique=True,
            postgresql_where=text("voided_at IS NULL"),
        ),
        Index("ix_invoices_auction_id", "auction_id"),
        Index(
            "ix_invoices_payment_due_at_open",
            "payment_due_at",
            postgresql_where=text("voided_at IS NULL AND payment_due_notified_at IS NULL"),
        ),
        Index(
            "ix_invoices_ship_by_open",
            "ship_by",
            postgresql_where=text(
                "voided_at IS NULL AND shipped_at IS NULL AND ship_reminded_at IS NULL"
            ),
        ),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    number: Mapped[int] = mapped_column(Integer, unique=True)
    auction_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("auctions.id"))
    seller_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    buyer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    sold_at: Mapped[datetime]
    # Where the PDF lives once built: "s3://bucket/key" or a path under var/invoices.
    storage_key: Mapped[str | None] = mapped_column(String(500))
    payment_status: Mapped[str] = mapped_column(String(16), server_default="pending")
    payment_due_at: Mapped[datetime]  # sold_at + PAYMENT_WINDOW_SECS
    paid_marked_at: Mapped[datetime | None]  # the buyer said it is paid
    payment_confirmed_at: Mapped[datetime | None]
    payment_due_notified_at: Mapped[datetime | None]  # both parties told at dueAt (once)
    voided_at: Mapped[datetime | None]  # reported unpaid, or refunded: the sale is void
    created_at: Mapped[datetime] = _created()
    # Copies taken at the sale (migration 0005), so a rebuilt PDF is byte for byte the one
    # sent whatever changes later (a setting, a name, a profile). NULL names: a sale made
    # before the copies existed (its names are read from the users, as they were then).
    buyers_premium_pct: Mapped[Decimal] = mapped_column(Percent, server_default="0")
    platform_fee_pct: Mapped[Decimal] = mapped_column(Percent, server_default="0")
    gst_rate_pct: Mapped[Decimal | None] = mapped_column(Percent)  # NULL: a plain invoice
    seller_name: Mapped[str | None] = mapped_column(String(200))
    seller_email: Mapped[str | None] = mapped_column(String(320))
    buyer_name: Mapped[str | None] = mapped_column(String(200))
    buyer_email: Mapped[str | None] = mapped_column(String(320))
    supplier_gstin: Mapped[str | None] = mapped_column(String(15))
    supplier_address: Mapped[dict[str, Any] | None]
    hsn_code: Mapped[str | None] = mapped_column(String(8))
    shipping_method: Mapped[str | None] = mapped_column(String(8))
    shipping_cost: Mapped[Decimal | None]
    # Taken at payment: the buyer's address, the sale's (where an item that ships goes; shown
    # to the parties), and, while the invoice is not issued yet, its copies: the recipient's
    # address and GSTIN and the delivery state (the place of supply).
    delivery_address: Mapped[dict[str, Any] | None]
    recipient_gstin: Mapped[str | None] = mapped_column(String(15))
    recipient_address: Mapped[dict[str, Any] | None]
    delivery_state: Mapped[str | None] = mapped_column(String(2))
    # When the document was made out (NULL: a tax invoice waiting for its place of supply, see
    # docs/emails-and-invoices.md), and what it asks of the buyer.
    issued_at: Mapped[datetime | None]
    total_due: Mapped[Decimal | None] = mapped_column(Numeric(14, 2, asdecimal=True))
    # The shipment: due by `ship_by` (paid + SHIP_WINDOW_SECS, items that ship), reminded once.
    ship_by: Mapped[datetime | None]
    ship_reminded_at: Mapped[datetime | None]
    shipped_at: Mapped[datetime | None]
    carrier: Mapped[str | None] = mapped_column(String(100))
    tracking_number: Mapped[str | None] = mapped_column(String(100))
    received_at: Mapped[datetime | None]

    @property
    def paid_at(self) -> datetime | None:
        """When the sale counts as paid: the buyer's word, else the seller's confirmation."""
        return self.paid_marked_at or self.payment_confirmed_at


class SellerProfileRow(Base):
    """What a user who sells gave when they started selling (migration 0005)."""

    __tablename__ = "seller_profiles"
    __table_args__ = (
        CheckConstraint("postal_code ~ '^[1-9][0-9]{5}$'", name="pin"),
        CheckConstraint("country = 'IN'", name="country"),
        CheckConstraint("gstin IS NULL OR gstin ~ '^[0-9]{2}[A-Z0-9]{13}$'", name="gstin"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(16))
    line1: Mapped[str] = mapped_column(String(200))
    line2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100))
    state_code: Mapped[str] = mapped_column(String(2))
    postal_code: Mapped[str] = mapped_column(String(6))
    country: Mapped[str] = mapped_column(String(2), server_default="IN")
    gstin: Mapped[str | None] = mapped_column(String(15))
    terms_accepted_at: Mapped[datetime]
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()


class CreditNoteSequence(Base):
    """One row: the last credit note number issued (gap-free, like `InvoiceSequence`)."""

    __tablename__ = "credit_note_sequence"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, server_default="0")


class CreditNote(Base):
    """The credit note of a sale voided (unpaid) or refunded (a dispute): `CN-000001`, taken
    in the transaction that voids the sale. One per invoice."""

    __tablename__ = "credit_notes"
    __table_args__ = (
        CheckConstraint("reason IN ('unpaid', 'refund')", name="reason"),
        Index("ix_credit_notes_auction_id", "auction_id"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    number: Mapped[int] = mapped_column(Integer, unique=True)
    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoices.id"), unique=True)
    auction_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("auctions.id"))
    reason: Mapped[str] = mapped_column(String(16))
    issued_at: Mapped[datetime]
    storage_key: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = _created()


class Dispute(Base):
    """A buyer's complaint about a paid sale (migration 0005): one per sale."""

    __tablename__ = "disputes"
    __table_args__ = (
        CheckConstraint(_one_of("reason", DISPUTE_REASONS), name="reason"),
        CheckConstraint(_one_of("status", DISPUTE_STATUSES), name="status"),
        CheckConstraint(
            f"(status = 'open' AND outcome IS NULL) OR "
            f"(status = 'resolved' AND {_one_of('outcome', DISPUTE_OUTCOMES)})",
            name="outcome",
        ),
        Index("ix_disputes_auction_id", "auction_id"),
        Index("ix_disputes_status_opened_at", "status", "opened_at", "id"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoices.id"), unique=True)
    auction_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("auctions.id"))
    buyer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    seller_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), server_default="open")
    outcome: Mapped[str | None] = mapped_column(String(10))
    opened_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created()


class DisputeReply(Base):
    """The seller's answer to a dispute (there may be several)."""

    __tablename__ = "dispute_replies"
    __table_args__ = (
        Index("ix_dispute_replies_dispute_id_created_at", "dispute_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    dispute_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("disputes.id"))
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _created()


class OutboxEntry(Base):
    """Side effects (events, jobs) written in the same transaction as the change that
    causes them, then relayed to Redis; a crash between commit and relay loses nothing."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    body: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = _created()


class EmailDelivery(Base):
    """Every email handed to the provider, by the job's stable id: a retry never sends twice."""

    __tablename__ = "email_deliveries"

    job_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    template: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(320))
    auction_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("auctions.id"))
    provider_message_id: Mapped[str | None] = mapped_column(String(200))
    sent_at: Mapped[datetime] = _created()


class Watch(Base):
    """A user watching an auction."""

    __tablename__ = "watches"
    __table_args__ = (
        Index("ix_watches_auction_id", "auction_id"),
        Index("ix_watches_user_id_created_at", "user_id", "created_at"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    auction_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("auctions.id"), primary_key=True)
    created_at: Mapped[datetime] = _created()


class AuctionImage(Base):
    """A photo of an auction, stored re-encoded (WebP, no metadata) with its thumbnail."""

    __tablename__ = "auction_images"
    __table_args__ = (Index("ix_auction_images_auction_id_position", "auction_id", "position"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    auction_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("auctions.id"))
    position: Mapped[int] = mapped_column(Integer)
    storage_key: Mapped[str] = mapped_column(String(300))
    thumb_key: Mapped[str] = mapped_column(String(300))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = _created()


# -- trust and safety (migration 0006) ---------------------------------------------------------


class SourceMark(Base):
    """Where a user's writes came from, as salted hashes only (`shared.domain.sources`): a
    network block or a device id, with when it was first and last seen; forgotten 90 days
    after it was last seen."""

    __tablename__ = "source_marks"
    __table_args__ = (
        CheckConstraint(_one_of("kind", MARK_KINDS), name="kind"),
        Index("ix_source_marks_kind_hash", "kind", "hash"),
        Index("ix_source_marks_last_seen", "last_seen"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]


class TrustPending(Base):
    """(bidder, seller) pairs whose shill signals must be computed again: marked in the
    transaction of whatever changed them (a bid reached the record, an auction came out, a
    source was first seen), taken by the ticker within a second or two."""

    __tablename__ = "trust_pending"

    bidder_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    seller_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    marked_at: Mapped[datetime] = _created()


class TrustScore(Base):
    """The shill signals of one (bidder, seller) pair: the record's counts (`facts`, the
    domain's `PairFacts`) and the score they give, as of `updated_at`."""

    __tablename__ = "trust_scores"
    __table_args__ = (
        CheckConstraint("score BETWEEN 0 AND 1", name="score_range"),
        Index("ix_trust_scores_score", text("score DESC"), "bidder_id", "seller_id"),
        Index("ix_trust_scores_seller_id_score", "seller_id", text("score DESC")),
    )

    bidder_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    seller_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    score: Mapped[Decimal] = mapped_column(Numeric(4, 3, asdecimal=True))
    facts: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime] = _updated()


class BlockedBidder(Base):
    """A seller's block of a bidder: their bids on that seller's auctions are refused."""

    __tablename__ = "blocked_bidders"
    __table_args__ = (
        CheckConstraint("seller_id <> bidder_id", name="not_self"),
        Index("ix_blocked_bidders_seller_id_created_at", "seller_id", "created_at", "bidder_id"),
    )

    seller_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    bidder_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    created_at: Mapped[datetime] = _created()


class Feedback(Base):
    """One side's rating of the other after a completed sale (one per side per sale), and the
    rated side's one reply."""

    __tablename__ = "feedback"
    __table_args__ = (
        CheckConstraint(_one_of("rating", RATINGS), name="rating"),
        CheckConstraint(_one_of("author_role", SIDES), name="author_role"),
        CheckConstraint("author_id <> subject_id", name="not_self"),
        UniqueConstraint("invoice_id", "author_id"),
        Index("ix_feedback_subject_id_created_at", "subject_id", "created_at"),
        Index("ix_feedback_auction_id", "auction_id"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    auction_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("auctions.id"))
    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoices.id"))
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    subject_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    author_role: Mapped[str] = mapped_column(String(8))
    rating: Mapped[str] = mapped_column(String(8))
    comment: Mapped[str] = mapped_column(String(500), server_default="")
    reply: Mapped[str | None] = mapped_column(String(500))
    replied_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = _created()


# -- the public bid ledger (migration 0006) ----------------------------------------------------


class LedgerEntry(Base):
    """One entry of an auction's log: its canonical JSON text, exactly as hashed."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint("idx >= 0", name="idx_natural"),
        Index("ix_ledger_entries_recorded_at", "recorded_at"),
    )

    auction_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("auctions.id"), primary_key=True)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    entry: Mapped[str] = mapped_column(Text)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary)
    recorded_at: Mapped[datetime] = mapped_column(server_default=text("clock_timestamp()"))


class LedgerNode(Base):
    """A perfect subtree of a log's Merkle tree (level 0: the leaves), stored when a
    checkpoint covering it was signed; never changed."""

    __tablename__ = "ledger_nodes"

    auction_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("auctions.id"), primary_key=True)
    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hash: Mapped[bytes] = mapped_column(LargeBinary)


class LedgerCheckpoint(Base):
    """The latest signed checkpoint of an auction's log."""

    __tablename__ = "ledger_checkpoints"

    auction_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("auctions.id"), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[bytes] = mapped_column(LargeBinary)
    note: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[datetime] = _created()


class LedgerMaximum(Base):
    """A proxy maximum as set, with the nonce its commitment hides (revealed after the end)."""

    __tablename__ = "ledger_maxima"

    auction_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("auctions.id"), primary_key=True)
    bidder_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    round: Mapped[int] = mapped_column(Integer, primary_key=True)
    max_amount: Mapped[Decimal] = mapped_column(Money, primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64))
    set_at: Mapped[datetime]
