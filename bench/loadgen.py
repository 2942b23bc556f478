"""A closed-loop load generator: N bidders, each sending its next bid as soon as the last one
was answered, spread over a few processes so the generator is not what saturates."""

from __future__ import annotations

import asyncio
import multiprocessing
import statistics
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx


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


async def _bidders(
    url: str, tokens: list[str], seconds: float, start: str, increment: str
) -> tuple[int, int, dict[int, int], list[float]]:
    limits = httpx.Limits(max_connections=len(tokens), max_keepalive_connections=len(tokens))
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    accepted = 0
    deadline = time.perf_counter() + seconds
    step = Decimal(increment)

    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def bidder(token: str) -> None:
            nonlocal accepted
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            next_min = Decimal(start)
            while time.perf_counter() < deadline:
                began = time.perf_counter()
                response = await client.post(
                    url, headers=headers, content=f'{{"amount":"{next_min}"}}'
                )
                latencies.append((time.perf_counter() - began) * 1000)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                if response.status_code == 201:
                    accepted += 1
                try:
                    body = response.json()
                except ValueError:
                    continue
                if "minNextBid" in body:
                    next_min = Decimal(body["minNextBid"])
                elif response.status_code == 409 and body.get("code") == "already_highest":
                    next_min += step

        await asyncio.gather(*(bidder(t) for t in tokens))
    return len(latencies), accepted, statuses, latencies


def _worker(args: tuple[str, list[str], float, str, str], queue: Any) -> None:
    queue.put(asyncio.run(_bidders(*args)))


def run(
    url: str,
    tokens: list[str],
    seconds: float,
    start: str = "1.00",
    increment: str = "1.00",
    processes: int = 2,
) -> LoadResult:
    """Drive `url` with one bidder per token for `seconds`."""
    processes = max(1, min(processes, len(tokens)))
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    shares = [tokens[i::processes] for i in range(processes)]
    workers = [
        ctx.Process(target=_worker, args=((url, share, seconds, start, increment), queue))
        for share in shares
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
