"""The socket node's figures: `GET /metrics` in Prometheus text for an admin's
token or a scraper on this machine, `GET /admin/metrics` as JSON for the admin page, and each
figure counting what really happened on a real node (real Redis, PostgreSQL, bid script,
WebSockets)."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from shared.domain.schedule import Moment
from shared.services import bidding
from shared.services.context import Context
from shared.services.jobs import WorkReport
from socket_node.metrics import may_scrape_without_token
from tests.support.harness import Person, insert_auction, live_auction
from tests.support.socket_node import Client, InProcessNode, NodeProcess, closed_code, wait_for

REQUIRED_FAMILIES = {
    "auction_ws_connections": "gauge",
    "auction_ws_rooms": "gauge",
    "auction_events_fanout_seconds": "histogram",
    "auction_ticker_lag_seconds": "histogram",
    "auction_outbox_pending": "gauge",
    "auction_jobs_dead": "gauge",
}
OWN_FAMILIES = {
    "auction_events": "counter",  # bids placed: type="bid:placed"
    "auction_ws_joins": "counter",
    "auction_ws_replay_gaps": "counter",
    "auction_ws_slow_drops": "counter",
    "auction_ws_rate_limited": "counter",
    "auction_ws_auth": "counter",
    "auction_jobs": "counter",
    "auction_ws_join_seconds": "histogram",
    "auction_ticker_tick_seconds": "histogram",
    "auction_ticker_overdue_seconds": "gauge",
}


def families(text: str) -> dict[str, Any]:
    return {f.name: f for f in text_string_to_metric_families(text)}


def value(text: str, name: str, **labels: str) -> float:
    """One sample's value (0 when the sample is absent)."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def scrape(node: InProcessNode | NodeProcess, **headers: str) -> httpx.Response:
    return httpx.get(f"{node.http_url}/metrics", headers=headers, timeout=10)


def backlog_read(node: InProcessNode) -> None:
    """Wait for the first backlog read (it runs at start, then every 5 s)."""
    wait_for(lambda: "auction_outbox_pending" in scrape(node).text, timeout=15)


