"""Redis behind one small interface, over Upstash REST (the functions) or TCP (the socket node).

Services see only `RedisStore`: `command(...)`, `pipeline([...])` and `script(...)`, with the raw
replies Redis gives (bulk strings as `str`, integers, nested lists, None), whichever transport
carries them. Anything that must be atomic is a Lua script (see `shared/adapters/lua/`).
"""

from __future__ import annotations

import hashlib
import select
import socket
import ssl
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

import httptools
import orjson

LUA_DIR = Path(__file__).with_name("lua")


@dataclass(frozen=True)
class Script:
    name: str
    source: str

    @cached_property
    def sha(self) -> str:
        # Once per script and process (~10 µs of every bid for the bid script's 17 kB).
        return hashlib.sha1(self.source.encode()).hexdigest()


@cache
def load_script(name: str) -> Script:
    """A script from `lua/`, with the shared helpers of `lua/lib.lua` prepended."""
    lib = (LUA_DIR / "lib.lua").read_text()
    body = (LUA_DIR / f"{name}.lua").read_text()
    return Script(name=name, source=f"{lib}\n{body}")


class StoreError(Exception):
    """Redis answered with an error reply."""


class StoreUnavailable(Exception):
    """Redis (or the REST endpoint in front of it) could not be reached: the command was not
    sent, or was refused before it ran (connection refused, DNS, a wrong token)."""


class OutcomeUnknown(StoreUnavailable):
    """The command was sent and no answer came (a timeout, a connection dropped mid-request):
    Redis may have run it. Everything that catches StoreUnavailable treats it as an outage;
    the bid path tells the caller the difference (503 `outcome_unknown`)."""


T = TypeVar("T")


def with_retries(
    run: Callable[[], T],
    classify: Callable[[Exception], type[Exception] | None],
    *,
    retries: int,
    interval_s: float,
) -> T:
    """Run `run`, retrying a failed attempt `retries` times. `classify` names what a failure
    means (StoreUnavailable: nothing was sent; OutcomeUnknown: it may have run; StoreError and
    the like: an answer, not retried; None: not ours, re-raised). Every attempt counts: once any
    attempt may have reached Redis, a later "connection refused" does not make it unsent."""
    maybe_ran: Exception | None = None
    last: Exception | None = None
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(interval_s)
        try:
            return run()
        except Exception as exc:
            kind = classify(exc)
            if kind is None:
                raise
            if kind not in (StoreUnavailable, OutcomeUnknown):
                raise kind(str(exc)) from exc
            if kind is OutcomeUnknown:
                maybe_ran = exc
            last = exc
            if "Unauthorized" in str(exc):
                break  # a wrong token stays wrong
    assert last is not None
    if maybe_ran is not None:
        raise OutcomeUnknown(f"{type(maybe_ran).__name__}: {maybe_ran}") from last
    raise StoreUnavailable(f"{type(last).__name__}: {last}") from last


class RedisStore(Protocol):
    def command(self, *args: str | int | float) -> Any: ...

    def pipeline(self, commands: list[list[str | int | float]]) -> list[Any]: ...

    def script(self, script: Script, keys: list[str], args: list[str | int | float]) -> Any: ...

    def close(self) -> None: ...


class ScriptRunner:
    """EVALSHA, and EVAL when Redis does not know the script yet: the same on any transport."""

    def command(self, *args: str | int | float) -> Any:
        raise NotImplementedError

    def script(self, script: Script, keys: list[str], args: list[str | int | float]) -> Any:
        try:
            return self.command("EVALSHA", script.sha, len(keys), *keys, *args)
        except StoreError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
        # First use on this Redis (or after SCRIPT FLUSH): EVAL also caches it for next time.
        return self.command("EVAL", script.source, len(keys), *keys, *args)


class NotSent(OSError):
    """No request left this process: the connection could not be made."""


class _Headers(dict[str, str]):
    """Response headers by lower-cased name; `get` takes any case (the client asks for
    "Upstash-Sync-Token")."""

    def get(self, name: str, default: Any = None) -> Any:
        return super().get(name.lower(), default)


class _Answer:
    """httptools' callbacks: one HTTP response, collected."""

    __slots__ = ("body", "complete", "headers", "keep_alive", "parser")

    def __init__(self) -> None:
        self.body = bytearray()
        self.complete = False
        self.keep_alive = False
        self.headers = _Headers()
        self.parser = httptools.HttpResponseParser(self)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        # Asked here: once the callback returns, llhttp has reset and says False.
        self.keep_alive = self.parser.should_keep_alive()
        self.complete = True

    def json(self) -> Any:
        """What upstash-redis reads of an answer: `headers.get(...)` and `json()`."""
        return orjson.loads(self.body)


