"""`make bench`: every benchmark figure, measured side by side in one run.

- hot auction: 8, 32 and 128 bidders on one auction through the local HTTP stack, for
  BENCH_SECONDS (10) each: our bid path, the HTTP floor (a no-op route on the same server,
  same auth and body) and the peer design (SELECT ... FOR UPDATE on the same PostgreSQL
  through the same server); each as is, and with 1 ms added each way between the app and
  PostgreSQL and between the app and Redis (delaying TCP proxies), as in production;
- the Redis floor: raw redis-py EVALSHA of the same bid script on the same Redis, and the
  same script through the bridge with the upstash-redis client;
- many auctions: 300 live auctions, 1,500 bidders spread over them, aggregate attempts/s and
  p99, beside the hot auction's at 32 bidders (bench/many_auctions.py);
- sniping burst: 300 bidders fire in the last 2 s of one auction (soft close off) while
  watchers follow it over WebSocket: no bid that left >= 20 ms before endsAt refused
  `auction_not_live`, bid -> every watcher p99 (bench/sniping.py); and the same burst in the
  Lambda shape: through a stand-in for API Gateway (the arrival stamp) onto at most 20
  instances of the extracted bundle, most of them started cold during the burst: none that
  arrived before endsAt refused `auction_not_live` (bench/sniping_lambda.py);
- fan-out: bid accepted -> client received, for 1,000 and 10,000 WebSocket clients in one room
  (bench/fanout.py), and memory per idle connection; and 10,000 clients split over two socket
  nodes (two processes) in one room;
- cold start: import + first request of the functions' handler module;
- search over 100,000 auctions (full text vs ILIKE) and photo ingest (bench/search.py);
- peak memory per photo upload, a 12 MP JPEG and a 6,300 x 6,300 PNG, each decoded and
  re-encoded in a child process of its own (bench/photo_memory.py).
- the suspended-user check (moderation): its Redis CPU inside the write limiter's and the bid
  script's round trip, beside a separate check's round trip (bench/suspension.py).
- the public bid log of a 10,000-entry auction: proof sizes, and `verify_auction` checking it
  all over HTTP (bench/ledger.py).

Prints every row of the issue's target table (bench/verdicts.py: met, NOT MET, or not
measured by this run) and writes bench/results.json with the machine it ran on.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench import (
    api_cpu,
    cold_start,
    hot_auction,
    ledger,
    many_auctions,
    photo_memory,
    redis_floor,
    sniping,
    sniping_lambda,
    suspension,
)
from bench import search as search_bench
from bench import verdicts as verdict_rows
from bench.fixtures import (
    BIDDERS,
    RESULTS,
    SECONDS,
    WORKERS,
    bench_services,
    log,
    setup_database,
)
from shared.adapters.db import make_engine
from shared.settings import REPO_ROOT


def machine(database_url: str, redis_url: str) -> dict[str, Any]:
    import redis

    engine = make_engine(database_url, pool_size=0)
    with engine.connect() as conn:
        pg = conn.execute(text("SHOW server_version")).scalar()
    engine.dispose()
    info = redis.Redis.from_url(redis_url).info("server")
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "postgresql": pg,
        "redis": info.get("redis_version"),
        "platform": platform.platform(),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def fan_out(redis_url: str, database_url: str) -> dict[str, Any]:
    try:
        from bench import fanout
    except ImportError:
        return {"skipped": "bench/fanout.py is not there yet"}
    return dict(fanout.run(database_url=database_url, redis_url=redis_url))


SCENARIOS = (
    "api_cpu",
    "cold_start",
    "redis_floor",
    "suspension_check",
    "hot_auction",
    "many_auctions",
    "sniping",
    "sniping_lambda",
    "fan_out",
    "fan_out_two_nodes",
    "search",
    "photo_memory",
    "ledger",
)


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="The benchmark figures, side by side (about 10 minutes). "
        "BENCH_SECONDS, BENCH_BIDDERS and BENCH_WORKERS tune the hot auction.",
    )
    parser.add_argument(
        "--only",
        choices=SCENARIOS,
        action="append",
        help="run only this scenario (repeatable); the figures are printed, and "
        f"{RESULTS.relative_to(REPO_ROOT)} is written only by a full run",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="also write this run's results (a partial one too) to this file",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = arguments(argv)
    chosen = tuple(args.only or SCENARIOS)
    started = time.perf_counter()
    with bench_services("auction_bench") as (database_url, redis_url):
        os.environ.update(DATABASE_URL=database_url, REDIS_URL=redis_url, APP_ENV="test")
        import redis

        redis.Redis.from_url(redis_url).flushdb()
        people = max(BIDDERS)
        if "sniping" in chosen:
            people = max(people, sniping.SNIPERS)
        if "sniping_lambda" in chosen:
            people = max(people, sniping_lambda.SNIPERS + 1)
        if "many_auctions" in chosen:
            people = max(people, many_auctions.BIDDERS)
        tokens, seller = setup_database(database_url, people)
        results: dict[str, Any] = {
            "machine": machine(database_url, redis_url),
            "seconds_per_run": SECONDS,
            "server_workers": WORKERS,
        }
        if "api_cpu" in chosen:
            results["api_cpu"] = api_cpu.run(database_url, redis_url, tokens, seller)
        if "cold_start" in chosen:
            log("== cold start ==")
            results["cold_start"] = cold_start.run(database_url, redis_url, tokens, seller)
            log(f"  {results['cold_start']}")
        if "redis_floor" in chosen:
            log("== Redis floor: the bid script, raw redis-py vs upstash-redis via the bridge ==")
            results["redis_floor"] = redis_floor.run(database_url, redis_url, seller, SECONDS / 2)
            log(f"  {results['redis_floor']}")
        if "suspension_check" in chosen:
            log("== the suspended-user check: Redis CPU per call, against a separate check ==")
            results["suspension_check"] = suspension.run(redis_url, database_url)
            log(f"  {results['suspension_check']}")
        if "hot_auction" in chosen:
            results["hot_auction"] = hot_auction.run(database_url, redis_url, tokens, seller)
        if "many_auctions" in chosen:
            results["many_auctions"] = many_auctions.run(database_url, redis_url, tokens, seller)
        if "sniping" in chosen:
            results["sniping"] = sniping.run(database_url, redis_url, tokens, seller)
        if "sniping_lambda" in chosen:
            results["sniping_lambda"] = sniping_lambda.run(database_url, redis_url, tokens, seller)
        if "fan_out" in chosen:
            log("\n== fan-out ==")
            results["fan_out"] = fan_out(redis_url, database_url)
            log(f"  {results['fan_out']}")
        if "fan_out_two_nodes" in chosen:
            from bench import fanout

            log("\n== fan-out over two socket nodes ==")
            results["fan_out_two_nodes"] = fanout.run_two_nodes(
                database_url=database_url, redis_url=redis_url
            )
        if "search" in chosen:
            from infra.databases import with_database

            results["marketplace"] = search_bench.run(
                with_database(database_url, "auction_bench_search"), redis_url
            )
        if "photo_memory" in chosen:
            log("\n== peak memory per photo upload (child processes) ==")
            results["photo_memory"] = photo_memory.run()
            log(f"  {results['photo_memory']}")
        if "ledger" in chosen:
            log("\n== ledger: a 10,000-entry auction's log, checked by verify_auction ==")
            results["ledger"] = ledger.run()
            log(f"  {results['ledger']}")
        # The table, every row (met, NOT MET, or not measured), then search's.
        results["targets"] = verdict_rows.verdicts(results) + [
            {**row, "figure": "search p99", "verdict": "met" if row["met"] else "NOT MET"}
            for row in search_bench.verdicts(results.get("marketplace", {}))
        ]
        results["took_s"] = round(time.perf_counter() - started, 1)
    log("\n== targets ==")
    for row in results["targets"]:
        log(verdict_rows.line(row))
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    if chosen != SCENARIOS:
        log(f"\npartial run ({', '.join(chosen)}) in {results['took_s']} s; results.json kept")
        return
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    log(f"\nwrote {RESULTS.relative_to(REPO_ROOT)} in {results['took_s']} s")


if __name__ == "__main__":
    main()
