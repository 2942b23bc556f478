"""Live rooms over real WebSockets, against an in-process socket node on real Redis and
PostgreSQL, with events written by the real bid script and the real outbox relay."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from shared.domain.vocabulary import ROOM_EVENTS, EventType
from shared.services import bidding, outbox
from shared.services.context import Context
from tests.support.harness import Person, insert_auction, live_auction, person
from tests.support.socket_node import InProcessNode, closed_code, wait_for

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
MONEY = re.compile(r"^\d+\.\d{2}$")


def bid(ctx: Context, auction_id: uuid.UUID, bidder: Person, amount: str) -> Any:
    return bidding.place_bid(ctx, auction_id, bidder.id, Decimal(amount))


def user_event(ctx: Context, user_id: str, kind: EventType, data: dict[str, Any]) -> None:
    """A user event the way every use case sends one: outbox row, commit, relay."""
    with ctx.db.session() as session:
        outbox.user_event(session, ctx, user_id, kind, data, data.get("auctionId"))
    outbox.relay(ctx)


# -- join and snapshot -------------------------------------------------------------------------


def test_join_sends_the_snapshot_of_the_room(
    ctx: Context, node: InProcessNode, clients: Any, seller: Person, buyer: Person
) -> None:
    auction = live_auction(ctx, seller, start_price="1000.00", increment="250.00")
    placed = bid(ctx, auction, buyer, "1000.00")

    snapshot = clients(node.ws_url).join(auction)

    assert snapshot["type"] == "snapshot"
    assert snapshot["auctionId"] == str(auction)
    assert snapshot["status"] == "live"
    assert snapshot["highestBid"] == {
        "id": placed.bid["id"],
        "bidderId": buyer.id,
        "amount": "1000.00",
        "createdAt": placed.bid["createdAt"],
    }
    assert snapshot["minNextBid"] == "1250.00"
    for field in ("goLiveAt", "endsAt", "serverTime"):
        assert ISO.match(snapshot[field]), field
    assert snapshot["lastEventId"] and re.match(r"^\d+-\d+$", snapshot["lastEventId"])
    assert snapshot["replayGap"] is False


def test_snapshot_of_a_room_without_bids(
    ctx: Context, node: InProcessNode, clients: Any, seller: Person
) -> None:
    auction = live_auction(ctx, seller, start_price="500.00")
    snapshot = clients(node.ws_url).join(auction)
    assert snapshot["highestBid"] is None
    assert snapshot["minNextBid"] == "500.00"
    assert snapshot["lastEventId"] is None


def test_join_rebuilds_a_flushed_room_state_from_postgresql(
    ctx: Context, node: InProcessNode, clients: Any, seller: Person
) -> None:
    soon = datetime.now(UTC) + timedelta(hours=1)
    auction = insert_auction(ctx, seller, go_live_at=soon, start_price="75.50", seed_redis=False)
    snapshot = clients(node.ws_url).join(auction)
    assert snapshot["type"] == "snapshot"
    assert snapshot["status"] == "scheduled"
    assert snapshot["minNextBid"] == "75.50"


# -- bad input ---------------------------------------------------------------------------------


def test_bad_input_gets_an_error_and_the_connection_stays_usable(
    ctx: Context, node: InProcessNode, clients: Any, seller: Person
) -> None:
    auction = live_auction(ctx, seller)
    client = clients(node.ws_url)

    client.send("this is not json")
    assert client.recv()["code"] == "invalid_json"
    client.send({"type": "dance"})
    assert client.recv()["code"] == "unknown_type"
    client.send([1, 2])
    assert client.recv()["code"] == "invalid_message"
    client.send({"type": "join"})
    assert client.recv()["code"] == "validation_error"
    client.send({"type": "join", "auctionId": str(auction), "lastEventId": "yesterday"})
    assert client.recv()["code"] == "validation_error"
    unknown = client.join(uuid.uuid4())
    assert unknown["type"] == "error" and unknown["code"] == "not_found"
    assert client.join("not-an-id")["code"] == "not_found"
    for message in client.received:
        assert message["type"] == "error" and message["detail"]

    assert client.join(auction)["type"] == "snapshot"
    client.send({"type": "ping"})
    pong = client.recv()
    assert pong["type"] == "pong" and ISO.match(pong["serverTime"])


def test_an_invalid_token_is_refused_with_close_code_4401(
    node: InProcessNode, clients: Any
) -> None:
    client = clients(node.ws_url, "not.a.jwt")
    assert closed_code(client) == 4401


def test_a_connection_is_closed_with_4401_when_its_token_expires(
    ctx: Context, node: InProcessNode, clients: Any, seller: Person
) -> None:
    from shared.adapters.tokens import Verifier
    from shared.settings import get_settings

    auction = live_auction(ctx, seller)
    short = Verifier(get_settings()).mint_dev_token("brief@example.com", "Brief", "buyer", ttl_s=2)
    client = clients(node.ws_url, short)
    assert client.join(auction)["type"] == "snapshot"  # signed in and served until then
    started = time.monotonic()
    assert closed_code(client, timeout=10) == 4401
    assert time.monotonic() - started < 5


# -- fan-out -----------------------------------------------------------------------------------


def test_a_bid_reaches_every_client_in_the_room_once_and_in_order(
    ctx: Context, node: InProcessNode, clients: Any, seller: Person
) -> None:
    auction = live_auction(ctx, seller, start_price="100.00", increment="10.00")
    other = live_auction(ctx, seller)
    watchers = [clients(node.ws_url) for _ in range(40)]
    for watcher in watchers:
        watcher.join(auction)
    elsewhere = clients(node.ws_url)
    elsewhere.join(other)
    bidders = [person(ctx, "buyer", f"b{i}") for i in range(2)]

    amounts = [f"{100 + 10 * i}.00" for i in range(12)]
    for i, amount in enumerate(amounts):
        bid(ctx, auction, bidders[i % 2], amount)

    for watcher in watchers:
        got = watcher.events(len(amounts), "bid:placed")
        assert [m["data"]["bid"]["amount"] for m in got] == amounts
        ids = [m["eventId"] for m in got]
        assert len(set(ids)) == len(ids)
        assert all(m["auctionId"] == str(auction) for m in got)
    time.sleep(0.2)
    assert all(watcher.quiet(0.01) == [] for watcher in watchers)
    assert elsewhere.quiet(0.01) == []


def test_user_events_reach_every_connection_of_that_user_and_no_one_else(
    ctx: Context, node: InProcessNode, clients: Any, seller: Person
) -> None:
    auction = live_auction(ctx, seller)
    first, second = person(ctx, "buyer", "first"), person(ctx, "buyer", "second")
    # (the decision and notification events below are made up: this test is about routing)
    tab_a = clients(node.ws_url, first.token, documented=False)
    tab_b = clients(node.ws_url, first.token, documented=False)  # never joins the room
    tab_a.join(auction)
    rival = clients(node.ws_url, second.token)
    rival.join(auction)
    anonymous = clients(node.ws_url)
    anonymous.join(auction)

    bid(ctx, auction, first, "100.00")
    bid(ctx, auction, second, "110.00")

    for tab in (tab_a, tab_b):
        outbid = tab.until(lambda m: m["type"] == "bid:outbid")
        assert outbid["auctionId"] == str(auction)
        assert outbid["eventId"]
    user_event(ctx, seller.id, EventType.SELLER_DECISION_REQUIRED, {"auctionId": str(auction)})
    user_event(ctx, first.id, EventType.NOTIFICATION, {"id": "n1", "type": "outbid"})
    note = tab_b.until(lambda m: m["type"] == "notification")
    assert note["data"] == {"id": "n1", "type": "outbid"}
    assert tab_a.until(lambda m: m["type"] == "notification")["eventId"] == note["eventId"]

    kinds = {m["type"] for m in rival.quiet(0.3) + rival.received}
    assert "bid:outbid" not in kinds and "notification" not in kinds
    kinds = {m["type"] for m in anonymous.quiet(0.2) + anonymous.received}
    assert kinds == {"snapshot", "bid:placed"}
    tab_b_kinds = [m["type"] for m in tab_b.quiet(0.2) + tab_b.received]
    assert tab_b_kinds.count("bid:outbid") == 1 and "bid:placed" not in tab_b_kinds


def test_every_user_event_type_reaches_its_user_whether_or_not_they_joined_the_room(
    ctx: Context, node: InProcessNode, clients: Any, seller: Person, buyer: Person
) -> None:
    auction = live_auction(ctx, seller)
    tab = clients(node.ws_url, buyer.token, documented=False)  # made-up data, every type
    tab.send({"type": "ping"})
    tab.until(lambda m: m["type"] == "pong")
    kinds = [kind for kind in EventType if kind not in ROOM_EVENTS]
    for kind in kinds:
        user_event(ctx, buyer.id, kind, {"auctionId": str(auction), "kind": kind.value})
    got = tab.events(len(kinds))
    assert [m["type"] for m in got] == [k.value for k in kinds]
    assert all(m["auctionId"] == str(auction) and m["eventId"] for m in got)


def test_leave_stops_the_room_events(
    ctx: Context, node: InProcessNode, clients: Any, seller: Person, buyer: Person
) -> None:
    auction = live_auction(ctx, seller)
    client = clients(node.ws_url)
    client.join(auction)
    client.send({"type": "leave", "auctionId": str(auction)})
    client.send({"type": "ping"})
    client.until(lambda m: m["type"] == "pong")  # the leave was handled before this
    bid(ctx, auction, buyer, "100.00")
    assert client.quiet(0.3) == []


# -- replay ------------------------------------------------------------------------------------


def test_reconnect_with_last_event_id_replays_every_missed_event_once_in_order(
    ctx: Context, node: InProcessNode, clients: Any, seller: Person
) -> None:
    auction = live_auction(ctx, seller, start_price="100.00", increment="10.00")
    bidders = [person(ctx, "buyer", f"b{i}") for i in range(2)]
    client = clients(node.ws_url)
    client.join(auction)
    for i in range(3):
        bid(ctx, auction, bidders[i % 2], f"{100 + 10 * i}.00")
    seen = client.events(3, "bid:placed")
    client.ws.close_socket()  # a dropped connection, not a goodbye
    for i in range(3, 8):
        bid(ctx, auction, bidders[i % 2], f"{100 + 10 * i}.00")

    again = clients(node.ws_url)
    snapshot = again.join(auction, seen[-1]["eventId"])
    assert snapshot["highestBid"]["amount"] == "170.00"
    missed = again.events(5, "bid:placed")
    bid(ctx, auction, bidders[0], "180.00")
    live = again.events(1, "bid:placed")

    amounts = [m["data"]["bid"]["amount"] for m in missed + live]
    assert amounts == ["130.00", "140.00", "150.00", "160.00", "170.00", "180.00"]
    assert missed[-1]["eventId"] == snapshot["lastEventId"]
    assert again.quiet(0.3) == []


def test_a_last_event_id_older_than_the_room_stream_gets_a_replay_gap(
    ctx: Context, node: InProcessNode, clients: Any, seller: Person, buyer: Person
) -> None:
    auction = live_auction(ctx, seller)
    bid(ctx, auction, buyer, "100.00")
    snapshot = clients(node.ws_url).join(auction, "1-0")
    assert snapshot["replayGap"] is True
    assert snapshot["lastEventId"]


def test_joining_again_on_the_same_connection_sends_nothing_twice(
    ctx: Context, node: InProcessNode, clients: Any, seller: Person, buyer: Person
) -> None:
    auction = live_auction(ctx, seller)
    client = clients(node.ws_url)
    first = client.join(auction)
    bid(ctx, auction, buyer, "100.00")
    placed = client.until(lambda m: m["type"] == "bid:placed")
    client.join(auction, first["lastEventId"])  # asks again from before the bid
    assert client.quiet(0.3) == []
    assert [m["eventId"] for m in client.received if m["type"] == "bid:placed"] == [
        placed["eventId"]
    ]


def test_the_feed_reader_resumes_after_losing_its_redis_connection(
    ctx: Context, node: InProcessNode, clients: Any, seller: Person
) -> None:
    import redis

    auction = live_auction(ctx, seller, start_price="100.00", increment="10.00")
    bidders = [person(ctx, "buyer", f"b{i}") for i in range(2)]
    watcher = clients(node.ws_url)
    watcher.join(auction)
    r = redis.Redis.from_url(ctx.settings.redis_url or "", decode_responses=True)
    readers = [c for c in r.client_list() if c.get("cmd") == "xread"]
    assert readers
    for reader in readers:
        r.client_kill_filter(_id=reader["id"])
    for i in range(4):
        bid(ctx, auction, bidders[i % 2], f"{100 + 10 * i}.00")
    got = watcher.events(4, "bid:placed")
    assert [m["data"]["bid"]["amount"] for m in got] == ["100.00", "110.00", "120.00", "130.00"]
    assert watcher.quiet(0.3) == []


def test_room_events_the_feed_lost_are_caught_up_from_the_room_stream(
    ctx: Context, node: InProcessNode, clients: Any, seller: Person
) -> None:
    """The node was away from the feed so long that the feed was trimmed past its place."""
    import redis

    from shared.adapters import keys

    auction = live_auction(ctx, seller, start_price="100.00", increment="10.00")
    bidders = [person(ctx, "buyer", f"b{i}") for i in range(2)]
    watcher = clients(node.ws_url)
    watcher.join(auction)
    reader = node.node.tasks[0]
    node.run(reader.cancel)
    wait_for(reader.done)
    for i in range(3):
        bid(ctx, auction, bidders[i % 2], f"{100 + 10 * i}.00")
    r = redis.Redis.from_url(ctx.settings.redis_url or "")
    r.xtrim(keys.FEED, maxlen=0)  # those events are only in the room stream now
    bid(ctx, auction, bidders[1], "130.00")
    node.run(lambda: node.node.tasks.append(asyncio.ensure_future(node.node.feed.run())))
    got = watcher.events(4, "bid:placed")
    assert [m["data"]["bid"]["amount"] for m in got] == ["100.00", "110.00", "120.00", "130.00"]
    assert watcher.quiet(0.3) == []


# -- connections -------------------------------------------------------------------------------


def test_slow_clients_are_dropped_and_the_others_keep_up(
    ctx: Context, node_factory: Any, clients: Any, seller: Person
) -> None:
    import socket as sockets

    from websockets.sync.client import connect

    node = node_factory(slow_buffer_bytes=2 * 1024 * 1024)
    auction = live_auction(ctx, seller)
    # A client that stops reading: a tiny receive buffer, and it never calls recv again.
    raw = sockets.create_connection(("127.0.0.1", node.port))
    raw.setsockopt(sockets.SOL_SOCKET, sockets.SO_RCVBUF, 4096)
    slow = connect(node.ws_url, sock=raw)
    slow.send(f'{{"type":"join","auctionId":"{auction}","lastEventId":null}}')
    # reads the socket as fast as it can (the padded events are made up: back-pressure only)
    fast = clients(node.ws_url, max_queue=None, documented=False)
    fast.join(auction)
    wait_for(lambda: node.run(lambda: len(node.node.hub.rooms[str(auction)].members)) == 2)

    # Large room events straight into the feed, as the bid script writes them.
    import redis

    from shared.adapters import keys

    r = redis.Redis.from_url(ctx.settings.redis_url or "")
    body = json.dumps(
        {"type": "bid:placed", "auctionId": str(auction), "data": {"pad": "x" * 60_000}, "ts": "x"}
    )
    for i in range(300):  # 18 MB at a pace a reading client keeps up with
        eid = r.xadd(keys.room_stream(str(auction)), {"e": body})
        r.xadd(keys.FEED, {"e": body, "room": str(auction), "eid": eid})
        if i % 4 == 3:
            time.sleep(0.01)
    assert len(fast.events(300, "bid:placed", timeout=30)) == 300
    wait_for(lambda: node.node.dropped_slow == 1)
    assert node.run(lambda: len(node.node.hub.sessions)) == 1
    slow.close_socket()


def test_dead_peers_are_dropped_by_the_heartbeat(ctx: Context, node_factory: Any) -> None:
    import socket as sockets

    node = node_factory(ping_interval=0.2, ping_timeout=0.3, close_timeout=0.5)
    raw = sockets.create_connection(("127.0.0.1", node.port))
    raw.sendall(
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    assert raw.recv(4096).startswith(b"HTTP/1.1 101")
    wait_for(lambda: node.run(lambda: len(node.node.hub.sessions)) == 1)
    # It never answers a ping: the node lets it go.
    wait_for(lambda: node.run(lambda: len(node.node.hub.sessions)) == 0, timeout=5)
    raw.close()


def test_compression_is_off(node: InProcessNode, clients: Any) -> None:
    client = clients(node.ws_url, compression="deflate")
    assert client.ws.response is not None
    assert "Sec-WebSocket-Extensions" not in client.ws.response.headers


def test_graceful_shutdown_closes_every_connection_with_1001(
    node_factory: Any, clients: Any
) -> None:
    node = node_factory()
    watchers = [clients(node.ws_url) for _ in range(3)]
    node.stop()
    assert [closed_code(w) for w in watchers] == [1001, 1001, 1001]
