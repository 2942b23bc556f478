"""A small threaded HTTP/1.1 server for the two local servers of the stack: the API server
(`infra.api_server`, the Chalice app as API Gateway would run it) and the Upstash-REST bridge
(`infra.bridge`).

One thread per connection (the apps are synchronous and block on PostgreSQL and Redis, as
`http.server`'s ThreadingMixIn did), keep-alive, requests parsed by `httptools` (llhttp, the
parser uvicorn uses), each answer written with one `sendall`.

Why not `http.server`: it parses every request's headers with the `email` package and reads
through buffered file objects, ~250 µs of CPU per request on this machine, which was most of
the local API's "HTTP floor" and most of the bridge's cost per Redis call (bench `api_cpu`).
The application sees the request head before its body (`Application.head`), so a server can
refuse (a bad token, a body over its limit) without reading the body.
"""

from __future__ import annotations

import contextlib
import http
import logging
import re
import socket
import threading
from dataclasses import dataclass, field
from typing import Protocol

import httptools

log = logging.getLogger(__name__)

# A request line whose method llhttp does not know (TRACE is known, FROB is not): still a
# request, answered by the application (a 405, as for a method a route lacks).
REQUEST_LINE = re.compile(rb"^([!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}) (\S{1,8000}) HTTP/1\.[01]\r?\n")
IDLE_TIMEOUT_S = 75.0  # a keep-alive connection with no request for this long is closed
MAX_HEAD_BYTES = 64 * 1024


@dataclass(slots=True)
class Request:
    method: str
    target: str  # path and query, as sent
    headers: list[tuple[str, str]]  # names lower-cased, in order, repeats kept
    peer: str
    body: bytes = b""
    version: str = "1.1"

    def header(self, name: str) -> str | None:
        """The last value of a header (names are lower-case)."""
        value = None
        for key, item in self.headers:
            if key == name:
                value = item
        return value


# Statuses that never carry content, whose Content-Length would say something else (RFC 9110
# 8.6: none in a 204; in a 304 only the length the 200 would have had).
_WITHOUT_CONTENT = frozenset({204, 304})


