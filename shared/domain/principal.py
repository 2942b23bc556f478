"""Who is acting: the principal a verified token names (pure; verification itself lives in
shared.adapters.tokens, which imports PyJWT and cryptography only when it is first used)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from shared.domain.text import clean_name
from shared.domain.vocabulary import Role


class InvalidToken(Exception):
    """The token is not acceptable; the message says why (for logs, not for the caller)."""


class KeysUnavailable(InvalidToken):
    """The keys that would decide cannot be had now (the JWKS URL is down and the token's
    `kid` is not among the keys cached): neither valid nor invalid yet, so 503, not 401.
    A subclass, so code that only knows InvalidToken still refuses the token."""


@dataclass(frozen=True)
class Principal:
    user_id: str
    email: str
    name: str
    # The token's role until the record is read; then the role requests act with (the
    # record's, or admin for an admin token: `shared.services.users`).
    role: str
    # What the token itself said, once `role` is the record's (None: `role` is the token's).
    claimed_role: str | None = None

    @property
    def token_role(self) -> str:
        return self.claimed_role if self.claimed_role is not None else self.role

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> Principal:
        sub = claims.get("sub")
        try:
            user_id = str(uuid.UUID(str(sub)))
        except ValueError:
            raise InvalidToken("sub is not a UUID") from None
        app_meta = claims.get("app_metadata") or {}
        user_meta = claims.get("user_metadata") or {}
        role = app_meta.get("role") if isinstance(app_meta, dict) else None
        if not isinstance(role, str) or role not in {r.value for r in Role}:
            role = Role.BUYER.value
        email = str(claims.get("email") or "")
        name = ""
        if isinstance(user_meta, dict):
            name = str(user_meta.get("name") or user_meta.get("full_name") or "")
        # Claims are the user's to write: cleaned, not refused (a token cannot be bounced).
        email, name = clean_name(_storable(email)), clean_name(_storable(name))
        return cls(
            user_id=user_id, email=email[:320], name=(name or email or user_id)[:200], role=role
        )


def _storable(text: str) -> str:
    """The user writes user_metadata: drop what PostgreSQL text cannot hold (U+0000, and lone
    surrogates, which JSON allows and UTF-8 does not)."""
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


@dataclass(frozen=True)
class Viewer:
    """Who is asking, as the use cases see it (None fields for an anonymous reader)."""

    user_id: str | None = None
    role: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


ANONYMOUS = Viewer()


def effective_role(token_role: str, stored_role: str) -> str:
    """The role a request acts with: the record's (PostgreSQL holds it once the user exists),
    except that a token whose role is admin is always an admin (the operator's way in, even
    before a row was ever made admin)."""
    return Role.ADMIN.value if token_role == Role.ADMIN else stored_role
