"""The public bid log of a 10,000-entry auction: proof sizes and the standalone verifier's time.

The auction is played by `judge_bid` (bidders with plain bids and maxima, proxy answers) and
published as the platform publishes it, by the ledger's pure functions: the canonical entries,
the tree's stored nodes (compact-range appends), signed checkpoints, proofs read from the
stored nodes, the close certificate with the maxima revealed. A small HTTP server serves it on
the routes of the public API, and `verify_auction` (the program anyone can run) checks it all:
every entry against the signed root, a sample of inclusion proofs, and the rules replayed to
the outcome. Measured: the inclusion and consistency proof sizes, the stored nodes a proof
reads, the append cost, and the verifier's wall time (median of 3, fresh state each).

`AuctionLog` and `serve` are also the verifier tests' input (tests/verify_auction): data the
pure functions built, served as the routes serve it, not a stand-in for the product's logic.

`python -m bench --only ledger` runs it with the rest of the wiring.
"""

from __future__ import annotations

import base64
import hashlib
import json
import multiprocessing
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from shared.adapters.ledger_signer import LedgerSigner
from shared.domain.bidding import (
    Accepted,
    AuctionRules,
    Book,
    Leader,
    Offer,
    Refused,
    is_open,
    judge_bid,
    reserve_met,
)
from shared.domain.ledger.entries import (
    PlacedEntry,
    decimal_text,
    iso_ms,
    ledger_entries,
    placed_from_accepted,
    pseudonym,
)
from shared.domain.ledger.merkle import (
    CompactRange,
    NodeId,
    consistency_proof,
    inclusion_nodes,
    inclusion_proof,
)
from shared.domain.ledger.notes import Checkpoint, checkpoint_origin
from shared.domain.vocabulary import AuctionStatus

ENTRIES = 10_000
PAGE = 1000
# A fixed development key: the bench's and the tests' logs are signed, not secret.
SEED = base64.b64encode(hashlib.sha256(b"ledger bench key").digest()).decode()


