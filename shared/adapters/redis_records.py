"""The shapes the system keeps in Redis, each read and written by one typed codec.

The Lua scripts write these same shapes (`place_bid.lua`, `seed_state.lua`); every Python
reader goes through the classes here instead of reading dict keys in several files.

- `AuctionState`: the hash `auction:{id}:state` the bid script judges.
- `HighestBid`: the JSON at `auction:{id}:highest`.
- `BidRecord`: an accepted bid's outbox record on `outbox:bids` (what PostgreSQL must learn).
- `ScheduleWire`: schedule entries as a state patch and `seed_state.lua` take them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from shared.adapters import keys
from shared.domain.money import to_minor
from shared.domain.schedule import Entries
from shared.domain.times import to_ms

if TYPE_CHECKING:
    from shared.adapters.orm import Auction

# [[schedule key, due ms or None]]: entries to place (or, None, to remove).
ScheduleWire = list[tuple[str, int | None]]


def schedule_wire(entries: Entries) -> ScheduleWire:
    return [(keys.schedule(moment), due) for moment, due in entries.items()]


def _optional_int(value: str | None) -> int | None:
    return int(value) if value not in (None, "") else None


@dataclass(frozen=True, slots=True)
class AuctionState:
    """Money in minor units, moments in epoch ms. `seq` numbers the auction's bids."""

    status: str
    go_live_ms: int
    ends_ms: int
    start_price: int
    increment: int
    reserve: int | None
    buy_now: int | None
    soft_close_s: int | None
    seller_id: str
    round: int
    seq: int = 0
    # The public ledger: how many entries the auction's log has, and the key of its bidders'
    # pseudonyms (hex; the bid script hands it to whoever builds the entries).
    ledger: int = 0
    ledger_secret: str = ""

    @classmethod
    def of(
        cls, auction: Auction, seq: int, ledger: int = 0, ledger_secret: str = ""
    ) -> AuctionState:
        """The state of `auction` as the record has it (`seq`: its last bid's number;
        `ledger`: its log's size)."""
        return cls(
            status=auction.status,
            go_live_ms=to_ms(auction.go_live_at),
            ends_ms=to_ms(auction.ends_at),
            start_price=to_minor(auction.start_price),
            increment=to_minor(auction.bid_increment),
            reserve=to_minor(auction.reserve_price) if auction.reserve_price is not None else None,
            buy_now=to_minor(auction.buy_now_price) if auction.buy_now_price is not None else None,
            soft_close_s=auction.soft_close_secs,
            seller_id=str(auction.seller_id),
            round=auction.round,
            seq=seq,
            ledger=ledger,
            ledger_secret=ledger_secret,
        )

    @classmethod
    def from_hash(cls, fields: dict[str, str]) -> AuctionState | None:
        """None for a missing state (an empty hash). Raises KeyError/ValueError when malformed."""
        if not fields:
            return None
        return cls(
            status=fields["status"],
            go_live_ms=int(fields["goLiveAt"]),
            ends_ms=int(fields["endsAt"]),
            start_price=int(fields["startPrice"]),
            increment=int(fields["increment"]),
            reserve=_optional_int(fields.get("reserve")),
            buy_now=_optional_int(fields.get("buyNow")),
            soft_close_s=_optional_int(fields.get("softClose")),
            seller_id=fields.get("sellerId", ""),
            round=int(fields.get("round") or 1),
            seq=int(fields.get("seq") or 0),
            ledger=int(fields.get("ledger") or 0),
            ledger_secret=fields.get("ledgerSecret", ""),
        )

    def to_fields(self) -> list[str | int]:
        """HSET's flat field/value list (an absent rule is an empty string: the scripts'
        `num()` reads it as nil)."""
        fields: dict[str, str | int] = {
            "status": self.status,
            "goLiveAt": self.go_live_ms,
            "endsAt": self.ends_ms,
            "startPrice": self.start_price,
            "increment": self.increment,
            "reserve": "" if self.reserve is None else self.reserve,
            "buyNow": "" if self.buy_now is None else self.buy_now,
            "softClose": self.soft_close_s or "",
            "sellerId": self.seller_id,
            "round": self.round,
            "seq": self.seq,
            "ledger": self.ledger,
            "ledgerSecret": self.ledger_secret,
            # The seller's blocked set, which the bid script checks in the same round trip.
            "blockedKey": keys.blocked_bidders(self.seller_id),
        }
        flat: list[str | int] = []
        for name, value in fields.items():
            flat += [name, value]
        return flat


