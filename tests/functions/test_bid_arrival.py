"""The bid route judges the window at the moment the gateway received the bid
(requestContext.requestTimeEpoch, which API Gateway sets and no client can), so a last-second
bid that queued past endsAt is judged on the rules (CONTRACT 8); without a gateway moment it
is judged at the script's own now."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from shared.services.context import Context
from tests.support.harness import Person, live_auction


class LambdaContext:
    aws_request_id = "arrival"
    function_name = "auction-api"
    memory_limit_in_mb = 512

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def bid_event(auction_id: Any, who: Person, amount: str, arrived_ms: int | None) -> dict[str, Any]:
    headers = {**who.headers, "Content-Type": "application/json"}
    context: dict[str, Any] = {
        "resourcePath": "/api/auctions/{auction_id}/bids",
        "httpMethod": "POST",
        "stage": "api",
        "requestId": "arrival",
        "identity": {"sourceIp": "127.0.0.1"},
    }
    if arrived_ms is not None:
        context["requestTimeEpoch"] = arrived_ms
    return {
        "resource": "/api/auctions/{auction_id}/bids",
        "path": f"/api/auctions/{auction_id}/bids",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"auction_id": str(auction_id)},
        "stageVariables": None,
        "requestContext": context,
        "body": orjson.dumps({"amount": amount}).decode(),
        "isBase64Encoded": False,
    }


def test_a_bid_received_before_the_end_is_judged_after_it(
    ctx: Context, client: Any, seller: Person, buyer: Person
) -> None:
    import app as functions_app

    ends = datetime.now(UTC) + timedelta(milliseconds=400)
    aid = live_auction(ctx, seller, ends_at=ends)
    received = int(ends.timestamp() * 1000) - 20  # 20 ms before the end
    while datetime.now(UTC) < ends + timedelta(milliseconds=50):
        time.sleep(0.01)
    late = functions_app.app(bid_event(aid, buyer, "100.00", None), LambdaContext())
    assert late["statusCode"] == 409
    assert orjson.loads(late["body"])["code"] == "auction_not_live"
    in_time = functions_app.app(bid_event(aid, buyer, "100.00", received), LambdaContext())
    assert in_time["statusCode"] == 201, in_time["body"]
    # A moment from the client's future or the far past changes nothing.
    future = functions_app.app(
        bid_event(aid, buyer, "200.00", received + 3_600_000), LambdaContext()
    )
    assert orjson.loads(future["body"])["code"] == "auction_not_live"