def _dropped(sock: socket.socket) -> bool:
    """Whether an idle kept-alive connection was closed by its server (an idle timeout, a
    restart): readable while nothing was asked means an EOF (or bytes nobody asked for). A
    request sent on it would fail with its outcome unknown, though nothing ever ran: every
    pooled connection can be stale at once after a server restart. (What urllib3 checks too;
    poll, not select, which refuses descriptors past 1,023: a server with a thousand clients
    has them.)"""
    poller = select.poll()
    try:
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    except OSError:
        return True


class RestConnections:
    """The HTTP under `RestStore`: keep-alive HTTP/1.1 connections (one per
    caller at a time, a LIFO pool: the API server runs a thread per connection), each with a
    timeout, responses parsed by `httptools` (llhttp, the parser uvicorn uses).

    It has the shape of the upstash-redis client's seam below its public methods
    (`SyncHttpClient._client`: `post(url, headers=..., json=...)`, then `headers.get(...)` and
    `json()` on the answer, and `close()`), so the protocol test can run that client over it
    too. Why not a stock client: per call, the upstash-redis client's own httpx.Client costs
    ~575 µs of CPU here and the standard library's http.client ~150 µs (most of it parsing
    headers with the email package); this ~45 µs, on a path whose whole budget is ~600 µs
    (bench `api_cpu`)."""

    def __init__(self, url: str, *, timeout_s: float, keep: int = 64) -> None:
        parts = urlsplit(url)
        self._tls = ssl.create_default_context() if parts.scheme == "https" else None
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (443 if self._tls else 80)
        self._host_header = parts.netloc.rpartition("@")[2]
        self._base = parts.path.rstrip("/")
        self._timeout_s = timeout_s
        self._keep = keep
        self._idle: deque[socket.socket] = deque()

    def _connection(self) -> socket.socket:
        while self._idle:
            sock = self._idle.pop()
            if not _dropped(sock):
                return sock
            sock.close()
        try:
            sock = socket.create_connection((self._host, self._port), timeout=self._timeout_s)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_hostname=self._host)
        except OSError as exc:
            raise NotSent(f"{type(exc).__name__}: {exc}") from exc
        return sock

    def post(self, url: str, *, headers: dict[str, str], json: Any) -> _Answer:
        path = self._base + (urlsplit(url).path.removeprefix(self._base) or "/")
        body = orjson.dumps(json)
        lines = [f"POST {path} HTTP/1.1", f"Host: {self._host_header}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}", "", ""]
        request = "\r\n".join(lines).encode("latin-1") + body
        sock = self._connection()
        answer = _Answer()
        try:
            sock.sendall(request)
            while not answer.complete:
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionResetError("the server closed the connection")
                answer.parser.feed_data(chunk)
        except BaseException:
            sock.close()  # in an unknown state: never reused
            raise
        if answer.keep_alive and len(self._idle) < self._keep:
            self._idle.append(sock)
        else:
            sock.close()
        return answer

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()


class RestError(Exception):
    """An error reply of the REST protocol (`{"error": "..."}`): Redis's own (a script error,
    NOSCRIPT) or the endpoint's refusal (Unauthorized, the bridge's "redis unavailable")."""


def _reply(answer: dict[str, Any]) -> Any:
    if answer.get("error"):
        raise RestError(answer["error"])
    return answer["result"]


