"""Helpers for the marketplace tests: requests through chalice.test.Client, raw photo uploads,
auctions made through the API."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from chalice.test import Client

from tests.support.harness import Person


def call(
    client: Client, method: str, path: str, who: Person | None = None, body: Any = None
) -> Any:
    headers = {"Content-Type": "application/json", **(who.headers if who else {})}
    data = orjson.dumps(body) if body is not None else b""
    return client.http.request(method, path, headers=headers, body=data)


def upload(client: Client, who: Person, auction_id: Any, data: bytes, content_type: str) -> Any:
    headers = {"Content-Type": content_type, **who.headers}
    return client.http.request(
        "POST", f"/api/auctions/{auction_id}/images", headers=headers, body=data
    )


def create(client: Client, seller: Person, **fields: Any) -> dict[str, Any]:
    """A scheduled auction made through the API (an hour ahead unless told)."""
    body: dict[str, Any] = {
        "itemName": "Brass ship's clock",
        "description": "Working, wound weekly, with its key.",
        "startPrice": "100.00",
        "bidIncrement": "10.00",
        "goLiveAt": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
        "durationMins": 60,
    }
    body.update(fields)
    response = call(client, "POST", "/api/auctions", seller, body)
    assert response.status_code == 201, response.body
    created: dict[str, Any] = response.json_body
    return created


def uid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
