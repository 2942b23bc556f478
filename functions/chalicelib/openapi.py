"""The OpenAPI 3.1 document, built from the operation registry (`http.OPERATIONS`) and the same
pydantic models that validate requests: what the API checks and what it documents cannot
drift apart.

Every operation documents its success response, and one problem+json response per status
for the error codes it can answer, drawn from the one table of codes (`PROBLEMS`): the codes
a route lists itself, plus those that follow from how it is declared (a body can be too large
or invalid, a signed-in route can meet a bad token, a write can be rate limited...).
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from shared.domain.errors import PROBLEMS

from .operations import MAX_BODY, OPERATIONS, Operation
from .problems import JSON, PROBLEM
from .schemas.base import ProblemOut

TITLE = "Auction platform API"
VERSION = "1.0.0"
REF = "#/components/schemas/{model}"
PATH_PARAM = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)}")

DESCRIPTION = """\
Real-time timed auctions. JSON in and out, field names in camelCase.

Authentication: `Authorization: Bearer <JWT>`, a Supabase Auth access token. Roles (`buyer`,
`seller`, `admin`) live in the user record: the token's `app_metadata.role` (absent means
`buyer`) seeds it when the user is first seen, `PUT /api/me/seller-profile` makes a buyer a
seller, an admin sets any role; a token whose role is `admin` is always an admin. Reading
auctions and bid history needs no token; a token that is sent must be valid.

Money: requests take a JSON number or a decimal string with at most 2 fractional digits;
responses give decimal strings with 2 digits (`"1250.00"`). Times are ISO 8601 UTC; the server
clock decides (`serverTime` is in every auction).

Lists: `{"items": [...], "nextCursor": "..." | null}`; pass `nextCursor` back as `cursor`;
`limit` is 1 to 100 (default 20).

Errors: `application/problem+json` with a machine-readable `code`; `validation_error` lists
`errors: [{field, message}]`; bodies over 65536 bytes get `payload_too_large`.

Rate limits: bids per user per auction (`BID_RATE_LIMIT`), every other write per caller per
route group (`WRITE_RATE_LIMIT`); over the limit: 429 `rate_limited` with `Retry-After`.

Bids: send `Idempotency-Key` to make a retry safe: the same key again returns the same bid
and creates nothing.

