"""The local Upstash-REST bridge: Upstash's REST protocol over any Redis.

The functions talk to Redis only through the real `upstash-redis` client; in development and
tests this bridge stands where Upstash stands in production, so the same client code runs in
both. No such server exists on PyPI; this is the protocol as the client speaks it:

- `POST /` with a JSON array command -> 200 `{"result": ...}`, or 400 `{"error": "..."}`;
- `POST /pipeline` and `POST /multi-exec` with an array of commands -> 200 with an array of
  `{"result"}` / `{"error"}` objects (multi-exec runs them in MULTI/EXEC);
- `Authorization: Bearer <token>`, else 401;
- `Upstash-Encoding: base64`: every string in a result is base64, except the status `OK`.

Usage: `python -m infra.bridge --redis-url redis://... --port 8079 --token local-dev-token`.
"""

from __future__ import annotations

import argparse
import base64
import hmac
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from infra import prefork

Encoder = Callable[[bytes], str]


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


class Bridge:
    """Runs commands on raw connections (no redis-py reply callbacks, so replies stay raw)."""

    def __init__(self, redis_url: str) -> None:
        self.pool = redis.ConnectionPool.from_url(redis_url, protocol=2, max_connections=256)

    def _exchange(self, commands: list[list[Any]]) -> list[Any]:
        """Send every command, then read every reply: one network round trip to Redis."""
        conn = self.pool.get_connection()
        try:
            conn.send_packed_command(conn.pack_commands([tuple(c) for c in commands]))
            replies: list[Any] = []
            for _ in commands:
                try:
                    replies.append(conn.read_response(disable_decoding=True))
                except ResponseError as exc:
                    replies.append(exc)
            return replies
        except BaseException:
            conn.disconnect()
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


def make_handler(bridge: Bridge, token: str) -> type[BaseHTTPRequestHandler]:
    expected = f"Bearer {token}".encode()

    class UpstashHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Without this, keep-alive requests wait ~40 ms on delayed ACKs (measured here).
        disable_nagle_algorithm = True
        # Headers and body leave in one send (http.server flushes after each request).
        wbufsize = 1 << 16

        def log_message(self, format: str, *args: Any) -> None:  # quiet: one line per request
            return

        def _reply(self, status: int, body: Any) -> None:
            payload = orjson.dumps(body)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            auth = (self.headers.get("Authorization") or "").encode()
            if not hmac.compare_digest(auth, expected):
                self._reply(401, {"error": "Unauthorized"})
                return
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
                    result = _one(bridge.command(body), encode)
                    self._reply(400 if "error" in result else 200, result)
                elif path in ("/pipeline", "/multi-exec"):
                    if not isinstance(body, list) or not all(_valid_command(c) for c in body):
                        self._reply(400, {"error": "ERR failed to parse pipeline request"})
                        return
                    run = bridge.pipeline if path == "/pipeline" else bridge.multi_exec
                    self._reply(200, [_one(r, encode) for r in run(body)] if body else [])
                else:
                    self._reply(404, {"error": "ERR unknown endpoint"})
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                self._reply(503, {"error": f"ERR redis unavailable: {exc}"})

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
    server_cls = SharedPortBridgeServer if shared_port else BridgeServer
    return server_cls((host, port), make_handler(Bridge(redis_url), token))


def serve_in_thread(redis_url: str, token: str, port: int = 0) -> BridgeServer:
    server = serve(redis_url, token, port)
    threading.Thread(target=server.serve_forever, daemon=True, name="upstash-bridge").start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--port", type=int, default=8079)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes sharing the port (SO_REUSEPORT); 0: one of them",
    )
    args = parser.parse_args()
    server = serve(args.redis_url, args.token, args.port, args.host, shared_port=args.workers != 1)
    if args.workers:
        print(
            f"upstash-rest bridge on http://{args.host}:{args.port} -> {args.redis_url}", flush=True
        )
    prefork.serve(
        server,
        "infra.bridge",
        [
            "--redis-url",
            args.redis_url,
            "--token",
            args.token,
            "--port",
            str(args.port),
            "--host",
            args.host,
        ],
        args.workers,
    )


if __name__ == "__main__":
    main()
