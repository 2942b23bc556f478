"""The operation registry: one `operation` decorator that parses, authenticates, limits,
maps errors to problem+json and renders through the response model, and records the route
for the OpenAPI document (`OPERATIONS`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import orjson
from chalice.app import Blueprint, Chalice, Request, Response
from pydantic import BaseModel, ValidationError

from shared.adapters.db import db_errors
from shared.adapters.redis_store import StoreError, StoreUnavailable
from shared.domain.errors import DomainError, FieldError, ValidationFailed
from shared.domain.principal import ANONYMOUS, Principal, Viewer
from shared.domain.sources import DEVICE_HEADER, Mark, marks_of
from shared.services import users

from . import request_state, runtime, schemas
from .auth import authenticate, caller
from .conditional import revalidated
from .problems import (
    JSON,
    contract_breach,
    internal_error,
    problem,
    problem_response,
    serialise,
    validation_failed,
)

log = logging.getLogger("api")
MAX_BODY = 64 * 1024


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    tag: str
    auth: str  # "none" | "optional" | "required"
    roles: tuple[str, ...]
    # The models, by name (`chalicelib.schemas`): found when first needed, so that importing
    # the routes builds none of them (see `body`, `query`, `response` and `responses` below).
    body_model: schemas.ModelRef | None
    query_model: schemas.ModelRef | None
    response_model: schemas.ModelRef | None
    status: int
    errors: tuple[str, ...]
    media_type: str = JSON
    headers: tuple[str, ...] = ()
    # The write limiter's bucket group (None: not limited here). Bids keep their own bucket.
    rate_group: str | None = None
    # Documented responses besides the success and the problems (health's 503 body...).
    response_models: tuple[tuple[int, schemas.ModelRef], ...] = ()
    name: str = ""  # the view's name: the OpenAPI operationId
    # The largest body the route takes (every JSON route: MAX_BODY), and the media types of a
    # raw (binary) body it reads itself (a photo upload), for the document.
    max_body: int = MAX_BODY
    raw_body: tuple[str, ...] = ()
    # Answers carry an ETag and honour If-None-Match (304), see `conditional.revalidated`.
    etag: bool = False

    @property
    def body(self) -> type[BaseModel] | None:
        return schemas.model(self.body_model) if self.body_model else None

    @property
    def query(self) -> type[BaseModel] | None:
        return schemas.model(self.query_model) if self.query_model else None

    @property
    def response(self) -> type[BaseModel] | None:
        return schemas.model(self.response_model) if self.response_model else None

    @property
    def responses(self) -> tuple[tuple[int, type[BaseModel]], ...]:
        return tuple((status, schemas.model(name)) for status, name in self.response_models)

    def model_for(self, status: int) -> type[BaseModel] | None:
        """The model a JSON body answered with `status` is serialised through."""
        if status == self.status:
            return self.response
        name = next((name for code, name in self.response_models if code == status), None)
        return schemas.model(name) if name else None


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
        raise validation_failed(exc, "body") from None


def _parse_query(request: Request, model: type[BaseModel]) -> BaseModel:
    params = dict(request.query_params or {})
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        raise validation_failed(exc, "query") from None


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
        text = serialise(model, body)
    except ValidationError as exc:
        return contract_breach(op.name, status, exc)
    return Response(body=text, status_code=status, headers={"Content-Type": JSON})


def source_marks(request: Request) -> tuple[Mark, ...]:
    """Where a request came from (API Gateway's `requestContext.identity.sourceIp` and the web
    app's device header), as the salted hashes the shill signals compare (never the address or
    the id themselves)."""
    identity = (request.context or {}).get("identity") or {}
    return marks_of(
        runtime.settings().source_key,
        identity.get("sourceIp"),
        request.headers.get(DEVICE_HEADER.lower()),
    )


def remember_source(request: Request, user_id: str) -> None:
    """A seller's write's source marks, kept for the shill signals (a bid's ride in its
    record instead: `bidding.place_bid(marks=...)`)."""
    from shared.services import sources

    sources.remember_now(runtime.context(), user_id, source_marks(request))


def _dependency_down() -> tuple[type[BaseException], ...]:
    """What a dependency's outage raises: answered 503 (a pool timeout too), never 500.
    Evaluated as an exception is matched: SQLAlchemy's errors once SQLAlchemy is loaded."""
    return (*db_errors(), StoreUnavailable)


def operation(
    bp: Blueprint | Chalice,
    method: str,
    path: str,
    *,
    summary: str,
    tag: str,
    auth: str = "none",
    roles: tuple[str, ...] = (),
    body: schemas.ModelRef | None = None,
    query: schemas.ModelRef | None = None,
    response: schemas.ModelRef | None = None,
    status: int = 200,
    errors: tuple[str, ...] = (),
    media_type: str = JSON,
    headers: tuple[str, ...] = (),
    parse: bool = True,
    rate_limited: bool | None = None,
    responses: tuple[tuple[int, schemas.ModelRef], ...] = (),
    suspension_checked_by_view: bool = False,
    max_body: int = MAX_BODY,
    raw_body: tuple[str, ...] = (),
    outcome_metrics: str | None = None,
    etag: bool = False,
    remembers_source: bool = False,
) -> Callable[[Callable[[Call], Any]], Callable[..., Response]]:
    """Register a route. `parse=False` leaves the body to the view (`parse_body`), for a
    route that must refuse before it reads anything. Writes (any method but GET) spend a
    token of the caller's write bucket for the route's tag unless `rate_limited=False`, and a
    suspended caller's write is refused (`account_suspended`) in that same round trip; a
    write without the limiter checks it on its own, unless the view does (the bid script).
    `outcome_metrics="Bid"`: its request line carries the EMF metrics BidLatency, BidAccepted
    and BidRefused (by problem code), see `emf.py`. `etag=True` (a read): see
    `conditional.revalidated`. `remembers_source=True` (a seller's writes): after a success,
    the caller's source network and device id are kept as salted hashes for the shill signals
    (`remember_source`)."""
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
            assert request is not None  # Chalice sets it before it calls a view
            if outcome_metrics is not None:
                request_state.metric.set(outcome_metrics)
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
                if roles and principal is not None and principal.role not in roles:
                    # The role may have changed since this process cached it (a buyer who
                    # just started selling): read the record once more before refusing.
                    principal = users.refreshed(runtime.context(), principal)
                if roles and (principal is None or principal.role not in roles):
                    raise DomainError("forbidden", f"This needs the role {' or '.join(roles)}")
                if op.rate_group is not None:
                    from shared.services import rate_limits

                    rate_limits.take_write_token(
                        runtime.context(),
                        op.rate_group,
                        caller(request, principal),
                        principal.user_id if principal is not None else None,
                    )
                elif principal is not None and method != "GET" and not suspension_checked_by_view:
                    from shared.services import moderation

                    moderation.refuse_if_suspended(runtime.context(), principal.user_id)
                call = Call(request, principal, params=params)
                if query is not None:
                    call.query = _parse_query(request, schemas.model(query))
                if body is not None and parse:
                    call.body = parse_body(request, schemas.model(body))
                result = view(call)
                if remembers_source and principal is not None:
                    remember_source(request, principal.user_id)
            except DomainError as exc:
                return problem_response(exc)
            except _dependency_down() as exc:
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
