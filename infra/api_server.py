"""Serve the Chalice app locally as API Gateway runs it: each HTTP request becomes an API
Gateway REST proxy event (v1) for `app.app(event, context)`, the very handler Lambda calls,
and its answer becomes the HTTP response.

- one threaded HTTP/1.1 server (`infra.http11`: keep-alive, httptools; `chalice local`'s
  http.server spent ~250 µs of CPU per request parsing and buffering);
- routes matched as API Gateway matches them (literal segments before `{captures}`, path
  parameters URL-decoded); `current_request` per thread (Chalice's LocalChalice);
- a path with no route answers 404 problem+json (API Gateway says 403 "Missing Authentication
  Token"; the deployed API maps that response the same way, see README and infra/package.py);
- a request without Accept may get a binary answer (RFC 9110: no Accept means any type);
- bodies of the binary types (images) travel base64-encoded, as API Gateway sends them.

Usage: `python -m infra.api_server [--host API_HOST] [--port API_PORT]` (defaults from the
settings: 127.0.0.1 and 8000; the container image sets API_HOST=0.0.0.0).
"""

from __future__ import annotations

import argparse
import base64
import logging
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

import orjson

from infra import prefork
from infra.http11 import Reply, Request, Server
from shared.domain.errors import problem_body
from shared.settings import REPO_ROOT, settings_or_exit

# What a path no route has gets: here, and from the deployed API Gateway (the gateway response
# `make package` writes into the template, infra/package.py).
NO_ROUTE = orjson.dumps(problem_body("not_found", "No such route"))
# The largest body the server reads; each route holds its own limit below it (64 KiB for JSON,
# 5 MiB for a photo), so what reaches the app gets the app's own 413 problem.
MAX_BODY = 6 * 1024 * 1024
TOO_LARGE = orjson.dumps(problem_body("payload_too_large", "The body is too large"))


@dataclass
class LambdaContext:
    """What Lambda passes beside the event (the app reads none of it but the request id)."""

    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_name: str = "auction-api-local"
    memory_limit_in_mb: int = 512

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


class Routes:
    """API Gateway's matching: a route's literal segments before its captures (the sort puts
    `{` after every letter), the trailing slash of a non-root path ignored."""

    def __init__(self, templates: list[str]) -> None:
        self._by_length: dict[int, list[tuple[str, tuple[str, ...]]]] = {}
        for template in sorted(templates):
            parts = tuple(template.split("/"))
            self._by_length.setdefault(len(parts), []).append((template, parts))

    def match(self, path: str) -> tuple[str, dict[str, str]] | None:
        if path != "/" and path.endswith("/"):
            path = path[:-1]
        parts = path.split("/")
        for template, pattern in self._by_length.get(len(parts), ()):
            captured: dict[str, str] = {}
            for given, expected in zip(parts, pattern, strict=True):
                if expected.startswith("{") and expected.endswith("}"):
                    captured[expected[1:-1]] = unquote(given)
                elif given != expected:
                    break
            else:
                return template, captured
        return None


class Gateway:
    """HTTP -> API Gateway REST proxy event -> the Chalice handler -> HTTP."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.routes = Routes(list(app.routes))
        self.binary_types = tuple(app.api.binary_types)
        from chalicelib.middleware import SECURITY_HEADERS
        from chalicelib.problems import PROBLEM

        self.no_route = Reply(404, [*SECURITY_HEADERS.items(), ("Content-Type", PROBLEM)], NO_ROUTE)
        self.too_large = Reply(
            413, [*SECURITY_HEADERS.items(), ("Content-Type", PROBLEM)], TOO_LARGE
        )

    def head(self, request: Request, content_length: int | None) -> Reply | None:
        if content_length is not None and content_length > MAX_BODY:
            return self.too_large
        return None

    def event(self, request: Request, resource: str, params: dict[str, str]) -> dict[str, Any]:
        path, _, query = request.target.partition("?")
        headers: dict[str, str] = {}
        multi: dict[str, list[str]] = {}
        for name, value in request.headers:
            headers[name] = value
            multi.setdefault(name, []).append(value)
        if "accept" not in headers:
            headers["accept"] = "*/*"  # no Accept: any type, a binary answer too
            multi["accept"] = ["*/*"]
        query_params = parse_qs(query, keep_blank_values=True) if query else {}
        body: bytes | str | None = request.body or None
        binary = False
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if body is not None and content_type in self.binary_types:
            body, binary = base64.b64encode(request.body).decode("ascii"), True
        return {
            "resource": resource,
            "path": path,
            "httpMethod": request.method,
            "headers": headers,
            "multiValueHeaders": multi,
            "queryStringParameters": {k: v[-1] for k, v in query_params.items()} or None,
            "multiValueQueryStringParameters": query_params or None,
            "pathParameters": params or None,
            "stageVariables": None,
            "requestContext": {
                "resourcePath": resource,
                "httpMethod": request.method,
                "path": path,
                "stage": "local",
                "identity": {"sourceIp": request.peer},
            },
            "body": body,
            "isBase64Encoded": binary,
        }

    def __call__(self, request: Request) -> Reply:
        path = request.target.partition("?")[0]
        found = self.routes.match(path)
        if found is None:
            return self.no_route
        answer = self.app(self.event(request, *found), LambdaContext())
        headers = list(answer.get("headers", {}).items())
        for name, values in (answer.get("multiValueHeaders") or {}).items():
            headers += [(name, value) for value in values]
        body = answer.get("body") or ""
        raw = base64.b64decode(body) if answer.get("isBase64Encoded") else body.encode()
        return Reply(int(answer["statusCode"]), headers, raw)


def make_server(
    host: str, port: int, *, shared_port: bool = False, mount: Callable[[Any], None] | None = None
) -> Server:
    """`mount(app)`, when given, adds routes to the app before it is served (the bench's own,
    `bench.api_server`: they are no part of the shipped app)."""
    sys.path.insert(0, str(REPO_ROOT / "functions"))
    import app as functions_app  # the Chalice project's app.py
    from chalice.local import CustomLocalChalice, LocalChalice

    app_obj = functions_app.app
    if mount is not None:
        mount(app_obj)
    # What chalice.local does: `current_request` per thread (this server runs one per
    # connection), where Lambda runs one request per process.
    CustomLocalChalice.__bases__ = (LocalChalice, app_obj.__class__)
    app_obj.__class__ = CustomLocalChalice
    return Server(host, port, Gateway(app_obj), reuse_port=shared_port, max_body=MAX_BODY)


def main(module: str = "infra.api_server", mount: Callable[[Any], None] | None = None) -> None:
    """Serve; `module` is what the extra worker processes run (`python -m module`)."""
    settings = settings_or_exit()
    parser = argparse.ArgumentParser(description="Serve the Chalice app locally.")
    parser.add_argument("--host", default=settings.api_host)
    parser.add_argument("--port", type=int, default=settings.api_port)
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes sharing the port (SO_REUSEPORT); 0: one of them",
    )
    args = parser.parse_args()
    server = make_server(args.host, args.port, shared_port=args.workers != 1, mount=mount)
    if args.workers:
        # A JSON line like every other (the app configured logging when it was imported).
        logging.getLogger("api").info(
            "api on http://%s:%s (%d workers)", args.host, args.port, args.workers
        )
    prefork.serve(
        server,
        module,
        ["--host", args.host, "--port", str(args.port)],
        args.workers,
    )


if __name__ == "__main__":
    main()
