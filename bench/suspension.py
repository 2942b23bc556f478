"""What the suspended-user check costs (moderation): it rides inside a round trip
every write already makes (the write limiter's script, the bid script), so its cost is Redis
CPU per call, not a round trip. Measured here, side by side on the same Redis:

- the write limiter's script for an anonymous caller (no check) and for a signed-in one (EXISTS
  + SISMEMBER on the suspended set of `SUSPENDED_USERS` members);
- the bid script as shipped, and the same script with the check cut out;
- beside them, what a separate check would have cost: one more round trip (a SISMEMBER of its
  own), and a PostgreSQL primary-key read of `users.suspended_at`.

`python -m bench.suspension` prints it; `make bench` includes it (results.json
"suspension_check")."""

from __future__ import annotations

import time
import uuid
from decimal import Decimal
from typing import Any

import redis

from shared.adapters import keys
from shared.adapters.redis_store import Script, load_script
from shared.services import bidding
from shared.settings import load_settings

SUSPENDED_USERS = 1_000
CALLS = 20_000
REPEATS = 3  # alternating runs of each variant; the fastest counts (the least disturbed)
CHECK = """if redis.call('EXISTS', KEYS[11]) == 0 then return {'missing', '"suspensions"'} end
if redis.call('SISMEMBER', KEYS[11], user_id) == 1 then
  return {'refused', cjson.encode({code = 'account_suspended'})}
end"""


def _usec_per_call(client: redis.Redis, run: Any) -> float:
    """Redis's own CPU time per EVALSHA (INFO commandstats), for `run()`'s calls."""
    client.config_resetstat()
    run()
    stats = client.info("commandstats").get("cmdstat_evalsha", {})
    return round(float(stats.get("usec_per_call", 0.0)), 2)


def _fastest(client: redis.Redis, runs: dict[str, Any]) -> dict[str, float]:
    """Each variant's usec per call, the best of REPEATS alternating runs (a busy machine
    slows runs at random; alternating keeps the variants' odds equal)."""
    best: dict[str, float] = {}
    for _ in range(REPEATS):
        for name, run in runs.items():
            measured = _usec_per_call(client, run)
            best[name] = min(best.get(name, measured), measured)
    return best


def _round_trip_us(client: redis.Redis, command: Any) -> float:
    started = time.perf_counter()
    for _ in range(CALLS):
        command()
    return round((time.perf_counter() - started) / CALLS * 1e6, 1)


def run(redis_url: str, database_url: str | None = None) -> dict[str, Any]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.delete(keys.SUSPENDED)
    client.sadd(
        keys.SUSPENDED,
        keys.SUSPENDED_SENTINEL,
        *(str(uuid.uuid4()) for _ in range(SUSPENDED_USERS)),
    )
    user = str(uuid.uuid4())
    limiter = load_script("write_limit")
    client.script_load(limiter.source)
    bucket = keys.write_bucket("bench", f"user:{user}")

    def limiter_calls(who: str) -> Any:
        return lambda: [
            client.evalsha(limiter.sha, 2, bucket, keys.SUSPENDED, 1e9, 1e9, who)
            for _ in range(CALLS)
        ]

    out: dict[str, Any] = {"suspended_users_in_set": SUSPENDED_USERS, "calls": CALLS}
    out["write_limiter_usec_per_call"] = _fastest(
        client, {"without_check": limiter_calls(""), "with_check": limiter_calls(user)}
    )

    shipped = load_script("place_bid")
    assert CHECK in shipped.source, "the bid script's check changed: update bench/suspension.py"
    unchecked = Script("place_bid_unchecked", shipped.source.replace(CHECK, ""))
    settings = load_settings(BID_RATE_LIMIT="1000000000/s:1000000000")
    auction = uuid.uuid4()
    seller_id = str(uuid.uuid4())
    state = {
        "status": "live",
        "goLiveAt": 0,
        "endsAt": 4_102_444_800_000,
        "startPrice": 100,
        "increment": 100,
        "sellerId": seller_id,
        "round": 1,
        "seq": 0,
        "blockedKey": keys.blocked_bidders(seller_id),  # the seller's blocked set, checked too
    }
    client.sadd(keys.blocked_bidders(seller_id), keys.BLOCKED_SENTINEL)

    def bid_calls(script: Script) -> Any:
        def calls() -> None:
            client.delete(
                keys.state(str(auction)), keys.highest(str(auction)), keys.placed_bids(str(auction))
            )
            client.hset(keys.state(str(auction)), mapping=state)
            for i in range(CALLS // 4):
                script_keys, args = bidding.bid_script_call(
                    settings, auction, str(uuid.UUID(int=i % 2 + 1)), Decimal(i + 1)
                )
                client.evalsha(script.sha, len(script_keys), *script_keys, *args)

        return calls

    for script in (shipped, unchecked):
        client.script_load(script.source)
    out["bid_script_usec_per_call"] = _fastest(
        client, {"without_check": bid_calls(unchecked), "with_check": bid_calls(shipped)}
    )
    out["separate_check_round_trip_us"] = {
        "redis_sismember": _round_trip_us(client, lambda: client.sismember(keys.SUSPENDED, user)),
    }
    if database_url:
        from sqlalchemy import select

        from shared.adapters.db import Database, make_engine
        from shared.adapters.orm import User

        db = Database(make_engine(database_url, pool_size=1))
        uid = uuid.uuid4()
        try:
            with db.session() as session:
                out["separate_check_round_trip_us"]["postgresql_pk_read"] = _round_trip_us(
                    client,
                    lambda: session.scalar(select(User.suspended_at).where(User.id == uid)),
                )
        finally:
            db.dispose()
    for name in (keys.SUSPENDED, bucket, keys.state(str(auction)), keys.highest(str(auction))):
        client.delete(name)
    client.close()
    return out


def main() -> None:
    import json
    import os

    print(json.dumps(run(os.environ["REDIS_URL"], os.environ.get("DATABASE_URL")), indent=2))


if __name__ == "__main__":
    main()
