"""Every REST route of the API's route table, through chalice.test.Client over the real
app (real PostgreSQL, Redis through the bridge): success shapes, every error code the route
can answer, validation (422 with errors [{field, message}]), 413, role and ownership checks,
and the write rate limiter. A refused request changes nothing."""

from __future__ import annotations

import base64
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from chalice.test import Client
from sqlalchemy import func, select

from shared.adapters.orm import Auction, AuditEntry, Bid
from shared.adapters.redis_store import RestStore
from shared.services import rate_limits
from shared.services.context import Context, for_functions
from tests.support.actors import Bidder, call
from tests.support.harness import Person, clock_runs_out, insert_auction, live_auction, person

MONEY = re.compile(r"^\d+\.\d{2}$")
# The API's auction object.
AUCTION_MEMBERS = [
    "id",
    "sellerId",
    "itemName",
    "description",
    "startPrice",
    "bidIncrement",
    "goLiveAt",
    "durationMins",
    "endsAt",
    "status",
    "highestBid",
    "minNextBid",
    "bidCount",
    "counterOffer",
    "serverTime",
    "createdAt",
    "updatedAt",
]


# -- helpers -----------------------------------------------------------------------------------


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """Assert a problem+json answer with this status and code; return its body."""
    assert response.status_code == status, (response.status_code, response.body[:400])
    assert response.headers["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = orjson.loads(response.body)
    assert body["code"] == code
    assert body["status"] == status
    assert body["title"] and body["detail"] and body["type"].endswith(f"/{code}")
    return body


def invalid_fields(response: Any) -> set[str]:
    body = problem(response, 422, "validation_error")
    assert body["errors"], body
    for error in body["errors"]:
        assert set(error) == {"field", "message"} and error["message"]
    return {e["field"] for e in body["errors"]}


def future(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**(delta or {"hours": 1}))).isoformat()


def draft(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "itemName": "Brass telescope",
        "description": "1890s, working",
        "startPrice": 100,
        "bidIncrement": "10.00",
        "goLiveAt": future(),
        "durationMins": 30,
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


def auction_count(ctx: Context) -> int:
    with ctx.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(Auction)) or 0)


def bid_count(ctx: Context, auction_id: uuid.UUID | str) -> int:
    with ctx.db.session() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Bid)
                .where(Bid.auction_id == uuid.UUID(str(auction_id)))
            )
            or 0
        )


def audit_entries(ctx: Context, auction_id: uuid.UUID) -> list[AuditEntry]:
    with ctx.db.session() as session:
        return list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.auction_id == auction_id)
                .order_by(AuditEntry.id)
            )
        )


# -- /api/me -----------------------------------------------------------------------------------


def test_me_is_the_signed_in_user(client: Client, buyer: Person) -> None:
    response = call(client, "GET", "/api/me", buyer)
    assert response.status_code == 200
    assert orjson.loads(response.body) == {
        "id": buyer.id,
        "email": buyer.principal.email,
        "name": "buyer",
        "role": "buyer",
    }


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc", "Bearer not.a.jwt"],
)
def test_me_without_a_usable_token_is_unauthenticated(client: Client, authorization: str) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = client.http.get("/api/me", headers=headers)
    problem(response, 401, "unauthenticated")


# -- POST /api/auctions ------------------------------------------------------------------------


def test_seller_creates_an_auction(client: Client, ctx: Context, seller: Person) -> None:
    go_live = datetime.now(UTC) + timedelta(hours=2)
    response = call(
        client,
        "POST",
        "/api/auctions",
        seller,
        draft(startPrice="99.5", bidIncrement=2.25, goLiveAt=go_live.isoformat(), durationMins=45),
    )
    assert response.status_code == 201, response.body
    auction = orjson.loads(response.body)
    assert auction["sellerId"] == seller.id
    assert auction["status"] == "scheduled"
    assert auction["startPrice"] == "99.50" and auction["bidIncrement"] == "2.25"
    assert auction["minNextBid"] == "99.50"
    assert auction["highestBid"] is None and auction["counterOffer"] is None
    assert auction["bidCount"] == 0
    ends = datetime.fromisoformat(auction["endsAt"].replace("Z", "+00:00"))
    starts = datetime.fromisoformat(auction["goLiveAt"].replace("Z", "+00:00"))
    assert ends - starts == timedelta(minutes=45)
    assert abs(starts - go_live) < timedelta(milliseconds=1)
    for member in ("serverTime", "createdAt", "updatedAt"):
        assert auction[member].endswith("Z")
    uuid.UUID(auction["id"])
    assert auction_count(ctx) == 1
    read = client.http.get(f"/api/auctions/{auction['id']}")
    assert orjson.loads(read.body)["itemName"] == "Brass telescope"


def test_an_admin_may_create_an_auction(client: Client, admin: Person) -> None:
    assert call(client, "POST", "/api/auctions", admin, draft()).status_code == 201


def test_a_buyer_may_not_create_an_auction(client: Client, ctx: Context, buyer: Person) -> None:
    problem(call(client, "POST", "/api/auctions", buyer, draft()), 403, "forbidden")
    assert auction_count(ctx) == 0


