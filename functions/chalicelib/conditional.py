"""Conditional reads: an auction's answer tagged (a weak ETag) and answered 304 when the
client's copy is still current (If-None-Match)."""

from __future__ import annotations

import hashlib
import re

from chalice.app import Response

from shared.domain.principal import Principal

# The moment of the answer (for clients' clock samples) is no part of what the auction is.
_SERVER_TIME = re.compile(rb'"serverTime":"[^"]*"')


def entity_tag(body: bytes) -> str:
    """A weak validator (RFC 9110 8.8.1) of a JSON answer: the hash of its bytes less its
    `serverTime`, so that two answers differing only in the moment they were made match
    (they are the same auction). A JSON string holds no bare quote, so the pattern cannot
    cut into another field."""
    return 'W/"' + hashlib.blake2b(_SERVER_TIME.sub(b"", body), digest_size=16).hexdigest() + '"'


def none_match(header: str | None, tag: str) -> bool:
    """Whether If-None-Match names `tag` (or is `*`), by the weak comparison a GET uses
    (RFC 9110 13.1.2: `W/"x"` and `"x"` match)."""
    if not header:
        return False
    wanted = tag.removeprefix("W/")
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == wanted:
            return True
    return False


def revalidated(
    response: Response, if_none_match: str | None, viewer: Principal | None
) -> Response:
    """An auction read, made revalidatable: tagged with the hash of its body, answered 304
    with no body when the client's tag is still current. Reconnecting clients and CDNs then
    ask "still this?" and get a few bytes back, not the auction again; the answer is never
    served stale (`no-cache`: every use revalidates), and a signed-in viewer's (it says
    whether they watch) stays in their own cache (`private`, varying by Authorization).
    The tag changes exactly when the answer would, but for its `serverTime` (a revalidated
    copy keeps the moment it was first made: clocks are sampled from fresh answers)."""
    if response.status_code != 200:
        return response
    body = response.body if isinstance(response.body, bytes) else str(response.body).encode()
    tag = entity_tag(body)
    headers: dict[str, str | list[str]] = {
        "ETag": tag,
        "Cache-Control": "private, no-cache" if viewer is not None else "no-cache",
        # By who asks, and from where: a shared cache must not hand an answer made without an
        # Origin (no CORS grant) to a page that sent one.
        "Vary": "Authorization, Origin",
    }
    if none_match(if_none_match, tag):
        return Response(body="", status_code=304, headers=headers)
    response.headers.update(headers)
    return response
