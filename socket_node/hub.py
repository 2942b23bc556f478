"""Rooms, users and who gets which event: the socket node's logic as a plain state machine.

Like websockets' own `protocol.py`, this module does no I/O: the shell (`server.py`) feeds it
what happened (a connection opened, a client message, a room read from Redis, a feed entry)
and sends what it returns, in the order returned. The tests drive it without a network.

Joining a room without losing or repeating an event, while the live feed keeps flowing:
1. `begin_join` registers the connection in the room as *pending*: live events for the room
   are buffered for it from now on;
2. the shell reads the room atomically (snapshot state, the stream's first and last ids, the
   entries after the client's lastEventId);
3. `complete_join` sends the snapshot, the replay up to the snapshot's lastEventId, then the
   buffered events newer than that, and makes the member live.
Every member has a position (the newest room event it was sent); nothing at or below it is
sent to it again. In the steady state a member's position is the room's last fanned-out
event, so the hot path hands the room's member set to the broadcaster as is.

Changing identity on an open connection (`{"type":"auth"}`) has the same shape:
`begin_auth` holds the connection's user events while the shell verifies the token, and
`complete_auth` moves the connection to the new user's channel (or to none). The held events
go out only when the identity did not change (a token refresh loses nothing); for another user,
or a token that failed, they are dropped: a connection is never half-authenticated.

Every client message first spends a token of its connection's bucket (`MessageLimit`: 20 a
second, bursts of 40, on the clock the shell passes in). Past it the message is refused with
`rate_limited`; a connection refused `REFUSALS_BEFORE_CLOSE` times within
`REFUSALS_WINDOW_MS` is not slowing down, and is closed with 1008 (policy violation).

Replays have a budget of their own per connection (`REPLAY_EVENTS_BURST` events at once,
`REPLAY_EVENTS_PER_S` after): within the message limit, join/leave pairs with an old
lastEventId made the node read and send 1,000 events each, 10,000 a second per connection.
A join past the budget is answered with the snapshot alone, `replayGap: true` when the client
is behind (as when the stream no longer reaches its position: it refetches the auction), and
nothing is read from the stream. A client reconnecting into its rooms spends one replay each,
far below the budget, and never sees the difference.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from shared.domain.bidding import Bucket, take_token
from socket_node import messages
from socket_node.messages import Auth, FeedEvent, Join, Leave, Ping, Refusal, RoomRead, StreamId

C = TypeVar("C", bound=Hashable)
START: StreamId = (0, 0)  # before the first event of any stream

# At most 20 messages a second per connection, bursts of 40.
MESSAGES_PER_S = 20.0
MESSAGES_BURST = 40
# "Keeps going": 20 refused messages (one more second's worth) within 10 s, and the
# connection is closed. A client that backs off after a `rate_limited` never gets there.
REFUSALS_BEFORE_CLOSE = 20
REFUSALS_WINDOW_MS = 10_000
CLOSE_POLICY_VIOLATION = 1008
# Events a connection may have replayed: two full replays (feed.REPLAY_MAX each) at once, then
# 200 a second (ten joins a second, 20 events behind each).
REPLAY_EVENTS_BURST = 2_000
REPLAY_EVENTS_PER_S = 200.0
_FULL_REPLAY_BUDGET = float(REPLAY_EVENTS_BURST)  # one float shared by every idle connection


class MessageLimit:
    """One connection's message budget: a token bucket (the bid limiter's `take_token`), and
    the times of its recent refusals."""

    __slots__ = ("bucket", "closed", "refusals", "replay_at", "replay_left")

    def __init__(self) -> None:
        self.bucket: Bucket | None = None
        # Made at the first refusal: most connections never have one, and an empty deque
        # is ~600 bytes (a block of 64 slots) on each of thousands of idle connections.
        self.refusals: deque[int] | None = None
        self.closed = False
        # The replay budget: events left (may go below 0 by one replay's size: a join is
        # charged what it replayed, known only once the room is read), as of `replay_at`.
        self.replay_left = _FULL_REPLAY_BUDGET
        self.replay_at = 0

    def may_replay(self, now_ms: int) -> bool:
        """Whether a join now may replay (the budget refilled to `now_ms` is above 0)."""
        if self.replay_at:
            refill = (now_ms - self.replay_at) * REPLAY_EVENTS_PER_S / 1000
            self.replay_left = min(_FULL_REPLAY_BUDGET, self.replay_left + max(0.0, refill))
        self.replay_at = now_ms
        return self.replay_left > 0

    def replayed(self, count: int) -> None:
        self.replay_left -= count

    def admit(self, now_ms: int) -> str:
        """`ok`, `refuse` (answer rate_limited), `close` (policy violation: once), then
        `ignore` for whatever still arrives while the connection closes."""
        if self.closed:
            return "ignore"
        self.bucket, wait = take_token(self.bucket, now_ms, MESSAGES_PER_S, MESSAGES_BURST)
        if wait is None:
            return "ok"
        if self.refusals is None:
            self.refusals = deque()
        self.refusals.append(now_ms)
        while self.refusals and self.refusals[0] <= now_ms - REFUSALS_WINDOW_MS:
            self.refusals.popleft()
        if len(self.refusals) >= REFUSALS_BEFORE_CLOSE:
            self.closed = True
            return "close"
        return "refuse"


@dataclass(slots=True)
class Send(Generic[C]):
    """Write `payload` to each of `targets`, in this order relative to other Sends."""

    targets: Collection[C]
    payload: str


@dataclass(slots=True)
class Close(Generic[C]):
    """Close `target`'s connection with `code` (after the Sends before it)."""

    target: C
    code: int
    reason: str


