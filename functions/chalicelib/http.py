"""The HTTP plumbing's names in one place, for the routes and the tools that import them from
here. Each part lives in a module of its own:

- `operations`: the `operation` decorator and its registry (`OPERATIONS`), body and query
  parsing, rendering through the response models;
- `auth`: the Bearer token checked, whose write bucket a request spends;
- `problems`: problem+json answers;
- `conditional`: ETag and If-None-Match (304) for auction reads;
- `middleware`: CORS, the security headers, the request log line, Chalice's own errors;
- `request_state`: what one request carries between them (its id, user, problem code).
"""

from __future__ import annotations

from .auth import authenticate, caller, verifier
from .conditional import entity_tag, none_match, revalidated
from .middleware import SECURITY_HEADERS, cors_headers, install, preflight_headers
from .operations import MAX_BODY, OPERATIONS, Call, Operation, Reply, operation, parse_body, render
from .problems import JSON, PROBLEM, internal_error, problem, problem_response
from .request_state import request_id

__all__ = (
    "JSON",
    "MAX_BODY",
    "OPERATIONS",
    "PROBLEM",
    "SECURITY_HEADERS",
    "Call",
    "Operation",
    "Reply",
    "authenticate",
    "caller",
    "cors_headers",
    "entity_tag",
    "install",
    "internal_error",
    "none_match",
    "operation",
    "parse_body",
    "preflight_headers",
    "problem",
    "problem_response",
    "render",
    "request_id",
    "revalidated",
    "verifier",
)