def test_creating_needs_a_token(client: Client, ctx: Context) -> None:
    problem(call(client, "POST", "/api/auctions", None, draft()), 401, "unauthenticated")
    assert auction_count(ctx) == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"startPrice": 0}, "startPrice"),
        ({"startPrice": -5}, "startPrice"),
        ({"startPrice": "abc"}, "startPrice"),
        ({"startPrice": 1.234}, "startPrice"),
        ({"startPrice": "1.234"}, "startPrice"),
        ({"startPrice": True}, "startPrice"),
        ({"startPrice": None}, "startPrice"),
        ({"startPrice": "1e400"}, "startPrice"),
        ({"startPrice": "NaN"}, "startPrice"),
        ({"startPrice": 10**15}, "startPrice"),
        ({"startPrice": ...}, "startPrice"),
        ({"bidIncrement": 0}, "bidIncrement"),
        ({"bidIncrement": "-1"}, "bidIncrement"),
        ({"durationMins": 0}, "durationMins"),
        ({"durationMins": 1.5}, "durationMins"),
        ({"durationMins": "30"}, "durationMins"),
        ({"durationMins": ...}, "durationMins"),
        ({"goLiveAt": "2001-01-01T00:00:00Z"}, "goLiveAt"),
        ({"goLiveAt": (datetime.now(UTC) - timedelta(seconds=5)).isoformat()}, "goLiveAt"),
        ({"goLiveAt": "2030-01-01T10:00:00"}, "goLiveAt"),  # no zone: refused, not guessed
        ({"goLiveAt": "next tuesday"}, "goLiveAt"),
        ({"goLiveAt": 1893456000}, "goLiveAt"),
        ({"goLiveAt": "0001-01-01T00:00:00+01:00"}, "goLiveAt"),  # once overflowed into a 500
        ({"goLiveAt": "9999-12-31T23:00:00Z"}, "goLiveAt"),  # so would its endsAt
        ({"itemName": ""}, "itemName"),
        ({"itemName": "   "}, "itemName"),
        ({"itemName": "x" * 201}, "itemName"),
        ({"itemName": 5}, "itemName"),
        ({"itemName": ...}, "itemName"),
        ({"description": ["a"]}, "description"),
        ({"itemName": "lamp\x00"}, "itemName"),  # PostgreSQL text cannot hold NUL (was a 503)
        ({"description": "a\x00b"}, "description"),
        ({"reservePrice": 50}, "reservePrice"),
        ({"buyNowPrice": 100}, "buyNowPrice"),
        ({"softCloseSecs": 601}, "softCloseSecs"),
        ({"softCloseSecs": -1}, "softCloseSecs"),
        ({"sellerId": str(uuid.uuid4())}, "sellerId"),
    ],
)
def test_an_invalid_auction_is_refused_with_the_field_named(
    client: Client, ctx: Context, seller: Person, changes: dict[str, Any], field: str
) -> None:
    response = call(client, "POST", "/api/auctions", seller, draft(**changes))
    assert field in invalid_fields(response)
    assert auction_count(ctx) == 0


def test_every_invalid_member_is_reported_at_once(client: Client, seller: Person) -> None:
    response = call(
        client, "POST", "/api/auctions", seller, draft(startPrice=0, bidIncrement=0, itemName="")
    )
    assert {"startPrice", "bidIncrement", "itemName"} <= invalid_fields(response)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ("{not json", "body"),
        ("[]", "body"),
        ('"a string"', "body"),
        ("42", "body"),
        ("null", "body"),
        ("\xff\xfe", "body"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_a_validation_error(
    client: Client, ctx: Context, seller: Person, raw: str, field: str
) -> None:
    response = call(client, "POST", "/api/auctions", seller, raw=raw)
    assert invalid_fields(response) == {field}
    assert auction_count(ctx) == 0


def test_an_empty_body_names_the_missing_members(client: Client, seller: Person) -> None:
    fields = invalid_fields(call(client, "POST", "/api/auctions", seller, raw=""))
    assert {"itemName", "startPrice", "bidIncrement", "goLiveAt", "durationMins"} <= fields


def test_a_body_over_64_kib_is_refused_as_too_large(
    client: Client, ctx: Context, seller: Person
) -> None:
    body = orjson.dumps(draft(description="x" * (64 * 1024))).decode()
    assert len(body) > 64 * 1024
    problem(call(client, "POST", "/api/auctions", seller, raw=body), 413, "payload_too_large")
    assert auction_count(ctx) == 0


def test_a_body_of_exactly_64_kib_is_read(client: Client, seller: Person) -> None:
    body = orjson.dumps(draft(description="")).decode()
    padded = body[:-1] + " " * (64 * 1024 - len(body)) + "}"
    assert len(padded) == 64 * 1024
    assert call(client, "POST", "/api/auctions", seller, raw=padded).status_code == 201


def test_a_too_large_bid_is_refused_before_anything_else(
    client: Client, ctx: Context, seller: Person, buyer: Person
) -> None:
    auction = live_auction(ctx, seller)
    raw = '{"amount": 150, "pad": "' + "x" * (70 * 1024) + '"}'
    response = call(client, "POST", f"/api/auctions/{auction}/bids", buyer, raw=raw)
    problem(response, 413, "payload_too_large")
    assert bid_count(ctx, auction) == 0


# -- GET /api/auctions, GET /api/auctions/{id} -------------------------------------------------


def test_auctions_are_listed_newest_first_one_page_at_a_time(
    client: Client, ctx: Context, seller: Person
) -> None:
    made = [str(insert_auction(ctx, seller, go_live_at=datetime.now(UTC) + timedelta(hours=1)))]
    made += [str(insert_auction(ctx, seller, go_live_at=datetime.now(UTC) + timedelta(hours=1)))]
    made += [str(insert_auction(ctx, seller, go_live_at=datetime.now(UTC) + timedelta(hours=1)))]
    first = orjson.loads(client.http.get("/api/auctions?limit=2").body)
    assert [a["id"] for a in first["items"]] == made[::-1][:2]
    assert first["nextCursor"]
    second = orjson.loads(
        client.http.get(f"/api/auctions?limit=2&cursor={first['nextCursor']}").body
    )
    assert [a["id"] for a in second["items"]] == [made[0]]
    assert second["nextCursor"] is None


def test_the_default_page_is_20_auctions(client: Client, ctx: Context, seller: Person) -> None:
    for _ in range(21):
        insert_auction(ctx, seller, go_live_at=datetime.now(UTC) + timedelta(hours=1))
    page = orjson.loads(client.http.get("/api/auctions").body)
    assert len(page["items"]) == 20 and page["nextCursor"]
    assert len(orjson.loads(client.http.get("/api/auctions?limit=100").body)["items"]) == 21


def test_auctions_are_filtered_by_status(client: Client, ctx: Context, seller: Person) -> None:
    live = str(live_auction(ctx, seller))
    insert_auction(ctx, seller, go_live_at=datetime.now(UTC) + timedelta(hours=1))
    page = orjson.loads(client.http.get("/api/auctions?status=live").body)
    assert [a["id"] for a in page["items"]] == [live]
    assert orjson.loads(client.http.get("/api/auctions?status=sold").body)["items"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("limit=-1", "limit"),
        ("status=open", "status"),
        ("cursor=not-a-cursor", "cursor"),
        ("cursor=" + "A" * 501, "cursor"),
        ("cursor=fHw", "cursor"),  # base64 of "||": the right alphabet, the wrong content
    ],
)
def test_a_bad_list_query_is_a_validation_error(client: Client, query: str, field: str) -> None:
    assert field in invalid_fields(client.http.get(f"/api/auctions?{query}"))


