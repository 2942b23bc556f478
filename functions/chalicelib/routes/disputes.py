"""Disputes: the buyer opens one on a paid sale, the seller replies, an admin resolves it
(refund: the sale is void with a credit note; release: it stands). Services are imported
inside the handlers (lean cold starts)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint

from shared.domain.vocabulary import DisputeOutcome, DisputeReason, DisputeStatus, Role

from .. import runtime
from ..operations import Call, operation
from .auctions import auction_id

if TYPE_CHECKING:
    from ..schemas.api import DisputeListQuery, DisputeReplyIn, OpenDispute, ResolveDispute


bp = Blueprint(__name__)

ADMIN = (Role.ADMIN.value,)


@operation(
    bp,
    "POST",
    "/api/auctions/{auction_id}/dispute",
    summary="The buyer opens a dispute on a paid sale: not_received or not_as_described",
    tag="disputes",
    auth="required",
    body="OpenDispute",
    response="DisputeOut",
    status=201,
    errors=(
        "unauthenticated",
        "forbidden",
        "not_found",
        "dispute_not_allowed",
        "dispute_exists",
        "validation_error",
        "payload_too_large",
    ),
)
def open_dispute(call: Call) -> dict[str, Any]:
    """Within DISPUTE_WINDOW_SECS of the payment (the buyer's mark_paid, else the seller's
    confirmation); a sale that is not paid, or past the window: 409 `dispute_not_allowed`.
    One per sale: a second, open or resolved, is 409 `dispute_exists`. Both sides are
    notified and emailed; audited."""
    from shared.services import disputes

    b: OpenDispute = call.body
    return disputes.open_dispute(
        runtime.context(), auction_id(call), call.viewer, DisputeReason(b.reason), b.detail
    )


@operation(
    bp,
    "POST",
    "/api/auctions/{auction_id}/dispute/reply",
    summary="The seller replies to the auction's open dispute",
    tag="disputes",
    auth="required",
    body="DisputeReplyIn",
    response="DisputeOut",
    errors=(
        "unauthenticated",
        "forbidden",
        "not_found",
        "dispute_not_open",
        "validation_error",
        "payload_too_large",
    ),
)
def reply_to_dispute(call: Call) -> dict[str, Any]:
    """As often as needed while it is open (a resolved one: 409 `dispute_not_open`; none:
    404). Both sides are notified and emailed; audited."""
    from shared.services import disputes

    b: DisputeReplyIn = call.body
    return disputes.reply(runtime.context(), auction_id(call), call.viewer, b.message)


@operation(
    bp,
    "POST",
    "/api/auctions/{auction_id}/dispute/resolve",
    summary="An admin resolves the auction's open dispute: refund or release",
    tag="disputes",
    auth="required",
    roles=ADMIN,
    body="ResolveDispute",
    response="DisputeOut",
    errors=(
        "unauthenticated",
        "forbidden",
        "not_found",
        "dispute_not_open",
        "refund_not_allowed",
        "validation_error",
        "payload_too_large",
    ),
)
def resolve_dispute(call: Call) -> dict[str, Any]:
    """`refund`: the sale is void, a credit note cancels its invoice, the payment is
    `refunded` and the auction closes (`refunded`); a sale not paid (or already void) cannot
    be refunded (409 `refund_not_allowed`). `release`: the sale stands. Both sides are
    notified and emailed; audited."""
    from shared.services import disputes

    b: ResolveDispute = call.body
    return disputes.resolve(
        runtime.context(), auction_id(call), call.viewer, DisputeOutcome(b.outcome), b.note
    )


@operation(
    bp,
    "GET",
    "/api/admin/disputes",
    summary="Disputes, open ones oldest first (status: open | resolved)",
    tag="admin",
    auth="required",
    roles=ADMIN,
    query="DisputeListQuery",
    response="DisputeList",
    errors=("unauthenticated", "forbidden", "validation_error"),
)
def list_disputes(call: Call) -> dict[str, Any]:
    from shared.services import disputes

    q: DisputeListQuery = call.query
    return disputes.list_disputes(
        runtime.context(), status=DisputeStatus(q.status), limit=q.limit, cursor=q.cursor
    )
