"""Verify an auction's public bid log, from the outside.

    python -m verify_auction <API base URL> <auction id> [--state FILE] [--proofs N]

The platform keeps, for every auction, an append-only Merkle log of the bids it accepted
(RFC 9162's tree, C2SP signed-note checkpoints). This program reads it through the public
API and checks, trusting nothing but the platform's published signing key:

- every signature: the checkpoint (and the close certificate's) by the key of
  `GET /api/ledger/key`, the same key as on earlier runs for this log;
- every entry: its leaf hash is the hash of its text, the text is canonical JSON of this
  auction at its own index, indices run 0..n-1 without gap or duplicate;
- the tree: the root over all leaves is the signed one (so every entry is included; a
  sample of the platform's inclusion proofs is checked too), and it extends every
  checkpoint of this auction seen before (kept in the state file);
- the rules, replayed over the entries: the bidding window, the lowest bid allowed, proxy
  answers equal to what the maxima revealed at the close give, soft close, buy-now,
  retractions, rounds; once ended, the replay must reach the published winner and price.

It proves the order and content of what the platform accepted; it cannot prove that a bid
was never sent (a bid refused or dropped before the log leaves no trace here: keep your bid's
receipt).

Exit 0: verified (a summary follows); 1: something failed (the first bad index named, and
why); 2: usage or network error. Only the standard library and `cryptography`: this directory
can be copied out and audited on its own.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import dataclasses
import functools
import hashlib
import json
import os
import random
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

PAGE = 1000  # the API serves at most this many entries per page
DEFAULT_STATE = Path.home() / ".auction-verifier" / "checkpoints.json"


class Failed(Exception):
    """The log, a signature or the rules do not hold (exit 1)."""

    def __init__(self, index: int | None, why: str) -> None:
        super().__init__(f"index {index}: {why}" if index is not None else why)
        self.index = index
        self.why = why


class Unusable(Exception):
    """Usage, network, or an answer that is not the API's (exit 2)."""


# -- the tree (RFC 9162 section 2.1) -------------------------------------------------------


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def roots_at(leaves: Sequence[bytes], sizes: Iterable[int]) -> dict[int, bytes]:
    """The root of the first n leaves for each n asked, in one pass: a stack of the perfect
    subtrees of the edge (one per set bit of the size), folded right to left for a root."""
    wanted, roots, stack = set(sizes), {}, list[bytes]()
    if 0 in wanted:
        roots[0] = hashlib.sha256(b"").digest()
    for n, leaf in enumerate(leaves, 1):
        folded, carry = leaf, n - 1
        while carry & 1:
            folded = node_hash(stack.pop(), folded)
            carry >>= 1
        stack.append(folded)
        if n in wanted:
            root = stack[-1]
            for left in reversed(stack[:-1]):
                root = node_hash(left, root)
            roots[n] = root
    return roots


def range_hash(leaves: Sequence[bytes], start: int, end: int) -> bytes:
    """The tree hash of leaves [start, end), as the RFC splits it."""
    if end - start == 1:
        return leaves[start]
    k = 1 << ((end - start - 1).bit_length() - 1)
    return node_hash(range_hash(leaves, start, start + k), range_hash(leaves, start + k, end))


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose hashes make the audit path of `index`, from the leaf up."""
    ranges, start, end = [], 0, size
    while end - start > 1:
        k = 1 << ((end - start - 1).bit_length() - 1)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    return ranges[::-1]


def root_from_inclusion(leaf: bytes, index: int, size: int, path: Sequence[bytes]) -> bytes:
    """RFC 9162 2.1.3.2 (b"" when the path cannot be one of `index` in `size`)."""
    if not 0 <= index < size:
        return b""
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return b""
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else b""


def consistent(old: int, new: int, old_root: bytes, new_root: bytes, path: list[bytes]) -> bool:
    """RFC 9162 2.1.4.2; equal sizes need equal roots and an empty path."""
    if not 0 < old <= new:
        return False
    if old == new:
        return not path and old_root == new_root
    if not path:
        return False
    hashes = [old_root, *path] if old & (old - 1) == 0 else list(path)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = hashes[0]
    for c in hashes[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


# -- signed notes (C2SP signed-note, tlog-checkpoint) --------------------------------------


def b64(text: Any, size: int | None = None) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not a base64 string")
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error:
        raise ValueError("not standard base64") from None
    if size is not None and len(raw) != size:
        raise ValueError(f"not {size} bytes")
    return raw


@dataclass(frozen=True)
class Key:
    name: str
    key_id: bytes
    public: bytes

    @classmethod
    def parse(cls, vkey: str) -> Key:
        """`<name>+<hex key id>+<base64(0x01 || Ed25519 public key)>`; the id is the first 4
        bytes of SHA-256(name || 0x0A || 0x01 || key)."""
        name, _, rest = vkey.partition("+")
        hex_id, _, encoded = rest.partition("+")
        key = b64(encoded)
        if not name or any(c.isspace() for c in name) or len(key) != 33 or key[0] != 1:
            raise ValueError("not an Ed25519 note verifier key")
        key_id = hashlib.sha256(name.encode() + b"\n" + key).digest()[:4]
        if key_id.hex() != hex_id:
            raise ValueError("its key id does not match its name and key")
        return cls(name, key_id, key[1:])

    def signs(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes


def open_checkpoint(note: str, key: Key) -> Checkpoint:
    """The checkpoint a signed note carries, once `key`'s signature on it verifies."""
    if any(ord(c) < 0x20 and c != "\n" for c in note):
        raise ValueError("a note has no control characters but newlines")
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise ValueError("a note is its text, a blank line and signature lines")
    text, signed = note[: split + 1], False
    for line in note[split + 2 : -1].split("\n"):
        name, _, encoded = line.removeprefix("— ").partition(" ")
        raw = b64(encoded)
        if not line.startswith("— ") or len(raw) < 5:
            raise ValueError("a signature line is `— <name> <base64>`")
        if name == key.name and raw[:4] == key.key_id:
            if not key.signs(text.encode(), raw[4:]):
                raise ValueError(f"the signature of {key.name} does not verify")
            signed = True
    if not signed:
        raise ValueError(f"no signature by {key.name}")
    lines = text[:-1].split("\n")
    if len(lines) < 3 or not re.fullmatch(r"0|[1-9][0-9]*", lines[1]) or "" in lines:
        raise ValueError("a checkpoint is an origin, a tree size and a root hash")
    return Checkpoint(lines[0], int(lines[1]), b64(lines[2], 32))