@dataclass(slots=True)
class JoinTicket:
    """A join in flight: the shell reads the room and hands the ticket back."""

    auction_id: str
    after: StreamId | None  # replay the room's events after this id (None: snapshot only)
    asked: StreamId | None  # the lastEventId the client gave
    # Past the connection's replay budget: the snapshot only, and from `behind` (where the
    # client stands) whether that leaves it a gap.
    behind: StreamId | None = None


@dataclass(slots=True)
class AuthTicket:
    """An identity change in flight: the shell verifies `token` and hands the ticket back."""

    token: str | None  # None: the message carried no token (fails without a check)


@dataclass(slots=True)
class Room(Generic[C]):
    members: set[C] = field(default_factory=set)  # live: get every fanned-out event
    pending: dict[C, list[FeedEvent]] = field(default_factory=dict)  # joins in flight
    ahead: dict[C, StreamId] = field(default_factory=dict)  # positions past `last`
    last: StreamId | None = None  # the newest event fanned out here

    def position(self, conn: C) -> StreamId | None:
        mine = self.ahead.get(conn)
        if mine is not None and (self.last is None or mine > self.last):
            return mine
        return self.last

    @property
    def size(self) -> int:
        return len(self.members) + len(self.pending)


@dataclass(slots=True)
class Session:
    user_id: str | None
    rooms: set[str] = field(default_factory=set)
    tickets: dict[str, JoinTicket] = field(default_factory=dict)
    auth: AuthTicket | None = None  # an identity change in flight
    held: list[str] = field(default_factory=list)  # user events held meanwhile
    limit: MessageLimit = field(default_factory=MessageLimit)


