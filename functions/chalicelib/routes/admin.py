"""Admin routes: every auction, start one now, reset one to a new schedule. Each action is
written to the audit log in the same transaction as the change."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint

from shared.domain.vocabulary import Role

from .. import runtime
from ..operations import Call, operation
from .auctions import auction_id

if TYPE_CHECKING:
    from ..schemas.api import AuctionListQuery, ResetAuction


bp = Blueprint(__name__)

ADMIN = (Role.ADMIN.value,)


@operation(
    bp,
    "GET",
    "/api/admin/auctions",
    summary="Every auction, newest first",
    tag="admin",
    auth="required",
    roles=ADMIN,
    query="AuctionListQuery",
    response="AuctionList",
    errors=("unauthenticated", "forbidden", "validation_error"),
)
def list_all_auctions(call: Call) -> dict[str, Any]:
    from shared.services import auctions

    q: AuctionListQuery = call.query
    return auctions.list_auctions(
        runtime.context(), call.viewer, status=q.status, limit=q.limit, cursor=q.cursor
    )


@operation(
    bp,
    "POST",
    "/api/admin/auctions/{auction_id}/start",
    summary="Start a scheduled auction now: live from now for durationMins",
    tag="admin",
    auth="required",
    roles=ADMIN,
    response="AuctionOut",
    errors=(
        "unauthenticated",
        "forbidden",
        "not_found",
        "decision_not_allowed",
        "rate_limited",
        "unavailable",
    ),
)
def start_auction(call: Call) -> dict[str, Any]:
    from shared.services import admin_actions, auctions

    aid = auction_id(call)
    ctx = runtime.context()
    admin_actions.start_now(ctx, aid, actor_id=call.user.user_id)
    return auctions.read_auction(ctx, str(aid), call.viewer)


@operation(
    bp,
    "POST",
    "/api/admin/auctions/{auction_id}/reset",
    summary="Reset an auction to scheduled at goLiveAt; earlier bids are kept but void",
    tag="admin",
    auth="required",
    roles=ADMIN,
    body="ResetAuction",
    response="AuctionOut",
    errors=(
        "unauthenticated",
        "forbidden",
        "not_found",
        "decision_not_allowed",
        "validation_error",
        "payload_too_large",
        "rate_limited",
        "unavailable",
    ),
)
def reset_auction(call: Call) -> dict[str, Any]:
    from shared.services import admin_actions, auctions

    aid = auction_id(call)
    body: ResetAuction = call.body
    ctx = runtime.context()
    admin_actions.reset(ctx, aid, body.goLiveAt, actor_id=call.user.user_id)
    return auctions.read_auction(ctx, str(aid), call.viewer)
