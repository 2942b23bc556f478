"""What the current request carries from one part of the HTTP plumbing to another (the
operation, the authentication, the problems and the request log): context variables, one per
request (Lambda runs one at a time; the local server one per thread)."""

from __future__ import annotations

import re
from contextvars import ContextVar

# The verified user of the current request, for the request log line.
current_user: ContextVar[str | None] = ContextVar("current_user", default=None)
# The request's id (X-Request-Id, or one minted here): it travels with a bid into its outbox
# record and its feed entries, so the socket nodes' fan-out lines name it too.
current_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
# The problem code the current request was answered with (None: it succeeded), for the metrics.
problem_code: ContextVar[str | None] = ContextVar("problem_code", default=None)
# The operation's metric name when it declares one (`outcome_metrics`), for the EMF line.
metric: ContextVar[str | None] = ContextVar("metric", default=None)
# A caller's X-Request-Id is used when it is a plain token; anything else (too long, spaces,
# control characters) is replaced, since it is written into logs and Redis.
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def request_id() -> str | None:
    """The current request's id (None outside a request)."""
    return current_request_id.get()
