"""The people of an auction driving the REST API in this process (chalice.test.Client over the
real app, no HTTP): one `call` for any request, and a `Bidder`, a `Seller` and an `Admin` with
the requests the tests make of them. A visitor who is not signed in is an actor with no person.

    Bidder(client, buyer).bid(auction_id, "120.00")        # the answer, whatever it is
    Bidder(client, buyer).placed(auction_id, "120.00")     # a 201, its body
    Seller(client, seller).create(itemName="Lamp")         # a 201, the auction
    Admin(client, admin).suspend(buyer.id)                 # the answer

Answers are chalice's `HTTPResponse` (`status_code`, `headers`, `body`, `json_body`).
tests/api drives the same routes through every transport with `tests.support.api_client`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from chalice.test import Client, HTTPResponse

from tests.support.harness import Person

AuctionId = uuid.UUID | str


def call(
    client: Client,
    method: str,
    path: str,
    who: Person | None = None,
    body: Any = None,
    *,
    raw: str | bytes | None = None,
    headers: Mapping[str, str] | None = None,
) -> HTTPResponse:
    """One request: `body` sent as JSON (or `raw` as it is), as `who` (None: not signed in)."""
    sent = {"Content-Type": "application/json", **(who.headers if who else {}), **(headers or {})}
    payload = raw if raw is not None else (b"" if body is None else orjson.dumps(body))
    data = payload.encode() if isinstance(payload, str) else payload
    return client.http.request(method, path, headers=sent, body=data)


@dataclass(frozen=True)
class Actor:
    """Someone (or, with no person, a visitor) sending requests to the API."""

    client: Client
    person: Person | None

    @property
    def id(self) -> str:
        assert self.person is not None, "a visitor has no id"
        return self.person.id

    def call(self, method: str, path: str, body: Any = None, **options: Any) -> HTTPResponse:
        return call(self.client, method, path, self.person, body, **options)

    def get(self, path: str, **options: Any) -> HTTPResponse:
        return self.call("GET", path, **options)

    def post(self, path: str, body: Any = None, **options: Any) -> HTTPResponse:
        return self.call("POST", path, {} if body is None else body, **options)

    def put(self, path: str, body: Any = None, **options: Any) -> HTTPResponse:
        return self.call("PUT", path, body, **options)

    def patch(self, path: str, body: Any = None, **options: Any) -> HTTPResponse:
        return self.call("PATCH", path, body, **options)

    def delete(self, path: str, **options: Any) -> HTTPResponse:
        return self.call("DELETE", path, **options)

    def auction(self, auction_id: AuctionId) -> dict[str, Any]:
        """The auction as this actor sees it (200)."""
        response = self.get(f"/api/auctions/{auction_id}")
        assert response.status_code == 200, response.body
        seen: dict[str, Any] = response.json_body
        return seen


class Bidder(Actor):
    def bid(
        self,
        auction_id: AuctionId,
        amount: str | int | None = None,
        *,
        max_amount: str | int | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> HTTPResponse:
        """A bid (`amount`, `max_amount` for a proxy maximum, or any `body` as it is)."""
        if body is None:
            body = {"amount": amount} if amount is not None else {}
            if max_amount is not None:
                body["maxAmount"] = max_amount
        return self.call("POST", f"/api/auctions/{auction_id}/bids", body, headers=headers)

    def placed(
        self, auction_id: AuctionId, amount: str | None = None, **options: Any
    ) -> dict[str, Any]:
        """A bid that must be placed (201): the bid."""
        response = self.bid(auction_id, amount, **options)
        assert response.status_code == 201, response.body
        bid: dict[str, Any] = response.json_body
        return bid

    def answer_counter(self, counter_id: str, action: str) -> HTTPResponse:
        """The buyer's answer to the seller's counter-offer: accept or reject."""
        return self.post(f"/api/counter/{counter_id}/response", {"action": action})


class Seller(Actor):
    def create(self, **fields: Any) -> dict[str, Any]:
        """A scheduled auction made through the API (an hour ahead unless told): 201, its body."""
        body: dict[str, Any] = {
            "itemName": "Brass ship's clock",
            "description": "Working, wound weekly, with its key.",
            "startPrice": "100.00",
            "bidIncrement": "10.00",
            "goLiveAt": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
            "durationMins": 60,
        }
        body.update(fields)
        response = self.post("/api/auctions", body)
        assert response.status_code == 201, response.body
        created: dict[str, Any] = response.json_body
        return created

    def upload(self, auction_id: AuctionId, data: bytes, content_type: str) -> HTTPResponse:
        """A photo, its bytes as the body (not JSON)."""
        return self.call(
            "POST",
            f"/api/auctions/{auction_id}/images",
            raw=data,
            headers={"Content-Type": content_type},
        )

    def decide(self, auction_id: AuctionId, **body: Any) -> HTTPResponse:
        """The seller's decision after the hammer: `action` accept, reject or counter (with an
        `amount`), or any body as it is."""
        return self.post(f"/api/auctions/{auction_id}/decision", body)

    def decided(self, auction_id: AuctionId, **body: Any) -> dict[str, Any]:
        """A decision that must be taken (200): the answer."""
        response = self.decide(auction_id, **body)
        assert response.status_code == 200, response.body
        answer: dict[str, Any] = response.json_body
        return answer


class Admin(Actor):
    def suspend(self, user_id: str, reason: str = "spam bids") -> HTTPResponse:
        return self.post(f"/api/admin/users/{user_id}/suspend", {"reason": reason})

    def unsuspend(self, user_id: str) -> HTTPResponse:
        return self.post(f"/api/admin/users/{user_id}/unsuspend")

    def replay(self, job_id: str) -> HTTPResponse:
        """A dead letter sent again."""
        return self.post(f"/api/admin/jobs/dead/{job_id}/replay")