# -- the API -------------------------------------------------------------------------------


class Api:
    def __init__(self, base: str, auction_id: str, timeout: float = 30.0) -> None:
        parsed = urllib.parse.urlsplit(base)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise Unusable(f"not an http(s) URL: {base!r}")
        self.base, self.host, self.timeout = base.rstrip("/"), parsed.netloc, timeout
        self.auction = f"/api/auctions/{urllib.parse.quote(auction_id, safe='')}"

    def get(
        self, path: str, query: dict[str, int] | None = None, allow: tuple[int, ...] = ()
    ) -> tuple[int, bytes]:
        url = self.base + path + ("?" + urllib.parse.urlencode(query) if query else "")
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as error:
            if error.code in allow:
                return error.code, error.read()
            raise Unusable(f"GET {url}: HTTP {error.code}") from None
        except (urllib.error.URLError, OSError) as error:
            raise Unusable(f"GET {url}: {error}") from None

    def json(self, path: str, **query: int) -> Any:
        _, body = self.get(path, query)
        try:
            return json.loads(body)
        except ValueError:
            raise Unusable(f"GET {path}: not JSON") from None

    def checkpoint(self) -> str:
        return self.get(self.auction + "/ledger/checkpoint")[1].decode()

    def close(self) -> Any:
        """The close certificate, or None before the end (409)."""
        status, body = self.get(self.auction + "/ledger/close", allow=(409,))
        if status == 409:
            return None
        try:
            return json.loads(body)
        except ValueError:
            raise Unusable("the close certificate is not JSON") from None

    def path(self, route: str, **query: int) -> list[bytes]:
        answer = self.json(self.auction + route, **query)
        try:
            return [b64(p, 32) for p in answer["path"]]
        except (KeyError, TypeError, ValueError):
            raise Unusable(f"GET {route}: no path of base64 hashes") from None


# -- entries -------------------------------------------------------------------------------

KEYS = {"v", "auctionId", "index", "kind", "bidder", "amount", "arrivedAt", "judgedAt"}
KEYS |= {"endsAt", "maxCommit"}
KINDS = {"bid", "proxy", "buy_now", "retraction"}
MOMENT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:[0-5]\d\.\d{3}Z")
AMOUNT = re.compile(r"(0|[1-9][0-9]*)(\.[0-9]{1,2})?")
MONEY = re.compile(r"(0|[1-9][0-9]*)\.[0-9]{2}")  # as entries write amounts
BIDDER, COMMIT = re.compile("[0-9a-f]{32}"), re.compile("[0-9a-f]{64}")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@functools.lru_cache(maxsize=4096)
def _minute(prefix: str) -> int:
    return (datetime.fromisoformat(prefix + "+00:00") - EPOCH) // timedelta(milliseconds=1)


def ms(moment: str) -> int:
    """Epoch ms of `2026-11-26T09:37:19.123Z` (the minute's from a cache: a log's entries
    share few minutes, and 30,000 parses would be a third of a run); other ISO 8601 too."""
    if MOMENT.fullmatch(moment):
        return _minute(moment[:16]) + int(moment[17:19]) * 1000 + int(moment[20:23])
    parsed = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"a time without its zone: {moment}")
    return (parsed - EPOCH) // timedelta(milliseconds=1)


def iso(at: int) -> str:
    return (EPOCH + timedelta(milliseconds=at)).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at % 1000:03d}Z"


