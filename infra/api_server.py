"""Serve the Chalice app locally as API Gateway runs it: each HTTP request becomes an API
Gateway REST proxy event (v1) for `app.app(event, context)`, the very handler Lambda calls,
and its answer becomes the HTTP response.

- on granian, with the limits of `infra.serving` (head, body, time, requests in flight);
- routes matched as API Gateway matches them (literal segments before `{captures}`, path
  parameters URL-decoded); `current_request` per thread (Chalice's LocalChalice);
- `requestContext.requestTimeEpoch`: the moment the whole request (head and body) was here,
  in epoch milliseconds, as API Gateway stamps a request on its arrival;
- a path with no route answers 404 problem+json (API Gateway says 403 "Missing Authentication
  Token"; the deployed API maps that response the same way, see docs/deploy.md);
- a request without Accept may get a binary answer (RFC 9110: no Accept means any type);
- bodies of the binary types (images) travel base64-encoded, as API Gateway sends them.

Usage: `python -m infra.api_server [--host API_HOST] [--port API_PORT] [--workers N]`
(defaults from the settings: 127.0.0.1 and 8000; the container image sets API_HOST=0.0.0.0).
"""

from __future__ import annotations

import argparse
import base64
import logging
import sys
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

import orjson

from infra import serving
from infra.serving import Answer, Head, Limits
from shared.domain.errors import problem_body
from shared.settings import REPO_ROOT, settings_or_exit

# What a path no route has gets: here, and from the deployed API Gateway (the gateway response
# `make package` writes into the template, infra/package.py).
NO_ROUTE = orjson.dumps(problem_body("not_found", "No such route"))
# The largest body the server reads; each route holds its own limit below it (64 KiB for JSON,
# 5 MiB for a photo), so what reaches the app gets the app's own 413 problem.
MAX_BODY = 6 * 1024 * 1024
LIMITS = Limits(max_body=MAX_BODY)


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


class Gateway(serving.Application):
    """HTTP -> API Gateway REST proxy event -> the Chalice handler -> HTTP."""

    def __init__(self, app: Any, limits: Limits = LIMITS) -> None:
        super().__init__(limits)
        self.app = app
        self.routes = Routes(list(app.routes))
        self.binary_types = tuple(app.api.binary_types)
        from chalicelib.http import PROBLEM, SECURITY_HEADERS

        self.problem_headers = [*SECURITY_HEADERS.items(), ("Content-Type", PROBLEM)]

    def refusal(self, status: int, message: str) -> Answer:
        """The gateway's own refusals: a problem where the table has the code, else API
        Gateway's own shape (`{"message"}`, as for its 414 or 431)."""
        code = {413: "payload_too_large", 503: "unavailable"}.get(status)
        if code is not None:
            return Answer(
                status, list(self.problem_headers), orjson.dumps(problem_body(code, message))
            )
        body = orjson.dumps({"message": message})
        return Answer(status, [("Content-Type", "application/json")], body)

    def event(
        self, request: Head, body: bytes, arrived_ms: int, resource: str, params: dict[str, str]
    ) -> dict[str, Any]:
        headers: dict[str, str] = {}
        multi: dict[str, list[str]] = {}
        for name, value in request.headers:
            headers[name] = value
            multi.setdefault(name, []).append(value)
        if "accept" not in headers:
            headers["accept"] = "*/*"  # no Accept: any type, a binary answer too
            multi["accept"] = ["*/*"]
        query = parse_qs(request.query, keep_blank_values=True) if request.query else {}
        sent: bytes | str | None = body or None
        binary = False
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if sent is not None and content_type in self.binary_types:
            sent, binary = base64.b64encode(body).decode("ascii"), True
        return {
            "resource": resource,
            "path": request.path,
            "httpMethod": request.method,
            "headers": headers,
            "multiValueHeaders": multi,
            "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
            "multiValueQueryStringParameters": query or None,
            "pathParameters": params or None,
            "stageVariables": None,
            "requestContext": {
                "resourcePath": resource,
                "httpMethod": request.method,
                "path": request.path,
                "stage": "local",
                "requestTimeEpoch": arrived_ms,
                "identity": {"sourceIp": request.peer},
            },
            "body": sent,
            "isBase64Encoded": binary,
        }

    def answer(self, head: Head, body: bytes, arrived_ms: int) -> Answer:
        found = self.routes.match(head.path)
        if found is None:
            return Answer(404, list(self.problem_headers), NO_ROUTE)
        answer = self.app(self.event(head, body, arrived_ms, *found), LambdaContext())
        headers = list(answer.get("headers", {}).items())
        for name, values in (answer.get("multiValueHeaders") or {}).items():
            headers += [(name, value) for value in values]
        sent = answer.get("body") or ""
        raw = base64.b64decode(sent) if answer.get("isBase64Encoded") else sent.encode()
        return Answer(int(answer["statusCode"]), headers, raw)


def local(app: Any) -> Any:
    """`current_request` per thread, as chalice.local keeps it (this server answers on a
    pool of threads; Lambda runs one request per process)."""
    from chalice.local import CustomLocalChalice, LocalChalice

    if not isinstance(app, LocalChalice):
        CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
        app.__class__ = CustomLocalChalice
    return app


def chalice_app() -> Any:
    """The functions' Chalice app (functions/app.py)."""
    functions = str(REPO_ROOT / "functions")
    if functions not in sys.path:
        sys.path.insert(0, functions)
    import app as functions_app  # the Chalice project's app.py

    return local(functions_app.app)


def make_app() -> Gateway:
    """Granian's factory: one Gateway per worker process."""
    return Gateway(chalice_app())


def serve_in_thread(host: str, port: int, limits: Limits = LIMITS) -> serving.ThreadedServer:
    """The API on a thread of this process (the test suite's `api_url`)."""
    return serving.ThreadedServer(Gateway(chalice_app(), limits), host, port)


def main(factory: str = "infra.api_server:make_app") -> None:
    """Serve; `factory` is what each granian worker builds its Gateway with (the bench serves
    `bench.api_server:make_app`: the app and the bench's own routes)."""
    settings = settings_or_exit()
    parser = argparse.ArgumentParser(description="Serve the Chalice app locally.")
    parser.add_argument("--host", default=settings.api_host)
    parser.add_argument("--port", type=int, default=settings.api_port)
    parser.add_argument("--workers", type=int, default=1, help="processes sharing the port")
    args = parser.parse_args()
    chalice_app()  # configures the app's JSON logging, and fails here, not in each worker
    logging.getLogger("api").info(
        "api on http://%s:%s (%d workers)", args.host, args.port, args.workers
    )
    serving.run(factory, args.host, args.port, args.workers, LIMITS)


if __name__ == "__main__":
    main()
