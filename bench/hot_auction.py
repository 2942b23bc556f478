"""Hot auction: N bidders (one connection each, closed loop) on one auction through the local
HTTP stack (`infra.api_server`, one worker process per core, and the bridge), for SECONDS each:
the bid path, the bid path with 30% proxy maximums (32 bidders), the HTTP floor (a no-op route
with the same token check and body parsing) and the peer design (a row lock); as is, and with
1 ms added each way between the app and PostgreSQL and on the REST endpoint's way to Redis
(delaying proxies)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

from bench import loadgen
from bench.fixtures import BIDDERS, DELAY_S, SECONDS, WORKERS, log, new_auction, pg_target, through
from infra.embedded import free_port
from infra.stack import Stack
from infra.tcp_proxy import TcpProxy


def run(database_url: str, redis_url: str, tokens: list[str], seller: uuid.UUID) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for label, delay in (("as_is", 0.0), ("delay_1ms", DELAY_S)):
        log(f"\n== hot auction, {label} ==")
        bridge_port = free_port()
        proxies: list[TcpProxy] = []
        db_url, bridge_redis_url = database_url, redis_url
        if delay:
            # The REST leg's 1 ms each way sits between the bridge and Redis: the same round
            # trip for the app, and the bridge refuses a Host that does not name its own port
            # (a proxy in front of it would be that).
            parts = urlsplit(redis_url)
            pg_proxy = TcpProxy(pg_target(database_url), delay_s=delay).start()
            redis_proxy = TcpProxy(
                (parts.hostname or "127.0.0.1", parts.port or 6379), delay_s=delay
            ).start()
            proxies += [pg_proxy, redis_proxy]
            db_url = through(pg_proxy, database_url)
            bridge_redis_url = parts._replace(
                netloc=f"{parts.netloc.rpartition('@')[0]}{'@' if '@' in parts.netloc else ''}"
                f"127.0.0.1:{redis_proxy.port}"
            ).geturl()
        stack = Stack(
            database_url=database_url,
            redis_url=bridge_redis_url,
            api_port=free_port(),
            socket_port=free_port(),
            bridge_port=bridge_port,
            quiet=True,
            workers=WORKERS,
        )
        rest_url = f"http://127.0.0.1:{bridge_port}"
        stack.start_bridge()
        api = Stack(
            database_url=db_url,
            redis_url=redis_url,
            api_port=stack.api_port,
            bridge_port=None,
            token=stack.token,  # the bridge's: each Stack draws a fresh one otherwise
            quiet=True,
            workers=WORKERS,
            api_module="bench.api_server",  # the bench routes (the HTTP floor, the peer designs)
            extra_env={
                "UPSTASH_REDIS_REST_URL": rest_url,
                "APP_ENV": "test",
                "LOG_LEVEL": "WARNING",
                "BID_RATE_LIMIT": "1000000/s:1000000",
            },
        )
        try:  # a server that never came up is stopped all the same
            api.start_api()
            api.wait_healthy()
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
