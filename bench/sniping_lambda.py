"""Sniping burst in the Lambda shape, with functions started cold: 300 bidders fire in the last
two seconds of one live auction (soft close off), each bid through a dispatcher that stands in
for API Gateway, onto at most 20 instances of the functions' bundle, each a fresh interpreter
on `make package`'s zip extracted read-only (only the bundle and the standard library on its
path, as Lambda runs it), while watchers follow the room over WebSocket on a socket node.

- The dispatcher stamps each request's `requestContext.requestTimeEpoch` when it receives it
  (API Gateway's arrival moment) and hands the REST proxy event (v1) to an idle instance. When
  every instance is busy it starts a new one, as Lambda scales out, up to INSTANCES; past that
  the request waits for the first instance to come free. Of the 20: WARM have answered one
  request before the burst (the auction had visitors); COLD are started during the burst by a
  request that found every other instance busy, which waits for the init (`import app`) and
  is the new instance's first request; the rest are fresh: initialised before the burst (the
  init each ran on its own, as Lambda runs each on a CPU share of its own), their first
  request in the burst (connections, the token verifier, the bidder's first sighting).
- Why not all of them cold in the burst: on Lambda every init runs on its own microVM; here
  they would share two cores with the stack, the watchers and each other (15 at once: 5-10 s
  each, measured on this machine, against ~0.3 s alone), which measures the machine, not the
  bid path. BENCH_LAMBDA_COLD sets how many start in the burst (docs/performance-lean.md).
- The bidders are coroutines in the dispatcher's process: a bid's departure is its arrival
  (no network between them). Each fires BIDS_EACH bids at moments drawn toward the end (2 s
  before it times u², u uniform), a few just after it, bidding the last `minNextBid` it heard
  plus 0-10 increments, one request at a time.
- Judged at arrival: no bid that arrived (was stamped) before endsAt may be refused
  `auction_not_live`; the bid script judges it at its stamp when it gets there within
  LATE_BID_GRACE_MS of endsAt, and the end transition waits as long.
- Bid -> every watcher: from the bid's `createdAt` (the script's clock when it accepted it)
  to the last watcher's receipt; p99 over the accepted bids.

`python -m bench --only sniping_lambda` runs it alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import socket
import struct
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench import sniping
from bench.cold_start import bundle_environment
from bench.fixtures import log
from infra.embedded import free_port
from infra.stack import Stack
from shared.settings import REPO_ROOT

SNIPERS = int(os.environ.get("BENCH_SNIPERS", "300"))
WATCHERS = int(os.environ.get("BENCH_SNIPE_WATCHERS", "500"))
BIDS_EACH = int(os.environ.get("BENCH_SNIPE_BIDS_EACH", "2"))
INSTANCES = int(os.environ.get("BENCH_LAMBDA_INSTANCES", "20"))
WARM = int(os.environ.get("BENCH_LAMBDA_WARM", "5"))
COLD = int(os.environ.get("BENCH_LAMBDA_COLD", "3"))
WINDOW_MS = 2_000.0
AFTER_MS = 50.0
LEAD_S = 40.0
WATCHER_PROCESSES = 2
LOGS = REPO_ROOT / "var" / "bench" / "lambda-burst-logs"

# One Lambda instance: the bundle's handler in an interpreter that sees only the bundle (and
# the standard library), answering length-prefixed JSON events on a socket, one at a time.
INSTANCE = r"""
import json, socket, struct, sys, time
started = time.perf_counter()
import app
init_ms = (time.perf_counter() - started) * 1000
sock = socket.socket(fileno=int(sys.argv[1]))

def send(message):
    data = json.dumps(message).encode()
    sock.sendall(struct.pack(">I", len(data)) + data)

def exactly(size):
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data

class Context:
    function_name = "auction-api"
    memory_limit_in_mb = 512
    def __init__(self, request_id):
        self.aws_request_id = request_id
    def get_remaining_time_in_millis(self):
        return 30000

send({"hello": {"init_ms": init_ms}})
while True:
    head = exactly(4)
    if head is None:
        break
    event = json.loads(exactly(struct.unpack(">I", head)[0]))
    send({"response": app.app(event, Context(event["requestContext"]["requestId"]))})
