"""Fan-out: bid accepted -> client received, for 1,000 and 10,000 WebSocket clients in one
room, and the socket node's memory per idle connection; and 10,000
clients in one room split over two socket nodes (`run_two_nodes`): every node follows the same
Redis feed, so a bid reaches both halves of the room with nothing sent node to node.

- One real socket node process (`python -m socket_node`, as deployed) on real Redis and
  PostgreSQL; the clients are spread over several processes so the client side is not what
  saturates. Each client is a minimal RFC 6455 client on a raw asyncio protocol that stamps
  every frame with the wall clock the moment its bytes arrive (`data_received`), before any
  parsing, and answers the node's pings.
- Bids go through the real bid path (`shared.services.bidding.place_bid`: the Lua script
  judges the bid and writes the room stream and the feed); the node reads the feed with
  XREAD BLOCK and fans out with websockets.broadcast.
- Latency = receive time - the bid's `createdAt`, which is Redis's clock when the script
  accepted the bid (millisecond resolution, so figures carry up to 1 ms of rounding up).
  Everything runs on this one machine, so both clocks are the same clock.
- Memory per idle connection = (node RSS with N clients joined and idle - RSS before they
  connected) / N, from /proc/<pid>/status (VmRSS), after the node settled.

`run(database_url=..., redis_url=...)` is what `make bench` calls; `python -m bench.fanout`
runs it alone (embedded PostgreSQL and Redis unless DATABASE_URL / REDIS_URL are set).
The database must be migrated; users and an auction are added to it.
"""

from __future__ import annotations

import asyncio
import base64
import multiprocessing
import os
import statistics
import struct
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson

SIZES = (1_000, 10_000)
BIDS = 20
BID_EVERY_S = 0.25
CLIENT_PROCESSES = 4
CONNECT_CONCURRENCY = 100
REPORT_GRACE_S = 10.0


# -- the client side (in child processes) ------------------------------------------------------


class BenchClient(asyncio.Protocol):
    """A WebSocket client that does the least possible: handshake, one join, answer pings,
    and keep (arrival time, frame) for every text frame. While measuring (`lazy`), arriving
    bytes are only stamped and kept; frames are parsed later, so the clients' own parsing does
    not compete with the node for the CPU at the moment being measured."""

    def __init__(self, path: str, host: str, join: bytes, ready: asyncio.Future[None]) -> None:
        self.path, self.host, self.join_message = path, host, join
        self.ready = ready
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.handshaken = False
        self.lazy = False
        self.chunks: list[tuple[float, bytes]] = []
        self.frames: list[tuple[float, bytes]] = []
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(  # type: ignore[attr-defined]
            (
                f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )

    def send(self, opcode: int, payload: bytes) -> None:
        assert self.transport is not None
        mask = os.urandom(4)
        size = len(payload)
        if size < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | size)
        elif size < 65536:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, size)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, size)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.transport.write(header + mask + masked)

    def data_received(self, data: bytes) -> None:
        now = time.time()
        if self.lazy:
            self.chunks.append((now, data))
            return
        self.parse(now, data)

    def catch_up(self) -> None:
        """Parse what arrived while lazy (answering pings on the way)."""
        chunks, self.chunks = self.chunks, []
        for arrived, data in chunks:
            self.parse(arrived, data)

    def parse(self, arrived: float, data: bytes) -> None:
        self.buffer += data
        if not self.handshaken:
            head, sep, rest = self.buffer.partition(b"\r\n\r\n")
            if not sep:
                return
            if not head.startswith(b"HTTP/1.1 101"):
                if not self.ready.done():
                    self.ready.set_exception(RuntimeError(head[:80].decode(errors="replace")))
                return
            self.handshaken = True
            self.buffer = rest
            self.send(0x1, self.join_message)
        while len(self.buffer) >= 2:
            first, second = self.buffer[0], self.buffer[1]
            size, offset = second & 0x7F, 2
            if size == 126:
                if len(self.buffer) < 4:
                    return
                size, offset = struct.unpack("!H", self.buffer[2:4])[0], 4
            elif size == 127:
                if len(self.buffer) < 10:
                    return
                size, offset = struct.unpack("!Q", self.buffer[2:10])[0], 10
            if len(self.buffer) < offset + size:
                return
            payload = self.buffer[offset : offset + size]
            self.buffer = self.buffer[offset + size :]
            opcode = first & 0x0F
            if opcode == 0x1:
                self.frames.append((arrived, payload))
                if not self.ready.done() and b'"snapshot"' in payload:
                    self.ready.set_result(None)
            elif opcode == 0x9:
                self.send(0xA, payload)
            elif opcode == 0x8:
                self.closed = True

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.ready.done():
            self.ready.set_exception(ConnectionError("closed before the snapshot"))


