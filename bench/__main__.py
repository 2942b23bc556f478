"""`make bench`: every figure of CONTRACT section 8, measured side by side in one run.

- hot auction: 8, 32 and 128 bidders on one auction through the local HTTP stack, for
  BENCH_SECONDS (10) each: our bid path, the HTTP floor (a no-op route on the same server,
  same auth and body) and the peer design (SELECT ... FOR UPDATE on the same PostgreSQL
  through the same server); each as is, and with 1 ms added each way between the app and
  PostgreSQL and between the app and Redis (delaying TCP proxies), as in production;
- the Redis floor: raw redis-py EVALSHA of the same bid script on the same Redis, and the
  same script through the bridge with the upstash-redis client;
- fan-out: bid accepted -> client received, for 1,000 and 10,000 WebSocket clients in one room
  (bench/fanout.py), and memory per idle connection;
- cold start: import + first request of the functions' handler module;
- search over 100,000 auctions (full text vs ILIKE) and photo ingest (bench/search.py).

Prints a table and writes bench/results.json with the machine it ran on.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text

from bench import bench_services, loadgen, redis_floor
from bench import search as search_bench
from infra.embedded import free_port
from infra.stack import Stack
from infra.tcp_proxy import TcpProxy
from shared.adapters.db import Database, make_engine, sqlalchemy_url
from shared.adapters.orm import Auction, User
from shared.adapters.tokens import Verifier
from shared.settings import REPO_ROOT, load_settings

RESULTS = REPO_ROOT / "bench" / "results.json"
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
BIDDERS = [int(n) for n in os.environ.get("BENCH_BIDDERS", "8,32,128").split(",")]
DELAY_S = 0.001
# Processes for the API server and the bridge: one per core, as the local stack would run in
# production-like conditions (every design gets the same server).
WORKERS = int(os.environ.get("BENCH_WORKERS", str(os.cpu_count() or 1)))


def log(message: str) -> None:
    print(message, flush=True)


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


def setup_database(database_url: str, people: int) -> tuple[list[str], uuid.UUID]:
    """A fresh schema, bidders with dev tokens, and their seller."""
    from infra.migrate import upgrade
    from tests.support.harness import ensure_database

    ensure_database(database_url)
    engine = make_engine(database_url, pool_size=0)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    upgrade(database_url)
    verifier = Verifier(load_settings(APP_ENV="test"))
    tokens = []
    db = Database(make_engine(database_url, pool_size=0))
    with db.session() as session:
        for i in range(people):
            token = verifier.mint_dev_token(f"bench-{i}@example.com", f"Bidder {i}", "buyer")
            principal = verifier.verify(token)
            session.add(
                User(
                    id=uuid.UUID(principal.user_id),
                    email=principal.email,
                    name=principal.name,
                    role="buyer",
                )
            )
            tokens.append(token)
        seller = uuid.uuid4()
        session.add(User(id=seller, email="bench-seller@example.com", name="Seller", role="seller"))
    db.dispose()
    return tokens, seller


def new_auction(database_url: str, seller: uuid.UUID) -> uuid.UUID:
    db = Database(make_engine(database_url, pool_size=0))
    now = datetime.now(UTC)
    with db.session() as session:
        auction = Auction(
            id=uuid.uuid4(),
            seller_id=seller,
            item_name="Hot lot",
            description="",
            start_price=Decimal("1.00"),
            bid_increment=Decimal("1.00"),
            go_live_at=now - timedelta(seconds=1),
            duration_mins=60,
            ends_at=now + timedelta(minutes=60),
            status="live",
            round=1,
        )
        session.add(auction)
        auction_id = auction.id
    db.dispose()
    return auction_id


def pg_target(database_url: str) -> tuple[str, int] | str:
    from urllib.parse import urlsplit

    _, args = sqlalchemy_url(database_url)
    if "unix_sock" in args:
        return str(args["unix_sock"])
    parts = urlsplit(database_url)
    return (parts.hostname or "127.0.0.1", parts.port or 5432)


def through(proxy: TcpProxy, database_url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(database_url)
    return f"postgresql://{parts.username or 'postgres'}@127.0.0.1:{proxy.port}{parts.path}"


def hot_auction(
    database_url: str, redis_url: str, tokens: list[str], seller: uuid.UUID
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for label, delay in (("as_is", 0.0), ("delay_1ms", DELAY_S)):
        log(f"\n== hot auction, {label} ==")
        bridge_port = free_port()
        stack = Stack(
            database_url=database_url,
            redis_url=redis_url,
            api_port=free_port(),
            socket_port=free_port(),
            bridge_port=bridge_port,
            quiet=True,
            workers=WORKERS,
        )
        proxies: list[TcpProxy] = []
        db_url, rest_url = database_url, f"http://127.0.0.1:{bridge_port}"
        stack.start_bridge()
        if delay:
            pg_proxy = TcpProxy(pg_target(database_url), delay_s=delay).start()
            rest_proxy = TcpProxy(("127.0.0.1", bridge_port), delay_s=delay).start()
            proxies += [pg_proxy, rest_proxy]
            db_url, rest_url = (
                through(pg_proxy, database_url),
                f"http://127.0.0.1:{rest_proxy.port}",
            )
        api = Stack(
            database_url=db_url,
            redis_url=redis_url,
            api_port=stack.api_port,
            bridge_port=None,
            quiet=True,
            workers=WORKERS,
            extra_env={
                "UPSTASH_REDIS_REST_URL": rest_url,
                "AUCTION_BENCH_ROUTES": "1",
                "APP_ENV": "test",
                "LOG_LEVEL": "WARNING",
                "BID_RATE_LIMIT": "1000000/s:1000000",
            },
        )
        api.start_api()
        api.wait_healthy()
        try:
            for n in BIDDERS:
                row: dict[str, Any] = {}
                designs = ["http_floor", "bid_path", "row_lock"]
                if n == 32:
                    designs.insert(2, "bid_path_proxies")  # 30% proxy maximums in the mix
                for design in designs:
                    auction_id = new_auction(database_url, seller)
                    url = {
                        "http_floor": f"{api.api_url}/bench/noop",
                        "bid_path": f"{api.api_url}/api/auctions/{auction_id}/bids",
                        "bid_path_proxies": f"{api.api_url}/api/auctions/{auction_id}/bids",
                        "row_lock": f"{api.api_url}/bench/rowlock/{auction_id}/bids",
                    }[design]
                    share = 0.3 if design == "bid_path_proxies" else 0.0
                    outcome = loadgen.run(url, tokens[:n], SECONDS, proxy_share=share).summary()
                    row[design] = outcome
                    log(
                        f"  {n:>3} bidders  {design:<16} {outcome['attempts_per_s']:>8} att/s "
                        f"{outcome['accepted_per_s']:>8} acc/s  p50 {outcome['p50_ms']:>7} ms  "
                        f"p99 {outcome['p99_ms']:>7} ms  max {outcome['max_ms']:>8} ms"
                    )
                results.setdefault(label, {})[str(n)] = row
        finally:
            api.stop()
            stack.stop()
            for proxy in proxies:
                proxy.stop()
    return results


COLD_START_PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
import app
t1 = time.perf_counter()
auction_id = sys.argv[1]
event = {
    "resource": "/api/auctions/{auction_id}", "path": f"/api/auctions/{auction_id}",
    "httpMethod": "GET", "headers": {"Accept": "application/json"},
    "multiValueHeaders": {"Accept": ["application/json"]},
    "queryStringParameters": None, "multiValueQueryStringParameters": None,
    "pathParameters": {"auction_id": auction_id}, "stageVariables": None,
    "requestContext": {"resourcePath": "/api/auctions/{auction_id}", "httpMethod": "GET",
                       "stage": "api", "requestId": "cold-start",
                       "identity": {"sourceIp": "127.0.0.1"}},
    "body": None, "isBase64Encoded": False,
}
class Context:
    aws_request_id = "cold-start"
    function_name = "auction-api"
    memory_limit_in_mb = 512
    def get_remaining_time_in_millis(self): return 30000
response = app.app(event, Context())
t2 = time.perf_counter()
print(json.dumps({"import_ms": (t1 - t0) * 1000, "first_request_ms": (t2 - t1) * 1000,
                  "status": response["statusCode"]}))
"""


