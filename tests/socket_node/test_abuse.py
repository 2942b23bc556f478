"""The socket node against a client who never signs in and sends as fast as it can:
a message limit per connection (20/s, bursts of 40; `rate_limited`, then close 1008), joins
that replay at most the 1,000 most recent events, unknown auction ids that cost no database
round trip once known, and lookups that never starve the ticker or /health."""

from __future__ import annotations

import json
import statistics
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
import redis
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import connect

from shared.adapters import keys
from shared.domain.times import parse_iso
from shared.services import auction_state
from shared.services.context import Context
from socket_node import hub as hub_module
from socket_node.hub import Close, Hub, JoinTicket, Send
from tests.support.harness import Person, SuiteServices, live_auction
from tests.support.socket_node import InProcessNode, closed_code

NOW = 1_800_000_000_000
PING = json.dumps({"type": "ping"})


def payload(answer: object) -> dict[str, Any]:
    """The message the hub sends first in its answer (a list of sends: no ticket, no close)."""
    assert isinstance(answer, list) and answer and isinstance(answer[0], Send), answer
    message: dict[str, Any] = json.loads(answer[0].payload)
    return message


# -- the limit, in the hub (no I/O) --------------------------------------------------------------


def test_a_connection_gets_a_burst_of_40_then_20_messages_a_second() -> None:
    hub: Hub[str] = Hub()
    hub.connect("a", None)
    answers = [hub.receive("a", PING, NOW) for _ in range(hub_module.MESSAGES_BURST)]
    assert all(payload(a)["type"] == "pong" for a in answers)
    refused = hub.receive("a", PING, NOW)
    assert isinstance(refused, list) and isinstance(refused[0], Send)
    assert json.loads(refused[0].payload)["code"] == "rate_limited"
    # A second later, 20 more tokens: the 21st is refused again.
    later = [hub.receive("a", PING, NOW + 1000) for _ in range(20)]
    assert all(payload(a)["type"] == "pong" for a in later)
    assert payload(hub.receive("a", PING, NOW + 1000))["code"] == "rate_limited"
    # Other connections have budgets of their own.
    hub.connect("b", None)
    assert payload(hub.receive("b", PING, NOW))["type"] == "pong"


def test_a_connection_that_keeps_going_is_closed_with_1008_once() -> None:
    hub: Hub[str] = Hub()
    hub.connect("a", None)
    for _ in range(hub_module.MESSAGES_BURST):
        hub.receive("a", PING, NOW)
    kinds = []
    for _ in range(hub_module.REFUSALS_BEFORE_CLOSE + 5):
        answer = hub.receive("a", PING, NOW)
        assert isinstance(answer, list)
        kinds.append(type(answer[0]).__name__ if answer else "nothing")
    refusals = hub_module.REFUSALS_BEFORE_CLOSE - 1
    assert kinds == ["Send"] * refusals + ["Close"] + ["nothing"] * 5
    closing = hub.receive("a", PING, NOW + 60_000)  # whatever arrives while it closes
    assert closing == []
    hub2: Hub[str] = Hub()
    hub2.connect("a", None)
    for _ in range(hub_module.MESSAGES_BURST):
        hub2.receive("a", PING, NOW)
    last: object = None
    for _ in range(hub_module.REFUSALS_BEFORE_CLOSE):
        last = hub2.receive("a", PING, NOW)
    assert isinstance(last, list) and isinstance(last[0], Close)
    assert last[0].code == 1008 and last[0].target == "a"


def test_a_client_that_slows_down_after_a_refusal_is_never_closed() -> None:
    hub: Hub[str] = Hub()
    hub.connect("a", None)
    now = NOW
    for _ in range(hub_module.MESSAGES_BURST + 10):
        hub.receive("a", PING, now)  # 10 refusals
    for second in range(30):  # then 20 a second, forever
        now = NOW + (second + 1) * 1000
        for _ in range(20):
            answer = hub.receive("a", PING, now)
            assert isinstance(answer, list) and isinstance(answer[0], Send)
            assert json.loads(answer[0].payload)["type"] == "pong"