def test_an_auction_is_readable_by_anyone(client: Client, ctx: Context, seller: Person) -> None:
    auction = live_auction(ctx, seller, start_price="250.00", increment="25.00")
    response = client.http.get(f"/api/auctions/{auction}")
    assert response.status_code == 200
    body = orjson.loads(response.body)
    assert body["status"] == "live" and body["minNextBid"] == "250.00"
    assert set(AUCTION_MEMBERS) <= set(body)
    for money in ("startPrice", "bidIncrement", "minNextBid"):
        assert MONEY.match(body[money])


def test_the_reserve_is_shown_to_its_seller_only(
    client: Client, ctx: Context, seller: Person, buyer: Person, admin: Person
) -> None:
    auction = live_auction(ctx, seller, reserve="500.00")
    as_seller = orjson.loads(call(client, "GET", f"/api/auctions/{auction}", seller).body)
    as_admin = orjson.loads(call(client, "GET", f"/api/auctions/{auction}", admin).body)
    as_buyer = orjson.loads(call(client, "GET", f"/api/auctions/{auction}", buyer).body)
    anonymous = orjson.loads(client.http.get(f"/api/auctions/{auction}").body)
    assert as_seller["reservePrice"] == "500.00"
    assert all("reservePrice" not in other for other in (as_admin, as_buyer, anonymous))
    assert as_buyer["reserveMet"] is False
    listed = orjson.loads(call(client, "GET", "/api/auctions", buyer).body)["items"]
    assert "reservePrice" not in listed[0]


@pytest.mark.parametrize("path", ["/api/auctions/{new}", "/api/auctions/{new}/bids"])
@pytest.mark.parametrize("auction_id", ["new-uuid", "not-a-uuid", "1", "%20"])
def test_an_unknown_auction_is_not_found(client: Client, path: str, auction_id: str) -> None:
    named = str(uuid.uuid4()) if auction_id == "new-uuid" else auction_id
    problem(client.http.get(path.format(new=named)), 404, "not_found")


def test_an_optional_token_that_is_sent_must_be_valid(client: Client, seller: Person) -> None:
    response = client.http.get("/api/auctions", headers={"Authorization": "Bearer a.b.c"})
    problem(response, 401, "unauthenticated")


# -- POST /api/auctions/{id}/bids --------------------------------------------------------------


def test_a_bid_is_placed_and_shows_in_the_history(
    client: Client, ctx: Context, seller: Person, buyer: Person
) -> None:
    auction = live_auction(ctx, seller, start_price="100.00", increment="10.00")
    response = Bidder(client, buyer).bid(auction, body={"amount": "120.5"})
    assert response.status_code == 201, response.body
    placed = orjson.loads(response.body)
    assert placed["auctionId"] == str(auction) and placed["bidderId"] == buyer.id
    assert placed["amount"] == "120.50" and placed["minNextBid"] == "130.50"
    assert placed["createdAt"].endswith("Z") and placed["endsAt"].endswith("Z")
    history = orjson.loads(client.http.get(f"/api/auctions/{auction}/bids").body)
    assert [b["id"] for b in history["items"]] == [placed["id"]]
    assert history["nextCursor"] is None
    assert set(history["items"][0]) >= {"id", "auctionId", "bidderId", "amount", "createdAt"}
    read = orjson.loads(client.http.get(f"/api/auctions/{auction}").body)
    assert read["highestBid"]["id"] == placed["id"] and read["bidCount"] == 1


