"""The local Upstash-REST bridge: Upstash's REST protocol over any Redis.

The functions talk to Redis only through the real `upstash-redis` client; in development and
tests this bridge stands where Upstash stands in production, so the same client code runs in
both. No such server exists on PyPI; this is the protocol as the client speaks it:

- `POST /` with a JSON array command -> 200 `{"result": ...}`, or 400 `{"error": "..."}`;
- `POST /pipeline` and `POST /multi-exec` with an array of commands -> 200 with an array of
  `{"result"}` / `{"error"}` objects (multi-exec runs them in MULTI/EXEC);
- `Authorization: Bearer <token>`, else 401;
- `Upstash-Encoding: base64`: every string in a result is base64, except the status `OK`.

It listens on the developer's machine, so it defends itself (README "Security"):
- the `Host` header must name this machine (127.0.0.1, localhost or [::1]) and the bridge's
  port, so a web page cannot reach it through DNS rebinding (403);
- the token is checked before the body is read, and a body is at most `MAX_BODY` (413);
- only the commands the project sends run (`ALLOWED`); `EVAL`, `EVALSHA` and `SCRIPT LOAD`
  only for the project's own scripts (`shared/adapters/lua/`), since Lua can call FLUSHALL.
  Anything else, CONFIG, FLUSHALL, SHUTDOWN, MODULE and DEBUG included, is 400
  `{"error": "ERR command not allowed"}` and never reaches Redis.

Usage: `REDIS_URL=redis://... UPSTASH_REDIS_REST_TOKEN=... python -m infra.bridge --port 8079`
(both from the environment, never the command line, which every local user can read).
`make run` makes a random token per run unless UPSTASH_REDIS_REST_TOKEN is set.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import os
import sys
import threading
from collections.abc import Callable
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from infra import prefork
from shared.adapters.redis_store import LUA_DIR, load_script
from shared.redaction import mask_url

Encoder = Callable[[bytes], str]

# Upstash's own request limit is 1 MB; the project's largest request (a script's source with
# EVAL, ~20 KiB) is far below it.
MAX_BODY = 1 << 20
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
NOT_ALLOWED = "ERR command not allowed"

# What the project sends through REST, and nothing more. Derived from the code:
# `store.command(...)` / `store.pipeline([...])` in shared/, functions/ and tests/ (a test
# parses them and fails when one is missing here: tests/integration/test_bridge_security.py),
# and the scripts' EVALSHA / EVAL / SCRIPT LOAD. A test that needs anything else (a mutated
# script, FLUSHDB) talks to Redis over TCP, as the socket node does.
ALLOWED = frozenset(
    {
        # shared/services: health, auctions, lifecycle, jobs, bid intake, auction state
        "PING",
        "GET",
        "HGET",
        "HGETALL",
        "HMGET",
        "HEXISTS",
        "LLEN",
        "LRANGE",
        "LPOS",
        "ZSCORE",
        "ZADD",
        "ZREM",
        "XRANGE",
        "XDEL",
        # every atomic change is one of the project's Lua scripts (checked by SHA1 below)
        "EVALSHA",
        "EVAL",
        "SCRIPT",
        # the test suite's pokes at state (plain data commands on keys) and the bridge's
        # protocol tests
        "SET",
        "DEL",
        "EXISTS",
        "INCR",
        "INCRBY",
        "HSET",
        "HKEYS",
        "LPUSH",
        "RPUSH",
        "ZRANGE",
        "ZRANGEBYSCORE",
        "XADD",
        "XLEN",
    }
)


@cache
def project_scripts() -> frozenset[str]:
    """SHA1s of the project's scripts, as `load_script` builds them (lib.lua prepended)."""
    return frozenset(
        load_script(path.stem).sha for path in LUA_DIR.glob("*.lua") if path.stem != "lib"
    )


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def allowed(command: list[Any]) -> bool:
    """Whether one command (already shaped as a list of strings and numbers) may run."""
    name = command[0]
    if not isinstance(name, str):
        return False
    name = name.upper()
    if name not in ALLOWED:
        return False
    if name == "SCRIPT":
        return (
            len(command) == 3
            and str(command[1]).upper() == "LOAD"
            and _sha1(str(command[2])) in project_scripts()
        )
    if name == "EVAL":
        return len(command) >= 3 and _sha1(str(command[1])) in project_scripts()
    if name == "EVALSHA":
        return len(command) >= 3 and str(command[1]).lower() in project_scripts()
    return True


def _b64(value: bytes) -> str:
    return "OK" if value == b"OK" else base64.b64encode(value).decode("ascii")


def _utf8(value: bytes) -> str:
    return value.decode("utf-8", errors="replace")