def cents(text: Any) -> int:
    if not isinstance(text, str) or not AMOUNT.fullmatch(text):
        raise ValueError(f"not an amount: {text!r}")
    whole, _, fraction = text.partition(".")
    return int(whole) * 100 + int(fraction.ljust(2, "0"))


def money(amount: int | None) -> str:
    return "none" if amount is None else f"{amount // 100}.{amount % 100:02d}"


@dataclass(frozen=True)
class Entry:
    index: int
    kind: str
    bidder: str
    amount: int
    arrived: int
    judged: int
    ends: int
    commit: str | None
    round: int


def parse_entry(index: int, row: Any, auction_id: str) -> tuple[Entry, bytes]:
    """One served row, checked: its hash, its canonical text, its fields. Returns the entry
    and its leaf hash."""
    if not isinstance(row, dict) or row.get("index") != index:
        raise Failed(index, "missing, or out of order")
    text = row.get("entry")
    if not isinstance(text, str):
        raise Failed(index, "no entry text")
    leaf = leaf_hash(text.encode())
    try:
        if b64(row.get("leafHash"), 32) != leaf:
            raise Failed(index, "its leaf hash is not the hash of its text")
        doc = json.loads(text)
    except ValueError as error:
        raise Failed(index, f"unreadable: {error}") from None
    # (canonical also means one meaning: a key twice would not survive the round trip)
    if not isinstance(doc, dict) or CANONICAL.encode(doc) != text:
        raise Failed(index, "its text is not canonical JSON (keys sorted, no spaces)")
    if set(doc) - {"round"} != KEYS:
        raise Failed(index, f"its keys are {sorted(doc)}")
    round_, commit, times = doc.get("round", 1), doc["maxCommit"], []
    checks = [
        (doc["v"] == 1, "v is not 1"),
        (doc["auctionId"] == auction_id, "an entry of another auction"),
        (doc["index"] == index, f"it says it is index {doc['index']}"),
        (doc["kind"] in KINDS, f"unknown kind {doc['kind']!r}"),
        (isinstance(doc["bidder"], str) and BIDDER.fullmatch(doc["bidder"]), "bidder: 32 hex"),
        (isinstance(doc["amount"], str) and MONEY.fullmatch(doc["amount"]), "amount: 0.00"),
        ("round" not in doc or (type(round_) is int and round_ >= 2), "round: 2 or more"),
        ((doc["kind"] == "proxy") == (isinstance(commit, str) and bool(COMMIT.fullmatch(commit))),
         "a proxy bid, and only one, carries its maximum's commitment"),
    ]  # fmt: skip
    for ok, why in checks:
        if not ok:
            raise Failed(index, why)
    for key in ("arrivedAt", "judgedAt", "endsAt"):
        try:
            if not isinstance(doc[key], str) or not MOMENT.fullmatch(doc[key]):
                raise ValueError
            times.append(ms(doc[key]))
        except ValueError:
            raise Failed(index, f"{key}: not 2026-01-31T12:00:00.000Z") from None
    arrived, judged, ends = times
    kind, bidder, amount = doc["kind"], doc["bidder"], cents(doc["amount"])
    return Entry(index, kind, bidder, amount, arrived, judged, ends, commit, round_), leaf


# -- the rules -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rules:
    start: int
    increment: int
    reserve: bool  # the auction has one (its amount is the seller's)
    reserve_price: int | None  # known only to the seller
    buy_now: int | None
    soft_close_ms: int
    go_live: int
    duration_ms: int

    @classmethod
    def of(cls, auction: dict[str, Any]) -> Rules:
        try:
            return cls(
                start=cents(auction["startPrice"]),
                increment=cents(auction["bidIncrement"]),
                reserve=auction.get("reserveMet") is not None or "reservePrice" in auction,
                reserve_price=(
                    cents(auction["reservePrice"]) if auction.get("reservePrice") else None
                ),
                buy_now=cents(auction["buyNowPrice"]) if auction.get("buyNowPrice") else None,
                soft_close_ms=int(auction.get("softCloseSecs") or 0) * 1000,
                go_live=ms(auction["goLiveAt"]),
                duration_ms=int(auction["durationMins"]) * 60_000,
            )
        except (KeyError, TypeError, ValueError) as error:
            raise Unusable(f"the auction's rules are unreadable: {error}") from None


@dataclass
class Bid:
    index: int
    bidder: str
    amount: int