"""


class Instance:
    """One function instance: a process of its own, serving one request at a time."""

    def __init__(self, task: Path, env: dict[str, str], number: int) -> None:
        self.task = task
        self.env = env
        self.number = number
        self.served = 0
        self.init_ms = 0.0
        self.cold_wait_ms = 0.0  # how long the request that started it waited for its init
        self.log = LOGS / f"instance-{number}.log"  # what it says on stderr (a crash)
        self.broken = False
        self._process: subprocess.Popen[bytes] | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._socket: socket.socket | None = None

    async def start(self) -> None:
        ours, theirs = socket.socketpair()
        self._process = subprocess.Popen(
            [sys.executable, "-S", "-c", INSTANCE, str(theirs.fileno())],
            cwd=self.task,
            env=self.env,
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("ab"),
        )
        theirs.close()
        self._socket = ours
        self._reader, self._writer = await asyncio.open_connection(sock=ours)
        hello = await self._receive()
        self.init_ms = float(hello["hello"]["init_ms"])

    async def _receive(self) -> dict[str, Any]:
        assert self._reader is not None
        head = await self._reader.readexactly(4)
        answer: dict[str, Any] = json.loads(
            await self._reader.readexactly(struct.unpack(">I", head)[0])
        )
        return answer

    async def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        assert self._writer is not None
        data = json.dumps(event).encode()
        self._writer.write(struct.pack(">I", len(data)) + data)
        await self._writer.drain()
        response: dict[str, Any] = (await self._receive())["response"]
        self.served += 1
        return response

    def stop(self) -> None:
        # The socket itself, now: a stream writer's close() only schedules it on the loop,
        # and the instance exits when it reads the end of its socket.
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)
        if self._process is not None:
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


class Dispatcher:
    """API Gateway, as far as a bid sees it: the arrival stamp, the proxy event, and Lambda's
    scale-out onto instances (a new one when all are busy, up to `limit`)."""

    def __init__(self, task: Path, env: dict[str, str], limit: int) -> None:
        self.task = task
        self.env = env
        self.limit = limit
        self.instances: list[Instance] = []
        self.in_flight: dict[int, float] = {}  # instance number -> since (a stall's report)
        self._idle: list[Instance] = []
        self._free = asyncio.Condition()

    async def _instance(self) -> tuple[Instance, bool]:
        """An idle instance, or a new one (cold) when none is idle and the limit allows."""
        async with self._free:
            while True:
                if self._idle:
                    return self._idle.pop(), False
                if len(self.instances) < self.limit:
                    instance = Instance(self.task, self.env, len(self.instances))
                    self.instances.append(instance)
                    return instance, True
                await self._free.wait()

    async def _release(self, instance: Instance) -> None:
        async with self._free:
            self._idle.append(instance)
            self._free.notify()

    async def prepare(self, fresh: int, warm: int, token: str, path: str) -> None:
        """`fresh + warm` instances initialised (a few at a time, as each would on its own
        CPU), the `warm` ones having answered one request each (a refused bid)."""
        started: list[Instance] = []
        for first in range(0, fresh + warm, 2):
            batch = [
                Instance(self.task, self.env, len(self.instances) + i)
                for i in range(min(2, fresh + warm - first))
            ]
            self.instances += batch
            await asyncio.gather(*(instance.start() for instance in batch))
            started += batch
        for instance in started[:warm]:
            await instance.invoke(self.event("POST", path, token, b'{"amount":"0.01"}'))
        self._idle += started

    def event(self, method: str, path: str, token: str, body: bytes) -> dict[str, Any]:
        auction_id = path.split("/")[3]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        request_id = str(uuid.uuid4())
        return {
            "resource": "/api/auctions/{auction_id}/bids",
            "path": path,
            "httpMethod": method,
            "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": None,
            "multiValueQueryStringParameters": None,
            "pathParameters": {"auction_id": auction_id},
            "stageVariables": None,
            "requestContext": {
                "resourcePath": "/api/auctions/{auction_id}/bids",
                "httpMethod": method,
                "stage": "api",
                "requestId": request_id,
                "path": f"/api{path}",
                # The arrival moment: stamped when the gateway has the request.
                "requestTimeEpoch": int(time.time() * 1000),
                "identity": {"sourceIp": "198.51.100.7"},
            },
            "body": body.decode(),
            "isBase64Encoded": False,
        }

    async def request(self, path: str, token: str, body: bytes) -> tuple[int, bytes, int, bool]:
        """(status, body, the arrival stamp in epoch ms, whether it started a cold instance)."""
        event = self.event("POST", path, token, body)
        instance, cold = await self._instance()
        self.in_flight[instance.number] = time.time()
        try:
            if cold:
                waited = time.perf_counter()
                await instance.start()
                instance.cold_wait_ms = (time.perf_counter() - waited) * 1000
            response = await instance.invoke(event)
        except (OSError, asyncio.IncompleteReadError) as exc:
            instance.broken = True  # Lambda retires an environment that crashed
            raise RuntimeError(f"instance {instance.number} failed: {instance.log}") from exc
        finally:
            self.in_flight.pop(instance.number, None)
            if not instance.broken:
                await self._release(instance)
        arrived = int(event["requestContext"]["requestTimeEpoch"])
        return int(response["statusCode"]), response["body"].encode(), arrived, cold

    def stop(self) -> None:
        for instance in self.instances:
            instance.stop()


async def _burst(
    dispatcher: Dispatcher, path: str, tokens: list[str], ends_at: float, seed: int
) -> list[tuple[float, float, int, bytes, int, bool]]:
    """Every bidder's bids: (left, answered, status, body, arrival stamp ms, started cold)."""
    rng = random.Random(seed)
    step = Decimal("1.00")
    sent: list[tuple[float, float, int, bytes, int, bool]] = []

    async def bidder(token: str) -> None:
        next_min = Decimal("1.00")
        for moment in sniping.bid_moments(rng, ends_at):
            await asyncio.sleep(max(0.0, moment - time.time()))
            amount = next_min + step * rng.randint(0, 10)
            left = time.time()
            status, payload, arrived, cold = await dispatcher.request(
                path, token, b'{"amount":"%s"}' % str(amount).encode()
            )
            sent.append((left, time.time(), status, payload, arrived, cold))
            with contextlib.suppress(ValueError):
                body = json.loads(payload)
                if isinstance(body, dict) and "minNextBid" in body:
                    next_min = Decimal(body["minNextBid"])

    await asyncio.gather(*(bidder(token) for token in tokens))
    return sent