def test_a_bid_needs_a_token(client: Client, ctx: Context, seller: Person) -> None:
    auction = live_auction(ctx, seller)
    problem(Bidder(client, None).bid(auction, body={"amount": 150}), 401, "unauthenticated")
    assert bid_count(ctx, auction) == 0


def test_a_seller_may_not_bid_on_their_own_auction(
    client: Client, ctx: Context, seller: Person
) -> None:
    auction = live_auction(ctx, seller)
    problem(Bidder(client, seller).bid(auction, body={"amount": 150}), 403, "own_auction")
    assert bid_count(ctx, auction) == 0


def test_a_bid_on_an_unknown_auction_is_not_found(client: Client, buyer: Person) -> None:
    problem(Bidder(client, buyer).bid(uuid.uuid4(), body={"amount": 150}), 404, "not_found")
    problem(Bidder(client, buyer).bid("nope", body={"amount": 150}), 404, "not_found")


def test_a_bid_before_go_live_is_refused(
    client: Client, ctx: Context, seller: Person, buyer: Person
) -> None:
    auction = insert_auction(ctx, seller, go_live_at=datetime.now(UTC) + timedelta(minutes=5))
    problem(Bidder(client, buyer).bid(auction, body={"amount": 150}), 409, "auction_not_live")
    assert bid_count(ctx, auction) == 0


def test_a_bid_after_the_end_is_refused(
    client: Client, ctx: Context, seller: Person, buyer: Person
) -> None:
    auction = live_auction(
        ctx,
        seller,
        go_live_at=datetime.now(UTC) - timedelta(minutes=11),
        duration_mins=10,
    )
    problem(Bidder(client, buyer).bid(auction, body={"amount": 150}), 409, "auction_not_live")
    assert bid_count(ctx, auction) == 0


def test_a_first_bid_below_the_start_price_is_too_low(
    client: Client, ctx: Context, seller: Person, buyer: Person
) -> None:
    auction = live_auction(ctx, seller, start_price="100.00")
    body = problem(Bidder(client, buyer).bid(auction, body={"amount": "99.99"}), 409, "bid_too_low")
    assert body["minNextBid"] == "100.00"
    assert bid_count(ctx, auction) == 0


def test_a_bid_below_the_increment_is_too_low(
    client: Client, ctx: Context, seller: Person, buyer: Person, admin: Person
) -> None:
    auction = live_auction(ctx, seller, start_price="100.00", increment="10.00")
    assert Bidder(client, buyer).bid(auction, body={"amount": 100}).status_code == 201
    body = problem(
        Bidder(client, admin).bid(auction, body={"amount": "109.99"}), 409, "bid_too_low"
    )
    assert body["minNextBid"] == "110.00"
    assert Bidder(client, admin).bid(auction, body={"amount": 110}).status_code == 201
    assert bid_count(ctx, auction) == 2


def test_the_highest_bidder_may_not_raise_their_own_bid(
    client: Client, ctx: Context, seller: Person, buyer: Person
) -> None:
    auction = live_auction(ctx, seller)
    assert Bidder(client, buyer).bid(auction, body={"amount": 100}).status_code == 201
    problem(Bidder(client, buyer).bid(auction, body={"amount": 500}), 409, "already_highest")
    assert bid_count(ctx, auction) == 1


def test_the_same_idempotency_key_returns_the_same_bid_and_creates_nothing(
    client: Client, ctx: Context, seller: Person, buyer: Person
) -> None:
    auction = live_auction(ctx, seller)
    first = Bidder(client, buyer).bid(
        auction, body={"amount": 100}, headers={"Idempotency-Key": "click-1"}
    )
    again = Bidder(client, buyer).bid(
        auction, body={"amount": 100}, headers={"Idempotency-Key": "click-1"}
    )
    assert first.status_code == again.status_code == 201
    assert orjson.loads(first.body)["id"] == orjson.loads(again.body)["id"]
    assert bid_count(ctx, auction) == 1
    history = orjson.loads(client.http.get(f"/api/auctions/{auction}/bids").body)["items"]
    assert len(history) == 1


@pytest.mark.parametrize("key", ["", "x" * 201, "has space", "tab\tin"])
def test_a_malformed_idempotency_key_is_a_validation_error(
    client: Client, ctx: Context, seller: Person, buyer: Person, key: str
) -> None:
    auction = live_auction(ctx, seller)
    response = Bidder(client, buyer).bid(
        auction, body={"amount": 100}, headers={"Idempotency-Key": key}
    )
    assert invalid_fields(response) == {"Idempotency-Key"}
    assert bid_count(ctx, auction) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "amount"),
        ({"amount": 150, "maxAmount": 300}, "amount"),
        ({"amount": 0}, "amount"),
        ({"amount": "1.001"}, "amount"),
        ({"amount": "150 rupees"}, "amount"),
        ({"amount": [150]}, "amount"),
        ({"maxAmount": -1}, "maxAmount"),
        ({"amount": 150, "note": "hi"}, "note"),
    ],
)
def test_a_malformed_bid_is_a_validation_error(
    client: Client, ctx: Context, seller: Person, buyer: Person, body: Any, field: str
) -> None:
    auction = live_auction(ctx, seller)
    assert field in invalid_fields(Bidder(client, buyer).bid(auction, body=body))
    assert bid_count(ctx, auction) == 0