@dataclass
class AuctionLog:
    """One auction, its offers judged by `judge_bid`, its log kept as the platform keeps it:
    `rows` (the entries as stored and served), `nodes` (the tree's perfect subtrees by
    (level, index)), `edge` (the compact range), and every maximum set (for the reveals)."""

    auction_id: str
    rules: AuctionRules
    go_live_ms: int
    duration_mins: int
    signer: LedgerSigner = field(default_factory=lambda: LedgerSigner(SEED, "auctions.test"))
    host: str = "auctions.test"
    secret: bytes = b"the auction's pseudonym secret"
    grace_ms: int = 0  # LATE_BID_GRACE_MS: a bid that arrived in time may be judged this late
    round: int = 1
    ended: bool = False
    rows: list[dict[str, Any]] = field(default_factory=list)
    nodes: dict[NodeId, bytes] = field(default_factory=dict)
    edge: CompactRange = field(default_factory=CompactRange)
    maxima: set[tuple[int, str, int]] = field(default_factory=set)  # (round, user, max)
    answers: set[int] = field(default_factory=set)  # the indices of proxy answers
    # This round's placed bids still standing (index, user, amount), and each bidder's last
    # maximum: what a retraction recomputes the leader from.
    standing: list[tuple[int, str, int]] = field(default_factory=list)
    proxies: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ends = self.go_live_ms + self.duration_mins * 60_000
        self.book = Book(self.rules, AuctionStatus.LIVE, self.go_live_ms, ends, None, self.grace_ms)

    def nonce(self, user_id: str, maximum: int, round: int | None = None) -> str:
        """The nonce of a maximum set in a round (random in the product, one per maximum set;
        derived here, so that runs replay)."""
        text = f"{self.auction_id}|{round or self.round}|{user_id}|{maximum}"
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def _append(self, placed: list[PlacedEntry]) -> None:
        for entry, one in zip(
            ledger_entries(self.auction_id, self.edge.size, placed, self.secret),
            placed,
            strict=True,
        ):
            self.rows.append(
                {
                    "index": entry.index,
                    "entry": entry.text,
                    "leafHash": base64.b64encode(entry.leaf_hash).decode(),
                }
            )
            self.edge, stored = self.edge.append(entry.leaf_hash)
            self.nodes.update((node.id, node.hash) for node in stored)
            if one.kind != "retraction":
                self.standing.append((entry.index, one.user_id, one.amount))

    def offer(self, offer: Offer) -> Accepted | Refused:
        result = judge_bid(self.book, offer)
        if isinstance(result, Refused):
            return result
        if offer.is_max and not result.buy_now:
            self.maxima.add((self.round, offer.user_id, offer.amount))
            self.proxies[offer.user_id] = offer.amount
        if len(result.bids) == 2:  # a bid and the leader's answer to it
            self.answers.add(self.edge.size + 1)
        self._append(
            placed_from_accepted(
                offer,
                result,
                nonce_of=self.nonce,
                round=self.round,
            )
        )
        self.book = result.book
        return result

    def retract(self, user_id: str, now_ms: int, latest_only: bool = False) -> bool:
        """The retraction rules: the bidder's standing bids at or above the amount go, with
        their maximum; the highest standing bid leads (the later on equal amounts) with its
        owner's remaining maximum."""
        mine = [amount for _, user, amount in self.standing if user == user_id]
        if not mine or not is_open(self.book, now_ms):
            return False
        amount = max(mine) if latest_only else min(mine)
        self.standing = [s for s in self.standing if s[1] != user_id or s[2] < amount]
        self.proxies.pop(user_id, None)
        self._append(
            [PlacedEntry("retraction", user_id, amount, now_ms, now_ms, self.book.ends_ms,
                         round=self.round)]
        )  # fmt: skip
        leader = None
        if self.standing:
            _, user, price = max(self.standing, key=lambda s: (s[2], s[0]))
            highest = max(a for _, u, a in self.standing if u == user)
            leader = Leader(user, price, max(highest, self.proxies.get(user, 0)), now_ms)
        self.book = replace(self.book, leader=leader)
        return True

    def reset(self, go_live_ms: int) -> None:
        """An admin's reset: a new round, earlier bids void, the log goes on."""
        self.round += 1
        self.go_live_ms = go_live_ms
        self.standing, self.proxies = [], {}
        ends = go_live_ms + self.duration_mins * 60_000
        self.book = Book(self.rules, AuctionStatus.SCHEDULED, go_live_ms, ends, None, self.grace_ms)

    # -- what the routes serve --------------------------------------------------------------

    @property
    def origin(self) -> str:
        return checkpoint_origin(self.host, self.auction_id)

    def read(self, ids: Collection[NodeId]) -> Mapping[NodeId, bytes]:
        return {node: self.nodes[node] for node in ids if node in self.nodes}

    def checkpoint(self) -> str:
        return self.signer.sign_checkpoint(
            # (the tree's own size: the entries are rows of their own, which may be tampered)
            Checkpoint(self.origin, self.edge.size, self.edge.root())
        )

    def auction(self) -> dict[str, Any]:
        rules, leader = self.rules, self.book.leader
        status = "live"
        if self.book.status == AuctionStatus.SOLD:
            status = "sold"
        elif self.ended:
            status = "ended"
        doc: dict[str, Any] = {
            "id": self.auction_id,
            "startPrice": decimal_text(rules.start_price),
            "bidIncrement": decimal_text(rules.increment),
            "goLiveAt": iso_ms(self.go_live_ms),
            "durationMins": self.duration_mins,
            "endsAt": iso_ms(self.book.ends_ms),
            "status": status,
        }
        if rules.reserve is not None:
            doc["reserveMet"] = reserve_met(rules, leader)
        if rules.buy_now is not None:
            doc["buyNowPrice"] = decimal_text(rules.buy_now)
        if rules.soft_close_s:
            doc["softCloseSecs"] = rules.soft_close_s
        return doc

    def close(self) -> dict[str, Any] | None:
        if not (self.ended or self.book.status == AuctionStatus.SOLD):
            return None
        leader = self.book.leader
        return {
            "checkpoint": self.checkpoint(),
            "outcome": {
                "winner": pseudonym(self.secret, leader.user_id) if leader else None,
                "price": decimal_text(leader.amount) if leader else None,
                "reserveMet": reserve_met(self.rules, leader),
            },
            "reveals": [
                {
                    "bidder": pseudonym(self.secret, user),
                    "max": decimal_text(maximum),
                    "nonce": self.nonce(user, maximum, round),
                }
                for round, user, maximum in sorted(self.maxima)
            ],
        }

    def answer(self, path: str, query: dict[str, int]) -> tuple[int, str, bytes]:
        """(status, content type, body) of one GET, as the public routes answer it."""
        base = f"/api/auctions/{self.auction_id}"
        size = self.edge.size
        if path == "/api/ledger/key":
            return _json(self.signer.key_document())
        if path == base:
            return _json(self.auction())
        if path == base + "/ledger":
            start = query.get("start", 0)
            end = min(query.get("end", size), start + PAGE)
            return _json({"entries": self.rows[start:end], "size": size})
        if path == base + "/ledger/checkpoint":
            return 200, "text/plain; charset=utf-8", self.checkpoint().encode()
        if path == base + "/ledger/proof":
            index, at = query.get("index", -1), query.get("size", size)
            if not 0 <= index < at <= size:
                return _json({"code": "validation_error"}, 422)
            path_ = inclusion_proof(index, at, self.read)
            return _json({"index": index, "size": at, "path": _b64(path_)})
        if path == base + "/ledger/consistency":
            old, new = query.get("from", -1), query.get("to", size)
            if not 0 <= old <= new <= size:
                return _json({"code": "validation_error"}, 422)
            path_ = consistency_proof(old, new, self.read)
            return _json({"from": old, "to": new, "path": _b64(path_)})
        if path == base + "/ledger/close":
            close = self.close()
            return _json(close) if close else _json({"code": "auction_not_ended"}, 409)
        return _json({"code": "not_found"}, 404)