def test_curl_metrics_shows_every_family_from_this_machine(
    node_processes: Callable[..., NodeProcess],
) -> None:
    process = node_processes()
    deadline = time.monotonic() + 15
    while True:
        done = subprocess.run(
            ["curl", "-sS", "-D", "-", f"{process.http_url}/metrics"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        head, _, body = done.stdout.partition("\n\n")  # (text mode: CRLF read as LF)
        if "auction_outbox_pending" in body or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert head.startswith("HTTP/1.1 200"), done.stdout[:300]
    assert "text/plain; version=0.0.4" in head
    found = families(body)
    for name, kind in {**REQUIRED_FAMILIES, **OWN_FAMILIES}.items():
        assert name in found, name
        assert found[name].type == kind, name
    # Families with labels show their series before anything happened.
    assert {s.labels.get("moment") for s in found["auction_ticker_lag_seconds"].samples} >= {
        m.value for m in Moment
    }
    assert {s.labels["store"] for s in found["auction_outbox_pending"].samples} == {
        "postgresql",
        "redis",
    }


def test_metrics_through_a_proxy_needs_an_admins_token(
    node: InProcessNode, buyer: Person, admin: Person
) -> None:
    forwarded = {"X-Forwarded-For": "203.0.113.9"}
    anonymous = scrape(node, **forwarded)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    assert json.loads(anonymous.text)["code"] == "unauthenticated"
    not_admin = scrape(node, **forwarded, Authorization=f"Bearer {buyer.token}")
    assert not_admin.status_code == 403
    bad = scrape(node, **forwarded, Authorization="Bearer not-a-token")
    assert bad.status_code == 401
    ok = scrape(node, **forwarded, Authorization=f"Bearer {admin.token}")
    assert ok.status_code == 200
    assert "auction_ws_connections" in families(ok.text)
    assert scrape(node).status_code == 200  # the same request from loopback, no proxy


@pytest.mark.parametrize(
    ("peer", "headers", "allowed"),
    [
        (("127.0.0.1", 50000), {}, True),
        (("127.8.9.10", 50000), {}, True),
        (("::1", 50000, 0, 0), {}, True),
        (("::ffff:127.0.0.1", 50000, 0, 0), {}, False),  # mapped: not what a local client uses
        (("10.0.0.7", 50000), {}, False),  # Render's proxy, another host
        (("203.0.113.9", 443), {}, False),
        (("127.0.0.1", 50000), {"x-forwarded-for": "203.0.113.9"}, False),
        (("127.0.0.1", 50000), {"forwarded": "for=203.0.113.9"}, False),
        (("127.0.0.1", 50000), {"x-real-ip": "203.0.113.9"}, False),
        (None, {}, False),
        (("not-an-address", 1), {}, False),
    ],
)
def test_only_a_local_unproxied_peer_scrapes_without_a_token(
    peer: Any, headers: dict[str, str], allowed: bool
) -> None:
    assert may_scrape_without_token(peer, headers) is allowed


def test_the_figures_count_what_happened(
    ctx: Context,
    node: InProcessNode,
    clients: Callable[..., Client],
    seller: Person,
    buyer: Person,
    admin: Person,
) -> None:
    other = admin  # any second bidder
    auction = live_auction(ctx, seller, start_price="100.00", increment="10.00")
    watcher = clients(node.ws_url)
    signed_in = clients(node.ws_url, buyer.token)
    assert watcher.join(auction)["type"] == "snapshot"
    assert signed_in.join(auction)["type"] == "snapshot"
    for n in range(3):
        bidder = buyer if n % 2 == 0 else other
        bidding.place_bid(ctx, auction, bidder.id, Decimal(100 + 10 * n), request_id=f"r-{n}")
    watcher.events(3, "bid:placed")
    # A join that claims an event this room never had: a replay gap.
    gapped = clients(node.ws_url).join(auction, "99999999999999-0")
    assert gapped["replayGap"] is True
    assert clients(node.ws_url).join(uuid.uuid4())["code"] == "not_found"
    # A token that is no token, at the handshake: closed with 4401, counted as invalid.
    assert closed_code(clients(node.ws_url, "not-a-token")) == 4401
    # A burst of pings: refused past the 40 (not yet closed: that takes 20 refusals).
    flooder = clients(node.ws_url)
    for _ in range(45):
        flooder.send({"type": "ping"})
    flooder.until(lambda m: m.get("code") == "rate_limited")

    text = scrape(node).text
    assert value(text, "auction_ws_connections") == 5
    assert value(text, "auction_ws_rooms") == 1
    assert value(text, "auction_ws_users") == 1
    placed = value(text, "auction_events_total", type="bid:placed")
    assert placed == 3
    assert value(text, "auction_events_total", type="bid:outbid") == 2
    # A latency per event that reached anyone here: the three bids, and the outbid event of
    # the one bidder connected (the other outbid event had no receiver on this node).
    assert value(text, "auction_events_fanout_seconds_count") == 4
    assert value(text, "auction_events_fanout_seconds_bucket", le="+Inf") == 4
    assert 0 < value(text, "auction_events_fanout_seconds_sum") < 4 * 10
    assert value(text, "auction_ws_joins_total", result="ok") == 3
    assert value(text, "auction_ws_joins_total", result="not_found") == 1
    assert value(text, "auction_ws_join_seconds_count") == 3
    assert value(text, "auction_ws_replay_gaps_total") == 1
    assert value(text, "auction_ws_auth_total", stage="handshake", result="ok") == 1
    assert value(text, "auction_ws_auth_total", stage="handshake", result="invalid") == 1
    assert value(text, "auction_ws_rate_limited_total", action="refused") >= 1

    # The admin page's JSON: the same registry.
    response = httpx.get(
        f"{node.http_url}/admin/metrics",
        headers={"Authorization": f"Bearer {admin.token}", "Origin": "http://localhost:5173"},
        timeout=10,
    )
    assert response.status_code == 200
    figures = response.json()
    assert figures["nodeId"] == node.node.node_id
    assert figures["auction_ws_connections"] == 5
    assert figures["auction_events"]["type=bid:placed"] == 3
    fanout = figures["auction_events_fanout_seconds"]
    assert fanout["count"] == 4 and fanout["buckets"][-1] == [None, 4]
    assert [le for le, _ in fanout["buckets"][:-1]] == sorted(
        le for le, _ in fanout["buckets"][:-1]
    )
    assert httpx.get(f"{node.http_url}/admin/metrics", timeout=10).status_code == 401


def test_a_client_that_keeps_flooding_is_counted_as_closed(
    node: InProcessNode, clients: Callable[..., Client]
) -> None:
    flooder = clients(node.ws_url)
    for _ in range(200):
        flooder.send({"type": "ping"})
    assert closed_code(flooder) == 1008
    wait_for(lambda: value(scrape(node).text, "auction_ws_rate_limited_total", action="closed"))


def test_backlog_figures_come_from_redis_and_postgresql(
    ctx: Context, node: InProcessNode, seller: Person
) -> None:
    from shared.services import outbox

    backlog_read(node)
    tcp = redis.Redis.from_url(ctx.settings.redis_url or "", decode_responses=True)
    try:
        tcp.rpush("jobs:dead", "email:test:1", "email:test:2")
        tcp.xadd("outbox:bids", {"r": "{}"})
        # Two rows waiting in PostgreSQL's outbox (committed, not relayed).
        auction = live_auction(ctx, seller)
        with ctx.db.session() as session:
            for _ in range(2):
                outbox.room_event(session, ctx, str(auction), "auction:started", {})
        # An end that was due 30 s ago and that no ticker claimed (this node runs none).
        tcp.zadd("auctions:end", {str(auction): int(time.time() * 1000) - 30_000})

        def figures() -> str | None:
            text = scrape(node).text
            ready = value(text, "auction_jobs_dead") == 2
            return (
                text
                if ready and value(text, "auction_outbox_pending", store="postgresql")
                else None
            )

        text = wait_for(figures, timeout=15)
        assert value(text, "auction_outbox_pending", store="redis") == 1
        assert value(text, "auction_outbox_pending", store="postgresql") == 2
        assert value(text, "auction_ticker_overdue_seconds", moment="end") >= 29
        assert value(text, "auction_ticker_overdue_seconds", moment="start") == 0
        assert 0 <= value(text, "auction_backlog_age_seconds") < 15
    finally:
        tcp.close()


def test_the_ticker_says_how_late_it_ended_an_auction(
    ctx: Context, node_factory: Callable[..., InProcessNode], seller: Person
) -> None:
    node = node_factory(ticker=True)
    ends = datetime.now(UTC) + timedelta(seconds=1.5)
    insert_auction(ctx, seller, go_live_at=ends - timedelta(minutes=1), ends_at=ends, status="live")

    def ended() -> str | None:
        text = scrape(node).text
        return text if value(text, "auction_ticker_lag_seconds_count", moment="end") else None

    text = wait_for(ended, timeout=20)
    assert value(text, "auction_ticker_lag_seconds_count", moment="end") == 1
    late = value(text, "auction_ticker_lag_seconds_sum", moment="end")
    assert 0 <= late < 10  # the ticker runs every second; never an assertion on speed
    assert value(text, "auction_ticker_tick_seconds_count") >= 1


def test_job_outcomes_are_counted_by_outcome(node: InProcessNode) -> None:
    metrics = node.node.metrics
    node.run(lambda: metrics.worked(WorkReport(done=["a", "b"], retried=["c"], dead=["d"])))
    text = scrape(node).text
    assert value(text, "auction_jobs_total", outcome="done") == 2
    assert value(text, "auction_jobs_total", outcome="retry") == 1
    assert value(text, "auction_jobs_total", outcome="dead") == 1


def test_each_node_has_its_own_registry(
    ctx: Context,
    node_factory: Callable[..., InProcessNode],
    clients: Callable[..., Client],
    seller: Person,
) -> None:
    first, second = node_factory(), node_factory()
    auction = live_auction(ctx, seller)
    clients(first.ws_url).join(auction)
    assert value(scrape(first).text, "auction_ws_connections") == 1
    assert value(scrape(second).text, "auction_ws_connections") == 0