def test_a_proxy_bid_answers_with_its_maximum(
    client: Client, ctx: Context, seller: Person, buyer: Person
) -> None:
    auction = live_auction(ctx, seller, start_price="100.00")
    placed = orjson.loads(Bidder(client, buyer).bid(auction, body={"maxAmount": "300"}).body)
    assert placed["amount"] == "100.00" and placed["maxAmount"] == "300.00"
    mine = orjson.loads(call(client, "GET", f"/api/auctions/{auction}", buyer).body)
    assert mine["myMaxAmount"] == "300.00"
    theirs = orjson.loads(client.http.get(f"/api/auctions/{auction}").body)
    assert "myMaxAmount" not in theirs or theirs["myMaxAmount"] is None


def test_bids_over_the_bid_rate_limit_get_429_with_retry_after(
    client: Client, ctx: Context, seller: Person, buyer: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ctx.settings, "bid_rate_limit", "1/m:1")
    auction = live_auction(ctx, seller)
    assert Bidder(client, buyer).bid(auction, body={"maxAmount": 500}).status_code == 201
    response = Bidder(client, buyer).bid(auction, body={"maxAmount": 600})
    body = problem(response, 429, "rate_limited")
    assert int(response.headers["Retry-After"]) >= 1 and body["retryAfter"] >= 1
    assert bid_count(ctx, auction) == 1


def test_a_bid_while_redis_is_unreachable_is_unavailable(
    client: Client, ctx: Context, seller: Person, buyer: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    auction = live_auction(ctx, seller)
    monkeypatch.setattr(ctx, "store", RestStore("http://127.0.0.1:9", "x", retries=0))
    problem(Bidder(client, buyer).bid(auction, body={"amount": 150}), 503, "unavailable")
    assert bid_count(ctx, auction) == 0


# -- GET /api/auctions/{id}/bids ---------------------------------------------------------------


def test_bid_history_is_highest_first_one_page_at_a_time(
    client: Client, ctx: Context, seller: Person, buyer: Person, admin: Person
) -> None:
    auction = live_auction(ctx, seller, start_price="100.00", increment="10.00")
    amounts = []
    for who, amount in ((buyer, 100), (admin, 110), (buyer, 125), (admin, 140)):
        assert Bidder(client, who).bid(auction, body={"amount": amount}).status_code == 201
        amounts.append(f"{amount}.00")
    seen: list[str] = []
    cursor = ""
    while True:
        page = orjson.loads(client.http.get(f"/api/auctions/{auction}/bids?limit=3{cursor}").body)
        seen += [b["amount"] for b in page["items"]]
        if page["nextCursor"] is None:
            break
        cursor = f"&cursor={page['nextCursor']}"
    assert seen == amounts[::-1]


@pytest.mark.parametrize("query", ["limit=0", "limit=1000", "cursor=%%%", "cursor=MTAw"])
def test_a_bad_history_query_is_a_validation_error(
    client: Client, ctx: Context, seller: Person, query: str
) -> None:
    auction = live_auction(ctx, seller)
    problem(client.http.get(f"/api/auctions/{auction}/bids?{query}"), 422, "validation_error")


# -- admin -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/admin/auctions", None),
        ("POST", "/api/admin/auctions/{id}/start", None),
        ("POST", "/api/admin/auctions/{id}/reset", {"goLiveAt": "2099-01-01T00:00:00Z"}),
    ],
)
def test_admin_routes_refuse_everyone_but_admins(
    client: Client, ctx: Context, seller: Person, buyer: Person, method: str, path: str, body: Any
) -> None:
    auction = insert_auction(ctx, seller, go_live_at=datetime.now(UTC) + timedelta(hours=1))
    route = path.format(id=auction)
    problem(call(client, method, route, None, body), 401, "unauthenticated")
    problem(call(client, method, route, buyer, body), 403, "forbidden")
    problem(call(client, method, route, seller, body), 403, "forbidden")
    assert audit_entries(ctx, auction) == []
    read = orjson.loads(client.http.get(f"/api/auctions/{auction}").body)
    assert read["status"] == "scheduled"


def test_admins_list_every_auction_but_not_its_reserve(
    client: Client, ctx: Context, seller: Person, admin: Person
) -> None:
    live = str(live_auction(ctx, seller, reserve="900.00"))
    later = str(insert_auction(ctx, seller, go_live_at=datetime.now(UTC) + timedelta(hours=1)))
    page = orjson.loads(call(client, "GET", "/api/admin/auctions", admin).body)
    assert [a["id"] for a in page["items"]] == [later, live]
    assert "reservePrice" not in page["items"][1]  # only its seller sees it
    assert page["items"][1]["reserveMet"] is False
    only_live = call(client, "GET", "/api/admin/auctions?status=live&limit=1", admin)
    assert [a["id"] for a in orjson.loads(only_live.body)["items"]] == [live]
    one = orjson.loads(call(client, "GET", "/api/admin/auctions?limit=1", admin).body)
    rest = call(client, "GET", f"/api/admin/auctions?limit=1&cursor={one['nextCursor']}", admin)
    assert [a["id"] for a in orjson.loads(rest.body)["items"]] == [live]
    problem(call(client, "GET", "/api/admin/auctions?limit=0", admin), 422, "validation_error")


