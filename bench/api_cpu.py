"""What one request costs the API process in CPU, two ways:

- in the function's handler (`in_handler`, judged): what Lambda bills. The app called in
  process with API Gateway REST proxy events, no server in front (`bench.handler_cpu`, run in a
  process of its own), `time.process_time` around each kind, the median of 3 rounds;
- through the local API server: a few hundred sequential requests of each kind on one
  keep-alive connection (one worker), the server's own CPU time (utime + stime from /proc,
  its worker process included) before and after, divided by the count. That adds the server's
  own cost (HTTP parsing, the hop to the app's threads: see `http_floor`), which Lambda does
  not run. The bridge's CPU is reported beside it (in production that is Upstash's, not ours).

Kinds: a bid (accepted or refused: every other one is refused `bid_too_low`, as in a hot
auction), `GET /api/auctions/{id}`, a list of 20, 20 bids of history, and `/health`.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from bench.fixtures import log, new_auction
from infra.embedded import free_port
from infra.stack import Stack

REQUESTS = int(os.environ.get("BENCH_CPU_REQUESTS", "400"))
WARMUP = 50


def _stat(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a server, in seconds: the process and its children (granian's
    worker processes), which is where the requests are answered."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                children.setdefault(int(_stat(int(entry))[1]), []).append(int(entry))
            except OSError:  # gone meanwhile
                continue
    tree = [pid]
    for each in tree:
        tree += children.get(each, [])
    total = 0
    for each in tree:
        with contextlib.suppress(OSError):
            fields = _stat(each)
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


class Client:
    """One keep-alive connection, as a browser or a load balancer keeps one."""

    def __init__(self, port: int, token: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        self.token = token

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = orjson.dumps(body)
            headers["Content-Type"] = "application/json"
        self.conn.request(method, path, body=data, headers=headers)
        response = self.conn.getresponse()
        payload = response.read()
        if response.status >= 500:  # the figure would be an error's cost: stop, loudly
            raise RuntimeError(f"{method} {path} answered {response.status}: {payload[:300]!r}")
        return response.status, (orjson.loads(payload) if payload else None)


def _measure(pid: int, request: Callable[[int], Any], count: int) -> float:
    """µs of the process's CPU per request."""
    for i in range(WARMUP):
        request(i)
    before = _cpu_seconds(pid)
    for i in range(count):
        request(i)
    return round((_cpu_seconds(pid) - before) / count * 1e6, 1)


def run(database_url: str, redis_url: str, tokens: list[str], seller: uuid.UUID) -> dict[str, Any]:
    log("\n== API-process CPU per request ==")
    stack = Stack(
        database_url=database_url,
        redis_url=redis_url,
        api_port=free_port(),
        socket_port=free_port(),
        bridge_port=free_port(),
        quiet=True,
        workers=1,
        api_module="bench.api_server",  # the bench routes (the HTTP floor, the peer designs)
        extra_env={
            "APP_ENV": "test",
            "LOG_LEVEL": "WARNING",
            "BID_RATE_LIMIT": "1000000/s:1000000",
        },
    )
    stack.start_bridge()
    stack.start_api()
    stack.wait_healthy()
    try:
        api_pid = stack.processes["api"].pid
        bridge_pid = stack.processes["bridge"].pid
        for _ in range(25):  # a list of 20 has something to show
            new_auction(database_url, seller)
        auction_id = new_auction(database_url, seller)
        bidders = [Client(stack.api_port, token) for token in tokens[:2]]
        reader = bidders[0]
        state = {"min": "1.00"}

        def bid(i: int) -> None:
            # Two bidders alternate; each bids the minimum it last saw, so about every other
            # attempt is accepted and the rest are refused bid_too_low (a hot auction's mix).
            status, body = bidders[i % 2].call(
                "POST", f"/api/auctions/{auction_id}/bids", {"amount": state["min"]}
            )
            if status == 201 or (i % 4 == 0 and status == 409 and body.get("minNextBid")):
                state["min"] = body["minNextBid"]

        bridge_before = _cpu_seconds(bridge_pid)
        results: dict[str, Any] = {"bid": _measure(api_pid, bid, REQUESTS)}
        results["bridge_per_bid"] = round(
            (_cpu_seconds(bridge_pid) - bridge_before) / (REQUESTS + WARMUP) * 1e6, 1
        )
        reads: dict[str, Callable[[int], Any]] = {
            # The floor: the same server, token check and body parsing, and nothing else.
            "http_floor": lambda i: reader.call("POST", "/bench/noop", {"amount": "1.00"}),
            "get_auction": lambda i: reader.call("GET", f"/api/auctions/{auction_id}"),
            "list_20": lambda i: reader.call("GET", "/api/auctions?limit=20"),
            "history_20": lambda i: reader.call("GET", f"/api/auctions/{auction_id}/bids?limit=20"),
            "health": lambda i: reader.call("GET", "/health"),
        }
        for name, request in reads.items():
            results[name] = _measure(api_pid, request, REQUESTS)
        for name, value in results.items():
            log(f"  {name:<16} {value:>9} µs")
    finally:
        stack.stop()
    results["in_handler"] = in_handler()
    log(f"  in the handler (what Lambda bills): {results['in_handler']}")
    return results


HANDLER_CALLS = int(os.environ.get("BENCH_HANDLER_CALLS", "1000"))


def in_handler(count: int = HANDLER_CALLS) -> dict[str, float]:
    """Each kind's CPU in the function's handler, in a process of its own (the app imported
    there, its settings from the environment this bench runs with)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        done = subprocess.run(
            [sys.executable, "-m", "bench.handler_cpu", str(count), "--json", out.name],
            stdout=subprocess.DEVNULL,  # the request log lines, as Lambda writes them
            stderr=subprocess.PIPE,
            text=True,
        )
        if done.returncode != 0:  # say why, not only that it failed
            raise RuntimeError(f"bench.handler_cpu failed:\n{done.stderr[-3000:]}")
        figures: dict[str, float] = orjson.loads(Path(out.name).read_bytes())
    return figures