async def _drive(
    task: Path, env: dict[str, str], path: str, tokens: list[str], ends_at: float
) -> tuple[list[tuple[float, float, int, bytes, int, bool]], list[Instance]]:
    dispatcher = Dispatcher(task, env, INSTANCES)
    try:
        fresh = max(0, INSTANCES - WARM - COLD)
        await dispatcher.prepare(fresh, WARM, tokens[-1], path)
        spare_s = ends_at - time.time() - WINDOW_MS / 1000
        log(
            f"  {WARM} instances warm, {fresh} fresh, up to {INSTANCES - WARM - fresh} to start "
            f"cold in the burst; {spare_s:.1f} s to go"
        )
        if spare_s < 0:
            raise RuntimeError("the warm instances were not ready before the burst: raise LEAD_S")
        burst = asyncio.create_task(_burst(dispatcher, path, tokens[:-1], ends_at, 1))
        while not burst.done():
            await asyncio.wait([burst], timeout=10)
            if not burst.done() and time.time() > ends_at + 10:
                stalled = {n: round(time.time() - t, 1) for n, t in dispatcher.in_flight.items()}
                log(f"  still waiting on instances (number: seconds): {stalled}")
        return burst.result(), dispatcher.instances
    finally:
        dispatcher.stop()


def run(
    database_url: str,
    redis_url: str,
    tokens: list[str],
    seller: uuid.UUID,
    *,
    snipers: int = SNIPERS,
    watchers: int = WATCHERS,
) -> dict[str, Any]:
    from infra import lambda_task, package
    from shared.services import blocks, moderation
    from shared.services.context import for_socket_node
    from shared.settings import load_settings

    log(
        f"\n== sniping burst, Lambda shape: {snipers} bidders in the last 2 s over at most "
        f"{INSTANCES} instances ({WARM} warm), {watchers} watchers =="
    )
    snipers = min(snipers, len(tokens) - 1)
    log("  packaging the functions (make package)")
    bundle = package.package()
    task = lambda_task.extract(bundle, REPO_ROOT / "var" / "bench" / "lambda-burst")
    LOGS.mkdir(parents=True, exist_ok=True)
    for old in LOGS.glob("instance-*.log"):
        old.unlink()
    stack = Stack(
        database_url=database_url,
        redis_url=redis_url,
        socket_port=free_port(),
        bridge_port=free_port(),
        quiet=True,
        workers=1,
        extra_env={"APP_ENV": "test", "LOG_LEVEL": "WARNING"},
    )
    env = bundle_environment(task, database_url, "", stack.token)
    children: list[Any] = []
    try:
        stack.start_bridge()
        stack.start_socket_node()
        stack.wait_healthy()
        env["UPSTASH_REDIS_REST_URL"] = f"http://127.0.0.1:{stack.bridge_port}"  # (now known)
        # A Redis that has been running holds the suspended set (a flushed one is rebuilt
        # through the ORM, which is no part of an ordinary bid).
        seeding = for_socket_node(load_settings(DATABASE_URL=database_url, REDIS_URL=redis_url))
        moderation.load_suspended(seeding)
        auction_id, ends_at = sniping._ending_auction(database_url, seller, LEAD_S)
        blocks.ensure_loaded(seeding, str(seller))  # as listing it does
        seeding.close()
        pipes = sniping.join_watchers(stack.socket_port, auction_id, watchers, ends_at, children)
        path = f"/api/auctions/{auction_id}/bids"
        bids, instances = asyncio.run(_drive(task, env, path, tokens[: snipers + 1], ends_at))
        time.sleep(1.0)  # the last fan-outs land
        accepted = sum(1 for bid in bids if bid[2] == 201)
        for pipe in pipes:
            pipe.send(("report", accepted))
        arrivals: dict[str, list[float]] = {}
        for pipe in pipes:
            if not pipe.poll(120):
                raise TimeoutError("the watchers did not report in time")
            for bid_id, arrived in pipe.recv()["received"]:
                arrivals.setdefault(bid_id, []).append(arrived)
        return _figures(bids, instances, arrivals, ends_at, snipers, watchers)
    finally:
        for child in children:
            child.join(30)
            if child.is_alive():
                child.kill()
        stack.stop()
        lambda_task.remove(task)


