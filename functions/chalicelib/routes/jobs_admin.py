"""Admin routes of the job queue: the dead letters, and replaying one (docs/runbooks.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from chalice.app import Blueprint

from shared.domain import cursors
from shared.domain.errors import DomainError
from shared.domain.vocabulary import Role

from .. import runtime
from ..operations import Call, operation

if TYPE_CHECKING:
    from ..schemas.api import Page


bp = Blueprint(__name__)

ADMIN = (Role.ADMIN.value,)


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    (text,) = cursors.decode(cursor, 1)
    return cursors.sequence(text)


@operation(
    bp,
    "GET",
    "/api/admin/jobs/dead",
    summary="Jobs that failed for good (dead letters), most recent first",
    tag="admin",
    auth="required",
    roles=ADMIN,
    query="Page",
    response="DeadJobList",
    errors=("unauthenticated", "forbidden", "validation_error", "unavailable"),
)
def list_dead_jobs(call: Call) -> dict[str, Any]:
    from shared.services import jobs

    q: Page = call.query
    offset = _offset(q.cursor)
    items, more = jobs.list_dead(runtime.context(), limit=q.limit, offset=offset)
    return {"items": items, "nextCursor": cursors.encode(str(offset + q.limit)) if more else None}


@operation(
    bp,
    "POST",
    "/api/admin/jobs/dead/{job_id}/replay",
    summary="Put a dead letter back at the front of the queue (its attempts counted afresh)",
    tag="admin",
    auth="required",
    roles=ADMIN,
    response="ReplayedJobOut",
    errors=("unauthenticated", "forbidden", "not_found", "unavailable"),
)
def replay_dead_job(call: Call) -> dict[str, Any]:
    # Job ids hold colons, which a client may send percent-encoded (`%3A`); the local server
    # hands the parameter over as sent. No job id contains "%", so decoding is safe.
    from shared.services import audit, jobs

    ctx = runtime.context()
    job_id = unquote(call.params["job_id"])
    replayed = jobs.replay_dead(ctx, job_id)
    if replayed is None:
        raise DomainError("not_found", "No dead letter with this id")
    # The queue lives in Redis, the log in PostgreSQL: the entry follows the replay it records.
    with ctx.db.session() as session:
        audit.record(
            session,
            call.user.user_id,
            "admin.replay_dead_letter",
            replayed.get("auctionId"),
            {"jobId": job_id},
        )
    return replayed
