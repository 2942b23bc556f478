"""Problem responses (application/problem+json): the one way the API says no, built from the
domain's problem table and serialised through the response model like every other body."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from chalice.app import Response
from pydantic import BaseModel, ValidationError

from shared.domain.errors import DomainError, FieldError, ValidationFailed, problem_body

from . import request_state
from .schemas.base import ProblemOut

log = logging.getLogger("api")
JSON = "application/json"
PROBLEM = "application/problem+json"


def serialise(model: type[BaseModel], body: Any) -> str:
    """`body` through `model`: validated (strict, no undeclared member), then written from the
    model, so the JSON is exactly what the OpenAPI document says. Raises ValidationError."""
    instance = model.__pydantic_validator__.validate_python(body)
    return model.__pydantic_serializer__.to_json(instance).decode()


def contract_breach(where: str, status: int, exc: ValidationError) -> Response:
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
    request_state.problem_code.set("internal_error")
    body = problem_body("internal_error", "An unexpected error occurred")
    return Response(
        body=orjson.dumps(body).decode(), status_code=500, headers={"Content-Type": PROBLEM}
    )


def problem_response(error: DomainError) -> Response:
    request_state.problem_code.set(error.code)
    try:
        text = serialise(ProblemOut, error.body())
    except ValidationError as exc:
        return contract_breach(f"problem:{error.code}", error.status, exc)
    headers: dict[str, str | list[str]] = {"Content-Type": PROBLEM}
    if "retryAfter" in error.extra:  # rate_limited, and a bid's outage (outcome_unknown...)
        headers["Retry-After"] = str(error.extra["retryAfter"])
    return Response(body=text, status_code=error.status, headers=headers)


def problem(code: str, detail: str | None = None, **extra: Any) -> Response:
    return problem_response(DomainError(code, detail, **extra))


def validation_failed(exc: ValidationError, where: str) -> ValidationFailed:
    """A pydantic refusal as the API's validation problem: one error per field."""
    errors = []
    for e in exc.errors(include_url=False):
        loc = [str(p) for p in e.get("loc", ())]
        name = ".".join(loc) if loc else where
        message = str(e.get("msg", "is invalid")).removeprefix("Value error, ")
        errors.append(FieldError(name, message))
    return ValidationFailed(errors)