async def _clients(host: str, port: int, auction_id: str, count: int, pipe: Any) -> None:
    loop = asyncio.get_running_loop()
    join = orjson.dumps({"type": "join", "auctionId": auction_id, "lastEventId": None})
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    protocols: list[BenchClient] = []

    async def open_one() -> None:
        async with gate:
            ready: asyncio.Future[None] = loop.create_future()
            _, protocol = await loop.create_connection(
                lambda: BenchClient("/ws", f"{host}:{port}", join, ready), host, port
            )
            protocols.append(protocol)
            await asyncio.wait_for(ready, 60)

    await asyncio.gather(*(open_one() for _ in range(count)))
    for protocol in protocols:
        protocol.frames.clear()  # the snapshots; only what follows is measured
        protocol.lazy = True
    pipe.send("ready")
    waited = 0.0
    while not pipe.poll():
        await asyncio.sleep(0.05)
        waited += 0.05
        if waited >= 5.0:  # the node pings every 20 s: answer well within its timeout
            waited = 0.0
            for protocol in protocols:
                protocol.catch_up()
    expected = pipe.recv()  # "report", or ("report", bids each client should have by now)
    for protocol in protocols:
        protocol.catch_up()
    if isinstance(expected, tuple):
        # On a loaded machine the last bids may still be on their way: wait for them (up to
        # REPORT_GRACE_S; arrival times are stamped as the bytes come, so waiting changes no
        # figure), and a client that still lacks one then has truly missed it.
        deadline = time.monotonic() + REPORT_GRACE_S
        while time.monotonic() < deadline and any(
            sum(1 for _, payload in p.frames if b'"bid:placed"' in payload) < expected[1]
            for p in protocols
        ):
            await asyncio.sleep(0.2)
            for protocol in protocols:
                protocol.catch_up()
    received: list[tuple[str, float]] = []
    per_client: list[int] = []
    for protocol in protocols:
        bids = 0
        for arrived, payload in protocol.frames:
            message = orjson.loads(payload)
            if message.get("type") == "bid:placed":
                received.append((message["data"]["bid"]["id"], arrived))
                bids += 1
        per_client.append(bids)
    pipe.send(
        {"received": received, "per_client": per_client, "closed": sum(p.closed for p in protocols)}
    )
    for protocol in protocols:
        if protocol.transport is not None:
            protocol.transport.close()


def _client_process(host: str, port: int, auction_id: str, count: int, pipe: Any) -> None:
    try:
        import uvloop

        uvloop.run(_clients(host, port, auction_id, count, pipe))
    except ImportError:
        asyncio.run(_clients(host, port, auction_id, count, pipe))


# -- the driver --------------------------------------------------------------------------------


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 2)

    return {
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": round(ordered[-1], 2),
        "mean_ms": round(statistics.fmean(ordered), 2),
    }


def _people(ctx: Any, count: int) -> list[str]:
    from shared.adapters.tokens import Principal
    from shared.services import users

    ids = []
    for i in range(count):
        user_id = str(uuid.uuid4())
        users.ensure_user(
            ctx, Principal(user_id, f"fanout-{user_id[:8]}@example.com", f"B{i}", "buyer")
        )
        ids.append(user_id)
    return ids