class Replay:
    """The bid rules over the entries, one round at a time.

    A bidder's maximum is known from the log only as far as it shows: a proxy entry commits
    to its owner's maximum (revealed at the close), a plain bid is its own maximum, and an
    answer shows the leader's. A leader may raise their maximum without an entry; such a raise
    shows in their next answer, and when it only set the price of the bid that beat them, it
    must be among the close's reveals (which list every maximum set, with or without an
    entry). `maxima` holds, per bidder, the least maximum the log proves; every check holds
    for any larger true one.

    `reveals` maps each revealed commitment to (bidder, max); None before the end (the
    maxima are secret then, and the checks that need them are done with what is known)."""

    def __init__(
        self, rules: Rules, reveals: dict[str, tuple[str, int]] | None, current_round: int
    ) -> None:
        self.rules, self.reveals, self.current_round = rules, reveals, current_round
        # Maxima a leader may have raised to without an entry: (bidder, max) -> from which index
        # on it may have been in force: 0 if no entry commits to it, else (in that round) the
        # first entry committing to it, when that entry has the shape of an answer (the leader
        # shows their maximum); a maximum first shown as its owner's own new offer was not.
        self.raises: dict[str, list[tuple[int, int, int]]] = {}  # bidder -> (round, max, until)
        self.reserve_above = rules.start - 1  # reserve > this (it is at least the start)
        self.reserve_at_most: int | None = None
        self.round = 0
        self._new_round(1)

    def _new_round(self, number: int) -> None:
        self.round, self.sold = number, False
        self.leader: str | None = None
        self.price: int | None = None
        self.maxima: dict[str, int] = {}
        self.bids: list[Bid] = []
        current = number == self.current_round
        # An earlier round's window is not published any more: checked from its first entry on.
        self.go_live = self.rules.go_live if current else None
        self.end: int | None = self.rules.go_live + self.rules.duration_ms if current else None

    def run(self, entries: Sequence[Entry]) -> None:
        first: dict[str, Entry] = {}
        for before, e in zip([None, *entries], entries, strict=False):
            if e.commit and e.commit not in first:
                answer_shaped = before is not None and (before.arrived, before.judged) == (
                    e.arrived, e.judged
                )  # fmt: skip
                first[e.commit] = e if answer_shaped else dataclasses.replace(e, index=-1)
        for commit, (bidder, amount) in (self.reveals or {}).items():
            shown = first.get(commit)
            if shown is None:  # never shown: a raise in any round, at any time
                self.raises.setdefault(bidder, []).append((0, amount, len(entries)))
            elif shown.index >= 0:  # shown first in an answer: raised before it
                self.raises.setdefault(bidder, []).append((shown.round, amount, shown.index))
        self.budget = 20 * len(entries) + 1_000
        start = 0
        while start < len(entries):  # in groups judged at one moment
            moment = (entries[start].round, entries[start].arrived, entries[start].judged)
            stop = start + 1
            while stop < len(entries) and (
                entries[stop].round, entries[stop].arrived, entries[stop].judged
            ) == moment:  # fmt: skip
                stop += 1
            self._group(entries, start, stop)
            start = stop
        if self.round != self.current_round:  # the current round has no bids yet
            self._new_round(self.current_round)

    def _group(self, entries: Sequence[Entry], start: int, stop: int) -> None:
        """Replays entries[start:stop], judged at one moment. An answer is the next entry, the
        leader's proxy bid, judged in the same call: same arrival, same judging time. Two calls
        in one millisecond (a stamp missing or not believed leaves the script's clock for both)
        can look alike: the next entry may be the answer, or that leader's own new maximum
        (itself answered next). So each such entry is first read as the answer, and where the
        group then fails, the latest such reading is undone and the other one taken: a search
        over the readings, bounded by `budget`; the failure at the earliest entry is reported."""
        taken: list[tuple[int, tuple[Any, ...]]] = []  # (index, state before) of answer readings
        first: Failed | None = None  # the failure at the earliest entry, of every reading tried
        i, other = start, -1
        while i < stop:
            e = entries[i]
            following = entries[i + 1] if i + 1 < len(entries) else None
            self.budget -= 1
            if self.budget < 0:
                raise Failed(e.index, "too many entries judged at one moment to replay")
            try:
                if e.round != self.round:
                    if e.round < self.round:
                        raise Failed(e.index, f"round {e.round} after round {self.round}")
                    self._new_round(e.round)
                answered = (
                    i != other
                    and following is not None
                    and i + 1 < stop
                    and self._may_answer(e, following)
                )
                if answered:
                    taken.append((i, self._save()))
                self._entry(e, following, answered)
                i += 2 if answered else 1
            except Failed as failure:
                if first is None or (failure.index or 0) < (first.index or 0):
                    first = failure
                if not taken:
                    raise first from None
                other, saved = taken.pop()
                self._restore(saved)
                i = other

    def _may_answer(self, e: Entry, a: Entry) -> bool:
        """Whether `a` can be the leader's proxy answer to `e`: judged in the same call, and `e`
        an offer the leader's maximum met (a new maximum is answered only placed in full)."""
        if e.kind not in ("bid", "proxy") or self.leader in (None, e.bidder) or self.sold:
            return False
        if (a.kind, a.round, a.bidder, a.arrived, a.judged) != (
            "proxy", e.round, self.leader, e.arrived, e.judged
        ):  # fmt: skip
            return False
        maximum = self._maximum(e) if e.kind == "proxy" else None
        return maximum is None or maximum == e.amount

    def _save(self) -> tuple[Any, ...]:
        return (dict(self.__dict__), dict(self.maxima), list(self.bids))

    def _restore(self, saved: tuple[Any, ...]) -> None:
        fields, maxima, bids = saved
        budget = self.budget  # (spent stays spent: the search is bounded)
        self.__dict__.update(fields)
        self.maxima, self.bids, self.budget = maxima, bids, budget

    def _entry(self, e: Entry, following: Entry | None, answered: bool) -> None:
        """Judges one entry, with `following` as its proxy answer when `answered`."""
        if self.go_live is not None and e.arrived < self.go_live:
            raise Failed(e.index, f"arrived {iso(e.arrived)}, before the auction went live")
        if self.end is not None and e.arrived >= self.end:
            raise Failed(e.index, f"arrived {iso(e.arrived)}, at or after the end {iso(self.end)}")
        if self.sold:
            raise Failed(e.index, "an entry after a buy-now ended the round")
        if e.kind == "retraction":
            self._retraction(e)
        elif e.kind == "buy_now":
            self._buy_now(e)
        elif e.kind == "proxy" and e.bidder == self.leader:
            raise Failed(e.index, "a proxy bid for the leader that answers no bid")
        else:
            self._offer(e, following, following if answered else None)

    def _floor(self) -> int:
        return self.rules.start if self.price is None else self.price + self.rules.increment

    def _maximum(self, e: Entry) -> int | None:
        if self.reveals is None or e.commit is None:
            return None
        revealed = self.reveals.get(e.commit)
        if revealed is None and self.round != self.current_round:
            return None  # a void round's maxima decide nothing
        if revealed is None:
            raise Failed(e.index, "the close certificate reveals no maximum for its commitment")
        if revealed[0] != e.bidder:
            raise Failed(e.index, "its maximum was revealed as another bidder's")
        if revealed[1] < e.amount:
            raise Failed(e.index, f"a proxy bid above its own maximum {money(revealed[1])}")
        return revealed[1]

    def _extend(self, e: Entry) -> None:
        """Soft close: fewer than softCloseSecs left at arrival moves the end to arrival +
        softCloseSecs."""
        soft = self.rules.soft_close_ms
        if self.end is None:  # an earlier round's first entry: its end is what it says
            if e.ends <= e.arrived:
                raise Failed(e.index, "it ends the auction before it arrived")
            self.end = e.ends
            return
        end = e.arrived + soft if soft and self.end - e.arrived < soft else self.end
        if e.ends != end:
            raise Failed(e.index, f"endsAt {iso(e.ends)}, where the rules give {iso(end)}")
        self.end = end

    def _place(self, e: Entry) -> None:
        self.bids.append(Bid(e.index, e.bidder, e.amount))

    def _lead(self, bidder: str, price: int, maximum: int) -> None:
        self.leader, self.price = bidder, price
        self.maxima[bidder] = max(self.maxima.get(bidder, 0), maximum)

    def _buy_now_stands(self) -> bool | None:
        """Buy-now stands while at or above the lowest bid allowed, until the first bid (with
        a reserve: while the highest bid is below it). None: the hidden reserve decides."""
        price, floor = self.rules.buy_now, self._floor()
        if price is None or price < floor:
            return False
        if self.price is None:
            return True
        if not self.rules.reserve:
            return False
        if self.rules.reserve_price is not None:
            return self.price < self.rules.reserve_price
        if self.price <= self.reserve_above:
            return True
        if self.reserve_at_most is not None and self.price >= self.reserve_at_most:
            return False
        return None

    def bound_reserve(
        self, index: int | None, above: int | None = None, met: int | None = None
    ) -> None:
        """What the log proves of the hidden reserve: above a price at which buy-now still
        stood, at most a price at which it did not (or the close said it was met)."""
        if above is not None:
            self.reserve_above = max(self.reserve_above, above)
        if met is not None:
            self.reserve_at_most = min(met, self.reserve_at_most or met)
        low, high = self.reserve_above, self.reserve_at_most
        known = self.rules.reserve_price
        if known is not None:
            fits = low < known and (high is None or known <= high)
        else:
            fits = high is None or low < high
        if not fits:
            raise Failed(index, "no reserve fits both where buy-now stood and where it did not")

    def _buy_now(self, e: Entry) -> None:
        price = self.rules.buy_now
        if price is None or e.amount != price:
            raise Failed(e.index, f"a buy-now at {money(e.amount)}; the price is {money(price)}")
        stands = self._buy_now_stands()
        if stands is False:
            raise Failed(e.index, "a buy-now after buy-now stopped standing")
        if stands is None:
            self.bound_reserve(e.index, above=self.price)
        # (judged in the grace after the end, it ends at the end it had)
        if e.ends != (e.judged if self.end is None else min(self.end, e.judged)):
            raise Failed(e.index, "a buy-now ends the auction when it is judged")
        self._place(e)
        self._lead(e.bidder, price, price)
        self.sold, self.end = True, e.ends

    def _offer(self, e: Entry, following: Entry | None, answer: Entry | None) -> None:
        """A plain bid, or the bid of a new maximum (its entry commits to the maximum)."""
        rules, leader, floor = self.rules, self.leader, self._floor()
        maximum = self._maximum(e) if e.kind == "proxy" else e.amount
        if e.amount < floor:
            raise Failed(e.index, f"{money(e.amount)} is below the lowest bid, {money(floor)}")
        if rules.buy_now is not None and maximum is not None and maximum >= rules.buy_now:
            stands = self._buy_now_stands()
            if stands:
                raise Failed(e.index, f"an offer of {money(maximum)} while buy-now stood")
            if stands is None:  # buy-now did not stand: the reserve was met
                self.bound_reserve(e.index, met=self.price)
        self._extend(e)
        if leader is None or leader == e.bidder:  # the first bid, or the leader's own
            if leader is None and e.kind == "proxy" and e.amount != floor:
                raise Failed(e.index, f"a first maximum bids the lowest bid, {money(floor)}")
            self._place(e)
            self._lead(e.bidder, e.amount, maximum if maximum is not None else e.amount)
            return
        held = self.maxima.get(leader, self.price or 0)
        self._place(e)
        if answer is not None:  # the leader's maximum meets it: the bid stays, outbid at once
            self.maxima[e.bidder] = max(self.maxima.get(e.bidder, 0), e.amount)
            self._answer(answer, e.amount, held)
            return
        if following is None and self.reveals is None:
            pass  # the live log's last offer: its answer may come with the next checkpoint
        elif e.kind == "bid":
            if held >= e.amount:
                raise Failed(
                    e.index, f"the leader's maximum ({money(held)}) meets it, yet no answer follows"
                )
        elif maximum is None:
            if e.amount <= held:
                raise Failed(e.index, f"takes the lead without beating {money(held)}")
        else:
            if maximum <= held:
                raise Failed(
                    e.index, f"its maximum {money(maximum)} takes the lead from {money(held)}"
                )
            # (a maximum the leader raised without an entry: among the close's reveals)
            raised = {
                c
                for number, c, until in self.raises.get(leader, ())
                if number in (0, self.round) and e.index < until and held <= c < maximum
            }
            prices = {min(maximum, c + rules.increment) for c in {held, *raised}}
            if e.amount not in prices:
                raise Failed(
                    e.index,
                    f"placed at {money(e.amount)}; beating a maximum of {money(held)} costs "
                    f"{money(min(maximum, held + rules.increment))}",
                )
            if e.amount < maximum:  # then the beaten maximum was exactly this
                self.maxima[leader] = max(held, e.amount - rules.increment)
        self._lead(e.bidder, e.amount, maximum if maximum is not None else e.amount)

    def _answer(self, a: Entry, bid: int, held: int) -> None:
        """The leader's proxy answer to `bid`: min(their maximum, bid + increment)."""
        self._extend(a)
        step = self.rules.increment
        maximum = self._maximum(a)
        if maximum is not None:
            if maximum < held:
                raise Failed(a.index, f"the leader's maximum fell from {money(held)}")
            if maximum < bid:
                raise Failed(a.index, f"a maximum of {money(maximum)} answers {money(bid)}")
            if a.amount != min(maximum, bid + step):
                raise Failed(
                    a.index,
                    f"answers {money(bid)} with {money(a.amount)}; a maximum of "
                    f"{money(maximum)} answers with {money(min(maximum, bid + step))}",
                )
        elif not min(held, bid + step) <= a.amount <= bid + step or a.amount < bid:
            raise Failed(a.index, f"answers {money(bid)} with {money(a.amount)}")
        self._place(a)
        self._lead(a.bidder, a.amount, maximum if maximum is not None else a.amount)

    def _retraction(self, e: Entry) -> None:
        """Removes the bidder's remaining bids at or above the amount (the lowest retracted)
        and their maximum; the highest remaining bid leads (on equal amounts the later, a proxy
        answer that met the bid before it) with its owner's remaining maximum."""
        if self.end is not None and e.ends != self.end:
            raise Failed(e.index, "a retraction moved the end")
        if not any(b.bidder == e.bidder and b.amount == e.amount for b in self.bids):
            raise Failed(e.index, f"retracts {money(e.amount)}: no remaining bid of this bidder")
        self.bids = [b for b in self.bids if b.bidder != e.bidder or b.amount < e.amount]
        remaining = [b.amount for b in self.bids if b.bidder == e.bidder]
        self.maxima.pop(e.bidder, None)
        if remaining:
            self.maxima[e.bidder] = max(remaining)
        self.leader = self.price = None
        if self.bids:
            top = max(self.bids, key=lambda b: (b.amount, b.index))
            self._lead(top.bidder, top.amount, top.amount)
        if self.end is None:
            self.end = e.ends


