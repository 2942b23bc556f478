"""Sniping burst: hundreds of bidders fire in the last two seconds of one
live auction (soft close off), through the local HTTP stack (`infra.api_server`, one worker
per core, and the bridge), while watchers follow the room over WebSocket on a socket node.

- The auction is live with its end a few seconds away, so the watchers can join and the
  bidders connect (one keep-alive connection each) before the burst.
- Each bidder fires BIDS_EACH bids at moments drawn toward the end (2 s before it times u²,
  u uniform: a fifth of the bids in the last 100 ms, as snipers do), and a few land just after
  it. A bidder bids the last `minNextBid` it heard (plus 0-10 increments), one request at a
  time on its connection: a bid whose moment came while the previous one was in flight leaves
  when that one is answered. Each bid's departure is the wall clock just before its bytes are
  written.
- Judged on the rules: a bid that left >= MARGIN_MS before endsAt by the server's clock (one
  machine: the bench's clock is Redis's) must never be refused `auction_not_live`. The
  bidders are on this machine, so the one-way network time is ~0.
- Bid -> every watcher: for each accepted bid, the time from its `createdAt` (Redis's clock
  when the script accepted it, ms resolution) until the last watcher received it; p99 over
  the accepted bids. The watchers are bench/fanout.py's minimal clients (arrival stamped
  before any parsing).

`python -m bench --only sniping` runs it alone.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import random
import statistics
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson

from bench import fanout
from bench.fixtures import WORKERS, log
from bench.loadgen import Connection
from infra.embedded import free_port
from infra.stack import Stack
from shared.adapters.db import Database, make_engine
from shared.adapters.orm import Auction

SNIPERS = int(os.environ.get("BENCH_SNIPERS", "300"))
WATCHERS = int(os.environ.get("BENCH_SNIPE_WATCHERS", "500"))
BIDS_EACH = int(os.environ.get("BENCH_SNIPE_BIDS_EACH", "2"))
WINDOW_MS = 2_000.0  # the burst: the last two seconds
AFTER_MS = 50.0  # some bids are drawn to leave up to this long after endsAt
MARGIN_MS = 20.0  # a bid that left this long before endsAt is judged on the rules
LEAD_S = 20.0  # endsAt this far after the auction is made: watchers join, bidders connect
BIDDER_PROCESSES = 2
WATCHER_PROCESSES = 2


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 2) if ordered else 0.0


# -- the bidders (in child processes) ---------------------------------------------------------


async def _snipe(
    host: str,
    port: int,
    path: str,
    tokens: list[str],
    ends_at: float,
    seed: int,
    ready: Any,
) -> list[tuple[float, float, int, bytes]]:
    """Each bidder's bids: (left at, answered at, status, body), wall-clock seconds."""
    rng = random.Random(seed)
    step = Decimal("1.00")
    sent: list[tuple[float, float, int, bytes]] = []
    connections = [Connection(host, port, path, token) for token in tokens]
    for connection in connections:
        connection.reader, connection.writer = await asyncio.open_connection(host, port)
    # Each bidder has been on the page a while: one bid well under the start price earlier
    # (refused), so the burst does not also measure first contacts (a server thread, its
    # pool connections).
    for connection in connections:
        await connection.post(b'{"amount":"0.01"}')
    ready.put(time.time())

    async def bidder(connection: Connection) -> None:
        next_min = Decimal("1.00")
        for moment in bid_moments(rng, ends_at):
            await asyncio.sleep(max(0.0, moment - time.time()))
            amount = next_min + step * rng.randint(0, 10)
            left = time.time()
            status, payload = await connection.post(b'{"amount":"%s"}' % str(amount).encode())
            sent.append((left, time.time(), status, payload))
            try:
                body = orjson.loads(payload)
            except orjson.JSONDecodeError:
                continue
            if isinstance(body, dict) and "minNextBid" in body:
                next_min = Decimal(body["minNextBid"])
        if connection.writer is not None:
            connection.writer.close()

    await asyncio.gather(*(bidder(c) for c in connections))
    return sent


