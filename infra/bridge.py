"""The local Upstash-REST bridge: Upstash's REST protocol over any Redis.

The functions talk to Redis only through the real `upstash-redis` client; in development and
tests this bridge stands where Upstash stands in production, so the same client code runs in
both. No such server exists on PyPI; this is the protocol as the client speaks it:

- `POST /` with a JSON array command -> 200 `{"result": ...}`, or 400 `{"error": "..."}`;
- `POST /pipeline` and `POST /multi-exec` with an array of commands -> 200 with an array of
  `{"result"}` / `{"error"}` objects (multi-exec runs them in MULTI/EXEC);
- `Authorization: Bearer <token>`, else 401;
- `Upstash-Encoding: base64`: every string in a result is base64, except the status `OK`.

It listens on the developer's machine, so it defends itself (docs/security.md):
- the `Host` header must name this machine (127.0.0.1, localhost or [::1]) and the bridge's
  port, so a web page cannot reach it through DNS rebinding (403);
- the token is checked before the body is read, and a body is at most `MAX_BODY` (413);
- only the commands the project's code sends run (`ALLOWED`); `EVAL` and `EVALSHA` only for
  the project's own scripts (`shared/adapters/lua/`), since Lua can call FLUSHALL. Anything
  else, CONFIG, FLUSHALL, SHUTDOWN, MODULE and DEBUG included, and the plain data commands
  the project never sends (SET, DEL, HSET...), is 400 `{"error": "ERR command not allowed"}`
  and never reaches Redis.

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
from collections.abc import Callable
from functools import cache
from typing import Any

import orjson
import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from infra import serving
from infra.embedded import free_port
from infra.serving import Answer, Head, Limits
from shared.adapters.redis_store import LUA_DIR, load_script
from shared.redaction import mask_url

Encoder = Callable[[bytes], str]

# Upstash's own request limit is 1 MB; the project's largest request (a script's source with
# EVAL, ~20 KiB) is far below it.
MAX_BODY = 1 << 20
LIMITS = Limits(max_body=MAX_BODY)
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
NOT_ALLOWED = "ERR command not allowed"

# What the project's own code sends through the REST client, and nothing more: the commands
# of `store.command(...)` / `store.pipeline([...])` in shared/ and functions/ (a test parses
# them and fails when this list and theirs differ: tests/infra/test_bridge_security.py), and
# the scripts' EVALSHA, then EVAL on NOSCRIPT. The tests set up and inspect state over TCP
# (redis-py on REDIS_URL), as the socket node reaches Redis; a data command the project never
# sends (SET, DEL, HSET, XADD...) is refused here, as it would be a needless power of the
# production token.
ALLOWED = frozenset(
    {
        # shared/services: health, auctions, lifecycle, jobs, bid intake, schedules, backlog
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
        "ZRANGE",
        "XRANGE",
        "XDEL",
        "XLEN",
        # every atomic change is one of the project's Lua scripts (checked by SHA1 below)
        "EVALSHA",
        "EVAL",
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


class UpstashApp(serving.Application):
    """The REST protocol over a `Bridge`, served by `infra.serving`."""

    def __init__(self, bridge: Bridge, token: str, host: str, port: int) -> None:
        super().__init__(LIMITS)
        self.bridge = bridge
        self.expected = f"Bearer {token}".encode()
        # The names this bridge answers to: this machine, and the address it was bound to
        # when that is a real one (not a wildcard).
        self.names = LOOPBACK_NAMES | (
            {host.strip("[]")} if host not in ("", "0.0.0.0", "::") else set()
        )
        self.port = str(port)

    @staticmethod
    def _reply(status: int, body: Any) -> Answer:
        return Answer(status, [("Content-Type", "application/json")], orjson.dumps(body))

    def refusal(self, status: int, message: str) -> Answer:
        return self._reply(status, {"error": f"ERR {message}"})

    def head(self, request: Head) -> Answer | None:
        """Nothing of the body is read before the caller has shown it may send one (an Answer
        here closes the connection with the body unread)."""
        name, port = _split_host((request.header("host") or "").strip().lower())
        if name not in self.names or port != self.port:
            return self._reply(403, {"error": "ERR host not allowed"})
        if not hmac.compare_digest((request.header("authorization") or "").encode(), self.expected):
            return self._reply(401, {"error": "Unauthorized"})
        if request.header("transfer-encoding"):
            return self._reply(411, {"error": "ERR send a Content-Length"})
        raw = request.header("content-length")
        if raw is not None and not raw.strip().isdigit():
            return self._reply(400, {"error": "ERR invalid Content-Length"})
        if raw is not None and int(raw) > MAX_BODY:
            return self._reply(413, {"error": f"ERR body over {MAX_BODY} bytes"})
        return None

    def answer(self, request: Head, body: bytes, arrived_ms: int) -> Answer:
        if request.method != "POST":
            return self._reply(405, {"error": "ERR use POST"})
        encode: Encoder = _b64 if request.header("upstash-encoding") == "base64" else _utf8
        try:
            command = orjson.loads(body or b"null")
        except orjson.JSONDecodeError:
            return self._reply(400, {"error": "ERR failed to parse command"})
        path = request.path.rstrip("/")
        bridge = self.bridge
        try:
            if path == "":
                if not _valid_command(command):
                    return self._reply(400, {"error": "ERR failed to parse command"})
                if not allowed(command):
                    return self._reply(400, {"error": NOT_ALLOWED})
                result = _one(bridge.command(command), encode)
                return self._reply(400 if "error" in result else 200, result)
            if path in ("/pipeline", "/multi-exec"):
                if not isinstance(command, list) or not all(_valid_command(c) for c in command):
                    return self._reply(400, {"error": "ERR failed to parse pipeline request"})
                if not all(allowed(c) for c in command):
                    # All or nothing: none runs. Each answered as refused, in the shape a
                    # pipeline's answer has (the client reads a list, never an object).
                    refused = [
                        {"error": NOT_ALLOWED}
                        if not allowed(c)
                        else {"error": "ERR not run: the pipeline has a command not allowed"}
                        for c in command
                    ]
                    return self._reply(400, refused)
                run = bridge.pipeline if path == "/pipeline" else bridge.multi_exec
                return self._reply(200, [_one(r, encode) for r in run(command)] if command else [])
            return self._reply(404, {"error": "ERR unknown endpoint"})
        except NotSent as exc:
            return self._reply(503, {"error": f"ERR redis unavailable: {exc}"})
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            # Sent, and no answer: Redis may have run it. The REST client tells the two
            # apart (shared.adapters.redis_store), so a bid can say "outcome unknown".
            return self._reply(503, {"error": f"ERR redis outcome unknown: {exc}"})


# The worker processes read what they serve from the environment, as they read REDIS_URL and
# the token: the address the bridge listens on (its Host check names it).
LISTEN = "UPSTASH_BRIDGE_LISTEN"


def make_app() -> UpstashApp:
    """Granian's factory: one UpstashApp per worker process, from the environment."""
    host, _, port = os.environ[LISTEN].rpartition(":")
    return UpstashApp(
        Bridge(os.environ["REDIS_URL"]), os.environ["UPSTASH_REDIS_REST_TOKEN"], host, int(port)
    )


