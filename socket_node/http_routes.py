"""The socket node's plain HTTP (everything but the WebSocket handshake on `/ws`): `/health`,
`/config.json`, the built web app with its Content-Security-Policy, the photos stored locally
(`/media/...`), and the admin's `/admin/rooms`, `/admin/metrics` and `/metrics`, with CORS for
the configured origins.

websockets answers these from its `process_request` hook, one answer per connection (it closes
the connection after a plain-HTTP answer)."""

from __future__ import annotations

import asyncio
import http
import mimetypes
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from shared.adapters.db import DB_ERRORS
from shared.adapters.tokens import InvalidToken, KeysUnavailable
from shared.domain.cors import cors_grant
from shared.domain.errors import problem_body
from shared.domain.vocabulary import Role
from shared.services import health, ledger, users
from shared.services.context import Context
from shared.settings import REPO_ROOT
from socket_node import asyncapi
from socket_node.metrics import CONTENT_TYPE, may_scrape_without_token

if TYPE_CHECKING:
    from socket_node.server import NodeConnection, SocketNode

WEB_DIST = REPO_ROOT / "web" / "dist"
MEDIA_PREFIX = "/media/"  # photos stored under var/media (shared/adapters/media_store.py)
# /health answers from a check at most this old: a load balancer, the functions' minute ping
# and a monitor may all ask at once, and each fresh check costs a database and a Redis round
# trip.
HEALTH_FRESH_S = 1.0


def _response(
    status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None
) -> Response:
    headers = Headers()
    headers["Content-Type"] = content_type
    headers["Content-Length"] = str(len(body))
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"  # nothing the node serves is meant to be framed
    # websockets closes the connection after a plain-HTTP answer: say so, or a keep-alive
    # client sends its next request into a closed socket.
    headers["Connection"] = "close"
    headers["Cache-Control"] = (
        "public, max-age=300"
        if content_type.startswith(("text/css", "application/javascript", "image/"))
        else "no-store"
    )
    for name, value in (extra or {}).items():
        headers[name] = value
    return Response(status, http.HTTPStatus(status).phrase, headers, body)


def _origin(url: Any) -> str | None:
    """ "wss://node.example/ws" -> "wss://node.example" (None for anything else)."""
    if not isinstance(url, str):
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "ws", "wss") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def json_reply(status: int, body: Any, extra: dict[str, str] | None = None) -> Response:
    return _response(status, orjson.dumps(body), "application/json", extra)


def problem(code: str, detail: str, extra: dict[str, str] | None = None) -> Response:
    body = problem_body(code, detail)  # the API's builder: the same titles, from one table
    return _response(body["status"], orjson.dumps(body), "application/problem+json", extra)


class Health:
    """`/health` on a thread of its own: the ticker, the job worker and the joins' lookups
    share the event loop's default worker threads, and a slow tick or a stuck PostgreSQL
    occupied them all, so the node's health check waited behind the work it reports on (and
    a load balancer took a busy node for a dead one). One check at a time (callers meanwhile
    share its answer), and an answer is reused for `HEALTH_FRESH_S`."""

    def __init__(self, ctx: Context, fresh_s: float = HEALTH_FRESH_S) -> None:
        self.ctx = ctx
        self.fresh_s = fresh_s
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="health")
        self.answer: tuple[int, dict[str, Any]] | None = None
        self.answered_at = 0.0
        self.checking: asyncio.Future[tuple[int, dict[str, Any]]] | None = None

    async def check(self) -> tuple[int, dict[str, Any]]:
        if self.answer is not None and time.monotonic() - self.answered_at < self.fresh_s:
            return self.answer
        if self.checking is None:
            loop = asyncio.get_running_loop()
            self.checking = loop.run_in_executor(self.executor, health.check, self.ctx)
            self.checking.add_done_callback(self._checked)
        return await asyncio.shield(self.checking)

    def _checked(self, done: asyncio.Future[tuple[int, dict[str, Any]]]) -> None:
        self.checking = None
        if not done.cancelled() and done.exception() is None:
            self.answer, self.answered_at = done.result(), time.monotonic()

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


