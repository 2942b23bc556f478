"""The local Upstash-REST bridge, spoken to by the real upstash-redis client (sync and async)."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from upstash_redis import AsyncRedis, Redis
from upstash_redis.errors import UpstashError

from tests.support.harness import TOKEN, SuiteServices


@pytest.fixture
def rest(services: SuiteServices) -> Redis:
    return Redis(url=services.rest_url, token=TOKEN, rest_retries=0)


@pytest.fixture
def key() -> str:
    return f"bridge-test:{uuid.uuid4().hex}"


def test_strings_round_trip_unicode_and_binary_safe_text(rest: Redis, key: str) -> None:
    assert rest.set(key, "héllo ✓ wörld") is True
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


def test_eval_evalsha_and_noscript(rest: Redis, key: str) -> None:
    script = "return {KEYS[1], ARGV[1], 42, redis.call('INCR', KEYS[1])}"
    assert rest.eval(script, [key], ["v"]) == [key, "v", 42, 1]
    sha = rest.script_load(script)
    assert rest.evalsha(sha, [key], ["w"]) == [key, "w", 42, 2]
    with pytest.raises(UpstashError, match=r"^NOSCRIPT"):
        rest.evalsha("0" * 40, [], [])


def test_script_errors_keep_redis_error_text(rest: Redis) -> None:
    with pytest.raises(UpstashError, match="ERR"):
        rest.eval("return redis.call('INCR', KEYS[1], 'too', 'many')", ["k"], [])


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
            sha = await client.script_load("return ARGV[1]")
            pipe = client.pipeline()
            pipe.get(key)
            pipe.hset(f"{key}:h", values={"f": "v"})
            return [await client.get(key), await client.evalsha(sha, [], ["ok"]), await pipe.exec()]
        finally:
            await client.close()

    assert asyncio.run(scenario()) == ["async", "ok", ["async", 1]]
