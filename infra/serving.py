"""What the two local HTTP servers stand on: the API as API Gateway runs it (`infra.api_server`)
and the Upstash-REST bridge (`infra.bridge`), each an `Application` served by granian.

Granian (Rust: hyper and tokio) reads and parses HTTP/1.1 and enforces, before any Python runs:
the whole request head within `head_timeout_s` of its first byte (and a kept-alive
connection's next head within as long), however slowly its bytes come (a slowloris cannot
reset it); the head at most `max_head` bytes (431) and 100 header fields (431, hyper's own);
a request target at most 64 KiB (414, hyper's own). `Application` adds what granian leaves to
the application, each refusal answered at once and the connection closed:

- a request target over `max_target` (414) and a header field over `max_field` (431);
- the caller's own refusal of the head (`head()`: the bridge's Host and token) before the
  body is read, so that a refused client cannot make the server read a large body;
- a body over `max_body`, by its Content-Length before it is read (413) or as it arrives
  (chunked); a body not whole within `body_timeout_s` of its head (408);
- at most `max_in_flight` requests at once per process, from head to answer (503 past it).

The body is read on the event loop: a slow client holds no thread. Only a whole request goes
to the synchronous application (`answer()`, Chalice or redis-py, both blocking) on one of
`threads` threads, with the moment its last byte arrived: one put on a queue there, one
`call_soon_threadsafe` back (`_Threads`, measured cheaper than `run_in_executor`). Why
granian, and why ASGI rather than its WSGI interface (cheaper per request, but a body is read
by the blocking thread, so a few trickling bodies hold every thread) or its RSGI one (the path
comes percent-decoded): docs/benchmarks.md "The local servers", with the figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from infra.embedded import wait_for_port

log = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Limits:
    max_body: int
    max_target: int = 8 * 1024  # path and query, as sent
    max_field: int = 8 * 1024  # one header: name and value
    max_head: int = 32 * 1024  # the request line and every header (granian's read buffer)
    head_timeout_s: float = 20.0
    body_timeout_s: float = 60.0
    max_in_flight: int = 1000  # per process
    threads: int = 32  # per process: the synchronous application's


@dataclass(slots=True)
class Head:
    method: str
    path: str  # as sent, percent-encoded
    query: str  # as sent, without the "?"
    headers: list[tuple[str, str]]  # names lower-case, in order, repeats kept
    peer: str

    def header(self, name: str) -> str | None:
        """The last value of a header (`name` lower-case)."""
        value = None
        for key, item in self.headers:
            if key == name:
                value = item
        return value


@dataclass(slots=True)
class Answer:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    close: bool = False  # close the connection after it (a refusal: the body stays unread)


class Application:
    """An ASGI application over a synchronous one: `head()` may refuse a request before its
    body is read, `answer()` answers a whole request in a worker thread, `refusal()` words
    the server's own refusals (the API: problem+json; the bridge: Upstash's error object)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._in_flight = 0  # touched on the event loop only
        self._threads: _Threads | None = None

    def head(self, head: Head) -> Answer | None:
        return None

    def answer(self, head: Head, body: bytes, arrived_ms: int) -> Answer:
        raise NotImplementedError

    def refusal(self, status: int, message: str) -> Answer:
        return Answer(status, [("content-type", "text/plain")], message.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # no lifespan (ASGINL), no websockets (off)
            return
        if self._in_flight >= self.limits.max_in_flight:
            busy = self.refusal(503, "too many requests in progress; retry shortly")
            busy.headers.append(("retry-after", "1"))
            await _send(send, busy, close=True)
            return
        self._in_flight += 1
        try:
            await self._serve(scope, receive, send)
        finally:
            self._in_flight -= 1

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        limits = self.limits
        path: bytes = scope.get("raw_path") or scope["path"].encode()
        query: bytes = scope["query_string"]
        if len(path) + len(query) > limits.max_target:
            await _send(send, self.refusal(414, "the request target is too long"), close=True)
            return
        headers = []
        for name, value in scope["headers"]:
            if len(name) + len(value) > limits.max_field:
                await _send(send, self.refusal(431, "a header is too large"), close=True)
                return
            headers.append((name.decode("latin-1"), value.decode("latin-1")))
        client = scope.get("client")
        head = Head(
            scope["method"],
            path.decode("latin-1"),
            query.decode("latin-1"),
            headers,
            client[0] if client else "",
        )
        refused = self.head(head)
        if refused is not None:
            await _send(send, refused, close=True)
            return
        length = head.header("content-length")
        if length is not None and length.isdigit() and int(length) > limits.max_body:
            await _send(send, self.refusal(413, "the body is too large"), close=True)
            return
        if length in (None, "0") and head.header("transfer-encoding") is None:
            body = b""  # none comes (HTTP/1.1): no round trip to granian for it
        else:
            received = await self._body(receive, send)
            if received is None:
                return
            body = received
        # The moment the whole request was here (API Gateway's requestTimeEpoch), not when
        # a thread came free for it.
        arrived_ms = int(time.time() * 1000)
        if self._threads is None:
            self._threads = _Threads(limits.threads)
        answer = await self._threads.run(self._answer, head, body, arrived_ms)
        await _send(send, answer, close=answer.close)

    async def _body(self, receive: Receive, send: Send) -> bytes | None:
        """The whole body, or None when it was refused (413, 408) or the client left."""
        limits = self.limits
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(limits.body_timeout_s):
                while True:
                    message = await receive()
                    if message["type"] != "http.request":
                        return None  # the client went away
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > limits.max_body:  # a chunked body past the limit
                        await _send(send, self.refusal(413, "the body is too large"), close=True)
                        return None
                    chunks.append(chunk)
                    if not message.get("more_body"):
                        return b"".join(chunks)
        except TimeoutError:
            await _send(send, self.refusal(408, "the body did not arrive in time"), close=True)
            return None

    def _answer(self, head: Head, body: bytes, arrived_ms: int) -> Answer:
        try:
            return self.answer(head, body, arrived_ms)
        except Exception:  # the application's own bug: say so, serve on
            log.exception("request failed")
            return Answer(500, [("content-type", "text/plain")], b"internal error", close=True)


async def _send(send: Send, answer: Answer, *, close: bool) -> None:
    headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in answer.headers]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})


