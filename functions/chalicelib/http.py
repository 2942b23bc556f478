"""HTTP plumbing shared by every route: one `operation` decorator that parses, authenticates,
maps errors to problem+json, and records the route for the OpenAPI document."""

from __future__ import annotations

import hashlib
import logging
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import orjson
from chalice import Blueprint, Chalice, Response
from chalice.app import Request
from pydantic import BaseModel, ValidationError

from shared.adapters.db import DB_ERRORS
from shared.adapters.redis_store import StoreError, StoreUnavailable
from shared.domain.principal import ANONYMOUS, InvalidToken, KeysUnavailable, Principal, Viewer
from shared.logs import Event

if TYPE_CHECKING:
    from shared.adapters.tokens import Verifier
from shared.domain.errors import (
    PROBLEMS,
    DomainError,
    FieldError,
    ValidationFailed,
    problem_body,
)
from shared.services import moderation, rate_limits, users

from . import emf, runtime
from .schemas import ProblemOut

log = logging.getLogger("api")
MAX_BODY = 64 * 1024
JSON = "application/json"
PROBLEM = "application/problem+json"


# -- responses ---------------------------------------------------------------------------------


def _serialise(model: type[BaseModel], body: Any) -> str:
    """`body` through `model`: validated (strict, no undeclared member), then written from the
    model, so the JSON is exactly what the OpenAPI document says. Raises ValidationError."""
    instance = model.__pydantic_validator__.validate_python(body)
    return model.__pydantic_serializer__.to_json(instance).decode()


def _contract_breach(where: str, status: int, exc: ValidationError) -> Response:
    # A bug: the server was about to send a body its own document does not allow. Say so
    # in the log (where and what, never the values) and answer 500 instead.
    errors = [
        {"loc": ".".join(str(p) for p in e["loc"]), "type": e["type"], "msg": e["msg"]}
        for e in exc.errors(include_url=False, include_input=False)
    ]
    log.error(
        orjson.dumps(
            {
                "event": "response_breaks_contract",
                "operation": where,
                "status": status,
                "errors": errors,
            }
        ).decode()
    )
    return internal_error()


def internal_error() -> Response:
    _problem_code.set("internal_error")
    body = problem_body("internal_error", "An unexpected error occurred")
    return Response(
        body=orjson.dumps(body).decode(), status_code=500, headers={"Content-Type": PROBLEM}
    )


def problem_response(error: DomainError) -> Response:
    _problem_code.set(error.code)
    try:
        text = _serialise(ProblemOut, error.body())
    except ValidationError as exc:
        return _contract_breach(f"problem:{error.code}", error.status, exc)
    headers = {"Content-Type": PROBLEM}
    if "retryAfter" in error.extra:  # rate_limited, and a bid's outage (outcome_unknown...)
        headers["Retry-After"] = str(error.extra["retryAfter"])
    return Response(body=text, status_code=error.status, headers=headers)


def problem(code: str, detail: str | None = None, **extra: Any) -> Response:
    return problem_response(DomainError(code, detail, **extra))


def _validation(exc: ValidationError, where: str) -> ValidationFailed:
    errors = []
    for e in exc.errors(include_url=False):
        loc = [str(p) for p in e.get("loc", ())]
        name = ".".join(loc) if loc else where
        message = str(e.get("msg", "is invalid")).removeprefix("Value error, ")
        errors.append(FieldError(name, message))
    return ValidationFailed(errors)


# -- authentication ----------------------------------------------------------------------------

_verifier: Verifier | None = None
# The verified user of the current request, for the request log line.
_current_user: ContextVar[str | None] = ContextVar("current_user", default=None)
# The request's id (X-Request-Id, or one minted here): it travels with a bid into its outbox
# record and its feed entries, so the socket nodes' fan-out lines name it too.
_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
# The problem code the current request was answered with (None: it succeeded), for the metrics.
_problem_code: ContextVar[str | None] = ContextVar("problem_code", default=None)
# The operation's metric name when it declares one (`outcome_metrics`), for the EMF line.
_metric: ContextVar[str | None] = ContextVar("metric", default=None)
# A caller's X-Request-Id is used when it is a plain token; anything else (too long, spaces,
# control characters) is replaced, since it is written into logs and Redis.
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def request_id() -> str | None:
    """The current request's id (None outside a request)."""
    return _request_id.get()