@dataclass(frozen=True, slots=True)
class HighestBid:
    """The leader: the visible bid (`bid_id`, `amount`, `ts`) and the private maximum behind
    it (`max`, set at `max_at`; the earlier of equal maximums wins)."""

    bid_id: str
    user_id: str
    amount: int
    ts: int
    max: int
    max_at: int
    name: str | None = None  # the leader's public name (bidderName of a proxy's answer)
    nonce: str | None = None  # the nonce of the maximum's commitment in the public ledger

    @classmethod
    def from_json(cls, raw: str | bytes | None) -> HighestBid | None:
        if not raw:
            return None
        data = orjson.loads(raw)
        amount = int(data["amount"])
        return cls(
            bid_id=str(data["bidId"]),
            user_id=str(data["userId"]),
            amount=amount,
            ts=int(data["ts"]),
            max=int(data.get("max", amount)),
            max_at=int(data.get("maxAt", data["ts"])),
            name=str(data["name"]) if data.get("name") else None,
            nonce=str(data["nonce"]) if data.get("nonce") else None,
        )

    def to_json(self) -> str:
        body: dict[str, Any] = {
            "bidId": self.bid_id,
            "userId": self.user_id,
            "amount": self.amount,
            "ts": self.ts,
            "max": self.max,
            "maxAt": self.max_at,
        }
        if self.name:
            body["name"] = self.name
        if self.nonce:
            body["nonce"] = self.nonce
        return orjson.dumps(body).decode()


@dataclass(frozen=True, slots=True)
class PlacedRow:
    """One visible bid of a record (a plain bid, or a proxy's bid or answer)."""

    id: str
    bidder_id: str
    amount: int
    is_proxy: bool
    seq: int
    # Its entry in the public ledger: the index, and on a proxy row its owner's maximum with
    # that maximum's nonce (the commitment's). None on records older than the ledger.
    index: int | None = None
    owner_max: int | None = None
    nonce: str | None = None


@dataclass(frozen=True, slots=True)
class BidRecord:
    """Everything PostgreSQL must learn from one accepted offer (`place_bid.lua` writes it)."""

    auction_id: str
    round: int
    bids: tuple[PlacedRow, ...]
    at_ms: int
    ends_ms: int
    extended: bool  # a soft close moved the end
    outbid: tuple[str, ...]
    buy_now: bool
    seller_id: str
    max_of: str | None  # a proxy maximum was set (by this user) ...
    max: int | None  # ... to this amount
    request_id: str | None = None  # the API request that placed it (logs only)
    # Where the bid came from, as the salted hashes of `shared.domain.sources` (the bid route
    # computes them; a record without them, an older one included, has none).
    net_hash: str | None = None
    device_hash: str | None = None
    # The ledger: the nonce of the maximum set (with `max`), the key of the pseudonyms (hex),
    # and the arrival moment the offer was judged at (epoch ms).
    max_nonce: str | None = None
    ledger_secret: str = ""
    arrived_ms: int | None = None

    @classmethod
    def from_json(cls, raw: str | bytes) -> BidRecord:
        return cls.from_dict(orjson.loads(raw))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BidRecord:
        bids = data.get("bids") or []
        outbid = data.get("outbid") or []
        return cls(
            auction_id=str(data["auctionId"]),
            round=int(data["round"]),
            # cjson encodes an empty Lua table as {}: no bids (a raised maximum places none).
            bids=tuple(
                PlacedRow(
                    id=str(b["id"]),
                    bidder_id=str(b["bidderId"]),
                    amount=int(b["amount"]),
                    is_proxy=bool(b["isProxy"]),
                    seq=int(b["seq"]),
                    index=int(b["index"]) if b.get("index") is not None else None,
                    owner_max=int(b["max"]) if b.get("max") is not None else None,
                    nonce=str(b["nonce"]) if b.get("nonce") is not None else None,
                )
                for b in (bids if isinstance(bids, list) else [])
            ),
            at_ms=int(data["at"]),
            ends_ms=int(data["endsAt"]),
            extended=bool(data.get("extended")),
            outbid=tuple(str(u) for u in (outbid if isinstance(outbid, list) else [])),
            buy_now=bool(data.get("buyNow")),
            seller_id=str(data.get("sellerId") or ""),
            max_of=str(data["maxOf"]) if data.get("maxOf") else None,
            max=int(data["max"]) if data.get("max") not in (None, "") else None,
            request_id=str(data["requestId"]) if data.get("requestId") else None,
            net_hash=str(data["netHash"]) if data.get("netHash") else None,
            device_hash=str(data["deviceHash"]) if data.get("deviceHash") else None,
            max_nonce=str(data["maxNonce"]) if data.get("maxNonce") else None,
            ledger_secret=str(data.get("ledgerSecret") or ""),
            arrived_ms=int(data["arrivedAt"]) if data.get("arrivedAt") is not None else None,
        )

    @property
    def sender(self) -> str | None:
        """Who made the offer: the owner of a maximum it set, else the bidder of its first bid
        (a proxy's answer, placed for someone else, comes after it)."""
        if self.max_of is not None:
            return self.max_of
        return self.bids[0].bidder_id if self.bids else None

    @property
    def moves_the_end(self) -> bool:
        """A soft close moved the end (a buy-now's end is the sale itself)."""
        return self.extended and not self.buy_now

    @property
    def has_rule_changes(self) -> bool:
        """A proxy maximum was set, or a soft close moved the end."""
        return self.max_of is not None or self.moves_the_end
