"""Trust and safety: the admin's shill suspects, a seller's blocked bidders, feedback after a
completed sale and the reputation it builds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint, Response

from shared.domain.vocabulary import Role

from .. import runtime
from ..operations import Call, operation
from ..request_state import request_id
from .auctions import auction_id
from .marketplace import no_content

if TYPE_CHECKING:
    from ..schemas.api import LeaveFeedback, Page, ReplyToFeedback, RetractBid, SuspectsQuery


bp = Blueprint(__name__)

ADMIN = (Role.ADMIN.value,)


@operation(
    bp,
    "GET",
    "/api/admin/trust/suspects",
    summary="Shill suspects: every (bidder, seller) pair scored above 0, highest first, each "
    "with its signals and the sentences that explain them",
    tag="admin",
    auth="required",
    roles=ADMIN,
    query="SuspectsQuery",
    response="SuspectList",
    errors=("unauthenticated", "forbidden", "validation_error"),
)
def list_suspects(call: Call) -> dict[str, Any]:
    """`limit` 1 to 200 (default 50); `sellerId`: that seller's pairs only. Scores follow a
    bid within a few seconds (the ticker). A score is a lead for a person to look at, never a
    verdict."""
    from shared.services import trust

    q: SuspectsQuery = call.query
    return trust.suspects(runtime.context(), limit=q.limit, seller_id=q.sellerId)


# -- retracting a bid ----------------------------------------------------------------------------


@operation(
    bp,
    "POST",
    "/api/auctions/{auction_id}/bids/{bid_id}/retract",
    summary="Retract my bid while the auction is live: far from the end every bid of mine on "
    "it, near the end only my latest (within an hour of placing it)",
    tag="bids",
    auth="required",
    body="RetractBid",
    response="RetractionOut",
    errors=(
        "unauthenticated",
        "account_suspended",
        "forbidden",  # not the bid's own bidder
        "not_found",
        "retraction_not_allowed",  # not live, or too close to the end for this bid
        "validation_error",
        "rate_limited",
        "payload_too_large",
        "unavailable",
    ),
)
def retract_bid(call: Call) -> dict[str, Any]:
    """More than RETRACT_CUTOFF_SECS (default 12 hours) before the end, every bid of the
    caller on the auction is retracted; closer to it only their latest bid, within an hour of
    placing it; otherwise 409 `retraction_not_allowed`. The highest bid and the maximums are
    recomputed from the standing bids; the room hears `bid:retracted`; the bids stay in the
    history with `retractedAt`."""
    from shared.domain.retractions import RetractReason
    from shared.services import retractions

    b: RetractBid = call.body
    return retractions.retract(
        runtime.context(),
        call.viewer,
        auction_id(call),
        call.params["bid_id"],
        RetractReason(b.reason),
        request_id=request_id(),
    )


# -- a seller's blocked bidders -------------------------------------------------------------------


@operation(
    bp,
    "PUT",
    "/api/me/blocked-bidders/{user_id}",
    summary="Block a bidder from my auctions (idempotent): their bids get 403 bidder_blocked",
    tag="me",
    auth="required",
    status=204,
    errors=("not_found", "validation_error"),
    remembers_source=True,
)
def block_bidder(call: Call) -> Response:
    """An unknown user is 404; yourself is 422."""
    from shared.services import blocks

    blocks.block(runtime.context(), call.viewer, call.params["user_id"])
    return no_content()


@operation(
    bp,
    "DELETE",
    "/api/me/blocked-bidders/{user_id}",
    summary="Lift my block of a bidder (idempotent)",
    tag="me",
    auth="required",
    status=204,
    errors=("not_found",),
    remembers_source=True,
)
def unblock_bidder(call: Call) -> Response:
    """An unknown user is 404; one not blocked is 204 all the same."""
    from shared.services import blocks

    blocks.unblock(runtime.context(), call.viewer, call.params["user_id"])
    return no_content()


@operation(
    bp,
    "GET",
    "/api/me/blocked-bidders",
    summary="The bidders I blocked, most recently blocked first",
    tag="me",
    auth="required",
    query="Page",
    response="BlockedBidderList",
    errors=("unauthenticated", "validation_error"),
)
def my_blocked_bidders(call: Call) -> dict[str, Any]:
    from shared.services import blocks

    q: Page = call.query
    return blocks.list_blocked(runtime.context(), call.viewer, limit=q.limit, cursor=q.cursor)


# -- feedback and reputation ----------------------------------------------------------------------


@operation(
    bp,
    "POST",
    "/api/auctions/{auction_id}/feedback",
    summary="Feedback on the other side of a completed sale (payment confirmed): once per side",
    tag="feedback",
    auth="required",
    body="LeaveFeedback",
    response="FeedbackOut",
    status=201,
    errors=(
        "unauthenticated",
        "forbidden",
        "not_found",
        "feedback_not_allowed",
        "feedback_exists",
        "validation_error",
    ),
)
def leave_feedback(call: Call) -> dict[str, Any]:
    """The buyer rates the seller, the seller the buyer. 403 `forbidden`: the caller is
    neither the auction's seller nor the buyer of its sale. 409 `feedback_not_allowed`: a
    party, before the sale is complete (no sale, or its payment not confirmed). 409
    `feedback_exists`: that side's feedback is already given. The comment is one printable
    line (no control, line-break or text-direction characters), at most 500 characters."""
    from shared.domain.feedback import Rating
    from shared.services import feedback

    b: LeaveFeedback = call.body
    return feedback.leave(
        runtime.context(), auction_id(call), call.viewer, Rating(b.rating), b.comment
    )


@operation(
    bp,
    "POST",
    "/api/auctions/{auction_id}/feedback/reply",
    summary="Reply, once, to the feedback the other side left about me on this sale",
    tag="feedback",
    auth="required",
    body="ReplyToFeedback",
    response="FeedbackOut",
    status=201,
    errors=(
        "unauthenticated",
        "forbidden",
        "not_found",
        "reply_exists",
        "validation_error",
    ),
)
def reply_to_feedback(call: Call) -> dict[str, Any]:
    """Answers with the feedback, reply included. 403: not a party of the sale; 404: no
    feedback about the caller on it (yet); 409 `reply_exists`: already replied."""
    from shared.services import feedback

    b: ReplyToFeedback = call.body
    return feedback.reply(runtime.context(), auction_id(call), call.viewer, b.comment)


@operation(
    bp,
    "GET",
    "/api/auctions/{auction_id}/feedback",
    summary="The feedback left on an auction's sale, oldest first",
    tag="feedback",
    response="FeedbackList",
    errors=("not_found",),
)
def auction_feedback(call: Call) -> dict[str, Any]:
    from shared.services import feedback

    return feedback.of_auction(runtime.context(), auction_id(call))


@operation(
    bp,
    "GET",
    "/api/users/{user_id}/reputation",
    summary="A user's reputation: the ratings they received over the last 12 months",
    tag="feedback",
    response="ReputationOut",
    errors=("not_found",),
)
def reputation(call: Call) -> dict[str, Any]:
    from shared.services import feedback

    return feedback.reputation(runtime.context(), call.params["user_id"])