def verifier() -> Verifier:
    global _verifier
    if _verifier is None:
        # PyJWT and cryptography load here, with the first token: an anonymous first
        # request (a cold start that only reads) never pays ~60 ms for them.
        from shared.adapters.tokens import Verifier

        _verifier = Verifier(runtime.settings())
    return _verifier


def authenticate(request: Request, *, required: bool) -> Principal | None:
    header = request.headers.get("authorization") or ""
    if not header:
        if required:
            raise DomainError("unauthenticated", "Send Authorization: Bearer <token>")
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise DomainError("unauthenticated", "Send Authorization: Bearer <token>")
    try:
        principal = verifier().verify(token.strip())
    except KeysUnavailable as exc:  # the JWKS URL is down and the kid is not cached
        log.warning(orjson.dumps({"event": "jwks_unavailable", "reason": str(exc)}).decode())
        raise DomainError("unavailable", "Sign-in keys cannot be checked now; retry") from None
    except InvalidToken as exc:
        log.info(orjson.dumps({"event": "token_refused", "reason": str(exc)}).decode())
        raise DomainError("unauthenticated", "The token is not valid") from None
    _current_user.set(principal.user_id)
    users.ensure_user(runtime.context(), principal)
    return principal


def caller(request: Request, principal: Principal | None) -> str:
    """Whose bucket a write spends: the user's, or the client address's when anonymous."""
    if principal is not None:
        return f"user:{principal.user_id}"
    identity = (request.context or {}).get("identity") or {}
    return f"ip:{identity.get('sourceIp') or 'unknown'}"


# -- the operation registry --------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    tag: str
    auth: str  # "none" | "optional" | "required"
    roles: tuple[str, ...]
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    errors: tuple[str, ...]
    media_type: str = JSON
    headers: tuple[str, ...] = ()
    # The write limiter's bucket group (None: not limited here). Bids keep their own bucket.
    rate_group: str | None = None
    # Documented responses besides the success and the problems (health's 503 body...).
    responses: tuple[tuple[int, type[BaseModel]], ...] = ()
    name: str = ""  # the view's name: the OpenAPI operationId
    # The largest body the route takes (every JSON route: MAX_BODY), and the media types of a
    # raw (binary) body it reads itself (a photo upload), for the document.
    max_body: int = MAX_BODY
    raw_body: tuple[str, ...] = ()
    # Answers carry an ETag and honour If-None-Match (304), see `revalidated`.
    etag: bool = False

    def model_for(self, status: int) -> type[BaseModel] | None:
        """The model a JSON body answered with `status` is serialised through."""
        if status == self.status:
            return self.response
        return next((model for code, model in self.responses if code == status), None)


@dataclass(frozen=True)
class Reply:
    """A view's JSON body with another of its documented statuses (health's 503)."""

    body: Any
    status: int


@dataclass
class Call:
    """What a view receives: the parsed request."""

    request: Request
    principal: Principal | None
    body: Any = None
    query: Any = None
    params: dict[str, str] = field(default_factory=dict)

    @property
    def user(self) -> Principal:
        if self.principal is None:  # guarded by auth="required"
            raise DomainError("unauthenticated")
        return self.principal

    @property
    def viewer(self) -> Viewer:
        """Who asks, as the services see it (anonymous without a token)."""
        p = self.principal
        return Viewer(p.user_id, p.role) if p else ANONYMOUS


OPERATIONS: list[Operation] = []


def parse_body(request: Request, model: type[BaseModel]) -> BaseModel:
    raw = request.raw_body or b""
    if len(raw) > MAX_BODY:
        raise DomainError("payload_too_large", f"Bodies are limited to {MAX_BODY} bytes")
    if not raw.strip():
        raw = b"{}"
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ValidationFailed([FieldError("body", "is not valid JSON")]) from None
    if not isinstance(data, dict):
        raise ValidationFailed([FieldError("body", "must be a JSON object")])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _validation(exc, "body") from None


def _parse_query(request: Request, model: type[BaseModel]) -> BaseModel:
    params = dict(request.query_params or {})
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        raise _validation(exc, "query") from None