def current_round(entries: Sequence[Entry], go_live: int) -> int:
    """The round the published window belongs to: the last logged one, unless all of its
    bids came before goLiveAt (then an admin reset it since, and the new round has none)."""
    if not entries:
        return 1
    last = entries[-1].round
    if any(e.arrived >= go_live for e in entries if e.round == last):
        return last
    return last + 1


def parse_reveals(reveals: Any) -> dict[str, tuple[str, int]]:
    known: dict[str, tuple[str, int]] = {}
    if not isinstance(reveals, list):
        raise Failed(None, "the close certificate has no list of reveals")
    for reveal in reveals:
        try:
            bidder, maximum, nonce = reveal["bidder"], reveal["max"], reveal["nonce"]
            commit = hashlib.sha256(f"{maximum}|{nonce}".encode()).hexdigest()
            if known.setdefault(commit, (bidder, cents(maximum))) != (bidder, cents(maximum)):
                raise ValueError("one commitment revealed twice")
        except (KeyError, TypeError, ValueError) as error:
            raise Failed(None, f"the close certificate's reveals are malformed: {error}") from None
    return known


def check_outcome(replay: Replay, outcome: Any, last_index: int | None) -> None:
    """The close's winner and price against the replay of the current round. Below the
    reserve there may be no winner (the sale is the seller's decision, after the close)."""
    if not isinstance(outcome, dict):
        raise Failed(None, "the close certificate has no outcome")
    winner, price, met = outcome.get("winner"), outcome.get("price"), outcome.get("reserveMet")
    if met is not None and not replay.rules.reserve:
        raise Failed(None, "the close speaks of a reserve the auction does not have")
    if met is not None and replay.price is not None:
        if met:
            replay.bound_reserve(last_index, met=replay.price)
        else:
            replay.bound_reserve(last_index, above=replay.price)
    try:
        amount = None if price is None else cents(price)
    except ValueError:
        raise Failed(None, f"the close's price is not an amount: {price!r}") from None
    if winner == replay.leader and amount == replay.price:
        return
    if winner is None and met is False and amount in (None, replay.price):
        return
    raise Failed(
        last_index,
        f"the close names {winner} at {price}; the rules give {replay.leader} at "
        f"{money(replay.price)}",
    )