def test_an_admin_starts_a_scheduled_auction_now_and_it_is_audited(
    client: Client, ctx: Context, seller: Person, buyer: Person, admin: Person
) -> None:
    auction = insert_auction(
        ctx, seller, go_live_at=datetime.now(UTC) + timedelta(days=1), duration_mins=15
    )
    before = datetime.now(UTC)
    response = call(client, "POST", f"/api/admin/auctions/{auction}/start", admin)
    assert response.status_code == 200, response.body
    body = orjson.loads(response.body)
    assert body["status"] == "live"
    go_live = datetime.fromisoformat(body["goLiveAt"].replace("Z", "+00:00"))
    ends = datetime.fromisoformat(body["endsAt"].replace("Z", "+00:00"))
    assert before - timedelta(seconds=1) <= go_live <= datetime.now(UTC)
    assert ends - go_live == timedelta(minutes=15)
    assert Bidder(client, buyer).bid(auction, body={"amount": 100}).status_code == 201
    [entry] = audit_entries(ctx, auction)
    assert (entry.action, str(entry.actor_id)) == ("admin.start", admin.id)
    assert entry.details["endsAt"] == body["endsAt"]


def test_starting_an_auction_that_is_not_scheduled_is_refused(
    client: Client, ctx: Context, seller: Person, admin: Person
) -> None:
    auction = live_auction(ctx, seller)
    response = call(client, "POST", f"/api/admin/auctions/{auction}/start", admin)
    problem(response, 409, "decision_not_allowed")
    assert audit_entries(ctx, auction) == []
    for unknown in (uuid.uuid4(), "nope"):
        response = call(client, "POST", f"/api/admin/auctions/{unknown}/start", admin)
        problem(response, 404, "not_found")


def test_an_admin_resets_an_auction_and_earlier_bids_are_kept_but_void(
    client: Client, ctx: Context, seller: Person, buyer: Person, admin: Person
) -> None:
    auction = live_auction(ctx, seller, start_price="100.00")
    assert Bidder(client, buyer).bid(auction, body={"amount": 300}).status_code == 201
    go_live = datetime.now(UTC) + timedelta(hours=3)
    response = call(
        client,
        "POST",
        f"/api/admin/auctions/{auction}/reset",
        admin,
        {"goLiveAt": go_live.isoformat()},
    )
    assert response.status_code == 200, response.body
    body = orjson.loads(response.body)
    assert body["status"] == "scheduled"
    assert body["highestBid"] is None and body["bidCount"] == 0 and body["minNextBid"] == "100.00"
    assert datetime.fromisoformat(body["goLiveAt"].replace("Z", "+00:00")) - go_live < timedelta(
        milliseconds=1
    )
    assert bid_count(ctx, auction) == 1  # kept in the record
    history = orjson.loads(client.http.get(f"/api/auctions/{auction}/bids").body)
    assert history["items"] == []  # but void
    [entry] = audit_entries(ctx, auction)
    assert (entry.action, str(entry.actor_id)) == ("admin.reset", admin.id)
    assert entry.details["fromStatus"] == "live" and entry.details["fromRound"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "goLiveAt"),
        ({"goLiveAt": "2001-01-01T00:00:00Z"}, "goLiveAt"),
        ({"goLiveAt": "soon"}, "goLiveAt"),
        ({"goLiveAt": "0001-01-01T00:00:00+01:00"}, "goLiveAt"),
        ({"goLiveAt": "9999-12-31T23:00:00Z"}, "goLiveAt"),
        ({"goLiveAt": "2099-01-01T00:00:00Z", "durationMins": 5}, "durationMins"),
    ],
)
def test_a_reset_needs_a_future_go_live_time(
    client: Client, ctx: Context, seller: Person, admin: Person, body: Any, field: str
) -> None:
    auction = live_auction(ctx, seller)
    response = call(client, "POST", f"/api/admin/auctions/{auction}/reset", admin, body)
    assert field in invalid_fields(response)
    assert audit_entries(ctx, auction) == []
    assert orjson.loads(client.http.get(f"/api/auctions/{auction}").body)["status"] == "live"


def test_a_sold_auction_cannot_be_reset(
    client: Client, ctx: Context, seller: Person, admin: Person
) -> None:
    auction = insert_auction(
        ctx, seller, go_live_at=datetime.now(UTC) - timedelta(hours=2), status="sold"
    )
    response = call(
        client, "POST", f"/api/admin/auctions/{auction}/reset", admin, {"goLiveAt": future()}
    )
    problem(response, 409, "decision_not_allowed")
    assert audit_entries(ctx, auction) == []
    unknown = call(
        client, "POST", f"/api/admin/auctions/{uuid.uuid4()}/reset", admin, {"goLiveAt": future()}
    )
    problem(unknown, 404, "not_found")