def render(op: Operation, result: Any) -> Response:
    """A view's result as the JSON response its operation declares, through the model of its
    status; a body that breaks the model (or has none) is a 500, never sent."""
    body, status = (
        (result.body, result.status) if isinstance(result, Reply) else (result, op.status)
    )
    model = op.model_for(status)
    if model is None:
        log.error(
            orjson.dumps(
                {"event": "response_without_model", "operation": op.name, "status": status}
            ).decode()
        )
        return internal_error()
    try:
        text = _serialise(model, body)
    except ValidationError as exc:
        return _contract_breach(op.name, status, exc)
    return Response(body=text, status_code=status, headers={"Content-Type": JSON})


def operation(
    bp: Blueprint | Chalice,
    method: str,
    path: str,
    *,
    summary: str,
    tag: str,
    auth: str = "none",
    roles: tuple[str, ...] = (),
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    errors: tuple[str, ...] = (),
    media_type: str = JSON,
    headers: tuple[str, ...] = (),
    parse: bool = True,
    rate_limited: bool | None = None,
    responses: tuple[tuple[int, type[BaseModel]], ...] = (),
    suspension_checked_by_view: bool = False,
    max_body: int = MAX_BODY,
    raw_body: tuple[str, ...] = (),
    outcome_metrics: str | None = None,
    etag: bool = False,
) -> Callable[[Callable[[Call], Any]], Callable[..., Response]]:
    """Register a route. `parse=False` leaves the body to the view (`parse_body`), for a
    route that must refuse before it reads anything. Writes (any method but GET) spend a
    token of the caller's write bucket for the route's tag unless `rate_limited=False`, and a
    suspended caller's write is refused (`account_suspended`) in that same round trip; a
    write without the limiter checks it on its own, unless the view does (the bid script).
    `outcome_metrics="Bid"`: its request line carries the EMF metrics BidLatency, BidAccepted
    and BidRefused (by problem code), see `emf.py`. `etag=True` (a read): see `revalidated`."""
    limited = method != "GET" if rate_limited is None else rate_limited
    op = Operation(
        method,
        path,
        summary,
        tag,
        auth,
        roles,
        body,
        query,
        response,
        status,
        errors,
        media_type,
        headers,
        tag if limited else None,
        responses,
        max_body=max_body,
        raw_body=raw_body,
        etag=etag,
    )

    def decorate(view: Callable[[Call], Any]) -> Callable[..., Response]:
        registered = replace(op, name=view.__name__)
        OPERATIONS.append(registered)

        def handler(**params: str) -> Response:
            request = bp.current_request
            if outcome_metrics is not None:
                _metric.set(outcome_metrics)
            try:
                if (
                    request.method in {"POST", "PUT", "PATCH"}
                    and len(request.raw_body or b"") > max_body
                ):
                    raise DomainError(
                        "payload_too_large", f"Bodies are limited to {max_body} bytes"
                    )
                principal = None
                if auth != "none":
                    principal = authenticate(request, required=auth == "required")
                if roles and (principal is None or principal.role not in roles):
                    raise DomainError("forbidden", f"This needs the role {' or '.join(roles)}")
                if op.rate_group is not None:
                    rate_limits.take_write_token(
                        runtime.context(),
                        op.rate_group,
                        caller(request, principal),
                        principal.user_id if principal is not None else None,
                    )
                elif principal is not None and method != "GET" and not suspension_checked_by_view:
                    moderation.refuse_if_suspended(runtime.context(), principal.user_id)
                call = Call(request, principal, params=params)
                if query is not None:
                    call.query = _parse_query(request, query)
                if body is not None and parse:
                    call.body = parse_body(request, body)
                result = view(call)
            except DomainError as exc:
                return problem_response(exc)
            except (*DB_ERRORS, StoreUnavailable) as exc:  # a pool timeout too: 503, not 500
                log.warning(
                    orjson.dumps({"event": "dependency_down", "error": str(exc)[:300]}).decode()
                )
                return problem("unavailable", "A dependency is unavailable; retry shortly")
            except StoreError as exc:
                log.error(orjson.dumps({"event": "redis_error", "error": str(exc)[:300]}).decode())
                return problem("unavailable", "The bid store refused the request; retry")
            if isinstance(result, Response):  # a PDF, a page, the document itself
                return result
            response = render(registered, result)
            if etag:
                return revalidated(response, request.headers.get("if-none-match"), principal)
            return response

        handler.__name__ = view.__name__
        handler.__doc__ = view.__doc__
        bp.route(path, methods=[method], content_types=["*/*"])(handler)
        return handler

    return decorate


# -- conditional reads ------------------------------------------------------------------------


