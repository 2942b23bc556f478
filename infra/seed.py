"""Development demo data: a seller (with a seller's profile, registered for GST in Karnataka),
two buyers, an admin, and auctions scheduled, live and ended (two ship, one is picked up).
Idempotent (fixed ids); the demo users sign in through dev login with their emails."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy.dialects.postgresql import insert

from shared.adapters.db import Database, make_engine
from shared.adapters.orm import Auction, Bid, SellerProfileRow, User
from shared.adapters.tokens import dev_user_id
from shared.domain.deadlines import after, reminder_at
from shared.domain.gstin import check_character
from shared.settings import get_settings

USERS = [
    ("seller@example.com", "Sunita Seller", "seller"),
    ("asha@example.com", "Asha Buyer", "buyer"),
    ("ravi@example.com", "Ravi Buyer", "buyer"),
    ("admin@example.com", "Ada Admin", "admin"),
]
SEED = uuid.UUID("a1c7e3d0-0000-4000-8000-5eed00000000")
# The demo seller's GSTIN: a company in Karnataka, its check character computed.
DEMO_GSTIN = "29AABCS1429B1Z" + check_character("29AABCS1429B1Z")
# (shipping method, cost, pickup city) of each demo auction, by item.
SHIPPING = {
    "Vintage Rolex Datejust": ("ship", Decimal("500.00"), None),
    "Signed cricket bat, 2011 World Cup": ("ship", None, None),
    "Handwoven Banarasi silk saree": ("pickup", None, "Bengaluru"),
}


def _id(name: str) -> uuid.UUID:
    return uuid.uuid5(SEED, name)


def seed(database_url: str) -> int:
    """Insert what is missing; returns how many auctions were added."""
    db = Database(make_engine(database_url, pool_size=0))
    now = datetime.now(UTC).replace(microsecond=0)
    seller, asha, ravi = (uuid.UUID(dev_user_id(e)) for e, _, _ in USERS[:3])
    plans = [
        ("scheduled", "Vintage Rolex Datejust", now + timedelta(hours=1), 60, []),
        (
            "live",
            "Signed cricket bat, 2011 World Cup",
            now - timedelta(minutes=5),
            180,
            [(asha, "12000.00"), (ravi, "12500.00")],
        ),
        (
            "ended",
            "Handwoven Banarasi silk saree",
            now - timedelta(hours=3),
            60,
            [(ravi, "8000.00"), (asha, "9000.00")],
        ),
    ]
    added = 0
    try:
        with db.session() as session:
            for email, name, role in USERS:
                session.execute(
                    insert(User)
                    .values(id=uuid.UUID(dev_user_id(email)), email=email, name=name, role=role)
                    .on_conflict_do_nothing(index_elements=["id"])
                )
            session.execute(
                insert(SellerProfileRow)
                .values(
                    user_id=seller,
                    display_name="Sunita's Collectables",
                    phone="+919845012345",
                    line1="12 MG Road",
                    city="Bengaluru",
                    state_code="29",
                    postal_code="560001",
                    gstin=DEMO_GSTIN,
                    terms_accepted_at=now,
                )
                .on_conflict_do_nothing(index_elements=["user_id"])
            )
            for status, item, go_live, mins, bids in plans:
                auction_id = _id(item)
                if session.get(Auction, auction_id) is not None:
                    continue
                added += 1
                auction = Auction(
                    id=auction_id,
                    seller_id=seller,
                    item_name=item,
                    description=f"Demo auction: {item}.",
                    start_price=Decimal("5000.00"),
                    bid_increment=Decimal("500.00"),
                    go_live_at=go_live,
                    duration_mins=mins,
                    ends_at=go_live + timedelta(minutes=mins),
                    status=status,
                    round=1,
                    shipping_method=SHIPPING[item][0],
                    shipping_cost=SHIPPING[item][1],
                    pickup_city=SHIPPING[item][2],
                )
                session.add(auction)
                session.flush()
                for seq, (bidder, amount) in enumerate(bids, start=1):
                    session.add(
                        Bid(
                            id=_id(f"{item}:{seq}"),
                            auction_id=auction_id,
                            bidder_id=bidder,
                            amount=Decimal(amount),
                            round=1,
                            seq=seq,
                            created_at=go_live + timedelta(minutes=seq),
                        )
                    )
                session.flush()
                if status == "ended" and bids:
                    auction.highest_bid_id = _id(f"{item}:{len(bids)}")
                    auction.closed_at = auction.ends_at
                    # The seller's decision window, as the end transition would start it.
                    window = get_settings().decision_window_secs
                    auction.decision_deadline = after(auction.ends_at, window)
                    auction.decision_reminder_at = reminder_at(
                        auction.ends_at, auction.decision_deadline
                    )
    finally:
        db.dispose()
    return added
