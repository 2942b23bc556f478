"""The socket node's figures (docs/runbooks.md, "Runbook: figures and logs").

`GET /metrics` serves them as Prometheus text (prometheus-client), `GET /admin/metrics` as JSON
for the admin page's graphs; both read the same registry, one per node object (a test runs
several nodes in one process, so never the library's global default registry).

Where each comes from, and what it costs the node:
- counted where it happens, on the event loop (a few hundred nanoseconds each): fan-out
  latency and events by type (`fanned_out`, once per feed entry, never per connection), joins,
  WebSocket authentication, job outcomes and ticker lag (from the reports of the worker
  threads);
- read at scrape time from plain numbers the node keeps anyway: connections, rooms, users,
  slow clients dropped, messages refused by the rate limit and connections closed with 1008,
  replay gaps;
- read from PostgreSQL and Redis every `BACKLOG_EVERY_S` in a worker thread, never on a
  scrape (`shared.services.backlog`: one capped count, one pipeline): outbox rows, bid
  records waiting, ready and dead jobs, the oldest overdue schedule entry. A scrape while
  PostgreSQL hangs answers at once with the last figures and their age.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import math
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from shared.domain.schedule import Moment
from shared.logs import Event
from shared.services import backlog
from shared.services.context import Context
from shared.services.jobs import WorkReport
from shared.services.ticker import TickReport
from socket_node.messages import FeedEvent

log = logging.getLogger("socket_node.fanout")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# From the bid's accept time (the feed entry's id, Redis's clock) to the broadcast here.
FANOUT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# From a transition's due time to the transition done (the ticker runs every second).
LAG_BUCKETS = (0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0, 300.0)
JOIN_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
TICK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BACKLOG_EVERY_S = 5.0
BACKLOG_TIMEOUT_S = 10.0  # a read slower than this is abandoned to its thread, not awaited
# Headers a proxy adds: a request carrying one came through a proxy, whatever its peer is.
FORWARDED = ("forwarded", "x-forwarded-for", "x-real-ip")


class NodeState(Protocol):
    """What the figures read from the node (socket_node.server.SocketNode)."""

    @property
    def hub(self) -> Any: ...

    dropped_slow: int
    refused_connections: int


def may_scrape_without_token(peer: Any, headers: Mapping[str, str]) -> bool:
    """/metrics without a token: only for a client on this machine (a peer on loopback) that
    did not come through a proxy. Behind Render's proxy (TLS ends there, the node sees the
    proxy's address) the peer is never loopback, so the token is needed; a proxy on this
    machine adds X-Forwarded-For, which this refuses too (docs/runbooks.md)."""
    if any(name in headers for name in FORWARDED):
        return False
    host = peer[0] if isinstance(peer, tuple | list) and peer else peer
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


class NodeMetrics:
    def __init__(self, node: NodeState) -> None:
        self.node = node
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.fanout = Histogram(
            "auction_events_fanout_seconds",
            "From an event's publication in Redis (a bid: its acceptance) to its broadcast to "
            "this node's connections, per event with at least one receiver here",
            buckets=FANOUT_BUCKETS,
            registry=r,
        )
        self.ticker_lag = Histogram(
            "auction_ticker_lag_seconds",
            "How late a timed transition fired: done minus due, by moment",
            ["moment"],
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.tick = Histogram(
            "auction_ticker_tick_seconds",
            "How long one lifecycle tick took (intake, relay, transitions)",
            buckets=TICK_BUCKETS,
            registry=r,
        )
        self.join_time = Histogram(
            "auction_ws_join_seconds",
            "From a join message to its snapshot and replay sent",
            buckets=JOIN_BUCKETS,
            registry=r,
        )
        self.events = Counter(
            "auction_events",
            "Feed events this node handled, by type (bid:placed is every accepted bid, proxy "
            "answers included)",
            ["type"],
            registry=r,
        )
        self.joins = Counter(
            "auction_ws_joins",
            "Room joins by result (ok, not_found, unavailable)",
            ["result"],
            registry=r,
        )
        self.auth = Counter(
            "auction_ws_auth",
            "WebSocket token checks by stage (handshake, reauth) and result (ok, invalid, "
            "unavailable)",
            ["stage", "result"],
            registry=r,
        )
        self.jobs = Counter(
            "auction_jobs",
            "Jobs this node's worker ran, by outcome (done, retry, dead)",
            ["outcome"],
            registry=r,
        )
        self.feed_gaps = Counter(
            "auction_feed_gaps",
            "Times the live feed was trimmed past this node's position (rooms caught up from "
            "their streams)",
            registry=r,
        )
        for moment in Moment:
            self.ticker_lag.labels(moment.value)
        for outcome in ("done", "retry", "dead"):
            self.jobs.labels(outcome)
        self._event_counters: dict[str, Any] = {}
        self.backlog: backlog.Backlog | None = None
        self.backlog_at = 0.0  # time.monotonic() of the last read
        self._reading: asyncio.Future[backlog.Backlog] | None = None
        r.register(_LiveFigures(self))

    # -- counted where it happens --------------------------------------------------------------

    def fanned_out(self, event: FeedEvent, receivers: int) -> None:
        """One feed entry handled: its latency (when anyone here got it), its type, and the
        fan-out log line naming the request that caused it."""
        lag = max(0.0, time.time() - event.event_id[0] / 1000)
        if receivers:
            self.fanout.observe(lag)
        counter = self._event_counters.get(event.kind)
        if counter is None:
            counter = self._event_counters[event.kind] = self.events.labels(event.kind)
        counter.inc()
        if log.isEnabledFor(logging.INFO):
            log.info(
                Event(
                    event="fanout",
                    type=event.kind,
                    eventId=f"{event.event_id[0]}-{event.event_id[1]}",
                    auctionId=event.room,
                    requestId=event.request_id,
                    receivers=receivers,
                    lagMs=round(lag * 1000, 1),
                )
            )

    def ticked(self, report: TickReport, seconds: float) -> None:
        self.tick.observe(seconds)
        for moment, late in report.late:
            self.ticker_lag.labels(moment.value).observe(late)

    def worked(self, report: WorkReport) -> None:
        outcomes = {"done": report.done, "retry": report.retried, "dead": report.dead}
        for outcome, ids in outcomes.items():
            if ids:
                self.jobs.labels(outcome).inc(len(ids))

    # -- read every few seconds, in a thread ---------------------------------------------------

    async def refresh_backlog(self, ctx: Context) -> None:
        """One read of the backlog figures, unless the last one is still running (a hung
        PostgreSQL keeps one thread, never more)."""
        if self._reading is not None:
            return
        task = self._reading = asyncio.ensure_future(asyncio.to_thread(backlog.read, ctx))
        task.add_done_callback(self._read_done)
        await asyncio.wait({task}, timeout=BACKLOG_TIMEOUT_S)

    def _read_done(self, task: asyncio.Future[backlog.Backlog]) -> None:
        self._reading = None
        if not task.cancelled() and task.exception() is None:
            self.backlog, self.backlog_at = task.result(), time.monotonic()

    async def backlog_loop(self, ctx: Context) -> None:
        try:
            while True:
                try:
                    await self.refresh_backlog(ctx)
                except Exception:  # never let the figures stop the node
                    log.exception("backlog figures failed")
                await asyncio.sleep(BACKLOG_EVERY_S)
        finally:
            if self._reading is not None:
                self._reading.cancel()  # the node stops: its thread finishes unawaited

    # -- out -------------------------------------------------------------------------------

    def prometheus_text(self) -> bytes:
        return generate_latest(self.registry)

    def figures(self, node_id: str) -> dict[str, Any]:
        """The registry's families as JSON for the admin page: gauges and counters as numbers
        (by label when labelled), histograms as cumulative buckets, count and sum (the page
        takes differences between polls for a quantile over the last interval)."""
        out: dict[str, Any] = {"nodeId": node_id, "at": int(time.time() * 1000)}
        for family in self.registry.collect():
            kind = family.type
            if kind == "histogram":
                out[family.name] = _histogram(family)
                continue
            values: dict[str, float] = {}
            for sample in family.samples:
                if sample.name.endswith("_created"):
                    continue
                key = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                values[key] = _number(sample.value)
            out[family.name] = values.get("", 0.0) if list(values) == [""] else values
        return out


def _number(value: float) -> float:
    return value if math.isfinite(value) else -1.0


def _histogram(family: Metric) -> dict[str, Any]:
    """Summed over labels (the admin page shows one line per figure)."""
    buckets: dict[float, float] = {}
    count = total = 0.0
    for sample in family.samples:
        if sample.name.endswith("_bucket"):
            le = float(sample.labels["le"])
            buckets[le] = buckets.get(le, 0.0) + sample.value
        elif sample.name.endswith("_count"):
            count += sample.value
        elif sample.name.endswith("_sum"):
            total += sample.value
    return {
        "buckets": [[le if math.isfinite(le) else None, n] for le, n in sorted(buckets.items())],
        "count": count,
        "sum": total,
    }


class _LiveFigures(Collector):
    """The figures read at scrape time from what the node keeps anyway (no I/O)."""

    def __init__(self, metrics: NodeMetrics) -> None:
        self.metrics = metrics

    def describe(self) -> Iterable[Metric]:
        return []  # collected fresh each time; nothing to check for clashes up front

    def collect(self) -> Iterator[Metric]:
        node = self.metrics.node
        hub = node.hub
        yield _gauge("auction_ws_connections", "Open WebSocket connections", len(hub.sessions))
        yield _gauge("auction_ws_rooms", "Rooms with at least one member here", len(hub.rooms))
        yield _gauge("auction_ws_users", "Signed-in users connected here", len(hub.users))
        yield _counter(
            "auction_ws_slow_drops",
            "Connections dropped because they did not read fast enough",
            node.dropped_slow,
        )
        limited = CounterMetricFamily(
            "auction_ws_rate_limited",
            "Client messages past the message limit: refused (rate_limited) or the connection "
            "closed with 1008",
            labels=["action"],
        )
        limited.add_metric(["refused"], hub.rate_limited)
        limited.add_metric(["closed"], node.refused_connections)
        yield limited
        yield _counter(
            "auction_ws_replay_gaps",
            "Joins answered replayGap (the client was further behind than a join replays)",
            hub.replay_gaps,
        )
        yield from self._backlog()

    def _backlog(self) -> Iterator[Metric]:
        figures = self.metrics.backlog
        if figures is None:
            return
        pending = GaugeMetricFamily(
            "auction_outbox_pending",
            "Outbox entries not yet applied: PostgreSQL outbox rows (events, state, jobs) and "
            "accepted bids in Redis's outbox:bids not yet stored (their sum is the backlog)",
            labels=["store"],
        )
        if figures.outbox_rows is not None:
            pending.add_metric(["postgresql"], figures.outbox_rows)
        if figures.bid_records is not None:
            pending.add_metric(["redis"], figures.bid_records)
        yield pending
        if figures.jobs_dead is not None:
            yield _gauge("auction_jobs_dead", "Dead letters (jobs:dead)", figures.jobs_dead)
        if figures.jobs_ready is not None:
            yield _gauge("auction_jobs_ready", "Jobs waiting for a worker", figures.jobs_ready)
        overdue = GaugeMetricFamily(
            "auction_ticker_overdue_seconds",
            "How long the oldest due and unclaimed schedule entry has waited, by moment (0: "
            "the ticker keeps up)",
            labels=["moment"],
        )
        for moment, seconds in sorted(figures.overdue_s.items()):
            overdue.add_metric([moment], seconds)
        yield overdue
        yield _gauge(
            "auction_backlog_age_seconds",
            "Age of the outbox, job and schedule figures (read every 5 s in the background)",
            time.monotonic() - self.metrics.backlog_at,
        )


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, documentation, value=value)