def _b64(hashes: list[bytes]) -> list[str]:
    return [base64.b64encode(h).decode() for h in hashes]


def _json(document: Any, status: int = 200) -> tuple[int, str, bytes]:
    return status, "application/json", json.dumps(document).encode()


@contextmanager
def serve(log: AuctionLog) -> Iterator[str]:
    """The log on the public routes, on a local port: yields the base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {k: int(v[0]) for k, v in parse_qs(url.query).items()}
            status, kind, body = log.answer(url.path, query)
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def big_auction(entries: int = ENTRIES, seed: int = 7) -> AuctionLog:
    """An ended auction of at least `entries` entries: 200 bidders, a third of their offers
    maxima, the rest plain bids at or a little above the lowest allowed."""
    rng = random.Random(seed)
    go_live = 1_790_000_000_000
    rules = AuctionRules(start_price=1_000, increment=100, soft_close_s=120, seller_id="seller")
    log = AuctionLog("6f1d3c52-9a4e-4c1b-8f0e-2d7b5a9c8e41", rules, go_live, duration_mins=600)
    now = go_live
    while len(log.rows) < entries:
        now += rng.randint(1, 300)
        user = f"bidder-{rng.randrange(200)}"
        leader = log.book.leader
        floor = log.rules.start_price if leader is None else leader.amount + rules.increment
        if rng.random() < 0.34:
            log.offer(Offer(user, floor + rng.randrange(0, 2_000), True, now))
        else:
            log.offer(Offer(user, floor + rng.choice((0, 0, 100, 250)), False, now))
    log.ended = True
    return log


def _serve_big_auction(queue: Any) -> None:
    log = big_auction()
    with serve(log) as base:
        queue.put((base, log.auction_id))
        threading.Event().wait()  # until the bench ends this process


@contextmanager
def big_auction_served() -> Iterator[tuple[str, str]]:
    """The big auction on its own process, so that serving it takes nothing from the
    verifier's process (as for a real verifier, whose server is elsewhere)."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_serve_big_auction, args=(queue,), daemon=True)
    process.start()
    try:
        yield queue.get(timeout=300)
    finally:
        process.terminate()
        process.join()