# -- methods and routes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("DELETE", "/api/auctions"), ("PUT", "/api/me"), ("GET", "/api/dev/login")],
)
def test_a_method_a_route_lacks_is_405_problem(client: Client, method: str, path: str) -> None:
    problem(client.http.request(method, path), 405, "method_not_allowed")


# -- the write rate limiter --------------------------------------------------------------------


def test_writes_over_the_limit_get_429_with_retry_after(
    client: Client, ctx: Context, seller: Person, admin: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ctx.settings, "write_rate_limit", "2/m:2")
    assert call(client, "POST", "/api/auctions", seller, draft()).status_code == 201
    assert call(client, "POST", "/api/auctions", seller, draft()).status_code == 201
    response = call(client, "POST", "/api/auctions", seller, draft())
    body = problem(response, 429, "rate_limited")
    assert 1 <= int(response.headers["Retry-After"]) <= 30 and body["retryAfter"] >= 1
    assert auction_count(ctx) == 2
    # Per caller: another user still writes; reads are never limited.
    assert call(client, "POST", "/api/auctions", admin, draft()).status_code == 201
    assert call(client, "GET", "/api/auctions", seller).status_code == 200


def test_the_write_limit_is_per_route_group_and_spares_bids(
    client: Client,
    ctx: Context,
    seller: Person,
    buyer: Person,
    admin: Person,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ctx.settings, "write_rate_limit", "1/m:1")
    auction = live_auction(ctx, seller)
    for amount in (100, 110, 120):  # the bid script's own bucket (default 5/s) judges bids
        assert Bidder(client, buyer).bid(auction, body={"maxAmount": amount}).status_code == 201
    assert call(client, "POST", "/api/auctions", admin, draft()).status_code == 201
    problem(call(client, "POST", "/api/auctions", admin, draft()), 429, "rate_limited")
    # The admin group has its own bucket.
    reset = call(
        client, "POST", f"/api/admin/auctions/{auction}/reset", admin, {"goLiveAt": future()}
    )
    assert reset.status_code == 200