def test_joins_are_limited_like_any_message() -> None:
    hub: Hub[str] = Hub()
    hub.connect("a", None)
    aid = str(uuid.uuid4())
    join = json.dumps({"type": "join", "auctionId": aid, "lastEventId": "0-1"})
    leave = json.dumps({"type": "leave", "auctionId": aid})
    results = [hub.receive("a", join if i % 2 == 0 else leave, NOW) for i in range(41)]
    assert isinstance(results[0], JoinTicket)
    assert payload(results[-1])["code"] == "rate_limited"


# -- on a real node ------------------------------------------------------------------------------


def test_a_flooding_connection_is_refused_then_closed_with_1008_others_unaffected(
    node: InProcessNode, clients: Any
) -> None:
    flooder, neighbour = clients(node.ws_url), clients(node.ws_url)
    for _ in range(200):
        try:
            flooder.send(PING)
        except ConnectionClosed:  # cut off mid-flood: what came before the close is read below
            break
    assert closed_code(flooder) == 1008
    got = Counter(m.get("code") or m["type"] for m in flooder.received)
    # The burst, and whatever refilled while the 200 were sent (more on a slow machine).
    assert got["pong"] >= hub_module.MESSAGES_BURST
    assert got["rate_limited"] == hub_module.REFUSALS_BEFORE_CLOSE - 1
    neighbour.send(PING)
    assert neighbour.recv()["type"] == "pong"


def fill_room(redis_url: str, auction_id: uuid.UUID, count: int) -> list[str]:
    """`count` bid:placed events in the room's stream, as the bid script writes them."""
    tcp = redis.Redis.from_url(redis_url, decode_responses=True)
    pipe = tcp.pipeline(transaction=False)
    for n in range(count):
        body = {
            "type": "bid:placed",
            "auctionId": str(auction_id),
            "data": {"n": n},
            "ts": "2030-01-01T00:00:00.000Z",
        }
        pipe.xadd(keys.room_stream(str(auction_id)), {"e": orjson.dumps(body).decode()})
    ids = [str(i) for i in pipe.execute()]
    tcp.close()
    return ids


def test_a_join_replays_at_most_the_1000_most_recent_events(
    ctx: Context, node: InProcessNode, clients: Any, seller: Person
) -> None:
    auction = live_auction(ctx, seller)
    ids = fill_room(ctx.settings.redis_url or "", auction, 1_200)
    within = clients(node.ws_url, documented=False)  # fill_room's events are made up
    snapshot = within.join(auction, ids[199])  # 1,000 events behind: all of them replayed
    assert snapshot["replayGap"] is False
    replayed = within.events(1_000)
    assert [m["data"]["n"] for m in replayed] == list(range(200, 1_200))
    assert within.quiet(0.3) == []
    for last in (ids[198], ids[0], "0-1"):  # 1,001 and more behind: a gap, nothing replayed
        behind = clients(node.ws_url, documented=False)
        snapshot = behind.join(auction, last)
        assert snapshot["replayGap"] is True, last
        assert behind.quiet(0.3) == []