class RestStore(ScriptRunner):
    """Redis over Upstash's REST protocol: a command is a JSON array POSTed to the endpoint
    with the token as a Bearer (a pipeline: an array of them to `/pipeline`); the answer is
    `{"result": ...}` or `{"error": "..."}`. Spoken here over
    `RestConnections` as the upstash-redis client speaks it (`tests/adapters/
    test_rest_protocol.py` sends the same commands through that client and through this store
    to the same endpoint and compares every reply and refusal).

    Why not through the client itself: importing upstash-redis imports httpx, httpcore,
    anyio and asyncio (its async client), ~90 modules; on a cold function that was most of
    the first bid's time, for a protocol of a dozen lines (docs/performance-lean.md).

    The client's defaults were wrong for a bid path anyway (no timeout; one retry after 3 s).
    Here: 2 s per request, one retry after 50 ms. A retried request can reach Redis twice;
    every write script is idempotent for that reason (the bid script keys on the bid id /
    Idempotency-Key). A failure says whether any attempt may have reached Redis.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout_s: float = 2.0,
        retries: int = 1,
        retry_interval_s: float = 0.05,
    ) -> None:
        self._retries = retries
        self._retry_interval_s = retry_interval_s
        self._url = url.rstrip("/")
        # Results as JSON strings, not base64 (`Upstash-Encoding: base64`, the client's
        # default, which keeps bytes that are not UTF-8 intact): everything this platform
        # keeps in Redis is UTF-8 text it wrote itself, and decoding ~20 base64 strings was
        # an eighth of an auction read's CPU.
        self._headers = {"Authorization": f"Bearer {token}"}
        self.connections = RestConnections(url, timeout_s=timeout_s)

    @staticmethod
    def _classify(exc: Exception) -> type[Exception] | None:
        if isinstance(exc, RestError):
            text = str(exc)
            if "outcome unknown" in text:  # the bridge sent it to Redis and heard nothing
                return OutcomeUnknown
            if "Unauthorized" in text or "redis unavailable" in text:
                return StoreUnavailable
            return StoreError  # an answer: Redis's own (a script error, NOSCRIPT...) or a refusal
        if isinstance(exc, NotSent):
            return StoreUnavailable  # no request left this process
        if isinstance(exc, httptools.HttpParserError | OSError | ValueError | KeyError):
            # A read timeout, a connection dropped mid-request, an answer that is not the
            # protocol (a proxy's error page): the request may have run.
            return OutcomeUnknown
        return None

    def _call(self, run: Callable[[], Any]) -> Any:
        return with_retries(
            run, self._classify, retries=self._retries, interval_s=self._retry_interval_s
        )

    def _post(self, url: str, body: list[Any]) -> Any:
        answer = self.connections.post(url, headers=self._headers, json=body).json()
        if not isinstance(answer, dict | list):
            raise ValueError(f"not a REST answer: {answer!r:.200}")
        return answer

    def command(self, *args: str | int | float) -> Any:
        body = list(args)  # strings and numbers as JSON values, as the client sends them
        return self._call(lambda: _reply(self._post(self._url, body)))

    def pipeline(self, commands: list[list[str | int | float]]) -> list[Any]:
        body = [list(command) for command in commands]

        def run() -> list[Any]:
            answers = self._post(f"{self._url}/pipeline", body)
            return [_reply(answer) for answer in answers]

        return list(self._call(run))

    def close(self) -> None:
        self.connections.close()


class TcpStore(ScriptRunner):
    """redis-py over TCP, for the long-lived socket node (and tests)."""

    def __init__(
        self, url: str, *, timeout_s: float = 5.0, retries: int = 1, retry_interval_s: float = 0.05
    ) -> None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self._retries = retries
        self._retry_interval_s = retry_interval_s
        self._client = redis.Redis.from_url(
            url,
            decode_responses=True,
            protocol=2,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            health_check_interval=30,
            # Our retries (with_retries), not redis-py's: they know a timeout from a refusal.
            retry=Retry(NoBackoff(), 0),
        )
        # Raw replies, exactly as the REST transport gives them (HGETALL as a flat list...).
        self._client.response_callbacks.clear()

    @staticmethod
    def _classify(exc: Exception) -> type[Exception] | None:
        import redis

        if isinstance(exc, redis.exceptions.ResponseError):
            return StoreError
        if isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
            # redis-py says "Error 111 connecting to host:port" / "Timeout connecting to
            # server" when no connection was made; anything else (a read timeout, "Connection
            # closed by server") came after the command may have been written.
            return StoreUnavailable if "connecting to" in str(exc) else OutcomeUnknown
        return None

    def _call(self, run: Callable[[], Any]) -> Any:
        import redis

        try:
            return with_retries(
                run, self._classify, retries=self._retries, interval_s=self._retry_interval_s
            )
        except StoreError as exc:
            cause = exc.__cause__
            code = getattr(cause, "status_code", None)
            if isinstance(cause, redis.exceptions.ResponseError) and code:
                raise StoreError(f"{code} {cause}") from cause
            raise

    def command(self, *args: str | int | float) -> Any:
        return self._call(lambda: self._client.execute_command(*args))

    def pipeline(self, commands: list[list[str | int | float]]) -> list[Any]:
        def run() -> list[Any]:
            pipe = self._client.pipeline(transaction=False)
            for command in commands:
                pipe.execute_command(*command)
            return list(pipe.execute(raise_on_error=False))

        replies = self._call(run)
        return [StoreError(str(r)) if isinstance(r, Exception) else r for r in replies]

    def close(self) -> None:
        self._client.close()


def hash_to_dict(flat: list[Any] | None) -> dict[str, str]:
    """HGETALL's flat reply as a dict."""
    if not flat:
        return {}
    return {str(flat[i]): str(flat[i + 1]) for i in range(0, len(flat), 2)}
