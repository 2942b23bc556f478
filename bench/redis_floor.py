"""The Redis floor of the bid path: the same bid script, run by 32 concurrent callers for a few
seconds, (a) raw over TCP with redis-py's asyncio client, (b) through the local Upstash-REST
bridge with the real upstash-redis client (what the functions do)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from typing import Any

import orjson

from bench.fixtures import WORKERS, new_auction
from infra.bridge import serve_in_thread
from shared.adapters.db import Database, make_engine
from shared.adapters.redis_store import RestStore, load_script
from shared.services import auction_state, bidding, blocks, moderation
from shared.services.context import Context
from shared.settings import load_settings

CALLERS = 32


def next_bid(result: dict[str, Any], current: Decimal) -> Decimal:
    """What a caller bids next: the minimum the script named, or one step more when it was
    already the highest."""
    if "minNextBid" in result:
        return Decimal(result["minNextBid"])
    return current + Decimal("1.00") if result.get("code") == "already_highest" else current


def _fresh_auction(ctx: Context, seller: uuid.UUID) -> uuid.UUID:
    assert ctx.settings.database_url
    auction_id = new_auction(ctx.settings.database_url, seller)
    auction_state.rebuild(ctx, auction_id)
    moderation.load_suspended(ctx)  # the bid script refuses to judge without the set
    blocks.load_blocked(ctx, str(seller))  # ... or the seller's blocked set
    return auction_id


def _raw(redis_url: str, ctx: Context, auction_id: uuid.UUID, seconds: float) -> dict[str, Any]:
    import redis.asyncio as aioredis

    script = load_script("place_bid")

    async def scenario() -> int:
        client = aioredis.Redis.from_url(redis_url, decode_responses=True, max_connections=CALLERS)
        await client.script_load(script.source)
        done = 0
        deadline = time.perf_counter() + seconds

        async def caller(i: int) -> None:
            nonlocal done
            user = str(uuid.UUID(int=i + 1))
            next_min = Decimal("1.00")
            while time.perf_counter() < deadline:
                keys, args = bidding.bid_script_call(ctx.settings, auction_id, user, next_min)
                _kind, body = await client.evalsha(script.sha, len(keys), *keys, *args)
                done += 1
                next_min = next_bid(orjson.loads(body), next_min)

        await asyncio.gather(*(caller(i) for i in range(CALLERS)))
        await client.aclose()
        return done

    calls = asyncio.run(scenario())
    return {"calls_per_s": round(calls / seconds, 1)}


def _rest_worker(args: tuple[str, str, str, int, float, int], queue: Any) -> None:
    """One process of callers: the real upstash-redis async client, EVALSHA through REST."""
    from upstash_redis.asyncio import Redis

    url, token, auction, first_user, seconds, callers = args
    settings = load_settings(BID_RATE_LIMIT="1000000/s:1000000")
    script = load_script("place_bid")

    async def scenario() -> int:
        client = Redis(
            url=url, token=token, rest_retries=0, allow_telemetry=False, read_your_writes=False
        )
        done = 0
        deadline = time.perf_counter() + seconds

        async def caller(i: int) -> None:
            nonlocal done
            user = str(uuid.UUID(int=first_user + i))
            next_min = Decimal("1.00")
            while time.perf_counter() < deadline:
                keys, args = bidding.bid_script_call(settings, uuid.UUID(auction), user, next_min)
                _kind, body = await client.evalsha(script.sha, keys, [str(a) for a in args])
                done += 1
                next_min = next_bid(orjson.loads(body), next_min)

        await asyncio.gather(*(caller(i) for i in range(callers)))
        await client.close()
        return done

    queue.put(asyncio.run(scenario()))


def _rest(redis_url: str, auction_id: uuid.UUID, seconds: float) -> dict[str, Any]:
    """The same calls through the bridge (its own processes, as in `make run`), from two
    processes of callers so that the client side is not the limit."""
    import multiprocessing

    import redis

    from infra.embedded import free_port, wait_for_port

    # The bridge runs only what the project's code sends (EVALSHA and EVAL of its scripts), not
    # SCRIPT LOAD: the script is loaded over TCP, as the tests set Redis up.
    redis.Redis.from_url(redis_url).script_load(load_script("place_bid").source)
    port = free_port()
    bridge = subprocess.Popen(
        [sys.executable, "-m", "infra.bridge", "--port", str(port), "--workers", str(WORKERS)],
        env={**os.environ, "REDIS_URL": redis_url, "UPSTASH_REDIS_REST_TOKEN": "bench-token"},
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for_port("127.0.0.1", port)
        mp = multiprocessing.get_context("spawn")
        queue = mp.Queue()
        half = CALLERS // 2
        procs = [
            mp.Process(
                target=_rest_worker,
                args=(
                    (
                        f"http://127.0.0.1:{port}",
                        "bench-token",
                        str(auction_id),
                        1000 + i * half,
                        seconds,
                        half,
                    ),
                    queue,
                ),
            )
            for i in range(2)
        ]
        for proc in procs:
            proc.start()
        done = sum(queue.get(timeout=seconds + 60) for _ in procs)
        for proc in procs:
            proc.join()
    finally:
        bridge.terminate()
        bridge.wait(10)
    return {"calls_per_s": round(done / seconds, 1)}


def run(database_url: str, redis_url: str, seller: uuid.UUID, seconds: float) -> dict[str, Any]:
    bridge = serve_in_thread(redis_url, "bench-token", 0)
    settings = load_settings(
        DATABASE_URL=database_url,
        BID_RATE_LIMIT="1000000/s:1000000",
        UPSTASH_REDIS_REST_URL=f"http://127.0.0.1:{bridge.server_address[1]}",
        UPSTASH_REDIS_REST_TOKEN="bench-token",
    )
    db = Database(make_engine(database_url, pool_size=2))
    ctx = Context(settings, db, RestStore(settings.rest_url, settings.upstash_redis_rest_token))
    try:
        raw = _raw(redis_url, ctx, _fresh_auction(ctx, seller), seconds)
        rest = _rest(redis_url, _fresh_auction(ctx, seller), seconds)
    finally:
        ctx.close()
        bridge.shutdown()
        bridge.server_close()
    return {
        "callers": CALLERS,
        "raw_redis_py_evalsha": raw,
        "upstash_rest_via_bridge": rest,
        "bridge_share_of_raw": round(rest["calls_per_s"] / max(1.0, raw["calls_per_s"]), 3),
    }
