"""Socket node fixtures (offered to every test by tests/conftest.py): a real node (in this
process on its own event loop thread, or as its own `python -m socket_node` process), and a
small synchronous WebSocket client."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from infra.embedded import free_port
from infra.stack import Stack
from shared.services.context import Context, for_socket_node
from shared.settings import Settings, get_settings
from socket_node.server import SocketNode
from tests.support.harness import TOKEN, SuiteServices
from tests.support.protocol import frame_problems

Message = dict[str, Any]


class Client:
    """One WebSocket client: send JSON, receive JSON with a deadline, remember everything."""

    def __init__(
        self, url: str, token: str | None = None, *, documented: bool = True, **kwargs: Any
    ) -> None:
        """`documented=False`: a test that publishes made-up events (it tests routing, replay
        or back-pressure, not what an event says) does not hold its frames to the protocol."""
        self.url = f"{url}?token={token}" if token else url
        self.ws: ClientConnection = connect(self.url, open_timeout=10, **kwargs)
        self.received: list[Message] = []
        self.documented = documented

    def send(self, message: Message | str) -> None:
        self.ws.send(message if isinstance(message, str) else json.dumps(message))

    def join(self, auction_id: Any, last_event_id: str | None = None) -> Message:
        """Join and return the snapshot (what precedes it is kept in `received`)."""
        self.send({"type": "join", "auctionId": str(auction_id), "lastEventId": last_event_id})
        return self.until(lambda m: m["type"] in ("snapshot", "error"))

    def recv(self, timeout: float = 10.0) -> Message:
        """The next frame, held to the protocol's AsyncAPI document (`tests.support.protocol`):
        a frame the document does not describe fails the test that received it."""
        message: Message = json.loads(self.ws.recv(timeout=timeout))
        self.received.append(message)
        if self.documented:
            problems = frame_problems(message)
            assert not problems, f"a frame breaks the documented protocol: {problems}"
        return message

    def until(self, match: Callable[[Message], bool], timeout: float = 10.0) -> Message:
        deadline = time.monotonic() + timeout
        while True:
            message = self.recv(max(0.01, deadline - time.monotonic()))
            if match(message):
                return message

    def events(self, count: int, kind: str | None = None, timeout: float = 10.0) -> list[Message]:
        """The next `count` messages (of type `kind`, if given), in arrival order."""
        got: list[Message] = []
        while len(got) < count:
            got.append(self.until(lambda m: kind is None or m["type"] == kind, timeout))
        return got

    def quiet(self, seconds: float = 0.3) -> list[Message]:
        """Whatever arrives within `seconds` (to show that nothing more does)."""
        extra: list[Message] = []
        with contextlib.suppress(TimeoutError):
            while True:
                extra.append(self.recv(seconds))
        return extra

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.close()


class InProcessNode:
    """A SocketNode on an event loop of its own (a thread), on a free port."""

    def __init__(self, ctx: Context, settings: Settings | None = None, **options: Any) -> None:
        self.ctx = ctx
        self.node = SocketNode(settings or get_settings(), ctx, **options)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.port = self.call(self.node.start("127.0.0.1", 0))

    def call(self, coroutine: Any, timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def run(self, function: Callable[[], Any]) -> Any:
        """Run a plain function on the node's loop (to read the hub without racing it)."""

        async def wrapper() -> Any:
            return function()

        return self.call(wrapper())

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def figures(self) -> dict[str, Any]:
        return dict(self.call(self.node.cluster_figures()))

    def stop(self) -> None:
        if self.loop.is_running():
            with contextlib.suppress(Exception):
                self.call(self.node.stop())
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)


@pytest.fixture
def node_factory(ctx: Context) -> Iterator[Callable[..., InProcessNode]]:
    """Start in-process nodes (after the clean slate of `ctx`); all stop at the end."""
    started: list[InProcessNode] = []
    contexts: list[Context] = []

    def start(settings: Settings | None = None, **options: Any) -> InProcessNode:
        options.setdefault("ticker", False)
        options.setdefault("jobs", False)
        settings = settings or get_settings()
        node_ctx = for_socket_node(settings)
        contexts.append(node_ctx)
        node = InProcessNode(node_ctx, settings, **options)
        started.append(node)
        return node

    yield start
    for node in started:
        node.stop()
    for node_ctx in contexts:
        node_ctx.close()


@pytest.fixture
def node(node_factory: Callable[..., InProcessNode]) -> InProcessNode:
    """A node without ticker and job worker: rooms, feed and replay only."""
    return node_factory()


@pytest.fixture
def clients() -> Iterator[Callable[..., Client]]:
    opened: list[Client] = []

    def open_client(url: str, token: str | None = None, **kwargs: Any) -> Client:
        client = Client(url, token, **kwargs)
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        client.close()


class NodeProcess:
    """`python -m socket_node` on its own port, as `make run` starts it."""

    def __init__(self, services: SuiteServices, port: int | None = None) -> None:
        self.stack = Stack(
            database_url=services.database_url,
            redis_url=services.redis_url,
            socket_port=port or free_port(),
            bridge_port=None,
            token=TOKEN,
            quiet=False,
        )

    @property
    def port(self) -> int:
        return self.stack.socket_port

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def http_url(self) -> str:
        return self.stack.socket_url

    def start(self) -> NodeProcess:
        self.stack.start_socket_node()
        self.stack.wait_healthy(60)
        return self

    @property
    def pid(self) -> int:
        return self.stack.processes["socket"].pid

    def kill(self) -> None:
        """kill -9: no goodbye, no cleanup."""
        process = self.stack.processes.pop("socket")
        process.kill()
        process.wait(10)

    def stop(self) -> None:
        self.stack.stop("socket")

    def health(self) -> int:
        return httpx.get(f"{self.http_url}/health", timeout=5).status_code


@pytest.fixture
def node_processes(services: SuiteServices, ctx: Context) -> Iterator[Callable[..., NodeProcess]]:
    started: list[NodeProcess] = []

    def start(port: int | None = None) -> NodeProcess:
        process = NodeProcess(services, port).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def closed_code(client: Client, timeout: float = 10.0) -> int | None:
    """Read until the server closes the connection; its close code."""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            client.recv(max(0.01, deadline - time.monotonic()))
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd else None
    except TimeoutError:
        return None
    return None


def wait_for(condition: Callable[[], Any], timeout: float = 10.0, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(every)