def _error(exc: ResponseError) -> str:
    """Redis's own error line: redis-py strips a known prefix (NOSCRIPT, ERR...) and keeps it
    in `status_code`; clients match on the prefix, so it goes back on."""
    code = getattr(exc, "status_code", None)
    return f"{code} {exc}" if code else str(exc)


def _render(value: Any, encode: Encoder) -> Any:
    """A raw RESP2 reply as JSON: strings encoded, arrays recursively, errors as objects."""
    if isinstance(value, bytes):
        return encode(value)
    if isinstance(value, list):
        return [_render(item, encode) for item in value]
    if isinstance(value, ResponseError):
        return {"error": _error(value)}
    return value  # int or None


def _one(value: Any, encode: Encoder) -> dict[str, Any]:
    if isinstance(value, ResponseError):
        return {"error": _error(value)}
    return {"result": _render(value, encode)}


class NotSent(Exception):
    """Redis could not be reached: nothing was sent, nothing ran."""


class Bridge:
    """Runs commands on raw connections (no redis-py reply callbacks, so replies stay raw)."""

    def __init__(self, redis_url: str) -> None:
        # The read timeout is far above the REST client's (2 s): the client decides when an
        # answer is late; this only frees a thread whose Redis vanished without a word.
        self.pool = redis.ConnectionPool.from_url(
            redis_url,
            protocol=2,
            max_connections=256,
            socket_timeout=30,
            socket_connect_timeout=5,
        )

    def _exchange(self, commands: list[list[Any]]) -> list[Any]:
        """Send every command, then read every reply: one network round trip to Redis.
        Raises NotSent when Redis could not be reached; any later failure may have run some
        of the commands (the caller says "outcome unknown")."""
        try:
            conn = self.pool.get_connection()
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            raise NotSent(str(exc)) from exc
        try:
            conn.send_packed_command(conn.pack_commands([tuple(c) for c in commands]))
            replies: list[Any] = []
            for _ in commands:
                try:
                    replies.append(conn.read_response(disable_decoding=True))
                except ResponseError as exc:
                    replies.append(exc)
            return replies
        except BaseException as exc:
            conn.disconnect()
            if "connecting to" in str(exc):  # redis-py's words for a failed (re)connect
                raise NotSent(str(exc)) from exc
            raise
        finally:
            self.pool.release(conn)

    def command(self, command: list[Any]) -> Any:
        return self._exchange([command])[0]

    def pipeline(self, commands: list[list[Any]]) -> list[Any]:
        return self._exchange(commands)

    def multi_exec(self, commands: list[list[Any]]) -> list[Any]:
        replies = self._exchange([["MULTI"], *commands, ["EXEC"]])
        queued, outcome = replies[1:-1], replies[-1]
        refused = [r for r in queued if isinstance(r, ResponseError)]
        if refused or isinstance(outcome, ResponseError):
            error = refused[0] if refused else outcome
            return [error for _ in commands]
        return list(outcome) if outcome is not None else [None for _ in commands]


def _valid_command(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) > 0
        and all(isinstance(p, str | int | float) and not isinstance(p, bool) for p in value)
    )


def _split_host(value: str) -> tuple[str, str]:
    """ "127.0.0.1:8079" -> ("127.0.0.1", "8079"); "[::1]:8079" -> ("::1", "8079")."""
    if value.startswith("["):
        name, _, rest = value[1:].partition("]")
        return name, rest.removeprefix(":")
    name, _, port = value.rpartition(":")
    return (name, port) if name else (value, "")