Trust and safety: the web app sends `X-Device-Id` (a random id it keeps, 16 to 64 of
A-Z a-z 0-9 _ -) with every request; with the source address it is kept only as a salted
hash, for the shill signals, and forgotten after 90 days. Anything else in it is ignored.
"""

TAGS = [
    {"name": "system", "description": "Health, the signed-in user, development sign-in."},
    {"name": "auctions", "description": "Create, list and read auctions."},
    {"name": "bids", "description": "Place bids and read the bid history."},
    {"name": "decisions", "description": "The seller's decision and counter offers."},
    {"name": "invoices", "description": "Invoices of sold auctions."},
    {
        "name": "offers",
        "description": "Second-chance offers: a closed auction's item to another bidder.",
    },
    {"name": "payments", "description": "A sale's payment: paid, confirmed, or void."},
    {
        "name": "selling",
        "description": "Start selling (the seller's profile), and the seller's statement.",
    },
    {"name": "shipping", "description": "A sale's shipment (or pickup) and its receipt."},
    {
        "name": "disputes",
        "description": "A buyer's dispute of a paid sale, the seller's reply, an admin's "
        "resolution.",
    },
    {"name": "notifications", "description": "The signed-in user's notifications."},
    {"name": "watchlist", "description": "Watching auctions."},
    {
        "name": "me",
        "description": "The signed-in user's own pages: bids, auctions, purchases, the "
        "bidders they blocked.",
    },
    {
        "name": "feedback",
        "description": "Feedback after a completed sale, replies, and reputations.",
    },
    {
        "name": "admin",
        "description": "Administration (role `admin`); every action is audited. The shill "
        "suspects list.",
    },
    {"name": "docs", "description": "This document and its human-readable page."},
]

HEADER_PARAMETERS: dict[str, dict[str, Any]] = {
    "Idempotency-Key": {
        "description": "Makes a retry safe: the same key (per user and auction) returns the "
        "first request's bid and creates nothing.",
        "schema": {"type": "string", "pattern": "^[!-~]{1,200}$", "maxLength": 200},
        "example": "b1d7a3c2-2f7e-4e0a-9c55-6f3b2a1d9e10",
    },
    "If-None-Match": {
        "description": "The ETag of a copy the client holds: answered 304 with no body while "
        "it is still current.",
        "schema": {"type": "string", "maxLength": 1000},
        "example": 'W/"5d41402abc4b2a76b9719d911017c592"',
    },
}
_ETAG_HEADER = {
    "ETag": {
        "description": "A weak validator of the answer (its `serverTime` aside), for "
        "If-None-Match.",
        "schema": {"type": "string"},
    }
}


def documented_errors(op: Operation) -> list[str]:
    """The codes `op` can answer: its own list, and what its declaration implies."""
    codes = list(op.errors)
    implied: list[str] = []
    if op.auth != "none":
        implied.append("unauthenticated")  # "optional" still refuses a bad token
    if op.roles:
        implied.append("forbidden")
    if op.auth != "none" and op.method != "GET":
        implied.append("account_suspended")  # a suspended user's writes (moderation)
    if PATH_PARAM.search(op.path):
        implied.append("not_found")
    if op.body is not None:
        implied += ["validation_error", "payload_too_large"]
    if op.raw_body:
        implied += ["unsupported_media_type", "payload_too_large", "validation_error"]
    if op.query is not None or op.headers:
        implied.append("validation_error")
    if op.rate_group is not None:
        implied.append("rate_limited")
    if op.tag != "docs":
        implied.append("unavailable")  # PostgreSQL or Redis down
    for code in implied:
        if code not in codes:
            codes.append(code)
    own = {status for status, _ in op.responses}
    return [c for c in codes if PROBLEMS[c][0] not in own]


def _strip_null(schema: dict[str, Any]) -> dict[str, Any]:
    """`X | None` as a query parameter is just an optional X (there is no null in a URL)."""
    options = schema.get("anyOf")
    if isinstance(options, list):
        rest = [s for s in options if s.get("type") != "null"]
        if len(rest) == 1:
            merged = {k: v for k, v in schema.items() if k != "anyOf"}
            merged.update(rest[0])
            if merged.get("default", "") is None:
                del merged["default"]
            return merged
    return schema


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF)
    required = set(schema.get("required", []))
    parameters = []
    for name, prop in schema.get("properties", {}).items():
        prop = _strip_null(dict(prop))
        prop.pop("title", None)
        parameter: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": prop,
        }
        if "description" in prop:
            parameter["description"] = prop.pop("description")
        parameters.append(parameter)
    return parameters


# Path parameters that are not UUIDs (every other `{..._id}` is one).
PATH_PARAMETERS: dict[str, dict[str, Any]] = {
    "job_id": {
        "description": "The job's id, as the dead-letter list gives it.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 300},
    },
}


def _path_parameters(path: str) -> list[dict[str, Any]]:
    parameters = []
    for name in PATH_PARAM.findall(path):
        parameter = {"name": name, "in": "path", "required": True}
        parameter.update(
            PATH_PARAMETERS.get(
                name,
                {
                    "description": f"The {name.removesuffix('_id')}'s id (a UUID; "
                    "anything else is 404).",
                    "schema": {"type": "string", "format": "uuid"},
                },
            )
        )
        parameters.append(parameter)
    return parameters


def _problem_responses(op: Operation) -> dict[str, Any]:
    by_status: dict[int, list[str]] = defaultdict(list)
    for code in documented_errors(op):
        by_status[PROBLEMS[code][0]].append(code)
    responses: dict[str, Any] = {}
    for status in sorted(by_status):
        codes = by_status[status]
        narrowed: dict[str, Any] = {
            "properties": {"status": {"const": status}, "code": {"enum": codes}}
        }
        if "validation_error" in codes:  # it lists the fields; other 422s carry none
            if codes == ["validation_error"]:
                narrowed["required"] = ["errors"]
            else:
                narrowed["if"] = {
                    "properties": {"code": {"const": "validation_error"}},
                    "required": ["code"],
                }
                narrowed["then"] = {"required": ["errors"]}
        response: dict[str, Any] = {
            "description": "; ".join(f"`{c}`: {PROBLEMS[c][1]}" for c in codes),
            "content": {
                PROBLEM: {
                    "schema": {"allOf": [{"$ref": REF.format(model=ProblemOut.__name__)}, narrowed]}
                }
            },
        }
        if status == 429 or "outcome_unknown" in codes:
            response["headers"] = {
                "Retry-After": {
                    "description": "Seconds to wait before retrying.",
                    "schema": {"type": "integer", "minimum": 1},
                }
            }
        responses[str(status)] = response
    return responses


def _success(op: Operation) -> dict[str, Any]:
    if op.media_type != JSON:
        content = {op.media_type: {"schema": {"type": "string", "format": "binary"}}}
    elif op.response is not None:
        content = {JSON: {"schema": {"$ref": REF.format(model=op.response.__name__)}}}
    else:
        content = {}
    response: dict[str, Any] = {"description": op.summary}
    if content:
        response["content"] = content
    return response


def _operation(op: Operation) -> dict[str, Any]:
    parameters = _path_parameters(op.path)
    if op.query is not None:
        parameters += _query_parameters(op.query)
    for header in (*op.headers, *(("If-None-Match",) if op.etag else ())):
        parameters.append({"name": header, "in": "header", "required": False})
        parameters[-1].update(HEADER_PARAMETERS.get(header, {"schema": {"type": "string"}}))
    spec: dict[str, Any] = {
        "tags": [op.tag],
        "summary": op.summary,
        "operationId": op.name or f"{op.method.lower()}_{op.path}",
    }
    if op.auth == "required":
        spec["security"] = [{"bearerAuth": []}]
    elif op.auth == "optional":
        spec["security"] = [{}, {"bearerAuth": []}]
    else:
        spec["security"] = []
    if op.roles:
        spec["description"] = f"Needs the role {' or '.join(f'`{r}`' for r in op.roles)}."
    if parameters:
        spec["parameters"] = parameters
    if op.body is not None:
        required = bool(op.body.model_json_schema().get("required"))
        spec["requestBody"] = {
            "required": required,
            "description": f"At most {MAX_BODY} bytes.",
            "content": {JSON: {"schema": {"$ref": REF.format(model=op.body.__name__)}}},
        }
    if op.raw_body:
        binary = {"type": "string", "format": "binary", "maxLength": op.max_body}
        spec["requestBody"] = {
            "required": True,
            "description": f"The raw bytes, at most {op.max_body} bytes.",
            "content": {media: {"schema": binary} for media in op.raw_body},
        }
    responses = {str(op.status): _success(op)}
    if op.etag:
        responses[str(op.status)]["headers"] = _ETAG_HEADER
        responses["304"] = {
            "description": "Not modified: the copy named by If-None-Match is current",
            "headers": _ETAG_HEADER,
        }
    for status, model in op.responses:
        responses[str(status)] = {
            "description": model.__doc__ or model.__name__,
            "content": {JSON: {"schema": {"$ref": REF.format(model=model.__name__)}}},
        }
    responses.update(_problem_responses(op))
    spec["responses"] = responses
    return spec


def _components(operations: list[Operation]) -> dict[str, Any]:
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [(ProblemOut, "serialization")]
    for op in operations:
        if op.body is not None:
            models.append((op.body, "validation"))
        if op.response is not None:
            models.append((op.response, "serialization"))
        models += [(m, "serialization") for _, m in op.responses]
    unique = list(dict.fromkeys(models))
    _, top = models_json_schema(unique, ref_template=REF)
    return dict(sorted(top.get("$defs", {}).items()))


def build(operations: list[Operation] | None = None) -> dict[str, Any]:
    ops = list(OPERATIONS if operations is None else operations)
    paths: dict[str, dict[str, Any]] = {}
    for op in sorted(ops, key=lambda o: o.path):
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    used = {op.tag for op in ops}
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": VERSION, "description": DESCRIPTION},
        "tags": [t for t in TAGS if t["name"] in used],
        "paths": paths,
        "components": {
            "schemas": _components(ops),
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A Supabase Auth access token (or, in development, the "
                    "token of `POST /api/dev/login`).",
                }
            },
        },
    }


_lock = threading.Lock()
_document: dict[str, Any] | None = None


def document() -> dict[str, Any]:
    """The document, built once per process (the routes are fixed once the app is loaded)."""
    global _document
    if _document is None:
        with _lock:
            if _document is None:
                _document = build()
    return _document
