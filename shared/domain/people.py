"""How people are named in public (pure)."""

from __future__ import annotations

ANONYMOUS_NAME = "A bidder"


def public_name(name: str) -> str:
    """The public display name: the name's first word and the initial of its last
    (`"Asha Kulkarni"` -> `"Asha K."`), never an email: a name that is (or holds) an email
    address, as a token without a name gives, drops those words."""
    words = [w for w in name.split() if "@" not in w]
    if not words:
        return ANONYMOUS_NAME
    first = words[0]
    if len(words) == 1:
        return first
    return f"{first} {words[-1][0].upper()}."
