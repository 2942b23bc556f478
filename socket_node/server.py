"""The socket node's asyncio shell: the websockets server (`/ws`), plain HTTP for `/health`,
`/config.json` and the built SPA, and the background loops (ticker)."""

from __future__ import annotations

import asyncio
import contextlib
import http
import logging
import mimetypes
import signal
from pathlib import Path
from typing import Any

import orjson
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from shared.services import health, lifecycle
from shared.services.context import Context, for_socket_node
from shared.settings import REPO_ROOT, Settings, settings_or_exit

log = logging.getLogger("socket_node")
WEB_DIST = REPO_ROOT / "web" / "dist"
TICK_S = 1.0


def _response(status: int, body: bytes, content_type: str) -> Response:
    headers = Headers()
    headers["Content-Type"] = content_type
    headers["Content-Length"] = str(len(body))
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Cache-Control"] = (
        "no-store" if content_type.startswith("application/json") else ("public, max-age=300")
    )
    return Response(status, http.HTTPStatus(status).phrase, headers, body)


def json_reply(status: int, body: Any) -> Response:
    return _response(status, orjson.dumps(body), "application/json")


class SocketNode:
    def __init__(self, settings: Settings, ctx: Context) -> None:
        self.settings = settings
        self.ctx = ctx
        self.tasks: list[asyncio.Task[None]] = []

    # -- plain HTTP ------------------------------------------------------------------------
    async def process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        path = request.path.split("?", 1)[0]
        if path == "/ws":
            return None  # the WebSocket handshake goes on
        if path == "/health":
            status, body = await asyncio.to_thread(health.check, self.ctx)
            return json_reply(status, body)
        if path == "/config.json":
            return json_reply(200, self.client_config(request))
        return self.static(path)

    def client_config(self, request: Request) -> dict[str, Any]:
        host = request.headers.get("Host") or f"localhost:{self.settings.socket_port}"
        hostname = host.rsplit(":", 1)[0] if not host.startswith("[") else host
        secure = self.settings.app_base_url.startswith("https")
        return {
            "apiBase": f"{'https' if secure else 'http'}://{hostname}:{self.settings.api_port}",
            "wsUrl": f"{'wss' if secure else 'ws'}://{host}/ws",
            "devLogin": self.settings.dev_login_enabled,
            "currency": self.settings.currency,
        }

    def static(self, path: str) -> Response:
        root = WEB_DIST.resolve()
        target = (root / path.lstrip("/")).resolve()
        if not str(target).startswith(str(root)) or not target.is_file():
            target = root / "index.html"  # the SPA routes by hash; everything else is the app
        if not target.is_file():
            return _response(404, b"the web app is not built: run make run", "text/plain")
        content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        return _response(200, Path(target).read_bytes(), content_type)

    # -- WebSocket -------------------------------------------------------------------------
    async def handle(self, connection: ServerConnection) -> None:
        async for _ in connection:
            await connection.send(
                orjson.dumps(
                    {"type": "error", "code": "not_ready", "detail": "rooms are not served yet"}
                ).decode()
            )

    # -- background loops ------------------------------------------------------------------
    async def ticker(self) -> None:
        await asyncio.to_thread(lifecycle.rebuild_schedule, self.ctx)
        while True:
            try:
                await asyncio.to_thread(lifecycle.tick, self.ctx)
            except Exception:
                log.exception("tick failed; next tick in %.0f s", TICK_S)
            await asyncio.sleep(TICK_S)

    async def run(self, host: str, port: int, stop: asyncio.Future[None]) -> None:
        async with serve(
            self.handle,
            host,
            port,
            process_request=self.process_request,
            compression=None,
        ) as server:
            self.tasks.append(asyncio.create_task(self.ticker()))
            log.info("socket node on http://%s:%s (ws at /ws)", host, port)
            print(f"socket node on http://{host}:{port}", flush=True)
            await stop
            await self.shutdown(server)

    async def shutdown(self, server: Server) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        server.close(close_connections=True)  # clients get 1001 (going away)
        await server.wait_closed()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = settings_or_exit()
    ctx = for_socket_node(settings)

    async def runner() -> None:
        loop = asyncio.get_running_loop()
        stop: asyncio.Future[None] = loop.create_future()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
        await SocketNode(settings, ctx).run("0.0.0.0", settings.socket_port, stop)

    try:
        import uvloop

        uvloop.run(runner())
    except ImportError:
        asyncio.run(runner())
    finally:
        ctx.close()