class _Threads:
    """The synchronous application's threads, at most `most`, started as requests need them.
    A request is one put on a queue and its answer one `call_soon_threadsafe` back to the
    loop: lighter than `loop.run_in_executor` (a concurrent Future, a work item and the
    chaining of two futures per call), which is most of what the hop costs."""

    def __init__(self, most: int) -> None:
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._most = most
        self._started = 0
        # Threads waiting for work and not yet promised any. Once all `most` have started,
        # a thread that takes a queued request is counted free all the same; harmless, as
        # this count only decides whether to start another.
        self._idle = 0

    def run(self, fn: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put((loop, future, fn, args))
        with self._lock:
            if self._idle:
                self._idle -= 1  # that thread takes this request
                return future
            start = self._started < self._most
            self._started += start
        if start:
            threading.Thread(target=self._work, daemon=True, name="request").start()
        return future

    def _work(self) -> None:
        get = self._queue.get
        while True:
            loop, future, fn, args = get()
            try:
                outcome, failed = fn(*args), False
            except BaseException as exc:  # handed to the coroutine that awaits it
                outcome, failed = exc, True
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits
                loop.call_soon_threadsafe(_settle, future, outcome, failed)
            with self._lock:
                self._idle += 1


def _settle(future: asyncio.Future[Any], outcome: Any, failed: bool) -> None:
    if future.done():  # cancelled: the client went away
        return
    if failed:
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


def _http(limits: Limits) -> dict[str, Any]:
    """Granian's HTTP settings for `limits`. HTTP/1.1 and HTTP/2 both ("auto": granian 2.8
    holds an HTTP/1.1 head to `max_buffer_size` only then, not with `http=1`, which
    tests/infra/test_serving.py would catch); an HTTP/2 client's headers get the same cap."""
    from granian.http import HTTP1Settings, HTTP2Settings

    return {
        "http1_settings": HTTP1Settings(
            header_read_timeout=int(limits.head_timeout_s * 1000), max_buffer_size=limits.max_head
        ),
        "http2_settings": HTTP2Settings(max_headers_size=limits.max_head),
    }


def run(factory: str, host: str, port: int, workers: int, limits: Limits) -> None:
    """Serve `factory` ("module:function", called in each worker process to build the
    Application) on granian with `workers` processes; returns when SIGTERM or Ctrl-C stop
    them. The application is synchronous and holds the GIL for most of a request: a second
    process, not a second thread, serves a second core."""
    from granian import Granian
    from granian.constants import Interfaces, Loops
    from granian.log import LogLevels

    Granian(
        factory,
        address=host,
        port=port,
        interface=Interfaces.ASGINL,
        factory=True,
        workers=workers,
        loop=Loops.uvloop,
        websockets=False,
        backlog=1024,
        **_http(limits),
        log_level=LogLevels.warning,
    ).serve()


class ThreadedServer:
    """One Application served by granian's embedded server on a thread of this process (the
    test suite's servers, which share the process's state, and the bench's). Like
    socketserver's: `server_address`, `shutdown()`, `server_close()`."""

    def __init__(self, app: Application, host: str, port: int) -> None:
        from granian.constants import Interfaces
        from granian.server.embed import Server

        self.server_address = (host, port)
        self._server = Server(
            app,
            address=host,
            port=port,
            interface=Interfaces.ASGINL,
            websockets=False,
            backlog=1024,
            **_http(app.limits),
            log_enabled=False,
        )
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"http-{port}")
        self._thread.start()
        wait_for_port(host, port)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        with contextlib.suppress(RuntimeError):  # the loop stopped under it
            self._loop.run_until_complete(self._server.serve())

    def shutdown(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._server.stop)
            self._thread.join(10)

    def server_close(self) -> None:
        self.shutdown()