# -- one run -------------------------------------------------------------------------------


def load_state(path: Path) -> dict[str, Any]:
    try:
        state = json.loads(path.read_text())
    except FileNotFoundError:
        return {"keys": {}, "checkpoints": {}}
    except (OSError, ValueError) as error:
        raise Unusable(f"the state file {path} is unreadable: {error}") from None
    state.setdefault("keys", {})
    state.setdefault("checkpoints", {})
    return dict(state)


def save_state(path: Path, state: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(state, indent=1, sort_keys=True) + "\n")
    os.replace(partial, path)


def _at_or_past(index: Any, size: int) -> bool:
    return isinstance(index, int) and index >= size


def fetch_entries(api: Api, auction_id: str, size: int) -> tuple[list[Entry], list[bytes]]:
    entries: list[Entry] = []
    leaves: list[bytes] = []
    while len(entries) < size:
        start = len(entries)
        page = api.json(api.auction + "/ledger", start=start, end=min(start + PAGE, size))
        rows = page.get("entries") if isinstance(page, dict) else None
        if not isinstance(rows, list):
            raise Unusable("the ledger page has no entries list")
        # (a page may run past the checkpoint: what it does not cover waits for the next run)
        rows = [r for r in rows if not (isinstance(r, dict) and _at_or_past(r.get("index"), size))]
        if not rows:
            raise Failed(start, "the log serves no entry at this index")
        for row in rows:
            entry, leaf = parse_entry(len(entries), row, auction_id)
            entries.append(entry)
            leaves.append(leaf)
    return entries, leaves


