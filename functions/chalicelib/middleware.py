"""What every request goes through besides its view: CORS (preflight routes and the grant
headers), the security headers, the request log line (with the EMF metrics of an operation
that declares them), and Chalice's own error answers said as problems."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable

import orjson
from chalice.app import Chalice, Request, Response

from shared.domain.cors import cors_grant
from shared.domain.errors import PROBLEMS
from shared.logs import Event

from . import emf, request_state, runtime
from .operations import OPERATIONS
from .problems import PROBLEM, internal_error, problem

log = logging.getLogger("api")

_CHALICE_CODES = {
    400: "bad_request",
    403: "not_found",  # API Gateway's "Missing Authentication Token": no such route
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    500: "internal_error",
}


def _rewrite_chalice_error(response: Response) -> Response:
    """Chalice answers some requests itself ({"Code": ..., "Message": ...}); say it as a problem."""
    if response.status_code < 400:
        return response
    content_type = {k.lower(): v for k, v in response.headers.items()}.get("content-type", "")
    if PROBLEM in content_type:
        return response
    body = response.body
    if isinstance(body, str):
        try:
            body = orjson.loads(body)
        except orjson.JSONDecodeError:
            body = None
    if isinstance(body, dict) and "Code" in body:
        code = _CHALICE_CODES.get(response.status_code, "bad_request")
        fixed = problem(code, str(body.get("Message") or PROBLEMS[code][1]))
        if "Allow" in response.headers:
            fixed.headers["Allow"] = response.headers["Allow"]
        return fixed
    return response


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}


def cors_headers(origin: str | None) -> dict[str, str]:
    """The grant for a page at `origin` (`shared.domain.cors`: named origins with credentials,
    `*` as the standard wildcard without them, `null` never)."""
    grant = cors_grant(origin, runtime.settings().allowed_origins)
    if grant is None:
        return {}
    headers = {
        "Access-Control-Allow-Origin": grant.allow_origin,
        "Access-Control-Expose-Headers": "Retry-After, X-Request-Id",
        "Vary": "Origin",
    }
    if grant.credentials:
        headers["Access-Control-Allow-Credentials"] = "true"
    return headers


def preflight_headers(origin: str | None, requested: str | None) -> dict[str, str]:
    headers = cors_headers(origin)
    if not headers:
        return {"Vary": "Origin"}
    return {
        **headers,
        "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
        "Access-Control-Allow-Headers": requested
        or "Authorization, Content-Type, Idempotency-Key, X-Request-Id, X-Device-Id",
        "Access-Control-Max-Age": "600",
    }


def install(app: Chalice) -> None:
    """Register the middleware and an OPTIONS (CORS preflight) route for every path."""
    for path in sorted({op.path for op in OPERATIONS}):

        def preflight(**_: str) -> Response:
            request = app.current_request
            assert request is not None  # Chalice sets it before it calls a view
            headers: dict[str, str | list[str]] = {
                **preflight_headers(
                    request.headers.get("origin"),
                    request.headers.get("access-control-request-headers"),
                )
            }
            return Response(body="", status_code=204, headers=headers)

        preflight.__name__ = f"preflight_{len(app.routes)}"
        app.route(path, methods=["OPTIONS"], content_types=["*/*"])(preflight)

    @app.middleware("http")
    def around_every_request(
        event: Request, get_response: Callable[[Request], Response]
    ) -> Response:
        started = time.perf_counter()
        given = event.headers.get("x-request-id")
        request_id = given if given and request_state.REQUEST_ID.fullmatch(given) else None
        request_id = request_id or uuid.uuid4().hex
        request_state.current_request_id.set(request_id)
        request_state.current_user.set(None)
        request_state.problem_code.set(None)
        request_state.metric.set(None)
        try:
            response = get_response(event)
        except Exception:  # a bug: say so plainly, never leak a trace
            log.exception("unhandled error")
            response = internal_error()
        response = _rewrite_chalice_error(response)
        for name, value in SECURITY_HEADERS.items():
            # A route may set its own (the docs page's CSP allows its inline styles).
            response.headers.setdefault(name, value)
        if runtime.settings().app_env == "production":
            response.headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        cors = cors_headers(event.headers.get("origin"))
        if "Vary" in cors and "Vary" in response.headers:  # a revalidatable read varies too
            named = [v.strip() for v in f"{response.headers['Vary']},{cors['Vary']}".split(",")]
            cors["Vary"] = ", ".join(dict.fromkeys(v for v in named if v))
        response.headers.update(cors)
        response.headers["X-Request-Id"] = request_id
        metric = request_state.metric.get()
        if metric is not None or log.isEnabledFor(logging.INFO):
            ms = round((time.perf_counter() - started) * 1000, 2)
            line = Event(
                event="request",
                requestId=request_id,
                method=event.method,
                path=(event.context or {}).get("path") or event.path,
                route=event.path,
                status=response.status_code,
                ms=ms,
                userId=request_state.current_user.get(),
            )
            if metric is not None:
                code = request_state.problem_code.get() if response.status_code >= 400 else None
                if response.status_code >= 400 and code is None:
                    code = _CHALICE_CODES.get(response.status_code, "internal_error")
                line.update(emf.outcome_members(metric, ms, code, int(time.time() * 1000)))
            # Written whatever LOG_LEVEL says when it carries metrics: a quieter log level must
            # not switch the bid metrics off.
            log.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, line, (), None))
        return response