class Hub(Generic[C]):
    def __init__(self) -> None:
        self.sessions: dict[C, Session] = {}
        self.rooms: dict[str, Room[C]] = {}
        self.users: dict[str, set[C]] = {}
        self.verifying: set[C] = set()  # connections with an identity change in flight
        # Running totals for the node's figures (socket_node/metrics.py reads them).
        self.rate_limited = 0  # messages refused with `rate_limited`
        self.replay_gaps = 0  # joins answered with `replayGap: true`

    # -- connections -----------------------------------------------------------------------

    def connect(self, conn: C, user_id: str | None) -> None:
        """A connection opened (`user_id` None: an anonymous watcher, room events only)."""
        self.sessions[conn] = Session(user_id)
        if user_id is not None:
            self.users.setdefault(user_id, set()).add(conn)

    def disconnect(self, conn: C) -> None:
        session = self.sessions.pop(conn, None)
        if session is None:
            return
        for auction_id in list(session.rooms):
            self._remove_member(conn, auction_id)
        self._leave_user(conn, session.user_id)
        self.verifying.discard(conn)

    def _leave_user(self, conn: C, user_id: str | None) -> None:
        if user_id is None:
            return
        mine = self.users.get(user_id)
        if mine is not None:
            mine.discard(conn)
            if not mine:
                del self.users[user_id]

    # -- identity --------------------------------------------------------------------------

    def begin_auth(self, conn: C, auth: Auth) -> AuthTicket:
        """A client asked to become whoever `auth.token` names: from now until
        `complete_auth`, its user events are held, not sent."""
        session = self.sessions[conn]
        ticket = AuthTicket(auth.token)
        if session.auth is None:
            session.held = []
        session.auth = ticket  # a newer request supersedes one still in flight
        self.verifying.add(conn)
        return ticket

    def complete_auth(
        self, conn: C, ticket: AuthTicket, user_id: str | None, expires_at_ms: int | None
    ) -> list[Send[C]]:
        """The verdict on `ticket`: `user_id` (and the token's exp) when the token was good,
        None when it was not; the connection is then that user's, or anonymous."""
        session = self.sessions.get(conn)
        if session is None or session.auth is not ticket:
            return []  # gone, or superseded by a newer auth message
        held, session.held, session.auth = session.held, [], None
        self.verifying.discard(conn)
        previous = session.user_id
        if previous != user_id:
            self._leave_user(conn, previous)
            session.user_id = user_id
            if user_id is not None:
                self.users.setdefault(user_id, set()).add(conn)
        if user_id is None or expires_at_ms is None:
            return [Send((conn,), messages.unauthenticated())]
        out = [Send((conn,), messages.authed(user_id, expires_at_ms))]
        if user_id == previous:  # a refreshed token: what arrived meanwhile is still theirs
            out.extend(Send((conn,), payload) for payload in held)
        return out

    # -- client messages -------------------------------------------------------------------

    def receive(
        self, conn: C, raw: str | bytes, now_ms: int
    ) -> list[Send[C] | Close[C]] | JoinTicket | AuthTicket:
        """A client message: the replies to send, or a join or an identity change for the
        shell to complete."""
        session = self.sessions.get(conn)
        if session is None:
            return []
        verdict = session.limit.admit(now_ms)
        if verdict == "refuse":
            self.rate_limited += 1
            detail = f"At most {MESSAGES_PER_S:.0f} messages a second (bursts of {MESSAGES_BURST})"
            return [Send((conn,), messages.error("rate_limited", detail))]
        if verdict == "close":
            return [Close(conn, CLOSE_POLICY_VIOLATION, "message rate limit exceeded")]
        if verdict == "ignore":
            return []
        message = messages.parse_client(raw)
        if isinstance(message, Refusal):
            return [Send((conn,), messages.error(message.code, message.detail, message.auction_id))]
        if isinstance(message, Ping):
            return [Send((conn,), messages.pong(now_ms))]
        if isinstance(message, Leave):
            self._remove_member(conn, message.auction_id)
            return []
        if isinstance(message, Auth):
            return self.begin_auth(conn, message)
        return self.begin_join(conn, message, now_ms)

    def begin_join(self, conn: C, join: Join, now_ms: int) -> list[Send[C] | Close[C]] | JoinTicket:
        session = self.sessions[conn]
        aid = join.auction_id
        if aid not in session.rooms and len(session.rooms) >= messages.MAX_ROOMS_PER_CONNECTION:
            return [
                Send(
                    (conn,),
                    messages.error(
                        "too_many_rooms",
                        f"At most {messages.MAX_ROOMS_PER_CONNECTION} rooms per connection",
                        aid,
                    ),
                )
            ]
        room = self.rooms.setdefault(aid, Room())
        after = join.last_event_id
        if conn in room.members:
            # Joining again: the connection keeps its place (it gets a fresh snapshot, and what
            # it has not had yet follows it), whatever lastEventId it gave.
            mine = room.position(conn) or START
            if after is None or mine > after:
                after = mine
            room.members.discard(conn)
            room.ahead.pop(conn, None)
        room.pending[conn] = []
        session.rooms.add(aid)
        if after is not None and not session.limit.may_replay(now_ms):
            ticket = JoinTicket(aid, None, join.last_event_id, behind=after)
        else:
            ticket = JoinTicket(aid, after, join.last_event_id)
        session.tickets[aid] = ticket
        return ticket

    def complete_join(self, conn: C, ticket: JoinTicket, read: RoomRead) -> list[Send[C]]:
        """The room as read after `begin_join`: snapshot, replay, then what arrived meanwhile."""
        session = self.sessions.get(conn)
        room = self.rooms.get(ticket.auction_id)
        if session is None or room is None or session.tickets.get(ticket.auction_id) is not ticket:
            return []  # the client left or went away meanwhile
        last = messages.stream_id(read.last_id) if read.last_id else None
        first = messages.stream_id(read.first_id) if read.first_id else None
        after = ticket.after
        # The stream no longer reaches back to the client's position (trimmed, or Redis lost
        # it), or the client claims events this stream never had: it must refetch.
        gap = after is not None and (
            read.replay_truncated  # further behind than a join replays
            or (last is None and after > START)
            or (last is not None and after > last)
            or (first is not None and START < after < first)
        )
        if ticket.behind is not None:  # no replay within the budget: a gap if it is behind
            gap = ticket.behind != (last if last is not None else START)
        # Rendered before anything changes: a malformed state raises here and the shell can
        # still fail the join cleanly.
        out = [messages.snapshot(ticket.auction_id, read, replay_gap=gap)]
        if gap:
            self.replay_gaps += 1
        del session.tickets[ticket.auction_id]
        buffered = room.pending.pop(conn)
        position = last
        if not gap and after is not None:
            for entry_id, body in read.entries:
                sid = messages.stream_id(entry_id)
                if sid > after and (last is None or sid <= last):
                    out.append(messages.with_event_id(body, entry_id))
            session.limit.replayed(len(out) - 1)
        for event in buffered:
            if position is None or event.event_id > position:
                out.append(event.payload)
                position = event.event_id
        room.members.add(conn)
        if position is not None and (room.last is None or position > room.last):
            room.ahead[conn] = position
        return [Send((conn,), payload) for payload in out]

    def fail_join(self, conn: C, ticket: JoinTicket, code: str, detail: str) -> list[Send[C]]:
        session = self.sessions.get(conn)
        if session is None or session.tickets.get(ticket.auction_id) is not ticket:
            return []
        self._remove_member(conn, ticket.auction_id)
        return [Send((conn,), messages.error(code, detail, ticket.auction_id))]

    def _remove_member(self, conn: C, auction_id: str) -> None:
        session = self.sessions.get(conn)
        if session is not None:
            session.rooms.discard(auction_id)
            session.tickets.pop(auction_id, None)
        room = self.rooms.get(auction_id)
        if room is None:
            return
        room.members.discard(conn)
        room.pending.pop(conn, None)
        room.ahead.pop(conn, None)
        if not room.members and not room.pending:
            del self.rooms[auction_id]

    # -- the live feed ---------------------------------------------------------------------

    def deliver(self, event: FeedEvent) -> list[Send[C]]:
        """One feed entry: who gets it. Entries arrive in feed order."""
        if event.user is not None:
            conns = self.users.get(event.user)
            if not conns:
                return []
            if self.verifying and not self.verifying.isdisjoint(conns):
                for conn in conns & self.verifying:
                    self.sessions[conn].held.append(event.payload)
                conns = conns - self.verifying
            return [Send(tuple(conns), event.payload)] if conns else []
        assert event.room is not None
        room = self.rooms.get(event.room)
        if room is None:
            return []
        eid = event.event_id
        if room.last is not None and eid <= room.last:
            return []  # fanned out already (a catch-up read overlapping the feed)
        room.last = eid
        for buffer in room.pending.values():
            buffer.append(event)
        if not room.members:
            return []
        targets: Collection[C] = room.members
        if room.ahead:
            skip = [conn for conn, pos in room.ahead.items() if pos >= eid]
            for conn in [conn for conn, pos in room.ahead.items() if pos <= eid]:
                del room.ahead[conn]
            if skip:
                targets = room.members.difference(skip)
        return [Send(targets, event.payload)] if targets else []

    def catch_up_points(self) -> dict[str, StreamId | None]:
        """For each room with live members, the oldest position among them (None: from the
        stream's start). When the feed lost entries, the shell re-reads each room stream from
        there and `deliver`s the entries; what a member already has is skipped."""
        points: dict[str, StreamId | None] = {}
        for aid, room in self.rooms.items():
            if not room.members:
                continue
            if room.last is not None:
                points[aid] = room.last
            elif len(room.ahead) == len(room.members):
                points[aid] = min(room.ahead.values())
            else:
                points[aid] = None
        return points

    # -- figures ---------------------------------------------------------------------------

    def room_sizes(self) -> dict[str, int]:
        return {aid: room.size for aid, room in self.rooms.items()}