def cold_start(database_url: str, redis_url: str, seller: uuid.UUID) -> dict[str, Any]:
    """The deployed bundle as Lambda runs it: `make package`'s zip extracted into a read-only
    directory, a fresh interpreter with nothing on its path but the bundle and the standard
    library (-S), importing app.py and serving a first GET /api/auctions/{id} (PostgreSQL
    and Redis through the bridge, like a real first request)."""
    import shutil
    import stat
    import zipfile

    from infra import package
    from infra.bridge import serve_in_thread

    log("  packaging the functions (make package) to measure the code as it is now")
    bundle = package.package()
    task = REPO_ROOT / "var" / "bench" / "lambda-task"
    if task.exists():
        for path in task.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        shutil.rmtree(task)
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(task)
    for path in task.rglob("*"):  # read-only, like /var/task: no bytecode gets written
        path.chmod(stat.S_IREAD | (stat.S_IEXEC if path.is_dir() else 0))
    bridge = serve_in_thread(redis_url, "cold-token", 0)
    auction_id = new_auction(database_url, seller)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(task),
        "PYTHONDONTWRITEBYTECODE": "1",
        "APP_ENV": "test",
        "LOG_LEVEL": "WARNING",
        "DATABASE_URL": database_url,
        "UPSTASH_REDIS_REST_URL": f"http://127.0.0.1:{bridge.server_address[1]}",
        "UPSTASH_REDIS_REST_TOKEN": "cold-token",
    }
    samples = []
    try:
        for _ in range(7):
            out = subprocess.run(
                [sys.executable, "-S", "-c", COLD_START_PROBE, str(auction_id)],
                cwd=task,
                capture_output=True,
                text=True,
                env=env,
                check=True,
            )
            samples.append(json.loads(out.stdout.strip().splitlines()[-1]))
    finally:
        bridge.shutdown()
        bridge.server_close()
    samples.sort(key=lambda s: s["import_ms"] + s["first_request_ms"])
    median = samples[len(samples) // 2]
    return {
        "import_ms": round(median["import_ms"], 1),
        "first_request_ms": round(median["first_request_ms"], 1),
        "total_ms": round(median["import_ms"] + median["first_request_ms"], 1),
        "status": median["status"],
        "samples": len(samples),
        "what": "GET /api/auctions/{id} on the extracted make-package bundle, read-only, -S",
    }


def fan_out(redis_url: str, database_url: str) -> dict[str, Any]:
    try:
        from bench import fanout
    except ImportError:
        return {"skipped": "bench/fanout.py is not there yet"}
    return dict(fanout.run(database_url=database_url, redis_url=redis_url))


def verdicts(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of the benchmark issue, met or not, with the measured figure."""
    out: list[dict[str, Any]] = []
    hot = results.get("hot_auction", {})
    as_is = hot.get("as_is", {}).get("32")
    if as_is:
        ratio = as_is["bid_path"]["attempts_per_s"] / max(
            1.0, as_is["http_floor"]["attempts_per_s"]
        )
        out.append(
            {
                "target": "bid path at 32 bidders >= 50% of the HTTP floor",
                "measured": f"{ratio:.0%}",
                "met": ratio >= 0.5,
            }
        )
        p99 = as_is["bid_path"]["p99_ms"]
        out.append(
            {
                "target": "bid path p99 <= 50 ms at 32 bidders",
                "measured": f"{p99} ms",
                "met": p99 <= 50,
            }
        )
    delayed = hot.get("delay_1ms", {}).get("32")
    if delayed:
        ours = delayed["bid_path"]["accepted_per_s"]
        peer = max(0.1, delayed["row_lock"]["accepted_per_s"])
        out.append(
            {
                "target": ">= 3x the row-lock design's accepted bids/s with 1 ms delays",
                "measured": f"{ours / peer:.1f}x ({ours} vs {peer}/s)",
                "met": ours / peer >= 3,
            }
        )
    cold = results.get("cold_start")
    if cold:
        out.append(
            {
                "target": "cold start <= 300 ms",
                "measured": f"{cold['total_ms']} ms",
                "met": cold["total_ms"] <= 300,
            }
        )
    fan = results.get("fan_out", {})
    for clients, limit in (("1000", 50), ("10000", 250)):
        figure = fan.get(clients) if isinstance(fan, dict) else None
        if isinstance(figure, dict) and "p99_ms" in figure:
            out.append(
                {
                    "target": f"fan-out to {clients} clients p99 <= {limit} ms",
                    "measured": f"{figure['p99_ms']} ms",
                    "met": figure["p99_ms"] <= limit,
                }
            )
    per_conn = fan.get("rss_per_idle_connection_kib") if isinstance(fan, dict) else None
    if per_conn is not None:
        out.append(
            {
                "target": "<= 20 KiB per idle connection",
                "measured": f"{per_conn} KiB",
                "met": per_conn <= 20,
            }
        )
    return out


def main() -> None:
    services, database_url, redis_url = bench_services("auction_bench", 10)
    os.environ.update(DATABASE_URL=database_url, REDIS_URL=redis_url, APP_ENV="test")
    started = time.perf_counter()
    try:
        import redis

        redis.Redis.from_url(redis_url).flushdb()
        tokens, seller = setup_database(database_url, max(BIDDERS))
        results: dict[str, Any] = {
            "machine": machine(database_url, redis_url),
            "seconds_per_run": SECONDS,
            "server_workers": WORKERS,
        }
        log("== cold start ==")
        results["cold_start"] = cold_start(database_url, redis_url, seller)
        log(f"  {results['cold_start']}")
        log("== Redis floor: the bid script, raw redis-py vs upstash-redis through the bridge ==")
        results["redis_floor"] = redis_floor.run(database_url, redis_url, seller, SECONDS / 2)
        log(f"  {results['redis_floor']}")
        results["hot_auction"] = hot_auction(database_url, redis_url, tokens, seller)
        log("\n== fan-out ==")
        results["fan_out"] = fan_out(redis_url, database_url)
        log(f"  {results['fan_out']}")
        from tests.support.harness import with_database

        results["marketplace"] = search_bench.run(
            with_database(database_url, "auction_bench_search"), redis_url
        )
        results["targets"] = verdicts(results) + search_bench.verdicts(results["marketplace"])
        results["took_s"] = round(time.perf_counter() - started, 1)
    finally:
        services.stop()
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    log("\n== targets ==")
    for v in results["targets"]:
        log(f"  [{'met' if v['met'] else 'NOT MET':>7}] {v['target']}: {v['measured']}")
    log(f"\nwrote {RESULTS.relative_to(REPO_ROOT)} in {results['took_s']} s")


if __name__ == "__main__":
    main()