def _figures(
    bids: list[tuple[float, float, int, bytes, int, bool]],
    instances: list[Instance],
    arrivals: dict[str, list[float]],
    ends_at: float,
    snipers: int,
    watchers: int,
) -> dict[str, Any]:
    pct = sniping._pct
    ends_ms = int(ends_at * 1000)
    codes: Counter[str] = Counter()
    refused_after_arriving_in_time: list[int] = []  # ms before endsAt each one arrived
    created: dict[str, float] = {}
    latencies = []
    late_judged = 0  # arrived before endsAt, answered after it
    for _, answered, status, payload, arrived, _ in bids:
        latencies.append(answered * 1000 - arrived)
        try:
            body = json.loads(payload)
        except ValueError:
            body = {}
        if arrived < ends_ms and answered * 1000 >= ends_ms:
            late_judged += 1
        if status == 201:
            codes["accepted"] += 1
            moment = datetime.fromisoformat(body["createdAt"].replace("Z", "+00:00"))
            created[body["id"]] = moment.timestamp()
            continue
        code = body.get("code", str(status)) if isinstance(body, dict) else str(status)
        codes[code] += 1
        if code == "auction_not_live" and arrived < ends_ms:
            refused_after_arriving_in_time.append(ends_ms - arrived)
    to_all = []
    short = 0
    for bid_id, at in created.items():
        got = arrivals.get(bid_id, [])
        if len(got) < watchers:
            short += 1
        if got:
            to_all.append((max(got) - at) * 1000)
    cold = [i for i in instances if i.cold_wait_ms]
    fresh_first = [i for i in instances if not i.cold_wait_ms and i.served]
    figures = {
        "bidders": snipers,
        "watchers": watchers,
        "instances": len(instances),
        "instances_started_cold_in_the_burst": len(cold),
        "cold_instance_init_ms": {
            "p50": pct([i.init_ms for i in cold], 0.5),
            "max": round(max((i.init_ms for i in cold), default=0.0), 1),
        },
        "cold_request_wait_ms": {  # init plus the request that started the instance
            "p50": pct([i.cold_wait_ms for i in cold], 0.5),
            "max": round(max((i.cold_wait_ms for i in cold), default=0.0), 1),
        },
        "bids_per_instance": sorted((i.served for i in instances), reverse=True),
        "instances_that_served": len(fresh_first) + len(cold),
        "bids_sent": len(bids),
        "bids_arrived_before_ends_at": sum(1 for bid in bids if bid[4] < ends_ms),
        "arrived_before_answered_after_ends_at": late_judged,
        "outcomes": dict(sorted(codes.items())),
        "refused_not_live_though_arrived_before_ends_at": len(refused_after_arriving_in_time),
        "those_ms_before_end": sorted(refused_after_arriving_in_time, reverse=True)[:10],
        "bid_latency_from_arrival": {
            "p50_ms": pct(latencies, 0.5),
            "p99_ms": pct(latencies, 0.99),
            "max_ms": round(max(latencies), 1) if latencies else 0.0,
        },
        "bid_to_all_watchers": {
            "p50_ms": pct(to_all, 0.5),
            "p99_ms": pct(to_all, 0.99),
            "max_ms": round(max(to_all), 2) if to_all else 0.0,
        },
        "accepted_bids_not_seen_by_every_watcher": short,
    }
    log(f"  {figures}")
    return figures
