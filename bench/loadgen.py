"""A closed-loop load generator: N bidders, each sending its next bid as soon as the last one
was answered, spread over a few processes.

It speaks HTTP/1.1 itself over asyncio streams (keep-alive, Content-Length bodies, nothing
else): on 2 cores a general client such as httpx spends more CPU per request than the server
it measures, and the generator, not the server, would set the figures.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import statistics
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import orjson


@dataclass(frozen=True)
class LoadResult:
    attempts: int
    accepted: int
    statuses: dict[int, int]
    seconds: float
    latencies_ms: list[float]

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies_ms) or [0.0]

        def pct(p: float) -> float:
            return round(lat[min(len(lat) - 1, int(p * len(lat)))], 2)

        return {
            "attempts_per_s": round(self.attempts / self.seconds, 1),
            "accepted_per_s": round(self.accepted / self.seconds, 1),
            "p50_ms": pct(0.50),
            "p99_ms": pct(0.99),
            "max_ms": round(lat[-1], 2),
            "mean_ms": round(statistics.fmean(lat), 2),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
        }


class Connection:
    """One keep-alive HTTP/1.1 connection: POST a JSON body, read the status and body."""

    def __init__(self, host: str, port: int, path: str, token: str) -> None:
        self.host, self.port, self.path = host, port, path
        self.head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        ).encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(self.head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        close = False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            lowered = name.strip().lower()
            if lowered == b"content-length":
                length = int(value)
            elif lowered == b"connection" and value.strip().lower() == b"close":
                close = True
        payload = await self.reader.readexactly(length) if length else b""
        if close:
            self.writer.close()
            self.writer = None
        return status, payload


async def _bidders(
    urls: list[str],
    tokens: list[str],
    seconds: float,
    start: str,
    increment: str,
    proxy_share: float,
    warm: bool,
) -> tuple[int, int, dict[int, int], list[float]]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    accepted = 0
    step = Decimal(increment)
    connections = []
    for url, token in zip(urls, tokens, strict=True):
        parts = urlsplit(url)
        connections.append(
            Connection(parts.hostname or "127.0.0.1", parts.port or 80, parts.path, token)
        )
    if warm:
        # One refused bid each before the clock starts: thousands of bidders' first contacts
        # at once (a server thread each, connections opened in its pools) are not the steady
        # state being measured.
        await asyncio.gather(*(c.post(b'{"amount":"0.01"}') for c in connections))
    deadline = time.perf_counter() + seconds

    async def bidder(connection: Connection, token: str) -> None:
        nonlocal accepted
        next_min = Decimal(start)
        rng = random.Random(token)
        while time.perf_counter() < deadline:
            if rng.random() < proxy_share:  # a proxy maximum a few increments above the minimum
                ceiling = next_min + step * rng.randint(1, 5)
                body_out = b'{"maxAmount":"%s"}' % str(ceiling).encode()
            else:
                body_out = b'{"amount":"%s"}' % str(next_min).encode()
            began = time.perf_counter()
            status, payload = await connection.post(body_out)
            latencies.append((time.perf_counter() - began) * 1000)
            statuses[status] = statuses.get(status, 0) + 1
            if status == 201:
                accepted += 1
            try:
                body = orjson.loads(payload)
            except orjson.JSONDecodeError:
                continue
            if "minNextBid" in body:
                next_min = Decimal(body["minNextBid"])
            elif status == 409 and body.get("code") == "already_highest":
                next_min += step

    await asyncio.gather(*(bidder(c, t) for c, t in zip(connections, tokens, strict=True)))
    return len(latencies), accepted, statuses, latencies


def _worker(args: tuple[list[str], list[str], float, str, str, float, bool], queue: Any) -> None:
    try:
        import uvloop

        queue.put(uvloop.run(_bidders(*args)))
    except ImportError:
        queue.put(asyncio.run(_bidders(*args)))


def run(
    url: str | list[str],
    tokens: list[str],
    seconds: float,
    start: str = "1.00",
    increment: str = "1.00",
    processes: int = 2,
    proxy_share: float = 0.0,
    warm: bool = False,
) -> LoadResult:
    """Drive `url` with one bidder per token for `seconds` (a list: each bidder its own URL,
    the bidder of tokens[i] on url[i]); `proxy_share` of the bids are proxy maximums instead
    of plain bids. `warm`: each bidder's connection has sent one (refused) bid before the
    clock starts."""
    urls = [url] * len(tokens) if isinstance(url, str) else url
    processes = max(1, min(processes, len(tokens)))
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    workers = [
        ctx.Process(
            target=_worker,
            args=(
                (
                    urls[i::processes],
                    tokens[i::processes],
                    seconds,
                    start,
                    increment,
                    proxy_share,
                    warm,
                ),
                queue,
            ),
        )
        for i in range(processes)
    ]
    for w in workers:
        w.start()
    parts = [queue.get(timeout=seconds + 120) for _ in workers]
    for w in workers:
        w.join()
    statuses: dict[int, int] = {}
    for _, _, s, _ in parts:
        for code, count in s.items():
            statuses[code] = statuses.get(code, 0) + count
    return LoadResult(
        attempts=sum(p[0] for p in parts),
        accepted=sum(p[1] for p in parts),
        statuses=statuses,
        seconds=seconds,  # each bidder stops at its own deadline, `seconds` after it started
        latencies_ms=[lat for p in parts for lat in p[3]],
    )