def test_join_leave_pairs_with_an_old_last_event_id_replay_within_a_budget(
    ctx: Context, node: InProcessNode, clients: Any, seller: Person
) -> None:
    """Within the message limit, join/leave pairs with an old lastEventId made the node read
    and send 1,000 events each. A connection's replays have a budget: past it a join gets the
    snapshot alone with `replayGap: true`; another connection replays in full."""
    auction = live_auction(ctx, seller)
    ids = fill_room(ctx.settings.redis_url or "", auction, 1_000)
    client = clients(node.ws_url, documented=False)  # fill_room's events are made up

    def join_and_count() -> tuple[bool, int]:
        snapshot = client.join(auction, ids[0])  # 999 events behind
        client.send(PING)  # everything the join sends comes before the pong
        replayed = client.until(lambda m: m["type"] == "pong", timeout=30)
        events = [m for m in client.received[-1_000:] if m.get("type") == "bid:placed"]
        client.received.clear()
        client.send({"type": "leave", "auctionId": str(auction)})
        assert replayed["type"] == "pong"
        return bool(snapshot["replayGap"]), len(events)

    began = time.monotonic()
    answers = [join_and_count() for _ in range(8)]  # 24 messages: within the burst of 40
    elapsed = time.monotonic() - began
    total = sum(count for _, count in answers)
    refill = hub_module.REPLAY_EVENTS_PER_S * elapsed
    # The budget, plus the one replay that may overdraw it, plus what refilled meanwhile.
    assert total <= hub_module.REPLAY_EVENTS_BURST + 1_000 + refill, (total, elapsed)
    assert answers[0] == (False, 999)
    assert any(gap and count == 0 for gap, count in answers), answers
    assert all(count in (0, 999) for _, count in answers)  # never a partial replay

    fresh = clients(node.ws_url, documented=False)  # the budget is the connection's own
    assert fresh.join(auction, ids[0])["replayGap"] is False
    assert len(fresh.events(999)) == 999


def test_unknown_auction_ids_cost_one_lookup_and_lookups_run_two_at_a_time(
    ctx: Context, node: InProcessNode, clients: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    running = {"now": 0, "most": 0}
    lock = threading.Lock()
    real = auction_state.rebuild

    def counted(context: Context, auction_id: uuid.UUID) -> bool:
        with lock:
            calls.append(str(auction_id))
            running["now"] += 1
            running["most"] = max(running["most"], running["now"])
        try:
            time.sleep(0.05)  # a slow database makes overlaps likely
            return real(context, auction_id)
        finally:
            with lock:
                running["now"] -= 1

    monkeypatch.setattr(auction_state, "rebuild", counted)
    same = str(uuid.uuid4())
    first = clients(node.ws_url)
    assert first.join(same, "0-1")["code"] == "not_found"
    for _ in range(10):  # the same unknown id again: answered from the cache
        assert first.join(same, "0-1")["code"] == "not_found"
    assert calls == [same]
    # Distinct made-up ids from many connections at once: each is looked up once, and never
    # more than two lookups hold a worker thread and a database connection at a time.
    watchers = [clients(node.ws_url) for _ in range(8)]
    for watcher in watchers:
        for _ in range(5):
            watcher.send({"type": "join", "auctionId": str(uuid.uuid4()), "lastEventId": "0-1"})
    for watcher in watchers:
        answers = watcher.events(5)
        assert {a["code"] for a in answers} == {"not_found"}
    assert len(calls) == 1 + 40
    assert running["most"] <= 2


def test_the_spa_forbids_framing_and_sets_a_policy_naming_its_origins(
    node: InProcessNode,
) -> None:
    for path in ("/", "/index.html", "/#/auctions/x"):
        response = httpx.get(f"{node.http_url}{path}")
        policy = response.headers["Content-Security-Policy"]
        assert response.headers["X-Frame-Options"] == "DENY"
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["frame-ancestors"] == "'none'"
        assert directives["script-src"] == "'self'"
        assert directives["style-src"] == "'self'"
        assert directives["img-src"].startswith("'self' data: blob:")
        config = httpx.get(f"{node.http_url}/config.json").json()
        api_origin = config["apiBase"]
        ws_origin = config["wsUrl"].removesuffix("/ws")
        assert api_origin in directives["connect-src"].split()
        assert ws_origin in directives["connect-src"].split()
    assert httpx.get(f"{node.http_url}/health").headers["X-Frame-Options"] == "DENY"


# -- the join flood (issue 16): the node keeps its ticker on time and /health answers -----------


class Flood:
    """Threads that each open anonymous connections and send join/leave pairs with
    lastEventId "0-1" as fast as they can, for made-up ids and for a real room with a long
    stream, reconnecting whenever the node closes them."""

    def __init__(self, ws_url: str, room: uuid.UUID, threads: int = 6) -> None:
        self.ws_url = ws_url
        self.room = str(room)
        self.stop = threading.Event()
        self.sent = 0
        self.connections = 0
        self.closed_1008 = 0
        self.answers: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(threads)]

    def start(self) -> Flood:
        for thread in self.threads:
            thread.start()
        return self

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(15)

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                with connect(self.ws_url, open_timeout=10, close_timeout=1) as ws:
                    with self.lock:
                        self.connections += 1
                    self.flood(ws)
            except ConnectionClosed as exc:
                if exc.rcvd and exc.rcvd.code == 1008:
                    with self.lock:
                        self.closed_1008 += 1
            except (OSError, InvalidHandshake, TimeoutError):
                time.sleep(0.05)

    def flood(self, ws: Any) -> None:
        n = 0
        while not self.stop.is_set():
            for _ in range(10):
                target = self.room if n % 3 == 0 else str(uuid.uuid4())
                ws.send(json.dumps({"type": "join", "auctionId": target, "lastEventId": "0-1"}))
                ws.send(json.dumps({"type": "leave", "auctionId": target}))
                n += 1
            with self.lock:
                self.sent += 20
            while True:  # read what came back (a flooder that never reads is just slow)
                try:
                    message = json.loads(ws.recv(timeout=0))
                except TimeoutError:
                    break
                with self.lock:
                    self.answers[message.get("code") or message["type"]] += 1


