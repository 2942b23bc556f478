"""The entries of an auction's log: what each placed bid becomes, byte for byte.

One entry per placed bid and per retraction, in the order the bid script judged them; `index`
counts from 0 over the auction's whole life (a new round continues the log). An entry is
canonical JSON (UTF-8, keys sorted, no spaces) of:

- `v`: 1; `auctionId`; `index`;
- `kind`: "bid" a plain bid; "proxy" a bid the system placed for a maximum (the maximum's own
  first bid, or an automatic answer, which is its own entry right after the bid it answers);
  "buy_now"; "retraction";
- `bidder`: the per-auction pseudonym, the first 32 hex digits of HMAC-SHA256(the auction's
  secret, user id): stable within the auction, unlinkable across auctions (the secret is
  random per auction and stays with the platform);
- `amount`: a decimal string with 2 digits ("300.00"); for a retraction, the lowest amount
  it retracted;
- `arrivedAt`: when the bid reached the gateway: the moment the rules judge it at (its stamp,
  or the script's clock when the stamp is not believable: `bidding.arrival_moment`; a proxy
  answer carries the arrival of the bid it answers); `judgedAt`: when the bid script judged it
  (the script's clock; an answer's is its bid's); `endsAt`: the auction's end after this entry
  (soft close moves it to arrivedAt + softCloseSecs when fewer than softCloseSecs remained at
  arrival; a buy-now ends the auction at its judgedAt, or at the end it had if that came
  first: a bid judged in the grace after the end); all ISO 8601 UTC with milliseconds, "Z";
- `maxCommit`: on a "proxy" entry, hex SHA-256 of "{max}|{nonce}", `max` the owner's current
  maximum as a 2-digit decimal string and `nonce` random hex (one nonce per maximum set);
  null on every other kind. After the end the close certificate reveals each maximum with
  its nonce, so anyone can replay the proxy engine;
- `round`: only from round 2 on (an admin reset voids the earlier bids; the log goes on).

A leader raising their own maximum places no visible bid and makes no entry: the raised
maximum shows in the commitment of their next proxy answer (and among the close reveals).

A retraction removes every remaining bid of its bidder at or above its amount (a bidder's own
remaining bids only rise, so retracting "all" and "only the latest" are both one entry) and
cancels that bidder's maximum; the new leader is the highest remaining bid (on equal amounts
the later one: equal amounts only come from a proxy answer meeting the bid it answers, whose
owner's maximum was the earlier) with its owner's remaining maximum.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Literal

import orjson

from shared.domain.bidding import Accepted, Offer
from shared.domain.ledger.merkle import leaf_hash

EntryKind = Literal["bid", "proxy", "buy_now", "retraction"]
PSEUDONYM_HEX = 32
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class PlacedEntry:
    """What the bid script decided, for one entry (filled from its result).

    `amount` and `max_amount` are minor units; times are epoch ms. `max_amount` and `nonce`
    are the owner's current maximum and its nonce, on "proxy" entries only."""

    kind: EntryKind
    user_id: str
    amount: int
    arrived_ms: int
    judged_ms: int
    ends_ms: int
    max_amount: int | None = None
    nonce: str | None = None
    round: int = 1

    def __post_init__(self) -> None:
        proxy = self.kind == "proxy"
        if proxy != (self.max_amount is not None) or proxy != (self.nonce is not None):
            raise ValueError("a proxy entry, and only one, carries its owner's maximum and nonce")


@dataclass(frozen=True)
class LedgerEntry:
    index: int
    text: str  # the canonical JSON, exactly as hashed and served
    leaf_hash: bytes


def canonical(document: dict[str, Any]) -> bytes:
    """UTF-8 JSON, keys sorted, no spaces: one byte string per document. orjson writes the
    same bytes as `json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)`
    (the same escapes, UTF-8 unescaped, no NaN; a test holds the two together) at a sixth of
    its CPU, on the bid path."""
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)


@lru_cache(maxsize=4096)  # (a bidder's pseudonym is asked for at each of their bids)
def pseudonym(secret: bytes, user_id: str) -> str:
    return hmac.digest(secret, user_id.encode(), "sha256").hex()[:PSEUDONYM_HEX]


def decimal_text(minor: int) -> str:
    """300.00 from 30000 (integer arithmetic: the text is hashed, so no float may round it)."""
    if minor < 0:
        raise ValueError("amounts are not negative")
    return f"{minor // 100}.{minor % 100:02d}"


def max_commitment(max_minor: int, nonce: str) -> str:
    return hashlib.sha256(f"{decimal_text(max_minor)}|{nonce}".encode()).hexdigest()


def iso_ms(ms: int) -> str:
    """2026-11-26T09:37:19.123Z, exactly from epoch ms."""
    return _iso_second(ms // 1000) + f"{ms % 1000:03d}Z"


@lru_cache(maxsize=1024)
def _iso_second(seconds: int) -> str:
    """The text up to the milliseconds (cached: an entry's three moments, and the entries of
    one busy second, share it; strftime was half of building an entry)."""
    return (_EPOCH + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.")


def entry_document(auction_id: str, index: int, placed: PlacedEntry, bidder: str) -> dict[str, Any]:
    document: dict[str, Any] = {
        "v": 1,
        "auctionId": auction_id,
        "index": index,
        "kind": placed.kind,
        "bidder": bidder,
        "amount": decimal_text(placed.amount),
        "arrivedAt": iso_ms(placed.arrived_ms),
        "judgedAt": iso_ms(placed.judged_ms),
        "endsAt": iso_ms(placed.ends_ms),
        "maxCommit": (
            max_commitment(placed.max_amount, placed.nonce)
            if placed.max_amount is not None and placed.nonce is not None
            else None
        ),
    }
    if placed.round > 1:
        document["round"] = placed.round
    return document


def ledger_entries(
    auction_id: str, first_index: int, placed: Sequence[PlacedEntry], secret: bytes
) -> list[LedgerEntry]:
    """The entries of consecutive placed bids, the first at `first_index`."""
    entries = []
    for offset, one in enumerate(placed):
        index = first_index + offset
        text = canonical(entry_document(auction_id, index, one, pseudonym(secret, one.user_id)))
        entries.append(LedgerEntry(index, text.decode(), leaf_hash(text)))
    return entries


def placed_from_accepted(
    offer: Offer, accepted: Accepted, *, nonce_of: Callable[[str, int], str], round: int = 1
) -> list[PlacedEntry]:
    """The entries of one accepted offer, as `judge_bid` decided it: arrived at the offer's
    moment, judged at the script's clock, ending where the book ends after it.

    A proxy entry commits to its owner's current maximum: the leader's after the offer, or,
    for a new maximum beaten at once, the offer itself (placed at its full value).
    `nonce_of(user_id, max)` gives the nonce chosen when that maximum was set. A leader's raise
    places nothing, so gives no entry."""
    leader = accepted.book.leader
    times = (offer.moment, offer.now_ms, accepted.book.ends_ms)
    placed = []
    for bid in accepted.bids:
        if not bid.is_proxy:
            kind: EntryKind = "buy_now" if accepted.buy_now else "bid"
            placed.append(PlacedEntry(kind, bid.user_id, bid.amount, *times, round=round))
            continue
        leads = leader is not None and leader.user_id == bid.user_id
        owner_max = leader.max_amount if leader is not None and leads else offer.amount
        nonce = nonce_of(bid.user_id, owner_max)
        placed.append(
            PlacedEntry("proxy", bid.user_id, bid.amount, *times, owner_max, nonce, round)
        )
    return placed
