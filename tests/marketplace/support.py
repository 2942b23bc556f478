"""Helpers for the marketplace tests (requests, uploads and auctions made through the API are
`tests.support.actors`)."""

from __future__ import annotations

import uuid
from typing import Any


def uid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