def _bidder_process(
    host: str,
    port: int,
    path: str,
    tokens: list[str],
    ends_at: float,
    seed: int,
    ready: Any,
    queue: Any,
) -> None:
    try:
        import uvloop

        queue.put(uvloop.run(_snipe(host, port, path, tokens, ends_at, seed, ready)))
    except ImportError:
        queue.put(asyncio.run(_snipe(host, port, path, tokens, ends_at, seed, ready)))


# -- the driver -------------------------------------------------------------------------------


def _ending_auction(database_url: str, seller: uuid.UUID, ends_in_s: float) -> tuple[str, float]:
    """A live auction without a soft close, ending `ends_in_s` from now (whole ms, as Redis
    keeps it). Returns its id and endsAt (epoch seconds)."""
    db = Database(make_engine(database_url, pool_size=0))
    now = datetime.now(UTC)
    ends_at = (now + timedelta(seconds=ends_in_s)).replace(microsecond=0)
    with db.session() as session:
        auction = Auction(
            id=uuid.uuid4(),
            seller_id=seller,
            item_name="Sniped lot",
            description="",
            start_price=Decimal("1.00"),
            bid_increment=Decimal("1.00"),
            go_live_at=ends_at - timedelta(minutes=5),
            duration_mins=5,
            ends_at=ends_at,
            status="live",
            round=1,
            soft_close_secs=None,
        )
        session.add(auction)
        auction_id = str(auction.id)
    db.dispose()
    return auction_id, ends_at.timestamp()


def bid_moments(rng: random.Random, ends_at: float) -> list[float]:
    """One sniper's BIDS_EACH moments (epoch s), drawn toward the end: within WINDOW_MS
    before it, some up to AFTER_MS after it."""
    return sorted(
        ends_at - ((WINDOW_MS + AFTER_MS) * rng.random() ** 2 - AFTER_MS) / 1000
        for _ in range(BIDS_EACH)
    )


def join_watchers(
    socket_port: int, auction_id: str, watchers: int, ends_at: float, children: list[Any]
) -> list[Any]:
    """`watchers` WebSocket clients in the auction's room, over WATCHER_PROCESSES processes
    (added to `children`), all joined before the burst begins; the pipes to ask them for
    their report."""
    spawn = multiprocessing.get_context("spawn")
    pipes = []
    for i in range(WATCHER_PROCESSES):
        share = watchers // WATCHER_PROCESSES + (1 if i < watchers % WATCHER_PROCESSES else 0)
        mine, theirs = spawn.Pipe()
        child = spawn.Process(
            target=fanout._client_process,
            args=("127.0.0.1", socket_port, auction_id, share, theirs),
            daemon=True,
        )
        child.start()
        children.append(child)
        pipes.append(mine)
    for pipe in pipes:
        if not pipe.poll(max(1.0, ends_at - time.time() - WINDOW_MS / 1000 - 1)):
            raise TimeoutError("the watchers did not join before the burst")
        assert pipe.recv() == "ready"
    return pipes


def run(
    database_url: str,
    redis_url: str,
    tokens: list[str],
    seller: uuid.UUID,
    *,
    snipers: int = SNIPERS,
    watchers: int = WATCHERS,
) -> dict[str, Any]:
    log(f"\n== sniping burst: {snipers} bidders in the last 2 s, {watchers} watchers ==")
    snipers = min(snipers, len(tokens))
    stack = Stack(
        database_url=database_url,
        redis_url=redis_url,
        api_port=free_port(),
        socket_port=free_port(),
        bridge_port=free_port(),
        quiet=True,
        workers=WORKERS,
        extra_env={"APP_ENV": "test", "LOG_LEVEL": "WARNING"},
    )
    spawn = multiprocessing.get_context("spawn")
    children: list[Any] = []
    try:
        stack.start()
        auction_id, ends_at = _ending_auction(database_url, seller, LEAD_S)
        # The watchers join first (the first join seeds the auction's Redis state).
        pipes = join_watchers(stack.socket_port, auction_id, watchers, ends_at, children)
        queue, ready = spawn.Queue(), spawn.Queue()
        bidders = []
        path = f"/api/auctions/{auction_id}/bids"
        for i in range(BIDDER_PROCESSES):
            share = tokens[:snipers][i::BIDDER_PROCESSES]
            process = spawn.Process(
                target=_bidder_process,
                args=("127.0.0.1", stack.api_port, path, share, ends_at, i, ready, queue),
                daemon=True,
            )
            process.start()
            bidders.append(process)
        spare_s = min(ends_at - ready.get(timeout=LEAD_S) for _ in bidders) - WINDOW_MS / 1000
        log(f"  bidders connected and warm {spare_s:.1f} s before the burst")
        if spare_s < 0:
            raise RuntimeError("the bidders were not ready before the burst: raise LEAD_S")
        bids: list[tuple[float, float, int, bytes]] = []
        for _ in bidders:
            bids += queue.get(timeout=ends_at - time.time() + 120)
        for process in bidders:
            process.join(30)
        time.sleep(1.0)  # the last fan-outs land (the watchers wait up to 10 s more for them)
        accepted = sum(1 for _, _, status, _ in bids if status == 201)
        for pipe in pipes:
            pipe.send(("report", accepted))
        arrivals: dict[str, list[float]] = {}
        for pipe in pipes:
            if not pipe.poll(120):
                raise TimeoutError("the watchers did not report in time")
            report = pipe.recv()
            for bid_id, arrived in report["received"]:
                arrivals.setdefault(bid_id, []).append(arrived)
        return _figures(bids, arrivals, ends_at, snipers, watchers)
    finally:
        for child in children:
            child.join(30)
            if child.is_alive():
                child.kill()
        stack.stop()