def _auction(ctx: Any, seller_id: str) -> uuid.UUID:
    from shared.adapters.orm import Auction
    from shared.services import auction_state

    now = datetime.now(UTC)
    with ctx.db.session() as session:
        auction = Auction(
            id=uuid.uuid4(),
            seller_id=uuid.UUID(seller_id),
            item_name="Fan-out lot",
            description="",
            start_price=Decimal("1.00"),
            bid_increment=Decimal("1.00"),
            go_live_at=now - timedelta(seconds=1),
            duration_mins=60,
            ends_at=now + timedelta(minutes=60),
            status="live",
            round=1,
        )
        session.add(auction)
        session.flush()
        auction_state.seed(ctx, session, auction, force=True)
        return auction.id


def measure(
    ctx: Any,
    database_url: str,
    redis_url: str,
    clients: int,
    *,
    bids: int = BIDS,
    processes: int = CLIENT_PROCESSES,
    nodes: int = 1,
) -> dict[str, Any]:
    """`nodes` fresh socket nodes (processes), `clients` clients in one room split evenly over
    them, `bids` bids. Every node follows the same Redis feed, so each bid reaches every
    node's share of the room (that is how nodes share rooms: nothing node-to-node)."""
    from infra.embedded import free_port
    from infra.stack import Stack
    from shared.services import bidding

    seller, *bidders = _people(ctx, 1 + 10)
    auction = _auction(ctx, seller)
    stacks = [
        Stack(
            database_url=database_url,
            redis_url=redis_url,
            socket_port=free_port(),
            bridge_port=None,
            quiet=os.environ.get("FANOUT_QUIET", "1") == "1",
            extra_env={"APP_ENV": os.environ.get("APP_ENV", "test")},
        )
        for _ in range(nodes)
    ]
    for stack in stacks:
        stack.start_socket_node()
    spawn = multiprocessing.get_context("spawn")
    children: list[Any] = []
    try:
        for stack in stacks:
            stack.wait_healthy(60)
        pids = [stack.processes["socket"].pid for stack in stacks]
        time.sleep(1.0)
        rss_before = [_rss_kib(pid) for pid in pids]
        pipes = []
        processes = max(processes, nodes)
        shares = [
            clients // processes + (1 if i < clients % processes else 0) for i in range(processes)
        ]
        per_node = [0] * nodes
        began = time.monotonic()
        for i, share in enumerate(shares):
            mine, theirs = spawn.Pipe()
            per_node[i % nodes] += share
            child = spawn.Process(
                target=_client_process,
                args=("127.0.0.1", stacks[i % nodes].socket_port, str(auction), share, theirs),
                daemon=True,
            )
            child.start()
            children.append(child)
            pipes.append(mine)
        for pipe in pipes:
            if not pipe.poll(180):
                raise TimeoutError("clients did not join in time")
            assert pipe.recv() == "ready"
        joined_s = time.monotonic() - began
        time.sleep(2.0)  # idle: keepalive tasks settle, nothing in flight
        rss_idle = [_rss_kib(pid) for pid in pids]

        placed: dict[str, float] = {}
        for i in range(bids):
            receipt = bidding.place_bid(ctx, auction, bidders[i % len(bidders)], Decimal(i + 1))
            created = datetime.fromisoformat(receipt.bid["createdAt"].replace("Z", "+00:00"))
            placed[receipt.bid["id"]] = created.timestamp()
            time.sleep(BID_EVERY_S)
        time.sleep(1.0)
        for pipe in pipes:
            pipe.send(("report", bids))
        latencies: list[float] = []
        per_client: list[int] = []
        closed = 0
        for pipe in pipes:
            if not pipe.poll(120):
                raise TimeoutError("clients did not report in time")
            report = pipe.recv()
            per_client += report["per_client"]
            closed += report["closed"]
            for bid_id, arrived in report["received"]:
                latencies.append((arrived - placed[bid_id]) * 1000)
        deliveries = Counter(per_client)
        per_connection = [
            round((idle - before) / max(1, n), 2)
            for idle, before, n in zip(rss_idle, rss_before, per_node, strict=True)
        ]
        figures: dict[str, Any] = {
            "clients": clients,
            "bids": bids,
            **_percentiles(latencies),
            "samples": len(latencies),
            "every_client_got_every_bid_once": deliveries == Counter({bids: clients}),
            "clients_dropped": closed,
            "join_all_s": round(joined_s, 2),
        }
        if nodes == 1:
            figures |= {
                "node_rss_before_kib": rss_before[0],
                "node_rss_idle_kib": rss_idle[0],
                "rss_per_idle_connection_kib": per_connection[0],
            }
        else:
            figures |= {
                "nodes": nodes,
                "clients_per_node": per_node,
                "node_rss_before_kib": rss_before,
                "node_rss_idle_kib": rss_idle,
                "rss_per_idle_connection_kib_per_node": per_connection,
                "rss_per_idle_connection_kib": max(per_connection),
            }
        return figures
    finally:
        for child in children:
            child.join(30)
            if child.is_alive():
                child.kill()
        for stack in stacks:
            stack.stop("socket")