def test_a_join_flood_keeps_the_ticker_on_time_and_health_answering(
    ctx: Context, node_processes: Any, clients: Any, seller: Person, services: SuiteServices
) -> None:
    node = node_processes()  # its own process, with its ticker and job worker, as deployed
    room = live_auction(ctx, seller)
    fill_room(services.redis_url, room, 2_000)
    ends_at = datetime.now(UTC) + timedelta(seconds=6)
    due = live_auction(ctx, seller, ends_at=ends_at)
    watcher = clients(node.ws_url)
    watcher.join(due)

    flood = Flood(node.ws_url, room).start()
    latencies: list[float] = []
    failures: list[str] = []
    try:
        deadline = time.monotonic() + 10
        with httpx.Client(timeout=5) as http:
            while time.monotonic() < deadline:
                began = time.perf_counter()
                try:
                    response = http.get(f"{node.http_url}/health")
                    if response.status_code != 200:
                        failures.append(f"{response.status_code} {response.text}")
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))
                latencies.append((time.perf_counter() - began) * 1000)
                time.sleep(0.1)
        ended = watcher.until(lambda m: m["type"] == "auction:ended", timeout=10)
    finally:
        flood.finish()
    late_s = (parse_iso(ended["ts"]) - ends_at).total_seconds()
    median, p95 = statistics.median(latencies), sorted(latencies)[int(len(latencies) * 0.95)]
    print(
        f"\njoin flood: {flood.sent} messages on {flood.connections} connections in 10 s, "
        f"{flood.closed_1008} closed with 1008, answers {dict(flood.answers)}; "
        f"/health {len(latencies)} checks, median {median:.1f} ms, p95 {p95:.1f} ms, "
        f"max {max(latencies):.1f} ms, failed: {failures}; "
        f"auction:ended {late_s:.2f} s after endsAt"
    )
    assert flood.sent > 1_000 and flood.closed_1008 > 0  # it was a flood, and it was cut off
    # (Whether a flooder read its rate_limited answers before the 1008 depends on timing: it
    # reads only between bursts. The answers before the close are tested on their own above.)
    assert failures == []
    # The issue asks for /health within 100 ms: held as a median (a shared 2-core machine
    # has pauses no code controls); the figures are printed above.
    assert median < 100
    assert late_s < 5  # the ticker's usual delay is about 1 s; generous on a loaded machine
    assert ended["data"]["status"] == "closed_no_winner"