def make_handler(
    bridge: Bridge, token: str, host: str = "127.0.0.1"
) -> type[BaseHTTPRequestHandler]:
    expected = f"Bearer {token}".encode()
    # The names this bridge answers to: this machine, and the address it was bound to when
    # that is a real one (not a wildcard).
    names = LOOPBACK_NAMES | ({host.strip("[]")} if host not in ("", "0.0.0.0", "::") else set())

    class UpstashHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Without this, keep-alive requests wait ~40 ms on delayed ACKs (measured here).
        disable_nagle_algorithm = True
        # Headers and body leave in one send (http.server flushes after each request).
        wbufsize = 1 << 16

        def log_message(self, format: str, *args: Any) -> None:  # quiet: one line per request
            return

        def _reply(self, status: int, body: Any, *, close: bool = False) -> None:
            payload = orjson.dumps(body)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            if close:  # the body was not read: this connection cannot carry another request
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(payload)

        def _host_allowed(self) -> bool:
            name, port = _split_host((self.headers.get("Host") or "").strip().lower())
            return name in names and port == str(self.server.server_address[1])

        def _body_length(self) -> int | None:
            """The Content-Length to read, or None after refusing the request."""
            if self.headers.get("Transfer-Encoding"):
                self._reply(411, {"error": "ERR send a Content-Length"}, close=True)
                return None
            raw = (self.headers.get("Content-Length") or "0").strip()
            if not raw.isdigit():
                self._reply(400, {"error": "ERR invalid Content-Length"}, close=True)
                return None
            length = int(raw)
            if length > MAX_BODY:
                self._reply(413, {"error": f"ERR body over {MAX_BODY} bytes"}, close=True)
                return None
            return length

        def do_POST(self) -> None:
            # Nothing of the body is read before the caller has shown it may send one.
            if not self._host_allowed():
                self._reply(403, {"error": "ERR host not allowed"}, close=True)
                return
            auth = (self.headers.get("Authorization") or "").encode()
            if not hmac.compare_digest(auth, expected):
                self._reply(401, {"error": "Unauthorized"}, close=True)
                return
            length = self._body_length()
            if length is None:
                return
            raw = self.rfile.read(length) if length else b""
            encode: Encoder = (
                _b64 if (self.headers.get("Upstash-Encoding") or "") == "base64" else _utf8
            )
            try:
                body = orjson.loads(raw)
            except orjson.JSONDecodeError:
                self._reply(400, {"error": "ERR failed to parse command"})
                return
            path = self.path.split("?", 1)[0].rstrip("/")
            try:
                if path == "":
                    if not _valid_command(body):
                        self._reply(400, {"error": "ERR failed to parse command"})
                        return
                    if not allowed(body):
                        self._reply(400, {"error": NOT_ALLOWED})
                        return
                    result = _one(bridge.command(body), encode)
                    self._reply(400 if "error" in result else 200, result)
                elif path in ("/pipeline", "/multi-exec"):
                    if not isinstance(body, list) or not all(_valid_command(c) for c in body):
                        self._reply(400, {"error": "ERR failed to parse pipeline request"})
                        return
                    if not all(allowed(c) for c in body):
                        # All or nothing: none runs. Each answered as refused, in the shape
                        # a pipeline's answer has (the client reads a list, never an object).
                        refused = [
                            {"error": NOT_ALLOWED}
                            if not allowed(c)
                            else {"error": "ERR not run: the pipeline has a command not allowed"}
                            for c in body
                        ]
                        self._reply(400, refused)
                        return
                    run = bridge.pipeline if path == "/pipeline" else bridge.multi_exec
                    self._reply(200, [_one(r, encode) for r in run(body)] if body else [])
                else:
                    self._reply(404, {"error": "ERR unknown endpoint"})
            except NotSent as exc:
                self._reply(503, {"error": f"ERR redis unavailable: {exc}"})
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                # Sent, and no answer: Redis may have run it. The REST client tells the two
                # apart (shared.adapters.redis_store), so a bid can say "outcome unknown".
                self._reply(503, {"error": f"ERR redis outcome unknown: {exc}"})

        def do_GET(self) -> None:
            self._reply(405, {"error": "ERR use POST"})

    return UpstashHandler


class BridgeServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024


class SharedPortBridgeServer(BridgeServer):
    allow_reuse_port = True  # one of several worker processes (infra.prefork)


def serve(
    redis_url: str, token: str, port: int, host: str = "127.0.0.1", *, shared_port: bool = False
) -> BridgeServer:
    """Create the server (bound, not yet serving)."""
    if not token:
        raise ValueError("the bridge needs a token")
    server_cls = SharedPortBridgeServer if shared_port else BridgeServer
    return server_cls((host, port), make_handler(Bridge(redis_url), token, host))


def serve_in_thread(redis_url: str, token: str, port: int = 0) -> BridgeServer:
    server = serve(redis_url, token, port)
    threading.Thread(target=server.serve_forever, daemon=True, name="upstash-bridge").start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--port", type=int, default=8079)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes sharing the port (SO_REUSEPORT); 0: one of them",
    )
    args = parser.parse_args()
    redis_url = os.environ.get("REDIS_URL") or ""
    token = os.environ.get("UPSTASH_REDIS_REST_TOKEN") or ""
    if not redis_url or not token:
        print(
            "infra.bridge: set REDIS_URL and UPSTASH_REDIS_REST_TOKEN in the environment",
            file=sys.stderr,
        )
        raise SystemExit(2)
    server = serve(redis_url, token, args.port, args.host, shared_port=args.workers != 1)
    if args.workers:
        print(
            f"upstash-rest bridge on http://{args.host}:{args.port} -> {mask_url(redis_url)}",
            flush=True,
        )
    # The workers inherit the environment: the URL and the token never appear in argv.
    prefork.serve(
        server, "infra.bridge", ["--port", str(args.port), "--host", args.host], args.workers
    )


if __name__ == "__main__":
    main()
