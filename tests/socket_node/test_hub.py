"""The socket node's routing core without a network (sans-I/O, like websockets' protocol.py):
feed entries and room reads in, messages out."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.adapters.redis_records import HighestBid
from socket_node import messages
from socket_node.hub import AuthTicket, Hub, JoinTicket, Send
from socket_node.messages import FeedEvent, RoomRead

AUCTION = "5b0c8a0e-6a43-4f4c-9c32-0d6b1d0f2a11"
OTHER = "0f6b3c53-1a2b-4c5d-8e9f-0a1b2c3d4e5f"
NOW = 1_800_000_000_000
STATE = {
    "status": "live",
    "goLiveAt": str(NOW - 60_000),
    "endsAt": str(NOW + 600_000),
    "startPrice": "100000",
    "increment": "2500",
    "reserve": "",
}


def body(n: int, auction: str = AUCTION) -> str:
    return json.dumps(
        {
            "type": "bid:placed",
            "auctionId": auction,
            "data": {"n": n},
            "ts": "2027-01-15T10:00:00.000Z",
        }
    )


def eid(n: int) -> str:
    return f"{NOW + n}-0"


def room_event(n: int, auction: str = AUCTION) -> FeedEvent:
    return messages.feed_event(
        f"{NOW + n}-7", {"e": body(n, auction), "room": auction, "eid": eid(n)}
    )


def user_event(user: str, n: int) -> FeedEvent:
    payload = json.dumps(
        {
            "type": "bid:outbid",
            "auctionId": AUCTION,
            "data": {"n": n},
            "ts": "2027-01-15T10:00:00.000Z",
        }
    )
    return messages.feed_event(f"{NOW + n}-9", {"e": payload, "user": user})


def read(stream: list[int], after: int | None = None, first: int | None = None) -> RoomRead:
    """The room as Redis holds it: `stream` the event numbers in the room stream."""
    kept = [n for n in stream if first is None or n >= first]
    return RoomRead(
        state=dict(STATE),
        highest=None,
        first_id=eid(kept[0]) if kept else None,
        last_id=eid(kept[-1]) if kept else None,
        entries=[(eid(n), body(n)) for n in kept if after is None or n > after],
        now_ms=NOW,
    )


class Wire:
    """What each connection would have received, in order."""

    def __init__(self) -> None:
        self.got: dict[str, list[dict[str, Any]]] = {}

    def take(self, sends: list[Send[str]]) -> None:
        for send in sends:
            for conn in send.targets:
                self.got.setdefault(conn, []).append(json.loads(send.payload))

    def numbers(self, conn: str, kind: str = "bid:placed") -> list[int]:
        return [m["data"]["n"] for m in self.got.get(conn, []) if m["type"] == kind]

    def types(self, conn: str) -> list[str]:
        return [m["type"] for m in self.got.get(conn, [])]


def join(hub: Hub[str], conn: str, last: int | None = None, auction: str = AUCTION) -> JoinTicket:
    raw = json.dumps(
        {"type": "join", "auctionId": auction, "lastEventId": eid(last) if last else None}
    )
    ticket = hub.receive(conn, raw, NOW)
    assert isinstance(ticket, JoinTicket)
    return ticket


def test_a_join_gets_the_snapshot_then_the_live_events() -> None:
    hub: Hub[str] = Hub()
    wire = Wire()
    hub.connect("a", None)
    wire.take(hub.complete_join("a", join(hub, "a"), read([1, 2])))
    wire.take(hub.deliver(room_event(3)))
    assert wire.types("a") == ["snapshot", "bid:placed"]
    snapshot = wire.got["a"][0]
    assert snapshot["lastEventId"] == eid(2)
    assert snapshot["minNextBid"] == "1000.00"
    assert wire.got["a"][1]["eventId"] == eid(3)


def test_events_arriving_during_a_join_follow_the_snapshot_without_repeats() -> None:
    hub: Hub[str] = Hub()
    wire = Wire()
    hub.connect("a", None)
    ticket = join(hub, "a")
    # The feed lags the stream: event 2 is in the snapshot, 3 came after the read.
    wire.take(hub.deliver(room_event(1)))
    wire.take(hub.deliver(room_event(2)))
    wire.take(hub.deliver(room_event(3)))
    assert wire.got == {}
    wire.take(hub.complete_join("a", ticket, read([1, 2])))
    wire.take(hub.deliver(room_event(4)))
    assert wire.types("a")[0] == "snapshot"
    assert wire.numbers("a") == [3, 4]


def test_replay_after_last_event_id_then_buffered_then_live() -> None:
    hub: Hub[str] = Hub()
    wire = Wire()
    hub.connect("a", None)
    ticket = join(hub, "a", last=2)
    wire.take(hub.deliver(room_event(6)))  # appended after the read
    wire.take(hub.complete_join("a", ticket, read([1, 2, 3, 4, 5], after=2)))
    wire.take(hub.deliver(room_event(7)))
    assert wire.numbers("a") == [3, 4, 5, 6, 7]
    assert wire.got["a"][0]["replayGap"] is False


def test_a_member_ahead_of_the_feed_is_not_sent_what_it_has() -> None:
    hub: Hub[str] = Hub()
    wire = Wire()
    for conn in ("old", "new"):
        hub.connect(conn, None)
    wire.take(hub.complete_join("old", join(hub, "old"), read([1, 2])))
    # "new" read the room when it already held events 3 and 4; the feed has not sent them yet.
    wire.take(hub.complete_join("new", join(hub, "new", last=2), read([1, 2, 3, 4], after=2)))
    for n in (3, 4, 5):
        wire.take(hub.deliver(room_event(n)))
    assert wire.numbers("old") == [3, 4, 5]
    assert wire.numbers("new") == [3, 4, 5]


def test_a_last_event_id_the_stream_no_longer_reaches_gets_a_replay_gap() -> None:
    hub: Hub[str] = Hub()
    wire = Wire()
    hub.connect("a", None)
    wire.take(
        hub.complete_join("a", join(hub, "a", last=2), read(list(range(1, 9)), after=2, first=5))
    )
    assert wire.got["a"][0]["replayGap"] is True
    assert wire.numbers("a") == []  # the client refetches; a partial replay would mislead it
    wire.take(hub.deliver(room_event(9)))
    assert wire.numbers("a") == [9]


def test_a_last_event_id_newer_than_the_stream_gets_a_replay_gap() -> None:
    hub: Hub[str] = Hub()
    wire = Wire()
    hub.connect("a", None)
    wire.take(hub.complete_join("a", join(hub, "a", last=9), read([1, 2], after=9)))
    assert wire.got["a"][0]["replayGap"] is True
    hub.connect("b", None)
    wire.take(hub.complete_join("b", join(hub, "b", last=9), read([], after=9)))
    assert wire.got["b"][0]["replayGap"] is True


def test_user_events_go_to_every_connection_of_the_user_only() -> None:
    hub: Hub[str] = Hub()
    wire = Wire()
    hub.connect("tab1", "u1")
    hub.connect("tab2", "u1")
    hub.connect("other", "u2")
    hub.connect("anon", None)
    wire.take(hub.complete_join("anon", join(hub, "anon"), read([])))
    wire.take(hub.deliver(user_event("u1", 1)))
    assert wire.types("tab1") == wire.types("tab2") == ["bid:outbid"]
    assert wire.got["tab1"][0]["eventId"] == f"{NOW + 1}-9"
    assert "other" not in wire.got
    assert wire.types("anon") == ["snapshot"]


def test_leaving_and_disconnecting_stop_delivery_and_free_the_room() -> None:
    hub: Hub[str] = Hub()
    wire = Wire()
    hub.connect("a", "u1")
    hub.connect("b", None)
    wire.take(hub.complete_join("a", join(hub, "a"), read([])))
    wire.take(hub.complete_join("b", join(hub, "b"), read([])))
    assert hub.receive("a", json.dumps({"type": "leave", "auctionId": AUCTION}), NOW) == []
    hub.disconnect("b")
    wire.take(hub.deliver(room_event(1)))
    wire.take(hub.deliver(user_event("u1", 2)))
    assert wire.numbers("a") == [] and wire.numbers("b") == []
    assert hub.rooms == {} and "b" not in hub.sessions


def test_a_join_completed_after_the_client_left_sends_nothing() -> None:
    hub: Hub[str] = Hub()
    hub.connect("a", None)
    ticket = join(hub, "a")
    hub.disconnect("a")
    assert hub.complete_join("a", ticket, read([1])) == []
    assert hub.rooms == {}


def test_joining_again_replays_only_what_the_connection_lacks() -> None:
    hub: Hub[str] = Hub()
    wire = Wire()
    hub.connect("a", None)
    wire.take(hub.complete_join("a", join(hub, "a"), read([1])))
    wire.take(hub.deliver(room_event(2)))
    wire.take(hub.complete_join("a", join(hub, "a", last=1), read([1, 2, 3], after=1)))
    assert wire.numbers("a") == [2, 3]
    assert wire.types("a").count("snapshot") == 2


def test_joining_again_without_last_event_id_keeps_the_connections_place() -> None:
    hub: Hub[str] = Hub()
    wire = Wire()
    hub.connect("a", None)
    wire.take(hub.complete_join("a", join(hub, "a"), read([])))
    ticket = join(hub, "a")
    wire.take(hub.deliver(room_event(1)))
    wire.take(hub.deliver(room_event(2)))
    wire.take(hub.complete_join("a", ticket, read([1, 2], after=0)))
    wire.take(hub.deliver(room_event(3)))
    assert wire.numbers("a") == [1, 2, 3]


def test_an_event_the_room_already_had_is_not_fanned_out_again() -> None:
    hub: Hub[str] = Hub()
    wire = Wire()
    hub.connect("a", None)
    wire.take(hub.complete_join("a", join(hub, "a"), read([])))
    for n in (1, 2, 1, 2, 3):  # a catch-up read overlapping the feed
        wire.take(hub.deliver(room_event(n)))
    assert wire.numbers("a") == [1, 2, 3]
    assert hub.catch_up_points() == {AUCTION: messages.stream_id(eid(3))}


def test_a_room_whose_state_cannot_be_rendered_fails_the_join_cleanly() -> None:
    hub: Hub[str] = Hub()
    hub.connect("a", None)
    ticket = join(hub, "a")
    broken = RoomRead({"status": "live"}, None, None, None, [], NOW)
    with pytest.raises(KeyError):
        hub.complete_join("a", ticket, broken)
    refusal = hub.fail_join("a", ticket, "unavailable", "retry")
    assert json.loads(refusal[0].payload)["code"] == "unavailable"
    assert hub.rooms == {} and hub.sessions["a"].rooms == set()


def test_a_connection_watches_at_most_fifty_rooms() -> None:
    import uuid

    hub: Hub[str] = Hub()
    hub.connect("a", None)
    now = NOW
    for _ in range(messages.MAX_ROOMS_PER_CONNECTION):
        now += 100  # within the message rate limit (20 a second)
        raw = json.dumps({"type": "join", "auctionId": str(uuid.uuid4()), "lastEventId": None})
        assert isinstance(hub.receive("a", raw, now), JoinTicket)
    refused = hub.receive(
        "a", json.dumps({"type": "join", "auctionId": str(uuid.uuid4())}), now + 100
    )
    assert isinstance(refused, list) and isinstance(refused[0], Send)
    assert json.loads(refused[0].payload)["code"] == "too_many_rooms"


def test_client_messages_are_parsed_or_refused_with_a_code() -> None:
    parse = messages.parse_client
    assert parse('{"type":"ping"}') == messages.Ping()
    assert parse(
        json.dumps({"type": "join", "auctionId": AUCTION.upper(), "lastEventId": "12-3"})
    ) == (messages.Join(AUCTION, (12, 3)))
    assert parse(json.dumps({"type": "leave", "auctionId": AUCTION})) == messages.Leave(AUCTION)
    assert parse('{"type":"auth","token":" a.b.c "}') == messages.Auth("a.b.c")
    assert parse('{"type":"auth","token":7}') == messages.Auth(None)
    assert parse('{"type":"auth"}') == messages.Auth(None)
    cases = {
        "{": "invalid_json",
        "[]": "invalid_message",
        '{"type": 3}': "invalid_message",
        '{"type": "bid"}': "unknown_type",
        '{"type": "join"}': "validation_error",
        '{"type": "join", "auctionId": "nope"}': "not_found",
        json.dumps(
            {"type": "join", "auctionId": AUCTION, "lastEventId": {"x": 1}}
        ): "validation_error",
        json.dumps(
            {"type": "join", "auctionId": AUCTION, "lastEventId": "1-2-3"}
        ): "validation_error",
    }
    for raw, code in cases.items():
        refusal = parse(raw)
        assert isinstance(refusal, messages.Refusal) and refusal.code == code, raw


def test_a_scheduled_auction_inside_its_window_shows_as_live() -> None:
    state = {**STATE, "status": "scheduled", "goLiveAt": str(NOW - 1)}
    snap = json.loads(
        messages.snapshot(AUCTION, RoomRead(state, None, None, None, [], NOW), replay_gap=False)
    )
    assert snap["status"] == "live"
    reserve = {**STATE, "reserve": "200000"}
    high = HighestBid("b", "u", amount=150000, ts=NOW - 5, max=150000, max_at=NOW - 5)
    snap = json.loads(
        messages.snapshot(AUCTION, RoomRead(reserve, high, None, None, [], NOW), replay_gap=False)
    )
    assert snap["highestBid"]["amount"] == "1500.00"
    assert snap["minNextBid"] == "1525.00"
    assert snap["reserveMet"] is False


# -- changing identity on an open connection ---------------------------------------------

EXP = NOW + 3_600_000


def auth(hub: Hub[str], conn: str, token: Any = "a.b.c") -> AuthTicket:
    ticket = hub.receive(conn, json.dumps({"type": "auth", "token": token}), NOW)
    assert isinstance(ticket, AuthTicket)
    return ticket


def test_auth_moves_an_anonymous_connection_onto_its_users_channel() -> None:
    hub: Hub[str] = Hub()
    wire = Wire()
    hub.connect("tab", None)
    wire.take(hub.deliver(user_event("u1", 1)))
    wire.take(hub.complete_auth("tab", auth(hub, "tab"), "u1", EXP))
    wire.take(hub.deliver(user_event("u1", 2)))
    assert wire.types("tab") == ["authed", "bid:outbid"]
    assert wire.got["tab"][0] == {
        "type": "authed",
        "userId": "u1",
        "expiresAt": "2027-01-15T09:00:00.000Z",
    }
    assert wire.numbers("tab", "bid:outbid") == [2]
    assert hub.users == {"u1": {"tab"}}


def test_a_refreshed_token_keeps_the_user_and_loses_no_user_event_meanwhile() -> None:
    hub: Hub[str] = Hub()
    wire = Wire()
    hub.connect("tab", "u1")
    hub.connect("other-tab", "u1")
    ticket = auth(hub, "tab")
    # While the shell verifies the new token, events for the user are held for this tab only.
    wire.take(hub.deliver(user_event("u1", 1)))
    assert wire.numbers("tab", "bid:outbid") == []
    assert wire.numbers("other-tab", "bid:outbid") == [1]
    wire.take(hub.complete_auth("tab", ticket, "u1", EXP))
    wire.take(hub.deliver(user_event("u1", 2)))
    assert wire.types("tab") == ["authed", "bid:outbid", "bid:outbid"]
    assert wire.numbers("tab", "bid:outbid") == [1, 2]
    assert hub.users == {"u1": {"tab", "other-tab"}}


def test_auth_as_another_user_moves_the_channel_and_drops_what_was_held() -> None:
    hub: Hub[str] = Hub()
    wire = Wire()
    hub.connect("tab", "u1")
    ticket = auth(hub, "tab")
    wire.take(hub.deliver(user_event("u1", 1)))  # for the old identity: never sent
    wire.take(hub.complete_auth("tab", ticket, "u2", EXP))
    wire.take(hub.deliver(user_event("u1", 2)))
    wire.take(hub.deliver(user_event("u2", 3)))
    assert wire.types("tab") == ["authed", "bid:outbid"]
    assert wire.got["tab"][0]["userId"] == "u2"
    assert wire.numbers("tab", "bid:outbid") == [3]
    assert hub.users == {"u2": {"tab"}}


@pytest.mark.parametrize("token", ["forged.token.here", None, "", 42])
def test_a_bad_token_leaves_the_connection_anonymous_never_half_authenticated(
    token: Any,
) -> None:
    hub: Hub[str] = Hub()
    wire = Wire()
    hub.connect("tab", "u1")
    wire.take(hub.complete_join("tab", join(hub, "tab"), read([])))
    ticket = auth(hub, "tab", token)
    assert ticket.token == (token if isinstance(token, str) and token else None)
    wire.take(hub.deliver(user_event("u1", 1)))  # held, then dropped with the old identity
    wire.take(hub.complete_auth("tab", ticket, None, None))
    wire.take(hub.deliver(user_event("u1", 2)))
    wire.take(hub.deliver(room_event(3)))
    assert wire.types("tab") == ["snapshot", "error", "bid:placed"]
    assert wire.got["tab"][1]["code"] == "unauthenticated"
    assert hub.users == {}
    assert hub.sessions["tab"].user_id is None
    # ... and a good token afterwards signs it in again.
    wire.take(hub.complete_auth("tab", auth(hub, "tab"), "u1", EXP))
    wire.take(hub.deliver(user_event("u1", 4)))
    assert wire.numbers("tab", "bid:outbid") == [4]


def test_only_the_newest_auth_counts_and_a_closed_connection_gets_no_verdict() -> None:
    hub: Hub[str] = Hub()
    wire = Wire()
    hub.connect("tab", None)
    first, second = auth(hub, "tab", "first"), auth(hub, "tab", "second")
    assert hub.complete_auth("tab", first, "u1", EXP) == []  # superseded
    wire.take(hub.complete_auth("tab", second, "u2", EXP))
    assert wire.got["tab"][0]["userId"] == "u2"
    assert hub.users == {"u2": {"tab"}}
    late = auth(hub, "tab")
    hub.disconnect("tab")
    assert hub.complete_auth("tab", late, "u1", EXP) == []
    assert hub.users == {} and hub.verifying == set()


identity_ops = st.lists(
    st.one_of(
        st.tuples(st.just("event"), st.sampled_from(["u1", "u2"])),
        st.tuples(st.just("auth"), st.just("")),
        st.tuples(st.just("verdict"), st.sampled_from(["u1", "u2", "bad"])),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["u1", None]), identity_ops)
def test_a_connection_gets_exactly_the_user_events_of_who_it_is(
    start: str | None, ops: list[tuple[str, str]]
) -> None:
    """Any interleaving of user events, auth messages and verdicts: a connection receives an
    event only for the identity it holds (verified), every one of them (a refresh loses none),
    and never one for an identity it held before a change or a failed token."""
    hub: Hub[str] = Hub()
    wire = Wire()
    hub.connect("tab", start)
    ticket: AuthTicket | None = None
    identity = start
    held: list[int] = []  # events for `identity` while a verdict is pending
    expected: list[int] = []
    for n, (op, arg) in enumerate(ops):
        if op == "event":
            wire.take(hub.deliver(user_event(arg, n)))
            if identity == arg:
                (held if ticket is not None else expected).append(n)
        elif op == "auth":
            ticket = auth(hub, "tab")
        elif op == "verdict" and ticket is not None:
            verdict = None if arg == "bad" else arg
            wire.take(hub.complete_auth("tab", ticket, verdict, EXP if verdict else None))
            if verdict is not None and verdict == identity:
                expected.extend(held)
            identity, held, ticket = verdict, [], None
    assert wire.numbers("tab", "bid:outbid") == expected
    assert hub.sessions["tab"].user_id == identity


# -- invariant 7 under any interleaving --------------------------------------------------------

operations = st.lists(
    st.tuples(
        st.sampled_from(["append", "feed", "begin", "read", "complete", "drop"]),
        st.integers(0, 3),
        st.integers(0, 12),
    ),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(operations)
def test_every_member_gets_each_event_after_its_start_exactly_once_in_order(
    ops: list[tuple[str, int, int]],
) -> None:
    """A model of Redis (the room stream, the feed the node reads with some lag) and up to
    four clients joining with arbitrary lastEventIds at arbitrary moments."""
    hub: Hub[str] = Hub()
    wire = Wire()
    stream: list[int] = []
    fed = 0  # how many stream entries the feed reader has delivered
    tickets: dict[str, JoinTicket] = {}
    reads: dict[str, RoomRead] = {}
    starts: dict[str, int] = {}  # the event each member's snapshot or replay starts after
    for op, who, pick in ops:
        conn = f"c{who}"
        if op == "append":
            stream.append(len(stream) + 1)
        elif op == "feed" and fed < len(stream):
            fed += 1
            wire.take(hub.deliver(room_event(fed)))
        elif op == "begin" and conn not in tickets:
            if conn not in hub.sessions:
                hub.connect(conn, None)
            last = pick if 0 < pick <= len(stream) else None
            tickets[conn] = join(hub, conn, last)
            reads.pop(conn, None)
        elif op == "read" and conn in tickets and conn not in reads:
            after = tickets[conn].after
            reads[conn] = read(list(stream), after=None if after is None else after[0] - NOW)
        elif op == "complete" and conn in reads:
            ticket, room = tickets.pop(conn), reads.pop(conn)
            wire.take(hub.complete_join(conn, ticket, room))
            asked = ticket.asked[0] - NOW if ticket.asked else None
            snapshot_last = int(room.last_id.split("-")[0]) - NOW if room.last_id else 0
            if conn not in starts:
                starts[conn] = asked if asked is not None else snapshot_last
        elif op == "drop" and conn in hub.sessions:
            hub.disconnect(conn)
            tickets.pop(conn, None)
            reads.pop(conn, None)
            starts.pop(conn, None)
            wire.got.pop(conn, None)
    while fed < len(stream):
        fed += 1
        wire.take(hub.deliver(room_event(fed)))
    for conn, start in starts.items():
        if conn in tickets:
            continue  # a second join still in flight
        assert wire.numbers(conn) == list(range(start + 1, len(stream) + 1)), conn