def locate(api: Api, leaves: Sequence[bytes], checkpoint: Checkpoint) -> int | None:
    """The first index whose leaf is not the signed tree's, as the platform's own audit paths
    show it: the left siblings on the path of the last leaf tile everything before it, so
    comparing them with the local leaves narrows the search to one perfect subtree, then to
    one of its halves' subtrees, and so on (O(log n) paths)."""
    low, high, size = 0, checkpoint.size, checkpoint.size
    while True:
        target = high - 1
        path = api.path("/ledger/proof", index=target, size=size)
        ranges = inclusion_ranges(target, size)
        if len(path) != len(ranges):
            return None
        lefts = sorted((r, p) for r, p in zip(ranges, path, strict=True) if r[1] <= target)
        for (start, end), hash_ in lefts:
            if end > low and range_hash(leaves, start, end) != hash_:
                if end - start == 1:
                    return start
                low, high = start, end
                break
        else:
            path_ok = root_from_inclusion(leaves[target], target, size, path) == checkpoint.root
            return None if path_ok else target


def verify(base: str, auction_id: str, state_path: Path, proofs: int = 16) -> str:
    api = Api(base, auction_id)
    published = api.json("/api/ledger/key")
    try:
        key = Key.parse(published["vkey"])
        if published["keyName"] != key.name or b64(published["publicKey"]) != key.public:
            raise ValueError("keyName and publicKey are not the vkey's")
    except (KeyError, TypeError, ValueError) as error:
        raise Failed(None, f"the published key: {error}") from None
    state = load_state(state_path)

    auction = api.json(api.auction)
    if not isinstance(auction, dict):
        raise Unusable("the auction is not a JSON object")
    rules = Rules.of(auction)
    close = api.close()
    if close is not None and not isinstance(close, dict):
        raise Unusable("the close certificate is not a JSON object")
    note = close.get("checkpoint") if close is not None else api.checkpoint()
    try:
        checkpoint = open_checkpoint(note if isinstance(note, str) else "", key)
    except ValueError as error:
        raise Failed(None, f"the checkpoint: {error}") from None
    if not checkpoint.origin.endswith(f"/auctions/{auction_id}"):
        raise Failed(None, f"the checkpoint is of another log: {checkpoint.origin}")
    # (a key kept per log: the same platform may well use another key for a later auction)
    pinned = state["keys"].get(checkpoint.origin)
    if pinned not in (None, published["vkey"]):
        raise Failed(None, f"this log's signing key changed since an earlier run (was {pinned})")

    entries, leaves = fetch_entries(api, auction_id, checkpoint.size)
    seen = state["checkpoints"].get(checkpoint.origin, [])
    earlier = {int(c["size"]): b64(c["root"], 32) for c in seen}
    shrunk = [size for size in earlier if size > checkpoint.size]
    if shrunk:
        raise Failed(None, f"the log had {max(shrunk)} entries before, now {checkpoint.size}")
    roots = roots_at(leaves, {checkpoint.size, *earlier})
    if roots[checkpoint.size] != checkpoint.root:
        bad = locate(api, leaves, checkpoint)
        raise Failed(bad, "the entries do not make the signed root (an entry changed or moved)")
    for size, root in sorted(earlier.items()):
        if roots[size] != root:
            raise Failed(None, f"the first {size} entries are not the ones signed before")
    if earlier and max(earlier) < checkpoint.size:
        old = max(earlier)
        path = api.path("/ledger/consistency", **{"from": old, "to": checkpoint.size})
        if not consistent(old, checkpoint.size, earlier[old], checkpoint.root, path):
            raise Failed(None, f"the consistency proof from {old} entries does not verify")

    # Every entry is in the tree already (its root is the signed one); the platform's own
    # proofs are checked on a sample, for whoever relies on them without the whole log.
    sample = random.sample(range(checkpoint.size), min(proofs, checkpoint.size))
    picked = sorted({0, checkpoint.size - 1, *sample}) if checkpoint.size else []
    for index in picked:
        path = api.path("/ledger/proof", index=index, size=checkpoint.size)
        if root_from_inclusion(leaves[index], index, checkpoint.size, path) != checkpoint.root:
            raise Failed(index, "its inclusion proof does not lead to the signed root")

    reveals = parse_reveals(close.get("reveals")) if close is not None else None
    replay = Replay(rules, reveals, current_round(entries, rules.go_live))
    replay.run(entries)
    last = entries[-1].index if entries else None
    if close is not None:
        check_outcome(replay, close.get("outcome"), last)
        shown = auction.get("endsAt")
        if replay.end is not None and isinstance(shown, str) and ms(shown) != replay.end:
            raise Failed(last, f"the auction shows endsAt {shown}; its log ends {iso(replay.end)}")

    state["keys"][checkpoint.origin] = published["vkey"]
    sizes = sorted({*earlier, checkpoint.size})
    state["checkpoints"][checkpoint.origin] = [
        {"size": s, "root": base64.b64encode(roots[s]).decode()} for s in sizes
    ]
    save_state(state_path, state)
    where = (
        f"ended: winner {replay.leader} at {money(replay.price)}"
        if close is not None
        else f"live: highest {replay.leader} at {money(replay.price)}"
    )
    rounds = len({e.round for e in entries})
    return (
        f"{checkpoint.size} entries ({rounds} round(s)) signed by {key.name}, root "
        f"{base64.b64encode(checkpoint.root).decode()}; {len(picked)} inclusion proofs; "
        f"consistent with {len(earlier)} earlier checkpoint(s); rules replayed, {where}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m verify_auction",
        description="Verify an auction's public bid log: signatures, the Merkle tree, "
        "consistency with earlier runs, and the bid rules replayed to the outcome.",
    )
    parser.add_argument("api", help="the API's base URL, e.g. https://auctions.example")
    parser.add_argument("auction_id")
    parser.add_argument("--state", type=Path, default=DEFAULT_STATE, help="checkpoints seen")
    parser.add_argument(
        "--proofs",
        type=int,
        default=16,
        help="how many of the platform's inclusion proofs "
        "to check besides the first and last (every entry is checked against the root anyway)",
    )
    args = parser.parse_args(argv)
    try:
        summary = verify(args.api, args.auction_id, args.state, max(0, args.proofs))
    except ValueError as error:  # a malformed field the checks above did not name
        print(f"NOT verified: {error}")
        return 1
    except Failed as failure:
        print(f"NOT verified: {failure}")
        return 1
    except Unusable as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"verified: {summary}")
    return 0
