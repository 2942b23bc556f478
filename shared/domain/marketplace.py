"""The marketplace around the auction, as plain rules: who may cancel,
what a person is called in public, where a bidder stands, what a photo may be."""

from __future__ import annotations

import re
from decimal import Decimal

from shared.domain.vocabulary import AuctionStatus, BidState

# -- photos ------------------------------------------------------------------------------------

MAX_IMAGES = 8
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000  # a decompression bomb is refused before its pixels are decoded
STORED_LONG_SIDE = 2048  # what a page ever shows full size; WebP itself stops at 16,383 px
THUMB_LONG_SIDE = 400
IMAGE_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}

# -- search ------------------------------------------------------------------------------------

MAX_QUERY_CHARS = 200
CATEGORY = re.compile(r"^[a-z0-9-]{1,40}$")
MAX_CANCEL_REASON = 500

_EMAILISH = re.compile(r"[@<>]|^[0-9a-f]{8}-[0-9a-f]{4}-", re.IGNORECASE)


def public_name(name: str, user_id: str) -> str:
    """How a bidder is named to everyone else: the first word of their name and the initial
    of the last ("Asha Kumar" -> "Asha K."), one word as it is. Never an email: a name that
    is (or holds) an address, or that is empty or the user's id (the token had no name), is
    "Bidder" and four hex digits of the id, stable for that person and saying nothing."""
    words = name.split()
    if not words or _EMAILISH.search(name):
        return f"Bidder {user_id.replace('-', '')[:4]}"
    first = words[0][:40]
    if len(words) == 1:
        return first
    return f"{first} {words[-1][0].upper()}."


def may_cancel(
    *, shown_status: str, has_bids: bool, is_seller: bool, is_admin: bool
) -> bool | None:
    """None: not the caller's to cancel at all (403). False: not any more (409). An admin may
    cancel any auction before it is sold; its seller while it is scheduled, or live without
    a bid."""
    if not (is_seller or is_admin):
        return None
    if shown_status in (AuctionStatus.SOLD, AuctionStatus.CANCELLED):
        return False
    if is_admin:
        return True
    if shown_status == AuctionStatus.SCHEDULED:
        return True
    return shown_status == AuctionStatus.LIVE and not has_bids


def bid_state(
    *,
    status: str,
    i_lead: bool,
    winner_is_me: bool,
) -> BidState:
    """Where a bidder stands: leading or outbid while the auction is open (or awaiting its
    seller's decision, when the leader may still win), won once sold to them, lost otherwise
    (sold to another, closed without a winner, cancelled)."""
    if status == AuctionStatus.SOLD:
        return BidState.WON if winner_is_me else BidState.LOST
    if status in (AuctionStatus.SCHEDULED, AuctionStatus.LIVE, AuctionStatus.ENDED):
        return BidState.LEADING if i_lead else BidState.OUTBID
    return BidState.LOST


def current_price(start_price: Decimal, highest: Decimal | None) -> Decimal:
    """The price a list filters and sorts on: the highest bid of the round, else the start."""
    return start_price if highest is None else max(start_price, highest)
