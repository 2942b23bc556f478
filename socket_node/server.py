"""The socket node's asyncio shell: the websockets server (`/ws`) and the background loops
(feed reader, lifecycle ticker, job worker); its plain HTTP (`/health`, `/config.json`, the
built SPA, the admin's views) is `http_routes`.

Everything about rooms, users and replay is decided by `hub.Hub` (no I/O); this module reads
sockets and Redis, hands the hub what happened, and writes what it returns, synchronously and
in order (`fan_out`, like `websockets.broadcast`, never waits for a slow peer). A peer whose
write buffer stays above the high-water mark is dropped (it reconnects and replays); the node
is never slowed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs

import orjson
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from websockets.asyncio.server import Server, ServerConnection, broadcast, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import State

from shared.adapters import keys
from shared.adapters.redis_store import StoreError, StoreUnavailable
from shared.adapters.tokens import InvalidToken, KeysUnavailable, Principal, Verifier
from shared.logs import configure_logging
from shared.services import auction_state
from shared.services.context import Context, for_socket_node
from shared.services.unknown_auctions import UnknownAuctions
from shared.settings import Settings, settings_or_exit
from socket_node import background, feed
from socket_node.http_routes import HttpRoutes
from socket_node.hub import AuthTicket, Close, Hub, JoinTicket, Send
from socket_node.messages import FeedEvent
from socket_node.metrics import NodeMetrics

log = logging.getLogger("socket_node")

CLOSE_UNAUTHORIZED = 4401  # an invalid token; the web client goes anonymous
CLOSE_TRY_AGAIN_LATER = 1013  # the token cannot be checked now (the JWKS URL is down)
MAX_MESSAGE_BYTES = 64 * 1024
# Client messages waiting to be read (websockets' default is 16): past it the node stops
# reading that socket until the handler catches up (TCP pushes back on the client). The handler
# reads one message at a time and waits only on a join's or an auth's read, so a few is plenty;
# a flooder holds at most 4 x 64 KiB here instead of 1 MiB.
MAX_QUEUED_MESSAGES = 4
WRITE_HIGH_WATER = 64 * 1024  # past this, the transport calls pause_writing: "congested"
SLOW_BUFFER_BYTES = 1024 * 1024  # a congested peer with more than this queued is dropped
SLOW_AFTER_S = 10.0  # ... and so is one congested for this long
SUMMARY_EVERY_S = 5.0
# At most this many joins look an auction up in PostgreSQL at once: the ticker and the job
# worker share the node's few worker threads and database connections with them (/health has
# a thread of its own, `http_routes.Health`).
REBUILDS_AT_ONCE = 2


def now_ms() -> int:
    return int(time.time() * 1000)


# Once a connection is open, websockets only tests that its handshake request is there; the
# request itself (its headers, ~2.5 KiB) is not needed again: the token was checked at the
# handshake. Every open connection points at this one instead.
HANDSHAKE_DONE = Request("/ws", Headers())
HEARTBEAT_SLICE = 500  # connections checked between two turns of the event loop


class NodeConnection(ServerConnection):
    """A WebSocket connection that knows who it is (the token checked at the handshake) and
    tells the node when its write buffer passes the high-water mark.

    Memory per idle connection is one of the node's figures: its own attributes are class
    defaults until they change, so an anonymous watcher that is never congested adds only
    `heard` to websockets' connection (`node` is an attribute of the node's own subclass,
    `connections_of`, which is what the server is given to make connections with)."""

    node: SocketNode

    principal: Principal | None = None
    expires_at: float | None = None  # the token's exp, epoch seconds
    refused = False
    refused_code = CLOSE_UNAUTHORIZED
    congested_since = 0.0
    expiry: asyncio.TimerHandle | None = None
    heard = 0.0  # when the peer last sent anything (loop clock): the node's heartbeat
    pinged = 0.0  # when the heartbeat last pinged it

    def data_received(self, data: bytes) -> None:
        self.heard = self.loop.time()
        super().data_received(data)

    def opened(self) -> None:
        """The handshake is over: let go of what only it needed. (websockets' parser keeps
        the request object in its frame for the connection's life: its headers are emptied.)"""
        if self.request is not None and self.request is not HANDSHAKE_DONE:
            self.request.headers.clear()
        self.request = HANDSHAKE_DONE
        self.response = None

    def expire_at(self, expires_at: float | None) -> None:
        """A signed-in connection lasts as long as its token: at `expires_at` it is closed
        with 4401 and the client comes back with a fresh token (or as an anonymous watcher).
        Each identity change sets the timer again; None (anonymous) clears it."""
        if expires_at != self.expires_at:
            self.expires_at = expires_at
        if self.expiry is not None:
            self.expiry.cancel()
            self.expiry = None
        if expires_at is not None:
            self.expiry = asyncio.get_running_loop().call_later(
                max(0.0, expires_at - time.time()),
                lambda: asyncio.ensure_future(self.close(CLOSE_UNAUTHORIZED, "token expired")),
            )

    def pause_writing(self) -> None:
        super().pause_writing()
        self.congested_since = time.monotonic()
        self.node.congested.add(self)


def connections_of(node: SocketNode) -> type[NodeConnection]:
    """The connection class the server makes `node`'s connections with (`node` is its class
    attribute: one reference per node, not one per connection)."""

    class BoundConnection(NodeConnection):
        pass

    BoundConnection.node = node
    return BoundConnection


def fan_out(targets: Iterable[NodeConnection], payload: str) -> None:
    """`websockets.broadcast` with the frame built once: a server's frames are not masked and
    the node negotiates no extension (compression is off), so every connection would be sent
    the very same bytes. broadcast builds them again for each (a Frame, its header, a copy of
    the payload, the protocol's write list): most of the CPU of a 10,000-client fan-out.
    Skipped like broadcast skips: a connection no longer open. A connection with an
    extension (none today) goes through broadcast."""
    frame = Frame(Opcode.TEXT, payload.encode()).serialize(mask=False, extensions=[])
    for connection in targets:
        protocol = connection.protocol
        if protocol.state is not State.OPEN or connection.send_in_progress is not None:
            continue
        if protocol.extensions:
            broadcast((connection,), payload)
            continue
        try:
            connection.transport.write(frame)
        except Exception as exc:  # as broadcast: one failed peer never stops the others
            log.warning("skipped a fan-out write: %r", exc)


class SocketNode:
    def __init__(
        self,
        settings: Settings,
        ctx: Context,
        *,
        ticker: bool = True,
        jobs: bool = True,
        ping_interval: float | None = 20.0,
        ping_timeout: float | None = 20.0,
        close_timeout: float = 5.0,
        slow_buffer_bytes: int = SLOW_BUFFER_BYTES,
        slow_after_s: float = SLOW_AFTER_S,
    ) -> None:
        assert settings.redis_url, "REDIS_URL must be set"
        self.settings = settings
        self.ctx = ctx
        self.node_id = uuid.uuid4().hex[:12]
        self.hub: Hub[NodeConnection] = Hub()
        self.verifier = Verifier(settings)
        self.redis = feed.client(settings.redis_url)
        self.rooms = feed.RoomReader(self.redis)
        self.feed = feed.FeedReader(
            feed.client(settings.redis_url, max_connections=1, blocking=True),
            self.on_feed,
            self.on_feed_gap,
        )
        self.congested: set[NodeConnection] = set()
        self.dropped_slow = 0
        # A flood of joins to made-up ids costs neither a database round trip nor a worker
        # thread each.
        self.unknown_auctions = UnknownAuctions()
        self.rebuilds = asyncio.Semaphore(REBUILDS_AT_ONCE)
        self.refused_connections = 0
        self.metrics = NodeMetrics(self)  # GET /metrics, GET /admin/metrics
        self.http = HttpRoutes(self)  # everything but the WebSocket handshake
        self.run_ticker = ticker
        self.run_jobs = jobs
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.close_timeout = close_timeout
        self.slow_buffer_bytes = slow_buffer_bytes
        self.slow_after_s = slow_after_s
        self.tasks: list[asyncio.Task[None]] = []
        self.server: Server | None = None
        self.port = 0

    # -- plain HTTP ------------------------------------------------------------------------

    async def process_handshake(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        assert isinstance(connection, NodeConnection)  # made by connections_of(self)
        return await self.process_request(connection, request)

    async def process_request(
        self, connection: NodeConnection, request: Request
    ) -> Response | None:
        path, _, query = request.path.partition("?")
        if path == "/ws" and request.method == "GET":
            await self.authenticate(connection, query)
            return None  # the WebSocket handshake goes on
        return await self.http.answer(connection, request)

    async def verify(self, token: str) -> Principal:
        return (await self.verify_until(token))[0]

    async def verify_until(self, token: str) -> tuple[Principal, float]:
        if self.settings.supabase_jwks_url:  # may fetch keys over the network
            return await asyncio.to_thread(self.verifier.verify_until, token)
        return self.verifier.verify_until(token)

    async def authenticate(self, connection: NodeConnection, query: str) -> None:
        token = (parse_qs(query).get("token") or [""])[0]
        if not token:
            return  # an anonymous watcher
        try:
            connection.principal, connection.expires_at = await self.verify_until(token)
            self.metrics.auth.labels("handshake", "ok").inc()
        except KeysUnavailable as exc:
            log.warning("websocket token not checkable now: %s", exc)
            connection.refused, connection.refused_code = True, CLOSE_TRY_AGAIN_LATER
            self.metrics.auth.labels("handshake", "unavailable").inc()
        except InvalidToken as exc:
            log.info("websocket token refused: %s", exc)
            connection.refused = True
            self.metrics.auth.labels("handshake", "invalid").inc()

    # -- the admin view: this node's figures, and its siblings' through Redis --------------

    def own_summary(self) -> dict[str, Any]:
        return {
            "id": self.node_id,
            "rooms": self.hub.room_sizes(),
            "connections": len(self.hub.sessions),
            "users": sorted(self.hub.users),
        }

    async def publish_summary(self) -> None:
        """Every second when the figures changed, and every few seconds regardless (they
        expire, so a node that died drops out of the admin view by itself)."""
        published: dict[str, Any] | None = None
        published_at = 0.0
        while True:
            summary = self.own_summary()
            if summary != published or time.monotonic() - published_at >= SUMMARY_EVERY_S:
                with contextlib.suppress(RedisError, OSError):
                    now = now_ms()
                    ttl = 3 * int(SUMMARY_EVERY_S)
                    pipe = self.redis.pipeline(transaction=False)
                    pipe.set(keys.socket_node(self.node_id), orjson.dumps(summary), ex=ttl)
                    pipe.zadd(keys.SOCKET_NODES, {self.node_id: now})
                    pipe.zremrangebyscore(keys.SOCKET_NODES, "-inf", now - ttl * 1000)
                    await pipe.execute()
                    published, published_at = summary, time.monotonic()
            await asyncio.sleep(1.0)

    async def cluster_figures(self) -> dict[str, Any]:
        summaries = [self.own_summary()]
        try:
            ids = [str(i) for i in await self.redis.zrange(keys.SOCKET_NODES, 0, -1)]
            others = [i for i in ids if i != self.node_id]
            if others:
                raw = await self.redis.mget([keys.socket_node(i) for i in others])
                summaries += [orjson.loads(r) for r in raw if r]
        except (RedisError, OSError) as exc:
            log.warning("sibling nodes' figures unavailable: %s", exc)
        rooms: dict[str, int] = {}
        users: set[str] = set()
        for summary in summaries:
            for aid, count in summary["rooms"].items():
                rooms[aid] = rooms.get(aid, 0) + int(count)
            users.update(summary["users"])
        return {
            "rooms": [
                {"auctionId": aid, "connections": n}
                for aid, n in sorted(rooms.items(), key=lambda item: (-item[1], item[0]))
            ],
            "connections": sum(int(s["connections"]) for s in summaries),
            "onlineUsers": len(users),
            "nodes": [
                {"id": s["id"], "connections": s["connections"], "rooms": len(s["rooms"])}
                for s in summaries
            ],
        }

    # -- WebSocket -------------------------------------------------------------------------

    async def serve_connection(self, connection: ServerConnection) -> None:
        assert isinstance(connection, NodeConnection)  # made by connections_of(self)
        await self.handle(connection)

    async def handle(self, connection: NodeConnection) -> None:
        if connection.refused:
            if connection.refused_code == CLOSE_TRY_AGAIN_LATER:
                await connection.close(CLOSE_TRY_AGAIN_LATER, "token cannot be checked now")
            else:
                await connection.close(CLOSE_UNAUTHORIZED, "invalid or expired token")
            return
        connection.opened()
        principal = connection.principal
        self.hub.connect(connection, principal.user_id if principal else None)
        connection.expire_at(connection.expires_at)
        try:
            async for raw in connection:
                result = self.hub.receive(connection, raw, now_ms())
                if isinstance(result, JoinTicket):
                    await self.join(connection, result)
                elif isinstance(result, AuthTicket):
                    await self.reauthenticate(connection, result)
                else:
                    self.send(result)
        except ConnectionClosed:
            pass
        finally:
            connection.expire_at(None)
            self.hub.disconnect(connection)
            self.congested.discard(connection)

    async def reauthenticate(self, connection: NodeConnection, ticket: AuthTicket) -> None:
        """`{"type":"auth"}`: the connection becomes whoever the new token names, in place,
        or anonymous when the token is bad (never keeping the identity it had)."""
        principal: Principal | None = None
        expires_at: float | None = None
        if ticket.token is not None:
            try:
                principal, expires_at = await self.verify_until(ticket.token)
            except InvalidToken as exc:
                log.info("websocket re-authentication refused: %s", exc)
        self.metrics.auth.labels("reauth", "ok" if principal else "invalid").inc()
        self.send(
            self.hub.complete_auth(
                connection,
                ticket,
                principal.user_id if principal else None,
                int(expires_at * 1000) if expires_at is not None else None,
            )
        )
        connection.principal = principal
        connection.expire_at(expires_at)

    async def join(self, connection: NodeConnection, ticket: JoinTicket) -> None:
        began = time.perf_counter()
        result = await self._join(connection, ticket)
        self.metrics.joins.labels(result).inc()
        if result == "ok":
            self.metrics.join_time.observe(time.perf_counter() - began)

    async def _join(self, connection: NodeConnection, ticket: JoinTicket) -> str:
        aid = ticket.auction_id
        try:
            if aid in self.unknown_auctions:
                self.send(self.hub.fail_join(connection, ticket, "not_found", "No such auction"))
                return "not_found"
            read = await self.rooms.read(aid, ticket.after)
            # No Redis state (flushed, or no such auction): PostgreSQL knows which.
            if not read.state and await self.rebuild(aid):
                read = await self.rooms.read(aid, ticket.after)
            if not read.state:
                self.unknown_auctions.add(aid)
                self.send(self.hub.fail_join(connection, ticket, "not_found", "No such auction"))
                return "not_found"
            self.send(self.hub.complete_join(connection, ticket, read))
            return "ok"
        except (RedisError, OSError, SQLAlchemyError, StoreError, StoreUnavailable) as exc:
            log.warning("room %s unreadable for a join: %s", aid, exc)
            self.send(
                self.hub.fail_join(
                    connection, ticket, "unavailable", "The room cannot be read right now; retry"
                )
            )
            return "unavailable"
        except (KeyError, ValueError) as exc:
            log.error("room %s has a malformed state: %r", aid, exc)
            self.send(
                self.hub.fail_join(
                    connection, ticket, "unavailable", "The room cannot be read right now; retry"
                )
            )
            return "unavailable"

    async def rebuild(self, auction_id: str) -> bool:
        """The auction's state from PostgreSQL (False: no such auction), a few at a time."""
        async with self.rebuilds:
            if auction_id in self.unknown_auctions:  # found out while this one waited
                return False
            return await asyncio.to_thread(auction_state.rebuild, self.ctx, uuid.UUID(auction_id))

    def send(self, sends: Iterable[Send[NodeConnection] | Close[NodeConnection]]) -> None:
        """Write each message to its targets now, in order (no await: nothing overtakes)."""
        for item in sends:
            if isinstance(item, Close):
                self.fail(item.target, item.code, item.reason)
                continue
            fan_out(item.targets, item.payload)
        if self.congested:
            self.police()

    def fail(self, connection: NodeConnection, code: int, reason: str) -> None:
        """Fail the connection (RFC 6455 7.1.7): the close frame goes out now, and nothing
        more it sends is read, let alone parsed. A flooder's close reply sits behind whatever
        it queued; a graceful close would read all of that first."""
        log.warning("closing a connection with %d: %s", code, reason)
        self.refused_connections += 1
        self.hub.disconnect(connection)
        try:
            connection.protocol.fail(code, reason)
            connection.send_data()  # as websockets.broadcast writes: protocol, then transport
        except Exception:  # already closing, or the transport is gone
            if connection.transport is not None:
                connection.transport.abort()

    def on_feed(self, events: list[FeedEvent]) -> None:
        for event in events:
            receivers = 0
            for item in self.hub.deliver(event):
                fan_out(item.targets, item.payload)
                receivers += len(item.targets)
            self.metrics.fanned_out(event, receivers)  # latency, type, the fan-out log line
        if self.congested:
            self.police()

    async def on_feed_gap(self) -> None:
        self.metrics.feed_gaps.inc()
        for aid, after in self.hub.catch_up_points().items():
            self.on_feed(await self.rooms.since(aid, after))

    def police(self) -> None:
        """Drop the peers that do not keep up (never called while a broadcast iterates)."""
        now = time.monotonic()
        for connection in list(self.congested):
            transport = connection.transport
            if not connection.paused or transport is None or transport.is_closing():
                self.congested.discard(connection)
            elif (
                transport.get_write_buffer_size() > self.slow_buffer_bytes
                or now - connection.congested_since > self.slow_after_s
            ):
                log.warning(
                    "dropping a slow client (%d bytes queued)", transport.get_write_buffer_size()
                )
                self.congested.discard(connection)
                self.hub.disconnect(connection)
                self.dropped_slow += 1
                transport.abort()  # frees its buffer now; the client reconnects and replays

    async def heartbeat(self, interval: float, timeout: float | None) -> None:
        """Keepalive for every connection from one task (websockets' runs a task and a timer
        per connection, ~1.5 KiB each): a peer quiet for `interval` gets a ping, once per quiet
        spell; one quiet for `interval` + `timeout` (it never answered) is dropped, as
        websockets' keepalive would (the client reconnects and replays). Checked a few times
        per interval, a slice at a time, so a big node never stalls its fan-out on it (a
        peer is dropped at most a tick later than `interval` + `timeout`)."""
        tick = min(5.0, interval / 4)
        while True:
            await asyncio.sleep(tick)
            now = asyncio.get_running_loop().time()
            for i, connection in enumerate(list(self.hub.sessions)):
                if i and i % HEARTBEAT_SLICE == 0:
                    await asyncio.sleep(0)
                quiet = now - connection.heard
                if quiet < interval or connection.state is not State.OPEN:
                    continue
                # Dropped only once a ping went unanswered for the whole timeout (a check that
                # came late, a stalled loop, must not drop a peer it never pinged).
                unanswered = connection.pinged >= connection.heard
                if timeout is not None and unanswered and now - connection.pinged >= timeout:
                    log.info("dropping a peer that answered no ping for %.0f s", quiet)
                    self.hub.disconnect(connection)
                    self.congested.discard(connection)
                    if connection.transport is not None:
                        connection.transport.abort()
                elif connection.pinged < connection.heard:
                    connection.pinged = now
                    try:
                        connection.protocol.send_ping(b"")
                        connection.send_data()  # as websockets.broadcast writes
                    except Exception:  # closing meanwhile: the handler cleans up
                        continue

    async def police_loop(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            if self.congested:
                self.police()

    # -- lifetime --------------------------------------------------------------------------

    async def start(self, host: str, port: int) -> int:
        # The feed position is fixed before the first client can join, so every event after
        # a join's snapshot reaches it through the feed.
        await self.feed.start_position()
        self.server = await serve(
            self.serve_connection,
            host,
            port,
            process_request=self.process_handshake,
            create_connection=connections_of(self),
            compression=None,
            ping_interval=None,  # one heartbeat for the node (`heartbeat`), not a task each
            close_timeout=self.close_timeout,
            max_size=MAX_MESSAGE_BYTES,
            max_queue=MAX_QUEUED_MESSAGES,
            write_limit=WRITE_HIGH_WATER,
            server_header=None,
            backlog=2048,  # thousands of clients reconnect at once after a restart
        )
        self.port = int(self.server.sockets[0].getsockname()[1])
        self.tasks = [
            asyncio.create_task(self.feed.run()),
            asyncio.create_task(self.police_loop()),
            asyncio.create_task(self.publish_summary()),
            asyncio.create_task(self.metrics.backlog_loop(self.ctx)),
        ]
        if self.ping_interval is not None:
            self.tasks.append(
                asyncio.create_task(self.heartbeat(self.ping_interval, self.ping_timeout))
            )
        if self.run_ticker:
            self.tasks.append(
                asyncio.create_task(background.ticker(self.ctx, on_tick=self.metrics.ticked))
            )
        if self.run_jobs:
            self.tasks.append(
                asyncio.create_task(background.job_worker(self.ctx, on_work=self.metrics.worked))
            )
        return self.port

    async def stop(self) -> None:
        """Graceful: background work stops, every client gets close code 1001 (going away)."""
        for task in self.tasks:
            task.cancel()
        if self.tasks:
            # A worker thread mid-tick cannot be interrupted; do not wait on it for long.
            await asyncio.wait(self.tasks, timeout=2.0)
        if self.server is not None:
            self.server.close(close_connections=True)
            await self.server.wait_closed()
        with contextlib.suppress(RedisError, OSError):
            await self.redis.delete(keys.socket_node(self.node_id))
            await self.redis.zrem(keys.SOCKET_NODES, self.node_id)
        await self.redis.aclose()
        await self.feed.redis.aclose()
        self.http.health.close()

    async def run(self, host: str, port: int, stop: asyncio.Future[None]) -> None:
        await self.start(host, port)
        log.info("socket node %s on http://%s:%s (ws at /ws)", self.node_id, host, self.port)
        await stop
        await self.stop()


def main() -> None:
    # One JSON object per line, credentials masked in each; websockets' line per
    # connection and httpx's per request are quieted.
    configure_logging("socket-node")
    settings = settings_or_exit()
    ctx = for_socket_node(settings)

    async def runner() -> None:
        loop = asyncio.get_running_loop()
        stop: asyncio.Future[None] = loop.create_future()

        def request_stop() -> None:
            if not stop.done():
                stop.set_result(None)

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, request_stop)
        await SocketNode(settings, ctx).run("0.0.0.0", settings.socket_port, stop)

    try:
        import uvloop
    except ImportError:
        uvloop = None  # type: ignore[assignment]
    try:
        if uvloop is not None:
            uvloop.run(runner())
        else:
            asyncio.run(runner())
    finally:
        ctx.close()