# The moment of the answer (for clients' clock samples) is no part of what the auction is.
_SERVER_TIME = re.compile(rb'"serverTime":"[^"]*"')


def entity_tag(body: bytes) -> str:
    """A weak validator (RFC 9110 8.8.1) of a JSON answer: the hash of its bytes less its
    `serverTime`, so that two answers differing only in the moment they were made match
    (they are the same auction). A JSON string holds no bare quote, so the pattern cannot
    cut into another field."""
    return 'W/"' + hashlib.blake2b(_SERVER_TIME.sub(b"", body), digest_size=16).hexdigest() + '"'


def none_match(header: str | None, tag: str) -> bool:
    """Whether If-None-Match names `tag` (or is `*`), by the weak comparison a GET uses
    (RFC 9110 13.1.2: `W/"x"` and `"x"` match)."""
    if not header:
        return False
    wanted = tag.removeprefix("W/")
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == wanted:
            return True
    return False


def revalidated(
    response: Response, if_none_match: str | None, viewer: Principal | None
) -> Response:
    """An auction read, made revalidatable: tagged with the hash of its body, answered 304
    with no body when the client's tag is still current. Reconnecting clients and CDNs then
    ask "still this?" and get a few bytes back, not the auction again; the answer is never
    served stale (`no-cache`: every use revalidates), and a signed-in viewer's (it says
    whether they watch) stays in their own cache (`private`, varying by Authorization).
    The tag changes exactly when the answer would, but for its `serverTime` (a revalidated
    copy keeps the moment it was first made: clocks are sampled from fresh answers)."""
    if response.status_code != 200:
        return response
    body = response.body if isinstance(response.body, bytes) else str(response.body).encode()
    tag = entity_tag(body)
    headers = {
        "ETag": tag,
        "Cache-Control": "private, no-cache" if viewer is not None else "no-cache",
        # By who asks, and from where: a shared cache must not hand an answer made without an
        # Origin (no CORS grant) to a page that sent one.
        "Vary": "Authorization, Origin",
    }
    if none_match(if_none_match, tag):
        return Response(body="", status_code=304, headers=headers)
    response.headers.update(headers)
    return response


# -- cross-cutting: CORS, security headers, request logs, Chalice's own errors -----------------

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
    if not origin:
        return {}
    allowed = runtime.settings().allowed_origins
    if "*" not in allowed and origin.rstrip("/") not in allowed:
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Expose-Headers": "Retry-After, X-Request-Id",
        "Vary": "Origin",
    }


def preflight_headers(origin: str | None, requested: str | None) -> dict[str, str]:
    headers = cors_headers(origin)
    if not headers:
        return {"Vary": "Origin"}
    return {
        **headers,
        "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
        "Access-Control-Allow-Headers": requested
        or "Authorization, Content-Type, Idempotency-Key, X-Request-Id",
        "Access-Control-Max-Age": "600",
    }


def install(app: Chalice) -> None:
    """Register the middleware and an OPTIONS (CORS preflight) route for every path."""
    for path in sorted({op.path for op in OPERATIONS}):

        def preflight(**_: str) -> Response:
            request = app.current_request
            return Response(
                body="",
                status_code=204,
                headers=preflight_headers(
                    request.headers.get("origin"),
                    request.headers.get("access-control-request-headers"),
                ),
            )

        preflight.__name__ = f"preflight_{len(app.routes)}"
        app.route(path, methods=["OPTIONS"], content_types=["*/*"])(preflight)

    @app.middleware("http")
    def around_every_request(
        event: Request, get_response: Callable[[Request], Response]
    ) -> Response:
        started = time.perf_counter()
        given = event.headers.get("x-request-id")
        request_id = given if given and REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        _request_id.set(request_id)
        _current_user.set(None)
        _problem_code.set(None)
        _metric.set(None)
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
        metric = _metric.get()
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
                userId=_current_user.get(),
            )
            if metric is not None:
                code = _problem_code.get() if response.status_code >= 400 else None
                if response.status_code >= 400 and code is None:
                    code = _CHALICE_CODES.get(response.status_code, "internal_error")
                line.update(emf.outcome_members(metric, ms, code, int(time.time() * 1000)))
            # Written whatever LOG_LEVEL says when it carries metrics: a quieter log level must
            # not switch the bid metrics off.
            log.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, line, None, None))
        return response