def serve_in_thread(redis_url: str, token: str, port: int = 0) -> serving.ThreadedServer:
    """The bridge on a thread of this process, on 127.0.0.1 (`port` 0: a free one)."""
    if not token:
        raise ValueError("the bridge needs a token")
    port = port or free_port()
    app = UpstashApp(Bridge(redis_url), token, "127.0.0.1", port)
    return serving.ThreadedServer(app, "127.0.0.1", port)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--port", type=int, default=8079)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--workers", type=int, default=1, help="processes sharing the port")
    args = parser.parse_args()
    redis_url = os.environ.get("REDIS_URL") or ""
    token = os.environ.get("UPSTASH_REDIS_REST_TOKEN") or ""
    if not redis_url or not token:
        print(
            "infra.bridge: set REDIS_URL and UPSTASH_REDIS_REST_TOKEN in the environment",
            file=sys.stderr,
        )
        raise SystemExit(2)
    print(
        f"upstash-rest bridge on http://{args.host}:{args.port} -> {mask_url(redis_url)}",
        flush=True,
    )
    # The workers inherit the environment: the URL and the token never appear in argv.
    os.environ[LISTEN] = f"{args.host}:{args.port}"
    serving.run("infra.bridge:make_app", args.host, args.port, args.workers, LIMITS)


if __name__ == "__main__":
    main()
