"""Who is asking: the Bearer token of a request checked (Supabase's JWT, `shared.adapters.
tokens`), the user recorded on first sight, and whose write bucket a request spends."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import orjson
from chalice.app import Request

from shared.domain.errors import DomainError
from shared.domain.principal import InvalidToken, KeysUnavailable, Principal
from shared.services import users

from . import request_state, runtime

if TYPE_CHECKING:
    from shared.adapters.tokens import Verifier

log = logging.getLogger("api")
_verifier: Verifier | None = None


def verifier() -> Verifier:
    global _verifier
    if _verifier is None:
        # PyJWT and cryptography load here, with the first token: an anonymous first
        # request (a cold start that only reads) never pays ~60 ms for them.
        from shared.adapters.tokens import Verifier

        _verifier = Verifier(runtime.settings())
    return _verifier


def reset_verifier() -> None:
    """Forget the verifier (the tests change the settings it was built from)."""
    global _verifier
    _verifier = None


def authenticate(request: Request, *, required: bool) -> Principal | None:
    header = request.headers.get("authorization") or ""
    if not header:
        if required:
            raise DomainError("unauthenticated", "Send Authorization: Bearer <token>")
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise DomainError("unauthenticated", "Send Authorization: Bearer <token>")
    try:
        principal = verifier().verify(token.strip())
    except KeysUnavailable as exc:  # the JWKS URL is down and the kid is not cached
        log.warning(orjson.dumps({"event": "jwks_unavailable", "reason": str(exc)}).decode())
        raise DomainError("unavailable", "Sign-in keys cannot be checked now; retry") from None
    except InvalidToken as exc:
        log.info(orjson.dumps({"event": "token_refused", "reason": str(exc)}).decode())
        raise DomainError("unauthenticated", "The token is not valid") from None
    request_state.current_user.set(principal.user_id)
    # The role a request acts with is the record's (cached briefly: `users`).
    return users.ensure_user(runtime.context(), principal)


def caller(request: Request, principal: Principal | None) -> str:
    """Whose bucket a write spends: the user's, or the client address's when anonymous."""
    if principal is not None:
        return f"user:{principal.user_id}"
    identity = (request.context or {}).get("identity") or {}
    return f"ip:{identity.get('sourceIp') or 'unknown'}"
