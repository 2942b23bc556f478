"""The signed-in user's notifications."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint

from .. import runtime
from ..operations import Call, operation

if TYPE_CHECKING:
    from ..schemas.api import NotificationQuery


bp = Blueprint(__name__)


@operation(
    bp,
    "GET",
    "/api/notifications",
    summary="My notifications, newest first, with the unread count",
    tag="notifications",
    auth="required",
    query="NotificationQuery",
    response="NotificationList",
    errors=("unauthenticated", "validation_error"),
)
def list_notifications(call: Call) -> dict[str, Any]:
    from shared.services import notifications

    q: NotificationQuery = call.query
    return notifications.list_for(
        runtime.context(),
        call.user.user_id,
        unread_only=q.unreadOnly,
        limit=q.limit,
        cursor=q.cursor,
    )


@operation(
    bp,
    "POST",
    "/api/notifications/{notification_id}/read",
    summary="Mark one of my notifications read",
    tag="notifications",
    auth="required",
    response="NotificationOut",
    errors=("unauthenticated", "not_found"),
)
def mark_read(call: Call) -> dict[str, Any]:
    from shared.services import notifications

    return notifications.mark_read(
        runtime.context(), call.user.user_id, call.params["notification_id"]
    )


@operation(
    bp,
    "POST",
    "/api/notifications/read-all",
    summary="Mark every unread notification of mine read",
    tag="notifications",
    auth="required",
    response="ReadAllOut",
    errors=("unauthenticated",),
)
def mark_all_read(call: Call) -> dict[str, Any]:
    from shared.services import notifications

    return {"updated": notifications.mark_all_read(runtime.context(), call.user.user_id)}
