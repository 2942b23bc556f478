"""Moderation (admin): suspend and unsuspend users, the user list, the audit log.
Every action is written to the audit log in the transaction that makes it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint

from shared.domain.vocabulary import Role

from .. import runtime
from ..operations import Call, operation

if TYPE_CHECKING:
    from ..schemas.api import AuditQuery, Suspend, UserListQuery


bp = Blueprint(__name__)

ADMIN = (Role.ADMIN.value,)


@operation(
    bp,
    "GET",
    "/api/admin/users",
    summary="Users, newest first (q: part of the name or email; suspended: true | false)",
    tag="admin",
    auth="required",
    roles=ADMIN,
    query="UserListQuery",
    response="AdminUserList",
    errors=("unauthenticated", "forbidden", "validation_error"),
)
def list_users(call: Call) -> dict[str, Any]:
    from shared.services import moderation

    q: UserListQuery = call.query
    return moderation.list_users(
        runtime.context(), q=q.q, suspended=q.suspended, limit=q.limit, cursor=q.cursor
    )


@operation(
    bp,
    "POST",
    "/api/admin/users/{user_id}/suspend",
    summary="Suspend a user: their writes get 403 account_suspended at once; reads still work",
    tag="admin",
    auth="required",
    roles=ADMIN,
    body="Suspend",
    response="AdminUserOut",
    errors=("unauthenticated", "forbidden", "not_found", "validation_error"),
)
def suspend_user(call: Call) -> dict[str, Any]:
    from shared.services import moderation

    b: Suspend = call.body
    return moderation.suspend(runtime.context(), call.viewer, call.params["user_id"], b.reason)


@operation(
    bp,
    "POST",
    "/api/admin/users/{user_id}/unsuspend",
    summary="Lift a user's suspension",
    tag="admin",
    auth="required",
    roles=ADMIN,
    response="AdminUserOut",
    errors=("unauthenticated", "forbidden", "not_found"),
)
def unsuspend_user(call: Call) -> dict[str, Any]:
    from shared.services import moderation

    return moderation.unsuspend(runtime.context(), call.viewer, call.params["user_id"])


@operation(
    bp,
    "GET",
    "/api/admin/audit",
    summary="The audit log, newest first, by actor, action and auction",
    tag="admin",
    auth="required",
    roles=ADMIN,
    query="AuditQuery",
    response="AuditList",
    errors=("unauthenticated", "forbidden", "validation_error"),
)
def list_audit(call: Call) -> dict[str, Any]:
    from shared.services import moderation

    q: AuditQuery = call.query
    return moderation.list_audit(
        runtime.context(),
        actor_id=q.actorId,
        action=q.action,
        auction_id=q.auctionId,
        limit=q.limit,
        cursor=q.cursor,
    )
