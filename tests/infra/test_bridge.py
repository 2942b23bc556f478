"""The local Upstash-REST bridge, spoken to by the real upstash-redis client (sync and async)."""

from __future__ import annotations

import asyncio
import uuid

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
def key() -> str:
    return f"bridge-test:{uuid.uuid4().hex}"


def test_strings_round_trip_unicode_and_binary_safe_text(rest: Redis, key: str) -> None:
    assert rest.set(key, "héllo ✓ wörld")
    assert rest.get(key) == "héllo ✓ wörld"
    assert rest.incr(f"{key}:n") == 1
    assert rest.get(f"{key}:missing") is None


def test_hashes(rest: Redis, key: str) -> None:
    assert rest.hset(key, values={"a": "1", "b": "two"}) == 2
    assert rest.hgetall(key) == {"a": "1", "b": "two"}
    assert rest.hget(key, "b") == "two"


def test_sorted_sets(rest: Redis, key: str) -> None:
    rest.zadd(key, {"x": 1.5, "y": 3})
    assert rest.zrange(key, 0, -1, withscores=True) == [("x", 1.5), ("y", 3.0)]
    assert rest.zrangebyscore(key, "-inf", 2) == ["x"]


def test_streams(rest: Redis, key: str) -> None:
    first = rest.xadd(key, "*", {"e": "one"})
    rest.xadd(key, "*", {"e": "two"})
    entries = rest.xrange(key, "-", "+")
    assert next(e[0] for e in entries) == first
    assert [e[1] for e in entries] == [["e", "one"], ["e", "two"]]


@pytest.fixture
def snapshot() -> str:
    """A project script (the bridge runs only those): snapshot.lua, as the store loads it."""
    return load_script("snapshot").source


def test_eval_evalsha_and_noscript(
    services: SuiteServices, rest: Redis, key: str, snapshot: str
) -> None:
    tcp = redis.Redis.from_url(services.redis_url)
    tcp.hset(f"{key}:state", mapping={"status": "live"})
    tcp.close()
    state, highest, last_id, now_ms = rest.eval(snapshot, [f"{key}:state", f"{key}:h", key], [])
    assert (state, highest, last_id) == (["status", "live"], None, None)
    assert isinstance(now_ms, int) and now_ms > 0
    sha = rest.script_load(snapshot)
    assert sha == load_script("snapshot").sha
    assert rest.evalsha(sha, [f"{key}:state", f"{key}:h", key], [])[0] == ["status", "live"]
    tcp = redis.Redis.from_url(services.redis_url)
    tcp.script_flush()
    tcp.close()
    with pytest.raises(UpstashError, match=r"^NOSCRIPT"):
        rest.evalsha(sha, [f"{key}:state", f"{key}:h", key], [])


def test_script_errors_keep_redis_error_text(
    services: SuiteServices, rest: Redis, key: str, snapshot: str
) -> None:
    rest.set(f"{key}:state", "not a hash")
    with pytest.raises(UpstashError, match="WRONGTYPE"):
        rest.eval(snapshot, [f"{key}:state", f"{key}:h", key], [])


def test_pipeline_returns_each_result_in_order(rest: Redis, key: str) -> None:
    pipe = rest.pipeline()
    pipe.set(key, "1")
    pipe.incr(key)
    pipe.get(f"{key}:missing")
    assert pipe.exec() == [True, 2, None]


def test_multi_exec_is_a_transaction(rest: Redis, key: str) -> None:
    tx = rest.multi()
    tx.set(key, "10")
    tx.incrby(key, 5)
    assert tx.exec() == [True, 15]


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


def test_async_client(services: SuiteServices, key: str) -> None:
    async def scenario() -> list[object]:
        client = AsyncRedis(url=services.rest_url, token=TOKEN, rest_retries=0)
        try:
            await client.set(key, "async")
            sha = await client.script_load(load_script("snapshot").source)
            pipe = client.pipeline()
            pipe.get(key)
            pipe.hset(f"{key}:h", values={"f": "v"})
            snap = await client.evalsha(sha, [f"{key}:h", f"{key}:x", f"{key}:room"], [])
            return [await client.get(key), snap[:3], await pipe.exec()]
        finally:
            await client.close()

    assert asyncio.run(scenario()) == ["async", [[], None, None], ["async", 1]]
