"""`python -m bench.report`: bench/results.json as the Markdown table in the README."""

from __future__ import annotations

import json
from typing import Any

from bench.fixtures import RESULTS


def table(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        f"Measured {m['when']} on {m['cores']} cores, Python {m['python']}, PostgreSQL "
        f"{m['postgresql']}, Redis {m['redis']}; {results['seconds_per_run']:.0f} s per run, "
        f"{results.get('server_workers', 1)} server workers.",
        "",
        "| latency | bidders | design | attempts/s | accepted/s | p50 ms | p99 ms | max ms |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, by_n in results["hot_auction"].items():
        for n, row in by_n.items():
            for design, f in row.items():
                lines.append(
                    f"| {label.replace('_', ' ')} | {n} | {design.replace('_', ' ')} | "
                    f"{f['attempts_per_s']:.0f} | {f['accepted_per_s']:.1f} | {f['p50_ms']} | "
                    f"{f['p99_ms']} | {f['max_ms']} |"
                )
    floor = results["redis_floor"]
    cold = results["cold_start"]
    lines += [
        "",
        f"Redis floor ({floor['callers']} callers, the bid script): raw redis-py EVALSHA "
        f"{floor['raw_redis_py_evalsha']['calls_per_s']:.0f}/s; upstash-redis through the "
        f"bridge {floor['upstash_rest_via_bridge']['calls_per_s']:.0f}/s.",
        f"Cold start ({cold['what']}): import {cold['import_ms']} ms + first request "
        f"{cold['first_request_ms']} ms = {cold['total_ms']} ms.",
        "",
        "| fan-out clients | p50 ms | p99 ms | max ms | every client got every bid once |",
        "| ---: | ---: | ---: | ---: | --- |",
    ]
    fan = results.get("fan_out", {})
    for clients in ("1000", "10000"):
        f = fan.get(clients)
        if isinstance(f, dict) and "p99_ms" in f:
            lines.append(
                f"| {clients} | {f['p50_ms']} | {f['p99_ms']} | {f['max_ms']} | "
                f"{f['every_client_got_every_bid_once']} |"
            )
    if "rss_per_idle_connection_kib" in fan:
        lines.append(
            f"\nMemory per idle WebSocket connection: {fan['rss_per_idle_connection_kib']} "
            "KiB (socket node RSS)."
        )
    market = results.get("marketplace", {})
    found, photos = market.get("search"), market.get("image_ingest")
    if found:
        lines += [
            "",
            f"Search over {found['auctions']:,} auctions ({found['query']}, {found['clients']} "
            "clients, through the HTTP stack):",
            "",
            "| search | p50 ms | p99 ms | max ms |",
            "| --- | ---: | ---: | ---: |",
        ]
        for label, key in (("full text (tsvector, GIN)", "full_text"), ("ILIKE '%word%'", "ilike")):
            f = found[key]
            lines.append(f"| {label} | {f['p50_ms']} | {f['p99_ms']} | {f['max_ms']} |")
    if photos:
        lines.append(
            f"\nPhoto ingest ({photos['photo_bytes'] / 1e6:.1f} MB phone JPEG, "
            f"{photos['requests']} uploads): p50 {photos['p50_ms']} ms, p99 {photos['p99_ms']} ms."
        )
    lines += ["", "| target | measured | met |", "| --- | --- | --- |"]
    for t in results["targets"]:
        lines.append(f"| {t['target']} | {t['measured']} | {'yes' if t['met'] else 'no'} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(json.loads(RESULTS.read_text())))
