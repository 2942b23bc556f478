"""`python -m bench.report`: bench/results.json as the Markdown tables of docs/benchmarks.md."""

from __future__ import annotations

import json
from typing import Any

from bench.fixtures import RESULTS


def _suspension(check: dict[str, Any] | None) -> list[str]:
    if not check:
        return []
    lim, bid = check["write_limiter_usec_per_call"], check["bid_script_usec_per_call"]
    sep = check["separate_check_round_trip_us"]
    return [
        f"Suspended-user check (Redis CPU per call, inside the round trip the write makes "
        f"anyway): write limiter {lim['without_check']} -> {lim['with_check']} us, bid script "
        f"{bid['without_check']} -> {bid['with_check']} us; a separate check would cost a round "
        f"trip: SISMEMBER {sep['redis_sismember']} us"
        + (
            f", PostgreSQL read {sep['postgresql_pk_read']} us."
            if "postgresql_pk_read" in sep
            else "."
        )
    ]


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
        *_suspension(results.get("suspension_check")),
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
    lines += _round_two(results)
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
    memory = results.get("photo_memory")
    if memory:
        jpeg, png = memory["jpeg_12mp"], memory["png_6300"]
        lines.append(
            f"\nPeak memory per photo upload (decode and re-encode, a child process each): "
            f"12 MP JPEG ({jpeg['upload_kb'] / 1024:.1f} MB) {jpeg['peak_mb']} MB, "
            f"6,300 x 6,300 PNG ({png['upload_kb']} KB, {png['decoded_mb']} MB decoded) "
            f"{png['peak_mb']} MB."
        )
    chain = results.get("ledger")
    if chain:
        lines.append(
            f"\nVerifiable auction ({chain['entries']:,} entries): the ledger adds "
            f"{chain.get('api_cpu_us_per_bid', 'n/a')} µs of API CPU to a bid (entries built, "
            f"receipt signed); an inclusion proof is at most "
            f"{chain['inclusion_proof_hashes_max']} hashes "
            f"({chain['inclusion_proof_node_reads_max']} stored nodes read), a consistency proof "
            f"{chain['consistency_proof_hashes_max']}; "
            f"appending a leaf {chain['append_us_per_leaf']} µs; `verify_auction` over HTTP "
            f"{chain['verify_s']} s (its own CPU {chain['verify_cpu_s']} s); every inclusion "
            f"proof checked locally {chain['every_inclusion_proof_checked_s']} s."
        )
    lines += ["", "| figure | target | measured | verdict |", "| --- | --- | --- | --- |"]
    for t in results["targets"]:
        verdict = t.get("verdict") or ("met" if t["met"] else "NOT MET")
        lines.append(
            f"| {t.get('figure', t['target'])} | {t['target']} | {t['measured']} | {verdict} |"
        )
    return "\n".join(lines)


def _round_two(results: dict[str, Any]) -> list[str]:
    """Many auctions, the sniping burst and the two-node fan-out, when the run measured them."""
    lines: list[str] = []
    many = results.get("many_auctions")
    if many:
        lines.append(
            f"\nMany auctions ({many['auctions']} live auctions, {many['bidders']} bidders spread "
            f"over them): {many['attempts_per_s']:.0f} attempts/s, {many['accepted_per_s']:.0f} "
            f"accepted/s, p50 {many['p50_ms']} ms, p99 {many['p99_ms']} ms."
        )
    snipe = results.get("sniping")
    if snipe:
        lines.append(
            f"\nSniping burst ({snipe['bidders']} bidders in the last 2 s, {snipe['watchers']} "
            f"watchers, soft close off): {snipe['bids_sent']} bids, outcomes "
            f"{snipe['outcomes']}; refused `auction_not_live` though sent >= "
            f"{snipe['margin_ms']:.0f} ms before endsAt: {snipe['early_refused_not_live']}; bid "
            f"p99 {snipe['bid_latency']['p99_ms']} ms; bid -> every watcher p50 "
            f"{snipe['bid_to_all_watchers']['p50_ms']} ms, p99 "
            f"{snipe['bid_to_all_watchers']['p99_ms']} ms."
        )
    two = results.get("fan_out_two_nodes")
    if isinstance(two, dict) and "p99_ms" in two:
        lines.append(
            f"\nFan-out over two socket nodes ({two['clients']} clients, "
            f"{' + '.join(str(n) for n in two['clients_per_node'])}): p50 {two['p50_ms']} ms, "
            f"p99 {two['p99_ms']} ms, every client got every bid once: "
            f"{two['every_client_got_every_bid_once']}; memory per idle connection per node "
            f"{two['rss_per_idle_connection_kib_per_node']} KiB."
        )
    return lines


if __name__ == "__main__":
    print(table(json.loads(RESULTS.read_text())))