class HttpRoutes:
    """The node's plain-HTTP answers; `node` gives the settings, the token check, the
    figures."""

    def __init__(self, node: SocketNode) -> None:
        self.node = node
        self.health = Health(node.ctx)

    async def answer(self, connection: NodeConnection, request: Request) -> Response:
        path = request.path.partition("?")[0]
        if request.method == "OPTIONS":
            return self.preflight(request)
        if request.method != "GET":
            return problem(
                "method_not_allowed",
                f"{request.method} is not served here",
                {"Allow": "GET, OPTIONS"},
            )
        if path == "/health":
            status, body = await self.health.check()
            return json_reply(status, body)
        if path == "/admin/rooms":
            return await self.admin_rooms(request)
        if path == "/metrics":
            return await self.prometheus(connection, request)
        if path == "/admin/metrics":
            return await self.admin_metrics(request)
        if path == "/config.json":
            return json_reply(200, self.client_config(request))
        if path == "/asyncapi.json":  # the WebSocket protocol (socket_node/protocol.py)
            return json_reply(200, asyncapi.document(), self.cors(request))
        if path.startswith(MEDIA_PREFIX):
            return self.media(path)
        return self.static(path, request)

    def client_config(self, request: Request) -> dict[str, Any]:
        """What the browser app needs to know: the public URLs of a split deploy
        when they are configured, else the API's port and this node on the host it was
        asked by (the local stack)."""
        settings = self.node.settings
        host = request.headers.get("Host") or f"localhost:{settings.socket_port}"
        hostname = host.rsplit(":", 1)[0] if not host.startswith("[") else host
        secure = settings.app_base_url.startswith("https")
        return {
            "apiBase": settings.api_public_url
            or f"{'https' if secure else 'http'}://{hostname}:{settings.api_port}",
            "wsUrl": settings.ws_public_url or f"{'wss' if secure else 'ws'}://{host}/ws",
            "devLogin": settings.dev_login_enabled,
            "currency": settings.currency,
            "supabaseUrl": settings.supabase_url,
            "supabaseAnonKey": settings.supabase_anon_key,
            # The note verifier key of the bid ledger (as GET /api/ledger/key): "Verify this
            # auction" checks signatures against it.
            "vkey": ledger.signer(settings).vkey,
        }

    def static(self, path: str, request: Request) -> Response:
        root = WEB_DIST.resolve()
        target = (root / path.lstrip("/")).resolve()
        if not str(target).startswith(str(root)) or not target.is_file():
            target = root / "index.html"  # the SPA routes by hash; everything else is the app
        csp = {"Content-Security-Policy": self.content_security_policy(request)}
        if not target.is_file():
            return _response(404, b"the web app is not built: run make run", "text/plain", csp)
        content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        return _response(200, Path(target).read_bytes(), content_type, csp)

    def content_security_policy(self, request: Request) -> str:
        """The SPA's policy: its own scripts and styles only, never framed (the bid button is
        prefilled and the token is in localStorage: no clickjacking), and network access to
        exactly the origins /config.json names (API, WebSocket, Supabase), images also from
        the media origin."""
        config = self.client_config(request)
        connect = ["'self'"]
        for url in (config.get("apiBase"), config.get("wsUrl"), self.node.settings.supabase_url):
            origin = _origin(url)
            if origin and origin not in connect:
                connect.append(origin)
        images = ["'self'", "data:", "blob:"]
        for url in (self.node.settings.media_base_url, config.get("apiBase")):
            origin = _origin(url)
            if origin and origin not in images:
                images.append(origin)
        return "; ".join(
            [
                "default-src 'self'",
                "script-src 'self'",
                "style-src 'self'",
                f"img-src {' '.join(images)}",
                f"connect-src {' '.join(connect)}",
                "font-src 'self'",
                "object-src 'none'",
                "base-uri 'none'",
                "form-action 'self'",
                "frame-ancestors 'none'",
            ]
        )

    def media(self, path: str) -> Response:
        """Auction photos kept locally (no MEDIA_BUCKET) under var/media: served here, on the
        web app's own origin, so the page needs no other host (with MEDIA_BUCKET they come
        from S3 / MEDIA_BASE_URL instead)."""
        root = (self.node.settings.var_dir / "media").resolve()
        target = (root / path.removeprefix(MEDIA_PREFIX)).resolve()
        if not target.is_relative_to(root) or target.suffix != ".webp" or not target.is_file():
            return problem("not_found", "No such photo")
        return _response(200, target.read_bytes(), "image/webp")

    def cors(self, request: Request) -> dict[str, str]:
        """The grant for the page's origin (`shared.domain.cors`, as the API's): the admin
        views are read with a Bearer token, never cookies, so no Allow-Credentials."""
        grant = cors_grant(request.headers.get("Origin"), self.node.settings.allowed_origins)
        if grant is None:
            return {"Vary": "Origin"}
        return {"Access-Control-Allow-Origin": grant.allow_origin, "Vary": "Origin"}

    def preflight(self, request: Request) -> Response:
        headers = self.cors(request)
        if "Access-Control-Allow-Origin" in headers:
            headers.update(
                {
                    "Access-Control-Allow-Methods": "GET, OPTIONS",
                    "Access-Control-Allow-Headers": "Authorization, Content-Type",
                    "Access-Control-Max-Age": "600",
                }
            )
        return _response(204, b"", "text/plain", headers)

    async def admin_refusal(self, request: Request, cors: dict[str, str]) -> Response | None:
        """None when the request carries an admin's Bearer token, else the problem to answer."""
        scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return problem("unauthenticated", "An admin's Bearer token is required", cors)
        try:
            principal = await self.node.verify(token.strip())
        except KeysUnavailable:
            return problem("unavailable", "Sign-in keys cannot be checked now; retry", cors)
        except InvalidToken:
            return problem("unauthenticated", "The token is not valid", cors)
        if principal.role != Role.ADMIN:
            # Roles live in PostgreSQL: an admin made so there (not by their token) is one.
            try:
                stored = await asyncio.to_thread(
                    users.stored_role, self.node.ctx, principal.user_id
                )
            except DB_ERRORS:
                return problem("unavailable", "The user record cannot be read now; retry", cors)
            if stored != Role.ADMIN:
                return problem("forbidden", "Admins only", cors)
        return None

    async def admin_rooms(self, request: Request) -> Response:
        cors = self.cors(request)
        refusal = await self.admin_refusal(request, cors)
        if refusal is not None:
            return refusal
        return json_reply(200, await self.node.cluster_figures(), cors)

    async def prometheus(self, connection: NodeConnection, request: Request) -> Response:
        """Figures: for an admin's token, or a scraper on this machine (not through a proxy)."""
        if not may_scrape_without_token(connection.remote_address, request.headers):
            refusal = await self.admin_refusal(request, {})
            if refusal is not None:
                return refusal
        return _response(200, self.node.metrics.prometheus_text(), CONTENT_TYPE)

    async def admin_metrics(self, request: Request) -> Response:
        """This node's figures as JSON for the admin page (admin token; CORS like rooms)."""
        cors = self.cors(request)
        refusal = await self.admin_refusal(request, cors)
        if refusal is not None:
            return refusal
        return json_reply(200, self.node.metrics.figures(self.node.node_id), cors)
