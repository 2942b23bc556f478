"""Which page origins may read the API's and the socket node's answers (CORS), from the
configured list (`CORS_ORIGINS`). One rule for both deployables:

- a named origin gets its own origin back, with credentials allowed;
- `*` grants any other real origin the standard wildcard, `Access-Control-Allow-Origin: *`,
  without credentials: browsers never expose a credentialed answer to `*`, so a wildcard
  deploy stays readable by any page but never with a visitor's cookies or HTTP auth (our
  Bearer token is a header the page sets itself, listed in Allow-Headers, and works as before);
- `null` (sandboxed frames, file: pages, data: URLs, redirects across origins) and anything
  else that is not `scheme://host[:port]` are never granted, even when listed: any page can
  put itself in a null origin. A wildcard once reflected every Origin, `null` included, with
  credentials."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

WILDCARD = "*"


@dataclass(frozen=True)
class CorsGrant:
    allow_origin: str  # the Access-Control-Allow-Origin value: the origin itself, or "*"
    credentials: bool  # whether Access-Control-Allow-Credentials: true goes with it


def is_real_origin(origin: str) -> bool:
    """`http(s)://host[:port]` and nothing more (RFC 6454's serialisation of a tuple origin)."""
    try:
        parts = urlsplit(origin)
        parts.port  # noqa: B018 (raises for a port that is not a number)
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and not parts.username
        and not parts.password
        and parts.path == ""
        and not parts.query
        and not parts.fragment
        and origin == f"{parts.scheme}://{parts.netloc}"
    )


def cors_grant(origin: str | None, allowed: Iterable[str]) -> CorsGrant | None:
    """What a request from `origin` is granted (None: nothing, the browser keeps the answer
    from the page). `allowed` is the configured list, without trailing slashes."""
    if not origin or not is_real_origin(origin):
        return None
    allowed = tuple(allowed)
    if origin in allowed:
        return CorsGrant(origin, credentials=True)
    if WILDCARD in allowed:
        return CorsGrant(WILDCARD, credentials=False)
    return None