def api_cpu_per_bid_us(bids: int = 20_000) -> float:
    """What the ledger adds to a bid's CPU in the API process, in µs: the script's record read
    into its entries (canonical JSON, the bidder's pseudonym, the leaf hash) and the receipt
    signed, as `bidding.place_bid` does for every bid; a third of the bids are a proxy's
    answered bid (two entries, a commitment each). Median of 5 runs of `bids`."""
    from shared.adapters.redis_records import BidRecord
    from shared.services import receipts
    from shared.settings import load_settings

    settings = load_settings(LEDGER_SIGNING_KEY=SEED)
    auction_id = "6f1d3c52-9a4e-4c1b-8f0e-2d7b5a9c8e41"
    secret = hashlib.sha256(b"bench secret").hexdigest()
    records = []
    for i in range(300):
        rows: list[dict[str, Any]] = [
            {"id": f"b-{i}", "bidderId": f"user-{i % 17}", "amount": 10_000 + i * 100,
             "isProxy": False, "seq": i + 1, "index": 2 * i}
        ]  # fmt: skip
        if i % 3 == 0:
            rows.append(
                {"id": f"a-{i}", "bidderId": "user-99", "amount": 10_100 + i * 100,
                 "isProxy": True, "seq": i + 2, "index": 2 * i + 1, "max": 99_900,
                 "nonce": hashlib.md5(str(i).encode()).hexdigest()}
            )  # fmt: skip
        records.append(
            {"auctionId": auction_id, "round": 1, "bids": rows, "at": 1_790_000_000_000 + i,
             "arrivedAt": 1_790_000_000_000 + i, "endsAt": 1_790_003_600_000,
             "ledgerSecret": secret, "sellerId": "seller"}
        )  # fmt: skip
    receipts.signer(settings)  # the key is read once per process
    parsed = [BidRecord.from_dict(r) for r in records]  # (the bid path reads it anyway)
    runs = []
    for _ in range(5):
        started = time.process_time()
        for n in range(bids):
            record = parsed[n % len(parsed)]
            entries = receipts.entries_of(record)
            receipts.receipt(settings, record.auction_id, entries[0])
        runs.append((time.process_time() - started) / bids * 1e6)
    return round(statistics.median(runs), 1)


def run() -> dict[str, Any]:
    from verify_auction import inclusion_ranges, root_from_inclusion, verify

    api_cpu_us = api_cpu_per_bid_us()

    started = time.perf_counter()
    leaves = [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(ENTRIES)]
    edge = CompactRange()
    for leaf in leaves:
        edge, _ = edge.append(leaf)
    append_us = (time.perf_counter() - started) / ENTRIES * 1e6

    log = big_auction()
    size = len(log.rows)
    sample = range(0, size, 97)
    proofs = {i: inclusion_proof(i, size, log.read) for i in sample}
    reads = max(len(inclusion_nodes(i, size)) for i in sample)
    consistency = max(len(consistency_proof(m, size, log.read)) for m in range(1, size, 101))
    assert all(len(p) == len(inclusion_ranges(i, size)) for i, p in proofs.items())

    all_paths = [inclusion_proof(i, size, log.read) for i in range(size)]
    leaf_hashes = [base64.b64decode(row["leafHash"]) for row in log.rows]
    started = time.perf_counter()
    root = log.edge.root()
    assert all(
        root_from_inclusion(leaf_hashes[i], i, size, all_paths[i]) == root for i in range(size)
    )
    every_proof_s = time.perf_counter() - started

    wall, cpu = [], []
    with big_auction_served() as (base, auction_id), tempfile.TemporaryDirectory() as state:
        for n in range(3):
            started, used = time.perf_counter(), time.process_time()
            summary = verify(base, auction_id, Path(state) / f"{n}.json")
            wall.append(time.perf_counter() - started)
            cpu.append(time.process_time() - used)
    return {
        "entries": size,
        "api_cpu_us_per_bid": api_cpu_us,
        "inclusion_proof_hashes_max": max(len(p) for p in proofs.values()),
        "inclusion_proof_node_reads_max": reads,
        "consistency_proof_hashes_max": consistency,
        "append_us_per_leaf": round(append_us, 1),
        "verify_s": round(statistics.median(wall), 3),
        "verify_cpu_s": round(statistics.median(cpu), 3),
        "every_inclusion_proof_checked_s": round(every_proof_s, 3),
        "summary": summary,
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