def test_dev_login_is_not_write_limited(
    client: Client, ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Development sign-in for many test users from one address must never be told to wait."""
    monkeypatch.setattr(ctx.settings, "write_rate_limit", "1/m:1")
    for i in range(5):
        login = {"email": f"someone{i}@example.com", "role": "buyer"}
        assert call(client, "POST", "/api/dev/login", None, login).status_code == 200


def test_the_write_limit_holds_across_function_instances(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two instances (two Contexts, two REST clients) spend one bucket in Redis."""
    monkeypatch.setattr(ctx.settings, "write_rate_limit", "2/m:2")
    other = for_functions(ctx.settings, pool_size=1)
    try:
        rate_limits.take_write_token(ctx, "auctions", "user:u1")
        rate_limits.take_write_token(other, "auctions", "user:u1")
        for instance in (ctx, other):
            with pytest.raises(Exception) as refused:
                rate_limits.take_write_token(instance, "auctions", "user:u1")
            assert getattr(refused.value, "code", None) == "rate_limited"
    finally:
        other.close()


def test_the_write_limiter_lets_writes_through_when_redis_is_down(ctx: Context) -> None:
    dead = Context(ctx.settings, ctx.db, RestStore("http://127.0.0.1:9", "x", retries=0))
    for _ in range(5):
        rate_limits.take_write_token(dead, "auctions", "user:u1")  # no refusal, no error


# -- ownership: another user's counter, invoice or notification ----------------------------------


def _ended_with_bid(client: Client, ctx: Context, seller: Person, buyer: Person) -> uuid.UUID:
    """An auction that ran, got `buyer`'s bid, and ended (the end transition made it so)."""
    from shared.services import transitions

    auction = live_auction(ctx, seller, start_price="100.00")
    assert Bidder(client, buyer).bid(auction, body={"amount": 150}).status_code == 201
    clock_runs_out(ctx, auction)
    assert transitions.end(ctx, auction)
    return auction


def test_only_the_counters_buyer_may_answer_it(
    client: Client, ctx: Context, seller: Person, buyer: Person, admin: Person
) -> None:
    auction = _ended_with_bid(client, ctx, seller, buyer)
    offered = call(
        client,
        "POST",
        f"/api/auctions/{auction}/decision",
        seller,
        {"action": "counter", "amount": "180"},
    )
    assert offered.status_code == 200, offered.body
    counter = orjson.loads(offered.body)["counterOffer"]
    for stranger in (seller, admin):
        response = call(
            client, "POST", f"/api/counter/{counter['id']}/response", stranger, {"action": "accept"}
        )
        problem(response, 403, "forbidden")
    read = orjson.loads(client.http.get(f"/api/auctions/{auction}").body)
    assert read["counterOffer"]["status"] == "pending" and read["status"] == "ended"


def test_only_the_sales_buyer_seller_or_an_admin_gets_the_invoice(
    client: Client, ctx: Context, seller: Person, buyer: Person, admin: Person
) -> None:
    stranger = person(ctx, "buyer", "stranger")
    auction = _ended_with_bid(client, ctx, seller, buyer)
    sold = call(client, "POST", f"/api/auctions/{auction}/decision", seller, {"action": "accept"})
    assert sold.status_code == 200 and orjson.loads(sold.body)["status"] == "sold"
    path = f"/api/auctions/{auction}/invoice"
    pdf = {"Accept": "application/pdf"}
    problem(call(client, "GET", path, stranger, headers=pdf), 403, "forbidden")
    problem(call(client, "GET", path, None, headers=pdf), 401, "unauthenticated")
    for allowed in (buyer, seller, admin):
        response = call(client, "GET", path, allowed, headers=pdf)
        assert response.status_code == 200, response.body[:200]
        assert response.headers["Content-Type"] == "application/pdf"
        assert response.body.startswith(b"%PDF")


def test_another_users_notification_cannot_be_read_or_marked(
    client: Client, ctx: Context, seller: Person, buyer: Person
) -> None:
    _ended_with_bid(client, ctx, seller, buyer)
    mine = orjson.loads(call(client, "GET", "/api/notifications", seller).body)["items"]
    assert mine, "the seller has a decision_required notification"
    theirs = orjson.loads(call(client, "GET", "/api/notifications", buyer).body)["items"]
    assert mine[0]["id"] not in {n["id"] for n in theirs}
    response = call(client, "POST", f"/api/notifications/{mine[0]['id']}/read", buyer)
    problem(response, 404, "not_found")
    again = orjson.loads(call(client, "GET", "/api/notifications", seller).body)["items"]
    assert again[0]["readAt"] is None


# -- crafted cursors -----------------------------------------------------------------------------


def _cursor(*parts: str) -> str:
    return base64.urlsafe_b64encode("|".join(parts).encode()).decode().rstrip("=")


CRAFTED_TIME_CURSORS = [
    ("9999-12-31T23:59:59.999999-23:59", str(uuid.uuid4())),  # overflows once made UTC
    ("0001-01-01T00:00:00+23:00", str(uuid.uuid4())),
    ("2030-01-01T00:00:00", str(uuid.uuid4())),  # no zone
    ("2030-01-01T00:00:00+00:00", "not-a-uuid"),
    ("yesterday", str(uuid.uuid4())),
]


@pytest.mark.parametrize("parts", CRAFTED_TIME_CURSORS)
def test_a_crafted_auction_cursor_is_a_validation_error(
    client: Client, parts: tuple[str, ...]
) -> None:
    response = client.http.get(f"/api/auctions?cursor={_cursor(*parts)}")
    assert invalid_fields(response) == {"cursor"}


@pytest.mark.parametrize("parts", CRAFTED_TIME_CURSORS)
def test_a_crafted_notification_cursor_is_a_validation_error(
    client: Client, buyer: Person, parts: tuple[str, ...]
) -> None:
    response = call(client, "GET", f"/api/notifications?cursor={_cursor(*parts)}", buyer)
    assert invalid_fields(response) == {"cursor"}


@pytest.mark.parametrize(
    "parts",
    [
        ("Infinity", "1"),
        ("NaN", "1"),
        ("sNaN", "1"),
        ("1e999999", "1"),
        ("-5.00", "1"),
        ("1.001", "1"),
        ("100.00", "99999999999999999999999"),
        ("100.00", "²"),
        ("100.00", "-1"),
    ],
)
def test_a_crafted_bid_history_cursor_is_a_validation_error(
    client: Client, ctx: Context, seller: Person, parts: tuple[str, ...]
) -> None:
    auction = live_auction(ctx, seller)
    response = client.http.get(f"/api/auctions/{auction}/bids?cursor={_cursor(*parts)}")
    assert invalid_fields(response) == {"cursor"}


@pytest.mark.parametrize("offset", ["²", "99999999999999999999999", "-1", "1.5"])
def test_a_crafted_dead_letter_cursor_is_a_validation_error(
    client: Client, admin: Person, offset: str
) -> None:
    response = call(client, "GET", f"/api/admin/jobs/dead?cursor={_cursor(offset)}", admin)
    assert invalid_fields(response) == {"cursor"}


def test_counter_refusals_carry_their_codes(
    client: Client, ctx: Context, seller: Person, buyer: Person
) -> None:
    auction = _ended_with_bid(client, ctx, seller, buyer)  # highest bid 150.00
    decision = f"/api/auctions/{auction}/decision"
    low = call(client, "POST", decision, seller, {"action": "counter", "amount": "150.00"})
    problem(low, 409, "counter_too_low")
    offered = call(client, "POST", decision, seller, {"action": "counter", "amount": "175.00"})
    counter = orjson.loads(offered.body)["counterOffer"]["id"]
    answer = f"/api/counter/{counter}/response"
    assert call(client, "POST", answer, buyer, {"action": "reject"}).status_code == 200
    problem(call(client, "POST", answer, buyer, {"action": "accept"}), 409, "counter_not_pending")
    problem(
        call(client, "POST", decision, seller, {"action": "accept"}), 409, "decision_not_allowed"
    )
    assert orjson.loads(client.http.get(f"/api/auctions/{auction}").body)["status"] == (
        "closed_no_winner"
    )


def test_health_names_the_part_that_is_down_with_a_503(
    client: Client, ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ctx, "store", RestStore("http://127.0.0.1:9", "x", retries=0))
    response = client.http.get("/health")
    assert response.status_code == 503
    body = orjson.loads(response.body)
    assert body["status"] == "degraded" and body["db"] == "ok"
    assert body["redis"].startswith("down")
