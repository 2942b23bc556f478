"""The local Upstash-REST bridge, spoken to by the real upstash-redis client (sync and async)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import httpx
import pytest
import redis
from upstash_redis import AsyncRedis, Redis
from upstash_redis.errors import UpstashError

from shared.adapters.redis_store import load_script
from tests.support.harness import TOKEN, SuiteServices


@pytest.fixture
def rest(services: SuiteServices) -> Redis:
    return Redis(url=services.rest_url, token=TOKEN, rest_retries=0)


@pytest.fixture
def tcp(services: SuiteServices) -> Iterator[redis.Redis]:
    """What the tests set up goes over TCP: the bridge runs only what the project sends."""
    client = redis.Redis.from_url(services.redis_url)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def key() -> str:
    return f"bridge-test:{uuid.uuid4().hex}"


def test_strings_round_trip_unicode_and_binary_safe_text(
    rest: Redis, tcp: redis.Redis, key: str
) -> None:
    tcp.set(key, "héllo ✓ wörld")
    assert rest.get(key) == "héllo ✓ wörld"
    assert rest.get(f"{key}:missing") is None


def test_hashes(rest: Redis, tcp: redis.Redis, key: str) -> None:
    tcp.hset(key, mapping={"a": "1", "b": "two"})
    assert rest.hgetall(key) == {"a": "1", "b": "two"}
    assert rest.hget(key, "b") == "two"
    assert rest.hmget(key, "a", "missing") == ["1", None]
    assert rest.hexists(key, "a") and not rest.hexists(key, "missing")


def test_lists(rest: Redis, tcp: redis.Redis, key: str) -> None:
    tcp.rpush(key, "x", "y", "z")
    assert rest.llen(key) == 3
    assert rest.lrange(key, 0, -1) == ["x", "y", "z"]
    assert rest.lpos(key, "y") == 1


def test_sorted_sets(rest: Redis, key: str) -> None:
    assert rest.zadd(key, {"x": 1.5, "y": 3}) == 2
    assert rest.zrange(key, 0, -1, withscores=True) == [("x", 1.5), ("y", 3.0)]
    assert rest.zscore(key, "y") == 3.0
    assert rest.zrem(key, "x") == 1


def test_streams(rest: Redis, tcp: redis.Redis, key: str) -> None:
    first = tcp.xadd(key, {"e": "one"})
    first = first.decode() if isinstance(first, bytes) else first
    tcp.xadd(key, {"e": "two"})
    entries = rest.xrange(key, "-", "+")
    assert next(e[0] for e in entries) == first
    assert [e[1] for e in entries] == [["e", "one"], ["e", "two"]]
    assert rest.xlen(key) == 2
    assert rest.xdel(key, first) == 1


@pytest.fixture
def snapshot() -> str:
    """A project script (the bridge runs only those): snapshot.lua, as the store loads it."""
    return load_script("snapshot").source


def test_eval_evalsha_and_noscript(rest: Redis, tcp: redis.Redis, key: str, snapshot: str) -> None:
    tcp.hset(f"{key}:state", mapping={"status": "live"})
    state, highest, last_id, now_ms = rest.eval(snapshot, [f"{key}:state", f"{key}:h", key], [])
    assert (state, highest, last_id) == (["status", "live"], None, None)
    assert isinstance(now_ms, int) and now_ms > 0
    sha = load_script("snapshot").sha  # EVAL loaded it into Redis's script cache
    assert rest.evalsha(sha, [f"{key}:state", f"{key}:h", key], [])[0] == ["status", "live"]
    tcp.script_flush()
    with pytest.raises(UpstashError, match=r"^NOSCRIPT"):
        rest.evalsha(sha, [f"{key}:state", f"{key}:h", key], [])


def test_script_errors_keep_redis_error_text(
    rest: Redis, tcp: redis.Redis, key: str, snapshot: str
) -> None:
    tcp.set(f"{key}:state", "not a hash")
    with pytest.raises(UpstashError, match="WRONGTYPE"):
        rest.eval(snapshot, [f"{key}:state", f"{key}:h", key], [])


def test_pipeline_returns_each_result_in_order(rest: Redis, tcp: redis.Redis, key: str) -> None:
    tcp.set(key, "1")
    pipe = rest.pipeline()
    pipe.get(key)
    pipe.zadd(f"{key}:z", {"m": 2})
    pipe.get(f"{key}:missing")
    assert pipe.exec() == ["1", 1, None]


def test_multi_exec_is_a_transaction(rest: Redis, key: str) -> None:
    tx = rest.multi()
    tx.zadd(key, {"a": 1})
    tx.zrem(key, "a")
    tx.zscore(key, "a")
    assert tx.exec() == [1, 1, None]


def test_wrong_token_is_refused_with_401(services: SuiteServices) -> None:
    bad = Redis(url=services.rest_url, token="not-the-token", rest_retries=0)
    with pytest.raises(UpstashError, match="Unauthorized"):
        bad.get("anything")
    response = httpx.post(services.rest_url, json=["PING"])
    assert response.status_code == 401


def test_malformed_requests_are_400_not_crashes(services: SuiteServices) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert httpx.post(services.rest_url, content=b"{not json", headers=headers).status_code == 400
    assert httpx.post(services.rest_url, json={"a": 1}, headers=headers).status_code == 400
    assert httpx.post(services.rest_url, json=[], headers=headers).status_code == 400
    response = httpx.post(services.rest_url, json=["NOSUCHCOMMAND"], headers=headers)
    assert response.status_code == 400 and "error" in response.json()


def test_async_client(services: SuiteServices, tcp: redis.Redis, key: str) -> None:
    tcp.set(key, "async")
    snapshot = load_script("snapshot").source

    async def scenario() -> list[object]:
        client = AsyncRedis(url=services.rest_url, token=TOKEN, rest_retries=0)
        try:
            pipe = client.pipeline()
            pipe.get(key)
            pipe.zadd(f"{key}:z", {"f": 1})
            snap = await client.eval(snapshot, [f"{key}:h", f"{key}:x", f"{key}:room"], [])
            return [await client.get(key), snap[:3], await pipe.exec()]
        finally:
            await client.close()

    assert asyncio.run(scenario()) == ["async", [[], None, None], ["async", 1]]