@dataclass(slots=True)
class Reply:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    close: bool = False  # close the connection after this answer

    def encode(self, keep_alive: bool) -> bytes:
        try:
            reason = http.HTTPStatus(self.status).phrase
        except ValueError:
            reason = "Unknown"
        lines = [f"HTTP/1.1 {self.status} {reason}"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        if self.status not in _WITHOUT_CONTENT:
            lines.append(f"Content-Length: {len(self.body)}")
        if not keep_alive:
            lines.append("Connection: close")
        lines += ["", ""]
        return "\r\n".join(lines).encode("latin-1") + self.body


class Application(Protocol):
    def head(self, request: Request, content_length: int | None) -> Reply | None:
        """The request's head, before its body is read: a Reply refuses it (the connection is
        then closed, the body unread), None reads on."""

    def __call__(self, request: Request) -> Reply: ...


class _Exchange:
    """httptools' callbacks for the requests of one connection."""

    __slots__ = (
        "app",
        "body",
        "head_bytes",
        "headers",
        "max_body",
        "parser",
        "peer",
        "ready",
        "refusal",
        "request",
        "url",
    )

    def __init__(self, app: Application, peer: str, max_body: int) -> None:
        self.app = app
        self.peer = peer
        self.max_body = max_body
        self.parser = httptools.HttpRequestParser(self)
        # Complete requests, in order, each with whether the connection stays open after it
        # (a client may send the next before the answer: pipelining).
        self.ready: list[tuple[Request, bool]] = []
        self.refusal: Reply | None = None
        self.reset()

    def reset(self) -> None:
        self.url = bytearray()
        self.headers: list[tuple[str, str]] = []
        self.body = bytearray()
        self.head_bytes = 0
        self.request: Request | None = None

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.head_bytes += len(name) + len(value)
        if self.head_bytes > MAX_HEAD_BYTES:
            raise httptools.HttpParserError("request head too large")
        self.headers.append((name.decode("latin-1").lower(), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        request = Request(
            method=self.parser.get_method().decode("ascii", "replace"),
            target=self.url.decode("latin-1"),
            headers=self.headers,
            peer=self.peer,
            version=self.parser.get_http_version(),
        )
        self.request = request
        length_text = request.header("content-length")
        length = int(length_text) if length_text and length_text.isdigit() else None
        refusal = self.app.head(request, length)
        if refusal is None and length is not None and length > self.max_body:
            refusal = Reply(413, [("Content-Type", "text/plain")], b"payload too large")
        if refusal is not None:
            refusal.close = True
            self.refusal = refusal
            raise _Refused

    def on_body(self, body: bytes) -> None:
        self.body += body
        if len(self.body) > self.max_body:  # a chunked body past the limit
            self.refusal = Reply(413, [("Content-Type", "text/plain")], b"payload too large", True)
            raise _Refused

    def on_message_complete(self) -> None:
        request = self.request
        assert request is not None
        request.body = bytes(self.body)
        # Asked here: once the callback returns, llhttp has moved on to the next message.
        self.ready.append((request, self.parser.should_keep_alive()))
        self.reset()


class _Refused(Exception):
    """Raised inside a callback to stop parsing: the exchange's refusal is the answer."""


class Server:
    """`serve_forever` / `shutdown` / `server_close` / `server_address`, like socketserver's."""

    def __init__(
        self,
        host: str,
        port: int,
        app: Application,
        *,
        reuse_port: bool = False,
        max_body: int = 1024 * 1024,
        backlog: int = 1024,
    ) -> None:
        self.app = app
        self.max_body = max_body
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socket = socket.socket(family, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        self.socket.bind((host, port))
        self.socket.listen(backlog)
        self.server_address: tuple[str, int] = self.socket.getsockname()[:2]
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._stopped.set()
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()

    def serve_forever(self) -> None:
        self._stopped.clear()
        self.socket.settimeout(0.5)  # to notice shutdown()
        try:
            while not self._stopping.is_set():
                try:
                    conn, address = self.socket.accept()
                except TimeoutError:
                    continue
                except OSError:
                    if self._stopping.is_set():
                        break
                    raise
                conn.settimeout(None)
                threading.Thread(
                    target=self._serve_connection, args=(conn, address[0]), daemon=True
                ).start()
        finally:
            self._stopped.set()

    def shutdown(self) -> None:
        self._stopping.set()
        self._stopped.wait(5)

    def server_close(self) -> None:
        self._stopping.set()
        with contextlib.suppress(OSError):
            self.socket.close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def _unknown_method(self, data: bytes, peer: str) -> Reply:
        line = REQUEST_LINE.match(data)
        if line is None:
            return Reply(400, body=b"bad request")
        method, target = line.group(1).decode("ascii"), line.group(2).decode("latin-1")
        try:
            return self.app(Request(method, target, [], peer))
        except Exception:
            log.exception("request failed")
            return Reply(500, body=b"internal error")

    def _serve_connection(self, conn: socket.socket, peer: str) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.settimeout(IDLE_TIMEOUT_S)
        with self._lock:
            self._connections.add(conn)
        exchange = _Exchange(self.app, peer, self.max_body)
        try:
            while not self._stopping.is_set():
                try:
                    data = conn.recv(65536)
                except (TimeoutError, OSError):
                    return
                if not data:
                    return
                failure: Reply | None = None
                try:
                    exchange.parser.feed_data(data)
                except (_Refused, httptools.HttpParserCallbackError):
                    # httptools wraps what a callback raised: a refusal of the head, or a
                    # head too large.
                    failure = exchange.refusal or Reply(400, body=b"bad request")
                except httptools.HttpParserInvalidMethodError:
                    failure = self._unknown_method(data, peer)
                except httptools.HttpParserUpgrade:
                    failure = Reply(501, body=b"upgrades are not served here")
                except httptools.HttpParserError:
                    failure = Reply(400, body=b"bad request")
                # What was complete before a failure is still answered, in order.
                ready, exchange.ready = exchange.ready, []
                for request, keep_alive in ready:
                    try:
                        reply = self.app(request)
                    except Exception:  # the application's own bug: say so, serve on
                        log.exception("request failed")
                        reply = Reply(500, body=b"internal error", close=True)
                    keep_alive = keep_alive and not reply.close and failure is None
                    conn.sendall(reply.encode(keep_alive))
                    if not keep_alive and failure is None:
                        return
                if failure is not None:
                    conn.sendall(failure.encode(keep_alive=False))
                    return
        finally:
            with self._lock:
                self._connections.discard(conn)
            with contextlib.suppress(OSError):
                conn.close()