def run(
    *,
    database_url: str,
    redis_url: str,
    sizes: tuple[int, ...] = SIZES,
    bids: int = BIDS,
    processes: int = CLIENT_PROCESSES,
) -> dict[str, Any]:
    """The fan-out figures, keyed by client count ("1000", "10000"), plus
    `rss_per_idle_connection_kib` from the largest run."""
    from shared.services.context import for_socket_node
    from shared.settings import load_settings

    settings = load_settings(DATABASE_URL=database_url, REDIS_URL=redis_url)
    ctx = for_socket_node(settings)
    results: dict[str, Any] = {}
    try:
        for size in sizes:
            results[str(size)] = measure(
                ctx, database_url, redis_url, size, bids=bids, processes=processes
            )
            print(f"  fan-out {size}: {results[str(size)]}", flush=True)
    finally:
        ctx.close()
    largest = results[str(max(sizes))]
    results["rss_per_idle_connection_kib"] = largest["rss_per_idle_connection_kib"]
    return results


TWO_NODES_CLIENTS = int(os.environ.get("BENCH_TWO_NODES_CLIENTS", "10000"))


def run_two_nodes(
    *,
    database_url: str,
    redis_url: str,
    clients: int = TWO_NODES_CLIENTS,
    bids: int = BIDS,
    processes: int = CLIENT_PROCESSES,
) -> dict[str, Any]:
    """`clients` clients in one room split over two socket nodes (two processes): bid
    accepted -> client received, and each node's memory per idle connection."""
    from shared.services.context import for_socket_node
    from shared.settings import load_settings

    ctx = for_socket_node(load_settings(DATABASE_URL=database_url, REDIS_URL=redis_url))
    try:
        figures = measure(
            ctx, database_url, redis_url, clients, bids=bids, processes=processes, nodes=2
        )
    finally:
        ctx.close()
    print(f"  fan-out {clients} over two nodes: {figures}", flush=True)
    return figures


def main() -> None:
    import json

    from bench.fixtures import bench_services
    from infra.databases import ensure_database
    from infra.migrate import upgrade

    with bench_services("auction_bench_fanout") as (database_url, redis_url):
        ensure_database(database_url)
        upgrade(database_url)
        sizes = tuple(int(n) for n in os.environ.get("FANOUT_SIZES", "1000,10000").split(","))
        print(
            json.dumps(run(database_url=database_url, redis_url=redis_url, sizes=sizes), indent=2)
        )


if __name__ == "__main__":
    main()
