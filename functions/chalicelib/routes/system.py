"""Health, the caller, and development sign-in."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from shared.domain.errors import DomainError

from .. import runtime
from ..auth import verifier
from ..operations import Call, Reply, operation, parse_body

bp = Blueprint(__name__)


@operation(
    bp,
    "GET",
    "/health",
    summary="Liveness and dependencies",
    tag="system",
    response="HealthOut",
    responses=((503, "HealthOut"),),  # the same body, naming the part that is down
)
def get_health(call: Call) -> Reply:
    from shared.services import health

    status, body = health.check(runtime.context())
    return Reply(body, status)


@operation(
    bp,
    "GET",
    "/api/me",
    summary="The signed-in user",
    tag="system",
    auth="required",
    response="UserOut",
    errors=("unauthenticated",),
)
def get_me(call: Call) -> dict[str, Any]:
    """The role as the record holds it now (a buyer who just started selling reads seller)."""
    from shared.services import users

    return users.user_view(users.refreshed(runtime.context(), call.user))


@operation(
    bp,
    "POST",
    "/api/dev/login",
    summary="Development sign-in (not in production)",
    tag="system",
    body="DevLogin",
    response="TokenOut",
    errors=("not_found", "validation_error"),
    parse=False,
    # Development only, and every local client shares one address: a suite signing in fifty
    # bidders must not be told to wait.
    rate_limited=False,
)
def dev_login(call: Call) -> dict[str, Any]:
    if not runtime.settings().dev_login_enabled:
        raise DomainError("not_found", "Dev login exists only in development without auth keys")
    from ..schemas.api import DevLogin

    body = parse_body(call.request, DevLogin)
    assert isinstance(body, DevLogin)
    name = body.name or body.email.split("@")[0]
    return {"token": verifier().mint_dev_token(body.email, name, body.role)}