def _figures(
    bids: list[tuple[float, float, int, bytes]],
    arrivals: dict[str, list[float]],
    ends_at: float,
    snipers: int,
    watchers: int,
) -> dict[str, Any]:
    codes: Counter[str] = Counter()
    early_not_live: list[float] = []  # how long before endsAt each such bid left, ms
    created: dict[str, float] = {}
    latencies = []
    for left, answered, status, payload in bids:
        latencies.append((answered - left) * 1000)
        try:
            body = orjson.loads(payload)
        except orjson.JSONDecodeError:
            body = {}
        if status == 201:
            codes["accepted"] += 1
            moment = datetime.fromisoformat(body["createdAt"].replace("Z", "+00:00"))
            created[body["id"]] = moment.timestamp()
            continue
        code = body.get("code", str(status)) if isinstance(body, dict) else str(status)
        codes[code] += 1
        before_ms = (ends_at - left) * 1000
        if code == "auction_not_live" and before_ms >= MARGIN_MS:
            early_not_live.append(round(before_ms, 1))
    sent_before = sum(1 for left, *_ in bids if left < ends_at)
    # Bid -> every watcher: the last watcher's arrival, per accepted bid.
    to_all = []
    to_each = []
    short = 0
    for bid_id, at in created.items():
        got = arrivals.get(bid_id, [])
        if len(got) < watchers:
            short += 1
        if got:
            to_all.append((max(got) - at) * 1000)
            to_each += [(t - at) * 1000 for t in got]
    window = [left for left, *_ in bids]
    figures = {
        "bidders": snipers,
        "watchers": watchers,
        "bids_sent": len(bids),
        "bids_sent_before_ends_at": sent_before,
        "sent_in_last_100ms": sum(1 for w in window if 0 <= ends_at - w < 0.1),
        "outcomes": dict(sorted(codes.items())),
        "early_refused_not_live": len(early_not_live),
        "early_refused_not_live_ms_before_end": sorted(early_not_live, reverse=True)[:10],
        "margin_ms": MARGIN_MS,
        "bid_latency": {
            "p50_ms": _pct(latencies, 0.5),
            "p99_ms": _pct(latencies, 0.99),
            "max_ms": round(max(latencies), 2) if latencies else 0.0,
        },
        "bid_to_all_watchers": {
            "p50_ms": _pct(to_all, 0.5),
            "p99_ms": _pct(to_all, 0.99),
            "max_ms": round(max(to_all), 2) if to_all else 0.0,
        },
        "bid_to_each_watcher": {
            "p50_ms": _pct(to_each, 0.5),
            "p99_ms": _pct(to_each, 0.99),
            "mean_ms": round(statistics.fmean(to_each), 2) if to_each else 0.0,
        },
        "accepted_bids_not_seen_by_every_watcher": short,
    }
    log(f"  {figures}")
    return figures
